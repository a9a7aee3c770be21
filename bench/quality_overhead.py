"""Benchmark of the quality gates as a share of the stage each one guards, as JSON.

At the given scale factor a few sector systems (population and others, ``--systems``) are
generated into a temporary folder, then, in one process:

* raw: every object of those systems is loaded for one day (``load_object``) and its raw
  contract gate runs on the batch it wrote (``quality_gate.check_load``);
* processed: one Spark session; every processed table of those systems is built
  (``spark_jobs/processed.py run``) and its gate runs on the same raw batches
  (``quality_gate.check_processed``).

Reported per table and in total: the stage's wall time, the gate's (materialise the new rows
into DuckDB, GX checkpoint with Data Docs, quality results and run-log rows) and the ratio
gate / stage (target < 0.20). One-time costs of a process are reported apart: GX's import
and context (paid by the first gate of a process) and the Spark session start.

``raw.per_task_forked``: the raw stage as the Airflow deployments run it. LocalExecutor forks
each task from a worker that came from the scheduler's forkserver, which imported GX and
rehearsed one validation (kho/airflow_preload.py). Here one process does the same preload and
forks a task per raw object (``--forked-objects``, all by default), with its gate and without,
each into an empty lake; ``total.task_overhead_ratio`` is (sum with - sum without) / sum
without: the gates' share of the stage they guard.

``per_task``: an Airflow task run in a fresh interpreter (another executor, ``airflow tasks
run``) is one process per table, paying Spark's start and GX's import itself. Measured for real: fresh processes rebuild one processed table (``--task-table``) and
gate it, once with GX imported in the background while Spark runs (``quality_gate.warm_up``,
as the DAGs do) and once without (``KHO_GX_WARM_UP=0``). The same for raw: fresh processes
load one object (``--raw-task-objects``) into an empty lake, with its gate and without; the
task's wall time is the process's, from interpreter start (Airflow's own task overhead comes
on top), and ``task_overhead_ratio`` is (with - without) / without.

Raw gates validate the batch in place (a DuckDB view over the Delta files that hold it,
kho.gate_views), so their cost is mostly GX's fixed cost per validation (about 0.2 s).

    .venv/bin/python bench/quality_overhead.py [--sf 1] [--systems population,civil_status,...] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

DAY = date(2026, 11, 27)
DEFAULT_SYSTEMS = "population,civil_status,business_registration,land,labour"
TARGET = 0.20


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole else None


def task(table: str) -> int:
    """One processed table as an Airflow task runs it, in this fresh process: prints JSON."""
    t0 = time.perf_counter()
    from kho import quality_gate
    from kho.settings import get_settings
    from kho.spark import get_spark
    from spark_jobs import processed as job

    quality_gate.warm_up()  # a no-op with KHO_GX_WARM_UP=0
    settings = get_settings()
    t = time.perf_counter()
    spark = get_spark(settings, app_name="kho-bench-quality-task")
    spark.range(1).count()
    spark_s = time.perf_counter() - t
    t = time.perf_counter()
    summary = job.run(spark, settings, logical_date=DAY, table=table, full_rebuild=True)
    stage_s = time.perf_counter() - t
    t = time.perf_counter()
    try:
        gate = quality_gate.check_processed(settings, table, summary, run_id="bench-task", logical_date=DAY)
    except quality_gate.QualityGateFailed as exc:
        [gate] = exc.results
    gate_s = time.perf_counter() - t
    spark.stop()
    print(json.dumps({"table": table, "warm_up": os.environ.get("KHO_GX_WARM_UP", "1") != "0",
                      "spark_session_s": round(spark_s, 2), "stage_s": round(stage_s, 2), "gate_s": round(gate_s, 2),
                      "gate_rows": gate.rows, "task_s": round(time.perf_counter() - t0, 2),
                      "ratio_to_stage": _ratio(gate_s, stage_s),
                      "ratio_to_spark_and_stage": _ratio(gate_s, spark_s + stage_s)}))
    return 0


def _load_and_gate(settings, source, obj, run_id: str):
    """One object's load for DAY and its raw contract gate, each timed: (results, load s, gate, gate s)."""
    from kho import quality_gate
    from kho.ingest.loader import day_interval, load_object

    t = time.perf_counter()
    results = load_object(settings, source, obj, day_interval(DAY, source.timezone), run_id=run_id)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    try:
        gate = quality_gate.check_load(settings, results, run_id=run_id, logical_date=DAY)
    except quality_gate.QualityGateFailed as exc:  # measured and reported like a pass
        [gate] = exc.results
    return results, load_s, gate, time.perf_counter() - t


