"""Processed labour register and poor-household lists (kho.processed.labour).

The quarterly register and the yearly poverty lists are generated as CSV, loaded with the real
file-drop loader and cleaned. Faults are checked by difference with a run without faults (the
generator is deterministic and draws its faults from its own stream, so with one fault type on,
row k of a file differs from row k of the clean file only where that fault struck); duplicate
faults add rows and are checked on their own.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from kho.ingest.loader import day_interval, load_object
from kho.ingest.registry import load_registry
from kho.processed import labour as processed
from kho.processed.base import RULE_COLUMNS
from kho.reference import fold
from kho.settings import get_settings
from kho.sources import labour
from kho.sources.faults import _old_codes_by_unit
from kho.standardise import REASONS
from kho.standardise.text import normalize_tone_marks

DAY = date(2026, 11, 27)
SEED = 3
SF = 0.2                     # 20,000 citizens: ~15,000 register rows a quarter, ~150 poor households a year
QUARTERS = ("2026Q2", "2026Q3")      # two files: the key holds within one
REGISTRY = load_registry()
TABLES = {t.name: t for t in processed.TABLES}
NO_FAULTS = {k: 0.0 for k in labour.DEFAULT_FAULT_RATES}
SOURCE_COLUMNS = {"labour_register": list(labour.LABOUR_COLUMNS), "poor_household": list(labour.POVERTY_COLUMNS)}
INDUSTRY_WORDS = "Công nghiệp chế biến, chế tạo"       # what the generator writes for any section


# -- helpers ---------------------------------------------------------------------------------

def _load(root: Path, monkeypatch: pytest.MonkeyPatch, rates: dict[str, float] | None = None):
    """Generate the drops under ``root``, load both objects into ``root/lake``; return
    (generator stats, {table: raw rows in file order})."""
    stats = labour.generate(root, seed=SEED, sf=SF, fault_rates=rates, quarters=QUARTERS)
    monkeypatch.setenv("KHO_LAKE_ROOT", str(root / "lake"))
    monkeypatch.setenv("KHO_STATE_DIR", str(root / "state"))
    source = REGISTRY.get("labour")
    monkeypatch.setenv(f"AIRFLOW_CONN_{source.connection_id.upper()}", f"file://{root / 'labour'}")
    get_settings.cache_clear()
    raw = {}
    for name, spec in TABLES.items():
        load_object(get_settings(), source, source.object(name), day_interval(DAY))
        table = DeltaTable(spec.raw.path(get_settings())).to_pyarrow_table()
        raw[name] = table.take(pc.sort_indices(table, [("_source_file", "ascending")]))   # stable: file order kept
    return stats, raw


def _clean(name: str, raw: pa.Table) -> pa.Table:
    out = TABLES[name].clean(raw, DAY)
    assert out.num_rows == raw.num_rows
    return out


def _flags(row: dict) -> set[str]:
    return set((row["quality_flags"] or "").split(",")) - {""}


def _same_except(out: dict, base: dict, allowed: set[str]) -> None:
    for column, value in base.items():
        if column not in allowed | {"quality_flags", "_completeness", "record_id"}:
            assert out[column] == value, (column, out, base)


@pytest.fixture
def pair(isolated_settings, monkeypatch, tmp_path):
    """For one fault type: (stats, {table: [(raw, processed, clean processed, changed columns)]})."""
    def run(fault: str, rate: float = 0.3):
        _, clean_raw = _load(tmp_path / f"clean-{fault}", monkeypatch, NO_FAULTS)
        stats, raw = _load(tmp_path / fault, monkeypatch, {**NO_FAULTS, fault: rate})
        changed = {}
        for name in TABLES:
            assert raw[name]["_source_file"].to_pylist() == clean_raw[name]["_source_file"].to_pylist()
            rows = zip(raw[name].to_pylist(), _clean(name, raw[name]).to_pylist(), clean_raw[name].to_pylist(),
                       _clean(name, clean_raw[name]).to_pylist())
            changed[name] = [(r, o, bo, diff) for r, o, br, bo in rows
                             if (diff := [c for c in SOURCE_COLUMNS[name] if r[c] != br[c]])]
        return stats, changed
    return run


# -- declarations and empty batches ------------------------------------------------------------

def test_declarations_follow_the_registry():
    source = REGISTRY.get("labour")
    assert list(TABLES) == [o.name for o in source.objects]
    for name, spec in TABLES.items():
        obj = source.object(name)
        assert spec.raw.domain == "labour" and spec.raw.name == name and obj.load_mode == "append_only"
        assert spec.record_key[0] == "_source_file" and set(obj.natural_key) - {"nam"} <= set(spec.record_key)
        assert spec.owner in source.owner
        names = spec.schema.names
        assert set(spec.column_docs) == set(names) and not set(RULE_COLUMNS) & set(names)
        assert set(spec.business_key) <= set(names) and set(spec.pii_columns) <= set(names)
    assert TABLES["labour_register"].business_key == ("quarter", "cccd")
    assert TABLES["poor_household"].business_key == ("household_code", "year")
    assert {"cccd", "full_name", "birth_date"} <= set(TABLES["labour_register"].pii_columns)
    assert {"household_code", "head_cccd", "head_name"} <= set(TABLES["poor_household"].pii_columns)


@pytest.mark.parametrize("name", list(TABLES))
def test_empty_batch(name):
    columns = SOURCE_COLUMNS[name] + ["_source_file", "_batch_id", "_record_hash"]
    out = TABLES[name].clean(pa.table({c: pa.array([], pa.string()) for c in columns}), DAY)
    assert out.num_rows == 0 and out.schema.names == TABLES[name].schema.names + list(RULE_COLUMNS)


# -- default fault rates -----------------------------------------------------------------------

def test_default_rates(isolated_settings, monkeypatch, tmp_path):
    stats, raw = _load(tmp_path / "default", monkeypatch)
    register = _clean("labour_register", raw["labour_register"])
    households = _clean("poor_household", raw["poor_household"])
    assert register.num_rows == stats.rows["lao_dong_viec_lam"]
    assert households.num_rows == stats.rows["ho_ngheo_can_ngheo"]
    for name, out in (("labour_register", register), ("poor_household", households)):
        reasons = Counter(out["_reject_reason"].to_pylist())
        rejected = out.num_rows - reasons.pop(None)
        assert set(reasons) <= {"CCCD_MALFORMED", "CCCD_BAD_PROVINCE", "CCCD_MISSING"}, reasons
        assert rejected / out.num_rows < 0.01
        valid = out.filter(pc.is_null(out["_reject_reason"]))
        assert valid["_reject_detail"].null_count == valid.num_rows
        for column in TABLES[name].business_key:
            assert valid[column].null_count == 0
        for flags in out["quality_flags"].drop_null().to_pylist():
            assert set(flags.split(",")) <= set(REASONS)
    quarters = Counter(register["quarter"].to_pylist())
    assert sorted(quarters) == [date(2026, 4, 1), date(2026, 7, 1)]
    statuses = Counter(register["employment_status"].to_pylist())
    assert set(statuses) <= {*processed.EMPLOYMENT_STATUS, None} and statuses[None] < 0.01 * register.num_rows
    assert set(register["industry_section"].drop_null().to_pylist()) <= set("ABCDEFGHIJKLMNOPQRSTU")
    assert Counter(households["year"].to_pylist()).keys() == {2024, 2025}
    assert set(households["poverty_type"].to_pylist()) <= set(processed.POVERTY_TYPES)


def test_duplicates_share_the_business_key(isolated_settings, monkeypatch, tmp_path):
    stats, raw = _load(tmp_path / "duplicates", monkeypatch,
                       {**NO_FAULTS, "exact_duplicate": 0.02, "near_duplicate": 0.02})
    extra = 0
    for name, spec in TABLES.items():
        out = _clean(name, raw[name])
        assert out["_reject_reason"].null_count == out.num_rows
        keys = Counter(zip(*(out[c].to_pylist() for c in spec.business_key)))
        extra += out.num_rows - len(keys)
        ids = Counter(out["record_id"].to_pylist())
        # the record id keeps a near duplicate (same CCCD, name typed again) apart from its original,
        # so it reaches survivorship; only a byte-identical row repeats a record id
        assert out.num_rows - len(ids) == sum(n - 1 for n in Counter(
            zip(raw[name]["_source_file"].to_pylist(), raw[name]["_record_hash"].to_pylist())).values())
    assert extra == stats.faults["exact_duplicate"] + stats.faults["near_duplicate"] > 0


# -- one fault type at a time ----------------------------------------------------------------

def test_missing_values(pair):
    stats, changed = pair("missing_value")
    seen: Counter = Counter()
    for raw, out, base, diff in changed["labour_register"]:
        assert out["_reject_reason"] is None
        [column] = diff
        seen[column] += 1
        if column == "tinh_trang_viec_lam":
            if base["industry_section"]:                 # only the employed have an industry
                assert out["employment_status"] == base["employment_status"] == "co_viec"
                _same_except(out, base, set())
            else:
                assert out["employment_status"] is None and "CODE_INVALID" in _flags(out)
                _same_except(out, base, {"employment_status"})
        elif column == "ngay_sinh":
            assert out["birth_date"] is None and out["birth_year"] is None and "BIRTH_DATE_INVALID" in _flags(out)
            _same_except(out, base, {"birth_date", "birth_year"})
        else:
            _check_industry(raw, out, base)
    for raw, out, base, diff in changed["poor_household"]:
        assert out["_reject_reason"] is None
        [column] = diff
        seen[column] += 1
        if column == "so_cccd_chu_ho":
            assert out["head_cccd"] is None and "CCCD_MISSING" in _flags(out)
            _same_except(out, base, {"head_cccd"})
        else:
            assert column == "so_nhan_khau" and out["household_size"] is None and "CODE_INVALID" in _flags(out)
            _same_except(out, base, {"household_size"})
    assert set(seen) == {"tinh_trang_viec_lam", "ngay_sinh", "nganh_nghe", "so_cccd_chu_ho", "so_nhan_khau"}, seen


def _check_industry(raw: dict, out: dict, base: dict) -> None:
    """An employed person's industry left empty (flagged) or written as a code, in lower case or
    in words (fixed; the words always name section C, whatever the true section)."""
    assert out["_reject_reason"] is None
    if not raw["nganh_nghe"]:
        assert out["industry_section"] is None and "CODE_INVALID" in _flags(out)
    elif raw["nganh_nghe"] == INDUSTRY_WORDS:
        assert out["industry_section"] == "C"
    else:
        assert out["industry_section"] == base["industry_section"], raw["nganh_nghe"]
    _same_except(out, base, {"industry_section"})


def test_malformed_values(pair):
    stats, changed = pair("malformed_value")
    seen: Counter = Counter()
    for raw, out, base, diff in changed["labour_register"]:
        [column] = diff
        seen[column] += 1
        if column == "nganh_nghe":
            _check_industry(raw, out, base)
        elif column == "bao_hiem_that_nghiep":           # "Có" / "Không"
            assert raw[column] in ("Có", "Không")
            _same_except(out, base, set())
        else:                                            # the birth year only
            assert out["birth_year"] == base["birth_year"] and out["birth_date"] is None
            assert "BIRTH_DATE_INVALID" in _flags(out)
            _same_except(out, base, {"birth_date"})
    for raw, out, base, diff in changed["poor_household"]:
        assert diff == ["so_nhan_khau"] and out["_reject_reason"] is None
        seen["so_nhan_khau"] += 1
        if raw["so_nhan_khau"] == "3 người":
            assert out["household_size"] == 3
        else:                                            # "0", "-1"
            assert out["household_size"] is None and "CODE_INVALID" in _flags(out)
        _same_except(out, base, {"household_size"})
    assert set(seen) == {"nganh_nghe", "bao_hiem_that_nghiep", "ngay_sinh", "so_nhan_khau"}, seen


def test_invalid_identifiers(pair):
    stats, changed = pair("invalid_identifier")
    outcomes: Counter = Counter()
    for raw, out, base, diff in changed["labour_register"]:
        assert diff == ["so_cccd"]
        if out["cccd"] == base["cccd"]:                   # O for 0, a space inside
            _same_except(out, base, set())
            outcomes["repaired"] += 1
        else:                                            # the register's key: rejected
            assert out["_reject_reason"] in ("CCCD_MALFORMED", "CCCD_BAD_PROVINCE"), out
            assert out["_reject_detail"].startswith(f"so_cccd '{raw['so_cccd']}'")
            outcomes["rejected"] += 1
    for raw, out, base, diff in changed["poor_household"]:
        assert diff == ["so_cccd_chu_ho"] and out["_reject_reason"] is None   # the head is a linked person
        if out["head_cccd"] == base["head_cccd"]:
            outcomes["head repaired"] += 1
        else:
            assert out["head_cccd"] is None and _flags(out) & {"CCCD_MALFORMED", "CCCD_BAD_PROVINCE"}
            outcomes["head nulled"] += 1
        _same_except(out, base, {"head_cccd", "head_name"})
    assert outcomes["repaired"] and outcomes["rejected"] and outcomes["head nulled"], outcomes
    assert stats.faults["invalid_identifier"] == sum(outcomes.values())


def test_names(pair):
    for fault in ("unaccented_name", "misspelled_name"):
        stats, changed = pair(fault)
        outcomes: Counter = Counter()
        for name, column in (("labour_register", "full_name"), ("poor_household", "head_name")):
            for raw, out, base, diff in changed[name]:
                assert len(diff) == 1 and out["_reject_reason"] is None
                _same_except(out, base, {column})
                got, want = out[column], base[column]
                if got == want:
                    outcomes["fixed"] += 1
                elif normalize_tone_marks([got]).to_pylist() == normalize_tone_marks([want]).to_pylist():
                    outcomes["tone placement"] += 1
                elif "NAME_UNACCENTED" in _flags(out):
                    assert fault == "misspelled_name" or fold(got) == fold(want)
                    outcomes["flagged"] += 1
                else:
                    assert fault == "misspelled_name"
                    outcomes["slipped key"] += 1
        assert outcomes["fixed"] > 0.6 * sum(outcomes.values()), (fault, outcomes)


def test_old_unit_codes(pair):
    stats, changed = pair("old_admin_unit")
    outcomes: Counter = Counter()
    for raw, out, base, diff in changed["labour_register"]:
        assert diff == ["ma_dvhc"] and out["_reject_reason"] is None
        if out["commune_code"] == base["commune_code"]:
            assert out["commune_code_source"] == "crosswalk"
            outcomes["mapped"] += 1
        elif out["commune_code"] is None:                # split: nothing in the row decides
            assert "ADMIN_UNIT_SPLIT" in _flags(out)
            outcomes["split"] += 1
        else:   # the generator's fallback for a unit that absorbed no other unit: someone else's old code
            assert base["commune_code"] not in _old_codes_by_unit() and out["commune_code_source"] == "crosswalk"
            outcomes["another unit's code"] += 1
        _same_except(out, base, {"commune_code", "commune_code_source"})
    for raw, out, base, diff in changed["poor_household"]:
        assert diff == ["ma_dvhc"] and out["_reject_reason"] is None
        assert out["commune_code_source"] in ("crosswalk", "household_code")
        if base["commune_code"] in _old_codes_by_unit():  # a split unit is decided by the household code
            assert out["commune_code"] == base["commune_code"]
        outcomes[out["commune_code_source"]] += 1
    assert outcomes["mapped"] > outcomes["split"] > 0 and outcomes["household_code"] > 0, outcomes


def test_link_faults_never_reject(pair):
    stats, changed = pair("link_cccd_typo")
    outcomes: Counter = Counter()
    for name, column in (("labour_register", "cccd"), ("poor_household", "head_cccd")):
        for raw, out, base, diff in changed[name]:
            assert out["_reject_reason"] is None and out[column] == raw[diff[0]]
            outcomes["flagged" if "CCCD_MISMATCH" in _flags(out) else "undetectable"] += 1
    assert outcomes["flagged"] and outcomes["undetectable"], outcomes


# -- hand-built edge cases ---------------------------------------------------------------------

def _register(**columns) -> pa.Table:
    base = {"so_cccd": "031090000123", "ho_ten": "Nguyễn Văn An", "ngay_sinh": "17/05/1990", "gioi_tinh": "Nam",
            "ma_dvhc": "10507", "tinh_trang_viec_lam": "co_viec", "nganh_nghe": "C", "bao_hiem_that_nghiep": "1"}
    n = max((len(v) for v in columns.values()), default=1)
    data = {k: columns.get(k, [v] * n) for k, v in base.items()}
    data |= {"_source_file": columns.get("_source_file", ["lao_dong_viec_lam_2026Q2.csv"] * n),
             "_batch_id": ["b"] * n, "_record_hash": [str(i) for i in range(n)]}
    return pa.table(data)


def test_register_edge_cases():
    rows = TABLES["labour_register"].clean(_register(
        nganh_nghe=["c", "2592", "Manufacturing", "xyz", "", "", "C"],
        tinh_trang_viec_lam=["", "Có việc", "co_viec", "co_viec", "that_nghiep", "", "co_viec"],
        bao_hiem_that_nghiep=["Có", "0", "x", "maybe", "0", "0", "1"],
        gioi_tinh=["Nam", "Nữ", "Khác", "Nam", "Nam", "Nam", "Nam"],
        _source_file=["lao_dong_viec_lam_2026Q2.csv"] * 6 + ["labour.csv"],
    ), DAY).to_pylist()
    assert (rows[0]["industry_section"], rows[0]["employment_status"], rows[0]["unemployment_insured"]) == \
        ("C", "co_viec", True)
    assert rows[0]["quarter"] == date(2026, 4, 1) and rows[0]["quality_flags"] is None
    assert (rows[1]["industry_section"], rows[1]["employment_status"]) == ("C", "co_viec")
    assert rows[1]["sex"] == "F" and rows[1]["quality_flags"] == "CCCD_MISMATCH"   # a man's number
    assert rows[2]["industry_section"] == "C" and rows[2]["sex"] == "M"             # sex from the CCCD
    assert rows[3]["industry_section"] is None and rows[3]["unemployment_insured"] is None
    assert rows[3]["quality_flags"] == "CODE_INVALID"
    assert rows[4]["employment_status"] == "that_nghiep" and rows[4]["quality_flags"] is None
    assert rows[5]["employment_status"] is None and rows[5]["quality_flags"] == "CODE_INVALID"
    assert rows[6]["_reject_reason"] == "PERIOD_INVALID" and rows[6]["_reject_detail"].startswith("_source_file")
    keyed = TABLES["labour_register"].clean(_register(so_cccd=["", "031 090 000 123", "999090000123"],
                                                      ngay_sinh=["1990", "", "17/05/1990"]), DAY).to_pylist()
    assert keyed[0]["_reject_reason"] == "CCCD_MISSING" and keyed[0]["birth_year"] == 1990
    assert keyed[1]["cccd"] == "031090000123" and keyed[1]["quality_flags"] == "BIRTH_DATE_INVALID"
    assert keyed[2]["_reject_reason"] == "CCCD_BAD_PROVINCE"


def test_household_edge_cases():
    table = pa.table({
        "ma_ho": ["105071234567", "10507123", "105321234568", "105321234567"],
        "so_cccd_chu_ho": ["031090000123", "031090000123", "", "031090000123"],
        "ho_ten_chu_ho": ["nguyen van an"] * 4, "loai": ["Hộ cận nghèo", "ngheo", "can_ngheo", "giau"],
        "so_nhan_khau": ["4 nhân khẩu", "3", "-1", "2"], "ma_dvhc": ["10507", "10507", "10528", "10507"],
        "nam": ["2025", "2025", "", "2025"],
        "_source_file": ["ho_ngheo_can_ngheo_2025.csv"] * 3 + ["ho_ngheo_can_ngheo_2024.csv"],
        "_batch_id": ["b"] * 4, "_record_hash": ["h0", "h1", "h2", "h3"]})
    rows = TABLES["poor_household"].clean(table, DAY).to_pylist()
    assert (rows[0]["poverty_type"], rows[0]["household_size"], rows[0]["head_name"]) == \
        ("can_ngheo", 4, "Nguyễn Văn An")
    assert rows[0]["record_id"] == "ho_ngheo_can_ngheo_2025.csv\u241f105071234567"
    assert rows[1]["_reject_reason"] == "CODE_INVALID" and rows[1]["_reject_detail"].startswith("ma_ho '10507123'")
    assert (rows[2]["year"], rows[2]["commune_code"], rows[2]["commune_code_source"]) == \
        (2025, "10532", "household_code")                # year from the file; split unit by the code
    assert rows[2]["quality_flags"] == "CCCD_MISSING,CODE_INVALID" and rows[2]["_reject_reason"] is None
    assert rows[3]["_reject_reason"] == "CODE_INVALID" and rows[3]["_reject_detail"].startswith("loai 'giau'")
