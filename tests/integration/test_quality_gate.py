"""Quality gates (kho.quality_gate) on real Delta tables, DuckDB and Great Expectations.

Small tables are written with delta-rs into a temporary lake, in the shapes the loader, the
processed job and the SCD2 merge write. Each test checks what an operator relies on: a broken
row in the new batch fails the gate naming the expectation and its row count, the results land
in ``_system/quality/quality_results``, and only the new batch is judged (an old bad row
outside it does not fail a new, clean batch).
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from kho import quality_gate
from kho.duck import connect
from kho.lake import QUALITY_RESULTS, RUN_LOG, TableRef
from kho.quality_gate import QualityGateFailed
from kho.quality_suites import commune_codes
from kho.settings import get_settings

pytestmark = pytest.mark.integration

REPO_GX = Path(__file__).resolve().parents[2] / "expectations" / "gx"
DAY = date(2026, 11, 27)
OLD, NEW = "population.citizen.20261126", "population.citizen.20261127"


@pytest.fixture
def lake(isolated_settings, tmp_path, monkeypatch):
    """Settings on a temporary lake and a temporary copy of the committed GX project."""
    root = tmp_path / "expectations"
    shutil.copytree(REPO_GX, root / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    monkeypatch.setenv("KHO_EXPECTATIONS_DIR", str(root))
    get_settings.cache_clear()
    return get_settings()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def raw_citizen_batch(batch: str, ids: list[int | None], day: date) -> pa.Table:
    """Rows as the loader writes raw/population/citizen (declared columns + ingestion columns)."""
    n = len(ids)
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "so_dinh_danh": [f"0310{i or 0:08d}" for i in ids],
        "ho_ten": [f"Nguyen Van {i}" for i in ids],
        "ngay_sinh": ["1990-01-01"] * n,
        "gioi_tinh": ["Nam"] * n,
        "ma_dvhc": ["11560"] * n,
        "dia_chi": ["So 1 Le Loi"] * n,
        "ngay_cap_nhat": ["2026-11-26 08:00:00"] * n,
        "_record_hash": [_sha(f"{batch}{i}") for i in ids],
        "_batch_id": [batch] * n,
        "_ingested_at": pa.array([datetime(2026, 11, 26, 20, tzinfo=timezone.utc)] * n, pa.timestamp("us", "UTC")),
        "_source_system": ["population"] * n,
        "_source_object": ["cong_dan"] * n,
        "_op": ["U"] * n,
        "_ingest_date": pa.array([day] * n, pa.date32()),
    })


def load_result(batch: str, rows: int) -> dict:
    """A LoadResult as it travels between Airflow tasks (``as_dict()``)."""
    return {"system": "population", "object": "citizen", "target": "raw/population/citizen", "batch_id": batch,
            "rows_written": rows, "interval": {"start": "2026-11-27T00:00:00+07:00"}}


def results(settings) -> list[dict]:
    with connect() as con:
        rel = con.sql(f"SELECT * FROM delta_scan('{QUALITY_RESULTS.path(settings)}') ORDER BY run_time")
        return [dict(zip(rel.columns, r)) for r in rel.fetchall()]


def test_raw_gate_checks_only_the_new_batch(lake) -> None:
    path = TableRef.parse("raw/population/citizen").path(lake)
    # yesterday's batch holds a row without its primary key; today's is clean
    write_deltalake(path, raw_citizen_batch(OLD, [1, 2, None], date(2026, 11, 26)), partition_by=["_ingest_date"])
    write_deltalake(path, raw_citizen_batch(NEW, [3, 4, 5, 6], DAY), mode="append", partition_by=["_ingest_date"])

    gate = quality_gate.check_load(lake, load_result(NEW, 4), run_id="t1")
    assert gate.passed and gate.rows == 4 and gate.batch_ids == (NEW,)
    assert gate.suite == "raw_population_citizen" and not gate.failures
    assert gate.data_docs and Path(gate.data_docs).is_file()
    # the first gate of a process may also wait for the GX import (started in the background)
    assert {"materialise", "validate", "record"} <= set(gate.timings) <= {"gx_import", "materialise", "validate", "record"}

    rows = results(lake)
    assert rows and {r["zone"] for r in rows} == {"raw"}
    assert {r["target"] for r in rows} == {"raw/population/citizen"}
    assert {r["batch_id"] for r in rows} == {NEW} and all(r["passed"] for r in rows)
    assert {r["run_id"] for r in rows} == {"t1"} and {r["logical_date"] for r in rows} == {"2026-11-27"}
    assert any(r["expectation"] == "expect_column_values_to_be_of_type" and r["column"] == "id" for r in rows)
    # the old batch really is bad: judged on its own, it fails
    with pytest.raises(QualityGateFailed, match="on column id failed on 1 of 3 rows"):
        quality_gate.check_load(lake, {**load_result(OLD, 3), "interval": {}}, run_id="t1")


def test_raw_gate_fails_naming_the_expectation_and_the_count(lake) -> None:
    path = TableRef.parse("raw/population/citizen").path(lake)
    write_deltalake(path, raw_citizen_batch(OLD, [1, 2], date(2026, 11, 26)), partition_by=["_ingest_date"])
    bad = raw_citizen_batch(NEW, [3, None, None, 6, 7], DAY)
    write_deltalake(path, bad, mode="append", partition_by=["_ingest_date"])

    with pytest.raises(QualityGateFailed) as err:
        quality_gate.check_load(lake, load_result(NEW, 5), run_id="t2", dag_id="ingest_population")
    message = str(err.value)
    assert "raw/population/citizen" in message and NEW in message and "raw_population_citizen" in message
    assert "expect_column_values_to_not_be_null on column id failed on 2 of 5 rows" in message
    [result] = err.value.results
    assert not result.passed and result.rows == 5 and len(result.failures) == 1

    failed = [r for r in results(lake) if not r["success"]]
    assert [(r["expectation"], r["column"], r["unexpected_count"], r["element_count"]) for r in failed] == [
        ("expect_column_values_to_not_be_null", "id", 2, 5)]
    assert failed[0]["severity"] == "critical" and failed[0]["batch_id"] == NEW
    # the run log says the gate failed, with what
    with connect() as con:
        status, details = con.sql(f"SELECT status, details FROM delta_scan('{RUN_LOG.path(lake)}') "
                                  "WHERE step = 'quality_raw'").fetchone()
    assert status == "failed" and "not_be_null on column id" in details


def test_nothing_loaded_is_skipped(lake) -> None:
    gate = quality_gate.check_load(lake, {**load_result(None, 0), "skipped": "no changes"})
    assert gate.passed and gate.skipped == "no changes" and gate.rows == 0


def processed_facility_rows(batch: str, rows: list[tuple[str, str, str]]) -> pa.Table:
    """processed/health/health_facility as spark_jobs/processed.py writes it (survivors)."""
    n = len(rows)
    return pa.table({
        "facility_code": [r[0] for r in rows], "facility_name": [f"Tram y te {r[0]}" for r in rows],
        "name_has_diacritics": [True] * n, "level": [r[1] for r in rows], "facility_type": ["health_station"] * n,
        "reported_unit_code": [r[2] for r in rows], "commune_code": [r[2] for r in rows],
        "commune_code_source": ["current"] * n, "quality_flags": pa.nulls(n, pa.string()),
        "record_id": [f"{r[0]}\u241f{_sha(r[0])}" for r in rows], "_completeness": pa.array([5] * n, pa.int32()),
        "_batch_id": [batch] * n, "_record_hash": [_sha(r[0]) for r in rows],
        "_ingested_at": pa.array([datetime(2026, 11, 27, tzinfo=timezone.utc)] * n, pa.timestamp("us", "UTC")),
        "_bk": [r[0] for r in rows],
        "_processed_at": pa.array([datetime(2026, 11, 27, tzinfo=timezone.utc)] * n, pa.timestamp("us", "UTC")),
    })


def test_processed_gate_on_the_raw_batches_of_the_run(lake) -> None:
    good, other = commune_codes()[0], commune_codes()[1]
    path = TableRef.parse("processed/health/health_facility").path(lake)
    old, new = "health.health_facility.20261126", "health.health_facility.20261127"
    # an earlier batch's row with an unknown level: not this run's business
    write_deltalake(path, processed_facility_rows(old, [("H001", "bogus", good)]))
    write_deltalake(path, processed_facility_rows(new, [("H002", "commune", good), ("H003", "city", other)]),
                    mode="append")
    summary = {"raw_batches": [new], "rows_read": 2}
    gate = quality_gate.check_processed(lake, "health.health_facility", summary, run_id="p1", logical_date=DAY)
    assert gate.passed and gate.rows == 2 and gate.suite == "processed_health_health_facility"

    # the next run brings a row with a commune code that is not one of the 114 units
    newer = "health.health_facility.20261128"
    write_deltalake(path, processed_facility_rows(newer, [("H004", "commune", "99999"), ("H005", "city", good)]),
                    mode="append")
    with pytest.raises(QualityGateFailed) as err:
        quality_gate.check_processed(lake, "health.health_facility", {"raw_batches": [newer]}, logical_date=DAY)
    assert "expect_column_values_to_be_in_set on column commune_code failed on 1 of 2 rows" in str(err.value)
    assert "level" not in str(err.value)  # the old bad row is outside the batch

    skipped = quality_gate.check_processed(lake, "health.health_facility", {"raw_batches": [],
                                                                            "skipped": "no new raw batches"})
    assert skipped.skipped == "no new raw batches"


def admin_unit_rows(rows: list[tuple[str, bool, datetime, datetime | None, str]]) -> pa.Table:
    """integrated/reference/admin_unit as spark_jobs/scd2.py writes it."""
    n = len(rows)
    ts = pa.timestamp("us", "UTC")
    return pa.table({
        "unit_code": [r[0] for r in rows], "unit_name": [f"Unit {r[0]}" for r in rows],
        "unit_type": ["phuong"] * n, "unit_full_name": [f"Phuong {r[0]}" for r in rows],
        "province_code": ["31"] * n, "former_district": ["Le Chan"] * n, "former_province": ["Hai Phong"] * n,
        "predecessor_codes": ["10500,10501"] * n, "split_predecessor_codes": [""] * n,
        "predecessor_count": pa.array([2] * n, pa.int32()), "attributes_hash": [_sha(r[0] + r[4]) for r in rows],
        "valid_from": pa.array([r[2] for r in rows], ts), "valid_to": pa.array([r[3] for r in rows], ts),
        "is_current": [r[1] for r in rows], "is_deleted": [False] * n, "_changed_batch": [r[4] for r in rows],
    })


def test_integrated_gate_finds_two_current_versions(lake) -> None:
    t1, t2 = datetime(2026, 11, 26, tzinfo=timezone.utc), datetime(2026, 11, 27, tzinfo=timezone.utc)
    path = TableRef.parse("integrated/reference/admin_unit").path(lake)
    write_deltalake(path, admin_unit_rows([
        ("10507", False, t1, t2, "admin_unit.20261126"), ("10507", True, t2, None, "admin_unit.20261127"),
        ("10508", True, t1, None, "admin_unit.20261126"),
    ]))
    summary = {"inserted": 0, "changed": 1, "deleted": 0}
    [gate] = quality_gate.check_integrated(lake, "admin_unit_integrated", summary, logical_date=DAY)
    assert gate.passed and gate.rows == 3 and gate.batch_ids == ("admin_unit.20261127",)

    # a broken merge: the old version of 10508 was not closed when the new one was inserted
    write_deltalake(path, admin_unit_rows([("10508", True, t2, None, "admin_unit.20261127")]), mode="append")
    with pytest.raises(QualityGateFailed) as err:
        quality_gate.check_integrated(lake, "admin_unit_integrated", summary, logical_date=DAY)
    assert "expect_column_values_to_be_unique on column unit_code failed on 2 of 3 rows" in str(err.value)

    nothing = quality_gate.check_integrated(lake, "admin_unit_integrated", {"inserted": 0, "changed": 0,
                                                                             "deleted": 0}, logical_date=DAY)
    assert nothing[0].skipped == "no entity changed in this run"


def test_large_entity_tables_are_checked_on_the_changed_keys_only(lake, monkeypatch) -> None:
    t1, t2 = datetime(2026, 11, 26, tzinfo=timezone.utc), datetime(2026, 11, 27, tzinfo=timezone.utc)
    path = TableRef.parse("integrated/reference/admin_unit").path(lake)
    write_deltalake(path, admin_unit_rows([
        # an old defect on a key this run did not touch
        ("10600", True, t1, None, "admin_unit.20261126"), ("10600", True, t1, None, "admin_unit.20261126"),
        # this run changed 10601: its closed and its new version are checked together
        ("10601", False, t1, t2, "admin_unit.20261126"), ("10601", True, t2, None, "admin_unit.20261127"),
    ]))
    monkeypatch.setattr(quality_gate, "SMALL_TABLE_ROWS", 1)
    [gate] = quality_gate.check_integrated(lake, "admin_unit_integrated", {"changed": 1}, logical_date=DAY)
    assert gate.passed and gate.rows == 2


def test_gates_leave_the_committed_suites_untouched(lake, tmp_path) -> None:
    path = TableRef.parse("raw/population/citizen").path(lake)
    write_deltalake(path, raw_citizen_batch(NEW, [1, 2], DAY), partition_by=["_ingest_date"])
    quality_gate.check_load(lake, load_result(NEW, 2))
    quality_gate.check_load(lake, load_result(NEW, 2))  # the same scratch file and GX objects, reused
    copy = tmp_path / "expectations" / "gx"
    for rel in ("great_expectations.yml", "expectations/raw_population_citizen.json"):
        assert (copy / rel).read_bytes() == (REPO_GX / rel).read_bytes(), rel
    scratch = quality_gate.scratch_db(lake, "raw", "raw/population/citizen")
    assert scratch.is_file() and len(list(scratch.parent.glob("*.duckdb"))) == 1
