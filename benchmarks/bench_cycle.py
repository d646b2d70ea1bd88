#!/usr/bin/env python3
"""envscan benchmark for the edition cycle (issue 12).

1. ``envscan diff`` between the released 2012 edition (a tag) and a working tree with one
   changed chapter, on the repository's scan (1x) and on a scan 10x its size (every chapter
   replicated, as ``bench.py`` makes them). Timed in-process (read both states, parse the changed
   chapters, diff) and as a whole process (``python -m envscan.cli diff``). Targets: 1x <= 1 s,
   linear growth (10x / 1x close to the size ratio or below).
2. ``release`` overhead beyond the build: the strict check, the redline, and hashing every output
   file of every edition (the build itself is ``bench.py``'s figure).

Usage: python benchmarks/bench_cycle.py [-n N] [--sizes 1,10]. Prints a table and writes
build/bench/cycle.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(HERE))

GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@example.org"}
CHANGE = ("\n\n## Ferry lanes after the breakwater {#sec-bench-ferry-lanes}\n\n"
          "The harbour authority moved the ferry lanes after the breakwater was extended.\n")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def scan(k: int, dest: Path) -> Path:
    """The repository's scan (k=1) or k times its size, as a git repository tagged edition/2012,
    then one chapter changed in the working tree."""
    from bench import make_scaled_scan

    if k == 1:
        dest.mkdir(parents=True)
        for p in ("mkdocs.yml", "docs", "bibliography"):
            src = ROOT / p
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / p)
    else:
        make_scaled_scan(ROOT, dest, k)
    git(dest, "init", "-q")
    git(dest, "add", ".")
    git(dest, "commit", "-q", "-m", "scan")
    git(dest, "tag", "edition/2012")
    ch = dest / "docs" / "02-literature-review.md"  # the largest chapter, at every size
    ch.write_text(ch.read_text(encoding="utf-8") + CHANGE, encoding="utf-8")
    return dest


def kb(root: Path) -> float:
    return sum(p.stat().st_size for p in (root / "docs").rglob("*.md")) / 1024


def median_time(f, n: int) -> float:
    f()  # warm-up
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        xs.append(time.perf_counter() - t)
    return statistics.median(xs)


def diff_inprocess(root: Path) -> None:
    from envscan.diff import diff_states, state_from_ref, state_from_worktree

    d = diff_states(state_from_ref(root, "edition/2012"), state_from_worktree(root))
    assert len(d.chapters) == 1 and d.chapters[0].sections, d


def diff_process(root: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "scripts")}
    out = subprocess.run([sys.executable, "-m", "envscan.cli", "diff", "-C", str(root)], capture_output=True,
                         text=True, env=env)
    assert out.returncode == 0 and "sec-bench-ferry-lanes" in out.stdout, out.stderr


def release_overhead(root: Path, n: int) -> dict:
    """Strict check, redline and hashing on a built copy of the repository's scan (no PDF)."""
    from envscan.pipeline import build_project
    from envscan.redline import compute_redline, narrower, standalone_html
    from envscan.release import hash_tree, strict_check

    t = time.perf_counter()
    diags, usage = build_project(root, None, pdf=False, quiet=True)
    build_s = time.perf_counter() - t
    assert not usage and not [d for d in diags if d.severity == "error"], diags[:3]
    waive = {"W-FN-GAP", "W-BIB-UNVERIFIED", "W-BIB-UNCITED"}
    out: dict = {"build_no_pdf_s": build_s}
    out["strict_check_s"] = median_time(lambda: strict_check(root, waive), n)
    project = strict_check(root, waive)[3]
    cfg = project.config
    widest = max(cfg.editions.values(), key=lambda e: cfg.scheme.rank(e.max_marking))
    out["redline_s"] = median_time(lambda: standalone_html([compute_redline(project.source, widest, e)
                                                             for e in narrower(project.source, widest)], "r"), n)
    files = sum(1 for _ in (root / "site").rglob("*") if _.is_file())
    mb = sum(p.stat().st_size for p in (root / "site").rglob("*") if p.is_file()) / 2**20
    out["hash_s"] = median_time(lambda: [hash_tree(p) for p in (root / "site").iterdir() if p.is_dir()], n)
    out["hashed_files"], out["hashed_mb"] = files, round(mb, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--sizes", default="1,10")
    args = ap.parse_args(argv)
    results: dict = {"diff": {}, "targets": {"diff_1x_s": 1.0}}
    with tempfile.TemporaryDirectory(prefix="envscan-bench-cycle-") as tmp:
        for k in [int(x) for x in args.sizes.split(",")]:
            root = scan(k, Path(tmp) / f"x{k}")
            results["diff"][f"{k}x"] = {
                "kb": round(kb(root), 1),
                "in_process_s": median_time(lambda: diff_inprocess(root), args.n),
                "process_s": median_time(lambda: diff_process(root), max(3, args.n // 2)),
            }
        results["release"] = release_overhead(scan(1, Path(tmp) / "release"), args.n)
    d = results["diff"]
    print("envscan diff (2012 tag -> working tree with one chapter changed)")
    print(f"{'size':>5} {'KB':>8} {'in-process':>11} {'process':>9}")
    for k, v in d.items():
        print(f"{k:>5} {v['kb']:>8} {v['in_process_s']:>10.3f}s {v['process_s']:>8.3f}s")
    if "1x" in d and "10x" in d:
        r = d["10x"]["in_process_s"] / d["1x"]["in_process_s"]
        results["diff_ratio_10x"] = r
        print(f"10x / 1x in-process: {r:.1f} (size ratio {d['10x']['kb'] / d['1x']['kb']:.1f})")
    rel = results["release"]
    print(f"release beyond the build: strict check {rel['strict_check_s']:.3f}s, redline {rel['redline_s']:.3f}s, "
          f"hashing {rel['hash_s']:.3f}s ({rel['hashed_files']} files, {rel['hashed_mb']} MB); "
          f"build --no-pdf {rel['build_no_pdf_s']:.2f}s")
    out = ROOT / "build" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "cycle.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
