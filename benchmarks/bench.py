#!/usr/bin/env python3
"""envscan benchmark: the performance figures the issues name, as a table of figure, measured,
target, met.

Run from anywhere (``python benchmarks/bench.py`` or ``make bench``); stdlib plus what envscan
itself depends on. Prints the tables and writes ``build/bench/results.json``. The package
measured is the checkout's own (``ROOT/scripts``, put first on every child's ``PYTHONPATH``),
whatever ``pip install -e`` points at; ``--package DIR`` measures another copy (a folder holding
``envscan/``, e.g. an older commit's ``git archive``), ``--snapshot`` a frozen copy of the
checkout's. ``--before RESULTS.json`` adds that earlier run's figures as a "before" column.

What is measured (wall-clock medians; every timed run is preceded by one untimed warm-up run
unless stated otherwise, so byte-compilation and a cold page cache are not counted; children
keep their bytecode in a private cache even when PYTHONDONTWRITEBYTECODE is set):

1. ``envscan check`` as a whole process (``python -m envscan.cli check -C ROOT``), N runs, on the
   repository itself (1x) and on synthetic scans k times its size that this script generates from
   the repository's own chapters (every chapter replicated k times under new names, section ids and
   ``@sec-`` cross-references suffixed per copy, nav extended; mkdocs.yml and bibliography/ copied).
   Reported per KB of Markdown, with a least-squares fit t = a + b*KB (growth must be linear).
   Floors: interpreter start, importing ``envscan.cli`` (what every command pays) and
   ``envscan.cli`` + ``pipeline`` (what ``check`` imports), the slowest imports of a ``check``
   process (``-X importtime``), pybtex parse of the .bib files, markdown-it tokenize of all
   chapters (plain CommonMark, and envscan's own parser with its plugins).
   Targets: 1x <= 0.3 s, 10x <= 1.0 s.
2. Site build: ``envscan build EDITION --no-pdf -q --out TMP`` versus a plain MkDocs project
   holding the same chapters: the scan's docs/ copied as they are, its mkdocs.yml with the same
   theme, nav and markdown_extensions, the envscan guard line and plugin removed and the search
   plugin on, built by ``python -m mkdocs build -q`` (Python-Markdown renders every chapter).
   The two are timed alternately (A B A B ...). envscan renders the chapters itself (markdown-it)
   and hands MkDocs placeholder pages plus the HTML (``Page.html``, through ``mkdocs_hooks``), so
   it should cost no more than MkDocs rendering the Markdown. In-process breakdown of the envscan
   build (load, assemble, leak check, write, MkDocs, gate). Target: ratio <= 1.0 at 1x and 10x.
3. Robust cost: one chapter holding 20,000 marked spans (``[word N]{marking="TLP:AMBER"}`` in
   paragraphs), 20,000 footnotes, 20,000 editor-note blocks, 20,000 tearlines in blocks nested
   200 deep, each at 5,000 / 10,000 / 20,000 items; ``envscan check`` as a whole process (wall,
   CPU, max RSS). Targets: 20,000 spans <= 10 s; every cost linear in the source size: the CPU
   cost per item (least CPU of the runs minus that of the same chapter with no items, over the
   items) at 20,000 items at most 1.3x that at 5,000 (a quadratic cost gives 4x, n log n ~1.2x).
4. PDF: full build (with PDF) minus the --no-pdf build, and ``envscan.pdf.render_pdf`` timed
   directly; peak memory (max RSS of the child process, from ``os.wait4``'s rusage, i.e. the same
   accounting as ``resource.getrusage(RUSAGE_CHILDREN)`` but per child rather than a high-water mark
   over all children) of a full build of all editions with PDF. Targets: PDF <= 15 s, peak <= 500 MB.
5. Leak gate alone: ``Gate.scan_tree`` over the built site (without and with the PDF), with the
   edition's own restricted passages, and with a synthetic restricted set (every 10th paragraph of
   the pages with its words reversed: same vocabulary, so the gate's prefilter cannot skip
   anything, and no hits) for when the source has little restricted content of its own.

Options: --quick (N=3, fewer runs, robust cases at 5,000 and 20,000 only, no PDF above 1x),
--sizes 1,2,5,10, -n N, --build-runs N, --pdf-runs N, --no-pdf, --no-robust, --robust-sizes,
--robust-cases, --robust-runs, --pdf-timeout S, --profile (cProfile of
envscan.pipeline.check_project on the largest scan), --keep (keep the generated scans), --root,
--edition, --package, --snapshot, --before, --results PATH.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
DEFAULT_ROOT = HERE.parent
PY = sys.executable

TARGETS = {
    "check_1x_s": 0.3,
    "check_10x_s": 1.0,
    "build_ratio_1x": 1.0,
    "build_ratio_10x": 1.0,
    "robust_spans_20k_s": 10.0,
    "robust_growth": 1.3,
    "pdf_1x_s": 15.0,
    "peak_rss_mb": 500.0,
}

#: the package folder (holding envscan/) every child imports first; set in main()
PACKAGE_DIR: Path | None = None

class BenchError(RuntimeError):
    pass


# --------------------------------------------------------------------------- set-up checks

def require_deps() -> dict[str, str]:
    """Import what the benchmark needs; a clear message (exit 2) instead of a traceback."""
    missing = []
    versions: dict[str, str] = {}
    try:
        import envscan  # noqa: F401
        import envscan.cli  # noqa: F401
        import envscan.edition  # noqa: F401
        import envscan.gate  # noqa: F401
        import envscan.pipeline  # noqa: F401
        import envscan.project  # noqa: F401
        import envscan.site  # noqa: F401

        versions["envscan"] = getattr(envscan, "__version__", "?")
        versions["envscan_path"] = str(Path(envscan.__file__).resolve().parent)
    except Exception as exc:  # noqa: BLE001 - ImportError or a broken package mid-edit
        missing.append(f"envscan ({type(exc).__name__}: {exc})")
    for mod, dist in (("mkdocs", "mkdocs"), ("material", "mkdocs-material"), ("markdown_it", "markdown-it-py"),
                      ("pybtex", "pybtex"), ("yaml", "pyyaml"), ("weasyprint", "weasyprint")):
        try:
            __import__(mod)
            try:
                from importlib.metadata import version

                versions[dist] = version(dist)
            except Exception:  # noqa: BLE001
                versions[dist] = "?"
        except Exception as exc:  # noqa: BLE001
            if mod == "weasyprint":
                versions[dist] = f"unusable ({type(exc).__name__})"
            else:
                missing.append(f"{mod} ({type(exc).__name__}: {exc})")
    if missing:
        sys.stderr.write(
            "bench: cannot import " + "; ".join(missing) + "\n"
            f"  envscan must be installed in this interpreter ({PY}):\n"
            f"    make deps      (or: {PY} -m pip install -e {DEFAULT_ROOT})\n")
        sys.exit(2)
    return versions


# --------------------------------------------------------------------------- timing helpers

@dataclass
class Run:
    wall: float
    cpu: float  # user + system time of the child (and the grandchildren it waited for)
    rc: int
    maxrss_kb: int
    stdout: str
    stderr: str
    timed_out: bool = False


#: environment of every timed child process; set in main() (see child_env)
CHILD_ENV: dict | None = None


def child_env(pycache: Path | None, package_dir: Path | None = None) -> dict:
    """Children write and reuse bytecode, as on an ordinary machine (PYTHONDONTWRITEBYTECODE would make
    every run recompile envscan's own modules), into a private cache so the source tree is untouched.
    ``package_dir`` goes first on PYTHONPATH: the children run that envscan, not whatever an editable
    install elsewhere points at."""
    env = dict(os.environ)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if package_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package_dir), env.get("PYTHONPATH")]))
    return env


def run_proc(cmd: list[str], timeout: float | None = None, env: dict | None = None, cwd: str | None = None) -> Run:
    """Run one child process; wall time, CPU time, exit code and that child's own max RSS (os.wait4)."""
    env = env if env is not None else CHILD_ENV
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        killed = threading.Event()
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                             start_new_session=True)

        def kill() -> None:
            killed.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)  # only the group this run started
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - t0
        rc = os.waitstatus_to_exitcode(status)
        p.returncode = rc  # reaped by wait4 above
        fo.seek(0)
        fe.seek(0)
        return Run(wall, ru.ru_utime + ru.ru_stime, rc, ru.ru_maxrss, fo.read().decode("utf-8", "replace"),
                   fe.read().decode("utf-8", "replace"), killed.is_set())


