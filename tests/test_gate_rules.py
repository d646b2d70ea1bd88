"""The short-passage rule measured on the real 2012 scan (false-positive guard).

If an author marked a short span of the scan restricted, how often would the rest of the
text repeat one of its *distinctive parts* and so stop the build?  The rule in
envscan.gate.match was tuned on this figure (see its docstring); this test keeps it there.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from envscan.gate import Gate, Restricted
from envscan.gate.extract.text import markdown_view

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scan_text() -> str:
    chapters = sorted((ROOT / "docs").glob("*.md"))
    if not chapters:
        pytest.skip("no chapters")
    return "\n\n".join(markdown_view(p.read_text(encoding="utf-8")) for p in chapters)


def _fails_through_parts(text: str, span: str) -> bool:
    gate = Gate([Restricted("R1", span, "x", "m")])
    # the span itself removed wherever it stands (as marking it everywhere would)
    rest = re.sub(r"\W+".join(map(re.escape, re.findall(r"\w+", span))), " ", text, flags=re.I)
    return any(f.kind == "partial" for f in gate.scan_text(rest, "x"))


def test_random_short_spans_rarely_fail_through_their_parts(scan_text):
    words = re.findall(r"[A-Za-z][\w'’-]*", scan_text)
    rng = random.Random(1)
    spans = [" ".join(words[i:i + k]) for k in range(2, 8) for i in rng.sample(range(len(words) - k), 40)]
    rate = sum(_fails_through_parts(scan_text, s) for s in spans) / len(spans)
    assert rate < 0.12, rate


def test_capitalised_phrases_fail_through_their_parts_only_when_a_part_recurs(scan_text):
    names = sorted(set(re.findall(
        r"\b[A-Z][\w'’-]+(?:[ \t]+(?:(?:of|and|for|the|on|in)[ \t]+)?[A-Z][\w'’-]+){1,4}", scan_text)))
    assert len(names) > 20
    rate = sum(_fails_through_parts(scan_text, s) for s in names) / len(names)
    assert rate < 0.35, rate
