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
disappear whole (renamed away before they are deleted), and the least recently used
go past ``$PKGF_BUNDLE_CACHE_MB`` (default 4096). Files are copied in and out, never
linked: an edit of one delivery must not change the cache or another delivery.

Nothing in an entry is taken on trust, entry.json least of all. What is published
is the copy in the output directory, and the copy is what is checked, with the key
of this run, before it takes its final names:

* the tree: SHA256SUMS.asc is a good signature by that key now (an expired or
  revoked key fails here), every file is listed in SHA256SUMS with its sha256 and
  nothing else is there (no symlink, no special file);
* what the tree's signed manifest and build report say it was made from (package,
  targets and arches, key, pkgfactory, builder images, SOURCE_DATE_EPOCH, the sha256
  of every input file) is what this run would make it from: a genuine bundle of
  other inputs is not taken for this one;
* the tar is byte for byte the tar of that tree (pkgfactory.bundle.archive is
  deterministic, so it is made again in memory and compared);
* each unsigned package has the sha256 the signed build report gives it, under the
  name and log that report gives it.

Modes are set as a made bundle's are. A failing entry is removed and the bundle
made again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from pkgfactory.buildreport import REPORT_NAME, BuildResult
from pkgfactory.bundle.archive import normalise_modes, tar_sha256
from pkgfactory.cachedir import cache_dir, cap_from_env, commit_entry, drop_least_recent, remove_orphans, temporary_entry
from pkgfactory.digest import sha256_file
from pkgfactory.errors import PkgfError
from pkgfactory.published import FILE_MODE, make_dir, publish_dir
from pkgfactory.schedule import default_jobs
from pkgfactory.verify.layout import KEY_FPR, MANIFEST, SUMS, SUMS_SIG, walk_files

DIR_ENV = "PKGF_BUNDLE_CACHE"
CAP_ENV = "PKGF_BUNDLE_CACHE_MB"
DEFAULT_CAP_MB = 4096
SCHEMA = "pkgfactory-bundle-entry/2"
ENTRY, TREE, ARCHIVE, PACKAGES = "entry.json", "bundle", "bundle.tar", "packages"
KEY_FILE = "KEY.gpg"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# What a package's result must say the same in the stored report and the bundle's signed one.
_SAME = ("target", "arch", "format", "status", "artifact", "sha256", "size", "log", "build_key")
_RESULT_FIELDS = {f.name for f in dataclasses.fields(BuildResult)}


class Damaged(Exception):
    """An entry that may not be used; the message says why."""


# What a bad entry can raise while it is read and checked (a nested entry.json: RecursionError).
_ENTRY_ERRORS = (Damaged, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, PkgfError)


class Staged:
    """A bundle copied into the output directory under temporary names and checked; nothing has
    its final name until :meth:`publish`. Use as a context manager: what is not published is
    removed."""

    def __init__(self, entry: dict, results: list[BuildResult], out_dir: Path, name: str, parts: dict[str, Path]):
        self.entry, self.results = entry, results
        self._out, self._name, self._parts = out_dir, name, parts

    def publish(self) -> None:
        """In a run's order: the packages, the tar, the bundle directory last."""
        for rel, tmp in self._parts.items():
            if rel != self._name:
                os.replace(tmp, self._out / rel)
        publish_dir(self._parts[self._name], self._out / self._name)
        self._parts = {}

    def __enter__(self) -> "Staged":
        return self

    def __exit__(self, *exc) -> None:
        _discard(self._parts)


