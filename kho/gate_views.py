"""A gate's batch as a DuckDB view over the Delta table's own Parquet files (no copy).

Why: a quality gate validates only the rows a step just wrote. Copying them into a scratch
DuckDB table cost more than the load it guarded on large raw tables (3.5 s for one million
citizens, against 0.1 s of GX checks), and the copy is paid again by every gate. A view over
the very files that may hold the batch costs nothing to create; DuckDB reads only the
columns each expectation needs, and GX's queries run on it read-only.

Used only where it is exact and cheap:

* the lake is on local disk (a DuckDB file opened by GX knows no object-store secret);
* the batch is named by one column's values (raw and processed: ``_batch_id IN (...)``), so
  the files are chosen by the Delta log's min/max statistics of that column;
* every column of the table's schema is in the chosen files (a column added by schema
  evolution after them would be missing from the view).

Otherwise :func:`create_batch_view` returns None and the gate copies the rows as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from kho.sqlquote import sql_ident, sql_literal

log = logging.getLogger(__name__)

# Delta primitive types of partition columns -> DuckDB types (partition values live in the
# file paths, as strings; they are cast back to the table's type in the view).
_PARTITION_TYPES = {
    "string": "VARCHAR", "date": "DATE", "integer": "INTEGER", "long": "BIGINT", "short": "SMALLINT",
    "byte": "TINYINT", "boolean": "BOOLEAN", "timestamp": "TIMESTAMPTZ", "timestamp_ntz": "TIMESTAMP",
}


def may_hold(values: Sequence[str], low: str | None, high: str | None) -> bool:
    """Whether a file whose column statistics are [low, high] may hold one of ``values``.

    Conservative: missing statistics mean "maybe"; a string statistic may be truncated to a
    prefix (the true minimum is >= ``low``; the true maximum starts with ``high``), so the
    upper bound is compared on the value's prefix of the same length.
    """
    for value in values:
        if low is not None and value < low:
            continue
        if high is not None and value[: len(high)] > high:
            continue
        return True
    return False


def batch_files(table_path: str, column: str, values: Sequence[str]) -> tuple[list[str], Any] | None:
    """The table's data files that may hold a row with ``column`` in ``values`` (absolute
    paths) and its DeltaTable; None when the table is not a local Delta table."""
    from deltalake import DeltaTable

    if "://" in table_path and not table_path.startswith("file://"):
        return None
    table = DeltaTable(table_path)
    features = set(table.protocol().reader_features or ())
    if features & {"deletionVectors", "columnMapping"}:  # the Parquet files alone would be wrong
        return None
    actions = table.get_add_actions(flatten=True)
    columns = list(actions.column_names)
    paths = [str(p) for p in actions.column("path").to_pylist()]
    lows = actions.column(f"min.{column}").to_pylist() if f"min.{column}" in columns else [None] * len(paths)
    highs = actions.column(f"max.{column}").to_pylist() if f"max.{column}" in columns else [None] * len(paths)
    root = Path(table_path.removeprefix("file://"))
    paths = [unquote(p) for p in paths]  # the log stores URIs (a partition value may be escaped)
    chosen = [str(root / p) if not p.startswith("/") else p
              for p, low, high in zip(paths, lows, highs)
              if may_hold(values, low if isinstance(low, str) else None, high if isinstance(high, str) else None)]
    return chosen, table


def create_batch_view(con, view: str, table_path: str, column: str, values: Sequence[str]) -> int | None:
    """Create view ``view`` in DuckDB connection ``con`` over the rows of the Delta table at
    ``table_path`` whose ``column`` is one of ``values``; return its row count, or None when
    a view would not be exact here (the caller then copies the rows)."""
    found = batch_files(table_path, column, values)
    if found is None:
        return None
    files, table = found
    if not files:
        con.execute(f"CREATE VIEW {sql_ident(view)} AS SELECT NULL AS {sql_ident(column)} WHERE false")
        return 0
    schema = table.schema()
    partition_types: dict[str, str] = {}
    fields = {f.name: f for f in schema.fields}
    for name in table.metadata().partition_columns:
        delta_type = getattr(getattr(fields.get(name), "type", None), "type", None)
        if delta_type not in _PARTITION_TYPES:
            return None
        partition_types[name] = _PARTITION_TYPES[delta_type]
    file_list = ", ".join(sql_literal(f) for f in files)
    casts = ", ".join(f"CAST({sql_ident(n)} AS {t}) AS {sql_ident(n)}" for n, t in partition_types.items())
    replace = f" REPLACE ({casts})" if casts else ""
    scan = (f"read_parquet([{file_list}], union_by_name = true, hive_partitioning = {str(bool(partition_types)).lower()}"
            + (", hive_types_autocast = false" if partition_types else "") + ")")
    values_sql = ", ".join(sql_literal(v) for v in values)
    con.execute(f"CREATE VIEW {sql_ident(view)} AS SELECT *{replace} FROM {scan} "
                f"WHERE {sql_ident(column)} IN ({values_sql})")
    have = {row[0] for row in con.execute(f"DESCRIBE {sql_ident(view)}").fetchall()}
    missing = [f.name for f in schema.fields if f.name not in have]
    if missing:
        log.debug("batch view of %s lacks %s (schema evolved): copying instead", table_path, missing)
        con.execute(f"DROP VIEW {sql_ident(view)}")
        return None
    return int(con.execute(f"SELECT count(*) FROM {sql_ident(view)}").fetchone()[0])
