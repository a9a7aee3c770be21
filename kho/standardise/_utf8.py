"""A one-pass scan of an Arrow string column: which rows need any work at all.

Most rows of a real batch are already clean (NFC, single spaces, plain Vietnamese letters).
Running a Unicode kernel over every row to find that out is what makes cleaning slow, so
this module reads the UTF-8 bytes with numpy once and answers, per row, a few yes/no
questions (flags below). Rules then leave certified rows alone, fix the rest with Arrow
kernels, and keep a scalar Python rule for rows with characters outside the repertoire
whose behaviour they have checked (``UNSAFE``).

The *safe repertoire* is ASCII plus the Latin letters of Latin-1, Latin Extended-A/B and
Latin Extended Additional (which holds Vietnamese: ạ ả ấ ... ỹ) whose case mappings are
one-to-one and whose title case equals their upper case; for those, Arrow's ``utf8_*``
kernels and Python's ``str`` methods agree (tested in tests/unit/test_standardise_text.py).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa

NON_ASCII = 1         # any byte >= 0x80
SPACE_OTHER = 2       # a whitespace character other than U+0020 (str.isspace() semantics)
COMBINING = 4         # a combining mark U+0300..U+036F (decomposed Vietnamese): NFC would change the row
UNSAFE = 8            # a character outside the safe repertoire: only the scalar rule is trusted
DIACRITIC = 16        # a character that reference.fold() changes beyond lower-casing (á, ơ, đ, marks)
NOT_LETTER = 32       # anything but a cased letter or U+0020 (digits, punctuation, marks, other spaces)
SPACE_RUN = 64        # two spaces in a row, or a space at the start or end of the row

_LATIN_RANGES = ((0x00A0, 0x0250), (0x1E00, 0x1F00))


def _fold_char(ch: str) -> str:
    """reference.fold() for one character, without its whitespace collapsing."""
    ch = ch.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)).lower()


def _is_safe_letter(ch: str) -> bool:
    """A cased Latin letter whose case mappings are simple and NFC-stable (see module doc)."""
    up, low = ch.upper(), ch.lower()
    return (len(up) == 1 and len(low) == 1 and up != low and ch.title() == up
            and unicodedata.category(ch) in ("Lu", "Ll") and unicodedata.normalize("NFC", ch) == ch
            and unicodedata.normalize("NFC", up) == up and unicodedata.normalize("NFC", low) == low
            and up.lower() == low and low.upper() == up)


@lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray]:
    """(flags per byte value for ASCII bytes, flags per BMP code point), built once."""
    cp_flags = np.full(0x10000, NON_ASCII | UNSAFE | NOT_LETTER, dtype=np.uint8)
    for cp in range(0x80):
        ch = chr(cp)
        f = 0
        if ch.isspace() and ch != " ":
            f |= SPACE_OTHER
        if not (ch.isalpha() or ch == " "):
            f |= NOT_LETTER
        cp_flags[cp] = f
    for lo, hi in _LATIN_RANGES:
        for cp in range(lo, hi):
            ch = chr(cp)
            if _is_safe_letter(ch):
                f = NON_ASCII
                if _fold_char(ch) != ch.lower():
                    f |= DIACRITIC
                cp_flags[cp] = f
    for cp in range(0x0300, 0x0370):   # combining diacritical marks: NFC composes them (Arrow agrees)
        if unicodedata.combining(chr(cp)):
            cp_flags[cp] = NON_ASCII | COMBINING | DIACRITIC | NOT_LETTER
    for cp in range(0x80, 0x10000):    # non-ASCII whitespace (NBSP, ideographic space ...): only collapsed
        if chr(cp).isspace():
            cp_flags[cp] = NON_ASCII | SPACE_OTHER | NOT_LETTER
    byte_flags = np.zeros(256, dtype=np.uint8)
    byte_flags[:0x80] = cp_flags[:0x80]
    return byte_flags, cp_flags


def buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes, offsets rebased to 0, length n+1) of a ``pa.string()`` array, zero-copy."""
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset: arr.offset + n + 1].astype(np.int64) \
        if bufs[1] is not None else np.zeros(n + 1, dtype=np.int64)
    if n == 0 or bufs[2] is None:
        return np.zeros(0, dtype=np.uint8), offsets - (offsets[0] if len(offsets) else 0)
    data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
    return data, offsets - offsets[0]


