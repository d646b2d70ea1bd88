"""Leak gate: scan every output file of the public edition for restricted text.

The gate is deliberately self-contained (stdlib only, plus ``pypdf`` for PDF
files, imported lazily) and *fails closed*: anything it cannot read is itself
reported as a finding.  Nothing here prints, and bad input files never raise;
problems come back as :class:`Finding` objects.

Matching works on a normalised word stream (see :func:`normalise_words`):

* restricted passages with at least ``n`` words are fingerprinted as the set
  of all their word ``n``-grams; a scanned document hits a passage when any of
  its own ``n``-grams is in that set;
* shorter passages (names, headings, labels) must appear as the exact word
  sequence, on word boundaries ("port" never hits "report").

Findings identify a passage by its opaque id and source origin only; the
restricted text itself never appears in a finding (a file or folder whose
*name* is restricted is shown as ``<name withheld: R..>``).

Markup is read with a regex tokenizer rather than ``html.parser``: it makes
the same text/attribute/comment/script decisions (a differential test checks
this) but html.parser alone costs ~0.3 s per MB, more than the whole budget.
"""

from __future__ import annotations  # noqa

import base64
import html
import io
import json
import logging
import os
import re
import stat
import struct
import unicodedata
import urllib.parse
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

__all__ = ["Restricted", "Finding", "Gate", "normalise_words"]

# pypdf reports malformed input through ``logging``; without a handler the
# lastResort handler would print it.  A NullHandler keeps the gate silent while
# still letting an application that configures logging see the records.
logging.getLogger("pypdf").addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Restricted:
    """One restricted passage (plain text, Markdown already stripped)."""

    id: str
    text: str
    origin: str
    marking: str


@dataclass(frozen=True)
class Finding:
    """One reason to fail the build.

    ``kind`` is ``"fingerprint"`` (shared word n-gram), ``"exact"`` (short item
    found as an exact word sequence), ``"symlink"`` (a symbolic link in the
    scanned tree) or ``"unreadable"`` (a file, or part of one, that could not
    be read and so could not be cleared).  For the last two, ``restricted_id``
    and ``origin`` are empty.
    """

    restricted_id: str
    origin: str
    location: str
    kind: str


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------

_QUOTES_SINGLE = "\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u02bc\u02b9\uff07"
_QUOTES_DOUBLE = "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\u301d\u301e\uff02"
_DASHES = (
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
    "\u2e3a\u2e3b\ufe31\ufe32\u058a\u2043"
)
_PUNCT_MAP = {c: "'" for c in _QUOTES_SINGLE}
_PUNCT_MAP.update({c: '"' for c in _QUOTES_DOUBLE})
_PUNCT_MAP.update({c: "-" for c in _DASHES})
_PUNCT_RE = re.compile("[%s]" % re.escape("".join(_PUNCT_MAP)))

# Invisible format characters: soft hyphen, zero-width space/joiners, word
# joiner, BOM, direction marks and embeddings, invisible operators, variation
# selectors, Mongolian vowel separator, combining grapheme joiner, tag chars.
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufe00-\ufe0f\ufeff\U000e0000-\U000e007f]"
)
# A soft hyphen right before a line break was a rendered hyphenation point.
_SOFT_HYPHEN_EOL_RE = re.compile("\u00ad[ \t]*(?=\r?\n)")
# "exam-\nple" -> "example\n": the newline moves behind the rejoined word so
# that line numbers computed on the normalised text stay right.  (The pattern
# starts with the literal "-" so the regex engine can skip ahead quickly.)
_REJOIN_RE = re.compile(r"-(?<=[^\W_]-)[ \t]*\r?\n[ \t]*([^\W_]+)")
_WORD_RE = re.compile(r"[^\W_]+")
# Word splitting fast path: every ASCII non-alphanumeric becomes a space and
# str.split() does the rest (non-ASCII separators are already spaces).
_ASCII_SEP = {i: " " for i in range(128) if not chr(i).isalnum()}
_ASCII_SEP_BYTES = bytes(32 if i < 128 and not chr(i).isalnum() else i for i in range(256))
_NON_ASCII_SEP_RE = re.compile(r"[^\w\x00-\x7f]+")
_NON_ASCII_RUN_RE = re.compile(r"[^\x00-\x7f]+")
# Combining marks that can attach to an ASCII letter (NFKC then composes the
# two, so such text is normalised as a whole rather than run by run).
_COMBINING_RE = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _split_words(text: str) -> list[str]:
    """Words of a *prenormalised* text; same result as ``_WORD_RE.findall``
    but about three times faster."""
    if text.isascii():
        return text.translate(_ASCII_SEP).split()
    # What non-ASCII is left is letters and digits, whose UTF-8 bytes are all
    # >= 0x80 and pass bytes.translate untouched (much faster than
    # str.translate on wide strings).
    return text.encode("utf-8", "surrogatepass").translate(_ASCII_SEP_BYTES).decode(
        "utf-8", "surrogatepass").split()


def _normalise_non_ascii(text: str) -> str:
    text = _INVISIBLE_RE.sub("", text)
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = _PUNCT_RE.sub(lambda m: _PUNCT_MAP[m.group()], text)
        text = _NON_ASCII_SEP_RE.sub(" ", text)
    return text


def _normalise_run(m: re.Match) -> str:
    return _normalise_non_ascii(m.group())


def _prenormalise(text: str) -> str:
    """Everything except the hyphenation rejoin and the split into words;
    non-ASCII separators come out as spaces."""
    if "&" in text:
        text = html.unescape(text)
    if text.isascii():
        return text.lower()
    if "\u00ad" in text:
        text = _SOFT_HYPHEN_EOL_RE.sub("-", text)
    extra = len(text.encode("utf-8", "surrogatepass")) - len(text)
    if extra * 16 > len(text) or _COMBINING_RE.search(text):
        return _normalise_non_ascii(text)
    # Mostly ASCII (the usual case): normalise only the non-ASCII runs and
    # lower-case the ASCII letters byte-wise, several times faster.
    text = _NON_ASCII_RUN_RE.sub(_normalise_run, text)
    return text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


