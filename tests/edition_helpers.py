"""Helpers for the edition tests (tests/test_editions.py): small projects, variants, tree scans.

Neutral synthetic prose only. Canary words: restricted ones start with ``zqr``, public ones
with ``pub`` (each unique), so a substring search over an output tells what reached it.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from envscan.diagnostics import Diagnostic
from envscan.pipeline import build_project

from conftest import BIB as BASE_BIB, LABELS  # noqa: E402  (tests/ is on sys.path)

BIB = BASE_BIB + """
@book{quaywork2009,
  author = {Lee, Cara},
  title = {Quay Maintenance Zqrsourcetitle Ledger},
  publisher = {Dock Press},
  year = {2009},
  marking = {TLP:AMBER},
}
"""

SENTENCES = [
    "The harbour authority reviewed its annual budget in March",
    "The ferry timetable was revised after the spring consultation",
    "Three new cranes were installed on the northern quay",
    "The pilot boats were repainted before the summer season",
    "Visitors counted the gulls on the breakwater at noon",
    "The lighthouse keeper logged the tide tables every morning",
]


def front(title: str = "Harbour", marking: str | None = "TLP:CLEAR", extra: str = "") -> str:
    m = f"marking: {marking}\n" if marking else ""
    return f"---\ntitle: {title}\n{m}status: draft\nowners: [Harbour Desk]\n{extra}---\n"


def chapter(body: str, title: str = "Harbour", marking: str | None = "TLP:CLEAR", extra: str = "") -> str:
    return front(title, marking, extra) + body


def config_yml(nav: list[str], top: str = "", envscan: str = "", extensions: str | None = None,
               plugins: str = "") -> str:
    """A minimal mkdocs.yml with the envscan plugin block (public: CLEAR, restricted: RED)."""
    nav_lines = "".join(f"  - {Path(f).stem.title()}: {f}\n" for f in nav)
    exts = extensions if extensions is not None else (
        "markdown_extensions:\n  - abbr\n  - admonition\n  - attr_list\n  - tables\n  - pymdownx.details\n"
        "  - toc:\n      permalink: false\n")
    return (
        "site_name: Test Scan\n"
        "docs_dir: docs\n"
        f"{top}"
        f"{exts}"
        "nav:\n"
        f"{nav_lines}"
        "plugins:\n"
        "  - envscan:\n"
        "      report:\n"
        "        title: Harbour Review\n"
        "        year: \"2012\"\n"
        "      pdf: false\n"
        "      scheme:\n"
        "        name: TLP 2.0\n"
        f"        labels: {LABELS}\n"
        "        default: TLP:RED\n"
        "      editions:\n"
        "        public:\n"
        "          max: TLP:CLEAR\n"
        "          title: Public edition\n"
        "        restricted:\n"
        "          max: TLP:RED\n"
        "          title: Restricted edition\n"
        f"{envscan}"
        f"{plugins}"
    )


def encode(text: str, variant: str = "lf") -> bytes:
    """Source bytes in a variant: ``lf`` (as is), ``crlf`` (CRLF line ends), ``bom`` (UTF-8 BOM)."""
    if variant == "crlf":
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    data = text.encode("utf-8")
    if variant == "bom":
        data = b"\xef\xbb\xbf" + data
    return data


def make_project(root: Path, chapters: dict[str, str], *, config: str | None = None, bib: str | None = BIB,
                 files: dict[str, bytes] | None = None, nav: list[str] | None = None,
                 variant: str = "lf") -> Path:
    """Write mkdocs.yml, docs/<chapters> (in ``variant``), bibliography/refs.bib and extra ``files``
    (docs-relative raw bytes) under ``root``."""
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in chapters.items():
        p = docs / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(encode(text, variant))
    for name, data in (files or {}).items():
        p = docs / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    nav = [n for n in chapters if n.endswith(".md")] if nav is None else nav
    cfg = config_yml(nav) if config is None else config
    (root / "mkdocs.yml").write_bytes(encode(cfg, "crlf" if variant == "crlf" else "lf"))
    if bib is not None:
        (root / "bibliography").mkdir(exist_ok=True)
        (root / "bibliography" / "refs.bib").write_bytes(encode(bib, variant))
    return root


def build(root: Path, out: Path, editions: list[str] | None = None) -> list[Diagnostic]:
    diags, usage = build_project(root, editions or ["public"], pdf=False, out=out, quiet=True)
    assert not usage, [str(d) for d in diags]
    return diags


def errors(diags: list[Diagnostic]) -> list[str]:
    return [d.code for d in diags if d.severity == "error"]


def show(diags: list[Diagnostic]) -> str:
    return "\n".join(f"{d.path}:{d.line}:{d.col}: {d.severity}[{d.code}]: {d.message}" for d in diags)


def tree_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative POSIX path -> bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def tree_text(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` as text, gzip members decompressed, undecodable bytes kept as latin-1."""
    out = {}
    for rel, data in tree_files(folder).items():
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        try:
            out[rel] = data.decode("utf-8")
        except UnicodeDecodeError:
            out[rel] = data.decode("latin-1")
    return out


def canary_hits(folder: Path, canaries) -> list[tuple[str, str]]:
    """(file, canary) for every canary (case-insensitive) found in any file or path under ``folder``."""
    hits = []
    if not folder.exists():
        return hits
    for rel, text in tree_text(folder).items():
        low = (rel + "\n" + text).lower()
        for c in canaries:
            if c.lower() in low:
                hits.append((rel, c))
    return hits


def tree_hashes(folder: Path) -> dict[str, str]:
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in tree_files(folder).items()}


def reports_dir(root: Path) -> Path:
    """Where site.render_edition writes the sanitisation reports: the project's build/reports/,
    whatever --out is (never under it)."""
    from envscan.outputs import reports_dir as where

    return where(root)


def png(text_chunks: dict[str, str] | None = None) -> bytes:
    """A 1x1 PNG, with tEXt chunks (metadata that must be stripped before publishing)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    for k, v in (text_chunks or {}).items():
        out += chunk(b"tEXt", k.encode("latin-1") + b"\x00" + v.encode("latin-1"))
    return out + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
