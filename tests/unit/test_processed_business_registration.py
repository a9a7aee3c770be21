"""The processed rules of business registration: enterprise, household_business, registration_change.

The register is generated into SQLite, loaded into a temporary lake with the real loader and
cleaned from raw. Faults are checked against the generator's own bookkeeping (``stats.faults``
and ``stats.links`` counts) and its true register (``enterprise.enterprise_directory`` /
``true_enterprises``): two generations switch on groups of faults whose effects can be told
apart (row faults; duplicates and links), one runs the defaults. Hand-built batches cover the
edge cases, the snapshot-2 rename is loaded as it arrives, and every table cleans an empty batch.

``load_raw``, ``check_contract`` and ``survivors`` are used by the land and permit tests too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from kho.ingest.loader import day_interval, load_object
from kho.ingest.registry import ColumnSpec, load_registry
from kho.processed import business_registration as br
from kho.processed.base import ProcessedTable
from kho.reference import fold
from kho.settings import get_settings
from kho.sources import enterprise
from kho.standardise.reasons import REASONS, SEVERITY

SEED = 7
DAY = date(2026, 11, 27)
REGISTRY = load_registry()
ROW_FAULTS = {"tax_code_malformed": 0.04, "tax_code_bad_check": 0.04, "bad_date": 0.04, "vn_date_format": 0.05,
              "old_admin_unit": 0.06, "capital_invalid": 0.04, "unaccented_name": 0.04}
DUPLICATE_AND_LINK_FAULTS = {"exact_duplicate": 0.05, "near_duplicate": 0.08, "missing_value": 0.05,
                             "link_broken": 0.1, "link_name_mismatch": 0.05, "misspelled_name": 0.03,
                             "late_update": 0.05, "late_event": 0.05}
LEGAL_FORM_CODES = {"Công ty TNHH một thành viên": "single_member_llc",
                    "Công ty TNHH hai thành viên trở lên": "multi_member_llc",
                    "Công ty cổ phần": "joint_stock_company", "Doanh nghiệp tư nhân": "private_enterprise",
                    "Công ty hợp danh": "partnership"}
STATUS_CODES = {"dang_hoat_dong": "active", "tam_ngung": "suspended", "giai_the": "dissolved", "cham_dut": "ceased"}
ALL_CODES = set(REASONS) | set(br.PROPOSED_REASONS)


# -- shared helpers (also imported by the land and permit tests) -----------------------------------
@dataclass
class Loaded:
    raw: dict[str, pa.Table]      # registry object name -> raw 'U' rows
    stats: Any                    # the generator's GenerationStats


def zero_faults(module: Any) -> dict[str, float]:
    return {fault: 0.0 for fault in module.DEFAULT_FAULT_RATES}


def raw_rows(system: str, name: str) -> pa.Table:
    table = DeltaTable(f"{get_settings().lake_root}/raw/{system}/{name}").to_pyarrow_table()
    return table.filter(pc.equal(table["_op"], "U")) if "_op" in table.column_names else table


def load_raw(root: Path, monkeypatch: pytest.MonkeyPatch, system: str, generate: Callable[[str], Any]) -> Loaded:
    """Generate ``system`` into ``root``/source.sqlite and load every registry object of it into
    the lake ``root``/lake with the real loader (one snapshot-diff batch for DAY)."""
    root.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{root / 'source.sqlite'}"
    stats = generate(url)
    source = REGISTRY.get(system)
    monkeypatch.setenv("KHO_LAKE_ROOT", str(root / "lake"))
    monkeypatch.setenv("KHO_STATE_DIR", str(root / "state"))
    monkeypatch.setenv(f"AIRFLOW_CONN_{source.connection_id.upper()}", url)
    get_settings.cache_clear()
    for obj in source.objects:
        [result] = load_object(get_settings(), source, obj, day_interval(DAY))
        assert result.rows_read == result.rows_written > 0
    return Loaded({obj.name: raw_rows(system, obj.name) for obj in source.objects}, stats)


def cached_loader(cache: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system: str,
                  generate: Callable[..., Any]) -> Callable[..., Loaded]:
    """A per-module cache of loaded generations, keyed by (sf, fault rates)."""
    def get(sf: float, faults: dict[str, float] | None = None) -> Loaded:
        key = (sf, tuple(sorted((faults or {}).items())))
        if key not in cache:
            cache[key] = load_raw(tmp_path / f"g{len(cache)}", monkeypatch, system,
                                  lambda url: generate(url, seed=SEED, sf=sf, fault_rates=faults))
        return cache[key]
    return get


def expected_record_ids(raw: pa.Table, key: Sequence[str]) -> list[str]:
    """The record id spark_jobs.processed derives: key columns as text, ∅ for null, joined by ␟."""
    columns = [raw[c].to_pylist() if c in raw.column_names else [None] * raw.num_rows for c in key]
    return ["\u241f".join("\u2205" if v is None else str(v) for v in values) for values in zip(*columns)]


def check_contract(spec: ProcessedTable, raw: pa.Table, out: pa.Table, *, max_reject_share: float = 0.10) -> None:
    """What every rule owes the job: one typed row per input row, the record id, a reason code
    of the vocabulary with a detail naming the raw column, flags of the vocabulary, and a
    plausible reject share."""
    assert out.num_rows == raw.num_rows
    expected = pa.schema(list(spec.schema) + [("record_id", pa.string()), ("_reject_reason", pa.string()),
                                              ("_reject_detail", pa.string()), ("_completeness", pa.int32())])
    assert out.schema == expected
    assert out["record_id"].to_pylist() == expected_record_ids(raw, spec.record_key)
    source_columns = {c for c in raw.column_names if not c.startswith("_")}
    for reason, detail in zip(out["_reject_reason"].to_pylist(), out["_reject_detail"].to_pylist()):
        if reason is None:
            assert detail is None
        else:
            assert reason in ALL_CODES
            assert (SEVERITY.get(reason) or br.PROPOSED_REASONS[reason][1]) == "reject"
            assert detail.split(" ", 1)[0] in source_columns, detail
    for flags in out["quality_flags"].to_pylist():
        if flags is not None:
            codes = flags.split(",")
            assert codes == sorted(set(codes)) and set(codes) <= ALL_CODES
    share = pc.sum(pc.is_valid(out["_reject_reason"])).as_py() / max(1, out.num_rows)
    assert share < max_reject_share


def valid_rows(out: pa.Table) -> list[dict[str, Any]]:
    return out.filter(pc.is_null(out["_reject_reason"])).to_pylist()


def reasons_of(out: pa.Table) -> Counter:
    return Counter(r for r in out["_reject_reason"].to_pylist() if r is not None)


def flag_counts(out: pa.Table) -> Counter:
    return Counter(code for f in out["quality_flags"].to_pylist() if f for code in f.split(","))


def survivors(rows: list[dict[str, Any]], spec: ProcessedTable) -> dict[tuple, dict[str, Any]]:
    """The job's survivorship per business key: latest source timestamp, completeness, record id."""
    best: dict[tuple, dict[str, Any]] = {}

    def rank(r: dict[str, Any]) -> tuple:
        ts = r[spec.source_timestamp] if spec.source_timestamp else None
        return (ts is not None, ts.timestamp() if ts is not None else 0.0, r["_completeness"], r["record_id"])

    for r in rows:
        key = tuple(r[c] for c in spec.business_key)
        if key not in best or rank(r) > rank(best[key]):
            best[key] = r
    return best


