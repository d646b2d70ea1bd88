"""Render an edition's filtered token tree to HTML: the one renderer of every output.

The tree is the markdown-it token stream that ``parse`` read (``Chapter.tokens``, annotated with
the regions and nodes it found). Filtering happens here, on that tree, while it is rendered: a
token inside a region the edition may not show is never visited, so nothing is cut out of
source text and no second Markdown parser ever sees the source.

Default deny: only the token types listed in ``BLOCK_TAGS``/``INLINE_TAGS`` and the explicit
cases below are rendered, with attributes the renderer writes itself (never the token's own
``attrs``, except a link's destination and title and a table cell's alignment, validated). Any
other token stops the build (``RenderError``). Comments and raw HTML are never rendered.
"""

from __future__ import annotations

import html
import re
from importlib import resources
from typing import Any, Callable, Protocol

from .model import Cite, FigRef, Heading, Image, Link, Node, Region, XRef

BLOCK_TAGS = {"paragraph": "p", "blockquote": "blockquote", "bullet_list": "ul", "ordered_list": "ol",
              "list_item": "li", "table": "table", "thead": "thead", "tbody": "tbody", "tr": "tr",
              "th": "th", "td": "td"}
INLINE_TAGS = {"em": "em", "strong": "strong", "s": "del"}
ALIGN_RE = re.compile(r"text-align:(left|right|center)")
ADMONITION_KINDS = {"note", "abstract", "summary", "tldr", "info", "todo", "tip", "hint", "important", "success",
                    "check", "done", "question", "help", "faq", "warning", "caution", "attention", "failure",
                    "fail", "missing", "danger", "error", "bug", "example", "quote", "cite", "seealso"}
MAX_DEPTH = 64  # nested block walks (parse refuses fenced blocks nested past MAX_NESTING)
SKIP_INLINE = {"html_inline"}  # comments (warned at parse) and raw HTML (an error at parse): never rendered


class RenderError(Exception):
    """A token the renderer does not know: the build stops (fail closed)."""

    def __init__(self, token_type: str, offset: int) -> None:
        super().__init__(f"unsupported construct {token_type!r}")
        self.token_type = token_type
        self.offset = offset


class Context(Protocol):
    """What the edition supplies to the renderer (see ``edition._Assembly``)."""

    def region_visible(self, r: Region) -> bool: ...

    def editor_shown(self, r: Region) -> bool: ...

    def heading_prefix(self, h: Heading) -> str: ...

    def cite_html(self, n: Cite, next_text: str) -> str: ...

    def xref_html(self, n: XRef) -> str: ...

    def note_call(self, n: Node) -> str: ...

    def href(self, n: Link) -> str: ...

    def figure_number(self, n: Image) -> int | None: ...

    def figref_html(self, n: FigRef) -> str: ...


def esc(s: str) -> str:
    return html.escape(s, quote=True)


def match_pairs(tokens: list[Any], open_types: tuple[str, ...], close_type: str) -> dict[int, int]:
    """Index of each opening token -> index of its closing token (len(tokens) if unclosed)."""
    out: dict[int, int] = {}
    stack: list[int] = []
    for i, t in enumerate(tokens):
        if t.type in open_types:
            stack.append(i)
        elif t.type == close_type and stack:
            out[stack.pop()] = i
    for i in stack:
        out[i] = len(tokens)
    return out


def slugify(text: str) -> str:
    s = re.sub(r"[^\w\s-]", "", text.lower()).strip()
    return re.sub(r"[\s_-]+", "-", s) or "section"


