"""The reference list's house style: pybtex's ``plain`` formatting style, amended.

* Titles keep the case written in the .bib (``plain`` lower-cases everything after a title's
  first letter: "Eu kids online", "Sexuelle belästigung"). Case is the record's business.
* BibTeX's ``and others`` prints "et al." as part of the names, so the names' sentence ends
  with that full stop only (``plain`` would print "others.", and patching it afterwards gave
  "et al..").
* A sentence gets no full stop after a title's own "?" or "!" (pybtex's ``sentence`` checks
  the text's last character; the title is never patched afterwards).
* Incomplete records (fields listed in ``unverified``) are listed with what they have: the
  container (journal, book, institution) is optional, and "In" or "Technical Report" appear
  only with what they introduce.

Loaded on first use (``cite._style``): pybtex's template engine is only needed when a
reference list is formatted.
"""

from __future__ import annotations

from typing import Any

from pybtex.richtext import Text
from pybtex.style.formatting import toplevel
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.formatting.unsrt import date, pages
from pybtex.style.template import (FieldIsMissing, field, first_of, join, node, optional, optional_field, sentence,
                                   tag, words)


def _is_others(person: Any) -> bool:
    return not person.first_names and [n.lower() for n in person.last_names] == ["others"]


@node  # type: ignore[untyped-decorator]  # pybtex is untyped
def names_et_al(children: list[Any], context: dict[str, Any], role: str, **kwargs: Any) -> Text:
    """The names in ``role``; a final BibTeX ``others`` becomes "et al." (after the names
    listed, separated by commas)."""
    assert not children
    entry = context["entry"]
    persons = entry.persons.get(role)
    if not persons:
        raise FieldIsMissing(role, entry)
    style = context["style"]
    if not _is_others(persons[-1]):
        return join(**kwargs)[[style.format_name(p, style.abbreviate_names) for p in persons]].format_data(context)
    listed = [style.format_name(p, style.abbreviate_names) for p in persons[:-1]]
    return Text(join(sep=", ")[listed].format_data(context), " et al.") if listed else Text("et al.")


class HouseStyle(PlainStyle):  # type: ignore[misc]  # pybtex is untyped
    """``plain`` with the amendments in the module's docstring."""

    def format_names(self, role: str, as_sentence: bool = True) -> Any:
        formatted = names_et_al(role, sep=", ", sep2=" and ", last_sep=", and ")
        return sentence[formatted] if as_sentence else formatted

    def format_title(self, e: Any, which_field: str, as_sentence: bool = True) -> Any:
        formatted = field(which_field)  # as written: no change of case
        return sentence[formatted] if as_sentence else formatted

    def get_article_template(self, e: Any) -> Any:
        volume = join[field("volume"), optional["(", field("number"), ")"]]
        volume_and_pages = first_of[
            optional[join[volume, ":", pages]],
            optional[volume],
            optional[words["pages", pages]],
        ]
        return toplevel[
            self.format_names("author"),
            optional[self.format_title(e, "title")],
            sentence[optional[tag("em")[field("journal")]], volume_and_pages, date],
            sentence[optional_field("note")],
            self.format_web_refs(e),
        ]

    def get_book_template(self, e: Any) -> Any:
        return toplevel[
            self.format_author_or_editor(e),
            optional[self.format_btitle(e, "title")],
            self.format_volume_and_series(e),
            sentence[optional_field("publisher"), optional_field("address"), self.format_edition(e), date],
            optional[sentence[self.format_isbn(e)]],
            sentence[optional_field("note")],
            self.format_web_refs(e),
        ]

    def get_incollection_template(self, e: Any) -> Any:
        return toplevel[
            sentence[self.format_names("author")],
            optional[self.format_title(e, "title")],
            optional[words[
                "In",
                sentence[
                    optional[self.format_editor(e, as_sentence=False)],
                    self.format_btitle(e, "booktitle", as_sentence=False),
                    self.format_volume_and_series(e, as_sentence=False),
                    self.format_chapter_and_pages(e),
                ],
            ]],
            sentence[optional_field("publisher"), optional_field("address"), self.format_edition(e), date],
            self.format_web_refs(e),
        ]

    def get_techreport_template(self, e: Any) -> Any:
        report = join(sep=", ")[
            words[first_of[optional_field("type"), "Technical Report"], optional_field("number")],
            field("institution"),
        ]
        return toplevel[
            sentence[self.format_names("author")],
            optional[self.format_title(e, "title")],
            sentence[optional[report], optional_field("address"), date],
            sentence[optional_field("note")],
            self.format_web_refs(e),
        ]
