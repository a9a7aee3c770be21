"""Every declared processed table, by domain (the modules of kho/processed that have ``TABLES``)."""

from __future__ import annotations

import importlib
import pkgutil

from kho.processed.base import ProcessedTable

_SKIP = {"base", "catalog"}


def domains() -> dict[str, list[ProcessedTable]]:
    """Domain module name -> its declared tables, in name order."""
    import kho.processed as package

    out: dict[str, list[ProcessedTable]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name in _SKIP or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"kho.processed.{info.name}")
        tables = getattr(module, "TABLES", None)
        if tables:
            out[info.name] = list(tables)
    return out


def find(name: str) -> ProcessedTable:
    """``<domain module>.<table>`` -> its declaration."""
    domain, _, table = name.partition(".")
    tables = domains().get(domain)
    if tables is None:
        raise KeyError(f"no processed domain {domain!r}; known: {', '.join(domains())}")
    for spec in tables:
        if spec.name == table:
            return spec
    raise KeyError(f"kho.processed.{domain} declares no table {table!r}; it has {', '.join(t.name for t in tables)}")
