"""`pkgfactory compile`: the project's Go module → DIR/<binary>-<arch> for every selected arch."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import click

from pkgfactory.project.select import select
from pkgfactory.published import write_atomic
from pkgfactory.cachedir import check_env
from pkgfactory.commands._common import (ARCH, PathType, console, emit_json, json_option, sources_root_option,
                                        targets_dir_option, text)
from pkgfactory.compile import cache as compile_cache
from pkgfactory.errors import InputError
from pkgfactory.output_lock import output_lock
from pkgfactory.project import load, resolve_targets
from pkgfactory.published import make_dir, publish_mode, refuse_unmakeable

REPORT_NAME = "compile-report.json"


def compile_line(rec: dict):
    """One line per compiled binary and arch, for compile, build and bundle alike."""
    cpu = "".join(f" {k}={v}" for k, v in rec["floor"]["cpu"].items())
    libc = f"cgo, glibc {rec['floor']['glibc']}" if rec["cgo"] else "static"
    how = [("cached", "green")] if rec["cache"] == "hit" else [("compiled", "green"), f" in {rec['seconds']:.1f}s"]
    return text(f"  {rec['name']} {rec['arch']}: ", *how,
                f" ({rec['go_version']} GOARCH={rec['goarch']}{cpu}, {libc}; {len(rec['targets'])} target(s))")


class Progress:
    """A spinner while a binary compiles (on a terminal), then its one line."""

    def __init__(self, quiet: bool, verbose: bool):
        # No console (and no rich) when nothing is printed: --json.
        self.out, self.quiet, self.verbose, self.status = None if quiet else console(), quiet, verbose and not quiet, None

    def options(self) -> dict:
        """The compile stage's callbacks, as build and bundle pass them on."""
        return {"on_start": self.start, "on_done": self.done}

    def start(self, info: dict) -> None:
        if not self.quiet and not self.verbose and info["cache"] == "miss":
            self.status = self.out.status(text(f"compiling {info['name']} {info['arch']} …"))
            self.status.start()

    def done(self, rec: dict) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
        if not self.quiet:
            self.out.print(compile_line(rec))


@click.command("compile")
@click.option("-c", "--config", "project_file", default="pkgfactory.toml", show_default=True,
              type=PathType(dir_okay=False), help="Project file.")
@click.option("--target", "-t", "target_ids", multiple=True, metavar="ID",
              help="Only for these targets (repeatable): the floors are theirs.")
@click.option("--arch", "arches", multiple=True, type=ARCH, help="Only these arches (ours, or Go's names).")
@click.option("-o", "--output", "out_dir", default="dist", show_default=True, type=PathType(file_okay=False),
              help=f"Where <binary>-<arch> and {REPORT_NAME} go.")
@targets_dir_option
@sources_root_option
@click.option("--verbose", "-v", is_flag=True, help="Show the compiler's output live.")
@json_option
def compile_(project_file, target_ids, arches, out_dir, targets_dirs, sources_root, verbose, as_json):
    """Compile the project's Go binaries for the floors of its targets."""
    check_env(compile_cache)
    project = load(project_file, check_sources=False, sources_root=sources_root)
    if project.go is None:
        raise InputError(f"{project.path}: nothing to compile: the project has no [go] table "
                         "(add [go] with module = \".\" and give each [[binary]] go = \"./cmd/NAME\")")
    _refuse_name_clash(project)
    matrix = select(project, resolve_targets(project, targets_dirs), target_ids, arches)
    out = Path(out_dir).absolute()
    refuse_unmakeable(out, "output directory")
    progress = Progress(quiet=as_json, verbose=verbose)
    from pkgfactory.compile import compile_project  # the toolchain and ELF checks: only for this command

    report = compile_project(project, matrix, sources_root=sources_root, exclude=[out],
                             verbose=verbose and not as_json, on_start=progress.start, on_done=progress.done)
    doc = report.to_dict()
    # Only now is anything written: a refused or failed compile leaves DIR as it was.
    make_dir(out, "output directory")
    with output_lock(out):
        for compiled, rec in zip(report.results, doc["binaries"]):
            dest = out / f"{rec['name']}-{rec['arch']}"
            tmp = out / f".{dest.name}.part-{os.getpid()}"
            shutil.copyfile(compiled.path, tmp)
            publish_mode(tmp, executable=True)
            os.replace(tmp, dest)
            rec["output"] = str(dest)
        write_atomic(out / REPORT_NAME, json.dumps(doc, indent=2) + "\n")
    if as_json:
        emit_json(doc)
    else:
        progress.out.print(text("binaries in ", out, ", report: ", out / REPORT_NAME))
    sys.exit(0)


def _refuse_name_clash(project) -> None:
    seen: dict[str, str] = {}
    for b in project.binaries:
        if b.go and b.name in seen:
            raise InputError(f"{project.path}: binaries {seen[b.name]} and {b.dest} would both be written as "
                             f"{b.name}-<arch>; pkgfactory compile needs distinct file names")
        seen[b.name] = b.dest
