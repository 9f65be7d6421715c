"""`pkgfactory verify`: for auditors, offline."""

import sys

import click

from pkgfactory.commands._common import console, emit_json, json_option
from pkgfactory.verify import verify_bundle


@click.command()
@click.argument("bundle", type=click.Path(file_okay=False))
@click.option("--fingerprint", metavar="FPR", help="The signing key fingerprint you received out of band.")
@json_option
def verify(bundle, fingerprint, as_json):
    """Prove BUNDLE untampered: exit 0 only when every check holds, 1 otherwise."""
    report = verify_bundle(bundle, fingerprint)
    if as_json:
        emit_json(report.to_dict())
    else:
        out = console()
        for w in report.warnings:
            out.print(f"[bold yellow]WARNING[/]: {w}")
        for name, n in report.counts.items():
            out.print(f"  {name.replace('_', ' ')}: {n}")
        for path, why in report.problems:
            out.print(f"[red]FAIL[/] {path}: {why}")
        if report.ok:
            out.print(f"[green]OK[/] {bundle}: signed by {report.fingerprint}")
        else:
            out.print(f"[red]NOT VERIFIED[/] {bundle}: {len(report.problems)} problem(s)")
    sys.exit(0 if report.ok else 1)
