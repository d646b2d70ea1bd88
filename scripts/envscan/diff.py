"""What changed between two states of the scan (two editions, any git refs, the working tree).

Per chapter: sections added / removed / renamed (a section keeps its ``{#id}``; a new title under
the same id is a rename), words added and removed, notes and citations added and removed,
markings changed (the chapter's, and each marked block or span by the section it sits in);
plus the bibliography's entries added and removed.

The core (:func:`diff_states`) is pure: two :class:`State` objects in, an :class:`EditionDiff`
out. Only chapters whose text differs are parsed, so a diff costs reading both trees plus
parsing what changed. The readers (:func:`state_from_worktree`, :func:`state_from_ref`) are the
I/O ends. Chapters are matched by file name; a chapter whose file was renamed is matched by
its level-1 heading id.
"""

from __future__ import annotations

import difflib
import html
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .bib import ENTRY_RE
from .config import Config, Scheme, load_config
from .model import Chapter, Cite, FnDef, Heading
from .parse import parse_chapter

if TYPE_CHECKING:
    from .project import Project

_WORD = re.compile(r"\w+")


# --------------------------------------------------------------------------- the two states


@dataclass
class State:
    """One side of a diff: chapter texts in nav order and the bibliography's keys."""

    label: str  # "edition/2012", "working tree", a ref
    scheme: Scheme
    chapters: dict[str, tuple[str, str]]  # docs-relative name -> (repo-relative path, text)
    bib_keys: set[str]
    parsed: dict[str, Chapter] = field(default_factory=dict)  # chapters already parsed (reused)

    def chapter(self, name: str) -> Chapter:
        if name not in self.parsed:
            path, text = self.chapters[name]
            self.parsed[name] = parse_chapter(path, name, text, self.scheme)[0]
        return self.parsed[name]


def bib_keys(texts: list[str]) -> set[str]:
    return {m.group("key") for t in texts for m in ENTRY_RE.finditer(t)
            if m.group("type").lower() not in ("comment", "preamble", "string")}


def state_from_project(project: Project, label: str = "working tree") -> State:
    """The state of an already loaded project (its parsed chapters are reused)."""
    from .source import read_text

    root = project.root
    bibs: list[str] = []
    for p in sorted((root / "bibliography").rglob("*.bib")) if (root / "bibliography").is_dir() else []:
        sf, _ = read_text(root, p.relative_to(root).as_posix())
        if sf is not None:
            bibs.append(sf.text)
    return State(label, project.config.scheme, {ch.name: (ch.path, ch.text) for ch in project.chapters},
                 bib_keys(bibs), {ch.name: ch for ch in project.chapters})


def _state(label: str, cfg: Config, read: Callable[[str], str | None]) -> State:
    chapters: dict[str, tuple[str, str]] = {}
    for _, name in cfg.nav:
        path = f"{cfg.docs_dir}/{name}"
        text = read(path)
        if text is not None:
            chapters[name] = (path, text)
    return State(label, cfg.scheme, chapters, set())


def state_from_worktree(root: Path, label: str = "working tree") -> State | None:
    from .source import read_text

    sf, _ = read_text(root, "mkdocs.yml")
    cfg = load_config(sf.text)[0] if sf is not None else None
    if cfg is None:
        return None

    def read(rel: str) -> str | None:
        s, _ = read_text(root, rel)
        return s.text if s is not None else None

    st = _state(label, cfg, read)
    bib_dir = root / "bibliography"
    st.bib_keys = bib_keys([t for p in sorted(bib_dir.rglob("*.bib")) if (t := read(p.relative_to(root).as_posix()))]
                           if bib_dir.is_dir() else [])
    return st


