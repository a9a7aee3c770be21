"""Load one registry object for one data interval into its raw table: the semantics of every load.

Raw is an append-only event log per object. What one run appends depends on the load mode:

* ``full_snapshot``: every row, once per interval. A rerun of an interval already loaded
  writes nothing (the batch id is the interval).
* ``incremental``: the rows whose cursor is in ``[min(interval start, watermark) - lookback,
  interval end)``, minus those raw already holds (same primary key and ``_record_hash``).
  So a rerun writes nothing new, a late update inside the lookback is caught as a new
  version, and a run after missed runs reads from the watermark, not from its own start.
* ``snapshot_diff``: the whole object, compared with the state raw describes (the multiset
  of ``(primary key, _record_hash)`` where an upsert counts +1 and a tombstone -1). New and
  changed rows are appended with ``_op = 'U'``; a vanished version becomes a tombstone row
  (``_op = 'D'``, key and hash of the deleted version, other columns null).
* ``append_only`` (file drops and landed streams): every new file is a batch, read once
  (:mod:`kho.ingest.files`, checksum ledger).

Because raw itself is the state for incremental and snapshot-diff loads, a run killed at any
point is repaired by the next one: nothing is visible before the single Delta commit, and a
committed batch is simply "already there" for the next diff. Every batch writes a run-log row
(rows read, rows written, bytes, duration, Delta version, SHA-256 of the data files) and fails
when the rows raw holds for it differ from the rows the diff decided to write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kho import runlog
from kho.ingest.connections import resolve
from kho.ingest.connectors import CursorWindow, connector_for
from kho.ingest.registry import INGEST_COLUMNS, ObjectConfig, SourceConfig, raw_table
from kho.ingest.schema import SchemaPolicyError, check_columns  # noqa: F401 - raised through load_object
from kho.ingest.state import CursorStore
from kho.lake import delta_exists, storage_options

if TYPE_CHECKING:
    import pyarrow as pa

    from kho.ingest.connectors import Connector
    from kho.settings import Settings

log = logging.getLogger(__name__)

OP_COLUMN = "_op"          # 'U' upsert (a row as read), 'D' tombstone (a version that vanished)
RAW_COLUMNS = (*INGEST_COLUMNS, OP_COLUMN)
PRESETS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *",
           "@quarterly": "0 0 1 */3 *", "@yearly": "0 0 1 1 *"}


class ReconciliationError(RuntimeError):
    """Raw does not hold for a batch the rows the load decided to write."""


# -- intervals --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    """A data interval ``[start, end)`` (time-zone aware), as Airflow gives it to a run."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval bounds must be time-zone aware")
        if self.end < self.start:
            raise ValueError(f"interval ends ({self.end}) before it starts ({self.start})")

    def local(self, tz: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(tz)
        return self.start.astimezone(zone).replace(tzinfo=None), self.end.astimezone(zone).replace(tzinfo=None)

    def label(self, tz: str) -> str:
        start, _ = self.local(tz)
        return f"{start:%Y%m%d}" if start.time() == datetime.min.time() else f"{start:%Y%m%dT%H%M}"

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def cron_of(cadence: str) -> str | None:
    """The cron expression of a cadence; None for ``@once`` / ``@continuous`` (no fixed grid)."""
    return PRESETS.get(cadence, None if cadence.startswith("@") else cadence)


def intervals(cadence: str, start: datetime, end: datetime, tz: str) -> list[Interval]:
    """The cadence's data intervals that lie inside ``[start, end)`` (cron evaluated in ``tz``)."""
    from croniter import croniter

    cron = cron_of(cadence)
    if cron is None:
        return [Interval(start, end)]
    zone = ZoneInfo(tz)
    it = croniter(cron, start.astimezone(zone) - timedelta(microseconds=1))
    out: list[Interval] = []
    lo = it.get_next(datetime)
    while True:
        hi = it.get_next(datetime)
        if hi > end.astimezone(zone):
            break
        out.append(Interval(lo, hi))
        lo = hi
    return out


def day_interval(day: date, tz: str = "Asia/Ho_Chi_Minh") -> Interval:
    """The local calendar day as an interval (``kho run --date`` and the embedded demo)."""
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return Interval(start, start + timedelta(days=1))


def is_due(cadence: str, interval: Interval, tz: str) -> bool:
    """Whether ``interval``'s end is a fire time of ``cadence`` (an object slower than its DAG skips)."""
    from croniter import croniter

    cron = cron_of(cadence)
    return cron is None or croniter.match(cron, interval.end.astimezone(ZoneInfo(tz)).replace(tzinfo=None))


# -- results ----------------------------------------------------------------------------------

@dataclass
class LoadResult:
    system: str
    object: str
    target: str
    load_mode: str
    interval: dict[str, str]
    batch_id: str | None = None
    rows_read: int = 0
    rows_unchanged: int = 0
    rows_written: int = 0
    tombstones: int = 0
    bytes: int = 0
    delta_version: int | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- schema policy ----------------------------------------------------------------------------

def check_object_columns(found: list[str], obj: ObjectConfig, table_columns: list[str] | None, where: str) -> list[str]:
    """The object's schema policy (kho.ingest.schema); returns the columns new to the raw table."""
    return check_columns(found, policy=obj.schema_policy, where=where, declared=[c.name for c in obj.expected_schema],
                         table_columns=table_columns, aliases=obj.aliases, optional=obj.optional_columns,
                         renames={c.column: c.new_name for c in obj.known_schema_changes if c.change == "renamed"})


def _table_columns(path: str) -> list[str] | None:
    if not delta_exists(path):
        return None
    from deltalake import DeltaTable

    names = DeltaTable(path, storage_options=storage_options()).schema().to_arrow().names
    return [n for n in names if n not in RAW_COLUMNS and not n.startswith("_source_file")]


# -- hashing and diff (DuckDB over Arrow) -----------------------------------------------------

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def with_record_hash(con: Any, table: pa.Table, columns: list[str]) -> pa.Table:
    """Add ``_record_hash``: sha256 of the row's values as a JSON object (column name -> value)."""
    con.register("kho_src", table)
    try:
        fields = ", ".join(f"{_q(c)} := {_q(c)}" for c in columns)
        return con.sql(f"SELECT *, sha256(to_json(struct_pack({fields}))) AS _record_hash FROM kho_src").fetch_arrow_table()
    finally:
        con.unregister("kho_src")


def _raw_state(path: str, keys: list[str], cursor: tuple[str, Any] | None) -> pa.Table | None:
    """(keys, _record_hash, _op) of raw, restricted to ``cursor >= value`` when given."""
    if not delta_exists(path):
        return None
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    dataset = DeltaTable(path, storage_options=storage_options()).to_pyarrow_dataset()
    names = dataset.schema.names
    cols = [*keys, "_record_hash"] + ([OP_COLUMN] if OP_COLUMN in names else [])
    expr = None
    if cursor is not None and cursor[0] in names:
        expr = ds.field(cursor[0]) >= cursor[1]
    return dataset.to_table(columns=cols, filter=expr)


def diff(con: Any, source: pa.Table, state: pa.Table | None, keys: list[str], *,
         tombstones: bool) -> tuple[pa.Table, int, int]:
    """Rows of ``source`` raw lacks (as a multiset per key and hash) plus, for snapshot diffs,
    tombstones for versions raw holds that the source no longer has.

    Returns (rows to append with ``_op``, rows unchanged, tombstone count).
    """
    import pyarrow as pa

    src_cols = [c for c in source.column_names]
    on = " AND ".join(f"s.{_q(k)} IS NOT DISTINCT FROM p.{_q(k)}" for k in [*keys, "_record_hash"])
    key_list = ", ".join(_q(k) for k in [*keys, "_record_hash"])
    con.register("kho_src", source)
    if state is None:
        state = pa.table({**{k: pa.array([], source.schema.field(k).type) for k in keys},
                          "_record_hash": pa.array([], pa.string()), OP_COLUMN: pa.array([], pa.string())})
    con.register("kho_raw", state)
    sign = (f"CASE WHEN {OP_COLUMN} = 'D' THEN -1 ELSE 1 END" if OP_COLUMN in state.column_names else "1")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE kho_prev AS SELECT {key_list}, sum({sign}) AS n "
                    f"FROM kho_raw GROUP BY ALL HAVING sum({sign}) > 0")
        new = con.sql(f"""
            SELECT s.* EXCLUDE (kho_rn), 'U' AS {OP_COLUMN}
            FROM (SELECT *, row_number() OVER (PARTITION BY {key_list}) AS kho_rn FROM kho_src) s
            LEFT JOIN kho_prev p ON {on}
            WHERE s.kho_rn > coalesce(p.n, 0)""").fetch_arrow_table()
        unchanged = source.num_rows - new.num_rows
        if not tombstones:
            return new, unchanged, 0
        select = ", ".join(f"p.{_q(c)}" if c in (*keys, "_record_hash") else f"NULL::{_duck_type(source, c)} AS {_q(c)}"
                           for c in src_cols)
        gone = con.sql(f"""
            SELECT {select}, 'D' AS {OP_COLUMN}
            FROM kho_prev p
            LEFT JOIN (SELECT {key_list}, count(*) AS n FROM kho_src GROUP BY ALL) s ON {on}
            CROSS JOIN range(0, (p.n - coalesce(s.n, 0))::BIGINT) AS r(i)
            """).fetch_arrow_table()
        if gone.num_rows:
            new = pa.concat_tables([new, gone.cast(new.schema)])
        return new, unchanged, gone.num_rows
    finally:
        con.unregister("kho_src")
        con.unregister("kho_raw")


