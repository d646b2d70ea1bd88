"""Reading sources from disk (the I/O end of the pipeline).

Text is decoded strictly as UTF-8; a BOM is dropped and CRLF/CR become LF so that
line numbers stay those an editor shows. Problems become diagnostics, never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostic, error, warning


@dataclass(frozen=True)
class SourceFile:
    path: str  # repo-relative, POSIX
    text: str  # normalised: no BOM, LF line endings


def decode(raw: bytes, rel: str) -> tuple[str | None, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        diags.append(warning("W-SRC-BOM", "file starts with a UTF-8 byte-order mark (ignored)", rel, 1, 1,
                             "save the file as UTF-8 without BOM"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # everything before the first bad byte is valid UTF-8; count lines as an editor does
        # (CRLF or CR endings) and columns in characters, not bytes
        before = raw[: exc.start].decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        diags.append(error("E-SRC-ENCODING", f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})", rel, line, col,
                           "re-save the file as UTF-8"))
        return None, diags
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        diags.append(error("E-SRC-BINARY", "file contains NUL bytes", rel, line, 1, "is this a binary file?"))
        return None, diags
    return text, diags


def read_text(root: Path, rel: str) -> tuple[SourceFile | None, list[Diagnostic]]:
    p = root / rel
    try:
        raw = p.read_bytes()
    except OSError as exc:
        return None, [error("E-SRC-READ", f"cannot read file: {exc.strerror}", rel)]
    text, diags = decode(raw, rel)
    if text is None:
        return None, diags
    return SourceFile(rel, text), diags
