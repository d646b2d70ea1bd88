"""Per edition: filter first, then number and cite. Pure: source in, assembled edition out.

Stages, each a function with a typed result:

1. :class:`Visibility` (filter) -- which regions the edition shows; ``removed`` lists what it
   takes out (sanitisation report rows and the leak gate's restricted passages).
2. ``check_edition`` -- per-edition errors (a visible citation of a marked source, a
   cross-reference or link to a section the edition does not have, orphaned notes...).
3. ``number`` -- section numbers and note numbers, continuous through the edition.
4. ``cite`` -- cited works, a/b letters, Ibid. positions, reference-list backlinks.
5. pages -- the chapters rendered from the filtered tree (``render.TreeRenderer``; this module
   is its context: it answers what a region, a citation or a note call becomes) and the back
   matter (``render`` templates).

Filtering works on the parsed tree: regions above the edition's marking are never visited when
the edition is numbered and rendered; nothing is cut out of source text.
"""

from __future__ import annotations

import bisect
import html
import re
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterator

from . import render as tpl
from .cite import Styler, format_reference_html, ibid_positions, render_item, sort_key
from .config import Edition
from .diagnostics import Diagnostic
from .model import (AssembledEdition, Chapter, Cite, CiteRef, Comment, FigRef, FnDef, FnRef, Heading, Image, Link,
                    Node, Note,
                    Page, Region, Removed, Restricted, Section, Source, XRef)
from .render import RenderError, TreeRenderer, plain_text

_NON_SPACE = re.compile(r"\S")  # what str.strip() keeps (both use Unicode white space)
ASSET_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}  # .svg: refused by assets, with a hint


# --------------------------------------------------------------------------- 1. filter


class Visibility:
    """Which regions an edition shows. A region's effective marking is the highest on its chain
    (a tearline's replaces its parent's); editor notes show only in a working view; a tearline
    shows exactly where its block does not."""

    def __init__(self, src: Source, ed: Edition):
        self.scheme = src.config.scheme
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
            p = r.parent
            if p is None:
                v = self.scheme.rank(self.eff(r)) <= self.max
            elif r.editor:
                v = self.editor_notes and self.visible(p)
            elif r.tearline:
                v = (not self.visible(p)) and p.parent is not None and self.visible(p.parent) and \
                    self.scheme.rank(self.eff(r)) <= self.max
            else:
                v = self.visible(p) and self.scheme.rank(self.eff(r)) <= self.max
            self._vis[k] = v
        return self._vis[k]


def _words(s: str) -> int:
    return len(re.findall(r"\w+", s))


def text_in(ch: Chapter, s: int, e: int, skip: list[tuple[int, int]] | None = None) -> str:
    """The source text runs inside [s, e), minus ``skip`` ranges (restricted passages)."""
    starts, ends, order = _texts_index(ch)
    # only the runs starting in [s, e) can lie inside it; kept in the order of ch.texts
    lo, hi = bisect.bisect_left(starts, s), bisect.bisect_right(starts, e)
    texts = ch.texts
    inside = _Ranges(skip)
    picked: list[int] = []
    i = lo
    for x, y in sorted(skip or ()):
        # the runs that start in [x, y): dropped at once when all of them also end by y (a tearline
        # nested deep holds most of the block's runs), else one by one as the rest
        j1 = max(i, bisect.bisect_left(starts, x, lo, hi))
        j2 = bisect.bisect_left(starts, y, lo, hi)
        if j2 <= j1:
            continue
        picked += (k for k in order[i:j1] if texts[k][1] <= e and not inside.holds(texts[k][0], texts[k][1]))
        if max(ends[j1:j2]) > y:
            picked += (k for k in order[j1:j2] if texts[k][1] <= e and not inside.holds(texts[k][0], texts[k][1]))
        i = j2
    picked += (k for k in order[i:hi] if texts[k][1] <= e and not inside.holds(texts[k][0], texts[k][1]))
    return " ".join(texts[k][2] for k in sorted(picked))


class _Ranges:
    """A set of ranges (x, y), asked whether one of them holds a point or a run: O(log n)."""

    def __init__(self, ranges: list[tuple[int, int]] | None) -> None:
        rs = sorted(ranges or ())
        self.starts = [x for x, _ in rs]
        self.max_end: list[int] = []  # the largest y among the ranges up to each index
        m = None
        for _, y in rs:
            m = y if m is None or y > m else m
            self.max_end.append(m)

    def holds(self, a: int, b: int) -> bool:
        """Some range has x <= a and b <= y."""
        i = bisect.bisect_right(self.starts, a) - 1
        return i >= 0 and self.max_end[i] >= b

    def holds_point(self, p: int) -> bool:
        """Some range has x <= p < y."""
        i = bisect.bisect_right(self.starts, p) - 1
        return i >= 0 and self.max_end[i] > p


