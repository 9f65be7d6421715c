"""A seeded corpus of malformed inputs for `inspect`/`check`, derived from real binaries.

Every case starts from a real Go or C binary (the tests' Go variants, a 32-bit
and a big-endian Go build made here, /bin/ls and another system binary) or is
a non-file (directory, FIFO, symlink loop...). The corpus is deterministic:
the same sources and SEED give byte-identical files.

The contract each case is held to (tests/test_elf_corpus.py, figures()):
exit 2 with exactly one `pkgfactory: error: PATH: ...` line on stderr, or a
correct result (exit 0/1 and valid JSON) -- never an internal error (exit 70)
or a traceback, within TIME_LIMIT seconds and RSS_LIMIT_MB of memory.

    python tests/elf_corpus.py OUTDIR       # write the corpus, one line per case
    python tests/elf_corpus.py --figures    # every case through the real CLI; JSON figures
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gobuild import CACHE_ROOT, build_all, cache_lock  # noqa: E402
from gobuild import go as gobuild_go  # noqa: E402

SEED = 20250505
TIME_LIMIT = 5.0
RSS_LIMIT_MB = 200
TARGET = "centos-7"
COMMANDS = (("inspect", "--json"), ("check", "--target", TARGET, "--json"))

# Where a system C binary is looked for; the first two that exist are used.
C_BINARIES = ("/bin/ls", "/usr/bin/gpg", "/usr/bin/rpm", "/bin/cat", "/usr/bin/env")


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    source: str
    # "error": the file is unusable and must be refused with exit 2;
    # "any": refused, or a correct result (garbage in a part inspect does not need).
    expect: str = "any"


# --------------------------------------------------------------------------- sources

HELLO_GO = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n'
# name -> GOARCH env: a 32-bit little-endian and a 32-bit big-endian Go binary.
EXTRA_GO = {"go-386": {"GOARCH": "386"}, "go-mips": {"GOARCH": "mips", "GOMIPS": "softfloat"}}


def extra_go_binaries() -> dict[str, Path]:
    """Real 32-bit and big-endian Go builds (hello world), cached like tests/gobuild.py does."""
    go = gobuild_go()
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256((version + HELLO_GO + json.dumps(EXTRA_GO, sort_keys=True)).encode()).hexdigest()[:16]
    out = CACHE_ROOT / f"corpus-{key}"
    wanted = {name: out / name for name in EXTRA_GO}
    if all(p.exists() for p in wanted.values()):
        return wanted
    with cache_lock(out):
        return _build_extra_locked(go, out, wanted)


def _build_extra_locked(go: str, out: Path, wanted: dict[str, Path]) -> dict[str, Path]:
    src = out / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text("module example.com/hello\n\ngo 1.21\n")
    (src / "main.go").write_text(HELLO_GO)
    for name, overrides in EXTRA_GO.items():
        if wanted[name].exists():
            continue
        env = dict(os.environ, GOCACHE=str(CACHE_ROOT / "gocache"), GOTOOLCHAIN="local", GOPROXY="off",
                   GOFLAGS="-mod=mod", CGO_ENABLED="0", GOOS="linux", **overrides)
        tmp = wanted[name].with_suffix(".tmp")
        p = subprocess.run([go, "build", "-o", str(tmp), "."], cwd=src, env=env, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"go build {name} failed:\n{p.stderr}")
        tmp.rename(wanted[name])
    return wanted


def source_binaries(go_binaries: dict[str, Path] | None = None) -> dict[str, Path]:
    """name -> path of every real binary the corpus derives from."""
    srcs = {f"go-{k}": Path(v) for k, v in (go_binaries or build_all()).items()}
    srcs.update(extra_go_binaries())
    found = [p for p in C_BINARIES if os.path.isfile(p)][:2]
    if len(found) < 2:
        raise RuntimeError(f"need two system C binaries, found {found}")
    for p in found:
        srcs[f"c-{Path(p).name}"] = Path(p)
    return srcs


# --------------------------------------------------------------------------- ELF layout

_EHDR = {  # field -> (offset64, offset32, struct code); "A" = address-sized
    "e_type": (16, 16, "H"), "e_machine": (18, 18, "H"), "e_version": (20, 20, "I"),
    "e_entry": (24, 24, "A"), "e_phoff": (32, 28, "A"), "e_shoff": (40, 32, "A"),
    "e_flags": (48, 36, "I"), "e_ehsize": (52, 40, "H"), "e_phentsize": (54, 42, "H"),
    "e_phnum": (56, 44, "H"), "e_shentsize": (58, 46, "H"), "e_shnum": (60, 48, "H"),
    "e_shstrndx": (62, 50, "H"),
}
_SHDR = {
    "sh_name": (0, 0, "I"), "sh_type": (4, 4, "I"), "sh_flags": (8, 8, "A"), "sh_addr": (16, 12, "A"),
    "sh_offset": (24, 16, "A"), "sh_size": (32, 20, "A"), "sh_link": (40, 24, "I"),
    "sh_info": (44, 28, "I"), "sh_addralign": (48, 32, "A"), "sh_entsize": (56, 36, "A"),
}
_PHDR = {
    "p_type": (0, 0, "I"), "p_flags": (4, 24, "I"), "p_offset": (8, 4, "A"), "p_vaddr": (16, 8, "A"),
    "p_paddr": (24, 12, "A"), "p_filesz": (32, 16, "A"), "p_memsz": (40, 20, "A"), "p_align": (48, 28, "A"),
}
SHT = {"NULL": 0, "PROGBITS": 1, "SYMTAB": 2, "STRTAB": 3, "DYNAMIC": 6, "NOTE": 7, "NOBITS": 8,
       "DYNSYM": 11, "VERNEED": 0x6FFFFFFE, "VERSYM": 0x6FFFFFFF}
PT = {"LOAD": 1, "DYNAMIC": 2, "INTERP": 3, "NOTE": 4}
DT = {"NULL": 0, "NEEDED": 1, "STRTAB": 5, "DEBUG": 21, "FLAGS_1": 0x6FFFFFFB}


class Elf:
    """Just enough of an ELF reader/writer to aim mutations at real structures."""

    def __init__(self, data: bytes):
        self.data = bytearray(data)
        self.is64 = data[4] == 2
        self.e = "<" if data[5] == 1 else ">"

    def copy(self) -> Elf:
        return Elf(bytes(self.data))

    @property
    def size(self) -> int:
        return len(self.data)

    def _code(self, c: str) -> str:
        return ("Q" if self.is64 else "I") if c == "A" else c

    def width(self, table: dict, field: str) -> int:
        return struct.calcsize(self._code(table[field][2]))

    def maxval(self, table: dict, field: str) -> int:
        return (1 << (8 * self.width(table, field))) - 1

    def _get(self, base: int, table: dict, field: str) -> int:
        off64, off32, c = table[field]
        return struct.unpack_from(self.e + self._code(c), self.data, base + (off64 if self.is64 else off32))[0]

    def _set(self, base: int, table: dict, field: str, value: int) -> None:
        off64, off32, c = table[field]
        value &= self.maxval(table, field)
        struct.pack_into(self.e + self._code(c), self.data, base + (off64 if self.is64 else off32), value)

    def h(self, field: str) -> int:
        return self._get(0, _EHDR, field)

    def set_h(self, field: str, value: int) -> Elf:
        self._set(0, _EHDR, field, value)
        return self

    # sections
    def sh_at(self, i: int) -> int:
        return self.h("e_shoff") + i * self.h("e_shentsize")

    def sh(self, i: int, field: str) -> int:
        return self._get(self.sh_at(i), _SHDR, field)

    def set_sh(self, i: int, field: str, value: int) -> Elf:
        self._set(self.sh_at(i), _SHDR, field, value)
        return self

    def shnum(self) -> int:
        return self.h("e_shnum")

    def section_name(self, i: int) -> str:
        strtab = self.sh(self.h("e_shstrndx"), "sh_offset")
        start = strtab + self.sh(i, "sh_name")
        return self.data[start:self.data.index(0, start)].decode()

    def section(self, name: str) -> int | None:
        return next((i for i in range(self.shnum()) if self.section_name(i) == name), None)

    def section_of_type(self, sht: str) -> int | None:
        return next((i for i in range(self.shnum()) if self.sh(i, "sh_type") == SHT[sht]), None)

    def sec_range(self, i: int) -> tuple[int, int]:
        return self.sh(i, "sh_offset"), self.sh(i, "sh_size")

    # segments
    def ph_at(self, i: int) -> int:
        return self.h("e_phoff") + i * self.h("e_phentsize")

    def ph(self, i: int, field: str) -> int:
        return self._get(self.ph_at(i), _PHDR, field)

    def set_ph(self, i: int, field: str, value: int) -> Elf:
        self._set(self.ph_at(i), _PHDR, field, value)
        return self

    def segment(self, pt: str, writable: bool | None = None) -> int | None:
        for i in range(self.h("e_phnum")):
            if self.ph(i, "p_type") == PT[pt] and (writable is None or bool(self.ph(i, "p_flags") & 2) == writable):
                return i
        return None

    # dynamic entries
    def dyn_entsize(self) -> int:
        return 16 if self.is64 else 8

    def dyn_entries(self, sec: int) -> list[tuple[int, int, int]]:
        """(file offset, tag, value) of each entry up to DT_NULL."""
        off, size = self.sec_range(sec)
        code = self.e + ("qQ" if self.is64 else "iI")
        out = []
        for at in range(off, off + size, self.dyn_entsize()):
            tag, val = struct.unpack_from(code, self.data, at)
            out.append((at, tag, val))
            if tag == 0:
                break
        return out

    def set_dyn(self, at: int, tag: int | None = None, val: int | None = None) -> Elf:
        code = self.e + ("qQ" if self.is64 else "iI")
        old_tag, old_val = struct.unpack_from(code, self.data, at)
        mask = (1 << (64 if self.is64 else 32)) - 1
        t = old_tag if tag is None else tag
        struct.pack_into(code, self.data, at, t, (old_val if val is None else val) & mask)
        return self

    def put(self, at: int, blob: bytes) -> Elf:
        self.data[at:at + len(blob)] = blob
        return self

    def append_strtab(self, sec: int, extra: bytes) -> int:
        """Move string table `sec` to the end of the file with `extra` appended; offset of extra in it."""
        off, size = self.sec_range(sec)
        table = bytes(self.data[off:off + size])
        new_off = (len(self.data) + 15) & ~15
        self.data += b"\0" * (new_off - len(self.data)) + table + extra
        self.set_sh(sec, "sh_offset", new_off).set_sh(sec, "sh_size", size + len(extra))
        return size


def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


BUILDINFO_MAGIC = b"\xff Go buildinf:"
_SENTINEL_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
_SENTINEL_END = bytes.fromhex("f932433186182072008242104116d8f2")


# --------------------------------------------------------------------------- generator


class _Writer:
    def __init__(self, dest: Path):
        self.dest = dest
        self.cases: list[Case] = []
        self._names: set[str] = set()

    def add(self, name: str, data: bytes | bytearray | Elf, source: str, expect: str = "any") -> None:
        if isinstance(data, Elf):
            data = data.data
        assert name not in self._names, name
        self._names.add(name)
        path = self.dest / name
        path.write_bytes(bytes(data))
        self.cases.append(Case(name, str(path), source, expect))

    def special(self, name: str, path: Path, expect: str = "error") -> None:
        assert name not in self._names, name
        self._names.add(name)
        self.cases.append(Case(name, str(path), "-", expect))


def _truncations(w: _Writer, src: str, elf: Elf, rng: random.Random) -> None:
    size = elf.size
    points = {
        "ident": 5, "ident-end": 16, "ehdr-mid": 40, "ehdr-end": elf.h("e_ehsize") - 1,
        "phdr-first": elf.h("e_phoff") + elf.h("e_phentsize") // 2,
        "phdr-last": elf.h("e_phoff") + elf.h("e_phnum") * elf.h("e_phentsize") - 1,
        "shdr-mid": elf.sh_at(elf.shnum() // 2) + 3,
        "shdr-last": elf.sh_at(elf.shnum()) - 1,
        "half": size // 2, "end-1": size - 1,
        "random": rng.randrange(64, size - 1),
    }
    for name, sec_name, at in (("shstrtab", None, None), ("buildinfo", ".go.buildinfo", 40),
                               ("dynstr", ".dynstr", None), ("dynamic", ".dynamic", None),
                               ("verneed", ".gnu.version_r", None)):
        i = elf.h("e_shstrndx") if sec_name is None else elf.section(sec_name)
        if i is not None and elf.sh(i, "sh_size") > 2:
            off, sz = elf.sec_range(i)
            points[name] = off + (at if at is not None and at < sz else sz // 2)
    for name, at in sorted(points.items()):
        if 0 < at < size:
            w.add(f"{src}.trunc-{name}", elf.data[:at], src, "error")


def _header_cases(w: _Writer, src: str, base: Elf, rng: random.Random) -> None:
    H = _EHDR
    size = base.size
    cases: dict[str, tuple[Elf, str]] = {}

    def c(name, elf, expect="any"):
        cases[name] = (elf, expect)

    c("shnum-0xffff", base.copy().set_h("e_shnum", 0xFFFF), "error")
    c("shstrndx-oob", base.copy().set_h("e_shstrndx", base.shnum() + 5))
    flipped = base.copy()
    flipped.data[5] = 3 - flipped.data[5]
    c("ei_data-flip", flipped, "error")
    klass = base.copy()
    klass.data[4] = 3 - klass.data[4]
    c("ei_class-flip", klass, "error")
    c("shnum-0", base.copy().set_h("e_shnum", 0))
    c("shnum-0-extended-huge", base.copy().set_h("e_shnum", 0).set_sh(0, "sh_size", 0xFFFFFFFF))
    c("shnum-plus-1", base.copy().set_h("e_shnum", base.shnum() + 1))
    c("phnum-0xffff-xnum", base.copy().set_h("e_phnum", 0xFFFF))
    c("phnum-0xffff-xnum-huge", base.copy().set_h("e_phnum", 0xFFFF).set_sh(0, "sh_info", 0xFFFFFFFF))
    c("phnum-0xfffe", base.copy().set_h("e_phnum", 0xFFFE), "error")
    c("phnum-0", base.copy().set_h("e_phnum", 0))
    for v in (0, 1, 0xFFFF):
        c(f"shentsize-{v:#x}", base.copy().set_h("e_shentsize", v), "error")
        c(f"phentsize-{v:#x}", base.copy().set_h("e_phentsize", v), "error")
    c("shoff-max", base.copy().set_h("e_shoff", base.maxval(H, "e_shoff")), "error")
    c("shoff-eof", base.copy().set_h("e_shoff", size), "error")
    c("shoff-eof-1", base.copy().set_h("e_shoff", size - 1), "error")
    c("shoff-0", base.copy().set_h("e_shoff", 0))
    c("phoff-max", base.copy().set_h("e_phoff", base.maxval(H, "e_phoff")), "error")
    c("phoff-eof-8", base.copy().set_h("e_phoff", size - 8), "error")
    c("shstrndx-xindex", base.copy().set_h("e_shstrndx", 0xFFFF))
    c("shstrndx-xindex-huge", base.copy().set_h("e_shstrndx", 0xFFFF).set_sh(0, "sh_link", 0xFFFFFFFF))
    c("shstrndx-0", base.copy().set_h("e_shstrndx", 0))
    c("shstrndx-loreserve", base.copy().set_h("e_shstrndx", 0xFF00))
    text = base.section(".text")
    if text is not None:
        c("shstrndx-text", base.copy().set_h("e_shstrndx", text))
    for v in (0, 3):
        e = base.copy()
        e.data[4] = v
        c(f"ei_class-{v}", e, "error")
        e = base.copy()
        e.data[5] = v
        c(f"ei_data-{v}", e, "error")
    e = base.copy()
    e.data[7] = 9  # ELFOSABI_FREEBSD: a correct result says "not Linux"
    c("osabi-freebsd", e)
    e = base.copy()
    e.data[7] = 0x77  # unknown to pyelftools: a bare int where a name was expected
    c("osabi-unknown", e)
    c("machine-0xffff", base.copy().set_h("e_machine", 0xFFFF))
    c("machine-unknown", base.copy().set_h("e_machine", 0x1234))
    c("type-unknown", base.copy().set_h("e_type", 0x1234))
    c("type-0xffff", base.copy().set_h("e_type", 0xFFFF))
    c("type-rel", base.copy().set_h("e_type", 1))
    c("ehsize-0", base.copy().set_h("e_ehsize", 0))
    # Tables that fit in the file but hold tens of thousands of garbage entries.
    c("shdr-table-over-file", base.copy().set_h("e_shoff", 64).set_h(
        "e_shnum", min(0xFEFF, (size - 64) // base.h("e_shentsize"))))
    c("phdr-table-over-file", base.copy().set_h("e_phoff", 64).set_h(
        "e_phnum", min(0xFFFE, (size - 64) // base.h("e_phentsize"))))
    for name, (elf, expect) in cases.items():
        w.add(f"{src}.hdr-{name}", elf, src, expect)


def _section_cases(w: _Writer, src: str, base: Elf, rng: random.Random) -> None:
    S = _SHDR
    entsz = base.h("e_shentsize")
    shstrndx = base.h("e_shstrndx")
    strsz = base.sh(shstrndx, "sh_size")
    cases: dict[str, Elf] = {}
    e = base.copy()
    e.put(base.sh_at(0), rng.randbytes(entsz * base.shnum()))
    cases["garbage-table"] = e
    e = base.copy()
    e.put(base.sh_at(1), rng.randbytes(entsz * (base.shnum() - 1)))
    cases["garbage-table-keep-null"] = e
    for sec_name in (".shstrtab", ".dynamic", ".dynsym", ".dynstr", ".gnu.version_r", ".gnu.version",
                     ".go.buildinfo", ".note.ABI-tag", ".note.go.buildid", ".interp", ".text"):
        i = shstrndx if sec_name == ".shstrtab" else base.section(sec_name)
        if i is not None:
            cases[f"garbage-entry{sec_name}"] = base.copy().put(base.sh_at(i), rng.randbytes(entsz))
    text = base.section(".text")
    cases["name-past-shstrtab"] = base.copy().set_sh(text, "sh_name", strsz + 1000)
    cases["name-max"] = base.copy().set_sh(text, "sh_name", 0xFFFFFFFF)
    cases["name-at-shstrtab-end"] = base.copy().set_sh(text, "sh_name", strsz)
    e = base.copy()
    for i in range(base.shnum()):
        e.set_sh(i, "sh_name", strsz - 1)
    cases["all-names-empty"] = e
    e = base.copy()
    off, sz = base.sec_range(shstrndx)
    e.put(off, bytes(b or 0x41 for b in base.data[off:off + sz]))
    cases["shstrtab-no-nul"] = e
    cases["shstrtab-size-0"] = base.copy().set_sh(shstrndx, "sh_size", 0)
    cases["shstrtab-offset-max"] = base.copy().set_sh(shstrndx, "sh_offset", base.maxval(S, "sh_offset"))
    cases["shstrtab-offset-eof-2"] = base.copy().set_sh(shstrndx, "sh_offset", base.size - 2)
    cases["shstrtab-type-progbits"] = base.copy().set_sh(shstrndx, "sh_type", SHT["PROGBITS"])
    e = base.copy()
    for i in range(1, base.shnum()):
        e.set_sh(i, "sh_offset", 0)
    cases["all-offsets-0"] = e
    e = base.copy()
    for i in range(1, base.shnum()):
        if i != shstrndx:
            e.set_sh(i, "sh_offset", base.size + 4096 * i)
    cases["all-offsets-past-eof"] = e
    cases["text-size-max"] = base.copy().set_sh(text, "sh_size", base.maxval(S, "sh_size"))
    cases["text-size-past-eof"] = base.copy().set_sh(text, "sh_size", base.size)
    # Code reinterpreted as structured tables: garbage counts, links and entry sizes.
    cases["text-as-dynamic"] = base.copy().set_sh(text, "sh_type", SHT["DYNAMIC"])
    cases["text-as-note"] = base.copy().set_sh(text, "sh_type", SHT["NOTE"])
    as_verneed = base.copy().set_sh(text, "sh_type", SHT["VERNEED"])
    cases["text-as-verneed"] = as_verneed.copy().set_sh(text, "sh_info", 0xFFFFFFFF)
    cases["text-as-verneed-small"] = as_verneed.copy().set_sh(text, "sh_info", 3)
    as_dynsym = base.copy().set_sh(text, "sh_type", SHT["DYNSYM"])
    cases["text-as-dynsym-entsize-0"] = as_dynsym.copy().set_sh(text, "sh_entsize", 0)
    cases["text-as-dynsym-link-oob"] = as_dynsym.copy().set_sh(text, "sh_link", 0xFFFF)
    cases["text-as-symtab-link-self"] = (base.copy().set_sh(text, "sh_type", SHT["SYMTAB"])
                                         .set_sh(text, "sh_entsize", 24 if base.is64 else 16)
                                         .set_sh(text, "sh_link", text))
    # A zero-filled note region: thousands of empty notes.
    e = base.copy()
    off, sz = base.sec_range(text)
    e.put(off, bytes(sz)).set_sh(text, "sh_type", SHT["NOTE"])
    cases["text-zeroed-as-notes"] = e
    # NT_GNU_PROPERTY_TYPE_0 claiming a 4 GB descriptor over zeros: pyelftools walks it in 8-byte steps.
    e = base.copy()
    e.put(off, struct.pack(base.e + "III", 4, 0xFFFFFFF0, 5) + b"GNU\0" + bytes(min(sz, 1 << 20) - 16))
    e.set_sh(text, "sh_type", SHT["NOTE"])
    cases["note-gnu-property-huge"] = e
    for i in (base.section(".note.ABI-tag"), base.section(".note.go.buildid"), base.section_of_type("NOTE")):
        if i is not None:
            noff = base.sh(i, "sh_offset")
            cases[f"note{i}-namesz-huge"] = base.copy().put(noff, struct.pack(base.e + "I", 0xFFFFFFFF))
            cases[f"note{i}-descsz-huge"] = base.copy().put(noff + 4, struct.pack(base.e + "I", 0xFFFFFFFF))
            cases[f"note{i}-size-past-eof"] = base.copy().set_sh(i, "sh_size", base.size)
    dynsym = base.section_of_type("DYNSYM")
    if dynsym is not None:
        cases["dynsym-entsize-0"] = base.copy().set_sh(dynsym, "sh_entsize", 0)
        cases["dynsym-size-max"] = base.copy().set_sh(dynsym, "sh_size", base.maxval(S, "sh_size"))
        cases["dynsym-link-oob"] = base.copy().set_sh(dynsym, "sh_link", 0xFFFFFFFF)
        cases["dynsym-link-self"] = base.copy().set_sh(dynsym, "sh_link", dynsym)
        cases["dynsym-over-file"] = (base.copy().set_sh(dynsym, "sh_offset", 0)
                                     .set_sh(dynsym, "sh_size", base.size - base.size % 24))
    versym = base.section_of_type("VERSYM")
    if versym is not None:
        cases["versym-garbage"] = base.copy().put(base.sh(versym, "sh_offset"),
                                                  rng.randbytes(base.sh(versym, "sh_size")))
        cases["versym-link-text"] = base.copy().set_sh(versym, "sh_link", text)
    for name, elf in cases.items():
        w.add(f"{src}.sh-{name}", elf, src)


def _segment_cases(w: _Writer, src: str, base: Elf, rng: random.Random) -> None:
    P = _PHDR
    entsz, phnum = base.h("e_phentsize"), base.h("e_phnum")
    cases: dict[str, tuple[Elf, str]] = {}
    e = base.copy()
    e.put(base.ph_at(0), rng.randbytes(entsz * phnum))
    cases["garbage-table"] = (e, "any")
    for pt in ("LOAD", "INTERP", "DYNAMIC", "NOTE"):
        i = base.segment(pt)
        if i is not None:
            cases[f"garbage-{pt.lower()}"] = (base.copy().put(base.ph_at(i), rng.randbytes(entsz)), "any")
    rw = base.segment("LOAD", writable=True)
    if rw is not None:
        cases["rw-load-offset-past-eof"] = (base.copy().set_ph(rw, "p_offset", base.size + 4096), "error")
        cases["rw-load-filesz-max"] = (base.copy().set_ph(rw, "p_filesz", base.maxval(P, "p_filesz")), "error")
        cases["rw-load-vaddr-0"] = (base.copy().set_ph(rw, "p_vaddr", 0), "any")
    interp = base.segment("INTERP")
    if interp is not None:
        cases["interp-filesz-max"] = (base.copy().set_ph(interp, "p_filesz", base.maxval(P, "p_filesz")), "error")
        cases["interp-offset-eof-3"] = (base.copy().set_ph(interp, "p_offset", base.size - 3), "error")
        off, sz = base.ph(interp, "p_offset"), base.ph(interp, "p_filesz")
        cases["interp-no-nul"] = (base.copy().put(off, b"A" * sz), "any")
        cases["interp-invalid-utf8"] = (base.copy().put(off, b"\xff\xfe/lib/ld\0"), "any")
    dyn = base.segment("DYNAMIC")
    if dyn is not None:
        cases["dynamic-offset-eof-8"] = (base.copy().set_ph(dyn, "p_offset", base.size - 8), "error")
        cases["dynamic-filesz-max"] = (base.copy().set_ph(dyn, "p_filesz", base.maxval(P, "p_filesz")), "error")
    note = base.segment("NOTE")
    if note is not None:
        cases["note-whole-file"] = (base.copy().set_ph(note, "p_offset", 0).set_ph(note, "p_filesz", base.size), "any")
        cases["note-past-eof"] = (base.copy().set_ph(note, "p_offset", base.size + 64), "error")
    # Every program header a PT_DYNAMIC: pyelftools scans all sections for each one.
    e = base.copy()
    for i in range(phnum):
        e.set_ph(i, "p_type", PT["DYNAMIC"])
    cases["all-dynamic"] = (e, "any")
    e = base.copy()
    for i in range(phnum):
        e.set_ph(i, "p_type", PT["INTERP"])
    cases["all-interp"] = (e, "any")
    for name, (elf, expect) in cases.items():
        w.add(f"{src}.ph-{name}", elf, src, expect)


def _buildinfo_blob(version: bytes, modinfo: bytes, *, flags: int = 2, ptr: int = 8,
                    vlen: bytes | None = None, mlen: bytes | None = None) -> bytes:
    head = BUILDINFO_MAGIC + bytes([ptr, flags]) + bytes(16)
    return (head + (uvarint(len(version)) if vlen is None else vlen) + version
            + (uvarint(len(modinfo)) if mlen is None else mlen) + modinfo)


def _buildinfo_cases(w: _Writer, src: str, base: Elf, rng: random.Random) -> None:
    i = base.section(".go.buildinfo")
    if i is None:
        return
    off, sz = base.sec_range(i)
    size = base.size

    def framed(text: bytes) -> bytes:
        return _SENTINEL_START + text + _SENTINEL_END

    good_mod = framed(b"path\texample.com/x\nmod\texample.com/x\tv1.0.0\t\ndep\tm\tv1\th1:x\n"
                      b"build\tGOOS=linux\nbuild\tGOARCH=amd64\n")
    blobs: dict[str, tuple[bytes, str]] = {
        "vlen-huge": (_buildinfo_blob(b"go1.22", b"", vlen=uvarint(1 << 40)), "error"),
        "vlen-past-eof": (_buildinfo_blob(b"go1.22", b"", vlen=uvarint(size)), "error"),
        "vlen-16mb": (_buildinfo_blob(b"go1.22", b"", vlen=uvarint(16 * 1024 * 1024 + 1)), "error"),
        "vlen-varint-overflow": (_buildinfo_blob(b"", b"", vlen=b"\xff" * 10 + b"\x01"), "error"),
        "vlen-varint-9-cont": (_buildinfo_blob(b"", b"", vlen=b"\x80" * 9 + b"\x7f"), "error"),
        "mlen-huge": (_buildinfo_blob(b"go1.22", b"", mlen=uvarint((1 << 63) + 5)), "error"),
        "mlen-past-eof": (_buildinfo_blob(b"go1.22", b"", mlen=uvarint(size - off)), "error"),
        "mlen-varint-overflow": (_buildinfo_blob(b"go1.22", b"", mlen=b"\xff" * 10), "error"),
        "version-empty": (_buildinfo_blob(b"", good_mod), "any"),
        "mod-empty": (_buildinfo_blob(b"go1.22.1", b""), "any"),
        "mod-no-sentinels": (_buildinfo_blob(b"go1.22.1", b"path\tx\nmod\tx\tv1\n"), "any"),
        "mod-good": (_buildinfo_blob(b"go1.22.1", good_mod), "any"),
        "mod-one-column": (_buildinfo_blob(b"go1.22.1", framed(b"mod\tonly\n")), "error"),
        "mod-four-columns": (_buildinfo_blob(b"go1.22.1", framed(b"dep\ta\tb\tc\td\n")), "error"),
        "mod-replace-orphan": (_buildinfo_blob(b"go1.22.1", framed(b"=>\ta\tb\tc\n")), "error"),
        "mod-replace-2-columns": (_buildinfo_blob(b"go1.22.1", framed(b"mod\ta\tb\n=>\ta\tb\n")), "error"),
        "mod-build-no-key": (_buildinfo_blob(b"go1.22.1", framed(b"build\t=x\n")), "error"),
        "mod-build-no-eq": (_buildinfo_blob(b"go1.22.1", framed(b"build\tGOOS\n")), "error"),
        "mod-build-unterminated": (_buildinfo_blob(b"go1.22.1", framed(b'build\t-ldflags="-s -w\n')), "error"),
        "mod-build-bad-escape": (_buildinfo_blob(b"go1.22.1", framed(b'build\tk="\\q"\n')), "error"),
        "mod-build-bad-u-escape": (_buildinfo_blob(b"go1.22.1", framed(b'build\tk="\\ud800"\n')), "error"),
        "mod-build-quoted-key-no-eq": (_buildinfo_blob(b"go1.22.1", framed(b'build\t"k"x\n')), "error"),
        "mod-invalid-utf8": (_buildinfo_blob(b"go1.22.\xff", framed(b"path\t\xff\xfe\nmod\t\xc3\tv\n")), "any"),
        "mod-random-framed": (_buildinfo_blob(b"go1.22.1", framed(rng.randbytes(400))), "any"),
        "goos-windows": (_buildinfo_blob(b"go1.22.1", framed(b"build\tGOOS=windows\n")), "any"),
        "goarch-mismatch": (_buildinfo_blob(b"go1.22.1", framed(b"build\tGOARCH=riscv64\n")), "any"),
        "version-old": (_buildinfo_blob(b"go1.2", b""), "any"),
        "version-devel": (_buildinfo_blob(b"devel go1.99-abcdef", b""), "any"),
        "version-huge-number": (_buildinfo_blob(b"go" + b"9" * 300 + b".1", b""), "any"),
        "flags-all-bits": (_buildinfo_blob(b"go1.22.1", b"", flags=0xFF), "any"),
        "ptr-mode-zero-ptrs": (BUILDINFO_MAGIC + bytes([8, 0]) + bytes(16), "error"),
        "ptr-mode-size-0": (BUILDINFO_MAGIC + bytes([0, 0]) + bytes(16), "error"),
        "ptr-mode-size-3": (BUILDINFO_MAGIC + bytes([3, 0]) + bytes(16), "error"),
        "ptr-mode-size-255": (BUILDINFO_MAGIC + bytes([255, 1]) + bytes(16), "error"),
        "ptr-mode-max-ptrs": (BUILDINFO_MAGIC + bytes([8, 0]) + b"\xff" * 16, "error"),
        "ptr-mode-big-endian-max": (BUILDINFO_MAGIC + bytes([4, 1]) + b"\xff" * 16, "error"),
        "header-unaligned": (bytes(8) + _buildinfo_blob(b"go1.22.1", b""), "any"),
        "magic-only": (BUILDINFO_MAGIC, "any"),
    }
    # Pointer mode whose string header points back into .go.buildinfo itself, with a lying length.
    vaddr = base.sh(i, "sh_addr")
    e8 = base.e + "QQ"
    hdr = BUILDINFO_MAGIC + bytes([8, 0 if base.e == "<" else 1]) + struct.pack(e8, vaddr + 32, vaddr + 32)
    blobs["ptr-mode-len-huge"] = (hdr + struct.pack(e8, vaddr, 1 << 40), "error")
    blobs["ptr-mode-len-16mb"] = (hdr + struct.pack(e8, vaddr, 16 * 1024 * 1024 + 1), "error")
    blobs["ptr-mode-self"] = (hdr + struct.pack(e8, vaddr, 14), "any")
    for name, (blob, expect) in blobs.items():
        blob = blob[:sz]
        w.add(f"{src}.bi-{name}", base.copy().put(off, blob + bytes(sz - len(blob))), src, expect)
    # A version string too long for Python's int() of its digits once the section may hold it.
    e = base.copy()
    digits = b"go1." + b"7" * 5000
    e.put(off, _buildinfo_blob(digits, b""))
    e.set_sh(i, "sh_size", max(sz, 64 + len(digits)))
    w.add(f"{src}.bi-version-5000-digits", e, src)
    w.add(f"{src}.bi-section-size-0", base.copy().set_sh(i, "sh_size", 0), src)
    w.add(f"{src}.bi-section-size-20", base.copy().set_sh(i, "sh_size", 20), src)
    w.add(f"{src}.bi-section-past-eof", base.copy().set_sh(i, "sh_offset", size + 16), src, "error")
    w.add(f"{src}.bi-section-size-max", base.copy().set_sh(i, "sh_size", base.maxval(_SHDR, "sh_size")), src, "error")
    w.add(f"{src}.bi-section-at-0", base.copy().set_sh(i, "sh_offset", 0), src)
    w.add(f"{src}.bi-section-nobits", base.copy().set_sh(i, "sh_type", SHT["NOBITS"]), src)


def _dynamic_cases(w: _Writer, src: str, base: Elf, rng: random.Random) -> None:
    d = base.section(".dynamic")
    dynstr = base.section(".dynstr")
    if d is None or dynstr is None:
        return
    entries = base.dyn_entries(d)
    needed = [at for at, tag, _ in entries if tag == DT["NEEDED"]]
    strsz = base.sh(dynstr, "sh_size")
    cases: dict[str, tuple[Elf, str]] = {}
    if needed:
        cases["needed-max"] = (base.copy().set_dyn(needed[0], val=0xFFFFFFFF), "error")
        cases["needed-past-dynstr"] = (base.copy().set_dyn(needed[0], val=strsz + 5), "error")
        cases["needed-at-dynstr-end"] = (base.copy().set_dyn(needed[0], val=strsz), "error")
        e = base.copy()
        for at in needed:
            e.set_dyn(at, val=0)
        cases["needed-empty-names"] = (e, "any")
    e = base.copy()
    for at, _tag, _val in entries:
        e.set_dyn(at, tag=DT["NEEDED"], val=rng.randrange(strsz))
    off, sz = base.sec_range(d)
    for at in range(off + len(entries) * base.dyn_entsize(), off + sz, base.dyn_entsize()):
        e.set_dyn(at, tag=DT["NEEDED"], val=1)
    cases["no-dt-null"] = (e, "any")
    e = base.copy()
    for at, tag, _val in entries:
        if tag == DT["NULL"]:
            e.set_dyn(at, tag=DT["DEBUG"])
    e.put(off + len(entries) * base.dyn_entsize(), b"\x11" * (sz - len(entries) * base.dyn_entsize()))
    cases["no-dt-null-garbage-after"] = (e, "any")
    cases["dynamic-size-max"] = (base.copy().set_sh(d, "sh_size", base.maxval(_SHDR, "sh_size")), "error")
    cases["dynamic-link-oob"] = (base.copy().set_sh(d, "sh_link", 0xFFFFFFFF), "any")
    cases["dynamic-link-text"] = (base.copy().set_sh(d, "sh_link", base.section(".text")), "any")
    cases["dynamic-link-self"] = (base.copy().set_sh(d, "sh_link", d), "any")
    cases["dynamic-entsize-0"] = (base.copy().set_sh(d, "sh_entsize", 0), "any")
    cases["dynamic-garbage"] = (base.copy().put(off, rng.randbytes(sz)), "any")
    cases["dynstr-no-nul"] = (base.copy().put(base.sh(dynstr, "sh_offset"), b"A" * strsz), "any")
    # Without section headers the dynamic segment and DT_STRTAB are all there is.
    noshdr = base.copy().set_h("e_shoff", 0).set_h("e_shnum", 0).set_h("e_shstrndx", 0)
    cases["no-shdrs"] = (noshdr, "any")
    strtab = [at for at, tag, _ in entries if tag == DT["STRTAB"]]
    if strtab:
        cases["no-shdrs-strtab-unmapped"] = (noshdr.copy().set_dyn(strtab[0], val=0xFFFFFFFFFFFF0000), "any")
        text_addr = base.sh(base.section(".text"), "sh_addr")
        cases["no-shdrs-strtab-text"] = (noshdr.copy().set_dyn(strtab[0], val=text_addr), "any")
        cases["no-shdrs-no-strtab"] = (noshdr.copy().set_dyn(strtab[0], tag=DT["DEBUG"]), "any")
    e = noshdr.copy()
    for at, tag, _val in entries:
        if tag == DT["NULL"]:
            e.set_dyn(at, tag=DT["DEBUG"])
    dyn_seg = base.segment("DYNAMIC")
    if dyn_seg is not None:
        e.set_ph(dyn_seg, "p_filesz", base.size - base.ph(dyn_seg, "p_offset"))
        cases["no-shdrs-no-dt-null-to-eof"] = (e, "any")
    # A DT_NEEDED string running past the end of .dynstr into a long run of non-NUL bytes.
    e = base.copy()
    at = e.append_strtab(dynstr, b"lib" + b"x" * 300_000)
    if needed:
        e.set_dyn(needed[0], val=at)
        cases["needed-300kb-name"] = (e, "any")
    for name, (elf, expect) in cases.items():
        w.add(f"{src}.dyn-{name}", elf, src, expect)


def _verneed_cases(w: _Writer, src: str, base: Elf, rng: random.Random) -> None:
    vn = base.section_of_type("VERNEED")
    if vn is None or base.sh(vn, "sh_size") < 32:
        return
    off, sz = base.sec_range(vn)
    link = base.sh(vn, "sh_link")
    strsz = base.sh(link, "sh_size")
    e_ = base.e
    first_aux = off + struct.unpack_from(e_ + "I", base.data, off + 8)[0]
    cases: dict[str, tuple[Elf, str]] = {
        "vn-next-0-loop": (base.copy().put(off + 12, struct.pack(e_ + "I", 0)), "any"),
        "vn-next-max": (base.copy().put(off + 12, struct.pack(e_ + "I", 0xFFFFFFFF)), "any"),
        "vn-cnt-max": (base.copy().put(off + 2, struct.pack(e_ + "H", 0xFFFF)), "any"),
        "vn-cnt-max-vna-loop": (base.copy().put(off + 2, struct.pack(e_ + "H", 0xFFFF))
                                .put(first_aux + 12, struct.pack(e_ + "I", 0)), "any"),
        "vn-aux-max": (base.copy().put(off + 8, struct.pack(e_ + "I", 0xFFFFFFFF)), "any"),
        "vn-file-max": (base.copy().put(off + 4, struct.pack(e_ + "I", 0xFFFFFFFF)), "error"),
        "vn-file-past-strtab": (base.copy().put(off + 4, struct.pack(e_ + "I", strsz + 3)), "error"),
        "vna-name-max": (base.copy().put(first_aux + 8, struct.pack(e_ + "I", 0xFFFFFFFF)), "error"),
        "vna-name-past-strtab": (base.copy().put(first_aux + 8, struct.pack(e_ + "I", strsz + 3)), "error"),
        "vna-next-max": (base.copy().put(first_aux + 12, struct.pack(e_ + "I", 0xFFFFFFF0)), "any"),
        "vna-other-garbage": (base.copy().put(first_aux + 6, struct.pack(e_ + "H", 0x7FFF)), "any"),
        "info-max": (base.copy().set_sh(vn, "sh_info", 0xFFFFFFFF), "any"),
        "info-4097": (base.copy().set_sh(vn, "sh_info", 4097), "any"),
        "garbage": (base.copy().put(off, rng.randbytes(sz)), "any"),
        "link-oob": (base.copy().set_sh(vn, "sh_link", 0xFFFFFF), "any"),
        "link-text": (base.copy().set_sh(vn, "sh_link", base.section(".text")), "any"),
    }
    # Version names whose numbers Python cannot turn into int (more than 4300 digits).
    for name, text in (("vna-name-glibc-5000-digits", b"GLIBC_2." + b"3" * 5000),
                       ("vna-name-glibc-5000-digits-major", b"GLIBC_" + b"3" * 5000),
                       ("vna-name-glibcxx-5000-digits", b"GLIBCXX_3.4." + b"9" * 5000),
                       ("vna-name-no-nul-300kb", b"GLIBC_" + b"2" * 300_000)):
        e = base.copy()
        at = e.append_strtab(link, text + (b"\0" if "no-nul" not in name else b""))
        cases[name] = (e.put(first_aux + 8, struct.pack(e_ + "I", at)), "any")
    for name, (elf, expect) in cases.items():
        w.add(f"{src}.vn-{name}", elf, src, expect)


def _dos_cases(w: _Writer, src: str, base: Elf, rng: random.Random) -> None:
    """Small files whose tables multiply into hours of work for a naive reader."""
    shent, phent = base.h("e_shentsize"), base.h("e_phentsize")
    shstrndx = base.h("e_shstrndx")
    strtab_hdr = bytes(base.data[base.sh_at(shstrndx):base.sh_at(shstrndx) + shent])
    text = base.section(".text")
    big = max((i for i in range(base.shnum()) if i != text and base.sh(i, "sh_type") != SHT["NOBITS"]),
              key=lambda i: base.sh(i, "sh_size"))
    t_off, t_sz = base.sec_range(text)
    b_off, b_sz = base.sec_range(big)

    def zero_section_table(e: Elf, off: int, sz: int, strtab: bytes) -> int:
        n = min(0xFEFF, sz // shent)
        e.put(off, bytes(n * shent)).put(off + shent, strtab)
        e.set_h("e_shoff", off).set_h("e_shnum", n).set_h("e_shstrndx", 1)
        return n

    # Thousands of PT_DYNAMIC headers; pyelftools scans every section for each one.
    e = base.copy()
    zero_section_table(e, b_off, b_sz, strtab_hdr)
    m = min(0xFFFE, t_sz // phent)
    e.put(t_off, (struct.pack(e.e + "I", PT["DYNAMIC"]) + bytes(phent - 4)) * m)
    e.set_h("e_phoff", t_off).set_h("e_phnum", m)
    w.add(f"{src}.dos-dynamic-segments-x-sections", e, src)
    # Thousands of sections, each named by the same 1 MB string.
    e = base.copy()
    run = b"\0" + b"A" * (1 << 20) + b"\0"
    at = (e.size + 15) & ~15
    e.data += bytes(at - e.size) + run
    tmp = base.copy()
    tmp.set_sh(shstrndx, "sh_offset", at).set_sh(shstrndx, "sh_size", len(run)).set_sh(shstrndx, "sh_name", 1)
    long_hdr = bytes(tmp.data[tmp.sh_at(shstrndx):tmp.sh_at(shstrndx) + shent])
    n = zero_section_table(e, b_off, b_sz, long_hdr)
    for i in range(2, n):
        e.put(b_off + i * shent, struct.pack(e.e + "I", 1))
    w.add(f"{src}.dos-1mb-name-x-sections", e, src)
    # Thousands of DT_NEEDED entries, each naming the same 300 kB string.
    d, dynstr = base.section(".dynamic"), base.section(".dynstr")
    if d is not None and dynstr is not None:
        e = base.copy()
        name_at = e.append_strtab(dynstr, b"lib" + b"x" * 300_000 + b"\0")
        code = e.e + ("qQ" if e.is64 else "iI")
        entries = b"".join(struct.pack(code, DT["NEEDED"], name_at) for _ in range(20_000))
        entries += struct.pack(code, DT["NULL"], 0)
        at = (e.size + 15) & ~15
        e.data += bytes(at - e.size) + entries
        e.set_sh(d, "sh_offset", at).set_sh(d, "sh_size", len(entries))
        w.add(f"{src}.dos-needed-300kb-x-20000", e, src)
    # 4096 version-needed entries of 4096 auxiliaries each, all the same one.
    vn = base.section_of_type("VERNEED")
    if vn is not None:
        off = base.sh(vn, "sh_offset")
        first_aux = off + struct.unpack_from(base.e + "I", base.data, off + 8)[0]
        e = base.copy().set_sh(vn, "sh_info", 4096)
        e.put(off + 2, struct.pack(e.e + "H", 4096)).put(off + 12, struct.pack(e.e + "I", 0))
        e.put(first_aux + 12, struct.pack(e.e + "I", 0))
        w.add(f"{src}.dos-verneed-4096x4096", e, src)


def _specials(w: _Writer, dest: Path, rng: random.Random, ls: bytes) -> None:
    def write(name, data, expect="error"):
        w.add(f"raw.{name}", data, "-", expect)

    write("empty", b"")
    write("magic-only", b"\x7fELF")
    write("magic-text", b"\x7fELF hello, this is a text file that starts with the ELF magic\n" * 20)
    write("magic-newline", b"\x7fELF\n")
    write("ident-only-64", b"\x7fELF\x02\x01\x01" + bytes(9))
    write("ident-only-32", b"\x7fELF\x01\x01\x01" + bytes(9))
    # No segments, no sections: a correct result says "not an executable".
    write("ehdr-zeros-64", b"\x7fELF\x02\x01\x01" + bytes(57), "any")
    write("ehdr-zeros-32", b"\x7fELF\x01\x02\x01" + bytes(45), "any")
    write("ehdr-only-ls", ls[:64])
    for i in range(3):
        write(f"magic-random-{i}", b"\x7fELF" + rng.randbytes(rng.randrange(16, 4096)))
    write("magic-random-64-le", b"\x7fELF\x02\x01\x01" + rng.randbytes(8000))
    write("magic-random-32-be", b"\x7fELF\x01\x02\x01" + rng.randbytes(8000))
    write("text", b"#!/bin/sh\necho hello\n")
    write("nul-bytes", bytes(4096))
    write("gzip-of-elf", __import__("gzip").compress(ls[:4096], mtime=0))
    write("elf-in-the-middle", b"junk" + ls)
    w.add("raw.name-with\nnewline", ls, "-", "any")
    w.add("raw.name-with-\xe9-non-ascii", ls, "-", "any")

    (dest / "a-directory").mkdir()
    w.special("raw.directory", dest / "a-directory")
    os.mkfifo(dest / "a-fifo")
    w.special("raw.fifo", dest / "a-fifo")
    os.symlink("loop-b", dest / "loop-a")
    os.symlink("loop-a", dest / "loop-b")
    w.special("raw.symlink-loop", dest / "loop-a")
    os.symlink("self-link", dest / "self-link")
    w.special("raw.symlink-self", dest / "self-link")
    os.symlink("nowhere", dest / "dangling-link")
    w.special("raw.symlink-dangling", dest / "dangling-link")
    os.symlink("a-directory", dest / "dir-link")
    w.special("raw.symlink-to-directory", dest / "dir-link")
    os.symlink("a-fifo", dest / "fifo-link")
    w.special("raw.symlink-to-fifo", dest / "fifo-link")
    os.symlink("/dev/null", dest / "devnull-link")
    w.special("raw.char-device", dest / "devnull-link")
    w.special("raw.missing", dest / "does-not-exist")
    w.special("raw.path-through-file", dest / "raw.text" / "child")
    sock_path = dest / "a-socket"
    with contextlib.suppress(OSError):
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(sock_path))
        s.close()
        w.special("raw.socket", sock_path)
    (dest / "a-directory" / "valid").write_bytes(ls)
    os.symlink("a-directory/valid", dest / "valid-link")
    w.special("raw.symlink-to-valid", dest / "valid-link", "any")


# Which families run on which sources. Every source gets truncations and the core header
# cases; the rest go where the structure they attack exists (dynamic, verneed, build info,
# 32-bit, big-endian) and the broad ones on one Go and one C binary, which keeps the
# corpus at about 650 files (some 800 MB in a temporary directory).
_PLAN: dict[str, dict[str, str]] = {
    "go-static": {"trunc": "full", "hdr": "full", "sh": "full", "bi": "full", "dos": "full"},
    "go-pie": {"trunc": "full", "hdr": "mid", "ph": "full", "bi": "core"},
    "go-cgo-host": {"trunc": "full", "hdr": "mid", "dyn": "full"},
    "go-cgo-zig217": {"trunc": "full", "hdr": "core", "vn": "full"},
    "go-386": {"trunc": "full", "hdr": "mid", "bi": "core", "dos": "full"},
    "go-mips": {"trunc": "full", "hdr": "mid", "bi": "core"},
    "c-ls": {"trunc": "full", "hdr": "full", "sh": "full", "ph": "full", "dyn": "full", "vn": "full",
             "dos": "full"},
}
_DEFAULT_PLAN = {"trunc": "core", "hdr": "core"}
_SECOND_C_PLAN = {"trunc": "full", "hdr": "core", "dyn": "core", "vn": "core"}


def generate(dest: Path, sources: dict[str, Path] | None = None, seed: int = SEED) -> list[Case]:
    """Write the corpus into the (empty) directory dest; returns its cases in a fixed order."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    sources = sources or source_binaries()
    w = _Writer(dest)
    families = {"trunc": _truncations, "hdr": _header_cases, "sh": _section_cases, "ph": _segment_cases,
                "bi": _buildinfo_cases, "dyn": _dynamic_cases, "vn": _verneed_cases, "dos": _dos_cases}
    for src, path in sorted(sources.items()):
        plan = _PLAN.get(src) or (_SECOND_C_PLAN if src.startswith("c-") else _DEFAULT_PLAN)
        base = Elf(Path(path).read_bytes())
        for family, fn in families.items():
            if family in plan:
                fn(_Sub(w, plan[family]), src, base, random.Random(f"{seed}:{src}:{family}"))
    ls_src = next(p for n, p in sorted(sources.items()) if n.startswith("c-"))
    _specials(w, dest, random.Random(f"{seed}:raw"), Path(ls_src).read_bytes())
    return w.cases


