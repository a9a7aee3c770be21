"""Benchmark of the population pipeline, stage by stage, printed as JSON.

Runs the same steps the Airflow DAG runs, in one process (no Airflow overhead), on a
fresh lake at the given scale factor. SF1 = 100,000 citizens, about 101,000 source rows
(duplicates included). Per stage: wall time, rows/s and the peak resident memory of this
process plus its children (the Spark JVM, dbt), sampled every 50 ms.

Later issues compare against these numbers; compare ratios on the same machine, not
absolute seconds.

    .venv/bin/python bench/pipeline.py --sf 1 [--out bench/results/pipeline-sf1.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psutil


class PeakMemory:
    """Peak RSS (bytes) of this process tree while the block runs."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder, removed after")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="kho-bench-"))
    os.environ.update({"KHO_LAKE_ROOT": str(work / "lake"), "KHO_STATE_DIR": str(work / "state"),
                       "KHO_SOURCE_POPULATION_URL": f"sqlite:///{work / 'population.sqlite'}"})
    from kho import pipeline
    from kho.settings import get_settings
    from kho.sources import population

    get_settings.cache_clear()
    settings = get_settings()
    day = date(2026, 11, 27)
    stages: list[dict] = []
    state: dict = {}

    def stage(name: str, rows_of, fn) -> None:
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            out = fn()
            seconds = time.perf_counter() - t0
        rows = rows_of(out)
        stages.append({"stage": name, "seconds": round(seconds, 2), "rows": rows,
                       "rows_per_s": round(rows / seconds) if rows and seconds else None,
                       "peak_rss_mb": round(mem.peak / 2**20)})
        state[name] = out
        print(f"{name:16s} {seconds:7.1f} s  {rows or 0:>9,} rows  {mem.peak / 2**20:6.0f} MB", flush=True)

    try:
        stage("generate_source", lambda s: s.rows,
              lambda: population.generate(settings.source_url("population"), seed=args.seed, sf=args.sf))
        stage("spark_session", lambda _: None, lambda: pipeline._spark(settings))
        stage("ingest_raw", lambda s: s["rows_written"], lambda: pipeline.ingest(day, settings=settings))
        stage("process", lambda s: s["raw_rows"], lambda: pipeline.process(day, settings=settings))
        stage("audit_processed", lambda _: state["process"]["processed"],
              lambda: pipeline.audit_processed(day, state["process"], settings=settings))
        stage("integrate", lambda s: s["total"], lambda: pipeline.integrate(day, settings=settings))
        stage("build_marts", lambda s: state["integrate"]["active"], lambda: pipeline.build_marts(day, settings=settings))
        stage("audit_marts", lambda _: sum(state["build_marts"]["marts"].values()),
              lambda: pipeline.audit_marts(day, state["build_marts"], settings=settings))
        stage("publish_marts", lambda _: sum(state["build_marts"]["marts"].values()),
              lambda: pipeline.publish_marts(day, state["audit_marts"], settings=settings))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    total = sum(s["seconds"] for s in stages if s["stage"] != "generate_source")
    result = {
        "benchmark": "population_pipeline",
        "scale_factor": args.sf,
        "sf_definition": "SF1 = 100,000 citizens in the population database (about 101,000 rows with duplicates)",
        "source_rows": state["generate_source"].rows,
        "pipeline_seconds": round(total, 1),
        "pipeline_rows_per_s": round(state["generate_source"].rows / total),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in stages),
        "stages": stages,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "memory_gb": round(psutil.virtual_memory().total / 2**30)},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
