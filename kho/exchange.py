"""The IOC exchange: immutable, versioned CSV/Parquet exports of the IOC KPI tables.

The Intelligent Operations Center pulls files, it does not read Delta. After an audited build,
``kho.marts.publish`` writes each IOC KPI table as a new Delta version in ``topic/ioc/<table>``
with the run's lineage and quality verdict in the commit metadata. This module turns one such
Delta version into a folder the IOC can trust::

    <exchange root>/ioc/index.json                    every table, its versions, its latest
    <exchange root>/ioc/<table>/latest.json           pointer to the newest exported version
    <exchange root>/ioc/<table>/v<delta version>/     one folder per Delta version, never rewritten
        <table>.csv  <table>.parquet  manifest.json

Rules, and why:

* **Only audited data leaves the lake.** A version whose ``kho.quality`` verdict is not
  ``passed`` (or that carries no verdict at all) is refused; ``latest.json`` keeps pointing
  at the previous good version, so the IOC never pulls numbers that failed their checks.
* **Immutable and atomic.** A version is written into a hidden temporary folder, checked
  against its own manifest, then renamed into place in one step: a reader sees the whole
  folder or none. An existing version folder is never rewritten; exporting it again verifies
  it and answers ``unchanged``, and a folder that no longer matches is an error, not repaired.
* **Pointers are replaced, not edited.** ``latest.json`` and ``index.json`` are written to a
  temporary file and ``os.replace``-d, so a reader never sees half a JSON document.
* **Stable bytes.** Rows are sorted by the IOC key (indicator, period type, period, admin
  unit), dates and timestamps are ISO 8601, so two exports of the same data diff cleanly.

The export targets the embedded profile's local disk (``lake/exchange``) or, on the cluster
profile, the ``exchange`` bucket: object stores have no atomic folder rename, so there the
same steps run on a local mirror that ``kho.exchange_store`` pulls from the bucket before
and pushes to it after (data files first, the manifest last as the version's commit).

Configuration a data engineer edits (schedule, tables, formats, retention) is
``kho/exports.yaml``, validated by :func:`load_export_config`. The Airflow DAG is
``dags/kpi_export.py``; the CLI is ``kho export``. docs/ioc_exchange.md is the IOC's guide.

Heavy libraries (pyarrow, deltalake) are imported inside the functions that need them: the
DAG file imports this module at parse time, and delta-rs must not be loaded before a fork.
"""

from __future__ import annotations

import csv
import errno
import logging
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kho.lake import Zone, is_object_store, zone_root

if TYPE_CHECKING:
    import pyarrow as pa

    from kho.settings import Settings

log = logging.getLogger(__name__)

FORMATS = ("csv", "parquet")
IOC_DOMAIN = "ioc"
MANIFEST = "manifest.json"
LATEST = "latest.json"
INDEX = "index.json"
MANIFEST_VERSION = 1
#: The IOC KPI table's unique key (common contract): the CSV and Parquet rows are in this order.
IOC_KEY = ("indicator_code", "period_type", "period", "admin_unit_code")
FRESHNESS_COLUMN = "freshness_ts"
CONFIG_FILE = Path(__file__).resolve().parent / "exports.yaml"
SCHEDULE_ENV = "KHO_KPI_EXPORT_SCHEDULE"
SCHEDULE_PRESETS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0",
                    "@monthly": "0 0 1 * *", "@quarterly": "0 0 1 */3 *", "@yearly": "0 0 1 1 *"}
CSV_DIALECT = {"encoding": "utf-8", "delimiter": ",", "quotechar": '"', "line_terminator": "\n", "header": True,
               "null": "", "date_format": "YYYY-MM-DD", "timestamp_format": "YYYY-MM-DDTHH:MM:SS.ffffff"}
# The manifest fields that identify what a version folder holds: a re-export must agree on all of them.
_IDENTITY = ("table", "delta_version", "delta_commit_timestamp", "logical_date", "run_id", "data_version",
             "row_count", "schema")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION_DIR = re.compile(r"^v(\d+)$")


class ExportError(RuntimeError):
    """An export could not be made (missing table, unreadable version, unsupported target)."""


class ExportRefused(ExportError):
    """The Delta version did not pass its quality audit (or carries no verdict): not exported."""


class ExportMismatch(ExportError):
    """An existing, immutable version folder does not match its manifest or the Delta version."""


