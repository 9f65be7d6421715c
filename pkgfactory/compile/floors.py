"""The floors each arch's one binary must meet: the lowest of every selected target with that arch.

The floors come from the target profiles, never from the user: glibc (what
``zig cc`` pins cgo to), the CPU level (GOAMD64, GOARM64, GORISCV64) and the
kernel, which decides whether this Go release can serve the targets at all.
Policy figures (Go's kernel floors, CPU levels, GOARCH names) are the ones
``check`` judges by (data/go_runtime.toml), so a compiled binary passes check
by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from pkgfactory.check.rules import go_policy, go_release_kernel, goarch_for, zig_target
from pkgfactory.errors import InputError
from pkgfactory.versions import version_key


@dataclass(frozen=True)
class Floor:
    arch: str
    goarch: str
    targets: tuple[str, ...]  # the selected targets with this arch, in project order
    glibc: str
    glibc_target: str  # the target that sets it
    kernel: str
    kernel_target: str
    cpu_setting: str | None = None  # GOAMD64 ...
    cpu_level: str | None = None

    def zig_target(self) -> str:
        return zig_target(self.arch, self.glibc)

    def env(self) -> dict[str, str]:
        """What the floor sets in the go command's environment."""
        env = {"GOOS": "linux", "GOARCH": self.goarch}
        if self.cpu_setting:
            env[self.cpu_setting] = self.cpu_level
        return env

    def to_dict(self) -> dict:
        return {"arch": self.arch, "goarch": self.goarch, "targets": list(self.targets),
                "glibc": self.glibc, "glibc_from": self.glibc_target,
                "kernel": self.kernel, "kernel_from": self.kernel_target,
                "cpu": {self.cpu_setting: self.cpu_level} if self.cpu_setting else {}}


def floors(matrix, go_version: str, release: tuple[int, int]) -> dict[str, Floor]:
    """arch -> Floor for the (profile, arch) pairs to build; refuses what no Go binary can serve."""
    by_arch: dict[str, list] = {}
    for profile, arch in matrix:
        by_arch.setdefault(arch, []).append(profile)
    return {arch: _floor(arch, profiles, go_version, release) for arch, profiles in by_arch.items()}


def _floor(arch: str, profiles: list, go_version: str, release: tuple[int, int]) -> Floor:
    goarch = goarch_for(arch)
    if goarch is None:
        raise InputError(f"Go cannot target {arch} (it has no GOARCH for it): {_instead(arch)}")
    for p in profiles:
        if p.arches[arch].loongarch_world == "old":
            raise InputError(
                f"{p.id} loongarch64 is LoongArch 'old world', which upstream Go cannot target (GOARCH=loong64 "
                f"binaries are new world and crash there at start): {_instead(arch, p.id)}")
    glibc_p = min(profiles, key=lambda p: version_key(p.glibc_for(arch)))
    kernel_p = min(profiles, key=lambda p: version_key(p.kernel_for(arch)))
    kernel = kernel_p.kernel_for(arch)
    _refuse_kernel(arch, kernel_p.id, kernel, go_version, release)
    setting, level = _cpu_level(arch, profiles)
    return Floor(arch=arch, goarch=goarch, targets=tuple(p.id for p in profiles),
                 glibc=glibc_p.glibc_for(arch), glibc_target=glibc_p.id,
                 kernel=kernel, kernel_target=kernel_p.id, cpu_setting=setting, cpu_level=level)


def _refuse_kernel(arch: str, target: str, have: str, go_version: str, release: tuple[int, int]) -> None:
    arch_need = go_policy()["arch_kernel"].get(arch)
    if arch_need and version_key(have) < version_key(arch_need):
        raise InputError(f"Go on {arch} needs Linux >= {arch_need}, but {target} ships kernel {have}: no Go release "
                         f"runs there; {_instead(arch, target)}")
    need = go_release_kernel(release)
    if need and version_key(have) < version_key(need):
        newest = _newest_release_for(have)
        fix = (f"point [go] toolchain at Go {newest} or older, or " if newest
               else "no Go release runs there; ")
        raise InputError(f"{go_version}'s runtime needs Linux >= {need}, but {target} {arch} ships kernel {have}: "
                         f"{fix}{_instead(arch, target)}")


def _instead(arch: str, target: str | None = None) -> str:
    """What the user can do instead of compiling for ``target`` (every target when None) ``arch``.

    A [[binary]] is compiled (go) or prebuilt (source) for all its arches at once, and
    build.arches is the same for every target: what is left is a package built elsewhere
    for that target × arch, or not making that one.
    """
    if target is None:
        return (f"supply the {arch} packages prebuilt with bundle --prebuilt (DIR/<target>/{arch}/<package>), "
                f"or leave {arch} out with --arch (or build.arches)")
    return (f"supply {target}'s {arch} package prebuilt with bundle --prebuilt (DIR/{target}/{arch}/<package>), "
            f"or leave {target} or {arch} out with --target/--arch")


def _newest_release_for(kernel: str) -> str | None:
    """The newest Go release whose runtime still supports ``kernel`` ("1.23")."""
    entries = sorted(go_policy()["kernel"], key=lambda e: version_key(e["since"]))
    for i, entry in enumerate(entries):
        if version_key(entry["kernel"]) > version_key(kernel):
            if i == 0:
                return None
            major, minor = version_key(entry["since"])[:2]
            return f"{major}.{minor - 1}"
    return None


def _cpu_level(arch: str, profiles: list) -> tuple[str | None, str | None]:
    """The lowest CPU level any target guarantees; a target that names none gets the policy's lowest."""
    policy = go_policy()["cpu_levels"].get(arch)
    if not policy:
        return None, None
    levels = policy["levels"]

    def rank(p) -> int:
        level = p.arches[arch].cpu_baseline
        return levels.index(level) if level in levels else 0

    return policy["setting"], levels[min(rank(p) for p in profiles)]
