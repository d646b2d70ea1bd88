"""The four-yearly cycle (issue 12): release, verify, edition start, diff, redline, review window,
bibliography audit, editions published side by side. Small fixture projects, sites without PDF.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BIB as BASE_BIB, cli, line, run_check
from envscan.cycle import bib_audit, period_years
from envscan.diff import State, diff_states, diff_text, word_changes
from envscan.lifecycle import set_status
from envscan.project import load_project
from envscan.redline import compute_redline

GIT_ENV = {"GIT_AUTHOR_NAME": "Harbour Desk", "GIT_AUTHOR_EMAIL": "desk@example.org",
           "GIT_COMMITTER_NAME": "Harbour Desk", "GIT_COMMITTER_EMAIL": "desk@example.org"}

CONFIG = """\
site_name: Harbour Scan 2012
docs_dir: docs
nav:
  - Summary: index.md
  - Ports: 01-ports.md
  - Review: 02-review.md
plugins:
  - envscan:
      report:
        title: Harbour Scan 2012
        year: "2012"
        period: "2008–2012"
      scheme:
        name: TLP 2.0
        labels: [TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, TLP:RED]
        default: TLP:RED
      editions:
        public:
          max: TLP:CLEAR
          pdf: false
        restricted:
          max: TLP:RED
          pdf: false
      cycle:
        reviews: [02-review.md]
        publish:
          public: published/public
          restricted: published/restricted
