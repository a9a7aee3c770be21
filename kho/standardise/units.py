"""Administrative units: codes through the versioned crosswalk, and communes named in addresses.

Codes (:func:`resolve_unit_codes`): a code of one of the 114 current units stays; a pre-2025
code goes through ``kho.reference.crosswalk()``; a split unit (its area went to several new
units) is decided from the row's address when the address names one of the candidates,
else flagged ADMIN_UNIT_SPLIT; anything else is ADMIN_UNIT_UNKNOWN. Without addresses and
dates this equals ``kho.cleaning.resolve_admin_unit`` row by row.

Old and new codes share one number space (kho/reference/README.md): ``10891`` is Thị trấn
Lai Cách on a record dated before 1 July 2025 and Phường Tứ Minh after it. Pass
``record_dates`` to read old-dated codes as old codes (the versioned reading).

Addresses (:func:`match_address_units`): the address is split at commas; a part that starts
with a unit type ("Phường", "Xã", "Thị trấn", "Đặc khu", unaccented or abbreviated, see
:data:`UNIT_TYPE_WORDS`) names the commune-level unit, a part naming a pre-2025 district
("Huyện Cẩm Giàng") marks a pre-2025 address. Names are compared with diacritics first
(tone placement Hoà/Hòa normalised) and only then without: "Cam Giang" fits both Xã Cẩm
Giang and Xã Cẩm Giàng and stays ADDRESS_UNIT_AMBIGUOUS rather than being guessed. Names are
never keys: every match ends in an official code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho import reference
from kho.reference import fold
from kho.standardise._arrow import (ArrayLike, as_array, as_strings, bool_numpy, map_unique_many, replace_rows,
                                    valid_mask)
from kho.standardise.text import _tone_rule, nfc, nfc_scalar

__all__ = ["REFORM_DATE", "UNIT_TYPE_WORDS", "DISTRICT_TYPE_WORDS", "UnitsResolved", "resolve_unit_codes",
           "match_address_units", "resolve_unit_code_scalar"]

REFORM_DATE = date(2025, 7, 1)   # NQ 1669/NQ-UBTVQH15: districts abolished, 114 new commune-level units

# How a unit type is written -> catalogue type. Accented forms are listed; the unaccented
# (folded) form of each is accepted too. Longer words first where one is a prefix of another.
UNIT_TYPE_WORDS: Mapping[str, str] = {
    "thị trấn": "thi_tran", "tt.": "thi_tran", "tt": "thi_tran",
    "phường": "phuong", "p.": "phuong",
    "đặc khu": "dac_khu", "đk.": "dac_khu",
    "xã": "xa", "x.": "xa",
}
# How a pre-2025 district type is written -> the word the crosswalk's old_district uses.
DISTRICT_TYPE_WORDS: Mapping[str, str] = {
    "thành phố": "Thành phố", "tp.": "Thành phố", "tp": "Thành phố",
    "thị xã": "Thị xã", "tx.": "Thị xã", "tx": "Thị xã",
    "quận": "Quận", "q.": "Quận",
    "huyện": "Huyện", "h.": "Huyện",
}


class UnitsResolved(NamedTuple):
    """Current unit codes (null when unresolved), how each was found, and a reason code.

    ``how``: "current", "crosswalk" (code through the crosswalk), "address" (a split or
    unknown code decided by a current unit named in the address), "address_old_unit"
    (a pre-2025 unit named in the address, through the crosswalk); null when unresolved.
    """

    codes: pa.Array
    how: pa.Array
    reasons: pa.Array


# -- code resolution (scalar spec, applied per distinct code) ------------------------------------
def _normalise_code(code: object) -> str | None:
    text = (str(code).strip() if code is not None else "") or None
    if text is None:
        return None
    return text.zfill(5) if text.isdigit() else text


def resolve_unit_code_scalar(code: object, old_dated: bool = False) -> tuple[str | None, str]:
    """(current code or None, "current" | "crosswalk" | reason): kho.cleaning.resolve_admin_unit,
    plus ``old_dated``: the record predates the reform, so read the code as a pre-2025 code first."""
    norm = _normalise_code(code)
    if norm is None:
        return None, "ADMIN_UNIT_UNKNOWN"
    current = reference.admin_unit_by_code()
    entry = reference.crosswalk().get(norm)
    if norm in current and not (old_dated and entry is not None):
        return norm, "current"
    if entry is None:
        return None, "ADMIN_UNIT_UNKNOWN"
    if entry.split or not entry.new_unit_code:
        return None, "ADMIN_UNIT_SPLIT"
    return entry.new_unit_code, "crosswalk"


def _code_rule(code: object) -> tuple[str | None, str | None, str | None, str | None, str | None, str | None]:
    new_code, how = resolve_unit_code_scalar(code)
    old_code, old_how = resolve_unit_code_scalar(code, old_dated=True)
    return (new_code, how if new_code else None, None if new_code else how,
            old_code, old_how if old_code else None, None if old_code else old_how)


def resolve_unit_codes(codes: ArrayLike, *, addresses: ArrayLike | None = None,
                       record_dates: ArrayLike | None = None, reform_date: date = REFORM_DATE,
                       fill_unknown_from_address: bool = False) -> UnitsResolved:
    """Unit codes -> current codes, ``how``, and ADMIN_UNIT_SPLIT / ADMIN_UNIT_UNKNOWN.

    ``addresses``: decide split units from a current unit the address names, when it is one
    of the split unit's candidates and the address is not a pre-2025 one (a pre-2025 address
    names the old unit itself, which is exactly what cannot be decided).
    ``record_dates`` (date32): rows dated before ``reform_date`` read their code as pre-2025.
    ``fill_unknown_from_address``: also take the unit from the address where the code is
    unknown or empty (off by default: kho.cleaning quarantines those).
    """
    arr = as_strings(codes)
    n = len(arr)
    if record_dates is not None:
        new_code, new_how, new_reason, old_code, old_how, old_reason = map_unique_many(
            arr, _code_rule, (pa.string(),) * 6)
        dates = as_array(record_dates)
        if not pa.types.is_date(dates.type):
            dates = dates.cast(pa.date32())
        old = pa.array(bool_numpy(pc.less(dates, pa.scalar(reform_date, pa.date32()))))
        code_out = pc.if_else(old, old_code, new_code)
        how_out = pc.if_else(old, old_how, new_how)
        reason_out = pc.if_else(old, old_reason, new_reason)
    else:
        code_out, how_out, reason_out = map_unique_many(arr, lambda c: _code_rule(c)[:3], (pa.string(),) * 3)
    if addresses is not None and n:
        split = bool_numpy(pc.equal(reason_out, "ADMIN_UNIT_SPLIT"))
        unknown = (bool_numpy(pc.equal(reason_out, "ADMIN_UNIT_UNKNOWN")) if fill_unknown_from_address
                   else np.zeros(n, dtype=bool))
        rows = np.flatnonzero(split | unknown)
        if len(rows):
            code_out, how_out, reason_out = _from_addresses(arr, addresses, rows, split, code_out, how_out,
                                                            reason_out)
    return UnitsResolved(code_out, how_out, reason_out)


def _from_addresses(arr: pa.Array, addresses: ArrayLike, rows: np.ndarray, split: np.ndarray, code_out: pa.Array,
                    how_out: pa.Array, reason_out: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Decide the given rows (split or unknown codes) from their addresses, where allowed."""
    take = pa.array(rows)
    found = match_address_units(as_strings(addresses).take(take))
    f_code, f_how = found.codes.to_pylist(), found.how.to_pylist()
    raw = arr.take(take).to_pylist()
    crosswalk = reference.crosswalk()
    accept = np.zeros(len(rows), dtype=bool)
    for k, row in enumerate(rows):
        if f_code[k] is None:
            continue
        if split[row]:
            entry = crosswalk.get(_normalise_code(raw[k]) or "")
            if f_how[k] != "address" or entry is None or f_code[k] not in entry.candidate_unit_codes:
                continue
        accept[k] = True
    if not accept.any():
        return code_out, how_out, reason_out
    sel = pa.array(accept)
    changed = rows[accept]
    return (replace_rows(code_out, changed, found.codes.filter(sel)),
            replace_rows(how_out, changed, found.how.filter(sel)),
            replace_rows(reason_out, changed, pa.nulls(len(changed), pa.string())))