def raw_task(name: str, gated: bool = True) -> int:
    """One raw object as an ingest task runs it, in this fresh process (an empty lake): JSON.
    ``gated=False``: the same task without its gate, the baseline the gate's real cost in a
    task is measured against."""
    t0 = time.perf_counter()
    from kho.ingest.loader import day_interval, load_object
    from kho.ingest.registry import load_registry
    from kho.settings import get_settings

    settings = get_settings()  # no GX warm-up: the ingest task does not do one (see dags/ingest_sources.py)
    system, obj_name = name.split(".", 1)
    source = load_registry().get(system)
    if gated:
        results, load_s, gate, gate_s = _load_and_gate(settings, source, source.object(obj_name), "bench-task")
    else:
        t = time.perf_counter()
        results = load_object(settings, source, source.object(obj_name), day_interval(DAY, source.timezone),
                              run_id="bench-task")
        load_s, gate_s, gate = time.perf_counter() - t, 0.0, None
    print(json.dumps({"object": name, "rows": sum(r.rows_written for r in results), "load_s": round(load_s, 2),
                      "gate_s": round(gate_s, 2), "gate_timings": gate.timings if gate else None,
                      "in_process_s": round(time.perf_counter() - t0, 2)}))
    return 0


def _raw_task_in_subprocess(name: str, work: Path) -> dict:
    """The raw task in fresh processes writing to an empty lake, with its gate and without;
    task_s is a process's whole wall time (interpreter, imports, load, gate), what an ingest
    task costs before Airflow's own. The gate's cost in a task is the difference: GX's import
    in the background also slows the load it overlaps (two cores, one GIL), which the gate's
    own timer does not see (why the ingest task no longer warms GX up)."""
    import subprocess

    def once(gated: bool) -> tuple[dict, float]:
        lake = work / f"task-lake-{name}-{'gated' if gated else 'plain'}"
        env = {**os.environ, "KHO_LAKE_ROOT": str(lake)}
        t = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--raw-task" if gated else "--raw-task-no-gate", name],
                             env=env, capture_output=True, text=True, check=True).stdout
        task_s = time.perf_counter() - t
        shutil.rmtree(lake, ignore_errors=True)
        return json.loads(out.strip().splitlines()[-1]), task_s

    plain, plain_s = once(False)
    run, task_s = once(True)
    return run | {"task_s": round(task_s, 2), "task_without_gate_s": round(plain_s, 2),
                  "load_without_gate_s": plain["load_s"],
                  "ratio_to_load": _ratio(run["gate_s"], run["load_s"]),
                  "ratio_to_task": _ratio(run["gate_s"], task_s),
                  "task_overhead_ratio": _ratio(task_s - plain_s, plain_s)}


def raw_task_host(name: str, work: Path) -> int:
    """What the Airflow deployments do (kho/airflow_preload.py): this process imports GX once,
    like the scheduler's forkserver, then forks one child per task, like LocalExecutor's
    workers, and times each child from fork to exit: the task's own cost when it inherits the
    import. The same object, with its gate and without, each into an empty lake. Prints JSON."""
    import kho.airflow_preload  # noqa: F401  (the forkserver's preload)

    report: dict[str, dict] = {}
    for gated in (False, True):
        lake, out = work / f"forked-lake-{name}-{gated}", work / f"forked-{name}-{gated}.json"
        os.environ["KHO_LAKE_ROOT"] = str(lake)
        t = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the task process
            code = 1
            try:
                with open(out, "w") as sink, contextlib.redirect_stdout(sink):
                    code = raw_task(name, gated)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        task_s = time.perf_counter() - t
        if status != 0:
            raise RuntimeError(f"the forked task for {name} (gate {gated}) failed: status {status}")
        report["gated" if gated else "plain"] = json.loads(out.read_text().strip().splitlines()[-1]) | {
            "task_s": round(task_s, 2)}
        shutil.rmtree(lake, ignore_errors=True)
    print(json.dumps(report))
    return 0


