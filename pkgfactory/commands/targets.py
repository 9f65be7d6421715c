"""`pkgfactory targets list|show`: what we know about each target OS."""

import click
from rich.table import Table

from pkgfactory import targets as tg
from pkgfactory.commands._common import console, emit_json, json_option, targets_dir_option, text
from pkgfactory.targets import policies


@click.group("targets")
def targets():
    """List and inspect target OS profiles."""


@targets.command("list")
@json_option
@targets_dir_option
def list_targets(as_json, targets_dirs):
    """List every known target (built-in and --targets-dir)."""
    profiles = sorted(tg.load_all(targets_dirs).values(), key=lambda p: p.id)
    if as_json:
        emit_json([_summary(p) for p in profiles])
        return
    table = Table(title="Targets", title_justify="left")
    for col in ("id", "name", "family", "glibc", "kernel", "arches"):
        table.add_column(col, overflow="fold")
    for p in profiles:
        table.add_row(*(text(v) for v in (p.id, p.name, p.family, p.glibc, p.kernel, ", ".join(p.arches))))
    console().print(table)


@targets.command("show")
@click.argument("target_id", metavar="ID")
@json_option
@targets_dir_option
def show_target(target_id, as_json, targets_dirs):
    """Show everything the profile of target ID says."""
    p = tg.get(target_id, targets_dirs)
    if as_json:
        emit_json(p.to_dict())
        return
    _print_profile(p)


def _summary(p: tg.Profile) -> dict:
    return {"id": p.id, "name": p.name, "family": p.family, "glibc": p.glibc, "kernel": p.kernel,
            "arches": list(p.arches), "source_file": str(p.path)}


def _kv_table(title: str, rows) -> Table:
    t = Table(title=title, show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    for key, value in rows:
        t.add_row(text(key), text(value if isinstance(value, str) else ", ".join(map(str, value))))
    return t


def _print_profile(p: tg.Profile) -> None:
    out = console()
    out.print(text((p.id, "bold"), "  ", p.name, f"  ({p.family}, init {p.init})"))
    # Paths and notes are data, not rich markup: a '[' in them must print as is.
    out.print(text("source: ", p.path))
    if p.notes:
        out.print(text("notes: ", p.notes))
    out.print(_kv_table("Versions", p.versions.items()))
    out.print(_arches_table(p))
    out.print(_kv_table("Identify (/etc/os-release globs)", p.identify.items()))
    out.print(_kv_table("Packaging", p.packaging.items()))
    if p.policy:
        known = policies.known()
        out.print(_kv_table("Policy (what the OS enforces on packages)",
                            [(f"{k} = {v}", known[(k, v)].summary) for k, v in p.policy.items()]))
    extra = p.raw.get("libraries", {}).get("extra", [])
    extra = [extra] if isinstance(extra, str) else extra
    out.print(_kv_table("Libraries", [("beyond glibc", extra), ("total known", str(len(p.libraries)))]))
    if p.sources:
        out.print(_kv_table("Sources", p.sources.items()))


def _arches_table(p: tg.Profile) -> Table:
    t = Table(title="Arches", title_justify="left")
    for col in ("arch", "interpreters", "glibc", "kernel", "baseline", "loongarch", "cpus"):
        t.add_column(col, overflow="fold")
    for a in p.arches.values():
        t.add_row(a.name, "\n".join(a.interpreters), p.glibc_for(a.name), p.kernel_for(a.name),
                  a.cpu_baseline or "", a.loongarch_world or "", "\n".join(a.cpus))
    return t
