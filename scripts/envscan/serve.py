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

import yaml

from .diagnostics import Diagnostic, has_errors
from .edition import assemble
from .pipeline import _select, source_leak_check
from .project import load_project
from .resolve import resolve
from .site import _Dumper, asset_text, edition_config


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
    """Assemble the edition into ``work`` (docs/ + mkdocs.yml); returns the config path or None."""
    project, diags = load_project(root)
    if project is None:
        return None, diags
    diags += resolve(project)
    if edition is None and project.config.editions:  # default: the edition that shows the most
        edition = max(project.config.editions.values(),
                      key=lambda e: project.config.scheme.rank(e.max_marking)).name
    eds, d = _select(project, [edition] if edition else None)
    diags += d
    if has_errors(diags) or not eds:
        return None, diags
    ae, d = assemble(project, eds[0], with_pdf=False)
    diags += d
    if not has_errors(d):
        diags += source_leak_check(project, ae)
    if has_errors(diags):
        return None, diags
    docs = work / "docs"
    (docs / "assets").mkdir(parents=True, exist_ok=True)
    wanted = {p.name for p in ae.pages} | {"assets/envscan.css"} | set(ae.assets)
    for p in ae.pages:
        _write_if_changed(docs / p.name, p.site_md.encode("utf-8"))
    _write_if_changed(docs / "assets" / "envscan.css", asset_text("envscan.css").encode("utf-8"))
    src_docs = project.root / project.config.docs_dir
    for a in ae.assets:
        (docs / a).parent.mkdir(parents=True, exist_ok=True)
        _write_if_changed(docs / a, (src_docs / a).read_bytes())
    for f in list(docs.rglob("*")):
        if f.is_file() and f.relative_to(docs).as_posix() not in wanted:
            f.unlink()  # a page or asset no longer in the edition
    cfg = edition_config(project, ae, docs, work / "site")
    cfg_file = work / "mkdocs.yml"
    _write_if_changed(cfg_file, yaml.dump(cfg, Dumper=_Dumper, sort_keys=False, allow_unicode=True).encode("utf-8"))
    return cfg_file, diags


def _write_if_changed(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


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

    project, _ = load_project(root)
    if edition is None and project is not None and project.config.editions:
        edition = max(project.config.editions.values(),
                      key=lambda e: project.config.scheme.rank(e.max_marking)).name
    work = root / "build" / "preview" / (edition or "default")
    cfg_file, diags = prepare(root, edition, work)
    report(diags)
    if cfg_file is None:
        return 1
    import sys

    print(f"envscan: live preview of {cfg_file.parent.name!r} on http://{host}:{port}/ (Ctrl-C to stop)",
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
