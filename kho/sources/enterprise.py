"""Business registration (Đăng ký doanh nghiệp và hộ kinh doanh), generated.

Owner: Sở Tài chính (Department of Finance; business registration moved there from the
former Sở Kế hoạch và Đầu tư in 2025). The city's data is a local replica of the National
Business Registration System, served from MySQL/MariaDB; household businesses are registered
by the commune-level People's Committees into the same system. Three tables:

``doanh_nghiep`` (enterprises; natural key ``ma_so_doanh_nghiep``, the 10-digit enterprise
code, which is also the tax code), ``ho_kinh_doanh`` (household businesses; natural key
``so_dang_ky``) and ``thay_doi_dang_ky`` (registration change events; key ``id``).

Sizes (per SF1 = 100,000 residents), and where they come from:

* **Active enterprises: ~1,030 per SF1 (1 per ~97 residents).** The merged city had "over
  48,000 operating enterprises" (Phạm Hồng Điệp, Tạp chí Kinh tế Môi trường, 2025: 27,000+ in
  the east, i.e. old Hải Phòng, 21,000+ in the west, old Hải Dương); the city's own figure of
  Oct 2025 was 45,155 operating private enterprises (VietNamNet, 12 Oct 2025). 48,000 /
  4,664,124 residents = 1 per 97; the "1 per ~70" of the brief is above both sources, so the
  sources win. The register also holds suspended (``tam_ngung``, ~8% of survivors) and
  dissolved (``giai_the``) enterprises: a founding-year profile 1995-2026 and a dissolution
  hazard of 3.5% a year (67% of the register active) give ~1,540 rows per SF1 in all.
* **Active household businesses: 4,000 per SF1 (1 per 25 residents).** Vietnam has 5.2-5.5
  million household businesses (Cục Thống kê 2018-2020, as quoted by VnExpress and others),
  1 per ~19 residents nationally; Hải Phòng's economy is more formal (more enterprises per
  head), so 1 per 25 is used. With closures (6%/yr) and suspensions (62% active) ~6,430 rows per SF1.
* **Change events**: tăng vốn 6%, đổi trụ sở 5%, đổi người đại diện 3.5%, đổi tên 1.2% of
  enterprises per year of life, plus one event per suspension and dissolution: ~2,450 per SF1.

Formats: ``ma_so_doanh_nghiep`` has the province prefix of the issuing tax office (``02``
Hải Phòng, ``08`` the former Hải Dương; every code issued after 1 July 2025 has ``02``), a
seven-digit sequence that grows with the founding date, and the check digit of the tax-code
algorithm (weights 31 29 23 19 17 13 7 5 3, check = 10 - sum mod 11; a sum that gives 10 is
never issued). Household businesses are numbered like ``02C8001234`` (province, a letter for
the registering district, ``8`` for the household-business type, six digits); that layout is
modelled on the registration-number convention and is not an official specification.
Enterprise names are stored in capitals, as the national system does; the canonical
mixed-case name (what land certificates or permits print) is ``Enterprise.name``.

Linkage: legal representatives and household-business owners are adults among the first
``POOL_SHARE`` (30%) of the true citizens (``population.PopulationGenerator(seed, sf)
.true_citizens()`` is a stream without random access and costs ~19 s per million citizens;
scanning 30% of it bounds the cost, and the citizens are i.i.d., so the prefix is a fair sample;
the pool is packed into two int64 arrays and cached per process, so the three systems
generated in one process pay for it once). A person may represent several
enterprises but own at most one household business (Decree 01/2021 Art. 80).
:func:`true_enterprises` is what land, permits and dossiers link to.

Faults (``DEFAULT_FAULT_RATES``; a rate is per row of a table where the fault can apply,
override with ``{"fault": rate}`` for every table or ``{"table.fault": rate}`` for one):
exact and near duplicates; malformed tax codes (9 digits from a lost leading zero, spaces,
a letter O, an extra digit) and tax codes with a wrong check digit; missing values; bad and
dd/mm/yyyy dates; unaccented or misspelled names; pre-2025 unit codes (from the crosswalk,
consistent with the true unit) with the old address; invalid capital (0 or negative);
late updates (``ngay_cap_nhat`` older than the enterprise's latest change event); late events
(a change event recorded after later ones, so ids are not chronological). Links: a share
of representatives/owners is a CCCD of nobody (a valid-looking number no citizen has),
malformed or missing (``link_broken``), or has the right CCCD but a name that differs from
the population register (``link_name_mismatch``). Counts are in ``GenerationStats.faults``
(``"<table>.<fault>"``) and ``GenerationStats.links`` (``"<table>.<kind>_<outcome>"``,
counted once per source record, not per duplicate).

Snapshots: ``generate_snapshot(target, seed=, sf=, snapshot=1)`` is :func:`generate`.
Snapshot 2 is the register one month later (as of 2026-12-01): ``hard_delete`` (0.5%) of the
enterprises of snapshot 1 are gone from ``doanh_nghiep`` (registrations annulled, hard
deleted) together with their change events; ~1.5% of the survivors have a new change event
and an updated row; new enterprises founded in the month are added; and the schema of
``doanh_nghiep`` changed (``SNAPSHOT_SCHEMA_CHANGES``): column ``dia_chi_tru_so`` is renamed
``dia_chi`` and a column ``email`` is added (last). ``ho_kinh_doanh`` is unchanged.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import time
from array import array
from itertools import accumulate
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from kho import reference
from kho.sources import dbapi
from kho.sources.base import (CITIZENS_PER_SF, CITY_SF, GenerationStats, SourceSystem, fold_diacritics,
                              rng_for, write_manifest)
from kho.sources.citizens import CitizenRef
from kho.sources.faults import Delayed, FaultPlan, mistype
from kho.sources.identifiers import bad_check_tax_code, make_tax_code, malformed_tax_code
from kho.sources.names import STREETS
from kho.sources.population import PopulationGenerator

SYSTEM = SourceSystem(
    name="business_registration",
    title="Business registration (enterprises and household businesses)",
    title_vi="Cơ sở dữ liệu đăng ký doanh nghiệp và hộ kinh doanh",
    owner="Sở Tài chính (Department of Finance); household businesses: commune People's Committees",
    form="database",
    engine="mysql",
    objects={"doanh_nghiep": ("ma_so_doanh_nghiep",), "ho_kinh_doanh": ("so_dang_ky",),
             "thay_doi_dang_ky": ("id",)},
    description="Local replica of the National Business Registration System: enterprises (10-digit "
                "enterprise/tax code), household businesses and registration change events.",
)

AS_OF = date(2026, 11, 1)                 # snapshot 1, same day as the population register
SNAPSHOT2_AS_OF = date(2026, 12, 1)       # snapshot 2, one month later
MERGER = date(2025, 7, 1)

CITY_ACTIVE_ENTERPRISES = 48_000
ACTIVE_ENTERPRISES_PER_SF = CITY_ACTIVE_ENTERPRISES / CITY_SF          # ~1,029
RESIDENTS_PER_HOUSEHOLD_BUSINESS = 25
ACTIVE_HOUSEHOLD_BUSINESSES_PER_SF = CITIZENS_PER_SF / RESIDENTS_PER_HOUSEHOLD_BUSINESS  # 4,000
DISSOLUTION_HAZARD = 0.035       # per year of life
SUSPENDED_SHARE = 0.08           # of surviving enterprises
HKD_CLOSURE_HAZARD = 0.06
HKD_SUSPENDED_SHARE = 0.05
EVENT_RATES = {"tang_von": 0.06, "doi_tru_so": 0.05, "doi_nguoi_dai_dien": 0.035, "doi_ten": 0.012}
SNAPSHOT2_UPDATE_SHARE = 0.015
SNAPSHOT2_NEW_SHARE = 0.009      # new enterprises in the month, as a share of the register

POOL_SHARE = 0.3

DEFAULT_FAULT_RATES: dict[str, float] = {
    "exact_duplicate": 0.003,
    "near_duplicate": 0.004,
    "tax_code_malformed": 0.002,
    "tax_code_bad_check": 0.002,
    "missing_value": 0.005,
    "bad_date": 0.002,
    "vn_date_format": 0.01,
    "unaccented_name": 0.005,
    "misspelled_name": 0.003,
    "old_admin_unit": 0.008,
    "capital_invalid": 0.002,
    "late_update": 0.01,
    "late_event": 0.005,
    "link_broken": 0.01,
    "link_name_mismatch": 0.01,
    "hard_delete": 0.005,
}
TABLE_FAULTS: dict[str, tuple[str, ...]] = {
    "doanh_nghiep": ("exact_duplicate", "near_duplicate", "tax_code_malformed", "tax_code_bad_check",
                     "missing_value", "bad_date", "vn_date_format", "unaccented_name", "misspelled_name",
                     "old_admin_unit", "capital_invalid", "late_update", "link_broken", "link_name_mismatch",
                     "hard_delete"),
    "ho_kinh_doanh": ("exact_duplicate", "near_duplicate", "missing_value", "bad_date", "vn_date_format",
                      "unaccented_name", "misspelled_name", "old_admin_unit", "capital_invalid", "link_broken",
                      "link_name_mismatch"),
    "thay_doi_dang_ky": ("exact_duplicate", "bad_date", "vn_date_format", "late_event", "link_broken"),
}
SNAPSHOT_SCHEMA_CHANGES = {
    "doanh_nghiep": {"renamed": {"dia_chi_tru_so": "dia_chi"}, "added": ("email",),
                     "deleted_rows": "enterprises drawn by fault 'hard_delete', with their thay_doi_dang_ky rows"},
}

LEGAL_FORMS: tuple[tuple[str, float], ...] = (
    ("Công ty TNHH một thành viên", 0.46),
    ("Công ty TNHH hai thành viên trở lên", 0.22),
    ("Công ty cổ phần", 0.24),
    ("Doanh nghiệp tư nhân", 0.078),
    ("Công ty hợp danh", 0.002),
)
HOUSEHOLD_FORM = "Hộ kinh doanh"
STATUSES = ("dang_hoat_dong", "tam_ngung", "giai_the")
HKD_STATUSES = ("dang_hoat_dong", "tam_ngung", "cham_dut")

COLUMNS = {
    "doanh_nghiep": ("ma_so_doanh_nghiep", "ten_doanh_nghiep", "loai_hinh", "nganh_nghe_chinh", "von_dieu_le",
                     "ngay_thanh_lap", "ma_dvhc", "dia_chi_tru_so", "so_cccd_nguoi_dai_dien",
                     "ho_ten_nguoi_dai_dien", "trang_thai", "ngay_cap_nhat"),
    "ho_kinh_doanh": ("so_dang_ky", "ten_ho_kinh_doanh", "so_cccd_chu_ho", "ho_ten_chu_ho", "ma_nganh",
                      "nganh_nghe", "von_kinh_doanh", "ma_dvhc", "dia_diem_kinh_doanh", "ngay_dang_ky",
                      "trang_thai", "ngay_cap_nhat"),
    "thay_doi_dang_ky": ("id", "ma_so_doanh_nghiep", "loai_thay_doi", "noi_dung", "ngay_hieu_luc"),
}
SNAPSHOT2_DN_COLUMNS = tuple("dia_chi" if c == "dia_chi_tru_so" else c for c in COLUMNS["doanh_nghiep"]) + ("email",)

# Column types: "s<n>" = short text, "t" = long text, "i" = integer, "b" = big integer, "r" = real.
COLUMN_TYPES = {
    "ma_so_doanh_nghiep": "s20", "ten_doanh_nghiep": "s300", "loai_hinh": "s60", "nganh_nghe_chinh": "s10",
    "von_dieu_le": "b", "ngay_thanh_lap": "s20", "ma_dvhc": "s10", "dia_chi_tru_so": "s400", "dia_chi": "s400",
    "so_cccd_nguoi_dai_dien": "s20", "ho_ten_nguoi_dai_dien": "s120", "trang_thai": "s20",
    "ngay_cap_nhat": "s20", "email": "s120",
    "so_dang_ky": "s20", "ten_ho_kinh_doanh": "s300", "so_cccd_chu_ho": "s20", "ho_ten_chu_ho": "s120",
    "ma_nganh": "s10", "nganh_nghe": "s200", "von_kinh_doanh": "b", "dia_diem_kinh_doanh": "s400",
    "ngay_dang_ky": "s20",
    "id": "b", "loai_thay_doi": "s30", "noi_dung": "t", "ngay_hieu_luc": "s20",
}
INDEXES = {"doanh_nghiep": ("ma_so_doanh_nghiep",), "ho_kinh_doanh": ("so_dang_ky",),
           "thay_doi_dang_ky": ("ma_so_doanh_nghiep",)}
PRIMARY_KEYS = {"thay_doi_dang_ky": "id"}


# =====================================================================================
# Shared with land.py and permits.py: DDL, writing, hashing, dates, names, CCCDs, codes
# =====================================================================================

def ddl(table: str, columns: Sequence[str], types: dict[str, str], kind: str,
        primary_key: str | None = None) -> str:
    """CREATE TABLE for sqlite / postgresql / mysql (utf8mb4) from compact column types."""
    parts = []
    for col in columns:
        t = types[col]
        if t[0] == "s":
            sql = "TEXT" if kind == "sqlite" else f"VARCHAR({t[1:]})"
        elif t == "t":
            sql = "TEXT" if kind != "mysql" else "MEDIUMTEXT"
        elif t == "i":
            sql = "INTEGER"
        elif t == "b":
            sql = "INTEGER" if kind == "sqlite" else "BIGINT"
        elif t == "r":
            sql = "REAL" if kind == "sqlite" else "DOUBLE PRECISION" if kind == "postgresql" else "DOUBLE"
        else:
            raise ValueError(f"unknown column type {t!r}")
        if col == primary_key:
            sql += " PRIMARY KEY"
        parts.append(f"{col} {sql}")
    tail = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci" if kind == "mysql" else ""
    return f"CREATE TABLE {table} (\n    " + ",\n    ".join(parts) + f"\n){tail}"


def create_tables(con: Any, url: str, specs: Sequence[tuple[str, Sequence[str], dict[str, str], str | None]]) -> None:
    """Drop and create each (table, columns, types, primary key); only this system's tables are touched."""
    kind = dbapi.dialect(url)
    cur = con.cursor()
    if kind == "sqlite":
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA journal_mode=MEMORY")
    for table, columns, types, pk in specs:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(ddl(table, columns, types, kind, pk))


