"""Sources that name many files: a directory (installed as a tree) or a glob.

``expand(root, value, dest)`` lists every file such a ``[[file]]``/``[[config]]``
source names, with its install path, and the directories the package owns
because of it — sorted, so the same tree gives the same package on every
machine. It only walks the tree; the loader then holds every file to the
same rules as a single source (confinement, regular and readable, legal
install path).

- A directory (``source = "web/dist/"``): its contents go under ``dest``,
  which becomes the tree's root. ``dest`` and every directory below it belong
  to the package (removed with it when empty). Hidden files are included, as
  ``cp -r`` would; symlinks are followed (files and directories alike, like
  ``cp -rL``), a loop is an error.
- A glob (``source = "packaging/*.tmpl"``, ``**`` for any depth): each match
  goes to ``dest`` plus its path below the pattern's fixed leading part
  (``dist/bin/*`` → ``dest/<name>``). ``dest`` itself is not owned (globs often
  fill a shared directory such as ``/usr/bin``); directories below it that a
  match brings are. A matched directory is installed as a tree. As in the
  shell, ``*`` does not match names starting with ``.``.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

GLOB_CHARS = re.compile(r"[*?[]")


@dataclass
class Expansion:
    files: dict[str, Path] = field(default_factory=dict)  # install path -> source
    dirs: set[str] = field(default_factory=set)  # install paths of directories the package owns
    walked: list[Path] = field(default_factory=list)  # source directories read, for confinement

    def sorted_files(self) -> list[tuple[str, Path]]:
        return sorted(self.files.items())

    def sorted_dirs(self) -> list[str]:
        return sorted(self.dirs)


def is_glob(value: str) -> bool:
    return bool(GLOB_CHARS.search(value))


def names_many(value: str, path: Path) -> bool:
    """True when a source value names a directory or a glob rather than one file."""
    return is_glob(value) or value.endswith("/") or path.is_dir()


def expand(root: Path, value: str, dest: str) -> Expansion:
    """Raises ValueError with the reason when the source names no file."""
    out = Expansion()
    if is_glob(value):
        _glob(root, value, dest, out)
        what = f"the pattern {value!r} matches no file"
    else:
        path = Path(os.path.normpath(root / value))
        if not path.is_dir():
            raise ValueError(f"{path} is not a directory" if path.exists() else f"{path} does not exist")
        out.dirs.add(dest)
        _tree(path, dest, out, frozenset())
        what = f"{path} holds no files"
    if not out.files:
        raise ValueError(what)
    return out


def _tree(src: Path, dest: str, out: Expansion, above: frozenset[str]) -> None:
    real = os.path.realpath(src)
    if real in above:
        raise ValueError(f"{src}: symlink loop (it leads back to {real})")
    out.walked.append(src)
    try:
        entries = sorted(os.scandir(src), key=lambda e: e.name)
    except OSError as e:
        raise ValueError(f"{src}: cannot list: {e.strerror}") from None
    for entry in entries:
        target = f"{dest}/{entry.name}"
        if entry.is_dir(follow_symlinks=True):
            out.dirs.add(target)
            _tree(Path(entry.path), target, out, above | {real})
        else:
            out.files[target] = Path(entry.path)  # the loader refuses what is not a regular file


def _glob(root: Path, pattern: str, dest: str, out: Expansion) -> None:
    parts = pattern.split("/")
    fixed = []
    for part in parts:
        if is_glob(part):
            break
        fixed.append(part)
    base = Path(os.path.normpath(root.joinpath(*fixed))) if fixed else root
    matches = sorted(glob.glob(pattern, root_dir=root, recursive=True))
    for m in matches:
        path = Path(os.path.normpath(root / m))
        rel = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name
        if rel == ".":
            continue  # "dir/**" matches "dir/" itself: its contents are matched too
        target = f"{dest}/{rel}"
        parent = target.rsplit("/", 1)[0]
        while parent != dest and parent.startswith(dest + "/"):
            out.dirs.add(parent)
            parent = parent.rsplit("/", 1)[0]
        if path.is_dir():
            out.dirs.add(target)
            _tree(path, target, out, frozenset())
        else:
            out.files[target] = path
