"""Run a build plan on this machine, and publish what any builder produced."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pkgfactory import runner
from pkgfactory.errors import PkgfError
from pkgfactory.package.plan import BuildPlan
from pkgfactory.published import make_dir, publish_mode


def build_native(plan: BuildPlan, log: Path | None = None, dest_dir: Path | None = None, *,
                 verbose: bool = False, timeout: float | None = None) -> Path:
    """Build on the host, then check and publish the artifact (see :func:`publish`)."""
    clear_artifact(plan)
    runner.run(plan.command(), cwd=plan.cwd_in(), env={**os.environ, **plan.environment()},
               log=log, verbose=verbose, timeout=timeout)
    return publish(plan, log, dest_dir)


def clear_artifact(plan: BuildPlan) -> None:
    if plan.artifact_path.exists():
        plan.artifact_path.unlink()  # a stale artifact must not pass for this build's


def publish(plan: BuildPlan, log: Path | None = None, dest_dir: Path | None = None) -> Path:
    """Check the finished package against the plan's target and move it into place atomically.

    The package lands in ``dest_dir`` (default: the work directory) under a
    temporary name and is renamed into place only once it is complete and
    has passed the artifact check, so nobody ever sees half a package or one
    the target cannot install.
    """
    built = plan.artifact_path
    if not built.is_file():
        raise PkgfError(f"{plan.argv[0]} finished but {plan.artifact} was not written" +
                        (f" (log: {log})" if log else ""))
    dest_dir = Path(dest_dir) if dest_dir is not None else plan.workdir
    return publish_file(built, plan.format, plan.profile, plan.arch, log, dest_dir)


def publish_file(built: Path, fmt: str, profile, arch: str, log: Path | None, dest_dir: Path) -> Path:
    """:func:`publish` for a package file from anywhere (a build shared by several targets, the
    package cache): checked against this target (``profile`` None: no check), then renamed in."""
    from pkgfactory.package import packager_for

    if profile is not None:
        problems = packager_for(fmt).artifact_check(built, profile, arch, log=log)
        if problems:
            raise PkgfError(f"{built.name} cannot install on {profile.id}: {'; '.join(problems)}")
    if dest_dir.resolve() == built.parent.resolve():
        return built
    return copy_atomic(built, dest_dir / built.name)


def copy_atomic(src: Path, final: Path) -> Path:
    """Copy ``src`` to ``final`` under a temporary name, synced, then renamed: nobody sees half a file.
    ``final`` gets the published mode (pkgfactory.published), not one the umask decides."""
    make_dir(final.parent, "package directory")
    tmp = final.with_name(f".{final.name}.part-{os.getpid()}")
    try:
        shutil.copyfile(src, tmp)
        publish_mode(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final
