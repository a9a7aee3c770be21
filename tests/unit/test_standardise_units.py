"""kho.standardise.units: codes as kho.cleaning.resolve_admin_unit, the versioned reading, addresses."""

from __future__ import annotations

import random
from datetime import date

import pyarrow as pa
import pytest

from kho import cleaning, reference
from kho.sources.base import fold_diacritics
from kho.sources.enterprise import street_address
from kho.sources.population import COLUMNS, DEFAULT_FAULT_RATES, PopulationGenerator
from kho.standardise.units import match_address_units, resolve_unit_codes

CURRENT = reference.admin_unit_by_code()
CROSSWALK = reference.crosswalk()


def _split_entry() -> reference.CrosswalkEntry:
    return next(e for e in sorted(CROSSWALK.values(), key=lambda e: e.old_unit_code)
                if e.split and e.old_unit_code not in CURRENT)


def test_codes_equal_cleaning_for_every_known_code_and_junk() -> None:
    codes: list[object] = sorted(set(CURRENT) | set(CROSSWALK))
    codes += ["99999", "00000", "31", "", "   ", None, "abc", " 10507 ", "1050", "１０５０７", "10507\n"]
    result = resolve_unit_codes(codes)
    for code, got, how, reason in zip(codes, result.codes.to_pylist(), result.how.to_pylist(),
                                      result.reasons.to_pylist()):
        want = cleaning.resolve_admin_unit(code)  # type: ignore[arg-type]
        assert (got, how if got else reason) == (want.code, want.how), code
        assert (how is None) == (got is None) and (reason is None) == (got is not None)


def test_integer_codes_are_read_as_text() -> None:
    result = resolve_unit_codes(pa.array([10507, None]))
    assert result.codes.to_pylist() == ["10507", None]


def test_record_dates_read_shared_codes_as_pre_2025_codes() -> None:
    shared_split = next(e for e in CROSSWALK.values() if e.old_unit_code in CURRENT and e.split)
    # a shared code merged whole always went to its same-coded unit (kho/reference/README.md)
    shared_whole = next(e for e in CROSSWALK.values() if e.old_unit_code in CURRENT and not e.split)
    assert shared_whole.new_unit_code == shared_whole.old_unit_code
    codes = [shared_split.old_unit_code, shared_split.old_unit_code, shared_whole.old_unit_code,
             shared_whole.old_unit_code]
    dates = pa.array([date(2025, 6, 30), date(2025, 7, 1), date(2024, 1, 1), None], pa.date32())
    result = resolve_unit_codes(codes, record_dates=dates)
    assert result.reasons.to_pylist() == ["ADMIN_UNIT_SPLIT", None, None, None]
    assert result.codes.to_pylist() == [None, shared_split.old_unit_code, shared_whole.new_unit_code,
                                        shared_whole.old_unit_code]
    assert result.how.to_pylist() == [None, "current", "crosswalk", "current"]


def test_split_code_decided_by_a_current_address_only() -> None:
    entry = _split_entry()
    inside, outside = entry.candidate_unit_codes[0], next(c for c in CURRENT if c not in entry.candidate_unit_codes)
    addresses = [f"Số 1 Lê Lợi, {CURRENT[inside].unit_full_name}, Thành phố Hải Phòng",
                 f"Số 1 Lê Lợi, {CURRENT[outside].unit_full_name}, Thành phố Hải Phòng",
                 f"Thôn 2, Xã {entry.old_unit_name}, {entry.old_district}, Tỉnh Hải Dương", None]
    result = resolve_unit_codes([entry.old_unit_code] * 4, addresses=addresses)
    assert result.codes.to_pylist() == [inside, None, None, None]
    assert result.how.to_pylist() == ["address", None, None, None]
    assert result.reasons.to_pylist() == [None] + ["ADMIN_UNIT_SPLIT"] * 3


def test_unknown_code_filled_from_address_only_when_asked() -> None:
    unit = reference.admin_units()[5]
    addresses = [f"Thôn 3, {unit.unit_full_name}, Thành phố Hải Phòng"]
    assert resolve_unit_codes(["99999"], addresses=addresses).reasons.to_pylist() == ["ADMIN_UNIT_UNKNOWN"]
    filled = resolve_unit_codes(["99999"], addresses=addresses, fill_unknown_from_address=True)
    assert (filled.codes.to_pylist(), filled.how.to_pylist()) == ([unit.unit_code], ["address"])


