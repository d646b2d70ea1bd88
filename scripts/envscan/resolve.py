"""Resolve the source as a whole: footnotes, citations, cross-references, Ibid., ids.

Edition-independent checks; the per-edition ones live in edition.py.
"""

from __future__ import annotations

import difflib
import re

from .diagnostics import Diagnostic, error, warning
from .model import Chapter, Node
from .project import Project

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


def section_ids(project: Project) -> dict[str, tuple[Chapter, Node]]:
    ids: dict[str, tuple[Chapter, Node]] = {}
    for ch in project.chapters:
        for h in ch.headings():
            if h.data.get("id"):
                ids.setdefault(h.data["id"], (ch, h))
    return ids


def resolve(project: Project) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    keys = project.bib.entries
    cited: set[str] = set()
    ids: dict[str, tuple[Chapter, Node]] = {}
    for ch in project.chapters:
        for h in ch.headings():
            hid = h.data.get("id")
            if not hid:
                continue
            if hid in ids:
                och, oh = ids[hid]
                diags.append(_d(ch, "E-XREF-DUPLICATE", f"duplicate section id {hid!r} (also at {och.path}:{oh.line})",
                                h.data["attr_off"] or h.start, "section ids must be unique across the scan"))
            else:
                ids[hid] = (ch, h)
            if not re.fullmatch(r"[A-Za-z][\w-]*", hid):
                diags.append(_d(ch, "E-HEADING-ATTR", f"section id {hid!r} must be letters, digits, '-' or '_'",
                                h.data["attr_off"] or h.start))
    h1s_by_chapter = {ch.path: [h for h in ch.headings() if h.data["level"] == 1] for ch in project.chapters}
    for ch in project.chapters:
        if len(h1s_by_chapter[ch.path]) != 1:
            diags.append(_d(ch, "E-HEADING-CHAPTER", f"a chapter has exactly one level-1 heading (found "
                            f"{len(h1s_by_chapter[ch.path])})", ch.front_end,
                            "start the chapter with '# Title {#sec-id}' and use ## for its sections"))

    for ch in project.chapters:
        defs: dict[str, Node] = {}
        for n in ch.nodes:
            if n.kind == "fndef" and not n.data.get("inline"):
                lab = n.data["label"]
                if lab in defs:
                    diags.append(_at(ch, "E-FN-DUPLICATE", f"footnote [^{lab}] is defined twice (first at line "
                                     f"{defs[lab].line})", n, "rename one of the labels"))
                else:
                    defs[lab] = n
                if n.data.get("gap"):
                    remark = n.data.get("gap_remark", "")
                    diags.append(_at(ch, "W-FN-GAP", f"note [^{lab}]: note text not recovered; restore from the print "
                                     "edition" + (f" ({remark})" if remark else ""), n, sev="warning"))
        refs: dict[str, list[Node]] = {}
        for n in ch.nodes:
            if n.kind == "fnref" and not n.data.get("inline"):
                lab = n.data["label"]
                refs.setdefault(lab, []).append(n)
                if lab not in defs:
                    sugg = difflib.get_close_matches(lab, list(defs), 1)
                    diags.append(_d(ch, "E-FN-UNDEFINED", f"footnote [^{lab}] has no definition", n.start,
                                    f"did you mean [^{sugg[0]}]?" if sugg else f"add '[^{lab}]: text' to this chapter"))
                if n.note:  # in a [^label] or an inline ^[...] note: never printed raw
                    diags.append(_d(ch, "E-FN-NESTED", f"footnote reference [^{lab}] inside a footnote", n.start,
                                    "notes cannot have notes; fold the text in"))
        for lab, d in defs.items():
            if lab not in refs:
                diags.append(_at(ch, "W-FN-UNUSED", f"footnote [^{lab}] is defined but never referenced", d,
                                 "reference it with [^" + lab + "] or delete it", sev="warning"))

        # citations
        for n in ch.nodes:
            if n.kind == "cite":
                for it in n.data["items"]:
                    key = it["key"]
                    if key not in keys:
                        sugg = difflib.get_close_matches(key, list(keys), 1, 0.6)
                        diags.append(_d(ch, "E-CITE-UNKNOWN", f"citation key {key!r} is not in the bibliography",
                                        it["abs"], f"did you mean @{sugg[0]}?" if sugg else
                                        "add the work to bibliography/*.bib"))
                    else:
                        cited.add(key)
                    rest = it.get("raw_rest", "")
                    if n.data["bracketed"] and rest.startswith(","):
                        tail = rest[1:].strip()
                        if not tail:
                            diags.append(_d(ch, "E-CITE-LOCATOR", f"empty locator after @{key}", it["abs"],
                                            "write [@key, 12] or drop the comma"))
                        elif not it["locator"] and not SUFFIX_WORDS.match(tail):
                            diags.append(_d(ch, "E-CITE-LOCATOR", f"malformed locator {tail!r} after @{key}", it["abs"],
                                            "a locator is a page or range (12, 12-14, pp. 12-14, 39, 41) optionally "
                                            "followed by a comment"))
                        else:
                            reason = check_locator(it["locator"])
                            if reason:
                                diags.append(_d(ch, "E-CITE-LOCATOR", f"malformed locator after @{key}: {reason}",
                                                it["abs"]))
            elif n.kind == "xref":
                xid = n.data["id"]
                if xid not in ids:
                    sugg = difflib.get_close_matches(xid, list(ids), 1, 0.6)
                    diags.append(_d(ch, "E-XREF-UNKNOWN", f"cross-reference @{xid} matches no section id", n.start,
                                    f"did you mean @{sugg[0]}?" if sugg else "give the heading {#" + xid + "}"))

        diags += _check_ibid(ch)

    for key, entry in keys.items():
        if key not in cited:
            path, ln = project.bib.line_of(key)
            diags.append(warning("W-BIB-UNCITED", f"entry {key!r} is never cited", path, ln, 1 if ln else 0))
    return diags


