"""Civil-status registers (hộ tịch) -> processed/civil_status/{birth,marriage,death}_registration.

Raw: ``raw/civil_status/{birth,marriage,death}_registration`` (tables ``khai_sinh``, ``ket_hon``,
``khai_tu`` of the Ministry of Justice software; dates and the entry time arrive typed).
One processed row per registration: the business key is the registering commune (current
code, through the crosswalk) plus the registration number ``so_dang_ky`` ("145/2025",
numbered per commune, table and year); survivorship keeps the latest entry time
(``ngay_cap_nhat``), so an exact re-entry or a near duplicate (unaccented, entered again
later) merges into one registration.

What rejects a registration (the row is unusable as a registration) and what only flags it:

* **reject**: no usable business key (registration number not ``<n>/<yyyy>``: CODE_INVALID;
  registering unit unknown or a pre-2025 unit that was split: ADMIN_UNIT_*); no usable event
  or registration date (missing, unparseable, after the processing date, or a registration
  dated before the event it registers: BIRTH_DATE_INVALID / DATE_*).
* **flag** (``quality_flags``, the value nulled where it cannot be trusted): every CCCD. The
  registers are used for event statistics by commune and period, which stay right without
  the people's IDs, so no CCCD rejects a registration, not even the subject's (child,
  deceased, spouses): an invalid one is nulled and flagged, and the integrated zone simply
  cannot link that person. A well-formed CCCD whose century/sex digit or birth year
  disagrees with the record's own birth date and sex is *kept* and flagged CCCD_MISMATCH
  (which of the two is wrong is unknown); one whose sex digit contradicts the person's role
  (a mother's CCCD with a man's digit) is nulled and flagged. Also flagged: a sex that is
  neither in the source nor derivable from the CCCD, names that stay unaccented.

Fixed on the way: NFC, name case and spacing, unaccented names restored where the name
dictionary is sure (kho.standardise.names), sex codes written any way ("nam", "NU", "1"),
a missing or invalid sex of the child from the child's CCCD, CCCDs with separators, a letter
O for a zero or a lost leading zero, pre-2025 unit codes through the crosswalk.

The first half of this module holds the rules every citizen-related source shares
(CCCD repair and checks by role, names, flags, verdicts); :mod:`kho.processed.insurance` and
:mod:`kho.processed.labour` import them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho.lake import TableRef, Zone
from kho.processed.base import ProcessedTable
from kho.standardise import (REASONS, check_cccd, normalize_sex, parse_dates, parse_timestamps, resolve_unit_codes,
                             restore_diacritics, standardize_names)
from kho.standardise._arrow import Cleaned, as_array, as_strings, bool_numpy, map_unique, reason_where, valid_mask
from kho.standardise.text import TONE_PLACEMENT, nfc

__all__ = ["TABLES", "LOCAL_TZ", "KEY_SEPARATOR", "NULL_KEY", "MIN_DATE", "Verdict", "PersonId", "column",
           "as_table", "record_ids", "regex_group", "birth_dates_with_year", "repair_cccd", "sex_from_cccd",
           "check_person_cccd", "cccd_check_dates", "clean_person_names", "fix_closed_syllable_tones",
           "uncontested_sex",
           "local_timestamps", "completeness", "accented_only", "build", "clean_births", "clean_marriages",
           "clean_deaths"]

# =============================================================================================
# Rules shared by the citizen-related sources (civil status, insurance, labour)
# =============================================================================================

LOCAL_TZ = "Asia/Ho_Chi_Minh"      # source systems write Vietnam wall time (see kho.standardise.population)
KEY_SEPARATOR = "\u241f"           # how spark_jobs.processed joins record_key columns into record_id
NULL_KEY = "\u2205"                # ... and how it writes a null key part
MIN_DATE = date(1900, 1, 1)        # no civil event, birth or period of these registers is older
EMPTY_VALUE = "(empty)"            # how an empty source value is named in a reject detail
FLAG_SEPARATOR = ","               # quality_flags: distinct reason codes, sorted, joined by this

# CCCD faults a clerk or a spreadsheet makes that can be undone with certainty: separators
# typed inside the number, a letter O for a zero, and the leading zero a spreadsheet drops
# (every CCCD starts with 0: the province prefixes run 001-096).
CCCD_SEPARATORS = r"[\s.\-_/]"
CCCD_LETTER_O = r"[Oo]"
CCCD_LOST_ZERO = (r"^([1-9][0-9]{10})$", r"0\1")
# Which CCCD faults make the value unusable as an identifier (nulled in processed).
CCCD_UNUSABLE = ("CCCD_MALFORMED", "CCCD_BAD_PROVINCE")


def column(table: pa.Table, name: str, *alternatives: str) -> pa.Array:
    """A raw column as one array; the first of ``alternatives`` present when ``name`` is not
    (a renamed column read under an older name), or nulls when none is (an optional column)."""
    for candidate in (name, *alternatives):
        if candidate in table.column_names:
            return as_array(table[candidate])
    return pa.nulls(table.num_rows, pa.string())


def as_table(batch: pa.Table | pa.RecordBatch) -> pa.Table:
    """One-chunk table (the rules work on contiguous arrays)."""
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    return batch.combine_chunks() if any(c.num_chunks > 1 for c in batch.columns) else batch


def regex_group(values: pa.Array, pattern: str, group: str) -> pa.Array:
    """The named ``group`` of ``pattern`` per row, null where the row does not match (Arrow's
    struct field alone would give the empty string there)."""
    parts = pc.extract_regex(as_strings(values), pattern)
    return pc.if_else(pc.is_valid(parts), parts.field(group), pa.scalar(None, pa.string()))


def record_ids(table: pa.Table, key: Sequence[str]) -> pa.Array:
    """The record identity exactly as spark_jobs.processed builds it from ``record_key``:
    the key columns as text joined by KEY_SEPARATOR, a null part written NULL_KEY."""
    parts = [as_strings(column(table, c)).fill_null(NULL_KEY) for c in key]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, KEY_SEPARATOR)


def _text(values: pa.Array) -> pa.Array:
    """Values as text for a detail sentence; empty and null read EMPTY_VALUE."""
    text = as_strings(values)
    return pc.if_else(pc.equal(pc.utf8_trim_whitespace(text), ""), EMPTY_VALUE, text).fill_null(EMPTY_VALUE)


def _sentences(reasons: pa.Array) -> pa.Array:
    """The REASONS sentence of each code (null where the code is null)."""
    codes = pa.array(list(REASONS), pa.string())
    return pa.array(list(REASONS.values()), pa.string()).take(pc.index_in(reasons, value_set=codes))


class Verdict:
    """Reject reasons in priority order and warnings, for one batch.

    ``reject`` calls are made in priority order: the first code of a row is its reason. The
    detail names the raw column and its value, as the quarantine reader needs it. ``flag``
    collects warnings for ``quality_flags``: the platform's plain reason codes, so a flag
    does not say which of a row's people it is about; a kept CCCD_MISMATCH is always the
    subject's (other people's mismatching numbers are nulled), a nulled CCCD column shows
    which number was dropped.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._rejects: list[tuple[pa.Array, pa.Array]] = []
        self._flags: list[pa.Array] = []

    def reject(self, reasons: pa.Array, raw_column: str, values: pa.Array, text: str | pa.Array | None = None) -> None:
        """Reject where ``reasons`` is set; detail "<raw_column> '<value>' <text>" (text: "is not
        ...") or, without a text, "<raw_column> '<value>': <the code's sentence>"."""
        if not valid_mask(reasons).any():
            return
        if text is None:
            detail = pc.binary_join_element_wise(f"{raw_column} '", _text(values), "': ", _sentences(reasons), "")
        else:
            detail = pc.binary_join_element_wise(f"{raw_column} '", _text(values), "' ", text, "")
        self._rejects.append((reasons, detail))

    def reject_where(self, mask: np.ndarray, code: str, raw_column: str, values: pa.Array,
                     text: str | pa.Array) -> None:
        """Reject the rows of ``mask`` with ``code`` (a rule the library has no function for)."""
        self.reject(reason_where(mask, code), raw_column, values, text)

    def flag(self, reasons: pa.Array) -> None:
        """Warn where ``reasons`` is set (the row is kept)."""
        if valid_mask(reasons).any():
            self._flags.append(reasons)

    def flag_where(self, mask: np.ndarray, code: str) -> None:
        self.flag(reason_where(mask, code))

    def reasons(self) -> tuple[pa.Array, pa.Array]:
        """(_reject_reason, _reject_detail): the first rejecting check of each row."""
        reason = pa.nulls(self.n, pa.string())
        detail = pa.nulls(self.n, pa.string())
        for codes, text in reversed(self._rejects):    # earlier checks overwrite later ones
            hit = pc.is_valid(codes)
            reason = pc.if_else(hit, codes, reason)
            detail = pc.if_else(hit, text, detail)
        return reason, detail

    def quality_flags(self) -> pa.Array:
        """The distinct warning codes of each row, sorted, comma-separated; null when none.

        Joined with fill_null and tidied once per distinct combination: pyarrow 26's
        ``binary_join_element_wise(null_handling='skip')`` drops rows whose inputs are all null.
        """
        if not self._flags:
            return pa.nulls(self.n, pa.string())
        parts = [f.fill_null("") for f in self._flags]
        joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, FLAG_SEPARATOR)
        return map_unique(joined, _distinct_codes, pa.string())


