"""Tests for kho.reference: the catalogues every other layer joins on must be exactly right.

The seed's list is embedded here on purpose (not imported from the generator), so the test is
an independent check of the shipped CSVs against the source document.
"""

from __future__ import annotations

import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

# The repo has no packaging config yet; make `kho` importable however pytest is launched.
_REPO_ROOT = Path(__file__).resolve().parents[2]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from kho.reference import (  # noqa: E402
    AdminUnit,
    admin_unit_by_code,
    admin_units,
    cccd_prefixes,
    crosswalk,
    fold,
)

# The seed's 114 names in order (OCR without diacritics; rows 82 and 83 fold alike).
SEED_NAMES = (
    "Thuy Nguyen", "Thien Huong", "Hoa Binh", "Nam Trieu", "Bach Dang", "Luu Kiem",
    "Le Ich Moc", "Hong Bang", "Hong An", "Ngo Quyen", "Gia Vien", "Le Chan", "An Bien",
    "Hai An", "Dong Hai", "Kien An", "Phu Lien", "Nam Do Son", "Do Son", "Hung Dao",
    "Duong Kinh", "An Duong", "An Hai", "An Phong", "Hai Duong", "Le Thanh Nghi", "Viet Hoa",
    "Thanh Dong", "Nam Dong", "Tan Hung", "Thach Khoi", "Tu Minh", "Ai Quoc", "Chu Van An",
    "Chi Linh", "Tran Hung Dao", "Nguyen Trai", "Tran Nhan Tong", "Le Dai Hanh", "Kinh Mon",
    "Nguyen Dai Nang", "Tran Lieu", "Bac An Phu", "Pham Su Manh", "Nhi Chieu",
    "An Hung", "An Khanh", "An Quang", "An Truong", "An Lao", "Kien Thuy", "Kien Minh",
    "Kien Hai", "Kien Hung", "Nghi Duong", "Quyet Thang", "Tien Lang", "Tan Minh",
    "Tien Minh", "Chan Hung", "Hung Thang", "Vinh Bao", "Nguyen Binh Khiem", "Vinh Am",
    "Vinh Hai", "Vinh Hoa", "Vinh Thinh", "Vinh Thuan", "Viet Khe", "Nam An Phu", "Nam Sach",
    "Thai Tan", "Tran Phu", "Hop Tien", "An Phu", "Thanh Ha", "Ha Tay", "Ha Bac", "Ha Nam",
    "Ha Dong", "Mao Dien", "Cam Giang", "Cam Giang", "Tue Tinh", "Ke Sat", "Binh Giang",
    "Duong An", "Thuong Hong", "Gia Loc", "Yet Kieu", "Gia Phuc", "Truong Tan", "Tu Ky",
    "Tan Ky", "Dai Son", "Chi Minh", "Lac Phuong", "Nguyen Giap", "Ninh Giang", "Vinh Lai",
    "Khuc Thua Du", "Tan An", "Hong Chau", "Thanh Mien", "Bac Thanh Mien", "Hai Hung",
    "Nguyen Luong Bang", "Nam Thanh Mien", "Phu Thai", "Lai Khe", "An Thanh", "Kim Thanh",
    "Cat Hai", "Bach Long Vi",
)

TYPE_PREFIX = {"phuong": "Phường", "xa": "Xã", "dac_khu": "Đặc khu"}
# New units formed only from parts of split old units, or (Bạch Long Vĩ) from none at all.
NO_WHOLE_SOURCE = {"11443", "10972", "11020", "11948"}


def _is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


# --- admin units ---------------------------------------------------------------------------
def test_114_units_with_official_type_split() -> None:
    units = admin_units()
    assert len(units) == 114
    assert Counter(u.unit_type for u in units) == {"xa": 67, "phuong": 45, "dac_khu": 2}


def test_codes_unique_five_digits_and_indexed() -> None:
    codes = [u.unit_code for u in admin_units()]
    assert len(set(codes)) == 114
    assert all(len(c) == 5 and c.isdigit() for c in codes)
    by_code = admin_unit_by_code()
    assert set(by_code) == set(codes)
    assert all(isinstance(u, AdminUnit) for u in by_code.values())


def test_all_units_in_province_31() -> None:
    assert {u.province_code for u in admin_units()} == {"31"}


def test_names_are_nfc_with_diacritics_and_full_name_consistent() -> None:
    for u in admin_units():
        assert _is_nfc(u.unit_name) and _is_nfc(u.unit_full_name), u
        assert not u.unit_full_name.isascii(), u  # every type prefix carries a diacritic
        assert u.unit_full_name == f"{TYPE_PREFIX[u.unit_type]} {u.unit_name}"
    # A stripped catalogue would show up as many ASCII names; these three are really unaccented.
    ascii_names = {u.unit_name for u in admin_units() if u.unit_name.isascii()}
    assert ascii_names == {"An Phong", "An Quang", "Ninh Giang"}


def test_seed_rows_are_a_permutation_in_file_order() -> None:
    assert [u.seed_row for u in admin_units()] == list(range(1, 115))


@pytest.mark.parametrize("row, seed_name", list(enumerate(SEED_NAMES, start=1)))
def test_seed_name_matches_folded_unit_name(row: int, seed_name: str) -> None:
    unit = next(u for u in admin_units() if u.seed_row == row)
    assert fold(unit.unit_name) == fold(seed_name)


