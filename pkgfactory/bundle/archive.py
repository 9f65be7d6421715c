"""The bundle's tar and modes: deterministic, so the same tree always gives the same bytes.

Sorted names, every directory (tar would make missing ones with the extracting user's
umask and owner), one owner, one mtime (SOURCE_DATE_EPOCH), 0755 for directories and
install.sh and 0644 for the rest. assemble writes it; reuse regenerates it to prove a
stored tar is the tar of the tree it verified.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

from pkgfactory.published import DIR_MODE, FILE_MODE
from pkgfactory.verify.layout import walk_files


def normalise_modes(tree: Path) -> None:
    """0644 files, 0755 directories and install.sh, whatever umask the bundle was made or
    copied under (under umask 000 every file came out world-writable): the modes the tar
    records, so the directory and the tar say the same."""
    for dirpath, _dirnames, filenames in os.walk(tree):
        os.chmod(dirpath, DIR_MODE)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), FILE_MODE)
    os.chmod(tree / "install.sh", DIR_MODE)


def write_tar(tree: Path, name: str, fileobj, sde: int) -> None:
    """The tar of ``tree`` (its top directory named ``name``) written to ``fileobj``."""
    def norm(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        ti.mtime = sde
        ti.mode = 0o755 if ti.isdir() or ti.name == f"{name}/install.sh" else 0o644
        return ti

    files, _ = walk_files(tree)
    dirs = sorted({str(a) for f in files for a in Path(f).parents} - {"."}, key=lambda d: (d.count("/"), d))
    with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(tree, arcname=name, recursive=False, filter=norm)
        for d in dirs:
            tar.add(tree / d, arcname=f"{name}/{d}", recursive=False, filter=norm)
        for f in files:
            tar.add(tree / f, arcname=f"{name}/{f}", recursive=False, filter=norm)


class _Digest:
    """A write-only file that only hashes what is written."""

    def __init__(self):
        self.h, self.n = hashlib.sha256(), 0

    def write(self, b) -> int:
        self.h.update(b)
        self.n += len(b)
        return len(b)

    def tell(self) -> int:
        return self.n


def tar_sha256(tree: Path, name: str, sde: int) -> str:
    """sha256 of the tar :func:`write_tar` makes of ``tree``, written nowhere."""
    sink = _Digest()
    write_tar(tree, name, sink, sde)
    return sink.h.hexdigest()
