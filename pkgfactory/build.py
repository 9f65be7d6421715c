"""Stage: project file → checked binaries → one package per target × arch, plus a report.

Each binary is inspected once. For each target and arch: check every binary
against the target (a failure stops that package unless the project waives the
finding, with a reason), render and stage the build tree, and key it by
everything that goes into the build (pkgfactory.buildkey). Packages with equal
keys are one build; a key built before comes from the package cache
(pkgfactory.pkgcache); the distinct builds run ``jobs`` at a time
(pkgfactory.schedule), each in the builder with its own log. Every package,
built, copied or cached, is checked against its own target's floors before it
is renamed into ``OUT/<target>/<arch>/``. The JSON report is written last, in
the matrix's order, also by rename, so an interrupted run never leaves output
that looks done.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pkgfactory import output_guard, schedule
from pkgfactory.builder import rpmbuild_version
from pkgfactory.buildkey import build_key
from pkgfactory.buildreport import REPORT_NAME, BuildReport, BuildResult
from pkgfactory.check import check_binary
from pkgfactory.check.waivers import apply_waivers
from pkgfactory.compile import compiled_project
from pkgfactory.digest import sha256_file
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.inspect import inspect_file
from pkgfactory.leftovers import clean_leftovers
from pkgfactory.output_lock import output_lock
from pkgfactory.package import packager_for
from pkgfactory.package.blobs import Blobs
from pkgfactory.package.common import source_date_epoch as resolve_sde
from pkgfactory.package.native import publish_file
from pkgfactory.pkgcache import PackageCache
from pkgfactory.prebuilt import take_prebuilt
from pkgfactory.project import Project
from pkgfactory.project.select import select_build
from pkgfactory.published import make_dir, open_log, refuse_unmakeable, write_atomic



def _inputs(project: Project, infos: dict | None = None) -> dict[str, str]:
    """sha256 of every file the packages are made from, keyed by path as the project names it;
    the binaries' from their inspection (``infos``), which hashed them already."""
    known = {str(project.binaries[i].sources[arch]): info.sha256
             for i, b in enumerate(project.binaries) for (dest, arch), info in (infos or {}).items()
             if dest == b.dest and arch in b.sources}
    paths = [project.path]
    for b in project.binaries:
        paths += list(b.sources.values())
    paths += [f.source for f in (*project.files, *project.configs)]
    paths += [u.source for u in project.units]
    s = project.scripts
    paths += [x.source for x in (s.preinstall, s.postinstall, s.preremove, s.postremove) if x]
    return {str(p): known.get(str(p)) or sha256_file(Path(p)) for p in dict.fromkeys(paths)}


def _check(project: Project, infos: dict, profile, arch: str, result: BuildResult) -> list[str]:
    """Check the binaries for one target × arch; returns the unwaived errors."""
    blocking = []
    for binary in project.binaries:
        verdict = check_binary(infos[(binary.dest, arch)], profile, arch)
        result.checks.append({"binary": binary.dest, **verdict.to_dict()})
        waived, errors = apply_waivers(project, verdict, binary.dest, profile.id, arch)
        result.waivers += waived
        blocking += errors
    return blocking


def plan_build(project_path, *, target_ids=(), arches=(), targets_dirs=(), sources_root=None,
               trust_templates: bool = False, compile_options: dict | None = None) -> tuple[Project, list]:
    """The project and its (profile, arch) matrix, or the input error that stops a build.

    A project with [go] is compiled here first (stage 0; ``compile_options`` go to
    pkgfactory.compile.compiled_project): its binaries' sources are then the compiled files.
    """
    project, matrix = select_build(project_path, target_ids=target_ids, arches=arches, targets_dirs=targets_dirs,
                                   sources_root=sources_root, trust_templates=trust_templates)
    return compiled_project(project, matrix, sources_root=sources_root, **(compile_options or {})), matrix


