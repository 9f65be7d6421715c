"""The bundle's install.sh: rendered, linted, and run for real under dash and bash.

Bundles here are small fakes with the real trust chain: a throwaway RSA key
made by gpg, SHA256SUMS written by sha256sum and signed with that key. The
machine is a prepared PKGF_ROOT (os-release, /proc, /lib/modules, /etc/apt,
/etc/yum.repos.d, /var/log). Install runs use stand-ins for apt-get, dpkg,
rpm, dnf and yum (a PATH holding no real package manager): they test the
script's own logic. A Debian 11 container checks the script where only gpgv
is installed, and installs from a real signed apt repository there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from pkgfactory import targets as tg
from pkgfactory.bundle.installer import exit_code_names, render_installer, slug, target_meta
from pkgfactory.errors import InputError

SHELLS = ("dash", "bash")
# install.sh's exit codes by name (EX_<name>), from the one list the script is rendered from.
EX = exit_code_names()
KREL = "5.10.0-23-amd64"

OS_RELEASE = {
    "debian-11": """PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"
NAME="Debian GNU/Linux"
VERSION_ID="11"
VERSION="11 (bullseye)"
VERSION_CODENAME=bullseye
ID=debian
HOME_URL="https://www.debian.org/"
""",
    "centos-7": """NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
""",
    "kylin-v10-sp3": """NAME="Kylin Linux Advanced Server"
VERSION="V10 (Lance)"
ID="kylin"
VERSION_ID="V10"
PRETTY_NAME="Kylin Linux Advanced Server V10 (Lance)"
ANSI_COLOR="0;31"
""",
    # SP2 says Sword: same ID and VERSION_ID as SP3, not in these bundles.
    "kylin-v10-sp2": """NAME="Kylin Linux Advanced Server"
VERSION="V10 (Sword)"
ID="kylin"
VERSION_ID="V10"
PRETTY_NAME="Kylin Linux Advanced Server V10 (Sword)"
""",
    "unknown": """NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
