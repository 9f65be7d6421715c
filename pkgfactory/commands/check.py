"""`pkgfactory check`: will these binaries start on that target?"""

import sys

import click
from rich.markup import escape

from pkgfactory import targets
from pkgfactory.check import Verdict, check_binary
from pkgfactory.commands._common import console, emit_json, json_option, targets_dir_option
from pkgfactory.inspect import inspect_files
from pkgfactory.targets import KNOWN_ARCHES


@click.command()
@click.argument("binaries", nargs=-1, required=True, metavar="BINARY...")
@click.option("--target", "-t", "target_id", required=True, metavar="ID", help="Target profile id.")
@click.option("--arch", type=click.Choice(KNOWN_ARCHES), help="The arch these binaries are meant for.")
@json_option
@targets_dir_option
def check(binaries, target_id, arch, as_json, targets_dirs):
    """Check that BINARY... will load and run on target ID.

    Exit 0 when all will, 1 when any will not, 2 on bad input.
    """
    profile = targets.get(target_id, targets_dirs)
    # Inspect everything before printing anything: a bad file later in the list
    # must not leave a report that looks complete.
    verdicts = [check_binary(info, profile, arch) for info in inspect_files(binaries)]
    if as_json:
        emit_json({"target": profile.id, "binaries": [v.to_dict() for v in verdicts]})
    else:
        _print(verdicts, profile)
    sys.exit(0 if all(v.ok for v in verdicts) else 1)


def _print(verdicts: list[Verdict], profile) -> None:
    out = console()
    for v in verdicts:
        status = "[green]OK[/]" if v.ok else "[red]FAIL[/]"
        out.print(f"{status} {escape(str(v.path))} ({v.arch}) on {profile.id}: {escape(profile.name)}")
        for f in v.findings:
            colour = "red" if f.severity == "error" else "yellow"
            out.print(f"  [{colour}]{f.severity}[/] [bold]{f.code}[/]: {escape(f.message)}")
