"""The live preview's engine (``envscan serve``): one edition, re-assembled on each change.

One watcher: MkDocs' own live-reload server (``mkdocs.livereload.LiveReloadServer``) watches
the sources (the chapters, ``bibliography/``, ``mkdocs.yml``) and calls :meth:`PreviewSession.rebuild`
when one changes. A rebuild

1. re-reads the source, re-parsing only the chapters (and bibliography) whose text changed
   (``project.load_project`` with a cache keyed by content hash);
2. resolves and assembles the served edition again (numbering and citations are edition-wide:
   these cheap stages always rerun);
3. writes ``envscan-pages.json``; MkDocs rebuilds the site in this process, its Jinja
   templates compiled once for the whole session (``template_cache``), and the browser reloads.

A source with errors keeps the last good pages and puts an error banner on top of each of them
(and prints the diagnostics in the terminal). The banner shows locations and messages only when the
served edition shows every marking of the scheme; for an edition that filters content, it
shows the location and code only, so that no message about text outside the edition reaches
its pages (the full message is in the terminal).
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .assets import AssetError
from .config import Edition, Scheme
from .diagnostics import ERROR, Diagnostic, dedupe_sorted, error, has_errors
from .site import PAGES_FILE

BANNER_CLASS = "envscan-preview-error"


class _MemoryBytecodeCache:
    """Compiled Jinja templates kept in memory for the life of the process (jinja2's
    ``BytecodeCache`` protocol). MkDocs makes a new Jinja environment for every build; with
    this cache the theme's templates are compiled once, not on every rebuild."""

    def __init__(self) -> None:
        import jinja2

        class _Cache(jinja2.BytecodeCache):
            def __init__(self) -> None:
                self.store: dict[str, bytes] = {}

            def load_bytecode(self, bucket: Any) -> None:
                data = self.store.get(bucket.key)
                if data is not None:
                    bucket.bytecode_from_string(data)

            def dump_bytecode(self, bucket: Any) -> None:
                self.store[bucket.key] = bucket.bytecode_to_string()

        self.cache = _Cache()


_TEMPLATES: _MemoryBytecodeCache | None = None


def template_cache() -> Any:
    """The process-wide Jinja bytecode cache (set on MkDocs' environment by ``mkdocs_hooks.on_env``)."""
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = _MemoryBytecodeCache()
    return _TEMPLATES.cache


def shows_everything(project_scheme: Scheme, ed: Edition) -> bool:
    """True when nothing is filtered out of the edition: its ceiling is the scheme's highest
    marking and it is a working view that shows editor notes too."""
    return bool(project_scheme.labels) and ed.max_marking == project_scheme.labels[-1] and ed.editor_notes


def error_banner(diags: list[Diagnostic], full: bool, limit: int = 20) -> str:
    """The banner put on top of every page while the source has errors."""
    errs = [d for d in dedupe_sorted(diags) if d.severity == ERROR]
    items = []
    for d in errs[:limit] if full else []:
        # a location names a file (a chapter's name can be restricted) and a message quotes
        # source: both only in an edition that shows everything
        hints = "".join(f"<br><small>hint: {html.escape(h)}</small>" for h in d.hints)
        items.append(f"<li><code>{html.escape(d.location)}</code> error[{html.escape(d.code)}]: "
                     f"{html.escape(d.message)}{hints}</li>")
    if not full:  # the codes only, each once: they name no file and quote nothing
        items = [f"<li>error[{html.escape(code)}]</li>" for code in dict.fromkeys(d.code for d in errs)]
    if full and len(errs) > limit:
        items.append(f"<li>… and {len(errs) - limit} more (see the terminal)</li>")
    note = "" if full else ("<p><small>Where and what: see the terminal (this edition does not show "
                            "everything, so the page names no file and quotes no message).</small></p>")
    return (f'<div class="{BANNER_CLASS}" role="alert" style="border:2px solid #b00020;background:#fff3f3;'
            'color:#4a0010;padding:0.8em 1em;margin:0 0 1.5em 0;font-size:0.8rem">'
            f"<p><strong>envscan: the source has {len(errs)} error(s); this page shows the last good "
            "version.</strong></p>"
            f"<ul>{''.join(items)}</ul>{note}</div>")


@dataclass
class Rebuild:
    """What one rebuild did."""

    diagnostics: list[Diagnostic]
    ok: bool  # the source assembled without errors (False: the last good pages are kept)
    seconds: float
    changed_pages: list[str] = field(default_factory=list)  # pages whose HTML changed


