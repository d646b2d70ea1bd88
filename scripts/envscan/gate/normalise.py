"""Reader-like normalisation: the word stream the leak gate compares.

Restricted passages, allow-list entries and every scanned text go through the same function,
so two texts that a reader reads as the same words give the same word list:

1. HTML character references are decoded (``&amp;``, ``&#x200b;``).
2. A soft hyphen right before a line break becomes ``-`` (a rendered hyphenation point);
   then every Default_Ignorable_Code_Point is removed (zero-width space and joiners,
   direction marks, soft hyphen, combining grapheme joiner, the Hangul fillers U+115F,
   U+1160, U+3164 and U+FFA0, variation selectors, the tags block ...; the set of
   DerivedCoreProperties 15.0.0, listed in ``_IGNORABLE_RANGES``).
3. Quote and dash variants become ``'``, ``"`` and ``-``.
4. Compatibility decomposition (NFKD: fullwidth and mathematical letters, ligatures,
   circled and superscript forms become plain letters), then every combining mark is
   dropped (diacritics folded: "café" reads as "cafe", a dropped or added accent changes
   nothing).
5. Confusables are mapped to their UTS #39 prototype (``_confusables.py``: Cyrillic "а",
   Greek "ο" and "Ν", Latin "ɑ" ... become "a", "o", "N"; before case folding, so capital
   look-alikes map to the capital they resemble), then the text is case-folded.  Steps 4-5
   are repeated once for what case folding produced.  A symbol is mapped only when its
   prototype is an ASCII letter or digit; any other character that is not a letter or digit
   becomes a word separator.
6. The ASCII letters and digits that UTS #39 itself treats as confusable are folded
   together: "i", "l", "1" (and "I") -> "l", "0" -> "o", "m" -> "rn".  (So an "I" written
   as Cyrillic "І", or "harbour" written "harb0ur", still match.)
7. Words hyphenated across a line break are rejoined, and the text is split into words
   (maximal runs of letters and digits).

Every step works character by character except 1, 2 (soft hyphen) and 7, so a non-ASCII
character's whole treatment is computed once and cached (``_FOLD``).  ASCII text, the usual
case, takes a bytes fast path.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

from . import _confusables

__all__ = ["normalise_words", "normalise_text", "split_words", "word_variants", "capitalised", "WORD_RE"]

# Default_Ignorable_Code_Point (DerivedCoreProperties-15.0.0.txt), inclusive ranges.
_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def is_ignorable(code: int) -> bool:
    """True for a Default_Ignorable_Code_Point."""
    return any(lo <= code <= hi for lo, hi in _IGNORABLE_RANGES)


_QUOTES_SINGLE = "\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u02bc\u02b9\uff07\u02bb\u02bd"
_QUOTES_DOUBLE = "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\u301d\u301e\uff02"
_DASHES = (
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
    "\u2e3a\u2e3b\ufe31\ufe32\u058a\u2043"
)
_PUNCT_MAP: dict[str, str] = {c: "'" for c in _QUOTES_SINGLE}
_PUNCT_MAP.update({c: '"' for c in _QUOTES_DOUBLE})
_PUNCT_MAP.update({c: "-" for c in _DASHES})

_MARK_CATEGORIES = frozenset({"Mn", "Me"})


@functools.lru_cache(maxsize=1)
def skeleton_table() -> dict[str, str]:
    """Non-ASCII source character -> UTS #39 prototype (NFKD, marks dropped); loaded on
    first use (ASCII text never needs it)."""
    table: dict[str, str] = {}
    for line in _confusables.DATA.splitlines():
        src, _, dst = line.partition(";")
        c = chr(int(src, 16))
        if c.isascii():
            continue  # ASCII-to-ASCII confusables are folded by _ASCII_FOLD instead
        proto = "".join(chr(int(h, 16)) for h in dst.split())
        table[c] = _strip_marks(unicodedata.normalize("NFKD", proto))
    return table


def _strip_marks(s: str) -> str:
    if s.isascii():
        return s
    return "".join(ch for ch in s if unicodedata.category(ch) not in _MARK_CATEGORIES)


def _ascii_alnum(s: str) -> bool:
    return s.isascii() and s.isalnum()


def _fold_round(s: str) -> str:
    """One round of steps 4-5 on a short string."""
    s = _strip_marks(unicodedata.normalize("NFKD", s))
    table = skeleton_table()
    out = []
    for ch in s:
        proto = table.get(ch) if not ch.isascii() else None
        if proto is not None and (ch.isalnum() or _ascii_alnum(proto)):
            ch = proto
        out.append(ch)
    return "".join(out).casefold()


def fold_char(c: str) -> str:
    """Steps 2-6 (except the ASCII fold) for one non-ASCII character."""
    if is_ignorable(ord(c)) or unicodedata.category(c) == "Cf":
        return ""  # also every other format character (U+FFF9 annotation marks, U+0605...): invisible
    if unicodedata.category(c) in ("Zl", "Zp"):
        return " "
    punct = _PUNCT_MAP.get(c)
    if punct is not None:
        return punct
    s = _fold_round(c)
    if not s.isascii():
        s = _fold_round(s)
    if s.isascii():
        return s
    return "".join(ch if ch.isascii() or ch.isalnum() else " " for ch in _strip_marks(s))


class _FoldTable(dict[int, str]):
    """``str.translate`` table for non-ASCII characters, filled on first sight."""

    def __missing__(self, code: int) -> str:
        value = fold_char(chr(code))
        if len(self) > 200_000:  # bounded memory, whatever a file throws at it
            self.clear()
        self[code] = value
        return value


_FOLD = _FoldTable()


def _ascii_fold_table() -> bytes:
    """ASCII: lower case, then the UTS #39 ASCII confusables (I/l/1, 0/O; m/rn apart)."""
    table = bytearray(range(256))
    for b in range(ord("A"), ord("Z") + 1):
        table[b] = b + 32
    for src, dst in (("i", "l"), ("I", "l"), ("1", "l"), ("0", "o"), ("O", "o")):
        table[ord(src)] = ord(dst)
    return bytes(table)


