"""Vietnam Standard Industrial Classification 2018 (VSIC 2018), levels 1 and 2.

VSIC 2018 ("Hệ thống ngành kinh tế Việt Nam") is Annex I of Decision 27/2018/QĐ-TTg
(6 July 2018, in force 20 August 2018; it replaced VSIC 2007, Decision 10/2007/QĐ-TTg).
It has five levels: 21 sections (level 1, letters A..U), 88 divisions (level 2, two digits),
242 groups, 486 classes (level 4, four digits) and 734 subclasses. It follows ISIC Rev. 4,
so division codes and their section letters are the ISIC ones.

``vsic.csv`` holds levels 1 and 2 only (109 rows): ``code`` (letter or two digits, kept as
text), ``level`` (1 or 2), ``section`` (the level-1 letter; a section is its own section),
``name_vi`` (Vietnamese, NFC, in sentence case rather than the decision's upper case) and
``name_en`` (the ISIC Rev. 4 English title). Names were transcribed for this project and
cross-checked against a public transcription of the decision; they were not checked
against the gazette PDF.

Business registers store level-4 codes ("4933", "5229"); join them to this catalogue on
their first two digits (:func:`division_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from kho.reference import _read_rows

__all__ = ["VsicEntry", "vsic_entries", "vsic_sections", "vsic_divisions", "vsic_by_code", "division_of"]

VSIC_FILE = "vsic.csv"
_COLUMNS = ("code", "level", "section", "name_vi", "name_en")


@dataclass(frozen=True, slots=True)
class VsicEntry:
    """One VSIC 2018 section (level 1) or division (level 2)."""

    code: str
    level: int
    section: str
    name_vi: str
    name_en: str


@lru_cache(maxsize=1)
def vsic_entries() -> tuple[VsicEntry, ...]:
    """All 109 entries in file order: each section followed by its divisions."""
    entries: list[VsicEntry] = []
    for row in _read_rows(VSIC_FILE, _COLUMNS):
        level = int(row["level"])
        code = row["code"]
        if level == 1 and not (len(code) == 1 and code.isalpha() and code == row["section"]):
            raise ValueError(f"{VSIC_FILE}: bad section row {row!r}")
        if level == 2 and not (len(code) == 2 and code.isdigit()):
            raise ValueError(f"{VSIC_FILE}: bad division row {row!r}")
        if level not in (1, 2):
            raise ValueError(f"{VSIC_FILE}: unexpected level {level}")
        entries.append(VsicEntry(code=code, level=level, section=row["section"], name_vi=row["name_vi"],
                                 name_en=row["name_en"]))
    return tuple(entries)


def vsic_sections() -> tuple[VsicEntry, ...]:
    """The 21 sections A..U."""
    return tuple(e for e in vsic_entries() if e.level == 1)


def vsic_divisions() -> tuple[VsicEntry, ...]:
    """The 88 two-digit divisions."""
    return tuple(e for e in vsic_entries() if e.level == 2)


@lru_cache(maxsize=1)
def vsic_by_code() -> dict[str, VsicEntry]:
    """Section letter or division code -> entry. A shared cached dict: treat it as read-only."""
    by_code = {e.code: e for e in vsic_entries()}
    if len(by_code) != len(vsic_entries()):
        raise ValueError(f"{VSIC_FILE}: duplicate code")
    return by_code


def division_of(code: str) -> VsicEntry | None:
    """The division of a VSIC code of any depth ("4933" -> 49), or None if there is none."""
    code = (code or "").strip()
    if len(code) < 2 or not code[:2].isdigit():
        return None
    return vsic_by_code().get(code[:2])
