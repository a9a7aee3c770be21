"""Processed residents -> the integrated citizen entity (công dân), with its history (SCD2).

Master key: ``citizen_key``, the keyed pseudonym (HMAC) of the CCCD, which every downstream
mart joins on; the clear CCCD stays in this zone (tagged PII in kho/integrated/tables.py).
One MERGE per run (spark_jobs/scd2.py): a citizen whose attributes changed gets a new
version, one who left the residence register a deleted version, unchanged ones nothing.

Incremental (spark_jobs/change_feed.py): the processed survivors table keeps a Delta change
data feed, and the watermark (``_system/integrated/watermarks``) is the processed version the
last run read. A run reads the CCCDs the feed names since then (inserted, updated or deleted), looks up their
current survivors (a broadcast semi-join: one pass over processed) and merges those; a CCCD
the feed names that has no survivor any more is a deletion. Nothing is compared with the
whole table. When the feed cannot answer (no watermark, a range from before the feed was
on, a vacuumed range, a processed rebuild that touched most keys) every citizen is compared,
as ``--full-rebuild`` does.
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

from kho.lake import INTEGRATED_CITIZEN, PROCESSED_CITIZEN
from kho.privacy import pseudonym
from kho.settings import Settings
from kho.integrated.tables import CITIZEN
from spark_jobs.change_feed import changed_entity_keys, describe, record_read, snapshot
from spark_jobs.common import StepTimer, apply_properties, delta_exists, delta_version, job_main, read_delta
from spark_jobs.scd2 import merge_scd2

ATTRIBUTES = ("cccd", "full_name", "birth_date", "sex", "commune_code", "address")


def run(spark: SparkSession, settings: Settings, *, logical_date: date, full_rebuild: bool = False) -> dict[str, Any]:
    key = settings.pseudonym_key()

    @pandas_udf("string")
    def citizen_key(cccd: pd.Series) -> pd.Series:
        return cccd.map(lambda v: pseudonym(key, v))

    timer = StepTimer()
    path = INTEGRATED_CITIZEN.path(settings)
    target = str(INTEGRATED_CITIZEN)
    batch = f"citizen.{logical_date:%Y%m%d}"
    source = snapshot(spark, PROCESSED_CITIZEN, settings)
    if source is None:
        raise FileNotFoundError(f"{PROCESSED_CITIZEN} does not exist; process the residence register first")
    processed = source.read(spark)  # the version the feed is read up to
    exists = delta_exists(spark, path)
    touched = (None if full_rebuild or not exists
               else changed_entity_keys(spark, settings, target, [(source, F.col("cccd"))]))
    deleted = None
    if touched is None:  # compare every citizen; deletions: current here, gone from processed
        incoming = processed.select(citizen_key("cccd").alias("citizen_key"), *ATTRIBUTES)
        if exists:
            current = read_delta(spark, path).where("is_current AND NOT is_deleted").select("citizen_key", "cccd")
            deleted = current.join(processed.select("cccd"), "cccd", "left_anti").select("citizen_key")
    else:
        keys = spark.createDataFrame([(k,) for k in touched], "cccd string")
        incoming = (processed.join(F.broadcast(keys), "cccd", "left_semi")
                    .select(citizen_key("cccd").alias("citizen_key"), *ATTRIBUTES).localCheckpoint())
        deleted = keys.join(incoming.select("cccd"), "cccd", "left_anti").select(citizen_key("cccd").alias("citizen_key"))
    timer.lap("find_changes")
    counts = merge_scd2(spark, path, incoming, key="citizen_key", attributes=ATTRIBUTES,
                        as_of=datetime.now(timezone.utc).replace(tzinfo=None), batch=batch, deleted_keys=deleted)
    timer.lap("merge")
    if not exists or counts["inserted"] + counts["changed"] + counts["deleted"]:
        apply_properties(spark, path, CITIZEN.properties())
    record_read(spark, settings, target, [source], batch)
    timer.lap("properties_and_watermark")
    sizes = read_delta(spark, path).agg(F.count(F.lit(1)).alias("versions"), F.count(
        F.when(F.col("is_current") & ~F.col("is_deleted"), 1)).alias("active")).first()
    summary = {"batch_id": batch, "target": target, **counts, "compared": sum(counts.values()),
               "changes_from": describe(touched, [source]),
               "active": sizes["active"], "versions": sizes["versions"], "delta_version": delta_version(spark, path)}
    timer.lap("counts")
    return {**summary, "seconds": timer.seconds}


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full-rebuild", dest="full_rebuild", action="store_true")


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, "Merge processed residents into the integrated citizen history", _args, run)


if __name__ == "__main__":
    sys.exit(main())