def table_spec(module: Any, name: str) -> ProcessedTable:
    [spec] = [t for t in module.TABLES if t.name == name]
    return spec


def check_declarations(module: Any, system: str) -> None:
    """Each declaration names a registry object, its primary key, documented typed columns."""
    source = REGISTRY.get(system)
    for spec in module.TABLES:
        obj = source.object(spec.raw.name)
        assert spec.raw.domain == system and spec.domain == system
        source_columns = {c.name for c in obj.expected_schema}
        assert set(obj.primary_key) <= set(spec.record_key) <= source_columns | {"_record_hash"}
        names = spec.schema.names
        assert set(spec.business_key) <= set(names) and spec.business_key
        assert set(spec.pii_columns) <= set(names)
        assert list(spec.column_docs) == names and all(spec.column_docs.values())
        assert "quality_flags" in names
        if spec.source_timestamp:
            assert pa.types.is_timestamp(spec.schema.field(spec.source_timestamp).type)
        assert spec.owner and spec.description and spec.term_vi
        for field in spec.schema:
            assert field.type in (pa.string(), pa.int64(), pa.float64(), pa.date32(), pa.bool_(), br.TIMESTAMP)


# -- fixtures ---------------------------------------------------------------------------------------
_GENERATIONS: dict = {}


@pytest.fixture
def generated(isolated_settings, tmp_path, monkeypatch) -> Callable[..., Loaded]:
    return cached_loader(_GENERATIONS, tmp_path, monkeypatch, "business_registration", enterprise.generate)


def _truth_enterprises(sf: float) -> dict[str, enterprise.Enterprise]:
    return {e.tax_code: e for e in enterprise.enterprise_directory(SEED, sf)}


