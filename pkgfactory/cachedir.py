"""Where pkgfactory keeps what it can make again: images' rootfs builds, compiled binaries,
locks, tool versions per builder image id, and (pkgfactory.pkgcache) built packages.

Everything under it is keyed by content (a build key, an image id), so runs from several
checkouts or users of one home can share it, and deleting it only costs time.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/pkgfactory`` (``~/.cache/pkgfactory``), created on first use; ``parts``
    name a path below it (not created)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "pkgfactory"
    path.mkdir(parents=True, exist_ok=True)
    return path.joinpath(*parts)
