"""`pkgfactory bundle`: the whole pipeline, ending in one signed, self-verifying USB bundle."""

import sys
from pathlib import Path

import click

from pkgfactory import pkgcache
from pkgfactory.builder import get_builder
from pkgfactory.bundle.run import run_bundle
from pkgfactory.cachedir import check_env
from pkgfactory.commands._common import PathType, console, emit_json, text
from pkgfactory.commands.build import config_option, with_input_options, with_run_options
from pkgfactory.commands.compile import Progress
from pkgfactory.commands.progress import BuildDisplay
from pkgfactory.bundle import reuse as bundle_cache
from pkgfactory.compile import cache as compile_cache
from pkgfactory.sign import cache as signature_cache


@click.command()
@config_option
@with_input_options
@click.option("--keys-dir", default="keys", show_default=True, type=PathType(file_okay=False),
              help="GnuPG home holding the signing key.")
@click.option("--key", "fingerprint", metavar="FPR", help="Signing key (default: the only key in --keys-dir).")
@click.option("--passphrase-file", type=PathType(dir_okay=False, exists=True),
              help="File holding the key's passphrase (also PKGF_GPG_PASSPHRASE_FILE).")
@click.option("--prebuilt", "prebuilt_dir", metavar="DIR", type=PathType(file_okay=False),
              help="Packages built elsewhere (e.g. signed by UnionTech), DIR/<target>/<arch>/<one .deb or .rpm>: "
                   "checked and bundled as they are instead of built.")
@with_run_options
def bundle(project_file, target_ids, arches, out_dir, force, keys_dir, fingerprint, passphrase_file, prebuilt_dir, builder,
           engine, image, rpm_image, deb_image, jobs, no_cache, verbose, as_json, targets_dirs, sources_root,
           trust_templates):
    """check → build → sign → index → bundle → self-verify."""
    check_env(compile_cache, pkgcache, signature_cache, bundle_cache)
    quiet = as_json
    out = None if quiet else console()  # rich is not loaded for --json

    def stage(name):
        if not quiet:
            out.print(f"[bold]== {name}[/]")

    display = BuildDisplay(out, quiet=quiet, out_dir=out_dir, title="bundle: packages", lines="bundle")
    with display:
        result = run_bundle(project_file, out_dir=Path(out_dir), keys_dir=keys_dir,
                            builder=get_builder(builder, engine=engine, image=image, rpm_image=rpm_image,
                                                deb_image=deb_image), target_ids=target_ids,
                            arches=arches, targets_dirs=targets_dirs, sources_root=sources_root,
                            trust_templates=trust_templates, fingerprint=fingerprint,
                            passphrase_file=passphrase_file, verbose=verbose and not quiet, jobs=jobs,
                            cache=not no_cache, on_stage=stage, prebuilt=prebuilt_dir,
                            compile_options=Progress(quiet, verbose).options(), force=force, **display.options())
    if as_json:
        emit_json({"bundle": str(result.directory), "archive": str(result.archive),
                   "fingerprint": result.fingerprint, "files": result.files, "signatures": result.signatures,
                   "reused": result.reused, "build": result.build.to_dict()})
    else:
        if result.reused:
            out.print(text("the bundle made ", result.reused["created"], " from the same inputs, taken from the "
                           "bundle cache and checked against the key (--no-cache makes a new one)"))
        out.print(text(("bundle", "green"), " ", result.directory, f" ({result.files} files) and ", result.archive))
        out.print(f"signing key fingerprint: [bold]{result.fingerprint}[/] — send it to the site separately")
    sys.exit(0)
