"""The pipeline end to end: read -> parse -> resolve -> per edition assemble -> write -> verify.

``check_project`` stops before writing; ``build_project`` writes each edition into a fresh
temporary folder, renders it, runs the leak gate over every output file, and only then
swaps it into ``site/<edition>/``. A failure leaves the previous output untouched.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .diagnostics import Diagnostic, error, has_errors

if TYPE_CHECKING:
    from .config import Edition
    from .model import AssembledEdition
    from .project import Project
    from .site import ForkedMkDocs, InProcessMkDocs

# The core (project, resolve, edition) is imported where it is used: `envscan build` starts its
# MkDocs worker before the core is imported, so that the two imports overlap.


def select_editions(project: Project, names: list[str] | None) -> tuple[list[Edition], list[Diagnostic]]:
    eds = project.config.editions
    if not names:
        return list(eds.values()), []
    out, diags = [], []
    for n in names:
        if n not in eds:
            diags.append(error("E-USAGE-EDITION", f"no edition named {n!r}", "mkdocs.yml", 0, 0,
                               f"editions: {', '.join(eds)}"))
        else:
            out.append(eds[n])
    return out, diags


def source_leak_check(project: Project, ae: AssembledEdition) -> list[Diagnostic]:
    """Restricted text that also stands in the edition's visible text (an author's copy-paste).

    Reported where the visible copy is (found by bisecting the chapter's visible text runs),
    naming the restricted passage it repeats; never quoting either."""
    if not ae.restricted:
        return []  # nothing to repeat
    # text only: the matcher, without the gate's file readers (gate.scan, gate.extract)
    from .gate.match import Matcher

    gate = Matcher(ae.restricted, project.config.gate_allow)
    diags = []
    for page in ae.pages:
        ch = page.chapter
        if ch is None:
            continue
        runs = page.visible_runs
        for f in gate.scan_text(page.visible_text, ch.path):
            # the shortest prefix of runs that still holds the copy ends at the copy
            lo, hi = 0, len(runs) - 1
            while lo < hi:
                mid = (lo + hi) // 2
                prefix = "\n".join(t for _, t in runs[: mid + 1])
                if any(g.restricted_id == f.restricted_id for g in gate.scan_text(prefix, ch.path)):
                    hi = mid
                else:
                    lo = mid + 1
            line, col = ch.pos(runs[lo][0]) if runs else (0, 0)
            diags.append(Diagnostic(
                "error", "E-LEAK-SOURCE",
                f"visible text repeats restricted passage {f.restricted_id} ({f.origin})",
                ch.path, line, col,
                ("remove the copy from the visible text, or mark it too; a legitimate overlap goes in "
                 "mkdocs.yml envscan: gate: allow: with a reason",), ae.edition.name))
    return diags


def read_and_resolve(root: Path, editions: list[str] | None,
                     cache: dict[Any, Any] | None = None) -> tuple[Project | None, list[Edition], list[Diagnostic], bool]:
    """Read and resolve the whole source and select the editions. Returns (project or None
    when nothing can go on, editions, diagnostics, usage error). ``cache``: see load_project."""
    from .project import load_project
    from .resolve import resolve

    project, diags = load_project(root, cache)
    if project is None:
        return None, [], diags, True
    diags += resolve(project.source)
    from .summary import policy_diagnostics
    from .terminology import check_terms

    diags += check_terms(project.source) + policy_diagnostics(project.config)
    eds, d = select_editions(project, editions)
    diags += d
    if d:
        return None, [], diags, True
    return project, eds, diags, False


def assemble_checked(project: Project, ed: Edition, **kw: Any) -> tuple[AssembledEdition, list[Diagnostic]]:
    """An edition assembled, then its visible text checked for copies of restricted text."""
    from .edition import assemble

    ae, d = assemble(project.source, ed, **kw)
    if not has_errors(d):
        d = d + source_leak_check(project, ae)
    return ae, d


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the source is read and assembled: what is made then
    stays alive to the end (there is next to no garbage to find), and the collector's passes over
    the growing token trees cost a fifth of the time of a large scan."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def check_project(root: Path, editions: list[str] | None = None) -> tuple[list[Diagnostic], bool]:
    with _gc_paused():
        project, eds, diags, usage = read_and_resolve(root, editions)
        if project is None:
            return diags, usage
        for ed in eds:  # (no PDF variant of the pages: check writes nothing)
            diags += assemble_checked(project, ed, render=False, with_pdf=False)[1]
        from .cycle import cycle_checks

        return diags + cycle_checks(project.source), False


def source_date_epoch(root: Path) -> int:
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env and env.isdigit():
        return int(env)
    import subprocess

    try:
        out = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%ct"], capture_output=True, text=True,
                             timeout=10)
        if out.returncode == 0 and out.stdout.strip().isdigit():
            return int(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return 0


def _load_cache(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_cache(path: Path, cache: dict[str, str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(sorted(cache.items())), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str], None]]:
    if quiet:
        yield lambda msg: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("envscan") as status:
        t0 = time.perf_counter()

        def step(msg: str) -> None:
            status.update(f"{msg}")
            console.log(f"{msg}", highlight=False) if os.environ.get("ENVSCAN_VERBOSE") else None

        yield step
        console.print(f"[dim]done in {time.perf_counter() - t0:.2f} s[/dim]", highlight=False)


def build_project(root: Path, editions: list[str] | None = None, pdf: bool = True, strict: bool = False,
                  out: Path | None = None, quiet: bool = False) -> tuple[list[Diagnostic], bool]:
    from .site import mkdocs_runner

    runner = mkdocs_runner()  # first: its start-up overlaps with reading and assembling
    try:
        return _build(root, editions, pdf, strict, out, quiet, runner)
    finally:
        runner.close()


def _build(root: Path, editions: list[str] | None, pdf: bool, strict: bool, out: Path | None, quiet: bool,
           runner: InProcessMkDocs | ForkedMkDocs) -> tuple[list[Diagnostic], bool]:
    from .site import render_edition

    from .outputs import clean_stale, validate_out

    with _gc_paused():
        project, eds, diags, usage = read_and_resolve(root, editions)
    if project is None:
        return diags, usage
    # where the editions go is checked before anything is written (fail closed outside the sources)
    out = out or (root / "site")
    bad = validate_out(root, out, [e.name for e in eds], docs_dir=project.config.docs_dir,
                       all_editions=list(project.config.editions))
    if bad:
        return diags + bad, True
    out = Path(os.path.abspath(out)).resolve()
    if has_errors(diags) or (strict and diags):
        return diags, False
    clean_stale(root, out)  # temporary trees of builds that died
    epoch = source_date_epoch(root)
    with _progress(quiet) as step:
        assembled = []
        cache_file = root / "build" / "cache" / "references.json"
        ref_cache = _load_cache(cache_file)
        n_cached = len(ref_cache)
        for ed in eds:
            step(f"assembling {ed.name}")
            with _gc_paused():
                ae, d = assemble_checked(project, ed, with_pdf=pdf, ref_cache=ref_cache)
            diags += d
            assembled.append(ae)
        if has_errors(diags):
            return diags, False
        from .cycle_pages import add_cycle_pages

        diags += add_cycle_pages(project, assembled)  # restricted-only pages of the edition cycle
        from .status import add_status_page

        add_status_page(project.source, assembled, diags)  # restricted-only page: how far the edition is
        if len(ref_cache) != n_cached:
            _save_cache(cache_file, ref_cache)
        for ae in assembled:
            d = render_edition(project, ae, out, epoch, pdf=pdf and project.config.pdf_enabled and ae.edition.pdf,
                               step=step, runner=runner)
            diags += d
            if has_errors(d):
                break
    return diags, False