_TEXTS_INDEX: weakref.WeakKeyDictionary[Chapter, tuple[Any, ...]] = weakref.WeakKeyDictionary()
_NODES_INDEX: weakref.WeakKeyDictionary[Chapter, tuple[Any, ...]] = weakref.WeakKeyDictionary()


def _texts_index(ch: Chapter) -> tuple[list[int], list[int], list[int]]:
    """ch.texts sorted by start: (starts, ends, indices into ch.texts); cached per chapter."""
    hit = _TEXTS_INDEX.get(ch)
    if hit is None or hit[0] is not ch.texts or hit[1] != len(ch.texts):
        order = sorted(range(len(ch.texts)), key=lambda k: ch.texts[k][0])
        hit = (ch.texts, len(ch.texts), [ch.texts[k][0] for k in order], [ch.texts[k][1] for k in order], order)
        _TEXTS_INDEX[ch] = hit
    return hit[2], hit[3], hit[4]


def _nodes_index(ch: Chapter) -> tuple[list[int], list[int]]:
    """ch.nodes sorted by start: (starts, indices into ch.nodes); cached per chapter."""
    hit = _NODES_INDEX.get(ch)
    if hit is None or hit[0] is not ch.nodes or hit[1] != len(ch.nodes):
        order = sorted(range(len(ch.nodes)), key=lambda k: ch.nodes[k].start)
        hit = (ch.nodes, len(ch.nodes), [ch.nodes[k].start for k in order], order)
        _NODES_INDEX[ch] = hit
    return hit[2], hit[3]


@dataclass
class Filtered:
    """The edition's chapters, what it takes out, and the passages the leak gate checks."""

    vis: Visibility
    chapters: list[Chapter]
    removed: list[Removed] = field(default_factory=list)
    restricted: list[Restricted] = field(default_factory=list)

    def add_restricted(self, origin: str, marking: str, text: str, kind: str) -> None:
        text = text.strip()
        if not text:
            return
        if kind in ("editor", "comment") and _words(text) < 8:
            return  # internal remarks: fingerprinted when long, never exact-matched
        self.restricted.append(Restricted(f"R{len(self.restricted) + 1}", text, origin, marking))

    def node_visible(self, defs: dict[str, FnDef], n: Node) -> bool:
        if not self.vis.visible(n.region):
            return False
        if n.note:
            dn = defs.get(n.note)
            return dn is not None and self.vis.visible(dn.region)
        return True


def filter_source(src: Source, ed: Edition) -> Filtered:
    vis = Visibility(src, ed)
    f = Filtered(vis, [ch for ch in src.chapters if vis.visible(ch.root)])
    kept = {id(ch) for ch in f.chapters}
    for ch in src.chapters:
        if id(ch) not in kept:
            _removed_chapter(f, ch)
    for ch in f.chapters:
        for r in ch.regions[1:]:
            if not (vis.visible(r) or r.tearline or r.parent is None or not vis.visible(r.parent)):
                _removed_region(f, ch, r)
        for n in ch.nodes:
            where = f"{ch.path}:{n.line}:{n.col}"
            if isinstance(n, Comment):
                f.removed.append(Removed(where, "comment", "comment", _words(n.text)))
                f.add_restricted(where, "comment", n.text, "comment")
            if isinstance(n, Heading) and not vis.visible(n.region):
                f.add_restricted(where, vis.eff(n.region), n.text, "section")
    # restricted sources: their titles are passages too
    for key, m in src.bib.markings.items():
        if src.config.scheme.rank(m) > vis.max and key in src.bib.entries:
            path, ln = src.bib.line_of(key)
            entry = src.bib.entries[key]
            t = entry.fields.get("title", "")
            f.removed.append(Removed(f"{path}:{ln}", m, "source", _words(t)))
            f.add_restricted(f"{path}:{ln}:1", m, t, "source")
            # who wrote or edited it, and its key (a reference-list anchor), are restricted too
            for role in ("author", "editor"):
                for person in entry.persons.get(role, []):
                    f.add_restricted(f"{path}:{ln}:1", m, str(person), "source")
            f.add_restricted(f"{path}:{ln}:1", m, key, "source")
    return f


def _removed_chapter(f: Filtered, ch: Chapter) -> None:
    f.removed.append(Removed(f"{ch.path}", ch.marking, "chapter", _words(text_in(ch, 0, len(ch.text)))))
    _removed_parts(f, ch, 0, len(ch.text), ch.marking)
    f.add_restricted(f"{ch.path}:1:1", ch.marking, ch.title, "chapter")
    f.add_restricted(f"{ch.path}:1:1", ch.marking, text_in(ch, 0, len(ch.text)), "chapter")
    for h in ch.headings():
        f.add_restricted(f"{ch.path}:{h.line}:{h.col}", ch.marking, h.text, "section")


