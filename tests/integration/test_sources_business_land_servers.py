"""The business registration database into MariaDB, land and construction permits into PostgreSQL.

Each system is generated twice with the same seed, once into the real server and once into a
SQLite file; the server must hold exactly the rows the stats report, and exactly the SQLite rows
(so Vietnamese text, numbers and WKT round-trip through the drivers unchanged).
"""

from __future__ import annotations

import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from kho.sources import dbapi, enterprise, land, permits

pytestmark = pytest.mark.integration

SEED = 5
SF = 0.05


def _server_rows(url: str, table: str, order: str) -> list[tuple[Any, ...]]:
    with dbapi.connect(url) as con:
        cur = con.cursor()
        cur.execute(f"SELECT * FROM {table} ORDER BY {order}")
        return [tuple(r) for r in cur.fetchall()]


def _sqlite_rows(path: Path, table: str, order: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return [tuple(r) for r in con.execute(f"SELECT * FROM {table} ORDER BY {order}")]
    finally:
        con.close()


def _server_columns(url: str, table: str) -> list[str]:
    with dbapi.connect(url) as con:
        cur = con.cursor()
        cur.execute(f"SELECT * FROM {table} WHERE 1 = 0")
        return [d[0] for d in cur.description]


def _normalise(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Numbers as the drivers return them (Decimal/int/float) compared as floats where fractional."""
    out = []
    for row in rows:
        out.append(tuple(float(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, (int, bool)) else v
                         for v in row))
    return out


# Orders that make the comparison independent of insertion order (duplicates included).
ORDERS = {
    "doanh_nghiep": "ma_so_doanh_nghiep, ngay_cap_nhat, ten_doanh_nghiep",
    "ho_kinh_doanh": "so_dang_ky, ngay_cap_nhat, ten_ho_kinh_doanh",
    "thay_doi_dang_ky": "id",
    "thua_dat": "ma_dvhc, so_to_ban_do, so_thua, ngay_cap_nhat, dien_tich",
    "giay_chung_nhan": "so_phat_hanh, so_vao_so, ngay_cap",
    "giao_dich": "id",
    "giay_phep_xay_dung": "ma_ho_so, trang_thai, ngay_cap_nhat",
}


def _same_rows(url: str, path: Path, table: str) -> None:
    # Servers sort text by their collation (MariaDB's is accent-insensitive): compare as multisets.
    server = sorted(_normalise(_server_rows(url, table, ORDERS[table])), key=repr)
    local = sorted(_normalise(_sqlite_rows(path, table, ORDERS[table])), key=repr)
    assert server == local


def test_business_registration_into_mariadb(mysql_dsn, tmp_path) -> None:
    stats = enterprise.generate(mysql_dsn, seed=SEED, sf=SF)
    local = tmp_path / "br.db"
    enterprise.generate(f"sqlite:///{local}", seed=SEED, sf=SF)
    for table in ("doanh_nghiep", "ho_kinh_doanh", "thay_doi_dang_ky"):
        rows = _server_rows(mysql_dsn, table, ORDERS[table])
        assert len(rows) == stats.rows[table] > 0
        _same_rows(mysql_dsn, local, table)
    with dbapi.connect(mysql_dsn) as con:
        cur = con.cursor()
        cur.execute("SELECT ten_doanh_nghiep, dia_chi_tru_so, ho_ten_nguoi_dai_dien FROM doanh_nghiep "
                    "WHERE ten_doanh_nghiep LIKE %s LIMIT 5", ("CÔNG TY%",))
        for name, address, person in cur.fetchall():
            assert unicodedata.is_normalized("NFC", name) and "Ô" in name
            assert "Phường" in address or "Xã" in address or "Đặc khu" in address or "Khu" in address
        cur.execute("SELECT table_collation FROM information_schema.tables WHERE table_schema = DATABASE() "
                    "AND table_name = 'doanh_nghiep'")
        assert cur.fetchone()[0].startswith("utf8mb4")
        cur.execute("SELECT count(*) FROM doanh_nghiep WHERE ten_doanh_nghiep LIKE %s", ("%Đ%",))
        assert cur.fetchone()[0] > 0


def test_business_registration_snapshot_two_on_mariadb(mysql_dsn) -> None:
    first = enterprise.generate_snapshot(mysql_dsn, seed=SEED, sf=SF, snapshot=1, fault_rates={"hard_delete": 0.05})
    codes_one = {r[0] for r in _server_rows(mysql_dsn, "doanh_nghiep", "ma_so_doanh_nghiep")}
    columns_one = _server_columns(mysql_dsn, "doanh_nghiep")
    second = enterprise.generate_snapshot(mysql_dsn, seed=SEED, sf=SF, snapshot=2, fault_rates={"hard_delete": 0.05})
    columns_two = _server_columns(mysql_dsn, "doanh_nghiep")
    assert "dia_chi_tru_so" in columns_one and "email" not in columns_one
    assert "dia_chi" in columns_two and "dia_chi_tru_so" not in columns_two and columns_two[-1] == "email"
    codes_two = {r[0] for r in _server_rows(mysql_dsn, "doanh_nghiep", "ma_so_doanh_nghiep")}
    assert codes_one - codes_two and codes_two - codes_one
    assert second.faults["doanh_nghiep.hard_delete"] > 0
    assert len(_server_rows(mysql_dsn, "doanh_nghiep", "ma_so_doanh_nghiep")) == second.rows["doanh_nghiep"]
    assert first.rows["ho_kinh_doanh"] == second.rows["ho_kinh_doanh"]


def test_land_and_permits_into_postgresql(pg_dsn, tmp_path) -> None:
    land_stats = land.generate(pg_dsn, seed=SEED, sf=SF)
    permit_stats = permits.generate(pg_dsn, seed=SEED, sf=SF)
    local_land, local_permits = tmp_path / "land.db", tmp_path / "gp.db"
    land.generate(f"sqlite:///{local_land}", seed=SEED, sf=SF)
    permits.generate(f"sqlite:///{local_permits}", seed=SEED, sf=SF)
    for table in ("thua_dat", "giay_chung_nhan", "giao_dich"):
        assert len(_server_rows(pg_dsn, table, ORDERS[table])) == land_stats.rows[table] > 0
        _same_rows(pg_dsn, local_land, table)
    assert len(_server_rows(pg_dsn, "giay_phep_xay_dung", ORDERS["giay_phep_xay_dung"])) \
        == permit_stats.rows["giay_phep_xay_dung"] > 0
    _same_rows(pg_dsn, local_permits, "giay_phep_xay_dung")
    with dbapi.connect(pg_dsn) as con:
        cur = con.cursor()
        # permits point at parcels of the land database (all but the broken links)
        cur.execute("""SELECT count(*), count(t.ma_dvhc) FROM giay_phep_xay_dung g
                       LEFT JOIN (SELECT DISTINCT ma_dvhc, so_to_ban_do, so_thua FROM thua_dat) t
                       USING (ma_dvhc, so_to_ban_do, so_thua)""")
        total, matched = cur.fetchone()
        assert matched >= 0.9 * total
        cur.execute("SELECT dia_chi FROM thua_dat WHERE dia_chi LIKE %s LIMIT 1", ("%Thành phố Hải Phòng%",))
        assert "ả" in cur.fetchone()[0]
        cur.execute("SELECT hinh_hoc FROM thua_dat WHERE hinh_hoc LIKE 'POLYGON ((%%' LIMIT 20")
        for (wkt,) in cur.fetchall():
            points = land.parse_polygon(wkt)
            assert len(points) >= 4
