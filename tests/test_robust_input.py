"""Robust input (issue 8, class 9), written as an attacker would: hostile YAML in mkdocs.yml and
in front matter gives a positioned diagnostic in bounded time (never E-INTERNAL, never a hang),
and a bibliography field that was meant to be ``marking`` is an error, not an unmarked source."""

from __future__ import annotations

import sys
import time

import pytest
from conftest import BIB, chapter, check_lines, cli, line, make_project, mkdocs_yml, run_check

DEPTH = 3000

# three spellings of a 3,000-deep document, each a few kilobytes
DEEP_FLOW = "[" * DEPTH + "]" * DEPTH
DEEP_BLOCK_SEQ = "- " * DEPTH + "ferry"
DEEP_FLOW_MAP = "{a: " * DEPTH + "1" + "}" * DEPTH


def billion_laughs(key: str = "lol") -> str:
    """Nine levels of nine aliases each: 9**9 (≈ 387 million) values once expanded."""
    out = [f'{key}0: &{key}0 ["harbour", "harbour", "harbour", "harbour", "harbour", "harbour", "harbour", '
           f'"harbour", "harbour"]']
    for i in range(1, 10):
        out.append(f"{key}{i}: &{key}{i} [" + ", ".join([f"*{key}{i - 1}"] * 9) + "]")
    return "\n".join(out) + "\n"


def _timed_check(root):
    t0 = time.perf_counter()
    diags, usage = run_check(root)
    return diags, usage, time.perf_counter() - t0


# --------------------------------------------------------------------------- mkdocs.yml

@pytest.mark.parametrize("deep", [DEEP_FLOW, DEEP_BLOCK_SEQ, DEEP_FLOW_MAP], ids=["flow-seq", "block-seq", "flow-map"])
def test_deep_mkdocs_yml_is_a_positioned_error(tmp_path, deep):
    cfg = mkdocs_yml(["one.md"]) + f"extra:\n  ferries:\n    {deep}\n"
    root = make_project(tmp_path, config=cfg)
    diags, usage, took = _timed_check(root)
    assert took < 2, took
    assert usage
    assert [d.code for d in diags] == ["E-CONFIG-YAML"], [line(d) for d in diags]
    d = diags[0]
    assert d.path == "mkdocs.yml" and d.line == cfg.count("\n") and d.col > 1, line(d)
    assert "more than 100 levels" in d.message and d.hints


def test_billion_laughs_in_mkdocs_yml_is_a_positioned_error(tmp_path):
    cfg = mkdocs_yml(["one.md"]) + "extra:\n" + "".join(f"  {ln}\n" for ln in billion_laughs().splitlines())
    root = make_project(tmp_path, config=cfg)
    diags, usage, took = _timed_check(root)
    assert took < 2, took
    assert [d.code for d in diags] == ["E-CONFIG-YAML"], [line(d) for d in diags]
    d = diags[0]
    # the alias that pushes the expansion over the bound, on one of the last lines
    assert d.path == "mkdocs.yml" and d.line > cfg.count("\n") - 5 and d.col > 1, line(d)
    assert "aliases expand" in d.message and "anchors and aliases" in d.hints[0]


def test_recursive_and_undefined_aliases(tmp_path):
    cfg = mkdocs_yml(["one.md"]) + "extra:\n  loop: &loop [*loop]\n"
    root = make_project(tmp_path / "a", config=cfg)
    assert check_lines(root) == [f"mkdocs.yml:{cfg.count(chr(10))}:16: error[E-CONFIG-YAML]: invalid YAML: alias "
                                 "*loop refers to no complete anchor (undefined or recursive)"]
    cfg = mkdocs_yml(["one.md"]) + "extra:\n  ferry: *nowhere\n"
    root = make_project(tmp_path / "b", config=cfg)
    assert check_lines(root) == [f"mkdocs.yml:{cfg.count(chr(10))}:10: error[E-CONFIG-YAML]: invalid YAML: alias "
                                 "*nowhere refers to no complete anchor (undefined or recursive)"]


