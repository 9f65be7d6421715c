"""Where pkgfactory keeps what it may reuse between runs: ``$PKGF_CACHE_DIR``, else
``$XDG_CACHE_HOME/pkgfactory``, else ``~/.cache/pkgfactory``.

Everything under it is keyed by content (a build key, an image id), so runs from
several checkouts or users of one home can share it, and deleting it only costs time.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "PKGF_CACHE_DIR"


def cache_dir(*parts: str) -> Path:
    base = os.environ.get(ENV_VAR)
    if not base:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pkgfactory"
    return Path(base, *parts)
