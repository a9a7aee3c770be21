"""Health facilities and examinations (Y tế: cơ sở khám chữa bệnh, lượt khám), generated.

Owner: Sở Y tế (Department of Health). A relational database (SQLite under ``kho sources
up``, PostgreSQL with ``kho sources up --real``) with three tables:

* ``co_so_kham_chua_benh`` (facilities): ``ma_co_so`` is the 5-digit facility code of the
  health-insurance system (two digits of the province, 31 old Hải Phòng / 30 old Hải Dương,
  then three serial digits); ``tuyen`` is ``thanh_pho`` (city-level hospitals),
  ``khu_vuc`` (the regional medical centres that replaced the district ones in 2025) or
  ``xa`` (commune health stations and private clinics); ``loai`` is ``benh_vien``,
  ``trung_tam_y_te``, ``tram_y_te`` or ``phong_kham``. One station per commune-level unit,
  one regional centre per former district, city hospitals and private clinics scaled with sf.
* ``luot_kham`` (visits aggregated by facility x month x insurance status, as facilities
  report them monthly): ``thang`` (YYYY-MM, 2024-01 to 2026-10), ``co_bhyt``,
  ``so_luot_kham`` (all visits), ``so_luot_dieu_tri_noi_tru`` (of which admitted),
  ``ngay_bao_cao`` (report date: a corrected re-submission has a later one).
* ``luot_kham_chi_tiet``: a ``SAMPLE_SHARE`` (2%) sample of the individual visits, with the
  patient's CCCD and birth date (true citizens), ``ngay_kham``, ``ma_benh`` (ICD-10 code,
  chapter letter + digits, e.g. ``J06.9``) and ``co_bhyt``.

Volumes: ~1.9 visits per insured person a year [Vietnam Social Security: ~174-180 million
insured visits a year for ~93 m insured], 0.45 of that for the uninsured, more for
children under 6 and the elderly; ~8-12% of hospital visits end in admission. Insurance
status is the person's (:func:`kho.sources.insurance.category_at` in 2025-06), deaths come
from civil status, so no one visits after dying and the sample times ``1/SAMPLE_SHARE``
matches the aggregates within noise.

Faults: the usual (duplicates, missing and malformed values, unaccented names, invalid
and broken CCCD links, pre-2025 unit codes) plus reports that arrive late (the last two
months missing for some facilities: ``late_report`` counts the absent rows), corrected
re-submissions (near duplicates with a later ``ngay_bao_cao``), and private clinics that
closed and were hard-deleted from the facility table while their past reports remain
(``hard_delete`` counts the deleted facilities; their rows are orphans).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kho import reference
from kho.sources import dbapi
from kho.sources.base import GenerationStats, SourceSystem, fold_diacritics, rng_for, scaled, write_manifest
from kho.sources.citizens import (BLOCK, WINDOW_END, WINDOW_MONTHS, WINDOW_START, Person, age_on, block_rng,
                                  death_date, map_blocks, month_index, month_start, true_people)
from kho.sources.faults import LINK_FAULT_RATES, Faults, old_unit_code
from kho.sources.identifiers import malformed_cccd
from kho.sources.insurance import category_at
from kho.sources.labour import work_of

SYSTEM = SourceSystem(
    name="health",
    title="Health facilities and examinations",
    title_vi="Cơ sở dữ liệu y tế: cơ sở khám chữa bệnh và lượt khám",
    owner="Sở Y tế (Department of Health)",
    form="database",
    engine="postgresql",
    objects={
        "co_so_kham_chua_benh": ("ma_co_so",),
        "luot_kham": ("ma_co_so", "thang", "co_bhyt"),
        "luot_kham_chi_tiet": ("id",),
    },
    description="Facilities (5-digit BHYT facility codes), monthly visit reports per facility and insurance "
                "status, and a 2% sample of individual visits linked to citizens.",
)

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "co_so_kham_chua_benh": ("ma_co_so", "ten", "tuyen", "loai", "ma_dvhc"),
    "luot_kham": ("id", "ma_co_so", "thang", "co_bhyt", "so_luot_kham", "so_luot_dieu_tri_noi_tru", "ngay_bao_cao"),
    "luot_kham_chi_tiet": ("id", "ma_co_so", "so_cccd", "ngay_sinh", "ngay_kham", "ma_benh", "co_bhyt"),
}
_DDL = {
    "co_so_kham_chua_benh": {
        "sqlite": "ma_co_so TEXT, ten TEXT, tuyen TEXT, loai TEXT, ma_dvhc TEXT",
        "postgresql": "ma_co_so VARCHAR(10), ten VARCHAR(200), tuyen VARCHAR(20), loai VARCHAR(20), ma_dvhc VARCHAR(10)",
        "mysql": "ma_co_so VARCHAR(10), ten VARCHAR(200), tuyen VARCHAR(20), loai VARCHAR(20), ma_dvhc VARCHAR(10)",
    },
    "luot_kham": {
        "sqlite": "id INTEGER PRIMARY KEY, ma_co_so TEXT, thang TEXT, co_bhyt INTEGER, so_luot_kham INTEGER, "
                  "so_luot_dieu_tri_noi_tru INTEGER, ngay_bao_cao TEXT",
        "postgresql": "id BIGINT PRIMARY KEY, ma_co_so VARCHAR(10), thang VARCHAR(10), co_bhyt BOOLEAN, "
                      "so_luot_kham INTEGER, so_luot_dieu_tri_noi_tru INTEGER, ngay_bao_cao DATE",
        "mysql": "id BIGINT PRIMARY KEY, ma_co_so VARCHAR(10), thang VARCHAR(10), co_bhyt BOOLEAN, "
                 "so_luot_kham INTEGER, so_luot_dieu_tri_noi_tru INTEGER, ngay_bao_cao DATE",
    },
    "luot_kham_chi_tiet": {
        "sqlite": "id INTEGER PRIMARY KEY, ma_co_so TEXT, so_cccd TEXT, ngay_sinh TEXT, ngay_kham TEXT, "
                  "ma_benh TEXT, co_bhyt INTEGER",
        "postgresql": "id BIGINT PRIMARY KEY, ma_co_so VARCHAR(10), so_cccd VARCHAR(20), ngay_sinh DATE, "
                      "ngay_kham DATE, ma_benh VARCHAR(20), co_bhyt BOOLEAN",
        "mysql": "id BIGINT PRIMARY KEY, ma_co_so VARCHAR(10), so_cccd VARCHAR(20), ngay_sinh DATE, "
                 "ngay_kham DATE, ma_benh VARCHAR(20), co_bhyt BOOLEAN",
    },
}
# Note: the facility table has no PRIMARY KEY on purpose: the register holds duplicates.

DEFAULT_FAULT_RATES: dict[str, float] = {
    "exact_duplicate": 0.003,      # a report row or visit stored twice
    "near_duplicate": 0.004,       # a corrected re-submission of a monthly report
    "missing_value": 0.005,        # visit without CCCD or diagnosis
    "malformed_value": 0.004,      # ICD code typed loosely, month as MM/YYYY, negative counts
    "invalid_identifier": 0.003,   # malformed CCCD
    "unaccented_name": 0.02,       # facility names typed without diacritics
    "old_admin_unit": 0.02,        # facility still filed under its pre-2025 commune
    "late_report": 0.03,           # share of facilities whose last two monthly reports are not in yet
    "closed_clinic": 0.05,         # share of private clinics closed in the window and deleted
    **LINK_FAULT_RATES,
}
SAMPLE_SHARE = 0.02
REFERENCE_MONTH = month_index(date(2025, 6, 1))   # the month whose insurance status a person carries
HOSPITALS_PER_SF = 0.45
CLINICS_PER_SF = 6.0

_CITY_HOSPITALS = (
    ("Bệnh viện Đa khoa thành phố Hải Phòng", 3.0), ("Bệnh viện Đa khoa khu vực Hải Dương", 2.5),
    ("Bệnh viện Trẻ em Hải Phòng", 1.6), ("Bệnh viện Phụ sản Hải Phòng", 1.4), ("Bệnh viện Đa khoa Kiến An", 1.3),
    ("Bệnh viện Nhi Hải Dương", 1.0), ("Bệnh viện Y học cổ truyền Hải Phòng", 0.7),
    ("Bệnh viện Mắt Hải Phòng", 0.6), ("Bệnh viện Phổi Hải Phòng", 0.5), ("Bệnh viện Phụ sản Hải Dương", 0.8),
    ("Bệnh viện Tâm thần Hải Phòng", 0.3), ("Bệnh viện Ung bướu Hải Phòng", 0.6),
    ("Bệnh viện Phục hồi chức năng Hải Phòng", 0.3), ("Bệnh viện Da liễu Hải Phòng", 0.4),
    ("Bệnh viện Y học cổ truyền Hải Dương", 0.5), ("Bệnh viện Lao và Bệnh phổi Hải Dương", 0.4),
    ("Bệnh viện Nội tiết Hải Phòng", 0.4), ("Bệnh viện Mắt Hải Dương", 0.4), ("Bệnh viện Quốc tế Hải Phòng", 0.8),
    ("Bệnh viện Đa khoa Hồng Đức", 0.6), ("Bệnh viện Đa khoa Medlatec Hải Phòng", 0.6),
    ("Bệnh viện Tâm thần Hải Dương", 0.2), ("Bệnh viện Đa khoa Vĩnh Bảo", 0.7), ("Bệnh viện Đa khoa Chí Linh", 0.6),
)
_CLINIC_NAMES = ("An Bình", "Hồng Phúc", "Thiện Tâm", "Việt Hàn", "Đức Minh", "An Khang", "Hòa Bình", "Tâm Đức",
                 "Phúc An", "Bình An", "Sài Gòn", "Hà Nội", "Quốc Tế", "Thành Công", "Minh Đức", "Hưng Thịnh",
                 "Nhân Ái", "Hoàng Long", "Vạn Phúc", "Song An")
_UNIT_DISTRICT_OVERRIDE = {"10543": "Thành phố Hải Dương", "10756": "Huyện Kim Thành"}  # units with no recorded lineage

# Visit split per place of care: (station, regional centre, city hospitals, private clinics).
_SPLIT_INSURED = (0.25, 0.30, 0.30, 0.15)
_SPLIT_UNINSURED = (0.10, 0.20, 0.25, 0.45)
_ADMISSION = {"benh_vien": 0.11, "trung_tam_y_te": 0.08, "tram_y_te": 0.003, "phong_kham": 0.0}
_SEASON = (1.02, 0.84, 1.08, 1.03, 0.98, 0.97, 1.00, 1.04, 1.05, 1.04, 0.99, 1.00)
UNINSURED_FACTOR = 0.45

# ICD-10 (code, weight) by age group; sex-specific codes marked with their sex.
_ICD = {
    "child": (("J06.9", 25), ("J20.9", 10), ("A09", 8), ("J18.9", 5), ("H66.9", 5), ("B08.4", 4), ("K02.9", 5),
              ("L30.9", 5), ("Z00.1", 10), ("A90", 2), ("J45.9", 3), ("R50.9", 8)),
    "adult": (("J06.9", 12), ("K29.7", 10), ("I10", 8), ("M54.5", 8), ("E11.9", 5), ("K21.9", 5), ("Z00.0", 10),
              ("N39.0", 4), ("S93.4", 3), ("S62.6", 2), ("O80", 3, "F"), ("Z34.9", 4, "F"), ("J02.9", 6),
              ("H10.9", 3), ("L23.9", 2), ("F41.9", 2), ("A90", 2)),
    "elderly": (("I10", 25), ("E11.9", 12), ("I25.9", 6), ("M17.9", 8), ("J44.9", 6), ("I63.9", 4), ("E78.5", 8),
                ("K29.7", 5), ("N40", 4, "M"), ("H25.9", 4), ("C34.9", 1), ("J18.9", 3)),
}


def visit_rate(age: int) -> float:
    """Visits a year of an insured person of this age (the uninsured: x UNINSURED_FACTOR)."""
    if age < 6:
        return 3.0
    if age < 18:
        return 1.3
    if age < 40:
        return 1.2
    if age < 60:
        return 2.0
    if age < 75:
        return 3.5
    return 4.5


@dataclass
class Facility:
    code: str
    name: str
    tier: str          # thanh_pho | khu_vuc | xa
    kind: str          # benh_vien | trung_tam_y_te | tram_y_te | phong_kham
    unit: str
    weight: float = 1.0
    closes: int | None = None     # month index from which a closed clinic no longer reports


def _district_of(unit: reference.AdminUnit) -> str:
    return _UNIT_DISTRICT_OVERRIDE.get(unit.unit_code) or unit.former_district or unit.unit_name


def _short(district: str) -> str:
    for prefix in ("Thành phố ", "Thị xã ", "Huyện ", "Quận "):
        if district.startswith(prefix):
            return district[len(prefix):]
    return district


class HealthGenerator:
    def __init__(self, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
                 sample_share: float = SAMPLE_SHARE) -> None:
        self.seed, self.sf, self.sample_share = seed, sf, sample_share
        self.options = {"fault_rates": fault_rates, "sample_share": sample_share}
        self.stats = GenerationStats(system=SYSTEM.name)
        self.faults = Faults(SYSTEM.name, seed, DEFAULT_FAULT_RATES, fault_rates, self.stats)
        self.rng = rng_for(SYSTEM.name, seed, "visits")
        self.units = reference.admin_units()
        self.facilities = self._facilities()
        self._choices = {u.unit_code: (self._choice_table(u, _SPLIT_INSURED), self._choice_table(u, _SPLIT_UNINSURED))
                         for u in self.units}

    # -- facilities -----------------------------------------------------------------
    def _facilities(self) -> list[Facility]:
        rng = rng_for(SYSTEM.name, self.seed, "facilities")
        serial: Counter = Counter()

        def code(unit: reference.AdminUnit) -> str:
            prefix = "30" if unit.former_province == "Hải Dương" else "31"
            serial[prefix] += 1
            if serial[prefix] > 999:
                raise OverflowError("more than 999 facilities in one province prefix: lower CLINICS_PER_SF")
            return f"{prefix}{serial[prefix]:03d}"

        by_district: dict[str, list[reference.AdminUnit]] = {}
        for u in self.units:
            by_district.setdefault(_district_of(u), []).append(u)
        hd = [u for u in self.units if u.former_province == "Hải Dương" and u.unit_type == "phuong"]
        hp = [u for u in self.units if u.former_province == "Hải Phòng" and u.unit_type == "phuong"]
        out: list[Facility] = []
        n_hosp = min(len(_CITY_HOSPITALS), max(4, round(HOSPITALS_PER_SF * self.sf)))
        for name, weight in _CITY_HOSPITALS[:n_hosp]:
            unit = rng.choice(hd if "Hải Dương" in name or "Chí Linh" in name else hp)
            out.append(Facility(code(unit), name, "thanh_pho", "benh_vien", unit.unit_code, weight))
        for district, units in by_district.items():
            out.append(Facility(code(units[0]), f"Trung tâm Y tế khu vực {_short(district)}", "khu_vuc",
                                "trung_tam_y_te", units[0].unit_code))
        for u in self.units:
            out.append(Facility(code(u), f"Trạm Y tế {u.unit_full_name}", "xa", "tram_y_te", u.unit_code))
        weights = [3.0 if u.unit_type == "phuong" else 1.0 for u in self.units]
        n_clinics = min(1200, scaled(CLINICS_PER_SF, self.sf, minimum=3))
        for i in range(n_clinics):
            unit = rng.choices(self.units, weights)[0]
            name = f"Phòng khám đa khoa {rng.choice(_CLINIC_NAMES)} {unit.unit_name}"
            closes = None
            if rng.random() < self.faults.rates["closed_clinic"]:
                closes = rng.randrange(6, WINDOW_MONTHS - 2)
            out.append(Facility(code(unit), name, "xa", "phong_kham", unit.unit_code, rng.uniform(0.5, 1.5), closes))
        return out

    def _choice_table(self, unit: reference.AdminUnit, split: tuple[float, ...]) -> tuple[list[float], list[Facility]]:
        district = _district_of(unit)
        district_units = {u.unit_code for u in self.units if _district_of(u) == district}
        station = [f for f in self.facilities if f.kind == "tram_y_te" and f.unit == unit.unit_code]
        centre = [f for f in self.facilities if f.kind == "trung_tam_y_te" and f.unit in district_units][:1]
        hospitals = [f for f in self.facilities if f.kind == "benh_vien"]
        clinics = [f for f in self.facilities if f.kind == "phong_kham" and f.unit in district_units]
        parts = [(split[0], station), (split[1], centre), (split[2], hospitals),
                 (split[3], clinics) if clinics else (split[3], centre)]
        edges, targets, acc = [], [], 0.0
        for share, group in parts:
            total = sum(f.weight for f in group)
            for f in group:
                acc += share * f.weight / total
                edges.append(acc)
                targets.append(f)
        edges[-1] = 1.0
        return edges, targets

    def facility_rows(self) -> list[tuple]:
        faults, frng = self.faults, self.faults.rng
        rows = []
        for f in self.facilities:
            if f.closes is not None:
                faults.count("hard_delete")
                continue
            name, unit = f.name, f.unit
            if faults.hit("unaccented_name"):
                name = fold_diacritics(name)
                faults.count("unaccented_name")
            if faults.hit("old_admin_unit"):
                unit = old_unit_code(unit, frng)
                faults.count("old_admin_unit")
            rows.append((f.code, name, f.tier, f.kind, unit))
            if faults.hit("exact_duplicate"):
                rows.append(rows[-1])
                faults.count("exact_duplicate")
        return rows

    # -- people: visit sample and expected volumes -------------------------------------
    def visits(self, cache: Any = None, workers: int | None = None
               ) -> tuple[list[tuple], dict[tuple[str, bool], float]]:
        """Stream the people once: the sampled visits (in the order a reporting system receives
        them) and the expected visits a year per (facility code, insured)."""
        parts = map_blocks(_visit_part, self.seed, self.sf, cache, workers, self.options)
        sample = [v for part in parts for v in part[0]]
        unit_rate: Counter = Counter()
        for part in parts:
            unit_rate.update(part[1])
        expected: dict[tuple[str, bool], float] = Counter()
        for (unit, insured), rate in sorted(unit_rate.items()):
            edges, targets = self._choices[unit][0 if insured else 1]
            previous = 0.0
            for edge, facility in zip(edges, targets):
                expected[(facility.code, insured)] += rate * (edge - previous)
                previous = edge
        sample.sort(key=lambda v: (v[2], v[0], v[1].idx))
        return sample, expected

    def visit_part(self, cache: Any, blocks: tuple[int, int]) -> tuple[list[tuple], Counter]:
        """One chunk of blocks: its sampled visits and its expected visits a year per unit."""
        unit_rate: Counter = Counter()
        sample: list[tuple] = []
        window_days = (WINDOW_END - WINDOW_START).days + 1
        share = self.sample_share
        rng = self.rng
        for p in true_people(self.seed, self.sf, cache, blocks):
            if p.idx % BLOCK == 0:
                rng = self.rng = block_rng(SYSTEM.name, self.seed, "visits", p.idx // BLOCK)
            died = death_date(p)
            insured = category_at(p, work_of(p), REFERENCE_MONTH) is not None
            rate = visit_rate(age_on(p.birth, date(2025, 6, 1))) * (1.0 if insured else UNINSURED_FACTOR)
            start = max(WINDOW_START, p.birth)
            end = min(WINDOW_END, died) if died else WINDOW_END
            days = (end - start).days + 1
            if days <= 0:
                continue
            unit_rate[(p.unit, insured)] += rate * days / window_days   # exposure within the window
            k = _poisson(rate * days / 365.25 * share, rng.random())
            for _ in range(k):
                day = start + timedelta(days=rng.randrange(days))
                edges, targets = self._choices[p.unit][0 if insured else 1]
                facility = targets[bisect_right(edges, rng.random())]
                if facility.closes is not None and month_index(day) >= facility.closes:
                    facility = targets[0]     # closed: the commune station (first in the table)
                sample.append((facility.code, p, day, self._diagnosis(p, day), insured))
        return sample, unit_rate

    def _diagnosis(self, p: Person, day: date) -> str:
        age = age_on(p.birth, day)
        table = _ICD["child" if age < 15 else "adult" if age < 60 else "elderly"]
        options = [(c[0], c[1]) for c in table if len(c) == 2 or c[2] == p.sex]
        if age < 18 or age > 45:
            options = [(c, w) for c, w in options if c not in ("O80", "Z34.9")]
        codes, weights = zip(*options)
        return self.rng.choices(codes, weights)[0]

    def detail_rows(self, sample: list[tuple]) -> list[tuple]:
        faults, frng = self.faults, self.faults.rng
        rows: list[tuple] = []
        for code, p, day, icd, insured in sample:
            kind = faults.draw(("missing_value", "malformed_value", "invalid_identifier"))
            birth: date | None = p.birth
            if kind == "invalid_identifier":
                cccd, link = malformed_cccd(p.cccd, frng), "citizen_malformed"
                self.stats.links[link] += 1
            elif kind == "missing_value" and frng.random() < 0.6:
                cccd, link = None, "citizen_missing"
                self.stats.links[link] += 1
            else:
                cccd, birth = faults.link(p.cccd, p.birth)
                link = faults.last_link
                if kind == "missing_value":
                    icd = None
            if kind == "malformed_value":
                icd = frng.choice((icd.replace(".", "").lower(), icd.replace(".", ","), f"{icd};I10", f" {icd}"))
            if kind:
                faults.count(kind)
            row = (code, cccd, birth.isoformat() if birth else None, day.isoformat(), icd, insured)
            rows.append(row)
            if faults.hit("exact_duplicate"):
                rows.append(row)
                faults.count("exact_duplicate")
                self.stats.links[link] += 1
        return rows

    def report_rows(self, expected: dict[tuple[str, bool], float]) -> list[tuple]:
        """Monthly reports per facility and insurance status, in month order."""
        faults, frng = self.faults, self.faults.rng
        rng = rng_for(SYSTEM.name, self.seed, "reports")
        late = {f.code for f in self.facilities if rng.random() < faults.rates["late_report"]}
        rows: list[tuple] = []
        for m in range(WINDOW_MONTHS):
            first = month_start(m)
            season = _SEASON[first.month - 1]
            days = (month_start(m + 1) - first).days
            reported = month_start(m + 1) + timedelta(days=rng.randint(2, 12))
            for f in self.facilities:
                if f.closes is not None and m >= f.closes:
                    continue
                for insured in (True, False):
                    if m >= WINDOW_MONTHS - 2 and f.code in late:
                        faults.count("late_report")
                        continue
                    mean = expected.get((f.code, insured), 0.0) * days / 365.25 * season
                    visits = max(0, round(mean * (1 + rng.gauss(0, 0.04)))) if mean > 0 else 0
                    admitted = round(visits * _ADMISSION[f.kind] * (1 + rng.gauss(0, 0.1)))
                    admitted = min(visits, max(0, admitted))
                    thang = f"{first.year}-{first.month:02d}"
                    kind = faults.draw(("malformed_value",))
                    if kind:
                        faults.count(kind)
                        choice = frng.random()
                        if choice < 0.4:
                            thang = f"{first.month:02d}/{first.year}"
                        elif choice < 0.7:
                            visits = -visits if visits else -1
                        else:
                            admitted = visits + frng.randint(1, 50)
                    row = (f.code, thang, insured, visits, admitted, reported.isoformat())
                    rows.append(row)
                    u = frng.random()
                    if u < faults.rates["exact_duplicate"]:
                        rows.append(row)
                        faults.count("exact_duplicate")
                    elif u < faults.rates["exact_duplicate"] + faults.rates["near_duplicate"]:
                        corrected = max(0, round(visits * frng.uniform(0.9, 1.1)))
                        rows.append((f.code, thang, insured, corrected, min(admitted, corrected),
                                     (reported + timedelta(days=frng.randint(5, 40))).isoformat()))
                        faults.count("near_duplicate")
        return rows


def _visit_part(seed: int, sf: float, cache: Any, blocks: tuple[int, int], part: int,
                options: dict[str, Any]) -> tuple[list[tuple], Counter]:
    """One worker's share (module level, so worker processes can run it)."""
    return HealthGenerator(seed=seed, sf=sf, **options).visit_part(cache, blocks)