def run_build(project_path, *, out_dir: Path, builder, target_ids=(), arches=(), targets_dirs=(),
              sources_root=None, trust_templates: bool = False, source_date_epoch: int | None = None,
              compile_options: dict | None = None, force: bool = False, **options) -> BuildReport:
    """``options``: see :class:`Options`."""
    refuse_unmakeable(out_dir, "output directory")  # before minutes of compiling, not after
    project, matrix = plan_build(project_path, target_ids=target_ids, arches=arches, targets_dirs=targets_dirs,
                                 sources_root=sources_root, trust_templates=trust_templates,
                                 compile_options=compile_defaults(out_dir, source_date_epoch,
                                                                  options.get("verbose", False), compile_options))
    return build_planned(project, matrix, out_dir=out_dir, builder=builder, source_date_epoch=source_date_epoch,
                         force=force, **options)


def compile_defaults(out_dir, source_date_epoch, verbose, given: dict | None) -> dict:
    """What the compile stage needs from a build: the output directory is not module source."""
    return {"exclude": [Path(out_dir).absolute()], "source_date_epoch": source_date_epoch, "verbose": verbose,
            **(given or {})}


@dataclass
class Options:
    """How to build, not what: none of these change a package's bytes."""

    verbose: bool = False
    jobs: int | None = None  # None: one per core
    cache: bool = True  # use (and fill) the package cache
    on_plan: object = None  # f(results): every package, in the report's order, before any build
    on_start: object = None  # f(result): the package's turn came
    on_step: object = None  # f(result, step): "cache", "build", "check" (live progress)
    on_done: object = None  # f(result): finished, built or not


def build_planned(project: Project, matrix, *, out_dir: Path, builder, source_date_epoch: int | None = None,
                  prebuilt=None, force: bool = False, **options) -> BuildReport:
    """Build ``matrix``; the (target id, arch) pairs in ``prebuilt`` (from pkgfactory.prebuilt.find_prebuilt)
    are taken as supplied instead of built. ``options``: see :class:`Options`."""
    opts = Options(**options)
    prebuilt = prebuilt or {}
    sde = resolve_sde(project, source_date_epoch)
    out_dir = Path(out_dir).absolute()
    make_dir(out_dir, "output directory")
    # Two runs into one output directory would share work directories and overwrite
    # each other's packages and report; the second one fails at once instead.
    with output_lock(out_dir):
        output_guard.claim(out_dir, project, matrix, force=force)
        return _build_locked(project, matrix, sde, out_dir, builder, opts, prebuilt)


@dataclass
class _Package:
    """One target × arch on its way: what to build it with and where its result goes."""

    profile: object
    arch: str
    packager: object
    result: BuildResult
    log: Path
    checked_in: float  # seconds spent checking and keying it
    prebuilt: Path | None = None  # supplied already built: taken instead of built (pkgfactory.prebuilt)


def _inspect(project: Project, matrix, prebuilt: dict) -> dict:
    """(binary dest, arch) -> BinaryInfo. An arch whose every package is supplied prebuilt needs no
    source: a compiled binary was not compiled for it (its packages' own binaries are checked)."""
    to_build = {a for p, a in matrix if (p.id, a) not in prebuilt}
    infos = {}
    for binary in project.binaries:
        for arch in sorted({a for _p, a in matrix}):
            if arch not in binary.sources:
                if arch not in to_build:
                    continue
                raise InputError(f"{project.path.name}: binary {binary.dest} has no source for {arch}")
            infos[(binary.dest, arch)] = inspect_file(binary.sources[arch])
    return infos