def _distinct_codes(text: str | None) -> str | None:
    codes = sorted({c for c in (text or "").split(FLAG_SEPARATOR) if c})
    return FLAG_SEPARATOR.join(codes) or None


def repair_cccd(values: pa.Array) -> pa.Array:
    """Undo the CCCD faults that have one reading (CCCD_SEPARATORS, a letter O, a lost
    leading zero); values that still are not 12 digits are returned as typed, for
    check_cccd to judge and the detail to show."""
    text = pc.utf8_trim_whitespace(as_strings(values))
    compact = pc.replace_substring_regex(text, CCCD_SEPARATORS, "")
    compact = pc.replace_substring_regex(compact, CCCD_LETTER_O, "0")
    compact = pc.replace_substring_regex(compact, *CCCD_LOST_ZERO)
    repaired = pc.match_substring_regex(compact, r"^[0-9]{12}$")
    return pc.if_else(repaired.fill_null(False), compact, as_strings(values))


def sex_from_cccd(values: pa.Array) -> pa.Array:
    """"M"/"F" from a valid CCCD's century/sex digit (even: man, odd: woman), else null
    (the value repaired first, see repair_cccd)."""
    checked = check_cccd(repair_cccd(values))
    digit = pc.utf8_slice_codeunits(checked.values, 3, 4)
    sex = pc.if_else(pc.is_in(digit, value_set=pa.array(list("13579"))), "F", "M")
    return pc.if_else(pc.is_null(checked.reasons), sex, pa.scalar(None, pa.string()))


