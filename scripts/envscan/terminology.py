"""Terminology check: terms to avoid in the chapters, with the wording to use instead.

The default list follows the Terminology Guidelines for the Protection of Children from Sexual
Exploitation and Sexual Abuse (Interagency Working Group, Luxembourg, 2016: the "Luxembourg
Guidelines"). Each finding is a warning ``W-TERM`` at ``file:line:col`` naming the suggested
wording. An occurrence passes without a warning when

* ``quotation`` -- it sits inside quotation marks (“…”, "…", ‘…’) or a block quote;
* ``sic`` -- it is followed by ``[sic]``;
* ``legal`` -- it is part of the name of a legal instrument (written in title case in a sentence
  naming a Directive, Convention, Protocol, Act, ...) or of an offence ("the offence of ...",
  "convicted of ...");
* an ``allow:`` entry in mkdocs.yml quotes the text around it (a per-occurrence allowance,
  with a reason).

Which of the first three apply is set per term (``except:``); a term whose use is never right
(e.g. "child prostitute") passes only with ``[sic]`` or an allowance. mkdocs.yml::

    terminology:
      default: true             # the Luxembourg Guidelines list below (false: only `terms`)
      disable: [child sex tourism]
      terms:
        - term: ferry disaster  # a house rule of one's own (replaces a default of the same term)
          use: ferry accident
          except: [quotation, sic]
      allow:
        - text: the 1990 Child Pornography Review
          reason: title of an internal review, cited as such

Only chapters are checked (not the bibliography: titles of works are cited as published),
outside code, comments, link targets, attributes and citation keys.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic, error, warning
from .model import Chapter, Source

if TYPE_CHECKING:
    from .summary import KeyPath

EXCEPTIONS = ("quotation", "sic", "legal")
GUIDELINES = "Luxembourg Guidelines (2016)"


@dataclass(frozen=True)
class TermRule:
    term: str  # words, matched case-insensitively across line breaks; a plural 's' is included
    use: str  # the suggested wording
    exceptions: tuple[str, ...] = EXCEPTIONS  # contexts where the term passes
    source: str = GUIDELINES


def _r(term: str, use: str, *exc: str) -> TermRule:
    return TermRule(term, use, tuple(exc) if exc else EXCEPTIONS)


NEVER: tuple[str, ...] = ("sic",)  # only an explicit [sic] (or an allow: entry)

DEFAULT_TERMS: tuple[TermRule, ...] = (
    _r("child pornography", "child sexual abuse material (or child sexual exploitation material)"),
    _r("child porn", "child sexual abuse material", "quotation", "sic"),
    _r("kiddie porn", "child sexual abuse material", "quotation", "sic"),
    _r("child prostitute", "child subjected to sexual exploitation in prostitution", *NEVER),
    _r("juvenile prostitute", "child subjected to sexual exploitation in prostitution", *NEVER),
    _r("teen prostitute", "child subjected to sexual exploitation in prostitution", *NEVER),
    _r("child sex worker", "child subjected to sexual exploitation", *NEVER),
    _r("child prostitution", "sexual exploitation of children in prostitution"),
    _r("webcam child sex tourism", "live online child sexual abuse", "quotation", "sic"),
    _r("child sex tourism", "sexual exploitation of children in travel and tourism"),
    _r("child sex tourist", "travelling child sex offender", "quotation", "sic"),
)


@dataclass(frozen=True)
class Allowance:
    text: str  # normalised: lower case, single spaces
    reason: str


@dataclass(frozen=True)
class TermConfig:
    rules: tuple[TermRule, ...] = DEFAULT_TERMS
    allow: tuple[Allowance, ...] = ()


@dataclass(frozen=True)
class Finding:
    rule: TermRule
    path: str
    line: int
    col: int
    found: str  # the words as written


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def load_terms(raw: Mapping[str, Any], line_of: Mapping[KeyPath, int] | None = None, path: str = "mkdocs.yml") -> tuple[TermConfig, list[Diagnostic]]:
    """The term list from mkdocs.yml's envscan block (``terminology:``), with config errors."""
    from .summary import line_at, envscan_options

    es, key = envscan_options(raw)
    block = es.get("terminology")
    if block is None:
        return TermConfig(), []
    line_of = line_of or {}
    diags: list[Diagnostic] = []

    def err(msg: str, k: KeyPath, *hints: str) -> None:
        ln = line_at(line_of, key + ("terminology",) + k)
        diags.append(error("E-CONFIG-TERMS", msg, path, ln, 1 if ln else 0, *hints))

    if not isinstance(block, dict):
        err("terminology must be a mapping (default:, disable:, terms:, allow:)", ())
        return TermConfig(), diags
    for k in block:
        if k not in ("default", "disable", "terms", "allow"):
            err(f"unknown key {k!r} in terminology", (k,), "keys: default, disable, terms, allow")
    use_default = block.get("default", True)
    if not isinstance(use_default, bool):
        err("terminology.default must be true or false", ("default",))
        use_default = True
    rules: dict[str, TermRule] = {_norm(r.term): r for r in DEFAULT_TERMS} if use_default else {}
    disable = block.get("disable") or []
    if not isinstance(disable, list) or not all(isinstance(x, str) for x in disable):
        err("terminology.disable is a list of terms", ("disable",))
        disable = []
    for t in disable:
        if _norm(t) not in rules:
            err(f"terminology.disable: {t!r} is not in the list", ("disable",))
        rules.pop(_norm(t), None)
    terms = block.get("terms") or []
    if not isinstance(terms, list):
        err("terminology.terms is a list of {term:, use:, except:} entries", ("terms",))
        terms = []
    for i, t in enumerate(terms):
        if not isinstance(t, dict) or not isinstance(t.get("term"), str) or not t["term"].split() \
                or not isinstance(t.get("use"), str) or set(t) - {"term", "use", "except"}:
            err("each terminology.terms entry needs 'term' and 'use' (and may give 'except')", ("terms", i))
            continue
        exc = t.get("except", list(EXCEPTIONS))
        if not isinstance(exc, list) or any(x not in EXCEPTIONS for x in exc):
            err(f"terminology.terms 'except' lists contexts among {', '.join(EXCEPTIONS)}", ("terms", i, "except"))
            continue
        rules[_norm(t["term"])] = TermRule(" ".join(t["term"].split()), t["use"], tuple(exc), "mkdocs.yml")
    allow: list[Allowance] = []
    for i, a in enumerate(block.get("allow") or []):
        if isinstance(a, dict) and isinstance(a.get("text"), str) and a["text"].strip() and \
                isinstance(a.get("reason"), str) and a["reason"].strip():
            allow.append(Allowance(_norm(a["text"]), a["reason"].strip()))
        else:
            err("each terminology.allow entry needs 'text' (as written around the term) and a 'reason'", ("allow", i))
    # longest first: "webcam child sex tourism" is reported as itself, not as "child sex tourism"
    ordered = tuple(sorted(rules.values(), key=lambda r: -len(r.term)))
    return TermConfig(ordered, tuple(allow)), diags


