"""kho.standardise.codes (sex, yes/no), .money (VND text) and .reasons."""

from __future__ import annotations

import unicodedata

import pyarrow as pa
import pytest

from kho import cleaning
from kho.standardise.codes import SEX_CODES, normalize_sex, normalize_yes_no
from kho.standardise.money import parse_vnd
from kho.standardise.reasons import REASONS, SEVERITY, describe

SEXES = ["Nam", "nam", "NAM", " Nam ", "M", "m", "male", "Nữ", "nữ", "NỮ", "nu", "Nu", "NU",
         unicodedata.normalize("NFD", "Nữ"), "F", "female", "1", "0", "2", "X", "khác", "Khác", "", "Nam Nữ", None]


def test_normalize_sex_equals_cleaning() -> None:
    result = normalize_sex(SEXES)
    expected = [cleaning.normalize_sex(s) for s in SEXES]
    assert result.values.to_pylist() == expected
    assert result.reasons.to_pylist() == [None if e else "SEX_INVALID" for e in expected]


def test_sex_table_is_the_cleaning_one() -> None:
    assert dict(SEX_CODES) == cleaning._SEX


def test_yes_no() -> None:
    result = normalize_yes_no(["1", "0", "Có", "Không", "co", "x", "", None, "maybe"])
    assert result.values.to_pylist() == [True, False, True, False, True, True, None, None, None]
    assert result.reasons.to_pylist() == [None] * 8 + ["CODE_INVALID"]
    assert normalize_yes_no([""], empty_is_fault=True).reasons.to_pylist() == ["CODE_INVALID"]


@pytest.mark.parametrize("raw, value, reason", [
    ("5.310.000", 5_310_000, None), ("5310000", 5_310_000, None), ("5,310,000", 5_310_000, None),
    ("5 310 000", 5_310_000, None), ("5.310.000 đ", 5_310_000, None), ("5.310.000 VNĐ", 5_310_000, None),
    ("2.340.000đ", 2_340_000, None), (" 15000 ", 15_000, None), ("5.31", None, "MONEY_MALFORMED"),
    ("1.2.3", None, "MONEY_MALFORMED"), ("5.310,00", None, "MONEY_MALFORMED"), ("abc", None, "MONEY_MALFORMED"),
    ("-1.000", -1_000, "MONEY_NOT_POSITIVE"), ("0", 0, "MONEY_NOT_POSITIVE"), ("", None, None), (None, None, None),
])
def test_parse_vnd_text(raw: str | None, value: int | None, reason: str | None) -> None:
    result = parse_vnd([raw], positive=True)
    assert (result.values.to_pylist(), result.reasons.to_pylist()) == ([value], [reason])


def test_parse_vnd_numbers_and_required() -> None:
    result = parse_vnd(pa.array([5_310_000, 0, -5, None], pa.int64()), positive=True, required=True)
    assert result.values.to_pylist() == [5_310_000, 0, -5, None]
    assert result.reasons.to_pylist() == [None, "MONEY_NOT_POSITIVE", "MONEY_NOT_POSITIVE", "MONEY_MISSING"]
    floats = parse_vnd(pa.array([1.0, 1.5, float("nan")]))
    assert floats.values.to_pylist() == [1, None, None]
    assert floats.reasons.to_pylist() == [None, "MONEY_MALFORMED", "MONEY_MALFORMED"]


def test_reasons_extend_cleaning_unchanged() -> None:
    for code, text in cleaning.REASONS.items():
        assert REASONS[code] == text and SEVERITY[code] == "reject"
    assert set(REASONS) == set(SEVERITY)
    assert all(SEVERITY[c] in ("reject", "warn") for c in REASONS)
    assert describe(None) is None and describe("PHONE_MALFORMED")
    with pytest.raises(KeyError):
        describe("NOT_A_CODE")


def test_every_code_the_rules_emit_is_declared() -> None:
    from datetime import date

    from kho.standardise import (check_cccd, check_tax_codes, match_address_units, normalize_phones, parse_dates,
                                 parse_periods, parse_timestamps, resolve_unit_codes, restore_diacritics,
                                 standardize_names)

    junk = ["", None, "x", "99999", "0", "-1", "Xã Cam Giang", "31/02/1990", "12/2026", "0212345678"]
    emitted: set[str] = set()
    for result in (check_cccd(junk), check_tax_codes(junk, required=True), normalize_phones(junk, required=True),
                   parse_dates(junk, max_date=date(2000, 1, 1)), parse_periods(junk), parse_timestamps(junk),
                   normalize_sex(junk), normalize_yes_no(junk), parse_vnd(junk, positive=True, required=True),
                   standardize_names(junk), restore_diacritics(junk), resolve_unit_codes(junk),
                   match_address_units(junk)):
        emitted |= set(result.reasons.drop_null().to_pylist())
    assert len(emitted) > 15
    assert emitted <= set(REASONS), emitted - set(REASONS)
