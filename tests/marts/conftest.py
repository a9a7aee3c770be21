"""One small generated city, run once for every mart test through Airflow: the ``city_pipeline``
DAG (``airflow dags test``) takes all twelve sector systems through raw, processed and
integrated, builds the marts with dbt, audits and publishes them and exports the IOC KPIs.

Tests compare mart numbers (as published: the serving database analysts read) with
independent computations on the generated source systems under ``city.sources_dir``.
Running the DAG takes a few minutes (one Spark job per processed table), so it happens once
per session; the lake is deleted at the end of the session whatever the outcome (CI disks are
small), the Airflow log is kept under the pytest temp folder when a test failed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest

DAY = date(2026, 11, 27)
SF = 0.02
SEED = 7


@dataclass(frozen=True)
class City:
    root: Path
    lake_root: Path
    sources_dir: Path
    serving_db: Path
    build_db: Path
    day: date
    run: object  # kho.airflow_runner.DagRunResult

    def mart(self, sql: str) -> list[tuple]:
        """Rows of a query on the published marts (schemas citizen, enterprise, land_urban, socioeconomic, ioc)."""
        from kho.duck import connect

        with connect(self.serving_db, read_only=True) as con:
            return con.sql(sql).fetchall()


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    from kho import city as pipeline
    from kho import settings as kho_settings
    from kho.airflow_runner import run_dag

    root = tmp_path_factory.mktemp("city")
    saved = dict(os.environ)
    for name in list(os.environ):
        # the run's configuration goes; where the local servers listen (infra/local: ports,
        # timeouts, a test DSN) stays, since later fixtures start or reach those servers
        local_servers = name.endswith("_PORT") or name.startswith(("KHO_TEST_", "KHO_SERVER_"))
        if name.startswith(("KHO_", "AIRFLOW_CONN_KHO_SRC_")) and not local_servers:
            os.environ.pop(name)
    os.environ.update({"KHO_LAKE_ROOT": str(root / "lake"), "KHO_STATE_DIR": str(root / "state"),
                       "KHO_PSEUDONYM_KEY_FILE": str(root / "secrets" / "pseudonym.key"), "KHO_PROFILE": "embedded"})
    kho_settings.get_settings.cache_clear()
    try:
        settings = kho_settings.get_settings()
        pipeline.generate(settings, sf=SF, seed=SEED)
        result = run_dag(settings, "city_pipeline", DAY)
        assert result.ok, f"city_pipeline failed in {result.failed_tasks}: {result.error} (log: {result.log_file})"
        yield City(root=root, lake_root=root / "lake", sources_dir=settings.sources_dir,
                   serving_db=settings.serving_db,
                   build_db=settings.build_dir / f"city_pipeline_{DAY:%Y%m%d}" / "marts.duckdb", day=DAY, run=result)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        kho_settings.get_settings.cache_clear()
        shutil.rmtree(root / "lake", ignore_errors=True)
        shutil.rmtree(root / "state" / "sources", ignore_errors=True)
