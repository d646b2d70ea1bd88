"""Fonts (TrueType, OpenType, collections, WOFF, WOFF2), read with fontTools.

Every table is decompressed and read for printable runs, the ``name`` table is decoded
record by record, and a WOFF file's extended metadata (XML) and private data block are read
too.  A font fontTools cannot open, or a table it cannot decompress, is unreadable."""

from __future__ import annotations

import io
from typing import Any

from ..base import SEP, Collector
from .binary import read_payload, strings
from .escapes import decode
from .markup import markup_segments

__all__ = ["read_font", "is_font"]

_MAGIC = (b"\0\1\0\0", b"OTTO", b"true", b"typ1", b"ttcf", b"wOFF", b"wOF2")


def is_font(data: bytes) -> bool:
    return data[:4] in _MAGIC


def _fonts(data: bytes) -> list[Any]:
    from fontTools.ttLib import TTCollection, TTFont

    if data[:4] == b"ttcf":
        return list(TTCollection(io.BytesIO(data), lazy=True).fonts)
    return [TTFont(io.BytesIO(data), lazy=True, recalcBBoxes=False, recalcTimestamp=False)]


def _read_one(col: Collector, font: Any, prefix: str) -> None:
    reader = font.reader
    runs = []
    for tag in sorted(reader.keys()):
        try:
            runs.append(strings(reader[tag]))
        except Exception:
            col.unreadable(f"{prefix}table {tag.strip()}")
    col.text(f"{prefix}tables", SEP.join(r for r in runs if r))
    if "name" in reader:
        try:
            names = [rec.toUnicode(errors="replace") for rec in font["name"].names]
            col.text(f"{prefix}name table", SEP.join(names))
        except Exception:
            col.unreadable(f"{prefix}name table")
    flavor = getattr(reader, "flavorData", None)
    if flavor is not None:
        if flavor.metaData:
            col.segments.extend(markup_segments(col.where(f"{prefix}metadata"), decode(flavor.metaData)[0]))
        if flavor.privData:
            read_payload(col, f"{prefix}private data", flavor.privData)


def read_font(col: Collector, data: bytes) -> None:
    try:
        fonts = _fonts(data)
    except Exception:
        col.unreadable("font")
        return
    for i, font in enumerate(fonts):
        _read_one(col, font, f"font {i + 1} " if len(fonts) > 1 else "")
