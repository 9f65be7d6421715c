"""ELF facts that decide whether a binary loads on a target.

Reads through a file object with seeks (pyelftools' model), never the whole
file: release binaries of 150 MB and more are normal for Go. Every table
offset and count is checked against the file size before pyelftools walks
it, so a hostile header cannot make us loop over millions of entries, and
every read pyelftools makes is charged to a budget proportional to the file
size (see _BudgetedStream), so no combination of lying fields can make the
work grow faster than the file.
"""

from __future__ import annotations

import array
import io
import itertools
import re
import struct
import sys
from dataclasses import dataclass, field

from elftools.common.exceptions import ELFError
from elftools.elf.constants import P_FLAGS
from elftools.elf.dynamic import DynamicSection, DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection
from elftools.elf.sections import Section

# e_machine -> our arch name; None means "decide by class/endianness".
_MACHINES = {
    "EM_X86_64": "x86_64",
    "EM_AARCH64": "aarch64",
    "EM_386": "i686",
    "EM_ARM": "armv7hl",
    "EM_RISCV": None,
    "EM_MIPS": None,
    "EM_PPC64": None,
    "EM_S390": "s390x",
    "EM_LOONGARCH": "loongarch64",
    258: "loongarch64",  # pyelftools versions without the EM_LOONGARCH name
    0x9916: "sw_64",
}

EF_LOONGARCH_OBJABI_MASK = 0xC0
EF_LOONGARCH_OBJABI_V1 = 0x40

# Version names that are not GLIBC_x.y but still pin a minimum glibc.
_GLIBC_ABI_MARKERS = {
    "GLIBC_ABI_DT_RELR": "2.36",  # binaries linked with -z pack-relative-relocs
}

# ASCII digits, at most 9 per component: a name from the file such as "GLIBC_2.333...3"
# with thousands of digits is not a version, and int() refuses more than 4300 digits
# (a ValueError far from here, in check or JSON output).
_VERSION_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*?)_([0-9]{1,9}(?:\.[0-9]{1,9})*)")

# Bounds on what a sane executable has; beyond them the file is hostile or broken.
_MAX_VERNEED = 4096
_MAX_DYNSYM = 1_000_000

# pyelftools walks tables whose counts, offsets and links all come from the file and
# reads strings in 64-byte chunks until a NUL, so lying fields chain into work far
# beyond the file's size: thousands of PT_DYNAMIC headers that each rescan every
# section, thousands of names that each run for megabytes, 65535 version entries
# that each loop. Real binaries make about one read per 200 bytes (libLLVM, 117 MB:
# 630k reads); one per 16 bytes plus a floor never bites them and caps a hostile
# 2 MB file at about a quarter of a million reads, a second or two.
_READ_BUDGET_FLOOR = 100_000
_BYTES_PER_READ = 16


class MalformedELF(Exception):
    """The file claims to be ELF but its structure is broken."""


