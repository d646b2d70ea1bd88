"""`envscan check`: every class of problem in issue 2, with exact messages, codes and positions.

Each test builds a small project in tmp_path (see conftest.make_project). Chapters made with
``body(...)`` have 6 lines of front matter and '# Harbour' + a blank line before the text, so
the text given starts on LINE 9. Most tests call ``envscan.pipeline.check_project`` directly;
a few run the CLI as a process (exit codes, output formats, no traceback).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BIB, chapter, cli, mkdocs_yml, run_check
from envscan.cli import main
from envscan.diagnostics import format_text
from envscan.pipeline import check_project

REPO = Path(__file__).resolve().parents[1]


def body(text: str) -> str:
    """A chapter whose ``text`` starts on line 9."""
    return chapter("# Harbour\n\n" + text)


def report(root: Path, skip: tuple[str, ...] = ("W-BIB-UNCITED",)) -> list[str]:
    """The text output of `envscan check` (without the summary), one string per diagnostic."""
    diags, usage = run_check(root)
    assert not usage
    return [format_text(d) for d in diags if d.code not in skip]


def check_body(project, text: str, **kw) -> list[str]:
    return report(project(chapters={"one.md": body(text)}, **kw))


def E(loc: str, code: str, msg: str, *hints: str, sev: str = "error") -> str:
    return "\n".join([f"{loc}: {sev}[{code}]: {msg}", *(f"  hint: {h}" for h in hints)])


def W(loc: str, code: str, msg: str, *hints: str) -> str:
    return E(loc, code, msg, *hints, sev="warning")


def fn_undef(loc: str, label: str, hint: str | None = None) -> str:
    return E(f"docs/one.md:{loc}", "E-FN-UNDEFINED", f"footnote [^{label}] has no definition",
             hint or f"add '[^{label}]: text' to this chapter")


def cite_unknown(loc: str, key: str, sugg: str | None = None) -> str:
    return E(f"docs/one.md:{loc}", "E-CITE-UNKNOWN", f"citation key {key!r} is not in the bibliography",
             f"did you mean @{sugg}?" if sugg else "add the work to bibliography/*.bib")


# ============================================================================ baseline


def test_clean_project_has_no_diagnostics(project):
    assert report(project(), skip=()) == []


# ============================================================================ footnotes


def test_footnote_undefined_unused_duplicate(project):
    got = check_body(project, (
        "The harbour authority reviewed its budget.[^a] The ferry ran late.[^b]\n"  # 9
        "\n"
        "[^a]: The budget was small.\n"  # 11
        "[^c]: Never referenced.\n"  # 12
        "[^a]: Defined again.\n"))  # 13
    assert got == [
        fn_undef("9:67", "b"),
        W("docs/one.md:12:1", "W-FN-UNUSED", "footnote [^c] is defined but never referenced",
          "reference it with [^c] or delete it"),
        E("docs/one.md:13:1", "E-FN-DUPLICATE", "footnote [^a] is defined twice (first at line 11)",
          "rename one of the labels"),
    ]


def test_footnote_undefined_suggests_a_close_label(project):
    got = check_body(project, "The quay was rebuilt.[^quay-note]\n\n[^quay-nte]: In stone.\n")
    assert got == [
        fn_undef("9:22", "quay-note", "did you mean [^quay-nte]?"),
        W("docs/one.md:11:1", "W-FN-UNUSED", "footnote [^quay-nte] is defined but never referenced",
          "reference it with [^quay-nte] or delete it"),
    ]


def test_footnote_definitions_inside_containers_point_at_their_label(project):
    got = check_body(project, (
        "- [^a]: In a list.\n"  # 9
        "- [^a]: Again.\n"  # 10
        "\n"
        "> [^u]: In a quote, never referenced.\n"  # 12
        "\n"
        "!!! note\n"
        "    [^v]: In an admonition.\n"  # 15
        "\n"
        "The pier.[^a]\n"))
    assert got == [
        E("docs/one.md:10:3", "E-FN-DUPLICATE", "footnote [^a] is defined twice (first at line 9)",
          "rename one of the labels"),
        W("docs/one.md:12:3", "W-FN-UNUSED", "footnote [^u] is defined but never referenced",
          "reference it with [^u] or delete it"),
        W("docs/one.md:15:5", "W-FN-UNUSED", "footnote [^v] is defined but never referenced",
          "reference it with [^v] or delete it"),
    ]


def test_footnote_reference_inside_a_footnote(project):
    got = check_body(project, "The pier.[^p]\n\n[^p]: A note with a note[^q].\n\n[^q]: Inner.\n")
    assert got == [E("docs/one.md:11:25", "E-FN-NESTED", "footnote reference [^q] inside a footnote",
                     "notes cannot have notes; fold the text in")]


# ============================================================================ citations


def test_citation_unknown_key_with_did_you_mean(project):
    got = check_body(project, (
        "The harbour authority reviewed its budget [@smtih2010].\n"  # 9
        "Narrative @jonse2011 says so, and [-@smtih2010] again.\n"  # 10
        "A cluster [see @smith2010, 4; cf. @jones2012, 7] here.\n"  # 11
        "An unrelated key [@zzzz1999].\n"))  # 12
    assert got == [
        cite_unknown("9:45", "smtih2010", "smith2010"),
        cite_unknown("10:12", "jonse2011", "jones2011"),
        cite_unknown("10:38", "smtih2010", "smith2010"),
        cite_unknown("11:36", "jones2012", "jones2011"),
        cite_unknown("12:20", "zzzz1999"),
    ]


@pytest.mark.parametrize("cite, col, message, hint", [
    ("[@smith2010, pp. 30-12]", 19, "malformed locator after @smith2010: page range 30-12 runs backwards", None),
    ("[@smith2010, xyz]", 19, "malformed locator 'xyz' after @smith2010",
     "a locator is a page or range (12, 12-14, pp. 12-14, 39, 41) optionally followed by a comment"),
    ("[@smith2010,]", 19, "empty locator after @smith2010", "write [@key, 12] or drop the comma"),
    ("[see @jones2011, 4; @smith2010, 9-7]", 38, "malformed locator after @smith2010: page range 9-7 runs backwards",
     None),
])
def test_malformed_locators(project, cite, col, message, hint):
    got = check_body(project, f"The budget rose {cite} last year. [@smith2010] [@jones2011]\n")
    assert got == [E(f"docs/one.md:9:{col}", "E-CITE-LOCATOR", message, *([hint] if hint else []))]


@pytest.mark.parametrize("cite", [
    "[@smith2010, 4]", "[@smith2010, pp. 130-131]", "[@smith2010, 12 passim]", "[@smith2010, p. 7]",
    "[@smith2010, 39, 41]", "[@smith2010, xii]", "[see @smith2010, 130; cf. @jones2011, 121]", "[-@smith2010]",
    "[@smith2010, 130-31]",
])
def test_wellformed_locators(project, cite):
    assert check_body(project, f"The budget rose {cite} last year. [@smith2010] [@jones2011]\n") == []


# ============================================================================ bibliography

BIB_B = """\
% a second file
@book{smith2010,
  author = {Smith, Anna},
  title = {Harbour Budgets Again},
  publisher = {Port Press},
  year = {2010},
}

