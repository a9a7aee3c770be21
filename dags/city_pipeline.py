"""The whole city, one run: every sector system through raw, processed and integrated, then the
marts (write-audit-publish) and the IOC KPI export.

    ingest[system] -> process[domain] -> integrate -> build_marts -> audit_marts -> publish_marts -> export_kpis

The per-zone DAGs (ingest_<system>, process_<domain>, integrate_*) run the same steps on their
own cadences and Assets; this DAG is the daily end-to-end run the embedded profile demonstrates
and the cluster profile is compared on. It holds no logic: each task calls ``kho.city`` or
``kho.pipeline``. Quality gates fail without retries, and nothing downstream of a failed gate
runs, so the previously published marts keep serving.

Run it without a scheduler: ``kho run city_pipeline --date 2026-11-27``.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

DAG_ID = "city_pipeline"
MARTS = Asset(name="topic.marts", uri="file:///kho/topic/marts")
EXCHANGE = Asset(name="exchange.ioc", uri="file:///kho/exchange/ioc")


def _systems() -> list[str]:
    from kho.ingest.registry import load_registry

    return list(load_registry().systems)


def _domains() -> list[str]:
    from kho.processed.catalog import domains

    return list(domains())


def _day() -> date:
    return date.fromisoformat(get_current_context()["ds"])


def _run_id() -> str:
    return str(get_current_context()["run_id"])


def _gate(fn, *args, **kwargs):
    """A quality-gate failure becomes a no-retry task failure carrying the gate's message."""
    from airflow.sdk.exceptions import AirflowFailException

    from kho.pipeline import QualityGateFailed

    try:
        return fn(*args, run_id=_run_id(), **kwargs)
    except QualityGateFailed as exc:
        raise AirflowFailException(str(exc)) from exc


@dag(
    dag_id=DAG_ID,
    description="All sector systems -> raw -> processed -> integrated -> marts (WAP) -> IOC exchange",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "kho-data-platform", "retries": int(os.environ.get("KHO_TASK_RETRIES", "2")),
                  "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True},
    tags=["city", "marts", "kho"],
    doc_md=__doc__,
)
def city_pipeline():
    @task(max_active_tis_per_dag=1)
    def ingest(system: str) -> dict:
        from kho import city

        return _gate(city.ingest_all, _day(), systems=(system,))

    @task(max_active_tis_per_dag=1)
    def process(domain: str) -> dict:
        from kho import city

        return _gate(city.process_all, _day(), domains_only=(domain,))

    @task
    def integrate() -> dict:
        from kho import city

        return {name: {k: v for k, v in summary.items() if isinstance(v, (int, float, str, bool))}
                for name, summary in _gate(city.integrate_all, _day()).items()}

    @task
    def build_marts() -> dict:
        from kho.pipeline import build_marts as step

        return step(_day(), run_id=_run_id(), select=(), dag_id=DAG_ID)

    @task(retries=0)
    def audit_marts(built: dict) -> dict:
        from kho.pipeline import audit_marts as step

        return _gate(step, _day(), built, dag_id=DAG_ID)

    @task(outlets=[MARTS])
    def publish_marts(audited: dict) -> dict:
        from kho.pipeline import publish_marts as step

        return step(_day(), audited, run_id=_run_id(), dag_id=DAG_ID)

    @task(outlets=[EXCHANGE])
    def export_kpis(_: dict) -> dict:
        from kho import exchange
        from kho.settings import get_settings

        run = exchange.export_all(get_settings(), export_run_id=_run_id())
        if not run.ok:
            raise RuntimeError("KPI export failed for " + "; ".join(f"{t}: {m}" for t, m in run.failures.items()))
        return {"exported": [r.as_dict() for r in run.results]}

    raw = ingest.expand(system=_systems())
    processed = process.expand(domain=_domains())
    raw >> processed
    integrated = integrate()
    processed >> integrated
    built = build_marts()
    integrated >> built
    export_kpis(publish_marts(audit_marts(built)))


city_pipeline()
