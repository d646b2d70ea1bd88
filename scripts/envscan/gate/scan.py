"""The gate over files and trees: every file of an edition's output, embedded files too.

:class:`Gate` adds to the :class:`~.match.Matcher` the reading of bytes (by
:func:`~.extract.extract`), the walk of an output tree (hidden files included, symbolic
links reported rather than followed, file and folder names scanned too) and the memo that
lets ``envscan build`` scan pages while MkDocs is still writing them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

from .base import MAX_DEPTH, Finding, Restricted, Segment
from .extract import extract
from .match import Matcher

__all__ = ["Gate"]

Memo = dict[str, tuple[bytes, tuple[Finding, ...]]]


class Gate(Matcher):
    """Matches text, files and trees against a list of restricted passages.

    ``allow`` lists legitimate overlaps (e.g. a statute that is quoted in both
    editions): an n-gram, short passage or part of one that lies entirely inside an
    allowed text's word sequence is never reported, wherever it occurs.  Files that are
    byte-identical to the file at the same relative path under one of ``trusted_roots``
    (the installed theme's own static files) are not scanned.
    """

    def __init__(self, restricted: Iterable[Restricted], allow: Iterable[str] = (), n: int = 8,
                 trusted_roots: Iterable[Path] = ()):
        super().__init__(restricted, allow, n)
        self.trusted_roots: tuple[Path, ...] = tuple(Path(p) for p in trusted_roots)
        self._memo: Memo | None = None

    # -- one file --------------------------------------------------------------------------

    def _scan_segments(self, segs: list[Segment]) -> list[Finding]:
        found: dict[tuple[int, str], Finding] = {}

        def scan(seg: Segment, skip: frozenset[int]) -> set[int]:
            """Record the passages found in ``seg``; returns their indices."""
            hits = self._match_text(seg.text, seg.lines)
            for idx in skip.intersection(hits):
                del hits[idx]
            located: set[int] = set()
            if hits and seg.refine is not None:
                for sub in seg.refine():
                    located |= scan(sub, skip)
            for idx, (kind, line) in hits.items():
                if idx in located or (idx, seg.label) in found:
                    continue
                r = self.restricted[idx]
                loc = f"{seg.label}:{line}" if line else seg.label
                found[(idx, seg.label)] = Finding(r.id, r.origin, loc, kind)
            return set(hits) | located

        for seg in segs:
            if not seg.fallback:
                scan(seg, frozenset())
        for seg in segs:
            if seg.fallback:
                scan(seg, frozenset(k[0] for k in found))
        return list(found.values())

    def scan_bytes(self, data: bytes, name: str, location: str | None = None) -> list[Finding]:
        """Scan one file's content; ``name`` decides how it is read (by its
        extension, else by sniffing) and ``location`` labels the findings."""
        return self._scan_blob(location or name, name, data, 0)

    def _scan_blob(self, label: str, name: str, data: bytes, depth: int) -> list[Finding]:
        try:
            segs, problems, children = extract(label, name, data)
            findings = self._scan_segments(segs)
        except Exception:  # fail closed: what could not be scanned is a finding
            return [Finding("", "", label, "unreadable")]
        findings.extend(Finding("", "", p.location, p.kind) for p in problems)
        for child in children:
            if depth + 1 > MAX_DEPTH:
                findings.append(Finding("", "", f"{child.label} (nested too deep)", "unreadable"))
                continue
            findings.extend(self._scan_blob(child.label, child.name, child.data, depth + 1))
        return findings

    # -- trees -----------------------------------------------------------------------------

    def scan_tree(self, root: Path, memo: Memo | None = None) -> list[Finding]:
        """Scan every file under ``root`` (hidden files included; symbolic
        links are reported, not followed).  Paths are scanned too.

        ``memo`` (relative path -> (SHA-256 of the bytes scanned, findings)) lets a caller scan
        a tree while it is still being written and then call again: a file whose bytes are
        unchanged since it was scanned is not scanned twice; any other file is."""
        root = Path(root)
        self._memo = memo
        if root.is_symlink():
            return [Finding("", "", root.name, "symlink")]
        if root.is_file():
            return self._scan_file(root, root.name)
        if not root.is_dir():
            return [Finding("", "", root.name, "unreadable")]
        findings, paths = self._walk(root)
        findings = self._path_findings(findings, paths)
        order = {r.id: i for i, r in enumerate(self.restricted)}
        findings.sort(key=lambda f: (f.location, order.get(f.restricted_id, -1), f.kind))
        return findings

    def _walk(self, root: Path) -> tuple[list[Finding], list[str]]:
        """(findings of every file under ``root``, every relative path seen)."""
        findings: list[Finding] = []
        paths: list[str] = []
        stack = [(root, "")]
        while stack:
            directory, rel = stack.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError:
                findings.append(Finding("", "", rel or ".", "unreadable"))
                continue
            for entry in entries:
                r = f"{rel}/{entry.name}" if rel else entry.name
                paths.append(r)
                try:
                    if entry.is_symlink():
                        findings.append(Finding("", "", r, "symlink"))
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append((Path(entry.path), r))
                    elif entry.is_file(follow_symlinks=False):
                        findings.extend(self._scan_file(Path(entry.path), r))
                    else:
                        findings.append(Finding("", "", f"{r} (not a regular file)", "unreadable"))
                except OSError:
                    findings.append(Finding("", "", r, "unreadable"))
        return findings, paths

    def _path_findings(self, findings: list[Finding], paths: list[str]) -> list[Finding]:
        """A restricted name in a file or folder name.  The name is then withheld from
        every location, or the findings would repeat it."""
        withheld: dict[str, str] = {}
        for p in paths:
            hits = self.scan_text(p.rsplit("/", 1)[-1], p)
            if hits:
                withheld[p] = "<name withheld: %s>" % ",".join(f.restricted_id for f in hits)
                findings.extend(
                    Finding(f.restricted_id, f.origin, f"{p} (path)", f.kind) for f in hits
                )
        if not withheld:
            return findings
        return [Finding(f.restricted_id, f.origin, _withhold(f.location, withheld), f.kind)
                for f in findings]

    def _scan_file(self, path: Path, rel: str) -> list[Finding]:
        try:
            data = path.read_bytes()
        except OSError:
            return [Finding("", "", rel, "unreadable")]
        memo = self._memo
        digest = b""
        if memo is not None:
            digest = hashlib.sha256(data).digest()
            hit = memo.get(rel)
            if hit is not None and hit[0] == digest:
                return list(hit[1])
        found = [] if self._vendored(rel, data) else self._scan_blob(rel, rel, data, 0)
        if memo is not None:
            memo[rel] = (digest, tuple(found))
        return found

    def _vendored(self, rel: str, data: bytes) -> bool:
        """True when the file is byte-identical to the file at the same relative path in one of
        the ``trusted_roots`` (the installed theme's own static files): it cannot hold source text."""
        for root in self.trusted_roots:
            cand = root / rel
            try:
                if cand.is_file() and not cand.is_symlink() and cand.stat().st_size == len(data) \
                        and cand.read_bytes() == data:
                    return True
            except OSError:
                continue
        return False


def _withhold(location: str, withheld: dict[str, str]) -> str:
    """Replace withheld path components at the start of ``location``
    (longest paths first, so nested withheld names are all replaced)."""
    for p in sorted(withheld, key=len, reverse=True):
        if location == p or location.startswith((p + "/", p + " (", p + ":")):
            parent = p.rsplit("/", 1)[0] + "/" if "/" in p else ""
            location = parent + withheld[p] + location[len(p):]
    return location