class ExportConfigError(ValueError):
    """``kho/exports.yaml`` (or the schedule override) is invalid; one line per field problem."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.problems = problems
        lines = [f"{source}: {f}: {m}" for f, m in problems]
        super().__init__(lines[0] if len(lines) == 1 else "invalid export configuration:\n  " + "\n  ".join(lines))


# -- configuration -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportConfig:
    """What ``kho/exports.yaml`` declares. ``schedule`` None means manual runs only."""

    schedule: str | None = "0 6 * * *"
    timezone: str = "Asia/Ho_Chi_Minh"
    tables: tuple[str, ...] | None = None          # None = every table under topic/ioc
    formats: tuple[str, ...] = FORMATS
    keep_versions: int | None = None               # None = never delete a version folder

    @property
    def cron(self) -> str | None:
        """The schedule as a 5-field cron expression (presets resolved), or None."""
        return None if self.schedule is None else SCHEDULE_PRESETS.get(self.schedule, self.schedule)


_CONFIG_FIELDS = ("schedule", "timezone", "tables", "formats", "keep_versions")


def _check_schedule(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a cron expression (minute hour day month weekday), a preset "
                         f"({', '.join(SCHEDULE_PRESETS)}) or null for manual runs only; got {value!r}")
    value = value.strip()
    if value.lower() in ("none", "null", "manual"):
        return None
    if value.startswith("@"):
        if value not in SCHEDULE_PRESETS:
            raise ValueError(f"unknown preset {value!r}; use one of {', '.join(SCHEDULE_PRESETS)} or a 5-field cron")
        return value
    if len(value.split()) != 5:
        raise ValueError(f"{value!r} is not a 5-field cron expression (minute hour day month weekday), "
                         f"e.g. '0 6 * * *' for 06:00 every day")
    from croniter import croniter

    if not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a valid cron expression (minute 0-59, hour 0-23, day 1-31, "
                         f"month 1-12, weekday 0-6)")
    return value


def _check_timezone(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be an IANA time zone name such as Asia/Ho_Chi_Minh; got {value!r}")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Ho_Chi_Minh") from None
    return value.strip()


def _check_tables(value: Any) -> tuple[str, ...] | None:
    if value == "all":
        return None
    if not isinstance(value, list) or not value:
        raise ValueError(f"must be 'all' or a non-empty list of IOC table names, e.g. [ioc_citizen]; got {value!r}")
    bad = [v for v in value if not isinstance(v, str) or not _NAME.match(v)]
    if bad:
        raise ValueError(f"{', '.join(map(repr, bad))} not a table name (lower_snake_case, e.g. ioc_citizen)")
    dupes = sorted({v for v in value if value.count(v) > 1})
    if dupes:
        raise ValueError(f"lists {', '.join(dupes)} more than once")
    return tuple(value)


def _check_formats(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"must be a non-empty list drawn from {', '.join(FORMATS)}, e.g. [csv, parquet]; got {value!r}")
    bad = [v for v in value if v not in FORMATS]
    if bad:
        raise ValueError(f"unknown format(s) {', '.join(map(repr, bad))}; supported: {', '.join(FORMATS)}")
    if len(set(value)) != len(value):
        raise ValueError("lists a format more than once")
    return tuple(value)


def _check_keep(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be null (never delete, the default) or a whole number >= 1; got {value!r}")
    return value


def parse_export_config(raw: Any, *, source: str = "kho/exports.yaml",
                        env: Mapping[str, str] | None = None) -> ExportConfig:
    """Validate a parsed exports YAML document; every problem names its field.

    ``KHO_KPI_EXPORT_SCHEDULE`` in *env* (the process environment by default) overrides
    ``schedule``, so an environment can run exports at another hour without editing the file.
    """
    env = os.environ if env is None else env
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ExportConfigError(source, [("(document)", f"must be a mapping of {', '.join(_CONFIG_FIELDS)}")])
    problems: list[tuple[str, str]] = []
    for key in raw:
        if key not in _CONFIG_FIELDS:
            problems.append((str(key), f"unknown field; known fields: {', '.join(_CONFIG_FIELDS)}"))
    defaults = ExportConfig()
    values: dict[str, Any] = {}
    checks = {"schedule": _check_schedule, "timezone": _check_timezone, "tables": _check_tables,
              "formats": _check_formats, "keep_versions": _check_keep}
    raw_values = {"tables": "all", "formats": list(defaults.formats)} | raw
    for name, check in checks.items():
        if name not in raw_values:
            continue
        try:
            values[name] = check(raw_values[name])
        except ValueError as exc:
            problems.append((name, str(exc)))
    override = (env.get(SCHEDULE_ENV) or "").strip()
    if override:
        try:
            values["schedule"] = _check_schedule(override)
        except ValueError as exc:
            problems.append((SCHEDULE_ENV, f"(environment) {exc}"))
    if problems:
        raise ExportConfigError(source, problems)
    return ExportConfig(**values)


def load_export_config(path: Path | None = None, *, env: Mapping[str, str] | None = None) -> ExportConfig:
    """Read and validate ``kho/exports.yaml`` (or *path*)."""
    path = path or CONFIG_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportConfigError(str(path), [("(file)", "not found")]) from None
    except yaml.YAMLError as exc:
        raise ExportConfigError(str(path), [("(yaml)", str(exc).replace("\n", " "))]) from None
    return parse_export_config(raw, source=str(path), env=env)


# -- locations -----------------------------------------------------------------------------------

def remote_exchange_root(settings: Settings) -> str | None:
    """The exchange's ``s3://`` URI on the cluster profile; None when it is on local disk."""
    root = zone_root(settings.lake_root, Zone.EXCHANGE)
    if is_object_store(root):
        return root
    if "://" in root:
        raise ExportError(f"the exchange at {root} is neither a local folder nor s3://")
    return None


