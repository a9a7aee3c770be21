"""Every kho command explains itself."""

import pytest


@pytest.mark.parametrize("command", [[], ["demo"], ["run"], ["sql"], ["status"], ["quarantine"], ["sources", "up"], ["sources", "api"],
                                     ["setup", "jars"], ["source"], ["source", "list"], ["source", "validate"], ["source", "new"], ["setup", "check"]])
def test_every_command_has_help(command):
    from click.testing import CliRunner

    from kho.cli import main

    out = CliRunner().invoke(main, [*command, "--help"])
    assert out.exit_code == 0 and "Usage:" in out.output


def test_source_new_scaffolds_a_valid_entry(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kho.cli import main
    from kho.ingest.registry import load_source
    from kho.settings import get_settings

    monkeypatch.setenv("KHO_PROJECT_ROOT", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        for system, transport in (("water_supply", "direct"), ("school_meals", "file_drop"), ("air_sensors", "stream"),
                                  ("tax_refunds", "lgsp_api")):
            out = runner.invoke(main, ["source", "new", system, "--transport", transport, "--owner", "Sở Xây dựng"])
            assert out.exit_code == 0, out.output
            entry = load_source(tmp_path / "kho" / "ingest" / "sources" / f"{system}.yaml")
            assert entry.system == system and entry.transport == transport and entry.owner == "Sở Xây dựng"
            assert (tmp_path / "tests" / "unit" / f"test_source_{system}.py").exists()
            assert (tmp_path / "docs" / "sources" / f"{system}.md").exists()
        again = runner.invoke(main, ["source", "new", "water_supply"])
        assert again.exit_code == 1 and "not overwriting" in again.output
        bad = runner.invoke(main, ["source", "new", "Bad-Name"])
        assert bad.exit_code == 1 and "lower_snake_case" in bad.output
    finally:
        get_settings.cache_clear()


def test_source_list_and_validate_cover_the_registry():
    from click.testing import CliRunner

    from kho.cli import main

    runner = CliRunner()
    listed = runner.invoke(main, ["source", "list"])
    assert listed.exit_code == 0, listed.output
    for system in ("population", "dossiers", "insurance", "iot"):
        assert system in listed.output
    valid = runner.invoke(main, ["source", "validate"])
    assert valid.exit_code == 0 and "valid" in valid.output
