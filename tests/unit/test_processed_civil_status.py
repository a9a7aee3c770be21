"""Processed civil-status registers: births, marriages, deaths (kho.processed.civil_status).

The registers are generated at a small scale factor into SQLite, loaded into a temporary lake
with the real loader, read back from raw and cleaned. Faults are checked by *difference*: the
generator is deterministic and its fault draws have their own random stream, so a run with one
fault type switched on (at a high rate) differs from the run with every fault switched off only
in the rows that fault spoiled, matched by ``id``. Each such row must come out as the clean run
did (fixed), or with the right reason code (rejected), or kept with the right flag.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from kho.ingest.loader import day_interval, load_object
from kho.ingest.registry import load_registry
from kho.processed import civil_status as processed
from kho.processed.base import RULE_COLUMNS
from kho.reference import fold
from kho.settings import get_settings
from kho.sources import civil_status
from kho.sources.faults import _old_codes_by_unit
from kho.standardise import REASONS
from kho.standardise.text import normalize_tone_marks

DAY = date(2026, 11, 27)
SEED = 5
SF = 0.2                     # 20,000 citizens: ~800 births, ~400 marriages, ~300 deaths
REGISTRY = load_registry()
TABLES = {t.name: t for t in processed.TABLES}
SOURCE_TABLE = {"birth_registration": "khai_sinh", "marriage_registration": "ket_hon",
                "death_registration": "khai_tu"}
# Every fault off except late_registration, which also draws the events (so it stays at its default).
NO_FAULTS = {k: 0.0 for k in civil_status.DEFAULT_FAULT_RATES if k != "late_registration"}
CCCD_COLUMNS = {  # raw column -> processed column
    "birth_registration": {"so_dinh_danh_tre": "child_cccd", "so_cccd_me": "mother_cccd", "so_cccd_cha": "father_cccd"},
    "marriage_registration": {"so_cccd_chong": "husband_cccd", "so_cccd_vo": "wife_cccd"},
    "death_registration": {"so_cccd_nguoi_mat": "deceased_cccd"},
}
NAME_COLUMNS = {
    "birth_registration": {"ho_ten_tre": "child_name"},
    "marriage_registration": {"ho_ten_chong": "husband_name", "ho_ten_vo": "wife_name"},
    "death_registration": {"ho_ten_nguoi_mat": "deceased_name"},
}
UNIT_COLUMN = {"birth_registration": "ma_dvhc_dang_ky", "marriage_registration": "ma_dvhc",
               "death_registration": "ma_dvhc"}


# -- helpers ---------------------------------------------------------------------------------

def _load(root: Path, monkeypatch: pytest.MonkeyPatch, rates: dict[str, float] | None = None):
    """Generate the registers into ``root``, load them into ``root/lake`` with the real loader;
    return (generator stats, {table: raw 'U' rows})."""
    db = root / "civil_status.sqlite"
    root.mkdir(parents=True, exist_ok=True)
    stats = civil_status.generate(f"sqlite:///{db}", seed=SEED, sf=SF, fault_rates=rates)
    monkeypatch.setenv("KHO_LAKE_ROOT", str(root / "lake"))
    monkeypatch.setenv("KHO_STATE_DIR", str(root / "state"))
    source = REGISTRY.get("civil_status")
    monkeypatch.setenv(f"AIRFLOW_CONN_{source.connection_id.upper()}", f"sqlite:///{db}")
    get_settings.cache_clear()
    raw = {}
    for obj in source.objects:
        load_object(get_settings(), source, obj, day_interval(DAY))
        table = DeltaTable(TABLES[obj.name].raw.path(get_settings())).to_pyarrow_table()
        raw[obj.name] = table.filter(pc.equal(table["_op"], "U"))
    return stats, raw


def _clean(name: str, raw: pa.Table) -> pa.Table:
    out = TABLES[name].clean(raw, DAY)
    assert out.num_rows == raw.num_rows
    return out


def _by_id(raw: pa.Table, out: pa.Table) -> dict[int, tuple[dict, dict]]:
    return {r["id"]: (r, o) for r, o in zip(raw.to_pylist(), out.to_pylist())}


def _flags(row: dict) -> set[str]:
    return set((row["quality_flags"] or "").split(",")) - {""}


def _changed(clean: dict, faulty: dict, columns: list[str]) -> dict[int, list[str]]:
    """id -> the source columns whose value differs between the clean and the faulty run."""
    out = {}
    for key, (raw, _) in faulty.items():
        diff = [c for c in columns if raw[c] != clean[key][0][c]]
        if diff:
            out[key] = diff
    return out


@pytest.fixture
def pair(isolated_settings, monkeypatch, tmp_path):
    """(clean run, faulty run) for one fault type: {table: {id: (raw row, processed row)}} each."""
    def run(fault: str, rate: float = 0.3):
        _, clean_raw = _load(tmp_path / f"clean-{fault}", monkeypatch, NO_FAULTS)
        stats, faulty_raw = _load(tmp_path / fault, monkeypatch, {**NO_FAULTS, fault: rate})
        clean = {n: _by_id(t, _clean(n, t)) for n, t in clean_raw.items()}
        faulty = {n: _by_id(t, _clean(n, t)) for n, t in faulty_raw.items()}
        for name in clean:
            assert faulty[name].keys() == clean[name].keys(), "row faults must not add or drop rows"
        return stats, clean, faulty
    return run


# -- declarations ------------------------------------------------------------------------------

def test_declarations_follow_the_registry():
    source = REGISTRY.get("civil_status")
    assert [t.name for t in processed.TABLES] == [o.name for o in source.objects]
    for table in processed.TABLES:
        obj = source.object(table.name)
        assert table.raw.domain == "civil_status" and table.raw.name == obj.name
        assert list(table.record_key) == obj.primary_key == ["id"]
        assert table.owner == source.owner
        assert table.business_key == ("commune_code", "registration_number")
        assert obj.natural_key == [UNIT_COLUMN[table.name], "so_dang_ky"]
        assert table.source_timestamp == "entered_at"
        names = table.schema.names
        assert set(table.business_key) <= set(names) and table.source_timestamp in names
        assert set(table.column_docs) == set(names), "one documented column per meaning"
        assert set(table.pii_columns) <= set(names)
        personal = set(CCCD_COLUMNS[table.name].values()) | set(NAME_COLUMNS[table.name].values())
        assert personal <= set(table.pii_columns)
        assert not set(RULE_COLUMNS) & set(names)
        assert table.description and table.term_vi


@pytest.mark.parametrize("name", list(TABLES))
def test_empty_batch(name):
    columns = [c for c in civil_status.TABLE_COLUMNS[SOURCE_TABLE[name]]] + ["_batch_id", "_record_hash", "_op"]
    empty = pa.table({c: pa.array([], pa.int64() if c == "id" else pa.string()) for c in columns})
    out = TABLES[name].clean(empty, DAY)
    assert out.num_rows == 0
    assert out.schema.names == TABLES[name].schema.names + list(RULE_COLUMNS)


# -- default fault rates -----------------------------------------------------------------------

def test_default_rates_one_row_per_input_and_plausible_rejects(isolated_settings, monkeypatch, tmp_path):
    stats, raw = _load(tmp_path / "default", monkeypatch)
    summary = {}
    for name, table in raw.items():
        out = _clean(name, table)
        spec = TABLES[name]
        assert out.schema == pa.schema(list(spec.schema) + [("record_id", pa.string()), ("_reject_reason", pa.string()),
                                                            ("_reject_detail", pa.string()),
                                                            ("_completeness", pa.int32())])
        assert out["record_id"].to_pylist() == [str(i) for i in table["id"].to_pylist()]
        reasons = Counter(out["_reject_reason"].to_pylist())
        rejected = out.num_rows - reasons.pop(None, 0)
        summary[name] = (out.num_rows, dict(reasons))
        assert set(reasons) <= set(REASONS)
        assert rejected / out.num_rows < 0.03, (name, reasons)       # a few per thousand expected
        valid = out.filter(pc.is_null(out["_reject_reason"]))
        assert valid["_reject_detail"].null_count == valid.num_rows
        for column in spec.business_key:
            assert valid[column].null_count == 0, column
        for flag in {f for x in out["quality_flags"].to_pylist() if x for f in x.split(",")}:
            assert flag in REASONS
        bad = out.filter(pc.is_valid(out["_reject_reason"]))
        for row in bad.to_pylist():
            assert row["_reject_detail"] and "'" in row["_reject_detail"]
    assert sum(n for n, _ in summary.values()) == sum(stats.rows.values())


def test_late_registrations_are_kept_and_marked(isolated_settings, monkeypatch, tmp_path):
    stats, raw = _load(tmp_path / "clean", monkeypatch, NO_FAULTS)
    late = 0
    for name, event in (("birth_registration", "ngay_sinh"), ("death_registration", "ngay_mat")):
        out = _clean(name, raw[name])
        assert out["_reject_reason"].null_count == out.num_rows
        deadline = processed.LEGAL_DEADLINE_DAYS[name.split("_")[0]]
        for r, o in zip(raw[name].to_pylist(), out.to_pylist()):
            delay = (r["ngay_dang_ky"] - r[event]).days
            assert o["registration_delay_days"] == delay and o["late_registration"] == (delay > deadline)
            late += delay > 365
    assert late == stats.faults["late_registration"] > 0     # the generator's count: over a year late


def test_duplicates_share_the_business_key_and_survivorship_keeps_the_clean_version(
        isolated_settings, monkeypatch, tmp_path):
    _, clean_raw = _load(tmp_path / "clean", monkeypatch, NO_FAULTS)
    stats, raw = _load(tmp_path / "duplicates", monkeypatch,
                       {**NO_FAULTS, "exact_duplicate": 0.1, "near_duplicate": 0.1})
    extra = 0
    for name, spec in TABLES.items():
        key = lambda row: tuple(row[c] for c in spec.business_key)      # noqa: E731
        clean = {key(o): o for o in _clean(name, clean_raw[name]).to_pylist()}
        assert len(clean) == clean_raw[name].num_rows, "the clean register has one row per business key"
        out = _clean(name, raw[name]).to_pylist()
        assert all(o["_reject_reason"] is None for o in out)
        groups: dict[tuple, list[dict]] = {}
        for o in out:
            groups.setdefault(key(o), []).append(o)
        assert groups.keys() == clean.keys()
        extra += len(out) - len(groups)
        for k, rows in groups.items():
            # the job's order: latest source timestamp, then completeness, then record id (as text)
            survivor = max(rows, key=lambda o: (o["entered_at"], o["_completeness"], o["record_id"]))
            for column in spec.schema.names:
                if column not in ("entered_at",):
                    assert survivor[column] == clean[k][column], (name, column, rows)
    assert extra == stats.faults["exact_duplicate"] + stats.faults["near_duplicate"] > 0


# -- one fault type at a time ----------------------------------------------------------------

def _same_except(out: dict, base: dict, allowed: set[str]) -> None:
    """The processed row equals the clean run's, but for ``allowed`` columns."""
    for column, value in base.items():
        if column not in allowed | {"quality_flags", "_completeness", "record_id"}:
            assert out[column] == value, (column, out, base)


