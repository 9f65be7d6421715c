"""pkgfactory.sign with the real rpmsign, rpmkeys, gpg and gpgv."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pkgfactory.errors import InputError, PkgfError
from pkgfactory.sign import Signer, rpm_check, verify_clearsigned, verify_detached
from pkgfactory.sign.agent import Agent, _preset_tool
from signing_helpers import PASSPHRASE, build_rpm, kill_agent, make_key, watch_processes


@pytest.fixture(scope="session")
def tiny_rpm(tmp_path_factory):
    return build_rpm(tmp_path_factory.mktemp("rpm"))


@pytest.fixture
def rpm(tmp_path, tiny_rpm):
    dest = tmp_path / tiny_rpm.name
    shutil.copyfile(tiny_rpm, dest)
    return dest


@pytest.fixture
def locked_key(tmp_path):
    k = make_key(tmp_path / "lk", passphrase=PASSPHRASE)
    yield k
    kill_agent(k.home)


def sig_tags(path: Path) -> tuple[str, str]:
    out = subprocess.run(["rpm", "-qp", "--nosignature", "--qf", "%{RSAHEADER:pgpsig}|%{SIGPGP:pgpsig}", str(path)],
                         check=True, capture_output=True, text=True).stdout
    header, payload = out.split("|")
    return header, payload


def checksig(path: Path, pubkey: Path | None, dbpath: Path) -> subprocess.CompletedProcess:
    """`rpm -K` against a database of our own holding only ``pubkey`` (or nothing)."""
    dbpath.mkdir(exist_ok=True)
    if pubkey is not None:
        subprocess.run(["rpmkeys", "--dbpath", str(dbpath), "--import", str(pubkey)], check=True)
    return subprocess.run(["rpm", "--dbpath", str(dbpath), "-Kv", str(path)], capture_output=True, text=True)


def test_v4_signature_verifies_with_the_key_and_not_without(rpm, key, tmp_path):
    with Signer(key.home) as signer:
        signer.sign_rpms([rpm], v3=False)
    header, payload = sig_tags(rpm)
    assert header.startswith("RSA/SHA256,") and key.fingerprint[-16:].lower() in header
    assert payload == "(none)"  # rpm >= 4.16 writes no v3 signature unless asked
    pub = key.public(tmp_path / "KEY.asc")
    ok = checksig(rpm, pub, tmp_path / "db1")
    assert ok.returncode == 0 and "Header V4 RSA/SHA256 Signature" in ok.stdout and "NOKEY" not in ok.stdout
    missing = checksig(rpm, None, tmp_path / "db2")
    assert missing.returncode != 0 and "NOKEY" in missing.stdout
    (result,) = rpm_check([rpm], pub)
    assert result.ok and result.signatures == ("header",)


def test_v3_signature_when_asked(rpm, key, tmp_path):
    with Signer(key.home) as signer:
        signer.sign_rpms([rpm], v3=True)
    header, payload = sig_tags(rpm)
    assert header.startswith("RSA/SHA256,") and payload.startswith("RSA/SHA256,")
    pub = key.public(tmp_path / "KEY.asc")
    out = checksig(rpm, pub, tmp_path / "db").stdout
    assert "    V4 RSA/SHA256 Signature, key ID" in out  # the header+payload one rpm 4.11 checks
    (result,) = rpm_check([rpm], pub)
    assert result.ok and set(result.signatures) == {"header", "header+payload"}


def test_rpm_check_uses_only_the_given_key(rpm, tiny_rpm, key, other_key, tmp_path):
    with Signer(key.home) as signer:
        signer.sign_rpms([rpm], v3=True)
    other_pub = other_key.public(tmp_path / "OTHER.asc")
    signed_other, unsigned, missing = rpm_check([rpm, tiny_rpm, tmp_path / "gone.rpm"], other_pub)
    assert not signed_other.ok and "NOKEY" in signed_other.reason
    assert not unsigned.ok and unsigned.reason == "not signed"  # rpmkeys alone calls it OK
    assert not missing.ok and missing.reason == "no such file"
    # A broken payload fails even with the right key.
    pub = key.public(tmp_path / "KEY.asc")
    data = bytearray(rpm.read_bytes())
    data[-100] ^= 0xFF
    bad = tmp_path / "bad.rpm"
    bad.write_bytes(bytes(data))
    (result,) = rpm_check([bad], pub)
    assert not result.ok and "BAD" in result.reason.upper()


def test_passphrase_never_on_a_command_line_in_an_environment_or_in_the_log(tmp_path, locked_key, tiny_rpm):
    rpms = []
    for i in range(4):
        dest = tmp_path / f"p{i}" / tiny_rpm.name
        dest.parent.mkdir()
        shutil.copyfile(tiny_rpm, dest)
        rpms.append(dest)
    data = tmp_path / "SHA256SUMS"
    data.write_text("abc  file\n")
    log = tmp_path / "sign.log"
    secret = PASSPHRASE.encode()
    with watch_processes(secret, related=str(locked_key.home).encode()) as (leaks, seen):
        with Signer(locked_key.home, passphrase=PASSPHRASE, log=log) as signer:
            for r in rpms:
                signer.sign_rpms([r], v3=True)
            signer.detach_sign(data)
            signer.clearsign(data, tmp_path / "InRelease")
    assert not leaks, leaks
    assert {b"rpmsign", b"gpg", b"gpg-agent"} <= seen  # the poller did see the children
    assert secret not in log.read_bytes()
    assert "rpmsign --addsign" in log.read_text()
    for f in locked_key.home.rglob("*"):
        if f.is_file():
            assert secret not in f.read_bytes(), f
    pub = locked_key.public(tmp_path / "KEY.asc")
    assert all(r.ok for r in rpm_check(rpms, pub))
    # Forgotten again once the signer is closed.
    assert Agent(locked_key.home).key_state(Signer(locked_key.home, passphrase=PASSPHRASE).key.keygrip) == "locked"


# A run that unlocks the key and is then SIGKILLed: Signer.close() never runs.
_KILLED_WHILE_UNLOCKED = r"""
import os, signal, sys
from pkgfactory.sign import Signer
signer = Signer(sys.argv[1], passphrase=sys.argv[2])
signer.unlock()
print(signer._janitor._proc.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_killed_run_leaves_the_key_locked_again(tmp_path, locked_key):
    import sys
    import time
    keygrip = Signer(locked_key.home).key.keygrip
    agent = Agent(locked_key.home)
    # The passphrase goes on this test child's argv only; pkgfactory never puts it there.
    proc = subprocess.run([sys.executable, "-c", _KILLED_WHILE_UNLOCKED, str(locked_key.home), PASSPHRASE],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    janitor = int(proc.stdout.strip())
    deadline = time.monotonic() + 5
    while agent.key_state(keygrip) == "cached" or _alive(janitor):
        assert time.monotonic() < deadline, "passphrase still cached 5 s after the run was killed"
        time.sleep(0.05)
    assert agent.key_state(keygrip) == "locked"


def test_a_closed_signer_leaves_no_janitor_behind(tmp_path, locked_key):
    data = tmp_path / "data"
    data.write_text("x\n")
    with Signer(locked_key.home, passphrase=PASSPHRASE) as s:
        s.detach_sign(data)
        janitor = s._janitor._proc.pid
        assert _alive(janitor)
    assert not _alive(janitor)


def test_passphrase_sources(tmp_path, locked_key, monkeypatch):
    monkeypatch.delenv("PKGF_GPG_PASSPHRASE_FILE", raising=False)
    data = tmp_path / "data"
    data.write_text("x\n")
    with pytest.raises(InputError, match="passphrase-protected and gpg-agent has not got the passphrase"):
        Signer.open(locked_key.home, interactive=False)
    with pytest.raises(InputError, match="wrong passphrase"):
        with Signer(locked_key.home, passphrase="not it") as s:
            s.detach_sign(data)

    pw = tmp_path / "pw"
    pw.write_text(PASSPHRASE + "\n")
    with Signer.open(locked_key.home, passphrase_file=pw, interactive=False) as s:
        s.detach_sign(data)
    monkeypatch.setenv("PKGF_GPG_PASSPHRASE_FILE", str(pw))
    with Signer.open(locked_key.home, interactive=False) as s:
        s.detach_sign(data)
    monkeypatch.delenv("PKGF_GPG_PASSPHRASE_FILE")

    # An agent someone already unlocked is used as it is.
    keygrip = Signer(locked_key.home).key.keygrip
    agent = Agent(locked_key.home)
    agent.launch()
    subprocess.run([_preset_tool(), "--preset", keygrip], input=(PASSPHRASE + "\n").encode(), check=True,
                   env={**os.environ, "GNUPGHOME": str(locked_key.home)})
    with Signer.open(locked_key.home, interactive=False) as s:
        s.detach_sign(data)
    assert agent.key_state(keygrip) == "cached"  # not ours to forget


def test_detached_and_clear_signatures_verify_with_only_that_key(tmp_path, key, other_key):
    data = tmp_path / "repomd.xml"
    data.write_text("<repomd/>\n")
    release = tmp_path / "Release"
    release.write_text("Origin: pkgfactory\nSuite: stable\n")
    with Signer(key.home) as s:
        asc = s.detach_sign(data)
        sig = s.detach_sign(release, armor=False, out=tmp_path / "Release.gpg")
        inrelease = s.clearsign(release, tmp_path / "InRelease")
    assert asc == tmp_path / "repomd.xml.asc" and asc.read_text().startswith("-----BEGIN PGP SIGNATURE-----")
    assert not sig.read_bytes().startswith(b"-----")
    text = inrelease.read_text()
    assert text.startswith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n")
    pub = key.public(tmp_path / "KEY.asc")
    pub_bin = key.public(tmp_path / "KEY.gpg", armor=False)
    assert verify_detached(data, asc, pub) == key.fingerprint
    assert verify_detached(release, sig, pub_bin) == key.fingerprint
    plain = tmp_path / "plain"
    assert verify_clearsigned(inrelease, pub, output=plain) == key.fingerprint
    assert plain.read_text() == release.read_text()

    other = other_key.public(tmp_path / "OTHER.asc")
    with pytest.raises(PkgfError, match="made by another key"):
        verify_detached(data, asc, other)
    with pytest.raises(PkgfError, match="made by another key"):
        verify_clearsigned(inrelease, other)
    data.write_text("<repomd>changed</repomd>\n")
    with pytest.raises(PkgfError, match="BAD signature"):
        verify_detached(data, asc, pub)
    inrelease.write_text(text.replace("Suite: stable", "Suite: evil"))
    with pytest.raises(PkgfError, match="BAD signature"):
        verify_clearsigned(inrelease, pub)


def test_sha256_digests(tmp_path, key):
    data = tmp_path / "SHA256SUMS"
    data.write_text("x\n")
    with Signer(key.home) as s:
        s.detach_sign(data)
    dump = subprocess.run(["gpg", "--homedir", str(key.home), "--batch", "--list-packets", str(data) + ".asc"],
                          check=True, capture_output=True, text=True).stdout
    assert "digest algo 8," in dump


def test_signer_bad_input_is_one_line(tmp_path, key, rpm):
    garbage = tmp_path / "garbage.rpm"
    garbage.write_bytes(b"not an rpm at all")
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with Signer(key.home) as s:
        for paths, kind in (([tmp_path / "missing.rpm"], InputError), ([text], InputError),
                            ([garbage], PkgfError)):
            with pytest.raises(kind) as e:
                s.sign_rpms(paths, v3=False)
            assert "\n" not in str(e.value)
        with pytest.raises(InputError, match="does not exist"):
            s.clearsign(text, tmp_path / "nodir" / "InRelease")
    empty = tmp_path / "empty-keys"
    empty.mkdir()
    with pytest.raises(InputError, match="no secret key in keys dir"):
        Signer(empty)
    with pytest.raises(InputError, match="does not exist"):
        Signer(tmp_path / "nowhere")
    with pytest.raises(InputError, match=r"no secret key [0-9A-F]{40}"):
        Signer(key.home, fingerprint="AB" * 20)
    with pytest.raises(PkgfError, match="public key not found"):
        rpm_check([rpm], tmp_path / "nokey.asc")
    kill_agent(empty)


def test_ed25519_primary_signs_but_is_refused_for_old_targets(tmp_path):
    from pkgfactory import targets
    from pkgfactory.keys import refuse_unverifiable

    ed = make_key(tmp_path / "ed", algorithm="ed25519")
    try:
        with Signer(ed.home) as s:
            with pytest.raises(PkgfError, match="centos-7"):
                refuse_unverifiable(s.key, [targets.get("centos-7")])
    finally:
        kill_agent(ed.home)
