"""Checking signatures against one public key file and nothing else.

What an auditor's `pkgfactory verify` and the tests rely on: every check
runs with a throwaway keyring (gpgv) or rpm database holding only the given
key, so a key that happens to be trusted on this machine proves nothing.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from pkgfactory import runner
from pkgfactory.errors import InputError, PkgfError

_BAD_STATUS = ("BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "NO_PUBKEY", "NODATA", "BADARMOR")


def verify_detached(data_path, sig_path, pubkey_path, *, log: Path | None = None) -> str:
    """The primary fingerprint of the key in ``pubkey_path`` that made ``sig_path`` over ``data_path``."""
    data, sig = _file(data_path, "signed file"), _file(sig_path, "signature")
    return _gpgv([str(sig), str(data)], pubkey_path, what=str(sig), log=log)


def verify_clearsigned(path, pubkey_path, *, output=None, log: Path | None = None) -> str:
    """Like verify_detached for a cleartext-signed file (InRelease).

    With ``output`` the signed text alone is written there: read that, never
    the InRelease file itself, whose unsigned parts anyone could have added.
    """
    path = _file(path, "signed file")
    extra = ["--output", str(Path(output).absolute())] if output else []
    return _gpgv([*extra, str(path)], pubkey_path, what=str(path), log=log)


@dataclass(frozen=True)
class RpmCheck:
    path: Path
    ok: bool
    reason: str  # why not, "" when ok
    signatures: tuple[str, ...]  # "header" (v4 header-only) and/or "header+payload" (v3)

    def to_dict(self) -> dict:
        return {"path": str(self.path), "ok": self.ok, "reason": self.reason, "signatures": list(self.signatures)}


_SIG_LINE = re.compile(r"^(Header )?V\d \S+ Signature, key ID \S+: (.+)$")


def rpm_check(paths: Iterable, pubkey_path, *, log: Path | None = None) -> list[RpmCheck]:
    """``rpmkeys --checksig`` of each RPM against only ``pubkey_path``, one result per file.

    An RPM passes when it has at least one signature, every signature is OK
    with that key and every digest is OK (rpmkeys alone says "OK" for an
    unsigned package whose digests match).
    """
    paths = [Path(p) for p in paths]
    key = _file(pubkey_path, "public key")
    results = []
    with tempfile.TemporaryDirectory(prefix="pkgf-rpmdb-") as db:
        # A database of our own: the host's rpmdb and its keys are never read or changed.
        runner.run(["rpmkeys", "--dbpath", db, "--import", str(key)], log=log)
        for p in paths:
            if not p.is_file():
                results.append(RpmCheck(p, False, "no such file", ()))
                continue
            proc = runner.run(["rpmkeys", "--dbpath", db, "--checksig", "--verbose", str(p)],
                              log=log, check=False)
            results.append(_rpm_result(p, proc.returncode, proc.stdout))
    return results


def _rpm_result(path: Path, rc: int, out: str) -> RpmCheck:
    kinds, bad = [], []
    for line in out.splitlines()[1:]:
        line = line.strip()
        if not line:
            continue
        m = _SIG_LINE.match(line)
        if m:
            kinds.append("header" if m.group(1) else "header+payload")
        if not line.endswith(": OK"):
            bad.append(line)
    if bad:
        return RpmCheck(path, False, bad[0], tuple(kinds))
    if rc != 0:
        return RpmCheck(path, False, f"rpmkeys --checksig failed with exit {rc}", tuple(kinds))
    if not kinds:
        return RpmCheck(path, False, "not signed", ())
    return RpmCheck(path, True, "", tuple(kinds))


def _gpgv(args: list[str], pubkey_path, *, what: str, log: Path | None) -> str:
    key = _file(pubkey_path, "public key")
    with tempfile.TemporaryDirectory(prefix="pkgf-gpgv-") as home:
        keyring = Path(home) / "key.gpg"
        _binary_keyring(key, keyring, home, log)
        # apt also refuses SHA-1 signatures.
        proc = runner.run(["gpgv", "--homedir", home, "--keyring", str(keyring), "--weak-digest", "SHA1",
                           "--status-fd", "1", *args], log=log, check=False)
    status = [l.split()[1:] for l in proc.stdout.splitlines() if l.startswith("[GNUPG:] ")]
    bad = [s for s in status if s and s[0] in _BAD_STATUS]
    valid = [s for s in status if s and s[0] == "VALIDSIG"]
    if proc.returncode != 0 or bad or not valid:
        raise PkgfError(f"{what}: signature not valid with key {key}: {_why(bad, proc.stderr)}", exit_code=1)
    # VALIDSIG <fpr> <date> <ts> <expire> <ver> <reserved> <pkalgo> <hashalgo> <class> <primary-fpr>
    return valid[0][10] if len(valid[0]) > 10 else valid[0][1]


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


def _binary_keyring(key: Path, out: Path, home: str, log: Path | None) -> None:
    # gpgv reads binary keyrings only; an armored KEY.asc is dearmored first.
    if b"-----BEGIN PGP PUBLIC KEY BLOCK-----" in key.read_bytes():
        runner.run(["gpg", "--homedir", home, "--batch", "--no-tty", "--yes", "--dearmor",
                    "--output", str(out), str(key)], log=log)
    else:
        shutil.copyfile(key, out)


def _file(path, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: {what} not found" if not p.exists() else f"{p}: {what} is not a regular file")
    return p
