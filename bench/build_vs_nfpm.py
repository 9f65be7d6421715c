#!/usr/bin/env python3
"""Wall time of `pkgfactory build` for one target and arch against nfpm packaging the same binary.

Usage (from the repository root, after `bash scripts/setup.sh --tests`):

    .venv/bin/python bench/build_vs_nfpm.py [--rounds 3] [--keep DIR]

For debian-12 (deb) and centos-7 (rpm), x86_64, it times

    pkgfactory build -c examples/hello-service/pkgfactory.toml --target T --arch x86_64 -o OUT [--builder native]

with the default container builder and with ``--builder native``, then reads
the compressor pkgfactory chose from the artifact (``rpm -qp --qf
'%{PAYLOADCOMPRESSOR}'``, the deb's data.tar member suffix) and times
``nfpm package`` on a config with the same compressor, the same binary,
config file (config|noreplace), systemd unit, README and symlink. Every
figure is the best of --rounds runs, each into a fresh output directory.

Needs: podman with the builder image (`pkgfactory builder create`), rpmbuild
and dpkg-buildpackage on the host for --builder native, and nfpm and go from
the extras in .venv/bin. The example compiles from Go source: nfpm is given
the binary `pkgfactory compile` writes to examples/hello-service/dist, and
pkgfactory's own builds find it in the compile cache (a hit, part of the
figures).

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pkgfactory.toolpath import tool_path_env

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "hello-service"
PROJECT = EXAMPLE / "pkgfactory.toml"
BINARY = EXAMPLE / "dist" / "hello-service-x86_64"
ARCH = "x86_64"
TARGETS = {"debian-12": "deb", "centos-7": "rpm"}
BUILDERS = ("container", "native")
IMAGE = "localhost/pkgf-builder:bookworm"
# What pkgfactory's artifact says -> what nfpm's config calls it.
DEB_SUFFIX_TO_NFPM = {".xz": "xz", ".gz": "gzip", ".zst": "zstd", "": "none"}
RPM_COMPRESSOR_TO_NFPM = {"xz": "xz", "gzip": "gzip", "zstd": "zstd", "lzma": "lzma"}
# The runner writes "[exit 0 after 3.1s]" under every command it logs.
_LOGGED = re.compile(r"^\$ (?P<cmd>.*)\n(?:.*\n)*?\[exit \d+ after (?P<s>[\d.]+)s\]$", re.M)


# .venv/bin holds pkgfactory, nfpm and go; prefer it to whatever PATH has.
ENV = {**os.environ, "PATH": tool_path_env()}


def need(tool: str) -> str:
    path = shutil.which(tool, path=ENV["PATH"])
    if not path:
        sys.exit(f"{tool} not found: run `bash scripts/setup.sh --tests` (it installs the test extras)")
    return path


def run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=ENV, capture_output=True, text=True, **kw)


def timed(argv) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    proc = run(argv)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, argv))}\n{proc.stdout}{proc.stderr}")
    return elapsed, proc


def ensure_binary() -> None:
    proc = run([need("pkgfactory"), "compile", "-c", str(PROJECT), "--arch", ARCH, "-o", str(BINARY.parent)])
    if proc.returncode != 0:
        sys.exit(f"pkgfactory compile of the example failed:\n{proc.stderr}")


def logged_seconds(log: Path, pattern: str) -> float:
    """Seconds the runner logged for the commands in ``log`` matching ``pattern``."""
    if not log.exists():
        return 0.0
    return sum(float(m["s"]) for m in _LOGGED.finditer(log.read_text()) if re.search(pattern, m["cmd"]))


def pkgfactory_round(pkgf: str, target: str, builder: str, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    # --no-cache: every round a real build (the package cache would make rounds 2+ copies).
    argv = [pkgf, "build", "-c", str(PROJECT), "--target", target, "--arch", ARCH, "-o", str(out), "--no-cache"]
    if builder != "container":
        argv += ["--builder", builder]
    wall, _ = timed(argv)
    report = json.loads((out / "build-report.json").read_text())
    (result,) = report["results"]
    build_tool = "dpkg-buildpackage" if TARGETS[target] == "deb" else "rpmbuild"
    return {
        "wall": wall,
        "artifact": out / result["artifact"],
        "package_s": result["seconds"],
        # In the container the build is one `podman run`; natively, the tool itself.
        "build_s": logged_seconds(out / result["log"], rf"podman run|^{build_tool}\b"),
        "probe_s": logged_seconds(out / "logs" / "tools.log", r"--version"),
    }


def compression_of(artifact: Path) -> tuple[str, str]:
    """(how the artifact is compressed, the nfpm compression setting that matches it)."""
    if artifact.suffix == ".rpm":
        proc = run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf",
                    "%{PAYLOADCOMPRESSOR} %{PAYLOADFLAGS}", str(artifact)], check=True)
        comp, _, level = proc.stdout.strip().partition(" ")
        return f"{comp} -{level}" if level else comp, RPM_COMPRESSOR_TO_NFPM[comp]
    members = run(["ar", "t", str(artifact)], check=True).stdout.split()
    data = next(m for m in members if m.startswith("data.tar"))
    suffix = data[len("data.tar"):]
    return data, DEB_SUFFIX_TO_NFPM[suffix]


def q(value) -> str:
    # A JSON string is a valid YAML double-quoted scalar: no escaping rules of our own.
    return json.dumps(str(value))


def nfpm_config(fmt: str, compression: str) -> str:
    pkg = EXAMPLE / "packaging"
    unit_dir = "/lib/systemd/system" if fmt == "deb" else "/usr/lib/systemd/system"
    return f"""\
