"""One function per finding: does this binary load and run on this target?

Each rule gets the inspected binary and the target profile and returns
findings whose message says what breaks and what the engineer can do about it.
Policy figures (Go kernel floors, CPU levels) come from data/go_runtime.toml.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

from pkgfactory.inspect import BinaryInfo
from pkgfactory.targets import DATA_DIR, Profile
from pkgfactory.versions import parse_version, version_key

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message}


@lru_cache(maxsize=1)
def go_policy() -> dict:
    with open(DATA_DIR / "go_runtime.toml", "rb") as f:
        return tomllib.load(f)


def go_release_kernel(release: tuple[int, int]) -> str | None:
    """The lowest Linux the Go runtime of ``release`` supports (the entry with the highest ``since``)."""
    best = None
    for entry in go_policy()["kernel"]:
        if version_key(entry["since"]) <= release:
            best = entry["kernel"]
    return best


@lru_cache(maxsize=1)
def compile_data() -> dict:
    with open(DATA_DIR / "compile.toml", "rb") as f:
        return tomllib.load(f)


def zig_target(arch: str, glibc: str) -> str:
    """``zig cc -target`` for ``arch`` pinned to ``glibc`` (x86_64-linux-gnu.2.17)."""
    return f"{compile_data()['zig_triple'].get(arch, arch + '-linux-gnu')}.{glibc}"


def _cgo_fix(info: BinaryInfo, glibc: str) -> str:
    if info.go is None:
        return (f"rebuild it against glibc {glibc} (on the oldest supported release, or with "
                f"CC=\"zig cc -target {zig_target(info.arch, glibc)}\")")
    return (f"rebuild with CGO_ENABLED=0, or with cgo and a C toolchain pinned to glibc {glibc} "
            f"(CC=\"zig cc -target {zig_target(info.arch, glibc)}\")")


def os_mismatch(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    goos = info.go.settings.get("GOOS") if info.go else None
    if goos and goos != "linux":
        return [Finding("os-mismatch", ERROR, f"built for GOOS={goos}; rebuild with GOOS=linux")]
    if info.elf.osabi not in ("ELFOSABI_SYSV", "ELFOSABI_LINUX"):
        abi = info.elf.osabi.removeprefix("ELFOSABI_")
        return [Finding("os-mismatch", ERROR, f"ELF OS/ABI is {abi}, not Linux; rebuild for Linux")]
    if info.elf.elf_type not in ("ET_EXEC", "ET_DYN"):
        return [Finding("not-executable", ERROR,
                        f"ELF type {info.elf.elf_type} is not an executable; package the linked program")]
    return []


def arch_support(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    out = []
    if arch and arch != info.arch:
        out.append(Finding("arch-mismatch", ERROR,
                           f"binary is {info.arch} but was given as the {arch} binary; "
                           f"pass the {arch} build (GOARCH={goarch_for(arch) or arch})"))
    if info.arch not in profile.arches:
        out.append(Finding("arch-unsupported", ERROR,
                           f"{profile.id} has no {info.arch} edition (it has: {', '.join(profile.arches)}); "
                           f"build for one of those arches or drop {info.arch} for this target"))
    goarch = info.go.settings.get("GOARCH") if info.go else None
    mapped = go_policy()["goarch"].get(goarch) if goarch else None
    if mapped and mapped != info.arch:
        out.append(Finding("arch-mismatch", ERROR,
                           f"Go build info says GOARCH={goarch} but the ELF header says {info.arch}"))
    return out


def goarch_for(arch: str) -> str | None:
    """Go's GOARCH for one of our arch names; None when Go has no port for it (sw_64)."""
    for goarch, ours in go_policy()["goarch"].items():
        if ours == arch:
            return goarch
    return None