def _truth_households(sf: float) -> dict[str, enterprise.Enterprise]:
    return {e.business_id: e for e in enterprise.true_enterprises(SEED, sf) if e.kind == "household_business"}


ENTERPRISE = table_spec(br, "enterprise")
HOUSEHOLD = table_spec(br, "household_business")
CHANGE = table_spec(br, "registration_change")


# -- default fault rates ----------------------------------------------------------------------------
@pytest.mark.parametrize("spec", br.TABLES, ids=lambda s: s.name)
def test_default_faults_keep_every_row_with_a_plausible_reject_share(generated, spec):
    loaded = generated(1.0)
    raw = loaded.raw[spec.raw.name]
    out = spec.clean(raw, DAY)
    check_contract(spec, raw, out)
    assert reasons_of(out)                       # the default faults do reject something


def test_default_enterprises_equal_the_true_register(generated):
    loaded = generated(1.0)
    truth = _truth_enterprises(1.0)
    rows = valid_rows(ENTERPRISE.clean(loaded.raw["enterprise"], DAY))
    for r in rows:
        e = truth[r["tax_code"]]
        assert r["commune_code"] == e.unit_code
        assert r["founding_date"] in (e.registered_on, None)
        assert r["legal_form"] in (LEGAL_FORM_CODES[e.legal_form], None)
        assert r["vsic_code"] in (e.vsic_code, None)
        assert r["charter_capital_vnd"] in (e.capital_vnd, None)
    best = survivors(rows, ENTERPRISE)
    assert len(best) > 0.98 * len(truth)
    assert all(r["status"] == STATUS_CODES[truth[k[0]].status] for k, r in best.items())


# -- row faults: each ends where it should ----------------------------------------------------------
def _row_fault_generation(generated) -> Loaded:
    return generated(0.5, {**zero_faults(enterprise), **ROW_FAULTS})


def test_enterprise_row_faults(generated):
    loaded = _row_fault_generation(generated)
    raw = loaded.raw["enterprise"]
    out = ENTERPRISE.clean(raw, DAY)
    check_contract(ENTERPRISE, raw, out, max_reject_share=0.25)
    count = {f: loaded.stats.faults[f"doanh_nghiep.{f}"] for f in ROW_FAULTS}
    assert all(count.values())
    truth = _truth_enterprises(0.5)
    reasons, flags = reasons_of(out), flag_counts(out)
    rows = out.to_pylist()
    raws = raw.to_pylist()
    # tax codes: a wrong check digit rejects; grouping spaces are repaired, other malformations reject
    assert reasons["TAX_CODE_BAD_CHECK"] == count["tax_code_bad_check"]
    spaced = sum(1 for s, r in zip(raws, rows) if " " in s["ma_so_doanh_nghiep"] and r["_reject_reason"] is None)
    assert spaced > 0 and reasons["TAX_CODE_MALFORMED"] + spaced == count["tax_code_malformed"]
    # dates: impossible ones reject, an empty one is flagged; dd/mm/yyyy is read
    assert reasons["DATE_UNPARSEABLE"] + flags["DATE_MISSING"] == count["bad_date"]
    assert reasons["MONEY_NOT_POSITIVE"] == count["capital_invalid"]
    assert sum(1 for r in rows if r["quality_flags"] == "NAME_UNACCENTED") == count["unaccented_name"]
    # pre-2025 unit codes: through the crosswalk (or rejected when the old unit was split)
    crosswalked = sum(1 for r in rows if r["commune_code_source"] in ("crosswalk", "address_old_unit"))
    assert crosswalked > 0 and crosswalked + reasons["ADMIN_UNIT_SPLIT"] == count["old_admin_unit"]
    assert sum(reasons.values()) == (count["tax_code_bad_check"] + count["tax_code_malformed"] - spaced
                                     + count["bad_date"] - flags["DATE_MISSING"] + count["capital_invalid"]
                                     + reasons["ADMIN_UNIT_SPLIT"])
    vn_dates = 0
    for s, r in zip(raws, rows):
        if r["_reject_reason"] is not None:
            continue
        e = truth[r["tax_code"]]
        vn_dates += bool(re.fullmatch(r"\d{2}/\d{2}/\d{4}", s["ngay_thanh_lap"] or ""))
        assert r["founding_date"] == e.registered_on or r["quality_flags"] == "DATE_MISSING"
        assert r["commune_code"] == e.unit_code and r["charter_capital_vnd"] == e.capital_vnd
        if r["quality_flags"] is None:
            assert r["enterprise_name"] == e.name.upper()
    assert vn_dates == count["vn_date_format"]


