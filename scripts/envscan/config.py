"""Project configuration: ``mkdocs.yml`` and its ``envscan`` plugin block.

The envscan block (under ``plugins: - envscan:``) holds the report's metadata, the marking
scheme, the editions, the citation style, abbreviations and the leak gate's allow-list.
Errors come back as diagnostics carrying the YAML line.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from .diagnostics import Diagnostic, error

TLP2 = ["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]
TLP2_COLOURS = {
    # FIRST TLP 2.0: label text colour on black background
    "TLP:CLEAR": "#FFFFFF",
    "TLP:GREEN": "#33FF00",
    "TLP:AMBER": "#FFC000",
    "TLP:AMBER+STRICT": "#FFC000",
    "TLP:RED": "#FF2B2B",
}


class Tagged:
    def __init__(self, tag: str, value: Any):
        self.tag, self.value = tag, value

    def __repr__(self) -> str:
        return f"{self.tag} {self.value!r}"


class TolerantLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that keeps MkDocs' ``!!python/name:`` and ``!ENV`` tags as opaque values."""


def _construct_unknown(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node)
    else:
        value = None
    return Tagged(node.tag, value)


TolerantLoader.add_multi_constructor("", _construct_unknown)


class _PyTolerantLoader(yaml.SafeLoader):
    pass


_PyTolerantLoader.add_multi_constructor("", _construct_unknown)


MAX_YAML_DEPTH = 100  # nesting levels; mkdocs.yml needs fewer than ten, front matter two
MAX_YAML_NODES = 100_000  # nodes after expanding aliases; the 2012 scan's mkdocs.yml has about 150
DEPTH_HINT = "nest less deeply: no configuration or front matter needs that many levels"
ALIAS_HINT = "write the values out instead of using YAML anchors and aliases"


def yaml_bounds(text: str, loader: type = TolerantLoader) -> tuple[int, int, str, str] | None:
    """(line, column, problem, hint), line and column 0-based, where a YAML document nests deeper than
    MAX_YAML_DEPTH levels or its aliases would expand to more than MAX_YAML_NODES nodes (a
    'billion laughs'); None when it stays within both. Streams the parser's events: linear
    time and memory, no recursion and nothing expanded. Syntax errors raise yaml.YAMLError as
    the loaders do."""
    depth = 0
    stack: list[list[Any]] = []  # per open collection: [anchor, expanded size, height]
    done: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, height)

    def add(size: int, height: int, mark: Any) -> tuple[int, int, str, str] | None:
        if depth + height > MAX_YAML_DEPTH:
            return (mark.line, mark.column, f"nested more than {MAX_YAML_DEPTH} levels deep (after expanding aliases)",
                    ALIAS_HINT)
        if size > MAX_YAML_NODES or (stack and stack[-1][1] + size > MAX_YAML_NODES):
            return (mark.line, mark.column, f"aliases expand to more than {MAX_YAML_NODES:,} values "
                                            "(a 'billion laughs' document?)", ALIAS_HINT)
        if stack:
            stack[-1][1] += size
            stack[-1][2] = max(stack[-1][2], height + 1)
        return None

    for ev in yaml.parse(text, Loader=loader):
        found = None
        start: Any = ev.start_mark
        if isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return (start.line, start.column, f"nested more than {MAX_YAML_DEPTH} levels deep", DEPTH_HINT)
            stack.append([ev.anchor, 1, 1])
        elif isinstance(ev, yaml.CollectionEndEvent):
            anchor, size, height = stack.pop()
            depth -= 1
            if anchor:
                done[anchor] = (size, height)
            found = add(size, height, ev.start_mark)
        elif isinstance(ev, yaml.ScalarEvent):
            if ev.anchor:
                done[ev.anchor] = (1, 0)
            found = add(1, 0, ev.start_mark)
        elif isinstance(ev, yaml.AliasEvent):
            if ev.anchor not in done:
                return (start.line, start.column,
                        f"alias *{ev.anchor} refers to no complete anchor (undefined or recursive)", ALIAS_HINT)
            found = add(*done[ev.anchor], ev.start_mark)
        if found:
            return found
    return None


