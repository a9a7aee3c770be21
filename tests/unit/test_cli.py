"""Every kho command explains itself."""

import pytest


@pytest.mark.parametrize("command", [[], ["demo"], ["run"], ["sql"], ["status"], ["quarantine"], ["sources", "up"], ["sources", "api"],
                                     ["setup", "jars"], ["setup", "check"]])
def test_every_command_has_help(command):
    from click.testing import CliRunner

    from kho.cli import main

    out = CliRunner().invoke(main, [*command, "--help"])
    assert out.exit_code == 0 and "Usage:" in out.output
