"""The leak gate against copies written to slip past it (issue 8, class 6).

Each restricted passage is disguised the way an attacker (or an unlucky copy-paste) would --
a homoglyph, an invisible filler, a dropped or added accent, fullwidth or mathematical
letters -- and planted in every place the published output can carry text: HTML text and
attributes, the search index, a gzipped sitemap, PNG/JPEG/GIF/WebP metadata, SVG.  Every
one must be found; ordinary text that merely shares a common word must not be.

All fixtures are neutral synthetic prose about harbours, ferries and budgets.
"""

from __future__ import annotations

import gzip
import json
import struct
import urllib.parse
import zlib
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from envscan.gate import Finding, Gate, Restricted, normalise_words

# 14 words: fingerprinted by word 8-grams.  Carries an accent ("café") to drop.
LONG = "The quarterly budget review of the harbour café was postponed until the spring tide"
# 7 words: shorter than the 8-word window, matched whole.
SEVEN = "The night ferry timetable was quietly withdrawn"
# a 2-word name and a 3-word name (whose 2-word parts are distinctive too)
NAME2 = "Operation Kestrel"
NAME3 = "Operation Harbour Light"

RESTRICTED = [
    Restricted("R1", LONG, "docs/02-budget.md:14:3", "TLP:AMBER"),
    Restricted("R2", SEVEN, "docs/02-budget.md:20:1", "TLP:AMBER"),
    Restricted("R3", NAME2, "docs/03-ops.md:4:9", "TLP:RED"),
    Restricted("R4", NAME3, "docs/03-ops.md:9:1", "TLP:RED"),
]
PUBLIC = ("The committee met on Tuesday to discuss the maintenance schedule for the northern "
          "pier and agreed to publish the tide tables in the usual way.")


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate(RESTRICTED)


def ids(findings: list[Finding]) -> set[str]:
    return {f.restricted_id for f in findings if f.restricted_id}


def kinds(findings: list[Finding]) -> set[str]:
    return {f.kind for f in findings}


# --------------------------------------------------------------------------------------
# disguises: each changes one or a few characters of the text as a reader would not notice
# --------------------------------------------------------------------------------------


def _swap(text: str, table: dict[str, str], count: int = 1) -> str:
    """Replace the first ``count`` characters of ``text`` found in ``table``."""
    out = []
    for ch in text:
        if count and ch in table:
            out.append(table[ch])
            count -= 1
        else:
            out.append(ch)
    return "".join(out)


def _in_word(text: str, insert: str) -> str:
    """``insert`` inside the longest word (after its second letter)."""
    words = text.split(" ")
    i = max(range(len(words)), key=lambda k: len(words[k]))
    words[i] = words[i][:2] + insert + words[i][2:]
    return " ".join(words)


def _word_map(text: str, fn: Callable[[str], str], index: int = -1) -> str:
    words = text.split(" ")
    words[index] = fn(words[index])
    return " ".join(words)


def _fullwidth(word: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)


def _math_bold(word: str) -> str:
    out = []
    for c in word:
        if "a" <= c <= "z":
            out.append(chr(0x1D41A + ord(c) - ord("a")))
        elif "A" <= c <= "Z":
            out.append(chr(0x1D400 + ord(c) - ord("A")))
        else:
            out.append(c)
    return "".join(out)


CYRILLIC = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441",
            "H": "\u041d", "O": "\u041e", "T": "\u0422", "K": "\u041a"}
GREEK = {"o": "\u03bf", "v": "\u03bd", "O": "\u039f", "N": "\u039d", "T": "\u03a4", "K": "\u039a"}

