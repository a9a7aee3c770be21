"""The steps of the population pipeline, as functions Airflow tasks (or tests) call.

Each step records itself in the run log and returns a small JSON-able summary (it
travels between Airflow tasks as an XCom). Spark steps run the job module in-process on
the embedded profile; a cluster profile submits the same module.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from kho import lake, marts, runlog
from kho.settings import Settings, get_settings

log = logging.getLogger(__name__)

SOURCE_SYSTEM, SOURCE_TABLE = "population", "cong_dan"
MAX_QUARANTINE_SHARE = 0.10  # a batch with more rejects than this is broken, not dirty


class QualityGateFailed(RuntimeError):
    """A critical expectation failed; the step rolled back what it had written."""


def _spark(settings: Settings):
    from kho.spark import get_spark

    return get_spark(settings, app_name="kho-population")


def ingest(logical_date: date, *, run_id: str = "", settings: Settings | None = None) -> dict[str, Any]:
    """The residence register through the source registry's loader (snapshot diff; writes its own run-log row)."""
    from kho.ingest.loader import day_interval, load_object
    from kho.ingest.registry import load_registry

    settings = settings or get_settings()
    source = load_registry().get(SOURCE_SYSTEM)
    [result] = load_object(settings, source, source.object("citizen"), day_interval(logical_date, source.timezone),
                           run_id=run_id, dag_id="population_pipeline")
    log.info("raw: read %s, wrote %s (%s tombstones)%s", result.rows_read, result.rows_written, result.tombstones,
             f" as {result.batch_id}" if result.rows_written else f" ({result.skipped})")
    return result.as_dict() | {"files": len(result.files)}


def process(logical_date: date, *, run_id: str = "", settings: Settings | None = None) -> dict[str, Any]:
    from spark_jobs import population_processed

    settings = settings or get_settings()
    with runlog.step(settings, "process", logical_date, run_id=run_id, dag_id="population_pipeline") as rec:
        summary = population_processed.run(_spark(settings), settings, logical_date=logical_date)
        rec.batch_id, rec.target, rec.rows_in = summary["batch_id"], summary["target"], summary["raw_rows"]
        rec.rows_out, rec.rows_quarantined = summary["processed"], summary["quarantined"]
        rec.rows_duplicate, rec.delta_version = summary["duplicates"], summary["delta_version"]
        rec.details = {"quarantine_by_reason": summary["quarantine_by_reason"],
                       "duplicates_by_kind": summary["duplicates_by_kind"]}
    log.info("processed: %s kept, %s quarantined, %s duplicates removed", summary["processed"],
             summary["quarantined"], summary["duplicates"])
    return summary


def audit_processed(logical_date: date, processed: dict[str, Any], *, run_id: str = "",
                    settings: Settings | None = None) -> dict[str, Any]:
    """Validate the new processed version; on a critical failure roll it back and fail."""
    from kho import quality
    from kho.duck import connect

    settings = settings or get_settings()
    batch = processed["batch_id"]
    db = settings.state_dir / "quality" / f"processed_population_{logical_date:%Y%m%d}.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    raw = processed["raw_rows"]
    with connect(db) as con:
        con.execute(f"CREATE TABLE citizen AS SELECT * FROM delta_scan('{lake.PROCESSED_CITIZEN.path(settings)}') "
                    "WHERE _batch_id = ?", [batch])
        con.execute(
            "CREATE TABLE batch_stats AS SELECT ? AS batch_id, ?::BIGINT AS raw_rows, ?::BIGINT AS processed_rows, "
            "?::BIGINT AS quarantined_rows, ?::BIGINT AS duplicate_rows, ?::DOUBLE AS quarantine_share, "
            "?::BIGINT AS reconciliation_gap",
            [batch, raw, processed["processed"], processed["quarantined"], processed["duplicates"],
             processed["quarantined"] / raw if raw else 1.0,
             raw - processed["processed"] - processed["quarantined"] - processed["duplicates"]])
    verdicts = []
    with runlog.step(settings, "audit_processed", logical_date, run_id=run_id, dag_id="population_pipeline") as rec:
        rec.batch_id, rec.target = batch, str(lake.PROCESSED_CITIZEN)
        for suite, table in (("processed_population_citizen", "citizen"), ("processed_population_batch", "batch_stats")):
            verdict = quality.validate_duckdb_table(suite, db, table)
            runlog.write_quality_rows(settings, verdict.to_rows(batch_id=batch, logical_date=logical_date.isoformat(),
                                                                run_id=run_id, zone="processed"))
            verdicts.append(verdict)
        failed = [v for v in verdicts if not v.passed]
        rec.details = {"suites": {v.suite: v.passed for v in verdicts}}
        if failed:
            previous = processed.get("previous_version")
            path = lake.PROCESSED_CITIZEN.path(settings)
            if previous is not None:
                lake.delta_restore(path, previous)
                rolled = f"rolled {lake.PROCESSED_CITIZEN} back to version {previous}"
            else:
                import shutil
                shutil.rmtree(path, ignore_errors=True)  # first ever batch: nothing to keep
                rolled = f"removed {lake.PROCESSED_CITIZEN} (first batch)"
            message = "; ".join(v.summary() for v in failed)
            rec.details["rolled_back"] = rolled
            raise QualityGateFailed(f"processed batch {batch} failed critical expectations: {message}. {rolled}.")
    return {"batch_id": batch, "suites": {v.suite: v.passed for v in verdicts},
            "warnings": sum(len(v.failures("warning")) for v in verdicts)}


