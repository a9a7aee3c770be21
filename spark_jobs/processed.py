"""Raw -> processed for any declared table (kho/processed/<domain>.py), incrementally.

For one :class:`~kho.processed.base.ProcessedTable` a run:

1. reads only the raw batches it has not processed yet (a batch-id watermark in
   ``_system/processed/batches``; ``--full-rebuild`` forgets it and rebuilds from all of raw);
2. cleans the new rows with the table's Arrow rule inside ``mapInArrow``;
3. writes rejected rows to ``quarantine/<domain>/<name>`` (reason code, human reason, detail,
   raw batch id, the raw record as JSON), replacing any earlier attempt of the same batches;
4. applies the newest event of each source record to ``<name>_records`` with one MERGE:
   a valid version is upserted; a tombstone of the current version, or a rejected newer
   version, removes the record (the source's current state is unusable or gone);
5. re-ranks only the business keys those records belong to (latest source timestamp, then
   completeness, then record id) and MERGEs the survivors into ``processed/<domain>/<name>``
   and the others into ``<name>_duplicates`` (with the survivor they lost to);
6. checks reconciliation (new rows = quarantined + valid; records = processed + duplicates)
   and only then records the batches as processed.

Every step is idempotent, so a run that dies anywhere is completed by the next one, and the
incremental result equals a full rebuild (tests compare them row for row).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timezone
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from kho.lake import TableRef, Zone
from kho.processed.base import ProcessedTable
from kho.settings import Settings
from spark_jobs.common import (StepTimer, delta_exists, delta_version, job_main, read_delta, sql_literal,
                                write_merge_target)

BATCHES = TableRef(Zone.SYSTEM, "processed", "batches")
_KEY_SEP = "\u241f"


class ReconciliationError(RuntimeError):
    """Rows were lost or invented between raw and processed; nothing is marked processed."""


def find_table(name: str) -> ProcessedTable:
    """``<domain>.<table>`` -> its declaration in ``kho.processed.<domain>``."""
    from kho.processed.catalog import find

    return find(name)


def _reasons() -> dict[str, str]:
    from kho.standardise.reasons import REASONS

    return dict(REASONS)


# -- watermark -------------------------------------------------------------------------------

def processed_batches(spark: SparkSession, settings: Settings, table: ProcessedTable) -> set[str]:
    path = BATCHES.path(settings)
    if not delta_exists(spark, path):
        return set()
    rows = read_delta(spark, path).where(F.col("processed_table") == str(table.ref)).select("raw_batch_id").collect()
    return {r[0] for r in rows}


def _mark_processed(spark: SparkSession, settings: Settings, table: ProcessedTable, batches: list[str],
                    run_batch: str, full_rebuild: bool) -> None:
    now = datetime.now(timezone.utc)
    rows = [(str(table.ref), b, run_batch, now) for b in batches]
    df = spark.createDataFrame(rows, "processed_table string, raw_batch_id string, run_batch string, "
                                     "processed_at timestamp")
    writer = df.write.format("delta")
    path = BATCHES.path(settings)
    if full_rebuild and delta_exists(spark, path):
        writer.mode("overwrite").option("replaceWhere", f"processed_table = '{table.ref}'").save(path)
    else:
        writer.mode("append").save(path)


# -- cleaning --------------------------------------------------------------------------------

def _business_key(spec: ProcessedTable) -> tuple[str, ...]:
    """A table without a business key de-duplicates nothing: each source record is its own key."""
    return spec.business_key or ("record_id",)


def _key_expr(columns: tuple[str, ...]):
    return F.concat_ws(_KEY_SEP, *[F.coalesce(F.col(c).cast("string"), F.lit("\u2205")) for c in columns])


def _clean_schema(table: ProcessedTable) -> pa.Schema:
    extra = [("record_id", pa.string()), ("_reject_reason", pa.string()), ("_reject_detail", pa.string()),
             ("_completeness", pa.int32()), ("_batch_id", pa.string()), ("_record_hash", pa.string()),
             ("_ingested_at", pa.timestamp("us", tz="UTC")), ("_raw", pa.string())]
    return pa.schema(list(table.schema) + extra)


def _cleaner(table: ProcessedTable, as_of: date, source_columns: list[str]):
    """The mapInArrow function: the table's rule plus the columns the job carries itself."""
    schema = _clean_schema(table)

    def clean(batches):
        import pyarrow.compute as pc

        for batch in batches:
            raw = pa.Table.from_batches([batch])
            # a record is judged as of the day it was ingested (not the run's date), so a
            # full rebuild judges every batch exactly as the incremental run did
            days = pc.unique(raw["_ingest_date"]).to_pylist() if "_ingest_date" in raw.column_names else [as_of]
            if len(days) > 1:
                for day in sorted(d for d in days if d is not None):
                    yield from clean([b for b in raw.filter(pc.equal(raw["_ingest_date"], day)).to_batches()])
                continue
            day = days[0] or as_of
            out = table.clean(raw, day)
            if out.num_rows != raw.num_rows:
                raise ReconciliationError(f"{table.ref}: the cleaning rule returned {out.num_rows} rows "
                                          f"for {raw.num_rows}; a rule must keep every row")
            rejected = pc.is_valid(out["_reject_reason"])
            raw_json = pa.nulls(raw.num_rows, pa.string())
            if pc.any(rejected).as_py():
                rows = raw.select(source_columns).filter(rejected).to_pylist()
                texts = iter(json.dumps(r, ensure_ascii=False, default=str) for r in rows)
                raw_json = pa.array([next(texts) if flag else None for flag in rejected.to_pylist()], pa.string())
            columns = {f.name: out[f.name] if f.name in out.column_names else pa.nulls(out.num_rows, f.type)
                       for f in table.schema}
            columns |= {"record_id": raw["_kho_record_id"], "_reject_reason": out["_reject_reason"],
                        "_reject_detail": out["_reject_detail"], "_completeness": out["_completeness"],
                        "_batch_id": raw["_batch_id"], "_record_hash": raw["_record_hash"],
                        "_ingested_at": raw["_ingested_at"], "_raw": raw_json}
            result = pa.table(columns)
            yield from result.cast(schema, safe=False).to_batches()

    return clean


