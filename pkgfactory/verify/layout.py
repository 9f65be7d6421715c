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


# Deeper than any bundle pkgfactory writes (repos/deb/<t>/pool/main/h/<name>/x.deb is 7):
# a walk stops there, so a hostile tree costs neither recursion nor endless paths.
MAX_DEPTH = 32


def walk_files(root: Path) -> tuple[list[str], dict[str, str]]:
    """(regular files, {other entry: what it is}) below root, as relative POSIX paths.

    Nothing is followed or opened: symlinks, FIFOs and devices are reported,
    and directories nested deeper than MAX_DEPTH are reported, not entered.
    Iterative, so depth costs no recursion.
    """
    files: list[str] = []
    odd: dict[str, str] = {}
    stack = [(Path(root), 0)]
    while stack:
        here, depth = stack.pop()
        try:
            entries = list(os.scandir(here))
        except OSError as e:
            odd[here.relative_to(root).as_posix()] = f"directory cannot be read: {e.strerror}"
            continue
        for entry in entries:
            rel = Path(entry.path).relative_to(root).as_posix()
            if entry.is_dir(follow_symlinks=False):
                if depth + 1 >= MAX_DEPTH:
                    odd[rel] = f"directories nested deeper than {MAX_DEPTH} levels: not entered"
                else:
                    stack.append((Path(entry.path), depth + 1))
            elif entry.is_file(follow_symlinks=False):
                files.append(rel)
            else:
                odd[rel] = "not a regular file (symlink or special file) in the bundle"
    return sorted(files), dict(sorted(odd.items()))
