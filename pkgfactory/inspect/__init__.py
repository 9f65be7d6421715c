"""Stage 1: inspect a binary — ELF facts plus Go build info — without judging it."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from dataclasses import dataclass

from elftools.common.exceptions import ELFError

from pkgfactory.errors import InputError
from pkgfactory.inspect.elf import ElfFacts, MalformedELF, read_elf
from pkgfactory.inspect.gobuildinfo import GoBuildInfo, MalformedBuildInfo, read_buildinfo

_UPX_MAGIC = b"UPX!"


@dataclass
class BinaryInfo:
    path: str
    sha256: str
    size: int
    elf: ElfFacts
    go: GoBuildInfo | None
    upx: bool

    @property
    def arch(self) -> str:
        return self.elf.arch

    def to_dict(self) -> dict:
        e = self.elf
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "arch": e.arch,
            "linkage": e.linkage,
            "interpreter": e.interpreter,
            "needed": e.needed,
            "glibc_max": e.glibc_max,
            "symbol_versions": e.symbol_versions,
            "stripped": e.stripped,
            "pie": e.pie,
            "upx": self.upx,
            "elf_type": e.elf_type,
            "osabi": e.osabi,
            "e_flags": e.e_flags,
            "abi_tag_kernel": e.abi_tag_kernel,
            "go": self.go.to_dict() if self.go else None,
        }


_HASH_CHUNK = 1 << 20


class _Digest(threading.Thread):
    """sha256 of an open file, computed beside the ELF parse: hashlib lets go of the GIL,
    so on two cores the hash of a big binary costs almost no wall time.

    Reads with pread on the descriptor the parse also uses (the file position is the
    parser's), so the hashed file is the one that was opened and judged.
    """

    def __init__(self, fd: int, size: int):
        super().__init__(name="inspect-sha256", daemon=True)
        self.fd, self.size, self.stop = fd, size, threading.Event()
        self.hexdigest: str | None = None
        self.error: OSError | None = None
        self.start()

    def run(self) -> None:
        h, offset = hashlib.sha256(), 0
        try:
            while not self.stop.is_set():
                chunk = os.pread(self.fd, _HASH_CHUNK, offset)
                if not chunk:
                    self.hexdigest = h.hexdigest()
                    return
                h.update(chunk)
                offset += len(chunk)
        except OSError as e:
            self.error = e

    def result(self, path: str) -> str:
        self.join()
        if self.error is not None:
            raise InputError(f"{path}: cannot read: {self.error.strerror}")
        return self.hexdigest

    def cancel(self) -> None:
        self.stop.set()
        self.join()  # the descriptor must outlive every read of it


def _is_upx(f, size: int) -> bool:
    """UPX writes its l_info ("UPX!") right after the program headers and a trailer near the end."""
    f.seek(0)
    head = f.read(4096)
    f.seek(max(0, size - 4096))
    tail = f.read(4096)
    return _UPX_MAGIC in head or _UPX_MAGIC in tail


def _open_regular(path: str):
    # Open first (non-blocking, so a FIFO cannot hang us) and judge what was opened: a
    # stat-then-open lets the path be swapped for a FIFO or device in between.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not an ELF binary") from None
    except OSError as e:
        if e.errno == errno.ENXIO:  # a socket, or a device with nothing behind it
            raise InputError(f"{path}: not a regular file, not an ELF binary") from None
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path}: is a directory, not an ELF binary")
        raise InputError(f"{path}: not a regular file, not an ELF binary")
    return os.fdopen(fd, "rb"), st.st_size


def inspect_file(path: str | os.PathLike) -> BinaryInfo:
    """Inspect one file; any problem with it raises InputError with a one-line message."""
    path = os.fspath(path)
    f, size = _open_regular(path)
    with f:
        magic = f.read(4)
        if size == 0:
            raise InputError(f"{path}: empty file, not an ELF binary")
        if magic != b"\x7fELF":
            raise InputError(f"{path}: not an ELF binary")
        digest = _Digest(f.fileno(), size)
        try:
            info = _read(f, path, size)
            info.sha256 = digest.result(path)
        finally:
            digest.cancel()  # at once when done; on an error or interrupt, before the close
        return info


def _read(f, path: str, size: int) -> BinaryInfo:
    try:
        f.seek(0)
        facts = read_elf(f, size)
    except (MalformedELF, ELFError) as e:
        raise InputError(f"{path}: malformed ELF: {e}") from None
    except Exception as e:  # pyelftools raises struct/construct/index errors on garbage
        raise InputError(f"{path}: malformed ELF ({type(e).__name__}): {e}") from None
    try:
        go = read_buildinfo(f, size, facts)
    except MalformedBuildInfo as e:
        raise InputError(f"{path}: malformed Go build info: {e}") from None
    return BinaryInfo(path=path, sha256="", size=size, elf=facts, go=go, upx=_is_upx(f, size))


def inspect_files(paths) -> list[BinaryInfo]:
    return [inspect_file(p) for p in paths]


__all__ = ["BinaryInfo", "inspect_file", "inspect_files"]