# -- the run ---------------------------------------------------------------------------------

def run(spark: SparkSession, settings: Settings, *, logical_date: date, table: str | ProcessedTable,
        full_rebuild: bool = False) -> dict[str, Any]:
    from delta.tables import DeltaTable

    spec = find_table(table) if isinstance(table, str) else table
    run_batch = f"{spec.domain}.{spec.name}.{logical_date:%Y%m%d}"
    raw_path = spec.raw.path(settings)
    summary: dict[str, Any] = {"table": str(spec.ref), "run_batch": run_batch, "full_rebuild": full_rebuild}
    if not delta_exists(spark, raw_path):
        raise FileNotFoundError(f"{spec.raw} does not exist; ingest it first (kho ingest {spec.raw.domain})")
    timer = StepTimer()
    summary["seconds"] = timer.seconds
    raw = read_delta(spark, raw_path)
    paths = {name: ref.path(settings) for name, ref in (("processed", spec.ref), ("records", spec.records),
                                                          ("duplicates", spec.duplicates),
                                                          ("quarantine", spec.quarantine),
                                                          ("collapsed", spec.collapsed))}
    seen = set() if full_rebuild else processed_batches(spark, settings, spec)
    all_batches = sorted(r[0] for r in raw.select("_batch_id").distinct().collect())
    new_batches = [b for b in all_batches if b not in seen]
    summary["raw_batches"] = new_batches
    summary["previous_version"] = delta_version(spark, paths["processed"]) if not full_rebuild else None
    timer.lap("find_new_batches")
    if not new_batches:
        summary.update(rows_read=0, quarantined=0, valid=0, skipped="no new raw batches")
        return summary

    events = raw.where(F.col("_batch_id").isin(new_batches)).withColumn("_kho_record_id", _key_expr(spec.record_key))
    if "_op" not in events.columns:
        events = events.withColumn("_op", F.lit("U"))
    source_columns = [c for c in raw.columns if not c.startswith("_")]
    upserts = events.where(F.col("_op") == "U")
    tombstones = events.where(F.col("_op") == "D")
    from pyspark.sql.pandas.types import from_arrow_schema

    spark_schema = from_arrow_schema(_clean_schema(spec), prefer_timestamp_ntz=True)
    cleaned = upserts.mapInArrow(_cleaner(spec, logical_date, source_columns), spark_schema).persist()
    rows_read = cleaned.count()
    summary["tombstones"] = tombstones.count()
    timer.lap("clean")

    # 3. quarantine (replacing an earlier attempt of the same raw batches)
    reasons = _reasons()
    reason_map = F.create_map([F.lit(x) for kv in reasons.items() for x in kv])
    rejected = cleaned.where(F.col("_reject_reason").isNotNull()).select(
        "_batch_id", F.lit(spec.raw.domain).alias("_source_system"), F.lit(spec.raw.name).alias("_source_object"),
        "record_id", F.col("_reject_reason").alias("reason_code"),
        F.coalesce(reason_map[F.col("_reject_reason")], F.col("_reject_reason")).alias("reason"),
        F.col("_reject_detail").alias("detail"), F.col("_raw").alias("raw_record"),
        F.current_timestamp().alias("_quarantined_at"))
    _replace_batches(rejected, paths["quarantine"], new_batches, spark, overwrite_all=full_rebuild)

    # exact copies of one source record in one batch (a row typed twice, a file without row
    # numbers) become one record; they are logged, not lost silently
    copies = (cleaned.where(F.col("_reject_reason").isNull()).groupBy("_batch_id", "record_id", "_record_hash")
              .count().where("count > 1")
              .select("_batch_id", "record_id", "_record_hash", (F.col("count") - 1).alias("extra_copies"),
                      F.current_timestamp().alias("_recorded_at")))
    _replace_batches(copies, paths["collapsed"], new_batches, spark, overwrite_all=full_rebuild)
    timer.lap("quarantine")

    # 4. the newest event per record -> records
    valid_cols = [f.name for f in spec.schema] + ["record_id", "_completeness", "_batch_id", "_record_hash",
                                                  "_ingested_at"]
    versions = cleaned.select(*valid_cols, F.col("_reject_reason").isNotNull().alias("_rejected"),
                              F.lit("U").alias("_op"))
    gone = tombstones.select(F.col("_kho_record_id").alias("record_id"), "_batch_id", "_record_hash", "_ingested_at",
                             F.lit(False).alias("_rejected"), F.lit("D").alias("_op"))
    for f in spec.schema:
        gone = gone.withColumn(f.name, F.lit(None))
    gone = gone.withColumn("_completeness", F.lit(None).cast("int"))
    newest_first = Window.partitionBy("record_id").orderBy(
        F.col("_ingested_at").desc(), F.col("_batch_id").desc(), F.col("_op").desc(),   # 'U' after 'D' of a batch
        F.col("_rejected").asc(), F.col("_record_hash").desc())
    latest = (versions.unionByName(gone.select(*versions.columns))
              .withColumn("_n", F.row_number().over(newest_first)).where("_n = 1").drop("_n")).persist()
    upsert_rows = latest.where("_op = 'U' AND NOT _rejected").drop("_op", "_rejected")
    if full_rebuild or not delta_exists(spark, paths["records"]):
        write_merge_target(upsert_rows, paths["records"])
    else:
        target = DeltaTable.forPath(spark, paths["records"])
        (target.alias("t").merge(latest.alias("s"), "t.record_id = s.record_id")
         .whenMatchedDelete(condition="s._op = 'D' AND t._record_hash = s._record_hash")
         .whenMatchedDelete(condition="s._op = 'U' AND s._rejected")
         .whenMatchedUpdate(condition="s._op = 'U' AND NOT s._rejected",
                            set={c: f"s.{c}" for c in upsert_rows.columns})
         .whenNotMatchedInsert(condition="s._op = 'U' AND NOT s._rejected",
                               values={c: f"s.{c}" for c in upsert_rows.columns})
         .execute())
    timer.lap("records")

    # 5. survivorship for the business keys the changed records belong to
    bk = _business_key(spec)
    records = read_delta(spark, paths["records"]).withColumn("_bk", _key_expr(bk))
    survivorship_keys(spark, spec, records, latest, paths, full_rebuild=full_rebuild,
                      changed_records=rows_read + summary["tombstones"], timer=timer)

    # 6. reconciliation, then the watermark
    by_reason = {r["_reject_reason"]: r["count"]
                 for r in cleaned.groupBy("_reject_reason").count().collect() if r["_reject_reason"] is not None}
    quarantined = sum(by_reason.values())
    n_records = read_delta(spark, paths["records"]).count()
    n_processed = read_delta(spark, paths["processed"]).count()
    n_duplicates = read_delta(spark, paths["duplicates"]).count()
    collapsed = read_delta(spark, paths["collapsed"]).where(F.col("_batch_id").isin(new_batches)) \
        .agg(F.coalesce(F.sum("extra_copies"), F.lit(0))).first()[0]
    summary.update(rows_read=rows_read, quarantined=quarantined, valid=rows_read - quarantined,
                   exact_copies_collapsed=int(collapsed),
                   records=n_records, processed=n_processed, duplicates=n_duplicates,
                   quarantine_by_reason=dict(sorted(by_reason.items())),
                   delta_version=delta_version(spark, paths["processed"]))
    if n_records != n_processed + n_duplicates:  # an interrupted earlier run: re-rank every key once
        records = read_delta(spark, paths["records"]).withColumn("_bk", _key_expr(bk))
        survivorship_keys(spark, spec, records, latest, paths, full_rebuild=True)
        n_processed = read_delta(spark, paths["processed"]).count()
        n_duplicates = read_delta(spark, paths["duplicates"]).count()
        summary.update(processed=n_processed, duplicates=n_duplicates, reranked_all=True)
    if n_records != n_processed + n_duplicates:
        raise ReconciliationError(f"{spec.ref}: {n_records} records != {n_processed} processed + {n_duplicates} "
                                  "duplicates; the batches stay unprocessed")
    cleaned.unpersist()
    latest.unpersist()
    timer.lap("reconcile")
    _mark_processed(spark, settings, spec, new_batches, run_batch, full_rebuild)
    timer.lap("watermark")
    return summary


