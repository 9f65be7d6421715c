"""A project file being drafted: the values, what the user must fill in, what could not be carried over.

The drafters (``from_binary``, ``from_nfpm``) fill a :class:`Draft`;
:meth:`Draft.to_toml` writes it as a commented ``pkgfactory.toml`` through
tomlkit, so every value is valid TOML whatever characters it holds.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import tomlkit

from pkgfactory import __version__

FILL_IN = "FILL IN"
# Placeholders the reader accepts, so the file loads as written; the FILL IN
# comments and `pkgfactory init`'s own output name every one of them.
PLACEHOLDER = {
    "summary": "FILL IN a one-line summary",
    "description": "FILL IN what the product does, for package managers' listings.",
    "license": "FILL-IN",
    "maintainer": "FILL IN Your Name <fill-in@example.invalid>",
    "version": "0.1.0",
}

# Top-level sections in the order they are written, each a table ("t") or an array of tables ("a").
_SECTIONS = (("package", "t"), ("build", "t"), ("binary", "a"), ("file", "a"), ("config", "a"),
             ("directory", "a"), ("symlink", "a"), ("systemd", "a"), ("user", "a"), ("group", "a"),
             ("scripts", "t"), ("relations", "t"), ("kernel", "t"), ("changelog", "a"))


@dataclass
class Draft:
    made_from: str  # "pkgfactory init --binary dist/app" ...
    data: dict = field(default_factory=dict)  # section -> table (dict) or list of tables
    comments: dict[str, str] = field(default_factory=dict)  # "package.summary", "binary[1].dest" -> comment
    fill_in: list[tuple[str, str]] = field(default_factory=list)  # (key, what to do)
    not_carried: list[str] = field(default_factory=list)  # what the source did that pkgfactory does not
    notes: list[str] = field(default_factory=list)  # what changed meaning on the way, for the header
    examples: list[str] = field(default_factory=list)  # commented-out tables to start from
    excluded_targets: list[tuple[str, str]] = field(default_factory=list)  # (target id, why)

    def need(self, key: str, what: str) -> None:
        """Mark ``key`` as a value the user must give."""
        self.fill_in.append((key, what))
        self.comments[key] = f"{FILL_IN}: {what}"

    def note(self, key: str, text: str) -> None:
        self.comments[key] = f"{self.comments[key]}; {text}" if key in self.comments else text

    def add(self, section: str, table: dict) -> int:
        """Append a table to an array of tables; returns its 1-based index for comment keys."""
        self.data.setdefault(section, []).append(table)
        return len(self.data[section])

    def to_toml(self) -> str:
        doc = tomlkit.document()
        for line in self._header():
            doc.add(tomlkit.comment(line) if line else tomlkit.nl())
        for name, kind in _SECTIONS:
            value = self.data.get(name)
            if not value:
                continue
            doc.add(tomlkit.nl())
            if kind == "t":
                doc.add(name, self._table(value, name))
            else:
                aot = tomlkit.aot()
                for i, item in enumerate(value, 1):
                    aot.append(self._table(item, f"{name}[{i}]"))
                doc.add(name, aot)
        if self.examples:
            doc.add(tomlkit.nl())
            for line in self.examples:
                doc.add(tomlkit.comment(line))
        return tomlkit.dumps(doc)

    def _header(self) -> list[str]:
        out = []
        for line in self._header_lines():
            hang = " " * (len(line) - len(line.lstrip()) + 4)
            out += textwrap.wrap(line, 100, subsequent_indent=hang, break_long_words=False,
                                 break_on_hyphens=False) or [""]
        return out

    def _header_lines(self) -> list[str]:
        lines = [f"pkgfactory.toml written by `{self.made_from}` (pkgfactory {__version__}).",
                 "Every key is documented in docs/project-file.md; relative paths are relative to this file.",
                 f'Values marked "{FILL_IN}" are placeholders: give the real ones before a delivery.']
        if self.fill_in:
            lines += ["", f"{FILL_IN}:"] + [f"  {key}: {what}" for key, what in self.fill_in]
        if self.notes:
            lines += ["", "Changed on the way (check these):"] + [f"  - {n}" for n in self.notes]
        if self.not_carried:
            lines += ["", "NOT CARRIED OVER (pkgfactory has no equivalent; nothing of it is in this file):"]
            lines += [f"  - {n}" for n in self.not_carried]
        if self.excluded_targets:
            lines += ["", "Targets left out because `pkgfactory check` fails the binary there:"]
            lines += [f"  - {t}: {why}" for t, why in self.excluded_targets]
        return lines

    def _table(self, d: dict, key: str):
        table = tomlkit.table()
        subs = []
        for k, v in d.items():
            if isinstance(v, dict):
                subs.append((k, v))
                continue
            if isinstance(v, str) and "\n" in v:
                v = tomlkit.string(v, multiline=True)
            elif isinstance(v, list) and len(v) > 2:
                arr = tomlkit.array()
                arr.extend(v)
                arr.multiline(True)
                v = arr
            item = tomlkit.item(v)
            comment = self.comments.get(f"{key}.{k}")
            if comment:
                item.comment(comment)
            table.add(k, item)
        for k, v in subs:
            table.add(k, self._table(v, f"{key}.{k}"))
        return table
