"""The shared bibliography: pybtex data plus our own key -> file:line index."""

from __future__ import annotations

import re
from typing import Any
from dataclasses import dataclass, field

import pybtex.errors
from pybtex.database import BibliographyData, Entry
from pybtex.database.input.bibtex import Parser

from .config import Scheme, canonical_label
from .diagnostics import Diagnostic, error, warning

REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "article": [("author",), ("title",), ("journal",), ("year",)],
    "book": [("author", "editor"), ("title",), ("publisher",), ("year",)],
    "incollection": [("author",), ("title",), ("booktitle",), ("publisher",), ("year",)],
    "inbook": [("author", "editor"), ("title",), ("chapter", "pages"), ("publisher",), ("year",)],
    "inproceedings": [("author",), ("title",), ("booktitle",), ("year",)],
    "techreport": [("author",), ("title",), ("institution",), ("year",)],
    "report": [("author",), ("title",), ("institution",), ("year",)],
    "phdthesis": [("author",), ("title",), ("school",), ("year",)],
    "mastersthesis": [("author",), ("title",), ("school",), ("year",)],
    "manual": [("title",)],
    "misc": [],
    "online": [("title",), ("url",)],
    "unpublished": [("author",), ("title",), ("note",)],
}
YEARSUFFIX_RE = re.compile(r"[a-z]|none")  # yearsuffix = {b} prints "2010b"; {none}: no letter, as printed
ENTRY_RE = re.compile(r"^[ \t]*@[ \t]*(?P<type>\w+)[ \t]*(?P<open>[{(])[ \t]*(?P<key>[^,\s{}()=\"#%]+)(?P<ws>\s*)(?P<next>.?)",
                      re.M)


@dataclass
class Bibliography:
    entries: dict[str, Entry] = field(default_factory=dict)
    where: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (path, line)
    markings: dict[str, str] = field(default_factory=dict)  # key -> label (only entries with a marking)

    def line_of(self, key: str) -> tuple[str, int]:
        return self.where.get(key, ("", 0))


class _Collecting(Parser):  # type: ignore[misc]  # pybtex is untyped
    """pybtex's BibTeX parser, collecting its errors instead of raising them."""

    def __init__(self, sink: list[Exception], **kw: Any):
        super().__init__(**kw)
        self._sink = sink

    def handle_error(self, err: Exception) -> None:  # noqa: D401 - pybtex hook
        self._sink.append(err)


def load_bibliography(files: list[tuple[str, str]], scheme: Scheme) -> tuple[Bibliography, list[Diagnostic]]:
    """files: (repo-relative path, decoded text)."""
    bib = Bibliography()
    diags: list[Diagnostic] = []
    seen_lower: set[str] = set()  # keys of every file so far, case-folded
    for path, text in files:
        errs: list[Exception] = []
        index: dict[str, int] = {}
        lower_index: dict[str, int] = {}
        offsets: dict[str, int] = {}  # key -> offset of its entry, for the lines of its fields
        for m in ENTRY_RE.finditer(text):
            if m.group("type").lower() in ("string", "preamble", "comment"):
                continue
            ln = text.count("\n", 0, m.start()) + 1
            key = m.group("key")
            if m.group("next") not in (",", "}", ")"):
                # pybtex reads on; BibTeX and biber stop here
                diags.append(error("E-BIB-SYNTAX", f"BibTeX: ',' expected after the key {key!r}", path,
                                   text.count("\n", 0, m.start("ws")) + 1, 1, "write @type{key, field = {…}, …}"))
            first = lower_index.get(key.lower())  # BibTeX (and pybtex) keys ignore case
            if first is not None:
                note = "" if key in index else "; keys ignore case"
                diags.append(error("E-BIB-DUPLICATE", f"duplicate key {key!r} (also at {path}:{first}{note})",
                                   path, ln, 1, "rename or delete one of the entries"))
            else:
                index[key] = ln
                lower_index[key.lower()] = ln
                offsets[key] = m.start()
        diags.extend(_check_braces(text, path))
        data = BibliographyData()
        with pybtex.errors.capture() as captured:
            try:
                parser = _Collecting(errs)
                parser.data = data
                parser.filename = path
                parser.parse_string(text)
            except Exception as exc:  # pybtex raises on some unrecoverable input
                errs.append(exc)
            errs.extend(captured)
        for e in errs:
            ln = getattr(e, "lineno", None) or 0
            msg = str(e)
            if "repeated bibliograhpy entry" in msg or "repeated bibliography entry" in msg:
                continue  # reported above with both locations
            msg = re.sub(r"^syntax error in line \d+: ", "", msg)
            msg = re.sub(r" in line \d+:", ":", msg)  # the line is in the position already
            diags.append(error("E-BIB-SYNTAX", f"BibTeX: {msg}", path, ln, 1 if ln else 0))
        for key, entry in data.entries.items():
            ln = index.get(key, 0)
            same = next((k for k in bib.entries if k.lower() == key.lower()), None) if key.lower() in seen_lower \
                else None
            seen_lower.add(key.lower())
            if same is not None:
                opath, oln = bib.where[same]
                diags.append(error("E-BIB-DUPLICATE", f"duplicate key {key!r} (also at {opath}:{oln})", path, ln, 1,
                                   "keys must be unique across all .bib files"))
                continue
            bib.entries[key] = entry
            bib.where[key] = (path, ln)
            diags.extend(_check_entry(key, entry, path, ln, scheme, bib))
            diags.extend(_check_marking_fields(key, entry, path, text, offsets.get(key, 0), scheme, bib))
    return bib, diags


