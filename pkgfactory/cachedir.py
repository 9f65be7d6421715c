"""Where pkgfactory keeps what it can make again: images' rootfs builds, compiled binaries, locks."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/pkgfactory`` (``~/.cache/pkgfactory``), created on first use."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "pkgfactory"
    path.mkdir(parents=True, exist_ok=True)
    return path
