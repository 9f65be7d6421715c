"""The build key: one hash of everything a package build reads.

Two plans with the same key make the same package, byte for byte: the key covers
the prepared work directory as the builder sees it (rendered spec or debian/ tree,
scriptlets, the staged payload with its modes, symlinks and the mtimes the build
keeps), the command, its environment (SOURCE_DATE_EPOCH) and the compression the
rendered files choose, and the builder (image id, tool versions). It leaves out
the target's name: a deb for debian-11 and one for debian-12 from identical inputs
are one build. Equal keys are built once per run and reused across runs from the
package cache (pkgfactory.pkgcache).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from pkgfactory.package.plan import BuildPlan

# Bump when the meaning of a key changes (what it covers, how it is spelled).
SCHEMA = "pkgfactory-build-key/1"
_CHUNK = 1 << 20


def build_key(plan: BuildPlan, builder: dict, source_date_epoch: int, known=None) -> str:
    """Hex sha256 over the plan, the builder identity and the work directory's tree.

    ``known(stat_result)``: the sha256 of a file already hashed (pkgfactory.package.blobs), or None."""
    h = hashlib.sha256()
    recipe = {"schema": SCHEMA, "format": plan.format, "arch": plan.arch, "argv": list(plan.argv),
              "cwd": plan.cwd, "env": plan.env, "artifact": plan.artifact, "builder": builder}
    h.update(json.dumps(recipe, sort_keys=True).encode() + b"\n")
    _tree(h, Path(plan.workdir), source_date_epoch, known or (lambda st: None))
    return h.hexdigest()


def _tree(h, root: Path, sde: int, known) -> None:
    """Every entry under root: path, type, mode, mtime as the build keeps it, and content.

    rpmbuild and dpkg-deb clamp mtimes to SOURCE_DATE_EPOCH, so a file written now
    (a rendered spec) and one written yesterday build the same package; an older
    mtime survives the clamp and counts as itself.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            st = path.lstat()
            rel = os.fsencode(path.relative_to(root))
            head = b"%s\0%o\0%d\0" % (rel, st.st_mode, min(int(st.st_mtime), sde))
            if stat.S_ISLNK(st.st_mode):
                h.update(b"L" + head + os.fsencode(os.readlink(path)) + b"\n")
            elif stat.S_ISREG(st.st_mode):
                h.update(b"F" + head + b"%d\0" % st.st_size + (known(st) or _file_digest(path)) + b"\n")
            else:
                h.update(b"D" + head + b"\n")


def _file_digest(path: Path) -> bytes:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").digest()
