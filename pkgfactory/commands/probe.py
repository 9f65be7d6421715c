"""`pkgfactory probe`: print the sh script that writes a profile on a target machine."""

import click

from pkgfactory.probe import script


@click.command()
def probe():
    """Print a POSIX sh script that, run on a target machine, prints its profile.

    \b
    Typical use, as any user on the target (no root, no network needed):
      pkgfactory probe > probe.sh         # here
      sh probe.sh > my-targets/ID.toml    # on the target; the header names ID
      pkgfactory targets show ID --targets-dir my-targets
    """
    # nl=False: the script already ends with its own newline, and byte-identical
    # output lets a site diff the script it ran against the one we ship.
    click.echo(script(), nl=False)
