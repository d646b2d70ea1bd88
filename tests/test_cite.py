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
    assert "Baumgartner et al. 2010." in " ".join(part.split()) and "others" not in part
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


# --------------------------------------------------------------------------- issue 10: the print's forms

def test_conjunction_per_context():
    """'and' in running text, '&' in notes (the 2012 print); a Styler takes other settings."""
    st = styler()
    c = CiteRef("elliott2011", locator="93")
    assert render_item(st, c, "first", link, True) == "Elliott & Ashfield (2011) 93"
    assert render_item(st, CiteRef("elliott2011"), "first", link, False, context="text", narrative=True) == \
        "Elliott and Ashfield (2011)"
    other = Styler(st.bib, list(st.bib.entries), 3, {"text": "&", "notes": "and"})
    assert render_item(other, CiteRef("elliott2011"), "first", link, False, context="text", narrative=True) == \
        "Elliott & Ashfield (2011)"
    assert render_item(other, c, "first", link, True) == "Elliott and Ashfield (2011) 93"
    assert st.label("holt2010", "text") == ("Holt et al.", "2010")  # et al. is the same in both


def test_narrative_citation_of_a_chapter_is_author_and_year_only():
    """'in Quayle & Ribisl' belongs to notes and the reference list, never to a sentence."""
    st = styler()
    assert render_item(st, CiteRef("carr2012"), "first", link, False, context="text", narrative=True) == \
        "Carr (2012)"
    assert render_item(st, CiteRef("carr2012", suppress_author=True), "first", link, False, context="text") == \
        "(2012)"
    assert render_item(st, CiteRef("carr2012", suppress_author=True, locator="97"), "first", link, False) == \
        "(2012) 97"
    assert render_item(st, CiteRef("carr2012", locator="97"), "first", link, True) == \
        "Carr (2012) 97 in Quayle & Ribisl"


YEARS = r"""
@article{b2010a, author = {Baum and others}, title = {A}, journal = {J}, year = {2010}, yearsuffix = {none}}
@article{b2010b, author = {Baum and others}, title = {B}, journal = {J}, year = {2010}, yearsuffix = {b}}
@article{l2011a, author = {Liv and others}, title = {A}, journal = {J}, year = {2011}, yearsuffix = {a}}
@article{l2011b, author = {Liv and others}, title = {B}, journal = {J}, year = {2011}, yearsuffix = {b}}
@article{l2011, author = {Liv and others}, title = {C}, journal = {J}, year = {2011}, yearsuffix = {none}}
@article{m2009x, author = {Mann, A.}, title = {X}, journal = {J}, year = {2009}, yearsuffix = {b}}
@article{m2009y, author = {Mann, A.}, title = {Y}, journal = {J}, year = {2009}}
@article{m2009z, author = {Mann, A.}, title = {Z}, journal = {J}, year = {2009}}
@article{s2008, author = {Sole, A.}, title = {S}, journal = {J}, year = {2008}, yearsuffix = {b}}
@incollection{q2012a, author = {Lo, L.}, title = {P}, booktitle = {V}, editor = {Ai, M. and Lo, L.}, publisher = {P},
  year = {2012}, yearsuffix = {none}}
@incollection{q2012b, author = {Lo, L.}, title = {Q}, booktitle = {W}, editor = {Qu, E. and Ri, K.}, publisher = {P},
  year = {2012}, yearsuffix = {none}}
@article{q2012c, author = {Lo, L.}, title = {R}, journal = {J}, year = {2012}, yearsuffix = {none}}
"""


