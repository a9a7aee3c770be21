"""Regenerate the reference CSVs of ``kho.reference`` from the kept Vietnamese libraries.

This script records *how* the committed CSVs were produced; it is not run by tests or at
runtime (the CSVs are the versioned artefact). It needs Python >= 3.12 because the source of
truth, the PyPI package ``vietnam-provinces``, requires it. Run it from the repository root in
a throwaway venv kept outside the repo::

    /root/.pyenv/versions/3.12.1/bin/python -m venv /tmp/vp312
    /tmp/vp312/bin/pip install vietnam-provinces==2026.9.0
    cd /work/main
    /tmp/vp312/bin/python -m kho.reference.build_reference \\
        --vau-data .venv/lib/python3.11/site-packages/vietnamadminunits/data
    /tmp/vp312/bin/python -m kho.reference.build_reference --check   # exit 1 on drift

Sources and decisions (details in README.md):

* New units, codes, names, types: ``vietnam_provinces.Ward`` for province 31.
* Old units and old -> new mapping: ``vietnam_provinces.legacy`` plus its 2025 conversion table
  (``_ward_conversion_2025``, built from the official old/new conversion table), keyed by codes.
* Optional cross-check of that mapping against ``vietnamadminunits`` 1.0.4's offline data
  (read directly from its data folder, so this script needs no second interpreter).
* ``seed_row``: the seed's 114-name list, matched by ASCII fold; the one fold collision
  (rows 82/83, "Cam Giang") is settled by :data:`SEED_FOLD_COLLISIONS`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kho.reference import (
    _ADMIN_UNIT_COLUMNS,
    _CCCD_COLUMNS,
    _CROSSWALK_COLUMNS,
    ADMIN_UNITS_FILE,
    CCCD_PREFIXES_FILE,
    CROSSWALK_FILE,
    fold,
)

PACKAGE_DIR = Path(__file__).resolve().parent
HAI_PHONG = 31
HAI_DUONG = 30
OLD_PROVINCES = (HAI_DUONG, HAI_PHONG)
SHORT_PROVINCE = {HAI_DUONG: "Hải Dương", HAI_PHONG: "Hải Phòng"}

# The seed's table of the 114 units (OCR of NQ 1669's list, ~line 4606-4680 of the seed),
# transcribed without diacritics exactly as the seed digest (section 2.3) gives it.
SEED_ROWS: tuple[str, ...] = (
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

# Rows whose folded name matches two units. The OCR lost the grave accent, so the seed alone
# cannot say which is which. A published copy of the official 114-unit list (same order as the
# seed at all 112 other rows) puts Xã Cẩm Giàng before Xã Cẩm Giang, i.e. row 82 = 10903
# (Cẩm Hưng + Ngọc Liên + Lương Điền + part of Phúc Điền) and row 83 = 10888 (TT Cẩm Giang +
# Cẩm Hoàng + Định Sơn). Not checked against the signed NQ 1669 PDF; see README.
SEED_FOLD_COLLISIONS: dict[int, str] = {82: "10903", 83: "10888"}

# Independent transcription of the 63 pre-2025 province codes (the list Circular 07/2016/TT-BCA
# uses for CCCD prefixes), compared against the library so a typo on either side is caught.
OFFICIAL_PROVINCE_CODES: dict[int, str] = {
    1: "Hà Nội", 2: "Hà Giang", 4: "Cao Bằng", 6: "Bắc Kạn", 8: "Tuyên Quang", 10: "Lào Cai",
    11: "Điện Biên", 12: "Lai Châu", 14: "Sơn La", 15: "Yên Bái", 17: "Hòa Bình",
    19: "Thái Nguyên", 20: "Lạng Sơn", 22: "Quảng Ninh", 24: "Bắc Giang", 25: "Phú Thọ",
    26: "Vĩnh Phúc", 27: "Bắc Ninh", 30: "Hải Dương", 31: "Hải Phòng", 33: "Hưng Yên",
    34: "Thái Bình", 35: "Hà Nam", 36: "Nam Định", 37: "Ninh Bình", 38: "Thanh Hóa",
    40: "Nghệ An", 42: "Hà Tĩnh", 44: "Quảng Bình", 45: "Quảng Trị", 46: "Thừa Thiên Huế",
    48: "Đà Nẵng", 49: "Quảng Nam", 51: "Quảng Ngãi", 52: "Bình Định", 54: "Phú Yên",
    56: "Khánh Hòa", 58: "Ninh Thuận", 60: "Bình Thuận", 62: "Kon Tum", 64: "Gia Lai",
    66: "Đắk Lắk", 67: "Đắk Nông", 68: "Lâm Đồng", 70: "Bình Phước", 72: "Tây Ninh",
    74: "Bình Dương", 75: "Đồng Nai", 77: "Bà Rịa - Vũng Tàu", 79: "Hồ Chí Minh",
    80: "Long An", 82: "Tiền Giang", 83: "Bến Tre", 84: "Trà Vinh", 86: "Vĩnh Long",
    87: "Đồng Tháp", 89: "An Giang", 91: "Kiên Giang", 92: "Cần Thơ", 93: "Hậu Giang",
    94: "Sóc Trăng", 95: "Bạc Liêu", 96: "Cà Mau",
}
# The library names code 46 "Thành phố Huế" (its status since 1 Jan 2025); CCCDs carry the
# prefix of Thừa Thiên Huế, the name under which almost all of them were issued.
CCCD_NAME_OVERRIDES: dict[int, str] = {46: "Thừa Thiên Huế"}

NEW_TYPE = {"PHUONG": "phuong", "XA": "xa", "DAC_KHU": "dac_khu"}
OLD_TYPE = {"PHUONG": "phuong", "XA": "xa", "THI_TRAN": "thi_tran"}
TYPE_PREFIXES = ("Thành phố ", "Thị trấn ", "Đặc khu ", "Phường ", "Tỉnh ", "Xã ")

# former_district heuristic: an old unit merged whole (or as the remainder) weighs 1, a part of
# a split unit weighs 0.5; a district is named only if it weighs at least twice all the other
# districts together and also holds the seat (the old unit whose code the new unit took).
# Counting units is only a proxy for area/population, so close calls stay empty.
WHOLE_WEIGHT = 1.0
PART_WEIGHT = 0.5
DOMINANCE = 2.0

# --- tone-mark placement -------------------------------------------------------------------
# Sources mix "Hoà/Thuỷ" (tone on the 2nd vowel) with "Hòa/Thủy" (tone on the 1st). The new
# catalogue and NQ 1669 use the latter, so everything is written that way for consistency.
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_OPEN_RIMES = {("o", "a"), ("o", "e"), ("u", "y")}


def _modern_tone_syllable(syllable: str) -> str:
    """Move the tone of a syllable ending in an open oa/oe/uy rime onto its first vowel.

    Only syllables *ending* in the rime are touched ("Hoàng", "Nguyễn", "Huyện" keep theirs),
    and "qu" + y is skipped because there u belongs to the consonant ("Quý").
    """
    chars = list(unicodedata.normalize("NFD", syllable))
    letters = [i for i, ch in enumerate(chars) if not unicodedata.combining(ch)]
    if len(letters) < 2:
        return syllable
    first, second = letters[-2], letters[-1]
    if (chars[first].lower(), chars[second].lower()) not in _OPEN_RIMES:
        return syllable
    if chars[second].lower() == "y" and len(letters) >= 3 and chars[letters[-3]].lower() == "q":
        return syllable
    first_marks = chars[first + 1 : second]
    second_marks = chars[second + 1 :]
    tones = [m for m in second_marks if m in _TONES]
    if not tones or first_marks:
        return syllable  # already modern, or no tone to move
    rest = [m for m in second_marks if m not in _TONES]
    rebuilt = chars[: first + 1] + tones + [chars[second]] + rest
    return unicodedata.normalize("NFC", "".join(rebuilt))


def modern_tone(text: str) -> str:
    """NFC text with modern tone placement on every syllable (idempotent)."""
    text = unicodedata.normalize("NFC", text)
    return " ".join(_modern_tone_syllable(word) for word in text.split(" "))


def short_name(full_name: str) -> str:
    """'Phường Thủy Nguyên' -> 'Thủy Nguyên'; 'Thành phố Hải Phòng' -> 'Hải Phòng'."""
    for prefix in TYPE_PREFIXES:
        if full_name.startswith(prefix):
            return full_name[len(prefix) :]
    return full_name


# --- reading the libraries -------------------------------------------------------------------
@dataclass(frozen=True)
class OldUnit:
    """One pre-2025 commune-level unit as read from vietnam_provinces.legacy."""

    code: str
    full_name: str
    unit_type: str
    district: str
    province_code: int


def _code(value: Any) -> str:
    """Codes come back as IntEnum/int; the catalogue keeps them as zero-padded 5-digit text."""
    return f"{int(value):05d}"


def load_libraries() -> tuple[list[Any], dict[str, OldUnit], Any, Any, list[Any]]:
    """Import vietnam_provinces lazily: only this script needs it (and Python >= 3.12)."""
    import vietnam_provinces
    from vietnam_provinces import Ward, legacy
    from vietnam_provinces._ward_conversion_2025 import NEW_TO_OLD, OLD_TO_NEW

    if vietnam_provinces.__version__ != "2026.9.0":
        print(f"warning: built against vietnam-provinces 2026.9.0, found "
              f"{vietnam_provinces.__version__}", file=sys.stderr)
    new_wards = [w for w in Ward.iter_all() if int(w.province_code) == HAI_PHONG]
    districts = {
        int(d.code): modern_tone(d.name)
        for d in legacy.District.iter_all()
        if int(d.province_code) in OLD_PROVINCES
    }
    old_units: dict[str, OldUnit] = {}
    for w in legacy.Ward.iter_all():
        if int(w.province_code) not in OLD_PROVINCES:
            continue
        old_units[_code(w.code)] = OldUnit(
            code=_code(w.code),
            full_name=modern_tone(w.name),
            unit_type=OLD_TYPE[w.division_type.name],
            district=districts[int(w.district_code)],
            province_code=int(w.province_code),
        )
    provinces = list(legacy.Province.iter_all())
    return new_wards, old_units, OLD_TO_NEW, NEW_TO_OLD, provinces


# --- building the tables ---------------------------------------------------------------------
def assign_seed_rows(units: dict[str, tuple[str, str]]) -> dict[str, int]:
    """Map unit code -> seed row by ASCII fold, failing loudly on anything unmatched."""
    by_fold: dict[str, list[str]] = defaultdict(list)
    for code, (unit_name, _full) in units.items():
        by_fold[fold(unit_name)].append(code)
    rows: dict[str, int] = {}
    for row, seed_name in enumerate(SEED_ROWS, start=1):
        matches = by_fold.get(fold(seed_name), [])
        if len(matches) == 1:
            code = matches[0]
        elif row in SEED_FOLD_COLLISIONS and SEED_FOLD_COLLISIONS[row] in matches:
            code = SEED_FOLD_COLLISIONS[row]
        else:
            raise SystemExit(f"seed row {row} {seed_name!r}: matches {matches}")
        if code in rows:
            raise SystemExit(f"unit {code} matched twice (rows {rows[code]} and {row})")
        rows[code] = row
    if len(rows) != len(units):
        raise SystemExit(f"only {len(rows)} of {len(units)} units matched a seed row")
    return rows


def former_lineage(
    new_code: str, new_to_old: Any, old_units: dict[str, OldUnit]
) -> tuple[str, str]:
    """(former_district, former_province) by the weighted-dominance rule, '' when unclear."""
    entry = new_to_old.get(int(new_code))
    if entry is None or not entry.old_wards:
        return "", ""
    weights: dict[str, float] = defaultdict(float)
    provinces: set[int] = set()
    for ref in entry.old_wards:
        old = old_units[_code(ref.code)]
        weights[old.district] += PART_WEIGHT if ref.is_partly_merged else WHOLE_WEIGHT
        provinces.add(old.province_code)
    province = SHORT_PROVINCE[provinces.pop()] if len(provinces) == 1 else ""
    top_district, top_weight = max(weights.items(), key=lambda kv: kv[1])
    others = sum(weights.values()) - top_weight
    # A new unit usually inherits the code of the old unit hosting its seat; when that old
    # unit lies in another district than the weighted winner, the lineage is disputed.
    seat = old_units.get(new_code)
    seat_agrees = seat is None or seat.district == top_district
    district = top_district if top_weight >= DOMINANCE * others and seat_agrees else ""
    return district, province


def build_admin_units(
    new_wards: Sequence[Any], old_units: dict[str, OldUnit], new_to_old: Any
) -> list[dict[str, str]]:
    """Rows of admin_units.csv, in seed order."""
    units = {
        _code(w.code): (short_name(modern_tone(w.name)), modern_tone(w.name)) for w in new_wards
    }
    types = {_code(w.code): NEW_TYPE[w.division_type.name] for w in new_wards}
    seed_rows = assign_seed_rows(units)
    rows = []
    for code, (unit_name, full_name) in units.items():
        district, province = former_lineage(code, new_to_old, old_units)
        rows.append(
            {
                "unit_code": code,
                "unit_name": unit_name,
                "unit_type": types[code],
                "unit_full_name": full_name,
                "province_code": str(HAI_PHONG),
                "seed_row": str(seed_rows[code]),
                "former_district": district,
                "former_province": province,
            }
        )
    # Bạch Long Vĩ was a district with no commune-level units, so the ward-level tables do not
    # list it; the special zone is that whole district (one-to-one), hence no guess involved.
    for row in rows:
        if row["unit_code"] == "11948" and not row["former_district"]:
            row["former_district"] = "Huyện Bạch Long Vĩ"
            row["former_province"] = SHORT_PROVINCE[HAI_PHONG]
    rows.sort(key=lambda r: int(r["seed_row"]))
    return rows


def build_crosswalk(old_units: dict[str, OldUnit], old_to_new: Any) -> list[dict[str, str]]:
    """Rows of admin_unit_crosswalk.csv: every old unit, with split ones flagged."""
    rows = []
    for code in sorted(old_units):
        old = old_units[code]
        targets = sorted(_code(t.code) for t in old_to_new[int(code)].new_wards)
        split = len(targets) > 1
        rows.append(
            {
                "old_unit_code": code,
                "old_unit_name": short_name(old.full_name),
                "old_unit_type": old.unit_type,
                "old_district": old.district,
                "old_province": SHORT_PROVINCE[old.province_code],
                "new_unit_code": "" if split else targets[0],
                "split": "true" if split else "false",
                "candidate_unit_codes": ";".join(targets),
            }
        )
    return rows


def build_cccd(provinces: Iterable[Any]) -> list[dict[str, str]]:
    """Rows of cccd_province_prefixes.csv, checked against the independent transcription."""
    from_library = {int(p.code): short_name(modern_tone(p.name)) for p in provinces}
    if set(from_library) != set(OFFICIAL_PROVINCE_CODES):
        raise SystemExit(
            f"province codes differ: library-only "
            f"{set(from_library) - set(OFFICIAL_PROVINCE_CODES)}, "
            f"list-only {set(OFFICIAL_PROVINCE_CODES) - set(from_library)}"
        )
    rows = []
    for code in sorted(from_library):
        name = CCCD_NAME_OVERRIDES.get(code, from_library[code])
        if name != OFFICIAL_PROVINCE_CODES[code]:
            raise SystemExit(f"province {code}: {name!r} != {OFFICIAL_PROVINCE_CODES[code]!r}")
        rows.append({"prefix": f"{code:03d}", "province_name": name})
    return rows


def cross_check_vietnamadminunits(
    vau_data: Path, crosswalk_rows: list[dict[str, str]]
) -> list[str]:
    """Compare our old -> new mapping with vietnamadminunits' offline converter data.

    Its data files are keyed by ASCII-folded names; they are translated to codes through its
    own sqlite catalogue, so the comparison is still code against code.
    """
    con = sqlite3.connect(vau_data / "dataset.db")
    try:
        old_key_to_code = {
            f"{pk}_{dk}_{wk}": code
            for pk, dk, wk, code in con.execute(
                "SELECT provinceKey, districtKey, wardKey, wardCode FROM admin_units_legacy "
                "WHERE provinceCode IN ('30', '31')"
            )
        }
        new_key_to_code = dict(
            con.execute("SELECT wardKey, wardCode FROM admin_units WHERE provinceCode = '31'")
        )
    finally:
        con.close()
    converter = json.loads((vau_data / "converter_2025.json").read_text(encoding="utf-8"))
    whole = converter["DICT_PROVINCE_WARD_NO_DIVIDED"]["thanhphohaiphong"]
    divided = converter["DICT_PROVINCE_WARD_DIVIDED"]["thanhphohaiphong"]
    theirs: dict[str, tuple[str, ...]] = {}
    for new_key, old_keys in whole.items():
        for old_key in old_keys:
            if old_key in old_key_to_code:
                theirs[old_key_to_code[old_key]] = (new_key_to_code[new_key],)
    for old_key, parts in divided.items():
        theirs[old_key_to_code[old_key]] = tuple(
            sorted(new_key_to_code[p["newWardKey"]] for p in parts)
        )
    notes = []
    for row in crosswalk_rows:
        ours = tuple(row["candidate_unit_codes"].split(";"))
        other = theirs.get(row["old_unit_code"])
        if other != ours:
            notes.append(
                f"{row['old_unit_code']} {row['old_unit_name']} ({row['old_district']}): "
                f"vietnam-provinces {ours} vs vietnamadminunits {other}"
            )
    return notes


# --- writing ---------------------------------------------------------------------------------
def render_csv(columns: Sequence[str], rows: Iterable[dict[str, str]]) -> str:
    """UTF-8 text, LF line endings, minimal quoting: stable bytes give clean diffs."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=PACKAGE_DIR)
    parser.add_argument(
        "--vau-data", type=Path, help="vietnamadminunits/data folder to cross-check against"
    )
    parser.add_argument("--check", action="store_true", help="compare with files, write nothing")
    args = parser.parse_args(argv)

    new_wards, old_units, old_to_new, new_to_old, provinces = load_libraries()
    crosswalk_rows = build_crosswalk(old_units, old_to_new)
    outputs = {
        ADMIN_UNITS_FILE: render_csv(
            _ADMIN_UNIT_COLUMNS, build_admin_units(new_wards, old_units, new_to_old)
        ),
        CROSSWALK_FILE: render_csv(_CROSSWALK_COLUMNS, crosswalk_rows),
        CCCD_PREFIXES_FILE: render_csv(_CCCD_COLUMNS, build_cccd(provinces)),
    }
    if args.vau_data:
        for note in cross_check_vietnamadminunits(args.vau_data, crosswalk_rows):
            print(f"cross-check: {note}", file=sys.stderr)

    drift = False
    for name, text in outputs.items():
        path = args.out_dir / name
        if args.check:
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current != text:
                print(f"drift: {path}", file=sys.stderr)
                drift = True
        else:
            path.write_text(text, encoding="utf-8", newline="")
            print(f"wrote {path} ({text.count(chr(10)) - 1} rows)")
    return 1 if drift else 0


if __name__ == "__main__":
    raise SystemExit(main())