def exchange_root(settings: Settings) -> Path:
    """Where export files are written: ``<lake root>/exchange`` on local disk, or the local
    mirror of the exchange bucket (``<state dir>/exchange-mirror/<bucket>/<prefix>``)."""
    remote = remote_exchange_root(settings)
    if remote is None:
        return Path(zone_root(settings.lake_root, Zone.EXCHANGE))
    from kho.exchange_store import bucket_path

    return settings.state_dir / "exchange-mirror" / bucket_path(remote)


_MIRROR_DEPTH = 0


def _mirrored(fn):
    """Run ``fn`` on an up-to-date mirror of the exchange bucket and publish what it wrote.

    On local disk: ``fn`` as it is. Nested calls (export_all -> export_table -> write_index)
    pull once at the outermost call and push once when it ends, also when it raised: every
    version finished before the error is complete in the mirror and is published.
    """
    import functools

    @functools.wraps(fn)
    def wrapper(settings, *args, **kwargs):
        global _MIRROR_DEPTH
        remote = remote_exchange_root(settings)
        if remote is None or _MIRROR_DEPTH:
            return fn(settings, *args, **kwargs)
        from kho import exchange_store as store

        filesystem = store.filesystem()
        base = f"{store.bucket_path(remote)}/{IOC_DOMAIN}"
        local = ioc_exchange_dir(settings)
        pulled = store.pull(filesystem, base, local)
        log.info("%s", store.describe(pulled, f"exchange mirror <- {remote}/{IOC_DOMAIN}"))
        _MIRROR_DEPTH += 1
        try:
            return fn(settings, *args, **kwargs)
        finally:
            _MIRROR_DEPTH -= 1
            pushed = store.push(filesystem, local, base)
            log.info("%s", store.describe(pushed, f"exchange mirror -> {remote}/{IOC_DOMAIN}"))

    return wrapper


def ioc_exchange_dir(settings: Settings) -> Path:
    return exchange_root(settings) / IOC_DOMAIN


def topic_table_path(settings: Settings, name: str) -> str:
    """Where the publish step writes an IOC KPI table: ``<topic zone>/ioc/<name>``."""
    _check_name(name)
    return f"{zone_root(settings.lake_root, Zone.TOPIC)}/{IOC_DOMAIN}/{name}"


def discover_tables(settings: Settings) -> list[str]:
    """Every published IOC KPI table: the Delta tables under ``topic/ioc/``, by name."""
    root = zone_root(settings.lake_root, Zone.TOPIC) + f"/{IOC_DOMAIN}"
    if is_object_store(root):
        from kho import exchange_store as store

        filesystem, base = store.filesystem(), store.bucket_path(root)
        return [name for name in store.list_dirs(filesystem, base)
                if _NAME.match(name) and "_delta_log" in store.list_dirs(filesystem, f"{base}/{name}")]
    folder = Path(root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_dir() and (p / "_delta_log").is_dir() and _NAME.match(p.name))


