"""Lay out the payload tree: every file at its install path with its final mode.

Both formats copy this tree verbatim (rpm %install, debian/rules), so modes
and symlinks are decided once, here, from the rendering context's entries.
Owners are not set here (the build may run unprivileged): rpm uses %attr,
deb applies them in postinst. Every mtime is SOURCE_DATE_EPOCH, so the tree
is the same on every machine.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _at(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _parent(root: Path, path: str) -> None:
    parent = _at(root, path).parent
    parent.mkdir(parents=True, exist_ok=True)


def stage(entries: list[dict], root: Path, source_date_epoch: int, blobs=None) -> None:
    """``blobs``: a pkgfactory.package.blobs.Blobs shared by the run's packages; files are
    linked from it instead of copied."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for e in entries:
        dest = _at(root, e["path"])
        _parent(root, e["path"])
        if e["kind"] == "dir":
            dest.mkdir(exist_ok=True)
        elif e["kind"] == "symlink":
            os.symlink(e["target"], dest)
            continue
        elif blobs is not None:
            blobs.place(e["source"], int(e["mode"], 8), source_date_epoch, dest)
            continue
        else:
            shutil.copyfile(e["source"], dest)  # follows a source symlink: the file is copied
        os.chmod(dest, int(e["mode"], 8))

    # Directories created on the way are 0755 whatever the umask; declared ones keep their mode.
    declared = {_at(root, e["path"]) for e in entries if e["kind"] == "dir"}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            p = Path(dirpath) / name
            if p not in declared and not p.is_symlink():
                os.chmod(p, 0o755)
    os.chmod(root, 0o755)
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            path = Path(dirpath) / name
            if blobs is None or path.lstat().st_mtime != source_date_epoch:
                os.utime(path, (source_date_epoch, source_date_epoch), follow_symlinks=False)
    os.utime(root, (source_date_epoch, source_date_epoch))
