"""Fail closed outside the sources (issue 8, class 8), written as an attacker would.

Where a build writes and what it may replace: ``--out`` is refused before anything is touched
when it is the project, ``docs/``, ``/``, a file, inside a published folder or an existing
folder envscan did not create; an edition folder is replaced only when envscan's marker says
envscan created it for that edition; temporary trees live in ``build/tmp/`` (a killed build
leaves no edition text under ``site/``; the next run removes the dead tree); reports never go
under ``--out``. Plain MkDocs refuses also through a config that ``INHERIT``s mkdocs.yml, and
``serve`` binds beyond loopback only with ``--expose``, naming the edition.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import chapter, cli, make_project, mkdocs_yml
from edition_helpers import canary_hits, tree_hashes

import envscan.outputs as outputs
import envscan.site
from envscan.outputs import MARKER, marker_edition, validate_out, write_marker
from envscan.pipeline import build_project
from envscan.serve import is_loopback

REPO = Path(__file__).resolve().parent.parent
GUARD = "envscan_guard: !!python/object/apply:envscan.mkdocs_plugin.refuse_plain_mkdocs []\n"
CANARY = "zqrferrysecret"
BODY = chapter("# Harbour\n\nThe harbour authority reviewed its budget for the new ferry berth.\n\n"
               '::: {marking="TLP:AMBER"}\n'
               f"The night ferry to the outer islands carries the sealed budget papers {CANARY}.\n"
               ":::\n")


def _project(base: Path, config: str | None = None) -> Path:
    return make_project(base, {"one.md": BODY}, config=config)


def _snapshot(root: Path) -> dict[str, str]:
    """Every file of the project and around it, for 'nothing was touched'."""
    return tree_hashes(root)


def _codes(res: subprocess.CompletedProcess) -> str:
    return res.stdout + res.stderr


def _forbid_render(monkeypatch):
    """A build that gets past validation fails the test before writing anything."""
    def boom(*a, **k):
        raise AssertionError("render_edition reached: --out was not refused")

    monkeypatch.setattr(envscan.site, "render_edition", boom)
    monkeypatch.setattr(outputs, "clean_stale", boom)


# --------------------------------------------------------------------------- --out refused before anything is touched

@pytest.mark.parametrize("out", [".", "docs", "docs/figures", "bibliography", "..", "build", "build/tmp",
                                 "build/reports"])
def test_out_into_the_sources_is_refused(tmp_path, out):
    root = _project(tmp_path / "scan")
    (root / "build" / "reports").mkdir(parents=True)
    (root / "build" / "tmp").mkdir(parents=True)
    before = _snapshot(tmp_path)
    res = cli("build", "--no-pdf", "-q", "--out", out, cwd=root)
    assert res.returncode == 2, _codes(res)
    assert "error[E-OUT-SOURCE]" in res.stderr, res.stderr
    assert "Traceback" not in _codes(res)
    assert _snapshot(tmp_path) == before, "the sources changed"
    assert not (root / "site").exists()


def test_edition_named_docs_with_out_dot_keeps_the_chapters(tmp_path):
    """The attack that deleted the chapters: an edition named like a folder of the project."""
    cfg = mkdocs_yml(["one.md"]).replace("        restricted:\n", "        docs:\n")
    root = _project(tmp_path, config=cfg)
    before = _snapshot(root)
    res = cli("build", "docs", "--no-pdf", "-q", "--out", ".", cwd=root)
    assert res.returncode == 2, _codes(res)
    assert "error[E-OUT-SOURCE]" in res.stderr and "project folder" in res.stderr
    assert _snapshot(root) == before
    assert (root / "docs" / "one.md").read_text(encoding="utf-8") == BODY


def test_out_filesystem_root_is_refused(tmp_path, monkeypatch):
    root = _project(tmp_path)
    _forbid_render(monkeypatch)
    diags, usage = build_project(root, None, pdf=False, out=Path("/"), quiet=True)
    assert usage and [d.code for d in diags if d.severity == "error"] == ["E-OUT-SOURCE"]
    assert "filesystem root" in diags[-1].message
    assert [d.code for d in validate_out(root, Path("/"), ["public"])] == ["E-OUT-SOURCE"]


def test_out_inside_a_published_folder_is_refused(tmp_path, monkeypatch):
    root = _project(tmp_path)
    # before the public edition exists: site/public is still its folder
    _forbid_render(monkeypatch)
    for out in ("site/public", "site/public/restricted", "site/restricted/extra"):
        diags, usage = build_project(root, ["restricted"], pdf=False, out=root / out, quiet=True)
        assert usage and "E-OUT-PUBLISHED" in {d.code for d in diags}, (out, diags)
    monkeypatch.undo()
    res = cli("build", "public", "--no-pdf", "-q", cwd=root)
    assert res.returncode == 0, res.stderr
    # a published folder anywhere (marked), e.g. a custom --out's edition folder
    assert cli("build", "public", "--no-pdf", "-q", "--out", str(tmp_path / "www"), cwd=root).returncode == 0
    for out in (root / "site" / "public", tmp_path / "www" / "public" / "nested"):
        res = cli("build", "restricted", "--no-pdf", "-q", "--out", str(out), cwd=root)
        assert res.returncode == 2 and "error[E-OUT-PUBLISHED]" in res.stderr, res.stderr
    assert not canary_hits(root / "site", [CANARY]) and not canary_hits(tmp_path / "www", [CANARY])
    assert not (root / "site" / "public" / "restricted").exists()


@pytest.mark.parametrize("target", ["file", "file/sub"])
def test_out_naming_a_file(tmp_path, target):
    root = _project(tmp_path / "scan")
    (tmp_path / "file").write_text("harbour dues\n", encoding="utf-8")
    res = cli("build", "--no-pdf", "-q", "--out", str(tmp_path / target), cwd=root)
    assert res.returncode == 2, _codes(res)
    assert "error[E-OUT-FILE]" in res.stderr and "is a file" in res.stderr, res.stderr
    assert "Traceback" not in _codes(res) and "E-INTERNAL" not in res.stderr
    assert (tmp_path / "file").read_text(encoding="utf-8") == "harbour dues\n"


def test_existing_foreign_folder_is_refused(tmp_path):
    root = _project(tmp_path / "scan")
    www = tmp_path / "www"
    (www / "timetables").mkdir(parents=True)
    (www / "timetables" / "summer.html").write_text("<p>ferries</p>", encoding="utf-8")
    before = _snapshot(www)
    res = cli("build", "--no-pdf", "-q", "--out", str(www), cwd=root)
    assert res.returncode == 2 and "error[E-OUT-FOREIGN]" in res.stderr, res.stderr
    assert "'timetables'" in res.stderr
    assert _snapshot(www) == before and sorted(p.name for p in www.iterdir()) == ["timetables"]


def test_edition_named_like_an_existing_folder_is_not_replaced(tmp_path):
    """An unmarked <out>/<edition> (someone's folder, or an output older than the marker) is
    never replaced, and nothing else is written."""
    cfg = mkdocs_yml(["one.md"]).replace("        public:\n", "        harbour:\n")
    root = _project(tmp_path / "scan", config=cfg)
    www = tmp_path / "www"
    (www / "harbour").mkdir(parents=True)
    (www / "harbour" / "berths.txt").write_text("berth 4: closed\n", encoding="utf-8")
    before = _snapshot(www)
    res = cli("build", "harbour", "--no-pdf", "-q", "--out", str(www), cwd=root)
    assert res.returncode == 2, _codes(res)
    assert "www/harbour/ was not created by envscan" in res.stderr.replace(str(tmp_path) + "/", ""), res.stderr
    assert "hint:" in res.stderr
    assert _snapshot(www) == before
    # a file or a symlink named like the edition
    (www / "harbour" / "berths.txt").unlink()
    (www / "harbour").rmdir()
    (www / "harbour").write_text("berth list\n", encoding="utf-8")
    res = cli("build", "harbour", "--no-pdf", "-q", "--out", str(www), cwd=root)
    assert res.returncode == 2 and "error[E-OUT-FOREIGN]" in res.stderr
    (www / "harbour").unlink()
    (tmp_path / "elsewhere").mkdir()
    (www / "harbour").symlink_to(tmp_path / "elsewhere")
    res = cli("build", "harbour", "--no-pdf", "-q", "--out", str(www), cwd=root)
    assert res.returncode == 2 and "a symlink" in res.stderr, res.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_marker_naming_another_edition_is_not_replaced(tmp_path):
    root = _project(tmp_path / "scan")
    www = tmp_path / "www"
    (www / "public").mkdir(parents=True)
    write_marker(www / "public", "restricted")
    res = cli("build", "public", "--no-pdf", "-q", "--out", str(www), cwd=root)
    assert res.returncode == 2 and "holds edition 'restricted'" in res.stderr, res.stderr


def test_marker_and_rebuild(tmp_path):
    root = _project(tmp_path)
    assert cli("build", "--no-pdf", "-q", cwd=root).returncode == 0
    site = root / "site"
    assert sorted(p.name for p in site.iterdir()) == ["public", "restricted"]
    assert marker_edition(site / "public") == "public" and marker_edition(site / "restricted") == "restricted"
    assert (site / "public" / MARKER).read_text(encoding="utf-8") == "envscan output folder; edition: public\n"
    assert not canary_hits(site / "public", [CANARY])
    # a second build replaces its own folders; the other edition's folder is left alone
    before = tree_hashes(site / "restricted")
    (site / "public" / "stale.html").write_text("<p>old</p>", encoding="utf-8")
    assert cli("build", "public", "--no-pdf", "-q", cwd=root).returncode == 0
    assert not (site / "public" / "stale.html").exists()
    assert tree_hashes(site / "restricted") == before


def test_reports_never_under_out(tmp_path):
    root = _project(tmp_path / "scan")
    www = tmp_path / "www"
    assert cli("build", "--no-pdf", "-q", "--out", str(www), cwd=root).returncode == 0
    assert sorted(p.name for p in www.iterdir()) == ["public", "restricted"]
    assert not [p for p in www.rglob("*") if "sanitisation" in p.name or "_reports" in p.parts]
    reports = root / "build" / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        "public-sanitisation.json", "public-sanitisation.md", "restricted-sanitisation.json",
        "restricted-sanitisation.md"]


# --------------------------------------------------------------------------- temporary trees

def test_temporary_tree_is_outside_out(tmp_path, monkeypatch):
    """Inspect the temporary tree while the build runs: it is under build/tmp/, and an exception
    after the tree is written leaves nothing behind under --out or build/tmp/."""
    root = _project(tmp_path / "scan")
    www = tmp_path / "www"
    seen = {}

    class Boom:
        def run(self, cfg_file, epoch, while_waiting=None):
            work = Path(cfg_file).parent
            seen["work"] = work
            seen["canary"] = bool(canary_hits(work, [CANARY]))
            raise RuntimeError("renderer fell over")

        def close(self):
            pass

    monkeypatch.setattr(envscan.site, "mkdocs_runner", lambda: Boom())
    with pytest.raises(RuntimeError):
        build_project(root, ["restricted"], pdf=False, out=www, quiet=True)
    work = seen["work"]
    assert seen["canary"], "the restricted tree was written"  # so the checks below mean something
    assert work.parent == root / "build" / "tmp"
    assert not work.exists()
    assert not www.exists() or not canary_hits(www, [CANARY])


KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
import envscan.site as site

class Kill:
    def run(self, cfg_file, epoch, while_waiting=None):
        os.kill(os.getpid(), signal.SIGKILL)  # killed after the edition tree is written
    def close(self):
        pass

site.mkdocs_runner = lambda: Kill()
from envscan.pipeline import build_project
build_project(Path(sys.argv[1]), ["restricted"], pdf=False, quiet=True)
"""


def test_killed_build_leaves_no_restricted_text_under_site(tmp_path):
    root = _project(tmp_path / "scan")
    assert cli("build", "public", "--no-pdf", "-q", cwd=root).returncode == 0
    env = dict(os.environ, ENVSCAN_PARALLEL="0")
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(root)], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    site = root / "site"
    assert sorted(p.name for p in site.iterdir()) == ["public"], "something was left beside the published folders"
    assert not canary_hits(site, [CANARY])
    dead = list((root / "build" / "tmp").iterdir())
    assert len(dead) == 1 and canary_hits(dead[0], [CANARY]), "the killed build's tree is in build/tmp/"
    # the next run removes the dead tree (and builds)
    res = cli("build", "--no-pdf", "-q", cwd=root)
    assert res.returncode == 0, res.stderr
    assert list((root / "build" / "tmp").iterdir()) == []
    assert not canary_hits(site / "public", [CANARY])


