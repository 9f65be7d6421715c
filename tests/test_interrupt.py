"""`pkgfactory bundle` killed with SIGKILL at random moments, and run twice at once.

The real CLI builds the example for centos-7 and debian-12 (x86_64) in the
builder container with a passphrase-protected key. One full run is timed
first; the kill delays are then spread over that duration (one seeded random
delay per equal slice, so every phase gets its share) and, in the slow test,
some are anchored just after the "self-verify" and "publish" stage lines,
where the renames happen. Every third kill hits a first run, into an empty
output directory; the others replace a published bundle.

After each kill, whatever carries a final name must be complete: the bundle
directory and the extracted tar pass `pkgfactory verify --fingerprint`, every
package under OUT/<target>/<arch>/ reads back whole, build-report.json parses.
Then the same command is run again at once, with no clean-up, while the
killed run's container build may still be going: it must succeed, verify, and
leave none of the killed run's staging directories, .part files or work
directories behind (only the orphaned container's own work directory may
outlive it, until the next run).

Only the pkgfactory process is killed, as an OOM killer or `kill -9 PID`
would: its children (podman, gpg, rpmsign) are left to finish or die on
their own, the harder case for the rerun.

The helpers are module-level so bench/reliability.py can run more kills.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hello_example import build_hello, copy_example
from signing_helpers import PASSPHRASE, kill_agent, make_key

TARGETS = ("centos-7", "debian-12")
NAME = "hello-service-1.2.0"
SEED = 20250506
JANITOR_GRACE_S = 5


@dataclass
class Rig:
    root: Path
    project: Path
    key_home: Path
    fingerprint: str
    passphrase_file: Path

    def argv(self, out: Path, *extra: str, command: str = "bundle", targets=TARGETS) -> list[str]:
        args = [sys.executable, "-m", "pkgfactory", command, "-c", str(self.project), "-o", str(out),
                "--arch", "x86_64", *extra]
        if command == "bundle":
            args += ["--keys-dir", str(self.key_home)]
        for t in targets:
            args += ["--target", t]
        return args

    @property
    def env(self) -> dict:
        # Unbuffered: the stage lines must reach the output file when printed, for the anchored kills.
        # A signature cache and a bundle cache of its own for every run: each one really makes
        # its bundle and signs, so the kills land while gpg and rpmsign are at work (and the key
        # unlocked), as in a first run.
        run = str(time.monotonic_ns())
        return {**os.environ, "PKGF_GPG_PASSPHRASE_FILE": str(self.passphrase_file), "PYTHONUNBUFFERED": "1",
                "PKGF_SIGNATURE_CACHE": str(self.root / "signature-caches" / run),
                "PKGF_BUNDLE_CACHE": str(self.root / "bundle-caches" / run)}


def make_rig(root: Path) -> Rig:
    root.mkdir(parents=True, exist_ok=True)
    project = copy_example(root / "project", build_hello(root / "bins"))
    key = make_key(root / "keys", passphrase=PASSPHRASE)
    pfile = root / "passphrase"
    pfile.write_text(PASSPHRASE + "\n")
    pfile.chmod(0o600)
    return Rig(root, project, key.home, key.fingerprint, pfile)


def close_rig(rig: Rig) -> None:
    kill_agent(rig.key_home)


def builder_ready() -> None:
    p = subprocess.run([sys.executable, "-m", "pkgfactory", "builder", "create"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


# --- running and killing -----------------------------------------------------------------

def start(rig: Rig, out: Path, log: Path, **kw) -> subprocess.Popen:
    with open(log, "wb") as f:
        return subprocess.Popen(rig.argv(out, **kw), stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=rig.env)


def run_to_end(rig: Rig, out: Path, log: Path, **kw) -> tuple[int, float]:
    t = time.monotonic()
    p = start(rig, out, log, **kw)
    return p.wait(timeout=600), time.monotonic() - t


def last_stage(log: Path) -> str:
    stages = [ln[3:].strip() for ln in log.read_text(errors="replace").splitlines() if ln.startswith("== ")]
    return stages[-1] if stages else "start"


@dataclass
class Kill:
    delay: float
    anchor: str | None = None  # a stage line the delay counts from
    killed: bool = False
    stage: str = ""  # the last stage line the run had printed
    pid: int = 0


def kill_run(rig: Rig, out: Path, log: Path, kill: Kill) -> Kill:
    """Start a run and SIGKILL the pkgfactory process (only it) ``kill.delay`` s after start or anchor."""
    p = start(rig, out, log)
    kill.pid = p.pid
    t0 = time.monotonic()
    if kill.anchor:
        while p.poll() is None and f"== {kill.anchor}" not in log.read_text(errors="replace"):
            if time.monotonic() - t0 > 600:
                break
            time.sleep(0.002)
        t0 = time.monotonic()
    while p.poll() is None and time.monotonic() - t0 < kill.delay:
        time.sleep(0.002)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        kill.killed = True
    p.wait()
    kill.stage = last_stage(log)
    return kill


# --- what a kill may leave --------------------------------------------------------------------

def verify_cli(bundle: Path, fingerprint: str) -> str | None:
    p = subprocess.run([sys.executable, "-m", "pkgfactory", "verify", str(bundle), "--fingerprint", fingerprint,
                        "--json"], capture_output=True, text=True, timeout=300)
    if p.returncode == 0:
        return None
    try:
        problems = json.loads(p.stdout)["problems"][:3]
    except (ValueError, KeyError):
        problems = p.stderr.strip()[-300:]
    return f"{bundle.name}: verify exit {p.returncode}: {problems}"


def _package_reads_back(path: Path) -> bool:
    if path.suffix == ".rpm":
        argv = ["rpm", "-K", "--nosignature", str(path)]
    else:
        argv = ["dpkg-deb", "--fsys-tarfile", str(path)]
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def final_names_problems(out: Path, fingerprint: str) -> tuple[list[str], dict]:
    """(problems, what exists): every final name present must be complete and verify."""
    problems: list[str] = []
    bundle, archive = out / NAME, out / f"{NAME}.tar"
    seen = {"dir": bundle.exists(), "tar": archive.exists()}
    if seen["dir"]:
        if bundle.is_dir():
            problems += filter(None, [verify_cli(bundle, fingerprint)])
        else:
            problems.append(f"{bundle} is not a directory")
    if seen["tar"]:
        with tempfile.TemporaryDirectory(prefix="pkgf-tar-", dir=out.parent) as tmp:
            try:
                with tarfile.open(archive) as tar:
                    if sorted({m.name.split("/")[0] for m in tar.getmembers()}) != [NAME]:
                        problems.append(f"{archive.name}: members outside {NAME}/")
                # GNU tar, not extractall: Debian 12's Python 3.11.2 has no extraction filters.
                subprocess.run(["tar", "-xf", str(archive), "-C", tmp, "--no-same-owner"], check=True,
                               capture_output=True)
                problems += filter(None, [verify_cli(Path(tmp) / NAME, fingerprint)])
            except (tarfile.TarError, OSError, EOFError, subprocess.CalledProcessError) as e:
                problems.append(f"{archive.name}: unreadable tar: {e}")
    for t in TARGETS:
        for pkg in sorted((out / t / "x86_64").glob("*")):
            if pkg.suffix in (".rpm", ".deb") and not _package_reads_back(pkg):
                problems.append(f"{pkg.relative_to(out)}: incomplete package under its final name")
    report = out / "build-report.json"
    if report.exists():
        try:
            json.loads(report.read_text())
        except ValueError:
            problems.append("build-report.json: not complete JSON")
    return problems, seen


def leftovers(out: Path, allowed_work: tuple[str, ...] = ()) -> list[str]:
    """Debris of killed runs after a successful run: staging/old trees, .part files, work directories."""
    found = [p.name for p in out.iterdir() if p.name.startswith(f".{NAME}.")]
    for d in [out, *(out / t / "x86_64" for t in TARGETS)]:
        if d.is_dir():
            found += [str(p.relative_to(out)) for p in d.iterdir() if ".part-" in p.name]
    work = out / ".work"
    if work.exists():
        found += [f".work/{p.name}" for p in work.iterdir() if not p.name.startswith(allowed_work)]
    return found


def _our_processes(out: Path) -> list[int]:
    needle = str(out).encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if needle in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def _our_containers(out: Path) -> list[str]:
    """Running containers with a mount from under ``out`` (a killed run's builds go on without it)."""
    ids = subprocess.run(["podman", "ps", "-q"], capture_output=True, text=True).stdout.split()
    if not ids:
        return []
    p = subprocess.run(["podman", "inspect", "--format", "{{.Id}} {{range .Mounts}}{{.Source}} {{end}}", *ids],
                       capture_output=True, text=True)
    return [ln.split()[0] for ln in p.stdout.splitlines() if str(out) in ln]


def wait_quiet(out: Path, timeout: float = 180) -> None:
    """Until the killed runs' orphans (podman clients, container builds, signers) are gone."""
    deadline = time.monotonic() + timeout
    while (_our_processes(out) or _our_containers(out)) and time.monotonic() < deadline:
        time.sleep(0.2)


# --- the loop ----------------------------------------------------------------------------------

@dataclass
class Cycle:
    kill: Kill
    seen: dict = field(default_factory=dict)
    after_kill: list[str] = field(default_factory=list)  # final names not complete after the kill
    rerun_code: int = 0
    after_rerun: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    first_run: bool = False  # killed in an output directory that held no bundle yet

    @property
    def ok(self) -> bool:
        return not self.after_kill and self.rerun_code == 0 and not self.after_rerun and not self.left


def plan_kills(n: int, full: float, seed: int = SEED, anchored: int = 0) -> list[Kill]:
    """n delays, one per equal slice of the run (up to 95% of it), shuffled; plus ``anchored`` stage kills."""
    rng = random.Random(seed)
    span = 0.95 * full
    kills = [Kill(delay=round(span * (i + rng.random()) / n, 3)) for i in range(n)]
    rng.shuffle(kills)
    for i in range(anchored):
        kills.append(Kill(delay=round(rng.uniform(0, 0.25), 3), anchor=("self-verify", "publish")[i % 2]))
    return kills


def interrupt_cycle(rig: Rig, out: Path, kill: Kill, logs: Path) -> Cycle:
    n = len(list(logs.glob("kill-*.log")))
    c = Cycle(kill_run(rig, out, logs / f"kill-{n}.log", kill))
    c.after_kill, c.seen = final_names_problems(out, rig.fingerprint)
    c.rerun_code, _ = run_to_end(rig, out, logs / f"rerun-{n}.log")
    if c.rerun_code == 0:
        c.after_rerun, _ = final_names_problems(out, rig.fingerprint)
        for need in (out / NAME, out / f"{NAME}.tar"):
            if not need.exists():
                c.after_rerun.append(f"{need.name} missing after a successful rerun")
    else:
        c.after_rerun = [(logs / f"rerun-{n}.log").read_text(errors="replace")[-500:]]
    # The killed run's container build may have outlived it and may write into its own
    # work directory until it ends: that one alone may remain, for the next run to remove.
    c.left = leftovers(out, allowed_work=(f"run-{kill.pid}-",))
    wait_quiet(out)
    return c


def interrupt_runs(rig: Rig, out: Path, n: int, *, anchored: int = 0, seed: int = SEED,
                   log=lambda msg: None) -> dict:
    """Time one full run, then n (+ anchored) kill-and-rerun cycles; the figures as a dict.

    Most cycles run into ``out``, where a previous bundle is published; every
    third one into an empty directory of its own: the first run ever, killed.
    """
    logs = out.parent / f"{out.name}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    code, full = run_to_end(rig, out, logs / "full.log")
    assert code == 0, (logs / "full.log").read_text()
    cycles = []
    for i, kill in enumerate(plan_kills(n, full, seed, anchored)):
        first, tries = i % 3 == 2, 0
        while True:
            where = out if not first else out.parent / f"{out.name}-first-{i}-{tries}"
            c = interrupt_cycle(rig, where, kill, logs)
            c.first_run = first
            cycles.append(c)
            # A run that finished before its moment is no kill: try that slice again, earlier.
            if c.kill.killed or tries == 3:
                break
            tries += 1
            kill = Kill(delay=round(kill.delay * 0.6, 3), anchor=kill.anchor)
        log(f"kill at {kill.delay:.2f}s{' after ' + kill.anchor if kill.anchor else ''}"
            f"{' (first run)' if c.first_run else ''}: stage {c.kill.stage!r}, killed={c.kill.killed}, "
            f"final names {c.seen}, ok={c.ok}")
    killed = [c for c in cycles if c.kill.killed]
    stages: dict[str, int] = {}
    for c in killed:
        stages[c.kill.stage] = stages.get(c.kill.stage, 0) + 1
    return {
        "full_run_seconds": round(full, 1),
        "runs": len(cycles),
        "killed": len(killed),
        "anchored": sum(1 for c in killed if c.kill.anchor),
        "killed_in_stage": stages,
        "killed_first_runs": sum(1 for c in killed if c.first_run),
        "final_names_present_after_kill": sum(1 for c in killed if c.seen.get("dir") or c.seen.get("tar")),
        "only_tar_after_kill": sum(1 for c in killed if c.seen.get("tar") and not c.seen.get("dir")),
        "corrupt_left": sum(1 for c in cycles if c.after_kill),
        "rerun_failures": sum(1 for c in cycles if c.rerun_code != 0 or c.after_rerun),
        "leftovers": sum(1 for c in cycles if c.left),
        "problems": [{"kill": c.kill.__dict__, "after_kill": c.after_kill, "rerun": c.rerun_code,
                      "after_rerun": c.after_rerun, "left": c.left} for c in cycles if not c.ok],
    }


def passphrase_cached_after_kill(rig: Rig, out: Path, logs: Path) -> bool:
    """Kill a run while it signs; is the key left unlocked in its gpg-agent afterwards?"""
    from pkgfactory.sign import Signer
    from pkgfactory.sign.agent import Agent

    agent, grip = Agent(rig.key_home), Signer(rig.key_home).key.keygrip
    logs.mkdir(parents=True, exist_ok=True)
    try:
        kill = kill_run(rig, out, logs / "kill-while-signing.log", Kill(delay=0.3, anchor="sign and index"))
        assert kill.killed and kill.stage == "sign and index", kill
        # The janitor forgets the passphrase once the kernel has closed the dead run's pipe:
        # give it the moment that takes, not the minutes of an agent TTL.
        deadline = time.monotonic() + JANITOR_GRACE_S
        while agent.key_state(grip) == "cached":
            if time.monotonic() > deadline:
                return True
            time.sleep(0.05)
        return False
    finally:
        wait_quiet(out)
        subprocess.run(["gpg-connect-agent", "--homedir", str(rig.key_home), "--no-autostart",
                        f"CLEAR_PASSPHRASE --mode=normal {grip}", "/bye"], capture_output=True)


# --- tests ------------------------------------------------------------------------------------------

pytestmark = pytest.mark.container


@pytest.fixture(scope="module")
def rig(tmp_path_factory, container_engine):
    builder_ready()
    r = make_rig(tmp_path_factory.mktemp("interrupt"))
    yield r
    close_rig(r)


def _assert_clean(figures: dict, n: int) -> None:
    assert figures["killed"] >= n, figures
    assert figures["corrupt_left"] == 0, figures["problems"]
    assert figures["rerun_failures"] == 0, figures["problems"]
    assert figures["leftovers"] == 0, figures["problems"]


def test_three_random_kills_leave_nothing_half_done(rig, tmp_path):
    out = tmp_path / "out"
    try:
        _assert_clean(interrupt_runs(rig, out, 3), 3)
    finally:
        wait_quiet(out)


@pytest.mark.slow
def test_twenty_random_and_six_anchored_kills(rig, tmp_path):
    out = tmp_path / "out"
    try:
        figures = interrupt_runs(rig, out, 20, anchored=6, seed=SEED + 1)
        _assert_clean(figures, 26)
    finally:
        wait_quiet(out)


def test_a_kill_while_signing_does_not_leave_the_key_unlocked(rig, tmp_path):
    assert not passphrase_cached_after_kill(rig, tmp_path / "out", tmp_path / "logs")


def test_a_second_run_into_the_same_output_fails_at_once_and_never_interleaves(rig, tmp_path):
    out = tmp_path / "out"
    first = start(rig, out, tmp_path / "first.log")
    try:
        lock = out / ".pkgfactory.lock"
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None and time.monotonic() < deadline, (tmp_path / "first.log").read_text()
            time.sleep(0.02)
        # Other targets than the first run's: had they built anything, OUT/debian-11 would exist.
        for command in ("bundle", "build"):
            t = time.monotonic()
            p = subprocess.run(rig.argv(out, command=command, targets=("debian-11",)), capture_output=True,
                               text=True, env=rig.env, timeout=120)
            assert p.returncode == 1, (command, p.stdout, p.stderr)
            assert p.stdout == "" and len(p.stderr.strip().splitlines()) == 1, (command, p.stderr)
            assert f"another pkgfactory run (pid {first.pid}) is writing {out}" in p.stderr
            assert time.monotonic() - t < 30
        assert first.poll() is None, "the first run ended before the second was tried: nothing was proven"
        assert first.wait(timeout=600) == 0, (tmp_path / "first.log").read_text()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert not (out / "debian-11").exists()
    assert verify_cli(out / NAME, rig.fingerprint) is None
    assert leftovers(out) == []


# A stand-in for the publish step run in a child that SIGKILLs itself at every
# step: the tar rename, the directory exchange, the removal of what it replaced.
_PUBLISH_CHILD = r"""
import os, shutil, signal, sys
from pathlib import Path
from pkgfactory import published
from pkgfactory.bundle import assemble

out, name, step, when = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
count = [0]

def steps(fn):
    def wrapper(*a, **kw):
        count[0] += 1
        if count[0] == step and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        r = fn(*a, **kw)
        if count[0] == step and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return r
    return wrapper

assemble.os.replace = steps(os.replace)
assemble.os.fsync = steps(os.fsync)
published.exchange = steps(published.exchange)
assemble.shutil.rmtree = steps(shutil.rmtree)
from pkgfactory.leftovers import clean_stale
clean_stale(out, name)
stage = out / f".{name}.staging-{os.getpid()}"
shutil.copytree(out.parent / "new", stage)
assemble._tar(stage, name, out / f"{name}.tar", 0)
published.publish_dir(stage, out / name)
print(count[0])
"""


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_publish_killed_at_every_step_keeps_a_whole_bundle_under_the_final_names(tmp_path):
    """Old bundle published, new one staged: a kill at any step leaves the old or the new, whole."""
    trees = {}
    for which in ("old", "new"):
        d = tmp_path / which
        (d / "repos").mkdir(parents=True)
        for i in range(20):
            (d / "repos" / f"f{i}").write_text(f"{which} {i}\n" * 100)
        (d / "manifest.json").write_text(f'{{"which": "{which}"}}\n')
        trees[which] = _tree(d)

    def fresh() -> Path:
        out = tmp_path / "out"
        if out.exists():
            subprocess.run(["rm", "-rf", str(out)], check=True)
        out.mkdir()
        subprocess.run(["cp", "-a", str(tmp_path / "old"), str(out / NAME)], check=True)
        with tarfile.open(out / f"{NAME}.tar", "w") as tar:
            tar.add(out / NAME, arcname=NAME)
        return out

    def child(out: Path, step: int, when: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", _PUBLISH_CHILD, str(out), NAME, str(step), when],
                              capture_output=True, text=True)

    def tar_tree(path: Path) -> dict[str, bytes]:
        with tarfile.open(path) as tar:
            return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}

    p = child(fresh(), 0, "never")
    assert p.returncode == 0, p.stderr
    total = int(p.stdout)
    assert total >= 4
    outcomes = set()
    for step in range(1, total + 1):
        for when in ("before", "after"):
            out = fresh()
            p = child(out, step, when)
            assert p.returncode == -signal.SIGKILL, (step, when, p.stderr)
            got_dir = _tree(out / NAME) if (out / NAME).exists() else None
            got_tar = tar_tree(out / f"{NAME}.tar")
            assert got_dir in (trees["old"], trees["new"]), (step, when, "directory is neither whole bundle")
            assert got_tar in (trees["old"], trees["new"]), (step, when, "tar is neither whole bundle")
            outcomes.add((got_tar == trees["new"], got_dir == trees["new"]))
            p = child(out, 0, "never")  # the rerun, without clean-up
            assert p.returncode == 0, p.stderr
            assert _tree(out / NAME) == trees["new"] and tar_tree(out / f"{NAME}.tar") == trees["new"]
            assert sorted(x.name for x in out.iterdir()) == [NAME, f"{NAME}.tar"], (step, when)
    assert {(False, False), (True, False), (True, True)} <= outcomes
