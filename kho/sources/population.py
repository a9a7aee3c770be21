"""The population and residence sector database (Cơ sở dữ liệu về cư trú), generated.

Owner: City Police (Công an thành phố), the custodian of residence data linked to the
National Population Database. One table, ``cong_dan`` (citizens), with the column names a
Vietnamese system uses; the processed zone maps them to English.

Deterministic: the same seed and scale factor give the same rows, byte for byte, whatever
the chunk size. Scale factor 1 = 100,000 citizens (the merged city is SF ~47). Faults are
injected at configurable rates so the processed zone has real work: exact and near
duplicates, missing and malformed CCCD, unaccented or messy names, decomposed Unicode,
pre-2025 administrative units, unparseable birth dates.
"""

from __future__ import annotations

from itertools import accumulate
import random
import time
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from kho import reference
from kho.cleaning import cccd_digit
from kho.sources import dbapi
from kho.sources.base import SourceSystem, write_manifest
from kho.sources.names import (GIVEN_FEMALE, GIVEN_MALE, MIDDLE_FEMALE, MIDDLE_MALE, STREETS,
                               SURNAMES)

TABLE = "cong_dan"
SYSTEM = SourceSystem(
    name="population",
    title="Population and residence database",
    title_vi="Cơ sở dữ liệu về cư trú",
    owner="Công an thành phố (City Police), custodian of residence data linked to the National Population Database",
    form="database",
    engine="postgresql",
    objects={TABLE: ("so_dinh_danh",)},
    description="One row per registered resident; id is the system's record id, so_dinh_danh (CCCD) the natural key.",
)
CITIZENS_PER_SF = 100_000
COLUMNS = ("id", "so_dinh_danh", "ho_ten", "ngay_sinh", "gioi_tinh", "ma_dvhc", "dia_chi", "ngay_cap_nhat")

DDL = {
    "sqlite": """CREATE TABLE cong_dan (
        id INTEGER PRIMARY KEY, so_dinh_danh TEXT, ho_ten TEXT, ngay_sinh TEXT, gioi_tinh TEXT,
        ma_dvhc TEXT, dia_chi TEXT, ngay_cap_nhat TEXT)""",
    "postgresql": """CREATE TABLE cong_dan (
        id BIGINT PRIMARY KEY, so_dinh_danh VARCHAR(20), ho_ten VARCHAR(200), ngay_sinh VARCHAR(20),
        gioi_tinh VARCHAR(10), ma_dvhc VARCHAR(10), dia_chi VARCHAR(400), ngay_cap_nhat VARCHAR(19))""",
    "mysql": """CREATE TABLE cong_dan (
        id BIGINT PRIMARY KEY, so_dinh_danh VARCHAR(20), ho_ten VARCHAR(200), ngay_sinh VARCHAR(20),
        gioi_tinh VARCHAR(10), ma_dvhc VARCHAR(10), dia_chi VARCHAR(400), ngay_cap_nhat VARCHAR(19))
        CHARACTER SET utf8mb4""",
}

# Share of citizens affected by each fault. Duplicates add rows; the rest alter a row.
DEFAULT_FAULT_RATES: dict[str, float] = {
    "exact_duplicate": 0.004,
    "near_duplicate": 0.006,
    "cccd_missing": 0.002,
    "cccd_malformed": 0.002,
    "cccd_bad_province": 0.001,
    "cccd_mismatch": 0.001,
    "unaccented_name": 0.005,
    "messy_name": 0.005,
    "decomposed_unicode": 0.005,
    "old_admin_unit": 0.01,
    "unknown_admin_unit": 0.001,
    "bad_birth_date": 0.002,
}
# Not faults but formats: share of birth dates written dd/mm/yyyy, and of sexes written in lower case.
VN_DATE_FORMAT_SHARE = 0.25
AS_OF = date(2026, 11, 1)
_UPDATED_FROM = datetime(2025, 7, 1)

# Age structure of Vietnam (roughly): weight per 5-year band from 0-4 to 95-99.
_AGE_BAND_WEIGHTS = (7.4, 7.8, 7.6, 6.8, 6.6, 7.5, 8.0, 8.2, 7.6, 7.0, 6.3, 5.6, 4.9, 3.9, 2.9, 1.9, 1.2, 0.7, 0.3, 0.1)


