"""Tests for the generated population database (kho.sources.population) and kho.sources.dbapi.

The generator writes a local SQLite file; every test reads it back with sqlite3 and judges
the rows with the processed zone's own rules (kho.cleaning, clean_record), so generator and
cleaning are checked against each other.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kho import cleaning, reference
from kho.sources import dbapi
from kho.sources.names import GIVEN_FEMALE, GIVEN_MALE, MIDDLE_FEMALE, MIDDLE_MALE, SURNAMES
from kho.sources.population import (
    AS_OF,
    CITIZENS_PER_SF,
    COLUMNS,
    DEFAULT_FAULT_RATES,
    GenerationStats,
    PopulationGenerator,
    generate,
)
from spark_jobs.population_processed import clean_record

ZERO_RATES = {fault: 0.0 for fault in DEFAULT_FAULT_RATES}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
VN_DATE = re.compile(r"\d{2}/\d{2}/\d{4}")
CCCD_FAULT_TO_REASON = {
    "cccd_missing": "CCCD_MISSING",
    "cccd_malformed": "CCCD_MALFORMED",
    "cccd_bad_province": "CCCD_BAD_PROVINCE",
    "cccd_mismatch": "CCCD_MISMATCH",
    "bad_birth_date": "BIRTH_DATE_INVALID",
    "unknown_admin_unit": "ADMIN_UNIT_UNKNOWN",
}


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _read(path: Path) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT {', '.join(COLUMNS)} FROM cong_dan ORDER BY id").fetchall()
    finally:
        con.close()


def _as_dicts(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, row)) for row in rows]


def _clean(rec: dict[str, Any]) -> dict[str, Any]:
    return clean_record({**rec, "_batch_id": "b", "_record_hash": "h"}, AS_OF)


def _citizen_key(rec: dict[str, Any]) -> tuple[Any, ...]:
    """What a duplicate shares with its original: the fields neither duplicate kind alters.

    The name is folded because a near duplicate may be the unaccented spelling.
    """
    return (rec["so_dinh_danh"], reference.fold(rec["ho_ten"]), rec["ngay_sinh"], rec["gioi_tinh"],
            rec["ma_dvhc"])


@dataclass
class Generated:
    path: Path
    stats: GenerationStats
    rows: list[dict[str, Any]]


@dataclass
class Split:
    """Rows split into first occurrences and duplicates (with the original each one repeats)."""
    originals: list[dict[str, Any]]
    exact: list[tuple[dict[str, Any], dict[str, Any]]]
    near: list[tuple[dict[str, Any], dict[str, Any]]]


def _split(rows: list[dict[str, Any]]) -> Split:
    first: dict[tuple[Any, ...], dict[str, Any]] = {}
    out = Split([], [], [])
    for rec in rows:
        key = _citizen_key(rec)
        if key not in first:
            first[key] = rec
            out.originals.append(rec)
            continue
        orig = first[key]
        same = all(rec[c] == orig[c] for c in COLUMNS if c != "id")
        (out.exact if same else out.near).append((orig, rec))
    return out


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """Default fault rates at sf=0.05 (5,000 citizens)."""
    path = tmp_path_factory.mktemp("faulty") / "population.sqlite"
    stats = generate(_url(path), seed=7, sf=0.05)
    return Generated(path, stats, _as_dicts(_read(path)))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """No injected faults at sf=0.03."""
    path = tmp_path_factory.mktemp("clean") / "population.sqlite"
    stats = generate(_url(path), seed=3, sf=0.03, fault_rates=ZERO_RATES)
    return Generated(path, stats, _as_dicts(_read(path)))


# --- determinism --------------------------------------------------------------------------
def test_same_seed_and_sf_give_identical_rows_whatever_the_chunk_size(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.sqlite", tmp_path / "b.sqlite", tmp_path / "c.sqlite"
    sa = generate(_url(a), seed=11, sf=0.02)
    sb = generate(_url(b), seed=11, sf=0.02)
    sc = generate(_url(c), seed=11, sf=0.02, chunk_rows=137)
    rows = _read(a)
    assert len(rows) == sa.rows > 2000
    assert _read(b) == rows
    assert _read(c) == rows
    assert (sa.citizens, sa.rows, sa.faults) == (sb.citizens, sb.rows, sb.faults) == (sc.citizens, sc.rows, sc.faults)


def test_different_seed_gives_different_rows(tmp_path: Path) -> None:
    generate(_url(tmp_path / "a.sqlite"), seed=11, sf=0.01)
    generate(_url(tmp_path / "b.sqlite"), seed=12, sf=0.01)
    a, b = _read(tmp_path / "a.sqlite"), _read(tmp_path / "b.sqlite")
    assert a != b
    assert {r[1] for r in a} != {r[1] for r in b}            # not just a reordering: other CCCDs


def test_regenerating_replaces_the_database(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    generate(_url(path), seed=1, sf=0.01, fault_rates=ZERO_RATES)
    first = _read(path)
    stats = generate(_url(path), seed=1, sf=0.01, fault_rates=ZERO_RATES)
    assert _read(path) == first and len(first) == stats.rows == 1000


def test_progress_reports_cumulative_rows(tmp_path: Path) -> None:
    seen: list[int] = []
    stats = generate(_url(tmp_path / "p.sqlite"), seed=1, sf=0.01, fault_rates=ZERO_RATES, chunk_rows=300,
                     progress=seen.append)
    assert seen == [300, 600, 900]
    assert stats.rows == 1000


# --- scale and configuration --------------------------------------------------------------
def test_scale_factor(tmp_path: Path) -> None:
    stats = generate(_url(tmp_path / "p.sqlite"), seed=5, sf=0.01, fault_rates=ZERO_RATES)
    assert stats.citizens == 1_000 == stats.rows == len(_read(tmp_path / "p.sqlite"))
    assert PopulationGenerator(sf=1).citizens == CITIZENS_PER_SF == 100_000
    assert PopulationGenerator(sf=0.25).citizens == 25_000
    assert PopulationGenerator(sf=0.000001).citizens == 1      # never an empty database


def test_unknown_fault_type_raises_before_touching_the_database(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cccd_typo"):
        PopulationGenerator(fault_rates={"cccd_typo": 0.1})
    path = tmp_path / "p.sqlite"
    with pytest.raises(ValueError, match="known"):
        generate(_url(path), sf=0.01, fault_rates={"cccd_typo": 0.1})
    assert not path.exists()


def test_partial_fault_rates_keep_the_other_defaults() -> None:
    gen = PopulationGenerator(fault_rates={"cccd_missing": 0.5})
    assert gen.rates == {**DEFAULT_FAULT_RATES, "cccd_missing": 0.5}


# --- formats without faults ---------------------------------------------------------------
def test_clean_rows_without_faults(clean: Generated) -> None:
    rows, stats = clean.rows, clean.stats
    assert stats.citizens == stats.rows == len(rows) == 3000
    assert not +stats.faults
    assert [r["id"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(_clean(r)["_reject_reason"] is None for r in rows)


def test_clean_cccds_are_valid_unique_and_consistent(clean: Generated) -> None:
    prefixes = reference.cccd_prefixes()
    cccds = [r["so_dinh_danh"] for r in clean.rows]
    assert len(set(cccds)) == len(cccds)
    for r in clean.rows:
        cccd = r["so_dinh_danh"]
        assert len(cccd) == 12 and cccd.isascii() and cccd.isdigit(), r
        assert cccd[:3] in prefixes, r
        birth, sex = cleaning.parse_date(r["ngay_sinh"]), cleaning.normalize_sex(r["gioi_tinh"])
        assert birth is not None and sex is not None, r
        assert cleaning.check_cccd(cccd, birth, sex) is None, r
    # Most citizens were registered in Hai Phong or the former Hai Duong.
    by_prefix = Counter(c[:3] for c in cccds)
    assert by_prefix["031"] > by_prefix["030"] > len(cccds) - by_prefix["031"] - by_prefix["030"] > 0


def test_clean_names_are_nfc_vietnamese_from_the_name_lists(clean: Generated) -> None:
    surnames = {s for s, _ in SURNAMES}
    parts = {"M": (MIDDLE_MALE, GIVEN_MALE), "F": (MIDDLE_FEMALE, GIVEN_FEMALE)}
    with_marks = 0
    for r in clean.rows:
        name = r["ho_ten"]
        assert unicodedata.is_normalized("NFC", name), r
        assert cleaning.standardize_name(name) == name, r
        surname, middle, given = name.split(" ")
        middles, givens = parts[cleaning.normalize_sex(r["gioi_tinh"])]
        assert surname in surnames and middle in middles and given in givens, r
        with_marks += cleaning.has_diacritics(name)
    # Some genuine names have no marks at all (Cao Minh Nam); nearly all do.
    assert with_marks / len(clean.rows) > 0.9


def test_clean_units_dates_sexes_and_addresses(clean: Generated) -> None:
    units = reference.admin_unit_by_code()
    formats = Counter()
    for r in clean.rows:
        assert r["ma_dvhc"] in units, r
        assert units[r["ma_dvhc"]].unit_full_name in r["dia_chi"], r
        assert unicodedata.is_normalized("NFC", r["dia_chi"]), r
        assert r["gioi_tinh"] in ("Nam", "Nữ", "nam", "nu"), r
        if ISO_DATE.fullmatch(r["ngay_sinh"]):
            formats["iso"] += 1
        else:
            assert VN_DATE.fullmatch(r["ngay_sinh"]), r
            formats["vn"] += 1
        birth = cleaning.parse_date(r["ngay_sinh"])
        assert cleaning.MIN_BIRTH_DATE <= birth <= AS_OF, r
        updated = datetime.strptime(r["ngay_cap_nhat"], "%Y-%m-%d %H:%M:%S")
        assert datetime(2025, 7, 1) <= updated <= datetime(2026, 11, 1), r
    assert formats["iso"] > formats["vn"] > 0.15 * len(clean.rows)
    assert len({r["ma_dvhc"] for r in clean.rows}) > 100        # spread over (nearly) all 114 units


# --- faults at the default rates ----------------------------------------------------------
def test_manifest_matches_stats(faulty: Generated) -> None:
    manifest = json.loads(faulty.path.with_name("population.manifest.json").read_text())
    expected = {k: v for k, v in faulty.stats.as_dict().items() if k != "seconds"}
    assert manifest == {**expected, "seed": 7, "sf": 0.05}
    assert list(manifest)[:7] == ["system", "seed", "sf", "rows", "total_rows", "faults", "links"]
    assert manifest["rows"] == {"cong_dan": len(faulty.rows)} and manifest["total_rows"] == faulty.stats.rows


def test_every_fault_type_appears(faulty: Generated) -> None:
    assert set(faulty.stats.faults) == set(DEFAULT_FAULT_RATES)
    assert all(n > 0 for n in faulty.stats.faults.values())


def test_row_count_is_citizens_plus_duplicates(faulty: Generated) -> None:
    s = faulty.stats
    assert s.citizens == 5000
    assert s.rows == len(faulty.rows) == s.citizens + s.faults["exact_duplicate"] + s.faults["near_duplicate"]
    assert [r["id"] for r in faulty.rows] == list(range(1, s.rows + 1))


def test_at_least_two_percent_of_rows_are_faulty(faulty: Generated) -> None:
    assert sum(faulty.stats.faults.values()) >= 0.02 * faulty.stats.rows
    # Observed, not only claimed: rows the processed zone must reject, repair or de-duplicate.
    split = _split(faulty.rows)
    repaired = rejected = 0
    for r in split.originals:
        out = _clean(r)
        if out["_reject_reason"]:
            rejected += 1
        elif (out["full_name"] != r["ho_ten"] or out["address"] != r["dia_chi"]
              or out["commune_code_source"] == "crosswalk" or _lost_marks(r)):
            repaired += 1
    duplicates = len(split.exact) + len(split.near)
    assert rejected + repaired + duplicates >= 0.02 * len(faulty.rows)
    assert rejected > 0 and repaired > 0 and duplicates > 0


NAME_PARTS = ({s for s, _ in SURNAMES} | set(MIDDLE_MALE) | set(MIDDLE_FEMALE) | set(GIVEN_MALE)
              | set(GIVEN_FEMALE))


def _lost_marks(r: dict[str, Any]) -> bool:
    """True when the name is an unaccented entry: no marks, yet not spelled as in the name lists.

    A name whose syllables carry no marks anyway (Cao Minh Nam) cannot be told apart from its
    unaccented entry, so this can only undercount the injected fault.
    """
    name = cleaning.standardize_name(r["ho_ten"]) or ""
    return not cleaning.has_diacritics(name) and not set(name.split(" ")) <= NAME_PARTS


def test_duplicates_are_what_the_stats_say(faulty: Generated) -> None:
    split = _split(faulty.rows)
    assert len(split.originals) == faulty.stats.citizens
    assert len(split.exact) == faulty.stats.faults["exact_duplicate"]
    assert len(split.near) == faulty.stats.faults["near_duplicate"]


def test_exact_duplicates_are_identical_apart_from_id(faulty: Generated) -> None:
    split = _split(faulty.rows)
    assert split.exact
    for orig, dup in split.exact:
        assert dup["id"] > orig["id"]
        assert {c: dup[c] for c in COLUMNS if c != "id"} == {c: orig[c] for c in COLUMNS if c != "id"}
    # Independently of the split: rows identical apart from id, counted over the whole table.
    content = Counter(tuple(r[c] for c in COLUMNS if c != "id") for r in faulty.rows)
    assert sum(n - 1 for n in content.values()) == faulty.stats.faults["exact_duplicate"]


def test_near_duplicates_share_a_cccd_and_differ_as_documented(faulty: Generated) -> None:
    split = _split(faulty.rows)
    assert split.near
    kinds = Counter()
    for orig, dup in split.near:
        assert dup["id"] > orig["id"]
        assert dup["so_dinh_danh"] == orig["so_dinh_danh"] and dup["so_dinh_danh"]
        if dup["dia_chi"] is None:          # same timestamp, address left empty
            assert dup["ngay_cap_nhat"] == orig["ngay_cap_nhat"] and dup["ho_ten"] == orig["ho_ten"]
            kinds["no_address"] += 1
        else:                               # an older entry typed without diacritics
            assert not cleaning.has_diacritics(dup["ho_ten"])
            assert reference.fold(dup["ho_ten"]) == reference.fold(orig["ho_ten"])
            assert dup["ngay_cap_nhat"] < orig["ngay_cap_nhat"]
            assert dup["dia_chi"] == orig["dia_chi"]
            kinds["older_unaccented"] += 1
    assert kinds["no_address"] > 0 and kinds["older_unaccented"] > 0


def test_rejections_match_injected_faults(faulty: Generated) -> None:
    split = _split(faulty.rows)
    faults = faulty.stats.faults
    first = Counter(_clean(r)["_reject_reason"] for r in split.originals)
    every = Counter(_clean(r)["_reject_reason"] for r in faulty.rows)
    duplicates = len(split.exact) + len(split.near)
    for fault, reason in CCCD_FAULT_TO_REASON.items():
        # Exactly one rejected original per injected fault ...
        assert first[reason] == faults[fault], (fault, first)
        # ... and over all rows, duplicates of a faulty row add at most their own number.
        assert faults[fault] <= every[reason] <= faults[fault] + duplicates, (fault, every)
    # Old units: split ones are rejected, merged-whole ones are resolved through the crosswalk.
    via_crosswalk = sum(_clean(r)["commune_code_source"] == "crosswalk" for r in split.originals)
    assert first["ADMIN_UNIT_SPLIT"] + via_crosswalk == faults["old_admin_unit"]
    assert via_crosswalk > first["ADMIN_UNIT_SPLIT"] > 0
    # Faults the processed zone repairs are never rejected, and nothing else is.
    assert first["SEX_INVALID"] == first["NAME_MISSING"] == 0
    assert set(first) <= set(cleaning.REASONS) | {None}
    assert first[None] == faulty.stats.citizens - sum(n for reason, n in first.items() if reason)


def test_name_faults_are_visible_and_repaired(faulty: Generated) -> None:
    split = _split(faulty.rows)
    faults = faulty.stats.faults
    decomposed = [r for r in split.originals if not unicodedata.is_normalized("NFC", r["dia_chi"] or "")]
    messy = [r for r in split.originals
             if unicodedata.normalize("NFC", r["ho_ten"]) != cleaning.standardize_name(r["ho_ten"])]
    assert len(decomposed) == faults["decomposed_unicode"]
    assert len(messy) == faults["messy_name"]
    for r in decomposed + messy:
        out = _clean(r)
        assert out["_reject_reason"] is None
        assert out["full_name"] == cleaning.standardize_name(r["ho_ten"])
        assert unicodedata.is_normalized("NFC", out["full_name"]) and unicodedata.is_normalized("NFC", out["address"])
    unaccented = [r for r in split.originals if _lost_marks(r)]
    assert 0.8 * faults["unaccented_name"] <= len(unaccented) <= faults["unaccented_name"]
    assert all(_clean(r)["name_has_diacritics"] is False for r in unaccented)


# --- dbapi --------------------------------------------------------------------------------
@pytest.mark.parametrize("url, kind", [
    ("sqlite:////tmp/x.sqlite", "sqlite"),
    ("postgresql://u:p@h:5432/db", "postgresql"),
    ("postgresql+psycopg2://u:p@h/db", "postgresql"),
    ("mysql://u:p@h/db", "mysql"),
    ("mysql+pymysql://u:p@h/db", "mysql"),
    ("mariadb://u:p@h/db", "mysql"),
])
def test_dialect(url: str, kind: str) -> None:
    assert dbapi.dialect(url) == kind


@pytest.mark.parametrize("url", ["oracle://u:p@h/db", "/tmp/x.sqlite", ""])
def test_dialect_rejects_unsupported_urls(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        dbapi.dialect(url)


def test_jdbc_options() -> None:
    assert dbapi.jdbc_options("sqlite:////data/p.sqlite") == {"url": "jdbc:sqlite:/data/p.sqlite",
                                                              "driver": "org.sqlite.JDBC"}
    assert dbapi.jdbc_options("postgresql://kho:p%40ss%2Fw@db.example:6543/kho_sources") == {
        "url": "jdbc:postgresql://db.example:6543/kho_sources", "driver": "org.postgresql.Driver",
        "user": "kho", "password": "p@ss/w"}
    assert dbapi.jdbc_options("postgresql://kho@db/kho")["url"] == "jdbc:postgresql://db:5432/kho"
    assert dbapi.jdbc_options("mysql+pymysql://kho:x@db/kho") == {
        "url": "jdbc:mariadb://db:3306/kho", "driver": "org.mariadb.jdbc.Driver", "user": "kho", "password": "x"}
    assert dbapi.jdbc_options("postgresql://db/kho")["password"] == ""


def test_sqlite_connect_and_insert_many(tmp_path: Path) -> None:
    url = _url(tmp_path / "sub" / "t.sqlite")                  # parent directory is created
    with dbapi.connect(url) as con:
        con.execute("CREATE TABLE t (a INTEGER, b TEXT)")
        assert dbapi.insert_many(con, url, "t", ("a", "b"), iter([(1, "Hải"), (2, None)])) == 2
        assert dbapi.insert_many(con, url, "t", ("a", "b"), []) == 0
    with dbapi.connect(url) as con:                             # committed on exit
        assert con.execute("SELECT a, b FROM t ORDER BY a").fetchall() == [(1, "Hải"), (2, None)]


def test_true_citizens_do_not_depend_on_fault_rates() -> None:
    """Other systems link to the clean citizens; this system's faults must not move them."""
    from kho.sources.population import PopulationGenerator

    clean = list(PopulationGenerator(seed=5, sf=0.005).true_citizens())
    faulty = list(PopulationGenerator(seed=5, sf=0.005, fault_rates={"old_admin_unit": 0.5}).true_citizens())
    assert clean == faulty and len(clean) == 500
    rows = {r[1] for r in PopulationGenerator(seed=5, sf=0.005, fault_rates={k: 0 for k in
            ("exact_duplicate", "near_duplicate", "cccd_missing", "cccd_malformed", "cccd_bad_province", "cccd_mismatch",
             "unaccented_name", "messy_name", "decomposed_unicode", "old_admin_unit", "unknown_admin_unit",
             "bad_birth_date")}).rows()}
    assert rows == {c.cccd for c in clean}
