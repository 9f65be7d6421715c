"""`pkgfactory bundle` end to end and `pkgfactory verify` against tampering.

One bundle (debian-11, debian-12, centos-7, kylin-v10-sp3; x86_64) is made from the
example's Go source ([go]: compiled first) with a passphrase-protected key; it is
installed for real in a Debian 11 container with no network, read by dnf, then
copied and tampered with, file kind by file kind.
"""

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from fixtures_go import run_cli
from hello_example import copy_example_source
from hostpaths_check import host_places, leaks
from signing_helpers import PASSPHRASE, kill_agent, make_key

pytestmark = pytest.mark.container

TARGETS = ["debian-11", "debian-12", "centos-7", "kylin-v10-sp3"]


@pytest.fixture(scope="module")
def made(tmp_path_factory, container_engine):
    assert run_cli("builder", "create").code == 0
    root = tmp_path_factory.mktemp("bundle")
    project = copy_example_source(root / "project")
    key = make_key(root / "keys", passphrase=PASSPHRASE)
    pfile = root / "passphrase"
    pfile.write_text(PASSPHRASE + "\n")
    env = dict(os.environ, PKGF_GPG_PASSPHRASE_FILE=str(pfile))
    args = ["bundle", "-c", project, "-o", root / "out", "--keys-dir", key.home, "--arch", "x86_64", "--json"]
    for t in TARGETS:
        args += ["--target", t]
    r = run_cli(*args, env=env)
    assert r.code == 0, r.err + r.out
    doc = json.loads(r.out)
    return root, Path(doc["bundle"]), key, doc