def _build_locked(project: Project, matrix, sde: int, out_dir: Path, builder, opts: Options,
                  prebuilt: dict) -> BuildReport:
    logs = out_dir / "logs"
    make_dir(logs, "log directory")
    work_root = out_dir / ".work"
    make_dir(work_root, "work directory")
    own_work = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=work_root))
    clean_leftovers(out_dir, matrix, work_root, own_work)

    try:
        infos = _inspect(project, matrix, prebuilt)
        report = BuildReport(project=project, out_dir=out_dir, source_date_epoch=sde,
                             builder=builder.describe(), tool_versions=builder.tool_versions(logs / "tools.log"),
                             inputs=_inputs(project, infos), profiles={p.id: p for p, _a in matrix},
                             jobs=opts.jobs or schedule.default_jobs(), infos=infos)
        report.inputs.update({str(f): sha256_file(f) for f in prebuilt.values()})
        # Everything is checked, rendered and keyed before anything is built: a broken
        # template or project script is bad input (exit 2, nothing written), not one failed
        # package among others that were built. The trial work dirs are removed at once and
        # made again just before their build; the payload files in them are links to one
        # copy per run (pkgfactory.package.blobs), held to the digests just taken.
        blobs = Blobs(own_work / "blobs", expected=report.inputs)
        packages = [_checked(project, infos, profile, arch, sde, own_work, logs, builder,
                             prebuilt.get((profile.id, arch)), blobs) for profile, arch in matrix]
        report.results = [p.result for p in packages]
        groups: dict[str, list[_Package]] = {}
        for p in packages:
            if p.result.build_key:
                groups.setdefault(p.result.build_key, []).append(p)
        builds = _Builds(project, sde, out_dir, own_work, builder, opts, blobs)
        if opts.on_plan:
            opts.on_plan(report.results)
        for p in packages:
            if p.prebuilt is not None:
                builds.start(p)
                started = time.monotonic()
                take_prebuilt(project, p.profile, p.arch, p.prebuilt, out_dir, p.log, p.result)
                builds.finish(p, started)
            elif p.result.status == "check-failed":
                builds.start(p)
                builds.finish(p, time.monotonic())
        schedule.run_all(list(groups.values()), builds.build_group, report.jobs)
    finally:
        shutil.rmtree(own_work, ignore_errors=True)
        try:
            work_root.rmdir()
        except OSError:
            pass  # a killed run's leftover we could not remove yet; the next run tries again
    write_atomic(out_dir / REPORT_NAME, json.dumps(report.to_dict(), indent=2) + "\n")
    return report


def _checked(project, infos, profile, arch: str, sde: int, own_work: Path, logs: Path, builder,
             prebuilt: Path | None = None, blobs: Blobs | None = None) -> _Package:
    """Check the binaries for one target × arch and, when they pass, render it and key the build."""
    packager = packager_for(profile)
    result = BuildResult(target=profile.id, arch=arch, format=packager.format)
    log = logs / f"{profile.id}-{arch}.log"
    log.unlink(missing_ok=True)
    result.log = str(log.relative_to(logs.parent))
    started = time.monotonic()
    if prebuilt is not None:
        pass  # judged when it is taken instead of built (pkgfactory.prebuilt)
    elif blocking := _check(project, infos, profile, arch, result):
        result.status = "check-failed"
        result.error = f"not packaged for {profile.id} {arch}: " + "; ".join(blocking)
    else:
        trial = own_work / f"trial-{profile.id}-{arch}"
        plan = packager.prepare(project, profile, arch, trial, source_date_epoch=sde, log=None,
                                rpmbuild=rpmbuild_version(builder), blobs=blobs)
        result.build_key = build_key(plan, builder.identity(plan.format), sde, blobs and blobs.digest)
        shutil.rmtree(trial, ignore_errors=True)
    return _Package(profile, arch, packager, result, log, time.monotonic() - started, prebuilt)


