"""kho.standardise.dates: equal to kho.cleaning.parse_date and the population job's timestamp rule."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

from kho import cleaning
from kho.standardise.dates import (DATE_FORMATS, parse_date_scalar, parse_dates, parse_periods, parse_timestamp_scalar,
                                   parse_timestamps)
from spark_jobs.population_processed import _timestamp


def _fuzz(count: int, alphabet: str, seed: int, max_len: int = 20) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len))) for _ in range(count)]


def _well_formed(count: int, seed: int) -> list[str]:
    """Dates in every accepted format, padded or not, valid or not, with noise around them."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        y, m, d = rng.randint(0, 2100), rng.randint(0, 13), rng.randint(0, 32)
        fmt = rng.choice(["{Y:04d}-{m:02d}-{d:02d}", "{d:02d}/{m:02d}/{Y:04d}", "{d}/{m}/{Y}", "{d:02d}-{m:02d}-{Y:04d}",
                          "{d}.{m}.{Y:04d}", "{Y:04d}/{m}/{d}", "{Y:04d}{m:02d}{d:02d}", "{Y:04d}{m}{d}"])
        text = fmt.format(Y=y, m=m, d=d)
        text = rng.choice(["", " ", "\t"]) + text + rng.choice(["", " ", "T08:30:00", " 08:30", "x"])
        out.append(text)
    return out


def test_parse_dates_equals_cleaning_on_generated_and_fuzzed_text() -> None:
    texts: list[str | None] = _well_formed(4000, 1) + _fuzz(3000, "0123456789/-.T :", 2, 12) \
        + _fuzz(500, "0123456789/-１２٣²abc", 3, 11) + [None, "", "   ", "không rõ", "1990-05-17\n08:00"]
    result = parse_dates(texts)
    expected = [cleaning.parse_date(t) for t in texts]
    assert result.values.to_pylist() == expected
    reasons = result.reasons.to_pylist()
    for text, want, reason in zip(texts, expected, reasons):
        if want is not None:
            assert reason is None
        elif text is None or not text.strip():
            assert reason == "DATE_MISSING"
        else:
            assert reason == "DATE_UNPARSEABLE"


@pytest.mark.parametrize("text", ["1990-05-17", "17/05/1990", "17-05-1990", "17.05.1990", "19900517", "1990/05/17",
                                  " 17/05/1990 ", "1990-05-17T08:30:00", "1990-05-17 08:30:00", "17/5/1990"])
def test_accepted_formats(text: str) -> None:
    assert parse_dates([text]).values.to_pylist() == [date(1990, 5, 17)]


@pytest.mark.parametrize("text", ["31/02/1990", "1985-13-01", "00/00/0000", "29/02/2023", "17/05", "1990",
                                  "0000-01-01", "1990-5-17x"])
def test_invalid_dates(text: str) -> None:
    result = parse_dates([text])
    assert result.values.to_pylist() == [None] and result.reasons.to_pylist() == ["DATE_UNPARSEABLE"]


def test_range_and_reason_renaming() -> None:
    texts = ["1899-12-31", "1900-01-01", "2026-11-01", "2026-11-02", "x", None]
    result = parse_dates(texts, min_date=date(1900, 1, 1), max_date=date(2026, 11, 1),
                         reason_codes={"DATE_MISSING": "BIRTH_DATE_INVALID", "DATE_UNPARSEABLE": "BIRTH_DATE_INVALID",
                                       "DATE_OUT_OF_RANGE": "BIRTH_DATE_INVALID"})
    assert result.reasons.to_pylist() == ["BIRTH_DATE_INVALID", None, None, "BIRTH_DATE_INVALID",
                                          "BIRTH_DATE_INVALID", "BIRTH_DATE_INVALID"]
    assert result.values.to_pylist()[0] == date(1899, 12, 31)          # parsed, but out of range


def test_typed_dates_pass_through() -> None:
    arr = pa.array([date(1990, 5, 17), None, date(2030, 1, 1)], pa.date32())
    result = parse_dates(arr, max_date=date(2026, 1, 1))
    assert result.values.to_pylist() == [date(1990, 5, 17), None, date(2030, 1, 1)]
    assert result.reasons.to_pylist() == [None, "DATE_MISSING", "DATE_OUT_OF_RANGE"]


