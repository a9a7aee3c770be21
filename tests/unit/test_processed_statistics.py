"""Processed statistics tables (kho.processed.statistics) on generated report workbooks.

The workbooks are generated into tmp_path; a few months and quarters on both sides of the July
2025 change of scope (and the December / Q4 2024 ones whose year-to-date cells carry the seed's
2024 figures) are dropped into a folder, loaded by the real loader (the registry's tidy reader)
into an isolated lake, and cleaned. Values are compared with the generator's own reader and
with the seed anchors.
"""

from __future__ import annotations

import shutil
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from kho.ingest.loader import day_interval, load_object
from kho.ingest.registry import load_registry
from kho.processed import statistics as s
from kho.processed.base import RULE_COLUMNS
from kho.reference import indicators
from kho.settings import get_settings
from kho.sources import statistics as gen
from kho.standardise.reasons import REASONS

SEED = 7
DAY = date(2026, 11, 27)
MONTHS = ((2024, 12), (2025, 6), (2025, 7))
QUARTERS = ((2024, 4), (2025, 3))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("statistics")
    stats = gen.generate(root / "all", seed=SEED, fault_rates={"text_number": 0.05})
    drop = root / "drop"
    drop.mkdir()
    names = [gen.monthly_filename(y, m) for y, m in MONTHS] + [gen.quarterly_filename(y, q) for y, q in QUARTERS]
    for name in names:
        shutil.copy(root / "all" / "statistics" / name, drop / name)
    return {"drop": drop, "stats": stats, "raw": {}}


@pytest.fixture
def raw(source, isolated_settings, monkeypatch):
    """Both raw tables, loaded once per module by the real loader into an isolated lake."""
    if not source["raw"]:
        monkeypatch.setenv("AIRFLOW_CONN_KHO_SRC_STATISTICS", f"file://{source['drop']}")
        get_settings.cache_clear()
        system = load_registry().get("statistics")
        for name in ("monthly_indicator", "quarterly_indicator"):
            load_object(get_settings(), system, system.object(name), day_interval(DAY))
            source["raw"][name] = DeltaTable(f"{get_settings().lake_root}/raw/statistics/{name}").to_pyarrow_table()
    return source["raw"]


@pytest.fixture
def cleaned(raw):
    return {"monthly_indicator": s.clean_monthly(raw["monthly_indicator"], DAY),
            "quarterly_indicator": s.clean_quarterly(raw["quarterly_indicator"], DAY)}


def _check_contract(raw: pa.Table, out: pa.Table, spec) -> None:
    assert out.num_rows == raw.num_rows > 0
    assert out.schema.names == spec.schema.names + list(RULE_COLUMNS)
    for field in spec.schema:
        assert out.schema.field(field.name).type == field.type, field.name
    assert out["record_id"].null_count == 0 and len(set(out["record_id"].to_pylist())) == out.num_rows
    assert out["_reject_reason"].null_count == out.num_rows          # generated workbooks are well formed
    keys = list(zip(*(out[c].to_pylist() for c in spec.business_key)))
    assert len(keys) == len(set(keys))


def test_contracts_periods_and_scope(raw, cleaned):
    for name, spec in (("monthly_indicator", s.MONTHLY_INDICATOR), ("quarterly_indicator", s.QUARTERLY_INDICATOR)):
        _check_contract(raw[name], cleaned[name], spec)
    monthly = cleaned["monthly_indicator"].to_pylist()
    assert {(r["year"], r["period_number"]) for r in monthly} == set(MONTHS)
    for r in monthly:
        assert r["period_start"] == date(r["year"], r["period_number"], 1)
        assert r["period_end"].month == r["period_number"] and (r["period_end"].day in (28, 29, 30, 31))
        assert r["city_scope"] == ("merged" if (r["year"], r["period_number"]) >= (2025, 7) else "pre_merger")
    quarterly = cleaned["quarterly_indicator"].to_pylist()
    assert {(r["year"], r["period_number"]) for r in quarterly} == set(QUARTERS)
    for r in quarterly:
        first = 3 * r["period_number"] - 2
        assert r["period_start"] == date(r["year"], first, 1)
        assert (r["period_end"].month, r["period_end"].day) in ((3, 31), (6, 30), (9, 30), (12, 31))
        assert r["city_scope"] == ("merged" if r["period_start"] >= date(2025, 7, 1) else "pre_merger")


