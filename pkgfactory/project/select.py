"""What a run makes: the project as loaded and its (profile, arch) matrix, narrowed by
--target/--arch, or the input error that stops the run before anything is made."""

from __future__ import annotations

import os

from pkgfactory.errors import InputError
from pkgfactory.project import Project, build_matrix, load, resolve_targets


def refuse_untrusted_templates(project: Project, trusted: bool) -> None:
    """Everything in a project file is data and stays inert; template overrides are code:
    what they write into a spec's %build or debian/rules runs in the builder (and on this
    host with --builder native). Whoever runs pkgfactory decides to run them, not the
    project file's author."""
    if project.templates is not None and not trusted:
        raise InputError(f"{project.path}: key 'build.templates': {project.templates} holds template overrides, "
                         "which are code the package build runs; pass --trust-templates (or set "
                         "PKGF_TRUST_TEMPLATES=1) if you have read them")


def select(project: Project, profiles, target_ids, arches):
    """The (profile, arch) matrix, narrowed by --target/--arch; asking for what the project lacks is an error."""
    for t in target_ids or ():
        if t not in project.targets:
            raise InputError(f"target '{t}' is not in {project.path.name} build.targets "
                             f"({', '.join(project.targets)})")
    for a in arches or ():
        if a not in project.arches:
            raise InputError(f"arch '{a}' is not built by {project.path.name} ({', '.join(project.arches)})")
    matrix = build_matrix(project, profiles)
    matrix = [(p, a) for p, a in matrix if (not target_ids or p.id in target_ids) and (not arches or a in arches)]
    if not matrix:
        raise InputError("nothing to build: no selected target has any selected arch")
    return matrix


def select_build(project_path, *, target_ids=(), arches=(), targets_dirs=(), sources_root=None,
                 trust_templates: bool = False) -> tuple[Project, list]:
    """The project as loaded and its (profile, arch) matrix: what a build will make, before any compiling."""
    project = load(project_path, sources_root=sources_root)
    refuse_untrusted_templates(project, trust_templates)
    return project, select(project, resolve_targets(project, targets_dirs), target_ids, arches)


def source_date_epoch(project: Project, explicit: int | None) -> int:
    """Explicit value, else $SOURCE_DATE_EPOCH, else the project's (newest changelog date)."""
    if explicit is not None:
        return int(explicit)
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env:
        if not env.isdigit():
            raise InputError(f"SOURCE_DATE_EPOCH={env!r} is not a number of seconds")
        return int(env)
    return project.source_date_epoch
