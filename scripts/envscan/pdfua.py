"""The PDF as a tagged PDF/UA-1 document: what WeasyPrint's ``pdf/ua-1`` variant does not do.

WeasyPrint (66 and later) writes the structure tree from the HTML: headings H1-H3, paragraphs,
lists, tables, links, figures with their alt text, the document language, the title shown in
the window title (DisplayDocTitle), bookmarks and the PDF/UA identification. envscan adds:

* **notes as notes** -- a note in the PDF is an ``<envscan-note>`` element (a CSS footnote);
  while the PDF is written, WeasyPrint's HTML-to-PDF tag table maps that element to ``Note``
  (``note_tags``). Every Note then gets the unique ``ID`` PDF/UA requires (``finish``).
* **running headers and footers as artifacts** -- WeasyPrint marks the text of page-margin
  boxes (the marking label, page numbers) as content but leaves it out of the structure tree;
  ``finish`` turns that content into pagination artifacts, so no content is left untagged.
* **link descriptions** -- each link annotation's ``Contents`` says where it leads ("Note 12",
  "Section 2.1 Female Offenders") instead of the bare anchor name.

Everything here works on the written file (pikepdf); nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .render import PDF_NOTE_TAG

PDF_VARIANT = "pdf/ua-1"
_EMPTY_OK = ("/Span", "/NonStruct")  # inline or neutral elements that may go when they hold nothing


@contextmanager
def note_tags() -> Iterator[bool]:
    """While a PDF is written: ``<envscan-note>`` is tagged ``Note`` (WeasyPrint tags unknown
    elements ``NonStruct``). Yields False when this WeasyPrint has no tag table to extend
    (its notes stay untagged; the PDF tests say so)."""
    try:
        from weasyprint.pdf import tags

        original = tags._get_pdf_tag
    except (ImportError, AttributeError):
        yield False
        return

    def pdf_tag(tag: Any) -> str:
        return "Note" if tag == PDF_NOTE_TAG else original(tag)

    tags._get_pdf_tag = pdf_tag
    try:
        yield True
    finally:
        tags._get_pdf_tag = original


def _kids(elem: Any) -> list[Any]:
    import pikepdf

    k = elem.get("/K")
    if k is None:
        return []
    return list(k) if isinstance(k, pikepdf.Array) else [k]


def _struct_elems(root: Any) -> Iterator[Any]:
    """Every structure element reachable from the structure tree root, in tree order."""
    import pikepdf

    seen: set[tuple[int, int]] = set()
    stack = list(reversed(_kids(root)))
    while stack:
        e = stack.pop()
        if not isinstance(e, pikepdf.Dictionary) or e.get("/Type") in ("/OBJR", "/MCR"):
            continue
        if e.is_indirect:
            if e.objgen in seen:
                continue
            seen.add(e.objgen)
        yield e
        stack.extend(reversed([c for c in _kids(e) if isinstance(c, pikepdf.Dictionary)]))


def finish(path: Path, link_descriptions: dict[str, str]) -> dict[str, int]:
    """Complete the tagging of the PDF at ``path`` in place (see the module's docstring).

    ``link_descriptions`` maps an in-document anchor (``fn:12``, ``sec-female-offenders``) to
    what a link to it is announced as. Returns counts (notes, artifacts, links) for tests.
    The file is rewritten deterministically (same input, same bytes)."""
    import pikepdf

    counts = {"notes": 0, "artifacts": 0, "links": 0}
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        root = pdf.Root.get("/StructTreeRoot")
        if root is None:
            return counts
        in_tree = {e.objgen for e in _struct_elems(root) if e.is_indirect}
        _drop_empty_inline(root)
        counts["notes"] = _note_ids(pdf, root)
        counts["artifacts"] = _pagination_artifacts(pdf, root, in_tree)
        counts["links"] = _describe_links(pdf, link_descriptions)
        pdf.save(path, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.preserve)
    return counts


def _drop_empty_inline(root: Any) -> None:
    """Empty inline elements (an element with no content, e.g. the marking holder) go."""
    import pikepdf

    for e in list(_struct_elems(root)):
        kids = e.get("/K")
        if isinstance(kids, pikepdf.Array):
            keep = [k for k in kids if not (isinstance(k, pikepdf.Dictionary) and k.get("/S") in _EMPTY_OK
                                            and not _kids(k))]
            if len(keep) != len(kids):
                e.K = pikepdf.Array(keep)


def _note_ids(pdf: Any, root: Any) -> int:
    """Notes: a unique ID each, and the IDTree that maps IDs to elements. Returns their count."""
    import pikepdf

    id_pairs: list[tuple[str, Any]] = []
    for e in _struct_elems(root):
        if e.get("/S") == "/Note":
            nid = f"note-{len(id_pairs) + 1}"
            e.ID = pikepdf.String(nid)
            id_pairs.append((nid, e))
    if id_pairs:
        names = pikepdf.Array()
        for nid, e in sorted(id_pairs, key=lambda p: p[0].encode()):
            names.append(pikepdf.String(nid))
            names.append(e)
        root.IDTree = pdf.make_indirect(pikepdf.Dictionary(Names=names))
    return len(id_pairs)


def _pagination_artifacts(pdf: Any, root: Any, in_tree: set[Any]) -> int:
    """Marked content outside the structure tree (page-margin boxes) becomes pagination
    artifacts. Returns how many."""
    import pikepdf

    count = 0
    nums = root.ParentTree.get("/Nums") if "/ParentTree" in root else None
    parents: dict[int, Any] = {}
    if nums is not None:
        for i in range(0, len(nums), 2):
            parents[int(nums[i])] = nums[i + 1]
    for page in pdf.pages:
        sp = page.obj.get("/StructParents")
        arr = parents.get(int(sp)) if sp is not None else None
        fast = _artifacts_in_raw(page, arr, in_tree)
        if fast is not None:  # WeasyPrint's streams: rewritten as bytes (the parse below is slow)
            data, n = fast
            if n:
                page.obj.Contents = pdf.make_stream(data)
                count += n
            continue
        changed = False
        new_ops: list[tuple[Collection[Any], pikepdf.Operator]] = []
        for inst in pikepdf.parse_content_stream(page):  # an instruction, or an inline image
            operands, operator = inst.operands, inst.operator
            new_operands: Collection[Any] = operands
            if str(operator) == "BDC" and len(operands) == 2 and isinstance(operands[1], pikepdf.Dictionary) \
                    and "/MCID" in operands[1]:
                mcid = int(operands[1].MCID)
                owner = arr[mcid] if isinstance(arr, pikepdf.Array) and mcid < len(arr) else None
                if not isinstance(owner, pikepdf.Dictionary) or owner.objgen not in in_tree:
                    new_operands = [pikepdf.Name.Artifact, pikepdf.Dictionary(Type=pikepdf.Name.Pagination)]
                    if isinstance(arr, pikepdf.Array) and mcid < len(arr):
                        arr[mcid] = None
                    count += 1
                    changed = True
            new_ops.append((new_operands, operator))
        if changed:
            page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(new_ops))
    return count


def _describe_links(pdf: Any, link_descriptions: dict[str, str]) -> int:
    """Link annotations say where they lead. Returns how many were described."""
    import pikepdf

    count = 0
    for page in pdf.pages:
        for annot in page.obj.get("/Annots") or []:
            if annot.get("/Subtype") != "/Link":
                continue
            dest = annot.get("/Dest")
            action = annot.get("/A")
            if dest is None and action is not None and action.get("/S") == "/GoTo":
                dest = action.get("/D")
            if isinstance(dest, pikepdf.String) and str(dest) in link_descriptions:
                annot.Contents = pikepdf.String(link_descriptions[str(dest)])
                count += 1
            elif action is not None and action.get("/S") == "/URI" and "/Contents" not in annot:
                annot.Contents = pikepdf.String(f"Link to {action.URI}")
                count += 1
    return count


_BDC_MCID = re.compile(rb"/([A-Za-z][\w.-]*)[ \t\r\n]*<<[ \t\r\n]*/MCID[ \t\r\n]+(\d+)[ \t\r\n]*>>[ \t\r\n]*BDC")
_UNSAFE = re.compile(rb"\(|(?:^|[ \t\r\n])BI[ \t\r\n]")  # literal strings, inline images: tokens hide in them


def _artifacts_in_raw(page: Any, arr: Any, in_tree: set[tuple[int, int]]) -> tuple[bytes, int] | None:
    """The page's content with each marked-content sequence whose MCID belongs to no element of
    the tree turned into a pagination artifact, by a byte-level rewrite of ``/Tag <</MCID n>> BDC``;
    the orphans' ParentTree entries become null. None when the stream holds literal strings or
    inline images (a token may hide in them): the caller parses the stream instead."""
    import pikepdf

    contents = page.obj.get("/Contents")
    if contents is None:
        return b"", 0
    parts = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    data = b"\n".join(bytes(p.read_bytes()) for p in parts)
    if _UNSAFE.search(data):
        return None
    n = 0

    def sub(m: re.Match[bytes]) -> bytes:
        nonlocal n
        mcid = int(m.group(2))
        owner = arr[mcid] if isinstance(arr, pikepdf.Array) and mcid < len(arr) else None
        if isinstance(owner, pikepdf.Dictionary) and owner.objgen in in_tree:
            return m.group(0)
        if isinstance(arr, pikepdf.Array) and mcid < len(arr):
            arr[mcid] = None
        n += 1
        return b"/Artifact <</Type /Pagination>> BDC"

    return _BDC_MCID.sub(sub, data), n
