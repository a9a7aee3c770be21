"""Diacritic restoration for Vietnamese personal names typed without accents.

"Nguyen Van Hung" from a system without Vietnamese input is, most likely, "Nguyễn Văn Hùng";
but "Nguyen Thi Thuy" may be Thúy, Thùy or Thủy, and no rule can tell which. So a name is
restored only syllable by syllable, where the syllable's position (surname first, given name
last, middle names between) and, when known, the person's sex leave exactly one spelling.
Anything else is left as typed and flagged NAME_UNACCENTED, so a person decides.

Where the spellings come from (:class:`NameDictionary`):

* :func:`default_dictionary` uses the name lists of ``kho.sources.names``: they are exactly
  the names the generated sector systems draw from, so on generated data every restorable
  name is restored and nothing is invented. They are common Vietnamese names, not a census.
* For real data build it with :meth:`NameDictionary.from_names` from the accented names the
  processed citizen table already holds (the population register is typed with diacritics);
  ``min_share`` then drops spellings that are not dominant for their unaccented form.

Restoration is not part of kho.cleaning: the processed job decides whether to use it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

from kho.reference import fold as _fold
from kho.standardise._arrow import ArrayLike, Cleaned, as_strings
from kho.standardise.text import has_diacritics_scalar

__all__ = ["NameDictionary", "default_dictionary", "restore_diacritics"]

Position = str          # "surname" | "middle" | "given"
SexKey = str            # "M" | "F" | "*" (either)


def _positions(n: int) -> list[Position]:
    if n == 1:
        return ["given"]
    return ["surname"] + ["middle"] * (n - 2) + ["given"]


@dataclass(frozen=True)
class NameDictionary:
    """(position, sex, folded syllable) -> the one accented spelling, where there is one.

    ``spellings`` keeps every candidate with its weight; :meth:`lookup` answers only when a
    single spelling remains (or one holds ``min_share`` of the weight).
    """

    spellings: Mapping[tuple[Position, SexKey, str], Mapping[str, float]]
    min_share: float = 1.0
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_lists(cls, surnames: Iterable[str], middle: Mapping[str, Iterable[str]],
                   given: Mapping[str, Iterable[str]]) -> "NameDictionary":
        """From name lists: surnames, and middle/given names per sex ("M", "F")."""
        table: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
        for s in surnames:
            for sex in ("M", "F", "*"):
                table[("surname", sex, _fold(s))][s] += 1.0
        for position, by_sex in (("middle", middle), ("given", given)):
            for sex, names in by_sex.items():
                for name in names:
                    table[(position, sex, _fold(name))][name] += 1.0
                    table[(position, "*", _fold(name))][name] += 1.0
        return cls({k: dict(v) for k, v in table.items()})

    @classmethod
    def from_names(cls, full_names: Iterable[str | None], sexes: Iterable[str | None] | None = None,
                   min_share: float = 0.95, weights: Iterable[float] | None = None) -> "NameDictionary":
        """From accented full names (e.g. the processed citizen table), weighted by frequency.

        For a whole register pass the distinct (name, sex) pairs with their counts as
        ``weights`` (a GROUP BY), not one row per citizen. Names without any diacritics are
        skipped: they would teach the dictionary that the unaccented spelling is a spelling.
        """
        table: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
        sex_iter = iter(sexes) if sexes is not None else None
        weight_iter = iter(weights) if weights is not None else None
        for full in full_names:
            sex = (next(sex_iter) if sex_iter is not None else None) or "*"
            weight = float(next(weight_iter)) if weight_iter is not None else 1.0
            if not full or not has_diacritics_scalar(full):
                continue
            parts = full.split()
            for position, part in zip(_positions(len(parts)), parts):
                key = _fold(part)
                table[(position, "*", key)][part] += weight
                if sex in ("M", "F"):
                    table[(position, sex, key)][part] += weight
        return cls({k: dict(v) for k, v in table.items()}, min_share=min_share)

    def lookup(self, position: Position, sex: str | None, syllable: str) -> str | None:
        """The accented spelling of ``syllable`` at ``position``, or None when unknown or ambiguous."""
        key = (position, sex if sex in ("M", "F") else "*", _fold(syllable))
        if key in self._cache:
            return self._cache[key]
        candidates = self.spellings.get(key)
        answer = None
        if candidates:
            total = sum(candidates.values())
            best, weight = max(candidates.items(), key=lambda kv: kv[1])
            if len(candidates) == 1 or (self.min_share < 1.0 and weight / total >= self.min_share):
                answer = best
        self._cache[key] = answer
        return answer

    def restore(self, name: str | None, sex: str | None = None) -> tuple[str | None, bool]:
        """(restored name, fully accented?) for one standardised name; syllables already
        accented, unknown or ambiguous are kept as written."""
        if not name:
            return name, True
        parts = name.split(" ")
        out = []
        complete = True
        for position, part in zip(_positions(len(parts)), parts):
            if has_diacritics_scalar(part):
                out.append(part)
                continue
            spelling = self.lookup(position, sex, part)
            if spelling is None:
                complete = False
                out.append(part)
            else:
                out.append(spelling.upper() if len(part) > 1 and part.isupper() else spelling)
        return " ".join(out), complete


@lru_cache(maxsize=1)
def default_dictionary() -> NameDictionary:
    """The dictionary of the generated sources' name lists (kho.sources.names)."""
    from kho.sources import names

    return NameDictionary.from_lists(
        [s for s, _ in names.SURNAMES],
        {"M": names.MIDDLE_MALE, "F": names.MIDDLE_FEMALE},
        {"M": names.GIVEN_MALE, "F": names.GIVEN_FEMALE})


def restore_diacritics(names: ArrayLike, sexes: ArrayLike | None = None,
                       dictionary: NameDictionary | None = None) -> Cleaned:
    """Restore diacritics of standardised names, syllable by syllable where unambiguous.

    ``names`` should be the output of ``standardize_names``; ``sexes`` ("M"/"F"/null)
    disambiguate given names such as Dung (female) / Dũng (male). Returns the names and
    NAME_UNACCENTED where a syllable without diacritics is still unknown or ambiguous (a
    warning: syllables such as "An" or "Minh" have no diacritics and are complete as they
    are). Works once per distinct (name, sex).
    """
    dictionary = dictionary or default_dictionary()
    arr = as_strings(names)
    n = len(arr)
    if sexes is None:
        sex_arr = pa.nulls(n, pa.string())
    else:
        sex_arr = as_strings(sexes)
    # one key per distinct (name, sex); \x1f never occurs in a standardised name
    keys = pc.binary_join_element_wise(arr.fill_null("\x00"), sex_arr.fill_null(""), "\x1f")
    encoded = keys.dictionary_encode()
    values, reasons = [], []
    for key in encoded.dictionary.to_pylist():
        name, _, sex = key.rpartition("\x1f")
        restored, complete = dictionary.restore(None if name == "\x00" else name, sex or None)
        values.append(restored)
        reasons.append(None if complete else "NAME_UNACCENTED")
    idx = encoded.indices
    return Cleaned(pa.array(values, pa.string()).take(idx), pa.array(reasons, pa.string()).take(idx))
