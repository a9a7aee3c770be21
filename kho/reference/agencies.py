"""Agencies ("cơ quan") of Hải Phòng that receive dossiers and issue decisions, with their codes.

One catalogue for every source system that writes an agency code (the one-stop TTHC system
in :mod:`kho.sources.dossiers`, construction permits in :mod:`kho.sources.permits`), so the
same code always names the same agency.

Codes are QCVN 102-shaped electronic agency codes (``mã định danh điện tử của cơ quan``)
[derived - the city's official agency code list is not in the seed]:

* departments: ``000.00.NN.H31`` (``NN`` = the department's number, :func:`department_code`);
* commune People's Committees: ``LLL.KK.00.H31`` built from the 5-digit unit code
  ``LLLKK`` (:func:`commune_pc_code`), both for the 114 current units and the pre-2025 ones
  (old and new units share one code space: see ``README.md``);
* other agencies (the former Hải Dương province's department of construction and the
  pre-2025 district People's Committees, ``000.NN.00.H31`` / ``.H26``): listed explicitly.

``agencies.csv`` columns: ``code``, ``name_vi`` (NFC), ``name_en`` (a translation for this
project), ``kind`` (``department`` | ``commune_pc`` | ``central`` | ``other``),
``valid_from`` / ``valid_to`` (ISO dates; empty ``valid_to`` = still in existence) and
``successor_code`` (the agency that took over, empty if none). The key is
(``code``, ``valid_from``): five departments kept their code but changed remit on
1 March 2025 and have two rows, and a commune code used before and after 1 July 2025 has
one row per unit. Rows are in the order of the one-stop system's ``co_quan`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal, get_args

from kho.reference import _check_choice, _optional, _read_rows

__all__ = ["Agency", "AgencyKind", "agencies", "agencies_by_code", "agency_on", "department_code", "commune_pc_code",
           "unit_code_of", "PROVINCE_SUFFIX", "AGENCIES_FILE"]

AgencyKind = Literal["department", "commune_pc", "central", "other"]

AGENCIES_FILE = "agencies.csv"
PROVINCE_SUFFIX = "H31"   # [verify] the city's QCVN 102 top-level code
_COLUMNS = ("code", "name_vi", "name_en", "kind", "valid_from", "valid_to", "successor_code")


@dataclass(frozen=True, slots=True)
class Agency:
    code: str
    name_vi: str
    name_en: str
    kind: AgencyKind
    valid_from: date
    valid_to: date | None
    successor_code: str | None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def department_code(nn: str, suffix: str = PROVINCE_SUFFIX) -> str:
    """``"09"`` -> ``"000.00.09.H31"``."""
    return f"000.00.{nn}.{suffix}"


def commune_pc_code(unit_code: str) -> str:
    """The People's Committee of commune-level unit ``"11260"`` -> ``"112.60.00.H31"``."""
    if len(unit_code) != 5 or not unit_code.isdigit():
        raise ValueError(f"not a 5-digit unit code: {unit_code!r}")
    return f"{unit_code[:3]}.{unit_code[3:]}.00.{PROVINCE_SUFFIX}"


def unit_code_of(code: str) -> str | None:
    """The unit code of a commune People's Committee's code, None for any other agency."""
    parts = code.split(".")
    if len(parts) == 4 and parts[0] != "000" and parts[2] == "00":
        return parts[0] + parts[1]
    return None


@lru_cache(maxsize=1)
def agencies() -> tuple[Agency, ...]:
    """All rows in file order."""
    out: list[Agency] = []
    for row in _read_rows(AGENCIES_FILE, _COLUMNS):
        _check_choice(row["kind"], get_args(AgencyKind), AGENCIES_FILE)
        valid_to = _optional(row["valid_to"])
        out.append(Agency(code=row["code"], name_vi=row["name_vi"], name_en=row["name_en"],
                          kind=row["kind"],  # type: ignore[arg-type]
                          valid_from=date.fromisoformat(row["valid_from"]),
                          valid_to=date.fromisoformat(valid_to) if valid_to else None,
                          successor_code=_optional(row["successor_code"])))
    keys = {(a.code, a.valid_from) for a in out}
    if len(keys) != len(out):
        raise ValueError(f"{AGENCIES_FILE}: duplicate (code, valid_from)")
    return tuple(out)


@lru_cache(maxsize=1)
def agencies_by_code() -> dict[str, tuple[Agency, ...]]:
    """Code -> its rows (one per period), oldest first. A shared cached dict: treat it as read-only."""
    by_code: dict[str, list[Agency]] = {}
    for a in agencies():
        by_code.setdefault(a.code, []).append(a)
    return {code: tuple(sorted(rows, key=lambda a: a.valid_from)) for code, rows in by_code.items()}


def agency_on(code: str, day: date) -> Agency:
    """The agency a code names on ``day``; KeyError if the code is unknown or not valid then."""
    for a in agencies_by_code().get(code, ()):
        if a.valid_on(day):
            return a
    raise KeyError(f"no agency {code} on {day}")
