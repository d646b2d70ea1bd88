"""Tests for the leak gate (envscan.gate).

All fixtures are neutral synthetic prose about a harbour authority's budget.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import struct
import time
import zipfile
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envscan.gate import Finding, Gate, Restricted, normalise_words

# 12 words: fingerprinted with word 8-grams.
PASSAGE = "the quarterly budget review of the harbour authority was postponed until spring"
# 2 words: matched exactly, on word boundaries.
SHORT = "Harbour Seven"
PUBLIC = (
    "The committee met on Tuesday to discuss the maintenance schedule for the "
    "northern pier and agreed to publish the tide tables in the usual way."
)

R1 = Restricted("R1", PASSAGE, "docs/02-budget.md:14:3", "TLP:AMBER")
R2 = Restricted("R2", SHORT, "docs/02-budget.md:20:1", "TLP:AMBER")


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate([R1, R2])


def ids(findings: list[Finding]) -> set[str]:
    return {f.restricted_id for f in findings}


def by_location(findings: list[Finding]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in findings:
        out.setdefault(f.location, set()).add(f.restricted_id)
    return out


def page(body: str, title: str = "Harbour budget") -> str:
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{title}</title></head><body>{body}</body></html>"
    )


def write(root: Path, rel: str, data: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------


def test_normalise_words_is_invariant_to_typography():
    plain = normalise_words("the harbour authority's well-known reserve fund")
    fancy = normalise_words(
        "ＴＨＥ Har\u00adbour AUTHORITY\u2019s well\u2011known \u201cre\u200bserve\u201d fund"
    )
    # i/l/1, 0/o and rn/m are folded together (UTS #39 treats them as confusable)
    assert fancy == plain == [
        "the", "harbour", "authorlty", "s", "well", "known", "reserve", "fund",
    ]


def test_normalise_words_rejoins_line_break_hyphenation_and_unescapes():
    assert normalise_words("post-\n  poned &amp; re\u2010\r\ntendered") == [
        "postponed", "retendered",
    ]
    assert normalise_words("caf&eacute; &#8220;x&#8221;") == ["cafe", "x"]
    assert normalise_words("") == []


# --------------------------------------------------------------------------
# scan_text
# --------------------------------------------------------------------------


def test_scan_text_finds_passage_once_per_location(gate):
    text = f"{PUBLIC} {PASSAGE.upper()}. {PUBLIC} {PASSAGE}"
    findings = gate.scan_text(text, "notes.txt")
    assert findings == [Finding("R1", R1.origin, "notes.txt", "fingerprint")]


def test_partial_overlap_of_eight_words_is_reported(gate):
    # Any shared 8-gram counts: a paraphrase that keeps 8 words in a row leaks.
    text = "In brief: quarterly budget review of the harbour authority was delayed."
    assert ids(gate.scan_text(text, "x")) == {"R1"}
    # Seven words in a row are not enough.
    assert gate.scan_text("budget review of the harbour authority was", "x") == []


def test_short_item_matches_whole_words_only(gate):
    assert gate.scan_text("Crew of harbour seven, reporting.", "x") == [
        Finding("R2", R2.origin, "x", "exact")
    ]
    for clean in ("Harbour Sevenoaks", "harbourseven", "Harbour Sevens", "seven harbour"):
        assert gate.scan_text(clean, "x") == []
    port = Gate([Restricted("R9", "port", "docs/a.md:1:1", "TLP:AMBER")])
    assert port.scan_text("the annual report and the airport", "x") == []
    assert ids(port.scan_text("the port of call", "x")) == {"R9"}


def test_typography_variants_are_found(gate):
    variant = (
        "ＴＨＥ \u201cQuar\u00adterly\u201d bud\u200bget \u2014 REVIEW of the har-\n"
        "bour au\u2060thority was post\u2011\r\nponed\u2026 until Spring"
    )
    assert ids(gate.scan_text(variant, "x")) == {"R1"}


def test_compound_hyphen_broken_at_line_end_still_matches():
    r = Restricted(
        "R5", "the well-known reserve fund of the harbour authority was frozen",
        "docs/a.md:3:1", "TLP:AMBER",
    )
    g = Gate([r])
    assert ids(g.scan_text("The well-\nknown reserve fund of the harbour authority", "x")) == {"R5"}


# --------------------------------------------------------------------------
# file types
# --------------------------------------------------------------------------


def test_html_text_split_by_tags(gate, tmp_path):
    body = (
        '<p>The quarterly <em>bud</em>get <a href="#r">review</a>\n'
        "<strong>of</strong> the <span class=\"x\">harbour</span></p>"
        "<div>authority was postponed</div><p>until spring.</p>"
    )
    write(tmp_path, "index.html", page(body))
    assert by_location(gate.scan_tree(tmp_path)) == {"index.html": {"R1"}}


def test_html_attributes(gate, tmp_path):
    body = (
        f'<p title="{PASSAGE.title()}">Tide tables</p>'
        f'<img src="pier.png" alt="Photo: {SHORT} crew">'
    )
    write(tmp_path, "index.html", page(body))
    assert by_location(gate.scan_tree(tmp_path)) == {
        "index.html (attribute title)": {"R1"},
        "index.html (attribute alt)": {"R2"},
    }


def test_html_comments_scripts_and_meta(gate, tmp_path):
    write(tmp_path, "a.html", page(f"<!-- draft: {SHORT} -->{PUBLIC}"))
    write(tmp_path, "b.html", page("<script>var s = 'the quarterly budget review of the "
                                   "harbour\\u00a0authority';</script>"))
    write(tmp_path, "c.html", page(PUBLIC).replace(
        "<head>", f'<head><meta name="description" content="{PASSAGE}">'))
    assert by_location(gate.scan_tree(tmp_path)) == {
        "a.html (comment)": {"R2"},
        "b.html (script)": {"R1"},
        "c.html (attribute content)": {"R1"},
    }


def test_search_index_json_with_escaped_unicode(gate, tmp_path):
    text = (
        "<p>The quarterly <code>budget</code> review of the harbour authority\u2019s "
        "board \u2014 postponed</p><p>The quarterly budget review of the harbour "
        "authority was postponed until spring</p>"
    )
    index = {"config": {"lang": ["en"]}, "docs": [
        {"location": "", "title": "Home", "text": PUBLIC},
        {"location": "budget/", "title": "Budget", "text": text},
    ]}
    raw = json.dumps(index, ensure_ascii=True)
    assert "\\u2019" in raw and "\\u2014" in raw
    write(tmp_path, "search/search_index.json", raw)
    assert by_location(gate.scan_tree(tmp_path)) == {"search/search_index.json": {"R1"}}


def test_gzipped_sitemap(gate, tmp_path):
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://example.org/budget/</loc></url>"
        "<url><loc>https://example.org/crews/harbour-seven/</loc></url></urlset>"
    )
    write(tmp_path, "sitemap.xml.gz", gzip.compress(xml.encode()))
    write(tmp_path, "sitemap.xml", xml.replace("harbour-seven", "tide-tables"))
    assert gate.scan_tree(tmp_path) == [
        Finding("R2", R2.origin, "sitemap.xml.gz", "exact")
    ]


def test_markdown_source_reports_line(gate, tmp_path):
    md = (
        "# Budget\n\n"
        f"{PUBLIC}\n\n"
        "The quarterly budget [review](review.md) of the harbour\n"
        "authority was postponed until spring.[^1]\n"
    )
    write(tmp_path, "docs/x.md", md)
    assert [f.location for f in gate.scan_tree(tmp_path)] == ["docs/x.md:5"]


def test_js_css_and_text_assets(gate, tmp_path):
    write(tmp_path, "assets/app.js",
          'const a="the quarterly budget review of the harbour\\nauthority was postponed";')
    write(tmp_path, "assets/site.css", f'.x::after {{ content: "{SHORT}"; }}')
    write(tmp_path, "assets/app.js.map", json.dumps(
        {"version": 3, "sourcesContent": [f"// {PASSAGE}\n"]}))
    write(tmp_path, ".hidden/notes", f"{PUBLIC}\n{SHORT}\n")
    assert by_location(gate.scan_tree(tmp_path)) == {
        ".hidden/notes:2": {"R2"},
        "assets/app.js": {"R1"},
        "assets/app.js.map": {"R1"},
        "assets/site.css:1": {"R2"},
    }


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    for kind, body in chunks:
        out += chunk(kind, body)
    out += chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    return out


def test_binary_metadata(gate, tmp_path):
    # compressed PNG text chunk: invisible to `strings`
    write(tmp_path, "img/a.png", _png([(b"zTXt", b"Comment\x00\x00" + zlib.compress(PASSAGE.encode()))]))
    # XMP packet in a JPEG APP1 segment and a UTF-16LE comment
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><dc:title>" + PASSAGE.encode() + b"</dc:title></x:xmpmeta>"
    com = SHORT.encode("utf-16-le")
    jpeg = (b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp
            + b"\xff\xfe" + struct.pack(">H", len(com) + 2) + com + b"\xff\xd9")
    write(tmp_path, "img/b.jpg", jpeg)
    write(tmp_path, "img/c.png", _png([(b"tEXt", b"Comment\x00tide tables")]))
    assert by_location(gate.scan_tree(tmp_path)) == {
        "img/a.png (chunk zTXt)": {"R1"},
        "img/b.jpg (APP1 XMP)": {"R1"},
        "img/b.jpg (COM)": {"R2"},
    }


def test_data_uri_and_percent_encoding(gate, tmp_path):
    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><text>{SHORT}</text></svg>'
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    href = "https://example.org/?q=" + PASSAGE.replace(" ", "%20")
    write(tmp_path, "index.html", page(f'<img src="{uri}"><a href="{href}">search</a>'))
    assert by_location(gate.scan_tree(tmp_path)) == {
        "index.html (attribute href)": {"R1"},
        "index.html (data URI 1)": {"R2"},
    }


def test_zip_members(gate, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", PUBLIC)
        zf.writestr("notes/minutes.html", page(PASSAGE))
    write(tmp_path, "downloads/pack.zip", buf.getvalue())
    assert by_location(gate.scan_tree(tmp_path)) == {"downloads/pack.zip (member 2)": {"R1"}}


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------


def test_pdf_metadata_and_link_annotation_pypdf(gate, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    from pypdf.annotations import Link

    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Title": PASSAGE.title(), "/Author": "Tide Office"})
    writer.add_annotation(0, Link(rect=(10, 10, 100, 30), url="https://example.org/harbour-seven"))
    writer.add_outline_item(title="Crew of Harbour Seven", page_number=0)
    buf = io.BytesIO()
    writer.write(buf)
    write(tmp_path, "report.pdf", buf.getvalue())
    assert by_location(gate.scan_tree(tmp_path)) == {
        "report.pdf (metadata /Title)": {"R1"},
        "report.pdf (annotations page 1)": {"R2"},
        "report.pdf (outline)": {"R2"},
    }


def _weasy_pdf(html_text: str) -> bytes:
    weasyprint = pytest.importorskip("weasyprint")
    pytest.importorskip("pypdf")
    return weasyprint.HTML(string=html_text).write_pdf()


def test_pdf_page_text_and_title_weasyprint(gate, tmp_path):
    pdf = _weasy_pdf(
        f"<html><head><title>{PASSAGE}</title><style>p {{ text-align: justify; hyphens: auto }}"
        "</style></head><body>"
        f"<p lang=en>{PUBLIC} {PUBLIC} {PASSAGE.capitalize()}. {PUBLIC}</p></body></html>"
    )
    write(tmp_path, "report.pdf", pdf)
    assert by_location(gate.scan_tree(tmp_path)) == {
        "report.pdf (page 1)": {"R1"},
        "report.pdf (metadata /Title)": {"R1"},
    }


def test_pdf_passage_across_page_break_with_running_header(gate, tmp_path):
    pdf = _weasy_pdf(
        "<html><head><title>Tide tables</title><style>"
        "@page { size: A6; @top-center { content: 'Annual accounts of the port office' }"
        " @bottom-center { content: counter(page) } }"
        "</style></head><body>"
        f"<p>{PUBLIC} The quarterly budget review of the</p>"
        "<p style='break-before: page'>harbour authority was postponed until spring.</p>"
        "</body></html>"
    )
    write(tmp_path, "report.pdf", pdf)
    assert by_location(gate.scan_tree(tmp_path)) == {"report.pdf (text across pages)": {"R1"}}


def test_unreadable_pdf_fails_closed(gate, tmp_path):
    write(tmp_path, "report.pdf", b"%PDF-1.7\n this is not really a PDF")
    write(tmp_path, "other.pdf", b"plain text saved with the wrong extension")
    write(tmp_path, "sitemap.xml.gz", b"\x1f\x8b\x08\x00 truncated")
    findings = gate.scan_tree(tmp_path)
    assert [(f.location, f.kind) for f in findings] == [
        ("other.pdf", "unreadable"),
        ("report.pdf", "unreadable"),
        ("sitemap.xml.gz", "unreadable"),
    ]
    assert all(f.restricted_id == "" for f in findings)


# --------------------------------------------------------------------------
# tree behaviour
# --------------------------------------------------------------------------


def _public_site(root: Path) -> None:
    write(root, "index.html", page(f"<h1>Tide tables</h1><p>{PUBLIC}</p>"
                                   '<img src="pier.png" alt="The northern pier at dawn">'))
    write(root, "budget/index.html", page(f"<p>{PUBLIC}</p><!-- layout -->"))
    write(root, "search/search_index.json", json.dumps(
        {"docs": [{"location": "", "title": "Home", "text": f"<p>{PUBLIC}</p>"}]}))
    write(root, "sitemap.xml.gz", gzip.compress(
        b"<urlset><url><loc>https://example.org/budget/</loc></url></urlset>"))
    write(root, "assets/site.css", "body { margin: 0 }")
    write(root, "assets/app.js", "console.log('tide tables');")
    write(root, "pier.png", _png([(b"tEXt", b"Software\x00synthetic")]))
    write(root, ".nojekyll", b"")


def test_clean_tree_has_no_findings(gate, tmp_path):
    _public_site(tmp_path)
    assert gate.scan_tree(tmp_path) == []


def test_symlinks_are_reported_not_followed(gate, tmp_path):
    _public_site(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    write(outside, "secret.html", page(PASSAGE))
    os.symlink(outside / "secret.html", tmp_path / "link.html")
    os.symlink(outside, tmp_path / "linked-dir")
    assert gate.scan_tree(tmp_path) == [
        Finding("", "", "link.html", "symlink"),
        Finding("", "", "linked-dir", "symlink"),
    ]


def test_findings_never_contain_restricted_text(gate, tmp_path):
    _public_site(tmp_path)
    write(tmp_path, "harbour-seven/index.html", page(PASSAGE, title=SHORT))
    write(tmp_path, "harbour-seven/notes.md", f"{PUBLIC}\n\n{PASSAGE}\n")
    findings = gate.scan_tree(tmp_path)
    assert {f.kind for f in findings} == {"fingerprint", "exact"}
    assert any(f.location.endswith("(path)") for f in findings)
    for f in findings:
        for field in (f.restricted_id, f.origin, f.location, f.kind, repr(f)):
            words = normalise_words(field)
            assert "harbour" not in words
            assert "quarterly" not in words
    assert by_location(findings) == {
        "<name withheld: R2>/index.html": {"R1", "R2"},
        "<name withheld: R2>/notes.md:3": {"R1"},
        "<name withheld: R2> (path)": {"R2"},
    }


def test_allowed_overlap_is_not_reported(tmp_path):
    statute = ("Under section 12 of the Harbours Act the authority must publish "
               "its accounts within six months")
    r = Restricted("R4", statute + ", and the tide office audit found it had not.",
                   "docs/03-audit.md:8:1", "TLP:AMBER")
    gate = Gate([r, R2], allow=[statute, "the Harbour Seven Trust"])
    assert gate.scan_text(f"{PUBLIC} {statute}.", "x") == []
    assert ids(gate.scan_text("months, and the tide office audit found it had not", "x")) == {"R4"}
    # a short item wholly inside an allowed text is never reported
    assert gate.scan_text(f"Crew of {SHORT}.", "x") == []
    assert gate.unchecked == ("R2",)


def test_scan_is_fast_enough(gate, tmp_path):
    # ~1.5 MB of HTML over 50 pages; the real budget is 0.5 s for ~3 MB.
    nav = "".join(f'<li class="nav-item"><a href="/p{i}/" title="Page {i}">Page {i}</a></li>'
                  for i in range(100))
    body = f"<nav><ul>{nav}</ul></nav>" + "".join(f"<p>{PUBLIC}</p>" for i in range(120))
    for i in range(50):
        write(tmp_path, f"p{i}/index.html", page(body))
    start = time.process_time()
    assert gate.scan_tree(tmp_path) == []
    assert time.process_time() - start < 2.0


# --------------------------------------------------------------------------
# differential: the gate's fast markup reader sees what html.parser sees
# --------------------------------------------------------------------------

TRICKY_HTML = [
    page('<p title="a > b: the pier">Tide <em>tables</em> for the northern pier</p>'),
    '<P CLASS=lead TITLE=Berth&#32;twelve>Crane <B>hire</B> rates</P>',
    "<textarea>ledger entries for the annual survey</textarea><br/>Vessel berth tariff",
    "<script>var a = '<!--'; var b = 'dredging schedule';</script><p>after script</p>",
    "<style>.x::after { content: 'channel survey' }</style><!-- crane hire notes -->",
    "<svg><title>Quay plan</title><text>northern <tspan>quay</tspan> wall</text></svg>",
    '<iframe srcdoc="&lt;p&gt;pilotage &lt;b&gt;fees&lt;/b&gt;&lt;/p&gt;"></iframe>',
    "<ul><li>mooring<li>inspection<li>audit</ul><img alt='tide gauge readings' src=x.png>",
    '<a href="/budget/#tariff" data-tooltip="annual tariff review">Tariffs</a>',
]


class _Reference(HTMLParser):
    """html.parser's view: text runs, attribute values, comments, raw text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.chunks.extend(v for _, v in attrs if v)

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.chunks.append(data)

    def handle_comment(self, data):
        self.chunks.append(data)