def stats(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def _checked_run(label: str, c: list[str], ok_rc: tuple[int, ...]) -> Run:
    r = run_proc(c)
    if r.rc not in ok_rc:
        lines = (r.stderr + r.stdout).strip().splitlines()
        errs = [ln for ln in lines if "error[" in ln or "Error" in ln][:12]
        tail = "\n".join(errs + lines[-3:])
        raise BenchError(f"{label}: exit {r.rc} from {' '.join(c)}\n{tail}")
    return r


def _summary(runs: list[Run]) -> dict:
    out = stats([r.wall for r in runs])
    out["cpu_median"] = statistics.median(r.cpu for r in runs)
    out["cpu_min"] = min(r.cpu for r in runs)
    out["maxrss_mb"] = max(r.maxrss_kb for r in runs) / 1024
    return out


def proc_series(label: str, cmd: Callable[[int], list[str]] | list[str], n: int, warmup: int = 1,
                ok_rc: tuple[int, ...] = (0,), after: Callable[[int], None] | None = None) -> dict:
    """Median of n runs of a child process (after ``warmup`` untimed runs)."""
    runs = []
    for i in range(-warmup, n):
        r = _checked_run(label, cmd(i) if callable(cmd) else cmd, ok_rc)
        if i >= 0:
            runs.append(r)
        if after:
            after(i)
    return _summary(runs)


def paired_series(label_a: str, cmd_a: Callable[[int], list[str]], after_a: Callable[[int], None],
                  label_b: str, cmd_b: Callable[[int], list[str]], after_b: Callable[[int], None],
                  n: int, warmup: int = 1) -> tuple[dict, dict]:
    """Two commands timed alternately (A B A B ...), so that a change in machine load hits both alike."""
    ra, rb = [], []
    for i in range(-warmup, n):
        a = _checked_run(label_a, cmd_a(i), (0,))
        after_a(i)
        b = _checked_run(label_b, cmd_b(i), (0,))
        after_b(i)
        if i >= 0:
            ra.append(a)
            rb.append(b)
    return _summary(ra), _summary(rb)


def fn_series(f: Callable[[], object], n: int, warmup: int = 1) -> dict:
    """In process: wall (perf_counter) and CPU (process_time) medians; CPU is less sensitive to other load."""
    for _ in range(warmup):
        f()
    xs, cs = [], []
    for _ in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        f()
        xs.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    out = stats(xs)
    out["cpu_median"] = statistics.median(cs)
    return out


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- synthetic scans

def _yaml_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def unknown(loader, suffix, node):  # keep !ENV / !!python/name: tags loadable
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader.add_multi_constructor("", unknown)
    return Loader


def read_mkdocs(root: Path) -> tuple[str, dict]:
    import yaml

    text = (root / "mkdocs.yml").read_text(encoding="utf-8")
    return text, yaml.load(text, Loader=_yaml_loader()) or {}


def nav_files(nav) -> list[str]:
    out: list[str] = []
    for item in nav or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for v in item.values():
                if isinstance(v, str):
                    out.append(v)
                elif isinstance(v, list):
                    out += nav_files(v)
    return out


def _copy_name(f: str, c: int) -> str:
    stem, dot, ext = f.rpartition(".")
    return f"{stem}-c{c}.{ext}" if dot else f"{f}-c{c}"


def _copy_nav(nav, c: int):
    out = []
    for item in nav or []:
        if isinstance(item, str):
            out.append(_copy_name(item, c))
        elif isinstance(item, dict):
            d = {}
            for k, v in item.items():
                key = f"{k} (copy {c})"
                d[key] = _copy_name(v, c) if isinstance(v, str) else _copy_nav(v, c) if isinstance(v, list) else v
            out.append(d)
    return out


ID_DEF_RE = re.compile(r"\{#([A-Za-z][\w:-]*)")  # {#sec-x}, {#sec-x .unnumbered}, {#id key=v}


def _replace_nav_block(text: str, nav) -> str:
    import yaml

    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if re.match(r"^nav\s*:", ln)), None)
    new = yaml.safe_dump({"nav": nav}, allow_unicode=True, sort_keys=False, default_flow_style=False, width=1000)
    if start is None:
        return text + ("\n" if not text.endswith("\n") else "") + new
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t-#"):
        end += 1
    return "".join(lines[:start]) + new + ("\n" if end < len(lines) else "") + "".join(lines[end:])


def make_scaled_scan(src: Path, dest: Path, k: int) -> Path:
    """A scan k times the size of ``src``: every chapter replicated k times (copy 1 keeps its name)."""
    cfg_text, raw = read_mkdocs(src)
    docs_dir = raw.get("docs_dir", "docs")
    nav = raw.get("nav") or []
    files = nav_files(nav)
    src_docs = src / docs_dir
    texts = {f: (src_docs / f).read_text(encoding="utf-8") for f in files if (src_docs / f).is_file()}
    ids = sorted({m.group(1) for t in texts.values() for m in ID_DEF_RE.finditer(t)}, key=len, reverse=True)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src_docs, dest / docs_dir, symlinks=True)  # copy 1 + any assets, as they are
    if (src / "bibliography").is_dir():
        shutil.copytree(src / "bibliography", dest / "bibliography", symlinks=True)
    id_alt = "|".join(re.escape(i) for i in ids) or r"(?!)"
    def_re = re.compile(r"\{#(" + id_alt + r")(?![\w:-])")
    xref_re = re.compile(r"(?<![\w@])@(" + id_alt + r")(?![\w-])")
    anchor_re = re.compile(r"\]\(([^)\s#]*)#(" + id_alt + r")(?![\w:-])")
    link_re = re.compile(r"\]\(([^)\s#]+\.md)(?=[)#\s])")
    new_nav = list(nav)
    for c in range(2, k + 1):
        sfx = f"-c{c}"
        for f, t in texts.items():
            t = def_re.sub(lambda m: "{#" + m.group(1) + sfx, t)
            t = xref_re.sub(lambda m: "@" + m.group(1) + sfx, t)
            t = anchor_re.sub(lambda m: f"]({m.group(1)}#{m.group(2)}{sfx}", t)
            t = link_re.sub(lambda m: f"]({_copy_name(m.group(1), c)}" if m.group(1) in texts else m.group(0), t)
            out = dest / docs_dir / _copy_name(f, c)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(t, encoding="utf-8")
        new_nav += _copy_nav(nav, c)
    (dest / "mkdocs.yml").write_text(_replace_nav_block(cfg_text, new_nav), encoding="utf-8")
    return dest


def markdown_bytes(root: Path) -> int:
    _, raw = read_mkdocs(root)
    docs = root / raw.get("docs_dir", "docs")
    return sum((docs / f).stat().st_size for f in nav_files(raw.get("nav")) if (docs / f).is_file())


# --------------------------------------------------------------------------- plain MkDocs baseline

