"""Identifiers, vectorised: CCCD (citizen ID), enterprise tax codes, phone numbers.

* CCCD (Circular 07/2016/TT-BCA): 12 ASCII digits = 3-digit province of birth registration,
  one century/sex digit (0/1 for a man/woman born in the 1900s, 2/3 in the 2000s, ...), the
  last two digits of the birth year, six serial digits. :func:`check_cccd` equals
  ``kho.cleaning.check_cccd`` row by row and reads the digits straight from the bytes.
* Tax codes (mã số doanh nghiệp / mã số thuế): 10 digits whose last is a check digit
  (weights :data:`TAX_WEIGHTS`, ``10 - sum mod 11``; a sum giving 10 is never issued), optionally
  ``-NNN`` for a branch; the rule of ``kho.sources.identifiers.is_valid_tax_code``.
* Phones: Vietnamese numbers to the national form ``0xxxxxxxxx``; prefixes are tables below.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho import reference
from kho.standardise import _utf8
from kho.standardise._arrow import (ArrayLike, Cleaned, as_array, as_strings, bool_numpy, labels, map_unique_many,
                                    replace_rows, valid_mask)

__all__ = ["check_cccd", "check_tax_codes", "normalize_phones", "cccd_digit_expected", "TAX_WEIGHTS",
           "MOBILE_PREFIXES", "OLD_MOBILE_PREFIXES", "LANDLINE_PREFIX", "COUNTRY_CODE"]

# -- CCCD -----------------------------------------------------------------------------------


def cccd_digit_expected(birth_years: np.ndarray, female: np.ndarray) -> np.ndarray:
    """The 4th CCCD digit for a birth year and sex: (century - 19) * 2, plus 1 for a woman."""
    return (birth_years // 100 - 19) * 2 + female.astype(np.int64)


def _province_table() -> np.ndarray:
    table = np.zeros(1000, dtype=bool)
    for prefix in reference.cccd_prefixes():
        if len(prefix) == 3 and prefix.isdigit():
            table[int(prefix)] = True
    return table


def _strip_scalar(value: object) -> tuple[str | None, bool]:
    if value is None:
        return None, False
    text = str(value).strip()
    return (text or None), bool(text)


def check_cccd(cccd: ArrayLike, birth_dates: ArrayLike | None = None, sexes: ArrayLike | None = None) -> Cleaned:
    """Citizen IDs: values stripped (null when empty) and CCCD_MISSING / _MALFORMED /
    _BAD_PROVINCE / _MISMATCH, in that priority.

    The century/sex digit and birth year are compared only where both the birth date
    (``date32``) and the sex ("M"/"F") are known, as in kho.cleaning.
    """
    arr = as_strings(cccd)
    n = len(arr)
    # str(x).strip() only where the first or last byte could be whitespace (rare): exact.
    data, offsets = _utf8.buffers(arr)
    starts, ends = offsets[:-1], offsets[1:]
    nonempty = ends > starts
    edge = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(nonempty)
    if len(idx):
        first, last = data[starts[idx]], data[ends[idx] - 1]
        edge[idx] = (first <= 0x20) | (first >= 0x80) | (last <= 0x20) | (last >= 0x80)
    fix = edge | (~nonempty & valid_mask(arr))          # to strip, or empty -> null
    values = arr
    if fix.any():
        rows = np.flatnonzero(fix)
        stripped, _ = map_unique_many(arr.take(pa.array(rows)), _strip_scalar, (pa.string(), pa.bool_()))
        values = replace_rows(arr, rows, stripped)
        data, offsets = _utf8.buffers(values)
    present = valid_mask(values)
    # 12 ASCII digits (str.isdigit() would also accept '²' or full-width digits: kho.cleaning refuses them)
    well_formed = present & (np.diff(offsets) == 12) & bool_numpy(pc.ascii_is_decimal(values))
    rows = np.flatnonzero(well_formed)
    head = np.zeros((6, n), dtype=np.int16)          # the first six digits: province, century/sex, year
    first6 = _utf8.fixed_width(values, rows, 6)
    for k in range(6):
        head[k, rows] = first6[:, k] - 48
    province_ok = well_formed & _province_table()[head[0] * 100 + head[1] * 10 + head[2]]
    missing = ~present
    malformed = present & ~well_formed
    bad_province = well_formed & ~province_ok
    mismatch = np.zeros(n, dtype=bool)
    if birth_dates is not None and sexes is not None:
        births = as_array(birth_dates)
        if not pa.types.is_date(births.type):
            births = births.cast(pa.date32())
        known_birth = valid_mask(births)
        years = np.zeros(n, dtype=np.int64)
        if known_birth.any():
            years = pc.year(births).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        sex = as_strings(sexes)
        male, female = bool_numpy(pc.equal(sex, "M")), bool_numpy(pc.equal(sex, "F"))
        check = well_formed & province_ok & known_birth & (male | female)
        expected = cccd_digit_expected(years, female)
        yy = head[4] * 10 + head[5]
        mismatch = check & ((head[3] != expected) | (yy != years % 100))
    which = np.select([missing, malformed, bad_province, mismatch], [1, 2, 3, 4], 0)
    return Cleaned(values, labels(which, (None, "CCCD_MISSING", "CCCD_MALFORMED", "CCCD_BAD_PROVINCE",
                                          "CCCD_MISMATCH")))


# -- tax codes --------------------------------------------------------------------------------
TAX_WEIGHTS = np.array([31, 29, 23, 19, 17, 13, 7, 5, 3], dtype=np.int64)
TAX_SEPARATORS = r"[\s.]"        # typed or spreadsheet grouping removed before judging: "0200 123 456"


def check_tax_codes(values: ArrayLike, *, required: bool = False) -> Cleaned:
    """Enterprise/tax codes: grouping spaces and dots removed, a 13-digit branch code without
    its dash written ``NNNNNNNNNN-NNN``; TAX_CODE_MISSING (only when ``required``),
    TAX_CODE_MALFORMED (not 10 digits + optional -NNN, NNN != 000), TAX_CODE_BAD_CHECK
    (wrong check digit, province 00 or sequence 0000000: never issued).

    A lost leading zero (9 digits) or a letter O for a zero is not repaired: the check digit
    cannot confirm such a guess often enough to key an enterprise on it.
    """
    arr = as_strings(values)
    cleaned = pc.replace_substring_regex(arr, TAX_SEPARATORS, "")
    cleaned = pc.replace_substring_regex(cleaned, r"^([0-9]{10})([0-9]{3})$", r"\1-\2")
    cleaned = pc.if_else(pc.equal(cleaned, ""), pa.scalar(None, pa.string()), cleaned)
    n = len(arr)
    present = valid_mask(cleaned)
    shape = bool_numpy(pc.match_substring_regex(cleaned, r"^[0-9]{10}(-[0-9]{3})?$")) & present
    shape &= ~bool_numpy(pc.ends_with(cleaned, "-000"))
    bad_check = np.zeros(n, dtype=bool)
    rows = np.flatnonzero(shape)
    if len(rows):
        b = (_utf8.fixed_width(cleaned, rows, 10) - np.uint8(48)).astype(np.int64)
        check = 10 - (b[:, :9] @ TAX_WEIGHTS) % 11
        issued = (check != 10) & ~((b[:, 0] == 0) & (b[:, 1] == 0)) & (b[:, 2:9].sum(axis=1) != 0)
        bad_check[rows] = ~(issued & (check == b[:, 9]))
    missing = ~present & required
    malformed = present & ~shape
    which = np.select([missing, malformed, bad_check], [1, 2, 3], 0)
    return Cleaned(cleaned, labels(which, (None, "TAX_CODE_MISSING", "TAX_CODE_MALFORMED", "TAX_CODE_BAD_CHECK")))


# -- phones -------------------------------------------------------------------------------------
COUNTRY_CODE = "84"
# Mobile network prefixes after the 2018 renumbering (3 digits of the 10-digit national form).
MOBILE_PREFIXES: tuple[str, ...] = (
    "032", "033", "034", "035", "036", "037", "038", "039",          # Viettel (ex-016x)
    "052", "055", "056", "058", "059",                               # Vietnamobile, Gmobile, ...
    "070", "076", "077", "078", "079",                               # MobiFone (ex-012x)
    "081", "082", "083", "084", "085", "086", "087", "088", "089",   # VinaPhone, Viettel 086, iTel 087
    "090", "091", "092", "093", "094", "096", "097", "098", "099",
)
# 11-digit mobile numbers before September 2018 -> their new 10-digit prefix.
OLD_MOBILE_PREFIXES: Mapping[str, str] = {
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036", "0167": "037", "0168": "038",
    "0169": "039", "0186": "056", "0188": "058", "0199": "059",
}
LANDLINE_PREFIX = "02"            # fixed lines: 0 + 2xx area code + 7-8 digits = 11 digits (0225 Hải Phòng)
PHONE_SEPARATORS = r"[\s.\-()/]"


def normalize_phones(values: ArrayLike, *, required: bool = False, landlines: bool = True) -> Cleaned:
    """Phone numbers -> '0xxxxxxxxx' (mobile, 10 digits) or '02xxxxxxxxx' (landline, 11 digits).

    Separators are removed, +84 / 84 / 0084 become 0, pre-2018 11-digit mobile prefixes are
    renumbered. Reasons: PHONE_MISSING (only when ``required``), PHONE_MALFORMED (not digits
    or wrong length; the value is kept as typed), PHONE_UNKNOWN_PREFIX (right length,
    unallocated prefix; value normalised).
    """
    arr = as_strings(values)
    digits = pc.replace_substring_regex(arr, PHONE_SEPARATORS, "")
    digits = pc.replace_substring_regex(digits, rf"^(\+{COUNTRY_CODE}|00{COUNTRY_CODE})", "0")
    digits = pc.replace_substring_regex(digits, rf"^{COUNTRY_CODE}([0-9]{{9,10}})$", r"0\1")
    digits = pc.replace_substring_regex(digits, r"^([1-9][0-9]{8})$", r"0\1")   # national 0 dropped by a spreadsheet
    for old, new in OLD_MOBILE_PREFIXES.items():
        digits = pc.replace_substring_regex(digits, rf"^{old}([0-9]{{7}})$", new + r"\1")
    digits = pc.if_else(pc.equal(digits, ""), pa.scalar(None, pa.string()), digits)
    present = valid_mask(digits)
    mobile_shape = bool_numpy(pc.match_substring_regex(digits, r"^0[0-9]{9}$"))
    land_shape = bool_numpy(pc.match_substring_regex(digits, rf"^{LANDLINE_PREFIX}[0-9]{{9}}$")) & landlines
    prefix3 = pc.utf8_slice_codeunits(digits, 0, 3)
    known_mobile = bool_numpy(pc.is_in(prefix3, value_set=pa.array(MOBILE_PREFIXES)))
    malformed = present & ~mobile_shape & ~land_shape
    unknown = present & mobile_shape & ~known_mobile & ~land_shape
    missing = ~present & required
    values_out = pc.if_else(pa.array(malformed), arr, digits)
    which = np.select([missing, malformed, unknown], [1, 2, 3], 0)
    return Cleaned(values_out, labels(which, (None, "PHONE_MISSING", "PHONE_MALFORMED", "PHONE_UNKNOWN_PREFIX")))