def test_household_and_change_row_faults(generated):
    loaded = _row_fault_generation(generated)
    raw = loaded.raw["household_business"]
    out = HOUSEHOLD.clean(raw, DAY)
    check_contract(HOUSEHOLD, raw, out, max_reject_share=0.25)
    count = Counter({f: loaded.stats.faults[f"ho_kinh_doanh.{f}"] for f in ROW_FAULTS})
    reasons, flags = reasons_of(out), flag_counts(out)
    assert reasons["DATE_UNPARSEABLE"] + flags["DATE_MISSING"] == count["bad_date"] > 0
    assert reasons["MONEY_NOT_POSITIVE"] == count["capital_invalid"] > 0
    truth = _truth_households(0.5)
    rows = out.to_pylist()
    crosswalked = sum(1 for r in rows if r["commune_code_source"] in ("crosswalk", "address_old_unit"))
    assert crosswalked > 0 and crosswalked + reasons["ADMIN_UNIT_SPLIT"] == count["old_admin_unit"]
    unaccented = sum(1 for r in rows if fold(r["business_name"]) == r["business_name"].lower())
    assert unaccented == count["unaccented_name"] > 0
    for r in rows:
        if r["_reject_reason"] is None:
            h = truth[r["registration_no"]]
            assert r["registration_date"] == h.registered_on or r["quality_flags"] == "DATE_MISSING"
            assert (r["commune_code"], r["capital_vnd"]) == (h.unit_code, h.capital_vnd)
            assert (r["owner_cccd"], r["owner_name"], r["vsic_code"]) == (h.owner_cccd, h.owner_name, h.vsic_code)
    changes = loaded.raw["registration_change"]
    out = CHANGE.clean(changes, DAY)
    check_contract(CHANGE, changes, out, max_reject_share=0.25)
    reasons, flags = reasons_of(out), flag_counts(out)
    bad = loaded.stats.faults["thay_doi_dang_ky.bad_date"]
    assert set(reasons) <= {"DATE_UNPARSEABLE"} and reasons["DATE_UNPARSEABLE"] + flags["DATE_MISSING"] == bad > 0
    vn = sum(1 for v, r in zip(changes["ngay_hieu_luc"].to_pylist(), out.to_pylist())
             if re.fullmatch(r"\d{2}/\d{2}/\d{4}", v or "") and r["effective_date"] is not None)
    assert vn == loaded.stats.faults["thay_doi_dang_ky.vn_date_format"] > 0
    undated = sum(1 for r in out.to_pylist() if r["effective_date"] is None)
    assert undated == sum(reasons.values()) + flags["DATE_MISSING"]


# -- duplicates and broken links ----------------------------------------------------------------------
def _duplicate_generation(generated) -> Loaded:
    return generated(0.5, {**zero_faults(enterprise), **DUPLICATE_AND_LINK_FAULTS})


def test_enterprise_duplicates_merge_and_links_are_flagged(generated):
    loaded = _duplicate_generation(generated)
    raw = loaded.raw["enterprise"]
    out = ENTERPRISE.clean(raw, DAY)
    check_contract(ENTERPRISE, raw, out)
    truth = _truth_enterprises(0.5)
    faults, links = loaded.stats.faults, loaded.stats.links
    assert raw.num_rows == len(truth) + faults["doanh_nghiep.exact_duplicate"] + faults["doanh_nghiep.near_duplicate"]
    assert not reasons_of(out)                 # missing values, broken links, late updates: kept
    rows = valid_rows(out)
    best = survivors(rows, ENTERPRISE)
    assert {k[0] for k in best} == set(truth)  # near copies (CTY, title case, unaccented) share the tax code
    for (code,), r in best.items():             # the latest version wins: never a stale 'active' copy
        assert r["status"] == STATUS_CODES[truth[code].status]
    # broken representative links: malformed / empty CCCDs are nulled and flagged, typing repaired
    broken = {r["tax_code"] for r in rows if r["representative_cccd"] != truth[r["tax_code"]].owner_cccd}
    raw_broken = {s["ma_so_doanh_nghiep"] for s in raw.to_pylist()
                  if s["so_cccd_nguoi_dai_dien"] != truth[s["ma_so_doanh_nghiep"]].owner_cccd}
    assert broken < raw_broken and len(raw_broken) == links["doanh_nghiep.citizen_broken"]
    for r in rows:
        if r["quality_flags"] and "CCCD_" in r["quality_flags"]:
            assert r["representative_cccd"] is None
    assert flag_counts(out)["MONEY_MISSING"] > 0