def test_values_equal_the_generators_reader_and_the_seed(source, cleaned):
    catalogue = {i.code for i in indicators.indicators()}
    for name, y, p, quarterly in (("monthly_indicator", 2024, 12, False), ("quarterly_indicator", 2025, 3, True)):
        path = source["drop"] / (gen.quarterly_filename(y, p) if quarterly else gen.monthly_filename(y, p))
        expected = {(r["sheet"], r["code"], r["column"]): r["value"] for r in gen.read_workbook(path)}
        rows = [r for r in cleaned[name].to_pylist() if (r["year"], r["period_number"]) == (y, p)]
        assert len(rows) == len(expected)
        for r in rows:
            assert r["value"] == expected[(r["sheet"], r["indicator_code"], r["measure"])]
            assert r["in_catalogue"] == (r["indicator_code"] in catalogue)
    assert source["stats"].faults["text_number"] > 0        # typed as text in the workbooks, read as numbers
    seed = gen.seed_annual_2024()
    ytd = {(r["indicator_code"], r["year"], r["period_number"]): r["value"]
           for name in cleaned for r in cleaned[name].to_pylist() if r["measure"] == "ytd"}
    for code in ("RETAIL_SALES", "BUDGET_REVENUE", "BUDGET_EXPENDITURE"):
        assert ytd[(code, 2024, 12)] == pytest.approx(seed[code])
    for code in ("GRDP_CURRENT", "GRDP_CONSTANT_2010", "TOTAL_INVESTMENT"):
        assert ytd[(code, 2024, 4)] == pytest.approx(seed[code])
    monthly = cleaned["monthly_indicator"]
    assert pc.all(pc.is_in(monthly["indicator_code"], pa.array(sorted(s.known_codes())))).as_py()
    assert set(cleaned["quarterly_indicator"]["in_catalogue"].to_pylist()) == {True, False}


def test_hand_built_edge_cases():
    rows = [
        ("KTXH_thang_03_2025.xlsx", "01_NSNN", "budget_revenue", "period", "18.234,5"),    # 0 VN text, lower code
        ("KTXH_thang_03_2025.xlsx", "07_CPI", "CPI_YOY", "index_period", ".."),            # 1 unavailable
        ("KTXH_thang_03_2025.xlsx", "07_CPI", "CPI_YOY", "index_ytd", "-"),                # 2 not applicable
        ("KTXH_thang_03_2025.xlsx", "01_NSNN", "NO_SUCH_CODE", "period", "1"),             # 3 unknown code
        ("KTXH_thang_13_2025.xlsx", "01_NSNN", "BUDGET_REVENUE", "period", "1"),           # 4 no such month
        ("KTXH_thang_03_2027.xlsx", "01_NSNN", "BUDGET_REVENUE", "period", "1"),           # 5 future
        ("KTXH_thang_03_2025.xlsx", "01_NSNN", "BUDGET_REVENUE", "ytd", "abc"),            # 6 no number
        ("KTXH_thang_03_2025.xlsx", "01_NSNN", "BUDGET_REVENUE", "total", "1"),            # 7 unknown measure
        ("KTXH_thang_03_2025.xlsx", "07_CPI", "CPI_YOY", "index_ytd", "103,11"),           # 8 decimal comma
        ("KTXH_thang_03_2025.xlsx", "01_NSNN", "BUDGET_REVENUE", "period", "1.5e3"),       # 9 plain float text
    ]
    raw = pa.table({"_source_file": [r[0] for r in rows], "sheet": [r[1] for r in rows], "label": ["x"] * len(rows),
                    "code": [r[2] for r in rows], "unit": ["Tỷ đồng"] * len(rows), "column": [r[3] for r in rows],
                    "value": [r[4] for r in rows]})
    out = s.clean_monthly(raw, DAY).to_pylist()
    assert out[0]["_reject_reason"] is None and out[0]["value"] == 18234.5
    assert out[0]["indicator_code"] == "BUDGET_REVENUE" and out[0]["period_start"] == date(2025, 3, 1)
    assert out[1]["_reject_reason"] is None and out[1]["value"] is None
    assert out[2]["_reject_reason"] is None and out[2]["value"] is None
    assert out[3]["_reject_reason"] == "CODE_INVALID" and "code 'NO_SUCH_CODE'" in out[3]["_reject_detail"]
    assert out[4]["_reject_reason"] == "PERIOD_INVALID" and out[4]["period_start"] is None
    assert out[5]["_reject_reason"] == "PERIOD_INVALID"
    assert out[6]["_reject_reason"] == s.NUMBER_MALFORMED and "value 'abc'" in out[6]["_reject_detail"]
    assert out[7]["_reject_reason"] == "CODE_INVALID"
    assert out[8]["value"] == pytest.approx(103.11) and out[9]["value"] == 1500.0
    assert all(REASONS[r["_reject_reason"]] for r in out if r["_reject_reason"])
    q = s.clean_quarterly(raw.set_column(0, "_source_file", pa.array(["KTXH_quy_4_2024.xlsx"] * len(rows))), DAY)
    assert set(q["period_start"].to_pylist()) == {date(2024, 10, 1)} and set(q["city_scope"].to_pylist()) == {
        "pre_merger"}


def test_empty_batches(raw):
    for name, spec in (("monthly_indicator", s.MONTHLY_INDICATOR), ("quarterly_indicator", s.QUARTERLY_INDICATOR)):
        out = spec.clean(raw[name].slice(0, 0), DAY)
        assert out.num_rows == 0 and out.schema.names == spec.schema.names + list(RULE_COLUMNS)


def test_declarations():
    registry = load_registry().get("statistics")
    for table in s.TABLES:
        obj = registry.object(table.raw.name)
        assert set(table.record_key) <= {c.name for c in obj.expected_schema} | {"_source_file"}
        assert set(table.column_docs) == set(table.schema.names)
        assert set(table.business_key) <= set(table.schema.names) and table.source_timestamp in table.schema.names
