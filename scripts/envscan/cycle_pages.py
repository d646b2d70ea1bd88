"""Restricted-only pages of the edition cycle: the redline and the changes since the last release.

Added by ``envscan build`` (and so by ``release``) when mkdocs.yml has a ``cycle:`` block with
``pages`` on (the default). Each page carries a marking (``cycle.marking``, default: the widest
edition's) and is treated like restricted content of that marking:

* filter -- it is added only to editions whose maximum marking reaches the page's; never to a
  narrower one, and never to the PDF (``Page.in_pdf``);
* gate -- every edition that does not get the pages receives the statement each page opens with
  as a restricted passage, so a page that escaped into a narrower edition stops that build. (The
  redline's own quotations are passages the narrower edition already has: filtering removed them.)

Pure except :func:`add_cycle_pages`, which reads the last release's tree from git.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cycle import cycle_config, pages_marking
from .diagnostics import Diagnostic, warning
from .model import AssembledEdition, Page, Restricted, Source
from . import render as tpl

if TYPE_CHECKING:
    from .project import Project

REDLINE_PAGE = "release-redline.md"
CHANGES_PAGE = "release-changes.md"
STATEMENT = ("This page belongs to the restricted edition only and is never published in an edition below "
             "its marking.")
TITLES = {REDLINE_PAGE: "Redline for the release authority", CHANGES_PAGE: "Changes since the last released edition"}


def canaries(marking: str) -> list[Restricted]:
    """The gate's passage for an edition that must not carry the pages: the statement each page
    opens with (long enough for the gate's 8-word matching, and in no chapter's prose)."""
    return [Restricted("RC1", STATEMENT, "envscan:cycle-pages", marking)]


def page(name: str, marking: str, body: str, toc_id: str) -> Page:
    statement = f'<p class="envscan-restricted-only"><em>{tpl.esc(STATEMENT)}</em></p>\n'
    return Page(name, TITLES[name], marking, tpl.framed(marking, statement + body), "", listed=True,
                toc=[(1, toc_id, TITLES[name])], in_pdf=False)


def cycle_pages(src: Source, assembled: list[AssembledEdition], diff_body: str | None, commit: str = "") -> list[Diagnostic]:
    """Add the pages to the editions that may carry them; canaries to the others. Pure."""
    from .redline import compute_redline, narrower, redline_html

    cyc, _ = cycle_config(src.config)
    if not (cyc.configured and cyc.pages):
        return []
    marking = pages_marking(src.config, cyc)
    scheme = src.config.scheme
    diags: list[Diagnostic] = []
    names = {ch.name for ch in src.chapters}
    for ae in assembled:
        if scheme.rank(ae.edition.max_marking) < scheme.rank(marking):
            ae.restricted.extend(canaries(marking))
            continue
        new: list[Page] = []
        for name, body, toc_id in (
                (REDLINE_PAGE, redline_html([compute_redline(src, ae.edition, n, commit)
                                             for n in narrower(src, ae.edition)]), "redline-top"),
                (CHANGES_PAGE, diff_body, "changes")):
            if body is None:
                continue
            if name in names:
                diags.append(warning("W-CYCLE-PAGE", f"a chapter is named {name}: the generated page is left out",
                                     src.config.path, 0, 0, "rename the chapter"))
                continue
            new.append(page(name, marking, body, toc_id))
        at = next((i for i, p in enumerate(ae.pages) if not p.listed), len(ae.pages))  # before the 404 page
        ae.pages[at:at] = new
    return diags


def add_cycle_pages(project: Project, assembled: list[AssembledEdition]) -> list[Diagnostic]:
    """The I/O end: the changes page compares the last release (its git tag) with this source."""
    cyc, _ = cycle_config(project.config)
    if not (cyc.configured and cyc.pages):
        return []
    from .vcs import GitError, edition_tags, head, is_repo

    diff_body = None
    commit = ""
    if is_repo(project.root):
        try:
            commit = head(project.root)
            tags = [t for t in edition_tags(project.root) if t != f"edition/{project.config.report.year}"]
            if tags:
                from .diff import diff_html, diff_states, state_from_project, state_from_ref

                old = state_from_ref(project.root, tags[-1])
                if old is not None:
                    diff_body = diff_html(diff_states(old, state_from_project(project)))
        except GitError:
            pass
    return cycle_pages(project.source, assembled, diff_body, commit)