def test_household_duplicates_and_change_events_entered_twice(generated):
    loaded = _duplicate_generation(generated)
    raw = loaded.raw["household_business"]
    out = HOUSEHOLD.clean(raw, DAY)
    check_contract(HOUSEHOLD, raw, out)
    truth = _truth_households(0.5)
    assert not reasons_of(out)
    faults = loaded.stats.faults
    assert raw.num_rows == len(truth) + faults["ho_kinh_doanh.exact_duplicate"] + faults["ho_kinh_doanh.near_duplicate"]
    # a near copy (unaccented name, a stamp of the registration day) shares the registration number
    assert {k[0] for k in survivors(valid_rows(out), HOUSEHOLD)} == set(truth)
    owners = [r for r in out.to_pylist() if r["quality_flags"] and "CCCD_" in r["quality_flags"]]
    assert owners and all(r["owner_cccd"] is None for r in owners)

    changes = loaded.raw["registration_change"]
    out = CHANGE.clean(changes, DAY)
    check_contract(CHANGE, changes, out)
    faults, links = loaded.stats.faults, loaded.stats.links
    rows, raws = out.to_pylist(), changes.to_pylist()
    content = [(s["ma_so_doanh_nghiep"], s["loai_thay_doi"], s["noi_dung"], s["ngay_hieu_luc"]) for s in raws]
    assert len(content) - len(set(content)) == faults["thay_doi_dang_ky.exact_duplicate"] > 0
    valid = [(r, c) for r, c in zip(rows, content) if r["_reject_reason"] is None]
    keys = {tuple(r[k] for k in CHANGE.business_key) for r, _ in valid}
    assert len(keys) == len({c for _, c in valid})          # a copy with another id is the same event
    rejected = {c for r, c in zip(rows, content) if r["_reject_reason"] is not None}
    repaired = {c for r, c in zip(rows, content) if r["_reject_reason"] is None and " " in c[0]}
    assert set(reasons_of(out)) <= {"TAX_CODE_BAD_CHECK", "TAX_CODE_MALFORMED"}
    assert len(rejected) + len(repaired) == links["thay_doi_dang_ky.enterprise_broken"] > 0