""",
}

# What the test bundles are built for.
BUNDLE_TARGETS = {"debian-11": ["x86_64", "aarch64"], "centos-7": ["x86_64"], "kylin-v10-sp3": ["x86_64", "aarch64"]}


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        # scripts/setup.sh installs these: missing is a broken set-up, not a reason to skip.
        pytest.fail(f"{tool} is not installed (scripts/apt-packages.txt)")
    return path


# --- keys and bundles ---------------------------------------------------------------

class Key:
    def __init__(self, home: Path, uid: str):
        self.home = home
        home.mkdir(mode=0o700, parents=True)
        self.gpg(["--quick-gen-key", "--passphrase", "", uid, "rsa2048", "sign", "never"])
        out = self.gpg(["--with-colons", "--fingerprint"]).stdout
        self.fpr = re.search(r"^fpr:+([0-9A-F]{40}):", out, re.M).group(1)
        self.asc = self.gpg(["--armor", "--export", self.fpr]).stdout
        self.binary = subprocess.run([need("gpg"), "--dearmor"], input=self.asc.encode(),
                                     capture_output=True, check=True).stdout

    def gpg(self, args, **kw):
        return subprocess.run([need("gpg"), "--homedir", str(self.home), "--batch", "--pinentry-mode", "loopback",
                               *args], capture_output=True, text=True, check=True, **kw)

    def sign(self, path: Path) -> None:
        asc = path.with_name(path.name + ".asc")
        asc.unlink(missing_ok=True)
        self.gpg(["--passphrase", "", "--armor", "--detach-sign", "--digest-algo", "SHA256",
                  "-o", str(asc), str(path)])

    def close(self):
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "all"], capture_output=True)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    base = tmp_path_factory.mktemp("keys")
    made = {"good": Key(base / "good", "pkgfactory test <test@example.invalid>"),
            "other": Key(base / "other", "someone else <else@example.invalid>")}
    yield made
    for k in made.values():
        k.close()


def meta_for(key: Key, **over) -> dict:
    meta = {
        "name": "hello-service",
        "version": "1.2.3",
        "evr": "1.2.3-1",
        "packages": ["hello-service"],
        "fingerprint": key.fpr,
        "kernel": {"min": "3.10", "max": None},
        "kernel_modules": [],
        "targets": [target_meta(tg.get(t), arches) for t, arches in BUNDLE_TARGETS.items()],
    }
    meta.update(over)
    return meta


def write_sums_and_sign(bundle: Path, key: Key) -> None:
    names = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*")
                   if not p.is_dir() and p.name not in ("SHA256SUMS", "SHA256SUMS.asc"))
    sums = subprocess.run([need("sha256sum"), "--", *names], cwd=bundle, capture_output=True, text=True, check=True)
    (bundle / "SHA256SUMS").write_text(sums.stdout)
    key.sign(bundle / "SHA256SUMS")


def make_bundle(where: Path, key: Key, meta: dict | None = None, *, signer: Key | None = None) -> Path:
    """A bundle directory with the layout pkgfactory bundle writes (repositories are stand-ins)."""
    meta = meta or meta_for(key)
    b = where
    b.mkdir(parents=True, exist_ok=True)
    (b / "install.sh").write_text(render_installer(meta))
    (b / "README.txt").write_text("test bundle\n")
    (b / "KEY.asc").write_text(key.asc)
    (b / "KEY.gpg").write_bytes(key.binary)
    (b / "KEY.fingerprint").write_text(" ".join(key.fpr[i:i + 4] for i in range(0, 40, 4)) + "\n")
    (b / "manifest.json").write_text('{"files": []}\n')
    for t in meta["targets"]:
        if t["family"] == "deb":
            d = b / "repos" / "deb" / t["id"]
            (d / "dists" / t["suite"]).mkdir(parents=True, exist_ok=True)
            (d / "dists" / t["suite"] / "InRelease").write_text("stand-in\n")
            (d / "pool").mkdir(exist_ok=True)
            (d / "pool" / "hello-service_1.2.3_amd64.deb").write_bytes(b"!<arch>\nstand-in")
        else:
            for a in t["arches"]:
                d = b / "repos" / "rpm" / t["id"] / a["name"]
                (d / "repodata").mkdir(parents=True, exist_ok=True)
                (d / "repodata" / "repomd.xml").write_text("<repomd/>\n")
                (d / "hello-service-1.2.3-1.x86_64.rpm").write_bytes(b"\xed\xab\xee\xdbstand-in")
    (b / "sbom").mkdir(exist_ok=True)
    (b / "sbom" / "hello-service.cdx.json").write_text("{}\n")
    (b / "reports").mkdir(exist_ok=True)
    (b / "reports" / "check.txt").write_text("ok\n")
    write_sums_and_sign(b, signer or key)
    return b


@pytest.fixture(scope="module")
def bundle(keys, tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("bundle") / "hello-service-1.2.3", keys["good"])


# --- machines -----------------------------------------------------------------------

MODULES_TREE = {
    "proc/modules": "overlay 151552 0 - Live 0x0000000000000000\nip_tables 32768 0 - Live 0x0\n",
    f"lib/modules/{KREL}/modules.builtin": "kernel/net/bridge/bridge.ko\nkernel/fs/ext4/ext4.ko\n",
    f"lib/modules/{KREL}/modules.dep": (
        "kernel/net/netfilter/nf_tables.ko.xz: kernel/lib/libcrc32c.ko.xz\n"
        "kernel/lib/libcrc32c.ko.xz:\n"
        "kernel/net/bridge/br_netfilter.ko.zst: kernel/net/bridge/bridge.ko\n"
    ),
}


def make_root(where: Path, os_id: str | None, *, modules: bool = True, text: str | None = None) -> Path:
    r = where
    for d in ("etc/apt/sources.list.d", "etc/apt/apt.conf.d", "etc/yum.repos.d", "var/log", "proc/sys/kernel"):
        (r / d).mkdir(parents=True, exist_ok=True)
    (r / "etc/apt/sources.list").write_text("deb http://deb.debian.org/debian bullseye main\n")
    (r / "etc/apt/sources.list.d/vendor.list").write_text("deb http://vendor.example/apt stable main\n")
    (r / "etc/yum.repos.d/base.repo").write_text("[base]\nname=base\nbaseurl=http://mirror.example/\nenabled=1\n")
    (r / "proc/sys/kernel/osrelease").write_text(KREL + "\n")
    if text is not None or os_id is not None:
        (r / "etc/os-release").write_text(text if text is not None else OS_RELEASE[os_id])
    if modules:
        for rel, content in MODULES_TREE.items():
            (r / rel).parent.mkdir(parents=True, exist_ok=True)
            (r / rel).write_text(content)
    return r


def snapshot(path: Path) -> dict:
    """Every entry under path: type, mode and content hash (what 'left as it was' means)."""
    out = {}
    for p in sorted([path, *path.rglob("*")]):
        st = p.lstat()
        rel = str(p.relative_to(path))
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(p))
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", oct(st.st_mode))
        else:
            out[rel] = ("file", oct(st.st_mode), hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def run(shell: str, bundle: Path, *args: str, root: Path | None = None, env: dict | None = None,
        path: str | None = None, stdin=subprocess.DEVNULL, timeout: float = 60) -> subprocess.CompletedProcess:
    """``path``: the tool directories, through the PKGF_PATH testing hook (the script ignores PATH)."""
    e = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/root")}
    if path is not None:
        e["PKGF_PATH"] = path
    if root is not None:
        e["PKGF_ROOT"] = str(root)
        # A work directory of its own, so a test can tell the script cleaned up after itself.
        (root.parent / "tmpdir").mkdir(exist_ok=True)
        e["TMPDIR"] = str(root.parent / "tmpdir")
    e.update(env or {})
    return subprocess.run([need(shell), str(bundle / "install.sh"), *args], env=e, stdin=stdin,
                          capture_output=True, text=True, timeout=timeout)


def out(p: subprocess.CompletedProcess) -> str:
    return p.stdout + p.stderr


# --- rendering ----------------------------------------------------------------------

HOSTILE = "it's \"q\" $(touch PWNED) `touch PWNED2` ${HOME} $HOME; touch PWNED3 | x & * ? [a] \\ \u5b89\u88c5"


def hostile_meta(key: Key) -> dict:
    t = target_meta(tg.get("debian-11"), ["x86_64"])
    t["name"] = HOSTILE
    t["identify"] = {"id": ["debian"], "version": ["$(touch PWNED4)*", "`touch PWNED5` 'x' \"y\""]}
    return meta_for(key, name=HOSTILE, version=HOSTILE, targets=[t])


def test_shellcheck_clean_with_hostile_values(keys, tmp_path):
    policies = [target_meta(tg.get("uos-v20-desktop"), ["x86_64", "aarch64"], prebuilt=["aarch64"]),
                target_meta(tg.get("kylin-desktop-v10"), ["x86_64"]),
                target_meta(tg.get("centos-7"), ["x86_64"], binaries={"x86_64": [("/usr/bin/a", "2.17"),
                                                                                  ("/usr/bin/b", None)]})]
    for meta in (meta_for(keys["good"], kernel={"min": "4.19.90-52", "max": "5.10"},
                          kernel_modules=["overlay", "nf-tables"]),
                 hostile_meta(keys["good"]),
                 # The policy checks, a prebuilt arch, glibc needs and an epoch beside each other.
                 meta_for(keys["good"], evr="2:1.2.3~rc1-1", targets=policies)):
        script = tmp_path / "install.sh"
        script.write_text(render_installer(meta))
        p = subprocess.run([need("shellcheck"), "-s", "sh", str(script)], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        for shell in SHELLS:
            p = subprocess.run([need(shell), "-n", str(script)], capture_output=True, text=True)
            assert p.returncode == 0, p.stderr


def test_every_value_is_shell_quoted(keys):
    text = render_installer(hostile_meta(keys["good"]))
    assert "PKG_NAME='it'\"'\"'s " in text
    # Each payload is one shell word that reads back as the exact text given.
    payloads = {HOSTILE, "$(touch PWNED4)*", "`touch PWNED5` 'x' \"y\"", slug(HOSTILE), "pkgfactory-" + slug(HOSTILE)}
    lines = [ln for ln in text.splitlines() if "PWNED" in ln and not ln.lstrip().startswith("#")]
    assert len(lines) == 6
    for line in lines:
        words = [w.split("=", 1)[-1] for w in shlex.split(line)]
        assert all("PWNED" not in w or w in payloads for w in words), line


@pytest.mark.parametrize("shell", SHELLS)
def test_hostile_values_stay_inert(shell, keys, tmp_path, fake):
    b = make_bundle(tmp_path / "b", keys["good"], hostile_meta(keys["good"]))
    osr = ('ID=debian\nVERSION="$(touch PWNED4) and more"\nPRETTY_NAME="x"\n'
           "EVIL=$(touch PWNED6)\nEVIL2=`touch PWNED7`\nEVIL3='$(touch PWNED8)'\n")
    root = make_root(tmp_path / "root", None, text=osr)
    p = subprocess.run([need(shell), str(b / "install.sh"), "--check-only", "--skip-kmod-check"],
                       env={"PATH": os.environ["PATH"], "PKGF_ROOT": str(root), "PKGF_UNAME_M": "x86_64", "LANG": "C"},
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, out(p)
    # The hostile glob matched the hostile VERSION literally, and nothing ran.
    assert "Target: debian-11 (" + HOSTILE + ")" in p.stdout
    assert not list(tmp_path.rglob("PWNED*")) and not list(Path("/").glob("PWNED*"))
    assert (root / "var/log" / f"pkgfactory-install-{slug(HOSTILE)}.log").is_file()
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    before = snapshot(root / "etc")
    for args in (["--yes", "--skip-kmod-check"], ["--uninstall", "--yes"]):
        p = subprocess.run([need(shell), str(b / "install.sh"), *args], cwd=tmp_path, capture_output=True, text=True,
                           env={**fake.env(), "PKGF_PATH": fake.path, "PKGF_ROOT": str(root), "LANG": "C"}, timeout=60)
        assert p.returncode == 0, out(p)
    assert f"sources.list.d/pkgfactory-{slug(HOSTILE)}.list]" in next(c for c in fake.calls() if c.startswith("apt-get"))
    assert snapshot(root / "etc") == before
    assert not list(tmp_path.rglob("PWNED*")) and not list(Path("/").glob("PWNED*"))


@pytest.mark.parametrize("change,match", [
    ({"packages": ["-rf"]}, r"packages\[0\]"),
    ({"packages": ["a b"]}, r"packages\[0\]"),
    ({"packages": []}, "packages: must not be empty"),
    ({"fingerprint": "ABCD"}, "fingerprint"),
    ({"kernel": {"min": "5.10", "max": "4.19"}}, "is above max"),
    ({"kernel": {"min": "$(x)", "max": None}}, r"kernel\.min"),
    ({"kernel_modules": ["a;b"]}, r"kernel_modules\[0\]"),
    ({"version": "1\n2"}, "version"),
    ({"extra": 1}, "unknown key"),
    ({"targets": []}, "targets: must not be empty"),
])
def test_bad_bundle_meta_is_refused(keys, change, match):
    with pytest.raises(InputError, match=match):
        render_installer(meta_for(keys["good"], **change))


@pytest.mark.parametrize("edit,match", [
    (lambda t: t.update(id="../x"), r"targets\[0\]\.id"),
    (lambda t: t.update(suite=None), r"targets\[0\]\.suite"),
    (lambda t: t["arches"][0].update(deb_arch=None), r"deb_arch"),
    (lambda t: t["arches"][0].update(name="pdp11"), r"arches\[0\]\.name"),
    (lambda t: t.update(identify={"version_id": ["11"]}), "missing key 'id'"),
    (lambda t: t.update(identify={"id": ["deb\\ian"]}), "mean different things"),
    (lambda t: t.update(identify={"ID-X": ["x"]}), "os-release key"),
    (lambda t: t.update(bogus=1), "unknown key"),
])
def test_bad_target_entry_is_refused(keys, edit, match):
    t = target_meta(tg.get("debian-11"), ["x86_64"])
    edit(t)
    with pytest.raises(InputError, match=match):
        render_installer(meta_for(keys["good"], targets=[t]))


def test_target_meta_from_profiles():
    t = target_meta(tg.get("kylin-v10-sp3"), ["x86_64", "loongarch64"])
    assert t["family"] == "rpm" and t["suite"] is None
    assert t["identify"]["version"] == ["V10 (Lance)", "V10 (Halberd)"]
    assert [a["deb_arch"] for a in t["arches"]] == [None, None]
    u = target_meta(tg.get("uos-v20-desktop"), ["x86_64", "loongarch64"])
    assert u["suite"] == "uos-v20-desktop"
    assert [a["deb_arch"] for a in u["arches"]] == ["amd64", "loongarch64"]
    with pytest.raises(InputError, match="no arch"):
        target_meta(tg.get("deepin-20"), ["aarch64"])


# --- options ------------------------------------------------------------------------

@pytest.mark.parametrize("shell", SHELLS)
def test_help_and_usage_errors(shell, bundle, tmp_path):
    p = run(shell, bundle, "--help")
    assert p.returncode == 0 and "--check-only" in p.stdout and "Exit codes" in p.stdout
    p = run(shell, bundle, "--help", "--lang", "zh")
    assert p.returncode == 0 and "用法" in p.stdout
    p = run(shell, bundle, "-h", env={"LANG": "zh_CN.UTF-8"})
    assert "用法" in p.stdout
    p = run(shell, bundle, "--bogus")
    assert p.returncode == 2 and "bad option" in p.stderr
    p = run(shell, bundle, "--lang", "fr")
    assert p.returncode == 2 and "--lang" in p.stderr
    p = run(shell, bundle, "--check-only", "--force-target", "rocky-9")
    assert p.returncode == 2 and "not in this bundle" in p.stderr
    p = run(shell, bundle, "--force-target")
    assert p.returncode == 2
    p = run(shell, bundle, "--uninstall", "--check-only")
    assert p.returncode == 2 and "--check-only --uninstall" in p.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_install_without_yes_and_without_terminal_refuses(shell, bundle, tmp_path):
    root = make_root(tmp_path / "root", "debian-11")
    before = snapshot(root / "etc")
    p = run(shell, bundle, root=root)
    assert p.returncode == 2 and "--yes" in p.stderr
    assert snapshot(root / "etc") == before


def test_install_needs_root(bundle, tmp_path):
    # The script is read from stdin: an unprivileged user cannot read pytest's tmp dirs.
    with open(bundle / "install.sh") as script:
        p = subprocess.run([need("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups",
                            need("dash"), "-s", "--", "--yes"], stdin=script, cwd="/",
                           capture_output=True, text=True, env={"PATH": os.environ["PATH"], "LANG": "C"})
    assert p.returncode == 8, out(p)
    assert "need root" in p.stderr


# --- verification ------------------------------------------------------------------

def test_check_only_passes_and_logs(bundle, tmp_path):
    root = make_root(tmp_path / "root", "debian-11")
    before = snapshot(root / "etc")
    for shell in SHELLS:
        p = run(shell, bundle, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
        assert p.returncode == 0, out(p)
        assert "Signature of SHA256SUMS: good" in p.stdout
        assert re.search(r"All \d+ files match SHA256SUMS", p.stdout)
        assert "Target: debian-11 (Debian GNU/Linux 11 (bullseye))" in p.stdout
        assert f"kernel {KREL}" in p.stdout and "arch x86_64" in p.stdout
        assert "nothing was changed" in p.stdout
    assert snapshot(root / "etc") == before
    log = (root / "var/log/pkgfactory-install-hello-service.log").read_text()
    assert "mode check" in log and "end (exit 0)" in log and "VALIDSIG" in log


@pytest.mark.parametrize("shell", SHELLS)
def test_check_only_in_chinese(shell, bundle, tmp_path):
    root = make_root(tmp_path / "root", "centos-7")
    p = run(shell, bundle, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64", "LC_ALL": "zh_CN.UTF-8"})
    assert p.returncode == 0, out(p)
    assert "目标系统：centos-7" in p.stdout and "SHA256SUMS 签名有效" in p.stdout
    p = run(shell, bundle, "--check-only", "--lang", "en", root=root,
            env={"PKGF_UNAME_M": "x86_64", "LC_ALL": "zh_CN.UTF-8"})
    assert "Target: centos-7" in p.stdout


def flip_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _replace_key(b: Path, keys):
    (b / "KEY.asc").write_text(keys["other"].asc)


def _replace_both_keys(b: Path, keys):
    (b / "KEY.asc").write_text(keys["other"].asc)
    (b / "KEY.gpg").write_bytes(keys["other"].binary)


def _resign_with_other_key(b: Path, keys):
    # Everything consistent, signed by another key: only the baked-in fingerprint catches it.
    other = keys["other"]
    (b / "KEY.asc").write_text(other.asc)
    (b / "KEY.gpg").write_bytes(other.binary)
    (b / "KEY.fingerprint").write_text(other.fpr + "\n")
    write_sums_and_sign(b, other)


def _resign_keeping_fingerprint_file(b: Path, keys):
    other = keys["other"]
    (b / "KEY.asc").write_text(other.asc)
    (b / "KEY.gpg").write_bytes(other.binary)
    write_sums_and_sign(b, other)


def _extra_key_in_keyring(b: Path, keys):
    # Our key plus another in both keyrings, the sums re-signed by us: the keyrings are
    # listed in SHA256SUMS with their old hashes, so it fails there (and gpg mode names the key).
    (b / "KEY.gpg").write_bytes(keys["good"].binary + keys["other"].binary)


TAMPER = {
    "flip a byte in a .deb": lambda b, k: flip_byte(next((b / "repos/deb").rglob("*.deb")), 3),
    "flip a byte in an .rpm": lambda b, k: flip_byte(next((b / "repos/rpm").rglob("*.rpm")), 5),
    "flip a byte in InRelease": lambda b, k: flip_byte(next(b.rglob("InRelease"))),
    "flip a byte in repomd.xml": lambda b, k: flip_byte(next(b.rglob("repomd.xml"))),
    "flip a byte in manifest.json": lambda b, k: flip_byte(b / "manifest.json"),
    "flip a byte in the SBOM": lambda b, k: flip_byte(next((b / "sbom").iterdir())),
    "flip a byte in install.sh": lambda b, k: flip_byte(b / "install.sh", 20),
    "flip a byte in SHA256SUMS": lambda b, k: flip_byte(b / "SHA256SUMS", 3),
    "flip a byte in SHA256SUMS.asc": lambda b, k: flip_byte(b / "SHA256SUMS.asc", 100),
    "truncate SHA256SUMS.asc": lambda b, k: (b / "SHA256SUMS.asc").write_text(
        (b / "SHA256SUMS.asc").read_text()[:200]),
    "delete a listed file": lambda b, k: (b / "README.txt").unlink(),
    "add an unlisted file": lambda b, k: (b / "repos" / "extra.deb").write_bytes(b"x"),
    "add an unlisted symlink": lambda b, k: (b / "sbom" / "link").symlink_to("/etc/passwd"),
    "replace KEY.asc with another key": _replace_key,
    "replace KEY.asc and KEY.gpg with another key": _replace_both_keys,
    "re-sign everything with another key": _resign_with_other_key,
    "re-sign with another key, fingerprint file kept": _resign_keeping_fingerprint_file,
    "add another key to KEY.gpg": _extra_key_in_keyring,
    "alter KEY.fingerprint": lambda b, k: (b / "KEY.fingerprint").write_text("0" * 40 + "\n"),
    "remove SHA256SUMS.asc": lambda b, k: (b / "SHA256SUMS.asc").unlink(),
    "list a file outside the bundle": lambda b, k: (
        (b / "SHA256SUMS").write_text((b / "SHA256SUMS").read_text()
                                      + hashlib.sha256(b"").hexdigest() + "  ../outside\n"),
        k["good"].sign(b / "SHA256SUMS")),
}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("case", sorted(TAMPER))
def test_tampered_bundle_is_refused(shell, case, keys, tmp_path):
    b = make_bundle(tmp_path / "b", keys["good"])
    root = make_root(tmp_path / "root", "debian-11")
    p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)
    TAMPER[case](b, keys)
    p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 3, out(p)
    assert "Target:" not in p.stdout  # refused before looking at the machine
    assert "ERROR:" in p.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_copy_leftovers_of_macos_and_windows_are_refused_with_the_fix(shell, keys, tmp_path):
    b = make_bundle(tmp_path / "b", keys["good"])
    root = make_root(tmp_path / "root", "debian-11")
    for junk in ("._install.sh", "repos/._Packages", ".DS_Store", "sbom/Thumbs.db"):
        (b / junk).parent.mkdir(parents=True, exist_ok=True)
        (b / junk).write_bytes(b"\0\5\26\7")
    p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 3, out(p)
    hint = next(line for line in p.stderr.splitlines() if "macOS or Windows" in line)
    command = hint.split("to delete them: ", 1)[1]
    subprocess.run(["sh", "-c", command], check=True)
    p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)
    # Any other unlisted file gets no such hint.
    (b / "repos" / "extra.deb").write_bytes(b"x")
    p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 3 and "macOS" not in p.stderr, out(p)


# A PATH of the host's tools, less the ones named: the script's own fallbacks get tested.
def tools_without(tmp_path: Path, *drop: str) -> str:
    d = tmp_path / ("tools-" + hashlib.sha256(" ".join(sorted(drop)).encode()).hexdigest()[:8])
    d.mkdir(exist_ok=True)
    for src in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        if not os.path.isdir(src):
            continue
        for name in os.listdir(src):
            if name in drop or (d / name).exists() or (d / name).is_symlink():
                continue
            (d / name).symlink_to(os.path.join(src, name))
    return str(d)


@pytest.mark.parametrize("shell", SHELLS)
def test_gpg_alone_verifies_too(shell, bundle, tmp_path):
    root = make_root(tmp_path / "root", "debian-11")
    path = tools_without(tmp_path, "gpgv", "gpgv2")
    p = run(shell, bundle, "--check-only", root=root, path=path, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)
    assert "(gpg)" in p.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_gpg_mode_names_an_extra_key(shell, keys, tmp_path):
    b = make_bundle(tmp_path / "b", keys["good"])
    (b / "KEY.gpg").write_bytes(keys["good"].binary + keys["other"].binary)
    write_sums_and_sign(b, keys["good"])  # signed by us: only the key check can catch it
    root = make_root(tmp_path / "root", "debian-11")
    p = run(shell, b, "--check-only", root=root, path=tools_without(tmp_path, "gpgv", "gpgv2"),
            env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 3, out(p)
    assert "KEY.gpg holds key(s)" in p.stderr and keys["other"].fpr in p.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_no_gpg_at_all_refuses(shell, bundle, tmp_path):
    root = make_root(tmp_path / "root", "debian-11")
    path = tools_without(tmp_path, "gpgv", "gpgv2", "gpg", "gpg2")
    p = run(shell, bundle, "--check-only", root=root, path=path, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 3 and "neither gpgv nor gpg" in p.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_sha256_fallbacks(shell, bundle, tmp_path):
    root = make_root(tmp_path / "root", "debian-11")
    p = run(shell, bundle, "--check-only", root=root, path=tools_without(tmp_path, "sha256sum"),
            env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)  # cksum -a sha256 (coreutils >= 9)
    p = run(shell, bundle, "--check-only", root=root, path=tools_without(tmp_path, "sha256sum", "cksum"),
            env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)  # shasum
    p = run(shell, bundle, "--check-only", root=root, path=tools_without(tmp_path, "sha256sum", "cksum", "shasum"),
            env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 3 and "no SHA-256 tool" in p.stderr


# --- identification -----------------------------------------------------------------

@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("os_id,arch,code,expect", [
    ("debian-11", "x86_64", 0, "Target: debian-11"),
    ("debian-11", "arm64", 0, "Target: debian-11"),
    ("centos-7", "x86_64", 0, "Target: centos-7"),
    ("centos-7", "aarch64", 4, "has centos-7 for x86_64 only, this machine is aarch64"),
    ("kylin-v10-sp3", "aarch64", 0, "Target: kylin-v10-sp3"),
    ("kylin-v10-sp3", "riscv64", 4, "this machine is riscv64"),
    ("kylin-v10-sp2", "x86_64", 4, "is not one this bundle was built for"),
    ("unknown", "x86_64", 4, "Alpine Linux v3.19, ID=alpine VERSION_ID=3.19.1"),
])
def test_identification(shell, bundle, tmp_path, os_id, arch, code, expect):
    root = make_root(tmp_path / "root", os_id)
    p = run(shell, bundle, "--check-only", root=root, env={"PKGF_UNAME_M": arch})
    assert p.returncode == code, out(p)
    assert expect in out(p)
    if code == 4 and "built for" in expect:
        assert "debian-11: Debian GNU/Linux 11 (bullseye) (x86_64 aarch64); centos-7: " in p.stderr
    if code == 4:
        # One ERROR line, the last of stderr (the testing hook's warning comes before it).
        assert [ln for ln in p.stderr.splitlines() if not ln.startswith("WARNING: ")] == [
            p.stderr.splitlines()[-1]] and p.stderr.splitlines()[-1].startswith("ERROR: "), out(p)


@pytest.mark.parametrize("shell", SHELLS)
def test_force_target_overrides_and_is_logged(shell, bundle, tmp_path):
    root = make_root(tmp_path / "root", "unknown")
    p = run(shell, bundle, "--check-only", "--force-target", "centos-7", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)
    assert "--force-target centos-7: identification skipped" in p.stderr
    assert "Target: centos-7" in p.stdout
    assert "--force-target centos-7" in (root / "var/log/pkgfactory-install-hello-service.log").read_text()
    # No os-release at all: only --force-target gets past identification.
    (root / "etc/os-release").unlink()
    p = run(shell, bundle, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 4 and "no /etc/os-release" in p.stderr
    p = run(shell, bundle, "--check-only", "--force-target=debian-11", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)


@pytest.mark.parametrize("shell", SHELLS)
def test_glibc_floor(shell, bundle, tmp_path):
    root = make_root(tmp_path / "root", "debian-11")
    p = run(shell, bundle, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64", "PKGF_GLIBC": "2.28"})
    assert p.returncode == 4 and "glibc 2.28 is older than 2.31" in p.stderr
    p = run(shell, bundle, "--check-only", "--force-target", "debian-11", root=root,
            env={"PKGF_UNAME_M": "x86_64", "PKGF_GLIBC": "2.28"})
    assert p.returncode == 0 and "programs would not start" in p.stderr and "(going on: --force-target)" in p.stderr
    p = run(shell, bundle, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64", "PKGF_GLIBC": "glibc 2.31"})
    assert p.returncode == 0, out(p)


def _needs_bundle(keys, where: Path, go_binaries, *variants: str) -> Path:
    """A bundle for debian-11 and centos-7 x86_64 whose binaries are real Go builds, with their glibc needs."""
    from pkgfactory.inspect import inspect_file

    needs = {"x86_64": [(f"/usr/bin/{v}", inspect_file(go_binaries[v]).elf.glibc_max) for v in variants]}
    targets = [target_meta(tg.get(t), ["x86_64"], binaries=needs) for t in ("debian-11", "centos-7")]
    return make_bundle(where, keys["good"], meta_for(keys["good"], targets=targets))


@pytest.mark.parametrize("shell", SHELLS)
def test_a_static_binary_needs_no_glibc_whatever_the_floor(shell, keys, go_binaries, tmp_path):
    """The issue's case: a static binary was refused below debian-11's floor (2.31), 'would not start'."""
    b = _needs_bundle(keys, tmp_path / "b", go_binaries, "static")
    root = make_root(tmp_path / "root", "debian-11")
    for glibc in ("2.12", ""):  # old, or none to be found at all
        p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64", "PKGF_GLIBC": glibc})
        assert p.returncode == 0, out(p)
        assert "glibc" not in p.stderr, p.stderr  # no refusal, no warning about a version nobody needs
    log = (root / "var/log/pkgfactory-install-hello-service.log").read_text()
    assert "debian-11's floor 2.31, the bundled programs need none" in log


@pytest.mark.parametrize("shell", SHELLS)
def test_a_dynamic_binary_needs_its_own_glibc_and_is_named(shell, keys, go_binaries, tmp_path):
    # cgo-zig217 is linked for glibc 2.17, and its symbol versions stop at GLIBC_2.3.2: that is
    # what the dynamic linker checks, so it starts far below debian-11's floor (2.31), down to 2.3.2.
    b = _needs_bundle(keys, tmp_path / "b", go_binaries, "static", "cgo-zig217")
    root = make_root(tmp_path / "root", "debian-11")
    env = {"PKGF_UNAME_M": "x86_64"}
    p = run(shell, b, "--check-only", root=root, env={**env, "PKGF_GLIBC": "2.12"})
    assert p.returncode == 0, out(p)
    p = run(shell, b, "--check-only", root=root, env={**env, "PKGF_GLIBC": "2.2.5"})
    assert p.returncode == 4, out(p)
    assert ("glibc 2.2.5 is older than 2.3.2, which /usr/bin/cgo-zig217 needs: it would not start. Install on a "
            "machine with glibc 2.3.2 or newer, or ask for a build of it linked against glibc 2.2.5 or static "
            "(CGO_ENABLED=0)") in p.stderr
    p = run(shell, b, "--check-only", "--lang", "zh", root=root, env={**env, "PKGF_GLIBC": "2.2.5"})
    assert p.returncode == 4 and "glibc 2.2.5 低于 /usr/bin/cgo-zig217 所需的 2.3.2：该程序将无法启动" in p.stderr
    p = run(shell, b, "--check-only", "--force-target", "debian-11", root=root, env={**env, "PKGF_GLIBC": "2.2.5"})
    assert p.returncode == 0 and "which /usr/bin/cgo-zig217 needs" in p.stderr and "--force-target" in p.stderr
    # The host-glibc cgo build needs 2.34: named, and the highest need wins over the lower one.
    b = _needs_bundle(keys, tmp_path / "b2", go_binaries, "cgo-zig217", "cgo-host", "static")
    p = run(shell, b, "--check-only", root=root, env={**env, "PKGF_GLIBC": "2.31"})
    assert p.returncode == 4 and "older than 2.34, which /usr/bin/cgo-host needs" in p.stderr, out(p)


def test_binaries_in_bundle_meta_are_checked(keys):
    t = target_meta(tg.get("debian-11"), ["x86_64"], binaries={"x86_64": [("/usr/bin/a", "2.17")]})
    assert t["arches"][0]["binaries"] == [{"path": "/usr/bin/a", "glibc": "2.17"}]
    for bad, msg in [([{"path": "/usr/bin/a", "glibc": "new"}], "targets[0].arches[0].binaries[0].glibc"),
                     ([{"path": "/usr/bin/a"}], "missing key(s) 'glibc'"),
                     ([{"path": "a\nb", "glibc": None}], "binaries[0].path"),
                     ("/usr/bin/a", "binaries: must be a list")]:
        t["arches"][0]["binaries"] = bad
        with pytest.raises(InputError, match=re.escape(msg)):
            render_installer(meta_for(keys["good"], targets=[t]))


def parse_os_release(text: str) -> dict[str, str]:
    """What the script reads: KEY=VALUE, one pair of quotes stripped, backslash escapes undone."""
    osr = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#") or "=" not in line[1:]:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        osr[key] = value
    return osr


def os_release_samples() -> dict[str, str]:
    """One os-release per built-in profile, made from its own globs, plus near misses."""
    samples = dict(OS_RELEASE)
    for p in tg.load_all().values():
        lines = []
        for key, pats in p.identify.items():
            value = pats[-1].replace("*", "9").replace("?", "x")
            if key == "id":
                value = value.upper() if p.id.startswith("deepin") else value
            if key == "id_like":
                value = f"other {value}"
            lines.append(f'{key.upper()}="{value}"')
        samples[p.id] = "\n".join(lines) + "\n"
        samples[p.id + "-no-version"] = "\n".join(x for x in lines if not x.startswith("VERSION")) + "\n"
    samples["uos-server"] = 'ID=uos\nVERSION_ID="20"\nPLATFORM_ID="platform:uel20"\n'
    samples["quoted-single"] = "ID='debian'\nVERSION_ID='12'\n"
    samples["escaped"] = 'ID="debian"\nVERSION_ID="1\\2"\n'
    samples["crlf"] = 'ID=debian\r\nVERSION_ID="11"\r\n'
    samples["last-wins"] = 'ID=centos\nVERSION_ID="6"\nVERSION_ID="7"\n'
    return samples


@pytest.fixture(scope="module")
def all_targets_bundle(keys, tmp_path_factory):
    profiles = list(tg.load_all().values())
    meta = meta_for(keys["good"], targets=[target_meta(p, list(p.arches)) for p in profiles])
    return make_bundle(tmp_path_factory.mktemp("all") / "b", keys["good"], meta), profiles


def test_identification_agrees_with_python(all_targets_bundle, tmp_path):
    """The sh globs and Profile.matches_os_release pick the same targets for every sample."""
    b, profiles = all_targets_bundle
    for n, (name, text) in enumerate(sorted(os_release_samples().items())):
        osr = parse_os_release(text.replace("\r", ""))
        want = [p.id for p in profiles if p.matches_os_release(osr)]
        root = make_root(tmp_path / f"r{n}", None, text=text, modules=False)
        arch = next(iter(tg.get(want[0]).arches)) if want else "x86_64"
        shell = SHELLS[n % 2]
        p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": arch, "PKGF_GLIBC": "99"})
        log = (root / "var/log/pkgfactory-install-hello-service.log").read_text()
        got = re.search(r"matches: (.*)$", log, re.M).group(1)
        assert got == (" ".join(want) or "none"), (name, text, out(p))
        if want:
            assert p.returncode == 0 and f"Target: {want[0]} " in p.stdout, (name, out(p))
        else:
            assert p.returncode == 4, (name, out(p))


# --- kernel -------------------------------------------------------------------------

@pytest.mark.parametrize("shell", SHELLS)
def test_kernel_module_table(shell, keys, tmp_path):
    meta = meta_for(keys["good"], kernel_modules=["overlay", "bridge", "nf-tables", "br_netfilter", "wireguard"])
    b = make_bundle(tmp_path / "b", keys["good"], meta)
    root = make_root(tmp_path / "root", "debian-11")
    p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 5, out(p)
    table = [ln.split() for ln in p.stdout.splitlines() if ln.startswith("  ")]
    assert table == [["MODULE", "STATE"], ["overlay", "loaded"], ["bridge", "builtin"],
                     ["nf-tables", "loadable"], ["br_netfilter", "loadable"], ["wireguard", "MISSING"]]
    assert "kernel check failed" in p.stderr
    p = run(shell, b, "--check-only", "--skip-kmod-check", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)
    assert "going on because of --skip-kmod-check" in p.stderr
    assert "  wireguard                MISSING" in p.stdout
    p = run(shell, b, "--check-only", "--lang", "zh", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 5 and "模块" in p.stdout and "内核检查未通过" in p.stderr
    # In Chinese the states are Chinese too (the table said MISSING in English).
    table = [ln.split() for ln in p.stdout.splitlines() if ln.startswith("  ")]
    assert table == [["模块", "状态"], ["overlay", "已加载"], ["bridge", "内置"], ["nf-tables", "可加载"],
                     ["br_netfilter", "可加载"], ["wireguard", "缺失"]], table
    assert not re.search(r"MISSING|loaded|builtin|loadable", p.stdout)


# --- exit codes: one list for the script, its help and README.txt ---------------------

def test_exit_codes_come_from_one_list_the_script_and_readme_share(keys):
    from pkgfactory.bundle.installer import exit_codes
    from pkgfactory.bundle.readme import render_readme

    codes = exit_codes()
    script = render_installer(meta_for(keys["good"]))
    defined = dict(re.findall(r"^EX_([A-Z]+)=(\d+)$", script, re.M))
    assert defined == {e["name"]: str(e["code"]) for e in codes if e["name"]}
    # Every EX_ the partials use is defined there, and every named code is used somewhere.
    used = set(re.findall(r"\$EX_([A-Z]+)", script))
    assert used == set(defined), used ^ set(defined)
    # No partial exits with a bare number (the text-mode check runs before the variables and
    # takes its code from the list too).
    templates = Path(__file__).resolve().parent.parent / "templates" / "bundle"
    for t in [templates / "install.sh.j2", *sorted((templates / "install").glob("*.j2"))]:
        assert not re.findall(r"(?m)(?:^\s*|;\s*)exit \d", t.read_text()), t.name
    # The signal exits are the traps' own codes.
    traps = {int(c) for c in re.findall(r"trap 'on_signal (\d+)'", script)}
    assert traps == {e["code"] for e in codes if not e["name"]}
    readme = render_readme({"name": "x", "version": "1", "release": "1", "fingerprint": keys["good"].fpr,
                            "targets": meta_for(keys["good"])["targets"], "kernel": {"modules": []},
                            "uos": [], "kysec": []})
    for e in codes:
        assert re.search(rf"^    {e['code']} +{re.escape(e['zh'])} / {re.escape(e['en'])}$", readme, re.M), e
    docs = (Path(__file__).resolve().parent.parent / "docs" / "install.md").read_text()
    for e in codes:
        assert re.search(rf"^\| [0-9, ]*\b{e['code']}\b[0-9, ]* \|", docs, re.M), f"docs/install.md lacks {e['code']}"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_help_lists_every_exit_code(bundle, lang):
    from pkgfactory.bundle.installer import exit_codes

    p = run("dash", bundle, "--help", "--lang", lang)
    assert p.returncode == 0, out(p)
    for e in exit_codes():
        assert re.search(rf"^  {e['code']} +{re.escape(e[lang])}$", p.stdout, re.M), (e, p.stdout)


@pytest.mark.parametrize("shell", SHELLS)
def test_modules_found_without_modules_tree(shell, keys, tmp_path):
    meta = meta_for(keys["good"], kernel_modules=["overlay"])
    b = make_bundle(tmp_path / "b", keys["good"], meta)
    root = make_root(tmp_path / "root", "debian-11", modules=False)
    (root / "proc/modules").write_text("overlay 151552 0 - Live 0x0\n")
    p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)
    assert "no /lib/modules/" in p.stderr and "  overlay                  loaded" in p.stdout


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("kmin,kmax,krel,ok", [
    (None, "5.10", "5.10.200-1-amd64", True),
    (None, "5.10", "5.11.0", False),
    (None, "5.10", "4.19.90-52.ky10.x86_64", True),
    ("4.19.90-52", None, "4.19.90-89.11.v2401.ky10.x86_64", True),
    ("4.19.90-52", None, "4.19.90-23.8.v2101.ky10.aarch64", False),
    ("3.10.0-1160", "3.10", "3.10.0-1160.el7.x86_64", True),
    ("3.10.0-1160", "3.10", "3.10.0-957.el7.x86_64", False),
    ("5.4", "6.1", "6.1.0-13-amd64", True),
    ("5.4", None, "5.4", True),
    ("5.4", None, "garbage", False),
])
def test_kernel_range(shell, keys, tmp_path, kmin, kmax, krel, ok):
    b = make_bundle(tmp_path / "b", keys["good"], meta_for(keys["good"], kernel={"min": kmin, "max": kmax}))
    root = make_root(tmp_path / "root", "debian-11")
    p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64", "PKGF_UNAME_R": krel})
    assert p.returncode == (0 if ok else 5), out(p)
    assert ("within the supported range" if ok else "outside the supported range") in out(p)
    if not ok:
        p = run(shell, b, "--check-only", "--skip-kmod-check", root=root,
                env={"PKGF_UNAME_M": "x86_64", "PKGF_UNAME_R": krel})
        assert p.returncode == 0, out(p)


# --- installing with stand-in package managers -----------------------------------------

FAKE_PM = r"""#!/bin/sh
# Stand-in package manager for tests: records its arguments, keeps package state
# in files ("STATE VERSION" in $FAKE_STATE/pkg.NAME). It installs the version
# asked for, or FAKE_GOT where a test needs a manager that says yes and does otherwise.
# Its settings are in a file beside it: install.sh passes no FAKE_* variable on.
. "${0%/*}/fake.env"
me=${0##*/}
st=$FAKE_STATE
printf '%s' "$me" >>"$st/calls"; for a in "$@"; do printf ' [%s]' "$a" >>"$st/calls"; done; echo >>"$st/calls"
fail() { [ "${FAKE_FAIL:-}" = "$1" ]; }
# The package names: the arguments after the action word.
pkgs_after() { seen=; for a in "$@"; do [ -n "$seen" ] && echo "$a"; case $a in install|downgrade|remove|-e|--remove) seen=1;; esac; done; }
last() { for a in "$@"; do :; done; echo "$a"; }
have_version() { [ -f "$st/pkg.$1" ] && awk '{ print $2 }' "$st/pkg.$1"; }
case $me in
apt-get)
    for a in "$@"; do
        case $a in
        Dir::Etc::sourcelist=*) cp "${a#*=}" "$st/sources.seen" ;;
        Dir::State::Lists=*) echo "${a#*=}" >"$st/lists.seen" ;;
        esac
    done
    src=$(sed -n 's/.*signed-by=\([^]]*\)\].*/\1/p' "$st/sources.seen" 2>/dev/null)
    [ -z "$src" ] || { readlink -f "$src" >"$st/signed-by.resolved"; sha256sum <"$src" >"$st/signed-by.sha256"; }
    down=0
    for a in "$@"; do [ "$a" = --allow-downgrades ] && down=1; done
    for a in "$@"; do
        case $a in
        update) echo "Get:1 file:/bundle stand-in InRelease"; fail update && { echo "E: stand-in update failure"; exit 100; }; exit 0 ;;
        install)
            if [ -n "${FAKE_SLEEP:-}" ]; then touch "$st/started"; sleep "$FAKE_SLEEP"; fi
            for p in $(pkgs_after "$@"); do
                name=${p%%=*}; ver=${p#*=}
                old=$(have_version "$name")
                if [ -n "$old" ] && [ "$down" = 0 ] && dpkg --compare-versions "$ver" lt "$old"; then
                    echo "E: Packages were downgraded and -y was used without --allow-downgrades."; exit 100
                fi
                echo "Unpacking $name ($ver) ..."
                if fail install; then echo "half-configured $ver" >"$st/pkg.$name"; echo "E: Sub-process /usr/bin/dpkg returned an error code (1)"; exit 100; fi
                echo "installed ${FAKE_GOT:-$ver}" >"$st/pkg.$name"
            done
            exit 0 ;;
        esac
    done ;;
dpkg-query)
    p=$(last "$@")
    [ -f "$st/pkg.$p" ] || { echo "dpkg-query: no packages found matching $p" >&2; exit 1; }
    read -r state ver <"$st/pkg.$p"
    case "$*" in
    *Status*) echo "install ok $state" ;;
    *Version*) echo "$ver" ;;
    esac ;;
