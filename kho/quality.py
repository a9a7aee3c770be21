"""Data quality checks: the only module in Kho that talks to Great Expectations (GX).

GX's API changes a lot between versions (pitfall 18 in field-pitfalls.md), so the rest
of the platform sees only this small interface:

* :func:`validate_duckdb_table` runs one expectation suite against one table of a DuckDB
  file and returns a :class:`QualityVerdict`.
* :class:`QualityVerdict` / :class:`ExpectationOutcome` are plain frozen dataclasses
  (no GX objects inside). ``verdict.passed`` is False only when a *critical* expectation
  failed; ``verdict.to_rows()`` gives JSON-safe rows for ``_system/quality_results``.
* :func:`list_suites` / :func:`suite_path` find the committed suites.

Where things live (the GX "file" context, default ``<repo>/expectations``, overridable with
``KHO_EXPECTATIONS_DIR`` or ``context_root=``)::

    expectations/gx/great_expectations.yml        committed
    expectations/gx/expectations/<suite>.json     committed, GX-native suites
    expectations/gx/uncommitted/                  git-ignored: validation definitions,
                                                  checkpoints, results, Data Docs, locks

Suites are GX-native JSON. Each expectation carries GX 1.x's own ``"severity"`` field
(``"critical"`` | ``"warning"`` | ``"info"``; GX's default is critical). Keep the files in
the form GX writes them (ids, sorted keys, 2-space indent): GX rewrites a suite file each
time a validation definition using it is saved, and a file already in that form stays
byte-identical, so validations leave the git tree clean.

GX is imported lazily (its import takes seconds), so ``import kho.quality`` is cheap.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import decimal
import enum
import hashlib
import json
import logging
import math
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = [
    "SEVERITIES",
    "ExpectationOutcome",
    "QualityVerdict",
    "SuiteNotFoundError",
    "TableNotFoundError",
    "resolve_context_root",
    "list_suites",
    "suite_path",
    "validate_duckdb_table",
    "refresh_data_docs",
]

log = logging.getLogger(__name__)

SEVERITIES = ("critical", "warning", "info")
ENV_CONTEXT_ROOT = "KHO_EXPECTATIONS_DIR"
GX_DIR = "gx"  # GX's own folder inside the context root
SUITES_DIR = "expectations"  # inside gx/, as configured in great_expectations.yml
DATA_DOCS_SITE = "local_site"
RESULT_FORMAT = "SUMMARY"
# Validation results kept per suite, with their Data Docs pages; older ones are deleted
# before each run (pitfall 17: Data Docs do not scale to thousands of runs; the history
# belongs in _system/quality_results). Per suite, not per target: a mart is validated in a
# new build file every run, so a per-target cap would never delete anything.
KEEP_RESULTS_PER_SUITE = 20

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class SuiteNotFoundError(FileNotFoundError):
    """The named suite has no JSON file in the GX context."""


class TableNotFoundError(LookupError):
    """The table to validate does not exist in the DuckDB file."""


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation, detached from GX.

    ``column`` is the column name, or ``"a,b,c"`` for multi-column expectations, or None
    for table-level ones. ``unexpected_percent`` is relative to *all* rows of the table
    (GX's ``unexpected_percent_total`` where GX reports it), so it always agrees with
    ``unexpected_count / element_count``. ``exception`` is set when GX could not evaluate
    the expectation at all (e.g. a missing column); such an outcome has ``success=False``.
    """

    expectation: str
    column: str | None
    severity: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: object | None
    exception: str | None = None

    def describe(self) -> str:
        """One human line, e.g. ``expect_x on column y failed on 12 of 1,000 rows (1.2%)``."""
        where = ""
        if self.column:
            cols = self.column.split(",")
            where = f" on column{'s' if len(cols) > 1 else ''} {', '.join(cols)}"
        head = f"[{self.severity}] {self.expectation}{where}"
        if self.exception:
            return f"{head} could not be evaluated: {self.exception}"
        verb = "passed" if self.success else "failed"
        if self.unexpected_count is not None and self.element_count is not None:
            pct = (
                100.0 * self.unexpected_count / self.element_count
                if self.element_count
                else (self.unexpected_percent or 0.0)
            )
            return (
                f"{head} {verb} on {self.unexpected_count:,} of {self.element_count:,} rows"
                f" ({_fmt_pct(pct)}%)"
            )
        if self.observed_value is not None:
            return f"{head} {verb} (observed value: {_short_json(self.observed_value)})"
        return f"{head} {verb}"


