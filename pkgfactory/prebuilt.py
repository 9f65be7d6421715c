"""Stage beside the build: packages built elsewhere, taken as they are for some target × arch.

A vendor that had its .debs signed by UnionTech (a UOS desktop installs nothing
else unless the site allows it) must ship exactly those files. ``pkgfactory
bundle --prebuilt DIR`` reads ``DIR/<target>/<arch>/<one .deb or .rpm>``:

* :func:`find_prebuilt`, before anything is built, reads each file's name,
  version and arch and refuses one that is not the project's (one line naming
  the file and the field);
* :func:`take_prebuilt` is what the build does instead of building that
  target × arch: the artifact check built packages get, the check of every ELF
  file inside against the target's floors (with the project's waivers), then a
  byte-identical copy into ``OUT/<target>/<arch>/`` under the name a build
  would give it. It fills the same :class:`pkgfactory.build.BuildResult`.

From there on it is a package like the others: a .deb goes into the apt
repository unchanged; an .rpm is signed with the bundle key like a built one
(rpm keeps one signature of a kind, so the one it came with is replaced; the
header and payload it signs are not touched). docs/project-file.md has the rules.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from debian.debian_support import Version

from pkgfactory import runner
from pkgfactory.check import check_binary
from pkgfactory.check.waivers import apply_waivers
from pkgfactory.digest import sha256_file
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.inspect import inspect_file
from pkgfactory.package import deb as deb_pkg
from pkgfactory.package import packager_for
from pkgfactory.package import rpm as rpm_pkg
from pkgfactory.package.native import copy_atomic
from pkgfactory.repo.apt import control_fields

EXT = {"deb": ".deb", "rpm": ".rpm"}
_RPM_QF = "%{NAME}\\n%{EPOCHNUM}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n"
_ELF = b"\x7fELF"


def find_prebuilt(root, project, matrix, on_skip=None) -> dict[tuple[str, str], Path]:
    """{(target id, arch): package file} for the selected ``matrix``; InputError on anything else.

    A target the project does not build, or an arch its profile has no edition
    for, is refused (a typo must not mean "build it instead"); one this run does
    not select (--target/--arch) is left alone, and ``on_skip(dir, why)`` is told.
    """
    if root is None:
        return {}
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"--prebuilt {root}: not a directory")
    selected = {(p.id, a): p for p, a in matrix}
    profiles = {p.id: p for p, _a in matrix}
    skip = on_skip or (lambda path, why: None)
    found: dict[tuple[str, str], Path] = {}
    entries = 0
    for tdir in sorted(root.iterdir()):
        if not tdir.is_dir() or tdir.name not in project.targets:
            raise InputError(f"{tdir}: not a target of {project.path.name} (build.targets: "
                             f"{', '.join(project.targets)}); --prebuilt DIR holds <target>/<arch>/<package>")
        for adir in sorted(tdir.iterdir()):
            if not adir.is_dir() or adir.name not in project.arches:
                raise InputError(f"{adir}: not an arch {project.path.name} builds ({', '.join(project.arches)}); "
                                 "--prebuilt DIR holds <target>/<arch>/<package>")
            files = sorted(adir.iterdir())
            if len(files) != 1 or not files[0].is_file():
                raise InputError(f"{adir}: holds {len(files)} entries; give exactly one package file there")
            entries += 1
            key = (tdir.name, adir.name)
            profile = profiles.get(tdir.name)
            if profile is not None and adir.name not in profile.arches:
                raise InputError(f"{files[0]}: target {tdir.name} has no {adir.name} edition")
            if key not in selected:
                skip(adir, f"arch {adir.name} is not selected (--arch)" if profile
                     else f"target {tdir.name} is not selected (--target)")
                continue
            check_metadata(files[0], project, profile, adir.name)
            found[key] = files[0]
    if not entries:
        raise InputError(f"--prebuilt {root}: holds no package (expected <target>/<arch>/<package>)")
    return found


def check_metadata(path: Path, project, profile, arch: str) -> None:
    """Refuse, naming the file and the field, a package that is not the project's for ``profile`` ``arch``."""
    p = project.package
    ext = EXT[profile.family]
    if path.suffix != ext:
        raise InputError(f"{path}: {profile.id} is a {profile.family} target: give a {ext} package")
    if profile.family == "deb":
        got = control_fields(path, None)
        want = {"Package": p.name, "Version": f"{p.epoch}:{p.version}-{p.release}" if p.epoch else
                f"{p.version}-{p.release}", "Architecture": profile.dpkg_arch(arch)}
        same = {"Version": _same_deb_version}
    else:
        proc = runner.run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", _RPM_QF, str(path)], check=False)
        lines = proc.stdout.splitlines()
        if proc.returncode != 0 or len(lines) != 5:
            raise InputError(f"{path}: not a readable .rpm package")
        got = dict(zip(("Name", "Epoch", "Version", "Release", "Arch"), lines))
        want = {"Name": p.name, "Epoch": str(p.epoch), "Version": p.version, "Release": p.release, "Arch": arch}
        same = {}
    for field, value in want.items():
        have = got.get(field, "")
        if not have or not same.get(field, str.__eq__)(have, value):
            raise InputError(f"{path}: field '{field}' is {have!r}, {project.path.name} makes {value!r} "
                             f"for {profile.id} {arch}")


