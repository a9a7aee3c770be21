"""The ``kho`` command: set up, generate sources, run pipelines, query marts, see status.

Every command has ``--help``. Output is for people: progress while work runs, a summary
at the end, and errors that say what to do next.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from kho.settings import get_settings

console = Console(width=None if sys.stdout.isatty() else 140)
DEFAULT_DAG = "population_pipeline"
CITY_DAG = "city_pipeline"


def _today() -> date:
    return date.today()


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kho")
def main() -> None:
    """Kho: the Hai Phong shared data warehouse (Kho dữ liệu dùng chung).

    Profile and paths come from KHO_* environment variables and kho/profiles/<profile>.yaml
    (KHO_PROFILE=embedded by default).
    """


# -- setup -------------------------------------------------------------------------------
@main.group()
def setup() -> None:
    """Prepare this machine: Spark jars, Java check."""


@setup.command("jars")
def setup_jars() -> None:
    """Resolve the Delta and JDBC jars from Maven Central once and cache them in .cache/jars."""
    from kho.spark import check_java, ensure_jars

    settings = get_settings()
    try:
        java = check_java()
    except RuntimeError as exc:
        _fail(str(exc))
    t0 = time.perf_counter()
    jars = ensure_jars(settings)
    console.print(f"Java {java}; {len(jars)} jars ready in {settings.jars_dir} ({time.perf_counter() - t0:.1f} s)")


@setup.command("check")
def setup_check() -> None:
    """Check Java, the jar cache and the DuckDB extensions."""
    from kho.duck import connect
    from kho.spark import cached_jars, check_java

    settings = get_settings()
    try:
        console.print(f"java: {check_java()} (ok)")
    except RuntimeError as exc:
        _fail(str(exc))
    jars = cached_jars(settings.jars_dir)
    console.print(f"jars: {len(jars)} cached" if jars else "jars: missing; run `kho setup jars`")
    with connect() as con:
        con.sql("SELECT 1").fetchall()
    console.print("duckdb: delta extension loads offline (ok)")


# -- sources -----------------------------------------------------------------------------
@main.group()
def sources() -> None:
    """Generated sector source systems."""


@sources.command("up")
@click.option("--sf", type=float, default=1.0, show_default=True, help="scale factor: 1 = 100,000 citizens")
@click.option("--seed", type=int, default=42, show_default=True, help="random seed (same seed, same bytes)")
@click.option("--real", is_flag=True, help="databases on the PostgreSQL/MariaDB servers (infra/local/servers.sh start) "
              "instead of SQLite files; URLs from KHO_REAL_PG_URL / KHO_REAL_MYSQL_URL")
@click.option("--only", multiple=True, help="generate only this system (repeatable), e.g. --only population")
def sources_up(sf: float, seed: int, real: bool, only: tuple[str, ...]) -> None:
    """Create and fill the generated sector systems: databases, file drops, API data, IoT events."""
    from kho.sources import registry

    settings = get_settings()
    t0 = time.perf_counter()

    def done(g) -> None:
        console.print(f"  {g.system.name:24s} {g.stats.get('total_rows', g.stats.get('rows', 0)):>10,} rows "
                      f"{g.seconds:6.1f} s  -> {g.target}")

    try:
        results = registry.up(settings.sources_dir, sf=sf, seed=seed, real=real, only=only, on_done=done)
    except ValueError as exc:
        _fail(str(exc))
    _print_table(["system", "owner", "form", "rows", "faulty rows"],
                 [(g.system.name, g.system.owner.split(" (")[0], g.system.form,
                   g.stats.get("total_rows", g.stats.get("rows", 0)), sum(g.stats.get("faults", {}).values()))
                  for g in results], title=f"Sector systems at SF {sf} (seed {seed})")
    console.print(f"{len(results)} systems in {time.perf_counter() - t0:.0f} s under {settings.sources_dir}")
    if any(g.system.name == "dossiers" for g in results):
        console.print("the dossiers are served by the LGSP-style API: kho sources api [--port 8089]")
    if real and any(g.system.name == "population" for g in results):
        pop = next(g for g in results if g.system.name == "population")
        console.print(f"to run the pipeline on it: export KHO_SOURCE_POPULATION_URL={pop.target}")


@sources.command("api")
@click.option("--port", type=int, default=8089, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="loopback by default")
def sources_api(port: int, host: str) -> None:
    """Serve the generated TTHC dossiers through the LGSP-style REST API (Ctrl-C stops it).

    Credentials: KHO_LGSP_CLIENT_ID / KHO_LGSP_CLIENT_SECRET (local defaults in docs/sources.md).
    """
    from kho.sources import lgsp_api

    settings = get_settings()
    data = settings.sources_dir / "dossiers"
    if not data.exists():
        _fail(f"no dossier data in {data}; run `kho sources up --only dossiers` first")
    console.print(f"LGSP API on http://{host}:{port}/api/v1/tthc/ho-so (token: POST /oauth/token)")
    lgsp_api.main(["--data", str(settings.sources_dir), "--host", host, "--port", str(port)])


def _generate_sources(sf: float, seed: int, url: str | None) -> dict:
    from kho.sources import population

    settings = get_settings()
    url = url or settings.source_url("population")
    with console.status(f"generating the population database (SF {sf}) ...") as status:
        stats = population.generate(url, seed=seed, sf=sf,
                                    progress=lambda n: status.update(f"generating the population database: {n:,} rows"))
    faulty = sum(v for k, v in stats.faults.items())
    console.print(f"population: {stats.rows:,} rows for {stats.citizens:,} citizens in {stats.seconds:.1f} s, "
                  f"{faulty:,} faulty ({faulty / stats.rows:.1%}) -> {url}")
    return stats.as_dict()


# -- source registry -----------------------------------------------------------------------
@main.group()
def source() -> None:
    """The source registry: one YAML per sector system (kho/ingest/sources/)."""


@source.command("list")
def source_list() -> None:
    """Every registered source system and its objects, load modes and raw tables."""
    from kho.ingest.registry import RegistryError, load_registry, raw_table

    try:
        registry = load_registry()
    except RegistryError as exc:
        _fail(str(exc))
    _print_table(["system", "transport", "cadence", "object", "load mode", "schema", "raw table"],
                 [(src.system, src.transport, src.cadence_of(obj), obj.name, obj.load_mode, obj.schema_policy,
                   str(raw_table(src, obj))) for src, obj in registry.objects()],
                 title=f"{len(registry)} source systems")


@source.command("validate")
@click.option("--folder", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="a folder of registry YAML files (default: kho/ingest/sources)")
def source_validate(folder: Path | None) -> None:
    """Validate registry entries; errors name the file, line, object and field."""
    from kho.ingest.registry import RegistryError, load_registry

    try:
        registry = load_registry(folder)
    except RegistryError as exc:
        _fail(str(exc))
    console.print(f"{len(registry)} source systems, {sum(1 for _ in registry.objects())} objects: valid")


@source.command("new")
@click.argument("system")
@click.option("--transport", type=click.Choice(["direct", "lgsp_api", "file_drop", "stream"]), default="direct",
              show_default=True)
@click.option("--owner", default="TODO owning agency (Vietnamese and English)", help="owning agency")
@click.option("--title", default=None, help="human title of the system")
def source_new(system: str, transport: str, owner: str, title: str | None) -> None:
    """Scaffold a registry entry, a test that keeps it valid and a docs stub for a new source."""
    from kho.ingest.scaffold import scaffold

    settings = get_settings()
    try:
        made = scaffold(settings.project_root, system, transport=transport, owner=owner, title=title,
                        today=_today().isoformat())
    except (ValueError, FileExistsError) as exc:
        _fail(str(exc))
    for path in (made.registry_entry, made.test, made.doc):
        console.print(f"created {path.relative_to(settings.project_root)}")
    console.print("next: edit the YAML to the real objects and schema, then `kho source validate` "
                  "(field reference: docs/connectors.md)")


# -- ingest / backfill --------------------------------------------------------------------
def _result_rows(results) -> list[tuple]:
    return [(r.system, r.object, r.batch_id or "-", r.interval["start"][:16], f"{r.rows_read:,}",
             f"{r.rows_written:,}", f"{r.tombstones:,}", r.skipped or f"v{r.delta_version}") for r in results]


_RESULT_COLUMNS = ["system", "object", "batch", "interval start", "read", "written", "tombstones", "outcome"]


def _ingest_progress(t0: float):
    def show(result) -> None:
        what = result.skipped or f"{result.rows_written:,} rows -> {result.target} v{result.delta_version}"
        console.print(f"  [{time.perf_counter() - t0:6.1f}s] {result.system}.{result.object} "
                      f"{result.interval['start'][:16]}: read {result.rows_read:,}; {what}")
    return show


@main.command()
@click.argument("system")
@click.option("--object", "objects", multiple=True, help="only this object (repeatable)")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="local day (default: today)")
def ingest(system: str, objects: tuple[str, ...], day) -> None:
    """Load one source system's objects into raw for one day, without Airflow."""
    from kho.ingest.registry import RegistryError, load_registry
    from kho.ingest.runner import ingest_day

    settings = get_settings()
    t0 = time.perf_counter()
    try:
        source = load_registry().get(system)
        results = ingest_day(settings, source, day.date() if day else _today(), objects=objects,
                             on_result=_ingest_progress(t0))
    except (RegistryError, KeyError) as exc:
        _fail(str(exc).strip('"'))
    except Exception as exc:  # contract breaches and connection problems: the message says what to do
        _fail(f"{type(exc).__name__}: {exc}")
    _print_table(_RESULT_COLUMNS, _result_rows(results), title=f"{system}: {len(results)} batch(es) in "
                                                              f"{time.perf_counter() - t0:.1f} s")


