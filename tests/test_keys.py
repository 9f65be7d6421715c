"""`pkgfactory keys` and pkgfactory.keys with the real GnuPG 2.2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pkgfactory import targets
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.keys import Keyring, generate_key, refuse_unverifiable
from pkgfactory.sign.agent import Agent
from signing_helpers import PASSPHRASE, kill_agent, make_key, watch_processes
from terminal import run_in_pty


def cli(*args, env_extra=None, cwd=None):
    """The CLI as a user runs it, with no terminal on stdin."""
    env = {k: v for k, v in os.environ.items() if k != "PKGF_GPG_PASSPHRASE_FILE"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "pkgfactory", *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=env, cwd=cwd)


def one_line_error(proc):
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pkgfactory: error: "), proc.stderr
    return lines[0]


@pytest.fixture
def keys_dir(tmp_path):
    home = tmp_path / "k"
    yield home
    kill_agent(home)


def colons(home, *args):
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--with-colons", "--fixed-list-mode", *args],
                          check=True, capture_output=True, text=True).stdout.splitlines()


def packets(home, data: bytes) -> str:
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--list-packets"], input=data,
                          check=True, capture_output=True).stdout.decode()


def test_default_key_is_rsa4096_primary_that_signs_without_subkeys(keys_dir):
    key = generate_key(keys_dir, "Release Team", "release@example.com", None)
    assert (key.algorithm, key.bits, key.secret, key.primary_can_sign) == ("rsa", 4096, True, True)
    assert key.expires is None and key.uid == "Release Team <release@example.com>"
    records = colons(keys_dir, "--list-keys", key.fingerprint)
    pub = [r.split(":") for r in records if r.startswith("pub:")]
    assert pub[0][3] == "1" and pub[0][2] == "4096"  # RSA, 4096 bits
    assert "s" in pub[0][11]  # the primary key itself can sign
    assert not [r for r in records if r.startswith("sub:")]  # nothing for rpm < 4.13 to trip over
    dump = packets(keys_dir, Keyring(keys_dir).export_public(key.fingerprint))
    assert "digest algo 8," in dump  # SHA-256 self-signature (RHEL 9 refuses SHA-1)
    assert "digest algo 2," not in dump
    assert "pref-hash-algos: 8 " in dump  # SHA-256 preferred first
    assert oct(keys_dir.stat().st_mode & 0o777) == "0o700"
    assert Agent(keys_dir).key_state(key.keygrip) == "clear"


def test_key_with_passphrase_is_protected(keys_dir):
    key = generate_key(keys_dir, "Release Team", "release@example.com", PASSPHRASE)
    assert key.primary_can_sign and key.bits == 4096
    assert Agent(keys_dir).key_state(key.keygrip) == "locked"
    # The passphrase unlocks it and nothing else does.
    def export_secret(passphrase):
        return subprocess.run(["gpg", "--homedir", str(keys_dir), "--batch", "--pinentry-mode", "loopback",
                               "--passphrase-fd", "0", "--export-secret-keys", key.fingerprint],
                              input=(passphrase + "\n").encode(), capture_output=True).returncode
    assert export_secret("wrong") != 0
    assert export_secret(PASSPHRASE) == 0


def test_cli_refuses_to_guess_without_a_terminal(keys_dir):
    proc = cli("keys", "generate", "--name", "CI", "--email", "ci@example.com", "--keys-dir", keys_dir)
    line = one_line_error(proc)
    assert "--passphrase-file" in line and "--no-passphrase" in line
    assert not keys_dir.exists()  # refused before anything was made


def test_cli_generates_with_passphrase_file_or_none(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE + "\n")
    homes = {"file": tmp_path / "a", "none": tmp_path / "b"}
    try:
        with watch_processes(PASSPHRASE.encode()) as (leaks, seen):
            p1 = cli("keys", "generate", "--name", "CI", "--email", "ci@example.com", "--passphrase-file", pw,
                     "--keys-dir", homes["file"], "--json")
        assert not leaks and b"gpg" in seen
        p2 = cli("keys", "generate", "--name", "CI", "--email", "ci@example.com", "--no-passphrase",
                 "--keys-dir", homes["none"], "--json")
        assert p1.returncode == 0 and p2.returncode == 0, (p1.stderr, p2.stderr)
        k1, k2 = json.loads(p1.stdout), json.loads(p2.stdout)
        assert Agent(homes["file"]).key_state(k1["keygrip"]) == "locked"
        assert Agent(homes["none"]).key_state(k2["keygrip"]) == "clear"
        assert PASSPHRASE not in p1.stdout + p1.stderr
        # Default keys dir: keys/ in the current directory.
        p3 = cli("keys", "list", "--json", cwd=homes["none"].parent)
        assert one_line_error(p3).endswith(f"keys dir {tmp_path}/keys does not exist: "
                                           f"run `pkgfactory keys generate --keys-dir {tmp_path}/keys`")
    finally:
        for h in homes.values():
            kill_agent(h)


def test_export_is_armored_and_minimal(tmp_path):
    key = make_key(tmp_path / "k")
    other = make_key(tmp_path / "o", name="someone else", email="else@example.com")
    try:
        # Someone certifies our key: a packet old rpm may not parse, and none of its business.
        sec = subprocess.run(["gpg", "--homedir", str(other.home), "--batch", "--export-secret-keys",
                              other.fingerprint], check=True, capture_output=True).stdout
        subprocess.run(["gpg", "--homedir", str(key.home), "--batch", "--import"], input=sec, check=True,
                       capture_output=True)
        subprocess.run(["gpg", "--homedir", str(key.home), "--batch", "--yes", "-u", other.fingerprint,
                        "--quick-sign-key", key.fingerprint], check=True, capture_output=True)
        full = subprocess.run(["gpg", "--homedir", str(key.home), "--batch", "--export", key.fingerprint],
                              check=True, capture_output=True).stdout
        assert other.fingerprint[-16:] in packets(key.home, full).upper()

        out = tmp_path / "KEY.asc"
        proc = cli("keys", "export", "--keys-dir", key.home, "--fingerprint", key.fingerprint, "-o", out)
        assert proc.returncode == 0, proc.stderr
        text = out.read_text()
        assert text.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        assert "PRIVATE" not in text
        dump = packets(key.home, out.read_bytes())
        assert other.fingerprint[-16:] not in dump.upper()  # the third-party certification is gone
        assert dump.count(":public key packet:") == 1 and ":secret" not in dump

        binary = tmp_path / "KEY.gpg"
        assert cli("keys", "export", "--keys-dir", key.home, "--fingerprint", key.fingerprint, "--binary",
                   "-o", binary).returncode == 0
        assert binary.read_bytes()[:1] == b"\x99"  # an old-format public-key packet, not armor
    finally:
        kill_agent(key.home)
        kill_agent(other.home)


def test_list_shows_what_a_key_is(tmp_path):
    key = make_key(tmp_path / "k")
    try:
        proc = cli("keys", "list", "--keys-dir", key.home, "--json")
        assert proc.returncode == 0, proc.stderr
        (k,) = json.loads(proc.stdout)
        assert (k["fingerprint"], k["algorithm"], k["bits"], k["secret"]) == (key.fingerprint, "rsa", 4096, True)
        assert k["uids"] == ["pkgfactory test <test@example.com>"]
        table = cli("keys", "list", "--keys-dir", key.home)
        assert key.fingerprint + "\n" in table.stdout and "rsa 4096, secret (can sign), expires never" in table.stdout
    finally:
        kill_agent(key.home)


def test_import_public_and_secret(tmp_path):
    key = make_key(tmp_path / "k", passphrase=PASSPHRASE)
    pub = key.public(tmp_path / "pub.asc")
    sec = tmp_path / "sec.asc"
    sec.write_bytes(subprocess.run(
        ["gpg", "--homedir", str(key.home), "--batch", "--pinentry-mode", "loopback", "--passphrase-fd", "0",
         "--armor", "--export-secret-keys", key.fingerprint], input=(PASSPHRASE + "\n").encode(),
        check=True, capture_output=True).stdout)
    homes = [tmp_path / "p", tmp_path / "s"]
    try:
        p = cli("keys", "import", pub, "--keys-dir", homes[0])
        assert p.returncode == 0 and f"imported public rsa4096 key {key.fingerprint}" in p.stdout, p
        s = cli("keys", "import", sec, "--keys-dir", homes[1])
        assert s.returncode == 0 and f"imported secret rsa4096 key {key.fingerprint}" in s.stdout, s
        assert [k.secret for k in Keyring(homes[1]).keys()] == [True]
    finally:
        for h in [key.home, *homes]:
            kill_agent(h)


def test_refuse_unverifiable_names_the_target(tmp_path):
    ed = make_key(tmp_path / "ed", algorithm="ed25519")
    rsa = make_key(tmp_path / "rsa")
    try:
        ed_info, rsa_info = Keyring(ed.home).find(), Keyring(rsa.home).find()
        assert ed_info.algorithm == "eddsa"
        with pytest.raises(PkgfError, match=r"which target centos-7 cannot verify \(it takes rsa, dsa\)"):
            refuse_unverifiable(ed_info, [targets.get("debian-11"), targets.get("centos-7")])
        # Targets whose rpm knows EdDSA, and deb targets (gpgv), take it.
        refuse_unverifiable(ed_info, [targets.get("rocky-9"), targets.get("openeuler-22.03"),
                                      targets.get("debian-11")])
        refuse_unverifiable(rsa_info, list(targets.load_all().values()))
    finally:
        kill_agent(ed.home)
        kill_agent(rsa.home)


def test_a_keys_dir_holds_one_signing_key(tmp_path):
    key = make_key(tmp_path / "k")
    try:
        proc = cli("keys", "generate", "--name", "Two", "--email", "two@example.com", "--no-passphrase",
                   "--keys-dir", key.home)
        assert "already holds secret key" in one_line_error(proc)
    finally:
        kill_agent(key.home)


@pytest.mark.parametrize("case", ["bad-email", "both-options", "missing-pw-file", "empty-pw-file",
                                  "keys-dir-is-file", "bad-name", "bad-expire", "import-garbage",
                                  "import-missing", "export-empty", "export-unknown-fpr", "env-pw-file-missing"])
def test_bad_input_is_one_line_exit_2(tmp_path, case):
    pw_empty = tmp_path / "empty"
    pw_empty.write_text("\n")
    a_file = tmp_path / "file"
    a_file.write_text("not a dir")
    home = tmp_path / "k"
    gen = ["keys", "generate", "--keys-dir", home]
    args, env = {
        "bad-email": (gen + ["--name", "A", "--email", "not-an-email", "--no-passphrase"], None),
        "both-options": (gen + ["--name", "A", "--email", "a@example.com", "--no-passphrase",
                                "--passphrase-file", pw_empty], None),
        "missing-pw-file": (gen + ["--name", "A", "--email", "a@example.com", "--passphrase-file",
                                   tmp_path / "nope"], None),
        "empty-pw-file": (gen + ["--name", "A", "--email", "a@example.com", "--passphrase-file", pw_empty], None),
        "keys-dir-is-file": (["keys", "list", "--keys-dir", a_file], None),
        "bad-name": (gen + ["--name", "A\nB", "--email", "a@example.com", "--no-passphrase"], None),
        "bad-expire": (gen + ["--name", "A", "--email", "a@example.com", "--no-passphrase", "--expire", "soon"],
                       None),
        "import-garbage": (["keys", "import", a_file, "--keys-dir", home], None),
        "import-missing": (["keys", "import", tmp_path / "nope.asc", "--keys-dir", home], None),
        "export-empty": (["keys", "export", "--keys-dir", tmp_path], None),
        "export-unknown-fpr": (["keys", "export", "--keys-dir", tmp_path, "--fingerprint", "AB" * 20], None),
        "env-pw-file-missing": (gen + ["--name", "A", "--email", "a@example.com"],
                                {"PKGF_GPG_PASSPHRASE_FILE": str(tmp_path / "nope")}),
    }[case]
    try:
        one_line_error(cli(*args, env_extra=env))
    finally:
        kill_agent(home)
        kill_agent(tmp_path)


def test_passphrase_file_edge_cases(tmp_path):
    from pkgfactory.keys.passphrase import read_passphrase_file

    f = tmp_path / "pw"
    f.write_bytes(b"first line\r\nsecond\n")
    assert read_passphrase_file(f) == "first line"
    fifo = tmp_path / "fifo"  # as `--passphrase-file <(pass show signing)` hands it over
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"printf 'from a pipe\\n' > {fifo}"])
    assert read_passphrase_file(fifo) == "from a pipe"
    writer.wait()
    for path, message in ((Path("/dev/zero"), "longer than 4096 bytes"), (tmp_path, "cannot read: Is a directory"),
                          (tmp_path / "none", "cannot read: No such file")):
        with pytest.raises(InputError, match=message):
            read_passphrase_file(path)
    f.write_bytes(b"\xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_passphrase_file(f)


def _on_a_terminal(cols: int, *args) -> str:
    """The CLI's output on a pseudo-terminal ``cols`` wide, as a user at a console sees it."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "PKGF_GPG_PASSPHRASE_FILE")}
    code, text = run_in_pty(args, {**env, "TERM": "xterm"}, cols=cols)
    assert code == 0
    text = text.replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # colours and styles take no columns


@pytest.mark.parametrize("cols", [80, 60])
def test_list_keeps_the_fingerprint_on_one_line_of_a_narrow_terminal(tmp_path, cols):
    key = make_key(tmp_path / "k", name="A Packager With A Rather Long Name", email="long.address@example.com")
    try:
        text = _on_a_terminal(cols, "keys", "list", "--keys-dir", key.home)
    finally:
        kill_agent(key.home)
    lines = text.splitlines()
    assert all(len(ln) <= cols for ln in lines), "\n".join(lines)
    # Whole on one line, copyable as it stands: what the site compares against the delivery note.
    assert any(key.fingerprint in ln for ln in lines), text


def test_export_to_a_file_is_0644_under_umask_000(tmp_path):
    """The public key goes to the sites: nobody else may rewrite it on the way, whatever the umask."""
    from fixtures_go import run_cli

    key = make_key(tmp_path / "k")
    try:
        r = run_cli("keys", "export", "--keys-dir", key.home, "-o", tmp_path / "KEY.asc", umask=0)
    finally:
        kill_agent(key.home)
    assert r.code == 0, r.err
    assert (tmp_path / "KEY.asc").stat().st_mode & 0o7777 == 0o644
