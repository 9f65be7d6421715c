"""Where package builds run: the builder container image, or the host itself.

One image serves both formats: Debian 12's rpm 4.18 and dpkg 1.21 write
packages that old targets read, once the templates pin payload compression
and rpmlib features to the target's floors (see pkgfactory.package). Builds
in a container get no network, a read-only root and only their own work
directory (a copy of the staged sources inside the output tree) mounted
writable: nothing a build runs can reach the host's files or the network.
"""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path

from pkgfactory import runner
from pkgfactory.cachedir import cache_dir
from pkgfactory.engine import Engine, find_engine, installed_engine
from pkgfactory.errors import PkgfError
from pkgfactory.package.native import clear_artifact
from pkgfactory.package.plan import BuildPlan

CONTAINERFILE = Path(__file__).with_name("Containerfile")
DEFAULT_IMAGE = "localhost/pkgf-builder:bookworm"
BASE_IMAGE = "docker.io/library/debian:bookworm"
PACKAGES = ("rpm", "dpkg-dev", "fakeroot", "xz-utils", "gzip", "bzip2", "cpio", "file", "binutils")
_MOUNT = "/build"
_VERSION_CMDS = {"rpmbuild": ["rpmbuild", "--version"], "dpkg-deb": ["dpkg-deb", "--version"]}
_FAMILY_TOOL = {"rpm": "rpmbuild", "deb": "dpkg-deb"}


def create(engine: Engine, image: str = DEFAULT_IMAGE, *, log: Path | None = None,
           verbose: bool = False) -> tuple[str, str]:
    """Make the builder image; returns (image, how it was made)."""
    if engine.inspect_image(BASE_IMAGE) is not None:
        engine.run("build", "-t", image, "-f", str(CONTAINERFILE), str(CONTAINERFILE.parent),
                   log=log, verbose=verbose)
        return image, f"{engine.name} build from {BASE_IMAGE}"
    from pkgfactory.images import debian_rootfs_image  # only `builder create` makes images

    debian_rootfs_image(engine, "bookworm", image, include=PACKAGES, log=log, verbose=verbose)
    return image, "mmdebstrap bookworm rootfs"


class NativeBuilder:
    """Runs plans on the host: for CI systems that already are a container."""

    name = "native"

    def describe(self) -> dict:
        return {"builder": "native", "image": None, "image_id": None}

    def tool_versions(self, log: Path | None = None) -> dict[str, str]:
        if not hasattr(self, "_versions"):
            self._versions = {tool: _first_line(runner.run(argv, log=log, check=False).stdout)
                              for tool, argv in _VERSION_CMDS.items()}
        return self._versions

    def identity(self, family: str) -> dict:
        """What, besides the plan, decides the bytes a build of ``family`` writes (for the build key)."""
        return {"builder": "native", "machine": platform.machine(), "os": _os_release(),
                "tool": self.tool_versions()[_FAMILY_TOOL[family]]}

    def run(self, plan: BuildPlan, log: Path | None, verbose: bool = False) -> None:
        clear_artifact(plan)
        runner.run(plan.command(), cwd=plan.cwd_in(), env={**os.environ, **plan.environment()},
                   log=log, verbose=verbose)


