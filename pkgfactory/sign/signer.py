"""Signing RPMs and repository metadata with the key in the keys directory.

Runs on the host, after the container builds: the private key never enters
a container or the bundle. Every signature is made by the primary key
(``FPR!``; rpm < 4.13 cannot use signing subkeys) over a SHA-256 digest.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable

from pkgfactory import runner
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.hints import install_hint
from pkgfactory.keys.keyring import KeyInfo, Keyring
from pkgfactory.keys.passphrase import check_passphrase, from_file_or_env, have_terminal, prompt
from pkgfactory.sign.agent import Agent
from pkgfactory.sign.janitor import Janitor

# Few enough that an argv never nears ARG_MAX however long the paths are.
_RPMSIGN_BATCH = 50


class Signer:
    """Signs with one key of a keys dir; use as a context manager so a
    passphrase handed to the agent is forgotten again."""

    def __init__(self, keys_dir, fingerprint: str | None = None, passphrase: str | None = None, *,
                 log: Path | None = None, verbose: bool = False):
        ring = Keyring(keys_dir, create=False)
        self.key: KeyInfo = ring.signing_key(fingerprint)
        self.keys_dir = ring.home
        self.fingerprint = self.key.fingerprint
        self.log = Path(log) if log else None
        self.verbose = verbose
        self._ring = ring
        self._passphrase = check_passphrase(passphrase) if passphrase is not None else None
        self._agent = Agent(self.keys_dir, log=self.log)
        self._janitor = Janitor(self.keys_dir, self.key.keygrip)
        self._preset = False
        self._unlocked = False

    @classmethod
    def open(cls, keys_dir, fingerprint: str | None = None, *, passphrase_file=None,
             interactive: bool | None = None, log: Path | None = None, verbose: bool = False) -> "Signer":
        """A Signer whose passphrase comes from, in order: ``passphrase_file``,
        ``$PKGF_GPG_PASSPHRASE_FILE``, the agent (already unlocked, or no
        passphrase at all), a prompt when there is a terminal."""
        signer = cls(keys_dir, fingerprint, from_file_or_env(passphrase_file), log=log, verbose=verbose)
        if signer._passphrase is None and signer._agent.key_state(signer.key.keygrip) == "locked":
            if interactive is None:
                interactive = have_terminal()
            if not interactive:
                raise InputError(f"key {signer.fingerprint} is passphrase-protected and gpg-agent has not got "
                                 "the passphrase: give --passphrase-file F or set PKGF_GPG_PASSPHRASE_FILE "
                                 "(or run in a terminal to be asked)")
            signer._passphrase = prompt(f"key {signer.fingerprint} ({signer.key.uid})")
        return signer

    def __repr__(self) -> str:  # never the passphrase, in tracebacks or logs
        return f"Signer(keys_dir={str(self.keys_dir)!r}, fingerprint={self.fingerprint!r})"

    def __enter__(self) -> "Signer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._preset:
            self._agent.forget(self.key.keygrip)
            self._preset = False
        self._janitor.stop()
        self._unlocked = False

    # -- signing -----------------------------------------------------------

    def sign_rpms(self, paths: Iterable, v3: bool) -> None:
        """Sign RPMs in place; ``v3`` adds the header+payload signature EL7's rpm 4.11 needs."""
        paths = [_existing(p, ".rpm") for p in paths]
        if not paths:
            return
        self.unlock()
        gpg = shutil.which("gpg")
        if gpg is None:
            raise PkgfError(f"gpg not found: {install_hint('gpg')}")
        argv = ["rpmsign", "--addsign", *(["--rpmv3"] if v3 else []),
                # Debian's rpm points %__gpg at gpg2, which Debian 12 does not have.
                "--define", f"__gpg {gpg}",
                "--define", f"_gpg_path {self.keys_dir}",
                "--define", f"_gpg_name {self.fingerprint}!",
                # gpg would pick SHA-512 for RSA 4096.
                "--define", "_gpg_digest_algo sha256",
                "--define", "_gpg_sign_cmd_extra_args --batch --no-tty --pinentry-mode error"]
        for i in range(0, len(paths), _RPMSIGN_BATCH):
            self._run(argv + [str(p) for p in paths[i:i + _RPMSIGN_BATCH]])
        self._check_rpm_signatures(paths, v3)

    def detach_sign(self, path, armor: bool = True, out=None) -> Path:
        """A detached signature of ``path`` (``path.asc``/``path.sig`` unless ``out``)."""
        path = _existing(path)
        out = Path(out) if out else path.with_name(path.name + (".asc" if armor else ".sig"))
        return self._gpg_to(out, ["--detach-sign", *(["--armor"] if armor else []), str(path)])

    def clearsign(self, path, out) -> Path:
        """``path`` wrapped in a cleartext signature (apt's InRelease)."""
        path = _existing(path)
        return self._gpg_to(Path(out), ["--clearsign", str(path)])

    def public_key(self, armor: bool = True) -> bytes:
        """The public key, minimal; binary (``armor=False``) for apt's signed-by keyring."""
        return self._ring.export_public(self.fingerprint, armor=armor)

    # -- internals ---------------------------------------------------------

    def unlock(self) -> None:
        """Hand the passphrase to the agent and prove the key can sign, once."""
        if self._unlocked:
            return
        if self._passphrase is not None and not self._preset:
            # Before the preset, so no moment exists where a kill leaves it behind.
            self._janitor.start()
            self._agent.preset(self.key.keygrip, self._passphrase)
            self._preset = True
        # Armored to stdout, never "--output /dev/null": gpg removes its output file when
        # signing fails, and as root that deletes the /dev/null device node.
        proc = self._run(self._gpg_argv() + ["--detach-sign", "--armor", "--output", "-"],
                         input="pkgfactory signing check\n", check=False)
        if proc.returncode != 0:
            if self._passphrase is not None:
                raise InputError(f"cannot sign with key {self.fingerprint}: wrong passphrase?")
            raise InputError(f"cannot sign with key {self.fingerprint}: it is passphrase-protected and "
                             "gpg-agent has not got the passphrase (give --passphrase-file F or set "
                             "PKGF_GPG_PASSPHRASE_FILE)")
        self._unlocked = True

    def _gpg_argv(self) -> list[str]:
        return ["gpg", "--homedir", str(self.keys_dir), "--batch", "--no-tty", "--pinentry-mode", "error",
                "--yes", "--local-user", f"{self.fingerprint}!", "--digest-algo", "SHA256"]

    def _gpg_to(self, out: Path, args: list[str]) -> Path:
        self.unlock()
        if not out.parent.is_dir():
            raise InputError(f"cannot write {out}: directory {out.parent} does not exist")
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            self._run(self._gpg_argv() + ["--output", str(tmp)] + args)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        return out

    def _run(self, argv: list[str], **kwargs):
        redact = [self._passphrase] if self._passphrase else []
        return runner.run(argv, log=self.log, verbose=self.verbose, redact=redact, **kwargs)

    def _check_rpm_signatures(self, paths: list[Path], v3: bool) -> None:
        # rpmsign exits 0 for some skipped packages; check what it wrote.
        for p in paths:
            proc = runner.run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf",
                               "%{RSAHEADER:pgpsig}|%{SIGPGP:pgpsig}", str(p)], log=self.log)
            header, _, payload = proc.stdout.strip().partition("|")
            if header in ("", "(none)") or (v3 and payload in ("", "(none)")):
                what = "header" if header in ("", "(none)") else "v3 header+payload"
                raise PkgfError(f"{p}: rpmsign left no {what} signature")


def _existing(path, suffix: str | None = None) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
    if suffix and p.suffix != suffix:
        raise InputError(f"{p}: not a {suffix} file")
    return p
