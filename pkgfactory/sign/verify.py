"""Checking signatures against one public key file and nothing else.

What an auditor's `pkgfactory verify` and the tests rely on: every check
runs with a throwaway keyring (gpgv) or rpm database holding only the given
key, so a key that happens to be trusted on this machine proves nothing.

:class:`OneKey` makes that keyring and database once and checks any number of
files with them (a bundle has a dozen signatures and as many RPMs); the
module-level functions are one-shot conveniences over it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from pkgfactory import runner
from pkgfactory.errors import InputError, PkgfError

_BAD_STATUS = ("BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "NO_PUBKEY", "NODATA", "BADARMOR")
_ARMORED_KEY = b"-----BEGIN PGP PUBLIC KEY BLOCK-----"


@dataclass(frozen=True)
class Signature:
    """One good OpenPGP signature, as gpgv's VALIDSIG status line describes it."""

    fingerprint: str  # of the key that made it (a subkey's, if a subkey signed)
    primary: str  # of the primary key
    created: int
    expires: int  # 0: never
    version: int
    hash_algo: int  # 8: SHA-256 (RFC 4880 9.4)
    sig_class: str  # "00" binary document, "01" canonical text (cleartext signatures)
    count: int  # how many signatures the file held (every one good, or none would be returned)


@dataclass(frozen=True)
class RpmCheck:
    path: Path
    ok: bool
    reason: str  # why not, "" when ok
    signatures: tuple[str, ...]  # "header" (v4 header-only) and/or "header+payload" (v3)
    algorithms: tuple[str, ...] = ()  # of each signature, as rpm names them: "RSA/SHA256"

    def to_dict(self) -> dict:
        return {"path": str(self.path), "ok": self.ok, "reason": self.reason, "signatures": list(self.signatures)}


_SIG_LINE = re.compile(r"^(Header )?V\d (\S+) Signature, key ID \S+: (.+)$")


class OneKey:
    """Checks against the key in ``pubkey_path`` alone; use as a context manager (it owns a temporary dir)."""

    def __init__(self, pubkey_path, *, log: Path | None = None, keyring: Path | None = None):
        """``keyring``: the same key as a binary keyring, when the caller has one (no dearmoring)."""
        self.key = _file(pubkey_path, "public key")
        self.log = log
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._keyring: Path | None = keyring
        self._rpmdb: Path | None = None
        self._lock = threading.Lock()  # the Signer checks from several threads

    def __enter__(self) -> "OneKey":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._keyring = self._rpmdb = None

    def _home(self) -> Path:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="pkgf-onekey-")
        return Path(self._tmp.name)

    # -- OpenPGP ------------------------------------------------------------

    def detached(self, data_path, sig_path) -> Signature:
        """The signature ``sig_path`` makes over ``data_path``; PkgfError (exit 1) unless it is good."""
        data, sig = _file(data_path, "signed file"), _file(sig_path, "signature")
        return self._gpgv([str(sig), str(data)], what=str(sig))

    def clearsigned(self, path, *, output=None) -> Signature:
        """Like :meth:`detached` for a cleartext-signed file (InRelease).

        With ``output`` the signed text alone is written there: read that, never
        the InRelease file itself, whose unsigned parts anyone could have added.
        """
        path = _file(path, "signed file")
        extra = ["--output", str(Path(output).absolute())] if output else []
        return self._gpgv([*extra, str(path)], what=str(path))

    def _binary_keyring(self) -> Path:
        # gpgv reads binary keyrings only; an armored KEY.asc is dearmored first.
        with self._lock:
            return self._binary_keyring_locked()

    def _binary_keyring_locked(self) -> Path:
        if self._keyring is None:
            home = self._home()
            keyring = home / "key.gpg"
            if _ARMORED_KEY in self.key.read_bytes():
                runner.run(["gpg", "--homedir", str(home), "--batch", "--no-tty", "--yes", "--dearmor",
                            "--output", str(keyring), str(self.key)], log=self.log)
            else:
                shutil.copyfile(self.key, keyring)
            self._keyring = keyring
        return self._keyring

    def _gpgv(self, args: list[str], *, what: str) -> Signature:
        keyring = self._binary_keyring()
        # apt also refuses SHA-1 signatures.
        proc = runner.run(["gpgv", "--homedir", str(self._home()), "--keyring", str(keyring), "--weak-digest",
                           "SHA1", "--status-fd", "1", *args], log=self.log, check=False)
        status = [l.split()[1:] for l in proc.stdout.splitlines() if l.startswith("[GNUPG:] ")]
        bad = [s for s in status if s and s[0] in _BAD_STATUS]
        valid = [s for s in status if s and s[0] == "VALIDSIG"]
        if proc.returncode != 0 or bad or not valid:
            raise PkgfError(f"{what}: signature not valid with key {self.key}: {_why(bad, proc.stderr)}",
                            exit_code=1)
        # VALIDSIG <fpr> <date> <ts> <expire> <ver> <reserved> <pkalgo> <hashalgo> <class> <primary-fpr>
        v = valid[0]
        count = sum(1 for s in status if s and s[0] == "NEWSIG") or len(valid)
        return Signature(fingerprint=v[1], primary=v[10] if len(v) > 10 else v[1], created=_int(v[3]),
                         expires=_int(v[4]), version=_int(v[5]), hash_algo=_int(v[8]),
                         sig_class=v[9] if len(v) > 9 else "", count=count)

    # -- RPM ----------------------------------------------------------------

    def rpms(self, paths: Iterable) -> list[RpmCheck]:
        """``rpmkeys --checksig`` of each RPM against only this key, one result per file.

        An RPM passes when it has at least one signature, every signature is OK
        with that key and every digest is OK (rpmkeys alone says "OK" for an
        unsigned package whose digests match). All files go to one rpmkeys call.
        """
        paths = [Path(p) for p in paths]
        results: dict[Path, RpmCheck] = {}
        present = []
        for p in paths:
            if p.is_file():
                present.append(p)
            else:
                results[p] = RpmCheck(p, False, "no such file", ())
        if present:
            db = self._rpm_db()
            # Names with a newline could forge another file's block of the output: checked alone.
            batch = [p for p in present if "\n" not in str(p)]
            alone = [p for p in present if "\n" in str(p)]
            if batch:
                proc = runner.run(["rpmkeys", "--dbpath", str(db), "--checksig", "--verbose", *map(str, batch)],
                                  log=self.log, check=False)
                blocks = _blocks(proc.stdout, batch)
                for p in batch:
                    r = _rpm_result(p, 0, blocks.get(p))
                    if r.ok and proc.returncode != 0:
                        alone.append(p)  # rpmkeys failed somewhere: which file, only a call of its own says
                    else:
                        results[p] = r
            for p in alone:
                proc = runner.run(["rpmkeys", "--dbpath", str(db), "--checksig", "--verbose", str(p)],
                                  log=self.log, check=False)
                results[p] = _rpm_result(p, proc.returncode, _blocks(proc.stdout, [p]).get(p))
        return [results[p] for p in paths]

    def _rpm_db(self) -> Path:
        # A database of our own: the host's rpmdb and its keys are never read or changed.
        with self._lock:
            return self._rpm_db_locked()

    def _rpm_db_locked(self) -> Path:
        if self._rpmdb is None:
            db = self._home() / "rpmdb"
            db.mkdir()
            runner.run(["rpmkeys", "--dbpath", str(db), "--import", str(self.key)], log=self.log)
            self._rpmdb = db
        return self._rpmdb


