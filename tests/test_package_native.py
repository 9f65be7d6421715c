"""Native rpmbuild / dpkg-buildpackage builds of the example, checked on the artifacts.

What the project file promised is read back with rpm -qp and dpkg-deb; the
packages are installed, upgraded and removed with rpm --root and dpkg --root
in scratch roots where the scriptlets really run (dash as /bin/sh, logging
stubs for useradd/systemctl/...); injection strings stay text; two builds
with the same SOURCE_DATE_EPOCH are identical; lintian/rpmlint leave only
the tags docs/lint.md lists.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from debian.debfile import DebFile

from hello_example import REPO, build_hello, calls, copy_example, edit, scratch_root
from pkgfactory import targets
from pkgfactory.errors import PkgfError
from pkgfactory.package import DebPackager, RpmPackager, build_native, packager_for
from pkgfactory.project import load

SDE = 1732060800  # 2024-11-20, the example's newest changelog entry


def sh(*argv, **kw) -> str:
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True, **kw).stdout


def rpmq(rpm: Path, qf: str) -> str:
    return sh("rpm", "-qp", "--nosignature", "--qf", qf, rpm)


@pytest.fixture(scope="session")
def hello_bins(tmp_path_factory):
    return build_hello(tmp_path_factory.mktemp("go"))


@pytest.fixture(scope="session")
def example(tmp_path_factory, hello_bins) -> Path:
    return copy_example(tmp_path_factory.mktemp("example"), hello_bins)


def traced(dest: Path, bins, release: str = "1", conf_extra: str = "") -> Path:
    """The example with a project script per step that logs PKGF_ACTION and its arguments."""
    f = copy_example(dest, bins)
    for s in ("preinstall", "postinstall", "preremove", "postremove"):
        (f.parent / f"{s}.sh").write_text(f'echo "{s} $PKGF_ACTION $*" >> /calls.log\n')
    edit(f, ('postinstall = "packaging/postinstall.sh"',
             'preinstall = "preinstall.sh"\npostinstall = "postinstall.sh"\n'
             'preremove = "preremove.sh"\npostremove = "postremove.sh"'),
         ('release = "1"', f'release = "{release}"'), ('version = "1.2.0-1"', f'version = "1.2.0-{release}"'))
    if conf_extra:
        with open(f.parent / "packaging" / "hello.conf", "a") as fh:
            fh.write(conf_extra)
    return f


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    """build(project_file, target, arch) -> package path; each combination is built once."""
    base = tmp_path_factory.mktemp("builds")
    done: dict = {}

    def _build(project_file: Path, target: str, arch: str = "x86_64", **kw) -> Path:
        key = (str(project_file), target, arch, tuple(sorted(kw.items())))
        if key not in done:
            n = len(done)
            profile = targets.get(target)
            plan = packager_for(profile).prepare(load(project_file), profile, arch, base / f"w{n}", **kw)
            done[key] = build_native(plan, log=base / f"w{n}.log", dest_dir=base / f"out{n}")
        return done[key]

    return _build


# --- what the project file promised, read back from the artifacts -----------------

def test_rpm_promises(example, build, hello_bins):
    rpm = build(example, "centos-7")
    assert rpm.name == "hello-service-1.2.0-1.x86_64.rpm"
    assert rpmq(rpm, "%{PAYLOADCOMPRESSOR} %{ARCH} %{BUILDHOST} %{BUILDTIME} %{FILEDIGESTALGO}") == \
        f"xz x86_64 pkgfactory {SDE} 8"
    requires = sh("rpm", "-qp", "--requires", rpm).splitlines()
    rpmlib = {r.split()[0][7:-1] for r in requires if r.startswith("rpmlib(")}
    assert rpmlib <= set(targets.get("centos-7").packaging["rpmlib"])
    assert {r for r in requires if not r.startswith("rpmlib(")} == {
        "/bin/sh", "/usr/bin/getent", "/usr/sbin/groupadd", "/usr/sbin/useradd", "config(hello-service) = 1.2.0-1"}
    assert sh("rpm", "-qp", "--recommends", rpm).split() == []  # rpm 4.11 has no weak dependencies
    assert sh("rpm", "-qp", "--conflicts", rpm).split() == ["hello-service-legacy"]
    files = rpmq(rpm, "[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]")
    assert files.splitlines() == [
        "drwxr-xr-x root root  /etc/hello-service",
        "-rw-r----- root hello cn /etc/hello-service/hello.conf",
        "-rwxr-xr-x root root  /usr/bin/hello-service",
        "-rw-r--r-- root root  /usr/lib/systemd/system/hello-service.service",
        "lrwxrwxrwx root root  /usr/sbin/hello-service",
        "-rw-r--r-- root root d /usr/share/doc/hello-service/README.md",  # rpm: %doc by location
        "drwxr-x--- hello hello  /var/lib/hello-service",
    ]
    assert rpmq(rpm, "[%{FILELINKTOS}]") == "../bin/hello-service"
    digests = dict(ln.split(" ", 1)[::-1] for ln in rpmq(rpm, "[%{FILEDIGESTS} %{FILENAMES}\n]").splitlines())
    assert digests["/usr/bin/hello-service"] == hashlib.sha256(hello_bins["x86_64"].read_bytes()).hexdigest()
    scripts = sh("rpm", "-qp", "--scripts", rpm)
    for needle in ("useradd -r -M -g hello -d /var/lib/hello-service", "systemctl --no-reload enable hello-service.service",
                   "systemctl try-restart hello-service.service", "systemctl stop hello-service.service"):
        assert needle in scripts
    assert "* Wed Nov 20 2024 Example Packager <packager@example.com> - 1.2.0-1" in sh("rpm", "-qp", "--changelog", rpm)
    assert RpmPackager().artifact_check(rpm, targets.get("centos-7"), "x86_64") == []


def test_rpm_cross_arch(example, build):
    rpm = build(example, "kylin-v10-sp3", "aarch64")
    assert rpm.name == "hello-service-1.2.0-1.aarch64.rpm"
    assert rpmq(rpm, "%{ARCH} %{PAYLOADCOMPRESSOR}") == "aarch64 xz"
    assert sh("rpm", "-qp", "--recommends", rpm).split() == ["ca-certificates"]
    assert RpmPackager().artifact_check(rpm, targets.get("kylin-v10-sp3"), "aarch64") == []
    assert RpmPackager().artifact_check(rpm, targets.get("kylin-v10-sp3"), "x86_64") == ["is built for aarch64, not x86_64"]


@pytest.mark.parametrize("target,arch,debarch", [("debian-11", "x86_64", "amd64"), ("debian-12", "aarch64", "arm64"),
                                                 ("uos-v20-desktop", "x86_64", "amd64")])
def test_deb_promises(example, build, target, arch, debarch):
    deb = build(example, target, arch)
    assert deb.name == f"hello-service_1.2.0-1_{debarch}.deb"
    with DebFile(str(deb)) as d:
        assert d.getnames() == ["debian-binary", "control.tar.xz", "data.tar.xz"]
    field = lambda name: sh("dpkg-deb", "-f", deb, name).strip()  # noqa: E731
    assert (field("Package"), field("Version"), field("Architecture")) == ("hello-service", "1.2.0-1", debarch)
    assert field("Maintainer") == "Example Packager <packager@example.com>"
    assert (field("Recommends"), field("Conflicts"), field("Section")) == ("ca-certificates", "hello-service-legacy", "net")
    assert field("Homepage") == "https://example.com/hello-service"
    assert field("Description").startswith("Example HTTP service packaged by pkgfactory\n hello-service answers")
    assert sh("dpkg-deb", "-I", deb, "conffiles") == "/etc/hello-service/hello.conf\n"
    contents = {ln.split()[-1] if "->" not in ln else ln.split()[-3]: ln.split()[:2]
                for ln in sh("dpkg-deb", "-c", deb).splitlines()}
    assert contents["./usr/bin/hello-service"] == ["-rwxr-xr-x", "root/root"]
    assert contents["./etc/hello-service/hello.conf"] == ["-rw-r-----", "root/root"]  # postinst applies root:hello
    assert contents["./var/lib/hello-service/"] == ["drwxr-x---", "root/root"]
    assert contents["./lib/systemd/system/hello-service.service"] == ["-rw-r--r--", "root/root"]
    assert contents["./usr/sbin/hello-service"][0] == "lrwxrwxrwx"
    for doc in ("copyright", "changelog.Debian.gz", "README.md"):
        assert f"./usr/share/doc/hello-service/{doc}" in contents
    postinst = sh("dpkg-deb", "-I", deb, "postinst")
    assert "chown root:hello /etc/hello-service/hello.conf" in postinst
    assert "deb-systemd-invoke try-restart hello-service.service" in postinst
    assert DebPackager().artifact_check(deb, targets.get(target), arch) == []


# --- the check is on the artifact -------------------------------------------------

def test_rpm_check_reads_the_artifact(example, tmp_path):
    """A zstd payload (forced behind our back) is caught after the build and never published."""
    profile = targets.get("centos-7")
    plan = RpmPackager().prepare(load(example), profile, "x86_64", tmp_path / "w")
    edit(plan.workdir / "rpmbuild/SPECS/hello-service.spec", ("w1.xzdio", "w19.zstdio"))
    with pytest.raises(PkgfError) as e:
        build_native(plan, dest_dir=tmp_path / "out")
    assert "rpmlib(PayloadIsZstd)" in str(e.value) and "payload is zstd-compressed" in str(e.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_rpm_check_rpmlib_floor(example, build):
    rpm = build(example, "centos-7")
    prof = targets.get("centos-7")
    no_xz = targets.parse_profile({**prof.raw, "packaging": {**prof.packaging, "rpmlib": ["CompressedFileNames"],
                                                             "rpm_payloads": ["gzip"]}}, prof.path)
    problems = RpmPackager().artifact_check(rpm, no_xz)
    assert any("rpmlib(PayloadIsXz)" in p for p in problems)
    assert any("payload is xz-compressed" in p for p in problems)


def test_deb_check_reads_the_artifact(example, build, tmp_path):
    deb = build(example, "debian-12")
    sh("dpkg-deb", "-R", deb, tmp_path / "tree")
    zst = tmp_path / "zstd.deb"
    sh("dpkg-deb", "--root-owner-group", "-Zzstd", "-b", tmp_path / "tree", zst)
    problems = DebPackager().artifact_check(zst, targets.get("debian-11"), "x86_64")
    assert problems == ["control.tar.zst is zstd-compressed; debian-11's dpkg reads xz, gzip, none",
                        "data.tar.zst is zstd-compressed; debian-11's dpkg reads xz, gzip, none"]
    assert DebPackager().artifact_check(zst, targets.get("debian-12"), "x86_64") == []


def _deb_with(tmp_path: Path, name: str, control_extra: str, *, payload: bytes = b"x\n", comp: str = "xz") -> Path:
    """A real .deb made by dpkg-deb, with extra control fields."""
    tree = tmp_path / f"tree-{name}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "usr/share/demo").mkdir(parents=True)
    (tree / "usr/share/demo/payload").write_bytes(payload)
    (tree / "DEBIAN/control").write_text(f"Package: demo\nVersion: 1.0-1\nArchitecture: amd64\n"
                                         f"Maintainer: A <a@example.com>\nDescription: demo\n{control_extra}")
    deb = tmp_path / f"{name}.deb"
    sh("dpkg-deb", "--root-owner-group", f"-Z{comp}", "-b", tree, deb)
    return deb


def _dpkg_says(have: str, op: str, want: str) -> bool:
    dpkg_op = {"<<": "lt", "<=": "le", "=": "eq", ">=": "ge", ">>": "gt"}[op]
    return subprocess.run(["dpkg", "--compare-versions", have, dpkg_op, want]).returncode == 0


# (target dpkg, relation): epochs and '~' order as dpkg orders them, not number by number.
DPKG_RELATIONS = [
    ("1.20.13", ">=", "1.20.13~rc1"),      # ~ sorts before the release: met
    ("1.20.13~rc1", ">=", "1.20.13"),      # ... and a pre-release does not meet the release
    ("1.20.13", ">=", "1:1.0"),            # an epoch outranks every version without one
    ("1:1.0", ">=", "1.20.13"),
    ("1.20.13", ">=", "1.20.13+deb11u1"),  # a point release above
    ("1.20.13", ">>", "1.20.13"),
    ("1.20.13", "<<", "1.21"),
    ("1.20.13", "=", "0:1.20.13"),         # epoch 0 is no epoch
    ("1.20.13", "<=", "1.20.12"),
    ("1.19.7", ">=", "1.19.7ubuntu3"),     # letters after the numbers sort after them
]


@pytest.mark.parametrize("have,op,want", DPKG_RELATIONS)
def test_deb_dpkg_relations_are_judged_as_dpkg_judges_them(tmp_path, have, op, want):
    profile = dataclasses.replace(targets.get("debian-11"), versions={**targets.get("debian-11").versions,
                                                                      "dpkg": have})
    deb = _deb_with(tmp_path, "rel", f"Pre-Depends: dpkg ({op} {want})\n")
    problems = DebPackager().artifact_check(deb, profile, "x86_64")
    met = _dpkg_says(have, op, want)
    assert problems == ([] if met else [f"Pre-Depends dpkg ({op} {want}), debian-11 has dpkg {have}"]), (met, problems)


def test_deb_relations_other_than_a_lone_dpkg_are_left_to_apt(tmp_path):
    deb = _deb_with(tmp_path, "alt", "Depends: dpkg (>= 9:1.0) | dpkg-ng, libc6 (>= 2.31), dpkg (>= 1.20.13~)\n")
    assert DebPackager().artifact_check(deb, targets.get("debian-11"), "x86_64") == []
    deb = _deb_with(tmp_path, "both", "Depends: dpkg (>= 2:1.0) | dpkg (>= 1.99)\n")
    assert DebPackager().artifact_check(deb, targets.get("debian-11"), "x86_64") == [
        "Depends dpkg (>= 2:1.0) | dpkg (>= 1.99), debian-11 has dpkg 1.20.13"]


def test_deb_check_of_a_deb_without_relations_is_silent(tmp_path):
    deb = _deb_with(tmp_path, "plain", "")
    p = subprocess.run([sys.executable, "-c", "import sys; from pkgfactory.package.deb import DebPackager; "
                        "from pkgfactory import targets; "
                        f"print(DebPackager().artifact_check({str(deb)!r}, targets.get('debian-12'), 'x86_64'))"],
                       capture_output=True, text=True)
    assert (p.returncode, p.stdout, p.stderr) == (0, "[]\n", ""), p


def test_deb_check_refuses_what_is_not_a_deb(tmp_path):
    for name, data in [("text", b"hello\n"), ("ar-no-deb", b"!<arch>\n"), ("empty", b"")]:
        f = tmp_path / f"{name}.deb"
        f.write_bytes(data)
        (problem,) = DebPackager().artifact_check(f, targets.get("debian-12"), "x86_64")
        assert problem.startswith("is not a deb 2.0 archive"), (name, problem)
    deb = _deb_with(tmp_path, "arch", "")
    assert DebPackager().artifact_check(deb, targets.get("debian-12"), "aarch64") == ["is built for amd64, not arm64"]


def test_deb_check_reads_in_place_not_the_whole_file(tmp_path):
    import tracemalloc

    deb = _deb_with(tmp_path, "big", "", payload=os.urandom(64 * 1024 * 1024), comp="none")
    assert deb.stat().st_size > 64 * 1024 * 1024
    tracemalloc.start()
    try:
        assert DebPackager().artifact_check(deb, targets.get("debian-12"), "x86_64") == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB to check a 64 MB .deb"


def test_deb_dpkg_floor_is_checked(example, tmp_path):
    f = edit(Path(shutil.copytree(example.parent, tmp_path / "p")) / "pkgfactory.toml",
             ("# [relations.rpm]", '[relations.deb]\ndepends = ["dpkg (>= 1.21.18)"]\n# [relations.rpm]'))
    profile = targets.get("debian-11")
    plan = DebPackager().prepare(load(f), profile, "x86_64", tmp_path / "w")
    with pytest.raises(PkgfError, match=r"Depends dpkg \(>= 1.21.18\), debian-11 has dpkg 1.20"):
        build_native(plan, dest_dir=tmp_path / "out")


# --- reproducible ---------------------------------------------------------------------

def test_reproducible(example, tmp_path, monkeypatch):
    """Same SOURCE_DATE_EPOCH, different work directories: identical packages."""
    sde = 1700000000
    out = {}
    for n, where in enumerate(("a", "deeper/b")):
        if n:
            monkeypatch.setenv("SOURCE_DATE_EPOCH", str(sde))  # the environment is the other way to set it
        for target in ("centos-7", "debian-11"):
            profile = targets.get(target)
            plan = packager_for(profile).prepare(load(example), profile, "x86_64", tmp_path / where / target,
                                                 source_date_epoch=None if n else sde)
            out[(n, target)] = build_native(plan)
    assert out[(0, "debian-11")].read_bytes() == out[(1, "debian-11")].read_bytes()
    rpms = [out[(0, "centos-7")], out[(1, "centos-7")]]
    qf = "%{BUILDTIME} %{PAYLOADDIGEST} %{SHA256HEADER}\n[%{FILEMTIMES} %{FILEDIGESTS} %{FILENAMES}\n]"
    headers = [rpmq(r, qf) for r in rpms]
    assert headers[0] == headers[1] and headers[0].startswith(f"{sde} ")
    dumps = [sh("rpm", "-qp", "--nosignature", "--dump", r) for r in rpms]
    assert dumps[0] == dumps[1]
    payloads = [subprocess.run(["rpm2cpio", r], check=True, capture_output=True).stdout for r in rpms]
    assert payloads[0] == payloads[1]
    assert rpms[0].read_bytes() == rpms[1].read_bytes()  # unsigned: even the signature header matches


# --- installed for real in scratch roots ---------------------------------------------

@pytest.fixture(scope="module")
def traced_pair(tmp_path_factory, hello_bins):
    base = tmp_path_factory.mktemp("traced")
    return traced(base / "v1", hello_bins), traced(base / "v2", hello_bins, "2", "# new default\n")


USERADD = "useradd -r -M -g hello -d /var/lib/hello-service -s /usr/sbin/nologin -c hello-service daemon hello"


@pytest.mark.skipif(os.geteuid() != 0, reason="rpm --root chroots for scriptlets: needs root")
def test_rpm_root_install_upgrade_erase(traced_pair, build, tmp_path, hello_bins):
    v1, v2 = build(traced_pair[0], "centos-7"), build(traced_pair[1], "centos-7")
    root = scratch_root(tmp_path / "root")
    rpm = ["rpm", "--root", root, "--nodeps"]

    sh(*rpm, "-i", v1)
    assert calls(root) == [
        "groupadd -r hello", USERADD, "preinstall install 1",
        "postinstall install 1", "systemctl --no-reload enable hello-service.service",
        "systemctl daemon-reload", "systemctl start hello-service.service"]
    conf = root / "etc/hello-service/hello.conf"
    hello = 990  # what the useradd/groupadd stubs assign
    assert (conf.stat().st_mode & 0o777, conf.stat().st_uid, conf.stat().st_gid) == (0o640, 0, hello)
    state = root / "var/lib/hello-service"
    assert (state.stat().st_mode & 0o777, state.stat().st_uid, state.stat().st_gid) == (0o750, hello, hello)
    assert (root / "usr/bin/hello-service").read_bytes() == hello_bins["x86_64"].read_bytes()
    assert os.readlink(root / "usr/sbin/hello-service") == "../bin/hello-service"
    assert (root / "usr/lib/systemd/system/hello-service.service").is_file()

    with open(conf, "a") as f:
        f.write("greeting=local\n")
    sh(*rpm, "-U", v2)
    assert calls(root) == [
        "preinstall upgrade 2",  # new %pre: accounts exist already
        "postinstall upgrade 2", "systemctl daemon-reload",  # new %post: no enable, no start
        "preremove upgrade 1",  # old %preun: nothing stopped
        "systemctl daemon-reload", "systemctl try-restart hello-service.service", "postremove upgrade 1"]
    assert "greeting=local" in conf.read_text()  # %config(noreplace)
    assert "# new default" in (root / "etc/hello-service/hello.conf.rpmnew").read_text()
    assert sh("rpm", "--root", root, "-q", "hello-service").strip() == "hello-service-1.2.0-2.x86_64"

    sh(*rpm, "-e", "hello-service")
    assert calls(root) == [
        "preremove remove 0", "systemctl --no-reload disable hello-service.service",
        "systemctl stop hello-service.service", "systemctl daemon-reload", "postremove remove 0"]
    assert not (root / "usr/bin/hello-service").exists() and not state.exists()
    assert "greeting=local" in (root / "etc/hello-service/hello.conf.rpmsave").read_text()
    assert "hello:" in (root / "etc/passwd").read_text()  # accounts are never removed


@pytest.mark.skipif(os.geteuid() != 0, reason="dpkg --root chroots for maintainer scripts: needs root")
def test_deb_root_install_upgrade_remove_purge(traced_pair, build, tmp_path):
    v1, v2 = build(traced_pair[0], "debian-11"), build(traced_pair[1], "debian-11")
    root = scratch_root(tmp_path / "root")
    dpkg = ["dpkg", "--root", root, "--force-depends", "--force-confold"]
    owners = ["dpkg-statoverride --list /etc/hello-service/hello.conf", "chown root:hello /etc/hello-service/hello.conf",
              "chmod 0640 /etc/hello-service/hello.conf", "dpkg-statoverride --list /var/lib/hello-service",
              "chown hello:hello /var/lib/hello-service", "chmod 0750 /var/lib/hello-service"]
    enable = ["deb-systemd-helper unmask hello-service.service",
              "deb-systemd-helper --quiet was-enabled hello-service.service",
              "deb-systemd-helper enable hello-service.service", "systemctl --system daemon-reload"]

    sh(*dpkg, "-i", v1)
    assert calls(root) == ["preinstall install install", "groupadd -r hello", USERADD, *owners,
                           "postinstall install configure ", *enable, "deb-systemd-invoke start hello-service.service"]
    conf = root / "etc/hello-service/hello.conf"
    with open(conf, "a") as f:
        f.write("greeting=local\n")

    sh(*dpkg, "-i", v2)
    assert calls(root) == [
        "preremove upgrade upgrade 1.2.0-2", "preinstall upgrade upgrade 1.2.0-1 1.2.0-2",
        "systemctl --system daemon-reload", "postremove upgrade upgrade 1.2.0-2",
        *owners, "postinstall upgrade configure 1.2.0-1", *enable,
        "deb-systemd-invoke try-restart hello-service.service"]
    assert "greeting=local" in conf.read_text()
    assert "# new default" in (root / "etc/hello-service/hello.conf.dpkg-dist").read_text()

    sh(*dpkg, "-r", "hello-service")
    assert calls(root) == ["preremove remove remove", "deb-systemd-invoke stop hello-service.service",
                           "deb-systemd-helper mask hello-service.service", "systemctl --system daemon-reload",
                           "postremove remove remove"]
    assert conf.exists() and not (root / "usr/bin/hello-service").exists()  # remove keeps conffiles

    sh(*dpkg, "-P", "hello-service")
    assert calls(root) == ["deb-systemd-helper purge hello-service.service",
                           "deb-systemd-helper unmask hello-service.service", "systemctl --system daemon-reload",
                           "postremove purge purge"]
    assert not conf.exists()


# --- injection strings stay text -------------------------------------------------------

def injections(marker: str) -> dict[str, str]:
    return {
        "macro": f"%(touch {marker}/a)",
        "lua": f'%{{lua: os.execute("touch {marker}/b")}}',
        "section": f"\n%post\ntouch {marker}/c",
        "subst": f"$(touch {marker}/d)",
        "backticks": f"`touch {marker}/e`",
        "substvar": "${Newline}${shlibs:Depends}",
    }


def test_injection_strings_stay_inert(hello_bins, tmp_path, build):
    marker = tempfile.mkdtemp(prefix="pkgfi", dir="/tmp")  # short: it goes into 80-column fields
    inj = injections(marker)
    one_line = [v for k, v in inj.items() if k != "section"]
    proj = copy_example(tmp_path / "p", hello_bins)

    def q(s):
        return "'''" + s + "'''" if "\n" not in s else '"""' + s.replace("\\", "\\\\") + '"""'

    summary = f"S {inj['macro']} {inj['backticks']}"
    license_ = f"MIT {inj['lua']} {inj['subst']}"
    vendor = f"V {inj['subst']} {inj['substvar']} {inj['lua']}"
    description = "Injection test.\n" + "\n".join(inj.values()) + "\n%description\n%%prep %%"
    copyright_ = f"2024 C {inj['macro']} {inj['backticks']}"
    maintainer = f"Mal {inj['subst']} {inj['macro']} <mal@example.com>"
    change = " ".join(one_line)
    comment = f"svc {inj['subst']} {inj['backticks']}"
    edit(proj, ('summary = "Example HTTP service packaged by pkgfactory"', f"summary = {q(summary)}"),
         ('license = "Apache-2.0"', f"license = {q(license_)}"),
         ('vendor = "Example Corp"', f"vendor = {q(vendor)}\ncopyright = {q(copyright_)}"),
         ('maintainer = "Example Packager <packager@example.com>"', f"maintainer = {q(maintainer)}"),
         ('  "Run as the system user hello.",', f"  {q(change)},"),
         ('author = "Example Packager <packager@example.com>"', f"author = {q(maintainer)}"),
         ('comment = "hello-service daemon"', f"comment = {q(comment)}"),
         ('hello-service answers every HTTP request with a configurable greeting.\n', description + "\n"))
    project = load(proj)
    assert project.package.description.startswith("Injection test.\n%(touch")

    rpm, deb = build(proj, "centos-7"), build(proj, "debian-11")

    assert rpmq(rpm, "%{SUMMARY}") == summary
    assert rpmq(rpm, "%{LICENSE}") == license_
    assert rpmq(rpm, "%{VENDOR}") == vendor
    assert rpmq(rpm, "%{PACKAGER}") == maintainer
    # Lines starting with '%' get one leading space, or rpmbuild would read them as sections.
    expected = "\n".join(" " + ln if ln.startswith("%") else ln for ln in project.package.description.split("\n"))
    assert rpmq(rpm, "%{DESCRIPTION}") == expected
    assert f"touch {marker}/c" not in sh("rpm", "-qp", "--scripts", rpm)  # no %post came out of the description
    flat = lambda text: " ".join(text.split())  # noqa: E731 -- long changelog items are wrapped
    changelog = flat(sh("rpm", "-qp", "--changelog", rpm))
    assert flat(change) in changelog and maintainer in changelog

    assert sh("dpkg-deb", "-f", deb, "Maintainer").strip() == maintainer
    desc = sh("dpkg-deb", "-f", deb, "Description").rstrip("\n").split("\n")
    assert desc[0] == summary
    assert [ln[1:] if ln != " ." else "" for ln in desc[1:]] == project.package.description.split("\n")
    with DebFile(str(deb)) as d:
        tar = d.data.tgz()
        docs = {str(m.name): tar.extractfile(m).read() for m in tar.getmembers()
                if str(m.name).startswith("./usr/share/doc/") and m.isfile()}
    deb_changelog = flat(gzip.decompress(docs["./usr/share/doc/hello-service/changelog.Debian.gz"]).decode())
    assert flat(change) in deb_changelog and maintainer in deb_changelog
    copyright_file = docs["./usr/share/doc/hello-service/copyright"].decode()
    assert copyright_ in copyright_file and license_ in copyright_file

    if os.geteuid() == 0:  # installed, its scriptlets run: the comment reaches useradd as one literal argument
        root = scratch_root(tmp_path / "root")
        (root / marker.lstrip("/")).mkdir(parents=True)  # scriptlets run chrooted: a marker would land here
        sh("rpm", "--root", root, "--nodeps", "-i", rpm)
        assert f"useradd -r -M -g hello -d /var/lib/hello-service -s /usr/sbin/nologin -c {comment} hello" in calls(root)
        assert os.listdir(root / marker.lstrip("/")) == []

    assert os.listdir(marker) == [], "an injection string ran"
    os.rmdir(marker)


# --- lintian and rpmlint ---------------------------------------------------------------

def allowed_tags(tool: str) -> set[str]:
    """Tags docs/lint.md lists for ``tool``: rows like | lintian | W | tag | reason |."""
    rows = re.findall(r"^\|\s*(\w+)\s*\|\s*([EWI])\s*\|\s*`([\w.-]+)`\s*\|", (REPO / "docs/lint.md").read_text(), re.M)
    return {f"{sev}: {tag}" for t, sev, tag in rows if t == tool}


def test_lintian_leaves_only_documented_tags(example, build):
    found = set()
    for target, arch in (("debian-11", "x86_64"), ("debian-12", "aarch64")):
        proc = subprocess.run(["lintian", "--no-cfg", "--allow-root", "-I", "-E", build(example, target, arch)],
                              capture_output=True, text=True)
        for m in re.finditer(r"^([EWI]): hello-service(?: \w+)?: ([\w.-]+)", proc.stdout, re.M):
            found.add(f"{m.group(1)}: {m.group(2)}")
    assert found == allowed_tags("lintian")


def test_rpmlint_leaves_only_documented_tags(example, build, tmp_path):
    found = set()
    for target, arch in (("centos-7", "x86_64"), ("kylin-v10-sp3", "aarch64")):
        proc = subprocess.run(["rpmlint", build(example, target, arch)], capture_output=True, text=True,
                              env={**os.environ, "HOME": str(tmp_path)})
        for m in re.finditer(r"^hello-service\.\w+: ([EW]): ([\w.%-]+)", proc.stdout, re.M):
            found.add(f"{m.group(1)}: {m.group(2)}")
    assert found == allowed_tags("rpmlint")
