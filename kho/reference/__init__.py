"""Shared reference catalogues ("danh mục dùng chung") that the whole Kho platform keys on.

The catalogues are plain, versioned CSV files shipped inside this package, so that every layer
(ingestion, dbt, quality checks, APIs) joins on the same official codes. This module only reads
them; ``build_reference.py`` documents how they were produced (see ``README.md``).

Design rules, and why:

* Everything is keyed by **official codes kept as text** (``"10903"``, ``"031"``): leading zeros
  matter and codes are identifiers, not numbers.
* Names are stored in full Vietnamese (NFC). ASCII-folded names are *not* keys: two communes of
  the merged city (Xã Cẩm Giang 10888 and Xã Cẩm Giàng 10903) fold to the same text.
  :func:`fold` exists only for fuzzy comparisons (matching messy source text to candidates).
* Files are read with :mod:`importlib.resources`, so the loader works from a wheel or zip, not
  only from a source checkout, and results are cached because the data never changes at runtime.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal, get_args

__all__ = [
    "AdminUnit",
    "CrosswalkEntry",
    "UnitType",
    "OldUnitType",
    "admin_units",
    "admin_unit_by_code",
    "crosswalk",
    "cccd_prefixes",
    "fold",
]

UnitType = Literal["phuong", "xa", "dac_khu"]
"""Type of a post-2025 commune-level unit: ward, commune or special zone."""

OldUnitType = Literal["phuong", "xa", "thi_tran"]
"""Type of a pre-2025 commune-level unit: ward, commune or township."""

ADMIN_UNITS_FILE = "admin_units.csv"
CROSSWALK_FILE = "admin_unit_crosswalk.csv"
CCCD_PREFIXES_FILE = "cccd_province_prefixes.csv"

# The exact headers are part of the contract: a drifted file must fail loudly, not load
# silently with shifted columns.
_ADMIN_UNIT_COLUMNS = (
    "unit_code",
    "unit_name",
    "unit_type",
    "unit_full_name",
    "province_code",
    "seed_row",
    "former_district",
    "former_province",
)
_CROSSWALK_COLUMNS = (
    "old_unit_code",
    "old_unit_name",
    "old_unit_type",
    "old_district",
    "old_province",
    "new_unit_code",
    "split",
    "candidate_unit_codes",
)
_CCCD_COLUMNS = ("prefix", "province_name")


@dataclass(frozen=True, slots=True)
class AdminUnit:
    """One of the 114 commune-level units of Hải Phòng after NQ 1669/NQ-UBTVQH15 (1 July 2025).

    ``former_district`` / ``former_province`` describe where the bulk of the unit came from
    before the 2025 reform; they are ``None`` where that could not be decided reliably
    (see the README), because a wrong lineage is worse than a missing one.
    """

    unit_code: str
    unit_name: str
    unit_type: UnitType
    unit_full_name: str
    province_code: str
    seed_row: int
    former_district: str | None
    former_province: str | None


@dataclass(frozen=True, slots=True)
class CrosswalkEntry:
    """A pre-2025 commune-level unit of old Hải Phòng or old Hải Dương and where it went.

    ``split`` is true when the old unit was divided between several new units; then
    ``new_unit_code`` is ``None`` (no single answer exists without a street address or
    coordinates) and ``candidate_unit_codes`` lists every unit that received a part.
    For whole merges ``candidate_unit_codes`` is just ``(new_unit_code,)``.
    """

    old_unit_code: str
    old_unit_name: str
    old_unit_type: OldUnitType
    old_district: str
    old_province: str
    new_unit_code: str | None
    split: bool
    candidate_unit_codes: tuple[str, ...]


def _read_rows(filename: str, expected_columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Read one packaged CSV and check its header, so schema drift fails at load time."""
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != expected_columns:
        raise ValueError(
            f"{filename}: header {reader.fieldnames!r} does not match {list(expected_columns)!r}"
        )
    return list(reader)


def _optional(value: str) -> str | None:
    """CSV has no null: an empty cell means 'unknown', which callers should see as None."""
    return value or None


