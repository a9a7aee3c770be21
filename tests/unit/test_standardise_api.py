"""Cross-cutting contract of kho.standardise: every rule takes any column form and keeps the row count."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import kho.standardise as std

RULES: dict[str, Callable[[Any], Any]] = {
    "nfc": std.nfc,
    "standardize_names": std.standardize_names,
    "has_diacritics": std.has_diacritics,
    "fold": std.fold,
    "normalize_tone_marks": std.normalize_tone_marks,
    "restore_diacritics": std.restore_diacritics,
    "parse_dates": std.parse_dates,
    "parse_periods": std.parse_periods,
    "parse_timestamps": std.parse_timestamps,
    "check_cccd": std.check_cccd,
    "check_tax_codes": std.check_tax_codes,
    "normalize_phones": std.normalize_phones,
    "normalize_sex": std.normalize_sex,
    "normalize_yes_no": std.normalize_yes_no,
    "normalize_codes": lambda v: std.normalize_codes(v, {"a": 1}, pa.int64()),
    "parse_vnd": std.parse_vnd,
    "resolve_unit_codes": std.resolve_unit_codes,
    "match_address_units": std.match_address_units,
}
SAMPLE = ["Nguyễn Văn An", None, "  ", "17/05/1990", "031090123456", "10507", "Xã Cẩm Giàng", "5.310.000"]


def _arrays(result: Any) -> list[pa.Array]:
    return [result] if isinstance(result, pa.Array) else list(result)


@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("form", ["list", "array", "chunked", "large_string", "pandas", "empty", "all_null"])
def test_every_rule_accepts_every_column_form(name: str, form: str) -> None:
    values: Any = SAMPLE
    if form == "array":
        values = pa.array(SAMPLE)
    elif form == "chunked":
        values = pa.chunked_array([SAMPLE[:3], SAMPLE[3:]])
    elif form == "large_string":
        values = pa.array(SAMPLE, pa.large_string())
    elif form == "pandas":
        values = pd.Series(SAMPLE, dtype=object)
    elif form == "empty":
        values = pa.array([], pa.string())
    elif form == "all_null":
        values = pa.nulls(4, pa.string())
    expected_len = {"empty": 0, "all_null": 4}.get(form, len(SAMPLE))
    reference = _arrays(RULES[name](SAMPLE)) if form not in ("empty", "all_null") else None
    for array in _arrays(RULES[name](values)):
        assert isinstance(array, pa.Array) and len(array) == expected_len
        array.validate(full=True)
    if reference is not None:
        assert [a.to_pylist() for a in _arrays(RULES[name](values))] == [a.to_pylist() for a in reference]


def test_public_api_is_exported() -> None:
    assert set(RULES) | {"clean_population", "Cleaned", "UnitsResolved", "REASONS", "SEVERITY", "NameDictionary",
                         "default_dictionary"} == set(std.__all__)
