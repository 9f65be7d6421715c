"""The signature cache (pkgfactory.sign.cache) with the real gpg, gpgv, rpmsign and rpmkeys:
a hit is the same signature verified, a miss signs, and an entry that is corrupt, foreign
(another key, other data, another package) or of another kind is refused and redone."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pkgfactory.pkgcache import ENTRY
from pkgfactory.sign import Signer, rpm_check, verify_clearsigned, verify_detached
from pkgfactory.sign.cache import entry_key, signature_cache
from signing_helpers import build_rpm


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PKGF_SIGNATURE_CACHE", str(tmp_path / "signatures"))
    return signature_cache()


@pytest.fixture(scope="module")
def rpms(tmp_path_factory):
    root = tmp_path_factory.mktemp("rpms")
    return build_rpm(root, "pkgf-one"), build_rpm(root, "pkgf-two")


def _data(tmp_path: Path, name: str = "Release", text: str = "Origin: pkgfactory\nSuite: test\n") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _sign(key, cache, what: str, data: Path, out: Path) -> Signer:
    with Signer(key.home, cache=cache, log=out.parent / "sign.log") as s:
        if what == "clear":
            s.clearsign(data, out)
        else:
            s.detach_sign(data, out=out)
    return s


def _entry(cache, key_hex: str) -> Path:
    entry = cache.root / key_hex
    meta = json.loads((entry / ENTRY).read_text())
    return entry / meta["artifact"]


def _replace_entry(cache, key_hex: str, content: bytes) -> None:
    """An entry whose stored sha256 matches its new bytes: only the signature check can catch it."""
    path = _entry(cache, key_hex)
    path.write_bytes(content)
    meta_file = cache.root / key_hex / ENTRY
    meta = json.loads(meta_file.read_text())
    meta.update(sha256=hashlib.sha256(content).hexdigest(), size=len(content))
    meta_file.write_text(json.dumps(meta))


def _gpg_key(kind: str, key, data: Path) -> str:
    return entry_key(kind, key.fingerprint, hashlib.sha256(data.read_bytes()).hexdigest(),
                     {"armor": True, "digest": "SHA256"})


@pytest.mark.parametrize("what", ["detach", "clear"])
def test_hit_is_the_same_signature_verified(tmp_path, key, cache, what):
    data = _data(tmp_path)
    first = _sign(key, cache, what, data, tmp_path / "one")
    assert (first.signed, first.reused) == (1, 0)
    second = _sign(key, cache, what, data, tmp_path / "two")
    assert (second.signed, second.reused) == (0, 1)
    assert (tmp_path / "one").read_bytes() == (tmp_path / "two").read_bytes()
    pub = key.public(tmp_path / "key.asc")
    if what == "clear":
        assert verify_clearsigned(tmp_path / "two", pub) == key.fingerprint
    else:
        assert verify_detached(data, tmp_path / "two", pub) == key.fingerprint


@pytest.mark.parametrize("what", ["detach", "clear"])
def test_other_bytes_other_key_or_no_cache_sign_afresh(tmp_path, key, other_key, cache, what):
    data = _data(tmp_path)
    _sign(key, cache, what, data, tmp_path / "one")
    changed = _data(tmp_path, "Release2", data.read_text() + "Label: x\n")
    assert _sign(key, cache, what, changed, tmp_path / "two").signed == 1
    assert _sign(other_key, cache, what, data, tmp_path / "three").signed == 1
    with Signer(key.home) as s:  # no cache: nothing read, nothing kept
        s.detach_sign(data, out=tmp_path / "four")
    assert (s.signed, s.reused) == (1, 0)
    # Not reused where the caller says the data is this run's alone (SHA256SUMS).
    with Signer(key.home, cache=cache) as s:
        s.detach_sign(data, out=tmp_path / "five", reuse=False)
    assert (s.signed, s.reused) == (1, 0)


def _gpg_sign(key, data: Path, out: Path, *extra: str) -> Path:
    """A detached armored signature by ``key`` made outside the Signer, with ``extra`` gpg options."""
    subprocess.run(["gpg", "--homedir", str(key.home), "--batch", "--yes", "--local-user", f"{key.fingerprint}!",
                    "--digest-algo", "SHA256", "--armor", "--detach-sign", *extra, "--output", str(out), str(data)],
                   check=True, capture_output=True)
    return out


@pytest.mark.parametrize("fault", ["flipped byte", "foreign key", "other data", "not armored", "clear for detach",
                                   "text mode", "expiring", "sha512", "two signatures"])
def test_bad_entries_are_refused_and_redone(tmp_path, key, other_key, cache, fault):
    data = _data(tmp_path)
    _sign(key, cache, "detach", data, tmp_path / "good.asc")
    k = _gpg_key("detach", key, data)
    if fault == "flipped byte":
        path = _entry(cache, k)
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        path.write_bytes(bytes(raw))  # the cache's own sha256 check catches this one
    elif fault == "foreign key":
        _sign(other_key, None, "detach", data, tmp_path / "foreign.asc")
        _replace_entry(cache, k, (tmp_path / "foreign.asc").read_bytes())
    elif fault == "other data":
        other = _data(tmp_path, "Other", "something else\n")
        _sign(key, None, "detach", other, tmp_path / "other.asc")
        _replace_entry(cache, k, (tmp_path / "other.asc").read_bytes())
    elif fault == "not armored":
        with Signer(key.home) as s:
            s.detach_sign(data, armor=False, out=tmp_path / "binary.sig")
        _replace_entry(cache, k, (tmp_path / "binary.sig").read_bytes())
    elif fault == "clear for detach":
        _sign(key, None, "clear", data, tmp_path / "InRelease")
        _replace_entry(cache, k, (tmp_path / "InRelease").read_bytes())
    elif fault == "two signatures":
        second = _gpg_sign(key, data, tmp_path / "second.asc").read_bytes()
        _replace_entry(cache, k, (tmp_path / "good.asc").read_bytes() + second)
    else:
        extra = {"text mode": ["--textmode"], "expiring": ["--default-sig-expire", "1y"],
                 "sha512": ["--digest-algo", "SHA512"]}[fault]
        _replace_entry(cache, k, _gpg_sign(key, data, tmp_path / "odd.asc", *extra).read_bytes())
    again = _sign(key, cache, "detach", data, tmp_path / "again.asc")
    assert (again.signed, again.reused) == (1, 0), fault
    log = (tmp_path / "sign.log").read_text()
    assert f"signature cache entry {k} is corrupt" in log if fault == "flipped byte" else \
        f"signature cache entry {k} for again.asc not used" in log
    assert verify_detached(data, tmp_path / "again.asc", key.public(tmp_path / "key.asc")) == key.fingerprint
    # The bad entry was replaced by the fresh signature: the next run hits.
    assert _sign(key, cache, "detach", data, tmp_path / "third.asc").reused == 1


def _unsigned(tmp_path: Path, rpm: Path, name: str) -> Path:
    dest = tmp_path / name / rpm.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(rpm, dest)
    return dest


def _sign_rpm(key, cache, path: Path, v3: bool) -> tuple[Signer, list]:
    with Signer(key.home, cache=cache, log=path.parent.parent / "sign.log") as s:
        checks = s.sign_rpms([path], v3=v3)
    return s, checks


def test_rpm_hit_miss_and_kind(tmp_path, key, cache, rpms):
    one, _two = rpms
    a = _unsigned(tmp_path, one, "a")
    s, (check,) = _sign_rpm(key, cache, a, v3=True)
    assert (s.signed, s.reused) == (1, 0) and check.ok and set(check.signatures) == {"header", "header+payload"}
    b = _unsigned(tmp_path, one, "b")
    s, (check,) = _sign_rpm(key, cache, b, v3=True)
    assert (s.signed, s.reused) == (0, 1) and check.ok
    assert a.read_bytes() == b.read_bytes()
    (result,) = rpm_check([b], key.public(tmp_path / "key.asc"))
    assert result.ok and set(result.signatures) == {"header", "header+payload"}
    # A v4-only request is another kind: signed afresh, never handed the v3 package.
    c = _unsigned(tmp_path, one, "c")
    s, (check,) = _sign_rpm(key, cache, c, v3=False)
    assert (s.signed, s.reused) == (1, 0) and check.signatures == ("header",)


@pytest.mark.parametrize("fault", ["another package", "another key", "unsigned"])
def test_rpm_bad_entries_are_refused_and_redone(tmp_path, key, other_key, cache, rpms, fault):
    one, two = rpms
    a = _unsigned(tmp_path, one, "a")
    _sign_rpm(key, cache, a, v3=True)
    k = entry_key("rpm", key.fingerprint, hashlib.sha256(one.read_bytes()).hexdigest(),
                  {"v3": True, "digest": "sha256"})
    if fault == "another package":  # signed by our key, but not this package
        other = _unsigned(tmp_path, two, "other")
        _sign_rpm(key, None, other, v3=True)
        _replace_entry(cache, k, other.read_bytes())
    elif fault == "another key":
        other = _unsigned(tmp_path, one, "other")
        _sign_rpm(other_key, None, other, v3=True)
        _replace_entry(cache, k, other.read_bytes())
    else:
        _replace_entry(cache, k, one.read_bytes())
    b = _unsigned(tmp_path, one, "b")
    s, (check,) = _sign_rpm(key, cache, b, v3=True)
    assert (s.signed, s.reused) == (1, 0), fault
    assert check.ok
    out = subprocess.run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", "%{NAME}", str(b)],
                         capture_output=True, text=True, check=True).stdout
    assert out == "pkgf-one"
    assert f"signature cache entry {k} for {b.name} not used" in (tmp_path / "sign.log").read_text()



def test_a_warm_run_signs_nothing_new(tmp_path, key, cache, rpms):
    """Everything a bundle's Signer makes (v3 RPMs, a detached and a clear signature) signed once;
    the same inputs again give the same bytes with no signature made."""
    release = _data(tmp_path)

    def run(name: str) -> tuple[Signer, dict[str, bytes]]:
        out = tmp_path / name
        paths = [_unsigned(tmp_path, rpm, f"{name}/rpms") for rpm in rpms]
        with Signer(key.home, cache=cache, log=out / "sign.log") as s:
            checks = s.sign_rpms(paths, v3=True, jobs=2)
            s.detach_sign(release, out=out / "Release.gpg")
            s.clearsign(release, out / "InRelease")
        assert all(c.ok for c in checks)
        return s, {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
                   if p.is_file() and p.name != "sign.log"}

    cold, first = run("cold")
    assert (cold.signed, cold.reused) == (4, 0)
    warm, second = run("warm")
    assert (warm.signed, warm.reused) == (0, 4)
    assert first == second