@pytest.mark.parametrize("doc", TRICKY_HTML)
def test_markup_reader_sees_everything_html_parser_sees(doc):
    ref = _Reference()
    ref.feed(doc)
    ref.close()
    chunks = [c for c in ref.chunks if normalise_words(c)]
    assert chunks
    g = Gate([Restricted(f"T{i}", c, "ref", "TLP:AMBER") for i, c in enumerate(chunks)], n=3)
    found = ids(g.scan_bytes(doc.encode(), "index.html"))
    assert found == {f"T{i}" for i in range(len(chunks))}


# --------------------------------------------------------------------------
# property: a passage survives arbitrary tag soup
# --------------------------------------------------------------------------

VOCAB = ("harbour authority budget review quarterly the of and to a in for pier tide "
         "committee ledger vessel berth tariff survey channel crane annual report").split()
SEPARATORS = [" ", "\n", "  ", " <em>", "</em> ", " <b>", "</b> ", "<br>", "</p>\n<p>",
              '<span class="x"> ', " </span>", "&nbsp;", " <!-- note --> ", "<div>",
              "</div>", "<li>", " <a href=\"#x\" title=\"t\">", "</a> "]

canary = st.text(alphabet="bcdfghjklmnpqrstvwxz", min_size=3, max_size=8).map(lambda s: "qz" + s)