class PreviewSession:
    """One edition of one project, kept assembled in ``work`` for a live preview."""

    def __init__(self, root: Path, edition: str | None, work: Path) -> None:
        self.root = root
        self.edition_name = edition
        self.work = work
        self.edition: Edition | None = None
        self.config_file: Path | None = None
        self.docs_dir = "docs"
        self.full_messages = False
        self._parse_cache: dict[Any, Any] = {}  # load_project's cache (see there)
        self._ref_cache: dict[str, str] = {}
        self._good: dict[str, dict[str, Any]] | None = None  # last good pages (name -> html, toc)
        self._shown: dict[str, dict[str, Any]] = {}  # what MkDocs was last handed

    # ------------------------------------------------------------------ envscan side

    def rebuild(self) -> Rebuild:
        """Re-read, re-assemble and re-write the edition's pages; on errors keep the last good
        pages, with the error banner on top."""
        from .pipeline import assemble_checked, read_and_resolve, select_editions
        from .site import toc_tokens, write_config, write_tree

        t0 = time.perf_counter()
        project, _, diags, _usage = read_and_resolve(self.root, None, self._parse_cache)
        ae = None
        if project is not None:
            self.docs_dir = project.config.docs_dir
            cfg = project.config
            name = self.edition_name
            if name is None and cfg.editions:
                name = max(cfg.editions.values(), key=lambda e: cfg.scheme.rank(e.max_marking)).name
            eds, d = select_editions(project, [name] if name else None)
            diags += d
            if eds and not has_errors(diags):
                self.edition_name = eds[0].name
                self.edition = eds[0]
                self.full_messages = shows_everything(cfg.scheme, eds[0])
                ae, d = assemble_checked(project, eds[0], with_pdf=False, ref_cache=self._ref_cache)
                diags += d
        if project is not None and ae is not None and not has_errors(diags):
            try:
                docs = write_tree(project, ae, self.work)
            except AssetError as exc:
                diags += exc.diagnostics
            else:
                self.config_file = write_config(project, ae, self.work, docs, self.work / "site")
                pages = {p.name: {"html": p.html, "toc": toc_tokens(p.toc)} for p in ae.pages}
                self._good = pages
                changed = self._hand_over(pages)
                return Rebuild(diags, True, time.perf_counter() - t0, changed)
        if self._good is not None:  # the last good pages, each with the errors on top
            banner = error_banner(diags, self.full_messages)
            pages = {k: {"html": banner + v["html"], "toc": v["toc"]} for k, v in self._good.items()}
            changed = self._hand_over(pages)
            return Rebuild(diags, False, time.perf_counter() - t0, changed)
        return Rebuild(diags, False, time.perf_counter() - t0)

    def _hand_over(self, pages: dict[str, dict[str, Any]]) -> list[str]:
        """Write the pages file MkDocs' hooks read; returns the pages whose content changed."""
        changed = sorted(k for k in pages if self._shown.get(k) != pages[k])
        data = json.dumps(pages, ensure_ascii=False, sort_keys=True).encode("utf-8")
        path = self.work / PAGES_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        self._shown = pages
        return changed

    def watched(self) -> list[Path]:
        """The source paths whose changes trigger a rebuild."""
        out = [self.root / self.docs_dir, self.root / "bibliography", self.root / "mkdocs.yml"]
        return [p for p in out if p.exists()]

    # ------------------------------------------------------------------ MkDocs side

    def render_site(self) -> list[Diagnostic]:
        """MkDocs builds the preview site (``work/site``) from the pages handed over, in this
        process; its theme templates are compiled once per session."""
        from .site import run_mkdocs

        if self.config_file is None:
            return [error("E-SERVE", "nothing to render: the edition has not been assembled yet")]
        return run_mkdocs(self.config_file)


def run_server(session: PreviewSession, host: str, port: int, report: Callable[[list[Diagnostic]], None],
               polling_interval: float = 0.1) -> int:
    """Serve ``session`` with MkDocs' live-reload server until interrupted. MkDocs' watcher is
    the only one: it calls the rebuild on every change to the watched sources."""
    from mkdocs.livereload import LiveReloadServer

    site_dir = session.work / "site"
    site_dir.mkdir(parents=True, exist_ok=True)

    def builder() -> None:
        res = session.rebuild()
        report(res.diagnostics + [x for x in session.render_site() if x.severity == ERROR])

    server = LiveReloadServer(builder=builder, host=host, port=port, root=str(site_dir),
                              polling_interval=polling_interval)

    def error_page(code: int) -> bytes | None:
        page = site_dir / f"{code}.html"
        return page.read_bytes() if code in (404, 500) and page.is_file() else None

    server.error_handler = error_page
    for p in session.watched():
        server.watch(str(p))
    try:
        server.serve()  # type: ignore[no-untyped-call]  # mkdocs: LiveReloadServer.serve has no annotations
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0