def _removed_region(f: Filtered, ch: Chapter, r: Region) -> None:
    keep = [(c.start, c.end) for c in r.children if c.tearline and f.vis.visible(c)]
    kind = "editor" if r.editor else ("block" if r.kind == "div" else "span")
    text = text_in(ch, r.start, r.end, keep)
    origin = f"{ch.path}:{r.line}:{r.col}"
    marking = "editor" if r.editor else f.vis.eff(r)
    f.removed.append(Removed(origin, marking, kind, _words(text)))
    _removed_parts(f, ch, r.start, r.end, marking, keep)
    f.add_restricted(origin, marking, text, kind)


def _removed_parts(f: Filtered, ch: Chapter, lo: int, hi: int, marking: str,
                   skip: list[tuple[int, int]] | None = None) -> None:
    """Report the sections and notes that go with a removed chapter or region (no text)."""
    starts, order = _nodes_index(ch)
    nodes = ch.nodes
    skipped = _Ranges(skip)
    for k in sorted(order[bisect.bisect_left(starts, lo):bisect.bisect_left(starts, hi)]):  # in ch.nodes order
        n = nodes[k]
        if skipped.holds_point(n.start):
            continue
        if isinstance(n, Heading):
            f.removed.append(Removed(f"{ch.path}:{n.line}:{n.col}", marking, "section", _words(n.text)))
        elif isinstance(n, FnDef):
            f.removed.append(Removed(f"{ch.path}:{n.line}:{n.col}", marking, "note",
                                     _words(ch.text[n.content[0]:n.content[1]])))
        elif isinstance(n, Cite) and n.note is None and n.makes_note:
            f.removed.append(Removed(f"{ch.path}:{n.line}:{n.col}", marking, "note", 0))


# --------------------------------------------------------------------------- 2. per-edition checks


@dataclass
class Checked:
    diags: list[Diagnostic]
    heading_vis: dict[str, tuple[Chapter, Heading]]  # visible section id -> heading
    assets: set[str]
    figure_vis: dict[str, tuple[Chapter, Image]] = field(default_factory=dict)  # visible figure id -> image
    figure_ids: set[str] = field(default_factory=set)  # every figure id of the source


def _diag(ed: Edition, ch: Chapter, code: str, msg: str, off: int, *hints: str) -> Diagnostic:
    ln, col = ch.pos(off)
    return Diagnostic("error", code, msg, ch.path, ln, col, tuple(hints), ed.name)


def check_edition(src: Source, ed: Edition, f: Filtered) -> Checked:
    vis = f.vis
    res = Checked([], {}, set())
    for ch in f.chapters:
        defs = ch.note_defs()
        for h in ch.headings():
            if h.id and f.node_visible(defs, h):
                res.heading_vis[h.id] = (ch, h)
    all_ids = {h.id for ch in src.chapters for h in ch.headings() if h.id}
    res.figure_ids = {n.figure for ch in src.chapters for n in ch.nodes if isinstance(n, Image) and n.figure}
    for ch in f.chapters:
        defs = ch.note_defs()
        for n in ch.nodes:
            if isinstance(n, Image) and n.figure and n.figure not in res.figure_vis and f.node_visible(defs, n) \
                    and ch.tokens and _figure_placed(ch, n):
                res.figure_vis[n.figure] = (ch, n)
    pages = ({ch.name for ch in f.chapters}, {ch.name for ch in src.chapters})
    for ch in f.chapters:
        defs = ch.note_defs()
        h1 = next((h for h in ch.headings() if h.level == 1), None)
        if h1 is not None and not f.node_visible(defs, h1):
            res.diags.append(_diag(ed, ch, "E-ED-HEADING-FILTERED", "the chapter's level-1 heading is filtered out of "
                                   "this edition but the chapter is not (its sections would be numbered as part of "
                                   "the previous chapter)", h1.start,
                                   "mark the chapter in its front matter, or leave its first heading unmarked"))
        for n in ch.nodes:
            if f.node_visible(defs, n):
                res.diags += _check_node(src, ed, f, ch, defs, n, all_ids, res, pages)
        referenced = {n.label for n in ch.nodes if isinstance(n, FnRef)}
        shown = {n.label for n in ch.nodes if isinstance(n, FnRef) and f.node_visible(defs, n)}
        for lab, dn in defs.items():
            if not dn.inline and vis.visible(dn.region) and lab not in shown and lab in referenced:
                res.diags.append(_diag(ed, ch, "E-ED-FN-ORPHAN", f"footnote [^{lab}] is shown but every reference to "
                                       "it is filtered out", dn.start,
                                       "mark the definition like its reference (put it in the same marked block)"))
    return res


