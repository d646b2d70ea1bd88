"""HTML, XML and SVG: a regex tokenizer, and XML internal entities expanded.

The tokenizer makes the same text/attribute/comment/script decisions as ``html.parser`` (a
differential test checks this) at an order of magnitude less cost: html.parser spends
~0.3 s per MB in Python code, more than the gate's whole budget.
"""

from __future__ import annotations

import html
import re
from typing import Iterable

from ..base import SEP, Segment
from .escapes import text_segments, with_url_view

__all__ = ["markup_segments", "strip_tags", "looks_like_markup", "INLINE_TAG_RE", "ANY_TAG_RE",
           "keep_newlines", "keep_newlines_only", "expand_entities"]

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


Trie = dict[str, "Trie"]


def _trie_regex(words: Iterable[str]) -> str:
    """Alternation factored by common prefixes (much faster to match)."""
    trie: Trie = {}
    for w in words:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}

    def emit(node: Trie) -> str:
        alts = [re.escape(c) + emit(sub) if c else "" for c, sub in sorted(node.items())]
        optional = "" in alts
        alts = [a for a in alts if a]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:%s)" % "|".join(alts)
        return "(?:%s)?" % body if optional else body

    return emit(trie)


INLINE_TAG_RE = re.compile(
    r"</?%s(?=[\s/>])%s>" % (_trie_regex(_INLINE_TAGS), _TAG_BODY), re.I
)
ANY_TAG_RE = re.compile(r"</?[A-Za-z][^\s/>]*" + _TAG_BODY + r">|<![^>]*>|<\?.*?(?:\?>|>)", re.S)
_ATTR_RE = re.compile(
    r"""([^\s"'<>/=]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))"""
)
_ATTR_VALUE_RE = re.compile(r"""=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+)""")
_LOOKS_LIKE_MARKUP_RE = re.compile(r"<[A-Za-z/!?]")
_DECL_RE = re.compile(r"""<!(?!--|\[CDATA\[)(?:[^>"']|"[^"]*"|'[^']*')*>|<\?.*?\??>""", re.S)
_ENTITY_DECL_RE = re.compile(
    r"""<!ENTITY\s+(%\s+)?([^\s"'>%]+)\s+(?:"([^"]*)"|'([^']*)'|[^>]*)>""", re.S)
_MAX_EXPANSION = 16 * 1024 * 1024


def keep_newlines(m: re.Match[str]) -> str:
    return "\n" * m.group().count("\n") or " "


def keep_newlines_only(m: re.Match[str]) -> str:
    return "\n" * m.group().count("\n")


def looks_like_markup(text: str) -> bool:
    return "<" in text and _LOOKS_LIKE_MARKUP_RE.search(text) is not None


def strip_tags(text: str) -> str:
    """Text view of markup held in a string (search index, attribute value,
    CDATA): inline tags vanish, every other tag becomes a separator."""
    if "<!--" in text:
        text = _COMMENT_RE.sub(" ", text)
    text = INLINE_TAG_RE.sub("", text)
    return ANY_TAG_RE.sub(" ", text)


def expand_entities(text: str) -> str | None:
    """``text`` with its internal general entities (``<!ENTITY name "value">``) expanded
    wherever ``&name;`` is used, as an XML reader shows them; None when the expansion
    grows past 16 MB or does not settle (an entity bomb cannot be cleared)."""
    entities: dict[str, str] = {}
    for m in _ENTITY_DECL_RE.finditer(text):
        if not m.group(1) and (m.group(3) is not None or m.group(4) is not None):
            entities.setdefault(m.group(2), m.group(3) if m.group(3) is not None else m.group(4))
    if not entities:
        return text
    ref_re = re.compile("&(%s);" % "|".join(re.escape(k) for k in entities))
    limit = max(_MAX_EXPANSION, 4 * len(text))
    for _ in range(16):
        if not ref_re.search(text):
            return text
        text = ref_re.sub(lambda m: entities[m.group(1)], text)
        if len(text) > limit:
            return None
    return None


def _attribute_view(values: str) -> str:
    """Attribute values as the browser sees them (entities decoded), so that
    markup they carry (``srcdoc``, tooltips) gets its text view too."""
    if "&" in values:
        values = html.unescape(values)
    return with_markup_view(values)


def with_markup_view(text: str) -> str:
    """``text``, plus its tag-stripped view when it holds markup and its
    percent-decoded view when it holds URL escapes."""
    if looks_like_markup(text):
        text = text + SEP + strip_tags(text)
    return with_url_view(text)


def _split_blocks(text: str) -> tuple[str, dict[str, list[str]]]:
    """(the document without comments, script/style content and CDATA; those, by kind)."""
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
    return ("".join(pieces) + text[pos:] if pieces else text), other


def _attribute_segments(label: str, body: str) -> list[Segment]:
    tags = "\n".join(_OPEN_TAG_RE.findall(body))
    if "=" not in tags:
        return []

    def per_attribute(tags: str = tags) -> list[Segment]:
        groups: dict[str, list[str]] = {}
        for name, v1, v2, v3 in _ATTR_RE.findall(tags):
            groups.setdefault(name.lower(), []).append(v1 or v2 or v3)
        return [
            Segment(f"{label} (attribute {name})", _attribute_view(SEP.join(values)))
            for name, values in groups.items()
        ]

    values = SEP.join(_ATTR_VALUE_RE.findall(tags))
    return [Segment(f"{label} (attributes)", _attribute_view(values), refine=per_attribute)]


def _block_segments(label: str, other: dict[str, list[str]]) -> list[Segment]:
    segs: list[Segment] = []
    for what, values in other.items():
        joined = SEP.join(values)
        sub = f"{label} ({what})"
        if what == "style":
            segs.append(Segment(sub, joined))
        elif what == "comment":
            segs.append(Segment(sub, with_markup_view(joined)))
        else:  # script, CDATA: string escapes, and markup held in templates/strings
            segs.extend(text_segments(sub, joined, False))
            if looks_like_markup(joined):
                segs.append(Segment(sub, strip_tags(joined)))
    return segs


def markup_segments(label: str, text: str) -> list[Segment]:
    """HTML/XML/SVG: rendered text (SVG ``title``/``desc``/``metadata`` included), every
    attribute value, comments, script and style content, CDATA sections, declarations
    (DOCTYPE internal subset, processing instructions), with XML internal entities
    expanded.  An entity expansion that cannot be bounded is reported by the caller
    through :func:`expand_entities` returning None; here the unexpanded text is read."""
    if "<!ENTITY" in text:
        expanded = expand_entities(text)
        if expanded is not None:
            text = expanded
    body, other = _split_blocks(text)
    segs = [Segment(label, with_url_view(ANY_TAG_RE.sub(" ", INLINE_TAG_RE.sub("", body))))]
    if "<!" in body or "<?" in body:
        decls = _DECL_RE.findall(body)
        if decls:
            segs.append(Segment(f"{label} (declaration)", SEP.join(decls)))
    segs.extend(_attribute_segments(label, body))
    segs.extend(_block_segments(label, other))
    return segs