@st.composite
def passage_and_page(draw):
    n = draw(st.integers(min_value=8, max_value=20))
    # every fourth word is a fresh canary, so every 8-word window holds one
    words = [draw(canary) if i % 4 == 0 else draw(st.sampled_from(VOCAB + ["qz"]))
             for i in range(n)]
    words = [w if w != "qz" else draw(canary) for w in words]
    public = draw(st.lists(st.sampled_from(VOCAB), min_size=0, max_size=60))
    at = draw(st.integers(min_value=0, max_value=len(public)))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=n + len(public) + 1,
                         max_size=n + len(public) + 1))
    cases = draw(st.lists(st.sampled_from([str.lower, str.upper, str.title]),
                          min_size=n, max_size=n))
    shown = [c(w) for c, w in zip(cases, words)]
    return " ".join(words), public, at, shown, seps


def _soup(tokens: list[str], seps: list[str]) -> str:
    out = [seps[0]]
    for tok, sep in zip(tokens, seps[1:]):
        out.append(tok)
        out.append(sep)
    return "<p>" + "".join(out) + "</p>"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(passage_and_page())
def test_property_passage_found_in_any_tag_soup(case):
    passage, public, at, shown, seps = case
    g = Gate([Restricted("R1", passage, "docs/p.md:1:1", "TLP:AMBER")])
    with_passage = public[:at] + shown + public[at:]
    html_with = page(_soup(with_passage, seps))
    html_without = page(_soup(public, seps[: len(public) + 1]))
    found = g.scan_bytes(html_with.encode(), "index.html")
    assert [(f.restricted_id, f.kind) for f in found] == [("R1", "fingerprint")]
    assert g.scan_bytes(html_without.encode(), "index.html") == []


def test_memo_rescans_changed_files_and_reuses_unchanged(tmp_path):
    """A tree scanned while it is being written: only bytes actually scanned are trusted."""
    passage = "the quarterly budget review of the harbour authority was postponed again"
    g = Gate([Restricted("R1", passage, "docs/a.md:3:1", "TLP:AMBER")])
    memo: dict = {}
    page = tmp_path / "page.html"
    page.write_text("<p>the quarterly budget review of the</p>", encoding="utf-8")  # half written
    other = tmp_path / "other.html"
    other.write_text(f"<p>{passage}</p>", encoding="utf-8")
    first = g.scan_tree(tmp_path, memo)
    assert [f.location for f in first] == ["other.html"]
    page.write_text(f"<p>{passage}</p>", encoding="utf-8")  # finished: now it leaks
    second = g.scan_tree(tmp_path, memo)
    assert sorted(f.location for f in second) == ["other.html", "page.html"]
