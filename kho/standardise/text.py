"""Text rules, vectorised: NFC and spacing, Vietnamese name case, diacritic tests, folding.

Each function takes a whole column (Arrow, pandas or a list) and returns Arrow arrays. The
results equal kho.cleaning's row-at-a-time functions (tests/unit/test_standardise_text.py
checks that on generated data and on edge cases) because the work is split three ways:

1. rows a cheap byte scan certifies as already clean are returned untouched;
2. suspect rows made only of characters whose behaviour Arrow and Python share (ASCII, the
   Latin letters including every Vietnamese one, U+0300..U+036F combining marks, Unicode
   spaces) are fixed with Arrow kernels;
3. anything else (other scripts, emoji, compatibility characters) goes through the scalar
   rule, once per distinct value.

Names are low-cardinality (20,000 distinct in 200,000 citizens), so name rules work on the
dictionary of distinct values and map back; addresses are not, so ``nfc`` works on rows.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kho.reference import fold as _fold_scalar
from kho.standardise import _utf8
from kho.standardise._arrow import ArrayLike, Cleaned, as_strings, map_unique, patch, reason_where, valid_mask

__all__ = ["nfc", "standardize_names", "standardized_name_dictionary", "has_diacritics", "fold", "normalize_tone_marks",
           "nfc_scalar",
           "standardize_name_scalar", "has_diacritics_scalar"]

_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _space_class() -> str:
    """An RE2 class of exactly the characters Python's ``str.split()`` / ``\\s`` treat as space."""
    cps = [cp for cp in range(0x3001) if chr(cp).isspace()]
    return "[" + "".join(f"\\x{{{cp:04x}}}" for cp in cps) + "]+"


# -- the scalar rules (the specification; same as kho.cleaning) -----------------------------
def nfc_scalar(text: str | None) -> str | None:
    """Unicode NFC with collapsed whitespace; None for empty (kho.cleaning.nfc)."""
    if text is None:
        return None
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", str(text))).strip()
    return text or None


def standardize_name_scalar(name: str | None) -> str | None:
    """NFC, single spaces, each space-separated syllable capitalised (kho.cleaning.standardize_name)."""
    name = nfc_scalar(name)
    if name is None:
        return None
    return " ".join(part[:1].upper() + part[1:].lower() for part in name.split(" "))


def has_diacritics_scalar(text: str | None) -> bool:
    """True when folding changes more than case and spacing (kho.cleaning.has_diacritics)."""
    if not text:
        return False
    return _fold_scalar(text) != " ".join(text.lower().split())


# -- vectorised ---------------------------------------------------------------------------
def nfc(values: ArrayLike) -> pa.Array:
    """NFC, whitespace runs collapsed to one space, trimmed; empty -> null. Same as ``nfc_scalar``.

    Vietnamese arrives both precomposed and decomposed (combining tone marks), with doubled
    or non-breaking spaces from web forms; only NFC text compares equal across systems.
    """
    arr = as_strings(values)
    suspect = _utf8.unclean_rows(arr)
    return patch(arr, suspect, _nfc_suspects)


def _nfc_suspects(sub: pa.Array) -> pa.Array:
    flags = _utf8.scan(sub)
    unsafe = (flags & _utf8.UNSAFE) != 0
    out = sub
    safe_idx = np.flatnonzero(~unsafe)
    if len(safe_idx):
        part = sub.take(pa.array(safe_idx))
        part = pc.utf8_normalize(part, form="NFC")
        part = pc.replace_substring_regex(part, _space_class(), " ")
        part = pc.utf8_trim(part, characters=" ")
        out = pc.replace_with_mask(out, pa.array(~unsafe), part)
    if unsafe.any():
        out = patch(out, unsafe, lambda s: map_unique(s, nfc_scalar, pa.string()))
    return pc.if_else(pc.equal(out, ""), pa.scalar(None, pa.string()), out)


def standardize_names(values: ArrayLike) -> Cleaned:
    """Personal names: NFC, single spaces, each syllable capitalised; NAME_MISSING where empty.

    Equals ``kho.cleaning.standardize_name`` row by row. Works on the distinct values.
    """
    names, indices = standardized_name_dictionary(values)
    out = names.take(indices)
    return Cleaned(out, reason_where(~valid_mask(out), "NAME_MISSING"))