class BundleCache:
    def __init__(self, root: Path | None = None, cap: int | None = None):
        self.root = Path(root or os.environ.get(DIR_ENV) or cache_dir("bundles"))
        self.cap = cap_from_env(CAP_ENV, DEFAULT_CAP_MB) if cap is None else cap

    # -- taking -------------------------------------------------------------

    def holds(self, key: str) -> bool:
        return (self.root / key).is_dir()

    def stage(self, key: str, *, claims: dict, delivered, name: str, out_dir: Path, note) -> Staged | None:
        """The bundle stored under ``key``, copied into ``out_dir`` and checked (above); None when
        there is none or it may not be used (then removed, and ``note`` told why). ``claims``
        (pkgfactory.bundle.inputs.bundle_key): what the bundle must say it was made from;
        ``delivered``: the run's path rewriting for reports (pkgfactory.bundle.hostpaths), which
        makes the stored report the signed one."""
        entry = self.root / key
        if not entry.is_dir():
            return None
        if not (entry / ENTRY).is_file():
            self._remove(entry)  # what an interrupted removal leaves; never a stored entry
            return None

        def refuse(why) -> None:
            gone = "removed" if self._remove(entry) else "could not be removed"
            note(f"bundle cache entry {key} cannot be used ({why}): {gone}, making the bundle")

        try:
            meta = _read_entry(entry, key, claims, name)
        except _ENTRY_ERRORS as e:
            refuse(e)
            return None
        try:
            parts = _copy_out(entry, meta, out_dir, name)
        except Damaged as e:
            refuse(e)
            return None
        except (OSError, PkgfError) as e:
            # The output directory's fault as likely as the entry's: keep the entry, and let the
            # run that makes the bundle meet (and report) what is wrong here.
            note(f"bundle cache entry {key} not used: copying it into {out_dir} failed ({e})")
            return None
        try:
            results = _check(parts, meta, claims, delivered, name)
        except _ENTRY_ERRORS as e:
            _discard(parts)
            refuse(e)
            return None
        except BaseException:
            _discard(parts)
            raise
        try:
            os.utime(entry / ENTRY)  # recently used: evicted last
        except OSError:
            pass
        return Staged(meta, results, out_dir, name, parts)

    def _remove(self, entry: Path) -> bool:
        """Rename the entry away, then delete it: no reader ever sees half of one."""
        away = self.root / f".tmp-{os.getpid()}-gone-{entry.name[:16]}-{time.monotonic_ns()}"
        try:
            os.rename(entry, away)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        shutil.rmtree(away, ignore_errors=True)
        return True

    # -- storing ------------------------------------------------------------

    def store(self, key: str, *, tree: Path, archive: Path, out_dir: Path, report: dict, fingerprint: str,
              name: str, created: str) -> None:
        """Keep copies of a published bundle (``tree``, ``archive``) and of the unsigned packages
        ``report`` lists (relative to ``out_dir``) under ``key``. A cache that cannot be written is
        skipped: it costs the next run time, never this one its bundle."""
        tmp = temporary_entry(self.root, key)
        try:
            make_dir(self.root, "bundle cache", public=False)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            _copy_tree(tree, tmp / TREE)
            shutil.copyfile(archive, tmp / ARCHIVE)
            (tmp / PACKAGES).mkdir()
            packages = []
            for r in report["results"]:
                digest = sha256_file(out_dir / r["artifact"])
                if not (tmp / PACKAGES / digest).exists():
                    shutil.copyfile(out_dir / r["artifact"], tmp / PACKAGES / digest)
                packages.append({"artifact": r["artifact"], "sha256": digest})
            meta = {"schema": SCHEMA, "key": key, "fingerprint": fingerprint, "name": name, "created": created,
                    "stored": int(time.time()), "packages": packages, "report": report}
            commit_entry(tmp, self.root / key, meta, ENTRY)
            self._evict()
        except (OSError, PkgfError):
            shutil.rmtree(tmp, ignore_errors=True)

    def _evict(self) -> None:
        remove_orphans(self.root)
        entries = []
        for d in self.root.iterdir():
            if d.name.startswith(".tmp-"):
                continue
            if not (d / ENTRY).is_file():
                self._remove(d)
                continue
            try:
                size = sum(Path(p, f).lstat().st_size for p, _d, fs in os.walk(d) for f in fs)
                entries.append(((d / ENTRY).stat().st_mtime, size, d))
            except OSError:
                continue
        drop_least_recent(entries, self.cap, remove=self._remove)


