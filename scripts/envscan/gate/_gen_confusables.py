"""Regenerate ``_confusables.py`` from a Unicode ``confusables.txt`` (UTS #39 data).

Usage::

    python -m envscan.gate._gen_confusables PATH/confusables.txt SOURCE-NOTE > _confusables.py

The generated module keeps every mapping of the file (source code point -> prototype code
points), one per line, in the file's own hexadecimal notation, plus the file's version and
date; the header names where the input came from.  It is a data file: nothing in it is
interpreted beyond splitting the lines.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_LINE_RE = re.compile(r"^([0-9A-F]{4,6})\s*;\s*([0-9A-F ]+?)\s*;\s*MA\b")


def read_confusables(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(header fields Version/Date, [(source hex, prototype hex sequence)])."""
    header: dict[str, str] = {}
    rows: list[tuple[str, str]] = []
    for line in text.lstrip("\ufeff").splitlines():
        if line.startswith("#") and ":" in line and len(header) < 2:
            key, _, value = line[1:].partition(":")
            if key.strip() in ("Version", "Date"):
                header[key.strip()] = value.strip()
            continue
        m = _LINE_RE.match(line)
        if m:
            rows.append((m.group(1), " ".join(m.group(2).split())))
    return header, rows


def render(header: dict[str, str], rows: list[tuple[str, str]], source_note: str) -> str:
    lines = [
        '"""Unicode confusables (UTS #39 ``confusables.txt``), generated data: do not edit.',
        "",
        f"Version {header.get('Version', '?')}, dated {header.get('Date', '?')};"
        " (c) Unicode, Inc., distributed under the",
        "Unicode terms of use (https://www.unicode.org/terms_of_use.html).",
        f"Input: {source_note}.",
        "Regenerate with ``python -m envscan.gate._gen_confusables``; each line of DATA is",
        "'SOURCE;PROTOTYPE' in the file's hexadecimal code points.",
        '"""',
        "",
        f"VERSION = {header.get('Version', '?')!r}",
        "",
        'DATA = """\\',
    ]
    lines += [f"{src};{dst}" for src, dst in rows]
    lines.append('"""')
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    header, rows = read_confusables(Path(argv[0]).read_text(encoding="utf-8-sig"))
    sys.stdout.write(render(header, rows, argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
