"""One pkgfactory run (build or bundle) per output directory at a time."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from pkgfactory.errors import InputError, PkgfError

LOCK_NAME = ".pkgfactory.lock"

# Output directories this process holds, with a nesting count: bundle takes the
# lock and then runs the build stage, which takes it too (so a lone `pkgfactory
# build` is covered). A second flock on a new descriptor would conflict with our
# own first one.
_held: dict[str, int] = {}
# What the stages of one run note about the directory while its outermost lock is held.
_notes: dict[str, dict] = {}


def _key(out_dir: Path) -> str:
    return os.path.realpath(Path(out_dir) / LOCK_NAME)


def run_notes(out_dir: Path) -> dict:
    """A dict that lives as long as this process holds ``out_dir``'s lock (bundle, then its build stage)."""
    key = _key(out_dir)
    if key not in _held:
        raise RuntimeError(f"{out_dir}: output lock not held")
    return _notes.setdefault(key, {})


@contextmanager
def output_lock(out_dir: Path):
    """Fail at once, naming the holder, rather than interleave two runs' files.

    flock is released by the kernel when the holder dies (even by SIGKILL),
    so a killed run never leaves a lock that blocks the rerun. Re-entrant
    within one process.
    """
    path = Path(out_dir) / LOCK_NAME
    key = _key(out_dir)
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:  # a directory we may not write in (read-only, /proc): the user's choice of -o
        raise InputError(f"cannot write in output directory {out_dir}: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise PkgfError(f"another pkgfactory run (pid {holder}) is writing {out_dir}; "
                            "wait for it or use another --output", exit_code=1) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
            _notes.pop(key, None)
    finally:
        os.close(fd)
