"""What a build made: one result per target × arch, and the report over them (build-report.json).

Apart from pkgfactory.build so that a run that builds nothing (a bundle taken from the
bundle cache) can describe its packages without loading the packagers.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path

from pkgfactory import __version__
from pkgfactory.project.model import Project

REPORT_NAME = "build-report.json"


@dataclass
class BuildResult:
    target: str
    arch: str
    format: str
    status: str = "pending"  # built | check-failed | build-failed
    artifact: str | None = None  # relative to the output directory
    sha256: str | None = None
    size: int | None = None
    seconds: float = 0.0
    error: str | None = None
    log: str | None = None
    checks: list[dict] = field(default_factory=list)
    waivers: list[dict] = field(default_factory=list)
    # sha256 of everything the build read (pkgfactory.buildkey); equal keys, equal packages
    build_key: str | None = None
    from_cache: bool = False  # taken from the package cache, not built in this run
    copy_of: str | None = None  # "target/arch" whose build this run made this package from
    prebuilt: str | None = None  # the file supplied already built (bundle --prebuilt), taken as it is

    @property
    def ok(self) -> bool:
        return self.status == "built"

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()} | {"ok": self.ok}


@dataclass
class BuildReport:
    project: Project
    out_dir: Path
    source_date_epoch: int
    builder: dict
    tool_versions: dict
    inputs: dict[str, str]
    # The profiles the packages were built and checked against, user profiles
    # (--targets-dir) included: later stages must not look them up again without them.
    profiles: dict = field(default_factory=dict)
    results: list[BuildResult] = field(default_factory=list)
    jobs: int = 1
    # (binary dest, arch) -> BinaryInfo, inspected once for the whole run (bundle's SBOMs reuse them)
    infos: dict = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    def to_dict(self) -> dict:
        p = self.project.package
        return {
            "pkgfactory": __version__,
            "package": {"name": p.name, "version": p.version, "release": p.release, "epoch": p.epoch},
            "project_file": str(self.project.path),
            "source_date_epoch": self.source_date_epoch,
            "builder": self.builder,
            "tool_versions": self.tool_versions,
            "host": {"machine": platform.machine(), "python": platform.python_version()},
            "inputs": self.inputs,
            "profiles": {pid: str(p.path) for pid, p in self.profiles.items()},
            **({"compile": self.project.compile_report} if self.project.compile_report else {}),
            "jobs": self.jobs,
            "ok": self.ok,
            "results": [r.to_dict() for r in self.results],
        }
