"""Decoding text out of bytes and out of string and URL escapes."""

from __future__ import annotations

import re
import urllib.parse
import warnings

from ..base import SEP, Segment

__all__ = ["decode", "decode_any", "readings", "unescape_backslashes", "text_segments", "with_url_view",
           "is_texty"]

_ESCAPE_RE = re.compile(
    r"\\(u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{1,3}|[\s\S])"
)
_HAS_ESCAPE_RE = re.compile(r"\\(?:u[0-9a-fA-F{]|x[0-9a-fA-F]|[nrtbfv0-7'\"`/\\])")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_PERCENT_RE = re.compile(r"%[0-9A-Fa-f]{2}")
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f",
                   "v": "\v", "\n": "", "\r": ""}


def _escape_repl(m: re.Match[str]) -> str:
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


def unescape_backslashes(text: str) -> str:
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


def decode(data: bytes) -> tuple[str, bool]:
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


def readings(data: bytes) -> list[str]:
    """Plausible text readings of a metadata payload whose encoding is not declared:
    UTF-8 (else cp1252), and UTF-16 both ways when a fifth or more of the bytes are NUL."""
    text, clean = decode(data)
    out = [text if clean else data.decode("cp1252", "replace")]
    if data.count(0) * 5 >= len(data) > 1:
        even = data[: len(data) // 2 * 2]
        out += [even.decode("utf-16-le", "replace"), even.decode("utf-16-be", "replace")]
    return out


def decode_any(data: bytes) -> str:
    """Every reading of :func:`readings`, joined."""
    return SEP.join(readings(data))


# control characters, unassigned/private-use/surrogate stand-ins, replacement character
_NON_TEXT_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\ufffe\uffff]")


def _printable(text: str) -> bool:
    if not text:
        return True
    bad = len(_NON_TEXT_RE.findall(text))
    return bad <= 0.05 * len(text) and text.count("\ufffd") <= len(text) // 100


def is_texty(data: bytes) -> bool:
    """True when one reading of ``data`` (see :func:`readings`) is mostly printable text:
    then the text readings say everything it holds."""
    return any(_printable(t.rstrip("\0")) for t in readings(data))


def with_url_view(text: str) -> str:
    """``text``, plus its percent-decoded view when it holds URL escapes."""
    if "%" in text and _PERCENT_RE.search(text):
        return text + SEP + urllib.parse.unquote(text, errors="replace")
    return text


def text_segments(label: str, text: str, lines: bool) -> list[Segment]:
    """Raw text, plus decoded views when it holds string or URL escapes."""
    segs = [Segment(label, text, lines)]
    if "\\" in text and _HAS_ESCAPE_RE.search(text):
        segs.append(Segment(label, unescape_backslashes(text)))
    if "%" in text and _PERCENT_RE.search(text):
        segs.append(Segment(label, urllib.parse.unquote(text, errors="replace")))
    return segs