def tables_to_export(settings: Settings, config: ExportConfig) -> list[str]:
    """The configured tables, or every discovered one; a configured table that is not published is an error."""
    found = discover_tables(settings)
    if config.tables is None:
        return found
    missing = [t for t in config.tables if t not in found]
    if missing:
        raise ExportError(f"kho/exports.yaml lists {', '.join(missing)}, not published under topic/{IOC_DOMAIN} "
                          f"(published: {', '.join(found) or 'none yet'})")
    return list(config.tables)


def _check_name(name: str) -> None:
    if not _NAME.match(name or ""):
        raise ExportError(f"{name!r} is not an export name (lower_snake_case, e.g. ioc_citizen)")


# -- exporting -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportResult:
    """One table's export: the folder it lives in and whether this call wrote it."""

    name: str
    delta_version: int
    status: str                  # "exported" (written now) or "unchanged" (already there, verified)
    folder: Path
    manifest: dict[str, Any]
    pruned: tuple[int, ...] = ()  # version folders removed by keep_versions

    @property
    def row_count(self) -> int:
        return int(self.manifest["row_count"])

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.name, "delta_version": self.delta_version, "status": self.status,
                "folder": str(self.folder), "row_count": self.row_count,
                "logical_date": self.manifest.get("logical_date"),
                "quality": (self.manifest.get("quality") or {}).get("verdict"),
                "freshness": (self.manifest.get("freshness") or {}).get("max"), "pruned": list(self.pruned)}


@dataclass(frozen=True)
class _Snapshot:
    """One Delta version read for export: its rows (sorted, plain types) and commit metadata."""

    table: pa.Table
    version: int
    commit: dict[str, Any]
    order_by: tuple[str, ...]


def _storage_options(path: str) -> dict[str, str] | None:
    if not is_object_store(path):
        return None
    from kho.lake import storage_options

    return storage_options()


def _read_snapshot(table_path: str, version: int | None) -> _Snapshot:
    import pyarrow as pa
    from deltalake import DeltaTable

    opts = _storage_options(table_path)
    if not DeltaTable.is_deltatable(table_path, storage_options=opts):
        raise ExportError(f"{table_path} is not a Delta table (has the IOC table been published yet?)")
    dt = DeltaTable(table_path, storage_options=opts)
    latest = dt.version()
    wanted = latest if version is None else version
    if wanted < 0 or wanted > latest:
        raise ExportError(f"{table_path} has Delta versions 0..{latest}; there is no version {wanted}")
    commit = next((h for h in dt.history() if h.get("version") == wanted), None)
    if commit is None:
        raise ExportError(f"the commit of version {wanted} of {table_path} is no longer in its Delta log "
                          "(log retention); it cannot be exported with its lineage")
    if wanted != latest:
        try:
            dt.load_as_version(wanted)
        except Exception as exc:  # vacuumed data files, log cleaned up
            raise ExportError(f"version {wanted} of {table_path} cannot be loaded: {exc}") from exc
    table = _plain_types(dt.to_pyarrow_table())
    # Not an IOC-shaped table: order by every sortable column, so the bytes still do not depend on file layout.
    order_by = IOC_KEY if all(c in table.column_names for c in IOC_KEY) else tuple(
        f.name for f in table.schema if not pa.types.is_nested(f.type))
    if table.num_rows:
        table = table.sort_by([(c, "ascending") for c in order_by])
    return _Snapshot(table=table.combine_chunks() if table.num_rows else table, version=wanted, commit=commit,
                     order_by=order_by)


def _plain_types(table: pa.Table) -> pa.Table:
    """Large/view string and binary types as their plain forms, so the schema reads the same everywhere."""
    import pyarrow as pa

    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", lambda _: False)(t):
            t = pa.string()
        elif pa.types.is_large_binary(t) or getattr(pa.types, "is_binary_view", lambda _: False)(t):
            t = pa.binary()
        fields.append(pa.field(f.name, t, f.nullable))
    schema = pa.schema(fields)
    return table if schema.equals(table.schema) else table.cast(schema)


