"""Payload files staged once per run and hard-linked into every package's tree.

Every package of a run ships the same binaries with the same modes and the same
mtime (SOURCE_DATE_EPOCH), so one copy of each (source, mode) serves all of them:
each work directory gets a hard link, not another copy of a binary that may be
hundreds of MB, and removing a work directory frees no data blocks. The copy is
hashed while it is written, so the build key (pkgfactory.buildkey) reads no file
twice, and held to the sha256 the inspect stage computed: what is packaged is
byte for byte what was inspected and checked, even if the source is rewritten
while pkgfactory runs.

Builds only read their tree (rpm's %install and debian/rules copy it into the
build root), so sharing the inode is safe; a file system without hard links
gets copies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path

from pkgfactory.errors import InputError, PkgfError

_CHUNK = 1 << 20


class Blobs:
    def __init__(self, root: Path, expected: dict[str, str] | None = None):
        """``expected``: sha256 by source path (as the project names it) of files already hashed."""
        self.root = Path(root)
        self.expected = {os.path.realpath(k): v for k, v in (expected or {}).items()}
        self._lock = threading.Lock()
        self._made: dict[tuple[str, int], Path] = {}
        self._digests: dict[tuple[int, int], tuple[int, int, bytes]] = {}

    def place(self, source, mode: int, mtime: int, dest: Path) -> None:
        """``dest`` as a file with ``source``'s bytes, ``mode`` and ``mtime``."""
        blob = self._blob(source, mode, mtime)
        try:
            os.link(blob, dest)
        except OSError:
            shutil.copyfile(blob, dest)
            os.chmod(dest, mode)
            os.utime(dest, (mtime, mtime))

    def digest(self, st: os.stat_result) -> bytes | None:
        """The sha256 of the file ``st`` describes when it is one of ours, unchanged; else None."""
        known = self._digests.get((st.st_dev, st.st_ino))
        if known is not None and known[:2] == (st.st_size, st.st_mtime_ns):
            return known[2]
        return None

    def _blob(self, source, mode: int, mtime: int) -> Path:
        real = os.path.realpath(source)
        with self._lock:
            blob = self._made.get((real, mode))
            if blob is not None:
                return blob
            self.root.mkdir(parents=True, exist_ok=True)
            blob = self.root / str(len(self._made))
            h = hashlib.sha256()
            try:
                with open(source, "rb") as src, open(blob, "wb") as out:
                    while chunk := src.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
            except FileNotFoundError:
                raise InputError(f"{source}: no such file") from None
            except OSError as e:
                raise InputError(f"{source}: cannot read: {e.strerror}") from None
            want = self.expected.get(real)
            if want is not None and h.hexdigest() != want:
                raise PkgfError(f"{source} changed while pkgfactory ran (its sha256 is not the one inspected "
                                "and checked); run it again")
            os.chmod(blob, mode)
            os.utime(blob, (mtime, mtime))
            st = blob.stat()
            self._digests[(st.st_dev, st.st_ino)] = (st.st_size, st.st_mtime_ns, h.digest())
            self._made[(real, mode)] = blob
            return blob