def test_excel_serials_only_when_asked() -> None:
    assert parse_dates(["45123"]).values.to_pylist() == [None]
    assert parse_dates(["45123", "45123.0", "0"], excel_serials=True).values.to_pylist() == [
        date(2023, 7, 16), date(2023, 7, 16), None]


def test_custom_formats_keep_their_order() -> None:
    texts = ["05/04/2021", "13/04/2021", "2021-04-05"]
    formats = ("%m/%d/%Y", "%d/%m/%Y")
    assert parse_dates(texts, formats=formats).values.to_pylist() == [
        parse_date_scalar(t, formats) for t in texts] == [date(2021, 5, 4), date(2021, 4, 13), None]


def test_unsupported_directive_fails_loudly() -> None:
    with pytest.raises(ValueError, match="not supported"):
        parse_dates(["17 May 1990"], formats=("%d %b %Y",))


# -- periods ------------------------------------------------------------------------------------
def test_periods() -> None:
    texts = ["05/2026", "5/2026", "2026-05", " 2026/05 ", "05.2026", "13/2026", "2026-00", "", None, "tháng 5"]
    result = parse_periods(texts)
    assert result.values.to_pylist() == [date(2026, 5, 1)] * 5 + [None] * 5
    assert result.reasons.to_pylist() == [None] * 5 + ["PERIOD_INVALID", "PERIOD_INVALID", None, None,
                                                       "PERIOD_INVALID"]


# -- timestamps ---------------------------------------------------------------------------------
def _timestamps(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    start = datetime(2020, 1, 1)
    for _ in range(count):
        ts = start + timedelta(seconds=rng.randrange(7 * 365 * 86400))
        kind = rng.random()
        if kind < 0.7:
            out.append(ts.strftime("%Y-%m-%d %H:%M:%S"))
        elif kind < 0.8:
            out.append(ts.strftime("%Y-%m-%dT%H:%M:%S"))
        elif kind < 0.9:
            out.append(rng.choice(["2025-02-30 10:00:00", "2025-08-01 24:00:00", "2025-08-01 10:60:00",
                                   "0000-01-01 00:00:00", "2025-8-01 10:00:00", "2025-08-01 10:00:0x"]))
        else:
            out.append(rng.choice(["2025-08-01", "2025-08-01 10:15", " 2025-08-01 10:15:00 ", "2025-08-01T10:15:00.5",
                                   "", "không rõ"]))
    return out


def test_parse_timestamps_equals_the_population_job_rule() -> None:
    texts: list[str | None] = _timestamps(5000, 4) + [None]
    result = parse_timestamps(texts)
    assert result.values.to_pylist() == [_timestamp(t) for t in texts]


def test_timestamps_in_a_batch_with_one_bad_row_still_use_the_byte_reader() -> None:
    texts = ["2025-08-01 10:15:00"] * 3 + ["2025-02-29 10:15:00"]
    assert parse_timestamps(texts).values.to_pylist() == [datetime(2025, 8, 1, 10, 15)] * 3 + [None]


def test_timestamp_extensions_beyond_iso() -> None:
    texts = ["01/08/2025 10:15", "01/08/2025 10:15:30", "2025-08-01T10:15:00+00:00", "2025-08-01T17:15:00+07:00"]
    result = parse_timestamps(texts)
    assert result.values.to_pylist() == [datetime(2025, 8, 1, 10, 15), datetime(2025, 8, 1, 10, 15, 30),
                                         datetime(2025, 8, 1, 17, 15), datetime(2025, 8, 1, 17, 15)]
    assert parse_timestamp_scalar("2025-08-01T10:15:00Z") == datetime(2025, 8, 1, 17, 15)


def test_timestamp_reasons_and_range() -> None:
    result = parse_timestamps(["", None, "x", "2019-01-01 00:00:00", "2025-01-01 00:00:00"],
                              min_ts=datetime(2020, 1, 1))
    assert result.reasons.to_pylist() == ["TIMESTAMP_MISSING", "TIMESTAMP_MISSING", "TIMESTAMP_UNPARSEABLE",
                                          "TIMESTAMP_OUT_OF_RANGE", None]


def test_formats_table_is_the_cleaning_one() -> None:
    assert DATE_FORMATS == cleaning._DATE_FORMATS
