"""File-drop connector: CSV, XLSX, JSON and JSONL files -> ``raw/<system>/<object>``.

One file is one batch (``<system>.<object>.<file stem>``) and one Delta commit, so a reader sees
a file's rows all or not at all. Raw keeps data as received: every source column is a string
(XLSX cells and JSON values are turned into their text; nested JSON stays JSON text), empty CSV
fields stay empty strings. The ingestion columns of ARCHITECTURE.md are added, plus
``_source_file`` and the partition column ``_ingest_date`` (the logical date).

Idempotency has two layers:

* the file ledger (``_system/ingest/file_loads``, kho.ingest.state) is keyed by sha256, so a file
  loaded once, even under another name, is skipped;
* the raw commit itself carries Delta app transactions ``kho.file.<sha256>`` and
  ``kho.batch.<batch id>``. A run killed after the raw commit but before the ledger row finds
  them on the next run and only completes the ledger, instead of loading the file twice.

Schema policy (field-pitfalls row 22), checked against the raw table's current columns (and
``expected_columns`` when given) before anything is written:

* ``evolve``: a column the file adds is added to the table (``schema_mode="merge"``; older rows
  read null). A column of the table that the file lacks (removed, or renamed at the source)
  fails the file.
* ``freeze``: any difference fails the file.

A failing file stops the run (later files wait, so a drop's order is kept); files before it
stay loaded. Every file loaded or failed gets a run-log row (``kho.runlog.step``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal

from kho import runlog
from kho.ingest.schema import SchemaPolicyError as SchemaPolicyError  # raised from here (ingest_files)
from kho.ingest.schema import check_columns
from kho.ingest.state import FileLedger
from kho.lake import TableRef, Zone, delta_exists, storage_options

if TYPE_CHECKING:
    import pyarrow as pa

    from kho.settings import Settings

log = logging.getLogger(__name__)

INGEST_COLUMNS = ("_batch_id", "_ingested_at", "_source_system", "_source_object", "_record_hash",
                  "_source_file", "_ingest_date")
PARTITION_BY = ["_ingest_date"]
FORMATS = ("csv", "xlsx", "json", "jsonl")
SchemaPolicy = Literal["freeze", "evolve"]
# Characters a Delta column name may not hold without column mapping.
_BAD_NAME_CHARS = " ,;{}()\n\t="


class ReconciliationError(RuntimeError):
    """Rows read from a file differ from the rows raw holds for its batch."""


class DuplicateBatchError(RuntimeError):
    """A file's batch id is already in raw, loaded from different content."""


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    file: str
    rows_read: int
    rows_written: int
    bytes: int
    sha256: str
    delta_version: int
    seconds: float  # read + hash (done while the previous file commits) + write, verify and ledger


# -- reading ----------------------------------------------------------------------------------

