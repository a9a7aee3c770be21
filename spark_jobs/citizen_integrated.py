"""Processed residents -> the integrated citizen entity (công dân), with its history (SCD2).

Master key: ``citizen_key``, the keyed pseudonym (HMAC) of the CCCD, which every downstream
mart joins on; the clear CCCD stays in this zone (tagged PII in kho/integrated/tables.py).
One MERGE per run (spark_jobs/scd2.py): a citizen whose attributes changed gets a new
version, one who left the residence register a deleted version, unchanged ones nothing.

Incremental: the processed survivors table keeps a Delta change data feed, and the
watermark (``_system/integrated/watermarks``) is the processed version the last run read. A
run reads the CCCDs the feed names since then (inserted, updated or deleted), looks up their
current survivors (a broadcast semi-join: one pass over processed) and merges those; a CCCD
the feed names that has no survivor any more is a deletion. Nothing is compared with the
whole table. When the feed cannot answer (no watermark, a range from before the feed was
on, a vacuumed range, a processed rebuild that touched most keys) every citizen is compared,
as ``--full-rebuild`` does.
"""

from __future__ import annotations

import argparse
import logging
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

log = logging.getLogger(__name__)


# Above this many changed CCCDs a run compares every citizen: one full pass is then cheaper
# than a key list this long, and the driver does not hold it.
MAX_CHANGED_KEYS = 250_000


def _watermark(spark: SparkSession, settings: Settings, target: str) -> int | None:
    """The processed version the last run of ``target`` read (None: no run, or one from before versions were kept)."""
    path = WATERMARKS.path(settings)
    if not delta_exists(spark, path):
        return None
    table = read_delta(spark, path)
    if "processed_version" not in table.columns:
        return None
    row = (table.where(F.col("target") == target).orderBy(F.col("recorded_at").desc())
           .select("processed_version").first())
    return None if row is None or row[0] is None else int(row[0])


def _set_watermark(spark: SparkSession, settings: Settings, target: str, version: int, committed: datetime,
                   batch: str) -> None:
    df = spark.createDataFrame([(target, committed, batch, datetime.now(timezone.utc), version)],
                               "target string, processed_up_to timestamp, batch string, recorded_at timestamp, "
                               "processed_version long")
    df.write.format("delta").mode("append").option("mergeSchema", "true").save(WATERMARKS.path(settings))


def _changed_cccds(spark: SparkSession, path: str, since: int, until: int) -> list[str] | None:
    """CCCDs whose survivor was inserted, updated or deleted in processed after version ``since``
    up to ``until``, from the change data feed; None when the feed cannot say."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    if until == since:
        return []
    if until < since:  # processed was dropped and created anew: its versions say nothing about ours
        return None
    try:
        feed = (spark.read.format("delta").option("readChangeFeed", "true")
                .option("startingVersion", since + 1).option("endingVersion", until).load(path))
        rows = feed.select("cccd").distinct().limit(MAX_CHANGED_KEYS + 1).collect()
    except (PySparkException, Py4JJavaError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("the change data feed of %s (versions %d-%d) cannot be read (%s); comparing every citizen. "
                    "If the table predates the feed, turn it on: ALTER TABLE delta.`%s` SET TBLPROPERTIES "
                    "(delta.enableChangeDataFeed = true)", path, since + 1, until, first, path)
        return None
    keys = [r[0] for r in rows]
    if len(keys) > MAX_CHANGED_KEYS or any(k is None for k in keys):
        return None
    return keys


def run(spark: SparkSession, settings: Settings, *, logical_date: date, full_rebuild: bool = False) -> dict[str, Any]:
    key = settings.pseudonym_key()

    @pandas_udf("string")
    def citizen_key(cccd: pd.Series) -> pd.Series:
        return cccd.map(lambda v: pseudonym(key, v))

    from delta.tables import DeltaTable

    timer = StepTimer()
    path = INTEGRATED_CITIZEN.path(settings)
    processed_path = PROCESSED_CITIZEN.path(settings)
    target = str(INTEGRATED_CITIZEN)
    batch = f"citizen.{logical_date:%Y%m%d}"
    last = DeltaTable.forPath(spark, processed_path).history(1).select("version", "timestamp").first()
    version, committed = int(last["version"]), last["timestamp"]
    # read the version the feed was read up to, so a concurrent processed run cannot slip in between
    processed = spark.read.format("delta").option("versionAsOf", version).load(processed_path)
    exists = delta_exists(spark, path)
    mark = None if full_rebuild or not exists else _watermark(spark, settings, target)
    touched = None if mark is None else _changed_cccds(spark, processed_path, mark, version)
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
    _set_watermark(spark, settings, target, version, committed, batch)
    timer.lap("properties_and_watermark")
    sizes = read_delta(spark, path).agg(F.count(F.lit(1)).alias("versions"), F.count(
        F.when(F.col("is_current") & ~F.col("is_deleted"), 1)).alias("active")).first()
    summary = {"batch_id": batch, "target": target, **counts, "compared": sum(counts.values()),
               "changes_from": "all citizens" if touched is None else f"change data feed since version {mark}",
               "active": sizes["active"], "versions": sizes["versions"], "delta_version": delta_version(spark, path)}
    timer.lap("counts")
    return {**summary, "seconds": timer.seconds}


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full-rebuild", dest="full_rebuild", action="store_true")


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, "Merge processed residents into the integrated citizen history", _args, run)


if __name__ == "__main__":
    sys.exit(main())