class PersonId(NamedTuple):
    """A person's CCCD as processed keeps it (null where unusable) and the reason to flag."""

    cccd: pa.Array
    reasons: pa.Array


def check_person_cccd(values: pa.Array, *, birth_dates: pa.Array | None = None, sexes: pa.Array | None = None,
                      role_sex: str | None = None, expected: bool | np.ndarray = True) -> PersonId:
    """Repair and check one person column of CCCDs.

    ``birth_dates``: the record's own birth date of this person; the century digit and birth
    year are checked against it (the sex digit too when ``sexes`` is given; without it the
    sex read from the number itself is used, so only century and year are compared). Such a
    mismatch keeps the CCCD (which side is wrong is unknown).
    ``role_sex``: "M"/"F" when the role fixes the sex (mother, husband); a contradicting sex
    digit nulls the CCCD: it is someone else's number.
    ``expected``: an empty value is a fault (CCCD_MISSING); False (for all rows, or a per-row
    mask) where the person may legitimately be absent (a father not recorded).
    """
    repaired = repair_cccd(values)
    if birth_dates is not None and sexes is None:
        sexes = sex_from_cccd(repaired)
    checked = check_cccd(repaired, birth_dates, sexes)
    reasons = checked.reasons
    cccd = checked.values
    if role_sex is not None:
        own = sex_from_cccd(cccd)
        wrong_role = bool_numpy(pc.not_equal(own, role_sex)) & ~valid_mask(reasons)
        reasons = pc.coalesce(reasons, reason_where(wrong_role, "CCCD_MISMATCH"))
        unusable = bool_numpy(pc.is_in(reasons, value_set=pa.array(CCCD_UNUSABLE))) | wrong_role
    else:
        unusable = bool_numpy(pc.is_in(reasons, value_set=pa.array(CCCD_UNUSABLE)))
    cccd = pc.if_else(pa.array(unusable), pa.scalar(None, pa.string()), cccd)
    absent_ok = ~np.broadcast_to(np.asarray(expected, dtype=bool), (len(cccd),))
    if absent_ok.any():
        missing = bool_numpy(pc.equal(reasons, "CCCD_MISSING")) & absent_ok
        reasons = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), reasons)
    return PersonId(cccd, reasons)


# A tone mark on the first vowel of "oa", "oe", "uy" is right only at the end of a syllable
# ("Hòa" in the new style); before a final consonant both styles put it on the second vowel
# ("Hoàng", "Huỳnh"), so "Hòang" is a misplaced mark with one correct reading.
_CLOSED_TONES = {new: old for old, new in TONE_PLACEMENT}


