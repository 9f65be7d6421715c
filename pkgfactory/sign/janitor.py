"""Forgets a preset passphrase when the run that set it ends, however it ends.

``Signer.close()`` forgets the passphrase on every exit Python sees, but a
SIGKILL (or the OOM killer) is not one, and a passphrase preset with
``gpg-preset-passphrase`` ignores the agent's cache TTLs: it would stay in the
keys dir's gpg-agent, the key usable by anyone who can reach the agent's
socket, until the agent is restarted.

So before presetting, the Signer starts this watcher as a separate process in
a session of its own (a Ctrl-C or a kill of the run's process group does not
reach it) holding the read end of a pipe whose only write end the run keeps.
The kernel closes that end when the run dies, for any reason; the watcher's
read returns EOF and it clears the passphrase. A normal close does the same
by closing the pipe and waiting, or, when the Signer has just forgotten the
passphrase itself, by saying so first (the watcher then exits at once).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pkgfactory.errors import PkgfError

_STOP_TIMEOUT_S = 30
# Written before a normal close by a Signer that has already cleared the passphrase.
_FORGOTTEN = b"forgotten\n"


class Janitor:
    def __init__(self, home: Path, keygrip: str):
        self.home, self.keygrip = Path(home), keygrip
        self._proc: subprocess.Popen | None = None

    def start(self) -> None:
        if self._proc is not None:
            return
        argv = [sys.executable, "-m", "pkgfactory.sign.janitor", str(self.home), self.keygrip]
        try:
            # Not through runner.run: this child must outlive us, and it runs
            # its one tool call (gpg-connect-agent) through runner.run itself.
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        except OSError as e:
            raise PkgfError(f"cannot start the passphrase janitor: {e.strerror or e}") from None

    def stop(self, forgotten: bool = False) -> None:
        """Close the pipe and wait until the passphrase is forgotten (``forgotten``: it is already)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if forgotten:
                proc.stdin.write(_FORGOTTEN)
            proc.stdin.close()
        except OSError:
            pass  # the watcher is gone: nothing left to tell
        try:
            proc.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_eof() -> bytes:
    stdin, got = sys.stdin.buffer, b""
    while chunk := stdin.read(4096):
        got = (got + chunk)[-64:]
    return got


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m pkgfactory.sign.janitor KEYS_DIR KEYGRIP", file=sys.stderr)
        return 2
    # Imported before the wait, so a dead run's passphrase is cleared without that delay.
    from pkgfactory.sign.agent import Agent

    if _wait_for_eof() == _FORGOTTEN:
        return 0

    # No log: the run's log may be in a staging dir that is gone by now, and
    # writing it would create that dir again. Signer.close() logs its own forget.
    try:
        Agent(Path(argv[0])).forget(argv[1])
    except PkgfError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
