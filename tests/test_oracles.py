"""Our rpm packages under the rpm releases the targets really run (tests/oracles/).

Two bundles of the example (1.1.0 and 1.2.0) are made for every rpm target
and every arch its profile has, signed with one key. Then, in a fresh
container of the target's own rpm release (localhost/pkgf-rpm:<release>,
pkgfactory/targets/oracles.toml), tests/oracles/scenario.sh checks the
signature with nothing but the bundle's KEY.asc, installs 1.1.0 into the
container's rpmdb with real /bin/sh scriptlets, upgrades to 1.2.0 and
erases it; systemctl is a stand-in that records its calls. The profiles'
[packaging] floors are held against what each release reports itself.
Packages are built once per session; the cases run grouped by release.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import re
import shutil
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures_go import run_cli
from hello_example import copy_example, edit, go
from oracles.build import ensure_image, mapping, recipes
from pkgfactory import targets
from pkgfactory.errors import PkgfError
from pkgfactory.package.common import DEFAULT_XZ_LEVEL
from pkgfactory.package.rpm import payload_for
from pkgfactory.versions import version_key
from signing_helpers import make_key

pytestmark = pytest.mark.container

SCENARIO = Path(__file__).parent / "oracles" / "scenario.sh"
PROFILES = {tid: p for tid, p in targets.load_all().items() if p.family == "rpm"}
HOST_ARCH = platform.machine()
# (target, release, arch), grouped by release so each release's image is used in one stretch.
CASES = sorted(((tid, release, arch) for tid in PROFILES for release in mapping().get(tid, {}).get("releases", ())
                for arch in PROFILES[tid].arches),
               key=lambda c: (version_key(c[1]), c[0], c[2]))
CASE_IDS = [f"{t}-{r}-{a}" for t, r, a in CASES]
# Every arch of an rpm profile, as Go names it.
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "loongarch64": "loong64", "mips64el": "mips64le",
          "riscv64": "riscv64"}
# The binary in these packages is never run: a small one keeps the xz payloads of ~70 builds quick.
SMALL_MAIN = 'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("hello-service\\n") }\n'
# rpmlib() feature -> the payload compressor it stands for (gzip needs none).
PAYLOAD_FEATURES = {"PayloadIsBzip2": "bzip2", "PayloadIsXz": "xz", "PayloadIsLzma": "lzma", "PayloadIsZstd": "zstd"}
TEST_PAYLOADS = {"gzip": "w9.gzdio", "bzip2": "w9.bzdio", "xz": "w6.xzdio", "lzma": "w6.lzdio", "zstd": "w19.zstdio"}
# rpmbuild's io name -> the PAYLOADCOMPRESSOR it writes (build/pack.c).
_COMPRESSOR = {"gz": "gzip", "bz": "bzip2", "xz": "xz", "lz": "lzma", "zstd": "zstd"}


def host_rpmbuild() -> str:
    out = subprocess.run(["rpmbuild", "--version"], check=True, capture_output=True, text=True).stdout
    return re.search(r"version (\S+)", out).group(1)


def payload_header(macro: str) -> str:
    """"PAYLOADCOMPRESSOR PAYLOADFLAGS" rpmbuild writes for %_binary_payload ``macro``: the io
    name's compressor and the mode without its "w" ("w1T2.xzdio" -> "xz 1T2")."""
    m = re.fullmatch(r"w(\w+)\.(\w+)dio", macro)
    return f"{_COMPRESSOR[m.group(2)]} {m.group(1)}"


def releases_of(target: str) -> list[str]:
    return mapping()[target]["releases"]


def unsettled(target: str) -> set[str]:
    return set(mapping()[target].get("unsettled", ()))


# --- the data itself ------------------------------------------------------------------

def test_every_rpm_target_has_an_oracle():
    assert sorted(mapping()) == sorted(PROFILES), "pkgfactory/targets/oracles.toml must map exactly the rpm targets"
    for tid, entry in mapping().items():
        assert entry["releases"], tid
        assert set(entry.get("unsettled", ())) <= set(PAYLOAD_FEATURES), tid


# --- images ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def oracle(container_engine, tmp_path_factory):
    """oracle(release) -> image tag, built (or found) once per session."""
    log = tmp_path_factory.mktemp("oracles") / "build.log"
    ready: dict[str, str] = {}

    def get(release: str) -> str:
        if release not in ready:
            try:
                ready[release] = ensure_image(container_engine, release, log=log)
            except PkgfError as e:
                pytest.fail(str(e))
        return ready[release]

    return get


