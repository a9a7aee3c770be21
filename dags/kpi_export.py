"""Scheduled KPI export for the IOC: every IOC KPI table as immutable CSV/Parquet versions.

    discover_tables -> export_table (one mapped task per table) -> write_index

* schedule, tables, formats and retention come from ``kho/exports.yaml`` (default 06:00
  Asia/Ho_Chi_Minh every day); ``KHO_KPI_EXPORT_SCHEDULE`` overrides the schedule;
* ``discover_tables`` lists the published tables under ``topic/ioc/`` (or the configured
  list), so a new dashboard area is exported without touching this file;
* each mapped ``export_table`` writes ``exchange/ioc/<table>/v<delta version>/`` and moves
  ``latest.json``; a version that failed its quality audit, or an existing version folder
  that no longer verifies, fails that table's task at once (a retry would fail the same way)
  and leaves the IOC's ``latest`` on the previous good version;
* ``write_index`` runs even when a table failed, so the index lists what was exported, and
  then fails the run naming the tables that were not.

The DAG holds no logic: every step is a function of ``kho.exchange`` (docs/ioc_exchange.md).
Run it without a scheduler: ``kho run kpi_export``; or without Airflow: ``kho export kpis``.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronTriggerTimetable, dag, get_current_context, task

from kho.exchange import load_export_config

CONFIG = load_export_config()  # an invalid file fails the DAG import with a message naming the field
EXCHANGE = Asset(name="exchange.ioc", uri="file:///kho/exchange/ioc")
NON_RETRYABLE = ("ExportRefused", "ExportMismatch")


def _settings():
    from kho.settings import get_settings

    return get_settings()


@dag(
    dag_id="kpi_export",
    description="IOC KPI tables (topic/ioc) -> exchange/ioc: CSV + Parquet + manifest per Delta version",
    schedule=CronTriggerTimetable(CONFIG.cron, timezone=CONFIG.timezone) if CONFIG.cron else None,
    start_date=pendulum.datetime(2026, 1, 1, tz=CONFIG.timezone),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "kho-data-platform", "retries": int(os.environ.get("KHO_TASK_RETRIES", "2")),
                  "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True},
    tags=["export", "ioc", "topic", "kho"],
    doc_md=__doc__,
)
def kpi_export():
    @task
    def discover_tables() -> list[str]:
        from kho.exchange import tables_to_export

        return tables_to_export(_settings(), load_export_config())

    @task(map_index_template="{{ ioc_table }}")  # the UI names each mapped instance by its table
    def export_table(name: str) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from kho.exchange import export_named

        context = get_current_context()
        context["ioc_table"] = name  # type: ignore[typeddict-unknown-key]
        try:
            result = export_named(_settings(), name, load_export_config(),
                                  export_run_id=str(context["run_id"]), update_index=False)
        except Exception as exc:
            if type(exc).__name__ in NON_RETRYABLE:
                raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
            raise
        return result.as_dict()

    @task(trigger_rule="all_done", outlets=[EXCHANGE])
    def write_index(tables: list[str], exported: list[dict]) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from kho.exchange import write_index as rebuild

        index = rebuild(_settings())
        missing = sorted(set(tables or []) - {r["table"] for r in (exported or [])})
        if missing:
            raise AirflowFailException(f"not exported: {', '.join(missing)} (see their export_table task logs); "
                                       "their latest.json still points at the previous version")
        return {t: v["latest"] for t, v in index["tables"].items()}

    tables = discover_tables()
    write_index(tables, export_table.expand(name=tables))


kpi_export_dag = kpi_export()
