"""Parse one chapter into the source model (regions + nodes), with diagnostics.

Positions come from markdown-it tokens: block tokens carry line maps, inline tokens carry
offsets into their block's content (see mdparse), mapped back here to absolute offsets.
"""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
import urllib.parse
from typing import Any

import yaml

from .config import Scheme
from .diagnostics import Diagnostic, error, warning
from .mdparse import make_parser
from .model import Chapter, Node, Region, line_starts

FRONT_KEYS = {"title": str, "marking": str, "status": str, "owners": list}
STATUSES = ("draft", "review", "final")
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
                "inline_note", "footnote_ref", "html_inline"}
NATURAL_ATTRS = {"link_open": {"href", "title"}, "image": {"src", "alt", "title"}}


def canonical_label(label: str) -> str:
    return unicodedata.normalize("NFKC", label).replace(" ", "").upper()


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


def _line_map(ctx: _Ctx, tok, start_col: int = 0) -> list[tuple[int, int]]:
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


def _abs(lmap: list[tuple[int, int]], pos: int) -> int:
    i = bisect.bisect_right([c for c, _ in lmap], pos) - 1
    c, a = lmap[max(i, 0)]
    return a + (pos - c)


_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: same results, faster


def _python_yaml_error(text: str, exc: Exception) -> Exception:
    """The pure-Python parser's wording of a YAML error (libyaml's differs), for stable messages."""
    try:
        yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as py_exc:
        return py_exc
    return exc


