"""Where a build may write, and what it may replace: fail closed outside the sources.

- ``--out`` is refused before anything is written when it names a file, the filesystem root,
  the project or a folder holding it, ``docs/`` or ``bibliography/`` (or a folder inside them),
  envscan's own working folders under ``build/``, a folder inside an edition's published folder,
  or an existing folder that holds anything envscan did not create.
- An edition folder ``<out>/<edition>`` is replaced only when it carries envscan's marker file
  (:data:`MARKER`, naming that edition), written into every edition folder envscan creates.
- Temporary work (the edition's Markdown tree, its MkDocs config, the rendered site before the
  leak gate) goes to ``build/tmp/``, never under ``--out``; trees left by a build that died are
  removed at the start of the next one.
- Sanitisation reports go to ``build/reports/``, never under ``--out``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterable

from .diagnostics import Diagnostic, error

MARKER = ".envscan-output"
_MARKER_RE = re.compile(r"^envscan output folder; edition: ([\w-]+)\s*$")
_TMP_RE = re.compile(r"^(?P<edition>[\w-]+)-(?P<pid>\d+)-[\w]+$")
_STAGING_RE = re.compile(r"^\.envscan-staging-(?P<edition>[\w-]+)-(?P<pid>\d+)-[\w]+$")
STALE_AFTER = 24 * 3600  # a temporary tree this old is removed even if its pid is in use again
BUILD_OWN = ("tmp", "reports", "preview", "cache")


class OutputRefused(Exception):
    """A folder in the output that envscan did not create would have been replaced."""


def reports_dir(root: Path) -> Path:
    """Sanitisation reports: always ``build/reports/`` of the project, whatever ``--out`` is."""
    return root / "build" / "reports"


def tmp_dir(root: Path) -> Path:
    return root / "build" / "tmp"


def marker_text(edition: str) -> str:
    return f"envscan output folder; edition: {edition}\n"


def write_marker(folder: Path, edition: str) -> None:
    (folder / MARKER).write_text(marker_text(edition), encoding="utf-8")


def marker_edition(folder: Path) -> str | None:
    """The edition named by ``folder``'s marker, or None when ``folder`` is not a real folder
    envscan created (no marker, a symlink, an unreadable or foreign marker)."""
    try:
        if folder.is_symlink() or not folder.is_dir():
            return None
        m = folder / MARKER
        if m.is_symlink() or not m.is_file() or m.stat().st_size > 200:
            return None
        found = _MARKER_RE.match(m.read_text(encoding="utf-8"))
    except (OSError, UnicodeError):
        return None
    return found.group(1) if found else None


def _shown(p: Path, root: Path) -> str:
    try:
        rel = p.relative_to(root)
        return rel.as_posix() if rel.parts else "."
    except ValueError:
        return str(p)


def _inside(p: Path, folder: Path) -> bool:
    return p == folder or folder in p.parents


def validate_out(root: Path, out: Path, editions: Iterable[str], *, docs_dir: str = "docs",
                 all_editions: Iterable[str] = ()) -> list[Diagnostic]:
    """Every reason not to build ``editions`` into ``out``; an empty list means go ahead.

    Nothing is created, moved or deleted here. ``all_editions``: every configured edition
    (their default folders ``site/<edition>/`` are published folders even before a build)."""
    root = root.resolve()
    given = out
    out = Path(os.path.abspath(out))
    try:
        out = out.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return [error("E-OUT-PATH", f"--out {str(given)!r} cannot be resolved (a symlink loop?)", str(given), 0, 0,
                      "choose a plain folder")]
    refusal = _refuse_location(root, out, str(given), docs_dir, all_editions)
    if refusal is not None:
        return [refusal]
    if not out.exists():
        return []
    return _check_existing(root, out, str(given), list(editions))


def _refuse_location(root: Path, out: Path, given: str, docs_dir: str,
                     all_editions: Iterable[str]) -> Diagnostic | None:
    """Where ``out`` may never be: a file's place, the filesystem root, the project or a folder
    holding it, the sources, envscan's working folders, inside a published edition folder."""
    shown = _shown(out, root)
    for p in (out, *out.parents):  # a file where a folder must be: --out itself or one of its parents
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                return error("E-OUT-FILE", f"--out {given!r}: {_shown(p, root)!r} is a file, not a folder",
                             _shown(p, root), 0, 0, "--out names the folder that receives one sub-folder per edition")
            break
    if out == Path(out.anchor):
        return error("E-OUT-SOURCE", "--out is the filesystem root", shown, 0, 0,
                     "give a folder of its own, e.g. the default site/")
    if _inside(root, out):
        return error("E-OUT-SOURCE", f"--out {given!r} is the project folder" if out == root else
                     f"--out {given!r} holds the project folder", shown, 0, 0,
                     "an edition named like a folder there would replace it; use the default site/ or a new folder")
    docs = (root / docs_dir).resolve()
    for folder, what in ((docs, f"{docs_dir}/ (the chapters)"), (root / "bibliography", "bibliography/"),
                         (root / ".git", ".git/")):
        if _inside(out, folder):
            return error("E-OUT-SOURCE", f"--out {given!r} is inside {what}", shown, 0, 0,
                         "outputs never go into the sources; use the default site/ or a folder outside the project")
    build = root / "build"
    if out == build or any(_inside(out, build / d) for d in BUILD_OWN):
        return error("E-OUT-SOURCE", f"--out {given!r} is envscan's working folder {shown}/", shown, 0, 0,
                     "build/ holds temporary trees, caches and reports; use the default site/")
    # inside a folder that an edition publishes (a marked one anywhere, or site/<edition>)
    for p in (out, *out.parents):
        ed = marker_edition(p)
        if ed is not None:
            return error("E-OUT-PUBLISHED", f"--out {given!r} is inside {_shown(p, root)}/, the published folder of "
                         f"edition {ed!r}", shown, 0, 0, "an edition inside another edition's folder would be "
                         "published with it; give a folder outside every edition's folder")
    for name in all_editions:
        if _inside(out, root / "site" / name):
            return error("E-OUT-PUBLISHED", f"--out {given!r} is inside site/{name}/, the published folder of edition "
                         f"{name!r}", shown, 0, 0, "give a folder outside every edition's folder")
    return None


