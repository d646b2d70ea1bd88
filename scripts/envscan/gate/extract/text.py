"""Text formats: Markdown, JSON, and base64 ``data:`` URIs found in any text."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse

from ..base import SEP, Child, Problem, Segment
from .escapes import text_segments
from .markup import ANY_TAG_RE, INLINE_TAG_RE, keep_newlines, keep_newlines_only, looks_like_markup, strip_tags

__all__ = ["markdown_view", "json_segments", "data_uris", "MIME_EXT"]

# base64 data: URIs (inline images, fonts, documents) are scanned as files.
_DATA_URI_RE = re.compile(
    r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[^;,\s\"']*)*);base64,"
    r"([A-Za-z0-9+/=\s]{8,}|(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9+/=])+)",
    re.I,
)
MIME_EXT = {"image/svg+xml": ".svg", "text/html": ".html", "application/json": ".json",
            "application/pdf": ".pdf", "text/plain": ".txt", "text/css": ".css",
            "application/xml": ".xml", "text/xml": ".xml", "image/png": ".png",
            "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
            "font/woff": ".woff", "font/woff2": ".woff2", "font/ttf": ".ttf", "font/otf": ".otf",
            "application/javascript": ".js", "text/javascript": ".js"}


def markdown_view(text: str) -> str:
    """Markdown with link targets, footnote markers, attribute lists and
    inline HTML removed, newlines kept (so line numbers stay right)."""
    text = re.sub(r"\]\([^)\n]*\)", "]", text)  # [text](target) -> [text]
    text = re.sub(r"\]\[[^\]\n]*\]", "]", text)  # [text][ref] -> [text]
    text = re.sub(r"\[\^[^\]\n]*\]", "", text)  # footnote markers
    text = re.sub(r"\{[:#.][^}\n]*\}", "", text)  # attribute lists
    text = INLINE_TAG_RE.sub(keep_newlines_only, text)
    return ANY_TAG_RE.sub(keep_newlines, text)


def _json_strings(obj: object) -> list[str]:
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


def json_segments(label: str, text: str) -> list[Segment]:
    """Every JSON string (search index entries, source maps ...), and the text view of
    markup they hold; a file that does not parse is read as text."""
    try:
        obj = json.loads(text, object_pairs_hook=list)
    except (ValueError, RecursionError):
        return text_segments(label, text, True)
    joined = SEP.join(_json_strings(obj))
    segs = [Segment(label, joined)]
    if looks_like_markup(joined):
        segs.append(Segment(label, strip_tags(joined)))
    return segs


def data_uris(label: str, segs: list[Segment]) -> tuple[list[Child], list[Problem]]:
    """base64 data: URIs in any segment, as (children, problems)."""
    children: list[Child] = []
    problems: list[Problem] = []
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
                problems.append(Problem(where, "unreadable"))
                continue
            mime = (m.group(1) or "").lower()
            ext = MIME_EXT.get(mime) or ("." + mime.rsplit("/", 1)[-1] if "/" in mime else ".bin")
            children.append(Child(where, "data" + ext, blob))
    return children, problems
