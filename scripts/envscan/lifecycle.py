"""``envscan edition start YEAR``: begin the next edition from the released one.

* mkdocs.yml: ``report.year``, ``report.period`` (``<previous>–<year>``), ``report.due``; the
  previous year in ``site_name`` and ``report.title`` becomes the new one. Edited line by line, so
  comments, order and the guard line stay as they are; the result is read back and checked.
* Every chapter's front matter: ``status: carried-over`` ("carried over — to update"; ``check``
  warns until an editor sets draft, review or final, so ``release`` waits for every chapter).
* A changelog chapter ``docs/changelog-<year>.md`` (unnumbered, lowest marking, status draft),
  appended to nav.
* The bibliography stays shared; nothing else changes.

Refused when the current edition was never released (no tag ``edition/<year>`` and no manifest),
unless forced. The text transforms are pure; :func:`start_edition` does the I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .cycle import CARRIED_OVER, envscan_block
from .diagnostics import Diagnostic, error

if TYPE_CHECKING:
    from .config import Config


@dataclass
class StartResult:
    diags: list[Diagnostic] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # project-relative paths written
    usage: bool = False


def _q(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_yaml_scalar(lines: list[str], line_no: int, key: str, value: str) -> None:
    """Replace the value of ``key:`` on 1-based line ``line_no`` (a plain one-line scalar)."""
    i = line_no - 1
    m = re.match(rf"^(\s*(?:-\s+)?{re.escape(key)}\s*:\s*)(.*?)(\s+#.*)?$", lines[i])
    if not m:
        raise ValueError(f"line {line_no} does not hold {key}:")
    lines[i] = m.group(1) + _q(value) + (m.group(3) or "")


def _indent(line: str) -> str:
    """The whitespace a line starts with."""
    m = re.match(r"\s*", line)  # always matches (perhaps nothing)
    return m.group(0) if m else ""


def edit_config(text: str, cfg: Config, year: str, period: str, due: str, old_year: str,
                nav_entry: tuple[str, str] | None) -> str:
    """mkdocs.yml with the new edition's metadata (and a nav entry appended). Pure."""
    _, key = envscan_block(cfg.raw)
    rep_key = key + ("report",)
    lines = text.split("\n")
    if rep_key not in cfg.line_of:
        raise ValueError("mkdocs.yml has no envscan report: block")
    present = {k: cfg.line_of[rep_key + (k,)] for k in ("title", "year", "period", "due") if rep_key + (k,) in cfg.line_of}
    inserts: list[tuple[str, str]] = []
    anchor = 0
    for k, v in (("year", year), ("period", period), ("due", due)):
        if k in present:
            set_yaml_scalar(lines, present[k], k, v)
        else:
            inserts.append((k, v))
    if "title" in present and old_year:
        i = present["title"] - 1
        lines[i] = re.sub(rf"\b{re.escape(old_year)}\b", year, lines[i])
    if ("site_name",) in cfg.line_of and old_year:
        i = cfg.line_of[("site_name",)] - 1
        lines[i] = re.sub(rf"\b{re.escape(old_year)}\b", year, lines[i])
    if inserts:
        field_lines = [n for n in present.values()] or [cfg.line_of[rep_key]]
        anchor = max(field_lines)
        ref = lines[min(field_lines) - 1] if present else lines[cfg.line_of[rep_key] - 1] + "  "
        field_indent = _indent(ref) if present else _indent(ref) + "  "
        lines[anchor:anchor] = [f"{field_indent}{k}: {_q(v)}" for k, v in inserts]
    if nav_entry is not None:
        nav_keys = [(k, n) for k, n in cfg.line_of.items() if len(k) >= 2 and k[0] == "nav"]
        if not nav_keys:
            raise ValueError("mkdocs.yml has no nav: to append the changelog to")
        # the nav block may have moved down by the lines inserted above it
        shift = len(inserts) if inserts and anchor < cfg.line_of[("nav",)] else 0
        last = max(n for _, n in nav_keys) + shift
        first_item = min(n for k, n in nav_keys if len(k) == 2) + shift
        indent = re.match(r"^(\s*)-", lines[first_item - 1])
        pad = indent.group(1) if indent else "  "
        title, f = nav_entry
        lines[last:last] = [f"{pad}- {title}: {f}"]
    return "\n".join(lines)


