"""The source registry: one YAML file per source system, validated into typed, frozen models.

A file ``kho/ingest/sources/<system>.yaml`` declares a :class:`SourceConfig` (owner agency,
transport, Airflow connection id, cadence) and its objects (:class:`ObjectConfig`: where the
data is, how it is loaded, its keys, its schema contract and its personal-data columns).
Connectors, DAG generation, watermarks and backfills read these models; nothing else
describes a source. docs/connectors.md explains every field with an example.

Load modes (what one run of an object reads and writes to raw, which is always append-only):

* ``full_snapshot``: the whole object, every run, as one batch (small tables and catalogues).
* ``incremental``: rows whose ``cursor_column`` is at or after the last watermark minus
  ``lookback``; rows re-read inside the lookback are recognised by ``primary_key`` plus
  ``_record_hash`` and not written twice.
* ``append_only``: every new unit the source delivers (a dropped file, a stream segment) is one
  batch, read once and never re-read.
* ``snapshot_diff``: the whole object is read and compared with the previous snapshot by
  ``primary_key`` and ``_record_hash``; new and changed rows are written, keys that disappeared
  are written as tombstones (hard deletes are real in these sources). A key the source does
  not keep unique (faulty duplicates) is compared as a multiset of (key, hash) pairs.

``primary_key`` is the key the connector uses for those comparisons; raw never enforces it.
``natural_key`` (optional) is the business key processed jobs de-duplicate on when it differs.

Schema policies: ``freeze`` fails a batch whose columns differ from ``expected_schema`` in any
way; ``evolve`` accepts new nullable columns (recorded as a schema-change event) but still fails
on a removed, renamed or re-typed column, which needs a data engineer's decision.

Secrets never appear here: ``connection_id`` names an Airflow connection that holds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from kho.lake import TableRef, Zone

SOURCES_DIR = Path(__file__).resolve().parent / "sources"

#: Columns every raw table gets from the ingest task (ARCHITECTURE.md), partition column included.
INGEST_COLUMNS = ("_batch_id", "_ingested_at", "_source_system", "_source_object", "_record_hash", "_ingest_date")

Transport = Literal["direct", "lgsp_api", "file_drop", "stream"]
LoadMode = Literal["full_snapshot", "incremental", "append_only", "snapshot_diff"]
SchemaPolicy = Literal["freeze", "evolve"]
ColumnType = Literal["string", "int", "bigint", "double", "decimal", "date", "timestamp", "boolean"]
FileKind = Literal["csv", "xlsx", "json", "jsonl"]

CADENCE_PRESETS = ("@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")
CURSOR_TYPES = ("date", "timestamp", "string")   # string: ISO-ordered text such as "YYYY-MM-DD HH:MM:SS"

_IDENT = r"^[a-z][a-z0-9_]*$"
_COLUMN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SHORT_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class _FieldProblems(ValueError):
    """Cross-field problems, each tied to the field it is about, so errors can name the field."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


def _parse_duration(value: Any) -> Any:
    """Accept "3d" / "6h" / "30m" / "2w" / "90s" besides ISO 8601 durations ("P3D", "PT6H")."""
    if isinstance(value, str):
        m = _SHORT_DURATION.match(value)
        if m:
            return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
        if not value.strip().upper().startswith("P"):
            raise ValueError(f"{value!r} is not a duration; write e.g. '3d', '6h' or ISO 8601 'P3D'")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError("give a lookback with a unit, e.g. '3d' or 'PT6H', not a bare number")
    return value


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]


def _check_cadence(value: str) -> str:
    value = value.strip()
    if value.startswith("@"):
        if value not in CADENCE_PRESETS:
            raise ValueError(f"unknown preset {value!r}; use a 5-field cron or one of {', '.join(CADENCE_PRESETS)}")
        return value
    fields = value.split()
    if len(fields) != 5 or not all(re.fullmatch(r"[0-9A-Za-z*/,\-?LW#]+", f) for f in fields):
        raise ValueError(f"{value!r} is not a 5-field cron expression (minute hour day month weekday) or a preset")
    try:
        from croniter import croniter
    except ImportError:  # croniter comes with Airflow; without it the shape check above is all we do
        return value
    if not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a valid cron expression")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class ColumnSpec(_Model):
    """One column of an object's expected schema, as the source delivers it (raw keeps it so)."""

    name: str = Field(pattern=_COLUMN)
    type: ColumnType
    nullable: bool = True
    description: str = ""
    aliases: list[str] = Field(default_factory=list)
    """Earlier names of this column at the source (a rename a data engineer accepted): read as this column."""
    optional: bool = False
    """Deliveries before the column existed may lack it (it reads as null); only with schema_policy evolve."""


