"""Command-line entry point: one click group, one sub-command per pipeline stage."""

from __future__ import annotations

import importlib
import sys

import click

from pkgfactory import __version__
from pkgfactory.errors import PkgfError

JSON_FLAG = "--json"


class _Group(click.Group):
    """Turns every expected failure into one line on stderr and an exit code.

    When the command was asked for ``--json``, the failure is also a JSON object on
    stdout, ``{"error": {"code", "message", "exit_code"}}``, so scripts never parse
    text; the exit code is the same either way.

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

    def parse_args(self, ctx, args):
        # Kept before click consumes them: a usage error can come before --json is parsed.
        ctx.meta["pkgf.argv"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PkgfError as e:
            self._fail(ctx, e.code, str(e), e.exit_code)
        except click.ClickException as e:
            if _wants_json(ctx, self):
                code = "usage" if isinstance(e, click.exceptions.UsageError) else "error"
                self._fail(ctx, code, e.format_message(), e.exit_code, text=False)
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            self._fail(ctx, "interrupted", "interrupted", 130)
        except Exception as e:  # a bug: still one line, with a way to get the trace
            if ctx.obj and ctx.obj.get("debug"):
                raise
            self._fail(ctx, "internal", f"internal error: {type(e).__name__}: {' '.join(str(e).split())} "
                       "(rerun with --debug for a traceback)", 70)

    def _fail(self, ctx, code: str, message: str, exit_code: int, text: bool = True):
        if _wants_json(ctx, self):
            from pkgfactory.commands._common import emit_json

            emit_json({"error": {"code": code, "message": message, "exit_code": exit_code}})
        if not text:
            return  # click prints its own usage message on stderr
        prefix = "" if code in ("interrupted", "internal") else "error: "
        click.echo(f"pkgfactory: {prefix}{message}", err=True)
        sys.exit(exit_code)


def _wants_json(ctx, group: click.Group) -> bool:
    """Whether the command line names a command that has --json, and gives it."""
    args = ctx.meta.get("pkgf.argv", [])
    if "--" in args:
        args = args[:args.index("--")]
    cmd: click.Command = group
    rest = list(args)
    while isinstance(cmd, click.Group):
        names = [a for a in rest if not a.startswith("-")]
        sub = cmd.get_command(ctx, names[0]) if names else None
        if sub is None:
            return False
        rest = rest[rest.index(names[0]) + 1:]
        cmd = sub
    return JSON_FLAG in rest and any(JSON_FLAG in getattr(p, "opts", ()) for p in cmd.params)


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