class TreeRenderer:
    """Renders one chapter's tokens (body, headings, notes) for one edition."""

    def __init__(self, ctx: Context, tokens: list[Any], abbreviations: dict[str, str]):
        self.ctx = ctx
        self.tokens = tokens
        self.div_close = match_pairs(tokens, ("div_open", "div_bad"), "div_close")
        self.fn_close = match_pairs(tokens, ("footnote_reference_open",), "footnote_reference_close")
        self.abbr = abbreviations
        self.abbr_re = re.compile(r"\b(" + "|".join(re.escape(a) for a in sorted(abbreviations, key=len,
                                                                                   reverse=True)) + r")\b") \
            if abbreviations else None
        self.abbr_used: set[str] = set()
        self.runs: list[tuple[int, str]] = []  # (source offset, text) of every text token shown
        self.toc: list[tuple[int, str, str]] = []  # (level, id, plain numbered title)
        self.ids: set[str] = set()
        self._id_next: dict[str, int] = {}  # base id -> last suffix given (heading ids)
        self.out: list[str] = []
        self.depth = 0

    # ------------------------------------------------------------------ blocks

    def body(self) -> str:
        self.out = []
        self.blocks(0, len(self.tokens), in_note=False)
        return "".join(self.out)

    def footnote(self, open_index: int) -> str:
        """A footnote definition's content (its blocks), rendered as a note."""
        saved, self.out = self.out, []
        self.blocks(open_index + 1, self.fn_close.get(open_index, len(self.tokens)), in_note=True)
        res, self.out = "".join(self.out), saved
        return res

    def inline_note(self, children: list[Any]) -> str:
        saved, self.out = self.out, []
        self.inline(children, in_note=True)
        res, self.out = "".join(self.out), saved
        return res

    def blocks(self, lo: int, hi: int, in_note: bool) -> None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:  # parse reports E-NESTING; never recurse out of the interpreter
                raise RenderError("nesting", (self.tokens[lo].meta or {}).get("abs", 0) if lo < len(self.tokens) else 0)
            self._blocks(lo, hi, in_note)
        finally:
            self.depth -= 1

    def _blocks(self, lo: int, hi: int, in_note: bool) -> None:
        toks, out = self.tokens, self.out
        i = lo
        while i < hi:
            t = toks[i]
            typ = t.type
            if typ in ("div_open", "div_bad"):
                j = self.div_close[i]
                r: Region | None = (t.meta or {}).get("region")
                if r is not None and self.ctx.region_visible(r):
                    editor = self.ctx.editor_shown(r)
                    if editor:
                        out.append('<div class="envscan-editor">\n')
                    self.blocks(i + 1, min(j, hi), in_note)
                    if editor:
                        out.append("</div>\n")
                else:
                    self.tearlines(i + 1, min(j, hi), r, in_note)
                i = j + 1
                continue
            if typ in ("div_close", "front_matter", "html_block"):
                i += 1
                continue
            if typ == "footnote_reference_open":
                i = self.fn_close.get(i, len(toks)) + 1  # notes are rendered in the notes list
                continue
            if typ == "heading_open":
                self.heading(t, toks[i + 1], in_note)
                i += 3
                continue
            if typ == "paragraph_open" and (t.meta or {}).get("figure") and not in_note:
                self.figure(toks[i + 1])
                i += 3  # paragraph_open, inline, paragraph_close
                continue
            if typ == "inline":
                self.inline(t.children or [], in_note)
            elif typ.endswith("_open") and typ[:-5] in BLOCK_TAGS:
                if not t.hidden:
                    out.append(self.open_tag(t, BLOCK_TAGS[typ[:-5]]))
            elif typ.endswith("_close") and typ[:-6] in BLOCK_TAGS:
                if not t.hidden:
                    out.append(f"</{BLOCK_TAGS[typ[:-6]]}>\n")
            elif typ in ("fence", "code_block"):
                lang = re.sub(r"[^\w+#.-]", "", (t.info or "").strip().split(" ")[0]) if typ == "fence" else ""
                cls = f' class="language-{esc(lang)}"' if lang else ""
                out.append(f"<pre><code{cls}>{esc(t.content)}</code></pre>\n")
            elif typ == "hr":
                out.append("<hr>\n")
            elif typ == "admonition_open":
                kind = (t.info or "").strip().split(" ")[0].lower()
                kind = kind if kind in ADMONITION_KINDS else "note"
                out.append(f'<div class="admonition {kind}">\n')
            elif typ == "admonition_close":
                out.append("</div>\n")
            elif typ == "admonition_title_open":
                out.append('<p class="admonition-title">')
            elif typ == "admonition_title_close":
                out.append("</p>\n")
            else:
                raise RenderError(typ, 0)
            i += 1

    def figure(self, inline: Any) -> None:
        """A figure: the image with its alt text, then "Figure 3: caption" (the image's title)."""
        img = next(c for c in inline.children or [] if c.type == "image")
        node: Image = img.meta["node"]
        alt = self.plain(img.children or [])
        caption = str((img.attrs or {}).get("title") or "")
        self.runs.append(((img.meta or {}).get("abs", 0), f"{alt} {caption}".strip()))
        num = self.ctx.figure_number(node)
        label = f'<span class="figure-label">Figure{" " + str(num) if num else ""}</span>'
        self.out.append(f'<figure class="envscan-figure" id="{esc(node.figure)}">\n'
                        f'<img src="{esc(self.ctx.href(node))}" alt="{esc(alt)}">\n'
                        f'<figcaption>{label}{": " + esc(caption) if caption else ""}</figcaption>\n</figure>\n')

    def tearlines(self, lo: int, hi: int, parent: Region | None, in_note: bool) -> None:
        """Inside a block the edition may not show: only its tearlines, in order."""
        i = lo
        while i < hi:
            t = self.tokens[i]
            if t.type in ("div_open", "div_bad"):
                j = self.div_close[i]
                r: Region | None = (t.meta or {}).get("region")
                if r is not None and r.parent is parent and r.tearline and self.ctx.region_visible(r):
                    self.blocks(i + 1, min(j, hi), in_note)
                i = j + 1
                continue
            i += 1

    def open_tag(self, t: Any, tag: str) -> str:
        if tag == "ol":
            start = t.attrs.get("start") if t.attrs else None
            return f'<ol start="{int(start)}">\n' if start and str(start).isdigit() else "<ol>\n"
        if tag in ("th", "td"):
            m = ALIGN_RE.fullmatch(str((t.attrs or {}).get("style", "")))
            return f'<{tag} style="text-align: {m.group(1)}">' if m else f"<{tag}>"
        return f"<{tag}>" if tag in ("p", "li") else f"<{tag}>\n"

    def heading(self, t: Any, inline: Any, in_note: bool) -> None:
        h: Heading | None = t.meta.get("node") if t.meta else None
        level = int(t.tag[1])
        prefix = self.ctx.heading_prefix(h) if h is not None else ""  # "1. ", "2.1 " or ""
        hid = (h.id if h is not None else None) or slugify(self.plain(inline.children or []))
        base, k = hid, self._id_next.get(hid, 1)
        if k > 1 or hid in self.ids:  # the first free base_2, base_3 ...: ids only grow, so resume the count
            k = max(k, 2)
            hid = f"{base}_{k}"
            while hid in self.ids:
                k += 1
                hid = f"{base}_{k}"
            self._id_next[base] = k
        self.ids.add(hid)
        saved, self.out = self.out, []
        self.inline(inline.children or [], in_note)
        inner, self.out = "".join(self.out), saved
        label = prefix + self.plain(inline.children or [])
        # a note call in a heading must not reach the PDF outline: the outline takes this label
        extra = f' data-toc-label="{esc(label)}"' if '<sup id="fnref' in inner else ""
        self.out.append(f'<h{level} id="{esc(hid)}"{extra}>{esc(prefix)}{inner}</h{level}>\n')
        self.toc.append((level, hid, label))

    # ------------------------------------------------------------------ inline

    def inline(self, children: list[Any], in_note: bool, lo: int = 0, hi: int | None = None,
               span_close: dict[int, int] | None = None) -> None:
        """Render ``children[lo:hi]`` (a span's content is rendered in place, with the pairs
        matched once for the whole list: a span's inside is balanced)."""
        out, ctx = self.out, self.ctx
        if span_close is None:
            span_close = match_pairs(children, ("span_open",), "span_close")
        k, n = lo, len(children) if hi is None else hi
        while k < n:
            c = children[k]
            typ = c.type
            if typ == "text":
                self.text(c, in_note)
            elif typ == "softbreak":
                out.append("\n")
            elif typ == "hardbreak":
                out.append("<br>\n")
            elif typ == "code_inline":
                out.append(f"<code>{esc(c.content)}</code>")
            elif typ.endswith("_open") and typ[:-5] in INLINE_TAGS:
                out.append(f"<{INLINE_TAGS[typ[:-5]]}>")
            elif typ.endswith("_close") and typ[:-6] in INLINE_TAGS:
                out.append(f"</{INLINE_TAGS[typ[:-6]]}>")
            elif typ == "span_open":
                j = span_close[k]
                r: Region | None = (c.meta or {}).get("region")
                if r is not None and ctx.region_visible(r):
                    editor = ctx.editor_shown(r)
                    if editor:
                        out.append('<span class="envscan-editor">')
                    self.inline(children, in_note, k + 1, min(j, n), span_close)
                    if editor:
                        out.append("</span>")
                k = j + 1
                continue
            elif typ == "span_close":
                pass
            elif typ == "link_open":
                node: Link = self.node(c)
                title = (c.attrs or {}).get("title")
                t_attr = f' title="{esc(str(title))}"' if title else ""
                out.append(f'<a href="{esc(ctx.href(node))}"{t_attr}>')
            elif typ == "link_close":
                out.append("</a>")
            elif typ == "image":
                node = self.node(c)
                alt = self.plain(c.children or [])
                title = (c.attrs or {}).get("title")
                t_attr = f' title="{esc(str(title))}"' if title else ""
                out.append(f'<img src="{esc(ctx.href(node))}" alt="{esc(alt)}"{t_attr}>')
            elif typ == "cite":
                nxt = children[k + 1].content if k + 1 < n and children[k + 1].type == "text" else ""
                out.append(ctx.cite_html(self.node(c), nxt))
            elif typ == "xref":
                out.append(ctx.xref_html(self.node(c)))
            elif typ == "figref":
                out.append(ctx.figref_html(c.meta["node"]))
            elif typ in ("footnote_ref", "inline_note"):
                out.append(ctx.note_call(self.node(c)))
            elif typ in SKIP_INLINE:
                pass
            else:
                raise RenderError(typ, (c.meta or {}).get("abs", 0))
            k += 1

    @staticmethod
    def node(c: Any) -> Any:
        """The node parse attached to a token; none (parse stopped early): not rendered."""
        n = (c.meta or {}).get("node")
        if n is None:
            raise RenderError(c.type, (c.meta or {}).get("abs", 0))
        return n

    def text(self, c: Any, in_note: bool) -> None:
        s = c.content
        self.runs.append(((c.meta or {}).get("abs", 0), s))
        if self.abbr_re is None or in_note:
            self.out.append(esc(s))
            return
        pos = 0
        for m in self.abbr_re.finditer(s):
            self.out.append(esc(s[pos:m.start()]))
            a = m.group(1)
            self.abbr_used.add(a)
            self.out.append(f'<abbr title="{esc(self.abbr[a])}">{esc(a)}</abbr>')
            pos = m.end()
        self.out.append(esc(s[pos:]))

    def plain(self, children: list[Any]) -> str:
        """Visible plain text of inline tokens (headings' labels, alt text): filtered like the
        page, without note calls, citations-as-notes or markup."""
        return plain_text(children, self.ctx.region_visible)


def plain_text(children: list[Any], visible: Callable[[Region], bool]) -> str:
    parts: list[str] = []
    span_close = match_pairs(children, ("span_open",), "span_close")
    k, n = 0, len(children)
    while k < n:
        c = children[k]
        if c.type == "span_open":
            j = span_close[k]
            r = (c.meta or {}).get("region")
            if r is not None and visible(r):  # a span parse did not register is never shown
                parts.append(plain_text(children[k + 1:j], visible))
            k = j + 1
            continue
        if c.type in ("text", "code_inline"):
            parts.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif c.type == "image":
            parts.append(plain_text(c.children or [], visible))
        elif c.type == "xref":
            parts.append("")
        k += 1
    return re.sub(r"\s+", " ", "".join(parts)).strip()


# --------------------------------------------------------------------------- templates
# Every piece of HTML envscan writes around the rendered tree: one place for presentation.

GAP_TEXT = "Note text not available in this digital edition."


def asset_text(name: str) -> str:
    """One of envscan's stylesheets (``assets/envscan.css`` for the site, ``pdf.css``)."""
    return resources.files("envscan").joinpath("assets").joinpath(name).read_text(encoding="utf-8")
_CALL_RE = re.compile(r'<sup id="fnref(\d*):(\d+)"><a class="footnote-ref" href="#fn:\d+" aria-label="Note \d+">'
                      r'\d+</a></sup>')
