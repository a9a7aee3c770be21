"""Population pipeline: the residence database through raw, processed, integrated and topic.

    ingest_raw -> process -> audit_processed -> integrate -> build_marts -> audit_marts -> publish_marts

The DAG holds no logic: each task calls one step of ``kho.pipeline``. The raw load and the
integration run their zone's suite on what they wrote; quality gates fail the run without retries (a rerun would fail the same way), and nothing downstream of a failed
gate runs, so the previously published mart keeps serving (write-audit-publish).

Run it without a scheduler: ``kho run population_pipeline --date 2026-11-27``.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

RAW = Asset(name="raw.population.citizen", uri="file:///kho/raw/population/citizen")
PROCESSED = Asset(name="processed.population.citizen", uri="file:///kho/processed/population/citizen")
INTEGRATED = Asset(name="integrated.citizen.citizen", uri="file:///kho/integrated/citizen/citizen")
MART = Asset(name="topic.citizen.population_by_commune_sex_age",
             uri="file:///kho/topic/citizen/population_by_commune_sex_age")


def _logical_date() -> date:
    return date.fromisoformat(get_current_context()["ds"])


def _run_id() -> str:
    return str(get_current_context()["run_id"])


def _gate(fn, *args):
    """Turn a quality-gate failure into a no-retry task failure with the gate's message."""
    from airflow.sdk.exceptions import AirflowFailException

    from kho.pipeline import QualityGateFailed

    try:
        return fn(*args, run_id=_run_id())
    except QualityGateFailed as exc:
        raise AirflowFailException(str(exc)) from exc


@dag(
    dag_id="population_pipeline",
    description="Residence database -> raw -> processed -> integrated citizen -> population mart",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "so-khcn-data-platform", "retries": int(os.environ.get("KHO_TASK_RETRIES", "2")), "retry_delay": timedelta(minutes=2),
                  "retry_exponential_backoff": True},
    tags=["population", "citizen", "kho"],
    doc_md=__doc__,
)
def population_pipeline():
    @task(outlets=[RAW], pool="raw.population.citizen")  # the registry's pool: one writer per raw table
    def ingest_raw() -> dict:
        from kho.pipeline import ingest

        return _gate(ingest, _logical_date())

    @task(outlets=[PROCESSED], pool="processed.population.citizen")
    def process(_: dict) -> dict:
        from kho.pipeline import process as step

        return step(_logical_date(), run_id=_run_id())

    @task(retries=0)
    def audit_processed(processed: dict) -> dict:
        from kho.pipeline import audit_processed as step

        return _gate(step, _logical_date(), processed)

    @task(outlets=[INTEGRATED], pool="integrated.citizen.citizen")
    def integrate(_: dict) -> dict:
        from kho.pipeline import integrate as step

        return _gate(step, _logical_date())

    @task
    def build_marts(_: dict) -> dict:
        from kho.pipeline import build_marts as step

        return step(_logical_date(), run_id=_run_id())

    @task(retries=0)
    def audit_marts(built: dict) -> dict:
        from kho.pipeline import audit_marts as step

        return _gate(step, _logical_date(), built)

    @task(outlets=[MART])
    def publish_marts(audited: dict) -> dict:
        from kho.pipeline import publish_marts as step

        return step(_logical_date(), audited, run_id=_run_id())

    processed = process(ingest_raw())
    publish_marts(audit_marts(build_marts(integrate(audit_processed(processed)))))


population_pipeline()
