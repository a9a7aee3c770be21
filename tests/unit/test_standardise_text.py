"""kho.standardise.text and .names: same results as kho.cleaning, and the claims the fast paths rest on.

The fast paths trust two facts about Unicode and Arrow (module docs of _utf8 and text); the
first tests check those facts for every character concerned, so a new Arrow or Python
release that changes them fails here rather than corrupting names silently.
"""

from __future__ import annotations

import random
import unicodedata

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kho import cleaning, reference
from kho.sources import names as source_names
from kho.sources.base import fold_diacritics
from kho.standardise import _utf8
from kho.standardise.names import NameDictionary, default_dictionary, restore_diacritics
from kho.standardise.text import fold, has_diacritics, nfc, normalize_tone_marks, standardize_names

VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
ALPHABET = (VIETNAMESE + VIETNAMESE.upper() + "  \t\n\u00a0\u2003\u3000" + "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"
            + "-'.,0123456789" + "ßİıǅǰŉſ" + "ΣσςάΆ\u1f71" + "Å\u212bé" + "中文🙂" + "\u0345\u034f\u1dc0")


def _random_texts(count: int, seed: int = 1) -> list[str | None]:
    rng = random.Random(seed)
    out: list[str | None] = [None, "", " ", "   "]
    for _ in range(count):
        k = rng.randint(0, 14)
        text = "".join(rng.choice(ALPHABET) for _ in range(k))
        if rng.random() < 0.3:
            text = unicodedata.normalize("NFD", text)
        out.append(text)
    return out


# -- the facts the fast paths rest on ------------------------------------------------------
def _safe_letters() -> list[str]:
    _, cp_table = _utf8.tables()
    return [chr(cp) for cp in range(0x10000)
            if not cp_table[cp] & (_utf8.UNSAFE | _utf8.NOT_LETTER) and cp > 0x7F]


def test_every_vietnamese_letter_is_in_the_safe_repertoire() -> None:
    safe = set(_safe_letters())
    for ch in VIETNAMESE + VIETNAMESE.upper():
        assert ch in safe or ch.isascii(), ch


def test_arrow_and_python_agree_on_case_for_every_safe_letter() -> None:
    letters = _safe_letters() + [chr(c) for c in range(0x41, 0x5B)] + [chr(c) for c in range(0x61, 0x7B)]
    words = [a + b + c for a, b, c in zip(letters, letters[1:] + letters[:1], letters[2:] + letters[:2])]
    arr = pa.array(words)
    assert pc.utf8_upper(arr).to_pylist() == [w.upper() for w in words]
    assert pc.utf8_lower(arr).to_pylist() == [w.lower() for w in words]
    assert pc.utf8_title(arr).to_pylist() == [w[:1].upper() + w[1:].lower() for w in words]


def test_certified_characters_are_nfc_stable_and_never_compose_as_second() -> None:
    certified = [*range(0x20, 0x7F), *range(0xC0, 0x280), *range(0x1E00, 0x1F00)]
    seconds = set()
    for cp in range(0x110000):
        decomposition = unicodedata.decomposition(chr(cp))
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                seconds.add(int(parts[1], 16))
    for cp in certified:
        ch = chr(cp)
        assert unicodedata.is_normalized("NFC", ch), hex(cp)
        assert not ch.isspace() or ch == " ", hex(cp)
        assert unicodedata.combining(ch) == 0, hex(cp)
        assert cp not in seconds, hex(cp)


def test_unclean_rows_flags_everything_nfc_would_change() -> None:
    texts = _random_texts(3000, seed=5)
    arr = pa.array(texts, pa.string())
    flagged = _utf8.unclean_rows(arr)
    for text, flag in zip(texts, flagged):
        if text is not None and not flag:
            assert cleaning.nfc(text) == text, repr(text)


# -- equal to kho.cleaning ------------------------------------------------------------------
def test_nfc_equals_cleaning_on_random_text() -> None:
    texts = _random_texts(3000)
    assert nfc(texts).to_pylist() == [cleaning.nfc(t) for t in texts]


def test_standardize_names_equals_cleaning_on_random_text() -> None:
    texts = _random_texts(3000, seed=2)
    result = standardize_names(texts)
    expected = [cleaning.standardize_name(t) for t in texts]
    assert result.values.to_pylist() == expected
    assert result.reasons.to_pylist() == [None if e else "NAME_MISSING" for e in expected]


def test_has_diacritics_and_fold_equal_cleaning_on_random_text() -> None:
    texts = _random_texts(3000, seed=3)
    assert has_diacritics(texts).to_pylist() == [cleaning.has_diacritics(t) for t in texts]
    folded = fold(texts).to_pylist()
    assert folded == [None if t is None else reference.fold(t) for t in texts]


def test_names_of_the_generator_in_every_form() -> None:
    full = [f"{s} {m} {g}" for (s, _), m, g in zip(source_names.SURNAMES * 3, source_names.MIDDLE_FEMALE * 6,
                                                   source_names.GIVEN_FEMALE * 3)]
    forms = full + [n.upper() for n in full] + [fold_diacritics(n) for n in full] \
        + [unicodedata.normalize("NFD", n) for n in full] + [f"  {n.lower()} " for n in full]
    result = standardize_names(pd_series(forms))
    assert result.values.to_pylist() == [cleaning.standardize_name(t) for t in forms]
    assert has_diacritics(result.values).to_pylist() == [cleaning.has_diacritics(cleaning.standardize_name(t))
                                                         for t in forms]