def test_stale_trees_of_live_builds_and_foreign_files_are_kept(tmp_path):
    root = _project(tmp_path / "scan")
    tmp = root / "build" / "tmp"
    live = tmp / f"restricted-{os.getpid()}-abc123"  # this process: alive
    foreign = tmp / "notes"
    live.mkdir(parents=True)
    foreign.mkdir()
    outputs.clean_stale(root, None)
    assert live.exists() and foreign.exists()


def test_leftover_old_folder_is_cleaned(tmp_path):
    """A build killed between the two renames of the swap leaves '<edition>.old' (marked): it
    does not block the next build, which removes it."""
    root = _project(tmp_path)
    old = root / "site" / "public.old"
    old.mkdir(parents=True)
    write_marker(old, "public")
    assert cli("build", "public", "--no-pdf", "-q", cwd=root).returncode == 0
    assert sorted(p.name for p in (root / "site").iterdir()) == ["public"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_swap_across_filesystems_stages_beside_the_destination(tmp_path, monkeypatch):
    """build/tmp/ and --out on different filesystems: the gated site is copied into a staging
    folder beside its destination and renamed into place; nothing is left behind."""
    import types

    real_stat = os.stat

    class OtherDevice:  # envscan.site's view of os: build/tmp/ is on another device
        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def stat(path, *a, **k):
            st = real_stat(path, *a, **k)
            return types.SimpleNamespace(st_dev=st.st_dev + 1) if "build/tmp" in str(path) else st

    staged = []
    real_staging = outputs.staging_dir
    monkeypatch.setattr(envscan.site, "os", OtherDevice())
    monkeypatch.setattr(outputs, "staging_dir", lambda out, ed: staged.append(real_staging(out, ed)) or staged[-1])
    root = _project(tmp_path / "scan")
    www = tmp_path / "www"
    diags, usage = build_project(root, ["public"], pdf=False, out=www, quiet=True)
    assert not usage and not [d for d in diags if d.severity == "error"], diags
    assert staged and staged[0].parent == www
    assert sorted(p.name for p in www.iterdir()) == ["public"]
    assert marker_edition(www / "public") == "public"


def test_dead_staging_folder_is_cleaned(tmp_path):
    root = _project(tmp_path / "scan")
    www = tmp_path / "www"
    dead = www / f".envscan-staging-restricted-{_dead_pid()}-x1y2"
    (dead / "site").mkdir(parents=True)
    (dead / "site" / "index.html").write_text(f"<p>{CANARY}</p>", encoding="utf-8")
    res = cli("build", "public", "--no-pdf", "-q", "--out", str(www), cwd=root)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in www.iterdir()) == ["public"]


