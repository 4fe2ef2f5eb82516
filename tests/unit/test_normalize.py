"""Plate and pattern normalization, OCR skeletons (contract section 6)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.normalize import LOOKALIKES, normalize_pattern, normalize_plate, skeleton


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("1-abc-123", "1ABC123", id="contract-example"),
        pytest.param("AB 123 CD", "AB123CD", id="spaces"),
        pytest.param("b-ab 1234", "BAB1234", id="german-separators"),
        pytest.param("AB·123·CD", "AB123CD", id="middle-dots"),
        pytest.param("ab_12.3/x", "AB123X", id="punctuation"),
        pytest.param("ÀÉÎÕÜ", "AEIOU", id="latin-accents"),
        pytest.param("ç ñ ø", "CNØ", id="cedilla-tilde-dropped-slashed-o-kept"),
        pytest.param("АВЕКМНОРСТУХ", "ABEKMHOPCTYX", id="cyrillic-capitals"),
        pytest.param("авекмнорстух", "ABEKMHOPCTYX", id="cyrillic-lower"),
        pytest.param("ІЈЅ", "IJS", id="cyrillic-i-je-dze"),
        pytest.param("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", id="greek-capitals"),
        pytest.param("αβεζηικμνοτυχ", "ABEZHIKMNOTYX", id="greek-lower"),
        pytest.param("Ё", "E", id="cyrillic-with-diaeresis"),
        pytest.param("ЖЩ", "ЖЩ", id="cyrillic-without-latin-lookalike-kept"),
        pytest.param("жщ 12", "ЖЩ12", id="cyrillic-without-lookalike-upper-cased"),
        pytest.param("Вж", "BЖ", id="cyrillic-lookalike-mapped-other-kept"),
        pytest.param("กข 1234", "กข1234", id="thai-contract-example"),
        pytest.param("กข-1234", "กข1234", id="thai-separator"),
        pytest.param("ก่ข 1", "กข1", id="thai-tone-mark-dropped"),
        pytest.param("ب ت ٣٤٥", "بت٣٤٥", id="arabic-letters-and-digits-kept"),
        pytest.param("京A·12345", "京A12345", id="chinese-province"),
        pytest.param(
            "서울 12가 3456",
            unicodedata.normalize("NFKD", "서울12가3456"),
            id="korean-hangul-as-nfkd-jamo",
        ),
        pytest.param("αβ★ж", "ABЖ", id="symbol-removed"),
        pytest.param("１２３ＡＢ", "123AB", id="fullwidth"),
        pytest.param("ᾳ123", "A123", id="greek-iota-subscript-is-a-mark-not-an-I"),
        pytest.param("ῼ1", "Ω1", id="greek-capital-with-prosgegrammeni"),
        pytest.param("", "", id="empty"),
        pytest.param("---", "", id="only-separators"),
    ],
)
def test_normalize_plate(raw: str, expected: str) -> None:
    assert normalize_plate(raw) == expected


@pytest.mark.parametrize(
    ("plate", "expected"),
    [
        pytest.param("0ODQ", "0000", id="zero-class"),
        pytest.param("1I", "11", id="one-class"),
        pytest.param("2Z5S6G8B", "22556688", id="other-classes"),
        pytest.param("ACEF347", "ACEF347", id="no-class"),
    ],
)
def test_skeleton(plate: str, expected: str) -> None:
    assert skeleton(plate) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("1-AB*", "1AB*", id="contract-example"),
        pytest.param("ab?-12?", "AB?12?", id="question-marks-kept"),
        pytest.param("**AB**12***", "*AB*12*", id="star-runs-collapse"),
        pytest.param("Ав?", "AB?", id="cyrillic"),
    ],
)
def test_normalize_pattern(raw: str, expected: str) -> None:
    assert normalize_pattern(raw) == expected


@given(st.text())
def test_normalize_plate_is_idempotent(raw: str) -> None:
    once = normalize_plate(raw)
    assert normalize_plate(once) == once
    assert all(ch.isalnum() and ch == ch.upper() for ch in once)


@given(st.text(alphabet="กขคงจฉชซABC0123456789 -", max_size=12))
def test_a_non_latin_plate_never_collapses_into_a_shorter_latin_one(raw: str) -> None:
    norm = normalize_plate(raw)
    kept = [ch for ch in raw if ch not in " -"]
    assert len(norm) == len(kept)


@given(st.text())
def test_normalize_pattern_is_idempotent(raw: str) -> None:
    once = normalize_pattern(raw)
    assert normalize_pattern(once) == once


@given(st.text(alphabet="0ODQ1I2Z5S6G8BAXY", max_size=16))
def test_skeleton_is_idempotent(plate: str) -> None:
    assert skeleton(skeleton(plate)) == skeleton(plate)


def _in_contract_order(raw: str) -> str:
    """Section 6 step by step: NFKD, combining marks dropped, upper case, look-alikes mapped,
    only letters and digits kept."""
    marks_dropped = "".join(
        ch for ch in unicodedata.normalize("NFKD", raw) if unicodedata.category(ch)[0] != "M"
    )
    upper = unicodedata.normalize("NFKD", marks_dropped.upper())
    mapped = upper.translate(str.maketrans(LOOKALIKES))
    return "".join(
        ch
        for ch in mapped
        if (ch.isascii() and ch.isalnum())
        or (not ch.isascii() and unicodedata.category(ch) in {"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"})
    )


def test_every_code_point_normalizes_as_the_contract_says() -> None:
    differ = [
        f"U+{cp:04X}"
        for cp in range(0x80, 0x30000)
        if not 0xD800 <= cp <= 0xDFFF
        and normalize_plate(chr(cp) + "1") != _in_contract_order(chr(cp) + "1")
    ]
    assert differ == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("ＡＢＣ＊", "ABC*", id="fullwidth-star"),
        pytest.param("ａｂ１２３？", "AB123?", id="fullwidth-question-mark"),
        pytest.param("ABC﹡", "ABC*", id="small-asterisk"),
        pytest.param("ABC﹖12", "ABC?12", id="small-question-mark"),
        pytest.param("AB1⁇", "AB1??", id="double-question-mark"),
    ],
)
def test_a_wildcard_typed_in_a_compatibility_form_stays_a_wildcard(raw: str, expected: str) -> None:
    """Section 6: a pattern's `?` and `*` are wildcards, "its other characters normalized like a
    plate" (NFKD first). `＊` is `*` under NFKD: dropping it as a symbol turned the prefix
    pattern `ＡＢＣ＊` (an IME in full-width mode) into the literal plate `ABC`, accepted
    without a word and matching none of the plates meant."""
    assert normalize_pattern(raw) == expected
