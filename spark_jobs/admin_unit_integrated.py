"""The administrative-unit entity (đơn vị hành chính): the 114 current units with their history.

Built from the versioned reference catalogues (kho/reference): each current unit with the
pre-2025 units merged into it and those split between it and others. SCD2 like every
integrated entity, so a future reorganisation (a changed name, type or merger) becomes a new
version instead of overwriting what the marts of earlier periods were built on.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Any

from pyspark.sql import SparkSession

from kho.integrated.tables import ADMIN_UNIT
from kho.reference import admin_units, crosswalk
from kho.settings import Settings
from spark_jobs.common import apply_properties, delta_version, job_main, read_delta
from spark_jobs.scd2 import merge_scd2

ATTRIBUTES = ("unit_name", "unit_type", "unit_full_name", "province_code", "former_district", "former_province",
              "predecessor_codes", "split_predecessor_codes", "predecessor_count")


def rows() -> list[dict[str, Any]]:
    merged: dict[str, list[str]] = defaultdict(list)
    split: dict[str, list[str]] = defaultdict(list)
    for old, entry in crosswalk().items():
        if entry.split:
            for code in entry.candidate_unit_codes:
                split[code].append(old)
        elif entry.new_unit_code:
            merged[entry.new_unit_code].append(old)
    out = []
    for unit in admin_units():
        out.append({"unit_code": unit.unit_code, "unit_name": unit.unit_name, "unit_type": unit.unit_type,
                    "unit_full_name": unit.unit_full_name, "province_code": unit.province_code,
                    "former_district": unit.former_district, "former_province": unit.former_province,
                    "predecessor_codes": ",".join(sorted(merged[unit.unit_code])),
                    "split_predecessor_codes": ",".join(sorted(split[unit.unit_code])),
                    "predecessor_count": len(merged[unit.unit_code]) + len(split[unit.unit_code])})
    return out


def run(spark: SparkSession, settings: Settings, *, logical_date: date) -> dict[str, Any]:
    path = ADMIN_UNIT.ref.path(settings)
    schema = ("unit_code string, unit_name string, unit_type string, unit_full_name string, province_code string, "
              "former_district string, former_province string, predecessor_codes string, "
              "split_predecessor_codes string, predecessor_count int")
    incoming = spark.createDataFrame([tuple(r.values()) for r in rows()], schema)
    current = {r["unit_code"] for r in rows()}
    deleted = None
    from spark_jobs.common import delta_exists

    if delta_exists(spark, path):
        gone = [r[0] for r in read_delta(spark, path).where("is_current AND NOT is_deleted").select("unit_code")
                .collect() if r[0] not in current]
        deleted = spark.createDataFrame([(c,) for c in gone], "unit_code string") if gone else None
    counts = merge_scd2(spark, path, incoming, key="unit_code", attributes=ATTRIBUTES,
                        as_of=datetime.now(timezone.utc).replace(tzinfo=None),
                        batch=f"admin_unit.{logical_date:%Y%m%d}", deleted_keys=deleted)
    apply_properties(spark, path, ADMIN_UNIT.properties())
    return {"target": str(ADMIN_UNIT.ref), **counts, "delta_version": delta_version(spark, path)}


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, "Build the administrative-unit entity from the reference catalogues",
                    lambda p: None, run)


if __name__ == "__main__":
    sys.exit(main())