# -- addresses -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def generated() -> list[dict[str, object]]:
    rates = {f: 0.0 for f in DEFAULT_FAULT_RATES}
    rates["old_admin_unit"] = 0.3
    gen = PopulationGenerator(seed=3, sf=0.03, fault_rates=rates)
    return [dict(zip(COLUMNS, row)) for row in gen.rows()]


def test_generated_addresses_name_the_record_unit(generated: list[dict[str, object]]) -> None:
    result = match_address_units([r["dia_chi"] for r in generated])
    old = 0
    for rec, code, how, reason in zip(generated, result.codes.to_pylist(), result.how.to_pylist(),
                                      result.reasons.to_pylist()):
        want = cleaning.resolve_admin_unit(rec["ma_dvhc"])  # type: ignore[arg-type]
        if rec["ma_dvhc"] in CURRENT and how == "address":
            assert code == rec["ma_dvhc"], rec
        else:
            old += 1
            assert how == "address_old_unit" or reason == "ADMIN_UNIT_SPLIT", rec
            assert (code, reason) == (want.code, None if want.code else want.how), rec
    assert old > 100


def test_unaccented_addresses_match_unless_ambiguous(generated: list[dict[str, object]]) -> None:
    addresses = [str(r["dia_chi"]) for r in generated]
    accented = match_address_units(addresses)
    folded = match_address_units([fold_diacritics(a) for a in addresses])
    ambiguous = 0
    for a, f, reason in zip(accented.codes.to_pylist(), folded.codes.to_pylist(), folded.reasons.to_pylist()):
        if reason == "ADDRESS_UNIT_AMBIGUOUS":
            ambiguous += 1
        else:
            assert f == a
    assert ambiguous < len(addresses) * 0.05


@pytest.mark.parametrize("address, code, how, reason", [
    ("Thôn 2, Xã Cẩm Giàng, TP. Hải Phòng", "10903", "address", None),
    ("Thôn 2, Xã Cẩm Giang, Hải Phòng", "10888", "address", None),
    ("thon 2, xa cam giang, hai phong", None, None, "ADDRESS_UNIT_AMBIGUOUS"),
    ("Số 5 Trần Phú, P. Lê Chân, TP Hải Phòng", "11383", "address", None),
    ("SỐ 5 TRẦN PHÚ, PHƯỜNG LÊ CHÂN, HẢI PHÒNG", "11383", "address", None),
    ("Số 5, Phường Thuỷ Nguyên, Hải Phòng", "11560", "address", None),     # old-style tone mark
    ("Thôn 1, Xã Hòa Bình, Huyện Vĩnh Bảo, Thành phố Hải Phòng", "11911", "address_old_unit", None),
    ("Thôn 1, Xã Hòa Bình, Huyện Kim Thành, Tỉnh Hải Dương", None, None, "ADMIN_UNIT_SPLIT"),
    ("Thôn 1, Xã Hòa Bình, Tỉnh Hải Dương", None, None, "ADDRESS_UNIT_AMBIGUOUS"),
    ("Số 3 Lạch Tray, Hải Phòng", None, None, "ADDRESS_UNIT_UNKNOWN"),
    ("", None, None, "ADDRESS_UNIT_UNKNOWN"),
    (None, None, None, "ADDRESS_UNIT_UNKNOWN"),
])
def test_address_cases(address: str | None, code: str | None, how: str | None, reason: str | None) -> None:
    result = match_address_units([address])
    assert (result.codes.to_pylist(), result.how.to_pylist(), result.reasons.to_pylist()) == ([code], [how], [reason])


def test_enterprise_street_addresses() -> None:
    rng = random.Random(9)
    units = reference.admin_units()
    picks = [rng.choice(units) for _ in range(400)]
    result = match_address_units([street_address(rng, u) for u in picks])
    assert result.codes.to_pylist() == [u.unit_code for u in picks]
