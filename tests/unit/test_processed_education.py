"""Processed education tables (kho.processed.education) on the generated school-year workbooks.

Three workbooks (school years 2024-2026) are generated at a small scale into tmp_path, loaded
by the real file-drop loader (every cell as text, one batch per file) into an isolated lake,
and cleaned. Expected outcomes come from the generator's fault counters and from the other
years' files (a school keeps its accented name from one year to the next).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from kho import reference
from kho.ingest.loader import day_interval, load_object
from kho.ingest.registry import load_registry
from kho.processed import education as e
from kho.processed.base import RULE_COLUMNS
from kho.settings import get_settings
from kho.sources import education as gen
from kho.standardise.reasons import REASONS
from kho.standardise.text import has_diacritics_scalar

SEED = 7
SF = 0.05
DAY = date(2026, 11, 27)
CURRENT = set(reference.admin_unit_by_code())
LEVEL_OF_DIGIT = {"1": "preschool", "2": "primary", "3": "lower_secondary", "4": "upper_secondary"}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("education")
    with pytest.MonkeyPatch.context() as mp:       # generators may cache citizens under the state dir
        mp.setenv("KHO_STATE_DIR", str(root / "gen_state"))
        mp.setenv("KHO_CITIZEN_CACHE_DIR", str(root / "gen_cache"))
        get_settings.cache_clear()
        stats = gen.generate(root, seed=SEED, sf=SF, workers=1)
    get_settings.cache_clear()
    return {"folder": root / "education", "stats": stats, "raw": {}}


@pytest.fixture
def raw(source, isolated_settings, monkeypatch):
    """Both raw tables, loaded once per module by the real loader into an isolated lake."""
    if not source["raw"]:
        monkeypatch.setenv("AIRFLOW_CONN_KHO_SRC_EDUCATION", f"file://{source['folder']}")
        get_settings.cache_clear()
        system = load_registry().get("education")
        for name in ("school", "enrolment"):
            results = load_object(get_settings(), system, system.object(name), day_interval(DAY))
            assert len(results) == len(gen.DEFAULT_YEARS)                # one batch per workbook
            source["raw"][name] = DeltaTable(f"{get_settings().lake_root}/raw/education/{name}").to_pyarrow_table()
    return source["raw"]


@pytest.fixture
def schools(raw):
    return e.clean_schools(raw["school"], DAY)


@pytest.fixture
def enrolment(raw):
    return e.clean_enrolment(raw["enrolment"], DAY)


def _pairs(raw: pa.Table, out: pa.Table) -> list[tuple[dict, dict]]:
    return list(zip(raw.to_pylist(), out.to_pylist()))


def _check_contract(raw: pa.Table, out: pa.Table, spec) -> None:
    assert out.num_rows == raw.num_rows > 0
    assert out.schema.names == spec.schema.names + list(RULE_COLUMNS)
    for field in spec.schema:
        assert out.schema.field(field.name).type == field.type, field.name
    assert out["record_id"].null_count == 0 and out["_completeness"].null_count == 0
    reasons = out["_reject_reason"].drop_null().to_pylist()
    assert set(reasons) <= set(REASONS) and len(reasons) < 0.1 * out.num_rows
    valid = out.filter(pc.is_null(out["_reject_reason"]))
    assert valid["_reject_detail"].null_count == valid.num_rows
    for flags in out["quality_flags"].drop_null().to_pylist():
        assert set(flags.split(",")) <= set(REASONS)


def _keys(out: pa.Table, spec) -> list[tuple]:
    return list(zip(*(out[c].to_pylist() for c in spec.business_key)))


def test_contracts_years_and_duplicates(raw, schools, enrolment, source):
    _check_contract(raw["school"], schools, e.SCHOOL)
    _check_contract(raw["enrolment"], enrolment, e.ENROLMENT)
    for out in (schools, enrolment):
        assert set(out["school_year"].to_pylist()) == set(gen.DEFAULT_YEARS)
        assert all(d == date(y, 9, 5) for y, d in zip(out["school_year"].to_pylist(), out["snapshot_date"].to_pylist()))
    assert schools.num_rows == source["stats"].rows["Truong"] and enrolment.num_rows == source["stats"].rows["SiSo"]
    collisions = sum(len(_keys(out, spec)) - len(set(_keys(out, spec)))
                     for out, spec in ((schools, e.SCHOOL), (enrolment, e.ENROLMENT)))
    assert collisions == source["stats"].faults["exact_duplicate"] > 0


def test_school_names_levels_ownership_and_units(raw, schools, source):
    pairs = _pairs(raw["school"], schools)
    accented = defaultdict(set)                 # the school's name as other rows (years) write it
    for r, _ in pairs:
        if has_diacritics_scalar(r["ten_truong"]):
            accented[r["ma_truong"]].add(r["ten_truong"])
    unaccented = [(r, o) for r, o in pairs if not has_diacritics_scalar(r["ten_truong"])]
    assert len(unaccented) == source["stats"].faults["unaccented_name"]
    restored = 0
    for r, o in unaccented:
        flagged = "NAME_UNACCENTED" in (o["quality_flags"] or "")
        assert reference.fold(o["school_name"]) == reference.fold(r["ten_truong"])
        assert o["name_has_diacritics"] or flagged
        if accented[r["ma_truong"]] and not flagged:
            assert o["school_name"] in accented[r["ma_truong"]]      # restored exactly as the school writes it
            restored += 1
    assert restored >= 0.5 * len(unaccented)
    in_words = [(r, o) for r, o in pairs if r["cap_hoc"] not in gen.LEVELS]
    assert in_words
    for r, o in pairs:
        assert o["level"] == LEVEL_OF_DIGIT[r["ma_truong"][2]]
        assert o["commune_code"] in CURRENT or "ADMIN_UNIT" in (o["quality_flags"] or "")
        if r["ma_dvhc"] in CURRENT:
            assert o["commune_code"] == r["ma_dvhc"]
    missing_owner = [(r, o) for r, o in pairs if r["loai_hinh"] is None]
    assert missing_owner
    for r, o in missing_owner:
        private = "tu thuc" in reference.fold(o["school_name"])
        assert o["ownership"] == ("private" if private else None)
        assert private or "CODE_INVALID" in o["quality_flags"]
    assert set(schools["ownership"].drop_null().to_pylist()) <= {"public", "private"}
    assert schools["_reject_reason"].null_count == schools.num_rows


def test_enrolment_numbers_grades_and_faults(raw, enrolment, source):
    pairs = _pairs(raw["enrolment"], enrolment)
    typed = [(r, o) for r, o in pairs if r["so_hoc_sinh"] and not r["so_hoc_sinh"].isdigit()]
    assert typed
    for r, o in typed:
        assert o["pupils"] == int(re.sub(r"[.\s]", "", r["so_hoc_sinh"]))
    odd_grades = [(r, o) for r, o in pairs if r["khoi"] not in {g[0] for g in gen.GRADES}]
    assert odd_grades and all(o["grade"] in {g[0] for g in gen.GRADES} for _, o in odd_grades)
    for r, o in odd_grades:
        assert reference.fold(o["grade"]) in (reference.fold(r["khoi"]), f"lop {r['khoi']}")
    no_classes = [o for r, o in pairs if r["so_lop"] is None]
    assert no_classes and all(o["classes"] is None and "MONEY_MISSING" in o["quality_flags"] for o in no_classes)
    too_many_girls = [o for r, o in pairs if int(r["so_hoc_sinh_nu"]) > int(re.sub(r"[.\s]", "", r["so_hoc_sinh"]))]
    assert too_many_girls
    assert all(o["_reject_reason"] == e.COUNT_EXCEEDS_TOTAL for o in too_many_girls)
    assert Counter(o["_reject_reason"] for _, o in pairs if o["_reject_reason"]) == {
        e.COUNT_EXCEEDS_TOTAL: len(too_many_girls)}
    stats = source["stats"].faults
    assert len(typed) + len(odd_grades) + len(no_classes) + len(too_many_girls) <= \
        stats["text_number"] + stats["malformed_value"] + stats["missing_value"] + stats["exact_duplicate"]
    for _, o in pairs:
        assert (o["grade_number"] is None) == (o["level"] == "preschool")


def test_hand_built_edge_cases():
    school = pa.table({"ma_truong": ["31100000", "3110000", "31200001", "31300002", "31400003"],
                       "ten_truong": ["Trường Mầm non A", "Trường B", "Truong Tieu hoc tu thuc Hoa Sen",
                                      "Trường THCS C", "Trường THPT D"],
                       "cap_hoc": ["mam_non", "mam_non", "", "Trung học cơ sở", "đại học"],
                       "loai_hinh": ["cong_lap", "cong_lap", None, "cong_lap", "cong_lap"],
                       "ma_dvhc": ["11311", "11311", "11311", "11311", "11311"],
                       "_source_file": ["truong_hoc_2025.xlsx"] * 4 + ["truong_hoc.xlsx"]})
    out = e.clean_schools(school, DAY).to_pylist()
    assert out[0]["_reject_reason"] is None and out[0]["school_year"] == 2025
    assert out[1]["_reject_reason"] == "CODE_INVALID"
    assert out[2]["level"] == "primary" and out[2]["ownership"] == "private"        # from the code and the name
    assert out[3]["level"] == "lower_secondary"
    assert out[4]["_reject_reason"] == "PERIOD_INVALID"

    enrol = pa.table({"ma_truong": ["31200001"] * 7,
                      "khoi": ["Lớp 1", "lop 2", "3", "Lớp 13", "Lớp 4", "Lớp 5", "nhà trẻ"],
                      "so_lop": ["2", "2", None, "2", "2", "2", "1"],
                      "so_hoc_sinh": ["1.234", "1 234", "57 ", "50", "12.5", None, "-3"],
                      "so_hoc_sinh_nu": ["600", "600", "20", "20", "5", "5", "0"],
                      "_source_file": ["truong_hoc_2025.xlsx"] * 7})
    out = e.clean_enrolment(enrol, DAY).to_pylist()
    assert [o["pupils"] for o in out[:3]] == [1234, 1234, 57]
    assert [o["grade"] for o in out[:3]] == ["Lớp 1", "Lớp 2", "Lớp 3"]
    assert out[2]["classes"] is None and out[2]["quality_flags"] == "MONEY_MISSING"
    assert out[3]["_reject_reason"] == "CODE_INVALID" and "khoi 'Lớp 13'" in out[3]["_reject_detail"]
    assert out[4]["_reject_reason"] == e.COUNT_MALFORMED and "so_hoc_sinh '12.5'" in out[4]["_reject_detail"]
    assert out[5]["_reject_reason"] == e.COUNT_MALFORMED and "so_hoc_sinh empty" in out[5]["_reject_detail"]
    assert out[6]["_reject_reason"] == e.COUNT_NEGATIVE and out[6]["grade"] == "Nhà trẻ"


def test_empty_batches(raw):
    for name, spec in (("school", e.SCHOOL), ("enrolment", e.ENROLMENT)):
        out = spec.clean(raw[name].slice(0, 0), DAY)
        assert out.num_rows == 0 and out.schema.names == spec.schema.names + list(RULE_COLUMNS)


def test_declarations():
    registry = load_registry().get("education")
    for table in e.TABLES:
        obj = registry.object(table.raw.name)
        assert set(table.record_key) <= {c.name for c in obj.expected_schema} | {"_source_file"}
        assert set(table.column_docs) == set(table.schema.names)
        assert set(table.business_key) <= set(table.schema.names) and table.owner == registry.owner
        assert table.source_timestamp in table.schema.names
