"""Land-use type codes ("mã loại đất") of Vietnamese cadastral data.

The three-letter codes (ONT, ODT, LUC, CLN, TMD, SKC, ...) are what land registers, cadastral
maps and land-use statistics carry in the "loại đất" field. Two generations coexist in the
data of any land office, because a record keeps the code it was written with until it is
next updated:

* ``tt27_2018``: the codes of the 2013 Land Law era (Circular 28/2014/TT-BTNMT, then
  Circular 27/2018/TT-BTNMT on land statistics and inventory). Records written before
  August 2024 carry them.
* ``tt08_2024``: the codes of Circular 08/2024/TT-BTNMT (Annex II, in force 1 August 2024)
  under the 2024 Land Law, which dropped some detailed codes (BHK/NHK folded into HNK,
  industrial parks/clusters no longer separate) and added CNT (concentrated livestock land).

``land_use_types.csv`` columns: ``code``, ``name_vi`` (NFC; the 2024 wording where the two
circulars differ, e.g. LUC "Đất chuyên trồng lúa", 2018 "... lúa nước"), ``name_en``
(a translation for this project), ``land_group`` (``agricultural`` | ``non_agricultural`` |
``unused``, the three groups of both Land Laws) and ``scheme``: ``both`` for codes valid in
both generations, ``tt27_2018`` for codes only in the older one, ``tt08_2024`` for codes new
in 2024. The list was transcribed from public copies of both circulars' annexes (not from
the gazette PDF); where the 2024 status of a code was uncertain it is marked ``both``.

Land registers also write multi-purpose parcels as two codes joined by "+" ("ONT+CLN", a
residential plot with a garden); :func:`split_codes` splits them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

from kho.reference import _check_choice, _read_rows

__all__ = ["LandUseType", "LandGroup", "Scheme", "land_use_types", "land_use_by_code", "split_codes"]

LandGroup = Literal["agricultural", "non_agricultural", "unused"]
Scheme = Literal["both", "tt27_2018", "tt08_2024"]

LAND_USE_FILE = "land_use_types.csv"
_COLUMNS = ("code", "name_vi", "name_en", "land_group", "scheme")


@dataclass(frozen=True, slots=True)
class LandUseType:
    code: str
    name_vi: str
    name_en: str
    land_group: LandGroup
    scheme: Scheme


@lru_cache(maxsize=1)
def land_use_types() -> tuple[LandUseType, ...]:
    """All codes in file order (agricultural, non-agricultural, unused)."""
    out: list[LandUseType] = []
    for row in _read_rows(LAND_USE_FILE, _COLUMNS):
        _check_choice(row["land_group"], get_args(LandGroup), LAND_USE_FILE)
        _check_choice(row["scheme"], get_args(Scheme), LAND_USE_FILE)
        if not (len(row["code"]) == 3 and row["code"].isalpha() and row["code"].isupper()):
            raise ValueError(f"{LAND_USE_FILE}: bad code {row['code']!r}")
        out.append(LandUseType(code=row["code"], name_vi=row["name_vi"], name_en=row["name_en"],
                               land_group=row["land_group"], scheme=row["scheme"]))  # type: ignore[arg-type]
    return tuple(out)


@lru_cache(maxsize=1)
def land_use_by_code() -> dict[str, LandUseType]:
    """Code -> type. A shared cached dict: treat it as read-only."""
    by_code = {t.code: t for t in land_use_types()}
    if len(by_code) != len(land_use_types()):
        raise ValueError(f"{LAND_USE_FILE}: duplicate code")
    return by_code


def split_codes(value: str) -> tuple[str, ...]:
    """"ONT+CLN" -> ("ONT", "CLN"); a single code -> a 1-tuple. No validation."""
    return tuple(part.strip() for part in (value or "").split("+") if part.strip())
