"""The signature cache: signed outputs reused when the same key signs the same bytes the same way.

A signature by one key over one sequence of bytes, of one kind and with the same
options, is as good as a fresh one made of the same: so a signed RPM is kept under
(the unsigned RPM's sha256, the key's fingerprint, v3 or v4), and an armored
detached or cleartext signature under (the signed data's sha256, the fingerprint,
the mode). Entries live in ``~/.cache/pkgfactory/signatures`` (``$PKGF_SIGNATURE_CACHE``),
next to the package cache and stored the same way (pkgfactory.pkgcache: whole or not
at all, sha256-checked on every use, least recently used evicted past
``$PKGF_SIGNATURE_CACHE_MB``, default 1024). ``--no-cache`` bypasses both.

Nothing here is trusted: the Signer verifies every entry it takes against the key,
as any client would, and redoes the signature when an entry fails (docs/signing.md,
"The signature cache", has the argument).
"""

from __future__ import annotations

import hashlib
import json
import os

from pkgfactory.cachedir import cache_dir, cap_from_env
from pkgfactory.pkgcache import PackageCache

DIR_ENV = "PKGF_SIGNATURE_CACHE"
CAP_ENV = "PKGF_SIGNATURE_CACHE_MB"
DEFAULT_CAP_MB = 1024
# Bump when what an entry holds, or what its key covers, changes.
SCHEMA = "pkgfactory-signature/1"


def signature_cache() -> PackageCache:
    return PackageCache(os.environ.get(DIR_ENV) or cache_dir("signatures"), cap_from_env(CAP_ENV, DEFAULT_CAP_MB),
                        what="signature cache", redo="signing again")


def entry_key(kind: str, fingerprint: str, data_sha256: str, options: dict) -> str:
    """``kind``: "rpm" (the entry is the signed package), "detach" or "clear" (the armored signature);
    ``options``: everything else that changes the signature (v3, digest algorithm, armor)."""
    text = json.dumps({"schema": SCHEMA, "kind": kind, "fingerprint": fingerprint, "data": data_sha256,
                       "options": options}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