_BRACE_TOKENS = re.compile(r'[{}()"=@\n]')
_FIELD_AT = re.compile(r"[ \t]*([A-Za-z][\w:.+-]*)[ \t]*=")
_FIELD_NAME_BEFORE = re.compile(r"([A-Za-z][\w:.+-]*)[ \t]*$")
_NEXT_CHAR = re.compile(r"\s*(\S)")


def _check_braces(text: str, path: str) -> list[Diagnostic]:
    """Find the line of an unbalanced brace, which pybtex reports only where it gives up
    (often the next entry or the end of the file), or not at all (an extra '}' ends an entry
    early and its remaining fields are silently dropped as comment text), and a ',' missing
    between two fields. Linear: only the structural characters are visited."""
    out: list[Diagnostic] = []
    depth = 0  # 0 outside entries, 1 inside an entry, >= 2 inside a field value
    closer = ""  # '}' or ')' for the current entry
    in_quote = False
    entry: tuple[str, int] | None = None  # (key, line)
    field: tuple[str, int] | None = None  # (name, line) of the value being read
    closed_at: tuple[str, int] | None = None  # entry last closed, for a stray field after it
    reported_stray = False
    ln, line_start = 1, 0
    pos = 0

    def unclosed() -> None:
        assert field is not None and entry is not None
        out.append(error("E-BIB-SYNTAX", f"BibTeX: the value of {field[0]!r} (line {field[1]}) in entry "
                         f"{entry[0]!r} is not closed", path, field[1], 1,
                         "a '{' or '\"' is missing its closing partner"))

    def value_ended(at: int) -> None:
        m = _NEXT_CHAR.match(text, at)
        if m and field is not None and (m.group(1).isalpha() or m.group(1) in "{\""):
            out.append(error("E-BIB-SYNTAX", f"BibTeX: ',' missing after the value of {field[0]!r}", path, ln, 1,
                             "separate the fields of an entry with commas"))

    while True:
        m = _BRACE_TOKENS.search(text, pos)
        if m is None:
            break
        i, c = m.start(), m.group()
        pos = i + 1
        if c == "\n":
            ln, line_start = ln + 1, i + 1
            if depth >= 2 and field is not None and entry is not None and _FIELD_AT.match(text, i + 1):
                unclosed()
                depth, in_quote, field = 1, False, None  # recover: assume the value ended
            elif depth == 0 and closed_at is not None and not reported_stray:
                fm = _FIELD_AT.match(text, i + 1)
                if fm:
                    out.append(error("E-BIB-SYNTAX", f"BibTeX: field {fm.group(1)!r} stands outside any entry", path,
                                     ln, 1, f"an extra '}}' on line {closed_at[1]} ends entry {closed_at[0]!r} early"))
                    reported_stray = True
            continue
        if depth == 0:
            if c == "@" and not text[line_start:i].strip():
                em = ENTRY_RE.match(text, line_start)
                if em and em.start("type") > i and em.group("type").lower() != "comment":
                    entry = (em.group("key"), ln)
                    closer = "}" if em.group("open") == "{" else ")"
                    depth, field, closed_at, reported_stray = 1, None, None, False
                    pos = em.end("open")
            continue
        if depth == 1:
            if c == closer:
                depth, closed_at = 0, (entry[0] if entry else "", ln)
            elif c == "=":
                fm = _FIELD_NAME_BEFORE.search(text, line_start, i)
                field = (fm.group(1) if fm else "?", ln)
            elif c == "{":
                depth = 2
            elif c == '"':
                depth, in_quote = 2, True
        elif c == "{":  # BibTeX counts every brace, even after a backslash
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 1:
                value_ended(pos)
        elif c == '"' and in_quote and depth == 2:
            depth, in_quote = 1, False
            value_ended(pos)
    if depth >= 2 and field is not None and entry is not None:
        unclosed()
    elif depth >= 1 and entry is not None:
        out.append(error("E-BIB-SYNTAX", f"BibTeX: entry {entry[0]!r} is not closed", path, entry[1], 1,
                         f"end the entry with '{closer}'"))
    return out


