"""The leak gate's records: restricted passages, findings, and what an extractor returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from ..model import Restricted

__all__ = ["Restricted", "Finding", "Segment", "Problem", "Child", "Extracted", "Collector",
           "SEP", "MAX_INFLATE", "MAX_DEPTH"]

SEP = "\n\n"  # between independent strings: never rejoined, never one word
MAX_INFLATE = 256 * 1024 * 1024  # decompressed-size cap (compression bombs)
MAX_DEPTH = 4  # nesting of archives / compressed files / embedded files


@dataclass(frozen=True)
class Finding:
    """One reason to fail the build.

    ``kind`` is ``"fingerprint"`` (shared word n-gram of a long passage), ``"exact"`` (a
    short passage found whole), ``"partial"`` (a distinctive part of a short passage),
    ``"symlink"`` (a symbolic link in the scanned tree) or ``"unreadable"`` (a file, or part
    of one, that could not be decoded and so could not be cleared).  For the last two,
    ``restricted_id`` and ``origin`` are empty.
    """

    restricted_id: str
    origin: str
    location: str
    kind: str


class Segment(NamedTuple):
    """One text to scan, and where it came from."""

    label: str  # location without line number, e.g. "index.html (attribute title)"
    text: str
    lines: bool = False  # append ":LINE" of the first hit to the location
    fallback: bool = False  # report only passages not found elsewhere in the file
    # On a hit, finer segments that say where exactly (e.g. which attribute).
    refine: Callable[[], list["Segment"]] | None = None


class Problem(NamedTuple):
    """Part of a file that could not be read (``kind`` "unreadable" or "symlink")."""

    location: str
    kind: str


class Child(NamedTuple):
    """An embedded file (archive member, trailing data, data URI ...), scanned as a file."""

    label: str
    name: str  # decides how it is read, like a file name
    data: bytes


class Extracted(NamedTuple):
    segments: list[Segment]
    problems: list[Problem]
    children: list[Child]


@dataclass
class Collector:
    """Accumulates what an extractor finds in one file, labelled ``"<file> (<where>)"``."""

    label: str
    segments: list[Segment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)

    def where(self, where: str) -> str:
        return f"{self.label} ({where})" if where else self.label

    def text(self, where: str, text: str, fallback: bool = False) -> None:
        if text:
            self.segments.append(Segment(self.where(where), text, fallback=fallback))

    def unreadable(self, where: str) -> None:
        self.problems.append(Problem(self.where(where), "unreadable"))

    def child(self, where: str, name: str, data: bytes) -> None:
        self.children.append(Child(self.where(where), name, data))

    def result(self) -> Extracted:
        return Extracted(self.segments, self.problems, self.children)
