"""Processed tables of the health database (Cơ sở dữ liệu y tế): facility, visit report, visit sample.

* ``health_facility`` (co_so_kham_chua_benh) is re-read whole every day and has no primary key
  (the register holds duplicates): a facility is its 5-digit BHYT code. Facility names typed
  without diacritics are restored word by word (:class:`NameRestorer`) where the unit catalogue
  or the batch's accented names leave exactly one spelling, else flagged; a pre-2025
  unit code goes through the crosswalk, and a split one is decided by the commune a station's
  name carries ("Trạm Y tế Phường Lê Chân").
* ``visit_report`` (luot_kham) is one row per facility, month and insurance status; a
  corrected re-submission arrives as a new row with a later report date, so the report date
  is the survivorship timestamp. A month written MM/YYYY is read; a negative count, or more
  admissions than visits, is quarantined (nobody can tell which number is wrong).
* ``visit_sample`` (luot_kham_chi_tiet) is a 2 % sample of individual visits linked to
  citizens by CCCD. ICD-10 codes typed loosely ("j069", "J06,9", " J06.9", "J06.9;I10") are
  normalised, extra codes kept apart; a visit without a valid CCCD, or without a diagnosis, is
  quarantined: the sample exists to link diagnoses to people. The CCCD's century and birth-year
  digits are checked against the stored birth date (the sex comes from the same digit, so the
  check needs no sex column). The diagnosis is sensitive personal data (Decree 13/2023).

Orphan reports (facilities closed and hard-deleted from the register) are valid reports here;
the integrated zone sees that their facility has gone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho import reference
from kho.lake import TableRef, Zone
from kho.processed._kit import (  # the shared rule kit
    Check, _assemble, _codes, _col, _completeness, _flags, _record_id, _reject, _table,
)
from kho.processed.base import ProcessedTable
from kho.reference import fold
from kho.standardise import (Cleaned, check_cccd, has_diacritics, nfc, normalize_codes, parse_periods,
                             resolve_unit_codes)
from kho.standardise._arrow import (as_array, as_strings, bool_numpy, map_unique_many, reason_where,
                                    replace_rows, valid_mask)
from kho.standardise.text import has_diacritics_scalar

__all__ = ["TABLES", "HEALTH_FACILITY", "VISIT_REPORT", "VISIT_SAMPLE", "clean_facilities", "clean_visit_reports",
           "clean_visit_samples", "PhraseDictionary", "NameRestorer", "restore_phrases", "normalize_icd10"]

DOMAIN = "health"
OWNER = "Sở Y tế (Department of Health)"
EARLIEST_DATE = date(2000, 1, 1)
EARLIEST_BIRTH = date(1900, 1, 1)

# REASONS has no codes for counts yet; the money codes state the same rule (a whole,
# non-negative number). Change these three lines when kho.standardise.reasons gains COUNT_* codes.
COUNT_MALFORMED = "MONEY_MALFORMED"
COUNT_NEGATIVE = "MONEY_NOT_POSITIVE"
COUNT_EXCEEDS_TOTAL = "MONEY_NOT_POSITIVE"     # a part larger than its whole: the remainder is negative


def _code_table(mapping: dict[str, str]) -> dict[str, str]:
    """``mapping`` plus each key with spaces for underscores (keys are kho.reference.fold'ed)."""
    return {**mapping, **{key.replace("_", " "): value for key, value in mapping.items()}}


FACILITY_LEVELS = _code_table({"thanh_pho": "city", "khu_vuc": "regional", "xa": "commune"})
FACILITY_TYPES = _code_table({"benh_vien": "hospital", "trung_tam_y_te": "medical_centre",
                              "tram_y_te": "health_station", "phong_kham": "clinic"})
FACILITY_CODE = r"^[0-9]{5}$"               # 2-digit province (31 / 30) + 3-digit serial
ICD10_CODE = r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$"
# A station's name carries its commune: the part from the unit type word on.
UNIT_IN_NAME = r"(?P<unit>(?:Phường|Xã|Đặc khu|Thị trấn) .+)$"


# -- the small rule kit every processed table of this module uses -------------------------------

def _shape(values: pa.Array, pattern: str) -> pa.Array:
    """CODE_INVALID where a code is empty or does not match ``pattern``."""
    return reason_where(~bool_numpy(pc.match_substring_regex(values, pattern)), "CODE_INVALID")


def _days(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _date_reasons(values: pa.Array, low: date, high: date, *, required: bool) -> pa.Array:
    """DATE_MISSING (when required) / DATE_OUT_OF_RANGE for a date32 column."""
    days = values.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
    present = valid_mask(values)
    out = present & ((days < _days(low)) | (days > _days(high)))
    return pc.coalesce(reason_where(~present & required, "DATE_MISSING"), reason_where(out, "DATE_OUT_OF_RANGE"))


# -- diacritics of institution names, phrase by phrase -----------------------------------------------

def _with_case(spelled: str, source: str) -> str:
    """The dictionary spelling (lower case) in the case the source typed, letter by letter."""
    if len(spelled) != len(source):
        return spelled
    return "".join(c.upper() if s.isupper() else c for c, s in zip(spelled, source))


@dataclass(frozen=True)
class PhraseDictionary:
    """Folded word sequences -> their accented spellings (lower case), learnt from accented texts.

    Texts without any diacritics never teach a spelling, so an unaccented name cannot confirm
    itself.
    """

    spellings: dict[tuple[str, ...], frozenset[tuple[str, ...]]]
    longest: int

    @classmethod
    def from_texts(cls, texts: Iterable[str | None], max_words: int = 4) -> PhraseDictionary:
        table: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
        for text in texts:
            if not text or not has_diacritics_scalar(text):
                continue
            words = text.lower().split()
            keys = [fold(w) for w in words]
            for size in range(1, max_words + 1):
                for i in range(len(words) - size + 1):
                    table[tuple(keys[i:i + size])].add(tuple(words[i:i + size]))
        return cls({k: frozenset(v) for k, v in table.items()}, max_words)

    def covering(self, keys: list[str], min_words: int = 1) -> Iterable[tuple[int, int, frozenset[tuple[str, ...]]]]:
        """(start, size, spellings) of every known phrase of ``keys`` with at least ``min_words``."""
        for i in range(len(keys)):
            for size in range(min_words, min(self.longest, len(keys) - i) + 1):
                spellings = self.spellings.get(tuple(keys[i:i + size]))
                if spellings is not None:
                    yield i, size, spellings


@dataclass(frozen=True)
class NameRestorer:
    """Restores institution names typed without diacritics, word by word, only where sure.

    Institution names ("Trạm Y tế Phường Lê Chân", "Trường Mầm non tư thục Hoa Sen") are a
    generic part and a place or proper name. Two sources of spellings, in this order:

    1. ``authority`` (the unit catalogue): for a word inside a catalogue name of two words or
       more, the longest such name decides. If it is spelled two ways there (Xã Cẩm Giang and
       Xã Cẩm Giàng fold alike), the word is unsure: no context tells two places apart.
    2. ``learnt`` (the batch's accented names, plus the catalogue): elsewhere, the phrases
       around the word that have exactly one spelling must agree on it ("Hoa Sen" is sure
       where "Hoa" alone could be Hoa or Hòa; "học Hòa" and "Hoa Sen" disagree).

    A word without a sure spelling stays as typed and the name is reported incomplete.
    """

    authority: PhraseDictionary
    learnt: PhraseDictionary

    def _from_authority(self, keys: list[str]) -> tuple[list[str | None], list[bool]]:
        best = [0] * len(keys)
        spelled: list[set[str]] = [set() for _ in keys]
        for i, size, spellings in self.authority.covering(keys, min_words=2):
            for j in range(i, i + size):
                if size > best[j]:
                    best[j], spelled[j] = size, set()
                if size == best[j]:
                    spelled[j] |= {phrase[j - i] for phrase in spellings}
        decided = [next(iter(words)) if len(words) == 1 else None for words in spelled]
        return decided, [bool(words) for words in spelled]

    def _from_learnt(self, keys: list[str]) -> list[str | None]:
        spelled: list[str | None] = [None] * len(keys)
        conflict = [False] * len(keys)
        for i, size, spellings in self.learnt.covering(keys):
            if len(spellings) != 1:
                continue
            (phrase,) = spellings
            for j, word in enumerate(phrase, start=i):
                conflict[j] = conflict[j] or (spelled[j] is not None and spelled[j] != word)
                spelled[j] = spelled[j] or word
        return [None if bad else word for word, bad in zip(spelled, conflict)]

    def restore(self, text: str) -> tuple[str, bool]:
        """(text with the sure words accented, every word accounted for?)."""
        words = text.split(" ")
        keys = [fold(w) for w in words]
        by_authority, covered = self._from_authority(keys)
        by_learnt = self._from_learnt(keys)
        out: list[str] = []
        complete = True
        for word, known, in_catalogue, guess in zip(words, by_authority, covered, by_learnt):
            sure = known if in_catalogue else guess
            if has_diacritics_scalar(word):
                out.append(word)
            elif sure is not None:
                out.append(_with_case(sure, word))
            else:
                complete = complete and not any(ch.isalpha() for ch in word)
                out.append(word)
        return " ".join(out), complete


@lru_cache(maxsize=1)
def catalogue_phrases() -> PhraseDictionary:
    """Unit names (current and pre-2025, with and without their type word) and former
    districts: the place names institution names carry."""
    types = {"phuong": "Phường", "xa": "Xã", "dac_khu": "Đặc khu", "thi_tran": "Thị trấn"}
    texts: list[str] = ["Hải Phòng", "Hải Dương"]
    for unit in reference.admin_units():
        texts += [unit.unit_name, unit.unit_full_name]
    for entry in reference.crosswalk().values():
        texts += [entry.old_unit_name, f"{types.get(entry.old_unit_type, '')} {entry.old_unit_name}".strip(),
                  entry.old_district]
        for prefix in ("Thành phố ", "Thị xã ", "Huyện ", "Quận "):
            if entry.old_district.startswith(prefix):
                texts.append(entry.old_district[len(prefix):])
    return PhraseDictionary.from_texts(texts)


def _merged(a: PhraseDictionary, b: PhraseDictionary) -> PhraseDictionary:
    table = dict(a.spellings)
    for key, spellings in b.spellings.items():
        table[key] = table.get(key, frozenset()) | spellings
    return PhraseDictionary(table, max(a.longest, b.longest))


def restore_phrases(names: pa.Array, extra: Iterable[str] = ()) -> Cleaned:
    """NFC names; those without diacritics restored (:class:`NameRestorer`) from the unit
    catalogue, the batch's accented names and ``extra`` accented names; NAME_UNACCENTED where
    a word stayed unsure (a warning).

    Python runs once per distinct unaccented name (a few per batch).
    """
    names = nfc(names)
    accented = bool_numpy(has_diacritics(names))
    rows = np.flatnonzero(~accented & valid_mask(names))
    reasons = pa.nulls(len(names), pa.string())
    if len(rows) == 0:
        return Cleaned(names, reasons)
    learnt = PhraseDictionary.from_texts([*pc.unique(names.filter(pa.array(accented))).to_pylist(), *extra])
    restorer = NameRestorer(catalogue_phrases(), _merged(catalogue_phrases(), learnt))

    def rule(name: str | None) -> tuple[str | None, str | None]:
        if name is None:
            return None, None
        restored, complete = restorer.restore(name)
        return restored, None if complete else "NAME_UNACCENTED"

    fixed, why = map_unique_many(names.take(pa.array(rows)), rule, (pa.string(), pa.string()))
    return Cleaned(replace_rows(names, rows, fixed), replace_rows(reasons, rows, why))


# -- health_facility (cơ sở khám chữa bệnh) ----------------------------------------------------------

FACILITY_SCHEMA = pa.schema([
    ("facility_code", pa.string()), ("facility_name", pa.string()), ("name_has_diacritics", pa.bool_()),
    ("level", pa.string()), ("facility_type", pa.string()),
    ("reported_unit_code", pa.string()), ("commune_code", pa.string()), ("commune_code_source", pa.string()),
    ("quality_flags", pa.string()),
])
FACILITY_DOCS = {
    "facility_code": "mã cơ sở khám chữa bệnh: 5-digit BHYT facility code (31 former Hải Phòng / 30 former Hải "
                     "Dương + serial)",
    "facility_name": "tên cơ sở: name (NFC); names typed without diacritics restored where the phrase dictionary "
                     "is sure, else flagged NAME_UNACCENTED",
    "name_has_diacritics": "whether facility_name carries Vietnamese diacritics",
    "level": "tuyến: city (thành phố) | regional (khu vực) | commune (xã)",
    "facility_type": "loại: hospital (bệnh viện) | medical_centre (trung tâm y tế) | health_station (trạm y tế) | "
                     "clinic (phòng khám)",
    "reported_unit_code": "mã đơn vị hành chính: the unit code as the register holds it",
    "commune_code": "the current (114-unit) commune: reported_unit_code through the crosswalk; a split pre-2025 unit "
                    "is decided by the commune in a station's name; null (flagged) when undecidable",
    "commune_code_source": "how commune_code was found: current | crosswalk | address (named in the facility name)",
    "quality_flags": "warnings that did not reject the row (reason codes, comma-separated)",
}
FACILITY_KEY = ("ma_co_so", "_record_hash")   # no primary key: identical rows are one record version


def clean_facilities(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``health_facility`` rows -> :data:`FACILITY_SCHEMA` rows."""
    table = _table(batch)
    n = table.num_rows
    code = nfc(_col(table, "ma_co_so"))
    names = restore_phrases(_col(table, "ten"))
    level, level_reason = _codes(_col(table, "tuyen"), FACILITY_LEVELS)
    kind, kind_reason = _codes(_col(table, "loai"), FACILITY_TYPES)
    named_unit = pc.struct_field(pc.extract_regex(names.values, UNIT_IN_NAME), "unit")
    units = resolve_unit_codes(_col(table, "ma_dvhc"), addresses=named_unit)
    reason, detail = _reject(n, [
        Check(_shape(code, FACILITY_CODE), "ma_co_so", _col(table, "ma_co_so")),
        Check(level_reason, "tuyen", _col(table, "tuyen")),
        Check(kind_reason, "loai", _col(table, "loai")),
    ])
    accented = has_diacritics(names.values)
    values = {"facility_code": code, "facility_name": names.values, "name_has_diacritics": accented,
              "level": level, "facility_type": kind, "reported_unit_code": nfc(_col(table, "ma_dvhc")),
              "commune_code": units.codes, "commune_code_source": units.how,
              "quality_flags": _flags(n, names.reasons, units.reasons)}
    completeness = _completeness(n, [values[c] for c in ("facility_name", "level", "facility_type", "commune_code")],
                                 [accented])
    return _assemble(FACILITY_SCHEMA, values, _record_id(table, FACILITY_KEY), reason, detail, completeness)


# -- visit_report (lượt khám theo tháng) ------------------------------------------------------------

REPORT_SCHEMA = pa.schema([
    ("facility_code", pa.string()), ("month", pa.date32()), ("insured", pa.bool_()),
    ("visits", pa.int64()), ("admissions", pa.int64()), ("report_date", pa.date32()),
    ("quality_flags", pa.string()),
])
REPORT_DOCS = {
    "facility_code": "mã cơ sở: reporting facility (joins health_facility; closed clinics' reports stay)",
    "month": "tháng: the reported month, as its first day (YYYY-MM and MM/YYYY both read)",
    "insured": "có BHYT: visits of insured (true) or uninsured (false) patients",
    "visits": "số lượt khám: visits in the month",
    "admissions": "số lượt điều trị nội trú: of which admitted as in-patients",
    "report_date": "ngày báo cáo: report date; a corrected re-submission has a later one and wins survivorship",
    "quality_flags": "warnings that did not reject the row (reason codes, comma-separated)",
}


def _counts(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Counts (typed, or text such as "1.234") -> int64, and COUNT_MALFORMED / COUNT_NEGATIVE."""
    arr = as_array(values)
    if pa.types.is_integer(arr.type):
        ints = arr.cast(pa.int64())
        malformed = np.zeros(len(arr), dtype=bool)
    else:
        text = pc.utf8_trim_whitespace(as_strings(arr))
        ok = bool_numpy(pc.match_substring_regex(text, r"^-?[0-9]{1,3}([.,][0-9]{3})*$|^-?[0-9]+$"))
        digits = pc.replace_substring_regex(text, r"[.,]", "")
        ints = pc.cast(pc.if_else(pa.array(ok), digits, pa.scalar(None, pa.string())), pa.int64())
        malformed = valid_mask(text) & ~bool_numpy(pc.equal(text, "")) & ~ok
    negative = bool_numpy(pc.less(ints, 0))
    reasons = pc.coalesce(reason_where(malformed, COUNT_MALFORMED), reason_where(negative, COUNT_NEGATIVE))
    return ints, reasons


def clean_visit_reports(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``visit_report`` rows (luot_kham) -> :data:`REPORT_SCHEMA` rows."""
    table = _table(batch)
    n = table.num_rows
    code = nfc(_col(table, "ma_co_so"))
    month = parse_periods(_col(table, "thang"), min_date=EARLIEST_DATE, max_date=as_of)
    month_reason = pc.coalesce(month.reasons, reason_where(~valid_mask(month.values), "PERIOD_INVALID"))
    visits, visit_reason = _counts(_col(table, "so_luot_kham"))
    admissions, admission_reason = _counts(_col(table, "so_luot_dieu_tri_noi_tru"))
    exceeds = reason_where(bool_numpy(pc.greater(admissions, visits)), COUNT_EXCEEDS_TOTAL)
    both = pc.binary_join_element_wise(as_strings(admissions).fill_null("?"), as_strings(visits).fill_null("?"),
                                       " > ")
    insured = _col(table, "co_bhyt")
    if not pa.types.is_boolean(insured.type):
        insured = normalize_codes(insured, {"1": True, "0": False, "true": True, "false": False}, pa.bool_(),
                                  empty_is_fault=False).values
    report_date = _col(table, "ngay_bao_cao")
    report_date = report_date if pa.types.is_date(report_date.type) else pc.cast(report_date, pa.date32())
    reason, detail = _reject(n, [
        Check(_shape(code, FACILITY_CODE), "ma_co_so", _col(table, "ma_co_so")),
        Check(month_reason, "thang", _col(table, "thang")),
        Check(reason_where(~valid_mask(insured), "CODE_INVALID"), "co_bhyt", _col(table, "co_bhyt")),
        Check(pc.coalesce(visit_reason, reason_where(~valid_mask(visits), COUNT_MALFORMED)), "so_luot_kham",
              _col(table, "so_luot_kham")),
        Check(admission_reason, "so_luot_dieu_tri_noi_tru", _col(table, "so_luot_dieu_tri_noi_tru")),
        Check(exceeds, "so_luot_dieu_tri_noi_tru > so_luot_kham", both),
    ])
    values = {"facility_code": code, "month": month.values, "insured": insured, "visits": visits,
              "admissions": admissions, "report_date": report_date,
              "quality_flags": _flags(n, reason_where(~valid_mask(report_date), "DATE_MISSING"))}
    completeness = _completeness(n, [values[c] for c in ("visits", "admissions", "report_date")])
    return _assemble(REPORT_SCHEMA, values, _record_id(table, ("id",)), reason, detail, completeness)


# -- visit_sample (lượt khám chi tiết) --------------------------------------------------------------

SAMPLE_SCHEMA = pa.schema([
    ("facility_code", pa.string()), ("cccd", pa.string()), ("birth_date", pa.date32()),
    ("visit_date", pa.date32()), ("diagnosis_code", pa.string()), ("secondary_diagnosis_codes", pa.string()),
    ("insured", pa.bool_()), ("quality_flags", pa.string()),
])
SAMPLE_DOCS = {
    "facility_code": "mã cơ sở: facility of the visit",
    "cccd": "số CCCD: the patient's citizen ID (validated; century and birth-year digits agree with birth_date); "
            "personal data",
    "birth_date": "ngày sinh: the patient's birth date; personal data",
    "visit_date": "ngày khám: visit date",
    "diagnosis_code": "mã bệnh: principal ICD-10 diagnosis, normalised (upper case, dot after 3 characters); "
                      "sensitive personal data (Decree 13/2023)",
    "secondary_diagnosis_codes": "further ICD-10 codes typed into ma_benh (';'-separated), normalised the same way",
    "insured": "có BHYT: insured visit",
    "quality_flags": "warnings that did not reject the row (reason codes, comma-separated)",
}


def normalize_icd10(values: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(principal code, further codes, CODE_INVALID where the principal is empty or not ICD-10).

    " j069" -> "J06.9", "J06,9" -> "J06.9", "J06.9;I10" -> "J06.9" + "I10". A comma between a
    3-character category and its subcode is a decimal comma; other commas separate codes.
    """
    text = pc.utf8_upper(pc.utf8_trim_whitespace(as_strings(values)))
    text = pc.replace_substring_regex(text, r"([A-Z][0-9]{2}),([0-9A-Z]{1,4})\b", r"\1.\2")
    text = pc.replace_substring_regex(text, r"\s*[;,/]\s*", ";")
    parts = pc.split_pattern(text, ";")
    flat = pc.list_flatten(parts)
    flat = pc.replace_substring_regex(flat, r"^([A-Z][0-9]{2})([0-9A-Z]{1,4})$", r"\1.\2")
    rebuilt = pa.ListArray.from_arrays(parts.offsets, flat, mask=pc.is_null(parts))
    principal = pc.list_element(pc.if_else(pc.greater(pc.list_value_length(rebuilt), 0), rebuilt, None), 0)
    principal = pc.if_else(pc.equal(principal, ""), pa.scalar(None, pa.string()), principal)
    rest = pc.binary_join(pc.list_slice(rebuilt, 1), ";")
    rest = pc.if_else(pc.equal(rest, ""), pa.scalar(None, pa.string()), rest)
    bad_rest = bool_numpy(pc.invert(pc.match_substring_regex(
        rest, r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?(;[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?)*$")))
    bad = ~bool_numpy(pc.match_substring_regex(principal, ICD10_CODE)) | (valid_mask(rest) & bad_rest)
    return principal, rest, reason_where(bad, "CODE_INVALID")


def _dates(values: pa.Array) -> pa.Array:
    arr = as_array(values)
    return arr.cast(pa.date32()) if pa.types.is_date(arr.type) else pc.cast(as_strings(arr), pa.date32())


def clean_visit_samples(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``visit_sample`` rows (luot_kham_chi_tiet) -> :data:`SAMPLE_SCHEMA` rows."""
    table = _table(batch)
    n = table.num_rows
    code = nfc(_col(table, "ma_co_so"))
    birth = _dates(_col(table, "ngay_sinh"))
    visit = _dates(_col(table, "ngay_kham"))
    ids = pc.replace_substring_regex(as_strings(_col(table, "so_cccd")), r"\s+", "")
    plain = check_cccd(ids)
    digit = pc.utf8_slice_codeunits(plain.values, 3, 4)
    usable = pc.and_(pc.is_null(plain.reasons), pc.is_valid(birth))
    female = pc.equal(pc.bit_wise_and(pc.cast(pc.if_else(usable, digit, None), pa.int8()), 1), 1)
    cccd = check_cccd(ids, birth, pc.if_else(female, "F", "M"))
    principal, rest, icd_reason = normalize_icd10(_col(table, "ma_benh"))
    birth_bad = bool_numpy(pc.or_(pc.less(birth, pa.scalar(EARLIEST_BIRTH, pa.date32())),
                                  pc.greater(birth, visit)))
    reason, detail = _reject(n, [
        Check(_shape(code, FACILITY_CODE), "ma_co_so", _col(table, "ma_co_so")),
        Check(_date_reasons(visit, EARLIEST_DATE, as_of, required=True), "ngay_kham", _col(table, "ngay_kham")),
        Check(cccd.reasons, "so_cccd", _col(table, "so_cccd")),
        Check(reason_where(birth_bad, "BIRTH_DATE_INVALID"), "ngay_sinh", _col(table, "ngay_sinh")),
        Check(icd_reason, "ma_benh", _col(table, "ma_benh")),
    ])
    insured = _col(table, "co_bhyt")
    values = {"facility_code": code, "cccd": cccd.values, "birth_date": birth, "visit_date": visit,
              "diagnosis_code": principal, "secondary_diagnosis_codes": rest, "insured": insured,
              "quality_flags": pa.nulls(n, pa.string())}
    completeness = _completeness(n, [values[c] for c in ("cccd", "birth_date", "diagnosis_code", "insured")])
    return _assemble(SAMPLE_SCHEMA, values, _record_id(table, ("id",)), reason, detail, completeness)


# -- declarations ---------------------------------------------------------------------------------------

HEALTH_FACILITY = ProcessedTable(
    domain=DOMAIN, name="health_facility", raw=TableRef(Zone.RAW, DOMAIN, "health_facility"),
    record_key=FACILITY_KEY, clean=clean_facilities, schema=FACILITY_SCHEMA,
    business_key=("facility_code",), source_timestamp=None,
    description="Health facilities (hospitals, regional medical centres, commune stations, private clinics) with "
                "their BHYT code, level and current commune.",
    term_vi="cơ sở khám chữa bệnh", owner=OWNER, column_docs=FACILITY_DOCS,
)
VISIT_REPORT = ProcessedTable(
    domain=DOMAIN, name="visit_report", raw=TableRef(Zone.RAW, DOMAIN, "visit_report"),
    record_key=("id",), clean=clean_visit_reports, schema=REPORT_SCHEMA,
    business_key=("facility_code", "month", "insured"), source_timestamp="report_date",
    description="Monthly visits and admissions per facility and insurance status; the latest report of a month "
                "wins (corrected re-submissions).",
    term_vi="báo cáo lượt khám chữa bệnh theo tháng", owner=OWNER, column_docs=REPORT_DOCS,
)
VISIT_SAMPLE = ProcessedTable(
    domain=DOMAIN, name="visit_sample", raw=TableRef(Zone.RAW, DOMAIN, "visit_sample"),
    record_key=("id",), clean=clean_visit_samples, schema=SAMPLE_SCHEMA,
    business_key=("facility_code", "cccd", "visit_date", "diagnosis_code"), source_timestamp=None,
    description="A 2 % sample of individual visits with the patient's CCCD and ICD-10 diagnosis (sensitive: "
                "aggregate before publishing).",
    term_vi="lượt khám chữa bệnh chi tiết (mẫu)", owner=OWNER,
    pii_columns=("cccd", "birth_date", "diagnosis_code", "secondary_diagnosis_codes"), column_docs=SAMPLE_DOCS,
)

TABLES = [HEALTH_FACILITY, VISIT_REPORT, VISIT_SAMPLE]
