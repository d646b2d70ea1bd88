"""``envscan new FOLDER``: a small working scan that shows what envscan is for.

Copies the template project shipped with the package (``envscan/new_project/``: mkdocs.yml,
two short chapters, a .bib, a figure) into FOLDER. The chapters hold a restricted block with
its tearline, a restricted source, an editor note, a footnote, citations, a cross-reference and
an image, so that ``envscan build`` gives a public and a restricted edition that visibly differ
and ``envscan check`` is clean. The prose is neutral and synthetic (harbours and ferries).
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.abc import Traversable

TEMPLATE = "new_project"
TEXT_SUFFIXES = (".md", ".yml", ".bib")


@dataclass(frozen=True)
class Created:
    root: Path
    files: tuple[str, ...]


class ScaffoldError(Exception):
    pass


def _template_files() -> list[tuple[str, bytes]]:
    base = resources.files("envscan").joinpath(TEMPLATE)
    out: list[tuple[str, bytes]] = []

    def walk(node: Traversable, rel: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            r = f"{rel}/{child.name}" if rel else child.name
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, r)
            else:
                out.append((r, child.read_bytes()))

    walk(base, "")
    return out


def new_project(folder: Path, title: str = "Environmental Scan", year: str | None = None) -> Created:
    """Write the template project into ``folder`` (which must be absent or empty)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ScaffoldError(f"{folder} exists and is not an empty folder; choose a new one")
    if not title.strip() or any(c in title for c in "\n\r:#{}[]@\"'") or not title.strip()[0].isalnum():
        raise ScaffoldError("the title must be one line that starts with a letter or digit, without : # { } [ ] @ "
                            "or quotes")
    year = year or str(datetime.date.today().year)
    written = []
    for rel, data in _template_files():
        if rel.endswith(TEXT_SUFFIXES):
            # YAML-quoted (a JSON string is YAML): no title can become a tag, an alias or a block
            data = data.decode("utf-8").replace("@TITLE@", json.dumps(title.strip(), ensure_ascii=False)) \
                .replace("@YEAR@", year).encode("utf-8")
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "xb") as f:  # never overwrite
            f.write(data)
        written.append(rel)
    os.utime(folder)
    return Created(folder, tuple(written))