def _check_entry(key: str, entry: Entry, path: str, ln: int, scheme: Scheme, bib: Bibliography) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    fields = {k.lower(): v for k, v in entry.fields.items()}
    persons = {k.lower() for k, v in entry.persons.items() if v}
    unverified = [f.strip().lower() for f in re.split(r"[,;]", fields.get("unverified", "")) if f.strip()]
    req = REQUIRED.get(entry.type.lower())
    if req is None:
        out.append(warning("W-BIB-TYPE", f"entry {key!r}: unusual entry type @{entry.type}", path, ln, 1))
        req = []
    missing = []
    for alts in req:
        if not any(a in fields or a in persons for a in alts):
            if not any(a in unverified for a in alts):
                missing.append(" or ".join(alts))
    if missing:
        out.append(warning("W-BIB-FIELDS", f"entry {key!r} (@{entry.type}) lacks required field(s): {', '.join(missing)}",
                           path, ln, 1, "complete the record, or list the field in 'unverified = {…}'"))
    if "yearsuffix" in fields and not YEARSUFFIX_RE.fullmatch(fields["yearsuffix"].strip()):
        out.append(error("E-BIB-YEARSUFFIX", f"entry {key!r}: yearsuffix {fields['yearsuffix']!r} is neither a "
                         "letter nor 'none'", path, ln, 1,
                         "write yearsuffix = {b} to print the year as 2010b, or yearsuffix = {none} for no letter"))
    if unverified:
        out.append(warning("W-BIB-UNVERIFIED", f"entry {key!r}: unverified field(s): {', '.join(unverified)}",
                           path, ln, 1, "verify against a publisher's or library record, then remove from 'unverified'"))
    if "marking" in fields:
        label = fields["marking"].strip()
        if label not in scheme.labels:
            near = [x for x in scheme.labels if canonical_label(x) == canonical_label(label)]
            out.append(error("E-MARK-UNKNOWN", f"entry {key!r}: unknown marking {label!r}", path, ln, 1,
                             f"write {near[0]!r}" if near else f"labels: {', '.join(scheme.labels)}"))
            label = scheme.labels[-1]  # fail closed
        bib.markings[key] = label
    return out


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of a and b, or limit + 1 when it is larger than limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _looks_like_marking(name: str) -> bool:
    n = name.lower()
    return n != "marking" and (_distance(n, "marking", 2) <= 2 or n.startswith("mark") or "marking" in n)


def _check_marking_fields(key: str, entry: Entry, path: str, text: str, start: int, scheme: Scheme,
                          bib: Bibliography) -> list[Diagnostic]:
    """A field that was meant to be ``marking`` (``mark``, ``markng``, ``markings``, ``tlp_marking``)
    or that holds a marking label under another name (``classification = {TLP:AMBER}``) would
    leave the source unmarked, i.e. publishable: an error, and until it is fixed the source
    counts as marked (with that label, else the most restrictive one)."""
    out: list[Diagnostic] = []
    canon = {canonical_label(x): x for x in scheme.labels}
    for name, value in entry.fields.items():
        if name.lower() == "marking":
            continue
        label = canon.get(canonical_label(str(value).strip())) if len(str(value)) < 64 else None
        typo = _looks_like_marking(name)
        if not typo and label is None:
            continue
        marked = label or scheme.labels[-1]
        if key in bib.markings:
            marked = scheme.max(marked, bib.markings[key])
        bib.markings[key] = marked
        fm = re.compile(rf"(?<![\w:.+-]){re.escape(name)}[ \t]*=", re.I).search(text, start)
        ln = text.count("\n", 0, fm.start()) + 1 if fm else bib.where[key][1]
        col = fm.start() - text.rfind("\n", 0, fm.start()) if fm else 1
        what = (f"field {name!r} looks like a misspelt 'marking'" if typo
                else f"field {name!r} holds the marking label {label!r}, but only 'marking' marks a source")
        out.append(error("E-BIB-FIELD", f"entry {key!r}: {what}", path, ln, col,
                         f"write 'marking = {{{label or scheme.labels[-1]}}}' (the field's name exactly)",
                         f"until then the source counts as {marked}"))
    return out
