"""The true citizens as the social-sector generators see them: a cached stream with life draws.

Shared by civil status, insurance, health, education and labour (they live and die together):

* :func:`true_people`: the true citizens (``population.PopulationGenerator.true_citizens``)
  as a stream, cached on disk as an Arrow file per (seed, sf, generator code) so that five
  systems at SF10 do not each spend ~19 s re-deriving a million citizens (the first one
  builds the cache in a producer process and consumes it meanwhile). Each person carries
  ``life`` draws, the same in every system, from which the shared facts are derived without
  coordination: death (:func:`death_date`), work and poverty (:mod:`kho.sources.labour`),
  insurance category (:mod:`kho.sources.insurance`).
* Blocks: citizens come in blocks of ``BLOCK``; every random stream (life draws, each
  system's faults) restarts per block (:func:`block_rng`), so :func:`map_blocks` can hand
  contiguous block ranges to worker processes and the output is byte-identical whatever the
  number of workers (two by default from 300,000 citizens on a multi-core machine).
* :class:`CitizenRef`: the lighter reference (CCCD, name, unit, birth year, sex) that the
  business and land systems link to (``enterprise.CitizenPool``).

Fault helpers (:class:`kho.sources.faults.Faults`) and identifier formats
(:mod:`kho.sources.identifiers`) live in their own modules.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
import random
import shutil
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from kho.sources.base import CITIZENS_PER_SF, GenerationStats

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


@dataclass(frozen=True)
class CitizenRef:
    """An adult true citizen as the business and land systems link to them (no life draws)."""

    cccd: str
    full_name: str
    unit_code: str
    birth_year: int
    sex: str