@dataclass(frozen=True)
class QualityVerdict:
    """The outcome of validating one table against one suite.

    ``passed`` is False iff at least one *critical* expectation failed (or could not be
    evaluated); failed warnings and infos are reported but do not fail the verdict.
    ``duration_s`` is the wall time of the validation itself (GX import excluded).
    """

    suite: str
    target: str
    passed: bool
    outcomes: tuple[ExpectationOutcome, ...]
    run_time: _dt.datetime
    data_docs: Path | None
    duration_s: float | None = None

    def failures(self, severity: str | None = None) -> list[ExpectationOutcome]:
        """Failed expectations, optionally only those of one severity."""
        if severity is not None and severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
        return [
            o
            for o in self.outcomes
            if not o.success and (severity is None or o.severity == severity)
        ]

    def summary(self) -> str:
        """One human line per failed expectation (critical first); "" when nothing failed."""
        order = {s: i for i, s in enumerate(SEVERITIES)}
        failed = sorted(self.failures(), key=lambda o: order.get(o.severity, len(order)))
        return "\n".join(o.describe() for o in failed)

    def to_rows(self, **extra: object) -> list[dict]:
        """Flat, JSON-safe rows (one per expectation) for ``_system/quality_results``.

        ``observed_value`` is JSON text (its type varies by expectation); ``run_time`` is
        an ISO-8601 UTC string. ``extra`` (e.g. ``batch_id=..., dag_run_id=...``) is added
        to every row and may not shadow a built-in column.
        """
        rows: list[dict] = []
        for o in self.outcomes:
            row = {
                "suite": self.suite,
                "target": self.target,
                "run_time": _json_safe(self.run_time),
                "passed": self.passed,
                "expectation": o.expectation,
                "column": o.column,
                "severity": o.severity,
                "success": o.success,
                "element_count": o.element_count,
                "unexpected_count": o.unexpected_count,
                "unexpected_percent": _json_safe(o.unexpected_percent),
                "observed_value": (
                    None
                    if o.observed_value is None
                    else json.dumps(_json_safe(o.observed_value), sort_keys=True)
                ),
                "exception": o.exception,
                "duration_s": self.duration_s,
                "data_docs": str(self.data_docs) if self.data_docs else None,
            }
            clash = sorted(set(extra) & set(row))
            if clash:
                raise ValueError(f"to_rows(): extra keys shadow built-in columns: {clash}")
            row.update({k: _json_safe(v) for k, v in extra.items()})
            rows.append(row)
        return rows


# --------------------------------------------------------------------------------------
# Suites and the context folder (no GX import needed)
# --------------------------------------------------------------------------------------


def resolve_context_root(root: Path | str | None = None) -> Path:
    """The folder that holds ``gx/``: *root*, else ``$KHO_EXPECTATIONS_DIR``, else
    ``<project root>/expectations``. Passing the ``gx`` folder itself is accepted too."""
    if root is None:
        env = os.environ.get(ENV_CONTEXT_ROOT)
        if env:
            root = env
        else:
            from kho.settings import project_root

            root = project_root() / "expectations"
    path = Path(root).expanduser().resolve()
    if path.name == GX_DIR and (path / "great_expectations.yml").is_file():
        path = path.parent
    return path


def _gx_dir(root: Path | str | None) -> Path:
    gx_dir = resolve_context_root(root) / GX_DIR
    if not (gx_dir / "great_expectations.yml").is_file():
        raise FileNotFoundError(
            f"no GX project at {gx_dir} (great_expectations.yml missing); "
            f"set {ENV_CONTEXT_ROOT} or pass context_root="
        )
    return gx_dir


def suite_path(suite: str, *, context_root: Path | str | None = None) -> Path:
    """Path of the suite's JSON file; raises :class:`SuiteNotFoundError` naming it."""
    if not _NAME_RE.match(suite):
        raise ValueError(f"invalid suite name {suite!r} (letters, digits, _ . - only)")
    path = _gx_dir(context_root) / SUITES_DIR / f"{suite}.json"
    if not path.is_file():
        known = ", ".join(list_suites(context_root=context_root)) or "none"
        raise SuiteNotFoundError(
            f"expectation suite {suite!r} not found: expected the file {path} "
            f"(suites available: {known})"
        )
    return path


