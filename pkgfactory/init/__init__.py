"""`pkgfactory init`: a commented pkgfactory.toml drafted from a binary or an nfpm/goreleaser config.

``draft_from_binaries`` and ``draft_from_nfpm`` return a :class:`Draft`;
``write_draft`` writes it only after pkgfactory's own project reader has
loaded the very text being written, and never over an existing file unless
told to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pkgfactory.errors import InputError, PkgfError
from pkgfactory.init.draft import FILL_IN, Draft
from pkgfactory.init.from_binary import draft_from_binaries
from pkgfactory.init.from_nfpm import draft_from_nfpm
from pkgfactory.project import FILE_NAME, load


@dataclass
class Written:
    path: Path
    draft: Draft
    sources_missing: str | None  # why the sources could not be checked yet (not built, elsewhere), else None


def output_path(out: str | os.PathLike | None) -> Path:
    path = Path(out) if out is not None else Path(FILE_NAME)
    return path / FILE_NAME if path.is_dir() else path


def write_draft(draft: Draft, path: Path, *, force: bool = False) -> Written:
    path = path.absolute()
    if path.exists() and not force:
        raise InputError(f"{path} exists; pkgfactory init never replaces a file (--force does)")
    if path.exists() and not path.is_file():
        raise InputError(f"{path} exists and is not a regular file")
    if not path.parent.is_dir():
        raise InputError(f"{path.parent}: no such directory")
    text = draft.to_toml()
    # Next to the final name, so relative sources resolve the same; renamed only once it loads.
    tmp = path.with_name(f".{path.name}.init-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        missing = _check(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return Written(path, draft, missing)


def _check(path: Path) -> str | None:
    """Load the written text as every command will; a draft the reader refuses is our bug, never written."""
    try:
        load(path)
        return None
    except InputError as full:
        try:
            load(path, check_sources=False, sources_root="/")
        except InputError as e:
            raise PkgfError(f"pkgfactory init drafted a project file its own reader refuses ({e}); "
                            "nothing was written: please report this", exit_code=70) from None
        return str(full).split(": ", 1)[-1].replace(path.name, FILE_NAME)


__all__ = ["FILL_IN", "Draft", "Written", "draft_from_binaries", "draft_from_nfpm", "output_path", "write_draft"]
