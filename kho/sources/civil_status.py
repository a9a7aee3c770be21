"""The civil-status registers (Cơ sở dữ liệu hộ tịch điện tử), generated.

Owner: Sở Tư pháp (Department of Justice); events are registered by the commune People's
Committees in the Ministry of Justice's electronic civil-status software. A relational
database (PostgreSQL on the cluster profile, SQLite on the embedded one) with three tables:

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

This module also holds what the five social-sector generators (civil status, insurance,
health, education, labour) share, because they live and die together:

* :func:`true_people`: the true citizens (``population.PopulationGenerator.true_citizens``)
  as a stream, cached on disk as an Arrow file per (seed, sf, generator code) so that five
  systems at SF10 do not each spend ~19 s re-deriving a million citizens (the first one
  builds the cache in a producer process and consumes it meanwhile). Each person carries
  ``life`` draws, the same in every system, from which the shared facts are derived without
  coordination: death (here), work and poverty (:mod:`kho.sources.labour`), insurance
  category (:mod:`kho.sources.insurance`).
* Blocks: citizens come in blocks of ``BLOCK``; every random stream (life draws, each
  system's faults) restarts per block (:func:`block_rng`), so :func:`map_blocks` can hand
  contiguous block ranges to worker processes and the output is byte-identical whatever the
  number of workers (two by default from 300,000 citizens on a multi-core machine).
* :class:`Faults`: fault and link-fault draws and counting, and the fault helpers (CCCD
  typos, CCCD that match nobody, unaccented or misspelled names, pre-2025 unit codes).

TODO(lead): move the shared half to ``kho/sources/base.py`` (or a ``citizens.py``); it sits
here only because this task was limited to five module files.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import random
import shutil
import time
import zlib
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from kho import reference
from kho.sources import dbapi
from kho.sources.base import CITIZENS_PER_SF, GenerationStats, SourceSystem, fold_diacritics, rng_for

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
# Shared by the social-sector generators
# ======================================================================================

AS_OF = date(2026, 11, 1)            # the population's reference date
WINDOW_START = date(2024, 1, 1)      # first day of the event window shared by the systems
WINDOW_END = date(2026, 10, 31)      # last day of the window
WINDOW_MONTHS = 34                   # 2024-01 .. 2026-10
LIFE_DRAWS = 8                       # uniforms per person, see Person.life
CACHE_MIN_CITIZENS = 50_000          # below this, streaming is cheaper than caching
BLOCK = 65_536                       # citizens per block: the unit of random streams and of parallel work

# Life-draw slots: every system reads the same slot for the same fact.
LIFE_DEATH, LIFE_LABOUR, LIFE_SECTION, LIFE_FORMAL, LIFE_HOUSEHOLD, LIFE_CHANGE, LIFE_COVER, LIFE_MISC = range(8)


class Person(NamedTuple):
    """A true citizen as the social-sector generators see them."""

    idx: int            # position in the population's true-citizen order (0-based)
    cccd: str
    name: str
    birth: date
    sex: str            # "M" / "F"
    unit: str           # current (post-2025) commune-level unit code
    life: tuple[float, ...]  # LIFE_DRAWS uniforms from the shared "life" stream


def citizens_for(sf: float) -> int:
    return max(1, round(CITIZENS_PER_SF * sf))


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@lru_cache(maxsize=None)
def month_start(index: int) -> date:
    """First day of month ``index`` counted from WINDOW_START (0 = 2024-01)."""
    year, month = divmod(WINDOW_START.month - 1 + index, 12)
    return date(WINDOW_START.year + year, month + 1, 1)


def month_index(day: date) -> int:
    return (day.year - WINDOW_START.year) * 12 + day.month - WINDOW_START.month


def _cache_key(seed: int, citizens: int) -> str:
    """Identify a cache by the code and data that produce the citizens, the seed and the size."""
    from kho import cleaning
    from kho.sources import names, population

    digest = hashlib.sha256()
    for module in (population, names, cleaning):
        digest.update(Path(module.__file__).read_bytes())
    for name in ("admin_units.csv", "cccd_province_prefixes.csv"):
        digest.update(resources.files("kho.reference").joinpath(name).read_bytes())
    digest.update(f"{seed}:{citizens}:{BLOCK}".encode())
    return digest.hexdigest()[:20]


def _cache_dir(cache: Path | str | bool | None, citizens: int) -> Path | None:
    if cache is False or (cache is None and citizens < CACHE_MIN_CITIZENS):
        return None
    if isinstance(cache, (str, Path)):
        return Path(cache)
    env = os.environ.get("KHO_CITIZEN_CACHE_DIR")
    if env:
        return Path(env)
    from kho.settings import get_settings

    return get_settings().state_dir / "cache" / "citizens"


def citizen_cache_file(seed: int, sf: float, cache: Path | str | bool | None = None) -> Path | None:
    """Where the true citizens of (seed, sf) are (or would be) cached; None when not cached."""
    citizens = citizens_for(sf)
    folder = _cache_dir(cache, citizens)
    return folder / f"citizens-s{seed}-n{citizens}-{_cache_key(seed, citizens)}.arrow" if folder else None


def _arrow_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("cccd", pa.string()), ("full_name", pa.string()), ("birth_date", pa.date32()),
                      ("sex", pa.string()), ("unit_code", pa.string())])


def _write_cache(seed: int, sf: float, cache_file: Path, conn: Any = None) -> None:
    """Stream the population's true citizens into the cache file, one BLOCK per record batch;
    with ``conn`` (a pipe), also send each batch, serialised, to the consumer as it is made."""
    import pyarrow as pa

    from kho.sources.population import PopulationGenerator

    schema = _arrow_schema()
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
    try:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            cols: list[list[Any]] = [[], [], [], [], []]

            def emit() -> None:
                batch = pa.record_batch(cols, schema=schema)
                writer.write_batch(batch)
                if conn is not None:
                    out = pa.BufferOutputStream()
                    with pa.ipc.new_stream(out, schema) as stream:
                        stream.write_batch(batch)
                    conn.send_bytes(out.getvalue().to_pybytes())

            for c in PopulationGenerator(seed=seed, sf=sf).true_citizens():
                cols[0].append(c.cccd)
                cols[1].append(c.full_name)
                cols[2].append(c.birth_date)
                cols[3].append(c.sex)
                cols[4].append(c.unit_code)
                if len(cols[0]) == BLOCK:
                    emit()
                    cols = [[], [], [], [], []]
            if cols[0]:
                emit()
        os.replace(tmp, cache_file)
        # the same citizens made by an older generator (another key): stale, remove them
        prefix = cache_file.name.rsplit("-", 1)[0]
        for stale in cache_file.parent.glob(f"{prefix}-*.arrow"):
            if stale != cache_file:
                stale.unlink(missing_ok=True)
    finally:
        tmp.unlink(missing_ok=True)
        if conn is not None:
            conn.send_bytes(b"")
            conn.close()


def _rows_of(batch: Any) -> Iterator[tuple[str, str, date, str, str]]:
    return zip(*(batch.column(j).to_pylist() for j in range(5)))


def _build_and_stream(seed: int, sf: float, cache_file: Path) -> Iterator[tuple[str, str, date, str, str]]:
    """Build the cache in a producer process and stream its batches meanwhile, so the first
    consumer works on one core while the population generator runs on the other."""
    import pyarrow as pa

    if not parallel_ok():
        _write_cache(seed, sf, cache_file)
        yield from _read_cache(cache_file)
        return
    ctx = _mp_context()
    receive, send = ctx.Pipe(duplex=False)
    producer = ctx.Process(target=_write_cache, args=(seed, sf, cache_file, send), daemon=True)
    producer.start()
    send.close()
    try:
        while True:
            data = receive.recv_bytes()
            if not data:
                break
            for batch in pa.ipc.open_stream(data):
                yield from _rows_of(batch)
        producer.join()
        if producer.exitcode != 0 or not cache_file.exists():
            raise RuntimeError(f"building the citizen cache {cache_file} failed (exit code {producer.exitcode})")
    finally:
        receive.close()
        if producer.is_alive():
            producer.terminate()
            producer.join()


def _read_cache(cache_file: Path, first_block: int = 0, stop_block: int | None = None
                ) -> Iterator[tuple[str, str, date, str, str]]:
    import pyarrow as pa

    with pa.memory_map(str(cache_file)) as source:
        reader = pa.ipc.open_file(source)
        stop = reader.num_record_batches if stop_block is None else min(stop_block, reader.num_record_batches)
        for i in range(first_block, stop):
            yield from _rows_of(reader.get_batch(i))


def ensure_citizen_cache(seed: int, sf: float, cache: Path | str | bool | None = None) -> Path | None:
    """Build the cache unless it exists (or caching is off); return its path."""
    cache_file = citizen_cache_file(seed, sf, cache)
    if cache_file is not None and not cache_file.exists():
        _write_cache(seed, sf, cache_file)
    return cache_file


def citizen_blocks(sf: float) -> int:
    return -(-citizens_for(sf) // BLOCK)


def block_rng(system: str, seed: int, purpose: str, block: int) -> random.Random:
    """A random stream per system, purpose and block of BLOCK citizens: a block's output does
    not depend on which process generates it, or on the blocks before it."""
    return random.Random(f"kho-{system}-{purpose}-{seed}-{block}")


def true_people(seed: int, sf: float, cache: Path | str | bool | None = None,
                blocks: tuple[int, int] | None = None) -> Iterator[Person]:
    """Stream the true citizens with their life draws, in population order, in bounded memory.

    ``cache``: None caches from CACHE_MIN_CITIZENS citizens up, in ``$KHO_CITIZEN_CACHE_DIR``
    or ``<state_dir>/cache/citizens``; a path caches there; True always caches; False never.
    The cache is keyed by the population generator's code and reference data, so a change
    there never serves stale citizens; it only ever speeds up, never changes, the stream.
    ``blocks=(first, stop)`` streams only those blocks of BLOCK citizens (needs the cache).
    Life draws restart per block (:func:`block_rng`), so a block is the same in any run.
    """
    cache_file = citizen_cache_file(seed, sf, cache)
    first = 0
    if blocks is not None:
        first = blocks[0]
        if cache_file is None or not cache_file.exists():
            if blocks == (0, citizen_blocks(sf)):
                blocks = None
            else:
                raise ValueError("streaming a range of blocks needs the citizen cache (ensure_citizen_cache)")
    if cache_file is not None and cache_file.exists():
        rows: Iterator[tuple[str, str, date, str, str]] = _read_cache(cache_file, *(blocks or (0, None)))
    elif cache_file is not None:
        rows = _build_and_stream(seed, sf, cache_file)
    else:
        from kho.sources.population import PopulationGenerator

        rows = ((c.cccd, c.full_name, c.birth_date, c.sex, c.unit_code)
                for c in PopulationGenerator(seed=seed, sf=sf).true_citizens())
    draw = random.random
    for idx, (cccd, name, birth, sex, unit) in enumerate(rows, start=first * BLOCK):
        if idx % BLOCK == 0:
            draw = block_rng("life", seed, "draws", idx // BLOCK).random
        yield Person(idx, cccd, name, birth, sex, unit,
                     (draw(), draw(), draw(), draw(), draw(), draw(), draw(), draw()))


# -- running a generator over blocks in worker processes --------------------------------

PARALLEL_MIN_CITIZENS = 300_000      # below this, a second process costs more than it saves


def parallel_ok() -> bool:
    """Worker processes are allowed: not inside a daemonic process (Celery, multiprocessing
    pools), not switched off with KHO_GENERATOR_WORKERS=1, and more than one CPU."""
    if multiprocessing.current_process().daemon:
        return False
    if os.environ.get("KHO_GENERATOR_WORKERS", "").strip() == "1":
        return False
    return (os.cpu_count() or 1) > 1


def _mp_context() -> Any:
    """Fork where there is fork: workers start at once and a calling script needs no
    ``if __name__ == "__main__"`` guard (spawn would re-run it); spawn elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def worker_count(sf: float, workers: int | None = None) -> int:
    if workers is not None:
        return max(1, workers)
    env = os.environ.get("KHO_GENERATOR_WORKERS", "").strip()
    if env:
        return max(1, int(env))
    if citizens_for(sf) < PARALLEL_MIN_CITIZENS or not parallel_ok():
        return 1
    return min(2, os.cpu_count() or 1)


