"""What both drafters need: versions, paths relative to the new file, the first changelog entry."""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

from pkgfactory.init.draft import PLACEHOLDER, Draft
from pkgfactory.project import rules

# Go module pseudo-versions (v0.0.0-20240102150405-abcdef123456) name a commit, not a release.
_PSEUDO = re.compile(r"\d{14}-[0-9a-f]{12}")
_SEMVER = re.compile(r"^v?(\d+(?:\.\d+){0,2})(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$")


def package_version(text: str | None, prerelease: str | None = None, metadata: str | None = None) -> str | None:
    """'v1.2.3-rc.1' -> '1.2.3~rc.1' (sorts before 1.2.3 in rpm and dpkg), or None when it is no release."""
    if not text or _PSEUDO.search(text):
        return None
    m = _SEMVER.match(text.removesuffix("+incompatible"))
    if not m:
        return None
    core, pre, meta = m.group(1), prerelease or m.group(2), metadata or m.group(3)
    version = core + (f"~{pre.replace('-', '.')}" if pre else "") + (f"+{meta.replace('-', '.')}" if meta else "")
    try:
        return rules.version(version)
    except ValueError:
        return None


def relative_to(path: Path, out_dir: Path) -> str:
    """``path`` as the new project file will name it: relative to its directory."""
    return os.path.relpath(os.path.abspath(path), os.path.abspath(out_dir))


def valid(check, value):
    """``check(value)`` or None when the reader would refuse it."""
    if value is None:
        return None
    try:
        return check(value)
    except (ValueError, TypeError):
        return None


def placeholders(draft: Draft, package: dict) -> None:
    """Fill the [package] keys the reader requires and the source did not give."""
    why = {"summary": "one line, at most 80 characters", "description": "a few lines for package listings",
           "license": "the license, an SPDX id such as Apache-2.0",
           "maintainer": "'Full Name <email>' of whoever answers for the package"}
    for key, what in why.items():
        if not package.get(key):
            package[key] = PLACEHOLDER[key]
            draft.need(f"package.{key}", what)


def first_changelog(draft: Draft, package: dict, when: datetime.date | None = None) -> None:
    when = when or datetime.datetime.now(datetime.timezone.utc).date()
    epoch = f"{package['epoch']}:" if package.get("epoch") else ""
    i = draft.add("changelog", {"version": f"{epoch}{package['version']}-{package.get('release', '1')}",
                                "date": when, "changes": ["First package made with pkgfactory init."]})
    draft.comments[f"changelog[{i}].date"] = "newest entry first; its date is the packages' SOURCE_DATE_EPOCH"
