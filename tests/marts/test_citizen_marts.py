"""The citizen marts against independent computations on the generated source systems.

Each test recomputes one headline number of a mart straight from the files the sector systems
produced (``city.sources_dir``: the residence and civil-status SQLite databases, the BHXH and
labour CSV drops) with sqlite3 and csv, reproducing only the cleaning that decides that
number, written out here from the systems' documentation rather than imported from
kho.standardise or kho.processed: rows the quarantine rejects are dropped, pre-2025 unit codes
are mapped through kho/reference/admin_unit_crosswalk.csv (a split unit cannot be decided and is
rejected), records entered twice are counted once, and people are tied across systems by their
CCCD (what citizen_link does with pseudonyms). A last test checks that no citizen mart carries a
clear identifier.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.spark]

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "kho" / "reference"
MIN_DATE = date(1900, 1, 1)
CITY = "31"


# -- reference catalogues -------------------------------------------------------------------------

@dataclass(frozen=True)
class Crosswalk:
    new_code: str
    split: bool
    candidates: tuple[str, ...]


def _reference_rows(name: str) -> list[dict[str, str]]:
    with open(REFERENCE_DIR / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=1)
def current_units() -> frozenset[str]:
    return frozenset(row["unit_code"] for row in _reference_rows("admin_units.csv"))


@lru_cache(maxsize=1)
def crosswalk() -> dict[str, Crosswalk]:
    return {row["old_unit_code"]: Crosswalk(row["new_unit_code"], row["split"] == "true",
                                            tuple(row["candidate_unit_codes"].split(";")))
            for row in _reference_rows("admin_unit_crosswalk.csv")}


@lru_cache(maxsize=1)
def cccd_prefixes() -> frozenset[str]:
    return frozenset(row["prefix"] for row in _reference_rows("cccd_province_prefixes.csv"))


def normalised_code(code: str | None) -> str | None:
    text = (code or "").strip()
    if not text:
        return None
    return text.zfill(5) if text.isdigit() else text


def unit_of(code: str | None) -> str | None:
    """A current unit code, a pre-2025 code merged whole into one unit, else None (unknown or split)."""
    text = normalised_code(code)
    if text is None:
        return None
    if text in current_units():
        return text
    entry = crosswalk().get(text)
    if entry is None or entry.split or not entry.new_code:
        return None
    return entry.new_code


# -- values as the sector systems write them -----------------------------------------------------

def parse_day(text: str | None, latest: date) -> date | None:
    """An ISO or dd/mm/yyyy date between 1900-01-01 and ``latest``; None otherwise."""
    value = (text or "").strip()
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value) or re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", value)
    if not match:
        return None
    parts = [int(p) for p in match.groups()]
    year, month, day = parts if len(match.group(1)) == 4 else parts[::-1]
    try:
        parsed = date(year, month, day)
    except ValueError:
        return None
    return parsed if MIN_DATE <= parsed <= latest else None


def parse_month(text: str | None) -> date | None:
    match = re.fullmatch(r"(\d{2})/(\d{4})", (text or "").strip())
    if not match or not 1 <= int(match.group(1)) <= 12:
        return None
    return date(int(match.group(2)), int(match.group(1)), 1)


def century_digit(birth: date, sex: str) -> int:
    return (birth.year // 100 - 19) * 2 + (1 if sex == "F" else 0)


def strict_cccd(value: str | None, birth: date, sex: str) -> str | None:
    """The residence register's rule: 12 digits as typed, a known province, century/sex digit and
    birth year agreeing with the record."""
    text = (value or "").strip()
    if not (len(text) == 12 and text.isascii() and text.isdigit() and text[:3] in cccd_prefixes()):
        return None
    if int(text[3]) != century_digit(birth, sex) or text[4:6] != f"{birth.year % 100:02d}":
        return None
    return text


def repaired_cccd(value: str | None) -> str | None:
    """The department registers' rule: separators removed, a letter O read as 0, a leading zero a
    spreadsheet dropped put back; usable when that gives 12 digits of a known province."""
    text = re.sub(r"[\s.\-_/]", "", (value or "").strip())
    text = re.sub(r"[Oo]", "0", text)
    if re.fullmatch(r"[1-9]\d{10}", text):
        text = "0" + text
    return text if re.fullmatch(r"\d{12}", text) and text[:3] in cccd_prefixes() else None


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def last_day(month_start: date) -> date:
    following = date(month_start.year + month_start.month // 12, month_start.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


# -- residence register ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Resident:
    unit: str
    birth: date
    sex: str


SEXES = {"nam": "M", "nữ": "F", "nu": "F"}


def residents(sources: Path, as_of: date) -> dict[str, Resident]:
    """Valid rows of cong_dan by CCCD: a row the quarantine rejects (birth date, sex, CCCD, name,
    unit) is left out; exact and near duplicates carry the same CCCD and collapse."""
    with sqlite3.connect(sources / "population.sqlite") as con:
        rows = con.execute("SELECT so_dinh_danh, ho_ten, ngay_sinh, gioi_tinh, ma_dvhc FROM cong_dan").fetchall()
    out: dict[str, Resident] = {}
    for cccd, name, born, sex_text, unit_code in rows:
        birth = parse_day(born, as_of)
        sex = SEXES.get(unicodedata.normalize("NFC", (sex_text or "").strip()).lower())
        if birth is None or sex is None or not (name or "").strip():
            continue
        key = strict_cccd(cccd, birth, sex)
        unit = unit_of(unit_code)
        if key is None or unit is None:
            continue
        out[key] = Resident(unit, birth, sex)
    return out


# -- civil-status registers ------------------------------------------------------------------------

@dataclass(frozen=True)
class Registration:
    unit: str
    registered: date
    person_cccd: str | None = None
    person_birth: date | None = None
    event_day: date | None = None


def registration_number(text: str | None) -> str | None:
    value = re.sub(r"\s+", "", text or "")
    value = re.sub(r"^0+(\d)", r"\1", value)
    return value if re.fullmatch(r"\d+/\d{4}", value) else None


def registrations(sources: Path, table: str, as_of: date) -> dict[tuple[str, str], Registration]:
    """Valid registrations of one register keyed by (registering unit, number): rejected are an
    unusable number or unit, a missing or future registration date, a missing event date, and a
    registration dated before its event. A registration entered twice keeps its key."""
    columns = {
        "khai_sinh": "so_dang_ky, ma_dvhc_dang_ky, ngay_dang_ky, ngay_sinh, so_dinh_danh_tre, ngay_sinh",
        "khai_tu": "so_dang_ky, ma_dvhc, ngay_dang_ky, ngay_mat, so_cccd_nguoi_mat, ngay_sinh_nguoi_mat",
        "ket_hon": "so_dang_ky, ma_dvhc, ngay_dang_ky, ngay_dang_ky, NULL, NULL",
    }[table]
    with sqlite3.connect(sources / "civil_status.sqlite") as con:
        rows = con.execute(f"SELECT {columns} FROM {table}").fetchall()
    out: dict[tuple[str, str], Registration] = {}
    for number_text, unit_code, registered_text, event_text, cccd, born_text in rows:
        number, unit = registration_number(number_text), unit_of(unit_code)
        registered, event = parse_day(registered_text, as_of), parse_day(event_text, as_of)
        if number is None or unit is None or registered is None or event is None or registered < event:
            continue
        born = parse_day(born_text, as_of)
        if born is not None and born > event:
            born = None            # a birth after the death: the register's own date is wrong
        out[(unit, number)] = Registration(unit, registered, repaired_cccd(cccd), born, event)
    return out


def monthly_counts(regs: dict[tuple[str, str], Registration]) -> Counter:
    return Counter((r.unit, f"{r.registered:%Y-%m}") for r in regs.values())


def registered_deaths(sources: Path, as_of: date, people: dict[str, Resident]) -> dict[str, date]:
    """Residents with a death registration that citizen_link would call 'matched': the
    deceased's CCCD is a resident's and the register's birth date, where usable, is theirs."""
    deaths: dict[str, date] = {}
    for reg in registrations(sources, "khai_tu", as_of).values():
        person = people.get(reg.person_cccd or "")
        if person is None or (reg.person_birth is not None and reg.person_birth != person.birth):
            continue
        assert reg.event_day is not None
        deaths[reg.person_cccd] = min(reg.event_day, deaths.get(reg.person_cccd, reg.event_day))
    return deaths


