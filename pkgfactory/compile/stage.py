"""Stage 0: a Go module → for each arch, the one binary that starts on every selected target.

Everything that can be refused is refused before the first compile (toolchain,
go line, zig for cgo, floors, {commit} outside git). Then per binary and arch:
the cache entry for the content key, or ``go list`` (a main package, nothing
to download) and ``go build`` into a new entry. Each result is inspected and
checked against every selected target with that arch: the floors make it
pass, so a floor finding there is a pkgfactory bug and says so.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from pkgfactory import __version__
from pkgfactory.check import check_binary
from pkgfactory.compile import cache, command
from pkgfactory.compile.floors import Floor, floors
from pkgfactory.compile.module import Module, read_module
from pkgfactory.compile.toolchain import GoToolchain, Zig, find_go, find_zig
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.inspect import inspect_file
from pkgfactory.package.common import source_date_epoch as resolve_sde
from pkgfactory.project import Binary, Project
from pkgfactory.versions import version_key

# Findings about what the floors decide: one of these on a compiled binary means the floors or the
# compile went wrong, never the user's input.
_FLOOR_CODES = {"os-mismatch", "not-executable", "arch-mismatch", "arch-unsupported", "loongarch-world",
                "interpreter-missing", "glibc-too-new", "kernel-too-old", "cpu-level"}


@dataclass
class Compiled:
    binary: Binary
    arch: str
    path: Path  # the binary, in the compile cache
    record: dict


@dataclass
class CompileReport:
    project: Project
    toolchain: GoToolchain
    zig: Zig | None
    module: Module
    source_date_epoch: int
    floors: dict[str, Floor]
    results: list[Compiled] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "pkgfactory": __version__,
            "project_file": str(self.project.path),
            "source_date_epoch": self.source_date_epoch,
            "toolchain": self.toolchain.to_dict(),
            "zig": self.zig.to_dict() if self.zig else None,
            "module": self.module.to_dict(),
            "floors": {a: f.to_dict() for a, f in self.floors.items()},
            "binaries": [c.record for c in self.results],
        }

    def apply(self) -> Project:
        """The project with every compiled binary's sources filled in, and this report attached."""
        built: dict[str, dict[str, Path]] = {}
        for c in self.results:
            built.setdefault(c.binary.dest, {})[c.arch] = c.path
        binaries = tuple(dataclasses.replace(b, sources=built[b.dest]) if b.go else b
                         for b in self.project.binaries)
        return dataclasses.replace(self.project, binaries=binaries, compile_report=self.to_dict())


def compile_project(project: Project, matrix, *, sources_root=None, exclude=(), source_date_epoch: int | None = None,
                    verbose: bool = False, on_start=None, on_done=None) -> CompileReport:
    """Compile every ``go`` binary for every arch of ``matrix`` ((profile, arch) pairs).

    ``exclude``: directories under the module that are not its source (the output directory).
    """
    go = project.go
    if go is None:
        raise InputError(f"{project.path}: nothing to compile: the project has no [go] table")
    label = str(project.path)
    toolchain = find_go(go.toolchain)
    root = Path(os.path.realpath(sources_root if sources_root is not None else project.root))
    module = read_module(toolchain, go.module, root, label)
    arch_floors = floors(matrix, toolchain.version, toolchain.release)
    zig = find_zig() if go.cgo else None
    sde = resolve_sde(project, source_date_epoch)
    _refuse_missing_commit(project, module)
    tree = cache.tree_digest([module.dir, *module.replaces], [Path(p) for p in exclude])

    report = CompileReport(project=project, toolchain=toolchain, zig=zig, module=module, source_date_epoch=sde,
                           floors=arch_floors)
    arches = [a for a in project.arches if a in arch_floors]
    for i, binary in enumerate(project.binaries, 1):
        if not binary.go:
            continue
        for arch in arches:
            floor = arch_floors[arch]
            inv = command.plan(toolchain, go, module, floor, binary.go, _values(project, module, floor, sde),
                               zig, sde)
            # The floor reaches the binary only through the environment (GOARCH, GOAMD64, CC's glibc):
            # a selection with the same floors shares the entry.
            key = cache.key({"go": toolchain.version, "goroot": toolchain.goroot, "zig": zig.version if zig else None,
                             "tree": tree, "package": binary.go, "args": inv.args, "env": inv.settings()})
            started = time.monotonic()
            entry = cache.lookup(key)
            if on_start:
                on_start({"name": binary.name, "arch": arch, "cache": "hit" if entry else "miss",
                          "floor": floor.to_dict(), "cgo": go.cgo})
            if entry is None:
                command.check_package(inv, f"{label}: key 'binary[{i}].go'")

                def make(tmp: Path, inv=inv, arch=arch) -> dict:
                    command.build(inv, tmp / cache.BINARY, arch=arch, log=tmp / cache.LOG, verbose=verbose)
                    return {"key": key}

                entry = cache.store(key, make)
                hit = False
            else:
                hit = True
            record = _record(binary, arch, floor, inv, toolchain, zig, entry, hit, time.monotonic() - started)
            record["checks"] = _self_check(project, matrix, entry.binary, arch, floor, record)
            report.results.append(Compiled(binary=binary, arch=arch, path=entry.binary, record=record))
            if on_done:
                on_done(record)
    return report