dpkg)
    case $1 in --compare-versions) exec /usr/bin/dpkg "$@" ;; esac
    fail remove && exit 1
    for p in $(pkgs_after "$@"); do echo "Removing $p ..."; rm -f "$st/pkg.$p"; done ;;
dnf|yum)
    for a in "$@"; do case $a in --setopt=reposdir=*) cat "${a#--setopt=reposdir=}"/*.repo >"$st/repos.seen";; esac; done
    key=$(sed -n 's|^gpgkey=file://||p' "$st/repos.seen" 2>/dev/null)
    [ -z "$key" ] || sha256sum <"$key" >"$st/gpgkey.sha256"
    if fail install; then echo "Error: Transaction failed"; exit 1; fi
    for p in $(pkgs_after "$@"); do
        name=$(echo "$p" | sed 's/-[^-]*-[^-]*$//'); ver=${p#"$name"-}
        echo "Installing $name $ver"; echo "installed ${FAKE_GOT:-$ver}" >"$st/pkg.$name"
    done ;;
rpm)
    case $1 in
    -q)
        p=$(last "$@")
        [ -f "$st/pkg.$p" ] || { case "$*" in *--quiet*) ;; *) echo "package $p is not installed" ;; esac; exit 1; }
        case "$*" in
        *--qf*) ver=$(have_version "$p"); case $ver in *:*) echo "$ver" ;; *) echo "0:$ver" ;; esac ;;
        esac ;;
    -e) shift; for p in "$@"; do rm -f "$st/pkg.$p"; done ;;
    esac ;;
esac
"""

PM_TOOLS = ("apt-get", "apt", "dpkg", "dpkg-query", "rpm", "dnf", "yum", "zypper")


@pytest.fixture
def fake(tmp_path):
    """A PATH whose package managers are stand-ins, and their state directory."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    state = tmp_path / "state"
    state.mkdir()

    class Fake:
        path = ""
        def with_pms(self, *names):
            for n in names:
                (bin_dir / n).write_text(FAKE_PM)
                (bin_dir / n).chmod(0o755)
            self.path = f"{bin_dir}:{tools_without(tmp_path, *PM_TOOLS)}"
            if not (bin_dir / "fake.env").exists():
                self.env()
            return self

        def env(self, **kw):
            """The stand-ins' settings, written to fakebin/fake.env (install.sh removes them from the
            environment); the environment for install.sh, with kw for what it keeps (TMPDIR)."""
            settings = {"FAKE_STATE": str(state), **kw}
            (bin_dir / "fake.env").write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in settings.items()))
            return {"PKGF_UNAME_M": "x86_64", **kw}

        def calls(self) -> list[str]:
            f = state / "calls"
            return f.read_text().splitlines() if f.exists() else []

        def installed(self, pkg) -> str | None:
            """dpkg's state word (installed, half-configured), None when not installed."""
            f = state / f"pkg.{pkg}"
            return f.read_text().split()[0] if f.exists() else None

        def version(self, pkg) -> str | None:
            f = state / f"pkg.{pkg}"
            return f.read_text().split()[1] if f.exists() else None

        def preinstall(self, pkg, version, state_word="installed"):
            (state / f"pkg.{pkg}").write_text(f"{state_word} {version}\n")

        def seen(self, name) -> str:
            return (state / name).read_text()

    Fake.state = state
    return Fake()


def private_copy(fake, root: Path) -> Path:
    """The copy apt was pointed at: in the work directory, under the TMPDIR run() gives (root's own, 0700)."""
    work = Path(fake.seen("lists.seen").strip()).parent
    assert work.parent == root.parent / "tmpdir" and work.name.startswith("pkgfactory.")
    return work / "bundle"


@pytest.mark.parametrize("shell", SHELLS)
def test_deb_install_twice_then_uninstall_twice(shell, bundle, tmp_path, fake):
    root = make_root(tmp_path / "root", "debian-11")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    before = snapshot(root / "etc")
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    assert "Installed: hello-service 1.2.3-1" in p.stdout
    assert fake.installed("hello-service") == "installed" and fake.version("hello-service") == "1.2.3-1"
    assert snapshot(root / "etc") == before
    copy = private_copy(fake, root)
    src = fake.seen("sources.seen").splitlines()
    assert src[0].startswith("# pkgfactory install.sh: temporary source")
    assert src[1] == (f"deb [arch=amd64 signed-by={copy}/KEY.gpg] "
                      f"file:{copy}/repos/deb/debian-11 debian-11 main")
    assert fake.seen("signed-by.sha256").split()[0] == hashlib.sha256((bundle / "KEY.gpg").read_bytes()).hexdigest()
    calls = fake.calls()
    update = next(c for c in calls if c.endswith("[update]"))
    for opt in (f"[Dir::Etc::sourcelist={root}/etc/apt/sources.list.d/pkgfactory-hello-service.list]",
                "[Dir::Etc::sourceparts=-]", "[APT::Get::List-Cleanup=0]", "[APT::Sandbox::User=root]"):
        assert opt in update
    assert any(c.endswith("[install] [hello-service=1.2.3-1]") and "[-y]" in c and "--allow-downgrades" not in c
               for c in calls)

    # The same version again: nothing to do, and it says so without touching apt.
    n = len(fake.calls())
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    assert "Nothing to do: hello-service 1.2.3-1 is installed already" in p.stdout
    assert not any(c.startswith("apt-get") for c in fake.calls()[n:])
    assert snapshot(root / "etc") == before

    p = run(shell, bundle, "--uninstall", "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    assert "Removed: hello-service" in p.stdout and fake.installed("hello-service") is None
    assert "dpkg [--remove] [hello-service]" in fake.calls()
    p = run(shell, bundle, "--uninstall", "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0 and "Nothing to remove" in p.stdout
    assert snapshot(root / "etc") == before
    log = (root / "var/log/pkgfactory-install-hello-service.log").read_text()
    assert log.count("end (exit 0)") == 4 and "Unpacking hello-service" in log


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("pms,os_id,pm", [(("dnf", "yum", "rpm"), "kylin-v10-sp3", "dnf"),
                                          (("yum", "rpm"), "centos-7", "yum")])
def test_rpm_install_and_uninstall(shell, bundle, tmp_path, fake, pms, os_id, pm):
    root = make_root(tmp_path / "root", os_id)
    fake.with_pms(*pms)
    before = snapshot(root / "etc")
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    assert snapshot(root / "etc") == before
    repo = fake.seen("repos.seen").splitlines()
    copy = next(ln for ln in repo if ln.startswith("baseurl=file://")).removeprefix("baseurl=file://")
    copy = Path(copy.removesuffix(f"/repos/rpm/{os_id}/x86_64"))
    assert copy.parent.parent == root.parent / "tmpdir" and copy.name == "bundle"
    for line in ("[pkgfactory-hello-service]", f"baseurl=file://{copy}/repos/rpm/{os_id}/x86_64",
                 "enabled=0", "gpgcheck=1", "repo_gpgcheck=1", f"gpgkey=file://{copy}/KEY.asc"):
        assert line in repo
    call = next(c for c in fake.calls() if c.startswith(pm + " "))
    assert "[-y] [--disablerepo=*] [--enablerepo=pkgfactory-hello-service]" in call
    assert call.endswith("[install] [hello-service-1.2.3-1]")
    assert fake.version("hello-service") == "1.2.3-1"
    p = run(shell, bundle, "--uninstall", "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    assert "rpm [-e] [hello-service]" in fake.calls()


@pytest.mark.parametrize("shell", SHELLS)
def test_bundle_path_with_spaces_and_quotes(shell, keys, tmp_path, fake):
    b = make_bundle(tmp_path / "USB stick $(x) 'q'" / "hello [1]", keys["good"])
    root = make_root(tmp_path / "root", "debian-11")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    p = run(shell, b, "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    line = fake.seen("sources.seen").splitlines()[1]
    # The source line names the private copy, whose path is plain whatever the stick's is.
    assert re.fullmatch(r"deb \[arch=amd64 signed-by=/[A-Za-z0-9._/+-]+/KEY.gpg\] "
                        r"file:/[A-Za-z0-9._/+-]+/repos/deb/debian-11 debian-11 main", line), line
    assert fake.seen("signed-by.resolved").strip() == f"{private_copy(fake, root)}/KEY.gpg"


# --- under faults -------------------------------------------------------------------

def assert_clean_failure(p, code: int, root: Path, before: dict, words: str):
    assert p.returncode == code, out(p)
    assert words in p.stderr, out(p)
    assert snapshot(root / "etc") == before
    assert not list((root.parent / "tmpdir").iterdir()), "work directory left behind"


@pytest.mark.parametrize("shell", SHELLS)
def test_fault_sources_dir_is_not_a_directory(shell, bundle, tmp_path, fake):
    root = make_root(tmp_path / "root", "debian-11")
    shutil.rmtree(root / "etc/apt/sources.list.d")
    (root / "etc/apt/sources.list.d").write_text("not a directory\n")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    before = snapshot(root / "etc")
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert_clean_failure(p, 6, root, before, "is not a directory")
    assert not any(c.startswith("apt-get") for c in fake.calls())


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("family,os_id,where,pms", [
    ("deb", "debian-11", "etc/apt/sources.list.d", ("apt-get", "dpkg", "dpkg-query")),
    ("rpm", "centos-7", "etc/yum.repos.d", ("yum", "rpm")),
])
def test_fault_read_only_repo_dir(shell, bundle, tmp_path, fake, family, os_id, where, pms):
    root = make_root(tmp_path / "root", os_id)
    fake.with_pms(*pms)
    before = snapshot(root / "etc")
    target = root / where
    # Root writes through chmod 0555, so make the directory immutable instead.
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode != 0:
        # A property of the file system (tmpfs has no immutable flag) and of the container, not the set-up.
        pytest.skip("chattr +i does not work here (ext4/xfs/btrfs and CAP_LINUX_IMMUTABLE needed)")
    try:
        p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
    assert_clean_failure(p, 6, root, before, "cannot write")
    assert "Operation not permitted" in p.stderr
    assert len(fake.calls()) <= 2  # only the installed-state queries, never an install


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("os_id,where,pms", [
    ("debian-11", "etc/apt/sources.list.d", ("apt-get", "dpkg", "dpkg-query")),
    ("kylin-v10-sp3", "etc/yum.repos.d", ("dnf", "rpm")),
])
def test_fault_full_repo_dir(shell, bundle, tmp_path, fake, os_id, where, pms):
    """A full file system under the repository directory (a 4 KiB tmpfs in a private mount namespace)."""
    root = make_root(tmp_path / "root", os_id)
    fake.with_pms(*pms)
    d = root / where
    report = tmp_path / "report"
    inner = (
        'mount -t tmpfs -o size=4k tmpfs "$D" || exit 99\n'
        'echo "deb http://vendor.example/apt stable main" >"$D/vendor.list"\n'
        'dd if=/dev/zero of="$D/filler" bs=1k count=64 2>/dev/null\n'
        'snap() { (cd "$D" && find . | sort | while read -r f; do printf "%s " "$f"; '
        '[ -f "$f" ] && sha256sum <"$f" || echo; done); }\n'
        'snap >"$R.before"\n'
        '"$SH" "$B/install.sh" --yes </dev/null >"$R.out" 2>&1; echo $? >"$R.rc"\n'
        'snap >"$R.after"\n'
    )
    env = {**os.environ, **fake.env(), "PKGF_PATH": fake.path, "PKGF_ROOT": str(root), "D": str(d), "R": str(report),
           "SH": need(shell), "B": str(bundle), "LANG": "C"}
    p = subprocess.run(["unshare", "-m", "sh", "-c", inner], env=env, capture_output=True, text=True, timeout=60)
    if p.returncode == 99 or not Path(f"{report}.rc").exists():
        pytest.skip(f"cannot mount a tmpfs in a private mount namespace here (CAP_SYS_ADMIN): {p.stderr}")
    text = Path(f"{report}.out").read_text()
    assert Path(f"{report}.rc").read_text().strip() == "6", text
    assert "cannot write" in text and "unchanged" in text
    assert Path(f"{report}.before").read_text() == Path(f"{report}.after").read_text()
    assert not any(c.startswith(("apt-get", "dnf")) for c in fake.calls())


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("stage", ["update", "install"])
def test_fault_package_manager_fails_half_way(shell, bundle, tmp_path, fake, stage):
    root = make_root(tmp_path / "root", "debian-11")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    before = snapshot(root / "etc")
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env(FAKE_FAIL=stage))
    assert_clean_failure(p, 7, root, before, f"apt-get {stage}" if stage == "install" else "apt-get update")
    if stage == "install":
        assert "Unpacking hello-service" in p.stdout and "--uninstall" in p.stderr
        assert fake.installed("hello-service") == "half-configured"
    # --uninstall after the failure removes what is there, and is harmless twice.
    p = run(shell, bundle, "--uninstall", "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    assert fake.installed("hello-service") is None
    p = run(shell, bundle, "--uninstall", "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0 and "Nothing to remove" in p.stdout
    assert snapshot(root / "etc") == before


@pytest.mark.parametrize("shell", SHELLS)
def test_fault_rpm_transaction_fails(shell, bundle, tmp_path, fake):
    root = make_root(tmp_path / "root", "kylin-v10-sp3")
    fake.with_pms("dnf", "rpm")
    before = snapshot(root / "etc")
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env(FAKE_FAIL="install"))
    assert_clean_failure(p, 7, root, before, "dnf install failed")
    p = run(shell, bundle, "--uninstall", "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0 and "Nothing to remove" in p.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_fault_unknown_os(shell, bundle, tmp_path, fake):
    root = make_root(tmp_path / "root", "unknown")
    fake.with_pms("apt-get", "dpkg", "dpkg-query", "dnf", "yum", "rpm")
    before = snapshot(root / "etc")
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert_clean_failure(p, 4, root, before, "is not one this bundle was built for")
    assert fake.calls() == []
    p = run(shell, bundle, "--uninstall", "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 4 and fake.calls() == []


@pytest.mark.parametrize("shell", SHELLS)
def test_fault_no_gpg(shell, bundle, tmp_path, fake):
    root = make_root(tmp_path / "root", "debian-11")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    path = f"{tmp_path / 'fakebin'}:{tools_without(tmp_path, *PM_TOOLS, 'gpg', 'gpgv', 'gpg2', 'gpgv2')}"
    before = snapshot(root / "etc")
    p = run(shell, bundle, "--yes", root=root, path=path, env=fake.env())
    assert_clean_failure(p, 3, root, before, "neither gpgv nor gpg")
    assert fake.calls() == []


@pytest.mark.parametrize("shell", SHELLS)
def test_fault_missing_file(shell, keys, tmp_path, fake):
    b = make_bundle(tmp_path / "b", keys["good"])
    next((b / "repos/deb").rglob("*.deb")).unlink()
    root = make_root(tmp_path / "root", "debian-11")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    before = snapshot(root / "etc")
    p = run(shell, b, "--yes", root=root, path=fake.path, env=fake.env())
    assert_clean_failure(p, 3, root, before, "files SHA256SUMS lists are missing or are directories")
    assert "repos/deb/debian-11/pool/hello-service_1.2.3_amd64.deb" in p.stderr
    assert fake.calls() == []


@pytest.mark.parametrize("shell", SHELLS)
def test_fault_kernel_module_missing_blocks_install(shell, keys, tmp_path, fake):
    b = make_bundle(tmp_path / "b", keys["good"], meta_for(keys["good"], kernel_modules=["wireguard"]))
    root = make_root(tmp_path / "root", "debian-11")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    before = snapshot(root / "etc")
    p = run(shell, b, "--yes", root=root, path=fake.path, env=fake.env())
    assert_clean_failure(p, 5, root, before, "kernel check failed")
    assert fake.calls() == []


@pytest.mark.parametrize("shell", SHELLS)
def test_leftover_from_a_killed_run_is_replaced_and_foreign_file_kept(shell, bundle, tmp_path, fake):
    root = make_root(tmp_path / "root", "debian-11")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    before = snapshot(root / "etc")
    lst = root / "etc/apt/sources.list.d/pkgfactory-hello-service.list"
    lst.write_text("# pkgfactory install.sh: temporary source for hello-service, removed when it finishes\n"
                   "deb [signed-by=/old/KEY.gpg] file:/old/repos/deb/debian-11 debian-11 main\n")
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    assert snapshot(root / "etc") == before  # the leftover is gone too

    # With the bundle's version installed there is nothing to do, but a leftover goes all the same.
    lst.write_text("# pkgfactory install.sh: temporary source for hello-service, removed when it finishes\n")
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0 and "Nothing to do" in p.stdout, out(p)
    assert snapshot(root / "etc") == before

    fake.preinstall("hello-service", "1.0-1")
    lst.write_text("deb http://someone.else/ stable main\n")
    foreign = snapshot(root / "etc")
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert_clean_failure(p, 6, root, foreign, "was not written by this installer")


@pytest.mark.parametrize("shell", SHELLS)
def test_uninstall_removes_leftover_source(shell, bundle, tmp_path, fake):
    root = make_root(tmp_path / "root", "centos-7")
    fake.with_pms("yum", "rpm")
    before = snapshot(root / "etc")
    (root / "etc/yum.repos.d/pkgfactory-hello-service.repo").write_text(
        "# pkgfactory install.sh: temporary source for hello-service, removed when it finishes\n[x]\n")
    p = run(shell, bundle, "--uninstall", "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    assert "left behind by an interrupted run" in p.stdout
    assert snapshot(root / "etc") == before


@pytest.mark.parametrize("shell", SHELLS)
def test_interrupted_install_cleans_up(shell, bundle, tmp_path, fake):
    root = make_root(tmp_path / "root", "debian-11")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    before = snapshot(root / "etc")
    (tmp_path / "tmpdir").mkdir()
    e = {"PATH": os.environ["PATH"], "PKGF_PATH": fake.path, "PKGF_ROOT": str(root), "LANG": "C",
         "TMPDIR": str(tmp_path / "tmpdir"),
         **fake.env(FAKE_SLEEP="3")}
    proc = subprocess.Popen([need(shell), str(bundle / "install.sh"), "--yes"], env=e, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (fake.state / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    assert (root / "etc/apt/sources.list.d/pkgfactory-hello-service.list").exists()
    # A second run meanwhile waits for nobody: it refuses.
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 9 and "is running" in p.stderr
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stdout + stderr
    assert "Interrupted" in stderr
    assert snapshot(root / "etc") == before
    assert not list((tmp_path / "tmpdir").iterdir())


# --- a real Debian 11 ---------------------------------------------------------------

@pytest.mark.container
def test_check_only_in_debian_11_with_gpgv_only(bundle, container_engine, debian_image):
    image = debian_image("11")
    p = subprocess.run([container_engine.path, "run", "--rm", "--network=none", "-v", f"{bundle}:/bundle:ro", image,
                        "sh", "-c", "command -v gpg || echo no-gpg; command -v gpgv; "
                        "sh /bundle/install.sh --check-only --skip-kmod-check; echo rc=$?"],
                       capture_output=True, text=True, timeout=300)
    text = p.stdout + p.stderr
    assert "no-gpg" in p.stdout and "/usr/bin/gpgv" in p.stdout, text
    assert "rc=0" in p.stdout, text
    assert "Signature of SHA256SUMS: good" in p.stdout and "(gpgv)" in p.stdout, text
    assert "Target: debian-11 (Debian GNU/Linux 11 (bullseye))" in p.stdout, text


def build_apt_repo(repo: Path, suite: str, key: Key, work: Path, version: str = "1.2.3",
                   says: str = "hello from the bundle") -> str:
    """A real signed apt repository holding one tiny package, made the way apt tools make them.

    The package's /usr/bin/hello-service prints ``says``; returns the dpkg arch.
    """
    pkg = work / f"pkgroot-{hashlib.sha256((str(repo) + version).encode()).hexdigest()[:8]}"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "usr/bin").mkdir(parents=True)
    (pkg / "usr/bin/hello-service").write_text(f"#!/bin/sh\necho {says} {version}\n")
    (pkg / "usr/bin/hello-service").chmod(0o755)
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    (pkg / "DEBIAN/control").write_text(
        f"Package: hello-service\nVersion: {version}\nArchitecture: {arch}\nMaintainer: t <t@example.invalid>\n"
        "Description: test package\n")
    pool = repo / "pool/main/h/hello-service"
    pool.mkdir(parents=True)
    subprocess.run([need("dpkg-deb"), "--root-owner-group", "-Zxz", "--build", str(pkg),
                    str(pool / f"hello-service_{version}_{arch}.deb")], check=True, capture_output=True)
    bdir = repo / f"dists/{suite}/main/binary-{arch}"
    bdir.mkdir(parents=True)
    packages = subprocess.run([need("apt-ftparchive"), "packages", "pool"], cwd=repo, capture_output=True,
                              text=True, check=True).stdout
    (bdir / "Packages").write_text(packages)
    subprocess.run(["gzip", "-9nk", str(bdir / "Packages")], check=True)
    release = subprocess.run([need("apt-ftparchive"), "-o", f"APT::FTPArchive::Release::Suite={suite}",
                              "-o", f"APT::FTPArchive::Release::Codename={suite}",
                              "-o", "APT::FTPArchive::Release::Components=main",
                              "-o", f"APT::FTPArchive::Release::Architectures={arch}",
                              "release", f"dists/{suite}"], cwd=repo, capture_output=True, text=True, check=True).stdout
    rel = repo / f"dists/{suite}/Release"
    rel.write_text(release)
    key.gpg(["--passphrase", "", "--digest-algo", "SHA256", "--clearsign", "-o", str(rel.with_name("InRelease")),
             str(rel)])
    key.gpg(["--passphrase", "", "--digest-algo", "SHA256", "-abs", "-o", str(rel.with_name("Release.gpg")), str(rel)])
    return arch


def real_bundle(where: Path, keys, repo_signer: str = "good", target: str = "debian-11",
                prebuilt: bool = False, version: str = "1.2.3", name: str = "bundle") -> Path:
    """A bundle with a real apt repository for ``target`` (this host's arch), its Release signed by
    ``repo_signer``, holding ``version``; ``prebuilt``: its package counts as supplied already built."""
    key = keys["good"]
    b = where / name
    b.mkdir()
    arch = build_apt_repo(b / "repos/deb" / target, target, keys[repo_signer], where, version)
    ours = {"amd64": "x86_64", "arm64": "aarch64"}[arch]
    return seal(b, key, meta_for(key, version=version, evr=version,
                                 targets=[target_meta(tg.get(target), [ours], prebuilt=[ours] if prebuilt else ())]))


def seal(b: Path, key: Key, meta: dict) -> Path:
    """The rest of a bundle around its repositories: install.sh, the keys, SHA256SUMS(.asc)."""
    (b / "install.sh").write_text(render_installer(meta))
    (b / "KEY.asc").write_text(key.asc)
    (b / "KEY.gpg").write_bytes(key.binary)
    (b / "KEY.fingerprint").write_text(key.fpr + "\n")
    write_sums_and_sign(b, key)
    return b


# The repository configuration, apt's lists and caches; dpkg's and apt's package state may change.
APT_STATE = ("find /etc/apt /var/lib/apt/lists /var/cache/apt -path '*/lock' -prune -o -type f -print "
             "| grep -v hello-service | sort | xargs sha256sum")


