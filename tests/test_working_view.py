"""A working view (``editor_notes: true``) shows editor notes, marked as such; no other edition does."""

from __future__ import annotations

from edition_helpers import build, canary_hits, chapter, config_yml, errors, make_project, show, tree_text

WORKING = ("        working:\n          max: TLP:RED\n          title: Working view\n"
           "          editor_notes: true\n          pdf: false\n")

BODY = ("# Harbour Review {#sec-review}\n\nThe harbour authority reviewed its budget.[^a]\n\n"
        "::: {.editor}\nCheck the berth figures zqredblock against the ledger.\n:::\n\n"
        "[^a]: The budget was approved in March. [Confirm the month zqredspan with the clerk.]{.editor}\n")


def test_working_view_shows_editor_notes_only_there(tmp_path):
    root = make_project(tmp_path / "src", {"index.md": chapter(BODY)}, config=config_yml(["index.md"], envscan=WORKING))
    out = tmp_path / "site"
    diags = build(root, out, ["public", "restricted", "working"])
    assert not errors(diags), show(diags)
    for ed in ("public", "restricted"):
        assert not canary_hits(out / ed, ["zqredblock", "zqredspan"]), ed
    page = tree_text(out / "working")["index.html"]
    assert '<div class="envscan-editor">' in page and "zqredblock" in page
    assert '<span class="envscan-editor">Confirm the month zqredspan' in page  # in the note, as HTML
    assert "&lt;span" not in page
