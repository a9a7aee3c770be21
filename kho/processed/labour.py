"""Labour register and poor households -> processed/labour/{labour_register, poor_household}.

Raw: ``raw/labour/labour_register`` (one append-only batch per quarterly file
``lao_dong_viec_lam_YYYYQn.csv``, ';'-separated) and ``raw/labour/poor_household`` (one per
yearly list ``ho_ngheo_can_ngheo_YYYY.csv``); every column text.

**labour_register**: one row per person per quarter. Business key (``quarter``, ``cccd``):
the registry's natural key ``so_cccd`` holds within one quarterly file, the quarter comes
from the file name. A row repeated in a file, or the same person typed twice (a near
duplicate with the name typed again), merges under it.

* reject: the quarter cannot be read from the file name (PERIOD_INVALID); the person's CCCD
  is missing, malformed or of an unknown province (CCCD_*): the register is a register *of
  CCCDs*, and without one the row can neither be de-duplicated nor linked to a citizen.
* flag: a CCCD whose century/sex digit or birth year disagrees with the row's birth date and
  sex (CCCD_MISMATCH, kept: which side is wrong is unknown); a birth date that is empty or
  only a year (``birth_year`` keeps the year); an unknown sex (after reading it from the
  CCCD); an employment status that is empty and cannot be inferred (only the employed have
  an industry, so an empty status with an industry is ``co_viec``); an employed person's
  industry that is empty or unreadable; an unreadable unemployment-insurance flag; an
  unaccented name; a unit code without a current unit.
* fixed: names, dd/mm/yyyy dates, sex written "nam"/"NU", the industry written "c", "C23"
  (section letter + digits), a VSIC division ("25", "2592") or the section's Vietnamese name
  ("Công nghiệp chế biến, chế tạo"), "Có"/"Không" for 1/0, CCCD separators and lost zeros,
  pre-2025 unit codes.

**poor_household**: one row per household per year, business key (``household_code``,
``year``) = the registry's natural key (``ma_ho``, ``nam``).

* reject: a household code that is not unit code + 7 digits, a year that is neither in
  ``nam`` nor in the file name (CODE_INVALID / PERIOD_INVALID), a poverty type other than
  ``ngheo`` / ``can_ngheo`` (CODE_INVALID): key and meaning of the row.
* flag: the head's CCCD (a linked person: nulled when invalid, flagged also when missing),
  a household size that is empty, zero or negative (nulled, CODE_INVALID: the library has
  no code for a bad count), an unaccented name, a unit that cannot be resolved.
* fixed: "3 người" -> 3; a split pre-2025 unit code decided by the household code, whose
  first five digits are the household's current unit.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

from kho import reference
from kho.lake import TableRef, Zone
from kho.processed.base import ProcessedTable
from kho.processed.civil_status import (MIN_DATE, Verdict, accented_only, as_table, birth_dates_with_year, build,
                                        cccd_check_dates, check_person_cccd, clean_person_names, column, completeness,
                                        regex_group, sex_from_cccd, uncontested_sex)
from kho.reference import fold
from kho.reference.vsic import division_of, vsic_sections
from kho.standardise import normalize_codes, normalize_sex, normalize_yes_no, parse_dates, resolve_unit_codes
from kho.standardise._arrow import as_strings, bool_numpy, map_unique, reason_where, valid_mask

__all__ = ["TABLES", "REGISTER_SCHEMA", "HOUSEHOLD_SCHEMA", "clean_register", "clean_households", "quarters",
           "industry_sections"]

REGISTER_OWNER = "Sở Nội vụ (labour, employment)"
HOUSEHOLD_OWNER = "Sở Y tế (social protection, since 2025)"
REGISTER_FILE = r"lao_dong_viec_lam_(?P<year>[0-9]{4})Q(?P<quarter>[1-4])\.csv$"
HOUSEHOLD_FILE = r"ho_ngheo_can_ngheo_(?P<y>[0-9]{4})\.csv$"
# so_cccd is unique within a quarterly file except for a person typed twice: the record hash
# keeps those two versions apart, so the job's survivorship (not its record step) merges them.
REGISTER_RECORD_KEY = ("_source_file", "so_cccd", "_record_hash")
HOUSEHOLD_RECORD_KEY = ("_source_file", "ma_ho")
# A CCCD fault that leaves no identifier: reject (a mismatch only flags).
REGISTER_CCCD_REJECTS = ("CCCD_MISSING", "CCCD_MALFORMED", "CCCD_BAD_PROVINCE")

EMPLOYED = "co_viec"
EMPLOYMENT_STATUS: dict[str, str] = {
    "co_viec": "employed (có việc làm)",
    "that_nghiep": "unemployed (thất nghiệp)",
    "ngoai_luc_luong": "outside the labour force (ngoài lực lượng lao động)",
}
STATUS_CODES = {**{c: c for c in EMPLOYMENT_STATUS}, **{c.replace("_", " "): c for c in EMPLOYMENT_STATUS}}
POVERTY_TYPES: dict[str, str] = {"ngheo": "poor household (hộ nghèo)",
                                 "can_ngheo": "near-poor household (hộ cận nghèo)"}
POVERTY_CODES = {**{c: c for c in POVERTY_TYPES}, **{c.replace("_", " "): c for c in POVERTY_TYPES},
                 "ho ngheo": "ngheo", "ho can ngheo": "can_ngheo"}
HOUSEHOLD_CODE = r"^[0-9]{12}$"                  # 5-digit unit code + 7 digits
HOUSEHOLD_SIZE = r"^\s*(?P<n>[0-9]+)\s*(?:người|nguoi|ng|nhân khẩu|nhan khau)?\.?\s*$"

REGISTER_SCHEMA = pa.schema([
    ("quarter", pa.date32()), ("cccd", pa.string()), ("full_name", pa.string()), ("birth_date", pa.date32()),
    ("birth_year", pa.int64()), ("sex", pa.string()), ("commune_code", pa.string()),
    ("commune_code_source", pa.string()), ("employment_status", pa.string()), ("industry_section", pa.string()),
    ("unemployment_insured", pa.bool_()), ("quality_flags", pa.string()),
])
HOUSEHOLD_SCHEMA = pa.schema([
    ("year", pa.int64()), ("household_code", pa.string()), ("head_cccd", pa.string()), ("head_name", pa.string()),
    ("poverty_type", pa.string()), ("household_size", pa.int64()), ("commune_code", pa.string()),
    ("commune_code_source", pa.string()), ("quality_flags", pa.string()),
])


# -- shared pieces -------------------------------------------------------------------------------

def quarters(source_files: pa.Array) -> pa.Array:
    """``lao_dong_viec_lam_2026Q1.csv`` -> 2026-01-01, the quarter's first day; null otherwise."""
    quarter = pc.cast(regex_group(source_files, REGISTER_FILE, "quarter"), pa.int64())
    month = pc.add(pc.multiply(pc.subtract(quarter, 1), 3), 1)
    text = pc.binary_join_element_wise(regex_group(source_files, REGISTER_FILE, "year"),
                                       pc.utf8_lpad(pc.cast(month, pa.string()), 2, "0"), "01", "-")
    return parse_dates(text).values


