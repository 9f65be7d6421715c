"""Would each target be able to verify signatures made with this key?"""

from __future__ import annotations

from typing import Iterable

from pkgfactory.errors import PkgfError
from pkgfactory.keys.keyring import KeyInfo

# ed25519 keys show up as "eddsa" (v4, algo 22) or "ed25519" (v6, algo 27).
_ALIASES = {"ed25519": "eddsa"}


def refuse_unverifiable(key_info: KeyInfo, profiles: Iterable) -> None:
    """Raise naming the first target whose rpm/gpg cannot verify ``key_info``'s algorithm.

    A profile without ``packaging.gpg_key_algorithms`` (the deb targets, whose
    gpgv takes every algorithm GnuPG makes) accepts any key.
    """
    algo = _ALIASES.get(key_info.algorithm, key_info.algorithm)
    for profile in profiles:
        allowed = profile.packaging.get("gpg_key_algorithms")
        if allowed is None:
            continue
        if algo not in {_ALIASES.get(a, a) for a in allowed}:
            raise PkgfError(
                f"key {key_info.fingerprint} is {key_info.description}, which target {profile.id} cannot verify "
                f"(it takes {', '.join(allowed)}): use an RSA key, e.g. `pkgfactory keys generate` (RSA 4096)")
