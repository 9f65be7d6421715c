"""A target profile checked against ``data/profile_schema.toml``, as strictly as the project file.

``read(data, label)`` returns the profile's keys with every value typed and
checked, arch names made ours, os-release keys folded to lower case; anything
the schema does not describe is refused, naming the file, the key and the
nearest known key. The errors come from the project file's reader, so both
files fail the same way.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pkgfactory.project.reader import Table
from pkgfactory.versions import parse_version

SCHEMA_FILE = Path(__file__).parent.parent / "data" / "profile_schema.toml"
_OS_RELEASE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789_"


@lru_cache(maxsize=1)
def schema() -> dict:
    with open(SCHEMA_FILE, "rb") as f:
        return tomllib.load(f)


def read(data: dict, label: str) -> dict:
    top = Table(data, "", label)
    family = data.get("family") if data.get("family") in ("rpm", "deb") else None
    return _table(top, schema(), family)


def _table(t: Table, keys: dict, family: str | None) -> dict:
    out = {}
    for name, spec in keys.items():
        value = _key(t, name, spec, family)
        if value is not None:
            out[name] = value
    t.done()
    return out


def _required(spec: dict, family: str | None) -> bool:
    req = spec.get("required", False)
    return req is True or (isinstance(req, str) and req == family)


def _key(t: Table, name: str, spec: dict, family: str | None):
    only = spec.get("family")
    if only and family and only != family and t.has(name):
        t.used.add(name)
        raise t.error(name, f"applies to {only} targets only, and this one's family is {family}")
    required = _required(spec, family)
    kind = spec["type"]
    if kind == "table":
        if not t.has(name) and not required:
            t.used.add(name)
            return None
        sub = t.table(name, required=required)
        return _table(sub, spec["keys"], family) if "keys" in spec else _each(t, name, sub, spec, family)
    if kind == "strings":
        items = t.strings(name, required=required, check=_one_of(spec))
        if not t.has(name):
            return None
        if spec.get("non_empty") and not items:
            raise t.error(name, "must not be empty")
        return list(items)
    if kind == "value":
        t.used.add(name)
        return t.data.get(name)
    check = _version if kind == "version" else _one_of(spec)
    return t.get(name, str, default=... if required else None, check=check)


def _each(parent: Table, name: str, sub: Table, spec: dict, family: str | None) -> dict:
    """A table whose keys are free (arches, os-release keys, sources) and whose values share one schema."""
    out: dict = {}
    given: dict = {}
    for key in list(sub.data):
        ours = _key_name(sub, key, spec.get("key_kind", "name"))
        if ours in out:
            raise sub.error(key, f"{ours} is given twice (as '{given[ours]}' and '{key}')")
        given[ours] = key
        out[ours] = _key(sub, key, spec["each"], family)
    for key in spec.get("required_keys", []):
        if key not in out:
            raise sub.error(key, "missing (required)")
    if spec.get("non_empty") and not out:
        raise parent.error(name, "must not be empty")
    sub.done()
    return out


def _key_name(t: Table, key: str, kind: str) -> str:
    if kind == "arch":
        from pkgfactory.targets import canonical_arch

        try:
            return canonical_arch(key)
        except ValueError as e:
            raise t.error(key, str(e)) from None
    if kind == "os-release":
        folded = key.lower()
        if not folded or not folded[0].isalpha() or any(c not in _OS_RELEASE_KEY for c in folded):
            raise t.error(key, "is not an /etc/os-release key (letters, digits and '_', starting with a letter)")
        return folded
    return key


def _one_of(spec: dict):
    allowed = spec.get("one_of")
    if not allowed:
        return None

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value
    return check


def _version(value: str) -> str:
    try:
        parse_version(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a version") from None
    return value
