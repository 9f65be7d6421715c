"""`pkgfactory verify`: for auditors, offline."""

import sys

import click
from rich.text import Text

from pkgfactory.commands._common import PathType, console, emit_json, json_option
from pkgfactory.verify import ORIGIN_UNKNOWN, verify_bundle

# Exit codes: 0 verified, 1 problems found, 2 bad input, 3 consistent but the origin not established.
EXIT_ORIGIN_UNKNOWN = 3


@click.command()
@click.argument("bundle", type=PathType(file_okay=False))
@click.option("--fingerprint", metavar="FPR", help="The signing key fingerprint you received out of band.")
@click.option("--accept-bundled-key", is_flag=True,
              help="Without --fingerprint: accept the key the bundle carries as its origin (exit 0 when consistent).")
@json_option
def verify(bundle, fingerprint, accept_bundled_key, as_json):
    """Prove BUNDLE untampered and signed by the key you expect.

    Exit 0 when every check holds and the origin is established (--fingerprint,
    or --accept-bundled-key); 1 when a check fails; 3 when every check holds but
    no --fingerprint says whose key signed it; 2 for bad input.
    """
    report = verify_bundle(bundle, fingerprint, accept_bundled_key=accept_bundled_key)
    if as_json:
        emit_json(report.to_dict())
    else:
        _print(report)
    if not report.consistent:
        sys.exit(1)
    sys.exit(0 if report.ok else EXIT_ORIGIN_UNKNOWN)


def _print(report) -> None:
    # Text objects, never markup: names come from the bundle, and a file named
    # "[/]" or "[green]OK[/]" is a name to show, not a style to apply.
    out = console()
    for w in report.warnings:
        out.print(Text.assemble(("WARNING", "bold yellow"), ": ", w))
    for name, n in report.counts.items():
        out.print(Text(f"  {name.replace('_', ' ')}: {n}"))
    for path, why in report.problems:
        out.print(Text.assemble(("FAIL", "red"), " ", path, ": ", why))
    bundle = report.bundle
    if not report.consistent:
        out.print(Text.assemble(("NOT VERIFIED", "red"), f" {bundle}: {len(report.problems)} problem(s)"))
    elif report.origin == ORIGIN_UNKNOWN:
        out.print(Text.assemble(("CONSISTENT, ORIGIN NOT ESTABLISHED", "bold yellow"),
                                f" {bundle}: signed by {report.fingerprint}, a key nothing here ties to its maker "
                                "(--fingerprint FPR, or --accept-bundled-key)"))
    else:
        out.print(Text.assemble(("OK", "green"), f" {bundle}: signed by {report.fingerprint} ({report.origin})"))