def _rejoin(text: str) -> str:
    if "-" not in text:
        return text
    return _REJOIN_RE.sub(r"\1\n", text)


def normalise_words(text: str) -> list[str]:
    """Normalise ``text`` and split it into words.

    HTML entities are unescaped; soft hyphens and zero-width/format characters
    are removed; NFKC and case folding are applied; quote and dash variants
    are mapped to ``'``, ``"`` and ``-``; words hyphenated across a line break
    are rejoined; the result is split on anything that is not a letter or a
    digit.  The same function is used for restricted and scanned text.
    """
    return _split_words(_rejoin(_prenormalise(text)))


def _word_variants(text: str) -> list[str]:
    """Normalised texts to tokenise: with hyphenated line breaks rejoined and,
    when the text has any, also with them split (a compound such as
    "well-known" broken at its own hyphen must still match)."""
    pre = _prenormalise(text)
    joined = _rejoin(pre)
    if joined == pre:
        return [pre]
    return [joined, pre]


# --------------------------------------------------------------------------
# Markup extraction
# --------------------------------------------------------------------------
#
# A regex tokenizer in the spirit of html.parser (equally tolerant, same
# decisions about what is text, attribute, comment, script or style), but an
# order of magnitude faster: html.parser spends ~0.3 s per MB in Python code.

# Phrasing elements: a tag boundary of one of these does not separate words
# ("bud<em>get</em>" renders as one word).  Every other tag does.
_INLINE_TAGS = frozenset(
    """a abbr acronym b bdi bdo big cite code data del dfn em font i ins kbd
    mark nobr q rp rt ruby s samp small span strike strong sub sup time tt u
    var wbr tspan""".split()
)
_TAG_BODY = r"""[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*"""
# Comments, raw-text elements and CDATA, in document order (a "<!--" inside a
# script is not a comment, a "</script>" inside a comment ends nothing).
_BLOCKS_RE = re.compile(
    r"<!--(?P<comment>.*?)(?:--!?>|\Z)"
    r"|<(?P<raw>script|style)(?=[\s/>])" + _TAG_BODY + r">(?P<rawtext>.*?)(?:</(?P=raw)\s*>|\Z)"
    r"|<!\[CDATA\[(?P<cdata>.*?)(?:\]\]>|\Z)",
    re.S | re.I,
)
_COMMENT_RE = re.compile(r"<!--.*?(?:--!?>|\Z)", re.S)
_OPEN_TAG_RE = re.compile(r"<[A-Za-z][^\s/>]*" + _TAG_BODY + ">")


def _trie_regex(words: Iterable[str]) -> str:
    """Alternation factored by common prefixes (much faster to match)."""
    trie: dict = {}
    for w in words:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [re.escape(c) + emit(sub) if c else "" for c, sub in sorted(node.items())]
        optional = "" in alts
        alts = [a for a in alts if a]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:%s)" % "|".join(alts)
        return "(?:%s)?" % body if optional else body

    return emit(trie)


_INLINE_TAG_RE = re.compile(
    r"</?%s(?=[\s/>])%s>" % (_trie_regex(_INLINE_TAGS), _TAG_BODY), re.I
)
_ANY_TAG_RE = re.compile(r"</?[A-Za-z][^\s/>]*" + _TAG_BODY + r">|<![^>]*>|<\?.*?(?:\?>|>)", re.S)
_ATTR_RE = re.compile(
    r"""([^\s"'<>/=]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))"""
)
_ATTR_VALUE_RE = re.compile(r"""=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+)""")
_LOOKS_LIKE_MARKUP_RE = re.compile(r"<[A-Za-z/!?]")
_DECL_RE = re.compile(r"<!(?!--|\[CDATA\[)[^>]*>|<\?.*?\??>", re.S)


def _keep_newlines(m: re.Match) -> str:
    return "\n" * m.group().count("\n") or " "


def _keep_newlines_only(m: re.Match) -> str:
    return "\n" * m.group().count("\n")


def _strip_tags(text: str) -> str:
    """Text view of markup held in a string (search index, attribute value,
    CDATA): inline tags vanish, every other tag becomes a separator."""
    if "<!--" in text:
        text = _COMMENT_RE.sub(" ", text)
    text = _INLINE_TAG_RE.sub("", text)
    return _ANY_TAG_RE.sub(" ", text)


# --------------------------------------------------------------------------
# Segments: what to scan in a file
# --------------------------------------------------------------------------


class _Segment(NamedTuple):
    label: str  # location without line number, e.g. "index.html (attribute title)"
    text: str
    lines: bool = False  # append ":LINE" of the first hit to the location
    fallback: bool = False  # report only passages not found elsewhere in the file
    # On a hit, finer segments that say where exactly (e.g. which attribute).
    refine: Callable[[], list[_Segment]] | None = None


class _Problem(NamedTuple):
    location: str
    kind: str


_SEP = "\n\n"  # between independent strings: never rejoined, never one word

_MARKUP_EXT = {".html", ".htm", ".xhtml", ".shtml", ".xml", ".svg", ".rss",
               ".atom", ".opf", ".ncx", ".xsl", ".xslt", ".kml", ".plist"}
_JSON_EXT = {".json", ".webmanifest", ".geojson", ".ipynb", ".jsonld", ".map"}
_SCRIPT_EXT = {".js", ".mjs", ".cjs", ".ts"}
_MD_EXT = {".md", ".markdown", ".mdown", ".mkd"}
_TEXT_EXT = {".css", ".txt", ".yml", ".yaml", ".csv", ".tsv", ".toml", ".ini",
             ".cfg", ".conf", ".rst", ".tex", ".bib", ".log", ".scss", ".sass",
             ".less", ".htaccess", ".py", ".sh", ".ris", ".vtt", ".srt"}
_ZIP_EXT = {".zip", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp",
            ".epub", ".jar", ".whl"}
