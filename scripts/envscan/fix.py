"""``envscan check --fix``: the mechanical, safe repairs, written atomically.

One kind for now: a typed "Ibid." (``E-IBID-TYPED``) whose work is unambiguous (resolve names
exactly one key in its hint) becomes an explicit citation, keeping its page::

    [^n5]: Ibid., 45.      ->   [^n5]: [@wood2011, 45].
    [^n6]: [Ibid. 12-14]   ->   [^n6]: [@wood2011, 12-14]

The pipeline prints "Ibid." itself, per edition. Anything else is left alone and reported:
an ambiguous Ibid. (several works), text after it that is not a plain page locator (the meaning
could change), a file with CRLF line ends or a byte-order mark (its offsets differ from the
parsed text), or a file changed since the check. Each file is written whole, through a
temporary file beside it and a rename.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic

HINT_KEY = re.compile(r"^write \[@([^\s,\]]+), PAGE\]")
IBID = re.compile(r"(?P<open>\[\s*)?[Ii]bid(?:em)?\.?(?:,?\s*(?P<loc>(?:pp?\.\s*)?\d+[a-z]?(?:\s*[-–]\s*\d+[a-z]?)?))?"
                  r"(?P<close>\s*\])?")
AFTER_OK = re.compile(r"^\s*(?:[.;]|$)")


@dataclass(frozen=True)
class Fix:
    path: str
    line: int
    col: int
    start: int
    end: int
    old: str
    new: str


@dataclass
class FixPlan:
    fixes: list[Fix] = field(default_factory=list)
    skipped: list[tuple[Diagnostic, str]] = field(default_factory=list)  # (diagnostic, why not)


def _offset(text: str, line: int, col: int) -> int:
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    return starts[line - 1] + col - 1 if 0 < line <= len(starts) else -1


def plan(root: Path, diags: list[Diagnostic]) -> FixPlan:
    out = FixPlan()
    texts: dict[str, str | None] = {}
    for d in diags:
        if d.code != "E-IBID-TYPED":
            continue
        key = next((m.group(1) for h in d.hints for m in [HINT_KEY.match(h)] if m), None)
        if key is None:
            out.skipped.append((d, "no single work precedes it"))
            continue
        if d.path not in texts:
            try:
                raw = (root / d.path).read_bytes()
                texts[d.path] = None if raw.startswith(b"\xef\xbb\xbf") or b"\r" in raw else raw.decode("utf-8")
            except (OSError, UnicodeDecodeError):
                texts[d.path] = None
        text = texts[d.path]
        if text is None:
            out.skipped.append((d, "the file has CRLF line ends or a byte-order mark; fix it by hand"))
            continue
        at = _offset(text, d.line, d.col)
        start = at
        if at > 0 and text[at - 1] == "[":  # "[Ibid. 12]": the bracket goes too
            start = at - 1
        m = IBID.match(text, start)
        if at < 0 or m is None or (m.group("open") is None) != (m.group("close") is None):
            out.skipped.append((d, "not a plain 'Ibid.' with an optional page"))
            continue
        eol = text.find("\n", m.end())
        if not AFTER_OK.match(text[m.end():eol if eol >= 0 else len(text)]):
            out.skipped.append((d, "text follows the 'Ibid.' that may belong to it; fix it by hand"))
            continue
        end = m.end()
        old = text[start:end]
        loc = m.group("loc")
        new = f"[@{key}, {loc}]" if loc else f"[@{key}]"
        if old.endswith(".") and not m.group("close") and not loc:
            # "Ibid." closing a note: its full stop is the note's own
            new += "."
        out.fixes.append(Fix(d.path, d.line, d.col, start, end, old, new))
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole: a temporary file beside it, then one rename."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".envscan-fix", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def apply(root: Path, fp: FixPlan) -> list[Fix]:
    """Apply the planned fixes, each file at once; returns those applied."""
    done: list[Fix] = []
    by_file: dict[str, list[Fix]] = {}
    for f in fp.fixes:
        by_file.setdefault(f.path, []).append(f)
    for rel, fixes in by_file.items():
        p = root / rel
        text = p.read_text(encoding="utf-8")
        ok = []
        for f in sorted(fixes, key=lambda f: -f.start):
            if text[f.start:f.end] != f.old:  # changed since the check
                continue
            text = text[:f.start] + f.new + text[f.end:]
            ok.append(f)
        if ok:
            write_atomic(p, text)
            done += sorted(ok, key=lambda f: f.start)
    return done


def fix_and_recheck(root: Path, diags: list[Diagnostic], recheck: Callable[[], list[Diagnostic]],
                    echo: Callable[[str], None], rounds: int = 5) -> list[Diagnostic]:
    """``check --fix``: apply the safe fixes, say what was done and what was left, and return
    the diagnostics of a fresh check (``recheck()``) when anything changed. A fix can make the
    next one safe (an Ibid. after a typed Ibid.): up to ``rounds`` passes."""
    total = 0
    fp = plan(root, diags)
    for _ in range(rounds):
        done = apply(root, fp)
        for f in done:
            echo(f"fixed {f.path}:{f.line}:{f.col}: {f.old!r} -> {f.new!r}")
        total += len(done)
        if not done:
            break
        diags = recheck()
        fp = plan(root, diags)
    for d, why in fp.skipped:
        echo(f"not fixed {d.location} [{d.code}]: {why}")
    if not total and not fp.skipped:
        echo("nothing to fix automatically")
    return diags
