"""The DAG factory: one DAG per registered source, one task per object, in its table's pool."""

from __future__ import annotations

import importlib

from kho.ingest.registry import load_registry


def test_one_dag_per_source_system_with_pools_and_backoff():
    module = importlib.import_module("dags.ingest_sources")
    registry = load_registry()
    dags = {name: obj for name, obj in vars(module).items() if name.startswith("ingest_") and hasattr(obj, "tasks")}
    assert set(dags) == {f"ingest_{s.system}" for s in registry}
    for source in registry:
        dag = dags[f"ingest_{source.system}"]
        loads = [t for t in dag.tasks if t.task_id != "data_docs"]
        assert {t.task_id: t.pool for t in loads} == {o.name: o.pool for o in source.objects}
        assert all(t.retry_exponential_backoff for t in loads)
        docs = dag.get_task("data_docs")  # the Data Docs index, once after every load, even failed ones
        assert docs.upstream_task_ids == {o.name for o in source.objects} and docs.trigger_rule == "all_done"
        assert dag.max_active_runs == 1 and not dag.catchup
    assert dags["ingest_dossiers"].timetable.expression == "0 * * * *"       # @hourly, the source's cadence
    assert dags["ingest_civil_status"].timetable.expression == "0 2 * * *"
