"""Reason codes of the vectorised rules: kho.cleaning's quarantine vocabulary, extended.

``kho.cleaning.REASONS`` stays the source of the population codes (the quarantine table and
its dashboards already use them); this module adds the codes the other domains need, each
with the sentence shown to people. A rule returns one code per row or null.

Two severities, because not every finding should cost a row its place in the processed
zone: ``REJECT`` codes send the row to quarantine in every job so far; ``WARN`` codes are
kept on the row (e.g. an unaccented name that could not be restored, an address naming a
different commune than the code) for the data owner to fix at the source. A job may still
choose to quarantine on a WARN code; the severity is the default, not a law.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

from kho.cleaning import REASONS as CLEANING_REASONS

Severity = Literal["reject", "warn"]

_NEW: dict[str, tuple[str, Severity]] = {
    # dates and times (generic columns; birth dates keep BIRTH_DATE_INVALID)
    "DATE_MISSING": ("date is empty", "reject"),
    "DATE_UNPARSEABLE": ("date is in none of the accepted formats, or names a day that does not exist", "reject"),
    "DATE_OUT_OF_RANGE": ("date lies outside the range allowed for this column", "reject"),
    "TIMESTAMP_MISSING": ("timestamp is empty", "warn"),
    "TIMESTAMP_UNPARSEABLE": ("timestamp is in none of the accepted formats", "warn"),
    "TIMESTAMP_OUT_OF_RANGE": ("timestamp lies outside the range allowed for this column", "warn"),
    "PERIOD_INVALID": ("month period is not MM/YYYY or YYYY-MM, or names a month that does not exist", "reject"),
    # identifiers
    "TAX_CODE_MISSING": ("enterprise/tax code is empty", "reject"),
    "TAX_CODE_MALFORMED": ("enterprise/tax code is not 10 digits (optionally -NNN for a branch)", "reject"),
    "TAX_CODE_BAD_CHECK": ("enterprise/tax code fails its check digit, or has a province/sequence never issued",
                           "reject"),
    "PHONE_MISSING": ("phone number is empty", "warn"),
    "PHONE_MALFORMED": ("phone number is not a Vietnamese number of the right length", "warn"),
    "PHONE_UNKNOWN_PREFIX": ("phone number has a network/area prefix that is not allocated", "warn"),
    # names
    "NAME_UNACCENTED": ("name has no diacritics and could not be restored unambiguously", "warn"),
    # money
    "MONEY_MISSING": ("amount is empty", "warn"),
    "MONEY_MALFORMED": ("amount is not a whole number of dong (digits, optionally grouped by . , or space)", "reject"),
    "MONEY_NOT_POSITIVE": ("amount is zero or negative where it must be positive", "reject"),
    # addresses and units
    "ADDRESS_UNIT_UNKNOWN": ("address names no commune-level unit of Hai Phong", "warn"),
    "ADDRESS_UNIT_AMBIGUOUS": ("address names a unit whose name, without diacritics, fits several units", "warn"),
    "ADDRESS_UNIT_CONFLICT": ("address names a different commune than the unit code", "warn"),
    # categorical codes
    "CODE_INVALID": ("value is not in the list of allowed codes for this column", "reject"),
    # generic record checks (business, land, statistics)
    "KEY_MISSING": ("a column of the record's key is empty", "reject"),
    "IDENTIFIER_MALFORMED": ("identifier is not in its documented format and cannot be repaired", "reject"),
    "NUMBER_MALFORMED": ("value is not a number", "reject"),
    "VALUE_OUT_OF_RANGE": ("value lies outside the range allowed for this column (zero, negative or implausible)",
                           "reject"),
    "GEOMETRY_INVALID": ("geometry is not a valid one-ring WKT polygon on the city's VN-2000 grid", "warn"),
}

_CLEANING_SEVERITY: dict[str, Severity] = {code: "reject" for code in CLEANING_REASONS}

REASONS: MappingProxyType[str, str] = MappingProxyType(
    {**CLEANING_REASONS, **{code: text for code, (text, _) in _NEW.items()}})
"""Every reason code -> the sentence shown to people (kho.cleaning's first, unchanged)."""

SEVERITY: MappingProxyType[str, Severity] = MappingProxyType(
    {**_CLEANING_SEVERITY, **{code: sev for code, (_, sev) in _NEW.items()}})
"""Every reason code -> 'reject' (quarantine by default) or 'warn' (kept, flagged)."""

if set(_NEW) & set(CLEANING_REASONS):       # a code must mean one thing across the platform
    raise RuntimeError(f"codes redefined: {sorted(set(_NEW) & set(CLEANING_REASONS))}")


def describe(code: str | None) -> str | None:
    """The human sentence of a code (None for None); unknown codes fail loudly."""
    if code is None:
        return None
    return REASONS[code]
