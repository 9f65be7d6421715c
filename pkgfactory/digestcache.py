"""The sha256 of a big file that has not changed since it was last hashed, without reading it.

A run that reuses a bundle (pkgfactory.bundle.inputs) hashes every input, and a
150 MB binary costs a tenth of a second: more than the rest of such a run's work.
As git's index does, a file is known by its device, inode, size, mtime and ctime,
which every write changes (ctime cannot be set back by a user); a file changed
within the file system's timestamp granularity of being hashed could keep its
stat, so a digest is remembered only for files whose times are some seconds old
when it is made ("racily clean" files are hashed every time). Small files are
always hashed. Kept in ``~/.cache/pkgfactory/digests.json``, a few thousand
entries at most; losing it costs time only.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pkgfactory.cachedir import cache_dir
from pkgfactory.digest import sha256_file

MIN_SIZE = 4 << 20  # smaller files hash faster than the stat cache is read
SETTLED_NS = 3_000_000_000  # mtime and ctime this much in the past: a later write changes them
MAX_ENTRIES = 4096
_FILE = "digests.json"


class DigestCache:
    def __init__(self, path: Path | None = None):
        self.path = path
        self._entries: dict | None = None
        self._dirty = False

    def sha256(self, path) -> str:
        st = os.stat(path)
        if st.st_size < MIN_SIZE:
            return sha256_file(path)
        entries = self._load()
        key = os.path.realpath(path)
        ident = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        known = entries.get(key)
        if known is not None and known[:5] == ident:
            return known[5]
        digest = sha256_file(path)
        after = os.stat(path)
        unchanged = [after.st_dev, after.st_ino, after.st_size, after.st_mtime_ns, after.st_ctime_ns] == ident
        if unchanged and time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLED_NS:
            entries.pop(key, None)
            entries[key] = [*ident, digest]
            self._dirty = True
        return digest

    def save(self) -> None:
        """Write what was learnt; a cache that cannot be written is skipped."""
        if not self._dirty or self._entries is None:
            return
        entries = dict(list(self._entries.items())[-MAX_ENTRIES:])
        try:
            path = self._where()
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(entries))
            os.replace(tmp, path)
            self._dirty = False
        except (OSError, ValueError):
            pass

    def _where(self) -> Path:
        return self.path or cache_dir(_FILE)

    def _load(self) -> dict:
        if self._entries is None:
            try:
                data = json.loads(self._where().read_text())
                ok = isinstance(data, dict) and all(
                    isinstance(v, list) and len(v) == 6 and all(isinstance(x, int) for x in v[:5])
                    and isinstance(v[5], str) for v in data.values())
                self._entries = data if ok else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries
