"""Per edition: filter first, then number and cite. Pure: project in, assembled edition out.

Filtering works on the source text: regions above the edition's marking are cut out of the
chapter before anything is numbered; everything derived (section numbers, note numbers,
Ibid., the reference list, abbreviations, navigation) is computed on what is left.
"""

from __future__ import annotations

import bisect
import html
import re
from functools import lru_cache
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

from .cite import CiteItem, Styler, format_reference_html, ibid_positions, md_escape, render_item, sort_key
from .config import Edition
from .diagnostics import Diagnostic
from .gate import Restricted
from .model import Chapter, Node, Region
from .project import Project

GAP_TEXT = "Note text not available in this digital edition."
GAP_CLASS = ' class="envscan-gap"'
ASSET_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}


@dataclass(eq=False)
class Note:
    number: int
    page: str  # docs-relative page name
    label: str  # source label, or "@cite" for a generated note
    html: str = ""
    gap: bool = False
    cites: list[CiteItem] = field(default_factory=list)
    origin: str = ""


@dataclass
class Page:
    name: str
    title: str  # numbered, for nav
    marking: str
    site_md: str
    pdf_md: str
    chapter: Chapter | None = None
    visible_runs: list[tuple[int, str]] = field(default_factory=list)  # (source offset, text) shown

    @property
    def visible_text(self) -> str:
        """The chapter's own visible text (for the source-level leak check)."""
        return "\n".join(t for _, t in self.visible_runs)


@dataclass
class Removed:
    origin: str
    marking: str
    kind: str  # block | span | chapter | note | editor | comment | source | section
    words: int


@dataclass
class AssembledEdition:
    edition: Edition
    pages: list[Page]
    notes: list[Note]
    references: list[str]
    restricted: list[Restricted]
    removed: list[Removed]
    assets: list[str]
    abbreviations: dict[str, str]
    sections: list[tuple[str, str, int, str]]  # (number, title, level, page#anchor)


class _Vis:
    def __init__(self, project: Project, ed: Edition):
        self.scheme = project.config.scheme
        self.max = self.scheme.rank(ed.max_marking)
        self._eff: dict[int, str] = {}
        self._vis: dict[int, bool] = {}

    def eff(self, r: Region) -> str:
        k = id(r)
        if k not in self._eff:
            own = r.marking or self.scheme.lowest
            if r.parent is None:
                v = own
            elif r.tearline and r.parent.parent is not None:
                v = self.scheme.max(own, self.eff(r.parent.parent))
            else:
                v = self.scheme.max(own, self.eff(r.parent))
            self._eff[k] = v
        return self._eff[k]

    def visible(self, r: Region) -> bool:
        k = id(r)
        if k not in self._vis:
            if r.parent is None:
                v = self.scheme.rank(self.eff(r)) <= self.max
            elif r.editor:
                v = False
            elif r.tearline:
                v = (not self.visible(r.parent)) and r.parent.parent is not None and \
                    self.visible(r.parent.parent) and self.scheme.rank(self.eff(r)) <= self.max
            else:
                v = self.visible(r.parent) and self.scheme.rank(self.eff(r)) <= self.max
            self._vis[k] = v
        return self._vis[k]


def _words(s: str) -> int:
    return len(re.findall(r"\w+", s))


def _text_in(ch: Chapter, s: int, e: int, skip: list[tuple[int, int]] = ()) -> str:
    out = []
    for a, b, t in ch.texts:
        if a >= s and b <= e and not any(x <= a and b <= y for x, y in skip):
            out.append(t)
    return " ".join(out)


