"""Fixtures for tests that run things in real Debian releases (containers).

Loaded by conftest.py through ``pytest_plugins``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pkgfactory.engine import find_engine
from pkgfactory.errors import PkgfError
from pkgfactory.images import debian_release_image, foreign_root


@pytest.fixture(scope="session")
def container_engine():
    """The working podman/docker. scripts/setup.sh installs podman, so a missing
    engine is a broken set-up: the tests fail rather than skip."""
    try:
        return find_engine()
    except PkgfError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def debian_image(container_engine, tmp_path_factory):
    """``get("11")`` -> "localhost/pkgf-debian:11": a plain minimal Debian image.

    Built by mmdebstrap on first use and kept in the engine's image store, so
    later sessions (and ``scripts/setup.sh --tests``) reuse it.
    """
    log = tmp_path_factory.mktemp("images") / "images.log"
    ready: dict[str, str] = {}

    def get(version: str) -> str:
        if version not in ready:
            ready[version] = debian_release_image(container_engine, version, log=log)
        return ready[version]

    return get


# Stand-ins of the national desktops' own tools (tests/standins/), for Debian containers.
STANDINS = Path(__file__).parent / "standins"


@pytest.fixture(scope="session")
def standin_deb(tmp_path_factory) -> Path:
    """UOS's deepin-elf-verify as a Debian package: the real hook file, a stand-in
    deepin-pkg-install-hook that refuses like the real one, and the dpkg pre-invoke
    hook that runs it (Debian's dpkg has no preinst-invoke). ``dpkg -i`` it first."""
    work = tmp_path_factory.mktemp("standin")
    root = work / "root"
    shutil.copytree(STANDINS / "deepin-elf-verify", root, symlinks=True)
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text(
        "Package: deepin-elf-verify\nVersion: 1.3.50.4-1+standin\nArchitecture: all\n"
        "Maintainer: pkgfactory tests <t@example.invalid>\nDescription: stand-in of UOS's deepin-elf-verify\n")
    deb = work / "deepin-elf-verify_1.3.50.4-1+standin_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(deb)], check=True,
                   capture_output=True)
    return deb


@pytest.fixture(scope="session")
def arm64_root(tmp_path_factory):
    """An arm64 Debian 11 root (libc6 and its loader, unpacked) for ``qemu-aarch64 -L``; cached."""
    return foreign_root("11-arm64", log=tmp_path_factory.mktemp("roots") / "roots.log")
