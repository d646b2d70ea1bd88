"""Live preview for authors: ``envscan serve [EDITION]``.

Assembles the edition (no PDF) into a working folder under ``build/preview/`` and hands it to
MkDocs' own development server (live reload). A watcher re-assembles whenever a chapter, the
bibliography or mkdocs.yml changes; MkDocs then rebuilds and reloads the browser. Problems are
printed as diagnostics and the last good preview stays up. The preview is served on localhost
only and never written to ``site/``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from .diagnostics import Diagnostic, has_errors
from .pipeline import _select, assemble_checked, read_and_resolve
from .site import write_config, write_tree


def _snapshot(root: Path, docs_dir: str) -> dict[str, float]:
    files: dict[str, float] = {}
    for base in (root / docs_dir, root / "bibliography"):
        if base.is_dir():
            for p in base.rglob("*"):
                if p.is_file():
                    files[str(p)] = p.stat().st_mtime_ns
    cfg = root / "mkdocs.yml"
    if cfg.is_file():
        files[str(cfg)] = cfg.stat().st_mtime_ns
    return files


def prepare(root: Path, edition: str | None, work: Path) -> tuple[Path | None, list[Diagnostic]]:
    """Assemble the edition (default: the one that shows the most) into ``work``, as a build
    would; returns the config path, or None when the source has errors."""
    project, _, diags, _usage = read_and_resolve(root, None)
    if project is None:
        return None, diags
    if edition is None and project.config.editions:
        edition = max(project.config.editions.values(),
                      key=lambda e: project.config.scheme.rank(e.max_marking)).name
    eds, d = _select(project, [edition] if edition else None)
    diags += d
    if has_errors(diags) or not eds:
        return None, diags
    ae, d = assemble_checked(project, eds[0], with_pdf=False)
    diags += d
    if has_errors(diags):
        return None, diags
    docs = write_tree(project, ae, work)
    return write_config(project, ae, work, docs, work / "site"), diags


def watch(root: Path, edition: str | None, work: Path, report: Callable[[list[Diagnostic]], None],
          stop: threading.Event, interval: float = 0.5, docs_dir: str = "docs") -> None:
    """Re-assemble whenever a source file changes, until ``stop`` is set."""
    seen = _snapshot(root, docs_dir)
    while not stop.wait(interval):
        now = _snapshot(root, docs_dir)
        if now != seen:
            seen = now
            _, diags = prepare(root, edition, work)
            report(diags)


def serve(root: Path, edition: str | None, host: str, port: int, report: Callable[[list[Diagnostic]], None]) -> int:
    from mkdocs.commands.serve import serve as mk_serve

    work = root / "build" / "preview"  # one preview at a time; write_tree drops what is stale
    cfg_file, diags = prepare(root, edition, work)
    report(diags)
    if cfg_file is None:
        return 1
    import sys

    print(f"envscan: live preview on http://{host}:{port}/ (Ctrl-C to stop)",
          file=sys.stderr)
    stop = threading.Event()
    t = threading.Thread(target=watch, args=(root, edition, work, report, stop), daemon=True)
    t.start()
    try:
        mk_serve(config_file=str(cfg_file), livereload=True, dev_addr=f"{host}:{port}")
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
    return 0