@pytest.mark.container
def test_real_install_in_debian_11(keys, tmp_path, container_engine, debian_image):
    """apt in a real bullseye, no network: installs from the bundle with signatures checked, twice, and removes.

    The bundle sits where a USB stick might put it, under a path with a space and brackets.
    """
    b = real_bundle(tmp_path, keys)
    mnt = "/media/USB stick [1]/hello-service-1.2.3"
    script = f"""
set -u
{APT_STATE} >/tmp/before
sh "{mnt}/install.sh" --yes --skip-kmod-check; echo "rc1=$?"
hello-service; echo "run=$?"
sh "{mnt}/install.sh" --yes --skip-kmod-check >/tmp/second 2>&1; echo "rc2=$?"
grep -q 'Nothing to do: hello-service 1.2.3 is installed already' /tmp/second && echo nothing-to-do
sh "{mnt}/install.sh" --uninstall --yes; echo "rc3=$?"
dpkg -s hello-service >/dev/null 2>&1; echo "dpkg-s=$?"
{APT_STATE} >/tmp/after
diff /tmp/before /tmp/after && echo same-state
ls -A /tmp
"""
    p = subprocess.run([container_engine.path, "run", "--rm", "--network=none", "-v", f"{b}:{mnt}:ro",
                        debian_image("11"), "sh", "-c", script], capture_output=True, text=True, timeout=600)
    text = p.stdout + p.stderr
    assert "rc1=0" in p.stdout, text
    assert "Signature of SHA256SUMS: good" in p.stdout and "(gpgv)" in p.stdout, text
    assert "hello from the bundle 1.2.3" in p.stdout and "run=0" in p.stdout, text
    assert "rc2=0" in p.stdout and "nothing-to-do" in p.stdout, text
    assert "rc3=0" in p.stdout and "dpkg-s=1" in p.stdout, text
    assert "same-state" in p.stdout, text
    assert "Removed: hello-service" in p.stdout
    assert "pkgfactory." not in p.stdout.split("same-state")[1], text  # work directory removed


