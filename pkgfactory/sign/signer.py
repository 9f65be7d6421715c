"""Signing RPMs and repository metadata with the key in the keys directory.

Runs on the host, after the container builds: the private key never enters
a container or the bundle. Every signature is made by the primary key
(``FPR!``; rpm < 4.13 cannot use signing subkeys) over a SHA-256 digest.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterable

from pkgfactory import runner, schedule
from pkgfactory.digest import sha256_file
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.hints import install_hint
from pkgfactory.keys.keyring import KeyInfo, Keyring
from pkgfactory.keys.passphrase import check_passphrase, from_file_or_env, have_terminal, prompt
from pkgfactory.published import open_log
from pkgfactory.sign.agent import Agent
from pkgfactory.sign.cache import entry_key
from pkgfactory.sign.janitor import Janitor
from pkgfactory.sign.verify import OneKey, RpmCheck

# Few enough that an argv never nears ARG_MAX however long the paths are.
_RPMSIGN_BATCH = 50
# What rpm --checksig reports for a package signed as v3 (rpm 4.11's header+payload signature
# too) or as v4 only.
_KINDS = {True: frozenset({"header", "header+payload"}), False: frozenset({"header"})}


class Signer:
    """Signs with one key of a keys dir; use as a context manager so a
    passphrase handed to the agent is forgotten again."""

    def __init__(self, keys_dir, fingerprint: str | None = None, passphrase: str | None = None, *,
                 log: Path | None = None, verbose: bool = False, cache=None):
        """``cache``: a signature cache (pkgfactory.sign.cache.signature_cache()) to reuse
        verified signatures from and keep fresh ones in; None signs everything afresh."""
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
        self.cache = cache
        self.signed = 0  # signatures made by this Signer (one per RPM, per detached or clear signature)
        self.reused = 0  # taken from the cache, verified
        self._lock = threading.RLock()
        self._public: dict[bool, bytes] = {}
        self._onekey: OneKey | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    @classmethod
    def open(cls, keys_dir, fingerprint: str | None = None, *, passphrase_file=None,
             interactive: bool | None = None, log: Path | None = None, verbose: bool = False,
             cache=None) -> "Signer":
        """A Signer whose passphrase comes from, in order: ``passphrase_file``,
        ``$PKGF_GPG_PASSPHRASE_FILE``, the agent (already unlocked, or no
        passphrase at all), a prompt when there is a terminal."""
        signer = cls(keys_dir, fingerprint, from_file_or_env(passphrase_file), log=log, verbose=verbose,
                     cache=cache)
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
        forgotten = False
        if self._preset:
            forgotten = self._agent.forget(self.key.keygrip)
            self._preset = False
        self._janitor.stop(forgotten=forgotten)
        self._unlocked = False
        if self._onekey is not None:
            self._onekey.close()
            self._onekey = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- signing -----------------------------------------------------------

    def sign_rpms(self, paths: Iterable, v3: bool, jobs: int = 1) -> list[RpmCheck]:
        """Sign RPMs in place; ``v3`` adds the header+payload signature EL7's rpm 4.11 needs.

        With a cache, an RPM signed before (same unsigned bytes, key and kind) is taken from it
        once rpm has verified it against the key; the others go to ``jobs`` rpmsign processes.
        Returns rpm's check of each signed file against the key (``rpmkeys --checksig``).
        """
        paths = [_existing(p, ".rpm") for p in paths]
        if not paths:
            return []
        keys = {}
        if self.cache is not None:
            keys = {p: entry_key("rpm", self.fingerprint, sha256_file(p), {"v3": v3, "digest": "sha256"})
                    for p in paths}
        checks = self._reuse_rpms(keys, v3) if keys else {}
        fresh = [p for p in paths if p not in checks]
        if fresh:
            self._rpmsign(fresh, v3, jobs)
            checks.update(self._check_rpm_signatures(fresh, v3))
            self.signed += len(fresh)
            for p in fresh:
                if p in keys:
                    self.cache.put(keys[p], p)
        return [checks[p] for p in paths]

    def _rpmsign(self, paths: list[Path], v3: bool, jobs: int) -> None:
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
        # Each signature costs gpg-agent the key's passphrase derivation (a good part of a
        # second of CPU, docs/signing.md): on several cores, several rpmsign processes share them.
        per = max(1, min(_RPMSIGN_BATCH, -(-len(paths) // max(1, jobs))))
        chunks = [paths[i:i + per] for i in range(0, len(paths), per)]
        schedule.run_all(chunks, lambda chunk: self._run(argv + [str(p) for p in chunk]), jobs)

    def detach_sign(self, path, armor: bool = True, out=None, *, reuse: bool = True) -> Path:
        """A detached signature of ``path`` (``path.asc``/``path.sig`` unless ``out``).

        ``reuse``: take it from the cache when one verifies (False for data no other run signs)."""
        path = _existing(path)
        out = Path(out) if out else path.with_name(path.name + (".asc" if armor else ".sig"))
        return self._signed(out, path, "detach", ["--detach-sign", *(["--armor"] if armor else [])],
                            {"armor": armor}, reuse)

    def clearsign(self, path, out, *, reuse: bool = True) -> Path:
        """``path`` wrapped in a cleartext signature (apt's InRelease)."""
        path = _existing(path)
        return self._signed(Path(out), path, "clear", ["--clearsign"], {"armor": True}, reuse)

    def public_key(self, armor: bool = True) -> bytes:
        """The public key, minimal; binary (``armor=False``) for apt's signed-by keyring."""
        if armor not in self._public:
            self._public[armor] = self._ring.export_public(self.fingerprint, armor=armor)
        return self._public[armor]

    # -- internals ---------------------------------------------------------

    def unlock(self) -> None:
        """Hand the passphrase to the agent and prove the key can sign, once."""
        with self._lock:
            if self._unlocked:
                return
            self._preset_once()
            # Armored to stdout, never "--output /dev/null": gpg removes its output file when
            # signing fails, and as root that deletes the /dev/null device node.
            proc = self._run(self._gpg_argv() + ["--detach-sign", "--armor", "--output", "-"],
                             input="pkgfactory signing check\n", check=False)
            if proc.returncode != 0:
                raise self._cannot_sign(proc)
            self._unlocked = True

    def _preset_once(self) -> None:
        if self._passphrase is not None and not self._preset:
            # Before the preset, so no moment exists where a kill leaves it behind.
            self._janitor.start()
            self._agent.preset(self.key.keygrip, self._passphrase)
            self._preset = True

    def _cannot_sign(self, proc) -> InputError:
        lines = [l.strip() for l in (proc.stderr or "").splitlines() if l.strip()]
        why = f" ({lines[-1]})" if lines else ""
        if self._passphrase is not None:
            return InputError(f"cannot sign with key {self.fingerprint}: wrong passphrase?{why}")
        return InputError(f"cannot sign with key {self.fingerprint}: it is passphrase-protected and "
                          "gpg-agent has not got the passphrase (give --passphrase-file F or set "
                          f"PKGF_GPG_PASSPHRASE_FILE){why}")

    def _gpg_argv(self) -> list[str]:
        return ["gpg", "--homedir", str(self.keys_dir), "--batch", "--no-tty", "--pinentry-mode", "error",
                "--yes", "--local-user", f"{self.fingerprint}!", "--digest-algo", "SHA256"]

    def _signed(self, out: Path, data: Path, kind: str, args: list[str], options: dict, reuse: bool) -> Path:
        if not out.parent.is_dir():
            raise InputError(f"cannot write {out}: directory {out.parent} does not exist")
        key = None
        if reuse and self.cache is not None:
            key = entry_key(kind, self.fingerprint, sha256_file(data), {**options, "digest": "SHA256"})
            if self._reuse_gpg(key, kind, data, out, options):
                return out
        self._gpg_to(out, args + [str(data)])
        self.signed += 1
        if key is not None:
            self.cache.put(key, out)
        return out

    def _gpg_to(self, out: Path, args: list[str]) -> None:
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            if not self._unlocked:
                with self._lock:
                    if not self._unlocked:
                        # The first signature is the check that the key can sign (no probe of its own).
                        self._preset_once()
                        proc = self._run(self._gpg_argv() + ["--output", str(tmp)] + args, check=False)
                        if proc.returncode != 0:
                            raise self._cannot_sign(proc)
                        self._unlocked = True
                        os.replace(tmp, out)
                        return
            self._run(self._gpg_argv() + ["--output", str(tmp)] + args)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)

    def _run(self, argv: list[str], **kwargs):
        redact = [self._passphrase] if self._passphrase else []
        return runner.run(argv, log=self.log, verbose=self.verbose, redact=redact, **kwargs)

    def _note(self, message: str) -> None:
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with open_log(self.log) as f:
                f.write(f"pkgfactory: {message}\n")

    def _checker(self) -> OneKey:
        """The signing key's public half in a keyring and rpm database of their own, made once."""
        with self._lock:
            if self._onekey is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="pkgf-signer-")
                pub = Path(self._tmp.name) / "key.asc"  # armored: rpmkeys --import reads no other
                pub.write_bytes(self.public_key(armor=True))
                keyring = Path(self._tmp.name) / "key.gpg"  # binary: what gpgv reads
                keyring.write_bytes(self.public_key(armor=False))
                self._onekey = OneKey(pub, log=self.log, keyring=keyring)
            return self._onekey

    def _reuse_gpg(self, key: str, kind: str, data: Path, out: Path, options: dict) -> bool:
        where = out.parent / f".{out.name}.cached-{os.getpid()}"
        try:
            got = self.cache.fetch(key, where, note=self._note)
            if got is None:
                return False
            problem = self._judge_gpg(kind, data, got, options, where)
            if problem:
                self._note(f"signature cache entry {key} for {out.name} not used: {problem}; signing again")
                self.cache.discard(key)
                return False
            os.replace(got, out)
            self.reused += 1
            self._note(f"{out.name}: signature taken from the signature cache ({key}), verified with the key")
            return True
        finally:
            shutil.rmtree(where, ignore_errors=True)

    def _judge_gpg(self, kind: str, data: Path, got: Path, options: dict, where: Path) -> str | None:
        """Why the cached signature ``got`` is not what signing ``data`` now would give; None: it is."""
        head = got.read_bytes()[:64]
        if kind == "clear":
            shape = head.startswith(b"-----BEGIN PGP SIGNED MESSAGE-----")
        else:
            shape = head.startswith(b"-----BEGIN PGP SIGNATURE-----") == bool(options.get("armor"))
        if not shape:
            return "not the armoring asked for"
        try:
            if kind == "clear":
                text = where / "signed-text"
                sig = self._checker().clearsigned(got, output=text)
                if text.read_bytes() != data.read_bytes():
                    return "the text it signs is not the file's"
            else:
                sig = self._checker().detached(data, got)
        except (PkgfError, InputError) as e:
            return str(e).split(": ", 1)[-1]
        return _judge_signature(sig, self.fingerprint, "01" if kind == "clear" else "00")

    def _reuse_rpms(self, keys: dict[Path, str], v3: bool) -> dict[Path, RpmCheck]:
        """The RPMs of ``keys`` replaced by a verified signed copy from the cache, with rpm's check of it."""
        got: dict[Path, Path] = {}
        for p, key in keys.items():
            copy = self.cache.fetch(key, p.parent / f".{p.name}.cached-{os.getpid()}", note=self._note)
            if copy is not None:
                got[p] = copy
        if not got:
            return {}
        try:
            checks, problems = self._judge_rpms(got, v3)
            taken = {}
            for p, copy in got.items():
                if problems.get(p):
                    self._note(f"signature cache entry {keys[p]} for {p.name} not used: {problems[p]}; "
                               "signing again")
                    self.cache.discard(keys[p])
                    continue
                os.replace(copy, p)
                taken[p] = checks[p]
                self._note(f"{p.name}: signed package taken from the signature cache ({keys[p]}), verified "
                           "with the key")
            self.reused += len(taken)
            return taken
        finally:
            for copy in got.values():
                shutil.rmtree(copy.parent, ignore_errors=True)

    def _judge_rpms(self, got: dict[Path, Path], v3: bool) -> tuple[dict[Path, RpmCheck], dict[Path, str]]:
        """rpm's check of each cached signed copy, and why a copy is not what rpmsign would make
        of the unsigned RPM now."""
        # The main header and the payload are what rpmsign leaves alone: the copy's header must
        # hash to the unsigned package's SHA256HEADER (rpm checks the copy's header and payload
        # digests against it below), and the lead, which nothing signs, must be the same.
        unsigned, copies = list(got), list(got.values())
        headers = _rpm_query(unsigned + copies, "%{SHA256HEADER}", self.log)
        checks = self._checker().rpms(copies)
        want = _KINDS[v3]
        problems = {}
        for p, copy, check in zip(unsigned, copies, checks):
            with open(p, "rb") as a, open(copy, "rb") as b:
                same_lead = a.read(96) == b.read(96)
            if not check.ok:
                problems[p] = f"rpm says {check.reason}"
            elif set(check.signatures) != want:
                problems[p] = f"it has the signatures {', '.join(check.signatures)}, not {', '.join(sorted(want))}"
            elif not all(a.endswith("/SHA256") for a in check.algorithms):
                problems[p] = f"its signatures use {', '.join(check.algorithms)}, not SHA-256"
            elif headers is None or headers[p] in ("", "(none)") or headers[p] != headers[copy] or not same_lead:
                problems[p] = "it is another package (header digest or lead differ)"
        return dict(zip(unsigned, checks)), problems

    def _check_rpm_signatures(self, paths: list[Path], v3: bool) -> dict[Path, RpmCheck]:
        # rpmsign exits 0 for some skipped packages: check what it wrote, with rpm and the key.
        checks = dict(zip(paths, self._checker().rpms(paths)))
        for p, check in checks.items():
            missing = _KINDS[v3] - set(check.signatures)
            if missing:
                what = "v3 header+payload" if missing == {"header+payload"} else "header"
                raise PkgfError(f"{p}: rpmsign left no {what} signature")
            if not check.ok:
                raise PkgfError(f"{p}: rpm cannot verify the signature rpmsign made: {check.reason}")
        return checks


