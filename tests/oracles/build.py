"""Builds the reference rpm releases into container images: localhost/pkgf-rpm:<release>.

    python tests/oracles/build.py [RELEASE ...] [-v] [--log FILE]

builds every release of recipes.toml (default) or the ones named. Each
release is compiled on this host from ``rpm-<release>.tar.xz`` in
../shared/oracles next to the repository (``$PKGF_ORACLES_DIR`` overrides),
with the flags of recipes.toml, and installed into its own image on the
plain Debian 12 test image (mmdebstrap, like every pkgfactory image) plus the
libraries it loads. An image is labelled with the hash of its archive and
recipe: a second run with the same archive is instant. ``4.18.0`` is Debian's
own rpm as the builder image has it. scripts/setup.sh --tests calls this; the
test suite uses the images (tests/test_oracles.py).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import subprocess
import shutil
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

from pkgfactory import runner
from pkgfactory.builder import DEFAULT_IMAGE
from pkgfactory.builder import create as create_builder
from pkgfactory.digest import sha256_file
from pkgfactory.engine import Engine, find_engine, image_labels
from pkgfactory.errors import PkgfError
from pkgfactory.images import _cache_dir as images_cache_dir
from pkgfactory.images import _lock as image_lock
from pkgfactory.images import debian_release_image

REPO = Path(__file__).resolve().parents[2]
RECIPES = Path(__file__).with_name("recipes.toml")
MAPPING = REPO / "pkgfactory" / "targets" / "oracles.toml"
ENV_DIR = "PKGF_ORACLES_DIR"
LABEL = "org.pkgfactory.oracle"
# Bump when the way images are made changes, so old images get rebuilt.
_BUILD_VERSION = 1

# Run in a container of the base image with the installed tree at /tree;
# the container is then committed as the release's image.
_INSTALL = r"""
set -e
cp -a /tree/. /
ldconfig
for tool in rpm rpmkeys rpm2cpio; do
    if ldd "/usr/bin/$tool" | grep 'not found'; then echo "$tool: missing libraries" >&2; exit 1; fi
done
rpm --version
rpm --initdb
if rpm -qa 2>&1 | grep 'dummy database'; then echo "rpm has no usable database backend" >&2; exit 1; fi
"""


def image_tag(release: str) -> str:
    return f"localhost/pkgf-rpm:{release}"


@lru_cache(maxsize=1)
def recipes() -> dict:
    with open(RECIPES, "rb") as f:
        return tomllib.load(f)


@lru_cache(maxsize=1)
def mapping() -> dict[str, dict]:
    """target id -> {"releases": [...], "unsettled": [...], "why": "..."} (pkgfactory/targets/oracles.toml)."""
    with open(MAPPING, "rb") as f:
        targets = tomllib.load(f)["targets"]
    known = recipes()["release"]
    for tid, entry in targets.items():
        for release in entry["releases"]:
            if release not in known:
                raise PkgfError(f"{MAPPING}: target {tid}: release {release} has no recipe in {RECIPES}")
    return targets


def _origin_checkouts() -> list[Path]:
    """The local checkouts this one comes from: the main working tree of a ``git worktree``
    (which shares its repository), and the repository a clone was made from
    (``git clone . /tmp/fresh``)."""
    found = []
    common = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--path-format=absolute", "--git-common-dir"],
                            capture_output=True, text=True)
    if common.returncode == 0 and common.stdout.strip():
        found.append(Path(common.stdout.strip()).parent)
    proc = subprocess.run(["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
                          capture_output=True, text=True)
    url = proc.stdout.strip().removeprefix("file://")
    if proc.returncode == 0 and url.startswith("/"):
        found.append(Path(url))
    return found


def archives_dir() -> Path:
    where = os.environ.get(ENV_DIR)
    if where:
        candidates = [Path(where)]
    else:
        # ../shared/oracles beside the checkout; a clone made elsewhere (a worktree, a
        # fresh clone in /tmp) finds it beside the checkout it was cloned from.
        candidates = [REPO.parent / "shared" / "oracles"]
        candidates += [c.parent / "shared" / "oracles" for c in _origin_checkouts() if c != REPO]
    for d in candidates:
        if d.is_dir():
            return d
    raise PkgfError(f"rpm source archives not found: {' nor '.join(map(str, candidates))} is a directory "
                    f"(set {ENV_DIR} to the directory holding rpm-<release>.tar.xz)")


def archive(release: str) -> tuple[Path, str]:
    """The release's source archive and its sha256, checked against the recipe."""
    path = archives_dir() / f"rpm-{release}.tar.xz"
    if not path.is_file():
        raise PkgfError(f"rpm source archive {path} not found")
    digest = sha256_file(path)
    want = recipes()["release"][release]["sha256"]
    if digest != want:
        raise PkgfError(f"{path} has sha256 {digest}, but {RECIPES.name} expects {want}: "
                        "a different archive, not the one the recipe was made for")
    return path, digest