def _check_existing(root: Path, out: Path, given: str, editions: list[str]) -> list[Diagnostic]:
    """An existing ``out``: only envscan's own edition folders may be in it, and each edition
    replaces only the folder envscan made for it."""
    diags: list[Diagnostic] = []
    shown = _shown(out, root)
    wanted = set(editions)
    foreign = []
    for entry in sorted(out.iterdir()):
        name = entry.name
        if name in wanted:
            continue  # checked below, with its own message
        if entry.is_dir() and not entry.is_symlink() and marker_edition(entry) is not None:
            continue  # another edition's earlier output (or its '.old' copy during a swap)
        if _STAGING_RE.match(name) and entry.is_dir() and not entry.is_symlink():
            continue  # a staging copy of a build that died; removed by clean_stale
        foreign.append(name)
    if foreign:
        listed = ", ".join(repr(f) for f in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        diags.append(error("E-OUT-FOREIGN", f"--out {given!r} is an existing folder with content envscan did not "
                           f"create ({listed})", shown, 0, 0, "give a new or empty folder, or one envscan built into "
                           "before"))
    for name in editions:
        dest = out / name
        if not (dest.exists() or dest.is_symlink()):
            continue
        owner = marker_edition(dest)
        rel = _shown(dest, root)
        if dest.is_symlink() or not dest.is_dir():
            diags.append(error("E-OUT-FOREIGN", f"{rel} is {'a symlink' if dest.is_symlink() else 'a file'}, not an "
                               f"edition folder envscan created; edition {name!r} would replace it", rel, 0, 0,
                               "move it away, or give another --out"))
        elif owner is None:
            diags.append(error("E-OUT-FOREIGN", f"{rel}/ was not created by envscan (no {MARKER} marker); edition "
                               f"{name!r} would replace it", rel, 0, 0, "if it is an earlier envscan output, delete it "
                               "yourself; else give another --out", "envscan replaces only folders it created"))
        elif owner != name:
            diags.append(error("E-OUT-FOREIGN", f"{rel}/ holds edition {owner!r}, not {name!r}", rel, 0, 0,
                               "delete or rename it yourself, or give another --out"))
    return diags


# --------------------------------------------------------------------------- temporary work

def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: leave its tree alone
    return True


def _stale(entry: Path, pid: int) -> bool:
    try:
        age = time.time() - entry.stat().st_mtime
    except OSError:
        return False
    return not _pid_alive(pid) or (pid != os.getpid() and age > STALE_AFTER)


def clean_stale(root: Path, out: Path | None = None) -> None:
    """Remove temporary trees of builds that died: ``build/tmp/<edition>-<pid>-*`` whose
    process is gone, and in ``out`` envscan's staging copies and ``<edition>.old`` folders
    (both marked) of dead builds. Only envscan's own names are touched."""
    tmp = tmp_dir(root)
    if tmp.is_dir() and not tmp.is_symlink():
        for entry in tmp.iterdir():
            m = _TMP_RE.match(entry.name)
            if m and entry.is_dir() and not entry.is_symlink() and _stale(entry, int(m.group("pid"))):
                shutil.rmtree(entry, ignore_errors=True)
    if out is None or not out.is_dir():
        return
    for entry in out.iterdir():
        if entry.is_symlink() or not entry.is_dir():
            continue
        m = _STAGING_RE.match(entry.name)
        if m and _stale(entry, int(m.group("pid"))):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.endswith(".old") and marker_edition(entry) == entry.name[:-4] \
                and not (out / entry.name[:-4]).is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def new_work_dir(root: Path, edition: str) -> Path:
    """A fresh temporary folder for one edition's build, under ``build/tmp/`` (outside ``site/``
    and any ``--out``); named with this process's id so that the next run can tell a dead
    build's tree from a running one's."""
    tmp = tmp_dir(root)
    tmp.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{edition}-{os.getpid()}-", dir=tmp))


def staging_dir(out: Path, edition: str) -> Path:
    """Beside the destination, for a rendered (and gated) site that must cross filesystems."""
    return Path(tempfile.mkdtemp(prefix=f".envscan-staging-{edition}-{os.getpid()}-", dir=out))