class _Builds:
    """The build of one key and the packages made from it; runs in a worker thread."""

    def __init__(self, project, sde, out_dir, own_work, builder, opts: Options, blobs: Blobs | None = None):
        self.project, self.sde, self.out_dir, self.own_work = project, sde, out_dir, own_work
        self.blobs = blobs
        self.builder, self.opts = builder, opts
        self.cache = PackageCache() if opts.cache else None
        self._lock = threading.Lock()  # callbacks print: one at a time

    def _call(self, fn, *args) -> None:
        if fn:
            with self._lock:
                fn(*args)

    def start(self, p: _Package) -> None:
        self._call(self.opts.on_start, p.result)

    def step(self, p: _Package, name: str) -> None:
        self._call(self.opts.on_step, p.result, name)

    def finish(self, p: _Package, started: float) -> None:
        p.result.seconds = round(time.monotonic() - started + p.checked_in, 2)
        if not p.result.ok:
            self._drop_earlier(p)
        self._call(self.opts.on_done, p.result)

    def _drop_earlier(self, p: _Package) -> None:
        """A rerun of the same version whose package failed leaves no package from an earlier run in
        its place: next to a report saying "failed" it would look like this run's result."""
        own = output_guard.identity(self.project, [(p.profile, p.arch)])
        d = self.out_dir / p.profile.id / p.arch
        for f in (d.iterdir() if d.is_dir() else ()):
            if f.is_file() and f.suffix in output_guard.PACKAGE_SUFFIXES and own.owns(p.profile.id, p.arch, f.name):
                f.unlink(missing_ok=True)
                _note(p.log, f"removed {f.name}, an earlier run's package: this run's failed")

    def build_group(self, group: list[_Package]) -> None:
        leader, key = group[0], group[0].result.build_key
        started = time.monotonic()
        for p in group:
            self.start(p)
        workdir = self.own_work / f"{leader.profile.id}-{leader.arch}"
        try:
            artifact = None
            if self.cache is not None:
                self.step(leader, "cache")
                artifact = self.cache.fetch(key, workdir / "cached", note=lambda m: _note(leader.log, m))
            leader.result.from_cache = artifact is not None
            if artifact is None:
                artifact = self._build(leader, workdir)
            elif len(group) == 1:
                _note(leader.log, f"taken from the package cache (build key {key})")
            else:
                _note(leader.log, f"taken from the package cache (build key {key}), for "
                                  f"{', '.join(f'{p.profile.id}/{p.arch}' for p in group)}")
        except PkgfError as e:
            for p in group:
                p.result.status, p.result.error = "build-failed", str(e)
                if p is not leader:
                    p.result.copy_of = f"{leader.profile.id}/{leader.arch}"
                    _note(p.log, f"not built: same build key as {p.result.copy_of}, whose build failed: {e}")
                self.finish(p, started)
            shutil.rmtree(workdir, ignore_errors=True)
            return
        for p in group:
            if p is not leader:
                p.result.copy_of = f"{leader.profile.id}/{leader.arch}"
                p.result.from_cache = leader.result.from_cache
                _note(p.log, f"same build key as {p.result.copy_of} ({key}): built once, copied")
            self._deliver(p, artifact)
            self.finish(p, started)
        shutil.rmtree(workdir, ignore_errors=True)

    def _build(self, p: _Package, workdir: Path) -> Path:
        self.step(p, "build")
        plan = p.packager.prepare(self.project, p.profile, p.arch, workdir, source_date_epoch=self.sde, log=p.log,
                                  rpmbuild=rpmbuild_version(self.builder), blobs=self.blobs)
        known = self.blobs and self.blobs.digest
        if build_key(plan, self.builder.identity(plan.format), self.sde, known) != p.result.build_key:
            raise PkgfError(f"the inputs of {p.profile.id} {p.arch} changed while pkgfactory ran "
                            "(a source file was rewritten?); run it again")
        self.builder.run(plan, p.log, self.opts.verbose)
        artifact = plan.artifact_path
        if not artifact.is_file():
            raise PkgfError(f"{plan.argv[0]} finished but {plan.artifact} was not written (log: {p.log})")
        if self.cache is not None:
            self.cache.put(p.result.build_key, artifact)
        return artifact

    def _deliver(self, p: _Package, artifact: Path) -> None:
        self.step(p, "check")
        r = p.result
        try:
            final = publish_file(artifact, p.packager.format, p.profile, p.arch, p.log,
                                 self.out_dir / p.profile.id / p.arch)
        except PkgfError as e:
            r.status, r.error = "build-failed", str(e)
            return
        r.status = "built"
        r.artifact = str(final.relative_to(self.out_dir))
        r.sha256 = sha256_file(final)
        r.size = final.stat().st_size


def _note(log: Path, message: str) -> None:
    with open_log(log) as f:
        f.write(f"pkgfactory: {message}\n")
