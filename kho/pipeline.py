"""The steps of the population pipeline, as functions Airflow tasks (or tests) call.

Each step records itself in the run log and returns a small JSON-able summary (it
travels between Airflow tasks as an XCom). Spark steps run the job module in-process on
the embedded profile; a cluster profile submits the same module.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from kho import lake, marts, runlog
from kho.settings import Settings, get_settings

log = logging.getLogger(__name__)

SOURCE_SYSTEM, SOURCE_TABLE = "population", "cong_dan"
MAX_QUARANTINE_SHARE = 0.10  # a batch with more rejects than this is broken, not dirty


# Raised by the audits below and by the zone gates (kho.quality_gate, where it lives now);
# re-exported so `from kho.pipeline import QualityGateFailed` keeps working.
from kho.quality_gate import QualityGateFailed  # noqa: E402


def _spark(settings: Settings):
    from kho.spark import get_spark

    return get_spark(settings, app_name="kho-population")


def ingest(logical_date: date, *, run_id: str = "", settings: Settings | None = None) -> dict[str, Any]:
    """The residence register through the source registry's loader (snapshot diff; writes its own run-log row),
    then its raw contract suite on the batch written (a failure raises QualityGateFailed)."""
    from kho import quality_gate
    from kho.ingest.loader import day_interval, load_object
    from kho.ingest.registry import load_registry

    settings = settings or get_settings()
    source = load_registry().get(SOURCE_SYSTEM)
    [result] = load_object(settings, source, source.object("citizen"), day_interval(logical_date, source.timezone),
                           run_id=run_id, dag_id="population_pipeline")
    log.info("raw: read %s, wrote %s (%s tombstones)%s", result.rows_read, result.rows_written, result.tombstones,
             f" as {result.batch_id}" if result.rows_written else f" ({result.skipped})")
    gate = quality_gate.check_load(settings, [result], run_id=run_id, dag_id="population_pipeline",
                                   logical_date=logical_date)
    quality_gate.refresh_data_docs()
    return result.as_dict() | {"files": len(result.files), "quality": gate.as_dict()}


def _process_state_tables(settings: Settings) -> dict[str, str]:
    """The tables one processed run changes together (restored together when its audit fails)."""
    from kho.processed.population import TABLES
    from spark_jobs.processed import BATCHES

    spec = TABLES[0]
    return {str(ref): ref.path(settings) for ref in (spec.ref, spec.records, spec.duplicates, BATCHES)}


def process(logical_date: date, *, run_id: str = "", settings: Settings | None = None) -> dict[str, Any]:
    """New raw batches of the residence register -> processed (spark_jobs/processed.py, incremental)."""
    from kho.processed.population import TABLES
    from spark_jobs import processed as job

    settings = settings or get_settings()
    previous = {name: lake.delta_version(path) for name, path in _process_state_tables(settings).items()}
    with runlog.step(settings, "process", logical_date, run_id=run_id, dag_id="population_pipeline") as rec:
        summary = job.run(_spark(settings), settings, logical_date=logical_date, table=TABLES[0])
        rec.batch_id, rec.target, rec.rows_in = summary["run_batch"], summary["table"], summary["rows_read"]
        rec.rows_out, rec.rows_quarantined = summary["valid"], summary["quarantined"]
        rec.rows_duplicate, rec.delta_version = summary.get("duplicates"), summary.get("delta_version")
        rec.details = {k: summary[k] for k in ("raw_batches", "tombstones", "records", "processed",
                                                "quarantine_by_reason", "skipped") if k in summary}
    log.info("processed: %s new rows (%s quarantined); %s records, %s citizens, %s duplicates",
             summary["rows_read"], summary["quarantined"], summary.get("records"), summary.get("processed"),
             summary.get("duplicates"))
    return summary | {"previous_versions": previous}


def audit_processed(logical_date: date, processed: dict[str, Any], *, run_id: str = "",
                    settings: Settings | None = None) -> dict[str, Any]:
    """Validate processed after this run's batches; on a critical failure restore every table the run changed."""
    from kho import quality
    from kho.duck import connect

    settings = settings or get_settings()
    batch = processed["run_batch"]
    if processed.get("skipped"):
        log.info("audit_processed: no new raw batches, nothing to audit")
        return {"batch_id": batch, "suites": {}, "warnings": 0, "skipped": processed["skipped"]}
    db = settings.state_dir / "quality" / f"processed_population_{logical_date:%Y%m%d}.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    read = processed["rows_read"]
    with connect(db) as con:
        con.execute(f"CREATE TABLE citizen AS SELECT * FROM delta_scan('{lake.PROCESSED_CITIZEN.path(settings)}')")
        con.execute(
            "CREATE TABLE batch_stats AS SELECT ? AS batch_id, ?::BIGINT AS raw_rows, ?::BIGINT AS processed_rows, "
            "?::BIGINT AS quarantined_rows, ?::BIGINT AS duplicate_rows, ?::DOUBLE AS quarantine_share, "
            "?::BIGINT AS reconciliation_gap",
            # processed_rows: the table's state after the run (a batch of deletions alone has no valid row)
            [batch, read, processed["processed"], processed["quarantined"], processed["duplicates"],
             processed["quarantined"] / read if read else 0.0,
             (read - processed["valid"] - processed["quarantined"])
             + (processed["records"] - processed["processed"] - processed["duplicates"])])
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
            rolled = _restore(settings, processed["previous_versions"])
            message = "; ".join(v.summary() for v in failed)
            rec.details["rolled_back"] = rolled
            raise QualityGateFailed(f"processed run {batch} failed critical expectations: {message}. "
                                    f"Restored {'; '.join(rolled)}.")
    return {"batch_id": batch, "suites": {v.suite: v.passed for v in verdicts},
            "warnings": sum(len(v.failures("warning")) for v in verdicts)}


