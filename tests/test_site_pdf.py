"""The repository's own 2012 scan, built for real (both editions, with PDF): what readers get.

Issue 4 (house style on the site and in the PDF) and issue 5 (the 2012 content, with pinned
counts). One build per session (``built_site`` in site_fixtures.py, ~20-30 s); a second build
of the public edition checks that output is reproducible.
"""

from __future__ import annotations

import filecmp
import getpass
import html as htmlmod
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from site_fixtures import ROOT

# ---- pinned content counts (issue 5) --------------------------------------------------------
CHAPTER_FILES = ["index.md", "01-introduction.md", "02-literature-review.md", "03-law-enforcement-trends.md",
                 "04-future-considerations.md", "05-concluding-remarks.md"]
# the print's house style: "1. Introduction" (a chapter), "2.1 Justification" (a section)
CHAPTER_HEADINGS = ["Executive Summary", "1. Introduction", "2. Literature Review", "3. Law Enforcement Trends",
                    "4. Future Considerations", "5. Concluding Remarks and Opportunities"]
SECTIONS = [f"2.{i}" for i in range(1, 7)] + [f"3.{i}" for i in range(1, 7)] + [f"4.{i}" for i in range(1, 4)]
UNNUMBERED_SUBHEADINGS = ["Risk factors for victimisation", "Experience of victimisation",
                          "Online Solicitation Methods"]
NOTES = 113
# notes 79-90 and 98-113 have no surviving text (28 notes)
KNOWN_GAPS = set(range(79, 91)) | set(range(98, 114))
GAP_TEXT = "Note text not available in this digital edition."
# distinct works cited by the public edition (61 bibliography entries, 6 of them never cited)
SOURCES_CITED = 55
MARKING = "TLP:CLEAR"
PDF_NAME = "environmental-scan-2012-{edition}.pdf"

# notes whose text must sit at the foot of the same PDF page as their call:
# (note, words just before the call, start of the note text)
PDF_SAME_PAGE = [
    (1, "sexual interest in children", "Holt et al. (2010) 4; O'Halloran & Quayle (2010) 80"),
    (44, "and not elaborated", "Wood (2011) 137"),
    (55, "higher in sexual deviance", "Babchishin et al. (2011)"),
    (62, "sexually abusive behaviours", "In addition, Elliott & Beech (2009) 191"),
    (103, "more deeply involved", GAP_TEXT),
    (112, "for sexual purposes", GAP_TEXT),
]

CALL_RE = re.compile(r'<sup id="fnref(\d*):(\d+)"><a class="footnote-ref" href="#fn:(\d+)" aria-label="Note \2">(\d+)</a></sup>')
NOTE_LI_RE = re.compile(r'<li id="fn:(\d+)"([^>]*)>(.*?)</li>', re.S)
CITE_RE = re.compile(r'href="references\.html#ref-([^"]+)"')
HEADING_RE = re.compile(r'<h([1-6])(?: [^>]*)?>(.*?)</h\1>', re.S)
BANNER_RE = re.compile(r'<div class="envscan-banner ([^"]*)"[^>]*>(.*?)</div>', re.S)


# ---- helpers --------------------------------------------------------------------------------
def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", htmlmod.unescape(re.sub(r"<[^>]+>", "", fragment))).strip()


def article(page_html: str) -> str:
    """The page's content (Material's <article class="md-content__inner ...">)."""
    m = re.search(r'<article class="md-content__inner[^"]*">(.*?)</article>', page_html, re.S)
    assert m, "page has no Material content article"
    return m.group(1)


class _IgnoreTags(yaml.SafeLoader):
    pass


_IgnoreTags.add_multi_constructor("", lambda loader, suffix, node: None)


def nav_files() -> list[str]:
    """The Markdown files of mkdocs.yml's nav, in order."""
    cfg = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_IgnoreTags)
    out: list[str] = []

    def walk(items):
        for it in items:
            if isinstance(it, str):
                out.append(it)
            elif isinstance(it, dict):
                for v in it.values():
                    walk(v) if isinstance(v, list) else out.append(v)

    walk(cfg["nav"])
    return [f for f in out if isinstance(f, str) and f.endswith(".md")]


def html_path(site: Path, md: str) -> Path:
    stem = md[:-3]
    for cand in (site / f"{stem}.html", site / stem / "index.html",
                 site / ("index.html" if stem == "index" else f"{stem}/index.html")):
        if cand.exists():
            return cand
    raise AssertionError(f"no page for {md} in {site}")


# ---- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def public(built_site) -> Path:
    return built_site / "public"


