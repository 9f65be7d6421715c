"""Command-line entry point: one click group, one sub-command per pipeline stage."""

from __future__ import annotations

import sys

import click

from pkgfactory import __version__
from pkgfactory.errors import PkgfError


class _Group(click.Group):
    """Turns every expected failure into one line on stderr and an exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PkgfError as e:
            click.echo(f"pkgfactory: error: {e}", err=True)
            sys.exit(e.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("pkgfactory: interrupted", err=True)
            sys.exit(130)
        except Exception as e:  # a bug: still one line, with a way to get the trace
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"pkgfactory: internal error: {type(e).__name__}: {' '.join(str(e).split())} "
                       "(rerun with --debug for a traceback)", err=True)
            sys.exit(70)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pkgfactory")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks for internal errors.")
@click.pass_context
def cli(ctx, debug):
    """Offline RPM/DEB package factory for air-gapped targets."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register():
    # Sub-commands live next to the stage they drive; importing them here keeps
    # `pkgfactory --help` the single map of the pipeline.
    from pkgfactory.commands import register

    register(cli)


def main():
    _register()
    cli(prog_name="pkgfactory")
