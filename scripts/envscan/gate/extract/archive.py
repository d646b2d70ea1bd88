"""Containers: gzip, brotli and zip (and the zip-based office/e-book formats)."""

from __future__ import annotations

import io
import stat
import zlib

from ..base import MAX_INFLATE, SEP, Child, Extracted, Problem, Segment

__all__ = ["gunzip", "zip_members", "unbrotli"]


def gunzip(data: bytes) -> bytes:
    """All members of a gzip stream, capped; raises on truncated or oversized data."""
    out = []
    total = 0
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        chunk = d.decompress(data, MAX_INFLATE - total)
        if d.unconsumed_tail:
            raise ValueError("decompressed data too large")
        if not d.eof:
            raise ValueError("truncated gzip stream")
        out.append(chunk)
        total += len(chunk)
        data = d.unused_data.lstrip(b"\0")  # concatenated members
    return b"".join(out)


def unbrotli(data: bytes) -> bytes:
    import brotli

    out: bytes = brotli.decompress(data)
    if len(out) > MAX_INFLATE:
        raise ValueError("decompressed data too large")
    return out


def zip_members(label: str, data: bytes) -> Extracted:
    """Every member as an embedded file, member names as text, stored symlinks reported."""
    import zipfile

    children: list[Child] = []
    problems: list[Problem] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = 0
            for number, info in enumerate(zf.infolist(), 1):
                if info.is_dir():
                    continue
                total += info.file_size
                if total > MAX_INFLATE:
                    raise ValueError("archive too large")
                # Mode bits of a symlink stored in the archive.
                if stat.S_ISLNK(info.external_attr >> 16):
                    problems.append(Problem(f"{label} (member {number})", "symlink"))
                    continue
                children.append(Child(f"{label} (member {number})", info.filename, zf.read(info)))
            comment = zf.comment
    except Exception:
        return Extracted([], [Problem(label, "unreadable")], [])
    names = SEP.join(c.name for c in children)
    segs = [Segment(f"{label} (member names)", names)]
    if comment:
        segs.append(Segment(f"{label} (comment)", comment.decode("utf-8", "replace")))
    return Extracted(segs, problems, children)
