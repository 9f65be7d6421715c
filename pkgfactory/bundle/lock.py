"""One bundle run per output directory at a time."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from pkgfactory.errors import PkgfError

LOCK_NAME = ".pkgfactory.lock"


@contextmanager
def output_lock(out_dir: Path):
    """Fail at once, naming the holder, rather than interleave two runs' files.

    flock is released by the kernel when the holder dies (even by SIGKILL),
    so a killed run never leaves a lock that blocks the rerun.
    """
    path = Path(out_dir) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise PkgfError(f"another pkgfactory run (pid {holder}) is writing {out_dir}; "
                            "wait for it or use another --output", exit_code=1) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
