"""The printed 2012 scan (../shared/seeds) against what readers of the public edition see.

Reads the plain-text extraction of the print (see ../shared/seeds/README.md for its defects)
and the public edition's chapter pages, and compares the body units readers see -- headings,
list items and sentences -- after whitespace and quote normalisation, with the footnote calls
set aside. Used by tests/test_print_2012.py; run as a script it prints the figure and every
unit that differs:

    python tests/print2012.py [SITE_FOLDER]     (default: builds the public edition in memory)

How the print is read: each page's notes follow a long blank line and end where the body
resumes (a line starting with one space after the notes' texts); the markers of notes 73, 77
and 78 were lost, their texts start with two spaces; the page furniture of page 13 (the VGT
address block) is dropped; note calls are glued to the word before them and are removed in
sequence (1, 2, ... 113). Lines are joined (a hyphen at a line end joins without a space).

How units are compared: the edition's units, in reading order, are searched for in the print's
body text, in order; a unit found whole at the current place is identical. The print's text
between two identical units is the counterpart of the edition units between them (or text the
edition lacks): every such span counts as one differing unit per edition unit, at least one.
"""

from __future__ import annotations

import difflib
import html as htmlmod
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
NOTES = 113
LOST_MARKERS = {73, 77, 78}  # note texts whose number line did not survive extraction
FURNITURE = ("The VGT aims to make the internet a safer place", "www.virtualglobaltaskforce.com")


def seed_path() -> Path | None:
    found = sorted(SEEDS.glob("000_*.txt")) if SEEDS.is_dir() else []
    return found[0] if found else None


# --------------------------------------------------------------------------- normalisation

def normalise(s: str) -> str:
    """Whitespace and quotes: curly quotes as straight ones, one space, a hyphen followed by
    white space (a broken line in the print) joined."""
    s = s.replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    s = s.replace("\u00a0", " ")
    s = re.sub(r"\s+", " ", s).strip()
    return re.sub(r"(?<=\w)- (?=\w)", "-", s)


# --------------------------------------------------------------------------- the print


def print_body(text: str) -> tuple[str, int]:
    """The print's body text (notes and page furniture out, note calls removed), one string of
    paragraphs separated by blank lines; and the number of note calls removed."""
    lines = text.split("\n")
    body: list[str] = []
    mode = "body"
    last_note = 0
    expect_text = False
    skip_furniture = False
    for line in lines:
        if skip_furniture:
            if FURNITURE[1] in line:
                skip_furniture, mode = False, "body"
            continue
        if FURNITURE[0] in line:
            skip_furniture = True
            continue
        if mode == "body":
            if len(line) > 20 and not line.strip():
                mode, expect_text = "notes", False
                body.append("")
                continue
            body.append(line)
            continue
        # the notes of a page
        s = line.strip()
        if not s:
            continue
        if re.fullmatch(r"\d{1,3}", s):
            n = int(s)
            if last_note < n <= NOTES:
                last_note, expect_text = n, True
            continue  # a page number otherwise
        if expect_text:
            expect_text = False
            continue
        if line.startswith("  ") and last_note + 1 in LOST_MARKERS:
            last_note += 1
            continue
        if not line.startswith(" "):
            continue  # a note's text continued
        mode = "body"
        body.append(line)
    paras, cur = [], []
    for line in body:
        if line.strip():
            cur.append(line.strip())
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    joined = []
    for p in paras:
        s = ""
        for ln in p:
            if s.endswith("-") and s[-2:-1].isalpha() and ln[:1].isalpha():
                s += ln
            else:
                s += (" " if s else "") + ln
        joined.append(s)
    out = "\n\n".join(joined)
    # note calls: glued to the character before them, in sequence
    pos, found = 0, 0
    for n in range(1, NOTES + 1):
        # after a letter or punctuation, not a section number's "2.1"; else (a call glued to a
        # number, "in 2008104.") after anything but white space
        m = re.compile(rf"(?<=[^\s\d])(?<!\d\.){n}(?!\d)").search(out, pos) or \
            re.compile(rf"(?<=\S){n}(?!\d)").search(out, pos)
        if m is None:
            continue
        out = out[:m.start()] + out[m.end():]
        pos, found = m.start(), found + 1
    return out, found


# --------------------------------------------------------------------------- the edition