def list_suites(*, context_root: Path | str | None = None) -> list[str]:
    """Names of the committed suites (``gx/expectations/*.json``), sorted."""
    folder = _gx_dir(context_root) / SUITES_DIR
    return sorted(p.stem for p in folder.glob("*.json") if not p.name.startswith("."))


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def validate_duckdb_table(
    suite: str,
    db_path: Path | str,
    table: str,
    *,
    context_root: Path | str | None = None,
    data_docs_index: bool = True,
) -> QualityVerdict:
    """Validate ``table`` (``name`` or ``schema.name``) in the DuckDB file ``db_path``.

    ``name`` becomes a GX table asset; ``schema.name`` a query asset
    (``SELECT * FROM schema.name``), because GX's table asset mishandles schemas on DuckDB.

    The file is opened read-only (by GX and by a short pre-flight check), so the
    validation never changes the table; a writer holding the file makes this fail with
    DuckDB's lock error. In one process, close your own read-write connection to the file
    first (DuckDB refuses a second connection with a different configuration).

    Runs a GX checkpoint (SQL data source -> table asset -> whole-table batch ->
    validation definition -> checkpoint, result format SUMMARY), then renders the result's
    Data Docs page. ``data_docs_index=False`` skips rebuilding the site's index page (it
    reads back the latest results of every suite: about a third of a small table's gate), for
    callers that validate many tables in a row and call :func:`refresh_data_docs` once at the
    end; a failed validation rebuilds the index anyway, so a failure is never hidden.
    All GX objects are named deterministically from suite + DuckDB file + table
    and saved with ``add_or_update``, so reruns are idempotent. Runs of *different*
    suites can go in parallel processes; runs of the *same* suite are serialised by a
    file lock, because GX rewrites the suite file (non-atomically) on every run.

    Raises :class:`SuiteNotFoundError`, :class:`FileNotFoundError` (no DuckDB file or no
    GX project) or :class:`TableNotFoundError` before GX is even imported.
    """
    gx_dir = _gx_dir(context_root)
    suite_file = suite_path(suite, context_root=gx_dir.parent)
    db = Path(db_path).expanduser().resolve()
    schema, table_name = _split_table(table)
    _preflight(db, schema, table_name)

    gx = import_gx()
    from great_expectations.exceptions import DataContextError

    names = _Names.make(suite, db, table)
    started = time.perf_counter()
    with _file_lock(gx_dir / "uncommitted" / "locks" / f"{suite}.lock"):
        context = _context(gx, gx_dir)
        _keep_project_config_clean(context, names.key)
        try:
            gx_suite = context.suites.get(suite)
        except DataContextError as e:  # file vanished or is not a valid suite
            raise SuiteNotFoundError(f"cannot load suite {suite!r} from {suite_file}: {e}") from e

        source = context.data_sources.add_or_update_sql(
            name=names.datasource,
            connection_string=f"duckdb:///{db}",
            # duckdb-engine passes connect_args to duckdb.connect(): read-only, never mutate.
            kwargs={"connect_args": {"read_only": True}},
        )
        try:
            if schema is None:
                asset = source.add_table_asset(name=names.asset, table_name=table_name)
            else:
                # GX 1.24's table asset loses schema_name (deprecated) in its column-type
                # reflection on DuckDB ("Table with name x does not exist"), so a table
                # outside the default schema is read through an equivalent query asset.
                asset = source.add_query_asset(
                    name=names.asset, query=f"SELECT * FROM {_qualified(schema, table_name)}"
                )
            batch_def = asset.add_batch_definition_whole_table(names.batch_definition)
            batch_def.save()
            validation_def = _upsert(
                context.validation_definitions,
                gx.ValidationDefinition(name=names.validation, data=batch_def, suite=gx_suite),
            )
            checkpoint = _upsert(
                context.checkpoints,
                gx.Checkpoint(
                    name=names.checkpoint,
                    validation_definitions=[validation_def],
                    actions=[],  # the page is rendered below, the index only when asked
                    result_format={"result_format": RESULT_FORMAT},
                ),
            )
            _prune_results(context, suite, KEEP_RESULTS_PER_SUITE - 1)
            result = checkpoint.run()
        finally:
            _close_engine(source)
        _render_data_docs(context, list(result.run_results),
                          index=data_docs_index or not result.success or _data_docs_index(context) is None)
        data_docs = _data_docs_index(context)
        if data_docs is not None:
            _remove_empty_dirs(data_docs.parent / "validations" / suite)

    duration = time.perf_counter() - started
    verdict = _verdict_from_result(
        suite, table, result, gx_suite.expectations, data_docs, duration
    )
    log.info(
        "quality %s on %s (%s): %s in %.2fs, %d/%d expectations failed",
        suite, table, db, "PASSED" if verdict.passed else "FAILED", duration,
        len(verdict.failures()), len(verdict.outcomes),
    )
    return verdict


# --------------------------------------------------------------------------------------
# GX plumbing (everything version-specific is below this line)
# --------------------------------------------------------------------------------------


def import_gx():
    """Import GX and apply the DuckDB workarounds (idempotent)."""
    # GX imports pyspark.sql.connect when pyspark is installed. pyspark 4.x's
    # connect/utils.py:check_dependencies() takes a __main__ without __file__/__spec__
    # (``python -c``, ``python - <<EOF``) for a doctest run and calls sys.exit(0) when
    # grpc is missing: the process silently "succeeds" in the middle of the import.
    # Looking interactive (sys.ps1) during the import avoids that.
    main = sys.modules.get("__main__")
    fake_ps1 = (
        main is not None
        and getattr(main, "__spec__", None) is None
        and not hasattr(main, "__file__")
        and not hasattr(sys, "ps1")
    )
    if fake_ps1:
        sys.ps1 = ""
    try:
        with warnings.catch_warnings():
            # keep pyspark's import-time FutureWarnings out of task logs
            warnings.simplefilter("ignore", FutureWarning)
            import great_expectations as gx
    except SystemExit as e:
        raise RuntimeError(
            f"importing great_expectations tried to exit the process (code {e.code})"
        ) from None
    finally:
        if fake_ps1:
            with contextlib.suppress(AttributeError):
                del sys.ps1
    _register_duckdb_persisted_connection()
    _register_duckdb_regex()
    _register_duckdb_column_types()
    _cache_data_docs_templates()
    return gx


