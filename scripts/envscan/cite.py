"""House style for citations: short forms, Ibid. (CSL position rules), locators, references.

Short form: one author ``Wood (2011)``, two ``Elliott & Ashfield (2011)`` in notes and
``Elliott and Ashfield (2011)`` in running text (the conjunction is set per context), three or
more (configurable) ``Holt et al. (2010)``; a chapter in an edited volume
``Carr (2012) 97 in Quayle & Ribisl`` (locator before ``in``) in notes, while a narrative
citation (``@carr2012``, ``[-@carr2012]``) is the author and year only: it is part of the
sentence, never rewrites it. Works that share the short form and year get ``a``/``b``
suffixes per edition, unless an entry states its printed suffix (``yearsuffix``).
"""

from __future__ import annotations

import html
import itertools
import re
from functools import lru_cache
from typing import Any, Callable

from pybtex.database import Entry, Person

from .bib import YEARSUFFIX_RE, Bibliography
from .config import CONJUNCTIONS
from .model import CiteRef

CHAPTER_TYPES = {"incollection", "inbook"}




@lru_cache(maxsize=4096)
def _latex_to_text(s: str) -> str:
    if not any(c in s for c in "{}\\$~^"):
        return s
    from pybtex.richtext import Text

    try:
        return str(Text.from_latex(s))
    except Exception:  # noqa: BLE001 - malformed LaTeX in a field: show it as written
        return s.replace("{", "").replace("}", "")


def surname(p: Person) -> str:
    parts = p.prelast_names + p.last_names
    s = " ".join(parts) if parts else " ".join(p.first_names)
    return _latex_to_text(s)


def names_short(persons: list[Person], et_al_min: int, conj: str = "&") -> str:
    names = [surname(p) for p in persons]
    if not names:
        return ""
    if names[-1].lower() == "others":  # BibTeX "and others"
        return f"{names[0]} et al."
    if len(names) >= et_al_min:
        return f"{names[0]} et al."
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + f" {conj} " + names[-1]


def author_short(entry: Entry, et_al_min: int, conj: str = "&") -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    if persons:
        return names_short(persons, et_al_min, conj)
    for f in ("shortauthor", "institution", "organization", "publisher", "key", "title"):
        if entry.fields.get(f):
            return _latex_to_text(entry.fields[f])
    return "Anon."


def year_of(entry: Entry) -> str:
    y = entry.fields.get("year", "")
    return _latex_to_text(y) if y else "n.d."


def _letter(i: int) -> str:
    return chr(ord("a") + i) if i < 26 else str(i)


def printed_suffix(entry: Entry) -> str | None:
    """The year suffix an entry states (``yearsuffix = {b}``; ``{none}``: no letter, as
    printed), or None: assigned per edition. An invalid value counts as unset (bib reports it)."""
    v = entry.fields.get("yearsuffix")
    if v is None or not YEARSUFFIX_RE.fullmatch(v.strip()):
        return None
    return "" if v.strip() == "none" else v.strip()