def _check_node(src: Source, ed: Edition, f: Filtered, ch: Chapter, defs: dict[str, FnDef], n: Node,
                all_ids: set[str], res: Checked, pages: tuple[set[str], set[str]]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if isinstance(n, Cite):
        for it in n.items:
            m = src.bib.markings.get(it.key)
            if m and src.config.scheme.rank(m) > f.vis.max:
                out.append(_diag(ed, ch, "E-ED-CITE-MARKED", f"visible text cites @{it.key}, a source marked {m}",
                                 it.offset, "mark the citing passage at least as high as the source, or cite another "
                                 "work"))
    elif isinstance(n, FigRef):
        if n.id not in res.figure_vis and any(isinstance(x, Image) and x.figure == n.id for c in src.chapters
                                              for x in c.nodes):
            out.append(_diag(ed, ch, "E-ED-XREF-FILTERED", f"@{n.id} points to a figure that is not in this edition",
                             n.start, "mark the referring passage like the figure, or drop the reference"))
    elif isinstance(n, XRef):
        if n.id in all_ids and n.id not in res.heading_vis:
            out.append(_diag(ed, ch, "E-ED-XREF-FILTERED", f"@{n.id} points to a section that is not in this edition",
                             n.start, "mark the referring passage like its target, or drop the reference"))
        elif n.bare and n.id in res.heading_vis and res.heading_vis[n.id][1].unnumbered:
            ln, col = ch.pos(n.start)
            out.append(Diagnostic("warning", "W-XREF-BARE", f"[-@{n.id}] asks for the number of an unnumbered "
                                  "section: its title is printed instead", ch.path, ln, col,
                                  (f"write @{n.id}",), ed.name))
    elif isinstance(n, Link):
        out += _check_link(src, ed, ch, n, all_ids, res, pages)
    elif isinstance(n, FnRef) and not n.inline:
        dn = defs.get(n.label)
        if dn is not None and not f.vis.visible(dn.region):
            out.append(_diag(ed, ch, "E-ED-FN-FILTERED", f"footnote [^{n.label}] is shown but its definition is "
                             "filtered out of this edition", n.start, "mark the reference like its definition"))
    return out


def _check_link(src: Source, ed: Edition, ch: Chapter, n: Link, all_ids: set[str], res: Checked,
                pages: tuple[set[str], set[str]]) -> list[Diagnostic]:
    page_names, all_pages = pages
    t = n.target
    out: list[Diagnostic] = []

    def d(code: str, msg: str, *hints: str) -> None:
        out.append(_diag(ed, ch, code, msg, n.start, *hints))

    if re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I) or t.startswith("//"):
        if isinstance(n, Image):
            d("E-ED-REMOTE", "images must be local files (the site works offline)")
        return out
    path, _, frag = t.partition("#")
    filtered = frag and ((frag in all_ids and frag not in res.heading_vis) or
                         (frag in res.figure_ids and frag not in res.figure_vis))
    if not path:
        if filtered:
            d("E-ED-LINK-FILTERED", f"link to #{frag}, a section or figure not in this edition")
    elif path.endswith(".md"):
        if path in all_pages and path not in page_names:
            d("E-ED-LINK-FILTERED", f"link to {path}, a chapter not in this edition")
        elif path not in all_pages:
            d("E-LINK-BROKEN", f"link to {path}, which is not a chapter")
        elif filtered:
            d("E-ED-LINK-FILTERED", f"link to {path}#{frag}, a section or figure not in this edition")
    else:
        ext = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
        if path not in src.assets:
            d("E-LINK-BROKEN", f"link to {path}, which is not in docs/")
        elif ext not in ASSET_TYPES:
            d("E-ED-ASSET-TYPE", f"{path}: only images ({', '.join(sorted(ASSET_TYPES))}) are published")
        else:
            res.assets.add(path)
    if isinstance(n, Image) and not n.alt.strip():
        d("E-IMG-ALT", "image without alt text", "write ![description](file.png)")
    return out


# --------------------------------------------------------------------------- 3. numbers