def _quality(commit: Mapping[str, Any], table_path: str, version: int) -> dict[str, Any]:
    """The commit's quality verdict; anything but ``passed`` refuses the export."""
    raw = commit.get("kho.quality")
    if raw is None:
        raise ExportRefused(f"version {version} of {table_path} carries no kho.quality commit metadata: it was not "
                            "published by an audited build (kho.marts.publish), so it is not exported")
    try:
        quality = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except (ValueError, TypeError) as exc:
        raise ExportRefused(f"version {version} of {table_path}: kho.quality is not valid JSON ({exc}); "
                            "not exported") from None
    verdict = quality.get("verdict")
    if verdict != "passed":
        failed = sorted(s for s, ok in (quality.get("suites") or {}).items() if not ok)
        raise ExportRefused(f"version {version} of {table_path} has quality verdict {verdict!r}"
                            + (f" (failed suites: {', '.join(failed)})" if failed else "")
                            + "; only versions that passed their audit are exported, and latest.json keeps "
                              "pointing at the previous exported version")
    return {"verdict": verdict, "suites": dict(quality.get("suites") or {}),
            "warnings": int(quality.get("warnings") or 0)}


def _source_ref(settings: Settings, table_path: str) -> str:
    """``topic/ioc/<name>`` for a table in this lake's topic zone (never a machine's absolute path)."""
    topic = zone_root(settings.lake_root, Zone.TOPIC).rstrip("/")
    if table_path.rstrip("/").startswith(topic + "/"):
        return f"{Zone.TOPIC.value}/{table_path.rstrip('/')[len(topic) + 1:]}"
    return table_path


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _freshness(table: pa.Table) -> dict[str, Any]:
    import pyarrow.compute as pc

    if FRESHNESS_COLUMN not in table.column_names:
        return {"column": None, "max": None}
    newest = pc.max(table[FRESHNESS_COLUMN]).as_py() if table.num_rows else None
    return {"column": FRESHNESS_COLUMN, "max": _cell(newest) or None}


def _schema(table: pa.Table) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in table.schema]


def _base_manifest(settings: Settings, snap: _Snapshot, table_path: str, name: str,
                   quality: dict[str, Any]) -> dict[str, Any]:
    c = snap.commit
    committed = datetime.fromtimestamp(c["timestamp"] / 1000, tz=timezone.utc) if c.get("timestamp") else None
    return {
        "manifest_version": MANIFEST_VERSION,
        "table": name,
        "source_table": _source_ref(settings, table_path),
        "delta_version": snap.version,
        "delta_commit_timestamp": _iso_utc(committed) if committed else None,
        "logical_date": c.get("kho.logical_date"),
        "run_id": c.get("kho.run_id"),
        "data_version": None if c.get("kho.data_version") is None else str(c.get("kho.data_version")),
        "row_count": snap.table.num_rows,
        "schema": _schema(snap.table),
        "order_by": list(snap.order_by),
        "quality": quality,
        "freshness": _freshness(snap.table),
    }


