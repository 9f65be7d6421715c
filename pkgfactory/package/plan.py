"""A build plan: everything one package build needs, ready to run anywhere.

``prepare`` writes a self-contained work directory (rendered spec or
debian/ tree, the payload laid out with final modes, scriptlets) and returns
a plan. The plan names the command, its working directory and environment
relative to that work directory, so the same plan runs on the host
(:func:`pkgfactory.package.native.build_native`) or in a container that
mounts the work directory anywhere: ``plan.command("/build")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

WORKDIR = "{workdir}"  # placeholder in argv for the work directory's absolute path


@dataclass(frozen=True)
class BuildPlan:
    format: str  # "rpm" | "deb"
    target: str  # profile id
    arch: str  # pkgfactory arch name (x86_64, aarch64, ...)
    workdir: Path  # host directory holding everything the build reads and writes
    argv: tuple[str, ...]  # may contain WORKDIR; see command()
    cwd: str  # relative to workdir
    env: dict[str, str]  # to add to the builder's environment (SOURCE_DATE_EPOCH, LC_ALL, TZ)
    artifact: str  # relative to workdir: the package file the command produces
    tools: tuple[str, ...]  # executables the builder (host or image) must have
    profile: object = field(repr=False, compare=False, default=None)  # for the artifact check

    def command(self, workdir: str | Path | None = None) -> list[str]:
        """argv with the work directory as seen by whoever runs it (default: the host path)."""
        where = str(workdir if workdir is not None else self.workdir)
        return [a.replace(WORKDIR, where) for a in self.argv]

    def environment(self, workdir: str | Path | None = None) -> dict[str, str]:
        """Variables to set for the build, with the work directory as seen by the runner."""
        where = str(workdir if workdir is not None else self.workdir)
        return {k: v.replace(WORKDIR, where) for k, v in self.env.items()}

    def cwd_in(self, workdir: str | Path | None = None) -> str:
        base = str(workdir if workdir is not None else self.workdir)
        return base if self.cwd in ("", ".") else f"{base.rstrip('/')}/{self.cwd}"

    @property
    def artifact_path(self) -> Path:
        return self.workdir / self.artifact

    @property
    def artifact_name(self) -> str:
        return Path(self.artifact).name
