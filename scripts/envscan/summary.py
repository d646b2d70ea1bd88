"""Output that respects the author's attention: known, accepted warning classes summarised.

A warning class (its code) is *known and accepted* when mkdocs.yml lists it, with the reason,
under the envscan block::

    warnings:
      accepted:
        W-BIB-UNVERIFIED: sources still to verify against the originals (tracked in the .bib)
        W-FN-GAP: note texts lost from the digital edition; restore from the print edition
      summarise_over: 3      # an accepted class with this many occurrences or fewer is listed in full

In text output (``check`` and ``build``) an accepted class with more than ``summarise_over``
occurrences becomes one line: code, count, the reason, and where the first one is. Everything
else is printed in full: every error (always), every warning of a class that is not accepted
(a new kind of problem), and the warnings of a rare accepted class. ``--verbose`` prints
everything in full; ``--format json`` and ``--format github`` always carry every diagnostic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .diagnostics import ERROR, WARNING, Diagnostic, error, format_text

if TYPE_CHECKING:
    from pathlib import Path

    from .config import Config

DEFAULT_SUMMARISE_OVER = 3

# the path of a key in mkdocs.yml: mapping keys and list indexes, e.g. ("plugins", 0, "envscan")
KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class WarningPolicy:
    accepted: dict[str, str] = field(default_factory=dict)  # code -> reason (one line)
    summarise_over: int = DEFAULT_SUMMARISE_OVER


def envscan_options(raw: Mapping[str, Any]) -> tuple[dict[str, Any], KeyPath]:
    """The envscan plugin block of a parsed mkdocs.yml and its key path (for line numbers)."""
    plugins = raw.get("plugins", []) if isinstance(raw, dict) else []
    if isinstance(plugins, list):
        for i, p in enumerate(plugins):
            if isinstance(p, dict) and "envscan" in p:
                es = p["envscan"]
                return (es if isinstance(es, dict) else {}), ("plugins", i, "envscan")
    elif isinstance(plugins, dict) and isinstance(plugins.get("envscan"), dict):
        return plugins["envscan"], ("plugins", "envscan")
    return {}, ()


def line_at(line_of: Mapping[KeyPath, int], key: KeyPath) -> int:
    while key:
        if key in line_of:
            return int(line_of[key])
        key = key[:-1]
    return 0


def load_policy(raw: Mapping[str, Any], line_of: Mapping[KeyPath, int] | None = None, path: str = "mkdocs.yml") -> tuple[WarningPolicy, list[Diagnostic]]:
    es, key = envscan_options(raw)
    block = es.get("warnings")
    if block is None:
        return WarningPolicy(), []
    line_of = line_of or {}
    diags: list[Diagnostic] = []

    def err(msg: str, k: KeyPath, *hints: str) -> None:
        ln = line_at(line_of, key + ("warnings",) + k)
        diags.append(error("E-CONFIG-WARNINGS", msg, path, ln, 1 if ln else 0, *hints))

    if not isinstance(block, dict):
        err("warnings must be a mapping (accepted:, summarise_over:)", ())
        return WarningPolicy(), diags
    for k in block:
        if k not in ("accepted", "summarise_over"):
            err(f"unknown key {k!r} in warnings", (k,), "keys: accepted, summarise_over")
    accepted: dict[str, str] = {}
    acc: Any = block.get("accepted") or {}
    if not isinstance(acc, dict):
        err("warnings.accepted maps a warning code to the reason it is accepted", ("accepted",),
            "e.g. W-FN-GAP: note texts lost; restore from the print edition")
        acc = {}
    for code, reason in acc.items():
        if not isinstance(code, str) or not code.startswith("W-"):
            err(f"{code!r} is not a warning code: only warnings (W-...) can be accepted; errors are always shown",
                ("accepted", code))
        elif not isinstance(reason, str) or not reason.strip():
            err(f"accepted warning {code} needs a reason (one line)", ("accepted", code))
        else:
            accepted[code] = " ".join(reason.split())
    over = block.get("summarise_over", DEFAULT_SUMMARISE_OVER)
    if isinstance(over, bool) or not isinstance(over, int) or over < 0:
        err(f"warnings.summarise_over must be a whole number >= 0, not {over!r}", ("summarise_over",))
        over = DEFAULT_SUMMARISE_OVER
    return WarningPolicy(accepted, over), diags


def policy_of(root: Path) -> WarningPolicy:
    """The policy in ``root``/mkdocs.yml (the default one when it cannot be read)."""
    from .config import load_config
    from .source import read_text

    src, _ = read_text(root, "mkdocs.yml")
    cfg, _ = load_config(src.text) if src is not None else (None, [])
    if cfg is None:
        return WarningPolicy()
    return load_policy(cfg.raw, cfg.line_of)[0]


@dataclass(frozen=True)
class SummaryLine:
    code: str
    count: int
    reason: str
    first: str  # location of the first one


def split(diags: list[Diagnostic], policy: WarningPolicy) -> tuple[list[Diagnostic], list[SummaryLine]]:
    """(diagnostics printed in full, summarised classes) — input order kept."""
    counts: dict[str, int] = {}
    for d in diags:
        if d.severity == WARNING:
            counts[d.code] = counts.get(d.code, 0) + 1
    summarised = {c for c, n in counts.items() if c in policy.accepted and n > policy.summarise_over}
    full = [d for d in diags if d.severity == ERROR or d.code not in summarised]
    lines = []
    for code in sorted(summarised):
        first = next(d for d in diags if d.severity == WARNING and d.code == code)
        lines.append(SummaryLine(code, counts[code], policy.accepted[code], first.location))
    return full, lines


def render_text(diags: list[Diagnostic], policy: WarningPolicy, verbose: bool = False) -> str:
    """Text output: errors and new or rare warnings in full, accepted classes one line each."""
    full, lines = (diags, []) if verbose else split(diags, policy)
    out = [format_text(d) for d in full]
    if lines:
        width = max(len(x.code) for x in lines)
        out.append("accepted warnings (mkdocs.yml envscan: warnings: accepted:; --verbose lists each one):")
        for x in lines:
            out.append(f"  {x.code:<{width}} {x.count:>4}  {x.reason} (first: {x.first})")
    n_e = sum(d.severity == ERROR for d in diags)
    n_w = len(diags) - n_e
    n_s = sum(x.count for x in lines)
    out.append(f"{n_e} error(s), {n_w} warning(s)" + (f" ({n_s} accepted, summarised above)" if n_s else ""))
    return "\n".join(out)


def policy_diagnostics(config: Config) -> list[Diagnostic]:
    """Errors in mkdocs.yml's ``warnings:`` block (for check and build)."""
    return load_policy(config.raw, config.line_of, config.path)[1]
