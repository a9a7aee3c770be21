"""The socio-economic indicator catalogue (danh mục chỉ tiêu kinh tế - xã hội) every KPI keys on.

``indicators.csv`` (shipped in this package, read with :mod:`importlib.resources`) lists one
row per indicator the socio-economic mart and the IOC KPI tables carry: the economic, social
and environmental steering indicators of seed §VII.3.2.1 (~5700-5707) and §15 item 8, the
2024 figures of seed §IV (digest §3), and the TTHC / digital-government KPIs of §15 items
60-61. Columns:

``code``            stable key (upper snake case), e.g. ``GRDP_CURRENT``
``name_vi``         official-style Vietnamese name, with diacritics (NFC)
``name_en``         English name
``unit``            Vietnamese unit as the statistics office prints it (``tỷ đồng``, ``%``, ``hồ sơ`` ...)
``periodicity``     the finest period the owner publishes: ``month`` | ``quarter`` | ``year``
``owner_agency``    the agency that owns (compiles and guarantees) the figure
``aggregation``     how the values of finer periods roll up to a coarser one:
                    ``sum`` (flows: revenue, dossiers), ``avg`` (levels averaged over the
                    period: labour force, rates), ``last`` (stocks and year-to-date indices:
                    deposits at period end, cumulative growth). Rates that are a ratio of two
                    catalogued counts (``TTHC_ON_TIME_RATE``) should be recomputed from the
                    counts where both are available; ``avg`` is the fallback.
``seed_reference``  where the seed states it (section and approximate line of
                    ``000_83d166147693a21f.txt``) and the 2024 value if it gives one; "derived"
                    marks a value the seed does not give.
``group``           ``kinh_te`` | ``xa_hoi`` | ``moi_truong`` | ``hanh_chinh``
``source_system``   the generated system that produces it: ``statistics`` (monthly/quarterly
                    workbooks), ``dossiers`` (TTHC one-stop system), ``iot`` (monitoring
                    stations), ``other`` (no generated source yet)

The file is validated on load (header, allowed values, unique codes, NFC names), so a drifted
catalogue fails loudly instead of feeding a KPI table with a shifted column.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal, get_args

__all__ = ["Indicator", "indicators", "indicator_by_code", "INDICATORS_FILE"]

INDICATORS_FILE = "indicators.csv"

Periodicity = Literal["month", "quarter", "year"]
Aggregation = Literal["sum", "avg", "last"]
Group = Literal["kinh_te", "xa_hoi", "moi_truong", "hanh_chinh"]
SourceSystem = Literal["statistics", "dossiers", "iot", "other"]

_COLUMNS = ("code", "name_vi", "name_en", "unit", "periodicity", "owner_agency", "aggregation",
            "seed_reference", "group", "source_system")
_CODE = re.compile(r"[A-Z][A-Z0-9_]*")


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    name_vi: str
    name_en: str
    unit: str
    periodicity: Periodicity
    owner_agency: str
    aggregation: Aggregation
    seed_reference: str
    group: Group
    source_system: SourceSystem


def _check(value: str, allowed: tuple[str, ...], column: str, code: str) -> None:
    if value not in allowed:
        raise ValueError(f"{INDICATORS_FILE}: {code}: {column}={value!r}, expected one of {allowed}")


@lru_cache(maxsize=1)
def indicators() -> tuple[Indicator, ...]:
    """All indicators in file order (economic, social, environmental, administrative)."""
    text = resources.files(__package__).joinpath(INDICATORS_FILE).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise ValueError(f"{INDICATORS_FILE}: header {reader.fieldnames!r} does not match {list(_COLUMNS)!r}")
    out: list[Indicator] = []
    for row in reader:
        code = row["code"]
        if not _CODE.fullmatch(code):
            raise ValueError(f"{INDICATORS_FILE}: bad code {code!r}")
        for column in _COLUMNS:
            value = row[column]
            if not value or value != value.strip():
                raise ValueError(f"{INDICATORS_FILE}: {code}: empty or padded {column}")
            if unicodedata.normalize("NFC", value) != value:
                raise ValueError(f"{INDICATORS_FILE}: {code}: {column} is not NFC")
        _check(row["periodicity"], get_args(Periodicity), "periodicity", code)
        _check(row["aggregation"], get_args(Aggregation), "aggregation", code)
        _check(row["group"], get_args(Group), "group", code)
        _check(row["source_system"], get_args(SourceSystem), "source_system", code)
        out.append(Indicator(**row))  # type: ignore[arg-type]  # literals checked above
    codes = [i.code for i in out]
    if len(set(codes)) != len(codes):
        raise ValueError(f"{INDICATORS_FILE}: duplicate codes {sorted({c for c in codes if codes.count(c) > 1})}")
    return tuple(out)


@lru_cache(maxsize=1)
def indicator_by_code() -> dict[str, Indicator]:
    """Indicators keyed by code. A shared cached dict: treat it as read-only."""
    return {i.code: i for i in indicators()}