@_mirrored
def export_table(settings: Settings, table_path: str, *, name: str, formats: Iterable[str] = FORMATS,
                 version: int | None = None, keep_versions: int | None = None,
                 export_run_id: str | None = None, update_index: bool = True) -> ExportResult:
    """Export one Delta version (the latest by default) of an IOC KPI table into the exchange.

    Writes ``<exchange>/ioc/<name>/v<delta version>/`` (CSV and/or Parquet plus manifest.json)
    atomically, then moves ``latest.json`` to the newest exported version and rewrites the index.
    An existing version folder is verified and reported ``unchanged``; if it no longer matches
    its manifest or the Delta version, :class:`ExportMismatch` is raised and nothing is touched.
    A version that did not pass its quality audit raises :class:`ExportRefused`.
    ``keep_versions`` (None: keep all) removes the oldest version folders beyond that many.
    """
    _check_name(name)
    formats = tuple(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ExportError(f"formats must be drawn from {', '.join(FORMATS)}; got {', '.join(formats) or 'none'}")
    table_dir = ioc_exchange_dir(settings) / name
    snap = _read_snapshot(table_path, version)
    quality = _quality(snap.commit, table_path, snap.version)
    expected = _base_manifest(settings, snap, table_path, name, quality)
    final = table_dir / f"v{snap.version}"

    if final.exists():
        manifest = _check_existing(final, expected, formats)
        status = "unchanged"
    else:
        manifest = _write_version(table_dir, final, snap, expected, formats, export_run_id)
        status = "exported"
        if manifest is None:  # another exporter renamed the same version into place first
            manifest = _check_existing(final, expected, formats)
            status = "unchanged"
    pruned = _prune(table_dir, keep_versions) if keep_versions else ()
    _update_latest(table_dir)
    if update_index:
        write_index(settings)
    return ExportResult(name=name, delta_version=snap.version, status=status, folder=final, manifest=manifest,
                        pruned=pruned)


def _check_existing(folder: Path, expected: Mapping[str, Any], formats: tuple[str, ...]) -> dict[str, Any]:
    """An existing version folder must verify and describe exactly this Delta version."""
    problems = verify(folder)
    if problems:
        raise ExportMismatch(f"{folder} already exists but does not verify; versions are immutable, so it is not "
                             "rewritten. Investigate (tampering, disk fault) and move the folder aside to export "
                             "again:\n  " + "\n  ".join(problems))
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    diffs = [f"{k}: folder has {manifest.get(k)!r}, Delta version has {expected.get(k)!r}"
             for k in _IDENTITY if manifest.get(k) != expected.get(k)]
    have = {f.get("format") for f in manifest.get("files", [])}
    missing = [f for f in formats if f not in have]
    if missing:
        diffs.append(f"formats: folder has {', '.join(sorted(have))}, {', '.join(missing)} requested; a version "
                     "folder is never extended (the next Delta version will carry the new formats)")
    if diffs:
        raise ExportMismatch(f"{folder} already exists and differs from what Delta version "
                             f"{expected['delta_version']} of {expected['source_table']} would export; it is not "
                             "rewritten:\n  " + "\n  ".join(diffs))
    return manifest


def _write_version(table_dir: Path, final: Path, snap: _Snapshot, base: dict[str, Any], formats: tuple[str, ...],
                   export_run_id: str | None) -> dict[str, Any] | None:
    """Write the version into a hidden temp folder, self-verify, rename into place; None if it lost a race."""
    import pyarrow.parquet as pq

    name = base["table"]
    table_dir.mkdir(parents=True, exist_ok=True)
    tmp = table_dir / f".tmp-{final.name}-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        files = []
        if "csv" in formats:
            path = tmp / f"{name}.csv"
            _write_csv(snap.table, path)
            files.append(_file_entry(path, "csv", snap.table.num_rows))
        if "parquet" in formats:
            path = tmp / f"{name}.parquet"
            pq.write_table(snap.table, path, compression="snappy")
            files.append(_file_entry(path, "parquet", snap.table.num_rows))
        manifest = {**base, "files": files, "csv": CSV_DIALECT if "csv" in formats else None,
                    "exported_at": _iso_utc(datetime.now(timezone.utc)), "export_run_id": export_run_id}
        manifest = _ordered(manifest)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for p in tmp.iterdir():
            _fsync(p)
            p.chmod(0o444)  # read-only: a reminder that a published version is never edited
        problems = verify(tmp)
        if problems:
            raise ExportError(f"the export of {name} v{snap.version} does not verify against its own manifest: "
                              + "; ".join(problems))
        _fsync(tmp)
        try:
            os.rename(tmp, final)  # atomic on one file system; fails if the version already exists
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) and final.exists():
                shutil.rmtree(tmp, ignore_errors=True)
                return None
            raise
        _fsync(table_dir)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _ordered(manifest: dict[str, Any]) -> dict[str, Any]:
    """Manifest keys in reading order (what, where from, what is in it, how good, when)."""
    order = ("manifest_version", "table", "source_table", "delta_version", "delta_commit_timestamp",
             "logical_date", "run_id", "data_version", "row_count", "schema", "order_by", "files", "csv",
             "quality", "freshness", "exported_at", "export_run_id")
    return {k: manifest[k] for k in order if k in manifest} | {k: v for k, v in manifest.items() if k not in order}


