"""`pkgfactory bundle --prebuilt DIR`: packages built and signed elsewhere, bundled as they are.

The "vendor" packages are the example's own, built once by pkgfactory and then
changed the way signing elsewhere changes them: the .deb gets a debsigs-style
_gpgorigin member (a real detached signature by another key, appended with ar),
the .rpm an rpmsign signature by another key. They must reach the bundle's
repositories byte for byte (the .deb) or with only the signature replaced (the
.rpm), and the bundle must verify; packages that are not the project's, or that
the target cannot take, must be refused.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures_go import run_cli
from hello_example import build_hello, copy_example, copy_example_source, edit
from hostpaths_check import host_places, leaks
from pkgfactory.digest import sha256_file
from signing_helpers import PASSPHRASE, bundle_inputs, kill_agent, make_key

pytestmark = pytest.mark.container

DEB_DIR = ("uos-v20-desktop", "x86_64")
RPM_DIR = ("kylin-v10-sp3", "x86_64")
RPM_QF = "%{SHA256HEADER} %{PAYLOADDIGEST}"


def _run(*argv, **kw):
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def vendor(tmp_path_factory, container_engine):
    """The project, the bundle key, and the packages as a vendor would hand them over."""
    assert run_cli("builder", "create").code == 0
    root = tmp_path_factory.mktemp("prebuilt")
    project, key, env = bundle_inputs(root, tmp_path_factory.mktemp("bins"))
    r = run_cli("build", "-c", project, "-o", root / "built", "--arch", "x86_64", "--target", DEB_DIR[0],
                "--target", RPM_DIR[0], "--json")
    assert r.code == 0, r.err + r.out
    other = make_key(root / "vendor-key", name="vendor", email="vendor@example.com")
    pre = root / "pre"
    (deb,) = (root / "built" / DEB_DIR[0] / DEB_DIR[1]).glob("*.deb")
    signed_deb = pre / DEB_DIR[0] / DEB_DIR[1] / "hello-service-signed-by-vendor.deb"
    signed_deb.parent.mkdir(parents=True)
    shutil.copy(deb, signed_deb)
    sig = root / "_gpgorigin"
    _run("gpg", "--homedir", other.home, "--batch", "--detach-sign", "-o", sig, deb)
    _run("ar", "q", signed_deb, sig)  # the member is named after the file: _gpgorigin
    (rpm,) = (root / "built" / RPM_DIR[0] / RPM_DIR[1]).glob("*.rpm")
    signed_rpm = pre / RPM_DIR[0] / RPM_DIR[1] / rpm.name
    signed_rpm.parent.mkdir(parents=True)
    shutil.copy(rpm, signed_rpm)
    _run("rpmsign", "--define", f"_gpg_path {other.home}", "--define", f"_gpg_name {other.fingerprint}",
         "--define", "__gpg /usr/bin/gpg", "--addsign", signed_rpm)
    kill_agent(other.home)
    yield {"root": root, "project": project, "key": key, "env": env, "deb": signed_deb, "rpm": signed_rpm, "pre": pre,
           "vendor_fpr": other.fingerprint}
    kill_agent(key.home)


def bundle(v, pre, out, *targets, json_out=True):
    args = ["bundle", "-c", v["project"], "-o", out, "--keys-dir", v["key"].home, "--arch", "x86_64",
            "--prebuilt", pre]
    for t in targets:
        args += ["--target", t]
    if json_out:
        args.append("--json")
    return run_cli(*args, env=v["env"])


@pytest.fixture(scope="module")
def made(vendor):
    """One bundle: uos-v20-desktop and kylin-v10-sp3 prebuilt, debian-11 built."""
    r = bundle(vendor, vendor["pre"], vendor["root"] / "out", DEB_DIR[0], RPM_DIR[0], "debian-11")
    assert r.code == 0, r.err + r.out
    return Path(json.loads(r.out)["bundle"]), json.loads(r.out)


def test_vendor_signed_deb_goes_in_byte_identical(vendor, made):
    b, doc = made
    assert subprocess.run(["ar", "t", vendor["deb"]], capture_output=True, text=True).stdout.split()[-1] == \
        "_gpgorigin"
    (pooled,) = (b / "repos/deb/uos-v20-desktop/pool").rglob("*.deb")
    assert pooled.read_bytes() == vendor["deb"].read_bytes()
    manifest = json.loads((b / "manifest.json").read_text())
    entry = next(p for p in manifest["packages"] if p["target"] == DEB_DIR[0])
    assert entry["prebuilt"] is True and entry["sha256"] == sha256_file(vendor["deb"])
    assert not next(p for p in manifest["packages"] if p["target"] == "debian-11")["prebuilt"]
    results = {r["target"]: r for r in doc["build"]["results"]}
    assert results[DEB_DIR[0]]["prebuilt"] == str(vendor["deb"]) and results[DEB_DIR[0]]["status"] == "built"
    assert results["debian-11"]["prebuilt"] is None
    # The binaries inside were judged against the target's floors, and are the project's.
    check = next(c for c in results[DEB_DIR[0]]["checks"] if c["binary"] == "/usr/bin/hello-service")
    assert check["ok"] and check["same_as_project"] is True
    assert str(vendor["deb"]) in doc["build"]["inputs"]
    # install.sh knows: the UOS preflight leaves the decision to the signature check.
    assert "A_PREBUILT=1" in (b / "install.sh").read_text()


def test_rpm_prebuilt_is_signed_by_the_bundle_key_with_header_and_payload_kept(vendor, made):
    b, _ = made
    (repo_rpm,) = (b / "repos/rpm" / RPM_DIR[0] / RPM_DIR[1]).rglob("*.rpm")
    digests = [_run("rpm", "-qp", "--nosignature", "--qf", RPM_QF, f).stdout for f in (vendor["rpm"], repo_rpm)]
    assert digests[0] == digests[1] and len(digests[0].split()) == 2
    sig = _run("rpm", "-qp", "--qf", "%{RSAHEADER:pgpsig}", repo_rpm).stdout
    assert vendor["key"].fingerprint[-16:].lower() in sig
    assert vendor["vendor_fpr"][-16:].lower() in _run("rpm", "-qp", "--qf", "%{RSAHEADER:pgpsig}",
                                                      vendor["rpm"]).stdout


def test_bundle_with_prebuilts_verifies(vendor, made):
    b, _ = made
    r = run_cli("verify", b, "--fingerprint", vendor["key"].fingerprint, "--json")
    assert r.code == 0, r.out
    doc = json.loads(r.out)
    assert doc["counts"]["debs_proven_by_apt_index"] == 2 and doc["counts"]["rpm_signatures_ok"] == 1


def test_cli_says_which_packages_were_taken_as_supplied(vendor, tmp_path):
    r = bundle(vendor, vendor["pre"], tmp_path / "out", DEB_DIR[0], json_out=False)
    assert r.code == 0, r.err + r.out
    assert "uos-v20-desktop x86_64: prebuilt, taken as supplied" in r.out


def _repack(src: Path, dest: Path, *, control=None, binary: str | None = None, compressor="xz") -> Path:
    """``src`` unpacked and packed again by dpkg-deb, with its control file or binary changed."""
    tree = dest.parent / (dest.name + ".tree")
    tree.parent.mkdir(parents=True, exist_ok=True)
    _run("dpkg-deb", "-R", src, tree)
    if control:
        c = tree / "DEBIAN/control"
        c.write_text(control(c.read_text()))
    if binary:
        shutil.copy(binary, tree / "usr/bin/hello-service")
    _run("dpkg-deb", "--root-owner-group", f"-Z{compressor}", "-b", tree, dest)
    shutil.rmtree(tree)
    return dest


def _pre(tmp_path: Path, target="uos-v20-desktop", arch="x86_64", name="p.deb") -> Path:
    return tmp_path / "pre" / target / arch / name


def _put(src: Path, dest: Path, data: bytes | None = None) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        shutil.copy(src, dest)
    else:
        dest.write_bytes(data)
    return dest


def _control(old: str, new: str):
    return lambda src, t: _repack(src, _pre(t), control=lambda c: c.replace(old, new))


MISMATCH = {
    "version": (_control("Version: 1.2.0-1", "Version: 1.2.1-1"),
                "field 'Version' is '1.2.1-1', pkgfactory.toml makes '1.2.0-1' for uos-v20-desktop x86_64"),
    "name": (_control("Package: hello-service", "Package: hello-other"),
             "field 'Package' is 'hello-other', pkgfactory.toml makes 'hello-service'"),
    "arch": (_control("Architecture: amd64", "Architecture: arm64"),
             "field 'Architecture' is 'arm64', pkgfactory.toml makes 'amd64'"),
    "format": (lambda src, t: _put(src, _pre(t, name="p.rpm")), "uos-v20-desktop is a deb target: give a .deb package"),
    "unknown target": (lambda src, t: _put(src, _pre(t, target="uos-v21")), "uos-v21: not a target of pkgfactory.toml"),
    "unknown arch": (lambda src, t: _put(src, _pre(t, arch="riscv64")), "riscv64: not an arch pkgfactory.toml builds"),
    "two files": (lambda src, t: (_put(src, _pre(t)), _put(src, _pre(t, name="q.deb"))),
                  "x86_64: holds 2 entries; give exactly one package file there"),
    "empty": (lambda src, t: (t / "pre").mkdir(), "holds no package"),
    "not a package": (lambda src, t: _put(src, _pre(t), b"junk"), "p.deb: not a readable .deb package"),
}


@pytest.mark.parametrize("case", sorted(MISMATCH))
def test_mismatched_prebuilt_is_refused_in_one_line(vendor, tmp_path, case):
    make, words = MISMATCH[case]
    make(vendor["deb"], tmp_path)
    r = bundle(vendor, tmp_path / "pre", tmp_path / "out", DEB_DIR[0], json_out=False)
    assert r.code == 2, (case, r.out, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in r.err, (case, r.err)
    assert not (tmp_path / "out" / "hello-service-1.2.0").exists()
    assert not list((tmp_path / "out").glob("uos-v20-desktop")), "built although refused"


@pytest.mark.parametrize("case,words", [
    ("zstd", "data.tar.zst is zstd-compressed; uos-v20-desktop's dpkg reads xz, gzip, none"),
    ("glibc", "/usr/bin/hello-service: glibc"),
])
def test_prebuilt_the_target_cannot_take_is_not_bundled(vendor, tmp_path, case, words):
    if case == "zstd":
        _repack(vendor["deb"], _pre(tmp_path), compressor="zstd")
    else:
        # A binary of this Debian 12 host needs a newer glibc than UOS 20's 2.28.
        _repack(vendor["deb"], _pre(tmp_path), binary="/usr/bin/gpgv")
    r = bundle(vendor, tmp_path / "pre", tmp_path / "out", DEB_DIR[0], json_out=False)
    assert r.code == 1, r.out + r.err
    assert "check-failed" in r.out and "prebuilt" in r.out and words in r.out, r.out
    assert "bundle not made" in r.err
    assert not (tmp_path / "out" / "hello-service-1.2.0").exists()


def test_readme_says_the_uos_packages_were_supplied_prebuilt(made):
    b, _ = made
    text = (b / "README.txt").read_text()
    assert "x86_64：软件包为预先构建后原样提供" in text and "--uos-any-apps-allowed" not in text
    assert "kylin-v10-sp3（麒麟 KySec / Kylin KySec）" in text


def test_report_page_marks_the_prebuilt_packages(made):
    b, _ = made
    page = (b / "reports/index.html").read_text()
    assert page.count("prebuilt, supplied as built elsewhere") == 2  # the uos .deb and the kylin .rpm


def test_no_build_host_paths_for_the_prebuilt_packages(vendor, made):
    """Where the prebuilt packages were handed over (--prebuilt DIR) is no business of the site."""
    b, _ = made
    assert not leaks(b, host_places(vendor["root"], vendor["pre"]))


# --- a project compiled from Go: the prebuilt pairs are not compiled ------------------------

GO_TARGETS = ("debian-12", "kylin-v10-sp3")  # kylin-v10-sp3's loongarch64 is old world: no Go binary serves it
WAIVERS = "".join(
    f'[[waiver]]\ntarget = "kylin-v10-sp3"\narch = "loongarch64"\ncode = "{code}"\n'
    'reason = "test: the new-world Go binary stands in for the vendor\'s old-world one; it is not run"\n\n'
    for code in ("loongarch-world", "kernel-too-old"))


def _targets_arches(f: Path) -> Path:
    return edit(f, ('targets = ["centos-7", "kylin-v10-sp3", "uos-v20-desktop", "debian-11", "debian-12"]',
                    "targets = [" + ", ".join(f'"{t}"' for t in GO_TARGETS) + "]"),
                ('arches = ["x86_64", "aarch64"]', 'arches = ["x86_64", "loongarch64"]'),
                ("# [[waiver]]\n# target = \"centos-7\"", WAIVERS + "# [[waiver]]\n# target = \"centos-7\""))


@pytest.fixture(scope="module")
def go_vendor(tmp_path_factory):
    """The example compiled from Go for debian-12 and kylin-v10-sp3 on x86_64 and loongarch64, and the
    vendor's kylin-v10-sp3 packages for both arches (made by `pkgfactory build` from prebuilt binaries)."""
    root = tmp_path_factory.mktemp("prebuilt-go")
    bins = build_hello(tmp_path_factory.mktemp("bins-go"), arches=("x86_64", "loongarch64"))
    maker = _targets_arches(copy_example(root / "maker", bins))
    r = run_cli("build", "-c", maker, "-o", root / "built", "--builder", "native", "--target", "kylin-v10-sp3",
                "--json")
    assert r.code == 0, r.err + r.out
    pre = root / "pre"
    for arch in ("x86_64", "loongarch64"):
        (rpm,) = (root / "built" / "kylin-v10-sp3" / arch).glob("*.rpm")
        _put(rpm, pre / "kylin-v10-sp3" / arch / rpm.name)
    key = make_key(root / "keys", passphrase=PASSPHRASE)
    (root / "passphrase").write_text(PASSPHRASE + "\n")
    yield {"root": root, "project": _targets_arches(copy_example_source(root / "project")), "pre": pre, "key": key,
           "env": dict(os.environ, PKGF_GPG_PASSPHRASE_FILE=str(root / "passphrase"))}
    kill_agent(key.home)


