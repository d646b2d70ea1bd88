"""markdown-it-py set-up for the authoring syntax.

Adds, on top of CommonMark + tables + footnotes + admonitions + attribute spans:

* ``fenced_div`` block rule: Pandoc fenced divs as one-line ``div_open`` / ``div_close``
  tokens (nesting is matched afterwards, so unbalanced, stray and crossing fences are
  reported, not guessed); a line that looks like a fence but is malformed gives ``div_bad``.
* ``cite`` inline rules: ``[see @a, 12; @b]``, ``[-@a]`` and narrative ``@a`` /
  cross-references ``@sec-x``, ``[@sec-x]`` and ``[-@sec-x]`` (the bare number).
* ``inline_note``: ``^[text]`` with positions of its children.
* every inline token records ``meta["pos"]``/``meta["end"]``: offsets into the inline
  token's content, so diagnostics can give ``line:col``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable

from markdown_it import MarkdownIt
from markdown_it.helpers import parseLinkLabel
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.attrs.parse import ParseError, parse as parse_attrs_raw
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

FENCE_RE = re.compile(r"^(:{3,})[ \t]*(.*?)[ \t]*$")
HEADING_ATTR_RE = re.compile(r"[ \t]+(\{[^{}]*\})[ \t]*$")
KEY_RE = re.compile(r"[A-Za-z0-9_][\w:.#$%&+?<>~/-]*")
_KEY_TAIL = re.compile(r"[:.#$%&+?<>~/-]+$")


def parse_attrs(text: str) -> tuple[dict[str, str] | None, str]:
    """Parse ``{#id .class key="v"}``; returns (attrs, error). Classes joined in 'class'."""
    try:
        end, attrs = parse_attrs_raw(text)
    except ParseError as exc:
        return None, str(exc)
    if end + 1 != len(text):
        return None, "unexpected text after the attributes"
    return dict(attrs), ""


# --------------------------------------------------------------------------- block rule


def fenced_div(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    pos = state.bMarks[start_line] + state.tShift[start_line]
    maximum = state.eMarks[start_line]
    if state.src[pos : pos + 3] != ":::":
        return False
    line = state.src[pos:maximum]
    m = FENCE_RE.match(line)
    if not m:
        return False
    if silent:
        return True
    rest = m.group(2)
    if not rest:
        tok = state.push("div_close", "div", 0)
        tok.meta = {"colons": len(m.group(1))}
    else:
        rest_clean = re.sub(r"[ \t]*:*$", "", rest)  # Pandoc allows trailing colons
        attrs, err = (None, "")
        if rest_clean.startswith("{"):
            attrs, err = parse_attrs(rest_clean)
        elif re.fullmatch(r"[A-Za-z][\w-]*", rest_clean):
            attrs = {"class": rest_clean}
        else:
            err = "expected {attributes} or a class name after the colons"
        if attrs is None:
            tok = state.push("div_bad", "div", 0)
            tok.meta = {"error": err, "text": rest}
        else:
            tok = state.push("div_open", "div", 0)
            tok.meta = {"attrs": attrs, "colons": len(m.group(1)), "raw": rest_clean}
    tok.map = [start_line, start_line + 1]
    # column on the source line (bMarks of a line inside a block quote starts after its '>')
    tok.meta["col"] = pos - (state.src.rfind("\n", 0, pos) + 1) + 1
    state.line = start_line + 1
    return True


# --------------------------------------------------------------------------- core rule


def heading_attrs(state: StateCore) -> None:
    """Move a trailing ``{#id .class}`` of a heading into heading_open.meta['attrs']."""
    toks = state.tokens
    for i, tok in enumerate(toks):
        if tok.type != "heading_open":
            continue
        inline = toks[i + 1]
        m = HEADING_ATTR_RE.search(" " + inline.content)
        if not m:
            continue
        attrs, err = parse_attrs(m.group(1))
        tok.meta["attr_text"] = m.group(1)
        tok.meta["attr_offset"] = m.start(1) - 1  # offset in inline.content
        if attrs is None:
            tok.meta["attr_error"] = err
            continue
        tok.meta["attrs"] = attrs
        inline.content = inline.content[: max(0, m.start() - 1)].rstrip()
        inline.children = []


# --------------------------------------------------------------------------- inline rules

CITE_KEY = r"[A-Za-z0-9_][\w:.#$%&\-+?<>~/]*"
CITE_ITEM_RE = re.compile(r"^(?P<prefix>.*?)(?P<suppress>-?)@(?P<key>" + CITE_KEY + r")(?P<rest>.*)$", re.S)


def _clean_key(key: str) -> tuple[str, str]:
    """Trailing punctuation is not part of a key (Pandoc): returns (key, stripped tail)."""
    m = _KEY_TAIL.search(key)
    if m:
        return key[: m.start()], m.group(0)
    return key, ""


def parse_cite_cluster(inner: str) -> list[dict[str, Any]] | None:
    """Split the inside of ``[...]`` into citation items; None if it is not a citation."""
    items = []
    offset = 0
    for part in inner.split(";"):
        m = CITE_ITEM_RE.match(part)
        if not m:
            return None
        prefix = m.group("prefix")
        if prefix and not re.search(r"(^|\s)$", prefix):
            return None  # e.g. an e-mail address inside brackets
        key, tail = _clean_key(m.group("key"))
        rest = tail + m.group("rest")
        locator = suffix = ""
        rest_s = rest.strip()
        if rest_s.startswith(","):
            tail_text = rest_s[1:].strip()
            locator, suffix = split_locator(tail_text)
        elif rest_s:
            suffix = rest_s
        items.append(
            {
                "key": key,
                "prefix": prefix.strip(),
                "suppress_author": bool(m.group("suppress")),
                "locator": locator,
                "suffix": suffix,
                "raw_rest": rest_s,
                "key_offset": offset + m.start("key"),
            }
        )
        offset += len(part) + 1
    return items or None


LOCATOR_LABELS = r"(?:pp?\.|pages?|ch\.|chap\.|chapters?|sec\.|sections?|paras?\.|§+|fig\.|n\.|nn\.|vol\.)"
_NUM = r"(?:\d+(?:[a-z](?![.\w]))?|[ivxlcdm]+(?![\w])|[IVXLCDM]+(?![\w]))"
_ITEM = _NUM + r"(?:\s*(?:-|–|—)\s*" + _NUM + r")?(?:\s*ff?\.)?"
LOCATOR_RE = re.compile(
    r"^(?:(?P<label>" + LOCATOR_LABELS + r")\s*)?"
    r"(?P<value>" + _ITEM + r"(?:\s*,\s*" + _ITEM + r")*)"
    r"(?P<rest>.*)$",
    re.S,
)


def split_locator(text: str) -> tuple[str, str]:
    """'pp. 130-131 passim' -> ('pp. 130-131', 'passim'). Locator '' if none recognised."""
    m = LOCATOR_RE.match(text)
    if not m or not m.group("value"):
        return "", text  # caller decides whether that is malformed
    rest = m.group("rest")
    if rest and not re.match(r"^(\s|,|$)", rest):
        return "", text
    loc = text[: m.start("rest")].strip()
    return loc, rest.strip().lstrip(",").strip()


def cite_bracket(state: StateInline, silent: bool) -> bool:
    src = state.src
    start = state.pos
    if src[start] != "[":
        return False
    end = parseLinkLabel(state, start, True)
    if end < 0:
        return False
    inner = src[start + 1 : end]
    if "@" not in inner or "[" in inner:
        return False
    # a link or span takes precedence: [x](...) / [x]{...} / [x][ref]
    nxt = src[end + 1 : end + 2]
    if nxt in ("(", "{", "["):
        return False
    items = parse_cite_cluster(inner)
    if items is None:
        return False
    it = items[0]
    if len(items) == 1 and it["key"].startswith("sec-") and not it["prefix"] and not it["raw_rest"]:
        # a cross-reference in brackets (Quarto's convention): [-@sec-x] is the bare number
        # ("(3.4 below)"), [@sec-x] the same as @sec-x ("section 3.4")
        if not silent:
            tok = state.push("xref", "", 0)
            tok.meta = {"id": it["key"], "bare": bool(it["suppress_author"])}
            tok.content = src[start : end + 1]
        state.pos = end + 1
        return True
    if not silent:
        tok = state.push("cite", "", 0)
        tok.meta = {"items": items, "bracketed": True, "inner_start": start + 1}
        tok.content = src[start : end + 1]
    state.pos = end + 1
    return True


NARRATIVE_RE = re.compile(r"@(" + CITE_KEY + r")")


def cite_narrative(state: StateInline, silent: bool) -> bool:
    src = state.src
    start = state.pos
    if src[start] != "@":
        return False
    if start > 0 and (src[start - 1].isalnum() or src[start - 1] in "_.-@"):
        return False
    m = NARRATIVE_RE.match(src, start, state.posMax)
    if not m:
        return False
    key, tail = _clean_key(m.group(1))
    if not key:
        return False
    if not silent:
        kind = "xref" if key.startswith("sec-") else "figref" if key.startswith("fig-") else "cite"
        tok = state.push(kind, "", 0)
        if kind in ("xref", "figref"):
            tok.meta = {"id": key}
        else:
            tok.meta = {
                "items": [{"key": key, "prefix": "", "suppress_author": False, "locator": "", "suffix": "",
                           "raw_rest": "", "key_offset": 1}],
                "bracketed": False,
                "inner_start": start,
            }
        tok.content = "@" + key
    state.pos = start + 1 + len(key)
    return True


def inline_note(state: StateInline, silent: bool) -> bool:
    src = state.src
    start = state.pos
    if start + 2 >= state.posMax or src[start] != "^" or src[start + 1] != "[":
        return False
    label_end = parseLinkLabel(state, start + 1)
    if label_end < 0:
        return False
    if not silent:
        children: list[Token] = []
        state.md.inline.parse(src[start + 2 : label_end], state.md, state.env, children)
        _fill(children, label_end - (start + 2))  # trailing text of the note has no position yet
        _shift(children, start + 2)
        tok = state.push("inline_note", "", 0)
        tok.children = children
        tok.meta = {"content_start": start + 2, "content_end": label_end}
        tok.content = src[start + 2 : label_end]
    state.pos = label_end + 1
    return True


def _shift(tokens: list[Token], delta: int) -> None:
    for t in tokens:
        if t.meta is not None and "pos" in t.meta:
            t.meta["pos"] += delta
            t.meta["end"] += delta
        if t.meta and "content_start" in t.meta:
            t.meta["content_start"] += delta
            t.meta["content_end"] += delta
        if t.meta and "inner_start" in t.meta:
            t.meta["inner_start"] += delta
        if t.children:
            _shift(t.children, delta)


InlineRule = Callable[[StateInline, bool], bool]


def _positioned(fn: InlineRule) -> InlineRule:
    def rule(state: StateInline, silent: bool) -> bool:
        start = state.pos
        n = len(state.tokens)
        pending = len(state.pending)
        ok = bool(fn(state, silent))
        if ok and not silent:
            for t in state.tokens[n:]:
                if t.meta is None:
                    t.meta = {}
                if "pos" not in t.meta:
                    if t.type == "text" and pending:
                        t.meta["pos"] = start - pending
                        t.meta["end"] = start
                        pending = 0
                    else:
                        t.meta["pos"] = start
                        t.meta["end"] = state.pos
        return ok

    return rule


def _text_positions(state: StateCore) -> None:
    """Give text tokens left pending at the end of a parse their positions."""
    for tok in state.tokens:
        if tok.type == "inline" and tok.children:
            _fill(tok.children, len(tok.content))


def _fill(children: list[Token], end_of_content: int) -> None:
    nxt = end_of_content
    for t in reversed(children):
        if t.meta is None:
            t.meta = {}
        if "pos" not in t.meta:
            t.meta["end"] = nxt
            t.meta["pos"] = max(0, nxt - len(t.content or ""))
        nxt = t.meta["pos"]


@lru_cache(maxsize=1)
def make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True})
    md.enable(["table", "strikethrough"])
    md.use(front_matter_plugin)
    md.use(footnote_plugin, inline=False, move_to_end=False, always_match_refs=True)
    md.use(admon_plugin)
    md.use(attrs_plugin, spans=True)
    md.block.ruler.before(
        "fence", "fenced_div", fenced_div, {"alt": ["paragraph", "reference", "blockquote", "list", "footnote_def"]}
    )
    md.core.ruler.after("block", "heading_attrs", heading_attrs)
    md.inline.ruler.before("link", "cite_bracket", cite_bracket)
    md.inline.ruler.after("cite_bracket", "inline_note", inline_note)
    md.inline.ruler.before("text", "cite_narrative", cite_narrative)
    for rule in md.inline.ruler.__rules__:
        if rule.name != "text":
            rule.fn = _positioned(rule.fn)
    md.inline.ruler.__cache__ = None
    md.core.ruler.after("inline", "text_positions", _text_positions)
    return md
