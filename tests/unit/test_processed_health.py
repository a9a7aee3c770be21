"""Processed health tables (kho.processed.health) on the generated health database, loaded by the real loader.

The database is generated at a small scale into tmp_path (SQLite), loaded into an isolated
lake with ``kho.ingest.loader.load_object`` and cleaned. Expected outcomes come from the
generator: its fault and link counters, and its true facility list (names and units before the
faults). Facility name and unit faults run at 10 times their default rate so that each case
occurs at this scale; the visit faults keep their defaults.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from kho import reference
from kho.ingest.loader import day_interval, load_object
from kho.ingest.registry import load_registry
from kho.processed import health as h
from kho.processed.base import RULE_COLUMNS
from kho.settings import get_settings
from kho.sources import health as gen
from kho.standardise.reasons import REASONS
from kho.standardise.text import has_diacritics_scalar

SEED = 7
SF = 0.1
FAULTS = {"unaccented_name": 0.2, "old_admin_unit": 0.2}
DAY = date(2026, 11, 27)
CURRENT = set(reference.admin_unit_by_code())
OBJECTS = ("health_facility", "visit_report", "visit_sample")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("health")
    url = f"sqlite:///{root / 'health.sqlite'}"
    with pytest.MonkeyPatch.context() as mp:       # generators may cache citizens under the state dir
        mp.setenv("KHO_STATE_DIR", str(root / "gen_state"))
        mp.setenv("KHO_CITIZEN_CACHE_DIR", str(root / "gen_cache"))
        get_settings.cache_clear()
        stats = gen.generate(url, seed=SEED, sf=SF, fault_rates=FAULTS, workers=1)
    get_settings.cache_clear()
    truth = {f.code: f for f in gen.HealthGenerator(seed=SEED, sf=SF, fault_rates=FAULTS).facilities}
    return {"url": url, "stats": stats, "truth": truth, "raw": {}}


@pytest.fixture
def raw(source, isolated_settings, monkeypatch):
    """The three raw tables, loaded once per module by the real loader into an isolated lake."""
    if not source["raw"]:
        monkeypatch.setenv("AIRFLOW_CONN_KHO_SRC_HEALTH", source["url"])
        get_settings.cache_clear()
        system = load_registry().get("health")
        for name in OBJECTS:
            load_object(get_settings(), system, system.object(name), day_interval(DAY))
            table = DeltaTable(f"{get_settings().lake_root}/raw/health/{name}").to_pyarrow_table()
            source["raw"][name] = table.filter(pc.equal(table["_op"], "U"))
    return source["raw"]


@pytest.fixture
def cleaned(raw):
    return {"health_facility": h.clean_facilities(raw["health_facility"], DAY),
            "visit_report": h.clean_visit_reports(raw["visit_report"], DAY),
            "visit_sample": h.clean_visit_samples(raw["visit_sample"], DAY)}


def _pairs(raw: pa.Table, out: pa.Table) -> list[tuple[dict, dict]]:
    return list(zip(raw.to_pylist(), out.to_pylist()))


def _check_contract(raw: pa.Table, out: pa.Table, spec) -> None:
    assert out.num_rows == raw.num_rows > 0
    assert out.schema.names == spec.schema.names + list(RULE_COLUMNS)
    for field in spec.schema:
        assert out.schema.field(field.name).type == field.type, field.name
    assert out["record_id"].null_count == 0 and out["_completeness"].null_count == 0
    reasons = out["_reject_reason"].drop_null().to_pylist()
    assert set(reasons) <= set(REASONS)
    assert len(reasons) < 0.1 * out.num_rows
    valid = out.filter(pc.is_null(out["_reject_reason"]))
    assert valid["_reject_detail"].null_count == valid.num_rows
    assert out.filter(pc.is_valid(out["_reject_reason"]))["_reject_detail"].null_count == 0
    for flags in out["quality_flags"].drop_null().to_pylist():
        assert set(flags.split(",")) <= set(REASONS)


def _keys(out: pa.Table, spec) -> list[tuple]:
    return list(zip(*(out[c].to_pylist() for c in spec.business_key)))


def test_contracts_and_duplicates(raw, cleaned, source):
    for name, spec in zip(OBJECTS, h.TABLES):
        _check_contract(raw[name], cleaned[name], spec)
    for name in ("visit_report", "visit_sample"):     # a primary key in the source: unique per batch
        assert len(set(cleaned[name]["record_id"].to_pylist())) == cleaned[name].num_rows
    # every exact copy and every corrected re-submission shares its business key with the original
    collisions = sum(len(_keys(cleaned[name], spec)) - len(set(_keys(cleaned[name], spec)))
                     for name, spec in zip(OBJECTS, h.TABLES))
    stats = source["stats"].faults
    assert collisions == stats["exact_duplicate"] + stats["near_duplicate"]


def test_facility_names_and_units_against_the_true_register(raw, cleaned, source):
    truth = source["truth"]
    restored = flagged = via_name = 0
    for r, o in _pairs(raw["health_facility"], cleaned["health_facility"]):
        true = truth[o["facility_code"]]
        assert o["_reject_reason"] is None
        assert o["level"] == h.FACILITY_LEVELS[true.tier] and o["facility_type"] == h.FACILITY_TYPES[true.kind]
        flags = (o["quality_flags"] or "").split(",")
        if o["facility_name"] == true.name:
            restored += r["ten"] != true.name
        else:                                   # never a wrong spelling: unsure words stay as typed, flagged
            assert "NAME_UNACCENTED" in flags and reference.fold(o["facility_name"]) == reference.fold(true.name)
            flagged += 1
        assert o["name_has_diacritics"] == has_diacritics_scalar(o["facility_name"])
        if r["ma_dvhc"] == true.unit:
            assert o["commune_code"] == true.unit
        elif o["commune_code"] is None:         # a split pre-2025 unit that the name does not decide
            assert "ADMIN_UNIT_SPLIT" in flags
        elif r["ma_dvhc"] in CURRENT:           # an old code reused by a current unit reads as that unit
            assert o["commune_code_source"] == "current"
        else:
            assert o["commune_code"] == true.unit and o["commune_code_source"] in ("crosswalk", "address")
            via_name += o["commune_code_source"] == "address"
    assert restored >= 0.8 * source["stats"].faults["unaccented_name"] > 0
    assert via_name > 0


def test_visit_reports(raw, cleaned):
    pairs = _pairs(raw["visit_report"], cleaned["visit_report"])
    day_first = [(r, o) for r, o in pairs if re.fullmatch(r"\d{2}/\d{4}", r["thang"])]
    assert day_first
    for r, o in day_first:
        month, year = r["thang"].split("/")
        assert o["month"] == date(int(year), int(month), 1)
    negative = [o for r, o in pairs if r["so_luot_kham"] < 0]
    exceeding = [o for r, o in pairs if 0 <= r["so_luot_kham"] < r["so_luot_dieu_tri_noi_tru"]]
    assert negative and exceeding
    assert all(o["_reject_reason"] == h.COUNT_NEGATIVE and "so_luot_kham" in o["_reject_detail"] for o in negative)
    assert all(o["_reject_reason"] == h.COUNT_EXCEEDS_TOTAL and "so_luot_dieu_tri_noi_tru >" in o["_reject_detail"]
               for o in exceeding)
    assert sum(o["_reject_reason"] is not None for _, o in pairs) == len(negative) + len(exceeding)
    # a corrected re-submission has a later report date: survivorship keeps it
    latest: dict[tuple, dict] = {}
    for _, o in pairs:
        key = (o["facility_code"], o["month"], o["insured"])
        if key not in latest or o["report_date"] > latest[key]["report_date"]:
            latest[key] = o
    resubmitted = [k for k, c in Counter((o["facility_code"], o["month"], o["insured"]) for _, o in pairs).items()
                   if c > 1]
    assert resubmitted
    assert all(o["month"] <= date(2026, 10, 1) and o["month"] >= date(2024, 1, 1) for _, o in pairs)


def test_visit_samples(raw, cleaned, source):
    pairs = _pairs(raw["visit_sample"], cleaned["visit_sample"])
    loose = [(r, o) for r, o in pairs if r["ma_benh"] and not re.fullmatch(h.ICD10_CODE, r["ma_benh"])]
    assert loose
    for r, o in loose:
        assert o["_reject_reason"] != "CODE_INVALID", r["ma_benh"]
        assert re.fullmatch(h.ICD10_CODE, o["diagnosis_code"])
        typed = r["ma_benh"].strip().upper().replace(",", ".")
        assert o["diagnosis_code"] == typed.split(";")[0] or o["diagnosis_code"].replace(".", "") == typed
        assert (o["secondary_diagnosis_codes"] is not None) == (";" in r["ma_benh"])
    no_diagnosis = [o for r, o in pairs if r["ma_benh"] is None and r["so_cccd"] is not None]
    assert all(o["_reject_reason"] in ("CODE_INVALID", "CCCD_MALFORMED", "CCCD_BAD_PROVINCE", "CCCD_MISMATCH")
               for o in no_diagnosis)
    links = source["stats"].links
    reasons = Counter(o["_reject_reason"] for _, o in pairs)
    assert reasons["CCCD_MISSING"] == links["citizen_missing"] > 0
    spaced = [o for r, o in pairs if r["so_cccd"] and " " in r["so_cccd"]]
    assert all(o["cccd"] == r.replace(" ", "") for o, r in ((o, o["cccd"]) for o in spaced))
    broken = reasons["CCCD_MALFORMED"] + reasons["CCCD_BAD_PROVINCE"] + len(spaced)
    assert links["citizen_malformed"] <= broken <= links["citizen_malformed"] + links["citizen_typo"]
    for r, o in pairs:
        if o["_reject_reason"] is None:
            assert len(o["cccd"]) == 12 and o["birth_date"] <= o["visit_date"] <= DAY
            assert o["cccd"][4:6] == f"{o['birth_date'].year % 100:02d}"


def test_hand_built_edge_cases():
    reports = pa.table({
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()), "ma_co_so": ["31001", "31001", "3100", "31001", "31001"],
        "thang": ["2025-03", "03/2025", "2025-03", "2025-13", "2025-03"], "co_bhyt": [True, False, True, True, True],
        "so_luot_kham": pa.array([10, 10, 10, 10, 10], pa.int32()),
        "so_luot_dieu_tri_noi_tru": pa.array([1, 11, 1, 1, -1], pa.int32()),
        "ngay_bao_cao": pa.array([date(2025, 4, 5)] * 5, pa.date32())})
    out = h.clean_visit_reports(reports, DAY).to_pylist()
    assert out[0]["_reject_reason"] is None and out[0]["month"] == date(2025, 3, 1) and out[0]["visits"] == 10
    assert out[1]["_reject_reason"] == h.COUNT_EXCEEDS_TOTAL and out[1]["month"] == date(2025, 3, 1)
    assert out[2]["_reject_reason"] == "CODE_INVALID"
    assert out[3]["_reject_reason"] == "PERIOD_INVALID" and "thang '2025-13'" in out[3]["_reject_detail"]
    assert out[4]["_reject_reason"] == h.COUNT_NEGATIVE

    samples = pa.table({
        "id": pa.array(range(1, 7), pa.int64()), "ma_co_so": ["31001"] * 6,
        "so_cccd": ["031190123456", "031190123456", "031290123456", "031190123456", None, "0311 90123456"],
        "ngay_sinh": pa.array([date(1990, 5, 1)] * 6, pa.date32()),
        "ngay_kham": pa.array([date(2025, 3, 2), date(2027, 1, 1), date(2025, 3, 2), date(2025, 3, 2),
                               date(2025, 3, 2), date(2025, 3, 2)], pa.date32()),
        "ma_benh": [" i10 ", "I10", "I10", "12345", "I10", "K29,7; E11.9"], "co_bhyt": [True] * 6})
    out = h.clean_visit_samples(samples, DAY).to_pylist()
    assert out[0]["_reject_reason"] is None and out[0]["diagnosis_code"] == "I10"
    assert out[1]["_reject_reason"] == "DATE_OUT_OF_RANGE"
    assert out[2]["_reject_reason"] == "CCCD_MISMATCH"          # century digit 2 (2000s) for a 1990 birth
    assert out[3]["_reject_reason"] == "CODE_INVALID"
    assert out[4]["_reject_reason"] == "CCCD_MISSING"
    assert out[5]["_reject_reason"] is None and out[5]["cccd"] == "031190123456"
    assert out[5]["diagnosis_code"] == "K29.7" and out[5]["secondary_diagnosis_codes"] == "E11.9"

    facilities = pa.table({"ma_co_so": ["31999", "31998", "3199"],
                           "ten": ["Tram Y te Phuong Le Chan", "Trạm Y tế Phường Lê Chân", "Phòng khám X"],
                           "tuyen": ["xa", "xa", "xa"], "loai": ["tram_y_te", "tram_y_te", "nha_thuoc"],
                           "ma_dvhc": ["11323", "11323", "11323"]})
    out = h.clean_facilities(facilities, DAY).to_pylist()
    assert out[0]["facility_name"] == "Trạm Y tế Phường Lê Chân" and out[0]["quality_flags"] is None
    assert out[2]["_reject_reason"] == "CODE_INVALID"


def test_phrase_restoration_is_sure_or_flagged():
    names = pa.array(["Trường Mầm non tư thục Hoa Sen", "Trường Tiểu học Hòa Bình", "Truong Mam non tu thuc Hoa Sen",
                      "TRUONG TIEU HOC HOA BINH", "Truong Tieu hoc Hoa Sen", "Phong kham ABC", None,
                      "Trạm Y tế Xã Cẩm Giàng", "Tram Y te Xa Cam Giang"])
    out = h.restore_phrases(names)
    values, reasons = out.values.to_pylist(), out.reasons.to_pylist()
    assert values[2] == "Trường Mầm non tư thục Hoa Sen" and reasons[2] is None
    assert values[3] == "TRƯỜNG TIỂU HỌC HÒA BÌNH" and reasons[3] is None
    # "học Hòa" and "Hoa Sen" disagree on the word: it stays as typed
    assert values[4] == "Trường Tiểu học Hoa Sen" and reasons[4] == "NAME_UNACCENTED"
    assert reasons[5] == "NAME_UNACCENTED" and values[6] is None
    # Xã Cẩm Giang and Xã Cẩm Giàng fold alike: the batch's other station does not decide
    assert values[8] == "Trạm Y tế Xã Cẩm Giang" and reasons[8] == "NAME_UNACCENTED"


def test_empty_batches(raw):
    for name, spec in zip(OBJECTS, h.TABLES):
        out = spec.clean(raw[name].slice(0, 0), DAY)
        assert out.num_rows == 0 and out.schema.names == spec.schema.names + list(RULE_COLUMNS)


def test_declarations():
    registry = load_registry().get("health")
    for table in h.TABLES:
        obj = registry.object(table.raw.name)
        assert set(table.record_key) <= {c.name for c in obj.expected_schema} | {"_record_hash"}
        assert set(table.column_docs) == set(table.schema.names)
        assert set(table.business_key) <= set(table.schema.names) and table.owner == registry.owner
    assert {"cccd", "birth_date", "diagnosis_code"} <= set(h.VISIT_SAMPLE.pii_columns)
