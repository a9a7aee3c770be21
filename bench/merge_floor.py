"""What one Delta MERGE of a few changed keys costs against rewriting the whole table, as JSON.

An incremental run of the processed and integrated zones applies its changes to million-row
tables with MERGE (the survivors of processed, the SCD2 history of integrated). This script
measures that step alone, on a synthetic table shaped like the processed citizen survivors
(12 columns, deletion vectors and the change data feed on, as the jobs create them), so the
floor of an incremental run can be told apart from the pipeline's own work:

* ``rewrite_s``: overwrite the whole table (what a full rebuild of this one table costs);
* ``merge_s[share]``: MERGE (update the matched rows, insert the others) of ``share`` of the
  keys, drawn at random, into a fresh copy of the table; and its ratio to ``rewrite_s``;
* ``spark_job_ms``: the shortest round trip of a trivial Spark job (``range(1).count()``),
  the fixed cost every count, collect and Delta snapshot step pays;
* ``delta_count_s``: counting the table's rows (a Delta log replay and a metadata answer).

Each measurement is repeated (``--repeat``) and the fastest kept; all runs share one Spark
session, after a warm-up MERGE.

    .venv/bin/python bench/merge_floor.py [--rows 1000000] [--shares 0.001,0.01,0.1] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _table(spark, rows: int):
    """Rows shaped like processed/population/citizen: a 12-digit key, names, an address, dates, hashes."""
    from pyspark.sql import functions as F

    n = F.col("id")
    return spark.range(rows).select(
        F.lpad((n * 7919 % 1_000_000_000_007).cast("string"), 12, "0").alias("_bk"),
        n.alias("record_id"),
        F.concat(F.lit("Nguyễn Văn "), (n % 9973).cast("string")).alias("full_name"),
        F.date_add(F.lit("1950-01-01").cast("date"), (n % 25_000).cast("int")).alias("birth_date"),
        F.when(n % 2 == 0, "nam").otherwise("nữ").alias("sex"),
        F.lpad((n % 114).cast("string"), 5, "3").alias("commune_code"),
        F.concat((n % 300).cast("string"), F.lit(" đường Lạch Tray, phường Ngô Quyền, Hải Phòng")).alias("address"),
        F.timestamp_seconds(F.lit(1_700_000_000) + n % 10_000_000).alias("updated_at"),
        (n % 7).cast("int").alias("_completeness"),
        F.lit("population.cong_dan.20261127").alias("_batch_id"),
        F.sha2(n.cast("string"), 256).alias("_record_hash"),
        F.current_timestamp().alias("_processed_at"),
    )


def _best(fn, repeat: int) -> tuple[float, list[float]]:
    times = [fn() for _ in range(repeat)]
    return min(times), [round(t, 2) for t in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shares", default="0.001,0.01,0.1", help="shares of the keys changed, comma-separated")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    shares = [float(s) for s in args.shares.split(",")]
    work = Path(tempfile.mkdtemp(prefix="kho-bench-merge-"))
    os.environ.update({"KHO_LAKE_ROOT": str(work / "lake"), "KHO_STATE_DIR": str(work / "state")})
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from kho.settings import get_settings
    from kho.spark import get_spark
    from spark_jobs.common import write_merge_target

    get_settings.cache_clear()
    spark = get_spark(get_settings(), app_name="kho-bench-merge-floor")
    base, copy = str(work / "base"), str(work / "copy")
    t = time.perf_counter()
    write_merge_target(_table(spark, args.rows), base, change_feed=True)
    print(f"wrote {args.rows:,} rows in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    columns = spark.read.format("delta").load(base).columns

    def rewrite() -> float:
        start = time.perf_counter()
        write_merge_target(_table(spark, args.rows), copy, change_feed=True)
        return time.perf_counter() - start

    def merge(share: float):
        changed = (spark.read.format("delta").load(base).sample(fraction=share, seed=7)
                   .withColumn("address", F.concat("address", F.lit(" (chuyển)"))).localCheckpoint())

        def once() -> float:
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(base, copy)
            start = time.perf_counter()
            (DeltaTable.forPath(spark, copy).alias("t").merge(changed.alias("s"), "t._bk = s._bk")
             .whenMatchedUpdate(set={c: f"s.{c}" for c in columns})
             .whenNotMatchedInsert(values={c: f"s.{c}" for c in columns}).execute())
            return time.perf_counter() - start

        return changed.count(), once

    def trivial_job() -> float:
        start = time.perf_counter()
        spark.range(1).count()
        return time.perf_counter() - start

    def count() -> float:
        start = time.perf_counter()
        spark.read.format("delta").load(base).count()
        return time.perf_counter() - start

    merge(0.01)[1]()  # warm-up: class loading and JIT of the MERGE path
    rewrite_s, rewrite_runs = _best(rewrite, args.repeat)
    print(f"rewrite: {rewrite_s:.2f} s", file=sys.stderr)
    merges = {}
    for share in shares:
        rows, once = merge(share)
        best, runs = _best(once, args.repeat)
        merges[str(share)] = {"changed_rows": rows, "merge_s": round(best, 2), "runs_s": runs,
                              "share_of_rewrite": round(best / rewrite_s, 3)}
        print(f"merge {share:.1%} ({rows:,} rows): {best:.2f} s = {best / rewrite_s:.2f} of a rewrite", file=sys.stderr)
    job_s = min(trivial_job() for _ in range(20))
    count_s, _ = _best(count, max(args.repeat, 3))
    result = {"benchmark": "merge_floor", "rows": args.rows, "rewrite_s": round(rewrite_s, 2), "rewrite_runs_s": rewrite_runs,
              "merges": merges, "spark_job_ms": round(job_s * 1000, 1), "delta_count_s": round(count_s, 3),
              "machine": {"cpus": os.cpu_count()}}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
