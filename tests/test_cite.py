"""House style: short forms, locators, Ibid. positions (CSL rules), a/b disambiguation."""

from __future__ import annotations

import re

from pybtex.database import parse_string

from envscan.bib import Bibliography
from envscan.cite import Styler, format_locator, ibid_positions, render_item
from envscan.model import CiteRef

BIB = r"""
@article{wood2011, author = {Wood, Heather}, title = {A study of harbours}, journal = {J}, year = {2011}}
@article{elliott2011, author = {Elliott, Ian A. and Ashfield, Sherry}, title = {T}, journal = {J}, year = {2011}}
@article{holt2010, author = {Holt, T. and Blevins, K. and Burkert, N.}, title = {T}, journal = {J}, year = {2010}}
@article{delong2010, author = {DeLong and others}, title = {T}, journal = {J}, year = {2010}}
@incollection{carr2012, author = {Carr, John}, title = {A chapter}, booktitle = {A volume},
  editor = {Quayle, Ethel and Ribisl, Kurt}, publisher = {P}, year = {2012}}
@article{liv2011a, author = {Livingstone, S. and Haddon, L. and G{\"o}rzig, A.}, title = {A}, journal = {J}, year = {2011}}
@article{liv2011b, author = {Livingstone, S. and Haddon, L. and Olafsson, K.}, title = {B}, journal = {J}, year = {2011}}
"""


def styler(cited=None, et_al_min=3):
    data = parse_string(BIB, "bibtex")
    bib = Bibliography(entries=dict(data.entries))
    return Styler(bib, cited or list(bib.entries), et_al_min)


def link(key, text):
    return text


def test_short_forms():
    st = styler()
    assert render_item(st, CiteRef("wood2011", locator="130"), "first", link, True) == "Wood (2011) 130"
    assert render_item(st, CiteRef("elliott2011", locator="93"), "first", link, True) == \
        "Elliott & Ashfield (2011) 93"
    assert render_item(st, CiteRef("holt2010", locator="8"), "first", link, True) == "Holt et al. (2010) 8"
    assert render_item(st, CiteRef("delong2010", locator="67"), "first", link, True) == "DeLong et al. (2010) 67"
    assert render_item(st, CiteRef("carr2012", locator="97"), "first", link, True) == \
        "Carr (2012) 97 in Quayle & Ribisl"


def test_et_al_threshold_configurable():
    st = styler(et_al_min=4)
    assert render_item(st, CiteRef("holt2010"), "first", link, True) == "Holt, Blevins & Burkert (2010)"


def test_prefix_suffix_and_capitalisation():
    st = styler()
    assert render_item(st, CiteRef("wood2011", prefix="cf.", locator="130"), "first", link, True) == \
        "Cf. Wood (2011) 130"
    assert render_item(st, CiteRef("wood2011", prefix="see also", locator="12", suffix="passim"), "first", link,
                       False) == "see also Wood (2011) 12 passim"
    assert render_item(st, CiteRef("wood2011", suppress_author=True, locator="88"), "first", link, False) == \
        "(2011) 88"


def test_disambiguation_per_cited_set():
    st = styler(["liv2011a", "liv2011b"])
    assert st.label("liv2011a") == ("Livingstone et al.", "2011a")
    assert st.label("liv2011b") == ("Livingstone et al.", "2011b")
    only_one = styler(["liv2011b"])
    assert only_one.label("liv2011b") == ("Livingstone et al.", "2011")


def test_locators():
    assert format_locator("pp. 130-131") == "130–131"
    assert format_locator("130") == "130"
    assert format_locator("39, 41") == "39, 41"
    assert format_locator("131f., 135") == "131f., 135"


def c(key, loc=""):
    return CiteRef(key, locator=loc)


def test_ibid_rules():
    notes = [
        [c("wood2011", "130")],                  # first
        [c("wood2011", "130")],                  # same locator -> Ibid.
        [c("wood2011", "131")],                  # other locator -> Ibid. 131
        [c("wood2011")],                         # previous had a locator, this none -> short form
        [c("wood2011", "5"), c("holt2010", "4")],  # ibid-locator (prev only cite), then first
        [c("holt2010", "4")],                    # previous note had two cites -> not ibid
        [c("holt2010", "4"), c("holt2010", "6")],  # same note: second is Ibid. 6
        [],                                      # a note without cites breaks the chain
        [c("holt2010", "6")],
    ]
    assert ibid_positions(notes) == [
        ["first"], ["ibid"], ["ibid-locator"], ["subsequent"], ["ibid-locator", "first"], ["first"],
        ["ibid", "ibid-locator"], [], ["first"],
    ]


def test_ibid_chapter_boundary():
    notes = [[c("wood2011", "1")], [c("wood2011", "1")]]
    assert ibid_positions(notes, {1}) == [["first"], ["first"]]


def test_ibid_rendering():
    st = styler()
    assert render_item(st, c("wood2011", "131"), "ibid-locator", link, True) == "Ibid. 131"
    assert render_item(st, c("wood2011", "131"), "ibid", link, True) == "Ibid."
    assert render_item(st, CiteRef("wood2011", prefix="cf.", locator="2"), "ibid-locator", link, True) == \
        "Cf. ibid. 2"


def test_reference_entries():
    from envscan.cite import format_reference_html

    data = parse_string(r"""
@article{full2009, author = {Bourke, Michael L. and Hernandez, Andres E.}, title = {A harbour study},
  journal = {Journal of Ports}, volume = {24}, number = {3}, pages = {183--191}, year = {2009},
  annote = {Identified from the publisher's record; an editor's remark.}}
@article{part2010, author = {Baumgartner and others}, year = {2010}, unverified = {title, journal}}
""", "bibtex")
    bib = Bibliography(entries=dict(data.entries))
    st = Styler(bib, list(bib.entries))
    full = format_reference_html(st, "full2009")
    assert full.startswith("<strong>Bourke &amp; Hernandez (2009)</strong>")
    assert "Journal of Ports" in full and "183–191" in full
    assert "editor's remark" not in full  # annote is for editors, never printed
    part = format_reference_html(st, "part2010")
    assert "Baumgartner et al. 2010." in part and "others" not in part
    cache: dict[str, str] = {}
    assert format_reference_html(st, "full2009", cache) == full and len(cache) == 1


def test_no_double_full_stop_after_generated_ibid(tmp_path):
    """'[@key, 4].' after a note citing the same page renders 'Ibid.' with one full stop."""
    from edition_helpers import chapter, make_project

    from envscan.edition import assemble
    from envscan.project import load_project

    body = ("# Harbour Review {#sec-review}\n\nThe budget grew.[^a] It grew again.[^b]\n\n"
            "[^a]: [@smith2010, 4]\n[^b]: [@smith2010, 4].\n")
    root = make_project(tmp_path, {"index.md": chapter(body)})
    project, _ = load_project(root)
    ae, diags = assemble(project, project.config.editions["public"])
    assert not [d for d in diags if d.severity == "error"]
    text = re.sub(r"<[^>]+>", "", ae.notes[1].html)
    assert text == "Ibid.", ae.notes[1].html  # the source's own full stop, not a second one
