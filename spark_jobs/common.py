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
