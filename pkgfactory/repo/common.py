"""What the yum and apt repository makers share: inputs and the build time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from pkgfactory.errors import InputError


def source_date_epoch(epoch: int | None) -> int | None:
    """``epoch`` or $SOURCE_DATE_EPOCH (reproducible-builds.org), or None."""
    if epoch is not None:
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise InputError(f"timestamp {epoch!r} is not a number of seconds since 1970")
        return epoch
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InputError(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970")
    return int(raw)


def unique_files(paths: Iterable, suffix: str) -> list[Path]:
    """Existing ``*.suffix`` files with distinct names (they share one directory in the repo)."""
    files, seen = [], {}
    for p in map(Path, paths):
        if not p.is_file():
            raise InputError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
        if p.suffix != suffix:
            raise InputError(f"{p}: not a {suffix} file")
        if p.name in seen:
            raise InputError(f"{p}: same file name as {seen[p.name]}")
        seen[p.name] = p
        files.append(p)
    if not files:
        raise InputError(f"no {suffix} files to put in the repository")
    return files


def empty_dir(path) -> Path:
    """``path`` as a new or empty directory: a repository is always made from scratch,
    so nothing left from an earlier run can end up indexed or signed."""
    p = Path(path).absolute()
    if p.exists() and not p.is_dir():
        raise InputError(f"repository dir {p} is not a directory")
    if p.is_dir() and any(p.iterdir()):
        raise InputError(f"repository dir {p} is not empty")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create repository dir {p}: {e.strerror}") from None
    return p