def parse_front_matter(ctx: _Ctx, tok) -> tuple[dict, list]:
    from .config import yaml_bounds

    content = tok.meta.get("content", tok.content) if tok.meta else tok.content
    base_line = (tok.map[0] if tok.map else 0) + 1  # line of content start (0-based)
    try:
        # bounded first: 3,000 levels make the composer recurse too deep, an alias bomb never ends
        bound = yaml_bounds(content, _YAML) if content.strip() else None
        if bound:
            ctx.diags.append(error("E-FRONT-YAML", f"malformed front matter: {bound[2]}", ctx.path,
                                   base_line + bound[0] + 1, bound[1] + 1, bound[3]))
            return {}, []
        data = yaml.load(content, Loader=_YAML) if content.strip() else {}
    except yaml.YAMLError as exc:
        exc = _python_yaml_error(content, exc)
        mark = getattr(exc, "problem_mark", None)
        ln = base_line + (mark.line if mark else 0)
        ctx.diags.append(error("E-FRONT-YAML", f"malformed front matter: {getattr(exc, 'problem', exc)}", ctx.path,
                               ln + 1, (mark.column + 1) if mark else 1, "front matter is YAML between two '---' lines"))
        return {}, []
    if not isinstance(data, dict):
        ctx.diags.append(error("E-FRONT-YAML", "front matter must be a YAML mapping", ctx.path, base_line + 1, 1))
        return {}, []
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
    if "\r" in text:  # sources come normalised (source.decode); be safe for direct callers
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    ctx = _Ctx(path, text, scheme)
    md = make_parser()
    env: dict = {}
    tokens = md.parse(text, env)

    front: dict = {}
    front_end = 0
    key_lines: dict = {}
    if tokens and tokens[0].type == "front_matter":
        front, key_lines = parse_front_matter(ctx, tokens[0])
        front_end = ctx.off(tokens[0].map[1])
    elif text.lstrip().startswith("---"):
        ctx.err("E-FRONT-YAML", "front matter is not closed by a '---' line", 0)
    else:
        ctx.err("E-FRONT-MISSING", "chapter has no front matter", 0,
                "start the file with ---, title:, marking:, status:, owners:, ---")

    if isinstance(front.get("title"), str) and (LOOKALIKE_ATTR.search(front["title"]) or "<" in front["title"] or
                                                EDITOR_ATTR.search(front["title"])):
        ctx.err("E-MARK-HEADING", "a page title may not be partly marked or hold an editor note (the title is "
                "shown as written)", ctx.off(key_lines.get("title", 1) - 1),
                "mark the whole chapter with marking: in the front matter instead")
    chapter_marking = scheme.default
    if isinstance(front.get("marking"), str):
        ln = key_lines.get("marking", 1)
        chapter_marking = ctx.check_marking(front["marking"], ctx.off(ln - 1)) or scheme.default
    root = Region("chapter", 0, len(text), 1, 1, marking=chapter_marking)
    regions: list[Region] = [root]
    nodes: list[Node] = []
    texts: list[tuple[int, int, str]] = []
    code_ranges: list[tuple[int, int]] = []  # code spans and blocks: their text is not syntax

    div_stack: list[tuple[Region, tuple]] = []  # (region, container path)
    containers: list[Any] = []
    note_stack: list[str] = []
    inline_notes = [0]

    def current_region() -> Region:
        return div_stack[-1][0] if div_stack else root

    def new_region(**kw) -> Region:
        r = Region(**kw)
        r.index = len(regions)
        if r.parent is not None:
            r.parent.children.append(r)
        regions.append(r)
        return r

    def region_attrs(attrs: dict, offset: int, kind: str) -> dict:
        res = {"marking": None, "editor": False, "tearline": False, "gap": False}
        allowed_classes = DIV_CLASSES if kind == "div" else SPAN_CLASSES
        for k, v in attrs.items():
            if k == "marking":
                res["marking"] = ctx.check_marking(str(v), offset)
            elif k == "class":
                for c in str(v).split():
                    if c in allowed_classes:
                        res[c] = True
                    elif c == "unnumbered":
                        continue
                    else:
                        sugg = difflib.get_close_matches(c, sorted(allowed_classes), 1)
                        ctx.err("E-ATTR-UNKNOWN", f"unknown class '.{c}' on a {kind}", offset,
                                f"did you mean '.{sugg[0]}'?" if sugg else
                                f"known classes: {', '.join('.' + x for x in sorted(allowed_classes))}")
            elif k == "id":
                continue
            else:
                sugg = difflib.get_close_matches(k, sorted(ATTR_KEYS), 1)
                # fail closed: an attribute that may have been meant as a marking restricts fully
                if "mark" in k.lower() or (sugg and sugg[0] == "marking"):
                    res["marking"] = scheme.labels[-1]
                ctx.err("E-ATTR-UNKNOWN", f"unknown attribute {k!r} on a {kind}", offset,
                        f"did you mean {sugg[0]!r}?" if sugg else "known attributes: marking, id, class")
        return res

    def walk_inline(children, lmap, block_region: Region, note: str | None, in_heading: Node | None):
        span_stack: list[Region] = []
        for t in children:
            pos = t.meta.get("pos", 0) if t.meta else 0
            end = t.meta.get("end", pos) if t.meta else pos
            a_start, a_end = _abs(lmap, pos), _abs(lmap, end)
            reg = span_stack[-1] if span_stack else block_region
            ln, col = ctx.lc(a_start)
            if t.type == "span_open":
                attrs = dict(t.attrs or {})
                ra = region_attrs(attrs, a_start, "span")
                r = new_region(kind="span", start=a_start, end=a_end, line=ln, col=col, parent=reg,
                               marking=ra["marking"], editor=ra["editor"], gap=ra["gap"])
                # delimiters: '[' and ']{...}'
                src = ctx.text[a_start:a_end]
                close = src.rfind("]{")
                r.unwrap = [(a_start, a_start + 1), (a_start + close, a_end)] if close > 0 else []
                if in_heading is not None and (ra["marking"] or ra["editor"]):
                    ctx.err("E-MARK-HEADING", "a heading may not be partly marked or hold an editor note", a_start,
                            "mark the whole section with a ::: {marking=...} block instead")
                span_stack.append(r)
                t.meta["region"] = r
                dup = duplicate_attrs(src[close + 1:] if close > 0 else "")
                if dup:
                    ctx.err("E-ATTR-DUP", f"attribute {dup!r} is given twice", a_start,
                            "give each attribute once (a repeated marking is ambiguous)")
                    r.marking = scheme.labels[-1]
                continue
            if t.type == "span_close":
                if span_stack:
                    span_stack.pop()
                continue
            if t.type not in KNOWN_INLINE:
                ctx.err("E-SYNTAX", f"unsupported Markdown construct ({t.type})", a_start,
                        "envscan renders only the constructs listed in AUTHORING.md")
                continue
            extra = set((t.attrs or {})) - NATURAL_ATTRS.get(t.type, set())
            if extra:
                ctx.err("E-ATTR-PLACE", f"attributes ({', '.join(sorted(extra))}) are not allowed on this element",
                        a_start, "markings and classes go on a span [text]{marking=\"…\"}, a ::: block or a "
                        "heading's {#id}; wrap the element in a span to mark it")
            t.meta["abs"] = a_start
            if t.type == "text":
                texts.append((a_start, a_end, t.content))
                _text_checks(ctx, t.content, a_start, lmap, pos)
                for m in IBID_RE.finditer(t.content):
                    nodes.append(Node("ibid", a_start + m.start(), a_start + m.end(), *ctx.lc(a_start + m.start()),
                                      reg, note))
                continue
            if t.type == "code_inline":
                _code_check(ctx, t.content, a_start)
                texts.append((a_start, a_end, t.content))
                code_ranges.append((a_start, a_end))
                continue
            if t.type == "footnote_ref":
                nodes.append(Node("fnref", a_start, a_end, ln, col, reg, note, {"label": t.meta["label"]}))
                t.meta["node"] = nodes[-1]
                if in_heading is not None:
                    in_heading.data.setdefault("notes", []).append(nodes[-1])
                continue
            if t.type == "inline_note":
                inline_notes[0] += 1
                label = f"^inline-{inline_notes[0]}"
                cs, ce = _abs(lmap, t.meta["content_start"]), _abs(lmap, t.meta["content_end"])
                nodes.append(Node("fnref", a_start, a_end, ln, col, reg, note,
                                  {"label": label, "inline": True, "content": (cs, ce)}))
                t.meta["node"] = nodes[-1]
                nodes.append(Node("fndef", a_start, a_end, ln, col, reg, None,
                                  {"label": label, "inline": True, "content": (cs, ce), "children": t.children or []}))
                walk_inline(t.children or [], lmap, reg, label, None)
                continue
            if t.type == "cite":
                items = t.meta["items"]
                inner = _abs(lmap, t.meta["inner_start"])
                for it in items:
                    it["abs"] = inner + it["key_offset"]
                    for part in (it["prefix"], it["suffix"]):
                        bad = AFFIX_BAD.search(part)
                        if bad:
                            ctx.err("E-CITE-AFFIX", f"a citation's prefix and suffix are plain text ({bad.group(0)!r} "
                                    "is markup)", a_start, "move the markup out of the [...] citation")
                nodes.append(Node("cite", a_start, a_end, ln, col, reg, note,
                                  {"items": items, "bracketed": t.meta["bracketed"], "raw": t.content}))
                t.meta["node"] = nodes[-1]
                continue
            if t.type == "xref":
                nodes.append(Node("xref", a_start, a_end, ln, col, reg, note, {"id": t.meta["id"]}))
                t.meta["node"] = nodes[-1]
                continue
            if t.type in ("link_open", "image"):
                attrs = dict(t.attrs or {})
                target = attrs.get("href") or attrs.get("src") or ""
                nodes.append(Node("link" if t.type == "link_open" else "image", a_start, a_end, ln, col, reg, note,
                                  {"target": target, "title": attrs.get("title", ""),
                                   "alt": t.content if t.type == "image" else ""}))
                t.meta["node"] = nodes[-1]
                if t.type == "image":
                    texts.append((a_start, a_end, t.content + " " + attrs.get("title", "")))
                # alt text and titles are attribute values: a marking or editor span in them is not
                # parsed as one and would be published (fail closed)
                dest = urllib.parse.unquote(target)  # markdown-it percent-encodes the destination
                inner = (t.content if t.type == "image" else "") + "\n" + attrs.get("title", "") + "\n" + dest
                if "<" in attrs.get("title", "") or "<" in dest:
                    ctx.err("E-HTML-RAW", "HTML or a comment inside a link's or image's title or destination is "
                            "not allowed", a_start, "write plain text there")
                if LOOKALIKE_ATTR.search(inner) or EDITOR_ATTR.search(inner):
                    ctx.err("E-MARK-LOOKALIKE", "a marking or editor note inside an image's alt text or a link's "
                            "or image's title is not honoured (it would be shown, unfiltered)", a_start,
                            "mark the whole image or link: [![alt](file.png)]{marking=\"TLP:AMBER\"}")
                continue
            if t.type == "html_inline":
                _html(ctx, t.content, a_start, reg, nodes, note)
                continue
            if t.children:
                walk_inline(t.children, lmap, reg, note, in_heading)

    cell_end: dict[int, int] = {}  # table row line -> column after its last cell seen
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        typ = tok.type
        if typ == "front_matter":
            i += 1
            continue
        if typ in CONTAINERS:
            containers.append(tok)
            if typ == "footnote_reference_open":
                label = tok.meta["label"]
                l0, l1 = tok.map
                start = ctx.off(l0, 0)
                end = ctx.off(l1, 0)
                line_text = ctx.lines[l0]
                m = re.search(r"\[\^" + re.escape(label) + r"\]:[ \t]*", line_text)
                cstart = ctx.off(l0, m.end() if m else 0)
                col = (m.start() + 1) if m else 1
                if note_stack:
                    ctx.err("E-FN-NESTED", "a footnote definition inside another footnote", ctx.off(l0, col - 1))
                nodes.append(Node("fndef", start, end, l0 + 1, col, current_region(), None,
                                  {"label": label, "content": (cstart, end), "gap": False, "tok": i}))
                tok.meta["node"] = nodes[-1]
                note_stack.append(label)
        elif typ.endswith("_close") and typ.replace("_close", "_open") in CONTAINERS:
            if containers:
                containers.pop()
            if typ == "footnote_reference_close" and note_stack:
                note_stack.pop()
        note = note_stack[-1] if note_stack else None
        if typ == "div_open":
            l0 = tok.map[0]
            off = ctx.off(l0, tok.meta["col"] - 1)
            ra = region_attrs(tok.meta["attrs"], off, "div")
            parent = current_region()
            r = new_region(kind="div", start=ctx.off(l0), end=len(text), line=l0 + 1, col=tok.meta["col"],
                           parent=parent, marking=ra["marking"], editor=ra["editor"], tearline=ra["tearline"])
            r.unwrap = [(ctx.off(l0), ctx.off(l0 + 1))]
            if ra["tearline"] and (parent.kind != "div" or not parent.marking or ra["marking"] is None):
                ctx.err("E-TEARLINE", "a tearline must carry its own marking and sit directly inside a marked block",
                        off, "write ::: {.tearline marking=\"TLP:CLEAR\"} inside the ::: {marking=...} block")
            tok.meta["region"] = r
            dup = duplicate_attrs(tok.meta.get("raw", ""))
            if dup:
                ctx.err("E-ATTR-DUP", f"attribute {dup!r} is given twice", off,
                        "give each attribute once (a repeated marking is ambiguous)")
                r.marking = scheme.labels[-1]
            div_stack.append((r, tuple(id(c) for c in containers)))
        elif typ == "div_close":
            l0 = tok.map[0]
            off = ctx.off(l0, tok.meta["col"] - 1)
            if not div_stack:
                ctx.err("E-DIV-STRAY", "closing ':::' without an opening fence", off,
                        "remove it, or open the block with ::: {marking=\"…\"}")
            else:
                r, cpath = div_stack.pop()
                if cpath != tuple(id(c) for c in containers):
                    ctx.err("E-DIV-CROSSING", f"block opened on line {r.line} is closed in a different "
                            "list, quote, note or admonition", off,
                            "open and close a marked block at the same indentation, in the same container")
                r.end = ctx.off(l0 + 1)
                r.unwrap.append((ctx.off(l0), ctx.off(l0 + 1)))
                tok.meta["region"] = r
        elif typ == "div_bad":
            l0 = tok.map[0]
            ctx.err("E-DIV-SYNTAX", f"malformed fenced block: {tok.meta['error']}", ctx.off(l0, tok.meta["col"] - 1),
                    "write ::: {marking=\"TLP:AMBER\"} (or {.editor}, {.tearline marking=\"…\"})")
            # fail closed: treat as a fully restricted block until its fence is fixed
            r = new_region(kind="div", start=ctx.off(l0), end=len(text), line=l0 + 1, col=tok.meta["col"],
                           parent=current_region(), marking=scheme.labels[-1])
            r.unwrap = [(ctx.off(l0), ctx.off(l0 + 1))]
            tok.meta["region"] = r
            div_stack.append((r, tuple(id(c) for c in containers)))
        elif typ == "heading_open":
            inline = tokens[i + 1]
            l0 = tok.map[0]
            lmap = _line_map(ctx, inline)
            start = _abs(lmap, 0)
            attrs = tok.meta.get("attrs") or {}
            attr_text = tok.meta.get("attr_text")
            if "attr_error" in tok.meta:
                ctx.err("E-HEADING-ATTR", f"malformed heading attributes: {tok.meta['attr_error']}",
                        _find_in_lines(ctx, tok.map, attr_text, start), "write {#sec-id} or {#sec-id .unnumbered}")
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
            level = int(tok.tag[1])
            h = Node("heading", ctx.off(l0), ctx.off(l0 + 1), l0 + 1, (start - ctx.off(l0)) + 1, current_region(), note,
                     {"level": level, "id": attrs.get("id"), "unnumbered": "unnumbered" in classes,
                      "text": inline.content, "text_start": start, "attr_off": attr_off,
                      "setext": tok.markup in ("=", "-")})
            nodes.append(h)
            tok.meta["node"] = h
            h.data["inline"] = inline
            texts.append((start, start + len(inline.content), inline.content))
            walk_inline(inline.children or [], lmap, current_region(), note, h)
            i += 3
            continue
        elif typ == "inline":
            cell = i > 0 and tokens[i - 1].type in ("td_open", "th_open") and tok.map
            lmap = _line_map(ctx, tok, cell_end.get(tok.map[0], 0) if cell else 0)
            if cell:  # the next cell of this row starts after this one (and its '|')
                cell_end[tok.map[0]] = lmap[0][1] - ctx.off(tok.map[0]) + len(tok.content.split("\n")[0].rstrip()) + 1
            walk_inline(tok.children or [], lmap, current_region(), note, None)
        elif typ == "html_block":
            _html(ctx, tok.content, ctx.off(tok.map[0]), current_region(), nodes, note)
        elif typ in ("fence", "code_block"):
            l0 = tok.map[0]
            if typ == "fence" and not FENCE_INFO_RE.fullmatch(tok.info.strip()):
                ctx.err("E-CODE-INFO", "a code block's info string is a language name only (attributes are not "
                        "allowed there)", ctx.off(l0), "write ```text or ```python; mark the block with ::: instead")
            _code_check(ctx, tok.content, ctx.off(l0))
            texts.append((ctx.off(l0), ctx.off(tok.map[1]), tok.content))
            code_ranges.append((ctx.off(l0), ctx.off(tok.map[1])))
        elif typ not in KNOWN_BLOCK:
            ctx.err("E-SYNTAX", f"unsupported Markdown construct ({typ})", ctx.off(tok.map[0]) if tok.map else 0,
                    "envscan renders only the constructs listed in AUTHORING.md")
        if tok.level >= MAX_NESTING:
            ctx.err("E-NESTING", f"blocks nested more than {MAX_NESTING} deep", ctx.off(tok.map[0]) if tok.map else 0,
                    "flatten the lists or quotes")
            break
        i += 1
    _coverage(ctx, tokens, env)

    for r, _ in div_stack:
        ctx.err("E-DIV-UNCLOSED", "fenced block is never closed", ctx.off(r.line - 1, r.col - 1),
                "add a closing ':::' line; until then the rest of the file is treated as restricted")
        r.end = len(text)
        r.marking = scheme.labels[-1]

    # gap notes: a definition whose whole content is a []{.gap} span
    gap_spans = [r for r in regions if r.kind == "span" and r.gap]
    for nd in nodes:
        if nd.kind == "fndef" and not nd.data.get("inline"):
            cs, ce = nd.data["content"]
            body = text[cs:ce].strip()
            g = [r for r in gap_spans if cs <= r.start < ce]
            if g:
                if not re.fullmatch(r"\[[^\]]*\]\{[^}]*\}", body):
                    ctx.err("E-FN-GAP", "a known-gap note holds only its []{.gap} marker", g[0].start,
                            "move other text into an editor note or restore the full note")
                nd.data["gap"] = True
                nd.data["gap_remark"] = body[1: body.index("]")] if body.startswith("[") and "]" in body else ""
    for r in gap_spans:
        if not any(nd.kind == "fndef" and nd.data.get("gap") and nd.data["content"][0] <= r.start < nd.data["content"][1]
                   for nd in nodes):
            ctx.err("E-FN-GAP", "[]{.gap} marks a footnote whose text is lost; it belongs in a footnote definition",
                    r.start)

    for m in ABBR_DEF_RE.finditer(text):
        if not any(a <= m.start() < b for a, b in code_ranges):
            ctx.err("E-ABBR-INLINE", "abbreviations are defined once, in mkdocs.yml (envscan: abbreviations:)",
                    m.start(), "a definition here would reach every page of every edition")

    title = front.get("title") if isinstance(front.get("title"), str) else name
    ch = Chapter(path=path, name=name, text=text, line_starts=ctx.starts, front=front, front_end=front_end,
                 title=title, marking=chapter_marking, status=str(front.get("status", "draft")), root=root,
                 regions=regions, nodes=nodes, texts=texts, tokens=tokens)
    return ch, ctx.diags


