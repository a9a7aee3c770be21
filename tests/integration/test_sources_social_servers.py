"""Civil status and health into a real PostgreSQL server.

Each test generates into its own schema (``search_path`` in the connection URL), so it
neither sees nor disturbs other tables of the shared ``kho_sources`` database. Checked:
the row counts the generator reports are the rows the server holds, the typed columns
(DATE, TIMESTAMP, BOOLEAN) hold what SQLite holds as text, and Vietnamese text round-trips
byte-exact (NFC, UTF-8) from the generator to the server and back.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from kho.sources import civil_status, health
from tests.support.servers import fresh_pg_schema

pytestmark = pytest.mark.integration

SEED = 5
SF = 0.05


@pytest.fixture
def pg_schema_url(pg_dsn: str) -> Iterator[str]:
    """A fresh schema; the URL sets it as the search path for every connection."""
    with fresh_pg_schema(pg_dsn, "kho_social") as url:
        yield url


def _fetch(url: str, sql: str) -> list[tuple]:
    import psycopg2

    con = psycopg2.connect(url, connect_timeout=10)
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        con.close()


def test_civil_status_into_postgresql(pg_schema_url: str, tmp_path: Path) -> None:
    stats = civil_status.generate(pg_schema_url, seed=SEED, sf=SF)
    for table, rows in stats.rows.items():
        assert _fetch(pg_schema_url, f"SELECT count(*) FROM {table}")[0][0] == rows, table
    assert stats.rows["khai_sinh"] > 50 and stats.rows["khai_tu"] > 10
    types = dict(_fetch(pg_schema_url, "SELECT column_name, data_type FROM information_schema.columns "
                                       "WHERE table_name = 'khai_tu' AND table_schema = current_schema()"))
    assert types["ngay_mat"] == "date" and types["ngay_cap_nhat"].startswith("timestamp")

    # the same generation into SQLite: the same rows, typed on the server
    lite = civil_status.generate(f"sqlite:///{tmp_path / 'cs.sqlite'}", seed=SEED, sf=SF)
    assert lite.rows == stats.rows and lite.links == stats.links and lite.faults == stats.faults
    pg_rows = _fetch(pg_schema_url, "SELECT id, so_dang_ky, ho_ten_nguoi_mat, so_cccd_nguoi_mat, ngay_mat, "
                                    "ngay_dang_ky, nguyen_nhan FROM khai_tu ORDER BY id")
    with sqlite3.connect(tmp_path / "cs.sqlite") as con:
        lite_rows = con.execute("SELECT id, so_dang_ky, ho_ten_nguoi_mat, so_cccd_nguoi_mat, ngay_mat, "
                                "ngay_dang_ky, nguyen_nhan FROM khai_tu ORDER BY id").fetchall()
    as_text = [tuple(v.isoformat() if isinstance(v, date) else v for v in row) for row in pg_rows]
    assert as_text == lite_rows

    # Vietnamese text: equal in Python, NFC, and the server holds the UTF-8 bytes
    names = _fetch(pg_schema_url, "SELECT ho_ten_tre, char_length(ho_ten_tre), octet_length(ho_ten_tre) "
                                  "FROM khai_sinh WHERE ho_ten_tre IS NOT NULL")
    accented = [(n, c, o) for n, c, o in names if any(ord(ch) > 127 for ch in n)]
    assert len(accented) > 0.8 * len(names)
    for name, n_chars, n_bytes in accented:
        assert (n_chars, n_bytes) == (len(name), len(name.encode("utf-8")))
    with sqlite3.connect(tmp_path / "cs.sqlite") as con:
        lite_names = [r[0] for r in con.execute("SELECT ho_ten_tre FROM khai_sinh WHERE ho_ten_tre IS NOT NULL "
                                                "ORDER BY id")]
    assert [n for n, *_ in _fetch(pg_schema_url, "SELECT ho_ten_tre FROM khai_sinh WHERE ho_ten_tre IS NOT NULL "
                                                 "ORDER BY id")] == lite_names
    sample = next(n for n, *_ in accented if unicodedata.is_normalized("NFC", n))
    assert _fetch(pg_schema_url, f"SELECT count(*) FROM khai_sinh WHERE ho_ten_tre = '{sample}'")[0][0] >= 1


def test_health_into_postgresql(pg_schema_url: str) -> None:
    stats = health.generate(pg_schema_url, seed=SEED, sf=SF)
    for table, rows in stats.rows.items():
        assert _fetch(pg_schema_url, f"SELECT count(*) FROM {table}")[0][0] == rows, table
    by_insurance = dict(_fetch(pg_schema_url, "SELECT co_bhyt, count(*) FROM luot_kham GROUP BY co_bhyt"))
    assert set(by_insurance) == {True, False}
    names = [r[0] for r in _fetch(pg_schema_url, "SELECT ten FROM co_so_kham_chua_benh WHERE loai = 'tram_y_te'")]
    assert "Trạm Y tế Phường Thủy Nguyên" in names
    station = _fetch(pg_schema_url, "SELECT octet_length(ten), char_length(ten) FROM co_so_kham_chua_benh "
                                    "WHERE ten = 'Trạm Y tế Phường Thủy Nguyên'")[0]
    assert station == (len("Trạm Y tế Phường Thủy Nguyên".encode()), len("Trạm Y tế Phường Thủy Nguyên"))
    visits = _fetch(pg_schema_url, "SELECT min(ngay_kham), max(ngay_kham), count(*) FILTER (WHERE co_bhyt) "
                                   "FROM luot_kham_chi_tiet")[0]
    assert visits[0] >= date(2024, 1, 1) and visits[1] <= date(2026, 10, 31) and visits[2] > 0
