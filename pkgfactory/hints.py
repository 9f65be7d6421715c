"""Hints in error messages: the key a typo meant, and how to get a missing tool (in words that
hold for a wheel install as well as a clone)."""

from __future__ import annotations

import difflib
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Iterable

_DATA = Path(__file__).parent / "data" / "tool_packages.toml"
# Only a clone (or an editable install of one) has the setup script next to the package.
_SETUP = Path(__file__).resolve().parent.parent / "scripts" / "setup.sh"


@lru_cache(maxsize=1)
def _packages() -> dict:
    with open(_DATA, "rb") as f:
        return tomllib.load(f)


def install_hint(tool: str) -> str:
    """'install the Debian package X (apt-get install X)', plus the setup script where there is one."""
    known = _packages()
    if tool in known["pypi"]:
        hint = f"install it with pip install {known['pypi'][tool]}"
    else:
        pkg = known["debian"].get(tool)
        hint = (f"install the Debian package {pkg} (apt-get install {pkg})" if pkg
                else f"install {tool} with the system's package manager")
    if _SETUP.is_file():
        hint += f"; in this clone, bash {_SETUP} installs every tool pkgfactory uses"
    return hint


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the known key nearest a typo, or ''."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
