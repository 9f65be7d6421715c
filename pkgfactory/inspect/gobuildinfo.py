"""Go build information, as `go version -m` reads it (Go's debug/buildinfo).

The Go linker writes a 32-byte header starting with "\\xff Go buildinf:" at a
16-byte aligned address in .go.buildinfo (or, with section headers gone, the
first writable data segment). Go >= 1.18 follows it with two varint-prefixed
strings: the Go version and the module info; older releases store pointers
to Go string headers instead. The module info is framed by 16-byte sentinels
and holds tab-separated lines (path, mod, dep, =>, build).

Lengths come from the file and may lie: every read is bounded by the file
size and by _MAX_STRING, and parse errors become MalformedBuildInfo.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pkgfactory.inspect.gostrconv import GoQuoteError, quoted_prefix, unquote

MAGIC = b"\xff Go buildinf:"
ALIGN = 16
HEADER_SIZE = 32
SEARCH_SIZE = 64 * 1024
_MAX_STRING = 16 * 1024 * 1024
_FLAG_BIG_ENDIAN = 0x1
_FLAG_INLINE = 0x2


class MalformedBuildInfo(Exception):
    pass


@dataclass
class Module:
    path: str
    version: str
    sum: str = ""
    replace: Module | None = None

    def to_dict(self) -> dict:
        d = {"path": self.path, "version": self.version, "sum": self.sum}
        if self.replace is not None:
            d["replace"] = self.replace.to_dict()
        return d


@dataclass
class GoBuildInfo:
    version: str
    path: str = ""
    main: Module | None = None
    deps: list[Module] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "path": self.path,
            "main": self.main.to_dict() if self.main else None,
            "deps": [d.to_dict() for d in self.deps],
            "settings": dict(self.settings),
        }

    @property
    def release(self) -> tuple[int, int] | None:
        """(1, 27) for 'go1.27.3', 'go1.27rc1' or 'devel go1.27-abc'."""
        import re

        # At most 9 ASCII digits each: the version is file data, and int() of more than
        # 4300 digits raises ValueError (in check's kernel rule, far from the reader).
        m = re.search(r"go([0-9]{1,9})\.([0-9]{1,9})(?![0-9])", self.version)
        return (int(m.group(1)), int(m.group(2))) if m else None


class _Reader:
    def __init__(self, stream, size: int, loads):
        self.stream, self.size, self.loads = stream, size, loads

    def at(self, offset: int, n: int) -> bytes:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise MalformedBuildInfo("build info points outside the file")
        self.stream.seek(offset)
        data = self.stream.read(n)
        if len(data) != n:
            raise MalformedBuildInfo("short read")
        return data

    def vaddr_to_offset(self, addr: int, n: int) -> int:
        for vaddr, off, filesz, _w in self.loads:
            if vaddr <= addr and addr + n <= vaddr + filesz:
                return off + (addr - vaddr)
        raise MalformedBuildInfo(f"address {addr:#x} is not in the file")

    def uvarint(self, offset: int) -> tuple[int, int]:
        value = shift = 0
        for i in range(10):
            b = self.at(offset + i, 1)[0]
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value, offset + i + 1
            shift += 7
        raise MalformedBuildInfo("varint overflows")

    def inline_string(self, offset: int) -> tuple[bytes, int]:
        n, offset = self.uvarint(offset)
        if n > _MAX_STRING:
            raise MalformedBuildInfo("string length is implausible")
        return self.at(offset, n), offset + n


def _find_header(r: _Reader, start: int, length: int) -> int | None:
    window = r.at(start, min(length, SEARCH_SIZE, r.size - start))
    i = 0
    while True:
        i = window.find(MAGIC, i)
        if i < 0 or len(window) - i < HEADER_SIZE:
            return None
        if i % ALIGN == 0:
            return start + i
        i = (i + ALIGN - 1) & ~(ALIGN - 1)


def _candidate_regions(facts) -> list[tuple[int, int]]:
    if facts.go_buildinfo_section:
        return [facts.go_buildinfo_section]
    return [(off, filesz) for _v, off, filesz, writable in facts.loads if writable and filesz][:1]


def _pointer_string(r: _Reader, ptr_bytes: bytes, little: bool, ptr_size: int) -> bytes:
    fmt = ("<" if little else ">") + ("Q" if ptr_size == 8 else "I")
    (addr,) = struct.unpack(fmt, ptr_bytes)
    hdr = r.at(r.vaddr_to_offset(addr, 2 * ptr_size), 2 * ptr_size)
    data_addr, n = struct.unpack(fmt, hdr[:ptr_size])[0], struct.unpack(fmt, hdr[ptr_size:])[0]
    if n > _MAX_STRING:
        raise MalformedBuildInfo("string length is implausible")
    return r.at(r.vaddr_to_offset(data_addr, n), n) if n else b""


def read_buildinfo(stream, size: int, facts) -> GoBuildInfo | None:
    """Build info of a Go binary, None for a binary Go did not link."""
    r = _Reader(stream, size, facts.loads)
    header_at = None
    for start, length in _candidate_regions(facts):
        header_at = _find_header(r, start, length)
        if header_at is not None:
            break
    if header_at is None:
        return None
    header = r.at(header_at, HEADER_SIZE)
    ptr_size, flags = header[14], header[15]
    if flags & _FLAG_INLINE:
        vers, after = r.inline_string(header_at + HEADER_SIZE)
        mod, _ = r.inline_string(after)
    else:
        if ptr_size not in (4, 8):
            raise MalformedBuildInfo("bad pointer size in build info header")
        little = not (flags & _FLAG_BIG_ENDIAN)
        vers = _pointer_string(r, header[16:16 + ptr_size], little, ptr_size)
        mod = _pointer_string(r, header[16 + ptr_size:16 + 2 * ptr_size], little, ptr_size)
    if not vers:
        return None
    # Sentinels frame the module info; without them Go reports none.
    if len(mod) >= 33 and mod[-17] == 0x0A:
        mod = mod[16:-16]
    else:
        mod = b""
    info = parse_modinfo(mod.decode("utf-8", "replace"))
    info.version = vers.decode("utf-8", "replace")
    return info


def _module(elems: list[str], line: str) -> Module:
    if len(elems) not in (2, 3):
        raise MalformedBuildInfo(f"expected 2 or 3 columns; got {len(elems)}: {line!r}")
    return Module(path=elems[0], version=elems[1], sum=elems[2] if len(elems) == 3 else "")


def parse_modinfo(text: str) -> GoBuildInfo:
    """The same rules as Go's runtime/debug.ParseBuildInfo."""
    info = GoBuildInfo(version="")
    last: Module | None = None
    for line in text.split("\n"):
        if line.startswith("path\t"):
            info.path = line[5:]
        elif line.startswith("mod\t"):
            info.main = last = _module(line[4:].split("\t"), line)
        elif line.startswith("dep\t"):
            last = _module(line[4:].split("\t"), line)
            info.deps.append(last)
        elif line.startswith("=>\t"):
            elems = line[3:].split("\t")
            if len(elems) != 3:
                raise MalformedBuildInfo(f"expected 3 columns for replacement; got {len(elems)}")
            if last is None:
                raise MalformedBuildInfo("replacement with no module on previous line")
            last.replace = Module(path=elems[0], version=elems[1], sum=elems[2])
            last = None
        elif line.startswith("build\t"):
            key, value = _build_setting(line[6:])
            info.settings[key] = value
    return info


def _build_setting(kv: str) -> tuple[str, str]:
    if not kv:
        raise MalformedBuildInfo("build line missing '='")
    try:
        if kv[0] == "=":
            raise MalformedBuildInfo("build line with missing key")
        if kv[0] in "`\"":
            raw_key = quoted_prefix(kv)
            key = unquote(raw_key)
            kv = kv[len(raw_key):]
            if not kv.startswith("="):
                raise MalformedBuildInfo("build line missing '=' after quoted key")
            raw_value = kv[1:]
        else:
            key, sep, raw_value = kv.partition("=")
            if not sep:
                raise MalformedBuildInfo("build line missing '='")
        value = unquote(raw_value) if raw_value[:1] in ("`", '"') else raw_value
    except GoQuoteError as e:
        raise MalformedBuildInfo(f"invalid quoted build setting: {e}") from None
    return key, value