def ensure_image(engine: Engine, release: str, *, log: Path | None = None, verbose: bool = False) -> str:
    """The image of ``release``, built unless one with the same archive and recipe exists."""
    data = recipes()
    if release not in data["release"]:
        raise PkgfError(f"no recipe for rpm {release} in {RECIPES} (known: {', '.join(data['release'])})")
    recipe = data["release"][release]
    tag = image_tag(release)
    if recipe.get("from") == "builder":
        return _builder_rpm(engine, release, recipe, log=log, verbose=verbose)
    src, digest = archive(release)
    key = _key({"sha256": digest, "recipe": recipe, "common": data["common"], "base": data["base"],
                "install": _INSTALL})
    with _lock(release):
        old = engine.inspect_image(tag)
        if old is not None and image_labels(old).get(LABEL) == key:
            return tag
        base = _base_image(engine, log=log, verbose=verbose)
        with tempfile.TemporaryDirectory(prefix=f"rpm-{release}-", dir=_cache_dir()) as tmp:
            tree = _compile(release, recipe, src, Path(tmp), log=log, verbose=verbose)
            _commit(engine, base, tree, tag, {LABEL: key, "org.pkgfactory.rpm": release}, log=log, verbose=verbose)
        _drop(engine, old, log)
    return tag


def _base_image(engine: Engine, *, log, verbose) -> str:
    """The plain Debian 12 image plus the runtime libraries of recipes.toml [base]."""
    base = recipes()["base"]
    debian = debian_release_image(engine, base["debian"], log=log, verbose=verbose)
    with _lock("base"):
        key = _key({"from": engine.inspect_image(debian)["Id"], "packages": base["packages"]})
        old = engine.inspect_image(base["image"])
        if old is not None and image_labels(old).get(LABEL) == key:
            return base["image"]
        with tempfile.TemporaryDirectory(prefix="debs-", dir=_cache_dir()) as debs:
            runner.run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", *base["packages"]],
                       cwd=debs, log=log, verbose=verbose)
            _commit(engine, debian, None, base["image"], {LABEL: key},
                    script="dpkg -i /debs/*.deb", mounts=["-v", f"{debs}:/debs:ro"], log=log, verbose=verbose)
        _drop(engine, old, log)
    return base["image"]


def _builder_rpm(engine: Engine, release: str, recipe: dict, *, log, verbose) -> str:
    """The builder image's own rpm (Debian's), committed under the release's tag."""
    tag = image_tag(release)
    with _lock(release):
        builder = engine.inspect_image(DEFAULT_IMAGE)
        if builder is None:
            create_builder(engine, log=log, verbose=verbose)
            builder = engine.inspect_image(DEFAULT_IMAGE)
        key = _key({"recipe": recipe, "builder": builder["Id"]})
        old = engine.inspect_image(tag)
        if old is not None and image_labels(old).get(LABEL) == key:
            return tag
        _commit(engine, DEFAULT_IMAGE, None, tag, {LABEL: key, "org.pkgfactory.rpm": release}, log=log, verbose=verbose)
        _drop(engine, old, log)
    return tag


def _key(what: dict) -> str:
    return hashlib.sha256(json.dumps({"v": _BUILD_VERSION, **what}, sort_keys=True).encode()).hexdigest()[:16]


def _drop(engine: Engine, old: dict | None, log) -> None:
    # The tag moved to the new image; drop the old one unless a container still uses it.
    if old is not None:
        engine.run("image", "rm", old["Id"], log=log, check=False)


