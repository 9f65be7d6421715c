"""The package cache: unsigned packages by build key, in ``~/.cache/pkgfactory/packages``
(``$PKGF_PACKAGE_CACHE`` moves it).

An entry is a directory named by its build key holding the package file and
``entry.json`` (its name, size and sha256). Entries appear whole or not at all
(written under a temporary name, then renamed), are checked against their sha256
on every use (a flipped byte makes the entry be removed and the package rebuilt),
and the least recently used go once the cache outgrows its cap
(``PKGF_PACKAGE_CACHE_MB``, default 4096). Only unsigned packages are kept:
signing happens per bundle, with that bundle's key (signed packages and signatures
have a cache of their own, pkgfactory.sign.cache, built on this one).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

from pkgfactory.cachedir import cache_dir, cap_from_env, commit_entry, drop_least_recent, remove_orphans, temporary_entry
from pkgfactory.digest import sha256_file

DIR_ENV = "PKGF_PACKAGE_CACHE"  # the cache's directory (default: <cache dir>/packages)
CAP_ENV = "PKGF_PACKAGE_CACHE_MB"
DEFAULT_CAP_MB = 4096
ENTRY = "entry.json"
_KEY = re.compile(r"^[0-9a-f]{64}$")


def cap_bytes() -> int:
    return cap_from_env(CAP_ENV, DEFAULT_CAP_MB)


class PackageCache:
    """``what`` names the cache and ``redo`` what a bad entry costs, in the notes ``fetch`` writes."""

    def __init__(self, root: Path | None = None, cap: int | None = None, *, what: str = "package cache",
                 redo: str = "building again"):
        if root is None:
            root = os.environ.get(DIR_ENV) or cache_dir("packages")
        self.root = Path(root)
        self.cap = cap_bytes() if cap is None else cap
        self.what, self.redo = what, redo

    def fetch(self, key: str, dest_dir: Path, note=lambda msg: None) -> Path | None:
        """Copy the package stored under ``key`` into ``dest_dir``; None when there is none.

        The copy is checked, not the entry: what the caller gets is what was stored,
        even if another run evicts or a disk flips the entry meanwhile. A bad entry
        is removed, so the build that follows replaces it.
        """
        entry = self.root / key
        try:
            meta = json.loads((entry / ENTRY).read_text())
            name = meta["artifact"]
            if not isinstance(name, str) or Path(name).name != name or name in ("", ".", "..", ENTRY):
                raise ValueError(f"bad artifact name {name!r}")
            dest_dir.mkdir(parents=True, exist_ok=True)
            copy = dest_dir / name
            shutil.copyfile(entry / name, copy)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            note(f"{self.what} entry {key} is unreadable ({e}): removed, {self.redo}")
            shutil.rmtree(entry, ignore_errors=True)
            return None
        digest = sha256_file(copy)
        if digest != meta.get("sha256") or copy.stat().st_size != meta.get("size"):
            copy.unlink(missing_ok=True)
            note(f"{self.what} entry {key} is corrupt (sha256 {digest}, stored as {meta.get('sha256')}): "
                 f"removed, {self.redo}")
            shutil.rmtree(entry, ignore_errors=True)
            return None
        try:
            os.utime(entry / ENTRY)  # recently used: evicted last
        except OSError:
            pass
        return copy

    def discard(self, key: str) -> None:
        """Remove the entry under ``key`` (one its user found bad)."""
        if _KEY.match(key):
            shutil.rmtree(self.root / key, ignore_errors=True)

    def put(self, key: str, artifact: Path) -> None:
        """Keep a copy of ``artifact`` under ``key``; a cache that cannot be written is skipped."""
        if not _KEY.match(key):
            raise ValueError(f"not a build key: {key!r}")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._clean_orphans()
            tmp = temporary_entry(self.root, key)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            shutil.copyfile(artifact, tmp / artifact.name)
            meta = {"artifact": artifact.name, "size": (tmp / artifact.name).stat().st_size,
                    "sha256": sha256_file(tmp / artifact.name), "stored": int(time.time())}
            commit_entry(tmp, self.root / key, meta, ENTRY)
            self._evict()
        except OSError:
            pass  # a full or read-only cache costs the next run time, never this one its packages

    def _entries(self):
        for d in self.root.iterdir():
            if _KEY.match(d.name):
                try:
                    size = sum(f.stat().st_size for f in d.iterdir())
                    yield (d / ENTRY).stat().st_mtime, size, d
                except OSError:
                    continue

    def _evict(self) -> None:
        drop_least_recent(self._entries(), self.cap)

    def _clean_orphans(self) -> None:
        remove_orphans(self.root)
