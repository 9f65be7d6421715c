"""An offline apt repository: pool/, Packages indexes, a Release signed twice.

apt-ftparchive writes every index and the Release file; we only copy the
.debs into the pool, compress what it wrote, and sign. apt authenticates
the Release file (InRelease, or Release + Release.gpg) and follows its
hashes down to each .deb, so this signature is the trust root for debs.
"""

from __future__ import annotations

import email.utils
import gzip
import lzma
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterable

from debian import deb822

from pkgfactory import runner
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.repo.common import empty_dir, source_date_epoch, unique_files

COMPONENT = "main"
_SUITE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ARCH = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
_VERSION = re.compile(r"^([0-9]+:)?[A-Za-z0-9.+~-]+$")


def _dpkg_arch(name: str) -> str:
    # Only dpkg's names (Profile.dpkg_arch makes them): a guess here could
    # disagree with the Architecture the packages were built with.
    if not _ARCH.match(name) or name == "all":
        raise InputError(f"'{name}' is not a dpkg architecture name")
    return name


def make_apt_repo(repo_root, suite: str, deb_paths: Iterable, arches: Iterable[str], log: Path | None = None,
                  *, signer, date: int | None = None, origin: str = "pkgfactory", label: str | None = None,
                  verbose: bool = False) -> Path:
    """Lay out ``repo_root`` (new or empty) as a one-suite, one-component apt repository.

    ``arches`` are dpkg names (amd64, arm64); ``Architecture: all`` packages are
    listed under each. ``date`` (default $SOURCE_DATE_EPOCH, else now) is the
    Release file's Date. Returns ``dists/<suite>``, holding Release, InRelease
    and Release.gpg. Clients use ``deb [signed-by=KEY.gpg] file:/ROOT SUITE main``
    with a binary keyring (apt 2.2 takes no inline key).
    """
    if not _SUITE.match(suite or ""):
        raise InputError(f"suite '{suite}' must be letters, digits, '.', '_' or '-'")
    for value, what in ((origin, "origin"), (label or origin, "label")):
        if not value or any(ord(c) < 32 for c in value):
            raise InputError(f"Release {what} {value!r} is empty or has a control character")
    archs = sorted({_dpkg_arch(a) for a in arches})
    if not archs:
        raise InputError("no architectures for the apt repository")
    debs = unique_files(deb_paths, ".deb")
    root = empty_dir(repo_root)
    epoch = source_date_epoch(date)
    if epoch is None:
        epoch = int(time.time())

    for deb in debs:
        _into_pool(root, deb, archs, epoch, log)
    dist = root / "dists" / suite
    for arch in archs:
        (dist / COMPONENT / f"binary-{arch}").mkdir(parents=True)
    _packages(root, suite, archs, log, verbose)
    for arch in archs:
        _compress(dist / COMPONENT / f"binary-{arch}" / "Packages", epoch)
    release = _release(root, suite, archs, epoch, origin, label or origin, log, verbose)
    signer.clearsign(release, dist / "InRelease")
    signer.detach_sign(release, armor=True, out=dist / "Release.gpg")
    return dist


def _into_pool(root: Path, deb: Path, archs: list[str], epoch: int, log: Path | None) -> Path:
    fields = control_fields(deb, log)
    name, version, arch = fields.get("Package", ""), fields.get("Version", ""), fields.get("Architecture", "")
    if not _NAME.match(name) or not _VERSION.match(version):
        raise InputError(f"{deb}: not a valid package name/version ({name!r} {version!r})")
    if arch != "all" and arch not in archs:
        raise InputError(f"{deb}: Architecture {arch} is not one of this repository's ({', '.join(archs)})")
    # Debian's pool layout, and the name_version_arch.deb apt-ftparchive
    # filters on per architecture.
    prefix = name[:4] if name.startswith("lib") and len(name) > 3 else name[0]
    upstream = version.split(":", 1)[-1]
    dest = root / "pool" / COMPONENT / prefix / name / f"{name}_{upstream}_{arch}.deb"
    if dest.exists():
        raise InputError(f"{deb}: {name} {version} {arch} is given twice")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(deb, dest)
    os.utime(dest, (epoch, epoch))
    return dest