# -- address matching ------------------------------------------------------------------------------
def _key(text: str) -> str:
    """Comparison key with diacritics: NFC, new-style tone placement, lower case, single spaces."""
    pattern, table = _tone_rule()
    text = nfc_scalar(text) or ""
    return pattern.sub(lambda m: table[m.group(1)], text).lower()


def _split_type(key: str, words: Mapping[str, str]) -> tuple[str, str] | None:
    """(type, name) when ``key`` (a _key or fold) starts with one of ``words``, accented or folded."""
    for word, kind in _type_words(tuple(words.items())):
        if key.startswith(word):
            rest = key[len(word):].strip(" .")
            if rest and (word.endswith(".") or key[len(word):len(word) + 1] == " "):
                return kind, rest
    return None


@lru_cache(maxsize=4)
def _type_words(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}
    for word, kind in items:
        out.setdefault(word, kind)
        out.setdefault(fold(word) + ("." if word.endswith(".") else ""), kind)
    return tuple(sorted(out.items(), key=lambda kv: -len(kv[0])))


@dataclass(frozen=True)
class _Catalogue:
    current_exact: dict[tuple[str, str], set[str]]
    current_folded: dict[tuple[str, str], set[str]]
    old_exact: dict[tuple[str, str], set[str]]
    old_folded: dict[tuple[str, str], set[str]]
    district_exact: dict[str, set[str]]
    district_folded: dict[str, set[str]]


