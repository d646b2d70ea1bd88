"""The matcher: which restricted passages a text repeats.

Restricted passages and scanned text are compared as normalised word lists
(:mod:`.normalise`).  A passage of ``k`` words is checked by its length:

* ``k >= n`` (``n`` = 8 by default): fingerprinted as the set of all its word ``n``-grams;
  a text repeats it when it shares any ``n``-gram (kind ``"fingerprint"``).
* ``2 <= k < n``, or one word of 10 or more characters: the whole passage, as an exact word
  sequence on word boundaries ("port" never hits "report"; kind ``"exact"``).  A single
  shorter word is matched the same way unless it is a stop-word (then it cannot be checked
  and is listed in :attr:`Matcher.unchecked`).
* ``2 <= k < n`` also: the passage's *distinctive parts* (kind ``"partial"``): every
  contiguous proper part that starts and ends with a word that is not a stop-word
  (:data:`STOP_WORDS`) and holds at least three such words -- or two, when all of them are
  capitalised in the passage (a name).  So a marked "Operation Harbour Light" is found when
  a text says "Harbour Light" or "Operation Harbour", but not "the harbour" or "light"; a
  marked "the night ferry timetable was quietly withdrawn" is found by "night ferry
  timetable", not by "night ferry".  A lone word of a two-word name is not matched (mark a
  code word on its own to have it matched alone).

  Tuning (the literal "any part of two or more words not made only of stop-words" rule was
  measured first): in the 2012 scan's public text, marking a random 2-7-word span
  restricted would have failed the build through a part repeated elsewhere for 57 % of
  spans under that rule, 24 % with two distinctive words, 6.7 % with the rule above (4.7 %
  with three for names too); for the 67 capitalised multi-word phrases (names, titles) the
  figures are 30 %, 21 %, 21 % (4.5 %).  Those repeats are generic ("sexual exploitation",
  "Member States"); an intended one goes in the allow list.

A text's ``n``-gram, whole short passage or part that lies entirely inside an allow-list
entry's word sequence (``gate.allow`` in mkdocs.yml) is never reported.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from .base import Finding, Restricted
from .normalise import WORD_RE, capitalised, normalise_words, split_words, word_variants

__all__ = ["Matcher", "STOP_WORDS"]

# Very common English words: a part of a short passage made only of these (and one other
# word) is not distinctive enough to be reported on its own.
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    either et al few for from further had has have having he her here hers herself him
    himself his how i if in into is it its itself just may me might more most must my
    myself neither no nor not now of off on once one only or other our ours ourselves out
    over own per same shall she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up upon us very
    via was we were what when where which while who whom whose why will with within without
    would yet you your yours yourself yourselves""".split()
)

Hit = tuple[str, tuple[str, ...]]  # (kind, one matching word tuple)


def _grams(words: list[str], n: int) -> Iterator[tuple[str, ...]]:
    return zip(*[words[i:] for i in range(n)])


def _contains(seq: list[str], item: tuple[str, ...]) -> bool:
    k = len(item)
    first = item[0]
    start = 0
    while True:
        try:
            i = seq.index(first, start)
        except ValueError:
            return False
        if tuple(seq[i:i + k]) == item:
            return True
        start = i + 1


def _distinctive_parts(words: list[str], caps: list[bool], stop: frozenset[str], minimum: int,
                       minimum_names: int) -> Iterator[tuple[str, ...]]:
    """Contiguous proper parts that start and end with a non-stop word and hold at least
    ``minimum`` non-stop words, or ``minimum_names`` when all of those are capitalised."""
    content = [i for i, w in enumerate(words) if w not in stop]
    for a, i in enumerate(content):
        for b in range(a + max(1, min(minimum, minimum_names)) - 1, len(content)):
            j = content[b]
            if j - i + 1 < 2 or j - i + 1 >= len(words):
                continue
            need = minimum_names if all(caps[c] for c in content[a:b + 1]) else minimum
            if b - a + 1 >= need:
                yield tuple(words[i:j + 1])


