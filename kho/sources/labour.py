"""Labour, employment and social protection (Lao động, việc làm và bảo trợ xã hội), generated.

Owners since the 2025 reorganisation: Sở Nội vụ (labour and employment; it absorbed the
labour department) and Sở Y tế (social protection, including the poor-household lists).
Both arrive as CSV drops under ``<target>/labour/``:

* ``lao_dong_viec_lam_YYYYQn.csv``: the quarterly labour-supply register ("thu thập, cập nhật
  thông tin cung lao động" that communes keep): every registered resident aged 15+ with
  ``so_cccd, ho_ten, ngay_sinh (dd/mm/yyyy), gioi_tinh, ma_dvhc, tinh_trang_viec_lam
  (co_viec | that_nghiep | ngoai_luc_luong), nganh_nghe`` (VSIC 2018 section letter, empty
  when not employed) ``, bao_hiem_that_nghiep`` (1/0). **Semicolon-separated**, UTF-8 without
  BOM, LF line ends (the labour software's own export). Default: the four quarters 2025Q4
  to 2026Q3. A quarterly file is a snapshot: people who are not re-surveyed or have died
  are simply absent from the next one (hard deletes).
* ``ho_ngheo_can_ngheo_YYYY.csv``: the poor and near-poor households of the year-end review
  (``ma_ho, so_cccd_chu_ho, ho_ten_chu_ho, loai (ngheo | can_ngheo), so_nhan_khau, ma_dvhc,
  nam``). **Comma-separated**, UTF-8 **with** BOM, CRLF (saved from Excel by the commune).
  Default years 2024 and 2025; households that escape poverty disappear from the next list.

Calibration (sources in brackets): labour force = 49.5% of the population and 1.95% of it
unemployed [seed digest §3.3: 1,050.6 thousand in the labour force, 1,030.1 thousand
employed, of 2.124 m people in 2024]; compulsory social insurance for ~36-40% of the
working-age population [VSS: 39.25% of the labour force in social insurance, 31.58% in
unemployment insurance, end-2023; Hải Phòng is more industrial than the average]; poverty:
no poor household and 5,944 near-poor households in old Hải Phòng at the end of 2024
(MoLISA review via viet-jo.com, 17/02/2025), i.e. ~0.9% of households; the rates used for
the former Hải Dương units (0.6% poor, 1.2% near-poor in 2024) are an assumption in line
with the Red River Delta's 1.40% multidimensional poverty rate.

The *work model* (:func:`work_of`) is shared with :mod:`kho.sources.insurance`: it is derived
from a person's life draws only, so an employee with compulsory insurance in the BHXH
extract is ``co_viec`` with unemployment insurance here, in the same months, with the same
employer, and loses both on the same job loss.
"""

from __future__ import annotations

import itertools
import math
import time
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from statistics import NormalDist
from typing import Any

from kho import reference
from kho.reference.vsic import division_of
from kho.sources.base import GenerationStats, SourceSystem, fold_diacritics, rng_for, scaled, write_manifest
from kho.sources.citizens import (BLOCK, LIFE_CHANGE, LIFE_FORMAL, LIFE_HOUSEHOLD, LIFE_LABOUR, LIFE_MISC,
                                  LIFE_SECTION, WINDOW_END, WINDOW_START, Person, age_on, block_rng, death_date,
                                  join_parts, map_blocks, merge_stats, month_index, month_start, true_people)
from kho.sources.faults import LINK_FAULT_RATES, Faults, misspell, old_unit_code
from kho.sources.identifiers import malformed_cccd, tax_check_digit

