"""Stage: a bundle made before from the same inputs, taken from the bundle cache.

A bundle is a function of its inputs (pkgfactory.bundle.inputs): a second run with
the same ones would make the same bytes, so it takes the first run's bundle, its tar
and its unsigned packages instead, and makes no package and no signature. The
bundle is the one made then, byte for byte: its manifest's ``created`` says when
that was, and SHA256SUMS is the same, so a site comparing checksums sees one
delivery, not two. ``--no-cache`` makes a new one.

Entries live in ``~/.cache/pkgfactory/bundles`` (``$PKGF_BUNDLE_CACHE``), one
directory per bundle key: ``bundle/`` (the tree), ``bundle.tar``, ``packages/`` (the
unsigned packages by sha256) and ``entry.json``. They appear whole or not at all,
the least recently used go past ``$PKGF_BUNDLE_CACHE_MB`` (default 4096), and
their files are hard links where the file system allows (the output directory's
and the cache's copy are one file).

Nothing is taken on trust. Before a bundle is reused, the chain an auditor starts
from is checked again, with the key of this run: SHA256SUMS.asc is a good
signature by that key now (an expired or revoked key fails here), every file of
the tree is listed in SHA256SUMS with its sha256 and nothing else is there; the
tar and the packages match what was stored; and what the bundle's signed manifest
and build report say it was made from (package, targets, arches, key, the sha256 of
every input file) is what this run would make it from, so a genuine bundle of other
inputs is not taken for this one. The entry was stored only after the bundle passed
its full self-verification, and SHA256SUMS pins every byte of it. A failing entry
is removed and the bundle made again.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pkgfactory.cachedir import cache_dir, cap_from_env, commit_entry, drop_least_recent, pid_alive
from pkgfactory.digest import sha256_file
from pkgfactory.errors import PkgfError
from pkgfactory.published import make_dir, publish_dir
from pkgfactory.schedule import default_jobs
from pkgfactory.buildreport import REPORT_NAME
from pkgfactory.verify.layout import KEY_FPR, MANIFEST, SUMS, SUMS_SIG, walk_files

DIR_ENV = "PKGF_BUNDLE_CACHE"
CAP_ENV = "PKGF_BUNDLE_CACHE_MB"
DEFAULT_CAP_MB = 4096
SCHEMA = "pkgfactory-bundle-entry/1"
ENTRY, TREE, ARCHIVE, PACKAGES = "entry.json", "bundle", "bundle.tar", "packages"
KEY_FILE = "KEY.gpg"


class Damaged(Exception):
    """An entry that may not be used; the message says why."""


class BundleCache:
    def __init__(self, root: Path | None = None, cap: int | None = None):
        self.root = Path(root or os.environ.get(DIR_ENV) or cache_dir("bundles"))
        self.cap = cap_from_env(CAP_ENV, DEFAULT_CAP_MB) if cap is None else cap

    # -- taking -------------------------------------------------------------

    def take(self, key: str, *, claims: dict, name: str, out_dir: Path, note) -> dict | None:
        """Publish the bundle stored under ``key`` in ``out_dir`` as a run would: its packages,
        then ``<name>.tar``, then ``<name>/``. ``claims`` (pkgfactory.bundle.inputs.bundle_key):
        what the bundle's signed manifest and report must say it was made from, and by which key.
        Returns the entry (its ``report`` is the build report of the run that made it); None when
        there is none or it may not be used (then removed, with ``note`` told why)."""
        entry = self.root / key
        if not (entry / ENTRY).is_file():
            return None
        try:
            meta = self._checked(entry, key, claims, name)
            linked = _link_all(entry, meta, out_dir, name)
        except (Damaged, OSError, ValueError, KeyError, TypeError) as e:
            note(f"bundle cache entry {key} cannot be used ({e}): removed, making the bundle")
            shutil.rmtree(entry, ignore_errors=True)
            return None
        try:
            _publish(linked, out_dir, name)
        finally:
            for tmp in linked.values():
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)
        try:
            os.utime(entry / ENTRY)  # recently used: evicted last
        except OSError:
            pass
        return meta

    def _checked(self, entry: Path, key: str, claims: dict, name: str) -> dict:
        fingerprint = claims["fingerprint"]
        meta = json.loads((entry / ENTRY).read_text())
        if meta.get("schema") != SCHEMA or meta.get("key") != key:
            raise Damaged("written by another pkgfactory or for another key")
        if meta.get("fingerprint") != fingerprint or meta.get("name") != name:
            raise Damaged("made for another key or bundle name")
        stored = [(ARCHIVE, meta["archive"]), *((f"{PACKAGES}/{p['sha256']}", p) for p in meta["packages"])]
        for rel, want in stored:
            if (entry / rel).stat().st_size != want["size"]:
                raise Damaged(f"{rel} is not what was stored")
        listed = _check_tree(entry / TREE, fingerprint)
        wanted = [(entry / rel, want["sha256"], rel) for rel, want in stored]
        wanted += [(entry / TREE / path, digest, f"{path}, against SHA256SUMS") for path, digest in listed.items()]
        # Tens of megabytes: hashlib lets go of the GIL, so the cores share them.
        with ThreadPoolExecutor(max_workers=default_jobs()) as pool:
            for (_p, digest, what), got in zip(wanted, pool.map(lambda w: sha256_file(w[0]), wanted)):
                if got != digest:
                    raise Damaged(f"{what}: not what was stored")
        _check_claims(entry / TREE, claims)
        return meta

    # -- storing ------------------------------------------------------------

    def store(self, key: str, *, tree: Path, archive: Path, out_dir: Path, report: dict, fingerprint: str,
              name: str, created: str) -> None:
        """Keep a published bundle (``tree``, ``archive``) and the unsigned packages ``report`` lists
        (relative to ``out_dir``) under ``key``. A cache that cannot be written is skipped: it costs
        the next run time, never this one its bundle."""
        try:
            make_dir(self.root, "bundle cache", public=False)
            tmp = self.root / f".tmp-{os.getpid()}-{key[:16]}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            _link_tree(tree, tmp / TREE)
            _link(archive, tmp / ARCHIVE)
            (tmp / PACKAGES).mkdir()
            packages = []
            for r in report["results"]:
                src = out_dir / r["artifact"]
                digest = sha256_file(src)
                if not (tmp / PACKAGES / digest).exists():
                    _link(src, tmp / PACKAGES / digest)
                packages.append({"artifact": r["artifact"], "sha256": digest, "size": src.stat().st_size})
            a = tmp / ARCHIVE
            meta = {"schema": SCHEMA, "key": key, "fingerprint": fingerprint, "name": name, "created": created,
                    "stored": int(time.time()), "archive": {"sha256": sha256_file(a), "size": a.stat().st_size},
                    "packages": packages, "report": report}
            commit_entry(tmp, self.root / key, meta, ENTRY)
            self._evict()
        except (OSError, PkgfError):
            shutil.rmtree(self.root / f".tmp-{os.getpid()}-{key[:16]}", ignore_errors=True)

    def _evict(self) -> None:
        entries = []
        for d in self.root.iterdir():
            if d.name.startswith(".tmp-"):
                pid = d.name.split("-")[1]
                if pid.isdigit() and not pid_alive(int(pid)):
                    shutil.rmtree(d, ignore_errors=True)  # a run killed while storing
                continue
            try:
                size = sum(Path(p, f).stat().st_size for p, _d, fs in os.walk(d) for f in fs)
                entries.append(((d / ENTRY).stat().st_mtime, size, d))
            except OSError:
                continue
        drop_least_recent(entries, self.cap)


def _check_tree(tree: Path, fingerprint: str) -> dict[str, str]:
    """SHA256SUMS of ``tree`` once its signature by ``fingerprint`` is good now and it lists
    exactly the files there ({path: sha256}; the caller hashes them)."""
    from pkgfactory.sign.verify import OneKey  # gpgv, only once there is an entry to check

    files, odd = walk_files(tree)
    if odd:
        raise Damaged(f"holds {', '.join(sorted(odd))}")
    if (tree / KEY_FPR).read_text().split() != [fingerprint]:
        raise Damaged(f"{KEY_FPR} names another key")
    with OneKey(tree / KEY_FILE) as key:
        try:
            sig = key.detached(tree / SUMS, tree / SUMS_SIG)
        except PkgfError as e:
            raise Damaged(str(e)) from None
    if sig.primary != fingerprint:
        raise Damaged(f"SHA256SUMS is signed by {sig.primary}")
    listed = {}
    for line in (tree / SUMS).read_text().splitlines():
        digest, _sep, path = line.partition("  ")
        listed[path] = digest
    if set(files) != set(listed) | {SUMS, SUMS_SIG}:
        raise Damaged("its files are not the ones SHA256SUMS lists")
    return listed


def _check_claims(tree: Path, claims: dict) -> None:
    """What the bundle says of itself (its manifest and build report, pinned by SHA256SUMS)
    against what this run would make it from."""
    manifest = json.loads((tree / MANIFEST).read_text())
    said = {"package": manifest.get("package"), "targets": manifest.get("targets"),
            "arches": manifest.get("arches"), "fingerprint": (manifest.get("key") or {}).get("fingerprint")}
    for field, value in said.items():
        if value != claims[field]:
            raise Damaged(f"its manifest's {field} is {value!r}, this run's {claims[field]!r}")
    inputs = json.loads((tree / "reports" / REPORT_NAME).read_text()).get("inputs") or {}
    if sorted(set(inputs.values())) != claims["inputs"]:
        raise Damaged("its build report lists other input files than this run's")


def _link(src: Path, dest: Path) -> None:
    """A hard link, or a copy where the file systems differ or links are refused."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
        os.chmod(dest, os.stat(src).st_mode & 0o777)


