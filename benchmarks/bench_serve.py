#!/usr/bin/env python3
"""Live preview benchmark (issue 13): save-to-served-page latency of ``envscan serve``.

Measured as an author would see it: a copy of the scan (mkdocs.yml, docs/, bibliography/) in a
temporary folder, ``envscan serve EDITION`` started on a free loopback port as a separate
process, then N times: a new paragraph carrying a unique word is written into chapter 5
(``docs/05-concluding-remarks.md``), and the served page is fetched over HTTP every 10 ms until
it shows the word. The figure is the time from the file's write to the first response holding
the word; the median over N edits is reported (a pause between edits lets the server settle).

    python benchmarks/bench_serve.py [-n 15] [--edition restricted] [--root .] [--json PATH]

Target (issue 13): median <= 1.0 s for the 2012 edition.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHAPTER = "05-concluding-remarks.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return ""


def wait_for(url: str, word: str, timeout: float, interval: float = 0.01) -> float | None:
    """Seconds until ``url`` serves ``word`` (None on timeout)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if word in fetch(url):
            return time.perf_counter() - t0
        time.sleep(interval)
    return None


def copy_scan(src: Path, dest: Path) -> None:
    shutil.copy2(src / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copytree(src / "docs", dest / "docs")
    shutil.copytree(src / "bibliography", dest / "bibliography")


def start_server(root: Path, edition: str | None, port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "scripts") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    args = [sys.executable, "-m", "envscan.cli", "serve", "--port", str(port), "-C", str(root)]
    if edition:
        args.insert(4, edition)
    return subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def measure(root: Path, edition: str | None, n: int, pause: float) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}/{CHAPTER[:-3]}.html"
    proc = start_server(root, edition, port)
    try:
        t0 = time.perf_counter()
        if wait_for(url, "</html>", 120, 0.1) is None:
            proc.kill()
            raise SystemExit("the preview did not start:\n" + (proc.stderr.read().decode() if proc.stderr else ""))
        startup = time.perf_counter() - t0
        chapter = root / "docs" / CHAPTER
        base = chapter.read_text(encoding="utf-8")
        times: list[float] = []
        for i in range(n):
            word = f"harbourbench{i}x{os.getpid()}"
            time.sleep(pause)
            # a new paragraph before the chapter's note definitions
            head, sep, tail = base.partition("\n[^")
            text = head.rstrip("\n") + f"\n\nThe ferry schedule {word} was revised.\n" + (sep + tail if sep else "")
            tmp = chapter.with_name(chapter.name + ".part")
            tmp.write_text(text, encoding="utf-8")  # an editor's atomic save: write, then rename
            os.replace(tmp, chapter)
            took = wait_for(url, word, 30)
            if took is None:
                raise SystemExit(f"edit {i} never reached the served page")
            times.append(took)
        return {"edition": edition or "(widest)", "n": n, "startup_s": round(startup, 3),
                "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
                "max_s": round(max(times), 3), "runs_s": [round(t, 3) for t in times], "target_s": 1.0}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=15)
    ap.add_argument("--edition", default="restricted")
    ap.add_argument("--root", default=str(HERE.parent))
    ap.add_argument("--pause", type=float, default=0.6, help="seconds between edits")
    ap.add_argument("--json", default=None, help="also write the result here")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="envscan-bench-serve-") as tmp:
        root = Path(tmp)
        copy_scan(Path(a.root), root)
        res = measure(root, a.edition, a.n, a.pause)
    res["cpus"] = os.cpu_count()
    print(f"envscan serve {res['edition']}: save -> served page, median {res['median_s']:.3f} s "
          f"(min {res['min_s']:.3f}, max {res['max_s']:.3f}, n={res['n']}; target <= 1.0 s); "
          f"start-up {res['startup_s']:.2f} s")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
