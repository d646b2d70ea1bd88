"""Helpers for binary formats: printable runs, bounded inflation, and the metadata payloads
that images share (XMP, Exif/TIFF, ICC profiles)."""

from __future__ import annotations

import re
import struct
import zlib

from ..base import MAX_INFLATE, SEP, Collector
from .escapes import decode, decode_any, is_texty
from .markup import markup_segments

__all__ = ["strings", "inflate", "try_inflate", "read_payload", "icc_texts", "exif_texts"]

_UTF8_RUN_RE = re.compile(
    rb"(?:[\x09\x0a\x0d\x20-\x7e]|[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
    rb"|[\xf0-\xf4][\x80-\xbf]{3}){4,}"
)
# UTF-16 runs: ASCII and Latin-1 letters, Latin extended/IPA/Greek/Cyrillic (U+0100-05FF),
# general punctuation and letter-like symbols (U+2000-21FF), Hangul compatibility jamo /
# CJK symbols (U+3000-31FF), halfwidth/fullwidth forms and specials (U+FE00-FFFF), and
# surrogates (mathematical letters).
_UTF16LE_RUN_RE = re.compile(
    rb"(?:[\x09\x0a\x0d\x20-\x7e\xa0-\xff]\x00|[\x00-\xff][\x01-\x05\x20\x21\x30\x31\xd8-\xdf\xfe\xff]){4,}")
_UTF16BE_RUN_RE = re.compile(
    rb"(?:\x00[\x09\x0a\x0d\x20-\x7e\xa0-\xff]|[\x01-\x05\x20\x21\x30\x31\xd8-\xdf\xfe\xff][\x00-\xff]){4,}")


def strings(data: bytes) -> str:
    """Printable UTF-8/ASCII and UTF-16 (LE and BE) runs of >= 4 characters,
    like ``strings``."""
    runs = [m.decode("utf-8", "replace") for m in _UTF8_RUN_RE.findall(data)]
    for rx, enc in ((_UTF16LE_RUN_RE, "utf-16-le"), (_UTF16BE_RUN_RE, "utf-16-be")):
        for m in rx.finditer(data):
            b = m.group()
            runs.append(b[: len(b) // 2 * 2].decode(enc, "replace"))
    return SEP.join(runs)


def inflate(data: bytes, wbits: int = zlib.MAX_WBITS) -> bytes:
    """zlib-decompress with the gate's size cap; raises on corrupt or oversized data."""
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, MAX_INFLATE)
    if d.unconsumed_tail:
        raise ValueError("decompressed data too large")
    if not d.eof:
        raise ValueError("truncated zlib stream")
    return out


def try_inflate(data: bytes) -> bytes | None:
    """The inflated data when ``data`` is a complete zlib or gzip stream, else None."""
    if len(data) < 2:
        return None
    for wbits in (zlib.MAX_WBITS, 16 + zlib.MAX_WBITS):
        try:
            return inflate(data, wbits)
        except (zlib.error, ValueError):
            continue
    return None


def _icc_tag_text(kind: bytes, body: bytes) -> str:
    if kind == b"text":
        return body[8:].split(b"\0", 1)[0].decode("latin-1")
    if kind == b"desc":
        (n,) = struct.unpack(">I", body[8:12])
        ascii_part = body[12:12 + n].split(b"\0", 1)[0].decode("latin-1")
        rest = body[12 + n:]
        uni = ""
        if len(rest) >= 8:
            (count,) = struct.unpack(">I", rest[4:8])
            uni = rest[8:8 + 2 * count].decode("utf-16-be", "replace").rstrip("\0")
        return ascii_part + "\n" + uni
    if kind == b"mluc":
        count, size = struct.unpack(">II", body[8:16])
        out = []
        for i in range(count):
            rec = body[16 + i * size:16 + (i + 1) * size]
            length, offset = struct.unpack(">II", rec[4:12])
            out.append(body[offset:offset + length].decode("utf-16-be", "replace"))
        return SEP.join(out)
    return strings(body)


def icc_texts(profile: bytes) -> str:
    """Every tag of an ICC profile as text (``desc``, ``mluc`` and ``text`` tags decoded,
    the rest as printable runs).  Raises on a truncated or malformed tag table."""
    if len(profile) < 132 or profile[36:40] != b"acsp":
        raise ValueError("not an ICC profile")
    (count,) = struct.unpack(">I", profile[128:132])
    if 132 + 12 * count > len(profile):
        raise ValueError("truncated ICC tag table")
    out = []
    for i in range(count):
        _sig, off, size = struct.unpack(">4sII", profile[132 + 12 * i:144 + 12 * i])
        if off + size > len(profile):
            raise ValueError("ICC tag beyond the profile")
        body = profile[off:off + size]
        out.append(_icc_tag_text(body[:4], body))
    return SEP.join(out)


_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
               13: 4, 16: 8, 17: 8, 18: 8}