class FileFormat(_Model):
    """How to read a dropped file. Only the options that fit ``type`` may be set."""

    type: FileKind
    encoding: str = "utf-8"           # "utf-8-sig" for files with a BOM
    delimiter: str | None = None      # csv only; default ","
    sheet: str | None = None          # xlsx only; None = every sheet the reader handles
    header_row: int | None = Field(default=None, ge=1)       # csv/xlsx, 1-based; default 1
    data_start_row: int | None = Field(default=None, ge=1)   # xlsx, 1-based; default header_row + 1
    ignore_columns: list[str] = Field(default_factory=list)  # layout columns with no data, e.g. a running number "STT"
    reader: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    """``module:function`` for layouts no generic reader handles (it returns rows as dicts)."""

    @model_validator(mode="after")
    def _options_fit_type(self) -> FileFormat:
        problems = []
        if self.delimiter is not None and self.type != "csv":
            problems.append(("delimiter", f"only for csv files, not {self.type}"))
        if self.delimiter is not None and len(self.delimiter) != 1:
            problems.append(("delimiter", f"must be one character, got {self.delimiter!r}"))
        if self.sheet is not None and self.type != "xlsx":
            problems.append(("sheet", f"only for xlsx files, not {self.type}"))
        if self.header_row is not None and self.type not in ("csv", "xlsx"):
            problems.append(("header_row", f"only for csv and xlsx files, not {self.type}"))
        if self.data_start_row is not None:
            if self.type != "xlsx":
                problems.append(("data_start_row", f"only for xlsx files, not {self.type}"))
            elif self.data_start_row <= (self.header_row or 1):
                problems.append(("data_start_row", "must come after header_row"))
        if problems:
            raise _FieldProblems(problems)
        return self


class ApiOptions(_Model):
    """Paging and cursor of an LGSP REST endpoint (transport ``lgsp_api`` only)."""

    records_field: str = "du_lieu"                 # the envelope field holding the rows
    page_size: int = Field(default=500, ge=1)
    cursor_param: str | None = None                # query parameter taking the watermark (incremental)
    resume_param: str | None = None                # keyset resume parameter (e.g. "sau_id")
    next_cursor_field: str | None = None           # envelope field with the next keyset position


class SchemaChange(_Model):
    """A change the source owner announced or that was observed, and what it requires of us."""

    effective: str                                 # e.g. "2026-05 extract"
    change: Literal["added", "removed", "renamed", "type_changed"]
    column: str
    new_name: str | None = None
    note: str = ""

    @model_validator(mode="after")
    def _rename_has_target(self) -> SchemaChange:
        if (self.change == "renamed") != (self.new_name is not None):
            raise _FieldProblems([("new_name", "required for a rename and only for a rename")])
        return self