DISGUISES: dict[str, Callable[[str], str]] = {
    "plain": lambda t: t,
    "cyrillic a/e/o/p/c": lambda t: _swap(t, {k: v for k, v in CYRILLIC.items() if k.islower()}, 5),
    "cyrillic capital": lambda t: _swap(t, {k: v for k, v in CYRILLIC.items() if k.isupper()}),
    "greek o/nu": lambda t: _swap(t, GREEK, 3),
    "zero-width space": lambda t: _in_word(t, "\u200b"),
    "soft hyphen": lambda t: _in_word(t, "\u00ad"),
    "hangul filler": lambda t: _in_word(t, "\u3164"),
    "word joiner + variation selector": lambda t: _in_word(t, "\u2060\ufe0f"),
    "combining accent added": lambda t: _in_word(t, "\u0301"),
    "accent dropped": lambda t: t.replace("é", "e"),
    "fullwidth": lambda t: _word_map(t, _fullwidth),
    "mathematical bold": lambda t: _word_map(t, _math_bold),
    "homoglyph + filler + dropped accent": lambda t: _in_word(
        _swap(t.replace("é", "e"), {"o": "\u043e"}), "\u200b"),
    "upper case + greek": lambda t: _swap(t.upper(), GREEK, 2),
}


@pytest.mark.parametrize("name", sorted(DISGUISES))
def test_disguise_changes_the_text_but_not_the_words(name):
    text = DISGUISES[name](LONG + " " + NAME3)
    if name != "plain":
        assert text != LONG + " " + NAME3
    assert normalise_words(text) == normalise_words(LONG + " " + NAME3)


# --------------------------------------------------------------------------------------
# carriers: where the disguised text is planted
# --------------------------------------------------------------------------------------


def _page(body: str, head: str = "") -> bytes:
    return ("<!doctype html><html><head><meta charset=utf-8><title>Tide tables</title>"
            f"{head}</head><body><p>{PUBLIC}</p>{body}</body></html>").encode()


def _png(chunks: list[tuple[bytes, bytes]], trailing: bytes = b"") -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    for kind, body in chunks:
        out += chunk(kind, body)
    return out + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"") + trailing


def _icc(description: str) -> bytes:
    """A minimal ICC profile whose 'desc' tag is a UTF-16BE 'mluc' record."""
    text = description.encode("utf-16-be")
    tag = b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(text), 28) + text
    header = bytearray(128)
    header[36:40] = b"acsp"
    table = struct.pack(">I", 1) + b"desc" + struct.pack(">II", 144, len(tag))
    profile = bytes(header) + table + tag
    return struct.pack(">I", len(profile)) + profile[4:]


def _itxt(text: str, compressed: bool) -> bytes:
    data = zlib.compress(text.encode()) if compressed else text.encode()
    return b"Description\0" + (b"\1\0" if compressed else b"\0\0") + b"en\0\0" + data


def _jpeg(*segments: tuple[int, bytes], trailing: bytes = b"") -> bytes:
    out = b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\1\1\0\0\1\0\1\0\0"
    for marker, body in segments:
        out += bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body
    sos = b"\x01\x01\x00\x00\x3f\x00"
    out += b"\xff\xda" + struct.pack(">H", len(sos) + 2) + sos + b"\x12\xff\x00\x34\xff\xd0\x56"
    return out + b"\xff\xd9" + trailing


def _sub_blocks(data: bytes) -> bytes:
    return b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255)) + b"\0"


def _gif(comment: bytes) -> bytes:
    return (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0, 0, 0)
            + b"\x21\xfe" + _sub_blocks(comment)
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02" + _sub_blocks(b"\x44\x01") + b"\x3b")


def _riff_chunk(fourcc: bytes, body: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def _webp(*chunks: bytes) -> bytes:
    body = b"WEBP" + _riff_chunk(b"VP8X", bytes(10)) + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _xmp(text: str) -> str:
    return ('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            f"<rdf:RDF><rdf:Description><dc:title>{text}</dc:title></rdf:Description></rdf:RDF>"
            '</x:xmpmeta><?xpacket end="w"?>')


def _svg(title: str = "", desc: str = "") -> bytes:
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
            f"<title>{title}</title><desc>{desc}</desc><rect width='10' height='10'/></svg>").encode()