def residents_in_month(people: dict[str, Resident], deaths: dict[str, date], month_start: date) -> dict[str, Resident]:
    """Born by the month's end, no death registered before it began."""
    end = last_day(month_start)
    return {c: r for c, r in people.items()
            if r.birth <= end and not (c in deaths and deaths[c] < month_start)}


def working_age(person: Resident, day: date) -> bool:
    return 15 <= age_on(person.birth, day) <= (60 if person.sex == "M" else 56)


# -- BHXH and labour drops --------------------------------------------------------------------------

CATEGORIES = {"bat_buoc", "tu_nguyen", "ho_gia_dinh", "ngan_sach_dong", "hoc_sinh_sinh_vien", "huu_tri"}


def insured_people(sources: Path, month_start: date) -> tuple[set[str], set[str]]:
    """(health-insured, social-insured) CCCDs of the month's extract. Rejected: a BHXH code that
    is not 10 digits, an unknown category, an unreadable or reversed period. Health: every
    category but voluntary social insurance; social: compulsory and voluntary."""
    path = sources / "insurance" / f"bhxh_tham_gia_{month_start:%Y%m}.csv"
    assert path.exists(), path
    health: set[str] = set()
    social: set[str] = set()
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            category = (row["loai_doi_tuong"] or "").strip().lower().replace(" ", "_")
            start, end_text = parse_month(row["tu_thang"]), (row["den_thang"] or "").strip()
            end = parse_month(end_text) if end_text else None
            if (not re.fullmatch(r"\d{10}", (row["ma_so_bhxh"] or "").strip()) or category not in CATEGORIES
                    or start is None or (end_text and (end is None or end < start))):
                continue
            cccd = repaired_cccd(row["so_cccd"])
            if cccd is None:
                continue
            if category != "tu_nguyen":
                health.add(cccd)
            if category in ("bat_buoc", "tu_nguyen"):
                social.add(cccd)
    return health, social


