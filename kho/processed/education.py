"""Processed tables of the education database (Cơ sở dữ liệu giáo dục): school and enrolment.

The source is one workbook per school year (``truong_hoc_YYYY.xlsx``, a snapshot on the
opening day, 5 September YYYY), each loaded as one batch with every cell as text. So the
school year comes from ``_source_file`` and both tables are yearly snapshots: a school is
``(school_year, school_code)``, an enrolment row ``(school_year, school_code, grade)``. A school
that merged away is simply absent from the next year (history is kept per year). A workbook
delivered again (a correction) wins survivorship by its delivery time.

Fixed rather than rejected: numbers typed as text ("1.234", "57 "), the level written in words
("Trung học cơ sở"), grades written as a bare number or in lower case, unaccented school names
(restored phrase by phrase where sure: :func:`kho.processed.health.restore_phrases`), a missing
ownership where the name says "tư thục" (private), pre-2025 unit codes (crosswalk).
Rejected: a malformed school code, an unknown level or grade, a missing or malformed pupil
count, or more girls than pupils. Kept with a flag: a missing class count or ownership, an
unaccented name that could not be restored, a unit code that cannot be resolved.

Enrolment rows of a school missing from the school sheet (orphans) are valid here; the
integrated zone sees the missing school.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho.lake import TableRef, Zone
from kho.processed._kit import (  # the shared rule kit
    Check, _assemble, _col, _completeness, _flags, _record_id, _reject, _table,
)
from kho.processed.base import ProcessedTable
from kho.processed.health import restore_phrases
from kho.standardise import fold, has_diacritics, nfc, normalize_codes, resolve_unit_codes
from kho.standardise._arrow import as_array, as_strings, bool_numpy, map_unique, reason_where, valid_mask

__all__ = ["TABLES", "SCHOOL", "ENROLMENT", "clean_schools", "clean_enrolment", "LEVELS", "GRADES"]

DOMAIN = "education"
OWNER = "Sở Giáo dục và Đào tạo (Department of Education and Training)"
SNAPSHOT_DAY = (9, 5)                    # the school year's reference date: 5 September
SCHOOL_YEAR_FILE = r"truong_hoc_(?P<year>[0-9]{4})"
SCHOOL_CODE = r"^(30|31)[1-4][0-9]{5}$"  # province 31/30, level digit, 3-digit unit index, 2-digit number

# REASONS has no codes for counts yet; the money codes state the same rule (a whole,
# non-negative number). Change these lines when kho.standardise.reasons gains COUNT_* codes.
COUNT_MALFORMED = "MONEY_MALFORMED"
COUNT_MISSING = "MONEY_MISSING"           # a warning: the row is kept
COUNT_NEGATIVE = "MONEY_NOT_POSITIVE"
COUNT_EXCEEDS_TOTAL = "MONEY_NOT_POSITIVE"     # a part larger than its whole: the remainder is negative

# cấp học -> level (keys are kho.reference.fold of the value).
LEVELS: dict[str, str] = {
    "mam_non": "preschool", "mam non": "preschool",
    "tieu_hoc": "primary", "tieu hoc": "primary",
    "thcs": "lower_secondary", "trung hoc co so": "lower_secondary",
    "thpt": "upper_secondary", "trung hoc pho thong": "upper_secondary",
}
LEVEL_DIGITS = {"1": "preschool", "2": "primary", "3": "lower_secondary", "4": "upper_secondary"}
OWNERSHIP: dict[str, str] = {"cong_lap": "public", "cong lap": "public", "tu_thuc": "private", "tu thuc": "private"}
PRIVATE_IN_NAME = "tu thuc"               # a name saying "tư thục" is a private school's

# khối: canonical grade label, grade number (null before Lớp 1) and level.
GRADES: dict[str, tuple[str, int | None, str]] = {
    "nha tre": ("Nhà trẻ", None, "preschool"),
    "mau giao be": ("Mẫu giáo bé", None, "preschool"),
    "mau giao nho": ("Mẫu giáo nhỡ", None, "preschool"),
    "mau giao lon": ("Mẫu giáo lớn", None, "preschool"),
    **{key: (f"Lớp {k}", k, "primary" if k <= 5 else "lower_secondary" if k <= 9 else "upper_secondary")
       for k in range(1, 13) for key in (f"lop {k}", str(k))},
}


# -- the small rule kit every processed table of this module uses -------------------------------

# -- shared by both sheets ----------------------------------------------------------------------------

def _school_year(table: pa.Table) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(school year int64, snapshot date, PERIOD_INVALID where the file name carries no year)."""
    year = pc.struct_field(pc.extract_regex(as_strings(_col(table, "_source_file")), SCHOOL_YEAR_FILE), "year")
    year = pc.cast(year, pa.int64())
    snapshot = pc.strptime(pc.binary_join_element_wise(as_strings(year), f"{SNAPSHOT_DAY[0]:02d}{SNAPSHOT_DAY[1]:02d}",
                                                       ""), format="%Y%m%d", unit="s", error_is_null=True)
    return year, snapshot.cast(pa.date32()), reason_where(~valid_mask(year), "PERIOD_INVALID")