SYSTEM = SourceSystem(
    name="labour",
    title="Labour, employment and social protection",
    title_vi="Cơ sở dữ liệu lao động, việc làm và bảo trợ xã hội",
    owner="Sở Nội vụ (labour, employment) and Sở Y tế (social protection, since 2025)",
    form="file_drop",
    engine=None,
    objects={
        "lao_dong_viec_lam": ("so_cccd",),          # one file per quarter: the key holds within a file
        "ho_ngheo_can_ngheo": ("ma_ho", "nam"),
    },
    description="labour/lao_dong_viec_lam_YYYYQn.csv (';', UTF-8, quarterly snapshot) and "
                "labour/ho_ngheo_can_ngheo_YYYY.csv (',', UTF-8 with BOM, yearly list).",
)

LABOUR_COLUMNS = ("so_cccd", "ho_ten", "ngay_sinh", "gioi_tinh", "ma_dvhc", "tinh_trang_viec_lam", "nganh_nghe",
                  "bao_hiem_that_nghiep")
POVERTY_COLUMNS = ("ma_ho", "so_cccd_chu_ho", "ho_ten_chu_ho", "loai", "so_nhan_khau", "ma_dvhc", "nam")
LABOUR_SEP = ";"
POVERTY_SEP = ","
DEFAULT_QUARTERS = ("2025Q4", "2026Q1", "2026Q2", "2026Q3")
DEFAULT_YEARS = (2024, 2025)

DEFAULT_FAULT_RATES: dict[str, float] = {
    "exact_duplicate": 0.003,      # a row repeated in one file
    "near_duplicate": 0.003,       # the same person twice in one file, the name typed again
    "missing_value": 0.005,        # status, birth date or (employed) industry left empty
    "malformed_value": 0.004,      # industry as a VSIC code or words, birth year only, "Có" for 1
    "invalid_identifier": 0.003,   # CCCD cut, padded, an old CMND
    "unaccented_name": 0.006,
    "misspelled_name": 0.004,
    "old_admin_unit": 0.01,        # a pre-2025 commune code
    **LINK_FAULT_RATES,
}
NOT_RESURVEYED = 0.015             # share of the register missing from a quarter's file

# -- the work model (shared with insurance) -----------------------------------------------

# VSIC 2018 sections: (letter, share of employment, share formal (compulsory SI), median wage VND).
SECTIONS: tuple[tuple[str, float, float, int], ...] = (
    ("A", 12.0, 0.03, 5_000_000), ("B", 0.3, 0.75, 9_500_000), ("C", 30.0, 0.86, 8_800_000),
    ("D", 0.5, 0.95, 11_000_000), ("E", 0.6, 0.80, 8_000_000), ("F", 8.5, 0.35, 8_500_000),
    ("G", 13.0, 0.30, 7_800_000), ("H", 6.5, 0.58, 10_000_000), ("I", 5.0, 0.25, 6_800_000),
    ("J", 1.0, 0.85, 15_000_000), ("K", 1.2, 0.95, 14_000_000), ("L", 0.6, 0.50, 10_000_000),
    ("M", 1.0, 0.70, 12_000_000), ("N", 1.5, 0.60, 7_500_000), ("O", 3.0, 0.98, 9_000_000),
    ("P", 4.0, 0.95, 8_500_000), ("Q", 1.8, 0.90, 9_500_000), ("R", 0.6, 0.50, 7_500_000),
    ("S", 2.5, 0.10, 6_500_000), ("T", 1.5, 0.00, 5_500_000), ("U", 0.01, 1.00, 20_000_000),
)
MIN_WAGE = 4_960_000          # regional minimum wage, zone I, from 2024-07-01 (Decree 74/2024)
EMPLOYERS_PER_SF = 700        # ~32k active enterprises in the merged city / SF ~46.6


def _participation(age: int, sex: str) -> float:
    """Labour-force participation by age and sex (Vietnam LFS profile, tuned to the seed's 49.5%)."""
    if age < 15:
        return 0.0
    if age < 18:
        return 0.06
    if age < 20:
        return 0.40
    if age < 25:
        return 0.70
    if age < 50:
        return 0.93 if sex == "M" else 0.86
    if age < 55:
        return 0.90 if sex == "M" else 0.76
    if age < 60:
        return 0.82 if sex == "M" else 0.55
    if age < 65:
        return 0.50 if sex == "M" else 0.36
    if age < 70:
        return 0.28
    if age < 75:
        return 0.14
    return 0.04


