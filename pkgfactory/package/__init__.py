"""Packagers: one per format behind one interface.

``packager_for(profile_or_family).prepare(project, profile, arch, workdir)``
writes a self-contained work directory and returns a :class:`BuildPlan`;
``build_native(plan, log, dest_dir)`` runs it here (a container runner runs
``plan.command(mountpoint)`` instead), and ``artifact_check(path, profile,
arch)`` reads a finished package and lists what the target cannot install.

The packagers load on first use: importing ``pkgfactory.package.plan`` or
``.native`` (as the builders do) must not load python-debian and the templates.
"""

from __future__ import annotations

import importlib

from pkgfactory.errors import InputError

_PACKAGERS = {"rpm": ("pkgfactory.package.rpm", "RpmPackager"), "deb": ("pkgfactory.package.deb", "DebPackager")}
_LAZY = {"RpmPackager": _PACKAGERS["rpm"], "DebPackager": _PACKAGERS["deb"],
         "build_native": ("pkgfactory.package.native", "build_native"),
         "BuildPlan": ("pkgfactory.package.plan", "BuildPlan"), "WORKDIR": ("pkgfactory.package.plan", "WORKDIR")}

__all__ = ["BuildPlan", "DebPackager", "RpmPackager", "WORKDIR", "build_native", "packager_for"]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name == "PACKAGERS":
        return {f: __getattr__(cls) for f, (_m, cls) in _PACKAGERS.items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def packager_for(family_or_profile):
    family = getattr(family_or_profile, "family", family_or_profile)
    if family not in _PACKAGERS:
        raise InputError(f"no packager for format {family!r} (known: {', '.join(_PACKAGERS)})")
    module, cls = _PACKAGERS[family]
    return getattr(importlib.import_module(module), cls)()