@pytest.mark.container
def test_real_apt_refuses_a_repository_signed_by_another_key(keys, tmp_path, container_engine, debian_image):
    """SHA256SUMS is ours, the apt Release is not: apt's own signature check (signed-by) stops it."""
    b = real_bundle(tmp_path, keys, repo_signer="other")
    script = f"""
{APT_STATE} >/tmp/before
sh /bundle/install.sh --yes --skip-kmod-check; echo "rc=$?"
dpkg -s hello-service >/dev/null 2>&1; echo "dpkg-s=$?"
{APT_STATE} >/tmp/after
diff /tmp/before /tmp/after && echo same-state
ls -A /etc/apt/sources.list.d/ | grep . || echo no-sources
"""
    p = subprocess.run([container_engine.path, "run", "--rm", "--network=none", "-v", f"{b}:/bundle:ro",
                        debian_image("11"), "sh", "-c", script], capture_output=True, text=True, timeout=600)
    text = p.stdout + p.stderr
    assert "rc=7" in p.stdout, text
    assert "NO_PUBKEY" in text or "not signed" in text, text
    assert "dpkg-s=1" in p.stdout and "same-state" in p.stdout and "no-sources" in p.stdout, text


# --- a real dnf -----------------------------------------------------------------------

def build_yum_repo(repo: Path, key: Key, work: Path, version: str = "1.2.3") -> None:
    """A real yum repository: an rpmsign-ed noarch RPM, createrepo_c metadata, repomd.xml.asc."""
    top = work / f"rpmbuild-{version}"
    spec = work / f"hello-service-{version}.spec"
    spec.write_text(f"Name: hello-service\nVersion: {version}\nRelease: 1\nSummary: test\nLicense: MIT\n"
                    "BuildArch: noarch\nAutoReqProv: no\n%description\ntest package\n%install\n"
                    "mkdir -p %{buildroot}/usr/share/hello-service\n"
                    "echo hello > %{buildroot}/usr/share/hello-service/hello.txt\n"
                    "%files\n/usr/share/hello-service/hello.txt\n")
    subprocess.run([need("rpmbuild"), "-bb", "--define", f"_topdir {top}", "--define", "_binary_payload w9.gzdio",
                    str(spec)], check=True, capture_output=True)
    (rpm,) = (top / "RPMS/noarch").glob("*.rpm")
    repo.mkdir(parents=True)
    dest = repo / rpm.name
    shutil.copy(rpm, dest)
    # Debian's rpm names /usr/bin/gpg2, which GnuPG 2.2 no longer installs.
    subprocess.run([need("rpmsign"), "--addsign", "--define", f"__gpg {need('gpg')}", "--define", f"_gpg_name {key.fpr}",
                    "--define", f"_gpg_path {key.home}",
                    "--define", "_gpg_sign_cmd_extra_args --batch --pinentry-mode loopback --passphrase ''",
                    str(dest)], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    subprocess.run([need("createrepo_c"), "--general-compress-type=gz", str(repo)], check=True, capture_output=True)
    key.sign(repo / "repodata/repomd.xml")


def real_yum_bundle(where: Path, keys, arch: str, *, repo_signer: str = "good", version: str = "1.2.3") -> Path:
    """A bundle with a real yum repository for kylin-v10-sp3, its metadata signed by ``repo_signer``."""
    key = keys["good"]
    where.mkdir()
    build_yum_repo(where / "repos/rpm/kylin-v10-sp3" / arch, keys[repo_signer], where.parent, version)
    return seal(where, key, meta_for(key, version=version, evr=f"{version}-1",
                                     targets=[target_meta(tg.get("kylin-v10-sp3"), [arch])]))


@contextlib.contextmanager
def dnf_into_installroot(tmp_path: Path):
    """(PKGF_PATH, installroot): dnf and rpm act on an installroot instead of this machine, the only
    liberty taken with them."""
    inst = tmp_path / "installroot"
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "dnf").write_text(f"#!/bin/sh\nexec {need('dnf')} --installroot={inst} --releasever=10 "
                               f"--setopt=cachedir={tmp_path}/cache \"$@\"\n")
    (shims / "rpm").write_text(f"#!/bin/sh\nexec {need('rpm')} --root={inst} \"$@\"\n")
    for s in shims.iterdir():
        s.chmod(0o755)
    try:
        yield f"{shims}:{tools_without(tmp_path, *PM_TOOLS)}", inst
    finally:
        # librepo checks repomd.xml.asc through gpgme, which leaves an agent on the cache's keyring.
        for home in (tmp_path / "cache").rglob("pubring"):
            subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)