# --------------------------------------------------------------------------- plain MkDocs, also inherited

def _mkdocs(cfg: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(cfg)], capture_output=True,
                          text=True, cwd=cfg.parent, timeout=120)


@pytest.mark.parametrize("plugins", ["plugins: [search]\n", "plugins:\n  search: {}\n", "plugins: []\n",
                                     "plugins: [search]\nhooks: []\nmarkdown_extensions: []\n"])
def test_inherited_config_cannot_render_the_sources(tmp_path, plugins):
    root = _project(tmp_path, config=GUARD + mkdocs_yml(["one.md"]))
    assert not [d for d in cli("check", "-C", str(root)).stdout.splitlines() if "error[" in d]
    child = root / "child.yml"
    child.write_text("INHERIT: mkdocs.yml\nsite_dir: child-site\n" + plugins, encoding="utf-8")
    res = _mkdocs(child)
    assert res.returncode != 0, res.stderr
    assert "envscan build" in res.stderr, res.stderr
    assert not (root / "child-site").exists() or not canary_hits(root / "child-site", [CANARY])
    # and mkdocs.yml itself
    res = _mkdocs(root / "mkdocs.yml")
    assert res.returncode != 0 and "envscan build" in res.stderr
    assert not (root / "site").exists()


def test_inherited_config_without_the_guard_would_leak(tmp_path):
    """Control: the attack the guard stops (the plugin alone is dropped by 'plugins:')."""
    root = _project(tmp_path)
    child = root / "child.yml"
    child.write_text("INHERIT: mkdocs.yml\nsite_dir: child-site\nplugins: [search]\n", encoding="utf-8")
    res = _mkdocs(child)
    assert res.returncode == 0, res.stderr
    assert canary_hits(root / "child-site", [CANARY])


