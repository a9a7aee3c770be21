"""The business entity (doanh nghiệp, hộ kinh doanh) and the land-parcel entity (thửa đất), with links.

* ``integrated/enterprise/business``: enterprises (master key ``DN:<tax code>``; an enterprise
  tax code is a public identifier) and household businesses (``HKD:<registration number>``;
  the owner's CCCD and personal tax code are personal data and appear only as keyed
  pseudonyms, ``owner_key``). History as SCD2.
* ``integrated/land/parcel``: parcels by ``<commune>|<map sheet>|<parcel no>`` with the
  parcel's current certificate (serial, holder kind, holder pseudonym or enterprise tax code).
  History as SCD2.
* ``integrated/enterprise/business_link`` and ``integrated/land/parcel_link``: every permit,
  certificate and transaction linked to its business (by tax code) and parcel (by parcel key),
  with matched / unmatched / no_key, and counts per run in ``_system/integration/match_stats``.

Incremental (spark_jobs/change_feed.py): each run reads its inputs at their newest version
and records those versions. The next run takes from the processed tables' change data feed
the business keys (enterprise tax codes, household registration numbers) and parcel keys
(parcels, and the parcels of changed certificates) that changed since, and merges those
entities only. With no watermark, an input missing or new, or a feed that cannot answer, it
compares every entity. The link tables are a snapshot of every permit, certificate and
transaction against the current entities, rebuilt each run with its match statistics.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from kho.integrated.tables import BUSINESS, BUSINESS_LINK, MATCH_STATS, PARCEL, PARCEL_LINK, TableMeta
from kho.lake import TableRef, Zone
from kho.privacy import pseudonym
from kho.settings import Settings
from spark_jobs.change_feed import Snapshot, changed_entity_keys, describe, record_read, snapshot
from spark_jobs.common import apply_properties, delta_exists, delta_version, job_main, read_delta
from spark_jobs.scd2 import merge_scd2

BUSINESS_ATTRIBUTES = ("kind", "name", "legal_form", "vsic_code", "capital_vnd", "founded_date", "commune_code",
                       "status", "tax_code", "owner_key")
PARCEL_ATTRIBUTES = ("commune_code", "map_sheet", "parcel_no", "area_m2", "land_use_code", "land_use_group",
                     "address", "certificate_serial", "certificate_holder_kind", "certificate_holder_ref")


INPUTS = {"enterprises": ("business_registration", "enterprise"),
          "households": ("business_registration", "household_business"),
          "certificates": ("land", "land_certificate"), "parcels": ("land", "land_parcel"),
          "permits": ("construction_permits", "construction_permit"), "transactions": ("land", "land_transaction")}


def _parcel_key(prefix: str = ""):
    return F.concat_ws("|", F.col(f"{prefix}commune_code"), F.col(f"{prefix}map_sheet").cast("string"),
                       F.col(f"{prefix}parcel_no").cast("string"))


def _current_keys(spark: SparkSession, path: str, key: str) -> DataFrame | None:
    if not delta_exists(spark, path):
        return None
    return read_delta(spark, path).where("is_current AND NOT is_deleted").select(key)


def _links(records: DataFrame, entity_keys: DataFrame, key: str, run_batch: str) -> DataFrame:
    known = entity_keys.select(F.col(key).alias("_known")).distinct()
    joined = records.join(F.broadcast(known), records[key] == known["_known"], "left")
    status = (F.when(F.col(key).isNull(), "no_key").when(F.col("_known").isNull(), "unmatched").otherwise("matched"))
    return joined.select("source_table", "role", "record_id", key, status.alias("match_status"),
                         F.lit(run_batch).alias("_run_batch"))


def _stats(links: DataFrame, entity: str, run_batch: str) -> DataFrame:
    return (links.groupBy("source_table", "role").pivot("match_status", ["matched", "ambiguous", "unmatched", "no_key"])
            .count().na.fill(0)
            .select(F.lit(run_batch).alias("run_batch"), F.lit(entity).alias("entity"),
                    F.col("source_table").alias("source"), F.col("role").alias("link_key"),
                    *[F.col(c).cast("long").alias(c) for c in ("matched", "ambiguous", "unmatched", "no_key")],
                    F.lit(datetime.now(timezone.utc)).cast("timestamp").alias("recorded_at")))


def _merge_entity(spark: SparkSession, settings: Settings, entity: TableMeta, incoming: DataFrame, key: str,
                  attributes: tuple[str, ...], inputs: list[tuple[Snapshot | None, Column]], *, as_of: datetime,
                  batch: str, full_rebuild: bool) -> tuple[dict[str, int], str]:
    """SCD2 MERGE of the entities ``inputs`` (each input's snapshot and the entity key over its
    rows) changed since the last run, then the watermark; returns the counts and where the
    changes came from. Every entity is compared on a first run, on ``full_rebuild``, and when an
    input is missing (a new or vanished input changes every entity it feeds)."""
    path = entity.ref.path(settings)
    exists = delta_exists(spark, path)
    snapshots = [snap for snap, _ in inputs if snap is not None]
    changed = (None if full_rebuild or not exists or len(snapshots) < len(inputs)
               else changed_entity_keys(spark, settings, str(entity.ref), inputs))
    if changed == []:  # no input changed since the last run
        record_read(spark, settings, str(entity.ref), snapshots, batch)
        return {"inserted": 0, "changed": 0, "deleted": 0, "unchanged": 0}, describe(changed, snapshots)
    if changed is None:
        current = _current_keys(spark, path, key)
        deleted = current.join(incoming.select(key), key, "left_anti") if current is not None else None
    else:
        keys = spark.createDataFrame([(k,) for k in changed], f"{key} string")
        incoming = incoming.join(F.broadcast(keys), key, "left_semi").localCheckpoint()
        deleted = keys.join(incoming.select(key), key, "left_anti")
    counts = merge_scd2(spark, path, incoming, key=key, attributes=attributes, as_of=as_of, batch=batch,
                        deleted_keys=deleted)
    if not exists or counts["inserted"] + counts["changed"] + counts["deleted"]:
        apply_properties(spark, path, entity.properties())
    record_read(spark, settings, str(entity.ref), snapshots, batch)
    return counts, describe(changed, snapshots)


def run(spark: SparkSession, settings: Settings, *, logical_date: date, full_rebuild: bool = False) -> dict[str, Any]:
    key = settings.pseudonym_key()

    @pandas_udf("string")
    def pseudo(values: pd.Series) -> pd.Series:
        return values.map(lambda v: pseudonym(key, v) if isinstance(v, str) and v else None)

    as_of = datetime.now(timezone.utc).replace(tzinfo=None)
    summary: dict[str, Any] = {}
    snaps = {name: snapshot(spark, TableRef(Zone.PROCESSED, domain, table), settings)
             for name, (domain, table) in INPUTS.items()}
    # every input as of the version recorded at the end, so a commit landing meanwhile waits for the next run
    read = {name: snap.read(spark) if snap is not None else None for name, snap in snaps.items()}
    enterprises, households = read["enterprises"], read["households"]
    certificates, parcels = read["certificates"], read["parcels"]
    permits, transactions = read["permits"], read["transactions"]

    # -- businesses -----------------------------------------------------------------------
    parts = []
    if enterprises is not None:
        parts.append(enterprises.select(
            F.concat(F.lit("DN:"), "tax_code").alias("business_key"), F.lit("enterprise").alias("kind"),
            F.col("enterprise_name").alias("name"), "legal_form", "vsic_code",
            F.col("charter_capital_vnd").cast("long").alias("capital_vnd"),
            F.col("founding_date").cast("date").alias("founded_date"), "commune_code", "status", "tax_code",
            F.lit(None).cast("string").alias("owner_key")))
    if households is not None:
        parts.append(households.select(
            F.concat(F.lit("HKD:"), "registration_no").alias("business_key"), F.lit("household").alias("kind"),
            F.col("business_name").alias("name"), F.lit(None).cast("string").alias("legal_form"), "vsic_code",
            F.col("capital_vnd").cast("long").alias("capital_vnd"),
            F.col("registration_date").cast("date").alias("founded_date"), "commune_code", "status",
            F.lit(None).cast("string").alias("tax_code"),
            pseudo(F.coalesce("owner_cccd", "owner_tax_code")).alias("owner_key")))
    business_path = BUSINESS.ref.path(settings)
    if parts:
        incoming = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
        inputs = [(snaps["enterprises"], F.concat(F.lit("DN:"), "tax_code")),
                  (snaps["households"], F.concat(F.lit("HKD:"), "registration_no"))]
        summary["business"], summary["business_changes_from"] = _merge_entity(
            spark, settings, BUSINESS, incoming, "business_key", BUSINESS_ATTRIBUTES, inputs, as_of=as_of,
            batch=f"business.{logical_date:%Y%m%d}", full_rebuild=full_rebuild)

    # -- parcels --------------------------------------------------------------------------
    parcel_path = PARCEL.ref.path(settings)
    if parcels is not None:
        latest_cert = None
        if certificates is not None:
            from pyspark.sql import Window

            w = Window.partitionBy("_pk").orderBy(F.col("issue_date").desc_nulls_last(), F.col("serial_no").desc())
            latest_cert = (certificates.withColumn("_pk", _parcel_key())
                           .withColumn("_n", F.row_number().over(w)).where("_n = 1")
                           .select("_pk", F.col("serial_no").alias("certificate_serial"),
                                   F.col("holder_kind").alias("certificate_holder_kind"),
                                   F.when((F.col("holder_kind") == "organisation") & F.col("holder_tax_code").isNotNull(),
                                          F.concat(F.lit("DN:"), "holder_tax_code"))
                                   .otherwise(pseudo(F.coalesce("holder_cccd", "holder_tax_code")))
                                   .alias("certificate_holder_ref")))
        incoming = parcels.withColumn("parcel_key", _parcel_key())
        if latest_cert is not None:
            incoming = incoming.join(latest_cert, incoming["parcel_key"] == latest_cert["_pk"], "left").drop("_pk")
        else:
            for c in ("certificate_serial", "certificate_holder_kind", "certificate_holder_ref"):
                incoming = incoming.withColumn(c, F.lit(None).cast("string"))
        incoming = incoming.select("parcel_key", *[F.col(c).cast("string") if c in ("map_sheet", "parcel_no") else c
                                                   for c in PARCEL_ATTRIBUTES])
        # a certificate names its parcel, so a changed certificate changes that parcel's entity
        inputs = [(snaps["parcels"], _parcel_key()), (snaps["certificates"], _parcel_key())]
        summary["parcel"], summary["parcel_changes_from"] = _merge_entity(
            spark, settings, PARCEL, incoming, "parcel_key", PARCEL_ATTRIBUTES, inputs, as_of=as_of,
            batch=f"parcel.{logical_date:%Y%m%d}", full_rebuild=full_rebuild)

    # -- links ----------------------------------------------------------------------------
    run_batch = f"business_land_link.{logical_date:%Y%m%d}"
    biz_records, parcel_records = [], []

    def biz(df: DataFrame | None, table: str, role: str, tax: str) -> None:
        if df is not None:
            biz_records.append(df.select(F.lit(table).alias("source_table"), F.lit(role).alias("role"), "record_id",
                                         F.when(F.col(tax).isNotNull(), F.concat(F.lit("DN:"), F.col(tax)))
                                         .alias("business_key")))

    def parcel(df: DataFrame | None, table: str, role: str) -> None:
        if df is not None:
            parcel_records.append(df.select(F.lit(table).alias("source_table"), F.lit(role).alias("role"),
                                            "record_id", F.when(F.col("parcel_no").isNotNull(), _parcel_key())
                                            .alias("parcel_key")))

    biz(permits, "processed/construction_permits/construction_permit", "permit.investor", "investor_tax_code")
    biz(certificates, "processed/land/land_certificate", "certificate.holder", "holder_tax_code")
    biz(transactions, "processed/land/land_transaction", "transaction.transferee", "transferee_tax_code")
    parcel(certificates, "processed/land/land_certificate", "certificate.parcel")
    parcel(permits, "processed/construction_permits/construction_permit", "permit.parcel")
    parcel(transactions, "processed/land/land_transaction", "transaction.parcel")
    stats = []
    for records, entity_path, key, meta, entity in ((biz_records, business_path, "business_key", BUSINESS_LINK, "business"),
                                                     (parcel_records, parcel_path, "parcel_key", PARCEL_LINK, "parcel")):
        keys = _current_keys(spark, entity_path, key)
        if not records or keys is None:
            continue
        union = records[0]
        for df in records[1:]:
            union = union.unionByName(df)
        links = _links(union, keys, key, run_batch).persist()
        path = meta.ref.path(settings)
        links.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)
        apply_properties(spark, path, meta.properties())
        s = _stats(links, entity, run_batch)
        s.write.format("delta").mode("append").save(MATCH_STATS.ref.path(settings))
        stats += [r.asDict() for r in s.collect()]
        links.unpersist()
    summary["links"] = [{k: v for k, v in r.items() if k in ("entity", "source", "link_key", "matched", "unmatched",
                                                             "no_key")} for r in stats]
    summary["delta_versions"] = {str(m.ref): delta_version(spark, m.ref.path(settings)) for m in (BUSINESS, PARCEL)}
    return summary


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full-rebuild", dest="full_rebuild", action="store_true",
                        help="compare every entity instead of reading the processed change data feed")


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, "Build the business and land-parcel entities and their links", _args, run)


if __name__ == "__main__":
    sys.exit(main())
