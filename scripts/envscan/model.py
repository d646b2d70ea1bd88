"""The typed data that flows between the pipeline's stages.

read -> parse -> resolve -> edition (filter, number, cite) -> render -> gate

* The source model (``parse`` makes it): a :class:`Chapter` holds its markdown-it token tree
  (``tokens``: what is filtered and rendered), its :class:`Region` tree (the chapter, fenced
  divs and spans that carry a marking or a role) and its nodes, one frozen dataclass per kind
  (:class:`Heading`, :class:`FnRef`, :class:`FnDef`, :class:`Cite`, :class:`XRef`,
  :class:`Link`, :class:`Image`, :class:`Ibid`, :class:`Comment`), each with its absolute
  source offsets, ``line``/``col``, the region it sits in and the note it sits in.
* :class:`Source`: what the core receives from the reader (config, chapters, bibliography,
  asset names); no paths to read from.
* The edition model (``edition`` makes it): :class:`AssembledEdition` with its :class:`Page`,
  :class:`Note`, :class:`Removed` rows and the restricted passages the gate checks.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, NamedTuple

if TYPE_CHECKING:
    from .bib import Bibliography
    from .config import Config, Edition


# --------------------------------------------------------------------------- source model


@dataclass(eq=False)
class Region:
    """A span of source text that carries a marking or a role (chapter, fenced div, span).

    Built while the chapter is parsed (a div's ``end`` is known at its closing fence), then
    only read."""

    kind: str  # "chapter" | "div" | "span"
    start: int  # whole extent, absolute offsets (div: from the opening fence line start)
    end: int  # (div: to the end of the closing fence line, newline included)
    line: int
    col: int
    marking: str | None = None  # as written (validated); None: inherits
    editor: bool = False
    tearline: bool = False
    gap: bool = False
    parent: Region | None = None
    children: list[Region] = field(default_factory=list)
    index: int = 0  # order within the chapter

    def chain(self) -> Iterator[Region]:
        r: Region | None = self
        while r is not None:
            yield r
            r = r.parent


@dataclass(frozen=True)
class CiteRef:
    """One work in a citation cluster: ``[see @key, 12 passim]``."""

    key: str
    prefix: str = ""
    locator: str = ""
    suffix: str = ""
    suppress_author: bool = False
    raw_rest: str = ""  # what followed the key, as written (locator checks)
    offset: int = 0  # absolute offset of the key


@dataclass(frozen=True, eq=False)
class Node:
    """A node of the source model. ``note``: the label of the footnote it sits in (an inline
    note's label is ``^inline-N``), or None in running text."""

    kind: ClassVar[str] = "node"
    start: int
    end: int
    line: int
    col: int
    region: Region
    note: str | None


@dataclass(frozen=True, eq=False)
class Heading(Node):
    kind: ClassVar[str] = "heading"
    level: int = 1
    id: str | None = None
    unnumbered: bool = False
    text: str = ""  # as written (diagnostics and restricted passages only: never rendered)
    attr_off: int | None = None  # offset of the {#id} attributes
    inline: Any = None  # the heading's markdown-it inline token (rendered, filtered)
    note_calls: list[FnRef] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class FnRef(Node):
    """A note call: ``[^label]`` or an inline note ``^[...]`` (``inline``)."""

    kind: ClassVar[str] = "fnref"
    label: str = ""
    inline: bool = False


@dataclass(frozen=True, eq=False)
class FnDef(Node):
    """A note's text: ``[^label]: ...`` (``token``: index of its footnote_reference_open) or an
    inline note (``children``: its inline tokens)."""

    kind: ClassVar[str] = "fndef"
    label: str = ""
    inline: bool = False
    content: tuple[int, int] = (0, 0)  # absolute offsets of the note's text
    token: int = -1
    children: tuple[Any, ...] = ()
    gap: bool = False  # a known gap: []{.gap}
    gap_remark: str = ""


@dataclass(frozen=True, eq=False)
class Cite(Node):
    kind: ClassVar[str] = "cite"
    items: tuple[CiteRef, ...] = ()
    bracketed: bool = True
    raw: str = ""

    @property
    def makes_note(self) -> bool:
        """A bracketed citation in body text is a note of its own, unless it only suppresses
        authors (``Carr's [-@carr2012]`` renders in place)."""
        return self.bracketed and not all(i.suppress_author for i in self.items)


@dataclass(frozen=True, eq=False)
class XRef(Node):
    """A cross-reference: ``@sec-x`` ("section 2.1"), ``[-@sec-x]`` (``bare``: "2.1")."""

    kind: ClassVar[str] = "xref"
    id: str = ""
    bare: bool = False


@dataclass(frozen=True, eq=False)
class Link(Node):
    kind: ClassVar[str] = "link"
    target: str = ""
    title: str = ""


@dataclass(frozen=True, eq=False)
class Image(Link):
    kind: ClassVar[str] = "image"
    alt: str = ""
    figure: str = ""  # {#fig-x}: a numbered figure with this id (its title, if any, is the caption)


@dataclass(frozen=True, eq=False)
class FigRef(Node):
    """A cross-reference to a figure: ``@fig-x`` ("Figure 3", numbered per edition)."""

    kind: ClassVar[str] = "figref"
    id: str = ""


@dataclass(frozen=True, eq=False)
class Ibid(Node):
    """A typed "Ibid." (an error: the pipeline writes it)."""

    kind: ClassVar[str] = "ibid"


@dataclass(frozen=True, eq=False)
class Comment(Node):
    """An HTML comment: never rendered; its text is a restricted passage."""

    kind: ClassVar[str] = "comment"
    text: str = ""


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
    texts: list[tuple[int, int, str]]  # source text runs (start, end, text): restricted passages
    order: int = 0
    tokens: list[Any] = field(default_factory=list)  # the markdown-it token tree: filtered and rendered as is

    def pos(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.line_starts, offset) - 1
        return i + 1, offset - self.line_starts[i] + 1

    def headings(self) -> list[Heading]:
        return [n for n in self.nodes if isinstance(n, Heading)]

    def note_defs(self) -> dict[str, FnDef]:
        """Footnote definitions by label (the first one of a label; inline notes included)."""
        out: dict[str, FnDef] = {}
        for n in self.nodes:
            if isinstance(n, FnDef):
                out.setdefault(n.label, n)
        return out


def line_starts(text: str) -> list[int]:
    starts = [0]
    i = text.find("\n")
    while i != -1:
        starts.append(i + 1)
        i = text.find("\n", i + 1)
    return starts


@dataclass(frozen=True)
class Source:
    """The whole source as the core receives it: no paths to read from."""

    config: Config
    chapters: list[Chapter]
    bib: Bibliography
    assets: list[str] = field(default_factory=list)  # docs-relative non-Markdown files


# --------------------------------------------------------------------------- edition model


@dataclass(frozen=True)
class Restricted:
    """One restricted passage an edition must not show (plain text): what the leak gate checks."""

    id: str
    text: str
    origin: str
    marking: str


@dataclass(eq=False)
class Note:
    """A numbered note of an edition (its number is per edition, after filtering)."""

    number: int
    page: str  # docs-relative page name
    label: str  # source label, or "@cite" for a note made by a citation
    html: str = ""
    gap: bool = False
    cites: list[CiteRef] = field(default_factory=list)
    origin: str = ""


@dataclass
class Page:
    name: str
    title: str  # numbered, for nav
    marking: str
    html: str  # the site page's content (banners, cover, body, notes)
    pdf_html: str  # the same body for the PDF: note calls are the notes themselves
    chapter: Chapter | None = None
    visible_runs: list[tuple[int, str]] = field(default_factory=list)  # (source offset, text) shown
    listed: bool = True  # in the navigation and the PDF (False: the 404 page)
    toc: list[tuple[int, str, str]] = field(default_factory=list)  # (level, id, plain title)
    in_pdf: bool = True  # False: a site-only page (the restricted site's redline and changes pages)

    @property
    def visible_text(self) -> str:
        """The chapter's own visible text (for the source-level leak check)."""
        return "\n".join(t for _, t in self.visible_runs)


@dataclass
class Removed:
    """A row of the sanitisation report (never the text itself)."""

    origin: str
    marking: str
    kind: str  # block | span | chapter | note | editor | comment | source | section | note-gap | asset
    words: int


class Section(NamedTuple):
    number: str  # "" when unnumbered
    title: str  # visible text in this edition
    level: int
    target: str  # page#anchor


@dataclass
class AssembledEdition:
    edition: Edition
    pages: list[Page]
    notes: list[Note]
    references: list[str]
    restricted: list[Restricted]
    removed: list[Removed]
    assets: list[str]
    abbreviations: dict[str, str]
    sections: list[Section]
    references_html: dict[str, str] = field(default_factory=dict)
