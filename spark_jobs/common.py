"""Shared plumbing of the Spark jobs: argument parsing, sessions, batch ids, Delta helpers."""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from typing import Any, Callable

from pyspark.sql import DataFrame, SparkSession

from kho.settings import Settings, get_settings
from kho.spark import get_spark
from kho.sqlquote import sql_literal


def batch_id(system: str, obj: str, logical_date: date) -> str:
    """One batch per source object and logical date: the unit of idempotency and reconciliation."""
    return f"{system}.{obj}.{logical_date:%Y%m%d}"


def delta_exists(spark: SparkSession, path: str) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, path)


def delta_version(spark: SparkSession, path: str) -> int | None:
    from delta.tables import DeltaTable

    if not delta_exists(spark, path):
        return None
    return int(DeltaTable.forPath(spark, path).history(1).collect()[0]["version"])


# Tables that later runs change in place (MERGE, DELETE) record those changes as deletion
# vectors: without them a MERGE rewrites every Parquet file holding a changed key, and 1 % of
# random keys touch every file, so a small incremental run rewrote whole million-row tables.
# Spark and DuckDB's delta_scan (delta-kernel) read them; kho.lake.read_delta_arrow is the
# Python reader (delta-rs 1.6's to_pyarrow_* refuse them, its DataFusion QueryBuilder does not).
MERGE_TARGET_OPTIONS = {"delta.enableDeletionVectors": "true"}
# Tables whose readers want "what changed since version N" (the processed survivors, read by
# the integration jobs) also keep the Delta change data feed: a MERGE then writes the changed
# rows once more under _change_data, and a reader gets them without comparing whole tables.
CHANGE_FEED_OPTIONS = {"delta.enableChangeDataFeed": "true"}


def write_merge_target(df: DataFrame, path: str, *, change_feed: bool = False) -> None:
    """Create or replace (full rebuild) a table that later runs MERGE into, with deletion vectors on."""
    writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    options = {**MERGE_TARGET_OPTIONS, **(CHANGE_FEED_OPTIONS if change_feed else {})}
    for key, value in options.items():
        writer = writer.option(key, value)
    writer.save(path)


class StepTimer:
    """Seconds per step of a job, kept in its summary (run log, benchmarks): where an
    incremental run spends its time is not where a full run does."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(self.seconds.get(step, 0.0) + now - self._last, 2)
        self._last = now


def read_delta(spark: SparkSession, path: str) -> DataFrame:
    return spark.read.format("delta").load(path)


def current_snapshot(raw: DataFrame, keys: list[str]) -> DataFrame:
    """The source's current rows from a raw event log (``_op`` 'U' upserts, 'D' tombstones).

    Per (key, ``_record_hash``) an upsert counts +1 and a tombstone -1; a version with a
    positive count is current, as many times as its count (the latest copies). Raw tables
    written before tombstones existed (no ``_op``) are returned as they are.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if "_op" not in raw.columns:
        return raw
    group = [*keys, "_record_hash"]
    net = (raw.groupBy(*group).agg(F.sum(F.when(F.col("_op") == "D", -1).otherwise(1)).alias("_net"))
           .where("_net > 0").select(*[F.col(c).alias(f"_k_{i}") for i, c in enumerate(group)], "_net"))
    ups = raw.where(F.col("_op") == "U").withColumn(
        "_copy", F.row_number().over(Window.partitionBy(*group).orderBy(F.col("_ingested_at").desc())))
    cond = [ups[c].eqNullSafe(net[f"_k_{i}"]) for i, c in enumerate(group)]
    joined = ups.join(net, cond, "inner").where(F.col("_copy") <= F.col("_net"))
    return joined.select(*raw.columns)


def apply_properties(spark: SparkSession, path: str, properties: dict[str, str]) -> None:
    """Write table metadata (owner, keys, PII columns, description) as Delta table properties."""
    if not properties:
        return
    pairs = ", ".join(f"{sql_literal(k)} = {sql_literal(v)}" for k, v in properties.items())
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({pairs})")


def job_main(argv: list[str] | None, description: str, add_args: Callable[[argparse.ArgumentParser], None],
             run: Callable[..., dict[str, Any]]) -> int:
    """``main(argv)`` for spark-submit: parse, open the session, run, print the summary as JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="logical date (YYYY-MM-DD)")
    add_args(parser)
    args = vars(parser.parse_args(argv))
    settings: Settings = get_settings()
    spark = get_spark(settings, app_name=parser.prog)
    logical_date = args.pop("date")
    summary = run(spark, settings, logical_date=logical_date, **args)
    print(json.dumps(summary, default=str, indent=2))
    return 0
