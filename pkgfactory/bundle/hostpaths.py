"""What a bundle delivers names no place on the build machine.

manifest.json and reports/build-report.json come from the build report,
which names the project file, its sources and the target profiles by their
absolute paths on the build host. The bundle goes to another site: there
they say nothing but who built it where. Paths under the project's
directory, the sources root and the targets directories are written
relative to the project's directory (as the project file itself names its
sources); built-in profiles as ``pkgfactory/targets/profiles/NAME``. Other
absolute paths (``/usr/bin/hello-service``: where a package installs a
file) are left as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

import pkgfactory

_OWN_TREE = Path(pkgfactory.__file__).resolve().parent


def relative_paths(project_dir: Path, other_roots=()):
    """A function that rewrites the build-host paths in a JSON-like value (keys and strings)."""
    project_dir = Path(project_dir).absolute()
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
