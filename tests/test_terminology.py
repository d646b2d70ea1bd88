"""Terminology check (Luxembourg Guidelines default list): fixtures and the 2012 text."""

from __future__ import annotations

from pathlib import Path

import pytest

from envscan.config import load_config
from envscan.parse import parse_chapter
from envscan.project import load_project
from envscan.terminology import DEFAULT_TERMS, TermConfig, check_chapter, check_terms, load_terms

from edition_helpers import chapter, config_yml, make_project

REPO = Path(__file__).resolve().parent.parent


def _findings(body: str, cfg: TermConfig | None = None):
    cfg_obj, _ = load_config(config_yml(["one.md"]))
    assert cfg_obj is not None
    ch, _ = parse_chapter("docs/one.md", "one.md", chapter(body), cfg_obj.scheme)
    return check_chapter(ch, cfg or TermConfig())


@pytest.mark.parametrize("text, found, use", [
    ("Analysts reviewed the child pornography seized.", "child pornography", "child sexual abuse material"),
    ("A report on child prostitutes in ports.", "child prostitutes", "prostitution"),
    ("Reports of child sex tourism rose.", "child sex tourism", "travel and tourism"),
    ("The Child\nPornography seized.", "Child Pornography", "child sexual abuse material"),  # across a line break
    ("Reports of webcam child sex tourism rose.", "webcam child sex tourism", "live online"),
])
def test_flagged_with_position_and_suggestion(text, found, use):
    got = _findings(f"# Terms {{#sec-t}}\n\n{text}\n")
    assert len(got) == 1, got
    f = got[0]
    assert f.found == found and use in f.rule.use
    assert (f.path, f.line) == ("docs/one.md", 9) and f.col > 1  # the front matter is 6 lines


@pytest.mark.parametrize("text", [
    "Holt notes that “the term child pornography minimises the abuse”.",  # quotation
    'He wrote "child pornography offenders" in 2010.',  # straight quotes
    "> They described child pornography as a market.",  # block quote
    "The so-called child pornography [sic] market.",  # [sic]
    "The 2011 Directive on Combating the Sexual Abuse of Children and Child Pornography applies.",  # instrument
    "He was convicted of possession of child pornography in 2009.",  # offence
    "The Optional Protocol on the Sale of Children, Child Prostitution and Child Pornography.",
    "Code `child pornography` and a [link](child-pornography.md) and a key @childpornography2010.",
    "<!-- child pornography -->Plain text.",
])
def test_exceptions_pass(text):
    assert _findings(f"# Terms {{#sec-t}}\n\n{text}\n") == []


def test_never_terms_pass_only_with_sic():
    assert len(_findings("# T {#sec-t}\n\nShe quoted “a child prostitute” there.\n")) == 1
    assert _findings("# T {#sec-t}\n\nShe quoted “a child prostitute [sic]” there.\n") == []
    # the offence/title exception does not apply to it either
    assert len(_findings("# T {#sec-t}\n\nThe Child Prostitute Act was repealed.\n")) == 1


def test_lowercase_term_in_an_instrument_sentence_is_flagged():
    got = _findings("# T {#sec-t}\n\nThe Directive says little about child pornography online.\n")
    assert len(got) == 1


def test_configured_list_disable_and_allowance():
    raw = {"plugins": [{"envscan": {"terminology": {
        "disable": ["child sex tourism"],
        "terms": [{"term": "ferry disaster", "use": "ferry accident", "except": ["sic"]}],
        "allow": [{"text": "the 1990 Child Pornography Review panel", "reason": "the title of a review"}]}}}]}
    cfg, diags = load_terms(raw)
    assert diags == []
    body = ("# T {#sec-t}\n\nThe ferry disaster of 1990.\n\nReports of child sex tourism.\n\n"
            "Members of the 1990 Child Pornography Review panel met. Later child pornography was found.\n")
    got = _findings(body, cfg)
    assert [(f.found, f.line) for f in got] == [("ferry disaster", 9), ("child pornography", 13)]


@pytest.mark.parametrize("block, msg", [
    ({"terms": [{"term": "x"}]}, "needs 'term' and 'use'"),
    ({"terms": [{"term": "x", "use": "y", "except": ["quotes"]}]}, "except"),
    ({"allow": [{"text": "x"}]}, "reason"),
    ({"disable": ["no such term"]}, "not in the list"),
    ({"colour": 1}, "unknown key"),
])
def test_config_errors(block, msg):
    _, diags = load_terms({"plugins": [{"envscan": {"terminology": block}}]})
    assert diags and diags[0].code == "E-CONFIG-TERMS" and msg in diags[0].message


def test_warning_in_check_carries_position_and_wording(tmp_path):
    root = make_project(tmp_path, {"one.md": chapter("# Ferries {#sec-f}\n\nThe child pornography seized.\n")})
    project, _ = load_project(root)
    assert project is not None
    d = [x for x in check_terms(project.source) if x.code == "W-TERM"]
    assert len(d) == 1 and d[0].severity == "warning"
    assert (d[0].path, d[0].line, d[0].col) == ("docs/one.md", 9, 5)
    assert "child sexual abuse material" in d[0].message and "Luxembourg" in d[0].message


def test_2012_text_passes_without_noise():
    """The 2012 scan uses "child pornography" eight times: in quotations (with and without
    [sic]) and in the title of the 2011 EU Directive. None is reported; without the
    exceptions every one would be."""
    project, _ = load_project(REPO)
    assert project is not None
    assert [d for d in check_terms(project.source)] == []
    raw = TermConfig(tuple(r.__class__(r.term, r.use, ()) for r in DEFAULT_TERMS))
    found = [f.path for ch in project.chapters for f in check_chapter(ch, raw)]
    assert {p: found.count(p) for p in found} == {
        "docs/index.md": 1,  # “child pornography” (quoted)
        "docs/02-literature-review.md": 4,  # quotations, two of them with [sic]
        "docs/03-law-enforcement-trends.md": 2,  # a quoted offence; the 2011 Directive's title
        "docs/04-future-considerations.md": 1}  # the 2011 Directive's title
