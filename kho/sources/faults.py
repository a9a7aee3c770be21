"""Fault helpers shared by the source systems: draws, counts, and what faults do to names.

* :class:`Faults`: the social-sector systems' fault and link-fault draws (restarted per
  citizen block, see :func:`kho.sources.citizens.block_rng`) and their counts.
* :class:`FaultPlan`: the business and land systems' fault rates per table (``table.fault``
  keys), each table with its own random stream; :class:`Delayed` releases duplicated rows a
  few rows later.
* Names: :func:`misspell` (a differently spelled name: tone-mark placement, case, spacing,
  a slipped key), :func:`mistype` (a typing error: wrong tone mark, one syllable unaccented,
  swapped or doubled letter), :func:`name_variant` (the same person as another system writes
  them); unaccenting is :func:`kho.sources.base.fold_diacritics`.
* :func:`old_unit_code`: a pre-2025 unit code the current unit absorbed.

Fault keys share one vocabulary across systems (``docs/sources.md``): ``exact_duplicate``,
``near_duplicate``, ``missing_value``, ``malformed_value``, ``invalid_identifier``,
``unaccented_name`` (a person's or business's name without diacritics),
``unaccented_text`` (other text, e.g. an address), ``misspelled_name``, ``old_admin_unit``.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from kho import reference
from kho.sources.base import GenerationStats, fold_diacritics, rng_for
from kho.sources.citizens import CitizenRef, block_rng
from kho.sources.identifiers import (bad_check_tax_code, malformed_tax_code, mistyped_cccd, nobody_cccd, typo_cccd,
                                     unknown_cccd)

LINK_FAULT_RATES: dict[str, float] = {
    "link_unknown_cccd": 0.004,     # a well-formed CCCD that matches no citizen
    "link_cccd_typo": 0.004,        # one digit wrong or two swapped (may hit someone else)
    "link_birth_mismatch": 0.002,   # right CCCD, another birth date (where a birth date is stored)
}

_TONE_PAIRS = (("oà", "òa"), ("oá", "óa"), ("oả", "ỏa"), ("oã", "õa"), ("oạ", "ọa"), ("uỳ", "ùy"),
               ("uý", "úy"), ("uỷ", "ủy"), ("uỹ", "ũy"), ("uỵ", "ụy"), ("oè", "òe"), ("oé", "óe"))


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


# -- the business and land systems ---------------------------------------------------------
_TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")


def mistype(text: str, rng: random.Random) -> str:
    """A plausible typing error: wrong tone mark, one syllable unaccented, swapped or doubled letter."""
    words = text.split(" ")
    for _ in range(4):
        i = rng.randrange(len(words))
        word = words[i]
        if len(word) < 2:
            continue
        variant = rng.randrange(4)
        decomposed = unicodedata.normalize("NFD", word)
        tones = [k for k, ch in enumerate(decomposed) if ch in _TONES]
        if variant == 0 and tones:
            k = tones[0]
            new = rng.choice([t for t in _TONES if t != decomposed[k]])
            words[i] = unicodedata.normalize("NFC", decomposed[:k] + new + decomposed[k + 1:])
        elif variant == 1 and fold_diacritics(word) != word:
            words[i] = fold_diacritics(word)
        elif variant == 2:
            k = rng.randrange(len(word) - 1)
            words[i] = word[:k] + word[k + 1] + word[k] + word[k + 2:]
        else:
            k = rng.randrange(len(word))
            words[i] = word[:k + 1] + word[k] + word[k + 1:]
        if words[i] != word:
            return " ".join(words)
    return text + " "


def name_variant(full_name: str, rng: random.Random) -> str:
    """The same person as another system writes them: unaccented, misspelt or with another middle name."""
    variant = rng.random()
    if variant < 0.4 and fold_diacritics(full_name) != full_name:
        return fold_diacritics(full_name)
    if variant < 0.8:
        return mistype(full_name, rng)
    parts = full_name.split(" ")
    if len(parts) >= 3:
        swap = {"Văn": "Đức", "Thị": "Thu", "Đức": "Văn", "Thu": "Thị", "Ngọc": "Minh", "Minh": "Ngọc"}
        parts[1] = swap.get(parts[1], "Văn" if parts[1] != "Văn" else "Hữu")
        return " ".join(parts)
    return full_name.upper()


class FaultPlan:
    """Fault rates of one system resolved per table, and the draws that apply them.

    Each table has its own random stream, so the rate of one table never shifts another.
    """

    def __init__(self, system: str, seed: int, table_faults: dict[str, tuple[str, ...]],
                 defaults: dict[str, float], overrides: dict[str, float] | None, stats: GenerationStats) -> None:
        self.rates: dict[tuple[str, str], float] = {(t, f): defaults[f] for t, fs in table_faults.items() for f in fs}
        for key, value in (overrides or {}).items():
            if "." in key:
                table, fault = key.split(".", 1)
                if (table, fault) not in self.rates:
                    raise ValueError(f"unknown fault {key!r}; known: {sorted(f'{t}.{f}' for t, f in self.rates)}")
                self.rates[(table, fault)] = value
            elif key in defaults:
                for (table, fault) in self.rates:
                    if fault == key:
                        self.rates[(table, fault)] = value
            else:
                raise ValueError(f"unknown fault type {key!r}; known: {sorted(defaults)}")
        for key, value in self.rates.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {key} = {value} is not in [0, 1]")
        self.stats = stats
        self.muted = False             # True while drawing for a row that will not be written
        self._rngs = {t: rng_for(system, seed, f"faults-{t}") for t in table_faults}

    def rng(self, table: str) -> random.Random:
        return self._rngs[table]

    def rate(self, table: str, fault: str) -> float:
        return self.rates.get((table, fault), 0.0)

    def count(self, table: str, fault: str, n: int = 1) -> None:
        if not self.muted:
            self.stats.faults[f"{table}.{fault}"] += n

    def count_link(self, table: str, key: str) -> None:
        if not self.muted:
            self.stats.links[f"{table}.{key}"] += 1

    def choose(self, table: str, faults: Sequence[str]) -> str | None:
        """One draw per row among mutually exclusive faults that can apply to it."""
        draw = self._rngs[table].random()
        edge = 0.0
        for fault in faults:
            edge += self.rate(table, fault)
            if draw < edge:
                return fault
        return None

    def hit(self, table: str, fault: str) -> bool:
        return self._rngs[table].random() < self.rate(table, fault)

    def duplicate(self, table: str) -> str | None:
        """'exact' / 'near' / None for one source row."""
        draw = self._rngs[table].random()
        exact = self.rate(table, "exact_duplicate")
        if draw < exact:
            return "exact"
        if draw < exact + self.rate(table, "near_duplicate"):
            return "near"
        return None

    def link(self, table: str) -> str:
        """'broken' / 'name_mismatch' / 'ok' for one link."""
        draw = self._rngs[table].random()
        broken = self.rate(table, "link_broken")
        if draw < broken:
            return "broken"
        if draw < broken + self.rate(table, "link_name_mismatch"):
            return "name_mismatch"
        return "ok"

    def citizen_link(self, table: str, person: CitizenRef, kind: str = "citizen") -> tuple[str | None, str]:
        """(CCCD, name) as the table records the person, after a link draw; counted in stats.links."""
        outcome = self.link(table)
        self.count_link(table, f"{kind}_{outcome}")
        rng = self._rngs[table]
        if outcome == "broken":
            variant = rng.random()
            cccd = nobody_cccd(person.cccd, rng) if variant < 0.7 else mistyped_cccd(person.cccd, rng) if variant < 0.9 else None
            return cccd, person.full_name
        if outcome == "name_mismatch":
            return person.cccd, name_variant(person.full_name, rng)
        return person.cccd, person.full_name

    def enterprise_link(self, table: str, tax_code: str, name: str) -> tuple[str, str]:
        """(tax code, name) as the table records an enterprise; a broken link has a bad check digit or is malformed."""
        outcome = self.link(table)
        self.count_link(table, f"enterprise_{outcome}")
        rng = self._rngs[table]
        if outcome == "broken":
            return (bad_check_tax_code(tax_code, rng) if rng.random() < 0.6 else malformed_tax_code(tax_code, rng)), name
        if outcome == "name_mismatch":
            return tax_code, rng.choice((fold_diacritics(name), mistype(name, rng), name.upper()))
        return tax_code, name


class Delayed:
    """Rows held back and released a few rows later (duplicates and re-entries arrive late)."""

    def __init__(self, rng: random.Random, release: float = 0.3) -> None:
        self.rng, self.release, self.pending = rng, release, []

    def add(self, row: Any) -> None:
        self.pending.append(row)

    def due(self) -> Iterator[Any]:
        if self.pending and self.rng.random() < self.release:
            yield self.pending.pop(0)

    def rest(self) -> Iterator[Any]:
        while self.pending:
            yield self.pending.pop(0)
