"""Live preview: the edition is re-assembled on every source change; a broken source keeps the
last good preview and reports diagnostics."""

from __future__ import annotations

import json
import threading

from edition_helpers import chapter, make_project

from envscan.serve import prepare, watch
from envscan.site import PAGES_FILE


def _page(work) -> str:
    """The rendered index page the preview hands MkDocs."""
    return json.loads((work / PAGES_FILE).read_text(encoding="utf-8"))["index.md"]["html"]


def test_prepare_and_reassemble(tmp_path):
    root = make_project(tmp_path / "src", {"index.md": chapter(
        "# Harbour Review {#sec-review}\n\nThe harbour authority reviewed its budget.\n\n"
        "::: {marking=\"TLP:AMBER\"}\nThe pilots zqrpilot met.\n:::\n")})
    work = tmp_path / "preview"
    cfg, diags = prepare(root, "public", work)
    assert cfg is not None and cfg.is_file(), diags
    page = _page(work)
    assert "reviewed its budget" in page and "zqrpilot" not in page  # filtered like the edition

    src = root / "docs" / "index.md"
    events: list = []
    stop = threading.Event()
    t = threading.Thread(target=watch, args=(root, "public", work, events.append, stop, 0.05))
    t.start()
    try:
        stop.wait(0.2)  # the watcher has taken its first snapshot
        src.write_text(src.read_text(encoding="utf-8").replace("its budget", "its harbour budget"), encoding="utf-8")
        for _ in range(100):
            if "its harbour budget" in _page(work):
                break
            stop.wait(0.05)
        assert "its harbour budget" in _page(work)

        # a broken source: diagnostics are reported, the last good preview stays
        src.write_text(src.read_text(encoding="utf-8") + "\n[^missing] text\n", encoding="utf-8")
        for _ in range(100):
            if any(any(d.code == "E-FN-UNDEFINED" for d in ev) for ev in events):
                break
            stop.wait(0.05)
        assert any(any(d.code == "E-FN-UNDEFINED" for d in ev) for ev in events)
        assert "its harbour budget" in _page(work)
    finally:
        stop.set()
        t.join(5)