class _Sub:
    """A writer that keeps a family's 'core' cases only, unless the plan says 'full'/'mid'."""

    def __init__(self, w: _Writer, level: str):
        self.w, self.level = w, level

    def add(self, name: str, data, source: str, expect: str = "any") -> None:
        if self.level == "full" or _CORE.get(self.level, lambda n: True)(name.split(".", 1)[1]):
            self.w.add(name, data, source, expect)


_CORE_TRUNC = ("trunc-ident", "trunc-phdr-first", "trunc-shdr-mid", "trunc-buildinfo", "trunc-half",
               "trunc-end-1", "trunc-dynstr")
_MID_HDR = ("hdr-shnum-0xffff", "hdr-shstrndx-oob", "hdr-ei_data-flip", "hdr-ei_class-flip",
            "hdr-shnum-0-extended-huge", "hdr-phnum-0xffff-xnum-huge", "hdr-shentsize-0x0", "hdr-phoff-max",
            "hdr-shoff-eof-1", "hdr-shstrndx-xindex-huge", "hdr-shdr-table-over-file",
            "hdr-phdr-table-over-file", "hdr-osabi-freebsd", "hdr-osabi-unknown", "hdr-type-unknown")
_CORE_HDR = _MID_HDR[:4]
_CORE_BI = ("bi-vlen-huge", "bi-vlen-past-eof", "bi-vlen-varint-overflow", "bi-mlen-past-eof", "bi-mod-good",
            "bi-ptr-mode-zero-ptrs", "bi-ptr-mode-size-3", "bi-ptr-mode-self", "bi-ptr-mode-len-huge",
            "bi-ptr-mode-big-endian-max", "bi-mod-build-bad-escape", "bi-version-5000-digits")
