"""Reading and changing the keyring in the keys directory (python-gnupg)."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import gnupg

from pkgfactory.errors import InputError, PkgfError
from pkgfactory.hints import install_hint
from pkgfactory.keys.home import keys_home

# OpenPGP public-key algorithm ids (RFC 4880 9.1, RFC 6637, RFC 9580) -> the
# names target profiles use in packaging.gpg_key_algorithms.
_ALGORITHMS = {"1": "rsa", "2": "rsa", "3": "rsa", "16": "elgamal", "17": "dsa", "18": "ecdh",
               "19": "ecdsa", "20": "elgamal", "22": "eddsa", "25": "x25519", "27": "ed25519"}


@dataclass(frozen=True)
class KeyInfo:
    fingerprint: str
    uids: tuple[str, ...]
    algorithm: str  # "rsa", "dsa", "eddsa", ...
    bits: int
    curve: str  # "" unless elliptic
    secret: bool
    primary_can_sign: bool
    validity: str  # gpg's letter: "u", "-", "e" expired, "r" revoked, ...
    created: int
    expires: int | None
    keygrip: str  # of the primary key: what the agent caches the passphrase under

    @property
    def uid(self) -> str:
        return self.uids[0] if self.uids else ""

    @property
    def description(self) -> str:
        return f"{self.algorithm}{self.bits}" if self.algorithm in ("rsa", "dsa", "elgamal") else \
            f"{self.algorithm} ({self.curve or self.bits})"

    @property
    def usable(self) -> bool:
        return self.validity not in ("e", "r", "d", "i")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["uids"] = list(self.uids)
        return d


class Keyring:
    """The keys directory's keyring. The private key never leaves it:
    there is deliberately no way to export a secret key here."""

    def __init__(self, keys_dir=None, *, create: bool = True):
        self.home = keys_home(keys_dir, create=create)
        # python-gnupg logs gpg's status lines at DEBUG; they carry no secret,
        # but nothing of ours should depend on that staying true.
        logging.getLogger("gnupg").setLevel(logging.WARNING)
        try:
            self.gpg = gnupg.GPG(gnupghome=str(self.home), gpgbinary="gpg")
        except (OSError, ValueError) as e:
            raise PkgfError(f"cannot run gpg: {e}: {install_hint('gpg')}") from None
        self.gpg.encoding = "utf-8"

    def keys(self) -> list[KeyInfo]:
        public = self.gpg.list_keys()
        secret = {k["fingerprint"] for k in self.gpg.list_keys(secret=True)}
        return [_info(k, k["fingerprint"] in secret) for k in public]

    def find(self, fingerprint: str | None = None, *, secret: bool = True) -> KeyInfo:
        """The one key meant: by fingerprint, or the only (secret) key there is."""
        keys = [k for k in self.keys() if k.secret or not secret]
        what = "secret key" if secret else "key"
        if fingerprint:
            want = "".join(fingerprint.split()).upper().rstrip("!")
            if len(want) not in (16, 40) or any(c not in "0123456789ABCDEF" for c in want):
                raise InputError(f"'{fingerprint}' is not a key fingerprint (40 hex digits) or long key id (16)")
            match = [k for k in keys if k.fingerprint.endswith(want)]
            if not match:
                raise InputError(f"no {what} {want} in keys dir {self.home}")
            return match[0]
        if not keys:
            raise InputError(f"no {what} in keys dir {self.home}: "
                             f"run `pkgfactory keys generate --keys-dir {self.home}`")
        if len(keys) > 1:
            raise InputError(f"keys dir {self.home} holds {len(keys)} {what}s "
                             f"({', '.join(k.fingerprint for k in keys)}): choose one with --fingerprint")
        return keys[0]

    def signing_key(self, fingerprint: str | None = None) -> KeyInfo:
        """The secret key to sign with, refused when old rpm or gpg could not use it."""
        key = self.find(fingerprint, secret=True)
        if not key.usable:
            state = {"e": "expired", "r": "revoked", "d": "disabled"}.get(key.validity, "invalid")
            raise InputError(f"key {key.fingerprint} is {state}: generate a new one with `pkgfactory keys generate`")
        if not key.primary_can_sign:
            # rpm < 4.13 cannot use signing subkeys, so we always sign with the primary key.
            raise InputError(f"the primary key of {key.fingerprint} cannot sign (rpm < 4.13 ignores signing "
                             "subkeys): generate a key with `pkgfactory keys generate`")
        return key

    def export_public(self, fingerprint: str | None = None, *, armor: bool = True) -> bytes:
        """The public key, minimal: old rpm chokes on extra packets."""
        if fingerprint is None and any(k.secret for k in self.keys()):
            key = self.find(None, secret=True)  # "the key" is the signing key
        else:
            key = self.find(fingerprint, secret=False)
        data = self.gpg.export_keys(key.fingerprint, armor=armor, minimal=True)
        if isinstance(data, str):
            data = data.encode("ascii")
        if not data:
            raise PkgfError(f"gpg exported nothing for key {key.fingerprint} from {self.home}")
        return data

    def import_file(self, path: str | os.PathLike, passphrase: str | None = None) -> list[KeyInfo]:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise InputError(f"{path}: cannot read key file: {e.strerror}") from None
        if not data.strip():
            raise InputError(f"{path}: empty key file")
        try:
            result = self.gpg.import_keys(data, passphrase=passphrase)
        except ValueError as e:  # python-gnupg's check for newlines in passphrases
            raise InputError(f"cannot import {path}: {e}") from None
        fingerprints = {f for f in (result.fingerprints or []) if f}
        if not fingerprints:
            reason = (_gpg_reason(result.stderr) if result.count else "") or "no OpenPGP key in it"
            raise InputError(f"{path}: nothing imported: {reason}")
        if getattr(result, "sec_read", 0) and not getattr(result, "sec_imported", 0) \
                and not getattr(result, "sec_dups", 0):
            raise InputError(f"{path}: the secret key was not imported: "
                             f"{_gpg_reason(result.stderr) or 'wrong passphrase?'}")
        return [k for k in self.keys() if k.fingerprint in fingerprints]


def _info(k: dict, secret: bool) -> KeyInfo:
    expires = k.get("expires") or ""
    return KeyInfo(
        fingerprint=k["fingerprint"],
        uids=tuple(k.get("uids") or ()),
        algorithm=_ALGORITHMS.get(str(k.get("algo")), f"algo{k.get('algo')}"),
        bits=int(k.get("length") or 0),
        curve=k.get("curve") or "",
        secret=secret,
        # Lower-case letters in the capability field are the primary key's own.
        primary_can_sign="s" in (k.get("cap") or ""),
        validity=k.get("trust") or "",
        created=int(k.get("date") or 0),
        expires=int(expires) if expires.isdigit() else None,
        keygrip=k.get("keygrip") or "",
    )


def _gpg_reason(stderr: str | None) -> str:
    for line in reversed((stderr or "").splitlines()):
        line = line.strip()
        if line.startswith("gpg: ") and "[GNUPG:]" not in line:
            return line[5:]
    return ""
