"""One processing DAG per domain of kho/processed, triggered by the raw tables it reads.

``process_<domain>`` runs when any raw table its processed tables read gets a new version
(Airflow Assets published by the ``ingest_<system>`` DAGs), and daily as a safety net. One
task per processed table, in the pool of that table (one writer per Delta table); each task
cleans only the raw batches it has not processed yet (spark_jobs/processed.py), so a run
triggered twice does nothing the second time. After each table, its processed suite runs on
the rows that came from the raw batches just processed (kho.quality_gate.check_processed); a
critical failure fails the task without retry (a retry would find no new batch and pass).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

from kho.processed.catalog import domains
from kho.quality_gate import rebuild_data_docs_index


def _process(table: str) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from kho import quality_gate
    from kho.settings import get_settings
    from kho.spark import get_spark
    from spark_jobs import processed

    context = get_current_context()
    settings = get_settings()
    day = context["logical_date"].date() if context.get("logical_date") else pendulum.now("UTC").date()
    quality_gate.warm_up()  # GX imports in the background while Spark runs
    try:
        summary = processed.run_logged(get_spark(settings, app_name=f"kho-process-{table}"), settings,
                                       logical_date=day, table=table, run_id=str(context["run_id"]))
        gate = quality_gate.check_processed(settings, table, summary, run_id=str(context["run_id"]),
                                            logical_date=day)
    except (processed.ReconciliationError, quality_gate.QualityGateFailed) as exc:  # retrying cannot help
        raise AirflowFailException(str(exc)) from exc
    return summary | {"quality": gate.as_dict()}


def _asset(ref) -> Asset:
    return Asset(name=str(ref).replace("/", "."), uri=f"file:///kho/{ref}")


def build(domain: str, tables):
    raw_assets = list({str(t.raw): _asset(t.raw) for t in tables}.values())

    @dag(
        dag_id=f"process_{domain}",
        description=f"raw -> processed for {', '.join(t.name for t in tables)}",
        schedule=raw_assets or "@daily",
        start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Ho_Chi_Minh"),
        catchup=False,
        max_active_runs=1,
        default_args={"owner": "kho-data-platform", "retries": int(os.environ.get("KHO_TASK_RETRIES", "2")),
                      "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True},
        tags=["processed", domain, "kho"],
        doc_md=__doc__,
    )
    def process():
        loads = [task(task_id=spec.name, pool=f"processed.{spec.domain}.{spec.name}",
                      outlets=[_asset(spec.ref)])(_process)(f"{domain}.{spec.name}") for spec in tables]
        loads >> task(task_id="data_docs", trigger_rule="all_done", retries=0)(rebuild_data_docs_index)()

    return process()


for _domain, _tables in domains().items():
    globals()[f"process_{_domain}"] = build(_domain, _tables)
