"""Tests for kho.cleaning (the processed-zone rules) and the record-level ``clean_record``.

``spark_jobs.population_processed`` imports pyspark at module level; importing it is all
these tests do with Spark (no session is started).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

import pytest

from kho import cleaning, reference
from kho.cleaning import (
    REASONS,
    check_cccd,
    cccd_digit,
    has_diacritics,
    nfc,
    normalize_sex,
    parse_date,
    resolve_admin_unit,
    standardize_name,
)
from spark_jobs.population_processed import CLEAN_SCHEMA, SOURCE_COLUMNS, clean_record

NGUYEN_NFC = "Nguy\u1ec5n"             # precomposed: ễ is one code point
NGUYEN_NFD = "Nguye\u0302\u0303n"      # e + combining circumflex + combining tilde
AS_OF = date(2026, 11, 1)


def _old_whole() -> reference.CrosswalkEntry:
    """A pre-2025 unit merged whole into one current unit, whose code is not itself current."""
    current = reference.admin_unit_by_code()
    return next(e for e in sorted(reference.crosswalk().values(), key=lambda e: e.old_unit_code)
                if not e.split and e.new_unit_code and e.old_unit_code not in current)


def _old_split() -> reference.CrosswalkEntry:
    current = reference.admin_unit_by_code()
    return next(e for e in sorted(reference.crosswalk().values(), key=lambda e: e.old_unit_code)
                if e.split and e.old_unit_code not in current)


# --- nfc / names / diacritics -------------------------------------------------------------
def test_nfd_and_nfc_vietnamese_compare_equal_after_nfc() -> None:
    assert NGUYEN_NFD != NGUYEN_NFC
    assert len(NGUYEN_NFD) == len(NGUYEN_NFC) + 2
    assert nfc(NGUYEN_NFD) == NGUYEN_NFC
    assert nfc(NGUYEN_NFC) == NGUYEN_NFC
    assert unicodedata.is_normalized("NFC", nfc(unicodedata.normalize("NFD", "Thành phố Hải Phòng")))


@pytest.mark.parametrize("raw, expected", [
    ("  Hải   Phòng \t", "Hải Phòng"),
    ("Hải\u00a0\u00a0Phòng", "Hải Phòng"),   # no-break spaces from a web form
    ("Hải\nPhòng", "Hải Phòng"),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_nfc_collapses_whitespace_and_empties_to_none(raw: str | None, expected: str | None) -> None:
    assert nfc(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("  nguyễn   văn AN ", "Nguyễn Văn An"),
    ("NGUYỄN THỊ MINH KHAI", "Nguyễn Thị Minh Khai"),
    ("đặng thùy trâm", "Đặng Thùy Trâm"),                       # đ capitalises to Đ
    (unicodedata.normalize("NFD", "trần hưng đạo"), "Trần Hưng Đạo"),
    ("Le Van Tam", "Le Van Tam"),                                # unaccented stays unaccented
    ("   ", None),
    (None, None),
])
def test_standardize_name(raw: str | None, expected: str | None) -> None:
    out = standardize_name(raw)
    assert out == expected
    if out is not None:
        assert unicodedata.is_normalized("NFC", out)


@pytest.mark.parametrize("text, expected", [
    ("Nguyễn Văn An", True),
    (NGUYEN_NFD, True),                 # decomposed marks count too
    ("Đinh", True),                     # đ has no combining mark but is not ASCII d
    ("Nguyen Van An", False),
    ("Cao Minh Nam", False),
    ("An  Nam", False),                 # whitespace differences are not diacritics
    (" Lan ", False),
    ("", False),
    (None, False),
])
def test_has_diacritics(text: str | None, expected: bool) -> None:
    assert has_diacritics(text) is expected


# --- dates --------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "1990-05-17", "17/05/1990", "17-05-1990", "17.05.1990", "19900517", "1990/05/17",
    " 17/05/1990 ", "1990-05-17T08:30:00", "1990-05-17 08:30:00",
])
def test_parse_date_accepted_formats(text: str) -> None:
    assert parse_date(text) == date(1990, 5, 17)


def test_parse_date_day_first_not_month_first() -> None:
    assert parse_date("03/04/2001") == date(2001, 4, 3)


@pytest.mark.parametrize("text", ["31/02/1990", "1985-13-01", "00/00/0000", "29/02/2023", "", "   ",
                                  None, "không rõ", "17/05", "1990"])
def test_parse_date_invalid_is_none(text: str | None) -> None:
    assert parse_date(text) is None


def test_parse_date_leap_day() -> None:
    assert parse_date("29/02/2024") == date(2024, 2, 29)


# --- sex ----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("Nam", "M"), ("nam", "M"), ("NAM", "M"), (" Nam ", "M"), ("M", "M"), ("m", "M"), ("male", "M"),
    ("Nữ", "F"), ("nữ", "F"), ("NỮ", "F"), ("nu", "F"), ("Nu", "F"), (unicodedata.normalize("NFD", "Nữ"), "F"),
    ("F", "F"), ("female", "F"),
    ("X", None), ("khác", None), ("", None), ("Nam Nữ", None), (None, None),
])
def test_normalize_sex(raw: str | None, expected: str | None) -> None:
    assert normalize_sex(raw) == expected


# --- CCCD ---------------------------------------------------------------------------------
@pytest.mark.parametrize("year, sex, digit", [
    (1900, "M", 0), (1999, "M", 0), (1950, "F", 1), (2000, "M", 2), (2024, "F", 3), (2100, "M", 4),
])
def test_cccd_digit(year: int, sex: str, digit: int) -> None:
    assert cccd_digit(year, sex) == digit


@pytest.mark.parametrize("cccd, birth, sex", [
    ("031090123456", date(1990, 5, 17), "M"),     # Hai Phong, 1900s male
    ("030185000001", date(1985, 1, 1), "F"),      # Hai Duong, 1900s female
    ("001203654321", date(2003, 12, 31), "M"),    # Ha Noi, 2000s male
    ("031310000000", date(2010, 6, 1), "F"),      # 2000s female
    (" 031090123456 ", date(1990, 5, 17), "M"),   # surrounding blanks tolerated
])
def test_check_cccd_valid(cccd: str, birth: date, sex: str) -> None:
    assert check_cccd(cccd, birth, sex) is None


@pytest.mark.parametrize("cccd, reason", [
    (None, "CCCD_MISSING"),
    ("", "CCCD_MISSING"),
    ("   ", "CCCD_MISSING"),
    ("03109012345", "CCCD_MALFORMED"),           # 11 digits
    ("0310901234567", "CCCD_MALFORMED"),         # 13 digits
    ("03109O123456", "CCCD_MALFORMED"),          # letter O for zero
    ("031-09012345", "CCCD_MALFORMED"),
    ("031 090 12345", "CCCD_MALFORMED"),
    ("031\u00b290123456", "CCCD_MALFORMED"),     # superscript two: str.isdigit() is True
    ("０３１０９０１２３４５６", "CCCD_MALFORMED"),   # full-width digits
    ("000090123456", "CCCD_BAD_PROVINCE"),
    ("099090123456", "CCCD_BAD_PROVINCE"),
    ("031190123456", "CCCD_MISMATCH"),           # female digit on a male record
    ("031290123456", "CCCD_MISMATCH"),           # 2000s digit on a 1990 birth
    ("031091123456", "CCCD_MISMATCH"),           # birth year 91 on a 1990 birth
])
def test_check_cccd_reasons(cccd: str | None, reason: str) -> None:
    assert check_cccd(cccd, date(1990, 5, 17), "M") == reason
    assert reason in REASONS


def test_check_cccd_skips_consistency_without_birth_or_sex() -> None:
    # Birth date or sex unknown: only the structure can be judged (the record is rejected elsewhere).
    assert check_cccd("031190123456", None, "M") is None
    assert check_cccd("031190123456", date(1990, 5, 17), None) is None
    assert check_cccd("03119012345", None, None) == "CCCD_MALFORMED"


def test_hai_phong_and_hai_duong_prefixes_are_known() -> None:
    assert {"030", "031"} <= set(reference.cccd_prefixes())
    assert not {"000", "099", "065"} & set(reference.cccd_prefixes())


# --- administrative units -----------------------------------------------------------------
def test_resolve_current_unit() -> None:
    code = reference.admin_units()[0].unit_code
    assert resolve_admin_unit(code) == cleaning.UnitResolution(code, "current")
    assert resolve_admin_unit(f"  {code} ") == cleaning.UnitResolution(code, "current")


def test_resolve_old_unit_merged_whole_goes_through_crosswalk() -> None:
    entry = _old_whole()
    res = resolve_admin_unit(entry.old_unit_code)
    assert res == cleaning.UnitResolution(entry.new_unit_code, "crosswalk")
    assert res.code in reference.admin_unit_by_code()


def test_resolve_split_old_unit_is_a_reason() -> None:
    entry = _old_split()
    assert len(entry.candidate_unit_codes) > 1
    res = resolve_admin_unit(entry.old_unit_code)
    assert res == cleaning.UnitResolution(None, "ADMIN_UNIT_SPLIT")
    assert res.how in REASONS


@pytest.mark.parametrize("code", ["99999", "00000", "31", "", "   ", None, "abc"])
def test_resolve_unknown_unit(code: str | None) -> None:
    res = resolve_admin_unit(code)
    assert res == cleaning.UnitResolution(None, "ADMIN_UNIT_UNKNOWN")
    assert res.how in REASONS


def test_every_crosswalk_code_resolves_to_a_current_unit_or_split() -> None:
    current = reference.admin_unit_by_code()
    for old, entry in reference.crosswalk().items():
        res = resolve_admin_unit(old)
        if res.code is None:
            assert res.how == "ADMIN_UNIT_SPLIT" and entry.split, old
        else:
            assert res.code in current, old
            assert res.how in ("current", "crosswalk"), old


# --- clean_record -------------------------------------------------------------------------
CURRENT_UNIT = reference.admin_units()[0]


def _raw(**overrides: object) -> dict[str, object]:
    """A valid raw population record (Vietnamese source columns plus ingestion columns)."""
    rec: dict[str, object] = {
        "id": 7, "so_dinh_danh": "031090123456", "ho_ten": "Nguyễn Văn An", "ngay_sinh": "17/05/1990",
        "gioi_tinh": "Nam", "ma_dvhc": CURRENT_UNIT.unit_code,
        "dia_chi": f"Số 12 Lạch Tray, {CURRENT_UNIT.unit_full_name}, Thành phố Hải Phòng",
        "ngay_cap_nhat": "2025-08-01 10:15:00", "_batch_id": "population-cong_dan-20261101",
        "_record_hash": "ab" * 32,
    }
    rec.update(overrides)
    return rec


def test_clean_record_valid_row_is_typed_with_english_columns() -> None:
    out = clean_record(_raw(), AS_OF)
    assert set(out) == set(CLEAN_SCHEMA.fieldNames()) - {"_raw"}
    assert set(SOURCE_COLUMNS.values()) <= set(out)
    assert not set(SOURCE_COLUMNS) - {"id"} & set(out)           # no Vietnamese column leaks through
    assert out == {
        "record_id": 7, "cccd": "031090123456", "full_name": "Nguyễn Văn An", "birth_date": date(1990, 5, 17),
        "sex": "M", "commune_code": CURRENT_UNIT.unit_code, "commune_code_source": "current",
        "address": f"Số 12 Lạch Tray, {CURRENT_UNIT.unit_full_name}, Thành phố Hải Phòng",
        "updated_at": datetime(2025, 8, 1, 10, 15), "name_has_diacritics": True,
        "_batch_id": "population-cong_dan-20261101", "_record_hash": "ab" * 32,
        "_reject_reason": None, "_reject_detail": None,
    }
    assert isinstance(out["record_id"], int)


def test_clean_record_repairs_what_can_be_repaired() -> None:
    entry = _old_whole()
    out = clean_record(_raw(
        id="8", so_dinh_danh=" 030303000001 ", ho_ten=unicodedata.normalize("NFD", "  lê   thị HỒNG "),
        ngay_sinh="2003-02-01", gioi_tinh="nu", ma_dvhc=entry.old_unit_code,
        dia_chi=unicodedata.normalize("NFD", "Thôn 3,  Xã Cũ"), ngay_cap_nhat="không rõ"), AS_OF)
    assert out["_reject_reason"] is None
    assert out["record_id"] == 8
    assert out["cccd"] == "030303000001"
    assert out["full_name"] == "Lê Thị Hồng"
    assert out["birth_date"] == date(2003, 2, 1) and out["sex"] == "F"
    assert (out["commune_code"], out["commune_code_source"]) == (entry.new_unit_code, "crosswalk")
    assert out["address"] == "Thôn 3, Xã Cũ" and unicodedata.is_normalized("NFC", out["address"])
    assert out["updated_at"] is None                              # unparseable timestamp: kept as null


def test_clean_record_unaccented_name_passes_and_is_flagged() -> None:
    out = clean_record(_raw(ho_ten="NGUYEN VAN AN"), AS_OF)
    assert out["_reject_reason"] is None
    assert out["full_name"] == "Nguyen Van An"
    assert out["name_has_diacritics"] is False


CLEAN_FAULTS = [
    ({"so_dinh_danh": None}, "CCCD_MISSING"),
    ({"so_dinh_danh": "   "}, "CCCD_MISSING"),
    ({"so_dinh_danh": "03109012345"}, "CCCD_MALFORMED"),
    ({"so_dinh_danh": "03109O123456"}, "CCCD_MALFORMED"),
    ({"so_dinh_danh": "065090123456"}, "CCCD_BAD_PROVINCE"),
    ({"so_dinh_danh": "031190123456"}, "CCCD_MISMATCH"),
    ({"gioi_tinh": "Nữ"}, "CCCD_MISMATCH"),                     # CCCD says male
    ({"ngay_sinh": "17/05/1991"}, "CCCD_MISMATCH"),             # CCCD says born in 90
    ({"ho_ten": None}, "NAME_MISSING"),
    ({"ho_ten": "  "}, "NAME_MISSING"),
    ({"ngay_sinh": "31/02/1990"}, "BIRTH_DATE_INVALID"),
    ({"ngay_sinh": "1985-13-01"}, "BIRTH_DATE_INVALID"),
    ({"ngay_sinh": ""}, "BIRTH_DATE_INVALID"),
    ({"ngay_sinh": None}, "BIRTH_DATE_INVALID"),
    ({"ngay_sinh": "không rõ"}, "BIRTH_DATE_INVALID"),
    ({"ngay_sinh": "1899-12-31", "so_dinh_danh": "031099123456"}, "BIRTH_DATE_INVALID"),  # before 1900
    ({"ngay_sinh": "2026-11-02", "so_dinh_danh": "031226123456"}, "BIRTH_DATE_INVALID"),  # after as_of
    ({"gioi_tinh": "X"}, "SEX_INVALID"),
    ({"gioi_tinh": None}, "SEX_INVALID"),
    ({"ma_dvhc": "99999"}, "ADMIN_UNIT_UNKNOWN"),
    ({"ma_dvhc": ""}, "ADMIN_UNIT_UNKNOWN"),
    ({"ma_dvhc": None}, "ADMIN_UNIT_UNKNOWN"),
    ({"ma_dvhc": _old_split().old_unit_code}, "ADMIN_UNIT_SPLIT"),
]


@pytest.mark.parametrize("overrides, reason", CLEAN_FAULTS)
def test_clean_record_faults_are_rejected_with_reason(overrides: dict[str, object], reason: str) -> None:
    out = clean_record(_raw(**overrides), AS_OF)
    assert out["_reject_reason"] == reason
    assert reason in REASONS
    assert out["_reject_detail"]
    assert out["record_id"] == 7 and out["_batch_id"] and out["_record_hash"]


def test_clean_record_fault_table_covers_every_reason() -> None:
    assert {reason for _, reason in CLEAN_FAULTS} == set(REASONS)


def test_clean_record_birth_date_on_as_of_is_valid() -> None:
    out = clean_record(_raw(ngay_sinh="2026-11-01", so_dinh_danh="031226000001"), AS_OF)
    assert out["_reject_reason"] is None