def _same_deb_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)  # dpkg's rules: "0:1.2-1" is "1.2-1"
    except ValueError:
        return False


def take_prebuilt(project, profile, arch: str, path: Path, out_dir: Path, log: Path | None, result) -> None:
    """Check ``path`` for ``profile`` ``arch`` and copy it into ``out_dir``; fills ``result`` as a build does."""
    result.prebuilt = str(path)
    try:
        blocking = [f"{path.name}: {x}" for x in packager_for(profile).artifact_check(path, profile, arch, log=log)]
        blocking += _check_contents(project, profile, arch, path, log, result)
        if blocking:
            result.status = "check-failed"
            result.error = f"prebuilt {path} not taken for {profile.id} {arch}: " + "; ".join(blocking)
            return
        final = _copy(path, out_dir / profile.id / arch / _name(project, profile, arch))
    except PkgfError as e:
        result.status = "build-failed"
        result.error = f"prebuilt {path}: {e}"
        return
    result.status = "built"
    result.artifact = str(final.relative_to(out_dir))
    result.sha256 = sha256_file(final)
    result.size = final.stat().st_size


def _name(project, profile, arch: str) -> str:
    """The name a build gives the package, so OUT looks the same whichever way it came."""
    if profile.family == "deb":
        return deb_pkg.artifact_name(project, profile.dpkg_arch(arch))
    return rpm_pkg.artifact_name(project, arch)


def _copy(src: Path, final: Path) -> Path:
    copy_atomic(src, final)
    if sha256_file(final) != sha256_file(src):
        raise PkgfError(f"copying {src} to {final} changed it")
    return final


def _check_contents(project, profile, arch: str, path: Path, log, result) -> list[str]:
    """Every ELF file in the package judged like a project binary; returns the unwaived errors."""
    ours = {b.dest: sha256_file(Path(b.sources[arch])) for b in project.binaries if arch in b.sources}
    blocking = []
    with tempfile.TemporaryDirectory(prefix="pkgf-prebuilt-") as tmp:
        for name, file in _elf_files(profile.family, path, Path(tmp), log):
            verdict = check_binary(inspect_file(file), profile, arch)
            digest = sha256_file(file)
            # UOS signing may write into the ELF files: a different hash is reported, not refused.
            result.checks.append({"binary": name, **verdict.to_dict(), "path": name, "sha256": digest,
                                  "same_as_project": ours.get(name) == digest if name in ours else None})
            waived, errors = apply_waivers(project, verdict, name, profile.id, arch)
            result.waivers += waived
            blocking += errors
    return blocking


def _elf_files(family: str, path: Path, tmp: Path, log):
    """(path inside the package, extracted file) for every regular ELF file the package installs."""
    if family == "deb":
        root = tmp / "root"
        runner.run(["dpkg-deb", "--extract", str(path), str(root)], log=log)
        for dirpath, _dirs, names in os.walk(root):
            for n in sorted(names):
                f = Path(dirpath) / n
                if not f.is_symlink() and f.is_file() and _is_elf(f):
                    yield "/" + f.relative_to(root).as_posix(), f
        return
    copy = tmp / "p.rpm"
    shutil.copyfile(path, copy)
    runner.run(["rpm2archive", "--nocompression", str(copy)], cwd=tmp, log=log)
    with tarfile.open(tmp / "p.rpm.tar") as tar:
        for i, member in enumerate(tar):
            if not member.isreg():
                continue
            data = tar.extractfile(member).read()
            if data.startswith(_ELF):
                f = tmp / f"elf-{i}"
                f.write_bytes(data)
                yield "/" + member.name.removeprefix("./").lstrip("/"), f


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == _ELF
