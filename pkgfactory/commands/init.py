"""`pkgfactory init`: write a commented pkgfactory.toml to start from."""

from pathlib import Path

import click

from pkgfactory.commands._common import PathType, console, emit_json, json_option, targets_dir_option, text
from pkgfactory.errors import InputError
from pkgfactory.init import draft_from_binaries, draft_from_nfpm, output_path, write_draft


@click.command()
# Plain paths: what is wrong with a file is reported by the reader, on one line.
@click.option("--binary", "binaries", multiple=True, type=PathType(path_type=Path),
              metavar="FILE", help="A built binary (repeatable: one per arch). Its arch comes from the ELF "
              "header; the targets are those `pkgfactory check` passes it on.")
@click.option("--name", help="Package name (default: from the binary's file name).")
@click.option("--from-nfpm", "nfpm", type=PathType(path_type=Path), metavar="FILE",
              help="An nfpm.yaml, or a .goreleaser.yaml whose nfpms: section to convert.")
@click.option("--nfpm-id", metavar="ID", help="Which nfpms: entry of a .goreleaser.yaml (when it has several).")
@click.option("-o", "--output", type=PathType(path_type=Path), metavar="PATH",
              help="File to write, or a directory for its pkgfactory.toml (default: ./pkgfactory.toml).")
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
@json_option
@targets_dir_option
def init(binaries, name, nfpm, nfpm_id, output, force, as_json, targets_dirs):
    """Write a commented pkgfactory.toml from a binary or an nfpm/goreleaser config.

    Values pkgfactory cannot know are placeholders marked FILL IN; what the
    nfpm config does that pkgfactory cannot is listed as NOT CARRIED OVER.
    The file is written only once pkgfactory's own reader loads it, and an
    existing file is never replaced without --force. Exit 0 when written,
    2 on bad input.
    """
    if bool(binaries) == bool(nfpm):
        raise InputError("give --binary FILE (one or more) or --from-nfpm FILE, not both and not neither")
    if nfpm is None and nfpm_id is not None:
        raise InputError("--nfpm-id goes with --from-nfpm")
    if nfpm is not None and name is not None:
        raise InputError("--name goes with --binary (an nfpm config names its package)")
    path = output_path(output)
    if path.exists() and not force:
        raise InputError(f"{path} exists; pkgfactory init never replaces a file (--force does)")
    out_dir = path.absolute().parent
    if binaries:
        draft = draft_from_binaries(list(binaries), out_dir, name=name, targets_dirs=targets_dirs)
    else:
        draft = draft_from_nfpm(nfpm, out_dir, nfpm_id=nfpm_id, targets_dirs=targets_dirs)
    written = write_draft(draft, path, force=force)
    d = written.draft
    if as_json:
        emit_json({"file": str(written.path), "targets": d.data["build"]["targets"],
                   "excluded_targets": [{"target": t, "reason": r} for t, r in d.excluded_targets],
                   "fill_in": [{"key": k, "what": w} for k, w in d.fill_in], "not_carried": d.not_carried,
                   "notes": d.notes, "sources_missing": written.sources_missing})
        return
    out = console()
    out.print(text(("wrote", "green"), " ", written.path))
    out.print(text("  targets: ", ", ".join(d.data["build"]["targets"])))
    for t, why in d.excluded_targets:
        out.print(text("  ", ("left out", "yellow"), " ", t, ": ", why))
    if d.fill_in:
        out.print(text("  ", ("fill in", "bold"), " before a delivery: ", ", ".join(dict.fromkeys(k for k, _ in d.fill_in))))
    if d.not_carried:
        out.print(text("  ", ("not carried over", "yellow"), f": {len(d.not_carried)} item(s), listed at the top of the file"))
    if written.sources_missing:
        out.print(text("  sources not in place yet: ", written.sources_missing))
