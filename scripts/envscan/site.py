"""Write an assembled edition and render it (the output end): MkDocs site, PDF, gate, swap.

MkDocs never parses a source: it is handed placeholder pages (front matter only) in a
temporary folder with a generated config (no repo_url/edit_uri, no git plugins, no Markdown
extensions), and envscan's hooks (``mkdocs_hooks``) supply each page's HTML and table of contents,
rendered by ``render`` from the filtered tree. MkDocs still does nav, theme, search and sitemap.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import os
import shutil
from pathlib import Path

from typing import TYPE_CHECKING, Any, Callable

from .diagnostics import Diagnostic, error, warning

if TYPE_CHECKING:
    from .model import AssembledEdition
    from .project import Project

# The core (edition, project, render, assets) and yaml are imported where they are used: `envscan
# build` imports this module first, to start the MkDocs worker before it reads the source.

THEME_KEYS = {"name", "language", "features", "palette", "icon", "logo", "favicon"}




def edition_config(project: Project, ae: AssembledEdition, docs: Path, site: Path) -> dict[str, Any]:
    raw = project.config.raw
    rep = project.config.report
    theme_raw = raw.get("theme") or {}
    theme = {k: v for k, v in theme_raw.items() if k in THEME_KEYS} if isinstance(theme_raw, dict) else {}
    theme.setdefault("name", "material")
    theme["font"] = False  # no Google Fonts: the site works offline
    theme.setdefault("language", rep.language)
    nav = [{p.title: p.name} for p in ae.pages if p.listed]
    return {
        "site_name": f"{rep.title} — {ae.edition.title}",
        "site_description": raw.get("site_description", ""),
        "copyright": f"{ae.edition.title} · {ae.edition.max_marking}" + (f" · {raw['copyright']}" if raw.get("copyright") else ""),
        "docs_dir": str(docs),
        "site_dir": str(site),
        "use_directory_urls": False,
        "theme": theme,
        "markdown_extensions": [],  # MkDocs renders no source: pages arrive as HTML through the hooks
        "hooks": [str(Path(__file__).with_name("mkdocs_hooks.py"))],
        "plugins": [{"search": {"lang": rep.language}}],
        "extra_css": ["assets/envscan.css"],
        "extra_javascript": ["assets/envscan.js"],  # keyboard access to tables that scroll sideways
        "nav": nav,
        "strict": False,
        "validation": {"links": {"not_found": "warn", "anchors": "info", "unrecognized_links": "info"}},
        **_version_selector(project),
    }


def _version_selector(project: Project) -> dict[str, Any]:
    """Sites published side by side (``cycle: publish:``) get mkdocs-material's version selector;
    it reads ``../versions.json``, which ``envscan release`` writes in mike's format."""
    from .cycle import cycle_config

    return {"extra": {"version": {"provider": "mike"}}} if cycle_config(project.config)[0].version_selector else {}


# --------------------------------------------------------------------------- assets

def strip_metadata(data: bytes, name: str) -> bytes:
    """The image ``name`` (``docs/figures/chart.png``) decoded and re-encoded from its pixels
    (``envscan.assets``): no text, profile, private chunk, comment or trailing data survives.
    Raises ``assets.AssetError``, carrying file-named diagnostics, for SVG, unknown types and
    damaged or oversized images."""
    from .assets import publishable

    return publishable(data, name)


# --------------------------------------------------------------------------- mkdocs

