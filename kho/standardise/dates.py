"""Dates, month periods and timestamps as Vietnamese systems write them, parsed vectorised.

The accepted formats are data (:data:`DATE_FORMATS`, :data:`PERIOD_FORMATS`,
:data:`TIMESTAMP_FORMATS`): strptime-style strings a data engineer can extend; each is
compiled to an RE2 pattern with exactly the field rules of Python's ``strptime`` (``%d``
takes ``17`` or ``7``, ``%Y`` four digits ...), so the vectorised result equals
``datetime.strptime`` tried format by format, as ``kho.cleaning.parse_date`` does. Formats
are tried in order and a match that names an impossible day (31/02) falls through to the
next format, as in Python.

Most values of a column have every field at full width ("1990-05-17", "17/05/1990"): those
are read straight from the bytes with numpy. The rest are handled once per distinct value
with Arrow regex kernels; only values with non-ASCII characters (Python's ``\\d`` also
accepts other scripts' digits) use the scalar rule. Calendar arithmetic is two table
lookups per row. Timestamps: 'YYYY-MM-DD HH:MM:SS' through Arrow's strict ISO cast, the
rest through ``datetime.fromisoformat`` and :data:`TIMESTAMP_FORMATS` per distinct value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho.standardise._arrow import ArrayLike, Cleaned, as_strings, bool_numpy, labels, map_unique, valid_mask
from kho.standardise import _utf8

__all__ = ["DATE_FORMATS", "PERIOD_FORMATS", "TIMESTAMP_FORMATS", "LOCAL_TZ", "parse_dates", "parse_periods",
           "parse_timestamps", "parse_date_scalar", "parse_timestamp_scalar"]

# Same list and order as kho.cleaning (ISO first: it is what most systems export).
DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d")
# Month periods: BHXH "tu_thang" is MM/YYYY, health "thang" is YYYY-MM.
PERIOD_FORMATS: tuple[str, ...] = ("%m/%Y", "%Y-%m", "%m-%Y", "%Y/%m", "%m.%Y")
# Tried after ISO 8601 (datetime.fromisoformat) fails: the Vietnamese day-first forms.
TIMESTAMP_FORMATS: tuple[str, ...] = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
                                      "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M")
LOCAL_TZ = timezone(timedelta(hours=7))     # Asia/Ho_Chi_Minh, no daylight saving
EXCEL_EPOCH = date(1899, 12, 30)            # Excel's day 0 (its 1900 leap-year bug included)
EXCEL_SERIAL_RANGE = (1, 2_958_465)         # 1900-01-01 .. 9999-12-31

# strptime's own field patterns (CPython Lib/_strptime.py), with ASCII digits. Date fields
# only: formats with a time of day are parsed by the scalar rule (parse_timestamp_scalar).
_FIELDS = {
    "d": r"3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9]",
    "m": r"1[0-2]|0[1-9]|[1-9]",
    "Y": r"[0-9]{4}",
}
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"     # what str.strip() removes from ASCII text


@lru_cache(maxsize=None)
def _pattern(fmt: str) -> str:
    """An anchored RE2 pattern with named groups for a strptime format (directives above only)."""
    out, i = [], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            directive = fmt[i + 1: i + 2]
            if directive not in _FIELDS:
                raise ValueError(f"date format {fmt!r}: directive %{directive} is not supported")
            out.append(f"(?P<{directive}>{_FIELDS[directive]})")
            i += 2
        elif ch.isspace():
            out.append(r"\s+")
            i += 1
        else:
            out.append(re.escape(ch))
            i += 1
    return "^" + "".join(out) + "$"


_WIDTH = {"d": 2, "m": 2, "Y": 4}


@lru_cache(maxsize=None)
def _layout(fmt: str) -> tuple[int, tuple[tuple[str, int], ...], tuple[tuple[int, int], ...]] | None:
    """(width, ((field, start), ...), ((position, literal byte), ...)) of a format with every
    field at full width ("17/05/1990"), or None when a literal is not one ASCII byte.

    A string of exactly that width that has digits at the field positions and the literals
    elsewhere can only be read one way, so numpy reads it straight from the bytes and the
    regex is kept for the rest (short fields "7/5/1990", blanks, times).
    """
    fields, literals, pos, i = [], [], 0, 0
    while i < len(fmt):
        if fmt[i] == "%":
            directive = fmt[i + 1: i + 2]
            if directive not in _WIDTH:
                raise ValueError(f"date format {fmt!r}: directive %{directive} is not supported")
            fields.append((directive, pos))
            pos += _WIDTH[directive]
            i += 2
        else:
            if ord(fmt[i]) > 0x7F or fmt[i].isspace() or fmt[i] == "T":
                return None
            literals.append((pos, ord(fmt[i])))
            pos += 1
            i += 1
    return pos, tuple(fields), tuple(literals)


def _parse_fixed(texts: pa.Array, rows: np.ndarray, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-width rows of ``fmt``: (rows of that shape, value, valid) via numpy."""
    layout = _layout(fmt)
    if layout is None or len(rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    width, fields, literals = layout
    lengths = _utf8.lengths(texts)[rows]
    rows = rows[lengths == width]
    if len(rows) == 0:
        return rows, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    b = _utf8.fixed_width(texts, rows, width)
    shape = np.ones(len(rows), dtype=bool)
    for p, byte in literals:                   # column by column: numpy reduces along axis 1 slowly
        shape &= b[:, p] == byte
    val: dict[str, object] = {"d": 1, "m": 1}
    for name, start in fields:
        number = np.zeros(len(rows), dtype=np.int64)
        for j in range(start, start + _WIDTH[name]):
            digit = b[:, j] - np.uint8(48)
            shape &= digit <= 9
            number = number * 10 + digit
        val[name] = number
    keep = np.flatnonzero(shape)
    rows = rows[keep]

    def field(name: str) -> np.ndarray:
        v = val[name]
        return v[keep] if isinstance(v, np.ndarray) else np.full(len(keep), v, dtype=np.int64)

    days, ok = _days(field("Y"), field("m"), field("d"))
    return rows, days, ok


# -- scalar rules (the specification) ------------------------------------------------------
def parse_date_scalar(text: object, formats: Sequence[str] = DATE_FORMATS) -> date | None:
    """kho.cleaning.parse_date: strip, keep what precedes a 'T' or space, try each format."""
    if text is None:
        return None
    value = str(text).strip()
    if not value:
        return None
    value = value.split("T")[0].split(" ")[0]
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _period_scalar(text: object, formats: Sequence[str] = PERIOD_FORMATS) -> date | None:
    if text is None:
        return None
    value = str(text).strip()
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def parse_timestamp_scalar(text: object, formats: Sequence[str] = TIMESTAMP_FORMATS) -> datetime | None:
    """ISO 8601 first (``datetime.fromisoformat``, what the population job used), then ``formats``.

    Offsets are converted to Vietnam local time and dropped: processed timestamps are naive
    local wall time, as every source system writes them.
    """
    if text is None:
        return None
    value = str(text).strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
        for fmt in formats:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is not None and parsed.tzinfo is not None:
        parsed = parsed.astimezone(LOCAL_TZ).replace(tzinfo=None)
    return parsed


# -- calendar arithmetic in numpy -----------------------------------------------------------
@lru_cache(maxsize=1)
def _month_tables() -> tuple[np.ndarray, np.ndarray]:
    """(days from 1970-01-01 to the 1st, days in the month) for every month of years 0..9999,
    indexed by year * 12 + month - 1: two gathers replace calendar arithmetic per row."""
    months = np.arange(10_000 * 12, dtype=np.int64)
    years, month = months // 12, months % 12 + 1
    leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    dim = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)[month - 1] + ((month == 2) & leap)
    first = np.concatenate([[0], np.cumsum(dim)[:-1]])
    first -= first[1970 * 12]
    return first.astype(np.int64), dim.astype(np.int64)


