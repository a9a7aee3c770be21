"""The whole city on the cluster profile gives the same marts as on the embedded profile.

Issue 7: the profile changes where data lives and runs, never what the marts say. The same
generated city (seed, scale factor) runs twice:

* embedded (the ``city`` fixture of this folder): SQLite stand-ins for the sector databases,
  the lake on local disk, Spark local[2], ``airflow dags test``;
* cluster (this test): the sector databases on the real PostgreSQL and MariaDB servers, file
  drops and the sensor stream as folders, the dossiers behind an LGSP-style API; every zone in
  its MinIO bucket; the city_pipeline DAG triggered through the REST API of Airflow on
  PostgreSQL (scheduler, LocalExecutor, DAG processor, API server), its Spark jobs submitted
  to the standalone master and its two workers, and followed to success through the API.

Then every mart of the topic zone (and every IOC KPI table) is compared row for row. Only
when the rows were ingested may differ (the ``*_ingested_at`` and freshness columns); the data
version, which names the input Delta versions, must be the same.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kho.city import serve_lgsp_api, source_connections
from tests.support.cluster import (  # noqa: F401  (minio_env, spark_master: fixtures)
    REPO_ROOT,
    airflow_cluster,
    minio_env,
    run_dag_through_the_api,
    spark_master,
)
from tests.support.servers import fresh_pg_schema, mysql_dsn, pg_dsn  # noqa: F401  (fixtures)

from tests.marts.conftest import SEED, SF, City

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.cluster_city,
              pytest.mark.timeout(4 * 3600)]  # the embedded city, then the cluster run: ~40 min on 2 cores

RUN = uuid.uuid4().hex[:8]
# when a row was ingested or a table refreshed: the only columns allowed to differ
VOLATILE = ("_ingested_at", "freshness", "refreshed_at", "published_at", "exported_at")


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for the city's PostgreSQL systems (the URL's search path)."""
    with fresh_pg_schema(pg_dsn, "kho_city") as url:
        yield url


@pytest.fixture
def cluster_sources(pg_schema: str, mysql_dsn: str, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The sector systems generated again from the city's seed and scale: the databases onto
    the PostgreSQL and MariaDB servers, files and the stream into a folder, the dossiers
    behind the API. Yields the AIRFLOW_CONN_* variables that point the sources at them."""
    from kho.sources import registry

    folder = tmp_path / "sources"
    monkeypatch.setenv("KHO_REAL_PG_URL", pg_schema)
    monkeypatch.setenv("KHO_REAL_MYSQL_URL", mysql_dsn)
    generated = registry.up(folder, sf=SF, seed=SEED, real=True)
    databases = {g.system.name: g.target for g in generated if g.system.form == "database"}
    assert not [url for url in databases.values() if url.startswith("sqlite")], databases  # servers only
    with serve_lgsp_api(folder / "dossiers") as api_url:
        yield source_connections(generated, folder, api_url)


def _rows(table, drop: list[str]) -> list[tuple]:
    keep = [c for c in table.column_names if c not in drop]
    return sorted(tuple(json.dumps(v, sort_keys=True, default=str) for v in row.values())
                  for row in table.select(keep).to_pylist())


def test_city_pipeline_through_airflow_on_the_cluster_equals_embedded(
        city: City, cluster_sources: dict[str, str], minio_env: dict[str, str], spark_master: str,
        tmp_path: Path) -> None:
    from deltalake import DeltaTable

    from kho.storage import delta_rs_storage_options, s3_settings_from_env

    expectations = tmp_path / "expectations"
    shutil.copytree(REPO_ROOT / "expectations" / "gx", expectations / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    prefix = f"kho-tests/{RUN}/city"
    env = {**minio_env, **cluster_sources,
           "KHO_PROFILE": "cluster",
           "KHO_LAKE_ROOT": f"s3://{{zone}}/{prefix}",
           "KHO_STATE_DIR": str(tmp_path / "state-cluster"),
           "KHO_SPARK_MASTER": spark_master,
           "KHO_EXPECTATIONS_DIR": str(expectations),
           "KHO_PSEUDONYM_KEY_FILE": str(city.root / "secrets" / "pseudonym.key")}  # the same key
    with airflow_cluster("city_pipeline", tmp_path, env) as env:
        run_id = run_dag_through_the_api("city_pipeline", city.day.isoformat(), env, timeout=3600)

    options = delta_rs_storage_options(s3_settings_from_env(minio_env))
    marts = sorted(p.parent.relative_to(city.lake_root / "topic")
                   for p in (city.lake_root / "topic").glob("*/*/_delta_log"))
    assert len(marts) >= 20, marts
    differences = []
    versions = set()
    for mart in marts:
        local = DeltaTable(str(city.lake_root / "topic" / mart))
        remote = DeltaTable(f"s3://topic/{prefix}/{mart}", storage_options=options)
        versions.add((local.history(1)[0].get("kho.data_version"), remote.history(1)[0].get("kho.data_version")))
        assert remote.history(1)[0].get("kho.run_id") == run_id
        a, b = local.to_pyarrow_table(), remote.to_pyarrow_table()
        drop = [c for c in a.column_names if any(v in c for v in VOLATILE)]
        if a.schema != b.schema:
            differences.append(f"{mart}: schema {a.schema} != {b.schema}")
        elif a.num_rows != b.num_rows or _rows(a, drop) != _rows(b, drop):
            only_local = set(_rows(a, drop)) - set(_rows(b, drop))
            differences.append(f"{mart}: {a.num_rows} rows embedded, {b.num_rows} on the cluster; "
                               f"e.g. only embedded: {sorted(only_local)[:2]}")
    assert not differences, "\n".join(differences)
    assert all(x == y and x for x, y in versions), versions
