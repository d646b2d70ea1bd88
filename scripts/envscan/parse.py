"""Parse one chapter into the source model (regions + nodes), with diagnostics.

Positions come from markdown-it tokens: block tokens carry line maps, inline tokens carry
offsets into their block's content (see mdparse), mapped back here to absolute offsets.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import re
import unicodedata
import urllib.parse
from typing import Any, NamedTuple, cast

import yaml
from markdown_it.token import Token

from .config import DEPTH_HINT, MAX_YAML_DEPTH, Scheme, canonical_label
from .diagnostics import Diagnostic, error, warning
from .mdparse import make_parser
from .model import (Chapter, Cite, CiteRef, Comment, FigRef, FnDef, FnRef, Heading, Ibid, Image, Link, Node, Region,
                    XRef,
                    line_starts)

FRONT_KEYS = {"title": str, "marking": str, "status": str, "owners": list}
STATUSES = ("draft", "review", "final", "carried-over")  # carried-over: from the last edition, to update
DIV_CLASSES = {"editor", "tearline"}
SPAN_CLASSES = {"editor", "gap"}
ATTR_KEYS = {"marking", "id", "class"}
CONTAINERS = {"blockquote_open", "list_item_open", "footnote_reference_open", "admonition_open",
              "bullet_list_open", "ordered_list_open", "table_open"}

# look-alikes of the marking syntax that markdown would otherwise show as text (fail closed)
LOOKALIKE_FENCE = re.compile(r"^\s*(?:[:：꞉∶˸︰﹕︓ː]\s*){2,}(?:\{|[A-Za-z]|\s*$)")
LOOKALIKE_ATTR = re.compile(r"\{[^{}\n]*m\W{0,2}a\W{0,2}r\W{0,2}k\W{0,2}i\W{0,2}n\W{0,2}g[^{}\n]*\}?", re.I)
EDITOR_ATTR = re.compile(r"\{[^{}\n]*\.editor\b")
INCLUDE_RE = re.compile(r"-{1,2}8<-{1,2}|\{%-?\s*include|\{!\s*[^}]*!\}|\{\{\s*include")
UNPARSED_CITE_RE = re.compile(r"\[-?@[A-Za-z0-9_][^\]\n]*\](?=[\[(])")  # "[@key][" / "[@key](": a link, not a citation
CRITIC_RE = re.compile(r"\{(\+\+|--|~~|==|>>)|(\+\+|--|~~|==|<<)\}")
ABBR_DEF_RE = re.compile(r"^\*\[[^\]]+\]:", re.M)
IBID_RE = re.compile(r"\b(ibid|ibidem)\b\.?", re.I)
HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
ATTR_NAME_RE = re.compile(r"(?:^|[\s{])(?:(#)|([A-Za-z_][\w.:-]*)\s*=)")
AFFIX_BAD = re.compile(r"[<>{}^`*_\\]|\]")
FENCE_INFO_RE = re.compile(r"[\w+#.-]*")
MAX_NESTING = 16
# default deny: every token type the renderer knows; anything else is an error
KNOWN_BLOCK = {"front_matter", "paragraph_open", "paragraph_close", "heading_open", "heading_close", "inline",
               "bullet_list_open", "bullet_list_close", "ordered_list_open", "ordered_list_close", "list_item_open",
               "list_item_close", "blockquote_open", "blockquote_close", "fence", "code_block", "hr", "table_open",
               "table_close", "thead_open", "thead_close", "tbody_open", "tbody_close", "tr_open", "tr_close",
               "th_open", "th_close", "td_open", "td_close", "footnote_reference_open", "footnote_reference_close",
               "admonition_open", "admonition_close", "admonition_title_open", "admonition_title_close",
               "div_open", "div_close", "div_bad", "html_block"}
KNOWN_INLINE = {"text", "softbreak", "hardbreak", "code_inline", "em_open", "em_close", "strong_open", "strong_close",
                "s_open", "s_close", "link_open", "link_close", "image", "span_open", "span_close", "cite", "xref",
                "inline_note", "footnote_ref", "html_inline", "figref"}
FIG_ID_RE = re.compile(r"fig-[A-Za-z0-9][\w-]*")  # {#fig-x} on an image: a numbered figure
NATURAL_ATTRS = {"link_open": {"href", "title"}, "image": {"src", "alt", "title"}}


class _Ctx:
    def __init__(self, path: str, text: str, scheme: Scheme):
        self.path = path
        self.text = text
        self.scheme = scheme
        self.starts = line_starts(text)
        self.lines = text.split("\n")
        self.diags: list[Diagnostic] = []

    def off(self, line0: int, col0: int = 0) -> int:
        if line0 >= len(self.starts):
            return len(self.text)
        return self.starts[line0] + col0

    def lc(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, offset) - 1
        return i + 1, offset - self.starts[i] + 1

    def err(self, code: str, msg: str, offset: int, *hints: str) -> None:
        ln, col = self.lc(offset)
        self.diags.append(error(code, msg, self.path, ln, col, *hints))

    def warn(self, code: str, msg: str, offset: int, *hints: str) -> None:
        ln, col = self.lc(offset)
        self.diags.append(warning(code, msg, self.path, ln, col, *hints))

    def check_marking(self, label: str, offset: int) -> str | None:
        if label in self.scheme.labels:
            return label
        canon = canonical_label(label)
        near = [x for x in self.scheme.labels if canonical_label(x) == canon]
        if near:
            self.err("E-MARK-LOOKALIKE", f"marking {label!r} is not written exactly as the scheme's label", offset,
                     f"write {near[0]!r}")
        else:
            sugg = difflib.get_close_matches(canon, self.scheme.labels, 1, 0.5)
            self.err("E-MARK-UNKNOWN", f"unknown marking label {label!r}", offset,
                     f"did you mean {sugg[0]!r}?" if sugg else f"labels: {', '.join(self.scheme.labels)}")
        # fail closed: an unreadable label is treated as the most restrictive
        return self.scheme.labels[-1]


def _line_map(ctx: _Ctx, tok: Token, start_col: int = 0) -> list[tuple[int, int]]:
    """For each line of an inline token's content: (content offset, absolute offset).

    ``start_col``: the first line's content starts at or after this column (0-based); table
    cells pass the end of the previous cell, so that equal cells in a row are told apart.
    """
    out = []
    l0 = tok.map[0] if tok.map else 0
    c = 0
    for k, cl in enumerate(tok.content.split("\n")):
        ln = l0 + k
        src = ctx.lines[ln] if ln < len(ctx.lines) else ""
        s = cl.rstrip()
        lo = start_col if k == 0 else 0
        base = len(src.rstrip()) - len(s)
        if base < lo or src[base: base + len(s)] != s:
            base = src.find(s, lo) if s else lo
            if base < 0:
                base = src.find(s) if s else 0
            if base < 0:
                base = 0
        out.append((c, ctx.off(ln, base)))
        c += len(cl) + 1
    return out


def _first(pair: tuple[int, int]) -> int:
    return pair[0]


def _abs(lmap: list[tuple[int, int]], pos: int) -> int:
    # the last line whose content offset is <= pos (content offsets are increasing)
    i = bisect.bisect_right(lmap, pos, key=_first) - 1
    c, a = lmap[max(i, 0)]
    return a + (pos - c)


_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: same results, faster


def _python_yaml_error(text: str, exc: Exception) -> Exception:
    """The pure-Python parser's wording of a YAML error (libyaml's differs), for stable messages."""
    try:
        yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as py_exc:
        return cast(Exception, py_exc)
    except RecursionError:  # deep input the C parser refused (PyYAML >= 6.0.4 bounds nesting): keep its error
        return exc
    return exc


def parse_front_matter(ctx: _Ctx, tok: Token) -> tuple[dict[str, Any], dict[str, int]]:
    from .config import yaml_bounds

    content = tok.meta.get("content", tok.content) if tok.meta else tok.content
    base_line = (tok.map[0] if tok.map else 0) + 1  # line of content start (0-based)
    try:
        # bounded first: 3,000 levels make the composer recurse too deep, an alias bomb never ends
        bound = yaml_bounds(content, _YAML) if content.strip() else None
        if bound:
            ctx.diags.append(error("E-FRONT-YAML", f"malformed front matter: {bound[2]}", ctx.path,
                                   base_line + bound[0] + 1, bound[1] + 1, bound[3]))
            return {}, {}
        data = yaml.load(content, Loader=_YAML) if content.strip() else {}
    except yaml.YAMLError as raised:
        exc = _python_yaml_error(content, raised)
        mark = getattr(exc, "problem_mark", None)
        ln = base_line + (mark.line if mark else 0)
        problem = str(getattr(exc, "problem", exc))
        deep = "nesting depth" in problem  # PyYAML >= 6.0.4 refuses deep input itself: same words as ours
        ctx.diags.append(error("E-FRONT-YAML", "malformed front matter: " + (
            f"nested more than {MAX_YAML_DEPTH} levels deep" if deep else problem), ctx.path, ln + 1,
            (mark.column + 1) if mark else 1, DEPTH_HINT if deep else "front matter is YAML between two '---' lines"))
        return {}, {}
    if not isinstance(data, dict):
        ctx.diags.append(error("E-FRONT-YAML", "front matter must be a YAML mapping", ctx.path, base_line + 1, 1))
        return {}, {}
    # key lines (from the YAML nodes), and keys given twice: YAML keeps the last silently,
    # which for 'marking' would fail open
    key_lines: dict[str, int] = {}
    node = yaml.compose(content, Loader=_YAML)
    for knode, _ in node.value if isinstance(node, yaml.MappingNode) else []:
        key = str(knode.value) if isinstance(knode, yaml.ScalarNode) else str(knode)
        ln = base_line + knode.start_mark.line + 1
        if key in key_lines:
            ctx.diags.append(error("E-FRONT-KEY", f"front-matter key {key!r} is given twice (first on line "
                                   f"{key_lines[key]})", ctx.path, ln, knode.start_mark.column + 1,
                                   "keep one of them"))
            if key == "marking":
                data["marking"] = ctx.scheme.labels[-1]  # fail closed until resolved
            continue
        key_lines[key] = ln
    for k, v in data.items():
        ln = key_lines.get(str(k), base_line + 1)
        if k not in FRONT_KEYS:
            sugg = difflib.get_close_matches(str(k), list(FRONT_KEYS), 1)
            ctx.diags.append(error("E-FRONT-KEY", f"unknown front-matter key {k!r}", ctx.path, ln, 1,
                                   f"did you mean {sugg[0]!r}?" if sugg else f"allowed keys: {', '.join(FRONT_KEYS)}"))
        elif not isinstance(v, FRONT_KEYS[k]) or (k == "owners" and not all(isinstance(o, str) for o in v)):
            ctx.diags.append(error("E-FRONT-TYPE", f"front-matter key {k!r} must be a {FRONT_KEYS[k].__name__}"
                                   + (" of names" if k == "owners" else ""), ctx.path, ln, 1))
    if "status" in data and data["status"] not in STATUSES:
        ctx.diags.append(error("E-FRONT-STATUS", f"status {data['status']!r} is not one of {', '.join(STATUSES)}",
                               ctx.path, key_lines.get("status", base_line + 1), 1))
    if "title" not in data:
        ctx.diags.append(error("E-FRONT-TITLE", "front matter has no 'title'", ctx.path, base_line, 1))
    return data, key_lines


def parse_chapter(path: str, name: str, text: str, scheme: Scheme) -> tuple[Chapter, list[Diagnostic]]:
    """Parse one chapter into its token tree, regions and typed nodes, with diagnostics."""
    if "\r" in text:  # sources come normalised (source.decode); be safe for direct callers
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ChapterParser(path, name, text, scheme).run()


class _RegionAttrs(NamedTuple):
    marking: str | None
    editor: bool
    tearline: bool
    gap: bool


class _ChapterParser:
    """One chapter's parse: ``run`` reads the front matter, walks the block tokens (one method
    per construct), then the inline tokens of each block, and finishes with whole-chapter
    checks. Every token is either understood here or an error (default deny)."""

    def __init__(self, path: str, name: str, text: str, scheme: Scheme):
        self.ctx = _Ctx(path, text, scheme)
        self.path, self.name, self.text, self.scheme = path, name, text, scheme
        self.env: dict[str, Any] = {}
        self.tokens: list[Token] = make_parser().parse(text, self.env)
        self.root = Region("chapter", 0, len(text), 1, 1, marking=scheme.default)
        self.regions: list[Region] = [self.root]
        self.nodes: list[Node] = []
        self.texts: list[tuple[int, int, str]] = []
        self.code_ranges: list[tuple[int, int]] = []  # code spans and blocks: their text is not syntax
        self.div_stack: list[tuple[Region, tuple[int, ...]]] = []  # (region, container path)
        self.containers: list[Token] = []
        self.note_stack: list[str] = []
        self.inline_notes = 0
        self.cell_end: dict[int, int] = {}  # table row line -> column after its last cell seen
        self.front: dict[str, Any] = {}
        self.front_end = 0

    # ------------------------------------------------------------------ driver

    def run(self) -> tuple[Chapter, list[Diagnostic]]:
        key_lines = self.front_matter()
        i, n = 0, len(self.tokens)
        while i < n:
            tok = self.tokens[i]
            self.track_containers(tok, i)
            if tok.level >= MAX_NESTING:
                self.ctx.err("E-NESTING", f"blocks nested more than {MAX_NESTING} deep", self.block_off(tok),
                             "flatten the lists or quotes")
                break
            i = self.block(tok, i)
        _coverage(self.ctx, self.tokens, self.env)
        self.finish()
        title = str(self.front["title"]) if isinstance(self.front.get("title"), str) else self.name
        ch = Chapter(path=self.path, name=self.name, text=self.text, line_starts=self.ctx.starts, front=self.front,
                     front_end=self.front_end, title=title, marking=self.root.marking or self.scheme.default,
                     status=str(self.front.get("status", "draft")), root=self.root, regions=self.regions,
                     nodes=self.nodes, texts=self.texts, tokens=self.tokens)
        del key_lines
        return ch, self.ctx.diags

    def front_matter(self) -> dict[str, int]:
        ctx, toks = self.ctx, self.tokens
        key_lines: dict[str, int] = {}
        if toks and toks[0].type == "front_matter":
            self.front, key_lines = parse_front_matter(ctx, toks[0])
            self.front_end = ctx.off(toks[0].map[1]) if toks[0].map else 0
        elif self.text.lstrip().startswith("---"):
            ctx.err("E-FRONT-YAML", "front matter is not closed by a '---' line", 0)
        else:
            ctx.err("E-FRONT-MISSING", "chapter has no front matter", 0,
                    "start the file with ---, title:, marking:, status:, owners:, ---")
        title = self.front.get("title")
        if isinstance(title, str) and (LOOKALIKE_ATTR.search(title) or "<" in title or EDITOR_ATTR.search(title)):
            ctx.err("E-MARK-HEADING", "a page title may not be partly marked or hold markup or an editor note (the "
                    "title is shown as written)", ctx.off(key_lines.get("title", 1) - 1),
                    "mark the whole chapter with marking: in the front matter instead")
        if isinstance(self.front.get("marking"), str):
            ln = key_lines.get("marking", 1)
            self.root.marking = ctx.check_marking(self.front["marking"], ctx.off(ln - 1)) or self.scheme.default
        return key_lines

    def block_off(self, tok: Token) -> int:
        return self.ctx.off(tok.map[0]) if tok.map else 0

    def current_region(self) -> Region:
        return self.div_stack[-1][0] if self.div_stack else self.root

    def current_note(self) -> str | None:
        return self.note_stack[-1] if self.note_stack else None

    def new_region(self, **kw: Any) -> Region:
        r = Region(**kw)
        r.index = len(self.regions)
        if r.parent is not None:
            r.parent.children.append(r)
        self.regions.append(r)
        return r

    def container_path(self) -> tuple[int, ...]:
        return tuple(id(c) for c in self.containers)

    def track_containers(self, tok: Token, i: int) -> None:
        typ = tok.type
        if typ in CONTAINERS:
            self.containers.append(tok)
            if typ == "footnote_reference_open":
                self.footnote_def(tok, i)
        elif typ.endswith("_close") and typ.replace("_close", "_open") in CONTAINERS:
            if self.containers:
                self.containers.pop()
            if typ == "footnote_reference_close" and self.note_stack:
                self.note_stack.pop()

    # ------------------------------------------------------------------ blocks

    def block(self, tok: Token, i: int) -> int:
        """Handle the block token at ``i``; returns the index of the next one."""
        typ = tok.type
        if typ == "div_open":
            self.div_open(tok)
        elif typ == "div_close":
            self.div_close(tok)
        elif typ == "div_bad":
            self.div_bad(tok)
        elif typ == "heading_open":
            self.heading(tok, self.tokens[i + 1])
            return i + 3
        elif typ == "inline":
            prev = self.tokens[i - 1] if i > 0 else None
            cell = prev is not None and prev.type in ("td_open", "th_open") and bool(tok.map)
            lmap = _line_map(self.ctx, tok, self.cell_end.get(tok.map[0], 0) if cell and tok.map else 0)
            if cell and tok.map:  # the next cell of this row starts after this one (and its '|')
                first = tok.content.split("\n")[0].rstrip()
                self.cell_end[tok.map[0]] = lmap[0][1] - self.ctx.off(tok.map[0]) + len(first) + 1
            self.inline(tok.children or [], lmap, self.current_region(), self.current_note(), None)
        elif typ == "html_block":
            _html(self.ctx, tok.content, self.block_off(tok), self.current_region(), self.nodes, self.current_note())
        elif typ in ("fence", "code_block"):
            self.code_block(tok)
        elif typ not in KNOWN_BLOCK:
            self.ctx.err("E-SYNTAX", f"unsupported Markdown construct ({typ})", self.block_off(tok),
                         "envscan renders only the constructs listed in AUTHORING.md")
        return i + 1

    def footnote_def(self, tok: Token, i: int) -> None:
        ctx = self.ctx
        label = tok.meta["label"]
        l0, l1 = tok.map if tok.map else (0, 0)
        if label.startswith("^") or any(ch.isspace() for ch in label):
            ctx.err("E-FN-LABEL", f"footnote label [^{label}] is reserved", ctx.off(l0),
                    "use letters, digits, '-' or '_' for footnote labels")
        # where "[^label]:" and the blanks after it are on the line (a str search: one regex per
        # label would be compiled for every note)
        line = ctx.lines[l0]
        m_start = line.find(f"[^{label}]:")
        m_end = m_start + len(label) + 4
        if m_start >= 0:
            while m_end < len(line) and line[m_end] in " \t":
                m_end += 1
        col = (m_start + 1) if m_start >= 0 else 1
        if self.note_stack:
            ctx.err("E-FN-NESTED", "a footnote definition inside another footnote", ctx.off(l0, col - 1))
        node = FnDef(ctx.off(l0, 0), ctx.off(l1, 0), l0 + 1, col, self.current_region(), None, label=label,
                     content=(ctx.off(l0, m_end if m_start >= 0 else 0), ctx.off(l1, 0)), token=i)
        self.nodes.append(node)
        tok.meta["node"] = node
        self.note_stack.append(label)

    def region_attrs(self, attrs: dict[str, Any], offset: int, kind: str) -> _RegionAttrs:
        ctx = self.ctx
        marking: str | None = None
        flags = {"editor": False, "tearline": False, "gap": False}
        allowed_classes = DIV_CLASSES if kind == "div" else SPAN_CLASSES
        for k, v in attrs.items():
            if k == "marking":
                marking = ctx.check_marking(str(v), offset)
            elif k == "class":
                for c in str(v).split():
                    if c in allowed_classes:
                        flags[c] = True
                    elif c != "unnumbered":
                        sugg = difflib.get_close_matches(c, sorted(allowed_classes), 1)
                        ctx.err("E-ATTR-UNKNOWN", f"unknown class '.{c}' on a {kind}", offset,
                                f"did you mean '.{sugg[0]}'?" if sugg else
                                f"known classes: {', '.join('.' + x for x in sorted(allowed_classes))}")
            elif k != "id":
                sugg = difflib.get_close_matches(k, sorted(ATTR_KEYS), 1)
                # fail closed: an attribute that may have been meant as a marking restricts fully
                if "mark" in k.lower() or (sugg and sugg[0] == "marking"):
                    marking = self.scheme.labels[-1]
                ctx.err("E-ATTR-UNKNOWN", f"unknown attribute {k!r} on a {kind}", offset,
                        f"did you mean {sugg[0]!r}?" if sugg else "known attributes: marking, id, class")
        return _RegionAttrs(marking, flags["editor"], flags["tearline"], flags["gap"])

    def div_open(self, tok: Token) -> None:
        ctx = self.ctx
        l0 = tok.map[0] if tok.map else 0
        off = ctx.off(l0, tok.meta["col"] - 1)
        ra = self.region_attrs(tok.meta["attrs"], off, "div")
        if len(self.div_stack) >= MAX_NESTING:  # fail closed: restricted, and an error with its place
            ctx.err("E-NESTING", f"fenced blocks nested more than {MAX_NESTING} deep", off,
                    "flatten the ::: blocks (a nested marking can only raise the level)")
            ra = ra._replace(marking=self.scheme.labels[-1])
        parent = self.current_region()
        r = self.new_region(kind="div", start=ctx.off(l0), end=len(self.text), line=l0 + 1, col=tok.meta["col"],
                            parent=parent, marking=ra.marking, editor=ra.editor, tearline=ra.tearline)
        if ra.tearline and (parent.kind != "div" or not parent.marking or ra.marking is None):
            ctx.err("E-TEARLINE", "a tearline must carry its own marking and sit directly inside a marked block",
                    off, "write ::: {.tearline marking=\"TLP:CLEAR\"} inside the ::: {marking=...} block")
        tok.meta["region"] = r
        dup = duplicate_attrs(tok.meta.get("raw", ""))
        if dup:
            ctx.err("E-ATTR-DUP", f"attribute {dup!r} is given twice", off,
                    "give each attribute once (a repeated marking is ambiguous)")
            r.marking = self.scheme.labels[-1]
        self.div_stack.append((r, self.container_path()))

    def div_close(self, tok: Token) -> None:
        ctx = self.ctx
        l0 = tok.map[0] if tok.map else 0
        off = ctx.off(l0, tok.meta["col"] - 1)
        if not self.div_stack:
            ctx.err("E-DIV-STRAY", "closing ':::' without an opening fence", off,
                    "remove it, or open the block with ::: {marking=\"…\"}")
            return
        r, cpath = self.div_stack.pop()
        if cpath != self.container_path():
            ctx.err("E-DIV-CROSSING", f"block opened on line {r.line} is closed in a different "
                    "list, quote, note or admonition", off,
                    "open and close a marked block at the same indentation, in the same container")
        r.end = ctx.off(l0 + 1)
        tok.meta["region"] = r

    def div_bad(self, tok: Token) -> None:
        ctx = self.ctx
        l0 = tok.map[0] if tok.map else 0
        ctx.err("E-DIV-SYNTAX", f"malformed fenced block: {tok.meta['error']}", ctx.off(l0, tok.meta["col"] - 1),
                "write ::: {marking=\"TLP:AMBER\"} (or {.editor}, {.tearline marking=\"…\"})")
        # fail closed: treat as a fully restricted block until its fence is fixed
        r = self.new_region(kind="div", start=ctx.off(l0), end=len(self.text), line=l0 + 1, col=tok.meta["col"],
                            parent=self.current_region(), marking=self.scheme.labels[-1])
        tok.meta["region"] = r
        self.div_stack.append((r, self.container_path()))

    def heading(self, tok: Token, inline: Token) -> None:
        ctx = self.ctx
        l0 = tok.map[0] if tok.map else 0
        lmap = _line_map(ctx, inline)
        start = _abs(lmap, 0)
        attrs = tok.meta.get("attrs") or {}
        attr_text = tok.meta.get("attr_text")
        if "attr_error" in tok.meta:
            ctx.err("E-HEADING-ATTR", f"malformed heading attributes: {tok.meta['attr_error']}",
                    _find_in_lines(ctx, tok.map, attr_text, start) or start, "write {#sec-id} or {#sec-id .unnumbered}")
        attr_off = _find_in_lines(ctx, tok.map, attr_text, None) if attr_text and attrs else None
        classes = str(attrs.get("class", "")).split()
        dup = duplicate_attrs(attr_text or "")
        if dup:
            ctx.err("E-ATTR-DUP", f"attribute {dup!r} is given twice", attr_off or start, "give each attribute once")
        for k in attrs:
            if k not in ("id", "class"):
                ctx.err("E-HEADING-ATTR", f"headings take only an id and classes, not {k!r}", attr_off or start,
                        "mark a whole section with a ::: {marking=...} block")
        for c in classes:
            if c != "unnumbered":
                ctx.err("E-HEADING-ATTR", f"unknown heading class '.{c}'", attr_off or start,
                        "the only heading class is .unnumbered")
        h = Heading(ctx.off(l0), ctx.off(l0 + 1), l0 + 1, (start - ctx.off(l0)) + 1, self.current_region(),
                    self.current_note(), level=int(tok.tag[1]), id=attrs.get("id"), unnumbered="unnumbered" in classes,
                    text=inline.content, attr_off=attr_off, inline=inline)
        self.nodes.append(h)
        tok.meta["node"] = h
        self.texts.append((start, start + len(inline.content), inline.content))
        self.inline(inline.children or [], lmap, self.current_region(), self.current_note(), h)

    def code_block(self, tok: Token) -> None:
        ctx = self.ctx
        l0, l1 = tok.map if tok.map else (0, 0)
        if tok.type == "fence" and not FENCE_INFO_RE.fullmatch(tok.info.strip()):
            ctx.err("E-CODE-INFO", "a code block's info string is a language name only (attributes are not "
                    "allowed there)", ctx.off(l0), "write ```text or ```python; mark the block with ::: instead")
        _code_check(ctx, tok.content, ctx.off(l0))
        self.texts.append((ctx.off(l0), ctx.off(l1), tok.content))
        self.code_ranges.append((ctx.off(l0), ctx.off(l1)))

    # ------------------------------------------------------------------ inline

    def inline(self, children: list[Token], lmap: list[tuple[int, int]], block_region: Region, note: str | None,
               in_heading: Heading | None) -> None:
        span_stack: list[Region] = []
        for t in children:
            meta = t.meta or {}
            pos = meta.get("pos", 0)
            at = _At(_abs(lmap, pos), _abs(lmap, meta.get("end", pos)), *self.ctx.lc(_abs(lmap, pos)),
                     span_stack[-1] if span_stack else block_region, note)
            if t.type == "span_open":
                span_stack.append(self.span_open(t, at, in_heading))
            elif t.type == "span_close":
                if span_stack:
                    span_stack.pop()
            elif t.type not in KNOWN_INLINE:
                self.ctx.err("E-SYNTAX", f"unsupported Markdown construct ({t.type})", at.start,
                             "envscan renders only the constructs listed in AUTHORING.md")
            else:
                self.inline_token(t, at, lmap, pos, in_heading)

    def inline_token(self, t: Token, at: _At, lmap: list[tuple[int, int]], pos: int,
                     in_heading: Heading | None) -> None:
        ctx = self.ctx
        extra = set(t.attrs or {}) - NATURAL_ATTRS.get(t.type, set())
        if t.type == "image" and extra == {"id"} and FIG_ID_RE.fullmatch(str((t.attrs or {})["id"])):
            extra = set()  # exactly {#fig-x}: a numbered figure (where it may stand: figure_places)
        if extra:
            ctx.err("E-ATTR-PLACE", f"attributes ({', '.join(sorted(extra))}) are not allowed on this element",
                    at.start, "an image takes exactly {#fig-name} (a numbered figure) and nothing else"
                    if t.type == "image" else "markings and classes go on a span [text]{marking=\"…\"}, a ::: "
                    "block or a heading's {#id}; wrap the element in a span to mark it")
        t.meta["abs"] = at.start
        typ = t.type
        if typ == "text":
            self.texts.append((at.start, at.end, t.content))
            _text_checks(ctx, t.content, at.start, lmap, pos)
            for m in IBID_RE.finditer(t.content):
                s = at.start + m.start()
                self.nodes.append(Ibid(s, at.start + m.end(), *ctx.lc(s), at.region, at.note))
        elif typ == "code_inline":
            _code_check(ctx, t.content, at.start)
            self.texts.append((at.start, at.end, t.content))
            self.code_ranges.append((at.start, at.end))
        elif typ == "footnote_ref":
            ref = FnRef(*at, label=t.meta["label"])
            self.add(t, ref)
            if in_heading is not None:
                in_heading.note_calls.append(ref)
        elif typ == "inline_note":
            self.inline_note(t, at, lmap)
        elif typ == "figref":
            self.add(t, FigRef(*at, id=t.meta["id"]))
        elif typ == "cite":
            self.cite(t, at, lmap)
        elif typ == "xref":
            self.add(t, XRef(*at, id=t.meta["id"], bare=t.meta.get("bare", False)))
        elif typ in ("link_open", "image"):
            self.link(t, at)
        elif typ == "html_inline":
            _html(ctx, t.content, at.start, at.region, self.nodes, at.note)

    def add(self, t: Token, node: Node) -> None:
        self.nodes.append(node)
        t.meta["node"] = node

    def span_open(self, t: Token, at: _At, in_heading: Heading | None) -> Region:
        ctx = self.ctx
        ra = self.region_attrs(dict(t.attrs or {}), at.start, "span")
        r = self.new_region(kind="span", start=at.start, end=at.end, line=at.line, col=at.col, parent=at.region,
                            marking=ra.marking, editor=ra.editor, gap=ra.gap)
        if in_heading is not None and (ra.marking or ra.editor):
            ctx.err("E-MARK-HEADING", "a heading may not be partly marked or hold an editor note", at.start,
                    "mark the whole section with a ::: {marking=...} block instead")
        t.meta["region"] = r
        src = ctx.text[at.start:at.end]
        close = src.rfind("]{")
        dup = duplicate_attrs(src[close + 1:] if close > 0 else "")
        if dup:
            ctx.err("E-ATTR-DUP", f"attribute {dup!r} is given twice", at.start,
                    "give each attribute once (a repeated marking is ambiguous)")
            r.marking = self.scheme.labels[-1]
        return r

    def inline_note(self, t: Token, at: _At, lmap: list[tuple[int, int]]) -> None:
        self.inline_notes += 1
        label = f"^inline {self.inline_notes}"  # a footnote label never holds a space: no author can write it
        content = (_abs(lmap, t.meta["content_start"]), _abs(lmap, t.meta["content_end"]))
        self.add(t, FnRef(*at, label=label, inline=True))
        self.nodes.append(FnDef(at.start, at.end, at.line, at.col, at.region, None, label=label, inline=True,
                                content=content, children=tuple(t.children or [])))
        self.inline(t.children or [], lmap, at.region, label, None)

    def cite(self, t: Token, at: _At, lmap: list[tuple[int, int]]) -> None:
        inner = _abs(lmap, t.meta["inner_start"])
        items = []
        for it in t.meta["items"]:
            for part in (it["prefix"], it["suffix"]):
                bad = AFFIX_BAD.search(part)
                if bad:
                    self.ctx.err("E-CITE-AFFIX", f"a citation's prefix and suffix are plain text ({bad.group(0)!r} "
                                 "is markup)", at.start, "move the markup out of the [...] citation")
            items.append(CiteRef(it["key"], it["prefix"], it["locator"], it["suffix"], it["suppress_author"],
                                 it["raw_rest"], inner + it["key_offset"]))
        if not t.meta["bracketed"] and (UNPARSED_CITE_RE.match(self.ctx.text, max(0, at.start - 2)) or
                                        UNPARSED_CITE_RE.match(self.ctx.text, max(0, at.start - 1))):
            self.ctx.err("E-CITE-UNPARSED", "a citation in brackets directly followed by '[' or '(' is read as a "
                         "link, not as a citation", at.start,
                         "leave a space after its ']' (or put what follows before the citation)")
        self.add(t, Cite(*at, items=tuple(items), bracketed=t.meta["bracketed"], raw=t.content))

    def link(self, t: Token, at: _At) -> None:
        ctx = self.ctx
        attrs = dict(t.attrs or {})
        target = str(attrs.get("href") or attrs.get("src") or "")
        title = str(attrs.get("title", ""))
        if t.type == "image":
            fig = str(attrs.get("id", "")) if FIG_ID_RE.fullmatch(str(attrs.get("id", ""))) else ""
            self.add(t, Image(*at, target=target, title=title, alt=t.content, figure=fig))
            self.texts.append((at.start, at.end, t.content + " " + title))
        else:
            self.add(t, Link(*at, target=target, title=title))
            if title:
                self.texts.append((at.start, at.end, title))
        self.texts.append((at.start, at.end, urllib.parse.unquote(target)))
        dest = urllib.parse.unquote(target)  # markdown-it percent-encodes the destination
        if "<" in title or "<" in dest:
            ctx.err("E-HTML-RAW", "HTML or a comment inside a link's or image's title or destination is "
                    "not allowed", at.start, "write plain text there")
        # alt text, titles and destinations are attribute values: a marking or editor span in them
        # is not parsed as one and would be published (fail closed)
        inner = (t.content if t.type == "image" else "") + "\n" + title + "\n" + dest
        if LOOKALIKE_ATTR.search(inner) or EDITOR_ATTR.search(inner):
            ctx.err("E-MARK-LOOKALIKE", "a marking or editor note inside an image's alt text or a link's "
                    "or image's title is not honoured (it would be shown, unfiltered)", at.start,
                    "mark the whole image or link: [![alt](file.png)]{marking=\"TLP:AMBER\"}")

    # ------------------------------------------------------------------ whole chapter

    def finish(self) -> None:
        ctx = self.ctx
        for r, _ in self.div_stack:
            ctx.err("E-DIV-UNCLOSED", "fenced block is never closed", ctx.off(r.line - 1, r.col - 1),
                    "add a closing ':::' line; until then the rest of the file is treated as restricted")
            r.end = len(self.text)
            r.marking = self.scheme.labels[-1]
        self.gap_notes()
        self.figure_places()
        code = sorted(self.code_ranges)
        code_starts = [a for a, _ in code]
        code_max_end: list[int] = []  # the largest end among the code ranges up to each index
        for _, b in code:
            code_max_end.append(b if not code_max_end or b > code_max_end[-1] else code_max_end[-1])
        for m in ABBR_DEF_RE.finditer(self.text):
            i = bisect.bisect_right(code_starts, m.start()) - 1
            if not (i >= 0 and code_max_end[i] > m.start()):  # not inside code
                ctx.err("E-ABBR-INLINE", "abbreviations are defined once, in mkdocs.yml (envscan: abbreviations:)",
                        m.start(), "a definition here would reach every page of every edition")

    def figure_places(self) -> None:
        """A figure (``![alt](file.png "caption"){#fig-x}``) stands alone in a paragraph of running
        text: not in a sentence, a list, a quote, a table, a note or an admonition. Its paragraph
        is marked for the renderer (``meta["figure"]``), which writes <figure> instead of <p>."""
        toks = self.tokens
        for i, tok in enumerate(toks):
            if tok.type != "inline" or not tok.children:
                continue
            figs = [c for c in tok.children if c.type == "image" and isinstance((c.meta or {}).get("node"), Image)
                    and c.meta["node"].figure]
            if not figs:
                continue
            rest = [c for c in tok.children if c not in figs and not (c.type in ("text", "softbreak")
                                                                       and not c.content.strip())]
            para = toks[i - 1] if i > 0 else None
            alone = len(figs) == 1 and not rest and para is not None and para.type == "paragraph_open" \
                and para.level == 0
            if alone and para is not None:
                para.meta["figure"] = figs[0].meta["node"].figure
                continue
            for c in figs:
                self.ctx.err("E-FIG-PLACE", f"figure {{#{c.meta['node'].figure}}} does not stand alone in a paragraph "
                             "of running text", c.meta["node"].start,
                             "give the figure a paragraph of its own (blank lines around it), outside lists, "
                             "quotes, tables, notes and admonitions; to mark it, put it in a ::: block")

    def gap_notes(self) -> None:
        """A known gap: a definition whose whole content is a []{.gap} span."""
        ctx, text = self.ctx, self.text
        gap_spans = [r for r in self.regions if r.kind == "span" and r.gap]
        if not gap_spans:
            return
        # gap spans by start (regions are in document order; sorted to be sure): a note's spans by bisection
        by_start = sorted(gap_spans, key=lambda r: r.start)
        starts = [r.start for r in by_start]
        pos_in_list = {id(r): i for i, r in enumerate(gap_spans)}
        gap_defs: list[FnDef] = []
        for k, nd in enumerate(self.nodes):
            if not isinstance(nd, FnDef) or nd.inline:
                continue
            cs, ce = nd.content
            lo, hi = bisect.bisect_left(starts, cs), bisect.bisect_left(starts, ce)
            if lo == hi:
                continue
            g = [by_start[min(range(lo, hi), key=lambda j: pos_in_list[id(by_start[j])])]]  # the first in list order
            body = text[cs:ce].strip()
            if not re.fullmatch(r"\[[^\]]*\]\{[^}]*\}", body):
                ctx.err("E-FN-GAP", "a known-gap note holds only its []{.gap} marker", g[0].start,
                        "move other text into an editor note or restore the full note")
            remark = body[1: body.index("]")] if body.startswith("[") and "]" in body else ""
            gap_def = dataclasses.replace(nd, gap=True, gap_remark=remark)
            self.nodes[k] = gap_def
            self.tokens[nd.token].meta["node"] = gap_def
            gap_defs.append(gap_def)
        # which gap spans lie in a known-gap note: the notes' content ranges, by start
        ranges = sorted(nd.content for nd in gap_defs)
        r_starts = [a for a, _ in ranges]
        max_end: list[int] = []
        for _, b in ranges:
            max_end.append(b if not max_end or b > max_end[-1] else max_end[-1])
        for r in gap_spans:
            i = bisect.bisect_right(r_starts, r.start) - 1
            if not (i >= 0 and max_end[i] > r.start):
                ctx.err("E-FN-GAP", "[]{.gap} marks a footnote whose text is lost; it belongs in a footnote "
                        "definition", r.start)


class _At(NamedTuple):
    """Where an inline token sits: the first six fields of every node."""

    start: int
    end: int
    line: int
    col: int
    region: Region
    note: str | None


def _code_check(ctx: _Ctx, content: str, offset: int) -> None:
    """Code is shown verbatim: marking syntax inside it would be published, not honoured."""
    if "<!--" in content:
        ctx.err("E-HTML-COMMENT", "an HTML comment inside code is shown verbatim, not removed", offset,
                "move the remark out of the code, into a ::: {.editor} block")
    m = LOOKALIKE_ATTR.search(content) or EDITOR_ATTR.search(content)
    if m:
        ctx.err("E-MARK-LOOKALIKE", "marking or editor syntax inside code is shown verbatim, not honoured", offset,
                "mark the whole code block or span from outside: [`code`]{marking=\"TLP:AMBER\"} or a ::: block")


def duplicate_attrs(raw: str) -> str:
    """The first attribute name given twice in ``{...}`` (``#id`` counts as ``id``), or ''."""
    seen: set[str] = set()
    for m in ATTR_NAME_RE.finditer(raw):
        name = "id" if m.group(1) else m.group(2)
        if name in seen:
            return name
        seen.add(name)
    return ""


def _coverage(ctx: _Ctx, tokens: list[Token], env: dict[str, Any]) -> None:
    """Fail closed on text the parser did not turn into blocks (e.g. past the nesting limit) and
    on link reference definitions (global: a restricted one would serve public links)."""
    for label, ref in (env.get("references") or {}).items():
        ln = (ref.get("map") or [0])[0]
        ctx.err("E-LINK-REFDEF", "link reference definitions are not supported", ctx.off(ln),
                "write the link inline: [text](destination)")
    covered = bytearray(len(ctx.lines) + 1)
    for t in tokens:
        if t.map and t.level == 0:
            for ln in range(t.map[0], min(t.map[1], len(ctx.lines))):
                covered[ln] = 1
    for ref in (env.get("references") or {}).values():
        if ref.get("map"):
            for ln in range(ref["map"][0], min(ref["map"][1], len(ctx.lines))):
                covered[ln] = 1
    for ln, line in enumerate(ctx.lines):
        if not covered[ln] and line.strip():
            ctx.err("E-NESTING", "this line is not part of any block the parser understood", ctx.off(ln),
                    "simplify the nesting of lists, quotes and notes around it")
            return


def _find_in_lines(ctx: _Ctx, lmap: list[int] | None, needle: str | None, default: int | None) -> int | None:
    """Absolute offset of the last occurrence of ``needle`` on the lines of a block (a setext
    heading's attributes sit on its last text line, not its first)."""
    if lmap and needle:
        for ln in range(min(lmap[1], len(ctx.lines)) - 1, lmap[0] - 1, -1):
            k = ctx.lines[ln].rfind(needle)
            if k >= 0:
                return ctx.off(ln, k)
    return default


_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
INVISIBLE_RE = re.compile("[\u2028\u2029\u2800\u115f\u1160\u3164\uffa0\ufff9-\ufffb]")


def _invisible(content: str) -> re.Match[str] | None:
    """The first invisible formatting character (Unicode Cf: bidi controls, zero-width and
    interlinear marks; line separators, fillers): text that reads differently from what it is."""
    m = INVISIBLE_RE.search(content)
    if content.isascii():
        return m  # (None: every Cf character, and every character of INVISIBLE_RE, is outside ASCII)
    # only the characters outside ASCII before the first INVISIBLE_RE hit can come first
    for x in _NON_ASCII_RE.finditer(content, 0, len(content) if m is None else m.start()):
        ch = x.group()
        if unicodedata.category(ch) == "Cf":
            return re.compile(re.escape(ch)).search(content, x.start())
    return m


def _text_checks(ctx: _Ctx, content: str, a_start: int, lmap: list[tuple[int, int]], pos: int) -> None:
    inv = _invisible(content)
    if inv:
        ctx.err("E-TEXT-INVISIBLE", f"invisible formatting character U+{ord(inv.group(0)):04X} in the text",
                a_start + inv.start(), "delete it (bidi controls, zero-width and filler characters can make text "
                "read differently from what it is)")
    m = INCLUDE_RE.search(content)
    if m:
        ctx.err("E-INCLUDE", "include/snippet syntax is not allowed: included text would bypass filtering",
                a_start + m.start(), "paste the text into the chapter and mark it; envscan filters only chapters")
    at = content.find("@")
    m = UNPARSED_CITE_RE.search(ctx.text, max(0, a_start + at - 2), a_start + len(content) + 1) if at >= 0 else None
    if m:
        ctx.err("E-CITE-UNPARSED", "a citation in brackets directly followed by '[' or '(' is read as a link, "
                "not as a citation (it would be shown as text)", m.start(),
                "leave a space after its ']' (or put what follows before the citation)")
    # look-alike fences: visible text that looks like a ':::' line
    fence_like = False
    line_off = 0  # offset of the line in content
    for line in content.split("\n"):
        if LOOKALIKE_FENCE.match(line) and not line.strip().startswith(":::"):
            fence_like = True
            ctx.err("E-MARK-LOOKALIKE", "this line looks like a ':::' fence but is not one (it would be shown as text)",
                    _abs(lmap, pos + line_off), "write the fence with three ASCII colons at the start of a line")
        elif line.strip().startswith(":::"):
            fence_like = True
            ctx.err("E-DIV-SYNTAX", "':::' inside a paragraph: a fence needs its own line", a_start,
                    "put a blank line before the fence")
        line_off += len(line) + 1
    m = LOOKALIKE_ATTR.search(content) or (None if fence_like else EDITOR_ATTR.search(content))
    if m:
        ctx.err("E-MARK-LOOKALIKE", "text looks like a marking attribute but is not parsed as one "
                "(it would be shown, unfiltered)", a_start + m.start(),
                "write [text]{marking=\"TLP:AMBER\"} with ASCII brackets and quotes")
    i = content.find("<!--")
    if i >= 0:  # not parsed as a comment (e.g. unclosed in its paragraph): it would be published as text
        ctx.err("E-HTML-COMMENT", "'<!--' that is not a complete comment: what follows would be shown as text",
                a_start + i, "close it with '-->' before the paragraph ends, or use a ::: {.editor} block")
    m = CRITIC_RE.search(content)
    if m:
        ctx.err("E-CRITIC", "CriticMarkup is not processed: resolve the suggestion before building", a_start + m.start(),
                "accept or reject the change; use ::: {.editor} for review remarks")


def _html(ctx: _Ctx, content: str, offset: int, region: Region, nodes: list[Node], note: str | None) -> None:
    stripped = HTML_COMMENT_RE.sub("", content).strip()
    for m in HTML_COMMENT_RE.finditer(content):
        ctx.warn("W-HTML-COMMENT", "HTML comment: it is removed from every edition", offset + m.start(),
                 "use a ::: {.editor} block for notes to editors")
        nodes.append(Comment(offset + m.start(), offset + m.end(), *ctx.lc(offset + m.start()), region, note,
                             text=m.group(0)[4:-3]))
    if stripped:
        ctx.err("E-HTML-RAW", "raw HTML is not allowed in chapters (hidden HTML is not removed HTML)", offset,
                "use Markdown; mark restricted text with ::: {marking=...} or [text]{marking=...}")
