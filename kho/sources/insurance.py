"""Social and health insurance participation (BHXH / BHYT), generated as monthly CSV extracts.

Owner: Bảo hiểm xã hội thành phố Hải Phòng (the city office of Vietnam Social Security).
The file drop is ``<target>/insurance/bhxh_tham_gia_YYYYMM.csv``, one snapshot of the
participants per month (default: the 12 months 2025-11 to 2026-10), **UTF-8 with a BOM,
comma-separated, CRLF line ends**, as the agency's export tool writes them.

Columns up to 2026-04 (schema v1)::

    ma_so_bhxh, so_cccd, ho_ten, ngay_sinh, loai_doi_tuong, ma_don_vi, muc_luong_dong,
    tu_thang, den_thang, ma_dvhc

**Schema change from the 2026-05 extract on (v2)**: ``ma_dvhc`` is renamed ``ma_xa`` (same
codes: the commune-level unit, districts having been abolished) and a column
``so_dien_thoai`` (mobile number, empty for children and where unknown) is appended at the
end. ``SCHEMA_CHANGE_MONTH`` and the manifest's per-file column lists say so too.

* ``ma_so_bhxh``: the 10-digit social-insurance code, issued once for life: two digits of
  the issuing province (here the CCCD's province digits: 31 Hải Phòng, 30 Hải Dương, ...)
  and eight serial digits.
* ``ngay_sinh``: dd/mm/yyyy. ``tu_thang`` / ``den_thang``: MM/YYYY of the current
  participation period (``den_thang`` empty when open-ended).
* ``loai_doi_tuong``: ``bat_buoc`` (employees: compulsory social + health insurance),
  ``tu_nguyen`` (voluntary social insurance), ``ho_gia_dinh`` (household health insurance),
  ``ngan_sach_dong`` (paid by the state budget: children under 6, poor and near-poor
  households, people 75+ on a social pension), ``hoc_sinh_sinh_vien`` (pupils and students),
  ``huu_tri`` (pensioners, paid by the social-insurance fund).
* ``ma_don_vi``: the employer's 10-digit enterprise (tax) code for ``bat_buoc``, empty
  otherwise: an active enterprise of the worker's VSIC section from business registration
  (:func:`kho.sources.labour.employer_registry`), or a public agency's code for sections O/P/Q.
* ``muc_luong_dong``: contribution base in VND: the wage for employees, the declared income
  for voluntary members, the base salary (2,340,000 since 2024-07-01) for the others.

Coverage, calibrated [sources]: health insurance ~93-94% of residents [VSS: 93.35% of the
population at end-2023; the seed's ~1,987,356 participants for ~2.12 m people in old Hải
Phòng, 93.6%]; social insurance (compulsory + voluntary) ~40% of the working-age population
[VSS: 39.25% of the labour force end-2023]. Employment comes from the labour work model
(:func:`kho.sources.labour.work_of`), deaths from civil status: the same people, months and
employers in all three systems.

Faults (defaults below, counted per extract row): a second BHXH code issued to the same
person (near duplicate: both rows in every extract), rows repeated within an extract, CCCD
missing (common in BHXH data before the 2023-2024 clean-up against the population
database), birth dates with the year only, wages written "5.310.000", 9-digit BHXH codes,
malformed CCCD (including leading zeros lost by a spreadsheet), unaccented or misspelled
names, pre-2025 commune codes; the schema change; and hard deletes: people who stop
participating (death, job loss, a household card not renewed) are simply absent from the
next extract.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from kho.sources.base import GenerationStats, SourceSystem, fold_diacritics, write_manifest
from kho.sources.citizens import (BLOCK, LIFE_COVER, LIFE_MISC, Person, age_on, death_date, join_parts, map_blocks,
                                  merge_stats, month_index, month_start, true_people)
from kho.sources.faults import LINK_FAULT_RATES, Faults, misspell, old_unit_code
from kho.sources.identifiers import bhxh_code, malformed_cccd
from kho.sources.labour import Spell, employer_code, employer_registry, poverty_of, spell_at, work_of

SYSTEM = SourceSystem(
    name="insurance",
    title="Social and health insurance participation",
    title_vi="Cơ sở dữ liệu bảo hiểm xã hội, bảo hiểm y tế",
    owner="Bảo hiểm xã hội thành phố Hải Phòng (Vietnam Social Security, city office)",
    form="file_drop",
    engine=None,
    objects={"bhxh_tham_gia": ("ma_so_bhxh",)},   # one file per month: the key holds within a file
    description="insurance/bhxh_tham_gia_YYYYMM.csv: monthly participant snapshots, UTF-8 with BOM, ',', CRLF; "
                "from 2026-05 ma_dvhc is renamed ma_xa and so_dien_thoai is appended.",
)

COLUMNS_V1 = ("ma_so_bhxh", "so_cccd", "ho_ten", "ngay_sinh", "loai_doi_tuong", "ma_don_vi", "muc_luong_dong",
              "tu_thang", "den_thang", "ma_dvhc")
COLUMNS_V2 = ("ma_so_bhxh", "so_cccd", "ho_ten", "ngay_sinh", "loai_doi_tuong", "ma_don_vi", "muc_luong_dong",
              "tu_thang", "den_thang", "ma_xa", "so_dien_thoai")
SCHEMA_CHANGE_MONTH = "2026-05"     # first extract in schema v2
DEFAULT_LAST_MONTH = "2026-10"
DEFAULT_MONTHS = 12
FLUSH_EVERY = 8_192                 # people between writes (divides BLOCK)
BASE_SALARY = 2_340_000             # lương cơ sở from 2024-07-01 (Decree 73/2024)
POVERTY_LINE_RURAL = 1_500_000      # the lowest declarable income for voluntary insurance
CATEGORIES = ("bat_buoc", "tu_nguyen", "ho_gia_dinh", "ngan_sach_dong", "hoc_sinh_sinh_vien", "huu_tri")

DEFAULT_FAULT_RATES: dict[str, float] = {
    "exact_duplicate": 0.002,      # a row repeated within one extract
    "near_duplicate": 0.003,       # a second BHXH code for the same person
    "missing_value": 0.006,        # CCCD or birth date empty
    "malformed_value": 0.004,      # birth year only, wage with thousands dots
    "invalid_identifier": 0.003,   # 9-digit BHXH code, or a malformed CCCD
    "unaccented_name": 0.006,
    "misspelled_name": 0.004,
    "old_admin_unit": 0.01,
    **LINK_FAULT_RATES,
}


@lru_cache(maxsize=None)
def _mm_yyyy(month: int) -> str:
    day = month_start(month)
    return f"{day.month:02d}/{day.year}"


def _threshold_month(birth: date, years: int) -> int:
    """First month (index) whose first day finds the person ``years`` old."""
    m = month_index(date(birth.year + years, birth.month, 1))
    return m if birth.day == 1 else m + 1


def _pension_age(person: Person) -> int:
    return 61 if person.sex == "M" else 57


def category_at(person: Person, spells: tuple[Spell, ...], month: int, age: int | None = None) -> tuple | None:
    """(category, employer spell or None, contribution base, tu_thang, den_thang or None, kind of period)
    for the month, or None when not insured. The coverage rules, in order of precedence.
    ``age``: the person's age on the month's first day, when the caller knows it."""
    day = month_start(month)
    if age is None:
        age = age_on(person.birth, day)
    spell = spell_at(spells, month) if len(spells) > 1 else spells[0]
    if spell.formal:
        return ("bat_buoc", spell, spell.wage, spell.since, None, "open")
    if age < 6:
        return ("ngan_sach_dong", None, BASE_SALARY, month_index(person.birth.replace(day=1)),
                _threshold_month(person.birth, 6) - 1, "child")
    jan = month - month % 12                              # month indices count from a January
    if poverty_of(person, day.year - 1):
        return ("ngan_sach_dong", None, BASE_SALARY, jan, jan + 11, "year")
    c = person.life[LIFE_COVER]
    pension_age = _pension_age(person)
    if age >= pension_age:
        if c < 0.40:
            return ("huu_tri", None, BASE_SALARY, _threshold_month(person.birth, pension_age), None, "open")
        if age >= 75:
            return ("ngan_sach_dong", None, BASE_SALARY, _threshold_month(person.birth, 75), None, "open")
        if c < 0.93:
            return _household(person, month, c)
        return None
    if age < 18:
        if c < 0.985:
            return ("hoc_sinh_sinh_vien", None, BASE_SALARY, jan, jan + 11, "year")
        return None
    if age <= 22 and c < 0.45:
        return ("hoc_sinh_sinh_vien", None, BASE_SALARY, jan, jan + 11, "year")
    if c < 0.06:
        return _voluntary(person, month, c)
    if c < 0.885:
        return _household(person, month, c)
    return None


def _renewal(person: Person, month: int) -> tuple[int, bool]:
    """The start of the current 12-month paid period and whether it was renewed at all
    (~5% let a household card lapse at a renewal inside the window)."""
    c = person.life[LIFE_MISC]
    r = int((c * 1_000.0) % 12)                          # renewal month of the year
    start = month - ((month - r) % 12)
    lapses_at = None
    if (c * 100_000.0) % 1.0 < 0.05:
        lapses_at = 22 + int((c * 10_000_000.0) % 12)    # a renewal in the extract year
    lapsed = lapses_at is not None and start >= lapses_at
    return start, lapsed


def _household(person: Person, month: int, c: float) -> tuple | None:
    start, lapsed = _renewal(person, month)
    if lapsed:
        return None
    return ("ho_gia_dinh", None, BASE_SALARY, start, start + 11, "renewal")


def _voluntary(person: Person, month: int, c: float) -> tuple | None:
    start, lapsed = _renewal(person, month)
    if lapsed:
        return None
    income = POVERTY_LINE_RURAL + int(((c * 97_531.0) % 1.0) * 35) * 100_000
    return ("tu_nguyen", None, income, start, start + 11, "renewal")


def _phone(person: Person) -> str:
    if person.birth > _PHONE_BORN_BY:                    # under 15 when the column appeared
        return ""
    x = int(person.life[LIFE_MISC] * 1e12)
    if x % 10 < 2:
        return ""                                        # unknown
    prefix = ("03", "03", "09", "08", "07", "05", "09", "03")[x % 8]
    return f"{prefix}{(x // 10) % 100_000_000:08d}"


_PHONE_BORN_BY = date(2011, 5, 1)


def segments(person: Person, spells: tuple[Spell, ...], first: int, last: int,
             died: date | None) -> list[tuple[int, int, tuple]]:
    """[(from month, to month exclusive, category tuple)] over months ``first..last``."""
    end = last + 1
    if died is not None:
        end = min(end, month_index(died) + 1)
    if end <= first:
        return []
    breaks = [s.start for s in spells[1:]]
    age_first = age_on(person.birth, month_start(first))
    age_last = age_on(person.birth, month_start(end - 1))
    age = age_first
    if age_first != age_last:
        age = None                                       # changes within the window: computed per month
        for years in (6, 18, 23, _pension_age(person), 75):
            if age_first < years <= age_last:
                breaks.append(_threshold_month(person.birth, years))
    out: list[tuple[int, int, tuple]] = []
    m = first
    while m < end:
        cat = category_at(person, spells, m, age)
        nxt = min((b for b in breaks if b > m), default=end) if breaks else end
        if cat is None:
            start, _ = _renewal(person, m)
            nxt = min(nxt, start + 12, m + 12 - m % 12)
        elif cat[5] == "year":
            nxt = min(nxt, m + 12 - m % 12)                # next January
        elif cat[5] == "renewal":
            nxt = min(nxt, cat[3] + 12)
        nxt = min(nxt, end)
        if cat is not None:
            if out and out[-1][2] == cat and out[-1][1] == m:
                out[-1] = (out[-1][0], nxt, cat)
            else:
                out.append((m, nxt, cat))
        m = nxt
    return out


def _gap(rng: Any, rate: float) -> int:
    """Rows before the next event of probability ``rate`` per row (geometric: failures
    before the first success), one draw per event instead of one per row."""
    if rate <= 0.0:
        return 1 << 62
    if rate >= 1.0:
        return 0
    return int(math.log(1.0 - rng.random()) / math.log(1.0 - rate))


def _month_label(month: int) -> str:
    day = month_start(month)
    return f"{day.year}{day.month:02d}"


class InsuranceGenerator:
    """Options and the per-person logic; :meth:`write_part` writes one chunk of blocks."""

    def __init__(self, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
                 months: int = DEFAULT_MONTHS, last_month: str = DEFAULT_LAST_MONTH,
                 schema_change_month: str = SCHEMA_CHANGE_MONTH,
                 employers: dict[str, tuple[str, ...]] | None = None) -> None:
        self.seed, self.sf = seed, sf
        self.options = {"fault_rates": fault_rates, "months": months, "last_month": last_month,
                        "schema_change_month": schema_change_month}
        year, month = (int(x) for x in last_month.split("-"))
        self.last = month_index(date(year, month, 1))
        self.first = self.last - months + 1
        cy, cm = (int(x) for x in schema_change_month.split("-"))
        self.change = month_index(date(cy, cm, 1))
        self.stats = GenerationStats(system=SYSTEM.name)
        self.faults = Faults(SYSTEM.name, seed, DEFAULT_FAULT_RATES, fault_rates, self.stats)
        self.employers = employers if employers is not None else employer_registry(seed, sf, False)
        self.months = list(range(self.first, self.last + 1))
        self.names = [f"bhxh_tham_gia_{_month_label(m)}.csv" for m in self.months]

    def _person(self, p: Person, rows: int) -> dict[str, Any]:
        """How the BHXH master record stores the person (its faults persist every month)."""
        faults, frng = self.faults, self.faults.rng
        rec = {"bhxh": bhxh_code(p), "cccd": p.cccd, "name": p.name, "birth": p.birth, "unit": p.unit,
               "wage_fmt": False}
        kind = faults.draw(("invalid_identifier", "missing_value", "malformed_value", "unaccented_name",
                            "misspelled_name"))
        cccd_spoiled = None
        if kind == "invalid_identifier":
            if frng.random() < 0.5:
                rec["bhxh"] = rec["bhxh"][:9] if frng.random() < 0.7 else rec["bhxh"][1:]
            else:
                rec["cccd"] = malformed_cccd(p.cccd, frng) if frng.random() < 0.6 else p.cccd.lstrip("0")
                cccd_spoiled = "citizen_malformed"
        elif kind == "missing_value":
            if frng.random() < 0.7:
                rec["cccd"] = ""
                cccd_spoiled = "citizen_missing"
            else:
                rec["birth"] = None
        elif kind == "malformed_value":
            rec["wage_fmt"] = frng.random() < 0.4
            if not rec["wage_fmt"]:
                rec["birth"] = str(p.birth.year)
        elif kind == "unaccented_name":
            rec["name"] = fold_diacritics(p.name)
        elif kind == "misspelled_name":
            rec["name"] = misspell(p.name, frng)
        if kind:
            faults.count(kind, rows)
        if cccd_spoiled:
            self.stats.links[cccd_spoiled] += rows
            faults.last_link = cccd_spoiled
        elif isinstance(rec["birth"], date):
            rec["cccd"], rec["birth"] = faults.link(p.cccd, p.birth, n=rows)
        else:
            rec["cccd"] = faults.link(p.cccd, None, n=rows)[0]
        if faults.hit("old_admin_unit"):
            rec["unit"] = old_unit_code(p.unit, frng)
            faults.count("old_admin_unit", rows)
        birth = rec["birth"]
        rec["birth"] = birth.strftime("%d/%m/%Y") if isinstance(birth, date) else (birth or "")
        return rec

    def _lines(self, rec: dict[str, Any], cat: tuple, phone: str) -> tuple[str, str]:
        category, employer, wage, tu, den, _ = cat
        wage_text = f"{wage:,}".replace(",", ".") if rec["wage_fmt"] else str(wage)
        common = ",".join((rec["bhxh"], rec["cccd"], rec["name"], rec["birth"], category,
                           employer_code(self.employers, employer) if employer is not None else "", wage_text, _mm_yyyy(tu),
                           _mm_yyyy(den) if den is not None else "", rec["unit"]))
        return common + "\r\n", f"{common},{phone}\r\n"

    def write_part(self, folder: Path, cache: Any, blocks: tuple[int, int], part: int) -> dict[str, Any]:
        """Write this chunk's rows of every monthly file to ``.<file>.part<k>`` (part 0 with
        the BOM and header); return the counters and the part paths."""
        paths = [folder / f".{name}.part{part}" for name in self.names]
        handles = [open(path, "w", encoding="utf-8-sig" if part == 0 else "utf-8", newline="") for path in paths]
        buffers: list[list[str]] = [[] for _ in self.months]
        counts: Counter = Counter()
        faults = self.faults
        dup_rate, near_rate = faults.rates["exact_duplicate"], faults.rates["near_duplicate"]
        first_day = month_start(self.first)
        try:
            if part == 0:
                for m, h in zip(self.months, handles):
                    h.write(",".join(COLUMNS_V2 if m >= self.change else COLUMNS_V1) + "\r\n")
            skip = 0
            for p in true_people(self.seed, self.sf, cache, blocks):
                if p.idx % FLUSH_EVERY == 0:              # bounded memory: write what is buffered
                    self._flush(handles, buffers, counts)
                    if p.idx % BLOCK == 0:
                        faults.at_block(p.idx // BLOCK)
                        skip = _gap(faults.rng, dup_rate)
                frng = faults.rng
                died = death_date(p)
                if died is not None and died < first_day:
                    continue
                segs = segments(p, work_of(p), self.first, self.last, died)
                if not segs:
                    continue
                rows = sum(b - a for a, b, _ in segs)
                twice = frng.random() < near_rate
                rec = self._person(p, rows * (2 if twice else 1))
                link_kind = faults.last_link
                if twice:
                    faults.count("near_duplicate", rows)
                    rec2 = dict(rec, bhxh=bhxh_code(p, second=True))
                phone = _phone(p)
                change = self.change
                for a, b, cat in segs:
                    v1, v2 = self._lines(rec, cat, phone)
                    for lo, hi, line in ((a, min(b, change), v1), (max(a, change), b, v2)):
                        if lo >= hi:
                            continue
                        second = (self._lines(rec2, cat, phone)[0 if line is v1 else 1]) if twice else None
                        for buf in buffers[lo - self.first:hi - self.first]:
                            buf.append(line)
                            if second is not None:
                                buf.append(second)
                        # exact duplicates: a geometric gap between repeated rows, not a draw per row
                        skip -= hi - lo
                        while skip < 0:
                            buffers[hi + skip - self.first].append(line)
                            faults.count("exact_duplicate")
                            self.stats.links[link_kind] += 1
                            skip += 1 + _gap(frng, dup_rate)
                # hard deletes: present in a month, absent the next (within the extracts)
                for a, b, _ in segs:
                    if b <= self.last and not any(a2 == b for a2, _, _ in segs):
                        self.stats.faults["hard_delete"] += 1
            self._flush(handles, buffers, counts)
        finally:
            for h in handles:
                h.close()
        return {"rows": self.stats.rows, "faults": self.stats.faults, "links": self.stats.links,
                "files": dict(counts), "paths": [str(path) for path in paths]}

    def _flush(self, handles: list[Any], buffers: list[list[str]], counts: Counter) -> None:
        for h, buf, name in zip(handles, buffers, self.names):
            if buf:
                h.write("".join(buf))
                counts[name] += len(buf)
                self.stats.rows["bhxh_tham_gia"] += len(buf)
                buf.clear()


def _write_part(seed: int, sf: float, cache: Any, blocks: tuple[int, int], part: int, options: dict[str, Any],
                employers: dict[str, tuple[str, ...]], folder: str) -> dict[str, Any]:
    """One worker's share (module level, so worker processes can run it)."""
    gen = InsuranceGenerator(seed=seed, sf=sf, employers=employers, **options)
    return gen.write_part(Path(folder), cache, blocks, part)