def in_image(image: str, script: str, *mounts: str, timeout: int = 300) -> subprocess.CompletedProcess:
    argv = ["podman", "run", "--rm", "--network=none"]
    for m in mounts:
        argv += ["-v", m]
    return subprocess.run([*argv, image, "sh", "-c", script], capture_output=True, text=True, timeout=timeout)


# --- what each release reports ------------------------------------------------------

@pytest.fixture(scope="session")
def payload_rpms(tmp_path_factory) -> Path:
    """One tiny noarch rpm per payload compressor, written by the host's rpmbuild."""
    out = tmp_path_factory.mktemp("payloads")
    spec = out / "payload.spec"
    spec.write_text(textwrap.dedent("""\
        Name: pkgf-payload
        Version: 1
        Release: 1
        Summary: payload compressor probe
        License: MIT
        BuildArch: noarch
        %description
        One file, so the payload is not empty.
        %install
        mkdir -p %{buildroot}/usr/share/pkgf-payload
        echo payload-ok > %{buildroot}/usr/share/pkgf-payload/marker
        %files
        /usr/share/pkgf-payload/marker
        """))
    for name, macro in TEST_PAYLOADS.items():
        top = out / f"top-{name}"
        subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", f"_binary_payload {macro}",
                        str(spec)], check=True, capture_output=True)
        (rpm,) = (top / "RPMS" / "noarch").glob("*.rpm")
        shutil.move(rpm, out / f"{name}.rpm")
    return out


REPORT = r"""
rpm --showrc | sed -n '/^Features supported by rpmlib/,/^$/p'
for p in /payloads/*.rpm; do
    name=${p##*/}
    if rpm2cpio "$p" 2>/dev/null | grep -a -q payload-ok; then echo "unpacks ${name%.rpm}"; fi
done
"""


@pytest.fixture(scope="session")
def reports(oracle, payload_rpms):
    """reports(release) -> (rpmlib features it provides, payload compressors its rpm2cpio unpacks)."""
    done: dict[str, tuple[set[str], set[str]]] = {}

    def get(release: str):
        if release not in done:
            p = in_image(oracle(release), REPORT, f"{payload_rpms}:/payloads:ro")
            assert p.returncode == 0, p.stderr
            features = set(re.findall(r"rpmlib\((\w+)\)", p.stdout))
            payloads = set(re.findall(r"^unpacks (\w+)$", p.stdout, re.M))
            assert features and "gzip" in payloads, p.stdout + p.stderr
            done[release] = features, payloads
        return done[release]

    return get


@pytest.mark.parametrize("release", sorted(recipes()["release"], key=version_key))
def test_release_reports_its_payloads_consistently(reports, release):
    """The payloads rpm2cpio really unpacks are the ones the release's rpmlib() features announce."""
    features, payloads = reports(release)
    assert payloads == {"gzip"} | {PAYLOAD_FEATURES[f] for f in features if f in PAYLOAD_FEATURES}


# Incompressible and over three of preset 1's 3 MiB threaded-xz blocks: the payload is a
# stream of several blocks, as a big Go binary's is (a small one fits in one block).
_THREADED_DATA_MB = 10
THREADED = r"""
rpm -qp --qf '%{PAYLOADCOMPRESSOR} %{PAYLOADFLAGS}\n' /payload/threaded.rpm
rpm -i --nosignature /payload/threaded.rpm && echo installed
sha256sum /usr/share/pkgf-threaded/data
rpm -V pkgf-threaded && echo verified
"""


@pytest.fixture(scope="session")
def threaded_xz_rpm(tmp_path_factory) -> tuple[Path, str, str]:
    """(rpm, its payload macro, the data file's sha256): a noarch rpm whose payload is xz in the
    threads and at the level package/rpm.py uses for an xz target, written by the host's rpmbuild."""
    out = tmp_path_factory.mktemp("threaded")
    data = out / "data"
    data.write_bytes(random.Random(13).randbytes(_THREADED_DATA_MB << 20))
    # The oldest rpm release given an xz payload: CentOS 7's 4.11.3.
    xz = [p for p in PROFILES.values() if payload_for(p, host_rpmbuild()).endswith(".xzdio")]
    macro = payload_for(min(xz, key=lambda p: version_key(p.versions["rpm"])), host_rpmbuild(), DEFAULT_XZ_LEVEL)
    spec = out / "threaded.spec"
    spec.write_text(textwrap.dedent(f"""\
        Name: pkgf-threaded
        Version: 1
        Release: 1
        Summary: threaded xz payload probe
        License: MIT
        BuildArch: noarch
        %description
        One big incompressible file.
        %install
        mkdir -p %{{buildroot}}/usr/share/pkgf-threaded
        cp {data} %{{buildroot}}/usr/share/pkgf-threaded/data
        %files
        /usr/share/pkgf-threaded/data
        """))
    top = out / "top"
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", f"_binary_payload {macro}",
                    str(spec)], check=True, capture_output=True)
    (rpm,) = (top / "RPMS" / "noarch").glob("*.rpm")
    shutil.move(rpm, out / "threaded.rpm")
    return out / "threaded.rpm", macro, hashlib.sha256(data.read_bytes()).hexdigest()


