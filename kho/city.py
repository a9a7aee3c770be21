"""The whole city's batch pipeline below the marts: every registered system through raw,
processed and integrated, as plain functions the city DAG, ``kho demo``, benchmarks and tests
call.

The population pipeline (kho/pipeline.py) is one system's slice of this; here all twelve
systems flow, so the marts see every domain. The order is the dependency order of the zones:

    ingest_all -> process_all -> integrate_all

Each step writes its run-log rows through the jobs it calls, and returns a JSON-able summary.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from kho.settings import Settings, get_settings

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _say(progress: Progress | None, message: str) -> None:
    log.info(message)
    if progress:
        progress(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def embedded_lgsp_api(settings: Settings) -> Iterator[str | None]:
    """On the embedded profile, serve the generated dossiers through the LGSP-style API for the
    length of a load, unless ``KHO_LGSP_URL`` already names a server.

    Why: the dossiers reach Kho only through the LGSP REST API (as in the city), so the
    embedded profile needs a live API to ingest them; this starts one (:func:`serve_lgsp_api`)
    and points the dossier connection at it.
    """
    data = settings.sources_dir / "dossiers"
    if settings.profile != "embedded" or os.environ.get("KHO_LGSP_URL") or not data.exists():
        yield os.environ.get("KHO_LGSP_URL")
        return
    with serve_lgsp_api(data) as url:
        os.environ["KHO_LGSP_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("KHO_LGSP_URL", None)


@contextlib.contextmanager
def serve_lgsp_api(dossiers: Path) -> Iterator[str]:
    """The LGSP-style API over the generated dossiers in ``dossiers``, in a thread on a free
    loopback port, for the length of the block; yields its URL with the client credentials.
    The rate limit and the late-update simulation are off: a run over it is deterministic."""
    import uvicorn

    from kho.sources import lgsp_api

    port = _free_port()
    app = lgsp_api.create_app(dossiers, rate_limit=0, late_updates=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="kho-lgsp-api", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the LGSP API did not start; run `kho sources api` by hand to see why")
            time.sleep(0.05)
        yield f"http://{lgsp_api.DEFAULT_CLIENT_ID}:{lgsp_api.DEFAULT_CLIENT_SECRET}@127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def source_connections(generated: list, sources: Path, api_url: str) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` for every registered source, pointing it where ``registry.up``
    generated it (``generated``, into ``sources``): a database at its URL, a file drop or the
    sensor stream at its folder, the dossiers at the LGSP API ``api_url``. What a cluster
    deployment's tasks read instead of the embedded profile's settings."""
    from kho.ingest.registry import load_registry

    targets = {g.system.name: g.target for g in generated}
    env = {}
    for source in load_registry().systems.values():
        if source.transport == "direct":
            url = targets[source.system]
        elif source.transport in ("file_drop", "stream"):
            url = f"file://{sources / source.system}"
        elif source.transport == "lgsp_api":
            url = api_url
        else:
            raise ValueError(f"no connection for transport {source.transport!r} of {source.system}")
        env[f"AIRFLOW_CONN_{source.connection_id.upper()}"] = url
    return env


def generate(settings: Settings, *, sf: float, seed: int, progress: Progress | None = None) -> dict[str, int]:
    """Generate every sector system under ``settings.sources_dir`` (SQLite files, file drops, API data)."""
    from kho.sources import registry

    rows: dict[str, int] = {}

    def done(g) -> None:
        rows[g.system.name] = int(g.stats.get("total_rows", g.stats.get("rows", 0)))
        _say(progress, f"generated {g.system.name}: {rows[g.system.name]:,} rows in {g.seconds:.1f} s")

    registry.up(settings.sources_dir, sf=sf, seed=seed, on_done=done)
    return rows