def make_plain_mkdocs_project(scan: Path, dest: Path) -> Path:
    """The honest baseline: a plain MkDocs project holding the scan's chapters. docs/ is copied
    as it is; mkdocs.yml keeps the scan's settings (site, theme, nav, markdown_extensions) minus
    the envscan guard line and the envscan plugin block, with the search plugin on. MkDocs
    (Python-Markdown) renders every chapter itself. Returns the config file."""
    import yaml

    _, raw = read_mkdocs(scan)
    docs_dir = raw.get("docs_dir", "docs")
    cfg = {k: v for k, v in raw.items() if k not in ("envscan_guard", "plugins", "docs_dir", "site_dir", "INHERIT")}
    cfg["docs_dir"] = "docs"
    cfg["plugins"] = ["search"]
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(scan / docs_dir, dest / "docs", symlinks=True)
    cfg_file = dest / "mkdocs.yml"
    cfg_file.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return cfg_file


# --------------------------------------------------------------------------- robust inputs

ROBUST_CASES = ("spans", "footnotes", "editor", "tearlines")
TEARLINE_DEPTH = 200  # nesting of the tearline case (the renderer recurses per level)


def robust_chapter(kind: str, n: int) -> str:
    """One chapter with ``n`` items of one kind, in a plain paragraph setting."""
    parts = [("---\ntitle: Robust input\nmarking: TLP:CLEAR\nstatus: draft\nowners: [bench]\n---\n\n"
              "# Robust input {#sec-robust}\n\n")]
    if kind == "spans":  # ten marked spans per paragraph
        for p in range(0, n, 10):
            parts.append(" ".join(f'Text before [word {i}]{{marking="TLP:AMBER"}} after.'
                                  for i in range(p, min(p + 10, n))) + "\n\n")
    elif kind == "footnotes":  # ten calls per paragraph, the definitions at the end
        for p in range(0, n, 10):
            parts.append(" ".join(f"Claim {i}.[^n{i}]" for i in range(p, min(p + 10, n))) + "\n\n")
        parts += [f"[^n{i}]: Note text number {i}.\n" for i in range(n)]
    elif kind == "editor":  # a paragraph and an editor-note block each
        for i in range(n):
            parts.append(f"Paragraph {i} of the draft.\n\n::: {{.editor}}\nCheck figure {i} with the desk officer."
                         "\n:::\n\n")
    elif kind == "tearlines":  # marked blocks nested TEARLINE_DEPTH deep, each with its tearline
        done = 0
        while done < n:
            depth = min(TEARLINE_DEPTH, n - done)
            for d in range(depth):
                # (the two texts share no distinctive words: no copy of restricted text is visible)
                parts.append(f'::: {{marking="TLP:AMBER"}}\nDetailed original account {done + d}.\n\n'
                             f'::: {{.tearline marking="TLP:CLEAR"}}\nPublic summary {done + d}.\n\n')
            parts.append("Innermost paragraph.\n\n" + ":::\n:::\n\n" * depth)
            done += depth
    else:
        raise ValueError(kind)
    return "".join(parts)


def make_robust_scan(src: Path, dest: Path, kind: str, n: int) -> Path:
    """The repository's mkdocs.yml and bibliography with one chapter: ``robust_chapter(kind, n)``."""
    cfg_text, raw = read_mkdocs(src)
    docs_dir = raw.get("docs_dir", "docs")
    dest.mkdir(parents=True, exist_ok=True)
    if (src / "bibliography").is_dir():
        shutil.copytree(src / "bibliography", dest / "bibliography", symlinks=True)
    (dest / docs_dir).mkdir(parents=True, exist_ok=True)
    (dest / docs_dir / "index.md").write_text(robust_chapter(kind, n), encoding="utf-8")
    (dest / "mkdocs.yml").write_text(_replace_nav_block(cfg_text, [{"Robust input": "index.md"}]), encoding="utf-8")
    return dest


def robust_growth(points: dict[int, dict], base_cpu: float = 0.0) -> float | None:
    """CPU cost per item at the largest size over that at the smallest, the fixed cost (the same
    chapter with no items, ``base_cpu``) taken off first: 1.0 linear; largest/smallest (4.0 for
    5,000 -> 20,000) quadratic."""
    ns = sorted(points)
    if len(ns) < 2:
        return None
    a, b = ns[0], ns[-1]
    # the least CPU of the runs: other load only ever adds to it
    pa = (points[a].get("cpu_min", points[a]["cpu_median"]) - base_cpu) / a
    pb = (points[b].get("cpu_min", points[b]["cpu_median"]) - base_cpu) / b
    return pb / pa if pa > 0 else None


# --------------------------------------------------------------------------- in-process envscan

def load(root: Path):
    from envscan.project import load_project
    from envscan.resolve import resolve

    project, diags = load_project(root)
    if project is None:
        raise BenchError(f"envscan could not load {root}: " + "; ".join(d.message for d in diags[:5]))
    diags += resolve(project.source)
    return project, diags


def edition_of(project, name: str):
    eds = project.config.editions
    if name not in eds:
        raise BenchError(f"no edition {name!r} in {project.root}/mkdocs.yml (have: {', '.join(eds)})")
    return eds[name]


def scan_stats(root: Path, edition: str) -> dict:
    from envscan.diagnostics import ERROR
    from envscan.edition import assemble

    project, diags = load(root)
    ae, d = assemble(project.source, edition_of(project, edition))
    diags += d
    return {
        "markdown_kb": markdown_bytes(root) / 1024,
        "chapters": len(project.chapters),
        "notes": len(ae.notes),
        "sources_in_bib": len(project.bib.entries),
        "sources_cited": len(ae.references),
        "sections": len(ae.sections),
        "restricted_passages": len(ae.restricted),
        "errors": sum(1 for x in diags if x.severity == ERROR),
        "warnings": sum(1 for x in diags if x.severity != ERROR),
    }


def check_breakdown(root: Path, n: int) -> dict:
    """check_project's stages, in process (mirrors envscan.pipeline.check_project)."""
    from envscan.edition import assemble
    from envscan.pipeline import check_project, source_leak_check
    from envscan.project import load_project
    from envscan.resolve import resolve

    stages: dict[str, list[float]] = {"load_project (read+parse+bib)": [], "resolve": [],
                                      "assemble (all editions)": [], "source_leak_check": [],
                                      "check_project total": []}
    clock = time.process_time  # CPU time of this (single-threaded) process: robust to other load
    for i in range(n + 1):
        t0 = clock()
        project, _ = load_project(root)
        t1 = clock()
        resolve(project.source)
        t2 = clock()
        aes = [assemble(project.source, ed, render=False)[0] for ed in project.config.editions.values()]
        t3 = clock()
        for ae in aes:
            source_leak_check(project, ae)
        t4 = clock()
        check_project(root)
        t5 = clock()
        if i:  # first pass is the warm-up
            for key, v in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                stages[key].append(v)
    return {k: statistics.median(v) for k, v in stages.items()}


def floors(root: Path, n: int) -> dict:
    from markdown_it import MarkdownIt
    from pybtex.database.input.bibtex import Parser

    from envscan.mdparse import make_parser

    _, raw = read_mkdocs(root)
    docs = root / raw.get("docs_dir", "docs")
    texts = [(docs / f).read_text(encoding="utf-8") for f in nav_files(raw.get("nav")) if (docs / f).is_file()]
    bibs = [p.read_text(encoding="utf-8") for p in sorted((root / "bibliography").rglob("*.bib"))]
    plain = MarkdownIt("commonmark")
    ours = make_parser()

    def bib() -> None:
        for t in bibs:
            Parser().parse_string(t)

    return {
        "pybtex parse (.bib)": fn_series(bib, n),
        "markdown-it tokenize (commonmark)": fn_series(lambda: [plain.parse(t) for t in texts], n),
        "envscan parser tokenize (markdown-it + plugins)": fn_series(lambda: [ours.parse(t) for t in texts], n),
    }