class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def run_mkdocs(config_file: Path) -> list[Diagnostic]:
    from mkdocs.commands.build import build as mk_build
    from mkdocs.config import load_config as mk_load
    from mkdocs.exceptions import MkDocsException

    log = logging.getLogger("mkdocs")
    handler = _Collect()
    log.addHandler(handler)
    old_level = log.level
    log.setLevel(logging.WARNING)
    old_propagate = log.propagate
    log.propagate = False
    diags: list[Diagnostic] = []
    try:
        cfg = mk_load(config_file=str(config_file))
        mk_build(cfg)
    except MkDocsException as exc:
        diags.append(error("E-RENDER", f"MkDocs failed: {exc}", str(config_file.name)))
    except Exception as exc:  # noqa: BLE001 - renderer crash must not become a traceback
        diags.append(error("E-RENDER", f"MkDocs failed: {type(exc).__name__}: {exc}", str(config_file.name)))
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
        log.propagate = old_propagate
    for r in handler.records:
        msg = r.getMessage()
        diags.append((error if r.levelno >= logging.ERROR else warning)("W-RENDER" if r.levelno < logging.ERROR
                                                                        else "E-RENDER", f"MkDocs: {msg}"))
    return diags


def _mkdocs_in_env(config_file: Path, epoch: int) -> list[Diagnostic]:
    old_epoch = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        return run_mkdocs(config_file)
    finally:
        if old_epoch is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old_epoch


class InProcessMkDocs:
    """Runs MkDocs in this process."""

    def run(self, config_file: Path, epoch: int, while_waiting: Callable[[], Any] | None = None) -> list[Diagnostic]:
        return _mkdocs_in_env(config_file, epoch)

    def close(self) -> None:
        pass


def _mkdocs_worker(conn: Any) -> None:
    # warm MkDocs, the theme and the search plugin while the parent reads and assembles
    try:
        import mkdocs.commands.build  # noqa: F401
        import mkdocs.config  # noqa: F401
        import mkdocs.contrib.search  # noqa: F401  # pyflakes: warm-up imports

        try:
            import material.plugins.search.plugin  # noqa: F401
        except ImportError:
            pass
    except Exception:  # noqa: BLE001 - run_mkdocs reports import problems itself
        pass
    _warm_templates(conn)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        cfg, epoch = msg
        conn.send(_mkdocs_in_env(Path(cfg), epoch))


def _warm_templates(conn: Any) -> None:
    """Compile the material theme's page templates into the process-wide bytecode cache that
    ``mkdocs_hooks.on_env`` hands MkDocs (``preview.template_cache``), in a Jinja environment made
    by the theme itself (``Theme.get_env``, as MkDocs makes it), while the parent is still reading
    and assembling. Stops as soon as a build is asked for: the build compiles what is left."""
    try:
        import material
        from mkdocs.theme import Theme

        from .preview import template_cache

        templates = Path(material.__file__).parent / "templates"
        env = Theme(name="material").get_env()
        if str(templates) not in getattr(env.loader, "searchpath", ()):
            return  # not the theme this warms
        env.bytecode_cache = template_cache()
        names = ["main.html", "base.html", "404.html", "sitemap.xml"]
        for d, dirs, files in os.walk(templates / "partials"):
            dirs[:] = sorted(x for x in dirs if x != "languages")  # one language, below
            names += sorted(Path(d, f).relative_to(templates).as_posix() for f in files if f.endswith(".html"))
        names.append("partials/languages/en.html")
    except Exception:  # noqa: BLE001 - only a warm-up: the build compiles what it needs
        return
    for name in names:
        if conn.poll():
            return
        try:
            env.get_template(name)
        except Exception:  # noqa: BLE001
            pass


class ForkedMkDocs:
    """MkDocs in a forked worker that starts importing at once, so that on a machine with
    two or more cores its start-up overlaps with reading, parsing and assembling the source.
    Same renderer, same generated config, same output."""

    def __init__(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_mkdocs_worker, args=(child,), daemon=True)
        self._proc.start()
        child.close()

    def run(self, config_file: Path, epoch: int, while_waiting: Callable[[], Any] | None = None) -> list[Diagnostic]:
        try:
            self._conn.send((str(config_file), epoch))
            while while_waiting is not None and not self._conn.poll(0.05):
                while_waiting()  # this core is free while the worker renders
            result: list[Diagnostic] = self._conn.recv()
            return result
        except (EOFError, OSError) as exc:
            return [error("E-RENDER", f"the MkDocs worker stopped unexpectedly ({type(exc).__name__})")]

    def close(self) -> None:
        try:
            self._conn.send(None)
        except (OSError, ValueError):
            pass
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.terminate()
        self._conn.close()


