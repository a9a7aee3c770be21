"""The civil-status registers (Cơ sở dữ liệu hộ tịch điện tử), generated.

Owner: Sở Tư pháp (Department of Justice); events are registered by the commune People's
Committees in the Ministry of Justice's electronic civil-status software. A relational
database (SQLite under ``kho sources up``, PostgreSQL with ``kho sources up --real``) with three tables:

* ``khai_sinh`` (births): the child is a true citizen born in the window (the population's
  0-4 age band gives ~14.5 births per 1,000 a year, the crude birth rate of Vietnam), the
  mother a true woman of the same commune aged 18-45 at the birth, the father (nullable) a
  true man aged 20-55, usually of the child's surname. Most births are registered within the
  legal 60 days, some months later; a few people born long before the window are registered
  late (``đăng ký khai sinh quá hạn``).
* ``ket_hon`` (marriages): ~7 per 1,000 people a year; groom 20+, bride 18+ at the date.
* ``khai_tu`` (deaths): true citizens who die in the window under an age-specific mortality
  that gives ~6 per 1,000 a year. Death is a *life draw* (below), so the insurance, health
  and labour generators drop the same people after the same date. The population database
  still lists them (it is not told), which is a real inconsistency for the integrated zone.

Window: events from 2024-01-01 to 2026-10-31 (the population is as of 2026-11-01); events
registered after the window are not in the registers yet. ``so_dang_ky`` ("145/2025") is
numbered per registering commune, table and year in registration order; ``id`` is a
surrogate key; ``ngay_cap_nhat`` (when the record was typed in) is the incremental cursor.

Faults (``DEFAULT_FAULT_RATES``, shares of rows): exact duplicates (new id), near
duplicates (the same event re-entered without diacritics or later), missing CCCD / sex /
registration date, malformed values (sex codes outside the list, a registration dated
before the event or ten years ahead), invalid CCCD (cut, padded, a 9-digit CMND, O for 0),
unaccented or misspelled names, a pre-2025 commune code on records registered before the
reform (consistent with the crosswalk: a unit the current one absorbed), late registration
(more than a year after the birth or death); and the link faults of every person reference
(``LINK_FAULT_RATES``: a CCCD of nobody, a typo, the right CCCD with another birth date),
counted in ``GenerationStats.links`` with ``citizen_missing`` / ``citizen_malformed`` for
references a row fault spoiled. The registers are one snapshot: no hard deletes here.

The machinery the five social-sector generators share lives in :mod:`kho.sources.citizens`
(the true-citizen stream with life draws, blocks, worker processes, death dates) and
:mod:`kho.sources.faults` (fault and link draws, name misspelling).
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from kho import reference
from kho.sources import dbapi
from kho.sources.base import GenerationStats, SourceSystem, fold_diacritics, rng_for, write_manifest
from kho.sources.citizens import AS_OF, WINDOW_END, WINDOW_START, Person, age_on, death_date, true_people
from kho.sources.faults import LINK_FAULT_RATES, Faults, misspell, old_unit_code
from kho.sources.identifiers import malformed_cccd

SYSTEM = SourceSystem(
    name="civil_status",
    title="Civil status registers (births, marriages, deaths)",
    title_vi="Cơ sở dữ liệu hộ tịch điện tử",
    owner="Sở Tư pháp (Department of Justice); registered by commune People's Committees",
    form="database",
    engine="postgresql",
    objects={
        "khai_sinh": ("ma_dvhc_dang_ky", "so_dang_ky"),
        "ket_hon": ("ma_dvhc", "so_dang_ky"),
        "khai_tu": ("ma_dvhc", "so_dang_ky"),
    },
    description="Births, marriages and deaths registered by the communes, 2024-01 to 2026-10; "
                "so_dang_ky is numbered per registering commune and year in registration order; "
                "id is a surrogate key; ngay_cap_nhat (entry time) is the incremental cursor.",
)

# ======================================================================================
# The civil-status registers
# ======================================================================================

DEFAULT_FAULT_RATES: dict[str, float] = {
    "exact_duplicate": 0.003,      # the same record entered twice (new id)
    "near_duplicate": 0.004,       # the same event again, typed differently
    "missing_value": 0.005,        # a CCCD, sex or date left empty
    "malformed_value": 0.003,      # sex code not in the list, registration before the event
    "invalid_identifier": 0.003,   # a CCCD cut, padded, an old 9-digit CMND, O for 0
    "unaccented_name": 0.005,
    "misspelled_name": 0.004,
    "old_admin_unit": 0.02,        # of records registered before 2025-07-01: pre-2025 unit code kept
    "late_registration": 0.01,     # of births and deaths: registered more than a year after the event
    **LINK_FAULT_RATES,
}
REFORM_DAY = date(2025, 7, 1)      # the 2025 unit reform took effect

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "khai_sinh": ("id", "so_dang_ky", "ho_ten_tre", "so_dinh_danh_tre", "ngay_sinh", "gioi_tinh",
                  "so_cccd_me", "so_cccd_cha", "ma_dvhc_dang_ky", "ngay_dang_ky", "ngay_cap_nhat"),
    "ket_hon": ("id", "so_dang_ky", "ho_ten_chong", "so_cccd_chong", "ho_ten_vo", "so_cccd_vo",
                "ngay_dang_ky", "ma_dvhc", "ngay_cap_nhat"),
    "khai_tu": ("id", "so_dang_ky", "ho_ten_nguoi_mat", "so_cccd_nguoi_mat", "ngay_sinh_nguoi_mat", "ngay_mat",
                "ngay_dang_ky", "ma_dvhc", "nguyen_nhan", "ngay_cap_nhat"),
}

_TYPES = {  # column -> (sqlite, postgresql, mysql)
    "id": ("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY", "BIGINT PRIMARY KEY"),
    "so_dang_ky": ("TEXT", "VARCHAR(20)", "VARCHAR(20)"),
    "date": ("TEXT", "DATE", "DATE"),
    "cccd": ("TEXT", "VARCHAR(20)", "VARCHAR(20)"),
    "name": ("TEXT", "VARCHAR(200)", "VARCHAR(200)"),
    "code": ("TEXT", "VARCHAR(10)", "VARCHAR(10)"),
    "text": ("TEXT", "VARCHAR(100)", "VARCHAR(100)"),
    "ts": ("TEXT", "TIMESTAMP", "DATETIME"),
}
_COLUMN_TYPE = {
    "id": "id", "so_dang_ky": "so_dang_ky", "ngay_sinh": "date", "ngay_dang_ky": "date", "ngay_mat": "date",
    "ngay_sinh_nguoi_mat": "date", "ngay_cap_nhat": "ts", "gioi_tinh": "code", "ma_dvhc_dang_ky": "code",
    "ma_dvhc": "code", "nguyen_nhan": "text",
}


def ddl(table: str, kind: str) -> str:
    col = {"sqlite": 0, "postgresql": 1, "mysql": 2}[kind]

    def type_of(name: str) -> str:
        key = _COLUMN_TYPE.get(name) or ("cccd" if name.startswith(("so_cccd", "so_dinh_danh")) else "name")
        return _TYPES[key][col]

    cols = ",\n    ".join(f"{c} {type_of(c)}" for c in TABLE_COLUMNS[table])
    tail = " CHARACTER SET utf8mb4" if kind == "mysql" else ""
    return f"CREATE TABLE {table} (\n    {cols})" + tail


def _cause(age: int, rng: random.Random) -> str | None:
    if rng.random() < 0.35:
        return None  # optional in the form, often left empty
    if age >= 80 and rng.random() < 0.5:
        return "Tuổi già"
    if age < 30:
        return rng.choices(("Tai nạn giao thông", "Đuối nước", "Bệnh khác", "Tai nạn lao động", "Ung thư"),
                           (30, 15, 35, 10, 10))[0]
    return rng.choices(("Bệnh tim mạch", "Đột quỵ", "Ung thư", "Bệnh hô hấp", "Tai nạn giao thông",
                        "Tai nạn lao động", "Bệnh khác"), (22, 20, 22, 10, 5, 2, 19))[0]


def _marriage_propensity(age: int) -> float:
    """Share of men of this age (at the window's end) who marry within the window: tuned to a
    crude marriage rate of ~7 per 1,000 people a year."""
    if 23 <= age <= 32:
        return 0.184
    if 21 <= age <= 38:
        return 0.074
    if age <= 45:
        return 0.028
    return 0.0


class _Pool:
    """A bounded, rolling pool of candidates per commune (mothers, fathers, brides)."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.random = rng.random
        self.size = size
        self.slots: dict[str, list[Person]] = {}

    def add(self, key: str, person: Person) -> None:
        slots = self.slots.get(key)
        if slots is None:
            self.slots[key] = [person]
        elif len(slots) < self.size:
            slots.append(person)
        else:
            slots[int(self.random() * self.size)] = person

    def take(self, key: str, ok: Any, remove: bool = True, tries: int = 6) -> Person | None:
        slots = self.slots.get(key)
        if not slots:
            return None
        for _ in range(tries):
            i = int(self.random() * len(slots))
            if ok(slots[i]):
                person = slots[i]
                if remove:
                    slots[i] = slots[-1]
                    slots.pop()
                return person
        return None


class _Event(NamedTuple):
    table: str
    registered: date
    unit: str
    idx: int            # tie-breaker: the main person's index
    data: tuple         # table-specific


class CivilStatusGenerator:
    def __init__(self, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
                 citizen_cache: Path | str | bool | None = None) -> None:
        self.seed, self.sf, self.citizen_cache = seed, sf, citizen_cache
        self.stats = GenerationStats(system=SYSTEM.name)
        self.faults = Faults(SYSTEM.name, seed, DEFAULT_FAULT_RATES, fault_rates, self.stats)
        self.rng = rng_for(SYSTEM.name, seed, "events")

    # -- events --------------------------------------------------------------------
    def events(self) -> list[_Event]:
        """All events in the window, ordered by registration: bounded by the event count
        (~4% of the citizens), never by the citizens."""
        rng = self.rng
        mothers = _Pool(rng, 64)
        fathers = _Pool(rng, 24)     # keyed by unit and surname
        any_fathers = _Pool(rng, 48)
        brides = _Pool(rng, 48)
        waiting_children: deque[Person] = deque()
        waiting_grooms: deque[tuple[Person, date]] = deque()
        events: list[_Event] = []
        window_days = (WINDOW_END - WINDOW_START).days
        late_old_share = self.faults.rates["late_registration"] * 0.1   # people born before the window

        def alive_on(p: Person, day: date) -> bool:
            d = death_date(p)
            return d is None or d >= day

        def try_birth(child: Person) -> bool:
            born = child.birth
            mother = mothers.take(child.unit, lambda m: 18 <= age_on(m.birth, born) <= 45 and alive_on(m, born))
            if mother is None:
                return False
            surname = child.name.split(" ", 1)[0]
            father = None
            if rng.random() >= 0.04:    # ~4% of births have no father recorded
                conceived = born - timedelta(days=280)
                ok = (lambda f: 20 <= age_on(f.birth, born) <= 55 and alive_on(f, conceived))
                father = fathers.take(f"{child.unit}|{surname}", ok, remove=False)
                if father is None and rng.random() < 0.5:
                    father = any_fathers.take(child.unit, ok, remove=False)
            delay = self._birth_delay(born)
            registered = born + timedelta(days=delay)
            if registered > WINDOW_END:
                return True   # born, not yet registered: no record (yet)
            events.append(_Event("khai_sinh", registered, child.unit, child.idx, (child, mother, father, delay)))
            return True

        def try_marriage(groom: Person, day: date) -> bool:
            bride = brides.take(groom.unit, lambda b: age_on(b.birth, day) >= 18 and alive_on(b, day)
                                and abs(b.birth.year - groom.birth.year) <= 12)
            if bride is None:
                return False
            events.append(_Event("ket_hon", day, groom.unit if rng.random() < 0.5 else bride.unit, groom.idx,
                                 (groom, bride)))
            return True

        for p in true_people(self.seed, self.sf, self.citizen_cache):
            age_end = age_on(p.birth, WINDOW_END)
            died = death_date(p)
            if died is not None:
                delay = self._death_delay()
                registered = died + timedelta(days=delay)
                if registered <= WINDOW_END:
                    events.append(_Event("khai_tu", registered, p.unit, p.idx, (p, died, delay)))
            if WINDOW_START <= p.birth <= WINDOW_END:
                if not try_birth(p):
                    waiting_children.append(p)
            elif age_end < 30 and p.birth < WINDOW_START and rng.random() < late_old_share:
                registered = WINDOW_START + timedelta(days=rng.randrange(window_days))
                events.append(_Event("khai_sinh", registered, p.unit, p.idx, (p, None, None, (registered - p.birth).days)))
            # candidate pools (a person enters after their own events were decided)
            if p.sex == "F":
                if 19 <= age_end <= 47:
                    mothers.add(p.unit, p)
                if 19 <= age_end <= 40:
                    brides.add(p.unit, p)
            else:
                if 21 <= age_end <= 58:
                    fathers.add(f"{p.unit}|{p.name.split(' ', 1)[0]}", p)
                    any_fathers.add(p.unit, p)
                share = _marriage_propensity(age_end)
                if share and rng.random() < share:
                    first = max(WINDOW_START, date(p.birth.year + 20, p.birth.month, min(p.birth.day, 28)))
                    span = (WINDOW_END - first).days
                    if span > 0:
                        day = first + timedelta(days=rng.randrange(span))
                        if (died is None or died > day) and not try_marriage(p, day):
                            waiting_grooms.append((p, day))
            # retry those who waited for a pool to fill (bounded: the early ones only)
            if waiting_children and p.idx % 64 == 0:
                for _ in range(len(waiting_children)):
                    child = waiting_children.popleft()
                    if not try_birth(child):
                        waiting_children.append(child)
            if waiting_grooms and p.idx % 64 == 1:
                for _ in range(len(waiting_grooms)):
                    groom, day = waiting_grooms.popleft()
                    if not try_marriage(groom, day):
                        waiting_grooms.append((groom, day))
        # the few still waiting: look in the neighbouring units' pools
        units = [u.unit_code for u in reference.admin_units()]
        for child in waiting_children:
            start = units.index(child.unit) if child.unit in units else 0
            for k in range(1, len(units)):
                if try_birth(child._replace(unit=units[(start + k) % len(units)])):
                    break
        events.sort(key=lambda e: (e.registered, e.table, e.unit, e.idx))
        return events

    def _birth_delay(self, born: date) -> int:
        u = self.rng.random()
        if u < self.faults.rates["late_registration"]:
            return self.rng.randint(366, 1000)     # more than a year late
        if u < 0.93:
            return self.rng.randint(1, 60)         # within the legal 60 days
        return self.rng.randint(61, 365)

    def _death_delay(self) -> int:
        u = self.rng.random()
        if u < self.faults.rates["late_registration"]:
            return self.rng.randint(366, 900)
        if u < 0.88:
            return self.rng.randint(0, 15)         # within the legal 15 days
        return self.rng.randint(16, 120)

    # -- rows -------------------------------------------------------------------------
    def rows(self) -> Iterator[tuple[str, tuple]]:
        """(table, row) in registration order, each table numbered from 1, faults applied."""
        faults, frng = self.faults, self.faults.rng
        seq: Counter = Counter()
        ids: Counter = Counter()
        pending: list[tuple[str, dict[str, Any]]] = []
        for event in self.events():
            table = event.table
            year = event.registered.year
            seq[(table, event.unit, year)] += 1
            so_dang_ky = f"{seq[(table, event.unit, year)]}/{year}"
            self._spoil = self._plan(table, event)
            row = getattr(self, f"_{table}")(event, so_dang_ky)
            ids[table] += 1
            row["id"] = ids[table]
            self._alter(table, row, event)
            yield table, tuple(row[c] for c in TABLE_COLUMNS[table])
            draw = frng.random()
            if draw < faults.rates["exact_duplicate"]:
                faults.count("exact_duplicate")
                pending.append((table, dict(row)))
            elif draw < faults.rates["exact_duplicate"] + faults.rates["near_duplicate"]:
                faults.count("near_duplicate")
                near = dict(row)
                name_col = self._NAME_COLUMNS[table][-1]
                if near[name_col] and frng.random() < 0.6:
                    near[name_col] = fold_diacritics(near[name_col])
                else:
                    near["ngay_cap_nhat"] = _later(near["ngay_cap_nhat"], frng.randint(1, 90))
                pending.append((table, near))
            if pending and frng.random() < 0.2:
                dup_table, dup = pending.pop(0)
                ids[dup_table] += 1
                dup["id"] = ids[dup_table]
                yield dup_table, tuple(dup[c] for c in TABLE_COLUMNS[dup_table])
        for dup_table, dup in pending:
            ids[dup_table] += 1
            dup["id"] = ids[dup_table]
            yield dup_table, tuple(dup[c] for c in TABLE_COLUMNS[dup_table])

    _CCCD_COLUMNS = {"khai_sinh": ("so_dinh_danh_tre", "so_cccd_me", "so_cccd_cha"),
                     "ket_hon": ("so_cccd_chong", "so_cccd_vo"), "khai_tu": ("so_cccd_nguoi_mat",)}
    _NAME_COLUMNS = {"khai_sinh": ("ho_ten_tre",), "ket_hon": ("ho_ten_chong", "ho_ten_vo"),
                     "khai_tu": ("ho_ten_nguoi_mat",)}
    _UNIT_COLUMN = {"khai_sinh": "ma_dvhc_dang_ky", "ket_hon": "ma_dvhc", "khai_tu": "ma_dvhc"}
    _ROW_FAULTS = ("missing_value", "malformed_value", "invalid_identifier", "unaccented_name", "misspelled_name")

    def _plan(self, table: str, event: _Event) -> tuple[str | None, str | None]:
        """The one row fault of this record (if any) and the column it spoils, decided before
        the person references are drawn so that links are counted once, under the right kind."""
        frng = self.faults.rng
        kind = self.faults.draw(self._ROW_FAULTS)
        if kind not in ("missing_value", "invalid_identifier"):
            return kind, None
        people = event.data[:3] if table == "khai_sinh" else event.data[:2] if table == "ket_hon" else event.data[:1]
        present = [col for col, who in zip(self._CCCD_COLUMNS[table], people) if who is not None]
        if kind == "missing_value":
            other = "gioi_tinh" if table == "khai_sinh" else "ngay_dang_ky"
            return kind, frng.choice(present + [other])
        return kind, frng.choice(present)

    def _entered(self, registered: date) -> str:
        """When the record was typed in (the cursor): the same day or a few days later."""
        lag = self.rng.choice((0, 0, 0, 0, 1, 1, 2, 3, 5))
        day = min(registered + timedelta(days=lag), AS_OF - timedelta(days=1))
        return f"{day.isoformat()} {self.rng.randint(7, 17):02d}:{self.rng.randrange(60):02d}:{self.rng.randrange(60):02d}"

    def _ref(self, person: Person | None, column: str, birth: date | None = None) -> tuple[str | None, date | None]:
        """The stored CCCD of a person reference: a link draw, or the planned row fault."""
        if person is None:
            return None, birth
        kind, target = self._spoil
        if target == column:
            if kind == "missing_value":
                self.stats.links["citizen_missing"] += 1
                return None, birth
            self.stats.links["citizen_malformed"] += 1
            return malformed_cccd(person.cccd, self.faults.rng), birth
        return self.faults.link(person.cccd, birth)

    def _khai_sinh(self, event: _Event, so_dang_ky: str) -> dict[str, Any]:
        child, mother, father, _ = event.data
        cccd, born = self._ref(child, "so_dinh_danh_tre", child.birth)
        return {"so_dang_ky": so_dang_ky, "ho_ten_tre": child.name, "so_dinh_danh_tre": cccd,
                "ngay_sinh": born.isoformat(), "gioi_tinh": "Nam" if child.sex == "M" else "Nữ",
                "so_cccd_me": self._ref(mother, "so_cccd_me")[0], "so_cccd_cha": self._ref(father, "so_cccd_cha")[0],
                "ma_dvhc_dang_ky": event.unit, "ngay_dang_ky": event.registered.isoformat(),
                "ngay_cap_nhat": self._entered(event.registered)}

    def _ket_hon(self, event: _Event, so_dang_ky: str) -> dict[str, Any]:
        groom, bride = event.data
        return {"so_dang_ky": so_dang_ky, "ho_ten_chong": groom.name, "so_cccd_chong": self._ref(groom, "so_cccd_chong")[0],
                "ho_ten_vo": bride.name, "so_cccd_vo": self._ref(bride, "so_cccd_vo")[0],
                "ngay_dang_ky": event.registered.isoformat(), "ma_dvhc": event.unit,
                "ngay_cap_nhat": self._entered(event.registered)}

    def _khai_tu(self, event: _Event, so_dang_ky: str) -> dict[str, Any]:
        person, died, _ = event.data
        cccd, born = self._ref(person, "so_cccd_nguoi_mat", person.birth)
        return {"so_dang_ky": so_dang_ky, "ho_ten_nguoi_mat": person.name, "so_cccd_nguoi_mat": cccd,
                "ngay_sinh_nguoi_mat": born.isoformat(), "ngay_mat": died.isoformat(),
                "ngay_dang_ky": event.registered.isoformat(), "ma_dvhc": event.unit,
                "nguyen_nhan": _cause(age_on(person.birth, died), self.rng),
                "ngay_cap_nhat": self._entered(event.registered)}

    def _alter(self, table: str, row: dict[str, Any], event: _Event) -> None:
        """Apply the planned row fault (other than spoiled references) and the pre-2025 unit code."""
        faults, frng = self.faults, self.faults.rng
        if table != "ket_hon" and (event.registered - _event_day(table, event)).days > 365:
            faults.count("late_registration")
        if event.registered < REFORM_DAY and faults.hit("old_admin_unit"):
            col = self._UNIT_COLUMN[table]
            row[col] = old_unit_code(row[col], frng)
            faults.count("old_admin_unit")
        kind, target = self._spoil
        if kind is None:
            return
        if kind == "missing_value" and target in ("gioi_tinh", "ngay_dang_ky"):
            row[target] = None
        elif kind == "malformed_value":
            if table == "khai_sinh" and frng.random() < 0.5:
                row["gioi_tinh"] = frng.choice(("nam", "NU", "1", "0", "Khác"))
            elif table == "ket_hon":   # the year typed wrong: a registration ten years ahead
                day = date.fromisoformat(row["ngay_dang_ky"])
                row["ngay_dang_ky"] = date(day.year + 10, day.month, min(day.day, 28)).isoformat()
            else:                      # registered before the event happened
                day_col = "ngay_sinh" if table == "khai_sinh" else "ngay_mat"
                day = date.fromisoformat(row[day_col])
                row["ngay_dang_ky"] = (day - timedelta(days=frng.randint(1, 40))).isoformat()
        elif kind == "unaccented_name":
            col = frng.choice(self._NAME_COLUMNS[table])
            row[col] = fold_diacritics(row[col])
        elif kind == "misspelled_name":
            col = frng.choice(self._NAME_COLUMNS[table])
            row[col] = misspell(row[col], frng)
        faults.count(kind)


def _event_day(table: str, event: _Event) -> date:
    if table == "khai_sinh":
        return event.data[0].birth
    if table == "khai_tu":
        return event.data[1]
    return event.registered


def _later(timestamp: str, days: int) -> str:
    day = date.fromisoformat(timestamp[:10]) + timedelta(days=days)
    return day.isoformat() + timestamp[10:]


def generate(target: str, *, seed: int = 42, sf: float = 1.0, fault_rates: dict[str, float] | None = None,
             chunk_rows: int = 20_000, citizen_cache: Path | str | bool | None = None) -> GenerationStats:
    """(Re)create the civil-status database at ``target`` (a sqlite/postgresql/mysql URL)."""
    started = time.perf_counter()
    gen = CivilStatusGenerator(seed=seed, sf=sf, fault_rates=fault_rates, citizen_cache=citizen_cache)
    kind = dbapi.dialect(target)
    if kind == "sqlite":
        dbapi.sqlite_path(target).unlink(missing_ok=True)
    with dbapi.connect(target) as con:
        cur = con.cursor()
        for table in TABLE_COLUMNS:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(ddl(table, kind))
        chunks: dict[str, list[tuple]] = {t: [] for t in TABLE_COLUMNS}
        for table, row in gen.rows():
            chunk = chunks[table]
            chunk.append(row)
            if len(chunk) >= chunk_rows:
                gen.stats.rows[table] += dbapi.insert_many(con, target, table, TABLE_COLUMNS[table], chunk)
                chunk.clear()
        for table, chunk in chunks.items():
            gen.stats.rows[table] += dbapi.insert_many(con, target, table, TABLE_COLUMNS[table], chunk)
    gen.stats.seconds = time.perf_counter() - started
    if kind == "sqlite":
        write_manifest(target, SYSTEM.name, seed, sf, gen.stats)
    return gen.stats