def state_from_ref(root: Path, ref: str, label: str | None = None) -> State | None:
    """The state at a git ref: one ``git show`` for mkdocs.yml, one ``git archive`` for the rest."""
    from .source import decode
    from .vcs import files_at, git, paths_at

    cfg = load_config(decode(git(root, "show", f"{ref}:mkdocs.yml").encode("utf-8"), "mkdocs.yml")[0] or "")[0]
    if cfg is None:
        return None
    present = paths_at(root, ref, [cfg.docs_dir, "bibliography"])
    files = files_at(root, ref, present) if present else {}
    texts = {p: decode(b, p)[0] for p, b in files.items()}
    st = _state(label or ref, cfg, lambda rel: texts.get(rel))
    st.bib_keys = bib_keys([t for p, t in texts.items() if p.startswith("bibliography/") and p.endswith(".bib")
                            and t is not None])
    return st


# --------------------------------------------------------------------------- the diff model


@dataclass(frozen=True)
class SectionChange:
    kind: str  # added | removed | renamed
    id: str  # section id ("" when the heading has none)
    old: str  # title before ("" when added)
    new: str  # title after ("" when removed)


@dataclass(frozen=True)
class MarkingChange:
    where: str  # "chapter" or the section id / title the marked block or span sits in
    what: str  # chapter | block | span | tearline
    old: str | None  # marking before (None: not there)
    new: str | None


@dataclass(frozen=True)
class ChapterDiff:
    name: str  # docs-relative, as in nav (the new name when the file was renamed)
    path: str
    title: str
    change: str  # added | removed | changed
    old_name: str = ""  # set when the file was renamed
    sections: tuple[SectionChange, ...] = ()
    words_added: int = 0
    words_removed: int = 0
    notes_added: tuple[str, ...] = ()
    notes_removed: tuple[str, ...] = ()
    cites_added: tuple[str, ...] = ()  # works newly cited in the chapter
    cites_removed: tuple[str, ...] = ()  # works no longer cited in it
    markings: tuple[MarkingChange, ...] = ()


@dataclass(frozen=True)
class EditionDiff:
    old: str
    new: str
    chapters: tuple[ChapterDiff, ...]
    unchanged: tuple[str, ...]  # chapters whose text is identical
    bib_added: tuple[str, ...] = ()
    bib_removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.chapters or self.bib_added or self.bib_removed)


# --------------------------------------------------------------------------- the core


def _body(ch: Chapter) -> str:
    return ch.text[ch.front_end:]


def word_changes(old: str, new: str) -> tuple[int, int]:
    """(words added, words removed): lines matched first, then words within changed lines, so
    the cost follows the size of the change, not the square of the chapter's length."""
    a, b = old.splitlines(), new.splitlines()
    added = removed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        wa = _WORD.findall("\n".join(a[i1:i2]))
        wb = _WORD.findall("\n".join(b[j1:j2]))
        if op == "replace" and wa and wb:
            same = sum(blk.size for blk in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_matching_blocks())
            added += len(wb) - same
            removed += len(wa) - same
        else:
            added += len(wb)
            removed += len(wa)
    return added, removed


def _sections(ch: Chapter) -> list[tuple[str, str]]:
    return [(h.id or "", h.text.strip()) for h in ch.headings()]


def _section_of(heads: list[Heading], offset: int) -> str:
    where = ""
    for h in heads:
        if h.start > offset:
            break
        where = h.id or h.text.strip()
    return where or "(chapter start)"


def _marked(ch: Chapter) -> Counter[tuple[str, str, str]]:
    """(section, block | span | tearline, marking) -> how many: the marked regions of a chapter."""
    heads = ch.headings()
    out: Counter[tuple[str, str, str]] = Counter()
    for r in ch.regions[1:]:
        if r.marking is None:
            continue
        what = "tearline" if r.tearline else ("block" if r.kind == "div" else "span")
        out[(_section_of(heads, r.start), what, r.marking)] += 1
    return out


def _notes(ch: Chapter) -> tuple[set[str], int]:
    labels = {n.label for n in ch.nodes if isinstance(n, FnDef) and not n.inline}
    inline = sum(1 for n in ch.nodes if isinstance(n, FnDef) and n.inline)
    return labels, inline


def _cites(ch: Chapter) -> Counter[str]:
    return Counter(it.key for n in ch.nodes if isinstance(n, Cite) for it in n.items)


