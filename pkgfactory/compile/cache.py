"""Compiled binaries by content key: ``~/.cache/pkgfactory/compile/<key>/``.

The key covers everything the binary is made from: every file under the
module (go.mod, go.sum and vendor/ included; VCS metadata and pkgfactory's own
output directories left out) and its local replace directories, the go
command line and the environment that reaches the compilers, the toolchain
(version and GOROOT), zig's version, and the floor. Module dependencies
outside the tree are pinned by go.sum. A hit skips the go command entirely;
go's own build cache (GOCACHE) makes a miss cheap when little changed.

Entries are written under a temporary name and renamed into place, so a
killed compile never leaves an entry that looks complete; a corrupted binary
(its sha256 differs from the record) is a miss. The least recently used
entries go once the cache outgrows its cap (``PKGF_COMPILE_CACHE_MB``,
default 4096), as in the package cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pkgfactory.cachedir import cache_dir, cap_from_env, drop_least_recent
from pkgfactory.digest import sha256_file
from pkgfactory.errors import InputError, PkgfError

# Bump when what a key covers, or an entry's layout, changes.
RECIPE = 1
_VCS_DIRS = {".git", ".hg", ".svn", ".bzr"}
BINARY, RECORD, LOG = "binary", "record.json", "compile.log"
CAP_ENV = "PKGF_COMPILE_CACHE_MB"
DEFAULT_CAP_MB = 4096


def root() -> Path:
    return cache_dir() / "compile"


def tree_digest(dirs: list[Path], exclude: list[Path] = ()) -> str:
    """sha256 over the names, exec bits and contents of every file under ``dirs``, but for the
    output directories in ``exclude`` (what pkgfactory wrote there changes every run).

    An output directory inside a tree that holds Go source is refused: its edits would not change
    the key, and a hit would ship the binary compiled before them (``-o cmd``). Refusing is exact
    where leaving out only pkgfactory's own names there would not be: those are written by
    compile, build and bundle (binaries, reports, logs, .work, <target>/<arch>/, bundles), and one
    name missed or one added later is a stale binary shipped without a word. (Files a package
    //go:embeds from inside an output directory are not looked for: embedding pkgfactory's own
    output would be circular anyway. An output directory that is a tree's top, or above it, is
    never left out, so it hides nothing.)
    """
    skip = {os.path.realpath(p) for p in exclude}
    h = hashlib.sha256()
    for top in dirs:
        top = Path(os.path.realpath(top))
        h.update(f"tree {top.name}\0".encode())
        for cur, subdirs, files in os.walk(top):
            keep = []
            for d in sorted(subdirs):
                path = os.path.join(cur, d)
                if d in _VCS_DIRS:
                    continue
                if os.path.realpath(path) in skip:
                    if not os.path.islink(path):  # go does not walk into a symlinked one either
                        _refuse_go_source(path)
                    continue
                if os.path.islink(path):  # go does not walk into symlinked directories either
                    h.update(f"L {os.path.relpath(path, top)}\0{os.readlink(path)}\n".encode())
                else:
                    keep.append(d)
            subdirs[:] = keep
            for name in sorted(files):
                path = os.path.join(cur, name)
                try:
                    st = os.stat(path)  # a symlinked file counts by what it points to, as go reads it
                    if not os.path.isfile(path):
                        continue
                    digest = sha256_file(path)
                except FileNotFoundError:
                    continue  # gone while we walked (or a dangling link): nothing the compile can read
                h.update(f"F {os.path.relpath(path, top)}\0{st.st_mode & 0o111:o}\0{digest}\n".encode())
    return h.hexdigest()


def _refuse_go_source(out: str) -> None:
    for cur, subdirs, files in os.walk(out):
        # No import path has an element starting with ".", so nothing there is compiled; and that
        # is where pkgfactory keeps its work (.work/, staging), which can hold packaged .go files.
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".go") or name == "go.mod":
                found = os.path.relpath(os.path.join(cur, name), out)
                raise InputError(f"output directory {out} holds Go source ({found}), which the compile cache "
                                 "would not see change; give the output a directory of its own (e.g. dist)")


def key(parts: dict) -> str:
    return hashlib.sha256(json.dumps({"recipe": RECIPE, **parts}, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    dir: Path
    record: dict  # what was stored with it: sha256, size, and how it was made

    @property
    def binary(self) -> Path:
        return self.dir / BINARY

    @property
    def log(self) -> Path:
        return self.dir / LOG


def lookup(k: str) -> Entry | None:
    d = root() / k[:2] / k
    try:
        record = json.loads((d / RECORD).read_text())
        if sha256_file(d / BINARY) == record["sha256"]:
            _touch(d)
            return Entry(d, record)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _touch(d: Path) -> None:
    try:
        os.utime(d / RECORD)  # recently used: evicted last
    except OSError:
        pass


def _entries(top: Path):
    for shard in top.iterdir():
        if len(shard.name) != 2 or not shard.is_dir():
            continue
        for d in shard.iterdir():
            if d.name.startswith("."):
                continue  # a compile storing right now
            try:
                yield (d / RECORD).stat().st_mtime, sum(f.stat().st_size for f in d.iterdir()), d
            except OSError:
                continue


def evict(keep: Path | None = None, cap: int | None = None) -> None:
    """Keep the cache under its cap, never removing ``keep`` (the entry this run is about to use);
    a cache that cannot be read or written is left as it is."""
    cap = cap_from_env(CAP_ENV, DEFAULT_CAP_MB) if cap is None else cap
    try:
        others = [e for e in _entries(root()) if e[2] != keep]
        kept = sum(f.stat().st_size for f in keep.iterdir()) if keep else 0
        drop_least_recent(others, max(cap - kept, 0))
    except OSError:
        pass


def store(k: str, make: Callable[[Path], dict]) -> Entry:
    """Run ``make(tmpdir)``, which writes ``tmpdir/binary`` and returns its record, and keep the result."""
    final = root() / k[:2] / k
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{k}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        record = dict(make(tmp))
        record["sha256"] = sha256_file(tmp / BINARY)
        record["size"] = (tmp / BINARY).stat().st_size
        (tmp / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)  # corrupt (lookup refused it) or a racing twin
        try:
            os.rename(tmp, final)
        except OSError:
            pass  # a concurrent compile of the same key got there first: its binary is the same
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    found = lookup(k)
    if found is None:
        raise PkgfError(f"compile cache entry {final} could not be stored (is {root()} writable?)")
    evict(keep=found.dir)
    return found