def _judge_signature(sig, fingerprint: str, sig_class: str) -> str | None:
    """What a cached OpenPGP signature must be to stand for a fresh one by ``fingerprint``."""
    if sig.count != 1:
        return f"it holds {sig.count} signatures"
    if sig.fingerprint != fingerprint or sig.primary != fingerprint:
        return f"made by {sig.fingerprint}, not the primary key {fingerprint}"
    if sig.hash_algo != 8:
        return f"digest algorithm {sig.hash_algo}, not SHA-256"
    if sig.sig_class != sig_class:
        return f"signature class {sig.sig_class}, not {sig_class}"
    if sig.expires != 0:
        return "it expires"
    if sig.version != 4:
        return f"a v{sig.version} signature"
    return None


def _rpm_query(paths: list[Path], fmt: str, log: Path | None) -> dict[Path, str] | None:
    """``rpm -qp --qf FMT`` of every path in one call; None when rpm could not read them all."""
    proc = runner.run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", fmt + "\\n", *map(str, paths)],
                      log=log, check=False)
    lines = proc.stdout.split("\n")[:len(paths)]
    if proc.returncode != 0 or len(lines) != len(paths):
        return None
    return dict(zip(paths, (ln.strip() for ln in lines)))


def _existing(path, suffix: str | None = None) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file" if not p.exists() else f"{p}: not a regular file")
    if suffix and p.suffix != suffix:
        raise InputError(f"{p}: not a {suffix} file")
    return p