_CORE_DYN = ("dyn-needed-max", "dyn-needed-past-dynstr", "dyn-no-dt-null", "dyn-no-shdrs",
             "dyn-no-shdrs-no-dt-null-to-eof", "dyn-needed-300kb-name")
_CORE_VN = ("vn-vn-next-0-loop", "vn-vn-cnt-max-vna-loop", "vn-vna-name-max", "vn-info-max",
            "vn-vna-name-glibc-5000-digits", "vn-garbage")
_CORE = {
    "core": lambda n: n.startswith(_CORE_TRUNC + _CORE_HDR + _CORE_BI + _CORE_DYN + _CORE_VN)
    and not n.startswith(("trunc-buildinfo-", "hdr-shnum-0xffff-")),
    "mid": lambda n: n.startswith(_MID_HDR + _CORE_BI + _CORE_TRUNC),
}


# --------------------------------------------------------------------------- running cases


class _Timeout(BaseException):
    """BaseException so that no `except Exception` on the way can swallow it."""


def _on_alarm(signum, frame):
    raise _Timeout()


def run_in_process(path: str, argv: tuple[str, ...], limit: float = 2 * TIME_LIMIT) -> dict:
    """Run one CLI command in this process (click's test runner), as the real CLI would."""
    from click.testing import CliRunner

    from pkgfactory.cli import _register, cli

    _register()
    runner = CliRunner()
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    t = time.perf_counter()
    try:
        r = runner.invoke(cli, [*argv, path], catch_exceptions=True)
        code, out, err = r.exit_code, r.stdout, r.stderr
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            code = 70
            err += "".join(traceback.format_exception(*r.exc_info))
    except _Timeout:
        code, out, err = -1, "", f"timed out after {limit} s"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return {"code": code, "out": out, "err": err, "seconds": time.perf_counter() - t}


