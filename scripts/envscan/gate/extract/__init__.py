"""What to scan in one file: its bytes turned into text segments, problems and embedded files.

:func:`extract` decides by the file name's extension, else by sniffing the content:

* markup (HTML, XML, SVG ...): rendered text, attributes, comments, script/style, CDATA,
  declarations, XML internal entities expanded (:mod:`.markup`);
* JSON (search index, source maps ...), Markdown, scripts and other text, with string and
  URL escapes decoded; base64 ``data:`` URIs become embedded files (:mod:`.text`);
* gzip, brotli, zip containers (:mod:`.archive`) and PDF (:mod:`.pdf`);
* images (PNG, JPEG, GIF, WebP, ICO, TIFF; :mod:`.images`) and fonts (:mod:`.fonts`), plus the
  printable runs of the whole file;
* any other binary: its printable runs are scanned, and the file is reported unreadable
  ("cannot be verified"): the gate cannot tell what else it holds.
"""

from __future__ import annotations

from ..base import Child, Collector, Extracted, Problem, Segment
from .archive import gunzip, unbrotli, zip_members
from .binary import strings
from .escapes import decode, is_texty, text_segments
from .fonts import is_font, read_font
from .images import image_kind, read_image
from .markup import expand_entities, markup_segments
from .pdf import pdf_extract
from .text import data_uris, json_segments, markdown_view

__all__ = ["extract", "file_ext"]

MARKUP_EXT = {".html", ".htm", ".xhtml", ".shtml", ".xml", ".svg", ".rss",
              ".atom", ".opf", ".ncx", ".xsl", ".xslt", ".kml", ".plist", ".xmp", ".rdf"}
JSON_EXT = {".json", ".webmanifest", ".geojson", ".ipynb", ".jsonld", ".map"}
SCRIPT_EXT = {".js", ".mjs", ".cjs", ".ts"}
MD_EXT = {".md", ".markdown", ".mdown", ".mkd"}
TEXT_EXT = {".css", ".txt", ".yml", ".yaml", ".csv", ".tsv", ".toml", ".ini",
            ".cfg", ".conf", ".rst", ".tex", ".bib", ".log", ".scss", ".sass",
            ".less", ".htaccess", ".py", ".sh", ".ris", ".vtt", ".srt"}
ZIP_EXT = {".zip", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp",
           ".epub", ".jar", ".whl"}
BINARY_EXT = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".ico",
              ".bmp", ".dib", ".tif", ".tiff", ".heic", ".woff", ".woff2", ".ttf",
              ".otf", ".ttc", ".eot", ".mp3", ".mp4", ".webm", ".ogg", ".wav"}
_TEXTUAL = MARKUP_EXT | JSON_EXT | SCRIPT_EXT | MD_EXT | TEXT_EXT
_COMPRESSED = {".gz": "", ".tgz": ".tar", ".svgz": ".svg"}


def file_ext(name: str) -> str:
    base = name.rsplit("/", 1)[-1].lower()
    if base == ".htaccess":
        return base
    dot = base.rfind(".")
    return base[dot:] if dot > 0 else ""


def _container(label: str, name: str, ext: str, data: bytes) -> Extracted | None:
    """gzip/brotli/zip/PDF, or None when ``data`` is none of those."""
    if ext in _COMPRESSED or (data[:2] == b"\x1f\x8b" and ext not in _TEXTUAL):
        inner = name[: -len(ext)] + _COMPRESSED[ext] if ext in _COMPRESSED else name + ".out"
        try:
            return Extracted([], [], [Child(label, inner, gunzip(data))])
        except Exception:
            return Extracted([], [Problem(label, "unreadable")], [])
    if ext == ".br":
        try:
            return Extracted([], [], [Child(label, name[:-3], unbrotli(data))])
        except Exception:
            return Extracted([], [Problem(label, "unreadable")], [])
    if ext in ZIP_EXT or (data[:4] == b"PK\x03\x04" and ext not in BINARY_EXT):
        return zip_members(label, data)
    if ext == ".pdf" or data[:5] == b"%PDF-":
        return pdf_extract(label, data)
    return None


def _binary(label: str, ext: str, data: bytes) -> Extracted:
    """Images and fonts by structure, anything else unreadable; printable runs of the
    whole file in every case (reported only where no finer location found a passage)."""
    col = Collector(label)
    col.text("", strings(data), fallback=True)
    kind = image_kind(data)
    if kind is not None:
        read_image(col, kind, data)
    elif is_font(data):
        read_font(col, data)
    elif ext in (".bmp", ".dib"):
        pass  # uncompressed: the printable runs are all it holds
    elif data.strip(b"\0 \t\r\n"):
        col.unreadable("")
    return col.result()


def _text(label: str, ext: str, text: str) -> list[Segment]:
    if ext in MARKUP_EXT:
        return markup_segments(label, text)
    if ext in JSON_EXT:
        return json_segments(label, text)
    if ext in MD_EXT:
        return text_segments(label, text, True) + [Segment(label, markdown_view(text), True)]
    if ext in SCRIPT_EXT or ext in TEXT_EXT:
        return text_segments(label, text, True)
    head = text.lstrip()[:1]  # unknown extension, valid text: sniff
    if head == "<":
        return markup_segments(label, text)
    if head in ("{", "["):
        return json_segments(label, text)
    return text_segments(label, text, True)


def extract(label: str, name: str, data: bytes) -> Extracted:
    """(segments, problems, embedded files) for one file's bytes; ``name`` (a path or a
    made-up name for embedded data) decides how they are read, else their content."""
    ext = file_ext(name)
    found = _container(label, name, ext, data)
    if found is not None:
        return found
    if ext in BINARY_EXT or (ext not in _TEXTUAL and (image_kind(data) or is_font(data))):
        return _binary(label, ext, data)
    text, clean = decode(data)
    if not clean and ext not in _TEXTUAL and not is_texty(data):
        return _binary(label, ext, data)
    segs = _text(label, ext, text)
    problems: list[Problem] = []
    if not clean:
        # Probably a legacy 8-bit encoding: scan that reading too.
        segs.append(Segment(label, data.decode("cp1252", "replace"), True))
    if "<!ENTITY" in text and expand_entities(text) is None:
        problems.append(Problem(f"{label} (entity expansion)", "unreadable"))
    children, uri_problems = data_uris(label, segs)
    return Extracted(segs, problems + uri_problems, children)
