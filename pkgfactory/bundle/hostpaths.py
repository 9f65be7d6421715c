"""What a bundle delivers names no place on the build machine.

manifest.json and reports/build-report.json come from the build report,
which names the project file, its sources and the target profiles by their
absolute paths on the build host. The bundle goes to another site: there
they say nothing but who built it where. Paths under the project's
directory, the sources root and the targets directories are written
relative to the project's directory (as the project file itself names its
sources); built-in profiles as ``pkgfactory/targets/profiles/NAME``;
places that are not the project's (the compile cache, a --prebuilt
directory) under a label such as ``<compile cache>/KEY/binary``. Other
absolute paths (``/usr/bin/hello-service``: where a package installs a
file) are left as they are.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pkgfactory

_OWN_TREE = Path(pkgfactory.__file__).resolve().parent


def relative_paths(project_dir: Path, other_roots=(), labelled: dict | None = None):
    """A function that rewrites the build-host paths in a JSON-like value (keys and strings).
    ``labelled``: {directory: label} for places outside the project whose position on the host
    says nothing at the site; a path in one becomes ``label/rest``."""
    project_dir = Path(project_dir).absolute()
    labels = []
    for d, label in (labelled or {}).items():
        if d:
            labels += [(Path(d).absolute(), label), (Path(d).resolve(), label)]
    # The deepest directory names a path: GOROOT inside pkgfactory's own environment is GOROOT.
    labels.sort(key=lambda pair: len(pair[0].parts), reverse=True)
    # Each root as given and as resolved: the report may name a path either way.
    roots = []
    for r in (project_dir, *(Path(o).absolute() for o in other_roots if o)):
        roots += [(r, project_dir), (r.resolve(), project_dir.resolve())]

    def one(text: str) -> str:
        if not text.startswith("/"):
            return text
        p = Path(text)
        if p.is_relative_to(_OWN_TREE):
            return "pkgfactory/" + p.relative_to(_OWN_TREE).as_posix()
        for root, start in roots:
            if p == root or p.is_relative_to(root):
                return Path(os.path.relpath(p, start)).as_posix()
        for root, label in labels:
            if p == root or p.is_relative_to(root):
                return "/".join((label, *p.relative_to(root).parts))
        return text

    def rewrite(value):
        if isinstance(value, str):
            return one(value)
        if isinstance(value, dict):
            return {rewrite(k): rewrite(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [rewrite(v) for v in value]
        return value

    return rewrite


def compile_labels(compile_report: dict | None) -> dict:
    """The build host's toolchain places a compile report names (GOROOT, Go's caches,
    pkgfactory's own environment, where go and zig live), each by what it is."""
    if not compile_report:
        return {}
    from pkgfactory.compile.command import PLACES  # the compile stage's, loaded when it ran

    labels = {sys.prefix: "<pkgfactory environment>"}
    tool = compile_report.get("toolchain") or {}
    for key in ("path", "go"):
        if tool.get(key):
            labels[str(Path(tool[key]).parent)] = "<go toolchain>"
    for rec in compile_report.get("binaries", []):
        for var, value in (rec.get("env") or {}).items():
            # The compile's places (GOROOT, GOCACHE, HOME …); PATH is a list, not a place.
            if value.startswith("/") and var in PLACES and var != "PATH":
                labels[value] = f"${var}"
    if tool.get("goroot"):
        labels[tool["goroot"]] = "$GOROOT"
    return labels


def delivered_paths(project, *, sources_root, targets_dirs, prebuilt):
    """:func:`relative_paths` for a bundle's reports: the project's directory, --sources-root and
    the user profile directories as relative paths, the caches and toolchain places as labels."""
    from pkgfactory.compile import cache as compile_cache
    from pkgfactory.targets import user_dirs

    return relative_paths(project.path.parent, [sources_root, *user_dirs(targets_dirs)],
                          {compile_cache.root(): "<compile cache>", prebuilt: "<prebuilt>",
                           **compile_labels(project.compile_report)})