def _read_entry(entry: Path, key: str, claims: dict, name: str) -> dict:
    """entry.json, refused unless every field has the shape and the names this run expects."""
    meta = json.loads((entry / ENTRY).read_text())
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA or meta.get("key") != key:
        raise Damaged("written by another pkgfactory or for another key")
    if meta.get("fingerprint") != claims["fingerprint"] or meta.get("name") != name:
        raise Damaged("made for another key or bundle name")
    report, packages = meta.get("report"), meta.get("packages")
    if not isinstance(report, dict) or not isinstance(report.get("results"), list) or not isinstance(packages, list):
        raise Damaged("entry.json is not an entry")
    if not (isinstance(report.get("source_date_epoch"), int) and isinstance(report.get("builder"), dict)
            and isinstance(report.get("tool_versions"), dict) and isinstance(report.get("inputs"), dict)
            and isinstance(meta.get("created"), str)):
        raise Damaged("its report is not a build report")
    results = report["results"]
    if not all(isinstance(r, dict) and set(r) - {"ok"} == _RESULT_FIELDS for r in results):
        raise Damaged("its results are not build results")
    if sorted([r["target"], r["arch"]] for r in results) != claims["pairs"]:
        raise Damaged("its packages are not for this run's targets and arches")
    for r in results:
        a = PurePosixPath(r["artifact"]) if isinstance(r["artifact"], str) else None
        if a is None or a.parts[:2] != (r["target"], r["arch"]) or len(a.parts) != 3 or ".." in a.parts \
                or a.name.startswith(".") or not a.name.endswith((".rpm", ".deb")):
            raise Damaged(f"bad package path {r['artifact']!r}")
        if r["log"] != f"logs/{r['target']}-{r['arch']}.log" or r["status"] != "built":
            raise Damaged(f"bad result for {r['target']}/{r['arch']}")
    if sorted(p.get("artifact") for p in packages) != sorted(r["artifact"] for r in results) or \
            not all(isinstance(p.get("sha256"), str) and _HEX64.match(p["sha256"]) for p in packages):
        raise Damaged("its packages are not its results'")
    for rel in [ARCHIVE, *(f"{PACKAGES}/{p['sha256']}" for p in packages)]:
        if not stat.S_ISREG((entry / rel).lstat().st_mode):
            raise Damaged(f"{rel} is not a regular file")
    return meta


def _copy_out(entry: Path, meta: dict, out_dir: Path, name: str) -> dict[str, Path]:
    """Every file to publish, copied next to its final place under a temporary name:
    {final path relative to out_dir: temporary path}."""
    pid = os.getpid()
    parts: dict[str, Path] = {}
    try:
        for p in meta["packages"]:
            final = out_dir / p["artifact"]
            make_dir(final.parent, "package directory")
            parts[p["artifact"]] = _copy_file(entry / PACKAGES / p["sha256"], final.with_name(f".{final.name}.part-{pid}"))
        parts[f"{name}.tar"] = _copy_file(entry / ARCHIVE, out_dir / f".{name}.tar.part-{pid}")
        stage = out_dir / f".{name}.staging-{pid}"
        shutil.rmtree(stage, ignore_errors=True)
        parts[name] = stage
        _copy_tree(entry / TREE, stage)
    except BaseException:
        _discard(parts)
        raise
    return parts