def _replace_batches(df: DataFrame, path: str, batches: list[str], spark: SparkSession, *, overwrite_all: bool) -> None:
    """Write the rows of ``batches`` to ``path``, replacing any earlier attempt of those batches.

    Nothing to write and nothing to replace (the usual case for exact copies, and for a clean
    day's quarantine) commits nothing: a Delta commit costs more than finding that out.
    """
    writer = df.write.format("delta")
    if overwrite_all or not delta_exists(spark, path):
        writer.mode("overwrite").option("overwriteSchema", "true").save(path)
        return
    if df.isEmpty() and read_delta(spark, path).where(F.col("_batch_id").isin(batches)).isEmpty():
        return
    listed = ", ".join(sql_literal(b) for b in batches)
    writer.mode("overwrite").option("replaceWhere", f"_batch_id IN ({listed})").save(path)


# Above this many changed records a run re-ranks every key: one pass over the records is
# then cheaper than MERGEs keyed on a list this long, and the driver does not hold it.
MAX_AFFECTED_KEYS = 250_000


def _affected_keys(spark: SparkSession, spec: ProcessedTable, latest: DataFrame,
                   paths: dict[str, str]) -> list[str]:
    """The business keys a run's changed records belong to, now and before.

    Now: the key of each version this run upserted into the records. Before: the key each
    changed record had where the last survivorship put it (survivors or duplicates), so a
    record that moved to another key, or left, frees its old key for re-ranking. One pass over
    those two tables, joined with the changed ids (broadcast); the list comes to the driver,
    so what follows never re-reads whole tables to find it again. At most two keys per
    changed record: the caller bounds its length before asking (a ``limit`` here would make
    Spark collect in a dozen growing jobs).
    """
    from delta.tables import DeltaTable

    ids = latest.select("record_id").distinct()
    now = latest.where("_op = 'U' AND NOT _rejected").select(_key_expr(_business_key(spec)).alias("_bk"))
    before = (DeltaTable.forPath(spark, paths["processed"]).toDF().select("record_id", "_bk")
              .unionByName(DeltaTable.forPath(spark, paths["duplicates"]).toDF().select("record_id", "_bk"))
              .join(F.broadcast(ids), "record_id", "left_semi").select("_bk"))
    return [r[0] for r in now.unionByName(before).distinct().collect()]


