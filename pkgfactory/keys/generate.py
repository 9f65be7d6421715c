"""Making the signing key: one primary key that signs, readable by old rpm."""

from __future__ import annotations

import re

from pkgfactory.errors import InputError, PkgfError
from pkgfactory.keys.keyring import KeyInfo, Keyring
from pkgfactory.keys.passphrase import check_passphrase

# RSA first: rpm 4.11-4.15 and EL7's GnuPG 2.0 verify only RSA and DSA.
# GnuPG >= 2.3 would pick ed25519 by default, so the type is always explicit.
ALGORITHMS = {
    "rsa4096": {"key_type": "RSA", "key_length": 4096},
    "rsa3072": {"key_type": "RSA", "key_length": 3072},
    "ed25519": {"key_type": "EDDSA", "key_curve": "ed25519"},
}
DEFAULT_ALGORITHM = "rsa4096"
_PREFERENCES = "SHA256 SHA384 SHA512 AES256 AES192 AES ZLIB BZIP2 ZIP Uncompressed"
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_EXPIRE = re.compile(r"^(0|[1-9][0-9]*[dwmy]?|[0-9]{4}-[0-9]{2}-[0-9]{2})$")


def generate_key(keys_dir, name: str, email: str, passphrase: str | None, *,
                 algorithm: str = DEFAULT_ALGORITHM, expire: str = "0") -> KeyInfo:
    """Generate the signing key in ``keys_dir``; ``passphrase=None`` leaves it unprotected.

    A keys dir holds one signing key, so that "the key" is never ambiguous
    for the signer: a second one is refused.
    """
    _check_text(name, "--name")
    if not _EMAIL.match(email or ""):
        raise InputError(f"--email '{email}' is not an e-mail address")
    if algorithm not in ALGORITHMS:
        raise InputError(f"unknown key algorithm '{algorithm}' (known: {', '.join(ALGORITHMS)})")
    if not _EXPIRE.match(expire):
        raise InputError(f"--expire '{expire}' is not 0, a number of days/weeks/months/years (2y) or a date (YYYY-MM-DD)")
    if passphrase is not None:
        check_passphrase(passphrase)

    ring = Keyring(keys_dir)
    existing = [k for k in ring.keys() if k.secret]
    if existing:
        raise InputError(f"keys dir {ring.home} already holds secret key {existing[0].fingerprint}: "
                         "use another --keys-dir for a new key")

    params = dict(ALGORITHMS[algorithm], name_real=name, name_email=email, expire_date=expire,
                  key_usage="sign", preferences=_PREFERENCES)
    if passphrase is None:
        spec = ring.gpg.gen_key_input(no_protection=True, **params)
    else:
        # Goes to gpg on its stdin, with the rest of the key parameters.
        spec = ring.gpg.gen_key_input(passphrase=passphrase, **params)
    result = ring.gpg.gen_key(spec)
    fingerprint = getattr(result, "fingerprint", None)
    if not fingerprint:
        reason = " ".join(l for l in (result.stderr or "").splitlines()
                          if l.startswith("gpg: ") and "[GNUPG:]" not in l)[-300:]
        raise PkgfError(f"gpg could not generate the key in {ring.home}" + (f": {reason}" if reason else ""))
    return ring.find(fingerprint)


def _check_text(value: str, option: str) -> None:
    # The values go into GnuPG's line-based parameter file.
    if not value or not value.strip():
        raise InputError(f"{option} is empty")
    if any(ord(c) < 32 or c in "<>()" for c in value):
        raise InputError(f"{option} '{value}' contains a control character or one of < > ( )")