def map_blocks(task: Any, seed: int, sf: float, cache: Path | str | bool | None, workers: int | None,
               *args: Any) -> list[Any]:
    """Run ``task(seed, sf, cache, (first_block, stop_block), part, *args)`` over contiguous
    chunks of the citizen blocks, in worker processes when it pays; results in block order.

    ``task`` is a module-level function (it is pickled by name). With one worker it runs
    here over all blocks, as part 0; the output is the same either way.
    """
    n = citizen_blocks(sf)
    count = min(worker_count(sf, workers), n)
    if count > 1:
        cache_file = ensure_citizen_cache(seed, sf, cache if cache is not None else True)
        if cache_file is None:
            count = 1
        else:
            cache = cache_file.parent
    if count == 1:
        return [task(seed, sf, cache, (0, n), 0, *args)]
    bounds = [round(i * n / count) for i in range(count + 1)]
    ctx = _mp_context()
    with ProcessPoolExecutor(max_workers=count, mp_context=ctx) as pool:
        futures = [pool.submit(task, seed, sf, cache, (bounds[i], bounds[i + 1]), i, *args) for i in range(count)]
        return [f.result() for f in futures]


def merge_stats(stats: GenerationStats, parts: list[dict[str, Counter]]) -> None:
    """Add the counters that workers returned (``rows``, ``faults``, ``links``) to ``stats``."""
    for part in parts:
        for name in ("rows", "faults", "links"):
            getattr(stats, name).update(part.get(name, Counter()))


