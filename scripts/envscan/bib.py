"""The shared bibliography: pybtex data plus our own key -> file:line index."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pybtex.errors
from pybtex.database import BibliographyData, Entry
from pybtex.database.input.bibtex import Parser

from .config import Scheme
from .diagnostics import Diagnostic, error, warning
from .parse import canonical_label

REQUIRED = {
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
ENTRY_RE = re.compile(r"^[ \t]*@[ \t]*(\w+)[ \t]*[{(][ \t]*([^,\s]+)[ \t]*,", re.M)


@dataclass
class Bibliography:
    entries: dict[str, Entry] = field(default_factory=dict)
    where: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (path, line)
    markings: dict[str, str] = field(default_factory=dict)  # key -> label (only entries with a marking)

    def line_of(self, key: str) -> tuple[str, int]:
        return self.where.get(key, ("", 0))


class _Collecting(Parser):
    def __init__(self, sink: list, **kw):
        super().__init__(**kw)
        self._sink = sink

    def handle_error(self, err):  # noqa: D401 - pybtex hook
        self._sink.append(err)


def load_bibliography(files: list[tuple[str, str]], scheme: Scheme) -> tuple[Bibliography, list[Diagnostic]]:
    """files: (repo-relative path, decoded text)."""
    bib = Bibliography()
    diags: list[Diagnostic] = []
    for path, text in files:
        errs: list = []
        index: dict[str, int] = {}
        for m in ENTRY_RE.finditer(text):
            if m.group(1).lower() in ("string", "preamble", "comment"):
                continue
            ln = text.count("\n", 0, m.start()) + 1
            key = m.group(2)
            if key in index:
                diags.append(error("E-BIB-DUPLICATE", f"duplicate key {key!r} (also at {path}:{index[key]})",
                                   path, ln, 1, "rename or delete one of the entries"))
            else:
                index[key] = ln
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
            diags.append(error("E-BIB-SYNTAX", f"BibTeX: {msg}", path, ln, 1 if ln else 0))
        for key, entry in data.entries.items():
            ln = index.get(key, 0)
            if key in bib.entries:
                opath, oln = bib.where[key]
                diags.append(error("E-BIB-DUPLICATE", f"duplicate key {key!r} (also at {opath}:{oln})", path, ln, 1,
                                   "keys must be unique across all .bib files"))
                continue
            bib.entries[key] = entry
            bib.where[key] = (path, ln)
            diags.extend(_check_entry(key, entry, path, ln, scheme, bib))
    return bib, diags


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
