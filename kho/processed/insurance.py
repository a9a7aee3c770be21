"""Social and health insurance participants (BHXH, BHYT) -> processed/insurance/insurance_participant.

Raw: ``raw/insurance/insurance_participant``, one append-only batch per monthly extract
``bhxh_tham_gia_YYYYMM.csv`` (every column text). From the 2026-05 extract ``ma_dvhc`` is
named ``ma_xa`` (the registry records ``ma_dvhc`` as its alias, so raw holds ``ma_xa`` for
every extract) and ``so_dien_thoai`` is appended (null in raw for earlier extracts).

One processed row per participant per extract: business key (``extract_month``,
``social_insurance_code``), the month read from ``_source_file``. A row repeated within an
extract merges there. A second BHXH code issued to the same person is *not* merged here:
both codes are real in BHXH's own database; the integrated zone links them through the CCCD.

What rejects and what flags:

* **reject**: the extract month cannot be read from the file name (PERIOD_INVALID); the BHXH
  code is not 10 digits (CODE_INVALID: it is the table's key, and a cut code may be another
  person's); an unknown participant category (CODE_INVALID: a row is a participation in one
  scheme); an unreadable or reversed participation period ``tu_thang`` / ``den_thang``
  (PERIOD_INVALID; an empty ``den_thang`` is an open-ended period, not a fault).
* **flag** (``quality_flags``), the participation stays counted: the participant's CCCD
  (the key is the BHXH code, so an invalid CCCD is nulled and flagged, a CCCD whose century
  digit or birth year disagrees with the birth date is kept and flagged CCCD_MISMATCH), a
  birth date that is missing or only a year (``birth_year`` keeps the year), an unaccented
  name, an employer tax code that is missing for an employee or fails its check digit
  (nulled), a contribution base that is missing or not a whole positive amount (nulled), a
  unit code that cannot be mapped to a current unit (nulled: no address to decide a split
  unit), a phone number that is malformed (nulled) or has an unallocated prefix (kept).

Fixed: names (NFC, case, spacing, diacritics restored where certain), "dd/mm/yyyy" and the
other date forms, "5.310.000" wages, CCCDs with separators or a lost leading zero, pre-2025
unit codes through the crosswalk, phone numbers to the national form.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from kho.lake import TableRef, Zone
from kho.processed.base import ProcessedTable
from kho.processed.civil_status import (MIN_DATE, Verdict, accented_only, as_table, birth_dates_with_year, build,
                                        cccd_check_dates, check_person_cccd, clean_person_names, column, completeness,
                                        regex_group, sex_from_cccd)
from kho.standardise import (check_tax_codes, normalize_codes, normalize_phones, parse_periods,
                             parse_vnd, resolve_unit_codes)
from kho.standardise._arrow import bool_numpy, reason_where, valid_mask

__all__ = ["TABLES", "SCHEMA", "CATEGORIES", "clean_participants", "extract_months"]

OWNER = "Bảo hiểm xã hội thành phố Hải Phòng (Vietnam Social Security, city office)"
RECORD_KEY = ("_source_file", "ma_so_bhxh")      # ma_so_bhxh is unique within one extract
EXTRACT_FILE = r"bhxh_tham_gia_(?P<year>[0-9]{4})(?P<month>[0-9]{2})\.csv$"
BHXH_CODE = r"^[0-9]{10}$"

# loai_doi_tuong: the participant categories of the BHXH extract (docs/sources.md §2.3).
CATEGORIES: dict[str, str] = {
    "bat_buoc": "compulsory, through an employer",
    "tu_nguyen": "voluntary social insurance",
    "ho_gia_dinh": "household health insurance",
    "ngan_sach_dong": "paid by the state budget (children under 6, poor and near-poor households, 75+)",
    "hoc_sinh_sinh_vien": "pupils and students",
    "huu_tri": "pensioners",
}
# The category written with spaces or diacritics ("Bắt buộc") folds to the same key.
CATEGORY_CODES = {**{code: code for code in CATEGORIES}, **{code.replace("_", " "): code for code in CATEGORIES}}
EMPLOYEE_CATEGORY = "bat_buoc"                    # the only category with an employer (ma_don_vi)

SCHEMA = pa.schema([
    ("extract_month", pa.date32()), ("social_insurance_code", pa.string()), ("cccd", pa.string()),
    ("full_name", pa.string()), ("birth_date", pa.date32()), ("birth_year", pa.int64()), ("sex", pa.string()),
    ("category", pa.string()), ("employer_tax_code", pa.string()), ("contribution_base_vnd", pa.int64()),
    ("period_start", pa.date32()), ("period_end", pa.date32()), ("commune_code", pa.string()),
    ("commune_code_source", pa.string()), ("phone", pa.string()), ("quality_flags", pa.string()),
])


def extract_months(source_files: pa.Array) -> pa.Array:
    """``bhxh_tham_gia_202605.csv`` -> 2026-05-01 (date32); null when the name does not say."""
    text = pc.binary_join_element_wise(regex_group(source_files, EXTRACT_FILE, "year"),
                                       regex_group(source_files, EXTRACT_FILE, "month"), "-")
    return parse_periods(text).values


def clean_participants(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw extract rows -> SCHEMA rows (see the module doc for what rejects)."""
    table = as_table(batch)
    verdict = Verdict(table.num_rows)

    month = extract_months(column(table, "_source_file"))
    verdict.reject_where(~valid_mask(month), "PERIOD_INVALID", "_source_file", column(table, "_source_file"),
                         "names no extract month (bhxh_tham_gia_YYYYMM.csv)")
    code = pc.utf8_trim_whitespace(column(table, "ma_so_bhxh").cast(pa.string()))
    bad_code = ~bool_numpy(pc.match_substring_regex(code, BHXH_CODE))
    verdict.reject_where(bad_code, "CODE_INVALID", "ma_so_bhxh", column(table, "ma_so_bhxh"),
                         "is not a 10-digit social-insurance code")
    category = normalize_codes(column(table, "loai_doi_tuong"), CATEGORY_CODES, pa.string())
    verdict.reject(category.reasons, "loai_doi_tuong", column(table, "loai_doi_tuong"),
                   f"is not one of {', '.join(CATEGORIES)}")
    start = parse_periods(column(table, "tu_thang"), min_date=MIN_DATE)
    start_reason = pc.coalesce(start.reasons, reason_where(~valid_mask(start.values), "PERIOD_INVALID"))
    verdict.reject(start_reason, "tu_thang", column(table, "tu_thang"), "is not a month MM/YYYY")
    end = parse_periods(column(table, "den_thang"), min_date=MIN_DATE)
    reversed_ = bool_numpy(pc.less(end.values, start.values))
    verdict.reject(pc.coalesce(end.reasons, reason_where(reversed_, "PERIOD_INVALID")), "den_thang",
                   column(table, "den_thang"), "is not a month MM/YYYY on or after tu_thang")

    birth_date, birth_year, birth_reason = birth_dates_with_year(column(table, "ngay_sinh"), as_of)
    person = check_person_cccd(column(table, "so_cccd"), birth_dates=cccd_check_dates(birth_date, birth_year))
    sex = sex_from_cccd(person.cccd)
    name = clean_person_names(column(table, "ho_ten"), sex)
    employer = check_tax_codes(column(table, "ma_don_vi"))
    employee = bool_numpy(pc.equal(category.values, EMPLOYEE_CATEGORY))
    employer_reason = pc.coalesce(employer.reasons, reason_where(employee & ~valid_mask(employer.values),
                                                                 "TAX_CODE_MISSING"))
    employer_code = pc.if_else(pc.is_null(employer.reasons), employer.values, pa.scalar(None, pa.string()))
    wage = parse_vnd(column(table, "muc_luong_dong"), positive=True, required=True)
    units = resolve_unit_codes(column(table, "ma_xa", "ma_dvhc"))
    phone = normalize_phones(column(table, "so_dien_thoai"))
    phone_value = pc.if_else(pc.equal(phone.reasons, "PHONE_MALFORMED").fill_null(False),
                             pa.scalar(None, pa.string()), phone.values)

    verdict.flag(person.reasons)
    verdict.flag(birth_reason)
    verdict.flag(name.reasons)
    verdict.flag(employer_reason)
    verdict.flag(wage.reasons)
    verdict.flag(units.reasons)
    verdict.flag(phone.reasons)

    columns = {
        "extract_month": month, "social_insurance_code": pc.if_else(pa.array(bad_code), pa.scalar(None, pa.string()),
                                                                    code),
        "cccd": person.cccd, "full_name": name.values, "birth_date": birth_date, "birth_year": birth_year,
        "sex": sex, "category": category.values, "employer_tax_code": employer_code,
        "contribution_base_vnd": wage.values, "period_start": start.values, "period_end": end.values,
        "commune_code": units.codes, "commune_code_source": units.how, "phone": phone_value,
        "quality_flags": verdict.quality_flags(),
    }
    filled = completeness([person.cccd, accented_only(name), birth_date, wage.values, units.codes, phone_value])
    return build(SCHEMA, columns, table, RECORD_KEY, verdict, filled)


