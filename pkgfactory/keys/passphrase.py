"""Where a key's passphrase comes from: a file, the environment's file, or a prompt.

The passphrase is only ever held in memory and handed to GnuPG through a
pipe; it never goes on a command line or into an environment variable
(``PKGF_GPG_PASSPHRASE_FILE`` names a file, it is not the secret).
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from pkgfactory.errors import InputError

ENV_VAR = "PKGF_GPG_PASSPHRASE_FILE"
_MAX_FILE = 4096


def read_passphrase_file(path: str | os.PathLike) -> str:
    """The first line of ``path`` (its line ending dropped)."""
    path = Path(path)
    try:
        # One line is read, and no more than _MAX_FILE: a FIFO (`<(pass show key)`) works,
        # and /dev/zero given by mistake cannot eat the memory.
        with open(path, "rb") as f:
            raw = f.readline(_MAX_FILE + 1)
    except OSError as e:
        raise InputError(f"passphrase file {path}: cannot read: {e.strerror}") from None
    if len(raw) > _MAX_FILE:
        raise InputError(f"passphrase file {path}: its first line is longer than {_MAX_FILE} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"passphrase file {path}: not UTF-8 text") from None
    line = text.split("\n", 1)[0].removesuffix("\r")
    return check_passphrase(line, f"passphrase file {path}")


def check_passphrase(passphrase: str, where: str = "passphrase") -> str:
    if not passphrase:
        raise InputError(f"{where}: the passphrase is empty (use --no-passphrase for a key without one)")
    if any(c in passphrase for c in "\r\n\0"):
        raise InputError(f"{where}: the passphrase contains a line break or NUL")
    # GnuPG's key-generation parameters strip surrounding blanks, so such a
    # passphrase would silently differ from the one given.
    if passphrase != passphrase.strip():
        raise InputError(f"{where}: the passphrase starts or ends with white space")
    return passphrase


def from_file_or_env(passphrase_file: str | os.PathLike | None) -> str | None:
    """The passphrase from ``--passphrase-file`` or else ``$PKGF_GPG_PASSPHRASE_FILE``."""
    if passphrase_file:
        return read_passphrase_file(passphrase_file)
    env_file = os.environ.get(ENV_VAR)
    if env_file:
        return read_passphrase_file(env_file)
    return None


def have_terminal() -> bool:
    # getpass would open /dev/tty even when stdin is a pipe or /dev/null; a
    # run without a terminal on stdin must not stop to ask anyone.
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


def prompt(what: str, *, confirm: bool = False) -> str:
    if not have_terminal():
        raise InputError(f"no terminal to ask for the passphrase of {what}")
    try:
        first = getpass.getpass(f"Passphrase for {what}: ")
        if confirm and getpass.getpass("Repeat the passphrase: ") != first:
            raise InputError("the two passphrases differ")
    except EOFError:
        raise InputError(f"no passphrase given for {what}") from None
    return check_passphrase(first)
