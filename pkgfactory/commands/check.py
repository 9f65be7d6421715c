"""`pkgfactory check`: will these binaries start on those targets?"""

import sys
from pathlib import Path

import click
from rich.table import Table

from pkgfactory import targets
from pkgfactory.check.matrix import FAIL, Matrix, check_matrix
from pkgfactory.commands._common import ARCH, PathType, console, emit_json, json_option, targets_dir_option, text
from pkgfactory.inspect import inspect_files

_COLOUR = {"pass": "green", "warn": "yellow", "fail": "red"}


@click.command()
@click.argument("binaries", nargs=-1, required=True, metavar="BINARY...", type=PathType())
@click.option("--target", "-t", "target_ids", required=True, multiple=True, metavar="ID",
              help="Target profile id (repeatable; 'all' for every known target).")
@click.option("--arch", type=ARCH, help="The arch these binaries are meant for (ours, or Go's name).")
@json_option
@targets_dir_option
def check(binaries, target_ids, arch, as_json, targets_dirs):
    """Check that BINARY... will load and run on every target ID.

    Every binary is judged against every target. Exit 0 when all will run
    everywhere (warnings allowed), 1 when any will not, 2 on bad input.
    """
    profiles = targets.select(target_ids, targets_dirs)
    # Inspect everything before printing anything: a bad file later in the list
    # must not leave a report that looks complete.
    matrix = check_matrix(inspect_files(binaries), profiles, arch)
    if as_json:
        emit_json(matrix.to_dict())
    elif len(profiles) == 1:
        _print_list(matrix, profiles[0])
    else:
        _print_matrix(matrix)
    sys.exit(0 if matrix.ok else 1)


def _print_list(matrix: Matrix, profile) -> None:
    out = console()
    for cell in matrix.ordered_cells():
        status = ("FAIL", "red") if cell.status == FAIL else ("OK", "green")
        out.print(text(status, " ", cell.row.binary, f" ({cell.row.arch}) on {profile.id}: ", profile.name))
        _print_findings(out, cell)


def _print_findings(out, cell) -> None:
    for f in cell.findings:
        colour = "red" if f.severity == "error" else "yellow"
        out.print(text("  ", (f.severity, colour), " ", (f.code, "bold"), ": ", f.message))


def _labels(matrix: Matrix) -> dict:
    """Column headings: the file name, or the path as given where two binaries share a name."""
    names = [Path(r.binary).name for r in matrix.rows]
    return {r: (n if names.count(n) == 1 else r.binary) for r, n in zip(matrix.rows, names)}


def _print_matrix(matrix: Matrix) -> None:
    out = console()
    labels = _labels(matrix)
    # Targets down, binaries across: eighteen targets fit a terminal's height, not its width.
    table = Table(title="pkgfactory check", title_justify="left")
    table.add_column("target")
    for r in matrix.rows:
        table.add_column(text(labels[r], (f"\n{r.arch}", "")), overflow="fold")
    for col in matrix.columns:
        row = [text(col.target)]
        for r in matrix.rows:
            cell = matrix.cell(r, col.target)
            row.append(text((" ".join([cell.symbol, *cell.codes]), _COLOUR[cell.status])))
        table.add_row(*row)
    out.print(table)
    counts = matrix.counts()
    out.print(f"{counts['pass']} pass, {counts['warn']} with warnings, {counts['fail']} fail")
    for cell in matrix.ordered_cells():
        if cell.findings:
            out.print(text(("\n", ""), (cell.symbol, _COLOUR[cell.status]), " ", (cell.target, "bold"), ": ",
                           cell.row.binary, f" ({cell.row.arch})"))
            _print_findings(out, cell)
