"""The edition cycle's configuration and the checks only a cycle needs. Pure.

mkdocs.yml, in the envscan plugin block::

    report:
      year: "2016"
      period: "2012–2016"
      due: "2016-12-31"          # the new edition's due date (``envscan edition start``)
    cycle:
      reviews: [02-literature-review.md]   # chapters that review the period's literature
      pages: true                # the widest edition gets the redline and changes pages
      publish:                   # multi-edition sites, one target folder per edition
        public: published/public
        restricted: published/restricted

* Review window: works cited in a review chapter must fall inside the edition's period
  (``W-CYCLE-REVIEW-WINDOW``, one warning per work, at its first citation, naming its year).
* A chapter carried over from the previous edition and not yet updated warns
  (``W-CYCLE-CARRIED-OVER``): ``release`` runs ``check --strict``, so an edition is not released
  while a chapter still says ``status: carried-over``.
* Bibliography audit: entries no edition cites, entries only released (older) editions cite,
  entries with unverified fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic, error, warning
from .model import Cite, Source
from .summary import KeyPath

if TYPE_CHECKING:
    from .config import Config

CARRIED_OVER = "carried-over"  # the front-matter status "carried over — to update"
CYCLE_KEYS = {"reviews", "pages", "publish", "marking"}


@dataclass(frozen=True)
class CycleConfig:
    """The ``cycle:`` block. ``configured``: the block is present (pages are opt-in with it)."""

    configured: bool = False
    reviews: tuple[str, ...] = ()
    pages: bool = True
    publish: dict[str, str] = field(default_factory=dict)  # edition -> target folder (project-relative or absolute)
    marking: str | None = None  # marking of the generated pages (default: the widest edition's)

    @property
    def version_selector(self) -> bool:
        """Sites are built for multi-edition publishing (mkdocs-material's version selector)."""
        return bool(self.publish)


def envscan_block(raw: dict[str, Any]) -> tuple[dict[str, Any], KeyPath]:
    """The envscan plugin's options in a raw mkdocs.yml and their key path."""
    plugins = raw.get("plugins", [])
    if isinstance(plugins, list):
        for i, p in enumerate(plugins):
            if isinstance(p, dict) and "envscan" in p:
                return (p["envscan"] if isinstance(p["envscan"], dict) else {}), ("plugins", i, "envscan")
    elif isinstance(plugins, dict) and isinstance(plugins.get("envscan"), dict):
        return plugins["envscan"], ("plugins", "envscan")
    return {}, ()


def cycle_config(cfg: Config) -> tuple[CycleConfig, list[Diagnostic]]:
    """Read the ``cycle:`` block of a loaded :class:`config.Config`."""
    es, key = envscan_block(cfg.raw)
    block = es.get("cycle")
    if block is None:
        return CycleConfig(), []
    diags: list[Diagnostic] = []

    def err(msg: str, *sub: str | int) -> None:
        ln = cfg.line_of.get(key + ("cycle",) + sub) or cfg.line_of.get(key + ("cycle",), 0)
        diags.append(error("E-CONFIG-CYCLE", msg, cfg.path, ln, 1 if ln else 0))

    if not isinstance(block, dict):
        err("cycle must be a mapping (reviews:, pages:, publish:)")
        return CycleConfig(configured=True), diags
    for k in block:
        if k not in CYCLE_KEYS:
            err(f"unknown cycle option {k!r} (known: {', '.join(sorted(CYCLE_KEYS))})", k)
    nav = {f for _, f in cfg.nav}
    reviews = block.get("reviews") or []
    if not isinstance(reviews, list) or not all(isinstance(r, str) for r in reviews):
        err("cycle.reviews must be a list of chapter files (as in nav)", "reviews")
        reviews = []
    for r in reviews:
        if r not in nav:
            err(f"cycle.reviews names {r!r}, which is not a chapter in nav", "reviews")
    pages = block.get("pages", True)
    if not isinstance(pages, bool):
        err(f"cycle.pages must be true or false, not {pages!r}", "pages")
        pages = True
    publish = block.get("publish") or {}
    if not isinstance(publish, dict) or not all(isinstance(v, str) and v.strip() for v in publish.values()):
        err("cycle.publish must map an edition name to a target folder", "publish")
        publish = {}
    for ed in publish:
        if ed not in cfg.editions:
            err(f"cycle.publish names {ed!r}, which is not an edition", "publish", ed)
    targets = [str(v).rstrip("/") for v in publish.values()]
    for i, a in enumerate(targets):
        for b in targets[i + 1:]:
            if a == b or a.startswith(b + "/") or b.startswith(a + "/"):
                err(f"cycle.publish: targets {a!r} and {b!r} overlap; each edition needs a target of its own",
                    "publish")
    marking = block.get("marking")
    widest = max((e.max_marking for e in cfg.editions.values()), key=cfg.scheme.rank, default=cfg.scheme.default)
    if marking is not None and marking not in cfg.scheme.labels:
        err(f"cycle.marking {marking!r} is not in the scheme", "marking")
        marking = None
    elif marking is not None and cfg.scheme.rank(marking) < cfg.scheme.rank(widest):
        # the pages quote the whole source (every section title, label and key, whatever its
        # marking): only an edition that shows everything may carry them
        err(f"cycle.marking {marking!r} is below the widest edition's {widest!r}; the cycle pages quote the "
            "whole source", "marking")
        marking = None
    return CycleConfig(True, tuple(reviews), pages, {str(k): str(v) for k, v in publish.items()},
                       marking), diags


def pages_marking(cfg: Config, cyc: CycleConfig) -> str:
    """The marking of the restricted-only pages: configured, else the widest edition's."""
    widest = max((e.max_marking for e in cfg.editions.values()), key=cfg.scheme.rank, default=cfg.scheme.default)
    return cfg.scheme.max(cyc.marking, widest) if cyc.marking else widest


def period_years(period: str) -> tuple[int, int] | None:
    """``"2012–2016"`` (any dash) -> (2012, 2016); None when the period names no two years."""
    years = re.findall(r"\b(\d{4})\b", period or "")
    if len(years) < 2:
        return None
    a, b = int(years[0]), int(years[-1])
    return (a, b) if a <= b else (b, a)


def entry_year(entry: Any) -> int | None:
    m = re.search(r"\d{4}", str(entry.fields.get("year", "") or entry.fields.get("date", "")))
    return int(m.group(0)) if m else None


# --------------------------------------------------------------------------- checks


def review_window(src: Source, cyc: CycleConfig) -> list[Diagnostic]:
    """One warning per work cited in a review chapter outside the edition's period."""
    if not cyc.reviews:
        return []
    period = period_years(src.config.report.period)
    if period is None:
        return [warning("W-CYCLE-PERIOD", f"report.period {src.config.report.period!r} names no two years: the "
                        "review window cannot be checked", src.config.path, 0, 0,
                        'write it as "2012–2016" in the report block')]
    lo, hi = period
    out: list[Diagnostic] = []
    for ch in src.chapters:
        if ch.name not in cyc.reviews:
            continue
        seen: set[str] = set()
        for n in sorted((n for n in ch.nodes if isinstance(n, Cite)), key=lambda n: n.start):
            for it in n.items:
                entry = src.bib.entries.get(it.key)
                if entry is None or it.key in seen:
                    continue
                seen.add(it.key)
                year = entry_year(entry)
                if year is None or not lo <= year <= hi:
                    ln, col = ch.pos(it.offset)
                    when = f"published {year}" if year else "has no year"
                    out.append(warning("W-CYCLE-REVIEW-WINDOW", f"review chapter cites @{it.key}, which {when}: "
                                       f"outside the edition's period {lo}–{hi}", ch.path, ln, col,
                                       "a review covers the research since the last edition; cite it elsewhere or "
                                       "replace it with recent work"))
    return out


def carried_over(src: Source) -> list[Diagnostic]:
    out = []
    for ch in src.chapters:
        if ch.status == CARRIED_OVER:
            out.append(warning("W-CYCLE-CARRIED-OVER", "chapter carried over from the previous edition and not yet "
                               "updated (status: carried-over)", ch.path, 1, 1,
                               "update it, then set its status to draft, review or final"))
    return out


def cycle_checks(src: Source) -> list[Diagnostic]:
    """What ``check`` adds for the edition cycle: configuration, review window, carried-over chapters."""
    cyc, diags = cycle_config(src.config)
    return diags + review_window(src, cyc) + carried_over(src)


# --------------------------------------------------------------------------- bibliography audit


@dataclass(frozen=True)
class AuditEntry:
    key: str
    path: str
    line: int
    problem: str  # uncited | older-only | unverified
    detail: str = ""


def cited_keys(src: Source) -> set[str]:
    """Every work the source cites anywhere (any edition: filtering only narrows this)."""
    return {it.key for ch in src.chapters for n in ch.nodes if isinstance(n, Cite) for it in n.items}


def bib_audit(src: Source, released: dict[str, set[str]]) -> list[AuditEntry]:
    """``released``: edition year -> keys its editions cited (from the release manifests)."""
    cited = cited_keys(src)
    out: list[AuditEntry] = []
    for key, entry in src.bib.entries.items():
        path, ln = src.bib.line_of(key)
        older = sorted(y for y, keys in released.items() if key in keys)
        if key not in cited:
            if older:
                out.append(AuditEntry(key, path, ln, "older-only", "cited by the " + ", ".join(older) + " edition"
                                      + ("s" if len(older) > 1 else "")))
            else:
                out.append(AuditEntry(key, path, ln, "uncited", "cited by no edition"))
        unverified = [f.strip() for f in re.split(r"[,;]", entry.fields.get("unverified", "")) if f.strip()]
        if unverified:
            out.append(AuditEntry(key, path, ln, "unverified", ", ".join(unverified)))
    return sorted(out, key=lambda a: (a.problem, a.path, a.line, a.key))


def audit_text(entries: list[AuditEntry]) -> str:
    if not entries:
        return "bibliography audit: nothing to report"
    titles = {"uncited": "cited by no edition", "older-only": "cited only by older editions",
              "unverified": "with unverified fields"}
    lines = []
    for problem in ("uncited", "older-only", "unverified"):
        rows = [a for a in entries if a.problem == problem]
        if rows:
            lines.append(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'} {titles[problem]}:")
            lines += [f"  {a.path}:{a.line}: @{a.key}" + (f" ({a.detail})" if a.detail else "") for a in rows]
    return "\n".join(lines)