@lru_cache(maxsize=2)
def _section_table(rural: bool) -> tuple[tuple[float, ...], tuple[str, ...]]:
    weights = [w * (2.2 if rural else 0.35) if letter == "A" else w for letter, w, _, _ in SECTIONS]
    total = sum(weights)
    edges, acc = [], 0.0
    for w in weights:
        acc += w / total
        edges.append(acc)
    return tuple(edges), tuple(letter for letter, *_ in SECTIONS)


_FORMAL = {letter: share for letter, _, share, _ in SECTIONS}
_WAGE = {letter: wage for letter, _, _, wage in SECTIONS}
_NORMAL = NormalDist()


@lru_cache(maxsize=1)
def _rural_units() -> frozenset[str]:
    return frozenset(u.unit_code for u in reference.admin_units() if u.unit_type != "phuong")


@lru_cache(maxsize=1)
def _hai_duong_units() -> frozenset[str]:
    return frozenset(u.unit_code for u in reference.admin_units() if u.former_province == "Hải Dương")


@dataclass(frozen=True, slots=True)
class Spell:
    """A stretch of months (from ``start``, a month index from 2024-01) in one work state."""

    start: int
    state: str              # co_viec | that_nghiep | ngoai_luc_luong
    section: str | None
    formal: bool            # compulsory social insurance through an employer
    employer: float         # employer draw in [0, 1) (see employer_code), -1 when none
    wage: int               # monthly contribution wage (formal) or 0
    since: int              # month index the formal job began (tu_thang), may be before 2024


_OUTSIDE = (Spell(-10_000, "ngoai_luc_luong", None, False, -1.0, 0, 0),)


_FORMAL_BORN_BY = date(WINDOW_START.year - 18, WINDOW_START.month, WINDOW_START.day)        # 18 at the start
_FORMAL_BORN_AFTER = {"M": date(WINDOW_END.year - 62, WINDOW_END.month, WINDOW_END.day),   # 61 at most at the end
                      "F": date(WINDOW_END.year - 58, WINDOW_END.month, WINDOW_END.day)}   # 57 at most


def formal_age_ok(person: Person) -> bool:
    """Of an age to hold a job with compulsory insurance for the whole window (18 to the
    retirement age: 61 for men, 57 for women around 2025-2026)."""
    return _FORMAL_BORN_AFTER[person.sex] < person.birth <= _FORMAL_BORN_BY


