"""The Go module being compiled: its go.mod as the go command reads it, and its commit.

``go mod edit -json`` reads go.mod (pkgfactory does not parse it): the module
path, the ``go`` line the toolchain must meet, and local ``replace``
directories, which are compiled too and so must lie under the sources root
like the module itself. ``-buildvcs=false`` keeps VCS state out of the
binary (a dirty work tree would change it); the commit is recorded in the
compile report instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pkgfactory import runner
from pkgfactory.compile.toolchain import GoToolchain
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.versions import version_key


@dataclass(frozen=True)
class Module:
    dir: Path
    path: str  # example.com/app
    go: str  # the go line
    replaces: tuple[Path, ...]  # local replace directories
    vendored: bool
    commit: str | None  # HEAD when the module is in a git work tree
    modified: bool | None  # uncommitted changes under the module

    def to_dict(self) -> dict:
        return {"dir": str(self.dir), "path": self.path, "go": self.go, "vendor": self.vendored,
                "replaces": [str(p) for p in self.replaces], "commit": self.commit, "modified": self.modified}


def read_module(toolchain: GoToolchain, module_dir: Path, sources_root: Path, label: str) -> Module:
    """``label`` is how errors name the project file."""
    env = {**os.environ, **toolchain.env()}
    proc = runner.run([toolchain.go, "mod", "edit", "-json"], cwd=module_dir, env=env, check=False)
    try:
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        why = next(reversed((proc.stderr or "").strip().splitlines()), "unreadable")
        raise InputError(f"{label}: key 'go.module': {module_dir}/go.mod: {why}")
    go_line = data.get("Go") or "1.16"  # go.mod without a go line: the go command assumes 1.16
    if version_key(go_line) > version_key(toolchain.version.removeprefix("go")):
        raise InputError(f"{module_dir}/go.mod needs go >= {go_line} but the toolchain is {toolchain.version} "
                         f"({toolchain.path}); install a newer Go or set [go] toolchain to one (pkgfactory never "
                         "downloads toolchains: GOTOOLCHAIN=local)")
    replaces = []
    for r in data.get("Replace") or ():
        new = r.get("New") or {}
        if new.get("Version") or not new.get("Path"):
            continue  # a module version from the module cache, pinned by go.sum
        path = Path(os.path.normpath(module_dir / new["Path"]))
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(sources_root):
            raise InputError(f"{label}: key 'go.module': {module_dir}/go.mod replaces {r['Old']['Path']} with {path}, "
                             f"which is outside {sources_root}, the directory sources must come from "
                             "(--sources-root DIR allows another)")
        replaces.append(path)
    commit, modified = _git_state(module_dir)
    return Module(dir=module_dir, path=(data.get("Module") or {}).get("Path", ""), go=go_line,
                  replaces=tuple(replaces), vendored=(module_dir / "vendor").is_dir(),
                  commit=commit, modified=modified)


def _git_state(module_dir: Path) -> tuple[str | None, bool | None]:
    try:
        head = runner.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=module_dir, check=False,
                          env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
        if head.returncode != 0 or not head.stdout.strip():
            return None, None
        status = runner.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."], cwd=module_dir,
                            check=False, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except PkgfError:
        return None, None  # no git on this host: nothing to record
    return head.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None
