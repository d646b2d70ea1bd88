"""Image formats: every place a PNG, JPEG, GIF, WebP, ICO or TIFF file can carry text.

Each reader walks the file's structure, decodes what it knows (PNG text chunks, compressed
or not; ICC profiles; Exif; XMP; JPEG comments and APPn segments; GIF comment, plain-text
and application extensions; WebP RIFF chunks), hands any unknown chunk or segment to
:func:`~.binary.read_payload` (text, XML, zlib ... or reported unreadable), and passes data
after the end of the image (after PNG IEND, JPEG EOI, GIF trailer, RIFF end) on as an
embedded file.  A structure that does not parse (truncated chunk, bad marker) is reported
unreadable.  Pixels are not read: the gate reads text, not pictures of text.
"""

from __future__ import annotations

import struct

from ..base import SEP, Collector
from .binary import exif_texts, icc_texts, inflate, read_payload
from .escapes import decode, decode_any
from .markup import markup_segments

__all__ = ["read_image", "image_kind"]

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
# Chunks with no text in them (image data, colour and layout parameters, animation
# control), or only uncompressed text that the printable runs of the whole file cover
# (sPLT palette name, pCAL/sCAL calibration).
_PNG_PLAIN = frozenset(
    b"IHDR PLTE IDAT tRNS cHRM gAMA sBIT sRGB bKGD hIST pHYs tIME acTL fcTL fdAT cICP mDCv "
    b"cLLi oFFs sTER dSIG gIFg sPLT pCAL sCAL".split()
)


def image_kind(data: bytes) -> str | None:
    """"png", "jpeg", "gif", "webp", "ico", "bmp", "tiff" by magic number, else None."""
    if data.startswith(_PNG_SIG):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"\0\0\1\0", b"\0\0\2\0") and len(data) >= 22:
        return "ico"
    if data[:2] == b"BM" and len(data) >= 26:
        return "bmp"
    if data[:4] in (b"II*\0", b"MM\0*"):
        return "tiff"
    return None


def read_image(col: Collector, kind: str, data: bytes) -> None:
    """Read one image of ``kind`` (see :func:`image_kind`) into ``col``."""
    reader = {"png": _png, "jpeg": _jpeg, "gif": _gif, "webp": _webp, "ico": _ico, "tiff": _tiff}.get(kind)
    if reader is not None:
        try:
            end = reader(col, data)
        except (ValueError, IndexError, struct.error):
            col.unreadable("structure")
            return
        if end is not None and data[end:].strip(b"\0"):
            col.child("data after the image", "trailing", data[end:])
    # BMP: uncompressed; its printable runs (read by the caller) are all it holds.


# -- PNG -----------------------------------------------------------------------------------


def _png_text_chunk(col: Collector, ctype: bytes, body: bytes) -> None:
    where = "chunk " + ctype.decode("latin-1")
    key, _, rest = body.partition(b"\0")
    if ctype == b"tEXt":
        col.text(where, key.decode("latin-1") + "\n" + decode_any(rest))
    elif ctype == b"zTXt":
        col.text(where, key.decode("latin-1") + "\n" + decode_any(inflate(rest[1:])))
    elif ctype == b"iTXt":
        flag, rest = rest[:1], rest[2:]
        lang, _, rest = rest.partition(b"\0")
        tkey, _, text = rest.partition(b"\0")
        if flag == b"\x01":
            text = inflate(text)
        parts = (key, lang, tkey, text)
        if b"<x:xmpmeta" in text or b"<?xpacket" in text:
            col.segments.extend(markup_segments(col.where(where), text.decode("utf-8", "replace")))
        col.text(where, "\n".join(x.decode("utf-8", "replace") for x in parts))
    elif ctype == b"iCCP":
        profile = inflate(rest[1:])
        col.text(where, key.decode("latin-1") + SEP + icc_texts(profile))