@dataclass
class GenerationStats:
    """What was generated. Like :class:`kho.sources.base.GenerationStats` (same ``as_dict``
    keys, ``rows`` per object there), except that ``rows`` is the row count of the one table
    ``cong_dan`` (callers read it as a number) and ``citizens`` counts the true citizens."""

    citizens: int = 0
    rows: int = 0
    faults: Counter = field(default_factory=Counter)
    links: Counter = field(default_factory=Counter)    # always empty: the register links to no other system
    seconds: float = 0.0
    system: str = "population"

    @property
    def total_rows(self) -> int:
        return self.rows

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "rows": {TABLE: self.rows}, "total_rows": self.total_rows,
                "faults": dict(sorted(self.faults.items())), "links": dict(sorted(self.links.items())),
                "citizens": self.citizens, "seconds": round(self.seconds, 2)}


@dataclass(frozen=True)
class Citizen:
    """A citizen as the population database knows them when nothing went wrong."""

    cccd: str
    full_name: str
    birth_date: date
    sex: str          # "M" or "F"
    unit_code: str    # one of the 114 current units
    address: str


def _fold_name(name: str) -> str:
    """What a system without Vietnamese input produces: diacritics stripped, case kept."""
    out = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in out if unicodedata.category(ch) != "Mn")


class _Serials:
    """Unique 6-digit CCCD serials per (prefix, century/sex digit, year) through a bijection of a counter."""

    def __init__(self) -> None:
        self._next: Counter = Counter()

    def take(self, group: tuple[str, int, int]) -> str:
        n = self._next[group]
        self._next[group] += 1
        if n >= 1_000_000:
            raise OverflowError(f"more than a million citizens in CCCD group {group}")
        offset = zlib.crc32(repr(group).encode()) % 1_000_000
        return f"{(n * 738_017 + offset) % 1_000_000:06d}"  # 738017 is coprime with 10^6: a bijection


