"""Images published with an edition: decoded and re-encoded from pixels, never copied.

A copied image file keeps whatever its editor put beside the pixels: PNG text, colour-profile
and private chunks, JPEG APPn segments and comments, GIF comment and application extensions,
WebP EXIF/XMP chunks, and any bytes after the image's end. None of that is parsed here to be
removed; instead every raster image is decoded with Pillow and a *fresh* image is built from
its pixels alone (no ``info``), then encoded with fixed settings. The result is checked
structurally (only the chunks/segments/blocks an image needs, nothing after its end) before it
is accepted, so a future Pillow that starts writing some metadata by default fails the build
instead of leaking. Output bytes depend only on the input bytes (and the Pillow/zlib/libjpeg/
libwebp build), so builds stay byte-reproducible.

SVG is refused: a safe SVG would need an allow-list sanitiser or a rasteriser, and no
rasteriser is a dependency of envscan. Authors export figures as PNG.

``reencode(data, name)`` returns ``(bytes or None, diagnostics)``; ``name`` is the path the
diagnostics carry (``docs/figures/chart.png``).
"""

from __future__ import annotations

import io
import re
import struct
import threading
import warnings

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, cast

from .diagnostics import Diagnostic, error, warning

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

# extension -> Pillow format name
RASTER_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".webp": "WEBP"}
MAX_BYTES = 50 * 1024 * 1024  # a figure file larger than this is refused before decoding
MAX_PIXELS = 40_000_000  # width x height; an A4 page scanned at 600 dpi is ~35 million pixels
JPEG_QUALITY = 90
PNG_COMPRESS_LEVEL = 6  # zlib's default: level 9 is 2.5x slower for ~5% smaller charts

_STRICT_DECODING = threading.Lock()  # see _reencode

EXPORT_HINT = "export the figure again as PNG (or JPEG for photographs) from the program that made it"