def test_threaded_xz_payload_is_a_multi_block_stream(threaded_xz_rpm, tmp_path):
    """The payload package/rpm.py asks for is threaded xz ("1T2" with rpmbuild >= 4.14), and the
    rpm holds what that means: an xz stream of several blocks, which xz itself checks whole."""
    rpm, macro, _ = threaded_xz_rpm
    if version_key(host_rpmbuild()) >= (4, 14):
        assert macro == f"w{DEFAULT_XZ_LEVEL}T2.xzdio"
    header = subprocess.run(["rpm", "-qp", "--nosignature", "--qf", "%{PAYLOADCOMPRESSOR} %{PAYLOADFLAGS}", str(rpm)],
                            check=True, capture_output=True, text=True).stdout
    assert header == payload_header(macro)
    raw = rpm.read_bytes()
    payload = tmp_path / "payload.xz"
    payload.write_bytes(raw[raw.index(b"\xfd7zXZ\x00"):])  # the payload follows the headers
    listing = subprocess.run(["xz", "--robot", "--list", str(payload)], check=True, capture_output=True,
                             text=True).stdout
    (totals,) = [ln.split("\t") for ln in listing.splitlines() if ln.startswith("totals\t")]
    assert int(totals[1]) == 1 and int(totals[2]) >= _THREADED_DATA_MB // 3, listing  # streams, blocks


@pytest.mark.parametrize("release", sorted(recipes()["release"], key=version_key))
def test_threaded_xz_payload_installs_under_every_release(oracle, threaded_xz_rpm, release):
    """Each target's own rpm reads the threaded payload's header as written, installs it, and the
    file on disk is the one packed (rpm -V and sha256 agree)."""
    rpm, macro, digest = threaded_xz_rpm
    p = in_image(oracle(release), THREADED, f"{rpm.parent}:/payload:ro")
    lines = p.stdout.splitlines()
    assert lines[:1] == [payload_header(macro)], p.stdout + p.stderr
    assert "installed" in lines and "verified" in lines, p.stdout + p.stderr
    assert f"{digest}  /usr/share/pkgf-threaded/data" in lines, p.stdout + p.stderr


@pytest.mark.parametrize("target", sorted(PROFILES))
def test_profile_floors_equal_the_oracle(reports, target):
    """[packaging] rpmlib and rpm_payloads are what the target's rpm release(s) report; a target
    judged by several releases gets what all share. 'unsettled' features may be left out."""
    profile = PROFILES[target]
    features = set.intersection(*(reports(r)[0] for r in releases_of(target)))
    payloads = set.intersection(*(reports(r)[1] for r in releases_of(target)))
    open_features = unsettled(target)
    open_payloads = {PAYLOAD_FEATURES[f] for f in open_features if f in PAYLOAD_FEATURES}
    have = set(profile.packaging["rpmlib"])
    assert not have - features, f"{target} claims rpmlib features its rpm lacks: {sorted(have - features)}"
    assert not features - have - open_features, f"{target} omits features its rpm has: {sorted(features - have)}"
    allowed = set(profile.packaging["rpm_payloads"])
    assert not allowed - payloads, f"{target} allows payloads its rpm cannot unpack: {sorted(allowed - payloads)}"
    assert not payloads - allowed - open_payloads, f"{target} omits payloads its rpm unpacks: {sorted(payloads - allowed)}"


# --- the bundles -----------------------------------------------------------------------