def standardized_name_dictionary(values: ArrayLike) -> tuple[pa.Array, pa.Array]:
    """(standardised distinct names, row -> index into them): the name rule on the dictionary.

    Exposed so a job can derive more per-name columns (``has_diacritics``) without
    encoding the column again.
    """
    encoded = as_strings(values).dictionary_encode()
    names = nfc(encoded.dictionary)
    if len(names):
        flags = _utf8.scan(names)
        simple = (flags & (_utf8.UNSAFE | _utf8.NOT_LETTER)) == 0   # letters and single spaces only
        titled = pc.utf8_title(names)
        if not simple.all():
            titled = patch(titled, ~simple, lambda s: map_unique(s, standardize_name_scalar, pa.string()), names)
        names = titled
    return names, encoded.indices


def has_diacritics(values: ArrayLike) -> pa.Array:
    """Per row: does the text carry Vietnamese diacritics (đ, tone or vowel marks)? Null -> False.

    The survivorship rule prefers the accented spelling of a person; equals
    ``kho.cleaning.has_diacritics``.
    """
    arr = as_strings(values)
    encoded = arr.dictionary_encode()
    texts = encoded.dictionary
    if len(texts) == 0:
        return pa.array(np.zeros(len(arr), dtype=bool))
    flags = _utf8.scan(texts)
    result = pa.array((flags & _utf8.DIACRITIC) != 0)
    unsafe = (flags & _utf8.UNSAFE) != 0
    if unsafe.any():
        result = patch(result, unsafe, lambda s: map_unique(s, has_diacritics_scalar, pa.bool_()), texts)
    return result.take(encoded.indices).fill_null(False)


@lru_cache(maxsize=1)
def _combining_class() -> str:
    """RE2 class of the combining marks U+0300..U+036F that fold() removes (ccc != 0)."""
    cps = [cp for cp in range(0x0300, 0x0370) if unicodedata.combining(chr(cp))]
    return "[" + "".join(f"\\x{{{cp:04x}}}" for cp in cps) + "]"


def fold(values: ArrayLike) -> pa.Array:
    """Lower-case ASCII fold (``kho.reference.fold``) for fuzzy matching only, never as a key.

    Works on distinct values: it is meant for low-cardinality text (names, address parts).
    """
    arr = as_strings(values)
    encoded = arr.dictionary_encode()
    texts = encoded.dictionary
    if len(texts) == 0:
        return arr
    flags = _utf8.scan(texts)
    unsafe = (flags & _utf8.UNSAFE) != 0
    out = pc.replace_substring(pc.replace_substring(texts, "đ", "d"), "Đ", "D")
    out = pc.utf8_normalize(out, form="NFD")
    out = pc.replace_substring_regex(out, _combining_class(), "")
    out = pc.utf8_lower(out)
    out = pc.utf8_trim(pc.replace_substring_regex(out, _space_class(), " "), characters=" ")
    if unsafe.any():
        out = patch(out, unsafe, lambda s: map_unique(s, _fold_scalar, pa.string()), texts)
    return out.take(encoded.indices)


# Old ("Hoà", "Thuỷ") -> new ("Hòa", "Thủy") tone-mark placement, for open oa/oe/uy rimes only:
# the new style is the one the reference catalogue and NQ 1669 use (kho/reference/README.md).
TONE_PLACEMENT: tuple[tuple[str, str], ...] = (
    ("oà", "òa"), ("oá", "óa"), ("oả", "ỏa"), ("oã", "õa"), ("oạ", "ọa"),
    ("oè", "òe"), ("oé", "óe"), ("oẻ", "ỏe"), ("oẽ", "õe"), ("oẹ", "ọe"),
    ("uỳ", "ùy"), ("uý", "úy"), ("uỷ", "ủy"), ("uỹ", "ũy"), ("uỵ", "ụy"),
)


@lru_cache(maxsize=1)
def _tone_rule() -> tuple[re.Pattern[str], dict[str, str]]:
    table: dict[str, str] = {}
    for old, new in TONE_PLACEMENT:
        for o, n in ((old, new), (old.capitalize(), new.capitalize()), (old.upper(), new.upper())):
            table[o] = n
    # Only at the end of a syllable ("Hoà" but not "Hoàng"), and not after q ("Quý" is right as is).
    alternatives = "|".join(sorted(map(re.escape, table), key=len, reverse=True))
    return re.compile(rf"(?<![qQ])({alternatives})(?![^\W\d_])"), table


def normalize_tone_marks(values: ArrayLike) -> pa.Array:
    """Old-style tone placement (Hoà, Thuỷ) rewritten in the new style (Hòa, Thủy), after NFC.

    Not part of kho.cleaning (which keeps what the source wrote); use it before comparing
    names, e.g. to match an address against the unit catalogue. Works on distinct values.
    """
    pattern, table = _tone_rule()

    def rule(text: str | None) -> str | None:
        return None if text is None else pattern.sub(lambda m: table[m.group(1)], text)

    return map_unique(nfc(values), rule, pa.string())