def _check(parts: dict[str, Path], meta: dict, claims: dict, delivered, name: str) -> list[BuildResult]:
    """The checks of the module docstring, on the copies; the results to report."""
    tree = parts[name]
    fingerprint = claims["fingerprint"]
    listed = _check_signature(tree, fingerprint)
    manifest = json.loads((tree / MANIFEST).read_text())
    signed = json.loads((tree / "reports" / REPORT_NAME).read_text())
    _check_claims(manifest, signed, claims)
    if meta["created"] != manifest.get("created"):
        raise Damaged("entry.json's creation time is not its manifest's")
    # Every field of the run's report (paths aside, which the bundle's copy gives relative).
    if json.loads(json.dumps(delivered(meta["report"]))) != signed:
        raise Damaged("its build report is not the one the bundle carries, signed")
    by_target = {(r["target"], r["arch"]): r for r in signed.get("results", [])}
    stored = {(r["target"], r["arch"]): r for r in meta["report"]["results"]}
    if set(by_target) != set(stored) or any(by_target[k].get(f) != r[f] for k, r in stored.items() for f in _SAME):
        raise Damaged("its packages are not the ones its signed build report names")
    digest_of = {p["artifact"]: p["sha256"] for p in meta["packages"]}
    if any(digest_of[r["artifact"]] != r["sha256"] for r in stored.values()):
        raise Damaged("its packages are not the ones its signed build report names")
    wanted = [(tree / path, digest, f"{path} against SHA256SUMS") for path, digest in listed.items()]
    wanted += [(parts[a], d, a) for a, d in digest_of.items()]
    wanted += [(parts[f"{name}.tar"], None, "the tar")]
    # Tens of megabytes: hashlib lets go of the GIL, so the cores share them.
    with ThreadPoolExecutor(max_workers=default_jobs()) as pool:
        tar_made = pool.submit(tar_sha256, tree, name, manifest["source_date_epoch"])
        for (path, digest, what), got in zip(wanted, pool.map(lambda w: sha256_file(w[0]), wanted)):
            if digest is None:
                if got != tar_made.result():
                    raise Damaged("the tar is not the tar of its tree")
            elif got != digest:
                raise Damaged(f"{what}: not what was stored")
    normalise_modes(tree)
    for rel, p in parts.items():
        if rel != name:
            os.chmod(p, FILE_MODE)
    results = [BuildResult(**{k: v for k, v in r.items() if k != "ok"}) for r in meta["report"]["results"]]
    for r in results:
        r.from_cache, r.seconds = True, 0.0
    return results


def _check_signature(tree: Path, fingerprint: str) -> dict[str, str]:
    """SHA256SUMS of ``tree`` once its signature by ``fingerprint`` is good now and it lists
    exactly the files there ({path: sha256}; the caller hashes them)."""
    from pkgfactory.sign.verify import OneKey  # gpgv, only once there is an entry to check

    files, odd = walk_files(tree)
    if odd:
        raise Damaged(f"holds {', '.join(sorted(odd))}")
    if (tree / KEY_FPR).read_text().split() != [fingerprint]:
        raise Damaged(f"{KEY_FPR} names another key")
    with OneKey(tree / KEY_FILE) as key:
        sig = key.detached(tree / SUMS, tree / SUMS_SIG)
    if sig.primary != fingerprint:
        raise Damaged(f"SHA256SUMS is signed by {sig.primary}")
    listed = {}
    for line in (tree / SUMS).read_text().splitlines():
        digest, _sep, path = line.partition("  ")
        listed[path] = digest
    if set(files) != set(listed) | {SUMS, SUMS_SIG}:
        raise Damaged("its files are not the ones SHA256SUMS lists")
    return listed


def _check_claims(manifest: dict, signed_report: dict, claims: dict) -> None:
    """What the bundle says of itself (pinned by SHA256SUMS) against what this run would make it from."""
    said = {"package": manifest.get("package"), "targets": manifest.get("targets"),
            "arches": manifest.get("arches"), "fingerprint": (manifest.get("key") or {}).get("fingerprint"),
            "pkgfactory": manifest.get("pkgfactory"), "builder": manifest.get("builder"),
            "source_date_epoch": manifest.get("source_date_epoch")}
    for field, value in said.items():
        if value != claims[field]:
            raise Damaged(f"its manifest's {field} is {value!r}, this run's {claims[field]!r}")
    inputs = signed_report.get("inputs") or {}
    if sorted(set(inputs.values())) != claims["inputs"]:
        raise Damaged("its build report lists other input files than this run's")


def _copy_file(src: Path, dest: Path) -> Path:
    dest.unlink(missing_ok=True)
    shutil.copyfile(src, dest)
    return dest


def _copy_tree(src: Path, dest: Path) -> None:
    files, odd = walk_files(src)
    if odd:
        raise Damaged(f"{src.name} holds {', '.join(sorted(odd))}")
    dest.mkdir()
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, target)


def _discard(parts: dict[str, Path]) -> None:
    for tmp in parts.values():
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