CARRIERS: dict[str, tuple[str, Callable[[str], bytes]]] = {
    "html text": ("index.html", lambda t: _page(f"<p>{t}</p>")),
    "html attribute": ("index.html", lambda t: _page(f'<img src="pier.png" alt="{t}">')),
    "html meta": ("index.html", lambda t: _page("", f'<meta name="description" content="{t}">')),
    "search index": ("search/search_index.json", lambda t: json.dumps(
        {"docs": [{"location": "", "title": "Home", "text": f"<p>{PUBLIC}</p><p>{t}</p>"}]},
        ensure_ascii=True).encode()),
    "sitemap.xml.gz": ("sitemap.xml.gz", lambda t: gzip.compress(
        ("<urlset><url><loc>https://example.org/%s/</loc></url></urlset>"
         % urllib.parse.quote(t.replace(" ", "-"))).encode())),
    "png iTXt": ("a.png", lambda t: _png([(b"iTXt", _itxt(t, False))])),
    "png iTXt compressed": ("a.png", lambda t: _png([(b"iTXt", _itxt(t, True))])),
    "png zTXt": ("a.png", lambda t: _png([(b"zTXt", b"Comment\0\0" + zlib.compress(t.encode()))])),
    "png iCCP": ("a.png", lambda t: _png([(b"iCCP", b"Profile\0\0" + zlib.compress(_icc(t)))])),
    "png private chunk (zlib)": ("a.png", lambda t: _png([(b"prVt", zlib.compress(t.encode()))])),
    "png private chunk (utf-16)": ("a.png", lambda t: _png([(b"quAd", t.encode("utf-16-le"))])),
    "png data after IEND": ("a.png", lambda t: _png([], trailing=gzip.compress(t.encode()))),
    "jpeg COM": ("b.jpg", lambda t: _jpeg((0xFE, t.encode()))),
    "jpeg APP1 XMP": ("b.jpg", lambda t: _jpeg((0xE1, b"http://ns.adobe.com/xap/1.0/\0" + _xmp(t).encode()))),
    "jpeg APP15 private (zlib)": ("b.jpg", lambda t: _jpeg((0xEF, zlib.compress(t.encode())))),
    "jpeg data after EOI": ("b.jpg", lambda t: _jpeg(trailing=t.encode("utf-16-le"))),
    "gif comment": ("c.gif", lambda t: _gif(t.encode())),
    "webp XMP": ("d.webp", lambda t: _webp(_riff_chunk(b"XMP ", _xmp(t).encode()))),
    "webp EXIF": ("d.webp", lambda t: _webp(_riff_chunk(b"EXIF", _exif(t)))),
    "tiff ImageDescription": ("f.tif", lambda t: _exif(t)[6:]),
    "svg title": ("e.svg", lambda t: _svg(title=t)),
    "svg desc": ("e.svg", lambda t: _svg(desc=t)),
}


def _exif(text: str) -> bytes:
    """A little-endian TIFF/Exif block with one ImageDescription (ASCII/UTF-8) field."""
    value = text.encode() + b"\0"
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x010E, 2, len(value), 26) + struct.pack("<I", 0)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd + value


@pytest.mark.parametrize("carrier", sorted(CARRIERS))
@pytest.mark.parametrize("disguise", sorted(DISGUISES))
def test_disguised_long_passage_is_found_everywhere(gate, carrier, disguise):
    name, make = CARRIERS[carrier]
    found = gate.scan_bytes(make(DISGUISES[disguise](LONG)), name)
    assert "R1" in ids(found), (carrier, disguise, found)
    assert not [f for f in found if f.kind == "unreadable"], found


@pytest.mark.parametrize("carrier", sorted(CARRIERS))
@pytest.mark.parametrize("disguise", ["plain", "cyrillic a/e/o/p/c", "zero-width space", "hangul filler",
                                      "fullwidth", "mathematical bold", "homoglyph + filler + dropped accent"])
def test_disguised_seven_word_sentence_is_found_everywhere(gate, carrier, disguise):
    name, make = CARRIERS[carrier]
    found = gate.scan_bytes(make(DISGUISES[disguise](SEVEN)), name)
    assert "R2" in ids(found), (carrier, disguise, found)
    assert {f.kind for f in found if f.restricted_id == "R2"} == {"exact"}


