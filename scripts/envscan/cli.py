"""Command-line interface: turns diagnostics into one output format and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

import click

from . import __version__
from .diagnostics import ERROR, WARNING, Diagnostic, dedupe_sorted, error, render

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2

T = TypeVar("T")


def root_of(path: str | None) -> Path | None:
    from .project import find_root

    return find_root(Path(path or "."))


def emit(diags: list[Diagnostic], fmt: str, stream: IO[str] | None = None) -> None:
    out = render(diags, fmt)
    if out:
        click.echo(out, file=stream or sys.stdout)


def _emit_summarised(diags: list[Diagnostic], fmt: str, root: Path, verbose: bool,
                     stream: IO[str] | None = None) -> None:
    """Text: errors and new or rare warnings in full, accepted warning classes one line each
    (summary.py); json and github: everything."""
    if fmt != "text":
        emit(diags, fmt, stream)
        return
    from .summary import policy_of, render_text

    click.echo(render_text(diags, policy_of(root), verbose), file=stream or sys.stdout)


def _exit_code(diags: list[Diagnostic], strict: bool) -> int:
    if any(d.severity == ERROR for d in diags):
        return EXIT_ERRORS
    if strict and any(d.severity == WARNING for d in diags):
        return EXIT_ERRORS
    return EXIT_OK


def _config_failed(diags: list[Diagnostic]) -> bool:
    return any(d.severity == ERROR and d.code.startswith("E-CONFIG") for d in diags)


def guarded(root: Path, fmt: str, run: Callable[[], T]) -> T:
    """Run a command; an unexpected exception (a bug, never bad input) becomes one
    diagnostic and a crash log, not a traceback. Outputs are untouched: builds swap only
    after success."""
    try:
        return run()
    except KeyboardInterrupt:
        emit([error("E-INTERRUPTED", "interrupted; previous outputs are untouched")], fmt, sys.stderr)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001
        import traceback

        log = root / "build" / "envscan-crash.log"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(traceback.format_exc(), encoding="utf-8")
            where = str(log.relative_to(root))
        except OSError:
            where = "(could not write the crash log)"
        emit([error("E-INTERNAL", f"envscan failed unexpectedly ({type(exc).__name__}); previous outputs are "
                     "untouched", "", 0, 0, f"details in {where}; please report it with that file")], fmt, sys.stderr)
        sys.exit(3)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="envscan")
def main() -> None:
    """envscan: build and check the editions of an environmental scan."""


@main.command()
@click.option("--edition", "edition", default=None, help="check only this edition (default: all)")
@click.option("--strict", is_flag=True, help="warnings fail the check too")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text")
@click.option("-C", "--root", "root", default=None, help="project folder (default: search upwards for mkdocs.yml)")
@click.option("--fix", is_flag=True, help="apply the safe mechanical fixes (a typed Ibid. -> its key), then check again")
@click.option("-v", "--verbose", is_flag=True, help="list every warning (accepted classes are otherwise summarised)")
def check(edition: str | None, strict: bool, fmt: str, root: str | None, fix: bool, verbose: bool) -> None:
    """Report every footnote, citation, cross-reference and marking problem."""
    from .pipeline import check_project

    r = root_of(root)
    if r is None:
        emit([error("E-CONFIG-MISSING", "no mkdocs.yml here or in any parent folder")], fmt)
        sys.exit(EXIT_USAGE)
    diags, usage = guarded(r, fmt, lambda: check_project(r, [edition] if edition else None))
    diags = dedupe_sorted(diags)
    if fix and not usage:
        from .fix import fix_and_recheck

        diags = fix_and_recheck(r, diags, lambda: dedupe_sorted(check_project(r, [edition] if edition else None)[0]),
                                lambda s: click.echo(s, err=True))
    _emit_summarised(diags, fmt, r, verbose)
    sys.exit(EXIT_USAGE if usage or _config_failed(diags) else _exit_code(diags, strict))


@main.command()
@click.argument("editions", nargs=-1)
@click.option("--no-pdf", is_flag=True, help="skip the PDF (quick builds)")
@click.option("--strict", is_flag=True, help="warnings fail the build too")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text")
@click.option("-C", "--root", "root", default=None)
@click.option("--out", "out", default=None, help="output folder (default: site/)")
@click.option("-q", "--quiet", is_flag=True)
@click.option("-v", "--verbose", is_flag=True, help="list every warning (accepted classes are otherwise summarised)")
def build(editions: tuple[str, ...], no_pdf: bool, strict: bool, fmt: str, root: str | None, out: str | None,
          quiet: bool, verbose: bool) -> None:
    """Assemble, render and gate each edition (default: all) into site/<edition>/."""
    from .pipeline import build_project

    r = root_of(root)
    if r is None:
        emit([error("E-CONFIG-MISSING", "no mkdocs.yml here or in any parent folder")], fmt)
        sys.exit(EXIT_USAGE)
    diags, usage = guarded(r, fmt, lambda: build_project(r, list(editions) or None, pdf=not no_pdf, strict=strict,
                                 out=Path(out) if out else None, quiet=quiet or fmt != "text"))
    diags = dedupe_sorted(diags)
    _emit_summarised(diags, fmt, r, verbose, sys.stderr if fmt == "text" else None)
    sys.exit(EXIT_USAGE if usage or _config_failed(diags) else _exit_code(diags, strict))


@main.command()
@click.argument("edition", required=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--expose", is_flag=True, help="allow a --host beyond loopback (serves the edition to the network)")
@click.option("-C", "--root", "root", default=None)
def serve(edition: str | None, host: str, port: int, expose: bool, root: str | None) -> None:
    """Live preview of an edition (default: the widest), rebuilt on every change to the source."""
    from .serve import check_host, widest_edition
    from .serve import serve as run_serve

    r = root_of(root)
    refused = check_host(host, expose, edition or (widest_edition(r) if r is not None else None))
    if refused:  # before anything is assembled
        emit(refused, "text", sys.stderr)
        sys.exit(EXIT_USAGE)
    if r is None:
        emit([error("E-CONFIG-MISSING", "no mkdocs.yml here or in any parent folder")], "text", sys.stderr)
        sys.exit(EXIT_USAGE)

    def report(diags: list[Diagnostic]) -> None:
        diags = dedupe_sorted(d for d in diags if d.severity == ERROR)
        emit(diags if diags else [], "text", sys.stderr) if diags else click.echo("envscan: preview updated",
                                                                                 err=True)

    sys.exit(guarded(r, "text", lambda: run_serve(r, edition, host, port, report, expose=expose)))


from .cli_cycle import COMMANDS as _CYCLE  # noqa: E402  (release, verify, diff, redline, edition, bib-audit)

for _c in _CYCLE:
    main.add_command(_c)

from .cli_authoring import COMMANDS as _AUTHORING  # noqa: E402  (status, new)

for _a in _AUTHORING:
    main.add_command(_a)

if __name__ == "__main__":  # pragma: no cover
    main()