def _duck_type(table: pa.Table, column: str) -> str:
    import pyarrow as pa

    t = table.schema.field(column).type
    for check, name in ((pa.types.is_string, "VARCHAR"), (pa.types.is_int32, "INTEGER"), (pa.types.is_int64, "BIGINT"),
                        (pa.types.is_floating, "DOUBLE"), (pa.types.is_date32, "DATE"), (pa.types.is_boolean, "BOOLEAN"),
                        (pa.types.is_timestamp, "TIMESTAMP"), (pa.types.is_decimal, "DECIMAL(38,6)")):
        if check(t):
            return name
    return "VARCHAR"


# -- committing -------------------------------------------------------------------------------

def _committed(path: str, batch: str) -> bool:
    if not delta_exists(path):
        return False
    from deltalake import DeltaTable

    return DeltaTable(path, storage_options=storage_options()).transaction_version(f"kho.batch.{batch}") is not None


def _free_batch_id(path: str, base: str) -> str:
    """``base``, or ``base.2``, ``base.3`` ... when a rerun of the interval found new rows."""
    if not _committed(path, base):
        return base
    n = 2
    while _committed(path, f"{base}.{n}"):
        n += 1
    return f"{base}.{n}"


def _commit(path: str, data: pa.Table, *, batch: str, evolve: bool, meta: dict[str, str]) -> int:
    from deltalake import CommitProperties, DeltaTable, Transaction, WriterProperties, write_deltalake

    writer = WriterProperties(compression="ZSTD", compression_level=1)
    props = CommitProperties(custom_metadata={"kho.batch_id": batch, **meta},
                             app_transactions=[Transaction(app_id=f"kho.batch.{batch}", version=1)])
    write_deltalake(path, data, mode="append", partition_by=["_ingest_date"], schema_mode="merge" if evolve else None,
                    storage_options=storage_options(), writer_properties=writer, commit_properties=props)
    return DeltaTable(path, storage_options=storage_options()).version()


