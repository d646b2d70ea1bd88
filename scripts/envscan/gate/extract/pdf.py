"""PDF: page text (poppler's ``pdftotext`` when installed, else pypdf), text across page
breaks, annotations, metadata, XMP, outline, named destinations, attachments (as embedded
files) and every other string object.  pypdf is imported lazily; without it a PDF is
unreadable."""

from __future__ import annotations

import io
import logging
import re
import warnings
from typing import Any

from ..base import SEP, Collector, Extracted
from .escapes import decode
from .markup import markup_segments

__all__ = ["pdf_extract"]

# pypdf reports malformed input through ``logging``; without a handler the
# lastResort handler would print it.  A NullHandler keeps the gate silent while
# still letting an application that configures logging see the records.
logging.getLogger("pypdf").addHandler(logging.NullHandler())

_PDF_REPEAT_RE = re.compile(r"\d+")
_PDF_PAGE_NO_RE = re.compile(r"^\s*(?:page\s+)?(?:\d+|[ivxlcdm]+)(?:\s*(?:/|of)\s*\d+)?\s*$", re.I)


def _join_pages(pages: list[str]) -> str:
    """Pages joined into one text with running headers/footers and page
    numbers dropped, so a passage broken by a page break is still whole."""
    counts: dict[str, int] = {}
    for t in pages:
        ls = [ln.strip() for ln in t.splitlines() if ln.strip()]
        for key in {_PDF_REPEAT_RE.sub("#", ln) for ln in ls[:3] + ls[-3:]}:
            counts[key] = counts.get(key, 0) + 1
    threshold = max(2, int(len(pages) * 0.4))
    out = []
    for t in pages:
        ls = [ln for ln in t.splitlines() if ln.strip()]
        drop = set(range(min(3, len(ls)))) | set(range(max(0, len(ls) - 3), len(ls)))
        keep = [
            ln for i, ln in enumerate(ls)
            if not (i in drop and (counts.get(_PDF_REPEAT_RE.sub("#", ln.strip()), 0) >= threshold
                                   or _PDF_PAGE_NO_RE.match(ln)))
        ]
        out.append("\n".join(keep))
    return "\n".join(out)


def _strings(obj: Any, out: list[str], seen: set[tuple[int, int]],
             skip_keys: frozenset[str] = frozenset()) -> None:
    """All string objects (and dictionary keys / name values) reachable from
    ``obj``; stream contents are not decoded."""
    from pypdf.generic import (ArrayObject, ByteStringObject, DictionaryObject, IndirectObject,
                               NameObject, TextStringObject)

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
        out = subprocess.run([exe, "-q", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True,
                             timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    pages = out.stdout.decode("utf-8", "replace").split("\f")
    if pages and pages[-1].strip() == "":
        pages = pages[:-1]
    return pages if len(pages) == n_pages else None


def _pages(col: Collector, data: bytes, pages: list[Any]) -> None:
    texts: list[str] = []
    fast = _poppler_pages(data, len(pages))
    for i, page in enumerate(pages, 1):
        if fast is not None:
            t = fast[i - 1]
        else:
            try:
                t = page.extract_text() or ""
            except Exception:
                col.unreadable(f"page {i}")
                t = ""
        texts.append(t)
        col.text(f"page {i}", t)
        try:
            annots = page.get("/Annots")
            if annots is not None:
                out: list[str] = []
                _strings(annots, out, set(), frozenset({"/P", "/Parent", "/Popup", "/IRT"}))
                col.text(f"annotations page {i}", SEP.join(out))
        except Exception:
            col.unreadable(f"annotations page {i}")
    if len(texts) > 1:
        col.text("text across pages", _join_pages(texts), fallback=True)


def _info_and_xmp(col: Collector, reader: Any) -> None:
    try:  # document information dictionary, one location per key
        info = reader.trailer.get("/Info")
        info = info.get_object() if info is not None else None
        if info is not None:
            for key, value in info.items():
                out: list[str] = []
                _strings(value, out, set())
                col.text(f"metadata {key}", SEP.join(out))
    except Exception:
        col.unreadable("metadata")
    try:  # the catalogue's XMP metadata stream
        root = reader.trailer["/Root"].get_object()
        md = root.get("/Metadata")
        if md is not None:
            xmp, _ok = decode(md.get_object().get_data())
            col.segments.extend(markup_segments(col.where("metadata XMP"), xmp))
    except Exception:
        col.unreadable("metadata XMP")


def _navigation(col: Collector, reader: Any) -> None:
    try:  # outline (bookmarks)
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
        col.text("outline", SEP.join(titles))
    except Exception:
        col.unreadable("outline")
    try:  # named destinations (WeasyPrint makes one per element id)
        col.text("named destinations", SEP.join(map(str, reader.named_destinations)))
    except Exception:
        col.unreadable("named destinations")


def _attachments_and_objects(col: Collector, reader: Any) -> None:
    try:  # embedded files are scanned like files of their own
        for name, contents in reader.attachments.items():
            for j, blob in enumerate(contents):
                col.child(f"attachment {j + 1}", name, blob)
    except Exception:
        col.unreadable("attachments")
    try:  # every other string object (form fields, structure tree alt texts ...)
        out: list[str] = []
        _strings(reader.trailer, out, set(), frozenset({"/Contents"}))
        col.text("objects", SEP.join(out), fallback=True)
    except Exception:
        col.unreadable("objects")


def pdf_extract(label: str, data: bytes) -> Extracted:
    col = Collector(label)
    try:
        import pypdf
    except ImportError:
        col.unreadable("pypdf not installed")
        return col.result()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                col.unreadable("encrypted")
                return col.result()
            pages = list(reader.pages)
        except Exception:
            col.unreadable("")
            return col.result()
        _pages(col, data, pages)
        _info_and_xmp(col, reader)
        _navigation(col, reader)
        _attachments_and_objects(col, reader)
    return col.result()