class AssetError(Exception):
    """Raised by the edition-tree writer when an image cannot be published; carries the
    diagnostics (errors, and any warnings) so the caller can report them as such."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        first = next((d for d in self.diagnostics if d.severity == "error"), None)
        super().__init__(f"{first.path}: {first.message}" if first else "image assets could not be published")


def extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""


def reencode(data: bytes, name: str) -> tuple[bytes | None, list[Diagnostic]]:
    """Decode ``data`` (the file ``name``) and return a metadata-free re-encoding in the same
    format, or None with at least one error diagnostic. Never raises for bad input.

    Results are kept for the life of the process (the live preview rewrites the edition tree
    on every change): the output depends only on the input bytes and the name."""
    import hashlib

    key = (hashlib.sha256(data).digest(), name, MAX_BYTES, MAX_PIXELS)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit[0], list(hit[1])
    result = _reencode_uncached(data, name)
    size = len(result[0] or b"")
    with _CACHE_LOCK:
        while _CACHE and (len(_CACHE) >= CACHE_ENTRIES or _cache_bytes() + size > CACHE_BYTES):
            _CACHE.pop(next(iter(_CACHE)))
        if size <= CACHE_BYTES:
            _CACHE[key] = (result[0], tuple(result[1]))
    return result


_CACHE: dict[tuple[bytes, str, int, int], tuple[bytes | None, tuple[Diagnostic, ...]]] = {}
_CACHE_LOCK = threading.Lock()
CACHE_ENTRIES = 256
CACHE_BYTES = 256 * 1024 * 1024


def _cache_bytes() -> int:
    return sum(len(v[0] or b"") for v in _CACHE.values())


def _reencode_uncached(data: bytes, name: str) -> tuple[bytes | None, list[Diagnostic]]:
    ext = extension(name)
    if ext == ".svg":
        return None, [error("E-ASSET-SVG", "SVG images are not published: an SVG file can carry titles, "
                            "descriptions, comments, entities, editor attributes and links that no "
                            "re-encoding removes", name, 0, 0, EXPORT_HINT + "; then link the .png file")]
    fmt = RASTER_FORMATS.get(ext)
    if fmt is None:
        return None, [error("E-ASSET-TYPE", f"'{ext or name}' is not an image type envscan can re-encode "
                            f"({', '.join(sorted(RASTER_FORMATS))})", name, 0, 0, EXPORT_HINT)]
    if len(data) > MAX_BYTES:
        return None, [error("E-ASSET-SIZE", f"image file is {len(data) // (1024 * 1024)} MiB, more than the "
                            f"{MAX_BYTES // (1024 * 1024)} MiB limit", name, 0, 0,
                            "reduce the figure's resolution before adding it")]
    try:
        import PIL  # noqa: F401
    except ImportError as exc:  # pragma: no cover - Pillow is a dependency
        return None, [error("E-ASSET-DECODE", f"Pillow is not installed ({exc})", name, 0, 0,
                            "pip install Pillow (envscan's own dependencies include it)")]
    diags: list[Diagnostic] = []
    try:
        out = _reencode(data, name, fmt, diags)
    except _Refused as r:
        return None, diags + [r.diagnostic]
    except Exception as exc:  # noqa: BLE001 - a malformed file must give a diagnostic, never a traceback
        return None, diags + [error("E-ASSET-DECODE", f"cannot be read as a {_label(fmt)} image ({_reason(exc)})",
                                    name, 0, 0, "the file is damaged, truncated or not really a "
                                    f"{_label(fmt)}; " + EXPORT_HINT)]
    problem = _STRUCTURE_CHECKS[fmt](out)
    if problem:  # pragma: no cover - only if the encoder starts writing metadata
        return None, diags + [error("E-ASSET-VERIFY", f"the re-encoded {_label(fmt)} still holds {problem}; it is "
                                    "not published", name, 0, 0, "report this: the image encoder's "
                                    "defaults changed")]
    return out, diags


def publishable(data: bytes, name: str) -> bytes:
    """``reencode`` for the edition-tree writer: the clean bytes, or AssetError carrying the
    diagnostics (a build must stop on them, never publish the original)."""
    out, diags = reencode(data, name)
    if out is None:
        raise AssetError(diags)
    return out


# --------------------------------------------------------------------------- decoding

class _Refused(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def _label(fmt: str) -> str:
    return "WebP" if fmt == "WEBP" else fmt


def _reason(exc: BaseException) -> str:
    # no object reprs (addresses differ from run to run) and no long messages
    text = re.sub(r"<[^<>]*\bat 0x[0-9a-fA-F]+>", "the data", str(exc)).strip()
    text = text[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reencode(data: bytes, name: str, fmt: str, diags: list[Diagnostic]) -> bytes:
    from PIL import ImageFile

    # WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported (by an earlier
    # edition's PDF): a truncated figure must still be an error here
    with _STRICT_DECODING, warnings.catch_warnings():
        truncated_ok = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            return _decode_and_encode(data, name, fmt, diags)
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok


def _decode_and_encode(data: bytes, name: str, fmt: str, diags: list[Diagnostic]) -> bytes:
    from PIL import Image, UnidentifiedImageError

    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        im: PILImage = Image.open(io.BytesIO(data), formats=[fmt])
    except UnidentifiedImageError:
        raise _Refused(error("E-ASSET-DECODE", f"not a {_label(fmt)} image (or damaged beyond reading); the "
                             "file's content must match its extension", name, 0, 0,
                             EXPORT_HINT + "; or rename it to its real type")) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _Refused(_size_error(name, None)) from None
    with im:
        w, h = im.size
        if w <= 0 or h <= 0:
            raise _Refused(error("E-ASSET-DECODE", f"image has no pixels ({w}x{h})", name, 0, 0, EXPORT_HINT))
        if w * h > MAX_PIXELS:
            raise _Refused(_size_error(name, (w, h)))
        frames = getattr(im, "n_frames", 1) if fmt != "GIF" else (2 if getattr(im, "is_animated", False) else 1)
        if frames > 1:
            diags.append(warning("W-ASSET-FRAMES", "animated image: only its first frame is published", name,
                                 0, 0, "export the frame you want as a still image"))
            im.seek(0)
        try:
            im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _Refused(_size_error(name, (w, h))) from None
        im = _upright(im)
        im = _to_srgb(im, name, fmt, diags)
        clean, transparency = _fresh(im, fmt)
    return _encode(clean, fmt, transparency, _jpeg_subsampling(data) if fmt == "JPEG" else -1)


def _size_error(name: str, size: tuple[int, int] | None) -> Diagnostic:
    what = f"{size[0]}x{size[1]} pixels" if size else "too many pixels (a decompression bomb?)"
    return error("E-ASSET-SIZE", f"image is {what}, more than the {MAX_PIXELS:,} pixel limit", name, 0, 0,
                 "reduce the figure's resolution before adding it")


def _upright(im: PILImage) -> PILImage:
    """Apply an EXIF orientation (it is about to be dropped with the rest of the EXIF data)."""
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF: nothing to apply
        return im
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        method = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
                  6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}[orientation]
        from PIL import Image

        transposed = im.transpose(getattr(Image.Transpose, method))
        transposed.info = {k: v for k, v in im.info.items() if k in ("transparency", "icc_profile")}
        return transposed
    return im


def _to_srgb(im: PILImage, name: str, fmt: str, diags: list[Diagnostic]) -> PILImage:
    """Colour-managed images are converted to sRGB (the profile is then dropped). A profile
    that cannot be read is dropped with a warning; greyscale images (and GIF palettes) just
    lose theirs."""
    icc = im.info.get("icc_profile")
    if not icc:
        return im
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except Exception:  # noqa: BLE001 - a damaged or fake profile: dropped, colours as stored
        diags.append(warning("W-ASSET-ICC", "the image's colour profile cannot be read; it is dropped and the "
                             "colours are published as stored", name, 0, 0, "export the figure in sRGB"))
        return im
    if im.mode in ("P", "PA") and fmt != "GIF":
        im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
    if im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
    try:
        converted = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode=out_mode)
    except Exception:  # noqa: BLE001 - e.g. a profile for another colour space than the pixels'
        diags.append(warning("W-ASSET-ICC", "the image's colour profile does not fit its pixels; it is dropped "
                             "and the colours are published as stored", name, 0, 0, "export the figure in sRGB"))
        return im
    if converted is None:
        return im
    converted.info = {k: v for k, v in im.info.items() if k == "transparency"}
    return converted


def _fresh(im: PILImage, fmt: str) -> tuple[PILImage, Any]:
    """A new image holding only the pixels (for GIF: a palette of the colours used and the
    transparent index), and the GIF transparency index or None."""
    from PIL import Image

    mode = im.mode
    has_alpha = "A" in mode or "transparency" in im.info
    if fmt == "GIF":
        if mode == "P":
            return _compact_palette(im)
        if mode == "L":
            t = im.info.get("transparency")
            return Image.frombytes("L", im.size, im.tobytes()), t if isinstance(t, int) else None
        im = im.convert("RGB")  # GIF holds palettes only; a GIF's first frame is P or L anyway
        return _compact_palette(im.quantize(256, dither=Image.Dither.NONE))
    if fmt == "JPEG":
        target = "L" if mode == "L" else "RGB"
    elif fmt == "PNG":
        if "transparency" in im.info and mode not in ("LA", "RGBA"):
            target = "LA" if mode in ("1", "L") else "RGBA"
        elif mode in ("1", "L", "LA", "RGB", "RGBA", "I;16"):
            target = mode
        else:
            target = "RGBA" if has_alpha else "RGB"
    else:  # WEBP
        target = "RGBA" if has_alpha else "RGB"
    if im.mode != target:
        im = im.convert(target)
    if target in ("RGBA", "LA"):
        im = _clear_hidden(im)
    return Image.frombytes(target, im.size, im.tobytes()), None


def _clear_hidden(im: PILImage) -> PILImage:
    """Fully transparent pixels keep a colour nobody sees (an eraser tool leaves the erased
    picture there): it is set to black."""
    alpha = im.getchannel("A")
    lo = cast("tuple[int, int]", alpha.getextrema())[0]
    if lo > 0:
        return im
    im = im.copy()
    im.paste((0, 0, 0, 0) if im.mode == "RGBA" else (0, 0), mask=alpha.point(lambda v: 255 if v == 0 else 0))
    return im


def _compact_palette(im: PILImage) -> tuple[PILImage, int | None]:
    """A fresh palette image whose palette holds only the colours its pixels use (unused
    palette entries are free space an editor could fill), in their original order; and the
    transparent index, renumbered (None if no used colour is transparent), whose colour is
    set to black."""
    from PIL import Image

    raw = im.tobytes()
    used = sorted(cast(int, i) for _count, i in im.getcolors(256) or [])
    palette = bytes(im.getpalette("RGB") or b"")
    palette += bytes(768 - len(palette))
    table = bytearray(range(256))
    new_palette = bytearray()
    for new, old in enumerate(used):
        table[old] = new
        new_palette += palette[3 * old:3 * old + 3]
    t = im.info.get("transparency")
    t_new = table[t] if isinstance(t, int) and t in used else None
    if t_new is not None:  # the transparent entry's colour is never seen: black
        new_palette[3 * t_new:3 * t_new + 3] = b"\x00\x00\x00"
    clean = Image.frombytes("P", im.size, raw.translate(bytes(table)))
    clean.putpalette(bytes(new_palette), "RGB")
    return clean, t_new


def _jpeg_subsampling(data: bytes) -> int:
    """The source JPEG's chroma subsampling (4:4:4 -> 0, 4:2:2 -> 1, 4:2:0 -> 2), else 4:2:0."""
    try:
        from PIL import Image, JpegImagePlugin

        with Image.open(io.BytesIO(data), formats=["JPEG"]) as src:
            s = JpegImagePlugin.get_sampling(src)
        return s if s in (0, 1, 2) else 2
    except Exception:  # noqa: BLE001
        return 2