@lru_cache(maxsize=1)
def _closed_syllable_rule() -> tuple[re.Pattern[str], dict[str, str]]:
    table: dict[str, str] = {}
    for wrong, right in _CLOSED_TONES.items():
        for w, r in ((wrong, right), (wrong.capitalize(), right.capitalize()), (wrong.upper(), right.upper())):
            table[w] = r
    alternatives = "|".join(sorted(map(re.escape, table), key=len, reverse=True))
    return re.compile(rf"(?<![qQ])({alternatives})(?=[^\W\d_])"), table


def fix_closed_syllable_tones(values: pa.Array) -> pa.Array:
    """"Hòang" -> "Hoàng", "Hủynh" -> "Huỳnh" (once per distinct value); open syllables
    ("Hòa" / "Hoà") are left in whichever style the source wrote."""
    pattern, table = _closed_syllable_rule()

    def rule(text: str | None) -> str | None:
        return None if text is None else pattern.sub(lambda m: table[m.group(1)], text)

    return map_unique(as_strings(values), rule, pa.string())


def clean_person_names(values: pa.Array, sexes: pa.Array | None = None) -> Cleaned:
    """NFC, spacing, syllable case, a misplaced tone mark in a closed syllable, diacritics
    restored where the dictionary is sure (using the sex where known: pass null where the
    record's sex is contested, so the sex cannot pick a spelling); reasons NAME_MISSING or
    NAME_UNACCENTED. Open-syllable tone placement (Hoà / Hòa) is kept as written, as the
    population register keeps it."""
    standard = standardize_names(values)
    restored = restore_diacritics(fix_closed_syllable_tones(standard.values), sexes)
    return Cleaned(restored.values, pc.coalesce(standard.reasons, restored.reasons))


def uncontested_sex(written: pa.Array, cccd: pa.Array) -> pa.Array:
    """The sex to restore a name with: the written sex unless the CCCD's digit contradicts
    it (then null: neither may choose between Dung and Dũng), the CCCD's where none is written."""
    from_id = sex_from_cccd(cccd)
    contested = pc.not_equal(written, from_id).fill_null(False)
    return pc.if_else(contested, pa.scalar(None, pa.string()), pc.coalesce(written, from_id))


def local_timestamps(values: pa.Array) -> Cleaned:
    """Entry/update times -> instants tagged Asia/Ho_Chi_Minh (what spark_jobs.processed's
    mapInArrow reads right; a naive value would be taken as UTC). Typed timestamps from a
    database pass through; text is parsed by kho.standardise.dates."""
    arr = as_array(values)
    target = pa.timestamp("us", tz=LOCAL_TZ)
    if pa.types.is_timestamp(arr.type):
        if arr.type.tz is not None:
            return Cleaned(arr.cast(target), reason_where(~valid_mask(arr), "TIMESTAMP_MISSING"))
        naive = arr.cast(pa.timestamp("us"))
        return Cleaned(pc.assume_timezone(naive, LOCAL_TZ).cast(target),
                       reason_where(~valid_mask(arr), "TIMESTAMP_MISSING"))
    parsed = parse_timestamps(arr)
    return Cleaned(pc.assume_timezone(parsed.values, LOCAL_TZ).cast(target), parsed.reasons)