# One GX file context per GX folder and process: building one parses great_expectations.yml
# and sets up every store (about 0.25 s), which a pipeline task validating several tables,
# or a benchmark, would otherwise pay on every validation. Suites are still read from their
# files on each run (the expectations store has no cache), so an edited suite is seen at once.
_CONTEXTS: dict[str, object] = {}
_CONTEXTS_LOCK = threading.Lock()


def _context(gx, gx_dir: Path):
    key = str(gx_dir)
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            context = gx.get_context(mode="file", project_root_dir=str(gx_dir.parent))
            _CONTEXTS[key] = context
    return context


def preload(context_root: Path | str | None = None) -> None:
    """Import GX and open the context now (about 3 s), e.g. in a background thread while a
    pipeline step runs, so the step's quality gate does not wait for it. Never raises:
    a failure here is met again, and reported, by the validation itself."""
    try:
        gx = import_gx()
        _context(gx, _gx_dir(context_root))
    except Exception as exc:  # noqa: BLE001 - a warm-up must not kill its caller
        log.debug("quality.preload failed (the validation will retry): %s", exc)


def rehearse_validation(context_root: Path | str | None = None) -> float:
    """Run one small validation end to end in a throwaway copy of the GX project, then forget
    it: returns the seconds it took.

    For a process that forks others (the Airflow scheduler's forkserver, kho.airflow_preload):
    the first validation of a process pays GX's lazy imports and one-time set-up (expectation
    and metric registries, the SQL dialect, the Data Docs renderers): 0.4-0.7 s, which a
    forked task inherits instead. Nothing is left open: the DuckDB file and the project copy
    are deleted, the context is dropped from the cache, and tqdm's monitor thread (started by
    GX's progress bars) is stopped, because a fork keeps a thread's locks but not the thread.
    """
    import shutil
    import tempfile

    import duckdb

    gx = import_gx()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="kho-gx-rehearsal-"))
    try:
        (work / GX_DIR).mkdir()
        shutil.copy2(_gx_dir(context_root) / "great_expectations.yml", work / GX_DIR / "great_expectations.yml")
        db = work / "rehearsal.duckdb"
        with duckdb.connect(str(db)) as con:
            con.execute("CREATE TABLE rehearsal AS SELECT range::VARCHAR AS id, range % 3 AS n, "
                        "range % 3 + 1 AS m, 'HP' || range AS code FROM range(20)")
        context = _context(gx, work / GX_DIR)
        e = gx.expectations
        context.suites.add(gx.ExpectationSuite(name="kho_rehearsal", expectations=[
            e.ExpectTableColumnsToMatchSet(column_set=["id", "n", "m", "code"]),
            e.ExpectTableRowCountToBeBetween(min_value=1),
            e.ExpectColumnValuesToNotBeNull(column="id"),
            e.ExpectColumnValuesToBeOfType(column="id", type_="VARCHAR"),
            e.ExpectColumnValuesToBeUnique(column="id"),
            e.ExpectColumnValuesToBeInSet(column="n", value_set=[0, 1, 2]),
            e.ExpectColumnValuesToBeBetween(column="m", min_value=1, max_value=3),
            e.ExpectColumnValuesToMatchRegex(column="code", regex="^HP[0-9]+$"),
            e.ExpectColumnValuesToNotMatchRegex(column="code", regex="^x"),
            e.ExpectCompoundColumnsToBeUnique(column_list=["id", "n"]),
            e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="m", column_B="n"),
        ]))
        validate_duckdb_table("kho_rehearsal", db, "rehearsal", context_root=work, data_docs_index=False)
    finally:
        with _CONTEXTS_LOCK:
            _CONTEXTS.pop(str(work / GX_DIR), None)
        shutil.rmtree(work, ignore_errors=True)
        _stop_tqdm_monitor()
    return time.perf_counter() - started


def _stop_tqdm_monitor() -> None:
    """Stop tqdm's monitor threads; the next progress bar of a process starts its own."""
    if "tqdm._monitor" not in sys.modules:
        return
    from tqdm._monitor import TMonitor

    for thread in threading.enumerate():
        if isinstance(thread, TMonitor):
            thread.exit()
            if getattr(thread.tqdm_cls, "monitor", None) is thread:
                thread.tqdm_cls.monitor = None


class _DuckDBDialectName(str):
    """``"duckdb"`` shaped like a ``GXSqlDialect`` member (a str with ``.value``)."""

    @property
    def value(self) -> str:
        return str(self)