def test_missing_values(pair):
    stats, clean, faulty = pair("missing_value")
    seen: Counter = Counter()
    for name in TABLES:
        columns = [c for c in (*CCCD_COLUMNS[name], "gioi_tinh", "ngay_dang_ky")
                   if c in civil_status.TABLE_COLUMNS[SOURCE_TABLE[name]]]
        for key, diff in _changed(clean[name], faulty[name], columns).items():
            (raw, out), (_, base) = faulty[name][key], clean[name][key]
            [column] = diff
            assert raw[column] is None
            seen[(name, column)] += 1
            if column == "ngay_dang_ky":
                assert out["_reject_reason"] == "DATE_MISSING" and "ngay_dang_ky" in out["_reject_detail"]
                continue
            assert out["_reject_reason"] is None
            if column == "gioi_tinh":                    # read from the child's CCCD
                _same_except(out, base, set())
                continue
            target = CCCD_COLUMNS[name][column]
            assert out[target] is None
            # a father may be unrecorded, and so may a mother in a registration over a year late
            unrecorded_ok = column == "so_cccd_cha" or (column == "so_cccd_me" and out["registration_delay_days"] > 365)
            assert ("CCCD_MISSING" in _flags(out)) != unrecorded_ok
            _same_except(out, base, {target, "sex"} if name == "death_registration" else {target})
    assert sum(seen.values()) == stats.faults["missing_value"] > 0
    assert seen[("birth_registration", "gioi_tinh")] and seen[("death_registration", "ngay_dang_ky")]