def go_bundle(v, pre, out, *args):
    return run_cli("bundle", "-c", v["project"], "-o", out, "--keys-dir", v["key"].home, "--builder", "native",
                   "--prebuilt", pre, *args, env=v["env"])


def test_prebuilt_pairs_are_not_compiled(go_vendor):
    """kylin-v10-sp3 comes prebuilt for both arches: x86_64 is compiled for debian-12 alone (its floor
    is debian-12's), and loongarch64, whose only target is kylin-v10-sp3's old world, not at all."""
    r = go_bundle(go_vendor, go_vendor["pre"], go_vendor["root"] / "out", "--json")
    assert r.code == 0, r.err + r.out
    doc = json.loads(r.out)
    compiled = doc["build"]["compile"]
    assert [(c["arch"], c["targets"]) for c in compiled["binaries"]] == [("x86_64", ["debian-12"])]
    assert list(compiled["floors"]) == ["x86_64"] and compiled["floors"]["x86_64"]["glibc_from"] == "debian-12"
    assert [t["target"] for c in compiled["binaries"] for t in c["checks"]] == ["debian-12"]
    results = {(r["target"], r["arch"]): r for r in doc["build"]["results"]}
    assert set(results) == {("debian-12", "x86_64"), ("kylin-v10-sp3", "x86_64"), ("kylin-v10-sp3", "loongarch64")}
    assert results[("debian-12", "x86_64")]["prebuilt"] is None
    for arch in ("x86_64", "loongarch64"):
        r = results[("kylin-v10-sp3", arch)]
        assert r["status"] == "built" and r["prebuilt"].startswith(str(go_vendor["pre"])), r
        assert {w["code"] for w in r["waivers"]} == ({"loongarch-world", "kernel-too-old"}
                                                      if arch == "loongarch64" else set())
    b = Path(doc["bundle"])
    # The compiled binary has an SBOM; loongarch64 has no compiled binary, so none.
    assert sorted(p.name for p in (b / "sbom").iterdir()) == ["hello-service-x86_64.cdx.json"]
    install = (b / "install.sh").read_text()
    assert install.count("A_PREBUILT=1") == 2, "both kylin-v10-sp3 arches are marked prebuilt"
    assert run_cli("verify", b, "--fingerprint", go_vendor["key"].fingerprint).code == 0


