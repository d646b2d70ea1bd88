"""The authors' daily loop: summarised warnings, check formats, --fix, `envscan new`, `envscan status`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envscan.diagnostics import error, warning
from envscan.fix import apply, plan
from envscan.pipeline import build_project, check_project
from envscan.scaffold import ScaffoldError, new_project
from envscan.status import STATEMENT, STATUS_PAGE, collect
from envscan.summary import WarningPolicy, load_policy, render_text

from edition_helpers import chapter, make_project, tree_text

REPO = Path(__file__).resolve().parent.parent


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envscan.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, NO_COLOR="1", COLUMNS="200"))


# --------------------------------------------------------------------------- summarised warnings

def test_accepted_classes_are_one_line_each_new_and_rare_in_full():
    diags = [warning("W-A", f"a {i}", "x.md", i, 1) for i in range(1, 6)] + \
            [warning("W-B", "b 1", "x.md", 9, 1), warning("W-NEW", "new", "y.md", 1, 1), error("E-X", "bad", "z.md", 2, 3)]
    pol = WarningPolicy({"W-A": "known and accepted", "W-B": "rare one"}, summarise_over=3)
    out = render_text(diags, pol).splitlines()
    assert "z.md:2:3: error[E-X]: bad" in out and "y.md:1:1: warning[W-NEW]: new" in out
    assert "x.md:9:1: warning[W-B]: b 1" in out  # accepted but rare: in full
    assert not any("a 3" in x for x in out)
    assert any(x.split()[:2] == ["W-A", "5"] and "known and accepted" in x and "x.md:1:1" in x for x in out)
    assert out[-1] == "1 error(s), 7 warning(s) (5 accepted, summarised above)"
    assert sum("W-A" in x for x in render_text(diags, pol, verbose=True).splitlines()) == 5


def test_policy_errors():
    _, d = load_policy({"plugins": [{"envscan": {"warnings": {"accepted": {"E-FN-UNDEFINED": "no"}}}}]})
    assert d and "only warnings" in d[0].message
    _, d = load_policy({"plugins": [{"envscan": {"warnings": {"accepted": {"W-FN-GAP": ""}}}}]})
    assert d and "reason" in d[0].message


def test_2012_build_output_summarises_its_accepted_warnings():
    """The 2012 scan's accepted classes print one line each with their count (the counts are
    the scan's own: editors resolve gaps and unverified fields over time)."""
    verbose = _cli("check", "--verbose", cwd=REPO).stdout
    counts = {code: verbose.count(f"warning[{code}]") for code in ("W-BIB-UNVERIFIED", "W-FN-GAP", "W-BIB-UNCITED")}
    assert all(counts.values()), verbose
    res = _cli("check", cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 5, res.stdout  # a heading, three classes, the count line
    for code, n in counts.items():
        assert any(x.split()[:2] == [code, str(n)] for x in lines), res.stdout
    total = sum(counts.values())
    assert lines[-1].startswith(f"0 error(s), {total} warning(s) ({total} accepted"), res.stdout


def test_check_formats_json_and_github(tmp_path):
    root = make_project(tmp_path, {"one.md": chapter("# Ferries {#sec-f}\n\nA claim.[^nowhere]\n")})
    js = json.loads(_cli("check", "--format", "json", cwd=root).stdout)
    d = next(x for x in js["diagnostics"] if x["code"] == "E-FN-UNDEFINED")
    assert (d["path"], d["line"], d["severity"]) == ("docs/one.md", 9, "error") and js["errors"] >= 1
    gh = _cli("check", "--format", "github", cwd=root)
    assert gh.returncode == 1
    assert any(x.startswith("::error file=docs/one.md,line=9,col=") and "title=E-FN-UNDEFINED::" in x
               for x in gh.stdout.splitlines()), gh.stdout


# --------------------------------------------------------------------------- --fix

IBID_CH = ("# Ferries {#sec-f}\n\nA claim.[^a] Another.[^b] A third.[^c] A fourth.[^d]\n\n"
           "[^a]: [@smith2010, 12].\n[^b]: Ibid., 45.\n[^c]: [Ibid. 12-14]\n[^d]: Ibid. and elsewhere.\n")


def test_fix_typed_ibid(tmp_path):
    root = make_project(tmp_path, {"one.md": chapter(IBID_CH)})
    diags, _ = check_project(root, ["public"])
    fp = plan(root, diags)
    # [^c] follows a typed Ibid. (no work yet); "Ibid. and elsewhere": text follows it
    assert len(fp.fixes) == 1 and len(fp.skipped) == 2
    assert len(apply(root, fp)) == 1
    fp = plan(root, check_project(root, ["public"])[0])  # now [^c] follows [@smith2010, 45]
    assert len(fp.fixes) == 1 and len(apply(root, fp)) == 1
    text = (root / "docs" / "one.md").read_text(encoding="utf-8")
    assert "[^b]: [@smith2010, 45]." in text and "[^c]: [@smith2010, 12-14]\n" in text
    assert "[^d]: Ibid. and elsewhere." in text
    left = [d.code for d in check_project(root, ["public"])[0] if d.severity == "error"]
    assert left == ["E-IBID-TYPED"]
    assert not list((root / "docs").glob(".*envscan-fix"))  # no temporary file left


@pytest.mark.parametrize("wrap", ['::: {marking="TLP:AMBER"}\nBODY\n:::', "::: {.editor}\nBODY\n:::"])
def test_fix_never_names_a_work_cited_only_where_the_ibid_is_not_shown(tmp_path, wrap):
    body = ("# Harbour {#sec-h}\n\n" + wrap.replace(
        "BODY", "The night berth roster came from a survey.[^a]\n\n[^a]: [@smith2010, 3].")
        + "\n\nPublic text about timetables.[^b]\n\n[^b]: Ibid., 5.\n\nCited [@jones2011, 1].\n")
    root = make_project(tmp_path, {"one.md": chapter(body)})
    diags, _ = check_project(root, ["public"])
    ibid = [d for d in diags if d.code == "E-IBID-TYPED"]
    assert ibid and not any("@smith2010" in h for d in ibid for h in d.hints)
    fp = plan(root, diags)
    assert fp.fixes == [] and fp.skipped


def test_fix_through_cli_and_crlf_left_alone(tmp_path):
    root = make_project(tmp_path / "a", {"one.md": chapter(IBID_CH)})
    res = _cli("check", "--fix", cwd=root)
    assert "fixed docs/one.md:12:7" in res.stderr and "fixed docs/one.md:13:8" in res.stderr and "not fixed" in res.stderr
    root2 = make_project(tmp_path / "b", {"one.md": chapter(IBID_CH)}, variant="crlf")
    before = (root2 / "docs" / "one.md").read_bytes()
    res = _cli("check", "--fix", cwd=root2)
    assert "CRLF" in res.stderr and (root2 / "docs" / "one.md").read_bytes() == before


# --------------------------------------------------------------------------- new + status

def test_new_project_is_clean_and_its_editions_differ(tmp_path):
    root = tmp_path / "scan"
    made = new_project(root, "Harbour Scan")
    assert {"mkdocs.yml", "docs/index.md", "docs/01-ferry-services.md", "docs/figures/harbour-map.png"} <= \
        set(made.files) and any(f.endswith(".bib") for f in made.files)
    with pytest.raises(ScaffoldError):
        new_project(root)  # never into a folder with content
    diags, usage = check_project(root)
    assert not usage and diags == [], diags
    out = tmp_path / "out"
    diags, usage = build_project(root, None, pdf=False, out=out, quiet=True)
    assert not usage and not [d for d in diags if d.severity == "error"], diags
    pub, res = tree_text(out / "public"), tree_text(out / "restricted")
    pub_all, res_all = "\n".join(pub.values()), "\n".join(res.values())
    assert "joint inspection plan" in res_all and "joint inspection plan" not in pub_all  # restricted block
    assert "plan joint inspections" in pub_all and "plan joint inspections" not in res_all  # its tearline
    assert "Internal Vessel Register" in res_all and "Internal Vessel Register" not in pub_all  # restricted source
    assert "to be shortened" not in pub_all + res_all  # the editor note
    assert "figures/harbour-map.png" in pub and "figures/harbour-map.png" in res
    # the status page: restricted site only
    assert STATUS_PAGE.replace(".md", ".html") in res and STATUS_PAGE.replace(".md", ".html") not in pub
    assert "Harbour Desk, Ferry Desk" in res[STATUS_PAGE.replace(".md", ".html")]
    assert "Ferry Desk" not in pub_all


def test_status_page_escaping_into_public_stops_the_build(tmp_path, monkeypatch):
    """The status page is restricted content: were it added to the public edition, the gate
    finds its statement there."""
    import envscan.status as status

    root = tmp_path / "scan"
    new_project(root)
    real = status.add_status_page

    def leaky(src, assembled, diags):
        real(src, assembled, diags)
        wide = next(ae for ae in assembled if ae.edition.name == "restricted")
        page = next(p for p in wide.pages if p.name == STATUS_PAGE)
        for ae in assembled:
            if ae.edition.name == "public":
                ae.pages.insert(0, page)

    monkeypatch.setattr(status, "add_status_page", leaky)
    diags, _ = build_project(root, ["public", "restricted"], pdf=False, out=tmp_path / "out", quiet=True)
    assert any(d.code == "E-LEAK-OUTPUT" and d.edition == "public" for d in diags), diags
    assert not (tmp_path / "out" / "public").exists()


def test_status_counts_and_cli(tmp_path):
    root = tmp_path / "scan"
    new_project(root)
    from envscan.project import load_project

    project, _ = load_project(root)
    assert project is not None
    st = collect(project.source, [warning("W-X", "w", "docs/index.md", 3, 1), warning("W-X", "w", "docs/index.md", 3, 1)])
    by = {c.name: c for c in st.chapters}
    assert by["index.md"].warnings == 1 and by["index.md"].status == "draft"
    assert by["01-ferry-services.md"].owners == ("Harbour Desk", "Ferry Desk")
    assert by["01-ferry-services.md"].notes == 3 and by["01-ferry-services.md"].citations == 3
    assert st.words == sum(c.words for c in st.chapters) > 150
    res = _cli("status", cwd=root)
    assert res.returncode == 0 and "Ferry Services" in res.stdout and "total" in res.stdout, res.stdout + res.stderr
    js = json.loads(_cli("status", "--format", "json", cwd=root).stdout)
    assert js["totals"]["words"] == st.words and len(js["chapters"]) == 2
    assert STATEMENT  # the page's opening sentence is the gate's passage for narrower editions


def test_status_of_2012_scan():
    res = _cli("status", "--format", "json", cwd=REPO)
    js = json.loads(res.stdout)
    check = json.loads(_cli("check", "--format", "json", cwd=REPO).stdout)
    items = check["diagnostics"] if isinstance(check, dict) else check
    warnings = sum(1 for d in items if d["severity"] == "warning")
    assert [c["name"] for c in js["chapters"]][0] == "index.md" and js["totals"]["warnings"] == warnings > 0


def test_pre_commit_hooks_and_ci_example_are_valid():
    import yaml

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    by_id = {h["id"]: h for h in hooks}
    assert by_id["envscan-check"]["entry"] == "envscan check" and by_id["envscan-check"]["pass_filenames"] is False
    assert {"id", "name", "entry", "language"} <= set(by_id["envscan-check-fix"])
    ci = yaml.safe_load((REPO / "examples" / "ci" / "github-actions.yml").read_text(encoding="utf-8"))
    runs = [s.get("run", "") for s in ci["jobs"]["check"]["steps"]]
    assert "envscan check --format github" in runs
    assert not (REPO / "docs" / "examples").exists()  # docs/ holds the scan's chapters only


@pytest.mark.parametrize("title", ["*alias", "!ENV HOME", "| x", "%x", "- item"])
def test_new_refuses_titles_that_would_not_be_plain_yaml(tmp_path, title):
    from envscan.scaffold import ScaffoldError, new_project

    with pytest.raises(ScaffoldError):
        new_project(tmp_path / "p", title=title)
    assert not (tmp_path / "p").exists()