class _BudgetedStream:
    """The file as pyelftools sees it: every read is charged, and none reaches past the end.

    Clamping matters because pyelftools reads sizes straight from the file (a note's
    4 GB n_descsz): a buffered read of n bytes allocates n bytes before it finds EOF.
    The position is kept here rather than asked of the file: pyelftools makes one read
    per struct field, and a tell() for each was a fifth of inspect's time.
    """

    def __init__(self, raw, size: int):
        self._raw, self._size = raw, size
        self._pos = raw.tell()
        self.reads_left = _READ_BUDGET_FLOOR + size // _BYTES_PER_READ

    def charge(self) -> None:
        self.reads_left -= 1
        if self.reads_left < 0:
            raise MalformedELF("its tables point at each other too often to read "
                               "(looping or implausibly many entries)")

    def read(self, n: int | None = -1) -> bytes:
        self.charge()
        left = self._size - self._pos
        if left < 0:
            left = 0
        data = self._raw.read(left if n is None or n < 0 or n > left else n)
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = self._raw.seek(offset, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos


class _ELF(ELFFile):
    """pyelftools' ELFFile, making each section once and hash tables not at all.

    Upstream makes a new section object on every get_section() (a PT_DYNAMIC segment
    makes them all again to find its string table) and parses a GNU hash table whole,
    field by field, when its section is made: 40% of inspect's time on a binary with a
    big .dynsym. Nothing here looks symbols up by hash, so those sections stay plain.
    """

    _PLAIN = frozenset(("SHT_GNU_HASH", "SHT_HASH"))

    def __init__(self, stream):
        self._made: dict[int, Section] = {}
        super().__init__(stream)

    def get_section(self, n: int, type=None):
        # Charged like a read: a hostile file's thousands of PT_DYNAMIC headers each walk
        # every section, and a made section no longer costs the reads that stopped it.
        self.stream.charge()
        section = self._made.get(n)
        if section is None:
            header = self._get_section_header(n)
            # The type is checked before the section is made, as upstream does: a dynamic
            # section linked to itself would otherwise make itself forever.
            if type and header["sh_type"] not in type:
                raise ELFError(f"Unexpected section type {header['sh_type']}, expected {type}")
            section = self._made[n] = self._make_section(header)
        elif type and section["sh_type"] not in type:
            raise ELFError(f"Unexpected section type {section['sh_type']}, expected {type}")
        return section

    def _make_section(self, section_header):
        if section_header["sh_type"] in self._PLAIN:
            return Section(section_header, self._get_section_name(section_header), self)
        return super()._make_section(section_header)


@dataclass
class ElfFacts:
    arch: str
    elf_class: int
    little_endian: bool
    osabi: str
    elf_type: str
    e_flags: int
    linkage: str
    interpreter: str | None
    needed: list[str]
    # (library soname, version name) -> symbols that require it
    version_needs: dict[tuple[str, str], list[str]]
    stripped: bool
    pie: bool
    has_sections: bool
    abi_tag_kernel: str | None
    section_names: list[str] = field(default_factory=list)
    # PT_LOAD segments as (vaddr, offset, filesz, writable), to map addresses to file offsets
    loads: list[tuple[int, int, int, bool]] = field(default_factory=list)
    # (file offset, size) of .go.buildinfo when section headers name it
    go_buildinfo_section: tuple[int, int] | None = None

    @property
    def symbol_versions(self) -> dict[str, list[str]]:
        fams: dict[str, set[str]] = {}
        for _lib, name in self.version_needs:
            family, version = split_version_name(name)
            fams.setdefault(family, set())
            if version:
                fams[family].add(version)
        return {k: sorted(v, key=_vkey) for k, v in sorted(fams.items())}

    def glibc_requirements(self) -> dict[str, list[str]]:
        """Minimum glibc implied by each needed version -> symbols forcing it."""
        out: dict[str, list[str]] = {}
        for (_lib, name), syms in self.version_needs.items():
            if name in _GLIBC_ABI_MARKERS:
                ver = _GLIBC_ABI_MARKERS[name]
                syms = syms or [name]
            else:
                family, ver = split_version_name(name)
                if family != "GLIBC" or not ver:
                    continue
            out.setdefault(ver, [])
            out[ver].extend(s for s in syms if s not in out[ver])
        return dict(sorted(out.items(), key=lambda kv: _vkey(kv[0])))

    @property
    def glibc_max(self) -> str | None:
        reqs = self.glibc_requirements()
        return max(reqs, key=_vkey) if reqs else None

    @property
    def loongarch_objabi(self) -> int | None:
        if self.arch != "loongarch64":
            return None
        return 1 if (self.e_flags & EF_LOONGARCH_OBJABI_MASK) == EF_LOONGARCH_OBJABI_V1 else 0


def _vkey(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(".") if x.isdigit())


def split_version_name(name: str) -> tuple[str, str | None]:
    """'GLIBC_2.34' -> ('GLIBC', '2.34'); 'GLIBC_PRIVATE' -> ('GLIBC_PRIVATE', None)."""
    m = _VERSION_NAME.fullmatch(name)
    if not m:
        return name, None
    return m.group(1), m.group(2)


def _enum_name(value, prefix: str) -> str:
    """pyelftools names the values it knows and hands back bare ints for the rest.

    The facts are strings for every consumer (check's rules call str methods on them,
    JSON readers expect one type), so an unknown EI_OSABI 0x77 becomes "ELFOSABI_0x77".
    """
    return value if isinstance(value, str) else f"{prefix}{value:#x}"


def _arch(elf: ELFFile) -> str:
    machine = elf.header.e_machine
    if machine in _MACHINES and _MACHINES[machine]:
        return _MACHINES[machine]
    is64, le = elf.elfclass == 64, elf.little_endian
    if machine == "EM_MIPS":
        return {(True, True): "mips64el", (True, False): "mips64",
                (False, True): "mipsel", (False, False): "mips"}[(is64, le)]
    if machine == "EM_RISCV":
        return "riscv64" if is64 else "riscv32"
    if machine == "EM_PPC64":
        return "ppc64le" if le else "ppc64"
    return str(machine).removeprefix("EM_").lower()


def _check_tables(elf: ELFFile, stream, size: int) -> None:
    h = elf.header
    is64 = elf.elfclass == 64
    # Before num_segments(): with e_phnum == PN_XNUM it reads section 0.
    shnum = elf.num_sections() if h.e_shoff else 0
    if shnum:
        # The entry size must be exact, not just large enough: pyelftools strides by it,
        # so any other value reads garbage between the real headers.
        want = 64 if is64 else 40
        if h.e_shentsize != want:
            raise MalformedELF(f"section header entry size is {h.e_shentsize}, not {want}")
        if h.e_shoff + shnum * want > size:
            raise MalformedELF("section headers lie outside the file (truncated?)")
        _check_section_names(elf, stream, size, shnum)
    if h.e_phnum:
        want = 56 if is64 else 32
        if h.e_phentsize != want:  # the kernel refuses to load any other size too
            raise MalformedELF(f"program header entry size is {h.e_phentsize}, not {want}")
        if h.e_phoff + elf.num_segments() * want > size:
            raise MalformedELF("program headers lie outside the file (truncated?)")


def _check_section_names(elf: ELFFile, stream, size: int, shnum: int) -> None:
    """Every sh_name must start inside a NUL-terminated .shstrtab.

    pyelftools reads each section's name as soon as it builds the section, from
    wherever sh_name points and until a NUL, so this runs on the raw headers first:
    otherwise one lying index costs a read to the end of the file, per section.
    """
    strndx = elf.get_shstrndx()
    if not isinstance(strndx, int) or not 0 < strndx < shnum:
        raise MalformedELF(f"section name table index {strndx} is out of range (0-{shnum - 1})")
    shdr = elf.structs.Elf_Shdr
    entsize = elf.header.e_shentsize

    def header(i: int):
        stream.seek(elf.header.e_shoff + i * entsize)
        return shdr.parse(stream.read(entsize))

    strtab = header(strndx)
    if strtab.sh_type != "SHT_STRTAB":
        raise MalformedELF("section name table is not a string table")
    if not strtab.sh_size or strtab.sh_offset + strtab.sh_size > size:
        raise MalformedELF("section name table lies outside the file (truncated?)")
    stream.seek(strtab.sh_offset + strtab.sh_size - 1)
    if stream.read(1) != b"\0":
        raise MalformedELF("section name table is not NUL-terminated")
    stream.seek(elf.header.e_shoff)
    table = stream.read(shnum * entsize)
    for i in range(shnum):
        name = shdr.parse(table[i * entsize:(i + 1) * entsize]).sh_name
        if name >= strtab.sh_size:
            raise MalformedELF(f"section {i} has its name outside the section name table")


def _segments(elf: ELFFile, size: int):
    out = []
    for i in range(elf.num_segments()):
        p = elf.get_segment(i)
        # A segment's bytes past the end of the file is a truncated binary: the kernel's
        # mmap of it faults, and pyelftools would read whatever the offsets say.
        if p["p_filesz"] and p["p_offset"] + p["p_filesz"] > size:
            raise MalformedELF(f"segment {i} ({p['p_type']}) lies outside the file (truncated?)")
        out.append(p)
    return out


def _sections(elf: ELFFile, size: int):
    if not elf.header.e_shoff:
        return []
    out = []
    for i in range(elf.num_sections()):
        s = elf.get_section(i)
        if s["sh_type"] != "SHT_NOBITS" and s["sh_size"] and s["sh_offset"] + s["sh_size"] > size:
            raise MalformedELF(f"section {s.name or i} lies outside the file (truncated?)")
        out.append(s)
    return out


def _strtab_size(stream, table) -> int:
    """Size of a string table whose last byte is NUL, so that no string read from it runs on."""
    size = table["sh_size"]
    if size:
        stream.seek(table["sh_offset"] + size - 1)
        if stream.read(1) != b"\0":
            raise MalformedELF(f"string table {table.name or '?'} is not NUL-terminated")
    return size


_NT_GNU_ABI_TAG = 1


def _abi_tag_kernel(stream, little: bool, sections, segments) -> str | None:
    """Minimum kernel from NT_GNU_ABI_TAG, which glibc's crt1.o puts in C and cgo binaries.

    Walks the notes itself rather than with pyelftools' iter_notes, which reads every
    note's descriptor at the length the file claims (4 GB) and parses some note types
    in a loop over that length; here nothing is read beyond the holder, which
    _sections/_segments have already placed inside the file.
    """
    holders = [(s["sh_offset"], s["sh_size"]) for s in sections if s["sh_type"] == "SHT_NOTE"] or \
              [(p["p_offset"], p["p_filesz"]) for p in segments if p["p_type"] == "PT_NOTE"]
    e = "<" if little else ">"
    for offset, length in holders:
        end = offset + length
        while offset + 12 <= end:
            stream.seek(offset)
            namesz, descsz, ntype = struct.unpack(e + "III", stream.read(12))
            desc_at = offset + 12 + ((namesz + 3) & ~3)
            offset = desc_at + ((descsz + 3) & ~3)
            if offset > end:
                break  # a note running past its holder: the rest is not notes
            if ntype == _NT_GNU_ABI_TAG and namesz == 4 and descsz >= 16:
                stream.seek(desc_at - 4)
                if stream.read(4) == b"GNU\0":
                    abi_os, major, minor, tiny = struct.unpack(e + "IIII", stream.read(16))
                    if abi_os == 0:  # ELF_NOTE_OS_LINUX
                        return f"{major}.{minor}.{tiny}"
    return None


def _version_needs_from_sections(stream, sections) -> dict[tuple[str, str], list[str]] | None:
    verneed = next((s for s in sections if isinstance(s, GNUVerNeedSection)), None)
    if verneed is None:
        return None
    if verneed.num_versions() > _MAX_VERNEED:
        raise MalformedELF("too many version-needed entries")
    # pyelftools reads names at whatever offset the entries give; one past the end of
    # the string table yields a name made of whatever follows it (or "" past EOF).
    strsz = _strtab_size(stream, verneed.stringtable)
    needs: dict[tuple[str, str], list[str]] = {}
    by_index: dict[int, tuple[str, str]] = {}
    total = 0
    count = verneed.num_versions()
    for n, (vn, auxes) in enumerate(verneed.iter_versions()):
        if vn["vn_file"] >= strsz:
            raise MalformedELF("version-needed entry names a library outside its string table")
        # A next-offset of 0 ends the chain for the loader, while pyelftools keeps going
        # by count and rereads the same entry: the requirements it then reports are
        # not the ones ld.so checks (a GLIBC_2.34 entry can vanish behind a loop).
        if vn["vn_next"] == 0 and n != count - 1:
            raise MalformedELF("version-needed entries end before their count")
        lib = vn.name
        for k, aux in enumerate(auxes):
            if aux["vna_next"] == 0 and k != vn["vn_cnt"] - 1:
                raise MalformedELF("version-needed entries end before their count")
            # Counted across entries: vn_next/vna_next of 0 make pyelftools revisit one
            # entry vn_cnt (up to 65535) times for each of up to 4096 entries.
            total += 1
            if total > _MAX_VERNEED:
                raise MalformedELF("too many version-needed entries")
            if aux["vna_name"] >= strsz:
                raise MalformedELF("version-needed entry names a version outside its string table")
            key = (lib, aux.name)
            needs.setdefault(key, [])
            by_index[aux["vna_other"]] = key
    versym = next((s for s in sections if isinstance(s, GNUVerSymSection)), None)
    dynsym = next((s for s in sections if s["sh_type"] == "SHT_DYNSYM"), None)
    if versym is not None and dynsym is not None:
        n = min(versym.num_symbols(), dynsym.num_symbols())
        if n > _MAX_DYNSYM:
            raise MalformedELF("dynamic symbol table is implausibly large")
        for key, name in _versioned_undefined(stream, versym, dynsym, n, by_index):
            needs[key].append(name)
    for syms in needs.values():
        syms.sort()
    return needs


# Version indices pyelftools names (VER_NDX_LOCAL, _GLOBAL, _LORESERVE, _ELIMINATE): never a
# vna_other the symbol loop below looks up.
_NAMED_VERSYM = frozenset((0, 1, 0xFF00, 0xFF01))
# A real .dynstr is a few MB at most; a larger one (a hostile link to a huge section) is
# read name by name instead of whole, so memory stays bounded.
_WHOLE_STRTAB_MAX = 32 << 20
_SYM_LAYOUT = {64: ("IBBHQQ", 0, 3), 32: ("IIIBBH", 0, 5)}  # struct, st_name field, st_shndx field


def _versioned_undefined(stream, versym, dynsym, n: int, by_index):
    """((lib, version), name) of each undefined dynamic symbol that needs a library version.

    Reads .gnu.version and .dynsym as whole arrays (one read each, within the file as
    _sections checked) and names only the symbols whose version index is needed: a 4 MB
    .dynsym costs two reads, not one per symbol. Any layout the fast path does not
    expect (odd entry sizes, a string table pyelftools would read past) goes through
    pyelftools symbol by symbol, so the results are the same either way.
    """
    elf = dynsym.elffile
    e = "<" if elf.little_endian else ">"
    fmt, name_at, shndx_at = _SYM_LAYOUT[elf.elfclass]
    sym = struct.Struct(e + fmt)
    strtab = dynsym.stringtable
    if (versym["sh_entsize"] != 2 or dynsym["sh_entsize"] != sym.size or strtab["sh_type"] == "SHT_NOBITS"
            or strtab["sh_size"] > _WHOLE_STRTAB_MAX):
        yield from _versioned_undefined_slow(versym, dynsym, n, by_index)
        return
    stream.seek(versym["sh_offset"])
    ndx = array.array("H", stream.read(2 * n))  # inside the file: _sections checked it
    if (e == "<") != (sys.byteorder == "little"):
        ndx.byteswap()
    wanted = {v for v in set(ndx) if v not in _NAMED_VERSYM and (v & 0x7FFF) in by_index}
    # Symbol 0 is the null symbol; its entry is never a version.
    hits = [i for i in itertools.compress(range(len(ndx)), map(wanted.__contains__, ndx)) if i]
    if not hits:
        return
    stream.seek(dynsym["sh_offset"])
    table = memoryview(stream.read(n * sym.size))
    stream.seek(strtab["sh_offset"])
    names = stream.read(strtab["sh_size"])
    for i in hits:
        fields = sym.unpack_from(table, i * sym.size)
        if fields[shndx_at] != 0:  # SHN_UNDEF: the symbol comes from the library
            continue
        at = fields[name_at]
        end = names.find(b"\0", at) if at < len(names) else -1
        if end < 0:
            name = strtab.get_string(at)  # pyelftools reads on past the table: do the same
        else:
            name = names[at:end].decode("utf-8", "replace")
        if name:
            yield by_index[ndx[i] & 0x7FFF], name


def _versioned_undefined_slow(versym, dynsym, n: int, by_index):
    for i in range(1, n):
        ndx = versym.get_symbol(i)["ndx"]
        if isinstance(ndx, int) and (ndx & 0x7FFF) in by_index:
            sym = dynsym.get_symbol(i)
            if sym["st_shndx"] == "SHN_UNDEF" and sym.name:
                yield by_index[ndx & 0x7FFF], sym.name


def _dynamic(sections, segments):
    dyn = next((s for s in sections if isinstance(s, DynamicSection)), None)
    if dyn is None:
        dyn = next((p for p in segments if isinstance(p, DynamicSegment)), None)
    return dyn


def _dynamic_tags(stream, dyn, sections) -> tuple[list[str], int]:
    """DT_NEEDED names and DT_FLAGS_1, reading no further than the table's own size."""
    entsize = 16 if dyn.elffile.elfclass == 64 else 8
    if isinstance(dyn, DynamicSection):
        # pyelftools would read on past the section until it meets a DT_NULL.
        limit = dyn["sh_size"] // entsize
        link = dyn["sh_link"]
        strsz = _strtab_size(stream, sections[link]) if link < len(sections) else 0
    else:
        limit, strsz = dyn["p_filesz"] // entsize, None
        # pyelftools looks the string table up for every tag, and without sections or a
        # mapped DT_STRTAB fails on a bare assert: say what is missing instead.
        if dyn.get_table_offset("DT_STRTAB")[1] is None:
            raise MalformedELF("no section headers and DT_STRTAB is not in a loaded segment")
    needed, offsets, flags_1 = [], [], 0
    for i, tag in enumerate(dyn.iter_tags()):
        if i >= limit:
            raise MalformedELF("dynamic section is not terminated by DT_NULL")
        if tag.entry.d_tag == "DT_NEEDED":
            needed.append(tag.needed)
            offsets.append(tag.entry.d_val)
        elif tag.entry.d_tag == "DT_STRSZ" and strsz is None:
            strsz = tag.entry.d_val
        elif tag.entry.d_tag == "DT_FLAGS_1":
            flags_1 = tag.entry.d_val
    # Past the string table pyelftools reads whatever follows it, or "" past the end of
    # the file: a library name the binary does not really have.
    if strsz is not None and any(off >= strsz for off in offsets):
        raise MalformedELF("DT_NEEDED names a library outside the dynamic string table")
    return needed, flags_1


def read_elf(stream, size: int) -> ElfFacts:
    """Read the facts from an open binary stream of a file of ``size`` bytes."""
    stream = _BudgetedStream(stream, size)
    elf = _ELF(stream)
    _check_tables(elf, stream, size)
    h = elf.header
    segments = _segments(elf, size)
    sections = _sections(elf, size)

    if h.e_type in ("ET_EXEC", "ET_DYN") and not any(p["p_type"] == "PT_LOAD" for p in segments):
        # Nothing for the kernel to map: reporting linkage and versions for it would
        # describe a program that cannot start anywhere.
        raise MalformedELF("executable without loadable segments")

    interp = None
    for p in segments:
        if p["p_type"] == "PT_INTERP":
            if p["p_offset"] + p["p_filesz"] > size or p["p_filesz"] > 4096:
                raise MalformedELF("PT_INTERP lies outside the file")
            stream.seek(p["p_offset"])
            raw = stream.read(p["p_filesz"])
            if not raw.endswith(b"\0"):  # the kernel refuses to exec it (ENOEXEC)
                raise MalformedELF("PT_INTERP is not NUL-terminated")
            interp = raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    needed: list[str] = []
    flags_1 = 0
    dyn = _dynamic(sections, segments)
    has_dynamic = dyn is not None or any(p["p_type"] == "PT_DYNAMIC" for p in segments)
    if dyn is not None:
        needed, flags_1 = _dynamic_tags(stream, dyn, sections)

    version_needs = _version_needs_from_sections(stream, sections) or {}

    elf_type = _enum_name(h.e_type, "ET_")
    pie = elf_type == "ET_DYN" and (interp is not None or bool(flags_1 & 0x08000000))
    if interp:
        linkage = "dynamic"
    elif elf_type == "ET_DYN" and has_dynamic:
        linkage = "static-pie"
    else:
        linkage = "static"

    names = [s.name for s in sections]
    bi = next((s for s in sections if s.name == ".go.buildinfo" and s["sh_type"] != "SHT_NOBITS"), None)
    loads = [(p["p_vaddr"], p["p_offset"], p["p_filesz"], bool(p["p_flags"] & P_FLAGS.PF_W))
             for p in segments if p["p_type"] == "PT_LOAD"]
    return ElfFacts(
        arch=_arch(elf),
        elf_class=elf.elfclass,
        little_endian=elf.little_endian,
        osabi=_enum_name(h.e_ident["EI_OSABI"], "ELFOSABI_"),
        elf_type=elf_type,
        e_flags=h.e_flags,
        linkage=linkage,
        interpreter=interp,
        needed=needed,
        version_needs=version_needs,
        stripped=".symtab" not in names,
        pie=pie,
        has_sections=bool(sections),
        abi_tag_kernel=_abi_tag_kernel(stream, elf.little_endian, sections, segments),
        section_names=names,
        loads=loads,
        go_buildinfo_section=(bi["sh_offset"], bi["sh_size"]) if bi is not None else None,
    )
