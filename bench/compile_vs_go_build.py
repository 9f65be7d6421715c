#!/usr/bin/env python3
"""Wall time of `pkgfactory compile` against a plain `go build` with the same flags and environment.

Usage (from the repository root, after `bash scripts/setup.sh`):

    .venv/bin/python bench/compile_vs_go_build.py [--rounds 3] [--arch x86_64] [--cgo]

The module is examples/hello-service (net/http: most of the standard library),
compiled for one arch and every target of its project file. Figures, each the
best of --rounds:

- cold: `pkgfactory compile` with empty caches (XDG_CACHE_HOME in a fresh
  directory: pkgfactory's compile cache and go's GOCACHE) next to `go build`
  with the argv and environment the compile report records, GOCACHE in a
  fresh directory too. Goal: <= 1.1x.
- warm go cache, new source: one byte of main.go changed, GOCACHE kept: what
  an edit-and-rebuild costs, next to `go build` in the same state.
- cache hit: `pkgfactory compile` again with nothing changed (the CLI, and
  the stage alone in this process), next to the cold `go build`. Goal: <=
  0.05x. The warm `go build` (it still links) is printed too.

--cgo compiles with [go] cgo = true (zig cc pinned to glibc 2.17).

A benchmark, not a test: it prints figures and fails only if a tool does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "hello-service"
sys.path.insert(0, str(ROOT))

from pkgfactory.toolpath import tool_path_env  # noqa: E402


def run(argv, env=None, cwd=None) -> float:
    t = time.perf_counter()
    p = subprocess.run([str(a) for a in argv], env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, argv))}\n{p.stdout}{p.stderr}")
    return elapsed


def pkgf_compile(project: Path, out: Path, arch: str, cache_home: Path) -> tuple[float, dict]:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home), PATH=tool_path_env())
    env.pop("GOCACHE", None)
    shutil.rmtree(out, ignore_errors=True)
    seconds = run([sys.executable, "-m", "pkgfactory", "compile", "-c", project, "--arch", arch, "-o", out], env=env)
    (rec,) = json.loads((out / "compile-report.json").read_text())["binaries"]
    return seconds, rec


def plain_go_build(rec: dict, out: Path, gocache: Path) -> float:
    """The compile's own command line and environment, run directly; only -o and GOCACHE differ."""
    argv = list(rec["argv"])
    argv[argv.index("-o") + 1] = str(out)
    env = {**rec["env"], "GOCACHE": str(gocache), "PATH": tool_path_env(), "HOME": os.environ.get("HOME", "/")}
    return run(argv, env=env, cwd=rec["cwd"])


def stage_hit(project: Path, arch: str, cache_home: Path) -> float:
    os.environ["XDG_CACHE_HOME"] = str(cache_home)
    from pkgfactory.project.select import select
    from pkgfactory.compile import compile_project
    from pkgfactory.project import load, resolve_targets

    p = load(project, check_sources=False)
    t = time.perf_counter()
    report = compile_project(p, select(p, resolve_targets(p), (), (arch,)))
    elapsed = time.perf_counter() - t
    assert all(c.record["cache"] == "hit" for c in report.results)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--arch", default="x86_64")
    ap.add_argument("--cgo", action="store_true", help="compile with cgo = true (zig cc)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pkgf-bench-compile-") as tmp:
        tmp = Path(tmp)
        src = tmp / "hello"
        shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("dist", "output"))
        project = src / "pkgfactory.toml"
        if args.cgo:
            project.write_text(project.read_text().replace("cgo = false", "cgo = true"))
        cold_pkgf, cold_go, hits_cli, hits_stage, warm_go, edit_pkgf, edit_go = [], [], [], [], [], [], []
        for n in range(args.rounds):
            cache_home, gocache = tmp / f"cache-{n}", tmp / f"gocache-{n}"
            seconds, rec = pkgf_compile(project, tmp / "out", args.arch, cache_home)
            cold_pkgf.append(seconds)
            cold_go.append(plain_go_build(rec, tmp / "plain", gocache))
            hits_cli.append(pkgf_compile(project, tmp / "out", args.arch, cache_home)[0])
            hits_stage.append(stage_hit(project, args.arch, cache_home))
            warm_go.append(plain_go_build(rec, tmp / "plain", gocache))
            main_go = src / "cmd" / "hello-service" / "main.go"
            main_go.write_text(main_go.read_text() + f"\n// edit {n}\n")
            seconds, rec = pkgf_compile(project, tmp / "out", args.arch, cache_home)
            edit_pkgf.append(seconds)
            edit_go.append(plain_go_build(rec, tmp / "plain", gocache))
            shutil.rmtree(cache_home, ignore_errors=True)
            shutil.rmtree(gocache, ignore_errors=True)
        best = min
        print(f"module:   examples/hello-service, {args.arch}{' cgo (zig cc)' if args.cgo else ''}, "
              f"{rec['go_version']}, best of {args.rounds}")
        print(f"host:     {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}")
        print(f"cold:              pkgfactory compile {best(cold_pkgf):7.2f}s   go build {best(cold_go):7.2f}s   "
              f"ratio {best(cold_pkgf) / best(cold_go):5.2f}x  (goal <= 1.10x)")
        print(f"warm, new source:  pkgfactory compile {best(edit_pkgf):7.2f}s   go build {best(edit_go):7.2f}s   "
              f"ratio {best(edit_pkgf) / best(edit_go):5.2f}x")
        print(f"cache hit (CLI):   pkgfactory compile {best(hits_cli):7.2f}s   vs cold go build "
              f"{best(hits_cli) / best(cold_go):5.3f}x (goal <= 0.05x), vs warm go build {best(warm_go):.2f}s "
              f"{best(hits_cli) / best(warm_go):5.2f}x")
        print(f"cache hit (stage): compile_project    {best(hits_stage):7.3f}s   vs cold go build "
              f"{best(hits_stage) / best(cold_go):5.3f}x, vs warm go build {best(hits_stage) / best(warm_go):5.2f}x")


if __name__ == "__main__":
    main()