def birth_dates_with_year(written: pa.Array, as_of: date) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(birth_date, birth_year, reason) of a text birth-date column: a bare year ("1961", a
    fault of several registers) keeps the year; it, an empty or an impossible date are
    BIRTH_DATE_INVALID (for a flag: these tables do not reject on a birth date)."""
    parsed = parse_dates(written, min_date=MIN_DATE, max_date=as_of)
    year_only = pc.cast(regex_group(pc.utf8_trim_whitespace(as_strings(written)), r"^(?P<y>[0-9]{4})$", "y"),
                        pa.int64())
    year = pc.coalesce(pc.year(parsed.values).cast(pa.int64()), year_only)
    in_range = pc.and_(pc.greater_equal(year, MIN_DATE.year), pc.less_equal(year, as_of.year)).fill_null(False)
    year = pc.if_else(in_range, year, pa.scalar(None, pa.int64()))
    bad = pc.is_valid(parsed.reasons)
    reason = pc.if_else(bad, pa.scalar("BIRTH_DATE_INVALID"), pa.scalar(None, pa.string()))
    return pc.if_else(bad, pa.scalar(None, pa.date32()), parsed.values), year, reason


def cccd_check_dates(birth_dates: pa.Array, birth_years: pa.Array) -> pa.Array:
    """The dates to check CCCDs' century digit and birth year against: the birth date, or
    1 January of the birth year where only the year is known (check_cccd reads the year alone)."""
    text = pc.binary_join_element_wise(pc.cast(birth_years, pa.string()), "01-01", "-")
    return pc.coalesce(birth_dates, pc.cast(text, pa.date32()))


def completeness(columns: Sequence[pa.Array]) -> pa.Array:
    """How many of the given columns are set, per row (int32): survivorship's tie-breaker.
    Callers pass a name column nulled where it is still unaccented, so the accented
    spelling of a near duplicate wins a tie."""
    counts = np.zeros(len(columns[0]) if columns else 0, dtype=np.int32)
    for values in columns:
        counts += valid_mask(values).astype(np.int32)
    return pa.array(counts, pa.int32())


def accented_only(names: Cleaned) -> pa.Array:
    """The names where they need nothing more (no reason), null elsewhere: for completeness."""
    return pc.if_else(pc.is_null(names.reasons), names.values, pa.scalar(None, pa.string()))


def days_between(later: pa.Array, earlier: pa.Array) -> pa.Array:
    """``later - earlier`` in whole days (int64), null where either date is null."""
    return pc.subtract(later.cast(pa.int32()).cast(pa.int64()), earlier.cast(pa.int32()).cast(pa.int64()))


def build(schema: pa.Schema, columns: dict[str, pa.Array], table: pa.Table, record_key: Sequence[str],
          verdict: Verdict, filled: pa.Array) -> pa.Table:
    """The rule's output: ``schema`` columns, then record_id, the verdict and _completeness."""
    reason, detail = verdict.reasons()
    arrays = [columns[f.name].cast(f.type) for f in schema]
    arrays += [record_ids(table, record_key), reason, detail, filled]
    out_schema = pa.schema(list(schema) + [("record_id", pa.string()), ("_reject_reason", pa.string()),
                                           ("_reject_detail", pa.string()), ("_completeness", pa.int32())])
    return pa.Table.from_arrays(arrays, schema=out_schema)


# =============================================================================================
# Civil status
# =============================================================================================

OWNER = "Sở Tư pháp (Department of Justice); entries by commune People's Committees"
RECORD_KEY = ("id",)
REGISTRATION_NUMBER = r"^([0-9]+)/([0-9]{4})$"
# Luật Hộ tịch 2014: a birth is registered within 60 days (art. 15), a death within 15 (art. 33).
LEGAL_DEADLINE_DAYS = {"birth": 60, "death": 15}
LATE_BY_A_YEAR = 365
BIRTH_DATE_CODES = {"DATE_MISSING": "BIRTH_DATE_INVALID", "DATE_UNPARSEABLE": "BIRTH_DATE_INVALID",
                    "DATE_OUT_OF_RANGE": "BIRTH_DATE_INVALID"}

_COMMON_DOCS = {
    "registration_number": "registration number <n>/<year>, leading zeros removed (số đăng ký)",
    "commune_code": "registering commune-level unit, current code through the crosswalk (mã đơn vị hành chính "
                    "nơi đăng ký)",
    "commune_code_source": "how commune_code was found: 'current' (as written) or 'crosswalk' (a pre-2025 code)",
    "registration_date": "registration date (ngày đăng ký)",
    "entered_at": "when the clerk entered the record, Vietnam time (ngày cập nhật); survivorship's timestamp",
    "quality_flags": "warning codes (kho.standardise.reasons) of a row that was kept, distinct, sorted, "
                     "comma-separated; a CCCD flagged invalid is null in its column, a CCCD_MISMATCH kept in a "
                     "column is the subject's (child, deceased)",
}


def registration_numbers(values: pa.Array) -> Cleaned:
    """``so_dang_ky`` trimmed, spaces removed, the number without leading zeros ("0145 / 2025"
    -> "145/2025"); CODE_INVALID when it is not <n>/<yyyy>."""
    text = pc.replace_substring_regex(as_strings(values), r"\s+", "")
    text = pc.replace_substring_regex(text, r"^0+([0-9])", r"\1")
    ok = bool_numpy(pc.match_substring_regex(text, REGISTRATION_NUMBER))
    return Cleaned(pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string())), reason_where(~ok, "CODE_INVALID"))


def date_texts(reasons: pa.Array, as_of: date) -> pa.Array:
    """The detail text of each DATE_* reason of a required date column (null elsewhere)."""
    texts = {"DATE_MISSING": "is empty", "DATE_UNPARSEABLE": "is not a date",
             "DATE_OUT_OF_RANGE": f"is not between {MIN_DATE} and the processing date {as_of}"}
    return pa.array(list(texts.values()), pa.string()).take(pc.index_in(reasons, value_set=pa.array(list(texts))))