def test_unselected_arch_of_prebuilt_is_left_out(go_vendor, tmp_path):
    """--arch x86_64 with kylin-v10-sp3/loongarch64 supplied too: loongarch64 is a kylin-v10-sp3 arch
    the run does not select, left alone (and said so); everything selected is prebuilt, nothing compiled."""
    out = tmp_path / "out"
    r = go_bundle(go_vendor, go_vendor["pre"], out, "--target", "kylin-v10-sp3", "--arch", "x86_64")
    assert r.code == 0, r.err + r.out
    line = f"prebuilt {go_vendor['pre'] / 'kylin-v10-sp3' / 'loongarch64'} left out: arch loongarch64 is not selected"
    assert line in " ".join(r.out.split()) and line in (out / "logs" / "bundle.log").read_text()
    report = json.loads((out / "build-report.json").read_text())
    assert [(x["target"], x["arch"], bool(x["prebuilt"])) for x in report["results"]] == \
        [("kylin-v10-sp3", "x86_64", True)]
    assert "compile" not in report


def test_arch_the_target_lacks_is_still_refused(go_vendor, tmp_path):
    """debian-12 has no loongarch64 edition: that directory is a mistake, not an unselected arch."""
    pre = tmp_path / "pre"
    shutil.copytree(go_vendor["pre"] / "kylin-v10-sp3", pre / "debian-12")
    r = go_bundle(go_vendor, pre, tmp_path / "out", "--target", "debian-12", "--arch", "x86_64")
    assert r.code == 2, r.err + r.out
    assert "debian-12/loongarch64/" in r.err and "target debian-12 has no loongarch64 edition" in r.err


@pytest.mark.parametrize("case", ["missing", "bad layout"])
def test_bad_prebuilt_dir_fails_before_compiling(go_vendor, tmp_path, case):
    """The project's [go] toolchain does not exist: reaching the compile would fail on that, not on --prebuilt."""
    project = tmp_path / "project"
    shutil.copytree(go_vendor["project"].parent, project)
    edit(project / "pkgfactory.toml", ('toolchain = "go"', 'toolchain = "/nonexistent/go"'))
    v = {**go_vendor, "project": project / "pkgfactory.toml"}
    pre = tmp_path / "pre"
    if case == "bad layout":
        _put(Path("unused"), pre / "kylin-v10" / "x86_64" / "p.rpm", b"x")  # a target name cut short
    r = go_bundle(v, pre, tmp_path / "out")
    assert r.code == 2 and "Traceback" not in r.err, r.err + r.out
    (line,) = r.err.strip().splitlines()
    assert ("not a directory" if case == "missing" else "kylin-v10: not a target of") in line, line
    assert "toolchain" not in line
