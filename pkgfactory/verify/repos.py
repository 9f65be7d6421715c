"""Repository chains: InRelease → Packages → .deb, and repomd.xml(.asc) → primary → .rpm.

Each signed index is checked against the bundled key only; each file it
names must match the hash it gives, so one signature covers every package.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import tempfile
from pathlib import Path

from debian.deb822 import Packages, Release
from defusedxml import ElementTree

from pkgfactory.errors import PkgfError
from pkgfactory.sign.verify import rpm_check, verify_clearsigned, verify_detached
from pkgfactory.verify.layout import KEY, BadPath, safe_relpath, walk_files
from pkgfactory.digest import sha256_file

_OPENERS = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
_REPO = "{http://linux.duke.edu/metadata/repo}"
_COMMON = "{http://linux.duke.edu/metadata/common}"


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _inside(base: Path, name: str) -> Path:
    return base / safe_relpath(name)


def _regular_files(root: Path, regular: set[str] | None) -> set[str]:
    return set(walk_files(root)[0]) if regular is None else regular


def _readable(root: Path, path: Path, regular: set[str]) -> bool:
    """Only regular files reached without a symlink are read (see verify_bundle); the rest are reported there."""
    return _rel(root, path) in regular


def check_apt(root: Path, key: Path, problems, log=None, regular: set[str] | None = None) -> int:
    """Every dists/<suite> under repos/deb; returns the number of .deb files proven.
    ``key``: the public key file, or a pkgfactory.sign.verify.OneKey made from it."""
    proven = 0
    regular = _regular_files(root, regular)
    for suite_dir in sorted((root / "repos" / "deb").glob("*/dists/*")):
        repo = suite_dir.parent.parent
        inrelease, release, release_sig = suite_dir / "InRelease", suite_dir / "Release", suite_dir / "Release.gpg"
        if not _readable(root, inrelease, regular):
            problems(_rel(root, inrelease), "missing or not a regular file")
            continue
        with tempfile.TemporaryDirectory(prefix="pkgf-verify-") as tmp:
            signed = Path(tmp) / "Release"
            try:
                verify_clearsigned(inrelease, key, output=signed, log=log)
            except PkgfError as e:
                problems(_rel(root, inrelease), str(e).split(": ", 1)[-1])
                continue
            text = signed.read_text(errors="replace")
        if not (_readable(root, release, regular) and _readable(root, release_sig, regular)):
            problems(_rel(root, release_sig), "Release or Release.gpg missing or not a regular file")
        else:
            try:
                verify_detached(release, release_sig, key, log=log)
                if release.read_text(errors="replace") != text:
                    problems(_rel(root, release), "differs from the signed text of InRelease")
            except PkgfError as e:
                problems(_rel(root, release_sig), str(e).split(": ", 1)[-1])
        entries = Release(text).get("SHA256") or []
        if not entries:
            problems(_rel(root, inrelease), "lists no SHA256 checksums")
        packages_files = []
        for e in entries:
            try:
                path = _inside(suite_dir, e["name"])
            except BadPath as err:
                problems(_rel(root, inrelease), str(err))
                continue
            if not os.path.lexists(path):
                continue  # apt-ftparchive may list variants it did not write; apt skips them too
            if not _readable(root, path, regular):
                problems(_rel(root, path), "named by the signed Release but not a regular file")
                continue
            if sha256_file(path) != e["sha256"] or path.stat().st_size != int(e["size"]):
                problems(_rel(root, path), "does not match the hash in the signed Release")
                continue
            if path.name.startswith("Packages"):
                packages_files.append(path)
        seen: set[Path] = set()
        for pf in packages_files:
            opener = _OPENERS.get(pf.suffix, open)
            with opener(pf, "rt", encoding="utf-8", errors="replace") as f:
                for para in Packages.iter_paragraphs(f, use_apt_pkg=False):
                    try:
                        deb = _inside(repo, para["Filename"])
                    except (KeyError, BadPath) as err:
                        problems(_rel(root, pf), f"bad Filename: {err}")
                        continue
                    if deb in seen:
                        continue
                    seen.add(deb)
                    if not _readable(root, deb, regular):
                        problems(_rel(root, deb), "named by Packages but missing or not a regular file")
                    elif sha256_file(deb) != para.get("SHA256") or deb.stat().st_size != int(para.get("Size", -1)):
                        problems(_rel(root, deb), "does not match its SHA256/Size in Packages")
                    else:
                        proven += 1
        for deb in sorted(repo.rglob("*.deb")):
            if deb not in seen and _readable(root, deb, regular):
                problems(_rel(root, deb), "not named by any signed Packages index")
    return proven


def check_yum(root: Path, key: Path, problems, log=None, regular: set[str] | None = None) -> int:
    """Every repodata/ under repos/rpm; returns the number of .rpm files proven by the metadata."""
    proven = 0
    regular = _regular_files(root, regular)
    for repomd in sorted((root / "repos" / "rpm").glob("*/*/repodata/repomd.xml")):
        repo = repomd.parent.parent
        if not (_readable(root, repomd, regular) and _readable(root, repomd.with_name("repomd.xml.asc"), regular)):
            problems(_rel(root, repomd) + ".asc", "repomd.xml or its signature missing or not a regular file")
            continue
        try:
            verify_detached(repomd, repomd.with_name("repomd.xml.asc"), key, log=log)
        except PkgfError as e:
            problems(_rel(root, repomd) + ".asc", str(e).split(": ", 1)[-1])
            continue
        try:
            tree = ElementTree.parse(repomd)
        except Exception as e:  # defusedxml and expat raise several types on hostile XML
            problems(_rel(root, repomd), f"unreadable XML: {e}")
            continue
        primary = None
        for data in tree.getroot().iter(f"{_REPO}data"):
            loc, csum = data.find(f"{_REPO}location"), data.find(f"{_REPO}checksum")
            if loc is None or csum is None or csum.get("type") != "sha256":
                problems(_rel(root, repomd), f"entry {data.get('type')} lacks a sha256 checksum")
                continue
            try:
                path = _inside(repo, loc.get("href", ""))
            except BadPath as err:
                problems(_rel(root, repomd), str(err))
                continue
            if not _readable(root, path, regular) or sha256_file(path) != (csum.text or "").strip():
                problems(_rel(root, path), "missing or does not match repomd.xml")
            elif data.get("type") == "primary":
                primary = path
        if primary is None:
            problems(_rel(root, repomd), "has no valid primary metadata")
            continue
        opener = _OPENERS.get(primary.suffix, open)
        with opener(primary, "rb") as f:
            prim = ElementTree.parse(f)
        listed = set()
        for pkg in prim.getroot().iter(f"{_COMMON}package"):
            loc, csum = pkg.find(f"{_COMMON}location"), pkg.find(f"{_COMMON}checksum")
            try:
                rpm = _inside(repo, loc.get("href", "") if loc is not None else "")
            except BadPath as err:
                problems(_rel(root, primary), str(err))
                continue
            listed.add(rpm)
            if csum is None or csum.get("type") != "sha256" or not _readable(root, rpm, regular) \
                    or sha256_file(rpm) != (csum.text or "").strip():
                problems(_rel(root, rpm), "missing or does not match the repository metadata")
            else:
                proven += 1
        for rpm in sorted(repo.rglob("*.rpm")):
            if rpm not in listed and _readable(root, rpm, regular):
                problems(_rel(root, rpm), "not listed in the signed repository metadata")
    return proven


def check_rpm_signatures(root: Path, key: Path, problems, log=None, regular: set[str] | None = None) -> int:
    regular = _regular_files(root, regular)
    rpms = sorted(p for p in root.rglob("*.rpm") if _readable(root, p, regular))
    ok = 0
    try:
        results = rpm_check(rpms, key, log=log) if rpms else []
    except PkgfError as e:
        # rpmkeys refuses to import a KEY.asc that holds no usable key: a fault of the
        # bundle to report like any other, not an error that hides the whole report.
        problems(KEY, f"rpmkeys cannot use it to check RPM signatures: {str(e).split(': ', 1)[-1]}")
        return 0
    for result in results:
        if result.ok:
            ok += 1
        else:
            problems(_rel(root, result.path), f"RPM signature: {result.reason}")
    return ok