def integrate(logical_date: date, *, run_id: str = "", settings: Settings | None = None) -> dict[str, Any]:
    from spark_jobs import citizen_integrated

    settings = settings or get_settings()
    with runlog.step(settings, "integrate", logical_date, run_id=run_id, dag_id="population_pipeline") as rec:
        summary = citizen_integrated.run(_spark(settings), settings, logical_date=logical_date)
        rec.batch_id, rec.target, rec.rows_out = summary["batch_id"], summary["target"], summary["active"]
        rec.delta_version = summary["delta_version"]
        rec.details = {k: summary[k] for k in ("inserted", "updated", "deactivated", "total")}
    return summary


def build_marts(logical_date: date, *, run_id: str = "", settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    with runlog.step(settings, "build_marts", logical_date, run_id=run_id, dag_id="population_pipeline") as rec:
        built = marts.build(settings, logical_date, run_name=f"{logical_date:%Y%m%d}")
        rec.target, rec.rows_out = str(built.build_db), sum(built.marts.values())
        rec.details = {"marts": built.marts}
    return {"build_db": str(built.build_db), "marts": built.marts}


def audit_marts(logical_date: date, built: dict[str, Any], *, run_id: str = "",
                settings: Settings | None = None) -> dict[str, Any]:
    from kho import quality

    settings = settings or get_settings()
    build_db = Path(built["build_db"])
    results = {}
    with runlog.step(settings, "audit_marts", logical_date, run_id=run_id, dag_id="population_pipeline") as rec:
        failed = []
        for mart, (schema, suite) in marts.MARTS.items():
            verdict = quality.validate_duckdb_table(suite, build_db, f"{schema}.{mart}")
            runlog.write_quality_rows(settings, verdict.to_rows(logical_date=logical_date.isoformat(), run_id=run_id,
                                                                zone="topic"))
            results[mart] = verdict.passed
            if not verdict.passed:
                failed.append(verdict)
        rec.details = {"suites": results}
        if failed:
            raise QualityGateFailed("mart audit failed, nothing published, the previous version keeps serving: "
                                    + "; ".join(v.summary() for v in failed))
    return {"build_db": str(build_db), "audited": results}


def publish_marts(logical_date: date, audited: dict[str, Any], *, run_id: str = "",
                  settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    with runlog.step(settings, "publish_marts", logical_date, run_id=run_id, dag_id="population_pipeline") as rec:
        versions = marts.publish(settings, Path(audited["build_db"]), logical_date)
        rec.target = str(settings.serving_db)
        rec.details = {"delta_versions": versions}
    return {"serving_db": str(settings.serving_db), "delta_versions": versions}