@lru_cache(maxsize=1)
def _section_names() -> dict[str, str]:
    """fold(Vietnamese or English section name) -> section letter (VSIC 2018, kho.reference)."""
    names: dict[str, str] = {}
    for entry in vsic_sections():
        names[fold(entry.name_vi)] = entry.section
        names[fold(entry.name_en)] = entry.section
    return names


def _industry_rule(value: str | None) -> str | None:
    """One written industry -> its VSIC section letter, or None (see industry_sections)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    letters = {e.section for e in vsic_sections()}
    head = text[:1].upper()
    if head in letters and (len(text) == 1 or text[1:].strip().isdigit()):
        return head                                           # "C", "c", "C23": the section letter
    if text.isdigit():
        division = division_of(text)                          # "25", "2592": through the division
        return division.section if division else None
    return _section_names().get(fold(text))                   # the section's name written out


def industry_sections(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``nganh_nghe`` -> (VSIC section letter or null, CODE_INVALID where text gave none).
    Once per distinct value (a few dozen per file)."""
    text = as_strings(values)
    sections = map_unique(text, _industry_rule, pa.string())
    written = bool_numpy(pc.not_equal(pc.utf8_trim_whitespace(text), ""))
    return sections, reason_where(written & ~valid_mask(sections), "CODE_INVALID")