def create_indexes(con: Any, indexes: dict[str, Sequence[str]]) -> None:
    cur = con.cursor()
    for table, cols in indexes.items():
        for col in cols:
            cur.execute(f"CREATE INDEX ix_{table}_{col} ON {table} ({col})")


def write_rows(con: Any, url: str, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
               stats: GenerationStats, chunk_rows: int = 5000) -> int:
    """Insert rows in chunks; the count lands in ``stats.rows[table]``."""
    chunk: list[Sequence[Any]] = []
    written = 0
    for row in rows:
        chunk.append(row)
        if len(chunk) >= chunk_rows:
            written += dbapi.insert_many(con, url, table, columns, chunk)
            chunk = []
    written += dbapi.insert_many(con, url, table, columns, chunk)
    stats.rows[table] += written
    return written


class ChunkWriter:
    """Buffered inserts into one table, for generators that fill several tables in one pass."""

    def __init__(self, con: Any, url: str, table: str, columns: Sequence[str], stats: GenerationStats,
                 chunk_rows: int = 5000) -> None:
        self.con, self.url, self.table, self.columns, self.stats, self.chunk_rows = con, url, table, columns, stats, chunk_rows
        self.buffer: list[Sequence[Any]] = []

    def add(self, row: Sequence[Any]) -> None:
        self.buffer.append(row)
        if len(self.buffer) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        self.stats.rows[self.table] += dbapi.insert_many(self.con, self.url, self.table, self.columns, self.buffer)
        self.buffer = []