def chapter_diff(old: Chapter | None, new: Chapter | None) -> ChapterDiff:
    ch = new or old
    assert ch is not None
    change = "added" if old is None else "removed" if new is None else "changed"
    so, sn = (_sections(old) if old else []), (_sections(new) if new else [])
    sections: list[SectionChange] = []
    old_ids = {i: t for i, t in so if i}
    new_ids = {i: t for i, t in sn if i}
    old_anon = Counter(t for i, t in so if not i)
    new_anon = Counter(t for i, t in sn if not i)
    for i, t in sn:
        if i and i not in old_ids:
            sections.append(SectionChange("added", i, "", t))
        elif i and old_ids[i] != t:
            sections.append(SectionChange("renamed", i, old_ids[i], t))
    for t in (new_anon - old_anon).elements():
        sections.append(SectionChange("added", "", "", t))
    for i, t in so:
        if i and i not in new_ids:
            sections.append(SectionChange("removed", i, t, ""))
    for t in (old_anon - new_anon).elements():
        sections.append(SectionChange("removed", "", t, ""))
    added, removed = word_changes(_body(old) if old else "", _body(new) if new else "")
    (ln_o, in_o), (ln_n, in_n) = (_notes(old) if old else (set(), 0)), (_notes(new) if new else (set(), 0))
    notes_added = sorted(ln_n - ln_o) + ([f"{in_n - in_o} inline note(s)"] if in_n > in_o else [])
    notes_removed = sorted(ln_o - ln_n) + ([f"{in_o - in_n} inline note(s)"] if in_o > in_n else [])
    co, cn = (_cites(old) if old else Counter()), (_cites(new) if new else Counter())
    markings: list[MarkingChange] = []
    if old and new and old.marking != new.marking:
        markings.append(MarkingChange("chapter", "chapter", old.marking, new.marking))
    mo, mn = (_marked(old) if old else Counter()), (_marked(new) if new else Counter())
    gone, came = list((mo - mn).elements()), list((mn - mo).elements())
    for where, what, m in list(gone):
        other = next((c for c in came if c[0] == where and c[1] == what), None)
        if other is not None:  # the same block or span, another marking
            came.remove(other)
            gone.remove((where, what, m))
            markings.append(MarkingChange(where, what, m, other[2]))
    markings += [MarkingChange(w, k, m, None) for w, k, m in gone]
    markings += [MarkingChange(w, k, None, m) for w, k, m in came]
    return ChapterDiff(ch.name, ch.path, ch.title, change, "", tuple(sections), added, removed, tuple(notes_added),
                       tuple(notes_removed), tuple(sorted(set(cn) - set(co))), tuple(sorted(set(co) - set(cn))),
                       tuple(markings))


def _h1_id(ch: Chapter) -> str | None:
    return next((h.id for h in ch.headings() if h.level == 1 and h.id), None)


def diff_states(old: State, new: State) -> EditionDiff:
    """Per chapter of either state (the new nav order first, then chapters that went away)."""
    out: list[ChapterDiff] = []
    unchanged: list[str] = []
    gone = [n for n in old.chapters if n not in new.chapters]
    came = [n for n in new.chapters if n not in old.chapters]
    renamed: dict[str, str] = {}  # new name -> old name (the same level-1 heading id)
    if gone and came:
        old_ids = {_h1_id(old.chapter(n)): n for n in gone}
        for n in came:
            i = _h1_id(new.chapter(n))
            if i and i in old_ids:
                renamed[n] = old_ids.pop(i)
    for name in new.chapters:
        before = renamed.get(name, name if name in old.chapters else None)
        if before is not None and old.chapters[before][1] == new.chapters[name][1] and before == name:
            unchanged.append(name)
            continue
        d = chapter_diff(old.chapter(before) if before else None, new.chapter(name))
        if before and before != name:
            d = ChapterDiff(**{**d.__dict__, "old_name": before})
        out.append(d)
    for name in old.chapters:
        if name not in new.chapters and name not in renamed.values():
            out.append(chapter_diff(old.chapter(name), None))
    return EditionDiff(old.label, new.label, tuple(out), tuple(unchanged), tuple(sorted(new.bib_keys - old.bib_keys)),
                       tuple(sorted(old.bib_keys - new.bib_keys)))