def test_repository_mkdocs_yml_is_guarded_when_inherited(tmp_path):
    child = tmp_path / "child.yml"
    child.write_text(f"INHERIT: {REPO / 'mkdocs.yml'}\ndocs_dir: {REPO / 'docs'}\nsite_dir: {tmp_path / 'out'}\n"
                     "plugins: [search]\n", encoding="utf-8")
    res = _mkdocs(child)
    assert res.returncode != 0 and "envscan build" in res.stderr, res.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- serve beyond loopback

@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "harbour.example.org", "[::]"])
def test_serve_beyond_loopback_needs_expose(tmp_path, host):
    root = _project(tmp_path)
    t0 = time.perf_counter()
    res = cli("serve", "--host", host, "--port", "1", "-C", str(root))
    assert time.perf_counter() - t0 < 30
    assert res.returncode == 2, _codes(res)
    assert "error[E-SERVE-HOST]" in res.stderr and "edition 'restricted'" in res.stderr, res.stderr
    assert "--expose" in res.stderr
    assert not (root / "build" / "preview").exists(), "nothing is assembled before the refusal"
    res = cli("serve", "public", "--host", host, "--port", "1", "-C", str(root))
    assert res.returncode == 2 and "edition 'public'" in res.stderr


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
                                       ("localhost", True), ("LOCALHOST", True), ("0.0.0.0", False), ("::", False),
                                       ("10.0.0.1", False), ("localhost.example.org", False), ("", False)])
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_with_expose_names_the_edition(tmp_path):
    root = _project(tmp_path)
    port = _free_port()
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "envscan.cli", "serve", "--host", "0.0.0.0", "--port", str(port),
                             "--expose", "-C", str(root)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            bufsize=0, env=env)
    try:
        text = ""
        deadline = time.monotonic() + 60
        fd = proc.stderr.fileno()
        while "to the network" not in text and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:  # unbuffered reads: select sees every byte not yet read
                text += os.read(fd, 65536).decode("utf-8", "replace")
        assert "WARNING: serving edition 'restricted'" in text and "TLP:RED" in text, text
        assert "to the network" in text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
