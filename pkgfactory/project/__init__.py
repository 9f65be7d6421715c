"""The project file, ``pkgfactory.toml``: one description of the product for every target.

``load(path)`` returns a validated :class:`Project` or raises a one-line
:class:`~pkgfactory.errors.InputError` naming the key. ``resolve_targets``
ties the target ids it names to profiles; keys are documented in
docs/project-file.md.
"""

from __future__ import annotations

from pkgfactory.errors import InputError
from pkgfactory.project.load import FILE_NAME, load
from pkgfactory.project.model import (
    Alternative, Binary, ChangelogEntry, Config, Dep, Directory, File, Go, Group, Kernel, Package, Project,
    Relations, Script, Scripts, Symlink, Unit, User, Waiver,
)

__all__ = [
    "FILE_NAME", "load", "resolve_targets", "build_matrix", "Alternative", "Binary", "ChangelogEntry", "Config", "Dep",
    "Directory", "File", "Go", "Group", "Kernel", "Package", "Project", "Relations", "Script", "Scripts",
    "Symlink", "Unit", "User", "Waiver",
]


def resolve_targets(project: Project, extra_dirs=None) -> list:
    """Profiles for ``build.targets``, refusing ids no profile has (also in waivers and relations).
    Only those profiles are read: a build names a few of the known ones."""
    from pkgfactory import targets

    known = targets.index(extra_dirs)

    def need(tid: str, key: str):
        if tid not in known:
            raise InputError(f"{project.path}: key '{key}': unknown target '{tid}' "
                             f"(known: {', '.join(sorted(known))})")

    for tid in project.targets:
        need(tid, "build.targets")
    for i, w in enumerate(project.waivers, 1):
        if w.target != "*":
            need(w.target, f"waiver[{i}].target")
    for scope in project.relations:
        if scope not in ("all", "rpm", "deb"):
            need(scope, f"relations.targets.{scope}")
    profiles = [targets.load_file(known[t]) for t in project.targets]
    for p in profiles:
        if not any(a in p.arches for a in project.arches):
            raise InputError(f"{project.path}: key 'build.targets': target {p.id} has none of the arches "
                             f"built ({', '.join(project.arches)}; it has {', '.join(p.arches)})")
    return profiles


def build_matrix(project: Project, profiles) -> list[tuple]:
    """(profile, arch) pairs to build: each target gets the project's arches it has an edition for."""
    return [(p, a) for p in profiles for a in project.arches if a in p.arches]
