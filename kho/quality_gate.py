"""Quality gates at the zone boundaries: validate only what a run just wrote.

After a step writes a table, :func:`check` makes the new rows (and only those) a table of one
scratch DuckDB file (a view over the Delta files that hold the batch where that is exact,
:mod:`kho.gate_views`; a copy otherwise), validates them with the table's expectation suite
through GX's SQL engine on DuckDB (:mod:`kho.quality`; never pandas, pitfall 16), appends
one row per expectation to ``_system/quality/quality_results``, lets the checkpoint rebuild
the Data Docs, writes a run-log row (step ``quality_<zone>``) and raises
:class:`QualityGateFailed` naming every failed critical expectation with its unexpected row
count. Warnings are recorded and reported, never raised.

What "the new rows" are, per zone (the step's own result says it):

* raw: ``_batch_id IN (...)``, the batches of the load (``LoadResult.batch_id``);
* processed: rows whose ``_batch_id`` is one of the raw batches the run processed
  (``summary["raw_batches"]`` of spark_jobs/processed.py): survivors that came from them;
* integrated entities (SCD2): every version of the keys the run changed
  (``_changed_batch`` of this run), so "one current version per key" is checked against the
  versions it closed too; a small table (``SMALL_TABLE_ROWS``) is checked whole;
* integrated links: the table is rewritten by each run, so the run's ``_run_batch`` is all of it.

The gates sit after the write (the data is already in the zone). A failure fails the task
without retry, so the task emits no Airflow asset event and nothing downstream is triggered;
the result table and Data Docs say what failed on how many rows. Write-audit-publish with a
rollback is at the mart boundary (kho.marts) and in the population pipeline's processed audit.

Cost (field-pitfalls 16/17): one DuckDB file per gate call, reused under a stable name per
table; one GX context per process (kho.quality caches it); GX is imported only on the first
gate of a process (4-7 s, ``timings["gx_import"]`` when a gate paid it). Airflow tasks do not
pay it: the deployments preload GX once in the scheduler's forkserver (kho.airflow_preload) and
every task process is forked with it. Elsewhere :func:`warm_up` can start the import in the
background while a guarded step that waits on another process (Spark's JVM) runs; not beside
a CPU-bound Python step: on two cores that made a raw load twice as slow (bench/README.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from kho.sqlquote import sql_ident, sql_literal
from kho.lake import TableRef, delta_row_count
from kho.settings import Settings

log = logging.getLogger(__name__)

ZONES = ("raw", "processed", "integrated", "topic")
# An integrated entity table up to this many rows (all versions) is validated whole: cheap,
# and it checks "one current version per key" across every key, not only the changed ones.
SMALL_TABLE_ROWS = 20_000
SCRATCH_DIR = ("quality", "gates")      # under the state dir: one DuckDB file per guarded table
SOURCE = "source"                       # how a batch filter names the guarded table


class QualityGateFailed(RuntimeError):
    """A critical expectation failed on the rows a step just wrote.

    ``results`` holds the :class:`GateResult` (s) behind the failure, when a gate raised it.
    kho.pipeline re-exports this class (its audits raise it too).
    """

    def __init__(self, message: str, results: Sequence[GateResult] = ()):
        super().__init__(message)
        self.results = tuple(results)


@dataclass(frozen=True)
class GateResult:
    """What one gate checked and found (JSON-able through :meth:`as_dict`, e.g. as an XCom)."""

    zone: str
    table: str                     # the lake table, "raw/population/citizen"
    suite: str
    batch_ids: tuple[str, ...]
    rows: int                      # rows validated
    passed: bool
    skipped: str | None = None     # why nothing was validated
    failures: tuple[str, ...] = ()  # one line per failed critical expectation
    warnings: tuple[str, ...] = ()  # one line per failed warning
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # materialise / validate / record
    data_docs: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"batch_ids": list(self.batch_ids), "failures": list(self.failures),
                               "warnings": list(self.warnings)}

    def describe(self) -> str:
        what = f"{self.zone} gate on {self.table} (suite {self.suite}"
        what += f", batch {', '.join(self.batch_ids)})" if self.batch_ids else ")"
        if self.skipped:
            return f"{what}: skipped, {self.skipped}"
        verdict = "passed" if self.passed else "FAILED"
        head = f"{what}: {verdict} on {self.rows:,} rows in {self.seconds:.2f} s"
        lines = [head, *(f"  {f}" for f in self.failures), *(f"  {w}" for w in self.warnings)]
        return "\n".join(lines)


# -- the gate --------------------------------------------------------------------------------

def sql_in(column: str, values: Iterable[str]) -> str:
    """``"col" IN ('a', 'b')`` with the values quoted (batch ids come from our own runs,
    but a quote in one must not break the predicate)."""
    return f'{sql_ident(column)} IN ({", ".join(sql_literal(str(v)) for v in values)})'


def scratch_db(settings: Settings, zone: str, ref: TableRef | str) -> Path:
    """The gate's scratch DuckDB file for a table: stable, so GX's run-time objects (data
    source, checkpoint) are reused rather than piling up one set per run."""
    name = str(ref).replace("/", "__").replace(".", "__")
    if not name.startswith(f"{zone}__"):
        name = f"{zone}__{name}"
    return settings.state_dir.joinpath(*SCRATCH_DIR) / f"{name}.duckdb"


def check(settings: Settings, zone: str, table_ref: TableRef | str, *, suite: str | None = None,
          batch_filter: str | None, batch_ids: Sequence[str] = (), batch_column: str | None = None,
          run_id: str = "",
          logical_date: date | None = None, dag_id: str = "", raise_on_failure: bool = True) -> GateResult:
    """Validate the rows of ``table_ref`` matching ``batch_filter`` (None: the whole table).

    ``batch_filter`` is a DuckDB predicate over the table (see :func:`sql_in`), which a
    sub-query may name ``source``;
    ``batch_ids`` is what the quality results and the run log record as the batch;
    ``batch_column``: when ``batch_filter`` is exactly ``batch_column IN batch_ids``, say so,
    and a local table's batch is validated in place (no copy, :mod:`kho.gate_views`).
    Raises :class:`QualityGateFailed` when a critical expectation fails (unless
    ``raise_on_failure`` is False), after the results are stored.
    """
    from kho import quality, runlog
    from kho.quality_suites import suite_for

    if zone not in ZONES:
        raise ValueError(f"zone must be one of {ZONES}, got {zone!r}")
    ref = TableRef.parse(table_ref) if isinstance(table_ref, str) else table_ref
    table = str(ref)
    suite = suite or suite_for(zone, table)
    day = logical_date or datetime.now(timezone.utc).date()
    batches = tuple(str(b) for b in batch_ids)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    with runlog.step(settings, f"quality_{zone}", day, run_id=run_id, dag_id=dag_id) as rec:
        rec.target, rec.batch_id = table, ",".join(batches)[:2000] or None
        rec.details = {"suite": suite}
        db = scratch_db(settings, zone, ref)
        db.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(db.with_suffix(".lock")):
            db.unlink(missing_ok=True)
            rows = _materialise(settings, ref, db, batch_filter, batch_column, batches)
            timings["materialise"] = round(time.perf_counter() - t0, 3)
            rec.rows_in = rows
            if rows == 0:
                result = GateResult(zone, table, suite, batches, 0, passed=True,
                                    skipped="no rows of these batches in the table",
                                    seconds=round(time.perf_counter() - t0, 3), timings=timings)
                rec.details.update({"skipped": result.skipped})
                return result
            if "great_expectations" not in sys.modules:  # not preloaded (kho.airflow_preload)
                t1 = time.perf_counter()
                quality.import_gx()
                timings["gx_import"] = round(time.perf_counter() - t1, 3)
            t1 = time.perf_counter()
            # the page only: the stage rebuilds the Data Docs index once (refresh_data_docs)
            verdict = quality.validate_duckdb_table(suite, db, ref.name, data_docs_index=False)
            timings["validate"] = round(time.perf_counter() - t1, 3)
        t2 = time.perf_counter()
        quality_rows = verdict.to_rows(batch_id=",".join(batches) or None, logical_date=day.isoformat(),
                                       run_id=run_id, zone=zone)
        for row in quality_rows:  # the lake table, not the scratch copy's name
            row["target"] = table
        runlog.write_quality_rows(settings, quality_rows)
        timings["record"] = round(time.perf_counter() - t2, 3)
        result = GateResult(
            zone, table, suite, batches, rows, passed=verdict.passed,
            failures=tuple(o.describe() for o in verdict.failures("critical")),
            warnings=tuple(o.describe() for o in verdict.failures("warning")),
            seconds=round(time.perf_counter() - t0, 3), timings=timings,
            data_docs=str(verdict.data_docs) if verdict.data_docs else None)
        rec.rows_out = rows if verdict.passed else 0
        rec.details.update({"passed": verdict.passed, "failures": list(result.failures),
                            "warnings": list(result.warnings), "timings": timings, "data_docs": result.data_docs})
        log.info("%s", result.describe())
        if not verdict.passed and raise_on_failure:
            raise QualityGateFailed(_message([result]), [result])
    return result


def _materialise(settings: Settings, ref: TableRef, db: Path, batch_filter: str | None,
                 batch_column: str | None = None, batch_ids: Sequence[str] = ()) -> int:
    """Make the rows of ``ref`` matching ``batch_filter`` table (or view) ``<name>`` of ``db``.

    When the batch is ``batch_column IN batch_ids`` on a local lake, a view over the Delta
    table's files that may hold it (kho.gate_views: no copy, the larger the batch the more
    it saves). Otherwise the rows are copied:

    The Delta table is read through delta-rs as an Arrow dataset, which DuckDB scans with the
    filter pushed down (file statistics skip files without the batch): a plain DuckDB file, no
    extension to load (DuckDB's delta extension costs ~0.3 s per connection, more than the
    copy itself). The filter may name the table as ``source`` (e.g. in a sub-query).
    """
    import duckdb
    from deltalake import DeltaTable

    from kho.gate_views import create_batch_view
    from kho.lake import has_deletion_vectors, is_object_store, storage_options

    path = ref.path(settings)
    if batch_column and batch_ids and not is_object_store(str(path)):
        con = duckdb.connect(str(db))
        try:
            rows = create_batch_view(con, ref.name, str(path), batch_column, batch_ids)
        finally:
            con.close()
        if rows is not None:
            return rows
        db.unlink(missing_ok=True)
    table = DeltaTable(ref.path(settings), storage_options=storage_options())
    where = f" WHERE {batch_filter}" if batch_filter else ""
    if has_deletion_vectors(table):  # delta-rs's Arrow dataset would refuse it; delta_scan applies them
        from kho.duck import connect

        con = connect(db)
        try:
            con.execute("SET preserve_insertion_order = false")
            con.execute(f"CREATE TEMP VIEW {SOURCE} AS SELECT * FROM delta_scan({sql_literal(str(path))})")
            con.execute(f"CREATE TABLE {sql_ident(ref.name)} AS SELECT * FROM {SOURCE}{where}")
            return int(con.execute(f"SELECT count(*) FROM {sql_ident(ref.name)}").fetchone()[0])
        finally:
            con.close()
    con = duckdb.connect(str(db))
    try:
        con.execute("SET preserve_insertion_order = false")  # row order means nothing to a check
        con.register(SOURCE, table.to_pyarrow_dataset())
        con.execute(f"CREATE TABLE {sql_ident(ref.name)} AS SELECT * FROM {SOURCE}{where}")
        con.unregister(SOURCE)
        return int(con.execute(f"SELECT count(*) FROM {sql_ident(ref.name)}").fetchone()[0])
    finally:
        con.close()


def _message(results: Sequence[GateResult]) -> str:
    parts = []
    for r in results:
        if r.passed:
            continue
        batch = f" batch {', '.join(r.batch_ids)}" if r.batch_ids else ""
        parts.append(f"{r.table}{batch} failed suite {r.suite} ({r.rows:,} rows checked): " + "; ".join(r.failures))
    return "quality gate failed: " + " | ".join(parts) + " (details: _system/quality/quality_results, Data Docs)"


def raise_if_failed(results: Sequence[GateResult]) -> None:
    """One :class:`QualityGateFailed` naming every failed gate of a step (after all ran)."""
    failed = [r for r in results if not r.passed]
    if failed:
        raise QualityGateFailed(_message(failed), failed)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One gate per scratch file at a time (POSIX flock; released if the process dies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# -- per zone: what the step returned -> which rows to check ------------------------------------

def _field(result: Any, name: str, default: Any = None) -> Any:
    return result.get(name, default) if isinstance(result, Mapping) else getattr(result, name, default)


def check_load(settings: Settings, results: Any, *, run_id: str = "", dag_id: str = "",
               logical_date: date | None = None) -> GateResult:
    """The raw contract on the batches one object load wrote.

    ``results``: what :func:`kho.ingest.loader.load_object` returned (a LoadResult, a list of
    them, or their ``as_dict()`` forms, as they travel between Airflow tasks), all for one
    raw table. Nothing written (an interval already loaded, no change, no new file): skipped.
    """
    items = list(results) if isinstance(results, (list, tuple)) else [results]
    if not items:
        raise ValueError("check_load(): no load results")
    targets = {_field(r, "target") for r in items}
    if len(targets) != 1:
        raise ValueError(f"check_load() checks one raw table at a time, got {sorted(targets)}")
    [target] = targets
    system, obj = _field(items[0], "system"), _field(items[0], "object")
    from kho.quality_suites import raw_suite_name

    suite = raw_suite_name(system, obj)
    batches = [_field(r, "batch_id") for r in items if _field(r, "rows_written", 0) and _field(r, "batch_id")]
    day = logical_date or _interval_day(items[0])
    if not batches:
        reasons = sorted({_field(r, "skipped") or "nothing written" for r in items})
        return GateResult("raw", target, suite, (), 0, passed=True, skipped="; ".join(reasons))
    return check(settings, "raw", target, suite=suite, batch_filter=sql_in("_batch_id", batches), batch_ids=batches,
                 batch_column="_batch_id",
                 run_id=run_id, logical_date=day, dag_id=dag_id or f"ingest_{system}")


def _interval_day(result: Any) -> date | None:
    interval = _field(result, "interval") or {}
    start = interval.get("start") if isinstance(interval, Mapping) else None
    try:
        return datetime.fromisoformat(start).date() if start else None
    except ValueError:
        return None


def check_processed(settings: Settings, spec: Any, summary: Mapping[str, Any], *, run_id: str = "",
                    dag_id: str = "", logical_date: date | None = None) -> GateResult:
    """The processed suite on the rows that came from the raw batches this run processed.

    ``spec``: a :class:`~kho.processed.base.ProcessedTable` or ``"<domain>.<table>"``;
    ``summary``: what spark_jobs/processed.py ``run`` / ``run_logged`` returned.
    """
    from kho.processed.base import ProcessedTable
    from kho.processed.catalog import find

    table = spec if isinstance(spec, ProcessedTable) else find(str(spec))
    batches = list(summary.get("raw_batches") or [])
    if summary.get("skipped") or not batches:
        from kho.quality_suites import processed_suite_name

        return GateResult("processed", str(table.ref), processed_suite_name(table.domain, table.name), (), 0,
                          passed=True, skipped=summary.get("skipped") or "no raw batches processed")
    return check(settings, "processed", table.ref, batch_filter=sql_in("_batch_id", batches), batch_ids=batches,
                 batch_column="_batch_id",
                 run_id=run_id, logical_date=logical_date, dag_id=dag_id or f"process_{table.domain}")


# Integrated jobs (spark_jobs.<module>) -> the tables they write, how each names its batch.
# ``counts``: the summary key with the SCD2 merge counts (None: the summary itself);
# ``batch``: the ``_changed_batch`` / ``_run_batch`` value (the jobs' own naming).
@dataclass(frozen=True)
class _Written:
    table: str
    kind: str                        # "entity" (SCD2) | "link"
    key: str | None = None           # entity key
    counts: str | None = None
    batch: str = ""                  # format with logical_date and summary


INTEGRATED_JOBS: dict[str, tuple[_Written, ...]] = {
    "citizen_integrated": (_Written("integrated/citizen/citizen", "entity", "citizen_key", None, "{batch_id}"),),
    "admin_unit_integrated": (_Written("integrated/reference/admin_unit", "entity", "unit_code", None,
                                       "admin_unit.{day:%Y%m%d}"),),
    "business_land_integrated": (
        _Written("integrated/enterprise/business", "entity", "business_key", "business", "business.{day:%Y%m%d}"),
        _Written("integrated/land/parcel", "entity", "parcel_key", "parcel", "parcel.{day:%Y%m%d}"),
        _Written("integrated/enterprise/business_link", "link", batch="business_land_link.{day:%Y%m%d}"),
        _Written("integrated/land/parcel_link", "link", batch="business_land_link.{day:%Y%m%d}"),
    ),
    "citizen_links": (_Written("integrated/citizen/citizen_link", "link", batch="{run_batch}"),),
}


def check_integrated(settings: Settings, name: str, summary: Mapping[str, Any], *, logical_date: date,
                     run_id: str = "", dag_id: str = "") -> list[GateResult]:
    """Every table the integrated job ``name`` (spark_jobs.<name>) wrote, on what it changed.

    ``logical_date`` must be the date the job ran with (it names the job's batches). All
    tables are checked before a :class:`QualityGateFailed` names every failure.
    """
    from kho.lake import delta_exists

    if name not in INTEGRATED_JOBS:
        raise KeyError(f"no quality gates declared for integrated job {name!r}; known: {', '.join(INTEGRATED_JOBS)}")
    results: list[GateResult] = []
    for written in INTEGRATED_JOBS[name]:
        ref = TableRef.parse(written.table)
        from kho.quality_suites import integrated_suite_name

        suite = integrated_suite_name(ref.domain, ref.name)
        batch = written.batch.format(day=logical_date, **{k: v for k, v in summary.items()
                                                          if isinstance(v, str) and k != "day"})
        path = ref.path(settings)
        if not delta_exists(path):
            results.append(GateResult("integrated", written.table, suite, (batch,), 0, passed=True,
                                      skipped="the job did not write this table"))
            continue
        if written.kind == "entity":
            counts = summary if written.counts is None else summary.get(written.counts) or {}
            changed = sum(int(counts.get(k) or 0) for k in ("inserted", "changed", "deleted"))
            if not changed:
                results.append(GateResult("integrated", written.table, suite, (batch,), 0, passed=True,
                                          skipped="no entity changed in this run"))
                continue
            if delta_row_count(path) <= SMALL_TABLE_ROWS:
                batch_filter = None
            else:
                key = sql_ident(written.key or "")
                batch_filter = f"{key} IN (SELECT {key} FROM {SOURCE} WHERE {sql_in('_changed_batch', [batch])})"
        else:
            batch_filter = sql_in("_run_batch", [batch])
        results.append(check(settings, "integrated", ref, suite=suite, batch_filter=batch_filter, batch_ids=(batch,),
                             run_id=run_id, logical_date=logical_date, dag_id=dag_id or f"integrate_{name}",
                             raise_on_failure=False))
    raise_if_failed(results)
    return results


def refresh_data_docs() -> None:
    """Rebuild the Data Docs index once, after a stage's gates (each renders only its own page;
    a failed gate rebuilds the index itself). Cheap to call when GX was never imported: no-op."""
    if "great_expectations" not in sys.modules and _WARM is None:
        return
    from kho import quality

    quality.refresh_data_docs()


def rebuild_data_docs_index() -> None:
    """The ``data_docs`` task that ends a stage's DAG: rebuild the index in its own process
    (which imports GX), after every gate of the run rendered its own page."""
    from kho import quality

    quality.refresh_data_docs()


# -- GX import in the background -----------------------------------------------------------------

_WARM: threading.Thread | None = None


def warm_up() -> None:
    """Start importing GX in a background thread, so the first gate of a task does not wait
    for it: call it when a task starts, before the (longer) step the gate will guard.

    Python's import system is thread-safe; the step's own imports simply wait for a module
    the thread is importing. ``KHO_GX_WARM_UP=0`` turns this off (GX is then imported by the
    first gate, as without the call).
    """
    global _WARM
    if _WARM is not None or os.environ.get("KHO_GX_WARM_UP", "1") == "0":
        return
    from kho import quality

    _WARM = threading.Thread(target=quality.preload, name="kho-gx-warm-up", daemon=True)
    _WARM.start()
