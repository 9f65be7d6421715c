"""Options and output helpers shared by the sub-commands."""

import json
import sys

import click

from pkgfactory.errors import InputError
from pkgfactory.printable import printable


class PathType(click.Path):
    """The type of every path option and argument. An empty value is refused, one line naming
    the option: Path("") is ".", so ``--keys-dir ""`` (an unset variable in a script) made the
    current directory a GnuPG home and ``-o ""`` wrote into it. ``.`` says that, if meant."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value == "":
            raise InputError(f"{_param_name(param)} is empty: give a path (. for the current directory)")
        return super().convert(value, param, ctx)


def _param_name(param) -> str:
    if param is None:
        return "a path"
    if isinstance(param, click.Argument):
        return param.human_readable_name
    return max(param.opts, key=len)


targets_dir_option = click.option(
    "--targets-dir", "targets_dirs", multiple=True, metavar="DIR", type=PathType(),
    help="Extra directory of target profile files (repeatable; also PKGF_TARGETS_DIR).")
sources_root_option = click.option(
    "--sources-root", type=PathType(file_okay=False), envvar="PKGF_SOURCES_ROOT", metavar="DIR",
    help="Directory every project source must be under (default: the project file's; also PKGF_SOURCES_ROOT).")
trust_templates_option = click.option(
    "--trust-templates", is_flag=True, envvar="PKGF_TRUST_TEMPLATES",
    help="Use the project's template overrides (build.templates): they are code the package build runs.")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")


def emit_json(data) -> None:
    # ASCII escapes: a file name that is not UTF-8 (a lone surrogate here) still
    # makes valid JSON, whatever encoding stdout has.
    json.dump(data, sys.stdout, indent=2, ensure_ascii=True)
    sys.stdout.write("\n")


def console():
    from rich.console import Console  # imported when output is drawn: --json runs never need rich

    # Wide enough that paths and fix messages wrap rather than get cut in CI logs. No
    # emoji codes: ":thumbs_up:" in a file name is text.
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 120, highlight=False, emoji=False)


def text(*parts):
    """One rich Text from parts: a (words, style) pair is our own words, styled; any other part
    is data (a name, a path, a message naming one) and is shown as it is, never read as markup
    ("[/]" in a file name crashed the output, "[green]OK[/]" printed a green OK) and with its
    control characters as \\xNN."""
    from rich.text import Text

    return Text.assemble(*(p if isinstance(p, tuple) else printable(str(p)) for p in parts))


class ArchType(click.ParamType):
    """An arch option: our names, or Go's (amd64, arm64, loong64, mips64le), which become ours."""

    name = "arch"

    def get_metavar(self, param, ctx=None):
        return "ARCH"

    def convert(self, value, param, ctx):
        from pkgfactory.targets import canonical_arch

        try:
            return canonical_arch(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


ARCH = ArchType()