PDF_NOTE_TAG = "envscan-note"  # a note in the PDF: its own element, tagged as a PDF Note (pdf.py)


def page_url(name: str) -> str:
    """A docs-relative page name (``02-review.md``) as the site's URL (``02-review.html``)."""
    return name[:-3] + ".html" if name.endswith(".md") else name


def link(href: str, inner_html: str) -> str:
    return f'<a href="{esc(href)}">{inner_html}</a>'


def anchor(aid: str) -> str:
    return f'<a id="{esc(aid)}"></a>'


def reference_link(key: str, inner_html: str) -> str:
    return link(f"{page_url('references.md')}#ref-{key}", inner_html)


def marking_class(label: str) -> str:
    return "marking-" + re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def banner(label: str) -> str:
    return (f'<div class="envscan-banner {marking_class(label)}" role="note" aria-label="Marking {esc(label)}">'
            f"<span>{esc(label)}</span></div>\n")


def framed(marking: str, body: str) -> str:
    """A page's content between its two marking banners."""
    return banner(marking) + body + banner(marking)


def note_call(number: int, nth: int) -> str:
    """A note call: the number, read by assistive technology as "Note 12"."""
    rid = f"fnref:{number}" if nth == 1 else f"fnref{nth}:{number}"
    return (f'<sup id="{rid}"><a class="footnote-ref" href="#fn:{number}" aria-label="Note {number}">{number}</a>'
            "</sup>")