def oracle_project(dest: Path, bins: dict[str, Path], version: str) -> Path:
    """The example for every rpm target and arch, with project scripts that log their arguments."""
    f = copy_example(dest, bins)
    for s in ("preinstall", "postinstall", "preremove", "postremove"):
        (f.parent / f"{s}.sh").write_text(f'echo "{s} $PKGF_ACTION $*" >> /calls.log\n')
    targets_line = "targets = [" + ", ".join(f'"{t}"' for t in sorted(PROFILES)) + "]"
    edit(f, ('targets = ["centos-7", "kylin-v10-sp3", "uos-v20-desktop", "debian-11", "debian-12"]', targets_line),
         ('arches = ["x86_64", "aarch64"]', "arches = [" + ", ".join(f'"{a}"' for a in bins) + "]"),
         ('postinstall = "packaging/postinstall.sh"',
          'preinstall = "preinstall.sh"\npostinstall = "postinstall.sh"\n'
          'preremove = "preremove.sh"\npostremove = "postremove.sh"'),
         ("# [[waiver]]\n# target = \"centos-7\"",
          # Upstream Go's loong64 is new-world only; the binary never runs in these tests.
          '[[waiver]]\ntarget = "*"\narch = "loongarch64"\ncode = "loongarch-world"\n'
          'reason = "packaging test: the binary is not run"\n\n'
          '[[waiver]]\ntarget = "*"\narch = "loongarch64"\ncode = "kernel-too-old"\n'
          'reason = "packaging test: the binary is not run"\n\n# [[waiver]]\n# target = "centos-7"'))
    if version == "1.1.0":
        text = f.read_text()
        start = text.index("[[changelog]]\nversion = \"1.2.0-1\"")
        end = text.index("[[changelog]]", start + 1)
        f.write_text(text[:start] + text[end:])
        edit(f, ('version = "1.2.0"', 'version = "1.1.0"'))
    else:
        with open(f.parent / "packaging" / "hello.conf", "a") as fh:
            fh.write("# new default\n")
    return f


