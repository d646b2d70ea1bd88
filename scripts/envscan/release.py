"""Releasing an edition, verifying a published folder, publishing editions side by side.

``release``: refuses a dirty working tree; ``check --strict`` of every edition (warnings fail,
except codes explicitly waived, which the manifest records with their counts); the redline
(``build/redline/``) and the release authority's sign-off (refused without one, pointing at the
redline); a build of every edition with the leak gate; then the **manifest**
``releases/<year>.json`` -- edition year, period, source commit, per output its marking and the
SHA-256 of every file, the sanitisation report's totals, the works each edition cites, the
sign-off -- committed, and the commit tagged ``edition/<year>``. Finally each edition with a
``cycle: publish:`` target is copied into ``<target>/<year>/`` beside the editions published
before, with ``versions.json`` in mike's format (mkdocs-material's version selector reads it)
and a redirect to the newest. Each target holds one edition only: the public site's version
list can never name a restricted edition.

``verify [FOLDER]``: re-hashes ``site/`` (or an edition folder, or a publish target with all its
years) against the manifests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic, error, has_errors, warning

if TYPE_CHECKING:
    from .config import Config
    from .project import Project

MANIFEST_DIR = "releases"
MANIFEST_VERSION = 1


# --------------------------------------------------------------------------- the manifest


@dataclass(frozen=True)
class OutputRecord:
    edition: str
    title: str
    marking: str  # the edition's highest marking
    folder: str  # where it was built (project-relative)
    files: dict[str, str]  # relative path -> SHA-256
    sanitisation: dict[str, Any]  # the sanitisation report's totals (as its JSON holds them)
    cited: tuple[str, ...] = ()  # bibliography keys the edition cites


@dataclass(frozen=True)
class SignOff:
    name: str
    date: str  # ISO date, UTC
    redline_sha256: str


@dataclass(frozen=True)
class Manifest:
    year: str
    title: str
    period: str
    due: str
    source_commit: str
    tag: str
    released_at: str
    envscan_version: str
    sign_off: SignOff
    outputs: dict[str, OutputRecord]
    waived: dict[str, int] = field(default_factory=dict)  # warning code -> count accepted at release
    format: int = MANIFEST_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=True) + "\n"

    @staticmethod
    def from_json(text: str) -> Manifest:
        d = json.loads(text)
        outs = {k: OutputRecord(**{**v, "cited": tuple(v.get("cited", ()))}) for k, v in d["outputs"].items()}
        return Manifest(**{**d, "sign_off": SignOff(**d["sign_off"]), "outputs": outs})


def manifest_path(root: Path, year: str) -> Path:
    return root / MANIFEST_DIR / f"{year}.json"


def load_manifests(root: Path) -> dict[str, Manifest]:
    """Every manifest in ``releases/``, by year (unreadable ones are skipped)."""
    out = {}
    d = root / MANIFEST_DIR
    for p in sorted(d.glob("*.json")) if d.is_dir() else []:
        try:
            out[p.stem] = Manifest.from_json(p.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return out


def hash_tree(folder: Path) -> dict[str, str]:
    """relative POSIX path -> SHA-256 of every file under ``folder`` (symlinks are not followed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out[p.relative_to(folder).as_posix()] = h.hexdigest()
    return dict(sorted(out.items()))


def compare(expected: dict[str, str], actual: dict[str, str], where: str) -> list[Diagnostic]:
    diags = []
    for p in sorted(set(expected) - set(actual)):
        diags.append(error("E-VERIFY-MISSING", f"{p} is in the manifest but missing", where))
    for p in sorted(set(actual) - set(expected)):
        diags.append(error("E-VERIFY-EXTRA", f"{p} is not in the manifest", where))
    for p in sorted(set(expected) & set(actual)):
        if expected[p] != actual[p]:
            diags.append(error("E-VERIFY-CHANGED", f"{p} differs from the released file (SHA-256)", where))
    return diags


# --------------------------------------------------------------------------- release


@dataclass
class ReleaseResult:
    diags: list[Diagnostic]
    usage: bool = False
    manifest: Path | None = None
    tag: str = ""
    redline: Path | None = None
    redline_pdf: Path | None = None
    redline_sha256: str = ""
    published: list[Path] = field(default_factory=list)


def strict_check(root: Path, waive: set[str]) -> tuple[list[Diagnostic], dict[str, int], dict[str, tuple[str, ...]],
                                                       Project | None]:
    """``check --strict`` of every edition: (failing diagnostics, waived counts, cited keys per
    edition, project)."""
    from .cycle import cycle_checks
    from .pipeline import assemble_checked, read_and_resolve

    project, eds, diags, usage = read_and_resolve(root, None)
    cited: dict[str, tuple[str, ...]] = {}
    if project is not None:
        for ed in eds:
            ae, found = assemble_checked(project, ed, render=False)
            diags += found
            cited[ed.name] = tuple(ae.references)
        diags += cycle_checks(project.source)
    waived: dict[str, int] = {}
    failing: list[Diagnostic] = []
    for d in diags:
        if d.severity != "error" and d.code in waive:
            waived[d.code] = waived.get(d.code, 0) + 1
        else:
            failing.append(d)
    return failing, dict(sorted(waived.items())), cited, project


def release(root: Path, sign_off: str | None, redline_sha: str | None = None, waive: tuple[str, ...] = (),
            pdf: bool = True, now: dt.datetime | None = None) -> ReleaseResult:
    from . import __version__
    from . import vcs
    from .cycle import cycle_config
    from .pipeline import build_project
    from .redline import compute_redline, narrower, write_redline

    now = now or dt.datetime.now(dt.timezone.utc)
    res = ReleaseResult([])

    def refuse(code: str, msg: str, *hints: str, usage: bool = True) -> ReleaseResult:
        res.diags.append(error(code, msg, "", 0, 0, *hints))
        res.usage = usage
        return res

    if not vcs.is_repo(root):
        return refuse("E-RELEASE-GIT", "the project is not a git working tree", "a release is recorded as a git tag")
    dirty = vcs.dirty_paths(root)
    if dirty:
        listed = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        return refuse("E-RELEASE-DIRTY", f"the working tree has uncommitted changes ({listed})",
                      "commit or stash them: a release records the commit its outputs were built from")
    failing, waived, cited, project = strict_check(root, set(waive))
    if project is None or failing:
        res.diags += failing
        return refuse("E-RELEASE-CHECK", f"check --strict failed ({len(failing)} problem(s)); nothing was released",
                      "fix them, or waive a warning code that the release authority accepts with --waive CODE",
                      usage=False)
    cfg = project.config
    year = cfg.report.year
    if not re.fullmatch(r"\d{4}", year or ""):
        return refuse("E-RELEASE-YEAR", f"report.year {year!r} is not a year", "set report: year: in mkdocs.yml")
    tag = vcs.tag_for(year)
    if vcs.has_ref(root, tag) or manifest_path(root, year).exists():
        return refuse("E-RELEASE-EXISTS", f"edition {year} was released already ({tag})",
                      "start the next edition with 'envscan edition start YEAR'")
    cyc, d = cycle_config(cfg)
    d += check_targets(root, cyc.publish, cfg.docs_dir)  # before anything is built or recorded
    if d:
        res.diags += d
        return res
    commit = vcs.head(root)
    widest = max(cfg.editions.values(), key=lambda e: cfg.scheme.rank(e.max_marking))
    rls = [compute_redline(project.source, widest, n, commit) for n in narrower(project.source, widest)]
    res.redline, res.redline_pdf, res.redline_sha256 = write_redline(root, rls, year, pdf=pdf)
    shown = res.redline.relative_to(root).as_posix()
    if res.redline_pdf is not None:
        shown += f" (PDF: {res.redline_pdf.relative_to(root).as_posix()})"
    if not sign_off or not sign_off.strip():
        return refuse("E-RELEASE-SIGNOFF", f"no sign-off: the release authority reads the redline {shown} "
                      f"(SHA-256 {res.redline_sha256[:16]}…) first",
                      "then: envscan release --sign-off NAME [--redline-sha256 HASH]")
    if redline_sha and redline_sha.lower() != res.redline_sha256:
        return refuse("E-RELEASE-REDLINE", f"the redline changed since it was read (now {res.redline_sha256[:16]}…)",
                      f"read {shown} again and sign off with its current hash")
    diags, usage = build_project(root, None, pdf=pdf, strict=False, quiet=True)
    if has_errors(diags) or usage:
        res.diags += diags
        return refuse("E-RELEASE-BUILD", "the build failed; nothing was released", usage=usage)
    outputs = output_records(root, cfg, cited)
    m = Manifest(year, cfg.report.title, cfg.report.period, cfg.report.due, commit, tag,
                 now.strftime("%Y-%m-%dT%H:%M:%SZ"), __version__,
                 SignOff(sign_off.strip(), now.strftime("%Y-%m-%d"), res.redline_sha256), outputs, waived)
    mp = manifest_path(root, year)
    mp.parent.mkdir(parents=True, exist_ok=True)
    mp.write_text(m.to_json(), encoding="utf-8")
    rel = mp.relative_to(root).as_posix()
    try:
        vcs.git(root, "add", "--", rel)
        vcs.git(root, "commit", "-q", "-m", f"release: edition {year} (signed off by {sign_off.strip()})", "--", rel)
        vcs.git(root, "tag", "-a", tag, "-m", f"Edition {year}; manifest {rel}; source {commit}")
    except vcs.GitError as exc:
        return refuse("E-RELEASE-GIT", f"recording the release failed: {exc}",
                      f"the manifest is at {rel}; commit it and tag the commit {tag} by hand", usage=False)
    res.manifest, res.tag = mp, tag
    if cyc.publish:
        d, res.published = publish(root, cyc.publish, year, m)
        res.diags += d
    return res


def output_records(root: Path, cfg: Config, cited: dict[str, tuple[str, ...]]) -> dict[str, OutputRecord]:
    """Each built edition's record for the manifest: marking, the SHA-256 of every file, the
    sanitisation report's totals and the works it cites."""
    from .outputs import reports_dir

    outputs = {}
    for name, ed in cfg.editions.items():
        try:
            rep = json.loads((reports_dir(root) / f"{name}-sanitisation.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            rep = {}
        totals = {k: rep[k] for k in ("totals", "restricted_passages_gated", "gate", "notes", "known_gaps",
                                      "sources_cited", "sections") if k in rep}
        outputs[name] = OutputRecord(name, ed.title, ed.max_marking, f"site/{name}", hash_tree(root / "site" / name),
                                     totals, cited.get(name, ()))
    return outputs


# --------------------------------------------------------------------------- publish


def target_path(root: Path, spec: str) -> Path:
    p = Path(spec)
    return p if p.is_absolute() else root / p


def _versions(target: Path, edition: str) -> list[str]:
    from .outputs import marker_edition

    return sorted((p.name for p in target.iterdir() if re.fullmatch(r"\d{4}", p.name) and p.is_dir()
                   and marker_edition(p) == edition), reverse=True) if target.is_dir() else []


def versions_json(years: list[str]) -> str:
    """mike's ``versions.json``: newest first, the newest aliased ``latest``."""
    return json.dumps([{"version": y, "title": y, "aliases": ["latest"] if i == 0 else []}
                       for i, y in enumerate(years)], indent=2) + "\n"


def redirect_html(year: str) -> str:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Redirecting</title>'
            f'<meta http-equiv="refresh" content="0; url={year}/"><link rel="canonical" href="{year}/"></head>'
            f'<body><a href="{year}/">Edition {year}</a></body></html>\n')


def check_targets(root: Path, targets: dict[str, str], docs_dir: str = "docs") -> list[Diagnostic]:
    """Where an edition may be published: never inside (or around) another edition's target,
    an edition's build folder ``site/<edition>/``, a folder another edition publishes (its
    marker), the project's sources or envscan's working folders. Paths are resolved first, so
    no spelling (absolute, ``a/../b``, a symlink) gets around it."""
    from .outputs import marker_edition

    def inside(p: Path, folder: Path) -> bool:
        return p == folder or folder in p.parents

    root = root.resolve()
    resolved = {ed: target_path(root, spec).resolve() for ed, spec in targets.items()}
    out: list[Diagnostic] = []
    for ed, t in sorted(resolved.items()):
        spec = targets[ed]
        bad = ""
        for other, u in resolved.items():
            if other != ed and (inside(t, u) or inside(u, t)):
                bad = f"it overlaps the target of edition {other!r}"
        for folder, what in ((root / "site", "site/ (the editions' build folders)"), (root / docs_dir, "the chapters"),
                             (root / "bibliography", "bibliography/"), (root / ".git", ".git/"),
                             (root / "build", "build/")):
            if inside(t, folder) or (folder != root / "site" and inside(folder, t)):
                bad = bad or f"it is inside {what}"
        if inside(root, t):
            bad = bad or "it holds the project"
        for p in t.parents:
            owner = marker_edition(p)
            if owner is not None:
                bad = bad or f"it is inside {p}, a folder edition {owner!r} publishes"
        if t.exists() and marker_edition(t) not in (None, ed):
            bad = bad or f"it is the target of edition {marker_edition(t)!r}"
        if bad:
            out.append(error("E-PUBLISH-TARGET", f"cycle.publish target {spec!r} of edition {ed!r}: {bad}",
                             "mkdocs.yml", 0, 0, "give each edition a folder of its own outside site/, the sources "
                             "and every other edition's target"))
    return out


def publish(root: Path, targets: dict[str, str], year: str, manifest: Manifest) -> tuple[list[Diagnostic], list[Path]]:
    """Copy each edition's released folder into its target's ``<year>/``; rewrite the target's
    ``versions.json`` and redirect. A target holds one edition: its marker names it."""
    from . import vcs
    from .outputs import marker_edition, write_marker

    diags: list[Diagnostic] = check_targets(root, targets)
    if diags:
        return diags, []
    done = []
    for edition, spec in sorted(targets.items()):
        target = target_path(root, spec)
        rec = manifest.outputs.get(edition)
        src = root / "site" / edition
        if rec is None or marker_edition(src) != edition:
            diags.append(error("E-PUBLISH-SOURCE", f"no released output of edition {edition!r} in site/{edition}/",
                               spec))
            continue
        if target.exists():
            owner = marker_edition(target)
            if owner is None and any(target.iterdir()):
                diags.append(error("E-PUBLISH-TARGET", f"{spec} holds files envscan did not publish", spec,
                                   0, 0, "give each edition an empty folder of its own as its target"))
                continue
            if owner is not None and owner != edition:
                diags.append(error("E-PUBLISH-TARGET", f"{spec} is the target of edition {owner!r}, not {edition!r}",
                                   spec, 0, 0, "each edition is published to its own target"))
                continue
        target.mkdir(parents=True, exist_ok=True)
        write_marker(target, edition)
        dest = target / year
        if dest.exists() and marker_edition(dest) != edition:
            diags.append(error("E-PUBLISH-TARGET", f"{spec}/{year} exists and is not edition {edition!r}", spec))
            continue
        part = target / f".{year}.{os.getpid()}.part"
        shutil.rmtree(part, ignore_errors=True)
        shutil.copytree(src, part, symlinks=True)
        bad = compare(rec.files, hash_tree(part), f"{spec}/{year}")
        if bad:
            shutil.rmtree(part, ignore_errors=True)
            diags += bad
            continue
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(part, dest)
        years = _versions(target, edition)
        (target / "versions.json").write_text(versions_json(years), encoding="utf-8")
        (target / "index.html").write_text(redirect_html(years[0]), encoding="utf-8")
        done.append(target)
        try:
            inside = target.resolve().relative_to(root.resolve())
            if not vcs.is_ignored(root, inside.as_posix()):
                diags.append(warning("W-PUBLISH-TRACKED", f"{spec} is inside the working tree and not ignored",
                                     spec, 0, 0, "add it to .gitignore: the next release refuses a dirty tree"))
        except ValueError:
            pass
    return diags, done


# --------------------------------------------------------------------------- verify


def verify(root: Path, folder: Path | None = None) -> tuple[list[Diagnostic], list[str]]:
    """(diagnostics, lines of what was verified). ``folder``: ``site/`` (default), one edition
    folder, or a publish target (every year in it against its own manifest)."""
    from .outputs import MARKER, marker_edition

    folder = folder or root / "site"
    manifests = load_manifests(root)
    if not manifests:
        return [error("E-VERIFY-MANIFEST", f"no release manifest in {MANIFEST_DIR}/", MANIFEST_DIR)], []
    latest = manifests[max(manifests)]
    checks: list[tuple[Path, str, Manifest]] = []  # (folder, edition, manifest)
    if (folder / "versions.json").is_file() and marker_edition(folder):
        ed = marker_edition(folder)
        for y in _versions(folder, ed or ""):
            if y not in manifests:
                return [error("E-VERIFY-MANIFEST", f"no manifest for edition {y}", str(folder / y))], []
            checks.append((folder / y, ed or "", manifests[y]))
    elif marker_edition(folder):
        checks.append((folder, marker_edition(folder) or "", latest))
    elif folder.is_dir():
        for p in sorted(folder.iterdir()):
            if marker_edition(p) and (p / MARKER).is_file() and not p.name.endswith(".old"):
                checks.append((p, marker_edition(p) or "", latest))
    if not checks:
        return [error("E-VERIFY-FOLDER", f"{folder} holds no edition envscan built", str(folder))], []
    diags: list[Diagnostic] = []
    lines = []
    for path, ed, m in checks:
        rec = m.outputs.get(ed)
        if rec is None:
            diags.append(error("E-VERIFY-MANIFEST", f"the {m.year} manifest has no edition {ed!r}", str(path)))
            continue
        d = compare(rec.files, hash_tree(path), str(path))
        diags += d
        lines.append(f"{path}: edition {ed} {m.year}: {len(rec.files)} file(s) " + ("OK" if not d else
                                                                                    f"{len(d)} difference(s)"))
    return diags, lines