def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _clean_names(raw: list[Any]) -> list[str]:
    """Header cells -> column names: BOM and blanks stripped, Delta-unsafe characters to ``_``,
    empty names ``column_<n>``, repeated names suffixed ``_2``, ``_3`` ..."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, value in enumerate(raw, start=1):
        name = "" if value is None else str(value).replace("\ufeff", "").strip()
        name = "".join("_" if ch in _BAD_NAME_CHARS else ch for ch in name) or f"column_{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig", "utf8-sig")


def _read_csv(path: Path, options: dict[str, Any]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    delimiter = options.get("delimiter", ",")
    quotechar = options.get("quotechar", '"')
    encoding = options.get("encoding", "utf-8")
    # The header is parsed here so every column can be typed string; Arrow reads the rest.
    with open(path, encoding="utf-8-sig" if _is_utf8(encoding) else encoding, newline="") as fh:
        header = next(csv.reader(fh, delimiter=delimiter, quotechar=quotechar), [])
    names = _clean_names(header)
    if not names:
        return pa.table({})
    read = pcsv.ReadOptions(column_names=names, skip_rows=1, block_size=options.get("block_size", 16 << 20),
                            encoding="utf8" if _is_utf8(encoding) else encoding)  # Arrow drops a UTF-8 BOM itself
    parse = pcsv.ParseOptions(delimiter=delimiter, quote_char=quotechar,
                              newlines_in_values=bool(options.get("newlines_in_values", True)))
    convert = pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                  quoted_strings_can_be_null=False)
    return pcsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if hasattr(value, "isoformat"):  # date, time
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, options: dict[str, Any]) -> pa.Table:
    """One sheet; ``header_row`` (1-based, or a list of rows for a multi-row header) names the
    columns, the rows above it (agency blocks, titles) are skipped. A merged header cell names
    every column it spans; a multi-row header joins its distinct parts with ``_``."""
    import pyarrow as pa
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=False, data_only=True)  # merged ranges need the full reader
    try:
        sheet = options.get("sheet")
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        header_rows = options.get("header_row", 1)
        header_rows = [int(header_rows)] if isinstance(header_rows, (int, str)) else [int(r) for r in header_rows]
        first_data = int(options.get("data_start_row", max(header_rows) + 1))
        width = ws.max_column
        grid = {r: [ws.cell(row=r, column=c).value for c in range(1, width + 1)] for r in header_rows}
        for rng in ws.merged_cells.ranges:
            top_left = ws.cell(row=rng.min_row, column=rng.min_col).value
            for r in header_rows:
                if rng.min_row <= r <= rng.max_row:
                    for c in range(rng.min_col, min(rng.max_col, width) + 1):
                        grid[r][c - 1] = top_left
        parts_per_col = []
        for c in range(width):
            parts: list[str] = []
            for r in header_rows:
                text = _cell_text(grid[r][c])
                if text is not None and text.strip() and text.strip() not in parts:
                    parts.append(text.strip())
            parts_per_col.append("_".join(parts) if parts else None)
        stop_at_blank = bool(options.get("stop_at_blank_row", False))
        rows: list[list[str | None]] = []
        for values in ws.iter_rows(min_row=first_data, max_col=width, values_only=True):
            cells = [_cell_text(v) for v in values]
            if all(v is None or v == "" for v in cells):
                if stop_at_blank:
                    break
                continue
            rows.append(cells)
    finally:
        wb.close()
    # Drop trailing columns with neither a header nor a value (openpyxl's max_column counts styling).
    used = [c for c in range(width) if parts_per_col[c] is not None or any(r[c] is not None for r in rows)]
    width = used[-1] + 1 if used else 0
    names = _clean_names(parts_per_col[:width])
    columns = {n: pa.array([r[c] for r in rows], type=pa.string()) for c, n in enumerate(names)}
    return pa.table(columns) if columns else pa.table({})


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _records_table(records: list[dict[str, Any]], where: str) -> pa.Table:
    import pyarrow as pa

    keys: dict[str, None] = {}
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise ValueError(f"{where}: record {i} is a {type(rec).__name__}, not an object")
        keys.update(dict.fromkeys(rec))
    raw_names = list(keys)
    names = _clean_names(raw_names)
    return pa.table({n: pa.array([_json_text(r.get(k)) for r in records], type=pa.string())
                     for k, n in zip(raw_names, names)})


def _read_jsonl(path: Path, options: dict[str, Any]) -> pa.Table:
    records = []
    with open(path, encoding=options.get("encoding", "utf-8-sig")) as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path.name}: line {n} is not JSON: {exc}") from None
    return _records_table(records, path.name)


def _read_json(path: Path, options: dict[str, Any]) -> pa.Table:
    with open(path, encoding=options.get("encoding", "utf-8-sig")) as fh:
        doc = json.load(fh)
    if options.get("records_key"):
        doc = doc[options["records_key"]]
    return _records_table(doc if isinstance(doc, list) else [doc], path.name)


_READERS = {"csv": _read_csv, "xlsx": _read_xlsx, "jsonl": _read_jsonl, "json": _read_json}


def read_file(path: str | Path, fmt: str, options: dict[str, Any] | None = None) -> pa.Table:
    """A drop file as an Arrow table with string columns, as received."""
    if fmt not in _READERS:
        raise ValueError(f"unknown file format {fmt!r}; known: {', '.join(FORMATS)}")
    options = dict(options or {})
    ignore = set(options.pop("ignore_columns", None) or ())
    if ignore:  # layout columns (a running number "STT") that carry no data
        table = read_file(path, fmt, options)
        return table.drop_columns([c for c in table.column_names if c in ignore])
    if options.get("reader"):  # "module:function" for report layouts: returns the rows as dicts
        import importlib

        module, _, func = options["reader"].partition(":")
        records = getattr(importlib.import_module(module), func)(Path(path))
        return _records_table(list(records), Path(path).name)
    return _READERS[fmt](Path(path), options)


# -- schema policy ----------------------------------------------------------------------------

def check_schema(file_columns: list[str], table_columns: list[str] | None, *, policy: str, file: str,
                 target: str, expected_columns: list[str] | None = None,
                 optional_columns: frozenset[str] | set[str] = frozenset(),
                 aliases: dict[str, str] | None = None) -> list[str]:
    """The schema policy (kho.ingest.schema) for one file; returns the columns new to the raw table."""
    return check_columns(file_columns, policy=policy, where=f"file {file} -> {target}", declared=expected_columns,
                         table_columns=table_columns, aliases=aliases, optional=optional_columns)


def _table_columns(path: str) -> list[str] | None:
    if not delta_exists(path):
        return None
    from deltalake import DeltaTable

    names = DeltaTable(path, storage_options=storage_options()).schema().to_arrow().names
    return [n for n in names if n not in INGEST_COLUMNS]


# -- writing ----------------------------------------------------------------------------------

def _record_hashes(table: pa.Table) -> pa.Array:
    """sha256 of the JSON array of the record's source values, in file column order (DuckDB, parallel)."""
    import duckdb
    import pyarrow as pa

    if table.num_columns == 0:
        return pa.array([hashlib.sha256(b"[]").hexdigest()] * table.num_rows, type=pa.string())
    cols = ", ".join('"' + c.replace('"', '""') + '"' for c in table.column_names)
    con = duckdb.connect()
    try:
        con.register("src", table)
        out = con.sql(f"SELECT sha256(to_json(list_value({cols}))) AS h FROM src").fetch_arrow_table()
    finally:
        con.close()
    return out.column("h").combine_chunks()