def _days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(days since 1970-01-01, valid) for year/month/day arrays; invalid where no such day
    (year 0 included: Python's date refuses it)."""
    first, dim = _month_tables()
    ok = (y >= 1) & (y <= 9999) & (m >= 1) & (m <= 12)
    index = np.where(ok, y * 12 + m - 1, 1970 * 12)
    ok &= (d >= 1) & (d <= dim[index])
    return first[index] + d - 1, ok


def _int_field(struct: pa.StructArray, name: str, default: int) -> np.ndarray:
    try:
        field = struct.field(name)
    except KeyError:
        return np.full(len(struct), default, dtype=np.int64)
    return pc.cast(pc.utf8_trim(field, " "), pa.int64()).to_numpy()


def _parse_formats(texts: pa.Array, formats: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised strptime over ASCII texts: (days since epoch, parsed mask).

    Formats are tried in order on the rows still unparsed, each first by its full-width
    numpy reader, then by its regex on what that reader did not cover.
    """
    n = len(texts)
    result = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    for fmt in formats:
        pending = np.flatnonzero(~done)
        if len(pending) == 0:
            break
        fixed_rows, fixed_val, fixed_ok = _parse_fixed(texts, pending, fmt)
        result[fixed_rows[fixed_ok]] = fixed_val[fixed_ok]
        done[fixed_rows[fixed_ok]] = True
        pending = np.setdiff1d(pending, fixed_rows, assume_unique=True)
        if len(pending) == 0:
            continue
        sub = texts.take(pa.array(pending))
        matched = pc.extract_regex(sub, _pattern(fmt))
        hit = bool_numpy(matched.is_valid())
        if not hit.any():
            continue
        rows = pending[hit]
        parts = matched.filter(pa.array(hit))
        y, m, d = (_int_field(parts, k, 1) for k in ("Y", "m", "d"))
        days, ok = _days(y, m, d)
        result[rows[ok]] = days[ok]
        done[rows[ok]] = True
    return result, done


def _range_reason(values: np.ndarray, parsed: np.ndarray, low: int | None, high: int | None) -> np.ndarray:
    out = np.zeros(len(values), dtype=bool)
    if low is not None:
        out |= parsed & (values < low)
    if high is not None:
        out |= parsed & (values > high)
    return out


def _reasons(missing: np.ndarray, unparseable: np.ndarray, out_of_range: np.ndarray, codes: Mapping[str, str],
             prefix: str) -> pa.Array:
    names = (None,) + tuple(codes.get(f"{prefix}_{kind}", f"{prefix}_{kind}")
                            for kind in ("MISSING", "UNPARSEABLE", "OUT_OF_RANGE"))
    return labels(np.select([missing, unparseable, out_of_range], [1, 2, 3], 0), names)


def _epoch_day(day: date | None) -> int | None:
    return None if day is None else (day - date(1970, 1, 1)).days


def _prepare(values: ArrayLike) -> tuple[pa.Array, pa.DictionaryArray, pa.Array, np.ndarray]:
    """(strings, their dictionary encoding, distinct values, ASCII mask of the distinct values)."""
    arr = as_strings(values)
    encoded = arr.dictionary_encode()
    texts = encoded.dictionary
    ascii_ = bool_numpy(pc.string_is_ascii(texts)) if len(texts) else np.zeros(0, dtype=bool)
    return arr, encoded, texts, ascii_


def parse_dates(values: ArrayLike, *, formats: Sequence[str] = DATE_FORMATS, min_date: date | None = None,
                max_date: date | None = None, excel_serials: bool = False,
                reason_codes: Mapping[str, str] | None = None) -> Cleaned:
    """Text dates -> ``date32`` and a reason: DATE_MISSING, DATE_UNPARSEABLE, DATE_OUT_OF_RANGE.

    Equals ``kho.cleaning.parse_date`` for the default formats. ``excel_serials`` also reads
    a bare day number (``45123``, spreadsheets' date cells saved as text) where no format
    matched. ``reason_codes`` renames the three codes, e.g. all to BIRTH_DATE_INVALID.
    Values already typed as dates pass through, with the range check.
    """
    codes = dict(reason_codes or {})
    raw = _as_typed_dates(values)
    if raw is not None:
        days = raw.cast(pa.int32()).to_numpy(zero_copy_only=False)
        parsed = valid_mask(raw)
        out_days = np.where(parsed, np.nan_to_num(days.astype(float)), 0).astype(np.int64)
        missing, unparseable = ~parsed, np.zeros(len(raw), dtype=bool)
    else:
        arr = as_strings(values)
        n = len(arr)
        out_days = np.zeros(n, dtype=np.int64)
        parsed = np.zeros(n, dtype=bool)
        # 1. Full-width values ("1990-05-17", "17/05/1990"), most of any column, read from the
        #    bytes of the rows themselves: no strip or cut can change them.
        quick = [f for f in formats if _layout(f) is not None]
        if quick == list(formats[:len(quick)]):
            for fmt in quick:
                rows, val, good = _parse_fixed(arr, np.flatnonzero(~parsed & valid_mask(arr)), fmt)
                out_days[rows[good]], parsed[rows[good]] = val[good], True
        # 2. The rest, once per distinct value: strip, cut at 'T'/space, every format by regex.
        missing = ~valid_mask(arr)
        rest = np.flatnonzero(~parsed & ~missing)
        if len(rest):
            r_days, r_ok, r_blank = _parse_dates_distinct(arr.take(pa.array(rest)), formats, excel_serials)
            out_days[rest], parsed[rest], missing[rest] = r_days, r_ok, r_blank
        unparseable = ~missing & ~parsed
    out_of_range = _range_reason(out_days, parsed, _epoch_day(min_date), _epoch_day(max_date))
    values_out = pa.array(out_days.astype(np.int32), pa.int32(), mask=~parsed).cast(pa.date32())
    return Cleaned(values_out, _reasons(missing, unparseable, out_of_range, codes, "DATE"))


def _parse_dates_distinct(arr: pa.Array, formats: Sequence[str], excel_serials: bool
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(days, parsed, blank) per row of non-null ``arr``, computed once per distinct value."""
    encoded = arr.dictionary_encode()
    texts = encoded.dictionary
    u_days = np.zeros(len(texts), dtype=np.int64)
    u_ok = np.zeros(len(texts), dtype=bool)
    u_blank = np.zeros(len(texts), dtype=bool)
    ascii_ = bool_numpy(pc.string_is_ascii(texts))
    asc = np.flatnonzero(ascii_)
    if len(asc):
        part = pc.utf8_trim(texts.take(pa.array(asc)), characters=_ASCII_SPACE)
        u_blank[asc] = bool_numpy(pc.equal(part, ""))
        part = pc.replace_substring_regex(part, "(?s)[T ].*", "")     # split("T")[0].split(" ")[0]
        d, ok = _parse_formats(part, formats)
        if excel_serials and not ok.all():
            d, ok = _excel(part, d, ok)
        u_days[asc], u_ok[asc] = d, ok
    for i in np.flatnonzero(~ascii_):       # Python's \d takes other scripts' digits: the scalar rule decides
        text = texts[int(i)].as_py()
        u_blank[i] = not text.strip()
        day = parse_date_scalar(text, formats)
        if day is not None:
            u_days[i], u_ok[i] = _epoch_day(day), True
    idx = encoded.indices.to_numpy()
    return u_days[idx], u_ok[idx], u_blank[idx]


def _as_typed_dates(values: ArrayLike) -> pa.Array | None:
    """The values as date32 when they already are dates (a typed source column), else None."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        t = values.type
        if pa.types.is_date(t):
            arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
            return arr.cast(pa.date32())
    return None


def _excel(texts: pa.Array, days: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pending = np.flatnonzero(~ok)
    sub = texts.take(pa.array(pending))
    hit = bool_numpy(pc.match_substring_regex(sub, r"^[0-9]{1,7}(\.0+)?$"))
    if hit.any():
        rows = pending[hit]
        serial = pc.cast(pc.cast(sub.filter(pa.array(hit)), pa.float64()), pa.int64()).to_numpy()
        good = (serial >= EXCEL_SERIAL_RANGE[0]) & (serial <= EXCEL_SERIAL_RANGE[1])
        days = days.copy()
        ok = ok.copy()
        days[rows[good]] = serial[good] + _epoch_day(EXCEL_EPOCH)
        ok[rows[good]] = True
    return days, ok


def parse_periods(values: ArrayLike, *, formats: Sequence[str] = PERIOD_FORMATS, min_date: date | None = None,
                  max_date: date | None = None) -> Cleaned:
    """Month periods ("05/2026", "2026-05") -> the month's first day (``date32``); PERIOD_INVALID.

    Empty values are not a fault here (an open-ended ``den_thang`` is empty): they give null
    with no reason.
    """
    arr, encoded, texts, ascii_ = _prepare(values)
    u_days = np.zeros(len(texts), dtype=np.int64)
    u_ok = np.zeros(len(texts), dtype=bool)
    u_blank = np.zeros(len(texts), dtype=bool)
    asc = np.flatnonzero(ascii_)
    if len(asc):
        sub = pc.utf8_trim(texts.take(pa.array(asc)), characters=_ASCII_SPACE)
        u_blank[asc] = bool_numpy(pc.equal(sub, ""))
        u_days[asc], u_ok[asc] = _parse_formats(sub, formats)
    for i in np.flatnonzero(~ascii_):
        text = texts[int(i)].as_py()
        u_blank[i] = not text.strip()
        day = _period_scalar(text, formats)
        if day is not None:
            u_days[i], u_ok[i] = _epoch_day(day), True
    idx = encoded.indices
    valid = valid_mask(idx)
    take = np.where(valid, idx.fill_null(0).to_numpy(), 0) if len(texts) else np.zeros(len(arr), dtype=np.int64)
    has = len(texts) > 0
    parsed = valid & (u_ok[take] if has else False)
    blank = ~valid | (u_blank[take] if has else True)
    days = np.where(parsed, u_days[take] if has else 0, 0)
    bad = (~blank & ~parsed) | _range_reason(days, parsed, _epoch_day(min_date), _epoch_day(max_date))
    reasons = pa.array(np.where(bad, "PERIOD_INVALID", None), pa.string())
    return Cleaned(pa.array(days.astype(np.int32), pa.int32(), mask=~parsed).cast(pa.date32()), reasons)


# -- timestamps -----------------------------------------------------------------------------
_ISO19_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])


def _iso19(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Fast path for 'YYYY-MM-DD HH:MM:SS' / 'YYYY-MM-DDTHH:MM:SS' rows: (seconds, parsed).

    Rows of that shape are handed to Arrow's strict ISO 8601 cast, which agrees with
    ``datetime.fromisoformat`` on them (zero-padded fields, real calendar days, hour < 24)
    except for year 0, refused below. If any row fails the cast, numpy reads the bytes.
    """
    n = len(arr)
    secs = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    data, offsets = _utf8.buffers(arr)
    rows = np.flatnonzero((np.diff(offsets) == 19) & valid_mask(arr))
    if len(rows) == 0:
        return secs, ok
    starts = offsets[rows]
    separator = data[starts + 10]
    shape = ((data[starts + 4] == 45) & (data[starts + 7] == 45) & ((separator == 32) | (separator == 84))
             & (data[starts + 13] == 58) & (data[starts + 16] == 58))          # '-' '-' ' '|'T' ':' ':'
    rows = rows[shape]
    sub = arr if len(rows) == n else arr.take(pa.array(rows))
    try:
        values = pc.cast(sub, pa.timestamp("s")).cast(pa.int64()).to_numpy()
        good = values >= _YEAR1_SECONDS
    except pa.ArrowInvalid:
        values, good = _iso19_numpy(sub)
    secs[rows[good]] = values[good]
    ok[rows[good]] = True
    return secs, ok


_YEAR1_SECONDS = -62_135_596_800            # 0001-01-01 00:00:00


def _iso19_numpy(sub: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The same reading from the bytes, row by row valid or not (used when a row is bad)."""
    b = _utf8.fixed_width(sub, np.arange(len(sub)), 19)
    digits = b[:, _ISO19_DIGITS] - np.uint8(48)
    v = digits.astype(np.int64)
    y = v[:, 0] * 1000 + v[:, 1] * 100 + v[:, 2] * 10 + v[:, 3]
    m, d = v[:, 4] * 10 + v[:, 5], v[:, 6] * 10 + v[:, 7]
    hh, mi, ss = v[:, 8] * 10 + v[:, 9], v[:, 10] * 10 + v[:, 11], v[:, 12] * 10 + v[:, 13]
    days, good = _days(y, m, d)
    good &= (digits <= 9).all(axis=1) & (hh < 24) & (mi < 60) & (ss < 60)
    return days * 86_400 + hh * 3_600 + mi * 60 + ss, good


def parse_timestamps(values: ArrayLike, *, formats: Sequence[str] = TIMESTAMP_FORMATS,
                     min_ts: datetime | None = None, max_ts: datetime | None = None) -> Cleaned:
    """Text timestamps -> ``timestamp[us]`` (naive Vietnam local time) and TIMESTAMP_* reasons.

    'YYYY-MM-DD HH:MM:SS' (what the systems write) is parsed with numpy from the bytes; every
    other value goes through :func:`parse_timestamp_scalar` once per distinct value, so any
    ISO 8601 form ``datetime.fromisoformat`` reads (the population job's rule) and the
    day-first forms of :data:`TIMESTAMP_FORMATS` are accepted.
    """
    arr = as_strings(values)
    secs, ok = _iso19(arr)
    micros = secs * 1_000_000
    valid = valid_mask(arr)
    rest = np.flatnonzero(valid & ~ok)
    blank = ~valid
    if len(rest):
        sub = arr.take(pa.array(rest))
        parsed = map_unique(sub, lambda t: parse_timestamp_scalar(t, formats), pa.timestamp("us"))
        good = valid_mask(parsed)
        micros[rest[good]] = parsed.cast(pa.int64()).to_numpy(zero_copy_only=False)[good]
        ok[rest[good]] = True
        empty = bool_numpy(pc.equal(pc.utf8_trim_whitespace(sub), ""))
        blank[rest[empty & ~good]] = True
    low = None if min_ts is None else int((min_ts - datetime(1970, 1, 1)) / timedelta(microseconds=1))
    high = None if max_ts is None else int((max_ts - datetime(1970, 1, 1)) / timedelta(microseconds=1))
    out_of_range = _range_reason(micros, ok, low, high)
    unparseable = ~blank & ~ok
    values_out = pa.array(micros, pa.int64(), mask=~ok).cast(pa.timestamp("us"))
    return Cleaned(values_out, _reasons(blank, unparseable, out_of_range, {}, "TIMESTAMP"))
