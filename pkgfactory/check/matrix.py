"""The compatibility matrix: binaries (each with its arch) × targets, one verdict per cell.

One model for every place that shows it: `pkgfactory check` with several
targets (text table and ``--json``) and the bundle's report, which builds it
from the checks recorded in ``build-report.json`` (``from_checks``). A cell
is ``pass`` (no finding), ``warn`` (warnings only, or errors a waiver in the
project file accepted) or ``fail`` (an error nobody waived).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from pkgfactory.check import Verdict, check_binary
from pkgfactory.check.rules import ERROR, Finding

PASS, WARN, FAIL = "pass", "warn", "fail"
SYMBOLS = {PASS: "✔", WARN: "⚠", FAIL: "✘"}


@dataclass(frozen=True)
class Row:
    """One binary: its name as the user gave it (a path, or the installed path in a bundle) and arch."""
    binary: str
    arch: str


@dataclass(frozen=True)
class Column:
    target: str
    name: str = ""


@dataclass
class Cell:
    row: Row
    target: str
    findings: list[Finding] = field(default_factory=list)
    waived: frozenset[str] = frozenset()  # finding codes a waiver accepted

    @property
    def status(self) -> str:
        errors = [f for f in self.findings if f.severity == ERROR and f.code not in self.waived]
        if errors:
            return FAIL
        return WARN if self.findings else PASS

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.status]

    @property
    def codes(self) -> list[str]:
        """Finding codes, errors first, each once."""
        ordered = sorted(self.findings, key=lambda f: f.severity != ERROR)
        return list(dict.fromkeys(f.code for f in ordered))

    @property
    def ok(self) -> bool:
        return self.status != FAIL

    def to_dict(self) -> dict:
        return {"binary": self.row.binary, "arch": self.row.arch, "target": self.target,
                "status": self.status, "ok": self.ok, "codes": self.codes,
                "waived": sorted(self.waived & set(self.codes)),
                "findings": [f.to_dict() for f in self.findings]}


@dataclass
class Matrix:
    rows: list[Row]
    columns: list[Column]
    cells: dict[tuple[Row, str], Cell]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cells.values())

    def cell(self, row: Row, target: str) -> Cell | None:
        """None where that binary was not judged for that target (a bundle without that arch there)."""
        return self.cells.get((row, target))

    def ordered_cells(self) -> list[Cell]:
        """Every cell, row by row, in column order: the order findings are listed in."""
        return [c for r in self.rows for col in self.columns if (c := self.cell(r, col.target))]

    def counts(self) -> dict[str, int]:
        out = {PASS: 0, WARN: 0, FAIL: 0}
        for c in self.cells.values():
            out[c.status] += 1
        return out

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "counts": self.counts(),
            "targets": [{"id": c.target, "name": c.name} for c in self.columns],
            "binaries": [{"binary": r.binary, "arch": r.arch,
                          "ok": all(c.ok for c in self.ordered_cells() if c.row == r)} for r in self.rows],
            "cells": [c.to_dict() for c in self.ordered_cells()],
        }


def _add(rows: list[Row], cells: dict, columns: list[Column], row: Row, target: str, cell: Cell) -> None:
    if row not in rows:
        rows.append(row)
    if target not in [c.target for c in columns]:
        columns.append(Column(target))
    cells[(row, target)] = cell


def from_verdicts(verdicts: Iterable[Verdict], columns: Iterable[Column] = ()) -> Matrix:
    """A matrix from verdicts (one per binary × target); ``columns`` fixes the order and names."""
    rows: list[Row] = []
    cols = list(columns)
    cells: dict[tuple[Row, str], Cell] = {}
    for v in verdicts:
        row = Row(v.path, v.arch)
        _add(rows, cells, cols, row, v.target, Cell(row, v.target, list(v.findings)))
    return Matrix(rows, cols, cells)


def check_matrix(infos, profiles, arch: str | None = None) -> Matrix:
    """Judge every inspected binary against every profile."""
    verdicts = [check_binary(info, p, arch) for info in infos for p in profiles]
    return from_verdicts(verdicts, [Column(p.id, p.name) for p in profiles])


def from_checks(results: Iterable[dict], names: dict[str, str] | None = None) -> Matrix:
    """A matrix from a build report's results (``build-report.json`` / ``check-report.json``).

    Each result holds ``target``, ``arch``, ``checks`` (one per binary:
    ``binary``, ``findings``...) and ``waivers`` (``binary``, ``code``). The
    row is the binary as installed (its ``dest``) and the build's arch.
    """
    rows: list[Row] = []
    cols = [Column(t, n) for t, n in (names or {}).items()]
    cells: dict[tuple[Row, str], Cell] = {}
    for r in results:
        for chk in r.get("checks", []):
            row = Row(chk["binary"], r["arch"])
            findings = [Finding(f["code"], f["severity"], f["message"]) for f in chk.get("findings", [])]
            waived = frozenset(w["code"] for w in r.get("waivers", []) if w.get("binary") == chk["binary"])
            _add(rows, cells, cols, row, r["target"], Cell(row, r["target"], findings, waived))
    return Matrix(rows, cols, cells)


__all__ = ["Cell", "Column", "FAIL", "Matrix", "PASS", "Row", "SYMBOLS", "WARN", "check_matrix",
           "from_checks", "from_verdicts"]