"""

FRONT = "---\ntitle: {title}\nmarking: TLP:CLEAR\nstatus: final\nowners: [Harbour Desk]\n---\n\n"

CHAPTERS = {
    "index.md": FRONT.format(title="Summary") + "# Summary {#sec-summary .unnumbered}\n\n"
    "The harbour authority counted ferries crossing the bay every morning.\n",
    "01-ports.md": FRONT.format(title="Ports") + "# Ports {#sec-ports}\n\n"
    "## Quays {#sec-quays}\n\nThree cranes were installed on the northern quay.[^n1]\n\n"
    "[^n1]: The harbour board minutes record the installation.\n\n"
    '::: {marking="TLP:AMBER"}\nThe zqrpilot rotation at the eastern zqrberth changes weekly on Tuesdays.\n\n'
    '::: {.tearline marking="TLP:CLEAR"}\nPilot rotations are reviewed regularly.\n:::\n:::\n',
    "02-review.md": FRONT.format(title="Review") + "# Review {#sec-review}\n\n"
    "## Budgets {#sec-budgets}\n\nBudgets were studied closely [@smith2010, 4].\n\n"
    "Timetables followed [@jones2011, 7].\n",
}

BIB = BASE_BIB + """
@book{unused2005,
  author = {Lee, Cara},
  title = {Lighthouse Keeping},
  publisher = {Dock Press},
  year = {2005},
  unverified = {publisher},
}
"""

NEW_SOURCE = """
@article{harbour2015,
  author = {Moss, Dana},
  title = {Ferry Lanes after the Breakwater},
  journal = {Journal of Coastal Transport},
  year = {2015},
}
"""


def git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                         env={**os.environ, **GIT_ENV}, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def write_project(root: Path) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "bibliography").mkdir()
    (root / "mkdocs.yml").write_text(CONFIG, encoding="utf-8")
    for name, text in CHAPTERS.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    (root / "bibliography" / "refs.bib").write_text(BIB, encoding="utf-8")
    (root / ".gitignore").write_text("/site/\n/build/\n/published/\n", encoding="utf-8")
    return root


@pytest.fixture
def clone(tmp_path, monkeypatch) -> Path:
    """A temporary clone of a small scan repository (the origin has one commit)."""
    for k, v in GIT_ENV.items():
        monkeypatch.setenv(k, v)
    origin = write_project(tmp_path / "origin")
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", ".")
    git(origin, "commit", "-q", "-m", "the 2012 scan")
    work = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True, timeout=60)
    return work


def envscan(root: Path, *args: str) -> subprocess.CompletedProcess:
    return cli(*args, "-C", str(root))


# the fixture keeps an uncited, unverified entry (for the bibliography audit): accepted at release
WAIVE = ("--waive", "W-BIB-UNCITED", "--waive", "W-BIB-UNVERIFIED")


# --------------------------------------------------------------------------- the whole cycle


def test_whole_cycle_in_a_temporary_clone(clone):
    root = clone
    # release 2012: refused without a sign-off, pointing at the redline
    r = envscan(root, "release", "--no-pdf")
    assert r.returncode == 1 and "E-RELEASE-CHECK" in r.stderr and "W-BIB-UNCITED" in r.stderr
    r = envscan(root, "release", "--no-pdf", *WAIVE)
    assert r.returncode == 2, r.stderr
    assert "E-RELEASE-SIGNOFF" in r.stderr and "build/redline/redline-2012.html" in r.stderr
    redline = (root / "build/redline/redline-2012.html").read_text(encoding="utf-8")
    assert "zqrpilot rotation" in redline and "Pilot rotations are reviewed regularly." in redline
    # the review chapter cites 2010 and 2011 works: inside 2008-2012, so strict check passes
    r = envscan(root, "release", "--no-pdf", "--sign-off", "Harbour Master", *WAIVE)
    assert r.returncode == 0, r.stdout + r.stderr
    manifest = json.loads((root / "releases/2012.json").read_text(encoding="utf-8"))
    assert manifest["year"] == "2012" and manifest["tag"] == "edition/2012"
    assert manifest["sign_off"]["name"] == "Harbour Master"
    assert len(manifest["sign_off"]["redline_sha256"]) == 64
    assert manifest["source_commit"] == git(root, "rev-parse", "HEAD~1").strip()
    pub = manifest["outputs"]["public"]
    assert pub["marking"] == "TLP:CLEAR" and "index.html" in pub["files"]
    assert pub["sanitisation"]["totals"]["block"]["count"] == 1
    assert manifest["outputs"]["restricted"]["marking"] == "TLP:RED"
    assert "edition/2012" in git(root, "tag", "--list")
    assert "releases/2012.json" in git(root, "show", "--name-only", "--format=", "edition/2012")
    # the redline and changes pages are restricted-only
    assert (root / "site/restricted/release-redline.html").is_file()
    assert not (root / "site/public/release-redline.html").exists()
    # verify: site/ and the published target match; a changed file is found
    r = envscan(root, "verify")
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
    r = envscan(root, "verify", str(root / "published/public"))
    assert r.returncode == 0, r.stdout + r.stderr
    page = root / "site/public/index.html"
    page.write_text(page.read_text(encoding="utf-8") + "<!-- edited -->", encoding="utf-8")
    r = envscan(root, "verify")
    assert r.returncode == 1 and "E-VERIFY-CHANGED" in r.stderr and "index.html" in r.stderr

    # start 2016: metadata, carried-over chapters, changelog
    r = envscan(root, "edition", "start", "2016", "--due", "2016-11-30")
    assert r.returncode == 0, r.stdout + r.stderr
    project, _ = load_project(root)
    assert project is not None
    rep = project.config.report
    assert (rep.year, rep.period, rep.due, rep.title) == ("2016", "2012–2016", "2016-11-30", "Harbour Scan 2016")
    assert {ch.status for ch in project.chapters if ch.name != "changelog-2016.md"} == {"carried-over"}
    assert project.chapters[-1].name == "changelog-2016.md"
    assert "# Harbour" not in (root / "mkdocs.yml").read_text(encoding="utf-8")  # comments/guard untouched
    # edit a chapter and add a source
    review = root / "docs/02-review.md"
    review.write_text(review.read_text(encoding="utf-8").replace("status: carried-over", "status: draft")
                      .replace("## Budgets {#sec-budgets}", "## Harbour budgets {#sec-budgets}")
                      + "\n## Ferry lanes {#sec-lanes}\n\nLanes moved after the breakwater [@harbour2015, 3].\n",
                      encoding="utf-8")
    with open(root / "bibliography/refs.bib", "a", encoding="utf-8") as f:
        f.write(NEW_SOURCE)
    # diff 2012..working
    r = envscan(root, "diff")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "changes from edition/2012 to working tree" in out
    assert "section added    #sec-lanes “Ferry lanes”" in out
    assert "section renamed  #sec-budgets “Budgets” → “Harbour budgets”" in out
    assert "+@harbour2015" in out and "docs/changelog-2016.md" in out and "(added)" in out
    # check reports the review window (2010 and 2011 are outside 2012-2016) and carried-over chapters
    diags, _ = run_check(root)
    window = [line(d) for d in diags if d.code == "W-CYCLE-REVIEW-WINDOW"]
    assert len(window) == 2 and any("@smith2010, which published 2010" in w for w in window), window
    assert any(d.code == "W-CYCLE-CARRIED-OVER" for d in diags)
    # release 2016 is refused while the tree is dirty, then while check --strict fails
    r = envscan(root, "release", "--no-pdf", "--sign-off", "Harbour Master")
    assert r.returncode == 2 and "E-RELEASE-DIRTY" in r.stderr
    for ch in root.glob("docs/*.md"):
        ch.write_text(ch.read_text(encoding="utf-8").replace("status: carried-over", "status: final"),
                      encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "2016 edition")
    r = envscan(root, "release", "--no-pdf", "--sign-off", "Harbour Master", *WAIVE)
    assert r.returncode == 1 and "W-CYCLE-REVIEW-WINDOW" in r.stderr
    r = envscan(root, "release", "--no-pdf", "--sign-off", "Harbour Master", *WAIVE, "--waive", "W-CYCLE-REVIEW-WINDOW")
    assert r.returncode == 0, r.stdout + r.stderr
    m16 = json.loads((root / "releases/2016.json").read_text(encoding="utf-8"))
    assert m16["waived"]["W-CYCLE-REVIEW-WINDOW"] == 2 and m16["period"] == "2012–2016"
    # the restricted 2016 site has the changes page; the public one has neither page
    assert "sec-lanes" in (root / "site/restricted/release-changes.html").read_text(encoding="utf-8")
    assert not list((root / "site/public").glob("release-*.html"))
    # both editions in the public multi-edition site; no restricted edition listed there
    public = root / "published/public"
    versions = json.loads((public / "versions.json").read_text(encoding="utf-8"))
    assert [v["version"] for v in versions] == ["2016", "2012"] and versions[0]["aliases"] == ["latest"]
    assert (public / "2012/index.html").is_file() and (public / "2016/index.html").is_file()
    assert "url=2016/" in (public / "index.html").read_text(encoding="utf-8")
    for y in ("2012", "2016"):
        assert (public / y / ".envscan-output").read_text(encoding="utf-8").strip().endswith("public")
        assert not list((public / y).glob("release-*.html"))
        assert '"provider": "mike"' in (public / y / "index.html").read_text(encoding="utf-8")
    listing = (public / "versions.json").read_text(encoding="utf-8") + "".join(p.name for p in public.iterdir())
    assert "restricted" not in listing
    restricted = json.loads((root / "published/restricted/versions.json").read_text(encoding="utf-8"))
    assert [v["version"] for v in restricted] == ["2016", "2012"]
    r = envscan(root, "verify", str(public))
    assert r.returncode == 0 and r.stdout.count("OK") == 2, r.stdout + r.stderr


# --------------------------------------------------------------------------- pieces


def test_edition_start_refuses_an_unreleased_edition_unless_forced(clone):
    r = envscan(clone, "edition", "start", "2016")
    assert r.returncode == 2 and "E-EDITION-UNRELEASED" in r.stderr
    r = envscan(clone, "edition", "start", "2016", "--force")
    assert r.returncode == 0, r.stderr
    assert (clone / "docs/changelog-2016.md").is_file()
    diags, _ = run_check(clone)
    assert not [d for d in diags if d.severity == "error"], [line(d) for d in diags]


def test_release_refuses_a_dirty_tree_and_a_changed_redline(clone):
    (clone / "docs/index.md").write_text(CHAPTERS["index.md"] + "\nMore gulls.\n", encoding="utf-8")
    r = envscan(clone, "release", "--no-pdf", "--sign-off", "Harbour Master")
    assert r.returncode == 2 and "E-RELEASE-DIRTY" in r.stderr and "docs/index.md" in r.stderr
    git(clone, "checkout", "--", "docs/index.md")
    r = envscan(clone, "release", "--no-pdf", "--sign-off", "Harbour Master", "--redline-sha256", "0" * 64, *WAIVE)
    assert r.returncode == 2 and "E-RELEASE-REDLINE" in r.stderr
    assert not (clone / "releases").exists() and "edition/2012" not in git(clone, "tag", "--list")


def test_redline_lists_removed_passages_with_tearline_and_position(tmp_path):
    root = write_project(tmp_path / "p")
    project, _ = load_project(root)
    eds = project.config.editions
    rl = compute_redline(project.source, eds["restricted"], eds["public"])
    (ch,) = rl.chapters
    (p,) = ch.passages
    assert (p.kind, p.marking, p.path, p.line) == ("block", "TLP:AMBER", "docs/01-ports.md", 16)
    assert "zqrberth" in p.text and "Pilot rotations" not in p.text
    assert p.replacement == "Pilot rotations are reviewed regularly."


def test_restricted_pages_never_reach_the_public_edition(tmp_path):
    from envscan.cycle_pages import STATEMENT, add_cycle_pages
    from envscan.edition import assemble

    root = write_project(tmp_path / "p")
    project, _ = load_project(root)
    eds = project.config.editions
    aes = [assemble(project.source, eds[n], render=False)[0] for n in ("public", "restricted")]
    add_cycle_pages(project, aes)
    public, restricted = aes
    assert "release-redline.md" in [p.name for p in restricted.pages]
    assert not [p for p in public.pages if p.name.startswith("release-")]
    # the gate would stop a public build that carried the page
    from envscan.gate import Gate

    gate = Gate(public.restricted)
    page = next(p for p in restricted.pages if p.name == "release-redline.md")
    assert STATEMENT in page.html and not page.in_pdf
    assert gate.scan_text(page.html, "release-redline.html")


def test_diff_counts_words_notes_citations_and_markings(tmp_path):
    from envscan.config import load_config

    cfg = load_config(CONFIG)[0]
    old = CHAPTERS["01-ports.md"]
    new = (old.replace("Three cranes were installed", "Four cranes were installed")
           .replace("[^n1]: The harbour", "[^n2]: The harbour").replace("quay.[^n1]", "quay.[^n2] [@smith2010, 2]")
           .replace('::: {marking="TLP:AMBER"}', '::: {marking="TLP:RED"}'))
    a = State("a", cfg.scheme, {"01-ports.md": ("docs/01-ports.md", old)}, {"smith2010"})
    b = State("b", cfg.scheme, {"01-ports.md": ("docs/01-ports.md", new)}, {"smith2010", "harbour2015"})
    d = diff_states(a, b)
    (c,) = d.chapters
    assert c.notes_added == ("n2",) and c.notes_removed == ("n1",)
    assert c.cites_added == ("smith2010",) and c.words_added >= 1 and c.words_removed >= 1
    assert [(m.what, m.old, m.new) for m in c.markings] == [("block", "TLP:AMBER", "TLP:RED")]
    assert d.bib_added == ("harbour2015",)
    assert "marking block in sec-quays: TLP:AMBER → TLP:RED" in diff_text(d)
    assert word_changes("a b c\nd e f\n", "a b c\nd x f\n") == (1, 1)


def test_bib_audit_and_helpers(tmp_path):
    root = write_project(tmp_path / "p")
    project, _ = load_project(root)
    audit = {(a.key, a.problem) for a in bib_audit(project.source, {"2008": {"unused2005"}})}
    assert audit == {("unused2005", "older-only"), ("unused2005", "unverified")}
    audit = {(a.key, a.problem) for a in bib_audit(project.source, {})}
    assert ("unused2005", "uncited") in audit
    assert period_years("2012–2016") == (2012, 2016) and period_years("2016") is None
    assert set_status("---\ntitle: A\nstatus: final\n---\n# A\n", "carried-over") == \
        "---\ntitle: A\nstatus: carried-over\n---\n# A\n"
    r = cli("bib-audit", "-C", str(root))
    assert r.returncode == 0 and "@unused2005" in r.stdout


@pytest.mark.parametrize("targets", [
    {"public": "published/public", "restricted": "site/public/archive"},  # the restricted one inside site/public
    {"public": "published/public", "restricted": "published/public/../public/archive"},  # nested, spelt oddly
    {"public": "published", "restricted": "published/restricted"},  # one target around the other
    {"public": "docs/published", "restricted": "published/restricted"},  # inside the sources
])
def test_publish_targets_never_inside_another_edition_or_the_sources(tmp_path, targets):
    from envscan.release import check_targets

    (tmp_path / "site" / "public").mkdir(parents=True)
    diags = check_targets(tmp_path, targets)
    assert [d.code for d in diags] and all(d.code == "E-PUBLISH-TARGET" for d in diags)
    assert check_targets(tmp_path, {"public": "published/public", "restricted": "published/restricted"}) == []
