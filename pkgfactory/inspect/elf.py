"""ELF facts that decide whether a binary loads on a target.

Reads through a file object with seeks (pyelftools' model), never the whole
file: release binaries of 150 MB and more are normal for Go. Every table
offset and count is checked against the file size before pyelftools walks
it, so a hostile header cannot make us loop over millions of entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from elftools.elf.constants import P_FLAGS
from elftools.elf.dynamic import DynamicSection, DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection

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

_VERSION_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*?)_(\d+(?:\.\d+)*)$")

# Bounds on what a sane executable has; beyond them the file is hostile or broken.
_MAX_VERNEED = 4096
_MAX_DYNSYM = 1_000_000


class MalformedELF(Exception):
    """The file claims to be ELF but its structure is broken."""


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
    m = _VERSION_NAME.match(name)
    if not m:
        return name, None
    return m.group(1), m.group(2)


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


def _check_tables(elf: ELFFile, size: int) -> None:
    h = elf.header
    if h.e_phnum:
        if h.e_phentsize < (56 if elf.elfclass == 64 else 32):
            raise MalformedELF("program header entry size is too small")
        if h.e_phoff + h.e_phnum * h.e_phentsize > size:
            raise MalformedELF("program headers lie outside the file (truncated?)")
    shnum = elf.num_sections() if h.e_shoff else 0
    if shnum:
        if h.e_shentsize < (64 if elf.elfclass == 64 else 40):
            raise MalformedELF("section header entry size is too small")
        if h.e_shoff + shnum * h.e_shentsize > size:
            raise MalformedELF("section headers lie outside the file (truncated?)")


def _segments(elf: ELFFile):
    return [elf.get_segment(i) for i in range(elf.num_segments())]


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


def _abi_tag_kernel(sections, segments) -> str | None:
    """Minimum kernel from NT_GNU_ABI_TAG, which glibc's crt1.o puts in C and cgo binaries."""
    holders = [s for s in sections if s["sh_type"] == "SHT_NOTE"] or \
              [p for p in segments if p["p_type"] == "PT_NOTE"]
    for h in holders:
        for note in h.iter_notes():
            if note["n_type"] == "NT_GNU_ABI_TAG" and note["n_name"] == "GNU":
                desc = note["n_desc"]
                if desc.get("abi_os") == "ELF_NOTE_OS_LINUX":
                    return f"{desc['abi_major']}.{desc['abi_minor']}.{desc['abi_tiny']}"
    return None


def _version_needs_from_sections(sections) -> dict[tuple[str, str], list[str]] | None:
    verneed = next((s for s in sections if isinstance(s, GNUVerNeedSection)), None)
    if verneed is None:
        return None
    if verneed.num_versions() > _MAX_VERNEED:
        raise MalformedELF("too many version-needed entries")
    needs: dict[tuple[str, str], list[str]] = {}
    by_index: dict[int, tuple[str, str]] = {}
    for vn, auxes in verneed.iter_versions():
        lib = vn.name
        for i, aux in enumerate(auxes):
            if i > _MAX_VERNEED:
                raise MalformedELF("too many version-needed entries")
            key = (lib, aux.name)
            needs.setdefault(key, [])
            by_index[aux["vna_other"]] = key
    versym = next((s for s in sections if isinstance(s, GNUVerSymSection)), None)
    dynsym = next((s for s in sections if s["sh_type"] == "SHT_DYNSYM"), None)
    if versym is not None and dynsym is not None:
        n = min(versym.num_symbols(), dynsym.num_symbols())
        if n > _MAX_DYNSYM:
            raise MalformedELF("dynamic symbol table is implausibly large")
        for i in range(1, n):
            ndx = versym.get_symbol(i)["ndx"]
            if isinstance(ndx, int) and (ndx & 0x7FFF) in by_index:
                sym = dynsym.get_symbol(i)
                if sym["st_shndx"] == "SHN_UNDEF" and sym.name:
                    needs[by_index[ndx & 0x7FFF]].append(sym.name)
    for syms in needs.values():
        syms.sort()
    return needs


def _dynamic(sections, segments):
    dyn = next((s for s in sections if isinstance(s, DynamicSection)), None)
    if dyn is None:
        dyn = next((p for p in segments if isinstance(p, DynamicSegment)), None)
    return dyn


def read_elf(stream, size: int) -> ElfFacts:
    """Read the facts from an open binary stream of a file of ``size`` bytes."""
    elf = ELFFile(stream)
    _check_tables(elf, size)
    h = elf.header
    segments = _segments(elf)
    sections = _sections(elf, size)

    interp = None
    for p in segments:
        if p["p_type"] == "PT_INTERP":
            if p["p_offset"] + p["p_filesz"] > size or p["p_filesz"] > 4096:
                raise MalformedELF("PT_INTERP lies outside the file")
            stream.seek(p["p_offset"])
            interp = stream.read(p["p_filesz"]).split(b"\0", 1)[0].decode("utf-8", "replace")

    needed: list[str] = []
    flags_1 = 0
    dyn = _dynamic(sections, segments)
    has_dynamic = dyn is not None or any(p["p_type"] == "PT_DYNAMIC" for p in segments)
    if dyn is not None:
        for i, tag in enumerate(dyn.iter_tags()):
            if i > 100_000:
                raise MalformedELF("dynamic section does not terminate")
            if tag.entry.d_tag == "DT_NEEDED":
                needed.append(tag.needed)
            elif tag.entry.d_tag == "DT_FLAGS_1":
                flags_1 = tag.entry.d_val

    version_needs = _version_needs_from_sections(sections) or {}

    elf_type = h.e_type
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
        osabi=h.e_ident["EI_OSABI"],
        elf_type=elf_type,
        e_flags=h.e_flags,
        linkage=linkage,
        interpreter=interp,
        needed=needed,
        version_needs=version_needs,
        stripped=".symtab" not in names,
        pie=pie,
        has_sections=bool(sections),
        abi_tag_kernel=_abi_tag_kernel(sections, segments),
        section_names=names,
        loads=loads,
        go_buildinfo_section=(bi["sh_offset"], bi["sh_size"]) if bi is not None else None,
    )