def test_printed_year_forms():
    """An entry states its printed suffix: a letter is kept, 'none' prints no letter, the
    others get the free letters; works then printed alike are reported as ambiguous."""
    data = parse_string(YEARS, "bibtex")
    bib = Bibliography(entries=dict(data.entries))
    st = Styler(bib, list(bib.entries))
    year = {k: st.label(k)[1] for k in bib.entries}
    assert year["b2010a"] == "2010" and year["b2010b"] == "2010b"
    assert (year["l2011a"], year["l2011b"], year["l2011"]) == ("2011a", "2011b", "2011")
    assert (year["m2009x"], year["m2009y"], year["m2009z"]) == ("2009b", "2009a", "2009c")
    assert year["s2008"] == "2008b"  # stated: kept even without a second work of that year
    # the same printed label, but different volumes: told apart in notes; not so the article
    assert render_item(st, CiteRef("q2012a", locator="97"), "first", link, True) == "Lo (2012) 97 in Ai & Lo"
    assert render_item(st, CiteRef("q2012b", locator="142"), "first", link, True) == "Lo (2012) 142 in Qu & Ri"
    assert st.ambiguous == []  # the two chapters and the article differ in their container
    same = Styler(Bibliography(entries=dict(parse_string(YEARS.replace("W}", "V}").replace(
        "editor = {Qu, E. and Ri, K.}", "editor = {Ai, M. and Lo, L.}"), "bibtex").entries)), ["q2012a", "q2012b"])
    assert same.ambiguous == [["q2012a", "q2012b"]]


def test_reference_list_keeps_the_case_of_titles_and_ends_sentences_once():
    """pybtex's plain style lower-cases titles and, patched, printed "et al.."; the house style
    keeps the .bib's case, prints "et al." once and adds no full stop after "?" or "!"."""
    from envscan.cite import format_reference_html

    data = parse_string(r"""
@techreport{eu2011, author = {Liv, S. and Had, L.}, title = {EU Kids Online: final report 2011},
  institution = {LSE}, year = {2011}}
@misc{ch2010, author = {Main and Zgr}, title = {Sexuelle Belästigung im Internet-Chat}, year = {2010}}
@misc{protected, author = {Ann, A.}, title = {A {Harbour} Study of the {ISO} Norm}, year = {2001}}
@article{many2010, author = {Davis and others}, year = {2010}}
@article{ask2011, author = {Brig, P.}, title = {Has the harbour changed?}, journal = {Ports}, year = {2011}}
@techreport{nor2008, author = {Sus, H.}, title = {Hvor stort er problemet?}, institution = {NOVA}, year = {2008}}
@article{wow2009, author = {Exc, E.}, title = {Ferries at last!}, year = {2009}}
@incollection{inc2012, author = {Carr}, editor = {Quay and Rib}, booktitle = {Understanding Harbours}, year = {2012}}
@incollection{bare2009, author = {Bry}, year = {2009}}
""", "bibtex")
    bib = Bibliography(entries=dict(data.entries))
    st = Styler(bib, list(bib.entries))

    def text(key: str) -> str:
        return " ".join(re.sub(r"<[^>]+>", "", format_reference_html(st, key)).split())

    assert "EU Kids Online: final report 2011." in text("eu2011")
    assert "Sexuelle Belästigung im Internet-Chat." in text("ch2010")
    assert "A Harbour Study of the ISO Norm." in text("protected")
    assert "Davis et al. 2010." in text("many2010") and "et al.." not in text("many2010")
    assert "Has the harbour changed? Ports, 2011." in text("ask2011")
    assert "Hvor stort er problemet? Technical Report, NOVA, 2008." in text("nor2008")
    assert "Ferries at last! 2009." in text("wow2009")
    assert "In Quay and Rib, editors, Understanding Harbours. 2012." in text("inc2012")
    assert text("bare2009").endswith("Bry. 2009.")  # no dangling "In"
    assert not [k for k in bib.entries if re.search(r"[.?!]\.|\?\s*\.", text(k))]


def test_reference_list_fallback_keeps_the_rules():
    """A record the house style cannot format (here: no year) is still listed by the fallback,
    with the same rules: one full stop after "et al.", none after "?"."""
    from envscan.cite import _fallback

    e = parse_string(r"@article{x, author = {Davis and others}, title = {Has the harbour changed?}}",
                     "bibtex").entries["x"]
    assert _fallback(e) == "Davis et al. Has the harbour changed?"
