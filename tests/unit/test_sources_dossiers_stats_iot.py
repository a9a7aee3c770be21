"""Tests for the indicator catalogue, the statistics workbooks, the TTHC dossier system and its
LGSP-style API, and the IoT event generator (kho.reference.indicators, kho.sources.statistics,
kho.sources.dossiers, kho.sources.lgsp_api, kho.sources.iot).

Small scale factors, no network beyond loopback (the API is exercised in-process through
TestClient and once through a real uvicorn server on 127.0.0.1).
"""

from __future__ import annotations

import collections
import hashlib
import inspect
import json
import math
import re
import socket
import sqlite3
import statistics as pystats
import threading
import time
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from kho import reference
from kho.reference import indicators as ind
from kho.sources import dossiers, iot, lgsp_api
from kho.sources import statistics as st
from kho.sources.base import GenerationStats, SourceSystem
from kho.sources.population import PopulationGenerator

SEED = 7
SF = 0.2


def _sha(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


# =====================================================================================
# Contract shared by every source module
# =====================================================================================

@pytest.mark.parametrize("module", [dossiers, st, iot])
def test_source_module_contract(module: Any) -> None:
    assert isinstance(module.SYSTEM, SourceSystem)
    params = inspect.signature(module.generate).parameters
    assert list(params)[0] == "target"
    for name in ("seed", "sf", "fault_rates"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert set(module.DEFAULT_FAULT_RATES) and all(0 <= v < 1 for v in module.DEFAULT_FAULT_RATES.values())
    with pytest.raises(ValueError):
        module.generate("/nonexistent-never-written", seed=1, sf=0.01, fault_rates={"no_such_fault": 0.1})


# =====================================================================================
# Indicator catalogue
# =====================================================================================

REQUIRED_CODES = {
    # the brief's list
    "GRDP_CURRENT", "GRDP_CONSTANT_2010", "GRDP_GROWTH", "IIP_GROWTH", "RETAIL_SALES", "BUDGET_REVENUE",
    "BUDGET_EXPENDITURE", "TOTAL_INVESTMENT", "FDI_REGISTERED", "EXPORT_TURNOVER", "IMPORT_TURNOVER", "CPI_YOY",
    "POPULATION", "LABOUR_FORCE", "UNEMPLOYMENT_RATE", "POOR_HOUSEHOLD_RATE", "NEW_ENTERPRISES",
    "SOCIAL_INSURANCE_COVERAGE", "HEALTH_INSURANCE_COVERAGE", "TTHC_RECEIVED", "TTHC_ON_TIME_RATE",
    "TTHC_ONLINE_RATE", "AQI_GOOD_DAYS",
    # seed §VII.3.2.1 / §15 item 8 groups: health, education, environment; §15 items 60-61, 64
    "HOSPITAL_BEDS_PER_10K", "PUPILS", "EDUCATION_INSTITUTIONS", "PM25_AVG", "AQI_AVG", "SOLID_WASTE_TREATED_RATE",
    "TTHC_RESOLVED_ON_TIME", "TTHC_RESOLVED_LATE", "TTHC_IN_PROGRESS", "TTHC_SATISFACTION_RATE",
    "TRAFFIC_FLOW_AVG", "TRAFFIC_SPEED_AVG",
}


def test_indicator_catalogue_complete_and_well_formed() -> None:
    items = ind.indicators()
    codes = [i.code for i in items]
    assert len(codes) == len(set(codes)) >= 60
    assert REQUIRED_CODES <= set(codes), sorted(REQUIRED_CODES - set(codes))
    assert {i.group for i in items} == {"kinh_te", "xa_hoi", "moi_truong", "hanh_chinh"}
    for i in items:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", i.code)
        assert i.periodicity in ("month", "quarter", "year") and i.aggregation in ("sum", "avg", "last")
        assert unicodedata.normalize("NFC", i.name_vi) == i.name_vi
        assert i.seed_reference.startswith("§"), i.code
        assert i.owner_agency and i.unit and i.name_en.isascii()
    # names carry Vietnamese diacritics (not folded ASCII)
    assert sum(not i.name_vi.isascii() for i in items) == len(items)
    assert ind.indicator_by_code()["GRDP_CURRENT"].unit == "tỷ đồng"
    assert ind.indicator_by_code()["TTHC_RECEIVED"].unit == "hồ sơ"
    assert ind.indicator_by_code()["TTHC_RECEIVED"].owner_agency == "Văn phòng UBND thành phố"
    # seed figures are cited where the seed gives them
    assert "445.995" in ind.indicator_by_code()["GRDP_CURRENT"].seed_reference
    assert "609.304" in ind.indicator_by_code()["TTHC_RECEIVED"].seed_reference


def test_indicator_file_is_packaged_csv_with_exact_header() -> None:
    from importlib import resources

    text = resources.files("kho.reference").joinpath("indicators.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == ("code,name_vi,name_en,unit,periodicity,owner_agency,aggregation,seed_reference,"
                                    "group,source_system")
    assert "\r" not in text and not text.startswith("\ufeff")


# =====================================================================================
# Statistics workbooks
# =====================================================================================

@pytest.fixture(scope="module")
def stats_drop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationStats]:
    root = tmp_path_factory.mktemp("stats")
    result = st.generate(root, seed=SEED, sf=3.0)   # sf must not matter
    return root / "statistics", result


def test_statistics_files_cover_the_period(stats_drop: tuple[Path, GenerationStats]) -> None:
    folder, result = stats_drop
    names = sorted(p.name for p in folder.iterdir())
    monthly = [n for n in names if n.startswith("KTXH_thang_")]
    quarterly = [n for n in names if n.startswith("KTXH_quy_")]
    assert len(monthly) == 46 and "KTXH_thang_01_2023.xlsx" in monthly and "KTXH_thang_10_2026.xlsx" in monthly
    assert len(quarterly) == 15 and "KTXH_quy_1_2023.xlsx" in quarterly and "KTXH_quy_3_2026.xlsx" in quarterly
    assert result.rows["monthly_workbooks"] == 46 and result.faults["text_number"] > 0


def test_statistics_workbook_layout_with_openpyxl(stats_drop: tuple[Path, GenerationStats]) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(stats_drop[0] / "KTXH_thang_12_2024.xlsx")
    assert wb.sheetnames[0] == "Bia" and "04_BanLe_DuLich" in wb.sheetnames
    ws = wb["04_BanLe_DuLich"]
    assert ws["A1"].value == "CỤC THỐNG KÊ THÀNH PHỐ HẢI PHÒNG"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A5:A6", "C5:D5", "E5:F5", "G5:H5"} <= merged
    assert ws["C5"].value == "Thực hiện tháng" and ws["D5"].value is None       # merged: value only top-left
    assert ws["E5"].value == "Cộng dồn từ đầu năm" and ws["G5"].value == "So với cùng kỳ (%)"
    assert ws["A7"].value.startswith("Tổng mức bán lẻ")
    formats = {ws.cell(row=r, column=c).number_format for r in range(7, 12) for c in range(3, 7)
               if isinstance(ws.cell(row=r, column=c).value, float)}
    assert "#,##0.0" in formats
    footnotes = [ws.cell(row=r, column=1).value for r in range(7, ws.max_row + 1)]
    assert any(isinstance(v, str) and v.startswith("Nguồn:") for v in footnotes)
    # from 07/2025 the merged city, with the office's new name and a footnote saying so
    ws = load_workbook(stats_drop[0] / "KTXH_thang_07_2025.xlsx")["01_NSNN"]
    assert ws["A1"].value == "THỐNG KÊ THÀNH PHỐ HẢI PHÒNG"
    assert any("202/2025/QH15" in str(ws.cell(row=r, column=1).value) for r in range(7, ws.max_row + 1))


def test_statistics_readable_with_pandas_skiprows(stats_drop: tuple[Path, GenerationStats]) -> None:
    import pandas as pd

    path = stats_drop[0] / "KTXH_thang_12_2024.xlsx"
    # the naive read: first sheet is the cover; a data sheet without skiprows has junk headers
    assert list(pd.read_excel(path).columns)[0] == "CỤC THỐNG KÊ THÀNH PHỐ HẢI PHÒNG"
    naive = pd.read_excel(path, sheet_name="04_BanLe_DuLich")
    assert naive.columns[1].startswith("Unnamed") and naive.dtypes.iloc[2] == object
    df = pd.read_excel(path, sheet_name="04_BanLe_DuLich", skiprows=st.DATA_START_ROW - 1, header=None)
    df.columns = list(st.FLOW_COLUMNS)
    row = df[df["label"].astype(str).str.startswith("Tổng mức bán lẻ")].iloc[0]
    assert st.parse_vn_number(row["ytd"]) == 225784.2
    assert st.parse_vn_number(row["index_ytd"]) == 113.58


def _ytd(folder: Path, name: str) -> dict[tuple[str, str], float | None]:
    return {(r["code"], r["column"]): r["value"] for r in st.read_workbook(folder / name)}


def test_statistics_2024_matches_the_seed(stats_drop: tuple[Path, GenerationStats]) -> None:
    folder = stats_drop[0]
    dec, q4 = _ytd(folder, "KTXH_thang_12_2024.xlsx"), _ytd(folder, "KTXH_quy_4_2024.xlsx")
    cells = {**dec, **q4}
    seed = st.seed_annual_2024()
    growth = {code: cells[(row, col)] for code, (row, col) in st.GROWTH_FROM_INDEX.items() if (row, col) in cells}
    checked = 0
    for code, value in seed.items():
        if code in st.GROWTH_FROM_INDEX:
            assert round(growth[code] - 100, 2) == value, code
        elif (code, "ytd") in cells:
            assert cells[(code, "ytd")] == value, code
        else:
            assert cells[(code, "end_of_period")] == value, code
        checked += 1
    assert checked == len(seed) >= 35
    # the brief's headline figures, spelled out
    assert cells[("GRDP_CURRENT", "ytd")] == 445995.0 and cells[("GRDP_CONSTANT_2010", "ytd")] == 288492.0
    assert cells[("GRDP_CONSTANT_2010", "index_ytd")] == 111.01 and cells[("CPI_YOY", "index_ytd")] == 103.11
    assert cells[("RETAIL_SALES", "ytd")] == 225784.2 and cells[("BUDGET_REVENUE", "ytd")] == 118255.3
    assert cells[("TOTAL_INVESTMENT", "ytd")] == 211481.0 and cells[("POPULATION", "end_of_period")] == 2124.0


def test_statistics_months_and_quarters_add_up(stats_drop: tuple[Path, GenerationStats]) -> None:
    folder = stats_drop[0]
    flows = ("RETAIL_SALES", "BUDGET_REVENUE", "BUDGET_EXPENDITURE", "EXPORT_TURNOVER", "FDI_REGISTERED", "TRAFFIC_ACCIDENTS")
    running = collections.Counter()
    for m in range(1, 13):
        cells = _ytd(folder, st.monthly_filename(2024, m))
        for code in flows:
            running[code] += round(cells[(code, "period")] * 100)     # exact in hundredths
            assert running[code] == round(cells[(code, "ytd")] * 100), (code, m)
    assert running["RETAIL_SALES"] == 22578420 and running["BUDGET_REVENUE"] == 11825530
    total = 0
    for q in range(1, 5):
        cells = _ytd(folder, st.quarterly_filename(2024, q))
        total += round(cells[("GRDP_CURRENT", "period")] * 10)
        assert total == round(cells[("GRDP_CURRENT", "ytd")] * 10)
    assert total == 4459950


def test_statistics_merged_city_from_july_2025(stats_drop: tuple[Path, GenerationStats]) -> None:
    folder = stats_drop[0]
    june, july = _ytd(folder, "KTXH_thang_06_2025.xlsx"), _ytd(folder, "KTXH_thang_07_2025.xlsx")
    assert july[("RETAIL_SALES", "ytd")] / 7 > 1.25 * june[("RETAIL_SALES", "ytd")] / 6
    # the "same period last year" column is recomputed on the merged scope
    assert july[("RETAIL_SALES", "ytd_last_year")] / 7 > 1.25 * june[("RETAIL_SALES", "ytd_last_year")] / 6
    q4 = _ytd(folder, "KTXH_quy_4_2025.xlsx") if (folder / "KTXH_quy_4_2025.xlsx").exists() else {}
    assert q4[("POPULATION", "end_of_period")] == 4664.1


def test_statistics_catalogue_codes_are_all_produced(stats_drop: tuple[Path, GenerationStats]) -> None:
    folder = stats_drop[0]
    produced = {r["code"] for name in ("KTXH_thang_12_2024.xlsx", "KTXH_quy_4_2024.xlsx")
                for r in st.read_workbook(folder / name)} | set(st.GROWTH_FROM_INDEX)
    wanted = {i.code for i in ind.indicators() if i.source_system == "statistics"}
    assert wanted <= produced, sorted(wanted - produced)


def test_statistics_deterministic_and_text_numbers(stats_drop: tuple[Path, GenerationStats], tmp_path: Path) -> None:
    folder = stats_drop[0]
    again = st.generate(tmp_path, seed=SEED, sf=0.01)
    files = sorted(p for p in folder.iterdir() if p.suffix == ".xlsx")
    assert again.as_dict()["rows"] == stats_drop[1].as_dict()["rows"]
    assert _sha(files) == _sha(sorted(p for p in (tmp_path / "statistics").iterdir() if p.suffix == ".xlsx"))
    # the manifest records the sf it was given, which the workbooks ignore; all else is equal
    manifests = [json.loads((f / "statistics.manifest.json").read_text(encoding="utf-8"))
                 for f in (folder, tmp_path / "statistics")]
    assert manifests[0] | {"sf": None} == manifests[1] | {"sf": None}
    assert manifests[0]["total_rows"] == stats_drop[1].total_rows and "seconds" not in manifests[0]
    assert st.parse_vn_number("225.784,2") == 225784.2 and st.parse_vn_number("1.053.272") == 1053272
    assert st.parse_vn_number("..") is None and st.parse_vn_number("-") is None
    with pytest.raises(ValueError):
        st.parse_vn_number("12a")


# =====================================================================================
# TTHC dossiers
# =====================================================================================

@pytest.fixture(scope="module")
def dossier_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationStats]:
    root = tmp_path_factory.mktemp("dossiers")
    result = dossiers.generate(root, seed=SEED, sf=SF)
    return root, result


