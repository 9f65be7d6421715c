"""Repository chains: InRelease → Packages → .deb, and repomd.xml(.asc) → primary → .rpm.

Each signed index is checked against the bundled key only; each file it
names must match the size and hash it gives, so one signature covers every
package. Only files of the right size are read (``Files``), and compressed
indexes are inflated within a limit (pkgfactory.verify.limits).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from debian.deb822 import Packages, Release
from defusedxml import ElementTree

from pkgfactory.digest import sha256_file
from pkgfactory.errors import PkgfError
from pkgfactory.sign.verify import rpm_check, verify_detached
from pkgfactory.verify import clearsigned
from pkgfactory.verify.layout import KEY, BadPath, safe_relpath
from pkgfactory.verify.limits import TooLarge, inflate_limit, read_index

_REPO = "{http://linux.duke.edu/metadata/repo}"
_COMMON = "{http://linux.duke.edu/metadata/common}"


@dataclass
class Files:
    """What the chains may read: ``fit``, the regular files whose size is the proven manifest's.
    ``present`` are all regular files found; one present but not fit is reported already."""
    root: Path
    fit: set[str]
    present: set[str]

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def readable(self, path: Path) -> bool:
        return self.rel(path) in self.fit

    def reported(self, path: Path) -> bool:
        rel = self.rel(path)
        return rel in self.present and rel not in self.fit

    def under(self, top: Path, suffix: str) -> list[Path]:
        prefix = self.rel(top) + "/"
        return sorted(self.root / f for f in self.fit if f.startswith(prefix) and f.endswith(suffix))


def _why(e: PkgfError) -> str:
    return str(e).split(": ", 1)[-1]


def _matches(path: Path, size, sha256) -> bool:
    """Size first: a file of the wrong size is never hashed."""
    return path.stat().st_size == _int(size) and sha256_file(path) == (sha256 or "").strip()


def _signed_release(files: Files, inrelease: Path, key, problems, log) -> bytes | None:
    """The message of InRelease as apt reads it, once its signature holds; None after reporting why not."""
    try:
        message, signature = clearsigned.split(inrelease.read_bytes())
    except clearsigned.NotAsAptReadsIt as e:
        problems(files.rel(inrelease), str(e))
        return None
    with tempfile.TemporaryDirectory(prefix="pkgf-verify-") as tmp:
        (Path(tmp) / "Release").write_bytes(message)
        (Path(tmp) / "Release.sig").write_bytes(signature)
        try:
            verify_detached(Path(tmp) / "Release", Path(tmp) / "Release.sig", key, log=log)
        except PkgfError as e:
            problems(files.rel(inrelease), _why(e))
            return None
    return message


def check_apt(files: Files, key, problems, log=None) -> int:
    """Every dists/<suite> under repos/deb; returns the number of .deb files proven.
    ``key``: the public key file, or a pkgfactory.sign.verify.OneKey made from it."""
    root = files.root
    proven = 0
    for suite_dir in sorted((root / "repos" / "deb").glob("*/dists/*")):
        repo = suite_dir.parent.parent
        inrelease, release, release_sig = suite_dir / "InRelease", suite_dir / "Release", suite_dir / "Release.gpg"
        if not files.readable(inrelease):
            if not files.reported(inrelease):
                problems(files.rel(inrelease), "missing or not a regular file")
            continue
        message = _signed_release(files, inrelease, key, problems, log)
        if message is None:
            continue
        if not (files.readable(release) and files.readable(release_sig)):
            if not (files.reported(release) or files.reported(release_sig)):
                problems(files.rel(release_sig), "Release or Release.gpg missing or not a regular file")
        else:
            try:
                verify_detached(release, release_sig, key, log=log)
                if clearsigned.canonical(release.read_bytes()) != message:
                    problems(files.rel(release), "differs from the signed text of InRelease")
            except PkgfError as e:
                problems(files.rel(release_sig), _why(e))
        entries = Release(message.decode("utf-8", "replace")).get("SHA256") or []
        if not entries:
            problems(files.rel(inrelease), "lists no SHA256 checksums")
        stated = {e["name"]: e for e in entries}
        packages_files = []
        for e in entries:
            try:
                path = suite_dir / safe_relpath(e["name"])
            except BadPath as err:
                problems(files.rel(inrelease), str(err))
                continue
            if not os.path.lexists(path) or files.reported(path):
                continue  # apt-ftparchive may list variants it did not write; apt skips them too
            if not files.readable(path):
                problems(files.rel(path), "named by the signed Release but not a regular file")
            elif not _matches(path, e["size"], e["sha256"]):
                problems(files.rel(path), "does not match the size and hash in the signed Release")
            elif path.name.split(".")[0] == "Packages":
                # A compressed index is bound by what the Release says of the uncompressed one.
                plain = stated.get(path.relative_to(suite_dir).with_suffix("").as_posix()) if path.suffix else None
                packages_files.append((path, plain))
        seen: set[Path] = set()
        for pf, plain in packages_files:
            limit = inflate_limit(pf.stat().st_size, _int(plain["size"]) if plain else None)
            try:
                data = read_index(pf, limit)
            except (TooLarge, ValueError) as err:
                problems(files.rel(pf), str(err))
                continue
            if plain and not _same(data, plain):
                problems(files.rel(pf), "decompressed, it does not match the signed Release's hash of "
                         f"{plain['name']}")
                continue
            for para in Packages.iter_paragraphs(io.StringIO(data.decode("utf-8", "replace")), use_apt_pkg=False):
                try:
                    deb = repo / safe_relpath(para["Filename"])
                except (KeyError, BadPath) as err:
                    problems(files.rel(pf), f"bad Filename: {err}")
                    continue
                if deb in seen:
                    continue
                seen.add(deb)
                if files.reported(deb):
                    continue
                if not files.readable(deb):
                    problems(files.rel(deb), "named by Packages but missing or not a regular file")
                elif not _matches(deb, para.get("Size", -1), para.get("SHA256")):
                    problems(files.rel(deb), "does not match its SHA256/Size in Packages")
                else:
                    proven += 1
        for deb in files.under(repo, ".deb"):
            if deb not in seen:
                problems(files.rel(deb), "not named by any signed Packages index")
    return proven


def _int(text) -> int | None:
    """A size as a signed index writes it: decimal digits only (no sign, no exponent)."""
    text = text.strip() if isinstance(text, str) else text
    return int(text) if isinstance(text, str) and text.isascii() and text.isdigit() else None


def _same(data: bytes, entry) -> bool:
    return len(data) == _int(entry["size"]) and hashlib.sha256(data).hexdigest() == entry["sha256"]


def check_yum(files: Files, key, problems, log=None) -> int:
    """Every repodata/ under repos/rpm; returns the number of .rpm files proven by the metadata."""
    root = files.root
    proven = 0
    for repomd in sorted((root / "repos" / "rpm").glob("*/*/repodata/repomd.xml")):
        repo = repomd.parent.parent
        asc = repomd.with_name("repomd.xml.asc")
        if not (files.readable(repomd) and files.readable(asc)):
            if not (files.reported(repomd) or files.reported(asc)):
                problems(files.rel(asc), "repomd.xml or its signature missing or not a regular file")
            continue
        try:
            verify_detached(repomd, asc, key, log=log)
        except PkgfError as e:
            problems(files.rel(asc), _why(e))
            continue
        try:
            tree = ElementTree.parse(repomd)
        except Exception as e:  # defusedxml and expat raise several types on hostile XML
            problems(files.rel(repomd), f"unreadable XML: {e}")
            continue
        primary = None
        for data in tree.getroot().iter(f"{_REPO}data"):
            loc, csum = data.find(f"{_REPO}location"), data.find(f"{_REPO}checksum")
            if loc is None or csum is None or csum.get("type") != "sha256":
                problems(files.rel(repomd), f"entry {data.get('type')} lacks a sha256 checksum")
                continue
            try:
                path = repo / safe_relpath(loc.get("href", ""))
            except BadPath as err:
                problems(files.rel(repomd), str(err))
                continue
            if files.reported(path):
                continue
            size = data.findtext(f"{_REPO}size")
            if not files.readable(path) or not _matches(path, size if size is not None else path.stat().st_size,
                                                        csum.text):
                problems(files.rel(path), "missing or does not match repomd.xml")
            elif data.get("type") == "primary":
                primary = (path, _int(data.findtext(f"{_REPO}open-size")))
        if primary is None:
            problems(files.rel(repomd), "has no valid primary metadata")
            continue
        path, open_size = primary
        try:
            prim = ElementTree.fromstring(read_index(path, inflate_limit(path.stat().st_size, open_size)))
        except (TooLarge, ValueError) as err:
            problems(files.rel(path), str(err))
            continue
        except Exception as e:  # hostile XML, as above
            problems(files.rel(path), f"unreadable XML: {e}")
            continue
        listed = set()
        for pkg in prim.iter(f"{_COMMON}package"):
            loc, csum = pkg.find(f"{_COMMON}location"), pkg.find(f"{_COMMON}checksum")
            size = pkg.find(f"{_COMMON}size")
            try:
                rpm = repo / safe_relpath(loc.get("href", "") if loc is not None else "")
            except BadPath as err:
                problems(files.rel(path), str(err))
                continue
            listed.add(rpm)
            if files.reported(rpm):
                continue
            if csum is None or csum.get("type") != "sha256" or not files.readable(rpm) \
                    or not _matches(rpm, size.get("package") if size is not None else None, csum.text):
                problems(files.rel(rpm), "missing or does not match the repository metadata")
            else:
                proven += 1
        for rpm in files.under(repo, ".rpm"):
            if rpm not in listed:
                problems(files.rel(rpm), "not listed in the signed repository metadata")
    return proven


def check_rpm_signatures(files: Files, key, problems, log=None) -> int:
    rpms = files.under(files.root / "repos", ".rpm")
    ok = 0
    try:
        results = rpm_check(rpms, key, log=log) if rpms else []
    except PkgfError as e:
        # rpmkeys refuses to import a KEY.asc that holds no usable key: a fault of the
        # bundle to report like any other, not an error that hides the whole report.
        problems(KEY, f"rpmkeys cannot use it to check RPM signatures: {_why(e)}")
        return 0
    for result in results:
        if result.ok:
            ok += 1
        else:
            problems(files.rel(result.path), f"RPM signature: {result.reason}")
    return ok
