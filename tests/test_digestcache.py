"""pkgfactory.digestcache: a remembered sha256 is used only while the file's stat is the one it
was made for, and only for files whose times had settled when it was made."""

from __future__ import annotations

import hashlib
import os
import time

from pkgfactory import digestcache
from pkgfactory.digestcache import DigestCache


def _big(path, fill: bytes = b"a", age_s: int = 60):
    path.write_bytes(fill * digestcache.MIN_SIZE)
    old = time.time_ns() - age_s * 1_000_000_000
    os.utime(path, ns=(old, old))
    return path


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _settled(monkeypatch):
    # ctime cannot be set back, so the test moves "now" forward instead.
    real = time.time_ns
    monkeypatch.setattr(digestcache.time, "time_ns", lambda: real() + 10 * digestcache.SETTLED_NS)


def test_a_settled_file_is_remembered_and_a_rewrite_is_seen_even_with_its_mtime_put_back(tmp_path, monkeypatch):
    _settled(monkeypatch)
    f = _big(tmp_path / "bin")
    store = tmp_path / "digests.json"
    first = DigestCache(store)
    assert first.sha256(f) == _sha(f)
    first.save()
    assert store.is_file()
    st = f.stat()
    calls = []
    monkeypatch.setattr(digestcache, "sha256_file", lambda p: calls.append(p) or _sha(p))
    assert DigestCache(store).sha256(f) == _sha(f) and calls == []  # taken from the cache
    # Same size, same mtime, other bytes: ctime moved, so it is hashed again.
    with open(f, "r+b") as fh:
        fh.write(b"b")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_mtime_ns == st.st_mtime_ns and f.stat().st_size == st.st_size
    assert DigestCache(store).sha256(f) == _sha(f)
    assert calls, "the rewritten file was not hashed again"


def test_a_file_written_just_now_is_not_remembered(tmp_path):
    f = tmp_path / "fresh"
    f.write_bytes(b"x" * digestcache.MIN_SIZE)  # mtime and ctime: now
    cache = DigestCache(tmp_path / "digests.json")
    assert cache.sha256(f) == _sha(f)
    cache.save()
    assert not (tmp_path / "digests.json").exists()


def test_small_files_are_always_hashed_and_a_broken_store_is_ignored(tmp_path, monkeypatch):
    _settled(monkeypatch)
    store = tmp_path / "digests.json"
    store.write_text("{not json")
    small = tmp_path / "small"
    small.write_bytes(b"tiny")
    f = _big(tmp_path / "bin")
    cache = DigestCache(store)
    assert cache.sha256(small) == _sha(small) and cache.sha256(f) == _sha(f)
    cache.save()
    store.write_text('{"%s": [1, 2, 3, 4, 5, 6]}' % f)  # the wrong shape
    assert DigestCache(store).sha256(f) == _sha(f)
