"""Images built by pkgfactory.images: the real Debian releases tests run in."""

import pytest

from pkgfactory.images import DEFAULT_MIRROR, host_debian_mirror

# release -> (glibc, dpkg) that the profile data files claim for it
EXPECTED = {"11": ("2.31", "1.20."), "12": ("2.36", "1.21.")}


@pytest.mark.container
@pytest.mark.parametrize("version", sorted(EXPECTED))
def test_debian_image_has_the_release_userland(container_engine, debian_image, version):
    image = debian_image(version)
    assert image == f"localhost/pkgf-debian:{version}"
    proc = container_engine.run("run", "--rm", "--network=none", image,
                                "sh", "-c", "ldd --version; dpkg --version")
    glibc, dpkg = EXPECTED[version]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("ldd (Debian GLIBC ") and lines[0].endswith(f") {glibc}"), lines[0]
    dpkg_line = next(line for line in lines if "'dpkg' package management program" in line)
    assert f" version {dpkg}" in dpkg_line, dpkg_line


def _write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_mirror_from_deb822_skips_security_disabled_and_foreign(tmp_path):
    _write(tmp_path, "etc/apt/sources.list.d/a-vendor.sources",
           "Types: deb\nURIs: https://packages.example.com/apt\nSuites: nodistro\nComponents: main\n")
    _write(tmp_path, "etc/apt/sources.list.d/debian.sources",
           "Types: deb\nURIs: http://mirror.example.org/debian-security\nSuites: bookworm-security\n"
           "Components: main\n\n"
           "Types: deb\nURIs: http://old.example.org/debian\nSuites: bookworm\nEnabled: no\n\n"
           "# comment\nTypes: deb-src deb\nURIs: http://mirror.example.org/debian/\n"
           "Suites: bookworm bookworm-updates\nComponents: main\n")
    assert host_debian_mirror(tmp_path) == "http://mirror.example.org/debian"


def test_mirror_from_one_line_sources_list(tmp_path):
    _write(tmp_path, "etc/apt/sources.list",
           "# deb http://commented.example.org/debian bookworm main\n"
           "deb-src http://src.example.org/debian bookworm main\n"
           "deb [arch=amd64 signed-by=/k.gpg] http://ftp.example.net/debian bullseye main contrib\n")
    assert host_debian_mirror(tmp_path) == "http://ftp.example.net/debian"


def test_mirror_defaults_to_deb_debian_org(tmp_path):
    _write(tmp_path, "etc/apt/sources.list", "deb http://archive.ubuntu.com/ubuntu jammy main\n")
    assert host_debian_mirror(tmp_path) == DEFAULT_MIRROR == "http://deb.debian.org/debian"


@pytest.fixture
def fresh_engine_cache():
    from pkgfactory import engine

    engine._find_engine.cache_clear()
    yield
    engine._find_engine.cache_clear()


def _fake_tools(bindir, **scripts):
    bindir.mkdir()
    for name, body in scripts.items():
        (bindir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bindir / name).chmod(0o755)


def test_no_working_engine_is_one_clear_line(tmp_path, monkeypatch, fresh_engine_cache):
    from pkgfactory.engine import find_engine
    from pkgfactory.errors import PkgfError

    _fake_tools(tmp_path / "bin", docker='echo "Cannot connect to the Docker daemon" >&2; exit 1')
    monkeypatch.setattr("shutil.which", _which_only(tmp_path / "bin"))
    with pytest.raises(PkgfError) as e:
        find_engine()
    msg = str(e.value)
    assert msg.startswith("no container engine found: install podman or docker, or use --builder native")
    assert "Cannot connect to the Docker daemon" in msg and "\n" not in msg


def test_forced_engine_and_fallback(tmp_path, monkeypatch, fresh_engine_cache):
    from pkgfactory.engine import find_engine
    from pkgfactory.errors import PkgfError

    _fake_tools(tmp_path / "bin", podman="exit 125", docker="exit 0")
    monkeypatch.setattr("shutil.which", _which_only(tmp_path / "bin"))
    assert find_engine().name == "docker"
    assert find_engine("docker").path == str(tmp_path / "bin" / "docker")
    with pytest.raises(PkgfError, match="^container engine podman does not work: 'podman version' failed"):
        find_engine("podman")
    with pytest.raises(PkgfError, match="^unknown container engine 'lxc'"):
        find_engine("lxc")


def test_get_builder_probes_only_when_inspecting_fails(tmp_path, monkeypatch, fresh_engine_cache):
    """The image inspection proves the engine works; a failing one falls back as auto-detection does
    (a broken podman: docker), and a missing image is still named as such."""
    from pkgfactory import engine
    from pkgfactory.builder import get_builder
    from pkgfactory.errors import PkgfError

    inspect = 'case "$1" in image) echo \'[{"Id": "sha256:abc"}]\';; version) exit 0;; esac'
    _fake_tools(tmp_path / "bin", podman="exit 125", docker=inspect)
    monkeypatch.setattr("shutil.which", _which_only(tmp_path / "bin"))
    b = get_builder()
    assert b.engine.name == "docker" and b.image_id == "sha256:abc"
    _fake_tools(tmp_path / "bin2", podman='case "$1" in image) exit 1;; version) exit 0;; esac')
    monkeypatch.setattr("shutil.which", _which_only(tmp_path / "bin2"))
    engine._find_engine.cache_clear()
    with pytest.raises(PkgfError, match="^builder image .* not found in podman"):
        get_builder()


def _which_only(bindir):
    # Engines are looked up on the real PATH; show them only our fakes, but
    # let the runner still find sh and timeout.
    import shutil

    real = shutil.which

    def which(cmd, mode=None, path=None):
        if cmd in ("podman", "docker"):
            return str(bindir / cmd) if (bindir / cmd).exists() else None
        return real(cmd, path=path) if mode is None else real(cmd, mode, path)

    return which
