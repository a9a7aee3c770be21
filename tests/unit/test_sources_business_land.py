"""Tests for the generated business registration, land and construction-permit databases.

Each system is generated into a SQLite file in a temporary folder and read back with sqlite3.
Faults are checked one at a time: with only one fault type switched on, what the database shows
must equal what ``GenerationStats`` reports, and the count must be near rate x rows. Links are
checked against the true citizens of ``population`` and the true enterprises of ``enterprise``.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections import Counter
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from kho import cleaning, reference
from kho.reference import land_use as land_use_ref
from kho.reference import vsic
from kho.sources import enterprise, identifiers, land, permits
from kho.sources.base import fold_diacritics
from kho.sources.population import PopulationGenerator

SEED = 11
SF = 0.2
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
VN_DATE = re.compile(r"\d{2}/\d{2}/\d{4}")
CURRENT_UNITS = set(reference.admin_unit_by_code())
MODULES = {"business_registration": enterprise, "land": land, "construction_permits": permits}


def _zero(module: Any) -> dict[str, float]:
    return {fault: 0.0 for fault in module.DEFAULT_FAULT_RATES}


def _only(module: Any, fault: str, rate: float) -> dict[str, float]:
    return {**_zero(module), fault: rate}


def _generate(module: Any, path: Path, *, seed: int = SEED, sf: float = SF, **kwargs: Any):
    url = f"sqlite:///{path}"
    stats = module.generate(url, seed=seed, sf=sf, **kwargs)
    return stats, _read(path)


def _read(path: Path) -> dict[str, list[dict[str, Any]]]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: [dict(r) for r in con.execute(f"SELECT * FROM {t} ORDER BY rowid")] for t in tables}
    finally:
        con.close()


def _columns(path: Path, table: str) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    finally:
        con.close()


def _within(count: int, rate: float, n: int) -> bool:
    """Binomial count near rate * n (4 sigma, plus slack for tiny expectations)."""
    return abs(count - rate * n) <= 4 * math.sqrt(n * rate * (1 - rate)) + 2


@pytest.fixture(scope="module")
def true_citizens() -> dict[str, str]:
    return {c.cccd: c.full_name for c in PopulationGenerator(seed=SEED, sf=SF).true_citizens()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, tuple[Any, dict[str, list[dict[str, Any]]]]]:
    """All three systems with every fault switched off."""
    folder = tmp_path_factory.mktemp("clean")
    return {name: _generate(module, folder / f"{name}.db", fault_rates=_zero(module))
            for name, module in MODULES.items()}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> dict[str, tuple[Any, dict[str, list[dict[str, Any]]], Path]]:
    """All three systems with the default fault rates."""
    folder = tmp_path_factory.mktemp("faulty")
    out = {}
    for name, module in MODULES.items():
        stats, tables = _generate(module, folder / f"{name}.db")
        out[name] = (stats, tables, folder / f"{name}.db")
    return out


# -- reference catalogues -------------------------------------------------------------------
def test_vsic_catalogue_has_sections_and_divisions() -> None:
    sections = vsic.vsic_sections()
    divisions = vsic.vsic_divisions()
    assert [s.code for s in sections] == list("ABCDEFGHIJKLMNOPQRSTU")
    assert len(divisions) == 88
    assert {d.section for d in divisions} == {s.code for s in sections}
    assert vsic.division_of("4933").name_vi == "Vận tải đường sắt, đường bộ và vận tải đường ống"
    assert vsic.division_of("5229").section == "H" and vsic.division_of("4101").section == "F"
    assert vsic.division_of("") is None and vsic.division_of("44") is None
    for entry in vsic.vsic_entries():
        assert entry.name_vi and entry.name_en and cleaning.nfc(entry.name_vi) == entry.name_vi


def test_land_use_catalogue() -> None:
    types = land_use_ref.land_use_types()
    by_code = land_use_ref.land_use_by_code()
    assert len(by_code) == len(types) >= 50
    assert {t.land_group for t in types} == {"agricultural", "non_agricultural", "unused"}
    assert by_code["ONT"].land_group == "non_agricultural" and by_code["LUC"].land_group == "agricultural"
    assert by_code["BHK"].scheme == "tt27_2018" and by_code["CNT"].scheme == "tt08_2024"
    assert land_use_ref.split_codes("ONT+CLN") == ("ONT", "CLN")


def test_every_generated_industry_and_land_use_code_is_in_the_catalogues(clean) -> None:
    for code in enterprise.VSIC4_CODES:
        assert vsic.division_of(code) is not None, code
    _, tables = clean["land"]
    for row in tables["thua_dat"]:
        for code in land_use_ref.split_codes(row["loai_dat"]):
            assert code in land_use_ref.land_use_by_code(), code


# -- identifiers ----------------------------------------------------------------------------
def test_tax_code_check_digit_matches_published_examples() -> None:
    assert identifiers.tax_check_digit("010004751") == 6            # the worked example of the tax authority
    assert identifiers.is_valid_tax_code("0100047516")
    assert identifiers.is_valid_tax_code("0314409058")
    assert identifiers.is_valid_tax_code("0314409058-002")
    assert not identifiers.is_valid_tax_code("0314409059")
    assert not identifiers.is_valid_tax_code("314409058")
    assert not identifiers.is_valid_tax_code("0000000000")
    code, _ = identifiers.make_tax_code("02", 1234)
    assert code.startswith("0200") and identifiers.is_valid_tax_code(code)


def test_nobody_cccd_is_well_formed_and_belongs_to_no_citizen(true_citizens) -> None:
    import random

    rng = random.Random(3)
    sample = list(true_citizens)[:3000]
    for cccd in sample:
        fake = identifiers.nobody_cccd(cccd, rng)
        assert len(fake) == 12 and fake.isdigit() and fake[:6] == cccd[:6]
        assert fake not in true_citizens


def test_citizen_pool_holds_adult_true_citizens(true_citizens) -> None:
    pool = enterprise.citizen_pool(SEED, SF)
    assert 0.2 * SF * 100_000 < len(pool) < enterprise.POOL_SHARE * SF * 100_000
    for i in range(0, len(pool), max(1, len(pool) // 500)):
        person = pool.person(i)
        assert true_citizens[person.cccd] == person.full_name
        assert person.birth_year <= enterprise.AS_OF.year - 18 and person.unit_code in CURRENT_UNITS


# -- clean rows: formats ----------------------------------------------------------------------
def test_business_registration_clean_formats(clean) -> None:
    stats, tables = clean["business_registration"]
    dn, hkd, events = tables["doanh_nghiep"], tables["ho_kinh_doanh"], tables["thay_doi_dang_ky"]
    assert stats.rows == Counter({t: len(rows) for t, rows in tables.items()})
    codes = [r["ma_so_doanh_nghiep"] for r in dn]
    assert len(set(codes)) == len(codes)
    assert all(identifiers.is_valid_tax_code(c) and c[:2] in ("02", "08") for c in codes)
    assert [r["ngay_thanh_lap"] for r in dn] == sorted(r["ngay_thanh_lap"] for r in dn)   # codes grow with time
    forms = {f for f, _ in enterprise.LEGAL_FORMS}
    for r in dn:
        assert r["ten_doanh_nghiep"] == r["ten_doanh_nghiep"].upper() and fold_diacritics(r["ten_doanh_nghiep"]) != r["ten_doanh_nghiep"]
        assert r["loai_hinh"] in forms and r["trang_thai"] in enterprise.STATUSES
        assert ISO_DATE.fullmatch(r["ngay_thanh_lap"]) and r["ma_dvhc"] in CURRENT_UNITS
        assert r["von_dieu_le"] >= 10_000_000 and vsic.division_of(r["nganh_nghe_chinh"])
        assert r["ngay_cap_nhat"][:10] >= r["ngay_thanh_lap"]
    names = [fold_diacritics(r["ten_doanh_nghiep"]).lower() for r in dn]
    assert len(set(names)) == len(names)                       # enterprise names are unique by law
    numbers = [r["so_dang_ky"] for r in hkd]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"0[28][A-Z]8\d{6}", n) for n in numbers)
    owners = [r["so_cccd_chu_ho"] for r in hkd]
    assert len(set(owners)) > 0.98 * len(owners)               # one household business per person (nearly always)
    assert {r["trang_thai"] for r in hkd} <= set(enterprise.HKD_STATUSES)
    # events: ids follow effective dates, every event belongs to a registered enterprise
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert [e["ngay_hieu_luc"] for e in events] == sorted(e["ngay_hieu_luc"] for e in events)
    assert {e["ma_so_doanh_nghiep"] for e in events} <= set(codes)
    assert {e["loai_thay_doi"] for e in events} == {"doi_ten", "tang_von", "doi_tru_so", "doi_nguoi_dai_dien",
                                                    "tam_ngung", "giai_the"}
    status = {r["ma_so_doanh_nghiep"]: r["trang_thai"] for r in dn}
    for e in events:
        if e["loai_thay_doi"] == "giai_the":
            assert status[e["ma_so_doanh_nghiep"]] == "giai_the"


def test_business_registration_sizes_follow_the_stated_ratios(clean) -> None:
    _, tables = clean["business_registration"]
    active = sum(r["trang_thai"] == "dang_hoat_dong" for r in tables["doanh_nghiep"])
    assert abs(active - enterprise.ACTIVE_ENTERPRISES_PER_SF * SF) < 0.15 * enterprise.ACTIVE_ENTERPRISES_PER_SF * SF
    active_hkd = sum(r["trang_thai"] == "dang_hoat_dong" for r in tables["ho_kinh_doanh"])
    assert abs(active_hkd - enterprise.ACTIVE_HOUSEHOLD_BUSINESSES_PER_SF * SF) < 0.1 * 4000 * SF
    dissolved = sum(r["trang_thai"] == "giai_the" for r in tables["doanh_nghiep"])
    assert 0.15 < dissolved / len(tables["doanh_nghiep"]) < 0.45


def test_true_enterprises_match_the_clean_register(clean, true_citizens) -> None:
    _, tables = clean["business_registration"]
    truth = list(enterprise.true_enterprises(SEED, SF))
    ents = [e for e in truth if e.kind == "enterprise"]
    households = [e for e in truth if e.kind == "household_business"]
    dn = {r["ma_so_doanh_nghiep"]: r for r in tables["doanh_nghiep"]}
    assert [e.tax_code for e in ents] == list(dn)
    for e in ents:
        row = dn[e.tax_code]
        assert (row["ten_doanh_nghiep"], row["loai_hinh"], row["nganh_nghe_chinh"], row["von_dieu_le"],
                row["ngay_thanh_lap"], row["ma_dvhc"], row["trang_thai"], row["so_cccd_nguoi_dai_dien"]) == (
            e.name.upper(), e.legal_form, e.vsic_code, e.capital_vnd, e.registered_on.isoformat(), e.unit_code,
            e.status, e.owner_cccd)
        assert true_citizens[e.owner_cccd] == e.owner_name
    assert [h.business_id for h in households] == [r["so_dang_ky"] for r in tables["ho_kinh_doanh"]]
    assert all(h.tax_code is None and h.owner_cccd in true_citizens for h in households)
    assert list(enterprise.true_enterprises(SEED, SF)) == truth


def test_land_clean_formats(clean) -> None:
    stats, tables = clean["land"]
    parcels, certs, txs = tables["thua_dat"], tables["giay_chung_nhan"], tables["giao_dich"]
    assert stats.rows == Counter({t: len(rows) for t, rows in tables.items()})
    assert len(parcels) == land.parcel_count(SF)
    keys = [(p["ma_dvhc"], p["so_to_ban_do"], p["so_thua"]) for p in parcels]
    assert len(set(keys)) == len(keys)
    for unit, sheet, number in keys:
        assert unit in CURRENT_UNITS and isinstance(sheet, int) and sheet > 0 and isinstance(number, int) and number > 0
    with_geometry = [p for p in parcels if p["hinh_hoc"] is not None]
    assert abs(len(with_geometry) / len(parcels) - land.GEOMETRY_SHARE) < 0.05
    xmin, ymin = land.to_vn2000(land.CITY_EXTENT_LONLAT[0], land.CITY_EXTENT_LONLAT[1])
    xmax, ymax = land.to_vn2000(land.CITY_EXTENT_LONLAT[2], land.CITY_EXTENT_LONLAT[3])
    centres = {code: land.to_vn2000(*ll) for code, ll in land.unit_centroids().items()}
    units = reference.admin_unit_by_code()
    for p in with_geometry:
        points = land.parse_polygon(p["hinh_hoc"])
        assert len(points) >= 5 and points[0] == points[-1]                     # closed ring, >= 4 corners
        area = land.shoelace_area(points)
        assert abs(area - p["dien_tich"]) < 0.1 * p["dien_tich"] + 1
        cx, cy = centres[p["ma_dvhc"]]
        limit = land.unit_radius_m(units[p["ma_dvhc"]]) + 2000
        for x, y in points:
            assert xmin - 5000 < x < xmax + 5000 and ymin < y < ymax
            assert math.hypot(x - cx, y - cy) < limit
    for lon, lat in land.unit_centroids().values():
        e = land.CITY_EXTENT_LONLAT
        assert e[0] < lon < e[2] and e[1] < lat < e[3]
    # certificates
    serials = [c["so_phat_hanh"] for c in certs]
    assert len(set(serials)) == len(serials)
    assert all(re.fullmatch(r"[A-D][A-Z] \d{6}", s) for s in serials)
    assert all(re.fullmatch(r"C[HS]\d{5}", c["so_vao_so"]) for c in certs)
    parcel_keys = set(keys)
    assert all((c["ma_dvhc"], c["so_to_ban_do"], c["so_thua"]) in parcel_keys for c in certs)
    current = Counter((c["ma_dvhc"], c["so_to_ban_do"], c["so_thua"]) for c in certs if c["trang_thai"] == "hieu_luc")
    assert set(current.values()) == {1}                                       # one valid certificate per parcel
    for c in certs:
        assert (c["loai_chu_su_dung"] == "ca_nhan") == (c["so_cccd"] is not None) != (c["ma_so_doanh_nghiep"] is not None)
        assert ISO_DATE.fullmatch(c["ngay_cap"])
    # transactions
    assert {t["loai_giao_dich"] for t in txs} == set(land.TRANSACTION_KINDS)
    assert all((t["ma_dvhc"], t["so_to_ban_do"], t["so_thua"]) in parcel_keys for t in txs)
    assert all(t["gia_tri"] is None or t["gia_tri"] >= 1_000_000 for t in txs)
    assert all(t["gia_tri"] is None for t in txs if t["loai_giao_dich"] in ("thua_ke", "tang_cho"))


def test_land_holders_link_to_true_citizens_and_enterprises(clean, true_citizens) -> None:
    _, tables = clean["land"]
    directory = {e.tax_code: e for e in enterprise.enterprise_directory(SEED, SF)}
    banks = {code for code, _ in land.bank_branches()}
    for c in tables["giay_chung_nhan"]:
        if c["so_cccd"]:
            assert true_citizens[c["so_cccd"]] == c["ten_chu_su_dung"]
        else:
            assert directory[c["ma_so_doanh_nghiep"]].name == c["ten_chu_su_dung"]
    for t in tables["giao_dich"]:
        for side in ("ben_chuyen", "ben_nhan"):
            assert t[side] in true_citizens or t[side] in directory or t[side] in banks
        assert (t["ben_nhan"] in banks) == (t["loai_giao_dich"] == "the_chap")
    assert all(identifiers.is_valid_tax_code(b) for b in banks)


def test_permits_clean_formats_and_links(clean, true_citizens) -> None:
    stats, tables = clean["construction_permits"]
    rows = tables["giay_phep_xay_dung"]
    assert stats.rows["giay_phep_xay_dung"] == len(rows) > 50
    parcel_keys = {(p["ma_dvhc"], p["so_to_ban_do"], p["so_thua"]) for p in clean["land"][1]["thua_dat"]}
    directory = {e.tax_code for e in enterprise.enterprise_directory(SEED, SF)}
    dossiers = [r["ma_ho_so"] for r in rows]
    assert len(set(dossiers)) == len(dossiers)
    assert all(re.fullmatch(r"\d{3}\.\d{2}\.\d{2}\.H\d{2}-\d{6}-\d{4}", d) for d in dossiers)
    numbers = Counter((r["so_giay_phep"], r["co_quan_cap"], r["ngay_cap"][:4]) for r in rows if r["so_giay_phep"])
    assert set(numbers.values()) == {1}
    late = issued = 0
    for r in rows:
        assert (r["ma_dvhc"], r["so_to_ban_do"], r["so_thua"]) in parcel_keys
        assert r["chu_dau_tu"] in (true_citizens if r["loai_chu_dau_tu"] == "ca_nhan" else directory)
        assert r["loai_cong_trinh"] in permits.LEGAL_DAYS and r["trang_thai"] in ("da_cap", "dang_xu_ly", "tu_choi", "thu_hoi")
        assert (r["ngay_cap"] is not None) == (r["so_giay_phep"] is not None) == (r["trang_thai"] in ("da_cap", "thu_hoi"))
        assert r["dien_tich_san"] == pytest.approx(r["dien_tich_xay_dung"] * r["so_tang"], abs=0.11)
        due = date.fromisoformat(r["han_tra_ket_qua"])
        assert (due - date.fromisoformat(r["ngay_nop_ho_so"])).days == permits.LEGAL_DAYS[r["loai_cong_trinh"]]
        if r["ngay_cap"]:
            issued += 1
            late += date.fromisoformat(r["ngay_cap"]) > due
            assert r["ngay_cap"] >= r["ngay_nop_ho_so"]
    assert 0.02 < late / issued < 0.15                                        # some permits are late, most are not
    # the investor holds the parcel on the day of submission
    truth = {p.dossier: p for p in permits.true_permits(SEED, SF)}
    for r in rows:
        assert truth[r["ma_ho_so"]].holder.id == r["chu_dau_tu"]


# -- determinism ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODULES))
def test_same_seed_gives_identical_rows_whatever_the_chunk_size(name, tmp_path, faulty) -> None:
    module = MODULES[name]
    stats, tables = _generate(module, tmp_path / "again.db", chunk_rows=7)
    assert tables == faulty[name][1]
    assert stats.as_dict() | {"seconds": 0} == faulty[name][0].as_dict() | {"seconds": 0}
    _, other = _generate(module, tmp_path / "other.db", seed=SEED + 1)
    assert other != tables


def test_truth_does_not_depend_on_fault_rates(clean, faulty) -> None:
    assert len(clean["land"][1]["thua_dat"]) + faulty["land"][0].faults["thua_dat.exact_duplicate"] + \
        faulty["land"][0].faults["thua_dat.near_duplicate"] == len(faulty["land"][1]["thua_dat"])
    clean_keys = {r["ma_ho_so"] for r in clean["construction_permits"][1]["giay_phep_xay_dung"]}
    faulty_keys = {r["ma_ho_so"] for r in faulty["construction_permits"][1]["giay_phep_xay_dung"]}
    assert clean_keys == faulty_keys


def test_manifest_and_unknown_faults(faulty) -> None:
    stats, _, path = faulty["land"]
    manifest = json.loads(path.with_name("land.manifest.json").read_text())
    assert manifest["rows"] == dict(sorted(stats.rows.items())) and manifest["seed"] == SEED
    assert list(manifest)[:7] == ["system", "seed", "sf", "rows", "total_rows", "faults", "links"]
    assert manifest["total_rows"] == stats.total_rows and "seconds" not in manifest
    with pytest.raises(ValueError):
        land.LandDatabase(fault_rates={"no_such_fault": 0.1})
    with pytest.raises(ValueError):
        enterprise.BusinessRegistry(fault_rates={"thua_dat.area_invalid": 0.1})


def test_default_faults_are_all_present(faulty) -> None:
    for name, module in MODULES.items():
        stats = faulty[name][0]
        for table, faults in module.TABLE_FAULTS.items():
            for fault in faults:
                if fault.startswith("link") or fault == "hard_delete":
                    continue
                assert f"{table}.{fault}" in stats.faults or module.DEFAULT_FAULT_RATES[fault] * stats.rows[table] < 8, \
                    (name, table, fault)


# -- faults, one at a time: the database shows exactly what the stats say --------------------------
def _bad_date(value: Any) -> bool:
    return cleaning.parse_date(value) is None


def _vn(value: Any) -> bool:
    return bool(value) and bool(VN_DATE.match(str(value)))


def _dups(rows: list[dict[str, Any]], ignore: tuple[str, ...] = ()) -> int:
    return len(rows) - len({tuple((k, v) for k, v in r.items() if k not in ignore) for r in rows})


@lru_cache(maxsize=1)
def _true_dn_names() -> set[str]:
    return {e.name.upper() for e in enterprise.enterprise_directory(SEED, SF)}


FAULT_CHECKS = {
    # (module name, table, fault): function(rows, tables) -> rows showing the fault
    ("business_registration", "doanh_nghiep", "tax_code_malformed"):
        lambda rows, _: sum(not re.fullmatch(r"\d{10}", r["ma_so_doanh_nghiep"]) for r in rows),
    ("business_registration", "doanh_nghiep", "tax_code_bad_check"):
        lambda rows, _: sum(not identifiers.is_valid_tax_code(r["ma_so_doanh_nghiep"]) for r in rows),
    ("business_registration", "doanh_nghiep", "missing_value"):
        lambda rows, _: sum(any(r[c] in (None, "") for c in ("dia_chi_tru_so", "von_dieu_le", "nganh_nghe_chinh",
                                                             "ngay_thanh_lap", "loai_hinh")) for r in rows),
    ("business_registration", "doanh_nghiep", "bad_date"): lambda rows, _: sum(_bad_date(r["ngay_thanh_lap"]) for r in rows),
    ("business_registration", "doanh_nghiep", "vn_date_format"): lambda rows, _: sum(_vn(r["ngay_thanh_lap"]) for r in rows),
    ("business_registration", "doanh_nghiep", "unaccented_name"):
        lambda rows, _: sum(fold_diacritics(r["ten_doanh_nghiep"]) == r["ten_doanh_nghiep"] for r in rows),
    ("business_registration", "doanh_nghiep", "misspelled_name"):
        lambda rows, _: sum(r["ten_doanh_nghiep"] not in _true_dn_names() for r in rows),
    ("business_registration", "doanh_nghiep", "old_admin_unit"): lambda rows, _: sum(r["ma_dvhc"] not in CURRENT_UNITS for r in rows),
    ("business_registration", "doanh_nghiep", "capital_invalid"): lambda rows, _: sum(r["von_dieu_le"] <= 0 for r in rows),
    ("business_registration", "doanh_nghiep", "late_update"):
        lambda rows, tables: sum(r["ngay_cap_nhat"][:10] < max(e["ngay_hieu_luc"] for e in tables["thay_doi_dang_ky"]
                                                              if e["ma_so_doanh_nghiep"] == r["ma_so_doanh_nghiep"])
                                 for r in rows if any(e["ma_so_doanh_nghiep"] == r["ma_so_doanh_nghiep"]
                                                      for e in tables["thay_doi_dang_ky"])),
    ("business_registration", "doanh_nghiep", "exact_duplicate"): lambda rows, _: _dups(rows),
    ("business_registration", "doanh_nghiep", "near_duplicate"):
        lambda rows, _: len(rows) - len({r["ma_so_doanh_nghiep"] for r in rows}),
    ("business_registration", "ho_kinh_doanh", "exact_duplicate"): lambda rows, _: _dups(rows),
    ("business_registration", "ho_kinh_doanh", "near_duplicate"): lambda rows, _: len(rows) - len({r["so_dang_ky"] for r in rows}),
    ("business_registration", "ho_kinh_doanh", "capital_invalid"): lambda rows, _: sum(r["von_kinh_doanh"] <= 0 for r in rows),
    ("business_registration", "ho_kinh_doanh", "unaccented_name"):
        lambda rows, _: sum(fold_diacritics(r["ten_ho_kinh_doanh"]) == r["ten_ho_kinh_doanh"] for r in rows),
    ("business_registration", "ho_kinh_doanh", "old_admin_unit"): lambda rows, _: sum(r["ma_dvhc"] not in CURRENT_UNITS for r in rows),
    ("business_registration", "ho_kinh_doanh", "vn_date_format"): lambda rows, _: sum(_vn(r["ngay_dang_ky"]) for r in rows),
    ("business_registration", "thay_doi_dang_ky", "exact_duplicate"): lambda rows, _: _dups(rows, ("id",)),
    ("business_registration", "thay_doi_dang_ky", "bad_date"): lambda rows, _: sum(_bad_date(r["ngay_hieu_luc"]) for r in rows),
    ("business_registration", "thay_doi_dang_ky", "late_event"):
        lambda rows, _: next(len(rows) - k for k in range(len(rows), -1, -1)
                             if [r["ngay_hieu_luc"] for r in rows[:k]] == sorted(r["ngay_hieu_luc"] for r in rows[:k])),
    ("land", "thua_dat", "area_invalid"): lambda rows, _: sum(r["dien_tich"] is not None and r["dien_tich"] <= 0 for r in rows),
    ("land", "thua_dat", "geometry_invalid"): lambda rows, _: sum(r["hinh_hoc"] is not None and not _good_wkt(r["hinh_hoc"])
                                                                for r in rows),
    ("land", "thua_dat", "missing_value"):
        lambda rows, _: sum(any(r[c] is None for c in ("dia_chi", "loai_dat", "dien_tich")) for r in rows),
    ("land", "thua_dat", "bad_land_use_code"):
        lambda rows, _: sum(any(c not in land_use_ref.land_use_by_code() for c in land_use_ref.split_codes(r["loai_dat"]))
                            for r in rows),
    ("land", "thua_dat", "old_admin_unit"): lambda rows, _: sum(r["ma_dvhc"] not in CURRENT_UNITS for r in rows),
    ("land", "thua_dat", "bad_date"): lambda rows, _: sum(_bad_date(r["ngay_cap_nhat"]) for r in rows),
    ("land", "thua_dat", "vn_date_format"): lambda rows, _: sum(_vn(r["ngay_cap_nhat"]) for r in rows),
    ("land", "thua_dat", "unaccented_text"): lambda rows, _: sum(fold_diacritics(r["dia_chi"]) == r["dia_chi"] for r in rows),
    ("land", "thua_dat", "exact_duplicate"): lambda rows, _: _dups(rows),
    ("land", "thua_dat", "near_duplicate"):
        lambda rows, _: len(rows) - len({(r["ma_dvhc"], r["so_to_ban_do"], r["so_thua"]) for r in rows}),
    ("land", "giay_chung_nhan", "serial_malformed"):
        lambda rows, _: sum(not re.fullmatch(r"[A-D][A-Z] \d{6}", r["so_phat_hanh"]) for r in rows),
    ("land", "giay_chung_nhan", "missing_value"):
        lambda rows, _: sum(any(r[c] is None for c in ("so_vao_so", "ngay_cap", "dien_tich", "muc_dich_su_dung")) for r in rows),
    ("land", "giay_chung_nhan", "old_admin_unit"): lambda rows, _: sum(r["ma_dvhc"] not in CURRENT_UNITS for r in rows),
    ("land", "giay_chung_nhan", "vn_date_format"): lambda rows, _: sum(_vn(r["ngay_cap"]) for r in rows),
    ("land", "giay_chung_nhan", "exact_duplicate"): lambda rows, _: _dups(rows),
    ("land", "giao_dich", "value_invalid"):
        lambda rows, _: sum(r["gia_tri"] is not None and r["gia_tri"] < 1_000_000 for r in rows),
    ("land", "giao_dich", "bad_date"): lambda rows, _: sum(_bad_date(r["ngay_dang_ky"]) for r in rows),
    ("land", "giao_dich", "exact_duplicate"): lambda rows, _: _dups(rows, ("id",)),
    ("construction_permits", "giay_phep_xay_dung", "missing_value"):
        lambda rows, _: sum(any(r[c] is None for c in ("dia_diem_xay_dung", "dien_tich_san", "so_tang", "ten_cong_trinh",
                                                       "han_tra_ket_qua")) for r in rows),
    ("construction_permits", "giay_phep_xay_dung", "bad_date"):
        lambda rows, _: sum(_bad_date(r["ngay_nop_ho_so"]) or _bad_date(r["han_tra_ket_qua"]) for r in rows),
    ("construction_permits", "giay_phep_xay_dung", "vn_date_format"): lambda rows, _: sum(_vn(r["ngay_nop_ho_so"]) for r in rows),
    ("construction_permits", "giay_phep_xay_dung", "old_admin_unit"):
        lambda rows, _: sum(r["ma_dvhc"] not in CURRENT_UNITS for r in rows),
    ("construction_permits", "giay_phep_xay_dung", "area_invalid"): lambda rows, _: sum(r["dien_tich_san"] <= 0 for r in rows),
    ("construction_permits", "giay_phep_xay_dung", "exact_duplicate"): lambda rows, _: _dups(rows),
    ("construction_permits", "giay_phep_xay_dung", "near_duplicate"):
        lambda rows, _: len(rows) - len({r["ma_ho_so"] for r in rows}),
}
# Faults that can only hit some rows: the rows they can apply to.
APPLICABLE = {
    ("business_registration", "doanh_nghiep", "late_update"):
        lambda tables: len({e["ma_so_doanh_nghiep"] for e in tables["thay_doi_dang_ky"]}),
    ("land", "thua_dat", "geometry_invalid"): lambda tables: sum(r["hinh_hoc"] is not None for r in tables["thua_dat"]),
    ("land", "giao_dich", "value_invalid"): lambda tables: sum(r["gia_tri"] is not None for r in tables["giao_dich"]),
}


def _good_wkt(wkt: str) -> bool:
    try:
        points = land.parse_polygon(wkt)
    except ValueError:
        return False
    xmin, ymin = land.to_vn2000(land.CITY_EXTENT_LONLAT[0], land.CITY_EXTENT_LONLAT[1])
    xmax, ymax = land.to_vn2000(land.CITY_EXTENT_LONLAT[2], land.CITY_EXTENT_LONLAT[3])
    return (len(points) >= 4 and points[0] == points[-1]
            and all(xmin - 5000 < x < xmax + 5000 and ymin < y < ymax for x, y in points))


@pytest.mark.parametrize("key", list(FAULT_CHECKS), ids=lambda k: f"{k[1]}.{k[2]}")
def test_single_fault_is_counted_exactly_and_at_its_rate(key, tmp_path) -> None:
    name, table, fault = key
    module = MODULES[name]
    rate = 0.06
    stats, tables = _generate(module, tmp_path / "f.db", fault_rates=_only(module, f"{table}.{fault}", rate))
    rows = tables[table]
    observed = FAULT_CHECKS[key](rows, tables)
    assert observed == stats.faults[f"{table}.{fault}"] > 0
    assert sum(stats.faults.values()) == observed                   # nothing else was injected
    n = APPLICABLE[key](tables) if key in APPLICABLE else len(rows) - (observed if "duplicate" in fault else 0)
    assert _within(observed, rate, n), (observed, rate, n)


# -- links ---------------------------------------------------------------------------------------------
LINKED = {  # (system, table): [(id column, kind, name column or None)]
    ("business_registration", "doanh_nghiep"): [("so_cccd_nguoi_dai_dien", "citizen", "ho_ten_nguoi_dai_dien")],
    ("business_registration", "ho_kinh_doanh"): [("so_cccd_chu_ho", "citizen", "ho_ten_chu_ho")],
    ("land", "giay_chung_nhan"): [("so_cccd", "citizen", "ten_chu_su_dung"), ("ma_so_doanh_nghiep", "enterprise", None)],
    ("construction_permits", "giay_phep_xay_dung"): [("chu_dau_tu", "mixed", "ten_chu_dau_tu")],
}


@pytest.mark.parametrize("key", list(LINKED), ids=lambda k: k[1])
def test_broken_links_are_the_stated_share(key, tmp_path, true_citizens) -> None:
    name, table = key
    module = MODULES[name]
    rate = 0.05
    stats, tables = _generate(module, tmp_path / "l.db", fault_rates=_only(module, "link_broken", rate))
    directory = {e.tax_code for e in enterprise.enterprise_directory(SEED, SF)}
    rows = tables[table]
    good = total = 0
    for column, kind, _ in LINKED[key]:
        for r in rows:
            value = r[column]
            if kind == "citizen" and (r.get("loai_chu_su_dung", "ca_nhan") != "ca_nhan"):
                continue
            if kind == "enterprise" and r.get("loai_chu_su_dung") != "to_chuc":
                continue
            total += 1
            good += (value in true_citizens) or (value in directory)
    counted = {k.split(".", 1)[1]: v for k, v in stats.links.items() if k.startswith(f"{table}.")
               and not k.startswith(f"{table}.parcel")}
    ok = sum(v for k, v in counted.items() if not k.endswith("_broken"))
    broken = sum(v for k, v in counted.items() if k.endswith("_broken"))
    assert total == ok + broken and good == ok
    assert _within(broken, rate, total)
    assert 1 - good / total == pytest.approx(rate, abs=4 * math.sqrt(rate / total) + 0.01)


@pytest.mark.parametrize("key", list(LINKED), ids=lambda k: k[1])
def test_name_mismatches_are_counted(key, tmp_path, true_citizens) -> None:
    name, table = key
    module = MODULES[name]
    stats, tables = _generate(module, tmp_path / "n.db", fault_rates=_only(module, "link_name_mismatch", 0.05))
    column, _, name_column = LINKED[key][0]
    mismatched = sum(r[column] in true_citizens and r[name_column] != true_citizens[r[column]] for r in tables[table])
    assert mismatched == stats.links[f"{table}.citizen_name_mismatch"] > 0


def test_parcel_links_from_transactions_and_permits(tmp_path) -> None:
    stats, tables = _generate(land, tmp_path / "land.db", fault_rates=_only(land, "link_broken", 0.05))
    keys = {(p["ma_dvhc"], p["so_to_ban_do"], p["so_thua"]) for p in tables["thua_dat"]}
    missing = sum((t["ma_dvhc"], t["so_to_ban_do"], t["so_thua"]) not in keys for t in tables["giao_dich"])
    assert missing == stats.links["giao_dich.parcel_broken"] > 0
    pstats, ptables = _generate(permits, tmp_path / "gp.db", fault_rates=_only(permits, "link_broken", 0.05))
    missing = sum((r["ma_dvhc"], r["so_to_ban_do"], r["so_thua"]) not in keys for r in ptables["giay_phep_xay_dung"])
    assert missing == pstats.links["giay_phep_xay_dung.parcel_broken"] > 0


# -- snapshots ------------------------------------------------------------------------------------------
def test_snapshot_two_deletes_rows_and_changes_the_schema(tmp_path) -> None:
    rates = {**_zero(enterprise), "hard_delete": 0.05}
    one, two = tmp_path / "s1.db", tmp_path / "s2.db"
    s1 = enterprise.generate_snapshot(f"sqlite:///{one}", seed=SEED, sf=SF, snapshot=1, fault_rates=rates)
    s2 = enterprise.generate_snapshot(f"sqlite:///{two}", seed=SEED, sf=SF, snapshot=2, fault_rates=rates)
    cols1, cols2 = _columns(one, "doanh_nghiep"), _columns(two, "doanh_nghiep")
    change = enterprise.SNAPSHOT_SCHEMA_CHANGES["doanh_nghiep"]
    assert "dia_chi_tru_so" in cols1 and "dia_chi" not in cols1 and "email" not in cols1
    assert cols2 == [change["renamed"].get(c, c) for c in cols1] + list(change["added"])
    t1, t2 = _read(one), _read(two)
    truth = {e.tax_code for e in enterprise.enterprise_directory(SEED, SF)}
    # compare on the true key: faulty rows carry malformed codes, so map rows by position-independent content
    keys1 = {r["ma_so_doanh_nghiep"] for r in t1["doanh_nghiep"]}
    keys2 = {r["ma_so_doanh_nghiep"] for r in t2["doanh_nghiep"]}
    deleted = (keys1 - keys2) & truth
    assert len(deleted) == s2.faults["doanh_nghiep.hard_delete"] > 0
    assert "doanh_nghiep.hard_delete" not in s1.faults
    new = keys2 - keys1
    assert new and all(identifiers.is_valid_tax_code(c) and c.startswith("02") for c in new)
    assert new.isdisjoint(truth)
    emails = [r["email"] for r in t2["doanh_nghiep"] if r["email"]]
    assert 0.4 < len(emails) / len(t2["doanh_nghiep"]) < 0.9
    assert all(re.fullmatch(r"[a-z0-9.]+@[a-z0-9.]+", e) for e in emails)
    # surviving rows are exactly those of snapshot 1 (renamed column), except the month's updates
    updated = set(enterprise.BusinessRegistry(seed=SEED, sf=SF, fault_rates=rates, snapshot=2).updated)
    assert updated
    expected = [dict({("dia_chi" if k == "dia_chi_tru_so" else k): v for k, v in r.items()})
                for r in t1["doanh_nghiep"] if r["ma_so_doanh_nghiep"] not in deleted | updated]
    kept = [{k: v for k, v in r.items() if k != "email"} for r in t2["doanh_nghiep"]
            if r["ma_so_doanh_nghiep"] not in new | updated]
    assert kept == expected
    # events of deleted enterprises are gone, the month's events are appended
    ev1 = {r["ma_so_doanh_nghiep"] for r in t1["thay_doi_dang_ky"]}
    ev2 = {r["ma_so_doanh_nghiep"] for r in t2["thay_doi_dang_ky"]}
    assert ev2.isdisjoint(deleted) and (ev1 & deleted)
    kept_events = [r for r in t1["thay_doi_dang_ky"] if r["ma_so_doanh_nghiep"] not in deleted]
    assert t2["thay_doi_dang_ky"][:len(kept_events)] == kept_events          # same ids, same content
    assert len(t2["thay_doi_dang_ky"]) == len(kept_events) + len(updated)
    assert max(r["ngay_hieu_luc"] for r in t2["thay_doi_dang_ky"]) >= enterprise.AS_OF.isoformat()
    assert t1["ho_kinh_doanh"] == t2["ho_kinh_doanh"]
    assert s2.rows["doanh_nghiep"] == len(t2["doanh_nghiep"])


def test_snapshot_two_with_default_faults_keeps_the_other_rows_identical(tmp_path) -> None:
    """Faulty rows, duplicates and late events of surviving enterprises come out exactly as in snapshot 1."""
    rates = {"hard_delete": 0.05, "late_update": 0.0}
    one, two = tmp_path / "s1.db", tmp_path / "s2.db"
    enterprise.generate_snapshot(f"sqlite:///{one}", seed=SEED, sf=SF, snapshot=1, fault_rates=rates)
    enterprise.generate_snapshot(f"sqlite:///{two}", seed=SEED, sf=SF, snapshot=2, fault_rates=rates)
    t1, t2 = _read(one), _read(two)
    registry = enterprise.BusinessRegistry(seed=SEED, sf=SF, fault_rates=rates, snapshot=2)
    new = {e.tax_code for e in registry.new}
    rows1 = [tuple(r.values()) for r in t1["doanh_nghiep"]]
    rows2 = [tuple(v for k, v in r.items() if k != "email") for r in t2["doanh_nghiep"]
             if r["ma_so_doanh_nghiep"] not in new]
    position, unmatched = 0, []
    for row in rows2:                                   # an ordered subsequence of snapshot 1, but for updates
        try:
            position = rows1.index(row, position) + 1
        except ValueError:
            unmatched.append(row)
    assert unmatched and len(unmatched) <= 2 * len(registry.updated)
    assert all(r[-1][:10] >= enterprise.AS_OF.isoformat() for r in unmatched)   # ngay_cap_nhat of the update
    carried = len(rows2) - len(unmatched)
    assert len(rows1) - carried >= len(registry.deleted) + len(unmatched)  # deleted rows and pre-update rows
    ids1 = {r["id"]: r for r in t1["thay_doi_dang_ky"]}
    for r in t2["thay_doi_dang_ky"]:
        if r["id"] in ids1:
            assert r == ids1[r["id"]]                    # a surviving event keeps its id and content
    assert t1["ho_kinh_doanh"] == t2["ho_kinh_doanh"]
    again = tmp_path / "s2-again.db"                     # deterministic within one process too
    enterprise.generate_snapshot(f"sqlite:///{again}", seed=SEED, sf=SF, snapshot=2, fault_rates=rates)
    assert _read(again) == t2
