"""Ingest outside a scheduler: one system for one day, or a backfill over a date range.

The same :func:`kho.ingest.loader.load_object` the generated DAGs call, so a backfill is
exactly what the scheduled runs of those intervals would have written, and rerunning it
writes nothing new (every load mode is idempotent per interval).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from kho.ingest.loader import Interval, LoadResult, day_interval, intervals, load_object

if TYPE_CHECKING:
    from kho.ingest.registry import ObjectConfig, Registry, SourceConfig
    from kho.settings import Settings

log = logging.getLogger(__name__)


def _objects(source: SourceConfig, names: Iterable[str]) -> list[ObjectConfig]:
    names = list(names)
    return [source.object(n) for n in names] if names else list(source.objects)


def ingest_day(settings: Settings, source: SourceConfig, day: date, *, objects: Iterable[str] = (),
               run_id: str = "", on_result: Callable[[LoadResult], None] | None = None) -> list[LoadResult]:
    """Load every (or the named) object of ``source`` for the local calendar day ``day``."""
    out: list[LoadResult] = []
    for obj in _objects(source, objects):
        for result in load_object(settings, source, obj, day_interval(day, source.timezone), run_id=run_id):
            out.append(result)
            if on_result:
                on_result(result)
    return out


def backfill_plan(source: SourceConfig, obj: ObjectConfig, first: date, last: date) -> list[Interval]:
    """The intervals a backfill of ``[first, last]`` (local days, inclusive) loads for ``obj``.

    Incremental objects get every interval of their cadence in the range. A full snapshot can
    only be taken now, so it gets the range's last interval only; file drops load every file
    not loaded yet, so one pass (the last interval) is the whole backfill.
    """
    zone = ZoneInfo(source.timezone)
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    end = datetime(last.year, last.month, last.day, tzinfo=zone) + timedelta(days=1)
    if end <= start:
        raise ValueError(f"--to {last} is before --from {first}")
    grid = intervals(source.cadence_of(obj), start, end, source.timezone) or [Interval(start, end)]
    return grid if obj.load_mode == "incremental" else grid[-1:]


def backfill(settings: Settings, registry: Registry, system: str, first: date, last: date, *,
             objects: Iterable[str] = (), run_id: str = "",
             on_result: Callable[[LoadResult], None] | None = None) -> list[LoadResult]:
    """Re-ingest ``[first, last]`` for one system, interval by interval, idempotently."""
    source = registry.get(system)
    run_id = run_id or f"backfill__{first:%Y%m%d}_{last:%Y%m%d}"
    out: list[LoadResult] = []
    for obj in _objects(source, objects):
        plan = backfill_plan(source, obj, first, last)
        log.info("%s.%s: %d interval(s) to load (%s)", system, obj.name, len(plan), obj.load_mode)
        for interval in plan:
            for result in load_object(settings, source, obj, interval, run_id=run_id, initial_load=False):
                out.append(result)
                if on_result:
                    on_result(result)
    return out


def pools(registry: Registry) -> dict[str, str]:
    """Airflow pool name -> description: one single-slot pool per raw and per processed table."""
    from kho.processed.catalog import domains

    out = {obj.pool: f"one writer for raw/{src.domain}/{obj.name}" for src, obj in registry.objects()}
    for tables in domains().values():
        for spec in tables:
            out[f"processed.{spec.domain}.{spec.name}"] = f"one writer for {spec.ref}"
    from kho.integrated.tables import TABLES as INTEGRATED

    for meta in INTEGRATED.values():
        if meta.ref.zone.value == "integrated":
            out[f"integrated.{meta.ref.domain}.{meta.ref.name}"] = f"one writer for {meta.ref}"
    return out
