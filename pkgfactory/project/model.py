"""The project file as validated, immutable data.

Everything here has passed the checks in ``load``: paths are absolute and
normalised, sources are resolved against the project file's directory and
exist, text fields hold no control characters. Renderers still escape every
value for its format; validation is what lets them escape without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pkgfactory.versions import parse_version


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    release: str
    epoch: int
    summary: str
    description: str
    license: str
    maintainer: str
    vendor: str | None = None
    url: str | None = None
    section: str = "misc"
    copyright: str | None = None

    @property
    def evr(self) -> str:
        """``[epoch:]version-release``, the form both formats compare."""
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{prefix}{self.version}-{self.release}"


@dataclass(frozen=True)
class Binary:
    dest: str
    mode: int
    sources: dict[str, Path]  # arch -> Go binary on the build machine


@dataclass(frozen=True)
class File:
    source: Path
    dest: str
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"
    # The table it came from ("file[2]"): a directory or glob source gives many
    # entries, and errors about any of them name the table the user wrote.
    origin: str = ""


@dataclass(frozen=True)
class Config(File):
    noreplace: bool = True


@dataclass(frozen=True)
class Directory:
    path: str
    mode: int = 0o755
    owner: str = "root"
    group: str = "root"
    origin: str = ""  # "directory[1]", or the [[file]]/[[config]] whose tree it belongs to


@dataclass(frozen=True)
class Symlink:
    path: str
    target: str


@dataclass(frozen=True)
class Unit:
    source: Path
    name: str
    enable: bool = True
    start: bool = True
    restart_on_upgrade: bool = True


@dataclass(frozen=True)
class User:
    name: str
    group: str
    home: str = "/"
    shell: str = "/usr/sbin/nologin"
    comment: str = ""
    uid: int | None = None


@dataclass(frozen=True)
class Group:
    name: str
    gid: int | None = None


@dataclass(frozen=True)
class Script:
    source: Path
    text: str  # read at load time: the file may change before a later build


@dataclass(frozen=True)
class Scripts:
    preinstall: Script | None = None
    postinstall: Script | None = None
    preremove: Script | None = None
    postremove: Script | None = None


@dataclass(frozen=True)
class Alternative:
    name: str
    op: str | None = None  # deb spelling: << <= = >= >>
    version: str | None = None


@dataclass(frozen=True)
class Dep:
    alternatives: tuple[Alternative, ...]  # more than one only with 'a | b'


RELATION_KINDS = ("depends", "recommends", "conflicts", "provides", "replaces")


@dataclass(frozen=True)
class Relations:
    depends: tuple[Dep, ...] = ()
    recommends: tuple[Dep, ...] = ()
    conflicts: tuple[Dep, ...] = ()
    provides: tuple[Dep, ...] = ()
    replaces: tuple[Dep, ...] = ()

    def __add__(self, other: "Relations") -> "Relations":
        return Relations(**{k: getattr(self, k) + getattr(other, k) for k in RELATION_KINDS})


@dataclass(frozen=True)
class Kernel:
    modules: tuple[str, ...] = ()
    min: str | None = None
    max: str | None = None  # inclusive on the components given: "5.10" admits 5.10.200

    def allows(self, release: str) -> bool:
        have = parse_version(release)
        if self.min and have < parse_version(self.min):
            return False
        if self.max:
            top = parse_version(self.max)
            return have[: len(top)] <= top
        return True


@dataclass(frozen=True)
class Waiver:
    target: str  # target id or "*"
    arch: str  # arch or "*"
    code: str
    reason: str

    def covers(self, target: str, arch: str, code: str) -> bool:
        return (self.target in ("*", target) and self.arch in ("*", arch) and self.code == code)


@dataclass(frozen=True)
class ChangelogEntry:
    version: str  # [epoch:]version-release
    date: datetime  # timezone-aware, UTC
    author: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Project:
    path: Path  # the project file
    package: Package
    binaries: tuple[Binary, ...]
    targets: tuple[str, ...]
    arches: tuple[str, ...]
    changelog: tuple[ChangelogEntry, ...]  # newest first
    files: tuple[File, ...] = ()
    configs: tuple[Config, ...] = ()
    directories: tuple[Directory, ...] = ()
    symlinks: tuple[Symlink, ...] = ()
    units: tuple[Unit, ...] = ()
    users: tuple[User, ...] = ()
    groups: tuple[Group, ...] = ()
    scripts: Scripts = field(default_factory=Scripts)
    # scope -> additions: "all", "rpm", "deb", or a target id
    relations: dict[str, Relations] = field(default_factory=dict)
    kernel: Kernel = field(default_factory=Kernel)
    waivers: tuple[Waiver, ...] = ()
    templates: Path | None = None
    source_date_epoch: int = 0  # [build] override, else the newest changelog date

    @property
    def root(self) -> Path:
        return self.path.parent

    def relations_for(self, target_id: str, family: str) -> Relations:
        r = Relations()
        for scope in ("all", family, target_id):
            r = r + self.relations.get(scope, Relations())
        return r

    def waived(self, target: str, arch: str, code: str) -> Waiver | None:
        return next((w for w in self.waivers if w.covers(target, arch, code)), None)

    def all_groups(self) -> tuple[str, ...]:
        """Groups the package creates: declared ones, then users' primary groups."""
        seen: dict[str, None] = {}
        for g in self.groups:
            seen[g.name] = None
        for u in self.users:
            seen[u.group] = None
        return tuple(seen)
