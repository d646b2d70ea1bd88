"""Read the whole source (the input end): mkdocs.yml, docs/, bibliography/."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic, error, warning
from .source import read_text

if TYPE_CHECKING:
    from .bib import Bibliography
    from .config import Config
    from .model import Chapter, Source

# config (yaml), parse (markdown-it), bib (pybtex) and the model are imported where they are used:
# find_root is what every command calls first (`envscan build` then starts its MkDocs worker)

CHAPTER_SUFFIX = ".md"
MD_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
BACKUP_SUFFIXES = ("~", ".bak", ".swp", ".orig", ".tmp")


@dataclass
class Project:
    root: Path
    config: Config
    chapters: list[Chapter]
    bib: Bibliography
    assets: list[str] = field(default_factory=list)  # docs-relative non-Markdown files

    @property
    def source(self) -> Source:
        """What the core receives: the data, without the root path to read from."""
        from .model import Source

        return Source(self.config, self.chapters, self.bib, self.assets)


def find_root(start: Path) -> Path | None:
    p = start.resolve()
    for d in [p, *p.parents]:
        if (d / "mkdocs.yml").is_file():
            return d
    return None


def load_project(root: Path, cache: dict[Any, Any] | None = None) -> tuple[Project | None, list[Diagnostic]]:
    """Read and parse the whole source. ``cache`` (a dict the caller keeps, e.g. the live
    preview) reuses the parse of every chapter and bibliography whose text is unchanged."""
    diags: list[Diagnostic] = []
    from .config import load_config

    src, d = read_text(root, "mkdocs.yml")
    diags += d
    if src is None:
        return None, diags
    cfg, d = load_config(src.text, "mkdocs.yml")
    diags += d
    if cfg is None:
        return None, diags
    docs = root / cfg.docs_dir
    if not docs.is_dir():
        diags.append(error("E-CONFIG-DOCS", f"docs_dir {cfg.docs_dir!r} does not exist", "mkdocs.yml"))
        return None, diags
    found, assets = _scan_docs(docs, cfg.docs_dir, diags)
    nav_files = _check_nav(cfg, found, diags)
    chapters = _read_chapters(root, cfg, [f for f in nav_files if f in found], cache, diags)
    bib = _read_bibliography(root, cfg, cache, diags)
    if cache is not None:  # keep only what this read used: an edited chapter's old parse goes
        used = {k for k, v in cache.items() if (k[0] == "bibliography" and v[0] is bib) or
                (k[0] == "chapter" and any(v[0] is ch for ch in chapters))}
        for k in [k for k in cache if k not in used]:
            del cache[k]
    return Project(root, cfg, chapters, bib, assets), diags


def _scan_docs(docs: Path, docs_dir: str, diags: list[Diagnostic]) -> tuple[list[str], list[str]]:
    """Walk docs/: every file is either a chapter or an asset; symlinks, editor backups, odd
    extensions and hidden files are errors. Returns (chapters found, assets)."""
    found: list[str] = []
    assets: list[str] = []
    for dirpath, dirnames, filenames in os.walk(docs, followlinks=False):
        rel_dir = Path(dirpath).relative_to(docs)
        for dn in list(dirnames):
            if (Path(dirpath) / dn).is_symlink():
                diags.append(error("E-SRC-SYMLINK", "symlinked folder in the source tree",
                                   f"{docs_dir}/{(rel_dir / dn).as_posix()}", 0, 0,
                                   "copy the content in; a symlink can pull unfiltered files into an edition"))
                dirnames.remove(dn)
        for fn in sorted(filenames):
            rel = (rel_dir / fn).as_posix()
            shown = f"{docs_dir}/{rel}"
            if (Path(dirpath) / fn).is_symlink():
                diags.append(error("E-SRC-SYMLINK", "symlink in the source tree", shown, 0, 0,
                                   "replace it by the file itself"))
            elif (fn.endswith(BACKUP_SUFFIXES) or fn.startswith((".#", "#"))
                    or (fn.lower().endswith(MD_SUFFIXES) and not fn.endswith(CHAPTER_SUFFIX))):
                diags.append(error("E-SRC-STRAY", "stray file in docs/ (editor backup or odd extension)", shown, 0, 0,
                                   "delete it: docs/ holds only the chapters (*.md) and their assets"))
            elif fn.startswith("."):
                # MkDocs never publishes dot-files; a hidden chapter is an editor's leftover
                diags.append(error("E-SRC-STRAY", "hidden file in docs/", shown, 0, 0, "delete it"))
            elif fn.endswith(CHAPTER_SUFFIX):
                found.append(rel)
            else:
                assets.append(rel)
    return found, assets


def _check_nav(cfg: Config, found: list[str], diags: list[Diagnostic]) -> list[str]:
    """Every chapter in nav once, every nav entry a file. Returns nav's files in order."""
    nav_files = [f for _, f in cfg.nav]
    for f in found:
        if f not in nav_files:
            diags.append(error("E-NAV-MISSING", "chapter is not listed in nav: of mkdocs.yml", f"{cfg.docs_dir}/{f}", 0,
                               0, f"add '- Title: {f}' to nav, or delete the file"))
    seen = set()
    for f in nav_files:
        if f in seen:
            diags.append(error("E-NAV-DUPLICATE", f"nav lists {f!r} twice", "mkdocs.yml", cfg.nav_lines.get(f, 0), 1))
        seen.add(f)
        if f not in found:
            diags.append(error("E-NAV-NOFILE", f"nav entry {f!r} has no file in {cfg.docs_dir}/", "mkdocs.yml",
                               cfg.nav_lines.get(f, 0), 1))
    return nav_files