def _with_ingest_columns(table: pa.Table, *, batch: str, system: str, obj: str, file_name: str,
                         logical_date: date, ingested_at: datetime,
                         record_hashes: pa.Array | None = None) -> pa.Table:
    import pyarrow as pa

    n = table.num_rows

    def const(value: Any, type_: pa.DataType) -> pa.Array:
        return pa.repeat(pa.scalar(value, type=type_), n)

    extra = {
        "_batch_id": const(batch, pa.string()),
        "_ingested_at": const(ingested_at, pa.timestamp("us", tz="UTC")),
        "_source_system": const(system, pa.string()),
        "_source_object": const(obj, pa.string()),
        "_record_hash": record_hashes if record_hashes is not None else _record_hashes(table),
        "_source_file": const(file_name, pa.string()),
        "_ingest_date": const(logical_date, pa.date32()),
    }
    for name, column in extra.items():
        table = table.append_column(name, column)
    return table


def _commit(path: str, data: pa.Table, *, schema_mode: str | None, batch: str, sha: str, file_name: str) -> int:
    """Append one batch as one Delta commit (with its idempotency app transactions); return the version."""
    from deltalake import ColumnProperties, CommitProperties, DeltaTable, Transaction, WriterProperties, write_deltalake

    # zstd(1): as fast as the default snappy here, files ~40 % smaller; the hash column is unique
    # random text, so dictionary pages and min/max statistics on it are wasted work.
    writer = WriterProperties(compression="ZSTD", compression_level=1, column_properties={
        "_record_hash": ColumnProperties(dictionary_enabled=False, statistics_enabled="NONE")})
    props = CommitProperties(
        custom_metadata={"kho.batch_id": batch, "kho.source_file": file_name, "kho.sha256": sha},
        app_transactions=[Transaction(app_id=f"kho.file.{sha}", version=1),
                          Transaction(app_id=f"kho.batch.{batch}", version=1)])
    write_deltalake(path, data, mode="append", partition_by=PARTITION_BY, schema_mode=schema_mode,
                    storage_options=storage_options(), writer_properties=writer, commit_properties=props)
    return DeltaTable(path, storage_options=storage_options()).version()


