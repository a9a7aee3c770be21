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


# -- demo --------------------------------------------------------------------------------
@main.command()
@click.option("--sf", type=float, default=0.2, show_default=True, help="scale factor (1 = 100,000 citizens)")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--date", "logical_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="logical date of the run (default: today)")
def demo(sf: float, seed: int, logical_date) -> None:
    """Generate the sources, run the whole pipeline through Airflow, print what it built."""
    settings = get_settings()
    day = logical_date.date() if logical_date else _today()
    t0 = time.perf_counter()
    console.rule("Kho demo: embedded profile")
    console.print(f"lake: {settings.lake_root}\nstate: {settings.state_dir}")
    _generate_sources(sf, seed, None)
    result = _run_dag(DEFAULT_DAG, day)
    console.rule("What was built")
    _print_status(steps=7, logical_date=day.isoformat())
    from kho import status as st

    q = st.quarantine_by_reason(settings)
    if q:
        _print_table(["table", "reason code", "reason", "rows"], q, title="Quarantine by reason")
    if settings.serving_db.exists():
        from kho.duck import connect

        with connect(settings.serving_db, read_only=True, external_access=False) as con:
            rel = con.sql("SELECT commune_code, commune_name, sex, age_band, population FROM "
                          "citizen.population_by_commune_sex_age ORDER BY population DESC LIMIT 8")
            _print_table(rel.columns, rel.fetchall(), title="citizen.population_by_commune_sex_age (largest cells)")
    console.rule("Where to look next")
    console.print(
        "  (the kho command lives in .venv: `source .venv/bin/activate` first)\n"
        f"  kho sql \"select commune_name, sum(population) from citizen.population_by_commune_sex_age group by 1 order by 2 desc limit 10\"\n"
        f"  kho status | kho quarantine\n"
        f"  serving database, for any DuckDB client in read-only mode: {settings.serving_db}\n"
        f"  quality Data Docs: {settings.expectations_dir / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}\n"
        f"  Airflow log of this run: {result.log_file}")
    console.print(f"demo {'finished' if result.ok else 'FAILED'} in {time.perf_counter() - t0:.0f} s")
    if not result.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
