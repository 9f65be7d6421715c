"""`pkgfactory inspect`: what a binary is, without judging it."""

import click

from pkgfactory.commands._common import PathType, console, emit_json, json_option, text
from pkgfactory.inspect import BinaryInfo, inspect_files


@click.command()
@click.argument("binaries", nargs=-1, required=True, metavar="BINARY...", type=PathType())
@json_option
def inspect(binaries, as_json):
    """Show ELF and Go build facts of BINARY..."""
    infos = inspect_files(binaries)
    if as_json:
        emit_json([i.to_dict() for i in infos])
        return
    out = console()
    for info in infos:
        out.print(_summary(info))


def _summary(info: BinaryInfo):
    from rich.table import Table  # here: --json never needs it, and start-up is paid on every call

    d = info.to_dict()
    t = Table(title=text(info.path), show_header=False, title_justify="left", box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("arch", text(d["arch"]))
    t.add_row("linkage", text(d["linkage"] + (" (PIE)" if d["pie"] else "")))
    t.add_row("interpreter", text(d["interpreter"] or "-"))
    t.add_row("needed", text(", ".join(d["needed"]) or "-"))
    t.add_row("glibc max", text(d["glibc_max"] or "-"))
    for family, versions in d["symbol_versions"].items():
        if family != "GLIBC":
            t.add_row(text(family), text(", ".join(versions) or "(unversioned)"))
    t.add_row("stripped", text("yes" if d["stripped"] else "no"))
    if d["upx"]:
        t.add_row("UPX", text(("packed", "yellow")))
    t.add_row("size", text(f"{d['size']:,} bytes"))
    t.add_row("sha256", text(d["sha256"]))
    go = info.go
    if go is None:
        t.add_row("go", text("not a Go binary"))
    else:
        t.add_row("go", text(go.version))
        t.add_row("go path", text(go.path or "-"))
        if go.main:
            t.add_row("main module", text(f"{go.main.path} {go.main.version} {go.main.sum}".strip()))
        for dep in go.deps:
            line = f"{dep.path} {dep.version}"
            if dep.replace:
                line += f" => {dep.replace.path} {dep.replace.version}"
            t.add_row("dep", text(line))
        for key in ("CGO_ENABLED", "GOOS", "GOARCH", "GOAMD64", "GOARM64", "-ldflags", "vcs.revision"):
            if key in go.settings:
                t.add_row(key, text(go.settings[key]))
    return t