def import_profile(root: Path, top: int = 12) -> list[dict]:
    """The imports of one ``envscan check`` process (``-X importtime``), slowest cumulative first:
    only top-level packages and envscan's own modules (the rest is inside them)."""
    cmd = [PY, "-X", "importtime", "-m", "envscan.cli", "check", "-C", str(root)]
    run_proc(cmd)  # untimed: byte-compiles what the floors did not import
    r = run_proc(cmd)
    rows = []
    for ln in r.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", ln)
        if not m:
            continue
        self_us, cum_us, indent, name = int(m.group(1)), int(m.group(2)), len(m.group(3)), m.group(4)
        if indent == 1 or name.startswith("envscan"):
            rows.append({"module": name, "cumulative_ms": cum_us / 1000, "self_ms": self_us / 1000, "depth": indent})
    rows.sort(key=lambda x: -x["cumulative_ms"])
    return rows[:top]


def build_breakdown(root: Path, edition: str, n: int) -> dict:
    """envscan build's stages in process (mirrors pipeline.build_project + site.render_edition, no PDF)."""
    from envscan.edition import assemble
    from envscan.gate import Gate
    from envscan.pipeline import source_leak_check
    from envscan.site import run_mkdocs, theme_roots, write_config, write_tree

    keys = ["load+resolve", "assemble", "source_leak_check", "write tree+config", "mkdocs (in process)",
            "leak gate (scan_tree)"]
    acc: dict[str, list[float]] = {k: [] for k in keys}
    clock = time.process_time  # CPU time (MkDocs and the gate are single-threaded)
    for i in range(n + 1):
        work = Path(tempfile.mkdtemp(prefix="envscan-bench-bb-"))
        try:
            ts = [clock()]
            project, _ = load(root)
            ts.append(clock())
            ae, _ = assemble(project.source, edition_of(project, edition), with_pdf=False)
            ts.append(clock())
            source_leak_check(project, ae)
            ts.append(clock())
            docs = write_tree(project, ae, work)
            cfg_file = write_config(project, ae, work, docs, work / "site")
            ts.append(clock())
            d = run_mkdocs(cfg_file)
            if any(x.severity == "error" for x in d):
                raise BenchError(f"MkDocs failed in process: {d[0].message}")
            ts.append(clock())
            Gate(ae.restricted, project.config.gate_allow, trusted_roots=theme_roots()).scan_tree(work / "site")
            ts.append(clock())
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if i:
            for k, a, b in zip(keys, ts, ts[1:]):
                acc[k].append(b - a)
    return {k: statistics.median(v) for k, v in acc.items()}


def synthetic_restricted(ae, every: int = 10) -> list:
    """Every ``every``-th paragraph of the edition's pages with its words reversed (no hits)."""
    from envscan.gate import Restricted

    out = []
    i = 0
    for page in ae.pages:
        for para in re.split(r"</p>|\n\s*\n", page.html):
            words = re.findall(r"[A-Za-z][A-Za-z'’-]+", re.sub(r"<[^>]*>", " ", para))
            if len(words) < 3:
                continue
            i += 1
            if i % every:
                continue
            out.append(Restricted(f"S{len(out) + 1}", " ".join(reversed(words)), f"{page.name}:synthetic",
                                  "TLP:AMBER"))
    return out


def gate_series(ae, allow, site: Path, n: int, warmup: int = 1) -> dict:
    from envscan.gate import Gate
    from envscan.site import theme_roots

    res = {}
    own = Gate(ae.restricted, allow, trusted_roots=theme_roots())
    findings: list = []
    res["own"] = fn_series(lambda: findings.append(len(own.scan_tree(site))), n, warmup)
    res["own"]["findings"] = findings[-1]
    res["own"]["passages"] = len(ae.restricted)
    synth_r = synthetic_restricted(ae)
    synth = Gate(synth_r, allow, trusted_roots=theme_roots())
    sfind: list = []
    res["synthetic"] = fn_series(lambda: sfind.append(len(synth.scan_tree(site))), n, warmup)
    res["synthetic"]["findings"] = sfind[-1]
    res["synthetic"]["passages"] = len(synth_r)
    files = sorted(p for p in site.rglob("*") if p.is_file())
    res["files"] = len(files)
    res["mb"] = sum(p.stat().st_size for p in files) / 2**20
    per_file = []  # one pass, file by file (Gate.scan_bytes), to show where the gate's time goes
    for f in files:
        data = f.read_bytes()
        t0 = time.process_time()
        own.scan_bytes(data, f.relative_to(site).as_posix())
        per_file.append((time.process_time() - t0, f.relative_to(site).as_posix(), len(data) / 1024))
    per_file.sort(reverse=True)
    res["slowest_files"] = [{"file": name, "s": t, "kb": kb} for t, name, kb in per_file[:6]]
    return res


def pdf_direct(root: Path, edition: str, n: int) -> dict:
    """envscan.pdf.render_pdf in process, split into HTML assembly and WeasyPrint."""
    import inspect

    from envscan import pdf as epdf
    from envscan.edition import assemble

    project, _ = load(root)
    ae, _ = assemble(project.source, edition_of(project, edition))
    # render_pdf/build_html take the config (older versions: the project)
    first = project.config if "config" in inspect.signature(epdf.build_html).parameters else project
    work = Path(tempfile.mkdtemp(prefix="envscan-bench-pdf-"))
    try:
        html_t = fn_series(lambda: epdf.build_html(first, ae, 0), n, warmup=0)
        errs: list = []
        total = fn_series(lambda: errs.extend(epdf.render_pdf(first, ae, work / "x.pdf", 0)), n, warmup=0)
        if errs:
            raise BenchError(f"render_pdf: {errs[0].message}")
        return {"build_html": html_t, "render_pdf": total, "pdf_kb": (work / "x.pdf").stat().st_size / 1024}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def profile_check(root: Path, top: int = 15) -> str:
    from envscan.pipeline import check_project

    check_project(root)  # warm imports/caches
    prof = cProfile.Profile()
    prof.enable()
    check_project(root)
    prof.disable()
    s = io.StringIO()
    ps = pstats.Stats(prof, stream=s)
    ps.sort_stats("cumulative").print_stats(top)
    s.write("\n--- by internal time ---\n")
    ps.sort_stats("tottime").print_stats(top)
    return s.getvalue()


# --------------------------------------------------------------------------- the benchmark

def envscan_cmd(*args: str) -> list[str]:
    return [PY, "-m", "envscan.cli", *args]


def linear_fit(xs: list[float], ys: list[float]) -> dict:
    if len(xs) < 2:
        return {}
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys))
    return {"intercept_s": a, "ms_per_kb": b * 1000, "r2": 1 - ss_res / ss_tot if ss_tot else 1.0,
            "max_rel_residual": max(abs(y - (a + b * x)) / y for x, y in zip(xs, ys))}


