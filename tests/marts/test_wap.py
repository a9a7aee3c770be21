"""Write-audit-publish on the city's marts: a broken build never reaches analysts.

The ``city`` fixture published every mart once. Here two deliberately broken builds follow:
one that dbt itself stops (a duplicated row breaks a mart's unique test), and one that passes
dbt but fails the Great Expectations audit (cells with a population of 0). Both must leave the
serving database and every published Delta version exactly as they were, and say which
check failed on how many rows.
"""

from __future__ import annotations

import hashlib
import shutil

import duckdb
import pytest

from kho import lake, marts, pipeline
from kho.settings import get_settings

pytestmark = [pytest.mark.integration, pytest.mark.spark]

MART = "citizen.population_by_commune_sex_age"


def _fingerprint(city) -> tuple[str, dict[str, int | None]]:
    settings = get_settings()
    digest = hashlib.sha256(settings.serving_db.read_bytes()).hexdigest()
    with duckdb.connect(str(settings.serving_db), read_only=True) as con:
        names = [f"{s}.{t}" for s, t in con.sql("SELECT schema_name, table_name FROM duckdb_tables() "
                                                 "WHERE schema_name <> 'meta'").fetchall()]
    return digest, {n: lake.delta_version(marts.mart_ref(n).path(settings)) for n in names}


def test_every_mart_was_published_with_lineage(city):
    from deltalake import DeltaTable

    settings = get_settings()
    _, versions = _fingerprint(city)
    assert MART in versions and all(v is not None for v in versions.values())
    assert {n.split(".")[0] for n in versions} >= {"citizen", "enterprise", "land_urban", "socioeconomic", "ioc"}
    commit = DeltaTable(marts.mart_ref(MART).path(settings)).history(1)[0]
    assert commit["kho.logical_date"] == city.day.isoformat()
    assert commit["kho.data_version"].startswith(city.day.isoformat() + "+")
    assert '"verdict": "passed"' in commit["kho.quality"]
    assert "processed_population.citizen" in commit["kho.inputs"] or "integrated_citizen.citizen" in commit["kho.inputs"]


def test_dbt_failure_blocks_publish(city, tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(get_settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "marts" / "citizen" / "population_by_commune_sex_age.sql"
    # the deliberate fault: every row of the mart twice
    model.write_text(f"with built as (\n{model.read_text()}\n)\nselect * from built union all select * from built\n")
    monkeypatch.setenv("KHO_DBT_PROJECT_DIR", str(project))
    before = _fingerprint(city)
    # dbt stops it (its unit test and its unique-combination test both see the duplicates)
    with pytest.raises(marts.DbtBuildFailed, match=r"(unique_combination|unit_test)\S*population_by_commune_sex_age"):
        pipeline.build_marts(city.day, select=("+population_by_commune_sex_age",), dag_id="wap_test")
    assert _fingerprint(city) == before


def test_failed_audit_blocks_publish_and_names_the_expectation(city, tmp_path):
    settings = get_settings()
    good = marts.MartBuild.from_dict(pipeline.build_marts(city.day, select=("+population_by_commune_sex_age",),
                                                          dag_id="wap_test"))
    broken_db = tmp_path / "marts.duckdb"
    shutil.copy(good.build_db, broken_db)
    with duckdb.connect(str(broken_db)) as con:  # passes dbt, then the data go bad before the audit
        rows = con.sql(f"SELECT count(*) FROM {MART}").fetchone()[0]
        con.execute(f"UPDATE {MART} SET population = 0 WHERE rowid < 3")   # no contract forbids 0; the suite does
    broken = marts.MartBuild(broken_db, good.marts, good.data_version, good.inputs)
    before = _fingerprint(city)
    with pytest.raises(pipeline.QualityGateFailed) as failure:
        pipeline.audit_marts(city.day, broken.as_dict(), dag_id="wap_test")
    message = str(failure.value)
    assert "expect_column_values_to_be_between" in message and "population" in message
    assert f"3 of {rows:,}" in message
    assert "previous version keeps serving" in message
    assert _fingerprint(city) == before                       # nothing published
    audited = pipeline.audit_marts(city.day, good.as_dict(), dag_id="wap_test")   # the good build passes
    assert audited["quality"][MART]["verdict"] == "passed"
    assert settings.serving_db.exists()


def test_demo_summary_shows_what_the_run_built(city, capsys):
    """The summary `kho demo` prints after the DAG: zones, verdicts, every published mart, IOC KPIs."""
    from kho import cli

    cli._print_city_summary(get_settings(), city.day)
    out = capsys.readouterr().out
    assert "Rows per zone" in out and "Published marts" in out
    assert MART in out and "ioc.ioc_public_service" in out
    assert "IOC: public service KPIs" in out and "TTHC_ON_TIME_RATE" in out
    assert "FAILED" not in out
