"""Draft a project from built binaries: arch from the ELF header, targets from `pkgfactory check`."""

from __future__ import annotations

import re
from pathlib import Path

from pkgfactory import targets
from pkgfactory.errors import InputError
from pkgfactory.init.common import first_changelog, package_version, placeholders, relative_to, valid
from pkgfactory.init.draft import Draft
from pkgfactory.init.targets import choose_targets
from pkgfactory.inspect import inspect_file
from pkgfactory.project import rules

# Suffixes build scripts put on binary names (app-x86_64, app_linux_amd64, app-v1.2.3).
_SUFFIX = re.compile(r"([-_.](linux|amd64|x86_64|x86-64|arm64|aarch64|loong64|loongarch64|mips64le|mips64el|"
                     r"riscv64|386|i686|ppc64le|s390x|static|v?\d+(\.\d+)*))+$", re.IGNORECASE)

EXAMPLES = """\
More you may need (docs/project-file.md has every key):

[[config]]                        # kept on upgrade; must be under /etc/
source = "packaging/NAME.conf"
dest = "/etc/NAME/NAME.conf"

[[file]]                          # a file, a directory tree ("web/dist/") or a glob ("docs/*.md")
source = "README.md"
dest = "/usr/share/doc/NAME/README.md"

[[systemd]]                       # enabled and started on first install, restarted on upgrade
source = "packaging/NAME.service"

[[user]]                          # a system account, created before files are owned by it
name = "NAME"
home = "/var/lib/NAME"

[[directory]]
path = "/var/lib/NAME"
mode = "0750"
owner = "NAME"
group = "NAME"

[kernel]                          # what install.sh checks on the host
modules = []
min = "3.10"
"""


def guess_name(binary: Path) -> str | None:
    return valid(rules.package_name, _SUFFIX.sub("", binary.name).lower())


def draft_from_binaries(binaries: list[Path], out_dir: Path, *, name: str | None = None, targets_dirs=()) -> Draft:
    draft = Draft(made_from="pkgfactory init " + " ".join(f"--binary {b}" for b in binaries)
                  + (f" --name {name}" if name else ""))
    infos = {}
    for path in binaries:
        info = inspect_file(path)
        if info.arch in infos:
            raise InputError(f"{path} and {infos[info.arch][0].path} are both {info.arch} binaries: give one "
                             "--binary per arch (a second program is a second [[binary]], added by hand)")
        infos[info.arch] = [info]
    if name is None:
        name = guess_name(binaries[0])
        if name is None:
            raise InputError(f"cannot make a package name from {binaries[0].name!r}: pass --name NAME")
    else:
        try:
            rules.package_name(name)
        except ValueError as e:
            raise InputError(f"--name: {e}") from None

    package = {"name": name}
    go = next((i[0].go for i in infos.values() if i[0].go), None)
    version = package_version(go.main.version if go and go.main else None)
    package["version"] = version or "0.1.0"
    if version is None:
        draft.need("package.version", "the version you deliver (the Go build info holds no release version)")
    else:
        draft.note("package.version", "from the Go build info's main module version")
    placeholders(draft, package)
    module = go.main.path if go and go.main else ""
    if "." in module.split("/")[0]:
        package["url"] = valid(rules.url, f"https://{module}")
        if package["url"]:
            draft.note("package.url", f"guessed from the Go module path {module}: check it")
        else:
            del package["url"]
    draft.data["package"] = package

    choice = choose_targets(infos, targets.load_all(targets_dirs).values())
    if not choice.passing:
        reasons = "; ".join(f"{t}: {why}" for t, why in choice.excluded[:4])
        raise InputError(f"{binaries[0]} passes `pkgfactory check` on no target ({reasons}); fix the binary "
                         "first (pkgfactory check BINARY -t ID shows what to do)")
    draft.data["build"] = {"targets": choice.passing, "arches": sorted(infos)}
    draft.comments["build.targets"] = "every target where `pkgfactory check` passes the binary"
    draft.excluded_targets = [(t, why) for t, why in choice.excluded if not why.startswith("no ")]
    for tid, codes in choice.warnings.items():
        draft.notes.append(f"{tid}: `pkgfactory check` warns: {', '.join(codes)}")

    i = draft.add("binary", {"dest": f"/usr/bin/{name}",
                             "source": {arch: relative_to(infos[arch][0].path, out_dir) for arch in sorted(infos)}})
    draft.comments[f"binary[{i}].dest"] = "where it is installed"
    first_changelog(draft, package)
    draft.examples = EXAMPLES.replace("NAME", name).splitlines()
    return draft