def _code_check(ctx: _Ctx, content: str, offset: int) -> None:
    """Code is shown verbatim: marking syntax inside it would be published, not honoured."""
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


def _coverage(ctx: _Ctx, tokens: list, env: dict) -> None:
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


def _find_in_lines(ctx: _Ctx, lmap: list[int] | None, needle: str, default):
    """Absolute offset of the last occurrence of ``needle`` on the lines of a block (a setext
    heading's attributes sit on its last text line, not its first)."""
    if lmap and needle:
        for ln in range(min(lmap[1], len(ctx.lines)) - 1, lmap[0] - 1, -1):
            k = ctx.lines[ln].rfind(needle)
            if k >= 0:
                return ctx.off(ln, k)
    return default


def _text_checks(ctx: _Ctx, content: str, a_start: int, lmap, pos: int) -> None:
    m = INCLUDE_RE.search(content)
    if m:
        ctx.err("E-INCLUDE", "include/snippet syntax is not allowed: included text would bypass filtering",
                a_start + m.start(), "paste the text into the chapter and mark it; envscan filters only chapters")
    # look-alike fences: visible text that looks like a ':::' line
    fence_like = False
    for k, line in enumerate(content.split("\n")):
        if LOOKALIKE_FENCE.match(line) and not line.strip().startswith(":::"):
            fence_like = True
            ctx.err("E-MARK-LOOKALIKE", "this line looks like a ':::' fence but is not one (it would be shown as text)",
                    _abs(lmap, pos + sum(len(x) + 1 for x in content.split("\n")[:k])),
                    "write the fence with three ASCII colons at the start of a line")
        elif line.strip().startswith(":::"):
            fence_like = True
            ctx.err("E-DIV-SYNTAX", "':::' inside a paragraph: a fence needs its own line", a_start,
                    "put a blank line before the fence")
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


def _html(ctx: _Ctx, content: str, offset: int, region: Region, nodes: list, note) -> None:
    stripped = HTML_COMMENT_RE.sub("", content).strip()
    for m in HTML_COMMENT_RE.finditer(content):
        ctx.warn("W-HTML-COMMENT", "HTML comment: it is removed from every edition", offset + m.start(),
                 "use a ::: {.editor} block for notes to editors")
        nodes.append(Node("comment", offset + m.start(), offset + m.end(), *ctx.lc(offset + m.start()), region, note,
                          {"text": m.group(0)[4:-3]}))
    if stripped:
        ctx.err("E-HTML-RAW", "raw HTML is not allowed in chapters (hidden HTML is not removed HTML)", offset,
                "use Markdown; mark restricted text with ::: {marking=...} or [text]{marking=...}")
