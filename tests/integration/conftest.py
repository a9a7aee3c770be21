"""Fixtures for integration tests that need real database servers.

``pg_dsn`` and ``mysql_dsn`` give a DSN for a local PostgreSQL / MariaDB:

* from ``KHO_TEST_PG_DSN`` / ``KHO_TEST_MYSQL_DSN`` when set (the server is
  then entirely the caller's business), otherwise
* by running ``infra/local/<server>.sh start`` (idempotent: a no-op when the
  server already runs) and then ``infra/local/<server>.sh dsn``.

The scripts do not install anything; ``bash infra/local/servers.sh start``
installs what is missing and starts both servers. A server this session had to
start itself is stopped again at the end of the session (unless
``KHO_TEST_KEEP_SERVERS=1``); one that was already running is left alone.
When a server cannot be started the tests using it fail (never skip) with the
command to run.
"""

from __future__ import annotations

import pytest

from tests.support.servers import mysql_dsn, pg_dsn  # noqa: F401  (fixtures)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: needs local database servers "
        "(bash infra/local/servers.sh start, or KHO_TEST_PG_DSN / KHO_TEST_MYSQL_DSN)",
    )
