"""The integrated zone on a small generated city: citizens (SCD2), links by CCCD with match
statistics, the administrative-unit entity, pseudonym stability and table metadata."""

from __future__ import annotations

from datetime import date

import pytest
from deltalake import DeltaTable

from kho.ingest.loader import day_interval, load_object
from kho.ingest.registry import load_registry
from kho.integrated.tables import ADMIN_UNIT, CITIZEN, CITIZEN_LINK, MATCH_STATS
from kho.lake import read_delta_arrow
from kho.privacy import pseudonym
from kho.processed.catalog import find
from kho.settings import get_settings
from kho.sources import civil_status, insurance, population
from spark_jobs import admin_unit_integrated, citizen_integrated, citizen_links, processed

pytestmark = [pytest.mark.integration, pytest.mark.spark]

DAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def spark():
    from kho.spark import get_spark

    return get_spark(get_settings(), app_name="kho-tests-integrated")


@pytest.fixture
def city(isolated_settings, tmp_path, monkeypatch):
    population.generate(f"sqlite:///{tmp_path / 'population.sqlite'}", seed=12, sf=0.02)
    civil_status.generate(f"sqlite:///{tmp_path / 'civil_status.sqlite'}", seed=12, sf=0.02)
    insurance.generate(tmp_path, seed=12, sf=0.02)
    monkeypatch.setenv("AIRFLOW_CONN_KHO_SRC_POPULATION", f"sqlite:///{tmp_path / 'population.sqlite'}")
    monkeypatch.setenv("AIRFLOW_CONN_KHO_SRC_CIVIL_STATUS", f"sqlite:///{tmp_path / 'civil_status.sqlite'}")
    monkeypatch.setenv("AIRFLOW_CONN_KHO_SRC_INSURANCE", f"file://{tmp_path / 'insurance'}")
    get_settings.cache_clear()
    registry = load_registry()
    for system in ("population", "civil_status", "insurance"):
        source = registry.get(system)
        for obj in source.objects:
            load_object(get_settings(), source, obj, day_interval(DAY))
    return tmp_path


def _table(ref):
    return read_delta_arrow(ref.path(get_settings()))


def test_citizens_links_and_match_statistics(spark, city):
    settings = get_settings()
    for name in ("population.citizen", "civil_status.birth_registration", "civil_status.death_registration",
                 "civil_status.marriage_registration", "insurance.insurance_participant"):
        processed.run(spark, settings, logical_date=DAY, table=find(name))
    first = citizen_integrated.run(spark, settings, logical_date=DAY)
    assert first["inserted"] == first["active"] > 0
    citizens = _table(CITIZEN.ref).to_pylist()
    key = settings.pseudonym_key()
    assert all(c["citizen_key"] == pseudonym(key, c["cccd"]) for c in citizens)   # stable, keyed
    again = citizen_integrated.run(spark, settings, logical_date=DAY)
    assert again["inserted"] == again["changed"] == again["deleted"] == 0           # nothing new: no version
    props = DeltaTable(CITIZEN.ref.path(settings)).metadata().configuration
    assert props["kho.pii_columns"] == "cccd,full_name,birth_date,address" and props["kho.keys"] == "citizen_key"

    summary = citizen_links.run(spark, settings, logical_date=DAY)
    links = _table(CITIZEN_LINK.ref)
    stats = _table(MATCH_STATS.ref).to_pylist()
    assert sum(s["matched"] + s["ambiguous"] + s["unmatched"] + s["no_key"] for s in stats) == links.num_rows
    by_role = {s["link_key"]: s for s in stats}
    assert by_role["insurance.participant"]["matched"] > 0.5 * sum(
        by_role["insurance.participant"][k] for k in ("matched", "ambiguous", "unmatched", "no_key"))
    assert by_role["birth.father"]["no_key"] > 0                                   # fathers are not always named
    assert set(links["match_status"].to_pylist()) <= {"matched", "ambiguous", "unmatched", "no_key"}
    assert summary["sources"] == 7                                                  # link specs with a table present
    assert "cccd" not in links.column_names                                        # only the pseudonym leaves


def test_admin_units_are_an_entity_with_history(spark, isolated_settings):
    first = admin_unit_integrated.run(spark, get_settings(), logical_date=DAY)
    assert first["inserted"] == 114
    assert admin_unit_integrated.run(spark, get_settings(), logical_date=DAY)["unchanged"] == 114
    units = _table(ADMIN_UNIT.ref).to_pylist()
    assert len({u["unit_code"] for u in units if u["is_current"]}) == 114
    assert sum(u["predecessor_count"] for u in units) >= 374 - 10                  # nearly every old unit maps somewhere


