"""The machine-checkable part of PDF/UA-1 (ISO 14289-1) and WCAG for envscan's PDFs, read with
pikepdf over the structure tree and the page content, and with poppler's ``pdfinfo
-struct-text`` for the text of structure elements.

``audit(path)`` returns a :class:`Audit`: the structure elements in reading order (type, text,
attributes), the outline, the catalogue facts, and ``problems`` -- the rule violations found
(an empty list is a pass). What a checker cannot judge (is the alt text a good description? is
the reading order the intended one? ...) is listed in the README of the tests' final report.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf

STANDARD_TYPES = {  # PDF 1.7 standard structure types (ISO 32000-1, 14.8.4)
    "Document", "Part", "Art", "Sect", "Div", "BlockQuote", "Caption", "TOC", "TOCI", "Index", "NonStruct",
    "Private", "P", "H", "H1", "H2", "H3", "H4", "H5", "H6", "L", "LI", "Lbl", "LBody", "Table", "TR", "TH",
    "TD", "THead", "TBody", "TFoot", "Span", "Quote", "Note", "Reference", "BibEntry", "Code", "Link", "Annot",
    "Ruby", "RB", "RT", "RP", "Warichu", "WT", "WP", "Figure", "Formula", "Form"}
TEXT_OPS = {"Tj", "TJ", "'", '"'}


@dataclass
class Elem:
    type: str
    depth: int
    text: str = ""  # the element's own text and its descendants' (pdfinfo -struct-text)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Audit:
    catalog: dict[str, Any]
    elems: list[Elem]  # structure elements in tree (reading) order, from pikepdf
    tree_text: list[tuple[int, str, str]]  # (depth, type, text) from pdfinfo -struct-text
    outline: list[tuple[int, str]]  # (level, title)
    problems: list[str]

    def of_type(self, *types: str) -> list[Elem]:
        return [e for e in self.elems if e.type in types]

    def texts(self, *types: str) -> list[str]:
        """The text of each element of these types, from pdfinfo's structure dump."""
        out, cur, depth = [], None, -1
        for d, typ, txt in self.tree_text:
            if cur is not None and d <= depth:
                out.append(re.sub(r"\s+", " ", cur).strip())
                cur = None
            if cur is None and typ in types:
                cur, depth = "", d
            elif cur is not None and txt:
                cur += txt
        if cur is not None:
            out.append(re.sub(r"\s+", " ", cur).strip())
        return out


def _kids(e: Any) -> list[Any]:
    k = e.get("/K")
    if k is None:
        return []
    return list(k) if isinstance(k, pikepdf.Array) else [k]


def _struct_text(path: Path) -> list[tuple[int, str, str]]:
    """pdfinfo -struct-text: element lines ``Type (inline)`` / ``Type <id> (block)`` and quoted text
    lines, by indentation."""
    if not shutil.which("pdfinfo"):
        return []
    out = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, timeout=120).stdout
    rows: list[tuple[int, str, str]] = []
    for line in out.splitlines():
        depth = (len(line) - len(line.lstrip(" "))) // 2
        s = line.strip()
        if s.startswith('"') and s.endswith('"'):
            rows.append((depth, "", s[1:-1]))
        elif s and not s.startswith("Object "):
            rows.append((depth, s.split(" ", 1)[0], ""))
    return rows