def unit_float(*parts: Any) -> float:
    """A reproducible number in [0, 1) from a key (order-independent decisions, e.g. snapshot deletes)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; fine for the small means used here."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def random_day(rng: random.Random, start: date, end: date) -> date:
    """A day in [start, end] (start if the range is empty)."""
    span = (end - start).days
    return start if span <= 0 else start + timedelta(days=rng.randint(0, span))


def office_time(rng: random.Random, day: date) -> str:
    """A timestamp on ``day`` in office hours, as the systems write it."""
    return (datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randint(7 * 3600 + 1800, 17 * 3600 + 1800))
            ).strftime("%Y-%m-%d %H:%M:%S")


def vn_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


BAD_DATES = ("31/02/2019", "2019-13-05", "00/00/0000", "", "không rõ", "30-02-2020", "2021-02-30", "12/2018")


def fmt_vnd(amount: int) -> str:
    """1234567 -> '1.234.567' (Vietnamese thousands separator)."""
    return f"{amount:,}".replace(",", ".")


# -- administrative units ------------------------------------------------------------------
@lru_cache(maxsize=1)
def unit_district() -> dict[str, tuple[str, str]]:
    """Current unit code -> (pre-2025 district, province) it mostly came from.

    ``former_district`` where the reference has it, else the district most of the unit's old
    communes (crosswalk) belonged to.
    """
    tally: dict[str, Counter] = {}
    for entry in reference.crosswalk().values():
        for code in entry.candidate_unit_codes:
            tally.setdefault(code, Counter())[(entry.old_district, entry.old_province)] += 1
    out = {}
    for unit in reference.admin_units():
        if unit.former_district and unit.former_province:
            out[unit.unit_code] = (unit.former_district, unit.former_province)
        else:
            out[unit.unit_code] = sorted(tally[unit.unit_code].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return out


@lru_cache(maxsize=1)
def old_units_by_unit() -> dict[str, tuple[reference.CrosswalkEntry, ...]]:
    """Current unit code -> pre-2025 units that went (wholly, or in part) into it, excluding codes still in use."""
    current = reference.admin_unit_by_code()
    whole: dict[str, list] = {}
    split: dict[str, list] = {}
    for entry in sorted(reference.crosswalk().values(), key=lambda e: e.old_unit_code):
        if entry.old_unit_code in current:
            continue
        if entry.new_unit_code:
            whole.setdefault(entry.new_unit_code, []).append(entry)
        else:
            for code in entry.candidate_unit_codes:
                split.setdefault(code, []).append(entry)
    return {code: tuple(whole.get(code) or split.get(code) or ()) for code in current}


_OLD_TYPE = {"phuong": "Phường", "xa": "Xã", "thi_tran": "Thị trấn"}


def old_unit_for(unit_code: str, rng: random.Random) -> tuple[str, str] | None:
    """(old unit code, old-style address tail 'Phường X, Quận Y, Thành phố Hải Phòng') for a current unit."""
    entries = old_units_by_unit().get(unit_code)
    if not entries:
        return None
    entry = rng.choice(entries)
    province = "Tỉnh Hải Dương" if entry.old_province == "Hải Dương" else "Thành phố Hải Phòng"
    return entry.old_unit_code, f"{_OLD_TYPE[entry.old_unit_type]} {entry.old_unit_name}, {entry.old_district}, {province}"


def cumulative(weights: Sequence[float]) -> list[float]:
    """Cumulative weights for ``rng.choices(..., cum_weights=...)``: the same draws as ``weights``, computed once."""
    return list(accumulate(weights))


_CITY_FORMS = ("Thành phố Hải Phòng", "TP. Hải Phòng", "Hải Phòng")
_CITY_CUM = cumulative((0.8, 0.15, 0.05))


def unit_weights(units: Sequence[reference.AdminUnit], phuong: float, xa: float, dac_khu: float) -> list[float]:
    return [0.02 if u.unit_name == "Bạch Long Vĩ" else {"phuong": phuong, "xa": xa, "dac_khu": dac_khu}[u.unit_type]
            for u in units]


HD_STREETS = ("Nguyễn Lương Bằng", "Thanh Niên", "Hồng Quang", "Lê Thanh Nghị", "Nguyễn Văn Linh", "Trần Hưng Đạo",
              "Điện Biên Phủ", "Ngô Quyền", "Bạch Đằng", "Chi Lăng", "Trường Chinh", "Thống Nhất", "Yết Kiêu",
              "Phạm Ngũ Lão", "Nguyễn Thị Duệ", "Trần Phú")
HP_STREETS = STREETS + ("Lê Hồng Phong", "Đà Nẵng", "Lê Lai", "Ngô Gia Tự", "Cát Bi", "Phạm Văn Đồng", "Tôn Đức Thắng",
                        "Nguyễn Bỉnh Khiêm", "Đình Vũ", "Hùng Vương", "Trần Nhân Tông", "Hồ Sen", "Cầu Rào")
HAMLET_WORDS = ("Thôn", "Thôn", "Thôn", "Xóm", "Khu dân cư", "Tổ dân phố")


def street_address(rng: random.Random, unit: reference.AdminUnit) -> str:
    """A street-level address in a unit, in the usual 'number street, unit, city' form (with format noise)."""
    province = unit_district()[unit.unit_code][1]
    city = rng.choices(_CITY_FORMS, cum_weights=_CITY_CUM)[0]
    if unit.unit_type == "phuong" or rng.random() < 0.25:
        street = rng.choice(HD_STREETS if province == "Hải Dương" else HP_STREETS)
        number = f"{rng.randint(1, 450)}" if rng.random() < 0.85 else f"{rng.randint(1, 200)}/{rng.randint(1, 60)}"
        return f"Số {number} {street}, {unit.unit_full_name}, {city}"
    return f"{rng.choice(HAMLET_WORDS)} {rng.randint(1, 15)}, {unit.unit_full_name}, {city}"


# -- the citizen pool ----------------------------------------------------------------------
class CitizenPool:
    """Adults among the first ``share`` of ``PopulationGenerator(seed, sf).true_citizens()``.

    Packed into two int64 arrays (16 bytes a person: ~4 MB at SF10): the CCCD as a number, and
    name-token, unit, sex and birth-year indices. Deterministic; independent of fault rates.
    """

    def __init__(self, seed: int, sf: float, share: float = POOL_SHARE, as_of: date = AS_OF) -> None:
        gen = PopulationGenerator(seed=seed, sf=sf)
        scan = max(1, math.ceil(gen.citizens * share))
        adult_by = date(as_of.year - 18, as_of.month, as_of.day)
        self._cccd = array("q")
        self._info = array("q")
        self._tokens: list[str] = [""]
        token_index: dict[str, int] = {"": 0}
        self._units = [u.unit_code for u in reference.admin_units()]
        unit_index = {code: i for i, code in enumerate(self._units)}
        self.scanned = 0

        def tok(text: str) -> int:
            i = token_index.get(text)
            if i is None:
                i = token_index[text] = len(self._tokens)
                self._tokens.append(text)
            return i

        for citizen in gen.true_citizens():
            if self.scanned >= scan:
                break
            self.scanned += 1
            if citizen.birth_date > adult_by:
                continue
            parts = citizen.full_name.split(" ")
            first, middle, last = (parts[0], "", "") if len(parts) == 1 else (parts[0], " ".join(parts[1:-1]), parts[-1])
            s, m, g = tok(first), tok(middle), tok(last)
            if max(s, m, g) >= 1 << 14:
                raise OverflowError("too many distinct name tokens for the packed citizen pool")
            info = (s | m << 14 | g << 28 | unit_index[citizen.unit_code] << 42 | (citizen.sex == "F") << 50
                    | (citizen.birth_date.year - 1850) << 51)
            if not citizen.cccd.isdigit() or len(citizen.cccd) != 12:
                raise ValueError(f"true citizen with a malformed CCCD {citizen.cccd!r}")
            self._cccd.append(int(citizen.cccd))
            self._info.append(info)
        if not self._cccd:
            raise ValueError(f"no adult citizen in the first {scan} citizens (seed={seed}, sf={sf})")

    def __len__(self) -> int:
        return len(self._cccd)

    def person(self, i: int) -> CitizenRef:
        info = self._info[i]
        tokens = self._tokens
        name = " ".join(t for t in (tokens[info & 0x3FFF], tokens[info >> 14 & 0x3FFF], tokens[info >> 28 & 0x3FFF]) if t)
        return CitizenRef(cccd=f"{self._cccd[i]:012d}", full_name=name, unit_code=self._units[info >> 42 & 0xFF],
                      birth_year=(info >> 51) + 1850, sex="F" if info >> 50 & 1 else "M")

    def birth_year(self, i: int) -> int:
        return (self._info[i] >> 51) + 1850

    def surname_token(self, i: int) -> int:
        return self._info[i] & 0x3FFF

    def pick_index(self, rng: random.Random, born_by: int | None = None, tries: int = 12) -> int:
        """A random person (born in or before ``born_by`` if possible)."""
        i = rng.randrange(len(self._cccd))
        if born_by is None:
            return i
        for _ in range(tries):
            if self.birth_year(i) <= born_by:
                return i
            i = rng.randrange(len(self._cccd))
        return i

    def pick(self, rng: random.Random, born_by: int | None = None) -> CitizenRef:
        return self.person(self.pick_index(rng, born_by))

    def pick_relative(self, rng: random.Random, of: int, tries: int = 80) -> int:
        """Someone with the same surname (an heir or a donee is usually family)."""
        surname = self.surname_token(of)
        i = rng.randrange(len(self._cccd))
        for _ in range(tries):
            if i != of and self.surname_token(i) == surname:
                return i
            i = rng.randrange(len(self._cccd))
        return i


@lru_cache(maxsize=2)
def citizen_pool(seed: int, sf: float) -> CitizenPool:
    """The shared, cached pool for (seed, sf): one partial population pass per process."""
    return CitizenPool(seed, sf)


def clear_caches() -> None:
    """Free the per-process caches (citizen pool, true register) of a long-running process."""
    citizen_pool.cache_clear()
    _truth.cache_clear()
    enterprise_directory.cache_clear()


# =====================================================================================
# The true enterprises and household businesses
# =====================================================================================

@dataclass(frozen=True)
class Enterprise:
    """An enterprise or household business as the register knows it when nothing went wrong."""

    business_id: str                 # tax code (enterprise) or registration number (household business)
    kind: str                        # "enterprise" | "household_business"
    tax_code: str | None
    name: str                        # canonical mixed case; the register stores enterprise names in capitals
    legal_form: str
    vsic_code: str                   # VSIC 2018 level 4
    unit_code: str
    registered_on: date
    capital_vnd: int
    owner_cccd: str                  # legal representative / household head (a true citizen)
    status: str
    owner_name: str = ""
    address: str = ""


@dataclass(frozen=True)
class _Vsic:
    code: str
    w_enterprise: float
    w_household: float
    phrases: tuple[str, ...]
    household_text: str | None


_VSIC4 = tuple(_Vsic(*row) for row in (
    ("0118", 0.4, 0.6, ("Nông nghiệp", "Nông nghiệp Công nghệ cao"), "Trồng rau, hoa"),
    ("0322", 0.6, 1.0, ("Thủy sản", "Nuôi trồng Thủy sản"), "Nuôi trồng thủy sản"),
    ("1020", 0.6, 0.4, ("Chế biến Thủy sản", "Thực phẩm"), "Chế biến hải sản khô"),
    ("1079", 0.8, 2.0, ("Thực phẩm", "Chế biến Thực phẩm"), "Sản xuất bánh, thực phẩm"),
    ("1410", 1.2, 0.8, ("May mặc", "Dệt may", "May xuất khẩu"), "May đo quần áo"),
    ("1520", 0.5, 0.0, ("Giày da",), None),
    ("1702", 0.5, 0.0, ("Bao bì", "Bao bì Giấy"), None),
    ("2220", 0.9, 0.0, ("Nhựa", "Nhựa Kỹ thuật"), None),
    ("2395", 0.6, 0.2, ("Bê tông", "Vật liệu Xây dựng"), "Sản xuất gạch, cấu kiện bê tông"),
    ("2410", 0.3, 0.0, ("Thép",), None),
    ("2511", 0.8, 0.3, ("Kết cấu Thép", "Cơ khí"), "Gia công cửa sắt, khung nhôm"),
    ("2592", 0.8, 0.5, ("Cơ khí", "Cơ khí Chính xác"), "Gia công cơ khí"),
    ("2610", 0.5, 0.0, ("Điện tử", "Linh kiện Điện tử"), None),
    ("2640", 0.3, 0.0, ("Điện tử",), None),
    ("2710", 0.3, 0.0, ("Thiết bị Điện",), None),
    ("2930", 0.4, 0.0, ("Phụ tùng Ô tô", "Công nghiệp Ô tô"), None),
    ("3011", 0.5, 0.0, ("Đóng tàu", "Công nghiệp Tàu thủy"), None),
    ("3100", 0.4, 0.6, ("Nội thất",), "Sản xuất đồ gỗ nội thất"),
    ("3315", 0.5, 0.0, ("Sửa chữa Tàu biển", "Dịch vụ Kỹ thuật Tàu thủy"), None),
    ("3512", 0.2, 0.0, ("Điện lực", "Năng lượng"), None),
    ("3600", 0.1, 0.0, ("Cấp nước", "Nước sạch"), None),
    ("3811", 0.3, 0.1, ("Môi trường",), "Thu gom phế liệu"),
    ("4101", 3.0, 0.3, ("Xây dựng", "Đầu tư Xây dựng", "Xây dựng Dân dụng"), "Xây dựng nhà ở"),
    ("4102", 1.2, 0.0, ("Xây dựng Công nghiệp", "Xây dựng"), None),
    ("4212", 1.2, 0.0, ("Xây dựng Giao thông", "Xây dựng Công trình"), None),
    ("4299", 1.4, 0.0, ("Xây dựng Công trình", "Xây lắp"), None),
    ("4321", 1.0, 0.6, ("Cơ điện", "Lắp đặt Điện"), "Lắp đặt điện nước"),
    ("4322", 0.8, 0.0, ("Cơ điện lạnh", "Kỹ thuật Nhiệt lạnh"), None),
    ("4330", 1.0, 0.3, ("Nội thất", "Trang trí Nội thất"), "Hoàn thiện nội thất"),
    ("4390", 0.6, 0.0, ("Xây dựng và Thương mại",), None),
    ("4511", 0.5, 0.0, ("Ô tô", "Thương mại Ô tô"), None),
    ("4520", 0.6, 1.5, ("Dịch vụ Ô tô",), "Sửa chữa ô tô"),
    ("4530", 0.4, 0.5, ("Phụ tùng Ô tô",), "Bán phụ tùng ô tô"),
    ("4542", 0.1, 3.0, ("Xe máy",), "Sửa chữa xe máy"),
    ("4610", 1.0, 0.0, ("Thương mại và Dịch vụ", "Xuất nhập khẩu"), None),
    ("4620", 0.6, 0.5, ("Nông sản", "Thương mại Nông sản"), "Buôn bán nông sản"),
    ("4632", 1.2, 1.0, ("Thực phẩm", "Thương mại Thực phẩm"), "Buôn bán thực phẩm"),
    ("4641", 0.8, 0.0, ("Thương mại", "Dệt may"), None),
    ("4649", 1.2, 0.0, ("Thương mại", "Thương mại Tổng hợp"), None),
    ("4651", 0.5, 0.0, ("Công nghệ", "Tin học"), None),
    ("4659", 2.0, 0.0, ("Thiết bị", "Thiết bị Công nghiệp", "Máy móc Thiết bị"), None),
    ("4661", 1.2, 0.0, ("Xăng dầu", "Năng lượng", "Than"), None),
    ("4662", 1.0, 0.0, ("Thép", "Kim khí", "Kim loại"), None),
    ("4663", 2.5, 0.0, ("Vật liệu Xây dựng", "Thương mại Vật liệu Xây dựng"), None),
    ("4669", 1.8, 0.0, ("Thương mại", "Xuất nhập khẩu", "Hóa chất"), None),
    ("4690", 3.0, 0.0, ("Thương mại Tổng hợp", "Thương mại và Dịch vụ", "Xuất nhập khẩu"), None),
    ("4711", 0.6, 9.0, ("Thương mại", "Siêu thị"), "Bán lẻ tạp hóa"),
    ("4719", 0.2, 1.0, ("Thương mại",), "Bán lẻ hàng tổng hợp"),
    ("4722", 0.3, 4.0, ("Thực phẩm",), "Bán lẻ thực phẩm"),
    ("4723", 0.2, 1.5, ("Đồ uống",), "Bán lẻ đồ uống"),
    ("4730", 0.4, 0.3, ("Xăng dầu",), "Bán lẻ xăng dầu"),
    ("4741", 0.3, 1.5, ("Công nghệ", "Điện thoại"), "Bán lẻ điện thoại, máy tính"),
    ("4752", 0.3, 2.5, ("Vật liệu Xây dựng",), "Bán vật liệu xây dựng, đồ ngũ kim"),
    ("4759", 0.3, 1.5, ("Điện máy", "Nội thất"), "Bán lẻ đồ điện gia dụng"),
    ("4771", 0.3, 4.0, ("Thời trang",), "Bán lẻ quần áo, giày dép"),
    ("4772", 0.3, 1.5, ("Dược phẩm", "Mỹ phẩm"), "Bán lẻ mỹ phẩm"),
    ("4781", 0.0, 4.0, ("Thương mại",), "Bán hàng ăn uống tại chợ"),
    ("4932", 0.5, 0.8, ("Vận tải Hành khách", "Vận tải và Du lịch"), "Vận tải hành khách"),
    ("4933", 3.0, 3.0, ("Vận tải", "Vận tải Hàng hóa", "Logistics"), "Vận tải hàng hóa bằng ô tô"),
    ("5012", 1.0, 0.0, ("Vận tải Biển", "Hàng hải"), None),
    ("5022", 0.6, 0.5, ("Vận tải Thủy", "Vận tải Sông biển"), "Vận tải thủy nội địa"),
    ("5210", 1.0, 0.0, ("Kho vận", "Logistics"), None),
    ("5222", 0.7, 0.0, ("Dịch vụ Hàng hải", "Đại lý Tàu biển"), None),
    ("5224", 0.6, 0.2, ("Cảng", "Xếp dỡ"), "Bốc xếp hàng hóa"),
    ("5229", 2.5, 0.0, ("Logistics", "Giao nhận Vận tải", "Tiếp vận"), None),
    ("5510", 0.8, 1.0, ("Du lịch và Khách sạn", "Khách sạn"), "Nhà nghỉ"),
    ("5610", 1.2, 8.0, ("Nhà hàng", "Dịch vụ Ăn uống", "Ẩm thực"), "Kinh doanh ăn uống"),
    ("5630", 0.4, 5.0, ("Cà phê",), "Quán cà phê, giải khát"),
    ("6110", 0.1, 0.0, ("Viễn thông",), None),
    ("6201", 0.6, 0.0, ("Công nghệ Phần mềm", "Giải pháp Công nghệ"), None),
    ("6202", 0.4, 0.0, ("Công nghệ Thông tin", "Tin học"), None),
    ("6810", 1.5, 0.3, ("Bất động sản", "Đầu tư và Phát triển Bất động sản"), "Cho thuê nhà trọ"),
    ("6820", 0.6, 0.2, ("Bất động sản", "Địa ốc"), "Môi giới bất động sản"),
    ("6920", 0.4, 0.0, ("Kế toán", "Tư vấn Thuế"), None),
    ("7020", 0.8, 0.0, ("Tư vấn", "Tư vấn Đầu tư"), None),
    ("7110", 1.2, 0.0, ("Tư vấn Thiết kế", "Tư vấn Xây dựng", "Kiến trúc"), None),
    ("7310", 0.5, 0.3, ("Quảng cáo", "Truyền thông"), "In ấn quảng cáo"),
    ("7490", 0.3, 0.0, ("Dịch vụ Kỹ thuật",), None),
    ("7830", 0.3, 0.0, ("Cung ứng Nhân lực",), None),
    ("7912", 0.4, 0.0, ("Du lịch", "Lữ hành"), None),
    ("8129", 0.3, 0.0, ("Vệ sinh Công nghiệp", "Môi trường"), None),
    ("8299", 0.7, 0.3, ("Dịch vụ", "Thương mại và Dịch vụ"), "Dịch vụ photocopy"),
    ("8559", 0.5, 0.8, ("Giáo dục", "Đào tạo"), "Dạy thêm, luyện thi"),
    ("8620", 0.2, 0.0, ("Y tế",), None),
    ("9311", 0.2, 0.4, ("Thể thao",), "Sân bóng mini"),
    ("9631", 0.1, 3.0, ("Làm đẹp",), "Cắt tóc, gội đầu"),
))
VSIC4_CODES = tuple(v.code for v in _VSIC4)
_SHOP_WORDS = {"4711": "Tạp hóa", "4719": "Cửa hàng", "4722": "Thực phẩm", "4723": "Đại lý bia nước", "4542": "Sửa xe",
               "4520": "Garage ô tô", "5610": "Quán ăn", "5630": "Cà phê", "4771": "Shop thời trang", "9631": "Salon tóc",
               "4752": "Vật liệu xây dựng", "5510": "Nhà nghỉ", "4741": "Điện thoại", "4759": "Điện máy",
               "4772": "Mỹ phẩm", "4781": "Hàng ăn", "1079": "Bánh", "4933": "Vận tải", "4932": "Xe khách",
               "8559": "Trung tâm", "9311": "Sân bóng", "0322": "Trang trại", "0118": "Vườn", "3100": "Đồ gỗ",
               "2592": "Cơ khí", "2511": "Cửa sắt", "4321": "Điện nước", "7310": "Quảng cáo", "8299": "Photocopy",
               "6810": "Nhà trọ", "4632": "Thực phẩm", "4620": "Nông sản", "1410": "May đo"}
_VSIC_BY_CODE = {v.code: v for v in _VSIC4}
_ENT_VSIC = tuple(v for v in _VSIC4 if v.w_enterprise > 0)
_ENT_VSIC_W = tuple(v.w_enterprise for v in _ENT_VSIC)
_HKD_VSIC = tuple(v for v in _VSIC4 if v.w_household > 0)
_HKD_VSIC_W = tuple(v.w_household for v in _HKD_VSIC)

BRANDS = (
    "Hải Long", "Minh Phát", "Thành Đạt", "An Phú", "Hoàng Gia", "Việt Hải", "Đại Dương", "Tân Cảng", "Đông Á",
    "Sao Mai", "Phú Thành", "Hưng Thịnh", "Bình An", "Trường Sơn", "Thịnh Vượng", "Phúc Lộc", "Quang Minh",
    "Đức Anh", "Nam Việt", "Bắc Hải", "Hải Đăng", "Duyên Hải", "Hồng Hà", "Hưng Phát", "Tiến Đạt", "Khánh An",
    "Gia Huy", "Minh Khang", "Phương Nam", "Đông Dương", "Hoàng Long", "Kim Ngân", "Ngọc Lan", "Hải Âu", "Trí Việt",
    "Nhật Minh", "Mạnh Hùng", "Tuấn Dũng", "Hà Anh", "Long Hải", "Thiên Phú", "Vạn Xuân", "Trung Kiên", "Hải Hà",
    "An Khánh", "Phú Gia", "Đại Phát", "Tân Phong", "Thành Công", "Việt Nhật", "Việt Hàn", "Á Châu", "Hoàn Cầu",
    "Trường Thịnh", "Hữu Nghị", "Hồng Phúc", "Bảo An", "Gia Bảo", "Lộc Phát", "Tài Lộc", "Phúc Hưng", "Thuận Phát",
    "Vĩnh Phát", "Quốc Thắng", "Anh Tuấn", "Hải Nam", "Phương Đông", "Bình Minh", "Ánh Dương", "Ngôi Sao",
    "Sông Cấm", "Cửa Cấm", "Tam Bạc", "Cầu Rào", "Lạc Long", "Bạch Đằng", "Đình Vũ", "Lạch Huyện", "Cát Bà",
    "Đồ Sơn", "Kiến An", "Thủy Nguyên", "Tiên Lãng", "Vĩnh Bảo", "Nam Sách", "Chí Linh", "Kinh Môn", "Thanh Hà",
    "Tứ Kỳ", "Gia Lộc", "Cẩm Giàng", "Hải Thành", "Minh Đức", "Tân Tiến", "Đông Hải", "Hoa Phượng", "Thăng Long",
    "Hà Phát", "Việt Tiến", "Kim Long", "Phát Đạt", "Hòa Bình", "Tân Thành", "Đại Thắng", "Trường An", "Mai Linh",
)
_ACRONYM_LETTERS = "ABCDEGHKLMNPQSTV"
INDUSTRIAL_ZONES: dict[str, tuple[str, ...]] = {
    "Quận Hải An": ("Khu công nghiệp Đình Vũ", "Khu kinh tế Đình Vũ - Cát Hải"),
    "Quận An Dương": ("Khu công nghiệp Nomura - Hải Phòng", "Khu công nghiệp Tràng Duệ"),
    "Thành phố Thủy Nguyên": ("Khu công nghiệp VSIP Hải Phòng", "Khu công nghiệp Nam Cầu Kiền"),
    "Quận Đồ Sơn": ("Khu công nghiệp Đồ Sơn",),
    "Huyện An Lão": ("Cụm công nghiệp An Lão",),
    "Thành phố Hải Dương": ("Khu công nghiệp Đại An", "Khu công nghiệp Việt Hòa - Kenmark"),
    "Huyện Cẩm Giàng": ("Khu công nghiệp Phúc Điền", "Khu công nghiệp Tân Trường", "Khu công nghiệp Lương Điền - Cẩm Điền"),
    "Huyện Nam Sách": ("Khu công nghiệp Nam Sách",),
    "Huyện Kim Thành": ("Khu công nghiệp Lai Vu", "Khu công nghiệp Phú Thái"),
    "Thành phố Chí Linh": ("Khu công nghiệp Cộng Hòa",),
}
_IZ_DIVISIONS = {"10", "14", "15", "17", "22", "23", "24", "25", "26", "27", "29", "30", "31", "52"}


def _founding_weights() -> tuple[tuple[int, ...], tuple[float, ...]]:
    years = tuple(range(1995, AS_OF.year + 1))
    weights = []
    for y in years:
        if y < 2000:
            w = 0.4
        elif y <= 2006:
            w = 1.0 + (y - 2000) * 0.4
        elif y <= 2019:
            w = 3.4 + (y - 2006) * 0.5
        else:
            w = {2020: 9.0, 2021: 9.3, 2022: 10.2, 2023: 10.0, 2024: 10.6, 2025: 11.0}.get(y, 11.0)
        if y == AS_OF.year:
            w *= (AS_OF - date(y, 1, 1)).days / 365
        weights.append(w)
    return years, tuple(weights)


def _active_share(years: Sequence[int], weights: Sequence[float], hazard: float, suspended: float) -> float:
    total = sum(weights)
    alive = sum(w * math.exp(-hazard * max(0.0, (AS_OF - date(y, 7, 1)).days / 365.25)) for y, w in zip(years, weights))
    return alive / total * (1 - suspended)


_ENT_YEARS, _ENT_YEAR_W = _founding_weights()
_HKD_YEARS = tuple(range(2005, AS_OF.year + 1))
_HKD_YEAR_W = tuple((1.0 + (y - 2005) * 0.35) * ((AS_OF - date(y, 1, 1)).days / 365 if y == AS_OF.year else 1.0)
                    for y in _HKD_YEARS)
_ENT_YEAR_CUM = cumulative(_ENT_YEAR_W)
_HKD_YEAR_CUM = cumulative(_HKD_YEAR_W)
_ENT_VSIC_CUM = cumulative(_ENT_VSIC_W)
_HKD_VSIC_CUM = cumulative(_HKD_VSIC_W)
ENTERPRISE_ACTIVE_SHARE = _active_share(_ENT_YEARS, _ENT_YEAR_W, DISSOLUTION_HAZARD, SUSPENDED_SHARE)
HKD_ACTIVE_SHARE = _active_share(_HKD_YEARS, _HKD_YEAR_W, HKD_CLOSURE_HAZARD, HKD_SUSPENDED_SHARE)


def enterprise_count(sf: float) -> int:
    """Rows of doanh_nghiep (all statuses) at snapshot 1."""
    return max(1, round(ACTIVE_ENTERPRISES_PER_SF * sf / ENTERPRISE_ACTIVE_SHARE))


def household_count(sf: float) -> int:
    return max(1, round(ACTIVE_HOUSEHOLD_BUSINESSES_PER_SF * sf / HKD_ACTIVE_SHARE))


@dataclass
class _Event:
    kind: str
    day: date
    text: str


@dataclass
class _Ent:
    """Working record of one true enterprise (current state + history)."""

    founded: date
    unit: reference.AdminUnit
    form: str
    vsic: _Vsic
    capital: int
    status: str
    end: date | None                 # suspension or dissolution date
    tax_code: str = ""
    name: str = ""
    brand: str = ""
    address: str = ""
    rep: CitizenRef | None = None
    events: list[_Event] = field(default_factory=list)
    updated: str = ""


def _capital(rng: random.Random, form: str) -> int:
    median, sigma = {"Công ty cổ phần": (6e9, 1.3), "Doanh nghiệp tư nhân": (8e8, 0.9),
                     "Công ty hợp danh": (1e9, 0.8), "Công ty TNHH hai thành viên trở lên": (2.5e9, 1.1)
                     }.get(form, (1.5e9, 1.1))
    value = min(5e12, max(1e7, rng.lognormvariate(math.log(median), sigma)))
    return int(round(value / 1e7)) * 10_000_000


def _form_prefix(form: str, rng: random.Random) -> str:
    if form == "Công ty TNHH một thành viên":
        return rng.choices(("Công ty TNHH", "Công ty TNHH MTV", "Công ty TNHH Một thành viên"), (0.6, 0.3, 0.1))[0]
    if form == "Công ty TNHH hai thành viên trở lên":
        return "Công ty TNHH"
    if form == "Công ty cổ phần":
        return rng.choices(("Công ty Cổ phần", "Công ty CP"), (0.88, 0.12))[0]
    if form == "Doanh nghiệp tư nhân":
        return "Doanh nghiệp tư nhân"
    return "Công ty Hợp danh"


def _brand(rng: random.Random) -> str:
    if rng.random() < 0.12:
        return "".join(rng.choice(_ACRONYM_LETTERS) for _ in range(rng.randint(2, 4)))
    return rng.choice(BRANDS)


def _enterprise_name(rng: random.Random, form: str, vsic: _Vsic, taken: set[str]) -> tuple[str, str]:
    """A unique enterprise name (uniqueness is the law) -> (name, brand)."""
    for attempt in range(40):
        brand = _brand(rng)
        phrase = rng.choice(vsic.phrases) if vsic.phrases and rng.random() < 0.92 else ""
        suffix = ""
        if attempt >= 6 or rng.random() < 0.15:
            suffix = rng.choice((" Hải Phòng", " Việt Nam", " Miền Bắc", " Quốc tế", " Toàn Cầu", " HP"))
        name = " ".join(p for p in (_form_prefix(form, rng), phrase, brand) if p) + suffix
        if attempt >= 20:
            name += f" {rng.choice(BRANDS)}"
        key = fold_diacritics(name).lower()
        if key not in taken:
            taken.add(key)
            return name, brand
    raise RuntimeError("could not find a unique enterprise name")


def _ent_address(rng: random.Random, e: _Ent) -> str:
    district = unit_district()[e.unit.unit_code][0]
    zones = INDUSTRIAL_ZONES.get(district)
    if zones and e.vsic.code[:2] in _IZ_DIVISIONS and rng.random() < 0.6:
        city = rng.choices(("Thành phố Hải Phòng", "TP. Hải Phòng"), (0.85, 0.15))[0]
        return f"Lô {rng.choice('ABCDEFGHK')}{rng.randint(1, 24)}, {rng.choice(zones)}, {e.unit.unit_full_name}, {city}"
    if e.unit.unit_type == "phuong" and rng.random() < 0.1:
        return f"Tầng {rng.randint(2, 18)}, tòa nhà {rng.choice(BRANDS)}, {street_address(rng, e.unit)}"
    return street_address(rng, e.unit)


class _Truth:
    """The true register at snapshot 1 (enterprises with history; household businesses streamed)."""

    def __init__(self, seed: int, sf: float) -> None:
        self.seed, self.sf = seed, sf
        self.pool = citizen_pool(seed, sf)
        self.units = reference.admin_units()
        self.ent_unit_w = cumulative(unit_weights(self.units, phuong=3.0, xa=1.0, dac_khu=0.6))
        self.hkd_unit_w = cumulative(unit_weights(self.units, phuong=1.3, xa=1.0, dac_khu=0.7))
        self.names_taken: set[str] = set()
        self.enterprises = self._enterprises()
        self.max_body: dict[str, int] = {}
        for e in self.enterprises:
            self.max_body[e.tax_code[:2]] = max(self.max_body.get(e.tax_code[:2], 0), int(e.tax_code[2:9]))

    # -- enterprises ---------------------------------------------------------------------
    def _enterprises(self) -> list[_Ent]:
        rng = rng_for(SYSTEM.name, self.seed, "enterprises")
        forms, form_w = zip(*LEGAL_FORMS)
        ents: list[_Ent] = []
        for _ in range(enterprise_count(self.sf)):
            year = rng.choices(_ENT_YEARS, cum_weights=_ENT_YEAR_CUM)[0]
            founded = random_day(rng, date(year, 1, 2), min(date(year, 12, 30), AS_OF - timedelta(days=2)))
            unit = rng.choices(self.units, cum_weights=self.ent_unit_w)[0]
            form = rng.choices(forms, form_w)[0]
            vsic = rng.choices(_ENT_VSIC, cum_weights=_ENT_VSIC_CUM)[0]
            capital = _capital(rng, form)
            age = (AS_OF - founded).days / 365.25
            status, end = "dang_hoat_dong", None
            if rng.random() < 1 - math.exp(-DISSOLUTION_HAZARD * age):
                status, end = "giai_the", random_day(rng, founded + timedelta(days=120), AS_OF - timedelta(days=1))
            elif rng.random() < SUSPENDED_SHARE:
                status, end = "tam_ngung", random_day(rng, max(founded + timedelta(days=60), AS_OF - timedelta(days=730)),
                                                      AS_OF - timedelta(days=1))
            ents.append(_Ent(founded=founded, unit=unit, form=form, vsic=vsic, capital=capital, status=status, end=end))
        ents.sort(key=lambda e: e.founded)     # stable: ties keep draw order
        self._assign_codes(rng, ents)
        for e in ents:
            e.name, e.brand = _enterprise_name(rng, e.form, e.vsic, self.names_taken)
            e.address = _ent_address(rng, e)
            e.rep = self.pool.pick(rng, born_by=e.founded.year - 20)
            self._history(rng, e)
        return ents

    def _assign_codes(self, rng: random.Random, ents: list[_Ent]) -> None:
        def prefix(e: _Ent) -> str:
            return "08" if e.founded < MERGER and unit_district()[e.unit.unit_code][1] == "Hải Dương" else "02"

        span = {"02": 2_300_000, "08": 1_500_000}
        counts = Counter(prefix(e) for e in ents)
        body = {"02": 100_000, "08": 100_000}
        for e in ents:
            p = prefix(e)
            gap = max(1, span[p] // max(1, counts[p]))
            code, used = make_tax_code(p, body[p] + rng.randint(1, 2 * gap - 1 if gap > 1 else 1))
            body[p] = used
            e.tax_code = code

    def _history(self, rng: random.Random, e: _Ent) -> None:
        """Change events, written backwards from the current state so every event is consistent with it."""
        last = e.end if e.end else AS_OF - timedelta(days=1)
        years = max(0.0, (last - e.founded).days / 365.25)
        events: list[tuple[date, str]] = []
        for kind, rate in EVENT_RATES.items():
            for _ in range(poisson(rng, rate * years)):
                events.append((random_day(rng, e.founded + timedelta(days=30), last - timedelta(days=1)), kind))
        events.sort()
        name, capital, address, rep = e.name, e.capital, e.address, e.rep
        history: list[_Event] = []
        for day, kind in reversed(events):
            if kind == "tang_von":
                old = max(10_000_000, int(round(capital / rng.uniform(1.25, 3.0) / 1e7)) * 10_000_000)
                if old >= capital:
                    continue
                text = f"Tăng vốn điều lệ từ {fmt_vnd(old)} đồng lên {fmt_vnd(capital)} đồng"
                capital = old
            elif kind == "doi_tru_so":
                old = street_address(rng, rng.choices(self.units, cum_weights=self.ent_unit_w)[0])
                text = f"Thay đổi địa chỉ trụ sở chính từ: {old}; sang: {address}"
                address = old
            elif kind == "doi_ten":
                old, _ = _enterprise_name(rng, e.form, e.vsic, self.names_taken)
                text = f'Đổi tên doanh nghiệp từ "{old.upper()}" thành "{name.upper()}"'
                name = old
            else:
                old_rep = self.pool.pick(rng, born_by=e.founded.year - 20)
                text = (f"Thay đổi người đại diện theo pháp luật từ ông/bà {old_rep.full_name} sang ông/bà "
                        f"{rep.full_name} (CCCD {rep.cccd})")
                rep = old_rep
            history.append(_Event(kind, day, text))
        history.reverse()
        if e.status == "tam_ngung":
            history.append(_Event("tam_ngung", e.end, f"Tạm ngừng kinh doanh từ ngày {vn_date(e.end)} đến ngày "
                                                      f"{vn_date(e.end + timedelta(days=365))}"))
        elif e.status == "giai_the":
            reason = rng.choice(("Giải thể theo quyết định của chủ sở hữu doanh nghiệp",
                                 "Giải thể theo nghị quyết của Hội đồng thành viên",
                                 "Giải thể theo nghị quyết của Đại hội đồng cổ đông",
                                 "Giải thể do bị thu hồi Giấy chứng nhận đăng ký doanh nghiệp"))
            history.append(_Event("giai_the", e.end, reason))
        e.events = history
        e.updated = office_time(rng, history[-1].day if history else e.founded)

    def new_enterprises(self, n: int) -> list[_Ent]:
        """Enterprises founded between the two snapshots (snapshot 2), numbered after the last code."""
        rng = rng_for(SYSTEM.name, self.seed, "snapshot2-new")
        forms, form_w = zip(*LEGAL_FORMS)
        body = self.max_body.get("02", 100_000)
        taken = set(self.names_taken)             # the cached truth must not change between calls
        out = []
        for _ in range(n):
            founded = random_day(rng, AS_OF, SNAPSHOT2_AS_OF - timedelta(days=1))
            unit = rng.choices(self.units, cum_weights=self.ent_unit_w)[0]
            form = rng.choices(forms, form_w)[0]
            vsic = rng.choices(_ENT_VSIC, cum_weights=_ENT_VSIC_CUM)[0]
            out.append(_Ent(founded=founded, unit=unit, form=form, vsic=vsic, capital=_capital(rng, form),
                            status="dang_hoat_dong", end=None))
        out.sort(key=lambda e: e.founded)
        for e in out:
            e.tax_code, body = make_tax_code("02", body + rng.randint(1, 40))
            e.name, e.brand = _enterprise_name(rng, e.form, e.vsic, taken)
            e.address = _ent_address(rng, e)
            e.rep = self.pool.pick(rng, born_by=e.founded.year - 20)
            e.updated = office_time(rng, e.founded)
        return out

    # -- household businesses ----------------------------------------------------------
    def households(self) -> Iterator[dict[str, Any]]:
        rng = rng_for(SYSTEM.name, self.seed, "households")
        districts = sorted({v for v in unit_district().values()})
        letter = {}
        for province in ("Hải Phòng", "Hải Dương"):
            for i, d in enumerate(x for x in districts if x[1] == province):
                letter[d] = "ABCDEFGHKLMNPQRSTUV"[i]
        serial: Counter = Counter()
        owners: set[int] = set()
        by_code = reference.admin_unit_by_code()
        for _ in range(household_count(self.sf)):
            year = rng.choices(_HKD_YEARS, cum_weights=_HKD_YEAR_CUM)[0]
            registered = random_day(rng, date(year, 1, 2), min(date(year, 12, 30), AS_OF - timedelta(days=2)))
            idx = self.pool.pick_index(rng, born_by=registered.year - 18)
            for _ in range(20):                   # one household business per person
                if idx not in owners:
                    break
                idx = self.pool.pick_index(rng, born_by=registered.year - 18)
            owners.add(idx)
            owner = self.pool.person(idx)
            unit = by_code[owner.unit_code] if rng.random() < 0.85 else rng.choices(self.units, cum_weights=self.hkd_unit_w)[0]
            district = unit_district()[unit.unit_code]
            prov = "08" if district[1] == "Hải Dương" else "02"
            serial[district] += rng.randint(1, 3)
            number = f"{prov}{letter[district]}8{serial[district]:06d}"
            vsic = rng.choices(_HKD_VSIC, cum_weights=_HKD_VSIC_CUM)[0]
            age = (AS_OF - registered).days / 365.25
            status, end = "dang_hoat_dong", None
            if rng.random() < 1 - math.exp(-HKD_CLOSURE_HAZARD * age):
                status, end = "cham_dut", random_day(rng, registered + timedelta(days=90), AS_OF - timedelta(days=1))
            elif rng.random() < HKD_SUSPENDED_SHARE:
                status, end = "tam_ngung", random_day(rng, max(registered + timedelta(days=30), AS_OF - timedelta(days=500)),
                                                      AS_OF - timedelta(days=1))
            if rng.random() < 0.4:
                name = f"Hộ kinh doanh {owner.full_name}"
            else:
                shop = _SHOP_WORDS.get(vsic.code) or vsic.household_text.split(",")[0]
                name = f"Hộ kinh doanh {shop} {rng.choice(BRANDS + (owner.full_name.split(' ')[-1],) * 20)}"
            capital = int(round(min(5e10, max(1e7, rng.lognormvariate(math.log(1.2e8), 0.9))) / 1e6)) * 1_000_000
            yield {"so_dang_ky": number, "ten_ho_kinh_doanh": name, "owner": owner, "ma_nganh": vsic.code,
                   "nganh_nghe": vsic.household_text, "von_kinh_doanh": capital, "unit": unit,
                   "dia_diem_kinh_doanh": street_address(rng, unit), "ngay_dang_ky": registered, "trang_thai": status,
                   "ngay_cap_nhat": office_time(rng, end or registered)}


@lru_cache(maxsize=2)
def _truth(seed: int, sf: float) -> _Truth:
    return _Truth(seed, sf)


def _as_enterprise(e: _Ent) -> Enterprise:
    return Enterprise(business_id=e.tax_code, kind="enterprise", tax_code=e.tax_code, name=e.name, legal_form=e.form,
                      vsic_code=e.vsic.code, unit_code=e.unit.unit_code, registered_on=e.founded, capital_vnd=e.capital,
                      owner_cccd=e.rep.cccd, status=e.status, owner_name=e.rep.full_name, address=e.address)


@lru_cache(maxsize=2)
def enterprise_directory(seed: int, sf: float) -> tuple[Enterprise, ...]:
    """The true enterprises (not household businesses), in founding order: what other systems pick from."""
    return tuple(_as_enterprise(e) for e in _truth(seed, sf).enterprises)


def true_enterprises(seed: int = 42, sf: float = 1.0) -> Iterator[Enterprise]:
    """The true register at snapshot 1: enterprises (founding order), then household businesses.

    Independent of fault rates; deterministic; cached per process for the enterprises
    (a few thousand per SF), streamed for household businesses.
    """
    yield from enterprise_directory(seed, sf)
    for h in _truth(seed, sf).households():
        owner: CitizenRef = h["owner"]
        yield Enterprise(business_id=h["so_dang_ky"], kind="household_business", tax_code=None,
                         name=h["ten_ho_kinh_doanh"], legal_form=HOUSEHOLD_FORM, vsic_code=h["ma_nganh"],
                         unit_code=h["unit"].unit_code, registered_on=h["ngay_dang_ky"],
                         capital_vnd=h["von_kinh_doanh"], owner_cccd=owner.cccd, status=h["trang_thai"],
                         owner_name=owner.full_name, address=h["dia_diem_kinh_doanh"])


# =====================================================================================
# Source rows with faults
# =====================================================================================

@dataclass(frozen=True)
class _Update:
    """A change between snapshot 1 and 2: the event and the row's new values."""

    event: _Event
    capital: int | None
    address: str | None
    updated: str


