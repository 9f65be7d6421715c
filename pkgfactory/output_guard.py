"""An output directory holds one run's result; a new run never silently replaces or mixes with another.

What a build or bundle leaves in OUT: ``build-report.json``, the packages in
``OUT/<target>/<arch>/``, ``OUT/logs/*.log``, and for a bundle
``OUT/<name>-<version>/`` (with its ``manifest.json``) and ``<name>-<version>.tar``.
A new run may go ahead where OUT holds none of that, or the result of the
same run — the same package name, epoch, version and release for the same
target × arch pairs — which it refreshes file by file (the bundle directory
and tar by one atomic rename each; a package that fails this time takes the
earlier run's away, while an earlier bundle stays until a new one replaces it). Anything else would leave a report that
describes only part of what is there, or packages no report describes: the
run is refused before it writes anything, unless ``force``, which first
removes everything the earlier runs left (keeping, for a bundle, the
directory and tar of its own name until the new ones replace them atomically).
Files pkgfactory did not write are never touched.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pkgfactory.errors import InputError
from pkgfactory.output_lock import run_notes
from pkgfactory.targets import KNOWN_ARCHES
from pkgfactory.verify.layout import MANIFEST

LOGS = "logs"
PACKAGE_SUFFIXES = (".rpm", ".deb")


@dataclass(frozen=True)
class Identity:
    """What a run makes: one package version for a set of target × arch pairs."""
    name: str
    epoch: int
    version: str
    release: str
    pairs: frozenset[tuple[str, str]]

    @property
    def evr(self) -> str:
        return f"{self.epoch}:{self.version}-{self.release}" if self.epoch else f"{self.version}-{self.release}"

    def describe(self) -> str:
        shown = ", ".join(f"{t}/{a}" for t, a in sorted(self.pairs)[:4])
        more = f" and {len(self.pairs) - 4} more" if len(self.pairs) > 4 else ""
        return f"{self.name} {self.evr} for {shown}{more}"

    def owns(self, target: str, arch: str, file_name: str) -> bool:
        """Whether a package file in OUT/<target>/<arch>/ is one this run makes (rpm or deb naming)."""
        return (target, arch) in self.pairs and file_name.startswith(
            (f"{self.name}-{self.version}-{self.release}.", f"{self.name}_{self.version}-{self.release}_"))


def identity(project, matrix) -> Identity:
    p = project.package
    return Identity(p.name, p.epoch, p.version, p.release, frozenset((prof.id, a) for prof, a in matrix))


@dataclass
class Earlier:
    """What earlier runs left in an output directory."""
    report: Path | None = None
    report_identity: Identity | None = None  # None: the report is unreadable
    bundles: dict[Path, Identity | None] = field(default_factory=dict)
    packages: list[tuple[str, str, Path]] = field(default_factory=list)  # (target, arch, file)
    logs: list[Path] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.report is None and not self.bundles and not self.packages


def _read_identity(doc: dict, pairs) -> Identity:
    pkg = doc["package"]
    return Identity(str(pkg["name"]), int(pkg.get("epoch") or 0), str(pkg["version"]), str(pkg["release"]),
                    frozenset((str(t), str(a)) for t, a in pairs))


def _load(path: Path, pairs_of) -> Identity | None:
    try:
        doc = json.loads(path.read_text())
        return _read_identity(doc, pairs_of(doc))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def scan(out_dir: Path) -> Earlier:
    from pkgfactory.buildreport import REPORT_NAME

    found = Earlier()
    report = out_dir / REPORT_NAME
    if report.is_file():
        found.report = report
        found.report_identity = _load(report, lambda d: [(r["target"], r["arch"]) for r in d["results"]])
    for d in sorted(out_dir.iterdir()):
        if d.name.startswith(".") or not d.is_dir():
            continue
        if (d / MANIFEST).is_file():
            found.bundles[d] = _load(d / MANIFEST, lambda m: [(p["target"], p["arch"]) for p in m["packages"]])
            continue
        for a in sorted(d.iterdir()) if d.name != LOGS else ():
            if a.is_dir() and a.name in KNOWN_ARCHES:
                found.packages += [(d.name, a.name, f) for f in sorted(a.iterdir())
                                   if f.is_file() and f.suffix in PACKAGE_SUFFIXES]
    logs = out_dir / LOGS
    if logs.is_dir():
        found.logs = sorted(f for f in logs.iterdir() if f.is_file() and f.suffix == ".log")
    return found


def _conflict(earlier: Earlier, new: Identity) -> str | None:
    """Why the new run would replace or mix with what is there; None when it is the same run again."""
    if earlier.report is not None:
        old = earlier.report_identity
        if old is None:
            return f"{earlier.report.name} of an earlier run that cannot be read"
        if old != new:
            return f"a build of {old.describe()}"
    for d, old in earlier.bundles.items():
        if old is None:
            return f"the bundle {d.name} with an unreadable {MANIFEST}"
        if old != new:
            return f"the bundle {d.name} of {old.describe()}"
    for target, arch, f in earlier.packages:
        if not new.owns(target, arch, f.name):
            return f"the package {target}/{arch}/{f.name}, which this run does not make"
    return None


def claim(out_dir: Path, project, matrix, *, bundle_name: str | None = None, force: bool = False) -> None:
    """Refuse, or with ``force`` clear, an output directory that holds another run's result.

    Call it holding the output lock, before writing anything. ``bundle_name``
    is the bundle directory the run will publish (None for a build): it is
    kept for the atomic replacement at the end. The first claim under a lock
    decides; the bundle's build stage claims again and is let through.
    """
    out_dir = Path(out_dir)
    notes = run_notes(out_dir)
    if notes.get("claimed"):
        return  # a bundle claimed it and now runs its build stage
    notes["claimed"] = True
    new = identity(project, matrix)
    earlier = scan(out_dir)
    if earlier.empty:
        return
    why = _conflict(earlier, new)
    if why is None and not force:
        return
    if why is not None and not force:
        kind = "bundle" if bundle_name else "build"
        raise InputError(f"{out_dir} holds {why}; this {kind} of {new.describe()} would replace it or leave "
                         f"its files mixed with the new ones: pass --force to remove the earlier run first, or "
                         f"use another --output", code="output-holds-other-run")
    _clear(out_dir, earlier, keep=bundle_name)


def _clear(out_dir: Path, earlier: Earlier, keep: str | None) -> None:
    # The report first: a run killed half-way through here leaves packages no report
    # claims, never a report that claims packages that are gone.
    if earlier.report is not None:
        earlier.report.unlink(missing_ok=True)
    for d in earlier.bundles:
        if d.name != keep:
            d.with_name(f"{d.name}.tar").unlink(missing_ok=True)
            shutil.rmtree(d)
    dirs = set()
    for target, arch, f in earlier.packages:
        f.unlink(missing_ok=True)
        dirs.add(out_dir / target / arch)
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        for p in (d, d.parent):
            try:
                p.rmdir()  # only when nothing else is in it
            except OSError:
                pass
    for f in earlier.logs:
        f.unlink(missing_ok=True)