# A small parent for each CLI run: ru_maxrss survives exec, so a child started straight
# from a big test process would report that process's peak, not its own.
_PROBE = ("import resource,subprocess,sys\n"
          "rc = subprocess.call(sys.argv[2:])\n"
          "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
          "sys.exit(rc if rc >= 0 else 128 - rc)\n")


def run_cli(path: str, argv: tuple[str, ...], limit: float = 4 * TIME_LIMIT) -> dict:
    """Run the real CLI in a child: exit code, output, wall time and that child's peak RSS."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss:
        p = subprocess.Popen([sys.executable, "-c", _PROBE, rss.name, sys.executable, "-m", "pkgfactory",
                              *argv, path], stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            code = p.wait(limit)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            code = -1
        seconds = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        kib = rss.read().strip()
        return {"code": code, "out": out.read().decode("utf-8", "surrogateescape"),
                "err": err.read().decode("utf-8", "surrogateescape"),
                "seconds": seconds, "rss_mb": int(kib) / 1024 if kib else 0.0}


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM starts afresh at exec, unlike ru_maxrss)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _shown(path: str) -> str:
    # The CLI collapses whitespace in messages to keep them on one line.
    return " ".join(path.split())


def judge(case: Case, argv: tuple[str, ...], r: dict) -> str | None:
    """None if the run honours the contract, else what is wrong."""
    if r["code"] == -1 or r["seconds"] > TIME_LIMIT:
        return f"took {r['seconds']:.1f} s"
    if r.get("rss_mb", 0) > RSS_LIMIT_MB:
        return f"peak RSS {r['rss_mb']:.0f} MB"
    if "Traceback" in r["err"]:
        return "traceback: " + r["err"][-2000:]
    if r["code"] == 2:
        lines = r["err"].strip("\n").split("\n")
        if len(lines) != 1 or not lines[0].startswith("pkgfactory: error: "):
            return f"not one error line: {r['err']!r}"
        if _shown(case.path) not in lines[0] and case.path not in lines[0]:
            return f"error does not name the path: {lines[0]!r}"
        # With --json the error is also a JSON object on stdout, and nothing else is.
        try:
            err = json.loads(r["out"])["error"]
        except (ValueError, KeyError, TypeError):
            return f"exit 2 without a JSON error on stdout: {r['out'][:500]!r}"
        if err.get("exit_code") != 2 or err.get("message") != lines[0].removeprefix("pkgfactory: error: "):
            return f"JSON error differs from the error line: {err!r}"
        if any(w in lines[0] for w in ("MemoryError", "RecursionError", "Timeout")):
            return f"resource exhaustion reported as bad input: {lines[0]!r}"
        return None
    if case.expect == "error":
        return f"expected exit 2, got {r['code']}: {r['err'][-500:]!r}"
    if r["code"] not in ((0,) if argv[0] == "inspect" else (0, 1)):
        return f"exit {r['code']}: {r['err'][-1000:]!r}"
    try:
        doc = json.loads(r["out"])
    except ValueError as e:
        return f"invalid JSON: {e}"
    entries = doc if argv[0] == "inspect" else doc.get("binaries")
    key = "path" if argv[0] == "inspect" else "binary"
    if not isinstance(entries, list) or len(entries) != 1 or entries[0].get(key) != case.path:
        return "JSON does not describe exactly this file"
    return None


def _bulk_worker(batch: list[Case]) -> list[dict]:
    """Runs in a fresh (spawned) interpreter: per case and command, verdict, time and peak RSS so far."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a blow-up fails here, not the host
    out = []
    for case in batch:
        for argv in COMMANDS:
            r = run_in_process(case.path, argv)
            r["rss_mb"] = peak_rss_mb()
            out.append({"case": case.name, "argv": argv, "problem": judge(case, argv, r), "code": r["code"],
                        "seconds": r["seconds"], "rss_mb": r["rss_mb"], "err": r["err"][:300]})
    return out


