"""Writes the Debian profiles' [libraries] from real minimal systems.

    .venv/bin/python scripts/base_libraries.py [TARGET ...]

For debian-11 (bullseye) and debian-12 (bookworm), or the targets named,
bootstraps the system twice with mmdebstrap (as root, from the host's Debian
mirror): --variant=minbase, the base system (what every install of the
release has, containers and debootstrap chroots included), and
--variant=important, what a default server install adds. Inside each it
lists every library in the ldconfig cache (``ldconfig -p``) and the package
that owns it (``dpkg -S``), then writes:

- the target profile's [libraries] extra: every minbase soname (the glibc
  sonames of pkgfactory/data/libraries.toml are shared by all profiles),
  and its [sources] libraries: suite, variants, date and counts;
- pkgfactory/data/library_packages.toml: the sonames only the important
  variant has, with their package, so `check`'s library-missing names the
  package to depend on. Hand-kept entries in that file stay.

Nothing else in the profile changes. Takes a few minutes (four bootstraps).
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pkgfactory import runner  # noqa: E402
from pkgfactory.errors import PkgfError  # noqa: E402
from pkgfactory.images import host_debian_mirror  # noqa: E402
from pkgfactory.targets import BUILTIN_DIR, DATA_DIR  # noqa: E402

SUITES = {"debian-11": "bullseye", "debian-12": "bookworm"}
VARIANTS = ("minbase", "important")
PACKAGES_FILE = DATA_DIR / "library_packages.toml"
# In the bootstrapped system: "soname<TAB>package" for every library of the
# ldconfig cache of the system's own ABI class (the first one listed).
_LIST = r"""
tab=$(printf '\t')
chroot "$1" /sbin/ldconfig -p | sed -n 's/^\t\([^ ]*\) (\([^)]*\)) => \(.*\)$/\1\t\2\t\3/p' |
while IFS=$tab read -r soname class path; do
    owner=$(chroot "$1" dpkg -S "$path" 2>/dev/null || chroot "$1" dpkg -S "$(chroot "$1" readlink -f "$path")" 2>/dev/null)
    printf '%s\t%s\t%s\n' "$soname" "$class" "${owner%%:*}"
done > "$OUT"
"""


def bootstrap(suite: str, variant: str, out: Path, mirror: str) -> dict[str, str]:
    """soname -> owning package in a fresh ``mmdebstrap --variant=variant suite``."""
    hook = _LIST.replace("$OUT", str(out))
    runner.run(["mmdebstrap", f"--variant={variant}", "--customize-hook", hook, suite, "/dev/null", mirror],
               verbose=False)
    rows = [line.split("\t") for line in out.read_text().splitlines() if line.strip()]
    if not rows:
        raise PkgfError(f"mmdebstrap {variant} {suite}: ldconfig -p listed no libraries")
    # Multilib systems list 32-bit libraries under another class: only libc.so.6's counts.
    own = next((_abi(cls) for so, cls, _ in rows if so == "libc.so.6"), None)
    if own is None:
        raise PkgfError(f"mmdebstrap {variant} {suite}: ldconfig -p does not list libc.so.6")
    return {so: pkg for so, cls, pkg in rows if _abi(cls) == own}


def _abi(cls: str) -> str:
    return ",".join(part.strip() for part in cls.split(",")[:2])


def _toml_list(items) -> str:
    lines, line = [], " "
    for item in items:
        piece = f' "{item}",'
        if len(line) + len(piece) > 110:
            lines.append(line)
            line = " "
        line += piece
    lines.append(line)
    return "[\n" + "\n".join(lines) + "\n]"


def write_profile(target: str, sonames: list[str], source: str) -> None:
    path = BUILTIN_DIR / f"{target}.toml"
    text = path.read_text()
    with open(DATA_DIR / "libraries.toml", "rb") as f:
        glibc = set(tomllib.load(f)["glibc"])
    extra = sorted(set(sonames) - glibc)
    block = ("[libraries]\n"
             "# Written by scripts/base_libraries.py from the real minimal system (see [sources] libraries);\n"
             "# rerun it rather than editing. The glibc sonames come from pkgfactory/data/libraries.toml.\n"
             f"extra = {_toml_list(extra)}\n")
    text, n = re.subn(r"^\[libraries\]\n.*?(?=^\[)", block + "\n", text, count=1, flags=re.S | re.M)
    if n != 1:
        raise PkgfError(f"{path}: no [libraries] table to replace")
    line = f"libraries = {_quote(source)}\n"
    if re.search(r"^libraries = .*$", text, flags=re.M):
        text = re.sub(r"^libraries = .*\n", lambda _: line, text, count=1, flags=re.M)
    else:
        text = re.sub(r"^\[sources\]\n", lambda m: m.group(0) + line, text, count=1, flags=re.M)
    tomllib.loads(text)  # never write a profile the reader cannot load
    path.write_text(text)


def write_packages(generated: dict[str, dict[str, str]], sources: dict[str, str]) -> None:
    with open(PACKAGES_FILE, "rb") as f:
        data = tomllib.load(f)
    header = PACKAGES_FILE.read_text().split("\n[", 1)[0].rstrip() + "\n"
    targets = {k: v for k, v in data.items() if k != "sources"}
    all_sources = {**data.get("sources", {}), **sources}
    for target, mapping in generated.items():
        targets[target] = {**targets.get(target, {}), **mapping}
    out = [header.rstrip("\n")]
    for target in sorted(targets):
        out.append(f"\n[{_quote(target)}]")
        out += [f"{_quote(so)} = {_quote(pkg)}" for so, pkg in sorted(targets[target].items())]
    out.append("\n[sources]")
    out += [f"{_quote(k)} = {_quote(v)}" for k, v in sorted(all_sources.items())]
    text = "\n".join(out) + "\n"
    tomllib.loads(text)
    PACKAGES_FILE.write_text(text)


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/base_libraries.py", description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=list(SUITES), help=f"targets (default: {' '.join(SUITES)})")
    parser.add_argument("--mirror", default=None, help="Debian mirror (default: the host's)")
    args = parser.parse_args(argv)
    mirror = args.mirror or host_debian_mirror()
    today = datetime.date.today().isoformat()
    generated, sources = {}, {}
    try:
        for target in args.targets:
            if target not in SUITES:
                raise PkgfError(f"no Debian suite known for {target} (known: {', '.join(SUITES)})")
            suite = SUITES[target]
            found = {}
            with tempfile.TemporaryDirectory() as tmp:
                for variant in VARIANTS:
                    print(f"{target}: mmdebstrap --variant={variant} {suite} ...", flush=True)
                    found[variant] = bootstrap(suite, variant, Path(tmp) / f"{variant}.txt", mirror)
            base, important = found["minbase"], found["important"]
            only_important = {so: pkg for so, pkg in important.items() if so not in base}
            source = (f"scripts/base_libraries.py on {today}: ldconfig -p in mmdebstrap --variant=minbase {suite} "
                      f"({len(base)} sonames, all listed: the base system); --variant=important has "
                      f"{len(only_important)} more, kept out of the base and named with their package in "
                      f"pkgfactory/data/library_packages.toml")
            write_profile(target, sorted(base), source)
            generated[target] = only_important
            sources[f"{target} important"] = (f"scripts/base_libraries.py on {today}: sonames of mmdebstrap --variant=important "
                               f"{suite} that --variant=minbase lacks, owner from dpkg -S")
            print(f"{target}: {len(base)} base sonames, {len(only_important)} more in important", flush=True)
        write_packages(generated, sources)
    except PkgfError as e:
        print(f"base_libraries: error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
