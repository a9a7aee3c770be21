"""What every generated sector system shares: its declaration, scale, statistics, and helpers.

A source module (``kho/sources/<system>.py``) declares one ``SourceSystem`` named ``SYSTEM``
and a ``generate(target, *, seed, sf, fault_rates=None) -> GenerationStats`` function:

* ``target`` is a SQLAlchemy-style URL for a database system (sqlite:///, postgresql://,
  mysql://), or a directory for a file drop, API data set or event stream.
* Output is deterministic for (seed, sf, fault_rates): same inputs, same bytes.
* Memory is bounded: rows are produced as iterators and written in chunks.
* Every system writes ``<system>.manifest.json`` (:func:`write_manifest`) into its folder,
  or beside its SQLite file: system, seed, sf, rows per object, total_rows, faults, links
  (and system-specific extras such as per-file details), never timings, so it is as
  deterministic as the data.
* Links to other systems go through the *true* entities (``population.PopulationGenerator
  .true_citizens()``, ``enterprise.true_enterprises()``), never through another system's
  faulty rows, so a link is broken only where a fault says so.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# Scale: SF1 = 100,000 citizens; the merged city (NQ 202/2025/QH15) has 4,664,124 people.
CITIZENS_PER_SF = 100_000
CITY_POPULATION = 4_664_124
CITY_SF = CITY_POPULATION / CITIZENS_PER_SF  # ~46.6

Form = Literal["database", "file_drop", "api", "stream"]


@dataclass(frozen=True)
class SourceSystem:
    """A sector system as the city runs it: who owns it, what form it has, its objects and keys."""

    name: str                      # e.g. "business_registration"
    title: str                     # English title
    title_vi: str                  # Vietnamese title (with diacritics)
    owner: str                     # owning agency, Vietnamese (English)
    form: Form
    engine: str | None             # "postgresql", "mysql" (real servers) / "sqlite" (embedded) for databases
    objects: dict[str, tuple[str, ...]]  # table / file / endpoint -> natural key columns
    description: str = ""


@dataclass
class GenerationStats:
    system: str = ""
    rows: Counter = field(default_factory=Counter)     # object -> rows written
    faults: Counter = field(default_factory=Counter)   # fault type -> rows affected
    links: Counter = field(default_factory=Counter)    # link kind -> count (e.g. "citizen_ok", "citizen_broken")
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "rows": dict(sorted(self.rows.items())), "total_rows": self.total_rows,
                "faults": dict(sorted(self.faults.items())), "links": dict(sorted(self.links.items())),
                "seconds": round(self.seconds, 2)}


def rng_for(system: str, seed: int, stream: str = "main") -> random.Random:
    """An independent, reproducible random stream per system and purpose."""
    return random.Random(f"kho-{system}-{stream}-{seed}")


def scaled(per_sf: float, sf: float, minimum: int = 1) -> int:
    """A count that grows with the scale factor (rounded, never below ``minimum``)."""
    return max(minimum, round(per_sf * sf))


def fold_diacritics(text: str) -> str:
    """What a system without Vietnamese input stores: diacritics stripped (đ -> d), case kept."""
    out = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in out if unicodedata.category(ch) != "Mn")


MANIFEST_KEYS = ("system", "seed", "sf", "rows", "total_rows", "faults", "links")


def manifest_path(where: str | Path, system: str) -> Path | None:
    """Where ``<system>.manifest.json`` goes: in the system's folder, or beside a SQLite file
    for a ``sqlite:///`` URL; None for a database on a server (no folder to put it in)."""
    if isinstance(where, str) and "://" in where:
        if not where.startswith("sqlite"):
            return None
        from kho.sources import dbapi

        return dbapi.sqlite_path(where).parent / f"{system}.manifest.json"
    return Path(where) / f"{system}.manifest.json"


def write_manifest(where: str | Path, system: str, seed: int, sf: float, stats: Any, **extra: Any) -> Path | None:
    """Write the system's manifest (see :func:`manifest_path`): the :data:`MANIFEST_KEYS` from
    ``stats.as_dict()`` (``seconds`` left out), then ``extra``. Returns the path, if any."""
    path = manifest_path(where, system)
    if path is None:
        return None
    d = stats.as_dict()
    body = {"system": system, "seed": seed, "sf": sf, "rows": d["rows"], "total_rows": d["total_rows"],
            "faults": d["faults"], "links": d["links"],
            **{k: v for k, v in d.items() if k not in MANIFEST_KEYS and k != "seconds"}, **extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
