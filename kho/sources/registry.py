"""All generated sector systems, and where ``kho sources up`` puts each one.

Databases go to SQLite files on the embedded profile, or to the real PostgreSQL / MariaDB
servers with ``real=True`` (``infra/local/servers.sh start`` runs them on loopback); file
drops, the API's data set and IoT events go under ``<state>/sources/``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from kho.sources.base import SourceSystem

# Modules in dependency order: later systems link to the citizens and enterprises of earlier ones.
MODULES = ("population", "civil_status", "insurance", "labour", "health", "education", "enterprise", "land",
           "permits", "dossiers", "statistics", "iot")

REAL_URLS = {
    "postgresql": ("KHO_REAL_PG_URL", "postgresql://kho:kho@127.0.0.1:54329/kho_sources"),
    "mysql": ("KHO_REAL_MYSQL_URL", "mysql://kho:kho@127.0.0.1:33069/kho_sources"),
}


@dataclass(frozen=True)
class GeneratedSource:
    system: SourceSystem
    target: str
    stats: dict[str, Any]
    seconds: float


def load() -> dict[str, tuple[SourceSystem, ModuleType]]:
    """Import every source module that exists; the key is the system name."""
    systems: dict[str, tuple[SourceSystem, ModuleType]] = {}
    for name in MODULES:
        try:
            module = importlib.import_module(f"kho.sources.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"kho.sources.{name}":
                continue
            raise
        system = getattr(module, "SYSTEM", None)
        if isinstance(system, SourceSystem):
            systems[system.name] = (system, module)
    return systems


def target_for(system: SourceSystem, sources_dir: Path, *, real: bool) -> str:
    if system.form == "database":
        if real and system.engine in REAL_URLS:
            env, default = REAL_URLS[system.engine]
            return os.environ.get(env, default)
        return f"sqlite:///{sources_dir / (system.name + '.sqlite')}"
    return str(sources_dir)


def up(sources_dir: Path, *, sf: float, seed: int, real: bool = False, only: tuple[str, ...] = (),
       on_done: Callable[[GeneratedSource], None] | None = None) -> list[GeneratedSource]:
    """Generate every system (or ``only`` these), in dependency order; return what was written where."""
    systems = load()
    unknown = set(only) - set(systems)
    if unknown:
        raise ValueError(f"unknown source systems {sorted(unknown)}; known: {', '.join(systems)}")
    sources_dir.mkdir(parents=True, exist_ok=True)
    done: list[GeneratedSource] = []
    for name, (system, module) in systems.items():
        if only and name not in only:
            continue
        target = target_for(system, sources_dir, real=real)
        t0 = time.perf_counter()
        kwargs: dict[str, Any] = {"seed": seed, "sf": sf}
        stats = module.generate(target, **{k: v for k, v in kwargs.items()
                                           if k in inspect.signature(module.generate).parameters})
        result = GeneratedSource(system, target, stats.as_dict(), time.perf_counter() - t0)
        done.append(result)
        if on_done:
            on_done(result)
    return done
