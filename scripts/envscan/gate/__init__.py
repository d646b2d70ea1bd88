"""Leak gate: scan every output file of an edition for text above the edition's marking.

``envscan build`` runs the gate over each edition's whole output tree (site pages, search
index, sitemaps, assets, the PDF) with that edition's restricted passages -- the text that
filtering removed from it -- and stops the build on any finding.  ``envscan check`` uses
the same matcher on each edition's visible source text (an author's copy-paste).

The gate *fails closed*: anything it cannot read (a corrupt or encrypted file, a compressed
chunk that does not inflate, an image chunk or segment of unknown content, a binary format
it has no reader for) is itself a finding ("cannot be verified").  Nothing here prints, and
bad input files never raise; problems come back as :class:`Finding` objects.  Findings name
a passage by its opaque id and source origin only; the restricted text itself never appears
in a finding (a file or folder whose *name* is restricted is shown as
``<name withheld: R..>``).

Modules:

* :mod:`.normalise` -- the reader-like normalisation both sides go through: entities
  decoded, default-ignorable and filler characters removed, NFKD, diacritics dropped,
  UTS #39 confusables mapped to their prototype, case folded, the ASCII confusables
  (I/l/1, 0/O, rn/m) folded, hyphenation rejoined.
* :mod:`.match` -- the matching rules: long passages by word 8-grams; short passages
  (2-7 words, or one word of 10+ characters) whole, and their distinctive parts (runs from
  one non-stop-word to another holding at least two non-stop-words); the allow-list.
* :mod:`.extract` -- bytes to text: HTML/XML/SVG, JSON, Markdown, scripts, data URIs,
  gzip/brotli/zip, PDF, PNG/JPEG/GIF/WebP/ICO metadata, fonts (fontTools).
* :mod:`.scan` -- :class:`Gate`: files, embedded files, trees, file names, the memo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Finding, Restricted
from .match import STOP_WORDS
from .normalise import normalise_text, normalise_words

if TYPE_CHECKING:
    from .scan import Gate

__all__ = ["Restricted", "Finding", "Gate", "normalise_words", "normalise_text", "STOP_WORDS"]


def __getattr__(name: str) -> Any:
    # Gate (with the file readers of .extract) is imported on first use: ``envscan check`` needs
    # only the matcher
    if name == "Gate":
        from .scan import Gate

        globals()["Gate"] = Gate
        return Gate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