class _Units(HTMLParser):
    """Headings, list items and paragraphs of a chapter page's content, in reading order;
    note calls, notes, banners, the cover and editor notes left out."""

    SKIP_CLASSES = ("footnote", "envscan-banner", "envscan-cover", "envscan-editor")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.units: list[tuple[str, str]] = []  # (kind, text)
        self.skip = 0  # depth inside a skipped element
        self.stack: list[tuple[str, bool]] = []  # (tag, skipping)
        self.buf: list[str] | None = None
        self.kind = ""
        self.cite_depth = 0
        self.cites: list[tuple[int, int]] = []
        self.unit_cites: list[list[tuple[int, int]]] = []
        self._cite_start = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        skipping = self.skip > 0 or tag == "sup" or any(c in cls.split() for c in self.SKIP_CLASSES)
        if tag in ("br", "img", "hr"):
            return
        self.stack.append((tag, skipping))
        if skipping:
            self.skip += 1
            return
        if tag in ("h1", "h2", "h3", "h4", "li", "p") and self.buf is None:
            self.buf, self.kind, self.cites = [], "heading" if tag[0] == "h" else ("item" if tag == "li" else "p"), []
        elif tag == "a" and self.buf is not None and (a.get("href") or "").startswith("references.html#"):
            self.cite_depth += 1
            self._cite_start = len("".join(self.buf))

    def handle_endtag(self, tag):
        if not self.stack:
            return
        # close up to the matching tag
        while self.stack:
            t, skipping = self.stack.pop()
            if skipping:
                self.skip -= 1
            elif t == "a" and self.cite_depth and self.buf is not None:
                self.cite_depth -= 1
                self.cites.append((self._cite_start, len("".join(self.buf))))
            elif t in ("h1", "h2", "h3", "h4", "li", "p") and self.buf is not None and \
                    (self.kind != "item" or t == "li") and (self.kind != "p" or t == "p") and \
                    (self.kind != "heading" or t[0] == "h"):
                self.units.append((self.kind, "".join(self.buf)))
                self.unit_cites.append(self.cites)
                self.buf = None
            if t == tag:
                break

    def handle_data(self, data):
        if self.skip == 0 and self.buf is not None:
            self.buf.append(data)


