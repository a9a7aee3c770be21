"""Declared column types (registry ``expected_schema``) as Arrow types, and casting source values to them.

Raw keeps what the source delivered, in the type the registry declares, so the same source
on SQLite (embedded profile: everything is TEXT) and on PostgreSQL (cluster profile: real
DATE / TIMESTAMP columns) lands as identical raw tables. A value that cannot be read as its
declared type is a contract breach of the source, not dirty data: the cast raises
:class:`~kho.ingest.connectors.base.SourceSchemaError` naming column, type and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kho.ingest.connectors.base import SourceSchemaError

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(), "int": pa.int32(), "bigint": pa.int64(), "double": pa.float64(),
    "decimal": pa.decimal128(38, 6), "date": pa.date32(), "timestamp": pa.timestamp("us"), "boolean": pa.bool_(),
}
_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n"}


def arrow_type(declared: str) -> pa.DataType:
    return ARROW_TYPES[declared]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") and hasattr(value, "year") else value.isoformat()
    return str(value)


def _first_bad(values: Sequence[Any], target: pa.DataType) -> Any:
    for value in values:
        if value is None:
            continue
        try:
            pa.array([value]).cast(target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return value
    return None


def to_arrow(values: Sequence[Any] | pa.Array, declared: str | None, column: str, where: str) -> pa.Array:
    """Source values (a Python sequence or an Arrow array) -> an Arrow array of the declared type.

    ``declared`` None (a column the registry does not know yet) keeps the inferred type.
    """
    if declared is None:
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            return values
        try:
            return pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([_text(v) for v in values], type=pa.string())
    target = ARROW_TYPES[declared]
    if declared == "string":
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            return values if values.type == pa.string() else pa.array([_text(v) for v in values.to_pylist()], pa.string())
        try:
            return pa.array(values, type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # SQLite hands back ints/floats in TEXT columns
            return pa.array([_text(v) for v in values], type=pa.string())
    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else None
    if array is None:
        try:
            return pa.array(values, type=target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            try:
                array = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                array = pa.array([_text(v) for v in values], type=pa.string())
    if array.type == target:
        return array
    try:
        if declared == "boolean" and pa.types.is_string(array.type):
            lowered = pc.utf8_lower(pc.utf8_trim_whitespace(array))
            bad = pc.and_(pc.invert(pc.is_in(lowered, pa.array(sorted(_TRUE | _FALSE)))), pc.is_valid(lowered))
            if pc.any(bad).as_py():
                raise pa.ArrowInvalid("not a boolean")
            return pc.if_else(pc.is_valid(lowered), pc.is_in(lowered, pa.array(sorted(_TRUE))), None)
        if declared == "timestamp" and pa.types.is_timestamp(array.type) and array.type.tz is not None:
            raise pa.ArrowInvalid("the source gives zone-aware timestamps; declare a zone-free local time")
        if declared == "date" and pa.types.is_timestamp(array.type):
            raise pa.ArrowInvalid("the source gives timestamps where a date is declared")
        return array.cast(target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        bad = _first_bad(array.to_pylist(), target)
        shown = f" (first bad value {bad!r})" if bad is not None else ""
        raise SourceSchemaError(
            f"{where}: column {column!r} is declared {declared} but the source delivers "
            f"{array.type}{shown}: {exc}. Fix expected_schema (a retyped column needs a data engineer's "
            f"decision) or the source; nothing of this batch was written") from None


def table_from_rows(names: Sequence[str], rows: Sequence[Sequence[Any]], declared: dict[str, str],
                    where: str) -> pa.Table:
    """DB-API rows -> an Arrow table with declared types (columns transposed once, then typed)."""
    columns = list(zip(*rows)) if rows else [() for _ in names]
    return pa.table({name: to_arrow(list(values), declared.get(name), name, where)
                     for name, values in zip(names, columns)})


def conform(table: pa.Table, declared: dict[str, str], where: str) -> pa.Table:
    """Cast the declared columns of an Arrow table to their declared types (others unchanged)."""
    for i, name in enumerate(table.column_names):
        if name in declared and table.schema.field(i).type != ARROW_TYPES[declared[name]]:
            table = table.set_column(i, name, to_arrow(table.column(i).combine_chunks(), declared[name], name, where))
    return table