def _common(table: pa.Table, verdict: Verdict, unit_column: str, as_of: date
            ) -> tuple[Cleaned, pa.Array, pa.Array, Cleaned, Cleaned]:
    """The checks every register shares, in reject order: number, unit, registration date.
    Returns (number, unit codes, how, registration date, entry time)."""
    number = registration_numbers(column(table, "so_dang_ky"))
    verdict.reject(number.reasons, "so_dang_ky", column(table, "so_dang_ky"), "is not <number>/<year>")
    # No record_dates: the registers hold current codes even for pre-reform records (migrated);
    # only an unmigrated record keeps a pre-2025 code, which is never also a current code.
    units = resolve_unit_codes(column(table, unit_column))
    verdict.reject(units.reasons, unit_column, column(table, unit_column))
    registered = parse_dates(column(table, "ngay_dang_ky"), min_date=MIN_DATE, max_date=as_of)
    verdict.reject(registered.reasons, "ngay_dang_ky", column(table, "ngay_dang_ky"),
                   date_texts(registered.reasons, as_of))
    entered = local_timestamps(column(table, "ngay_cap_nhat"))
    return number, units.codes, units.how, registered, entered


def _registered_before(verdict: Verdict, registered: Cleaned, event: pa.Array, event_column: str) -> None:
    """Reject a registration dated before the event it registers (one of the two dates is wrong)."""
    before = bool_numpy(pc.less(registered.values, event))
    verdict.reject_where(before, "DATE_OUT_OF_RANGE", "ngay_dang_ky", registered.values,
                         pc.binary_join_element_wise(f"is before the event date {event_column} '", _text(event), "'",
                                                     ""))


# -- births ------------------------------------------------------------------------------------

BIRTH_SCHEMA = pa.schema([
    ("registration_number", pa.string()), ("commune_code", pa.string()), ("commune_code_source", pa.string()),
    ("child_name", pa.string()), ("child_cccd", pa.string()), ("birth_date", pa.date32()), ("sex", pa.string()),
    ("mother_cccd", pa.string()), ("father_cccd", pa.string()), ("registration_date", pa.date32()),
    ("registration_delay_days", pa.int64()), ("late_registration", pa.bool_()),
    ("entered_at", pa.timestamp("us", tz=LOCAL_TZ)), ("quality_flags", pa.string()),
])


