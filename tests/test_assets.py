"""Issue 8 (class 7, image payloads): images are re-encoded from pixels, never copied, and the
PDF embeds them from the edition's own site folder only.

Every test image carries the canary in every metadata slot its format has (and after its
end); the re-encoded bytes, also inflated, must not contain it, and the pixels must survive.
"""

from __future__ import annotations

import io
import logging
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile, PngImagePlugin

from envscan import assets
from envscan.assets import (PDF_BASE_URL, AssetError, LocalImages, gif_blocks, jpeg_segments, png_chunks,
                            reencode, webp_chunks)

from conftest import chapter, cli, make_project

CANARY = b"CANARY-HARBOUR-7731"
CANARY_VARIANTS = (CANARY, CANARY.decode().encode("utf-16-le"), CANARY.decode().encode("utf-16-be"), CANARY.lower())


# ---- helpers ---------------------------------------------------------------------------------

def pixels(size=(48, 32), mode="RGB") -> Image.Image:
    """A small neutral test pattern (gradients, so that palette and compression are exercised)."""
    w, h = size
    rgb = Image.new("RGB", size)
    rgb.putdata([((x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), ((x + y) * 7) % 256)
                 for y in range(h) for x in range(w)])
    if mode == "RGBA":
        im = rgb.convert("RGBA")
        im.putalpha(Image.linear_gradient("L").resize(size))
        return im
    if mode == "P":
        return rgb.quantize(16, dither=Image.Dither.NONE)
    return rgb.convert(mode)


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def insert_png_chunks(data: bytes, *chunks: bytes) -> bytes:
    """Insert chunks right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    return data[:33] + b"".join(chunks) + data[33:]


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def inflated(data: bytes) -> list[bytes]:
    """Every zlib stream found anywhere in ``data``, inflated (catches compressed text chunks,
    profiles and XMP that a plain byte search would miss)."""
    out = []
    for i in range(len(data) - 2):
        if data[i] == 0x78 and data[i + 1] in (0x01, 0x5E, 0x9C, 0xDA):
            try:
                d = zlib.decompressobj()
                chunk = d.decompress(data[i:i + 1_000_000])
            except zlib.error:
                continue
            if chunk:
                out.append(chunk)
    return out


def has_canary(data: bytes) -> bool:
    views = [data, *inflated(data)]
    return any(v in view for view in views for v in CANARY_VARIANTS)


def visible(im: Image.Image) -> Image.Image:
    """The image with the colour of fully transparent pixels (which nobody sees, and which the
    re-encoding sets to black) set to black."""
    if im.mode not in ("RGBA", "LA"):
        return im
    im = im.copy()
    im.paste((0,) * len(im.mode), mask=im.getchannel("A").point(lambda v: 255 if v == 0 else 0))
    return im


def same_pixels(a: bytes, b: bytes, mode: str | None = None) -> bool:
    """Same size, mode and (visible) pixels, compared with Image.tobytes()."""
    ia, ib = Image.open(io.BytesIO(a)), Image.open(io.BytesIO(b))
    if mode:
        ia, ib = ia.convert(mode), ib.convert(mode)
    return ia.size == ib.size and ia.mode == ib.mode and visible(ia).tobytes() == visible(ib).tobytes()


def mean_abs_diff(a: bytes, b: bytes) -> float:
    ia = Image.open(io.BytesIO(a)).convert("RGB")
    ib = Image.open(io.BytesIO(b)).convert("RGB")
    assert ia.size == ib.size
    pa, pb = ia.tobytes(), ib.tobytes()
    return sum(abs(x - y) for x, y in zip(pa, pb)) / len(pa)


def codes(diags) -> list[str]:
    return [d.code for d in diags]


# ---- the planted images ----------------------------------------------------------------------

def canary_png(mode: str = "RGB") -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", CANARY.decode())  # tEXt
    info.add_text("Description", CANARY.decode() + " compressed", zip=True)  # zTXt
    info.add_itxt("Author", CANARY.decode() + " international", lang="en", tkey="Author", zip=True)  # iTXt
    info.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{CANARY.decode()}</x:xmpmeta>")
    exif = Image.Exif()
    exif[0x010E] = CANARY.decode()  # ImageDescription
    base = encode(pixels(mode=mode), "PNG", pnginfo=info, exif=exif.tobytes())
    fake_profile = b"\x00\x00\x01\x00" + CANARY + b" not a real colour profile" * 8
    iccp = png_chunk(b"iCCP", CANARY + b"\x00\x00" + zlib.compress(fake_profile))  # profile *name* = canary
    private = png_chunk(b"prVt", CANARY + b" private chunk")
    time = png_chunk(b"tIME", struct.pack(">HBBBBB", 2012, 6, 1, 12, 0, 0))
    data = insert_png_chunks(base, iccp, private, time)
    return data + CANARY + b" after IEND"


def canary_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = CANARY.decode()
    exif[0x013B] = CANARY.decode()  # Artist
    base = encode(pixels(), "JPEG", quality=95, exif=exif.tobytes(), comment=CANARY + b" comment",
                  icc_profile=b"\x00\x00\x01\x00" + CANARY * 4)
    segs_end = 2
    assert base[2:4] == b"\xff\xe0"  # Pillow's JFIF APP0 comes first
    (app0_len,) = struct.unpack(">H", base[4:6])
    app0 = base[2:4 + app0_len]
    rest = base[4 + app0_len:]
    # APP0 with extra bytes past the JFIF header, a JFXX extension, APP13 (Photoshop IRB)
    fat_app0 = jpeg_segment(0xE0, app0[4:] + CANARY + b" in APP0")
    jfxx = jpeg_segment(0xE0, b"JFXX\x00\x13" + CANARY)
    app13 = jpeg_segment(0xED, b"Photoshop 3.0\x00" + CANARY)
    data = base[:segs_end] + fat_app0 + jfxx + app13 + rest
    assert data.endswith(b"\xff\xd9")
    # a comment after the scan (before EOI) and bytes after EOI
    data = data[:-2] + jpeg_segment(0xFE, CANARY + b" after the scan") + b"\xff\xd9"
    return data + CANARY + b" after EOI"


def canary_gif() -> bytes:
    im = pixels(mode="P")
    pal = im.getpalette()[: 16 * 3]
    # the unused palette entries spell the canary (free space in a palette)
    filler = (CANARY * 40)[: 240 * 3]
    im.putpalette(pal + list(filler))
    base = encode(im, "GIF", comment=CANARY + b" comment", loop=0, transparency=3)
    # an application extension of our own and a plain-text extension after the header + palette
    app = b"\x21\xff\x0b" + b"CANARYAPP01" + bytes([len(CANARY)]) + CANARY + b"\x00"
    plain = b"\x21\x01\x0c" + bytes(12) + bytes([len(CANARY)]) + CANARY + b"\x00"
    flags = base[10]
    head = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    data = base[:head] + app + plain + base[head:]
    return data + CANARY + b" after the trailer"


def canary_webp(mode: str = "RGBA") -> bytes:
    exif = Image.Exif()
    exif[0x010E] = CANARY.decode()
    return encode(pixels(mode=mode), "WEBP", lossless=True, exact=True, exif=exif.tobytes(),
                  xmp=b"<x:xmpmeta>" + CANARY + b"</x:xmpmeta>", icc_profile=b"\x00\x00\x01\x00" + CANARY * 4)


def webp_with_trailing(data: bytes) -> bytes:
    return data + CANARY + b" after the RIFF chunk"


# ---- the planted images really carry the canary ----------------------------------------------

@pytest.mark.parametrize("make", [canary_png, canary_jpeg, canary_gif, canary_webp])
def test_planted_images_carry_the_canary_and_still_decode(make):
    data = make()
    assert has_canary(data)
    Image.open(io.BytesIO(data)).load()


def test_planted_png_canary_also_hides_in_compressed_chunks():
    chunks = dict((c, p) for c, p in png_chunks(canary_png().split(CANARY + b" after IEND")[0]))
    assert CANARY not in chunks[b"zTXt"]  # only visible once inflated
    assert any(CANARY in v for v in inflated(chunks[b"zTXt"]))
    assert {b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"prVt", b"eXIf", b"tIME"} <= {c for c, _ in png_chunks(
        canary_png().split(CANARY + b" after IEND")[0])}


# ---- re-encoding: no canary, same pixels -----------------------------------------------------

@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_png_reencoded_without_any_metadata(mode):
    src = canary_png(mode)
    out, diags = reencode(src, "docs/figures/chart.png")
    assert out is not None, diags
    assert not has_canary(out)
    assert {c for c, _ in png_chunks(out)} <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
    assert out.endswith(b"IEND\xaeB`\x82")
    # palette images become truecolour (the palette is not carried over); pixels are identical
    assert same_pixels(src, out, None if mode != "P" else "RGB")
    assert codes(diags) == ["W-ASSET-ICC"]  # the fake profile cannot be read: dropped, said so
    assert all(CANARY.decode() not in d.message for d in diags)


def test_jpeg_reencoded_without_any_metadata():
    src = canary_jpeg()
    out, diags = reencode(src, "docs/figures/photo.jpg")
    assert out is not None, diags
    assert not has_canary(out)
    segs = jpeg_segments(out)
    assert segs is not None  # nothing after EOI
    markers = {m for m, _ in segs}
    assert not any(0xE1 <= m <= 0xEF or m == 0xFE for m in markers)
    app0 = [p for m, p in segs if m == 0xE0]
    assert app0 == [app0[0]] and app0[0].startswith(b"JFIF\x00") and len(app0[0]) == 14
    assert mean_abs_diff(src, out) < 6.0  # lossy (quality 90) on a hard synthetic pattern: close
    assert Image.open(io.BytesIO(out)).info.get("comment") is None


def test_gif_reencoded_without_comment_extensions_or_spare_palette():
    src = canary_gif()
    out, diags = reencode(src, "docs/figures/anim.gif")
    assert out is not None, diags
    assert not has_canary(out)
    blocks = gif_blocks(out)
    assert blocks is not None  # nothing after the trailer
    assert {k for k, _ in blocks} <= {"image", "ext:F9"}
    assert same_pixels(src, out, "RGBA")  # same colours and the same transparent pixels
    im = Image.open(io.BytesIO(out))
    assert len(im.getpalette()) <= 3 * 32  # only the 16 used colours (padded to a power of two)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_webp_reencoded_without_exif_xmp_or_profile(mode):
    src = canary_webp(mode)
    out, diags = reencode(webp_with_trailing(src), "docs/figures/map.webp")
    if out is None:  # libwebp may refuse trailing bytes; the untouched file must then re-encode
        assert codes(diags) == ["E-ASSET-DECODE"]
        out, diags = reencode(src, "docs/figures/map.webp")
    assert out is not None, diags
    assert not has_canary(out)
    assert {c for c, _ in webp_chunks(out)} <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}
    assert same_pixels(src, out)


@pytest.mark.parametrize("fmt,name", [("PNG", "erased.png"), ("WEBP", "erased.webp")])
def test_colour_under_fully_transparent_pixels_is_cleared(fmt, name):
    # an eraser tool leaves the erased picture in the colour channels of transparent pixels
    n = len(CANARY)
    im = pixels(mode="RGB").convert("RGBA")
    im.paste(Image.frombytes("RGB", (n, 1), CANARY.ljust(n * 3, b"#")).convert("RGBA"), (0, 0))
    alpha = Image.new("L", im.size, 255)
    alpha.paste(0, (0, 0, n, 1))
    im.putalpha(alpha)
    src = encode(im, fmt, **({"lossless": True, "exact": True} if fmt == "WEBP" else {}))
    assert Image.open(io.BytesIO(src)).convert("RGBA").getpixel((0, 0))[:3] != (0, 0, 0)
    out, _ = reencode(src, "docs/figures/" + name)
    got = Image.open(io.BytesIO(out)).convert("RGBA")
    assert all(got.getpixel((x, 0)) == (0, 0, 0, 0) for x in range(n))
    assert same_pixels(src, out)


def test_png_with_a_real_colour_profile_is_converted_to_srgb():
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = encode(pixels(), "PNG", icc_profile=profile)
    out, diags = reencode(src, "docs/figures/managed.png")
    assert out is not None and diags == []
    assert b"iCCP" not in out
    assert mean_abs_diff(src, out) < 1.0


def test_jpeg_exif_orientation_is_applied_before_the_exif_is_dropped():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    src = encode(pixels((40, 20)), "JPEG", quality=95, exif=exif.tobytes())
    out, _ = reencode(src, "docs/figures/rotated.jpg")
    assert Image.open(io.BytesIO(out)).size == (20, 40)


def test_animated_gif_keeps_its_first_frame_with_a_warning():
    frames = [pixels(mode="P"), pixels(mode="P").transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out, diags = reencode(buf.getvalue(), "docs/figures/anim.gif")
    assert codes(diags) == ["W-ASSET-FRAMES"]
    assert sum(1 for k, _ in gif_blocks(out) if k == "image") == 1
    assert {k for k, _ in gif_blocks(out)} <= {"image", "ext:F9"}  # no NETSCAPE loop extension


@pytest.mark.parametrize("make,name", [(canary_png, "a.png"), (canary_jpeg, "a.jpg"), (canary_gif, "a.gif"),
                                       (canary_webp, "a.webp")])
def test_reencoding_is_deterministic(make, name):
    src = make()
    first, _ = reencode(src, name)
    second, _ = reencode(bytes(src), name)
    assert first == second


def test_repeated_reencoding_is_served_from_the_process_cache():
    src = canary_gif()
    first, d1 = reencode(src, "docs/figures/cached.gif")
    assert any(k[1] == "docs/figures/cached.gif" for k in assets._CACHE)
    second, d2 = reencode(src, "docs/figures/cached.gif")
    assert second == first and d2 == d1 and d2 is not d1


def test_png_reencoding_is_idempotent():
    once, _ = reencode(canary_png(), "a.png")
    twice, diags = reencode(once, "a.png")
    assert twice == once and diags == []


# ---- refusals: diagnostics, never exceptions -------------------------------------------------

SVG = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY c "' + CANARY + b'">]>'
       b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
       b'inkscape:label="' + CANARY + b'"><title>&c;</title><desc>' + CANARY + b'</desc>'
       b'<rect width="10" height="10"/></svg>')


def test_svg_is_refused_with_a_hint_to_export_png():
    out, diags = reencode(SVG, "docs/figures/diagram.svg")
    assert out is None
    assert codes(diags) == ["E-ASSET-SVG"]
    d = diags[0]
    assert d.path == "docs/figures/diagram.svg" and d.line == 0 and d.severity == "error"
    assert any("PNG" in h for h in d.hints)


@pytest.mark.parametrize("name", ["docs/figures/scan.tiff", "docs/figures/icon.bmp", "docs/figures/noext"])
def test_unknown_types_are_refused(name):
    out, diags = reencode(encode(pixels(), "PNG"), name)
    assert out is None and codes(diags) == ["E-ASSET-TYPE"] and diags[0].path == name


@pytest.mark.parametrize("data,name", [
    (b"", "docs/figures/empty.png"),
    (b"not an image at all" * 10, "docs/figures/garbage.png"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "docs/figures/header-only.png"),
    (encode(pixels(), "PNG")[:-30], "docs/figures/truncated.png"),
    (encode(pixels((200, 200)), "JPEG")[:400], "docs/figures/truncated.jpg"),
    (encode(pixels(), "GIF")[:60], "docs/figures/truncated.gif"),
    (encode(pixels(), "WEBP", lossless=True)[:40], "docs/figures/truncated.webp"),
    (encode(pixels(), "PNG"), "docs/figures/really-a-png.jpg"),
    (encode(pixels(), "JPEG"), "docs/figures/really-a-jpeg.png"),
])
def test_damaged_or_mislabelled_images_give_a_clear_error(data, name):
    out, diags = reencode(data, name)
    assert out is None
    assert codes(diags) == ["E-ASSET-DECODE"], diags
    assert diags[0].path == name and diags[0].hints
    assert " at 0x" not in diags[0].message  # no object reprs: messages are reproducible


def test_truncated_image_is_an_error_even_after_weasyprint_relaxed_pillow():
    # importing WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES (an earlier
    # edition's PDF does that in a build); the check must not be relaxed by it
    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        out, diags = reencode(encode(pixels(), "PNG")[:-30], "docs/figures/truncated.png")
        assert out is None and codes(diags) == ["E-ASSET-DECODE"]
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored for WeasyPrint
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old


def test_too_many_pixels_is_refused(monkeypatch):
    monkeypatch.setattr(assets, "MAX_PIXELS", 1000)
    out, diags = reencode(encode(pixels(), "PNG"), "docs/figures/big.png")
    assert out is None and codes(diags) == ["E-ASSET-SIZE"] and "48x32" in diags[0].message


def test_decompression_bomb_header_is_refused_before_decoding():
    # a PNG whose header claims 100000 x 100000 pixels
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
    bomb = b"\x89PNG\r\n\x1a\n" + ihdr + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + png_chunk(b"IEND", b"")
    out, diags = reencode(bomb, "docs/figures/bomb.png")
    assert out is None and codes(diags) == ["E-ASSET-SIZE"]


def test_oversized_file_is_refused_unread(monkeypatch):
    monkeypatch.setattr(assets, "MAX_BYTES", 100)
    out, diags = reencode(encode(pixels(), "PNG"), "docs/figures/big.png")
    assert out is None and codes(diags) == ["E-ASSET-SIZE"]


def test_publishable_raises_asset_error_with_the_diagnostics():
    with pytest.raises(AssetError) as exc:
        assets.publishable(SVG, "docs/figures/diagram.svg")
    assert codes(exc.value.diagnostics) == ["E-ASSET-SVG"]
    assert "docs/figures/diagram.svg" in str(exc.value)


# ---- the PDF's fetcher -----------------------------------------------------------------------

@pytest.fixture
def site(tmp_path):
    s = tmp_path / "site"
    (s / "figures").mkdir(parents=True)
    clean, _ = reencode(canary_png(), "docs/figures/chart.png")
    (s / "figures" / "chart.png").write_bytes(clean)
    (s / "figures" / "raw.png").write_bytes(canary_png())  # never re-encoded: must not be served
    (s / "one.html").write_text("<p>page</p>", encoding="utf-8")
    (tmp_path / "outside.png").write_bytes(clean)
    (s / "figures" / "link.png").symlink_to(tmp_path / "outside.png")
    return s


def test_fetcher_serves_the_editions_images_only(site, tmp_path):
    pol = LocalImages(site)
    data, mime, real = pol.load(PDF_BASE_URL + "figures/chart.png")
    assert mime == "image/png" and data == (site / "figures" / "chart.png").read_bytes()
    assert real == (site / "figures" / "chart.png").resolve().as_uri()
    refused = ["http://127.0.0.1:9/x.png", "https://127.0.0.1:9/x.png", "ftp://127.0.0.1/x.png",
               f"file://{tmp_path}/outside.png", "data:image/png;base64,iVBORw0KGgo=",
               PDF_BASE_URL + "../outside.png", PDF_BASE_URL + "figures/%2e%2e/%2e%2e/outside.png",
               PDF_BASE_URL + "figures/link.png", PDF_BASE_URL + "one.html", PDF_BASE_URL + "figures/raw.png",
               PDF_BASE_URL + "figures/missing.png", PDF_BASE_URL + "figures/chart.png?x=1", "javascript:alert(1)"]
    for url in refused:
        with pytest.raises(PermissionError):
            pol.load(url)
    diags = pol.diagnostics()
    assert len(diags) == len(refused) and set(codes(diags)) == {"E-PDF-FETCH"}
    assert all(d.severity == "error" and d.hints for d in diags)


def test_weasyprint_embeds_local_images_and_reports_refusals(site):
    weasyprint = pytest.importorskip("weasyprint")
    pypdf = pytest.importorskip("pypdf")
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    html = ('<p>A neutral chart.</p><img src="figures/chart.png" alt="A neutral chart">'
            '<img src="https://127.0.0.1:9/remote.png" alt="remote">'
            '<p style="background: url(http://127.0.0.1:9/bg.png)">x</p>')
    pol = LocalImages(site)
    out = site.parent / "out.pdf"
    with pol.watch_log():
        weasyprint.HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=pol.fetcher()).write_pdf(str(out))
    assert pol.served == [PDF_BASE_URL + "figures/chart.png"]
    assert sorted(pol.refused) == ["http://127.0.0.1:9/bg.png", "https://127.0.0.1:9/remote.png"]
    assert codes(pol.diagnostics()) == ["E-PDF-FETCH", "E-PDF-FETCH"]
    assert pdf_image_count(pypdf, out) == 1


def pdf_image_count(pypdf, path: Path) -> int:
    names = set()
    for page in pypdf.PdfReader(str(path)).pages:
        xobjects = page["/Resources"].get("/XObject")
        if xobjects:
            for name, ref in xobjects.get_object().items():
                if ref.get_object().get("/Subtype") == "/Image":
                    names.add(name)
    return len(names)


def pdf_streams(pypdf, path: Path) -> list[bytes]:
    """Every stream of the PDF, decoded (images included)."""
    reader = pypdf.PdfReader(str(path))
    out = []
    for num in range(1, int(reader.trailer["/Size"])):
        try:
            obj = reader.get_object(num)
        except Exception:  # noqa: BLE001 - free or missing object numbers
            continue
        if hasattr(obj, "get_data"):
            try:
                out.append(obj.get_data())
            except Exception:  # noqa: BLE001 - a filter pypdf cannot decode: keep the raw bytes
                out.append(obj._data)
    return out


# ---- end to end: envscan build -----------------------------------------------------------------

FIGURE_CHAPTER = ("# Harbour\n\nThe harbour authority reviewed its budget [@smith2010] and its timetable "
                  "[@jones2011].\n\n![A neutral chart](figures/chart.png)\n\nThe chart shows ferry departures.\n")


def build(root: Path, *args: str):
    return cli("build", "public", "-q", *args, cwd=root)


def test_build_publishes_figures_re_encoded_and_the_pdf_shows_them(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    src = canary_png()
    root = make_project(tmp_path / "p", chapters={"one.md": chapter(FIGURE_CHAPTER), "figures/chart.png": src},
                        nav=["one.md"])
    res = build(root)
    assert res.returncode == 0, res.stdout + res.stderr
    out = root / "site" / "public"
    published = out / "figures" / "chart.png"
    assert published.is_file()
    assert same_pixels(src, published.read_bytes())
    files = [f for f in out.rglob("*") if f.is_file()]
    assert files
    for f in files:
        assert not has_canary(f.read_bytes()), f"canary in {f.relative_to(out)}"
    pdf = next(out.glob("*.pdf"))
    assert pdf_image_count(pypdf, pdf) == 1
    streams = pdf_streams(pypdf, pdf)
    assert streams and not any(has_canary(s) for s in streams)
    # the source file itself is untouched
    assert (root / "docs" / "figures" / "chart.png").read_bytes() == src


def test_build_with_figures_is_reproducible(tmp_path):
    src = canary_jpeg()
    chapters = {"one.md": chapter(FIGURE_CHAPTER.replace("chart.png", "photo.jpg")), "figures/photo.jpg": src}
    outs = []
    for name in ("a", "b"):
        root = make_project(tmp_path / name, chapters=chapters, nav=["one.md"])
        res = _build_with_epoch(root)
        assert res.returncode == 0, res.stdout + res.stderr
        outs.append(root / "site" / "public")
    for rel in ("figures/photo.jpg", next(outs[0].glob("*.pdf")).name):
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel


def _build_with_epoch(root: Path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, NO_COLOR="1", SOURCE_DATE_EPOCH="1356998400")
    return subprocess.run([sys.executable, "-m", "envscan.cli", "build", "public", "-q"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_write_tree_stops_on_bad_images_with_file_named_diagnostics(tmp_path):
    from envscan.pipeline import assemble_checked, read_and_resolve
    from envscan.site import write_tree

    body = FIGURE_CHAPTER + "\n![A neutral diagram](figures/diagram.svg)\n\n![A damaged chart](figures/broken.png)\n"
    root = make_project(tmp_path / "p", chapters={"one.md": chapter(body), "figures/chart.png": canary_png(),
                                                  "figures/diagram.svg": SVG,
                                                  "figures/broken.png": encode(pixels(), "PNG")[:-30]},
                        nav=["one.md"])
    project, eds, diags, _ = read_and_resolve(root, ["public"])
    assert project is not None and not [d for d in diags if d.severity == "error"], diags
    ae, d = assemble_checked(project, eds[0], with_pdf=False)
    assert not [x for x in d if x.severity == "error"], d
    with pytest.raises(AssetError) as exc:
        write_tree(project, ae, tmp_path / "work")
    got = sorted((x.path, x.code) for x in exc.value.diagnostics if x.severity == "error")
    assert got == [("docs/figures/broken.png", "E-ASSET-DECODE"), ("docs/figures/diagram.svg", "E-ASSET-SVG")]
    assert all(x.line == 0 for x in exc.value.diagnostics)


def test_build_refuses_svg_with_a_file_named_diagnostic(tmp_path):
    body = FIGURE_CHAPTER.replace("figures/chart.png", "figures/diagram.svg")
    root = make_project(tmp_path / "p", chapters={"one.md": chapter(body), "figures/diagram.svg": SVG},
                        nav=["one.md"])
    res = build(root)
    text = res.stdout + res.stderr
    assert res.returncode != 0
    assert not (root / "site" / "public").exists()
    assert "Traceback" not in text
    assert res.returncode == 1
    assert "docs/figures/diagram.svg: error[E-ASSET-SVG]" in text
    assert "hint: export the figure" in text
