"""Processed insurance participants (kho.processed.insurance).

Three monthly extracts around the schema change (2026-04 with ``ma_dvhc``; 2026-05 and 2026-06
with ``ma_xa`` and ``so_dien_thoai``) are generated as CSV, loaded with the real file-drop
loader and cleaned. Faults are checked by difference with a run without faults: the
generator is deterministic and draws its faults from its own random stream, so with one fault
type on, row k of a file differs from row k of the clean file only where that fault struck
(duplicate faults add rows, so they are checked on their own).
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
from kho.processed import insurance as processed
from kho.processed.base import RULE_COLUMNS
from kho.reference import fold
from kho.settings import get_settings
from kho.sources import insurance
from kho.sources.faults import _old_codes_by_unit
from kho.standardise import REASONS
from kho.standardise.text import normalize_tone_marks

DAY = date(2026, 11, 27)
SEED = 7
SF = 0.05                    # 5,000 citizens: ~4,700 participants a month
MONTHS = {"months": 3, "last_month": "2026-06", "link_enterprises": False}
REGISTRY = load_registry()
[SPEC] = processed.TABLES
NO_FAULTS = {k: 0.0 for k in insurance.DEFAULT_FAULT_RATES}
PERSON_COLUMNS = ["ma_so_bhxh", "so_cccd", "ho_ten", "ngay_sinh", "muc_luong_dong", "ma_xa"]


# -- helpers ---------------------------------------------------------------------------------

def _load(root: Path, monkeypatch: pytest.MonkeyPatch, rates: dict[str, float] | None = None):
    """Generate the extracts under ``root``, load every file into ``root/lake``; return
    (generator stats, raw rows in file order)."""
    stats = insurance.generate(root, seed=SEED, sf=SF, fault_rates=rates, **MONTHS)
    monkeypatch.setenv("KHO_LAKE_ROOT", str(root / "lake"))
    monkeypatch.setenv("KHO_STATE_DIR", str(root / "state"))
    source = REGISTRY.get("insurance")
    monkeypatch.setenv(f"AIRFLOW_CONN_{source.connection_id.upper()}", f"file://{root / 'insurance'}")
    get_settings.cache_clear()
    results = load_object(get_settings(), source, source.object(SPEC.raw.name), day_interval(DAY))
    assert len(results) == MONTHS["months"]
    raw = DeltaTable(SPEC.raw.path(get_settings())).to_pyarrow_table()
    return stats, raw.take(pc.sort_indices(raw, [("_source_file", "ascending")]))   # stable: file order kept


def _clean(raw: pa.Table) -> pa.Table:
    out = SPEC.clean(raw, DAY)
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
    """For one fault type: (stats, [(raw row, processed row, clean processed row, changed columns)])
    of every row the fault changed."""
    def run(fault: str, rate: float = 0.3):
        _, clean_raw = _load(tmp_path / f"clean-{fault}", monkeypatch, NO_FAULTS)
        stats, raw = _load(tmp_path / fault, monkeypatch, {**NO_FAULTS, fault: rate})
        assert raw["_source_file"].to_pylist() == clean_raw["_source_file"].to_pylist()
        base_raw, base_out = clean_raw.to_pylist(), _clean(clean_raw).to_pylist()
        changed = []
        for r, o, br, bo in zip(raw.to_pylist(), _clean(raw).to_pylist(), base_raw, base_out):
            diff = [c for c in PERSON_COLUMNS if r[c] != br[c]]
            if diff:
                changed.append((r, o, bo, diff))
        return stats, changed
    return run


# -- declaration and empty batch ---------------------------------------------------------------

def test_declaration_follows_the_registry():
    source = REGISTRY.get("insurance")
    obj = source.object("insurance_participant")
    assert SPEC.raw.domain == "insurance" and SPEC.raw.name == obj.name and obj.load_mode == "append_only"
    assert SPEC.record_key == ("_source_file", *obj.natural_key)
    assert SPEC.business_key == ("extract_month", "social_insurance_code")
    assert SPEC.owner == source.owner
    names = SPEC.schema.names
    assert set(SPEC.column_docs) == set(names) and not set(RULE_COLUMNS) & set(names)
    assert {"social_insurance_code", "cccd", "full_name", "birth_date", "phone"} <= set(SPEC.pii_columns) <= set(names)
    assert set(SPEC.partition_by) <= set(names)


def test_empty_batch():
    columns = list(insurance.COLUMNS_V2) + ["_source_file", "_batch_id", "_record_hash"]
    out = SPEC.clean(pa.table({c: pa.array([], pa.string()) for c in columns}), DAY)
    assert out.num_rows == 0 and out.schema.names == SPEC.schema.names + list(RULE_COLUMNS)


# -- default fault rates -----------------------------------------------------------------------

def test_default_rates(isolated_settings, monkeypatch, tmp_path):
    stats, raw = _load(tmp_path / "default", monkeypatch)
    out = _clean(raw)
    assert out.num_rows == stats.rows["bhxh_tham_gia"]
    assert out.schema.names == SPEC.schema.names + list(RULE_COLUMNS)
    assert out.schema.field("extract_month").type == pa.date32()
    reasons = Counter(out["_reject_reason"].to_pylist())
    rejected = out.num_rows - reasons.pop(None)
    assert set(reasons) <= {"CODE_INVALID"}, reasons            # 9-digit BHXH codes only
    assert 0 < rejected / out.num_rows < 0.01
    rows = out.to_pylist()
    for r, o in zip(raw.to_pylist(), rows):
        month = r["_source_file"][len("bhxh_tham_gia_"):-len(".csv")]
        assert o["extract_month"] == date(int(month[:4]), int(month[4:]), 1)
        assert o["record_id"] == f"{r['_source_file']}\u241f{r['ma_so_bhxh']}"
        if o["_reject_reason"] is None:
            assert o["_reject_detail"] is None and o["social_insurance_code"] == r["ma_so_bhxh"]
            assert o["category"] in processed.CATEGORIES and o["period_start"] is not None
        else:
            assert o["_reject_detail"].startswith(f"ma_so_bhxh '{r['ma_so_bhxh']}'")
        for flag in _flags(o):
            assert flag in REASONS
    # the renamed column is read in every extract; the phone only exists from 2026-05 on
    by_month: dict[date, list[dict]] = {}
    for o in rows:
        by_month.setdefault(o["extract_month"], []).append(o)
    assert sorted(by_month) == [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    for month, group in by_month.items():
        assert sum(o["commune_code"] is not None for o in group) > 0.98 * len(group)
        phones = sum(o["phone"] is not None for o in group)
        assert (phones == 0) if month < date(2026, 5, 1) else (phones > 0.5 * len(group))
    assert all(p.startswith("0") and len(p) == 10 for p in out["phone"].drop_null().to_pylist())


def test_duplicates(isolated_settings, monkeypatch, tmp_path):
    """A row repeated in an extract shares the business key (survivorship merges it); a second
    BHXH code of one person does not: both codes are BHXH's own, integrated links them by CCCD."""
    stats, raw = _load(tmp_path / "duplicates", monkeypatch,
                       {**NO_FAULTS, "exact_duplicate": 0.02, "near_duplicate": 0.02})
    out = _clean(raw)
    assert out["_reject_reason"].null_count == out.num_rows
    keys = Counter(zip(out["extract_month"].to_pylist(), out["social_insurance_code"].to_pylist()))
    assert out.num_rows - len(keys) == stats.faults["exact_duplicate"] > 0
    people = Counter(zip(out["extract_month"].to_pylist(), out["cccd"].to_pylist(),
                         out["social_insurance_code"].to_pylist()))
    per_person = Counter((m, c) for m, c, _ in people)
    assert sum(n - 1 for n in per_person.values()) == stats.faults["near_duplicate"] > 0


