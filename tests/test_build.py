"""`pkgfactory build` end to end: rpmbuild and dpkg-buildpackage in the builder container,
then the packages read back with rpm/dpkg-deb and installed in real Debian 11 and 12."""

import json
import shutil
import subprocess

import pytest

from fixtures_go import run_cli
from hello_example import build_hello, copy_example, edit
from pkgfactory import targets

pytestmark = pytest.mark.container

MATRIX = ["centos-7", "kylin-v10-sp3", "uos-v20-desktop", "debian-11", "debian-12"]


def sh(*argv) -> str:
    return subprocess.run(list(map(str, argv)), capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="session")
def builder_image(container_engine):
    r = run_cli("builder", "create")
    assert r.code == 0, r.err
    return "localhost/pkgf-builder:bookworm"


@pytest.fixture(scope="module")
def hello_bins(tmp_path_factory):
    return build_hello(tmp_path_factory.mktemp("hello-bins"))


def build(project, out, *extra):
    args = ["build", "-c", project, "-o", out, "--json"]
    for t in MATRIX:
        args += ["--target", t]
    r = run_cli(*args, *extra)
    return r


@pytest.fixture(scope="module")
def built(tmp_path_factory, builder_image, hello_bins):
    root = tmp_path_factory.mktemp("build")
    project = copy_example(root / "v1", hello_bins)
    r = build(project, root / "out")
    assert r.code == 0, r.err + r.out
    return root / "out", json.loads(r.out)


@pytest.fixture(scope="module")
def upgrade_debs(tmp_path_factory, builder_image, hello_bins):
    """Release 2 of the same version, config file unchanged, for Debian 11 and 12."""
    root = tmp_path_factory.mktemp("build-v2")
    project = copy_example(root / "v2", hello_bins)
    edit(project, ('release = "1"', 'release = "2"'),
         ('[[changelog]]\nversion = "1.2.0-1"',
          '[[changelog]]\nversion = "1.2.0-2"\ndate = 2024-11-21\nchanges = ["Rebuild."]\n\n'
          '[[changelog]]\nversion = "1.2.0-1"'))
    r = run_cli("build", "-c", project, "-o", root / "out", "--target", "debian-11", "--target", "debian-12",
                "--arch", "x86_64", "--json")
    assert r.code == 0, r.err + r.out
    return root / "out"


def test_every_target_and_arch_is_built_and_reported(built):
    out, report = built
    got = {(r["target"], r["arch"]) for r in report["results"] if r["ok"]}
    want = {(t, a) for t in MATRIX for a in ("x86_64", "aarch64") if a in targets.get(t).arches}
    assert got == want
    assert json.loads((out / "build-report.json").read_text()) == report
    assert report["builder"]["builder"] == "podman" and report["builder"]["image_id"]
    assert report["tool_versions"]["rpmbuild"].startswith("RPM version")
    for r in report["results"]:
        path = out / r["artifact"]
        assert path.parent == out / r["target"] / r["arch"]
        assert sh("sha256sum", path).split()[0] == r["sha256"]
        assert (out / r["log"]).is_file()
    assert not (out / ".work").exists()
    assert all(len(v) == 64 for v in report["inputs"].values())


@pytest.mark.parametrize("target", ["centos-7", "kylin-v10-sp3"])
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_rpm_headers_keep_the_target_floors(built, target, arch):
    out, _ = built
    (rpm,) = (out / target / arch).glob("*.rpm")
    profile = targets.get(target)
    compressor = sh("rpm", "-qp", "--qf", "%{PAYLOADCOMPRESSOR}", rpm)
    assert compressor in profile.packaging["rpm_payloads"] and compressor != "zstd"
    assert sh("rpm", "-qp", "--qf", "%{ARCH}", rpm) == arch
    requires = sh("rpm", "-qp", "--requires", rpm).splitlines()
    rpmlib = {r.split("(")[1].split(")")[0] for r in requires if r.startswith("rpmlib(")}
    assert rpmlib <= set(profile.packaging["rpmlib"]), rpmlib - set(profile.packaging["rpmlib"])
    scripts = sh("rpm", "-qp", "--scripts", rpm)
    assert "useradd" in scripts and "systemctl" in scripts
    assert "/etc/hello-service/hello.conf" in sh("rpm", "-qpc", rpm).split()
    files = sh("rpm", "-qp", "--qf", "[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILENAMES}\n]", rpm)
    assert "-rwxr-xr-x root root /usr/bin/hello-service" in files
    assert "-rw-r----- root hello /etc/hello-service/hello.conf" in files
    assert "drwxr-x--- hello hello /var/lib/hello-service" in files