class Matcher:
    """Matches text against a list of restricted passages (see the module docstring)."""

    #: least number of non-stop words in a reported part of a short passage ...
    partial_min = 3
    #: ... and in a part whose non-stop words are all capitalised in the passage (a name)
    partial_min_names = 2

    def __init__(self, restricted: Iterable[Restricted], allow: Iterable[str] = (), n: int = 8):
        if n < 1:
            raise ValueError("n must be at least 1")
        self.n = n
        self.restricted: tuple[Restricted, ...] = tuple(restricted)
        self._stop = frozenset(w for s in STOP_WORDS for w in normalise_words(s))
        self._allow_words = [split_words(v) for a in allow for v in word_variants(a)]
        allowed_grams: set[tuple[str, ...]] = set()
        for words in self._allow_words:
            allowed_grams.update(_grams(words, n))
        # n-gram -> indices of passages it fingerprints
        self._ngrams: dict[tuple[str, ...], list[int]] = {}
        # word tuple -> [(passage index, "exact" | "partial")] (short passages)
        self._short: dict[tuple[str, ...], list[tuple[int, str]]] = {}
        checked: set[int] = set()
        for idx, r in enumerate(self.restricted):
            for text in word_variants(r.text):
                words = split_words(text)
                if len(words) >= n:
                    for g in _grams(words, n):
                        if g not in allowed_grams:
                            self._add(self._ngrams, g, idx)
                            checked.add(idx)
                elif words and self._add_short(idx, words, capitalised(r.text, words)):
                    checked.add(idx)
        self._index()
        #: ids of passages that can never be reported (no words, a lone stop-word, or
        #: wholly covered by the allow list) -- worth surfacing to the operator.
        self.unchecked: tuple[str, ...] = tuple(
            r.id for i, r in enumerate(self.restricted) if i not in checked
        )

    @staticmethod
    def _add(table: dict[tuple[str, ...], list[Any]], key: tuple[str, ...], value: object) -> None:
        lst = table.setdefault(key, [])
        # values arrive passage by passage (index order), so a copy of ``value`` can only be among
        # the last entries, those of the same passage: a scan of the whole list made many passages
        # sharing a part (or an n-gram) quadratic. Out of order, the whole list is searched.
        idx = value[0] if isinstance(value, tuple) else value
        for v in reversed(lst):
            vi = v[0] if isinstance(v, tuple) else v
            if vi != idx:
                if vi > idx and value in lst:
                    return
                break
            if v == value:
                return
        lst.append(value)

    def _allowed(self, item: tuple[str, ...]) -> bool:
        return any(_contains(a, item) for a in self._allow_words)

    def _add_short(self, idx: int, words: list[str], caps: list[bool]) -> bool:
        """Register a short passage whole and its distinctive parts; True if any is checked."""
        added = False
        whole = tuple(words)
        if (len(words) >= 2 or len(words[0]) >= 10 or words[0] not in self._stop) \
                and not self._allowed(whole):
            self._add(self._short, whole, (idx, "exact"))
            added = True
        for part in _distinctive_parts(words, caps, self._stop, self.partial_min, self.partial_min_names):
            if not self._allowed(part):
                self._add(self._short, part, (idx, "partial"))
                added = True
        return added

    def _index(self) -> None:
        """Lookup structures for :meth:`_match_words`."""
        self._ngram_keys = frozenset(self._ngrams)
        # Every word of every fingerprint: a document n-gram can only match
        # if all its words are in here, which rules out most of a page
        # (navigation, class names, URLs) before any n-gram is built.
        self._vocab = frozenset(w for g in self._ngrams for w in g)
        self._run_re = re.compile(b"\x01{%d,}" % self.n)
        by_len: dict[int, set[tuple[str, ...]]] = {}
        for t in self._short:
            by_len.setdefault(len(t), set()).add(t)
        self._short_keys = {k: frozenset(v) for k, v in sorted(by_len.items())}
        self._short_vocab = frozenset(w for t in self._short for w in t)
        self._short_first = frozenset(t[0] for t in self._short)
        shortest = min(self._short_keys, default=1)
        self._short_run_re = re.compile(b"\x01{%d,}" % shortest)

    # -- matching ------------------------------------------------------------------------

    def _match_fingerprints(self, words: list[str], hits: dict[int, Hit]) -> None:
        n = self.n
        # Runs of >= n consecutive fingerprint-vocabulary words, found in C.
        flags = bytes(map(self._vocab.__contains__, words))
        for m in self._run_re.finditer(flags):
            a, b = m.span()
            run = words if (a == 0 and b == len(words)) else words[a:b]
            for g in self._ngram_keys.intersection(_grams(run, n)):
                for idx in self._ngrams[g]:
                    hits.setdefault(idx, ("fingerprint", g))

    def _match_short(self, words: list[str], hits: dict[int, Hit]) -> None:
        found: list[tuple[int, str, tuple[str, ...]]] = []
        flags = bytes(map(self._short_vocab.__contains__, words))
        for m in self._short_run_re.finditer(flags):
            a, b = m.span()
            run = words[a:b]
            for k, keys in self._short_keys.items():
                if k > len(run):
                    break
                for t in keys.intersection(_grams(run, k)):
                    found.extend((idx, kind, t) for idx, kind in self._short[t])
        # a whole short passage outranks a part of it
        for idx, kind, t in sorted(found, key=lambda f: (f[1] != "exact", -len(f[2]))):
            hits.setdefault(idx, (kind, t))

    def _match_words(self, words: list[str]) -> dict[int, Hit]:
        """passage index -> (kind, one matching word tuple)."""
        hits: dict[int, Hit] = {}
        if self._ngram_keys and len(words) >= self.n:
            self._match_fingerprints(words, hits)
        if self._short and not self._short_first.isdisjoint(words):
            self._match_short(words, hits)
        return hits

    def _match_text(self, text: str, want_lines: bool) -> dict[int, tuple[str, int | None]]:
        """passage index -> (kind, line of first hit or None)."""
        result: dict[int, tuple[str, int | None]] = {}
        for variant in word_variants(text):
            hits = self._match_words(split_words(variant))
            new = {i: h for i, h in hits.items() if i not in result}
            if not new:
                continue
            lines = self._lines_of(variant, new) if want_lines else {}
            for i, (kind, _t) in new.items():
                result[i] = (kind, lines.get(i))
        return result

    @staticmethod
    def _lines_of(variant: str, hits: dict[int, Hit]) -> dict[int, int]:
        spans = [(m.group(), m.start()) for m in WORD_RE.finditer(variant)]
        words = [w for w, _ in spans]
        out: dict[int, int] = {}
        for idx, (_kind, t) in hits.items():
            k = len(t)
            start = 0
            while True:
                try:
                    j = words.index(t[0], start)
                except ValueError:
                    break
                if tuple(words[j:j + k]) == t:
                    out[idx] = variant.count("\n", 0, spans[j][1]) + 1
                    break
                start = j + 1
        return out

    def scan_text(self, text: str, location: str) -> list[Finding]:
        """Findings for ``text``: one per restricted passage found in it."""
        hits = self._match_text(text, False)
        return [
            Finding(self.restricted[i].id, self.restricted[i].origin, location, hits[i][0])
            for i in sorted(hits)
        ]