class ObjectConfig(_Model):
    """One source object loaded into one raw table ``raw/<domain>/<name>``."""

    name: str = Field(pattern=_IDENT)              # raw table name (English, domain term)
    source: str = Field(min_length=1)              # table | file glob under the drop folder | endpoint path
    description: str = ""
    format: FileFormat | None = None               # file_drop and stream transports only
    api: ApiOptions | None = None                  # lgsp_api transport only
    load_mode: LoadMode
    cursor_column: str | None = None               # incremental only
    lookback: Duration | None = None               # incremental only
    primary_key: list[str] = Field(default_factory=list)
    natural_key: list[str] = Field(default_factory=list)
    schema_policy: SchemaPolicy = "freeze"
    pii_columns: list[str] = Field(default_factory=list)
    expected_schema: list[ColumnSpec] = Field(min_length=1)
    partition_by: list[str] = Field(default_factory=lambda: ["_ingest_date"], min_length=1)
    cadence: str | None = None                     # overrides the source's cadence for this object
    pool: str | None = None                        # Airflow pool; filled as raw.<domain>.<name>
    engine: Literal["python", "spark"] = "python"  # direct only: "spark" reads over Spark JDBC in parallel
    partition_column: str | None = None            # spark engine: numeric column splitting the parallel reads
    read_partitions: int = Field(default=4, ge=1, le=256)  # spark engine: parallel JDBC reads
    known_schema_changes: list[SchemaChange] = Field(default_factory=list)

    @field_validator("cadence")
    @classmethod
    def _valid_cadence(cls, value: str | None) -> str | None:
        return None if value is None else _check_cadence(value)

    @property
    def columns(self) -> dict[str, ColumnSpec]:
        return {c.name: c for c in self.expected_schema}

    @property
    def aliases(self) -> dict[str, str]:
        """Earlier source name -> declared name, for every accepted rename."""
        return {alias: c.name for c in self.expected_schema for alias in c.aliases}

    @property
    def optional_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.expected_schema if c.optional)

    @model_validator(mode="after")
    def _cross_field(self) -> ObjectConfig:
        problems: list[tuple[str, str]] = []
        names = [c.name for c in self.expected_schema]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(("expected_schema", f"duplicate column(s) {', '.join(dupes)}"))
        clash = sorted(set(names) & set(INGEST_COLUMNS))
        if clash:
            problems.append(("expected_schema", f"{', '.join(clash)} are ingestion columns the loader adds"))
        cols = set(names)

        def missing(field_name: str, wanted: list[str]) -> None:
            absent = [c for c in wanted if c not in cols]
            if absent:
                problems.append((field_name, f"{', '.join(map(repr, absent))} not in expected_schema"))
            if len(set(wanted)) != len(wanted):
                problems.append((field_name, "lists a column twice"))

        if self.load_mode == "incremental":
            if self.cursor_column is None:
                problems.append(("cursor_column", "required when load_mode is incremental"))
            elif self.cursor_column not in cols:
                problems.append(("cursor_column", f"{self.cursor_column!r} not in expected_schema"))
            elif self.columns[self.cursor_column].type not in CURSOR_TYPES:
                problems.append(("cursor_column", f"{self.cursor_column!r} is {self.columns[self.cursor_column].type}; "
                                 f"a cursor with a time lookback must be one of {', '.join(CURSOR_TYPES)}"))
            if self.lookback is None:
                problems.append(("lookback", "required when load_mode is incremental (e.g. '3d', 'PT6H')"))
            elif self.lookback < timedelta(0):
                problems.append(("lookback", "must not be negative"))
        else:
            if self.cursor_column is not None:
                problems.append(("cursor_column", f"only for load_mode incremental, not {self.load_mode}"))
            if self.lookback is not None:
                problems.append(("lookback", f"only for load_mode incremental, not {self.load_mode}"))
        aliases = [a for c in self.expected_schema for a in c.aliases]
        clashing = sorted(set(aliases) & set(names) | {a for a in aliases if aliases.count(a) > 1})
        if clashing:
            problems.append(("expected_schema", f"alias(es) {', '.join(clashing)} clash with a column or another alias"))
        if self.schema_policy == "freeze" and any(c.optional for c in self.expected_schema):
            problems.append(("expected_schema", "optional columns need schema_policy evolve (freeze accepts no change)"))
        if self.engine == "spark":
            if self.partition_column is None:
                problems.append(("partition_column", "required when engine is spark (a numeric column, e.g. the id)"))
            elif self.partition_column not in cols:
                problems.append(("partition_column", f"{self.partition_column!r} not in expected_schema"))
            elif self.columns[self.partition_column].type not in ("int", "bigint"):
                problems.append(("partition_column", f"{self.partition_column!r} must be int or bigint to split reads"))
        elif self.partition_column is not None:
            problems.append(("partition_column", "only for engine spark"))
        if self.load_mode in ("incremental", "snapshot_diff") and not self.primary_key:
            problems.append(("primary_key", f"required when load_mode is {self.load_mode}"))
        missing("primary_key", self.primary_key)
        missing("natural_key", self.natural_key)
        missing("pii_columns", self.pii_columns)
        bad_parts = [p for p in self.partition_by if p not in cols and p not in INGEST_COLUMNS]
        if bad_parts:
            problems.append(("partition_by", f"{', '.join(map(repr, bad_parts))} neither in expected_schema "
                                             f"nor an ingestion column ({', '.join(INGEST_COLUMNS)})"))
        if problems:
            raise _FieldProblems(problems)
        return self


