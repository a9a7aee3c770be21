"""SQL databases over DB-API: PostgreSQL (psycopg2), MySQL/MariaDB (PyMySQL) and SQLite.

Reads stream in chunks through a server-side cursor (SQLAlchemy ``stream_results``), so a
table larger than memory is not fetched at once by the driver. The source schema is
reflected before reading: a declared column that is missing or whose type family changed
fails fast with the column named (SQLite, which stores dates as TEXT, is checked by value).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kho.ingest.connectors.base import Connector, CursorWindow, SourceSchemaError
from kho.ingest.types import table_from_rows

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import Engine

    from kho.ingest.registry import ObjectConfig

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
_DRIVERS = {"postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql", "sqlite": "sqlite"}
# Declared type -> source type families that may deliver it without a retype.
_COMPATIBLE = {
    "string": {"string"}, "int": {"int"}, "bigint": {"int"}, "double": {"float", "decimal", "int"},
    "decimal": {"decimal", "float", "int"}, "date": {"date"}, "timestamp": {"timestamp"},
    "boolean": {"boolean", "int"},
}


def _family(sa_type: Any) -> str:
    from sqlalchemy import types as T

    for cls, family in ((T.Boolean, "boolean"), (T.Integer, "int"), (T.Float, "float"), (T.Numeric, "decimal"),
                        (T.DateTime, "timestamp"), (T.Date, "date"), (T.String, "string"), (T.Enum, "string")):
        if isinstance(sa_type, cls):
            return family
    return "other"


class SqlConnector(Connector):
    transports = ("direct",)

    def _engine(self) -> Engine:
        if getattr(self, "_engine_cache", None) is None:
            from sqlalchemy import create_engine

            url = self.connection.sqlalchemy_url()
            scheme = url.split(":", 1)[0]
            url = _DRIVERS[scheme] + url[len(scheme):]
            kwargs: dict[str, Any] = {"pool_pre_ping": True}
            if scheme == "mysql":
                kwargs["connect_args"] = {"charset": "utf8mb4"}
            self._engine_cache = create_engine(url, **kwargs)
        return self._engine_cache

    @property
    def dialect(self) -> str:
        return self._engine().dialect.name

    def source_columns(self, obj: ObjectConfig) -> dict[str, str]:
        """Column name -> type family, from the database catalogue (in table order)."""
        from sqlalchemy import inspect
        from sqlalchemy.exc import NoSuchTableError

        try:
            columns = inspect(self._engine()).get_columns(obj.source)
        except NoSuchTableError:
            raise SourceSchemaError(f"{self._where(obj)}: table {obj.source!r} does not exist in the source "
                                    f"({self.connection.redacted()})") from None
        return {c["name"]: _family(c["type"]) for c in columns}

    def _check(self, obj: ObjectConfig, found: dict[str, str]) -> None:
        for spec in obj.expected_schema:
            family = found.get(spec.name)
            if family is None:
                continue  # a missing column is the loader's schema-policy decision (it names the policy)
            if self.dialect == "sqlite" and family in ("string", "other"):
                continue  # SQLite TEXT holds dates and numbers; the value cast checks them
            if family not in _COMPATIBLE[spec.type]:
                raise SourceSchemaError(
                    f"{self._where(obj)}: column {spec.name!r} is declared {spec.type} but the source column is "
                    f"{family} (retyped at the source?); schema policy '{obj.schema_policy}' never accepts a "
                    f"retyped column: update expected_schema after checking with the owner; nothing was written")

    def _where(self, obj: ObjectConfig) -> str:
        return f"{self.source.system}.{obj.name} ({obj.source})"

    def _quote(self, name: str) -> str:
        return self._engine().dialect.identifier_preparer.quote(name)

    def query(self, obj: ObjectConfig, columns: list[str], window: CursorWindow | None) -> tuple[str, dict[str, Any]]:
        select = ", ".join(self._quote(c) for c in columns)
        sql = f"SELECT {select} FROM {self._quote(obj.source)}"
        params: dict[str, Any] = {}
        if window is not None and obj.cursor_column:
            cursor = self._quote(obj.cursor_column)
            clauses = []
            if window.lower is not None:
                clauses.append(f"{cursor} >= :lower")
                params["lower"] = window.lower
            if window.upper is not None:
                clauses.append(f"{cursor} < :upper")
                params["upper"] = window.upper
            if clauses:
                sql += " WHERE " + " AND ".join(clauses)
        return sql, params

    def read(self, obj: ObjectConfig, window: CursorWindow | None = None) -> Iterator[pa.Table]:
        from sqlalchemy import text

        found = self.source_columns(obj)
        self._check(obj, found)
        declared = {c.name: c.type for c in obj.expected_schema}
        columns = list(found)
        sql, params = self.query(obj, columns, window)
        where = self._where(obj)
        rows_total = 0
        with self._engine().connect().execution_options(stream_results=True, max_row_buffer=CHUNK_ROWS) as con:
            result = con.execute(text(sql), params)
            while True:
                rows = result.fetchmany(CHUNK_ROWS)
                if not rows:
                    break
                rows_total += len(rows)
                yield table_from_rows(columns, rows, declared, where)
                if rows_total % (CHUNK_ROWS * 10) == 0:
                    log.info("%s: %d rows read", where, rows_total)
        if rows_total == 0:  # an empty read still says which columns the source has
            yield table_from_rows(columns, [], declared, where)

    def describe(self, obj: ObjectConfig) -> dict[str, Any]:
        return super().describe(obj) | {"database": self.connection.redacted(), "engine": "python"}

    def close(self) -> None:
        engine = getattr(self, "_engine_cache", None)
        if engine is not None:
            engine.dispose()
            self._engine_cache = None