@pytest.mark.parametrize("target", ["uos-v20-desktop", "debian-11"])
def test_debs_for_old_dpkg_have_no_zstd(built, target):
    out, _ = built
    (deb,) = (out / target / "x86_64").glob("*.deb")
    members = sh("ar", "t", deb).split()
    assert members[0] == "debian-binary"
    assert not any(m.endswith(".zst") for m in members), members
    info = sh("dpkg-deb", "--info", deb)
    assert "Package: hello-service" in info and "Architecture: amd64" in info
    assert sh("dpkg-deb", "--ctrl-tarfile", deb) is not None
    assert sh("dpkg-deb", "-f", deb, "Version").strip() == "1.2.0-1"
    contents = sh("dpkg-deb", "--contents", deb)
    assert "./usr/bin/hello-service" in contents and "./etc/hello-service/hello.conf" in contents
    conffiles = subprocess.run(["dpkg-deb", "-I", str(deb), "conffiles"], capture_output=True, text=True).stdout
    assert conffiles.split() == ["/etc/hello-service/hello.conf"]


INSTALL_SCRIPT = r"""
set -eu
dpkg -i /debs/v1.deb
stat -c '%a %U %G %n' /usr/bin/hello-service /etc/hello-service/hello.conf /var/lib/hello-service
getent passwd hello | cut -d: -f1,6,7
ls /lib/systemd/system/hello-service.service /usr/lib/systemd/system/hello-service.service 2>/dev/null || true
cat /var/lib/dpkg/info/hello-service.conffiles
/usr/bin/hello-service -version
echo 'greeting=site-local' >> /etc/hello-service/hello.conf
dpkg -i /debs/v2.deb
dpkg-query -W -f='${Version}\n' hello-service
grep -c 'greeting=site-local' /etc/hello-service/hello.conf
dpkg -r hello-service
test ! -e /usr/bin/hello-service && echo removed-binary
test -e /etc/hello-service/hello.conf && echo kept-conffile-after-remove
dpkg -P hello-service
test ! -e /etc/hello-service/hello.conf && echo purged-conffile
getent passwd hello >/dev/null && echo user-kept
"""


