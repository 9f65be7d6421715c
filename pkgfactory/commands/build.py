"""`pkgfactory build`: project file → RPMs and DEBs for every target × arch."""

import sys
from pathlib import Path

import click

from pkgfactory import pkgcache
from pkgfactory.buildreport import REPORT_NAME
from pkgfactory.builder import get_builder
from pkgfactory.cachedir import check_env
from pkgfactory.commands._common import (ARCH, PathType, console, emit_json, json_option, sources_root_option,
                                        targets_dir_option, text, trust_templates_option)
from pkgfactory.commands.compile import Progress
from pkgfactory.commands.progress import BuildDisplay
from pkgfactory.compile import cache as compile_cache
from pkgfactory.engine import ENGINES

config_option = click.option("-c", "--config", "project_file", default="pkgfactory.toml", show_default=True,
                             type=PathType(dir_okay=False), help="Project file.")
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
    click.option("--arch", "arches", multiple=True, type=ARCH, help="Only these arches (ours, or Go's names)."),
    click.option("-o", "--output", "out_dir", default="output", show_default=True, type=PathType(file_okay=False)),
    click.option("--force", is_flag=True,
                 help="Replace what an earlier, different run left in the output directory (removed first)."),
    targets_dir_option,
    sources_root_option,
    trust_templates_option,
]
run_options = [
    *builder_options,
    click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
                 help="Packages built at once (default: one per core)."),
    click.option("--no-cache", "no_cache", is_flag=True,
                 help="Build every package, neither reading nor filling the package cache "
                      "(~/.cache/pkgfactory/packages; PKGF_PACKAGE_CACHE moves it); bundle also signs "
                      "everything afresh, bypassing the signature cache (~/.cache/pkgfactory/signatures), "
                      "and makes a new bundle, bypassing the bundle cache (~/.cache/pkgfactory/bundles)."),
    click.option("--verbose", "-v", is_flag=True, help="Show the build tools' output live (several builds interleave)."),
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
def build(project_file, target_ids, arches, out_dir, force, builder, engine, image, rpm_image, deb_image, jobs, no_cache,
          verbose, as_json, targets_dirs, sources_root, trust_templates):
    """Build the packages a project file describes."""
    from rich.table import Table

    check_env(compile_cache, pkgcache)

    from pkgfactory.build import run_build  # the packagers: loaded by the command that uses them

    runner_builder = get_builder(builder, engine=engine, image=image, rpm_image=rpm_image, deb_image=deb_image)
    out = console()
    display = BuildDisplay(out, quiet=as_json, out_dir=out_dir, title="build")
    with display:
        report = run_build(project_file, out_dir=Path(out_dir), builder=runner_builder, target_ids=target_ids,
                           arches=arches, targets_dirs=targets_dirs, sources_root=sources_root,
                           trust_templates=trust_templates, verbose=verbose and not as_json, jobs=jobs,
                           cache=not no_cache, compile_options=Progress(as_json, verbose).options(),
                           force=force, **display.options())
    if as_json:
        emit_json(report.to_dict())
    else:
        table = Table(title="pkgfactory build")
        for col in ("target", "arch", "format", "status", "package"):
            table.add_column(col)
        for r in report.results:
            colour = "green" if r.ok else "red"
            table.add_row(r.target, r.arch, r.format, text((r.status, colour)), text(r.artifact or "-"))
        out.print(table)
        out.print(text("report: ", Path(out_dir) / REPORT_NAME))
    sys.exit(0 if report.ok else 1)
