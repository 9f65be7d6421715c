"""Which container engine builds and tests run in: podman or docker.

Both take the same command lines for what we do (run, import, image
inspect/rm), so the rest of pkgfactory holds an :class:`Engine` and never
asks which one it got. An engine counts only if ``ENGINE version`` succeeds:
a docker CLI without a daemon is as good as none (its version asks the
daemon), and so is a podman that cannot read its configuration. Not ``info``,
which gathers the whole host's state: half a second on every run, for a
check whose failures the first container start reports in the engine's own
words anyway (a broken OCI runtime).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pkgfactory import runner
from pkgfactory.errors import PkgfError

ENGINES = ("podman", "docker")  # auto-detection order: podman needs no daemon
_PROBE_TIMEOUT_S = 60


@dataclass(frozen=True)
class Engine:
    name: str  # "podman" or "docker"
    path: str

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """``ENGINE args...`` through the runner (same keyword arguments)."""
        return runner.run([self.path, *args], **kwargs)

    def inspect_image(self, tag: str) -> dict | None:
        """``image inspect`` of local image ``tag``, or None when there is none."""
        # Bounded as the probe is: a hung engine must not hang the command (get_builder asks this first).
        proc = self.run("image", "inspect", tag, check=False, timeout=_PROBE_TIMEOUT_S)
        if proc.returncode != 0:
            return None
        return json.loads(proc.stdout)[0]


def image_labels(info: dict) -> dict[str, str]:
    # docker keeps labels under Config only; podman mirrors them at the top.
    return (info.get("Config") or {}).get("Labels") or info.get("Labels") or {}


def find_engine(name: str | None = None, *, log: Path | None = None) -> Engine:
    """The working engine called ``name``, or the first working one of ENGINES.

    ``name`` None or "auto" means auto-detect. Results are cached per process:
    callers ask often.
    """
    return _find_engine(None if name in (None, "", "auto") else name, log)


def installed_engine(name: str | None = None) -> Engine | None:
    """The engine called ``name`` (None or "auto": the first of ENGINES) if it is installed, unprobed."""
    for candidate in ENGINES if name in (None, "", "auto") else (name,):
        path = shutil.which(candidate) if candidate in ENGINES else None
        if path is not None:
            return Engine(candidate, path)
        if name not in (None, "", "auto"):
            return None
    return None


@lru_cache(maxsize=None)
def _find_engine(name: str | None, log: Path | None) -> Engine:
    if name is not None:
        if name not in ENGINES:
            raise PkgfError(f"unknown container engine {name!r}: use one of {', '.join(ENGINES)}")
        engine, problem = _probe(name, log)
        if engine is None:
            raise PkgfError(f"container engine {name} does not work: {problem}")
        return engine

    problems = []
    for candidate in ENGINES:
        engine, problem = _probe(candidate, log)
        if engine is not None:
            return engine
        if problem != "not installed":
            problems.append(f"{candidate}: {problem}")
    seen = f" ({'; '.join(problems)})" if problems else ""
    raise PkgfError(f"no container engine found: install podman or docker, or use --builder native{seen}")


def _probe(name: str, log: Path | None) -> tuple[Engine | None, str]:
    path = shutil.which(name)
    if path is None:
        return None, "not installed"
    try:
        runner.run([path, "version"], log=log, timeout=_PROBE_TIMEOUT_S)
    except PkgfError as e:
        return None, f"'{name} version' failed: {e}"
    return Engine(name, path), ""
