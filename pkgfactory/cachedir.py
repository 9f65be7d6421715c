"""Where pkgfactory keeps what it can make again: images' rootfs builds, compiled binaries,
locks, tool versions per builder image id, and (pkgfactory.pkgcache) built packages.

Everything under it is keyed by content (a build key, an image id), so runs from several
checkouts or users of one home can share it, and deleting it only costs time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from pkgfactory.errors import InputError
from pkgfactory.published import make_dir, refuse_not_a_directory


def cache_dir(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/pkgfactory`` (``~/.cache/pkgfactory``), created on first use; ``parts``
    name a path below it (not created)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    path = Path(xdg or Path.home() / ".cache") / "pkgfactory"
    try:
        make_dir(path, "cache directory", public=False)
    except InputError as e:
        raise InputError(f"{e} (XDG_CACHE_HOME={xdg})" if xdg else str(e)) from None
    return path.joinpath(*parts)


def cap_from_env(var: str, default_mb: int) -> int:
    """A cache's size cap in bytes: ``$var`` megabytes, or ``default_mb``."""
    raw = os.environ.get(var, "")
    if not raw:
        return default_mb << 20
    if not (raw.isascii() and raw.isdigit()):  # "³".isdigit(), and int() refuses it
        raise InputError(f"{var}={raw!r} is not a whole number of megabytes")
    return int(raw) << 20


def check_env(*caches) -> None:
    """Refuse, as a command starts, a cache setting it would trip over only later (a bad size after
    minutes of compiling, or never: a hit never reads the cap) or quietly ignore (a cache directory
    that cannot be a directory turned the cache off). ``caches``: the cache modules the command
    uses, each with ``CAP_ENV`` (its size variable) and maybe ``DIR_ENV`` (its directory variable).
    Nothing is made (--no-cache must leave no cache behind), and a cache we may only read is
    fine: it still gives hits."""
    cache_dir()
    for c in caches:
        cap_from_env(c.CAP_ENV, 0)
        where = os.environ.get(getattr(c, "DIR_ENV", ""), "")
        if where:
            refuse_not_a_directory(where, f"the {c.DIR_ENV} directory")


def drop_least_recent(entries, cap: int, remove=None) -> None:
    """Remove entry directories, least recently used first, until the rest fit in ``cap`` bytes.
    ``entries``: (last use as an mtime, size in bytes, directory); ``remove``: how (default rmtree)."""
    entries = sorted(entries)
    total = sum(size for _t, size, _d in entries)
    for _t, size, d in entries:
        if total <= cap:
            break
        if remove is not None:
            remove(d)
        else:
            shutil.rmtree(d, ignore_errors=True)
        total -= size


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs: a temporary entry of a dead one is an orphan."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def commit_entry(tmp: Path, final: Path, meta: dict, entry: str = "entry.json") -> None:
    """Write ``meta`` into the entry directory ``tmp`` and rename it to ``final``: an entry appears
    whole or not at all, and one another run stored first is kept (ours is dropped)."""
    (tmp / entry).write_text(json.dumps(meta, indent=2) + "\n")
    try:
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


_TMP = re.compile(r"^\.tmp-(\d+)-")


def temporary_entry(root: Path, key: str) -> Path:
    """Where this process writes an entry before :func:`commit_entry` renames it to ``key``."""
    return root / f".tmp-{os.getpid()}-{key[:16]}"


def remove_orphans(root: Path) -> None:
    """Temporary entries (``.tmp-PID-...``) of runs that died while storing or removing one."""
    for d in root.iterdir():
        m = _TMP.match(d.name)
        if m and not pid_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)
