"""Benchmark: one pipeline on the embedded profile and on the local cluster profile, as JSON.

The same DAG (``--dag``: population_pipeline, the default, or city_pipeline, every sector
system) runs twice for the same generated sources (``--sf``, ``--seed``; the same SQLite files
and folders read by both runs, the dossiers through the LGSP-style API, so only the profile
differs):

* embedded: ``airflow dags test`` (kho.airflow_runner.run_dag, what ``kho demo`` does): one
  process runs every task, the lake on local disk, Spark local[2];
* cluster: the DAG triggered through the REST API of Airflow on PostgreSQL (scheduler with
  LocalExecutor: a process per task), Spark jobs submitted to the standalone master and its
  two workers, every zone in its MinIO bucket (infra/local/cluster.sh; servers already
  running are used and left running, others are stopped at the end).

Reported side by side: the run's wall time; per task, its duration and the pipeline steps it
recorded in the run log (``_system/pipeline/run_log``: ingest, quality gates, process, ...);
and where the difference goes, in three parts: the steps' own work (object storage instead
of a local disk, executors on workers instead of threads in the driver), each task's own
start (a fresh process, Spark driver and application, imports) = task duration - its steps,
and Airflow's scheduling between tasks = wall time - the task durations.

Both runs share two cores with everything else on this machine (MinIO, the Spark master and
workers, Airflow's scheduler, DAG processor and API server): the cluster profile is measured
here for what it costs, not for the speed-up real hosts give.

    .venv/bin/python bench/cluster_vs_embedded.py [--sf 10] [--dag population_pipeline] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "infra" / "local"
DAY = date(2026, 11, 27)
DAGS = ("population_pipeline", "city_pipeline")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sh(script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Run an infra/local script; its stdout, or exit with what it said."""
    proc = subprocess.run(["bash", str(LOCAL / script), *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    if proc.returncode != 0:
        sys.exit(f"`bash infra/local/{script} {' '.join(args)}` failed (exit {proc.returncode}):\n"
                 f"{proc.stderr.strip()[-3000:]}")
    return proc.stdout


def running(script: str, env: dict[str, str] | None = None) -> bool:
    return subprocess.run(["bash", str(LOCAL / script), "status"], cwd=REPO, capture_output=True,
                          env={**os.environ, **(env or {})}).returncode == 0


def run_log(path: str, storage_options: dict[str, str] | None = None) -> list[dict]:
    """The run log's rows (a fresh lake: only this benchmark's run)."""
    from deltalake import DeltaTable

    return DeltaTable(path, storage_options=storage_options).to_pyarrow_table().to_pylist()


def run_embedded(env: dict[str, str], dag: str) -> dict:
    from kho.airflow_runner import run_dag
    from kho.lake import RUN_LOG
    from kho.settings import get_settings

    os.environ.update(env)
    get_settings.cache_clear()
    settings = get_settings()
    starts: dict[str, float] = {}
    tasks: dict[str, float] = {}

    def on_line(line: str) -> None:
        verb, task = line.split(" ", 1)
        if verb == "start":
            starts[task] = time.perf_counter()
        elif task in starts:
            tasks[task] = round(time.perf_counter() - starts[task], 2)
        log(f"  embedded {line}")

    t = time.perf_counter()
    result = run_dag(settings, dag, DAY, retries=0, on_line=on_line)
    wall = time.perf_counter() - t
    if result.state != "success":
        sys.exit(f"the embedded run of {dag} ended {result.state}: {result.error} (log {result.log_file})")
    rows = run_log(RUN_LOG.path(settings))
    return {"wall_s": round(wall, 1), "tasks_s": tasks, "steps_s": _steps(rows)}


def _steps(rows: list[dict]) -> dict[str, float]:
    steps: dict[str, float] = defaultdict(float)
    for row in rows:
        steps[row["step"]] += float(row["seconds"] or 0)
    return {k: round(v, 2) for k, v in sorted(steps.items())}


def run_cluster(env: dict[str, str], dag: str, work: Path) -> dict:
    from kho.lake import Zone, zone_root
    from kho.storage import delta_rs_storage_options, s3_settings_from_env

    started: list[str] = []
    try:
        for script in ("postgres.sh", "minio.sh"):
            if not running(script):
                if script == "minio.sh":
                    sh(script, "install", timeout=1800)
                sh(script, "start")
                started.append(script)
        minio = dict(re.findall(r"^export (\w+)=(.*)$", sh("minio.sh", "env"), flags=re.M))
        if not running("spark-cluster.sh"):
            sh("spark-cluster.sh", "start")
            started.append("spark-cluster.sh")
        master = sh("spark-cluster.sh", "url").strip().splitlines()[-1]
        dags = work / "dags"
        dags.mkdir(exist_ok=True)
        (dags / f"{dag}.py").symlink_to(REPO / "dags" / f"{dag}.py")
        prefix = f"kho-bench/{uuid.uuid4().hex[:8]}"
        cluster_env = {**env, **minio, "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                       "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False", "KHO_TASK_RETRIES": "0",
                       "KHO_PROFILE": "cluster", "KHO_LAKE_ROOT": f"s3://{{zone}}/{prefix}",
                       "KHO_STATE_DIR": str(work / "state-cluster"), "KHO_SPARK_MASTER": master}
        if running("airflow-cluster.sh", cluster_env):
            sys.exit("an Airflow cluster is already running with its own environment: stop it first "
                     "(`bash infra/local/airflow-cluster.sh stop`)")
        sh("airflow-cluster.sh", "start", env=cluster_env)
        started.append("airflow-cluster.sh")
        sh("airflow-cluster.sh", "delete-runs", dag, env=cluster_env)
        log("  cluster: servers ready; triggering through the REST API")
        t = time.perf_counter()
        run_id = sh("airflow-cluster.sh", "trigger", dag, DAY.isoformat(), env=cluster_env).strip()
        state = sh("airflow-cluster.sh", "wait", run_id, env={**cluster_env, "KHO_AIRFLOW_WAIT_TIMEOUT": "14400"},
                   timeout=14400 + 60).strip()
        wall = time.perf_counter() - t
        log(f"  cluster: run {run_id} {state} in {wall:.0f} s")
        tis = [json.loads(line) for line in sh("airflow-cluster.sh", "tasks", dag, run_id, env=cluster_env).splitlines()
               if line.strip()]
        tasks = {ti["task_id"]: round(float(ti["duration"] or 0), 2) for ti in tis}
        options = delta_rs_storage_options(s3_settings_from_env(minio))
        rows = run_log(zone_root(cluster_env["KHO_LAKE_ROOT"], Zone.SYSTEM) + "/pipeline/run_log", options)
        return {"wall_s": round(wall, 1), "tasks_s": tasks, "steps_s": _steps(rows), "run_id": run_id}
    finally:
        for script in reversed(started):
            subprocess.run(["bash", str(LOCAL / script), "stop"], cwd=REPO, capture_output=True)


def breakdown(run: dict) -> dict:
    tasks = sum(run["tasks_s"].values())
    steps = sum(run["steps_s"].values())
    return {"wall_s": run["wall_s"], "steps_s": round(steps, 1), "task_start_s": round(tasks - steps, 1),
            "scheduling_s": round(run["wall_s"] - tasks, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dag", default="population_pipeline", choices=DAGS)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (sources, local lake)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kho-bench-cluster-"))
    shutil.copytree(REPO / "expectations" / "gx", work / "expectations" / "gx",
                    ignore=shutil.ignore_patterns("uncommitted"))
    embedded_env = {"KHO_PROFILE": "embedded", "KHO_LAKE_ROOT": str(work / "lake"),
                    "KHO_STATE_DIR": str(work / "state-embedded"), "KHO_PSEUDONYM_KEY_FILE": str(work / "pseudonym.key"),
                    "KHO_EXPECTATIONS_DIR": str(work / "expectations")}
    t = time.perf_counter()
    if args.dag == "population_pipeline":
        from kho.sources import population

        log(f"generating the population register at SF {args.sf}")
        source = work / "population.sqlite"
        source_rows = population.generate(f"sqlite:///{source}", seed=args.seed, sf=args.sf).total_rows
        connections = {"AIRFLOW_CONN_KHO_SRC_POPULATION": f"sqlite:///{source}"}
        embedded_env |= connections
        generated = None
    else:  # every sector system, where the embedded profile looks for them (its state dir)
        from kho.sources import registry

        log(f"generating every sector system at SF {args.sf}")
        generated = registry.up(work / "state-embedded" / "sources", sf=args.sf, seed=args.seed)
        source_rows = sum(int(g.stats.get("total_rows", g.stats.get("rows", 0))) for g in generated)
        connections = {}
    log(f"  {source_rows:,} source rows in {time.perf_counter() - t:.0f} s")
    common = {k: v for k, v in embedded_env.items() if k in ("KHO_PSEUDONYM_KEY_FILE", "KHO_EXPECTATIONS_DIR")}

    log(f"embedded profile: {args.dag}")
    embedded = run_embedded(embedded_env, args.dag)
    log(f"  embedded: {embedded['wall_s']} s")
    log(f"cluster profile: {args.dag}")
    with contextlib.ExitStack() as stack:
        if generated is not None:  # the same files and databases; the dossiers behind one API for the run
            from kho.city import serve_lgsp_api, source_connections

            sources = work / "state-embedded" / "sources"
            connections = source_connections(generated, sources, stack.enter_context(serve_lgsp_api(sources / "dossiers")))
        for name in embedded_env:  # the embedded run's settings must not leak into the cluster's
            os.environ.pop(name, None)
        cluster = run_cluster({**common, **connections}, args.dag, work)

    emb, clu = breakdown(embedded), breakdown(cluster)
    result = {
        "benchmark": "cluster_vs_embedded", "dag": args.dag, "sf": args.sf, "seed": args.seed,
        "source_rows": source_rows,
        "embedded": embedded | {"breakdown": emb},
        "cluster": cluster | {"breakdown": clu},
        "ratio_cluster_to_embedded": round(cluster["wall_s"] / embedded["wall_s"], 2),
        "difference_s": {k: round(clu[k] - emb[k], 1) for k in emb},
        "tasks_side_by_side": {task: {"embedded_s": embedded["tasks_s"].get(task), "cluster_s": cluster["tasks_s"].get(task)}
                               for task in dict.fromkeys([*embedded["tasks_s"], *cluster["tasks_s"]])},
        "steps_side_by_side": {step: {"embedded_s": embedded["steps_s"].get(step), "cluster_s": cluster["steps_s"].get(step)}
                               for step in sorted({*embedded["steps_s"], *cluster["steps_s"]})},
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 1)},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    if args.keep:
        log(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