TABLES = [
    ProcessedTable(
        domain="insurance", name="insurance_participant",
        raw=TableRef(Zone.RAW, "insurance", "insurance_participant"), record_key=RECORD_KEY,
        clean=clean_participants, schema=SCHEMA, business_key=("extract_month", "social_insurance_code"),
        source_timestamp=None, partition_by=("extract_month",),
        description="Social and health insurance participants, one row per BHXH code per monthly extract, cleaned",
        term_vi="người tham gia bảo hiểm xã hội, bảo hiểm y tế", owner=OWNER,
        pii_columns=("social_insurance_code", "cccd", "full_name", "birth_date", "birth_year", "phone"),
        column_docs={
            "extract_month": "first day of the extract's month, from the file name bhxh_tham_gia_YYYYMM.csv "
                             "(kỳ trích xuất)",
            "social_insurance_code": "10-digit social-insurance code (mã số bảo hiểm xã hội)",
            "cccd": "participant's CCCD; null when invalid, kept and flagged CCCD_MISMATCH when it disagrees "
                    "with birth_date (số CCCD)",
            "full_name": "full name, standardised, diacritics restored where certain (họ tên)",
            "birth_date": "birth date; null (flagged) when missing, impossible or only a year (ngày sinh)",
            "birth_year": "birth year, also where the extract gives only the year (năm sinh)",
            "sex": "M / F read from the CCCD's century/sex digit (the extract has no sex field)",
            "category": "participant category: " + "; ".join(f"{k} = {v}" for k, v in CATEGORIES.items())
                        + " (loại đối tượng)",
            "employer_tax_code": "employer's enterprise/tax code for bat_buoc; null otherwise or when invalid "
                                 "(mã đơn vị)",
            "contribution_base_vnd": "monthly contribution base in VND; null (flagged) when unreadable "
                                     "(mức lương đóng)",
            "period_start": "first month of the current participation period (từ tháng)",
            "period_end": "last month of the period; null when open-ended (đến tháng)",
            "commune_code": "current commune-level unit code through the crosswalk; null (flagged) when a split "
                            "pre-2025 unit cannot be decided (mã xã, earlier mã đơn vị hành chính)",
            "commune_code_source": "'current' (as written) or 'crosswalk' (a pre-2025 code)",
            "phone": "phone number in national form (0xxxxxxxxx mobile, 02xxxxxxxxx landline), extracts from "
                     "2026-05 on; null (flagged) when malformed (số điện thoại)",
            "quality_flags": "warning codes (kho.standardise.reasons) of a row that was kept, distinct, sorted, "
                             "comma-separated",
        },
    ),
]
