"""Editions (issue 3): filter first, then number; the leak gate fails closed.

1. property-based: random documents assembled in-process (``assemble``), canaries per piece;
2. one end-to-end build per leak vector (LF, CRLF and BOM variants);
3. fail-closed builds, determinism, tearlines, filter-first numbering, sanitisation report;
4. the leak gate itself (output and source level).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envscan.diagnostics import has_errors
from envscan.edition import assemble
from envscan.project import load_project
from envscan.resolve import resolve

from edition_helpers import (BIB, SENTENCES, build, canary_hits, chapter, config_yml, errors, make_project, png,
                             reports_dir, show, tree_hashes, tree_text)

# =========================================================================== 1. property-based

MARKS_RESTRICTED = ["TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]


@dataclass
class Doc:
    """A rendered random document and what each edition must (not) contain."""

    chapters: dict[str, str] = field(default_factory=dict)
    public: list[str] = field(default_factory=list)  # in both editions
    restricted: list[str] = field(default_factory=list)  # restricted edition only
    public_only: list[str] = field(default_factory=list)  # tearline paraphrases: public only
    nowhere: list[str] = field(default_factory=list)  # editor notes: no edition
    # public notes in document order: ("fn", canary of its text, chapter) or ("cite", None, chapter)
    public_notes: list[tuple[str, str | None, int]] = field(default_factory=list)
    all_notes: list[tuple[str, str | None, int]] = field(default_factory=list)  # restricted edition
    titles: list[str] = field(default_factory=list)  # chapter-title canaries (front matter: site_md only)
    headings: list[tuple[int, int, str, bool]] = field(default_factory=list)  # (chapter, level, canary, public)
    n = 0

    def canary(self, kind: str) -> str:
        """A unique canary word: ``zqr…`` restricted, ``pub…`` public, ``tea…`` tearline, ``edi…`` editor."""
        self.n += 1
        k, s = self.n, ""
        for _ in range(5):
            s = "abcdefghijklmnopqrstuvwxyz"[k % 26] + s
            k //= 26
        prefix = {"restricted": "zqr", "public": "pub", "public_only": "tea", "nowhere": "edi"}[kind]
        word = prefix + s
        getattr(self, kind).append(word)
        return word


# piece descriptors (drawn by hypothesis, rendered deterministically)
para_st = st.fixed_dictionaries({
    "k": st.just("para"),
    "span": st.sampled_from(["", "", "mark", "mark_note", "editor", "clear"]),
    "note": st.sampled_from(["", "", "fn", "fn_span", "fn_multi", "fn_again", "inline"]),
    "cite": st.booleans(),
})
leaf_st = st.one_of(
    para_st,
    st.fixed_dictionaries({"k": st.just("list"), "items": st.integers(1, 3), "span": st.booleans(),
                           "note": st.booleans(), "ordered": st.booleans()}),
    st.fixed_dictionaries({"k": st.just("table"), "rows": st.integers(1, 3), "span": st.booleans()}),
    st.fixed_dictionaries({"k": st.just("quote"), "span": st.booleans(), "note": st.booleans()}),
    st.fixed_dictionaries({"k": st.just("admon"), "collapsed": st.booleans(), "span": st.booleans(),
                           "note": st.booleans()}),
    st.fixed_dictionaries({"k": st.just("heading")}),
    # a marked block inside a container (admonition, block quote, list item)
    st.fixed_dictionaries({"k": st.just("wrapped"), "container": st.sampled_from(["admon", "quote", "list"]),
                           "marking": st.sampled_from(MARKS_RESTRICTED + ["TLP:CLEAR"]),
                           "children": st.lists(para_st.map(lambda p: {**p, "note": p["note"] if p["note"] in
                                                                       ("", "inline") else ""}),
                                                min_size=1, max_size=2)}),
)
piece_st = st.recursive(
    leaf_st,
    lambda children: st.fixed_dictionaries({
        "k": st.just("block"),
        "marking": st.sampled_from(MARKS_RESTRICTED + ["TLP:CLEAR"]),
        "editor": st.booleans(),
        "tearline": st.booleans(),
        "children": st.lists(children, min_size=1, max_size=3),
    }),
    max_leaves=8,
)
chapter_st = st.fixed_dictionaries({
    "marking": st.sampled_from(["TLP:CLEAR", "TLP:CLEAR", "TLP:CLEAR", "TLP:AMBER", None]),
    "pieces": st.lists(piece_st, min_size=1, max_size=5),
})
docs_st = st.lists(chapter_st, min_size=1, max_size=3)


class _Render:
    def __init__(self, doc: Doc):
        self.doc = doc
        self.labels = 0
        self.sent = 0
        self.chapter = 0

    def sentence(self) -> str:
        self.sent += 1
        return SENTENCES[self.sent % len(SENTENCES)]

    def kind(self, restricted: bool) -> str:
        return "restricted" if restricted else "public"

    def note(self, restricted: bool, item: tuple) -> None:
        item = item + (self.chapter,)
        self.doc.all_notes.append(item)
        if not restricted:
            self.doc.public_notes.append(item)

    def inline(self, p: dict, r: bool, defs: list[str]) -> str:
        """One paragraph's text (a sentence with a canary, maybe a span, a note, a citation)."""
        d = self.doc
        text = f"{self.sentence()} {d.canary(self.kind(r))}"
        span = p.get("span", "")
        if span == "mark" or span is True:
            text += f" [and {d.canary('restricted')} too]{{marking=\"TLP:AMBER\"}}"
        elif span == "mark_note":
            # an inline note inside a restricted span goes with the span
            c1, c2 = d.canary("restricted"), d.canary("restricted")
            text += f" [and {c1}^[Aside {c2}.] too]{{marking=\"TLP:RED\"}}"
            d.all_notes.append(("fn", c2, self.chapter))
        elif span == "editor":
            text += f" [check {d.canary('nowhere')}]{{.editor}}"
        elif span == "clear":
            text += f" [plainly {d.canary(self.kind(r))}]{{marking=\"TLP:CLEAR\"}}"
        note = p.get("note", "")
        if note is True:
            note = "fn"
        if note in ("fn", "fn_span", "fn_multi", "fn_again"):
            self.labels += 1
            lab = f"n{self.labels}"
            c = d.canary(self.kind(r))
            body = f"[^{lab}]: The note {c} explains the figure."
            if note == "fn_span":
                body += f" [Detail {d.canary('restricted')}.]{{marking=\"TLP:AMBER\"}}"
            elif note == "fn_multi":
                body += f"\n\n    A second paragraph {d.canary(self.kind(r))} follows."
            defs.append(body)
            text += f"[^{lab}]"
            self.note(r, ("fn", c))
            if note == "fn_again":
                text += f" and once more {d.canary(self.kind(r))}[^{lab}]"
        elif note == "inline":
            c = d.canary(self.kind(r))
            text += f"^[An inline note {c}.]"
            self.note(r, ("fn", c))
        if p.get("cite"):
            text += " [@smith2010, 12]"
            self.note(r, ("cite", None))
        return text + "."

    def piece(self, p: dict, r: bool, defs: list[str], level: int) -> list[str]:
        d = self.doc
        k = p["k"]
        if k == "para":
            return [self.inline(p, r, defs), ""]
        if k == "heading":
            c = d.canary(self.kind(r))
            d.headings.append((self.chapter, 2, c, not r))
            return [f"## Section {c}", ""]
        if k == "list":
            out = []
            for i in range(p["items"]):
                q = {"span": p["span"] and i == 0, "note": p["note"] and i == p["items"] - 1}
                out.append(("1. " if p["ordered"] else "- ") + self.inline(q, r, defs))
            return out + [""]
        if k == "table":
            out = ["| Quay | Remark |", "|---|---|"]
            for i in range(p["rows"]):
                cell = f"[{d.canary('restricted')}]{{marking=\"TLP:AMBER\"}}" if p["span"] and i == 0 else \
                    d.canary(self.kind(r))
                out.append(f"| {d.canary(self.kind(r))} | {cell} |")
            return out + [""]
        if k == "quote":
            return ["> " + self.inline({"span": p["span"], "note": p["note"]}, r, defs), ""]
        if k == "admon":
            head = f'{"???" if p["collapsed"] else "!!!"} note "Remark {d.canary(self.kind(r))}"'
            return [head, "", "    " + self.inline({"span": p["span"], "note": p["note"]}, r, defs), ""]
        if k == "wrapped":
            rr = r or p["marking"] != "TLP:CLEAR"
            body = [f'::: {{marking="{p["marking"]}"}}', ""]
            for c in p["children"]:
                body += [self.inline(c, rr, defs), ""]
            body += [":::"]
            lead = f"Outside {d.canary(self.kind(r))} the block."
            if p["container"] == "admon":
                return ['!!! note "Aside"', "", "    " + lead, ""] + [("    " + x if x else "") for x in body] + [""]
            if p["container"] == "quote":
                return ["> " + lead, ">"] + [("> " + x if x else ">") for x in body] + [""]
            return ["- " + lead, ""] + [("  " + x if x else "") for x in body] + [""]
        if k == "block":
            if p["editor"]:
                # editor notes: never published, whatever they hold
                return ["::: {.editor}", f"Review remark {d.canary('nowhere')} for the desk.", ":::", ""]
            rr = r or p["marking"] != "TLP:CLEAR"
            inner_defs: list[str] = []
            body: list[str] = []
            for c in p["children"]:
                body += self.piece(c, rr, inner_defs, level + 1)
            out = [f'::: {{marking="{p["marking"]}"}}', ""] + body
            for x in inner_defs:
                out += [x, ""]
            if p["tearline"] and not r and rr:
                # a public paraphrase of the restricted block (only where the parent is public)
                out += ['::: {.tearline marking="TLP:CLEAR"}', f"A summary {d.canary('public_only')} is given.",
                        ":::", ""]
            return out + [":::", ""]
        raise AssertionError(k)


