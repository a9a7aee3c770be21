"""The row-at-a-time reference implementation of the population cleaning (no longer the pipeline's job).

The pipeline runs ``spark_jobs/processed.py`` with the vectorised rule of
``kho/processed/population.py`` (kho.standardise), which the unit tests prove equal to
``clean_record`` here row for row. This module stays as that executable specification.

Raw population batch -> processed citizen table, with quarantine and de-duplication.

Every raw row of the batch ends in exactly one place: the processed table, the quarantine
(with a reason code) or the duplicates log (with its surviving record). The job checks
``raw = processed + quarantine + duplicates`` before it returns, and fails otherwise.

The cleaning rules live in ``kho.cleaning`` (plain Python, unit-tested); Spark applies them
batch-wise with ``mapInPandas`` and does the de-duplication with a window.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from typing import Any, Iterator

import pandas as pd
from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from kho import cleaning
from kho.lake import PROCESSED_CITIZEN, QUARANTINE_CITIZEN, RAW_CITIZEN, TableRef, Zone
from kho.settings import Settings
from spark_jobs.common import current_snapshot, batch_id as make_batch_id
from spark_jobs.common import delta_exists, delta_version, job_main, read_delta, sql_literal

DUPLICATES = TableRef(Zone.PROCESSED, "population", "citizen_duplicates")

# Source column (Vietnamese, as the residence system names it) -> processed column.
SOURCE_COLUMNS = {"id": "record_id", "so_dinh_danh": "cccd", "ho_ten": "full_name", "ngay_sinh": "birth_date",
                  "gioi_tinh": "sex", "ma_dvhc": "commune_code", "dia_chi": "address", "ngay_cap_nhat": "updated_at"}

CLEAN_SCHEMA = T.StructType([
    T.StructField("record_id", T.LongType()),
    T.StructField("cccd", T.StringType()),
    T.StructField("full_name", T.StringType()),
    T.StructField("birth_date", T.DateType()),
    T.StructField("sex", T.StringType()),
    T.StructField("commune_code", T.StringType()),
    T.StructField("address", T.StringType()),
    T.StructField("updated_at", T.TimestampType()),
    T.StructField("name_has_diacritics", T.BooleanType()),
    T.StructField("commune_code_source", T.StringType()),
    T.StructField("_batch_id", T.StringType()),
    T.StructField("_record_hash", T.StringType()),
    T.StructField("_reject_reason", T.StringType()),
    T.StructField("_reject_detail", T.StringType()),
    T.StructField("_raw", T.StringType()),
])


def clean_record(rec: dict[str, Any], as_of: date) -> dict[str, Any]:
    """Apply the cleaning rules to one raw record (source column names) -> processed record."""
    out: dict[str, Any] = {"record_id": int(rec["id"]), "_batch_id": rec["_batch_id"],
                           "_record_hash": rec["_record_hash"], "_reject_reason": None, "_reject_detail": None}
    name = cleaning.standardize_name(rec.get("ho_ten"))
    birth = cleaning.parse_date(rec.get("ngay_sinh"))
    sex = cleaning.normalize_sex(rec.get("gioi_tinh"))
    cccd = (str(rec["so_dinh_danh"]).strip() or None) if rec.get("so_dinh_danh") is not None else None
    unit = cleaning.resolve_admin_unit(rec.get("ma_dvhc"))
    out.update(cccd=cccd, full_name=name, birth_date=birth, sex=sex, commune_code=unit.code,
               address=cleaning.nfc(rec.get("dia_chi")), name_has_diacritics=cleaning.has_diacritics(name),
               commune_code_source=unit.how if unit.code else None,
               updated_at=_timestamp(rec.get("ngay_cap_nhat")))

    def reject(code: str, detail: str) -> dict[str, Any]:
        out["_reject_reason"], out["_reject_detail"] = code, detail
        return out

    if birth is None or not (cleaning.MIN_BIRTH_DATE <= birth <= as_of):
        return reject("BIRTH_DATE_INVALID", f"birth date {rec.get('ngay_sinh')!r} is not a valid date up to {as_of}")
    if sex is None:
        return reject("SEX_INVALID", f"sex {rec.get('gioi_tinh')!r} is not Nam/Nữ")
    problem = cleaning.check_cccd(cccd, birth, sex)
    if problem:
        return reject(problem, f"{cleaning.REASONS[problem]}: {rec.get('so_dinh_danh')!r}")
    if not name:
        return reject("NAME_MISSING", cleaning.REASONS["NAME_MISSING"])
    if unit.code is None:
        return reject(unit.how, f"{cleaning.REASONS[unit.how]}: {rec.get('ma_dvhc')!r}")
    return out


def _timestamp(text: Any) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(str(text).strip())
    except ValueError:
        return None


def _clean_partitions(as_of: date, source_columns: list[str]):
    def clean(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in batches:
            rows = []
            for rec in pdf.to_dict("records"):
                rec = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in rec.items()}
                cleaned = clean_record(rec, as_of)
                cleaned["_raw"] = json.dumps({c: rec.get(c) for c in source_columns}, ensure_ascii=False, default=str)
                rows.append(cleaned)
            yield pd.DataFrame(rows, columns=CLEAN_SCHEMA.fieldNames())
    return clean


def run(spark: SparkSession, settings: Settings, *, logical_date: date, batch: str | None = None) -> dict[str, Any]:
    batch = batch or make_batch_id("population", "citizen", logical_date)
    raw_path, out_path = RAW_CITIZEN.path(settings), PROCESSED_CITIZEN.path(settings)
    q_path, dup_path = QUARANTINE_CITIZEN.path(settings), DUPLICATES.path(settings)
    # Raw is an event log (snapshot diff: upserts and tombstones); processed is rebuilt from the
    # register's current state as of this run, labelled with this run's batch id.
    raw = current_snapshot(read_delta(spark, raw_path), ["id"]).withColumn("_batch_id", F.lit(batch))
    source_columns = [c for c in raw.columns if not c.startswith("_")]
    missing = set(SOURCE_COLUMNS) - set(source_columns)
    if missing:
        raise ValueError(f"raw batch {batch} lacks source columns {sorted(missing)}: the source schema changed")

    cleaned = raw.mapInPandas(_clean_partitions(logical_date, source_columns), CLEAN_SCHEMA).persist()
    raw_rows = cleaned.count()
    if raw_rows == 0:
        raise ValueError(f"raw batch {batch} is empty or missing in {RAW_CITIZEN}; ingest it first")

    now = F.current_timestamp()
    rejected = cleaned.where(F.col("_reject_reason").isNotNull()).select(
        "_batch_id", F.lit("population").alias("_source_system"), F.lit("cong_dan").alias("_source_object"),
        "record_id", F.col("_reject_reason").alias("reason_code"),
        F.create_map([F.lit(x) for kv in cleaning.REASONS.items() for x in kv])[F.col("_reject_reason")].alias("reason"),
        F.col("_reject_detail").alias("detail"), F.col("_raw").alias("raw_record"), now.alias("_quarantined_at"))

    valid = cleaned.where(F.col("_reject_reason").isNull())
    completeness = sum(F.when(F.col(c).isNotNull(), 1).otherwise(0) for c in ("full_name", "address", "updated_at"))
    survivorship = Window.partitionBy("cccd").orderBy(
        F.col("updated_at").desc_nulls_last(), completeness.desc(), F.col("name_has_diacritics").desc(),
        F.col("record_id").desc())
    content = F.sha2(F.concat_ws("\u241f", *[F.coalesce(F.col(c).cast("string"), F.lit("\u2205"))
                                           for c in ("cccd", "full_name", "birth_date", "sex", "commune_code", "address", "updated_at")]), 256)
    ranked = (valid.withColumn("_content_hash", content)
              .withColumn("_rank", F.row_number().over(survivorship))
              .withColumn("_survivor_record_id", F.first("record_id").over(survivorship))
              .withColumn("_survivor_hash", F.first("_content_hash").over(survivorship))).persist()
    processed = ranked.where("_rank = 1").select(
        "cccd", "full_name", "birth_date", "sex", "commune_code", "address", "updated_at", "name_has_diacritics",
        "commune_code_source", "record_id", "_batch_id", "_record_hash", now.alias("_processed_at"))
    duplicates = ranked.where("_rank > 1").select(
        "_batch_id", "cccd", "record_id", F.col("_survivor_record_id").alias("survivor_record_id"),
        F.when(F.col("_content_hash") == F.col("_survivor_hash"), "exact").otherwise("near").alias("kind"),
        now.alias("_recorded_at"))

    previous_version = delta_version(spark, out_path)
    replace = f"_batch_id = {sql_literal(batch)}"
    for df, path in ((rejected, q_path), (duplicates, dup_path)):
        writer = df.write.format("delta")
        if delta_exists(spark, path):
            writer.mode("overwrite").option("replaceWhere", replace).save(path)   # rerun replaces this batch only
        else:
            writer.mode("overwrite").save(path)
    (processed.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
     .option("userMetadata", f"batch {batch}").save(out_path))

    counts = {
        "processed": read_delta(spark, out_path).where(F.col("_batch_id") == batch).count(),
        "quarantined": read_delta(spark, q_path).where(F.col("_batch_id") == batch).count(),
        "duplicates": read_delta(spark, dup_path).where(F.col("_batch_id") == batch).count(),
    }
    by_reason = {r["reason_code"]: r["n"] for r in read_delta(spark, q_path).where(F.col("_batch_id") == batch)
                 .groupBy("reason_code").agg(F.count("*").alias("n")).collect()}
    dup_kinds = {r["kind"]: r["n"] for r in read_delta(spark, dup_path).where(F.col("_batch_id") == batch)
                 .groupBy("kind").agg(F.count("*").alias("n")).collect()}
    cleaned.unpersist()
    ranked.unpersist()
    summary = {"batch_id": batch, "target": str(PROCESSED_CITIZEN), "raw_rows": raw_rows, **counts,
               "quarantine_by_reason": dict(sorted(by_reason.items())), "duplicates_by_kind": dup_kinds,
               "previous_version": previous_version, "delta_version": delta_version(spark, out_path)}
    accounted = counts["processed"] + counts["quarantined"] + counts["duplicates"]
    if accounted != raw_rows:
        raise RuntimeError(f"reconciliation failed for {batch}: raw {raw_rows} != processed {counts['processed']} "
                           f"+ quarantine {counts['quarantined']} + duplicates {counts['duplicates']}")
    return summary


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", default=None, help="raw batch id (default: the logical date's batch)")


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, "Clean a raw population batch into the processed zone", _args, run)


if __name__ == "__main__":
    sys.exit(main())