def mkdocs_runner() -> InProcessMkDocs | ForkedMkDocs:
    """The forked runner where fork exists and more than one core is available."""
    import multiprocessing

    if os.environ.get("ENVSCAN_PARALLEL", "1") != "0" and (os.cpu_count() or 1) > 1 \
            and "fork" in multiprocessing.get_all_start_methods():
        try:
            return ForkedMkDocs()
        except OSError:
            pass
    return InProcessMkDocs()


def toc_tokens(toc: list[tuple[int, str, str]]) -> list[dict[str, Any]]:
    """A page's headings as MkDocs' TOC tokens (nested by level; names HTML-escaped)."""
    root: list[dict[str, Any]] = []
    stack: list[tuple[int, dict[str, Any]]] = []
    for level, hid, title in toc:
        tok = {"level": level, "id": hid, "name": html.escape(title), "children": []}
        while stack and stack[-1][0] >= level:
            stack.pop()
        (stack[-1][1]["children"] if stack else root).append(tok)
        stack.append((level, tok))
    return root


def placeholder(title: str, search: bool = True) -> bytes:
    """The Markdown file MkDocs is handed for a page: front matter only. Its content comes,
    already rendered, from the edition through the hooks (``mkdocs_hooks``)."""
    meta = f"title: {json.dumps(title, ensure_ascii=False)}\n" + ("" if search else "search:\n  exclude: true\n")
    return f"---\n{meta}---\n".encode("utf-8")


PAGES_FILE = "envscan-pages.json"


