"""Amounts of Vietnamese dong written as text: "5.310.000", "5,310,000", "5 310 000 đ".

VND has no minor unit in practice, so a dot or comma is a thousands separator, never a
decimal point: "5.310" is 5,310 dong. A value is accepted only when its groups are well
formed (1-3 digits, then groups of exactly 3), so "5.31" or "1.2.3" are MALFORMED rather
than guessed. Numbers already typed as integers or floats pass through (floats must be whole).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho.standardise._arrow import ArrayLike, Cleaned, as_array, bool_numpy, labels, valid_mask

__all__ = ["parse_vnd", "CURRENCY_SUFFIX"]

# Trailing currency words removed before judging (case-insensitive).
CURRENCY_SUFFIX = r"(?i)\s*(vnđ|vnd|đồng|dong|đ|d)\.?$"
_GROUPED = r"^-?[0-9]{1,3}([.,\x{00a0} ][0-9]{3})+$"
_PLAIN = r"^-?[0-9]+$"


def parse_vnd(values: ArrayLike, *, positive: bool = False, required: bool = False) -> Cleaned:
    """Text or numbers -> int64 dong; MONEY_MISSING (if ``required``), MONEY_MALFORMED, and
    MONEY_NOT_POSITIVE where ``positive`` and the amount is zero or negative (charter capital,
    wages, transaction values must be positive)."""
    arr = as_array(values)
    n = len(arr)
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        as_float = arr.cast(pa.float64())
        present = valid_mask(arr)
        f = as_float.fill_null(0).to_numpy(zero_copy_only=False)
        whole = np.isfinite(f) & (np.floor(f) == f) & (np.abs(f) < 2 ** 62)
        ints = np.where(whole, f, 0).astype(np.int64)
        malformed = present & ~whole
    else:
        text = pc.utf8_trim_whitespace(arr.cast(pa.string()))
        text = pc.replace_substring_regex(text, CURRENCY_SUFFIX, "")
        present = valid_mask(text) & ~bool_numpy(pc.equal(text, ""))
        grouped = bool_numpy(pc.match_substring_regex(text, _GROUPED))
        plain = bool_numpy(pc.match_substring_regex(text, _PLAIN))
        digits = pc.replace_substring_regex(text, r"[.,\x{00a0} ]", "")
        ok = present & (grouped | plain) & (pc.utf8_length(digits).fill_null(0).to_numpy(zero_copy_only=False) <= 18)
        ints = np.zeros(n, dtype=np.int64)
        rows = np.flatnonzero(ok)
        if len(rows):
            ints[rows] = pc.cast(digits.take(pa.array(rows)), pa.int64()).to_numpy()
        malformed = present & ~ok
    parsed = present & ~malformed
    not_positive = parsed & (ints <= 0) & positive
    missing = ~present & required
    which = np.select([missing, malformed, not_positive], [1, 2, 3], 0)
    return Cleaned(pa.array(ints, pa.int64(), mask=~parsed),
                   labels(which, (None, "MONEY_MISSING", "MONEY_MALFORMED", "MONEY_NOT_POSITIVE")))
