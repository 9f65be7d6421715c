"""The bundle's own files: names that are fixed, and the rules for listed paths."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
SUMS_SIG = "SHA256SUMS.asc"
KEY = "KEY.asc"
KEY_FPR = "KEY.fingerprint"
# Files that cannot list themselves: the manifest lists every other file,
# SHA256SUMS every file but itself and its signature.
NOT_IN_MANIFEST = (MANIFEST, SUMS, SUMS_SIG)
FORMAT = "pkgfactory-bundle/1"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BadPath(ValueError):
    pass


def safe_relpath(text: str) -> str:
    """A listed path must stay inside the bundle: relative, normalised, no '..'."""
    if not isinstance(text, str) or not text or "\0" in text or "\\" in text or "\n" in text:
        raise BadPath(f"invalid path {text!r}")
    p = PurePosixPath(text)
    if p.is_absolute() or any(part in ("..", ".", "") for part in text.split("/")):
        raise BadPath(f"path {text!r} leaves the bundle or is not normalised")
    return str(p)


def is_sha256(text) -> bool:
    return isinstance(text, str) and bool(_HEX64.match(text))


def walk_files(root: Path) -> tuple[list[str], list[str]]:
    """(regular files, other entries such as symlinks/FIFOs) below root, as relative POSIX paths."""
    files, odd = [], []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in list(dirnames):
            full = Path(dirpath) / name
            if full.is_symlink():
                odd.append(full.relative_to(root).as_posix())
                dirnames.remove(name)
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            (files if full.is_file() and not full.is_symlink() else odd).append(rel)
    return sorted(files), sorted(odd)