# -- hand-built batches ------------------------------------------------------------------------------------
ENTERPRISE_BASE = {
    "ma_so_doanh_nghiep": "0202576251", "ten_doanh_nghiep": "CÔNG TY TNHH PHỤ TÙNG Ô TÔ HỮU NGHỊ",
    "loai_hinh": "Công ty TNHH một thành viên", "nganh_nghe_chinh": "4530", "von_dieu_le": "410000000",
    "ngay_thanh_lap": "2005-11-18", "ma_dvhc": "11443",
    "dia_chi_tru_so": "Số 342 Tôn Đức Thắng, Phường Kiến An, Thành phố Hải Phòng", "dia_chi": None,
    "so_cccd_nguoi_dai_dien": "031080996417", "ho_ten_nguoi_dai_dien": "Đỗ Đức Việt", "trang_thai": "dang_hoat_dong",
    "ngay_cap_nhat": "2023-10-30 11:37:53", "email": None, "_record_hash": "h",
}
# (overrides, output column, expected value, reject reason, flags)
ENTERPRISE_CASES = [
    ({}, "tax_code", "0202576251", None, None),
    ({"ma_so_doanh_nghiep": " 0202.576.251 "}, "tax_code", "0202576251", None, None),
    ({"ma_so_doanh_nghiep": "0301190717025"}, "tax_code", "0301190717-025", None, None),
    ({"ma_so_doanh_nghiep": "202576251"}, "tax_code", "202576251", "TAX_CODE_MALFORMED", None),
    ({"ma_so_doanh_nghiep": "0202576252"}, "tax_code", "0202576252", "TAX_CODE_BAD_CHECK", None),
    ({"ma_so_doanh_nghiep": None}, "tax_code", None, "TAX_CODE_MISSING", None),
    ({"ten_doanh_nghiep": "Cty TNHH Phụ Tùng Ô Tô Hữu Nghị"}, "enterprise_name",
     "CÔNG TY TNHH PHỤ TÙNG Ô TÔ HỮU NGHỊ", None, None),
    ({"ten_doanh_nghiep": "CONG TY TNHH PHU TUNG"}, "enterprise_name", "CONG TY TNHH PHU TUNG", None,
     "NAME_UNACCENTED"),
    ({"ten_doanh_nghiep": "  "}, "enterprise_name", None, "NAME_MISSING", None),
    ({"loai_hinh": "CÔNG TY CỔ PHẦN"}, "legal_form", "joint_stock_company", None, None),
    ({"loai_hinh": "Công ty trách nhiệm vô hạn"}, "legal_form", None, "CODE_INVALID", None),
    ({"loai_hinh": ""}, "legal_form", None, None, None),
    ({"nganh_nghe_chinh": "0000"}, "vsic_code", "0000", "CODE_INVALID", None),
    ({"nganh_nghe_chinh": "46A9"}, "vsic_code", "46A9", "CODE_INVALID", None),
    ({"von_dieu_le": "5.310.000.000"}, "charter_capital_vnd", 5_310_000_000, None, None),
    ({"von_dieu_le": "-5"}, "charter_capital_vnd", -5, "MONEY_NOT_POSITIVE", None),
    ({"von_dieu_le": "năm tỷ"}, "charter_capital_vnd", None, "MONEY_MALFORMED", None),
    ({"von_dieu_le": None}, "charter_capital_vnd", None, None, "MONEY_MISSING"),
    ({"ngay_thanh_lap": "18/11/2005"}, "founding_date", date(2005, 11, 18), None, None),
    ({"ngay_thanh_lap": "31/02/2019"}, "founding_date", None, "DATE_UNPARSEABLE", None),
    ({"ngay_thanh_lap": "2027-01-01"}, "founding_date", None, "DATE_OUT_OF_RANGE", None),
    ({"ngay_thanh_lap": ""}, "founding_date", None, None, "DATE_MISSING"),
    ({"ma_dvhc": "", "dia_chi_tru_so": "Thôn 3, Xã An Trường, TP. Hải Phòng"}, "commune_code", "11635", None, None),
    ({"ma_dvhc": "99999", "dia_chi_tru_so": "Số 1 Lê Lợi, Khu X"}, "commune_code", None, "ADMIN_UNIT_UNKNOWN", None),
    ({"ma_dvhc": "10510", "dia_chi_tru_so": "Số 1 Lê Lợi, Phường Bình Hàn, Thành phố Hải Dương, Tỉnh Hải Dương"},
     "commune_code", "10507", None, None),                                   # pre-2025 Phường Bình Hàn
    ({"ma_dvhc": "10528", "dia_chi_tru_so": "Số 5 Lê Lợi, Phường Tân Hưng, Hải Phòng"}, "commune_code", "10537",
     None, None),                                                            # split Trần Phú, decided by address
    ({"ma_dvhc": "10528", "dia_chi_tru_so": "Số 5, Phường Trần Phú, Thành phố Hải Dương, Tỉnh Hải Dương"},
     "commune_code", None, "ADMIN_UNIT_SPLIT", None),
    ({"ma_dvhc": "11443", "dia_chi_tru_so": "Số 1 Lê Lợi, Xã An Trường, Hải Phòng"}, "commune_code", "11443", None,
     "ADDRESS_UNIT_CONFLICT"),
    ({"dia_chi_tru_so": None, "dia_chi": "Số 9  Lê Lợi,  Phường Kiến An"}, "address", "Số 9 Lê Lợi, Phường Kiến An",
     None, None),
    ({"email": " Info@HaiLong.com.vn "}, "email", "info@hailong.com.vn", None, None),
    ({"so_cccd_nguoi_dai_dien": "31080996417"}, "representative_cccd", "031080996417", None, None),
    ({"so_cccd_nguoi_dai_dien": "031080-996417"}, "representative_cccd", "031080996417", None, None),
    ({"so_cccd_nguoi_dai_dien": "03108O996417"}, "representative_cccd", None, None, "CCCD_MALFORMED"),
    ({"ho_ten_nguoi_dai_dien": "DO DUC VIET"}, "representative_name", "Đỗ Đức Việt", None, None),
    ({"trang_thai": "Tạm ngừng"}, "status", "suspended", None, None),
    ({"trang_thai": "dang hoat"}, "status", None, "CODE_INVALID", None),
    ({"ngay_cap_nhat": "30/10/2023 11:37"}, "updated_at", datetime(2023, 10, 30, 11, 37), None, None),
    ({"ngay_cap_nhat": "không rõ"}, "updated_at", None, None, "TIMESTAMP_UNPARSEABLE"),
]


def _batch(base: dict[str, Any], cases: list[tuple]) -> pa.Table:
    rows = [{**base, **overrides} for overrides, *_ in cases]
    return pa.Table.from_pylist(rows, schema=pa.schema([(k, pa.string()) for k in base]))