def _register_duckdb_persisted_connection() -> None:
    """Make GX keep one persisted connection for DuckDB, as it does for sqlite.

    Why: GX 1.x's SqlAlchemyExecutionEngine runs a metric query inside
    ``with engine.connect()`` and calls ``fetchall()`` after the block closed the
    connection. duckdb-engine then returns ``[]`` and *every* metric fails with
    ``IndexError: list index out of range`` (GX issues #10738 / #11579; stack-notes §4).
    Dialects listed in the private ``_PERSISTED_CONNECTION_DIALECTS`` get a StaticPool and
    one long-lived connection, which avoids the bug. The tuple is compared both with
    ``==`` (str) and via ``.value``, hence the str subclass. Safe to call repeatedly; if a
    future GX drops the name (e.g. a native DuckDB engine), we warn and carry on.
    """
    try:
        from great_expectations.execution_engine import sqlalchemy_execution_engine as see
    except ImportError:  # pragma: no cover - GX layout changed
        warnings.warn("GX layout changed: DuckDB persisted-connection workaround not applied")
        return
    current = getattr(see, "_PERSISTED_CONNECTION_DIALECTS", None)
    if current is None:
        warnings.warn(
            "great_expectations no longer has _PERSISTED_CONNECTION_DIALECTS; the DuckDB "
            "workaround in kho/quality.py was not applied (check if it is still needed)"
        )
        return
    if any(getattr(d, "value", d) == "duckdb" for d in current):
        return
    see._PERSISTED_CONNECTION_DIALECTS = (*current, _DuckDBDialectName("duckdb"))


def _register_duckdb_regex() -> None:
    """Teach GX's SQL regex metrics DuckDB's ``regexp_matches``.

    Why: GX 1.x builds the SQL for ``expect_column_values_to_match_regex`` (and the
    not-match / regex-list variants) in ``metrics.util.get_dialect_regex_expression``,
    which knows no DuckDB: it gets the duckdb-engine Dialect *instance*, none of its
    dialect checks match, and every regex expectation fails with "Regex is not supported
    for dialect duckdb". ``regexp_matches(col, re)`` is a *search* (true if the pattern
    occurs anywhere), the same semantics GX uses on pandas (``str.contains``) and Spark
    (``rlike``); anchor patterns with ^...$ for a full match. Note DuckDB's ``~`` would
    be a *full* match, unlike PostgreSQL's, so it is deliberately not used.

    The metric modules import the function by name, so the wrapper is re-bound in each
    GX module that holds the original. Idempotent; other dialects are passed through.
    """
    try:
        from great_expectations.expectations.metrics import util as metrics_util
    except ImportError:  # pragma: no cover - GX layout changed
        warnings.warn("GX layout changed: DuckDB regex workaround not applied")
        return
    original = getattr(metrics_util, "get_dialect_regex_expression", None)
    if original is None:
        warnings.warn(
            "great_expectations has no metrics.util.get_dialect_regex_expression; the DuckDB "
            "regex workaround in kho/quality.py was not applied"
        )
        return
    if getattr(original, "_kho_duckdb", False):
        return
    import sqlalchemy as sa

    def get_dialect_regex_expression(column, regex, dialect, *args, **kwargs):
        if getattr(dialect, "name", None) == "duckdb":
            positive = kwargs.get("positive", args[0] if args else True)
            # cast like GX's pandas path (astype(str)), so a non-text column is checked
            # rather than failing with a binder error
            expr = sa.func.regexp_matches(sa.cast(column, sa.String), sa.literal(regex))
            return expr if positive else sa.not_(expr)
        return original(column, regex, dialect, *args, **kwargs)

    get_dialect_regex_expression._kho_duckdb = True  # type: ignore[attr-defined]
    for name, module in list(sys.modules.items()):
        if name.startswith("great_expectations") and (
            getattr(module, "get_dialect_regex_expression", None) is original
        ):
            module.get_dialect_regex_expression = get_dialect_regex_expression