@pytest.mark.parametrize("suite", ["11", "12"])
def test_deb_installs_upgrades_and_purges_in_real_debian(built, upgrade_debs, debian_image, tmp_path, suite):
    out, _ = built
    target = f"debian-{suite}"
    debs = tmp_path / "debs"
    debs.mkdir()
    shutil.copy(next((out / target / "x86_64").glob("*.deb")), debs / "v1.deb")
    shutil.copy(next((upgrade_debs / target / "x86_64").glob("*.deb")), debs / "v2.deb")
    p = subprocess.run(["podman", "run", "--rm", "--network=none", "-v", f"{debs}:/debs:ro", debian_image(suite),
                        "sh", "-c", INSTALL_SCRIPT], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    o = p.stdout
    assert "755 root root /usr/bin/hello-service" in o
    assert "640 root hello /etc/hello-service/hello.conf" in o
    assert "750 hello hello /var/lib/hello-service" in o
    assert "hello:/var/lib/hello-service:/usr/sbin/nologin" in o
    assert "hello-service.service" in o
    assert "hello-service 1.2.0" in o
    assert "1.2.0-2\n1\n" in o  # upgraded, and the site's edit to the conffile survived
    for word in ("removed-binary", "kept-conffile-after-remove", "purged-conffile", "user-kept"):
        assert word in o


def test_failed_check_blocks_the_package_unless_waived(tmp_path, builder_image, go_binaries, hello_bins):
    project = copy_example(tmp_path / "p", hello_bins)
    shutil.copy(go_binaries["cgo-host"], tmp_path / "p" / "dist" / "hello-service-x86_64")
    args = ["build", "-c", project, "-o", tmp_path / "out", "--target", "centos-7", "--arch", "x86_64", "--json"]
    r = run_cli(*args)
    assert r.code == 1
    (res,) = json.loads(r.out)["results"]
    assert res["status"] == "check-failed" and "glibc-too-new" in res["error"]
    assert not list((tmp_path / "out").rglob("*.rpm"))
    edit(project, ("# [[waiver]]\n# target = \"centos-7\"\n# arch = \"x86_64\"\n# code = \"cpu-level\"\n"
                   "# reason = \"our CentOS 7 fleet is all x86-64-v2\"",
                   "[[waiver]]\ntarget = \"centos-7\"\narch = \"x86_64\"\ncode = \"glibc-too-new\"\n"
                   "reason = \"glibc 2.34 compat package installed at every site\""))
    r = run_cli(*args)
    assert r.code == 0, r.out + r.err
    (res,) = json.loads(r.out)["results"]
    assert res["status"] == "built"
    assert res["waivers"][0]["code"] == "glibc-too-new" and "compat package" in res["waivers"][0]["reason"]


def test_container_builds_are_reproducible(tmp_path, builder_image, hello_bins):
    project = copy_example(tmp_path / "p", hello_bins)
    digests = []
    for n in (1, 2):
        # --no-cache: the second run must really build again, not reuse the first's packages.
        r = run_cli("build", "-c", project, "-o", tmp_path / f"out{n}", "--target", "debian-11",
                    "--target", "centos-7", "--arch", "x86_64", "--json", "--no-cache")
        assert r.code == 0, r.err
        digests.append({x["artifact"]: x["sha256"] for x in json.loads(r.out)["results"]})
    assert digests[0] == digests[1]


def test_bad_engine_and_unknown_selection_are_one_line_errors(tmp_path, hello_bins):
    project = copy_example(tmp_path / "p", hello_bins)
    for args, needle in [
        (["--engine", "docker"], "docker"),
        (["--target", "rocky-9"], "not in pkgfactory.toml build.targets"),
        (["--image", "localhost/no-such-image:1"], "no-such-image"),
    ]:
        r = run_cli("build", "-c", project, "-o", tmp_path / "out", *args)
        assert r.code == 2, (args, r)
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.err
    r = run_cli("build", "-c", tmp_path / "missing.toml", "-o", tmp_path / "out")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1


def test_builder_image_per_family(tmp_path, builder_image, debian_image, hello_bins):
    project = copy_example(tmp_path / "p", hello_bins)
    plain = debian_image("12")  # no dpkg-dev: proves the deb build really ran in this image
    r = run_cli("build", "-c", project, "-o", tmp_path / "out", "--target", "debian-11", "--target", "centos-7",
                "--arch", "x86_64", "--deb-image", plain, "--json")
    assert r.code == 1
    doc = json.loads(r.out)
    assert doc["builder"]["images"]["deb"]["image"] == plain
    status = {x["target"]: x for x in doc["results"]}
    assert status["centos-7"]["status"] == "built"
    assert status["debian-11"]["status"] == "build-failed" and "dpkg-buildpackage" in status["debian-11"]["error"]


def test_a_broken_template_builds_nothing(tmp_path, hello_bins):
    project = copy_example(tmp_path / "p", hello_bins)
    tdir = project.parent / "packaging" / "templates" / "debian"
    tdir.mkdir(parents=True)
    (tdir / "control.j2").write_text("Package: {{ no_such_value }}\n")
    edit(project, ('# templates = "packaging/templates"', 'templates = "packaging/templates"'))
    out = tmp_path / "out"
    argv = ["build", "-c", project, "-o", out, "--builder", "native", "--arch", "x86_64",
            "--target", "centos-7", "--target", "debian-12"]
    r = run_cli(*argv)
    assert r.code == 2 and "--trust-templates" in r.err and len(r.err.strip().splitlines()) == 1, r
    r = run_cli(*argv, "--trust-templates")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r
    assert "key 'build.templates'" in r.err and str(tdir / "control.j2") in r.err and "no_such_value" in r.err
    # centos-7 comes first and its template is fine: still nothing was built or published.
    assert not (out / "centos-7").exists() and not (out / "build-report.json").exists()
    assert not (out / ".work").exists()  # the trial work dirs went with the run


def test_go_arch_names_select_arches_and_output_keeps_ours(tmp_path, hello_bins):
    project = copy_example(tmp_path / "p", hello_bins)
    out = tmp_path / "out"
    r = run_cli("build", "-c", project, "-o", out, "--builder", "native", "--arch", "arm64",
                "--target", "debian-12", "--json")
    assert r.code == 0, r.err
    (res,) = json.loads(r.out)["results"]
    assert res["arch"] == "aarch64" and res["artifact"] == "debian-12/aarch64/hello-service_1.2.0-1_arm64.deb"
    r = run_cli("build", "-c", project, "-o", out, "--arch", "arm65")
    assert r.code == 2 and "unknown arch 'arm65'" in r.err and "amd64=x86_64" in r.err