def _rows(root: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(dossiers.db_path(root))
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


FIRST_ROWS = "SELECT * FROM ho_so WHERE id IN (SELECT min(id) FROM ho_so GROUP BY ma_ho_so)"


def test_dossier_volume_and_2024_rates(dossier_db: tuple[Path, GenerationStats]) -> None:
    root, _ = dossier_db
    (n, online, on_time, resolved), = _rows(root, f"""
        SELECT count(*), sum(hinh_thuc_nop = 'truc_tuyen'), sum(trang_thai = 'da_giai_quyet_dung_han'),
               sum(trang_thai IN ('da_giai_quyet_dung_han', 'da_giai_quyet_qua_han'))
        FROM ({FIRST_ROWS}) WHERE substr(ngay_tiep_nhan, 1, 4) = '2024'""")
    expected = dossiers.DOSSIERS_PER_SF_YEAR * SF
    assert abs(n - expected) / expected < 0.01                 # missing receipt dates drop a few
    assert abs(online / n - 0.5845) < 0.01
    assert abs(on_time / resolved - 0.9559) < 0.01
    # full scale reproduces the seed: the day plan apportions exactly
    city = sum(k for d, k in dossiers.plan_days(dossiers.CITY_SF, date(2024, 1, 1), date(2025, 1, 1)))
    assert city == dossiers.DOSSIERS_2024_CITY
    assert abs(sum(k for d, k in dossiers.plan_days(10, date(2024, 1, 1), date(2025, 1, 1))) - 130_637) < 5


def test_dossier_formats(dossier_db: tuple[Path, GenerationStats]) -> None:
    root, _ = dossier_db
    code_re = re.compile(r"^(\d{3}\.\d{2}\.\d{2}\.H31)-(\d{6})-(\d{4})$")
    ts_re = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
    procedures = {p.code for p in dossiers.PROCEDURES}
    rows = _rows(root, "SELECT ma_ho_so, co_quan, ma_thu_tuc, ngay_tiep_nhan, han_giai_quyet, ngay_tra_ket_qua, "
                       "trang_thai, hinh_thuc_nop, loai_chu_the, so_giay_to, cap_nhat_luc FROM ho_so")
    assert len(rows) > 10_000
    for ma, agency, proc, received, due, returned, status, channel, kind, ident, updated in rows:
        m = code_re.match(ma)
        assert m and m.group(1) == agency and proc in procedures
        if received:
            assert ts_re.match(received) and m.group(2) == received[2:4] + received[5:7] + received[8:10]
        if due and received:
            assert due > received
        assert status in dossiers.STATUSES
        assert channel in dossiers.CHANNELS or channel in ("Trực tuyến", "Trực tiếp", "Bưu chính")
        assert ts_re.match(updated)
        if returned:
            assert ts_re.match(returned) and status != "dang_xu_ly"
        if status == "dang_xu_ly":
            assert returned is None
        assert kind in ("cong_dan", "doanh_nghiep")
    # sequence numbers are unique per agency and day among first copies
    firsts = _rows(root, f"SELECT ma_ho_so FROM ({FIRST_ROWS})")
    assert len(firsts) == len({r[0] for r in firsts})
    # the catalogue and agency tables exist; dissolved departments have successors
    assert len(_rows(root, "SELECT * FROM thu_tuc")) == len(dossiers.PROCEDURES)
    dissolved = _rows(root, "SELECT ten_co_quan, hieu_luc_den, ma_co_quan_ke_thua FROM co_quan WHERE ma_co_quan = '000.00.15.H31'")
    assert dissolved == [("Sở Kế hoạch và Đầu tư", "2025-02-28", "000.00.04.H31")]


def test_dossier_history_units_and_agencies(dossier_db: tuple[Path, GenerationStats]) -> None:
    root, result = dossier_db
    new_codes = set(reference.admin_unit_by_code())
    old_hp = {e.old_unit_code for e in reference.crosswalk().values() if e.old_province == "Hải Phòng"}
    pre = _rows(root, f"SELECT ma_dvhc, co_quan FROM ({FIRST_ROWS}) WHERE ngay_tiep_nhan < '2025-07-01' AND ngay_tiep_nhan > ''")
    assert pre and sum(u in old_hp or u == "11948" for u, _ in pre) == len(pre)      # pre-merger: old Hải Phòng units
    assert not any(a == "000.00.04.H31" for _u, a in _rows(
        root, "SELECT ma_dvhc, co_quan FROM ho_so WHERE ngay_tiep_nhan < '2025-03-01' AND ma_thu_tuc = '1.000401'"))
    post = _rows(root, f"SELECT ma_dvhc FROM ({FIRST_ROWS}) WHERE ngay_tiep_nhan >= '2025-07-01'")
    stale = sum(u not in new_codes for (u,) in post)
    assert stale > 0 and abs(stale / len(post) - dossiers.DEFAULT_FAULT_RATES["old_admin_unit"]) < 0.006


def test_dossier_applicants_link_to_true_citizens(dossier_db: tuple[Path, GenerationStats]) -> None:
    root, result = dossier_db
    truth = {c.cccd: c for c in PopulationGenerator(seed=SEED, sf=SF).true_citizens()}
    rows = _rows(root, "SELECT so_giay_to, ten_chu_the FROM ho_so WHERE loai_chu_the = 'cong_dan'")
    linked = [r for r in rows if r[0] in truth]
    broken = len(rows) - len(linked)
    assert broken / len(rows) < 3 * dossiers.DEFAULT_FAULT_RATES["applicant_id_malformed"]
    assert sum(truth[i].full_name == n for i, n in linked) / len(linked) > 0.99   # unaccented near duplicates aside
    enterprises = _rows(root, "SELECT DISTINCT so_giay_to FROM ho_so WHERE loai_chu_the = 'doanh_nghiep'")
    assert sum(bool(re.fullmatch(r"\d{10}", e)) for (e,) in enterprises) / len(enterprises) > 0.98
    linked_flag = dict(_rows(root, "SELECT key, value FROM meta"))["enterprises_linked"]
    if linked_flag == "true":
        from kho.sources import enterprise

        known = {e.tax_code for e in enterprise.enterprise_directory(SEED, SF)}
        assert sum(e in known for (e,) in enterprises) / len(enterprises) > 0.98
        assert result.links["enterprise_ok"] > 0
    else:
        assert result.links["enterprise_generated"] > 0


def test_dossier_faults_within_tolerance(dossier_db: tuple[Path, GenerationStats]) -> None:
    root, result = dossier_db
    n = result.rows["ho_so"]
    for fault, rate in dossiers.DEFAULT_FAULT_RATES.items():
        count = result.faults[fault]
        base = n if fault != "old_admin_unit" else n * 0.4
        assert count > 0, fault
        assert count / base < rate * 2 + 0.002, (fault, count, base)
    dup_codes = _rows(root, "SELECT count(*) FROM (SELECT ma_ho_so FROM ho_so GROUP BY ma_ho_so HAVING count(*) > 1)")[0][0]
    assert dup_codes == result.faults["exact_duplicate"] + result.faults["near_duplicate"]
    no_return = _rows(root, "SELECT count(*) FROM ho_so WHERE trang_thai LIKE 'da_giai_quyet%' AND ngay_tra_ket_qua IS NULL")[0][0]
    assert no_return >= result.faults["resolved_without_return_date"]
    missing = _rows(root, "SELECT count(*) FROM ho_so WHERE coalesce(ngay_tiep_nhan, '') = '' OR coalesce(han_giai_quyet, '') = ''")[0][0]
    assert missing >= result.faults["missing_dates"]
    late = _rows(root, "SELECT count(*) FROM ho_so WHERE julianday(cap_nhat_luc) - julianday(ngay_tra_ket_qua) > 1.5")[0][0]
    assert late > 0.5 * result.faults["late_update"]
    pending = _rows(root, "SELECT count(*), min(cap_nhat_luc) FROM ho_so_cap_nhat")[0]
    assert pending[0] == result.rows["ho_so_cap_nhat"] > 0 and pending[1] > "2026-11-01"


def test_dossiers_deterministic(dossier_db: tuple[Path, GenerationStats], tmp_path: Path) -> None:
    dossiers.generate(tmp_path, seed=SEED, sf=SF)
    assert dossiers.db_path(tmp_path).read_bytes() == dossiers.db_path(dossier_db[0]).read_bytes()
    dossiers.generate(tmp_path, seed=SEED + 1, sf=SF)
    assert dossiers.db_path(tmp_path).read_bytes() != dossiers.db_path(dossier_db[0]).read_bytes()


# =====================================================================================
# LGSP API
# =====================================================================================

class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def api_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lgsp")
    dossiers.generate(root, seed=SEED, sf=0.1)
    return root


def _client(data: Path, **kwargs: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(lgsp_api.create_app(data, **kwargs))


def _token(client: Any, cid: str = lgsp_api.DEFAULT_CLIENT_ID, secret: str = lgsp_api.DEFAULT_CLIENT_SECRET) -> dict[str, str]:
    r = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_api_requires_a_valid_token(api_data: Path) -> None:
    clock = FakeClock()
    c = _client(api_data, rate_limit=0, token_ttl=60, clock=clock)
    r = c.get("/api/v1/tthc/ho-so")
    assert r.status_code == 401 and r.json()["ma_loi"] == "401" and "Bearer" in r.headers["www-authenticate"]
    assert c.get("/api/v1/tthc/ho-so", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.get("/api/v1/tthc/thu-tuc").status_code == 401
    bad = c.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "kho-dev", "client_secret": "x"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert c.post("/oauth/token", data={"grant_type": "password"}).status_code == 400
    basic = c.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("kho-dev", "kho-dev-secret"))
    assert basic.status_code == 200
    headers = _token(c)
    assert c.get("/api/v1/tthc/ho-so", headers=headers).status_code == 200
    clock.now += 61
    expired = c.get("/api/v1/tthc/ho-so", headers=headers)
    assert expired.status_code == 401 and "hết hạn" in expired.json()["mo_ta"]
    assert c.get("/health").status_code == 200


def test_api_credentials_from_environment(api_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHO_LGSP_CLIENT_ID", "ioc")
    monkeypatch.setenv("KHO_LGSP_CLIENT_SECRET", "s3cret")
    c = _client(api_data, rate_limit=0)
    assert c.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "kho-dev",
                                        "client_secret": "kho-dev-secret"}).status_code == 401
    assert c.get("/api/v1/tthc/thu-tuc", headers=_token(c, "ioc", "s3cret")).status_code == 200


def test_api_envelope_schema_and_catalogue(api_data: Path) -> None:
    c = _client(api_data, rate_limit=0, late_updates=False)
    h = _token(c)
    body = c.get("/api/v1/tthc/ho-so", headers=h, params={"page_size": 7, "tu_ngay": "2024-01-01",
                                                         "den_ngay": "31/12/2024", "trang_thai": "da_giai_quyet_qua_han"}).json()
    assert set(body) == {"ma_loi", "mo_ta", "tong_so", "trang", "so_trang", "kich_thuoc_trang", "thoi_diem_du_lieu",
                         "con_tro_tiep", "du_lieu"}
    assert body["ma_loi"] == "0" and body["mo_ta"] == "Thành công" and body["trang"] == 1
    assert isinstance(body["tong_so"], int) and body["so_trang"] == math.ceil(body["tong_so"] / 7)
    assert len(body["du_lieu"]) == 7 and body["con_tro_tiep"] is None
    for rec in body["du_lieu"]:
        assert list(rec) == list(dossiers.COLUMNS)
        assert isinstance(rec["id"], int) and rec["trang_thai"] == "da_giai_quyet_qua_han"
        assert rec["ngay_tiep_nhan"].startswith("2024")
        assert all(v is None or isinstance(v, (str, int)) for v in rec.values())
    assert [r["id"] for r in body["du_lieu"]] == sorted(r["id"] for r in body["du_lieu"])
    capped = c.get("/api/v1/tthc/ho-so", headers=h, params={"page_size": 5000}).json()
    assert capped["kich_thuoc_trang"] == 500 and len(capped["du_lieu"]) == 500
    for bad in ({"page": "0"}, {"page_size": "abc"}, {"tu_ngay": "2024-13-45"}, {"trang_thai": "xong"}, {"sau_id": "3"}):
        r = c.get("/api/v1/tthc/ho-so", headers=h, params=bad)
        assert r.status_code == 400 and r.json()["ma_loi"] == "400", bad
    cat = c.get("/api/v1/tthc/thu-tuc", headers=h).json()
    assert cat["tong_so"] == len(dossiers.PROCEDURES) and {"ma_thu_tuc", "ten_thu_tuc", "linh_vuc"} <= set(cat["du_lieu"][0])
    agencies = c.get("/api/v1/tthc/co-quan", headers=h, params={"page_size": 1000}).json()
    assert agencies["tong_so"] > 114


def test_api_pagination_covers_every_row_exactly_once(api_data: Path) -> None:
    c = _client(api_data, rate_limit=0, late_updates=False)
    h = _token(c)
    expected = {r[0] for r in _rows(api_data, "SELECT id FROM ho_so")}
    seen: list[int] = []
    page, pages = 1, None
    while pages is None or page <= pages:
        body = c.get("/api/v1/tthc/ho-so", headers=h, params={"page": page, "page_size": 500}).json()
        assert body["tong_so"] == len(expected)
        pages = body["so_trang"]
        seen.extend(r["id"] for r in body["du_lieu"])
        page += 1
    assert len(seen) == len(set(seen)) == len(expected) and set(seen) == expected
    assert seen == sorted(seen)                                   # deterministic order
    empty = c.get("/api/v1/tthc/ho-so", headers=h, params={"page": pages + 1, "page_size": 500}).json()
    assert empty["du_lieu"] == [] and empty["ma_loi"] == "0"


def test_api_incremental_cursor_catches_late_updates(api_data: Path) -> None:
    c = _client(api_data, rate_limit=0, late_updates=True, reveal_per_request=1)
    h = _token(c)
    pending = dict(_rows(api_data, "SELECT ho_so_id, trang_thai FROM ho_so_cap_nhat"))
    total = _rows(api_data, "SELECT count(*) FROM ho_so")[0][0]
    assert pending
    latest: dict[int, dict[str, Any]] = {}
    versions = collections.Counter()
    history: dict[int, list[str]] = collections.defaultdict(list)
    cursor = {"cap_nhat_tu": "2000-01-01 00:00:00"}
    for _ in range(10_000):
        body = c.get("/api/v1/tthc/ho-so", headers=h, params={**cursor, "page_size": 500}).json()
        for rec in body["du_lieu"]:
            versions[rec["id"]] += 1
            history[rec["id"]].append(rec["trang_thai"])
            assert rec["id"] not in latest or rec["cap_nhat_luc"] >= latest[rec["id"]]["cap_nhat_luc"]
            latest[rec["id"]] = rec
        if body["con_tro_tiep"]:
            cursor = body["con_tro_tiep"]
        if not body["du_lieu"] and c.get("/health").json()["cap_nhat_con_lai"] == 0:
            # one more pull after the last reveal, then we are done
            body = c.get("/api/v1/tthc/ho-so", headers=h, params={**cursor, "page_size": 500}).json()
            for rec in body["du_lieu"]:
                versions[rec["id"]] += 1
                history[rec["id"]].append(rec["trang_thai"])
                latest[rec["id"]] = rec
            if not body["du_lieu"]:
                break
    assert len(latest) == total
    # every pending change reached the client; dossiers first read in progress came back resolved
    assert all(latest[i]["trang_thai"] == s for i, s in pending.items())
    moved = [i for i in pending if versions[i] >= 2]
    assert moved and all(history[i][0] == "dang_xu_ly" and history[i][-1] == pending[i] for i in moved)
    assert all(versions[i] == 1 for i in latest if i not in pending)   # unchanged rows: exactly once


def test_api_rate_limit_returns_429_with_retry_after(api_data: Path) -> None:
    clock = FakeClock()
    c = _client(api_data, rate_limit=3, clock=clock, late_updates=False)
    h = _token(c)
    codes = [c.get("/api/v1/tthc/thu-tuc", headers=h).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = c.get("/api/v1/tthc/ho-so", headers=h)
    assert r.status_code == 429 and r.json()["ma_loi"] == "429"
    assert int(r.headers["retry-after"]) >= 1
    clock.now += 1.01
    assert c.get("/api/v1/tthc/thu-tuc", headers=h).status_code == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_api_over_real_http_on_loopback(api_data: Path) -> None:
    import httpx
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(lgsp_api.create_app(api_data, rate_limit=0), host="127.0.0.1", port=port,
                                          log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/api/v1/tthc/ho-so").status_code == 401
            tok = http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "kho-dev",
                                                  "client_secret": "kho-dev-secret"}).json()["access_token"]
            body = http.get("/api/v1/tthc/ho-so", params={"page_size": 3},
                            headers={"Authorization": f"Bearer {tok}"}).json()
            assert body["ma_loi"] == "0" and len(body["du_lieu"]) == 3
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_api_resolves_data_dir_forms(api_data: Path) -> None:
    assert lgsp_api.resolve_db(api_data) == dossiers.db_path(api_data)
    assert lgsp_api.resolve_db(api_data / "dossiers") == dossiers.db_path(api_data)
    with pytest.raises(FileNotFoundError):
        lgsp_api.resolve_db(api_data / "nowhere")


# =====================================================================================
# IoT events
# =====================================================================================

WINTER = ("2026-01-05", "2026-01-19")


@pytest.fixture(scope="module")
def winter_events() -> list[dict[str, Any]]:
    return list(iot.iter_events(SEED, *WINTER))


def _local(ts: str) -> datetime:
    assert ts.endswith("+07:00")
    return datetime.fromisoformat(ts)


def test_iot_event_shape_and_determinism(winter_events: list[dict[str, Any]]) -> None:
    ev = winter_events[0]
    assert {"station_id", "ts", "measurements", "received_at", "event_id", "station_type"} == set(ev)
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$")
    assert all(iso.match(e["ts"]) and iso.match(e["received_at"]) for e in winter_events)
    assert {e["station_id"] for e in winter_events} == set(iot.STATION_BY_ID)
    again = list(iot.iter_events(SEED, *WINTER))
    assert again == winter_events
    assert list(iot.iter_events(SEED + 1, "2026-01-05", "2026-01-06")) != [e for e in winter_events
                                                                            if e["received_at"] < "2026-01-06"]
    # lazy: the first event comes without generating the whole range
    it = iot.iter_events(SEED, "2020-01-01", "2030-01-01")
    assert next(it)["station_id"]
    # arrival order, and consecutive windows partition the stream
    arrivals = [e["received_at"] for e in winter_events]
    assert arrivals == sorted(arrivals)
    parts = (list(iot.iter_events(SEED, "2026-01-05", "2026-01-09T07:35"))
             + list(iot.iter_events(SEED, "2026-01-09T07:35", "2026-01-19")))
    assert parts == winter_events
    for e in winter_events[:500]:
        st_ = iot.STATION_BY_ID[e["station_id"]]
        assert e["station_type"] == st_.station_type
        assert reference.admin_unit_by_code()[st_.unit_code]


def test_iot_units_and_stations_placed_in_real_units() -> None:
    catalogue = iot.stations_catalogue()
    assert {s["station_type"] for s in catalogue} == {"air", "water_level", "traffic"}
    codes = set(reference.admin_unit_by_code())
    assert all(s["unit_code"] in codes and 20.5 < s["lat"] < 21.3 and 106.2 < s["lon"] < 107.2 for s in catalogue)


def _by_hour(events: list[dict[str, Any]], station_type: str, value: Any) -> dict[int, float]:
    buckets: dict[int, list[float]] = collections.defaultdict(list)
    seen = set()
    for e in events:
        if e["station_type"] != station_type or e["event_id"] in seen:
            continue
        seen.add(e["event_id"])
        v = value(e["measurements"])
        if v is not None:
            buckets[_local(e["ts"]).hour].append(v)
    return {h: pystats.median(v) for h, v in buckets.items()}


def test_iot_diurnal_patterns(winter_events: list[dict[str, Any]]) -> None:
    weekdays = [e for e in winter_events if _local(e["ts"]).weekday() < 5]
    flow = _by_hour(weekdays, "traffic", lambda m: sum(m[k] for k in ("motorbike", "car", "truck", "bus"))
                    if None not in (m["motorbike"], m["car"], m["truck"], m["bus"]) else None)
    for peak in (7, 8, 17, 18):
        assert flow[peak] > 1.3 * flow[12] and flow[peak] > 5 * flow[3], (peak, flow)
    pm = _by_hour(winter_events, "air", lambda m: m["pm25"])
    night = pystats.mean(pm[h] for h in (0, 1, 2, 3, 4))
    afternoon = pystats.mean(pm[h] for h in (12, 13, 14, 15))
    assert night > 1.3 * afternoon
    summer = list(iot.iter_events(SEED, "2026-07-06", "2026-07-20", stations=[s.station_id for s in iot.STATIONS
                                                                                if s.station_type == "air"]))
    winter_mean = pystats.mean(e["measurements"]["pm25"] for e in winter_events if e["station_type"] == "air"
                               and e["measurements"]["pm25"] is not None)
    summer_mean = pystats.mean(e["measurements"]["pm25"] for e in summer if e["measurements"]["pm25"] is not None)
    assert winter_mean > 2 * summer_mean


def test_iot_tide_has_the_semidiurnal_period() -> None:
    events = list(iot.iter_events(SEED, "2026-03-01", "2026-03-31", stations=["TV-HD-01"], interval_s=900, by="ts",
                                  fault_rates={k: 0.0 for k in iot.DEFAULT_FAULT_RATES}))
    t0 = _local(events[0]["ts"])
    series = [((_local(e["ts"]) - t0).total_seconds() / 3600, e["measurements"]["water_level_cm"]) for e in events]
    mean = sum(v for _t, v in series) / len(series)

    def amplitude(period_h: float) -> float:
        c = sum((v - mean) * math.cos(2 * math.pi * t / period_h) for t, v in series)
        s = sum((v - mean) * math.sin(2 * math.pi * t / period_h) for t, v in series)
        return 2 * math.hypot(c, s) / len(series)

    m2 = amplitude(12.42)
    assert m2 > 50 and m2 > 1.5 * amplitude(23.93) and m2 > 5 * amplitude(8.0) and m2 > 5 * amplitude(16.0)


def test_iot_faults_present(winter_events: list[dict[str, Any]]) -> None:
    stats = GenerationStats()
    events = list(iot.iter_events(SEED, *WINTER, stats=stats))
    assert events == winter_events
    for fault in iot.DEFAULT_FAULT_RATES:
        assert stats.faults[fault] > 0, fault
    ids = collections.Counter(e["event_id"] for e in events)
    assert sum(n - 1 for n in ids.values()) == stats.faults["exact_duplicate"]
    late = [e for e in events if (_local(e["received_at"]) - _local(e["ts"])).total_seconds() >= 3600]
    assert len(late) >= stats.faults["late"] * 0.9
    out_of_order = 0
    last_ts: dict[str, str] = {}
    for e in events:
        if e["ts"] < last_ts.get(e["station_id"], ""):
            out_of_order += 1
        last_ts[e["station_id"]] = max(e["ts"], last_ts.get(e["station_id"], ""))
    assert out_of_order > 0
    assert any(v is None for e in events for v in e["measurements"].values())
    # stuck: a run of >= 12 identical readings from one sensor
    runs = collections.Counter()
    best = 0
    previous: dict[str, Any] = {}
    for e in sorted((e for e in events if e["station_type"] == "air"), key=lambda e: (e["station_id"], e["ts"])):
        key = (e["measurements"]["pm25"], e["measurements"]["pm10"])
        runs[e["station_id"]] = runs[e["station_id"]] + 1 if previous.get(e["station_id"]) == key else 1
        previous[e["station_id"]] = key
        best = max(best, runs[e["station_id"]])
    assert best >= 12
    medians = _by_hour(events, "air", lambda m: m["pm25"])
    assert max(e["measurements"]["pm25"] or 0 for e in events if e["station_type"] == "air") > 4 * max(medians.values())
    clean = list(iot.iter_events(SEED, "2026-01-05", "2026-01-06", fault_rates={k: 0.0 for k in iot.DEFAULT_FAULT_RATES}))
    assert all(v is not None for e in clean for k, v in e["measurements"].items() if k != "avg_speed_kmh")
    assert len({e["event_id"] for e in clean}) == len(clean)


def test_iot_jsonl_file_drop(tmp_path: Path) -> None:
    result = iot.write_jsonl(tmp_path / "a", "2026-10-30T22:00", "2026-10-31T04:00", seed=SEED)
    files = sorted((tmp_path / "a").glob("iot_*.jsonl"))
    assert [f.name for f in files][0] == "iot_20261030_22.jsonl" and len(files) == 6
    count = 0
    for f in files:
        hour = f.stem.split("_", 1)[1]
        for line in f.read_text(encoding="utf-8").splitlines():
            ev = json.loads(line)
            assert ev["received_at"][:13].replace("-", "").replace("T", "_") == hour
            count += 1
    assert count == result.rows["events"] > 0
    stations = json.loads((tmp_path / "a" / "stations.json").read_text(encoding="utf-8"))
    assert len(stations) == len(iot.STATIONS)
    # same bytes on a rerun; adjacent windows write disjoint files with the same content
    iot.write_jsonl(tmp_path / "b", "2026-10-30T22:00", "2026-10-31T04:00", seed=SEED)
    assert _sha(files) == _sha(sorted((tmp_path / "b").glob("iot_*.jsonl")))
    iot.write_jsonl(tmp_path / "c", "2026-10-30T22:00", "2026-10-31T01:00", seed=SEED)
    iot.write_jsonl(tmp_path / "c", "2026-10-31T01:00", "2026-10-31T04:00", seed=SEED)
    assert _sha(files) == _sha(sorted((tmp_path / "c").glob("iot_*.jsonl")))