STATUSES = {"co_viec", "that_nghiep", "ngoai_luc_luong"}


@dataclass(frozen=True)
class Worker:
    unit: str | None
    status: str | None
    unemployment_insured: bool


def labour_register(sources: Path, quarter_start: date) -> dict[str, Worker]:
    """The quarter's register by CCCD; a row without a usable CCCD is rejected, a person typed
    twice collapses. An empty status with an industry is 'co_viec' (only the employed have one)."""
    path = sources / "labour" / f"lao_dong_viec_lam_{quarter_start.year}Q{(quarter_start.month - 1) // 3 + 1}.csv"
    assert path.exists(), path
    out: dict[str, Worker] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            cccd = repaired_cccd(row["so_cccd"])
            if cccd is None:
                continue
            status = (row["tinh_trang_viec_lam"] or "").strip().lower().replace(" ", "_") or None
            if status is None and (row["nganh_nghe"] or "").strip():
                status = "co_viec"
            insured = unicodedata.normalize("NFC", (row["bao_hiem_that_nghiep"] or "").strip()).lower() in ("1", "có")
            out[cccd] = Worker(unit_of(row["ma_dvhc"]), status if status in STATUSES else None, insured)
    return out


# -- the tests --------------------------------------------------------------------------------------

def test_population_by_commune_equals_the_residence_register(city):
    expected = Counter(r.unit for r in residents(city.sources_dir, city.day).values())
    mart = dict(city.mart("SELECT commune_code, sum(population) FROM citizen.population_by_commune_sex_age "
                          "GROUP BY commune_code"))
    assert sum(expected.values()) > 1000
    assert mart == dict(expected)
    ioc = city.mart("SELECT value FROM ioc.ioc_citizen WHERE indicator_code = 'CIT_POPULATION' "
                    f"AND admin_unit_code = '{CITY}' AND period = '{city.day.isoformat()}'")
    assert ioc == [(float(sum(expected.values())),)]


def test_population_by_sex_equals_the_residence_register(city):
    expected = Counter(r.sex for r in residents(city.sources_dir, city.day).values())
    mart = dict(city.mart("SELECT sex, sum(population) FROM citizen.population_by_commune_sex_age GROUP BY sex"))
    assert mart == dict(expected)