# -- one fault type at a time ----------------------------------------------------------------

def test_missing_values_are_kept_and_flagged(pair):
    stats, changed = pair("missing_value")
    seen: Counter = Counter()
    for raw, out, base, diff in changed:
        assert out["_reject_reason"] is None
        [column] = diff
        seen[column] += 1
        if column == "so_cccd":
            assert out["cccd"] is None and "CCCD_MISSING" in _flags(out)
            _same_except(out, base, {"cccd", "sex"})
        else:
            assert column == "ngay_sinh" and out["birth_date"] is None and out["birth_year"] is None
            assert "BIRTH_DATE_INVALID" in _flags(out)
            _same_except(out, base, {"birth_date", "birth_year"})
    assert sum(seen.values()) == stats.faults["missing_value"] and len(seen) == 2


def test_malformed_values_are_fixed_or_keep_the_year(pair):
    stats, changed = pair("malformed_value")
    seen: Counter = Counter()
    for raw, out, base, diff in changed:
        assert out["_reject_reason"] is None
        [column] = diff
        seen[column] += 1
        if column == "muc_luong_dong":                   # "5.310.000"
            assert "." in raw["muc_luong_dong"]
            _same_except(out, base, set())
        else:                                            # the birth year only
            assert raw["ngay_sinh"] == str(base["birth_year"]) and out["birth_year"] == base["birth_year"]
            assert out["birth_date"] is None and "BIRTH_DATE_INVALID" in _flags(out)
            _same_except(out, base, {"birth_date"})
    assert sum(seen.values()) == stats.faults["malformed_value"] and len(seen) == 2