def check_cases(clean: Callable[[pa.Table, date], pa.Table], base: dict[str, Any], cases: list[tuple]) -> None:
    out = clean(_batch(base, cases), DAY).to_pylist()
    for (overrides, col, value, reason, flags), row in zip(cases, out):
        got = row[col]
        if isinstance(got, datetime):            # an instant tagged Asia/Ho_Chi_Minh: compare the wall time
            got = got.replace(tzinfo=None)
        assert (got, row["_reject_reason"], row["quality_flags"]) == (value, reason, flags), overrides
        if reason:
            assert row["_reject_detail"].startswith(next(iter(overrides)) if overrides else "")


def test_enterprise_edge_cases():
    check_cases(br.clean_enterprise, ENTERPRISE_BASE, ENTERPRISE_CASES)


def test_enterprise_typed_columns_and_record_batches():
    table = _batch(ENTERPRISE_BASE, [({}, "tax_code", "", None, None)] * 3)
    typed = table.set_column(table.schema.get_field_index("von_dieu_le"), "von_dieu_le",
                             pa.array([410_000_000, 0, None], pa.int64()))
    out = br.clean_enterprise(typed.to_batches()[0], DAY)
    assert out["charter_capital_vnd"].to_pylist() == [410_000_000, 0, None]
    assert out["_reject_reason"].to_pylist() == [None, "MONEY_NOT_POSITIVE", None]
    assert out["record_id"].to_pylist() == ["0202576251\u241fh"] * 3
    assert out["_completeness"].to_pylist() == [9, 9, 8]     # a rejected amount is kept for the quarantine


HOUSEHOLD_BASE = {
    "so_dang_ky": "02A8000024", "ten_ho_kinh_doanh": "Hộ kinh doanh Môi giới bất động sản Hà Phát",
    "so_cccd_chu_ho": "067089188743", "ho_ten_chu_ho": "Lê Đức Long", "ma_nganh": "6820",
    "nganh_nghe": "Môi giới  bất động sản", "von_kinh_doanh": "243000000", "ma_dvhc": "11635",
    "dia_diem_kinh_doanh": "Khu dân cư 1, Xã An Trường, Thành phố Hải Phòng", "ngay_dang_ky": "2014-12-27",
    "trang_thai": "cham_dut", "ngay_cap_nhat": "2017-10-31 17:02:27", "_record_hash": "h",
}
HOUSEHOLD_CASES = [
    ({}, "owner_cccd", "067089188743", None, None),
    ({"so_dang_ky": " 02a8000024 "}, "registration_no", "02A8000024", None, None),
    ({"so_dang_ky": ""}, "registration_no", None, "KEY_MISSING", None),
    ({"so_cccd_chu_ho": "0202576251"}, "owner_tax_code", "0202576251", None, None),
    ({"so_cccd_chu_ho": "0202576252"}, "owner_tax_code", None, None, "TAX_CODE_BAD_CHECK"),
    ({"so_cccd_chu_ho": None}, "owner_cccd", None, None, "CCCD_MISSING"),
    ({"so_cccd_chu_ho": "9990891887431"}, "owner_cccd", None, None, "CCCD_MALFORMED"),
    ({"ho_ten_chu_ho": "le duc long"}, "owner_name", "Lê Đức Long", None, None),
    ({"ten_ho_kinh_doanh": "Ho kinh doanh Ha Phat"}, "business_name", "Ho kinh doanh Ha Phat", None,
     "NAME_UNACCENTED"),
    ({"nganh_nghe": None}, "activity", None, None, None),
    ({"ma_nganh": None}, "vsic_code", None, None, None),
    ({"von_kinh_doanh": "0"}, "capital_vnd", 0, "MONEY_NOT_POSITIVE", None),
    ({"ngay_dang_ky": "12/2018"}, "registration_date", None, "DATE_UNPARSEABLE", None),
    ({"trang_thai": "Chấm dứt hoạt động"}, "status", "ceased", None, None),
    ({"ma_dvhc": "10510", "dia_diem_kinh_doanh": None}, "commune_code", "10507", None, None),
]


def test_household_edge_cases():
    check_cases(br.clean_household_business, HOUSEHOLD_BASE, HOUSEHOLD_CASES)


CHANGE_BASE = {"id": "17", "ma_so_doanh_nghiep": "0201305964", "loai_thay_doi": "tang_von",
               "noi_dung": "Tăng vốn điều lệ từ 1.180.000.000 đồng lên 2.340.000.000 đồng",
               "ngay_hieu_luc": "2007-08-28", "_record_hash": "h"}
