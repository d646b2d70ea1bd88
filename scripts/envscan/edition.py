"""Per edition: filter first, then number and cite. Pure: project in, assembled edition out.

Filtering works on the parsed tree: regions above the edition's marking are never visited
when the edition is numbered and rendered (``render.TreeRenderer`` asks ``region_visible`` for
every marked block and span); everything derived (section numbers, note numbers, Ibid., the
reference list, abbreviations, navigation) is computed on what is left. Nothing is cut out of
source text.
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass, field


from .cite import CiteItem, Styler, format_reference_html, ibid_positions, render_item, sort_key
from .config import Edition
from .diagnostics import Diagnostic
from .gate import Restricted
from .model import Chapter, Node, Region
from .project import Project
from .render import RenderError, TreeRenderer, plain_text

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
    html: str  # the site page's content (banners, cover, body, notes)
    pdf_html: str  # the same body for the PDF: note calls are the notes themselves
    chapter: Chapter | None = None
    visible_runs: list[tuple[int, str]] = field(default_factory=list)  # (source offset, text) shown
    listed: bool = True  # in the navigation and the PDF (False: the 404 page)
    toc: list[tuple[int, str, str]] = field(default_factory=list)  # (level, id, plain title)

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
        self.editor_notes = ed.editor_notes
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
                v = self.editor_notes and self.visible(r.parent)
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
    """Filter the source for one edition, then number, cite and lay out its pages.

    ``render=False`` (for ``check``) skips HTML rendering of notes and references;
    ``with_pdf=False`` skips the PDF variant of the pages; ``ref_cache`` reuses formatted
    reference entries (fingerprint -> HTML) across builds."""
    asm = _Assembly(project, ed, render, with_pdf, ref_cache)
    return asm.run(), asm.diags


class _Assembly:
    """One edition's assembly. ``run`` calls the stages in order; each stage reads what the
    earlier ones left in attributes and adds its own."""

    def __init__(self, project: Project, ed: Edition, render: bool, with_pdf: bool,
                 ref_cache: dict[str, str] | None):
        self.project, self.ed, self.render, self.with_pdf, self.ref_cache = project, ed, render, with_pdf, ref_cache
        self.cfg = project.config
        self.bib = project.bib
        self.vis = _Vis(project, ed)
        self.diags: list[Diagnostic] = []
        self.removed: list[Removed] = []
        self.restricted: list[Restricted] = []
        self.chapters = [ch for ch in project.chapters if self.vis.visible(ch.root)]
        self.defs_by_ch = {ch.path: {n.data["label"]: n for n in ch.nodes if n.kind == "fndef"}
                           for ch in self.chapters}
        self.assets: set[str] = set()

    def run(self) -> AssembledEdition:
        self.collect_removed()
        self.check_edition()
        self.number_sections()
        self.collect_notes()
        self.prepare_citations()
        pages: list[Page] = []
        self.abbr_used: dict[str, str] = {}
        for ch in self.chapters:
            pages.append(self.chapter_page(ch, first=not pages))
        pages += self.back_matter()
        self.report_left_out()
        return AssembledEdition(self.ed, pages, self.notes, self.references, self.restricted, self.removed,
                                sorted(self.assets), self.abbr_used, self.sections)

    # ------------------------------------------------------------------ helpers

    def error(self, ch: Chapter, code: str, msg: str, off: int, *hints: str) -> None:
        ln, col = ch.pos(off)
        self.diags.append(Diagnostic("error", code, msg, ch.path, ln, col, tuple(hints), self.ed.name))

    def node_visible(self, ch: Chapter, n: Node) -> bool:
        if not self.vis.visible(n.region):
            return False
        if n.note:
            dn = self.defs_by_ch[ch.path].get(n.note)
            return dn is not None and self.vis.visible(dn.region)
        return True

    def add_restricted(self, origin: str, marking: str, text: str, kind: str) -> None:
        text = text.strip()
        if not text:
            return
        if kind in ("editor", "comment") and _words(text) < 8:
            return  # internal remarks: fingerprinted when long, never exact-matched
        self.restricted.append(Restricted(f"R{len(self.restricted) + 1}", text, origin, marking))

    def removed_parts(self, ch: Chapter, lo: int, hi: int, marking: str, skip=()) -> None:
        """Report the sections and notes that go with a removed chapter or region (no text)."""
        for n in ch.nodes:
            if not lo <= n.start < hi or any(a <= n.start < b for a, b in skip):
                continue
            kind = "section" if n.kind == "heading" else "note" if (
                n.kind == "fndef" or (n.kind == "cite" and n.note is None and _makes_note(n))) else None
            if kind:
                words = n.data["text"] if kind == "section" else \
                    ch.text[n.data["content"][0]:n.data["content"][1]] if n.kind == "fndef" else ""
                self.removed.append(Removed(f"{ch.path}:{n.line}:{n.col}", marking, kind, _words(words)))

    # ------------------------------------------------------------------ stage 1: what is removed

    def collect_removed(self) -> None:
        """Removed chapters, regions, comments and headings: the sanitisation report's rows and
        the leak gate's restricted passages."""
        vis = self.vis
        for ch in self.project.chapters:
            if ch not in self.chapters:
                self.removed.append(Removed(f"{ch.path}", ch.marking, "chapter",
                                            _words(_text_in(ch, 0, len(ch.text)))))
                self.removed_parts(ch, 0, len(ch.text), ch.marking)
                self.add_restricted(f"{ch.path}:1:1", ch.marking, ch.title, "chapter")
                self.add_restricted(f"{ch.path}:1:1", ch.marking, _text_in(ch, 0, len(ch.text)), "chapter")
                for h in ch.headings():
                    self.add_restricted(f"{ch.path}:{h.line}:{h.col}", ch.marking, h.data["text"], "section")
        for ch in self.chapters:
            for r in ch.regions[1:]:
                if vis.visible(r) or r.tearline or r.parent is None or not vis.visible(r.parent):
                    continue  # shown, a tearline not needed here, or inside a removed region
                keep = [(c.start, c.end) for c in r.children if c.tearline and vis.visible(c)]
                kind = "editor" if r.editor else ("block" if r.kind == "div" else "span")
                text = _text_in(ch, r.start, r.end, keep)
                origin = f"{ch.path}:{r.line}:{r.col}"
                marking = "editor" if r.editor else vis.eff(r)
                self.removed.append(Removed(origin, marking, kind, _words(text)))
                self.removed_parts(ch, r.start, r.end, marking, keep)
                self.add_restricted(origin, marking, text, kind)
            for n in ch.nodes:
                if n.kind == "comment":
                    self.removed.append(Removed(f"{ch.path}:{n.line}:{n.col}", "comment", "comment",
                                                _words(n.data["text"])))
                    self.add_restricted(f"{ch.path}:{n.line}:{n.col}", "comment", n.data["text"], "comment")
                if n.kind == "heading" and not vis.visible(n.region):
                    self.add_restricted(f"{ch.path}:{n.line}:{n.col}", vis.eff(n.region), n.data["text"], "section")
        # restricted sources: their titles are passages too
        for key, m in self.bib.markings.items():
            if self.cfg.scheme.rank(m) > vis.max and key in self.bib.entries:
                path, ln = self.bib.line_of(key)
                t = self.bib.entries[key].fields.get("title", "")
                self.removed.append(Removed(f"{path}:{ln}", m, "source", _words(t)))
                self.add_restricted(f"{path}:{ln}:1", m, t, "source")

    # ------------------------------------------------------------------ stage 2: per-edition errors

    def check_edition(self) -> None:
        vis, d = self.vis, self.error
        self.heading_vis: dict[str, tuple[Chapter, Node]] = {}
        for ch in self.chapters:
            for h in ch.headings():
                if h.data.get("id") and self.node_visible(ch, h):
                    self.heading_vis[h.data["id"]] = (ch, h)
        heading_vis = self.heading_vis
        all_ids = {h.data["id"] for ch in self.project.chapters for h in ch.headings() if h.data.get("id")}
        page_names = {ch.name for ch in self.chapters}
        all_pages = {ch.name for ch in self.project.chapters}
        for ch in self.chapters:
            defs = self.defs_by_ch[ch.path]
            h1 = next((h for h in ch.headings() if h.data["level"] == 1), None)
            if h1 is not None and not self.node_visible(ch, h1):
                d(ch, "E-ED-HEADING-FILTERED", "the chapter's level-1 heading is filtered out of this edition but the "
                  "chapter is not (its sections would be numbered as part of the previous chapter)", h1.start,
                  "mark the chapter in its front matter, or leave its first heading unmarked")
            for n in ch.nodes:
                if not self.node_visible(ch, n):
                    continue
                if n.kind == "cite":
                    for it in n.data["items"]:
                        m = self.bib.markings.get(it["key"])
                        if m and self.cfg.scheme.rank(m) > vis.max:
                            d(ch, "E-ED-CITE-MARKED", f"visible text cites @{it['key']}, a source marked {m}",
                              it["abs"], "mark the citing passage at least as high as the source, or cite another work")
                elif n.kind == "xref":
                    if n.data["id"] in all_ids and n.data["id"] not in heading_vis:
                        d(ch, "E-ED-XREF-FILTERED", f"@{n.data['id']} points to a section that is not in this edition",
                          n.start, "mark the referring passage like its target, or drop the reference")
                elif n.kind in ("link", "image"):
                    self._check_link(ch, n, all_ids, page_names, all_pages)
                elif n.kind == "fnref" and not n.data.get("inline"):
                    dn = defs.get(n.data["label"])
                    if dn is not None and not vis.visible(dn.region):
                        d(ch, "E-ED-FN-FILTERED", f"footnote [^{n.data['label']}] is shown but its definition is "
                          "filtered out of this edition", n.start, "mark the reference like its definition")
            referenced = {n.data["label"] for n in ch.nodes if n.kind == "fnref"}
            shown = {n.data["label"] for n in ch.nodes if n.kind == "fnref" and self.node_visible(ch, n)}
            for lab, dn in defs.items():
                if dn.data.get("inline") or not vis.visible(dn.region):
                    continue
                if lab not in shown and lab in referenced:
                    d(ch, "E-ED-FN-ORPHAN", f"footnote [^{lab}] is shown but every reference to it is filtered out",
                      dn.start, "mark the definition like its reference (put it in the same marked block)")

    def _check_link(self, ch: Chapter, n: Node, all_ids: set, page_names: set, all_pages: set) -> None:
        d, heading_vis = self.error, self.heading_vis
        t = n.data["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I) or t.startswith("//"):
            if n.kind == "image":
                d(ch, "E-ED-REMOTE", "images must be local files (the site works offline)", n.start)
            return
        path, _, frag = t.partition("#")
        if not path:
            if frag and frag in all_ids and frag not in heading_vis:
                d(ch, "E-ED-LINK-FILTERED", f"link to #{frag}, a section not in this edition", n.start)
            return
        if path.endswith(".md"):
            if path in all_pages and path not in page_names:
                d(ch, "E-ED-LINK-FILTERED", f"link to {path}, a chapter not in this edition", n.start)
            elif path not in all_pages:
                d(ch, "E-LINK-BROKEN", f"link to {path}, which is not a chapter", n.start)
            elif frag and frag in all_ids and frag not in heading_vis:
                d(ch, "E-ED-LINK-FILTERED", f"link to {path}#{frag}, a section not in this edition", n.start)
            return
        ext = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
        if path not in self.project.assets:
            d(ch, "E-LINK-BROKEN", f"link to {path}, which is not in docs/", n.start)
        elif ext not in ASSET_TYPES:
            d(ch, "E-ED-ASSET-TYPE", f"{path}: only images ({', '.join(sorted(ASSET_TYPES))}) are published", n.start)
        else:
            self.assets.add(path)
        if n.kind == "image" and not n.data["alt"].strip():
            d(ch, "E-IMG-ALT", "image without alt text", n.start, "write ![description](file.png)")

    # ------------------------------------------------------------------ stage 3: section numbers

    def number_sections(self) -> None:
        self.sections: list[tuple[str, str, int, str]] = []
        self.numbers: dict[int, str] = {}  # id(heading node) -> "2.1"
        counters = [0, 0, 0, 0, 0, 0]
        for ch in self.chapters:
            for h in ch.headings():
                if not self.node_visible(ch, h):
                    continue
                lvl = h.data["level"]
                target = f"{ch.name}#{h.data.get('id') or ''}"
                if h.data["unnumbered"]:
                    self.sections.append(("", self.heading_text(h), lvl, target))
                    continue
                counters[lvl - 1] += 1
                for k in range(lvl, 6):
                    counters[k] = 0
                num = ".".join(str(c) for c in counters[:lvl])
                self.numbers[id(h)] = num
                self.sections.append((num, self.heading_text(h), lvl, target))

    # ------------------------------------------------------------------ stage 4: notes

    def collect_notes(self) -> None:
        """Number the notes through the edition, in document order of their calls; collect the
        citations each note holds."""
        bib = self.bib
        self.notes: list[Note] = []
        self.note_of: dict[tuple[str, str], Note] = {}  # (chapter path, label) -> note
        self.call_number: dict[int, tuple[int, int]] = {}  # id(call node) -> (note number, nth reference)
        self.boundaries: set[int] = set()
        notes, note_of, call_number = self.notes, self.note_of, self.call_number

        def item(i: dict) -> CiteItem:
            return CiteItem(i["key"], i["prefix"], i["locator"], i["suffix"], i["suppress_author"])

        for ch in self.chapters:
            self.boundaries.add(len(notes))
            calls = sorted((n for n in ch.nodes if self.node_visible(ch, n) and n.note is None and
                            (n.kind == "fnref" or (n.kind == "cite" and _makes_note(n)))), key=lambda n: n.start)
            for n in calls:
                if n.kind == "fnref":
                    key = (ch.path, n.data["label"])
                    if key not in note_of:
                        dn = self.defs_by_ch[ch.path].get(n.data["label"])
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
                    note.cites = [item(i) for i in n.data["items"] if i["key"] in bib.entries]
                    notes.append(note)
                    call_number[id(n)] = (note.number, 1)
                    note_of[(ch.path, f"@{n.start}")] = note
            # cites inside notes, in document order
            for n in sorted((n for n in ch.nodes if n.kind == "cite" and n.note and self.node_visible(ch, n)),
                            key=lambda n: n.start):
                note = note_of.get((ch.path, n.note))
                if note is not None:
                    note.cites.extend(item(i) for i in n.data["items"] if i["key"] in bib.entries)
        self.notes_by_page: dict[str, list[Note]] = {}
        for nt in notes:
            self.notes_by_page.setdefault(nt.page, []).append(nt)

    # ------------------------------------------------------------------ stage 5: citations

    def prepare_citations(self) -> None:
        """Cited works, a/b letters, Ibid. positions, and backlinks for the reference list."""
        bib, notes = self.bib, self.notes
        cited = [c.key for nt in notes for c in nt.cites]
        # citations rendered in place in body text: anchors for the reference list's backlinks
        self.inplace: dict[int, str] = {}
        self.text_backlinks: dict[str, list[tuple[str, str, str]]] = {}  # key -> (page, anchor, label)
        for ch in self.chapters:
            heads = [h for h in ch.headings() if self.node_visible(ch, h)]
            for n in ch.nodes:
                if n.kind == "cite" and n.note is None and not _makes_note(n) and self.node_visible(ch, n):
                    cited.extend(i["key"] for i in n.data["items"] if i["key"] in bib.entries)
                    anchor = f"cite-{len(self.inplace) + 1}"
                    self.inplace[id(n)] = anchor
                    before = [h for h in heads if h.start <= n.start]
                    sec = self.numbers.get(id(before[-1])) if before else None
                    label = f"§{sec}" if sec else (self.heading_text(before[-1]) if before else ch.title)
                    for i in n.data["items"]:
                        if i["key"] in bib.entries:
                            self.text_backlinks.setdefault(i["key"], []).append((ch.name, anchor, label))
        self.styler = Styler(bib, cited, self.cfg.et_al_min)
        self.positions = ibid_positions([[] if nt.gap else nt.cites for nt in notes], self.boundaries) \
            if self.cfg.ibid else [["first"] * len(nt.cites) for nt in notes]
        self.pos_iter = {nt.number: iter(p) for nt, p in zip(notes, self.positions)}
        self.ref_backlinks: dict[str, list[Note]] = {}
        for nt in notes:
            for c in nt.cites:
                lst = self.ref_backlinks.setdefault(c.key, [])
                if nt not in lst:
                    lst.append(nt)
        self.references = sorted(set(cited), key=lambda k: sort_key(self.styler, k))
        for k in self.references:
            self.ref_backlinks.setdefault(k, [])

    def render_cluster(self, items: list[dict], note: Note | None, lead: bool, narrative: bool) -> str:
        """A citation cluster as HTML, each work linked to the reference list."""
        def link(key: str, text: str) -> str:
            return f'<a href="{page_url("references.md", "html")}#ref-{html.escape(key)}">{text}</a>'

        parts = []
        for j, it in enumerate(items):
            if it["key"] not in self.bib.entries:
                parts.append(html.escape("@" + it["key"]))
                continue
            c = CiteItem(it["key"], it["prefix"], it["locator"], it["suffix"], it["suppress_author"])
            p = next(self.pos_iter[note.number], "first") if note is not None else "first"
            if narrative or c.suppress_author:
                p = "first"
            parts.append(render_item(self.styler, c, p, link, lead and j == 0, escape=html.escape))
        return "; ".join(parts)

    # ------------------------------------------------------------------ the renderer's context

    def region_visible(self, r: Region) -> bool:
        return self.vis.visible(r)

    def editor_shown(self, r: Region) -> bool:
        return r.editor and self.vis.visible(r)

    def heading_number(self, h: Node) -> str | None:
        return self.numbers.get(id(h))

    def xref_html(self, n: Node) -> str:
        xid = n.data["id"]
        if xid not in self.heading_vis:
            return html.escape("@" + xid)
        tch, h = self.heading_vis[xid]
        num = self.numbers.get(id(h))
        if num:
            label = f"{'chapter' if h.data['level'] == 1 else 'section'} {num}"
        else:
            label = f"“{self.heading_text(h)}”"
        return f'<a href="{page_url(tch.name, "html")}#{html.escape(xid)}">{html.escape(label)}</a>'

    def cite_html(self, n: Node, next_text: str) -> str:
        if n.note is None and _makes_note(n):
            return self.note_call(n)
        ch = self.cur_ch
        note = self.note_of.get((ch.path, n.note)) if n.note else None
        dn = self.defs_by_ch[ch.path].get(n.note) if n.note else None
        lead = bool(dn) and ch.text[dn.data["content"][0]:n.start].strip() == ""
        anchor = f'<a id="{self.inplace[id(n)]}"></a>' if id(n) in self.inplace else ""
        text = self.render_cluster(n.data["items"], note, lead, narrative=not n.data["bracketed"])
        if next_text.startswith("."):  # "Ibid." or "et al." before the sentence's own full stop
            text = re.sub(r"\.(</a>)?$", r"\1", text)
        return anchor + text

    def note_call(self, n: Node) -> str:
        if id(n) not in self.call_number:
            # undefined (E-FN-UNDEFINED) or inside a note (E-FN-NESTED, reported at parse/resolve):
            # never printed raw
            return ""
        num, nth = self.call_number[id(n)]
        rid = f"fnref:{num}" if nth == 1 else f"fnref{nth}:{num}"
        return f'<sup id="{rid}"><a class="footnote-ref" href="#fn:{num}">{num}</a></sup>'

    def href(self, n: Node) -> str:
        t = n.data["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I) or t.startswith("//") or t.startswith("#"):
            return t
        path, sep, frag = t.partition("#")
        if path.endswith(".md"):
            return page_url(path, "html") + sep + frag
        return t

    def heading_text(self, h: Node) -> str:
        """A heading's visible text in this edition (filtered; no note calls)."""
        return plain_text(h.data["inline"].children or [], self.vis.visible) if h.data.get("inline") else ""

    # ------------------------------------------------------------------ stage 6: pages

    def chapter_page(self, ch: Chapter, first: bool) -> Page:
        cfg = self.cfg
        page_marking = ch.marking
        for r in ch.regions[1:]:
            if self.vis.visible(r) and not r.editor:
                page_marking = cfg.scheme.max(page_marking, self.vis.eff(r))
        self.cur_ch = ch
        rnd = TreeRenderer(self, ch.tokens, cfg.abbreviations)
        try:
            body = rnd.body()
            for nt in self.notes_by_page.get(ch.name, []):
                nt.html = self._note_html(ch, nt, rnd)
        except RenderError as exc:
            self.error(ch, "E-RENDER-UNKNOWN", f"{exc}: not rendered (fail closed)", exc.offset,
                       "use the constructs listed in AUTHORING.md")
            body = ""
        page_notes = self.notes_by_page.get(ch.name, [])
        for a in rnd.abbr_used:
            self.abbr_used[a] = cfg.abbreviations[a]
        notes_html = ""
        if page_notes:
            items = "\n".join(
                f'<li id="fn:{nt.number}" value="{nt.number}"{GAP_CLASS if nt.gap else ""}>'
                f'{nt.html} <a class="footnote-backref" href="#fnref:{nt.number}" '
                f'title="Back to the text of note {nt.number}">&#8617;</a></li>'
                for nt in page_notes)
            notes_html = ('<div class="footnote">\n<hr>\n'
                          f'<ol start="{page_notes[0].number}">\n{items}\n</ol>\n</div>\n')
        h1 = next((h for h in ch.headings() if h.data["level"] == 1), None)
        num = self.numbers.get(id(h1)) if h1 else None
        title = f"{num} {ch.title}" if num else ch.title
        cover = _cover(cfg, self.ed, page_marking, self.with_pdf) + "\n" if first else ""
        site = banner(page_marking) + "\n" + cover + body + notes_html + banner(page_marking) + "\n"
        pdf = _pdf_calls(body, {nt.number: nt.html for nt in page_notes}) if self.with_pdf else ""
        return Page(ch.name, title, page_marking, site, pdf, ch, rnd.runs, toc=rnd.toc)

    def _note_html(self, ch: Chapter, nt: Note, rnd: TreeRenderer) -> str:
        if nt.gap:
            return f"<p><em>{GAP_TEXT}</em></p>"
        if nt.label == "@cite":
            body = self.render_cluster([{"key": c.key, "prefix": c.prefix, "locator": c.locator,
                                         "suffix": c.suffix, "suppress_author": c.suppress_author}
                                        for c in nt.cites], nt, True, False)
            return f"<p>{body}</p>"
        dn = self.defs_by_ch[ch.path][nt.label]
        if dn.data.get("inline"):
            return f"<p>{rnd.inline_note(dn.data['children'])}</p>"
        return rnd.footnote(dn.data["tok"]).strip()

    def back_matter(self) -> list[Page]:
        """The reference list and the list of abbreviations."""
        cfg, pages = self.cfg, []
        if self.references:
            rows = []
            for k in self.references:
                backs = self.ref_backlinks[k]
                parts = []
                if backs:
                    nums = ", ".join(f'<a href="{page_url(nt.page, "html")}#fn:{nt.number}">{nt.number}</a>'
                                     for nt in backs)
                    parts.append(f'Cited in note{"s" if len(backs) > 1 else ""} {nums}')
                if self.text_backlinks.get(k):
                    parts.append("in the text at " + ", ".join(
                        f'<a href="{page_url(pg, "html")}#{a}">{html.escape(lbl)}</a>'
                        for pg, a, lbl in self.text_backlinks[k]))
                back_html = f' <span class="envscan-backrefs">{"; ".join(parts)}.</span>' if parts else ""
                entry_html = format_reference_html(self.styler, k, self.ref_cache) if self.render else k
                rows.append(f'<li id="ref-{k}">{entry_html}{back_html}</li>')
            ref_marking = cfg.scheme.lowest
            for k in self.references:
                if k in self.bib.markings:
                    ref_marking = cfg.scheme.max(ref_marking, self.bib.markings[k])
            body = ('<h1 id="references">References</h1>\n<ul class="envscan-references">\n' + "\n".join(rows)
                    + "\n</ul>\n")
            site = f"{banner(ref_marking)}\n{body}{banner(ref_marking)}\n"
            pages.append(Page("references.md", "References", ref_marking, site, body,
                              toc=[(1, "references", "References")]))
        if self.abbr_used:
            rows = "\n".join(f"<tr>\n<td>{html.escape(a)}</td>\n<td>{html.escape(x)}</td>\n</tr>"
                             for a, x in sorted(self.abbr_used.items()))
            body = ('<h1 id="abbreviations">Abbreviations</h1>\n<table>\n<thead>\n<tr>\n<th>Abbreviation</th>\n'
                    f"<th>Meaning</th>\n</tr>\n</thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n")
            lowest = cfg.scheme.lowest
            site = f"{banner(lowest)}\n{body}{banner(lowest)}\n"
            pages.append(Page("abbreviations.md", "Abbreviations", lowest, site, body,
                              toc=[(1, "abbreviations", "Abbreviations")]))
        lowest = cfg.scheme.lowest
        body = ('<h1 id="not-found">Page not found</h1>\n<p>This page is not part of this edition. Use the navigation '
                "or search to find a chapter.</p>\n")
        pages.append(Page("404.md", "Page not found", lowest, f"{banner(lowest)}\n{body}{banner(lowest)}\n", "",
                          listed=False, toc=[(1, "not-found", "Page not found")]))
        return pages

    def report_left_out(self) -> None:
        for nt in self.notes:
            if nt.gap:
                self.removed.append(Removed(nt.origin, "gap", "note-gap", 0))
        left_out: dict[str, int] = {}
        for a in self.project.assets:
            if a not in self.assets:  # files in docs/ this edition's pages do not reference: never copied
                ext = ("." + a.rsplit(".", 1)[-1].lower()) if "." in a.rsplit("/", 1)[-1] else "(no extension)"
                left_out[ext] = left_out.get(ext, 0) + 1
        for ext, count in sorted(left_out.items()):
            # counted by type, not named: a file name can itself be restricted
            self.removed.append(Removed(f"{self.cfg.docs_dir}/: {count} unreferenced {ext} file(s)", "unreferenced",
                                        "asset", 0))


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


_CALL_RE = re.compile(r'<sup id="fnref(\d*):(\d+)"><a class="footnote-ref" href="#fn:\d+">\d+</a></sup>')


def _pdf_calls(body: str, notes: dict[int, str]) -> str:
    """The PDF's body: the same HTML, each first note call replaced by the note itself (a CSS
    footnote), later calls by a reference to it. The calls are envscan's own markup."""
    def call(m: re.Match) -> str:
        num = int(m.group(2))
        if m.group(1):
            return f'<sup class="fn-again"><a href="#fn:{num}">{num}</a></sup>'
        text = re.sub(r"</p>\s*<p>", "<br>", notes.get(num, ""))
        text = re.sub(r"</?p>", "", text).strip()
        return f'<span class="footnote" id="fn:{num}">{text}</span>'

    return _CALL_RE.sub(call, body)


def _makes_note(n: Node) -> bool:
    """A bracketed citation in body text becomes its own note (note style); one that only
    suppresses authors (``Carr's [-@carr2012]``) renders in place as the year."""
    return n.data["bracketed"] and not all(i["suppress_author"] for i in n.data["items"])