def tagged_representer(dumper: yaml.BaseDumper, data: Tagged) -> yaml.Node:
    if isinstance(data.value, str):
        return dumper.represent_scalar(data.tag, data.value)
    if isinstance(data.value, list):
        return dumper.represent_sequence(data.tag, data.value)
    return dumper.represent_mapping(data.tag, data.value)


def _tagged_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Key paths of every value written with a YAML tag the safe loader does not know."""
    if isinstance(value, Tagged):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _tagged_paths(v, path + (k,))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _tagged_paths(v, path + (i,))]
    return []


def canonical_label(label: str) -> str:
    """A marking label as compared for look-alikes: NFKC, no spaces, upper case."""
    return unicodedata.normalize("NFKC", label).replace(" ", "").upper()


@dataclass(frozen=True)
class Scheme:
    name: str
    labels: tuple[str, ...]  # ascending
    default: str
    colours: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def rank(self, label: str) -> int:
        return self.labels.index(label)

    def max(self, *labels: str) -> str:
        return max(labels, key=self.rank)

    @property
    def lowest(self) -> str:
        return self.labels[0]


@dataclass(frozen=True)
class Edition:
    name: str
    max_marking: str
    title: str
    pdf: bool = True
    editor_notes: bool = False  # a working view: editor notes shown, marked as such


@dataclass(frozen=True)
class Report:
    title: str = "Environmental Scan"
    subtitle: str = ""
    year: str = ""
    period: str = ""
    author: str = ""  # corporate author shown in PDF metadata; no personal names by default
    language: str = "en"
    due: str = ""  # the edition's due date (set by `envscan edition start`)


@dataclass
class Config:
    path: str
    raw: dict[str, Any]
    docs_dir: str
    nav: list[tuple[str, str]]  # (title, file) in order
    nav_lines: dict[str, int]
    scheme: Scheme
    editions: dict[str, Edition]
    report: Report
    et_al_min: int = 3
    ibid: bool = True
    abbreviations: dict[str, str] = field(default_factory=dict)
    gate_allow: list[str] = field(default_factory=list)
    pdf_enabled: bool = True
    line_of: dict[tuple[Any, ...], int] = field(default_factory=dict)
    conjunctions: dict[str, str] = field(default_factory=lambda: dict(CONJUNCTIONS))  # context -> "and" / "&"
    heading_separators: tuple[str, str] = (". ", " ")  # after a chapter's number, after a section's

    def number_prefix(self, number: str, level: int) -> str:
        """What a numbered heading starts with, in headings, the contents, the navigation and
        the PDF alike: "1. " (a chapter), "2.1 " (a section); "" when unnumbered."""
        if not number:
            return ""
        return number + self.heading_separators[0 if level == 1 else 1]


def _duplicate_keys(node: yaml.Node, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], int, int, int]]:
    """(key path, line, col, first line) of every key given twice in a mapping: YAML keeps the
    last one silently, which for an edition's 'max' would publish more than intended."""
    out = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
            if key in seen:
                out.append((path + (key,), k.start_mark.line + 1, k.start_mark.column + 1, seen[key]))
            else:
                seen[key] = k.start_mark.line + 1
            out += _duplicate_keys(v, path + (key,))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out += _duplicate_keys(v, path + (i,))
    return out


