"""Default deny, written as an adversarial author would: plant a restricted canary in every
construct the parser knows, build the public edition, and search every output byte (HTML,
attributes, search index, sitemap, PDF text, copied assets). A construct either filters the
canary out or stops the build with a positioned error; it never publishes it.

Neutral synthetic prose only. Restricted canaries start with ``zqr``, public ones with ``pub``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edition_helpers import build, canary_hits, chapter, config_yml, errors, make_project, show, tree_hashes
from envscan.diagnostics import has_errors
from envscan.edition import assemble
from envscan.pipeline import build_project, read_and_resolve

AMBER = 'marking="TLP:AMBER"'

# --------------------------------------------------------------------------- 1. constructs that build

FILTERED = chapter(f"""# Harbour Review {{#sec-review}}

Plain text pubplain with [a marked span zqrspan]{{{AMBER}}} and [an editor remark zqreditor]{{.editor}}.

## Quays ^[A note in a heading pubheadnote [with zqrheadnote]{{{AMBER}}}.] {{#sec-quays}}

- A list item pubitem [zqritem]{{{AMBER}}}
    - nested pubnested [zqrnested]{{{AMBER}}}

> A quote pubquote [zqrquote]{{{AMBER}}}
>
> > nested quote [zqrquote2]{{{AMBER}}}

!!! note "Admonition pubadmtitle [zqradmtitle]{{{AMBER}}}"
    Admonition body pubadm [zqradm]{{{AMBER}}}.

| Port | Budget |
|---|---|
| North pubcell | [zqrcell]{{{AMBER}}} |