def ingest_all(day: date, *, settings: Settings | None = None, systems: tuple[str, ...] = (), run_id: str = "",
               progress: Progress | None = None) -> dict[str, Any]:
    """Every object of every registered system (or ``systems``) for the local day ``day``, each
    new batch checked against its raw contract suite (a failure raises QualityGateFailed)."""
    from kho import quality_gate
    from kho.ingest.registry import load_registry
    from kho.ingest.runner import ingest_day

    settings = settings or get_settings()
    registry = load_registry()
    out: dict[str, Any] = {}
    with embedded_lgsp_api(settings):
        for source in registry.systems.values():
            if systems and source.system not in systems:
                continue
            t0 = time.perf_counter()
            results = []
            for obj in source.objects:  # the raw contract gate checks one raw table's new batch at a time
                loaded = ingest_day(settings, source, day, objects=(obj.name,), run_id=run_id)
                if loaded:
                    quality_gate.check_load(settings, loaded, run_id=run_id, dag_id="city_pipeline", logical_date=day)
                results += loaded
            quality_gate.refresh_data_docs()
            written = sum(r.rows_written for r in results)
            out[source.system] = {"objects": len(results), "rows_read": sum(r.rows_read for r in results),
                                  "rows_written": written}
            _say(progress, f"raw <- {source.system}: {written:,} rows written ({len(results)} loads, "
                           f"{time.perf_counter() - t0:.1f} s)")
    return out


def process_all(day: date, *, settings: Settings | None = None, spark=None, run_id: str = "",
                domains_only: tuple[str, ...] = (), progress: Progress | None = None) -> dict[str, Any]:
    """Every declared processed table (of ``domains_only``) whose raw table exists: new raw batches
    only, each followed by its processed suite on the rows those batches produced."""
    from kho import lake, quality_gate
    from kho.processed.catalog import domains
    from spark_jobs import processed as job

    settings = settings or get_settings()
    spark = spark or _spark(settings)
    out: dict[str, Any] = {}
    for domain, tables in domains().items():
        if domains_only and domain not in domains_only:
            continue
        for spec in tables:
            if lake.delta_version(spec.raw.path(settings)) is None:
                _say(progress, f"processed: {spec.ref} skipped, raw {spec.raw} is empty")
                continue
            t0 = time.perf_counter()
            summary = job.run_logged(spark, settings, logical_date=day, table=spec, run_id=run_id,
                                     dag_id="city_pipeline")
            quality_gate.check_processed(settings, spec, summary, run_id=run_id, dag_id="city_pipeline",
                                         logical_date=day)
            out[str(spec.ref)] = {k: summary.get(k) for k in ("rows_read", "valid", "quarantined", "duplicates",
                                                               "processed")}
            _say(progress, f"processed <- {domain}.{spec.name}: {summary.get('rows_read', 0):,} read, "
                           f"{summary.get('quarantined', 0):,} quarantined ({time.perf_counter() - t0:.1f} s)")
    quality_gate.refresh_data_docs()
    return out


INTEGRATED_JOBS = ("admin_unit_integrated", "citizen_integrated", "citizen_links", "business_land_integrated")


def integrate_all(day: date, *, settings: Settings | None = None, spark=None, run_id: str = "",
                  progress: Progress | None = None) -> dict[str, Any]:
    """The integrated entities: administrative unit, citizen (SCD2), cross-source links, enterprise and
    parcel, each job followed by the suites of the tables it wrote."""
    import importlib

    from kho import quality_gate, runlog

    settings = settings or get_settings()
    spark = spark or _spark(settings)
    out: dict[str, Any] = {}
    for name in INTEGRATED_JOBS:
        t0 = time.perf_counter()
        module = importlib.import_module(f"spark_jobs.{name}")
        with runlog.step(settings, "integrate", day, run_id=run_id, dag_id="city_pipeline") as rec:
            summary = module.run(spark, settings, logical_date=day)
            rec.target = str(summary.get("target", name))
            rec.batch_id = str(summary["batch_id"]) if summary.get("batch_id") else None
            rec.delta_version = summary["delta_version"] if isinstance(summary.get("delta_version"), int) else None
            rec.details = {k: v for k, v in summary.items() if isinstance(v, (int, float, str))}
        quality_gate.check_integrated(settings, name, summary, logical_date=day, run_id=run_id,
                                      dag_id="city_pipeline")
        out[name] = summary
        _say(progress, f"integrated <- {name} ({time.perf_counter() - t0:.1f} s)")
    quality_gate.refresh_data_docs()
    return out


def _spark(settings: Settings):
    from kho.spark import get_spark

    return get_spark(settings, app_name="kho-city")