@pytest.mark.parametrize("repo_signer,code", [("good", 0), ("other", 7)])
def test_real_dnf_installs_through_the_script(keys, tmp_path, repo_signer, code):
    """The script's .repo file and dnf arguments, read by a real dnf (into an installroot)."""
    arch = os.uname().machine
    if arch not in tg.get("kylin-v10-sp3").arches:
        pytest.skip(f"no kylin-v10-sp3 edition for {arch}")
    b = real_yum_bundle(tmp_path / "bundle", keys, arch, repo_signer=repo_signer)
    root = make_root(tmp_path / "root", "kylin-v10-sp3")
    before = snapshot(root / "etc")
    with dnf_into_installroot(tmp_path) as (path, inst):
        _real_dnf_runs(b, root, path, arch, inst, code, before)


def _real_dnf_runs(b: Path, root: Path, path: str, arch: str, inst: Path, code: int, before: dict) -> None:
    p = run("dash", b, "--yes", root=root, path=path, env={"PKGF_UNAME_M": arch}, timeout=300)
    assert p.returncode == code, out(p)
    assert snapshot(root / "etc") == before
    hello = inst / "usr/share/hello-service/hello.txt"
    if code == 0:
        assert hello.read_text() == "hello\n"
        p = run("bash", b, "--yes", root=root, path=path, env={"PKGF_UNAME_M": arch}, timeout=300)
        assert p.returncode == 0, out(p)
        p = run("bash", b, "--uninstall", "--yes", root=root, path=path, env={"PKGF_UNAME_M": arch})
        assert p.returncode == 0 and "Removed: hello-service" in p.stdout, out(p)
        assert not hello.exists()
    else:
        assert not hello.exists()
        assert "dnf install failed" in p.stderr