def _batch_counts(path: str, batch: str, day: date) -> tuple[int, int]:
    """(rows, tombstones) raw holds for one batch (partition-pruned on the ingest date)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    dataset = DeltaTable(path, storage_options=storage_options()).to_pyarrow_dataset()
    table = dataset.to_table(columns=[OP_COLUMN], filter=(ds.field("_batch_id") == batch) & (ds.field("_ingest_date") == day))
    return table.num_rows, pc.sum(pc.equal(table[OP_COLUMN], "D")).as_py() or 0


def _data_files(path: str, version: int) -> list[dict[str, Any]]:
    """The Parquet files a commit added, with size and SHA-256 (local lakes; sizes only on S3)."""
    from deltalake import DeltaTable

    dt = DeltaTable(path, storage_options=storage_options())
    log_file = Path(path) / "_delta_log" / f"{version:020d}.json"
    files: list[dict[str, Any]] = []
    if log_file.exists():
        for line in log_file.read_text().splitlines():
            add = json.loads(line).get("add")
            if add:
                entry: dict[str, Any] = {"path": add["path"], "bytes": add["size"]}
                data = Path(path) / add["path"]
                if data.exists():
                    entry["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
                files.append(entry)
    else:  # object store: the files this version added (sizes; checksums would mean downloading them)
        def adds(table: Any) -> dict[str, int]:
            import pyarrow as pa

            actions = pa.table(table.get_add_actions(flatten=True))  # arro3 table -> pyarrow (C data interface)
            return dict(zip(actions["path"].to_pylist(), actions["size_bytes"].to_pylist()))

        now = adds(dt)
        before: dict[str, int] = {}
        if version > 0:
            previous = DeltaTable(path, storage_options=storage_options())
            previous.load_as_version(version - 1)
            before = adds(previous)
        files = [{"path": f, "bytes": size} for f, size in now.items() if f not in before]
    return files


# -- the load ---------------------------------------------------------------------------------

def _cursor_text(value: Any, kind: str) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def cursor_window(source: SourceConfig, obj: ObjectConfig, interval: Interval, watermark: str | None, *,
                  initial_load: bool = True) -> CursorWindow:
    """``[min(start, watermark) - lookback, end)`` in the cursor's form and the source's local time.

    With no watermark yet (the object's first load) and ``initial_load``, the lower bound is
    open: the first scheduled run takes the whole history up to its interval's end. A
    backfill passes ``initial_load=False`` and reads exactly its intervals (plus lookback).
    """
    start, end = interval.local(source.timezone)
    kind = obj.columns[obj.cursor_column].type
    fmt = (lambda d: d.date().isoformat()) if kind == "date" else (lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))
    if watermark is None and initial_load:
        return CursorWindow(lower=None, upper=fmt(end))
    lower = start
    if watermark:
        try:
            mark = datetime.fromisoformat(watermark.replace("T", " ")[:19])
            lower = min(lower, mark)
        except ValueError:
            log.warning("%s.%s: unreadable watermark %r ignored", source.system, obj.name, watermark)
    lower -= obj.lookback or timedelta(0)
    return CursorWindow(lower=fmt(lower), upper=fmt(end))


def load_object(settings: Settings, source: SourceConfig, obj: ObjectConfig, interval: Interval, *,
                run_id: str = "", dag_id: str = "", connector: Connector | None = None,
                initial_load: bool = True) -> list[LoadResult]:
    """Load ``obj`` for ``interval`` into ``raw/<domain>/<name>``; one LoadResult per batch.

    ``initial_load=False`` (backfills) keeps an incremental object's first read to its interval.
    """
    dag_id = dag_id or f"ingest_{source.system}"
    if source.transport in ("file_drop", "stream"):
        return _load_files(settings, source, obj, interval, run_id=run_id, dag_id=dag_id)
    own = connector is None
    if own:
        connector = connector_for(source, obj, resolve(source, settings), settings)
    try:
        return [_load_rows(settings, source, obj, interval, connector, run_id=run_id, dag_id=dag_id,
                           initial_load=initial_load)]
    finally:
        if own:
            connector.close()


def _load_files(settings: Settings, source: SourceConfig, obj: ObjectConfig, interval: Interval, *,
                run_id: str, dag_id: str) -> list[LoadResult]:
    from kho.ingest.files import ingest_files

    folder = resolve(source, settings).folder()
    if not folder.is_dir():
        raise FileNotFoundError(f"drop folder {folder} of source {source.system!r} does not exist; check connection "
                                f"{source.connection_id!r} (or run `kho sources up` on the embedded profile)")
    fmt = obj.format
    options = {k: v for k, v in fmt.model_dump().items() if v is not None and k != "type"}
    start, _ = interval.local(source.timezone)
    batches = ingest_files(settings, system=source.domain, obj=obj.name, folder=folder, pattern=obj.source,
                           fmt=fmt.type, options=options, schema_policy=obj.schema_policy,
                           expected_columns=[c.name for c in obj.expected_schema], logical_date=start.date(),
                           aliases=obj.aliases, optional_columns=obj.optional_columns,
                           run_id=run_id, dag_id=dag_id, details={"interval": interval.as_dict(),
                                                                 "load_mode": obj.load_mode})
    target = str(raw_table(source, obj))
    results = [LoadResult(system=source.system, object=obj.name, target=target, load_mode=obj.load_mode,
                          interval=interval.as_dict(), batch_id=b.batch_id, rows_read=b.rows_read,
                          rows_written=b.rows_written, bytes=b.bytes, delta_version=b.delta_version,
                          files=[{"path": b.file, "bytes": b.bytes, "sha256": b.sha256}], seconds=b.seconds)
               for b in batches]
    if not results:
        results.append(LoadResult(system=source.system, object=obj.name, target=target, load_mode=obj.load_mode,
                                  interval=interval.as_dict(), skipped="no new file"))
    return results


def _load_rows(settings: Settings, source: SourceConfig, obj: ObjectConfig, interval: Interval,
               connector: Connector, *, run_id: str, dag_id: str, initial_load: bool = True) -> LoadResult:
    import duckdb
    import pyarrow as pa

    t0 = time.perf_counter()
    ref = raw_table(source, obj)
    path = ref.path(settings)
    where = f"{source.system}.{obj.name} -> {ref}"
    base = f"{source.system}.{obj.name}.{interval.label(source.timezone)}"
    result = LoadResult(system=source.system, object=obj.name, target=str(ref), load_mode=obj.load_mode,
                        interval=interval.as_dict())
    if obj.load_mode == "full_snapshot" and _committed(path, base):
        result.skipped, result.batch_id = "interval already loaded", base
        log.info("%s: interval %s already loaded (batch %s); nothing to do", where, interval.label(source.timezone), base)
        return result

    cursors = CursorStore(settings)
    window = None
    if obj.load_mode == "incremental":
        window = cursor_window(source, obj, interval, cursors.get(source.system, obj.name), initial_load=initial_load)
    ingest_day = interval.local(source.timezone)[0].date()
    with runlog.step(settings, "ingest", ingest_day, run_id=run_id, dag_id=dag_id) as rec:
        rec.target = str(ref)
        rec.details.update({"system": source.system, "object": obj.name, "load_mode": obj.load_mode,
                            "interval": interval.as_dict(), **connector.describe(obj)})
        if window is not None:
            rec.details["cursor_window"] = {"lower": window.lower, "upper": window.upper}
        chunks = [pa.table(c) if isinstance(c, pa.RecordBatch) else c for c in connector.read(obj, window)]
        if not chunks:  # nothing in the window: an empty table of the declared columns
            from kho.ingest.types import arrow_type

            chunks = [pa.schema([(c.name, arrow_type(c.type)) for c in obj.expected_schema]).empty_table()]
        source_rows = pa.concat_tables(chunks, promote_options="permissive") if len(chunks) > 1 else chunks[0]
        if obj.aliases:  # an accepted rename: the source's earlier name reads as the declared column
            names = source_rows.column_names
            source_rows = source_rows.rename_columns(
                [obj.aliases[c] if c in obj.aliases and obj.aliases[c] not in names else c for c in names])
        result.rows_read = rec.rows_in = source_rows.num_rows
        existing = _table_columns(path)
        added = check_object_columns(source_rows.column_names, obj, existing, where)
        declared = [c.name for c in obj.expected_schema]
        order = (existing or declared) + [c for c in source_rows.column_names if c not in (existing or declared)]
        source_rows = source_rows.select([c for c in order if c in source_rows.column_names])
        con = duckdb.connect()
        try:
            con.execute("SET preserve_insertion_order = true")
            hashed = with_record_hash(con, source_rows, source_rows.column_names)
            if obj.load_mode == "full_snapshot":
                import pyarrow as pa

                to_write = hashed.append_column(OP_COLUMN, pa.repeat(pa.scalar("U"), hashed.num_rows))
                unchanged = tomb = 0
            else:
                cursor_filter = None
                if window is not None and window.lower is not None:
                    kind = obj.columns[obj.cursor_column].type
                    lower: Any = window.lower
                    if kind == "date":
                        lower = date.fromisoformat(window.lower)
                    elif kind == "timestamp":
                        lower = datetime.fromisoformat(window.lower)
                    cursor_filter = (obj.cursor_column, lower)
                state = _raw_state(path, obj.primary_key, cursor_filter)
                to_write, unchanged, tomb = diff(con, hashed, state, obj.primary_key,
                                                 tombstones=obj.load_mode == "snapshot_diff")
        finally:
            con.close()
        result.rows_unchanged, result.tombstones = unchanged, tomb
        rec.details.update({"rows_unchanged": unchanged, "tombstones": tomb})
        if added:
            rec.details["added_columns"] = added
        if to_write.num_rows == 0:
            result.skipped = "no changes"
            rec.rows_out = 0
            rec.details["skipped"] = "no changes since the last load"
        else:
            batch = _free_batch_id(path, base)
            result.batch_id = rec.batch_id = batch
            data = _align(_ingest_columns(to_write, source=source, obj=obj, batch=batch, day=ingest_day), path)
            version = _commit(path, data, batch=batch, evolve=bool(added),
                              meta={"kho.interval_start": interval.start.isoformat()})
            written, written_tombs = _batch_counts(path, batch, ingest_day)
            result.rows_written, result.delta_version = written, version
            rec.rows_out, rec.delta_version = written, version
            result.files = _data_files(path, version)
            result.bytes = sum(f["bytes"] for f in result.files)
            rec.details.update({"bytes": result.bytes, "files": result.files})
            if written != to_write.num_rows or written_tombs != tomb or \
                    result.rows_read != (written - written_tombs) + unchanged:
                raise ReconciliationError(
                    f"{where}: batch {batch} should hold {to_write.num_rows} rows ({tomb} tombstones) for "
                    f"{result.rows_read} read ({unchanged} unchanged) but raw holds {written} ({written_tombs} "
                    f"tombstones) at version {version}")
        if obj.load_mode == "incremental" and source_rows.num_rows:
            import pyarrow.compute as pc

            top = pc.max(source_rows[obj.cursor_column]).as_py()
            current = cursors.get(source.system, obj.name)
            text = _cursor_text(top, obj.columns[obj.cursor_column].type)
            if top is not None and (current is None or text > current):
                cursors.set(source.system, obj.name, text, batch_id=result.batch_id)
                rec.details["watermark"] = text
    result.seconds = round(time.perf_counter() - t0, 3)
    log.info("%s: read %d, unchanged %d, wrote %d (%d tombstones)%s in %.1f s", where, result.rows_read,
             result.rows_unchanged, result.rows_written, result.tombstones,
             f" as {result.batch_id} v{result.delta_version}" if result.rows_written else "", result.seconds)
    return result


def _ingest_columns(table: pa.Table, *, source: SourceConfig, obj: ObjectConfig, batch: str, day: date) -> pa.Table:
    import pyarrow as pa

    n = table.num_rows
    now = datetime.now(timezone.utc)
    op = table[OP_COLUMN]
    table = table.drop_columns([OP_COLUMN, "_record_hash"]).append_column("_record_hash", table["_record_hash"])
    extra = {
        "_batch_id": pa.repeat(pa.scalar(batch), n), "_ingested_at": pa.repeat(pa.scalar(now, pa.timestamp("us", "UTC")), n),
        "_source_system": pa.repeat(pa.scalar(source.system), n), "_source_object": pa.repeat(pa.scalar(obj.source), n),
        OP_COLUMN: op, "_ingest_date": pa.repeat(pa.scalar(day, pa.date32()), n),
    }
    for name, column in extra.items():
        table = table.append_column(name, column)
    return table


def _align(data: pa.Table, path: str) -> pa.Table:
    """The batch's columns in the raw table's order (new columns last) so appends line up by position too."""
    if not delta_exists(path):
        return data
    from deltalake import DeltaTable

    names = DeltaTable(path, storage_options=storage_options()).schema().to_arrow().names
    return data.select([n for n in names if n in data.column_names] + [n for n in data.column_names if n not in names])
