"""Packagers: one per format behind one interface.

``packager_for(profile_or_family).prepare(project, profile, arch, workdir)``
writes a self-contained work directory and returns a :class:`BuildPlan`;
``build_native(plan, log, dest_dir)`` runs it here (a container runner runs
``plan.command(mountpoint)`` instead), and ``artifact_check(path, profile,
arch)`` reads a finished package and lists what the target cannot install.
"""

from __future__ import annotations

from pkgfactory.errors import InputError
from pkgfactory.package.deb import DebPackager
from pkgfactory.package.native import build_native
from pkgfactory.package.plan import WORKDIR, BuildPlan
from pkgfactory.package.rpm import RpmPackager

PACKAGERS = {"rpm": RpmPackager, "deb": DebPackager}

__all__ = ["BuildPlan", "DebPackager", "RpmPackager", "WORKDIR", "build_native", "packager_for"]


def packager_for(family_or_profile):
    family = getattr(family_or_profile, "family", family_or_profile)
    if family not in PACKAGERS:
        raise InputError(f"no packager for format {family!r} (known: {', '.join(PACKAGERS)})")
    return PACKAGERS[family]()
