"""Cross-source links to the citizen entity by CCCD, with match statistics per run.

Every processed table that names a person by CCCD (civil status, insurance, labour ...) is
linked to the integrated citizen: ``integrated/citizen/citizen_link`` holds one row per
(source record, role) with the person's ``citizen_key`` (the keyed pseudonym, computed for
unmatched people too, so marts can count them without a clear identifier) and a status:

* ``matched``: the CCCD is a current citizen (and the birth date agrees where both have one);
* ``ambiguous``: the CCCD is a current citizen but the birth date disagrees (a typo in one of
  the registers, or a reused number): linked, and flagged for a data steward;
* ``unmatched``: the CCCD is valid but not in the residence register (moved away, not yet
  registered, or a wrong number);
* ``no_key``: the record has no usable CCCD for that role.

Counts per source, role and status go to ``_system/integration/match_stats`` every run.
The link table is derived, rebuilt whole each run (its inputs are the processed tables'
current state, a few columns each).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from kho.integrated.tables import CITIZEN, CITIZEN_LINK, MATCH_STATS
from kho.lake import TableRef, Zone
from kho.privacy import pseudonym
from kho.settings import Settings
from spark_jobs.common import apply_properties, delta_exists, job_main, read_delta


@dataclass(frozen=True)
class Link:
    table: str                  # processed table, <domain>/<name>
    cccd: str                   # column holding the person's CCCD
    role: str
    birth_date: str | None = None


LINKS = (
    Link("civil_status/birth_registration", "child_cccd", "birth.child", "birth_date"),
    Link("civil_status/birth_registration", "mother_cccd", "birth.mother"),
    Link("civil_status/birth_registration", "father_cccd", "birth.father"),
    Link("civil_status/marriage_registration", "husband_cccd", "marriage.husband"),
    Link("civil_status/marriage_registration", "wife_cccd", "marriage.wife"),
    Link("civil_status/death_registration", "deceased_cccd", "death.deceased", "deceased_birth_date"),
    Link("insurance/insurance_participant", "cccd", "insurance.participant", "birth_date"),
    Link("labour/labour_register", "cccd", "labour.worker", "birth_date"),
    Link("labour/poor_household", "head_cccd", "poor_household.head"),
)


def _source(spark: SparkSession, settings: Settings, link: Link) -> DataFrame | None:
    domain, name = link.table.split("/")
    path = TableRef(Zone.PROCESSED, domain, name).path(settings)
    if not delta_exists(spark, path):
        return None
    df = read_delta(spark, path)
    if link.cccd not in df.columns:
        raise KeyError(f"processed/{link.table} has no column {link.cccd!r} (the link of role {link.role})")
    birth = F.col(link.birth_date).cast("date") if link.birth_date and link.birth_date in df.columns else F.lit(None).cast("date")
    return df.select(F.lit(f"processed/{link.table}").alias("source_table"), F.lit(link.role).alias("role"),
                     "record_id", F.col(link.cccd).alias("cccd"), birth.alias("source_birth_date"))


def run(spark: SparkSession, settings: Settings, *, logical_date: date) -> dict[str, Any]:
    key = settings.pseudonym_key()

    @pandas_udf("string")
    def citizen_key(cccd: pd.Series) -> pd.Series:
        return cccd.map(lambda v: pseudonym(key, v) if isinstance(v, str) and v else None)

    citizens = (read_delta(spark, CITIZEN.ref.path(settings)).where("is_current AND NOT is_deleted")
                .select("cccd", F.col("birth_date").cast("date").alias("citizen_birth_date")))
    parts = [df for link in LINKS if (df := _source(spark, settings, link)) is not None]
    run_batch = f"citizen_link.{logical_date:%Y%m%d}"
    if not parts:
        return {"run_batch": run_batch, "links": 0, "sources": 0}
    records = parts[0]
    for df in parts[1:]:
        records = records.unionByName(df)
    joined = records.join(F.broadcast(citizens) if citizens.count() < 2_000_000 else citizens, "cccd", "left")
    status = (F.when(F.col("cccd").isNull(), "no_key")
              .when(F.col("citizen_birth_date").isNull(), "unmatched")
              .when(F.col("source_birth_date").isNotNull() & (F.col("source_birth_date") != F.col("citizen_birth_date")),
                    "ambiguous")
              .otherwise("matched"))
    links = joined.select("source_table", "role", "record_id", citizen_key("cccd").alias("citizen_key"),
                          status.alias("match_status"), F.lit(run_batch).alias("_run_batch")).persist()
    path = CITIZEN_LINK.ref.path(settings)
    links.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)
    apply_properties(spark, path, CITIZEN_LINK.properties())
    now = datetime.now(timezone.utc)
    stats = (links.groupBy("source_table", "role").pivot("match_status", ["matched", "ambiguous", "unmatched", "no_key"])
             .count().na.fill(0)
             .select(F.lit(run_batch).alias("run_batch"), F.lit("citizen").alias("entity"),
                     F.col("source_table").alias("source"), F.col("role").alias("link_key"),
                     *[F.col(c).cast("long").alias(c) for c in ("matched", "ambiguous", "unmatched", "no_key")],
                     F.lit(now).cast("timestamp").alias("recorded_at")))
    stats.write.format("delta").mode("append").save(MATCH_STATS.ref.path(settings))
    summary_rows = [r.asDict() for r in stats.orderBy("source", "link_key").collect()]
    links.unpersist()
    return {"run_batch": run_batch, "target": str(CITIZEN_LINK.ref), "sources": len(parts),
            "stats": [{k: v for k, v in r.items() if k not in ("recorded_at", "entity", "run_batch")}
                      for r in summary_rows]}


def main(argv: list[str] | None = None) -> int:
    return job_main(argv, "Link processed records to citizens by CCCD and count the matches", lambda p: None, run)


if __name__ == "__main__":
    sys.exit(main())