def test_malformed_values(pair):
    stats, clean, faulty = pair("malformed_value")
    seen: Counter = Counter()
    for name in TABLES:
        columns = ["gioi_tinh", "ngay_dang_ky"] if name == "birth_registration" else ["ngay_dang_ky"]
        for key, diff in _changed(clean[name], faulty[name], columns).items():
            (raw, out), (_, base) = faulty[name][key], clean[name][key]
            [column] = diff
            seen[(name, column)] += 1
            if column == "ngay_dang_ky":                 # before the event, or ten years ahead
                assert out["_reject_reason"] == "DATE_OUT_OF_RANGE", out
                text = "is before the event date" if name != "marriage_registration" else f"processing date {DAY}"
                assert text in out["_reject_detail"]
                continue
            assert out["_reject_reason"] is None         # a sex code written another way
            written = {"nam": "M", "NU": "F", "1": "M", "0": "F"}.get(raw["gioi_tinh"])
            assert out["sex"] == (written or base["sex"])           # "Khác": read from the CCCD
            assert ("CCCD_MISMATCH" in _flags(out)) == (out["sex"] != base["sex"])
            _same_except(out, base, {"sex"})
    assert sum(seen.values()) == stats.faults["malformed_value"] > 0
    assert len(seen) == 4


def test_invalid_identifiers(pair):
    stats, clean, faulty = pair("invalid_identifier")
    outcomes: Counter = Counter()
    for name in TABLES:
        for key, diff in _changed(clean[name], faulty[name], list(CCCD_COLUMNS[name])).items():
            (raw, out), (_, base) = faulty[name][key], clean[name][key]
            [column] = diff
            target = CCCD_COLUMNS[name][column]
            assert out["_reject_reason"] is None, "a CCCD never rejects a registration"
            _same_except(out, base, {target, "sex"} if name == "death_registration" else {target})
            if out[target] == base[target]:
                outcomes["repaired"] += 1                # "O31...", "031090 123456"
            else:
                assert out[target] is None and _flags(out) & {"CCCD_MALFORMED", "CCCD_BAD_PROVINCE"}, out
                outcomes["nulled"] += 1
    assert sum(outcomes.values()) == stats.faults["invalid_identifier"] > 0
    assert outcomes["repaired"] and outcomes["nulled"]