_SUB_IFDS = (0x8769, 0x8825, 0xA005, 0x014A)
_XP_TAGS = range(0x9C9B, 0x9CA0)  # XPTitle, XPComment, XPAuthor, XPKeywords, XPSubject


def _exif_value(tag: int, typ: int, raw: bytes, bo: str) -> str:
    if typ == 2:
        return decode(raw.rstrip(b"\0"))[0]
    if tag in _XP_TAGS:
        return raw.decode("utf-16-le", "replace").rstrip("\0")
    if tag == 0x9286 and len(raw) >= 8:  # UserComment: 8-byte character code, then text
        code, body = raw[:8], raw[8:]
        if code.startswith(b"UNICODE"):
            return body.decode("utf-16-le" if bo == "<" else "utf-16-be", "replace") + SEP + \
                body.decode("utf-16-be" if bo == "<" else "utf-16-le", "replace")
        return decode(body)[0]
    return strings(raw) if typ in (1, 7) else ""


def exif_texts(tiff: bytes) -> tuple[str, list[bytes]]:
    """(text of every ASCII/byte/undefined field of a TIFF/Exif structure, embedded JPEG
    thumbnails).  Raises on offsets outside the data."""
    bo = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if bo is None or struct.unpack(bo + "H", tiff[2:4])[0] != 42:
        raise ValueError("not a TIFF header")
    out: list[str] = []
    thumbs: list[bytes] = []
    todo = [struct.unpack(bo + "I", tiff[4:8])[0]]
    seen: set[int] = set()
    while todo:
        off = todo.pop()
        if off == 0 or off in seen:
            continue
        seen.add(off)
        if off + 2 > len(tiff):
            raise ValueError("IFD beyond the data")
        (n,) = struct.unpack(bo + "H", tiff[off:off + 2])
        fields: dict[int, int] = {}
        for i in range(n):
            entry = tiff[off + 2 + 12 * i:off + 14 + 12 * i]
            if len(entry) < 12:
                raise ValueError("truncated IFD")
            tag, typ, count = struct.unpack(bo + "HHI", entry[:8])
            size = _TIFF_SIZES.get(typ, 1) * count
            if size <= 4:
                raw = entry[8:8 + size]
            else:
                (voff,) = struct.unpack(bo + "I", entry[8:12])
                if voff + size > len(tiff):
                    raise ValueError("field beyond the data")
                raw = tiff[voff:voff + size]
            if tag in _SUB_IFDS and typ in (4, 13) and count >= 1:
                todo.extend(struct.unpack(bo + "%dI" % count, raw))
            fields[tag] = struct.unpack(bo + "I", raw)[0] if typ == 4 and count == 1 else -1
            text = _exif_value(tag, typ, raw, bo)
            if text:
                out.append(text)
        if fields.get(0x0201, -1) >= 0 and fields.get(0x0202, -1) > 0:
            start, length = fields[0x0201], fields[0x0202]
            thumbs.append(tiff[start:start + length])
        nxt = tiff[off + 2 + 12 * n:off + 6 + 12 * n]
        if len(nxt) == 4:
            todo.append(struct.unpack(bo + "I", nxt)[0])
    return SEP.join(out), thumbs


def read_payload(col: Collector, where: str, data: bytes, depth: int = 0) -> None:
    """A metadata payload of unknown or mixed kind: XMP/XML, Exif/TIFF, ICC profile, zlib or
    gzip stream, or text.  Anything else cannot be cleared and is reported unreadable."""
    if not data.strip(b"\0 \t\r\n"):
        return
    head = data.lstrip()[:64]
    if head.startswith((b"<", b"\xef\xbb\xbf<")) or b"<x:xmpmeta" in data[:4096] or b"<?xpacket" in data[:4096]:
        text = decode(data)[0]
        col.segments.extend(markup_segments(col.where(where), text))
        return
    body = data[6:] if data.startswith(b"Exif\0\0") else data
    if body[:4] in (b"II*\0", b"MM\0*"):
        text, thumbs = exif_texts(body)
        col.text(where, text)
        for j, thumb in enumerate(thumbs, 1):
            col.child(f"{where} thumbnail {j}", "thumbnail.jpg", thumb)
        return
    if len(data) >= 132 and data[36:40] == b"acsp":
        col.text(where, icc_texts(data))
        return
    inflated = try_inflate(data)
    if inflated is not None and depth < 2:
        read_payload(col, f"{where}, inflated", inflated, depth + 1)
        return
    if is_texty(data):
        col.text(where, decode_any(data))
        return
    col.text(where, strings(data))
    col.unreadable(where)