class Styler:
    """Per-edition citation formatter (holds the a/b disambiguation of that edition)."""

    def __init__(self, bib: Bibliography, cited: list[str], et_al_min: int = 3,
                 conjunctions: dict[str, str] | None = None):
        self.bib = bib
        self.et_al_min = et_al_min
        self.conj = {**CONJUNCTIONS, **(conjunctions or {})}
        groups: dict[tuple[str, str], list[str]] = {}
        for key in sorted(set(cited)):
            e = bib.entries.get(key)
            if e is None:
                continue
            groups.setdefault((author_short(e, et_al_min), year_of(e)), []).append(key)
        self.suffix: dict[str, str] = {}
        for keys in groups.values():
            # a suffix an entry states is kept (a printed edition's letters, or none); the
            # others get the free letters when the group has more than one work, in the
            # reference list's order within the group: a 'sortkey' field if set, else the title
            stated = {k: printed_suffix(bib.entries[k]) for k in keys}
            self.suffix.update({k: v for k, v in stated.items() if v is not None})
            free = sorted((k for k, v in stated.items() if v is None),
                          key=lambda k: (bib.entries[k].fields.get("sortkey", ""),
                                         bib.entries[k].fields.get("title", "").casefold(), k))
            if len(keys) > 1:
                taken = {self.suffix[k] for k in keys if k in self.suffix}
                self.suffix.update(zip(free, (x for x in map(_letter, itertools.count()) if x not in taken)))
        # works a reader cannot tell apart: the same author, year (with suffix) and volume
        printed: dict[tuple[str, str, str], list[str]] = {}
        for keys in groups.values():
            for k in keys:
                printed.setdefault((*self.label(k), self.container(k)), []).append(k)
        self.ambiguous = [ks for ks in printed.values() if len(ks) > 1]

    def label(self, key: str, context: str = "notes") -> tuple[str, str]:
        """(author, year with its suffix) of a work, in a context: 'text' or 'notes'."""
        e = self.bib.entries[key]
        return author_short(e, self.et_al_min, self.conj[context]), year_of(e) + self.suffix.get(key, "")

    def container(self, key: str, context: str = "notes") -> str:
        e = self.bib.entries[key]
        if e.type.lower() not in CHAPTER_TYPES:
            return ""
        eds = e.persons.get("editor") or []
        if eds:
            return names_short(eds, self.et_al_min, self.conj[context])
        return _latex_to_text(e.fields.get("booktitle", ""))


def format_locator(loc: str) -> str:
    """House style prints bare page numbers: 'pp. 130-131' -> '130–131'."""
    loc = loc.strip()
    loc = re.sub(r"^(pp?\.|pages?)\s*", "", loc)
    loc = re.sub(r"(?<=\w)\s*-{1,2}\s*(?=\w)", "–", loc)
    return loc


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def ibid_positions(notes: list[list[CiteRef]], boundaries: set[int] | None = None) -> list[list[str]]:
    """CSL position rules. Returns per cite: 'first' | 'ibid' | 'ibid-locator' | 'subsequent'.

    A cite is ibid when the immediately preceding cite is the same work and either sits in the
    same note or was the only cite of the previous note. A note without cites (or a known gap)
    breaks the chain; so does a chapter boundary (index in ``boundaries`` starts a chapter).
    """
    out: list[list[str]] = []
    prev_note: list[CiteRef] | None = None
    boundaries = boundaries or set()
    for ni, note in enumerate(notes):
        if ni in boundaries:
            prev_note = None
        res = []
        for ci, c in enumerate(note):
            prev = note[ci - 1] if ci > 0 else (prev_note[-1] if prev_note and len(prev_note) == 1 else None)
            if prev is None or prev.key != c.key:
                res.append("first")
            elif prev.locator and not c.locator:
                res.append("subsequent")
            elif c.locator and format_locator(c.locator) != format_locator(prev.locator):
                res.append("ibid-locator")
            else:
                res.append("ibid")
        out.append(res)
        prev_note = note
    return out