def run_bulk(cases: list[Case], processes: int = 2) -> list[dict]:
    """Every case and command through the CLI code in-process, spread over spawned workers."""
    import multiprocessing

    chunks = [cases[i::processes * 4] for i in range(processes * 4)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        return [r for part in pool.map(_bulk_worker, chunks) for r in part]


def figures(processes: int = 2, keep: Path | None = None) -> dict:
    """Build the corpus and run every case and command through the real CLI, one child each."""
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory(prefix="elf-corpus-") as tmp:
        dest = keep or Path(tmp)
        cases = generate(dest)
        jobs = [(c, argv) for c in cases for argv in COMMANDS]
        with ThreadPoolExecutor(processes) as ex:
            results = list(ex.map(lambda j: (j, run_cli(j[0].path, j[1])), jobs))
    failures = {}
    for (case, argv), r in results:
        problem = judge(case, argv, r)
        if problem:
            failures[f"{case.name} [{argv[0]}]"] = problem
    passed = {c.name for c in cases} - {k.rsplit(" [", 1)[0] for k in failures}
    return {
        "inputs_tried": len(cases),
        "inputs_passed": len(passed),
        "cli_runs": len(results),
        "refused_exit_2": sum(1 for _j, r in results if r["code"] == 2),
        "max_seconds": round(max(r["seconds"] for _j, r in results), 2),
        "max_rss_mb": round(max(r["rss_mb"] for _j, r in results), 1),
        "failures": failures,
    }


# --------------------------------------------------------------------------- fuzzing
#
# Property: whatever the bytes, inspect_file returns a BinaryInfo (which check and the
# JSON output then handle) or raises InputError with a one-line message naming the
# file -- nothing else, and within TIME_LIMIT. The build-info readers get the same
# property for their own error types. Strategies mutate real binaries where their
# structures are (headers, tables, string tables, .go.buildinfo), not uniformly: a
# flipped bit in .text tests nothing.

# Small to mid-sized ones of each kind (C; Go static, 32-bit, big-endian, cgo, PIE) keep
# executions fast; every system C binary of the corpus is a seed too.
FUZZ_SEEDS = ("go-stripped", "go-386", "go-mips", "go-cgo-zig217", "go-pie")
_INTERESTING = (0, 1, 2, 3, 4, 7, 8, 0x10, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1)


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes
    little: bool
    regions: tuple[tuple[int, int], ...]  # (start, end) of structures worth mutating


def fuzz_seeds(sources: dict[str, Path]) -> list[Seed]:
    """The real binaries to mutate, each with the file ranges that hold its structures."""
    out = []
    for name in sorted(n for n in sources if n.startswith("c-")) + list(FUZZ_SEEDS):
        if name not in sources:
            continue
        e = Elf(Path(sources[name]).read_bytes())
        regions = [(0, 64 if e.is64 else 52),
                   (e.h("e_phoff"), e.h("e_phoff") + e.h("e_phnum") * e.h("e_phentsize")),
                   (e.sh_at(0), e.sh_at(e.shnum()))]
        for i in range(e.shnum()):
            nm = e.section_name(i)
            if e.sh(i, "sh_type") in (SHT["DYNAMIC"], SHT["NOTE"], SHT["STRTAB"], SHT["DYNSYM"], SHT["VERNEED"],
                                      SHT["VERSYM"]) or nm in (".go.buildinfo", ".interp"):
                off, sz = e.sec_range(i)
                if nm in (".strtab",):
                    continue
                regions.append((off, off + min(sz, 4096)))
        out.append(Seed(name, bytes(e.data), e.e == "<", tuple(r for r in regions if r[1] > r[0])))
    return out


def mutated_elf(seeds: list[Seed]):
    """Hypothesis strategy: (seed name, bytes) of a real binary after 1-6 aimed mutations."""
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw):
        seed = draw(st.sampled_from(seeds))
        data = bytearray(seed.data)
        for _ in range(draw(st.integers(1, 6))):
            start, end = draw(st.sampled_from(seed.regions + ((0, len(seed.data)),)))
            at = draw(st.integers(start, max(start, end - 1)))
            if at >= len(data):
                at = max(0, len(data) - 1)
            op = draw(st.sampled_from(("field", "field", "field", "flip", "bytes", "splice", "truncate",
                                       "insert")))
            if op == "field":
                width = draw(st.sampled_from((1, 2, 4, 8)))
                at -= at % width
                value = draw(st.one_of(st.sampled_from(_INTERESTING + (len(data), len(data) - 1, len(data) + 1)),
                                       st.integers(0, (1 << 64) - 1)))
                data[at:at + width] = (value % (1 << (8 * width))).to_bytes(width, "little" if seed.little else "big")
            elif op == "flip" and data:
                data[at] ^= 1 << draw(st.integers(0, 7))
            elif op == "bytes":
                blob = draw(st.binary(min_size=1, max_size=64))
                data[at:at + len(blob)] = blob
            elif op == "splice":
                src_start, src_end = draw(st.sampled_from(seed.regions))
                n = draw(st.integers(1, 256))
                data[at:at + n] = seed.data[src_start:src_start + n]
            elif op == "truncate":
                del data[at:]
            else:
                data[at:at] = draw(st.binary(min_size=1, max_size=16))
        return seed.name, bytes(data)

    return strategy()