def control_fields(deb: Path, log: Path | None) -> deb822.Deb822:
    """Package, Version and Architecture of a .deb, read by dpkg-deb; InputError when it cannot."""
    proc = runner.run(["dpkg-deb", "--field", str(deb), "Package", "Version", "Architecture"], log=log,
                      check=False)
    if proc.returncode != 0:
        raise InputError(f"{deb}: not a readable .deb package")
    return deb822.Deb822(proc.stdout)


def _packages(root: Path, suite: str, archs: list[str], log: Path | None, verbose: bool) -> None:
    # Only names we validated go into the config; paths are relative to cwd=root.
    with tempfile.TemporaryDirectory(prefix="pkgf-apt-") as tmp:
        _generate(root, suite, archs, Path(tmp), log, verbose)
    for arch in archs:
        if not (root / "dists" / suite / COMPONENT / f"binary-{arch}" / "Packages").is_file():
            raise PkgfError(f"apt-ftparchive wrote no Packages for {arch} in {root}")


def _generate(root: Path, suite: str, archs: list[str], tmp: Path, log: Path | None, verbose: bool) -> None:
    # The cache database must be private to this run: apt-ftparchive keys it by the
    # pool-relative path, so a shared one hands out another repository's hashes.
    conf = "\n".join([
        f'Dir {{ ArchiveDir "."; CacheDir "{tmp}"; }};',
        'Default { Packages::Compress "."; };',
        'TreeDefault { Directory "pool/$(SECTION)"; };',
        f'Tree "dists/{suite}" {{ Sections "{COMPONENT}"; Architectures "{" ".join(archs)}"; }};',
        "",
    ])
    conf_file = tmp / "apt-ftparchive.conf"
    conf_file.write_text(conf)
    runner.run(["apt-ftparchive", "-o", "APT::FTPArchive::Contents=false", "generate", str(conf_file)],
               cwd=root, log=log, verbose=verbose)


def _compress(packages: Path, epoch: int) -> None:
    # Fixed gzip header time and xz settings: the same input gives the same bytes.
    data = packages.read_bytes()
    packages.with_name("Packages.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    packages.with_name("Packages.xz").write_bytes(lzma.compress(data, preset=6, check=lzma.CHECK_CRC64))
    for p in (packages, packages.with_name("Packages.gz"), packages.with_name("Packages.xz")):
        os.utime(p, (epoch, epoch))


def _release(root: Path, suite: str, archs: list[str], epoch: int, origin: str, label: str,
             log: Path | None, verbose: bool) -> Path:
    opt = "APT::FTPArchive::Release::"
    settings = {
        "Origin": origin, "Label": label, "Suite": suite, "Codename": suite,
        "Architectures": " ".join(archs), "Components": COMPONENT,
        # RFC 2822 in UTC, locale-independent, as the Debian archive writes it.
        "Date": email.utils.formatdate(epoch, usegmt=True).replace(" GMT", " UTC"),
    }
    argv = ["apt-ftparchive"]
    for key, value in settings.items():
        argv += ["-o", f"{opt}{key}={value}"]
    argv += ["release", f"dists/{suite}"]
    proc = runner.run(argv, cwd=root, log=log)
    text = proc.stdout if proc.stdout.endswith("\n") else proc.stdout + "\n"
    if "SHA256:" not in text:
        raise PkgfError(f"apt-ftparchive release wrote no SHA256 hashes for {root}/dists/{suite}")
    release = root / "dists" / suite / "Release"
    release.write_text(text, encoding="utf-8")
    os.utime(release, (epoch, epoch))
    return release
