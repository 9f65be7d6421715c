"""What templates see: the project, flattened for one target, arch and format.

Format knowledge that is not text escaping lives here (dependency syntax,
changelog dates, where units go), so templates stay declarative and a
project's override templates get the same ready-made values.
"""

from __future__ import annotations

import posixpath
import textwrap
from datetime import datetime

from pkgfactory import __version__
from pkgfactory.project import Dep, Project, Relations

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Where units go unless the profile says otherwise: Debian up to 12 (and the
# Kylin/UOS desktops built on it) ship units in /lib; rpm distros in /usr/lib.
UNIT_DIRS = {"rpm": "/usr/lib/systemd/system", "deb": "/lib/systemd/system"}


def rpm_date(d: datetime) -> str:
    # Fixed English names: strftime("%a") follows the locale.
    return f"{_DAYS[d.weekday()]} {_MONTHS[d.month - 1]} {d.day:02d} {d.year}"


def deb_date(d: datetime) -> str:
    return f"{_DAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year} {d:%H:%M:%S} +0000"


def policy_symlink(path: str, target: str) -> str:
    """Debian policy 10.5 (also what rpmlint wants): relative within a top-level directory, else absolute."""
    if not target.startswith("/"):
        return target
    if path.split("/")[1] == target.split("/")[1]:
        return posixpath.relpath(target, posixpath.dirname(path))
    return target


def dep_rpm(dep: Dep) -> str:
    ops = {"<<": "<", ">>": ">"}

    def one(a):
        return a.name if not a.op else f"{a.name} {ops.get(a.op, a.op)} {a.version}"

    if len(dep.alternatives) == 1:
        return one(dep.alternatives[0])
    return "(" + " or ".join(one(a) for a in dep.alternatives) + ")"  # rpmlib(RichDependencies)


def dep_deb(dep: Dep) -> str:
    return " | ".join(a.name if not a.op else f"{a.name} ({a.op} {a.version})" for a in dep.alternatives)


def _wrap(text: str, first: str, rest: str, width: int = 79) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first.rstrip()]


def _mode(m: int) -> str:
    return f"{m:04o}"


def build_context(project: Project, profile, arch: str, family: str, source_date_epoch: int) -> dict:
    pkg = project.package
    unit_dir = profile.packaging.get("systemd_unit_dir", UNIT_DIRS[family])
    entries = []  # every path in the payload, with its final attributes and (files) its source

    def add(kind, path, mode, owner="root", group="root", **extra):
        entries.append(dict(kind=kind, path=path, mode=_mode(mode), owner=owner, group=group, **extra))

    for b in project.binaries:
        add("binary", b.dest, b.mode, source=b.sources[arch])
    for f in project.files:
        add("file", f.dest, f.mode, f.owner, f.group, source=f.source)
    for c in project.configs:
        add("config", c.dest, c.mode, c.owner, c.group, source=c.source, noreplace=c.noreplace)
    for u in project.units:
        add("unit", f"{unit_dir}/{u.name}", 0o644, source=u.source)
    for d in project.directories:
        add("dir", d.path, d.mode, d.owner, d.group)
    for s in project.symlinks:
        add("symlink", s.path, 0o777, target=policy_symlink(s.path, s.target))
    entries.sort(key=lambda e: e["path"])

    declared = {g.name: g for g in project.groups}
    groups = [dict(name=n, gid=declared[n].gid if n in declared else None) for n in project.all_groups()]
    relations = project.relations_for(profile.id, family)
    render_dep = dep_rpm if family == "rpm" else dep_deb

    changelog = []
    for e in project.changelog:
        changelog.append(dict(
            version=e.version, author=e.author, date=e.date,
            rpm_date=rpm_date(e.date), deb_date=deb_date(e.date),
            rpm_lines=[ln for c in e.changes for ln in _wrap(c, "- ", "  ")],
            deb_lines=[ln for c in e.changes for ln in _wrap(c, "  * ", "    ")],
        ))

    return dict(
        pkgfactory_version=__version__,
        project=project,
        pkg=pkg,
        evr=pkg.evr,
        target=profile,
        arch=arch,
        family=family,
        unit_dir=unit_dir,
        entries=entries,
        configs=[e for e in entries if e["kind"] == "config"],
        owned=[e for e in entries if e["kind"] != "symlink" and (e["owner"], e["group"]) != ("root", "root")],
        units=[dict(name=u.name, path=f"{unit_dir}/{u.name}", enable=u.enable, start=u.start,
                    restart_on_upgrade=u.restart_on_upgrade) for u in project.units],
        users=list(project.users),
        groups=groups,
        scripts=project.scripts,
        relations={k: [render_dep(d) for d in getattr(relations, k)] for k in Relations.__dataclass_fields__},
        changelog=changelog,
        # DEP-5 wants a notice with a year; the newest changelog year is the best we know.
        copyright=pkg.copyright or f"{project.changelog[0].date.year} {pkg.vendor or pkg.maintainer.split(' <')[0]}",
        source_date_epoch=source_date_epoch,
    )
