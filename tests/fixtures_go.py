"""Session fixtures: real Go binaries (built once per toolchain, cached) and CLI helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from gobuild import build_all


@pytest.fixture(scope="session")
def go_binaries():
    """name -> path of every variant in gobuild.VARIANTS."""
    return build_all()


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str, input: str | None = None, env=None, umask: int | None = None) -> Result:
    p = subprocess.run([sys.executable, "-m", "pkgfactory", *map(str, args)], capture_output=True,
                       text=True, input=input, env=env, preexec_fn=None if umask is None else lambda: os.umask(umask))
    return Result(p.returncode, p.stdout, p.stderr)


@pytest.fixture
def cli():
    return run_cli