class BusinessRegistry:
    """Rows of the three tables for one snapshot, faults applied, stats counted."""

    def __init__(self, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
                 snapshot: int = 1) -> None:
        if snapshot not in (1, 2):
            raise ValueError("snapshot must be 1 or 2")
        self.seed, self.sf, self.snapshot = seed, sf, snapshot
        self.stats = GenerationStats(system=SYSTEM.name)
        self.faults = FaultPlan(SYSTEM.name, seed, TABLE_FAULTS, DEFAULT_FAULT_RATES, fault_rates, self.stats)
        self.truth = _truth(seed, sf)
        self.deleted: set[str] = set()
        self.updated: dict[str, _Update] = {}
        self.new: list[_Ent] = []
        if snapshot == 2:
            self._plan_snapshot2()

    # -- snapshot 2 ----------------------------------------------------------------------
    def _plan_snapshot2(self) -> None:
        rate = self.faults.rate("doanh_nghiep", "hard_delete")
        rng = rng_for(SYSTEM.name, self.seed, "snapshot2-updates")
        for e in self.truth.enterprises:
            if unit_float(self.seed, "hard_delete", e.tax_code) < rate:
                self.deleted.add(e.tax_code)
            elif e.status == "dang_hoat_dong" and unit_float(self.seed, "update", e.tax_code) < SNAPSHOT2_UPDATE_SHARE:
                day = random_day(rng, AS_OF, SNAPSHOT2_AS_OF - timedelta(days=1))
                if rng.random() < 0.6:
                    capital = int(round(e.capital * rng.uniform(1.3, 3.0) / 1e7)) * 10_000_000
                    text = f"Tăng vốn điều lệ từ {fmt_vnd(e.capital)} đồng lên {fmt_vnd(capital)} đồng"
                    self.updated[e.tax_code] = _Update(_Event("tang_von", day, text), capital, None,
                                                       office_time(rng, day))
                else:
                    address = _ent_address(rng, e)
                    text = f"Thay đổi địa chỉ trụ sở chính từ: {e.address}; sang: {address}"
                    self.updated[e.tax_code] = _Update(_Event("doi_tru_so", day, text), None, address,
                                                       office_time(rng, day))
        self.faults.count("doanh_nghiep", "hard_delete", len(self.deleted))
        self.new = self.truth.new_enterprises(round(len(self.truth.enterprises) * SNAPSHOT2_NEW_SHARE))

    def _email(self, e: _Ent) -> str | None:
        if e.founded < AS_OF and unit_float(self.seed, "email", e.tax_code) >= 0.65:
            return None
        slug = re.sub(r"[^a-z0-9]", "", fold_diacritics(e.brand).lower()) or "congty"
        return f"{slug}{e.tax_code[-4:]}@gmail.com" if unit_float(self.seed, "mail", e.tax_code) < 0.5 \
            else f"info@{slug}.com.vn"

    # -- doanh_nghiep --------------------------------------------------------------------
    def _dn_row(self, e: _Ent) -> dict[str, Any]:
        capital, address, updated = e.capital, e.address, e.updated
        change = self.updated.get(e.tax_code)
        if change:
            capital, address, updated = change.capital or capital, change.address or address, change.updated
        row = {"ma_so_doanh_nghiep": e.tax_code, "ten_doanh_nghiep": e.name.upper(), "loai_hinh": e.form,
               "nganh_nghe_chinh": e.vsic.code, "von_dieu_le": capital, "ngay_thanh_lap": e.founded.isoformat(),
               "ma_dvhc": e.unit.unit_code, "dia_chi_tru_so": address, "so_cccd_nguoi_dai_dien": e.rep.cccd,
               "ho_ten_nguoi_dai_dien": e.rep.full_name, "trang_thai": e.status, "ngay_cap_nhat": updated}
        if self.snapshot == 2:
            row["dia_chi"] = row.pop("dia_chi_tru_so")
            row["email"] = self._email(e)
        return row

    def _dn_alter(self, row: dict[str, Any], e: _Ent) -> None:
        t, f = "doanh_nghiep", self.faults
        rng = f.rng(t)
        addr_col = "dia_chi" if self.snapshot == 2 else "dia_chi_tru_so"
        applicable = [x for x in ("tax_code_malformed", "tax_code_bad_check", "missing_value", "bad_date",
                                  "vn_date_format", "unaccented_name", "misspelled_name", "old_admin_unit",
                                  "capital_invalid", "late_update")
                      if not (x == "late_update" and len(e.events) < 1)]
        fault = f.choose(t, applicable)
        if fault is None:
            return
        if fault == "tax_code_malformed":
            row["ma_so_doanh_nghiep"] = malformed_tax_code(e.tax_code, rng)
        elif fault == "tax_code_bad_check":
            row["ma_so_doanh_nghiep"] = bad_check_tax_code(e.tax_code, rng)
        elif fault == "missing_value":
            col = rng.choice((addr_col, "von_dieu_le", "nganh_nghe_chinh", "ngay_thanh_lap", "loai_hinh"))
            row[col] = None if col in ("von_dieu_le",) or rng.random() < 0.7 else ""
        elif fault == "bad_date":
            row["ngay_thanh_lap"] = rng.choice(BAD_DATES)
        elif fault == "vn_date_format":
            row["ngay_thanh_lap"] = vn_date(e.founded)
        elif fault == "unaccented_name":
            row["ten_doanh_nghiep"] = fold_diacritics(row["ten_doanh_nghiep"])
        elif fault == "misspelled_name":
            row["ten_doanh_nghiep"] = mistype(row["ten_doanh_nghiep"], rng)
        elif fault == "old_admin_unit":
            old = old_unit_for(e.unit.unit_code, rng)
            if old is None:
                return
            row["ma_dvhc"] = old[0]
            row[addr_col] = row[addr_col].split(", ")[0] + ", " + old[1]
        elif fault == "capital_invalid":
            row["von_dieu_le"] = rng.choice((0, -row["von_dieu_le"] if row["von_dieu_le"] else -1))
        elif fault == "late_update":
            latest = e.events[-1].day
            row["ngay_cap_nhat"] = office_time(rng, random_day(rng, e.founded, latest - timedelta(days=1)))
        f.count(t, fault)

    def _dn_near(self, row: dict[str, Any]) -> dict[str, Any]:
        rng = self.faults.rng("doanh_nghiep")
        near = dict(row)
        name = near["ten_doanh_nghiep"] or ""
        near["ten_doanh_nghiep"] = rng.choice((fold_diacritics(name), name.replace("CÔNG TY", "CTY"),
                                               name.title()))
        try:
            older = datetime.strptime(row["ngay_cap_nhat"], "%Y-%m-%d %H:%M:%S") - timedelta(days=rng.randint(30, 900))
            near["ngay_cap_nhat"] = older.strftime("%Y-%m-%d %H:%M:%S")
        except (TypeError, ValueError):
            pass
        if near["trang_thai"] != "dang_hoat_dong" and rng.random() < 0.5:
            near["trang_thai"] = "dang_hoat_dong"          # a stale copy from before the suspension/dissolution
        return near

    def doanh_nghiep_rows(self) -> Iterator[tuple[Any, ...]]:
        """Enterprises in code order; in snapshot 2 the deleted ones take every draw but are not written,
        so all other rows come out exactly as in snapshot 1."""
        t, f = "doanh_nghiep", self.faults
        cols = SNAPSHOT2_DN_COLUMNS if self.snapshot == 2 else COLUMNS[t]
        delayed = Delayed(f.rng(t))
        for e in self.truth.enterprises:
            gone = e.tax_code in self.deleted
            f.muted = gone                      # same draws as snapshot 1, nothing counted
            row = self._dn_row(e)
            cccd, name = f.citizen_link(t, e.rep)
            row["so_cccd_nguoi_dai_dien"], row["ho_ten_nguoi_dai_dien"] = cccd, name
            self._dn_alter(row, e)
            dup = f.duplicate(t)
            if dup == "exact":
                f.count(t, "exact_duplicate")
                delayed.add((gone, dict(row)))
            elif dup == "near":
                f.count(t, "near_duplicate")
                delayed.add((gone, self._dn_near(row)))
            f.muted = False
            if not gone:
                yield tuple(row[c] for c in cols)
            for late_gone, late in delayed.due():
                if not late_gone:
                    yield tuple(late[c] for c in cols)
        for late_gone, late in delayed.rest():
            if not late_gone:
                yield tuple(late[c] for c in cols)
        for e in self.new:                      # snapshot 2 only: clean rows of the month's new enterprises
            row = self._dn_row(e)
            yield tuple(row[c] for c in cols)

    # -- ho_kinh_doanh -------------------------------------------------------------------
    def ho_kinh_doanh_rows(self) -> Iterator[tuple[Any, ...]]:
        t, f = "ho_kinh_doanh", self.faults
        cols = COLUMNS[t]
        rng = f.rng(t)
        delayed = Delayed(rng)
        for h in self.truth.households():
            owner: CitizenRef = h["owner"]
            cccd, name = f.citizen_link(t, owner)
            row = {"so_dang_ky": h["so_dang_ky"], "ten_ho_kinh_doanh": h["ten_ho_kinh_doanh"], "so_cccd_chu_ho": cccd,
                   "ho_ten_chu_ho": name, "ma_nganh": h["ma_nganh"], "nganh_nghe": h["nganh_nghe"],
                   "von_kinh_doanh": h["von_kinh_doanh"], "ma_dvhc": h["unit"].unit_code,
                   "dia_diem_kinh_doanh": h["dia_diem_kinh_doanh"], "ngay_dang_ky": h["ngay_dang_ky"].isoformat(),
                   "trang_thai": h["trang_thai"], "ngay_cap_nhat": h["ngay_cap_nhat"]}
            fault = f.choose(t, ("missing_value", "bad_date", "vn_date_format", "unaccented_name", "misspelled_name",
                                 "old_admin_unit", "capital_invalid"))
            if fault == "missing_value":
                row[rng.choice(("dia_diem_kinh_doanh", "ma_nganh", "von_kinh_doanh", "ngay_dang_ky"))] = None
            elif fault == "bad_date":
                row["ngay_dang_ky"] = rng.choice(BAD_DATES)
            elif fault == "vn_date_format":
                row["ngay_dang_ky"] = vn_date(h["ngay_dang_ky"])
            elif fault == "unaccented_name":
                row["ten_ho_kinh_doanh"] = fold_diacritics(row["ten_ho_kinh_doanh"])
            elif fault == "misspelled_name":
                row["ten_ho_kinh_doanh"] = mistype(row["ten_ho_kinh_doanh"], rng)
            elif fault == "old_admin_unit":
                old = old_unit_for(h["unit"].unit_code, rng)
                if old is None:
                    fault = None
                else:
                    row["ma_dvhc"] = old[0]
                    row["dia_diem_kinh_doanh"] = row["dia_diem_kinh_doanh"].split(", ")[0] + ", " + old[1]
            elif fault == "capital_invalid":
                row["von_kinh_doanh"] = rng.choice((0, -row["von_kinh_doanh"]))
            if fault:
                f.count(t, fault)
            yield tuple(row[c] for c in cols)
            dup = f.duplicate(t)
            if dup == "exact":
                f.count(t, "exact_duplicate")
                delayed.add(dict(row))
            elif dup == "near":
                f.count(t, "near_duplicate")
                near = dict(row)
                near["ten_ho_kinh_doanh"] = fold_diacritics(near["ten_ho_kinh_doanh"] or "")
                near["ngay_cap_nhat"] = office_time(rng, h["ngay_dang_ky"])
                delayed.add(near)
            for late in delayed.due():
                yield tuple(late[c] for c in cols)
        for late in delayed.rest():
            yield tuple(late[c] for c in cols)

    # -- thay_doi_dang_ky ----------------------------------------------------------------
    def thay_doi_rows(self) -> Iterator[tuple[Any, ...]]:
        """Events in effective-date order with increasing ids, except late events (appended last).

        In snapshot 2 the events of deleted enterprises keep their draws and ids but are not written:
        ids of the other events stay what they were in snapshot 1, as in a real table.
        """
        t, f = "thay_doi_dang_ky", self.faults
        rng = f.rng(t)
        cols = COLUMNS[t]
        events = [(ev.day, e.tax_code, k, ev) for e in self.truth.enterprises for k, ev in enumerate(e.events)]
        events.sort(key=lambda x: (x[0], x[1], x[2]))
        held: list[tuple[bool, dict[str, Any]]] = []
        dups = Delayed(rng)
        next_id = 0
        for day, code, _, ev in events:
            gone = code in self.deleted
            f.muted = gone
            late = f.hit(t, "late_event")
            tax_code, _ = f.enterprise_link(t, code, "")
            row = {"ma_so_doanh_nghiep": tax_code, "loai_thay_doi": ev.kind, "noi_dung": ev.text,
                   "ngay_hieu_luc": day.isoformat()}
            fault = f.choose(t, ("bad_date", "vn_date_format"))
            if fault == "bad_date":
                row["ngay_hieu_luc"] = rng.choice(BAD_DATES)
            elif fault == "vn_date_format":
                row["ngay_hieu_luc"] = vn_date(day)
            if fault:
                f.count(t, fault)
            dup = f.hit(t, "exact_duplicate")
            if late:
                f.count(t, "late_event")
                held.append((gone, row))
            else:
                next_id += 1
                row["id"] = next_id
                if not gone:
                    yield tuple(row[c] for c in cols)
            if dup:
                f.count(t, "exact_duplicate")
                dups.add((gone, row))
            f.muted = False
            for copy_gone, copy in dups.due():    # the same event entered twice: same content, another id
                next_id += 1
                if not copy_gone:
                    yield tuple(dict(copy, id=next_id)[c] for c in cols)
        for row_gone, row in list(dups.rest()) + held:   # late events arrive last, with the largest ids
            next_id += 1
            if not row_gone:
                yield tuple(dict(row, id=next_id)[c] for c in cols)
        if self.snapshot == 2:
            for code in sorted(self.updated, key=lambda c: (self.updated[c].event.day, c)):
                ev = self.updated[code].event
                next_id += 1
                yield (next_id, code, ev.kind, ev.text, ev.day.isoformat())


