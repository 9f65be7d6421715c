"""Signed yum and apt repositories, read by a real dnf and a real Debian 11 apt."""

from __future__ import annotations

import gzip
import hashlib
import lzma
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pkgfactory import targets
from pkgfactory.errors import InputError
from pkgfactory.repo import make_apt_repo, make_yum_repo
from pkgfactory.sign import Signer, rpm_check, verify_clearsigned, verify_detached
from signing_helpers import PASSPHRASE, build_deb, build_rpm, host_deb_arch, kill_agent, make_key

EPOCH = 1700000000  # 2023-11-14 22:13:20 UTC
NS = "{http://linux.duke.edu/metadata/repo}"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    made = {"main": make_key(root / "main", passphrase=PASSPHRASE),
            "other": make_key(root / "other", name="someone else", email="else@example.com")}
    yield made
    for k in made.values():
        kill_agent(k.home)


@pytest.fixture(scope="module")
def signer(keys):
    with Signer(keys["main"].home, passphrase=PASSPHRASE) as s:
        yield s


@pytest.fixture(scope="module")
def other_signer(keys):
    with Signer(keys["other"].home) as s:
        yield s


@pytest.fixture(scope="module")
def signed_rpm(tmp_path_factory, signer):
    rpm = build_rpm(tmp_path_factory.mktemp("rpm"))
    signer.sign_rpms([rpm], v3=True)
    return rpm


@pytest.fixture(scope="module")
def pubkeys(tmp_path_factory, keys):
    d = tmp_path_factory.mktemp("pub")
    return {"asc": keys["main"].public(d / "KEY.asc"), "gpg": keys["main"].public(d / "KEY.gpg", armor=False),
            "other_asc": keys["other"].public(d / "OTHER.asc")}


# -- yum ---------------------------------------------------------------------

def test_yum_repo_old_yum_can_read(tmp_path, signer, signed_rpm, pubkeys):
    repo = tmp_path / "repo"
    repomd = make_yum_repo(repo, [signed_rpm], targets.get("centos-7"), tmp_path / "repo.log", signer=signer,
                           epoch=EPOCH)
    assert repomd == repo / "repodata" / "repomd.xml"
    root = ET.parse(repomd).getroot()
    assert root.find(f"{NS}revision").text == str(EPOCH)
    kinds = {}
    for data in root.iter(f"{NS}data"):
        href = data.find(f"{NS}location").get("href")
        assert href.endswith((".xml.gz", ".sqlite.gz")), href  # no zstd, no bz2 for EL7's yum
        assert data.find(f"{NS}checksum").get("type") == "sha256"
        assert data.find(f"{NS}timestamp").text == str(EPOCH)
        kinds[data.get("type")] = href
    assert {"primary", "filelists", "other", "primary_db"} <= set(kinds)
    assert verify_detached(repomd, repomd.with_name("repomd.xml.asc"), pubkeys["asc"]) == signer.fingerprint
    assert all(r.ok for r in rpm_check(repo.glob("Packages/*.rpm"), pubkeys["asc"]))


def test_yum_metadata_is_reproducible(tmp_path, signer, signed_rpm):
    def primary(d):
        make_yum_repo(d, [signed_rpm], targets.get("kylin-v10-sp3"), None, signer=signer, epoch=EPOCH)
        root = ET.parse(d / "repodata" / "repomd.xml").getroot()
        return {x.get("type"): x.find(f"{NS}checksum").text for x in root.iter(f"{NS}data")
                if not x.get("type").endswith("_db")}
    assert primary(tmp_path / "a") == primary(tmp_path / "b")


def dnf_install(repo: Path, gpgkey: Path, work: Path, package: str) -> subprocess.CompletedProcess:
    """Real dnf, gpgcheck and repo_gpgcheck on, only our repo, into an installroot."""
    work.mkdir()
    conf = work / "dnf.conf"
    conf.write_text(f"""[main]
gpgcheck=1
repo_gpgcheck=1
reposdir={work}/no-repos.d
cachedir={work}/cache
install_weak_deps=False
keepcache=False

[pkgf]
name=pkgfactory test
baseurl=file://{repo}
gpgkey=file://{gpgkey}
enabled=1
gpgcheck=1
repo_gpgcheck=1
""")
    try:
        return subprocess.run(["dnf", "-y", "-c", str(conf), f"--installroot={work}/root", "--releasever=7",
                               f"--setopt=reposdir={work}/no-repos.d", f"--setopt=cachedir={work}/cache",
                               "--nodocs", "install", package], capture_output=True, text=True)
    finally:
        # librepo checks repomd.xml.asc with gpgme, which leaves an agent per repo cache.
        for home in (work / "cache").glob("*/pubring"):
            kill_agent(home)


