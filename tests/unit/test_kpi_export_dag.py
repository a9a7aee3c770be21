"""The kpi_export DAG: scheduled from kho/exports.yaml (or the environment), one mapped task per table."""

from __future__ import annotations

import importlib

import pytest

from kho.exchange import SCHEDULE_ENV, ExportConfigError, load_export_config


def _load(monkeypatch, schedule: str | None = None):
    if schedule is None:
        monkeypatch.delenv(SCHEDULE_ENV, raising=False)
    else:
        monkeypatch.setenv(SCHEDULE_ENV, schedule)
    module = importlib.import_module("dags.kpi_export")
    return importlib.reload(module)


def test_the_dag_is_scheduled_from_the_yaml_with_mapped_exports_then_the_index(monkeypatch):
    module = _load(monkeypatch)
    dag = module.kpi_export_dag
    config = load_export_config(env={})
    assert dag.dag_id == "kpi_export" and dag.max_active_runs == 1 and not dag.catchup
    assert dag.timetable.expression == config.cron == "0 6 * * *"
    assert str(dag.timetable.timezone) == config.timezone == "Asia/Ho_Chi_Minh"

    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == {"discover_tables", "export_table", "write_index"}
    export = tasks["export_table"]
    assert type(export).__name__.endswith("MappedOperator")  # dynamic task mapping over the discovered tables
    assert export.upstream_task_ids == {"discover_tables"}
    assert tasks["write_index"].upstream_task_ids == {"discover_tables", "export_table"}
    assert str(tasks["write_index"].trigger_rule) in ("all_done", "TriggerRule.ALL_DONE")
    assert [o.uri for o in tasks["write_index"].outlets] == ["file:///kho/exchange/ioc"]


def test_the_environment_overrides_the_schedule(monkeypatch):
    try:
        assert _load(monkeypatch, "15 5 * * 1-5").kpi_export_dag.timetable.expression == "15 5 * * 1-5"
        assert _load(monkeypatch, "@weekly").kpi_export_dag.timetable.expression == "0 0 * * 0"
        assert type(_load(monkeypatch, "none").kpi_export_dag.timetable).__name__ == "NullTimetable"  # manual runs only
        with pytest.raises(ExportConfigError, match=f"{SCHEDULE_ENV}: .*is not a valid cron"):
            _load(monkeypatch, "0 24 * * *")
    finally:
        _load(monkeypatch)  # leave the module as the repository configures it
