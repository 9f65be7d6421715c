"""Target profiles: what a target OS provides, read from data files.

Built-in profiles live in ``profiles/*.toml`` next to this module, one per
target. Users add or override profiles with their own directory
(``--targets-dir`` or ``PKGF_TARGETS_DIR``); a user file with the same id
replaces the built-in one, so a site's probed floors win over our defaults.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pkgfactory.errors import InputError, not_utf8
from pkgfactory.targets import policies

BUILTIN_DIR = Path(__file__).with_name("profiles")
DATA_DIR = Path(__file__).parent.parent / "data"
KNOWN_ARCHES = ("x86_64", "aarch64", "loongarch64", "mips64el", "riscv64", "sw_64", "i686", "ppc64le", "s390x")
FAMILIES = ("rpm", "deb")
# dpkg's names for our arch names (new-world loongarch64 is Debian's loong64).
DPKG_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "i386", "ppc64le": "ppc64el", "s390x": "s390x",
             "riscv64": "riscv64", "mips64el": "mips64el", "sw_64": "sw64", "loongarch64": "loong64"}


@dataclass(frozen=True)
class ArchSupport:
    name: str
    interpreters: tuple[str, ...]
    cpu_baseline: str | None = None  # GOAMD64 / GOARM64 level every CPU of the target has
    cpus: tuple[str, ...] = ()  # CPU families seen on this target, for messages
    loongarch_world: str | None = None  # "old" | "new", loongarch64 only
    glibc: str | None = None  # per-arch override (old-world loongarch ships its own glibc)
    kernel: str | None = None


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    family: str
    init: str
    versions: dict[str, str]
    arches: dict[str, ArchSupport]
    identify: dict[str, tuple[str, ...]]
    packaging: dict
    libraries: frozenset[str]
    sources: dict[str, str]
    path: Path
    notes: str = ""
    # [policy]: security policies the OS enforces on packages (pkgfactory/data/policies.toml).
    policy: dict[str, str] = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def glibc(self) -> str:
        return self.versions["glibc"]

    @property
    def kernel(self) -> str:
        return self.versions["kernel"]

    def glibc_for(self, arch: str) -> str:
        a = self.arches.get(arch)
        return (a.glibc if a and a.glibc else None) or self.glibc

    def dpkg_arch(self, arch: str) -> str:
        """dpkg's name of ``arch`` on this target (amd64, arm64, ...)."""
        a = self.arches.get(arch)
        # Old-world LoongArch distros (Kylin V10, UOS V20) name the arch loongarch64 (unverified on hardware).
        if arch == "loongarch64" and a is not None and a.loongarch_world == "old":
            return "loongarch64"
        return DPKG_ARCH[arch]

    def first_allowed(self, key: str, ours, default: list[str], what: str) -> str:
        """The first of ``ours`` (our order of preference) that ``packaging.<key>`` allows."""
        allowed = self.packaging.get(key, default)
        for name in ours:
            if name in allowed:
                return name
        raise InputError(f"target {self.id}: none of the {what} pkgfactory writes ({', '.join(ours)}) "
                         f"is in its {key} ({', '.join(allowed)})")

    def kernel_for(self, arch: str) -> str:
        a = self.arches.get(arch)
        return (a.kernel if a and a.kernel else None) or self.kernel

    def matches_os_release(self, osr: dict[str, str]) -> bool:
        """True when an /etc/os-release mapping identifies this target."""
        for key, patterns in self.identify.items():
            value = osr.get(key.upper())
            if value is None:
                return False
            # ID case differs between releases of the same OS (Deepin/deepin, UOS/uos).
            fold = key in ("id", "id_like")
            cand = value.lower() if fold else value
            pats = [p.lower() for p in patterns] if fold else list(patterns)
            if key == "id_like":
                if not any(fnmatch.fnmatchcase(w, p) for w in cand.split() for p in pats):
                    return False
            elif not any(fnmatch.fnmatchcase(cand, p) for p in pats):
                return False
        return True

    def to_dict(self) -> dict:
        d = dict(self.raw)
        d["source_file"] = str(self.path)
        return d


@lru_cache(maxsize=1)
def arch_aliases() -> dict[str, str]:
    """Go's GOARCH names for our arches (data/go_runtime.toml [goarch]), e.g. amd64 -> x86_64."""
    with open(DATA_DIR / "go_runtime.toml", "rb") as f:
        goarch = tomllib.load(f)["goarch"]
    return {go: ours for go, ours in goarch.items() if ours in KNOWN_ARCHES and go != ours}


def canonical_arch(name: str) -> str:
    """Our name for an arch given in ours or Go's (amd64 -> x86_64); ValueError otherwise."""
    if name in KNOWN_ARCHES:
        return name
    ours = arch_aliases().get(name)
    if ours is None:
        go = ", ".join(f"{g}={o}" for g, o in arch_aliases().items())
        raise ValueError(f"unknown arch {name!r} (known: {', '.join(KNOWN_ARCHES)}; Go's names: {go})")
    return ours


@lru_cache(maxsize=1)
def _glibc_sonames() -> frozenset[str]:
    with open(DATA_DIR / "libraries.toml", "rb") as f:
        return frozenset(tomllib.load(f)["glibc"])