def _register_duckdb_column_types() -> None:
    """Give GX the column types of a DuckDB table, so type expectations can run.

    Why: GX 1.x reads column types through SQLAlchemy's inspector; duckdb-engine 0.17
    inherits PostgreSQL's reflection, whose query reads ``pg_catalog.pg_collation``, which
    DuckDB lacks. GX then falls back to names only, and every
    ``expect_column_values_to_be_of_type`` / ``..._in_type_list`` fails with ``'type'``.
    For DuckDB the wrapper asks DuckDB itself (``DESCRIBE SELECT * FROM <relation>``) and
    reports each type as DuckDB names it (``VARCHAR``, ``BIGINT``, ``DECIMAL(38,6)``,
    ``TIMESTAMP WITH TIME ZONE`` ...); DuckDB is added to GX's case-insensitive dialects, so a
    suite states types by those names. Other dialects go to GX's own function. Idempotent.
    """
    try:
        from great_expectations.expectations import type_comparison
        from great_expectations.expectations.metrics import util as metrics_util
    except ImportError:  # pragma: no cover - GX layout changed
        warnings.warn("GX layout changed: DuckDB column-type workaround not applied")
        return
    original = getattr(metrics_util, "get_sqlalchemy_column_metadata", None)
    dialects = getattr(type_comparison, "CASE_INSENSITIVE_DIALECTS", None)
    if original is None or dialects is None:
        warnings.warn(
            "great_expectations changed its column-type reflection; the DuckDB workaround in "
            "kho/quality.py was not applied (type expectations may fail on DuckDB)"
        )
        return
    if not any(getattr(d, "value", d) == "duckdb" for d in dialects):
        type_comparison.CASE_INSENSITIVE_DIALECTS = frozenset(
            {*dialects, _DuckDBDialectName("duckdb")}
        )
    if getattr(original, "_kho_duckdb", False):
        return
    import sqlalchemy as sa

    def get_sqlalchemy_column_metadata(execution_engine, table_selectable, schema_name=None):
        if getattr(execution_engine, "dialect_name", None) != "duckdb":
            return original(execution_engine, table_selectable, schema_name)
        if isinstance(table_selectable, sa.TextClause):
            relation = f"({table_selectable.text})"
        else:
            relation = _qualified(schema_name, str(table_selectable))
        rows = execution_engine.execute_query(
            sa.text(f"DESCRIBE SELECT * FROM {relation}")
        ).fetchall()
        return [{"name": row[0], "type": str(row[1])} for row in rows]

    get_sqlalchemy_column_metadata._kho_duckdb = True  # type: ignore[attr-defined]
    for name, module in list(sys.modules.items()):
        if name.startswith("great_expectations") and (
            getattr(module, "get_sqlalchemy_column_metadata", None) is original
        ):
            module.get_sqlalchemy_column_metadata = get_sqlalchemy_column_metadata


def _cache_data_docs_templates() -> None:
    """Compile GX's Data Docs templates once per process instead of on every build.

    Why: each Data Docs build creates new jinja2 Environments (one per view) without a
    bytecode cache, so the ~50 templates are compiled again on every validation: about half
    of the Data Docs time, itself about half of a small validation. A shared in-memory
    bytecode cache (jinja2's own mechanism) keeps the compiled code; filters and globals are
    still those of each new environment, so the output is unchanged. Idempotent.
    """
    try:
        import jinja2
        from great_expectations.render.view import view as gx_view
    except ImportError:  # pragma: no cover - GX layout changed
        return
    cls = getattr(gx_view, "DefaultJinjaView", None)
    if cls is None or getattr(cls.__init__, "_kho_cached", False):
        return

    class _MemoryBytecodeCache(jinja2.BytecodeCache):
        def __init__(self) -> None:
            self._store: dict[str, bytes] = {}
            self._lock = threading.Lock()

        def load_bytecode(self, bucket) -> None:
            with self._lock:
                data = self._store.get(bucket.key)
            if data is not None:
                bucket.bytecode_from_string(data)

        def dump_bytecode(self, bucket) -> None:
            with self._lock:
                self._store[bucket.key] = bucket.bytecode_to_string()

    cache = _MemoryBytecodeCache()
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        env = getattr(self, "env", None)
        if env is not None and env.bytecode_cache is None:
            env.bytecode_cache = cache

    __init__._kho_cached = True  # type: ignore[attr-defined]
    cls.__init__ = __init__


def _keep_project_config_clean(context, key: str) -> None:
    """Stop GX from rewriting the committed great_expectations.yml.

    A file context saves the whole project config, including every data source with
    the absolute path of its DuckDB file, to ``gx/great_expectations.yml`` whenever a data
    source is added or changed, with a plain truncate-and-write (a parallel process can
    read a half-written file). Both writers (``FileDataContext._save_project_config`` and
    ``InlineStoreBackend._save_changes``) look the file name up as ``context.GX_YML``, so
    pointing that attribute of this context instance at a per-run file under uncommitted/
    keeps the committed file untouched and leaves a readable copy of the effective config.
    Data sources thus live in memory only, which is all a single run needs.
    """
    runtime = Path("uncommitted") / "runtime" / f"{key}.great_expectations.yml"
    (Path(context.root_directory) / runtime).parent.mkdir(parents=True, exist_ok=True)
    context.GX_YML = str(runtime)


@dataclass(frozen=True)
class _Names:
    key: str
    datasource: str
    asset: str
    batch_definition: str
    validation: str
    checkpoint: str

    @property
    def batch_identifier(self) -> str:  # how GX names the batch in result keys
        return f"{self.datasource}-{self.asset}"

    @classmethod
    def make(cls, suite: str, db: Path, table: str) -> _Names:
        digest = hashlib.sha1(f"{db}\0{table}".encode()).hexdigest()[:8]
        stem = re.sub(r"[^A-Za-z0-9_]+", "_", db.stem)[:40]
        tbl = re.sub(r"[^A-Za-z0-9_]+", "_", table)[:60]
        key = f"{suite}__{stem}__{tbl}__{digest}"
        return cls(
            key=key,
            datasource=f"duckdb__{stem}__{digest}__{suite}",
            asset=tbl,
            batch_definition="whole_table",
            validation=f"vd__{key}",
            checkpoint=f"cp__{key}",
        )


