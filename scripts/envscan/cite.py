"""House style for citations: short forms, Ibid. (CSL position rules), locators, references.

Short form: one author ``Wood (2011)``, two ``Elliott & Ashfield (2011)``, three or more
(configurable) ``Holt et al. (2010)``; a chapter in an edited volume
``Carr (2012) 97 in Quayle & Ribisl`` (locator before ``in``). Works that share the short
form and year get ``a``/``b`` suffixes per edition, in key order.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from pybtex.database import Entry, Person

from .bib import Bibliography
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


def names_short(persons: list[Person], et_al_min: int) -> str:
    names = [surname(p) for p in persons]
    if not names:
        return ""
    if names[-1].lower() == "others":  # BibTeX "and others"
        return f"{names[0]} et al."
    if len(names) >= et_al_min:
        return f"{names[0]} et al."
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " & " + names[-1]


def author_short(entry: Entry, et_al_min: int) -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    if persons:
        return names_short(persons, et_al_min)
    for f in ("shortauthor", "institution", "organization", "publisher", "key", "title"):
        if entry.fields.get(f):
            return _latex_to_text(entry.fields[f])
    return "Anon."


def year_of(entry: Entry) -> str:
    y = entry.fields.get("year", "")
    return _latex_to_text(y) if y else "n.d."


class Styler:
    """Per-edition citation formatter (holds the a/b disambiguation of that edition)."""

    def __init__(self, bib: Bibliography, cited: list[str], et_al_min: int = 3):
        self.bib = bib
        self.et_al_min = et_al_min
        groups: dict[tuple[str, str], list[str]] = {}
        for key in sorted(set(cited)):
            e = bib.entries.get(key)
            if e is None:
                continue
            groups.setdefault((author_short(e, et_al_min), year_of(e)), []).append(key)
        self.suffix: dict[str, str] = {}
        for keys in groups.values():
            if len(keys) > 1:
                # letters follow the reference list's order within the group: a 'sortkey' field
                # when an editor sets one (to keep a printed edition's letters), else the title
                keys = sorted(keys, key=lambda k: (bib.entries[k].fields.get("sortkey", ""),
                                                   bib.entries[k].fields.get("title", "").casefold(), k))
                for i, k in enumerate(keys):
                    self.suffix[k] = chr(ord("a") + i) if i < 26 else str(i)

    def label(self, key: str) -> tuple[str, str]:
        e = self.bib.entries[key]
        return author_short(e, self.et_al_min), year_of(e) + self.suffix.get(key, "")

    def container(self, key: str) -> str:
        e = self.bib.entries[key]
        if e.type.lower() not in CHAPTER_TYPES:
            return ""
        eds = e.persons.get("editor") or []
        if eds:
            return names_short(eds, self.et_al_min)
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


def render_item(st: Styler, c: CiteRef, position: str, link, lead: bool, escape=None) -> str:
    """One cite, as Markdown (``escape=md_escape``, the default) or HTML (``escape=html.escape``).
    ``link(key, text)`` returns a link to the reference around already-escaped text."""
    escape = escape or md_escape
    loc = escape(format_locator(c.locator))
    prefix = escape(c.prefix)
    if position in ("ibid", "ibid-locator"):
        word = "Ibid." if (lead and not prefix) else "ibid."
        body = link(c.key, word) + (f" {loc}" if position == "ibid-locator" and loc else "")
    else:
        author, year = st.label(c.key)
        text = f"({year})" if c.suppress_author else f"{author} ({year})"
        body = link(c.key, escape(text))
        if loc:
            body += f" {loc}"
        cont = st.container(c.key)
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


STYLE_ID = "pybtex-plain-html-4"
_OTHERS = re.compile(r",? (?:and )?others(?=[.,])")  # BibTeX "and others" -> "et al."


def format_reference_html(st: Styler, key: str, cache: dict[str, str] | None = None) -> str:
    """One reference-list entry as HTML, formatted by pybtex's plain style (lenient).

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
            text = _OTHERS.sub(" et al.", text)
        except Exception:  # noqa: BLE001 - incomplete records still get listed
            text = _fallback(e)
        if cache is not None:
            cache[fp] = text
    return f"<strong>{html.escape(author)} ({html.escape(year)})</strong> {text}"


@lru_cache(maxsize=1)
def _style():
    from pybtex.backends.html import Backend
    from pybtex.style.formatting.plain import Style

    return Style(), Backend()


def _fallback(e: Entry) -> str:
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
    out = html.escape(". ".join(b.rstrip(".") for b in bits)) + "."
    for f, pre in (("doi", "https://doi.org/"), ("url", "")):
        v = e.fields.get(f)
        if v:
            u = pre + v
            out += f' <a href="{html.escape(u, quote=True)}">{html.escape(u)}</a>'
    return out


def sort_key(st: Styler, key: str) -> tuple:
    author, year = st.label(key)
    return (author.casefold(), year, key)
