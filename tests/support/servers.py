"""Local PostgreSQL and MariaDB servers for tests: ``pg_dsn`` and ``mysql_dsn``.

Shared by tests/integration (through its conftest) and the cluster comparison in tests/marts.
A DSN comes from ``KHO_TEST_PG_DSN`` / ``KHO_TEST_MYSQL_DSN`` when set (the server is then
entirely the caller's business), otherwise from ``infra/local/<server>.sh start`` (idempotent)
and ``infra/local/<server>.sh dsn``. A server this session had to start itself is stopped
again at the end of the session (unless ``KHO_TEST_KEEP_SERVERS=1``); when one cannot be
started the tests using it fail (never skip) with the command to run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_INFRA = REPO_ROOT / "infra" / "local"

# Bound on one script call; the scripts bound their own waits by
# KHO_SERVER_TIMEOUT (60 s by default).
_SCRIPT_TIMEOUT_S = 300


def _run(script: Path, verb: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), verb],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=_SCRIPT_TIMEOUT_S,
        check=False,
    )


def _server_dsn(name: str, env_var: str) -> tuple[str, bool]:
    """Return (dsn, stop_at_session_end)."""
    dsn = os.environ.get(env_var, "").strip()
    if dsn:
        return dsn, False

    script = LOCAL_INFRA / f"{name}.sh"
    how_to = (
        f"run `bash infra/local/servers.sh start` (installs and starts the local "
        f"servers; or `bash infra/local/{name}.sh install && bash infra/local/{name}.sh start`), "
        f"or set {env_var} to the DSN of a server you run yourself"
    )
    if not script.is_file():
        pytest.fail(f"{name}: {script} is missing; {how_to}", pytrace=False)

    try:
        was_running = _run(script, "status").returncode == 0
        started = _run(script, "start")
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"{name}: `bash infra/local/{name}.sh start` did not finish within "
            f"{_SCRIPT_TIMEOUT_S}s; {how_to}",
            pytrace=False,
        )
    if started.returncode != 0:
        pytest.fail(
            f"{name}: could not start the local test server "
            f"(`bash infra/local/{name}.sh start` exited {started.returncode}).\n"
            f"To fix: {how_to}.\n--- script output ---\n{started.stderr.strip()}",
            pytrace=False,
        )
    dsn_proc = _run(script, "dsn")
    dsn = dsn_proc.stdout.strip()
    if dsn_proc.returncode != 0 or not dsn:
        pytest.fail(
            f"{name}: `bash infra/local/{name}.sh dsn` gave no DSN: {dsn_proc.stderr.strip()}",
            pytrace=False,
        )
    keep = os.environ.get("KHO_TEST_KEEP_SERVERS", "") not in ("", "0")
    return dsn, not was_running and not keep


def _stop(name: str) -> None:
    proc = _run(LOCAL_INFRA / f"{name}.sh", "stop")
    if proc.returncode != 0:  # do not fail the session over it, but say so
        print(f"\nwarning: could not stop {name}: {proc.stderr.strip()}")


@pytest.fixture(scope="session")
def pg_dsn():
    """DSN of a local PostgreSQL with role kho and database kho_sources."""
    dsn, stop_at_end = _server_dsn("postgres", "KHO_TEST_PG_DSN")
    yield dsn
    if stop_at_end:
        _stop("postgres")


@pytest.fixture(scope="session")
def mysql_dsn():
    """DSN (mysql://user:password@host:port/db) of a local MariaDB."""
    dsn, stop_at_end = _server_dsn("mariadb", "KHO_TEST_MYSQL_DSN")
    yield dsn
    if stop_at_end:
        _stop("mariadb")


@contextlib.contextmanager
def fresh_pg_schema(pg_dsn: str, prefix: str) -> Iterator[str]:
    """A new PostgreSQL schema ``<prefix>_<random>``, dropped afterwards; yields a URL whose
    ``options`` make it the search path of every connection (psycopg2, SQLAlchemy, JDBC)."""
    import psycopg2

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    con = psycopg2.connect(pg_dsn, connect_timeout=10)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in pg_dsn else "?"
    try:
        yield f"{pg_dsn}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with con.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")
        con.close()