class SourceConfig(_Model):
    """A source system: who owns it, how it is reached and how often, and its objects."""

    system: str = Field(pattern=_IDENT)
    title: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    transport: Transport
    connection_id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    cadence: str
    domain: str = Field(pattern=_IDENT)            # lake domain; defaults to the system name
    timezone: str = "Asia/Ho_Chi_Minh"             # the zone the source's naive timestamps are in
    description: str = ""
    objects: list[ObjectConfig] = Field(min_length=1)

    @field_validator("cadence")
    @classmethod
    def _valid_cadence(cls, value: str) -> str:
        return _check_cadence(value)

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """Fill defaults that depend on other fields: domain = system, pool = raw.<domain>.<name>."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("domain") is None and isinstance(data.get("system"), str):
            data["domain"] = data["system"]
        objects = data.get("objects")
        if isinstance(objects, list) and isinstance(data.get("domain"), str):
            data["objects"] = [
                {**o, "pool": f"raw.{data['domain']}.{o['name']}"}
                if isinstance(o, dict) and o.get("pool") is None and isinstance(o.get("name"), str) else o
                for o in objects
            ]
        return data

    @model_validator(mode="after")
    def _objects_fit_transport(self) -> SourceConfig:
        problems: list[tuple[str, str]] = []
        seen: set[str] = set()
        for i, obj in enumerate(self.objects):
            where = f"objects[{i}]"
            if obj.name in seen:
                problems.append((f"{where}.name", f"raw table {obj.name!r} is declared twice in this system"))
            seen.add(obj.name)
            files = self.transport in ("file_drop", "stream")
            if files and obj.format is None:
                problems.append((f"{where}.format", f"required for transport {self.transport} (csv, xlsx, json, jsonl)"))
            if not files and obj.format is not None:
                problems.append((f"{where}.format", f"only for file_drop and stream transports, not {self.transport}"))
            if obj.api is not None and self.transport != "lgsp_api":
                problems.append((f"{where}.api", f"only for transport lgsp_api, not {self.transport}"))
            if self.transport == "lgsp_api" and not obj.source.startswith("/"):
                problems.append((f"{where}.source", f"an lgsp_api endpoint path starts with '/', got {obj.source!r}"))
            if files and (obj.source.startswith("/") or ".." in Path(obj.source).parts):
                problems.append((f"{where}.source", "a file glob is relative to the drop folder (no leading '/', no '..')"))
            if obj.engine == "spark" and self.transport != "direct":
                problems.append((f"{where}.engine", f"spark reads databases only (transport direct), not {self.transport}"))
            if obj.api is not None and obj.api.cursor_param and obj.load_mode != "incremental":
                problems.append((f"{where}.api.cursor_param", "only for load_mode incremental"))
            if obj.load_mode == "incremental" and self.transport == "lgsp_api" and not (obj.api and obj.api.cursor_param):
                problems.append((f"{where}.api.cursor_param", "an incremental lgsp_api object needs the API's cursor parameter"))
        if problems:
            raise _FieldProblems(problems)
        return self

    def object(self, name: str) -> ObjectConfig:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(f"system {self.system!r} has no object {name!r}; known: {', '.join(o.name for o in self.objects)}")

    def cadence_of(self, obj: ObjectConfig) -> str:
        return obj.cadence or self.cadence


def raw_table(source: SourceConfig, obj: ObjectConfig) -> TableRef:
    """The raw-zone Delta table an object is loaded into: ``raw/<domain>/<name>``."""
    return TableRef(Zone.RAW, source.domain, obj.name)


class RegistryError(ValueError):
    """A registry file is invalid. ``problems`` lists one line per problem (file, object, field, what)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid source registry:\n  " + "\n  ".join(problems) if len(problems) > 1 else problems[0])


@dataclass(frozen=True)
class Registry:
    """Every declared source system, by name (sorted), with the file each came from."""

    systems: Mapping[str, SourceConfig]
    files: Mapping[str, Path] = field(default_factory=dict)

    def get(self, system: str) -> SourceConfig:
        try:
            return self.systems[system]
        except KeyError:
            raise KeyError(f"unknown source system {system!r}; registered: {', '.join(self.systems)}") from None

    def objects(self) -> Iterator[tuple[SourceConfig, ObjectConfig]]:
        """Every (source, object) pair, systems in name order, objects in file order."""
        for source in self.systems.values():
            for obj in source.objects:
                yield source, obj

    def raw_tables(self) -> dict[str, tuple[SourceConfig, ObjectConfig]]:
        """``"raw/<domain>/<name>"`` -> (source, object)."""
        return {str(raw_table(s, o)): (s, o) for s, o in self.objects()}

    def __iter__(self) -> Iterator[SourceConfig]:
        return iter(self.systems.values())

    def __len__(self) -> int:
        return len(self.systems)