def survivorship_keys(spark: SparkSession, spec: ProcessedTable, records: DataFrame, latest: DataFrame,
                      paths: dict[str, str], *, full_rebuild: bool, changed_records: int = 0,
                      timer: StepTimer | None = None) -> None:
    """Re-rank the affected business keys; MERGE survivors and duplicates for those keys only.

    ``changed_records`` (new rows + tombstones of the run) bounds the number of affected keys;
    above :data:`MAX_AFFECTED_KEYS` every key is re-ranked. ``timer`` gets a lap per part
    (finding the keys and their records, each write), the parts an incremental run pays most for.
    """
    from delta.tables import DeltaTable

    timer = timer or StepTimer()

    order = []
    if spec.source_timestamp:
        order.append(F.col(spec.source_timestamp).desc_nulls_last())
    order += [F.col("_completeness").desc_nulls_last(), F.col("record_id").desc()]
    rank = Window.partitionBy("_bk").orderBy(*order)
    incremental = (not full_rebuild and changed_records <= MAX_AFFECTED_KEYS
                   and delta_exists(spark, paths["processed"]))
    listed = _affected_keys(spark, spec, latest, paths) if incremental else None
    if listed is None:
        affected = records
    else:
        keys = spark.createDataFrame([(k,) for k in listed], "_bk string")
        # the affected keys' records, read once and kept: ranking, markers and both MERGEs use them
        affected = records.join(F.broadcast(keys), "_bk", "left_semi").localCheckpoint()
    timer.lap("survivorship_find_keys")
    ranked = (affected.withColumn("_rank", F.row_number().over(rank))
              .withColumn("_survivor_record_id", F.first("record_id").over(rank))
              .withColumn("_survivor_hash", F.first("_record_hash").over(rank)))
    survivors = ranked.where("_rank = 1").drop("_rank", "_survivor_record_id", "_survivor_hash") \
        .withColumn("_processed_at", F.current_timestamp())
    duplicates = ranked.where("_rank > 1").select(
        "_bk", "record_id", F.col("_survivor_record_id").alias("survivor_record_id"), "_batch_id",
        F.when(F.col("_record_hash") == F.col("_survivor_hash"), "exact").otherwise("near").alias("kind"),
        F.current_timestamp().alias("_recorded_at"))
    if listed is None:  # a first run, a full rebuild, or a change to most keys: rank every key
        write_merge_target(survivors, paths["processed"], change_feed=True)
        write_merge_target(duplicates, paths["duplicates"])
        timer.lap("survivorship_write")
        return
    if not listed:
        return
    # survivors: one atomic MERGE (the new survivor of each affected key, or a delete marker)
    markers = keys.join(survivors.select("_bk"), "_bk", "left_anti").withColumn("_delete", F.lit(True))
    source = survivors.withColumn("_delete", F.lit(False)).unionByName(markers, allowMissingColumns=True)
    cols = [c for c in survivors.columns]
    (DeltaTable.forPath(spark, paths["processed"]).alias("t").merge(source.alias("s"), "t._bk = s._bk")
     .whenMatchedDelete(condition="s._delete")
     .whenMatchedUpdate(condition="NOT s._delete", set={c: f"s.{c}" for c in cols})
     .whenNotMatchedInsert(condition="NOT s._delete", values={c: f"s.{c}" for c in cols})
     .execute())
    timer.lap("survivorship_merge_survivors")
    # duplicates: a log per key; the affected keys' rows are replaced in one MERGE: one marker
    # per key matches (and deletes) its old rows, the new rows (null merge key) are inserted.
    # A crash between this commit and the survivors' is caught by the reconciliation, which
    # re-ranks everything once before failing.
    dup_cols = duplicates.columns
    replace = (keys.withColumn("_merge_bk", F.col("_bk"))
               .unionByName(duplicates.withColumn("_merge_bk", F.lit(None).cast("string")), allowMissingColumns=True))
    (DeltaTable.forPath(spark, paths["duplicates"]).alias("t")
     .merge(replace.alias("s"), "t._bk = s._merge_bk")
     .whenMatchedDelete()
     .whenNotMatchedInsert(condition="s._merge_bk IS NULL", values={c: f"s.{c}" for c in dup_cols})
     .execute())
    timer.lap("survivorship_merge_duplicates")