def test_dnf_installs_from_the_signed_repo(tmp_path, signer, signed_rpm, pubkeys):
    repo = tmp_path / "repo"
    make_yum_repo(repo, [signed_rpm], targets.get("centos-7"), None, signer=signer, epoch=EPOCH)
    proc = dnf_install(repo, pubkeys["asc"], tmp_path / "dnf", "pkgf-tiny")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "dnf" / "root" / "usr/share/pkgf-tiny/hello.txt").read_text() == "hello\n"


def test_dnf_refuses_a_changed_repomd(tmp_path, signer, signed_rpm, pubkeys):
    repo = tmp_path / "repo"
    repomd = make_yum_repo(repo, [signed_rpm], targets.get("centos-7"), None, signer=signer, epoch=EPOCH)
    repomd.write_text(repomd.read_text().replace(f"<revision>{EPOCH}", f"<revision>{EPOCH + 1}"))
    proc = dnf_install(repo, pubkeys["asc"], tmp_path / "dnf", "pkgf-tiny")
    assert proc.returncode != 0
    assert not (tmp_path / "dnf" / "root" / "usr/share/pkgf-tiny").exists()


def test_dnf_refuses_a_repo_signed_by_another_key(tmp_path, other_signer, signed_rpm, pubkeys):
    repo = tmp_path / "repo"
    make_yum_repo(repo, [signed_rpm], targets.get("centos-7"), None, signer=other_signer, epoch=EPOCH)
    proc = dnf_install(repo, pubkeys["asc"], tmp_path / "dnf", "pkgf-tiny")
    assert proc.returncode != 0
    assert not (tmp_path / "dnf" / "root" / "usr/share/pkgf-tiny").exists()


def test_yum_repo_bad_input(tmp_path, signer, signed_rpm):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old").write_text("x")
    cases = [
        (dict(repo_dir=tmp_path / "full"), "is not empty"),
        (dict(rpm_paths=[tmp_path / "missing.rpm"]), "no such file"),
        (dict(rpm_paths=[]), "no .rpm files"),
        (dict(rpm_paths=[signed_rpm, signed_rpm]), "same file name"),
        (dict(profile=targets.get("debian-11")), "needs an apt repository"),
    ]
    for override, message in cases:
        args = dict(repo_dir=tmp_path / "r", rpm_paths=[signed_rpm], profile=targets.get("centos-7"))
        args.update(override)
        with pytest.raises(InputError, match=message):
            make_yum_repo(args["repo_dir"], args["rpm_paths"], args["profile"], None, signer=signer)


# -- apt ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    d = tmp_path_factory.mktemp("debs")
    arch = host_deb_arch()
    return {"hello": build_deb(d, "pkgf-hello", "1:1.0-1", arch),
            "libdata": build_deb(d, "libpkgf-data", "2.0-1", "all"),
            "foreign": build_deb(d, "pkgf-foreign", "1.0-1", "s390x" if arch != "s390x" else "amd64")}


def apt_repo(root: Path, signer, debs, *, suite="pkgf") -> Path:
    # The profile's name for this machine's arch (x86_64), as the bundle passes it.
    return make_apt_repo(root, suite, [debs["hello"], debs["libdata"]], [host_deb_arch()], None,
                         signer=signer, date=EPOCH)


def test_apt_repo_layout_and_hash_chain(tmp_path, signer, debs, pubkeys):
    root = tmp_path / "apt"
    dist = apt_repo(root, signer, debs)
    arch = host_deb_arch()
    assert dist == root / "dists" / "pkgf"
    assert (root / "pool/main/p/pkgf-hello" / f"pkgf-hello_1.0-1_{arch}.deb").is_file()  # no epoch in the name
    assert (root / "pool/main/libp/libpkgf-data/libpkgf-data_2.0-1_all.deb").is_file()
    plain = tmp_path / "Release.signed"
    assert verify_clearsigned(dist / "InRelease", pubkeys["asc"], output=plain) == signer.fingerprint
    assert verify_detached(dist / "Release", dist / "Release.gpg", pubkeys["gpg"]) == signer.fingerprint
    release = plain.read_text()
    assert release == (dist / "Release").read_text()
    fields = dict(re.findall(r"^(\w[\w-]*): (.+)$", release, re.M))
    assert fields["Date"] == "Tue, 14 Nov 2023 22:13:20 UTC"
    assert (fields["Suite"], fields["Codename"], fields["Components"], fields["Architectures"]) == \
           ("pkgf", "pkgf", "main", arch)
    for section in ("MD5Sum:", "SHA1:", "SHA256:"):
        assert f"\n{section}\n" in release
    # Release -> Packages(.gz|.xz) -> .deb, each by SHA256.
    sha256 = release.split("\nSHA256:\n")[1].split("\nSHA512:")[0]
    listed = {line.split()[2]: (line.split()[0], int(line.split()[1])) for line in sha256.strip().splitlines()}
    binary = dist / "main" / f"binary-{arch}"
    for name in ("Packages", "Packages.gz", "Packages.xz"):
        data = (binary / name).read_bytes()
        assert listed[f"main/binary-{arch}/{name}"] == (hashlib.sha256(data).hexdigest(), len(data))
    packages = (binary / "Packages").read_bytes()
    assert gzip.decompress((binary / "Packages.gz").read_bytes()) == packages
    assert lzma.decompress((binary / "Packages.xz").read_bytes()) == packages
    stanzas = [dict(re.findall(r"^(\w[\w-]*): (.+)$", s, re.M)) for s in packages.decode().strip().split("\n\n")]
    assert {s["Package"] for s in stanzas} == {"pkgf-hello", "libpkgf-data"}
    for s in stanzas:
        deb = (root / s["Filename"]).read_bytes()
        assert s["SHA256"] == hashlib.sha256(deb).hexdigest() and int(s["Size"]) == len(deb)


