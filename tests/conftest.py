"""Helpers for building small envscan projects in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# every process the tests start runs the checkout's own package, whatever is installed
_SCRIPTS = str(Path(__file__).resolve().parent.parent / "scripts")
os.environ["PYTHONPATH"] = _SCRIPTS + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")

from envscan.diagnostics import Diagnostic, dedupe_sorted
from envscan.pipeline import check_project

LABELS = "[TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, TLP:RED]"

FRONT = "---\ntitle: {title}\nmarking: TLP:CLEAR\nstatus: draft\nowners: [Harbour Desk]\n---\n"

BIB = """\
@book{smith2010,
  author = {Smith, Anna},
  title = {Harbour Budgets},
  publisher = {Port Press},
  year = {2010},
}

@article{jones2011,
  author = {Jones, Ben},
  title = {Ferry Timetables Revisited},
  journal = {Journal of Coastal Transport},
  year = {2011},
}
"""


def chapter(body: str, title: str = "Harbour") -> str:
    """A chapter: standard front matter (6 lines) followed by ``body`` (which starts on line 7)."""
    return FRONT.format(title=title) + body


def mkdocs_yml(nav: list[str]) -> str:
    nav_lines = "".join(f"  - {Path(f).stem.title()}: {f}\n" for f in nav)
    return (
        "site_name: Test Scan\n"
        "docs_dir: docs\n"
        "nav:\n"
        f"{nav_lines}"
        "plugins:\n"
        "  - envscan:\n"
        "      scheme:\n"
        "        name: TLP 2.0\n"
        f"        labels: {LABELS}\n"
        "        default: TLP:RED\n"
        "      editions:\n"
        "        public:\n"
        "          max: TLP:CLEAR\n"
        "        restricted:\n"
        "          max: TLP:RED\n"
    )


def make_project(tmp_path: Path, chapters: dict[str, str | bytes] | None = None, bib: str | bytes | dict | None = BIB,
                 nav: list[str] | None = None, config: str | bytes | None = None) -> Path:
    """Write mkdocs.yml, docs/<chapters> and bibliography/*.bib under tmp_path; return the root.

    ``chapters`` maps docs-relative names to text (str, written as UTF-8 bytes unchanged) or raw
    bytes. ``nav`` defaults to the chapter names in order. ``bib`` is one file's text
    (refs.bib), a {name: text} mapping, or None for no bibliography.
    """
    chapters = {"one.md": chapter("# Harbour\n\nThe harbour authority reviewed its budget [@smith2010] "
                                  "and its timetable [@jones2011].\n")} if chapters is None else chapters
    root = tmp_path
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in chapters.items():
        p = docs / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    if nav is None:
        nav = list(chapters)
    cfg = mkdocs_yml(nav) if config is None else config
    (root / "mkdocs.yml").write_bytes(cfg if isinstance(cfg, bytes) else cfg.encode("utf-8"))
    if bib is not None:
        bdir = root / "bibliography"
        bdir.mkdir(exist_ok=True)
        files = bib if isinstance(bib, dict) else {"refs.bib": bib}
        for name, text in files.items():
            (bdir / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return root


def line(d: Diagnostic) -> str:
    """One diagnostic as its first output line, ``path:line:col: severity[CODE]: message``."""
    return f"{d.location}: {d.severity}[{d.code}]: {d.message}"


def run_check(root: Path, editions: list[str] | None = None) -> tuple[list[Diagnostic], bool]:
    diags, usage = check_project(root, editions)
    return dedupe_sorted(diags), usage


def check_lines(root: Path, *codes_prefix: str) -> list[str]:
    """Formatted diagnostics of a project (optionally only codes starting with a prefix)."""
    diags, _ = run_check(root)
    return [line(d) for d in diags if not codes_prefix or d.code.startswith(codes_prefix)]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "envscan.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=60)


@pytest.fixture
def project(tmp_path):
    """``project(chapters=..., bib=..., nav=...)`` -> root path (a fresh sub-folder each call)."""
    counter = [0]

    def make(**kw) -> Path:
        counter[0] += 1
        return make_project(tmp_path / f"p{counter[0]}", **kw)

    return make


# Session fixtures for the repository's own scan, built once per session (both editions + PDF):
# built_site, rebuilt_site (see tests/site_fixtures.py).
from site_fixtures import _site_builds, built_site, rebuilt_site  # noqa: E402,F401
