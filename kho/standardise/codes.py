"""Categorical codes written many ways: sex, yes/no flags. Tables first, code after.

A source writes a woman as "Nữ", "nu", "NU", "F", "0" or "2"; the processed zone stores "F".
The tables are keyed by ``kho.reference.fold`` of the stripped value (lower case, no
diacritics), the same key kho.cleaning uses, and applied once per distinct value.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from kho.reference import fold
from kho.standardise._arrow import ArrayLike, Cleaned, as_strings, map_unique_many

__all__ = ["SEX_CODES", "YES_NO_CODES", "normalize_codes", "normalize_sex", "normalize_yes_no"]

# Same table as kho.cleaning._SEX (its tests pin the values).
SEX_CODES: Mapping[str, str] = {"nam": "M", "m": "M", "male": "M", "1": "M",
                                "nu": "F", "f": "F", "female": "F", "0": "F", "2": "F"}
# bao_hiem_that_nghiep and similar flags: 1/0, Có/Không, x, yes/no.
YES_NO_CODES: Mapping[str, bool] = {"1": True, "co": True, "x": True, "yes": True, "true": True, "y": True,
                                    "0": False, "khong": False, "no": False, "false": False, "n": False}


def normalize_codes(values: ArrayLike, table: Mapping[str, object], type_: pa.DataType, *,
                    reason: str = "CODE_INVALID", empty_is_fault: bool = True) -> Cleaned:
    """Map each value through ``table`` (keyed by fold(strip(value))); ``reason`` where unknown.

    Empty values are a fault unless ``empty_is_fault`` is False (then null without reason).
    """
    def rule(value: str | None) -> tuple[object, str | None]:
        if value is None or not value.strip():
            return None, (reason if empty_is_fault else None)
        code = table.get(fold(value.strip()))
        return code, (None if code is not None else reason)

    out, reasons = map_unique_many(as_strings(values), rule, (type_, pa.string()))
    return Cleaned(out, reasons)


def normalize_sex(values: ArrayLike) -> Cleaned:
    """"Nam"/"Nữ" and their variants -> "M"/"F"; SEX_INVALID otherwise (kho.cleaning.normalize_sex)."""
    return normalize_codes(values, SEX_CODES, pa.string(), reason="SEX_INVALID")


def normalize_yes_no(values: ArrayLike, *, empty_is_fault: bool = False) -> Cleaned:
    """1/0, Có/Không, yes/no -> boolean; CODE_INVALID otherwise."""
    return normalize_codes(values, YES_NO_CODES, pa.bool_(), empty_is_fault=empty_is_fault)