def test_apt_repo_is_reproducible(tmp_path, signer, debs):
    a, b = apt_repo(tmp_path / "a", signer, debs), apt_repo(tmp_path / "b", signer, debs)
    assert (a / "Release").read_bytes() == (b / "Release").read_bytes()


def test_apt_repo_bad_input(tmp_path, signer, debs):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    not_deb = tmp_path / "fake.deb"
    not_deb.write_text("not a deb")
    cases = [
        (dict(root=tmp_path / "full"), "is not empty"),
        (dict(suite="bad suite"), "suite 'bad suite'"),
        (dict(suite="../x"), "suite '../x'"),
        (dict(debs=[debs["foreign"]]), "is not one of this repository's"),
        (dict(debs=[not_deb]), "not a readable .deb"),
        (dict(debs=[debs["hello"], tmp_path / "nope.deb"]), "no such file"),
        (dict(arches=[]), "no architectures"),
        (dict(arches=["x86 64"]), "not a dpkg architecture"),
    ]
    for override, message in cases:
        args = dict(root=tmp_path / "r", suite="pkgf", debs=[debs["hello"]], arches=[host_deb_arch()])
        args.update(override)
        with pytest.raises(InputError, match=re.escape(message)):
            make_apt_repo(args["root"], args["suite"], args["debs"], args["arches"], None, signer=signer, date=EPOCH)


APT_SCRIPT = """
set -e
rm -f /etc/apt/sources.list.d/*
echo 'deb [signed-by=/repo/KEY.gpg] file:/repo pkgf main' > /etc/apt/sources.list
apt-get update
apt-get install -y --no-install-recommends pkgf-hello
pkgf-hello
"""


def run_apt(debian_image, repo: Path, script: str = APT_SCRIPT) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", "run", "--rm", "--network=none", "-v", f"{repo}:/repo:ro",
                           debian_image("11"), "sh", "-c", script], capture_output=True, text=True, timeout=300)


@pytest.fixture
def served_repo(tmp_path, signer, debs, pubkeys):
    root = tmp_path / "apt"
    apt_repo(root, signer, debs)
    # What the bundle ships for apt 2.2's signed-by=: a binary keyring.
    shutil.copyfile(pubkeys["gpg"], root / "KEY.gpg")
    return root


@pytest.mark.container
def test_debian_11_apt_installs_from_the_signed_repo(debian_image, served_repo):
    proc = run_apt(debian_image, served_repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("pkgf-hello-works")


@pytest.mark.container
def test_debian_11_apt_refuses_changed_packages(debian_image, served_repo):
    binary = next((served_repo / "dists/pkgf/main").glob("binary-*"))
    packages = (binary / "Packages").read_bytes().replace(b"Prints a marker.", b"Prints a markeR.")
    (binary / "Packages").write_bytes(packages)
    (binary / "Packages.gz").write_bytes(gzip.compress(packages))
    (binary / "Packages.xz").write_bytes(lzma.compress(packages))
    proc = run_apt(debian_image, served_repo)
    assert proc.returncode != 0
    assert "Hash Sum mismatch" in proc.stdout + proc.stderr
    assert "pkgf-hello-works" not in proc.stdout


@pytest.mark.container
def test_debian_11_apt_refuses_a_release_signed_by_another_key(debian_image, served_repo, other_signer):
    dist = served_repo / "dists/pkgf"
    other_signer.clearsign(dist / "Release", dist / "InRelease")
    other_signer.detach_sign(dist / "Release", armor=True, out=dist / "Release.gpg")
    proc = run_apt(debian_image, served_repo)
    assert proc.returncode != 0
    assert "NO_PUBKEY" in proc.stdout + proc.stderr or "not signed" in proc.stdout + proc.stderr
    assert "pkgf-hello-works" not in proc.stdout
