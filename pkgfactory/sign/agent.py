"""The keys dir's gpg-agent: the only place the passphrase is handed to.

gpg and rpmsign never see the passphrase. We preset it in the agent with
``gpg-preset-passphrase``, which reads it from its stdin (a pipe), and every
gpg we start asks the agent with ``--pinentry-mode error``, so nothing can
ever stop to prompt on a terminal or fall back to a pinentry.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pkgfactory import runner
from pkgfactory.errors import PkgfError
from pkgfactory.hints import install_hint


@lru_cache(maxsize=1)
def _preset_tool() -> str:
    # Installed outside PATH, in GnuPG's libexec directory.
    out = runner.run(["gpgconf", "--list-dirs", "libexecdir"]).stdout.strip()
    tool = Path(out or "/usr/lib/gnupg") / "gpg-preset-passphrase"
    if not tool.is_file():
        raise PkgfError(f"{tool} not found: {install_hint(tool)}")
    return str(tool)


class Agent:
    def __init__(self, home: Path, *, log: Path | None = None):
        self.home = home
        self.log = log

    def _env(self) -> dict[str, str]:
        # gpg-preset-passphrase has no --homedir: it finds the agent by GNUPGHOME.
        return {**os.environ, "GNUPGHOME": str(self.home)}

    def launch(self) -> None:
        # gpg-preset-passphrase does not start an agent by itself.
        runner.run(["gpgconf", "--homedir", str(self.home), "--launch", "gpg-agent"], log=self.log)

    def key_state(self, keygrip: str) -> str:
        """"cached" (passphrase known to the agent), "clear" (no passphrase) or "locked"."""
        proc = runner.run(["gpg-connect-agent", "--homedir", str(self.home), f"KEYINFO {keygrip}", "/bye"],
                          log=self.log)
        for line in proc.stdout.splitlines():
            f = line.split()
            # S KEYINFO <grip> <type> <serial> <idstr> <cached> <protection> ...
            if len(f) >= 8 and f[:2] == ["S", "KEYINFO"] and f[2] == keygrip:
                if f[6] == "1":
                    return "cached"
                return "clear" if f[7] == "C" else "locked"
        raise PkgfError(f"gpg-agent of {self.home} does not hold secret key {keygrip}")

    def preset(self, keygrip: str, passphrase: str) -> None:
        self.launch()
        for attempt in (1, 2):
            proc = runner.run([_preset_tool(), "--preset", keygrip], env=self._env(), log=self.log,
                              input=passphrase + "\n", redact=[passphrase], check=False)
            if proc.returncode == 0:
                return
            if attempt == 1 and "Not supported" in proc.stderr:
                # An agent started before allow-preset-passphrase was in its
                # config: make it read the config again.
                runner.run(["gpgconf", "--homedir", str(self.home), "--reload", "gpg-agent"], log=self.log)
                continue
            break
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        reason = (lines[-1] if lines else f"exit {proc.returncode}").replace(passphrase, "***")
        raise PkgfError(f"cannot hand the passphrase to gpg-agent of {self.home}: {reason}")

    def forget(self, keygrip: str) -> bool:
        """Clear the passphrase; True when the agent said OK."""
        # Not `gpg-preset-passphrase --forget`: GnuPG 2.2's clears the cache
        # but then fails with "No inquire callback in IPC".
        proc = runner.run(["gpg-connect-agent", "--homedir", str(self.home), "--no-autostart",
                           f"CLEAR_PASSPHRASE --mode=normal {keygrip}", "/bye"], log=self.log, check=False)
        return proc.returncode == 0 and "ERR" not in proc.stdout
