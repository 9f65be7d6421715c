"""Command-line entry point: one click group, one sub-command per pipeline stage."""

from __future__ import annotations

import importlib
import sys

import click

from pkgfactory import __version__
from pkgfactory.errors import PkgfError


class _Group(click.Group):
    """Turns every expected failure into one line on stderr and an exit code.

    Sub-commands are imported when named (``lazy``: command name -> module and
    attribute): `pkgfactory inspect` must not pay for the packagers, signing and
    rich's tables on every call. `--help` names them all, and so imports them all.
    """

    lazy: dict[str, tuple[str, str]] = {}

    def list_commands(self, ctx):
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.lazy:
            module, attr = self.lazy[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return self.commands.get(name)

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
