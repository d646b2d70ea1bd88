"""``envscan status``: how far the next edition is, chapter by chapter.

Per chapter (in nav order): title, marking, status (front matter), owners, words, notes,
citations, warnings and errors; and the totals. Shown as a table in the terminal and, by
``envscan build``, as a page of the editions that show the scheme's highest marking only.

The page is restricted content (its owners and statuses are internal): it carries the scheme's
highest marking and is added only to editions whose ceiling reaches it, never to the PDF; every
other edition receives the sentence the page opens with as a restricted passage, so that the
leak gate stops a build into which the page escaped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from .diagnostics import ERROR, WARNING, Diagnostic
from .model import AssembledEdition, Chapter, Cite, FnDef, Page, Restricted, Source

STATUS_PAGE = "edition-status.md"
STATUS_TITLE = "Edition status"
STATEMENT = ("This status page is an internal working record for the editors of the scan and is never "
             "published in an edition below its marking.")


@dataclass(frozen=True)
class ChapterStatus:
    name: str
    path: str
    title: str
    marking: str
    status: str
    owners: tuple[str, ...]
    words: int
    notes: int
    citations: int
    warnings: int
    errors: int


@dataclass(frozen=True)
class ScanStatus:
    chapters: tuple[ChapterStatus, ...]
    other_warnings: int = 0  # not in a chapter (bibliography, mkdocs.yml)
    other_errors: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def words(self) -> int:
        return sum(c.words for c in self.chapters)

    @property
    def notes(self) -> int:
        return sum(c.notes for c in self.chapters)

    @property
    def citations(self) -> int:
        return sum(c.citations for c in self.chapters)

    @property
    def warnings(self) -> int:
        return sum(c.warnings for c in self.chapters) + self.other_warnings

    @property
    def errors(self) -> int:
        return sum(c.errors for c in self.chapters) + self.other_errors


def _words(ch: Chapter) -> int:
    runs = {(a, b): t for a, b, t in ch.texts if a >= ch.front_end and ch.text[a:b] == t}  # prose runs, once
    return sum(len(re.findall(r"\w+(?:[’'-]\w+)*", t)) for t in runs.values())


def _owners(ch: Chapter) -> tuple[str, ...]:
    o = ch.front.get("owners")
    if isinstance(o, list):
        return tuple(str(x) for x in o)
    return (str(o),) if o else ()


def collect(src: Source, diags: list[Diagnostic]) -> ScanStatus:
    rows: list[ChapterStatus] = []
    paths = {ch.path for ch in src.chapters}
    seen: set[tuple[str, str, str, str, int, int]] = set()
    counts: dict[str, list[int]] = {}
    other = [0, 0]
    for d in diags:  # each problem once, even when several editions report it
        k = (d.severity, d.code, d.message, d.path, d.line, d.col)
        if k in seen:
            continue
        seen.add(k)
        slot = counts.setdefault(d.path, [0, 0]) if d.path in paths else other
        slot[0 if d.severity == WARNING else 1] += 1 if d.severity in (WARNING, ERROR) else 0
    by_status: dict[str, int] = {}
    for ch in src.chapters:
        notes = sum(1 for n in ch.nodes if isinstance(n, FnDef)) + \
            sum(1 for n in ch.nodes if isinstance(n, Cite) and n.note is None and n.makes_note)
        cites = sum(len(n.items) for n in ch.nodes if isinstance(n, Cite))
        w, e = counts.get(ch.path, [0, 0])
        rows.append(ChapterStatus(ch.name, ch.path, ch.title, ch.marking, ch.status or "", _owners(ch), _words(ch),
                                  notes, cites, w, e))
        by_status[ch.status or "(none)"] = by_status.get(ch.status or "(none)", 0) + 1
    return ScanStatus(tuple(rows), other[0], other[1], by_status)


COLUMNS = ("chapter", "title", "marking", "status", "owners", "words", "notes", "citations", "warnings", "errors")


def _cells(c: ChapterStatus) -> list[str]:
    return [c.name, c.title, c.marking, c.status, ", ".join(c.owners), str(c.words), str(c.notes), str(c.citations),
            str(c.warnings), str(c.errors)]


def _total_cells(st: ScanStatus) -> list[str]:
    done = ", ".join(f"{k} {v}" for k, v in sorted(st.by_status.items()))
    return ["total", f"{len(st.chapters)} chapters", "", done, "", str(st.words), str(st.notes), str(st.citations),
            str(st.warnings), str(st.errors)]


def rich_table(st: ScanStatus, title: str = "") -> object:
    from rich.table import Table

    t = Table(title=title or None, show_footer=False)
    for col in COLUMNS:
        t.add_column(col, justify="right" if col in ("words", "notes", "citations", "warnings", "errors") else "left")
    for c in st.chapters:
        t.add_row(*(html.unescape(x) for x in _cells(c)))
    t.add_section()
    t.add_row(*_total_cells(st), style="bold")
    return t


def page_html(st: ScanStatus) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in _cells(c)) + "</tr>\n" for c in st.chapters)
    total = "<tr>" + "".join(f"<td><strong>{html.escape(x)}</strong></td>" for x in _total_cells(st)) + "</tr>"
    extra = f"<p>Outside the chapters: {st.other_warnings} warning(s), {st.other_errors} error(s).</p>"
    return (f'<h1 id="edition-status">{STATUS_TITLE}</h1>\n'
            f'<p class="envscan-restricted-only"><em>{html.escape(STATEMENT)}</em></p>\n'
            f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}{total}\n</tbody>\n</table>\n{extra}\n")


def add_status_page(src: Source, assembled: list[AssembledEdition], diags: list[Diagnostic]) -> None:
    """The status page for every edition that reaches the scheme's highest marking; the
    page's opening sentence as a restricted passage for every other edition. Pure."""
    from . import render as tpl

    scheme = src.config.scheme
    top = scheme.labels[-1]
    if any(ch.name == STATUS_PAGE for ch in src.chapters):
        return  # a chapter of that name wins (its page would be replaced)
    st = collect(src, diags)
    for ae in assembled:
        if scheme.rank(ae.edition.max_marking) < scheme.rank(top):
            ae.restricted.append(Restricted("RS1", STATEMENT, "envscan:status-page", top))
            continue
        page = Page(STATUS_PAGE, STATUS_TITLE, top, tpl.framed(top, page_html(st)), "", listed=True,
                    toc=[(1, "edition-status", STATUS_TITLE)], in_pdf=False)
        at = next((i for i, p in enumerate(ae.pages) if not p.listed), len(ae.pages))  # before the 404 page
        ae.pages.insert(at, page)