ABBREV = ("et al.", "e.g.", "i.e.", "cf.", "Cf.", "ibid.", "Ibid.", "pp.", "p.", "no.", "vol.", "ch.")
SENTENCE_END = re.compile(r"(?<=[.!?])([\"')\]]*)\s+(?=[A-Z0-9\"'])")


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a paragraph (after normalisation)."""
    spans, start = [], 0
    for m in SENTENCE_END.finditer(text):
        head = text[start:m.start() + len(m.group(1))]
        if not m.group(1) and any(re.search(r"(?:^|[\s(])" + re.escape(a) + "$", head) for a in ABBREV):
            continue
        spans.append((start, m.start() + len(m.group(1))))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


@dataclass
class Unit:
    kind: str  # heading | item | sentence
    text: str  # normalised
    cites: list[tuple[int, int]] = field(default_factory=list)  # citation spans in text


def _norm_with_spans(raw: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """Normalise ``raw`` and map the citation spans onto the normalised text (markers)."""
    marks = sorted([(a, "\x01") for a, _ in spans] + [(b, "\x02") for _, b in spans], reverse=True)
    s = raw
    for off, ch in marks:
        s = s[:off] + ch + s[off:]
    s = normalise(s)
    out, res, open_at = [], [], None
    for ch in s:
        if ch == "\x01":
            open_at = len(out)
        elif ch == "\x02":
            if open_at is not None:
                res.append((open_at, len(out)))
            open_at = None
        else:
            out.append(ch)
    return "".join(out), res


def edition_units(pages_html: list[str]) -> list[Unit]:
    units: list[Unit] = []
    for page in pages_html:
        m = re.search(r'<article class="md-content__inner[^"]*">(.*?)</article>', page, re.S)
        p = _Units()
        p.feed(m.group(1) if m else page)
        for (kind, raw), cites in zip(p.units, p.unit_cites):
            text, spans = _norm_with_spans(raw, cites)
            if not text:
                continue
            if kind == "heading":
                units.append(Unit(kind, text, spans))
                continue
            for a, b in sentences(text):  # a list item of two sentences is two units
                units.append(Unit("sentence" if kind == "p" else kind, text[a:b].strip(),
                                  [(x - a, y - a) for x, y in spans if a <= x and y <= b]))
    return units


# --------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    units: int  # edition units compared
    identical: int
    seed_units: int  # the print's units: the identical ones plus the differing spans' units
    differing: list[tuple[list[Unit], str]]  # (edition units, print text) that differ
    inserted_words: int  # words in the edition that the print does not have
    inserted_by_citations: list[str]  # of those, words inside or right after a citation
    note_calls: int

    def report(self) -> str:
        lines = [f"{self.identical} of {self.seed_units} body units identical to the print "
                 f"({self.units} edition units; {self.note_calls} note calls set aside); "
                 f"{self.inserted_words} word(s) inserted, {len(self.inserted_by_citations)} by citation rendering"]
        for eds, seed in self.differing:
            lines.append("  print:   " + seed)
            for u in eds:
                lines.append("  edition: " + u.text)
        return "\n".join(lines)


WORD = re.compile(r"\S+")


def _inserted(seed: str, eds: list[Unit]) -> tuple[int, list[str]]:
    """Words of the edition units that the print's text lacks, and those that fall inside a
    citation or directly after one."""
    a = [m.group() for m in WORD.finditer(seed)]
    total, by_cite = 0, []
    for u in eds:
        bm = list(WORD.finditer(u.text))
        b = [m.group() for m in bm]
        sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        for op, _, _, j1, j2 in sm.get_opcodes():
            if op not in ("insert", "replace"):
                continue
            total += j2 - j1
            for j in range(j1, j2):
                s, e = bm[j].start(), bm[j].end()
                # inside a citation, or in the run of inserted words right after one
                touch = any(x <= s < y or (y <= s and not u.text[y:s].strip(" ,;")) or
                            (j > j1 and y <= bm[j1].start() and not u.text[y:bm[j1].start()].strip(" ,;"))
                            for x, y in u.cites)
                if touch:
                    by_cite.append(bm[j].group())
    return total, by_cite


def compare(seed_text: str, pages_html: list[str], window: int = 4000) -> Comparison:
    body, calls = print_body(seed_text)
    S = normalise(body)
    units = edition_units(pages_html)
    cursor = 0
    identical = 0
    pending: list[Unit] = []
    differing: list[tuple[list[Unit], str]] = []
    seed_units = 0

    def boundary(p: int, q: int) -> bool:
        return (p == 0 or S[p - 1] == " ") and (q == len(S) or S[q] == " ")

    def flush(upto: int) -> None:
        nonlocal seed_units
        gap = S[cursor:upto].strip()
        if pending or gap:
            differing.append((list(pending), gap))
            seed_units += max(len(pending), 1) if gap else 0
            pending.clear()

    for u in units:
        p = S.find(u.text, cursor, cursor + window + len(u.text))
        while p >= 0 and not boundary(p, p + len(u.text)):
            p = S.find(u.text, p + 1, cursor + window + len(u.text))
        if p < 0:
            pending.append(u)
            continue
        flush(p)
        identical += 1
        seed_units += 1
        cursor = p + len(u.text)
    flush(len(S))
    inserted, by_cite = 0, []
    for eds, seed in differing:
        n, c = _inserted(seed, eds)
        inserted += n
        by_cite += c
    return Comparison(len(units), identical, seed_units, differing, inserted, by_cite, calls)


def pages_in_nav_order(site: Path) -> list[str]:
    import yaml

    class _Ignore(yaml.SafeLoader):
        pass

    _Ignore.add_multi_constructor("", lambda loader, suffix, node: None)
    cfg = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Ignore)
    out = []
    for item in cfg["nav"]:
        (_, md), = item.items()
        name = md[:-3]
        p = site / f"{name}.html"
        if not p.exists():
            p = site / name / "index.html" if name != "index" else site / "index.html"
        out.append(p.read_text(encoding="utf-8"))
    return out


def assembled_pages() -> list[str]:
    """The public edition's chapter pages, assembled in memory (no MkDocs theme around them)."""
    from envscan.edition import assemble
    from envscan.project import load_project

    project, _ = load_project(ROOT)
    ae, _ = assemble(project, project.config.editions["public"], with_pdf=False)
    return [p.html for p in ae.pages if p.chapter is not None]


if __name__ == "__main__":
    sp = seed_path()
    if sp is None:
        sys.exit("no seed text in ../shared/seeds")
    pages = pages_in_nav_order(Path(sys.argv[1])) if len(sys.argv) > 1 else assembled_pages()
    print(compare(sp.read_text(encoding="utf-8"), pages).report())
