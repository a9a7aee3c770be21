"""Ingestion state in the ``_system`` zone: which files were loaded, and how far each object got.

Two append-only Delta tables, written with delta-rs:

* ``_system/ingest/file_loads``: one row per file loaded into raw (system, object, path, size,
  sha256, batch id, rows, time). A file is identified by its content (sha256), so a renamed
  copy of a loaded file is recognised and skipped.
* ``_system/ingest/cursors``: the history of incremental cursors (system, object, value, batch,
  time). Nothing is updated in place; the latest row of an object wins.

Both are tiny (one row per file or per run), so they are read whole; no DuckDB needed.
deltalake is imported lazily (it is not fork-safe, see kho/lake.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from kho.lake import TableRef, Zone, delta_append, delta_exists, storage_options

if TYPE_CHECKING:
    import pyarrow as pa

    from kho.settings import Settings

FILE_LOADS = TableRef(Zone.SYSTEM, "ingest", "file_loads")
CURSORS = TableRef(Zone.SYSTEM, "ingest", "cursors")


def _file_loads_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        ("system", pa.string()), ("object", pa.string()), ("file_path", pa.string()), ("file_name", pa.string()),
        ("size", pa.int64()), ("sha256", pa.string()), ("batch_id", pa.string()), ("rows", pa.int64()),
        ("loaded_at", pa.timestamp("us", tz="UTC")),
    ])


def _cursors_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        ("system", pa.string()), ("object", pa.string()), ("cursor_value", pa.string()), ("batch_id", pa.string()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ])


def _read(path: str, columns: list[str], system: str | None, obj: str | None) -> list[dict]:
    """Rows of a small state table, optionally for one system/object (empty when the table is new)."""
    if not delta_exists(path):
        return []
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    table = DeltaTable(path, storage_options=storage_options()).to_pyarrow_table(columns=columns)
    if system is not None:
        table = table.filter(pc.equal(table["system"], system))
    if obj is not None:
        table = table.filter(pc.equal(table["object"], obj))
    return table.to_pylist()


@dataclass(frozen=True)
class FileLoad:
    system: str
    object: str
    file_path: str
    file_name: str
    size: int
    sha256: str
    batch_id: str
    rows: int
    loaded_at: datetime


class FileLedger:
    """The files loaded into raw, keyed by content checksum.

    ``seen(sha)`` without a system/object answers "was this content ever loaded anywhere";
    connectors pass their system and object, because one workbook may feed two raw tables
    (one per sheet) and must be loaded once for each.
    """

    def __init__(self, settings: Settings) -> None:
        self.path = FILE_LOADS.path(settings)

    def loads(self, system: str | None = None, obj: str | None = None) -> list[FileLoad]:
        return [FileLoad(**row) for row in _read(self.path, list(FileLoad.__dataclass_fields__), system, obj)]

    def checksums(self, system: str | None = None, obj: str | None = None) -> set[str]:
        """All loaded checksums (for one system/object): read once per run, then test membership."""
        return {row["sha256"] for row in _read(self.path, ["system", "object", "sha256"], system, obj)}

    def seen(self, sha256: str, *, system: str | None = None, obj: str | None = None) -> bool:
        return sha256 in self.checksums(system, obj)

    def record(self, *, system: str, obj: str, file_path: str, size: int, sha256: str, batch_id: str,
               rows: int, loaded_at: datetime | None = None) -> None:
        """Append one loaded file; call only after the raw commit that holds its rows."""
        import pyarrow as pa

        row = {"system": system, "object": obj, "file_path": str(file_path),
               "file_name": str(file_path).replace("\\", "/").rsplit("/", 1)[-1], "size": int(size),
               "sha256": sha256, "batch_id": batch_id, "rows": int(rows),
               "loaded_at": loaded_at or datetime.now(timezone.utc)}
        delta_append(self.path, pa.Table.from_pylist([row], schema=_file_loads_schema()))


class CursorStore:
    """Incremental cursors per (system, object): an append-only history where the latest row wins."""

    def __init__(self, settings: Settings) -> None:
        self.path = CURSORS.path(settings)

    def history(self, system: str, obj: str) -> list[dict]:
        rows = _read(self.path, ["system", "object", "cursor_value", "batch_id", "updated_at"], system, obj)
        return sorted(rows, key=lambda r: r["updated_at"])

    def get(self, system: str, obj: str) -> str | None:
        rows = self.history(system, obj)
        return rows[-1]["cursor_value"] if rows else None

    def set(self, system: str, obj: str, cursor_value: str, *, batch_id: str | None = None,
            updated_at: datetime | None = None) -> None:
        import pyarrow as pa

        now = updated_at or datetime.now(timezone.utc)
        latest = self.history(system, obj)
        if latest and latest[-1]["updated_at"] >= now:  # keep "latest wins" strict on a coarse clock
            from datetime import timedelta

            now = latest[-1]["updated_at"] + timedelta(microseconds=1)
        row = {"system": system, "object": obj, "cursor_value": str(cursor_value), "batch_id": batch_id,
               "updated_at": now}
        delta_append(self.path, pa.Table.from_pylist([row], schema=_cursors_schema()))
