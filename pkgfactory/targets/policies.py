"""The security policies a target OS may enforce on packages (data/policies.toml).

A profile's ``[policy]`` table names them (``deb_signature = "uos-verifysign"``); the
list of what may be named is data, read here. install.sh's preflight and the probe
have one check per value (tests hold them to this list).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pkgfactory.errors import InputError
from pkgfactory.hints import did_you_mean

DATA = Path(__file__).parent.parent / "data" / "policies.toml"
BLOCKS = ("install", "run")


@dataclass(frozen=True)
class Policy:
    key: str  # the [policy] key: deb_signature, exec_control
    value: str  # uos-verifysign, kysec
    family: str | None  # the only family it exists on, or None
    blocks: str  # "install" or "run" (see data/policies.toml)
    summary: str
    source: str

    @property
    def word(self) -> str:
        return f"{self.key}={self.value}"


@lru_cache(maxsize=1)
def known() -> dict[tuple[str, str], Policy]:
    with open(DATA, "rb") as f:
        data = tomllib.load(f)
    out = {}
    for key, values in data.items():
        for value, d in values.items():
            if d.get("blocks") not in BLOCKS:
                raise RuntimeError(f"{DATA}: {key}.{value}: blocks must be one of {BLOCKS}")
            out[(key, value)] = Policy(key=key, value=value, family=d.get("family"), blocks=d["blocks"],
                                       summary=d["summary"], source=d["source"])
    return out


def keys() -> list[str]:
    return sorted({k for k, _ in known()})


def lookup(key: str, value, family: str | None, where: str) -> Policy:
    """The known policy ``key = value``; one-line InputError naming ``where`` otherwise."""
    if key not in keys():
        raise InputError(f"{where}: unknown policy key '{key}' (known: {', '.join(keys())})"
                         + did_you_mean(key, keys()).replace(" (", "; ").replace("?)", "?"))
    values = sorted(v for k, v in known() if k == key)
    if not isinstance(value, str) or (key, value) not in known():
        raise InputError(f"{where}: {key} = {value!r} is not a known policy (known: {', '.join(values)})")
    policy = known()[(key, value)]
    if family is not None and policy.family not in (None, family):
        raise InputError(f"{where}: {key} = {value!r} exists on {policy.family} targets only, this one is {family}")
    return policy


def parse(table, family: str, where: str) -> dict[str, str]:
    """A profile's ``[policy]`` table, checked: {key: value}."""
    if not isinstance(table, dict):
        raise InputError(f"{where}: must be a table of key = \"value\"")
    return {k: lookup(k, v, family, where).value for k, v in table.items()}