def _split_table(table: str) -> tuple[str | None, str]:
    parts = table.split(".")
    if len(parts) == 1 and parts[0]:
        return None, parts[0]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    raise ValueError(f"table must be 'name' or 'schema.name', got {table!r}")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qualified(schema: str | None, table: str) -> str:
    return ".".join(_quote_ident(p) for p in (schema, table) if p)


def _preflight(db: Path, schema: str | None, table: str) -> None:
    """Fail fast, before importing GX, if the file or table is missing."""
    if not db.is_file():
        raise FileNotFoundError(f"DuckDB file not found: {db}")
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as e:
        e.add_note(f"kho.quality: could not open {db} read-only (is a writer holding it?)")
        raise
    try:
        qualified = _qualified(schema, table)
        con.execute(f"SELECT * FROM {qualified} LIMIT 0")
    except duckdb.CatalogException as e:
        raise TableNotFoundError(f"table {qualified} not found in {db}: {e}") from None
    finally:
        con.close()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock (POSIX flock); released on exit or process death."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: no cross-process lock
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _close_engine(source) -> None:
    """Close GX's persisted DuckDB connection so the file's lock is released now,
    not whenever the context is garbage-collected (a long-lived Airflow worker would
    otherwise keep blocking writers of the file)."""
    try:
        engine = source.get_execution_engine()
    except Exception:  # noqa: BLE001 - nothing was opened
        return
    conn = getattr(engine, "_connection", None)
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()
        engine._connection = None
    with contextlib.suppress(Exception):
        engine.close()
    with contextlib.suppress(Exception):
        source.get_engine().dispose()


def _prune_results(context, suite: str, keep: int) -> None:
    """Delete all but the newest ``keep`` stored results of this suite, and their pages.

    Walks the suite's own folder of the results store (``<suite>/<run name>/<run time>/
    <batch>.json``) rather than GX's ``list_keys``, which parses every result of every suite.
    """
    base = getattr(getattr(context.validation_results_store, "store_backend", None), "full_base_directory", None)
    if not base:
        return
    folder = Path(base) / suite
    results = sorted(folder.glob("*/*/*.json"), key=lambda p: (p.parent.name, p.name))  # run time sorts as text
    docs = _data_docs_index(context)
    for stale in results[: max(0, len(results) - keep)]:
        with contextlib.suppress(OSError):
            stale.unlink()
        if docs is not None:
            page = docs.parent / "validations" / stale.relative_to(Path(base)).with_suffix(".html")
            with contextlib.suppress(OSError):
                page.unlink()
    _remove_empty_dirs(folder)


def _remove_empty_dirs(top: Path) -> None:
    """Remove empty folders below ``top`` (GX leaves one per deleted run)."""
    if not top.is_dir():
        return
    for dirpath, _dirnames, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
        if Path(dirpath) != top:
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)  # fails (and is skipped) unless empty


def _upsert(factory, obj):
    """Save a GX validation definition or checkpoint by name (``factory``: the context's
    ``validation_definitions`` or ``checkpoints``) without re-saving the suite behind it.

    GX's ``add_or_update`` rewrites the suite each time (twice per checkpoint: once more via
    the checkpoint's own ``add_or_update``), matching every expectation against every stored
    one, which is quadratic in the suite's size: 0.27 s per validation for a 51-expectation
    mart suite, more than the validation itself. The suite here was just read from its
    committed file, unchanged, so only the object itself is saved (a validation definition's
    batch definition first, by the caller).
    """
    from great_expectations.exceptions import DataContextError

    try:
        existing = factory.get(name=obj.name)
    except DataContextError:
        return factory.add(obj)
    obj.id = existing.id
    obj.save()
    return obj


def _render_data_docs(context, result_ids: list, *, index: bool) -> None:
    """Render the pages of these validation results (and the site index when ``index``).

    What GX's UpdateDataDocsAction does, with the index made optional. Data Docs are a
    view of the stored results, so a rendering error is logged, never fatal.
    """
    store = context.validation_results_store
    try:
        if not index and result_ids:
            # The page builder walks every stored result of every suite to find these few
            # (GX's list_keys parses each key's run time): give it just these for the build.
            # (as the store lists them: from their stored tuple form, e.g. run name "__none__")
            listed = [type(k).from_tuple(k.to_tuple()) for k in result_ids]
            store.list_keys = lambda *args, **kwargs: listed
        context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=result_ids,
                                build_index=index)
    except Exception as exc:  # noqa: BLE001
        log.warning("Data Docs not updated (the results are stored): %s", exc)
    finally:
        store.__dict__.pop("list_keys", None)


