"""What both packagers do the same way: dates, rendering, script checks, file writing."""

from __future__ import annotations

import os
from pathlib import Path

from pkgfactory import runner
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.project import Project
from pkgfactory.render import environment, render
from pkgfactory.project.select import source_date_epoch  # noqa: F401 (packagers call common.source_date_epoch)

# Builds must not depend on the builder's locale, timezone or dotfiles
# (~/.rpmmacros, ~/.config/dpkg): HOME points into the work directory.
BASE_ENV = {"LC_ALL": "C", "TZ": "UTC"}

# xz preset of rpm and deb payloads when the project sets no build.xz_level. Measured on Go
# binaries (docs/benchmarks.md, "Compression level"): preset 1 writes packages 6-7% smaller than
# nfpm's pure-Go xz in a third of the time of preset 6, which is 9-10% smaller again at three
# times the time. Any preset decodes on every xz-reading rpm and dpkg; preset 1's 1 MiB
# dictionary also needs less memory to unpack than 6's 8 MiB.
DEFAULT_XZ_LEVEL = 1


def xz_level(project: Project) -> int:
    return DEFAULT_XZ_LEVEL if project.xz_level is None else project.xz_level


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def render_script(env, name: str, context: dict, log: Path | None) -> str | None:
    """Render a scriptlet template; None when it has nothing to do (renders to blank).

    The result is syntax-checked with ``sh -n`` (dash on Debian, stricter than
    bash), so a broken project script fails the build, not the install.
    """
    text = render(env, name, context)
    if not text.strip():
        return None
    if text not in _VALID_SH:
        proc = runner.run(["sh", "-n"], input=text, check=False, log=log)
        if proc.returncode != 0:
            reason = (proc.stderr or proc.stdout or "").strip().splitlines()
            raise PkgfError(f"{name}: the rendered script is not valid sh: {reason[-1] if reason else 'syntax error'}")
        _VALID_SH.add(text)
    return text


# Scripts `sh -n` passed in this process: most targets render the same scriptlets, and each
# is rendered twice per run (the trial render, then the build's), so one check serves many.
_VALID_SH: set[str] = set()


def template_env(project: Project):
    return environment(project.templates, origin=f"{project.path}: key 'build.templates'")


def need_profile_family(profile, family: str) -> None:
    if profile.family != family:
        raise InputError(f"target {profile.id} is a {profile.family} target, not {family}")


def need_arch(profile, arch: str) -> None:
    if arch not in profile.arches:
        raise InputError(f"target {profile.id} has no {arch} edition (it has {', '.join(profile.arches)})")