_BINARY_EXT = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".ico",
               ".bmp", ".tif", ".tiff", ".heic", ".woff", ".woff2", ".ttf",
               ".otf", ".eot", ".mp3", ".mp4", ".webm", ".ogg", ".wav"}

_MAX_INFLATE = 256 * 1024 * 1024  # decompressed-size cap (compression bombs)
_MAX_DEPTH = 4  # nesting of archives / compressed files

_ESCAPE_RE = re.compile(
    r"\\(u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{1,3}|[\s\S])"
)
_HAS_ESCAPE_RE = re.compile(r"\\(?:u[0-9a-fA-F{]|x[0-9a-fA-F]|[nrtbfv0-7'\"`/\\])")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_PERCENT_RE = re.compile(r"%[0-9A-Fa-f]{2}")
# base64 data: URIs (inline images, fonts, documents) are scanned as files.
_DATA_URI_RE = re.compile(
    r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[^;,\s\"']*)*);base64,([A-Za-z0-9+/=\s]{8,}|(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9+/=])+)",
    re.I,
)
_MIME_EXT = {"image/svg+xml": ".svg", "text/html": ".html", "application/json": ".json",
             "application/pdf": ".pdf", "text/plain": ".txt", "text/css": ".css",
             "application/xml": ".xml", "text/xml": ".xml", "image/png": ".png",
             "application/javascript": ".js", "text/javascript": ".js"}
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f",
                   "v": "\v", "\n": "", "\r": ""}


def _escape_repl(m: re.Match) -> str:
    e = m.group(1)
    c = e[0]
    if c == "u":
        code = int(e[2:-1] if e[1] == "{" else e[1:], 16)
        return chr(code) if code <= 0x10FFFF else ""
    if c == "x":
        return chr(int(e[1:], 16))
    if c in "01234567":
        return chr(int(e, 8))
    return _SIMPLE_ESCAPES.get(c, c)