def gap_note() -> str:
    return f"<p><em>{GAP_TEXT}</em></p>"


def notes_list(notes: list[Any]) -> str:
    """The notes of a page, numbered as in the whole edition, each with a link back ("Back to
    text of note 12"); the list is a region named "Notes"."""
    if not notes:
        return ""
    items = "\n".join(
        f'<li id="fn:{nt.number}" value="{nt.number}"{" class=" + chr(34) + "envscan-gap" + chr(34) if nt.gap else ""}>'
        f'{nt.html} <a class="footnote-backref" href="#fnref:{nt.number}" '
        f'aria-label="Back to text of note {nt.number}" title="Back to the text of note {nt.number}">&#8617;</a></li>'
        for nt in notes)
    return (f'<section class="footnote" aria-label="Notes">\n<hr>\n<ol start="{notes[0].number}">\n{items}\n</ol>\n'
            "</section>\n")


def pdf_body(body: str, notes: dict[int, str]) -> str:
    """The PDF's body: the same HTML, each first note call replaced by the note itself (a CSS
    footnote), later calls by a reference to it. The calls are envscan's own markup."""
    def call(m: re.Match[str]) -> str:
        num = int(m.group(2))
        if m.group(1):
            return f'<sup class="fn-again"><a href="#fn:{num}">{num}</a></sup>'
        text = re.sub(r"</p>\s*<p>", "<br>", notes.get(num, ""))
        text = re.sub(r"</?p>", "", text).strip()
        return f'<{PDF_NOTE_TAG} class="footnote" id="fn:{num}">{text}</{PDF_NOTE_TAG}>'

    return _CALL_RE.sub(call, body)


def cover(report: Any, edition: Any, marking: str, pdf_enabled: bool) -> str:
    """Landing-page block: title, year, period, edition, marking, PDF link."""
    from .edition import pdf_filename

    rows = [f'<p class="cover-title">{esc(report.title)}</p>']
    if report.subtitle:
        rows.append(f'<p class="cover-subtitle">{esc(report.subtitle)}</p>')
    facts = [x for x in (edition.title, f"Year {report.year}" if report.year else "",
                         f"Period covered {report.period}" if report.period else "", marking) if x]
    rows.append(f'<p class="cover-facts">{" · ".join(esc(x) for x in facts)}</p>')
    if pdf_enabled and edition.pdf:
        rows.append(f'<p class="cover-pdf"><a href="{pdf_filename(report.title, edition.name)}" download>'
                    f'Download the PDF of this edition</a></p>')
    return '<div class="envscan-cover">\n' + "\n".join(rows) + "\n</div>\n"


def references(keys: list[str], entries: dict[str, str], note_backs: dict[str, list[Any]],
               text_backs: dict[str, list[tuple[str, str, str]]]) -> str:
    rows = []
    for k in keys:
        parts = []
        backs = note_backs.get(k, [])
        if backs:
            nums = ", ".join(link(f"{page_url(nt.page)}#fn:{nt.number}", str(nt.number)) for nt in backs)
            parts.append(f'Cited in note{"s" if len(backs) > 1 else ""} {nums}')
        if text_backs.get(k):
            parts.append("in the text at " + ", ".join(link(f"{page_url(pg)}#{a}", esc(lbl))
                                                       for pg, a, lbl in text_backs[k]))
        back_html = f' <span class="envscan-backrefs">{"; ".join(parts)}.</span>' if parts else ""
        rows.append(f'<li id="ref-{esc(k)}">{entries[k]}{back_html}</li>')
    return '<h1 id="references">References</h1>\n<ul class="envscan-references">\n' + "\n".join(rows) + "\n</ul>\n"


def abbreviations(used: dict[str, str]) -> str:
    rows = "\n".join(f"<tr>\n<td>{esc(a)}</td>\n<td>{esc(x)}</td>\n</tr>" for a, x in sorted(used.items()))
    return ('<h1 id="abbreviations">Abbreviations</h1>\n<table>\n<thead>\n<tr>\n<th>Abbreviation</th>\n'
            f"<th>Meaning</th>\n</tr>\n</thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n")


def not_found() -> str:
    return ('<h1 id="not-found">Page not found</h1>\n<p>This page is not part of this edition. Use the navigation '
            "or search to find a chapter.</p>\n")
