"""The source model: chapters as regions and nodes with absolute source offsets."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Region:
    """A span of source text that carries a marking or a role (chapter, div, span)."""

    kind: str  # "chapter" | "div" | "span"
    start: int  # whole extent, absolute offsets (div: from the opening fence line start)
    end: int  # (div: to the end of the closing fence line, newline included)
    line: int
    col: int
    marking: str | None = None  # as written (validated)
    editor: bool = False
    tearline: bool = False
    gap: bool = False
    parent: "Region | None" = None
    unwrap: list[tuple[int, int]] = field(default_factory=list)  # delimiter ranges to drop when shown
    children: list["Region"] = field(default_factory=list)
    index: int = 0  # order within the chapter

    def chain(self):
        r = self
        while r is not None:
            yield r
            r = r.parent


@dataclass(eq=False)
class Node:
    kind: str  # heading | fnref | fndef | cite | xref | link | image | ibid | abbrdef
    start: int
    end: int
    line: int
    col: int
    region: Region
    note: str | None = None  # footnote label (or "^inline-N") the node sits in
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Chapter:
    path: str  # repo-relative
    name: str  # docs-relative (as in nav)
    text: str
    line_starts: list[int]
    front: dict[str, Any]
    front_end: int  # offset just after the front matter block (0 if none)
    title: str
    marking: str  # effective chapter marking (default applied)
    status: str
    root: Region
    regions: list[Region]
    nodes: list[Node]
    texts: list[tuple[int, int, str]]  # visible-text runs (start, end, text) for passages/gate
    order: int = 0
    tokens: list[Any] = field(default_factory=list)  # the markdown-it token tree: filtered and rendered as is

    def pos(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.line_starts, offset) - 1
        return i + 1, offset - self.line_starts[i] + 1

    def headings(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "heading"]


def line_starts(text: str) -> list[int]:
    starts = [0]
    i = text.find("\n")
    while i != -1:
        starts.append(i + 1)
        i = text.find("\n", i + 1)
    return starts