Emphasis *pubem [zqrem]{{{AMBER}}}* and a [link publtext [zqrlink]{{{AMBER}}}](https://example.org).

![Chart pubalt](chart.png)

Text with an inline note.^[Inline pubinline [zqrinline]{{{AMBER}}}.] And a note.[^n]

[^n]: Note text pubfn [zqrfn]{{{AMBER}}}.

    ::: {{{AMBER}}}
    A block in a note zqrnoteblock.
    :::

<!-- a comment zqrcomment that is long enough to be a passage of several words -->

## Hidden {{#sec-h}}

::: {{{AMBER}}}
### A restricted heading zqrsechead {{#sec-restricted}}

Restricted body text zqrbody with a [cite](#sec-restricted).

Setext-like line zqrsetext
---

[^m]: A note defined in the block zqrmnote.

::: {{.tearline marking="TLP:CLEAR"}}
First paraphrase pubtear1.
:::

::: {{.tearline marking="TLP:CLEAR"}}
Second paraphrase pubtear2.
:::
:::

- ::: {{{AMBER}}}
  A block in a list item zqrlistblock.
  :::

::: {{.editor}}
An editor block zqreditorblock.
:::

Closing text pubclose.
""")

CANARIES_OUT = ["zqrspan", "zqreditor", "zqrheadnote", "zqritem", "zqrnested", "zqrquote", "zqrquote2",
                "zqradmtitle", "zqradm", "zqrcell", "zqrem", "zqrlink", "zqrinline", "zqrfn",
                "zqrnoteblock", "zqrcomment", "zqrsechead", "zqrbody", "zqrsetext", "zqrmnote", "zqrlistblock",
                "zqreditorblock"]
CANARIES_IN = ["pubplain", "pubheadnote", "pubitem", "pubnested", "pubquote", "pubadmtitle", "pubadm", "pubcell",
               "pubem", "publtext", "pubalt", "pubinline", "pubfn", "pubtear1", "pubtear2", "pubclose"]


def _png() -> bytes:
    from PIL import Image
    import io

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 90, 160)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def filtered_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deny")
    cfg = config_yml(["index.md"]).replace("      pdf: false\n", "")
    root = make_project(tmp / "src", {"index.md": FILTERED}, files={"chart.png": _png()}, config=cfg)
    out = tmp / "site"
    diags, usage = build_project(root, ["public", "restricted"], pdf=True, out=out, quiet=True)
    assert not usage and not has_errors(diags), show(diags)
    return root, out


def _pdf_text(folder: Path) -> str:
    from pypdf import PdfReader

    pdfs = list(folder.glob("*.pdf"))
    assert pdfs, "the edition has a PDF"
    reader = PdfReader(str(pdfs[0]))
    text = "\n".join(p.extract_text() or "" for p in reader.pages)
    outline = []

    def walk(items):
        for it in items:
            if isinstance(it, list):
                walk(it)
            else:
                outline.append(it.title)

    walk(reader.outline)
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    return text + "\n" + "\n".join(outline) + "\n" + meta


def test_every_construct_filters_in_every_output(filtered_build):
    _, out = filtered_build
    assert canary_hits(out / "public", CANARIES_OUT) == []
    pdf = _pdf_text(out / "public").lower()
    assert [c for c in CANARIES_OUT if c in pdf] == []


def test_public_text_survives_every_construct(filtered_build):
    _, out = filtered_build
    page = (out / "public" / "index.html").read_text(encoding="utf-8")
    assert [c for c in CANARIES_IN if c not in page] == []
    # the restricted edition shows the marked text but never editor notes
    res = (out / "restricted" / "index.html").read_text(encoding="utf-8")
    assert "zqrspan" in res and "zqrsechead" in res and "zqrnoteblock" in res
    assert "zqreditor" not in res and "pubtear1" not in res


def test_heading_toc_and_search_never_hold_note_text(filtered_build):
    _, out = filtered_build
    page = (out / "public" / "index.html").read_text(encoding="utf-8")
    nav = page[page.index('class="md-nav md-nav--secondary"'):]
    assert "pubheadnote" not in nav[:nav.index("</nav>")]  # the TOC label has no note text


# --------------------------------------------------------------------------- 2. constructs that fail closed

DENIED = [
    ("alt-span", "![Chart [zqralt]{marking=\"TLP:AMBER\"}](chart.png)", "E-MARK-LOOKALIKE"),
    ("link-attr", "[words zqrla](https://example.org){marking=\"TLP:AMBER\"}", "E-ATTR-PLACE"),
    ("image-attr", "![alt zqria](chart.png){marking=\"TLP:AMBER\"}", "E-ATTR-PLACE"),
    ("code-attr", "`zqrca`{marking=\"TLP:AMBER\"}", "E-ATTR-PLACE"),
    ("code-editor", "`zqrce`{.editor}", "E-ATTR-PLACE"),
    ("autolink-attr", "<https://zqrau.example.org>{marking=\"TLP:AMBER\"}", "E-ATTR-PLACE"),
    ("em-attr", "*zqrem*{marking=\"TLP:AMBER\"}", "E-MARK-LOOKALIKE"),  # not an attribute: shown as text
    ("dup-span", "[zqrds]{marking=\"TLP:RED\" marking=\"TLP:CLEAR\"}", "E-ATTR-DUP"),
    ("dup-div", "::: {marking=\"TLP:RED\" marking=\"TLP:CLEAR\"}\nzqrdd\n:::", "E-ATTR-DUP"),
    ("span-in-destination", "[x](https://example.org/[zqrdest]{marking=\"TLP:AMBER\"})", "E-MARK-LOOKALIKE"),
    ("comment-in-title", "[x](https://example.org \"<!-- zqrct -->\")", "E-HTML-RAW"),
    ("raw-html-inline", "Text <span>zqrhtml</span>.", "E-HTML-RAW"),
    ("raw-html-block", "<div>\nzqrhtmlblock\n</div>", "E-HTML-RAW"),
    ("cite-prefix-comment", "[<!-- zqrcp --> see @smith2010, 4]", "E-CITE-AFFIX"),
    ("cite-suffix-html", "[see @smith2010, 4 <b>zqrcs</b>]", "E-CITE-AFFIX"),
    ("refdef", "See [the ledger][l].\n\n::: {marking=\"TLP:AMBER\"}\n[l]: https://zqrref.example \"zqrreft\"\n:::",
     "E-LINK-REFDEF"),
    ("abbr-def", "*[HBR]: Harbour zqrabbr", "E-ABBR-INLINE"),
    ("code-info-attrs", "```{marking=\"TLP:AMBER\"}\nzqrfence\n```", "E-CODE-INFO"),
    ("deep-quote", "> " * 30 + "zqrdeep [zqrdeep2]{marking=\"TLP:AMBER\"}", "E-NESTING"),
    ("escaped-span", "\\[zqresc\\]{marking=\"TLP:AMBER\"}", "E-MARK-LOOKALIKE"),
    ("entity-span", "[zqrent]&#123;marking=\"TLP:AMBER\"&#125;", "E-MARK-LOOKALIKE"),
    ("editor-as-text", "\\[zqret\\]{.editor}", "E-MARK-LOOKALIKE"),
    ("marked-heading-span", "## Title [zqrhs]{marking=\"TLP:AMBER\"}", "E-MARK-HEADING"),
    ("heading-marking-attr", "## Title zqrha {marking=\"TLP:AMBER\"}", "E-HEADING-ATTR"),
    ("unknown-div-class", "::: {.secret}\nzqrdc\n:::", "E-ATTR-UNKNOWN"),
    ("misspelt-marking", "::: {markng=\"TLP:AMBER\"}\nzqrmm\n:::", "E-ATTR-UNKNOWN"),
    ("tearline-unmarked", "::: {marking=\"TLP:AMBER\"}\nzqrt\n\n::: {.tearline}\npub\n:::\n:::", "E-TEARLINE"),
    ("include", "--8<-- \"zqrinc.md\"", "E-INCLUDE"),
    ("unclosed-comment", "Text <!-- zqruc and the rest", "E-HTML-COMMENT"),
    ("lookalike-fence", "\uff1a\uff1a\uff1a {marking=\"TLP:AMBER\"}\nzqrlf\n\uff1a\uff1a\uff1a", "E-MARK-LOOKALIKE"),
    ("criticmarkup", "Text {++zqrcm++}.", "E-CRITIC"),
    ("note-ref-in-inline-note", "Text.^[Inline [^x] zqrni.]\n\n[^x]: Note.", "E-FN-NESTED"),
]


@pytest.mark.parametrize("body,code", [(b, c) for _, b, c in DENIED], ids=[i for i, _, _ in DENIED])
def test_construct_fails_closed_with_a_position(tmp_path, body, code):
    root = make_project(tmp_path, {"index.md": chapter("# Harbour {#sec-h}\n\n" + body + "\n\nCited [@smith2010, 1] "
                                                       "[@jones2011, 2].\n")})
    _, _, diags, _ = read_and_resolve(root, None)
    project, eds, d2, _ = read_and_resolve(root, None)
    found = [d for d in diags if d.severity == "error"]
    if project is not None and not any(d.code == code for d in found):
        for ed in project.config.editions.values():
            _, d = assemble(project, ed)
            found += [x for x in d if x.severity == "error"]
    assert any(d.code == code for d in found), show(diags)
    hit = next(d for d in found if d.code == code)
    assert hit.path == "docs/index.md" and hit.line >= 7 and hit.col >= 1, show([hit])


def test_a_denied_construct_stops_the_build_and_keeps_the_last_good_output(tmp_path):
    good = chapter("# Harbour {#sec-h}\n\nThe harbour pubgood reviewed its budget.\n")
    root = make_project(tmp_path / "src", {"index.md": good})
    out = tmp_path / "site"
    assert not errors(build(root, out))
    before = tree_hashes(out / "public")
    (root / "docs" / "index.md").write_text(good + "\n[words zqrla](https://example.org){marking=\"TLP:AMBER\"}\n",
                                            encoding="utf-8")
    diags = build(root, out)
    assert "E-ATTR-PLACE" in errors(diags), show(diags)
    assert tree_hashes(out / "public") == before
    assert canary_hits(out, ["zqrla"]) == []


# --------------------------------------------------------------------------- 3. property: canaries in nested constructs

WRAPPERS = {
    "para": lambda s: s + "\n",
    "list": lambda s: "- " + s.replace("\n", "\n  ") + "\n",
    "quote": lambda s: "> " + s.replace("\n", "\n> ") + "\n",
    "admonition": lambda s: '!!! note "Harbour"\n    ' + s.replace("\n", "\n    ") + "\n",
    "note": lambda s: "Text pubcall.[^w]\n\n[^w]: " + s.replace("\n", "\n    ") + "\n",
}
INLINE = {
    "plain": lambda s: s,
    "em": lambda s: f"*{s}*",
    "strong": lambda s: f"**{s}**",
    "link": lambda s: f"[{s}](https://example.org)",
    "inline-note": lambda s: f"Text.^[{s}]",
    "cell": lambda s: f"| A | B |\n|---|---|\n| pubcelltext | {s} |",
    "heading-note": lambda s: f"## Harbour heading ^[{s}]",
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(inline=st.sampled_from(sorted(INLINE)), wrappers=st.lists(st.sampled_from(sorted(WRAPPERS)), max_size=3),
       kind=st.sampled_from(["span", "editor-span", "div", "editor-div"]))
def test_canary_in_any_nesting_never_reaches_the_public_pages(inline, wrappers, kind):
    canary = "zqrprop"
    if kind == "span":
        marked = f"pubbefore [{canary} words]{{{AMBER}}} pubafter"
    elif kind == "editor-span":
        marked = f"pubbefore [{canary} words]{{.editor}} pubafter"
    else:
        attrs = "{" + (AMBER if kind == "div" else ".editor") + "}"
        marked = f"::: {attrs}\n{canary} words\n:::"
    text = INLINE[inline](marked) if kind in ("span", "editor-span") else marked
    for w in wrappers:
        if kind in ("div", "editor-div") and w == "note":
            continue
        text = WRAPPERS[w](text)
    if inline == "heading-note" and wrappers and kind in ("span", "editor-span"):
        return  # a heading inside a container is not a section heading: covered by the build test
    body = "# Harbour {#sec-h}\n\n" + text + "\n\nCited [@smith2010, 1] [@jones2011, 2].\n"
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp), {"index.md": chapter(body)})
        project, eds, diags, _ = read_and_resolve(root, ["public"])
        if project is None or has_errors(diags):
            return  # refused at parse (fail closed): nothing is published
        ae, d = assemble(project, eds[0])
    if has_errors(d):
        return
    outputs = [p.html for p in ae.pages] + [p.pdf_html for p in ae.pages] + [p.title for p in ae.pages]
    outputs += [n.html for n in ae.notes] + [s[1] for s in ae.sections]
    outputs += [t for p in ae.pages for _, _, t in p.toc]
    assert not [o for o in outputs if canary in o], (body, [o for o in outputs if canary in o][:1])


# --------------------------------------------------------------------------- 4. the attacker's findings (fresh-context review)

def _check_codes(root: Path) -> list[str]:
    from envscan.pipeline import check_project

    diags, _ = check_project(root)
    return [d.code for d in diags if d.severity == "error"]


def test_an_inline_note_label_cannot_be_forged(tmp_path):
    body = ("# Harbour {#sec-h}\n\n::: {marking=\"TLP:AMBER\"}\nThe harbour master reviewed every ledger.\n\n"
            "[^^inline-1]: Zqrforged note text about the night crossing.\n:::\n\n"
            "The ferries ran on time.^[A public remark pubremark on timetables.]\n")
    root = make_project(tmp_path / "src", {"index.md": chapter(body)})
    assert "E-FN-LABEL" in _check_codes(root)
    # and whatever the label, a public inline note shows its own text
    ok = make_project(tmp_path / "ok", {"index.md": chapter(body.replace("[^^inline-1]:", "[^other]:"))})
    out = tmp_path / "site"
    diags = build(ok, out)
    page = (out / "public" / "index.html").read_text(encoding="utf-8")
    assert "pubremark" in page and "zqrforged" not in page.lower(), show(diags)


def test_link_titles_and_destinations_are_restricted_passages(tmp_path):
    body = ("# Harbour {#sec-h}\n\n::: {marking=\"TLP:AMBER\"}\nSee [the ledger](https://example.org/zqrpathcanary "
            "\"Zqrtitle the eastern ferry fund moved to the night crossing at pier nine\").\n:::\n\n"
            "Public text: the eastern ferry fund moved to the night crossing at pier nine.\n")
    root = make_project(tmp_path, {"index.md": chapter(body)})
    assert "E-LEAK-SOURCE" in _check_codes(root)


def test_yaml_tags_in_the_config_are_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    cfg = config_yml(["index.md"]).replace(
        "site_name: Test Scan\n",
        f"site_name: Test Scan\ntheme:\n  name: material\n  palette: !!python/object/apply:pathlib.Path.touch "
        f"[!!python/object/apply:pathlib.Path [\"{marker}\"]]\n")
    root = make_project(tmp_path / "src", {"index.md": chapter("# Harbour {#sec-h}\n\nText.\n")}, config=cfg)
    assert "E-CONFIG-TAG" in _check_codes(root)
    diags = build(root, tmp_path / "site")
    assert "E-CONFIG-TAG" in errors(diags) and not marker.exists() and not (tmp_path / "site" / "public").exists()


@pytest.mark.parametrize("text", ["The ea\ufff9stern ferry", "A \u202eyrref nretsae\u202c line", "Zero\u200bwidth",
                                  "Fill\u3164er", "Line\u2028separator"])
def test_invisible_formatting_characters_are_errors(tmp_path, text):
    root = make_project(tmp_path, {"index.md": chapter(f"# Harbour {{#sec-h}}\n\n{text} here.\n")})
    assert "E-TEXT-INVISIBLE" in _check_codes(root)


@pytest.mark.parametrize("code", ["Text `<!-- zqr remark -->` more.", "```\n<!-- zqr remark -->\n```"])
def test_comments_inside_code_are_errors(tmp_path, code):
    root = make_project(tmp_path, {"index.md": chapter(f"# Harbour {{#sec-h}}\n\n{code}\n")})
    assert "E-HTML-COMMENT" in _check_codes(root)


def test_text_after_a_nesting_error_never_crashes_check(tmp_path):
    body = "# Harbour {#sec-h}\n\n" + "> " * 17 + "deep\n\nSee [the timetable](index.md) [@smith2010, 2].\n"
    root = make_project(tmp_path, {"index.md": chapter(body)})
    codes = _check_codes(root)
    assert "E-NESTING" in codes and "E-INTERNAL" not in codes


@pytest.mark.parametrize("snippet,code", [("      abbreviations:\n        '': an expansion\n", "E-CONFIG-ABBR"),
                                          ("      pdf: 'no'\n", "E-CONFIG-UNKNOWN")])
def test_config_values_of_the_wrong_kind_are_errors(tmp_path, snippet, code):
    cfg = config_yml(["index.md"]).replace("      pdf: false\n", snippet)
    root = make_project(tmp_path, {"index.md": chapter("# Harbour {#sec-h}\n\nText.\n")}, config=cfg)
    assert code in _check_codes(root)


def test_links_to_a_filtered_figure_are_errors(tmp_path):
    body = ("# Harbour {#sec-h}\n\n::: {marking=\"TLP:AMBER\"}\n![Berth plan](plan.png){#fig-zqrberths}\n:::\n\n"
            "Public text, see [the plan](#fig-zqrberths) and [here](index.md#fig-zqrberths).\n")
    root = make_project(tmp_path, {"index.md": chapter(body)}, files={"plan.png": _png()})
    from envscan.pipeline import check_project

    diags, _ = check_project(root, ["public"])
    assert [d.code for d in diags if d.severity == "error"].count("E-ED-LINK-FILTERED") == 2, show(diags)


@pytest.mark.parametrize("depth", [20, 600])
def test_deeply_nested_fenced_blocks_are_a_positioned_error(tmp_path, depth):
    body = "# Harbour {#sec-h}\n\n" + "::: {marking=\"TLP:AMBER\"}\n" * depth + "zqrdeep text\n" + ":::\n" * depth
    root = make_project(tmp_path, {"index.md": chapter(body)})
    codes = _check_codes(root)
    assert "E-NESTING" in codes and "E-INTERNAL" not in codes
    assert "E-NESTING" in errors(build(root, tmp_path / "site")) and canary_hits(tmp_path / "site", ["zqrdeep"]) == []
