"""Live preview for authors: ``envscan serve [EDITION]``.

Assembles the edition (no PDF) into a working folder under ``build/preview/`` and serves it with
MkDocs' own live-reload server, whose watcher is the only one: on a change to a chapter, the
bibliography or mkdocs.yml it calls ``preview.PreviewSession.rebuild`` (unchanged chapters are
not parsed again), MkDocs rebuilds the site in this process and the browser reloads. A source
with errors keeps the last good pages, with the errors in a banner on top of each and in the
terminal. The preview is served on loopback (127.0.0.1) and never written to ``site/``; any
other address needs ``--expose`` and is announced with the edition it serves.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Callable

from .assets import AssetError
from .config import Edition
from .diagnostics import Diagnostic, error, has_errors
from .pipeline import assemble_checked, read_and_resolve, select_editions
from .site import write_config, write_tree


def is_loopback(host: str) -> bool:
    """True only for addresses that stay on this machine: 'localhost', 127.0.0.0/8, ::1.
    Any other name may resolve to a network interface: not loopback (fail closed)."""
    h = host.strip().strip("[]")
    if h.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def widest_edition(root: Path) -> str | None:
    """The edition ``serve`` shows by default (the one with the highest marking), from
    mkdocs.yml alone; None when it cannot be told."""
    from .config import load_config
    from .source import read_text

    src, _ = read_text(root, "mkdocs.yml")
    cfg, _ = load_config(src.text) if src is not None else (None, [])
    if cfg is None or not cfg.editions:
        return None
    return max(cfg.editions.values(), key=lambda e: cfg.scheme.rank(e.max_marking)).name


def check_host(host: str, expose: bool, edition: str | None) -> list[Diagnostic]:
    """Serving beyond loopback needs ``--expose``."""
    if is_loopback(host) or expose:
        return []
    what = f"edition {edition!r}" if edition else "the widest edition"
    return [error("E-SERVE-HOST", f"--host {host} would serve {what} to every machine that can reach this one",
                  "", 0, 0, "the preview is for authors: leave --host at 127.0.0.1 (the default)",
                  "to serve it to the network on purpose, add --expose")]


def _prepare(root: Path, edition: str | None, work: Path) -> tuple[Path | None, list[Diagnostic], Edition | None]:
    project, _, diags, _usage = read_and_resolve(root, None)
    if project is None:
        return None, diags, None
    if edition is None and project.config.editions:
        edition = max(project.config.editions.values(),
                      key=lambda e: project.config.scheme.rank(e.max_marking)).name
    eds, d = select_editions(project, [edition] if edition else None)
    diags += d
    if has_errors(diags) or not eds:
        return None, diags, None
    ae, d = assemble_checked(project, eds[0], with_pdf=False)
    diags += d
    if has_errors(diags):
        return None, diags, eds[0]
    try:
        docs = write_tree(project, ae, work)
    except AssetError as exc:
        return None, diags + exc.diagnostics, eds[0]
    return write_config(project, ae, work, docs, work / "site"), diags, eds[0]


def prepare(root: Path, edition: str | None, work: Path) -> tuple[Path | None, list[Diagnostic]]:
    """Assemble the edition (default: the one that shows the most) into ``work``, as a build
    would; returns the config path, or None when the source has errors."""
    cfg, diags, _ = _prepare(root, edition, work)
    return cfg, diags


def serve(root: Path, edition: str | None, host: str, port: int, report: Callable[[list[Diagnostic]], None],
          expose: bool = False) -> int:
    refused = check_host(host, expose, edition)
    if refused:
        report(refused)
        return 2
    from .preview import PreviewSession, run_server

    work = root / "build" / "preview"  # one preview at a time; write_tree drops what is stale
    session = PreviewSession(root, edition, work)
    first = session.rebuild()
    if first.ok:
        first.diagnostics.extend(session.render_site())
    report(first.diagnostics)
    ed = session.edition
    if not first.ok or ed is None or session.config_file is None:
        return 1
    import sys

    what = f"edition {ed.name!r} ({ed.title}, up to {ed.max_marking})"
    if is_loopback(host):
        print(f"envscan: live preview of {what} on http://{host}:{port}/ (this machine only; Ctrl-C to stop)",
              file=sys.stderr)
    else:
        print(f"envscan: WARNING: serving {what} to the network on http://{host}:{port}/ — anyone who can reach "
              "this machine can read it (Ctrl-C to stop)", file=sys.stderr)
    # the edition stays the one announced, even if mkdocs.yml changes which one is the widest
    return run_server(session, host, port, report)