@dataclass
class Numbering:
    sections: list[Section]
    numbers: dict[int, str]  # id(heading) -> "2.1"
    notes: list[Note]
    note_of: dict[tuple[str, str], Note]  # (chapter path, label) -> note
    call_number: dict[int, tuple[int, int]]  # id(call node) -> (note number, nth call)
    boundaries: set[int]  # indices of notes that start a chapter
    figures: dict[str, int] = field(default_factory=dict)  # figure id -> number in this edition

    def by_page(self) -> dict[str, list[Note]]:
        out: dict[str, list[Note]] = {}
        for nt in self.notes:
            out.setdefault(nt.page, []).append(nt)
        return out


def heading_text(vis: Visibility, h: Heading) -> str:
    """A heading's visible text in an edition (filtered; no note calls)."""
    return plain_text(h.inline.children or [], vis.visible) if h.inline is not None else ""


def number(src: Source, f: Filtered) -> Numbering:
    nb = Numbering([], {}, [], {}, {}, set())
    counters = [0] * 6
    for ch in f.chapters:
        defs = ch.note_defs()
        for h in ch.headings():
            if not f.node_visible(defs, h):
                continue
            target = f"{ch.name}#{h.id or ''}"
            if h.unnumbered:
                nb.sections.append(Section("", heading_text(f.vis, h), h.level, target))
                continue
            counters[h.level - 1] += 1
            counters[h.level:] = [0] * (6 - h.level)
            num = ".".join(str(c) for c in counters[:h.level])
            nb.numbers[id(h)] = num
            nb.sections.append(Section(num, heading_text(f.vis, h), h.level, target))
        _number_notes(src, f, ch, defs, nb)
    _number_figures(f, nb)
    return nb


def _figure_placed(ch: Chapter, n: Image) -> bool:
    """The figure stands alone in its paragraph (parse marked the paragraph; E-FIG-PLACE if not)."""
    return n.figure in _placed_figures(ch)


_PLACED_INDEX: weakref.WeakKeyDictionary[Chapter, tuple[Any, ...]] = weakref.WeakKeyDictionary()


def _placed_figures(ch: Chapter) -> set[object]:
    """The figure ids parse marked on the chapter's paragraphs; cached per chapter (one pass over
    the tokens, not one per figure)."""
    hit = _PLACED_INDEX.get(ch)
    if hit is None or hit[0] is not ch.tokens or hit[1] != len(ch.tokens):
        placed = {(t.meta or {}).get("figure") for t in ch.tokens if t.type == "paragraph_open"}
        hit = (ch.tokens, len(ch.tokens), placed)
        _PLACED_INDEX[ch] = hit
    found: set[object] = hit[2]
    return found


def _number_figures(f: Filtered, nb: Numbering) -> None:
    """Figures are numbered through the edition, after filtering, like notes: Figure 1, 2 ..."""
    for ch in f.chapters:
        defs = ch.note_defs()
        for n in sorted((n for n in ch.nodes if isinstance(n, Image) and n.figure), key=lambda n: n.start):
            if n.figure not in nb.figures and f.node_visible(defs, n) and _figure_placed(ch, n):
                nb.figures[n.figure] = len(nb.figures) + 1


def _number_notes(src: Source, f: Filtered, ch: Chapter, defs: dict[str, FnDef], nb: Numbering) -> None:
    """Number the chapter's notes in document order of their calls; collect their citations."""
    bib = src.bib
    nb.boundaries.add(len(nb.notes))
    calls = sorted((n for n in ch.nodes if n.note is None and f.node_visible(defs, n) and
                    (isinstance(n, FnRef) or (isinstance(n, Cite) and n.makes_note))), key=lambda n: n.start)
    seen_calls: dict[int, int] = {}
    for n in calls:
        if isinstance(n, FnRef):
            key = (ch.path, n.label)
            if key not in nb.note_of:
                dn = defs.get(n.label)
                if dn is None:
                    continue
                note = Note(len(nb.notes) + 1, ch.name, n.label, gap=dn.gap, origin=f"{ch.path}:{dn.line}:{dn.col}")
                nb.note_of[key] = note
                nb.notes.append(note)
            note = nb.note_of[key]
            seen_calls[note.number] = seen_calls.get(note.number, 0) + 1
            nb.call_number[id(n)] = (note.number, seen_calls[note.number])
        elif isinstance(n, Cite):
            note = Note(len(nb.notes) + 1, ch.name, "@cite", origin=f"{ch.path}:{n.line}:{n.col}",
                        cites=[i for i in n.items if i.key in bib.entries])
            nb.notes.append(note)
            nb.call_number[id(n)] = (note.number, 1)
    for c in sorted((n for n in ch.nodes if isinstance(n, Cite) and n.note and f.node_visible(defs, n)),
                    key=lambda n: n.start):
        owner = nb.note_of.get((ch.path, c.note or ""))
        if owner is not None:
            owner.cites.extend(i for i in c.items if i.key in bib.entries)


