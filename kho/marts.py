"""Build, audit and publish the dbt marts: write-audit-publish.

1. *Write*: ``dbt build`` into a fresh scratch DuckDB file for this run (never the one
   analysts read), reading the integrated zone's Delta tables.
2. *Audit*: the Great Expectations suite of each mart runs on that scratch file.
3. *Publish*: only then each mart becomes a new Delta version in the topic zone, and a new
   serving database (marts only, no views into the lake) atomically replaces the old one.
A failure at 1 or 2 leaves the published Delta tables and the serving file untouched.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kho.lake import TableRef, Zone, delta_overwrite
from kho.settings import Settings

log = logging.getLogger(__name__)

# Mart -> (dbt schema, GX suite). Later slices add their marts here.
MARTS: dict[str, tuple[str, str]] = {
    "population_by_commune_sex_age": ("citizen", "topic_citizen_population_by_commune_sex_age"),
}


class DbtBuildFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class MartBuild:
    build_db: Path
    marts: dict[str, int]  # mart -> rows


def mart_ref(mart: str) -> TableRef:
    schema, _ = MARTS[mart]
    return TableRef(Zone.TOPIC, schema, mart)


def _dbt_env(settings: Settings, build_db: Path) -> dict[str, str]:
    from kho.duck import extension_dir

    return {
        "KHO_LAKE_ROOT": settings.lake_root,
        "KHO_REFERENCE_DIR": str(Path(__file__).parent / "reference"),
        "KHO_DBT_BUILD_DB": str(build_db),
        "KHO_DUCKDB_EXTENSION_DIR": extension_dir(),
        "DO_NOT_TRACK": "1",
    }


def build(settings: Settings, logical_date: date, run_name: str) -> MartBuild:
    """Run ``dbt build`` (models, data tests and unit tests) into ``<state>/build/<run>/marts.duckdb``."""
    run_dir = settings.build_dir / run_name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    build_db = run_dir / "marts.duckdb"
    # A child process: dbt-duckdb keeps its DuckDB instance open for the life of the process,
    # which would lock the scratch file against the audit and publish steps.
    cmd = [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(settings.dbt_project_dir),
           "--profiles-dir", str(settings.dbt_project_dir), "--target-path", str(run_dir / "target"),
           "--log-path", str(run_dir / "logs"), "--vars", json.dumps({"as_of_date": logical_date.isoformat()})]
    proc = subprocess.run(cmd, env={**os.environ, **_dbt_env(settings, build_db)}, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        log.info("dbt | %s", line)
    if proc.returncode != 0:
        raise DbtBuildFailed(f"dbt build failed: {_failures(run_dir / 'target' / 'run_results.json') or proc.stderr[-2000:]}"
                             f" (full log: {run_dir / 'logs' / 'dbt.log'})")
    from kho.duck import connect

    with connect(build_db, read_only=True) as con:
        rows = {m: int(con.sql(f"SELECT count(*) FROM {schema}.{m}").fetchone()[0]) for m, (schema, _) in MARTS.items()}
    return MartBuild(build_db=build_db, marts=rows)


def _failures(run_results: Path) -> str:
    if not run_results.exists():
        return ""
    results = json.loads(run_results.read_text()).get("results", [])
    bad = [f"{r['unique_id']}: {r['status']} {(r.get('message') or '').strip()}" for r in results
           if r.get("status") not in ("success", "pass", "skipped")]
    return "; ".join(bad)


def publish(settings: Settings, build_db: Path, logical_date: date) -> dict[str, int]:
    """Publish audited marts: a Delta version each, then swap in a new serving database."""
    from kho.duck import connect

    versions: dict[str, int] = {}
    with connect(build_db, read_only=True) as con:
        for mart, (schema, _) in MARTS.items():
            table = con.sql(f"SELECT * FROM {schema}.{mart}").arrow()
            if hasattr(table, "read_all"):
                table = table.read_all()
            versions[mart] = delta_overwrite(mart_ref(mart).path(settings), table,
                                             commit_properties=_commit_properties(logical_date))

    serving = settings.serving_db
    serving.parent.mkdir(parents=True, exist_ok=True)
    staged = serving.with_name(serving.name + ".next")
    staged.unlink(missing_ok=True)
    with connect(staged) as con:
        con.execute(f"ATTACH '{build_db}' AS build (READ_ONLY)")
        for mart, (schema, _) in MARTS.items():
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(f"CREATE TABLE {schema}.{mart} AS SELECT * FROM build.{schema}.{mart}")
        con.execute("CREATE SCHEMA IF NOT EXISTS meta")
        con.execute("CREATE TABLE meta.published AS SELECT * FROM (VALUES (?, ?, now())) t(mart, logical_date, published_at)",
                    [",".join(MARTS), logical_date])
        con.execute("DETACH build")
        con.execute("CHECKPOINT")
    os.replace(staged, serving)  # atomic: readers see the old file or the new one
    return versions


def _commit_properties(logical_date: date):
    from deltalake import CommitProperties

    return CommitProperties(custom_metadata={"kho.logical_date": logical_date.isoformat()})