# --------------------------------------------------------------------------- output


def _chapter_lines(d: ChapterDiff) -> list[str]:
    head = f"{d.path} — {d.title}"
    if d.change != "changed":
        head += f" ({d.change})"
    if d.old_name:
        head += f" (file renamed from {d.old_name})"
    lines = [head]
    for s in d.sections:
        label = f"#{s.id} " if s.id else ""
        if s.kind == "renamed":
            lines.append(f"  section renamed  {label}“{s.old}” → “{s.new}”")
        else:
            lines.append(f"  section {s.kind:8} {label}“{s.new or s.old}”")
    lines.append(f"  words            +{d.words_added} −{d.words_removed}")
    if d.notes_added or d.notes_removed:
        lines.append("  notes            " + ", ".join([f"+{n}" for n in d.notes_added] +
                                                      [f"−{n}" for n in d.notes_removed]))
    if d.cites_added or d.cites_removed:
        lines.append("  citations        " + ", ".join([f"+@{k}" for k in d.cites_added] +
                                                      [f"−@{k}" for k in d.cites_removed]))
    for m in d.markings:
        where = "" if m.what == "chapter" else f" {m.what} in {m.where}"
        lines.append(f"  marking{where}: {m.old or '(none)'} → {m.new or '(removed)'}")
    return lines


def diff_text(d: EditionDiff) -> str:
    lines = [f"changes from {d.old} to {d.new}"]
    if d.empty:
        return lines[0] + ": none"
    for c in d.chapters:
        lines.append("")
        lines += _chapter_lines(c)
    if d.bib_added or d.bib_removed:
        lines += ["", "bibliography     " + ", ".join([f"+@{k}" for k in d.bib_added] +
                                                     [f"−@{k}" for k in d.bib_removed])]
    lines += ["", f"{len(d.unchanged)} chapter(s) unchanged"]
    return "\n".join(lines)


def diff_html(d: EditionDiff) -> str:
    """The restricted site's page body (escaped throughout)."""
    e = html.escape
    parts = [f'<h1 id="changes">Changes from {e(d.old)} to {e(d.new)}</h1>']
    if d.empty:
        return parts[0] + "<p>No changes.</p>\n"
    for c in d.chapters:
        parts.append(f'<h2>{e(c.title)} <small>({e(c.path)}; {e(c.change)})</small></h2>')
        rows = [("words", f"+{c.words_added} −{c.words_removed}")]
        rows += [(f"section {s.kind}", (f"#{s.id} " if s.id else "") + (f"“{s.old}” → “{s.new}”" if s.kind == "renamed"
                                                                        else f"“{s.new or s.old}”")) for s in c.sections]
        if c.notes_added or c.notes_removed:
            rows.append(("notes", ", ".join([f"+{n}" for n in c.notes_added] + [f"−{n}" for n in c.notes_removed])))
        if c.cites_added or c.cites_removed:
            rows.append(("citations", ", ".join([f"+@{k}" for k in c.cites_added] + [f"−@{k}" for k in c.cites_removed])))
        for m in c.markings:
            rows.append(("marking" + ("" if m.what == "chapter" else f" ({m.what} in {m.where})"),
                         f"{m.old or '(none)'} → {m.new or '(removed)'}"))
        parts.append("<table><tbody>" + "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in rows)
                     + "</tbody></table>")
    if d.bib_added or d.bib_removed:
        parts.append("<h2>Bibliography</h2><p>" + e(", ".join([f"+@{k}" for k in d.bib_added] +
                                                               [f"−@{k}" for k in d.bib_removed])) + "</p>")
    parts.append(f"<p>{len(d.unchanged)} chapter(s) unchanged.</p>")
    return "\n".join(parts) + "\n"