def batch_rows(path: str, batch: str, logical_date: date | None = None) -> int:
    """Rows raw holds for one batch (partition-pruned when the logical date is known)."""
    if not delta_exists(path):
        return 0
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    expr = pc.field("_batch_id") == batch
    if logical_date is not None:
        expr = expr & (pc.field("_ingest_date") == logical_date)
    return DeltaTable(path, storage_options=storage_options()).to_pyarrow_dataset().count_rows(filter=expr)


def _committed(path: str, app_id: str) -> bool:
    if not delta_exists(path):
        return False
    from deltalake import DeltaTable

    return DeltaTable(path, storage_options=storage_options()).transaction_version(app_id) is not None


# -- the connector ----------------------------------------------------------------------------

@dataclass
class _Prepared:
    """A file read ahead (in a worker thread) while the previous file is being committed."""

    file: Path
    sha256: str
    size: int
    table: pa.Table | None = None
    hashes: pa.Array | None = None
    error: BaseException | None = None
    seconds: float = 0.0  # reading and hashing, done ahead


def _prepare(file: Path, fmt: str, options: dict[str, Any] | None, loaded: set[str]) -> _Prepared:
    t0 = time.perf_counter()
    prep = _Prepared(file=file, sha256=file_sha256(file), size=file.stat().st_size)
    if prep.sha256 in loaded:
        return prep
    try:
        prep.table = read_file(file, fmt, options)
        prep.hashes = _record_hashes(prep.table)  # over the values in the file's own column order
    except Exception as exc:  # raised again in the caller, inside the file's run-log step
        prep.error = exc
    prep.seconds = time.perf_counter() - t0
    return prep


def _prepared(files: list[Path], fmt: str, options: dict[str, Any] | None, loaded: set[str]) -> Iterator[_Prepared]:
    """The files, each read while the caller works on the one before (Arrow, DuckDB and delta-rs
    release the GIL, so reading file n+1 overlaps committing file n; at most two files in memory)."""
    from concurrent.futures import ThreadPoolExecutor

    if not files:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kho-ingest-read") as pool:
        pending = pool.submit(_prepare, files[0], fmt, options, loaded)
        for nxt in [*files[1:], None]:
            prep = pending.result()
            pending = pool.submit(_prepare, nxt, fmt, options, loaded) if nxt is not None else None
            yield prep


