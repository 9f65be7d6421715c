"""An offline yum/dnf repository that EL7's yum 3 can read, with a signed repomd.xml.

createrepo_c >= 1.0 defaults to zstd metadata and no sqlite, which yum 3
cannot read ("Parsing primary.xml error"); 0.17 (Debian 12) already writes
gz/bz2. We ask for the compression the target profile lists, whatever the
installed version's defaults, and check repomd.xml afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from pkgfactory import runner
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.repo.common import empty_dir, source_date_epoch, unique_files

# createrepo_c's names, in the order we prefer them for old clients.
_COMPRESSIONS = ("gz", "xz", "bz2")
_SUFFIXES = {".gz": "gz", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zck": "zck"}
_REPO_NS = "{http://linux.duke.edu/metadata/repo}"


def make_yum_repo(repo_dir, rpm_paths: Iterable, profile, log: Path | None = None, *,
                  signer, epoch: int | None = None, verbose: bool = False, move: bool = False) -> Path:
    """Copy ``rpm_paths`` into ``repo_dir/Packages``, index them and sign the index.

    ``move``: the files are the caller's own copies, moved in rather than copied (on one
    file system; copied otherwise).
    ``repo_dir`` must be new or empty. ``epoch`` (default: $SOURCE_DATE_EPOCH)
    fixes the metadata's timestamps and revision so a rebuild gives the same
    repomd.xml. Returns the path of ``repodata/repomd.xml``; its detached
    armored signature is ``repomd.xml.asc`` next to it (what yum fetches with
    repo_gpgcheck=1).
    """
    if profile.family != "rpm":
        raise InputError(f"target {profile.id} is a {profile.family} target: it needs an apt repository")
    compression = profile.first_allowed("repo_metadata_compression", _COMPRESSIONS, ["gz"], "metadata compressions")
    rpms = unique_files(rpm_paths, ".rpm")
    repo = empty_dir(repo_dir)
    epoch = source_date_epoch(epoch)

    packages = repo / "Packages"
    packages.mkdir()
    for rpm in rpms:
        dest = packages / rpm.name
        if not move or not _moved(rpm, dest):
            shutil.copyfile(rpm, dest)
        if epoch is not None:
            # createrepo_c records each file's mtime in primary.xml.
            os.utime(dest, (epoch, epoch))

    runner.run(_argv(repo, compression, epoch), log=log, verbose=verbose)
    repomd = repo / "repodata" / "repomd.xml"
    _check_repomd(repomd, profile)
    signer.detach_sign(repomd, armor=True)
    return repomd


def _moved(src: Path, dest: Path) -> bool:
    try:
        os.replace(src, dest)
        return True
    except OSError:
        return False


def _argv(repo: Path, compression: str, epoch: int | None) -> list[str]:
    opts = _createrepo_options()
    argv = ["createrepo_c", "--checksum=sha256"]
    if "--repomd-checksum" in opts:
        argv.append("--repomd-checksum=sha256")
    if "--general-compress-type" in opts:
        argv += [f"--general-compress-type={compression}", f"--compress-type={compression}"]
    elif "--compress-type" in opts:
        argv.append(f"--compress-type={compression}")
    if _createrepo_version() >= (1, 0, 3) and "--compatibility" in opts:
        # From 1.0.3 this is what makes createrepo_c write classic gz metadata
        # (1.0.4: and sqlite); in 0.x it only changes --retain-old-md.
        argv.append("--compatibility")
    if "--database" in opts:
        # yum 3 reads the sqlite databases rather than building its own.
        argv.append("--database")
    if epoch is not None and "--set-timestamp-to-revision" in opts:
        argv += [f"--revision={epoch}", "--set-timestamp-to-revision"]
    elif epoch is not None and "--revision" in opts:
        argv.append(f"--revision={epoch}")
    return argv + [str(repo)]


# Repositories are made side by side (pkgfactory.bundle.repos): one asks, the others wait.
_ASKING = threading.Lock()


def _createrepo_options() -> frozenset[str]:
    with _ASKING:
        return _ask_options()


def _createrepo_version() -> tuple[int, ...]:
    with _ASKING:
        return _ask_version()


@lru_cache(maxsize=1)
def _ask_options() -> frozenset[str]:
    out = runner.run(["createrepo_c", "--help"]).stdout
    return frozenset(re.findall(r"(--[a-z][a-z0-9-]+)", out))


@lru_cache(maxsize=1)
def _ask_version() -> tuple[int, ...]:
    out = runner.run(["createrepo_c", "--version"]).stdout
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def _check_repomd(repomd: Path, profile) -> None:
    """Refuse metadata the target's yum/dnf could not read."""
    allowed = set(profile.packaging.get("repo_metadata_compression", ["gz"]))
    try:
        root = ET.parse(repomd).getroot()
    except (OSError, ET.ParseError) as e:
        raise PkgfError(f"{repomd}: createrepo_c wrote no readable repomd.xml: {e}") from None
    for data in root.iter(f"{_REPO_NS}data"):
        href = data.find(f"{_REPO_NS}location").get("href", "")
        comp = _SUFFIXES.get(Path(href).suffix)
        if comp is not None and comp not in allowed:
            raise PkgfError(f"{repomd}: {href} is {comp}-compressed, which target {profile.id} cannot read "
                            f"(it reads {', '.join(sorted(allowed))})")
        checksum = data.find(f"{_REPO_NS}checksum")
        if checksum is None or checksum.get("type") != "sha256":
            raise PkgfError(f"{repomd}: {href} has no sha256 checksum")