@main.command()
@click.argument("system")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True, help="first local day")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True, help="last local day (inclusive)")
@click.option("--object", "objects", multiple=True, help="only this object (repeatable)")
def backfill(system: str, first, last, objects: tuple[str, ...]) -> None:
    """Re-ingest a date range for one source system, interval by interval; safe to rerun."""
    from kho.ingest.registry import RegistryError, load_registry
    from kho.ingest.runner import backfill as run_backfill

    settings = get_settings()
    t0 = time.perf_counter()
    console.print(f"backfilling [bold]{system}[/] from {first.date()} to {last.date()} ...")
    try:
        results = run_backfill(settings, load_registry(), system, first.date(), last.date(), objects=objects,
                               on_result=_ingest_progress(t0))
    except (RegistryError, KeyError, ValueError) as exc:
        _fail(str(exc).strip('"'))
    except Exception as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    written = sum(r.rows_written for r in results)
    _print_table(_RESULT_COLUMNS, _result_rows(results),
                 title=f"{system}: {len(results)} interval load(s), {written:,} rows written in "
                       f"{time.perf_counter() - t0:.1f} s")


@main.command()
@click.argument("target")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="logical date (default: today)")
@click.option("--full-rebuild", is_flag=True, help="forget what was processed and rebuild from all of raw")
def process(target: str, day, full_rebuild: bool) -> None:
    """Clean new raw batches into the processed zone: TARGET is a domain or <domain>.<table>."""
    from kho.processed.catalog import domains, find
    from kho.spark import get_spark
    from spark_jobs import processed as job

    settings = get_settings()
    try:
        specs = [find(target)] if "." in target else domains()[target]
    except KeyError as exc:
        _fail(f"{str(exc).strip(chr(34))}; domains: {', '.join(domains())}")
    t0 = time.perf_counter()
    spark = get_spark(settings, app_name=f"kho-process-{target}")
    rows = []
    for spec in specs:
        try:
            summary = job.run_logged(spark, settings, logical_date=day.date() if day else _today(), table=spec,
                                     full_rebuild=full_rebuild, run_id=f"manual__{time.strftime('%Y%m%dT%H%M%S')}")
        except Exception as exc:
            _fail(f"{spec.ref}: {type(exc).__name__}: {exc}")
        console.print(f"  [{time.perf_counter() - t0:6.1f}s] {spec.ref}: {summary.get('skipped') or 'done'}")
        rows.append((str(spec.ref), f"{summary.get('rows_read', 0):,}", f"{summary.get('quarantined', 0):,}",
                     f"{summary.get('processed', '-')}", f"{summary.get('duplicates', '-')}",
                     ", ".join(f"{k} {v}" for k, v in (summary.get("quarantine_by_reason") or {}).items())))
    _print_table(["table", "new rows", "quarantined", "processed", "duplicates", "quarantine reasons"], rows,
                 title=f"{target}: {len(rows)} table(s) in {time.perf_counter() - t0:.1f} s")