def test_unaccented_names_are_restored_or_flagged(pair):
    stats, clean, faulty = pair("unaccented_name")
    outcomes: Counter = Counter()
    for name in TABLES:
        for key, diff in _changed(clean[name], faulty[name], list(NAME_COLUMNS[name])).items():
            (raw, out), (_, base) = faulty[name][key], clean[name][key]
            [column] = diff
            target = NAME_COLUMNS[name][column]
            assert out["_reject_reason"] is None
            _same_except(out, base, {target})
            if out[target] == base[target]:
                outcomes["restored"] += 1
            else:
                assert "NAME_UNACCENTED" in _flags(out) and fold(out[target]) == fold(base[target])
                outcomes["flagged"] += 1
    # a name without any diacritics ("Mai Anh Thu") is counted but unchanged
    assert 0.97 * stats.faults["unaccented_name"] <= sum(outcomes.values()) <= stats.faults["unaccented_name"]
    assert outcomes["restored"] > 0.7 * sum(outcomes.values()), outcomes


def _one_slip(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one doubled or dropped letter (a slipped key)."""
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return len(longer) == len(shorter) + 1 and any(longer[:i] + longer[i + 1:] == shorter
                                                   for i in range(len(longer)))


def test_misspelled_names(pair):
    stats, clean, faulty = pair("misspelled_name")
    outcomes: Counter = Counter()
    for name in TABLES:
        for key, diff in _changed(clean[name], faulty[name], list(NAME_COLUMNS[name])).items():
            (raw, out), (_, base) = faulty[name][key], clean[name][key]
            [column] = diff
            target = NAME_COLUMNS[name][column]
            assert out["_reject_reason"] is None
            _same_except(out, base, {target})
            got, want = out[target], base[target]
            if got == want:
                outcomes["fixed"] += 1                    # case, spacing, an unaccented syllable
            elif normalize_tone_marks([got]).to_pylist() == normalize_tone_marks([want]).to_pylist():
                outcomes["tone placement"] += 1           # Hoà / Hòa: kept as written, same name
            elif "NAME_UNACCENTED" in _flags(out):
                outcomes["flagged"] += 1
            else:
                # a real typo, nothing can tell ("Quang" -> "Quan", then read as the name "Quân")
                assert _one_slip(fold(got), fold(want)), (got, want)
                outcomes["slipped key"] += 1
    # some misspellings leave the text as it was (a syllable without diacritics "unaccented", a
    # two-letter word): counted by the generator, invisible here
    assert 0.9 * stats.faults["misspelled_name"] <= sum(outcomes.values()) <= stats.faults["misspelled_name"]
    assert outcomes["fixed"] > 0.6 * sum(outcomes.values()), outcomes


def test_old_unit_codes_go_through_the_crosswalk(pair):
    stats, clean, faulty = pair("old_admin_unit")
    outcomes: Counter = Counter()
    for name in TABLES:
        column = UNIT_COLUMN[name]
        for key, diff in _changed(clean[name], faulty[name], [column]).items():
            (raw, out), (_, base) = faulty[name][key], clean[name][key]
            assert raw["ngay_dang_ky"] < date(2025, 7, 1), "only pre-reform records keep an old code"
            if out["_reject_reason"] is None and base["commune_code"] not in _old_codes_by_unit():
                # the generator's fallback for a unit that absorbed no other unit: another unit's old code
                assert out["commune_code_source"] == "crosswalk"
                outcomes["another unit's code"] += 1
            elif out["_reject_reason"] is None:
                assert out["commune_code_source"] == "crosswalk"
                _same_except(out, base, {"commune_code_source"})
                outcomes["mapped"] += 1
            else:                                         # a split unit: no address to decide by
                assert out["_reject_reason"] == "ADMIN_UNIT_SPLIT" and column in out["_reject_detail"]
                outcomes["split"] += 1
    assert sum(outcomes.values()) == stats.faults["old_admin_unit"] > 0
    assert outcomes["mapped"] > outcomes["split"] > 0


def test_unknown_cccds_are_well_formed_and_kept(pair):
    """A CCCD of nobody passes every check a register can make: linking decides (integrated)."""
    stats, clean, faulty = pair("link_unknown_cccd", 0.3)
    changed = 0
    for name in TABLES:
        for key, diff in _changed(clean[name], faulty[name], list(CCCD_COLUMNS[name])).items():
            (raw, out), (_, base) = faulty[name][key], clean[name][key]
            assert out["_reject_reason"] is None and not _flags(out) - _flags(base)
            assert all(out[CCCD_COLUMNS[name][c]] == raw[c] for c in diff)
            changed += len(diff)
    assert changed == stats.links["citizen_unknown"] > 0


def test_cccd_typos_never_reject_a_registration(pair):
    stats, clean, faulty = pair("link_cccd_typo", 0.3)
    outcomes: Counter = Counter()
    for name in TABLES:
        for key, diff in _changed(clean[name], faulty[name], list(CCCD_COLUMNS[name])).items():
            (raw, out), (_, base) = faulty[name][key], clean[name][key]
            assert out["_reject_reason"] is None
            for column in diff:
                target = CCCD_COLUMNS[name][column]
                if out[target] is None:                   # a typo in the sex digit of a mother, a husband ...
                    assert "CCCD_MISMATCH" in _flags(out)
                    outcomes["nulled"] += 1
                else:
                    assert out[target] == raw[column]     # well formed: kept, flagged when detectable
                    outcomes["flagged" if "CCCD_MISMATCH" in _flags(out) else "undetectable"] += 1
    assert sum(outcomes.values()) == stats.links["citizen_typo"] > 0
    assert outcomes["flagged"] and outcomes["nulled"] and outcomes["undetectable"], outcomes


def test_birth_date_mismatch_is_flagged_or_rejects_an_impossible_registration(pair):
    stats, clean, faulty = pair("link_birth_mismatch", 0.3)
    outcomes: Counter = Counter()
    for name, event in (("birth_registration", "ngay_sinh"), ("death_registration", "ngay_sinh_nguoi_mat")):
        for key, diff in _changed(clean[name], faulty[name], [event]).items():
            (raw, out), (_, base) = faulty[name][key], clean[name][key]
            if out["_reject_reason"] is not None:        # the shifted birth now follows its registration
                assert name == "birth_registration" and raw["ngay_sinh"] > raw["ngay_dang_ky"], out
                # after the registration (DATE_OUT_OF_RANGE), or after the processing date too
                assert out["_reject_reason"] in ("DATE_OUT_OF_RANGE", "BIRTH_DATE_INVALID")
                outcomes["rejected"] += 1
            elif _flags(out) & {"CCCD_MISMATCH", "BIRTH_DATE_INVALID"}:
                outcomes["flagged"] += 1                 # birth year (or a birth after the death) disagrees
            else:
                outcomes["undetectable"] += 1            # same year: the CCCD cannot tell
    assert sum(outcomes.values()) == stats.links["citizen_birth_mismatch"] > 0
    assert outcomes["flagged"], outcomes


# -- hand-built edge cases ---------------------------------------------------------------------

def _births(**columns) -> pa.Table:
    base = {"id": 1, "so_dang_ky": "12/2025", "ho_ten_tre": "Nguyễn Văn An", "so_dinh_danh_tre": "031225000123",
            "ngay_sinh": date(2025, 3, 1), "gioi_tinh": "Nam", "so_cccd_me": "031195000456",
            "so_cccd_cha": "031090000789", "ma_dvhc_dang_ky": "10507", "ngay_dang_ky": date(2025, 3, 20),
            "ngay_cap_nhat": datetime(2025, 3, 21, 9, 30), "_batch_id": "b", "_record_hash": "h", "_op": "U"}
    n = max((len(v) for v in columns.values()), default=1)
    data = {k: columns.get(k, [v] * n) for k, v in base.items()}
    data["id"] = list(range(1, n + 1))
    return pa.table(data)


def _one(table: pa.Table, name: str = "birth_registration") -> list[dict]:
    return TABLES[name].clean(table, DAY).to_pylist()


def test_edge_cases_of_a_birth_registration():
    rows = _one(_births(
        so_dang_ky=[" 012 / 2025 ", "12-2025", "12/2025", "12/2025", "12/2025", "12/2025", "12/2025", "12/2025"],
        so_dinh_danh_tre=["031225000123", "031225000123", "031 225 000 123", "31225000123", "O31225000123",
                          "031235000123", "0312250001", "031225000123"],
        gioi_tinh=["Nam", "Nam", "Khác", None, "nam", "Nam", None, "Nam"],
        so_cccd_me=["031195000456", "031195000456", "031094000456", "", "031195000456", "031195000456",
                    "031195000456", "031195000456"],
        so_cccd_cha=["031090000789", "031090000789", None, "031090000789", "031195000789", "031090000789",
                     "031090000789", "999090000789"],
        ngay_sinh=[date(2025, 3, 1)] * 7 + [date(2025, 3, 30)],
    ))
    assert rows[0]["registration_number"] == "12/2025" and rows[0]["_reject_reason"] is None
    assert rows[0]["entered_at"] == datetime(2025, 3, 21, 9, 30).replace(tzinfo=rows[0]["entered_at"].tzinfo)
    assert str(rows[0]["entered_at"].tzinfo) == "Asia/Ho_Chi_Minh"
    assert rows[1]["_reject_reason"] == "CODE_INVALID" and rows[1]["_reject_detail"].startswith("so_dang_ky '12-2025'")
    assert rows[2]["child_cccd"] == "031225000123" and rows[2]["sex"] == "M"        # separators; sex from CCCD
    assert rows[2]["mother_cccd"] is None and "CCCD_MISMATCH" in rows[2]["quality_flags"]   # a man's number
    assert rows[3]["child_cccd"] == "031225000123" and rows[3]["sex"] == "M"        # lost leading zero
    assert rows[3]["mother_cccd"] is None and rows[3]["quality_flags"] == "CCCD_MISSING"
    assert rows[4]["child_cccd"] == "031225000123" and rows[4]["sex"] == "M"        # O for 0; "nam"
    assert rows[4]["father_cccd"] is None and rows[4]["quality_flags"] == "CCCD_MISMATCH"   # a woman's number
    assert rows[5]["child_cccd"] == "031235000123" and rows[5]["quality_flags"] == "CCCD_MISMATCH"  # a girl's digit
    assert rows[6]["child_cccd"] is None and rows[6]["sex"] is None
    assert rows[6]["quality_flags"] == "CCCD_MALFORMED,SEX_INVALID" and rows[6]["_reject_reason"] is None
    assert rows[7]["_reject_reason"] == "DATE_OUT_OF_RANGE" and "before the event date" in rows[7]["_reject_detail"]
    assert all(r["father_cccd"] is None for r in rows[7:]) and "CCCD_BAD_PROVINCE" in rows[7]["quality_flags"]


def test_edge_cases_of_dates_units_and_names():
    rows = _one(_births(
        ma_dvhc_dang_ky=["10507", "99999", "10528", "10510", "10507"],
        ngay_dang_ky=[date(2025, 3, 20), date(2025, 3, 20), date(2025, 3, 20), None, date(2027, 1, 1)],
        ho_ten_tre=["  nguyen   van HUNG ", "Nguyen Van Hung", "Trần Thị Thuỳ", None, "Nguyễn Văn An"],
    ))
    assert rows[0]["child_name"] == "Nguyễn Văn Hùng" and rows[0]["quality_flags"] is None
    assert rows[1]["_reject_reason"] == "ADMIN_UNIT_UNKNOWN" and "ma_dvhc_dang_ky '99999'" in rows[1]["_reject_detail"]
    assert rows[2]["commune_code"] is None and rows[2]["_reject_reason"] == "ADMIN_UNIT_SPLIT"
    assert rows[2]["child_name"] == "Trần Thị Thuỳ"                 # tone placement kept as written
    assert (rows[3]["commune_code"], rows[3]["commune_code_source"]) == ("10507", "crosswalk")
    assert rows[3]["_reject_reason"] == "DATE_MISSING" and "NAME_MISSING" in rows[3]["quality_flags"]
    assert rows[4]["_reject_reason"] == "DATE_OUT_OF_RANGE"
    assert rows[0]["_completeness"] > rows[3]["_completeness"]
    late = _one(_births(ngay_sinh=[date(2001, 3, 1)] * 2, ngay_dang_ky=[date(2025, 3, 20)] * 2,
                        so_dinh_danh_tre=["031201000123"] * 2, so_cccd_me=["", "031195000456"], so_cccd_cha=[None] * 2))
    assert late[0]["late_registration"] and late[0]["mother_cccd"] is None and late[0]["quality_flags"] is None
    assert late[1]["mother_cccd"] == "031195000456" and late[1]["quality_flags"] is None


def test_text_timestamps_and_dates_are_read_too():
    """Another connector may deliver the typed columns as text: same result."""
    typed = _births()
    text = typed.set_column(typed.schema.get_field_index("ngay_sinh"), "ngay_sinh", pa.array(["01/03/2025"]))
    text = text.set_column(text.schema.get_field_index("ngay_cap_nhat"), "ngay_cap_nhat",
                           pa.array(["2025-03-21 09:30:00"]))
    assert _one(text) == _one(typed)


def test_marriages_and_deaths_by_role():
    marriage = pa.table({"id": [1, 2], "so_dang_ky": ["3/2025", "4/2025"],
                         "ho_ten_chong": ["Le Van Dung", "Lê Văn Dũng"],
                         "so_cccd_chong": ["031090000111", "031191000111"],
                         "ho_ten_vo": ["Pham Thi Dung", "Phạm Thị Dung"],
                         "so_cccd_vo": ["031195000222", "031195000222"], "ngay_dang_ky": [date(2025, 5, 5)] * 2,
                         "ma_dvhc": ["10507", "10507"], "ngay_cap_nhat": [datetime(2025, 5, 5, 8)] * 2,
                         "_batch_id": ["b"] * 2, "_record_hash": ["h", "i"], "_op": ["U"] * 2})
    m = _one(marriage, "marriage_registration")
    assert (m[0]["husband_name"], m[0]["wife_name"]) == ("Lê Văn Dũng", "Phạm Thị Dung")   # sex decides Dũng/Dung
    assert m[1]["husband_cccd"] is None and m[1]["quality_flags"] == "CCCD_MISMATCH"
    death = pa.table({"id": [1, 2], "so_dang_ky": ["7/2025", "8/2025"], "ho_ten_nguoi_mat": ["Tran Thi Lan"] * 2,
                      "so_cccd_nguoi_mat": ["031150000333", "031150000333"],
                      "ngay_sinh_nguoi_mat": [date(1950, 1, 2), date(1951, 1, 2)], "ngay_mat": [date(2025, 6, 1)] * 2,
                      "ngay_dang_ky": [date(2025, 6, 3), date(2025, 6, 3)], "ma_dvhc": ["10507"] * 2,
                      "nguyen_nhan": ["  Tuổi  già ", None], "ngay_cap_nhat": [datetime(2025, 6, 3, 10)] * 2,
                      "_batch_id": ["b"] * 2, "_record_hash": ["h", "i"], "_op": ["U"] * 2})
    d = _one(death, "death_registration")
    assert d[0]["sex"] == "F" and d[0]["deceased_name"] == "Trần Thị Lan" and d[0]["cause"] == "Tuổi già"
    assert d[0]["registration_delay_days"] == 2 and d[0]["late_registration"] is False
    assert d[1]["deceased_cccd"] == "031150000333" and d[1]["quality_flags"] == "CCCD_MISMATCH"  # born 1951
