"""Issue 11: numbered figures. ``![alt text](file.png "caption"){#fig-x}``, alone in its paragraph,
is a figure: "Figure N: caption" under the picture, N counted through the edition after
filtering (like notes), ``@fig-x`` a cross-reference to it. Every other attribute on an image
stays an error (default deny); a marked figure is filtered like any other content.

Neutral synthetic prose; canaries: restricted ones start with ``zqr``, public ones with ``pub``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import check_lines
from edition_helpers import canary_hits, chapter, config_yml, errors, make_project, png, show

RESTRICTED_CANARIES = ["zqrfigalt", "zqrfigcaption", "zqrfigbody", "zqrsecretfile"]


def _project(tmp_path: Path, body: str, files: dict[str, bytes] | None = None) -> Path:
    files = {"figures/a.png": png(), "figures/b.png": png(), **(files or {})}
    config = config_yml(["one.md"]).replace("      pdf: false\n", "")  # with the PDF
    return make_project(tmp_path / "p", {"one.md": chapter(body)}, files=files, config=config)


def _article(out: Path, edition: str, page: str = "one.html") -> str:
    h = (out / edition / page).read_text(encoding="utf-8")
    return h[h.index("<article"):h.index("</article>")]


# ---------------------------------------------------------------- syntax: default deny


def test_figure_syntax_and_what_stays_an_error(tmp_path):
    body = """\
# Harbour {#sec-harbour}

![Chart of crossings per year](figures/a.png "Crossings per year"){#fig-a}

The ferries are counted in a sentence ![Chart](figures/a.png){#fig-b} like this.

![Chart](figures/a.png){#fig-c .wide}

![Chart](figures/a.png){#chart}

![Chart](figures/a.png){width="50%"}

- ![Chart in a list](figures/a.png){#fig-d}

A note.[^n] See @fig-a and @fig-zzz.

![Chart again](figures/b.png){#fig-a}

![](figures/b.png){#fig-f}

[^n]: ![Chart in a note](figures/a.png){#fig-e}
"""
    root = _project(tmp_path, body)
    got = [ln for ln in check_lines(root) if "error[" in ln]
    expect = [
        "docs/one.md:11:39: error[E-FIG-PLACE]",  # in a sentence
        "docs/one.md:13:1: error[E-ATTR-PLACE]",  # an extra class
        "docs/one.md:15:1: error[E-ATTR-PLACE]",  # an id that is not fig-...
        "docs/one.md:17:1: error[E-ATTR-PLACE]",  # any other attribute
        "docs/one.md:19:3: error[E-FIG-PLACE]",  # in a list
        "docs/one.md:21:28: error[E-XREF-UNKNOWN]",  # @fig-zzz
        "docs/one.md:23:1: error[E-XREF-DUPLICATE]",  # fig-a twice
        "docs/one.md:25:1: error[E-IMG-ALT]",  # a figure needs alt text too (in each edition)
        "docs/one.md:25:1: error[E-IMG-ALT]",
        "docs/one.md:27:7: error[E-FIG-PLACE]",  # in a note
    ]
    assert [ln.split(": ", 1)[0] + ": " + ln.split(": ", 2)[1] for ln in got] == expect, "\n".join(got)
    assert not any(ln.startswith("docs/one.md:9:") for ln in got), "a figure alone in its paragraph is fine"


def test_plain_images_keep_their_attribute_rule(tmp_path):
    root = _project(tmp_path, "# Harbour {#sec-harbour}\n\nText ![Chart](figures/a.png){.big} text.\n")
    assert [ln.split(": ", 1)[0] for ln in check_lines(root, "E-")] == ["docs/one.md:9:6"]
    assert "E-ATTR-PLACE" in check_lines(root, "E-")[0]


# ---------------------------------------------------------------- numbering, filtering, canaries

BODY = """\
# Harbour {#sec-harbour}

As @fig-a and @fig-b show, the quay was busy. pubfigtext.

![Bar chart of pubfigalt crossings](figures/a.png "pubfigcaption crossings per year"){#fig-a}

::: {marking="TLP:AMBER"}
The zqrfigbody figure stays in the restricted edition (@fig-secret).

![Chart of zqrfigalt berths](figures/zqrsecretfile.png "zqrfigcaption berths"){#fig-secret}
:::

![Photograph of the north quay](figures/b.png){#fig-b}
"""


@pytest.fixture(scope="module")
def fig_build(tmp_path_factory):
    from envscan.pipeline import build_project

    tmp = tmp_path_factory.mktemp("figs")
    root = _project(tmp, BODY, {"figures/zqrsecretfile.png": png()})
    out = tmp / "out"
    diags, usage = build_project(root, ["public", "restricted"], pdf=True, out=out, quiet=True)
    assert not usage and not errors(diags), show(diags)
    return root, out


def test_figures_are_numbered_per_edition_after_filtering(fig_build):
    _, out = fig_build
    pub, res = _article(out, "public"), _article(out, "restricted")
    numbers = lambda h: re.findall(r'<figure class="envscan-figure" id="(fig-[^"]+)">.*?'  # noqa: E731
                                   r'<span class="figure-label">Figure (\d+)</span>', h, re.S)
    assert numbers(pub) == [("fig-a", "1"), ("fig-b", "2")]
    assert numbers(res) == [("fig-a", "1"), ("fig-secret", "2"), ("fig-b", "3")]
    # the caption is the title; the alt text stays on the image
    assert '<img src="figures/a.png" alt="Bar chart of pubfigalt crossings">' in pub
    assert '<figcaption><span class="figure-label">Figure 1</span>: pubfigcaption crossings per year</figcaption>' in pub
    assert '<figcaption><span class="figure-label">Figure 2</span></figcaption>' in pub  # no caption given
    # cross-references follow the edition's numbers
    assert '<a href="one.html#fig-a">Figure 1</a> and <a href="one.html#fig-b">Figure 2</a>' in pub
    assert '<a href="one.html#fig-b">Figure 3</a>' in res and '<a href="one.html#fig-secret">Figure 2</a>' in res


def test_a_restricted_figure_leaves_no_trace_in_the_public_edition(fig_build):
    _, out = fig_build
    assert canary_hits(out / "public", RESTRICTED_CANARIES) == []
    assert not (out / "public" / "figures" / "zqrsecretfile.png").exists()
    assert {c for _, c in canary_hits(out / "restricted", RESTRICTED_CANARIES)} >= {"zqrfigalt", "zqrfigcaption"}
    # the PDF: its text and its figures' alt text
    pdfs = sorted((out / "public").glob("*.pdf"))
    assert len(pdfs) == 1
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdfs[0]), "-"], capture_output=True, text=True).stdout
        assert "pubfigcaption" in text and not any(c in text for c in RESTRICTED_CANARIES)
    pikepdf = pytest.importorskip("pikepdf")
    with pikepdf.open(pdfs[0]) as pdf:
        alts = [str(o.get("/Alt")) for o in pdf.objects if isinstance(o, pikepdf.Dictionary) and "/Alt" in o]
    assert sorted(alts) == ["Bar chart of pubfigalt crossings", "Photograph of the north quay"]


def test_a_reference_to_a_filtered_figure_is_an_error(tmp_path):
    body = BODY.replace("the quay was busy.", "the quay was busy, and @fig-secret too.")
    root = _project(tmp_path, body, {"figures/zqrsecretfile.png": png()})
    got = check_lines(root, "E-ED")
    assert len(got) == 1 and "E-ED-XREF-FILTERED" in got[0] and "@fig-secret points to a figure" in got[0], got
    assert got[0].startswith("docs/one.md:9:51: "), got
