#!/usr/bin/env python3
"""Wall time of `pkgfactory inspect` vs `readelf -V` + `go version -m`, and peak memory on a big binary.

Usage: python bench/inspect_speed.py [--rounds N] [--big-mb 150]
Uses the real Go test binaries (tests/gobuild.py builds and caches them).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from gobuild import build_all, go  # noqa: E402


def timed(argv_list, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for argv in argv_list:
            subprocess.run(argv, capture_output=True, check=False)
        best = min(best, time.perf_counter() - t)
    return best


def peak_rss_kib(argv) -> int:
    """Max RSS of a child, measured by the child itself so earlier children do not count."""
    code = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],capture_output=True,check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--big-mb", type=int, default=150)
    args = ap.parse_args()
    bins = [str(p) for p in build_all().values()]
    pk = [sys.executable, "-m", "pkgfactory"]

    ours_one = timed([pk + ["inspect", "--json", *bins]], args.rounds)
    ours_each = timed([pk + ["inspect", "--json", b] for b in bins], args.rounds)
    theirs = timed([["readelf", "-V", "-W", b] for b in bins] + [[go(), "version", "-m", b] for b in bins],
                   args.rounds)
    print(f"binaries: {len(bins)} real Go binaries, best of {args.rounds} rounds")
    print(f"pkgfactory inspect (one call, all files):    {ours_one * 1000:8.1f} ms")
    print(f"pkgfactory inspect (one call per file):      {ours_each * 1000:8.1f} ms")
    print(f"readelf -V + go version -m (per file):       {theirs * 1000:8.1f} ms")

    with tempfile.TemporaryDirectory() as d:
        big = Path(d) / "big"
        src = Path(build_all(["static"])["static"]).read_bytes()
        with open(big, "wb") as f:
            f.write(src)
            # Real data, not a sparse hole: a 150 MB Go binary is mostly text and rodata.
            block = (src * (1 + (1 << 24) // len(src)))[: 1 << 24]
            while f.tell() < args.big_mb << 20:
                f.write(block)
        baseline = peak_rss_kib(pk + ["--version"])
        big_rss = peak_rss_kib(pk + ["inspect", "--json", str(big)])
        t = timed([pk + ["inspect", "--json", str(big)]], 1)
        print(f"{big.stat().st_size >> 20} MB binary: peak RSS {big_rss / 1024:.1f} MiB vs "
              f"{baseline / 1024:.1f} MiB at start-up (+{(big_rss - baseline) / 1024:.1f} MiB), {t:.2f} s")


if __name__ == "__main__":
    main()