def _compile(release: str, recipe: dict, src: Path, work: Path, *, log, verbose) -> Path:
    """Unpack, configure, make and ``make install`` into a staging tree; returns the tree."""
    def run(argv, **kw):
        return runner.run(argv, log=log, verbose=verbose, **kw)

    run(["tar", "-xJf", src, "-C", work])
    top = work / f"rpm-{release}"
    for edit in recipe.get("edits", []):
        path = top / edit["file"]
        text = path.read_text()
        if edit["old"] not in text:
            raise PkgfError(f"rpm {release}: {edit['file']} does not contain {edit['old']!r} ({RECIPES.name} edits)")
        path.write_text(text.replace(edit["old"], edit["new"]))

    def pkg_config(*args: str) -> str:
        return runner.run(["pkg-config", *args], log=log).stdout.strip()

    env = {**os.environ,
           "CPPFLAGS": pkg_config("--cflags", "nss"),
           "CFLAGS": recipe["cflags"],
           "LUA_CFLAGS": pkg_config("--cflags", recipe["lua"]),
           "LUA_LIBS": pkg_config("--libs", recipe["lua"])}
    run(["autoreconf", "-fi"], cwd=top)
    run(["./configure", *recipes()["common"]["configure"], *recipe["configure"]], cwd=top, env=env)
    run(["make", f"-j{len(os.sched_getaffinity(0))}"], cwd=top, env=env)
    tree = work / "tree"
    run(["make", "install", f"DESTDIR={tree}"], cwd=top, env=env)
    for pattern in recipes()["common"]["drop"]:
        for path in glob.glob(str(tree / pattern)):
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
    # Bookworm is usr-merged: /bin is a link to usr/bin, which cp -a cannot replace
    # with 4.11's /bin/rpm directory.
    for top_dir in ("bin", "sbin", "lib", "lib64"):
        if (tree / top_dir).is_dir() and not (tree / top_dir).is_symlink():
            (tree / "usr" / top_dir).mkdir(parents=True, exist_ok=True)
            for entry in (tree / top_dir).iterdir():
                os.replace(entry, tree / "usr" / top_dir / entry.name)
            (tree / top_dir).rmdir()
    return tree


def _commit(engine: Engine, base: str, tree: Path | None, tag: str, labels: dict[str, str], *,
            script: str | None = None, mounts: list[str] = (), log, verbose) -> None:
    """Run ``script`` (default: install ``tree`` and check the rpm in it) in ``base``; commit as ``tag``."""
    name = f"pkgf-oracle-build-{os.getpid()}"
    mounts = [*mounts, "-v", f"{tree}:/tree:ro"] if tree else list(mounts)
    if script is None:
        script = _INSTALL if tree else _INSTALL.replace("cp -a /tree/. /\n", "")
    try:
        engine.run("run", "--name", name, "--network=none", *mounts, base, "sh", "-c", script,
                   log=log, verbose=verbose)
        changes = [arg for k, v in labels.items() for arg in ("--change", f"LABEL {k}={v}")]
        engine.run("commit", *changes, "--change", 'CMD ["/bin/sh"]', name, tag, log=log, verbose=verbose)
    finally:
        engine.run("rm", "-f", name, log=log, check=False)


def _cache_dir() -> Path:
    path = images_cache_dir() / "oracles"
    path.mkdir(exist_ok=True)
    return path


def _lock(name: str):
    # The image catalogue's own lock: two sessions asking for one release build it once.
    return image_lock(f"oracle-rpm-{name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/oracles/build.py", description=__doc__.splitlines()[0])
    parser.add_argument("releases", nargs="*", help="releases to build (default: all of recipes.toml)")
    parser.add_argument("--log", type=Path, help="append tool output to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tool output live")
    args = parser.parse_args(argv)
    started = time.monotonic()
    releases = args.releases or list(recipes()["release"])
    try:
        engine = find_engine()
        for release in releases:
            if release not in recipes()["release"]:
                raise PkgfError(f"no recipe for rpm {release} in {RECIPES} (known: {', '.join(recipes()['release'])})")
        if any("sha256" in recipes()["release"][r] for r in releases):
            _base_image(engine, log=args.log, verbose=args.verbose)

        def build(release: str) -> str:
            t0 = time.monotonic()
            tag = ensure_image(engine, release, log=args.log, verbose=args.verbose)
            return f"{tag}: ready ({time.monotonic() - t0:.0f}s)"

        # Two at a time: autoreconf and configure run on one core, so a second build fills the other.
        with ThreadPoolExecutor(max_workers=2) as pool:
            for line in pool.map(build, releases):
                print(line, flush=True)
    except PkgfError as e:
        print(f"oracles: error: {e}", file=sys.stderr)
        return e.exit_code
    print(f"rpm oracles ready in {time.monotonic() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
