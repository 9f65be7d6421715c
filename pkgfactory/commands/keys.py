"""`pkgfactory keys generate|import|export|list`: the signing key under keys/."""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

import click

from pkgfactory.commands._common import PathType, console, emit_json, json_option, text
from pkgfactory.errors import InputError
from pkgfactory.keys import ALGORITHMS, DEFAULT_ALGORITHM, DEFAULT_KEYS_DIR, KeyInfo, Keyring, generate_key
from pkgfactory.keys.passphrase import ENV_VAR, from_file_or_env, have_terminal, prompt
from pkgfactory.published import publish_mode

keys_dir_option = click.option(
    "--keys-dir", default=DEFAULT_KEYS_DIR, show_default=True, metavar="DIR", type=PathType(),
    help="GnuPG home holding the signing key (created mode 0700).")
passphrase_file_option = click.option(
    "--passphrase-file", metavar="FILE", type=PathType(),
    help=f"Read the key's passphrase from FILE's first line (also ${ENV_VAR}).")


@click.group("keys")
def keys():
    """Create and manage the signing key (RSA 4096, for rpm, yum and apt)."""


@keys.command("generate")
@click.option("--name", required=True, help="The key's user id name.")
@click.option("--email", required=True, help="The key's user id e-mail.")
@passphrase_file_option
@click.option("--no-passphrase", is_flag=True, help="Leave the key unprotected (for CI keys kept elsewhere).")
@click.option("--algorithm", type=click.Choice(list(ALGORITHMS)), default=DEFAULT_ALGORITHM, show_default=True,
              help="Key type; only RSA is verifiable by every rpm target.")
@click.option("--expire", default="0", show_default=True, metavar="WHEN",
              help="0 (never), 2y, 365d, or YYYY-MM-DD.")
@click.option("--if-missing", is_flag=True,
              help="Do nothing (exit 0) when the keys dir already holds a secret key.")
@keys_dir_option
@json_option
def generate(name, email, passphrase_file, no_passphrase, algorithm, expire, if_missing, keys_dir, as_json):
    """Generate the signing key in the keys dir.

    Without a terminal one of --passphrase-file or --no-passphrase is needed.
    """
    if if_missing and Path(keys_dir).is_dir():
        existing = [k for k in Keyring(keys_dir, create=False).keys() if k.secret]
        if existing:
            if as_json:
                emit_json(existing[0].to_dict())
            else:
                click.echo(f"keys dir {Path(keys_dir).absolute()} already holds {existing[0].fingerprint}: kept")
            return
    if passphrase_file and no_passphrase:
        raise InputError("give either --passphrase-file or --no-passphrase, not both")
    passphrase = None if no_passphrase else from_file_or_env(passphrase_file)
    if passphrase is None and not no_passphrase:
        if not have_terminal():
            # Guessing either way is wrong: an unprotected key nobody asked for,
            # or a prompt that would hang a CI job.
            raise InputError("no terminal to ask for a passphrase: give --passphrase-file FILE or --no-passphrase")
        passphrase = prompt(f"the new key of {name} <{email}>", confirm=True)
    key = generate_key(keys_dir, name, email, passphrase, algorithm=algorithm, expire=expire)
    if as_json:
        emit_json(key.to_dict())
    else:
        click.echo(f"generated {key.description} key {key.fingerprint} ({key.uid}) in {Path(keys_dir).absolute()}")


@keys.command("import")
@click.argument("key_file", metavar="FILE", type=PathType())
@passphrase_file_option
@keys_dir_option
@json_option
def import_(key_file, passphrase_file, keys_dir, as_json):
    """Import a public or secret key from FILE into the keys dir."""
    imported = Keyring(keys_dir).import_file(key_file, from_file_or_env(passphrase_file))
    if as_json:
        emit_json([k.to_dict() for k in imported])
        return
    for k in imported:
        click.echo(f"imported {'secret' if k.secret else 'public'} {k.description} key {k.fingerprint} ({k.uid})")


@keys.command("export")
@click.option("--fingerprint", metavar="FPR", help="Which key (default: the only one).")
@click.option("-o", "--output", default="-", show_default=True, metavar="FILE", type=PathType(),
              help="Where to write; - is stdout.")
@click.option("--binary", is_flag=True, help="A binary keyring (for apt's signed-by=) instead of armored text.")
@keys_dir_option
def export(fingerprint, output, binary, keys_dir):
    """Write the public key, minimal (what old rpm can import). Secret keys are never exported."""
    data = Keyring(keys_dir, create=False).export_public(fingerprint, armor=not binary)
    if output == "-":
        if binary and sys.stdout.isatty():
            raise InputError("refusing to write a binary keyring to a terminal: use -o FILE")
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    out = Path(output)
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: directory {out.parent} does not exist")
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_bytes(data)
        publish_mode(tmp)  # the key the sites are sent: nobody else may rewrite it first
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {out}: {e.strerror}") from None


@keys.command("list")
@keys_dir_option
@json_option
def list_(keys_dir, as_json):
    """List the keys in the keys dir."""
    found = Keyring(keys_dir, create=False).keys()
    if as_json:
        emit_json([k.to_dict() for k in found])
        return
    if not found:
        click.echo(f"no keys in {Path(keys_dir).absolute()}")
        return
    # One block per key, its fingerprint alone on the first line: that is what the site compares
    # against the delivery note, and a table column would fold it on an 80-column terminal.
    out = console()
    out.print(text("Keys in ", Path(keys_dir).absolute()))
    for k in found:
        out.print()
        out.print(f"[bold]{k.fingerprint}[/]", no_wrap=True, overflow="ignore")
        out.print(text("  uid      ", k.uid))
        kind = "secret (can sign)" if k.secret else "public only"
        out.print(f"  key      {_algo(k)} {k.bits}, {kind}, expires {_expires(k)}")


def _algo(k: KeyInfo) -> str:
    return f"{k.algorithm} ({k.curve})" if k.curve else k.algorithm


def _expires(k: KeyInfo) -> str:
    if k.validity == "e":
        return "expired"
    if k.validity == "r":
        return "revoked"
    if k.expires is None:
        return "never"
    return datetime.datetime.fromtimestamp(k.expires, datetime.timezone.utc).strftime("%Y-%m-%d")
