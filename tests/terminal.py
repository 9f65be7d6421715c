"""The CLI run on a pseudo-terminal, as a user at a console sees it."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios


def run_in_pty(args, env, cols: int | None = None, wait_s: int = 300) -> tuple[int, str]:
    """``pkgfactory ARGS`` with stdin, stdout and stderr on one terminal (``cols`` wide if given):
    its exit code and everything it wrote there. A run silent for ``wait_s`` is killed."""
    master, slave = pty.openpty()
    if cols is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    p = subprocess.Popen([sys.executable, "-m", "pkgfactory", *map(str, args)], stdin=slave, stdout=slave,
                         stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], wait_s)
        if not ready:
            p.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")