def modinfo_texts():
    """Hypothesis strategy: module info text in the shape Go writes it, bent in every column."""
    from hypothesis import strategies as st

    piece = st.sampled_from(list("aZ09./-_=\t\"`\\xu{} \n") + ["\\x4", "\\u00e9", "\\U0001F600", "\\377",
                                                                  "\\q", "\x00", "\u00e9", "\ufffd"])
    token = st.lists(piece, max_size=12).map("".join)
    line = st.tuples(st.sampled_from(["path\t", "mod\t", "dep\t", "=>\t", "build\t", "", "x\t"]),
                     st.lists(token, max_size=5)).map(lambda t: t[0] + "\t".join(t[1]))
    return st.one_of(st.lists(line, max_size=8).map("\n".join), st.text(max_size=200))


def buildinfo_blobs():
    """Hypothesis strategy: (blob, load vaddr) holding a .go.buildinfo header and what follows."""
    from hypothesis import strategies as st

    def varint(n_and_form):
        n, form = n_and_form
        if form == "overflow":
            return b"\xff" * 10
        if form == "long":
            return b"\x80" * 9 + b"\x01"
        return uvarint(n)

    @st.composite
    def strategy(draw):
        magic = draw(st.sampled_from([BUILDINFO_MAGIC, BUILDINFO_MAGIC, BUILDINFO_MAGIC[:-1] + b"?"]))
        ptr = draw(st.sampled_from([4, 8, 0, 3, 255]))
        flags = draw(st.sampled_from([2, 2, 0, 1, 3, 0xFF]))
        vaddr = draw(st.sampled_from([0, 0x400000, 0x10000]))
        head = magic + bytes([ptr, flags])
        if flags & 2:
            version = draw(st.sampled_from([b"go1.22.1", b"", b"go1." + b"9" * 20, b"devel go1.99-x"]))
            mod = draw(modinfo_texts()).encode("utf-8", "surrogatepass")
            if draw(st.booleans()):
                mod = _SENTINEL_START + mod + _SENTINEL_END
            body = bytes(16)
            for payload in (version, mod):
                n = draw(st.one_of(st.just(len(payload)), st.sampled_from(_INTERESTING), st.integers(0, 1 << 20)))
                form = draw(st.sampled_from(["plain", "plain", "plain", "overflow", "long"]))
                body += varint((n, form)) + payload
        else:
            words = [draw(st.one_of(st.sampled_from(_INTERESTING), st.integers(vaddr, vaddr + 4096)))
                     for _ in range(6)]
            e = "<" if not flags & 1 else ">"
            code = e + ("Q" if ptr == 8 else "I")
            body = b"".join(struct.pack(code, w % (1 << (64 if ptr == 8 else 32))) for w in words)
        blob = head + body + draw(st.binary(max_size=64))
        pad = draw(st.sampled_from([0, 0, 8, 16]))
        return bytes(pad) + blob, vaddr

    return st.one_of(strategy(), st.tuples(st.binary(max_size=600), st.just(0)))


