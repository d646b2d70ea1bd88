"""Commands of the edition cycle: release, verify, diff, redline, edition start, bib-audit.

``COMMANDS`` are added to ``envscan.cli.main`` by ``cli`` itself (this module never imports
``cli`` at import time, so ``python -m envscan.cli`` gets them too); same conventions as the
other commands (diagnostics on stderr, exit 0 / 1 problems / 2 usage or refusal).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

import click

from .diagnostics import Diagnostic, dedupe_sorted, error, has_errors

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2

T = TypeVar("T")


def emit(diags: list[Diagnostic], fmt: str, stream: IO[str] | None = None) -> None:
    from . import cli  # imported when used: cli registers this module's commands

    cli.emit(diags, fmt, stream)


def guarded(root: Path, fmt: str, run: Callable[[], T]) -> T:
    from . import cli

    return cli.guarded(root, fmt, run)


def root_of(path: str | None) -> Path | None:
    from .project import find_root

    return find_root(Path(path or "."))


def _need_root(root: str | None) -> Path:
    r = root_of(root)
    if r is None:
        emit([error("E-CONFIG-MISSING", "no mkdocs.yml here or in any parent folder")], "text", sys.stderr)
        sys.exit(EXIT_USAGE)
    return r


def _finish(diags: list[Diagnostic], usage: bool = False) -> None:
    diags = dedupe_sorted(diags)
    emit(diags, "text", sys.stderr)
    sys.exit(EXIT_USAGE if usage else EXIT_ERRORS if has_errors(diags) else EXIT_OK)


@click.command()
@click.option("--sign-off", "sign_off", default=None, metavar="NAME",
              help="the release authority who read the redline (required)")
@click.option("--redline-sha256", "redline_sha", default=None, metavar="HASH",
              help="the hash of the redline that was read: refused if it changed since")
@click.option("--waive", multiple=True, metavar="CODE",
              help="a warning code the release authority accepts (recorded with its count in the manifest)")
@click.option("--no-pdf", is_flag=True, help="release the sites without PDFs")
@click.option("-C", "--root", "root", default=None)
def release(sign_off: str | None, redline_sha: str | None, waive: tuple[str, ...], no_pdf: bool,
            root: str | None) -> None:
    """Release the current edition: strict check, redline and sign-off, build, manifest, tag."""
    from .release import release as run

    r = _need_root(root)
    res = guarded(r, "text", lambda: run(r, sign_off, redline_sha, waive, pdf=not no_pdf))
    if res.manifest is not None:
        click.echo(f"released {res.tag}: manifest {res.manifest.relative_to(r).as_posix()}")
        click.echo(f"redline SHA-256 {res.redline_sha256} ({res.redline.relative_to(r).as_posix() if res.redline else ''})")
        for t in res.published:
            click.echo(f"published to {t}")
    _finish(res.diags, res.usage)


@click.command()
@click.argument("folder", required=False)
@click.option("-C", "--root", "root", default=None)
def verify(folder: str | None, root: str | None) -> None:
    """Re-hash a published folder (default: site/) against its release manifest."""
    from .release import verify as run

    r = _need_root(root)
    diags, lines = guarded(r, "text", lambda: run(r, Path(folder).resolve() if folder else None))
    for ln in lines:
        click.echo(ln)
    _finish(diags, any(d.code in ("E-VERIFY-MANIFEST", "E-VERIFY-FOLDER") for d in diags))


@click.command()
@click.argument("from_ref", required=False, metavar="[FROM]")
@click.argument("to_ref", required=False, metavar="[TO]")
@click.option("-C", "--root", "root", default=None)
def diff(from_ref: str | None, to_ref: str | None, root: str | None) -> None:
    """Changes per chapter between two editions or git refs (default: last release -> working tree)."""
    from .diff import diff_states, diff_text, state_from_ref, state_from_worktree
    from .vcs import GitError, edition_tags, resolve_ref

    r = _need_root(root)
    try:
        if from_ref is None:
            tags = edition_tags(r)
            if not tags:
                _finish([error("E-DIFF-REF", "no released edition to compare with (no tag edition/<year>)", "", 0, 0,
                               "name two refs: envscan diff FROM [TO]")], True)
            from_ref = tags[-1]
        old = state_from_ref(r, resolve_ref(r, from_ref))
        new = state_from_worktree(r) if to_ref in (None, "working", "WORKTREE") else \
            state_from_ref(r, resolve_ref(r, to_ref))
    except GitError as exc:
        _finish([error("E-DIFF-REF", str(exc))], True)
        return
    if old is None or new is None:
        _finish([error("E-DIFF-CONFIG", "mkdocs.yml cannot be read on one side of the diff")], True)
        return
    click.echo(diff_text(diff_states(old, new)))
    sys.exit(EXIT_OK)


@click.command()
@click.option("--no-pdf", is_flag=True)
@click.option("-C", "--root", "root", default=None)
def redline(no_pdf: bool, root: str | None) -> None:
    """Write the redline for the release authority into build/redline/ and print its hash."""
    from .pipeline import read_and_resolve
    from .redline import compute_redline, narrower, write_redline
    from .vcs import GitError, head

    r = _need_root(root)
    project, _, diags, usage = read_and_resolve(r, None)
    if project is None:
        _finish(diags, True)
        return
    try:
        commit = head(r)
    except GitError:
        commit = ""
    cfg = project.config
    widest = max(cfg.editions.values(), key=lambda e: cfg.scheme.rank(e.max_marking))
    rls = [compute_redline(project.source, widest, n, commit) for n in narrower(project.source, widest)]
    hp, pp, sha = write_redline(r, rls, cfg.report.year or "current", pdf=not no_pdf)
    click.echo(f"redline: {hp.relative_to(r).as_posix()}" + (f" and {pp.relative_to(r).as_posix()}" if pp else ""))
    click.echo(f"SHA-256 {sha}  ({sum(rl.count for rl in rls)} passage(s))")
    sys.exit(EXIT_OK)


@click.group()
def edition() -> None:
    """The edition cycle: start the next edition."""


@edition.command("start")
@click.argument("year")
@click.option("--due", default=None, metavar="YYYY-MM-DD", help="the new edition's due date (default: YEAR-12-31)")
@click.option("--force", is_flag=True, help="start although the current edition was never released")
@click.option("-C", "--root", "root", default=None)
def edition_start(year: str, due: str | None, force: bool, root: str | None) -> None:
    """Begin edition YEAR from the current one (metadata, carried-over chapters, changelog)."""
    from .lifecycle import start_edition

    r = _need_root(root)
    res = guarded(r, "text", lambda: start_edition(r, year, due, force))
    for p in res.changed:
        click.echo(f"wrote {p}")
    if res.changed:
        click.echo(f"edition {year} started: review the changes, then commit them")
    _finish(res.diags, res.usage)


@click.command("bib-audit")
@click.option("-C", "--root", "root", default=None)
def bib_audit(root: str | None) -> None:
    """Bibliography entries cited by no edition, only by older editions, or with unverified fields."""
    from .cycle import audit_text, bib_audit as run
    from .project import load_project
    from .release import load_manifests

    r = _need_root(root)
    project, diags = load_project(r)
    if project is None:
        _finish(diags, True)
        return
    released = {y: {k for o in m.outputs.values() for k in o.cited} for y, m in load_manifests(r).items()
                if y != project.config.report.year}
    click.echo(audit_text(run(project.source, released)))
    sys.exit(EXIT_OK)


COMMANDS = [release, verify, diff, redline, edition, bib_audit]