def _raw_task_forked(name: str, work: Path) -> dict:
    """The raw task as the deployments run it: forked from a process that preloaded GX."""
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--raw-task-host", name, str(work)], env=dict(os.environ),
                         capture_output=True, text=True, check=True).stdout
    runs = json.loads(out.strip().splitlines()[-1])
    run, plain = runs["gated"], runs["plain"]
    return run | {"task_without_gate_s": plain["task_s"], "load_without_gate_s": plain["load_s"],
                  "ratio_to_load": _ratio(run["gate_s"], run["load_s"]),
                  "ratio_to_task": _ratio(run["gate_s"], run["task_s"]),
                  "task_overhead_ratio": _ratio(run["task_s"] - plain["task_s"], plain["task_s"])}


def _task_in_subprocess(table: str, warm: bool) -> dict:
    import subprocess

    env = {**os.environ, "KHO_GX_WARM_UP": "1" if warm else "0"}
    out = subprocess.run([sys.executable, __file__, "--task", table], env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--task":
        return task(sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == "--raw-task":
        return raw_task(sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == "--raw-task-no-gate":
        return raw_task(sys.argv[2], gated=False)
    if len(sys.argv) == 4 and sys.argv[1] == "--raw-task-host":
        return raw_task_host(sys.argv[2], Path(sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--systems", default=DEFAULT_SYSTEMS, help="comma-separated source systems to generate")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary lake")
    parser.add_argument("--raw-task-objects", default="population.citizen,land.land_parcel",
                        help="raw objects loaded and gated in fresh processes for the per-task figures")
    parser.add_argument("--forked-objects", default="all",
                        help="raw objects run as tasks forked from a process with GX preloaded, as the "
                             "Airflow deployments run them ('all': every object of --systems)")
    parser.add_argument("--zones", default="raw,processed",
                        help="the stages to measure: raw, processed or both (at SF10 the processed "
                             "stage of the largest tables takes tens of minutes)")
    parser.add_argument("--task-table", default="population.citizen",
                        help="processed table rebuilt in fresh processes for the per-task figures ('' to skip)")
    args = parser.parse_args()
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    zones = {z.strip() for z in args.zones.split(",") if z.strip()}
    if not zones or zones - {"raw", "processed"}:
        parser.error("--zones: raw, processed or raw,processed")
    repo = Path(__file__).resolve().parents[1]
    work = Path(tempfile.mkdtemp(prefix="kho-bench-quality-"))
    # a private copy of the GX project, so the run's Data Docs and results stay out of the checkout
    shutil.copytree(repo / "expectations" / "gx", work / "expectations" / "gx",
                    ignore=shutil.ignore_patterns("uncommitted"))
    os.environ.update({"KHO_LAKE_ROOT": str(work / "lake"), "KHO_STATE_DIR": str(work / "state"),
                       "KHO_EXPECTATIONS_DIR": str(work / "expectations"), "KHO_PROFILE": "embedded"})
    from kho import quality, quality_gate
    from kho.ingest.registry import load_registry
    from kho.processed.catalog import domains
    from kho.settings import get_settings
    from kho.sources import registry as source_registry

    get_settings.cache_clear()
    settings = get_settings()
    t = time.perf_counter()
    generated = source_registry.up(settings.sources_dir, sf=args.sf, seed=args.seed, only=tuple(systems))
    rows = {g.system.name: g.stats.get("total_rows", g.stats.get("rows", 0)) for g in generated}
    print(f"generated {sum(rows.values()):,} source rows in {time.perf_counter() - t:.0f} s", file=sys.stderr)

    # GX import + context: what the first gate of a process pays (measured once, up front)
    t = time.perf_counter()
    quality.preload()
    gx_start = time.perf_counter() - t
    print(f"GX import and context: {gx_start:.1f} s", file=sys.stderr)

    registry = load_registry()
    raw: list[dict] = []
    for system in systems:
        source = registry.get(system)
        for obj in source.objects:
            results, load_s, gate, gate_s = _load_and_gate(settings, source, obj, "bench")
            raw.append({"table": gate.table, "rows": sum(r.rows_written for r in results), "stage_s": round(load_s, 2),
                        "gate_s": round(gate_s, 2), "gate_passed": gate.passed, "gate_skipped": gate.skipped,
                        "gate_failures": list(gate.failures), "gate_timings": gate.timings,
                        "ratio": _ratio(gate_s, load_s)})
            print(f"  raw {gate.table}: load {load_s:.1f} s, gate {gate_s:.2f} s"
                  f"{' (' + gate.skipped + ')' if gate.skipped else ''}", file=sys.stderr)

    from kho.spark import get_spark
    from spark_jobs import processed as job

    spark_start = None
    tables = [spec for name, specs in domains().items() if name in systems for spec in specs]
    proc: list[dict] = []
    if "processed" in zones:
        t = time.perf_counter()
        spark = get_spark(settings, app_name="kho-bench-quality")
        spark.range(1).count()
        spark_start = time.perf_counter() - t
    else:
        tables = []
    for spec in tables:
        t = time.perf_counter()
        summary = job.run(spark, settings, logical_date=DAY, table=spec)
        stage_s = time.perf_counter() - t
        t = time.perf_counter()
        try:
            gate = quality_gate.check_processed(settings, spec, summary, run_id="bench", logical_date=DAY)
        except quality_gate.QualityGateFailed as exc:  # measured and reported like a pass
            [gate] = exc.results
        gate_s = time.perf_counter() - t
        proc.append({"table": gate.table, "rows": gate.rows, "rows_read": summary.get("rows_read"),
                     "stage_s": round(stage_s, 2), "gate_s": round(gate_s, 2), "gate_passed": gate.passed,
                     "gate_skipped": gate.skipped, "gate_failures": list(gate.failures),
                     "gate_timings": gate.timings, "ratio": _ratio(gate_s, stage_s)})
        print(f"  processed {gate.table}: stage {stage_s:.1f} s, gate {gate_s:.2f} s "
              f"({gate.rows:,} rows, {'passed' if gate.passed else 'FAILED'})", file=sys.stderr)
    if spark_start is not None:
        spark.stop()

    def totals(items: list[dict]) -> dict:
        stage = sum(i["stage_s"] for i in items)
        gate = sum(i["gate_s"] for i in items)
        return {"tables": len(items), "stage_s": round(stage, 1), "gate_s": round(gate, 1),
                "ratio": _ratio(gate, stage), "median_gate_s": sorted(i["gate_s"] for i in items)[len(items) // 2]
                if items else None}

    raw_total, proc_total = totals(raw), totals(proc)
    per_task = {}
    raw_tasks = [_raw_task_in_subprocess(name.strip(), work) for name in args.raw_task_objects.split(",")
                 if name.strip()]
    forked_names = ([f"{system}.{obj.name}" for system in systems for obj in load_registry().get(system).objects]
                    if args.forked_objects == "all" else [n.strip() for n in args.forked_objects.split(",") if n.strip()])
    raw_forked = [_raw_task_forked(name, work) for name in forked_names]
    with_s, without_s = (sum(r[k] for r in raw_forked) for k in ("task_s", "task_without_gate_s"))
    forked_total = {"tasks": len(raw_forked), "tasks_s": round(with_s, 1), "tasks_without_gate_s": round(without_s, 1),
                    "task_overhead_ratio": _ratio(with_s - without_s, without_s)}
    for how, runs in (("fresh interpreter", raw_tasks), ("forked, GX preloaded", raw_forked)):
        for run in runs:
            print(f"  raw task {run['object']} ({how}): task {run['task_s']} s (without gate "
                  f"{run['task_without_gate_s']} s), load {run['load_s']} s, gate {run['gate_s']} s", file=sys.stderr)
    if args.task_table and "processed" in zones:
        for warm in (False, True):
            run = _task_in_subprocess(args.task_table, warm)
            per_task["with_warm_up" if warm else "without_warm_up"] = run
            print(f"  task {args.task_table} (warm_up {warm}): spark {run['spark_session_s']} s, stage "
                  f"{run['stage_s']} s, gate {run['gate_s']} s", file=sys.stderr)
    result = {
        "benchmark": "quality_overhead", "sf": args.sf, "systems": systems, "source_rows": rows,
        "raw": {"total": raw_total, "tables": raw, "per_task": raw_tasks,
                "per_task_forked": {"total": forked_total, "tasks": raw_forked}},
        "processed": {"total": proc_total, "tables": proc},
        "one_time": {"gx_import_and_context_s": round(gx_start, 2), "spark_session_s": round(spark_start, 2) if spark_start is not None else None},
        "per_task": per_task,
        "target_ratio": TARGET,
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 1)},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
