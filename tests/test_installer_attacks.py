"""install.sh against a hostile stick, a hostile environment and a careless copy (issue 9).

Each test is one attack of tests/bundle_attacks.py, run under dash and bash on
the rig of tests/test_installer.py (signed fake bundles, prepared roots,
stand-in package managers). Where the attacker is someone else on the machine
(the owner of a world-writable stick or TMPDIR) it is the unprivileged user
nobody (uid 65534), started with setpriv. The end-to-end check-then-use attack
and the version cases also run against a real apt in a Debian 11 container,
and a real dnf into an installroot.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from pkgfactory import targets as tg
from test_installer import (  # noqa: F401  (keys, bundle and fake are fixtures)
    EX, SHELLS, build_apt_repo, bundle, dnf_into_installroot, fake, flip_byte, keys, make_bundle, make_root, need, out,
    real_bundle, real_yum_bundle, run, snapshot)

NOBODY = 65534
X86 = {"PKGF_UNAME_M": "x86_64"}


def as_nobody(command: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([need("setpriv"), "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
                           "sh", "-c", command], capture_output=True, text=True, **kw)


@pytest.fixture
def public_dir():
    """A directory under /tmp that nobody can reach (pytest's own tmp dirs are 0700)."""
    d = Path(tempfile.mkdtemp(prefix="pkgf-stick-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def give_to_nobody(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, NOBODY, NOBODY)


# --- a safe environment --------------------------------------------------------------

PLANTED = "#!/bin/sh\ntouch {marker}\necho '[GNUPG:] VALIDSIG planted'\nexit 0\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_attack_empty_path_element_runs_nothing_from_the_bundle(shell, keys, tmp_path):
    """A trailing ':' in PATH is the current directory: tools planted in the bundle must not run."""
    b = make_bundle(tmp_path / "b", keys["good"])
    marker = tmp_path / "PWNED"
    for tool in ("gpgv", "gpgv2", "gpg", "gpgconf", "sha256sum", "find", "awk"):
        (b / tool).write_text(PLANTED.format(marker=marker))
        (b / tool).chmod(0o755)
    root = make_root(tmp_path / "root", "debian-11")
    for path in ("/usr/sbin:/usr/bin:/sbin:/bin:", ":/usr/sbin:/usr/bin:/sbin:/bin", ".:/usr/bin:/bin"):
        p = subprocess.run([need(shell), "install.sh", "--check-only"], cwd=b, capture_output=True, text=True,
                           env={"PATH": path, "PKGF_ROOT": str(root), "LANG": "C", **X86}, timeout=60)
        assert not marker.exists(), f"a tool planted in the bundle ran as root with PATH={path}: {out(p)}"
        assert p.returncode == 3 and "does not list" in p.stderr, out(p)  # the planted files are unlisted


@pytest.mark.parametrize("shell", SHELLS)
def test_attack_fake_tools_earlier_in_path(shell, keys, tmp_path, public_dir):
    """A sha256sum (and gpgv) that say yes to everything, first in PATH, in a directory someone else owns."""
    b = make_bundle(tmp_path / "b", keys["good"])
    flip_byte(next((b / "repos/deb").rglob("*.deb")), 3)
    evil = public_dir / "bin"
    evil.mkdir()
    (evil / "sha256sum").write_text("#!/bin/sh\n[ \"$1\" = -c ] && sed 's/^[0-9a-f]* [ *]//; s/$/: OK/' \"$2\"\n"
                                    "exit 0\n")
    (evil / "sha256sum").chmod(0o755)
    give_to_nobody(evil)
    root = make_root(tmp_path / "root", "debian-11")
    p = run(shell, b, "--check-only", root=root, env={"PATH": f"{evil}:{os.environ['PATH']}", **X86})
    assert p.returncode == 3 and "do not match SHA256SUMS" in p.stderr, out(p)
    assert "hello-service_1.2.3_amd64.deb: FAILED" in p.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_attack_tool_hook_refuses_directories_others_can_fill(shell, keys, tmp_path, public_dir, bundle):
    evil = public_dir / "bin"
    evil.mkdir()
    give_to_nobody(evil)
    root = make_root(tmp_path / "root", "debian-11")
    for path in (f"{evil}:/usr/bin:/bin", "/usr/bin:/bin:", "relative/bin:/usr/bin:/bin"):
        p = run(shell, bundle, "--check-only", root=root, path=path, env=X86)
        assert p.returncode == 2 and "PKGF_PATH" in p.stderr, (path, out(p))


@pytest.mark.parametrize("shell", SHELLS)
def test_attack_tmpdir_someone_else_can_write(shell, keys, tmp_path, public_dir, fake, bundle):
    """TMPDIR owned by nobody (or below a directory nobody owns): the work directory, and so the private
    copy, could be renamed away and replaced by theirs. It is not used; the default is."""
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    root = make_root(tmp_path / "root", "debian-11")
    owned = public_dir / "tmp-owned"
    owned.mkdir(mode=0o700)
    above = public_dir / "parent-owned"
    (above / "tmp").mkdir(parents=True)
    os.chown(above, NOBODY, NOBODY)
    world = public_dir / "tmp-world"
    world.mkdir()
    world.chmod(0o1777)
    give_to_nobody(owned)
    # nobody waits for a work directory to appear and swaps it for its own, as an attacker would.
    attack = ("for i in $(seq 600); do for d in " + f"{owned}/pkgfactory.*; do [ -d \"$d\" ] && "
              "mv \"$d\" \"$d.stolen\" && mkdir \"$d\" && echo swapped; done; sleep 0.05; done")
    thief = subprocess.Popen([need("setpriv"), "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
                              "sh", "-c", attack], stdout=subprocess.PIPE, text=True)
    try:
        for tmpdir in (owned, above / "tmp", world):
            p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env(TMPDIR=str(tmpdir)))
            assert p.returncode == 0, out(p)
            assert f"TMPDIR={tmpdir} is not used" in p.stderr, out(p)
            lists = Path(fake.seen("lists.seen").strip())
            assert lists.parent.parent == Path("/tmp") and not str(lists).startswith(str(public_dir)), lists
            assert not list(tmpdir.iterdir())
            fake.preinstall("hello-service", "1.0-1")
    finally:
        thief.kill()
        thief.wait()


# What the caller's environment hands to the tools install.sh runs as root: Perl options and
# modules (apt runs dpkg-preconfigure, Perl), a Python path (dnf, yum and the rpm version
# comparison are Python). Each plants a command that leaves a marker file.
PERL_STRICT = "package strict; system(q(touch), q({marker})); sub import {{}} sub unimport {{}} 1;\n"
PERL_ATTACKS = r"""
set -u
mkdir /tmp/evil-perl
printf '%s' '{strict}' >/tmp/evil-perl/strict.pm
PERL5OPT='-Mstrict;system(q(touch),q(/tmp/PWNED-PERL5OPT))' {shell} /b/install.sh --yes --skip-kmod-check \
    >/tmp/1 2>&1; echo "perl5opt=$?"
{shell} /b/install.sh --uninstall --yes >/dev/null 2>&1; echo "uninstall=$?"
PERL5LIB=/tmp/evil-perl {shell} /b/install.sh --yes --skip-kmod-check >/tmp/2 2>&1; echo "perl5lib=$?"
for m in /tmp/PWNED-*; do [ -e "$m" ] && echo "planted-ran: $m"; done
hello-service
cat /tmp/1 /tmp/2
"""


@pytest.mark.container
@pytest.mark.parametrize("shell", SHELLS)
def test_attack_perl_environment_reaches_no_tool_in_debian_11(shell, keys, tmp_path, container_engine,
                                                              debian_image):
    """PERL5OPT and PERL5LIB from the caller, with a real apt (whose dpkg-preconfigure is Perl, run as
    root): nothing planted runs, and the install still succeeds."""
    b = real_bundle(tmp_path, keys)
    script = PERL_ATTACKS.format(shell=shell, strict=PERL_STRICT.format(marker="/tmp/PWNED-PERL5LIB"))
    p = in_debian_11(container_engine, debian_image("11"), script, f"{b}:/b:ro")
    text = p.stdout + p.stderr
    assert "planted-ran" not in p.stdout, text
    for line in ("perl5opt=0", "uninstall=0", "perl5lib=0", "hello from the bundle 1.2.3"):
        assert line in p.stdout, (line, text)


@pytest.mark.parametrize("shell", SHELLS)
def test_attack_python_path_reaches_no_tool_with_a_real_dnf(shell, keys, tmp_path):
    """PYTHONPATH with a sitecustomize.py (Python imports it at start): dnf and the version comparison
    run as root without it, and the install still succeeds (a real dnf into an installroot)."""
    arch = os.uname().machine
    if arch not in tg.get("kylin-v10-sp3").arches:
        pytest.skip(f"no kylin-v10-sp3 edition for {arch}")
    b = real_yum_bundle(tmp_path / "bundle", keys, arch)
    root = make_root(tmp_path / "root", "kylin-v10-sp3")
    evil = tmp_path / "evil-python"
    evil.mkdir()
    marker = tmp_path / "PWNED"
    (evil / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'a').close()\n")
    with dnf_into_installroot(tmp_path) as (path, inst):
        p = run(shell, b, "--yes", root=root, path=path, env={"PKGF_UNAME_M": arch, "PYTHONPATH": str(evil)},
                timeout=300)
        assert not marker.exists(), f"a Python module from the caller's PYTHONPATH ran as root: {out(p)}"
        assert p.returncode == 0 and (inst / "usr/share/hello-service/hello.txt").exists(), out(p)


@pytest.mark.parametrize("shell", SHELLS)
def test_attack_shell_state_that_cannot_be_removed_is_refused(shell, keys, tmp_path, bundle):
    """bash makes SHELLOPTS from the environment readonly and passes it on (SHELLOPTS=noexec makes a bash
    maintainer script do nothing and succeed), and defines exported functions (BASH_FUNC_mktemp%%)
    before the script's first line: bash refuses both before any program runs; dash drops the
    function and removes SHELLOPTS, and goes on."""
    root = make_root(tmp_path / "root", "debian-11")
    marker = tmp_path / "PWNED"
    func = {"BASH_FUNC_mktemp%%": f"() {{ touch {marker}; command mktemp \"$@\"; }}"}
    for env, name in (({"SHELLOPTS": "braceexpand:hashall:interactive-comments"}, "SHELLOPTS"),
                      (func, "BASH_FUNC_mktemp%%")):
        p = run(shell, bundle, "--check-only", root=root, env={**X86, **env})
        assert not marker.exists(), out(p)
        if shell == "bash":
            assert p.returncode == 2, out(p)
            assert p.stderr.splitlines() == [f"ERROR: the environment has {name}, which install.sh cannot remove: "
                                             "run it with a clean environment (sudo without -E, or env -i "
                                             "PATH=/usr/sbin:/usr/bin:/sbin:/bin sh install.sh)"], out(p)
        else:
            assert p.returncode == 0, out(p)


# --- check-then-use --------------------------------------------------------------------

SWAP = """set -e
cd "$STICK"
printf 'evil key' >KEY.gpg
printf 'evil key' >KEY.asc
for f in $(find repos -type f); do printf 'evil' >"$f"; done
"""


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("family,os_id,pms", [("deb", "debian-11", ("apt-get", "dpkg", "dpkg-query")),
                                              ("rpm", "kylin-v10-sp3", ("dnf", "rpm"))])
def test_attack_stick_swapped_after_the_check(shell, keys, public_dir, tmp_path, fake, family, os_id, pms):
    """The stick belongs to the desktop user (nobody), who rewrites the key and every repository file the
    moment the package manager starts: what it reads is the private copy, made and checked before."""
    stick = make_bundle(public_dir / "hello-service-1.2.3", keys["good"])
    give_to_nobody(stick)
    attack = public_dir / "attack.sh"
    attack.write_text(SWAP)
    fake.with_pms(*pms)
    # The stand-in package manager lets the attacker in first, then records what it was pointed at.
    wrapper = tmp_path / "fakebin" / pms[0]
    wrapper.write_text(wrapper.read_text().replace("case $me in\n", (
        '[ -f "$st/swapped" ] || { setpriv --reuid 65534 --regid 65534 --clear-groups '
        '/usr/bin/env STICK="$FAKE_STICK" /bin/sh "$FAKE_ATTACK" && touch "$st/swapped" || exit 99; }\n'
        "case $me in\n"), 1))
    root = make_root(tmp_path / "root", os_id)
    p = run(shell, stick, "--yes", root=root, path=fake.path,
            env=fake.env(FAKE_STICK=str(stick), FAKE_ATTACK=str(attack)))
    assert p.returncode == 0, out(p)
    assert (fake.state / "swapped").exists() and (stick / "KEY.gpg").read_bytes() == b"evil key"
    if family == "deb":
        copy = Path(fake.seen("lists.seen").strip()).parent / "bundle"
        assert fake.seen("signed-by.sha256").split()[0] == hashlib.sha256(keys["good"].binary).hexdigest()
    else:
        base = next(ln for ln in fake.seen("repos.seen").splitlines() if ln.startswith("baseurl=file://"))
        copy = Path(base.removeprefix("baseurl=file://").split("/repos/")[0])
        assert fake.seen("gpgkey.sha256").split()[0] == hashlib.sha256(keys["good"].asc.encode()).hexdigest()
    assert copy.parent.parent == root.parent / "tmpdir", copy
    assert not str(copy).startswith(str(stick))


# --- file kinds and names ------------------------------------------------------------------

def _symlink_to_same_bytes(b: Path, name: str, scratch: Path) -> None:
    """The same content, so every hash matches: only the link itself is wrong."""
    outside = scratch / "outside" / name
    outside.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(b / name, outside)
    (b / name).unlink()
    (b / name).symlink_to(outside)


def _replace(b: Path, name: str, make) -> None:
    (b / name).unlink()
    make(b / name)


KINDS = {
    "symlink-same-bytes": lambda b, s: _symlink_to_same_bytes(b, "README.txt", s),
    "symlink-dev-zero": lambda b, s: _replace(b, "README.txt", lambda p: p.symlink_to("/dev/zero")),
    "fifo": lambda b, s: _replace(b, "README.txt", os.mkfifo),
    "char-device-zero": lambda b, s: _replace(b, "README.txt", lambda p: os.mknod(p, stat.S_IFCHR | 0o644,
                                                                                  os.makedev(1, 5))),
    "fifo-as-SHA256SUMS": lambda b, s: _replace(b, "SHA256SUMS", os.mkfifo),
    "dev-zero-as-KEY.gpg": lambda b, s: _replace(b, "KEY.gpg", lambda p: p.symlink_to("/dev/zero")),
    "symlinked-repo-dir": lambda b, s: (shutil.move(b / "repos/deb", s / "deb"), (b / "repos/deb").symlink_to(s / "deb")),
}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_attack_listed_name_is_not_a_regular_file(shell, kind, keys, tmp_path):
    b = make_bundle(tmp_path / "b", keys["good"])
    KINDS[kind](b, tmp_path)
    root = make_root(tmp_path / "root", "debian-11")
    # A reader stuck on a FIFO or on /dev/zero is the failure: the time limit catches it.
    p = run(shell, b, "--check-only", root=root, env=X86, timeout=30)
    assert p.returncode == 3, out(p)
    assert "symlinks or special files" in p.stderr, out(p)


@pytest.mark.parametrize("shell", SHELLS)
def test_attack_listed_name_is_a_directory(shell, keys, tmp_path):
    b = make_bundle(tmp_path / "b", keys["good"])
    (b / "README.txt").unlink()
    (b / "README.txt").mkdir()
    root = make_root(tmp_path / "root", "debian-11")
    p = run(shell, b, "--check-only", root=root, env=X86)
    assert p.returncode == 3 and "missing or are directories" in p.stderr and "README.txt" in p.stderr, out(p)


NAMES = {
    "newline": "install.sh\nKEY.asc",
    "newline-between-two-listed-names": "README.txt\nKEY.gpg",
    "tab": "README\t.txt",
    "escape": "\x1b[2J",
    "carriage-return": "KEY.asc\r",
}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("case", sorted(NAMES))
def test_attack_names_with_control_characters(shell, case, keys, tmp_path):
    """`install.sh<LF>KEY.asc` read as two listed names in the unlisted-file check."""
    b = make_bundle(tmp_path / "b", keys["good"])
    (b / NAMES[case]).write_bytes(b"unsigned\n")
    root = make_root(tmp_path / "root", "debian-11")
    p = run(shell, b, "--check-only", root=root, env=X86)
    assert p.returncode == 3 and "control characters" in p.stderr, out(p)


# --- text-mode copies --------------------------------------------------------------------

def to_crlf(b: Path, only=None) -> None:
    for p in b.rglob("*"):
        if p.is_file() and (only is None or p.name in only):
            data = p.read_bytes()
            if b"\0" not in data:  # what a text-mode copy converts
                p.write_bytes(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


@pytest.mark.parametrize("shell", SHELLS)
def test_attack_text_mode_copy(shell, keys, tmp_path):
    b = make_bundle(tmp_path / "b", keys["good"])
    to_crlf(b)
    root = make_root(tmp_path / "root", "debian-11")
    for lang, words in (("en", "copied in text mode"), ("zh", "文本模式")):
        p = run(shell, b, "--check-only", "--lang", lang, root=root, env=X86)
        assert p.returncode == 3, out(p)
        assert "Illegal option" not in p.stderr and "not found" not in p.stderr, out(p)
        assert words in p.stderr and "binary" in p.stderr, out(p)
    # install.sh copied again on its own: the signed text files still say what happened.
    b = make_bundle(tmp_path / "b2", keys["good"])
    to_crlf(b, only={"SHA256SUMS", "KEY.asc"})
    p = run(shell, b, "--check-only", root=root, env=X86)
    assert p.returncode == 3 and "SHA256SUMS has Windows line ends" in p.stderr, out(p)


# --- versions ---------------------------------------------------------------------------

DEB = ("apt-get", "dpkg", "dpkg-query")


@pytest.mark.parametrize("shell", SHELLS)
def test_attack_older_bundle_is_refused_and_reports_no_false_success(shell, bundle, tmp_path, fake):
    """1.3.0-1 installed, the bundle has 1.2.3-1: refused without --allow-downgrade, nothing changed."""
    root = make_root(tmp_path / "root", "debian-11")
    fake.with_pms(*DEB)
    fake.preinstall("hello-service", "1.3.0-1")
    before = snapshot(root / "etc")
    for args in (("--yes",), ("--check-only",)):
        p = run(shell, bundle, *args, root=root, path=fake.path, env=fake.env())
        assert p.returncode == EX["DOWNGRADE"], out(p)
        assert "hello-service 1.3.0-1" in p.stderr and "--allow-downgrade" in p.stderr, out(p)
        assert "Installed" not in p.stdout
    assert not any(c.startswith("apt-get") for c in fake.calls())
    assert fake.version("hello-service") == "1.3.0-1" and snapshot(root / "etc") == before
    p = run(shell, bundle, "--yes", "--lang", "zh", root=root, path=fake.path, env=fake.env())
    assert p.returncode == EX["DOWNGRADE"] and "降级" in p.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_allow_downgrade_really_downgrades_deb(shell, bundle, tmp_path, fake):
    root = make_root(tmp_path / "root", "debian-11")
    fake.with_pms(*DEB)
    fake.preinstall("hello-service", "1.3.0-1")
    p = run(shell, bundle, "--yes", "--allow-downgrade", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    call = next(c for c in fake.calls() if c.startswith("apt-get") and "[install]" in c)
    assert "[--allow-downgrades]" in call and call.endswith("[hello-service=1.2.3-1]"), call
    assert fake.version("hello-service") == "1.2.3-1"
    assert "Installed: hello-service 1.2.3-1" in p.stdout


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("pms,os_id,pm", [(("dnf", "rpm"), "kylin-v10-sp3", "dnf"), (("yum", "rpm"), "centos-7", "yum")])
def test_allow_downgrade_really_downgrades_rpm(shell, bundle, tmp_path, fake, pms, os_id, pm):
    root = make_root(tmp_path / "root", os_id)
    fake.with_pms(*pms)
    fake.preinstall("hello-service", "1.10.0-1")  # rpm's order: 1.10 > 1.2.3, as a string comparison would not say
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == EX["DOWNGRADE"] and "hello-service 1.10.0-1" in p.stderr, out(p)
    p = run(shell, bundle, "--yes", "--allow-downgrade", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    call = next(c for c in fake.calls() if c.startswith(pm + " "))
    assert call.endswith("[downgrade] [hello-service-1.2.3-1]"), call
    assert fake.version("hello-service") == "1.2.3-1"


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("pms,os_id", [(DEB, "debian-11"), (("dnf", "rpm"), "kylin-v10-sp3")])
def test_upgrade_installs_exactly_the_bundles_version(shell, bundle, tmp_path, fake, pms, os_id):
    root = make_root(tmp_path / "root", os_id)
    fake.with_pms(*pms)
    fake.preinstall("hello-service", "1.2.3~rc1-1")  # '~' sorts before the release in both formats
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    assert "1.2.3~rc1-1 installed; it will be upgraded to 1.2.3-1" in p.stdout
    assert fake.version("hello-service") == "1.2.3-1"


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("pms,os_id", [(DEB, "debian-11"), (("yum", "rpm"), "centos-7")])
def test_attack_package_manager_says_yes_but_leaves_another_version(shell, bundle, tmp_path, fake, pms, os_id):
    """The final check confirms the exact version, not that the package is there."""
    root = make_root(tmp_path / "root", os_id)
    fake.with_pms(*pms)
    fake.preinstall("hello-service", "1.1.0-1")
    p = run(shell, bundle, "--yes", root=root, path=fake.path, env=fake.env(FAKE_GOT="1.1.0-1"))
    assert p.returncode == 7, out(p)
    assert "hello-service is at 1.1.0-1, not 1.2.3-1" in p.stderr and "Installed" not in p.stdout


# --- disk space for the private copy -------------------------------------------------------

@pytest.mark.parametrize("shell", SHELLS)
def test_private_copy_needs_room(shell, bundle, tmp_path):
    """A TMPDIR too small for the copy: refused before copying, saying how much is needed."""
    small = tmp_path / "small"
    small.mkdir()
    root = make_root(tmp_path / "root", "debian-11")
    inner = ('mount -t tmpfs -o size=64k,mode=0755 tmpfs "$S" || exit 99\n'
             '"$SH" "$B/install.sh" --check-only >"$S.out" 2>&1; echo $? >"$S.rc"\n')
    env = {**os.environ, "S": str(small), "SH": need(shell), "B": str(bundle), "PKGF_ROOT": str(root),
           "TMPDIR": str(small), "LANG": "C", **X86}
    p = subprocess.run(["unshare", "-m", "sh", "-c", inner], env=env, capture_output=True, text=True, timeout=60)
    if p.returncode == 99:
        pytest.skip(f"cannot mount a tmpfs in a private mount namespace here (CAP_SYS_ADMIN): {p.stderr}")
    text = Path(f"{small}.out").read_text()
    assert Path(f"{small}.rc").read_text().strip() == str(EX["SPACE"]), text
    assert "MiB free" in text and "TMPDIR" in text


# --- the real package managers --------------------------------------------------------------

def in_debian_11(container_engine, image: str, script: str, *mounts: str, timeout: int = 600):
    argv = [container_engine.path, "run", "--rm", "--network=none"]
    for m in mounts:
        argv += ["-v", m]
    return subprocess.run([*argv, image, "sh", "-c", script], capture_output=True, text=True, timeout=timeout)


# The stick is nobody's; nobody waits for the confirmation prompt (the check is done by then) and puts
# its own repository, signed with its own key, and that key in place of the bundle's.
STICK_SWAP = r"""
set -u
mkfifo /tmp/answer
script -qfec "{shell} '{stick}/install.sh' --skip-kmod-check --lang en" /dev/null </tmp/answer >/tmp/out 2>&1 &
run=$!
exec 3>/tmp/answer
n=0
until grep -q 'y/N' /tmp/out; do sleep 0.2; n=$((n + 1)); [ "$n" -lt 300 ] || break; done
setpriv --reuid 65534 --regid 65534 --clear-groups sh -c '
    mv "{stick}/repos/deb/debian-11" "{stick}/repos/deb/old" &&
    cp -R /evil/repos/deb/debian-11 "{stick}/repos/deb/debian-11" &&
    cp /evil/KEY.gpg /evil/KEY.asc "{stick}/" && echo swapped-by-nobody'
echo y >&3
exec 3>&-
wait "$run"; echo "rc=$?"
cat /tmp/out
hello-service
"""


@pytest.mark.container
@pytest.mark.parametrize("shell", SHELLS)
def test_attack_stick_swapped_during_confirmation_in_debian_11(shell, keys, tmp_path, public_dir, container_engine,
                                                               debian_image):
    """A real apt: the stick's owner replaces repository and key while install.sh waits for 'y'."""
    stick = real_bundle(public_dir, keys, name="hello-service-1.2.3")
    give_to_nobody(stick)
    # The attacker's own repository (same name and version, its own key) and that key.
    evil = tmp_path / "evil"
    build_apt_repo(evil / "repos/deb/debian-11", "debian-11", keys["other"], tmp_path, "1.2.3", says="pwned by the stick")
    (evil / "KEY.gpg").write_bytes(keys["other"].binary)
    (evil / "KEY.asc").write_text(keys["other"].asc)
    for p in [evil, *evil.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    p = in_debian_11(container_engine, debian_image("11"), STICK_SWAP.format(shell=shell, stick="/stick"),
                     f"{stick}:/stick", f"{evil}:/evil:ro")
    text = p.stdout + p.stderr
    assert "swapped-by-nobody" in p.stdout, text
    assert "rc=0" in p.stdout, text
    assert "hello from the bundle 1.2.3" in p.stdout and "pwned" not in p.stdout, text


VERSIONS = r"""
set -u
v() {{ dpkg-query -W -f='${{Version}}' hello-service; echo; }}
{shell} /new/install.sh --yes --skip-kmod-check >/tmp/1 2>&1; echo "new=$? $(v)"
{shell} /old/install.sh --yes --skip-kmod-check >/tmp/2 2>&1; echo "old=$? $(v)"
grep -q 'newer than this bundle' /tmp/2 && echo refused-with-reason
{shell} /old/install.sh --yes --skip-kmod-check --allow-downgrade >/tmp/3 2>&1; echo "down=$? $(v)"
grep -q 'Installed: hello-service 1.1.0' /tmp/3 && echo confirmed-1.1.0
{shell} /old/install.sh --yes --skip-kmod-check >/tmp/4 2>&1; echo "same=$? $(v)"
grep -q 'Nothing to do' /tmp/4 && echo nothing-to-do
{shell} /new/install.sh --yes --skip-kmod-check >/tmp/5 2>&1; echo "up=$? $(v)"
hello-service
cat /tmp/1 /tmp/2 /tmp/3 /tmp/4 /tmp/5
"""


@pytest.mark.container
@pytest.mark.parametrize("shell", SHELLS)
def test_versions_with_a_real_apt_in_debian_11(shell, keys, tmp_path, container_engine, debian_image):
    new = real_bundle(tmp_path, keys, version="1.2.0", name="new")
    old = real_bundle(tmp_path, keys, version="1.1.0", name="old")
    p = in_debian_11(container_engine, debian_image("11"), VERSIONS.format(shell=shell),
                     f"{new}:/new:ro", f"{old}:/old:ro")
    text = p.stdout + p.stderr
    for line in ("new=0 1.2.0", f"old={EX['DOWNGRADE']} 1.2.0", "refused-with-reason", "down=0 1.1.0", "confirmed-1.1.0",
                 "same=0 1.1.0", "nothing-to-do", "up=0 1.2.0", "hello from the bundle 1.2.0"):
        assert line in p.stdout, (line, text)


def test_real_dnf_downgrades_only_when_allowed(keys, tmp_path):
    """dnf into an installroot (as test_real_dnf_installs_through_the_script): 1.2.3 installed, then the
    1.1.0 bundle: refused, then really downgraded with --allow-downgrade."""
    arch = os.uname().machine
    if arch not in tg.get("kylin-v10-sp3").arches:
        pytest.skip(f"no kylin-v10-sp3 edition for {arch}")
    bundles = {v: real_yum_bundle(tmp_path / f"bundle-{v}", keys, arch, version=v) for v in ("1.2.3", "1.1.0")}
    root = make_root(tmp_path / "root", "kylin-v10-sp3")
    env = {"PKGF_UNAME_M": arch}
    with dnf_into_installroot(tmp_path) as (path, inst):
        def installed() -> str:
            return subprocess.run([need("rpm"), f"--root={inst}", "-q", "--qf", "%{VERSION}-%{RELEASE}",
                                   "hello-service"], capture_output=True, text=True).stdout

        p = run("dash", bundles["1.2.3"], "--yes", root=root, path=path, env=env, timeout=300)
        assert p.returncode == 0 and installed() == "1.2.3-1", out(p)
        p = run("bash", bundles["1.1.0"], "--yes", root=root, path=path, env=env, timeout=300)
        assert p.returncode == EX["DOWNGRADE"] and installed() == "1.2.3-1", out(p)
        p = run("dash", bundles["1.1.0"], "--yes", "--allow-downgrade", root=root, path=path, env=env, timeout=300)
        assert p.returncode == 0 and installed() == "1.1.0-1", out(p)
        assert "Installed: hello-service 1.1.0-1" in p.stdout


def test_the_attack_table_names_real_tests():
    """tests/bundle_attacks.py (what bench/reliability.py counts) names tests that exist, case for case."""
    import importlib

    import bundle_attacks as ba
    import test_verify_faults as vf

    assert set(ba.KINDS) == set(KINDS) and set(ba.NAMES) == set(NAMES)
    faults = {f.id for f in vf.FAULTS}
    for attack in ba.ATTACKS:
        assert attack.tests, attack.id
        for node in attack.tests:
            path, func = node.split("::")
            module = importlib.import_module(Path(path).stem)
            assert callable(getattr(module, func.split("[")[0], None)), node
            if "test_fault_is_refused_naming_the_file[" in node:
                assert func.split("[")[1].rstrip("]") in faults, node