def small_binaries(out: Path) -> dict[str, Path]:
    """A static, stripped Go program for every arch of GOARCH."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "go.mod").write_text("module example.com/small\n\ngo 1.21\n")
    (out / "main.go").write_text(SMALL_MAIN)
    bins = {}
    for arch, goarch in GOARCH.items():
        bins[arch] = out / f"hello-service-{arch}"
        env = {**os.environ, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": goarch, "GOFLAGS": "-trimpath",
               "GOTOOLCHAIN": "local", "GOPROXY": "off"}
        subprocess.run([go(), "build", "-ldflags", "-s -w", "-o", str(bins[arch]), "."], cwd=out, env=env,
                       check=True, capture_output=True)
    return bins


@pytest.fixture(scope="session")
def bundles(tmp_path_factory):
    """{"1.1.0": bundle dir, "1.2.0": bundle dir}, both signed with one key (native builds)."""
    root = tmp_path_factory.mktemp("oracle-bundles")
    bins = small_binaries(tmp_path_factory.mktemp("oracle-bins"))
    key = make_key(root / "keys")
    out = {}
    for version in ("1.1.0", "1.2.0"):
        project = oracle_project(root / f"project-{version}", bins, version)
        r = run_cli("bundle", "-c", project, "-o", root / f"out-{version}", "--keys-dir", key.home,
                    "--builder", "native", "--json")
        assert r.code == 0, r.err + r.out
        out[version] = Path(json.loads(r.out)["bundle"])
    return out


def bundled_rpm(bundle: Path, target: str, arch: str) -> Path:
    (rpm,) = (bundle / "repos" / "rpm" / target / arch).rglob("*.rpm")
    return rpm


_REPO = "{http://linux.duke.edu/metadata/repo}"
_SUFFIX = {".gz": "gz", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zck": "zck"}


@pytest.mark.parametrize("target", sorted(PROFILES))
def test_repo_metadata_uses_only_allowed_compressions(bundles, target):
    allowed = set(PROFILES[target].packaging["repo_metadata_compression"])
    for arch in PROFILES[target].arches:
        repomd = bundles["1.2.0"] / "repos" / "rpm" / target / arch / "repodata" / "repomd.xml"
        hrefs = [d.find(f"{_REPO}location").get("href") for d in ET.parse(repomd).getroot().iter(f"{_REPO}data")]
        assert {"primary", "filelists", "other"} <= {Path(h).name.split(".")[0].split("-")[-1] for h in hrefs}
        used = {_SUFFIX.get(Path(h).suffix, "none") for h in hrefs}
        assert used <= allowed, f"{repomd}: {sorted(used - allowed)} not in {sorted(allowed)}"


# --- one package's life under each release -------------------------------------------

def base_provides(workdir: Path, target: str, package: Path) -> Path:
    """A package providing the file dependencies ``package`` has on the target's base system
    (/bin/sh, useradd, ...), which the container has as files but not in its rpmdb."""
    requires = subprocess.run(["rpm", "-qp", "--nosignature", "--requires", str(package)], check=True,
                              capture_output=True, text=True).stdout.split("\n")
    paths = sorted({r.split()[0] for r in requires if r.startswith("/")})
    spec = workdir / "base.spec"
    spec.write_text("Name: pkgf-base-provides\nVersion: 1\nRelease: 1\nLicense: MIT\nBuildArch: noarch\n"
                    f"Summary: files the {target} base system has\n"
                    + "".join(f"Provides: {p}\n" for p in paths)
                    + "%description\nStands in for the base system's own packages.\n%files\n")
    top = workdir / "base-top"
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_binary_payload w9.gzdio",
                    str(spec)], check=True, capture_output=True)
    (rpm,) = (top / "RPMS" / "noarch").glob("*.rpm")
    return rpm


def _transcript(text: str) -> dict[str, tuple[int, str]]:
    steps, name, rc, lines = {}, None, 0, []
    for line in text.splitlines():
        m = re.match(r"^== (\S+) rc=(\d+)$", line)
        if m:
            if name:
                steps[name] = (rc, "\n".join(lines).strip())
            name, rc, lines = m.group(1), int(m.group(2)), []
        else:
            lines.append(line)
    if name:
        steps[name] = (rc, "\n".join(lines).strip())
    return steps


@pytest.fixture(scope="session")
def life(oracle, bundles, tmp_path_factory):
    """life(target, release, arch) -> {step: (exit status, output)} of scenario.sh, run once per case."""
    done: dict[tuple, dict] = {}

    def get(target: str, release: str, arch: str):
        case = (target, release, arch)
        if case not in done:
            work = tmp_path_factory.mktemp(f"life-{target}-{release}-{arch}")
            v1, v2 = (bundled_rpm(bundles[v], target, arch) for v in ("1.1.0", "1.2.0"))
            inputs = work / "in"
            inputs.mkdir()
            shutil.copy(bundles["1.2.0"] / "KEY.asc", inputs / "KEY.asc")
            shutil.copy(v1, inputs / "v1.rpm")
            shutil.copy(v2, inputs / "v2.rpm")
            bad = bytearray(v2.read_bytes())
            bad[-40] ^= 0x01  # inside the compressed payload
            (inputs / "bad.rpm").write_bytes(bytes(bad))
            shutil.copy(base_provides(work, target, v2), inputs / "base.rpm")
            opts = "" if arch == HOST_ARCH else "--ignorearch"
            p = subprocess.run(["podman", "run", "--rm", "--network=none", "-v", f"{inputs}:/in:ro",
                                "-v", f"{SCENARIO}:/scenario.sh:ro", oracle(release), "sh", "/scenario.sh", opts],
                               capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, p.stderr
            done[case] = _transcript(p.stdout)
            assert f"RPM version {release}" in done[case]["version"][1]
        return done[case]

    return get


def _ok(steps, name) -> str:
    rc, out = steps[name]
    assert rc == 0, f"{name} failed (exit {rc}):\n{out}"
    return out


@pytest.mark.parametrize("target,release,arch", CASES, ids=CASE_IDS)
def test_signature(life, target, release, arch):
    """rpmkeys --checksig passes with only KEY.asc imported, fails without it and on a changed payload."""
    steps = life(target, release, arch)
    rc, out = steps["checksig-nokey"]
    assert rc != 0 and re.search(r"NOKEY|MISSING KEYS", out), out
    for name in ("checksig", "checksig-v1"):
        out = _ok(steps, name)
        assert not re.search(r"NOKEY|NOT OK|BAD", out), out
        assert re.search(r"Header V4 RSA/SHA256 Signature, key ID \w+: OK", out), out
        if PROFILES[target].packaging["rpm_signature"] == "v3":
            # rpm 4.11 covers the payload with the v3 header+payload signature only.
            assert re.search(r"^\s*V4 RSA/SHA256 Signature, key ID \w+: OK", out, re.M), out
    rc, out = steps["checksig-tampered"]
    assert rc != 0 and re.search(r"BAD|NOT OK", out), out


@pytest.mark.parametrize("target,release,arch", CASES, ids=CASE_IDS)
def test_payload_and_rpmlib_requires(life, reports, target, release, arch):
    """What the package needs of rpm is what the profile allows, and the release has it."""
    steps = life(target, release, arch)
    profile = PROFILES[target]
    features, payloads = reports(release)
    header = _ok(steps, "payload")
    compressor = header.split()[0]
    assert compressor in profile.packaging["rpm_payloads"] and compressor in payloads
    # The payload is what package/rpm.py chose for the builder's rpmbuild (this host's: the
    # bundles are built natively), as the release itself reads the header: "xz 1T2" where
    # both rpms take threaded xz (the install tests then install it).
    macro = payload_for(profile, host_rpmbuild(), DEFAULT_XZ_LEVEL)
    assert header == payload_header(macro)
    if compressor == "xz" and version_key(host_rpmbuild()) >= (4, 14):
        assert header == f"xz {DEFAULT_XZ_LEVEL}T2"
    needed = set(re.findall(r"^rpmlib\((\w+)\)", _ok(steps, "requires"), re.M))
    assert needed and needed <= set(profile.packaging["rpmlib"]) and needed <= features


INSTALL_CALLS = ["preinstall install 1", "postinstall install 1",
                 "systemctl --no-reload enable hello-service.service", "systemctl daemon-reload",
                 "systemctl start hello-service.service"]
UPGRADE_CALLS = ["preinstall upgrade 2", "postinstall upgrade 2", "systemctl daemon-reload",
                 "preremove upgrade 1", "systemctl daemon-reload", "systemctl try-restart hello-service.service",
                 "postremove upgrade 1"]
ERASE_CALLS = ["preremove remove 0", "systemctl --no-reload disable hello-service.service",
               "systemctl stop hello-service.service", "systemctl daemon-reload", "postremove remove 0"]
FILES = ["640 root hello /etc/hello-service/hello.conf", "755 root root /etc/hello-service",
         "750 hello hello /var/lib/hello-service", "755 root root /usr/bin/hello-service",
         "644 root root /usr/lib/systemd/system/hello-service.service", "../bin/hello-service"]


@pytest.mark.parametrize("target,release,arch", CASES, ids=CASE_IDS)
def test_install(life, target, release, arch):
    """Into the container's own rpmdb, real scriptlets: the user exists, files have their owners and
    modes, and the calls are docs/project-file.md's "first install" row."""
    steps = life(target, release, arch)
    _ok(steps, "base")
    _ok(steps, "install")
    assert _ok(steps, "install-calls").splitlines() == INSTALL_CALLS
    assert _ok(steps, "install-files").splitlines() == FILES
    assert _ok(steps, "install-user").startswith("hello:x:")
    assert ":/var/lib/hello-service:/usr/sbin/nologin" in _ok(steps, "install-user")
    assert _ok(steps, "install-group").startswith("hello:x:")
    assert _ok(steps, "install-query").startswith("hello-service-1.1.0-1")