def test_invalid_identifiers(pair):
    stats, changed = pair("invalid_identifier")
    outcomes: Counter = Counter()
    for raw, out, base, diff in changed:
        [column] = diff
        if column == "ma_so_bhxh":                       # the key: 9 digits
            assert out["_reject_reason"] == "CODE_INVALID" and "ma_so_bhxh" in out["_reject_detail"]
            outcomes["code rejected"] += 1
        elif out["cccd"] == base["cccd"]:                # O for 0, a space, the lost leading zero
            _same_except(out, base, set())
            outcomes["cccd repaired"] += 1
        else:
            assert out["_reject_reason"] is None and out["cccd"] is None
            assert _flags(out) & {"CCCD_MALFORMED", "CCCD_BAD_PROVINCE"}
            _same_except(out, base, {"cccd", "sex"})
            outcomes["cccd nulled"] += 1
    assert sum(outcomes.values()) == stats.faults["invalid_identifier"]
    assert len(outcomes) == 3, outcomes


def test_names(pair):
    for fault in ("unaccented_name", "misspelled_name"):
        stats, changed = pair(fault)
        outcomes: Counter = Counter()
        for raw, out, base, diff in changed:
            assert diff == ["ho_ten"] and out["_reject_reason"] is None
            _same_except(out, base, {"full_name"})
            got, want = out["full_name"], base["full_name"]
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
        assert 0.9 * stats.faults[fault] <= sum(outcomes.values()) <= stats.faults[fault]
        assert outcomes["fixed"] > 0.6 * sum(outcomes.values()), (fault, outcomes)


def test_old_unit_codes(pair):
    stats, changed = pair("old_admin_unit")
    outcomes: Counter = Counter()
    for raw, out, base, diff in changed:
        assert diff == ["ma_xa"] and out["_reject_reason"] is None
        if out["commune_code"] == base["commune_code"]:
            assert out["commune_code_source"] == "crosswalk"
            outcomes["mapped"] += 1
        elif out["commune_code"] is None:                # split: no address in the extract to decide
            assert "ADMIN_UNIT_SPLIT" in _flags(out)
            outcomes["split"] += 1
        else:   # the generator's fallback for a unit that absorbed no other unit: someone else's old code
            assert base["commune_code"] not in _old_codes_by_unit() and out["commune_code_source"] == "crosswalk"
            outcomes["another unit's code"] += 1
        _same_except(out, base, {"commune_code", "commune_code_source"})
    assert sum(outcomes.values()) == stats.faults["old_admin_unit"]
    assert outcomes["mapped"] > outcomes["split"] > 0


def test_link_faults_keep_the_participant(pair):
    stats, changed = pair("link_cccd_typo")
    outcomes: Counter = Counter()
    for raw, out, base, diff in changed:
        assert diff == ["so_cccd"] and out["_reject_reason"] is None and out["cccd"] == raw["so_cccd"]
        outcomes["flagged" if "CCCD_MISMATCH" in _flags(out) else "undetectable"] += 1
    assert sum(outcomes.values()) == stats.links["citizen_typo"] and len(outcomes) == 2
    stats, changed = pair("link_birth_mismatch")
    for raw, out, base, diff in changed:
        assert diff == ["ngay_sinh"] and out["_reject_reason"] is None and out["cccd"] == base["cccd"]
        if "BIRTH_DATE_INVALID" in _flags(out):          # a child's birth shifted past the processing date
            assert out["birth_date"] is None
        else:
            assert ("CCCD_MISMATCH" in _flags(out)) == (out["birth_year"] != base["birth_year"])
    assert len(changed) == stats.links["citizen_birth_mismatch"] > 0