@pytest.mark.parametrize("carrier", sorted(CARRIERS))
@pytest.mark.parametrize("disguise", ["plain", "cyrillic capital", "greek o/nu", "soft hyphen",
                                      "mathematical bold", "fullwidth"])
def test_disguised_names_and_their_parts_are_found_everywhere(gate, carrier, disguise):
    name, make = CARRIERS[carrier]
    text = f"Crews of {NAME2} sailed at dawn; later the Harbour Light pilots returned"
    found = gate.scan_bytes(make(DISGUISES[disguise](text)), name)
    assert {"R3", "R4"} <= ids(found), (carrier, disguise, found)
    by_id = {f.restricted_id: f.kind for f in found}
    assert by_id["R3"] == "exact" and by_id["R4"] == "partial"


# --------------------------------------------------------------------------------------
# short passages: the rule, its parts, and what is *not* a hit
# --------------------------------------------------------------------------------------


def test_seven_word_sentence_whole_and_its_parts(gate):
    assert [(f.restricted_id, f.kind) for f in gate.scan_text(
        f"Notice: {SEVEN.lower()}, said the clerk.", "x")] == [("R2", "exact")]
    # a lower-case sentence's part needs three distinctive words ...
    assert [(f.restricted_id, f.kind) for f in gate.scan_text(
        "the new night ferry timetable is on the board", "x")] == [("R2", "partial")]
    # ... two are ordinary prose ("night ferry"), one is never enough
    assert gate.scan_text("The night ferry was late; the timetable was revised.", "x") == []
    assert gate.scan_text("Seven words in a row do not make the ferry withdrawn.", "x") == []


def test_name_parts(gate):
    def hits(text: str) -> list[tuple[str, str]]:
        return [(f.restricted_id, f.kind) for f in gate.scan_text(text, "x")]

    assert hits("the Operation Harbour Light budget") == [("R4", "exact")]
    assert hits("pilots of Harbour Light") == [("R4", "partial")]
    assert hits("an operation in the harbour") == []  # same words, not the name's parts
    assert hits("the harbour") == [] and hits("Light rain fell.") == []
    assert hits("Operation Kestrel") == [("R3", "exact")]
    assert hits("a kestrel over the pier") == []  # a lone word of a two-word name: not matched


def test_one_common_word_shared_is_not_a_hit(gate):
    for text in ("The harbour budget was approved in spring.", "Operations resumed at the pier.",
                 "The ferry timetable is published weekly.", "A light was seen from the quay.",
                 PUBLIC, "budget review of the harbour", "quarterly budget review of the"):
        assert gate.scan_text(text, "x") == [], text


def test_short_passage_size_rule():
    g = Gate([Restricted("S1", "Ferry", "a", "m"), Restricted("S2", "Harbourmaster", "a", "m"),
              Restricted("S3", "the", "a", "m"), Restricted("S4", "East Quay", "a", "m")])
    assert ids(g.scan_text("the harbourmaster of the east quay ferry", "x")) == {"S1", "S2", "S4"}
    assert g.unchecked == ("S3",)  # a lone stop-word cannot be checked
    assert g.scan_text("ferryman, harbourmasters, east quayside", "x") == []  # whole words only


def test_allow_listed_phrase_is_not_a_hit():
    g = Gate(RESTRICTED, allow=["the Harbour Light festival", "night ferry timetable"])
    assert g.scan_text("Tickets for the Harbour Light festival are on sale.", "x") == []
    assert g.scan_text("See the night ferry timetable.", "x") == []
    # what the allow list does not cover is still reported
    assert ids(g.scan_text("Operation Harbour resumed.", "x")) == {"R4"}
    assert ids(g.scan_text(SEVEN, "x")) == {"R2"}


