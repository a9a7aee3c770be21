"""Ingestion into raw through Spark JDBC, against SQLite and a real PostgreSQL server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg2
import pytest

from kho import lake
from kho.settings import get_settings
from kho.sources import population
from spark_jobs import ingest_jdbc

pytestmark = [pytest.mark.integration, pytest.mark.spark]

DAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def spark():
    from kho.spark import get_spark

    return get_spark(get_settings(), app_name="kho-tests")


@pytest.fixture
def lake_settings(tmp_path, monkeypatch):
    """Settings whose lake and state live in tmp_path; call it after setting more KHO_* variables."""
    from kho.settings import get_settings as cached

    monkeypatch.setenv("KHO_LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.setenv("KHO_STATE_DIR", str(tmp_path / "state"))

    def make():
        cached.cache_clear()
        return cached()

    yield make
    cached.cache_clear()


def _ingest(spark, settings):
    return ingest_jdbc.run(spark, settings, logical_date=DAY, system="population", table="cong_dan",
                           target=str(lake.RAW_CITIZEN))


def _raw(spark, settings):
    return spark.read.format("delta").load(lake.RAW_CITIZEN.path(settings))


def test_ingest_from_postgresql_matches_source_and_is_idempotent(spark, pg_dsn, lake_settings, monkeypatch):
    monkeypatch.setenv("KHO_SOURCE_POPULATION_URL", pg_dsn)
    settings = lake_settings()
    stats = population.generate(pg_dsn, seed=7, sf=0.02)
    with psycopg2.connect(pg_dsn) as con, con.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT id) FROM cong_dan")
        source_rows, distinct_ids = cur.fetchone()
    assert source_rows == stats.rows == distinct_ids

    first = _ingest(spark, settings)
    assert first["skipped"] is False
    assert first["rows_read"] == first["rows_written"] == source_rows

    raw = _raw(spark, settings)
    for column in ingest_jdbc.INGEST_COLUMNS:
        assert column in raw.columns
    assert set(population.COLUMNS) <= set(raw.columns)           # source columns kept as received
    row = raw.where("id = 1").collect()[0]
    assert row["_batch_id"] == "population.cong_dan.20261127"
    assert row["_source_system"] == "population" and row["_source_object"] == "cong_dan"
    assert row["_ingest_date"] == DAY and row["_ingested_at"] is not None
    assert len(row["_record_hash"]) == 64
    # the hash fingerprints the record as received (id included): one per source row
    assert raw.select("_record_hash").distinct().count() == source_rows

    again = _ingest(spark, settings)                              # same logical date: nothing new
    assert again["skipped"] is True
    assert _raw(spark, settings).count() == source_rows


def test_ingest_from_sqlite_partitions_by_ingest_date(spark, lake_settings, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'population.sqlite'}"
    monkeypatch.setenv("KHO_SOURCE_POPULATION_URL", url)
    settings = lake_settings()
    stats = population.generate(url, seed=3, sf=0.01)
    summary = _ingest(spark, settings)
    assert summary["rows_written"] == stats.rows
    assert (Path(lake.RAW_CITIZEN.path(settings)) / "_ingest_date=2026-11-27").is_dir()
