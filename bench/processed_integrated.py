"""Benchmark of the processed and integrated zones on the residence register, full and incremental, as JSON.

At the given scale factor (SF10 = 1 M citizens) the register is generated into SQLite,
ingested into raw, then, in one process with one Spark session:

* ``full``: ``spark_jobs/processed.py`` (vectorised cleaning, quarantine, records, survivorship)
  and ``spark_jobs/citizen_integrated.py`` (SCD2 MERGE) from an empty processed zone;
* ``incremental``: 1 % of the source rows change (new addresses and update times), the next
  day is ingested (snapshot diff: changes + tombstones), and both jobs run again on the new
  raw batch only.

Reported: wall time of each, rows, peak RSS of this process and of the Spark JVM (sampled),
and the ratio incremental / full (target <= 0.20).

    .venv/bin/python bench/processed_integrated.py [--sf 10] [--out bench/results/processed_integrated.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

DAY = date(2026, 11, 27)


class PeakRss(threading.Thread):
    """Samples the RSS of this process and its children (the Spark JVM, Python workers) every 0.5 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self.stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_mb = max(self.peak_mb, total / 2**20)
            time.sleep(0.5)


def _version(spark, path: str) -> int:
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, path).history(1).collect()[0]["version"])


def _merge_metrics(spark, path: str, after: int) -> dict[str, int]:
    """What the incremental run's commits to a MERGE target did: rows rewritten unchanged
    (``numTargetRowsCopied``: the cost deletion vectors avoid), files removed, vectors added."""
    from delta.tables import DeltaTable

    wanted = ("numTargetRowsCopied", "numTargetFilesRemoved", "numTargetFilesAdded",
              "numTargetDeletionVectorsAdded", "numTargetRowsUpdated", "numTargetRowsInserted",
              "numTargetRowsDeleted", "numDeletionVectorsAdded", "numCopiedRows", "numRemovedFiles")
    totals: dict[str, int] = {}
    for row in DeltaTable.forPath(spark, path).history().where(f"version > {after}").collect():
        for key, value in (row["operationMetrics"] or {}).items():
            if key in wanted:
                totals[key] = totals.get(key, 0) + int(value)
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", type=float, default=10.0)
    parser.add_argument("--change", type=float, default=0.01, help="share of source rows changed")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kho-bench-processed-"))
    db = work / "population.sqlite"
    os.environ.update({"KHO_LAKE_ROOT": str(work / "lake"), "KHO_STATE_DIR": str(work / "state"),
                       "AIRFLOW_CONN_KHO_SRC_POPULATION": f"sqlite:///{db}"})
    from kho.ingest.loader import day_interval, load_object
    from kho.ingest.registry import load_registry
    from kho.processed.population import TABLES
    from kho.settings import get_settings
    from kho.sources import population
    from kho.spark import get_spark
    from kho.integrated.tables import CITIZEN
    from spark_jobs import citizen_integrated, processed

    get_settings.cache_clear()
    settings = get_settings()
    t0 = time.perf_counter()
    stats = population.generate(f"sqlite:///{db}", seed=42, sf=args.sf)
    print(f"generated {stats.rows:,} rows in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    source = load_registry().get("population")
    load_object(settings, source, source.object("citizen"), day_interval(DAY))
    spark = get_spark(settings, app_name="kho-bench-processed")
    sampler = PeakRss()
    sampler.start()

    def stage(day: date) -> tuple[float, float, dict, dict]:
        t = time.perf_counter()
        p = processed.run(spark, settings, logical_date=day, table=TABLES[0])
        tp = time.perf_counter() - t
        t = time.perf_counter()
        i = citizen_integrated.run(spark, settings, logical_date=day)
        return tp, time.perf_counter() - t, p, i

    full_p, full_i, p1, i1 = stage(DAY)
    spec = TABLES[0]
    merge_targets = {"records": spec.records.path(settings), "processed": spec.ref.path(settings),
                     "duplicates": spec.duplicates.path(settings), "integrated": CITIZEN.ref.path(settings)}
    versions_before = {name: _version(spark, path) for name, path in merge_targets.items()}
    print(f"full: processed {full_p:.1f} s, integrated {full_i:.1f} s", file=sys.stderr)
    n_change = int(stats.rows * args.change)
    with sqlite3.connect(db) as con:
        con.execute(f"UPDATE cong_dan SET dia_chi = dia_chi || ' (chuyển)', ngay_cap_nhat = '2026-11-28 08:00:00' "
                    f"WHERE id IN (SELECT id FROM cong_dan ORDER BY id LIMIT {n_change})")
    t = time.perf_counter()
    [raw2] = load_object(settings, source, source.object("citizen"), day_interval(DAY + timedelta(days=1)))
    ingest2 = time.perf_counter() - t
    inc_p, inc_i, p2, i2 = stage(DAY + timedelta(days=1))
    sampler.stop.set()
    merges = {name: _merge_metrics(spark, path, versions_before[name]) for name, path in merge_targets.items()}
    full, incremental = full_p + full_i, inc_p + inc_i
    result = {
        "benchmark": "processed_integrated", "sf": args.sf, "source_rows": stats.rows,
        "full": {"processed_s": round(full_p, 1), "integrated_s": round(full_i, 1), "total_s": round(full, 1),
                 "rows_read": p1["rows_read"], "quarantined": p1["quarantined"], "citizens": p1["processed"],
                 "duplicates": p1["duplicates"], "rows_per_s": round(p1["rows_read"] / full),
                 "steps_s": {"processed": p1.get("seconds"), "integrated": i1.get("seconds")}},
        "incremental": {"changed_source_rows": n_change, "raw_rows_written": raw2.rows_written,
                        "ingest_s": round(ingest2, 1), "processed_s": round(inc_p, 1), "integrated_s": round(inc_i, 1),
                        "total_s": round(incremental, 1), "new_versions": i2["changed"] + i2["inserted"],
                        "integrated_changes_from": i2.get("changes_from"),
                        "steps_s": {"processed": p2.get("seconds"), "integrated": i2.get("seconds")},
                        "merges": merges},
        "incremental_share_of_full": round(incremental / full, 3), "target_share": 0.20,
        "peak_rss_mb_process_tree": round(sampler.peak_mb),
        "machine": {"cpus": os.cpu_count()},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