@pytest.fixture(scope="module")
def pages(public) -> list[tuple[str, str]]:
    """(html file name, html) of the public edition's chapter pages, in mkdocs.yml nav order."""
    return [(html_path(public, md).name, html_path(public, md).read_text(encoding="utf-8")) for md in nav_files()]


@pytest.fixture(scope="module")
def all_pages(public) -> dict[str, str]:
    """Every page of the public site (nav pages, generated references/abbreviations, and 404)."""
    return {str(p.relative_to(public)): p.read_text(encoding="utf-8") for p in sorted(public.rglob("*.html"))}


@pytest.fixture(scope="module")
def references_html(public) -> str:
    return (public / "references.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cited_keys(pages) -> set[str]:
    return {k for _, h in pages for k in CITE_RE.findall(h)}


@pytest.fixture(scope="module")
def pdf(public):
    pypdf = pytest.importorskip("pypdf")
    path = public / PDF_NAME.format(edition="public")
    assert path.is_file(), f"PDF missing: {path}"
    reader = pypdf.PdfReader(str(path))
    texts = [p.extract_text() or "" for p in reader.pages]
    return reader, texts


def _outline(reader) -> list[tuple[int, str, int]]:
    """(depth, title, page index) of the PDF outline."""
    out = []

    def walk(items, depth):
        for it in items:
            if isinstance(it, list):
                walk(it, depth + 1)
            else:
                out.append((depth, it.title, reader.get_destination_page_number(it)))

    walk(reader.outline, 0)
    return out


@pytest.fixture(scope="module")
def pdf_body(pdf) -> list[str]:
    """Text of the PDF pages before the reference list (whose entries are numbered too)."""
    reader, texts = pdf
    starts = [p for _, t, p in _outline(reader) if t.strip() == "References"]
    assert starts, "PDF outline has no 'References' entry"
    return texts[:starts[0]]


def _flat(t: str) -> str:
    """PDF page text with WeasyPrint's hyphenation breaks (U+2010 + newline) undone."""
    return re.sub(r"\s+", " ", re.sub(r"[\u2010\u00ad-]\n", "", t))


# ---- site: notes ----------------------------------------------------------------------------
def test_nav_is_the_six_chapters_in_order(public, pages):
    assert [n for n, _ in pages] == [html_path(public, f).name for f in CHAPTER_FILES]
    h1s = [text_of(HEADING_RE.search(article(h)).group(2)) for _, h in pages]
    assert h1s == CHAPTER_HEADINGS
    # the site's own navigation lists them in the same order
    links: list[str] = []
    for href in re.findall(r'<a href="([^"#]+)" class="md-nav__link', dict(pages)["index.html"]):
        if href not in links:
            links.append(href)
    assert [n for n in links if n in dict(pages)] == [n for n, _ in pages], links


def test_notes_1_to_113_in_order_across_the_site(pages):
    calls, notes = [], []
    for _, h in pages:
        body = article(h)
        calls += [int(n) for nth, n, _, _ in CALL_RE.findall(body) if not nth]
        notes += [int(n) for n, _, _ in NOTE_LI_RE.findall(body)]
    assert calls == list(range(1, NOTES + 1))
    assert notes == list(range(1, NOTES + 1))


def test_every_call_has_its_note_with_backlink_on_the_same_page(pages):
    for name, h in pages:
        body = article(h)
        lis = {int(n): (attrs, inner) for n, attrs, inner in NOTE_LI_RE.findall(body)}
        for nth, n, target, label in CALL_RE.findall(body):
            n = int(n)
            assert int(target) == n and int(label) == n, (name, n)
            assert n in lis, f"{name}: call {n} has no note on the page"
            back = f"fnref{nth}:{n}"
            assert f'class="footnote-backref" href="#{back}"' in lis[n][1], f"{name}: note {n} lacks a backlink to {back}"
        # no orphan notes; the list numbers itself as the report does
        call_nums = {int(n) for _, n, _, _ in CALL_RE.findall(body)}
        assert set(lis) == call_nums, name
        for m in re.finditer(r'<ol start="(\d+)">\s*<li id="fn:(\d+)"', body):
            assert m.group(1) == m.group(2), f"{name}: list starts at {m.group(1)} but first note is {m.group(2)}"
        for n, (attrs, _) in lis.items():
            assert f'value="{n}"' in attrs, (name, n)


def test_known_gaps_render_honestly(pages):
    gaps, texts = set(), {}
    for _, h in pages:
        for n, attrs, inner in NOTE_LI_RE.findall(article(h)):
            texts[int(n)] = text_of(inner)
            if GAP_TEXT in text_of(inner):
                gaps.add(int(n))
    assert gaps == KNOWN_GAPS
    assert len(gaps) == 28
    for n, t in texts.items():
        if n not in KNOWN_GAPS:
            assert len(t.rstrip("↩ ").strip()) > 2, f"note {n} is empty"


# ---- site: citations and references ---------------------------------------------------------
def test_every_citation_link_resolves_to_a_reference_entry(all_pages, references_html):
    ids = set(re.findall(r'\sid="([^"]+)"', references_html))
    missing = {}
    for name, h in all_pages.items():
        for key in CITE_RE.findall(h):
            if f"ref-{key}" not in ids:
                missing.setdefault(key, set()).add(name)
    assert not missing, f"citations without a reference entry: {missing}"


def test_reference_list_is_exactly_the_cited_works(references_html, cited_keys):
    entries = re.findall(r'<li id="ref-([^"]+)"', references_html)
    assert len(entries) == len(set(entries))
    assert set(entries) == cited_keys, (f"cited but not listed: {sorted(cited_keys - set(entries))}; "
                                        f"listed but not cited: {sorted(set(entries) - cited_keys)}")
    assert len(cited_keys) == SOURCES_CITED
    assert len(entries) == SOURCES_CITED


def test_every_reference_entry_links_back_to_where_it_is_cited(public, references_html):
    cache: dict[str, str] = {}
    problems = []
    for key, inner in re.findall(r'<li id="ref-([^"]+)">(.*?)</li>', references_html, re.S):
        backs = re.findall(r'href="([^"#]+)#([^"]+)"', (re.search(r'<span class="envscan-backrefs">(.*?)</span>',
                                                                 inner, re.S) or [None, ""])[1])
        if not backs:
            problems.append(f"{key}: no backlink")
            continue
        for page, anchor in backs:
            h = cache.setdefault(page, (public / page).read_text(encoding="utf-8"))
            m = re.search(rf'\sid="{re.escape(anchor)}"', h)
            if not m:
                problems.append(f"{key}: backlink {page}#{anchor} goes nowhere")
            elif anchor.startswith("fn:"):  # a note: it must cite the work
                if f'"references.html#ref-{key}"' not in h[m.end():h.find("</li>", m.end())]:
                    problems.append(f"{key}: backlink {page}#{anchor} points at a note that does not cite it")
            else:  # a citation in the text: the next citation link is to the work
                nxt = CITE_RE.search(h, m.end())
                if not nxt or nxt.group(1) != key:
                    problems.append(f"{key}: backlink {page}#{anchor} points at a citation of another work")
    assert not problems, "\n".join(problems)


# ---- site: structure ------------------------------------------------------------------------
def test_numbered_sections_in_public_headings(pages):
    h2_numbers, h3_titles = [], []
    for _, h in pages:
        for level, inner in HEADING_RE.findall(article(h)):
            t = text_of(inner)
            if level == "2":
                m = re.match(r"(\d+\.\d+) ", t)
                assert m, f"unnumbered h2: {t!r}"
                h2_numbers.append(m.group(1))
            elif level == "3":
                h3_titles.append(t)
    assert h2_numbers == SECTIONS
    for sub in UNNUMBERED_SUBHEADINGS:
        assert sub in h3_titles, f"sub-heading {sub!r} missing (or numbered): {h3_titles}"


def test_toc_entries_carry_no_footnote_calls(pages):
    """A note called from a heading (2.5 has note 70) must not leak into TOC/navigation text."""
    bad = []
    for name, h in pages:
        headings = {hid: text_of(re.sub(r"<sup\b.*?</sup>", "", inner, flags=re.S))
                    for hid, inner in re.findall(r'<h[1-6] id="([^"]+)"[^>]*>(.*?)</h[1-6]>', article(h), re.S)}
        for hid, label in re.findall(r'<a href="#([^"]+)" class="md-nav__link">(.*?)</a>', h, re.S):
            if hid in headings and text_of(label) != headings[hid]:
                bad.append(f"{name}#{hid}: toc {text_of(label)!r} != heading {headings[hid]!r}")
    assert not bad, "\n".join(sorted(set(bad)))


def test_every_page_has_a_banner_at_top_and_bottom(all_pages):
    for name, h in all_pages.items():
        body = article(h).strip()
        banners = list(BANNER_RE.finditer(body))
        assert len(banners) >= 2, f"{name}: {len(banners)} banner(s)"
        first, last = banners[0], banners[-1]
        assert not text_of(body[:first.start()]), f"{name}: content before the top banner"
        assert not text_of(body[last.end():]), f"{name}: content after the bottom banner"
        for b in (first, last):
            assert text_of(b.group(2)) == MARKING and "marking-tlp-clear" in b.group(1), name


def test_html_language_is_set(all_pages):
    for name, h in all_pages.items():
        assert re.search(r'<html[^>]*\slang="en"', h), name


def test_no_external_resources(public):
    loaders = re.compile(r"<(script|link|img|iframe|source|video|audio|embed)\b([^>]*)>", re.I)
    bad = []
    for p in sorted(public.rglob("*")):
        if p.suffix not in (".html", ".css", ".js") or not p.is_file():
            continue
        text = p.read_text(encoding="utf-8", errors="replace")
        rel = p.relative_to(public)
        if re.search(r"fonts\.(googleapis|gstatic)\.com", text):
            bad.append(f"{rel}: Google Fonts")
        if p.suffix == ".css":
            bad += [f"{rel}: {u}" for u in re.findall(r"""(?:url\(|@import\s+)["']?((?:https?:)?//[^"')\s]+)""", text)]
            continue
        if p.suffix != ".html":
            continue
        for tag, attrs in loaders.findall(text):
            if tag.lower() == "link" and re.search(r'rel="(canonical|alternate)"', attrs):
                continue  # not fetched
            for attr in ("src", "href", "srcset"):
                m = re.search(rf'\s{attr}="([^"]*)"', attrs)
                if m and re.search(r"(^|\s|,)(https?:)?//", m.group(1)):
                    bad.append(f"{rel}: <{tag} {attr}={m.group(1)}>")
    assert not bad, "\n".join(bad)


def test_every_img_has_alt_text(all_pages):
    for name, h in all_pages.items():
        for tag in re.findall(r"<img\b[^>]*>", h, re.I):
            m = re.search(r'\salt="([^"]*)"', tag)
            assert m and m.group(1).strip(), f"{name}: {tag}"


def test_search_index_covers_the_text(public):
    idx = json.loads((public / "search" / "search_index.json").read_text(encoding="utf-8"))
    text = " ".join(d.get("title", "") + " " + d.get("text", "") for d in idx["docs"]).lower()
    for word in ("grooming", "sexting", "forensic awareness", "paedophile"):
        assert word in text, word
    locations = {d["location"].split("#")[0] for d in idx["docs"]}
    assert {f"{Path(f).stem}.html" for f in CHAPTER_FILES} <= locations


def test_landing_page_links_the_pdf(public, pages):
    name = PDF_NAME.format(edition="public")
    assert f'href="{name}"' in dict(pages)["index.html"]
    assert (public / name).is_file()


# ---- PDF ------------------------------------------------------------------------------------
def _note_markers(page_text: str) -> list[int]:
    """The numbers of the notes at the foot of a PDF page ("12. Text"); a chapter's heading
    ("1. Introduction"; "41. Introduction" in the contents, after its page number) is not a note."""
    return [int(m.group(1)) for m in re.finditer(r"(?m)^(\d{1,3})\. .*$", page_text)
            if not any(h in m.group(0) for h in CHAPTER_HEADINGS[1:])]


def test_pdf_notes_1_to_113_in_order(pdf_body):
    markers = [n for t in pdf_body for n in _note_markers(t)]
    assert markers == list(range(1, NOTES + 1))
    gaps = sum(_flat(t).count(GAP_TEXT) for t in pdf_body)
    assert gaps == len(KNOWN_GAPS)


@pytest.mark.parametrize("n,before,note", PDF_SAME_PAGE, ids=[str(x[0]) for x in PDF_SAME_PAGE])
def test_pdf_note_on_the_page_of_its_call(pdf_body, n, before, note):
    flat = [_flat(t) for t in pdf_body]
    call_pages = [i for i, t in enumerate(flat) if f"{before}{n}" in t]
    note_pages = [i for i, t in enumerate(flat) if f"{n}. {note}" in t]
    assert len(call_pages) == 1, f"call {n} ('{before}{n}') found on pages {[i + 1 for i in call_pages]}"
    assert note_pages == call_pages, f"note {n} on pages {[i + 1 for i in note_pages]}, call on {call_pages[0] + 1}"


def test_pdf_notes_never_far_from_their_calls(pdf_body, pages):
    """Every call is found in the PDF text, and its note is on that page or (WeasyPrint defers a
    note that does not fit) the next one -- never before the call, never further away."""
    ctx: dict[int, list[str]] = {}
    for _, h in pages:
        for m in CALL_RE.finditer(h):
            if not m.group(1):
                words = text_of(h[max(0, m.start() - 800):m.start()]).split(" ")
                ctx[int(m.group(2))] = [" ".join(words[-3:]), words[-1]]
    flat = [_flat(t) for t in pdf_body]
    problems, deferred = [], []
    for n in range(1, NOTES + 1):
        note_pages = [i for i, t in enumerate(pdf_body) if n in _note_markers(t)]
        call_pages = []
        for c in ctx[n]:
            call_pages = [i for i, t in enumerate(flat) if f"{c}{n}" in t]
            if len(call_pages) == 1:
                break
        if len(call_pages) != 1 or len(note_pages) != 1:
            problems.append(f"note {n}: call on pages {[i + 1 for i in call_pages]}, note on {[i + 1 for i in note_pages]}")
        elif note_pages[0] - call_pages[0] not in (0, 1):
            problems.append(f"note {n}: call on page {call_pages[0] + 1}, note on page {note_pages[0] + 1}")
        elif note_pages[0] != call_pages[0]:
            deferred.append(n)
    assert not problems, "\n".join(problems)
    print(f"notes deferred to the page after their call: {deferred}")


def test_pdf_marking_on_every_page(pdf):
    _, texts = pdf
    for i, t in enumerate(texts, 1):
        assert t.count(MARKING) >= 2, f"page {i}: marking in header and footer expected, found {t.count(MARKING)}"


def test_pdf_metadata(pdf):
    reader, _ = pdf
    meta = reader.metadata or {}
    cfg = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_IgnoreTags)
    report = next(p["envscan"] for p in cfg["plugins"] if isinstance(p, dict) and "envscan" in p)["report"]
    title = meta.get("/Title") or ""
    assert title.strip() and report["title"] in title
    assert meta.get("/Author") in (None, report["author"]), meta.get("/Author")
    login = getpass.getuser()
    names = {n for n in (os.environ.get("GIT_AUTHOR_NAME"), os.environ.get("USER"), login)
             if n and n not in ("root", "runner", "ci")}
    for k, v in meta.items():
        for n in names:
            assert n.lower() not in str(v).lower(), f"personal name {n!r} in PDF metadata {k}"