def _link_tree(src: Path, dest: Path) -> None:
    files, odd = walk_files(src)
    if odd:
        raise OSError(f"{src} holds {', '.join(sorted(odd))}")
    dest.mkdir(mode=0o755)
    for rel in sorted(files):
        target = dest / rel
        for parent in reversed(target.relative_to(dest).parents[:-1]):
            (dest / parent).mkdir(mode=0o755, exist_ok=True)
        _link(src / rel, target)


def _link_all(entry: Path, meta: dict, out_dir: Path, name: str) -> dict[str, Path]:
    """Every file to publish, linked under a temporary name next to its final one:
    {final path relative to out_dir: temporary path}. Nothing is published yet."""
    pid = os.getpid()
    linked: dict[str, Path] = {}
    try:
        for p in meta["packages"]:
            final = out_dir / p["artifact"]
            make_dir(final.parent, "package directory")
            tmp = final.with_name(f".{final.name}.part-{pid}")
            tmp.unlink(missing_ok=True)
            _link(entry / PACKAGES / p["sha256"], tmp)
            linked[p["artifact"]] = tmp
        tmp = out_dir / f".{name}.tar.part-{pid}"
        tmp.unlink(missing_ok=True)
        _link(entry / ARCHIVE, tmp)
        linked[f"{name}.tar"] = tmp
        stage = out_dir / f".{name}.staging-{pid}"
        shutil.rmtree(stage, ignore_errors=True)
        _link_tree(entry / TREE, stage)
        os.chmod(stage, 0o755)
        linked[name] = stage
    except BaseException:
        for tmp in linked.values():
            shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        raise
    return linked


def _publish(linked: dict[str, Path], out_dir: Path, name: str) -> None:
    """In a run's order: the packages, the tar, the bundle directory last."""
    for rel, tmp in linked.items():
        if rel != name:
            os.replace(tmp, out_dir / rel)
    publish_dir(linked[name], out_dir / name)