def work_of(person: Person) -> tuple[Spell, ...]:
    """The person's work spells over the window, derived from their life draws alone."""
    age = age_on(person.birth, date(2025, 6, 1))
    u = person.life[LIFE_LABOUR]
    p_lf = _participation(age, person.sex)
    if u >= p_lf:
        return _OUTSIDE
    v = u / p_lf                               # uniform again, within the labour force
    unemployed_share = 0.04 if age < 25 else 0.011
    edges, letters = _section_table(person.unit in _rural_units())
    section = letters[min(len(letters) - 1, bisect_right(edges, person.life[LIFE_SECTION]))]
    w = person.life[LIFE_FORMAL]
    formal = formal_age_ok(person) and w < _FORMAL[section]
    if formal:
        w2 = w / _FORMAL[section]
        employer = (w2 * 7_777.0) % 1.0
        z = _NORMAL.inv_cdf(min(0.999, max(0.001, (w2 * 7919.0) % 1.0)))
        wage = max(MIN_WAGE, int(_WAGE[section] * math.exp(0.38 * z)) // 1000 * 1000)
        since = -int(((w2 * 104_729.0) % 1.0) * 12 * min(15, max(1, age - 18)))
    else:
        employer, wage, since = -1.0, 0, 0
    first = Spell(-10_000, "that_nghiep" if v < unemployed_share else "co_viec",
                  None if v < unemployed_share else section, formal and v >= unemployed_share,
                  employer if v >= unemployed_share else -1.0, wage if v >= unemployed_share else 0, since)
    c = person.life[LIFE_CHANGE]
    if first.formal and c < 0.10:              # a job loss, a spell of unemployment, a new job
        at = int(c / 0.10 * 34)
        k = 1 + int((c * 1_000.0) % 8)
        lost = Spell(at, "that_nghiep", None, False, -1.0, 0, 0)
        if (c * 10_000.0) % 1.0 < 0.5:
            new_employer = (employer * 31.0 + 0.37) % 1.0
            again = Spell(at + k, "co_viec", section, True, new_employer, wage, at + k)
        else:
            again = Spell(at + k, "co_viec", section, False, -1.0, 0, 0)
        return (first, lost, again)
    if not first.formal and formal_age_ok(person) and c < 0.07:   # hired into a formal job
        at = int(c / 0.07 * 34)
        new_section = section if _FORMAL[section] > 0.2 else "C"
        hired_wage = max(MIN_WAGE, _WAGE[new_section] // 1000 * 1000)
        employer = (c * 1_000.0) % 1.0
        return (first, Spell(at, "co_viec", new_section, True, employer, hired_wage, at))
    return (first,)


def spell_at(spells: tuple[Spell, ...], month: int) -> Spell:
    current = spells[0]
    for spell in spells[1:]:
        if spell.start <= month:
            current = spell
    return current


def unemployment_insured(spell: Spell) -> bool:
    """Unemployment insurance comes with a formal job, except for civil servants (công chức)."""
    return spell.formal and spell.section != "O"


PUBLIC_SECTIONS = ("O", "P", "Q")   # state agencies and public service units employ most of these
PUBLIC_EMPLOYERS_PER_SF = 60


def vsic_section(code: str) -> str | None:
    """Section letter of a VSIC code (any level from the division down), None if unreadable
    (:func:`kho.reference.vsic.division_of`)."""
    division = division_of(str(code))
    return division.section if division else None


def _generated_codes(prefixes: tuple[str, ...], first_body: int, count: int) -> list[str]:
    codes: list[str] = []
    k = 0
    while len(codes) < count:
        body = first_body + k * 7_919 % 190_000       # bodies stay below first_body + 190,000
        province = prefixes[k % len(prefixes)]
        k += 1
        check = tax_check_digit(f"{province}{body:07d}")
        if check is not None:
            codes.append(f"{province}{body:07d}{check}")
    return codes


@lru_cache(maxsize=4)
def employer_registry(seed: int, sf: float, link_enterprises: bool = True) -> dict[str, tuple[str, ...]]:
    """Employers' 10-digit codes per VSIC section: who pays compulsory insurance for whom.

    Enterprises are the active ones of business registration
    (:func:`kho.sources.enterprise.enterprise_directory`, their tax codes), so an employee's
    ``ma_don_vi`` in the BHXH extract is an enterprise of the worker's industry that the
    enterprise register knows. Public agencies and public service units (sections O, P, Q)
    are not enterprises: they get generated 10-digit tax codes (province 02 or 08, sequence
    from 9,600,000 up, which business registration does not reach, valid check digit).
    Without an enterprise module (or with ``link_enterprises=False``), every employer code
    is generated that way.
    """
    by_section: dict[str, list[str]] = {}
    enterprise = None
    if link_enterprises:
        try:
            from kho.sources import enterprise  # type: ignore[no-redef]
        except ModuleNotFoundError as exc:
            if exc.name != "kho.sources.enterprise":
                raise
    if enterprise is not None:
        directory = getattr(enterprise, "enterprise_directory", None)
        if directory is not None:
            enterprises = directory(seed, sf)
        else:   # the documented stream: enterprises first, then household businesses
            enterprises = itertools.takewhile(lambda e: e.kind == "enterprise", enterprise.true_enterprises(seed, sf))
        for e in enterprises:
            section = vsic_section(e.vsic_code)
            if e.status == "dang_hoat_dong" and e.tax_code and section:
                by_section.setdefault(section, []).append(e.tax_code)
    else:
        private = [(letter, weight * formal) for letter, weight, formal, _ in SECTIONS if letter not in PUBLIC_SECTIONS]
        total = sum(w for _, w in private)
        wanted = scaled(EMPLOYERS_PER_SF, sf, minimum=40)
        counts = [max(1, round(wanted * w / total)) for _, w in private]   # in proportion to formal jobs
        generated = iter(_generated_codes(("02", "02", "08"), 9_000_000, sum(counts)))
        for (letter, _), n in zip(private, counts):
            by_section[letter] = [next(generated) for _ in range(n)]
    public = _generated_codes(("02", "08"), 9_600_000, scaled(PUBLIC_EMPLOYERS_PER_SF, sf, minimum=6))
    for i, code in enumerate(public):
        by_section.setdefault(PUBLIC_SECTIONS[i % len(PUBLIC_SECTIONS)], []).append(code)
    # a section business registration has no enterprise in (branches of banks registered
    # elsewhere, households as employers): a few generated employers of its own
    missing = [letter for letter, *_ in SECTIONS if letter not in by_section]
    extra = _generated_codes(("02", "08"), 9_800_000, len(missing) * scaled(5, sf, minimum=3))
    for i, code in enumerate(extra):
        by_section.setdefault(missing[i % len(missing)], []).append(code)
    return {letter: tuple(codes) for letter, codes in sorted(by_section.items())}


def employer_code(registry: dict[str, tuple[str, ...]], spell: Spell) -> str:
    """The employer of a formal spell: a Zipf-like pick in its section (a few large firms)."""
    codes = registry[spell.section or "C"]
    return codes[min(len(codes) - 1, int(len(codes) * spell.employer ** 2.5))]


# -- poverty (shared with insurance: poor households' members are covered by the budget) ---

# (poor, near-poor) shares of households per former province and year.
POVERTY_RATES: dict[tuple[str, int], tuple[float, float]] = {
    ("Hải Phòng", 2024): (0.0, 0.0091), ("Hải Phòng", 2025): (0.0, 0.0078),
    ("Hải Dương", 2024): (0.006, 0.012), ("Hải Dương", 2025): (0.0045, 0.0105),
}
NEW_POOR_BAND = (0.5, 0.0015)      # households that fall into near-poverty in a later year
_MAX_POVERTY_V = max(poor + near for poor, near in POVERTY_RATES.values())
HEAD_SHARE = 0.47                  # adults 25+ who head a household (~3.3 persons a household)


def poverty_of(person: Person, year: int) -> str | None:
    """'ngheo', 'can_ngheo' or None: the household this person heads in the year-end list."""
    u = person.life[LIFE_HOUSEHOLD]
    if u >= HEAD_SHARE or year - person.birth.year < 25:     # age on 31 December = year - birth year
        return None
    v = u / HEAD_SHARE
    if v >= _MAX_POVERTY_V and v < NEW_POOR_BAND[0]:
        return None
    province = "Hải Dương" if person.unit in _hai_duong_units() else "Hải Phòng"
    poor, near = POVERTY_RATES.get((province, year), POVERTY_RATES[(province, 2025 if year > 2025 else 2024)])
    if v < poor:
        return "ngheo"
    if v < poor + near:
        return "can_ngheo"
    if year > 2024 and NEW_POOR_BAND[0] <= v < NEW_POOR_BAND[0] + NEW_POOR_BAND[1] * (year - 2024):
        return "can_ngheo"
    return None


def household_size(person: Person) -> int:
    x = (person.life[LIFE_MISC] * 9_973.0) % 1.0
    for size, edge in ((1, 0.24), (2, 0.48), (3, 0.66), (4, 0.83), (5, 0.93), (6, 0.98)):
        if x < edge:
            return size
    return 7


def household_code(person: Person) -> str:
    return f"{person.unit}{(person.idx * 7_919 + 1_234) % 10_000_000:07d}"


# -- files ----------------------------------------------------------------------------------

def _quarter_end_month(quarter: str) -> int:
    year, q = int(quarter[:4]), int(quarter[-1])
    return month_index(date(year, q * 3, 1))


def _vn_date(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


class LabourGenerator:
    """Options and the per-person logic; :meth:`write_part` writes one chunk of blocks."""

    def __init__(self, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
                 quarters: tuple[str, ...] = DEFAULT_QUARTERS, years: tuple[int, ...] = DEFAULT_YEARS) -> None:
        self.seed, self.sf, self.quarters, self.years = seed, sf, tuple(quarters), tuple(years)
        self.options = {"fault_rates": fault_rates, "quarters": self.quarters, "years": self.years}
        self.stats = GenerationStats(system=SYSTEM.name)
        self.faults = Faults(SYSTEM.name, seed, DEFAULT_FAULT_RATES, fault_rates, self.stats)
        self.rng = rng_for(SYSTEM.name, seed, "survey")
        self.labour_names = [f"lao_dong_viec_lam_{q}.csv" for q in self.quarters]
        self.poverty_names = [f"ho_ngheo_can_ngheo_{y}.csv" for y in self.years]

    def _person_fields(self, p: Person, rows: int) -> tuple[str, str, str, str, str, str | None]:
        """(cccd, name, birth, sex, unit, spoiled) as the register stores this person, with the
        person-level faults (they persist across quarters) counted once per row written."""
        faults, frng = self.faults, self.faults.rng
        kind = faults.draw(("invalid_identifier", "unaccented_name", "misspelled_name", "missing_value",
                            "malformed_value"))
        cccd, name, birth, unit = p.cccd, p.name, _vn_date(p.birth), p.unit
        spoiled = None
        if kind == "invalid_identifier":
            cccd = malformed_cccd(cccd, frng)
            self.stats.links["citizen_malformed"] += rows
            faults.last_link = "citizen_malformed"
        else:
            cccd, born = faults.link(cccd, p.birth, n=rows)
            if born is not p.birth:
                birth = _vn_date(born)  # type: ignore[arg-type]
        if kind == "unaccented_name":
            name = fold_diacritics(name)
        elif kind == "misspelled_name":
            name = misspell(name, frng)
        elif kind == "missing_value":
            spoiled = frng.choice(("tinh_trang_viec_lam", "ngay_sinh", "nganh_nghe"))
            if spoiled == "ngay_sinh":
                birth = ""
        elif kind == "malformed_value":
            spoiled = frng.choice(("nganh_nghe", "ngay_sinh", "bao_hiem_that_nghiep"))
            if spoiled == "ngay_sinh":
                birth = str(p.birth.year)
        if kind:
            faults.count(kind, rows)
        if faults.hit("old_admin_unit"):
            unit = old_unit_code(unit, frng)
            faults.count("old_admin_unit", rows)
        return cccd, name, birth, "Nam" if p.sex == "M" else "Nữ", unit, spoiled

    def write_part(self, folder: Path, cache: Any, blocks: tuple[int, int], part: int) -> dict[str, Any]:
        """Write this chunk's rows of the quarterly files to ``.<file>.part<k>`` (part 0 with the
        header); return the counters, the part paths and this chunk's poverty-list lines."""
        ends = [_quarter_end_month(q) for q in self.quarters]
        ends_day = [month_start(m + 1) for m in ends]      # first day after the quarter
        paths = [folder / f".{name}.part{part}" for name in self.labour_names]
        handles = [open(path, "w", encoding="utf-8", newline="") for path in paths]
        buffers: list[list[str]] = [[] for _ in self.quarters]
        poverty_lines: list[list[str]] = [[] for _ in self.years]
        counts: Counter = Counter()
        faults = self.faults
        try:
            if part == 0:
                for h in handles:
                    h.write(LABOUR_SEP.join(LABOUR_COLUMNS) + "\n")
            for p in true_people(self.seed, self.sf, cache, blocks):
                if p.idx % 8_192 == 0:                    # bounded memory: write what is buffered
                    self._flush(buffers, handles, counts)
                    if p.idx % BLOCK == 0:
                        faults.at_block(p.idx // BLOCK)
                        self.rng = block_rng(SYSTEM.name, self.seed, "survey", p.idx // BLOCK)
                frng, rng = faults.rng, self.rng
                died = death_date(p)
                # quarters in which the person is in the register
                born = p.birth
                turn15 = date(born.year + 15, born.month, 28 if (born.month, born.day) == (2, 29) else born.day)
                present = [first_after >= turn15 and (died is None or died >= first_after)
                           and rng.random() >= NOT_RESURVEYED for first_after in ends_day]
                n_rows = sum(present)
                if n_rows:
                    spells = work_of(p)
                    cccd, name, birth, sex, unit, spoiled = self._person_fields(p, n_rows)
                    link_kind = faults.last_link
                    head = LABOUR_SEP.join((cccd, name, birth, sex, unit)) + LABOUR_SEP
                    was = False
                    for qi, here in enumerate(present):
                        if not here:
                            if was:
                                self.stats.faults["hard_delete"] += 1
                            was = False
                            continue
                        was = True
                        spell = spell_at(spells, ends[qi])
                        state = spell.state
                        section = spell.section or ""
                        bhtn = "1" if unemployment_insured(spell) else "0"
                        if spoiled == "tinh_trang_viec_lam":
                            state = ""
                        elif spoiled == "nganh_nghe":
                            if section and frng.random() < 0.5:
                                section = frng.choice((f"{section}{frng.randint(10, 99)}", section.lower(),
                                                       "Công nghiệp chế biến, chế tạo"))
                            elif section:
                                section = ""
                        elif spoiled == "bao_hiem_that_nghiep":
                            bhtn = "Có" if bhtn == "1" else "Không"
                        line = f"{head}{state}{LABOUR_SEP}{section}{LABOUR_SEP}{bhtn}\n"
                        buf = buffers[qi]
                        buf.append(line)
                        d = frng.random()
                        if d < faults.rates["exact_duplicate"]:
                            buf.append(line)
                            faults.count("exact_duplicate")
                            self.stats.links[link_kind] += 1
                        elif d < faults.rates["exact_duplicate"] + faults.rates["near_duplicate"]:
                            buf.append(LABOUR_SEP.join((cccd, misspell(name, frng), birth, sex, unit)) + LABOUR_SEP
                                       + f"{state}{LABOUR_SEP}{section}{LABOUR_SEP}{bhtn}\n")
                            faults.count("near_duplicate")
                            self.stats.links[link_kind] += 1
                for yi, year in enumerate(self.years):
                    loai = poverty_of(p, year)
                    if loai and (died is None or died.year > year):
                        poverty_lines[yi].extend(self._poverty_rows(p, loai, year))
            self._flush(buffers, handles, counts)
        finally:
            for h in handles:
                h.close()
        for name, lines in zip(self.poverty_names, poverty_lines):
            counts[name] += len(lines)
            self.stats.rows["ho_ngheo_can_ngheo"] += len(lines)
        return {"rows": self.stats.rows, "faults": self.stats.faults, "links": self.stats.links,
                "files": dict(counts), "paths": [str(path) for path in paths], "poverty": poverty_lines}

    def _flush(self, buffers: list[list[str]], handles: list[Any], counts: Counter) -> None:
        for h, buf, name in zip(handles, buffers, self.labour_names):
            if buf:
                h.write("".join(buf))
                counts[name] += len(buf)
                self.stats.rows["lao_dong_viec_lam"] += len(buf)
                buf.clear()

    def _poverty_rows(self, p: Person, loai: str, year: int) -> list[str]:
        faults, frng = self.faults, self.faults.rng
        kind = faults.draw(("missing_value", "malformed_value", "invalid_identifier", "unaccented_name",
                            "misspelled_name"))
        size = str(household_size(p))
        name = p.name
        if kind == "invalid_identifier":
            cccd = malformed_cccd(p.cccd, frng)
            self.stats.links["citizen_malformed"] += 1
            faults.last_link = "citizen_malformed"
        elif kind == "missing_value" and frng.random() < 0.5:
            cccd = ""
            self.stats.links["citizen_missing"] += 1
        else:
            cccd = faults.link(p.cccd)[0]
            if kind == "missing_value":
                size = ""
        if kind == "malformed_value":
            size = frng.choice(("0", "3 người", "-1"))
        elif kind == "unaccented_name":
            name = fold_diacritics(name)
        elif kind == "misspelled_name":
            name = misspell(name, frng)
        if kind:
            faults.count(kind)
        unit = p.unit
        if faults.hit("old_admin_unit"):
            unit = old_unit_code(unit, frng)
            faults.count("old_admin_unit")
        line = POVERTY_SEP.join((household_code(p), cccd, name, loai, size, unit, str(year))) + "\r\n"
        if faults.hit("exact_duplicate"):
            faults.count("exact_duplicate")
            self.stats.links[faults.last_link if cccd else "citizen_missing"] += 1
            return [line, line]
        return [line]


def _write_part(seed: int, sf: float, cache: Any, blocks: tuple[int, int], part: int, options: dict[str, Any],
                folder: str) -> dict[str, Any]:
    """One worker's share (module level, so worker processes can run it)."""
    return LabourGenerator(seed=seed, sf=sf, **options).write_part(Path(folder), cache, blocks, part)


def generate(target: str | Path, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             quarters: tuple[str, ...] = DEFAULT_QUARTERS, years: tuple[int, ...] = DEFAULT_YEARS,
             citizen_cache: Path | str | bool | None = None, workers: int | None = None) -> GenerationStats:
    """Write the labour and poverty drops under ``<target>/labour/`` (same bytes for any ``workers``)."""
    started = time.perf_counter()
    gen = LabourGenerator(seed=seed, sf=sf, fault_rates=fault_rates, quarters=quarters, years=years)
    folder = Path(target) / "labour"
    folder.mkdir(parents=True, exist_ok=True)
    parts = map_blocks(_write_part, seed, sf, citizen_cache, workers, gen.options, str(folder))
    merge_stats(gen.stats, parts)
    files: dict[str, Any] = {}
    for i, name in enumerate(gen.labour_names):
        join_parts(folder / name, [Path(part["paths"][i]) for part in parts])
        files[name] = {"rows": sum(part["files"].get(name, 0) for part in parts), "sep": LABOUR_SEP,
                       "encoding": "utf-8"}
    for i, name in enumerate(gen.poverty_names):
        with open(folder / name, "w", encoding="utf-8-sig", newline="") as out:
            out.write(POVERTY_SEP.join(POVERTY_COLUMNS) + "\r\n")
            for part in parts:
                out.write("".join(part["poverty"][i]))
        files[name] = {"rows": sum(part["files"].get(name, 0) for part in parts), "sep": POVERTY_SEP,
                       "encoding": "utf-8-sig"}
    gen.stats.seconds = time.perf_counter() - started
    write_manifest(folder, SYSTEM.name, seed, sf, gen.stats, files=files)
    return gen.stats