def _cpu_levels(arch: str) -> list[str]:
    with open(DATA_DIR / "go_runtime.toml", "rb") as f:
        return tomllib.load(f)["cpu_levels"].get(arch, {}).get("levels", [])


def parse_profile(data: dict, path: Path) -> Profile:
    """A Profile from a profile file's data, refusing every key and value the schema does not allow."""
    from pkgfactory.targets import schema  # the schema reader imports the project package, which imports us

    where = str(path)
    pid = data.get("id")
    # First: a profile saved under another name is the likelier mistake than anything inside it.
    if isinstance(pid, str) and path.suffix == ".toml" and path.stem != pid:
        raise InputError(f"{where}: key 'id': '{pid}' does not match the file name {path.name}")
    d = schema.read(data, where)
    arches = {}
    for name, a in d["arches"].items():
        levels = _cpu_levels(name)
        baseline = a.get("cpu_baseline")
        if baseline is not None and levels and baseline not in levels:
            raise InputError(f"{where}: key 'arches.{name}.cpu_baseline': {baseline!r} is not one of "
                             f"{', '.join(levels)}")
        world = a.get("loongarch_world")
        if world is not None and name != "loongarch64":
            raise InputError(f"{where}: key 'arches.{name}.loongarch_world': only loongarch64 has old and new worlds")
        arches[name] = ArchSupport(
            name=name,
            interpreters=tuple(a["interpreters"]),
            cpu_baseline=baseline,
            cpus=tuple(a.get("cpus", ())),
            loongarch_world=world,
            glibc=a.get("glibc"),
            kernel=a.get("kernel"),
        )
    libs = d.get("libraries", {})
    libraries = (_glibc_sonames() | frozenset(libs.get("extra", ()))) - frozenset(libs.get("absent", ()))
    packaging = d.get("packaging", {})
    unit_dir = packaging.get("systemd_unit_dir")
    if unit_dir is not None and (not unit_dir.startswith("/") or os.path.normpath(unit_dir) != unit_dir):
        raise InputError(f"{where}: key 'packaging.systemd_unit_dir': {unit_dir!r} is not an absolute, "
                         "normalised path")
    return Profile(
        id=d["id"],
        name=d["name"],
        family=d["family"],
        init=d.get("init", "systemd"),
        versions=dict(d["versions"]),
        arches=arches,
        identify={k: tuple(v) for k, v in d["identify"].items()},
        packaging=packaging,
        libraries=libraries,
        sources=d.get("sources", {}),
        path=path,
        notes=d.get("notes", ""),
        policy=policies.parse(d.get("policy", {}), d["family"], f"{where} [policy]"),
        raw=d,
    )


def load_file(path: Path) -> Profile:
    try:
        # A FIFO would block the reader for good, a link to /dev/zero feed it forever.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InputError(f"{path}: not a regular file; a profile is a TOML file")
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise InputError(f"{path}: cannot read profile: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise not_utf8(path, e) from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: invalid TOML: {e}") from None
    return parse_profile(data, path)


def user_dirs(extra: list[str] | tuple[str, ...] | None = None) -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("PKGF_TARGETS_DIR", "").split(os.pathsep) if p]
    dirs += [Path(p) for p in (extra or [])]
    for d in dirs:
        if not d.is_dir():
            raise InputError(f"targets directory {d} does not exist")
    return dirs


def index(extra_dirs: list[str] | tuple[str, ...] | None = None) -> dict[str, Path]:
    """{id: the file load_all would read it from}, reading none: a profile's id is its file's name."""
    found: dict[str, Path] = {}
    for d in [BUILTIN_DIR, *user_dirs(extra_dirs)]:
        for path in sorted(d.glob("*.toml")):
            found[path.stem] = path
    return found


def load_all(extra_dirs: list[str] | tuple[str, ...] | None = None) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    for d in [BUILTIN_DIR, *user_dirs(extra_dirs)]:
        for path in sorted(d.glob("*.toml")):
            p = load_file(path)
            profiles[p.id] = p
    return profiles


def get(target_id: str, extra_dirs=None) -> Profile:
    profiles = load_all(extra_dirs)
    if target_id not in profiles:
        raise _unknown(target_id, profiles)
    return profiles[target_id]


def _unknown(target_id: str, profiles, extra: str = "") -> InputError:
    return InputError(f"unknown target '{target_id}' (known: {', '.join(sorted(profiles))}{extra})")


ALL = "all"


def select(target_ids, extra_dirs=None) -> list[Profile]:
    """Profiles for ids as given on a command line, in that order, each once; 'all' is every known one."""
    profiles = load_all(extra_dirs)
    chosen: dict[str, Profile] = {}
    for tid in target_ids:
        if tid == ALL:
            chosen.update((pid, profiles[pid]) for pid in sorted(profiles) if pid not in chosen)
        elif tid not in profiles:
            raise _unknown(tid, profiles, f", or '{ALL}'")
        else:
            chosen.setdefault(tid, profiles[tid])
    return list(chosen.values())


def identify(osr: dict[str, str], extra_dirs=None) -> list[Profile]:
    """Profiles whose [identify] patterns all match an os-release mapping."""
    return [p for p in load_all(extra_dirs).values() if p.matches_os_release(osr)]