def audit(path: Path) -> Audit:
    problems: list[str] = []
    with pikepdf.open(path) as pdf:
        root = pdf.Root
        md = pdf.open_metadata()
        catalog = {
            "Lang": str(root.get("/Lang", "")),
            "Marked": bool(root.get("/MarkInfo", {}).get("/Marked", False)),
            "DisplayDocTitle": bool(root.get("/ViewerPreferences", {}).get("/DisplayDocTitle", False)),
            "Title": str(pdf.docinfo.get("/Title", "")),
            "dc:title": str(md.get("dc:title", "")),
            "pdfuaid:part": str(md.get("pdfuaid:part", "")),
            "pages": len(pdf.pages),
        }
        if not catalog["Lang"]:
            problems.append("no document language (/Lang)")
        if not catalog["Marked"]:
            problems.append("not marked as tagged (/MarkInfo /Marked)")
        if not catalog["DisplayDocTitle"]:
            problems.append("the window title is not the document's title (DisplayDocTitle)")
        if not catalog["dc:title"]:
            problems.append("no dc:title in the XMP metadata")
        if catalog["pdfuaid:part"] != "1":
            problems.append("no PDF/UA-1 identification (pdfuaid:part) in the XMP metadata")
        st = root.get("/StructTreeRoot")
        if st is None:
            return Audit(catalog, [], [], [], problems + ["untagged: no structure tree"])

        # the tree, in order; every element of a standard type (or role-mapped to one)
        role_map = {str(k)[1:]: str(v)[1:] for k, v in (st.get("/RoleMap") or {}).items()}
        elems: list[Elem] = []
        reachable: set[tuple[int, int]] = set()
        ids: dict[str, int] = {}

        def walk(e: Any, depth: int) -> None:
            if not isinstance(e, pikepdf.Dictionary) or e.get("/Type") in ("/OBJR", "/MCR"):
                return
            if e.is_indirect:
                if e.objgen in reachable:
                    problems.append(f"structure element {e.objgen} appears twice in the tree")
                    return
                reachable.add(e.objgen)
            typ = str(e.get("/S", ""))[1:]
            attrs = {k: e.get("/" + k) for k in ("Alt", "ID", "ActualText", "Lang") if ("/" + k) in e}
            elems.append(Elem(typ, depth, attrs={k: str(v) for k, v in attrs.items()}))
            if role_map.get(typ, typ) not in STANDARD_TYPES:
                problems.append(f"structure type {typ!r} is not standard and not role-mapped")
            if typ == "Figure" and not str(e.get("/Alt", "")).strip():
                problems.append("a Figure has no alternate text (/Alt)")
            if typ == "Note":
                nid = str(e.get("/ID", ""))
                if not nid:
                    problems.append("a Note has no ID")
                ids[nid] = ids.get(nid, 0) + 1
            for c in _kids(e):
                walk(c, depth + 1)

        for top in _kids(st):
            walk(top, 0)
        for nid, n in ids.items():
            if n > 1:
                problems.append(f"Note ID {nid!r} is used {n} times")

        # headings: H1-H6 only (no generic H), no level skipped on the way down
        last = 0
        for e in elems:
            if e.type == "H":
                problems.append("generic H heading (PDF/UA wants H1-H6 in a document that uses them)")
            m = re.fullmatch(r"H([1-6])", e.type)
            if m:
                lvl = int(m.group(1))
                if lvl > last + 1:
                    problems.append(f"heading level skipped: H{last} followed by H{lvl}")
                last = lvl

        # lists and tables hold what they should
        def check_children(parent_types: tuple[str, ...], allowed: set[str]) -> None:
            def visit(e: Any) -> None:
                if not isinstance(e, pikepdf.Dictionary) or e.get("/Type") in ("/OBJR", "/MCR"):
                    return
                typ = str(e.get("/S", ""))[1:]
                if typ in parent_types:
                    for c in _kids(e):
                        if isinstance(c, pikepdf.Dictionary) and c.get("/Type") not in ("/OBJR", "/MCR"):
                            ct = str(c.get("/S", ""))[1:]
                            if ct not in allowed:
                                problems.append(f"{typ} holds a {ct}")
                for c in _kids(e):
                    visit(c)
            for top in _kids(st):
                visit(top)

        check_children(("L",), {"LI", "L", "Caption"})
        check_children(("LI",), {"Lbl", "LBody"})
        check_children(("Table",), {"TR", "THead", "TBody", "TFoot", "Caption"})
        check_children(("THead", "TBody", "TFoot"), {"TR"})
        check_children(("TR",), {"TH", "TD"})

        # content: every piece of text on every page is tagged (its marked content belongs to an
        # element in the tree) or an artifact; every link annotation is in the tree and described
        parents: dict[int, Any] = {}
        nums = st.get("/ParentTree", {}).get("/Nums")
        if nums is not None:
            for i in range(0, len(nums), 2):
                parents[int(nums[i])] = nums[i + 1]
        untagged = 0
        for pno, page in enumerate(pdf.pages, 1):
            sp = page.obj.get("/StructParents")
            arr = parents.get(int(sp)) if sp is not None else None
            stack: list[str] = []
            for operands, op in pikepdf.parse_content_stream(page):
                o = str(op)
                if o in ("BDC", "BMC"):
                    kind = str(operands[0])
                    if kind == "/Artifact":
                        stack.append("artifact")
                    elif o == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1]:
                        mcid = int(operands[1].MCID)
                        owner = arr[mcid] if isinstance(arr, pikepdf.Array) and mcid < len(arr) else None
                        ok = isinstance(owner, pikepdf.Dictionary) and owner.objgen in reachable
                        stack.append("tagged" if ok else "orphan")
                    else:
                        stack.append("other")
                elif o == "EMC":
                    if stack:
                        stack.pop()
                elif o in TEXT_OPS and not any(s in ("tagged", "artifact") for s in stack):
                    untagged += 1
            annots = page.obj.get("/Annots") or []
            if annots and page.obj.get("/Tabs") != "/S":
                problems.append(f"page {pno}: annotations but tab order is not the structure order (/Tabs /S)")
            for a in annots:
                if a.get("/Subtype") == "/Link":
                    if "/StructParent" not in a:
                        problems.append(f"page {pno}: a link annotation is not in the structure tree")
                    if not str(a.get("/Contents", "")).strip():
                        problems.append(f"page {pno}: a link annotation has no description (/Contents)")
        if untagged:
            problems.append(f"{untagged} text-showing operator(s) neither tagged nor artifacts")

        # fonts embedded
        for page in pdf.pages:
            for name, font in (page.obj.get("/Resources", {}).get("/Font") or {}).items():
                fonts = [font] + list(font.get("/DescendantFonts") or [])
                desc = next((f.get("/FontDescriptor") for f in fonts if "/FontDescriptor" in f), None)
                if desc is None or not any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    if font.get("/Subtype") != "/Type3":
                        problems.append(f"font {name} is not embedded")

        outline: list[tuple[int, str]] = []
        with pdf.open_outline() as ol:
            def flatten(items: Any, level: int) -> None:
                for it in items:
                    outline.append((level, str(it.title)))
                    flatten(it.children, level + 1)
            flatten(ol.root, 1)
        if not outline:
            problems.append("no bookmarks (outline)")

    return Audit(catalog, elems, _struct_text(path), outline, sorted(set(problems)))