def generate(target: str | Path, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             months: int = DEFAULT_MONTHS, last_month: str = DEFAULT_LAST_MONTH,
             schema_change_month: str = SCHEMA_CHANGE_MONTH, link_enterprises: bool = True,
             citizen_cache: Path | str | bool | None = None, workers: int | None = None) -> GenerationStats:
    """Write the monthly participation extracts under ``<target>/insurance/``.

    ``link_enterprises``: employers from business registration when its module exists;
    ``workers``: processes (default: 2 from 300,000 citizens on a multi-core machine; the
    files are the same bytes whatever the number).
    """
    started = time.perf_counter()
    gen = InsuranceGenerator(seed=seed, sf=sf, fault_rates=fault_rates, months=months, last_month=last_month,
                             schema_change_month=schema_change_month,
                             employers=employer_registry(seed, sf, link_enterprises))
    folder = Path(target) / "insurance"
    folder.mkdir(parents=True, exist_ok=True)
    parts = map_blocks(_write_part, seed, sf, citizen_cache, workers, gen.options, gen.employers, str(folder))
    merge_stats(gen.stats, parts)
    files: dict[str, Any] = {}
    for i, (m, name) in enumerate(zip(gen.months, gen.names)):
        join_parts(folder / name, [Path(part["paths"][i]) for part in parts])
        files[name] = {"rows": sum(part["files"].get(name, 0) for part in parts),
                       "columns": list(COLUMNS_V2 if m >= gen.change else COLUMNS_V1)}
    gen.stats.faults["schema_change"] += 1 if gen.first < gen.change <= gen.last else 0
    gen.stats.seconds = time.perf_counter() - started
    write_manifest(folder, SYSTEM.name, seed, sf, gen.stats, files=files, schema_change_month=schema_change_month,
                   schema_change={"renamed": {"ma_dvhc": "ma_xa"}, "added": ["so_dien_thoai"]})
    return gen.stats