def test_layout_and_archive(made):
    root, bundle, key, doc = made
    assert bundle == root / "out" / "hello-service-1.2.0"
    for name in ("install.sh", "README.txt", "KEY.asc", "KEY.gpg", "KEY.fingerprint", "manifest.json",
                 "SHA256SUMS", "SHA256SUMS.asc"):
        assert (bundle / name).is_file(), name
    assert (bundle / "KEY.fingerprint").read_text().strip() == key.fingerprint
    for t in ("centos-7", "kylin-v10-sp3"):
        assert (bundle / "repos/rpm" / t / "x86_64/repodata/repomd.xml.asc").is_file()
    for t in ("debian-11", "debian-12"):
        assert (bundle / "repos/deb" / t / "dists" / t / "InRelease").is_file()
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["key"]["fingerprint"] == key.fingerprint
    assert sorted(manifest["targets"]) == sorted(TARGETS)
    assert {p["format"] for p in manifest["packages"]} == {"rpm", "deb"}
    (compiled,) = json.loads((bundle / "reports" / "build-report.json").read_text())["compile"]["binaries"]
    assert compiled["arch"] == "x86_64" and sorted(compiled["targets"]) == sorted(TARGETS) and not compiled["cgo"]
    sbom = json.loads((bundle / "sbom" / "hello-service-x86_64.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert key.fingerprint in (bundle / "reports/index.html").read_text()  # tests/test_bundle_page.py reads it
    readme = (bundle / "README.txt").read_text()
    assert key.fingerprint in readme and "安装" in readme and "Install" in readme
    with tarfile.open(root / "out" / "hello-service-1.2.0.tar") as tar:
        names = tar.getnames()
    assert "hello-service-1.2.0/install.sh" in names and "hello-service-1.2.0/SHA256SUMS.asc" in names
    assert not [p for p in (root / "out").iterdir() if p.name.startswith(".hello-service")]
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=bundle, check=True)
    # The example binary is static: install.sh asks for no glibc on any target (none below any floor).
    script = (bundle / "install.sh").read_text()
    assert script.count("A_NEED=''") == len(manifest["packages"]) and "A_NEED='2" not in script


def test_no_build_host_paths_from_the_compile_stage(made):
    """The compile report (toolchain, module, compiled binaries in the cache) names no build-host place."""
    root, bundle, _, _ = made
    assert not leaks(bundle, host_places(root))
    compiled = json.loads((bundle / "reports" / "build-report.json").read_text())["compile"]
    assert compiled["project_file"] == "pkgfactory.toml" and compiled["module"]["dir"] == "."


def test_page_says_how_the_binaries_were_compiled(made):
    """reports/index.html has the compile stage's facts per binary and arch, from the delivered report."""
    _, bundle, _, _ = made
    compiled = json.loads((bundle / "reports" / "build-report.json").read_text())["compile"]
    (rec,) = compiled["binaries"]
    page = (bundle / "reports" / "index.html").read_text()
    section = page.split('<section id="compiled">', 1)[1].split("</section>", 1)[0]
    for fact in ("example.com/hello-service", "/usr/bin/hello-service", "./cmd/hello-service", rec["go_version"],
                 "GOARCH=amd64 GOAMD64=v1", "static (CGO_ENABLED=0)", "2.17 (centos-7)", "3.10.0-1160 (centos-7)",
                 ", ".join(rec["targets"])):
        assert fact in section, fact


def test_verify_passes_and_checks_the_fingerprint(made):
    _, bundle, key, _ = made
    r = run_cli("verify", bundle, "--fingerprint", key.fingerprint, "--json")
    assert r.code == 0, r.out
    doc = json.loads(r.out)
    assert doc["ok"] and doc["fingerprint"] == key.fingerprint and not doc["warnings"]
    assert doc["counts"]["rpm_signatures_ok"] == 2 and doc["counts"]["debs_proven_by_apt_index"] == 2
    # Consistent, but whose key signed it is not established: not a pass.
    r = run_cli("verify", bundle)
    assert r.code == 3 and "WARNING" in r.out and "no --fingerprint" in r.out and "ORIGIN NOT ESTABLISHED" in r.out
    r = run_cli("verify", bundle, "--fingerprint", "0" * 40)
    assert r.code == 1 and "not the expected" in r.out


def test_rpms_carry_signatures_old_rpm_can_check(made):
    _, bundle, _, _ = made
    (rpm,) = (bundle / "repos/rpm/centos-7/x86_64").rglob("*.rpm")
    sigs = subprocess.run(["rpm", "-qp", "--qf", "%{RSAHEADER:pgpsig}|%{SIGPGP:pgpsig}", str(rpm)],
                          capture_output=True, text=True).stdout
    header, v3 = sigs.split("|")
    assert "RSA/SHA256" in header and "RSA/SHA256" in v3  # v3 header+payload signature for rpm 4.11


INSTALL = r"""
set -u
sh /bundle/install.sh --yes --lang en > /tmp/first.log 2>&1; echo "first=$?"
/usr/bin/hello-service -version
sh /bundle/install.sh --yes --lang en > /tmp/second.log 2>&1; echo "second=$?"
ls /etc/apt/sources.list.d/ | wc -l
sh /bundle/install.sh --uninstall --yes --lang en > /tmp/un.log 2>&1; echo "uninstall=$?"
test -e /usr/bin/hello-service || echo gone
grep -c 'signature\|Signature' /tmp/first.log
"""


def test_install_sh_in_debian11_without_network(made, debian_image):
    _, bundle, _, _ = made
    p = subprocess.run(["podman", "run", "--rm", "--network=none", "-v", f"{bundle}:/bundle:ro",
                        debian_image("11"), "sh", "-c", INSTALL], capture_output=True, text=True, timeout=300)
    out = p.stdout
    assert "first=0" in out, out + p.stderr
    assert "hello-service 1.2.0" in out
    assert "second=0" in out
    assert "\n0\n" in out  # the temporary apt source is gone again
    assert "uninstall=0" in out and "gone" in out


def test_dnf_reads_the_rpm_repo_with_gpgcheck(made, tmp_path):
    _, bundle, _, _ = made
    repo = bundle / "repos/rpm/kylin-v10-sp3/x86_64"
    conf = tmp_path / "dnf.conf"
    conf.write_text(f"""[main]
reposdir=/dev/null
cachedir={tmp_path}/cache
gpgcheck=1
repo_gpgcheck=1

[bundle]
name=bundle
baseurl=file://{repo}
gpgkey=file://{bundle}/KEY.asc
""")
    p = subprocess.run(["dnf", "-y", "-c", str(conf), f"--installroot={tmp_path}/root", "--releasever=10",
                        "--setopt=install_weak_deps=False", "--nodocs", "install", "hello-service"],
                       capture_output=True, text=True, timeout=300)
    # The installroot has no /bin/sh or shadow-utils: dnf resolves them from no repo, so it must
    # fail on those dependencies only after having read and trusted the signed metadata.
    text = p.stdout + p.stderr
    assert "hello-service" in text, text
    listing = subprocess.run(["dnf", "-c", str(conf), f"--installroot={tmp_path}/root", "--releasever=10",
                              "repoquery", "--qf", "%{name} %{version} %{arch}", "hello-service"],
                             capture_output=True, text=True, timeout=300)
    # dnf starts a gpg-agent per repo cache to check repomd.xml.asc; stop them with the test.
    for home in tmp_path.glob("cache/**/pubring.kbx"):
        subprocess.run(["gpgconf", "--homedir", str(home.parent), "--kill", "all"], capture_output=True)
    assert "hello-service 1.2.0 x86_64" in listing.stdout, listing.stdout + listing.stderr


def _flip(path: Path, offset: int = -40):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


TAMPER = {
    "rpm": lambda b: next((b / "repos/rpm/centos-7/x86_64").rglob("*.rpm")),
    "deb": lambda b: next((b / "repos/deb/debian-11").rglob("*.deb")),
    "Packages": lambda b: b / "repos/deb/debian-11/dists/debian-11/main/binary-amd64/Packages",
    "Release": lambda b: b / "repos/deb/debian-12/dists/debian-12/Release",
    "repomd.xml": lambda b: b / "repos/rpm/kylin-v10-sp3/x86_64/repodata/repomd.xml",
    "manifest.json": lambda b: b / "manifest.json",
    "SHA256SUMS": lambda b: b / "SHA256SUMS",
    "install.sh": lambda b: b / "install.sh",
    "sbom": lambda b: b / "sbom/hello-service-x86_64.cdx.json",
}


@pytest.fixture
def copy(made, tmp_path):
    _, bundle, key, _ = made
    dest = tmp_path / "b"
    shutil.copytree(bundle, dest)
    return dest, key


def _install_sh_refuses(bundle: Path):
    # install.sh lives in the bundle; for the install.sh case run the pristine one on the tampered tree.
    p = subprocess.run(["sh", str(bundle / "install.sh"), "--check-only", "--lang", "en"], capture_output=True,
                       text=True, timeout=120)
    return p.returncode


@pytest.mark.parametrize("kind", sorted(TAMPER))
def test_tampering_is_caught_by_verify_and_install_sh(copy, kind):
    bundle, key = copy
    target = TAMPER[kind](bundle)
    rel = target.relative_to(bundle).as_posix()
    # install.sh: a byte of its header comment, so it still parses and its own check must catch it (the
    # shell reads the whole script before running it: a flip that breaks the syntax runs nothing at all).
    offset = {"install.sh": 60}.get(kind, -2 if kind in ("SHA256SUMS", "manifest.json", "Packages", "Release") else -40)
    _flip(target, offset)
    r = run_cli("verify", bundle, "--fingerprint", key.fingerprint, "--json")
    assert r.code == 1, kind
    doc = json.loads(r.out)
    files = {p["file"] for p in doc["problems"]}
    named = rel if kind != "SHA256SUMS" else "SHA256SUMS.asc"
    assert named in files, (kind, doc["problems"])
    assert _install_sh_refuses(bundle) == 3, kind


def test_unlisted_file_and_foreign_key(copy, tmp_path):
    bundle, key = copy
    (bundle / "repos" / "extra.rpm").write_bytes(b"not really")
    r = run_cli("verify", bundle, "--fingerprint", key.fingerprint, "--json")
    assert r.code == 1
    assert any(p["file"] == "repos/extra.rpm" for p in json.loads(r.out)["problems"])
    assert _install_sh_refuses(bundle) == 3
    (bundle / "repos" / "extra.rpm").unlink()
    other = make_key(tmp_path / "other", name="someone else", email="x@example.com")
    other.public(bundle / "KEY.asc")
    other.public(bundle / "KEY.gpg", armor=False)
    r = run_cli("verify", bundle, "--fingerprint", key.fingerprint, "--json")
    assert r.code == 1
    assert "KEY.asc" in {p["file"] for p in json.loads(r.out)["problems"]}
    assert _install_sh_refuses(bundle) == 3


def test_untampered_copy_passes_install_sh_check(copy):
    bundle, _ = copy
    p = subprocess.run(["sh", str(bundle / "install.sh"), "--check-only", "--lang", "en"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr  # this host is Debian 12, one of the bundle's targets


def test_no_secret_in_output_tree_logs_or_reports(made):
    root, bundle, key, _ = made
    secret = subprocess.run(["gpg", "--homedir", str(key.home), "--batch", "--pinentry-mode", "loopback",
                             "--passphrase-fd", "0", "--export-secret-keys", "--armor", key.fingerprint],
                            input=PASSPHRASE + "\n", capture_output=True, text=True, check=True).stdout
    public = (bundle / "KEY.asc").read_text()
    # The secret key packet repeats the public key first; only lines unique to the export are secret.
    body = [ln for ln in secret.splitlines()
            if len(ln) >= 60 and not ln.startswith("-----") and ln not in public]
    assert len(body) > 20
    needles = [PASSPHRASE.encode(), b"PRIVATE KEY BLOCK"] + [ln.encode() for ln in body[5:-5]]
    scanned = 0
    for path in (root / "out").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned += 1
            for n in needles:
                assert n not in data, f"secret material in {path}"
    assert scanned > 50


def _bundle_again(made, out: Path, *extra: str, env=None) -> dict:
    root, _, key, _ = made
    args = ["bundle", "-c", root / "project" / "pkgfactory.toml", "-o", out, "--keys-dir", key.home,
            "--arch", "x86_64", "--json", *extra]
    for t in TARGETS:
        args += ["--target", t]
    r = run_cli(*args, env=dict(os.environ, PKGF_GPG_PASSPHRASE_FILE=str(root / "passphrase"), **(env or {})))
    assert r.code == 0, r.err + r.out
    return json.loads(r.out)


def _files(bundle: Path) -> dict[str, bytes]:
    return {p.relative_to(bundle).as_posix(): p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file()}


def test_a_second_bundle_is_the_first_one_from_the_bundle_cache(made, tmp_path):
    """Same inputs (here a project compiled from Go source), new output directory: the first bundle
    and its tar, byte for byte, with nothing compiled, built or signed (tests/test_bundle_reuse.py
    has the misses and the damaged entries)."""
    _, bundle, key, first = made
    doc = _bundle_again(made, tmp_path / "out")
    assert doc["reused"] is not None and doc["signatures"] == {"made": 0, "reused": 0}
    assert _files(Path(doc["bundle"])) == _files(bundle)
    assert Path(doc["archive"]).read_bytes() == Path(first["archive"]).read_bytes()
    assert all(c["cache"] == "hit" for c in doc["build"]["compile"]["binaries"])
    assert verify_cli_ok(Path(doc["bundle"]), key.fingerprint)


def test_a_second_bundle_without_the_bundle_cache_signs_only_sha256sums_and_is_otherwise_identical(made, tmp_path):
    """Same inputs, new output directory, the bundle made again (an empty bundle cache): no package
    build, every signature but SHA256SUMS's taken (verified) from the signature cache, and the bundle
    byte for byte the first one apart from what records this run (manifest.json's "created", the
    build report's timings and cache use) and the SHA256SUMS lines and signature that follow from
    them. --no-cache signs everything."""
    _, bundle, key, first = made
    doc = _bundle_again(made, tmp_path / "out", env={"PKGF_BUNDLE_CACHE": str(tmp_path / "no-bundles")})
    assert all(r["from_cache"] for r in doc["build"]["results"])
    signatures = len(list(bundle.rglob("repomd.xml.asc"))) + 2 * len(list(bundle.rglob("InRelease"))) + \
        len(list(bundle.rglob("*.rpm"))) + 1
    assert doc["signatures"] == {"made": 1, "reused": signatures - 1}
    assert first["signatures"]["made"] + first["signatures"]["reused"] == signatures
    again = Path(doc["bundle"])
    a, b = _files(bundle), _files(again)
    assert sorted(a) == sorted(b)
    differ = sorted(f for f in a if a[f] != b[f])
    assert set(differ) <= {"SHA256SUMS", "SHA256SUMS.asc", "manifest.json", "reports/build-report.json"}
    assert "SHA256SUMS.asc" in differ
    ma, mb = json.loads(a["manifest.json"]), json.loads(b["manifest.json"])
    assert {k for k in ma if ma[k] != mb[k]} <= {"created", "files"}
    changed = [fa["path"] for fa, fb in zip(ma["files"], mb["files"], strict=True) if fa != fb]
    assert set(changed) <= {"reports/build-report.json"}
    sums_a, sums_b = a["SHA256SUMS"].decode().splitlines(), b["SHA256SUMS"].decode().splitlines()
    assert {ln.split()[1] for ln in set(sums_a) ^ set(sums_b)} <= {"manifest.json", "reports/build-report.json"}
    assert verify_cli_ok(again, key.fingerprint)
    fresh = _bundle_again(made, tmp_path / "fresh", "--no-cache")
    assert fresh["signatures"] == {"made": signatures, "reused": 0}


def verify_cli_ok(bundle: Path, fingerprint: str) -> bool:
    r = run_cli("verify", bundle, "--fingerprint", fingerprint, "--json")
    return r.code == 0 and json.loads(r.out)["ok"]


def test_missing_key_fails_before_building(tmp_path, made):
    root, _, _, _ = made
    r = run_cli("bundle", "-c", root / "project" / "pkgfactory.toml", "-o", tmp_path / "out",
                "--keys-dir", tmp_path / "nokeys")
    assert r.code == 2, r
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert not (tmp_path / "out" / "debian-11").exists()


def test_user_target_profiles_reach_the_installer(tmp_path, made):
    """A site profile from --targets-dir (here: a new id, and an override of a built-in id)
    is what the packages, the repositories and install.sh are made for."""
    root, _, _, _ = made
    builtin = (Path(__file__).parent.parent / "pkgfactory/targets/profiles/debian-12.toml").read_text()
    site = tmp_path / "site"
    site.mkdir()
    (site / "site-deb12.toml").write_text(builtin.replace('id = "debian-12"', 'id = "site-deb12"', 1))
    d11 = (Path(__file__).parent.parent / "pkgfactory/targets/profiles/debian-11.toml").read_text()
    (site / "debian-11.toml").write_text(re.sub(r'(?m)^name = ".*"$', 'name = "Debian 11 as probed at the site"',
                                                d11, count=1))
    site_project = tmp_path / "p"
    shutil.copytree(root / "project", site_project, symlinks=True)
    text = site_project.joinpath("pkgfactory.toml").read_text()
    start = text.index("targets = [")
    end = text.index("]", start)
    site_project.joinpath("pkgfactory.toml").write_text(
        text[:start] + 'targets = ["site-deb12", "debian-11"' + text[end:])
    key = make_key(tmp_path / "keys")
    r = run_cli("bundle", "-c", site_project / "pkgfactory.toml", "-o", tmp_path / "out", "--keys-dir", key.home,
                "--arch", "x86_64", "--builder", "native", "--targets-dir", site, "--json")
    kill_agent(key.home)
    assert r.code == 0, r.err + r.out
    bundle = Path(json.loads(r.out)["bundle"])
    assert (bundle / "repos/deb/site-deb12/dists/site-deb12/InRelease").is_file()
    install = (bundle / "install.sh").read_text()
    assert "site-deb12" in install and "Debian 11 as probed at the site" in install
    report = json.loads((bundle / "reports/build-report.json").read_text())
    # Relative to the project's directory: the bundle names no place on the build machine.
    assert report["profiles"] == {"site-deb12": "../site/site-deb12.toml", "debian-11": "../site/debian-11.toml"}


def test_a_key_old_rpm_cannot_check_is_refused_before_building(tmp_path, made):
    root, _, _, _ = made
    ed = make_key(tmp_path / "ed", algorithm="ed25519")
    r = run_cli("bundle", "-c", root / "project" / "pkgfactory.toml", "-o", tmp_path / "out", "--keys-dir", ed.home,
                "--target", "centos-7", "--arch", "x86_64", "--builder", "native")
    kill_agent(ed.home)
    assert r.code == 2, r
    assert len(r.err.strip().splitlines()) == 1 and "centos-7" in r.err, r.err
    assert not (tmp_path / "out" / "centos-7").exists() and not (tmp_path / "out" / "build-report.json").exists()


def test_outputs_are_not_writable_by_others_under_umask_000(tmp_path):
    """Packages, reports, logs, the tar and every directory of OUT: 0644 files and 0755 directories
    (binaries 0755), whatever umask the bundle ran under; under umask 000 they were 0666 and 0777."""
    project = copy_example_source(tmp_path / "project")
    key = make_key(tmp_path / "keys")
    out = tmp_path / "made" / "out"
    r = run_cli("bundle", "-c", project, "-o", out, "--keys-dir", key.home, "--target", "debian-12",
                "--arch", "x86_64", "--builder", "native", umask=0)
    kill_agent(key.home)
    assert r.code == 0, r.err + r.out
    seen = {p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o7777
            for p in [tmp_path / "made", *sorted((tmp_path / "made").rglob("*"))]}
    assert {"made/out/hello-service-1.2.0.tar", "made/out/build-report.json", "made/out/logs/bundle.log",
            "made/out/debian-12/x86_64/hello-service_1.2.0-1_amd64.deb"} <= set(seen)
    executable = {"made/out/hello-service-1.2.0/install.sh"}
    wrong = {p: oct(m) for p, m in seen.items()
             if m != (0o755 if (tmp_path / p).is_dir() or p in executable else 0o644)}
    assert wrong == {}