# -- loading ---------------------------------------------------------------------------------

def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _node_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its nearest existing parent)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _object_label(data: Any, loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "objects" and isinstance(loc[1], int) and isinstance(data, dict):
        objects = data.get("objects")
        if isinstance(objects, list) and loc[1] < len(objects) and isinstance(objects[loc[1]], dict):
            name = objects[loc[1]].get("name")
            if name:
                return f"object {name!r}, "
        return f"object #{loc[1] + 1}, "
    return ""


def _problems(path: Path, data: Any, root: yaml.Node | None, exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "lax-"))))
        error = (err.get("ctx") or {}).get("error")
        items = ([(loc + tuple(_split_path(f)), m) for f, m in error.problems]
                 if isinstance(error, _FieldProblems) else [(loc, _message(err))])
        for where, message in items:
            line = _node_line(root, where)
            at = f" (line {line})" if line else ""
            lines.append(f"{_display(path)}{at}: {_object_label(data, where)}"
                         f"field {_field_path(where) or '<top>'}: {message}")
    return lines


def _split_path(text: str) -> list[Any]:
    parts: list[Any] = []
    for piece in text.split("."):
        m = re.fullmatch(r"(\w+)\[(\d+)\]", piece)
        parts.extend([m.group(1), int(m.group(2))] if m else [piece])
    return parts


def _message(err: Mapping[str, Any]) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown field (a typo?); see docs/connectors.md for the allowed fields"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"{msg} (got {err.get('input')!r})"
    return msg.removeprefix("Value error, ")


def load_source(path: Path | str) -> SourceConfig:
    """Read and validate one registry file; raises :class:`RegistryError` naming file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark else ""
        raise RegistryError([f"{_display(path)}{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    except OSError as exc:
        raise RegistryError([f"{_display(path)}: cannot read: {exc.strerror or exc}"]) from None
    if not isinstance(data, dict):
        raise RegistryError([f"{_display(path)}: expected a mapping with system, owner, transport, ... at the top"])
    try:
        source = SourceConfig.model_validate(data)
    except ValidationError as exc:
        raise RegistryError(_problems(path, data, root, exc)) from None
    if source.system != path.stem:
        line = _node_line(root, ("system",))
        raise RegistryError([f"{_display(path)} (line {line}): field system: {source.system!r} must match the file "
                             f"name ({path.stem}.yaml holds system {path.stem!r})"])
    return source


def load_registry(folder: Path | str | None = None) -> Registry:
    """Load every ``*.yaml`` under ``folder`` (default: the shipped ``kho/ingest/sources``).

    All files are checked before raising, so one run reports every broken file. Duplicate
    system names and raw tables declared by two systems are errors too.
    """
    folder = Path(folder) if folder is not None else SOURCES_DIR
    if not folder.is_dir():
        raise RegistryError([f"{_display(folder)}: registry folder does not exist"])
    problems: list[str] = []
    systems: dict[str, SourceConfig] = {}
    files: dict[str, Path] = {}
    tables: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
        try:
            source = load_source(path)
        except RegistryError as exc:
            problems.extend(exc.problems)
            continue
        if source.system in systems:
            problems.append(f"{_display(path)}: field system: {source.system!r} is already declared in "
                            f"{_display(files[source.system])}")
            continue
        for obj in source.objects:
            ref = str(raw_table(source, obj))
            if ref in tables:
                problems.append(f"{_display(path)}: object {obj.name!r}, field name: raw table {ref} is already "
                                f"loaded by {_display(tables[ref])} (one writer per Delta table)")
            tables.setdefault(ref, path)
        systems[source.system], files[source.system] = source, path
    if problems:
        raise RegistryError(problems)
    if not systems:
        raise RegistryError([f"{_display(folder)}: no *.yaml source files"])
    ordered = dict(sorted(systems.items()))
    return Registry(systems=ordered, files={k: files[k] for k in ordered})