# --------------------------------------------------------------------------- scanning

_MASKS = [
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"^(?P<f>`{3,}|~{3,}).*?^(?P=f)[ \t]*$", re.S | re.M),  # fenced code
    re.compile(r"`[^`\n]+`"),  # inline code
    re.compile(r"\]\([^)\n]*\)"),  # link and image targets
    re.compile(r"\{[^{}\n]*\}"),  # attributes
    re.compile(r"@[\w:.#$%&+?<>~/-]*\w"),  # citation keys and cross-references
]
_INSTRUMENT = re.compile(r"\b(Directive|Convention|Protocol|Act|Decision|Law|Code|Regulation|Statute|Treaty|"
                         r"Framework|Bill|Ordinance|Resolution)\b")
_OFFENCE = re.compile(r"\b(offen[cs]es? of|charged with|convicted of|accused of|crime of|guilty of|"
                      r"prosecuted for|(section|article|§)\s*\d+\w*)[^.]*$", re.I)
_SIC = re.compile(r"[\s*_”\"’]*\\?\[sic\\?\]", re.I)


def _masked(text: str, start: int) -> str:
    chars = list(text)
    for i in range(start):
        if chars[i] != "\n":
            chars[i] = " "
    out = "".join(chars)
    for rx in _MASKS:
        out = rx.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), out)
    return out


def _pattern(rule: TermRule) -> re.Pattern[str]:
    words = [re.escape(w) for w in rule.term.split()]
    return re.compile(r"(?<![\w-])" + r"[\s*_]+".join(words) + r"(?:e?s)?(?![\w-])", re.I)


def _paragraph(text: str, pos: int) -> tuple[int, int]:
    a = text.rfind("\n\n", 0, pos)
    b = text.find("\n\n", pos)
    return (0 if a < 0 else a + 2), (len(text) if b < 0 else b)