def join_parts(final: Path, parts: list[Path]) -> None:
    """Concatenate part files (the first has the header) into ``final``, removing the parts."""
    first = parts[0]
    if len(parts) > 1:
        with open(first, "ab") as out:
            for part in parts[1:]:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 16 * 1024 * 1024)
                part.unlink()
    os.replace(first, final)


# -- death: a life draw every system reads the same way --------------------------------

def annual_mortality(age: int) -> float:
    """Probability of dying within a year at ``age`` (Gompertz-Makeham fitted so that the
    population's age structure gives a crude death rate of ~6 per 1,000, as Vietnam's)."""
    if age <= 0:
        return 0.012
    if age < 5:
        return 0.0012
    return min(0.5, 0.0004 + 0.000038 * math.exp(0.092 * age))


_WINDOW_DAYS = (WINDOW_END - WINDOW_START).days
_WINDOW_MID = WINDOW_START + timedelta(days=_WINDOW_DAYS // 2)


@lru_cache(maxsize=None)
def _death_probability(age: int, days: int) -> float:
    return 1.0 - (1.0 - annual_mortality(age)) ** (days / 365.25)


def death_date(person: Person) -> date | None:
    """The day the person dies inside the window, or None (shared by all social systems)."""
    birth = person.birth
    if birth <= WINDOW_START:
        start, days, mid = WINDOW_START, _WINDOW_DAYS, _WINDOW_MID
    else:
        start, days = birth, (WINDOW_END - birth).days
        if days <= 0:
            return None
        mid = start + timedelta(days=days // 2)
    p = _death_probability(age_on(birth, mid), days)
    u = person.life[LIFE_DEATH]
    if u >= p:
        return None
    return start + timedelta(days=int(u / p * days))


# -- faults and links ---------------------------------------------------------------

LINK_FAULT_RATES: dict[str, float] = {
    "link_unknown_cccd": 0.004,     # a well-formed CCCD that matches no citizen
    "link_cccd_typo": 0.004,        # one digit wrong or two swapped (may hit someone else)
    "link_birth_mismatch": 0.002,   # right CCCD, another birth date (where a birth date is stored)
}

_TONE_PAIRS = (("oà", "òa"), ("oá", "óa"), ("oả", "ỏa"), ("oã", "õa"), ("oạ", "ọa"), ("uỳ", "ùy"),
               ("uý", "úy"), ("uỷ", "ủy"), ("uỹ", "ũy"), ("uỵ", "ụy"), ("oè", "òe"), ("oé", "óe"))


def unknown_cccd(cccd: str, rng: random.Random) -> str:
    """A CCCD of the same province, sex and birth year that the population never issued.

    The population numbers the six serial digits as a bijection of a per-group counter
    (``population._Serials``); counters near one million are never reached, so their
    serials match nobody. Tested against the generator so a change there is caught.
    """
    prefix, digit, yy = cccd[:3], int(cccd[3]), int(cccd[4:6])
    year = 1900 + 100 * (digit // 2) + yy
    offset = zlib.crc32(repr((prefix, digit, year)).encode()) % 1_000_000
    n = 999_999 - rng.randrange(100_000)
    return f"{prefix}{digit}{yy:02d}{(n * 738_017 + offset) % 1_000_000:06d}"


def typo_cccd(cccd: str, rng: random.Random) -> str:
    chars = list(cccd)
    if rng.random() < 0.5:   # two adjacent digits swapped
        for _ in range(10):
            i = rng.randrange(3, len(chars) - 1)
            if chars[i] != chars[i + 1]:
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
                return "".join(chars)
    i = rng.randrange(3, len(chars))
    chars[i] = str((int(chars[i]) + rng.randint(1, 9)) % 10)
    return "".join(chars)


def malformed_cccd(cccd: str, rng: random.Random) -> str:
    """What a CCCD becomes in hand-kept registers: cut, padded, an old 9-digit CMND, O for 0."""
    return rng.choice((cccd[:-1], cccd + str(rng.randint(0, 9)), cccd[3:], cccd.replace("0", "O", 1),
                       f"{cccd[:6]} {cccd[6:]}", f"{rng.randint(10, 19)}{rng.randrange(10**7):07d}"))


def shifted_birth(birth: date, rng: random.Random) -> date:
    """Another plausible birth date for the same person (a clerk's or a migration's error)."""
    kind = rng.random()
    if kind < 0.35 and birth.day <= 12 and birth.day != birth.month:
        return date(birth.year, birth.day, birth.month)          # day and month swapped
    if kind < 0.6:
        return birth.replace(day=1, month=1) if (birth.month, birth.day) != (1, 1) else birth.replace(day=2)
    shift = rng.choice((-1, 1)) * rng.randint(1, 400)
    return birth + timedelta(days=shift)


def misspell(name: str, rng: random.Random) -> str:
    """A differently spelled name: tone-mark placement (Hoà/Hòa), case, spacing, a slipped key."""
    for old, new in _TONE_PAIRS:
        for a, b in ((old, new), (new, old)):
            if a in name and rng.random() < 0.7:
                return name.replace(a, b, 1)
    words = name.split(" ")
    kind = rng.random()
    if kind < 0.25:
        return name.upper()
    if kind < 0.45:
        return "  ".join(words) if rng.random() < 0.5 else f" {name} "
    if kind < 0.7 and len(words) > 1:
        i = rng.randrange(len(words))
        words[i] = fold_diacritics(words[i])
        return " ".join(words)
    i = rng.randrange(len(words))
    w = words[i]
    if len(w) > 2:
        j = rng.randrange(1, len(w))
        words[i] = w[:j] + w[j - 1] + w[j:] if rng.random() < 0.5 else w[:j] + w[j + 1:]
    return " ".join(words)


@lru_cache(maxsize=1)
def _old_codes_by_unit() -> dict[str, tuple[str, ...]]:
    """Current unit -> the pre-2025 unit codes that went (wholly or partly) into it."""
    current = reference.admin_unit_by_code()
    pools: dict[str, list[str]] = {}
    for entry in sorted(reference.crosswalk().values(), key=lambda e: e.old_unit_code):
        if entry.old_unit_code in current:
            continue
        for code in entry.candidate_unit_codes:
            pools.setdefault(code, []).append(entry.old_unit_code)
    return {code: tuple(olds) for code, olds in pools.items()}


def old_unit_code(unit: str, rng: random.Random) -> str:
    """A pre-2025 unit code that the current ``unit`` absorbed (what an unmigrated record holds)."""
    pools = _old_codes_by_unit()
    pool = pools.get(unit)
    if not pool:
        pool = pools[min(pools)]
    return rng.choice(pool)


class Faults:
    """One system's fault draws (its own random streams) and their counts in GenerationStats.

    Rates are shares of rows affected. ``draw`` picks at most one of the given alteration
    kinds per row; the caller counts what it applies (a record kept across several monthly
    extracts counts once per extract row).
    """

    def __init__(self, system: str, seed: int, defaults: dict[str, float], rates: dict[str, float] | None,
                 stats: GenerationStats) -> None:
        merged = {**defaults, **(rates or {})}
        unknown = set(merged) - set(defaults)
        if unknown:
            raise ValueError(f"{system}: unknown fault types {sorted(unknown)}; known: {sorted(defaults)}")
        bad = {k: v for k, v in merged.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"{system}: fault rates must be in [0, 1]: {bad}")
        self.rates = merged
        self.stats = stats
        self.system, self.seed = system, seed
        self.rng = rng_for(system, seed, "faults")
        self.link_rng = rng_for(system, seed, "links")
        self.last_link = "citizen_ok"    # the kind of the last link drawn (for duplicated rows)

    def at_block(self, block: int) -> None:
        """Restart the fault streams for a block of citizens (see :func:`block_rng`)."""
        self.rng = block_rng(self.system, self.seed, "faults", block)
        self.link_rng = block_rng(self.system, self.seed, "links", block)

    def draw(self, kinds: Sequence[str]) -> str | None:
        u = self.rng.random()
        edge = 0.0
        for kind in kinds:
            edge += self.rates.get(kind, 0.0)
            if u < edge:
                return kind
        return None

    def hit(self, kind: str) -> bool:
        return self.rng.random() < self.rates.get(kind, 0.0)

    def count(self, kind: str, n: int = 1) -> None:
        self.stats.faults[kind] += n

    def link(self, cccd: str, birth: date | None = None, n: int = 1) -> tuple[str, date | None]:
        """The CCCD (and birth date) a record stores for a true person, link faults applied.

        Without a stored birth date a birth-mismatch draw becomes a typo, so the total
        broken-link share holds.
        """
        rng, rates = self.link_rng, self.rates
        u = rng.random()
        unknown = rates.get("link_unknown_cccd", 0.0)
        typo = unknown + rates.get("link_cccd_typo", 0.0)
        mismatch = typo + rates.get("link_birth_mismatch", 0.0)
        if u < unknown:
            kind, cccd = "citizen_unknown", unknown_cccd(cccd, rng)
        elif u < mismatch and (u < typo or birth is None):
            kind, cccd = "citizen_typo", typo_cccd(cccd, rng)
        elif u < mismatch:
            kind, birth = "citizen_birth_mismatch", shifted_birth(birth, rng)  # type: ignore[arg-type]
        else:
            kind = "citizen_ok"
        self.stats.links[kind] += n
        self.last_link = kind
        return cccd, birth


def write_manifest(path: Path, system: str, seed: int, sf: float, stats: GenerationStats,
                   extra: dict[str, Any] | None = None) -> None:
    """A JSON manifest beside the data (rows per object, faults, links; no timings, so it is
    as deterministic as the data)."""
    body = {"system": system, "seed": seed, "sf": sf, **{k: v for k, v in stats.as_dict().items() if k != "seconds"},
            **(extra or {})}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


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
        write_manifest(dbapi.sqlite_path(target).with_suffix(".manifest.json"), SYSTEM.name, seed, sf, gen.stats)
    return gen.stats