@lru_cache(maxsize=1)
def _catalogue() -> _Catalogue:
    """Lookup tables from the reference catalogues (built once)."""
    ce, cf = defaultdict(set), defaultdict(set)
    for u in reference.admin_units():
        ce[(u.unit_type, _key(u.unit_name))].add(u.unit_code)
        cf[(u.unit_type, fold(u.unit_name))].add(u.unit_code)
    oe, of, de, df = defaultdict(set), defaultdict(set), defaultdict(set), defaultdict(set)
    for e in reference.crosswalk().values():
        oe[(e.old_unit_type, _key(e.old_unit_name))].add(e.old_unit_code)
        of[(e.old_unit_type, fold(e.old_unit_name))].add(e.old_unit_code)
        de[_key(e.old_district)].add(e.old_unit_code)
        df[fold(e.old_district)].add(e.old_unit_code)
    return _Catalogue(dict(ce), dict(cf), dict(oe), dict(of), dict(de), dict(df))


def _classify(segment: str) -> tuple[str, object] | None:
    """("unit", (type, exact name, folded name)) or ("district", old codes) or None."""
    key = _key(segment)
    folded = fold(segment)
    unit = _split_type(key, UNIT_TYPE_WORDS)
    if unit is not None:
        kind, name = unit
        folded_unit = _split_type(folded, UNIT_TYPE_WORDS)
        return "unit", (kind, name, folded_unit[1] if folded_unit else fold(name))
    district = _split_type(key, DISTRICT_TYPE_WORDS)
    if district is not None:
        cat = _catalogue()
        word, name = district
        codes = cat.district_exact.get(_key(f"{word} {name}"))
        if codes is None:
            codes = cat.district_folded.get(fold(f"{word} {name}"))
        if codes:
            return "district", frozenset(codes)
    return None


def _one(codes: set[str] | None) -> tuple[str | None, bool]:
    """(the code, ambiguous?) of a candidate set."""
    if not codes:
        return None, False
    if len(codes) == 1:
        return next(iter(codes)), False
    return None, True


def _old_to_current(old_codes: set[str]) -> tuple[str | None, str | None, str | None]:
    old, ambiguous = _one(old_codes)
    if old is None:
        return (None, None, "ADDRESS_UNIT_AMBIGUOUS") if ambiguous else (None, None, None)
    entry = reference.crosswalk()[old]
    if entry.split or not entry.new_unit_code:
        return None, None, "ADMIN_UNIT_SPLIT"
    return entry.new_unit_code, "address_old_unit", None