def ingest_files(settings: Settings, *, system: str, obj: str, folder: str | Path, pattern: str = "*",
                 fmt: str, options: dict[str, Any] | None = None, schema_policy: SchemaPolicy = "evolve",
                 expected_columns: list[str] | None = None, logical_date: date,
                 run_id: str = "", dag_id: str = "", details: dict[str, Any] | None = None,
                 aliases: dict[str, str] | None = None, optional_columns: frozenset[str] = frozenset()
                 ) -> list[BatchResult]:
    """Load every new file of ``folder`` matching ``pattern`` (by name order) into ``raw/<system>/<obj>``.

    Returns one BatchResult per file loaded in this run; files already loaded (same sha256,
    whatever their name) are skipped. Raises SchemaPolicyError / ReconciliationError /
    DuplicateBatchError (or the reader's error) on the first file that cannot be loaded;
    nothing of that file is visible, the files before it stay loaded.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown file format {fmt!r}; known: {', '.join(FORMATS)}")
    if schema_policy not in ("freeze", "evolve"):
        raise ValueError(f"schema_policy must be 'freeze' or 'evolve', not {schema_policy!r}")
    target = TableRef(Zone.RAW, system, obj)
    path = target.path(settings)
    ledger = FileLedger(settings)
    loaded = ledger.checksums(system, obj)
    files = sorted(p for p in Path(folder).glob(pattern) if p.is_file())
    results: list[BatchResult] = []
    for prep in _prepared(files, fmt, options, loaded):
        file, sha, size = prep.file, prep.sha256, prep.size
        if sha in loaded:
            log.info("skip %s: already loaded (sha256 %s)", file.name, sha[:12])
            continue
        batch = f"{system}.{obj}.{file.stem}"
        if prep.error is None and _committed(path, f"kho.file.{sha}"):
            # Committed by a run that died before writing its ledger row: complete the ledger only.
            held = batch_rows(path, batch)
            if prep.table.num_rows != held:
                raise ReconciliationError(f"{batch}: file {file.name} has {prep.table.num_rows} rows but raw "
                                          f"holds {held}")
            ledger.record(system=system, obj=obj, file_path=str(file), size=size, sha256=sha, batch_id=batch,
                          rows=held)
            loaded.add(sha)
            log.warning("%s was committed to %s by an interrupted run; ledger completed", file.name, target)
            continue
        with runlog.step(settings, "ingest_files", logical_date, run_id=run_id, dag_id=dag_id) as rec:
            t0 = time.perf_counter()
            rec.batch_id, rec.target = batch, str(target)
            rec.details.update({**(details or {}), "file": str(file), "bytes": size, "sha256": sha, "format": fmt,
                                "schema_policy": schema_policy})
            if prep.error is not None:
                raise prep.error
            if _committed(path, f"kho.batch.{batch}"):
                raise DuplicateBatchError(
                    f"file {file.name}: batch {batch} is already in {target} from a file of different content "
                    f"(a corrected re-delivery under the same name?); rename the file or decide how to replace it")
            table = prep.table
            if aliases:  # earlier names of a renamed column (a recorded decision) -> the declared name
                table = table.rename_columns([aliases.get(c, c) if aliases.get(c) not in table.column_names else c
                                              for c in table.column_names])
            rec.rows_in = table.num_rows
            current = _table_columns(path)
            added = check_schema(table.column_names, current, policy=schema_policy, file=file.name,
                                 target=str(target), expected_columns=expected_columns,
                                 optional_columns=optional_columns, aliases=aliases)
            if current is not None:  # the table's order, then the new columns
                table = table.select(current + [c for c in table.column_names if c not in current])
                if added:
                    rec.details["added_columns"] = added
            data = _with_ingest_columns(table, batch=batch, system=system, obj=obj, file_name=file.name,
                                        logical_date=logical_date, ingested_at=datetime.now(timezone.utc),
                                        record_hashes=prep.hashes)
            version = _commit(path, data, schema_mode="merge" if added and current is not None else None,
                              batch=batch, sha=sha, file_name=file.name)
            written = batch_rows(path, batch, logical_date)
            rec.rows_out, rec.delta_version = written, version
            if written != table.num_rows:
                raise ReconciliationError(f"{batch}: read {table.num_rows} rows from {file.name} but raw holds "
                                          f"{written} (delta version {version})")
            ledger.record(system=system, obj=obj, file_path=str(file), size=size, sha256=sha, batch_id=batch,
                          rows=written)
            loaded.add(sha)
            results.append(BatchResult(batch_id=batch, file=str(file), rows_read=table.num_rows,
                                       rows_written=written, bytes=size, sha256=sha, delta_version=version,
                                       seconds=round(prep.seconds + time.perf_counter() - t0, 3)))
    return results
