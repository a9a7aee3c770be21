"""The processed-zone job (spark_jobs/processed.py) on the residence register: incremental runs
equal a full rebuild, deletes and changes flow through, and a lost row fails loudly."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import date, timedelta

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from kho.ingest.loader import day_interval, load_object
from kho.ingest.registry import load_registry
from kho import lake
from kho.lake import read_delta_arrow
from kho.processed.population import TABLES
from kho.settings import get_settings
from kho.sources import population
from spark_jobs import processed

pytestmark = [pytest.mark.integration, pytest.mark.spark]

DAY = date(2026, 11, 27)
SPEC = TABLES[0]
VOLATILE = {"_processed_at", "_recorded_at", "_quarantined_at", "_ingested_at"}


@pytest.fixture(scope="module")
def spark():
    from kho.spark import get_spark

    return get_spark(get_settings(), app_name="kho-tests-processed")


@pytest.fixture
def register(isolated_settings, tmp_path, monkeypatch):
    db = tmp_path / "population.sqlite"
    population.generate(f"sqlite:///{db}", seed=8, sf=0.02)
    monkeypatch.setenv("AIRFLOW_CONN_KHO_SRC_POPULATION", f"sqlite:///{db}")
    get_settings.cache_clear()
    return db


def _ingest(day: date) -> None:
    source = load_registry().get("population")
    load_object(get_settings(), source, source.object("citizen"), day_interval(day))


def _snapshot(ref) -> list[tuple]:
    table = read_delta_arrow(ref.path(get_settings()))
    table = table.drop_columns([c for c in table.column_names if c in VOLATILE])
    return sorted(tuple(str(v) for v in row.values()) for row in table.to_pylist())


def _state() -> dict[str, list[tuple]]:
    return {name: _snapshot(getattr(SPEC, name)) for name in ("ref", "records", "duplicates", "quarantine")}


def test_incremental_runs_equal_a_full_rebuild(spark, register):
    from spark_jobs import citizen_integrated

    _ingest(DAY)
    first = processed.run(spark, get_settings(), logical_date=DAY, table=SPEC)
    citizen_integrated.run(spark, get_settings(), logical_date=DAY)
    assert first["rows_read"] == first["quarantined"] + first["valid"]
    assert first["records"] == first["processed"] + first["duplicates"] and first["quarantined"] > 0

    with sqlite3.connect(register) as con:  # the next day: changes, deletes, a new duplicate, a new fault
        con.execute("UPDATE cong_dan SET dia_chi = dia_chi || ' (mới)', ngay_cap_nhat = '2026-11-28 09:00:00' "
                    "WHERE id % 50 = 0")
        con.execute("DELETE FROM cong_dan WHERE id % 97 = 0")
        con.execute("INSERT INTO cong_dan (id, so_dinh_danh, ho_ten, ngay_sinh, gioi_tinh, ma_dvhc, dia_chi, "
                    "ngay_cap_nhat) SELECT id + 1000000, so_dinh_danh, ho_ten, ngay_sinh, gioi_tinh, ma_dvhc, dia_chi, "
                    "'2026-11-28 10:00:00' FROM cong_dan WHERE id % 101 = 3")
        con.execute("UPDATE cong_dan SET ngay_sinh = '31/02/1990' WHERE id % 89 = 5")
    _ingest(DAY + timedelta(days=1))
    second = processed.run(spark, get_settings(), logical_date=DAY + timedelta(days=1), table=SPEC)
    assert second["raw_batches"] == ["population.citizen.20261128"] and second["tombstones"] > 0
    again = processed.run(spark, get_settings(), logical_date=DAY + timedelta(days=1), table=SPEC)
    assert again.get("skipped") == "no new raw batches"
    integrated = citizen_integrated.run(spark, get_settings(), logical_date=DAY + timedelta(days=1))
    assert integrated["changed"] > 0 and integrated["deleted"] > 0 and integrated["compared"] < first["processed"] / 2
    assert integrated["changes_from"].startswith("change data feed")   # not a comparison of every citizen
    # the incremental integration (only survivors processed since the watermark) missed nothing:
    # comparing every citizen finds no further change
    full = citizen_integrated.run(spark, get_settings(), logical_date=DAY + timedelta(days=1), full_rebuild=True)
    assert (full["inserted"], full["changed"], full["deleted"]) == (0, 0, 0)
    incremental = _state()

    rebuilt = processed.run(spark, get_settings(), logical_date=DAY + timedelta(days=1), table=SPEC, full_rebuild=True)
    assert rebuilt["raw_batches"] == ["population.citizen.20261127", "population.citizen.20261128"]
    assert _state() == incremental  # row for row, every table
    # the rebuild rewrote every survivor: the next integration reads that from the change feed
    # (or, if the feed cannot say, compares every citizen) and finds nothing new
    after = citizen_integrated.run(spark, get_settings(), logical_date=DAY + timedelta(days=2))
    assert (after["inserted"], after["changed"], after["deleted"]) == (0, 0, 0)

    with sqlite3.connect(register) as con:
        live = con.execute("SELECT count(*) FROM cong_dan").fetchone()[0]
    n_quarantined_live = len({r[3] for r in incremental["quarantine"]})  # distinct record ids ever rejected
    assert rebuilt["records"] <= live and rebuilt["records"] + n_quarantined_live >= live


def test_a_rule_that_loses_a_row_fails_the_run_and_marks_nothing(spark, register):
    _ingest(DAY)

    def lossy(batch: pa.Table, as_of: date) -> pa.Table:
        return SPEC.clean(batch, as_of).slice(1)

    broken = dataclasses.replace(SPEC, name="citizen_lossy", clean=lossy)
    with pytest.raises(Exception, match="must keep every row"):
        processed.run(spark, get_settings(), logical_date=DAY, table=broken)
    assert processed.processed_batches(spark, get_settings(), broken) == set()


def test_a_failed_audit_restores_every_table_the_run_changed(spark, register):
    """What audit_processed does on a critical failure: the tables have deletion vectors, so
    the restore goes through Spark (delta-rs cannot write them); the next run redoes the batch."""
    from kho import pipeline

    settings = get_settings()
    _ingest(DAY)
    processed.run(spark, settings, logical_date=DAY, table=SPEC)
    tables = pipeline._process_state_tables(settings)
    before = {name: lake.delta_version(path) for name, path in tables.items()}
    state = {name: _snapshot(getattr(SPEC, name)) for name in ("ref", "records", "duplicates")}
    with sqlite3.connect(register) as con:
        con.execute("UPDATE cong_dan SET dia_chi = dia_chi || ' (mới)', ngay_cap_nhat = '2026-11-28 09:00:00' "
                    "WHERE id % 40 = 0")
        con.execute("DELETE FROM cong_dan WHERE id % 97 = 0")
    _ingest(DAY + timedelta(days=1))
    second = processed.run(spark, settings, logical_date=DAY + timedelta(days=1), table=SPEC)
    assert second["valid"] > 0 and second["tombstones"] > 0
    assert lake.has_deletion_vectors(DeltaTable(SPEC.ref.path(settings)))

    rolled = dict(r.split(" to version ") for r in pipeline._restore(settings, before))
    assert set(rolled) >= {str(SPEC.ref), str(SPEC.records), str(processed.BATCHES)}
    assert all(int(version) == before[name] for name, version in rolled.items())
    assert {name: _snapshot(getattr(SPEC, name)) for name in state} == state
    again = processed.run(spark, settings, logical_date=DAY + timedelta(days=1), table=SPEC)
    assert again["raw_batches"] == second["raw_batches"] and again["processed"] == second["processed"]