def clean_births(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``khai_sinh`` rows -> BIRTH_SCHEMA rows (see the module doc for what rejects)."""
    table = as_table(batch)
    verdict = Verdict(table.num_rows)
    number, units, how, registered, entered = _common(table, verdict, "ma_dvhc_dang_ky", as_of)
    birth = parse_dates(column(table, "ngay_sinh"), min_date=MIN_DATE, max_date=as_of, reason_codes=BIRTH_DATE_CODES)
    verdict.reject(birth.reasons, "ngay_sinh", column(table, "ngay_sinh"), f"is not a valid date up to {as_of}")
    _registered_before(verdict, registered, birth.values, "ngay_sinh")

    # Sex: as written, else from the child's CCCD (its century/sex digit), else unknown (flag).
    written = normalize_sex(column(table, "gioi_tinh"))
    sex = pc.coalesce(written.values, sex_from_cccd(column(table, "so_dinh_danh_tre")))
    child = check_person_cccd(column(table, "so_dinh_danh_tre"), birth_dates=birth.values, sexes=sex)
    # A registration more than a year late (an adult registering their own birth) often names
    # no parents: a missing mother is a fault only in a registration made in time.
    delay = days_between(registered.values, birth.values)
    late = bool_numpy(pc.greater(delay, LATE_BY_A_YEAR))
    mother = check_person_cccd(column(table, "so_cccd_me"), role_sex="F", expected=~late)
    father = check_person_cccd(column(table, "so_cccd_cha"), role_sex="M", expected=False)
    name = clean_person_names(column(table, "ho_ten_tre"),
                              uncontested_sex(written.values, column(table, "so_dinh_danh_tre")))
    verdict.flag(child.reasons)
    verdict.flag(mother.reasons)
    verdict.flag(father.reasons)
    verdict.flag_where(~valid_mask(sex), "SEX_INVALID")
    verdict.flag(name.reasons)

    columns = {
        "registration_number": number.values, "commune_code": units, "commune_code_source": how,
        "child_name": name.values, "child_cccd": child.cccd, "birth_date": birth.values, "sex": sex,
        "mother_cccd": mother.cccd, "father_cccd": father.cccd, "registration_date": registered.values,
        "registration_delay_days": delay, "late_registration": pc.greater(delay, LEGAL_DEADLINE_DAYS["birth"]),
        "entered_at": entered.values, "quality_flags": verdict.quality_flags(),
    }
    filled = completeness([accented_only(name), child.cccd, sex, mother.cccd, father.cccd, entered.values])
    return build(BIRTH_SCHEMA, columns, table, RECORD_KEY, verdict, filled)


# -- marriages ---------------------------------------------------------------------------------

MARRIAGE_SCHEMA = pa.schema([
    ("registration_number", pa.string()), ("commune_code", pa.string()), ("commune_code_source", pa.string()),
    ("husband_name", pa.string()), ("husband_cccd", pa.string()), ("wife_name", pa.string()),
    ("wife_cccd", pa.string()), ("registration_date", pa.date32()),
    ("entered_at", pa.timestamp("us", tz=LOCAL_TZ)), ("quality_flags", pa.string()),
])


def clean_marriages(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``ket_hon`` rows -> MARRIAGE_SCHEMA rows. A registration dated after the
    processing date (a year typed ten years ahead) is rejected DATE_OUT_OF_RANGE."""
    table = as_table(batch)
    verdict = Verdict(table.num_rows)
    number, units, how, registered, entered = _common(table, verdict, "ma_dvhc", as_of)
    n = table.num_rows
    husband_name = clean_person_names(column(table, "ho_ten_chong"), pa.array(["M"] * n, pa.string()))
    wife_name = clean_person_names(column(table, "ho_ten_vo"), pa.array(["F"] * n, pa.string()))
    husband = check_person_cccd(column(table, "so_cccd_chong"), role_sex="M")
    wife = check_person_cccd(column(table, "so_cccd_vo"), role_sex="F")
    verdict.flag(husband.reasons)
    verdict.flag(wife.reasons)
    verdict.flag(husband_name.reasons)
    verdict.flag(wife_name.reasons)
    columns = {
        "registration_number": number.values, "commune_code": units, "commune_code_source": how,
        "husband_name": husband_name.values, "husband_cccd": husband.cccd, "wife_name": wife_name.values,
        "wife_cccd": wife.cccd, "registration_date": registered.values, "entered_at": entered.values,
        "quality_flags": verdict.quality_flags(),
    }
    filled = completeness([accented_only(husband_name), husband.cccd, accented_only(wife_name), wife.cccd,
                           entered.values])
    return build(MARRIAGE_SCHEMA, columns, table, RECORD_KEY, verdict, filled)


# -- deaths ------------------------------------------------------------------------------------

DEATH_SCHEMA = pa.schema([
    ("registration_number", pa.string()), ("commune_code", pa.string()), ("commune_code_source", pa.string()),
    ("deceased_name", pa.string()), ("deceased_cccd", pa.string()), ("deceased_birth_date", pa.date32()),
    ("sex", pa.string()), ("death_date", pa.date32()), ("registration_date", pa.date32()),
    ("registration_delay_days", pa.int64()), ("late_registration", pa.bool_()), ("cause", pa.string()),
    ("entered_at", pa.timestamp("us", tz=LOCAL_TZ)), ("quality_flags", pa.string()),
])


def clean_deaths(batch: pa.Table | pa.RecordBatch, as_of: date) -> pa.Table:
    """Raw ``khai_tu`` rows -> DEATH_SCHEMA rows. The register has no sex field: ``sex`` is
    read from the deceased's CCCD (null when it is unusable)."""
    table = as_table(batch)
    verdict = Verdict(table.num_rows)
    number, units, how, registered, entered = _common(table, verdict, "ma_dvhc", as_of)
    died = parse_dates(column(table, "ngay_mat"), min_date=MIN_DATE, max_date=as_of)
    verdict.reject(died.reasons, "ngay_mat", column(table, "ngay_mat"), date_texts(died.reasons, as_of))
    _registered_before(verdict, registered, died.values, "ngay_mat")

    born = parse_dates(column(table, "ngay_sinh_nguoi_mat"), min_date=MIN_DATE, max_date=as_of,
                       reason_codes=BIRTH_DATE_CODES)
    after_death = bool_numpy(pc.greater(born.values, died.values))
    birth_reason = pc.coalesce(born.reasons, reason_where(after_death, "BIRTH_DATE_INVALID"))
    birth_date = pc.if_else(pc.is_null(birth_reason), born.values, pa.scalar(None, pa.date32()))
    verdict.flag(birth_reason)
    deceased = check_person_cccd(column(table, "so_cccd_nguoi_mat"), birth_dates=birth_date)
    sex = sex_from_cccd(deceased.cccd)
    name = clean_person_names(column(table, "ho_ten_nguoi_mat"), sex)
    verdict.flag(deceased.reasons)
    verdict.flag(name.reasons)

    delay = days_between(registered.values, died.values)
    columns = {
        "registration_number": number.values, "commune_code": units, "commune_code_source": how,
        "deceased_name": name.values, "deceased_cccd": deceased.cccd, "deceased_birth_date": birth_date,
        "sex": sex, "death_date": died.values, "registration_date": registered.values,
        "registration_delay_days": delay, "late_registration": pc.greater(delay, LEGAL_DEADLINE_DAYS["death"]),
        "cause": nfc(column(table, "nguyen_nhan")), "entered_at": entered.values,
        "quality_flags": verdict.quality_flags(),
    }
    filled = completeness([accented_only(name), deceased.cccd, birth_date, entered.values])
    return build(DEATH_SCHEMA, columns, table, RECORD_KEY, verdict, filled)


# =============================================================================================
# Declarations
# =============================================================================================

TABLES = [
    ProcessedTable(
        domain="civil_status", name="birth_registration",
        raw=TableRef(Zone.RAW, "civil_status", "birth_registration"), record_key=RECORD_KEY,
        clean=clean_births, schema=BIRTH_SCHEMA, business_key=("commune_code", "registration_number"),
        source_timestamp="entered_at",
        description="Birth registrations, one row per registration (registering commune + number), cleaned",
        term_vi="đăng ký khai sinh", owner=OWNER,
        pii_columns=("child_name", "child_cccd", "birth_date", "mother_cccd", "father_cccd"),
        column_docs={
            **_COMMON_DOCS,
            "child_name": "child's full name, standardised, diacritics restored where certain (họ tên trẻ)",
            "child_cccd": "child's personal identification number; null when invalid (số định danh của trẻ)",
            "birth_date": "date of birth (ngày sinh)",
            "sex": "M / F (giới tính); from the child's CCCD where the register's value is missing or invalid",
            "mother_cccd": "mother's CCCD; null when invalid or a man's number, or not recorded (flagged "
                           "CCCD_MISSING unless the registration is over a year late) (số CCCD của mẹ)",
            "father_cccd": "father's CCCD; null when not recorded (~4 %), invalid or a woman's number "
                           "(số CCCD của cha)",
            "registration_delay_days": "registration_date - birth_date in days",
            "late_registration": "registered after the 60 days of Luật Hộ tịch art. 15 (đăng ký khai sinh quá hạn)",
        },
    ),
    ProcessedTable(
        domain="civil_status", name="marriage_registration",
        raw=TableRef(Zone.RAW, "civil_status", "marriage_registration"), record_key=RECORD_KEY,
        clean=clean_marriages, schema=MARRIAGE_SCHEMA, business_key=("commune_code", "registration_number"),
        source_timestamp="entered_at",
        description="Marriage registrations, one row per registration (registering commune + number), cleaned",
        term_vi="đăng ký kết hôn", owner=OWNER,
        pii_columns=("husband_name", "husband_cccd", "wife_name", "wife_cccd"),
        column_docs={
            **_COMMON_DOCS,
            "husband_name": "husband's full name, standardised (họ tên chồng)",
            "husband_cccd": "husband's CCCD; null when invalid or a woman's number (số CCCD của chồng)",
            "wife_name": "wife's full name, standardised (họ tên vợ)",
            "wife_cccd": "wife's CCCD; null when invalid or a man's number (số CCCD của vợ)",
        },
    ),
    ProcessedTable(
        domain="civil_status", name="death_registration",
        raw=TableRef(Zone.RAW, "civil_status", "death_registration"), record_key=RECORD_KEY,
        clean=clean_deaths, schema=DEATH_SCHEMA, business_key=("commune_code", "registration_number"),
        source_timestamp="entered_at",
        description="Death registrations, one row per registration (registering commune + number), cleaned",
        term_vi="đăng ký khai tử", owner=OWNER,
        pii_columns=("deceased_name", "deceased_cccd", "deceased_birth_date"),
        column_docs={
            **_COMMON_DOCS,
            "deceased_name": "full name of the deceased, standardised (họ tên người mất)",
            "deceased_cccd": "CCCD of the deceased; null when invalid, kept and flagged CCCD_MISMATCH when it "
                             "disagrees with deceased_birth_date (số CCCD người mất)",
            "deceased_birth_date": "birth date of the deceased; null (flagged) when invalid or after the death "
                                   "(ngày sinh người mất)",
            "sex": "M / F read from the deceased's CCCD century/sex digit (the register has no sex field)",
            "death_date": "date of death (ngày mất)",
            "registration_delay_days": "registration_date - death_date in days",
            "late_registration": "registered after the 15 days of Luật Hộ tịch art. 33",
            "cause": "cause of death as written, NFC; empty in ~35 % of registrations (nguyên nhân)",
        },
    ),
]