class ContainerBuilder:
    """Runs plans in a container; ``images`` may give each package family its own builder image."""

    def __init__(self, engine: Engine, image: str, images: dict[str, str] | None = None):
        self.engine = engine
        self.images = {"rpm": image, "deb": image, **{k: v for k, v in (images or {}).items() if v}}
        self.image = image
        self.name = f"{engine.name}:{image}"
        ids = {}
        for name in dict.fromkeys(self.images.values()):
            info = engine.inspect_image(name)
            if info is None:
                raise PkgfError(f"builder image {name} not found in {engine.name}: "
                                "run 'pkgfactory builder create' or pass an existing --image")
            ids[name] = info.get("Id")
        self.image_ids = {family: ids[name] for family, name in self.images.items()}
        self.image_id = self.image_ids["rpm"] if self.images["rpm"] == image else self.image_ids["deb"]

    def describe(self) -> dict:
        d = {"builder": self.engine.name, "image": self.image, "image_id": self.image_id}
        if len(set(self.images.values())) > 1:
            d["images"] = {f: {"image": self.images[f], "image_id": self.image_ids[f]} for f in self.images}
        return d

    def _run(self, argv: list[str], *, log, verbose=False, mounts=(), workdir=None, env=None, check=True,
             image=None):
        args = ["run", "--rm", "--network=none", "--read-only", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]
        for host, inside in mounts:
            args += ["-v", f"{host}:{inside}"]
        if workdir:
            args += ["-w", workdir]
        for k, v in (env or {}).items():
            args += ["-e", f"{k}={v}"]
        return self.engine.run(*args, image or self.image, *argv, log=log, verbose=verbose, check=check)

    def tool_versions(self, log: Path | None = None) -> dict[str, str]:
        """Asked once per image id, ever: an image id names one immutable file system, and a
        container start for a version string cost every run a fraction of a second."""
        if getattr(self, "_versions", None) is not None:
            return self._versions
        versions = {}
        for family, tool in _FAMILY_TOOL.items():
            image_id = self.image_ids[family]
            cached = _versions_file(image_id)
            known = _read_json(cached)
            if tool not in known:
                proc = self._run(_VERSION_CMDS[tool], log=log, check=False, image=self.images[family])
                if proc.returncode != 0:
                    versions[tool] = ""  # not cached: the image may lack the tool, the next run asks again
                    continue
                known[tool] = _first_line(proc.stdout)
                _write_json(cached, known)
            versions[tool] = known[tool]
        self._versions = versions
        return versions

    def identity(self, family: str) -> dict:
        """What, besides the plan, decides the bytes a build of ``family`` writes (for the build key)."""
        return {"image_id": self.image_ids[family], "tool": self.tool_versions()[_FAMILY_TOOL[family]]}

    def run(self, plan: BuildPlan, log: Path | None, verbose: bool = False) -> None:
        clear_artifact(plan)
        self._run(plan.command(_MOUNT), log=log, verbose=verbose,
                  mounts=[(plan.workdir.resolve(), _MOUNT)], workdir=plan.cwd_in(_MOUNT),
                  env=plan.environment(_MOUNT), image=self.images[plan.format])


def get_builder(kind: str = "container", *, engine: str | None = None, image: str | None = None,
                rpm_image: str | None = None, deb_image: str | None = None):
    """``kind`` "native" or "container" (engine auto-detected unless named)."""
    if kind == "native":
        return NativeBuilder()
    image, images = image or DEFAULT_IMAGE, {"rpm": rpm_image, "deb": deb_image}
    # An engine that inspects the images works: its probe ('podman version', as long again) is
    # spent only when that fails, to tell a broken engine from a missing image, or to fall back
    # from a broken podman to docker as auto-detection does.
    installed = installed_engine(engine)
    if installed is not None:
        try:
            return ContainerBuilder(installed, image, images)
        except PkgfError:
            pass
    return ContainerBuilder(find_engine(engine), image, images)


def rpmbuild_version(builder) -> str | None:
    """"4.18.0" from the builder's "RPM version 4.18.0"; None when it has no working rpmbuild."""
    m = re.search(r"\b(\d+(?:\.\d+)+)\b", builder.tool_versions().get("rpmbuild", ""))
    return m.group(1) if m else None


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def _versions_file(image_id: str | None) -> Path:
    return cache_dir("tool-versions", re.sub(r"[^0-9A-Za-z]+", "-", image_id or "none") + ".json")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) \
        else {}


def _write_json(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.part-{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache: the next run asks the image again


def _os_release() -> str:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return ""
    return next((ln.split("=", 1)[1].strip('"') for ln in text.splitlines() if ln.startswith("PRETTY_NAME=")), "")