def _delivered_at(table: pa.Table) -> pa.Array:
    """When the workbook was delivered (raw ``_ingested_at``): a later delivery of the same year wins."""
    return _col(table, "_ingested_at").cast(pa.timestamp("us", tz="UTC"))


def _counts(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Counts typed as text -> int64 and COUNT_MALFORMED / COUNT_NEGATIVE. "1.234" and "1,234" are
    thousands ("57 " is 57); "12.5" is malformed (a count has no decimals)."""
    arr = as_array(values)
    if pa.types.is_integer(arr.type):
        ints, malformed = arr.cast(pa.int64()), np.zeros(len(arr), dtype=bool)
    else:
        text = pc.utf8_trim_whitespace(as_strings(arr))
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        ok = bool_numpy(pc.match_substring_regex(text, r"^-?[0-9]{1,3}([.,\s][0-9]{3})+$|^-?[0-9]+$"))
        digits = pc.replace_substring_regex(text, r"[.,\s]", "")
        ints = pc.cast(pc.if_else(pa.array(ok), digits, pa.scalar(None, pa.string())), pa.int64())
        malformed = valid_mask(text) & ~ok
    negative = bool_numpy(pc.less(ints, 0))
    return ints, pc.coalesce(reason_where(malformed, COUNT_MALFORMED), reason_where(negative, COUNT_NEGATIVE))


# -- school (trường học) ----------------------------------------------------------------------------

SCHOOL_SCHEMA = pa.schema([
    ("school_year", pa.int64()), ("snapshot_date", pa.date32()),
    ("school_code", pa.string()), ("school_name", pa.string()), ("name_has_diacritics", pa.bool_()),
    ("level", pa.string()), ("ownership", pa.string()),
    ("reported_unit_code", pa.string()), ("commune_code", pa.string()), ("commune_code_source", pa.string()),
    ("delivered_at", pa.timestamp("us", tz="UTC")), ("quality_flags", pa.string()),
])
SCHOOL_DOCS = {
    "school_year": "năm học: the year the school year starts (truong_hoc_YYYY.xlsx: YYYY-YYYY+1)",
    "snapshot_date": "thời điểm số liệu: the workbook's reference date, 5 September of school_year",
    "school_code": "mã trường: 8-digit school code (province 31/30, level digit, unit index, number); a merged "
                   "school gets a new code the next year",
    "school_name": "tên trường: name (NFC); unaccented names restored where sure, else flagged NAME_UNACCENTED",
    "name_has_diacritics": "whether school_name carries Vietnamese diacritics",
    "level": "cấp học: preschool (mầm non) | primary (tiểu học) | lower_secondary (THCS) | upper_secondary (THPT)",
    "ownership": "loại hình: public (công lập) | private (tư thục); when empty, private if the name says "
                 "\"tư thục\", else null (flag CODE_INVALID)",
    "reported_unit_code": "mã đơn vị hành chính: unit code as the workbook writes it",
    "commune_code": "the current (114-unit) commune: reported_unit_code through the crosswalk; null when a split "
                    "or unknown code (flagged)",
    "commune_code_source": "how commune_code was found: current | crosswalk",
    "delivered_at": "when the workbook was ingested (UTC): the latest delivery of a school year wins",
    "quality_flags": "warnings that did not reject the row (reason codes, comma-separated)",
}
SCHOOL_KEY = ("_source_file", "ma_truong")


def clean_schools(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``school`` rows (sheet Truong) -> :data:`SCHOOL_SCHEMA` rows."""
    table = _table(batch)
    n = table.num_rows
    year, snapshot, year_reason = _school_year(table)
    code = nfc(_col(table, "ma_truong"))
    names = restore_phrases(_col(table, "ten_truong"))
    level = normalize_codes(_col(table, "cap_hoc"), LEVELS, pa.string(), empty_is_fault=False)
    from_code = pc.utf8_slice_codeunits(code, 2, 3)
    level_value = pc.coalesce(level.values, map_unique(from_code, LEVEL_DIGITS.get, pa.string()))
    level_reason = pc.coalesce(level.reasons, reason_where(~valid_mask(level_value), "CODE_INVALID"))
    owner = normalize_codes(_col(table, "loai_hinh"), OWNERSHIP, pa.string(), empty_is_fault=False)
    says_private = bool_numpy(pc.match_substring(fold(names.values), PRIVATE_IN_NAME))
    ownership = pc.coalesce(owner.values, pc.if_else(pa.array(says_private), "private", pa.scalar(None, pa.string())))
    empty_owner = ~valid_mask(ownership) & ~valid_mask(owner.reasons)
    units = resolve_unit_codes(_col(table, "ma_dvhc"))
    reason, detail = _reject(n, [
        Check(year_reason, "_source_file", _col(table, "_source_file")),
        Check(reason_where(~bool_numpy(pc.match_substring_regex(code, SCHOOL_CODE)), "CODE_INVALID"), "ma_truong",
              _col(table, "ma_truong")),
        Check(level_reason, "cap_hoc", _col(table, "cap_hoc")),
        Check(owner.reasons, "loai_hinh", _col(table, "loai_hinh")),
    ])
    accented = has_diacritics(names.values)
    values = {"school_year": year, "snapshot_date": snapshot, "school_code": code, "school_name": names.values,
              "name_has_diacritics": accented, "level": level_value, "ownership": ownership,
              "reported_unit_code": nfc(_col(table, "ma_dvhc")), "commune_code": units.codes,
              "commune_code_source": units.how, "delivered_at": _delivered_at(table),
              "quality_flags": _flags(n, names.reasons, reason_where(empty_owner, "CODE_INVALID"), units.reasons)}
    completeness = _completeness(n, [values[c] for c in ("school_name", "level", "ownership", "commune_code")],
                                 [accented])
    return _assemble(SCHOOL_SCHEMA, values, _record_id(table, SCHOOL_KEY), reason, detail, completeness)


# -- enrolment (sĩ số) --------------------------------------------------------------------------------

ENROLMENT_SCHEMA = pa.schema([
    ("school_year", pa.int64()), ("snapshot_date", pa.date32()), ("school_code", pa.string()),
    ("grade", pa.string()), ("grade_number", pa.int64()), ("level", pa.string()),
    ("classes", pa.int64()), ("pupils", pa.int64()), ("girls", pa.int64()),
    ("delivered_at", pa.timestamp("us", tz="UTC")), ("quality_flags", pa.string()),
])
ENROLMENT_DOCS = {
    "school_year": "năm học: the year the school year starts",
    "snapshot_date": "thời điểm số liệu: 5 September of school_year",
    "school_code": "mã trường: school code (joins school on school_year, school_code)",
    "grade": "khối: Nhà trẻ | Mẫu giáo bé | Mẫu giáo nhỡ | Mẫu giáo lớn | Lớp 1 .. Lớp 12 (bare numbers and other "
             "case read)",
    "grade_number": "the grade as a number (1..12); null for preschool groups",
    "level": "cấp học of the grade: preschool | primary | lower_secondary | upper_secondary",
    "classes": "số lớp: classes; null when the workbook leaves it empty (flag MONEY_MISSING)",
    "pupils": "số học sinh: pupils (text such as \"1.234\" read as 1234)",
    "girls": "số học sinh nữ: girls among the pupils",
    "delivered_at": "when the workbook was ingested (UTC): the latest delivery of a school year wins",
    "quality_flags": "warnings that did not reject the row (reason codes, comma-separated)",
}
ENROLMENT_KEY = ("_source_file", "ma_truong", "khoi")


def _grade_part(index: int) -> Callable[[str | None], object]:
    """Lookup of one field of :data:`GRADES` for a folded grade label (None when unknown)."""
    return lambda key: GRADES[key][index] if key in GRADES else None


def clean_enrolment(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``enrolment`` rows (sheet SiSo) -> :data:`ENROLMENT_SCHEMA` rows."""
    table = _table(batch)
    n = table.num_rows
    year, snapshot, year_reason = _school_year(table)
    code = nfc(_col(table, "ma_truong"))
    key = fold(nfc(_col(table, "khoi")))
    grade = map_unique(key, _grade_part(0), pa.string())
    grade_number = map_unique(key, _grade_part(1), pa.int64())
    level = map_unique(key, _grade_part(2), pa.string())
    classes, class_reason = _counts(_col(table, "so_lop"))
    pupils, pupil_reason = _counts(_col(table, "so_hoc_sinh"))
    girls, girl_reason = _counts(_col(table, "so_hoc_sinh_nu"))
    exceeds = reason_where(bool_numpy(pc.greater(girls, pupils)), COUNT_EXCEEDS_TOTAL)
    both = pc.binary_join_element_wise(as_strings(girls).fill_null("?"), as_strings(pupils).fill_null("?"), " > ")
    reason, detail = _reject(n, [
        Check(year_reason, "_source_file", _col(table, "_source_file")),
        Check(reason_where(~bool_numpy(pc.match_substring_regex(code, SCHOOL_CODE)), "CODE_INVALID"), "ma_truong",
              _col(table, "ma_truong")),
        Check(reason_where(~valid_mask(grade), "CODE_INVALID"), "khoi", _col(table, "khoi")),
        Check(pc.coalesce(pupil_reason, reason_where(~valid_mask(pupils), COUNT_MALFORMED)), "so_hoc_sinh",
              _col(table, "so_hoc_sinh")),
        Check(girl_reason, "so_hoc_sinh_nu", _col(table, "so_hoc_sinh_nu")),
        Check(class_reason, "so_lop", _col(table, "so_lop")),
        Check(exceeds, "so_hoc_sinh_nu > so_hoc_sinh", both),
    ])
    values = {"school_year": year, "snapshot_date": snapshot, "school_code": code, "grade": grade,
              "grade_number": grade_number, "level": level, "classes": classes, "pupils": pupils, "girls": girls,
              "delivered_at": _delivered_at(table),
              "quality_flags": _flags(n, reason_where(~valid_mask(classes) & ~valid_mask(class_reason), COUNT_MISSING),
                                      reason_where(~valid_mask(girls) & ~valid_mask(girl_reason), COUNT_MISSING))}
    completeness = _completeness(n, [values[c] for c in ("classes", "pupils", "girls")])
    return _assemble(ENROLMENT_SCHEMA, values, _record_id(table, ENROLMENT_KEY), reason, detail, completeness)


# -- declarations -----------------------------------------------------------------------------------

SCHOOL = ProcessedTable(
    domain=DOMAIN, name="school", raw=TableRef(Zone.RAW, DOMAIN, "school"),
    record_key=SCHOOL_KEY, clean=clean_schools, schema=SCHOOL_SCHEMA,
    business_key=("school_year", "school_code"), source_timestamp="delivered_at",
    description="Schools per school year (yearly snapshot on 5 September): level, ownership and current commune.",
    term_vi="cơ sở giáo dục (trường học)", owner=OWNER, column_docs=SCHOOL_DOCS,
)
ENROLMENT = ProcessedTable(
    domain=DOMAIN, name="enrolment", raw=TableRef(Zone.RAW, DOMAIN, "enrolment"),
    record_key=ENROLMENT_KEY, clean=clean_enrolment, schema=ENROLMENT_SCHEMA,
    business_key=("school_year", "school_code", "grade"), source_timestamp="delivered_at",
    description="Classes, pupils and girls per school, grade and school year.",
    term_vi="sĩ số học sinh", owner=OWNER, column_docs=ENROLMENT_DOCS,
)

TABLES = [SCHOOL, ENROLMENT]