@main.group("airflow")
def airflow_group() -> None:
    """Airflow set-up derived from the registry."""


@airflow_group.command("pools")
def airflow_pools() -> None:
    """Create the single-slot pool of every raw table (one writer per Delta table)."""
    from kho.airflow_runner import ensure_metadata_db, ensure_pools

    settings = get_settings()
    ensure_metadata_db(settings)
    console.print(f"{ensure_pools(settings)} pools declared (slots 1)")


# -- run ---------------------------------------------------------------------------------
@main.command()
@click.argument("dag_id")
@click.option("--date", "logical_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="logical date (default: today)")
@click.option("--retries", type=int, default=0, show_default=True, help="task retries for this run")
def run(dag_id: str, logical_date, retries: int) -> None:
    """Run one DAG end to end through Airflow (`airflow dags test`, no scheduler needed)."""
    result = _run_dag(dag_id, logical_date.date() if logical_date else _today(), retries)
    if not result.ok:
        sys.exit(1)


def _run_dag(dag_id: str, logical_date: date, retries: int = 0):
    from kho.airflow_runner import run_dag

    settings = get_settings()
    t0 = time.perf_counter()
    console.print(f"running [bold]{dag_id}[/] for {logical_date} (Airflow, in-process) ...")

    def progress(line: str) -> None:
        console.print(f"  [{time.perf_counter() - t0:6.1f}s] {line}")

    result = run_dag(settings, dag_id, logical_date, retries=retries, on_line=progress)
    colour = "green" if result.ok else "red"
    console.print(f"[{colour}]{dag_id} {result.state}[/] in {time.perf_counter() - t0:.0f} s; log: {result.log_file}")
    if not result.ok:
        console.print(f"[red]failed task(s): {', '.join(result.failed_tasks) or '?'}[/]")
        if result.error:
            console.print(f"[red]{result.error}[/]")
    return result


# -- sql ---------------------------------------------------------------------------------
@main.command()
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--limit", type=int, default=50, show_default=True, help="rows shown in table format")
def sql(query: str, fmt: str, limit: int) -> None:
    """Run a read-only SQL query over the published marts (the serving database).

    Example: kho sql "select * from citizen.population_by_commune_sex_age limit 5"
    """
    import duckdb

    from kho.duck import connect

    settings = get_settings()
    if not settings.serving_db.exists():
        _fail(f"no published marts yet ({settings.serving_db}); run `kho demo` or `kho run {DEFAULT_DAG}` first")
    try:
        with connect(settings.serving_db, read_only=True, external_access=False) as con:
            rel = con.sql(query)
            if rel is None:
                _fail("the query returned nothing to show (only SELECT-like queries are allowed)")
            columns, rows = rel.columns, rel.fetchall()
    except duckdb.Error as exc:
        _fail(f"{exc}\nTables: kho sql \"select table_schema, table_name from information_schema.tables\"")
    if fmt == "json":
        click.echo(json.dumps([dict(zip(columns, r)) for r in rows], default=str, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        _print_table(columns, rows[:limit], title=None)
        if len(rows) > limit:
            console.print(f"... {len(rows) - limit:,} more rows (use --limit or --format csv)")


def _print_table(columns, rows, title: str | None) -> None:
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(str(c))
    for r in rows:
        table.add_row(*["" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
                        for v in r])
    console.print(table)


# -- status ------------------------------------------------------------------------------
@main.command()
@click.option("--steps", type=int, default=12, show_default=True, help="how many recent pipeline steps to show")
def status(steps: int) -> None:
    """Last pipeline steps, rows per zone and quality verdicts."""
    _print_status(steps)


def _print_status(steps: int = 12, logical_date: str | None = None) -> None:
    from kho import status as st

    settings = get_settings()
    if not Path(settings.lake_root).exists():
        console.print(f"the lake at {settings.lake_root} is empty; run `kho demo`")
        return
    recent = st.last_steps(settings, steps)
    _print_table(["date", "step", "status", "rows in", "rows out", "quarantined", "duplicates", "seconds"],
                 [(r["logical_date"], r["step"], r["status"], r["rows_in"], r["rows_out"], r["rows_quarantined"],
                   r["rows_duplicate"], r["seconds"]) for r in recent], title="Last pipeline steps (_system/pipeline/run_log)")
    _print_table(["table", "rows", "delta version"], [(t.table, t.rows, t.version) for t in st.lake_tables(settings)],
                 title=f"Rows per zone ({settings.lake_root})")
    verdicts = st.quality_verdicts(settings, logical_date)
    _print_table(["suite", "passed", "critical failed", "warnings", "expectations"],
                 [(s, "yes" if p else "NO", c, w, n) for s, _t, p, c, w, n in verdicts],
                 title="Quality verdicts (latest run per suite)")


@main.command()
@click.option("--by-batch", is_flag=True, help="one line per raw batch and reason")
def quarantine(by_batch: bool) -> None:
    """Rows rejected by the processed zone, counted by table and reason (every domain)."""
    from kho import status as st

    rows = st.quarantine_by_reason(get_settings(), by_batch=by_batch)
    if not rows:
        console.print("the quarantine is empty")
        return
    columns = ["table", "batch", "reason code", "reason", "rows"] if by_batch else ["table", "reason code", "reason", "rows"]
    _print_table(columns, rows, title=f"Quarantine: {sum(r[-1] for r in rows):,} rows")


# -- export ------------------------------------------------------------------------------
@main.group("export")
def export_group() -> None:
    """KPI exports for the IOC: immutable CSV/Parquet versions with manifests (docs/ioc_exchange.md)."""


@export_group.command("kpis")
@click.option("--table", "tables", multiple=True, help="only this IOC table (repeatable), e.g. ioc_citizen")
@click.option("--version", "version", type=int, default=None,
              help="export this Delta version instead of the latest (with exactly one --table)")
def export_kpis(tables: tuple[str, ...], version: int | None) -> None:
    """Export IOC KPI tables from topic/ioc into the exchange, as the kpi_export DAG does.

    Formats and retention come from kho/exports.yaml. A version already exported is verified
    and reported unchanged; a version that failed its quality audit is refused.
    """
    from kho import exchange as ex

    settings = get_settings()
    if version is not None and len(tables) != 1:
        _fail("--version pins one table's Delta version: give exactly one --table")
    try:
        config = ex.load_export_config()
        names = list(tables) or ex.tables_to_export(settings, config)
    except (ex.ExportConfigError, ex.ExportError) as exc:
        _fail(str(exc))
    if not names:
        _fail("no IOC KPI table is published under topic/ioc yet; build and publish the marts first")
    run_id = f"manual__{time.strftime('%Y%m%dT%H%M%S')}"
    results, failures = [], {}
    for name in names:
        try:
            results.append(ex.export_named(settings, name, config, version=version, export_run_id=run_id,
                                           update_index=False))
        except ex.ExportError as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
    try:
        ex.write_index(settings)
    except ex.ExportError as exc:
        _fail(str(exc))
    _print_table(["table", "delta version", "status", "rows", "logical date", "freshness", "folder"],
                 [(r.name, f"v{r.delta_version}", r.status, r.row_count, r.manifest.get("logical_date") or "-",
                   (r.manifest.get("freshness") or {}).get("max") or "-", str(r.folder)) for r in results],
                 title=f"IOC exports ({ex.ioc_exchange_dir(settings)})")
    for name, message in failures.items():
        console.print(f"[bold red]{name}:[/] {message}")
    if failures:
        sys.exit(1)


@export_group.command("verify")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def export_verify(folder: Path) -> None:
    """Check exported files against their manifests: sizes, SHA-256, row counts, schema.

    FOLDER is one version folder (exchange/ioc/ioc_citizen/v12), a table's folder or the whole
    exchange/ioc folder (every version under it is checked).
    """
    from kho.exchange import MANIFEST, verify

    if (folder / MANIFEST).is_file():
        folders = [folder]
    else:
        folders = sorted(p.parent for p in folder.rglob(MANIFEST)
                         if not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not folders:
        _fail(f"no {MANIFEST} in or under {folder}")
    broken = 0
    for f in folders:
        problems = verify(f)
        if problems:
            broken += 1
            console.print(f"[bold red]{f}: {len(problems)} problem(s)[/]")
            for p in problems:
                console.print(f"  - {p}")
        else:
            console.print(f"[green]ok[/] {f}")
    console.print(f"{len(folders) - broken} of {len(folders)} version folder(s) verify")
    if broken:
        sys.exit(1)


@export_group.command("list")
def export_list() -> None:
    """Exported IOC tables, their versions and which one is latest; checks kho/exports.yaml too."""
    from kho import exchange as ex

    settings = get_settings()
    try:
        config = ex.load_export_config()
        index = ex.build_index(settings)
    except (ex.ExportConfigError, ex.ExportError) as exc:
        _fail(str(exc))
    console.print(f"schedule: {config.schedule or 'manual only'} ({config.timezone}); tables: "
                  f"{', '.join(config.tables) if config.tables else 'all under topic/ioc'}; formats: "
                  f"{', '.join(config.formats)}; keep: {config.keep_versions or 'every version'}")
    if not index["tables"]:
        console.print(f"nothing exported yet under {ex.ioc_exchange_dir(settings)}; run `kho export kpis`")
        return
    _print_table(["table", "version", "latest", "logical date", "rows", "quality", "freshness", "exported at"],
                 [(name, f"v{v['delta_version']}", "*" if v["delta_version"] == t["latest"] else "",
                   v["logical_date"] or "-", v["row_count"], v["quality"], v["freshness"] or "-", v["exported_at"])
                  for name, t in index["tables"].items() for v in t["versions"]],
                 title=f"IOC exports ({ex.ioc_exchange_dir(settings)})")


# -- quality -----------------------------------------------------------------------------
@main.group("quality")
def quality_group() -> None:
    """Expectation suites of the zone boundaries and the results of the quality gates."""


@quality_group.command("suites")
@click.option("--check", is_flag=True, help="only compare: exit 1 when a committed suite differs from the generator")
def quality_suites(check: bool) -> None:
    """(Re)generate the suites from the registry, the processed catalog, the integrated tables
    and the marts' dbt yml; hand-written expectations in them are kept (docs/quality.md)."""
    from kho import quality_suites as qs

    report = qs.sync(check=check)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    changed = report.written + report.removed
    if check:
        if changed:
            for name in report.written:
                console.print(f"  differs: {name}")
            for name in report.removed:
                console.print(f"  stale:   {name} (its table or mart is gone)")
            _fail(f"{len(changed)} suite(s) out of date; run `kho quality suites` and commit expectations/")
        console.print(f"{len(report.unchanged)} generated suites in sync ({len(report.hand_written)} hand-written left alone)")
        return
    for name in report.written:
        console.print(f"  wrote   {name}")
    for name in report.removed:
        console.print(f"  removed {name} (its table or mart is gone)")
    console.print(f"{len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed, "
                  f"{len(report.hand_written)} hand-written left alone")


@quality_group.command("results")
@click.option("--failed", is_flag=True, help="only failed expectations (critical and warnings)")
@click.option("--limit", type=int, default=30, show_default=True)
def quality_results(failed: bool, limit: int) -> None:
    """The latest gate results (_system/quality/quality_results), newest first."""
    from kho.duck import connect
    from kho.lake import QUALITY_RESULTS, delta_exists

    path = QUALITY_RESULTS.path(get_settings())
    if not delta_exists(path):
        _fail("no quality results yet; they are written by every gate (kho run ..., kho demo)")
    from kho.quality import resolve_context_root

    where = "WHERE NOT success" if failed else ""
    with connect() as con:
        rows = con.sql(f"SELECT run_time, target, batch_id, severity, expectation, \"column\", success, "
                       f"unexpected_count, element_count, exception FROM delta_scan('{path}') {where} "
                       f"ORDER BY run_time DESC, suite LIMIT {int(limit)}").fetchall()

    def outcome(success, unexpected, total, exception) -> str:
        if exception:
            return f"error: {exception[:40]}"
        if unexpected is not None and total is not None:
            return f"{'ok' if success else 'FAILED'} ({unexpected:,} of {total:,})"
        return "ok" if success else "FAILED"

    _print_table(["run time (UTC)", "table", "batch", "severity", "expectation", "column", "result"],
                 [(str(r[0])[:16], r[1], r[2], r[3], r[4].removeprefix("expect_"), r[5], outcome(*r[6:]))
                  for r in rows], title="Quality gate results (newest first)")
    docs = resolve_context_root() / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    if docs.exists():
        console.print(f"Data Docs: {docs}")


# -- demo --------------------------------------------------------------------------------
def _print_city_summary(settings, day: date) -> None:
    """What a city_pipeline run built: zones, quarantine, quality, published marts, IOC KPIs."""
    from kho import status as st

    console.rule("What was built")
    _print_table(["zone", "tables", "rows"], st.zone_summary(settings), title=f"Rows per zone ({settings.lake_root})")
    q = st.quarantine_by_reason(settings)
    if q:
        top = sorted(q, key=lambda r: -r[-1])[:10]
        _print_table(["table", "reason code", "reason", "rows"], top,
                     title=f"Quarantine: {sum(r[-1] for r in q):,} rows, top reasons (all: kho quarantine)")
    verdicts = st.quality_verdicts(settings, day.isoformat())
    if verdicts:
        failed = [v for v in verdicts if not v[2]]
        console.print(f"quality: {len(verdicts)} suites checked, {len(verdicts) - len(failed)} passed"
                      + (f", FAILED: {', '.join(v[0] for v in failed)}" if failed else ""))
    if settings.serving_db.exists():
        from kho.duck import connect

        with connect(settings.serving_db, read_only=True, external_access=False) as con:
            marts = con.sql("SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables() "
                            "WHERE schema_name <> 'meta' ORDER BY 1").fetchall()
            _print_table(["mart", "rows"], marts, title=f"Published marts ({settings.serving_db})")
            if any(name == "ioc.ioc_public_service" for name, _ in marts):
                rel = con.sql("SELECT indicator_code, period, admin_unit_name, round(value, 2) AS value, target, "
                              "status FROM ioc.ioc_public_service WHERE admin_unit_code = '31' AND period_type = "
                              "'month' AND period_start = (SELECT max(period_start) FROM ioc.ioc_public_service "
                              "WHERE period_type = 'month') ORDER BY 1")
                _print_table(rel.columns, rel.fetchall(), title="IOC: public service KPIs, whole city, latest month")


@main.command()
@click.option("--sf", type=float, default=0.2, show_default=True, help="scale factor (1 = 100,000 citizens)")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--date", "logical_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="logical date of the run (default: today)")
def demo(sf: float, seed: int, logical_date) -> None:
    """Generate the twelve sector systems, run the city pipeline through Airflow, print what it built."""
    from kho import city

    settings = get_settings()
    day = logical_date.date() if logical_date else _today()
    t0 = time.perf_counter()
    console.rule("Kho demo: embedded profile")
    console.print(f"lake: {settings.lake_root}\nstate: {settings.state_dir}")
    with console.status("generating the sector systems ...") as spinner:
        rows = city.generate(settings, sf=sf, seed=seed, progress=lambda m: spinner.update(m))
    console.print(f"generated {len(rows)} sector systems, {sum(rows.values()):,} source rows (SF {sf}, seed {seed})")
    console.print(f"running {CITY_DAG} through Airflow (ingest, process, integrate, marts, export) ...")
    result = _run_dag(CITY_DAG, day)
    _print_city_summary(settings, day)
    console.rule("Where to look next")
    console.print(
        "  (the kho command lives in .venv: `source .venv/bin/activate` first)\n"
        "  kho sql \"select commune_name, sum(population) from citizen.population_by_commune_sex_age group by 1 order by 2 desc limit 10\"\n"
        "  kho status | kho quarantine | kho export list\n"
        f"  serving database, for any DuckDB client in read-only mode: {settings.serving_db}\n"
        f"  IOC exchange (CSV, Parquet, manifests): {settings.lake_root}/exchange/ioc\n"
        f"  quality Data Docs: {settings.expectations_dir / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}\n"
        f"  Airflow log of this run: {result.log_file}")
    console.print(f"demo {'finished' if result.ok else 'FAILED'} in {time.perf_counter() - t0:.0f} s")
    if not result.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
