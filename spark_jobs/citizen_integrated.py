"""Processed residents -> the integrated citizen entity (công dân), with its history (SCD2).

Master key: ``citizen_key``, the keyed pseudonym (HMAC) of the CCCD, which every downstream
mart joins on; the clear CCCD stays in this zone (tagged PII in kho/integrated/tables.py).
One MERGE per run (spark_jobs/scd2.py): a citizen whose attributes changed gets a new
version, one who left the residence register a deleted version, unchanged ones nothing.

Incremental: only the survivors processed since the last run (``_processed_at`` after the
watermark in ``_system/integrated/watermarks``) are compared; deletions are the keys current
here but no longer in processed (a key-only anti-join). ``--full-rebuild`` compares all.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from kho.lake import INTEGRATED_CITIZEN, PROCESSED_CITIZEN, TableRef, Zone
from kho.privacy import pseudonym
from kho.settings import Settings
from kho.integrated.tables import CITIZEN
from spark_jobs.common import StepTimer, apply_properties, delta_exists, delta_version, job_main, read_delta
from spark_jobs.scd2 import merge_scd2

ATTRIBUTES = ("cccd", "full_name", "birth_date", "sex", "commune_code", "address")
WATERMARKS = TableRef(Zone.SYSTEM, "integrated", "watermarks")


def _watermark(spark: SparkSession, settings: Settings, target: str) -> datetime | None:
    path = WATERMARKS.path(settings)
    if not delta_exists(spark, path):
        return None
    row = read_delta(spark, path).where(F.col("target") == target).agg(F.max("processed_up_to")).first()
    return row[0]


def _set_watermark(spark: SparkSession, settings: Settings, target: str, value: datetime, batch: str) -> None:
    df = spark.createDataFrame([(target, value, batch, datetime.now(timezone.utc))],
                               "target string, processed_up_to timestamp, batch string, recorded_at timestamp")
    df.write.format("delta").mode("append").save(WATERMARKS.path(settings))


def run(spark: SparkSession, settings: Settings, *, logical_date: date, full_rebuild: bool = False) -> dict[str, Any]:
    key = settings.pseudonym_key()

    @pandas_udf("string")
    def citizen_key(cccd: pd.Series) -> pd.Series:
        return cccd.map(lambda v: pseudonym(key, v))

    timer = StepTimer()
    path = INTEGRATED_CITIZEN.path(settings)
    target = str(INTEGRATED_CITIZEN)
    batch = f"citizen.{logical_date:%Y%m%d}"
    processed = read_delta(spark, PROCESSED_CITIZEN.path(settings))
    mark = None if full_rebuild or not delta_exists(spark, path) else _watermark(spark, settings, target)
    changed = processed if mark is None else processed.where(F.col("_processed_at") > F.lit(mark))
    up_to = processed.agg(F.max("_processed_at")).first()[0]
    incoming = changed.select(citizen_key("cccd").alias("citizen_key"), *ATTRIBUTES)
    timer.lap("find_changes")
    deleted = None
    if delta_exists(spark, path):
        current = read_delta(spark, path).where("is_current AND NOT is_deleted").select("citizen_key", "cccd")
        deleted = current.join(processed.select("cccd"), "cccd", "left_anti").select("citizen_key")
    counts = merge_scd2(spark, path, incoming, key="citizen_key", attributes=ATTRIBUTES,
                        as_of=datetime.now(timezone.utc).replace(tzinfo=None), batch=batch, deleted_keys=deleted)
    timer.lap("merge")
    apply_properties(spark, path, CITIZEN.properties())
    if up_to is not None:
        _set_watermark(spark, settings, target, up_to, batch)
    timer.lap("properties_and_watermark")
    table = read_delta(spark, path)
    summary = {"batch_id": batch, "target": target, **counts, "compared": incoming.count(),
               "active": table.where("is_current AND NOT is_deleted").count(), "versions": table.count(),
               "delta_version": delta_version(spark, path)}
    timer.lap("counts")
    return {**summary, "seconds": timer.seconds}


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full-rebuild", dest="full_rebuild", action="store_true")


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, "Merge processed residents into the integrated citizen history", _args, run)


if __name__ == "__main__":
    sys.exit(main())