# --------------------------------------------------------------------------- 4. citations


@dataclass
class Citations:
    styler: Styler
    positions: list[list[str]]  # per note, per cite: first | ibid | ibid-locator | subsequent
    inplace: dict[int, str]  # id(in-text cite) -> anchor
    text_backlinks: dict[str, list[tuple[str, str, str]]]  # key -> (page, anchor, label)
    note_backlinks: dict[str, list[Note]]
    references: list[str]


def cite(src: Source, f: Filtered, nb: Numbering) -> Citations:
    bib = src.bib
    cited = [c.key for nt in nb.notes for c in nt.cites]
    inplace: dict[int, str] = {}
    text_backlinks: dict[str, list[tuple[str, str, str]]] = {}
    for ch in f.chapters:
        defs = ch.note_defs()
        heads = [h for h in ch.headings() if f.node_visible(defs, h)]
        head_starts = [h.start for h in heads]
        in_order = all(a <= b for a, b in zip(head_starts, head_starts[1:]))
        for n in ch.nodes:
            if not (isinstance(n, Cite) and n.note is None and not n.makes_note and f.node_visible(defs, n)):
                continue
            cited.extend(i.key for i in n.items if i.key in bib.entries)
            anchor = f"cite-{len(inplace) + 1}"
            inplace[id(n)] = anchor
            if in_order:  # the last heading before the citation
                k = bisect.bisect_right(head_starts, n.start)
                last = heads[k - 1] if k else None
            else:
                last = next((h for h in reversed(heads) if h.start <= n.start), None)
            sec = nb.numbers.get(id(last)) if last is not None else None
            label = f"§{sec}" if sec else (heading_text(f.vis, last) if last is not None else ch.title)
            for i in n.items:
                if i.key in bib.entries:
                    text_backlinks.setdefault(i.key, []).append((ch.name, anchor, label))
    styler = Styler(bib, cited, src.config.et_al_min, src.config.conjunctions)
    positions = ibid_positions([[] if nt.gap else nt.cites for nt in nb.notes], nb.boundaries) \
        if src.config.ibid else [["first"] * len(nt.cites) for nt in nb.notes]
    note_backlinks: dict[str, list[Note]] = {}
    linked: set[tuple[str, int]] = set()  # (key, id(note)) already listed
    for nt in nb.notes:
        for c in nt.cites:
            lst = note_backlinks.setdefault(c.key, [])
            if (c.key, id(nt)) not in linked:
                linked.add((c.key, id(nt)))
                lst.append(nt)
    references = sorted(set(cited), key=lambda key: sort_key(styler, key))
    for key in references:
        note_backlinks.setdefault(key, [])
    return Citations(styler, positions, inplace, text_backlinks, note_backlinks, references)


# --------------------------------------------------------------------------- 5. pages


def assemble(src: Source, ed: Edition, render: bool = True, with_pdf: bool = True,
             ref_cache: dict[str, str] | None = None) -> tuple[AssembledEdition, list[Diagnostic]]:
    """Filter the source for one edition, then number, cite and lay out its pages.

    ``render=False`` (for ``check``) skips formatting the reference list; ``with_pdf=False``
    skips the PDF variant of the pages; ``ref_cache`` reuses formatted reference entries
    (fingerprint -> HTML) across builds."""
    f = filter_source(src, ed)
    checked = check_edition(src, ed, f)
    nb = number(src, f)
    cz = cite(src, f, nb)
    lay = _Layout(src, ed, f, checked, nb, cz, with_pdf)
    pages = [lay.chapter_page(ch, first=k == 0) for k, ch in enumerate(f.chapters)]
    refs = {k: format_reference_html(cz.styler, k, ref_cache) if render else html.escape(k) for k in cz.references}
    pages += back_matter(src, ed, nb, cz, refs, lay.abbr_used)
    removed = f.removed + [Removed(nt.origin, "gap", "note-gap", 0) for nt in nb.notes if nt.gap]
    removed += _left_out(src, checked.assets)
    ae = AssembledEdition(ed, pages, nb.notes, cz.references, f.restricted, removed, sorted(checked.assets),
                          lay.abbr_used, nb.sections, refs)
    return ae, checked.diags + lay.diags + _ambiguous(src, ed, cz.styler)


def _ambiguous(src: Source, ed: Edition, st: Styler) -> list[Diagnostic]:
    """Works this edition prints alike (author, year and volume), e.g. after a 'yearsuffix'
    that keeps a printed edition's missing letter: readers cannot tell them apart."""
    out = []
    for keys in st.ambiguous:
        author, year = st.label(keys[-1])
        path, ln = src.bib.line_of(keys[-1])
        out.append(Diagnostic("warning", "W-CITE-AMBIGUOUS", f"{', '.join('@' + k for k in keys)} all print as "
                              f"'{author} ({year})' in this edition", path, ln, 1,
                              ("give one of them a 'yearsuffix' letter, or an editor note saying why they stay alike",),
                              ed.name))
    return out