def test_seed_types_follow_row_ranges() -> None:
    # The seed lists wards 1-45, communes 46-112, special zones 113-114.
    for u in admin_units():
        expected = "phuong" if u.seed_row <= 45 else "xa" if u.seed_row <= 112 else "dac_khu"
        assert u.unit_type == expected, u


def test_cam_giang_and_cam_giang_are_distinct_units() -> None:
    by_code = admin_unit_by_code()
    giang, giang_grave = by_code["10888"], by_code["10903"]
    assert giang.unit_name == "Cẩm Giang"
    assert giang_grave.unit_name == "Cẩm Giàng"
    assert fold(giang.unit_name) == fold(giang_grave.unit_name) == "cam giang"
    assert {giang.seed_row, giang_grave.seed_row} == {82, 83}
    assert giang.unit_name != giang_grave.unit_name


def test_former_lineage_values() -> None:
    units = admin_units()
    assert {u.former_province for u in units} == {"Hải Phòng", "Hải Dương"}
    # Only the two units the README lists as undecidable lack a district.
    assert {u.unit_code for u in units if u.former_district is None} == {"10543", "10756"}
    for u in units:
        if u.former_district is not None:
            assert _is_nfc(u.former_district)
            assert u.former_district.split(" ")[0] in {"Quận", "Huyện", "Thành", "Thị"}
    # Old Hải Phòng units carry codes >= 11300 in the national scheme, old Hải Dương below.
    for u in units:
        assert u.former_province == ("Hải Phòng" if u.unit_code >= "11300" else "Hải Dương")


# --- crosswalk ------------------------------------------------------------------------------
def test_crosswalk_targets_exist_in_admin_units() -> None:
    codes = set(admin_unit_by_code())
    for entry in crosswalk().values():
        assert set(entry.candidate_unit_codes) <= codes, entry
        if entry.new_unit_code is not None:
            assert entry.new_unit_code in codes, entry


def test_crosswalk_split_semantics() -> None:
    for code, entry in crosswalk().items():
        assert code == entry.old_unit_code and len(code) == 5 and code.isdigit()
        if entry.split:
            assert entry.new_unit_code is None
            assert len(entry.candidate_unit_codes) >= 2
        else:
            assert entry.candidate_unit_codes == (entry.new_unit_code,)


def test_crosswalk_counts_and_provinces() -> None:
    entries = list(crosswalk().values())
    assert Counter(e.old_province for e in entries) == {"Hải Phòng": 167, "Hải Dương": 207}
    assert sum(e.split for e in entries) == 71
    assert all(_is_nfc(e.old_unit_name) and _is_nfc(e.old_district) for e in entries)


def test_crosswalk_covers_new_units() -> None:
    whole_targets = {e.new_unit_code for e in crosswalk().values() if not e.split}
    any_targets = {c for e in crosswalk().values() for c in e.candidate_unit_codes}
    codes = set(admin_unit_by_code())
    assert codes - whole_targets == NO_WHOLE_SOURCE
    assert codes - any_targets == {"11948"}  # Bạch Long Vĩ had no commune-level units


def test_crosswalk_known_cases() -> None:
    cw = crosswalk()
    # Old Xã Cẩm Hưng merged whole into Xã Cẩm Giàng; old TT Cẩm Giang into Xã Cẩm Giang.
    assert cw["10894"].new_unit_code == "10903"
    assert cw["10888"].new_unit_code == "10888"
    assert cw["10888"].old_unit_type == "thi_tran"
    # Two old communes named Hòa Bình: keyed apart by code, different fates.
    assert cw["11890"].new_unit_code == "11911"
    assert cw["10798"].split and cw["10798"].candidate_unit_codes == ("10804", "10843")


def test_reused_codes_stay_among_candidates() -> None:
    # New units took old units' codes, so one number can name an old and a new unit. When that
    # old unit was split, its same-coded successor must at least be one of its candidates.
    by_code = admin_unit_by_code()
    reused = {code: entry for code, entry in crosswalk().items() if code in by_code}
    assert len(reused) == 113
    assert all(code in entry.candidate_unit_codes for code, entry in reused.items())
    assert sum(entry.split for entry in reused.values()) == 25


# --- CCCD prefixes --------------------------------------------------------------------------
def test_cccd_prefixes() -> None:
    prefixes = cccd_prefixes()
    assert len(prefixes) == 63
    assert all(len(p) == 3 and p.isdigit() and p.startswith("0") for p in prefixes)
    assert prefixes["030"] == "Hải Dương"
    assert prefixes["031"] == "Hải Phòng"
    assert prefixes["001"] == "Hà Nội"
    assert prefixes["079"] == "Hồ Chí Minh"
    assert all(_is_nfc(name) for name in prefixes.values())


# --- fold -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Xã Cẩm Giàng", "xa cam giang"),
        ("Đặc khu Bạch Long Vĩ", "dac khu bach long vi"),
        ("  Phường   Thủy  Nguyên ", "phuong thuy nguyen"),
        ("Thuỷ", "thuy"),  # old tone placement folds the same
        (unicodedata.normalize("NFD", "Hải Dương"), "hai duong"),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_loaders_are_cached() -> None:
    assert admin_units() is admin_units()
    assert crosswalk() is crosswalk()
