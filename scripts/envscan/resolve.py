"""Resolve the source as a whole: footnotes, citations, cross-references, Ibid., ids.

Edition-independent checks; the per-edition ones live in edition.py.
"""

from __future__ import annotations

import bisect
import difflib
import re

from .diagnostics import Diagnostic, error, warning
from .model import Chapter, Cite, FigRef, FnDef, FnRef, Heading, Ibid, Image, Node, Source, XRef

SUFFIX_WORDS = re.compile(r"^(passim|and passim|f\.|ff\.|et seq\.|n\.?\s*\d+|note \d+|emphasis (added|in original))\b", re.I)
LOCATOR_START = re.compile(r"^(pp?\.|pages?|ch\.|chap\.|sec\.|para\.|§|fig\.|vol\.)?\s*[0-9ivxlcdm]", re.I)


def _d(ch: Chapter, code: str, msg: str, offset: int, *hints: str, sev: str = "error") -> Diagnostic:
    ln, col = ch.pos(offset)
    f = error if sev == "error" else warning
    return f(code, msg, ch.path, ln, col, *hints)


def _at(ch: Chapter, code: str, msg: str, node: Node, *hints: str, sev: str = "error") -> Diagnostic:
    """At a node's own line:col (a footnote definition's span starts at its line, before any
    list marker or '>' of its container; its label is where the author looks)."""
    f = error if sev == "error" else warning
    return f(code, msg, ch.path, node.line, node.col, *hints)


def check_locator(loc_text: str) -> str:
    """Return '' when fine, else the reason the locator is malformed."""
    if not loc_text:
        return ""
    rng = re.findall(r"(\d+)\s*[-–—]{1,2}\s*(\d+)", loc_text)
    for a, b in rng:
        if int(b) < int(a) and len(b) >= len(a):
            return f"page range {a}-{b} runs backwards"
    return ""


def section_ids(src: Source) -> dict[str, tuple[Chapter, Heading]]:
    ids: dict[str, tuple[Chapter, Heading]] = {}
    for ch in src.chapters:
        for h in ch.headings():
            if h.id:
                ids.setdefault(h.id, (ch, h))
    return ids


def resolve(src: Source) -> list[Diagnostic]:
    """Edition-independent checks of the whole source."""
    diags = _check_ids(src) + _check_figures(src)
    cited: set[str] = set()
    ids = section_ids(src)
    for ch in src.chapters:
        diags += _check_notes(ch)
        diags += _check_refs(ch, src, ids, cited)
        diags += _check_ibid(ch)
    for key in src.bib.entries:
        if key not in cited:
            path, ln = src.bib.line_of(key)
            diags.append(warning("W-BIB-UNCITED", f"entry {key!r} is never cited", path, ln, 1 if ln else 0))
    return diags


def _check_ids(src: Source) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    ids: dict[str, tuple[Chapter, Heading]] = {}
    for ch in src.chapters:
        for h in ch.headings():
            if not h.id:
                continue
            if h.id in ids:
                och, oh = ids[h.id]
                diags.append(_d(ch, "E-XREF-DUPLICATE", f"duplicate section id {h.id!r} (also at {och.path}:{oh.line})",
                                h.attr_off or h.start, "section ids must be unique across the scan"))
            else:
                ids[h.id] = (ch, h)
            if not re.fullmatch(r"[A-Za-z][\w-]*", h.id):
                diags.append(_d(ch, "E-HEADING-ATTR", f"section id {h.id!r} must be letters, digits, '-' or '_'",
                                h.attr_off or h.start))
        h1s = [h for h in ch.headings() if h.level == 1]
        if len(h1s) != 1:
            diags.append(_d(ch, "E-HEADING-CHAPTER", f"a chapter has exactly one level-1 heading (found {len(h1s)})",
                            ch.front_end, "start the chapter with '# Title {#sec-id}' and use ## for its sections"))
    return diags