_ASCII_FOLD = _ascii_fold_table()
_SOFT_HYPHEN_EOL_RE = re.compile("\u00ad[ \t]*(?=\r?\n)")
# "exam-\nple" -> "example\n": the newline moves behind the rejoined word so
# that line numbers computed on the normalised text stay right.  (The pattern
# starts with the literal "-" so the regex engine can skip ahead quickly.)
_REJOIN_RE = re.compile(r"-(?<=[^\W_]-)[ \t]*\r?\n[ \t]*([^\W_]+)")
WORD_RE = re.compile(r"[^\W_]+")
_NON_ASCII_RUN_RE = re.compile(r"[^\x00-\x7f]+")
# Word splitting fast path: every ASCII non-alphanumeric becomes a space and
# str.split() does the rest (non-ASCII separators are already spaces).
_ASCII_SEP = {i: " " for i in range(128) if not chr(i).isalnum()}
_ASCII_SEP_BYTES = bytes(32 if i < 128 and not chr(i).isalnum() else i for i in range(256))


def _fold_run(m: re.Match[str]) -> str:
    return str(m.group()).translate(_FOLD)


def _ascii_fold(text: str) -> str:
    """Step 6 (and lower-casing) over a text whose non-ASCII part is already folded; UTF-8
    bytes >= 0x80 pass bytes.translate untouched."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_FOLD).replace(b"m", b"rn").decode("ascii")
    data = text.encode("utf-8", "surrogatepass").translate(_ASCII_FOLD).replace(b"m", b"rn")
    return data.decode("utf-8", "surrogatepass")


def normalise_text(text: str) -> str:
    """Steps 1-6: the text with every character folded; separators other than ASCII
    punctuation and line breaks are spaces."""
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        if "\u00ad" in text:
            text = _SOFT_HYPHEN_EOL_RE.sub("-", text)
        text = _NON_ASCII_RUN_RE.sub(_fold_run, text)
    return _ascii_fold(text)


def rejoin(text: str) -> str:
    """Step 7's rejoining of words hyphenated at a line break (on normalised text)."""
    if "-" not in text:
        return text
    return _REJOIN_RE.sub(r"\1\n", text)


def split_words(text: str) -> list[str]:
    """Words of a *normalised* text; same result as ``WORD_RE.findall`` but about three
    times faster."""
    if text.isascii():
        return text.translate(_ASCII_SEP).split()
    # What non-ASCII is left is letters and digits, whose UTF-8 bytes are all
    # >= 0x80 and pass bytes.translate untouched (much faster than
    # str.translate on wide strings).
    return text.encode("utf-8", "surrogatepass").translate(_ASCII_SEP_BYTES).decode(
        "utf-8", "surrogatepass").split()


def normalise_words(text: str) -> list[str]:
    """Normalise ``text`` (see the module docstring) and split it into words.  The same
    function is used for restricted and scanned text."""
    return split_words(rejoin(normalise_text(text)))


def word_variants(text: str) -> list[str]:
    """Normalised texts to tokenise: with hyphenated line breaks rejoined and, when the
    text has any, also with them split (a compound such as "well-known" broken at its own
    hyphen must still match)."""
    pre = normalise_text(text)
    joined = rejoin(pre)
    if joined == pre:
        return [pre]
    return [joined, pre]


def capitalised(text: str, words: list[str]) -> list[bool]:
    """For ``words`` (the normalised words of ``text``), whether each stood in ``text`` with
    a capital first letter.  When the words cannot be aligned with ``text``'s
    whitespace-separated tokens (a hyphenation was rejoined), every word counts as
    capitalised."""
    flags: list[bool] = []
    seen: list[str] = []
    for token in text.split():
        letters = [ch for ch in unicodedata.normalize("NFKC", token) if ch.isalpha()]
        cap = bool(letters) and letters[0].isupper()
        for w in normalise_words(token):
            seen.append(w)
            flags.append(cap)
    return flags if seen == words else [True] * len(words)