def _parse_bool(value: str, filename: str) -> bool:
    """Accept only the two spellings the generator writes; anything else is a corrupt file."""
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError(f"{filename}: expected 'true' or 'false', got {value!r}")


def _check_choice(value: str, allowed: tuple[str, ...], filename: str) -> None:
    if value not in allowed:
        raise ValueError(f"{filename}: unexpected value {value!r}, expected one of {allowed}")


@lru_cache(maxsize=1)
def admin_units() -> tuple[AdminUnit, ...]:
    """All 114 units, in the order of the seed's list (NQ 1669 order: wards, communes, zones)."""
    units: list[AdminUnit] = []
    for row in _read_rows(ADMIN_UNITS_FILE, _ADMIN_UNIT_COLUMNS):
        _check_choice(row["unit_type"], get_args(UnitType), ADMIN_UNITS_FILE)
        units.append(
            AdminUnit(
                unit_code=row["unit_code"],
                unit_name=row["unit_name"],
                unit_type=row["unit_type"],  # type: ignore[arg-type]  # checked just above
                unit_full_name=row["unit_full_name"],
                province_code=row["province_code"],
                seed_row=int(row["seed_row"]),
                former_district=_optional(row["former_district"]),
                former_province=_optional(row["former_province"]),
            )
        )
    return tuple(units)


@lru_cache(maxsize=1)
def admin_unit_by_code() -> dict[str, AdminUnit]:
    """Units keyed by official 5-digit code, the only safe join key for a unit.

    Callers get a shared cached dict: treat it as read-only.
    """
    by_code = {unit.unit_code: unit for unit in admin_units()}
    if len(by_code) != len(admin_units()):
        raise ValueError(f"{ADMIN_UNITS_FILE}: duplicate unit_code")
    return by_code


@lru_cache(maxsize=1)
def crosswalk() -> dict[str, CrosswalkEntry]:
    """Pre-2025 unit code -> where it went, for every old unit of old Hải Phòng and Hải Dương.

    Callers get a shared cached dict: treat it as read-only.
    """
    entries: dict[str, CrosswalkEntry] = {}
    for row in _read_rows(CROSSWALK_FILE, _CROSSWALK_COLUMNS):
        _check_choice(row["old_unit_type"], get_args(OldUnitType), CROSSWALK_FILE)
        candidates = tuple(code for code in row["candidate_unit_codes"].split(";") if code)
        entry = CrosswalkEntry(
            old_unit_code=row["old_unit_code"],
            old_unit_name=row["old_unit_name"],
            old_unit_type=row["old_unit_type"],  # type: ignore[arg-type]  # checked above
            old_district=row["old_district"],
            old_province=row["old_province"],
            new_unit_code=_optional(row["new_unit_code"]),
            split=_parse_bool(row["split"], CROSSWALK_FILE),
            candidate_unit_codes=candidates,
        )
        if entry.old_unit_code in entries:
            raise ValueError(f"{CROSSWALK_FILE}: duplicate old_unit_code {entry.old_unit_code}")
        entries[entry.old_unit_code] = entry
    return entries


@lru_cache(maxsize=1)
def cccd_prefixes() -> dict[str, str]:
    """3-digit CCCD province prefix -> province name (the 63 provinces before July 2025).

    The first three digits of a 12-digit citizen ID are the registration province's old
    2-digit code with a leading 0 (Circular 07/2016/TT-BCA). They were not re-issued after
    the 2025 merger, so the pre-2025 list stays the right decoder. Treat the dict as read-only.
    """
    return {
        row["prefix"]: row["province_name"]
        for row in _read_rows(CCCD_PREFIXES_FILE, _CCCD_COLUMNS)
    }


def fold(text: str) -> str:
    """Lowercase ASCII fold of Vietnamese text, for fuzzy comparison only, never as a key.

    Removes every combining mark after NFD decomposition (tones and vowel marks alike), maps
    đ/Đ to d (they do not decompose), lowercases and collapses whitespace, so that
    "Xã  Cẩm Giàng" and "xa cam giang" compare equal. Because distinct places can fold to the
    same text, a folded match must be confirmed against an official code.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
