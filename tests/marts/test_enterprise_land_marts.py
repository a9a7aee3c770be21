"""Headline numbers of the enterprise and land_urban marts, and of their IOC tables, against
independent computations on the generated source systems (the SQLite files of the business
register, the land database and the permit register under ``city.sources_dir``).

Each computation reads the source rows as the sector system holds them and reproduces only the
cleaning that decides the number: which rows the processed rules reject (an invalid key, a
present but impossible value), how copies of one record are told apart (the latest update stamp
wins), and how codes map to the marts' categories. It uses the reference catalogues
(kho/reference/*.csv) but none of Kho's cleaning code, so a wrong rule or a wrong join in the
pipeline shows up as a difference here. Finally no mart of these areas may carry a clear
identifier of a person (CCCD, personal tax code, name, address).
"""

from __future__ import annotations

import csv
import re
import sqlite3
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.spark]

REFERENCE = Path(__file__).resolve().parents[2] / "kho" / "reference"
EARLIEST = date(1945, 9, 2)        # no register of the platform holds an earlier record

ENTERPRISE_MARTS = ("enterprise.active_businesses_by_industry_commune", "enterprise.business_lifecycle_by_month",
                    "enterprise.registered_capital_by_month")
LAND_MARTS = ("land_urban.parcels_by_land_use_commune", "land_urban.land_certificates_by_period",
              "land_urban.construction_permits_by_month_type")
IOC_TABLES = ("ioc.ioc_enterprise", "ioc.ioc_land_urban")


# ---------------------------------------------------------------------------------------------
# Reading the sources and the small rules every register shares
# ---------------------------------------------------------------------------------------------

def source_rows(city: Any, system: str, table: str) -> list[dict[str, Any]]:
    with sqlite3.connect(city.sources_dir / f"{system}.sqlite") as con:
        con.row_factory = sqlite3.Row
        return [dict(row) for row in con.execute(f"select * from {table}")]


def blank(value: Any) -> bool:
    return value is None or str(value).strip() == ""


def parse_day(value: Any, latest: date) -> tuple[bool, date | None]:
    """(kept, day). The registers write ISO or dd/mm/yyyy dates: an empty one is kept as unknown,
    an impossible one or one outside [1945-09-02, latest] rejects the row."""
    if blank(value):
        return True, None
    text = str(value).strip()
    for layout in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            day = datetime.strptime(text, layout).date()
        except ValueError:
            continue
        return (True, day) if EARLIEST <= day <= latest else (False, None)
    return False, None


