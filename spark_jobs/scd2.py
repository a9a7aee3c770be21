"""Slowly changing dimension type 2 on Delta: history of an entity's attributes, one MERGE per run.

Every integrated entity table keeps its whole history:

* ``valid_from`` / ``valid_to`` (timestamps, ``valid_to`` null while current), ``is_current``;
* ``is_deleted``: the entity vanished from its sources (a hard delete); the deletion is itself
  a version (current, deleted), so "what did we know on date X" stays answerable;
* ``attributes_hash``: what decides whether a new version is needed.

:func:`merge_scd2` takes the new state of the entities a run touched (not the whole table)
plus the keys that disappeared, closes the current version of every entity whose attributes
changed and inserts the new version, in a single MERGE (the staged-union pattern: each
changed entity appears once to close the old row and once, with a null merge key, to insert
the new one). Rerunning with the same input changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.common import delta_exists, write_merge_target

HISTORY_COLUMNS = ("attributes_hash", "valid_from", "valid_to", "is_current", "is_deleted", "_changed_batch")


def attributes_hash(columns: Sequence[str]):
    """sha256 over the attribute values (nulls and empty strings kept apart)."""
    return F.sha2(F.concat_ws("\u241f", *[F.coalesce(F.col(c).cast("string"), F.lit("\u2205")) for c in columns]), 256)


def merge_scd2(spark: SparkSession, path: str, incoming: DataFrame, *, key: str, attributes: Sequence[str],
               as_of: datetime, batch: str, deleted_keys: DataFrame | None = None) -> dict[str, int]:
    """Apply the new state of some entities (and the deletion of others) to the history at ``path``.

    ``incoming`` has ``key`` and every attribute, one row per entity; ``deleted_keys`` one
    column ``key``. Returns counts: inserted (new entities), changed, deleted, unchanged.
    """
    from delta.tables import DeltaTable

    ts = F.lit(as_of).cast("timestamp")
    state = incoming.select(key, *attributes).withColumn("is_deleted", F.lit(False))
    if deleted_keys is not None:
        gone = deleted_keys.select(key).distinct()
        for column in attributes:
            gone = gone.withColumn(column, F.lit(None).cast(incoming.schema[column].dataType))
        state = state.unionByName(gone.withColumn("is_deleted", F.lit(True)))
    state = state.withColumn("attributes_hash", F.when(F.col("is_deleted"), F.lit("deleted"))
                             .otherwise(attributes_hash(attributes)))
    new_rows = {key: f"s.{key}", **{c: f"s.{c}" for c in attributes}, "attributes_hash": "s.attributes_hash",
                "valid_from": "s.valid_from", "valid_to": "CAST(NULL AS TIMESTAMP)", "is_current": "true",
                "is_deleted": "s.is_deleted", "_changed_batch": "s._changed_batch"}
    state = state.withColumn("valid_from", ts).withColumn("_changed_batch", F.lit(batch))

    if not delta_exists(spark, path):
        first = state.where(~F.col("is_deleted")).select(
            key, *attributes, "attributes_hash", "valid_from", F.lit(None).cast("timestamp").alias("valid_to"),
            F.lit(True).alias("is_current"), "is_deleted", "_changed_batch")
        write_merge_target(first, path)
        n = spark.read.format("delta").load(path).count()
        return {"inserted": n, "changed": 0, "deleted": 0, "unchanged": 0}

    # The run's new states are few in an incremental run: computed once (their sources are
    # whole-table reads) and kept, so the comparison, the counts and the MERGE reuse them, and
    # the current versions are looked up for those keys only (a broadcast semi-join).
    state = state.localCheckpoint()
    target = DeltaTable.forPath(spark, path)
    current = (target.toDF().where("is_current").join(state.select(key), key, "left_semi")
               .select(key, F.col("attributes_hash").alias("_old_hash"), F.col("is_deleted").alias("_was_deleted")))
    old, new = F.col("_old_hash"), F.col("attributes_hash")
    kind = (F.when(old.isNull(), F.when(F.col("is_deleted"), "unchanged").otherwise("inserted"))
            .when(old == new, "unchanged")
            .when(F.col("is_deleted"), "deleted")   # a deletion of an entity never seen, or already deleted, is no change
            .otherwise("changed"))
    joined = state.join(current, key, "left").withColumn("_kind", kind).localCheckpoint()
    counts = {"inserted": 0, "changed": 0, "deleted": 0, "unchanged": 0}
    counts.update({r["_kind"]: r["count"] for r in joined.groupBy("_kind").count().collect()})
    if counts["inserted"] + counts["changed"] + counts["deleted"] == 0:
        return counts  # nothing to write: no empty commit
    changes = joined.where(F.col("_kind") != "unchanged")
    staged = (changes.withColumn("_merge_key", F.col(key))
              .unionByName(changes.where(F.col("_old_hash").isNotNull()).withColumn("_merge_key", F.lit(None)
                                                                                     .cast(incoming.schema[key].dataType))))
    (target.alias("t").merge(staged.alias("s"), f"t.{key} = s._merge_key AND t.is_current")
     .whenMatchedUpdate(condition="t.attributes_hash <> s.attributes_hash",
                        set={"is_current": "false", "valid_to": "s.valid_from"})
     .whenNotMatchedInsert(values=new_rows)
     .execute())
    return counts


def as_of_history(df: DataFrame, when: Any) -> DataFrame:
    """The version of every entity valid at ``when`` (deleted entities excluded)."""
    w = F.lit(when).cast("timestamp")
    return df.where((F.col("valid_from") <= w) & (F.col("valid_to").isNull() | (F.col("valid_to") > w))
                    & ~F.col("is_deleted"))