def render_item(st: Styler, c: CiteRef, position: str, link: Callable[[str, str], str], lead: bool,
                escape: Callable[[str], str] | None = None, *, context: str = "notes", narrative: bool = False) -> str:
    """One cite, as Markdown (``escape=md_escape``, the default) or HTML (``escape=html.escape``).
    ``link(key, text)`` returns a link to the reference around already-escaped text.

    ``context``: 'text' (running text) or 'notes', for the conjunction of two authors.
    ``narrative``: the cite is part of a sentence (``@key``, ``[-@key]``): the author and year
    only, never the volume a chapter appeared in (that is for notes and the reference list)."""
    escape = escape or md_escape
    loc = escape(format_locator(c.locator))
    prefix = escape(c.prefix)
    if position in ("ibid", "ibid-locator"):
        word = "Ibid." if (lead and not prefix) else "ibid."
        body = link(c.key, word) + (f" {loc}" if position == "ibid-locator" and loc else "")
    else:
        author, year = st.label(c.key, context)
        text = f"({year})" if c.suppress_author else f"{author} ({year})"
        body = link(c.key, escape(text))
        if loc:
            body += f" {loc}"
        cont = "" if narrative or c.suppress_author else st.container(c.key, context)
        if cont:
            body += f" in {escape(cont)}"
    parts = [prefix, body, escape(c.suffix)]
    s = " ".join(p for p in parts if p)
    if lead:
        if s.startswith("<") and ">" in s:  # HTML: the first letter after the opening tag
            k = s.index(">") + 1
            s = s[:k] + _cap(s[k:])
        else:
            s = _cap(s) if not s.startswith("[") else "[" + _cap(s[1:])
    return s


def md_escape(s: str) -> str:
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", s)


# --------------------------------------------------------------------------- references

def entry_fingerprint(key: str, e: Entry) -> str:
    """A stable digest of everything that shapes an entry's formatted text."""
    import hashlib

    parts = [STYLE_ID, key, e.type]
    parts += [f"{k}={v}" for k, v in sorted(e.fields.items())]
    parts += [f"{role}={'|'.join(str(p) for p in people)}" for role, people in sorted(e.persons.items())]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


STYLE_ID = "envscan-house-1"  # refstyle.HouseStyle; change it when the style changes (cached entries)


def format_reference_html(st: Styler, key: str, cache: dict[str, str] | None = None) -> str:
    """One reference-list entry as HTML, formatted by the house style (``refstyle.HouseStyle``,
    a pybtex formatting style); a record it cannot format at all is listed by ``_fallback``.

    ``cache`` (fingerprint -> formatted HTML) lets a build reuse the formatting of unchanged
    entries: pybtex's template engine is the slowest part of assembling an edition."""
    e = st.bib.entries[key]
    author, year = st.label(key)
    fp = entry_fingerprint(key, e) if cache is not None else ""
    text = cache.get(fp) if cache is not None else None
    if text is None:
        try:
            style, backend = _style()
            text = style.format_entry(key, e).text.render(backend)
        except Exception:  # noqa: BLE001 - incomplete records still get listed
            text = _fallback(e)
        if cache is not None:
            cache[fp] = text
    return f"<strong>{html.escape(author)} ({html.escape(year)})</strong> {text}"


@lru_cache(maxsize=1)
def _style() -> tuple[Any, Any]:
    from pybtex.backends.html import Backend

    from .refstyle import HouseStyle

    return HouseStyle(), Backend()


def _fallback(e: Entry) -> str:
    """What a record has, as sentences: the house style's rules hold (case as written, one full
    stop after "et al.", none after a title's own "?" or "!")."""
    people = e.persons.get("author") or e.persons.get("editor") or []
    names = [_latex_to_text(str(p)) for p in people]
    if names and names[-1].lower() == "others":
        who = ", ".join(names[:-1]) + " et al."
    else:
        who = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + (names[-1] if names else "")
    bits = [who] if who else []
    for f in ("title", "booktitle", "journal", "institution", "publisher", "volume", "number", "pages", "year"):
        v = e.fields.get(f)
        if v:
            bits.append(_latex_to_text(v))
    out = html.escape(" ".join(b if b.endswith((".", "?", "!")) else b + "." for b in (x.strip() for x in bits) if b))
    for f, pre in (("doi", "https://doi.org/"), ("url", "")):
        v = e.fields.get(f)
        if v:
            u = pre + v
            out += f' <a href="{html.escape(u, quote=True)}">{html.escape(u)}</a>'
    return out


def sort_key(st: Styler, key: str) -> tuple[str, str, str]:
    author, year = st.label(key)
    return (author.casefold(), year, key)
