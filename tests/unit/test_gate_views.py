"""kho.gate_views: a gate's batch as a DuckDB view over the Delta table's own files.

The view must hold exactly the rows a copy would (same values, same types, partition
column included), read only the files that may hold the batch, and step aside (None) where
it would be wrong: object stores, schema evolution, deletion vectors.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from kho.gate_views import batch_files, create_batch_view, may_hold


def _batch(batch: str, ids: list[int], day: date) -> pa.Table:
    n = len(ids)
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "ho_ten": [f"Nguyen Van {i}" for i in ids],
        "_batch_id": [batch] * n,
        "_ingest_date": pa.array([day] * n, pa.date32()),
    })


@pytest.fixture
def table(tmp_path) -> str:
    path = str(tmp_path / "raw" / "population" / "citizen")
    write_deltalake(path, _batch("b1", [1, 2, 3], date(2026, 11, 26)), partition_by=["_ingest_date"])
    write_deltalake(path, _batch("b2", [4, 5], date(2026, 11, 27)), partition_by=["_ingest_date"], mode="append")
    write_deltalake(path, _batch("b3", [6], date(2026, 11, 27)), partition_by=["_ingest_date"], mode="append")
    return path


def test_may_hold_is_conservative_with_missing_and_truncated_statistics() -> None:
    assert may_hold(["b2"], "b1", "b3")
    assert not may_hold(["b4"], "b1", "b3")
    assert not may_hold(["a"], "b1", "b3")
    assert may_hold(["b2"], None, None)
    # a maximum truncated to a prefix: "population.citizen.2026" stands for longer values
    assert may_hold(["population.citizen.20261127"], "population.citizen.2026", "population.citizen.2026")


def test_only_the_files_that_may_hold_the_batch_are_read(table) -> None:
    files, _ = batch_files(table, "_batch_id", ["b2"])
    assert len(files) == 1 and "_ingest_date=2026-11-27" in files[0]
    assert len(batch_files(table, "_batch_id", ["b1", "b3"])[0]) == 2
    assert batch_files(table, "_batch_id", ["nope"])[0] == []


def test_the_view_holds_what_a_copy_would(table, tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "gate.duckdb"))
    assert create_batch_view(con, "citizen", table, "_batch_id", ["b2", "b3"]) == 3
    view = con.execute("SELECT id, ho_ten, _batch_id, _ingest_date FROM citizen ORDER BY id").fetchall()
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'citizen'").fetchall())
    con.close()
    copy = DeltaTable(table).to_pyarrow_dataset().to_table().to_pylist()
    expected = sorted((r["id"], r["ho_ten"], r["_batch_id"], r["_ingest_date"]) for r in copy
                      if r["_batch_id"] in ("b2", "b3"))
    assert view == expected
    assert types["_ingest_date"] == "DATE" and types["id"] == "BIGINT"


def test_the_view_can_be_read_by_a_read_only_connection(table, tmp_path) -> None:
    db = tmp_path / "gate.duckdb"
    con = duckdb.connect(str(db))
    create_batch_view(con, "citizen", table, "_batch_id", ["b1"])
    con.close()
    ro = duckdb.connect(str(db), read_only=True)
    assert ro.execute("SELECT count(*) FROM citizen").fetchone()[0] == 3
    ro.close()


def test_an_empty_batch_is_zero_rows(table, tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "gate.duckdb"))
    assert create_batch_view(con, "citizen", table, "_batch_id", ["nope"]) == 0


def test_a_column_added_after_the_batch_makes_it_copy(table, tmp_path) -> None:
    later = _batch("b4", [7], date(2026, 11, 28)).append_column("so_dien_thoai", pa.array(["0912345678"]))
    write_deltalake(table, later, partition_by=["_ingest_date"], mode="append", schema_mode="merge")
    con = duckdb.connect(str(tmp_path / "gate.duckdb"))
    assert create_batch_view(con, "citizen", table, "_batch_id", ["b1"]) is None  # b1's file lacks the column
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'citizen'").fetchone()[0] == 0
    assert create_batch_view(con, "citizen", table, "_batch_id", ["b4"]) == 1


def test_an_object_store_table_is_left_to_the_copy() -> None:
    assert batch_files("s3://raw/population/citizen", "_batch_id", ["b1"]) is None