def scan(arr: pa.Array) -> np.ndarray:
    """Per-row OR of the flags above (uint8); null rows get 0. ``arr`` must be ``pa.string()``."""
    n = len(arr)
    out = np.zeros(n, dtype=np.uint8)
    if n == 0:
        return out
    data, offsets = buffers(arr)
    if len(data) == 0:
        return out
    byte_table, cp_table = tables()
    flags = byte_table[data]
    lead = np.flatnonzero(data >= 0xC0)
    if len(lead):
        padded = np.concatenate([data, np.zeros(3, dtype=np.uint8)])
        b0 = padded[lead].astype(np.int32)
        b1 = padded[lead + 1].astype(np.int32) & 0x3F
        b2 = padded[lead + 2].astype(np.int32) & 0x3F
        cp = np.where(b0 < 0xE0, ((b0 & 0x1F) << 6) | b1, ((b0 & 0x0F) << 12) | (b1 << 6) | b2)
        f = cp_table[np.minimum(cp, 0xFFFF)]
        f[b0 >= 0xF0] = NON_ASCII | UNSAFE | NOT_LETTER     # astral plane: emoji, rare CJK
        flags[lead] = f
    # stray continuation or invalid lead bytes cannot occur in valid Arrow UTF-8; be safe anyway
    starts, ends = offsets[:-1], offsets[1:]
    nonempty = ends > starts
    if nonempty.any():
        out[nonempty] = np.bitwise_or.reduceat(flags, starts[nonempty])
        space = data == 0x20
        edge = space[starts[nonempty]] | space[ends[nonempty] - 1]
        out[np.flatnonzero(nonempty)[edge]] |= SPACE_RUN
        runs = np.flatnonzero(space[:-1] & space[1:])
        if len(runs):
            out[np.searchsorted(offsets, runs, side="right") - 1] |= SPACE_RUN
    if arr.null_count:
        out[~np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)] = 0
    return out


def lengths(arr: pa.Array) -> np.ndarray:
    """Byte length of every row (0 for nulls), from the offsets."""
    _, offsets = buffers(arr)
    return np.diff(offsets)


CHUNK = 1 << 18     # bytes per block: temporaries stay in L2 cache, several times faster than one pass
_U8 = np.uint8


def _suspect_bytes(data: np.ndarray) -> np.ndarray:
    """Positions of bytes that stop a row from being certified NFC-clean (see unclean_rows).

    Byte classes via one wrapping subtraction: y = b - 0xCA is <= 0x55 for b in 0xCA..0xFF
    and b < 0x20, 0xF8 for b == 0xC2; 0xE1 (y == 0x17) is fine when the next byte is
    0xB8..0xBB (U+1E00..U+1EFF). Two spaces in a row are suspect too.
    """
    n = len(data)
    y = np.empty(CHUNK, _U8)
    t = np.empty(CHUNK, _U8)
    bad = np.empty(CHUNK, bool)
    tmp = np.empty(CHUNK, bool)
    aux = np.empty(CHUNK, bool)
    found = []
    for s in range(0, n, CHUNK):
        e = min(n, s + CHUNK)
        m = e - s
        d, nxt = data[s:e], data[s + 1:e + 1]
        k = len(nxt)
        yv, tv, bv, mv, av = y[:m], t[:m], bad[:m], tmp[:m], aux[:m]
        np.subtract(d, _U8(0xCA), out=yv)
        np.less_equal(yv, _U8(0x55), out=bv)
        np.equal(yv, _U8(0xF8), out=mv)
        bv |= mv
        np.equal(yv, _U8(0x17), out=mv)
        np.subtract(nxt, _U8(0xB8), out=tv[:k])
        tv[k:] = 0xFF
        np.less_equal(tv, _U8(3), out=av)
        mv &= av
        bv &= ~mv
        np.equal(d, _U8(0x20), out=av)
        np.equal(nxt, _U8(0x20), out=mv[:k])
        mv[k:] = False
        mv &= av
        bv |= mv
        pos = np.flatnonzero(bv)
        if len(pos):
            found.append(pos + s)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def unclean_rows(arr: pa.Array) -> np.ndarray:
    """Rows that ``nfc`` might change (bool per row; nulls False). Cheap and conservative.

    A row is certified unchanged when it is non-empty, has no byte below 0x20 (control
    characters, tabs, newlines), no U+0080..U+00BF (NEL, NBSP), no character at or above
    U+0280 except Latin Extended Additional (U+1E00..U+1EFF, where Vietnamese lives), no two
    spaces in a row and no space at either end. Every character left (ASCII and Latin up to
    U+027F) is NFC-stable and never composes with a neighbour, so NFC cannot change the row
    (see tests/unit/test_standardise_text.py). Anything else is only *suspect*: the caller
    runs the exact rule on it. A few numpy passes over cache-sized blocks, no decoding.
    """
    n = len(arr)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    data, offsets = buffers(arr)
    starts, ends = offsets[:-1], offsets[1:]
    nonempty = ends > starts
    out[~nonempty] = True
    if len(data):
        pos = _suspect_bytes(data)
        if len(pos):
            out[np.searchsorted(offsets, pos, side="right") - 1] = True
        idx = np.flatnonzero(nonempty)
        out[idx] |= (data[starts[idx]] == 0x20) | (data[ends[idx] - 1] == 0x20)
    if arr.null_count:
        out &= np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return out


def fixed_width(arr: pa.Array, rows: np.ndarray, width: int) -> np.ndarray:
    """The first ``width`` bytes of ``rows`` (each at least that long) as a (len(rows), width) uint8 matrix.

    Gathers through a sliding-window view, so the index array has one entry per row rather
    than one per byte.
    """
    data, offsets = buffers(arr)
    if len(rows) == 0 or len(data) < width:
        return np.zeros((0, width), dtype=np.uint8)
    windows = np.lib.stride_tricks.sliding_window_view(data, width)
    return windows[offsets[rows]]