def test_pdf_outline_has_the_numbered_sections(pdf):
    reader, _ = pdf
    titles = [t for _, t, _ in _outline(reader)]
    for h in CHAPTER_HEADINGS[1:]:
        assert h in titles, h
    numbered = [re.match(r"(\d+\.\d+) ", t).group(1) for t in titles if re.match(r"\d+\.\d+ ", t)]
    assert numbered == SECTIONS


def test_pdf_has_no_unrendered_markup(pdf):
    """Contents, outline and text show no Markdown source (e.g. the note call of heading 2.5)."""
    reader, texts = pdf
    bad = [f"page {i}: {m}" for i, t in enumerate(texts, 1)
           for m in re.findall(r".{0,30}(?:\[\^[^\]]*\]|\{#[\w-]+\}|\[-?@[\w:-]+).{0,10}", t)]
    bad += [f"outline: {t!r}" for _, t, _ in _outline(reader) if re.search(r"\[\^|\d$", t)]
    assert not bad, "\n".join(bad)


# ---- determinism ----------------------------------------------------------------------------
def test_rebuild_is_byte_identical(built_site, rebuilt_site):
    a, b = built_site / "public", rebuilt_site / "public"
    text_files = sorted(p.relative_to(a) for p in a.rglob("*") if p.suffix in (".html", ".json", ".xml"))
    assert len(text_files) > 10
    _, mismatch, errors = filecmp.cmpfiles(a, b, [str(p) for p in text_files], shallow=False)
    assert not mismatch and not errors, f"differ: {mismatch}, missing: {errors}"
    assert sorted(p.relative_to(b) for p in b.rglob("*")) == sorted(p.relative_to(a) for p in a.rglob("*"))
    # the sanitisation reports go to the project's build/reports/ (both builds write the same
    # bytes there; tests/test_editions.py compares two builds' reports), never under --out
    for out in (built_site, rebuilt_site):
        assert not [p for p in out.rglob("*sanitisation*")], out


def test_rebuild_pdf_is_byte_identical(built_site, rebuilt_site):
    name = PDF_NAME.format(edition="public")
    assert filecmp.cmp(built_site / "public" / name, rebuilt_site / "public" / name, shallow=False)
