"""The gate's reader-like normalisation (envscan.gate.normalise)."""

from __future__ import annotations

import unicodedata

import pytest

from envscan.gate import normalise_text, normalise_words
from envscan.gate import normalise as N


@pytest.mark.parametrize("lo, hi", N._IGNORABLE_RANGES)
def test_every_default_ignorable_code_point_vanishes_inside_a_word(lo, hi):
    for cp in {lo, (lo + hi) // 2, hi}:
        assert normalise_words(f"har{chr(cp)}bour") == ["harbour"], hex(cp)


def test_fillers_and_invisibles_named_in_issue_8():
    for ch in "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\u206a\u206f\ufeff" \
              "\u00ad\u034f\u115f\u1160\u3164\uffa0\ufe00\ufe0f\U000e0001\U000e0041\U000e007f\U000e0100":
        assert normalise_words(f"fer{ch}ry") == ["ferry"], hex(ord(ch))


def test_normalisation_is_idempotent_on_every_confusable():
    for c in N.skeleton_table():
        once = normalise_text(c)
        assert normalise_text(once) == once, hex(ord(c))


def test_confusables_reach_the_latin_letter_they_resemble():
    pairs = {"\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0445": "x",
             "\u03bf": "o", "\u03bd": "v", "\u039d": "n", "\u0397": "h", "\u0391": "a", "\u041d": "h",
             "\u0131": "l", "\u0406": "l", "\u0399": "l", "\u0251": "a", "\u217c": "l",
             "\uff48": "h", "\U0001d41a": "a", "\U0001d5ba": "a", "\U0001d68a": "a", "\u24d0": "a"}
    for src, dst in pairs.items():
        assert normalise_text(src) == dst, (hex(ord(src)), unicodedata.name(src), normalise_text(src))


def test_diacritics_are_folded_both_ways():
    assert normalise_words("café") == normalise_words("cafe\u0301") == normalise_words("cafe") == ["cafe"]
    assert normalise_words("Ångström") == ["angstrorn"]  # m -> rn: the ASCII confusables fold too


def test_ascii_confusables_fold_together():
    assert normalise_words("Harbour Light") == normalise_words("harb0ur 1ight") == normalise_words("HARBOUR LIGHT")
    assert normalise_words("modern") == normalise_words("rnodern")
    # separators stay separators: punctuation is never turned into letters
    assert normalise_words("budget\u2014review | 3\u00d74") == ["budget", "revlew", "3x4"]


def test_data_table_names_its_source():
    from envscan.gate import _confusables

    assert _confusables.VERSION == "13.0.0"
    assert "confusables.txt" in (_confusables.__doc__ or "")
    assert len(N.skeleton_table()) > 6000
