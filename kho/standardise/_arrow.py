"""Small Arrow helpers every rule module shares: input coercion, map-over-unique, scatter.

Why they exist: the processed jobs hand us whole batches (``mapInArrow`` gives pyarrow
record batches, ``mapInPandas`` gives pandas Series, tests give lists). Each rule coerces
its input once to one contiguous ``pa.Array``, does the common case with vectorised
kernels, and sends only the rare leftovers through a scalar Python rule, once per
*distinct* value (:func:`map_unique`), never once per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Union

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

ArrayLike = Union[pa.Array, pa.ChunkedArray, pd.Series, np.ndarray, Iterable[Any]]


class Cleaned(NamedTuple):
    """What every rule returns: the cleaned values and, per row, a reason code or null.

    ``reasons`` holds codes of :data:`kho.standardise.reasons.REASONS` (null when the value is
    fine), so a job can quarantine with ``reasons.is_valid()`` and never invents its own codes.
    """

    values: pa.Array
    reasons: pa.Array


def as_array(values: ArrayLike, type_: pa.DataType | None = None) -> pa.Array:
    """One contiguous Arrow array from whatever the caller has (Arrow, pandas, numpy, list).

    Chunked arrays are combined: the kernels below read raw buffers, and one batch of a
    Spark partition is small enough that a copy costs less than per-chunk bookkeeping.
    """
    if isinstance(values, pa.ChunkedArray):
        arr = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    elif isinstance(values, pa.Array):
        arr = values
    elif isinstance(values, pd.Series):
        arr = pa.array(values, from_pandas=True)
    else:
        arr = pa.array(values if isinstance(values, np.ndarray) else list(values), from_pandas=True)
    if isinstance(arr, pa.DictionaryArray):
        arr = arr.dictionary_decode()
    if type_ is not None and arr.type != type_:
        arr = arr.cast(type_)
    return arr


def as_strings(values: ArrayLike) -> pa.Array:
    """A ``pa.string()`` array; non-string inputs (ints from a typed source) are cast to text.

    Source columns are text in the raw zone, but a database driver may hand back a number
    for a code column; the rules judge the text, as ``str(value)`` would.
    """
    arr = as_array(values)
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        return arr.cast(pa.string())
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    if not pa.types.is_string(arr.type):
        if pa.types.is_floating(arr.type) or pa.types.is_boolean(arr.type):   # Arrow writes 1 / true, Python 1.0 / True
            return map_unique(arr, lambda v: None if v is None else str(v), pa.string())
        return arr.cast(pa.string())
    return arr


def map_unique(arr: pa.Array, fn: Callable[[Any], Any], type_: pa.DataType) -> pa.Array:
    """``fn`` applied once per distinct value of ``arr`` (nulls included), mapped back to rows.

    The lookup-dict pattern the brief allows: dictionary-encode, call Python on the
    dictionary only, ``take`` the results back. Cost grows with cardinality, not rows.
    """
    if len(arr) == 0:
        return pa.array([], type_)
    encoded = arr.dictionary_encode(null_encoding="encode")
    mapped = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], type_)
    return mapped.take(encoded.indices)


def map_unique_many(arr: pa.Array, fn: Callable[[Any], tuple[Any, ...]],
                    types: tuple[pa.DataType, ...]) -> tuple[pa.Array, ...]:
    """Like :func:`map_unique` for a scalar rule returning a tuple (value, reason, ...)."""
    if len(arr) == 0:
        return tuple(pa.array([], t) for t in types)
    encoded = arr.dictionary_encode(null_encoding="encode")
    results = [fn(v) for v in encoded.dictionary.to_pylist()]
    return tuple(pa.array([r[i] for r in results], t).take(encoded.indices) for i, t in enumerate(types))


def patch(base: pa.Array, mask: np.ndarray, replacement: Callable[[pa.Array], pa.Array], source: pa.Array | None = None,
          ) -> pa.Array:
    """``base`` with the rows where ``mask`` is true replaced by ``replacement(source[mask])``.

    ``source`` defaults to ``base``. Used to send only the rows a fast path could not
    certify through a slower exact rule.
    """
    if not mask.any():
        return base
    src = base if source is None else source
    rows = np.flatnonzero(mask)
    fixed = replacement(src.take(pa.array(rows)))
    if fixed.type != base.type:
        fixed = fixed.cast(base.type)
    return replace_rows(base, rows, fixed)


def replace_rows(base: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """``base`` with ``base[rows[i]] = values[i]``; ``rows`` sorted and unique.

    For strings the new buffers are spliced with numpy (one concatenate of the unchanged
    runs and the new values): Arrow's ``replace_with_mask`` rebuilds a string column
    value by value, which costs more than the whole rule when the column is large and
    only a few rows change.
    """
    if len(rows) == 0:
        return base
    if not pa.types.is_string(base.type) or base.offset or len(rows) * 4 > len(base):
        mask = np.zeros(len(base), dtype=bool)
        mask[rows] = True
        return pc.replace_with_mask(base, pa.array(mask), values)
    from kho.standardise._utf8 import buffers

    data, offsets = buffers(base)
    new_data, new_offsets = buffers(values)
    new_lengths = np.diff(new_offsets)
    old_lengths = np.diff(offsets)
    lengths = old_lengths.copy()
    lengths[rows] = new_lengths
    out_offsets = np.zeros(len(base) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_offsets[1:])
    if len(data) == 0:                        # e.g. an all-null column being filled: no runs to keep
        out_data = new_data
    else:
        pieces: list[np.ndarray] = []
        previous_end = 0
        for k, row in enumerate(rows):
            pieces.append(data[previous_end: offsets[row]])
            pieces.append(new_data[new_offsets[k]: new_offsets[k + 1]])
            previous_end = offsets[row + 1]
        pieces.append(data[previous_end:])
        out_data = np.concatenate(pieces)
    if out_offsets[-1] >= 2 ** 31:
        mask = np.zeros(len(base), dtype=bool)
        mask[rows] = True
        return pc.replace_with_mask(base, pa.array(mask), values)
    validity = valid_mask(base)
    new_valid = valid_mask(values)
    if base.null_count or not new_valid.all():
        validity = validity.copy()
        validity[rows] = new_valid
        bitmap = pa.py_buffer(np.packbits(validity, bitorder="little"))
        null_count = int((~validity).sum())
    else:
        bitmap, null_count = None, 0
    return pa.StringArray.from_buffers(len(base), pa.py_buffer(out_offsets.astype(np.int32)),
                                       pa.py_buffer(out_data), bitmap, null_count)


def reason_where(mask: np.ndarray, code: str) -> pa.Array:
    """A reason column: ``code`` where ``mask`` is true, null elsewhere."""
    if len(mask) == 0:
        return pa.array([], pa.string())
    indices = pa.array(np.zeros(len(mask), dtype=np.int32), pa.int32(), mask=~mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array([code])).dictionary_decode()


def valid_mask(arr: pa.Array) -> np.ndarray:
    """True where ``arr`` is not null, as a numpy bool array."""
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def bool_numpy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as numpy, nulls as False."""
    return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def labels(which: np.ndarray, names: tuple[str | None, ...]) -> pa.Array:
    """A string column from small integer codes: ``names[which[i]]``, null where it is None.

    Built as a dictionary array and decoded in C++: far cheaper than a numpy object array
    of Python strings when there are hundreds of thousands of rows.
    """
    which = np.asarray(which)
    null_codes = [i for i, name in enumerate(names) if name is None]
    if null_codes == [0]:
        mask = which == 0
    else:
        mask = np.isin(which, null_codes) if null_codes else None
    dictionary = pa.array([name if name is not None else "" for name in names], pa.string())
    indices = pa.array(which.astype(np.int32), pa.int32(), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()
