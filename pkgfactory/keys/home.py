"""The keys directory: a GnuPG home that only pkgfactory's signing key lives in.

It is prepared the same way whoever touches it first (``keys generate``,
``keys import``, the signer), so the agent and the digest policy never
depend on which command ran before.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pkgfactory.errors import InputError

DEFAULT_KEYS_DIR = "keys"

# sockaddr_un.sun_path is 108 bytes; gpg-agent's longest socket name is this one.
_SUN_PATH_MAX = 107
_LONGEST_SOCKET = "S.gpg-agent.browser"

# Signatures and self-signatures made with this home use SHA-256: RHEL 9
# refuses SHA-1 self-signatures, and rpm 4.11 verifies SHA-256 fine.
_GPG_CONF = """\
# Written by pkgfactory (see docs/signing.md).
personal-digest-preferences SHA256
cert-digest-algo SHA256
default-preference-list SHA256 SHA384 SHA512 AES256 AES192 AES ZLIB BZIP2 ZIP Uncompressed
"""
# The signer hands the passphrase to the agent with gpg-preset-passphrase
# (read from a pipe), so gpg itself never needs it on a command line.
_AGENT_LINE = "allow-preset-passphrase"


def keys_home(keys_dir: str | os.PathLike | None, *, create: bool = True) -> Path:
    """The absolute keys directory, created mode 0700 and configured.

    With ``create=False`` a missing directory is an error (listing or
    exporting from a typo'd path must not make an empty keyring).
    """
    home = Path(keys_dir if keys_dir is not None else DEFAULT_KEYS_DIR).absolute()
    if home.exists() and not home.is_dir():
        raise InputError(f"keys dir {home} is not a directory")
    if not home.exists():
        if not create:
            raise InputError(f"keys dir {home} does not exist: run `pkgfactory keys generate --keys-dir {home}`")
        try:
            home.mkdir(mode=0o700, parents=True)
        except OSError as e:
            raise InputError(f"cannot create keys dir {home}: {e.strerror}") from None
    _private(home)
    _check_socket_room(home)
    _ensure_config(home)
    return home


def _private(home: Path) -> None:
    # GnuPG warns about (and some versions refuse) a home others can read,
    # and the secret keys are in there.
    mode = stat.S_IMODE(home.stat().st_mode)
    if mode & 0o077:
        try:
            home.chmod(0o700)
        except OSError as e:
            raise InputError(f"keys dir {home} is readable by others and cannot be made private: {e.strerror}") from None


def _check_socket_room(home: Path) -> None:
    # Without /run/user/<uid> gpg-agent puts its sockets in the home itself,
    # and a long path makes it fail later with an obscure "IPC connect" error.
    if Path(f"/run/user/{os.getuid()}").is_dir():
        return
    if len(os.fsencode(home / _LONGEST_SOCKET)) > _SUN_PATH_MAX:
        raise InputError(f"keys dir path {home} is too long for gpg-agent's sockets "
                         f"(at most {_SUN_PATH_MAX - len(_LONGEST_SOCKET) - 1} bytes): use a shorter --keys-dir")


def _ensure_config(home: Path) -> None:
    gpg_conf = home / "gpg.conf"
    if not gpg_conf.exists():
        _write_private(gpg_conf, _GPG_CONF)
    agent_conf = home / "gpg-agent.conf"
    text = agent_conf.read_text() if agent_conf.exists() else ""
    if _AGENT_LINE not in text.split("\n"):
        sep = "" if not text or text.endswith("\n") else "\n"
        _write_private(agent_conf, text + sep + _AGENT_LINE + "\n")


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror}") from None
