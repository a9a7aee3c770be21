"""Where tables live in the lake, and the small set of Delta operations Python tasks need.

Every table is ``<lake root>/<zone>/<domain>/<table>`` (ARCHITECTURE.md). Spark jobs and
DuckDB read the same paths; this module is the only place that builds them.

delta-rs (``deltalake``) is imported lazily: it is not fork-safe, so it must be first
used inside the process (or Airflow task) that needs it, never before a fork.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from kho.settings import Settings


class Zone(str, Enum):
    RAW = "raw"
    PROCESSED = "processed"
    INTEGRATED = "integrated"
    TOPIC = "topic"
    QUARANTINE = "quarantine"
    SYSTEM = "_system"
    # Files for other systems (the IOC pulls its KPI exports here), not Delta tables: kho/exchange.py.
    EXCHANGE = "exchange"


@dataclass(frozen=True)
class TableRef:
    """A Delta table identified by zone, domain and name (e.g. processed/population/citizen)."""

    zone: Zone
    domain: str
    name: str

    def path(self, settings: Settings) -> str:
        return f"{zone_root(settings.lake_root, self.zone)}/{self.domain}/{self.name}"

    def __str__(self) -> str:
        return f"{self.zone.value}/{self.domain}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> TableRef:
        zone, domain, name = text.strip("/").split("/")
        return cls(Zone(zone), domain, name)


# The tables of the population slice. Later slices add theirs next to the jobs that write them.
RAW_CITIZEN = TableRef(Zone.RAW, "population", "citizen")
PROCESSED_CITIZEN = TableRef(Zone.PROCESSED, "population", "citizen")
QUARANTINE_CITIZEN = TableRef(Zone.QUARANTINE, "population", "citizen")
INTEGRATED_CITIZEN = TableRef(Zone.INTEGRATED, "citizen", "citizen")
TOPIC_POPULATION = TableRef(Zone.TOPIC, "citizen", "population_by_commune_sex_age")
RUN_LOG = TableRef(Zone.SYSTEM, "pipeline", "run_log")
QUALITY_RESULTS = TableRef(Zone.SYSTEM, "quality", "quality_results")


def zone_root(lake_root: str, zone: Zone) -> str:
    """Where a zone lives: ``<lake_root>/<zone>``, or one bucket per zone with a template.

    A lake root containing ``{zone}`` (the cluster profile's ``s3://{zone}``, or
    ``s3://kho-{zone}``) puts each zone in its own bucket; ``_system`` becomes ``system``
    there, because a bucket name cannot start with an underscore.
    """
    if "{zone}" in lake_root:
        name = zone.value.lstrip("_") if lake_root.startswith("s3://") else zone.value
        return lake_root.replace("{zone}", name).rstrip("/")
    return f"{lake_root.rstrip('/')}/{zone.value}"


def is_object_store(path: str) -> bool:
    return path.startswith(("s3://", "s3a://"))


def storage_options() -> dict[str, str] | None:
    """Object-store options for delta-rs (from ``KHO_S3_*`` / ``AWS_*``); None on local disk.

    The lake is on object storage when the lake root is an ``s3://`` URI; the endpoint and keys
    then must be in the environment (never in a profile file).
    """
    from kho.settings import get_settings

    if not is_object_store(get_settings().lake_root):
        return None
    from kho.storage import delta_rs_storage_options, s3_settings_from_env

    s3 = s3_settings_from_env()
    if s3 is None:
        raise RuntimeError(f"the lake root {get_settings().lake_root} is on S3 but KHO_S3_ENDPOINT is not set; "
                           "for the local MinIO run `eval \"$(bash infra/local/minio.sh env)\"`")
    return delta_rs_storage_options(s3)


def delta_exists(path: str) -> bool:
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(path, storage_options=storage_options())


def delta_version(path: str) -> int | None:
    from deltalake import DeltaTable

    if not delta_exists(path):
        return None
    return DeltaTable(path, storage_options=storage_options()).version()


def delta_count(path: str, predicate: str | None = None) -> int:
    """Row count of a Delta table (0 when it does not exist yet), optionally filtered.

    Uses DuckDB's delta extension so a count reads only the needed column chunks.
    """
    if not delta_exists(path):
        return 0
    from kho.duck import connect

    with connect() as con:
        where = f" WHERE {predicate}" if predicate else ""
        return int(con.sql(f"SELECT count(*) FROM delta_scan('{path}'){where}").fetchone()[0])


def has_deletion_vectors(table: Any) -> bool:
    """Whether a delta-rs ``DeltaTable`` may hold deletion vectors (the MERGE targets of the
    Spark jobs do): its ``to_pyarrow_*`` readers refuse such tables."""
    return "deletionVectors" in set(table.protocol().reader_features or ())


def read_delta_arrow(path: str, columns: list[str] | None = None) -> pa.Table:
    """A whole Delta table as Arrow, deletion vectors applied.

    delta-rs reads plain tables directly; tables with deletion vectors go through its
    DataFusion ``QueryBuilder``, which applies them. Types are the table's (large and view
    Arrow types from DataFusion are cast back to the plain ones delta-rs returns).
    """
    import pyarrow as pa
    from deltalake import DeltaTable, QueryBuilder

    table = DeltaTable(path, storage_options=storage_options())
    if not has_deletion_vectors(table):
        return table.to_pyarrow_table(columns=columns)
    schema = pa.schema(table.schema().to_arrow())
    if columns:
        schema = pa.schema([schema.field(c) for c in columns])
    listed = ", ".join('"' + c.replace('"', '""') + '"' for c in schema.names)
    result = pa.table(QueryBuilder().register("t", table).execute(f"SELECT {listed} FROM t").read_all())
    return result.cast(schema)


def delta_row_count(path: str) -> int:
    """Rows of a Delta table: from the Parquet footers when it has no deletion vectors (no data
    read), else through DuckDB's delta_scan, which applies them."""
    from deltalake import DeltaTable

    table = DeltaTable(path, storage_options=storage_options())
    if not has_deletion_vectors(table):
        return table.to_pyarrow_dataset().count_rows()
    return delta_count(path)


def delta_append(path: str, table: pa.Table, **kwargs: Any) -> None:
    from deltalake import write_deltalake

    write_deltalake(path, table, mode="append", storage_options=storage_options(), **kwargs)


def delta_overwrite(path: str, table: pa.Table, **kwargs: Any) -> int:
    """Overwrite a table as one new Delta version (readers see old or new, never half) and return it."""
    from deltalake import DeltaTable, write_deltalake

    write_deltalake(path, table, mode="overwrite", schema_mode="overwrite",
                    storage_options=storage_options(), **kwargs)
    return DeltaTable(path, storage_options=storage_options()).version()
