"""One ingestion DAG per source system, generated from the source registry.

Nothing here is specific to a source: ``kho/ingest/sources/<system>.yaml`` declares the system
(cadence, connection id, objects) and this file turns every declaration into a DAG
``ingest_<system>`` with one task per object. Adding a source is adding a YAML file.

* schedule = the system's cadence; an object with its own, slower cadence skips the runs
  that are not due for it;
* each task loads exactly its run's data interval (``kho.ingest.loader``);
* each task runs in the Airflow pool of its raw table (``raw.<domain>.<object>``, one slot),
  so two writers never race on one Delta table (create the pools with ``kho airflow pools``);
* connections come from Airflow Connections or ``AIRFLOW_CONN_<ID>`` variables;
* retries with exponential backoff; a schema-policy or reconciliation failure fails at once
  (retrying would fail the same way, and the message says what to decide);
* after the load, the object's raw contract suite (``raw_<system>_<object>``) runs on the new
  batch only (kho.quality_gate.check_load); a failed contract fails the task without retry;
* a last task, ``data_docs``, rebuilds the Data Docs index once for the whole run.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

from kho.ingest.registry import load_registry, raw_table
from kho.quality_gate import rebuild_data_docs_index

NON_RETRYABLE = ("SchemaPolicyError", "SourceSchemaError", "ReconciliationError", "DuplicateBatchError",
                 "ConnectionNotFound", "QualityGateFailed")


def _load(system: str, object_name: str) -> list[dict]:
    """The task body: load one object for the run's data interval; never retry a contract breach."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from kho import quality_gate
    from kho.ingest.loader import Interval, is_due, load_object
    from kho.settings import get_settings

    context = get_current_context()
    source = load_registry().get(system)
    obj = source.object(object_name)
    start, end = context["data_interval_start"], context["data_interval_end"]
    interval = Interval(start, end) if end > start else Interval(start, start + timedelta(days=1))
    if obj.cadence and not is_due(obj.cadence, interval, source.timezone):
        raise AirflowSkipException(f"{object_name} runs on {obj.cadence}; not due for this interval")
    settings = get_settings()
    # No quality_gate.warm_up() here: a load is CPU-bound Python and Arrow, and importing GX
    # beside it on two cores made the population load twice as slow (bench/quality_overhead.py).
    try:
        results = load_object(settings, source, obj, interval, run_id=str(context["run_id"]),
                              dag_id=f"ingest_{system}")
        gate = quality_gate.check_load(settings, results, run_id=str(context["run_id"]), dag_id=f"ingest_{system}")
    except Exception as exc:
        if type(exc).__name__ in NON_RETRYABLE:
            raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
        raise
    return [r.as_dict() | {"files": len(r.files), "quality": gate.as_dict()} for r in results]


def build(system: str):
    """The DAG of one registered source system."""
    source = load_registry().get(system)

    @dag(
        dag_id=f"ingest_{source.system}",
        description=f"{source.title} -> raw/{source.domain}",
        schedule=None if source.cadence == "@once" else source.cadence,
        start_date=pendulum.datetime(2026, 1, 1, tz=source.timezone),
        catchup=False,
        max_active_runs=1,
        default_args={"owner": source.owner[:60], "retries": int(os.environ.get("KHO_TASK_RETRIES", "3")),
                      "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True,
                      "max_retry_delay": timedelta(minutes=30)},
        tags=["ingest", source.transport, source.domain, "kho"],
        doc_md=f"**{source.title}**\n\nOwner: {source.owner}\n\n{source.description}\n\n"
               f"Declared in `kho/ingest/sources/{source.system}.yaml`.",
    )
    def ingest():
        loads = []
        for obj in source.objects:
            ref = raw_table(source, obj)
            loads.append(task(task_id=obj.name, pool=obj.pool,
                              outlets=[Asset(name=str(ref).replace("/", "."), uri=f"file:///kho/{ref}")],
                              doc_md=f"{obj.description} `{obj.source}` -> `{ref}` ({obj.load_mode})")(_load)(
                source.system, obj.name))
        loads >> task(task_id="data_docs", trigger_rule="all_done", retries=0)(rebuild_data_docs_index)()

    return ingest()


for _source in load_registry():
    globals()[f"ingest_{_source.system}"] = build(_source.system)