def render_doc(chs: list[dict]) -> Doc:
    doc = Doc()
    rnd = _Render(doc)
    for i, c in enumerate(chs):
        rnd.chapter = i
        r = c["marking"] != "TLP:CLEAR"  # AMBER or unmarked (scheme default: RED)
        kind = "restricted" if r else "public"
        title = f"Chapter {doc.canary(kind)}"
        doc.titles.append(title.split()[1])
        h1 = doc.canary(kind)
        doc.headings.append((i, 1, h1, not r))
        lines = [f"# Harbour {h1}", ""]
        defs: list[str] = []
        for p in c["pieces"]:
            lines += rnd.piece(p, r, defs, 0)
        for x in defs:
            lines += [x, ""]
        doc.chapters[f"c{i}.md"] = chapter("\n".join(lines), title=title, marking=c["marking"])
    return doc


def _note_numbers(pages_md: str, pattern: str) -> list[int]:
    return [int(x) for x in re.findall(pattern, pages_md)]


def _assemble_all(root: Path):
    project, diags = load_project(root)
    assert project is not None, show(diags)
    diags += resolve(project)
    assert not has_errors(diags), show(diags)
    out = {}
    for name, ed in project.config.editions.items():
        ae, d = assemble(project, ed)
        assert not has_errors(d), (name, show(d))
        out[name] = ae
    return out


