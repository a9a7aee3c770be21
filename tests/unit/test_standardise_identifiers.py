"""kho.standardise.identifiers: CCCD as kho.cleaning.check_cccd, tax codes as the generator's rule, phones."""

from __future__ import annotations

import random
from datetime import date

import pyarrow as pa
import pytest

from kho import cleaning
from kho.sources.identifiers import (bad_check_tax_code, is_valid_tax_code, make_tax_code, malformed_cccd,
                                     malformed_tax_code, mistyped_cccd)
from kho.standardise.identifiers import check_cccd, check_tax_codes, normalize_phones


def _cccd_cases(count: int, seed: int) -> list[tuple[str | None, date | None, str | None]]:
    rng = random.Random(seed)
    cases: list[tuple[str | None, date | None, str | None]] = []
    for _ in range(count):
        birth = date(rng.randint(1890, 2030), rng.randint(1, 12), rng.randint(1, 28))
        sex = rng.choice(["M", "F", None, "X"])
        prefix = rng.choice(["031", "030", "001", "000", "099", "065", "096"])
        digit = cleaning.cccd_digit(birth.year, sex if sex in ("M", "F") else "M") + rng.choice([0, 0, 0, 1])
        cccd = f"{prefix}{digit % 10}{birth.year % 100 if rng.random() < 0.9 else rng.randint(0, 99):02d}" \
               f"{rng.randrange(10**6):06d}"
        variant = rng.random()
        if variant < 0.1:
            cccd = malformed_cccd(cccd, rng)
        elif variant < 0.2:
            cccd = mistyped_cccd(cccd, rng)
        elif variant < 0.25:
            cccd = rng.choice([" ", "\t", "\u00a0", "\u3000"]) + cccd + rng.choice(["", " ", "\n"])
        elif variant < 0.28:
            cccd = rng.choice([None, "", "   ", "０３１０９０１２３４５６", "031\u00b290123456", "03109012345é"])
        cases.append((cccd, None if rng.random() < 0.05 else birth, sex))
    return cases


def test_check_cccd_equals_cleaning() -> None:
    cases = _cccd_cases(6000, 11)
    result = check_cccd([c for c, _, _ in cases], pa.array([b for _, b, _ in cases], pa.date32()),
                        [s for _, _, s in cases])
    assert result.reasons.to_pylist() == [cleaning.check_cccd(c, b, s) for c, b, s in cases]
    assert result.values.to_pylist() == [(str(c).strip() or None) if c is not None else None for c, _, _ in cases]


def test_check_cccd_without_birth_or_sex_checks_structure_only() -> None:
    result = check_cccd(["031190123456", "03119012345", None])
    assert result.reasons.to_pylist() == [None, "CCCD_MALFORMED", "CCCD_MISSING"]


@pytest.mark.parametrize("cccd, reason", [
    ("031090123456", None), ("03109012345", "CCCD_MALFORMED"), ("03109O123456", "CCCD_MALFORMED"),
    ("031-09012345", "CCCD_MALFORMED"), ("099090123456", "CCCD_BAD_PROVINCE"), ("031190123456", "CCCD_MISMATCH"),
    ("031091123456", "CCCD_MISMATCH"), (" 031090123456 ", None),
])
def test_check_cccd_cases(cccd: str, reason: str | None) -> None:
    result = check_cccd([cccd], pa.array([date(1990, 5, 17)]), ["M"])
    assert result.reasons.to_pylist() == [reason]


# -- tax codes ------------------------------------------------------------------------------------
def _tax_codes(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        code, _ = make_tax_code(rng.choice(["02", "08", "01"]), rng.randrange(10**7 - 100))
        variant = rng.random()
        if variant < 0.2:
            code = bad_check_tax_code(code, rng)
        elif variant < 0.4:
            code = malformed_tax_code(code, rng)
        elif variant < 0.5:
            code = f"{code}-{rng.randint(0, 999):03d}"
        out.append(code)
    return out


def test_tax_codes_follow_the_generator_rule() -> None:
    codes = _tax_codes(3000, 3)
    result = check_tax_codes(codes)
    for code, value, reason in zip(codes, result.values.to_pylist(), result.reasons.to_pylist()):
        compact = code.replace(" ", "")
        assert (reason is None) == is_valid_tax_code(compact), code
        if reason is None:
            assert value == compact


@pytest.mark.parametrize("raw, value, reason", [
    ("0200012348", "0200012348", None), ("0200 012 348", "0200012348", None), ("0200.012.348", "0200012348", None),
    ("0200012348-001", "0200012348-001", None), ("0200012348001", "0200012348-001", None),
    ("0200012348-000", "0200012348-000", "TAX_CODE_MALFORMED"), ("200012348", "200012348", "TAX_CODE_MALFORMED"),
    ("02O0012348", "02O0012348", "TAX_CODE_MALFORMED"), ("0200012349", "0200012349", "TAX_CODE_BAD_CHECK"),
    ("0000000000", "0000000000", "TAX_CODE_BAD_CHECK"), (None, None, None), ("", None, None),
])
def test_tax_code_cases(raw: str | None, value: str | None, reason: str | None) -> None:
    result = check_tax_codes([raw])
    assert (result.values.to_pylist(), result.reasons.to_pylist()) == ([value], [reason])


def test_missing_tax_code_only_when_required() -> None:
    assert check_tax_codes([None, ""], required=True).reasons.to_pylist() == ["TAX_CODE_MISSING"] * 2


# -- phones ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, value, reason", [
    ("0912345678", "0912345678", None), ("+84 912 345 678", "0912345678", None), ("84912345678", "0912345678", None),
    ("0084912345678", "0912345678", None), ("(+84) 91-234-5678", "0912345678", None),
    ("0912.345.678", "0912345678", None), ("912345678", "0912345678", None),
    ("01662345678", "0362345678", None), ("0120 123 4567", "0701234567", None),
    ("02253123456", "02253123456", None), ("0212345678", "0212345678", "PHONE_UNKNOWN_PREFIX"),
    ("0112345678", "0112345678", "PHONE_UNKNOWN_PREFIX"), ("091234567", "091234567", "PHONE_MALFORMED"),
    ("abc", "abc", "PHONE_MALFORMED"), ("", None, None), (None, None, None),
])
def test_phone_cases(raw: str | None, value: str | None, reason: str | None) -> None:
    result = normalize_phones([raw])
    assert (result.values.to_pylist(), result.reasons.to_pylist()) == ([value], [reason])


def test_phones_of_the_insurance_generator_are_valid() -> None:
    rng = random.Random(5)
    phones = [f"{rng.choice(('03', '09', '08', '07', '05'))}{rng.randrange(10**8):08d}" for _ in range(500)]
    result = normalize_phones(phones)
    bad = [(p, r) for p, r in zip(phones, result.reasons.to_pylist()) if r is not None]
    # the generator draws any 03/05/07/08/09 prefix; only allocated ones are valid
    assert all(r == "PHONE_UNKNOWN_PREFIX" for _, r in bad)
    assert result.values.to_pylist() == phones


def test_required_phone() -> None:
    assert normalize_phones([None], required=True).reasons.to_pylist() == ["PHONE_MISSING"]
    assert normalize_phones(["02253123456"], landlines=False).reasons.to_pylist() == ["PHONE_MALFORMED"]