def compiled_project(project: Project, matrix, **kwargs) -> Project:
    """For build and bundle: the project whose ``go`` binaries are compiled for ``matrix``.

    An empty ``matrix`` (bundle: every selected pair supplied prebuilt) compiles nothing and
    needs no toolchain; the ``go`` binaries then have no sources.
    """
    if project.go is None or not matrix:
        return project
    return compile_project(project, matrix, **kwargs).apply()


def _values(project: Project, module: Module, floor: Floor, sde: int) -> dict[str, str]:
    p = project.package
    date = datetime.datetime.fromtimestamp(sde, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"name": p.name, "version": p.version, "release": p.release, "epoch": str(p.epoch),
            "commit": module.commit or "", "date": date, "arch": floor.arch, "targets": ",".join(floor.targets)}


def _refuse_missing_commit(project: Project, module: Module) -> None:
    for name, template in project.go.x:
        if "{commit}" in template and not module.commit:
            raise InputError(f"{project.path}: key 'go.x.{name}': uses {{commit}}, but {module.dir} is not in a "
                             "git work tree with a commit (or git is not installed)")


def _record(binary: Binary, arch: str, floor: Floor, inv: command.Invocation, toolchain: GoToolchain,
            zig: Zig | None, entry: cache.Entry, hit: bool, seconds: float) -> dict:
    env = inv.settings()
    return {
        "binary": binary.dest, "name": binary.name, "package": binary.go, "arch": arch,
        "targets": list(floor.targets), "floor": floor.to_dict(),
        "go_version": toolchain.version, "goarch": floor.goarch,
        "cgo": env["CGO_ENABLED"] == "1", "cc": env.get("CC"), "cxx": env.get("CXX"),
        "zig": zig.version if zig else None,
        "argv": inv.argv(entry.binary), "cwd": str(inv.module),
        "env": {**env, **{k: inv.env[k] for k in ("GOROOT", "GOCACHE", "GOMODCACHE")}},
        "sha256": entry.record["sha256"], "size": entry.record["size"],
        "cache": "hit" if hit else "miss", "key": entry.dir.name, "path": str(entry.binary),
        "log": str(entry.log) if entry.log.exists() else None, "seconds": round(seconds, 2),
    }


def _self_check(project: Project, matrix, path: Path, arch: str, floor: Floor, record: dict) -> list[dict]:
    info = inspect_file(path)
    where = f"the {arch} binary pkgfactory compiled for {record['name']} (floor glibc {floor.glibc})"
    glibc_max = info.elf.glibc_max
    if glibc_max and version_key(glibc_max) > version_key(floor.glibc):
        raise PkgfError(f"pkgfactory bug: {where} needs glibc {glibc_max}, above the floor; please report it "
                        f"(binary: {path})", exit_code=70)
    checks = []
    for profile, a in matrix:
        if a != arch:
            continue
        verdict = check_binary(info, profile, arch)
        checks.append({"target": profile.id, **verdict.to_dict()})
        for f in verdict.findings:
            if f.code in _FLOOR_CODES and not project.waived(profile.id, arch, f.code):
                raise PkgfError(f"pkgfactory bug: {where} fails check on {profile.id}: {f.code}: {f.message}; "
                                f"please report it (binary: {path})", exit_code=70)
    return checks