def test_allow_list_is_normalised_like_everything_else():
    g = Gate(RESTRICTED, allow=["the H\u0430rbour Light festival"])  # Cyrillic a
    assert g.scan_text("the Harbour Light festival", "x") == []


# --------------------------------------------------------------------------------------
# fail closed: what cannot be decoded cannot be cleared
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, data, where", [
    ("a.png", _png([(b"prVt", bytes(range(256)) * 4)]), "a.png (chunk prVt)"),
    ("a.png", _png([(b"zTXt", b"Comment\0\0not zlib at all")]), "a.png (chunk zTXt)"),
    ("a.png", _png([(b"iCCP", b"Profile\0\0" + zlib.compress(b"not a profile"))]), "a.png (chunk iCCP)"),
    ("a.png", _png([])[:-20], "a.png (structure)"),
    ("b.jpg", _jpeg((0xEF, bytes(range(256)))), "b.jpg (APP15)"),
    ("b.jpg", _jpeg()[:-6], "b.jpg (structure)"),
    ("c.gif", _gif(b"tide")[:-4], "c.gif (structure)"),
    ("d.webp", _webp(_riff_chunk(b"ZZZZ", bytes(range(256)))), "d.webp (chunk ZZZZ)"),
    ("clip.mp4", b"\0\0\0\x18ftypmp42" + bytes(range(256)), "clip.mp4"),
    ("blob", bytes(range(256)) * 8, "blob"),
    ("f.woff", b"wOFF" + bytes(60), "f.woff (font)"),
])
def test_undecodable_parts_fail_closed(gate, name, data, where):
    found = gate.scan_bytes(data, name)
    assert Finding("", "", where, "unreadable") in found, found


def test_png_data_after_iend_that_is_opaque_fails_closed(gate):
    found = gate.scan_bytes(_png([], trailing=bytes(range(256))), "a.png")
    assert [f.location for f in found if f.kind == "unreadable"] == ["a.png (data after the image)"]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP", "ICO", "TIFF"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L"])
def test_images_written_by_pillow_are_clean(gate, fmt, mode):
    pil = pytest.importorskip("PIL.Image")
    import io

    img = pil.new(mode, (37, 23))
    if fmt == "JPEG" and mode not in ("RGB", "L"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, fmt)
    assert gate.scan_bytes(buf.getvalue(), "x." + fmt.lower()) == []


def test_clean_images_are_clean(gate):
    for name, data in (("a.png", _png([(b"tEXt", b"Software\0synthetic"), (b"sRGB", b"\0")])),
                       ("b.jpg", _jpeg((0xFE, b"harbour photo"))), ("c.gif", _gif(b"tide tables")),
                       ("d.webp", _webp(_riff_chunk(b"XMP ", _xmp("tide tables").encode()))),
                       ("e.svg", _svg("Tide tables", "The northern pier")),
                       ("a.png", _png([(b"iCCP", b"sRGB\0\0" + zlib.compress(_icc("sRGB IEC61966-2.1")))]))):
        assert gate.scan_bytes(data, name) == [], name


# --------------------------------------------------------------------------------------
# SVG / XML entities, fonts
# --------------------------------------------------------------------------------------


def test_svg_internal_entities_are_expanded(gate):
    words = LONG.split()
    svg = ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "%s"><!ENTITY b "%s">]>'
           '<svg xmlns="http://www.w3.org/2000/svg"><title>&a; &b;</title></svg>'
           % (" ".join(words[:6]), " ".join(words[6:])))
    assert ids(gate.scan_bytes(svg.encode(), "e.svg")) == {"R1"}