def generate_snapshot(target: str, *, seed: int = 42, sf: float = 1.0, snapshot: int = 1,
                      fault_rates: dict[str, float] | None = None, chunk_rows: int = 5000) -> GenerationStats:
    """(Re)create the three tables at ``target`` as of snapshot 1 (2026-11-01) or 2 (2026-12-01)."""
    started = time.perf_counter()
    reg = BusinessRegistry(seed=seed, sf=sf, fault_rates=fault_rates, snapshot=snapshot)
    dn_cols = SNAPSHOT2_DN_COLUMNS if snapshot == 2 else COLUMNS["doanh_nghiep"]
    with dbapi.connect(target) as con:
        create_tables(con, target, [("doanh_nghiep", dn_cols, COLUMN_TYPES, None),
                                    ("ho_kinh_doanh", COLUMNS["ho_kinh_doanh"], COLUMN_TYPES, None),
                                    ("thay_doi_dang_ky", COLUMNS["thay_doi_dang_ky"], COLUMN_TYPES, "id")])
        write_rows(con, target, "doanh_nghiep", dn_cols, reg.doanh_nghiep_rows(), reg.stats, chunk_rows)
        write_rows(con, target, "ho_kinh_doanh", COLUMNS["ho_kinh_doanh"], reg.ho_kinh_doanh_rows(), reg.stats, chunk_rows)
        write_rows(con, target, "thay_doi_dang_ky", COLUMNS["thay_doi_dang_ky"], reg.thay_doi_rows(), reg.stats,
                   chunk_rows)
        create_indexes(con, INDEXES)
    reg.stats.seconds = time.perf_counter() - started
    write_manifest(target, SYSTEM.name, seed, sf, reg.stats, snapshot=snapshot)
    return reg.stats


def generate(target: str, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             chunk_rows: int = 5000) -> GenerationStats:
    """The business registration database as of snapshot 1; see :func:`generate_snapshot`."""
    return generate_snapshot(target, seed=seed, sf=sf, snapshot=1, fault_rates=fault_rates, chunk_rows=chunk_rows)
