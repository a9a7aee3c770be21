"""The whole population pipeline through Airflow (`airflow dags test`), end to end.

Checks the laws of the platform on a small generated city: reconciliation at every zone
boundary, the mart equal to an independent computation on the source database, reruns
that add nothing, and write-audit-publish keeping the old mart when a batch is broken.
"""

from __future__ import annotations

import csv
import sqlite3
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from kho.airflow_runner import run_dag
from kho.duck import connect

pytestmark = [pytest.mark.e2e]

DAY = date(2026, 11, 27)
SF = 0.05
REFERENCE = Path(__file__).resolve().parents[2] / "kho" / "reference"
DATA_ZONES = ("raw", "processed", "quarantine", "integrated", "topic")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A generated city and one successful pipeline run; yields (settings, source db path, first result)."""
    from kho.settings import get_settings
    from kho.sources import population

    root = tmp_path_factory.mktemp("e2e")
    source = root / "population.sqlite"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KHO_LAKE_ROOT", str(root / "lake"))
        mp.setenv("KHO_STATE_DIR", str(root / "state"))
        mp.setenv("KHO_SOURCE_POPULATION_URL", f"sqlite:///{source}")
        get_settings.cache_clear()
        settings = get_settings()
        population.generate(f"sqlite:///{source}", seed=11, sf=SF)
        result = run_dag(settings, "population_pipeline", DAY)
        assert result.ok, f"first run failed: {result.failed_tasks} {result.error} (log {result.log_file})"
        yield settings, source, result
    get_settings.cache_clear()


def _count(path: str, where: str = "") -> int:
    with connect() as con:
        return con.sql(f"SELECT count(*) FROM delta_scan('{path}') {where}").fetchone()[0]


def _data_tables(settings) -> dict[str, int]:
    root = Path(settings.lake_root)
    return {str(p.relative_to(root)): _count(str(p)) for zone in DATA_ZONES
            for p in sorted(root.glob(f"{zone}/*/*")) if (p / "_delta_log").is_dir()}


def _mart(settings) -> list[tuple]:
    with connect(settings.serving_db, read_only=True, external_access=False) as con:
        return con.sql("SELECT commune_code, sex, age_band, population FROM citizen.population_by_commune_sex_age "
                       "ORDER BY ALL").fetchall()


def test_reconciliation_source_raw_processed(city):
    settings, source, _ = city
    lake = settings.lake_root
    batch = "_batch_id = 'population.citizen.20261127'"
    with sqlite3.connect(source) as con:
        source_rows = con.execute("SELECT count(*) FROM cong_dan").fetchone()[0]
    raw = _count(f"{lake}/raw/population/citizen", f"WHERE {batch}")
    processed = _count(f"{lake}/processed/population/citizen", f"WHERE {batch}")
    quarantined = _count(f"{lake}/quarantine/population/citizen", f"WHERE {batch}")
    duplicates = _count(f"{lake}/processed/population/citizen_duplicates", f"WHERE {batch}")
    assert source_rows == raw
    assert raw == processed + quarantined + duplicates
    assert quarantined > 0 and duplicates > 0           # the generator's faults reached the quarantine
    assert _count(f"{lake}/integrated/citizen/citizen", "WHERE is_current AND NOT is_deleted") == processed


def test_quarantine_rows_explain_themselves(city):
    from kho.cleaning import REASONS

    settings, _, _ = city
    with connect() as con:
        rows = con.sql(f"SELECT reason_code, reason, detail, raw_record, record_id FROM "
                       f"delta_scan('{settings.lake_root}/quarantine/population/citizen')").fetchall()
    assert rows
    for code, reason, detail, raw_record, record_id in rows:
        assert code in REASONS and reason == REASONS[code] and detail and raw_record and record_id


def _independent_population(source: Path, as_of: date) -> Counter:
    """The mart recomputed from the source database with plain Python, sharing no pipeline code."""
    def fold(text: str) -> str:
        text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
        return "".join(c for c in text if unicodedata.category(c) != "Mn").lower().strip()

    with (REFERENCE / "admin_units.csv").open(encoding="utf-8") as f:
        units = {r["unit_code"] for r in csv.DictReader(f)}
    with (REFERENCE / "admin_unit_crosswalk.csv").open(encoding="utf-8") as f:
        old = {r["old_unit_code"]: r["new_unit_code"] for r in csv.DictReader(f) if r["split"] == "false"}
    with (REFERENCE / "cccd_province_prefixes.csv").open(encoding="utf-8") as f:
        prefixes = {r["prefix"] for r in csv.DictReader(f)}

    people: dict[str, tuple[str, str, date]] = {}
    with sqlite3.connect(source) as con:
        for cccd, name, born, sex, unit in con.execute(
                "SELECT so_dinh_danh, ho_ten, ngay_sinh, gioi_tinh, ma_dvhc FROM cong_dan"):
            birth = None
            for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
                try:
                    birth = datetime.strptime((born or "").strip(), fmt).date()
                except ValueError:
                    pass
            sex = {"nam": "M", "nu": "F"}.get(fold(sex or ""))
            cccd = (cccd or "").strip()
            unit = (unit or "").strip()
            unit = unit if unit in units else old.get(unit)
            if not (birth and date(1900, 1, 1) <= birth <= as_of and sex and (name or "").strip() and unit):
                continue
            century_sex = (birth.year // 100 - 19) * 2 + (sex == "F")
            if not (len(cccd) == 12 and cccd.isdigit() and cccd[:3] in prefixes
                    and int(cccd[3]) == century_sex and cccd[4:6] == f"{birth.year % 100:02d}"):
                continue
            people[cccd] = (unit, sex, birth)
    counts: Counter = Counter()
    for unit, sex, birth in people.values():
        age = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
        band = "80+" if age >= 80 else f"{age // 5 * 5:02d}-{age // 5 * 5 + 4:02d}"
        counts[(unit, sex, band)] += 1
    return counts


def test_mart_equals_independent_computation_on_source(city):
    settings, source, _ = city
    expected = _independent_population(source, DAY)
    published = {(c, s, b): n for c, s, b, n in _mart(settings)}
    assert sum(published.values()) == sum(expected.values())
    assert published == dict(expected)


def test_marts_carry_no_personal_identifiers(city):
    settings, _, _ = city
    with connect(settings.serving_db, read_only=True, external_access=False) as con:
        columns = {c for (c,) in con.sql("SELECT column_name FROM information_schema.columns").fetchall()}
    assert not columns & {"cccd", "full_name", "address", "birth_date", "so_dinh_danh", "ho_ten"}


def test_rerun_of_same_logical_date_adds_no_rows(city):
    settings, _, _ = city
    before_tables, before_mart = _data_tables(settings), _mart(settings)
    result = run_dag(settings, "population_pipeline", DAY)
    assert result.ok, f"{result.failed_tasks} {result.error}"
    assert _data_tables(settings) == before_tables
    assert _mart(settings) == before_mart


def test_broken_batch_fails_quality_and_old_mart_keeps_serving(city):
    settings, source, _ = city
    lake = settings.lake_root
    mart_path = f"{lake}/topic/citizen/population_by_commune_sex_age"
    from deltalake import DeltaTable

    mart_before, version_before = _mart(settings), DeltaTable(mart_path).version()
    processed_before = _count(f"{lake}/processed/population/citizen")
    with sqlite3.connect(source) as con:  # a release of the residence system garbles a quarter of the birth dates
        con.execute("UPDATE cong_dan SET ngay_sinh = '??/??/????' WHERE id % 4 = 0")

    result = run_dag(settings, "population_pipeline", DAY + timedelta(days=1))

    assert not result.ok
    assert "audit_processed" in result.failed_tasks
    assert "quarantine_share" in (result.error or "")
    assert _mart(settings) == mart_before                          # serving database untouched
    assert DeltaTable(mart_path).version() == version_before        # no new topic version
    with connect() as con:
        processed_batches = {b for (b,) in con.sql(
            f"SELECT DISTINCT _batch_id FROM delta_scan('{lake}/processed/population/citizen')").fetchall()}
    assert processed_batches == {"population.citizen.20261127"}     # processed rolled back
    assert _count(f"{lake}/processed/population/citizen") == processed_before
    with connect() as con:
        failed = con.sql(f"SELECT step FROM delta_scan('{lake}/_system/pipeline/run_log') "
                         "WHERE status = 'failed' AND logical_date = DATE '2026-11-28'").fetchall()
        shares = con.sql(f"SELECT success FROM delta_scan('{lake}/_system/quality/quality_results') "
                         "WHERE logical_date = '2026-11-28' AND \"column\" = 'quarantine_share' "
                         "AND severity = 'critical'").fetchall()
    assert ("audit_processed",) in failed
    assert shares == [(False,)]


def test_kho_sql_reads_marts_and_refuses_writes(city):
    from click.testing import CliRunner

    from kho.cli import main

    runner = CliRunner()
    ok = runner.invoke(main, ["sql", "--format", "json",
                              "select sum(population) as people from citizen.population_by_commune_sex_age"])
    assert ok.exit_code == 0, ok.output
    import json

    assert json.loads(ok.output)[0]["people"] == sum(n for *_, n in _mart(city[0]))
    for statement in ("create table citizen.x as select 1", "delete from citizen.population_by_commune_sex_age",
                      "select * from read_csv('/etc/passwd')"):
        refused = runner.invoke(main, ["sql", statement])
        assert refused.exit_code == 1, statement
        assert "error" in refused.output


def test_kho_status_shows_zones_and_verdicts(city):
    from click.testing import CliRunner

    from kho.cli import main

    out = CliRunner().invoke(main, ["status"])
    assert out.exit_code == 0, out.output
    for text in ("raw/population/citizen", "integrated/citizen/citizen", "processed_population_citizen",
                 "publish_marts"):
        assert text in out.output