# -- hand-built edge cases ---------------------------------------------------------------------

def _extract(file: str = "bhxh_tham_gia_202605.csv", unit_column: str = "ma_xa", **columns) -> pa.Table:
    base = {"ma_so_bhxh": "3100012345", "so_cccd": "031090000123", "ho_ten": "Nguyễn Văn An",
            "ngay_sinh": "17/05/1990", "loai_doi_tuong": "bat_buoc", "ma_don_vi": "0200000012",
            "muc_luong_dong": "5310000", "tu_thang": "05/2026", "den_thang": "", unit_column: "10507",
            "so_dien_thoai": "0912345678"}
    n = max((len(v) for v in columns.values()), default=1)
    data = {k: columns.get(k, [v] * n) for k, v in base.items()}
    data |= {"_source_file": [file] * n, "_batch_id": ["b"] * n, "_record_hash": [str(i) for i in range(n)]}
    return pa.table(data)


def test_edge_cases():
    from kho.sources.identifiers import make_tax_code
    good_tax, _ = make_tax_code("02", 1234)
    rows = SPEC.clean(_extract(
        ma_don_vi=[good_tax, "", good_tax[:9] + str((int(good_tax[9]) + 1) % 10), "", good_tax, good_tax, good_tax],
        loai_doi_tuong=["bat_buoc", "bat_buoc", "Bắt buộc", "Hưu trí", "xyz", "bat_buoc", "bat_buoc"],
        muc_luong_dong=["5.310.000 đ", "abc", "0", "", "1", "1", "1"],
        tu_thang=["05/2026", "2026-01", "05/2026", "01/2020", "05/2026", "13/2025", "05/2026"],
        den_thang=["", "12/2026", "", "", "", "", "04/2026"],
        so_dien_thoai=["+84 912 345 678", "0501234567", "12345", "", "0912345678", "0912345678", "0912345678"],
    ), DAY).to_pylist()
    assert rows[0]["contribution_base_vnd"] == 5_310_000 and rows[0]["employer_tax_code"] == good_tax
    assert rows[0]["phone"] == "0912345678" and rows[0]["quality_flags"] is None
    assert rows[0]["extract_month"] == date(2026, 5, 1) and rows[0]["sex"] == "M"
    assert rows[1]["employer_tax_code"] is None and rows[1]["contribution_base_vnd"] is None
    assert rows[1]["quality_flags"] == "MONEY_MALFORMED,PHONE_UNKNOWN_PREFIX,TAX_CODE_MISSING"
    assert rows[1]["phone"] == "0501234567" and rows[1]["period_end"] == date(2026, 12, 1)
    assert rows[2]["category"] == "bat_buoc" and rows[2]["employer_tax_code"] is None
    assert rows[2]["quality_flags"] == "MONEY_NOT_POSITIVE,PHONE_MALFORMED,TAX_CODE_BAD_CHECK"
    assert rows[2]["phone"] is None
    assert rows[3]["category"] == "huu_tri" and rows[3]["quality_flags"] == "MONEY_MISSING"   # "Hưu trí"
    assert rows[3]["_reject_reason"] is None and rows[3]["period_start"] == date(2020, 1, 1)
    assert rows[4]["_reject_reason"] == "CODE_INVALID" and rows[4]["_reject_detail"].startswith("loai_doi_tuong 'xyz'")
    assert rows[5]["_reject_reason"] == "PERIOD_INVALID" and rows[5]["_reject_detail"].startswith("tu_thang '13/2025'")
    assert rows[6]["_reject_reason"] == "PERIOD_INVALID" and rows[6]["_reject_detail"].startswith("den_thang")
    older = SPEC.clean(_extract("bhxh_tham_gia_202604.csv", "ma_dvhc", so_cccd=["31090000123"]).drop_columns(
        ["so_dien_thoai"]), DAY).to_pylist()[0]           # the pre-rename layout; a lost leading zero
    assert (older["commune_code"], older["phone"], older["cccd"]) == ("10507", None, "031090000123")
    assert older["extract_month"] == date(2026, 4, 1)
    stray = SPEC.clean(_extract("bhxh.csv"), DAY).to_pylist()[0]
    assert stray["_reject_reason"] == "PERIOD_INVALID" and stray["_reject_detail"].startswith("_source_file")