name: hello-service
arch: amd64
platform: linux
version: 1.2.0
release: "1"
section: net
maintainer: {q("Example Packager <packager@example.com>")}
vendor: Example Corp
homepage: https://example.com/hello-service
license: Apache-2.0
description: {q("Example HTTP service packaged by nfpm for the pkgfactory benchmark")}
recommends: [ca-certificates]
conflicts: [hello-service-legacy]
contents:
  - src: {q(BINARY)}
    dst: /usr/bin/hello-service
    file_info: {{mode: 0755}}
  - src: {q(pkg / "hello.conf")}
    dst: /etc/hello-service/hello.conf
    type: config|noreplace
    file_info: {{mode: 0640}}
  - src: {q(pkg / "hello-service.service")}
    dst: {unit_dir}/hello-service.service
  - src: {q(EXAMPLE / "README.md")}
    dst: /usr/share/doc/hello-service/README.md
  - src: ../bin/hello-service
    dst: /usr/sbin/hello-service
    type: symlink
rpm:
  compression: {compression}
deb:
  compression: {compression}
"""


def nfpm_round(nfpm: str, fmt: str, config: Path, out: Path) -> tuple[float, Path]:
    shutil.rmtree(out, ignore_errors=True)  # a --keep directory from an earlier run
    out.mkdir(parents=True)
    wall, _ = timed([nfpm, "package", "-f", str(config), "-p", fmt, "-t", str(out)])
    (artifact,) = out.glob(f"*.{fmt}")
    return wall, artifact


# The compressor alone, as rpmbuild (single-threaded w6.xzdio / w9.gzdio) and dpkg-deb run it.
COMPRESS_ALONE = {"xz": ["xz", "-6", "-T1", "-c"], "gzip": ["gzip", "-9", "-n", "-c"]}


def compress_alone(nfpm_comp: str) -> tuple[float, int] | None:
    argv = COMPRESS_ALONE.get(nfpm_comp)
    if argv is None:
        return None
    t = time.perf_counter()
    out = subprocess.run([*argv, str(BINARY)], env=ENV, capture_output=True, check=True).stdout
    return time.perf_counter() - t, len(out)


def container_start(engine: str) -> float:
    wall, _ = timed([engine, "run", "--rm", "--network=none", "--read-only", IMAGE, "true"])
    return wall


def first_line(argv) -> str:
    proc = run(argv)
    return next((ln.strip() for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()), "?")


def nfpm_version(nfpm: str) -> str:
    proc = run([nfpm, "--version"])
    m = re.search(r"GitVersion:\s*(\S+)", proc.stdout + proc.stderr)
    return m.group(1) if m else "?"


def machine() -> str:
    cpu = "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="runs per figure; the best one counts")
    ap.add_argument("--keep", type=Path, help="build into this directory and keep it (default: a temp dir)")
    args = ap.parse_args()
    pkgf, nfpm, podman = need("pkgfactory"), need("nfpm"), need("podman")
    ensure_binary()

    work_ctx = tempfile.TemporaryDirectory(prefix="pkgf-bench-") if args.keep is None else None
    work = Path(work_ctx.name) if work_ctx else args.keep.resolve()
    work.mkdir(parents=True, exist_ok=True)

    print(f"date:     {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}")
    print(f"machine:  {machine()}")
    print(f"tools:    {first_line([pkgf, '--version']).replace(', version', '')}; {first_line([podman, '--version'])}; "
          f"nfpm {nfpm_version(nfpm)}; "
          f"host {first_line(['rpmbuild', '--version'])}; {first_line(['dpkg-deb', '--version'])}")
    print(f"binary:   {BINARY.relative_to(ROOT)} ({BINARY.stat().st_size / 1e6:.1f} MB)")
    print(f"rounds:   best of {args.rounds}")
    print()

    rows, alone = [], {}
    for target, fmt in TARGETS.items():
        nfpm_best = None
        for builder in BUILDERS:
            best = None
            for i in range(args.rounds):
                r = pkgfactory_round(pkgf, target, builder, work / f"pkgf-{target}-{builder}-{i}")
                if best is None or r["wall"] < best["wall"]:
                    best = r
            compression, nfpm_comp = compression_of(best["artifact"])
            if nfpm_best is None:
                config = work / f"nfpm-{target}.yaml"
                config.write_text(nfpm_config(fmt, nfpm_comp))
                runs = [nfpm_round(nfpm, fmt, config, work / f"nfpm-{target}-{i}") for i in range(args.rounds)]
                nfpm_best = min(runs, key=lambda r: r[0])
                nfpm_compression, _ = compression_of(nfpm_best[1])
                runs = [compress_alone(nfpm_comp) for _ in range(args.rounds)]
                if runs[0] is not None:
                    alone[nfpm_comp] = min(runs)
            rows.append({
                "target": target, "format": fmt, "builder": builder, "compression": compression,
                "nfpm_compression": nfpm_compression, "pkgf": best, "nfpm_s": nfpm_best[0],
                "nfpm_size": nfpm_best[1].stat().st_size,
            })
    start_s = min(container_start(podman) for _ in range(args.rounds))
    cli_s = min(timed([pkgf, "--help"])[0] for _ in range(args.rounds))

    hdr = (f"{'target':<10} {'fmt':<4} {'builder':<9} {'compression (pkgf / nfpm)':<30} "
           f"{'pkgfactory':>10} {'nfpm':>7} {'ratio':>6} {'pkgf size':>10} {'nfpm size':>10}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        p = r["pkgf"]
        comp = f"{r['compression']} / {r['nfpm_compression']}"
        print(f"{r['target']:<10} {r['format']:<4} {r['builder']:<9} {comp:<30} "
              f"{p['wall']:>9.2f}s {r['nfpm_s']:>6.2f}s {p['wall'] / r['nfpm_s']:>5.1f}x "
              f"{p['artifact'].stat().st_size / 1e6:>8.2f}MB {r['nfpm_size'] / 1e6:>8.2f}MB")
    print()
    print("where pkgfactory's time goes (best round; seconds as its logs record them, 0.1 s steps):")
    hdr = (f"{'target':<10} {'builder':<9} {'wall':>6} {'build step':>11} {'version probes':>15} "
           f"{'rest':>6}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        p = r["pkgf"]
        rest = p["wall"] - p["build_s"] - p["probe_s"]
        print(f"{r['target']:<10} {r['builder']:<9} {p['wall']:>6.2f} {p['build_s']:>11.1f} "
              f"{p['probe_s']:>15.1f} {rest:>6.2f}")
    print()
    print(f"one bare container start ({podman.rsplit('/', 1)[-1]} run --rm {IMAGE} true): {start_s:.2f}s")
    print(f"pkgfactory CLI start (pkgfactory --help): {cli_s:.2f}s")
    for comp, (secs, size) in alone.items():
        print(f"{' '.join(COMPRESS_ALONE[comp][:-1])} of the binary alone: {secs:.2f}s, {size / 1e6:.2f}MB")
    print("build step = the rpmbuild/dpkg-buildpackage run (inside `podman run` for the container builder);")
    print("version probes = rpmbuild/dpkg-deb --version for the report (one container each);")
    print("rest = CLI start, engine and image look-up, inspect + check of the binary, render, staging,")
    print("       artifact check, publish, report.")
    if args.keep:
        print(f"\nartifacts and nfpm configs kept in {work}")
    if work_ctx:
        work_ctx.cleanup()


if __name__ == "__main__":
    main()
