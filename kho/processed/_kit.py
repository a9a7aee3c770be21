"""The small rule kit the processed modules share: checks, reject reasons with details, flags, assembly.

Each cleaning rule builds per-column :class:`Check` s and values, then :func:`_assemble` s the
output the processed job expects (schema columns + RULE_COLUMNS). Private names are kept so
the rule modules read the same as before the kit was shared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho.processed.base import RULE_COLUMNS
from kho.standardise._arrow import as_array, as_strings, bool_numpy, map_unique, replace_rows, valid_mask
from kho.standardise.codes import normalize_codes
from kho.standardise.reasons import REASONS

__all__ = ['Check', '_table', '_col', '_record_id', '_show', '_reject', '_dedupe_codes', '_flags', '_completeness', '_assemble', '_codes']


class Check(NamedTuple):
    """One validation: per-row reason codes, the source column it judged, the raw values shown."""

    reasons: pa.Array
    column: str
    raw: pa.Array


def _table(batch: pa.Table | pa.RecordBatch) -> pa.Table:
    return pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch


def _col(table: pa.Table, name: str) -> pa.Array:
    """A raw column as one array (all-null text when the batch lacks it)."""
    return as_array(table[name]) if name in table.column_names else pa.nulls(table.num_rows, pa.string())


def _record_id(table: pa.Table, key: tuple[str, ...]) -> pa.Array:
    """The raw key columns as text, as spark_jobs.processed keys them (U+241F between parts,
    U+2205 for null)."""
    parts = [as_strings(_col(table, c)).fill_null("\u2205") for c in key]
    return parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\u241f")


def _show(value: object) -> str:
    return "empty" if value is None else repr(value) if isinstance(value, str) else str(value)


def _reject(n: int, checks: list[Check]) -> tuple[pa.Array, pa.Array]:
    """(reason, detail): the first failing check of each row, in list order; details only for
    the rejected rows (few), naming the column and its raw value."""
    reason = pc.coalesce(*(c.reasons for c in checks)) if checks else pa.nulls(n, pa.string())
    rows = np.flatnonzero(valid_mask(reason))
    detail = pa.nulls(n, pa.string())
    if len(rows):
        take = pa.array(rows)
        seen = [(c.reasons.take(take).to_pylist(), c.column, c.raw.take(take).to_pylist()) for c in checks]
        texts = []
        for k in range(len(rows)):
            for codes, column, raws in seen:
                if codes[k] is not None:
                    texts.append(f"{column} {_show(raws[k])}: {REASONS[codes[k]]}")
                    break
        detail = replace_rows(detail, rows, pa.array(texts, pa.string()))
    return reason, detail


def _dedupe_codes(text: str | None) -> str | None:
    codes = [code for code in (text or "").split(",") if code]
    return ",".join(dict.fromkeys(codes)) or None


def _flags(n: int, *reasons: pa.Array) -> pa.Array:
    """Warning codes per row, comma-separated in argument order, each once; null when none.
    (pyarrow 26's ``null_handling="skip"`` drops rows, so nulls are joined empty and removed.)"""
    if not reasons:
        return pa.nulls(n, pa.string())
    joined = pc.binary_join_element_wise(*(r.cast(pa.string()).fill_null("") for r in reasons), ",")
    return map_unique(joined, _dedupe_codes, pa.string())


def _completeness(n: int, present: list[pa.Array], points: Iterable[pa.Array] = ()) -> pa.Array:
    """Non-null business columns, plus one per true ``points`` flag (e.g. an accented name)."""
    total = np.zeros(n, dtype=np.int32)
    for column in present:
        total += valid_mask(column)
    for flag in points:
        total += bool_numpy(flag)
    return pa.array(total, pa.int32())


def _assemble(schema: pa.Schema, values: dict[str, pa.Array], record_id: pa.Array, reason: pa.Array,
              detail: pa.Array, completeness: pa.Array) -> pa.Table:
    arrays = [values[f.name].cast(f.type) for f in schema] + [record_id, reason, detail, completeness]
    return pa.Table.from_arrays(arrays, names=schema.names + list(RULE_COLUMNS))


def _codes(values: pa.Array, table: dict[str, str]) -> tuple[pa.Array, pa.Array]:
    cleaned = normalize_codes(values, table, pa.string())
    return cleaned.values, cleaned.reasons
