"""The redline for the release authority: what each narrower edition takes out. Pure, except
:func:`write_redline` (the I/O end).

For a wide edition (the restricted one) and each narrower edition (the public one), chapter by
chapter, every passage the wide edition shows and the narrow one removes or replaces: its kind
(chapter, block, span), its marking, its source position, its text (highlighted), and side by
side the tearline that replaces it in the narrow edition (or "removed, no replacement"). Works
the narrow edition may not name are listed too. The redline's SHA-256 is what a sign-off
records (``envscan release --sign-off NAME``).
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

from .config import Edition
from .edition import Visibility, text_in
from .model import Chapter, Source


@dataclass(frozen=True)
class Passage:
    kind: str  # chapter | block | span
    marking: str
    path: str
    line: int
    col: int
    text: str  # as the wide edition shows it (plain text)
    replacement: str  # the narrow edition's tearline text ("" when removed without one)


@dataclass(frozen=True)
class ChapterRedline:
    path: str
    title: str
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class Redline:
    wide: str  # edition names
    narrow: str
    year: str
    commit: str
    chapters: tuple[ChapterRedline, ...]
    sources_withheld: tuple[tuple[str, str], ...]  # (key, marking) of works the narrow edition may not name

    @property
    def count(self) -> int:
        return sum(len(c.passages) for c in self.chapters)


def _chapter_passages(ch: Chapter, wide: Visibility, narrow: Visibility) -> list[Passage]:
    if not narrow.visible(ch.root):
        return [Passage("chapter", ch.marking, ch.path, 1, 1, text_in(ch, 0, len(ch.text)), "")]
    out = []
    for r in ch.regions[1:]:
        if r.tearline or r.editor or not wide.visible(r) or narrow.visible(r):
            continue
        if r.parent is not None and not narrow.visible(r.parent):
            continue  # inside a passage already listed
        tears = [c for c in r.children if c.tearline and narrow.visible(c)]
        text = text_in(ch, r.start, r.end, [(c.start, c.end) for c in r.children if c.tearline])
        replacement = " ".join(text_in(ch, c.start, c.end) for c in tears)
        out.append(Passage("block" if r.kind == "div" else "span", wide.eff(r), ch.path, r.line, r.col, text,
                           replacement))
    return out


def compute_redline(src: Source, wide: Edition, narrow: Edition, commit: str = "") -> Redline:
    vw, vn = Visibility(src, wide), Visibility(src, narrow)
    chapters = []
    for ch in src.chapters:
        if not vw.visible(ch.root):
            continue
        ps = _chapter_passages(ch, vw, vn)
        if ps:
            chapters.append(ChapterRedline(ch.path, ch.title, tuple(ps)))
    scheme = src.config.scheme
    withheld = tuple(sorted((k, m) for k, m in src.bib.markings.items()
                            if k in src.bib.entries and scheme.rank(m) > scheme.rank(narrow.max_marking)
                            and scheme.rank(m) <= scheme.rank(wide.max_marking)))
    return Redline(wide.name, narrow.name, src.config.report.year, commit, tuple(chapters), withheld)


def narrower(src: Source, wide: Edition) -> list[Edition]:
    """Editions that show less than ``wide`` (no working views)."""
    scheme = src.config.scheme
    return [e for e in src.config.editions.values()
            if scheme.rank(e.max_marking) < scheme.rank(wide.max_marking) and not e.editor_notes]


def redline_html(rls: list[Redline]) -> str:
    """Body HTML (the site page and the standalone file share it)."""
    e = html.escape
    parts = []
    for rl in rls:
        parts.append(f'<h1 id="redline-{e(rl.narrow)}">Redline: what the {e(rl.narrow)} edition removes</h1>')
        facts = [f"Edition {rl.year}" if rl.year else "", f"source commit {rl.commit[:12]}" if rl.commit else "",
                 f"{rl.count} passage(s) removed or replaced"]
        parts.append(f'<p class="envscan-redline-facts">{e(" · ".join(x for x in facts if x))}. Highlighted: the '
                     f"{e(rl.wide)} edition's text; beside it, what the {e(rl.narrow)} edition shows instead.</p>")
        if not rl.chapters:
            parts.append(f"<p>The {e(rl.narrow)} edition removes nothing.</p>")
        for c in rl.chapters:
            parts.append(f"<h2>{e(c.title)} <small>({e(c.path)})</small></h2>")
            rows = []
            for p in c.passages:
                repl = f"<td>{e(p.replacement)}</td>" if p.replacement else \
                    '<td class="envscan-redline-none"><em>removed, no replacement</em></td>'
                rows.append(f"<tr><td>{e(p.path)}:{p.line}:{p.col}<br>{e(p.kind)}</td><td>{e(p.marking)}</td>"
                            f'<td><mark class="envscan-redline">{e(p.text)}</mark></td>{repl}</tr>')
            parts.append(f'<table class="envscan-redline-table"><thead><tr><th>Source</th><th>Marking</th>'
                         f"<th>{e(rl.wide.capitalize())} edition</th><th>{e(rl.narrow.capitalize())} edition "
                         "(tearline)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
        if rl.sources_withheld:
            parts.append(f"<h2>Sources the {e(rl.narrow)} edition may not name</h2><ul>" +
                         "".join(f"<li>@{e(k)} ({e(m)})</li>" for k, m in rl.sources_withheld) + "</ul>")
    return "\n".join(parts) + "\n"


_CSS = ("body{font-family:sans-serif;font-size:10pt}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #999;padding:4px;vertical-align:top}mark{background:#ffd6d6}"
        "@page{size:A4 landscape;margin:15mm}")


def standalone_html(rls: list[Redline], title: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body>{redline_html(rls)}</body></html>\n")


def redline_sha256(doc: str) -> str:
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def write_redline(root: Path, rls: list[Redline], year: str, pdf: bool = True) -> tuple[Path, Path | None, str]:
    """``build/redline/redline-<year>.html`` (and ``.pdf``): outside every published folder.
    Returns (html path, pdf path or None, SHA-256 of the HTML)."""
    out = root / "build" / "redline"
    out.mkdir(parents=True, exist_ok=True)
    doc = standalone_html(rls, f"Redline {year}")
    hp = out / f"redline-{year}.html"
    hp.write_text(doc, encoding="utf-8")
    pp = None
    if pdf:
        try:
            import weasyprint

            pp = out / f"redline-{year}.pdf"
            weasyprint.HTML(string=doc).write_pdf(str(pp))
        except Exception:  # noqa: BLE001 - the HTML is the record; the PDF is a convenience
            pp = None
    return hp, pp, redline_sha256(doc)
