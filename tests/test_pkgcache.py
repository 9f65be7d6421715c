"""The build key, the package cache and the scheduler, as units (no builder, no container)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from pkgfactory import schedule
from pkgfactory.buildkey import build_key
from pkgfactory.package.plan import BuildPlan
from pkgfactory.pkgcache import PackageCache

SDE = 1_700_000_000
BUILDER = {"image_id": "sha256:abc", "tool": "RPM version 4.18.0"}


def _plan(workdir: Path, target: str = "debian-11", **kw) -> BuildPlan:
    fields = dict(format="deb", target=target, arch="x86_64", workdir=workdir,
                  argv=("dpkg-buildpackage", "-b"), cwd="src", env={"SOURCE_DATE_EPOCH": str(SDE)},
                  artifact="p_1_amd64.deb", tools=("dpkg-deb",))
    return BuildPlan(**{**fields, **kw})


def _tree(root: Path, payload: bytes = b"\x7fELF binary") -> Path:
    (root / "src" / "root" / "usr" / "bin").mkdir(parents=True)
    (root / "src" / "debian").mkdir()
    (root / "src" / "debian" / "control").write_text("Package: p\n")
    binary = root / "src" / "root" / "usr" / "bin" / "p"
    binary.write_bytes(payload)
    os.chmod(binary, 0o755)
    os.symlink("../bin/p", root / "src" / "root" / "usr" / "p-link")
    for p in (binary, root / "src" / "root" / "usr" / "bin"):
        os.utime(p, (SDE, SDE))
    return root


def test_the_key_leaves_out_the_target_and_counts_what_the_build_reads(tmp_path):
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    key = build_key(_plan(a, "debian-11"), BUILDER, SDE)
    assert key == build_key(_plan(b, "debian-12"), BUILDER, SDE)  # two targets, one build
    # Files written now build what files written at SOURCE_DATE_EPOCH build (the tools clamp).
    os.utime(b / "src" / "debian" / "control", (SDE + 999, SDE + 999))
    assert build_key(_plan(b), BUILDER, SDE) == key
    changes = {
        "payload byte": lambda d: (d / "src/root/usr/bin/p").write_bytes(b"\x7fELF binarY"),
        "mode": lambda d: os.chmod(d / "src/root/usr/bin/p", 0o700),
        "old mtime": lambda d: os.utime(d / "src/root/usr/bin/p", (SDE - 1, SDE - 1)),
        "symlink": lambda d: (os.unlink(d / "src/root/usr/p-link"), os.symlink("bin/p", d / "src/root/usr/p-link")),
        "rendered file": lambda d: (d / "src/debian/control").write_text("Package: q\n"),
        "new file": lambda d: (d / "src/debian/postinst").write_text("#!/bin/sh\n"),
    }
    for what, change in changes.items():
        d = _tree(tmp_path / what.replace(" ", "-"))
        change(d)
        assert build_key(_plan(d), BUILDER, SDE) != key, what
    c = _tree(tmp_path / "c")
    assert build_key(_plan(c, argv=("dpkg-buildpackage", "-b", "-Zgzip")), BUILDER, SDE) != key
    assert build_key(_plan(c, env={"SOURCE_DATE_EPOCH": "1"}), BUILDER, SDE) != key
    assert build_key(_plan(c), {**BUILDER, "image_id": "sha256:def"}, SDE) != key
    assert build_key(_plan(c), {**BUILDER, "tool": "RPM version 4.19.0"}, SDE) != key


def _package(tmp_path: Path, name: str = "p_1_amd64.deb", data: bytes = b"!<arch>\npackage bytes") -> Path:
    path = tmp_path / "built" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


KEY = "a" * 64


def test_a_stored_package_comes_back_whole(tmp_path):
    cache = PackageCache(tmp_path / "cache")
    assert cache.fetch(KEY, tmp_path / "miss") is None
    built = _package(tmp_path)
    cache.put(KEY, built)
    got = cache.fetch(KEY, tmp_path / "hit")
    assert got == tmp_path / "hit" / built.name and got.read_bytes() == built.read_bytes()
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".tmp-")]


def test_a_flipped_byte_is_detected_the_entry_removed(tmp_path):
    cache = PackageCache(tmp_path / "cache")
    cache.put(KEY, _package(tmp_path))
    stored = tmp_path / "cache" / KEY / "p_1_amd64.deb"
    data = bytearray(stored.read_bytes())
    data[10] ^= 0x01
    stored.write_bytes(bytes(data))
    notes = []
    assert cache.fetch(KEY, tmp_path / "hit", note=notes.append) is None
    assert "corrupt" in notes[0] and KEY in notes[0]
    assert not (tmp_path / "cache" / KEY).exists() and not (tmp_path / "hit" / "p_1_amd64.deb").exists()
    cache.put(KEY, _package(tmp_path))  # the rebuild stores it again
    assert cache.fetch(KEY, tmp_path / "again").read_bytes() == _package(tmp_path).read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "no entry.json", "bad json", "name with a slash"])
def test_a_damaged_entry_is_a_miss(tmp_path, damage):
    cache = PackageCache(tmp_path / "cache")
    cache.put(KEY, _package(tmp_path))
    entry = tmp_path / "cache" / KEY
    if damage == "truncated":
        (entry / "p_1_amd64.deb").write_bytes(b"!<arch>\n")
    elif damage == "no entry.json":
        (entry / "entry.json").unlink()
    elif damage == "bad json":
        (entry / "entry.json").write_text("{")
    else:
        meta = json.loads((entry / "entry.json").read_text())
        (entry / "entry.json").write_text(json.dumps({**meta, "artifact": "../../etc/passwd"}))
    assert cache.fetch(KEY, tmp_path / "hit") is None
    assert not (tmp_path / "hit").exists() or not list((tmp_path / "hit").iterdir())


def test_the_cache_keeps_under_its_cap_dropping_the_least_recently_used(tmp_path):
    cache = PackageCache(tmp_path / "cache", cap=2500)
    keys = [c * 64 for c in "abc"]
    for i, key in enumerate(keys):
        cache.put(key, _package(tmp_path, data=bytes([i]) * 1000))
        entry = tmp_path / "cache" / key / "entry.json"
        os.utime(entry, (time.time() - 100 + i, time.time() - 100 + i))
    # Storing "c" went over 2500 bytes: "a", the oldest, went.
    assert sorted(p.name[0] for p in (tmp_path / "cache").iterdir()) == ["b", "c"]
    cache.fetch("b" * 64, tmp_path / "hit")  # now "b" is the most recently used
    cache.put("d" * 64, _package(tmp_path, data=b"d" * 1000))
    assert sorted(p.name[0] for p in (tmp_path / "cache").iterdir()) == ["b", "d"]


def test_an_unwritable_cache_costs_no_package(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    PackageCache(tmp_path / "file" / "cache").put(KEY, _package(tmp_path))  # no exception
    assert PackageCache(tmp_path / "file" / "cache").fetch(KEY, tmp_path / "hit") is None


def test_orphans_of_killed_runs_are_removed(tmp_path):
    cache = PackageCache(tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    dead = tmp_path / "cache" / ".tmp-999999999-aaaaaaaaaaaaaaaa"
    dead.mkdir()
    mine = tmp_path / "cache" / f".tmp-{os.getpid()}-bbbbbbbbbbbbbbbb"
    mine.mkdir()
    cache.put(KEY, _package(tmp_path))
    assert not dead.exists() and mine.exists()


def test_run_all_runs_each_unit_once_and_side_by_side():
    seen, running, peak, lock = [], [0], [0], threading.Lock()

    def work(unit):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
            seen.append(unit)

    schedule.run_all(list(range(6)), work, jobs=3)
    assert sorted(seen) == list(range(6)) and peak[0] == 3
    seen.clear()
    schedule.run_all(list(range(4)), work, jobs=1)
    assert seen == [0, 1, 2, 3]  # one job: in order, in this thread


def test_run_all_passes_a_bug_on_after_the_other_units_ran():
    seen = []

    def work(unit):
        if unit == 1:
            raise ZeroDivisionError("bug")
        time.sleep(0.05)
        seen.append(unit)

    with pytest.raises(ZeroDivisionError):
        schedule.run_all([0, 1, 2, 3], work, jobs=2)
    assert sorted(seen) == [0, 2, 3]


_CTRL_C_CHILD = r"""
import sys, time
from pkgfactory import runner, schedule
from pkgfactory.errors import PkgfError

def work(unit):
    try:
        runner.run(["sleep", "60"])
    except PkgfError as e:
        print("tool ended:", e, flush=True)

print("ready", flush=True)
try:
    schedule.run_all([1, 2, 3], work, jobs=2)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
print("not interrupted", flush=True)
"""


def test_ctrl_c_reaches_the_tools_of_every_running_build_and_stops_new_ones():
    import signal
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", _CTRL_C_CHILD], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # both workers' sleeps have started
        kids = subprocess.run(["pgrep", "-P", str(p.pid), "-x", "sleep"], capture_output=True, text=True).stdout
        if len(kids.split()) == 2:
            break
        time.sleep(0.05)
    started = time.monotonic()
    p.send_signal(signal.SIGINT)  # only the Python process, as from `kill -INT`: the tools get it from us
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 130, out
    assert time.monotonic() - started < 10
    assert out.count("tool ended:") == 2 and "interrupted" in out  # the third unit never started