@pytest.fixture
def economy(isolated_settings, tmp_path, monkeypatch):
    from kho.sources import enterprise, land, permits

    for system, module in (("business_registration", enterprise), ("land", land), ("construction_permits", permits)):
        db = tmp_path / f"{system}.sqlite"
        module.generate(f"sqlite:///{db}", seed=13, sf=0.05)
        monkeypatch.setenv(f"AIRFLOW_CONN_KHO_SRC_{system.upper()}", f"sqlite:///{db}")
    get_settings.cache_clear()
    _load_economy(DAY)
    return tmp_path


ECONOMY_TABLES = ("business_registration.enterprise", "business_registration.household_business",
                  "land.land_parcel", "land.land_certificate", "land.land_transaction",
                  "construction_permits.construction_permit")


def _load_economy(day: date) -> None:
    registry = load_registry()
    for system in ("business_registration", "land", "construction_permits"):
        source = registry.get(system)
        for obj in source.objects:
            load_object(get_settings(), source, obj, day_interval(day))


def test_business_and_parcel_entities_with_links(spark, economy):
    from kho.integrated.tables import BUSINESS, BUSINESS_LINK, PARCEL, PARCEL_LINK
    from spark_jobs import business_land_integrated

    settings = get_settings()
    for name in ECONOMY_TABLES:
        processed.run(spark, settings, logical_date=DAY, table=find(name))
    first = business_land_integrated.run(spark, settings, logical_date=DAY)
    assert first["business"]["inserted"] > 0 and first["parcel"]["inserted"] > 0
    again = business_land_integrated.run(spark, settings, logical_date=DAY)
    assert again["business"]["inserted"] == again["business"]["changed"] == again["parcel"]["changed"] == 0
    business = _table(BUSINESS.ref)
    households = [r for r in business.to_pylist() if r["kind"] == "household"]
    assert households and all(r["tax_code"] is None for r in households)            # owners only as pseudonyms
    assert "owner_cccd" not in business.column_names
    parcels = _table(PARCEL.ref)
    assert parcels.num_rows == len(set(parcels["parcel_key"].to_pylist()))
    for meta in (BUSINESS_LINK, PARCEL_LINK):
        links = _table(meta.ref)
        statuses = [s for s in links["match_status"].to_pylist() if s != "no_key"]  # persons have no tax code
        assert statuses and statuses.count("matched") > 0.5 * len(statuses)
    stats = _table(MATCH_STATS.ref).to_pylist()
    assert {s["entity"] for s in stats} == {"business", "parcel"}


def test_business_and_parcel_entities_merge_only_what_the_change_feed_names(spark, economy):
    """The next day's changes (renamed and closed enterprises, renamed households, parcels
    readdressed or gone, certificates withdrawn) reach the entities through the processed
    change feed alone, and comparing every entity afterwards finds nothing they missed."""
    import sqlite3
    from datetime import timedelta

    from spark_jobs import business_land_integrated

    settings = get_settings()
    for name in ECONOMY_TABLES:
        processed.run(spark, settings, logical_date=DAY, table=find(name))
    first = business_land_integrated.run(spark, settings, logical_date=DAY)
    assert first["business_changes_from"] == first["parcel_changes_from"] == "all entities compared"
    with sqlite3.connect(economy / "business_registration.sqlite") as con:
        con.execute("UPDATE doanh_nghiep SET ten_doanh_nghiep = ten_doanh_nghiep || ' MỚI' WHERE rowid % 10 = 0")
        con.execute("DELETE FROM doanh_nghiep WHERE rowid % 37 = 1")
        con.execute("UPDATE ho_kinh_doanh SET ten_ho_kinh_doanh = ten_ho_kinh_doanh || ' MỚI' WHERE rowid % 15 = 0")
    with sqlite3.connect(economy / "land.sqlite") as con:
        con.execute("UPDATE thua_dat SET dia_chi = dia_chi || ' (mới)' WHERE rowid % 23 = 0")
        con.execute("DELETE FROM thua_dat WHERE rowid % 41 = 1")
        con.execute("DELETE FROM giay_chung_nhan WHERE rowid % 19 = 2")
    next_day = DAY + timedelta(days=1)
    _load_economy(next_day)
    for name in ECONOMY_TABLES:
        processed.run(spark, settings, logical_date=next_day, table=find(name))
    second = business_land_integrated.run(spark, settings, logical_date=next_day)
    for entity in ("business", "parcel"):
        counts = second[entity]
        assert second[f"{entity}_changes_from"].startswith("change data feed"), second
        assert counts["changed"] > 0 and counts["deleted"] > 0, (entity, counts)
        assert sum(counts.values()) < first[entity]["inserted"] / 2, (entity, counts)  # not every entity
    full = business_land_integrated.run(spark, settings, logical_date=next_day, full_rebuild=True)
    for entity in ("business", "parcel"):
        assert (full[entity]["inserted"], full[entity]["changed"], full[entity]["deleted"]) == (0, 0, 0), full[entity]
    again = business_land_integrated.run(spark, settings, logical_date=next_day)  # nothing new since
    assert again["business"] == again["parcel"] == {"inserted": 0, "changed": 0, "deleted": 0, "unchanged": 0}