def set_status(text: str, status: str) -> str:
    """A chapter with ``status:`` set in its front matter (added when missing). Pure."""
    m = re.match(r"^---\n(.*?\n)---[ \t]*\n", text, re.S)
    if not m:
        return text
    front = m.group(1)
    if re.search(r"^status\s*:", front, re.M):
        front = re.sub(r"^status\s*:.*$", f"status: {status}", front, count=1, flags=re.M)
    else:
        front += f"status: {status}\n"
    return f"---\n{front}---\n" + text[m.end():]


def changelog_text(year: str, old_year: str, period: str, marking: str, owners: list[str]) -> str:
    who = ", ".join(owners)
    return (f"---\ntitle: Changes in the {year} Edition\nmarking: {marking}\nstatus: draft\nowners: [{who}]\n---\n\n"
            f"# Changes in the {year} Edition {{#sec-changes-{year} .unnumbered}}\n\n"
            f"This edition updates the {old_year} edition and covers {period}. Summarise here, for readers, what "
            "it adds, revises and retires.\n")


def is_released(root: Path, year: str) -> bool:
    from .release import manifest_path
    from .vcs import has_ref, tag_for

    return has_ref(root, tag_for(year)) or manifest_path(root, year).is_file()


def start_edition(root: Path, year: str, due: str | None = None, force: bool = False) -> StartResult:
    from .project import load_project
    from .source import read_text

    res = StartResult()

    def refuse(code: str, msg: str, *hints: str) -> StartResult:
        res.diags.append(error(code, msg, "mkdocs.yml", 0, 0, *hints))
        res.usage = True
        return res

    project, diags = load_project(root)
    if project is None:
        res.diags += diags
        res.usage = True
        return res
    cfg = project.config
    old = cfg.report.year
    if not re.fullmatch(r"\d{4}", year):
        return refuse("E-EDITION-YEAR", f"{year!r} is not a year")
    if re.fullmatch(r"\d{4}", old or "") and int(year) <= int(old):
        return refuse("E-EDITION-YEAR", f"the current edition is {old}; the next one must come later")
    if old and not force and not is_released(root, old):
        return refuse("E-EDITION-UNRELEASED", f"the current edition {old} was never released (no tag edition/{old}, "
                      f"no releases/{old}.json)", "release it first with 'envscan release', or start anyway with "
                      "--force")
    due = due or f"{year}-12-31"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", due):
        return refuse("E-EDITION-DUE", f"due date {due!r} is not YYYY-MM-DD")
    period = f"{old}–{year}" if old else year
    changelog = f"changelog-{year}.md"
    if (root / cfg.docs_dir / changelog).exists():
        return refuse("E-EDITION-EXISTS", f"{cfg.docs_dir}/{changelog} exists: edition {year} was started already")
    sf, d = read_text(root, "mkdocs.yml")
    if sf is None:
        res.diags += d
        return res
    try:
        new_cfg = edit_config(sf.text, cfg, year, period, due, old, (f"Changes in the {year} Edition", changelog))
    except (ValueError, IndexError) as exc:
        return refuse("E-EDITION-CONFIG", f"cannot edit mkdocs.yml: {exc}", "set report: year/period/due by hand")
    from .config import load_config

    check, d = load_config(new_cfg)
    if check is None or check.report.year != year or check.report.period != period or check.report.due != due:
        return refuse("E-EDITION-CONFIG", "editing mkdocs.yml did not give the expected report block",
                      "set report: year/period/due by hand")
    writes: dict[str, str] = {"mkdocs.yml": new_cfg}
    for ch in project.chapters:
        writes[ch.path] = set_status(ch.text, CARRIED_OVER)
    owners = [str(o) for o in (project.chapters[0].front.get("owners") or [])] if project.chapters else []
    writes[f"{cfg.docs_dir}/{changelog}"] = changelog_text(year, old, period, cfg.scheme.lowest, owners)
    for rel, text in writes.items():
        (root / rel).write_text(text, encoding="utf-8")
        res.changed.append(rel)
    return res
