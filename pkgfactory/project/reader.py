"""Typed, key-tracking access to one TOML table.

Every error names the file and the dotted key path (``binary[2].source``,
indices counting from 1 in file order) and fits on one line.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

from pkgfactory.errors import InputError
from pkgfactory.hints import did_you_mean

_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer", list: "a list", dict: "a table"}


class Table:
    def __init__(self, data: dict, key: str, file: str):
        self.data, self.key, self.file = data, key, file
        self.used: set[str] = set()

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def error(self, name: str | None, reason: str) -> InputError:
        key = self.path(name) if name is not None else self.key
        return InputError(f"{self.file}: key '{key}': {reason}")

    def has(self, name: str) -> bool:
        return name in self.data

    def get(self, name: str, typ: type, *, default: Any = ..., check: Callable | None = None) -> Any:
        """The value of ``name``, type-checked and passed through ``check``.

        ``default`` left out means the key is required. ``check`` raises
        ValueError with a reason, which becomes an error naming the key.
        """
        self.used.add(name)
        if name not in self.data:
            if default is ...:
                typo = difflib.get_close_matches(name, [k for k in self.data if isinstance(k, str)], n=1)
                raise self.error(name, "missing (required)" + (f"; is '{typo[0]}' a typo of it?" if typo else ""))
            if default is None or check is None:
                return default
            value = default  # defaults go through the same conversion
        else:
            value = self.data[name]
        if name in self.data and not _is(value, typ):
            raise self.error(name, f"must be {_TYPE_NAMES.get(typ, typ.__name__)}, not {_describe(value)}")
        if check is not None:
            try:
                value = check(value)
            except ValueError as e:
                raise self.error(name, str(e)) from None
        return value

    def strings(self, name: str, *, required: bool = False, check: Callable | None = None) -> tuple[str, ...]:
        items = self.get(name, list, default=... if required else [])
        if required and not items:
            raise self.error(name, "must not be empty")
        out = []
        for i, item in enumerate(items, 1):
            if not isinstance(item, str):
                raise self.error(f"{name}[{i}]", f"must be a string, not {_describe(item)}")
            if check is not None:
                try:
                    item = check(item)
                except ValueError as e:
                    raise self.error(f"{name}[{i}]", str(e)) from None
            out.append(item)
        return tuple(out)

    def table(self, name: str, *, required: bool = False) -> "Table":
        sub = self.get(name, dict, default=... if required else {})
        return Table(sub, self.path(name), self.file)

    def tables(self, name: str) -> list["Table"]:
        """An array of tables (``[[name]]``)."""
        items = self.get(name, list, default=[])
        out = []
        for i, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise self.error(f"{name}[{i}]", f"must be a table ([[{name}]]), not {_describe(item)}")
            out.append(Table(item, f"{self.path(name)}[{i}]", self.file))
        return out

    def done(self) -> None:
        """Refuse keys nobody asked for: a typo must not be silently ignored.

        Every key the reader asked about (present or not) is a known one, so the
        suggestion and the list cover keys added to any reader without a list to
        keep, and need no documentation file (an installed wheel has none).
        """
        for name in self.data:
            if name not in self.used:
                hint = did_you_mean(name, self.used)
                known = ", ".join(sorted(self.used)) or "none"
                raise self.error(name, f"unknown key{hint}; known here: {known}")


def _is(value: Any, typ: type) -> bool:
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typ is dict:
        return isinstance(value, dict)
    return isinstance(value, typ)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a table"
    for typ, name in _TYPE_NAMES.items():
        if isinstance(value, typ):
            return name
    return type(value).__name__
