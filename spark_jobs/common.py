"""Shared plumbing of the Spark jobs: argument parsing, sessions, batch ids, Delta helpers."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any, Callable

from pyspark.sql import DataFrame, SparkSession

from kho.settings import Settings, get_settings
from kho.spark import get_spark


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


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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