def _encode(clean: PILImage, fmt: str, transparency: Any, subsampling: int) -> bytes:
    buf = io.BytesIO()
    if fmt == "PNG":
        clean.save(buf, "PNG", optimize=False, compress_level=PNG_COMPRESS_LEVEL)
    elif fmt == "JPEG":
        clean.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False,
                   subsampling=subsampling if clean.mode == "RGB" else -1)
    elif fmt == "GIF":
        params = {"optimize": False, "interlace": False}
        if transparency is not None:
            params["transparency"] = transparency
        clean.save(buf, "GIF", **params)
    else:  # WEBP: lossless, so pixels are kept exactly
        clean.save(buf, "WEBP", lossless=True, quality=80, method=4, exact=True)
    return buf.getvalue()


# --------------------------------------------------------------------------- structure checks
# Each returns None when the file holds only what an image needs, else what it found.

PNG_SIG = b"\x89PNG\r\n\x1a\n"
PNG_ALLOWED = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]] | None:
    if not data.startswith(PNG_SIG):
        return None
    out, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        out.append((ctype, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
        if ctype == b"IEND":
            break
    return out if pos == len(data) else None


def _check_png(data: bytes) -> str | None:
    chunks = png_chunks(data)
    if chunks is None:
        return "data outside its chunks"
    extra = sorted({c.decode("latin-1") for c, _ in chunks} - {c.decode() for c in PNG_ALLOWED})
    return f"chunks {', '.join(extra)}" if extra else None


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]] | None:
    """(marker, payload) up to and including SOS/EOI; None if the layout is broken or bytes
    follow the end-of-image marker."""
    if not data.startswith(b"\xff\xd8"):
        return None
    out, pos = [], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        out.append((marker, data[pos + 4:pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data (and later scans) until EOI
            scan = data[pos:]
            end = scan.rfind(b"\xff\xd9")
            if end < 0 or end + 2 != len(scan):
                return None
            # markers inside the scan data: only RSTn, stuffed 0xFF00, further SOS/DHT (progressive)
            for m in re.finditer(rb"\xff([^\x00\xff])", scan[:end]):
                if not (0xD0 <= m.group(1)[0] <= 0xD7 or m.group(1)[0] in (0xDA, 0xC4, 0xDD)):
                    out.append((m.group(1)[0], b""))
            return out
    return None


def _check_jpeg(data: bytes) -> str | None:
    segs = jpeg_segments(data)
    if segs is None:
        return "data outside its segments"
    bad = []
    for marker, payload in segs:
        if marker == 0xE0:
            if not (payload.startswith(b"JFIF\x00") and len(payload) == 14):
                bad.append("APP0 beyond the plain JFIF header")
        elif 0xE1 <= marker <= 0xEF or marker == 0xFE:
            bad.append(f"marker FF{marker:02X}")
    return ", ".join(bad) or None


def gif_blocks(data: bytes) -> list[tuple[str, bytes]] | None:
    """('ext:XX', joined sub-block data) / ('image', b'') blocks; None if broken or followed
    by bytes after the trailer."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        return None
    flags = data[10]
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    out: list[tuple[str, bytes]] = []

    def sub_blocks(p: int) -> tuple[bytes, int]:
        chunks: list[bytes] = []
        while p < len(data):
            n = data[p]
            p += 1
            if n == 0:
                return b"".join(chunks), p
            chunks.append(data[p:p + n])
            p += n
        raise ValueError("unterminated")

    try:
        while pos < len(data):
            b = data[pos]
            if b == 0x3B:
                return out if pos + 1 == len(data) else None
            if b == 0x21:
                label = data[pos + 1]
                payload, pos = sub_blocks(pos + 2)
                out.append((f"ext:{label:02X}", payload))
            elif b == 0x2C:
                iflags = data[pos + 9]
                pos += 10 + (3 * 2 ** ((iflags & 7) + 1) if iflags & 0x80 else 0)
                pos += 1  # LZW minimum code size
                _, pos = sub_blocks(pos)
                out.append(("image", b""))
            else:
                return None
    except (IndexError, ValueError):
        return None
    return None


def _check_gif(data: bytes) -> str | None:
    blocks = gif_blocks(data)
    if blocks is None:
        return "data outside its blocks"
    extra = sorted({k for k, _ in blocks if k not in ("image", "ext:F9")})  # F9: graphic control (transparency)
    if sum(1 for k, _ in blocks if k == "image") != 1:
        extra.append("more than one frame")
    return ", ".join(extra) or None


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]] | None:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    (size,) = struct.unpack("<I", data[4:8])
    if size + 8 != len(data):
        return None
    out, pos = [], 12
    while pos + 8 <= len(data):
        fourcc = data[pos:pos + 4]
        (n,) = struct.unpack("<I", data[pos + 4:pos + 8])
        out.append((fourcc, data[pos + 8:pos + 8 + n]))
        pos += 8 + n + (n & 1)
    return out if pos == len(data) else None


def _check_webp(data: bytes) -> str | None:
    chunks = webp_chunks(data)
    if chunks is None:
        return "data outside its chunks"
    extra = sorted({c.decode("latin-1") for c, _ in chunks} - {"VP8 ", "VP8L", "VP8X", "ALPH"})
    for c, payload in chunks:
        if c == b"VP8X" and payload[:1] and payload[0] & ~0x10:  # only the alpha flag may be set
            extra.append("VP8X flags for ICC/EXIF/XMP/animation")
    return ", ".join(extra) or None


_STRUCTURE_CHECKS = {"PNG": _check_png, "JPEG": _check_jpeg, "GIF": _check_gif, "WEBP": _check_webp}


# --------------------------------------------------------------------------- the PDF's images

# The PDF is rendered with this (virtual) base URL, not the build's temporary folder: relative
# image links resolve under it, image names inside the PDF (WeasyPrint derives them from the
# requested URL) do not depend on where the build ran, and no file: URL that the document
# itself names is served (only paths under this base, mapped into the site folder).
PDF_BASE_URL = "file:///envscan-edition/"
MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


class LocalImages:
    """What WeasyPrint may load while rendering an edition's PDF: the edition's own images,
    read from its built site folder (where they sit re-encoded), and nothing else. Network
    URLs, ``data:`` URLs, files outside the site folder (also through ``..`` or symlinks),
    other file types and files that are not clean re-encoded images are refused; every
    refusal, and every resource WeasyPrint reports it could not load, becomes an error
    diagnostic (``diagnostics()``), so no image is dropped silently.

    ``fetcher()`` adapts to the installed WeasyPrint: a ``URLFetcher`` subclass where that
    class exists (68 and later; 70 accepts nothing else), else a plain function returning the
    dict older versions expect."""

    def __init__(self, site: Path) -> None:
        from pathlib import Path

        self.site = Path(site).resolve()
        self.refused: dict[str, str] = {}  # url -> reason
        self.failed: list[str] = []  # WeasyPrint's own "failed to load" messages
        self.served: list[str] = []

    # the policy --------------------------------------------------------------------------
    def load(self, url: str) -> tuple[bytes, str, str]:
        """(data, mime type, the file's real URL) for an allowed URL; raises PermissionError
        (recorded) otherwise. WeasyPrint may re-read the file from the real URL (62-69 do,
        lazily, when embedding): it is the same, checked file."""
        try:
            data, mime, real = self._load(url)
        except PermissionError as exc:
            self.refused.setdefault(url, str(exc))
            raise
        self.served.append(url)
        return data, mime, real

    def _load(self, url: str) -> tuple[bytes, str, str]:
        from urllib.parse import unquote

        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if not url.startswith(PDF_BASE_URL):
            if scheme in ("http", "https", "ftp"):
                raise PermissionError("network access is refused: the PDF embeds only the edition's own images")
            if scheme == "data":
                raise PermissionError("data: URLs are refused: the PDF embeds only the edition's own image files")
            if scheme == "file":
                raise PermissionError("a file outside the edition's site folder")
            raise PermissionError(f"the URL scheme '{scheme}' is refused" if scheme else "not a local file")
        rel = url[len(PDF_BASE_URL):].split("#", 1)[0]
        if "?" in rel:
            raise PermissionError("a query string is refused")
        rel = unquote(rel)
        if not rel or "\\" in rel or "\x00" in rel:
            raise PermissionError("not a file in the edition")
        try:
            target = (self.site / rel).resolve(strict=True)
        except (OSError, RuntimeError):
            raise PermissionError("no such file in the edition's site folder") from None
        if target != self.site and self.site not in target.parents:
            raise PermissionError("a file outside the edition's site folder")
        fmt = RASTER_FORMATS.get(extension(rel))
        if fmt is None or not target.is_file():
            raise PermissionError("not an image file the PDF may embed "
                                  f"({', '.join(sorted(RASTER_FORMATS))})")
        data = target.read_bytes()
        if _STRUCTURE_CHECKS[fmt](data):
            raise PermissionError("not an image re-encoded by envscan")
        return data, MIME_TYPES[fmt], target.as_uri()

    # the WeasyPrint side ------------------------------------------------------------------
    def fetcher(self) -> Any:
        try:
            from weasyprint.urls import URLFetcher, URLFetcherResponse
        except ImportError:  # WeasyPrint < 68: a function returning a dict
            def fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
                data, mime, real = self.load(url)
                return {"string": data, "mime_type": mime, "redirected_url": real}

            return fetch
        policy = self

        class _EditionFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint is untyped
            """Serves through the policy only: ``open``/``fetch`` never reach urllib."""

            def fetch(self, url: str, headers: Any = None) -> Any:
                data, mime, real = policy.load(url)
                return URLFetcherResponse(real, body=data, headers={"Content-Type": mime})

            def open(self, url: Any, data: Any = None, timeout: Any = None) -> Any:
                return self.fetch(getattr(url, "full_url", url))

        return _EditionFetcher()

    def watch_log(self) -> Any:
        """Context manager: collects WeasyPrint's "Failed to load …" error records."""
        import contextlib
        import logging

        policy = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                try:
                    msg = record.getMessage()
                except Exception:  # noqa: BLE001
                    msg = str(record.msg)
                if msg.startswith(("Failed to load", "Failed to render")):
                    policy.failed.append(msg)

        @contextlib.contextmanager
        def watching() -> Iterator[LocalImages]:
            log = logging.getLogger("weasyprint")
            handler = _Handler(logging.ERROR)
            log.addHandler(handler)
            try:
                yield self
            finally:
                log.removeHandler(handler)

        return watching()

    def diagnostics(self) -> list[Diagnostic]:
        out = []
        for url, reason in sorted(self.refused.items()):
            out.append(error("E-PDF-FETCH", f"the PDF may not load {_show(url)}: {reason}", "", 0, 0,
                             "images must be local files in docs/ linked from the chapter "
                             "(![description](figures/chart.png)); nothing else is fetched"))
        for msg in self.failed:
            if any(url in msg for url in self.refused):
                continue  # already reported as a refusal
            out.append(error("E-PDF-RESOURCE", f"WeasyPrint: {_show_message(msg)}", "", 0, 0,
                             "the PDF would be missing this resource; the build is stopped"))
        return out


def _show(url: str) -> str:
    if url.startswith(PDF_BASE_URL):
        return f"'{url[len(PDF_BASE_URL):][:120]}'"
    return f"'{url[:80]}…'" if len(url) > 80 else f"'{url}'"


def _show_message(msg: str) -> str:
    return re.sub(r"file:///envscan-edition/", "", msg)[:300]