def test_entity_bomb_fails_closed(gate):
    decls = '<!ENTITY l0 "harbour">' + "".join(
        f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    svg = f'<!DOCTYPE svg [{decls}]><svg><title>&l9;</title></svg>'
    found = gate.scan_bytes(svg.encode(), "bomb.svg")
    assert Finding("", "", "bomb.svg (entity expansion)", "unreadable") in found


def _font(flavor: str | None, family: str, meta: bytes | None = None) -> bytes:
    pytest.importorskip("fontTools")
    import io

    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef"])
    fb.setupCharacterMap({})
    fb.setupGlyf({".notdef": TTGlyphPen(None).glyph()})
    fb.setupHorizontalMetrics({".notdef": (500, 0)})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    font = fb.font
    font.flavor = flavor
    if meta is not None:
        from fontTools.ttLib.woff2 import WOFFFlavorData

        font.flavorData = WOFFFlavorData()
        font.flavorData.metaData = meta
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("flavor", [None, "woff", "woff2"])
def test_font_name_table(gate, flavor):
    if flavor == "woff2":
        pytest.importorskip("brotli")
    data = _font(flavor, DISGUISES["cyrillic a/e/o/p/c"](SEVEN))
    found = gate.scan_bytes(data, f"f.{flavor or 'ttf'}")
    assert ids(found) == {"R2"} and "unreadable" not in kinds(found), found
    assert gate.scan_bytes(_font(flavor, "Tide Sans"), f"f.{flavor or 'ttf'}") == []


def test_woff_extended_metadata(gate):
    meta = f'<?xml version="1.0"?><metadata version="1.0"><description><text>{LONG}</text></description></metadata>'
    found = gate.scan_bytes(_font("woff", "Tide Sans", meta.encode()), "f.woff")
    assert [(f.restricted_id, f.location) for f in found] == [("R1", "f.woff (metadata)")]


# --------------------------------------------------------------------------------------
# a whole tree, as the build runs it
# --------------------------------------------------------------------------------------


def test_tree_with_every_disguise_reports_each_file(gate, tmp_path: Path):
    disguise = DISGUISES["homoglyph + filler + dropped accent"]
    planted = {}
    for i, (carrier, (name, make)) in enumerate(sorted(CARRIERS.items())):
        rel = f"d{i:02d}/{name}"
        (tmp_path / rel).parent.mkdir(parents=True)
        (tmp_path / rel).write_bytes(make(disguise(LONG)))
        planted[rel] = carrier
    (tmp_path / "clean.html").write_bytes(_page(""))
    found = gate.scan_tree(tmp_path)
    files = {f.location.split(" (")[0].split(":")[0] for f in found if f.restricted_id == "R1"}
    assert files == set(planted)
    assert not [f for f in found if f.kind == "unreadable"]


# --------------------------------------------------------------------------------------
# property: a cut-short binary is either still cleared or reported, never silently passed
# --------------------------------------------------------------------------------------

# (text formats, and plain text appended after a JPEG, can be cut inside the passage itself
# and stay well-formed)
BINARY_CARRIERS = sorted(c for c, (name, _m) in CARRIERS.items()
                         if not name.endswith((".html", ".json", ".svg")) and c != "jpeg data after EOI")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(carrier=st.sampled_from(BINARY_CARRIERS), cut=st.floats(min_value=0.0, max_value=0.999))
def test_truncated_binaries_are_found_or_fail_closed(gate, carrier, cut):
    name, make = CARRIERS[carrier]
    data = make(LONG)
    # where the planted payload starts: the first byte that differs for another text
    other = make(LONG.replace("a", "b").replace("e", "f"))
    start = next((i for i, (x, y) in enumerate(zip(data, other)) if x != y), len(data))
    end = max(1, int(len(data) * cut))
    assume(end > start)  # a cut before the payload removes it whole: a clean file is right
    found = gate.scan_bytes(data[:end], name)
    assert "R1" in ids(found) or "unreadable" in kinds(found), (carrier, cut, found)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(carrier=st.sampled_from(sorted(CARRIERS)), at=st.floats(min_value=0.0, max_value=0.999),
       junk=st.binary(min_size=1, max_size=16))
def test_corrupted_files_never_raise(gate, carrier, at, junk):
    name, make = CARRIERS[carrier]
    data = make(LONG)
    i = int(len(data) * at)
    found = gate.scan_bytes(data[:i] + junk + data[i + len(junk):], name)
    assert all(isinstance(f, Finding) for f in found)
