"""Generated ingestion DAGs run through Airflow (`airflow dags test`), pools declared from the registry."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from datetime import date

import pytest

from kho.airflow_runner import run_dag

pytestmark = [pytest.mark.e2e]

DAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    from kho.settings import get_settings
    from kho.sources import registry as generators

    root = tmp_path_factory.mktemp("ingest-dags")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KHO_LAKE_ROOT", str(root / "lake"))
        mp.setenv("KHO_STATE_DIR", str(root / "state"))
        get_settings.cache_clear()
        settings = get_settings()
        generators.up(settings.sources_dir, sf=0.02, seed=21, only=("health", "iot"))
        yield settings
    get_settings.cache_clear()


def _count(path: str) -> int:
    from kho.lake import delta_row_count

    return delta_row_count(path)


def test_generated_dags_load_a_database_and_a_stream_and_rerun_adds_nothing(city):
    settings = city
    lake = settings.lake_root
    for dag_id in ("ingest_health", "ingest_iot"):
        result = run_dag(settings, dag_id, DAY)
        assert result.ok, f"{dag_id}: {result.failed_tasks} {result.error} (log {result.log_file})"
    with sqlite3.connect(settings.sources_dir / "health.sqlite") as con:
        facilities = con.execute("SELECT count(*) FROM co_so_kham_chua_benh").fetchone()[0]
        reports = con.execute("SELECT count(*) FROM luot_kham WHERE ngay_bao_cao < '2026-11-28'").fetchone()[0]
    assert _count(f"{lake}/raw/health/health_facility") == facilities
    assert _count(f"{lake}/raw/health/visit_report") == reports
    events = sum(1 for f in (settings.sources_dir / "iot").glob("iot_*.jsonl") for line in f.open() if line.strip())
    assert _count(f"{lake}/raw/iot/sensor_event") == events

    # iot/station runs @daily (local midnight) inside the @hourly DAG: not due for this run, skipped
    assert not (Path(lake) / "raw" / "iot" / "station").exists()
    before = {t: _count(f"{lake}/raw/{t}") for t in ("health/health_facility", "health/visit_report",
                                                      "iot/sensor_event")}
    for dag_id in ("ingest_health", "ingest_iot"):
        assert run_dag(settings, dag_id, DAY).ok
    assert {t: _count(f"{lake}/raw/{t}") for t in before} == before


def test_pools_exist_for_every_raw_table(city):
    import json
    import subprocess

    from kho.airflow_runner import _airflow, airflow_env
    from kho.ingest.registry import load_registry

    out = subprocess.run([_airflow(), "pools", "list", "--output", "json"], env=airflow_env(city),
                         capture_output=True, text=True, check=True).stdout
    pools = {p["pool"]: int(p["slots"]) for p in json.loads(out[out.index("["):])}
    for _, obj in load_registry().objects():
        assert pools.get(obj.pool) == 1


def test_generated_processing_dag_cleans_what_the_ingest_dag_loaded(city):
    """process_health (triggered by the raw Assets in production) through Airflow: every raw row accounted for."""
    from deltalake import DeltaTable

    settings = city
    result = run_dag(settings, "process_health", DAY)
    assert result.ok, f"process_health: {result.failed_tasks} {result.error} (log {result.log_file})"
    lake = settings.lake_root
    for table in ("health_facility", "visit_report"):
        raw = _count(f"{lake}/raw/health/{table}")
        quarantined = _count(f"{lake}/quarantine/health/{table}") if (Path(lake) / "quarantine/health" / table).exists() else 0
        records = _count(f"{lake}/processed/health/{table}_records")
        collapsed = sum(DeltaTable(f"{lake}/processed/health/{table}_collapsed").to_pyarrow_table()["extra_copies"]
                        .to_pylist())
        assert raw == quarantined + records + collapsed
        assert records == _count(f"{lake}/processed/health/{table}") + _count(f"{lake}/processed/health/{table}_duplicates")
    assert run_dag(settings, "process_health", DAY).ok  # nothing new: a no-op run
    log = [r for r in DeltaTable(f"{lake}/_system/pipeline/run_log").to_pyarrow_table().to_pylist()
           if r["dag_id"] == "process_health" and r["step"] == "process"]
    assert {r["target"] for r in log} == {f"processed/health/{t}" for t in ("health_facility", "visit_report",
                                                                             "visit_sample")}
    assert all(r["status"] == "success" and r["rows_in"] == r["rows_out"] + r["rows_quarantined"] for r in log)
