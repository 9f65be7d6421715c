"""Container images pkgfactory builds itself, from Debian's mirror alone.

No registry but the package mirrors is reachable where pkgfactory runs, so
images are not pulled: ``mmdebstrap`` builds a rootfs tarball from the apt
mirror and the engine imports it. An image carries a label with the hash of
its recipe; an existing image with the same tag and hash is reused, so the
minutes a build costs are paid once per machine.

``python -m pkgfactory.images`` builds every image of the catalogue below
(scripts/setup.sh --with-images calls it).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

from pkgfactory import runner
from pkgfactory.cachedir import cache_dir as _cache_dir
from pkgfactory.engine import Engine, find_engine, image_labels
from pkgfactory.errors import PkgfError

DEFAULT_MIRROR = "http://deb.debian.org/debian"
RECIPE_LABEL = "org.pkgfactory.recipe"
# Bump when the way images are made changes, so old images get rebuilt.
_RECIPE_VERSION = 1
_DEBIAN_SUITES = ("buzz", "rex", "bo", "hamm", "slink", "potato", "woody", "sarge", "etch",
                  "lenny", "squeeze", "wheezy", "jessie", "stretch", "buster", "bullseye",
                  "bookworm", "trixie", "forky", "duke", "sid",
                  "oldoldstable", "oldstable", "stable", "testing", "unstable")

# Plain minimal Debian releases the test suite runs binaries and packages in.
DEBIAN_RELEASES = {"11": "bullseye", "12": "bookworm"}


def debian_tag(version: str) -> str:
    return f"localhost/pkgf-debian:{version}"


def debian_release_image(engine: Engine, version: str, **kwargs) -> str:
    """The plain Debian ``version`` ("11", "12") image, built if needed."""
    if version not in DEBIAN_RELEASES:
        raise PkgfError(f"no Debian image recipe for {version!r}: known are {', '.join(DEBIAN_RELEASES)}")
    return debian_rootfs_image(engine, DEBIAN_RELEASES[version], debian_tag(version), **kwargs)


def debian_rootfs_image(
    engine: Engine,
    suite: str,
    name: str,
    include: Iterable[str] = (),
    mirror: str | None = None,
    *,
    log: Path | None = None,
    verbose: bool = False,
) -> str:
    """Image ``name`` holding an ``mmdebstrap --variant=apt`` rootfs of ``suite``.

    ``include`` adds packages; ``mirror`` defaults to the host's Debian
    mirror. Returns ``name``. Skips the build when ``name`` already exists
    with the same recipe.
    """
    recipe = {
        "v": _RECIPE_VERSION,
        "tool": "mmdebstrap",
        "variant": "apt",
        "suite": suite,
        "include": sorted(set(include)),
        "mirror": mirror or host_debian_mirror(),
        "arch": platform.machine(),
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]

    with _lock(name):
        old = engine.inspect_image(name)
        if old is not None and image_labels(old).get(RECIPE_LABEL) == digest:
            return name
        with tempfile.TemporaryDirectory(prefix="rootfs-", dir=_cache_dir()) as tmp:
            tarball = Path(tmp) / "rootfs.tar"
            argv = ["mmdebstrap", "--variant=apt", "--format=tar"]
            if recipe["include"]:
                argv.append("--include=" + ",".join(recipe["include"]))
            runner.run([*argv, suite, str(tarball), recipe["mirror"]], log=log, verbose=verbose)
            engine.run(
                "import",
                "--change", f"LABEL {RECIPE_LABEL}={digest}",
                "--change", f"LABEL org.pkgfactory.suite={suite}",
                "--change", 'CMD ["/bin/bash"]',
                str(tarball), name,
                log=log, verbose=verbose,
            )
        if old is not None:
            # The tag moved to the new image; drop the old one unless a container still uses it.
            engine.run("image", "rm", old["Id"], log=log, check=False)
    return name


# Foreign-arch roots that qemu-user runs dynamically linked binaries against (qemu-aarch64 -L ROOT):
# (suite, dpkg arch) by name. Only unpacked (mmdebstrap --variant=extract): nothing of the foreign
# arch has to run, so neither binfmt_misc nor qemu is needed to make them.
FOREIGN_ROOTS = {"11-arm64": ("bullseye", "arm64")}


def foreign_root(name: str, *, log: Path | None = None, verbose: bool = False) -> Path:
    """The directory of foreign root ``name`` ("11-arm64"): the C library and its loader, unpacked.

    Kept in the cache directory under a hash of its recipe, like the images: built once per machine.
    """
    if name not in FOREIGN_ROOTS:
        raise PkgfError(f"no foreign root recipe for {name!r}: known are {', '.join(FOREIGN_ROOTS)}")
    suite, arch = FOREIGN_ROOTS[name]
    recipe = {"v": _RECIPE_VERSION, "tool": "mmdebstrap", "variant": "extract", "suite": suite, "arch": arch,
              "include": ["libc6"], "mirror": host_debian_mirror()}
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    root = _cache_dir() / "roots" / f"{suite}-{arch}-{digest}"
    with _lock(f"root-{name}"):
        if (root / ".complete").exists():
            return root
        root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{root.name}.", dir=root.parent) as tmp:
            tree = Path(tmp) / "root"
            runner.run(["mmdebstrap", "--variant=extract", f"--arch={arch}", "--include=" + ",".join(recipe["include"]),
                        suite, str(tree), recipe["mirror"]], log=log, verbose=verbose)
            (tree / ".complete").write_text(json.dumps(recipe, sort_keys=True) + "\n")
            if root.exists():
                shutil.rmtree(root)  # an incomplete leftover of a killed run
            os.rename(tree, root)
    return root


def host_debian_mirror(root: Path = Path("/")) -> str:
    """The Debian archive URI the host's apt uses, or deb.debian.org.

    Reads one-line ``sources.list`` files and deb822 ``.sources`` files, and
    takes the first ``deb`` entry for a Debian suite that is not -security,
    -updates or -backports: that is the main archive, which also serves the
    older suites we build.
    """
    apt = root / "etc" / "apt"
    files = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list")),
             *sorted((apt / "sources.list.d").glob("*.sources"))]
    for f in files:
        try:
            text = f.read_text(errors="replace")
        except OSError:
            continue
        entries = _deb822_entries(text) if f.suffix == ".sources" else _one_line_entries(text)
        for uri, suites in entries:
            if any(s in _DEBIAN_SUITES for s in suites):
                return uri.rstrip("/")
    return DEFAULT_MIRROR


def _one_line_entries(text: str):
    for line in text.splitlines():
        line = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(line) >= 3 and line[0] == "deb":
            yield line[1], [line[2]]


def _deb822_entries(text: str):
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split()


@contextmanager
def _lock(name: str):
    # Two test sessions asking for the same image build it once, not twice at once.
    locks = _cache_dir() / "locks"
    locks.mkdir(exist_ok=True)
    with open(locks / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pkgfactory.images",
                                     description="Build the container images (and the foreign-arch roots for "
                                                 "qemu-user) pkgfactory and its tests use.")
    parser.add_argument("versions", nargs="*", default=list(DEBIAN_RELEASES),
                        help=f"Debian releases to build (default: {' '.join(DEBIAN_RELEASES)})")
    parser.add_argument("--engine", default=None, help="podman or docker (default: auto-detect)")
    parser.add_argument("--log", type=Path, default=None, help="append tool output to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tool output live")
    args = parser.parse_args(argv)
    try:
        engine = find_engine(args.engine)
        for version in args.versions:
            started = time.monotonic()
            tag = debian_release_image(engine, version, log=args.log, verbose=args.verbose)
            print(f"{tag}: ready ({time.monotonic() - started:.0f}s, {engine.name})", flush=True)
        for name in FOREIGN_ROOTS:
            started = time.monotonic()
            root = foreign_root(name, log=args.log, verbose=args.verbose)
            print(f"{name} root {root}: ready ({time.monotonic() - started:.0f}s)", flush=True)
    except PkgfError as e:
        print(f"pkgfactory.images: error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
