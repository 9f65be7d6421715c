"""One ``go build``: its command line, the environment it gets, and what its failures mean.

Reproducible and offline by construction: ``-trimpath``, ``-buildvcs=false``,
``-ldflags=-buildid=`` (plus the project's), SOURCE_DATE_EPOCH for the C
compilers, GOFLAGS=-mod=vendor when the module is vendored, GOPROXY=off always,
and an environment made here rather than inherited, so a developer's GOFLAGS,
CGO_CFLAGS or go env file cannot change the binary (GOENV=off; the caches'
locations are taken from the user's go env once, by the toolchain module).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pkgfactory import runner
from pkgfactory.compile.floors import Floor
from pkgfactory.compile.module import Module
from pkgfactory.compile.toolchain import GoToolchain, Zig
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.project import Go
from pkgfactory.project.rules import go_quote
from pkgfactory.toolpath import tool_path_env

# What the go command says when the build would need the network (module cache empty, vendor/
# stale): bad input on an air-gapped host, not a compile error.
_NEEDS_DOWNLOAD = ("module lookup disabled by GOPROXY=off", "missing go.sum entry", "cannot find module providing",
                   "no required module provides package", "inconsistent vendoring", "is not in vendor/modules.txt",
                   "go: updates to go.mod needed", "reading go.mod of", "go.sum: no such file")
# Package-level go list errors that mean the binary's go key names no buildable package.
_NOT_A_PACKAGE = ("no Go files in", "build constraints exclude all Go files")
# Environment the go command needs to run but that cannot change the binary: out of the cache key.
PLACES = ("PATH", "HOME", "TMPDIR", "GOROOT", "GOCACHE", "GOMODCACHE", "GOPATH", "ZIG_GLOBAL_CACHE_DIR",
           "ZIG_LOCAL_CACHE_DIR")


@dataclass(frozen=True)
class Invocation:
    package: str  # ./cmd/app
    module: Path
    go: str  # the go binary
    args: tuple[str, ...]  # go build arguments, without -o and the package
    env: dict[str, str] = field(repr=False)

    def argv(self, out: Path | str, verbose: bool = False) -> list[str]:
        return [self.go, "build", *self.args, *(["-v"] if verbose else []), "-o", str(out), self.package]

    def settings(self) -> dict[str, str]:
        """The environment that reaches the compilers and linker (what the cache key and report hold)."""
        return {k: v for k, v in sorted(self.env.items()) if k not in PLACES}


def ldflags(go: Go, values: dict[str, str]) -> str:
    flags = ["-buildid="]
    for name, template in go.x:
        flags += ["-X", go_quote(f"{name}={template.format(**values)}")]
    return " ".join(flags + ([go.ldflags] if go.ldflags else []))


def plan(toolchain: GoToolchain, go: Go, module: Module, floor: Floor, package: str, values: dict[str, str],
         zig: Zig | None, source_date_epoch: int) -> Invocation:
    tags = list(dict.fromkeys(([] if go.cgo else ["netgo", "osusergo"]) + list(go.tags)))
    args = ["-trimpath", "-buildvcs=false"]
    if tags:
        args += ["-tags", ",".join(tags)]
    args += ["-ldflags", ldflags(go, values)]
    env = {"PATH": tool_path_env(), "HOME": os.environ.get("HOME", "/"), **toolchain.env(), **floor.env(),
           "GOFLAGS": "-mod=vendor" if module.vendored else "", "GOPROXY": "off",
           "SOURCE_DATE_EPOCH": str(source_date_epoch), "LC_ALL": "C", "TZ": "UTC"}
    if os.environ.get("TMPDIR"):
        env["TMPDIR"] = os.environ["TMPDIR"]
    if go.cgo:
        target = floor.zig_target()
        env.update(CGO_ENABLED="1", CC=zig.cc("cc", target), CXX=zig.cc("c++", target), **zig.env())
    else:
        env["CGO_ENABLED"] = "0"
    return Invocation(package=package, module=module.dir, go=toolchain.go, args=tuple(args), env=env)


def check_package(inv: Invocation, where: str) -> None:
    """Is ``inv.package`` a main package whose dependencies are all here? (``where`` names the key.)"""
    proc = runner.run([inv.go, "list", "-e", "-json", inv.package], cwd=inv.module, env=inv.env, check=False)
    try:
        pkg = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pkg = None
    if not isinstance(pkg, dict):
        errors = [proc.stderr or proc.stdout or f"go list exited {proc.returncode}"]
    else:
        errors = [e.get("Err", "") for e in [pkg.get("Error") or {}, *(pkg.get("DepsErrors") or [])] if e]
    _refuse_download(inv, "\n".join(errors))
    for err in errors:
        if any(s in err for s in _NOT_A_PACKAGE):
            raise InputError(f"{where}: {inv.package}: {_one(err)}")
    if isinstance(pkg, dict) and not errors and pkg.get("Name") != "main":
        raise InputError(f"{where}: {inv.package} is package {pkg.get('Name')}, not a main package: only "
                         "package main makes a program")


def build(inv: Invocation, out: Path, *, arch: str, log: Path | None, verbose: bool) -> None:
    proc = runner.run(inv.argv(out, verbose), cwd=inv.module, env=inv.env, check=False, log=log, verbose=verbose)
    if proc.returncode == 0:
        return
    output = "\n".join(s for s in (proc.stderr, proc.stdout) if s and s.strip())
    _refuse_download(inv, output)
    if not verbose and output:  # the compiler's own words first; then the one-line summary
        sys.stderr.write(output.rstrip("\n") + "\n")
        sys.stderr.flush()
    lines = [ln for ln in output.splitlines() if ln.strip() and not ln.startswith("#")]
    raise PkgfError(f"compile failed: go build {inv.package} for {arch} ({inv.env['GOARCH']}, "
                    f"CGO_ENABLED={inv.env['CGO_ENABLED']}): {len(lines)} line(s) of compiler output above, "
                    f"first: {_one(lines[0]) if lines else f'exit {proc.returncode}'}", exit_code=1)


def _refuse_download(inv: Invocation, output: str) -> None:
    for line in output.splitlines():
        if any(s in line for s in _NEEDS_DOWNLOAD):
            where = "missing from vendor/ (out of date)" if inv.env.get("GOFLAGS") == "-mod=vendor" else (
                f"neither vendored nor in the module cache ({inv.env.get('GOMODCACHE')})")
            raise InputError(f"{inv.module}: the build needs modules that are {where}: {_one(line)}; run "
                             "`go mod vendor` in the module (or fill the module cache with `go mod download` "
                             "on a connected machine): compiles here never download (GOPROXY=off)")


def _one(text: str) -> str:
    return " ".join(text.split())[:300]