@settings(max_examples=int(os.environ.get("EDITIONS_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(chs=docs_st)
def test_random_documents_public_edition_exact(chs):
    doc = render_doc(chs)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp), doc.chapters)
        eds = _assemble_all(root)
    pub, res = eds["public"], eds["restricted"]

    site = "\n".join((p.title + "\n" + p.html) for p in pub.pages)
    pdf = "\n".join(p.pdf_html for p in pub.pages)
    notes = "\n".join(n.html for n in pub.notes)
    for text, what in ((site, "site_md"), (pdf, "pdf_md"), (notes, "notes")):
        leaked = [c for c in doc.restricted + doc.nowhere if c in text]
        assert not leaked, f"restricted canaries in public {what}: {leaked}\n{text}"
    for text, what in ((site, "site_md"), (pdf, "pdf_md")):
        missing = [c for c in doc.public + doc.public_only if c not in text and (what == "site_md" or
                                                                              c not in doc.titles)]
        assert not missing, f"public canaries missing from public {what}: {missing}\n{text}"

    # footnote numbers: 1..n, no gaps, in document order
    n = len(doc.public_notes)
    assert [nt.number for nt in pub.notes] == list(range(1, n + 1))
    assert _note_numbers(site, r'<sup id="fnref:(\d+)">') == list(range(1, n + 1))
    assert _note_numbers(site, r'<li id="fn:(\d+)"') == list(range(1, n + 1))
    assert _note_numbers(pdf, r'<envscan-note class="footnote" id="fn:(\d+)">') == list(range(1, n + 1))
    prev = None
    for nt, (kind, canary, chap) in zip(pub.notes, doc.public_notes):
        if kind == "fn":
            assert canary in nt.html, (nt.number, canary, nt.html)
        else:
            # Ibid. after filtering: only when this edition's previous note (same chapter) cites the work
            ibid = prev is not None and prev[0] == "cite" and prev[2] == chap
            assert nt.label == "@cite"
            assert ("Ibid." in nt.html) == ibid and ("Smith" in nt.html) != ibid, (nt.number, nt.html)
        prev = (kind, canary, chap)

    # section numbers: filtered first, then numbered (no gap where a restricted section was)
    expected, chap, sec = [], 0, 0
    for _, level, c, public in doc.headings:
        if public and level == 1:
            chap, sec = chap + 1, 0
            expected.append((str(chap), f"Harbour {c}"))
        elif public:
            sec += 1
            expected.append((f"{chap}.{sec}", f"Section {c}"))
    assert [(s[0], s[1]) for s in pub.sections] == expected
    for num, title in expected:  # house style: "1. Harbour", "1.1 Section" (the 2012 print's)
        assert f"{num}{'. ' if '.' not in num else ' '}{title}" in site

    # the restricted edition: every canary but tearline paraphrases and editor notes
    rsite = "\n".join((p.title + "\n" + p.html) for p in res.pages)
    rpdf = "\n".join(p.pdf_html for p in res.pages)
    for text in (rsite, rpdf):
        assert [c for c in doc.public + doc.restricted if c not in text and (text is rsite or
                                                                          c not in doc.titles)] == []
        assert [c for c in doc.public_only + doc.nowhere if c in text] == []
    assert {c for c in doc.titles if c in doc.public} == {c for c in doc.titles if any(c in p.title for p in pub.pages)}
    assert [nt.number for nt in res.notes] == list(range(1, len(doc.all_notes) + 1))


# =========================================================================== 2. leak vectors, end to end

VARIANTS = ["lf", "crlf", "bom"]

INDEX = chapter("# Harbour Review {#sec-intro}\n\nThe harbour authority reviewed its annual budget in March pubintro.\n",
                title="Harbour Review")


@dataclass
class Vector:
    name: str
    chapters: dict[str, str]
    restricted: list[str]  # canaries that must be in no output file (nor path)
    public: list[str] = field(default_factory=list)  # canaries that must reach the output (no over-removal)
    error: str | None = None  # the build must fail with this code (else it must succeed)
    files: dict[str, bytes] = field(default_factory=dict)  # raw docs/ files
    top: str = ""  # extra top-level mkdocs.yml keys
    envscan: str = ""  # extra envscan options
    plugins: str = ""  # extra plugins after envscan
    nav_skip: tuple[str, ...] = ()  # chapters written but left out of nav
    prepare: object = None  # prepare(out) before the build
    check: object = None  # check(public_dir) after a successful build


def _stale(out: Path) -> None:
    """An earlier envscan output (it carries envscan's marker, so the build may replace it)."""
    from envscan.outputs import write_marker

    (out / "public" / "old" / "zqrstaledir").mkdir(parents=True)
    write_marker(out / "public", "public")
    (out / "public" / "stale-zqrstalefile.html").write_text("<p>zqrstalecontent</p>")
    (out / "public" / "old" / "zqrstaledir" / "index.html").write_text("<p>zqrstalecontent</p>")


def _check_assets(pub: Path) -> None:
    chart = pub / "img" / "chart.png"
    assert chart.is_file(), "a referenced image is published"
    assert b"tEXt" not in chart.read_bytes() and b"zqr" not in chart.read_bytes()
    for p in ("img/unused.png", "notes.txt", "data/sheet.csv", "img/zqrcrane.png"):
        assert not (pub / p).exists(), f"{p} is not referenced by a public page, yet published"


def _check_outputs(pub: Path) -> None:
    for p in ("search/search_index.json", "sitemap.xml", "sitemap.xml.gz", "404.html"):
        assert (pub / p).is_file(), p
    assert not (pub / "secret.html").exists() and not (pub / "unmarked.html").exists()
    assert not (pub / "stale-zqrstalefile.html").exists() and not (pub / "old").exists()


VECTORS = [
    Vector("html-comment", {"comment.md": chapter(
        "# Comments\n\nThe ferry timetable pubcomment was revised after the spring consultation.\n\n"
        "<!-- zqrcommentblock The desk will revisit the ferry figures in the next round. -->\n\n"
        "Three new cranes pubcommenttwo <!-- zqrcommentinline --> were installed.\n\n"
        "<!--\nzqrcommentmulti remark on two lines\n-->\n", title="Comments")},
        ["zqrcommentblock", "zqrcommentinline", "zqrcommentmulti"], ["pubcomment", "pubcommenttwo"]),
    Vector("assets", {"assets.md": chapter(
        '# Charts\n\n![Harbour chart pubchartalt](img/chart.png "Chart pubcharttitle")\n\n'
        "The pilot boats were repainted.\n", title="Charts")},
        ["zqrpngtext", "zqrunusedpng", "zqrnotestxt", "zqrsheetcsv"], ["pubchartalt", "pubcharttitle"],
        files={"img/chart.png": png({"Comment": "zqrpngtext author remark", "Author": "zqrpngtext"}),
               "img/unused.png": png({"Comment": "zqrunusedpng"}),
               "notes.txt": b"zqrnotestxt internal list\n", "data/sheet.csv": b"quay,zqrsheetcsv\n"},
        check=_check_assets),
    Vector("headings", {"headings.md": chapter(
        "# Quays {#sec-quays}\n\n## Northern quay pubheadnorth {#sec-north}\n\nThree cranes stand there.\n\n"
        '::: {marking="TLP:AMBER"}\n## Eastern zqrheadeast quay {#sec-zqrheadid}\n\nThe eastern quay zqrheadbody.\n\n'
        "### Eastern berth zqrheadberth\n\nThe berth was dredged in winter.\n:::\n\n"
        "## Southern quay pubheadsouth\n\nThe keeper logged the tides.\n", title="Quays")},
        ["zqrheadeast", "zqrheadid", "zqrheadbody", "zqrheadberth"], ["pubheadnorth", "pubheadsouth"]),
    Vector("links-images", {"links.md": chapter(
        '# Links\n\nSee [the plan pubplan](https://example.org/plan "Plan pubplantitle") for details.\n\n'
        'The ferry schedule [is in [the ledger](https://example.org/zqrlinktarget "Ledger zqrlinktitle") and '
        '![Crane zqrcranealt](img/zqrcrane.png "Crane zqrcranetitle")]{marking="TLP:AMBER"} today.\n',
        title="Links")},
        ["zqrlinktarget", "zqrlinktitle", "zqrcranealt", "zqrcranetitle", "zqrcrane"], ["pubplan", "pubplantitle"],
        files={"img/zqrcrane.png": png()}),
    Vector("abbreviations", {"abbr.md": chapter(
        "# Terms\n\nThe HQA reviewed its budget in March.\n\n"
        '::: {marking="TLP:AMBER"}\nThe PCZ was enlarged zqrabbrbody.\n:::\n', title="Terms")},
        ["zqrabbrexp", "zqrabbrbody"], ["pubabbrexp"],
        envscan="      abbreviations:\n        HQA: harbour quay authority pubabbrexp\n"
                "        PCZ: port control zone zqrabbrexp\n"),
    Vector("collapsed-admonition", {"collapsed.md": chapter(
        '# Remarks\n\n??? note "Visible remark pubcollapsed"\n\n    The timetable was revised pubcollapsedbody.\n\n'
        '::: {marking="TLP:AMBER"}\n??? note "Hidden remark zqrcollapsedtitle"\n\n    The quay ledger zqrcollapsedbody.\n\n'
        '???+ tip "Open remark zqropentitle"\n\n    Body zqropenbody.\n:::\n', title="Remarks")},
        ["zqrcollapsedtitle", "zqrcollapsedbody", "zqropentitle", "zqropenbody"], ["pubcollapsed", "pubcollapsedbody"]),
    Vector("repo-url", {}, ["zqrrepourl", "zqredituri"],
           top="site_url: https://scan.example.org/\nrepo_url: https://git.example.org/zqrrepourl/scan\n"
               "edit_uri: edit/main/zqredituri/\n",
           plugins="  - git-revision-date-localized:\n      fallback_to_build_date: true\n"),
    Vector("stale-output", {}, ["zqrstalefile", "zqrstaledir", "zqrstalecontent"], prepare=_stale),
    Vector("restricted-chapters", {
        "secret.md": chapter("# Quay zqrchapheading\n\nThe quay ledger zqrchapbody was revised.\n",
                             title="Quay zqrchaptitle", marking="TLP:AMBER"),
        "unmarked.md": chapter("# Dock zqrunmarkedhead\n\nThe dock ledger zqrunmarkedbody.\n",
                               title="Dock zqrunmarkedtitle", marking=None)},
        ["zqrchapheading", "zqrchapbody", "zqrchaptitle", "zqrunmarkedhead", "zqrunmarkedbody",
         "zqrunmarkedtitle", "zqrsourcetitle"], check=_check_outputs),
    # --- fail closed at the source
    Vector("editor-backup", {"comment.md~": chapter("# Old\n\nzqrbackup draft.\n")}, ["zqrbackup"],
           error="E-SRC-STRAY"),
    Vector("odd-extension", {"TWO.MD": chapter("# Two\n\nzqroddext draft.\n")}, ["zqroddext"], error="E-SRC-STRAY"),
    Vector("not-in-nav", {"orphan.md": chapter("# Orphan\n\nThe orphan zqrorphan page.\n")}, ["zqrorphan"],
           error="E-NAV-MISSING", nav_skip=("orphan.md",)),
    Vector("front-matter-key", {"fm.md": chapter("# Front\n\nText pubfm.\n", extra="remark: zqrfrontkey\n")},
           ["zqrfrontkey"], error="E-FRONT-KEY"),
    Vector("front-matter-malformed", {"fm.md": "---\ntitle: [Front zqrfrontyaml\nmarking: TLP:CLEAR\n---\n"
                                               "# Front\n\nText.\n"}, ["zqrfrontyaml"], error="E-FRONT-YAML"),
    Vector("abbreviation-in-chapter", {"abbr.md": chapter("# Terms\n\nThe HQA met.\n\n*[HQA]: harbour zqrabbrinline\n")},
           ["zqrabbrinline"], error="E-ABBR-INLINE"),
    Vector("critic-markup", {"critic.md": chapter("# Edits\n\nThe budget {++zqrcritic was++} agreed.\n")},
           ["zqrcritic"], error="E-CRITIC"),
    Vector("css-hidden-html", {"hidden.md": chapter(
        '# Hidden\n\nThe budget <span style="display:none">zqrcsshidden</span> was agreed.\n')},
        ["zqrcsshidden"], error="E-HTML-RAW"),
    Vector("unclosed-comment", {"uc.md": chapter(
        "# Comments\n\nThe budget was agreed <!-- zqrunclosed remark\n\nfor the desk -->.\n")},
        ["zqrunclosed"], error="E-HTML-COMMENT"),
    Vector("image-alt-marking", {"alt.md": chapter(
        '# Charts\n\n![Crane [zqraltmark]{marking="TLP:AMBER"} view](img/chart.png)\n')},
        ["zqraltmark"], error="E-MARK-LOOKALIKE", files={"img/chart.png": png()}),
    Vector("image-alt-editor", {"alt.md": chapter('# Charts\n\n![Crane [zqralted]{.editor} view](img/chart.png)\n')},
           ["zqralted"], error="E-MARK-LOOKALIKE", files={"img/chart.png": png()}),
    Vector("link-title-marking", {"lt.md": chapter(
        '# Links\n\nSee [the plan](https://example.org/p "Plan [zqrltmark]{marking=\'TLP:AMBER\'}").\n')},
        ["zqrltmark"], error="E-MARK-LOOKALIKE"),
    Vector("page-title-marking", {"pt.md": chapter(
        "# Quays\n\nText.\n", title='"Quays [zqrtitlemark]{marking=\\"TLP:AMBER\\"}"')},
        ["zqrtitlemark"], error="E-MARK-HEADING"),
    Vector("chapter-heading-filtered", {"h1.md": chapter(
        '::: {marking="TLP:AMBER"}\n# Quays zqrh1filtered\n:::\n\n## Berths\n\nText.\n', title="Quays")},
        ["zqrh1filtered"], error="E-ED-HEADING-FILTERED"),
]
OK_VECTORS = [v for v in VECTORS if v.error is None]
ERR_VECTORS = [v for v in VECTORS if v.error is not None]


def _vector_project(root: Path, vectors: list[Vector], variant: str) -> Path:
    chapters = {"index.md": INDEX}
    files: dict[str, bytes] = {}
    top = envscan = plugins = ""
    skip: set[str] = set()
    for v in vectors:
        chapters.update(v.chapters)
        files.update(v.files)
        top += v.top
        envscan += v.envscan
        plugins += v.plugins
        skip.update(v.nav_skip)
    nav = [n for n in chapters if n.endswith(".md") and n not in skip]
    return make_project(root, chapters, files=files, variant=variant,
                        config=config_yml(nav, top=top, envscan=envscan, plugins=plugins))


def _assert_variant_diags(diags, variant: str) -> None:
    if variant == "bom":
        assert "W-SRC-BOM" in {d.code for d in diags}, show(diags)


@pytest.mark.parametrize("variant", VARIANTS)
def test_leak_vectors_all_together(tmp_path, variant):
    """Every leak vector that must build, in one project: no restricted canary in any output file."""
    root = _vector_project(tmp_path / "src", OK_VECTORS, variant)
    out = tmp_path / "site"
    for v in OK_VECTORS:
        if v.prepare:
            v.prepare(out)
    diags = build(root, out)
    assert not errors(diags), show(diags)
    _assert_variant_diags(diags, variant)
    pub = out / "public"
    hits = canary_hits(out, [c for v in OK_VECTORS for c in v.restricted])
    assert not hits, hits
    text = "\n".join(tree_text(pub).values())
    missing = [(v.name, c) for v in OK_VECTORS for c in v.public + ["pubintro"] if c not in text]
    assert not missing, missing
    for v in OK_VECTORS:
        if v.check:
            v.check(pub)
    # the sanitisation report sits outside the output folder and holds no restricted text
    rep = reports_dir(root)
    assert not rep.resolve().is_relative_to(out.resolve())
    assert (rep / "public-sanitisation.json").is_file()
    assert not canary_hits(rep, [c for v in OK_VECTORS for c in v.restricted])


@pytest.mark.parametrize("vector", OK_VECTORS, ids=lambda v: v.name)
def test_leak_vector_alone(tmp_path, vector):
    """Each vector on its own (LF): it builds, and its restricted canaries reach no output file."""
    root = _vector_project(tmp_path / "src", [vector], "lf")
    out = tmp_path / "site"
    if vector.prepare:
        vector.prepare(out)
    diags = build(root, out)
    assert not errors(diags), show(diags)
    assert not canary_hits(out, vector.restricted)
    text = "\n".join(tree_text(out / "public").values())
    assert [c for c in vector.public if c not in text] == []
    if vector.check:
        vector.check(out / "public")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("vector", ERR_VECTORS, ids=lambda v: v.name)
def test_leak_vector_fails_closed(tmp_path, vector, variant):
    root = _vector_project(tmp_path / "src", [vector], variant)
    out = tmp_path / "site"
    diags = build(root, out)
    assert vector.error in errors(diags), show(diags)
    _assert_variant_diags(diags, variant)
    assert not canary_hits(out, vector.restricted)
    assert not (out / "public").exists()


# =========================================================================== 3. fail closed, deterministic, filter first

GOOD = chapter(
    "# Harbour Review {#sec-intro}\n\n"
    "The harbour authority reviewed its annual budget in March pubgood.\n\n"
    '::: {marking="TLP:AMBER"}\n## Eastern quay zqrgoodhead {#sec-east}\n\n'
    "The eastern berth was dredged during the cold months zqrgoodbody.\n:::\n\n"
    "## Western quay {#sec-west}\n\nThe western berth stayed open all year.\n",
    title="Harbour Review")

BREAKS = [
    ("E-ED-CITE-MARKED", "The quay works are documented [@quaywork2009, 3].\n"),
    ("E-ED-XREF-FILTERED", "The dredging is described in @sec-east.\n"),
    ("E-ED-FN-FILTERED", 'The berth reopened.[^q]\n\n::: {marking="TLP:AMBER"}\n[^q]: The berth zqrbreakfn note.\n:::\n'),
    ("E-MARK-HEADING", '## Northern [quay zqrbreakhead]{marking="TLP:AMBER"}\n\nText.\n'),
    ("E-DIV-UNCLOSED", '::: {marking="TLP:AMBER"}\nThe unclosed block zqrbreakunclosed.\n'),
    ("E-MARK-LOOKALIKE", '：：： {marking="TLP:AMBER"}\nThe look-alike block zqrbreaklookalike.\n：：：\n'),
    ("E-MARK-UNKNOWN", '::: {marking="TLP:AMBR"}\nThe misspelt block zqrbreakunknown.\n:::\n'),
    ("E-LEAK-SOURCE", '::: {marking="TLP:AMBER"}\nThe customs office counted forty vessels in the outer anchorage '
                      "last week zqrbreakleak.\n:::\n\nAs noted, the customs office counted forty vessels in the outer "
                      "anchorage last week.\n"),
]


def _site_with_good_build(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    root = make_project(tmp_path / "src", {"index.md": GOOD})
    out = tmp_path / "site"
    diags = build(root, out)
    assert not errors(diags), show(diags)
    return root, out, tree_hashes(out / "public")


def _assert_intact(out: Path, before: dict[str, str]) -> None:
    assert tree_hashes(out / "public") == before, "the previous public site changed"
    assert sorted(p.name for p in out.iterdir()) == ["public"], "temporary folders left behind"


def test_failed_builds_keep_previous_site_byte_for_byte(tmp_path):
    root, out, before = _site_with_good_build(tmp_path)
    assert not canary_hits(out, ["zqrgoodhead", "zqrgoodbody", "sec-east"])
    page = root / "docs" / "index.md"
    for code, extra in BREAKS:
        page.write_text(GOOD + "\n" + extra, encoding="utf-8")
        diags = build(root, out)
        assert code in errors(diags), (code, show(diags))
        _assert_intact(out, before)
        # gate messages identify passages, never quote them
        for d in diags:
            if d.code.startswith("E-LEAK"):
                assert "zqr" not in d.message + " ".join(d.hints) and "customs" not in d.message
    page.write_text(GOOD, encoding="utf-8")
    assert not errors(build(root, out))
    assert tree_hashes(out / "public") == before, "a rebuild of the same source is byte-identical"


def test_same_epoch_gives_identical_trees(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1330000000")
    root = make_project(tmp_path / "src", {"index.md": GOOD})
    a, b = tmp_path / "a" / "site", tmp_path / "b" / "site"
    assert not errors(build(root, a))
    report_a = (reports_dir(root) / "public-sanitisation.json").read_bytes()
    assert not errors(build(root, b))
    ha, hb = tree_hashes(a / "public"), tree_hashes(b / "public")
    assert ha == hb, sorted(k for k in set(ha) | set(hb) if ha.get(k) != hb.get(k))
    assert (reports_dir(root) / "public-sanitisation.json").read_bytes() == report_a


BIB_FF = BIB + """
@book{brown2008,
  author = {Brown, Dana},
  title = {Tide Tables Zqrbrowntitle Compared},
  publisher = {Sea Press},
  year = {2008},
}
"""

FF_ONE = chapter(
    "# Harbour Review {#sec-intro}\n\n"
    "## Budgets pubsecbudget {#sec-budget}\n\n"
    "The first public note pubnote1.[^a] A public citation [@jones2011, 4].\n\n"
    '::: {marking="TLP:AMBER"}\n## Dredging zqrsecdredge {#sec-dredge}\n\n'
    "The dredging contract zqrnotetext was renewed.[^b] It follows [@smith2010, 7].\n\n"
    "[^b]: The renewal zqrnotebody was agreed, as in [@brown2008, 2] and [@quaywork2009, 5].\n:::\n\n"
    "## Ferries pubsecferry {#sec-ferry}\n\n"
    "The ferry count grew [@smith2010, 7]. See @sec-ferry.\n\n"
    '::: {marking="TLP:RED"}\nThe ferry operator zqrjones was consulted [@jones2011, 9].\n:::\n\n'
    "The count was confirmed [@smith2010, 7].\n\n"
    '::: {marking="TLP:AMBER"}\n'
    "The eastern berth was closed for dredging works zqrtearorig during the winter.\n\n"
    '::: {.tearline marking="TLP:CLEAR"}\nOne berth was closed for maintenance pubtearpara.\n:::\n'
    ":::\n\n"
    "The last public note pubnote3.[^c]\n\n"
    "[^a]: The first note pubnotebody1.\n\n[^c]: The third note pubnotebody3.\n",
    title="Harbour Review")
FF_TWO = chapter("# Dredging Annex zqrannex\n\nThe annex zqrannexbody lists the works.\n",
                 title="Dredging Annex zqrannex", marking="TLP:AMBER")
FF_THREE = chapter("# Ferries {#sec-ferries}\n\nThe ferries chapter pubferries.\n\n## Timetables\n\nText.\n",
                   title="Ferries")


@pytest.fixture(scope="module")
def ff_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ff")
    root = make_project(tmp / "src", {"one.md": FF_ONE, "two.md": FF_TWO, "three.md": FF_THREE}, bib=BIB_FF)
    out = tmp / "site"
    diags = build(root, out, ["public", "restricted"])
    assert not errors(diags), show(diags)
    project, _ = load_project(root)
    eds = {n: assemble(project, e)[0] for n, e in project.config.editions.items()}
    return root, out, eds


def _page_html(out: Path, edition: str, page: str) -> str:
    html = (out / edition / page).read_text(encoding="utf-8")
    return html[html.index('<article'):html.index('</article>')]


def test_tearline_replaces_its_block(ff_build):
    _, out, _ = ff_build
    pub, res = tree_text(out / "public"), tree_text(out / "restricted")
    assert "pubtearpara" in _page_html(out, "public", "one.html")
    assert not any("zqrtearorig" in t for t in pub.values())
    assert "zqrtearorig" in _page_html(out, "restricted", "one.html")
    assert not any("pubtearpara" in t for t in res.values())


def test_filter_first_numbering(ff_build):
    _, out, eds = ff_build
    pub, res = eds["public"], eds["restricted"]
    # notes: public 1..5 without a gap where note [^b] and the restricted citations were
    assert [n.number for n in pub.notes] == [1, 2, 3, 4, 5]
    assert "pubnotebody1" in pub.notes[0].html and "pubnotebody3" in pub.notes[4].html
    assert len(res.notes) == 8
    html = _page_html(out, "public", "one.html")
    assert re.findall(r'<sup id="fnref:(\d+)">', html) == ["1", "2", "3", "4", "5"]
    assert re.findall(r'<li id="fn:(\d+)"', html) == ["1", "2", "3", "4", "5"]
    # sections: 1.1, 1.2 in public (the restricted 1.2 is gone); chapter 2 is the ferries chapter
    assert [(s[0], s[1]) for s in pub.sections if s[0]] == [
        ("1", "Harbour Review"), ("1.1", "Budgets pubsecbudget"), ("1.2", "Ferries pubsecferry"),
        ("2", "Ferries"), ("2.1", "Timetables")]
    assert "1.2 Ferries pubsecferry" in html and "2. Ferries" in _page_html(out, "public", "three.html")
    assert [s[0] for s in res.sections if s[0]] == ["1", "1.1", "1.2", "1.3", "2", "3", "3.1"]
    assert "section 1.2" in html  # the cross-reference text follows the public numbering
    # references: only works cited in the public edition
    assert pub.references == ["jones2011", "smith2010"]
    assert set(res.references) == {"brown2008", "jones2011", "quaywork2009", "smith2010"}
    refs = _page_html(out, "public", "references.html")
    assert "Brown" not in refs and "Lee" not in refs


def test_ibid_is_computed_after_filtering(ff_build):
    _, _, eds = ff_build
    pub, res = eds["public"], eds["restricted"]
    p = [n.html for n in pub.notes]
    # public: 1 [^a], 2 Jones 4, 3 Smith 7 (its predecessor cites Jones: not Ibid.), 4 Ibid., 5 [^c]
    assert "Jones" in p[1] and "Smith" in p[2] and "Ibid" not in p[2], p
    assert "Ibid." in p[3] and "Smith" not in p[3], p
    r = [n.html for n in res.notes]
    # restricted: 3 [^b] Brown/Lee, 4 Smith 7 (after [^b], which cites two works: not Ibid.),
    # 5 Ibid. (public note 3: here its predecessor cites the same work), 6 Jones 9, 7 Smith 7 (not Ibid.)
    assert "Brown" in r[2] and "Smith" in r[3] and "Ibid" not in r[3], r
    assert "Ibid." in r[4] and "Smith" not in r[4], r
    assert "Jones" in r[5] and "Smith" in r[6] and "Ibid" not in r[6], r


def test_sanitisation_report(ff_build):
    root, out, _ = ff_build
    rep_dir = reports_dir(root)
    assert not rep_dir.resolve().is_relative_to(out.resolve())
    data = json.loads((rep_dir / "public-sanitisation.json").read_text(encoding="utf-8"))
    origins = [r["origin"] for r in data["removed"]]
    assert "docs/two.md" in origins
    assert any(re.fullmatch(r"docs/one\.md:\d+:\d+", o) for o in origins), origins
    kinds = [r["kind"] for r in data["removed"]]
    assert {"chapter", "block", "source", "section", "note"} <= set(kinds), kinds
    # the removed notes ([^b] and two citations) and sections (one in a block, one in the chapter)
    assert kinds.count("note") == 3 and kinds.count("section") == 2, data["removed"]
    assert data["totals"]["note"]["count"] == 3
    for f in ("public-sanitisation.json", "public-sanitisation.md"):
        text = (rep_dir / f).read_text(encoding="utf-8").lower()
        assert "zqr" not in text and "dredging works" not in text


# =========================================================================== 4. the leak gate fires

@pytest.mark.parametrize("leak", [
    "The eastern berth was dredged during the cold months and more.",  # an 8-gram of a restricted passage
    "Eastern quay zqrgoodhead",  # a short restricted item (a heading): exact match
])
def test_leak_gate_stops_a_leaking_render(tmp_path, monkeypatch, leak):
    import envscan.site as site

    root, out, before = _site_with_good_build(tmp_path)
    real = site.write_tree

    def leaky(project, ae, work):
        docs = real(project, ae, work)
        p = work / site.PAGES_FILE  # the rendered pages MkDocs is handed
        pages = json.loads(p.read_text(encoding="utf-8"))
        pages["index.md"]["html"] += f"<p>{leak}</p>"
        p.write_text(json.dumps(pages), encoding="utf-8")
        return docs

    monkeypatch.setattr(site, "write_tree", leaky)
    diags = build(root, out)
    assert "E-LEAK-OUTPUT" in errors(diags), show(diags)
    _assert_intact(out, before)
    for d in diags:
        assert "zqr" not in d.message.lower() and "cold months" not in d.message


def test_leak_gate_source_copy_paste(tmp_path):
    body = ("# Harbour Review\n\n::: {marking=\"TLP:AMBER\"}\nThe pilots agreed a new roster for the night "
            "shifts in the outer harbour zqrpaste.\n:::\n\nIn short, the pilots agreed a new roster for the "
            "night shifts in the outer harbour.\n")
    root = make_project(tmp_path / "src", {"index.md": chapter(body)})
    out = tmp_path / "site"
    diags = build(root, out)
    codes = errors(diags)
    assert "E-LEAK-SOURCE" in codes, show(diags)
    d = next(d for d in diags if d.code == "E-LEAK-SOURCE")
    assert d.path == "docs/index.md" and d.line == 13  # the visible copy, where the author acts
    assert "docs/index.md:9:1" in d.message  # ... naming the restricted block it repeats
    assert "roster" not in d.message and "zqr" not in d.message
    assert not out.exists() or not canary_hits(out, ["zqrpaste", "roster"])