def _png(col: Collector, data: bytes) -> int:
    pos: int = 8
    while True:
        if pos + 12 > len(data):
            raise ValueError("PNG ends without IEND")
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        if pos + 12 + length > len(data):
            raise ValueError("truncated PNG chunk")
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b"IEND":
            return pos
        if ctype in _PNG_PLAIN:
            continue
        try:
            if ctype in (b"tEXt", b"zTXt", b"iTXt", b"iCCP"):
                _png_text_chunk(col, ctype, body)
            else:  # eXIf, sPLT, pCAL, sCAL, private and unknown chunks
                read_payload(col, "chunk " + ctype.decode("latin-1"), body)
        except Exception:
            col.unreadable("chunk " + ctype.decode("latin-1"))


# -- JPEG ----------------------------------------------------------------------------------

_XMP_ID = b"http://ns.adobe.com/xap/1.0/\0"
_XMP_EXT_ID = b"http://ns.adobe.com/xmp/extension/\0"
_JPEG_PLAIN_APP = (b"JFIF\0", b"JFXX\0", b"MPF\0", b"Adobe", b"Ducky")


def _skip_entropy(data: bytes, pos: int) -> int:
    """Position of the next marker after entropy-coded data (stuffed 0xFF00 and RSTn are
    part of the data)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise ValueError("JPEG ends inside scan data")
        nxt = data[pos + 1]
        if nxt == 0 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            pos += 1 if nxt == 0xFF else 2
            continue
        return pos


def _jpeg_app(col: Collector, n: int, seg: bytes, icc: list[bytes], xmp_ext: list[bytes]) -> None:
    where = f"APP{n}"
    if seg.startswith(_XMP_ID):
        col.segments.extend(markup_segments(col.where(f"{where} XMP"), decode(seg[len(_XMP_ID):])[0]))
    elif seg.startswith(_XMP_EXT_ID):
        xmp_ext.append(seg[len(_XMP_EXT_ID) + 40:])
    elif seg.startswith(b"ICC_PROFILE\0"):
        icc.append(seg[14:])
    elif seg.startswith(b"Exif\0"):
        read_payload(col, f"{where} Exif", seg)
    elif seg.startswith(b"Photoshop 3.0\0"):
        col.text(f"{where} Photoshop", decode_any(seg))
    elif seg.startswith(_JPEG_PLAIN_APP):
        col.text(where, decode(seg)[0])
    else:
        read_payload(col, where, seg)


def _jpeg(col: Collector, data: bytes) -> int:
    pos = 2
    icc: list[bytes] = []
    xmp_ext: list[bytes] = []
    while True:
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise ValueError("bad JPEG marker")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:
            pos += 2
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise ValueError("truncated JPEG segment")
        seg = data[pos + 4:pos + 2 + length]
        pos += 2 + length
        if 0xE0 <= marker <= 0xEF:
            try:
                _jpeg_app(col, marker - 0xE0, seg, icc, xmp_ext)
            except Exception:
                col.unreadable(f"APP{marker - 0xE0}")
        elif marker == 0xFE:
            col.text("COM", decode_any(seg))
        elif marker == 0xDA:
            pos = _skip_entropy(data, pos)
    if icc:
        try:
            col.text("APP2 ICC profile", icc_texts(b"".join(icc)))
        except Exception:
            col.unreadable("APP2 ICC profile")
    if xmp_ext:
        col.segments.extend(markup_segments(col.where("APP1 extended XMP"), decode(b"".join(xmp_ext))[0]))
    return pos


# -- GIF -----------------------------------------------------------------------------------


def _sub_blocks(data: bytes, pos: int) -> tuple[list[bytes], int]:
    blocks: list[bytes] = []
    while True:
        if pos >= len(data):
            raise ValueError("truncated GIF sub-blocks")
        n = data[pos]
        if n == 0:
            return blocks, pos + 1
        if pos + 1 + n > len(data):
            raise ValueError("truncated GIF sub-block")
        blocks.append(data[pos + 1:pos + 1 + n])
        pos += 1 + n


def _gif_extension(col: Collector, data: bytes, pos: int) -> int:
    label = data[pos + 1]
    start = pos + 2
    blocks, end = _sub_blocks(data, start)
    if label == 0xFE:
        col.text("comment", decode_any(b"".join(blocks)))
    elif label == 0x01:
        col.text("plain text extension", decode_any(b"".join(blocks[1:])))
    elif label == 0xFF and blocks:
        app = blocks[0].decode("latin-1")
        where = f"application extension {app.strip()}"
        if app.startswith("XMP Data"):  # XMP is written raw: its bytes double as sub-blocks
            raw = data[start + 1 + len(blocks[0]):end]
            col.segments.extend(markup_segments(col.where(where), decode(raw)[0]))
        elif app.startswith("ICCRGBG1"):
            col.text(where, icc_texts(b"".join(blocks[1:])))
        elif not app.startswith(("NETSCAPE2.0", "ANIMEXTS1.0")):
            read_payload(col, where, b"".join(blocks[1:]))
    elif label != 0xF9:  # anything but graphic control
        read_payload(col, f"extension 0x{label:02x}", b"".join(blocks))
    return end


def _gif(col: Collector, data: bytes) -> int:
    flags = data[10]
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    while True:
        if pos >= len(data):
            raise ValueError("GIF ends without trailer")
        b = data[pos]
        if b == 0x3B:
            return pos + 1
        if b == 0x21:
            pos = _gif_extension(col, data, pos)
        elif b == 0x2C:
            flags = data[pos + 9]
            pos += 10 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0) + 1
            _blocks, pos = _sub_blocks(data, pos)
        else:
            raise ValueError("bad GIF block")


# -- WebP ----------------------------------------------------------------------------------

_RIFF_PLAIN = frozenset((b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM"))


def _riff_chunks(col: Collector, data: bytes, pos: int, end: int) -> None:
    while pos < end:
        if pos + 8 > end:
            raise ValueError("truncated RIFF chunk header")
        fourcc = data[pos:pos + 4]
        (n,) = struct.unpack("<I", data[pos + 4:pos + 8])
        if pos + 8 + n > end:
            raise ValueError("truncated RIFF chunk")
        body = data[pos + 8:pos + 8 + n]
        where = "chunk " + fourcc.decode("latin-1").strip()
        if fourcc == b"ANMF":
            _riff_chunks(col, data, pos + 24, pos + 8 + n)
        elif fourcc == b"ICCP":
            col.text(where, icc_texts(body))
        elif fourcc == b"XMP ":
            col.segments.extend(markup_segments(col.where(where), decode(body)[0]))
        elif fourcc not in _RIFF_PLAIN:  # EXIF, unknown chunks
            read_payload(col, where, body)
        pos += 8 + n + (n & 1)


def _webp(col: Collector, data: bytes) -> int:
    (size,) = struct.unpack("<I", data[4:8])
    end: int = 8 + size
    if end > len(data) + 1:  # a missing final pad byte is tolerated
        raise ValueError("truncated RIFF")
    _riff_chunks(col, data, 12, min(end, len(data)))
    return end


# -- ICO -----------------------------------------------------------------------------------


def _ico(col: Collector, data: bytes) -> int:
    (count,) = struct.unpack("<H", data[4:6])
    end: int = 6 + 16 * count
    for i in range(count):
        size, offset = struct.unpack("<II", data[6 + 16 * i + 8:6 + 16 * i + 16])
        if offset + size > len(data):
            raise ValueError("ICO image beyond the data")
        blob = data[offset:offset + size]
        col.child(f"image {i + 1}", "icon.png" if blob.startswith(_PNG_SIG) else "icon.dib", blob)
        end = max(end, offset + size)
    return end


# -- TIFF ----------------------------------------------------------------------------------


def _tiff(col: Collector, data: bytes) -> None:
    """Every tag (text fields decoded, the rest as printable runs); strips are pixels."""
    text, thumbs = exif_texts(data)
    col.text("tags", text)
    for j, thumb in enumerate(thumbs, 1):
        col.child(f"thumbnail {j}", "thumbnail.jpg", thumb)
