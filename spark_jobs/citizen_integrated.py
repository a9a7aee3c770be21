"""Processed citizens -> integrated citizen entity (công dân), keyed by CCCD, via Delta MERGE.

One row per citizen with a keyed pseudonym (``citizen_key``) that marts use instead of
the CCCD. MERGE keeps the entity current: new citizens are inserted, changed ones
updated, and citizens no longer in the residence registry marked inactive (never deleted).
Full history (SCD2) is a later step; ``first_seen_batch``/``last_changed_batch`` already tell when.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from kho.lake import INTEGRATED_CITIZEN, PROCESSED_CITIZEN
from kho.privacy import pseudonym
from kho.settings import Settings
from spark_jobs.common import delta_exists, delta_version, job_main, read_delta

ATTRIBUTES = ("full_name", "birth_date", "sex", "commune_code", "address")


def run(spark: SparkSession, settings: Settings, *, logical_date: date) -> dict[str, Any]:
    from delta.tables import DeltaTable

    key = settings.pseudonym_key()

    @pandas_udf("string")
    def citizen_key(cccd: pd.Series) -> pd.Series:
        return cccd.map(lambda v: pseudonym(key, v))

    source = read_delta(spark, PROCESSED_CITIZEN.path(settings))
    batch = source.select(F.max("_batch_id")).first()[0]
    now = F.current_timestamp()
    incoming = source.select(
        citizen_key("cccd").alias("citizen_key"), "cccd", *ATTRIBUTES,
        F.sha2(F.concat_ws("\u241f", *[F.coalesce(F.col(c).cast("string"), F.lit("\u2205")) for c in ATTRIBUTES]), 256)
        .alias("attributes_hash"),
        F.lit("population").alias("source_system"), F.col("_batch_id").alias("last_changed_batch"),
    )
    path = INTEGRATED_CITIZEN.path(settings)
    if not delta_exists(spark, path):
        (incoming.withColumn("first_seen_batch", F.col("last_changed_batch")).withColumn("is_active", F.lit(True))
         .withColumn("_updated_at", now)
         .write.format("delta").mode("overwrite").option("userMetadata", f"batch {batch}").save(path))
        metrics = {"inserted": spark.read.format("delta").load(path).count(), "updated": 0, "deactivated": 0}
    else:
        target = DeltaTable.forPath(spark, path)
        (target.alias("t").merge(incoming.alias("s"), "t.cccd = s.cccd")
         .whenMatchedUpdate(
             condition="t.attributes_hash <> s.attributes_hash OR NOT t.is_active",
             set={**{c: f"s.{c}" for c in ATTRIBUTES}, "attributes_hash": "s.attributes_hash",
                  "last_changed_batch": "s.last_changed_batch", "is_active": "true", "_updated_at": "current_timestamp()"})
         .whenNotMatchedInsert(values={
             "citizen_key": "s.citizen_key", "cccd": "s.cccd", **{c: f"s.{c}" for c in ATTRIBUTES},
             "attributes_hash": "s.attributes_hash", "source_system": "s.source_system",
             "last_changed_batch": "s.last_changed_batch", "first_seen_batch": "s.last_changed_batch",
             "is_active": "true", "_updated_at": "current_timestamp()"})
         .whenNotMatchedBySourceUpdate(condition="t.is_active",
                                       set={"is_active": "false", "last_changed_batch": f"'{batch}'",
                                            "_updated_at": "current_timestamp()"})
         .execute())
        op = target.history(1).collect()[0]["operationMetrics"]
        metrics = {"inserted": int(op.get("numTargetRowsInserted", 0)),
                   "updated": int(op.get("numTargetRowsMatchedUpdated", 0)),
                   "deactivated": int(op.get("numTargetRowsNotMatchedBySourceUpdated", 0))}
    table = read_delta(spark, path)
    return {"batch_id": batch, "target": str(INTEGRATED_CITIZEN), **metrics,
            "active": table.where("is_active").count(), "total": table.count(),
            "delta_version": delta_version(spark, path)}


def _args(parser: argparse.ArgumentParser) -> None:
    pass


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, "Merge processed citizens into the integrated citizen entity", _args, run)


if __name__ == "__main__":
    sys.exit(main())
