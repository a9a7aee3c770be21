"""Build, audit and publish the dbt marts: write-audit-publish.

1. *Write*: ``dbt build`` (models, data tests, unit tests, contracts) into a fresh scratch
   DuckDB file for this run, never the one analysts read, reading the zones' Delta tables.
2. *Audit*: the Great Expectations suite of each mart (``topic_<schema>_<mart>``) runs on
   that scratch file.
3. *Publish*: only then each mart becomes a new Delta version in the topic zone, with the
   run's lineage in the commit (logical date, run, data version, input versions, quality
   verdict), and a new serving database (marts only, no views into the lake) atomically
   replaces the old one.

A failure at 1 or 2 leaves the published Delta tables and the serving file untouched: the
previous version keeps serving. The marts are whatever dbt built under ``models/marts``
(read from the run's manifest), so adding a mart is adding a dbt model and its suite.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from kho.lake import TableRef, Zone, delta_overwrite, delta_version, zone_root
from kho.settings import Settings

log = logging.getLogger(__name__)

_ENV_VAR = re.compile(r"\{\{\s*env_var\('([A-Z0-9_]+)'(?:\s*,\s*'[^']*')?\)\s*\}\}")
_DELTA_SCAN = re.compile(r"delta_scan\('([^']+)'\)")


class DbtBuildFailed(RuntimeError):
    pass


class MartInputsMissing(RuntimeError):
    """A Delta table the dbt sources declare does not exist yet."""


@dataclass(frozen=True)
class Mart:
    schema: str
    name: str

    @property
    def suite(self) -> str:
        return f"topic_{self.schema}_{self.name}"

    @property
    def ref(self) -> TableRef:
        return TableRef(Zone.TOPIC, self.schema, self.name)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class MartBuild:
    build_db: Path
    marts: dict[str, int]            # "<schema>.<mart>" -> rows
    data_version: str
    inputs: dict[str, int]           # "<source>.<table>" -> Delta version read

    def mart_list(self) -> list[Mart]:
        return [Mart(*key.split(".", 1)) for key in self.marts]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"build_db": str(self.build_db)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MartBuild:
        return cls(build_db=Path(data["build_db"]), marts=dict(data["marts"]), data_version=data["data_version"],
                   inputs=dict(data["inputs"]))


def mart_ref(mart: str) -> TableRef:
    """``"<schema>.<mart>"`` -> its published Delta table in the topic zone."""
    return Mart(*mart.split(".", 1)).ref


def _dbt_target(settings: Settings) -> str:
    """``object_store`` (with an S3 secret) when the lake is on S3, else ``build``."""
    from kho.lake import is_object_store

    return "object_store" if is_object_store(settings.lake_root) else "build"


def _s3_env() -> dict[str, str]:
    from kho.storage import s3_settings_from_env

    s3 = s3_settings_from_env()
    if s3 is None:
        return {}
    return {"KHO_DBT_S3_ENDPOINT": s3.host_port, "KHO_DBT_S3_REGION": s3.region,
            "KHO_DBT_S3_URL_STYLE": "path" if s3.path_style else "vhost",
            "KHO_DBT_S3_USE_SSL": "true" if s3.use_ssl else "false"}


def _dbt_env(settings: Settings, build_db: Path) -> dict[str, str]:
    from kho.duck import extension_dir

    return {
        **_s3_env(),
        "KHO_LAKE_ROOT": settings.lake_root,
        # one root per zone: on the cluster profile each zone is its own bucket
        **{f"KHO_{zone.name}_ROOT": zone_root(settings.lake_root, zone) for zone in Zone},
        "KHO_REFERENCE_DIR": str(Path(__file__).parent / "reference"),
        "KHO_DBT_BUILD_DB": str(build_db),
        "KHO_DUCKDB_EXTENSION_DIR": extension_dir(),
        "DO_NOT_TRACK": "1",
    }


def declared_inputs(settings: Settings) -> dict[str, str]:
    """Every Delta table the dbt sources read: ``"<source>.<table>" -> path``.

    Read from the sources' ``external_location`` in ``models/**/_sources*.yml``, with the same
    zone roots dbt gets, so the data version names exactly what the build read.
    """
    env = _dbt_env(settings, Path("unused"))
    out: dict[str, str] = {}
    for path in sorted((settings.dbt_project_dir / "models").rglob("_sources*.yml")):
        for source in (yaml.safe_load(path.read_text()) or {}).get("sources", []):
            location = (source.get("meta") or {}).get("external_location", "")
            location = _ENV_VAR.sub(lambda m: env.get(m.group(1), os.environ.get(m.group(1), "")), location)
            match = _DELTA_SCAN.search(location)
            if not match:
                continue
            pattern = match.group(1)
            for table in source.get("tables", []):
                out[f"{source['name']}.{table['name']}"] = pattern.replace("{name}", table["name"])
    return out


def input_versions(settings: Settings) -> dict[str, int]:
    """The current Delta version of every declared input; fails naming the missing ones."""
    versions: dict[str, int] = {}
    missing = []
    for name, path in declared_inputs(settings).items():
        version = delta_version(path)
        if version is None:
            missing.append(f"{name} ({path})")
        else:
            versions[name] = version
    if missing:
        raise MartInputsMissing("the marts read tables that do not exist yet: " + "; ".join(missing)
                                + ". Run the pipeline steps that write them first (kho ingest / kho process, "
                                  "or the city_pipeline DAG).")
    return versions


def data_version(logical_date: date, inputs: dict[str, int]) -> str:
    """A short, stable name for the lake state a build read: same inputs, same version."""
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:12]
    return f"{logical_date.isoformat()}+{digest}"


def build(settings: Settings, logical_date: date, run_name: str, *, select: tuple[str, ...] = ()) -> MartBuild:
    """``dbt build`` (models, data tests, unit tests) into ``<state>/build/<run>/marts.duckdb``.

    ``select`` narrows the build (dbt node selection, e.g. ``+population_by_commune_sex_age``)
    for pipelines that own only some marts; the inputs checked are then still all declared
    sources, unless ``select`` is given (dbt reports a missing table of the selection itself).
    """
    if select:
        inputs = {name: v for name, path in declared_inputs(settings).items()
                  if (v := delta_version(path)) is not None}
    else:
        inputs = input_versions(settings)
    version = data_version(logical_date, inputs)
    run_dir = settings.build_dir / run_name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    build_db = run_dir / "marts.duckdb"
    # A child process: dbt-duckdb keeps its DuckDB instance open for the life of the process,
    # which would lock the scratch file against the audit and publish steps.
    cmd = [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(settings.dbt_project_dir),
           "--profiles-dir", str(settings.dbt_project_dir), "--target-path", str(run_dir / "target"),
           "--log-path", str(run_dir / "logs"), "--target", _dbt_target(settings),
           "--vars", json.dumps({"as_of_date": logical_date.isoformat(), "data_version": version})]
    if select:
        # cautious: only tests whose every parent is selected, so a relationship test from an
        # unselected mart to a shared staging model does not run against a table never built
        cmd += ["--select", *select, "--indirect-selection", "cautious"]
    log.info("dbt build of the marts (data version %s, %d inputs)", version, len(inputs))
    proc = subprocess.run(cmd, env={**os.environ, **_dbt_env(settings, build_db)}, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        log.info("dbt | %s", line)
    if proc.returncode != 0:
        detail = (_failures(run_dir / "target" / "run_results.json")
                  or "\n".join(_strip_ansi(proc.stdout).splitlines()[-12:]) or proc.stderr[-2000:])
        raise DbtBuildFailed(f"dbt build failed: {detail}"
                             f" (full log: {run_dir / 'logs' / 'dbt.log'})")
    built = _built_marts(run_dir / "target")
    if not built:
        raise DbtBuildFailed(f"dbt build built no mart (selection {select or 'all'})")
    from kho.duck import connect

    with connect(build_db, read_only=True) as con:
        rows = {str(m): int(con.sql(f'SELECT count(*) FROM "{m.schema}"."{m.name}"').fetchone()[0]) for m in built}
    return MartBuild(build_db=build_db, marts=rows, data_version=version, inputs=inputs)


def _built_marts(target: Path) -> list[Mart]:
    """The models under ``models/marts`` that this run built, from its manifest and results."""
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text()).get("results", [])
    done = {r["unique_id"] for r in results if r.get("status") == "success"}
    marts = []
    for uid in sorted(done):
        node = manifest["nodes"].get(uid, {})
        if node.get("resource_type") == "model" and node.get("fqn", [None, None])[1] == "marts":
            marts.append(Mart(node["schema"], node["name"]))
    return marts


def audit(settings: Settings, built: MartBuild, logical_date: date, *, run_id: str = "") -> list:
    """Run each built mart's suite on the scratch file; record every result in _system/quality_results.

    Returns the verdicts (kho.quality.QualityVerdict); a mart without a suite gets a failing
    verdict-like error, because an unaudited mart must not be published.
    """
    from kho import quality, runlog

    verdicts = []
    missing = [m for m in built.mart_list() if m.suite not in set(quality.list_suites())]
    if missing:
        raise DbtBuildFailed("marts without an expectation suite cannot be published: "
                             + ", ".join(f"{m} (suite {m.suite})" for m in missing)
                             + "; generate them with `kho quality suites` and commit expectations/")
    for mart in built.mart_list():
        verdict = quality.validate_duckdb_table(mart.suite, built.build_db, f"{mart.schema}.{mart.name}",
                                                data_docs_index=False)
        runlog.write_quality_rows(settings, verdict.to_rows(batch_id=built.data_version,
                                                            logical_date=logical_date.isoformat(),
                                                            run_id=run_id, zone="topic"))
        verdicts.append(verdict)
    quality.refresh_data_docs()
    return verdicts


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _failures(run_results: Path) -> str:
    if not run_results.exists():
        return ""
    results = json.loads(run_results.read_text()).get("results", [])
    bad = [f"{r['unique_id']}: {r['status']} {(r.get('message') or '').strip()}" for r in results
           if r.get("status") not in ("success", "pass", "skipped")]
    return "; ".join(bad)


def publish(settings: Settings, built: MartBuild, logical_date: date, *, run_id: str = "",
            quality: dict[str, Any] | None = None) -> dict[str, int]:
    """Publish audited marts: a Delta version each (lineage in the commit), then swap in a new serving database."""
    from kho.duck import connect

    metadata = {"kho.logical_date": logical_date.isoformat(), "kho.run_id": run_id,
                "kho.data_version": built.data_version, "kho.inputs": json.dumps(built.inputs, sort_keys=True)}
    versions: dict[str, int] = {}
    with connect(built.build_db, read_only=True) as con:
        for mart in built.mart_list():
            table = con.sql(f'SELECT * FROM "{mart.schema}"."{mart.name}"').arrow()
            if hasattr(table, "read_all"):
                table = table.read_all()
            verdict = (quality or {}).get(str(mart), {"verdict": "passed", "suites": {}, "warnings": 0})
            versions[str(mart)] = delta_overwrite(
                mart.ref.path(settings), table,
                commit_properties=_commit_properties(metadata | {"kho.quality": json.dumps(verdict, sort_keys=True)}))
    _swap_serving(settings, built, logical_date)
    return versions


def _swap_serving(settings: Settings, built: MartBuild, logical_date: date) -> None:
    """A new serving file with every published mart, renamed over the old one (readers see one or the other)."""
    from kho.duck import connect

    serving = settings.serving_db
    serving.parent.mkdir(parents=True, exist_ok=True)
    staged = serving.with_name(serving.name + ".next")
    staged.unlink(missing_ok=True)
    marts = built.mart_list()
    with connect(staged) as con:
        con.execute(f"ATTACH '{built.build_db}' AS build (READ_ONLY)")
        for mart in marts:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{mart.schema}"')
            con.execute(f'CREATE TABLE "{mart.schema}"."{mart.name}" AS SELECT * FROM build."{mart.schema}"."{mart.name}"')
        # Marts this build did not select keep serving from the previous file.
        if serving.exists():
            con.execute(f"ATTACH '{serving}' AS previous (READ_ONLY)")
            have = {(m.schema, m.name) for m in marts}
            for schema, name in con.sql("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
                                        "'previous' AND schema_name <> 'meta'").fetchall():
                if (schema, name) not in have:
                    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                    con.execute(f'CREATE TABLE "{schema}"."{name}" AS SELECT * FROM previous."{schema}"."{name}"')
            con.execute("DETACH previous")
        con.execute("CREATE SCHEMA IF NOT EXISTS meta")
        con.execute("CREATE TABLE meta.published AS SELECT * FROM (VALUES (?, ?, ?, now())) "
                    "t(marts, logical_date, data_version, published_at)",
                    [",".join(str(m) for m in marts), logical_date, built.data_version])
        con.execute("DETACH build")
        con.execute("CHECKPOINT")
    os.replace(staged, serving)  # atomic: readers see the old file or the new one


def _commit_properties(metadata: dict[str, str]):
    from deltalake import CommitProperties

    return CommitProperties(custom_metadata=metadata)