def test_small_aliases_still_allowed(tmp_path):
    cfg = mkdocs_yml(["one.md"]) + "extra:\n  port: &p {name: Harbour, berths: 4}\n  copy: *p\n"
    root = make_project(tmp_path, config=cfg)
    diags, _ = run_check(root)
    assert not [d for d in diags if d.severity == "error"], [line(d) for d in diags]


def test_deep_mkdocs_yml_through_the_cli(tmp_path):
    """The command a user runs: exit 2 and a diagnostic, no traceback, no E-INTERNAL."""
    root = make_project(tmp_path, config=mkdocs_yml(["one.md"]) + f"extra:\n  x: {DEEP_FLOW}\n")
    for cmd in (["check"], ["build", "--no-pdf", "-q"]):
        t0 = time.perf_counter()
        res = cli(*cmd, "-C", str(root))
        assert time.perf_counter() - t0 < 20
        out = res.stdout + res.stderr
        assert res.returncode == 2, out
        assert "mkdocs.yml:" in out and "error[E-CONFIG-YAML]" in out, out
        assert "Traceback" not in out and "E-INTERNAL" not in out, out
    assert not (root / "site").exists()


# --------------------------------------------------------------------------- front matter

@pytest.mark.parametrize("deep", [DEEP_FLOW, DEEP_BLOCK_SEQ, DEEP_FLOW_MAP], ids=["flow-seq", "block-seq", "flow-map"])
def test_deep_front_matter_is_a_positioned_error(tmp_path, deep):
    text = f"---\ntitle: Harbour\nmarking: TLP:CLEAR\nowners:\n  {deep}\n---\n# Harbour\n\nThe ferry runs hourly.\n"
    root = make_project(tmp_path, {"one.md": text})
    diags, _, took = _timed_check(root)
    assert took < 2, took
    fm = [d for d in diags if d.code == "E-FRONT-YAML"]
    assert len(fm) == 1, [line(d) for d in diags]
    assert fm[0].path == "docs/one.md" and fm[0].line == 5 and fm[0].col > 100, line(fm[0])
    assert "E-INTERNAL" not in {d.code for d in diags}


def test_billion_laughs_in_front_matter(tmp_path):
    text = "---\ntitle: Harbour\nmarking: TLP:CLEAR\n" + billion_laughs() + "---\n# Harbour\n\nFerries.\n"
    root = make_project(tmp_path, {"one.md": text})
    diags, _, took = _timed_check(root)
    assert took < 2, took
    fm = [d for d in diags if d.code == "E-FRONT-YAML"]
    assert len(fm) == 1 and fm[0].path == "docs/one.md" and 4 <= fm[0].line <= 13, [line(d) for d in diags]
    assert "aliases expand" in fm[0].message


def test_hostile_front_matter_fails_closed(tmp_path):
    """A chapter whose front matter is refused keeps the most restrictive marking: nothing
    of it reaches the public edition (the error stops the build anyway)."""
    text = f"---\ntitle: Harbour\nmarking: TLP:CLEAR\nowners: {DEEP_FLOW}\n---\n# Harbour\n\nzqrdeepferry.\n"
    root = make_project(tmp_path, {"one.md": text})
    res = cli("build", "public", "--no-pdf", "-q", "-C", str(root))
    assert res.returncode == 1, res.stderr
    assert "docs/one.md:4:" in res.stderr and "error[E-FRONT-YAML]" in res.stderr
    assert not (root / "site").exists()


