"""CLI commands of the authors' daily loop: ``envscan status`` and ``envscan new``.

(``check --fix`` and ``--verbose`` live with ``check`` and ``build`` in cli.py.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .diagnostics import Diagnostic, dedupe_sorted, error

EXIT_OK, EXIT_USAGE = 0, 2  # as cli.py (its helpers are imported when a command runs: no import cycle)


@click.command()
@click.option("--edition", "edition", default=None, help="count warnings of this edition only (default: all)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("-C", "--root", "root", default=None)
def status(edition: str | None, fmt: str, root: str | None) -> None:
    """Per chapter: title, marking, status, owners, words, notes, citations, warnings; totals."""
    import json
    from dataclasses import asdict

    from .cli import emit, guarded, root_of
    from .pipeline import assemble_checked, read_and_resolve
    from .status import ScanStatus, collect

    r = root_of(root)
    if r is None:
        emit([error("E-CONFIG-MISSING", "no mkdocs.yml here or in any parent folder")], "text", sys.stderr)
        sys.exit(EXIT_USAGE)

    def run() -> tuple[ScanStatus | None, list[Diagnostic]]:
        project, eds, diags, usage = read_and_resolve(r, [edition] if edition else None)
        if project is None:
            return None, diags
        for ed in eds:
            diags += assemble_checked(project, ed, render=False)[1]
        return collect(project.source, diags), diags

    st, diags = guarded(r, "text", run)
    if st is None:
        emit(dedupe_sorted(diags), "text", sys.stderr)
        sys.exit(EXIT_USAGE)
    if fmt == "json":
        data = asdict(st)
        data["totals"] = {k: getattr(st, k) for k in ("words", "notes", "citations", "warnings", "errors")}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        from rich.console import Console

        from .status import rich_table

        Console().print(rich_table(st, "Edition status"))
    sys.exit(EXIT_OK)


@click.command("new")
@click.argument("folder")
@click.option("--title", default="Environmental Scan", show_default=True, help="the scan's title")
def new(folder: str, title: str) -> None:
    """Create a small working scan in FOLDER (two chapters, a .bib, a figure) to start from."""
    from .cli import emit
    from .scaffold import ScaffoldError, new_project

    try:
        made = new_project(Path(folder), title)
    except (ScaffoldError, OSError) as exc:
        emit([error("E-NEW", str(exc))], "text", sys.stderr)
        sys.exit(EXIT_USAGE)
    click.echo(f"envscan: created {made.root} ({len(made.files)} files)")
    for f in made.files:
        click.echo(f"  {f}")
    click.echo(f"next: cd {folder} && envscan check && envscan build --no-pdf && envscan serve")


COMMANDS = [status, new]