def verify_detached(data_path, sig_path, pubkey, *, log: Path | None = None) -> str:
    """The primary fingerprint of the key (a file, or a :class:`OneKey`) that made ``sig_path`` over ``data_path``."""
    with _checker(pubkey, log) as k:
        return k.detached(data_path, sig_path).primary


def verify_clearsigned(path, pubkey, *, output=None, log: Path | None = None) -> str:
    """Like verify_detached for a cleartext-signed file (InRelease); see :meth:`OneKey.clearsigned`."""
    with _checker(pubkey, log) as k:
        return k.clearsigned(path, output=output).primary


def rpm_check(paths: Iterable, pubkey, *, log: Path | None = None) -> list[RpmCheck]:
    """See :meth:`OneKey.rpms`; ``pubkey`` is a key file or a :class:`OneKey`."""
    with _checker(pubkey, log) as k:
        return k.rpms(paths)


class _Borrowed:
    """A caller's OneKey, lent to a one-shot function: not closed at the end of it."""

    def __init__(self, k: OneKey):
        self.k = k

    def __enter__(self) -> OneKey:
        return self.k

    def __exit__(self, *exc) -> None:
        pass


def _checker(pubkey, log):
    return _Borrowed(pubkey) if isinstance(pubkey, OneKey) else OneKey(pubkey, log=log)


def _blocks(out: str, paths: list[Path]) -> dict[Path, list[str]]:
    """rpmkeys --verbose prints "<path>:" and then that file's indented lines, per file."""
    heads = {f"{p}:": p for p in paths}
    blocks: dict[Path, list[str]] = {}
    current = None
    for line in out.splitlines():
        if line in heads:
            current = heads[line]
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line)
    return blocks


def _rpm_result(path: Path, rc: int, lines: list[str] | None) -> RpmCheck:
    if lines is None:
        return RpmCheck(path, False, f"rpmkeys --checksig printed nothing for it (exit {rc})", ())
    kinds, algos, bad = [], [], []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        m = _SIG_LINE.match(line)
        if m:
            kinds.append("header" if m.group(1) else "header+payload")
            algos.append(m.group(2))
        if not line.endswith(": OK"):
            bad.append(line)
    if bad:
        return RpmCheck(path, False, bad[0], tuple(kinds))
    if rc != 0:
        return RpmCheck(path, False, f"rpmkeys --checksig failed with exit {rc}", tuple(kinds))
    if not kinds:
        return RpmCheck(path, False, "not signed", ())
    return RpmCheck(path, True, "", tuple(kinds), tuple(algos))


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


def _why(bad: list[list[str]], stderr: str) -> str:
    if bad:
        code = bad[0][0]
        if code in ("ERRSIG", "NO_PUBKEY"):
            return f"made by another key ({bad[0][1] if len(bad[0]) > 1 else 'unknown'})"
        if code == "BADSIG":
            return "BAD signature (the file or the signature was changed)"
        if code == "NODATA":
            return "no signature found"
        return code
    lines = [l.removeprefix("gpgv: ") for l in stderr.splitlines() if l.strip()]
    return lines[-1] if lines else "no valid signature"


def _file(path, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: {what} not found" if not p.exists() else f"{p}: {what} is not a regular file")
    return p