@pytest.mark.parametrize("event_type, table", [("birth", "khai_sinh"), ("death", "khai_tu"), ("marriage", "ket_hon")])
def test_civil_status_events_per_month_equal_the_registers(city, event_type, table):
    expected = monthly_counts(registrations(city.sources_dir, table, city.day))
    rows = city.mart("SELECT commune_code, month, registrations FROM citizen.civil_status_events_by_month "
                     f"WHERE event_type = '{event_type}' AND registrations > 0")
    assert sum(expected.values()) > 10
    assert {(unit, month): n for unit, month, n in rows} == dict(expected)
    by_month = Counter()
    for (_, month), n in expected.items():
        by_month[month] += n
    ioc_code = {"birth": "CIT_BIRTHS_REGISTERED", "death": "CIT_DEATHS_REGISTERED",
                "marriage": "CIT_MARRIAGES_REGISTERED"}[event_type]
    ioc = city.mart(f"SELECT period, value FROM ioc.ioc_citizen WHERE indicator_code = '{ioc_code}' "
                    f"AND period_type = 'month' AND admin_unit_code = '{CITY}' AND value > 0")
    assert dict(ioc) == {month: float(n) for month, n in by_month.items()}


def test_insurance_coverage_of_the_latest_month_equals_the_bhxh_extract(city):
    (month_start,) = city.mart("SELECT max(month_start) FROM citizen.insurance_coverage")[0]
    people = residents(city.sources_dir, city.day)
    living = residents_in_month(people, registered_deaths(city.sources_dir, city.day, people), month_start)
    health, social = insured_people(city.sources_dir, month_start)
    of_age = {c for c, r in living.items() if working_age(r, month_start)}
    expected = (len(living), len(living.keys() & health), len(of_age), len(of_age & social))
    mart = city.mart("SELECT sum(residents), sum(health_insured), sum(working_age_residents), sum(social_insured) "
                     f"FROM citizen.insurance_coverage WHERE month_start = DATE '{month_start}'")[0]
    assert expected[1] > 0.8 * expected[0]          # a real extract, not an empty intersection
    assert tuple(int(v) for v in mart) == expected
    ioc = city.mart("SELECT value FROM ioc.ioc_citizen WHERE indicator_code = 'CIT_HEALTH_INSURANCE_COVERAGE' "
                    f"AND admin_unit_code = '{CITY}' AND period = '{month_start:%Y-%m}'")
    assert ioc == [(round(100.0 * expected[1] / expected[0], 2),)]


def test_insurance_coverage_per_commune_equals_the_bhxh_extract(city):
    (month_start,) = city.mart("SELECT min(month_start) FROM citizen.insurance_coverage")[0]
    people = residents(city.sources_dir, city.day)
    living = residents_in_month(people, registered_deaths(city.sources_dir, city.day, people), month_start)
    health, _ = insured_people(city.sources_dir, month_start)
    expected = Counter(r.unit for c, r in living.items() if c in health)
    rows = city.mart("SELECT commune_code, health_insured FROM citizen.insurance_coverage "
                     f"WHERE month_start = DATE '{month_start}' AND health_insured > 0")
    assert dict(rows) == dict(expected)


