"""The five social-sector source systems: civil status, insurance, health, education, labour.

Everything runs at a small scale factor (a few thousand citizens) into SQLite files and
temporary folders. The checks are of three kinds: the forms (tables, files, encodings,
separators, the Excel title block, the insurance schema change), the truth behind them
(links to the true citizens, demographic and coverage rates, enrolment from the school-age
population, coherence between systems) and the faults (counted in GenerationStats as they
are in the data, at the configured rates).
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import io
import re
import sqlite3
from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kho import reference
from kho.sources import civil_status, education, health, insurance, labour
from kho.sources.base import GenerationStats, SourceSystem, fold_diacritics
from kho.sources import citizens, faults, identifiers
from kho.sources.citizens import WINDOW_END, WINDOW_START, age_on, true_people

SEED = 11
SF = 0.08                       # 8,000 citizens: seconds per system, enough for rates
YEARS_IN_WINDOW = ((WINDOW_END - WINDOW_START).days + 1) / 365.25
CURRENT_UNITS = set(reference.admin_unit_by_code())
MODULES = (civil_status, insurance, health, education, labour)


# -- fixtures --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def people() -> dict[str, citizens.Person]:
    """The true citizens by CCCD (fine at this scale; the generators never hold them)."""
    return {p.cccd: p for p in true_people(SEED, SF, cache=False)}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """All five systems generated once into one drop folder and two SQLite files."""
    root = tmp_path_factory.mktemp("social")
    result: dict[str, object] = {"root": root}
    result["civil_status"] = civil_status.generate(f"sqlite:///{root / 'civil_status.sqlite'}", seed=SEED, sf=SF)
    result["health"] = health.generate(f"sqlite:///{root / 'health.sqlite'}", seed=SEED, sf=SF)
    result["insurance"] = insurance.generate(root, seed=SEED, sf=SF, link_enterprises=False)
    result["labour"] = labour.generate(root, seed=SEED, sf=SF)
    result["education"] = education.generate(root, seed=SEED, sf=SF)
    return result


def _sqlite(root: Path, name: str) -> sqlite3.Connection:
    return sqlite3.connect(root / f"{name}.sqlite")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _insurance_frames(root: Path) -> dict[str, pd.DataFrame]:
    folder = root / "insurance"
    return {p.stem[-6:]: pd.read_csv(p, encoding="utf-8-sig", dtype=str, keep_default_na=False)
            for p in sorted(folder.glob("bhxh_tham_gia_*.csv"))}


# -- the contract ------------------------------------------------------------------------

@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_each_module_declares_its_system_and_generate(module) -> None:
    assert isinstance(module.SYSTEM, SourceSystem)
    assert module.SYSTEM.form in ("database", "file_drop")
    assert (module.SYSTEM.engine == "postgresql") == (module.SYSTEM.form == "database")
    params = inspect.signature(module.generate).parameters
    for name in ("seed", "sf", "fault_rates"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(params)[0] == "target"


def test_unknown_fault_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown fault types"):
        labour.generate(tmp_path, seed=1, sf=0.01, fault_rates={"typo_in_everything": 0.5})


def test_row_counts_in_stats_equal_the_data(out) -> None:
    root = out["root"]
    for name in ("civil_status", "health"):
        stats: GenerationStats = out[name]
        with _sqlite(root, name) as con:
            for table, rows in stats.rows.items():
                assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows, (name, table)
    frames = _insurance_frames(root)
    assert sum(len(f) for f in frames.values()) == out["insurance"].rows["bhxh_tham_gia"]
    labour_rows = sum(len(pd.read_csv(p, sep=";", dtype=str)) for p in (root / "labour").glob("lao_dong_*.csv"))
    assert labour_rows == out["labour"].rows["lao_dong_viec_lam"]
    for name in ("civil_status", "health"):
        manifest = (root / f"{name}.manifest.json").read_text(encoding="utf-8")
        assert f'"total_rows": {out[name].total_rows}' in manifest


# -- the shared citizen stream -----------------------------------------------------------

def test_true_people_cache_gives_the_same_stream(tmp_path: Path) -> None:
    direct = list(true_people(SEED, 0.02, cache=False))
    built = list(true_people(SEED, 0.02, cache=tmp_path))            # builds the cache while streaming
    assert len(list(tmp_path.glob("citizens-*.arrow"))) == 1
    cached = list(true_people(SEED, 0.02, cache=tmp_path))           # reads it
    assert direct == built == cached
    assert [p.idx for p in direct] == list(range(len(direct)))
    assert all(len(p.life) == citizens.LIFE_DRAWS for p in direct)


def test_unknown_cccd_matches_no_citizen(people) -> None:
    rng = citizens.block_rng("test", 1, "unknown", 0)
    made = {identifiers.unknown_cccd(cccd, rng) for cccd in list(people)[:3000]}
    assert all(len(c) == 12 and c.isdigit() for c in made)
    assert not made & set(people)


def test_death_is_shared_and_near_six_per_thousand(people) -> None:
    deaths = [citizens.death_date(p) for p in people.values()]
    died = [d for d in deaths if d]
    rate = len(died) / len(people) / YEARS_IN_WINDOW
    assert 0.0035 < rate < 0.009
    assert all(WINDOW_START <= d <= WINDOW_END for d in died)
    assert all(d >= p.birth for p, d in zip(people.values(), deaths) if d)


# -- civil status ----------------------------------------------------------------------------

def test_civil_status_rates_and_plausible_people(out, people) -> None:
    with _sqlite(out["root"], "civil_status") as con:
        births = con.execute("SELECT so_dinh_danh_tre, ngay_sinh, so_cccd_me, so_cccd_cha, ngay_dang_ky "
                             "FROM khai_sinh").fetchall()
        marriages = con.execute("SELECT so_cccd_chong, so_cccd_vo, ngay_dang_ky FROM ket_hon").fetchall()
        deaths = con.execute("SELECT so_cccd_nguoi_mat, ngay_mat FROM khai_tu").fetchall()
    per_year = len(people) * YEARS_IN_WINDOW
    assert 0.010 < len(births) / per_year < 0.018       # crude birth rate ~14 per 1,000
    assert 0.005 < len(marriages) / per_year < 0.009    # ~7 per 1,000
    assert 0.0035 < len(deaths) / per_year < 0.009      # ~6 per 1,000
    checked = 0
    for child, born, mother, father, _ in births:
        if child in people and mother in people and born and born == people[child].birth.isoformat():
            m = people[mother]
            assert m.sex == "F" and 18 <= age_on(m.birth, people[child].birth) <= 45
            if father in people:
                assert people[father].sex == "M"
            checked += 1
    assert checked > 0.9 * len(births)
    for groom, bride, day in marriages:
        if groom in people and bride in people and day and day[:4] < "2030":
            assert people[groom].sex == "M" and people[bride].sex == "F"
            assert age_on(people[groom].birth, date.fromisoformat(day)) >= 20
            assert age_on(people[bride].birth, date.fromisoformat(day)) >= 18


def test_civil_status_links_match_the_stats(out, people) -> None:
    stats: GenerationStats = out["civil_status"]
    with _sqlite(out["root"], "civil_status") as con:
        refs = [r[0] for table, cols in civil_status.CivilStatusGenerator._CCCD_COLUMNS.items()
                for col in cols for r in con.execute(f"SELECT {col} FROM {table}")
                if r[0] is not None or col != "so_cccd_cha"]
    total = sum(stats.links.values())
    dup = stats.faults["exact_duplicate"] + stats.faults["near_duplicate"]
    assert total <= len(refs) <= total + 3 * dup          # duplicated rows repeat their references
    matched = sum(1 for r in refs if r in people)
    expected_broken = sum(faults.LINK_FAULT_RATES.values())
    assert matched / len(refs) == pytest.approx(1 - expected_broken, abs=0.015)
    broken = stats.links["citizen_unknown"] + stats.links["citizen_typo"]
    assert broken / total == pytest.approx(expected_broken - faults.LINK_FAULT_RATES["link_birth_mismatch"],
                                           abs=0.01)


def test_civil_status_fault_counts_are_what_the_tables_hold(out) -> None:
    stats: GenerationStats = out["civil_status"]
    with _sqlite(out["root"], "civil_status") as con:
        old_units = sum(con.execute(f"SELECT count(*) FROM {t} WHERE {c} NOT IN ({','.join('?' * len(CURRENT_UNITS))})",
                                    sorted(CURRENT_UNITS)).fetchone()[0]
                        for t, c in (("khai_sinh", "ma_dvhc_dang_ky"), ("ket_hon", "ma_dvhc"), ("khai_tu", "ma_dvhc")))
        late = con.execute("SELECT count(*) FROM khai_sinh WHERE julianday(ngay_dang_ky) - julianday(ngay_sinh) > 365"
                           ).fetchone()[0]
        exact = 0
        for table, cols in civil_status.TABLE_COLUMNS.items():
            rest = ", ".join(c for c in cols if c != "id")
            exact += con.execute(f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {table} "
                                 f"GROUP BY {rest} HAVING count(*) > 1)").fetchone()[0]
        pre_reform = con.execute("SELECT count(*) FROM khai_sinh WHERE ngay_dang_ky < '2025-07-01'").fetchone()[0]
    # duplicates copy their original's unit code, so a duplicated old code is counted once in stats
    assert stats.faults["old_admin_unit"] <= old_units <= stats.faults["old_admin_unit"] + stats.faults["exact_duplicate"] + stats.faults["near_duplicate"]
    assert stats.faults["old_admin_unit"] > 0 and pre_reform > 0
    assert late >= 1
    assert exact >= stats.faults["exact_duplicate"]


def test_civil_status_is_deterministic(tmp_path: Path, out) -> None:
    again = civil_status.generate(f"sqlite:///{tmp_path / 'again.sqlite'}", seed=SEED, sf=SF)
    assert again.as_dict() | {"seconds": 0} == out["civil_status"].as_dict() | {"seconds": 0}
    with _sqlite(out["root"], "civil_status") as a, sqlite3.connect(tmp_path / "again.sqlite") as b:
        for table in civil_status.TABLE_COLUMNS:
            assert a.execute(f"SELECT * FROM {table} ORDER BY id").fetchall() == \
                b.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
    other = civil_status.CivilStatusGenerator(seed=SEED + 1, sf=0.02).events()
    assert other != civil_status.CivilStatusGenerator(seed=SEED, sf=0.02).events()


# -- insurance --------------------------------------------------------------------------------

def test_insurance_files_bom_crlf_and_schema_change(out) -> None:
    folder = out["root"] / "insurance"
    files = sorted(folder.glob("bhxh_tham_gia_*.csv"))
    assert [p.stem[-6:] for p in files] == ["202511", "202512"] + [f"2026{m:02d}" for m in range(1, 11)]
    for path in files:
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw[:300]
        header = raw[3:raw.index(b"\r\n")].decode()
        if path.stem[-6:] < insurance.SCHEMA_CHANGE_MONTH.replace("-", ""):
            assert tuple(header.split(",")) == insurance.COLUMNS_V1
        else:
            assert tuple(header.split(",")) == insurance.COLUMNS_V2
    v1, v2 = insurance.COLUMNS_V1, insurance.COLUMNS_V2
    assert set(v2) - set(v1) == {"ma_xa", "so_dien_thoai"} and set(v1) - set(v2) == {"ma_dvhc"}
    assert out["insurance"].faults["schema_change"] == 1
    frames = _insurance_frames(out["root"])
    phones = frames["202610"]["so_dien_thoai"]
    assert phones.str.fullmatch(r"0[35789]\d{8}").mean() > 0.6
    assert (frames["202604"]["ma_dvhc"] == "").sum() == 0


def test_insurance_coverage_codes_and_links(out, people) -> None:
    frame = _insurance_frames(out["root"])["202610"]
    codes = frame["ma_so_bhxh"]
    assert codes.str.fullmatch(r"\d{10}").mean() > 0.99
    covered = set(frame["so_cccd"]) & set(people)
    alive = [p for p in people.values() if (citizens.death_date(p) or date.max) >= date(2026, 10, 1)]
    assert len(covered) / len(alive) == pytest.approx(0.935, abs=0.03)     # health insurance ~93.5%
    working = {p.cccd for p in alive if 15 <= age_on(p.birth, date(2026, 10, 1)) <= 61}
    social = set(frame.loc[frame.loai_doi_tuong.isin(["bat_buoc", "tu_nguyen"]), "so_cccd"]) & working
    assert len(social) / len(working) == pytest.approx(0.40, abs=0.06)      # social insurance ~40%
    assert set(frame.loai_doi_tuong) == set(insurance.CATEGORIES)
    employees = frame[frame.loai_doi_tuong == "bat_buoc"]
    assert employees.ma_don_vi.str.fullmatch(r"\d{10}").all()
    assert all(identifiers.tax_check_digit(c[:9]) == int(c[9]) for c in employees.ma_don_vi)
    assert (frame.loc[frame.loai_doi_tuong != "bat_buoc", "ma_don_vi"] == "").all()
    stats = out["insurance"]
    linked = frame["so_cccd"].isin(people).mean()
    assert linked == pytest.approx(1 - sum(faults.LINK_FAULT_RATES.values())
                                   - insurance.DEFAULT_FAULT_RATES["missing_value"] * 0.7
                                   - insurance.DEFAULT_FAULT_RATES["invalid_identifier"] * 0.5, abs=0.012)
    assert sum(stats.links.values()) == stats.rows["bhxh_tham_gia"]


def test_insurance_hard_deletes_and_duplicates(out) -> None:
    frames = _insurance_frames(out["root"])
    months = sorted(frames)
    gone = sum(len(set(frames[a].ma_so_bhxh) - set(frames[b].ma_so_bhxh)) for a, b in zip(months, months[1:]))
    assert gone > 0
    assert gone == pytest.approx(out["insurance"].faults["hard_delete"], rel=0.1)
    frame = frames["202610"]
    repeated = frame.duplicated().sum()
    assert repeated > 0
    two_codes = frame[frame.so_cccd != ""].groupby("so_cccd").ma_so_bhxh.nunique()
    assert (two_codes > 1).sum() > 0                     # a second BHXH code for the same person


def test_insurance_fault_rate_within_tolerance(tmp_path: Path, people) -> None:
    stats = insurance.generate(tmp_path, seed=SEED, sf=0.05, link_enterprises=False,
                               fault_rates={"unaccented_name": 0.05, "old_admin_unit": 0.03})
    frame = _insurance_frames(tmp_path)["202603"]
    true_name = {p.cccd: p.name for p in people.values()}
    known = frame[frame.so_cccd.isin(true_name)]
    folded = (known.ho_ten == known.so_cccd.map(lambda c: fold_diacritics(true_name[c]))) & \
             (known.ho_ten != known.so_cccd.map(true_name))
    assert folded.mean() == pytest.approx(0.05, abs=0.012)
    assert (~frame.ma_dvhc.isin(CURRENT_UNITS)).mean() == pytest.approx(0.03, abs=0.01)
    rows = stats.rows["bhxh_tham_gia"]
    assert stats.faults["unaccented_name"] / rows == pytest.approx(0.05, abs=0.012)


def test_insurance_is_byte_deterministic(tmp_path: Path, out) -> None:
    insurance.generate(tmp_path, seed=SEED, sf=SF, link_enterprises=False)
    assert _digest(tmp_path / "insurance") == _digest(out["root"] / "insurance")


def test_insurance_employers_are_active_enterprises(tmp_path: Path) -> None:
    enterprise = pytest.importorskip("kho.sources.enterprise")
    insurance.generate(tmp_path, seed=SEED, sf=0.05, months=1)
    frame = next(iter(_insurance_frames(tmp_path).values()))
    active = {e.tax_code: e for e in enterprise.enterprise_directory(SEED, 0.05) if e.status == "dang_hoat_dong"}
    employees = frame.loc[frame.loai_doi_tuong == "bat_buoc", "ma_don_vi"]
    employers = set(employees)
    in_register = employers & set(active)
    assert employees.isin(in_register).mean() > 0.75
    # the others are public agencies (sections O, P, Q) or employers of sections with no
    # enterprise: generated codes from a sequence range business registration never reaches
    assert all(int(c[2:9]) >= 9_000_000 for c in employers - in_register)
    assert all(labour.vsic_section(active[c].vsic_code) not in labour.PUBLIC_SECTIONS for c in in_register)


# -- labour and poverty -------------------------------------------------------------------------

def test_labour_files_read_with_their_separators(out) -> None:
    folder = out["root"] / "labour"
    quarter = folder / "lao_dong_viec_lam_2026Q3.csv"
    assert not quarter.read_bytes().startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(quarter, sep=";", dtype=str, keep_default_na=False)
    assert tuple(frame.columns) == labour.LABOUR_COLUMNS
    assert set(frame.tinh_trang_viec_lam) <= {"co_viec", "that_nghiep", "ngoai_luc_luong", ""}
    employed = frame[frame.tinh_trang_viec_lam == "co_viec"]
    assert employed.nganh_nghe.str.fullmatch(r"[A-U]").mean() > 0.98
    assert (frame.loc[frame.tinh_trang_viec_lam != "co_viec", "nganh_nghe"].str.len() <= 2).mean() > 0.98
    poverty = folder / "ho_ngheo_can_ngheo_2025.csv"
    assert poverty.read_bytes().startswith(b"\xef\xbb\xbf")
    households = pd.read_csv(poverty, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert tuple(households.columns) == labour.POVERTY_COLUMNS
    assert set(households.loai) <= {"ngheo", "can_ngheo"} and (households.nam == "2025").all()
    with open(quarter, encoding="utf-8", newline="") as f:     # the standard library reads it too
        assert all(len(row) == len(labour.LABOUR_COLUMNS) for row in csv.reader(f, delimiter=";"))


def test_labour_rates_follow_the_seed(out, people) -> None:
    frame = pd.read_csv(out["root"] / "labour" / "lao_dong_viec_lam_2026Q3.csv", sep=";", dtype=str,
                        keep_default_na=False)
    status = frame.tinh_trang_viec_lam
    force = status.isin(["co_viec", "that_nghiep"]).sum()
    assert force / len(people) == pytest.approx(0.495, abs=0.03)           # 1,050.6 k of 2.124 m
    assert (status == "that_nghiep").sum() / force == pytest.approx(0.0195, abs=0.01)
    ages = frame.so_cccd.map(lambda c: age_on(people[c].birth, date(2026, 10, 1)) if c in people else None)
    assert ages.dropna().min() >= 15
    households = pd.read_csv(out["root"] / "labour" / "ho_ngheo_can_ngheo_2024.csv", encoding="utf-8-sig", dtype=str)
    heads = [people[c] for c in households.so_cccd_chu_ho if c in people]
    assert heads and all(age_on(p.birth, date(2024, 12, 31)) >= 25 for p in heads)
    assert len(households) / (len(people) / 3.3) == pytest.approx(0.013, abs=0.008)   # poor + near-poor households
    old_hp = [p for p in heads if p.unit not in labour._hai_duong_units()]
    poor = set(households.loc[households.loai == "ngheo", "so_cccd_chu_ho"])
    assert not {p.cccd for p in old_hp} & poor                               # old Hải Phòng: no poor household in 2024


def test_labour_and_insurance_agree_on_jobs(out, people) -> None:
    """An employee with compulsory insurance in the Sept 2026 extract is employed in 2026Q3
    with unemployment insurance (unless a civil servant): one work model for both."""
    work = pd.read_csv(out["root"] / "labour" / "lao_dong_viec_lam_2026Q3.csv", sep=";", dtype=str,
                       keep_default_na=False).drop_duplicates("so_cccd").set_index("so_cccd")
    ins = _insurance_frames(out["root"])["202609"]
    employees = set(ins.loc[ins.loai_doi_tuong == "bat_buoc", "so_cccd"]) & set(work.index) & set(people)
    assert len(employees) > 200
    rows = work.loc[sorted(employees)]
    assert (rows.tinh_trang_viec_lam == "co_viec").mean() > 0.97
    insured = rows[rows.nganh_nghe != "O"].bao_hiem_that_nghiep
    assert (insured == "1").mean() > 0.97


def test_labour_workers_do_not_change_the_bytes(tmp_path: Path) -> None:
    """Blocks carry their own random streams: one process or two, the same files."""
    cache = tmp_path / "cache"
    labour.generate(tmp_path / "one", seed=SEED, sf=0.7, workers=1, citizen_cache=cache)
    labour.generate(tmp_path / "two", seed=SEED, sf=0.7, workers=2, citizen_cache=cache)
    assert citizens.citizen_blocks(0.7) == 2
    assert _digest(tmp_path / "one" / "labour") == _digest(tmp_path / "two" / "labour")


# -- health ------------------------------------------------------------------------------------

def test_health_tables_codes_and_volumes(out, people) -> None:
    with _sqlite(out["root"], "health") as con:
        facilities = con.execute("SELECT ma_co_so, tuyen, loai, ma_dvhc FROM co_so_kham_chua_benh").fetchall()
        reports = con.execute("SELECT ma_co_so, thang, co_bhyt, so_luot_kham, so_luot_dieu_tri_noi_tru "
                              "FROM luot_kham").fetchall()
        visits = con.execute("SELECT so_cccd, ngay_sinh, ngay_kham, ma_benh, co_bhyt FROM luot_kham_chi_tiet").fetchall()
    assert all(re.fullmatch(r"3[01]\d{3}", code) for code, *_ in facilities)
    assert {t for _, t, _, _ in facilities} == {"thanh_pho", "khu_vuc", "xa"}
    assert {k for _, _, k, _ in facilities} == {"benh_vien", "trung_tam_y_te", "tram_y_te", "phong_kham"}
    assert sum(1 for _, _, k, _ in facilities if k == "tram_y_te") >= len(CURRENT_UNITS)
    assert {r[2] for r in reports} == {0, 1} and {v[4] for v in visits} == {0, 1}
    good = [r for r in reports if re.fullmatch(r"\d{4}-\d{2}", r[1]) and r[3] >= r[4] >= 0]
    assert len(good) / len(reports) > 0.99
    total = sum(r[3] for r in good)
    assert len(visits) / health.SAMPLE_SHARE == pytest.approx(total, rel=0.12)   # sample x 50 = the reports
    per_person_year = total / len(people) / YEARS_IN_WINDOW
    assert 1.2 < per_person_year < 2.6
    assert sum(1 for v in visits if v[3] and re.fullmatch(r"[A-Z]\d{2}(\.\d)?", v[3])) / len(visits) > 0.98
    linked = [v for v in visits if v[0] in people]
    assert len(linked) / len(visits) == pytest.approx(0.985, abs=0.02)
    mismatched = sum(1 for cccd, born, *_ in linked if born != people[cccd].birth.isoformat())
    assert mismatched <= 0.02 * len(linked)              # the birth-mismatch link faults
    for cccd, born, day, *_ in linked:
        p = people[cccd]
        died = citizens.death_date(p)
        assert day >= p.birth.isoformat() and (died is None or day <= died.isoformat())


def test_health_late_reports_and_deleted_clinics(out) -> None:
    stats = out["health"]
    with _sqlite(out["root"], "health") as con:
        orphans = con.execute("SELECT count(DISTINCT ma_co_so) FROM luot_kham WHERE ma_co_so NOT IN "
                              "(SELECT ma_co_so FROM co_so_kham_chua_benh)").fetchone()[0]
        last = con.execute("SELECT count(DISTINCT ma_co_so) FROM luot_kham WHERE thang = '2026-10'").fetchone()[0]
        first = con.execute("SELECT count(DISTINCT ma_co_so) FROM luot_kham WHERE thang = '2024-01'").fetchone()[0]
    assert orphans == stats.faults["hard_delete"]
    assert last < first                                  # closed clinics and late reports
    assert stats.faults["late_report"] > 0


# -- education ------------------------------------------------------------------------------------

def test_education_workbook_layout(out) -> None:
    from openpyxl import load_workbook

    path = out["root"] / "education" / "truong_hoc_2025.xlsx"
    wb = load_workbook(path)
    assert wb.sheetnames == ["Truong", "SiSo"]
    ws = wb["Truong"]
    assert ws["A4"].value.startswith("DANH SÁCH CƠ SỞ GIÁO DỤC NĂM HỌC 2025-2026")
    assert "A7:A8" in {str(r) for r in ws.merged_cells.ranges}
    assert [c.value for c in ws[education.HEADER_ROW]][1:] == list(education.SCHOOL_COLUMNS)
    naive = pd.read_excel(path, sheet_name="Truong")
    assert "ma_truong" not in naive.columns                 # a naive reader gets the title block
    schools = pd.read_excel(path, sheet_name="Truong", header=education.HEADER_ROW - 1, dtype=str
                            ).drop(columns="Unnamed: 0")
    assert tuple(schools.columns) == education.SCHOOL_COLUMNS
    assert schools.ma_truong.str.fullmatch(r"3[01][1-4]\d{5}").all()
    assert set(schools.cap_hoc) >= set(education.LEVELS)
    assert {"cong_lap"} <= set(schools.loai_hinh.dropna())
    enrol = pd.read_excel(path, sheet_name="SiSo", header=education.HEADER_ROW - 1).drop(columns="Unnamed: 0")
    assert tuple(enrol.columns) == education.ENROLMENT_COLUMNS
    rows = Counter()
    for year in education.DEFAULT_YEARS:
        book = load_workbook(out["root"] / "education" / f"truong_hoc_{year}.xlsx", read_only=True)
        for sheet in ("Truong", "SiSo"):
            rows[sheet] += book[sheet].max_row - education.DATA_START_ROW + 1
    assert rows == out["education"].rows


def test_education_enrolment_follows_school_age_citizens(out, people) -> None:
    path = out["root"] / "education" / "truong_hoc_2025.xlsx"
    schools = pd.read_excel(path, sheet_name="Truong", header=7, dtype=str).drop(columns="Unnamed: 0")
    enrol = pd.read_excel(path, sheet_name="SiSo", header=7, dtype=str).drop(columns="Unnamed: 0")
    enrol = enrol.drop_duplicates()
    enrol["n"] = pd.to_numeric(enrol.so_hoc_sinh.str.replace(".", "", regex=False).str.strip(), errors="coerce")
    start = date(2025, 9, 5)

    def alive(p):
        return (citizens.death_date(p) or date.max) > start

    for grade, born in (("Lớp 1", 2019), ("Lớp 7", 2013)):   # grade k: born in year - 5 - k
        children = sum(1 for p in people.values() if p.birth.year == born and alive(p))
        pupils = enrol.loc[enrol.khoi == grade, "n"].sum()
        assert pupils / children == pytest.approx(0.995 if grade == "Lớp 1" else 0.97, abs=0.03)
    # per unit: primary pupils never exceed the unit's children of primary age
    unit_of = dict(zip(schools.ma_truong, schools.ma_dvhc))
    primary = enrol[enrol.khoi.isin([f"Lớp {k}" for k in range(1, 6)])].copy()
    primary["unit"] = primary.ma_truong.map(unit_of)
    by_unit = primary.dropna(subset=["unit"]).groupby("unit").n.sum()
    kids = Counter(p.unit for p in people.values() if 2015 <= p.birth.year <= 2019 and alive(p))
    for unit, n in by_unit.items():
        if unit in CURRENT_UNITS:
            assert n <= kids[unit] + 2


def test_education_is_byte_deterministic_and_has_hard_deletes(tmp_path: Path, out) -> None:
    education.generate(tmp_path, seed=SEED, sf=SF)
    assert _digest(tmp_path / "education") == _digest(out["root"] / "education")
    codes = {}
    for year in education.DEFAULT_YEARS:
        frame = pd.read_excel(out["root"] / "education" / f"truong_hoc_{year}.xlsx", sheet_name="Truong",
                              header=7, dtype=str)
        codes[year] = set(frame.ma_truong)
    assert codes[2024] - codes[2025]                      # merged schools are gone the next year
    assert out["education"].faults["hard_delete"] > 0


def test_labour_and_health_deterministic(tmp_path: Path, out) -> None:
    labour.generate(tmp_path, seed=SEED, sf=SF)
    assert _digest(tmp_path / "labour") == _digest(out["root"] / "labour")
    health.generate(f"sqlite:///{tmp_path / 'health.sqlite'}", seed=SEED, sf=SF)
    with _sqlite(out["root"], "health") as a, sqlite3.connect(tmp_path / "health.sqlite") as b:
        for table in health.TABLE_COLUMNS:
            assert a.execute(f"SELECT * FROM {table}").fetchall() == b.execute(f"SELECT * FROM {table}").fetchall()


def test_vietnamese_text_survives_every_format(out) -> None:
    with _sqlite(out["root"], "civil_status") as con:
        names = [r[0] for r in con.execute("SELECT ho_ten_tre FROM khai_sinh")]
    assert any("ễ" in n or "ư" in n for n in names)
    frame = pd.read_csv(out["root"] / "labour" / "lao_dong_viec_lam_2026Q3.csv", sep=";", dtype=str)
    assert frame.gioi_tinh.isin(["Nam", "Nữ"]).all()
    raw = (out["root"] / "insurance" / "bhxh_tham_gia_202610.csv").read_text(encoding="utf-8-sig")
    assert "Nguyễn" in raw
    first = next(csv.reader(io.StringIO(raw)))
    assert first[0] == "ma_so_bhxh"