def _poisson(lam: float, u: float) -> int:
    """Inverse-CDF Poisson draw from one uniform (lam is small here)."""
    k, p = 0, math.exp(-lam)
    cumulative = p
    while u > cumulative and k < 50:
        k += 1
        p *= lam / k
        cumulative += p
    return k


def generate(target: str, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             sample_share: float = SAMPLE_SHARE, chunk_rows: int = 20_000,
             citizen_cache: Path | str | bool | None = None, workers: int | None = None) -> GenerationStats:
    """(Re)create the health database at ``target`` (a sqlite/postgresql/mysql URL)."""
    started = time.perf_counter()
    gen = HealthGenerator(seed=seed, sf=sf, fault_rates=fault_rates, sample_share=sample_share)
    kind = dbapi.dialect(target)
    if kind == "sqlite":
        dbapi.sqlite_path(target).unlink(missing_ok=True)
    sample, expected = gen.visits(citizen_cache, workers)
    tables = {
        "co_so_kham_chua_benh": gen.facility_rows(),
        "luot_kham_chi_tiet": gen.detail_rows(sample),
        "luot_kham": gen.report_rows(expected),
    }
    with dbapi.connect(target) as con:
        cur = con.cursor()
        for table, columns in _DDL.items():
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            tail = " CHARACTER SET utf8mb4" if kind == "mysql" else ""
            cur.execute(f"CREATE TABLE {table} ({columns[kind]}){tail}")
        for table, rows in tables.items():
            with_id = TABLE_COLUMNS[table][0] == "id"
            for start in range(0, len(rows), chunk_rows):
                chunk = rows[start:start + chunk_rows]
                if with_id:
                    chunk = [(start + i + 1, *r) for i, r in enumerate(chunk)]
                if kind == "sqlite":   # SQLite has no boolean type: 0/1
                    chunk = [tuple(int(v) if isinstance(v, bool) else v for v in r) for r in chunk]
                gen.stats.rows[table] += dbapi.insert_many(con, target, table, TABLE_COLUMNS[table], chunk)
    gen.stats.seconds = time.perf_counter() - started
    write_manifest(target, SYSTEM.name, seed, sf, gen.stats)
    return gen.stats