def _read_chapters(root: Path, cfg: Config, files: list[str], cache: dict[Any, Any] | None,
                   diags: list[Diagnostic]) -> list[Chapter]:
    from .parse import parse_chapter

    chapters: list[Chapter] = []
    for i, f in enumerate(files):
        sf, d = read_text(root, f"{cfg.docs_dir}/{f}")
        diags += d
        if sf is None:
            continue
        key = ("chapter", sf.path, f, hashlib.sha256(sf.text.encode("utf-8")).hexdigest(), cfg.scheme.labels,
               cfg.scheme.default)
        if cache is not None and key in cache:
            ch, d = cache[key]
        else:
            ch, d = parse_chapter(sf.path, f, sf.text, cfg.scheme)
            if cache is not None:
                cache[key] = (ch, d)
        ch.order = i
        diags += list(d)
        chapters.append(ch)
    return chapters


def _read_bibliography(root: Path, cfg: Config, cache: dict[Any, Any] | None, diags: list[Diagnostic]) -> Bibliography:
    from .bib import load_bibliography

    bib_dir = root / "bibliography"
    bib_files = []
    n_bib = 0
    if bib_dir.is_dir():
        for p in sorted(bib_dir.rglob("*")):
            if p.is_symlink():
                diags.append(error("E-SRC-SYMLINK", "symlink in bibliography/", p.relative_to(root).as_posix(), 0, 0,
                                   "replace it by the file itself"))
            elif p.suffix == ".bib":
                n_bib += 1
                sf, d = read_text(root, p.relative_to(root).as_posix())
                diags += d
                if sf is not None:
                    bib_files.append((sf.path, sf.text))
    if not n_bib:
        diags.append(warning("W-BIB-NONE", "no .bib files in bibliography/", "bibliography"))
    key = ("bibliography", tuple((path, hashlib.sha256(text.encode("utf-8")).hexdigest()) for path, text in bib_files),
           cfg.scheme.labels, cfg.scheme.default)
    bib: Bibliography
    if cache is not None and key in cache:
        bib, d = cache[key]
    else:
        bib, d = load_bibliography(bib_files, cfg.scheme)
        if cache is not None:
            cache[key] = (bib, d)
    diags += list(d)
    return bib