def _resolve_parts(unit: tuple[str, str, str] | None, district: frozenset[str] | None
                   ) -> tuple[str | None, str | None, str | None]:
    """(code, how, reason) from the unit part and the pre-2025 district part of one address."""
    if unit is None:
        return None, None, "ADDRESS_UNIT_UNKNOWN"
    cat = _catalogue()
    kind, name, folded = unit
    ambiguous = False
    if district is not None:                   # a pre-2025 address: the unit is an old unit
        for table, key in ((cat.old_exact, (kind, name)), (cat.old_folded, (kind, folded))):
            hits = table.get(key, set()) & district
            if hits:
                return _old_to_current(hits)
    if kind != "thi_tran":
        # Typed matches only: "Xã Hòa Bình" is not "Phường Hòa Bình" (a pre-2025 Xã Hòa Bình exists twice).
        for table, key in ((cat.current_exact, (kind, name)), (cat.current_folded, (kind, folded))):
            code, amb = _one(table.get(key))
            if code is not None:
                return code, "address", None
            if amb:
                ambiguous = True
                break
    if ambiguous:
        return None, None, "ADDRESS_UNIT_AMBIGUOUS"
    for table, key in ((cat.old_exact, (kind, name)), (cat.old_folded, (kind, folded))):
        hits = table.get(key)
        if hits:
            return _old_to_current(hits)
    return None, None, "ADDRESS_UNIT_UNKNOWN"


@lru_cache(maxsize=1)
def _prefilter() -> str:
    """RE2 pattern for address parts worth classifying (start with a unit or district word)."""
    words = set()
    for table in (UNIT_TYPE_WORDS, DISTRICT_TYPE_WORDS):
        for word in table:
            base = word.rstrip(".")
            words.add(base)
            words.add(fold(base))
    alternatives = "|".join(sorted(words, key=len, reverse=True))
    return rf"(?i)^\s*({alternatives})[\s.]"


def match_address_units(addresses: ArrayLike) -> UnitsResolved:
    """The current unit an address names: codes, ``how`` ("address" | "address_old_unit"), and
    ADDRESS_UNIT_UNKNOWN / ADDRESS_UNIT_AMBIGUOUS / ADMIN_UNIT_SPLIT (an old split unit named).

    Vectorised split into parts; only parts starting with a unit or district word are
    classified, once per distinct part; rows are then resolved once per distinct
    (unit part, district part) pair.
    """
    arr = nfc(addresses)
    n = len(arr)
    if n == 0:
        empty = pa.array([], pa.string())
        return UnitsResolved(empty, empty, empty)
    parts = pc.split_pattern(arr, ",")
    flat = pc.list_flatten(parts)
    parents = pc.list_parent_indices(parts).to_numpy()
    keep = bool_numpy(pc.match_substring_regex(flat, _prefilter()))
    unit_part = np.full(n, -1, dtype=np.int64)
    district_part = np.full(n, -1, dtype=np.int64)
    classes: list[tuple[str, object] | None] = []
    if keep.any():
        kept = flat.filter(pa.array(keep))
        kept_parents = parents[keep]
        encoded = kept.dictionary_encode()
        classes = [_classify(s) for s in encoded.dictionary.to_pylist()]
        ids = encoded.indices.to_numpy()
        is_unit = np.array([c is not None and c[0] == "unit" for c in classes], dtype=bool)[ids]
        is_district = np.array([c is not None and c[0] == "district" for c in classes], dtype=bool)[ids]
        # the first unit part and the first pre-2025 district part of each address
        for mask, target in ((is_unit, unit_part), (is_district, district_part)):
            rows, first = np.unique(kept_parents[mask], return_index=True)
            target[rows] = ids[mask][first]
    pair = (unit_part + 1) * (len(classes) + 1) + (district_part + 1)
    _, first_row, inverse = np.unique(pair, return_index=True, return_inverse=True)
    codes, hows, reasons = [], [], []
    for row in first_row:
        up, dp = int(unit_part[row]), int(district_part[row])
        unit = classes[up][1] if up >= 0 else None
        district = classes[dp][1] if dp >= 0 else None
        c, h, r = _resolve_parts(unit, district)  # type: ignore[arg-type]
        codes.append(c)
        hows.append(h)
        reasons.append(r)
    take = pa.array(inverse.ravel())
    code_arr = pa.array(codes, pa.string()).take(take)
    how_arr = pa.array(hows, pa.string()).take(take)
    reason_arr = pa.array(reasons, pa.string()).take(take)
    missing = ~valid_mask(arr)
    if missing.any():
        reason_arr = pc.if_else(pa.array(missing), pa.scalar("ADDRESS_UNIT_UNKNOWN"), reason_arr)
    return UnitsResolved(code_arr, how_arr, reason_arr)
