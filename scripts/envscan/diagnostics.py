"""Diagnostics: the one currency every stage returns, and their output formats."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error" | "warning"
    code: str  # e.g. "E-FN-UNDEFINED"
    message: str
    path: str = ""
    line: int = 0  # 1-based; 0 = whole file
    col: int = 0  # 1-based; 0 = unknown
    hints: tuple[str, ...] = field(default_factory=tuple)
    edition: str = ""

    @property
    def location(self) -> str:
        if not self.path:
            return "envscan"
        if self.line:
            return f"{self.path}:{self.line}:{self.col or 1}"
        return self.path

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.col, self.code, self.message)


def error(code: str, message: str, path: str = "", line: int = 0, col: int = 0, *hints: str) -> Diagnostic:
    return Diagnostic(ERROR, code, message, path, line, col, tuple(h for h in hints if h))


def warning(code: str, message: str, path: str = "", line: int = 0, col: int = 0, *hints: str) -> Diagnostic:
    return Diagnostic(WARNING, code, message, path, line, col, tuple(h for h in hints if h))


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.severity == ERROR for d in diags)


def dedupe_sorted(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in sorted(diags, key=Diagnostic.sort_key):
        k = (d.severity, d.code, d.message, d.path, d.line, d.col, d.edition)
        if k not in seen:
            seen.add(k)
            out.append(d)
    return out


def format_text(d: Diagnostic) -> str:
    ed = f" [{d.edition}]" if d.edition else ""
    lines = [f"{d.location}: {d.severity}[{d.code}]: {d.message}{ed}"]
    lines += [f"  hint: {h}" for h in d.hints]
    return "\n".join(lines)


def _gh_escape(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_escape(s).replace(":", "%3A").replace(",", "%2C")


def format_github(d: Diagnostic) -> str:
    props = []
    if d.path:
        props.append(f"file={_gh_prop(d.path)}")
    if d.line:
        props.append(f"line={d.line}")
    if d.col:
        props.append(f"col={d.col}")
    props.append(f"title={_gh_prop(d.code)}")
    body = d.message + ("".join(f"\nhint: {h}" for h in d.hints))
    kind = "error" if d.severity == ERROR else "warning"
    return f"::{kind} {','.join(props)}::{_gh_escape(body)}"


def to_json(diags: list[Diagnostic]) -> str:
    return json.dumps(
        {
            "diagnostics": [
                {
                    "severity": d.severity,
                    "code": d.code,
                    "message": d.message,
                    "path": d.path,
                    "line": d.line,
                    "col": d.col,
                    "hints": list(d.hints),
                    "edition": d.edition,
                }
                for d in diags
            ],
            "errors": sum(d.severity == ERROR for d in diags),
            "warnings": sum(d.severity == WARNING for d in diags),
        },
        indent=2,
        ensure_ascii=False,
    )


def render(diags: list[Diagnostic], fmt: str) -> str:
    if fmt == "json":
        return to_json(diags)
    if fmt == "github":
        return "\n".join(format_github(d) for d in diags)
    out = [format_text(d) for d in diags]
    n_e = sum(d.severity == ERROR for d in diags)
    n_w = len(diags) - n_e
    out.append(f"{n_e} error(s), {n_w} warning(s)")
    return "\n".join(out)