def _check_notes(ch: Chapter) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    defs: dict[str, FnDef] = {}
    for n in ch.nodes:
        if isinstance(n, FnDef) and not n.inline:
            if n.label in defs:
                diags.append(_at(ch, "E-FN-DUPLICATE", f"footnote [^{n.label}] is defined twice (first at line "
                                 f"{defs[n.label].line})", n, "rename one of the labels"))
            else:
                defs[n.label] = n
            if n.gap:
                diags.append(_at(ch, "W-FN-GAP", f"note [^{n.label}]: note text not recovered; restore from the print "
                                 "edition" + (f" ({n.gap_remark})" if n.gap_remark else ""), n, sev="warning"))
    refs: set[str] = set()
    for n in ch.nodes:
        if isinstance(n, FnRef) and not n.inline:
            refs.add(n.label)
            if n.label not in defs:
                sugg = difflib.get_close_matches(n.label, list(defs), 1)
                diags.append(_d(ch, "E-FN-UNDEFINED", f"footnote [^{n.label}] has no definition", n.start,
                                f"did you mean [^{sugg[0]}]?" if sugg else f"add '[^{n.label}]: text' to this chapter"))
            if n.note:  # in a [^label] or an inline ^[...] note: never printed raw
                diags.append(_d(ch, "E-FN-NESTED", f"footnote reference [^{n.label}] inside a footnote", n.start,
                                "notes cannot have notes; fold the text in"))
    for lab, d in defs.items():
        if lab not in refs:
            diags.append(_at(ch, "W-FN-UNUSED", f"footnote [^{lab}] is defined but never referenced", d,
                             "reference it with [^" + lab + "] or delete it", sev="warning"))
    return diags


def _check_refs(ch: Chapter, src: Source, ids: dict[str, tuple[Chapter, Heading]], cited: set[str]) -> list[Diagnostic]:
    """Citations (keys, locators) and cross-references (ids)."""
    diags: list[Diagnostic] = []
    keys = src.bib.entries
    for n in ch.nodes:
        if isinstance(n, Cite):
            for it in n.items:
                if it.key not in keys:
                    sugg = difflib.get_close_matches(it.key, list(keys), 1, 0.6)
                    hint = ("a cross-reference in brackets stands alone: [-@" + it.key + "] (the number) or @"
                            + it.key) if it.key.startswith("sec-") else \
                        f"did you mean @{sugg[0]}?" if sugg else "add the work to bibliography/*.bib"
                    diags.append(_d(ch, "E-CITE-UNKNOWN", f"citation key {it.key!r} is not in the bibliography",
                                    it.offset, hint))
                else:
                    cited.add(it.key)
                if n.bracketed and it.raw_rest.startswith(","):
                    diags += _check_locator_of(ch, it.key, it.raw_rest[1:].strip(), it.locator, it.offset)
        elif isinstance(n, XRef) and n.id not in ids:
            sugg = difflib.get_close_matches(n.id, list(ids), 1, 0.6)
            diags.append(_d(ch, "E-XREF-UNKNOWN", f"cross-reference @{n.id} matches no section id", n.start,
                            f"did you mean @{sugg[0]}?" if sugg else "give the heading {#" + n.id + "}"))
    return diags


def _check_locator_of(ch: Chapter, key: str, tail: str, locator: str, offset: int) -> list[Diagnostic]:
    if not tail:
        return [_d(ch, "E-CITE-LOCATOR", f"empty locator after @{key}", offset, "write [@key, 12] or drop the comma")]
    if not locator and not SUFFIX_WORDS.match(tail):
        return [_d(ch, "E-CITE-LOCATOR", f"malformed locator {tail!r} after @{key}", offset,
                   "a locator is a page or range (12, 12-14, pp. 12-14, 39, 41) optionally followed by a comment")]
    reason = check_locator(locator)
    return [_d(ch, "E-CITE-LOCATOR", f"malformed locator after @{key}: {reason}", offset)] if reason else []