def _file_entry(path: Path, fmt: str, rows: int) -> dict[str, Any]:
    return {"name": path.name, "format": fmt, "bytes": path.stat().st_size, "sha256": _sha256(path), "rows": rows}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Flush a file or directory entry to disk, so a rename never publishes data still in cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _cell(value: Any) -> str:
    """One CSV cell: ISO 8601 dates and timestamps (microseconds, always), empty for null."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.hex()
    return str(value)  # float: shortest text that reads back to the same double


def _write_csv(table: pa.Table, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=",", quotechar='"', lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(table.column_names)
        for batch in table.to_batches(max_chunksize=50_000):
            columns = [[_cell(v) for v in col.to_pylist()] for col in batch.columns]
            writer.writerows(zip(*columns))


# -- verification --------------------------------------------------------------------------------

def verify(path: str | os.PathLike[str]) -> list[str]:
    """Check a version folder against its manifest; returns the problems (empty: it verifies).

    Checks: every listed file exists with the listed size and SHA-256; the CSV has the schema's
    header and ``row_count`` records; the Parquet file has ``row_count`` rows and the schema's
    names and types; and no file is in the folder that the manifest does not list.
    """
    folder = Path(path)
    mpath = folder / MANIFEST
    if not mpath.is_file():
        return [f"{folder}: no {MANIFEST}"]
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files = manifest["files"]
        rows = int(manifest["row_count"])
        schema = [(c["name"], c["type"]) for c in manifest["schema"]]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{mpath}: unreadable manifest ({type(exc).__name__}: {exc})"]
    problems: list[str] = []
    listed = {MANIFEST}
    for entry in files:
        fname = str(entry.get("name", ""))
        if not fname or "/" in fname or "\\" in fname or fname.startswith("."):
            problems.append(f"manifest lists an invalid file name {fname!r}")
            continue
        listed.add(fname)
        fpath = folder / fname
        if not fpath.is_file():
            problems.append(f"{fname}: missing")
            continue
        size = fpath.stat().st_size
        if size != entry.get("bytes"):
            problems.append(f"{fname}: {size} bytes, manifest says {entry.get('bytes')}")
        digest = _sha256(fpath)
        if digest != entry.get("sha256"):
            problems.append(f"{fname}: sha256 {digest}, manifest says {entry.get('sha256')}")
        fmt = entry.get("format")
        if entry.get("rows") is not None and int(entry["rows"]) != rows:
            problems.append(f"{fname}: manifest lists {entry['rows']} rows for the file but row_count {rows}")
        if fmt == "csv":
            problems += _verify_csv(fpath, rows, [n for n, _ in schema])
        elif fmt == "parquet":
            problems += _verify_parquet(fpath, rows, schema)
        else:
            problems.append(f"{fname}: unknown format {fmt!r}")
    extra = sorted(p.name for p in folder.iterdir() if p.name not in listed)
    if extra:
        problems.append(f"files not in the manifest: {', '.join(extra)}")
    return problems


def _verify_csv(path: Path, rows: int, names: list[str]) -> list[str]:
    problems = []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            widths = set()
            count = 0
            for record in reader:
                count += 1
                widths.add(len(record))
    except (UnicodeDecodeError, csv.Error) as exc:
        return [f"{path.name}: not readable as UTF-8 CSV ({exc})"]
    if header != names:
        problems.append(f"{path.name}: header {header} differs from the manifest schema {names}")
    if count != rows:
        problems.append(f"{path.name}: {count} rows, manifest says {rows}")
    if widths - {len(names)}:
        problems.append(f"{path.name}: records with {sorted(widths - {len(names)})} fields, schema has {len(names)}")
    return problems


def _verify_parquet(path: Path, rows: int, schema: list[tuple[str, str]]) -> list[str]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        actual = [(f.name, str(f.type)) for f in pf.schema_arrow]
        count = pf.metadata.num_rows
    except Exception as exc:  # corrupt footer, not a Parquet file
        return [f"{path.name}: not readable as Parquet ({type(exc).__name__}: {exc})"]
    problems = []
    if count != rows:
        problems.append(f"{path.name}: {count} rows, manifest says {rows}")
    if actual != schema:
        problems.append(f"{path.name}: schema {actual} differs from the manifest schema {schema}")
    return problems


# -- pointers, index, retention ------------------------------------------------------------------

def _versions(table_dir: Path) -> list[int]:
    """Published version numbers of one table (folders ``v<N>`` holding a manifest), ascending."""
    if not table_dir.is_dir():
        return []
    found = []
    for p in table_dir.iterdir():
        m = _VERSION_DIR.match(p.name)
        if m and (p / MANIFEST).is_file():
            found.append(int(m.group(1)))
    return sorted(found)


def _write_json_atomic(path: Path, data: Any) -> None:
    """Write a JSON file so readers see the old or the new document, never a partial one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync(path.parent)