def test_recursion_limit_is_not_what_saves_us(tmp_path):
    """Even with a generous recursion limit the bound is checked first (no deep composer run)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20000))
    try:
        cfg = mkdocs_yml(["one.md"]) + f"extra:\n  x: {DEEP_FLOW}\n"
        root = make_project(tmp_path, config=cfg)
        assert [d.code for d in run_check(root)[0]] == ["E-CONFIG-YAML"]
    finally:
        sys.setrecursionlimit(old)


# --------------------------------------------------------------------------- bibliography: a misspelt 'marking'

CITING = chapter("# Harbour\n\nThe harbour authority reviewed its budget [@smith2010] and its timetable "
                 "[@jones2011].\n")


def _bib_with(field: str) -> str:
    return BIB.replace("  year = {2010},\n", f"  year = {{2010}},\n  {field},\n", 1)


@pytest.mark.parametrize("field", ["mark = {TLP:AMBER}", "markng = {TLP:AMBER}", "Markin = {TLP:AMBER}",
                                   "MARKINGS = {TLP:AMBER}", "mraking = {TLP:AMBER}", "maring = {TLP:AMBER}",
                                   "tlp-marking = {TLP:AMBER}", "marked = {yes}"])
def test_misspelt_marking_field_is_an_error(tmp_path, field):
    root = make_project(tmp_path, {"one.md": CITING}, bib=_bib_with(field))
    diags, _ = run_check(root)
    bad = [d for d in diags if d.code == "E-BIB-FIELD"]
    name = field.split(" ")[0]
    assert len(bad) == 1, [line(d) for d in diags]
    assert line(bad[0]) == (f"bibliography/refs.bib:6:3: error[E-BIB-FIELD]: entry 'smith2010': field {name!r} "
                            "looks like a misspelt 'marking'")
    assert any("marking = {" in h for h in bad[0].hints), bad[0].hints
    # fail closed: the public edition may not cite it while the typo stands
    assert "E-ED-CITE-MARKED" in {d.code for d in diags if d.edition in ("", "public")}


def test_marking_label_under_another_field_name(tmp_path):
    root = make_project(tmp_path, {"one.md": CITING}, bib=_bib_with("classification = {TLP:AMBER}"))
    lines = check_lines(root, "E-BIB")
    assert lines == ["bibliography/refs.bib:6:3: error[E-BIB-FIELD]: entry 'smith2010': field 'classification' "
                     "holds the marking label 'TLP:AMBER', but only 'marking' marks a source"]


def test_correct_marking_field_any_case(tmp_path):
    """BibTeX field names are case-insensitive: 'Marking ' (capital, spaces) is the marking."""
    root = make_project(tmp_path, {"one.md": CITING}, bib=_bib_with("Marking  = { TLP:AMBER }"))
    diags, _ = run_check(root)
    assert "E-BIB-FIELD" not in {d.code for d in diags}
    cited = [d for d in diags if d.code == "E-ED-CITE-MARKED"]
    assert cited and "TLP:AMBER" in cited[0].message


@pytest.mark.parametrize("field", ["note = {Harbour budgets, second edition}", "keywords = {ferries; budgets}",
                                   "annote = {check the mooring figures}", "sortkey = {harbour2010}"])
def test_ordinary_fields_are_not_flagged(tmp_path, field):
    root = make_project(tmp_path, {"one.md": CITING}, bib=_bib_with(field))
    assert "E-BIB-FIELD" not in {d.code for d in run_check(root)[0]}


def test_misspelt_marking_stops_the_build(tmp_path):
    body = chapter("# Harbour\n\nThe budget is set out in [@smith2010].\n")
    bib = _bib_with("mark = {TLP:AMBER}").replace("Harbour Budgets", "Harbour Budgets Zqrmarkedsource")
    root = make_project(tmp_path, {"one.md": body}, bib=bib)
    res = cli("build", "public", "--no-pdf", "-q", "-C", str(root))
    assert res.returncode == 1
    assert "bibliography/refs.bib:6:3: error[E-BIB-FIELD]" in res.stderr, res.stderr
    assert not (root / "site").exists()


def test_bib_keys_differing_only_in_case_are_duplicates():
    from envscan.bib import load_bibliography
    from envscan.config import Scheme

    scheme = Scheme("TLP 2.0", ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"), "TLP:RED")
    one = "@book{REG, author={X, Y}, title={Public ledger}, publisher={P}, year={2020}}\n"
    two = "@book{reg, author={X, Y}, title={Harbour ledger}, publisher={P}, year={2020}, marking={TLP:AMBER}}\n"
    _, diags = load_bibliography([("bibliography/a.bib", one + two)], scheme)
    assert [d.code for d in diags if d.code == "E-BIB-DUPLICATE"] == ["E-BIB-DUPLICATE"]
    _, diags = load_bibliography([("bibliography/a.bib", one), ("bibliography/b.bib", two)], scheme)
    assert [d.code for d in diags if d.code == "E-BIB-DUPLICATE"] == ["E-BIB-DUPLICATE"]