@pytest.mark.parametrize("target,release,arch", CASES, ids=CASE_IDS)
def test_upgrade(life, target, release, arch):
    """1.1.0 -> 1.2.0: the $1 counts and calls of the "upgrade" row; %config(noreplace) kept."""
    steps = life(target, release, arch)
    _ok(steps, "upgrade")
    assert _ok(steps, "upgrade-calls").splitlines() == UPGRADE_CALLS
    assert _ok(steps, "upgrade-files").splitlines() == FILES
    assert "greeting=local" in _ok(steps, "upgrade-conf")
    assert "# new default" in _ok(steps, "upgrade-rpmnew")
    assert _ok(steps, "upgrade-query").startswith("hello-service-1.2.0-1")


@pytest.mark.parametrize("target,release,arch", CASES, ids=CASE_IDS)
def test_erase(life, target, release, arch):
    """Erased cleanly: the "removal" row's calls, no file left but the changed config (.rpmsave)."""
    steps = life(target, release, arch)
    _ok(steps, "erase")
    assert _ok(steps, "erase-calls").splitlines() == ERASE_CALLS
    assert _ok(steps, "erase-files").splitlines() == [
        "missing /etc/hello-service/hello.conf", "755 root root /etc/hello-service", "missing /var/lib/hello-service",
        "missing /usr/bin/hello-service", "missing /usr/lib/systemd/system/hello-service.service",
        "missing /usr/sbin/hello-service"]
    assert "greeting=local" in _ok(steps, "erase-rpmsave")
    assert sorted(_ok(steps, "erase-query").split()) == ["gpg-pubkey", "pkgf-base-provides"]
    assert _ok(steps, "erase-user").startswith("hello:x:")  # accounts are never removed