def parse_stamp(value: Any) -> datetime | None:
    """An update stamp (ISO, or dd/mm/yyyy HH:MM); an unreadable one is unknown."""
    if blank(value):
        return None
    for layout in ("%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(str(value).strip(), layout)
        except ValueError:
            continue
    return None


TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def clean_tax_code(value: Any) -> str | None:
    """An enterprise code with grouping spaces removed, or None when the row must be rejected:
    not 10 digits (+ a 3-digit branch), or a check digit that the tax-code algorithm refuses."""
    if blank(value):
        return None
    code = re.sub(r"[\s.]", "", str(value))
    if re.fullmatch(r"\d{13}", code):
        code = f"{code[:10]}-{code[10:]}"
    if not re.fullmatch(r"\d{10}(-\d{3})?", code) or code.endswith("-000"):
        return None
    digits = [int(c) for c in code[:10]]
    check = 10 - sum(w * d for w, d in zip(TAX_WEIGHTS, digits)) % 11
    if check == 10 or code.startswith("00") or sum(digits[2:9]) == 0 or check != digits[9]:
        return None
    return code


@lru_cache(maxsize=1)
def unit_resolver() -> Callable[[Any], str | None]:
    """Unit code -> current commune code: current codes stay, pre-2025 codes merged whole map to
    their unit; a pre-2025 unit split between several units cannot be decided from the code (the
    generated rows then carry a pre-2025 address, which names the old unit), so it rejects."""
    with open(REFERENCE / "admin_units.csv", encoding="utf-8") as f:
        current = {row["unit_code"] for row in csv.DictReader(f)}
    with open(REFERENCE / "admin_unit_crosswalk.csv", encoding="utf-8") as f:
        whole = {row["old_unit_code"]: row["new_unit_code"] for row in csv.DictReader(f) if row["new_unit_code"]}

    def resolve(code: Any) -> str | None:
        text = "" if code is None else str(code).strip()
        return text if text in current else whole.get(text)

    return resolve


@lru_cache(maxsize=1)
def land_use_groups() -> dict[str, str]:
    with open(REFERENCE / "land_use_types.csv", encoding="utf-8") as f:
        return {row["code"]: row["land_group"] for row in csv.DictReader(f)}


def clean_land_use(value: Any) -> tuple[bool, str | None, str | None]:
    """(kept, code, group): upper case, no spaces around '+'; every part must be a catalogue code
    (an unknown one rejects); empty is kept as unknown. The group is the first part's."""
    if blank(value):
        return True, None, None
    code = re.sub(r"\s*\+\s*", "+", str(value).strip().upper())
    parts = code.split("+")
    groups = land_use_groups()
    if not all(part in groups for part in parts):
        return False, None, None
    return True, code, groups[parts[0]]


def positive_or_empty(value: Any) -> bool:
    """Areas, capital, floors: a value <= 0 rejects the row; an empty one is kept."""
    return value is None or float(value) > 0


def latest_per_key(records: Iterable[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    """Survivorship: per key, the valid record with the latest update stamp (unknown stamps last).
    Copies with the same stamp are the same record (exact duplicates)."""
    out: dict[Any, dict[str, Any]] = {}
    for record in records:
        held = out.get(record[key])
        if held is None or (record["stamp"] or datetime.min) > (held["stamp"] or datetime.min):
            out[record[key]] = record
    return out


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


# ---------------------------------------------------------------------------------------------
# The business register, cleaned independently
# ---------------------------------------------------------------------------------------------

ENTERPRISE_STATUS = {"dang_hoat_dong": "active", "tam_ngung": "suspended", "giai_the": "dissolved"}
HOUSEHOLD_STATUS = {"dang_hoat_dong": "active", "tam_ngung": "suspended", "cham_dut": "ceased"}
CAPITAL_TEXT = re.compile(r"từ ([0-9.]+) đồng lên ([0-9.]+) đồng")


def enterprises(city: Any) -> dict[str, dict[str, Any]]:
    """Enterprises by tax code: rows with an invalid tax code, a capital <= 0, an impossible founding
    date or an undecidable unit are quarantined; of the copies of one enterprise the latest wins."""
    resolve = unit_resolver()
    records = []
    for row in source_rows(city, "business_registration", "doanh_nghiep"):
        code = clean_tax_code(row["ma_so_doanh_nghiep"])
        kept, founded = parse_day(row["ngay_thanh_lap"], city.day)
        unit = resolve(row["ma_dvhc"])
        if code is None or not kept or unit is None or not positive_or_empty(row["von_dieu_le"]):
            continue
        stamp = parse_stamp(row["ngay_cap_nhat"])
        records.append({"key": code, "status": ENTERPRISE_STATUS[row["trang_thai"]], "founded": founded,
                        "capital": row["von_dieu_le"], "unit": unit, "stamp": stamp,
                        "updated": stamp.date() if stamp else None})
    return latest_per_key(records, "key")


def households(city: Any) -> dict[str, dict[str, Any]]:
    """Household businesses by registration number, cleaned the same way."""
    resolve = unit_resolver()
    records = []
    for row in source_rows(city, "business_registration", "ho_kinh_doanh"):
        kept, registered = parse_day(row["ngay_dang_ky"], city.day)
        unit = resolve(row["ma_dvhc"])
        if not kept or unit is None or not positive_or_empty(row["von_kinh_doanh"]):
            continue
        stamp = parse_stamp(row["ngay_cap_nhat"])
        records.append({"key": re.sub(r"\s", "", row["so_dang_ky"]).upper(),
                        "status": HOUSEHOLD_STATUS[row["trang_thai"]], "founded": registered,
                        "capital": row["von_kinh_doanh"], "unit": unit, "stamp": stamp,
                        "updated": stamp.date() if stamp else None})
    return latest_per_key(records, "key")


@dataclass(frozen=True)
class ChangeEvent:
    event_id: int
    tax_code: str
    kind: str
    day: date
    text: str


def change_events(city: Any) -> list[ChangeEvent]:
    """Change events with a valid enterprise code and a valid, known effective date (a later date
    than the ingest day is impossible and rejects); an event keyed in twice (same enterprise,
    type, date and text, another id) is one event."""
    seen: set[tuple[str, str, date, str]] = set()
    out = []
    for row in sorted(source_rows(city, "business_registration", "thay_doi_dang_ky"), key=lambda r: r["id"]):
        code = clean_tax_code(row["ma_so_doanh_nghiep"])
        kept, day = parse_day(row["ngay_hieu_luc"], city.day)
        if code is None or not kept or day is None:
            continue
        text = unicodedata.normalize("NFC", " ".join((row["noi_dung"] or "").split()))
        key = (code, row["loai_thay_doi"], day, text)
        if key not in seen:
            seen.add(key)
            out.append(ChangeEvent(row["id"], code, row["loai_thay_doi"], day, text))
    return out


def capital_amounts(event: ChangeEvent) -> tuple[int, int] | None:
    found = CAPITAL_TEXT.search(event.text)
    if not found:
        return None
    return int(found.group(1).replace(".", "")), int(found.group(2).replace(".", ""))


# ---------------------------------------------------------------------------------------------
# The land database and the permit register, cleaned independently
# ---------------------------------------------------------------------------------------------

def parcels(city: Any) -> dict[tuple[str, int, int], dict[str, Any]]:
    """Parcels by (current unit, map sheet, parcel number): an area <= 0, an unknown land-use code
    or an undecidable unit rejects; of the copies of a parcel the latest update wins."""
    resolve = unit_resolver()
    records = []
    for row in source_rows(city, "land", "thua_dat"):
        unit = resolve(row["ma_dvhc"])
        kept, code, group = clean_land_use(row["loai_dat"])
        if unit is None or not kept or not positive_or_empty(row["dien_tich"]):
            continue
        records.append({"key": (unit, int(row["so_to_ban_do"]), int(row["so_thua"])), "code": code,
                        "group": group, "area": row["dien_tich"], "stamp": parse_stamp(row["ngay_cap_nhat"])})
    return latest_per_key(records, "key")


SERIAL = re.compile(r"^([A-Z]{2})[\s\-]?([0-9]{6})$")


def certificates(city: Any) -> dict[str, dict[str, Any]]:
    """Certificates by serial ("DC 118383"; a serial missing a digit rejects); the certificate has
    no address, so a split pre-2025 unit code rejects; an impossible issue date rejects."""
    resolve = unit_resolver()
    out: dict[str, dict[str, Any]] = {}
    for row in source_rows(city, "land", "giay_chung_nhan"):
        serial = SERIAL.match(str(row["so_phat_hanh"] or "").strip().upper())
        unit = resolve(row["ma_dvhc"])
        kept_use, _, _ = clean_land_use(row["muc_dich_su_dung"])
        kept_day, issued = parse_day(row["ngay_cap"], city.day)
        if not serial or unit is None or not kept_use or not kept_day or not positive_or_empty(row["dien_tich"]):
            continue
        out[f"{serial.group(1)} {serial.group(2)}"] = {"unit": unit, "issued": issued,
                                                        "holder_kind": row["loai_chu_su_dung"]}
    return out


WORKS_TYPES = {"nha_o_rieng_le": "individual_house", "cong_trinh_dan_dung": "civil_works",
               "cong_nghiep": "industrial", "ha_tang": "infrastructure"}


def permits(city: Any) -> dict[str, dict[str, Any]]:
    """Permit dossiers by dossier code: a floor area, footprint or floor count <= 0, an impossible
    date or an undecidable unit rejects; of the copies of a dossier (an older copy still in
    progress) the latest update wins."""
    resolve = unit_resolver()
    records = []
    for row in source_rows(city, "construction_permits", "giay_phep_xay_dung"):
        kept_sub, submitted = parse_day(row["ngay_nop_ho_so"], city.day)
        kept_due, due = parse_day(row["han_tra_ket_qua"], date(city.day.year + 1, 12, 31))
        kept_iss, issued = parse_day(row["ngay_cap"], city.day)
        sizes_ok = all(positive_or_empty(row[c]) for c in ("dien_tich_xay_dung", "dien_tich_san", "so_tang"))
        if not (kept_sub and kept_due and kept_iss and sizes_ok) or resolve(row["ma_dvhc"]) is None:
            continue
        records.append({"key": re.sub(r"\s", "", row["ma_ho_so"]), "type": WORKS_TYPES[row["loai_cong_trinh"]],
                        "status": row["trang_thai"], "submitted": submitted, "due": due, "issued": issued,
                        "stamp": parse_stamp(row["ngay_cap_nhat"])})
    return latest_per_key(records, "key")


def issued_permits(city: Any) -> list[dict[str, Any]]:
    """Permits that were issued (issued, or issued and later revoked) with their issue day."""
    return [p for p in permits(city).values() if p["status"] in ("da_cap", "thu_hoi") and p["issued"] is not None]


# ---------------------------------------------------------------------------------------------
# Enterprise marts
# ---------------------------------------------------------------------------------------------

def test_active_businesses_match_the_register(city):
    ents, hkds = enterprises(city), households(city)
    expected = {
        "enterprise": (sum(e["status"] == "active" for e in ents.values()),
                       sum(e["status"] == "suspended" for e in ents.values()),
                       sum(e["capital"] or 0 for e in ents.values() if e["status"] == "active")),
        "household": (sum(h["status"] == "active" for h in hkds.values()),
                      sum(h["status"] == "suspended" for h in hkds.values()),
                      sum(h["capital"] or 0 for h in hkds.values() if h["status"] == "active")),
    }
    got = {kind: (int(active), int(suspended), int(capital)) for kind, active, suspended, capital in city.mart(
        "select business_kind, sum(active_businesses), sum(suspended_businesses), sum(active_registered_capital_vnd)"
        " from enterprise.active_businesses_by_industry_commune group by 1")}
    assert expected["enterprise"][0] > 0 and expected["household"][0] > 0
    assert got == expected

    # and unit by unit: the head office's unit, pre-2025 codes mapped to the current unit
    by_unit = Counter(e["unit"] for e in ents.values() if e["status"] == "active")
    got_units = {unit: int(n) for unit, n in city.mart(
        "select commune_code, sum(active_businesses) from enterprise.active_businesses_by_industry_commune"
        " where business_kind = 'enterprise' group by 1 having sum(active_businesses) > 0")}
    assert got_units == dict(by_unit)


def test_registrations_and_dissolutions_by_month(city):
    ents, hkds = enterprises(city), households(city)
    events = change_events(city)
    registrations: Counter = Counter()
    for kind, register in (("enterprise", ents), ("household", hkds)):
        for business in register.values():
            if business["founded"] is not None:       # no founding date: no month to count it in
                registrations[(kind, month_of(business["founded"]))] += 1
    # an enterprise's dissolution is dated by its dissolution event, else by the register's last
    # update; a household has no events: the day the register recorded its ceasing
    dissolved_on: dict[str, date] = {}
    for event in events:
        if event.kind == "giai_the":
            dissolved_on[event.tax_code] = min(event.day, dissolved_on.get(event.tax_code, event.day))
    dissolutions: Counter = Counter()
    for code, e in ents.items():
        if e["status"] == "dissolved":
            day = dissolved_on.get(code, e["updated"])
            if day is not None:
                dissolutions[("enterprise", month_of(day))] += 1
    for h in hkds.values():
        if h["status"] == "ceased" and h["updated"] is not None:
            dissolutions[("household", month_of(h["updated"]))] += 1

    got_registrations: Counter = Counter()
    got_dissolutions: Counter = Counter()
    for kind, month, registered, dissolved in city.mart(
            "select business_kind, month, sum(registrations), sum(dissolutions)"
            " from enterprise.business_lifecycle_by_month group by all"):
        if registered:
            got_registrations[(kind, month)] = int(registered)
        if dissolved:
            got_dissolutions[(kind, month)] = int(dissolved)
    assert sum(dissolutions.values()) > 0
    assert got_registrations == registrations
    assert got_dissolutions == dissolutions


def test_registered_capital_by_month(city):
    ents = enterprises(city)
    increases = sorted((e for e in change_events(city) if e.kind == "tang_von" and e.tax_code in ents
                        and capital_amounts(e) is not None), key=lambda e: (e.day, e.event_id))
    # the register keeps today's capital only: founding capital = "before" of the first increase
    founding = {code: e["capital"] for code, e in ents.items()}
    first_seen: set[str] = set()
    for event in increases:
        if event.tax_code not in first_seen:
            first_seen.add(event.tax_code)
            founding[event.tax_code] = capital_amounts(event)[0]
    expected: Counter = Counter()
    for code, e in ents.items():
        if e["founded"] is not None:
            expected[month_of(e["founded"])] += founding[code] or 0
    for event in increases:
        before, after = capital_amounts(event)
        expected[month_of(event.day)] += after - before
    got = {month: int(total) for month, total in city.mart(
        "select month, total_registered_capital_vnd from enterprise.registered_capital_by_month"
        " where business_kind = 'enterprise'")}
    assert increases, "the generated register should hold capital increases"
    assert got == dict(expected)


# ---------------------------------------------------------------------------------------------
# Land-urban marts
# ---------------------------------------------------------------------------------------------

def test_parcels_and_area_by_land_use_group(city):
    expected_count: Counter = Counter()
    expected_area: defaultdict = defaultdict(float)
    for parcel in parcels(city).values():
        group = parcel["group"] or "unknown"
        expected_count[group] += 1
        expected_area[group] += parcel["area"] or 0.0
    got = {group: (int(n), float(area)) for group, n, area in city.mart(
        "select land_use_group, sum(parcels), sum(area_m2) from land_urban.parcels_by_land_use_commune group by 1")}
    assert {g: n for g, (n, _) in got.items()} == dict(expected_count)
    for group, (_, area) in got.items():
        # the mart rounds each row's area to 0.1 m²
        assert area == pytest.approx(expected_area[group], abs=0.05 * expected_count[group] + 1e-6)


def test_certificates_issued_per_year_month_and_quarter(city):
    expected = Counter(str(c["issued"].year) for c in certificates(city).values() if c["issued"] is not None)
    for period_type in ("month", "quarter"):
        got = {year: int(n) for year, n in city.mart(
            "select left(period, 4), sum(certificates_issued) from land_urban.land_certificates_by_period"
            f" where period_type = '{period_type}' group by 1")}
        assert got == dict(expected), period_type
    persons = sum(c["holder_kind"] in ("ca_nhan", "ho_gia_dinh") for c in certificates(city).values()
                  if c["issued"] is not None)
    [(got_persons,)] = city.mart("select sum(person_holder_certificates) from land_urban.land_certificates_by_period"
                                 " where period_type = 'month'")
    assert int(got_persons) == persons


def test_construction_permits_issued_and_processing_days(city):
    issued = issued_permits(city)
    expected_issued = Counter((month_of(p["issued"]), p["type"]) for p in issued)
    expected_days: Counter = Counter()
    for p in issued:
        if p["submitted"] is not None:
            expected_days[(month_of(p["issued"]), p["type"])] += (p["issued"] - p["submitted"]).days
    expected_received = Counter((month_of(p["submitted"]), p["type"]) for p in permits(city).values()
                                if p["submitted"] is not None)
    rows = city.mart("select month, works_type, permits_issued, total_processing_days, dossiers_received"
                     " from land_urban.construction_permits_by_month_type")
    assert issued
    assert {(m, t): int(n) for m, t, n, _, _ in rows if n} == dict(expected_issued)
    assert {(m, t): int(d) for m, t, n, d, _ in rows if n} == {k: expected_days[k] for k in expected_issued}
    assert {(m, t): int(r) for m, t, _, _, r in rows if r} == dict(expected_received)
    # the headline: mean processing days over all permits issued
    timed = [p for p in issued if p["submitted"] is not None]
    [(avg_days,)] = city.mart("select sum(total_processing_days) / sum(timed_permits)"
                              " from land_urban.construction_permits_by_month_type")
    assert avg_days == pytest.approx(sum((p["issued"] - p["submitted"]).days for p in timed) / len(timed))


# ---------------------------------------------------------------------------------------------
# IOC tables
# ---------------------------------------------------------------------------------------------

def test_ioc_enterprise_headlines(city):
    ents = enterprises(city)
    [(active,)] = city.mart("select value from ioc.ioc_enterprise where indicator_code = 'ENT_ACTIVE_ENTERPRISES'"
                            " and period_type = 'day' and admin_unit_code = '31'")
    assert active == sum(e["status"] == "active" for e in ents.values())
    # every unit of the city has its row, zeros included, and the units add up to the city
    [(units, total)] = city.mart("select count(*), sum(value) from ioc.ioc_enterprise"
                                 " where indicator_code = 'ENT_ACTIVE_ENTERPRISES' and admin_unit_code <> '31'")
    assert units == 114 and total == active
    new_by_year = Counter(e["founded"].year for e in ents.values() if e["founded"] is not None)
    got = {int(period): int(value) for period, value in city.mart(
        "select period, value from ioc.ioc_enterprise where indicator_code = 'ENT_NEW_ENTERPRISES'"
        " and period_type = 'year' and admin_unit_code = '31'")}
    assert got and got == {year: new_by_year.get(year, 0) for year in got}


def test_ioc_land_urban_headlines(city):
    issued = [p for p in issued_permits(city) if p["due"] is not None]
    by_year: defaultdict = defaultdict(lambda: [0, 0])
    for p in issued:
        by_year[p["issued"].year][0] += p["issued"] <= p["due"]
        by_year[p["issued"].year][1] += 1
    got = {int(period): (value, status) for period, value, status in city.mart(
        "select period, value, status from ioc.ioc_land_urban where indicator_code = 'LU_PERMIT_ON_TIME_RATE'"
        " and period_type = 'year' and admin_unit_code = '31'")}
    assert got
    for year, (value, status) in got.items():
        on_time, total = by_year[year]
        assert value == pytest.approx(round(100.0 * on_time / total, 2))
        # the legal limit applies to every permit: the target is 100% (seeds/kpi_targets.csv)
        assert status == ("met" if on_time == total else "not_met")
    certified = Counter(c["issued"].year for c in certificates(city).values() if c["issued"] is not None)
    got_certs = {int(period): int(value) for period, value in city.mart(
        "select period, value from ioc.ioc_land_urban where indicator_code = 'LU_CERTIFICATES_ISSUED'"
        " and period_type = 'year' and admin_unit_code = '31'")}
    assert got_certs and got_certs == {year: certified.get(year, 0) for year in got_certs}


# ---------------------------------------------------------------------------------------------
# Privacy
# ---------------------------------------------------------------------------------------------

def clear_identifiers(city: Any) -> set[str]:
    """Every personal identifier, name and address the three systems hold, plus enterprise codes."""
    columns = {
        ("business_registration", "doanh_nghiep"): ("ma_so_doanh_nghiep", "so_cccd_nguoi_dai_dien",
                                                    "ho_ten_nguoi_dai_dien", "dia_chi_tru_so"),
        ("business_registration", "ho_kinh_doanh"): ("so_dang_ky", "so_cccd_chu_ho", "ho_ten_chu_ho",
                                                     "ten_ho_kinh_doanh", "dia_diem_kinh_doanh"),
        ("land", "giay_chung_nhan"): ("so_phat_hanh", "so_cccd", "ma_so_doanh_nghiep", "ten_chu_su_dung"),
        ("land", "giao_dich"): ("ben_chuyen", "ten_ben_chuyen", "ben_nhan", "ten_ben_nhan"),
        ("land", "thua_dat"): ("dia_chi",),
        ("construction_permits", "giay_phep_xay_dung"): ("ma_ho_so", "chu_dau_tu", "ten_chu_dau_tu",
                                                         "dia_diem_xay_dung"),
    }
    found: set[str] = set()
    for (system, table), names in columns.items():
        for row in source_rows(city, system, table):
            for name in names:
                if not blank(row[name]):
                    value = unicodedata.normalize("NFC", str(row[name]).strip())
                    found.add(value)
                    found.add(value.upper())
                    found.add(re.sub(r"[\s.\-]", "", value))
    return found


def test_no_clear_identifiers_in_the_marts(city):
    identifiers = clear_identifiers(city)
    assert len(identifiers) > 100
    forbidden_columns = re.compile(r"cccd|tax_code|owner|holder_name|investor_name|representative|address|"
                                   r"business_key|parcel_key|serial_no|dossier_code")
    for table in ENTERPRISE_MARTS + LAND_MARTS + IOC_TABLES:
        schema, name = table.split(".")
        columns = city.mart("select column_name, data_type from information_schema.columns"
                            f" where table_schema = '{schema}' and table_name = '{name}'")
        assert columns, table
        assert not [c for c, _ in columns if forbidden_columns.search(c)], table
        for column, data_type in columns:
            if data_type != "VARCHAR":
                continue
            values = {v for (v,) in city.mart(f'select distinct "{column}" from {table} where "{column}" is not null')}
            leaked = {v for v in values if v in identifiers or unicodedata.normalize("NFC", v).upper() in identifiers}
            assert not leaked, f"{table}.{column} carries clear identifiers: {sorted(leaked)[:3]}"