def git_info(root: Path) -> dict:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")  # read-only: never refresh the index
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, env=env).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, env=env).stdout.strip()
        return {"head": head, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {}


def _sizes(text: str, what: str, ap: argparse.ArgumentParser) -> list[int]:
    try:
        out = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        ap.error(f"{what} takes whole numbers, e.g. 1,2,5,10")
    if not out or out[0] < 1:
        ap.error(f"{what} must be >= 1")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the scan's repository (default: this repo)")
    ap.add_argument("--edition", default="public", help="edition for the build/PDF/gate figures (default: public)")
    ap.add_argument("--sizes", default="1,2,5,10", help="scan sizes as multiples of the repo (default 1,2,5,10)")
    ap.add_argument("--quick", action="store_true", help="N=3, fewer build/PDF/robust runs, no PDF above 1x")
    ap.add_argument("-n", type=int, default=None, help="runs per check/floor figure (default 7, --quick 3)")
    ap.add_argument("--build-runs", type=int, default=None, help="runs per site-build figure (default 5, --quick 3)")
    ap.add_argument("--pdf-runs", type=int, default=None, help="runs of the 1x build with PDF (default 3, --quick 1)")
    ap.add_argument("--build-sizes", default=None,
                    help="sizes for the build/PDF/gate figures (default: 1 and the largest of --sizes)")
    ap.add_argument("--no-pdf", action="store_true", help="skip every PDF figure")
    ap.add_argument("--no-build", action="store_true", help="skip the site-build, PDF and gate figures")
    ap.add_argument("--no-robust", action="store_true", help="skip the robust-input figures")
    ap.add_argument("--robust-sizes", default=None,
                    help="items per robust case (default 5000,10000,20000; --quick 5000,20000)")
    ap.add_argument("--robust-cases", default=",".join(ROBUST_CASES),
                    help=f"robust cases to run (default: {','.join(ROBUST_CASES)})")
    ap.add_argument("--robust-runs", type=int, default=None, help="runs per robust figure (default 3, --quick 1)")
    ap.add_argument("--robust-timeout", type=float, default=120.0, help="a robust check slower than this is killed")
    ap.add_argument("--pdf-timeout", type=float, default=150.0,
                    help="above 1x, a build with PDF slower than this many seconds is killed and skipped")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile envscan.pipeline.check_project on the largest scan (top 15)")
    ap.add_argument("--keep", action="store_true", help="keep the generated scans and outputs")
    ap.add_argument("--package", type=Path, default=None,
                    help="measure the envscan in this folder (holding envscan/) instead of ROOT/scripts")
    ap.add_argument("--snapshot", action="store_true",
                    help="copy the package first and benchmark that copy (in process and in every child), "
                         "so edits made to the package during the run do not mix versions")
    ap.add_argument("--env-bytecode", action="store_true",
                    help="run children with the environment as it is (e.g. PYTHONDONTWRITEBYTECODE honoured) "
                         "instead of a private bytecode cache in build/bench/pycache")
    ap.add_argument("--before", type=Path, default=None,
                    help="results.json of an earlier run: its figures become the table's 'before' column")
    ap.add_argument("--results", type=Path, default=None, help="JSON output (default ROOT/build/bench/results.json)")
    args = ap.parse_args(argv)

    root = args.root.resolve()
    pkg_dir = (args.package.resolve() if args.package else root / "scripts")
    if not (pkg_dir / "envscan" / "__init__.py").is_file():
        if args.package:
            ap.error(f"--package: no envscan/ package in {pkg_dir}")
        pkg_dir = None  # not a checkout of envscan: use the installed package
    snap = None
    if args.snapshot:
        if pkg_dir is None:
            ap.error(f"--snapshot: no package at {root / 'scripts' / 'envscan'}")
        snap = Path(tempfile.mkdtemp(prefix="envscan-bench-snap-"))
        shutil.copytree(pkg_dir / "envscan", snap / "envscan", ignore=shutil.ignore_patterns("__pycache__"))
        pkg_dir = snap
    global PACKAGE_DIR
    PACKAGE_DIR = pkg_dir
    if pkg_dir is not None:
        sys.path.insert(0, str(pkg_dir))
    versions = require_deps()
    from envscan.edition import assemble

    if not (root / "mkdocs.yml").is_file():
        ap.error(f"{root} has no mkdocs.yml")
    sizes = _sizes(args.sizes, "--sizes", ap)
    n = args.n or (3 if args.quick else 7)
    nb = args.build_runs or (3 if args.quick else 5)
    npdf = args.pdf_runs or (1 if args.quick else 3)
    nrob = args.robust_runs or (1 if args.quick else 3)
    bsizes = _sizes(args.build_sizes, "--build-sizes", ap) if args.build_sizes else sorted({sizes[0], sizes[-1]})
    rsizes = _sizes(args.robust_sizes or ("5000,20000" if args.quick else "5000,10000,20000"), "--robust-sizes", ap)
    rcases = [c.strip() for c in args.robust_cases.split(",") if c.strip()]
    bad = [c for c in rcases if c not in ROBUST_CASES]
    if bad:
        ap.error(f"--robust-cases: unknown {', '.join(bad)} (have {', '.join(ROBUST_CASES)})")
    if pkg_dir is not None and Path(versions.get("envscan_path", "")) != (pkg_dir / "envscan").resolve():
        log(f"note: envscan is imported from {versions.get('envscan_path')}, not from {pkg_dir}/envscan")

    global CHILD_ENV
    CHILD_ENV = child_env(None if args.env_bytecode else root / "build" / "bench" / "pycache", pkg_dir)
    tmp = Path(tempfile.mkdtemp(prefix="envscan-bench-"))
    results: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                    "loadavg_start": os.getloadavg()},
        "versions": versions, "git": git_info(root), "package": str(pkg_dir) if pkg_dir else "installed",
        "settings": {"n": n, "build_runs": nb, "pdf_runs": npdf, "robust_runs": nrob, "sizes": sizes,
                     "build_sizes": bsizes, "robust_sizes": rsizes, "robust_cases": rcases,
                     "edition": args.edition, "quick": args.quick, "snapshot": bool(snap),
                     "child_bytecode": "environment" if args.env_bytecode else "private cache (build/bench/pycache)"},
        "targets": TARGETS, "scans": {}, "floors": {}, "imports": [], "check": {}, "check_inprocess": {},
        "robust": {}, "build": {}, "build_inprocess": {}, "pdf": {}, "memory": {}, "gate": {},
    }
    try:
        # ------------------------------------------------------------- scans
        scans: dict[int, Path] = {}
        for k in sorted(set(sizes) | (set() if args.no_build else set(bsizes))):
            if k == 1:
                scans[k] = root
            else:
                log(f"generating the {k}x scan")
                scans[k] = make_scaled_scan(root, tmp / f"scan-{k}x", k)
            st = scan_stats(scans[k], args.edition)
            results["scans"][k] = st
            if st["errors"]:
                raise BenchError(f"the {k}x scan has {st['errors']} error(s) in envscan; its figures would time the "
                                 "error path (run `envscan check -C " + str(scans[k]) + "`)")

        # ------------------------------------------------------------- floors
        log("floors")
        results["floors"]["interpreter start (python -c pass)"] = proc_series("python -c pass", [PY, "-c", "pass"], n)
        results["floors"]["import envscan.cli"] = proc_series("import", [PY, "-c", "import envscan.cli"], n)
        results["floors"]["import envscan.cli + pipeline"] = proc_series(
            "import", [PY, "-c", "import envscan.cli, envscan.pipeline"], n)
        results["imports"] = import_profile(root)
        for k in sizes:
            results["floors"][k] = floors(scans[k], n)

        # ------------------------------------------------------------- check
        for k in sizes:
            log(f"envscan check, {k}x ({n} runs)")
            results["check"][k] = proc_series(f"check {k}x", envscan_cmd("check", "-C", str(scans[k])), n)
            results["check"][k]["ms_per_kb"] = results["check"][k]["median"] * 1000 / results["scans"][k]["markdown_kb"]
            results["check_inprocess"][k] = check_breakdown(scans[k], max(3, n // 2))
        kbs = [results["scans"][k]["markdown_kb"] for k in sizes]
        results["check_fit"] = linear_fit(kbs, [results["check"][k]["median"] for k in sizes])
        results["check_fit_cpu"] = linear_fit(kbs, [results["check"][k]["cpu_median"] for k in sizes])

        # ------------------------------------------------------------- robust inputs
        if not args.no_robust:
            d = make_robust_scan(root, tmp / "robust-none", "spans", 0)
            log(f"robust input: the chapter with no items (the fixed cost), envscan check ({nrob} run(s))")
            results["robust_base"] = proc_series("robust base", envscan_cmd("check", "-C", str(d)), max(nrob, 3),
                                                 ok_rc=(0, 1))
            base_cpu = results["robust_base"]["cpu_min"]
            for case in rcases:
                results["robust"][case] = {}
                for m in rsizes:
                    d = make_robust_scan(root, tmp / f"robust-{case}-{m}", case, m)
                    log(f"robust input: {m} {case}, envscan check ({nrob} run(s))")
                    runs, skipped = [], None
                    for _ in range(nrob):
                        r = run_proc(envscan_cmd("check", "-C", str(d)), timeout=args.robust_timeout)
                        if r.timed_out:
                            skipped = f"> {args.robust_timeout:.0f} s; killed"
                            break
                        if r.rc not in (0, 1):
                            raise BenchError(f"robust {case} {m}: exit {r.rc}\n{(r.stderr + r.stdout)[-2000:]}")
                        runs.append(r)
                    if skipped:
                        results["robust"][case][m] = {"skipped": skipped}
                        continue
                    res = _summary(runs)
                    res["md_kb"] = (d / "docs" / "index.md").stat().st_size / 1024
                    res["exit"] = runs[-1].rc
                    res["errors"] = len(re.findall(r"error\[", runs[-1].stdout))
                    results["robust"][case][m] = res
                    if not args.keep:
                        shutil.rmtree(d, ignore_errors=True)
                done = {m: v for m, v in results["robust"][case].items() if "skipped" not in v}
                results["robust"][case]["growth"] = robust_growth(done, base_cpu)

        # ------------------------------------------------------------- site build vs mkdocs
        outs = tmp / "out"
        for k in ([] if args.no_build else bsizes):
            log(f"site build, {k}x ({nb} runs each: envscan build --no-pdf, plain mkdocs build)")
            keep_site = tmp / f"site-{k}x-nopdf"
            plain_site = tmp / f"mkdocs-site-{k}x"

            def es_cmd(i: int, k=k) -> list[str]:
                return envscan_cmd("build", args.edition, "--no-pdf", "-q", "--out", str(outs / f"e{k}-{i}"),
                                   "-C", str(scans[k]))

            def es_after(i: int, k=k, keep_site=keep_site) -> None:
                d = outs / f"e{k}-{i}"
                if i == nb - 1:
                    shutil.move(str(d / args.edition), keep_site)
                shutil.rmtree(d, ignore_errors=True)

            cfg_file = make_plain_mkdocs_project(scans[k], tmp / f"plain-{k}x")

            def mk_cmd(i: int, k=k, cfg_file=cfg_file) -> list[str]:
                return [PY, "-m", "mkdocs", "build", "-q", "-f", str(cfg_file), "-d", str(outs / f"m{k}-{i}")]

            def mk_after(i: int, k=k, plain_site=plain_site) -> None:
                d = outs / f"m{k}-{i}"
                if i == nb - 1:
                    shutil.move(str(d), plain_site)
                shutil.rmtree(d, ignore_errors=True)

            es, mk = paired_series(f"envscan build {k}x", es_cmd, es_after, f"mkdocs build {k}x", mk_cmd, mk_after, nb)
            ours = [p for p in keep_site.rglob("*.html")]
            theirs = [p for p in plain_site.rglob("*.html")]
            results["build"][k] = {
                "envscan_nopdf": es, "mkdocs": mk, "ratio": es["median"] / mk["median"],
                "cpu_ratio": es["cpu_median"] / mk["cpu_median"],
                "html_pages": {"envscan": len(ours), "mkdocs": len(theirs)},
                "site_mb": {"envscan": sum(p.stat().st_size for p in keep_site.rglob("*") if p.is_file()) / 2**20,
                            "mkdocs": sum(p.stat().st_size for p in plain_site.rglob("*") if p.is_file()) / 2**20},
            }
            results["build_inprocess"][k] = build_breakdown(scans[k], args.edition, max(2, nb // 2))

            log(f"leak gate, {k}x")
            project, _ = load(scans[k])
            ae, _ = assemble(project.source, edition_of(project, args.edition))
            results["gate"][k] = {"site": gate_series(ae, project.config.gate_allow, keep_site, n)}

        # ------------------------------------------------------------- PDF + memory
        if not args.no_pdf and not args.no_build:
            # compile/cache WeasyPrint & co. once, untimed (the --no-pdf runs never imported them)
            run_proc([PY, "-c", "import weasyprint, pypdf, envscan.pdf"])
            for k in bsizes:
                if k > 1 and args.quick:
                    results["pdf"][k] = {"skipped": "--quick"}
                    continue
                runs_k = npdf if k == 1 else 1
                timeout = None if k == 1 else args.pdf_timeout
                log(f"build with PDF, {k}x ({runs_k} run(s){', timeout %.0f s' % timeout if timeout else ''})")
                pruns, skipped = [], None
                for i in range(runs_k):
                    d = outs / f"p{k}-{i}"
                    r = run_proc(envscan_cmd("build", args.edition, "-q", "--out", str(d), "-C", str(scans[k])),
                                 timeout=timeout)
                    if r.timed_out:
                        skipped = f"build with PDF took > {timeout:.0f} s; killed"
                        shutil.rmtree(d, ignore_errors=True)
                        break
                    if r.rc != 0:
                        raise BenchError(f"envscan build (PDF) {k}x: exit {r.rc}\n{r.stderr[-2000:]}")
                    pruns.append(r)
                    if i == runs_k - 1:
                        shutil.move(str(d / args.edition), tmp / f"site-{k}x-pdf")
                    shutil.rmtree(d, ignore_errors=True)
                if skipped:
                    results["pdf"][k] = {"skipped": skipped}
                    continue
                full = _summary(pruns)
                nopdf = results["build"][k]["envscan_nopdf"]["median"]
                results["pdf"][k] = {"full_build": full, "pdf_time": full["median"] - nopdf}
                if k == 1:
                    results["pdf"][k]["direct"] = pdf_direct(scans[k], args.edition, 1)
                site_pdf = tmp / f"site-{k}x-pdf"
                project, _ = load(scans[k])
                ae, _ = assemble(project.source, edition_of(project, args.edition))
                results["gate"][k]["site+pdf"] = gate_series(ae, project.config.gate_allow, site_pdf,
                                                             max(3, n // 2) if k == 1 else 1, 1 if k == 1 else 0)

                log(f"full build, all editions with PDF, {k}x (peak memory)")
                d = outs / f"all{k}"
                r = run_proc(envscan_cmd("build", "-q", "--out", str(d), "-C", str(scans[k])),
                             timeout=None if k == 1 else 2 * args.pdf_timeout)
                shutil.rmtree(d, ignore_errors=True)
                if r.timed_out:
                    results["memory"][k] = {"skipped": f"> {2 * args.pdf_timeout:.0f} s"}
                elif r.rc != 0:
                    raise BenchError(f"envscan build (all editions) {k}x: exit {r.rc}\n{r.stderr[-2000:]}")
                else:
                    results["memory"][k] = {"wall": r.wall, "cpu": r.cpu, "maxrss_mb": r.maxrss_kb / 1024}

        if args.profile:
            k = sizes[-1]
            log(f"cProfile of check_project, {k}x")
            results["profile_check"] = {"size": k, "text": profile_check(scans[k])}
    except BenchError as exc:
        log(f"FAILED: {exc}")
        results["error"] = str(exc)
        write_results(results, args, root)
        return 1
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        if snap is not None:
            shutil.rmtree(snap, ignore_errors=True)

    results["machine"]["loadavg_end"] = os.getloadavg()
    results["summary"] = summary_rows(results)
    write_results(results, args, root)
    before = None
    if args.before:
        try:
            before = json.loads(args.before.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log(f"--before: cannot read {args.before}: {exc}")
    print(report(results, before))
    if "profile_check" in results:
        print(f"\n## cProfile: envscan.pipeline.check_project, {results['profile_check']['size']}x scan\n")
        print(results["profile_check"]["text"])
    return 0


def write_results(results: dict, args, root: Path) -> None:
    path = args.results or (root / "build" / "bench" / "results.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    log(f"results written to {path}")


# --------------------------------------------------------------------------- tables

def _s(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _verdict(value: float | None, limit: float) -> str:
    if value is None:
        return ""
    return "ok" if value <= limit else "OVER"


def _get(d: dict, *keys):
    """d[k1][k2]... with int keys also tried as strings (results read back from JSON)."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k, d.get(str(k)) if not isinstance(k, str) else None)
        if d is None:
            return None
    return d


def summary_rows(r: dict) -> list[dict]:
    """The figures the issues set targets for: figure, measured, unit, target, met."""
    rows: list[dict] = []

    def add(key: str, figure: str, value: float | None, unit: str, target: float | None, note: str = "") -> None:
        met = None if value is None or target is None else value <= target
        rows.append({"key": key, "figure": figure, "measured": value, "unit": unit, "target": target, "met": met,
                     "note": note})

    for k, tk in ((1, "check_1x_s"), (10, "check_10x_s")):
        add(f"check_{k}x", f"envscan check, {k}x scan (wall)", _get(r, "check", k, "median"), "s", TARGETS[tk])
    fit = r.get("check_fit_cpu") or {}
    if fit:
        add("check_fit_r2", "envscan check: linear in KB (R² of CPU fit)", fit.get("r2"), "", None,
            f"{fit.get('ms_per_kb', 0):.3f} ms/KB + {fit.get('intercept_s', 0):.3f} s")
    for k in (1, 10):
        b = _get(r, "build", k)
        if b:
            add(f"build_ratio_{k}x", f"build public --no-pdf / plain mkdocs build, {k}x (wall)", b["ratio"], "×",
                TARGETS[f"build_ratio_{k}x"],
                f"{_s(b['envscan_nopdf']['median'])} s vs {_s(b['mkdocs']['median'])} s; cpu ratio {b['cpu_ratio']:.2f}")
    for case, res in (r.get("robust") or {}).items():
        sizes = sorted(int(m) for m in res if str(m).isdigit())
        if not sizes:
            continue
        big = _get(res, sizes[-1])
        if big and "skipped" not in big:
            add(f"robust_{case}", f"check, {sizes[-1]:,} {case} (wall)", big["median"], "s",
                TARGETS["robust_spans_20k_s"] if case == "spans" and sizes[-1] == 20000 else None,
                f"cpu {_s(big['cpu_median'])} s, RSS {big['maxrss_mb']:.0f} MB")
        elif big:
            add(f"robust_{case}", f"check, {sizes[-1]:,} {case} (wall)", None, "s",
                TARGETS["robust_spans_20k_s"] if case == "spans" else None, big["skipped"])
        add(f"robust_{case}_growth", f"  {case}: cost per item, largest / smallest size", res.get("growth"), "×",
            TARGETS["robust_growth"], f"1.0 linear, {sizes[-1] / sizes[0]:.1f} quadratic")
    p = _get(r, "pdf", 1)
    if p and "pdf_time" in p:
        add("pdf_1x", "PDF of the 1x edition (build with − without)", p["pdf_time"], "s", TARGETS["pdf_1x_s"])
    m = _get(r, "memory", 1)
    if m and "maxrss_mb" in m:
        add("peak_rss_1x", "peak RSS, full build of all editions with PDF, 1x", m["maxrss_mb"], "MB",
            TARGETS["peak_rss_mb"])
    return rows


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "MB":
        return f"{v:.0f} MB"
    if unit == "×":
        return f"{v:.2f}×"
    if unit == "s":
        return f"{v:.3f} s"
    return f"{v:.4f}"


def summary_table(r: dict, before: dict | None) -> list[str]:
    rows = r.get("summary") or summary_rows(r)
    prev = {x["key"]: x for x in (before.get("summary") or summary_rows(before))} if before else {}
    L = []
    head = f"{'figure':<58} " + (f"{'before':>10} " if before else "") + f"{'measured':>10} {'target':>10}  met?"
    L.append(head)
    L.append("-" * len(head))
    for x in rows:
        b = prev.get(x["key"])
        tgt = "—" if x["target"] is None else ("≤ " + _fmt(x["target"], x["unit"]))
        met = "" if x["met"] is None else ("yes" if x["met"] else "NO")
        line = f"{x['figure']:<58} " + (f"{_fmt(b['measured'] if b else None, x['unit']):>10} " if before else "") \
            + f"{_fmt(x['measured'], x['unit']):>10} {tgt:>10}  {met}"
        if x.get("note"):
            line += f"   ({x['note']})"
        L.append(line)
    return L


def report(r: dict, before: dict | None = None) -> str:
    L: list[str] = []
    sc = r["scans"]
    L.append(f"envscan benchmark — {r['when']} — Python {r['machine']['python']}, {r['machine']['cpus']} CPU(s), "
             f"git {r['git'].get('head', '?')}{' (dirty)' if r['git'].get('dirty') else ''}, package {r.get('package')}")
    st = r["settings"]
    L.append(f"medians of N={st['n']} (check, floors, gate), {st['build_runs']} (site builds), "
             f"{st['pdf_runs']} (1x build with PDF), {st.get('robust_runs', '?')} (robust inputs); seconds unless "
             "stated; 'cpu' = user+sys of the child")
    la0, la1 = r["machine"].get("loadavg_start"), r["machine"].get("loadavg_end")
    if la0:
        L.append(f"load average at start {la0[0]:.2f}" + (f", at end {la1[0]:.2f}" if la1 else "")
                 + f" (on {r['machine']['cpus']} CPUs: other work on the machine inflates wall times)")
    if before:
        L.append(f"before: {before.get('when', '?')}, git {before.get('git', {}).get('head', '?')}, "
                 f"package {before.get('package', '?')}")
    L.append("")
    L.append("## Targets")
    L += summary_table(r, before)
    L.append("")
    L.append("## Scans")
    L.append(f"{'size':>5} {'MD KB':>8} {'chapters':>8} {'notes':>6} {'bib':>5} {'cited':>5} {'sections':>8} "
             f"{'restricted':>10} {'warnings':>8}")
    for k, s in sc.items():
        L.append(f"{str(k) + 'x':>5} {s['markdown_kb']:>8.1f} {s['chapters']:>8} {s['notes']:>6} "
                 f"{s['sources_in_bib']:>5} {s['sources_cited']:>5} {s['sections']:>8} {s['restricted_passages']:>10} "
                 f"{s['warnings']:>8}")
    L.append("")
    L.append("## Floors")
    for name in ("interpreter start (python -c pass)", "import envscan.cli", "import envscan.cli + pipeline"):
        f = r["floors"].get(name)
        if f:
            L.append(f"  {name:<50} {_s(f['median'])}   (cpu {_s(f['cpu_median'])}, max RSS {f['maxrss_mb']:.0f} MB)")
    for k in st["sizes"]:
        for name, f in (_get(r, "floors", k) or {}).items():
            L.append(f"  {name + f' [{k}x]':<52} {_s(f['median'])}   (cpu {_s(f['cpu_median'])})")
    if r.get("imports"):
        L.append("  slowest imports of one `envscan check` (-X importtime, cumulative ms; inflated by the timer):")
        L.append("    " + ", ".join(f"{x['module']} {x['cumulative_ms']:.0f}" for x in r["imports"]))
    L.append("")
    L.append("## envscan check (whole process)")
    L.append(f"{'size':>5} {'median':>8} {'min':>8} {'max':>8} {'cpu':>8} {'ms/KB':>7} {'RSS MB':>7}  target")
    for k in st["sizes"]:
        c = _get(r, "check", k)
        tgt = {1: TARGETS["check_1x_s"], 10: TARGETS["check_10x_s"]}.get(k)
        L.append(f"{str(k) + 'x':>5} {_s(c['median']):>8} {_s(c['min']):>8} {_s(c['max']):>8} {_s(c['cpu_median']):>8} {c['ms_per_kb']:>7.2f} "
                 f"{c['maxrss_mb']:>7.0f}  " + (f"≤ {tgt} s {_verdict(c['median'], tgt)}" if tgt else ""))
    for what, key in (("wall", "check_fit"), ("cpu ", "check_fit_cpu")):
        fit = r.get(key) or {}
        if fit:
            L.append(f"  linear fit ({what}): t = {fit['intercept_s']:.3f} s + {fit['ms_per_kb']:.3f} ms/KB × KB "
                     f"(R² {fit['r2']:.4f}, worst residual {fit['max_rel_residual'] * 100:.1f} %)")
    L.append("  in process (check_project stages, CPU seconds, median):")
    for k in st["sizes"]:
        ci = _get(r, "check_inprocess", k) or {}
        L.append(f"    {str(k) + 'x':>4}  " + ", ".join(f"{name} {_s(v)}" for name, v in ci.items()))
    L.append("")
    if r.get("robust"):
        L.append("## Robust inputs: one chapter, envscan check (whole process)")
        rb = r.get("robust_base")
        if rb:
            L.append(f"  fixed cost (the same chapter with no items): {_s(rb['median'])} (cpu {_s(rb['cpu_median'])})")
        L.append(f"{'case':>10} {'items':>7} {'MD KB':>7} {'median':>8} {'cpu':>8} {'µs cpu/item':>11} {'RSS MB':>7} {'exit':>4}")
        for case, res in r["robust"].items():
            for m in sorted((x for x in res if str(x).isdigit()), key=int):
                x = res[m]
                if "skipped" in x:
                    L.append(f"{case:>10} {int(m):>7} skipped ({x['skipped']})")
                    continue
                L.append(f"{case:>10} {int(m):>7} {x['md_kb']:>7.0f} {_s(x['median']):>8} {_s(x['cpu_median']):>8} "
                         f"{x['cpu_median'] * 1e6 / int(m):>11.0f} {x['maxrss_mb']:>7.0f} {x['exit']:>4}")
            g = res.get("growth")
            L.append(f"{'':>10} growth (cost per item above the fixed cost, largest / smallest size): "
                     + ("—" if g is None else f"{g:.2f}") + f"  (target ≤ {TARGETS['robust_growth']})")
        L.append("")
    if r.get("build"):
        L.append(f"## Site build, edition '{st['edition']}' (whole process): envscan build --no-pdf vs a plain "
                 "MkDocs project of the same chapters (mkdocs build)")
        L.append(f"{'size':>5} {'envscan':>8} {'mkdocs':>8} {'ratio':>6} {'cpu es':>8} {'cpu mk':>8} {'cpu ratio':>9} "
                 f"{'RSS MB':>7} {'pages':>9}  target ≤ {TARGETS['build_ratio_1x']}×")
        for k, b in r["build"].items():
            e, m = b["envscan_nopdf"], b["mkdocs"]
            L.append(f"{str(k) + 'x':>5} {_s(e['median']):>8} {_s(m['median']):>8} "
                     f"{b['ratio']:>6.2f} {_s(e['cpu_median']):>8} {_s(m['cpu_median']):>8} "
                     f"{b['cpu_ratio']:>9.2f} {e['maxrss_mb']:>7.0f} "
                     f"{str(b['html_pages']['envscan']) + '/' + str(b['html_pages']['mkdocs']):>9}  "
                     f"{_verdict(b['ratio'], TARGETS['build_ratio_1x'])}")
        L.append("  (pages: HTML files envscan / MkDocs; envscan adds the reference list and abbreviations)")
        L.append("  in process (envscan build stages, CPU seconds, median):")
        for k, bi in r["build_inprocess"].items():
            L.append(f"    {str(k) + 'x':>4}  " + ", ".join(f"{name} {_s(v)}" for name, v in bi.items()))
        L.append("")
    if r["pdf"]:
        L.append(f"## PDF, edition '{st['edition']}'")
        for k, p in r["pdf"].items():
            if "skipped" in p:
                L.append(f"  {k}x: skipped ({p['skipped']})")
                continue
            d = p.get("direct")
            L.append(f"  {k}x: build with PDF {_s(p['full_build']['median'])} − without {_s(_get(r, 'build', k, 'envscan_nopdf', 'median'))}"
                     f" = PDF {_s(p['pdf_time'])}  (target ≤ {TARGETS['pdf_1x_s']} s at 1x: "
                     f"{_verdict(p['pdf_time'], TARGETS['pdf_1x_s']) if str(k) == '1' else 'n/a'}); "
                     f"cpu of the build {_s(p['full_build']['cpu_median'])}; "
                     f"child max RSS {p['full_build']['maxrss_mb']:.0f} MB")
            if d:
                L.append(f"      render_pdf in process {_s(d['render_pdf']['median'])} (cpu {_s(d['render_pdf']['cpu_median'])}) "
                         f"(of which build_html {_s(d['build_html']['median'])}), PDF {d['pdf_kb']:.0f} KB")
        for k, m in r["memory"].items():
            if "skipped" in m:
                L.append(f"  {k}x full build, all editions with PDF: skipped ({m['skipped']})")
            else:
                L.append(f"  {k}x full build, all editions with PDF: {_s(m['wall'])} s (cpu {_s(m['cpu'])}), peak RSS {m['maxrss_mb']:.0f} MB "
                         f"(target ≤ {TARGETS['peak_rss_mb']:.0f} MB: {_verdict(m['maxrss_mb'], TARGETS['peak_rss_mb'])})")
        L.append("")
    if r.get("gate"):
        L.append("## Leak gate alone (Gate.scan_tree on the built site)")
        for k, g in r["gate"].items():
            for what, gg in g.items():
                L.append(f"  {str(k) + 'x':>4} {what:<9} {gg['files']:>4} files {gg['mb']:6.1f} MB: "
                         f"own passages ({gg['own']['passages']}) {_s(gg['own']['median'])} (cpu {_s(gg['own']['cpu_median'])}), "
                         f"synthetic ({gg['synthetic']['passages']}) {_s(gg['synthetic']['median'])} (cpu {_s(gg['synthetic']['cpu_median'])})"
                         f"  [findings {gg['own']['findings']}/{gg['synthetic']['findings']}]")
                L.append("         slowest files (cpu): " + ", ".join(f"{x['file']} {x['s']:.3f} ({x['kb']:.0f} KB)"
                                                         for x in gg["slowest_files"][:4]))
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