def test_unemployment_insurance_equals_the_labour_register(city):
    """The last month whose quarter the labour register covers."""
    (month_start,) = city.mart("SELECT max(month_start) FROM citizen.insurance_coverage "
                               "WHERE unemployment_insured IS NOT NULL")[0]
    people = residents(city.sources_dir, city.day)
    living = residents_in_month(people, registered_deaths(city.sources_dir, city.day, people), month_start)
    quarter = date(month_start.year, (month_start.month - 1) // 3 * 3 + 1, 1)
    insured = {c for c, w in labour_register(city.sources_dir, quarter).items() if w.unemployment_insured}
    expected = len({c for c, r in living.items() if working_age(r, month_start)} & insured)
    (mart,) = city.mart("SELECT sum(unemployment_insured) FROM citizen.insurance_coverage "
                        f"WHERE month_start = DATE '{month_start}'")[0]
    assert expected > 0
    assert int(mart) == expected


def test_employed_per_commune_equals_the_labour_register(city):
    (quarter,) = city.mart("SELECT max(quarter_start) FROM citizen.labour_force_by_commune")[0]
    workers = labour_register(city.sources_dir, quarter).values()
    expected = Counter(w.unit for w in workers if w.status == "co_viec" and w.unit is not None)
    force = city.mart("SELECT commune_code, employed FROM citizen.labour_force_by_commune "
                      f"WHERE quarter_start = DATE '{quarter}' AND employed > 0")
    sectors = city.mart("SELECT commune_code, sum(employed) FROM citizen.employment_by_commune_sector "
                        f"WHERE quarter_start = DATE '{quarter}' GROUP BY commune_code")
    assert sum(expected.values()) > 100
    assert dict(force) == dict(expected)
    assert {unit: int(n) for unit, n in sectors} == dict(expected)


def test_poor_households_per_commune_equal_the_year_end_lists(city):
    expected: Counter = Counter()
    for path in sorted((city.sources_dir / "labour").glob("ho_ngheo_can_ngheo_*.csv")):
        seen: dict[tuple[str, int], tuple[str, str]] = {}
        with open(path, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                code, kind = (row["ma_ho"] or "").strip(), (row["loai"] or "").strip().lower().replace(" ", "_")
                year_text = (row["nam"] or "").strip() or re.search(r"(\d{4})\.csv$", path.name).group(1)
                if not re.fullmatch(r"\d{12}", code) or kind not in ("ngheo", "can_ngheo") or not year_text.isdigit():
                    continue
                unit = unit_of(row["ma_dvhc"])
                entry = crosswalk().get(normalised_code(row["ma_dvhc"]) or "")
                if unit is None and code[:5] in current_units() and (entry is None or code[:5] in entry.candidates):
                    unit = code[:5]          # a split pre-2025 unit decided by the household code
                if unit is not None:
                    seen[(code, int(year_text))] = (unit, kind)
        for (_, year), (unit, kind) in seen.items():
            expected[(year, unit, kind)] += 1
    rows = city.mart("SELECT year, commune_code, poor_households, near_poor_households "
                     "FROM citizen.poor_households_by_commune")
    mart = Counter()
    for year, unit, poor, near in rows:
        if poor:
            mart[(year, unit, "ngheo")] = poor
        if near:
            mart[(year, unit, "can_ngheo")] = near
    assert sum(expected.values()) > 0
    assert mart == expected


# -- privacy ----------------------------------------------------------------------------------------

# Column names of personal data in the processed registers (CCCD, names, birth dates, addresses,
# phones, BHXH and household codes, record ids that lead back to a row); unit and indicator names
# are not personal.
IDENTIFYING = re.compile(r"cccd|cmnd|full_name|^name$|(child|deceased|husband|wife|head|person|applicant|owner)_name|"
                         r"ho_ten|address|dia_chi|phone|birth_date|insurance_code|household_code|tax_code|record_id")
IOC_CONTRACT = ["indicator_code", "indicator_name", "indicator_name_en", "unit", "period_type", "period",
                "period_start", "period_end", "admin_unit_code", "admin_unit_name", "value", "target", "status",
                "source_system", "data_version", "freshness_ts"]


def test_no_citizen_mart_carries_a_clear_identifier(city):
    columns = city.mart("SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema = 'citizen' OR (table_schema = 'ioc' AND table_name = 'ioc_citizen') "
                        "ORDER BY table_schema, table_name, ordinal_position")
    tables = {(schema, table) for schema, table, _, _ in columns}
    assert {("citizen", "population_by_commune_sex_age"), ("citizen", "civil_status_events_by_month"),
            ("citizen", "insurance_coverage"), ("ioc", "ioc_citizen")} <= tables
    named = [f"{s}.{t}.{c}" for s, t, c, _ in columns if IDENTIFYING.search(c)]
    assert named == []
    # values too: no column may hold CCCD-, CMND-, BHXH- or household-code-like numbers
    for schema, table, column, data_type in columns:
        if data_type == "VARCHAR":
            hits = city.mart(f'SELECT count(*) FROM {schema}.{table} '
                             f"WHERE regexp_full_match(\"{column}\", '[0-9]{{9,12}}')")
            assert hits == [(0,)], f"{schema}.{table}.{column} holds identifier-like numbers"
    ioc = [c for s, t, c, _ in columns if (s, t) == ("ioc", "ioc_citizen")]
    assert ioc == IOC_CONTRACT