class _NoResource:
    """A resource id equal to nothing: a Data Docs build that renders no page, only the index
    (an empty list would mean every page)."""

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def refresh_data_docs(*, context_root: Path | str | None = None) -> Path | None:
    """Rebuild the Data Docs index page from the stored results; returns its path.

    Called once at the end of a stage whose gates ran with ``data_docs_index=False``
    (kho.quality_gate), and by ``kho quality results``. Never raises.
    """
    try:
        gx = import_gx()
        gx_dir = _gx_dir(context_root)
        context = _context(gx, gx_dir)
        _render_data_docs(context, [_NoResource()], index=True)
        return _data_docs_index(context)
    except Exception as exc:  # noqa: BLE001 - Data Docs are a convenience
        log.warning("Data Docs index not rebuilt: %s", exc)
        return None


def _data_docs_index(context) -> Path | None:
    try:
        sites = context.get_docs_sites_urls(site_name=DATA_DOCS_SITE)
    except Exception:  # noqa: BLE001 - Data Docs are a convenience, never fatal
        return None
    for site in sites or []:
        url = site.get("site_url") or ""
        if url.startswith("file://"):
            path = Path(unquote(urlparse(url).path))
            if path.is_file():
                return path
    return None


def _verdict_from_result(
    suite: str, target: str, result, suite_order, data_docs: Path | None, duration: float
) -> QualityVerdict:
    # GX lists expectations that raised first; report them in suite order instead.
    order = {e.id: i for i, e in enumerate(suite_order)}
    results = [r for sr in result.run_results.values() for r in sr.results]
    results.sort(key=lambda r: order.get(getattr(r.expectation_config, "id", None), len(order)))
    outcomes = [_outcome(r) for r in results]
    run_time = result.run_id.run_time
    if run_time.tzinfo is None:
        run_time = run_time.replace(tzinfo=_dt.timezone.utc)
    passed = not any(o.severity == "critical" and not o.success for o in outcomes)
    return QualityVerdict(
        suite=suite,
        target=target,
        passed=passed,
        outcomes=tuple(outcomes),
        run_time=run_time,
        data_docs=data_docs,
        duration_s=round(duration, 3),
    )


def _outcome(r) -> ExpectationOutcome:
    cfg = r.expectation_config
    kwargs = dict(cfg.kwargs or {})
    if kwargs.get("column"):
        column = str(kwargs["column"])
    elif kwargs.get("column_list"):
        column = ",".join(str(c) for c in kwargs["column_list"])
    elif kwargs.get("column_A") and kwargs.get("column_B"):
        column = f"{kwargs['column_A']},{kwargs['column_B']}"
    else:
        column = None
    severity = getattr(cfg, "severity", None)
    severity = str(getattr(severity, "value", severity) or "critical").lower()
    if severity not in SEVERITIES:
        severity = "critical"
    res = r.result or {}
    percent = res.get("unexpected_percent_total", res.get("unexpected_percent"))
    exception = _exception_message(r.exception_info)
    return ExpectationOutcome(
        expectation=str(cfg.type),
        column=column,
        severity=severity,
        success=bool(r.success) and exception is None,
        element_count=_int_or_none(res.get("element_count")),
        unexpected_count=_int_or_none(res.get("unexpected_count")),
        unexpected_percent=None if percent is None else float(percent),
        observed_value=_json_safe(res.get("observed_value")),
        exception=exception,
    )


def _exception_message(info) -> str | None:
    """GX reports either one exception dict or a dict of them keyed by metric."""
    if not info:
        return None
    candidates = [info] if "raised_exception" in info else list(info.values())
    for item in candidates:
        if isinstance(item, Mapping) and item.get("raised_exception"):
            msg = str(item.get("exception_message") or "unknown error").strip()
            return msg.splitlines()[0][:500] if msg else "unknown error"
    return None


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _int_or_none(value: object) -> int | None:
    if value is None:
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _json_safe(value: object) -> object:
    """Convert to plain JSON types (NaN/inf become None, dates become ISO strings)."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return _json_safe(value.value)
    if isinstance(value, decimal.Decimal):
        return _json_safe(float(value))
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc)
        return value.isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_json_safe(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    item = getattr(value, "item", None)  # numpy / pandas scalars
    if callable(item):
        with contextlib.suppress(Exception):
            return _json_safe(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        with contextlib.suppress(Exception):
            return _json_safe(tolist())
    return str(value)


def _fmt_pct(pct: float) -> str:
    """1.2 -> "1.2", 100 -> "100", 0.00012 -> "0.00012" (never scientific)."""
    if pct == 0 or pct >= 1:
        return f"{pct:.1f}".rstrip("0").rstrip(".")
    digits = max(1, 1 - math.floor(math.log10(pct)))
    return f"{pct:.{digits}f}".rstrip("0").rstrip(".")


def _short_json(value: object, limit: int = 120) -> str:
    text = json.dumps(_json_safe(value), sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