@lru_cache(maxsize=1)
def _note_md() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def sort_edits(edits: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Edits in application order: by start, the longest first; insertions keep their order."""
    return sorted(edits, key=lambda e: (e[0], -(e[1] - e[0])))


def apply_edits(text: str, edits: list[tuple[int, int, str]], lo: int, hi: int, presorted: bool = False) -> str:
    """Apply (start, end, replacement) edits inside [lo, hi). An edit inside a deleted or
    replaced range is dropped; insertions (start == end) keep their order. With
    ``presorted`` the edits come from ``sort_edits`` and are selected by bisection."""
    if presorted:
        i = bisect.bisect_left(edits, lo, key=lambda e: e[0])
        j = bisect.bisect_left(edits, hi + 1, key=lambda e: e[0])
        sel = [e for e in edits[i:j] if e[1] <= hi]
    else:
        sel = sort_edits([e for e in edits if lo <= e[0] and e[1] <= hi])
    out = []
    pos = lo
    for s, e, rep in sel:
        if s < pos:
            continue  # inside an earlier edit
        out.append(text[pos:s])
        out.append(rep)
        pos = e
    out.append(text[pos:hi])
    return "".join(out)


def _dedent_note(s: str) -> str:
    lines = s.split("\n")
    return "\n".join([lines[0]] + [re.sub(r"^ {1,4}|^\t", "", x) for x in lines[1:]]).strip()


def _slug_class(label: str) -> str:
    return "marking-" + re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def banner(label: str) -> str:
    return f'<div class="envscan-banner {_slug_class(label)}" role="note" aria-label="Marking {html.escape(label)}"><span>{html.escape(label)}</span></div>'


def page_url(name: str, mode: str) -> str:
    if mode == "md":
        return name
    if mode == "pdf":
        return ""
    return name[:-3] + ".html"


def assemble(project: Project, ed: Edition, render: bool = True, with_pdf: bool = True,
             ref_cache: dict[str, str] | None = None) -> tuple[AssembledEdition, list[Diagnostic]]:
    """``render=False`` (for ``check``) skips HTML rendering of notes and references."""
    cfg = project.config
    vis = _Vis(project, ed)
    diags: list[Diagnostic] = []
    bib = project.bib

    def d(ch: Chapter, code: str, msg: str, off: int, *hints: str) -> None:
        ln, col = ch.pos(off)
        diags.append(Diagnostic("error", code, msg, ch.path, ln, col, tuple(hints), ed.name))

    chapters = [ch for ch in project.chapters if vis.visible(ch.root)]
    removed: list[Removed] = []
    restricted: list[Restricted] = []

    def add_restricted(origin: str, marking: str, text: str, kind: str) -> None:
        text = text.strip()
        if not text:
            return
        if kind in ("editor", "comment") and _words(text) < 8:
            return  # internal remarks: fingerprinted when long, never exact-matched
        restricted.append(Restricted(f"R{len(restricted) + 1}", text, origin, marking))

    def removed_parts(ch: Chapter, lo: int, hi: int, marking: str, skip=()) -> None:
        """Report the sections and notes that go with a removed chapter or region (no text)."""
        for n in ch.nodes:
            if not lo <= n.start < hi or any(a <= n.start < b for a, b in skip):
                continue
            kind = "section" if n.kind == "heading" else "note" if (
                n.kind == "fndef" or (n.kind == "cite" and n.note is None and _makes_note(n))) else None
            if kind:
                words = n.data["text"] if kind == "section" else \
                    ch.text[n.data["content"][0]:n.data["content"][1]] if n.kind == "fndef" else ""
                removed.append(Removed(f"{ch.path}:{n.line}:{n.col}", marking, kind, _words(words)))

    for ch in project.chapters:
        if ch not in chapters:
            removed.append(Removed(f"{ch.path}", ch.marking, "chapter", _words(_text_in(ch, 0, len(ch.text)))))
            removed_parts(ch, 0, len(ch.text), ch.marking)
            add_restricted(f"{ch.path}:1:1", ch.marking, ch.title, "chapter")
            add_restricted(f"{ch.path}:1:1", ch.marking, _text_in(ch, 0, len(ch.text)), "chapter")
            for h in ch.headings():
                add_restricted(f"{ch.path}:{h.line}:{h.col}", ch.marking, h.data["text"], "section")

    # ---------------------------------------------------------------- node visibility
    def def_of(ch: Chapter) -> dict[str, Node]:
        return {n.data["label"]: n for n in ch.nodes if n.kind == "fndef"}

    defs_by_ch = {ch.path: def_of(ch) for ch in chapters}

    def node_visible(ch: Chapter, n: Node) -> bool:
        if not vis.visible(n.region):
            return False
        if n.note:
            dn = defs_by_ch[ch.path].get(n.note)
            return dn is not None and vis.visible(dn.region)
        return True

    # removed regions (top-most) -> report + gate passages
    for ch in chapters:
        for r in ch.regions[1:]:
            if vis.visible(r) or r.tearline or r.parent is None or not vis.visible(r.parent):
                continue  # shown, a tearline not needed here, or inside a removed region
            keep = [(c.start, c.end) for c in r.children if c.tearline and vis.visible(c)]
            kind = "editor" if r.editor else ("block" if r.kind == "div" else "span")
            text = _text_in(ch, r.start, r.end, keep)
            origin = f"{ch.path}:{r.line}:{r.col}"
            marking = "editor" if r.editor else vis.eff(r)
            removed.append(Removed(origin, marking, kind, _words(text)))
            removed_parts(ch, r.start, r.end, marking, keep)
            add_restricted(origin, marking, text, kind)
        for n in ch.nodes:
            if n.kind == "comment":
                removed.append(Removed(f"{ch.path}:{n.line}:{n.col}", "comment", "comment", _words(n.data["text"])))
                add_restricted(f"{ch.path}:{n.line}:{n.col}", "comment", n.data["text"], "comment")
            if n.kind == "heading" and not vis.visible(n.region):
                add_restricted(f"{ch.path}:{n.line}:{n.col}", vis.eff(n.region), n.data["text"], "section")

    # ---------------------------------------------------------------- per-edition errors
    heading_vis: dict[str, tuple[Chapter, Node]] = {}
    for ch in chapters:
        for h in ch.headings():
            if h.data.get("id") and node_visible(ch, h):
                heading_vis[h.data["id"]] = (ch, h)
    all_ids = {h.data["id"] for ch in project.chapters for h in ch.headings() if h.data.get("id")}
    page_names = {ch.name for ch in chapters}
    all_pages = {ch.name for ch in project.chapters}
    assets: set[str] = set()
    for ch in chapters:
        defs = defs_by_ch[ch.path]
        h1 = next((h for h in ch.headings() if h.data["level"] == 1), None)
        if h1 is not None and not node_visible(ch, h1):
            d(ch, "E-ED-HEADING-FILTERED", "the chapter's level-1 heading is filtered out of this edition but the "
              "chapter is not (its sections would be numbered as part of the previous chapter)", h1.start,
              "mark the chapter in its front matter, or leave its first heading unmarked")
        for n in ch.nodes:
            if not node_visible(ch, n):
                continue
            if n.kind == "cite":
                for it in n.data["items"]:
                    m = bib.markings.get(it["key"])
                    if m and cfg.scheme.rank(m) > vis.max:
                        d(ch, "E-ED-CITE-MARKED", f"visible text cites @{it['key']}, a source marked {m}",
                          it["abs"], "mark the citing passage at least as high as the source, or cite another work")
            elif n.kind == "xref":
                if n.data["id"] in all_ids and n.data["id"] not in heading_vis:
                    d(ch, "E-ED-XREF-FILTERED", f"@{n.data['id']} points to a section that is not in this edition",
                      n.start, "mark the referring passage like its target, or drop the reference")
            elif n.kind in ("link", "image"):
                t = n.data["target"]
                if re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I) or t.startswith("//"):
                    if n.kind == "image":
                        d(ch, "E-ED-REMOTE", "images must be local files (the site works offline)", n.start)
                    continue
                path, _, frag = t.partition("#")
                if not path:
                    if frag and frag in all_ids and frag not in heading_vis:
                        d(ch, "E-ED-LINK-FILTERED", f"link to #{frag}, a section not in this edition", n.start)
                    continue
                if path.endswith(".md"):
                    if path in all_pages and path not in page_names:
                        d(ch, "E-ED-LINK-FILTERED", f"link to {path}, a chapter not in this edition", n.start)
                    elif path not in all_pages:
                        d(ch, "E-LINK-BROKEN", f"link to {path}, which is not a chapter", n.start)
                    elif frag and frag in all_ids and frag not in heading_vis:
                        d(ch, "E-ED-LINK-FILTERED", f"link to {path}#{frag}, a section not in this edition", n.start)
                    continue
                ext = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
                if path not in project.assets:
                    d(ch, "E-LINK-BROKEN", f"link to {path}, which is not in docs/", n.start)
                elif ext not in ASSET_TYPES:
                    d(ch, "E-ED-ASSET-TYPE", f"{path}: only images ({', '.join(sorted(ASSET_TYPES))}) are published",
                      n.start)
                else:
                    assets.add(path)
                if n.kind == "image" and not n.data["alt"].strip():
                    d(ch, "E-IMG-ALT", "image without alt text", n.start, "write ![description](file.png)")
            elif n.kind == "fnref" and not n.data.get("inline"):
                dn = defs.get(n.data["label"])
                if dn is not None and not vis.visible(dn.region):
                    d(ch, "E-ED-FN-FILTERED", f"footnote [^{n.data['label']}] is shown but its definition is filtered "
                      "out of this edition", n.start, "mark the reference like its definition")
        referenced = {n.data["label"] for n in ch.nodes if n.kind == "fnref"}
        shown = {n.data["label"] for n in ch.nodes if n.kind == "fnref" and node_visible(ch, n)}
        for lab, dn in defs.items():
            if dn.data.get("inline") or not vis.visible(dn.region):
                continue
            if lab not in shown:
                if lab in referenced:
                    d(ch, "E-ED-FN-ORPHAN", f"footnote [^{lab}] is shown but every reference to it is filtered out",
                      dn.start, "mark the definition like its reference (put it in the same marked block)")

    # ---------------------------------------------------------------- numbering
    sections: list[tuple[str, str, int, str]] = []
    numbers: dict[int, str] = {}  # id(heading node) -> "2.1"
    counters = [0, 0, 0, 0, 0, 0]
    for ch in chapters:
        for h in ch.headings():
            if not node_visible(ch, h):
                continue
            lvl = h.data["level"]
            if h.data["unnumbered"]:
                sections.append(("", _plain_heading(h), lvl, f"{ch.name}#{h.data.get('id') or ''}"))
                continue
            counters[lvl - 1] += 1
            for k in range(lvl, 6):
                counters[k] = 0
            num = ".".join(str(c) for c in counters[:lvl])
            numbers[id(h)] = num
            sections.append((num, _plain_heading(h), lvl, f"{ch.name}#{h.data.get('id') or ''}"))

    # ---------------------------------------------------------------- notes and cites
    notes: list[Note] = []
    note_of: dict[tuple[str, str], Note] = {}  # (chapter path, label) -> note
    call_number: dict[int, tuple[int, int]] = {}  # id(call node) -> (note number, nth reference)
    boundaries: set[int] = set()
    for ch in chapters:
        boundaries.add(len(notes))
        calls = [n for n in ch.nodes if node_visible(ch, n) and n.note is None and
                 (n.kind == "fnref" or (n.kind == "cite" and _makes_note(n)))]
        calls.sort(key=lambda n: n.start)
        for n in calls:
            if n.kind == "fnref":
                key = (ch.path, n.data["label"])
                if key not in note_of:
                    dn = defs_by_ch[ch.path].get(n.data["label"])
                    if dn is None:
                        continue
                    note = Note(len(notes) + 1, ch.name, n.data["label"], gap=bool(dn.data.get("gap")),
                                origin=f"{ch.path}:{dn.line}:{dn.col}")
                    note_of[key] = note
                    notes.append(note)
                    call_number[id(n)] = (note.number, 1)
                else:
                    note = note_of[key]
                    prev = sum(1 for v in call_number.values() if v[0] == note.number)
                    call_number[id(n)] = (note.number, prev + 1)
            else:
                note = Note(len(notes) + 1, ch.name, "@cite", origin=f"{ch.path}:{n.line}:{n.col}")
                note.cites = [CiteItem(i["key"], i["prefix"], i["locator"], i["suffix"], i["suppress_author"])
                              for i in n.data["items"] if i["key"] in bib.entries]
                notes.append(note)
                call_number[id(n)] = (note.number, 1)
                note_of[(ch.path, f"@{n.start}")] = note
        # cites inside notes, in document order
        for n in sorted((n for n in ch.nodes if n.kind == "cite" and n.note and node_visible(ch, n)),
                        key=lambda n: n.start):
            note = note_of.get((ch.path, n.note))
            if note is not None:
                note.cites.extend(CiteItem(i["key"], i["prefix"], i["locator"], i["suffix"], i["suppress_author"])
                                  for i in n.data["items"] if i["key"] in bib.entries)
    cited = [c.key for nt in notes for c in nt.cites]
    # citations rendered in place in body text: anchors for the reference list's backlinks
    inplace: dict[int, str] = {}
    text_backlinks: dict[str, list[tuple[str, str, str]]] = {}  # key -> (page, anchor, label)
    for ch in chapters:
        heads = [h for h in ch.headings() if node_visible(ch, h)]
        for n in ch.nodes:
            if n.kind == "cite" and n.note is None and not _makes_note(n) and node_visible(ch, n):
                cited.extend(i["key"] for i in n.data["items"] if i["key"] in bib.entries)
                anchor = f"cite-{len(inplace) + 1}"
                inplace[id(n)] = anchor
                before = [h for h in heads if h.start <= n.start]
                sec = numbers.get(id(before[-1])) if before else None
                label = f"§{sec}" if sec else (before[-1].data["text"] if before else ch.title)
                for i in n.data["items"]:
                    if i["key"] in bib.entries:
                        text_backlinks.setdefault(i["key"], []).append((ch.name, anchor, label))
    styler = Styler(bib, cited, cfg.et_al_min)
    positions = ibid_positions([[] if nt.gap else nt.cites for nt in notes], boundaries) if cfg.ibid else \
        [["first"] * len(nt.cites) for nt in notes]
    # per note, an iterator over its cite positions in order
    pos_iter = {nt.number: iter(p) for nt, p in zip(notes, positions)}
    ref_backlinks: dict[str, list[Note]] = {}
    for nt in notes:
        for c in nt.cites:
            lst = ref_backlinks.setdefault(c.key, [])
            if nt not in lst:
                lst.append(nt)
    references = sorted({k for k in cited}, key=lambda k: sort_key(styler, k))
    for k in references:
        ref_backlinks.setdefault(k, [])

    # restricted sources that are not cited: their names are passages too
    for key, m in bib.markings.items():
        if cfg.scheme.rank(m) > vis.max and key in bib.entries:
            e = bib.entries[key]
            path, ln = bib.line_of(key)
            t = e.fields.get("title", "")
            removed.append(Removed(f"{path}:{ln}", m, "source", _words(t)))
            add_restricted(f"{path}:{ln}:1", m, t, "source")

    def link_ref(mode: str, page: str):
        def f(key: str, text: str) -> str:
            return f"[{text}]({page_url('references.md', mode)}#ref-{key})"
        return f

    def render_cluster(items: list[dict], note: Note | None, lead: bool, mode: str, narrative: bool) -> str:
        parts = []
        for j, it in enumerate(items):
            if it["key"] not in bib.entries:
                parts.append(md_escape("@" + it["key"]))
                continue
            c = CiteItem(it["key"], it["prefix"], it["locator"], it["suffix"], it["suppress_author"])
            p = next(pos_iter[note.number], "first") if note is not None else "first"
            if narrative or c.suppress_author:
                p = "first"
            parts.append(render_item(styler, c, p, link_ref(mode, ""), lead and j == 0))
        return "; ".join(parts)

    def xref_text(xid: str, mode: str) -> str:
        if xid not in heading_vis:
            return md_escape("@" + xid)
        tch, h = heading_vis[xid]
        num = numbers.get(id(h))
        if num:
            word = "chapter" if h.data["level"] == 1 else "section"
            label = f"{word} {num}"
        else:
            label = f"“{h.data['text']}”"
        return f"[{md_escape(label)}]({page_url(tch.name, mode)}#{xid})"

    # ---------------------------------------------------------------- edits -> pages
    notes_by_page: dict[str, list[Note]] = {}
    for nt in notes:
        notes_by_page.setdefault(nt.page, []).append(nt)
    pages: list[Page] = []
    abbr_used: dict[str, str] = {}
    for ch in chapters:
        edits_common: list[tuple[int, int, str]] = []
        page_marking = ch.marking
        for r in ch.regions[1:]:
            if vis.visible(r):
                page_marking = cfg.scheme.max(page_marking, vis.eff(r))
                for s, e in r.unwrap:
                    edits_common.append((s, e, ""))
            elif r.parent is not None and vis.visible(r.parent):
                keep = [c for c in r.children if c.tearline and vis.visible(c)]
                if keep:
                    t = keep[0]
                    edits_common.append((r.start, t.unwrap[0][1], ""))
                    edits_common.append((t.unwrap[-1][0], r.end, ""))
                    page_marking = cfg.scheme.max(page_marking, vis.eff(t))
                else:
                    edits_common.append((r.start, r.end, ""))
        for n in ch.nodes:
            if n.kind == "comment":
                edits_common.append((n.start, n.end, ""))
            elif n.kind == "heading" and node_visible(ch, n):
                num = numbers.get(id(n))
                if num:
                    edits_common.append((n.data["text_start"], n.data["text_start"], num + " "))
                attrs = []
                if n.data.get("id"):
                    attrs.append("#" + n.data["id"])
                if n.data.get("notes"):
                    # a note call in a heading must not leak its number into the TOC label
                    plain = _plain_heading(n)
                    label = (num + " " if num else "") + plain
                    attrs.append('data-toc-label="' + html.escape(label, quote=True) + '"')
                attr_md = "{" + " ".join(attrs) + "}" if attrs else ""
                if n.data.get("attr_off") is not None:
                    a = n.data["attr_off"]
                    e = ch.text.index("}", a) + 1
                    edits_common.append((a, e, attr_md))
                elif attr_md:
                    eol = ch.text.find("\n", n.data["text_start"])
                    eol = len(ch.text) if eol < 0 else eol
                    edits_common.append((eol, eol, " " + attr_md))
        # front matter
        edits_common.append((0, ch.front_end, ""))
        deleted = _merge([(a, b) for a, b, rep in edits_common if not rep and b - a > 0])
        starts = [x for x, _ in deleted]

        def shown_run(a: int, b: int) -> bool:
            i = bisect.bisect_right(starts, a) - 1
            return a >= ch.front_end and not (i >= 0 and b <= deleted[i][1])

        visible_runs = [(a, t) for a, b, t in ch.texts if shown_run(a, b)]

        out = {}
        # notes are rendered once (site links); the PDF reuses them, its writer turning page
        # links into in-document anchors
        note_html: dict[int, str] = {}
        for mode in (("md", "pdf") if render and with_pdf else ("md",)):
            edits = list(edits_common)
            # both modes render the same sequence of cite positions
            for nt in notes_by_page.get(ch.name, []):
                pos_iter[nt.number] = iter(positions[nt.number - 1])
            for n in ch.nodes:
                if not node_visible(ch, n):
                    continue
                if n.kind == "xref":
                    edits.append((n.start, n.end, xref_text(n.data["id"], "html" if (n.note and mode == "md") else mode)))
                elif n.kind == "cite" and (n.note or not _makes_note(n)):
                    note = note_of.get((ch.path, n.note)) if n.note else None
                    dn = defs_by_ch[ch.path].get(n.note) if n.note else None
                    lead = bool(dn) and ch.text[dn.data["content"][0]:n.start].strip() == ""
                    emode = "html" if (n.note and mode == "md") else mode
                    anchor = f'<a id="{inplace[id(n)]}"></a>' if id(n) in inplace else ""
                    edits.append((n.start, n.end, anchor + render_cluster(n.data["items"], note, lead, emode,
                                                                          narrative=not n.data["bracketed"])))
                elif n.kind == "fndef" and not n.data.get("inline"):
                    edits.append((n.start, n.end, ""))
            # note contents (after their inner edits)
            sorted_edits = sort_edits(edits)
            for nt in notes_by_page.get(ch.name, []):
                if nt.number in note_html:
                    continue
                if nt.gap:
                    body_md = f"*{GAP_TEXT}*"
                elif nt.label == "@cite":
                    body_md = render_cluster([{"key": c.key, "prefix": c.prefix, "locator": c.locator,
                                               "suffix": c.suffix, "suppress_author": c.suppress_author}
                                              for c in nt.cites], nt, True, "html" if mode == "md" else mode, False)
                else:
                    dn = defs_by_ch[ch.path][nt.label]
                    cs, ce = dn.data["content"]
                    body_md = _dedent_note(apply_edits(ch.text, sorted_edits, cs, ce, presorted=True))
                html_body = _note_md().render(body_md).strip() if render else body_md
                note_html[nt.number] = html_body
                if mode == "md":
                    nt.html = html_body
            # calls
            for n in ch.nodes:
                if id(n) not in call_number:
                    continue
                num, nth = call_number[id(n)]
                if mode == "md":
                    rid = f"fnref:{num}" if nth == 1 else f"fnref{nth}:{num}"
                    call = f'<sup id="{rid}"><a class="footnote-ref" href="#fn:{num}">{num}</a></sup>'
                else:
                    body = note_html[num]
                    body = re.sub(r"</p>\s*<p>", "<br>", body)
                    body = re.sub(r"</?p>", "", body).strip()
                    call = f'<span class="footnote" id="fn:{num}">{body}</span>' if nth == 1 else \
                        f'<sup class="fn-again"><a href="#fn:{num}">{num}</a></sup>'
                edits.append((n.start, n.end, call))
            body = apply_edits(ch.text, edits, 0, len(ch.text)).strip("\n")
            body = re.sub(r"\n{3,}", "\n\n", body)
            out[mode] = body
            if mode == "md":
                page_notes = notes_by_page.get(ch.name, [])
                if page_notes:
                    items = "\n".join(
                        f'<li id="fn:{nt.number}" value="{nt.number}"{GAP_CLASS if nt.gap else ""}>'
                        f'{nt.html} <a class="footnote-backref" href="#fnref:{nt.number}" '
                        f'title="Back to the text of note {nt.number}">&#8617;</a></li>'
                        for nt in page_notes)
                    out["md"] += ("\n\n<div class=\"footnote\">\n<hr>\n"
                                  f"<ol start=\"{page_notes[0].number}\">\n{items}\n</ol>\n</div>\n")
        # abbreviations used on the page
        text_for_abbr = out["md"]
        used = {a: x for a, x in cfg.abbreviations.items() if re.search(r"\b" + re.escape(a) + r"\b", text_for_abbr)}
        abbr_used.update(used)
        abbr_block = "\n".join(f"*[{a}]: {x}" for a, x in sorted(used.items()))
        nums = {id(h): numbers.get(id(h)) for h in ch.headings()}
        h1 = next((h for h in ch.headings() if h.data["level"] == 1), None)
        num = nums.get(id(h1)) if h1 else None
        title = f"{num} {ch.title}" if num else ch.title
        fm = f"---\ntitle: {_yaml_str(title)}\n---\n\n"
        cover = _cover(cfg, ed, page_marking, with_pdf) + "\n\n" if not pages else ""
        site = fm + banner(page_marking) + "\n\n" + cover + out["md"] + "\n\n" + banner(page_marking) + "\n"
        if abbr_block:
            site += "\n" + abbr_block + "\n"
        pages.append(Page(ch.name, title, page_marking, site, out.get("pdf", "") + "\n", ch, visible_runs))

    # reference list page
    if references:
        rows = []
        for k in references:
            back = ", ".join(f'<a href="{page_url(nt.page, "html")}#fn:{nt.number}">{nt.number}</a>'
                             for nt in ref_backlinks[k])
            parts = []
            if back:
                parts.append(f'Cited in note{"s" if len(ref_backlinks[k]) > 1 else ""} {back}')
            if text_backlinks.get(k):
                parts.append("in the text at " + ", ".join(
                    f'<a href="{page_url(pg, "html")}#{a}">{html.escape(lbl)}</a>' for pg, a, lbl in text_backlinks[k]))
            back_html = f' <span class="envscan-backrefs">{"; ".join(parts)}.</span>' if parts else ""
            entry_html = format_reference_html(styler, k, ref_cache) if render else k
            rows.append(f'<li id="ref-{k}">{entry_html}{back_html}</li>')
        ref_marking = cfg.scheme.lowest
        for k in references:
            if k in bib.markings:
                ref_marking = cfg.scheme.max(ref_marking, bib.markings[k])
        body = "# References {#references}\n\n<ul class=\"envscan-references\">\n" + "\n".join(rows) + "\n</ul>\n"
        site = f"---\ntitle: References\n---\n\n{banner(ref_marking)}\n\n{body}\n{banner(ref_marking)}\n"
        pages.append(Page("references.md", "References", ref_marking, site, body))
    if abbr_used:
        rows = "\n".join(f"| {a} | {md_escape(x)} |" for a, x in sorted(abbr_used.items()))
        body = "# Abbreviations {#abbreviations}\n\n| Abbreviation | Meaning |\n|---|---|\n" + rows + "\n"
        lowest = cfg.scheme.lowest
        site = f"---\ntitle: Abbreviations\n---\n\n{banner(lowest)}\n\n{body}\n{banner(lowest)}\n"
        pages.append(Page("abbreviations.md", "Abbreviations", lowest, site, body))

    for nt in notes:
        if nt.gap:
            removed.append(Removed(nt.origin, "gap", "note-gap", 0))
    left_out: dict[str, int] = {}
    for a in project.assets:
        if a not in assets:  # files in docs/ this edition's pages do not reference: never copied
            ext = ("." + a.rsplit(".", 1)[-1].lower()) if "." in a.rsplit("/", 1)[-1] else "(no extension)"
            left_out[ext] = left_out.get(ext, 0) + 1
    for ext, count in sorted(left_out.items()):
        # counted by type, not named: a file name can itself be restricted
        removed.append(Removed(f"{cfg.docs_dir}/: {count} unreferenced {ext} file(s)", "unreferenced", "asset", 0))
    return AssembledEdition(ed, pages, notes, references, restricted, removed, sorted(assets), abbr_used,
                            sections), diags


def pdf_filename(title: str, edition: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "scan"
    return f"{slug}-{edition}.pdf"


def _cover(cfg, ed: Edition, marking: str, with_pdf: bool) -> str:
    """Landing-page block: title, year, period, edition, marking, PDF link."""
    rep = cfg.report
    rows = [f'<p class="cover-title">{html.escape(rep.title)}</p>']
    if rep.subtitle:
        rows.append(f'<p class="cover-subtitle">{html.escape(rep.subtitle)}</p>')
    facts = [x for x in (ed.title, f"Year {rep.year}" if rep.year else "",
                         f"Period covered {rep.period}" if rep.period else "", marking) if x]
    rows.append(f'<p class="cover-facts">{" · ".join(html.escape(x) for x in facts)}</p>')
    if with_pdf and cfg.pdf_enabled and ed.pdf:
        rows.append(f'<p class="cover-pdf"><a href="{pdf_filename(rep.title, ed.name)}" download>'
                    f'Download the PDF of this edition</a></p>')
    return '<div class="envscan-cover">\n' + "\n".join(rows) + "\n</div>"


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _plain_heading(h: Node) -> str:
    """Heading text without note calls (for TOC labels, outlines, contents)."""
    return re.sub(r"\[\^[^\]]+\]|\^\[[^\]]*\]", "", h.data["text"]).strip()


def _makes_note(n: Node) -> bool:
    """A bracketed citation in body text becomes its own note (note style); one that only
    suppresses authors (``Carr's [-@carr2012]``) renders in place as the year."""
    return n.data["bracketed"] and not all(i["suppress_author"] for i in n.data["items"])


def _yaml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