def _check_ibid(ch: Chapter) -> list[Diagnostic]:
    """A typed "Ibid." in a note: the pipeline generates it; suggest the key."""
    out = []
    # keys cited inside each footnote, in document order
    cites_by_note: dict[str, list[str]] = {}
    cite_nodes_by_note: dict[str, list[Cite]] = {}
    for n in ch.nodes:
        if isinstance(n, Cite) and n.note:
            cites_by_note.setdefault(n.note, []).extend(i.key for i in n.items)
            cite_nodes_by_note.setdefault(n.note, []).append(n)
    # the chapter's notes in the order the editions number them: a footnote at its first call,
    # and a generated note for each bracketed citation in body text
    seq: list[list[str]] = []
    seq_nodes: list[list[Cite]] = []  # the cites behind each entry of seq
    index_of: dict[str, int] = {}
    calls = sorted((n for n in ch.nodes if n.note is None and
                    (isinstance(n, FnRef) or (isinstance(n, Cite) and n.makes_note))), key=lambda n: n.start)
    for n in calls:
        if isinstance(n, FnRef):
            if n.label not in index_of:
                index_of[n.label] = len(seq)
                seq.append(cites_by_note.get(n.label, []))
                seq_nodes.append(cite_nodes_by_note.get(n.label, []))
        elif isinstance(n, Cite):
            seq.append([i.key for i in n.items])
            seq_nodes.append([n])
    editor_regions = {id(r) for r in ch.regions if r.editor}
    cites_in: dict[str, tuple[list[Cite], list[int], bool]] | None = None  # note -> cites (node order), starts, sorted
    for n in ch.nodes:
        if not isinstance(n, Ibid) or any(id(r) in editor_regions for r in n.region.chain()):
            continue
        prev_keys: list[str] = []
        prev_nodes: list[Cite] = []
        if n.note in index_of:
            i = index_of[n.note]
            # earlier cites in the same note, else the previous note's
            if cites_in is None:
                by_note: dict[str, list[Cite]] = {}
                for c in ch.nodes:
                    if isinstance(c, Cite) and c.note is not None:
                        by_note.setdefault(c.note, []).append(c)
                cites_in = {}
                for lab, cs in by_note.items():
                    st = [c.start for c in cs]
                    cites_in[lab] = (cs, st, all(a <= b for a, b in zip(st, st[1:])))
            in_note, starts, in_order = cites_in.get(n.note, ([], [], True))
            last = None
            if in_order:
                k = bisect.bisect_left(starts, n.start)  # the cites that start before the Ibid
                last = in_note[k - 1] if k else None
            else:
                for c in in_note:  # the last one in node order that starts before the Ibid
                    if c.start < n.start:
                        last = c
            if last is not None:
                prev_keys = [k.key for k in last.items]
                prev_nodes = [last]
            elif i > 0:
                prev_keys = seq[i - 1]
                prev_nodes = seq_nodes[i - 1]
        # the suggestion (and --fix) may name the work only when every edition that shows this
        # "Ibid." also shows the citation it follows: never a work cited in a marked block or note
        chain = {id(r) for r in n.region.chain()}
        hidden = any(not {id(r) for r in c.region.chain()} <= chain or
                     any(id(r) in editor_regions for r in c.region.chain()) for c in prev_nodes)
        if len(set(prev_keys)) > 1:
            out.append(_d(ch, "E-IBID-AMBIGUOUS", "typed 'Ibid.' after a note citing more than one work is ambiguous",
                          n.start, "cite the intended work explicitly: one of "
                          + ", ".join("@" + k for k in dict.fromkeys(prev_keys))))
        else:
            hint = f"write [@{prev_keys[0]}, PAGE] — the pipeline prints 'Ibid.' itself" if prev_keys and not hidden \
                else "cite the work by its key; the pipeline prints 'Ibid.' itself" + (
                    " (the citation before it is in a marked block or an editor note)" if hidden else "")
            out.append(_d(ch, "E-IBID-TYPED", "typed 'Ibid.' in the source", n.start, hint))
    return out


def figure_ids(src: Source) -> dict[str, tuple[Chapter, Image]]:
    """Every figure of the source by its id (the first, if an id is given twice)."""
    out: dict[str, tuple[Chapter, Image]] = {}
    for ch in src.chapters:
        for n in ch.nodes:
            if isinstance(n, Image) and n.figure:
                out.setdefault(n.figure, (ch, n))
    return out


def _check_figures(src: Source) -> list[Diagnostic]:
    """Figure ids are unique across the scan (also against section ids); @fig-x names one."""
    diags: list[Diagnostic] = []
    sections = section_ids(src)
    seen: dict[str, tuple[Chapter, Image]] = {}
    for ch in src.chapters:
        for n in ch.nodes:
            if isinstance(n, Image) and n.figure:
                first = seen.get(n.figure) or (sections.get(n.figure) if n.figure in sections else None)
                if first is not None:
                    och, on = first
                    diags.append(_d(ch, "E-XREF-DUPLICATE", f"duplicate id {n.figure!r} (also at {och.path}:{on.line})",
                                    n.start, "figure and section ids must be unique across the scan"))
                else:
                    seen[n.figure] = (ch, n)
    for ch in src.chapters:
        for n in ch.nodes:
            if isinstance(n, FigRef) and n.id not in seen:
                sugg = difflib.get_close_matches(n.id, list(seen), 1, 0.6)
                diags.append(_d(ch, "E-XREF-UNKNOWN", f"cross-reference @{n.id} matches no figure", n.start,
                                f"did you mean @{sugg[0]}?" if sugg else
                                "give the image {#" + n.id + "}: ![description](file.png \"caption\"){#" + n.id + "}"))
    return diags
