"""Live preview: the edition is re-assembled on every source change; a broken source keeps the
last good preview, reports diagnostics in the terminal and shows them in a banner on the page.
The end-to-end test runs ``envscan serve`` as a process against a real server on localhost."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from edition_helpers import chapter, make_project

from envscan.preview import BANNER_CLASS, PreviewSession
from envscan.serve import prepare
from envscan.site import PAGES_FILE

BODY = ("# Harbour Review {#sec-review}\n\nThe harbour authority reviewed its budget.\n\n"
        "::: {marking=\"TLP:AMBER\"}\nThe pilots zqrpilot met.\n:::\n")


def _page(work, name: str = "index.md") -> str:
    """The rendered page the preview hands MkDocs."""
    return json.loads((work / PAGES_FILE).read_text(encoding="utf-8"))[name]["html"]


def test_prepare(tmp_path):
    root = make_project(tmp_path / "src", {"index.md": chapter(BODY)})
    work = tmp_path / "preview"
    cfg, diags = prepare(root, "public", work)
    assert cfg is not None and cfg.is_file(), diags
    page = _page(work)
    assert "reviewed its budget" in page and "zqrpilot" not in page  # filtered like the edition


def test_session_rebuild_keeps_last_good_page(tmp_path):
    root = make_project(tmp_path / "src", {"index.md": chapter(BODY), "second.md": chapter(
        "# Ferries {#sec-ferries}\n\nThe ferry ran twice a day.\n", title="Ferries")})
    work = tmp_path / "preview"
    s = PreviewSession(root, "restricted", work)
    first = s.rebuild()
    assert first.ok and "zqrpilot" in _page(work), first.diagnostics
    # the restricted edition hides editor notes: its banner names codes only (F4 of attack round 2)
    assert s.edition is not None and s.edition.name == "restricted" and not s.full_messages

    src = root / "docs" / "index.md"
    src.write_text(src.read_text(encoding="utf-8").replace("its budget", "its harbour budget"), encoding="utf-8")
    res = s.rebuild()
    assert res.ok and "its harbour budget" in _page(work)
    assert res.changed_pages == ["index.md"]  # the other chapter's page is unchanged

    src.write_text(src.read_text(encoding="utf-8") + "\nA claim.[^missing]\n", encoding="utf-8")
    res = s.rebuild()
    assert not res.ok and any(d.code == "E-FN-UNDEFINED" for d in res.diagnostics)
    page = _page(work)
    assert "its harbour budget" in page and "A claim" not in page  # the last good page
    assert BANNER_CLASS in page and "E-FN-UNDEFINED" in page and "has no definition" not in page
    assert "index.md:" not in page and BANNER_CLASS in _page(work, "second.md")

    src.write_text(src.read_text(encoding="utf-8") + "\n[^missing]: Now defined.\n", encoding="utf-8")
    res = s.rebuild()
    assert res.ok and BANNER_CLASS not in _page(work) and "A claim" in _page(work)


def test_banner_of_a_filtered_edition_names_no_message(tmp_path):
    """Serving the public edition: an error inside restricted content shows its location and
    code only; the message (which may name restricted things) stays in the terminal."""
    root = make_project(tmp_path / "src", {"index.md": chapter(BODY)})
    work = tmp_path / "preview"
    s = PreviewSession(root, "public", work)
    assert s.rebuild().ok
    src = root / "docs" / "index.md"
    src.write_text(src.read_text(encoding="utf-8").replace("zqrpilot met.", "zqrpilot met.[^zqrlabel]"),
                   encoding="utf-8")
    res = s.rebuild()
    assert not res.ok
    page = _page(work)
    assert BANNER_CLASS in page and "E-FN-UNDEFINED" in page
    assert "zqr" not in page and "has no definition" not in page


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return ""


def _until(url: str, pred, timeout: float = 20.0) -> str:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        text = _get(url)
        if pred(text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"{url} never satisfied the condition; last:\n{_get(url)[:2000]}")


def test_serve_end_to_end(tmp_path):
    root = make_project(tmp_path / "src", {"index.md": chapter(BODY)})
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "envscan.cli", "serve", "public", "--port", str(port), "-C",
                             str(root)], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}/index.html"
    try:
        page = _until(url, lambda t: "reviewed its budget" in t, 60)
        assert "zqrpilot" not in page and "livereload" in page  # the public edition, live-reloading

        src = root / "docs" / "index.md"
        text = src.read_text(encoding="utf-8")
        t0 = time.monotonic()
        src.write_text(text.replace("its budget", "its ferry budget"), encoding="utf-8")
        _until(url, lambda t: "its ferry budget" in t)
        assert time.monotonic() - t0 < 10

        # a broken edit: the last good page stays, with the error in a banner
        src.write_text(text.replace("its budget", "its broken budget[^nowhere]"), encoding="utf-8")
        page = _until(url, lambda t: BANNER_CLASS in t)
        assert "its ferry budget" in page and "E-FN-UNDEFINED" in page and "broken" not in page

        src.write_text(text.replace("its budget", "its mended budget"), encoding="utf-8")
        page = _until(url, lambda t: "its mended budget" in t)
        assert BANNER_CLASS not in page
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    err_text = err.decode("utf-8", "replace")
    assert "E-FN-UNDEFINED" in err_text and "has no definition" in err_text  # the terminal has the message
    assert f"http://127.0.0.1:{port}/" in err_text and "'public'" in err_text