def _makes_note(n: Node) -> bool:
    """As the editions number notes: a bracketed citation in body text is a note of its own,
    unless it only suppresses authors (``[-@key]`` renders in place)."""
    return n.data["bracketed"] and not all(i["suppress_author"] for i in n.data["items"])


def _check_ibid(ch: Chapter) -> list[Diagnostic]:
    """A typed "Ibid." in a note: the pipeline generates it; suggest the key."""
    out = []
    # keys cited inside each footnote, in document order
    cites_by_note: dict[str, list[str]] = {}
    for n in ch.nodes:
        if n.kind == "cite" and n.note:
            cites_by_note.setdefault(n.note, []).extend(i["key"] for i in n.data["items"])
    # the chapter's notes in the order the editions number them: a footnote at its first call,
    # and a generated note for each bracketed citation in body text
    seq: list[list[str]] = []
    index_of: dict[str, int] = {}
    calls = sorted((n for n in ch.nodes if n.note is None and
                    (n.kind == "fnref" or (n.kind == "cite" and _makes_note(n)))), key=lambda n: n.start)
    for n in calls:
        if n.kind == "fnref":
            lab = n.data["label"]
            if lab not in index_of:
                index_of[lab] = len(seq)
                seq.append(cites_by_note.get(lab, []))
        else:
            seq.append([i["key"] for i in n.data["items"]])
    editor_regions = {id(r) for r in ch.regions if r.editor}
    for n in ch.nodes:
        if n.kind != "ibid" or any(id(r) in editor_regions for r in n.region.chain()):
            continue
        prev_keys: list[str] = []
        if n.note in index_of:
            i = index_of[n.note]
            # earlier cites in the same note, else the previous note's
            same = [c for c in ch.nodes if c.kind == "cite" and c.note == n.note and c.start < n.start]
            if same:
                prev_keys = [k["key"] for k in same[-1].data["items"]]
            elif i > 0:
                prev_keys = seq[i - 1]
        if len(set(prev_keys)) > 1:
            out.append(_d(ch, "E-IBID-AMBIGUOUS", "typed 'Ibid.' after a note citing more than one work is ambiguous",
                          n.start, f"cite the intended work explicitly: one of {', '.join('@' + k for k in dict.fromkeys(prev_keys))}"))
        else:
            hint = f"write [@{prev_keys[0]}, PAGE] — the pipeline prints 'Ibid.' itself" if prev_keys else \
                "cite the work by its key; the pipeline prints 'Ibid.' itself"
            out.append(_d(ch, "E-IBID-TYPED", "typed 'Ibid.' in the source", n.start, hint))
    return out