def _update_latest(table_dir: Path) -> dict[str, Any] | None:
    """Point ``latest.json`` at the highest exported version (a pinned older export never moves it back)."""
    versions = _versions(table_dir)
    if not versions:
        return None
    newest = versions[-1]
    mpath = table_dir / f"v{newest}" / MANIFEST
    manifest = json.loads(mpath.read_text(encoding="utf-8"))
    pointer = {"table": manifest["table"], "delta_version": newest, "path": f"v{newest}",
               "manifest": f"v{newest}/{MANIFEST}", "manifest_sha256": _sha256(mpath),
               "files": {f["format"]: f"v{newest}/{f['name']}" for f in manifest["files"]},
               "logical_date": manifest.get("logical_date"), "row_count": manifest["row_count"],
               "freshness": (manifest.get("freshness") or {}).get("max"), "exported_at": manifest.get("exported_at")}
    current = table_dir / LATEST
    if current.is_file():
        try:
            old = json.loads(current.read_text(encoding="utf-8"))
            if {k: v for k, v in old.items() if k != "updated_at"} == pointer:
                return old
        except ValueError:
            pass  # a damaged pointer is simply replaced
    pointer["updated_at"] = _iso_utc(datetime.now(timezone.utc))
    _write_json_atomic(current, pointer)
    return pointer


def _prune(table_dir: Path, keep: int) -> tuple[int, ...]:
    """Remove the oldest version folders beyond *keep* (the newest is always kept).

    A folder is first renamed to a hidden name, so a reader never sees a half-deleted version.
    """
    versions = _versions(table_dir)
    doomed = versions[:-keep] if keep and len(versions) > keep else []
    for v in doomed:
        hidden = table_dir / f".deleting-v{v}-{uuid.uuid4().hex[:8]}"
        os.rename(table_dir / f"v{v}", hidden)
        shutil.rmtree(hidden, ignore_errors=True)
    return tuple(doomed)


@_mirrored
def build_index(settings: Settings) -> dict[str, Any]:
    """Every exported table with its versions (read from the manifests) and its latest version."""
    root = ioc_exchange_dir(settings)
    tables: dict[str, Any] = {}
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and _NAME.match(p.name)) if root.is_dir() else []
    for name in names:
        versions = []
        for v in _versions(root / name):
            m = json.loads((root / name / f"v{v}" / MANIFEST).read_text(encoding="utf-8"))
            versions.append({"delta_version": v, "path": f"{name}/v{v}", "logical_date": m.get("logical_date"),
                             "run_id": m.get("run_id"), "data_version": m.get("data_version"),
                             "row_count": m.get("row_count"), "quality": (m.get("quality") or {}).get("verdict"),
                             "freshness": (m.get("freshness") or {}).get("max"), "exported_at": m.get("exported_at"),
                             "formats": [f["format"] for f in m.get("files", [])]})
        if versions:
            tables[name] = {"latest": versions[-1]["delta_version"], "latest_path": versions[-1]["path"],
                            "pointer": f"{name}/{LATEST}", "versions": versions}
    return {"index_version": MANIFEST_VERSION, "tables": tables}


@_mirrored
def write_index(settings: Settings) -> dict[str, Any]:
    """Rebuild ``ioc/index.json`` from the version folders (they are the truth) and replace it atomically."""
    index = build_index(settings)
    root = ioc_exchange_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    index["updated_at"] = _iso_utc(datetime.now(timezone.utc))
    _write_json_atomic(root / INDEX, index)
    return index


# -- whole runs ----------------------------------------------------------------------------------

def export_named(settings: Settings, name: str, config: ExportConfig | None = None, *, version: int | None = None,
                 export_run_id: str | None = None, update_index: bool = True) -> ExportResult:
    """Export one IOC table of the topic zone by name, with the configured formats and retention."""
    config = config or load_export_config()
    return export_table(settings, topic_table_path(settings, name), name=name, formats=config.formats,
                        version=version, keep_versions=config.keep_versions, export_run_id=export_run_id,
                        update_index=update_index)


@dataclass(frozen=True)
class ExportRun:
    """The outcome of :func:`export_all`: one result per exported table, one message per failure."""

    results: list[ExportResult]
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


@_mirrored
def export_all(settings: Settings, config: ExportConfig | None = None, *,
               export_run_id: str | None = None) -> ExportRun:
    """Export every configured (default: every published) IOC table; one failure does not stop the others."""
    config = config or load_export_config()
    results, failures = [], {}
    for name in tables_to_export(settings, config):
        try:
            results.append(export_named(settings, name, config, export_run_id=export_run_id, update_index=False))
        except ExportError as exc:
            failures[name] = str(exc)
    write_index(settings)
    return ExportRun(results=results, failures=failures)
