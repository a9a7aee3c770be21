"""Cleaning rules of the processed zone, as plain functions.

Spark jobs apply them batch-wise (``mapInPandas``), tests call them directly, and the
reason codes they return are the vocabulary of the quarantine: a rejected row always
carries one of ``REASONS`` plus a human-readable detail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from kho import reference

# Reason codes of the quarantine, with the sentence shown to people.
REASONS: dict[str, str] = {
    "CCCD_MISSING": "citizen ID (CCCD) is empty",
    "CCCD_MALFORMED": "citizen ID is not 12 digits",
    "CCCD_BAD_PROVINCE": "citizen ID starts with an unknown province prefix",
    "CCCD_MISMATCH": "citizen ID century/sex digit or birth year disagrees with the record",
    "NAME_MISSING": "full name is empty",
    "BIRTH_DATE_INVALID": "birth date is missing, unparseable or out of range",
    "SEX_INVALID": "sex is neither male nor female",
    "ADMIN_UNIT_UNKNOWN": "administrative unit code is neither a current unit nor in the pre-2025 crosswalk",
    "ADMIN_UNIT_SPLIT": "pre-2025 unit was split between several current units; needs an address to decide",
}

_SPACES = re.compile(r"\s+")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d")
MIN_BIRTH_DATE = date(1900, 1, 1)


def nfc(text: str | None) -> str | None:
    """Unicode NFC with collapsed whitespace; None for empty.

    Vietnamese text arrives both precomposed and decomposed (combining tone marks);
    only NFC compares equal across systems.
    """
    if text is None:
        return None
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", str(text))).strip()
    return text or None


def standardize_name(name: str | None) -> str | None:
    """Vietnamese personal name: NFC, single spaces, each syllable capitalised."""
    name = nfc(name)
    if name is None:
        return None
    return " ".join(part[:1].upper() + part[1:].lower() for part in name.split(" "))


def has_diacritics(text: str | None) -> bool:
    if not text:
        return False
    # fold() also collapses whitespace: compare with the equally collapsed text, or
    # "An  Nam" would count as accented.
    return reference.fold(text) != " ".join(text.lower().split())


def parse_date(text: str | None) -> date | None:
    """Dates as Vietnamese systems write them: ISO, dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy, yyyymmdd."""
    if text is None:
        return None
    value = str(text).strip()
    if not value:
        return None
    value = value.split("T")[0].split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


_SEX = {"nam": "M", "m": "M", "male": "M", "1": "M", "nu": "F", "f": "F", "female": "F", "0": "F", "2": "F"}


def normalize_sex(value: str | None) -> str | None:
    if value is None:
        return None
    return _SEX.get(reference.fold(str(value).strip()))


def cccd_digit(birth_year: int, sex: str) -> int:
    """4th CCCD digit: century and sex (0/1 for 1900s male/female, 2/3 for 2000s, ...)."""
    century = (birth_year // 100) - 19
    return century * 2 + (1 if sex == "F" else 0)


def check_cccd(cccd: str | None, birth: date | None, sex: str | None) -> str | None:
    """Return a reason code when the CCCD is unusable, None when it is valid.

    Structure (Circular 07/2016/TT-BCA): 3-digit province of birth registration, one
    century/sex digit, the last two digits of the birth year, six serial digits.
    """
    if cccd is None or not str(cccd).strip():
        return "CCCD_MISSING"
    cccd = str(cccd).strip()
    if len(cccd) != 12 or not (cccd.isascii() and cccd.isdigit()):  # str.isdigit() accepts '²', '０'
        return "CCCD_MALFORMED"
    if cccd[:3] not in reference.cccd_prefixes():
        return "CCCD_BAD_PROVINCE"
    if birth is not None and sex in ("M", "F"):
        if int(cccd[3]) != cccd_digit(birth.year, sex) or cccd[4:6] != f"{birth.year % 100:02d}":
            return "CCCD_MISMATCH"
    return None


@dataclass(frozen=True)
class UnitResolution:
    code: str | None
    how: str  # "current", "crosswalk" or a reason code


def resolve_admin_unit(code: str | None) -> UnitResolution:
    """Map a unit code to one of the 114 current units, through the pre-2025 crosswalk if needed.

    Codes only: names collide once folded (two communes are "Cam Giang"), so a name is
    never used as a key.
    """
    code = (str(code).strip() if code is not None else "") or None
    if code is None:
        return UnitResolution(None, "ADMIN_UNIT_UNKNOWN")
    code = code.zfill(5) if code.isdigit() else code
    if code in reference.admin_unit_by_code():
        return UnitResolution(code, "current")
    entry = reference.crosswalk().get(code)
    if entry is None:
        return UnitResolution(None, "ADMIN_UNIT_UNKNOWN")
    if entry.split or not entry.new_unit_code:
        return UnitResolution(None, "ADMIN_UNIT_SPLIT")
    return UnitResolution(entry.new_unit_code, "crosswalk")
