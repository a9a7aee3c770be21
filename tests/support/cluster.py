"""The cluster profile's local servers for tests: MinIO, the Spark standalone cluster, Airflow.

Shared by tests/integration/test_cluster_infra.py and the city comparison in tests/marts. Each
server is started through its script in infra/local (idempotent: one that was already running
is used and left running) and stopped at the end by whoever started it, unless
KHO_TEST_KEEP_SERVERS=1. A server that cannot be started fails the test with the command to
run; nothing is skipped.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_INFRA = REPO_ROOT / "infra" / "local"


def keep_servers() -> bool:
    return os.environ.get("KHO_TEST_KEEP_SERVERS", "") not in ("", "0")


def script(name: str, *args: str, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["bash", str(LOCAL_INFRA / name), *args], cwd=REPO_ROOT,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **(env or {})}, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`bash infra/local/{name} {' '.join(args)}` did not finish within {timeout:.0f}s",
                    pytrace=False)


def must(proc: subprocess.CompletedProcess[str], what: str, fix: str) -> str:
    if proc.returncode != 0:
        pytest.fail(f"{what} failed (exit {proc.returncode}). To fix: {fix}\n"
                    f"--- script output ---\n{proc.stderr.strip()[-3000:]}", pytrace=False)
    return proc.stdout


class Server:
    """start via its script, remember whether it was already running, stop only if we started it."""

    def __init__(self, name: str, env: dict[str, str] | None = None) -> None:
        self.script, self.env = name, env
        self.was_running = script(name, "status", env=env).returncode == 0

    def start(self, fix: str, timeout: float = 300) -> str:
        out = must(script(self.script, "start", env=self.env, timeout=timeout),
                   f"`bash infra/local/{self.script} start`", fix)
        return out.strip().splitlines()[-1] if out.strip() else ""

    def stop(self) -> None:
        if self.was_running or keep_servers():
            return
        proc = script(self.script, "stop", env=self.env)
        if proc.returncode != 0:
            print(f"\nwarning: could not stop {self.script}: {proc.stderr.strip()}")


# --- fixtures: import them into a test module or conftest to use them ---------------------------

@pytest.fixture(scope="module")
def minio_env() -> Iterator[dict[str, str]]:
    """Environment (KHO_S3_ENDPOINT, AWS_*) of the local MinIO, started if needed."""
    fix = "`bash infra/local/minio.sh install && bash infra/local/minio.sh start` (see its log)"
    must(script("minio.sh", "install", timeout=900), "`bash infra/local/minio.sh install`",
         "install Go >= 1.24 (or set KHO_GO) and run `bash infra/local/minio.sh install`")
    server = Server("minio.sh")
    server.start(fix)
    out = must(script("minio.sh", "env"), "`bash infra/local/minio.sh env`", fix)
    env = dict(re.findall(r"^export (\w+)=(.*)$", out, flags=re.M))
    assert {"KHO_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} <= env.keys()
    yield env
    server.stop()


@pytest.fixture
def spark_master() -> Iterator[str]:
    server = Server("spark-cluster.sh")
    url = server.start("`bash infra/local/spark-cluster.sh start` (needs Java 17; logs in .cache/servers/spark/logs)")
    yield url
    server.stop()  # right away: Airflow starts next on the same 2 cores


AIRFLOW_LOGS = REPO_ROOT / ".cache" / "servers" / "airflow" / "logs"


def task_logs(dag_id: str, run_id: str, lines: int = 40) -> str:
    """What to read when a run did not succeed: the failure of each task that failed (its
    exception, from the task runner), else the last lines of every task log. (A task's stderr,
    Spark's and the JVM's warnings included, is logged at level error too: not a failure.)"""
    logs = sorted((AIRFLOW_LOGS / f"dag_id={dag_id}" / f"run_id={run_id}").glob("task_id=*/**/*.log"))
    out = []
    for log in logs:
        text = log.read_text(errors="replace").splitlines()
        errors = [line[:4000] for line in text if '"event":"Task failed with exception"' in line]
        if errors:
            out.append(f"--- {log.relative_to(AIRFLOW_LOGS)} (errors) ---\n" + "\n".join(errors[:5]))
    if not out:
        for log in logs:
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.relative_to(AIRFLOW_LOGS)} ---\n" + "\n".join(tail))
    return "\n".join(out)[-12000:] or f"(no task logs under {AIRFLOW_LOGS})"


def run_dag_through_the_api(dag_id: str, day: str, env: dict[str, str], *, timeout: int = 900) -> str:
    """Trigger ``dag_id`` for ``day`` through the running Airflow cluster's REST API and follow
    the run to success through it (infra/local/airflow-cluster.sh trigger / wait); return the
    run id. Runs of the DAG from an earlier session are forgotten first (the metadata database
    outlives the servers). A run that does not succeed fails the test with its task logs."""
    must(script("airflow-cluster.sh", "delete-runs", dag_id, env=env),
         f"`bash infra/local/airflow-cluster.sh delete-runs {dag_id}`", "see .cache/servers/airflow/*.log")
    trig = script("airflow-cluster.sh", "trigger", dag_id, day, env=env)
    run_id = must(trig, f"`bash infra/local/airflow-cluster.sh trigger {dag_id} {day}`",
                  "see .cache/servers/airflow/dag-processor.log for DAG import errors").strip()
    waited = script("airflow-cluster.sh", "wait", run_id, env={**env, "KHO_AIRFLOW_WAIT_TIMEOUT": str(timeout)},
                    timeout=timeout + 60)
    assert waited.returncode == 0 and waited.stdout.strip() == "success", (
        f"run {run_id} of {dag_id} did not succeed: {waited.stdout.strip()}\n{waited.stderr.strip()[-1500:]}\n"
        + task_logs(dag_id, run_id))
    return run_id


@contextlib.contextmanager
def airflow_cluster(dag: str, tmp_path: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Airflow on PostgreSQL (scheduler with LocalExecutor, DAG processor, API server) whose
    DAGs folder holds only the project's ``dags/<dag>.py`` (a link) and whose task processes
    get ``env`` (the profile: lake root, Spark master, sources); only the runs a test triggers
    (no scheduled run on unpause), no retries. Yields the environment the servers were
    started with (to pass to ``run_dag_through_the_api``); stops them at the end."""
    dags = tmp_path / "dags"
    dags.mkdir(exist_ok=True)
    (dags / f"{dag}.py").symlink_to(REPO_ROOT / "dags" / f"{dag}.py")
    env = {**env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
           "KHO_TASK_RETRIES": "0"}
    postgres = Server("postgres.sh")
    server = Server("airflow-cluster.sh", env=env)
    if server.was_running:
        pytest.fail("an Airflow cluster is already running with another environment: stop it first "
                    "(`bash infra/local/airflow-cluster.sh stop`)", pytrace=False)
    server.start("make sure PostgreSQL is installed (`bash infra/local/postgres.sh install`), then see "
                 ".cache/servers/airflow/*.log", timeout=300)
    try:
        yield env
    finally:
        server.stop()
        postgres.stop()