def _lines(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    out = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
            out[path + (key,)] = k.start_mark.line + 1
            out.update({p: n for p, n in _lines(v, path + (key,)).items() if p != path + (key,)})
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out.update(_lines(v, path + (i,)))
    return out


ENVSCAN_KEYS = {"report", "scheme", "editions", "citations", "abbreviations", "gate", "pdf", "edition", "assembled",
                "cycle", "warnings", "terminology"}


# house style (the 2012 print's): "Elliott and Ashfield (2011)" in running text, "Elliott &
# Ashfield (2011) 93" in notes; "1. Introduction", "2.1 Justification"
ENVSCAN_KEYS.add("headings")
CITATION_KEYS = {"et_al_min", "ibid", "conjunction"}
CONJUNCTIONS: dict[str, str] = {"text": "and", "notes": "&"}
HEADING_KEYS = {"chapter_separator": 0, "section_separator": 1}
_CONJ_RE = re.compile(r"[^\W\d_]{1,12}|[&+]")  # a word ("and", "und", "et") or a sign
_SEP_RE = re.compile(r"[ .:\u2013\u2014\u00a0-]{1,3}")  # punctuation and space: ". ", " ", " – "


def _house_style(es: dict[str, Any], es_key: tuple[Any, ...], err: Callable[..., None]
                 ) -> tuple[dict[str, str], tuple[str, str]]:
    """citations.conjunction and the headings block: the conjunction of two authors per
    context (running text, notes) and the separator after a chapter's or section's number."""
    conj = dict(CONJUNCTIONS)
    cit = es.get("citations")
    key = es_key + ("citations",)
    if isinstance(cit, dict):
        for k in cit:
            if k not in CITATION_KEYS:
                sugg = difflib.get_close_matches(str(k), sorted(CITATION_KEYS), 1)
                err("E-CONFIG-UNKNOWN", f"unknown citations option {k!r}", key + (k,),
                    f"did you mean {sugg[0]!r}?" if sugg else f"options: {', '.join(sorted(CITATION_KEYS))}")
        c = cit.get("conjunction")
        if isinstance(c, str):
            c = {"text": c, "notes": c}
        if c is not None and not isinstance(c, dict):
            err("E-CONFIG-CITATIONS", f"citations.conjunction must be a mapping of context -> word, not {c!r}",
                key + ("conjunction",), "write conjunction: {text: and, notes: '&'}")
        elif c is not None:
            for ctx, word in c.items():
                if ctx not in CONJUNCTIONS:
                    sugg = difflib.get_close_matches(str(ctx), sorted(CONJUNCTIONS), 1)
                    err("E-CONFIG-UNKNOWN", f"citations.conjunction: unknown context {ctx!r}",
                        key + ("conjunction", ctx), f"did you mean {sugg[0]!r}?" if sugg else
                        "contexts: text (running text) and notes (notes and the reference list)")
                elif not isinstance(word, str) or not _CONJ_RE.fullmatch(word):
                    err("E-CONFIG-CITATIONS", f"citations.conjunction.{ctx} must be a word or '&', not {word!r}",
                        key + ("conjunction", ctx), "quote a sign in YAML: notes: '&'")
                else:
                    conj[ctx] = word
    seps = [". ", " "]
    hd = es.get("headings")
    key = es_key + ("headings",)
    if hd is not None and not isinstance(hd, dict):
        err("E-CONFIG-HEADINGS", "headings must be a mapping (chapter_separator:, section_separator:)", key)
    elif hd is not None:
        for k, v in hd.items():
            if k not in HEADING_KEYS:
                sugg = difflib.get_close_matches(str(k), sorted(HEADING_KEYS), 1)
                err("E-CONFIG-UNKNOWN", f"unknown headings option {k!r}", key + (k,),
                    f"did you mean {sugg[0]!r}?" if sugg else f"options: {', '.join(sorted(HEADING_KEYS))}")
            elif not isinstance(v, str) or not _SEP_RE.fullmatch(v):
                err("E-CONFIG-HEADINGS", f"headings.{k} must be 1 to 3 characters of punctuation or space "
                    f"(such as '. ' or ' '), not {v!r}", key + (k,), f'quote it in YAML: {k}: ". "')
            else:
                seps[HEADING_KEYS[k]] = v
    return conj, (seps[0], seps[1])


KeyPath = tuple[Any, ...]  # a path into mkdocs.yml: keys and list indices


def load_config(text: str, path: str = "mkdocs.yml") -> tuple[Config | None, list[Diagnostic]]:
    """Read mkdocs.yml: bounded YAML first (depth, aliases), then every section of the envscan
    block, each error with its line. None when the file cannot be read as a config at all."""
    try:
        bound = yaml_bounds(text)
        if bound:  # before composing: the composer recurses, and walking an alias bomb never ends
            return None, [error("E-CONFIG-YAML", f"invalid YAML: {bound[2]}", path, bound[0] + 1, bound[1] + 1,
                                bound[3])]
        node = yaml.compose(text, Loader=TolerantLoader)
        raw = yaml.load(text, Loader=TolerantLoader) if node is not None else {}
    except yaml.YAMLError as raised:
        exc: yaml.YAMLError = raised
        try:
            yaml.compose(text, Loader=_PyTolerantLoader)
        except yaml.YAMLError as py_exc:  # the pure-Python parser's wording, for stable messages
            exc = py_exc
        except RecursionError:  # deep input the C parser refused (PyYAML >= 6.0.4 bounds nesting)
            pass
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = str(getattr(exc, "problem", exc))
        if "nesting depth" in problem:  # PyYAML >= 6.0.4 refuses deep input itself: same words as ours
            return None, [error("E-CONFIG-YAML", f"invalid YAML: nested more than {MAX_YAML_DEPTH} levels deep",
                                path, line, col, DEPTH_HINT)]
        return None, [error("E-CONFIG-YAML", f"invalid YAML: {problem}", path, line, col)]
    if not isinstance(raw, dict):
        return None, [error("E-CONFIG-YAML", "mkdocs.yml must be a mapping", path, 1, 1)]
    return _ConfigReader(path, raw, node).read()


class _ConfigReader:
    """One read of mkdocs.yml: one method per section; ``err`` places each error on its line."""

    def __init__(self, path: str, raw: dict[str, Any], node: yaml.Node | None):
        self.path, self.raw = path, raw
        self.lines: dict[KeyPath, int] = _lines(node) if node is not None else {}
        self.diags: list[Diagnostic] = []
        for key, ln, col, first in _duplicate_keys(node) if node is not None else []:
            self.diags.append(error("E-CONFIG-YAML", f"key {'.'.join(str(k) for k in key)!r} is given twice (first "
                                    f"on line {first})", path, ln, col, "keep one of them"))
        self.es: dict[str, Any] = {}
        self.es_key: KeyPath = ()

    def err(self, code: str, msg: str, key: KeyPath, *hints: str) -> None:
        ln = self.lines.get(key, 0)
        while not ln and key:
            key = key[:-1]
            ln = self.lines.get(key, 0)
        self.diags.append(error(code, msg, self.path, ln, 1 if ln else 0, *hints))

    def read(self) -> tuple[Config | None, list[Diagnostic]]:
        raw = self.raw
        for key in _tagged_paths(raw):
            # MkDocs' loader would construct (run) a tagged value written into an edition's config;
            # only the guard line may carry a tag, and envscan never writes it out
            if key != ("envscan_guard",):
                self.err("E-CONFIG-TAG", f"YAML tag on {'.'.join(str(k) for k in key)!r} is not allowed", key,
                         "write plain values; tags like !!python/... or !ENV are not passed to the renderer")
        nav, nav_lines = self.nav()
        self.envscan_block()
        scheme = self.scheme()
        et_al_min, ibid = self.citations()
        conjunctions, heading_separators = _house_style(self.es, self.es_key, self.err)
        cfg = Config(path=self.path, raw=raw, docs_dir=str(raw.get("docs_dir", "docs")), nav=nav, nav_lines=nav_lines,
                     scheme=scheme, editions=self.editions(scheme), report=self.report(), et_al_min=et_al_min,
                     ibid=ibid, abbreviations=self.abbreviations(), gate_allow=self.gate_allow(),
                     pdf_enabled=self.pdf_flag(), line_of=self.lines, conjunctions=conjunctions,
                     heading_separators=heading_separators)
        return cfg, self.diags

    def nav(self) -> tuple[list[tuple[str, str]], dict[str, int]]:
        nav: list[tuple[str, str]] = []
        nav_lines: dict[str, int] = {}

        def walk(items: Any, key: KeyPath) -> None:
            if not isinstance(items, list):
                self.err("E-CONFIG-NAV", "nav must be a list", key)
                return
            for i, item in enumerate(items):
                k = key + (i,)
                if isinstance(item, str):
                    nav.append(("", item))
                    nav_lines[item] = self.lines.get(k, 0)
                elif isinstance(item, dict) and len(item) == 1:
                    (title, target), = item.items()
                    if isinstance(target, list):
                        walk(target, k + (title,))
                    elif isinstance(target, str):
                        if "://" in target:
                            continue
                        nav.append((str(title), target))
                        nav_lines[target] = self.lines.get(k, 0)
                    else:
                        self.err("E-CONFIG-NAV", f"nav entry {title!r} must name a file", k)
                else:
                    self.err("E-CONFIG-NAV", "nav entries are 'Title: file.md' or 'file.md'", k)

        if "nav" not in self.raw:
            self.err("E-CONFIG-NAV", "mkdocs.yml has no nav: the chapter order comes from nav", (),
                     "add nav: with one entry per chapter in docs/")
        else:
            walk(self.raw["nav"], ("nav",))
        return nav, nav_lines

    def envscan_block(self) -> None:
        plugins = self.raw.get("plugins", [])
        es: Any = {}
        if isinstance(plugins, list):
            for i, p in enumerate(plugins):
                if isinstance(p, dict) and "envscan" in p:
                    es = p["envscan"] or {}
                    self.es_key = ("plugins", i, "envscan")
                elif p == "envscan":
                    self.es_key = ("plugins", i)
        elif isinstance(plugins, dict) and "envscan" in plugins:
            es = plugins["envscan"] or {}
            self.es_key = ("plugins", "envscan")
        if not self.es_key:
            self.err("E-CONFIG-PLUGIN", "mkdocs.yml does not list the envscan plugin", (),
                     "add 'plugins: [envscan: {...}]' so that plain 'mkdocs build' is routed through envscan")
        if not isinstance(es, dict):
            self.err("E-CONFIG-ENVSCAN", "the envscan plugin options must be a mapping", self.es_key)
            es = {}
        self.es = es
        for k in es:
            if k not in ENVSCAN_KEYS:
                sugg = difflib.get_close_matches(str(k), sorted(ENVSCAN_KEYS), 1)
                self.err("E-CONFIG-UNKNOWN", f"unknown envscan option {k!r}", self.es_key + (k,),
                         f"did you mean {sugg[0]!r}?" if sugg else "")

    def scheme(self) -> Scheme:
        sch = self.es.get("scheme") or {}
        k = self.es_key + ("scheme",)
        labels = sch.get("labels", TLP2) if isinstance(sch, dict) else TLP2
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            self.err("E-CONFIG-SCHEME", "scheme.labels must be a non-empty list of labels, lowest first", k)
            labels = TLP2
        if len(set(labels)) != len(labels):
            dup = next(x for x in labels if labels.count(x) > 1)
            self.err("E-CONFIG-SCHEME", f"scheme.labels lists {dup!r} twice", k + ("labels",))
            labels = list(dict.fromkeys(labels))
        default = sch.get("default", labels[-1]) if isinstance(sch, dict) else labels[-1]
        if default not in labels:
            self.err("E-CONFIG-SCHEME", f"scheme.default {default!r} is not one of the scheme's labels", k + ("default",))
            default = labels[-1]
        colours = dict(TLP2_COLOURS)
        if isinstance(sch, dict) and isinstance(sch.get("colours"), dict):
            colours.update(sch["colours"])
        name = str(sch.get("name", "TLP 2.0")) if isinstance(sch, dict) else "TLP 2.0"
        return Scheme(name, tuple(labels), default, colours)

    def editions(self, scheme: Scheme) -> dict[str, Edition]:
        labels = list(scheme.labels)
        editions: dict[str, Edition] = {}
        eds = self.es.get("editions")
        if eds is None:
            eds = {"public": {"max": labels[0], "title": "Public edition"},
                   "restricted": {"max": labels[-1], "title": "Restricted edition"}}
        if not isinstance(eds, dict) or not eds:
            self.err("E-CONFIG-EDITIONS", "editions must be a mapping of name -> {max: LABEL}",
                     self.es_key + ("editions",))
            eds = {}
        for name, spec in eds.items():
            ed = self.edition(str(name), spec, labels)
            if ed is not None:
                editions[ed.name] = ed
        return editions

    def edition(self, name: str, spec: Any, labels: list[str]) -> Edition | None:
        k = self.es_key + ("editions", name)
        if not isinstance(spec, dict) or "max" not in spec:
            self.err("E-CONFIG-EDITIONS", f"edition {name!r} needs 'max: LABEL'", k)
            return None
        for u in sorted(set(spec) - {"max", "title", "pdf", "editor_notes"}):
            self.err("E-CONFIG-UNKNOWN", f"unknown key {u!r} in edition {name!r}", k + (u,))
        if spec["max"] not in labels:
            sugg = difflib.get_close_matches(str(spec["max"]), labels, 1)
            self.err("E-CONFIG-EDITIONS", f"edition {name!r}: marking {spec['max']!r} is not in the scheme", k + ("max",),
                     f"did you mean {sugg[0]!r}?" if sugg else f"labels: {', '.join(labels)}")
            return None
        if not name.replace("-", "").replace("_", "").isalnum():
            self.err("E-CONFIG-EDITIONS", f"edition name {name!r} must be letters, digits, '-' or '_'", k)
            return None
        for flag in ("pdf", "editor_notes"):
            if flag in spec and not isinstance(spec[flag], bool):
                self.err("E-CONFIG-EDITIONS", f"edition {name!r}: {flag} must be true or false, not {spec[flag]!r}",
                         k + (flag,))
        return Edition(name, spec["max"], str(spec.get("title", f"{name} edition")),
                       spec.get("pdf", True) is not False, spec.get("editor_notes") is True)

    def report(self) -> Report:
        rep = self.es.get("report") or {}
        if not isinstance(rep, dict):
            rep = {}
        for u in sorted(set(rep) - set(Report.__dataclass_fields__)):
            self.err("E-CONFIG-UNKNOWN", f"unknown report key {u!r}", self.es_key + ("report", u))
        report = Report(**{k: str(v) for k, v in rep.items() if k in Report.__dataclass_fields__})
        if not report.language or report.language == "en":
            theme = self.raw.get("theme") or {}
            if isinstance(theme, dict) and theme.get("language"):
                report = Report(**{**report.__dict__, "language": str(theme["language"])})
        return report

    def citations(self) -> tuple[int, bool]:
        cit = self.es.get("citations") or {}
        k = self.es_key + ("citations",)
        if not isinstance(cit, dict):
            self.err("E-CONFIG-CITATIONS", "citations must be a mapping (et_al_min:, ibid:, conjunction:)", k)
            cit = {}
        et_al_min = cit.get("et_al_min", 3)
        if isinstance(et_al_min, bool) or not isinstance(et_al_min, int) or et_al_min < 1:
            self.err("E-CONFIG-CITATIONS", f"citations.et_al_min must be a whole number >= 1, not {et_al_min!r}",
                     k + ("et_al_min",))
            et_al_min = 3
        ibid = cit.get("ibid", True)
        if not isinstance(ibid, bool):
            self.err("E-CONFIG-CITATIONS", f"citations.ibid must be true or false, not {ibid!r}", k + ("ibid",))
            ibid = True
        return et_al_min, ibid

    def abbreviations(self) -> dict[str, str]:
        abbr = self.es.get("abbreviations") or {}
        if not isinstance(abbr, dict):
            self.err("E-CONFIG-ABBR", "abbreviations must map ABBR -> expansion", self.es_key + ("abbreviations",))
            return {}
        out: dict[str, str] = {}
        for a, x in abbr.items():
            if not isinstance(a, str) or not re.fullmatch(r"\w[\w&.+/-]*", a) or not isinstance(x, str):
                self.err("E-CONFIG-ABBR", f"abbreviation {a!r} must be a word (letters, digits) with a text expansion",
                         self.es_key + ("abbreviations", a))
            else:
                out[a] = x
        return out

    def pdf_flag(self) -> bool:
        pdf_flag = self.es.get("pdf", True)
        if not isinstance(pdf_flag, bool):
            self.err("E-CONFIG-UNKNOWN", f"pdf must be true or false, not {pdf_flag!r}", self.es_key + ("pdf",))
            return False
        return pdf_flag

    def gate_allow(self) -> list[str]:
        gate = self.es.get("gate") or {}
        allow: list[str] = []
        if isinstance(gate, dict) and not isinstance(gate.get("allow") or [], list):
            self.err("E-CONFIG-GATE", "gate.allow must be a list of {text:, reason:} entries",
                     self.es_key + ("gate", "allow"))
        elif isinstance(gate, dict):
            for i, a in enumerate(gate.get("allow") or []):
                if isinstance(a, dict) and isinstance(a.get("text"), str) and a.get("reason"):
                    allow.append(a["text"])
                else:
                    self.err("E-CONFIG-GATE", "each gate.allow entry needs 'text' and a 'reason' (reviewed overlap)",
                             self.es_key + ("gate", "allow", i))
        return allow


class ConfigDumper(yaml.SafeDumper):
    """Writes a config back as YAML, keeping tags it does not know (``!ENV``...) as written."""


ConfigDumper.add_representer(Tagged, tagged_representer)  # type: ignore[arg-type]  # stubs: Dumper subclass
