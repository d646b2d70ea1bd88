"""Git, for the edition cycle (the I/O end): state of the working tree, tags, files at a ref.

Every call runs ``git`` with a timeout; failures come back as :class:`GitError` with git's own
message, never as a traceback of the caller.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from pathlib import Path

TAG_PREFIX = "edition/"


class GitError(Exception):
    pass


def git(root: Path, *args: str, check: bool = True, timeout: float = 60) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        raise GitError(f"git {' '.join(args[:2])}: {exc}") from None
    if check and out.returncode != 0:
        raise GitError(out.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
    return out.stdout.decode("utf-8", "replace")


def is_repo(root: Path) -> bool:
    try:
        return git(root, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except GitError:
        return False


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def dirty_paths(root: Path) -> list[str]:
    """Modified, staged or untracked (not ignored) paths: what a release refuses to run on."""
    out = git(root, "status", "--porcelain", "--untracked-files=normal")
    return [ln[3:] for ln in out.splitlines() if ln.strip()]


def is_ignored(root: Path, rel: str) -> bool:
    try:
        return subprocess.run(["git", "-C", str(root), "check-ignore", "-q", rel], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def tag_for(year: str) -> str:
    return f"{TAG_PREFIX}{year}"


def edition_tags(root: Path) -> list[str]:
    """Release tags ``edition/<year>``, oldest first."""
    try:
        out = git(root, "tag", "--list", f"{TAG_PREFIX}*")
    except GitError:
        return []
    tags = [t.strip() for t in out.splitlines() if re.fullmatch(re.escape(TAG_PREFIX) + r"\d{4}", t.strip())]
    return sorted(tags)


def has_ref(root: Path, ref: str) -> bool:
    try:
        git(root, "rev-parse", "--verify", "--quiet", ref + "^{commit}")
        return True
    except GitError:
        return False


def resolve_ref(root: Path, ref: str) -> str:
    """An edition year (``2012``) names its release tag; anything else is a git ref."""
    if re.fullmatch(r"\d{4}", ref) and has_ref(root, tag_for(ref)):
        return tag_for(ref)
    if not has_ref(root, ref):
        raise GitError(f"{ref!r} is neither a released edition (tag {tag_for(ref)}) nor a git ref")
    return ref


def files_at(root: Path, ref: str, paths: list[str]) -> dict[str, bytes]:
    """The files under ``paths`` at ``ref`` (one ``git archive``): repo-relative path -> bytes."""
    try:
        out = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", ref, "--", *paths],
                             capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        raise GitError(f"git archive: {exc}") from None
    if out.returncode != 0:
        raise GitError(out.stderr.decode("utf-8", "replace").strip())
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        for m in tar.getmembers():
            if m.isfile():
                f = tar.extractfile(m)
                if f is not None:
                    files[m.name] = f.read()
    return files


def paths_at(root: Path, ref: str, paths: list[str]) -> list[str]:
    """Which of ``paths`` exist at ``ref``."""
    out = git(root, "ls-tree", "--name-only", ref, "--", *paths)
    return [ln for ln in out.splitlines() if ln]