def _unescape_backslashes(text: str) -> str:
    """Decode JavaScript/JSON string escapes anywhere in ``text``."""
    if "\\u{" not in text:
        # Fast path in C: Python's escape syntax covers JSON's and nearly all
        # of JavaScript's (it raises on anything it does not understand).
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
        except UnicodeDecodeError:
            pass
        else:
            if _SURROGATE_RE.search(out):
                out = out.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return out
    out = _ESCAPE_RE.sub(_escape_repl, text)
    # Recombine surrogate pairs written as two \\uXXXX escapes.
    return out.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _decode(data: bytes) -> tuple[str, bool]:
    """Decode bytes as text; returns (text, decoded_cleanly)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), True
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), False


def _text_segments(label: str, text: str, lines: bool) -> list[_Segment]:
    """Raw text, plus decoded views when it holds string or URL escapes."""
    segs = [_Segment(label, text, lines)]
    if "\\" in text and _HAS_ESCAPE_RE.search(text):
        segs.append(_Segment(label, _unescape_backslashes(text)))
    if "%" in text and _PERCENT_RE.search(text):
        segs.append(_Segment(label, urllib.parse.unquote(text, errors="replace")))
    return segs


def _markdown_view(text: str) -> str:
    """Markdown with link targets, footnote markers, attribute lists and
    inline HTML removed, newlines kept (so line numbers stay right)."""
    text = re.sub(r"\]\([^)\n]*\)", "]", text)  # [text](target) -> [text]
    text = re.sub(r"\]\[[^\]\n]*\]", "]", text)  # [text][ref] -> [text]
    text = re.sub(r"\[\^[^\]\n]*\]", "", text)  # footnote markers
    text = re.sub(r"\{[:#.][^}\n]*\}", "", text)  # attribute lists
    text = _INLINE_TAG_RE.sub(_keep_newlines_only, text)
    return _ANY_TAG_RE.sub(_keep_newlines, text)


def _with_markup_view(text: str) -> str:
    """``text``, plus its tag-stripped view when it holds markup and its
    percent-decoded view when it holds URL escapes."""
    if "<" in text and _LOOKS_LIKE_MARKUP_RE.search(text):
        text = text + _SEP + _strip_tags(text)
    return _with_url_view(text)


def _attribute_view(values: str) -> str:
    """Attribute values as the browser sees them (entities decoded), so that
    markup they carry (``srcdoc``, tooltips) gets its text view too."""
    if "&" in values:
        values = html.unescape(values)
    return _with_markup_view(values)


def _with_url_view(text: str) -> str:
    if "%" in text and _PERCENT_RE.search(text):
        return text + _SEP + urllib.parse.unquote(text, errors="replace")
    return text


def _markup_segments(label: str, text: str) -> list[_Segment]:
    """HTML/XML/SVG: rendered text, every attribute value, comments, script
    and style content, CDATA sections."""
    other: dict[str, list[str]] = {}
    pieces: list[str] = []
    pos = 0
    for m in _BLOCKS_RE.finditer(text):
        pieces.append(text[pos:m.start()])
        raw = m.group("raw")
        if raw:
            pieces.append(text[m.start():m.start("rawtext")])  # keep the open tag
            other.setdefault(raw.lower(), []).append(m.group("rawtext"))
        elif m.group("comment") is not None:
            other.setdefault("comment", []).append(m.group("comment"))
        else:
            other.setdefault("cdata", []).append(m.group("cdata"))
        pieces.append(" ")
        pos = m.end()
    body = "".join(pieces) + text[pos:] if pieces else text

    segs = [_Segment(label, _ANY_TAG_RE.sub(" ", _INLINE_TAG_RE.sub("", body)))]
    if "<!" in body or "<?" in body:
        decls = _DECL_RE.findall(body)
        if decls:
            segs.append(_Segment(f"{label} (declaration)", _SEP.join(decls)))

    tags = "\n".join(_OPEN_TAG_RE.findall(body))
    if "=" in tags:

        def per_attribute(tags: str = tags) -> list[_Segment]:
            groups: dict[str, list[str]] = {}
            for name, v1, v2, v3 in _ATTR_RE.findall(tags):
                groups.setdefault(name.lower(), []).append(v1 or v2 or v3)
            return [
                _Segment(f"{label} (attribute {name})", _attribute_view(_SEP.join(values)))
                for name, values in groups.items()
            ]

        values = _SEP.join(_ATTR_VALUE_RE.findall(tags))
        segs.append(_Segment(f"{label} (attributes)", _attribute_view(values), refine=per_attribute))

    for what, values in other.items():
        joined = _SEP.join(values)
        sub = f"{label} ({what})"
        if what == "style":
            segs.append(_Segment(sub, joined))
            continue
        if what == "comment":
            segs.append(_Segment(sub, _with_markup_view(joined)))
            continue
        # script, CDATA: string escapes, and markup held in templates/strings
        segs.extend(_text_segments(sub, joined, False))
        if "<" in joined and _LOOKS_LIKE_MARKUP_RE.search(joined):
            segs.append(_Segment(sub, _strip_tags(joined)))
    return segs


def _json_strings(obj) -> list[str]:
    """Every string, keys included, in document order.  Objects arrive as
    lists of (key, value) pairs so that duplicate keys are not lost."""
    out: list[str] = []
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, str):
            out.append(o)
        elif isinstance(o, (list, tuple)):
            stack.extend(reversed(o))
    return out


def _json_segments(label: str, text: str) -> list[_Segment]:
    try:
        obj = json.loads(text, object_pairs_hook=list)
    except (ValueError, RecursionError):
        return _text_segments(label, text, True)
    joined = _SEP.join(_json_strings(obj))
    segs = [_Segment(label, joined)]
    if "<" in joined and _LOOKS_LIKE_MARKUP_RE.search(joined):
        segs.append(_Segment(label, _strip_tags(joined)))
    return segs


# -- binaries ---------------------------------------------------------------

_UTF8_RUN_RE = re.compile(
    rb"(?:[\x09\x0a\x0d\x20-\x7e]|[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
    rb"|[\xf0-\xf4][\x80-\xbf]{3}){4,}"
)
_UTF16LE_RUN_RE = re.compile(rb"(?:[\x09\x0a\x0d\x20-\x7e\xa0-\xff]\x00|[\x10-\x2f]\x20){4,}")
_UTF16BE_RUN_RE = re.compile(rb"(?:\x00[\x09\x0a\x0d\x20-\x7e\xa0-\xff]|\x20[\x10-\x2f]){4,}")


def _strings(data: bytes) -> str:
    """Printable UTF-8/ASCII and UTF-16 (LE and BE) runs of >= 4 characters,
    like ``strings``."""
    runs = [m.decode("utf-8", "replace") for m in _UTF8_RUN_RE.findall(data)]
    for rx, enc in ((_UTF16LE_RUN_RE, "utf-16-le"), (_UTF16BE_RUN_RE, "utf-16-be")):
        for m in rx.finditer(data):
            b = m.group()
            runs.append(b[: len(b) // 2 * 2].decode(enc, "replace"))
    return _SEP.join(runs)


def _inflate(data: bytes, wbits: int = zlib.MAX_WBITS) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, _MAX_INFLATE)
    if d.unconsumed_tail:
        raise ValueError("decompressed data too large")
    return out


def _png_texts(data: bytes) -> list[str]:
    """tEXt/zTXt/iTXt chunks of a PNG (zTXt and compressed iTXt are zlib
    streams that ``strings`` cannot see)."""
    out: list[str] = []
    pos = 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b"zTXt":
            key, _, rest = body.partition(b"\0")
            out.append(key.decode("latin-1") + "\n" + _inflate(rest[1:]).decode("latin-1"))
        elif ctype == b"iTXt":
            key, _, rest = body.partition(b"\0")
            flag, rest = rest[:1], rest[2:]
            lang, _, rest = rest.partition(b"\0")
            tkey, _, text = rest.partition(b"\0")
            if flag == b"\x01":
                text = _inflate(text)
            out.append("\n".join(x.decode("utf-8", "replace") for x in (key, lang, tkey, text)))
        elif ctype == b"tEXt":
            out.append(body.replace(b"\0", b"\n").decode("latin-1"))
        elif ctype == b"IEND":
            break
    return out


def _woff_tables(data: bytes) -> bytes:
    """Decompressed table data of a WOFF 1 font (name table, etc.)."""
    num = struct.unpack(">H", data[12:14])[0]
    parts = []
    for i in range(num):
        _tag, off, comp, orig, _ck = struct.unpack(">4sIIII", data[44 + 20 * i:64 + 20 * i])
        blob = data[off:off + comp]
        parts.append(_inflate(blob) if comp < orig else blob)
    return b"".join(parts)


def _woff2_tables(data: bytes) -> bytes | None:
    """Decompressed table stream of a WOFF 2 font, if brotli is available."""
    try:
        import brotli  # type: ignore[import-not-found]
    except ImportError:
        return None
    flavor, _len, num = struct.unpack(">4sIH", data[4:14])
    total_comp = struct.unpack(">I", data[20:24])[0]
    pos = 48

    def base128() -> int:
        nonlocal pos
        val = 0
        for _ in range(5):
            b = data[pos]
            pos += 1
            val = (val << 7) | (b & 0x7F)
            if not b & 0x80:
                return val
        raise ValueError("bad UIntBase128")

    for _ in range(num):
        flags = data[pos]
        pos += 1
        tag_idx = flags & 0x3F
        if tag_idx == 63:
            pos += 4
        version = flags >> 6
        base128()
        if (tag_idx in (10, 11) and version == 0) or (tag_idx not in (10, 11) and version != 0):
            base128()  # transformLength
    if flavor == b"ttcf":
        raise ValueError("WOFF2 collections not supported")
    return brotli.decompress(data[pos:pos + total_comp])


def _binary_segments(label: str, data: bytes) -> tuple[list[_Segment], list[_Problem]]:
    segs = [_Segment(label, _strings(data))]
    extra: list[str] = []
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            extra.extend(_png_texts(data))
        elif data.startswith(b"wOFF"):
            extra.append(_strings(_woff_tables(data)))
        elif data.startswith(b"wOF2"):
            tables = _woff2_tables(data)
            if tables is not None:
                extra.append(_strings(tables))
    except Exception:
        # A corrupt compressed chunk: the plain strings were still scanned,
        # but what the chunk holds could not be cleared.
        return segs, [_Problem(f"{label} (embedded data)", "unreadable")]
    if extra:
        segs.append(_Segment(f"{label} (embedded text)", _SEP.join(extra)))
    return segs, []


# -- PDF -------------------------------------------------------------------

_PDF_REPEAT_RE = re.compile(r"\d+")
_PDF_PAGE_NO_RE = re.compile(r"^\s*(?:page\s+)?(?:\d+|[ivxlcdm]+)(?:\s*(?:/|of)\s*\d+)?\s*$", re.I)


def _pdf_join_pages(pages: list[str]) -> str:
    """Pages joined into one text with running headers/footers and page
    numbers dropped, so a passage broken by a page break is still whole."""
    counts: dict[str, int] = {}
    for t in pages:
        ls = [l.strip() for l in t.splitlines() if l.strip()]
        for key in {_PDF_REPEAT_RE.sub("#", l) for l in ls[:3] + ls[-3:]}:
            counts[key] = counts.get(key, 0) + 1
    threshold = max(2, int(len(pages) * 0.4))
    out = []
    for t in pages:
        ls = [l for l in t.splitlines() if l.strip()]
        drop = set(range(min(3, len(ls)))) | set(range(max(0, len(ls) - 3), len(ls)))
        keep = [
            l for i, l in enumerate(ls)
            if not (i in drop and (counts.get(_PDF_REPEAT_RE.sub("#", l.strip()), 0) >= threshold
                                   or _PDF_PAGE_NO_RE.match(l)))
        ]
        out.append("\n".join(keep))
    return "\n".join(out)


def _pdf_strings(obj, out: list[str], seen: set, skip_keys: frozenset = frozenset()) -> None:
    """All string objects (and dictionary keys / name values) reachable from
    ``obj``; stream contents are not decoded."""
    from pypdf.generic import (ArrayObject, DictionaryObject, IndirectObject,
                               NameObject, TextStringObject, ByteStringObject)

    stack = [(obj, 0)]
    while stack:
        o, d = stack.pop()
        if d > 200:
            continue
        if isinstance(o, IndirectObject):
            key = (o.idnum, o.generation)
            if key in seen:
                continue
            seen.add(key)
            try:
                o = o.get_object()
            except Exception:
                continue
        if isinstance(o, TextStringObject):
            out.append(str(o))
        elif isinstance(o, ByteStringObject):
            out.append(bytes(o).decode("latin-1"))
        elif isinstance(o, NameObject):
            out.append(str(o)[1:])
        elif isinstance(o, DictionaryObject):
            for k, v in o.items():
                if k in skip_keys:
                    continue
                out.append(str(k)[1:])
                stack.append((v, d + 1))
        elif isinstance(o, ArrayObject):
            stack.extend((v, d + 1) for v in o)
        elif isinstance(o, str):
            out.append(o)


def _poppler_pages(data: bytes, n_pages: int) -> list[str] | None:
    """Page texts by poppler's ``pdftotext`` when it is installed (about 25x faster than
    pypdf's pure-Python extraction); None, and pypdf is used, when it is missing or disagrees
    on the page count."""
    import shutil
    import subprocess

    exe = shutil.which("pdftotext")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "-q", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    pages = out.stdout.decode("utf-8", "replace").split("\f")
    if pages and pages[-1].strip() == "":
        pages = pages[:-1]
    return pages if len(pages) == n_pages else None


def _pdf_segments(label: str, data: bytes):
    segs: list[_Segment] = []
    problems: list[_Problem] = []
    children: list[tuple[str, str, bytes]] = []
    try:
        import pypdf
    except ImportError:
        return segs, [_Problem(f"{label} (pypdf not installed)", "unreadable")], children

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                return segs, [_Problem(f"{label} (encrypted)", "unreadable")], children
            pages = list(reader.pages)
        except Exception:
            return segs, [_Problem(label, "unreadable")], children

        texts: list[str] = []
        fast = _poppler_pages(data, len(pages))
        for i, page in enumerate(pages, 1):
            if fast is not None:
                t = fast[i - 1]
            else:
                try:
                    t = page.extract_text() or ""
                except Exception:
                    problems.append(_Problem(f"{label} (page {i})", "unreadable"))
                    t = ""
            texts.append(t)
            segs.append(_Segment(f"{label} (page {i})", t))
            try:
                annots = page.get("/Annots")
                if annots is not None:
                    out: list[str] = []
                    _pdf_strings(annots, out, set(), frozenset({"/P", "/Parent", "/Popup", "/IRT"}))
                    if out:
                        segs.append(_Segment(f"{label} (annotations page {i})", _SEP.join(out)))
            except Exception:
                problems.append(_Problem(f"{label} (annotations page {i})", "unreadable"))
        if len(texts) > 1:
            segs.append(_Segment(f"{label} (text across pages)", _pdf_join_pages(texts), fallback=True))

        # Document information dictionary, one location per key.
        try:
            info = reader.trailer.get("/Info")
            info = info.get_object() if info is not None else None
            if info is not None:
                for key, value in info.items():
                    out = []
                    _pdf_strings(value, out, set())
                    segs.append(_Segment(f"{label} (metadata {key})", _SEP.join(out)))
        except Exception:
            problems.append(_Problem(f"{label} (metadata)", "unreadable"))

        # XMP metadata streams: the catalogue's and any other /Type /Metadata.
        try:
            root = reader.trailer["/Root"].get_object()
            md = root.get("/Metadata")
            if md is not None:
                xmp, _ok = _decode(md.get_object().get_data())
                segs.extend(_markup_segments(f"{label} (metadata XMP)", xmp))
        except Exception:
            problems.append(_Problem(f"{label} (metadata XMP)", "unreadable"))

        # Outline (bookmarks).
        try:
            titles: list[str] = []
            stack = [reader.outline]
            while stack:
                item = stack.pop()
                if isinstance(item, list):
                    stack.extend(item)
                else:
                    title = getattr(item, "title", None)
                    if title:
                        titles.append(str(title))
            if titles:
                segs.append(_Segment(f"{label} (outline)", _SEP.join(titles)))
        except Exception:
            problems.append(_Problem(f"{label} (outline)", "unreadable"))

        # Named destinations (WeasyPrint makes one per element id).
        try:
            names = list(reader.named_destinations)
            if names:
                segs.append(_Segment(f"{label} (named destinations)", _SEP.join(map(str, names))))
        except Exception:
            problems.append(_Problem(f"{label} (named destinations)", "unreadable"))

        # Embedded files are scanned like files of their own.
        try:
            for name, contents in reader.attachments.items():
                for j, blob in enumerate(contents):
                    children.append((f"{label} (attachment {j + 1})", name, blob))
        except Exception:
            problems.append(_Problem(f"{label} (attachments)", "unreadable"))

        # Every other string object in the file (form fields, structure tree
        # alt texts, article threads ...), as a fallback.
        try:
            out = []
            _pdf_strings(reader.trailer, out, set(), frozenset({"/Contents"}))
            segs.append(_Segment(f"{label} (objects)", _SEP.join(out), fallback=True))
        except Exception:
            problems.append(_Problem(f"{label} (objects)", "unreadable"))
    return segs, problems, children


# --------------------------------------------------------------------------
# The gate
# --------------------------------------------------------------------------


def _grams(words: list[str], n: int) -> Iterator[tuple[str, ...]]:
    return zip(*[words[i:] for i in range(n)])


def _contains(seq: list[str], item: tuple[str, ...]) -> bool:
    k = len(item)
    first = item[0]
    start = 0
    while True:
        try:
            i = seq.index(first, start)
        except ValueError:
            return False
        if tuple(seq[i:i + k]) == item:
            return True
        start = i + 1


class Gate:
    """Matches text against a list of restricted passages.

    ``allow`` lists legitimate overlaps (e.g. a statute that is quoted in both
    editions): an n-gram or short item that lies entirely inside an allowed
    text's word sequence is never reported, wherever it occurs.
    """

    def __init__(self, restricted: Iterable[Restricted], allow: Iterable[str] = (), n: int = 8,
                 trusted_roots: Iterable[Path] = ()):
        if n < 1:
            raise ValueError("n must be at least 1")
        self.n = n
        self.trusted_roots: tuple[Path, ...] = tuple(Path(p) for p in trusted_roots)
        self._run_re = re.compile(b"\x01{%d,}" % n)
        self.restricted: tuple[Restricted, ...] = tuple(restricted)
        allow_words = [w for a in allow for w in _allowed_variants(a)]
        allowed_grams: set[tuple[str, ...]] = set()
        for words in allow_words:
            allowed_grams.update(_grams(words, n))

        # n-gram -> indices of passages it fingerprints
        self._ngrams: dict[tuple[str, ...], list[int]] = {}
        # length -> word tuple -> passage indices (short items)
        self._exact: dict[int, dict[tuple[str, ...], list[int]]] = {}
        checked: set[int] = set()
        for idx, r in enumerate(self.restricted):
            for text in _word_variants(r.text):
                words = _split_words(text)
                if not words:
                    continue
                if len(words) >= n:
                    for g in _grams(words, n):
                        if g in allowed_grams:
                            continue
                        lst = self._ngrams.setdefault(g, [])
                        if idx not in lst:
                            lst.append(idx)
                        checked.add(idx)
                else:
                    item = tuple(words)
                    if any(_contains(a, item) for a in allow_words):
                        continue
                    lst = self._exact.setdefault(len(item), {}).setdefault(item, [])
                    if idx not in lst:
                        lst.append(idx)
                    checked.add(idx)
        self._ngram_keys = frozenset(self._ngrams)
        # Every word of every fingerprint: a document n-gram can only match
        # if all its words are in here, which rules out most of a page
        # (navigation, class names, URLs) before any n-gram is built.
        self._vocab = frozenset(w for g in self._ngrams for w in g)
        self._exact_keys = {k: frozenset(d) for k, d in self._exact.items()}
        self._exact_first = frozenset(t[0] for d in self._exact.values() for t in d)
        #: ids of passages that can never be reported (no words, or wholly
        #: covered by the allow list) -- worth surfacing to the operator.
        self.unchecked: tuple[str, ...] = tuple(
            r.id for i, r in enumerate(self.restricted) if i not in checked
        )

    # -- matching ----------------------------------------------------------

    def _match_words(self, words: list[str]) -> dict[int, tuple[str, tuple[str, ...]]]:
        """passage index -> (kind, one matching word tuple)."""
        hits: dict[int, tuple[str, tuple[str, ...]]] = {}
        n = self.n
        if self._ngram_keys and len(words) >= n:
            # Runs of >= n consecutive fingerprint-vocabulary words, found in C.
            flags = bytes(map(self._vocab.__contains__, words))
            run_re = self._run_re
            for m in run_re.finditer(flags):
                a, b = m.span()
                run = words if (a == 0 and b == len(words)) else words[a:b]
                for g in self._ngram_keys.intersection(_grams(run, n)):
                    for idx in self._ngrams[g]:
                        hits.setdefault(idx, ("fingerprint", g))
        if self._exact and not self._exact_first.isdisjoint(words):
            for k, keys in self._exact_keys.items():
                if len(words) < k:
                    continue
                for t in keys.intersection(_grams(words, k)):
                    for idx in self._exact[k][t]:
                        hits.setdefault(idx, ("exact", t))
        return hits

    def _match_text(self, text: str, want_lines: bool) -> dict[int, tuple[str, int | None]]:
        """passage index -> (kind, line of first hit or None)."""
        result: dict[int, tuple[str, int | None]] = {}
        for variant in _word_variants(text):
            hits = self._match_words(_split_words(variant))
            new = {i: h for i, h in hits.items() if i not in result}
            if not new:
                continue
            if want_lines:
                lines = self._lines_of(variant, new)
                for i, (kind, _t) in new.items():
                    result[i] = (kind, lines.get(i))
            else:
                for i, (kind, _t) in new.items():
                    result[i] = (kind, None)
        return result

    @staticmethod
    def _lines_of(variant: str, hits: dict[int, tuple[str, tuple[str, ...]]]) -> dict[int, int]:
        spans = [(m.group(), m.start()) for m in _WORD_RE.finditer(variant)]
        words = [w for w, _ in spans]
        out: dict[int, int] = {}
        for idx, (_kind, t) in hits.items():
            k = len(t)
            start = 0
            while True:
                try:
                    j = words.index(t[0], start)
                except ValueError:
                    break
                if tuple(words[j:j + k]) == t:
                    out[idx] = variant.count("\n", 0, spans[j][1]) + 1
                    break
                start = j + 1
        return out

    def scan_text(self, text: str, location: str) -> list[Finding]:
        """Findings for ``text``: one per restricted passage found in it."""
        hits = self._match_text(text, False)
        return [
            Finding(self.restricted[i].id, self.restricted[i].origin, location, hits[i][0])
            for i in sorted(hits)
        ]

    # -- files -------------------------------------------------------------

    def _scan_segments(self, segs: list[_Segment]) -> list[Finding]:
        found: dict[tuple[int, str], Finding] = {}

        def scan(seg: _Segment, skip: frozenset[int]) -> set[int]:
            """Record the passages found in ``seg``; returns their indices."""
            hits = self._match_text(seg.text, seg.lines)
            for idx in skip.intersection(hits):
                del hits[idx]
            located: set[int] = set()
            if hits and seg.refine is not None:
                for sub in seg.refine():
                    located |= scan(sub, skip)
            for idx, (kind, line) in hits.items():
                if idx in located or (idx, seg.label) in found:
                    continue
                r = self.restricted[idx]
                loc = f"{seg.label}:{line}" if line else seg.label
                found[(idx, seg.label)] = Finding(r.id, r.origin, loc, kind)
            return set(hits) | located

        for seg in segs:
            if not seg.fallback:
                scan(seg, frozenset())
        for seg in segs:
            if seg.fallback:
                scan(seg, frozenset(k[0] for k in found))
        return list(found.values())

    def scan_bytes(self, data: bytes, name: str, location: str | None = None) -> list[Finding]:
        """Scan one file's content; ``name`` decides how it is read (by its
        extension, else by sniffing) and ``location`` labels the findings."""
        return self._scan_blob(location or name, name, data, 0)

    def _scan_blob(self, label: str, name: str, data: bytes, depth: int) -> list[Finding]:
        try:
            segs, problems, children = _extract(label, name, data, depth)
            findings = self._scan_segments(segs)
        except Exception:  # fail closed: what could not be scanned is a finding
            return [Finding("", "", label, "unreadable")]
        findings.extend(Finding("", "", p.location, p.kind) for p in problems)
        for child_label, child_name, blob in children:
            if depth + 1 > _MAX_DEPTH:
                findings.append(Finding("", "", f"{child_label} (nested too deep)", "unreadable"))
                continue
            findings.extend(self._scan_blob(child_label, child_name, blob, depth + 1))
        return findings

    def scan_tree(self, root: Path, memo: dict | None = None) -> list[Finding]:
        """Scan every file under ``root`` (hidden files included; symbolic
        links are reported, not followed).  Paths are scanned too.

        ``memo`` (relative path -> (SHA-256 of the bytes scanned, findings)) lets a caller scan
        a tree while it is still being written and then call again: a file whose bytes are
        unchanged since it was scanned is not scanned twice; any other file is."""
        root = Path(root)
        self._memo = memo
        findings: list[Finding] = []
        if root.is_symlink():
            return [Finding("", "", root.name, "symlink")]
        if root.is_file():
            return self._scan_file(root, root.name)
        if not root.is_dir():
            return [Finding("", "", root.name, "unreadable")]
        paths: list[str] = []
        stack = [(root, "")]
        while stack:
            directory, rel = stack.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError:
                findings.append(Finding("", "", rel or ".", "unreadable"))
                continue
            for entry in entries:
                r = f"{rel}/{entry.name}" if rel else entry.name
                paths.append(r)
                try:
                    if entry.is_symlink():
                        findings.append(Finding("", "", r, "symlink"))
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append((Path(entry.path), r))
                    elif entry.is_file(follow_symlinks=False):
                        findings.extend(self._scan_file(Path(entry.path), r))
                    else:
                        findings.append(Finding("", "", f"{r} (not a regular file)", "unreadable"))
                except OSError:
                    findings.append(Finding("", "", r, "unreadable"))
        # A restricted name in a file or folder name.  The name is then
        # withheld from every location, or the findings would repeat it.
        withheld: dict[str, str] = {}
        for p in paths:
            hits = self.scan_text(p.rsplit("/", 1)[-1], p)
            if hits:
                withheld[p] = "<name withheld: %s>" % ",".join(f.restricted_id for f in hits)
                findings.extend(
                    Finding(f.restricted_id, f.origin, f"{p} (path)", f.kind) for f in hits
                )
        if withheld:
            findings = [
                Finding(f.restricted_id, f.origin, _withhold(f.location, withheld), f.kind)
                for f in findings
            ]
        order = {r.id: i for i, r in enumerate(self.restricted)}
        findings.sort(key=lambda f: (f.location, order.get(f.restricted_id, -1), f.kind))
        return findings

    def _scan_file(self, path: Path, rel: str) -> list[Finding]:
        try:
            data = path.read_bytes()
        except OSError:
            return [Finding("", "", rel, "unreadable")]
        memo = getattr(self, "_memo", None)
        if memo is not None:
            import hashlib

            digest = hashlib.sha256(data).digest()
            hit = memo.get(rel)
            if hit is not None and hit[0] == digest:
                return list(hit[1])
        found = [] if self._vendored(rel, data) else self._scan_blob(rel, rel, data, 0)
        if memo is not None:
            memo[rel] = (digest, tuple(found))
        return found

    def _vendored(self, rel: str, data: bytes) -> bool:
        """True when the file is byte-identical to the file at the same relative path in one of
        the ``trusted_roots`` (the installed theme's own static files): it cannot hold source text."""
        for root in self.trusted_roots:
            cand = root / rel
            try:
                if cand.is_file() and not cand.is_symlink() and cand.stat().st_size == len(data) \
                        and cand.read_bytes() == data:
                    return True
            except OSError:
                continue
        return False


def _withhold(location: str, withheld: dict[str, str]) -> str:
    """Replace withheld path components at the start of ``location``
    (longest paths first, so nested withheld names are all replaced)."""
    for p in sorted(withheld, key=len, reverse=True):
        if location == p or location.startswith((p + "/", p + " (", p + ":")):
            parent = p.rsplit("/", 1)[0] + "/" if "/" in p else ""
            location = parent + withheld[p] + location[len(p):]
    return location


def _allowed_variants(text: str) -> list[list[str]]:
    return [_split_words(v) for v in _word_variants(text)]


# --------------------------------------------------------------------------
# Dispatch by file type
# --------------------------------------------------------------------------


def _ext(name: str) -> str:
    base = name.rsplit("/", 1)[-1].lower()
    if base == ".htaccess":
        return base
    dot = base.rfind(".")
    return base[dot:] if dot > 0 else ""


def _extract(label: str, name: str, data: bytes, depth: int):
    """(segments, problems, children) for one file's bytes."""
    ext = _ext(name)
    if ext in (".gz", ".tgz", ".svgz"):
        inner = name[: -len(ext)] + {".gz": "", ".tgz": ".tar", ".svgz": ".svg"}[ext]
        try:
            blob = _gunzip(data)
        except Exception:
            return [], [_Problem(label, "unreadable")], []
        return [], [], [(label, inner, blob)]
    if ext == ".br":
        try:
            import brotli  # type: ignore[import-not-found]

            blob = brotli.decompress(data)
        except Exception:
            return [], [_Problem(label, "unreadable")], []
        return [], [], [(label, name[:-3], blob)]
    if ext in _ZIP_EXT or (data[:4] == b"PK\x03\x04" and ext not in _BINARY_EXT):
        return _zip_members(label, data)
    if ext == ".pdf" or data[:5] == b"%PDF-":
        return _pdf_segments(label, data)
    if ext in _BINARY_EXT:
        return (*_binary_segments(label, data), [])

    text, clean = _decode(data)
    if not clean and ext not in _MARKUP_EXT | _JSON_EXT | _SCRIPT_EXT | _MD_EXT | _TEXT_EXT:
        return (*_binary_segments(label, data), [])
    segs: list[_Segment] = []
    if ext in _MARKUP_EXT:
        segs = _markup_segments(label, text)
    elif ext in _JSON_EXT:
        segs = _json_segments(label, text)
    elif ext in _MD_EXT:
        segs = _text_segments(label, text, True)
        segs.append(_Segment(label, _markdown_view(text), True))
    elif ext in _SCRIPT_EXT or ext in _TEXT_EXT:
        segs = _text_segments(label, text, True)
    else:  # unknown extension, valid text: sniff
        head = text.lstrip()[:1]
        if head == "<":
            segs = _markup_segments(label, text)
        elif head in ("{", "["):
            segs = _json_segments(label, text)
        else:
            segs = _text_segments(label, text, True)
    if not clean:
        # Probably a legacy 8-bit encoding: scan that reading too.
        segs.append(_Segment(label, data.decode("cp1252", "replace"), True))
    children, problems = _data_uris(label, segs)
    return segs, problems, children


def _data_uris(label: str, segs: list[_Segment]):
    """base64 data: URIs in any segment, as (children, problems)."""
    children: list[tuple[str, str, bytes]] = []
    problems: list[_Problem] = []
    seen: set[str] = set()
    for seg in segs:
        if "base64," not in seg.text and "BASE64," not in seg.text.upper():
            continue
        for m in _DATA_URI_RE.finditer(seg.text):
            payload = m.group(3)
            if payload in seen:
                continue
            seen.add(payload)
            where = f"{label} (data URI {len(seen)})"
            try:
                if "%" in payload:
                    payload = urllib.parse.unquote(payload)
                payload = "".join(payload.split())
                blob = base64.b64decode(payload + "=" * (-len(payload) % 4))
            except Exception:
                problems.append(_Problem(where, "unreadable"))
                continue
            mime = (m.group(1) or "").lower()
            ext = _MIME_EXT.get(mime) or ("." + mime.rsplit("/", 1)[-1] if "/" in mime else ".bin")
            children.append((where, "data" + ext, blob))
    return children, problems


def _gunzip(data: bytes) -> bytes:
    out = []
    total = 0
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        chunk = d.decompress(data, _MAX_INFLATE - total)
        if d.unconsumed_tail:
            raise ValueError("decompressed data too large")
        if not d.eof:
            raise ValueError("truncated gzip stream")
        out.append(chunk)
        total += len(chunk)
        data = d.unused_data.lstrip(b"\0")  # concatenated members
    return b"".join(out)


def _zip_members(label: str, data: bytes):
    import zipfile

    children = []
    problems: list[_Problem] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = 0
            for number, info in enumerate(zf.infolist(), 1):
                if info.is_dir():
                    continue
                total += info.file_size
                if total > _MAX_INFLATE:
                    raise ValueError("archive too large")
                # Mode bits of a symlink stored in the archive.
                if stat.S_ISLNK(info.external_attr >> 16):
                    problems.append(_Problem(f"{label} (member {number})", "symlink"))
                    continue
                children.append((f"{label} (member {number})", info.filename, zf.read(info)))
    except Exception:
        return [], [_Problem(label, "unreadable")], []
    segs = [_Segment(f"{label} (member names)", _SEP.join(c[1] for c in children))]
    return segs, problems, children
