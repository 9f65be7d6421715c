"""The directories pkgfactory makes, and the modes of the files it publishes in them.

A path the user names (``-o``, ``XDG_CACHE_HOME``, a cache variable) can be one we
cannot make a directory at: under a regular file, in /proc, on a read-only file
system. That is bad input, one line naming the path, not an internal error.

What lands in an output directory is read by others (copied to a stick, served,
signed by another account) and must not be rewritable by them: files 0644 and
directories 0755 whatever umask pkgfactory runs under (under umask 000 they came out
0666 and 0777). Cache directories are only ours, and keep the user's umask.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from pathlib import Path

from pkgfactory.errors import InputError

FILE_MODE = 0o644
DIR_MODE = 0o755  # directories, and the binaries and scripts meant to be run


def make_dir(path: str | os.PathLike, what: str, *, public: bool = True) -> Path:
    """``path`` and its missing parents; those it makes are ``DIR_MODE`` when ``public``.
    ``what`` names the path in the error (e.g. "output directory")."""
    path = Path(path)
    top = refuse_not_a_directory(path, what)
    missing, p = [], path.absolute()
    while p != top:
        missing.append(p)
        p = p.parent
    try:
        path.mkdir(parents=True, exist_ok=True)
        if public:
            for d in reversed(missing):
                os.chmod(d, DIR_MODE)
    except OSError as e:
        where = f" ({e.filename})" if e.filename and os.fspath(e.filename) != os.fspath(path) else ""
        raise InputError(f"cannot make {what} {path}: {e.strerror or e}{where}") from None
    return path


def refuse_not_a_directory(path: str | os.PathLike, what: str) -> Path:
    """``path``, or the nearest of its parents that exists, must be a directory; returns that one."""
    p = Path(path).absolute()
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    if not os.path.isdir(p):
        raise InputError(f"{what} {path} is not a directory" if p == Path(path).absolute() else
                         f"cannot make {what} {path}: {p} is not a directory")
    return p


def refuse_unmakeable(path: str | os.PathLike, what: str) -> None:
    """What :func:`make_dir` would refuse, found without making anything: for a command that
    writes nothing until its work is done (compile), so a typo in ``-o`` does not cost the work."""
    p = refuse_not_a_directory(path, what)
    try:  # access() says yes to root in /proc and on a read-only mount: try it
        os.rmdir(tempfile.mkdtemp(prefix=".pkgfactory-probe-", dir=p))
    except OSError as e:
        raise InputError(f"cannot make {what} {path}: cannot write in {p}: {e.strerror or e}") from None


def open_log(path: str | os.PathLike):
    """A log to append to (text), made ``FILE_MODE``: logs sit in the output directory too."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return open(fd, "a", encoding="utf-8", errors="backslashreplace")
    except BaseException:
        os.close(fd)
        raise


def publish_mode(path: str | os.PathLike, *, executable: bool = False) -> None:
    """Give a file about to be renamed into an output directory its published mode."""
    os.chmod(path, DIR_MODE if executable else FILE_MODE)


def write_atomic(path: Path, text: str) -> None:
    """A report, written under a temporary name and renamed in with its published mode."""
    tmp = path.with_name(f".{path.name}.part-{os.getpid()}")
    tmp.write_text(text)
    publish_mode(tmp)
    os.replace(tmp, path)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where the kernel or file system cannot."""
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def publish_dir(stage: Path, final: Path) -> None:
    """Put the directory ``stage`` under the name ``final``, in place of what is there: at every
    moment ``final`` is the old whole directory or the new one."""
    if final.exists():
        # Moving the old bundle aside and then the new one in leaves a moment with
        # no bundle under the final name: a kill there lost the old one and had
        # not published the new. An exchange has no such moment.
        if exchange(stage, final):
            shutil.rmtree(stage, ignore_errors=True)  # the old bundle, now under the staging name
            return
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(stage, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(stage, final)