def _in_quotation(text: str, a: int, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    if text[line_start:pos].lstrip().startswith(">"):
        return True
    curly = straight = single = 0
    for i in range(a, pos):
        c = text[i]
        if c == "“":
            curly += 1
        elif c == "”":
            curly = max(0, curly - 1)
        elif c == '"':
            straight ^= 1
        elif c == "‘":
            single += 1
        elif c == "’" and single and not (i + 1 < len(text) and text[i + 1].isalpha() and text[i - 1].isalpha()):
            single -= 1
    return bool(curly or straight or single)


def _legal(text: str, a: int, m: re.Match[str]) -> bool:
    found = m.group(0)
    sent_start = max(a, text.rfind(". ", a, m.start()) + 2 if text.rfind(". ", a, m.start()) >= 0 else a)
    end = text.find(". ", m.end())
    sent_end = len(text) if end < 0 else end
    sentence = text[sent_start:sent_end]
    title_case = all(w[:1].isupper() for w in re.split(r"[\s*_]+", found) if w)
    if title_case and _INSTRUMENT.search(sentence):
        return True
    return bool(_OFFENCE.search(text[sent_start:m.start()]))


def _allowed(cfg: TermConfig, text: str, m: re.Match[str]) -> bool:
    if not cfg.allow:
        return False
    a, b = _paragraph(text, m.start())
    para = text[a:b]
    norm_para = _norm(para)
    for al in cfg.allow:
        for hit in re.finditer(re.escape(al.text), norm_para):
            # map the hit back: the occurrence's words must lie inside it
            occ = _norm(text[a:m.start()])
            occ_start = len(occ) + (1 if occ else 0)
            if hit.start() <= occ_start and occ_start + len(_norm(m.group(0))) <= hit.end():
                return True
    return False


# the characters outside ASCII that re.IGNORECASE matches to an ASCII letter (İ ı ſ K)
_FOLDS_TO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _term_matches(rule: TermRule, text: str, lowered: str | None) -> list[re.Match[str]]:
    """``_pattern(rule).finditer(text)``, without running the pattern at every position: a match
    starts where the term's first word stands in ``lowered`` (``text`` with ASCII lower-cased,
    same offsets), and every word of the term stands somewhere in it. ``lowered`` is None when
    ``text`` holds a character that folds to an ASCII letter: then the pattern scans it all."""
    pat = _pattern(rule)
    words = [w.translate(_ASCII_LOWER) for w in rule.term.split()]
    if lowered is None or not words or not all(w.isascii() for w in words):
        return list(pat.finditer(text))
    if any(w not in lowered for w in words):
        return []
    out: list[re.Match[str]] = []
    pos = 0
    while True:
        p = lowered.find(words[0], pos)
        if p < 0:
            return out
        m = pat.match(text, p)
        if m:  # finditer goes on after the match
            out.append(m)
            pos = m.end()
        else:
            pos = p + 1


def check_chapter(ch: Chapter, cfg: TermConfig) -> list[Finding]:
    text = _masked(ch.text, ch.front_end)
    lowered = None
    if not any(c in text for c in _FOLDS_TO_ASCII):
        # str.lower keeps the offsets when no character grows (it lower-cases ASCII like the
        # table, and maps nothing else outside ASCII into it but those excluded above); the table
        # walk is the slow, sure way
        lowered = text.lower()
        if len(lowered) != len(text):
            lowered = text.translate(_ASCII_LOWER)
    # terms already found, disjoint, by start (their ends then ascend too): a new match overlaps
    # one iff it overlaps the last one that starts before its end
    starts: list[int] = []
    ends: list[int] = []
    out: list[Finding] = []
    for rule in cfg.rules:
        for m in _term_matches(rule, text, lowered):
            k = bisect.bisect_left(starts, m.end())
            if k and ends[k - 1] > m.start():
                continue  # inside a longer term already reported
            starts.insert(k, m.start())
            ends.insert(k, m.end())
            a, _ = _paragraph(text, m.start())
            if "sic" in rule.exceptions and _SIC.match(text, m.end()):
                continue
            if "quotation" in rule.exceptions and _in_quotation(text, a, m.start()):
                continue
            if "legal" in rule.exceptions and _legal(text, a, m):
                continue
            if _allowed(cfg, text, m):
                continue
            line, col = ch.pos(m.start())
            out.append(Finding(rule, ch.path, line, col, " ".join(ch.text[m.start():m.end()].split())))
    return sorted(out, key=lambda f: (f.line, f.col))


def findings_diagnostics(findings: list[Finding]) -> list[Diagnostic]:
    out = []
    for f in findings:
        passes = [x for x in f.rule.exceptions if x != "sic"]
        where = (" (" + " or ".join({"quotation": "in a quotation", "legal": "in a legal title or offence"}[x]
                                    for x in passes) + " it passes)") if passes else ""
        out.append(warning("W-TERM", f"“{f.found}”: write “{f.rule.use}” ({f.rule.source}){where}", f.path, f.line,
                           f.col, "quoting a source that uses it: add [sic] after it, or an entry under "
                           "terminology: allow: in mkdocs.yml with the text around it and a reason"))
    return out


def check_terms(src: Source) -> list[Diagnostic]:
    """Every chapter checked against the configured term list (config errors included)."""
    cfg, diags = load_terms(src.config.raw, src.config.line_of, src.config.path)
    for ch in src.chapters:
        diags += findings_diagnostics(check_chapter(ch, cfg))
    return diags