def _restore(settings: Settings, previous: dict[str, int | None]) -> list[str]:
    """Put every table a failed run changed back to its version before the run."""
    import shutil

    done = []
    for name, path in _process_state_tables(settings).items():
        before = previous.get(name)
        now = lake.delta_version(path)
        if now is None or now == before:
            continue
        if before is None:
            shutil.rmtree(path, ignore_errors=True)  # the table was created by the failed run
            done.append(f"removed {name}")
        else:  # Spark, not delta-rs: these tables have deletion vectors (spark_jobs/common.py)
            from delta.tables import DeltaTable

            DeltaTable.forPath(_spark(settings), path).restoreToVersion(before)
            done.append(f"{name} to version {before}")
    return done


def integrate(logical_date: date, *, run_id: str = "", settings: Settings | None = None) -> dict[str, Any]:
    """The citizen entity (SCD2 MERGE), then its integrated suite on the versions this run wrote."""
    from kho import quality_gate
    from spark_jobs import citizen_integrated

    settings = settings or get_settings()
    with runlog.step(settings, "integrate", logical_date, run_id=run_id, dag_id="population_pipeline") as rec:
        summary = citizen_integrated.run(_spark(settings), settings, logical_date=logical_date)
        rec.batch_id, rec.target, rec.rows_out = summary["batch_id"], summary["target"], summary["active"]
        rec.delta_version = summary["delta_version"]
        rec.details = {k: summary[k] for k in ("inserted", "changed", "deleted", "unchanged", "compared",
                                                "versions", "changes_from") if k in summary}
    gates = quality_gate.check_integrated(settings, "citizen_integrated", summary, logical_date=logical_date,
                                          run_id=run_id, dag_id="population_pipeline")
    quality_gate.refresh_data_docs()
    return summary | {"quality": [g.as_dict() for g in gates]}


# The marts this pipeline owns: the population structure and what it is built from.
POPULATION_MARTS = ("+population_by_commune_sex_age",)


def build_marts(logical_date: date, *, run_id: str = "", settings: Settings | None = None,
                select: tuple[str, ...] = POPULATION_MARTS, dag_id: str = "population_pipeline") -> dict[str, Any]:
    """Write: ``dbt build`` of the selected marts (``()`` = every mart) into a scratch file."""
    settings = settings or get_settings()
    with runlog.step(settings, "build_marts", logical_date, run_id=run_id, dag_id=dag_id) as rec:
        built = marts.build(settings, logical_date, run_name=f"{dag_id}_{logical_date:%Y%m%d}", select=select)
        rec.target, rec.rows_out = str(built.build_db), sum(built.marts.values())
        rec.batch_id = built.data_version
        rec.details = {"marts": built.marts, "data_version": built.data_version}
    log.info("built %d marts (%s rows), data version %s", len(built.marts), f"{sum(built.marts.values()):,}",
             built.data_version)
    return built.as_dict()


def audit_marts(logical_date: date, built: dict[str, Any], *, run_id: str = "",
                settings: Settings | None = None, dag_id: str = "population_pipeline") -> dict[str, Any]:
    """Audit: each mart's suite on the scratch file; a critical failure stops the publish."""
    settings = settings or get_settings()
    build = marts.MartBuild.from_dict(built)
    with runlog.step(settings, "audit_marts", logical_date, run_id=run_id, dag_id=dag_id) as rec:
        rec.batch_id = build.data_version
        verdicts = marts.audit(settings, build, logical_date, run_id=run_id)
        quality = {str(m): {
                       "verdict": "passed" if v.passed else "failed", "suites": {v.suite: v.passed},
                       "warnings": len(v.failures("warning"))}
                   for m, v in zip(build.mart_list(), verdicts)}
        rec.details = {"suites": {v.suite: v.passed for v in verdicts}}
        failed = [v for v in verdicts if not v.passed]
        if failed:
            raise QualityGateFailed("mart audit failed, nothing published, the previous version keeps serving: "
                                    + "; ".join(v.summary() for v in failed))
    return built | {"quality": quality}


def publish_marts(logical_date: date, audited: dict[str, Any], *, run_id: str = "",
                  settings: Settings | None = None, dag_id: str = "population_pipeline") -> dict[str, Any]:
    """Publish: a Delta version per mart and an atomic swap of the serving database."""
    settings = settings or get_settings()
    build = marts.MartBuild.from_dict(audited)
    with runlog.step(settings, "publish_marts", logical_date, run_id=run_id, dag_id=dag_id) as rec:
        versions = marts.publish(settings, build, logical_date, run_id=run_id, quality=audited.get("quality"))
        rec.target, rec.batch_id = str(settings.serving_db), build.data_version
        rec.details = {"delta_versions": versions}
    return {"serving_db": str(settings.serving_db), "delta_versions": versions, "data_version": build.data_version}