CHANGE_CASES = [
    ({}, "capital_after_vnd", 2_340_000_000, None, None),
    ({}, "capital_before_vnd", 1_180_000_000, None, None),
    ({"loai_thay_doi": "doi_ten", "noi_dung": 'Đổi tên doanh nghiệp từ "A" thành "B"'}, "capital_after_vnd", None,
     None, None),
    ({"id": None}, "event_id", None, "KEY_MISSING", None),
    ({"id": "x1"}, "event_id", None, "NUMBER_MALFORMED", None),
    ({"ma_so_doanh_nghiep": "020130596"}, "tax_code", "020130596", "TAX_CODE_MALFORMED", None),
    ({"loai_thay_doi": "sap_nhap"}, "change_type", None, "CODE_INVALID", None),
    ({"ngay_hieu_luc": "28/08/2007"}, "effective_date", date(2007, 8, 28), None, None),
    ({"ngay_hieu_luc": None}, "effective_date", None, None, "DATE_MISSING"),
]


def test_change_edge_cases():
    check_cases(br.clean_registration_change, CHANGE_BASE, CHANGE_CASES)


# -- the snapshot-2 schema: dia_chi_tru_so renamed dia_chi, email added ---------------------------------
def test_snapshot_two_rename_cleans_from_both_columns(isolated_settings, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'br.sqlite'}"
    source = REGISTRY.get("business_registration")
    monkeypatch.setenv(f"AIRFLOW_CONN_{source.connection_id.upper()}", url)
    get_settings.cache_clear()
    obj = source.object("enterprise")
    enterprise.generate_snapshot(url, seed=SEED, sf=0.3, snapshot=1)
    load_object(get_settings(), source, obj, day_interval(DAY))
    enterprise.generate_snapshot(url, seed=SEED, sf=0.3, snapshot=2)
    # the data engineer's decision for the rename: dia_chi, with its old name as an alias; email declared
    declared = [ColumnSpec(name="dia_chi", type="string", aliases=["dia_chi_tru_so"]) if c.name == "dia_chi_tru_so"
                else c for c in obj.expected_schema] + [ColumnSpec(name="email", type="string")]
    renamed = obj.model_copy(update={"expected_schema": declared})
    load_object(get_settings(), source.model_copy(update={"objects": [renamed]}), renamed,
                day_interval(DAY + timedelta(days=1)))
    raw = raw_rows("business_registration", "enterprise")
    assert {"dia_chi", "dia_chi_tru_so", "email"} <= set(raw.column_names)
    old = pc.is_valid(raw["dia_chi_tru_so"]).to_pylist()
    new = pc.is_valid(raw["dia_chi"]).to_pylist()
    assert any(old) and any(new) and not any(a and b for a, b in zip(old, new))
    out = br.clean_enterprise(raw, date(2026, 12, 1))
    check_contract(ENTERPRISE, raw, out)
    given = [" ".join((a or b or "").split()) or None for a, b in zip(raw["dia_chi"].to_pylist(),
                                                                     raw["dia_chi_tru_so"].to_pylist())]
    assert out["address"].to_pylist() == given and sum(a is not None for a in given) > 0.98 * len(given)
    second = pc.equal(raw["_batch_id"], "business_registration.enterprise.20261128")
    emails = [e for e in out.filter(second)["email"].to_pylist() if e]
    assert emails and all("@" in e and e == e.lower() for e in emails)
    # a hand-built batch spanning the rename: one column null on each row
    both = _batch(ENTERPRISE_BASE, [({}, "", "", None, None), ({"dia_chi_tru_so": None, "dia_chi": "Số 2 A, Xã An "
                                                                "Trường"}, "", "", None, None)])
    assert br.clean_enterprise(both, DAY)["address"].to_pylist() == [ENTERPRISE_BASE["dia_chi_tru_so"],
                                                                    "Số 2 A, Xã An Trường"]


# -- empty batches and declarations -------------------------------------------------------------------------
@pytest.mark.parametrize("spec", br.TABLES, ids=lambda s: s.name)
def test_empty_batch(spec):
    source = REGISTRY.get("business_registration").object(spec.raw.name)
    empty = pa.schema([(c.name, pa.string()) for c in source.expected_schema] + [("_record_hash", pa.string())])
    out = spec.clean(empty.empty_table(), DAY)
    assert out.num_rows == 0
    assert out.schema.names == spec.schema.names + ["record_id", "_reject_reason", "_reject_detail", "_completeness"]


def test_declarations_follow_the_registry():
    check_declarations(br, "business_registration")
    assert ENTERPRISE.business_key == ("tax_code",) and HOUSEHOLD.business_key == ("registration_no",)
    assert {"representative_cccd", "representative_name"} <= set(ENTERPRISE.pii_columns)
    assert {"owner_cccd", "owner_tax_code", "owner_name", "address"} <= set(HOUSEHOLD.pii_columns)