class _Layout:
    """Renders the chapters of an edition: the context ``render.TreeRenderer`` asks what a
    region, a heading, a citation, a cross-reference or a note call becomes."""

    def __init__(self, src: Source, ed: Edition, f: Filtered, checked: Checked, nb: Numbering, cz: Citations,
                 with_pdf: bool):
        self.src, self.ed, self.f, self.checked, self.nb, self.cz = src, ed, f, checked, nb, cz
        self.with_pdf = with_pdf
        self.diags: list[Diagnostic] = []
        self.abbr_used: dict[str, str] = {}
        self.notes_by_page = nb.by_page()
        self.pos_iter: dict[int, Iterator[str]] = {nt.number: iter(p) for nt, p in zip(nb.notes, cz.positions)}
        self.ch: Chapter | None = None
        self.defs: dict[str, FnDef] = {}

    # ------------------------------------------------------------------ the renderer's context

    def region_visible(self, r: Region) -> bool:
        return self.f.vis.visible(r)

    def editor_shown(self, r: Region) -> bool:
        return r.editor and self.f.vis.visible(r)

    def heading_prefix(self, h: Heading) -> str:
        """"1. " / "2.1 " (house style: ``headings:`` in mkdocs.yml); "" when unnumbered."""
        return self.src.config.number_prefix(self.nb.numbers.get(id(h), ""), h.level)

    def xref_html(self, n: XRef) -> str:
        """"section 2.1" / "chapter 2" (``@sec-x``), the bare number "2.1" (``[-@sec-x]``), or an
        unnumbered section's title in quotes."""
        if n.id not in self.checked.heading_vis:
            return html.escape("@" + n.id)
        tch, h = self.checked.heading_vis[n.id]
        num = self.nb.numbers.get(id(h))
        if num:
            label = num if n.bare else f"{'chapter' if h.level == 1 else 'section'} {num}"
        else:
            label = f"“{heading_text(self.f.vis, h)}”"
        return tpl.link(tpl.page_url(tch.name) + "#" + n.id, html.escape(label))

    def cite_html(self, n: Cite, next_text: str) -> str:
        if n.note is None and n.makes_note:
            return self.note_call(n)
        ch = self.ch
        assert ch is not None
        note = self.nb.note_of.get((ch.path, n.note)) if n.note else None
        dn = self.defs.get(n.note) if n.note else None
        # the citation leads its note: only white space between the note's start and it
        lead = bool(dn) and _NON_SPACE.search(ch.text, dn.content[0], max(dn.content[0], n.start)) is None \
            if dn else False
        anchor = tpl.anchor(self.cz.inplace[id(n)]) if id(n) in self.cz.inplace else ""
        text = self.cluster(list(n.items), note, lead, narrative=not n.bracketed,
                            context="notes" if n.note else "text")
        if next_text.startswith("."):  # "Ibid." or "et al." before the sentence's own full stop
            text = re.sub(r"\.(</a>)?$", r"\1", text)
        return anchor + text

    def note_call(self, n: Node) -> str:
        if id(n) not in self.nb.call_number:
            # undefined (E-FN-UNDEFINED) or inside a note (E-FN-NESTED): reported by resolve, never printed raw
            return ""
        return tpl.note_call(*self.nb.call_number[id(n)])

    def figure_number(self, n: Image) -> int | None:
        return self.nb.figures.get(n.figure) if n.figure else None

    def figref_html(self, n: FigRef) -> str:
        """``@fig-x``: "Figure 3", linked to the figure."""
        if n.id not in self.checked.figure_vis or n.id not in self.nb.figures:
            return html.escape("@" + n.id)
        tch, _ = self.checked.figure_vis[n.id]
        return tpl.link(tpl.page_url(tch.name) + "#" + n.id, f"Figure {self.nb.figures[n.id]}")

    def href(self, n: Link) -> str:
        t = n.target
        if re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I) or t.startswith("//") or t.startswith("#"):
            return t
        path, sep, frag = t.partition("#")
        return tpl.page_url(path) + sep + frag if path.endswith(".md") else t

    def cluster(self, items: list[CiteRef], note: Note | None, lead: bool, narrative: bool,
                context: str = "notes") -> str:
        """A citation cluster as HTML, each work linked to the reference list. ``narrative``
        (``@key``): part of a sentence, author and year only; ``context``: 'text' or 'notes'."""
        parts = []
        for j, c in enumerate(items):
            if c.key not in self.src.bib.entries:
                parts.append(html.escape("@" + c.key))
                continue
            p = next(self.pos_iter[note.number], "first") if note is not None else "first"
            if narrative or c.suppress_author:
                p = "first"
            parts.append(render_item(self.cz.styler, c, p, tpl.reference_link, lead and j == 0, html.escape,
                                     context=context, narrative=narrative))
        return "; ".join(parts)

    # ------------------------------------------------------------------ chapters

    def chapter_page(self, ch: Chapter, first: bool) -> Page:
        cfg, vis = self.src.config, self.f.vis
        page_marking = ch.marking
        for r in ch.regions[1:]:
            if vis.visible(r) and not r.editor:
                page_marking = cfg.scheme.max(page_marking, vis.eff(r))
        self.ch, self.defs = ch, ch.note_defs()
        page_notes = self.notes_by_page.get(ch.name, [])
        rnd = TreeRenderer(self, ch.tokens, cfg.abbreviations)
        try:
            body = rnd.body()
            for nt in page_notes:
                nt.html = self.note_html(nt, rnd)
        except RenderError as exc:
            ln, col = ch.pos(exc.offset)
            self.diags.append(Diagnostic("error", "E-RENDER-UNKNOWN", f"{exc}: not rendered (fail closed)", ch.path,
                                         ln, col, ("use the constructs listed in AUTHORING.md",), self.ed.name))
            body = ""
        for a in rnd.abbr_used:
            self.abbr_used[a] = cfg.abbreviations[a]
        h1 = next((h for h in ch.headings() if h.level == 1), None)
        num = self.nb.numbers.get(id(h1)) if h1 else None
        cover = tpl.cover(cfg.report, self.ed, page_marking, self.with_pdf and cfg.pdf_enabled) if first else ""
        site = tpl.banner(page_marking) + cover + body + tpl.notes_list(page_notes) + tpl.banner(page_marking)
        pdf = tpl.pdf_body(body, {nt.number: nt.html for nt in page_notes}) if self.with_pdf else ""
        return Page(ch.name, cfg.number_prefix(num or "", 1) + ch.title, page_marking, site, pdf, ch, rnd.runs,
                    toc=rnd.toc)

    def note_html(self, nt: Note, rnd: TreeRenderer) -> str:
        if nt.gap:
            return tpl.gap_note()
        if nt.label == "@cite":
            return f"<p>{self.cluster(nt.cites, nt, True, False)}</p>"
        dn = self.defs[nt.label]
        if dn.inline:
            return f"<p>{rnd.inline_note(list(dn.children))}</p>"
        return rnd.footnote(dn.token).strip()