@article{lee2009,
  author = {Lee, Chris},
  title = {Quay Walls},
  year = {2009},
}

@article{park2012,
  author = {Park, Dana},
  title = {Tide Tables},
  year = {2012},
  unverified = {journal, year},
}

@misc{extra2000,
  title = {Lighthouse Lamps},
}
"""

CITES_ALL = "Budget [@smith2010], ferries [@jones2011], walls [@lee2009], tides [@park2012].\n"


def test_bibliography_duplicate_across_files_fields_unverified_uncited(project):
    root = project(chapters={"one.md": body(CITES_ALL)}, bib={"a.bib": BIB, "b.bib": BIB_B})
    assert report(root, skip=()) == [
        E("bibliography/b.bib:2:1", "E-BIB-DUPLICATE", "duplicate key 'smith2010' (also at bibliography/a.bib:1)",
          "keys must be unique across all .bib files"),
        W("bibliography/b.bib:9:1", "W-BIB-FIELDS", "entry 'lee2009' (@article) lacks required field(s): journal",
          "complete the record, or list the field in 'unverified = {…}'"),
        W("bibliography/b.bib:15:1", "W-BIB-UNVERIFIED", "entry 'park2012': unverified field(s): journal, year",
          "verify against a publisher's or library record, then remove from 'unverified'"),
        W("bibliography/b.bib:22:1", "W-BIB-UNCITED", "entry 'extra2000' is never cited"),
    ]


def test_bibliography_duplicate_in_one_file(project):
    dup = BIB + "\n@book{jones2011,\n  editor = {Jones, Ben},\n  title = {T},\n  publisher = {P},\n  year = {2000},\n}\n"
    root = project(chapters={"one.md": body("Budget [@smith2010] and [@jones2011].\n")}, bib=dup)
    assert report(root, skip=()) == [
        E("bibliography/refs.bib:15:1", "E-BIB-DUPLICATE", "duplicate key 'jones2011' (also at bibliography/refs.bib:8)",
          "rename or delete one of the entries"),
    ]


CITES_TWO = "Budget [@smith2010] and ferries [@jones2011].\n"
UNCLOSED = "a '{' or '\"' is missing its closing partner"


@pytest.mark.parametrize("name, bib, expected", [
    ("value not closed", BIB.replace("title = {Harbour Budgets},", "title = {Harbour Budgets,"), [
        W("bibliography/refs.bib:1:1", "W-BIB-FIELDS",
          "entry 'smith2010' (@book) lacks required field(s): publisher, year",
          "complete the record, or list the field in 'unverified = {…}'"),
        E("bibliography/refs.bib:3:1", "E-BIB-SYNTAX",
          "BibTeX: the value of 'title' (line 3) in entry 'smith2010' is not closed", UNCLOSED),
        E("bibliography/refs.bib:8:1", "E-BIB-SYNTAX", "BibTeX: '}' expected"),
    ]),
    ("last value not closed", BIB.replace("{Ferry Timetables Revisited}", "{Ferry Timetables Revisited"), [
        W("bibliography/refs.bib:8:1", "W-BIB-FIELDS",
          "entry 'jones2011' (@article) lacks required field(s): title, journal, year",
          "complete the record, or list the field in 'unverified = {…}'"),
        E("bibliography/refs.bib:10:1", "E-BIB-SYNTAX",
          "BibTeX: the value of 'title' (line 10) in entry 'jones2011' is not closed", UNCLOSED),
        E("bibliography/refs.bib:14:1", "E-BIB-SYNTAX", "BibTeX: premature end of file"),
    ]),
    ("entry not closed", BIB.rstrip().rstrip("}"), [
        E("bibliography/refs.bib:8:1", "E-BIB-SYNTAX", "BibTeX: entry 'jones2011' is not closed",
          "end the entry with '}'"),
        E("bibliography/refs.bib:13:1", "E-BIB-SYNTAX", "BibTeX: premature end of file"),
    ]),
    ("comma missing between fields", BIB.replace("{Ferry Timetables Revisited},", "{Ferry Timetables Revisited}"), [
        W("bibliography/refs.bib:8:1", "W-BIB-FIELDS",
          "entry 'jones2011' (@article) lacks required field(s): journal, year",
          "complete the record, or list the field in 'unverified = {…}'"),
        E("bibliography/refs.bib:10:1", "E-BIB-SYNTAX", "BibTeX: ',' missing after the value of 'title'",
          "separate the fields of an entry with commas"),
        E("bibliography/refs.bib:11:1", "E-BIB-SYNTAX", "BibTeX: '}' expected"),
    ]),
    ("comma missing after the key", BIB.replace("@article{jones2011,", "@article{jones2011"), [
        E("bibliography/refs.bib:8:1", "E-BIB-SYNTAX", "BibTeX: ',' expected after the key 'jones2011'",
          "write @type{key, field = {…}, …}"),
    ]),
    ("extra closing brace", BIB.replace("title = {Harbour Budgets},", "title = {Harbour Budgets}},"), [
        W("bibliography/refs.bib:1:1", "W-BIB-FIELDS",
          "entry 'smith2010' (@book) lacks required field(s): publisher, year",
          "complete the record, or list the field in 'unverified = {…}'"),
        E("bibliography/refs.bib:4:1", "E-BIB-SYNTAX", "BibTeX: field 'publisher' stands outside any entry",
          "an extra '}' on line 3 ends entry 'smith2010' early"),
    ]),
    ("no field name", BIB.replace("  year = {2011},", "  ye ar = {2011},"), [
        W("bibliography/refs.bib:8:1", "W-BIB-FIELDS", "entry 'jones2011' (@article) lacks required field(s): year",
          "complete the record, or list the field in 'unverified = {…}'"),
        E("bibliography/refs.bib:12:1", "E-BIB-SYNTAX", "BibTeX: '=' expected"),
    ]),
    ("undefined macro", BIB.replace("{Port Press}", "portpress"), [
        E("bibliography/refs.bib:4:1", "E-BIB-SYNTAX", "BibTeX: undefined string: portpress"),
    ]),
])
def test_bibtex_syntax_errors_with_their_line(project, name, bib, expected):
    root = project(chapters={"one.md": body(CITES_TWO)}, bib=bib)
    assert report(root) == expected


@pytest.mark.parametrize("bib", [
    '@string{pp = "Port Press"}\n@comment{ignored {nested} }\n' + BIB.replace("{Port Press}", "pp"),
    BIB.replace("@book{smith2010,", "@book(smith2010,").replace("  year = {2010},\n}", "  year = {2010},\n)"),
    BIB.replace("title = {Harbour Budgets},", 'title = "Harbour {B}udgets and {\\"O}",'),
    '@string{pp = "Port"}\n' + BIB.replace("{Port Press}", 'pp # " Press"'),
])
def test_valid_bibtex_variants_are_clean(project, bib):
    assert report(project(chapters={"one.md": body(CITES_TWO)}, bib=bib)) == []


# ============================================================================ cross-references and ids


def test_unknown_cross_reference_and_duplicate_section_ids(project):
    one = body("## Tides {#sec-tides}\n\nSee @sec-tdies, @sec-tides and @sec-locks.\n\n## Again {#sec-tides}\n")
    two = chapter("# Ferries {#sec-ferries}\n\n## Tides too {#sec-tides}\n\nBack to @sec-ferries.\n", "Ferries")
    root = project(chapters={"one.md": one, "two.md": two})
    assert report(root) == [
        E("docs/one.md:11:5", "E-XREF-UNKNOWN", "cross-reference @sec-tdies matches no section id",
          "did you mean @sec-tides?"),
        E("docs/one.md:11:32", "E-XREF-UNKNOWN", "cross-reference @sec-locks matches no section id",
          "give the heading {#sec-locks}"),
        E("docs/one.md:13:10", "E-XREF-DUPLICATE", "duplicate section id 'sec-tides' (also at docs/one.md:9)",
          "section ids must be unique across the scan"),
        E("docs/two.md:9:14", "E-XREF-DUPLICATE", "duplicate section id 'sec-tides' (also at docs/one.md:9)",
          "section ids must be unique across the scan"),
    ]


def test_heading_attributes_on_a_setext_heading_point_at_their_line(project):
    got = check_body(project, "Wrapped heading\nover two lines {#sec-w .bogus}\n---\n\nSee @sec-w.\n")
    assert got == [E("docs/one.md:10:16", "E-HEADING-ATTR", "unknown heading class '.bogus'",
                     "the only heading class is .unnumbered")]


# ============================================================================ markings and fences

UNCLOSED_HINT = "add a closing ':::' line; until then the rest of the file is treated as restricted"


def test_marking_labels_unknown_and_lookalike(project):
    got = check_body(project, (
        '::: {marking="TLP:AMBER"}\nThe harbour ledger.\n:::\n\n'  # 9-11
        '::: {marking="TLP:ORANGE"}\nThe pier ledger.\n:::\n\n'  # 13-15
        '::: {marking="tlp:amber"}\nThe quay ledger.\n:::\n\n'  # 17-19
        '::: {marking="TLP\uff1aAMBER"}\nThe dock ledger.\n:::\n\n'  # 21-23
        'Inline [the canal ledger]{marking="TLP:PINK"} here.\n'))  # 25
    assert got == [
        E("docs/one.md:13:1", "E-MARK-UNKNOWN", "unknown marking label 'TLP:ORANGE'", "did you mean 'TLP:RED'?"),
        E("docs/one.md:17:1", "E-MARK-LOOKALIKE", "marking 'tlp:amber' is not written exactly as the scheme's label",
          "write 'TLP:AMBER'"),
        E("docs/one.md:21:1", "E-MARK-LOOKALIKE",
          "marking 'TLP\uff1aAMBER' is not written exactly as the scheme's label", "write 'TLP:AMBER'"),
        E("docs/one.md:25:8", "E-MARK-UNKNOWN", "unknown marking label 'TLP:PINK'", "did you mean 'TLP:GREEN'?"),
    ]


def test_unknown_attributes(project):
    got = check_body(project, (
        '::: {markng="TLP:AMBER"}\nThe harbour ledger.\n:::\n\n'  # 9
        'A [canal ledger]{markng="TLP:AMBER"} and [quay]{.bogus}.\n'))  # 13
    assert got == [
        E("docs/one.md:9:1", "E-ATTR-UNKNOWN", "unknown attribute 'markng' on a div", "did you mean 'marking'?"),
        E("docs/one.md:13:3", "E-ATTR-UNKNOWN", "unknown attribute 'markng' on a span", "did you mean 'marking'?"),
        E("docs/one.md:13:42", "E-ATTR-UNKNOWN", "unknown class '.bogus' on a span", "known classes: .editor, .gap"),
    ]


def test_marking_positions_inside_containers(project):
    got = check_body(project, (
        "Text [^n] [@smith2010] [@jones2011].\n\n"  # 9
        "[^n]: First.\n\n"  # 11
        '    Second [the ledger]{marking="TLP:PNK"} part.\n\n'  # 13
        '> Quoted [the dock ledger]{marking="tlp:red"} here.\n\n'  # 15
        "!!! note\n"  # 17
        '    ::: {markng="TLP:RED"}\n    Inside the note.\n    :::\n\n'  # 18-20
        "| Port | Budget |\n|---|---|\n"  # 22-23
        '| North | [the canal ledger]{marking="TLP:BLU"} |\n'  # 24
        '- Item\n\n  ::: {marking="TLP:AMBR"}\n  The pier ledger.\n  :::\n'))  # 25-29
    assert got == [
        E("docs/one.md:13:12", "E-MARK-UNKNOWN", "unknown marking label 'TLP:PNK'", "did you mean 'TLP:GREEN'?"),
        E("docs/one.md:15:10", "E-MARK-LOOKALIKE", "marking 'tlp:red' is not written exactly as the scheme's label",
          "write 'TLP:RED'"),
        E("docs/one.md:18:5", "E-ATTR-UNKNOWN", "unknown attribute 'markng' on a div", "did you mean 'marking'?"),
        E("docs/one.md:24:11", "E-MARK-UNKNOWN", "unknown marking label 'TLP:BLU'", "did you mean 'TLP:CLEAR'?"),
        E("docs/one.md:27:3", "E-MARK-UNKNOWN", "unknown marking label 'TLP:AMBR'", "did you mean 'TLP:AMBER'?"),
    ]


def test_front_matter_marking_lookalike_points_at_its_line(project):
    text = "---\ntitle: Harbour\nmarking: tlp:clear\n---\n# Harbour\n"
    assert report(project(chapters={"one.md": text}, bib=None), skip=("W-BIB-NONE",)) == [
        E("docs/one.md:3:1", "E-MARK-LOOKALIKE", "marking 'tlp:clear' is not written exactly as the scheme's label",
          "write 'TLP:CLEAR'")]


@pytest.mark.parametrize("text, expected", [
    ("The harbour ledger.\n\n:::\n", [
        E("docs/one.md:11:1", "E-DIV-STRAY", "closing ':::' without an opening fence",
          'remove it, or open the block with ::: {marking="…"}')]),
    ('::: {marking="TLP:AMBER"}\nThe harbour ledger.\n', [
        E("docs/one.md:9:1", "E-DIV-UNCLOSED", "fenced block is never closed", UNCLOSED_HINT)]),
    ('::: {marking="TLP:AMBER"}\n::: {marking="TLP:RED"}\nThe harbour ledger.\n:::\n', [
        E("docs/one.md:9:1", "E-DIV-UNCLOSED", "fenced block is never closed", UNCLOSED_HINT)]),
    ('::: {marking="TLP:AMBER"}\nThe harbour ledger.\n:::\n:::\n', [
        E("docs/one.md:12:1", "E-DIV-STRAY", "closing ':::' without an opening fence",
          'remove it, or open the block with ::: {marking="…"}')]),
    ('- An item.\n\n  ::: {marking="TLP:AMBER"}\n  The harbour ledger.\n\n- Next item.\n\n:::\n', [
        E("docs/one.md:16:1", "E-DIV-CROSSING",
          "block opened on line 11 is closed in a different list, quote, note or admonition",
          "open and close a marked block at the same indentation, in the same container")]),
    ('::: {marking="TLP:AMBER"}\n> The harbour ledger.\n> :::\n', [
        E("docs/one.md:11:3", "E-DIV-CROSSING",
          "block opened on line 9 is closed in a different list, quote, note or admonition",
          "open and close a marked block at the same indentation, in the same container")]),
    ("::: marking=TLP:AMBER\nThe harbour ledger.\n:::\n", [
        E("docs/one.md:9:1", "E-DIV-SYNTAX",
          "malformed fenced block: expected {attributes} or a class name after the colons",
          'write ::: {marking="TLP:AMBER"} (or {.editor}, {.tearline marking="…"})')]),
    ('\uff1a\uff1a\uff1a {.editor}\nThe harbour ledger.\n\uff1a\uff1a\uff1a\n', [
        E("docs/one.md:9:1", "E-MARK-LOOKALIKE",
          "this line looks like a ':::' fence but is not one (it would be shown as text)",
          "write the fence with three ASCII colons at the start of a line"),
        E("docs/one.md:11:1", "E-MARK-LOOKALIKE",
          "this line looks like a ':::' fence but is not one (it would be shown as text)",
          "write the fence with three ASCII colons at the start of a line")]),
    ('The harbour ledger.\n    ::: {.editor}\n', [
        E("docs/one.md:10:5", "E-DIV-SYNTAX", "':::' inside a paragraph: a fence needs its own line",
          "put a blank line before the fence")]),
    ('> > The harbour ledger.\n> > :::\n', [
        E("docs/one.md:10:5", "E-DIV-STRAY", "closing ':::' without an opening fence",
          'remove it, or open the block with ::: {marking="…"}')]),
], ids=["stray", "unclosed", "unclosed-outer", "one-too-many", "crossing-list", "crossing-quote",
        "malformed", "fullwidth-colons", "in-paragraph", "stray-in-quote"])
def test_fence_problems(project, text, expected):
    assert check_body(project, text) == expected


def test_balanced_nested_fences_in_containers_are_clean(project):
    text = ('::: {marking="TLP:AMBER"}\nThe harbour ledger.\n\n::: {marking="TLP:RED"}\nThe dock ledger.\n:::\n:::\n\n'
            '> ::: {marking="TLP:GREEN"}\n> The quoted ledger.\n> :::\n\n'
            '- An item.\n\n  ::: {.editor}\n  Check the pier figures.\n  :::\n\n'
            '!!! note\n    ::: {marking="TLP:AMBER"}\n    The admonished ledger.\n    :::\n')
    assert check_body(project, text) == []


# ============================================================================ front matter


@pytest.mark.parametrize("text, expected", [
    ("---\ntitle: Harbour\nmarking: TLP:CLEAR\nstatsu: draft\nowners: Harbour Desk\n---\n# Harbour\n", [
        E("docs/one.md:4:1", "E-FRONT-KEY", "unknown front-matter key 'statsu'", "did you mean 'status'?"),
        E("docs/one.md:5:1", "E-FRONT-TYPE", "front-matter key 'owners' must be a list of names")]),
    ("---\ntitle: Harbour\ncolour: blue\n---\n# Harbour\n", [
        E("docs/one.md:3:1", "E-FRONT-KEY", "unknown front-matter key 'colour'",
          "allowed keys: title, marking, status, owners")]),
    ("---\ntitle: Harbour\nmarking: [TLP:CLEAR\nstatus: draft\n---\n# Harbour\n", [
        E("docs/one.md:4:7", "E-FRONT-YAML", "malformed front matter: expected ',' or ']', but got ':'",
          "front matter is YAML between two '---' lines")]),
    ("---\ntitle: Harbour\nnote: value: other\n---\n# Harbour\n", [
        E("docs/one.md:3:12", "E-FRONT-YAML", "malformed front matter: mapping values are not allowed here",
          "front matter is YAML between two '---' lines")]),
    ("---\ntitle: Harbour\nstatus: done\n---\n# Harbour\n", [
        E("docs/one.md:3:1", "E-FRONT-STATUS", "status 'done' is not one of draft, review, final, carried-over")]),
    ("---\n- a list\n---\n# Harbour\n", [
        E("docs/one.md:2:1", "E-FRONT-YAML", "front matter must be a YAML mapping")]),
    ("---\nmarking: TLP:CLEAR\n---\n# Harbour\n", [
        E("docs/one.md:1:1", "E-FRONT-TITLE", "front matter has no 'title'")]),
    ("# Harbour\n\nThe harbour authority reviewed its budget.\n", [
        E("docs/one.md:1:1", "E-FRONT-MISSING", "chapter has no front matter",
          "start the file with ---, title:, marking:, status:, owners:, ---")]),
    ("---\ntitle: Harbour\n# Harbour\n\nThe budget.\n", [
        E("docs/one.md:1:1", "E-FRONT-YAML", "front matter is not closed by a '---' line")]),
    ("---\ntitle: Harbour\nmarking: TLP:RED\nstatus: draft\nmarking: TLP:CLEAR\n---\n# Harbour\n", [
        E("docs/one.md:5:1", "E-FRONT-KEY", "front-matter key 'marking' is given twice (first on line 3)",
          "keep one of them")]),
], ids=["unknown-key+type", "unknown-key", "yaml-flow", "yaml-mapping", "status", "not-mapping", "no-title",
        "missing", "unclosed", "duplicate-key"])
def test_front_matter(project, text, expected):
    assert report(project(chapters={"one.md": text}, bib=None), skip=("W-BIB-NONE",)) == expected


# ============================================================================ files and nav


def test_nav_and_stray_files(project):
    ok = body("Budget [@smith2010] and ferries [@jones2011].\n")
    root = project(chapters={"one.md": ok, "two.md": chapter("# Two\n", "Two"), "sub/four.md": chapter("# Four\n"),
                             "one.md~": "x", "NOTES.MD": "x", "one.md.bak": "x", ".one.md.swp": "x",
                             ".#one.md": "x", ".hidden.md": "x", "pier.png": b"\x89PNG"},
                   nav=["one.md", "missing.md"])
    stray = "stray file in docs/ (editor backup or odd extension)"
    stray_hint = "delete it: docs/ holds only the chapters (*.md) and their assets"
    assert report(root) == [
        E("docs/.#one.md", "E-SRC-STRAY", stray, stray_hint),
        E("docs/.hidden.md", "E-SRC-STRAY", "hidden file in docs/", "delete it"),
        E("docs/.one.md.swp", "E-SRC-STRAY", stray, stray_hint),
        E("docs/NOTES.MD", "E-SRC-STRAY", stray, stray_hint),
        E("docs/one.md.bak", "E-SRC-STRAY", stray, stray_hint),
        E("docs/one.md~", "E-SRC-STRAY", stray, stray_hint),
        E("docs/sub/four.md", "E-NAV-MISSING", "chapter is not listed in nav: of mkdocs.yml",
          "add '- Title: sub/four.md' to nav, or delete the file"),
        E("docs/two.md", "E-NAV-MISSING", "chapter is not listed in nav: of mkdocs.yml",
          "add '- Title: two.md' to nav, or delete the file"),
        E("mkdocs.yml:5:1", "E-NAV-NOFILE", "nav entry 'missing.md' has no file in docs/"),
    ]


def test_symlinks_in_docs(project, tmp_path):
    root = project()
    outside = tmp_path / "outside.md"
    outside.write_text(body("Budget.\n"))
    os.symlink(outside, root / "docs" / "link.md")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", root / "docs" / "folder")
    assert report(root) == [
        E("docs/folder", "E-SRC-SYMLINK", "symlinked folder in the source tree",
          "copy the content in; a symlink can pull unfiltered files into an edition"),
        E("docs/link.md", "E-SRC-SYMLINK", "symlink in the source tree", "replace it by the file itself"),
    ]


# ============================================================================ encodings, BOM, CRLF

CONTAINERS = ("The harbour authority [^a] reviewed.\n"  # 9
              "\n"
              "- Item [@smtih2010] here.\n"  # 11
              "\n"
              "> Quote [^q].\n")  # 13
CONTAINERS_EXPECTED = [fn_undef("9:23", "a"), cite_unknown("11:10", "smtih2010", "smith2010"), fn_undef("13:9", "q")]
BOM = W("docs/one.md:1:1", "W-SRC-BOM", "file starts with a UTF-8 byte-order mark (ignored)",
        "save the file as UTF-8 without BOM")


@pytest.mark.parametrize("encode, expected", [
    (lambda t: t.encode(), CONTAINERS_EXPECTED),
    (lambda t: t.replace("\n", "\r\n").encode(), CONTAINERS_EXPECTED),
    (lambda t: t.replace("\n", "\r").encode(), CONTAINERS_EXPECTED),
    (lambda t: b"\xef\xbb\xbf" + t.encode(), [BOM] + CONTAINERS_EXPECTED),
    (lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode(), [BOM] + CONTAINERS_EXPECTED),
], ids=["lf", "crlf", "cr", "bom", "bom+crlf"])
def test_bom_and_line_endings_keep_positions(project, encode, expected):
    root = project(chapters={"one.md": encode(body(CONTAINERS))})
    assert report(root, skip=("W-BIB-UNCITED",)) == expected


def test_crlf_front_matter_and_bib(project):
    text = "---\r\ntitle: Harbour\r\nstatsu: draft\r\n---\r\n# Harbour\r\n\r\nBudget [@smith2010] [@jones2011].\r\n"
    root = project(chapters={"one.md": text.encode()}, bib=BIB.replace("\n", "\r\n").replace(
        "  year = {2011},", "  ye ar = {2011},"))
    assert report(root) == [
        W("bibliography/refs.bib:8:1", "W-BIB-FIELDS", "entry 'jones2011' (@article) lacks required field(s): year",
          "complete the record, or list the field in 'unverified = {…}'"),
        E("bibliography/refs.bib:12:1", "E-BIB-SYNTAX", "BibTeX: '=' expected"),
        E("docs/one.md:3:1", "E-FRONT-KEY", "unknown front-matter key 'statsu'", "did you mean 'status'?"),
    ]


def test_non_utf8_chapter_and_bib_give_a_position(project):
    one = body("The caf\u00e9 budget \u2014 and more:\n").encode("utf-8").replace(b"more", b"m\xf6re")
    latin1 = BIB.replace("Port Press", "Port Pr\u00e9ss").encode("latin-1")
    root = project(chapters={"one.md": one, "two.md": chapter("# Two\n\nText [@smith2010].\n", "Two")},
                   bib={"a.bib": latin1})
    assert report(root) == [
        E("bibliography/a.bib:4:23", "E-SRC-ENCODING", "file is not valid UTF-8 (byte 0xe9)",
          "re-save the file as UTF-8"),
        # the column counts characters: 'é' and '—' before the bad byte are one column each
        E("docs/one.md:9:24", "E-SRC-ENCODING", "file is not valid UTF-8 (byte 0xf6)", "re-save the file as UTF-8"),
        cite_unknown("9:8", "smith2010").replace("docs/one.md", "docs/two.md"),
    ]


# ============================================================================ Ibid.


def test_typed_ibid_suggests_the_key(project):
    got = check_body(project, (
        "One.[^1] Two.[^2] Three.[^3]\n\n"  # 9
        "[^1]: Ibid., 3.\n"  # 11
        "[^2]: See [@smith2010, 12].\n"  # 12
        "[^3]: Ibid., 14.\n"))  # 13
    assert got == [
        E("docs/one.md:11:7", "E-IBID-TYPED", "typed 'Ibid.' in the source",
          "cite the work by its key; the pipeline prints 'Ibid.' itself"),
        E("docs/one.md:13:7", "E-IBID-TYPED", "typed 'Ibid.' in the source",
          "write [@smith2010, PAGE] — the pipeline prints 'Ibid.' itself"),
    ]


AMBIGUOUS = "typed 'Ibid.' after a note citing more than one work is ambiguous"


def test_ibid_after_a_note_citing_two_works_is_ambiguous(project):
    got = check_body(project, (
        "One.[^1] Two.[^2] Three [@jones2011; @smith2010]. Four.[^3] Five ^[ibid. 9]\n\n"  # 9
        "[^1]: Compare [@smith2010; @jones2011].\n"  # 11
        "[^2]: Ibid.\n"  # 12
        "[^3]: Ibid., 4; and then [@smith2010, 2; @jones2011, 3], ibidem.\n"))  # 13
    assert got == [
        # the inline note follows [^3], which cites two works
        E("docs/one.md:9:68", "E-IBID-AMBIGUOUS", AMBIGUOUS,
          "cite the intended work explicitly: one of @smith2010, @jones2011"),
        E("docs/one.md:12:7", "E-IBID-AMBIGUOUS", AMBIGUOUS,
          "cite the intended work explicitly: one of @smith2010, @jones2011"),
        # the body-text citation before [^3] is a note of its own (note style)
        E("docs/one.md:13:7", "E-IBID-AMBIGUOUS", AMBIGUOUS,
          "cite the intended work explicitly: one of @jones2011, @smith2010"),
        E("docs/one.md:13:58", "E-IBID-AMBIGUOUS", AMBIGUOUS,
          "cite the intended work explicitly: one of @smith2010, @jones2011"),
    ]


def test_ibid_inside_an_editor_block_is_allowed(project):
    assert check_body(project, "Text [@smith2010] [@jones2011].\n\n::: {.editor}\nIbid. needs checking.\n:::\n") == []


# ============================================================================ positions inside containers


@pytest.mark.parametrize("text, expected", [
    # lists: bullet, continuation, nested, ordered with a wide marker, tab after the marker
    ("- The harbour item.\n- The ferry item.[^x]\n  continued [^y] here.\n\n[^x]: ok\n",
     [fn_undef("11:13", "y")]),
    ("- Outer item\n    - Inner item [^in].\n", [fn_undef("10:18", "in")]),
    ("10. Tenth item [^ten].\n    Continued [^ten2].\n", [fn_undef("9:16", "ten"), fn_undef("10:15", "ten2")]),
    ("-\tTabbed item [^tab].\n", [fn_undef("9:15", "tab")]),
    # block quotes: plain, lazy continuation, nested, quote inside a list item
    ("> The quote line.\n> Another line with [^q] inside.\n", [fn_undef("10:21", "q")]),
    ("> The quote line\nlazy continuation [^lazy] here.\n", [fn_undef("10:19", "lazy")]),
    ("> > Deeper [^deep].\n", [fn_undef("9:12", "deep")]),
    ("1. Item one\n\n   > Quoted in list [^nq] here.\n   > > Deeper [^deep].\n",
     [fn_undef("11:21", "nq"), fn_undef("12:15", "deep")]),
    # admonitions: 4-space indented body, and inside a list
    ('!!! note "Harbour"\n    The harbour authority [^adm] met.\n    Second line [@smtih2010].\n',
     [fn_undef("10:27", "adm"), cite_unknown("11:19", "smtih2010", "smith2010")]),
    ("- Item\n\n    !!! note\n        Inside [^ai] the note.\n", [fn_undef("12:16", "ai")]),
    # footnote definitions: first line, continuation paragraph, lazy line, list in a note, in a quote
    ("Text.[^n]\n\n[^n]: First line [@smtih2010].\n\n    Second paragraph cites [@jonse2011].\n",
     [cite_unknown("11:20", "smtih2010", "smith2010"), cite_unknown("13:30", "jonse2011", "jones2011")]),
    ("Text [^b].\n\n[^b]: Def\nlazy line [@jonse2011].\n\n    - list in note [@smtih2010]\n",
     [cite_unknown("12:13", "jonse2011", "jones2011"), cite_unknown("14:22", "smtih2010", "smith2010")]),
    ("Text [^a].\n\n> [^a]: Quoted def [@smtih2010].\n", [cite_unknown("11:22", "smtih2010", "smith2010")]),
    # tables, including equal cells in one row
    ("| Port | Budget |\n|---|---|\n| North | 12 [^t] |\n| South | [@smtih2010] |\n",
     [fn_undef("11:14", "t"), cite_unknown("12:13", "smtih2010", "smith2010")]),
    ("| A | B |\n|---|---|\n| x [@smtih2010] | x [@smtih2010] |\n|[^t]|[^t]|\n",
     [cite_unknown("11:7", "smtih2010", "smith2010"), cite_unknown("11:24", "smtih2010", "smith2010"),
      fn_undef("12:2", "t"), fn_undef("12:7", "t")]),
    # inline notes, also spanning lines
    ("The harbour ^[A note citing [@smtih2010] and [^z].] closed.\n",
     [cite_unknown("9:31", "smtih2010", "smith2010"),
      E("docs/one.md:9:46", "E-FN-NESTED", "footnote reference [^z] inside a footnote",
        "notes cannot have notes; fold the text in"), fn_undef("9:46", "z")]),
    ("Text [see @smith2010, 12;\n  cf. @jonse2011, 4] and ^[a note\n  spanning [@smtih2010] lines].\n",
     [cite_unknown("10:8", "jonse2011", "jones2011"), cite_unknown("11:14", "smtih2010", "smith2010")]),
    # headings (ATX with closing hashes, setext), emphasis, links, hard breaks
    ("## Title [^h] ##\n\nSetext [^sx]\n------\n", [fn_undef("9:10", "h"), fn_undef("11:8", "sx")]),
    ("Some *emphasised [^em]* and **strong [@smtih2010]** and [link](http://example.org) [^after].\n",
     [fn_undef("9:18", "em"), cite_unknown("9:40", "smtih2010", "smith2010"), fn_undef("9:84", "after")]),
    ("Line one  \nLine two [^br].\nLine three\\\nLine four [^br2].\n",
     [fn_undef("10:10", "br"), fn_undef("12:11", "br2")]),
    # columns count characters, not bytes
    ("Caf\u00e9 \u2014 \u00a3 na\u00efve [^uni].\n", [fn_undef("9:16", "uni")]),
], ids=["list", "nested-list", "ordered-10", "tab", "quote", "lazy-quote", "nested-quote", "quote-in-list",
        "admonition", "admonition-in-list", "fndef-paragraphs", "fndef-lazy-list", "fndef-in-quote", "table",
        "table-equal-cells", "inline-note", "multiline-cites", "headings", "inline-markup", "hard-breaks",
        "unicode-columns"])
def test_positions_inside_containers(project, text, expected):
    assert check_body(project, text + "\nAll cited [@smith2010] [@jones2011].\n") == expected


def test_position_of_text_checks_inside_inline_notes(project):
    got = check_body(project, "One ^[Plain text {++added++} here] and ^[first *em* then Ibid.] done.\n")
    assert got == [
        E("docs/one.md:9:18", "E-CRITIC", "CriticMarkup is not processed: resolve the suggestion before building",
          "accept or reject the change; use ::: {.editor} for review remarks"),
        E("docs/one.md:9:58", "E-IBID-TYPED", "typed 'Ibid.' in the source",
          "cite the work by its key; the pipeline prints 'Ibid.' itself"),
    ]


# ============================================================================ code is not syntax


def test_code_spans_and_blocks_are_not_footnotes_fences_or_citations(project):
    text = ("Code `[^1]` and `:::` and `@smtih2010` and ``[@nokey]``.\n\n"
            "```\n[^2]\n:::\n::: {#sec-pink}\n[@nokey] Ibid.\n```\n\n"
            "~~~markdown\n[^3]: def\n~~~\n\n"
            "    [^4] indented code\n    :::\n\n"
            "- Item\n\n  ```\n  [^5]\n  :::\n  ```\n\n"
            "Budget [@smith2010] and ferries [@jones2011].\n")
    assert check_body(project, text) == []


# ============================================================================ robustness


@pytest.mark.parametrize("text", [
    "", "---\n", "---\n---\n", "\n\n\n", "[^", "^[", "[@", "@", ":::", "::: {", "::: {marking=}\n",
    "[]{.gap}", "[^a]:", "Wrapped\n[x]{marking=\"TLP:RED\"} {#sec-a}\n---\n", "x\n===\n{#}",
    "> - [^a]: q\n>   - [^a]: r\n", "| a |\n|---|\n| [^x]: y |\n", "!!! note\n\n", "^[^[^[x]]]", "\u2028\u2029\x0b\x0c",
    "[see @; @]", "[@a,,;;]", "<div>", "<!--", "*[A]: b", "![](x.png)", "[a](<b>)",
], ids=lambda t: repr(t)[:20])
def test_odd_input_never_raises(project, text):
    root = project(chapters={"one.md": text, "two.md": body(text)})
    diags, usage = check_project(root)  # must not raise
    assert not usage
    assert all(d.path and d.code for d in diags)


# ============================================================================ the CLI

CLEAN = {"one.md": body("Budget [@smith2010] and ferries [@jones2011].\n")}


def test_cli_text_format_and_exit_codes(project):
    root = project(chapters={"one.md": body("The harbour budget [@smtih2010].[^x]\n\nFerries [@jones2011].\n")})
    p = cli("check", "-C", str(root))
    assert p.returncode == 1, p.stderr
    assert p.stdout.splitlines() == [
        "bibliography/refs.bib:1:1: warning[W-BIB-UNCITED]: entry 'smith2010' is never cited",
        "docs/one.md:9:22: error[E-CITE-UNKNOWN]: citation key 'smtih2010' is not in the bibliography",
        "  hint: did you mean @smith2010?",
        "docs/one.md:9:33: error[E-FN-UNDEFINED]: footnote [^x] has no definition",
        "  hint: add '[^x]: text' to this chapter",
        "2 error(s), 1 warning(s)",
    ]
    assert "Traceback" not in p.stderr

    # the same diagnostics as JSON, and as GitHub annotations
    j = cli("check", "--format", "json", "-C", str(root))
    assert j.returncode == 1
    data = json.loads(j.stdout)
    assert (data["errors"], data["warnings"]) == (2, 1)
    assert [(d["path"], d["line"], d["col"], d["severity"], d["code"], d["message"], d["hints"])
            for d in data["diagnostics"]] == [
        ("bibliography/refs.bib", 1, 1, "warning", "W-BIB-UNCITED", "entry 'smith2010' is never cited", []),
        ("docs/one.md", 9, 22, "error", "E-CITE-UNKNOWN", "citation key 'smtih2010' is not in the bibliography",
         ["did you mean @smith2010?"]),
        ("docs/one.md", 9, 33, "error", "E-FN-UNDEFINED", "footnote [^x] has no definition",
         ["add '[^x]: text' to this chapter"]),
    ]
    g = cli("check", "--format", "github", "-C", str(root))
    assert g.returncode == 1
    assert g.stdout.splitlines() == [
        "::warning file=bibliography/refs.bib,line=1,col=1,title=W-BIB-UNCITED::entry 'smith2010' is never cited",
        "::error file=docs/one.md,line=9,col=22,title=E-CITE-UNKNOWN::citation key 'smtih2010' is not in the "
        "bibliography%0Ahint: did you mean @smith2010?",
        "::error file=docs/one.md,line=9,col=33,title=E-FN-UNDEFINED::footnote [^x] has no definition%0Ahint: "
        "add '[^x]: text' to this chapter",
    ]
    assert "Traceback" not in j.stderr + g.stderr


def test_cli_clean_warnings_and_strict(project):
    root = project(chapters=CLEAN)
    p = cli("check", "-C", str(root))
    assert (p.returncode, p.stdout.strip(), p.stderr) == (0, "0 error(s), 0 warning(s)", "")
    # a warning alone passes, and fails under --strict; running from inside the project finds it
    (root / "bibliography" / "extra.bib").write_text("@misc{extra2000,\n  title = {Lighthouse Lamps},\n}\n")
    p = cli("check", cwd=root / "docs")
    assert p.returncode == 0 and "W-BIB-UNCITED" in p.stdout
    p = cli("check", "--strict", "--edition", "public", "-C", str(root))
    assert p.returncode == 1 and "W-BIB-UNCITED" in p.stdout and "Traceback" not in p.stderr


@pytest.mark.parametrize("case", ["unknown-edition", "broken-yaml", "no-mkdocs", "bad-option", "non-utf8-config",
                                  "duplicate-key", "bad-value", "bad-format"])
def test_cli_usage_and_configuration_errors_exit_2(project, tmp_path, case):
    """In-process (click's runner) for speed; test_cli_broken_config_process runs one as a process."""
    root = project(chapters=CLEAN)
    args = ["check", "-C", str(root)]
    expect = ""
    if case == "unknown-edition":
        args += ["--edition", "internal"]
        expect = "mkdocs.yml: error[E-USAGE-EDITION]: no edition named 'internal'\n  hint: editions: public, restricted"
    elif case == "broken-yaml":
        (root / "mkdocs.yml").write_text("site_name: x\nnav: [\n")
        expect = "mkdocs.yml:3:1: error[E-CONFIG-YAML]: invalid YAML: expected the node content, but found '<stream end>'"
    elif case == "no-mkdocs":
        args = ["check", "-C", str(tmp_path / "nowhere")]
        (tmp_path / "nowhere").mkdir()
        expect = "envscan: error[E-CONFIG-MISSING]: no mkdocs.yml here or in any parent folder"
    elif case == "bad-option":
        (root / "mkdocs.yml").write_text(mkdocs_yml(["one.md"]).replace("      editions:", "      editons: {}\n"
                                                                         "      editions:"))
        expect = "mkdocs.yml:11:1: error[E-CONFIG-UNKNOWN]: unknown envscan option 'editons'\n  hint: did you mean 'editions'?"
    elif case == "non-utf8-config":
        (root / "mkdocs.yml").write_bytes(mkdocs_yml(["one.md"]).replace("Test Scan", "Sc\u00e4n").encode("latin-1"))
        expect = "mkdocs.yml:1:14: error[E-SRC-ENCODING]: file is not valid UTF-8 (byte 0xe4)\n  hint: re-save the file as UTF-8"
    elif case == "duplicate-key":
        (root / "mkdocs.yml").write_text(mkdocs_yml(["one.md"]).replace("          max: TLP:CLEAR\n",
                                                                         "          max: TLP:CLEAR\n          max: TLP:RED\n"))
        expect = ("mkdocs.yml:14:11: error[E-CONFIG-YAML]: key 'plugins.0.envscan.editions.public.max' is given twice "
                  "(first on line 13)\n  hint: keep one of them")
    elif case == "bad-value":
        (root / "mkdocs.yml").write_text(mkdocs_yml(["one.md"]) + "      citations: {et_al_min: x}\n")
        expect = "mkdocs.yml:16:1: error[E-CONFIG-CITATIONS]: citations.et_al_min must be a whole number >= 1, not 'x'"
    elif case == "bad-format":
        args += ["--format", "xml"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    if expect:
        assert expect in res.output


def test_cli_broken_config_process(project):
    root = project(chapters=CLEAN)
    (root / "mkdocs.yml").write_text("site_name: x\nplugins:\n  - envscan: {editions: [\n")
    p = cli("check", "--format", "github", "-C", str(root))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stdout.startswith("::error file=mkdocs.yml,line=4,col=1,title=E-CONFIG-YAML::invalid YAML: ")


# ============================================================================ the real scan


def test_the_scan_itself_checks_without_errors():
    diags, usage = check_project(REPO)
    errors = [format_text(d) for d in diags if d.severity == "error"]
    assert not usage and errors == []