def write_tree(project: Project, ae: AssembledEdition, work: Path) -> Path:
    """Write the edition's docs tree under ``work``: placeholder pages, the rendered pages
    (``envscan-pages.json``, beside the tree: HTML and TOC per page), envscan's stylesheet, and
    the referenced images re-encoded. Files already holding the same bytes are left alone and
    files no longer in the edition are removed, so a live preview can rewrite the same folder."""
    from .assets import AssetError
    from .render import asset_text

    docs = work / "docs"
    rendered = {p.name: {"html": p.html, "toc": toc_tokens(p.toc)} for p in ae.pages}
    _write_if_changed(work / PAGES_FILE, json.dumps(rendered, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    files = {p.name: placeholder(p.title, search=p.listed) for p in ae.pages}
    files["assets/envscan.css"] = asset_text("envscan.css").encode("utf-8")
    files["assets/envscan.js"] = asset_text("envscan.js").encode("utf-8")
    src_docs = project.root / project.config.docs_dir
    problems: list[Diagnostic] = []
    for a in ae.assets:  # every image is reported, then the build stops
        try:
            files[a] = strip_metadata((src_docs / a).read_bytes(), (Path(project.config.docs_dir) / a).as_posix())
        except AssetError as exc:
            problems += exc.diagnostics
    if problems:
        raise AssetError(problems)
    for rel, data in files.items():
        _write_if_changed(docs / rel, data)
    if docs.is_dir():
        for f in list(docs.rglob("*")):
            if f.is_file() and f.relative_to(docs).as_posix() not in files:
                f.unlink()
    return docs


def write_config(project: Project, ae: AssembledEdition, work: Path, docs: Path, site: Path) -> Path:
    """The edition's generated MkDocs config, beside its docs tree."""
    import yaml

    from .config import ConfigDumper

    cfg_file = work / "mkdocs.yml"
    cfg = edition_config(project, ae, docs, site)
    _write_if_changed(cfg_file, yaml.dump(cfg, Dumper=ConfigDumper, sort_keys=False, allow_unicode=True).encode("utf-8"))
    return cfg_file


def _write_if_changed(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def sanitisation_report(ae: AssembledEdition) -> dict[str, Any]:
    kinds: dict[str, dict[str, int]] = {}
    for r in ae.removed:
        k = kinds.setdefault(r.kind, {"count": 0, "words": 0})
        k["count"] += 1
        k["words"] += r.words
    return {
        "edition": ae.edition.name,
        "max_marking": ae.edition.max_marking,
        "pages": [p.name for p in ae.pages],
        "notes": len(ae.notes),
        "known_gaps": sum(1 for n in ae.notes if n.gap),
        "sources_cited": len(ae.references),
        "sections": len(ae.sections),
        "assets": ae.assets,
        "restricted_passages_gated": len(ae.restricted),
        "removed": [r.__dict__ for r in ae.removed],
        "totals": kinds,
    }


def report_markdown(rep: dict[str, Any]) -> str:
    lines = [f"# Sanitisation report — edition `{rep['edition']}` (max {rep['max_marking']})", "",
             f"- pages: {len(rep['pages'])}; notes: {rep['notes']} (known gaps {rep['known_gaps']}); "
             f"sources cited: {rep['sources_cited']}; numbered/unnumbered sections: {rep['sections']}",
             f"- assets published: {len(rep['assets'])}", f"- restricted passages checked by the leak gate: "
             f"{rep['restricted_passages_gated']}", "", "## Totals", "", "| kind | count | words |", "|---|---|---|"]
    for k, v in sorted(rep["totals"].items()):
        lines.append(f"| {k} | {v['count']} | {v['words']} |")
    lines += ["", "## Removed or replaced", "", "| where | marking | kind | words |", "|---|---|---|---|"]
    for r in rep["removed"]:
        lines.append(f"| {r['origin']} | {r['marking']} | {r['kind']} | {r['words']} |")
    return "\n".join(lines) + "\n"


def _swap(new: Path, dest: Path, edition: str) -> None:
    """Put the rendered site ``new`` in place of ``dest``, which is replaced only when envscan
    created it (its marker names this edition); the marker goes into ``new`` first. ``new``
    may sit on another filesystem (build/tmp/ vs --out): it is then copied beside ``dest``
    first, so that the replacement itself stays one rename."""
    from .outputs import OutputRefused, marker_edition, staging_dir, write_marker

    write_marker(new, edition)
    if dest.is_symlink() or (dest.exists() and marker_edition(dest) != edition):
        raise OutputRefused(f"{dest} was not created by envscan for edition {edition!r}; it is left untouched")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = None
    if os.stat(new).st_dev != os.stat(dest.parent).st_dev:
        staged = staging_dir(dest.parent, edition) / "site"
        shutil.copytree(new, staged, symlinks=True)
        new = staged
    old = dest.with_name(dest.name + ".old")
    try:
        if old.exists() or old.is_symlink():
            if old.is_symlink() or marker_edition(old) != edition:
                raise OutputRefused(f"{old} was not created by envscan; it is left untouched")
            shutil.rmtree(old)
        if dest.exists():
            os.replace(dest, old)
        try:
            os.replace(new, dest)
        except OSError:
            if old.exists():
                os.replace(old, dest)  # put the previous output back
            raise
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staged is not None:
            shutil.rmtree(staged.parent, ignore_errors=True)


def render_edition(project: Project, ae: AssembledEdition, out: Path, epoch: int, pdf: bool, step: Callable[[str], Any],
                   runner: InProcessMkDocs | ForkedMkDocs | None = None) -> list[Diagnostic]:
    from .assets import AssetError
    from .gate import Gate
    from .outputs import OutputRefused, new_work_dir, reports_dir

    diags: list[Diagnostic] = []
    name = ae.edition.name
    # temporary work under build/tmp/, never under --out: a build killed half-way leaves no
    # edition text beside the published folders (the next build removes the dead tree)
    work = new_work_dir(project.root, name)
    try:
        step(f"writing {name}")
        try:
            docs = write_tree(project, ae, work)
        except AssetError as exc:  # an image that cannot be published: named errors, nothing written
            return diags + [dataclasses.replace(d, edition=name) for d in exc.diagnostics]
        site = work / "site"
        cfg_file = write_config(project, ae, work, docs, site)
        step(f"rendering {name} site")
        gate = Gate(ae.restricted, project.config.gate_allow, trusted_roots=theme_roots())
        memo: dict[Any, Any] = {}  # the gate scans pages as they are written; unchanged bytes are not rescanned
        d = (runner or InProcessMkDocs()).run(cfg_file, epoch,
                                              while_waiting=lambda: site.is_dir() and gate.scan_tree(site, memo))
        diags += [Diagnostic(x.severity, x.code, x.message, x.path, x.line, x.col, x.hints, name) for x in d]
        if any(x.severity == "error" for x in d):
            return diags
        if pdf:
            step(f"rendering {name} PDF")
            from .pdf import render_pdf

            in_pdf = dataclasses.replace(ae, pages=[p for p in ae.pages if p.in_pdf])  # no site-only pages
            d = render_pdf(project.config, in_pdf, site / pdf_name(project, ae), epoch)
            diags += d
            if any(x.severity == "error" for x in d):
                return diags
        step(f"leak gate {name}")
        findings = gate.scan_tree(site, memo)
        for f in findings:
            what = (f"restricted passage {f.restricted_id} from {f.origin} found in output {f.location} ({f.kind})"
                    if f.restricted_id else f"output file {f.location} cannot be verified ({f.kind})")
            diags.append(Diagnostic("error", "E-LEAK-OUTPUT", what, "", 0, 0,
                                    ("the build is stopped and the previous output kept; find how the text "
                                     "escaped filtering",), name))
        if findings:
            return diags
        rep = sanitisation_report(ae)
        rep["gate"] = {"files_scanned": sum(1 for _ in site.rglob("*") if _.is_file()), "findings": 0}
        reports = reports_dir(project.root)  # never under --out
        reports.mkdir(parents=True, exist_ok=True)
        for fname, text in ((f"{name}-sanitisation.json", json.dumps(rep, indent=2, ensure_ascii=False) + "\n"),
                            (f"{name}-sanitisation.md", report_markdown(rep))):
            part = reports / f".{fname}.{os.getpid()}.tmp"  # whole files only, also for concurrent builds
            part.write_text(text, encoding="utf-8")
            os.replace(part, reports / fname)
        try:
            out.mkdir(parents=True, exist_ok=True)
            _swap(site, out / name, name)
        except OutputRefused as exc:
            diags.append(Diagnostic("error", "E-OUT-FOREIGN", str(exc), "", 0, 0,
                                    ("envscan replaces only folders it created; move it away or give another --out",),
                                    name))
            return diags
        except OSError as exc:
            diags.append(Diagnostic("error", "E-OUT-WRITE", f"cannot write {out / name}: {exc.strerror or exc}", "",
                                    0, 0, ("the previous output, if any, is kept; check the folder's permissions and "
                                           "free space",), name))
            return diags
        step(f"{name}: done")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return diags


def theme_roots() -> list[Path]:
    """Folders whose static files MkDocs copies verbatim into a site (theme, search assets)."""
    roots = []
    try:
        import material

        roots.append(Path(material.__file__).parent / "templates")
    except ImportError:
        pass
    import mkdocs

    roots.append(Path(mkdocs.__file__).parent / "contrib" / "search" / "templates")
    return [r for r in roots if r.is_dir()]


def pdf_name(project: Project, ae: AssembledEdition) -> str:
    from .edition import pdf_filename

    return pdf_filename(project.config.report.title, ae.edition.name)