def pd_series(values: list[str]) -> object:
    import pandas as pd

    return pd.Series(values)


@pytest.mark.parametrize("raw, expected", [
    ("  Hải   Phòng \t", "Hải Phòng"), ("Hải\u00a0\u00a0Phòng", "Hải Phòng"), ("Hải\nPhòng", "Hải Phòng"),
    ("", None), ("   ", None), (None, None), (unicodedata.normalize("NFD", "Thành phố"), "Thành phố"),
])
def test_nfc_cases(raw: str | None, expected: str | None) -> None:
    assert nfc([raw]).to_pylist() == [expected]


def test_inputs_of_other_types() -> None:
    assert nfc(pa.array([12, None])).to_pylist() == ["12", None]
    assert nfc(pa.chunked_array([["a  b"], [" c"]])).to_pylist() == ["a b", "c"]
    assert nfc([]).to_pylist() == []
    assert standardize_names(pa.nulls(2, pa.string())).reasons.to_pylist() == ["NAME_MISSING"] * 2


# -- tone marks and restoration --------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("Hoà Bình", "Hòa Bình"), ("Thuỷ Nguyên", "Thủy Nguyên"), ("Hoàng", "Hoàng"), ("Quý", "Quý"),
    ("HOÀ", "HÒA"), ("Khoẻ", "Khỏe"), ("Hòa", "Hòa"), (None, None),
])
def test_normalize_tone_marks(raw: str | None, expected: str | None) -> None:
    assert normalize_tone_marks([raw]).to_pylist() == [expected]


def test_restore_diacritics_where_unambiguous() -> None:
    names = ["Nguyen Van Hung", "Nguyen Thi Thuy", "Tran Dung", "Tran Dung", "Dang Thi Hong", "Nguyễn Van An",
             "Smith John", None]
    sexes = ["M", "F", "M", "F", "F", "M", "M", None]
    result = restore_diacritics(names, sexes)
    assert result.values.to_pylist() == ["Nguyễn Văn Hùng", "Nguyễn Thị Thuy", "Trần Dũng", "Trần Dung",
                                         "Đặng Thị Hồng", "Nguyễn Văn An", "Smith John", None]
    assert result.reasons.to_pylist() == [None, "NAME_UNACCENTED", None, None, None, None, "NAME_UNACCENTED", None]


def test_restoration_without_sex_leaves_sex_dependent_names() -> None:
    result = restore_diacritics(["Tran Dung"])
    assert result.values.to_pylist() == ["Trần Dung"] and result.reasons.to_pylist() == ["NAME_UNACCENTED"]


def test_restoration_recovers_every_unambiguous_generated_name() -> None:
    dictionary = default_dictionary()
    people = [(f"{s} {m} {g}", sex) for sex, middles, givens in
              (("M", source_names.MIDDLE_MALE, source_names.GIVEN_MALE),
               ("F", source_names.MIDDLE_FEMALE, source_names.GIVEN_FEMALE))
              for (s, _), m, g in zip(source_names.SURNAMES * 4, middles * 8, givens * 3)]
    result = restore_diacritics([fold_diacritics(n) for n, _ in people], [s for _, s in people], dictionary)
    for (name, _), restored, reason in zip(people, result.values.to_pylist(), result.reasons.to_pylist()):
        if reason is None:
            assert restored == name                     # never a wrong spelling
        else:
            assert reference.fold(restored) == reference.fold(name)


def test_dictionary_from_accented_names_uses_the_dominant_spelling() -> None:
    names = ["Nguyễn Văn Hùng"] * 19 + ["Nguyễn Văn Hưng"] + ["Nguyen Van Hung"] * 50
    dictionary = NameDictionary.from_names(names, min_share=0.9)
    assert dictionary.restore("Nguyen Van Hung") == ("Nguyễn Văn Hùng", True)
    strict = NameDictionary.from_names(names, min_share=1.0)
    assert strict.restore("Nguyen Van Hung") == ("Nguyễn Văn Hung", False)
    counted = NameDictionary.from_names(["Nguyễn Văn Hùng", "Nguyễn Văn Hưng"], ["M", "M"], 0.9, weights=[19, 1])
    assert counted.restore("Nguyen Van Hung", "M") == ("Nguyễn Văn Hùng", True)


# -- the buffer splice every fast path uses to write its few fixed rows back ----------------------
@pytest.mark.parametrize("base, rows, values", [
    (["aa", "b", None, "dddd", ""], [0, 3], ["x", None]),
    (["aa", "b", None, "dddd", ""], [2], ["filled"]),
    (["aa", "b", "c"], [0, 1, 2], ["", "", ""]),
    ([None, None, None, None, None, None, None, None, None], [8], ["last"]),
    (["é" * 5] * 10, [1, 9], ["ơ", "Việt Nam"]),
])
def test_replace_rows(base: list[str | None], rows: list[int], values: list[str | None]) -> None:
    import numpy as np

    from kho.standardise._arrow import replace_rows

    out = replace_rows(pa.array(base, pa.string()), np.array(rows), pa.array(values, pa.string()))
    out.validate(full=True)
    expected = list(base)
    for r, v in zip(rows, values):
        expected[r] = v
    assert out.to_pylist() == expected
    sliced = replace_rows(pa.array(["z"] + base, pa.string()).slice(1), np.array(rows), pa.array(values, pa.string()))
    assert sliced.to_pylist() == expected
