"""`pkgfactory build`: project file → RPMs and DEBs for every target × arch."""

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from pkgfactory.build import REPORT_NAME, run_build
from pkgfactory.builder import get_builder
from pkgfactory.commands._common import (console, emit_json, json_option, sources_root_option,
                                        targets_dir_option, trust_templates_option)
from pkgfactory.engine import ENGINES
from pkgfactory.targets import KNOWN_ARCHES

config_option = click.option("-c", "--config", "project_file", default="pkgfactory.toml", show_default=True,
                             type=click.Path(dir_okay=False), help="Project file.")
builder_options = [
    click.option("--builder", type=click.Choice(["container", "native"]), default="container", show_default=True,
                 help="Build in the builder container, or natively on this host."),
    click.option("--engine", type=click.Choice(["auto", *ENGINES]), default="auto", show_default=True,
                 help="Container engine."),
    click.option("--image", default=None, metavar="IMAGE", help="Builder image (default: pkgfactory's own)."),
    click.option("--rpm-image", default=None, metavar="IMAGE", help="Builder image for rpm targets only."),
    click.option("--deb-image", default=None, metavar="IMAGE", help="Builder image for deb targets only."),
]


# What build and bundle read besides the project file, and what they make of it.
input_options = [
    click.option("--target", "-t", "target_ids", multiple=True, metavar="ID", help="Only these targets (repeatable)."),
    click.option("--arch", "arches", multiple=True, type=click.Choice(KNOWN_ARCHES), help="Only these arches."),
    click.option("-o", "--output", "out_dir", default="output", show_default=True, type=click.Path(file_okay=False)),
    targets_dir_option,
    sources_root_option,
    trust_templates_option,
]
run_options = [
    *builder_options,
    click.option("--verbose", "-v", is_flag=True, help="Show the build tools' output live."),
    json_option,
]


def _with(options):
    def decorate(f):
        for opt in reversed(options):
            f = opt(f)
        return f
    return decorate


with_input_options = _with(input_options)
with_run_options = _with(run_options)


@click.command()
@config_option
@with_input_options
@with_run_options
def build(project_file, target_ids, arches, out_dir, builder, engine, image, rpm_image, deb_image, verbose, as_json,
          targets_dirs, sources_root, trust_templates):
    """Build the packages a project file describes."""
    runner_builder = get_builder(builder, engine=engine, image=image, rpm_image=rpm_image, deb_image=deb_image)
    out = console()
    quiet = as_json

    def started(r):
        if not quiet:
            out.print(f"[bold]{r.target}[/] {r.arch} ({r.format}) …")

    def done(r):
        if quiet:
            return
        if r.ok:
            out.print(f"  [green]built[/] {escape(str(r.artifact))} ({r.seconds:.1f}s)")
        else:
            out.print(f"  [red]{r.status}[/]: {escape(str(r.error))} (log: {escape(str(Path(out_dir) / r.log))})")
        for w in r.waivers:
            out.print(f"  [yellow]waived[/] {escape(str(w['binary']))} {w['code']}: {escape(str(w['reason']))}")

    report = run_build(project_file, out_dir=Path(out_dir), builder=runner_builder, target_ids=target_ids,
                       arches=arches, targets_dirs=targets_dirs, sources_root=sources_root,
                       trust_templates=trust_templates, verbose=verbose and not quiet,
                       on_start=started, on_done=done)
    if as_json:
        emit_json(report.to_dict())
    else:
        table = Table(title="pkgfactory build")
        for col in ("target", "arch", "format", "status", "package"):
            table.add_column(col)
        for r in report.results:
            colour = "green" if r.ok else "red"
            table.add_row(r.target, r.arch, r.format, f"[{colour}]{r.status}[/]", escape(str(r.artifact or "-")))
        out.print(table)
        out.print(f"report: {escape(str(Path(out_dir) / REPORT_NAME))}")
    sys.exit(0 if report.ok else 1)