def back_matter(src: Source, ed: Edition, nb: Numbering, cz: Citations, refs: dict[str, str],
                abbr_used: dict[str, str]) -> list[Page]:
    """The reference list, the list of abbreviations and the 404 page."""
    cfg, pages = src.config, []
    lowest = cfg.scheme.lowest
    if cz.references:
        ref_marking = lowest
        for k in cz.references:
            if k in src.bib.markings:
                ref_marking = cfg.scheme.max(ref_marking, src.bib.markings[k])
        body = tpl.references(cz.references, refs, cz.note_backlinks, cz.text_backlinks)
        pages.append(Page("references.md", "References", ref_marking, tpl.framed(ref_marking, body), body,
                          toc=[(1, "references", "References")]))
    if abbr_used:
        body = tpl.abbreviations(abbr_used)
        pages.append(Page("abbreviations.md", "Abbreviations", lowest, tpl.framed(lowest, body), body,
                          toc=[(1, "abbreviations", "Abbreviations")]))
    body = tpl.not_found()
    pages.append(Page("404.md", "Page not found", lowest, tpl.framed(lowest, body), "", listed=False,
                      toc=[(1, "not-found", "Page not found")]))
    return pages


def _left_out(src: Source, used: set[str]) -> list[Removed]:
    """Files in docs/ the edition's pages do not reference: never copied; counted by type, not
    named (a file name can itself be restricted)."""
    left_out: dict[str, int] = {}
    for a in src.assets:
        if a not in used:
            ext = ("." + a.rsplit(".", 1)[-1].lower()) if "." in a.rsplit("/", 1)[-1] else "(no extension)"
            left_out[ext] = left_out.get(ext, 0) + 1
    return [Removed(f"{src.config.docs_dir}/: {count} unreferenced {ext} file(s)", "unreferenced", "asset", 0)
            for ext, count in sorted(left_out.items())]


def pdf_filename(title: str, edition: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "scan"
    return f"{slug}-{edition}.pdf"