class PopulationGenerator:
    def __init__(self, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None) -> None:
        self.seed = seed
        self.sf = sf
        self.citizens = max(1, round(CITIZENS_PER_SF * sf))
        self.rates = {**DEFAULT_FAULT_RATES, **(fault_rates or {})}
        unknown = set(self.rates) - set(DEFAULT_FAULT_RATES)
        if unknown:
            raise ValueError(f"unknown fault types {sorted(unknown)}; known: {sorted(DEFAULT_FAULT_RATES)}")
        # Two streams: citizens (the truth other systems link to) and faults (this system's
        # own errors), so the clean citizens are the same whatever the fault rates.
        self.rng = random.Random(f"kho-population-{seed}")
        self.fault_rng = random.Random(f"kho-population-faults-{seed}")
        units = reference.admin_units()
        self.units = units
        self.unit_weights = [
            0.02 if u.unit_code and u.unit_name == "Bạch Long Vĩ" else {"phuong": 2.0, "xa": 1.0, "dac_khu": 0.5}[u.unit_type]
            for u in units
        ]
        entries = [e for e in reference.crosswalk().values() if e.old_unit_code not in reference.admin_unit_by_code()]
        # Pre-2025 units each current unit absorbed (whole, or a part of a split unit): an
        # old-unit fault writes one of the citizen's own unit's predecessors, as a clerk would.
        self.old_whole: dict[str, list] = {}
        self.old_split: dict[str, list] = {}
        for e in sorted(entries, key=lambda e: e.old_unit_code):
            if e.split:
                for code in e.candidate_unit_codes:
                    self.old_split.setdefault(code, []).append(e)
            elif e.new_unit_code:
                self.old_whole.setdefault(e.new_unit_code, []).append(e)
        prefixes = sorted(reference.cccd_prefixes())
        self.other_prefixes = [p for p in prefixes if p not in ("030", "031")]
        self.serials = _Serials()
        self.stats = GenerationStats(citizens=self.citizens)
        self._surnames, surname_w = zip(*SURNAMES)
        # Cumulative weights once, not per draw: same draws, a quarter less time per citizen.
        self._surname_cw = list(accumulate(surname_w))
        self._unit_cw = list(accumulate(self.unit_weights))
        self._band_cw = list(accumulate(_AGE_BAND_WEIGHTS))

    # -- one clean citizen ---------------------------------------------------------------
    def _citizen(self, rid: int) -> dict[str, Any]:
        rng = self.rng
        sex = "M" if rng.random() < 0.494 else "F"
        band = rng.choices(range(len(_AGE_BAND_WEIGHTS)), cum_weights=self._band_cw)[0]
        birth = AS_OF - timedelta(days=rng.randrange(band * 5 * 365, (band * 5 + 5) * 365))
        p = rng.random()
        prefix = "031" if p < 0.62 else "030" if p < 0.92 else rng.choice(self.other_prefixes)
        digit = cccd_digit(birth.year, sex)
        cccd = f"{prefix}{digit}{birth.year % 100:02d}{self.serials.take((prefix, digit, birth.year))}"
        surname = rng.choices(self._surnames, cum_weights=self._surname_cw)[0]
        middle = rng.choice(MIDDLE_MALE if sex == "M" else MIDDLE_FEMALE)
        given = rng.choice(GIVEN_MALE if sex == "M" else GIVEN_FEMALE)
        unit = rng.choices(self.units, cum_weights=self._unit_cw)[0]
        if rng.random() < 0.6:
            address = f"Số {rng.randint(1, 300)} {rng.choice(STREETS)}, {unit.unit_full_name}, Thành phố Hải Phòng"
        else:
            address = f"Thôn {rng.randint(1, 12)}, {unit.unit_full_name}, Thành phố Hải Phòng"
        updated = _UPDATED_FROM + timedelta(seconds=rng.randrange(int((datetime.combine(AS_OF, datetime.min.time()) - _UPDATED_FROM).total_seconds())))
        birth_text = birth.strftime("%d/%m/%Y") if rng.random() < VN_DATE_FORMAT_SHARE else birth.isoformat()
        sex_text = ("Nam" if sex == "M" else "Nữ") if rng.random() < 0.9 else ("nam" if sex == "M" else "nu")
        return {"id": rid, "so_dinh_danh": cccd, "ho_ten": f"{surname} {middle} {given}", "ngay_sinh": birth_text,
                "gioi_tinh": sex_text, "ma_dvhc": unit.unit_code, "dia_chi": address,
                "ngay_cap_nhat": updated.strftime("%Y-%m-%d %H:%M:%S"), "_birth": birth, "_sex": sex}

    # -- faults that alter a row ---------------------------------------------------------
    def _alter(self, row: dict[str, Any]) -> None:
        rng, rates, faults = self.fault_rng, self.rates, self.stats.faults
        draw = rng.random()
        edge = 0.0
        for fault in ("cccd_missing", "cccd_malformed", "cccd_bad_province", "cccd_mismatch", "unaccented_name",
                      "messy_name", "decomposed_unicode", "old_admin_unit", "unknown_admin_unit", "bad_birth_date"):
            edge += rates[fault]
            if draw < edge:
                break
        else:
            return
        faults[fault] += 1
        cccd = row["so_dinh_danh"]
        if fault == "cccd_missing":
            row["so_dinh_danh"] = rng.choice((None, "", "   "))
        elif fault == "cccd_malformed":
            row["so_dinh_danh"] = rng.choice((cccd[:-1], cccd + "7", cccd[:5] + "O" + cccd[6:], cccd[:6] + "-" + cccd[6:]))
        elif fault == "cccd_bad_province":
            row["so_dinh_danh"] = rng.choice(("000", "099", "065")) + cccd[3:]
        elif fault == "cccd_mismatch":
            row["so_dinh_danh"] = cccd[:3] + str((int(cccd[3]) + 1) % 4) + cccd[4:]
        elif fault == "unaccented_name":
            row["ho_ten"] = _fold_name(row["ho_ten"])
        elif fault == "messy_name":
            row["ho_ten"] = rng.choice((f"  {row['ho_ten'].lower()} ", row["ho_ten"].upper(), row["ho_ten"].replace(" ", "  ")))
        elif fault == "decomposed_unicode":
            row["ho_ten"] = unicodedata.normalize("NFD", row["ho_ten"])
            row["dia_chi"] = unicodedata.normalize("NFD", row["dia_chi"])
        elif fault == "old_admin_unit":
            unit = row["ma_dvhc"]
            whole, split = self.old_whole.get(unit, []), self.old_split.get(unit, [])
            pool = split if (split and (rng.random() < 0.1 or not whole)) else whole
            if not pool:  # a unit with no predecessor (e.g. Bạch Long Vĩ): the fault cannot apply
                faults[fault] -= 1
                return
            entry = rng.choice(pool)
            kind = {"phuong": "Phường", "xa": "Xã", "thi_tran": "Thị trấn"}.get(entry.old_unit_type, "Xã")
            province = "Tỉnh Hải Dương" if entry.old_province == "Hải Dương" else "Thành phố Hải Phòng"
            row["ma_dvhc"] = entry.old_unit_code
            row["dia_chi"] = f"Thôn {rng.randint(1, 12)}, {kind} {entry.old_unit_name}, {entry.old_district}, {province}"
        elif fault == "unknown_admin_unit":
            row["ma_dvhc"] = rng.choice(("99999", "00000", "31", ""))
        elif fault == "bad_birth_date":
            row["ngay_sinh"] = rng.choice(("31/02/1990", "00/00/0000", "1985-13-01", "", None, "không rõ"))

    def true_citizens(self) -> Iterator[Citizen]:
        """The true citizens, in order, without this system's faults: what other sector
        systems (civil status, insurance, land, ...) link to. Call on a fresh generator."""
        for _ in range(self.citizens):
            row = self._citizen(0)
            yield Citizen(cccd=row["so_dinh_danh"], full_name=row["ho_ten"], birth_date=row["_birth"], sex=row["_sex"],
                          unit_code=row["ma_dvhc"], address=row["dia_chi"])

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """All source rows in id order, duplicates placed after their original."""
        rid = 0
        pending: list[dict[str, Any]] = []  # duplicates wait a few rows, as late re-entries do
        for _ in range(self.citizens):
            rid += 1
            row = self._citizen(rid)
            self._alter(row)
            yield tuple(row[c] for c in COLUMNS)
            draw = self.fault_rng.random()
            if draw < self.rates["exact_duplicate"]:
                self.stats.faults["exact_duplicate"] += 1
                pending.append(dict(row))
            elif draw < self.rates["exact_duplicate"] + self.rates["near_duplicate"] and row["so_dinh_danh"]:
                self.stats.faults["near_duplicate"] += 1
                near = dict(row)
                variant = self.fault_rng.random()
                if variant < 0.5:   # an older entry typed without diacritics
                    near["ho_ten"] = _fold_name(row["ho_ten"])
                    older = datetime.strptime(row["ngay_cap_nhat"], "%Y-%m-%d %H:%M:%S") - timedelta(days=self.fault_rng.randint(1, 300))
                    near["ngay_cap_nhat"] = older.strftime("%Y-%m-%d %H:%M:%S")
                else:               # same timestamp, address left empty: completeness decides
                    near["dia_chi"] = None
                pending.append(near)
            if pending and self.fault_rng.random() < 0.3:
                dup = pending.pop(0)
                rid += 1
                dup["id"] = rid
                yield tuple(dup[c] for c in COLUMNS)
        for dup in pending:
            rid += 1
            dup["id"] = rid
            yield tuple(dup[c] for c in COLUMNS)


def generate(url: str, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             chunk_rows: int = 20_000, progress: Any = None) -> GenerationStats:
    """(Re)create the population database at ``url`` and fill it; returns what was generated."""
    started = time.perf_counter()
    gen = PopulationGenerator(seed=seed, sf=sf, fault_rates=fault_rates)
    kind = dbapi.dialect(url)
    if kind == "sqlite":
        dbapi.sqlite_path(url).unlink(missing_ok=True)
    with dbapi.connect(url) as con:
        cur = con.cursor()
        cur.execute("DROP TABLE IF EXISTS cong_dan")
        cur.execute(DDL[kind])
        chunk: list[tuple[Any, ...]] = []
        for row in gen.rows():
            chunk.append(row)
            if len(chunk) >= chunk_rows:
                gen.stats.rows += dbapi.insert_many(con, url, TABLE, COLUMNS, chunk)
                chunk.clear()
                if progress:
                    progress(gen.stats.rows)
        gen.stats.rows += dbapi.insert_many(con, url, TABLE, COLUMNS, chunk)
    gen.stats.seconds = time.perf_counter() - started
    write_manifest(url, SYSTEM.name, seed, sf, gen.stats)
    return gen.stats
