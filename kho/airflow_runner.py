"""Run a DAG of ``dags/`` through Airflow without a scheduler (``airflow dags test``).

The embedded profile's way to execute a pipeline: real Airflow (task SDK, XComs, retries,
asset events, SQLite metadata in ``<state>/airflow``), one process, no services to start.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

from kho.settings import Settings

_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")
_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_FAILED = re.compile(r"Task failed with exception")
_RUN_STATE = re.compile(r"DagRun Finished: .*?state=(\w+)")


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    logical_date: date
    state: str
    log_file: Path
    failed_tasks: tuple[str, ...]
    error: str | None

    @property
    def ok(self) -> bool:
        return self.state == "success"


def airflow_env(settings: Settings, *, retries: int | None = None) -> dict[str, str]:
    home = settings.airflow_home
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__PARALLELISM": "4",
        "KHO_PROJECT_ROOT": str(settings.project_root),
        "KHO_PROFILE": settings.profile,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.project_root), os.environ.get("PYTHONPATH")])),
    }
    if retries is not None:
        env["KHO_TASK_RETRIES"] = str(retries)
    return env


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def ensure_metadata_db(settings: Settings) -> None:
    """Create or upgrade Airflow's SQLite metadata database (idempotent, ~3 s the first time)."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([_airflow(), "db", "migrate"], env=airflow_env(settings), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{proc.stderr[-3000:]}")


def pools_document(pools: dict[str, str] | None = None, slots: int = 1) -> dict[str, dict]:
    """What ``airflow pools import`` reads: the single-slot pool of every raw, processed and
    integrated table (from the source registry and the table catalogs) unless ``pools`` given.
    ``python -m kho.airflow_runner pools`` prints it, for a scheduler this module does not run
    (infra/local/airflow-cluster.sh, the compose and Helm deployments)."""
    if pools is None:
        from kho.ingest.registry import load_registry
        from kho.ingest.runner import pools as registry_pools

        pools = registry_pools(load_registry())
    return {name: {"slots": slots, "description": desc, "include_deferred": False} for name, desc in pools.items()}


def ensure_pools(settings: Settings, pools: dict[str, str] | None = None, slots: int = 1) -> int:
    """Create (or update) the single-slot pool of every table a DAG writes (:func:`pools_document`).

    Idempotent (``airflow pools import`` upserts). Returns how many pools were declared.
    """
    import json
    import tempfile

    doc = pools_document(pools, slots)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(doc, fh)
    try:
        proc = subprocess.run([_airflow(), "pools", "import", fh.name], env=airflow_env(settings),
                              capture_output=True, text=True)
    finally:
        Path(fh.name).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow pools import failed:\n{proc.stderr[-3000:]}")
    return len(doc)


def _ensure_pools_once(settings: Settings) -> None:
    """Declare the registry's pools when they changed since the last run (one subprocess, ~3 s)."""
    import hashlib

    from kho.ingest.registry import load_registry
    from kho.ingest.runner import pools as registry_pools

    pools = registry_pools(load_registry())
    digest = hashlib.sha256(repr(sorted(pools.items())).encode()).hexdigest()
    marker = settings.airflow_home / "pools.sha256"
    if marker.exists() and marker.read_text() == digest:
        return
    ensure_pools(settings, pools)
    marker.write_text(digest)


def run_dag(settings: Settings, dag_id: str, logical_date: date, *, retries: int | None = 0,
            on_line: Callable[[str], None] | None = None) -> DagRunResult:
    """Execute one DAG run in-process with ``airflow dags test`` and report how it ended.

    Every line Airflow prints goes to ``<state>/logs/<dag>_<date>.log``; ``on_line`` sees the
    task starts and ends (for progress output).
    """
    ensure_metadata_db(settings)
    _ensure_pools_once(settings)
    log_dir = settings.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{dag_id}_{logical_date:%Y%m%d}.log"
    cmd = [_airflow(), "dags", "test", dag_id, logical_date.isoformat()]
    failed: list[str] = []
    state = "unknown"
    error: str | None = None
    current: str | None = None
    tail: list[str] = []
    with log_file.open("w") as out:
        proc = subprocess.Popen(cmd, env=airflow_env(settings, retries=retries), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if m := _TASK_START.search(line):
                current = m.group(1)
                tail = []
                if on_line:
                    on_line(f"start {current}")
            elif _FAILED.search(line) and current:
                failed.append(current)
            elif m := _TASK_END.search(line):
                if on_line:
                    on_line(f"{'FAILED' if m.group(1) in failed else 'done'} {m.group(1)}")
            elif m := _RUN_STATE.search(line):
                state = m.group(1)
            if current in failed:
                tail.append(line.rstrip())
                if len(tail) > 80:
                    tail.pop(0)
        proc.wait()
    if failed:
        errors = [t for t in tail if re.match(r"^[A-Za-z_.]+(Error|Exception|Failed)\b.*:", t)]
        error = errors[-1] if errors else "see the log"
    if proc.returncode != 0 and state == "success":
        state = "failed"
    return DagRunResult(dag_id, logical_date, state, log_file, tuple(dict.fromkeys(failed)), error)


if __name__ == "__main__":
    if sys.argv[1:] != ["pools"]:
        sys.exit("usage: python -m kho.airflow_runner pools   (prints the pools JSON for `airflow pools import`)")
    import json

    json.dump(pools_document(), sys.stdout, indent=2, sort_keys=True)
    print()
