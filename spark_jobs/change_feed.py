"""What changed in a processed table since an integration job last read it.

The processed survivors tables keep the Delta change data feed (spark_jobs/common.py). An
integration job reads each input at a fixed version, and after it has merged, records that
version in ``_system/integrated/watermarks`` (one row per target and input table). The next
run asks the feed for the keys inserted, updated or deleted after that version, up to the
version it reads now, and merges those entities only.

The feed cannot always answer: no watermark yet, a range from before the feed was turned
on, a range VACUUM removed, a processed table dropped and created anew, or more changed keys
than a list on the driver should hold. Then :func:`changed_keys` says None, logs why, and
the job compares every entity, as a first run does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from kho.lake import TableRef, Zone
from kho.settings import Settings
from spark_jobs.common import delta_exists, read_delta

WATERMARKS = TableRef(Zone.SYSTEM, "integrated", "watermarks")

# Above this many changed keys a run compares every entity: one full pass is then cheaper
# than a key list this long, and the driver does not hold it.
MAX_CHANGED_KEYS = 250_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """One version of an input table: what a run reads, and what it records having read."""

    source: str            # the table, e.g. ``processed/population/citizen``
    path: str
    version: int
    committed: datetime    # commit time of that version

    def read(self, spark: SparkSession) -> DataFrame:
        """The table as of this version, so a commit landing meanwhile is left for the next run."""
        return spark.read.format("delta").option("versionAsOf", self.version).load(self.path)


def snapshot(spark: SparkSession, ref: TableRef, settings: Settings) -> Snapshot | None:
    """The input's newest version (None when the table does not exist yet)."""
    from delta.tables import DeltaTable

    path = ref.path(settings)
    if not delta_exists(spark, path):
        return None
    last = DeltaTable.forPath(spark, path).history(1).select("version", "timestamp").first()
    return Snapshot(str(ref), path, int(last["version"]), last["timestamp"])


def last_read(spark: SparkSession, settings: Settings, target: str, source: str) -> int | None:
    """The version of ``source`` the last run of ``target`` merged (None: no such run recorded).

    Rows written before the watermark named its input (the citizen job, one input) have no
    ``source``; they count for any input of their target.
    """
    path = WATERMARKS.path(settings)
    if not delta_exists(spark, path):
        return None
    table = read_delta(spark, path)
    if "processed_version" not in table.columns:
        return None
    rows = table.where(F.col("target") == target)
    if "source" in table.columns:
        rows = rows.where(F.col("source").isNull() | (F.col("source") == source))
    row = rows.orderBy(F.col("recorded_at").desc()).select("processed_version").first()
    return None if row is None or row[0] is None else int(row[0])


def record_read(spark: SparkSession, settings: Settings, target: str, snapshots: list[Snapshot], batch: str) -> None:
    """Record that ``target`` has merged these input versions (one commit for all inputs)."""
    if not snapshots:
        return
    now = datetime.now(timezone.utc)
    rows = [(target, s.committed, batch, now, s.version, s.source) for s in snapshots]
    df = spark.createDataFrame(rows, "target string, processed_up_to timestamp, batch string, recorded_at timestamp, "
                                     "processed_version long, source string")
    df.write.format("delta").mode("append").option("mergeSchema", "true").save(WATERMARKS.path(settings))


def changed_keys(spark: SparkSession, snap: Snapshot, since: int | None, key: Column) -> list[str] | None:
    """Values of ``key`` (an expression over the table's columns) on every row the feed shows
    inserted, updated (before and after) or deleted after version ``since`` up to the
    snapshot; None when the feed cannot say (see the module docstring)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    if since is None:
        return None
    if snap.version == since:
        return []
    if snap.version < since:  # dropped and created anew: its versions say nothing about ours
        log.warning("%s is at version %d, before the %d last merged; comparing every entity",
                    snap.source, snap.version, since)
        return None
    try:
        feed = (spark.read.format("delta").option("readChangeFeed", "true")
                .option("startingVersion", since + 1).option("endingVersion", snap.version).load(snap.path))
        rows = feed.select(key.alias("_key")).distinct().limit(MAX_CHANGED_KEYS + 1).collect()
    except (PySparkException, Py4JJavaError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("the change data feed of %s (versions %d-%d) cannot be read (%s); comparing every entity. "
                    "If the table predates the feed, turn it on: ALTER TABLE delta.`%s` SET TBLPROPERTIES "
                    "(delta.enableChangeDataFeed = true)", snap.source, since + 1, snap.version, first, snap.path)
        return None
    keys = [r[0] for r in rows]
    if len(keys) > MAX_CHANGED_KEYS or any(k is None for k in keys):
        return None
    return keys


def changed_entity_keys(spark: SparkSession, settings: Settings, target: str,
                        inputs: list[tuple[Snapshot, Column]]) -> list[str] | None:
    """The entity keys any of ``inputs`` (a snapshot and the expression of the entity key over
    its rows) changed since ``target`` last merged it; None as soon as one input cannot say."""
    keys: set[str] = set()
    for snap, key in inputs:
        changed = changed_keys(spark, snap, last_read(spark, settings, target, snap.source), key)
        if changed is None:
            return None
        keys.update(changed)
    return sorted(keys)


def describe(keys: list[str] | None, snapshots: list[Snapshot]) -> str:
    """For summaries and run logs: where a run's changes came from."""
    if keys is None:
        return "all entities compared"
    return "change data feed of " + ", ".join(f"{s.source} up to version {s.version}" for s in snapshots)
