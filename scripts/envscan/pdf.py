"""The edition's PDF (WeasyPrint): cover, contents, numbered sections, CSS footnotes at the
foot of the page with the site's numbers, running marking header/footer, page numbers,
reference list, abbreviations, metadata. Built from the same page HTML as the site (note calls
become the notes themselves); no Markdown is parsed here.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from pathlib import Path

from .diagnostics import Diagnostic, error
from .model import AssembledEdition
from .render import marking_class as _slug_class
from .config import Config
from .render import asset_text

def _fix_links(body: str) -> str:
    # one document: page links become in-document anchors
    body = re.sub(r'href="[^"#]+\.(?:md|html)#', 'href="#', body)
    body = re.sub(r'href="([^"#/:]+)\.md"', lambda m: f'href="#page-{m.group(1)}"', body)
    return body


def _marking_set(label: str) -> str:
    # the running header/footer's marking (pdf.css: string-set from the attribute): no text of
    # its own in the page, so that the label is read once per page, as a pagination artifact
    return f'<span class="marking-set {_slug_class(label)}" data-marking="{html.escape(label)}"></span>'


def link_descriptions(ae: AssembledEdition) -> dict[str, str]:
    """What each in-document link target is announced as (a link annotation's Contents)."""
    out: dict[str, str] = {"cover": "Cover", "contents": "Contents"}
    for num, title, level, target in ae.sections:
        page, _, anchor = target.partition("#")
        what = ("Chapter" if level == 1 else "Section") + (f" {num}" if num else "")
        label = f"{what} {title}".strip()
        if anchor:
            out[anchor] = label
        if level == 1 and page.endswith(".md"):
            out.setdefault(f"page-{page[:-3]}", label)
    for nt in ae.notes:
        out[f"fn:{nt.number}"] = f"Note {nt.number}"
    for key, entry in ae.references_html.items():
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", entry))).strip()
        out[f"ref-{key}"] = "Reference: " + (text[:117] + "…" if len(text) > 120 else text)
    out.update({"references": "References", "abbreviations": "Abbreviations"})
    for p in ae.pages:
        for m in re.finditer(r'<figure class="envscan-figure" id="([^"]+)">.*?<span class="figure-label">([^<]+)</span>',
                             p.pdf_html, re.S):
            out[m.group(1)] = m.group(2)
    return out


def build_html(config: Config, ae: AssembledEdition, epoch: int) -> str:
    rep = config.report
    ed = ae.edition
    parts = []
    created = dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    top = max((p.marking for p in ae.pages), key=config.scheme.rank, default=ed.max_marking)
    parts.append(
        f'<section class="cover {_slug_class(top)}" id="cover">{_marking_set(top)}'
        f'<h1 class="cover-title unlisted">{html.escape(rep.title)}</h1>'
        + (f'<p class="cover-subtitle">{html.escape(rep.subtitle)}</p>' if rep.subtitle else "")
        + f'<p class="cover-edition">{html.escape(ed.title)}</p>'
        + (f'<p class="cover-period">Period covered: {html.escape(rep.period)}</p>' if rep.period else "")
        + (f'<p class="cover-author">{html.escape(rep.author)}</p>' if rep.author else "")
        + f'<p class="cover-marking {_slug_class(top)}"><span>{html.escape(top)}</span></p></section>'
    )
    toc = ['<section class="contents" id="contents"><h1 class="unlisted">Contents</h1><ul>']
    for num, title, level, target in ae.sections:
        if level > 2:
            continue
        anchor = target.split("#", 1)[1]
        if not anchor:
            continue
        toc.append(f'<li class="toc-l{level}"><a href="#{anchor}">{html.escape(config.number_prefix(num, level))}'
                   f'{html.escape(title)}</a></li>')
    toc.append("</ul></section>")
    parts.append("".join(toc))
    for p in ae.pages:
        if not p.listed:
            continue
        body = p.pdf_html
        stem = p.name[:-3]
        parts.append(f'<section class="chapter {_slug_class(p.marking)}" id="page-{stem}">{_marking_set(p.marking)}'
                     f'{_fix_links(body)}</section>')
    css = asset_text("pdf.css")
    title = f"{rep.title} — {ed.title}"
    return (
        f'<!DOCTYPE html><html lang="{html.escape(rep.language)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        + (f'<meta name="author" content="{html.escape(rep.author)}">' if rep.author else "")
        + f'<meta name="generator" content="envscan">'
        f'<meta name="dcterms.created" content="{created}"><meta name="dcterms.modified" content="{created}">'
        f"<style>{css}</style></head><body>{''.join(parts)}</body></html>"
    )


def render_pdf(config: Config, ae: AssembledEdition, dest: Path, epoch: int) -> list[Diagnostic]:
    try:
        import weasyprint
    except Exception as exc:  # noqa: BLE001 - missing system libraries
        return [error("E-PDF", f"WeasyPrint is not usable here: {exc}", "", 0, 0,
                      "install WeasyPrint and Pango, or build with --no-pdf")]
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    doc_html = build_html(config, ae, epoch)
    from .assets import PDF_BASE_URL, LocalImages

    # images come only from this edition's built site folder (re-encoded there); every other
    # fetch is refused, and a refused or unloadable resource is an error, never a silent gap
    images = LocalImages(dest.parent)
    from .pdfua import PDF_VARIANT, finish, note_tags

    try:
        # tagged PDF/UA-1 (pdfua.py): structure tree, language, title, notes as notes, artifacts
        with images.watch_log(), note_tags():
            weasyprint.HTML(string=doc_html, base_url=PDF_BASE_URL, url_fetcher=images.fetcher()).write_pdf(
                str(dest), pdf_identifier=f"envscan-{ae.edition.name}".encode(), uncompressed_pdf=False,
                pdf_variant=PDF_VARIANT)
        finish(dest, link_descriptions(ae))
    except Exception as exc:  # noqa: BLE001
        return [error("E-PDF", f"PDF rendering failed: {type(exc).__name__}: {exc}", "", 0, 0)]
    return images.diagnostics()