def loongarch_world(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    support = profile.arches.get(info.arch)
    if info.arch != "loongarch64" or support is None or not support.loongarch_world:
        return []
    upstream_go = bool(info.go and info.go.settings.get("GOARCH") == "loong64")
    binary_world = "new" if (info.elf.loongarch_objabi == 1 or upstream_go) else "old"
    if binary_world == support.loongarch_world:
        return []
    if support.loongarch_world == "old":
        why = ("upstream Go GOARCH=loong64 binaries" if upstream_go else "this binary (ELF OBJ-v1)")
        return [Finding("loongarch-world", ERROR,
                        f"{why} are LoongArch 'new world' (kernel >= 5.19, new syscall ABI) and crash at "
                        f"start on the 'old world' loongarch64 of {profile.name}; build with the "
                        f"Loongson old-world Go toolchain or the vendor's SDK for this target")]
    return [Finding("loongarch-world", ERROR,
                    f"this binary is LoongArch 'old world' (ELF OBJ-v0) and {profile.name} is 'new world'; "
                    f"rebuild with upstream Go GOARCH=loong64 or install the old-world compatibility layer")]


def interpreter(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    support = profile.arches.get(info.arch)
    interp = info.elf.interpreter
    if support is None or interp is None or interp in support.interpreters:
        return []
    return [Finding("interpreter-missing", ERROR,
                    f"needs dynamic linker {interp}, which {profile.id} {info.arch} does not have "
                    f"(it has {', '.join(support.interpreters)}); rebuild with CGO_ENABLED=0 for a "
                    f"static binary, or link against the target's C library")]


def glibc(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    have = profile.glibc_for(info.arch)
    too_new = {v: syms for v, syms in info.elf.glibc_requirements().items()
               if parse_version(v) > parse_version(have)}
    if not too_new:
        return []
    top = max(too_new, key=version_key)
    forcing = []
    for v in sorted(too_new, key=version_key, reverse=True):
        forcing += [f"{s}@GLIBC_{v}" for s in too_new[v]] or [f"GLIBC_{v}"]
    shown = ", ".join(forcing[:8]) + (f" and {len(forcing) - 8} more" if len(forcing) > 8 else "")
    return [Finding("glibc-too-new", ERROR,
                    f"requires GLIBC_{top} but {profile.id} has glibc {have} (forced by {shown}); "
                    f"{_cgo_fix(info, have)}")]


def libstdcxx(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    out = []
    fams = info.elf.symbol_versions
    for family, key, lib in (("GLIBCXX", "libstdcxx", "libstdc++"), ("CXXABI", "cxxabi", "libstdc++")):
        have = profile.versions.get(key)
        if not have or not fams.get(family):
            continue
        need = max(fams[family], key=version_key)
        if version_key(need) > version_key(have):
            out.append(Finding("libstdcxx-too-new", ERROR,
                               f"requires {family}_{need} but {profile.id}'s {lib} stops at {family}_{have}; "
                               f"link libstdc++ statically (-static-libstdc++) or build with the "
                               f"target's GCC"))
    return out


@lru_cache(maxsize=1)
def library_packages() -> dict[str, dict[str, str]]:
    """target id -> {soname: package that has it outside the base system} (data/library_packages.toml)."""
    with open(DATA_DIR / "library_packages.toml", "rb") as f:
        data = tomllib.load(f)
    data.pop("sources", None)
    return data


def libraries(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    missing = [so for so in info.elf.needed if so not in profile.libraries]
    if not missing:
        return []
    known = library_packages().get(profile.id, {})
    where = [f"{so} is in package {known[so]}" for so in missing if so in known]
    hint = f" ({'; '.join(where)} on {profile.id})" if where else ""
    return [Finding("library-missing", ERROR,
                    f"needs {', '.join(missing)}, not in the {profile.id} base system{hint}; declare the package "
                    f"that provides it as a dependency and record a waiver, or rebuild without it "
                    f"(CGO_ENABLED=0 or static linking)")]


def kernel(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    have = profile.kernel_for(info.arch)
    floors: list[tuple[str, str]] = []
    rel = info.go.release if info.go else None
    if rel:
        need = go_release_kernel(rel)
        if need:
            floors.append((need, f"Go {rel[0]}.{rel[1]} runtime"))
        arch_floor = go_policy()["arch_kernel"].get(info.arch)
        if arch_floor:
            floors.append((arch_floor, f"Go on {info.arch}"))
    if info.elf.abi_tag_kernel:
        floors.append((info.elf.abi_tag_kernel, "the C library it was linked with (ELF ABI tag)"))
    out = []
    for need, why in floors:
        if version_key(need) > version_key(have):
            fix = ("build with an older Go release" if "Go" in why else "link against an older glibc")
            out.append(Finding("kernel-too-old", ERROR,
                               f"{why} needs Linux >= {need} but {profile.id} ships kernel {have}; {fix}"))
    return out


def cpu_level(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    policy = go_policy()["cpu_levels"].get(info.arch)
    support = profile.arches.get(info.arch)
    if not policy or not info.go or support is None:
        return []
    value = info.go.settings.get(policy["setting"])
    if not value:
        return []
    level = value.split(",")[0]
    levels = policy["levels"]
    if level not in levels:
        return []
    baseline = support.cpu_baseline or levels[0]
    if baseline not in levels or levels.index(level) <= levels.index(baseline):
        return []
    cpus = f" (CPUs seen on it: {'; '.join(support.cpus)})" if support.cpus else ""
    return [Finding("cpu-level", WARNING,
                    f"built with {policy['setting']}={value}: it refuses to start on CPUs below {level}, "
                    f"and {profile.id} {info.arch} only guarantees {baseline}{cpus}; "
                    f"rebuild with {policy['rebuild']} unless every site CPU is known")]


def upx(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    if not info.upx:
        return []
    return [Finding("upx-packed", WARNING,
                    "UPX-packed: unpacks itself into writable+executable memory, which SELinux "
                    "execmem policies and security scanners on these targets block or flag; "
                    "ship the unpacked binary (upx -d)")]


def symbol_versions_unreadable(info: BinaryInfo, profile: Profile, arch: str | None) -> list[Finding]:
    if info.elf.linkage == "dynamic" and info.elf.needed and not info.elf.has_sections and not info.upx:
        return [Finding("versions-unknown", WARNING,
                        "dynamic binary without section headers: required symbol versions cannot be "
                        "read, so the glibc floor is unchecked")]
    return []


RULES = [os_mismatch, arch_support, loongarch_world, interpreter, glibc, libstdcxx, libraries,
         kernel, cpu_level, upx, symbol_versions_unreadable]