def go_quoted():
    """Hypothesis strategy: strings that start like a Go string literal, and everything else."""
    from hypothesis import strategies as st

    body = st.text(alphabet=st.sampled_from(list("ab\"`\\\n\r\t xuU01234567fF9") + ["\u00e9", "\U0001F600"]),
                   max_size=24)
    return st.one_of(body.map(lambda b: '"' + b + '"'), body.map(lambda b: "`" + b + "`"),
                     body.map(lambda b: '"' + b), st.text(max_size=24))


class FuzzFailure(AssertionError):
    pass


def inspect_property(data: bytes, workdir: Path, name: str = "fuzz", limit: float = TIME_LIMIT,
                     crash_dir: Path | None = None) -> str:
    """inspect_file on the bytes: BinaryInfo (then check + JSON) or InputError, in time.

    Returns "ok" or "refused"; raises FuzzFailure (after saving the input to
    crash_dir, if given) for anything else.
    """
    from pkgfactory import targets
    from pkgfactory.check import check_binary
    from pkgfactory.errors import InputError
    from pkgfactory.inspect import inspect_file

    path = workdir / name
    path.write_bytes(data)
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 2 * limit)
    t = time.perf_counter()
    problem = None
    try:
        try:
            info = inspect_file(path)
        except InputError as e:
            msg = str(e)
            if "\n" in msg or str(path) not in msg:
                problem = f"InputError message is not one line naming the file: {msg!r}"
            elif any(w in msg for w in ("MemoryError", "RecursionError")):
                problem = f"resource exhaustion reported as bad input: {msg!r}"
            outcome = "refused"
        else:
            json.dumps(info.to_dict(), ensure_ascii=False).encode()
            verdict = check_binary(info, targets.get(TARGET))
            json.dumps(verdict.to_dict(), ensure_ascii=False).encode()
            outcome = "ok"
    except _Timeout:
        problem = f"no answer within {2 * limit} s"
    except Exception:
        problem = traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    seconds = time.perf_counter() - t
    if problem is None and seconds > limit:
        problem = f"took {seconds:.2f} s"
    if problem is not None:
        if crash_dir is not None:
            crash_dir.mkdir(parents=True, exist_ok=True)
            keep = crash_dir / f"crash-{hashlib.sha256(data).hexdigest()[:16]}"
            keep.write_bytes(data)
            problem += f" (input saved as {keep})"
        raise FuzzFailure(problem)
    return outcome