def run_logged(spark: SparkSession, settings: Settings, *, logical_date: date, table: str | ProcessedTable,
               full_rebuild: bool = False, run_id: str = "", dag_id: str = "") -> dict[str, Any]:
    """:func:`run` with its run-log row (rows read, valid, quarantined, duplicates, reconciliation)."""
    from kho import runlog

    spec = find_table(table) if isinstance(table, str) else table
    with runlog.step(settings, "process", logical_date, run_id=run_id, dag_id=dag_id or f"process_{spec.domain}") as rec:
        rec.target = str(spec.ref)
        summary = run(spark, settings, logical_date=logical_date, table=spec, full_rebuild=full_rebuild)
        rec.batch_id, rec.rows_in = summary["run_batch"], summary["rows_read"]
        rec.rows_out, rec.rows_quarantined = summary["valid"], summary["quarantined"]
        rec.rows_duplicate, rec.delta_version = summary.get("duplicates"), summary.get("delta_version")
        rec.details = {k: summary[k] for k in ("raw_batches", "tombstones", "records", "processed",
                                                "exact_copies_collapsed", "quarantine_by_reason", "skipped",
                                                "full_rebuild", "seconds") if k in summary}
    return summary


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", required=True, help="<domain>.<table>, e.g. civil_status.birth_registration")
    parser.add_argument("--full-rebuild", dest="full_rebuild", action="store_true",
                        help="forget the watermark and rebuild processed from all of raw")


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, "Clean new raw batches of one table into the processed zone", _args, run)


if __name__ == "__main__":
    sys.exit(main())