# -- labour register -----------------------------------------------------------------------------

def clean_register(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw quarterly register rows -> REGISTER_SCHEMA rows (see the module doc)."""
    table = as_table(batch)
    verdict = Verdict(table.num_rows)
    quarter = quarters(column(table, "_source_file"))
    verdict.reject_where(~valid_mask(quarter), "PERIOD_INVALID", "_source_file", column(table, "_source_file"),
                         "names no quarter (lao_dong_viec_lam_YYYYQn.csv)")

    birth_date, birth_year, birth_reason = birth_dates_with_year(column(table, "ngay_sinh"), as_of)
    written_sex = normalize_sex(column(table, "gioi_tinh"))
    sex = pc.coalesce(written_sex.values, sex_from_cccd(column(table, "so_cccd")))
    person = check_person_cccd(column(table, "so_cccd"), birth_dates=cccd_check_dates(birth_date, birth_year),
                               sexes=sex)
    no_id = bool_numpy(pc.is_in(person.reasons, value_set=pa.array(REGISTER_CCCD_REJECTS)))
    verdict.reject(pc.if_else(pa.array(no_id), person.reasons, pa.scalar(None, pa.string())), "so_cccd",
                   column(table, "so_cccd"))
    name = clean_person_names(column(table, "ho_ten"), uncontested_sex(written_sex.values, column(table, "so_cccd")))
    units = resolve_unit_codes(column(table, "ma_dvhc"))

    industry, industry_reason = industry_sections(column(table, "nganh_nghe"))
    status = normalize_codes(column(table, "tinh_trang_viec_lam"), STATUS_CODES, pa.string())
    inferred = pc.if_else(pc.and_(pc.is_null(status.values), pc.is_valid(industry)), pa.scalar(EMPLOYED),
                          status.values)
    status_reason = reason_where(~valid_mask(inferred), "CODE_INVALID")
    employed = bool_numpy(pc.equal(inferred, EMPLOYED))
    industry_reason = pc.coalesce(industry_reason, reason_where(employed & ~valid_mask(industry), "CODE_INVALID"))
    insured = normalize_yes_no(column(table, "bao_hiem_that_nghiep"))

    verdict.flag(pc.if_else(pa.array(no_id), pa.scalar(None, pa.string()), person.reasons))
    verdict.flag(name.reasons)
    verdict.flag(birth_reason)
    verdict.flag_where(~valid_mask(sex), "SEX_INVALID")
    verdict.flag(units.reasons)
    verdict.flag(status_reason)
    verdict.flag(industry_reason)
    verdict.flag(insured.reasons)

    columns = {
        "quarter": quarter, "cccd": person.cccd, "full_name": name.values, "birth_date": birth_date,
        "birth_year": birth_year, "sex": sex, "commune_code": units.codes, "commune_code_source": units.how,
        "employment_status": inferred, "industry_section": industry, "unemployment_insured": insured.values,
        "quality_flags": verdict.quality_flags(),
    }
    filled = completeness([accented_only(name), birth_date, sex, units.codes, inferred, insured.values])
    return build(REGISTER_SCHEMA, columns, table, REGISTER_RECORD_KEY, verdict, filled)


# -- poor and near-poor households -----------------------------------------------------------------

def _years(table: pa.Table) -> tuple[pa.Array, pa.Array]:
    """(year from ``nam``, else from the file name; year from the file name) as int64."""
    def year_of(values: pa.Array, pattern: str) -> pa.Array:
        return pc.cast(regex_group(pc.utf8_trim_whitespace(as_strings(values)), pattern, "y"), pa.int64())

    from_file = year_of(column(table, "_source_file"), HOUSEHOLD_FILE)
    return pc.coalesce(year_of(column(table, "nam"), r"^(?P<y>[0-9]{4})$"), from_file), from_file


def _household_units(codes: pa.Array, household_codes: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """ma_dvhc through the crosswalk; where it cannot be mapped (a split pre-2025 unit, an
    unknown code), the household code's first five digits decide when they name a current
    unit that is one of the split unit's successors (or any current unit for an unknown code)."""
    units = resolve_unit_codes(codes)
    prefix = pc.utf8_slice_codeunits(household_codes, 0, 5)
    split = bool_numpy(pc.equal(units.reasons, "ADMIN_UNIT_SPLIT"))
    unknown = bool_numpy(pc.equal(units.reasons, "ADMIN_UNIT_UNKNOWN"))
    current = pa.array(sorted(reference.admin_unit_by_code()), pa.string())
    named = bool_numpy(pc.is_in(prefix, value_set=current))
    pairs = pc.binary_join_element_wise(as_strings(codes).fill_null(""), prefix.fill_null(""), "|")
    successor = bool_numpy(map_unique(pairs, _is_successor, pa.bool_()))
    decide = pa.array(named & ((split & successor) | unknown))
    return (pc.if_else(decide, prefix, units.codes), pc.if_else(decide, pa.scalar("household_code"), units.how),
            pc.if_else(decide, pa.scalar(None, pa.string()), units.reasons))


def _is_successor(pair: str) -> bool:
    """"<pre-2025 code>|<current code>": is the current unit one of the old unit's successors?"""
    old, _, new = pair.partition("|")
    entry = reference.crosswalk().get(old.strip().zfill(5)) if old.strip() else None
    return entry is not None and new in entry.candidate_unit_codes


def household_sizes(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """"3", "3 người" -> 3; empty, zero, negative or other text -> null and CODE_INVALID."""
    size = pc.cast(regex_group(values, HOUSEHOLD_SIZE, "n"), pa.int64())
    good = pc.greater(size, 0).fill_null(False)
    return pc.if_else(good, size, pa.scalar(None, pa.int64())), reason_where(~bool_numpy(good), "CODE_INVALID")


def clean_households(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw yearly list rows -> HOUSEHOLD_SCHEMA rows (see the module doc)."""
    table = as_table(batch)
    verdict = Verdict(table.num_rows)
    household = pc.utf8_trim_whitespace(as_strings(column(table, "ma_ho")))
    bad_code = ~bool_numpy(pc.match_substring_regex(household, HOUSEHOLD_CODE))
    verdict.reject_where(bad_code, "CODE_INVALID", "ma_ho", column(table, "ma_ho"),
                         "is not a household code (unit code + 7 digits)")
    year, file_year = _years(table)
    bad_year = ~bool_numpy(pc.and_(pc.greater_equal(year, MIN_DATE.year), pc.less_equal(year, as_of.year))
                           .fill_null(False))
    verdict.reject_where(bad_year, "PERIOD_INVALID", "nam", column(table, "nam"),
                         "is not a year up to the processing date, and the file name gives none")
    poverty = normalize_codes(column(table, "loai"), POVERTY_CODES, pa.string())
    verdict.reject(poverty.reasons, "loai", column(table, "loai"), f"is not one of {', '.join(POVERTY_TYPES)}")

    head = check_person_cccd(column(table, "so_cccd_chu_ho"))
    name = clean_person_names(column(table, "ho_ten_chu_ho"), sex_from_cccd(head.cccd))
    size, size_reason = household_sizes(column(table, "so_nhan_khau"))
    units, how, unit_reason = _household_units(column(table, "ma_dvhc"), household)
    differs = bool_numpy(pc.not_equal(year, file_year))

    verdict.flag(head.reasons)
    verdict.flag(name.reasons)
    verdict.flag(size_reason)
    verdict.flag(unit_reason)
    verdict.flag_where(differs, "PERIOD_INVALID")

    columns = {
        "year": year, "household_code": pc.if_else(pa.array(bad_code), pa.scalar(None, pa.string()), household),
        "head_cccd": head.cccd, "head_name": name.values, "poverty_type": poverty.values, "household_size": size,
        "commune_code": units, "commune_code_source": how, "quality_flags": verdict.quality_flags(),
    }
    filled = completeness([head.cccd, accented_only(name), size, units])
    return build(HOUSEHOLD_SCHEMA, columns, table, HOUSEHOLD_RECORD_KEY, verdict, filled)


TABLES = [
    ProcessedTable(
        domain="labour", name="labour_register", raw=TableRef(Zone.RAW, "labour", "labour_register"),
        record_key=REGISTER_RECORD_KEY, clean=clean_register, schema=REGISTER_SCHEMA,
        business_key=("quarter", "cccd"), source_timestamp=None, partition_by=("quarter",),
        description="Labour-supply register: everyone aged 15+ with employment status, one row per CCCD per quarter",
        term_vi="thông tin cung lao động (lao động, việc làm)", owner=REGISTER_OWNER,
        pii_columns=("cccd", "full_name", "birth_date", "birth_year"),
        column_docs={
            "quarter": "first day of the survey quarter, from the file name lao_dong_viec_lam_YYYYQn.csv (quý)",
            "cccd": "the person's CCCD (số CCCD); kept and flagged CCCD_MISMATCH when it disagrees with "
                    "birth_date/sex",
            "full_name": "full name, standardised, diacritics restored where certain (họ tên)",
            "birth_date": "birth date; null (flagged) when empty or only a year (ngày sinh)",
            "birth_year": "birth year, also where the register gives only the year (năm sinh)",
            "sex": "M / F (giới tính); from the CCCD where the register's value is missing or invalid",
            "commune_code": "current commune-level unit code through the crosswalk (mã đơn vị hành chính)",
            "commune_code_source": "'current' (as written) or 'crosswalk' (a pre-2025 code)",
            "employment_status": "; ".join(f"{k} = {v}" for k, v in EMPLOYMENT_STATUS.items())
                                 + " (tình trạng việc làm); co_viec where empty but an industry is given",
            "industry_section": "VSIC 2018 section letter A-U of the employed (ngành nghề)",
            "unemployment_insured": "has unemployment insurance (bảo hiểm thất nghiệp)",
            "quality_flags": "warning codes (kho.standardise.reasons) of a row that was kept, distinct, sorted, "
                             "comma-separated",
        },
    ),
    ProcessedTable(
        domain="labour", name="poor_household", raw=TableRef(Zone.RAW, "labour", "poor_household"),
        record_key=HOUSEHOLD_RECORD_KEY, clean=clean_households, schema=HOUSEHOLD_SCHEMA,
        business_key=("household_code", "year"), source_timestamp=None,
        description="Poor and near-poor households of the year-end review, one row per household per year",
        term_vi="hộ nghèo, hộ cận nghèo", owner=HOUSEHOLD_OWNER,
        pii_columns=("household_code", "head_cccd", "head_name"),
        column_docs={
            "year": "year of the review (năm), from nam or else the file name ho_ngheo_can_ngheo_YYYY.csv",
            "household_code": "household code: unit code + 7 digits (mã hộ)",
            "head_cccd": "household head's CCCD; null (flagged) when invalid (số CCCD chủ hộ)",
            "head_name": "household head's full name, standardised (họ tên chủ hộ)",
            "poverty_type": "; ".join(f"{k} = {v}" for k, v in POVERTY_TYPES.items()) + " (loại)",
            "household_size": "number of members (số nhân khẩu); null (flagged) when empty, zero or negative",
            "commune_code": "current commune-level unit code (mã đơn vị hành chính); a split pre-2025 code is "
                            "decided by household_code",
            "commune_code_source": "'current', 'crosswalk' or 'household_code' (decided by the household code)",
            "quality_flags": "warning codes (kho.standardise.reasons) of a row that was kept, distinct, sorted, "
                             "comma-separated",
        },
    ),
]
