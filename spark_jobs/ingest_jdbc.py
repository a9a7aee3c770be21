"""Source database -> raw zone, through Spark JDBC: one append-only batch per logical date.

Raw keeps the rows exactly as received plus the ingestion columns of ARCHITECTURE.md
(``_batch_id, _ingested_at, _source_system, _source_object, _record_hash``) and is
partitioned by ``_ingest_date``. A batch id already present is never written twice, so
rerunning a date adds nothing; a Delta commit is atomic, so a killed run leaves no half batch.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from kho.lake import TableRef
from kho.settings import Settings
from kho.sources.dbapi import jdbc_options
from spark_jobs.common import batch_id as make_batch_id
from spark_jobs.common import delta_exists, delta_version, job_main, read_delta, sql_literal

INGEST_COLUMNS = ("_batch_id", "_ingested_at", "_source_system", "_source_object", "_record_hash", "_ingest_date")


class ReconciliationError(RuntimeError):
    """Rows read from the source differ from rows written to raw."""


def read_source(spark: SparkSession, url: str, table: str, partition_column: str | None, partitions: int):
    options = jdbc_options(url) | {"dbtable": table, "fetchsize": "10000"}
    if partition_column and partitions > 1:
        bounds = (spark.read.format("jdbc").options(**jdbc_options(url))
                  .option("query", f"SELECT min({partition_column}) AS lo, max({partition_column}) AS hi FROM {table}")
                  .load().collect()[0])
        if bounds["lo"] is not None:
            options |= {"partitionColumn": partition_column, "lowerBound": str(int(bounds["lo"])),
                        "upperBound": str(int(bounds["hi"]) + 1), "numPartitions": str(partitions)}
    return spark.read.format("jdbc").options(**options).load()


def run(spark: SparkSession, settings: Settings, *, logical_date: date, system: str, table: str, target: str,
        partition_column: str | None = "id", partitions: int = 2) -> dict[str, Any]:
    ref = TableRef.parse(target)
    path = ref.path(settings)
    batch = make_batch_id(system, table, logical_date)
    if delta_exists(spark, path):
        already = read_delta(spark, path).where(F.col("_batch_id") == batch).count()
        if already:
            return {"batch_id": batch, "target": str(ref), "skipped": True, "rows_read": already,
                    "rows_written": already, "delta_version": delta_version(spark, path)}

    source = read_source(spark, settings.source_url(system), table, partition_column, partitions)
    source_columns = source.columns
    batch_df = (
        source.withColumn("_batch_id", F.lit(batch))
        .withColumn("_ingested_at", F.current_timestamp())
        .withColumn("_source_system", F.lit(system))
        .withColumn("_source_object", F.lit(table))
        .withColumn("_record_hash", F.sha2(F.to_json(F.struct(*[F.col(c) for c in source_columns])), 256))
        .withColumn("_ingest_date", F.lit(logical_date))
    ).persist()
    rows_read = batch_df.count()
    (batch_df.write.format("delta").mode("append").partitionBy("_ingest_date")
     .option("userMetadata", f"batch {batch}").save(path))
    batch_df.unpersist()
    rows_written = read_delta(spark, path).where(f"_batch_id = {sql_literal(batch)}").count()
    if rows_read != rows_written:
        raise ReconciliationError(f"{batch}: read {rows_read} rows from {system}.{table} but raw holds {rows_written}")
    return {"batch_id": batch, "target": str(ref), "skipped": False, "rows_read": rows_read,
            "rows_written": rows_written, "delta_version": delta_version(spark, path)}


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--system", required=True, help="source system name, e.g. population")
    parser.add_argument("--table", required=True, help="source table, e.g. cong_dan")
    parser.add_argument("--target", required=True, help="raw table as zone/domain/table")
    parser.add_argument("--partition-column", dest="partition_column", default="id")
    parser.add_argument("--partitions", type=int, default=2)


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, "Ingest one source table into the raw zone", _args, run)


if __name__ == "__main__":
    sys.exit(main())