def buildinfo_property(blob: bytes, vaddr: int) -> None:
    """read_buildinfo on a blob laid out as .go.buildinfo: GoBuildInfo/None or MalformedBuildInfo."""
    from types import SimpleNamespace

    from pkgfactory.inspect.gobuildinfo import GoBuildInfo, MalformedBuildInfo, read_buildinfo

    facts = SimpleNamespace(go_buildinfo_section=(0, len(blob)), loads=[(vaddr, 0, len(blob), True)])
    try:
        info = read_buildinfo(io.BytesIO(blob), len(blob), facts)
    except MalformedBuildInfo:
        return
    assert info is None or isinstance(info, GoBuildInfo)
    if info is not None:
        json.dumps(info.to_dict(), ensure_ascii=False).encode()
        assert info.release is None or all(isinstance(x, int) for x in info.release)


def modinfo_property(text: str) -> None:
    from pkgfactory.inspect.gobuildinfo import GoBuildInfo, MalformedBuildInfo, parse_modinfo

    try:
        info = parse_modinfo(text)
    except MalformedBuildInfo:
        return
    assert isinstance(info, GoBuildInfo)
    info.to_dict()


def unquote_property(s: str) -> None:
    from pkgfactory.inspect.gostrconv import GoQuoteError, quoted_prefix, unquote

    try:
        assert isinstance(unquote(s), str)
    except GoQuoteError:
        pass
    try:
        prefix = quoted_prefix(s)
        assert s.startswith(prefix) and len(prefix) >= 2
    except GoQuoteError:
        pass
    # JSON's escapes are all Go escapes too, so a JSON-quoted string must come back as it was.
    quoted = json.dumps(s, ensure_ascii=False)
    assert unquote(quoted) == s, (quoted, s)
    assert quoted_prefix(quoted + s) == quoted


def main(argv: list[str]) -> int:
    if argv[:1] == ["--figures"]:
        print(json.dumps(figures(), indent=2))
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    for c in generate(Path(argv[0])):
        print(f"{c.expect:5} {c.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
