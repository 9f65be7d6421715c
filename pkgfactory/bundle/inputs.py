"""The bundle key: one sha256 over everything a bundle's bytes can depend on.

Two runs with equal keys would make the same bundle, so the second may take the
first's from the bundle cache (pkgfactory.bundle.reuse) instead of making it again.
A missed input would ship a stale bundle without a word, so the key errs wide:
the project as loaded (every field, the compiled binaries' records), the content
of every file it names and of its template directory, each profile's file, the
supplied prebuilt packages, the builder images, the key and its keyring, the
options that change output, and pkgfactory itself (every file of the package, the
built-in templates and data included) with the tools and libraries of
``data/bundle_inputs.toml``. Only how a run goes (jobs, progress, verbosity) is left
out. A wide key costs a miss now and then (a touched tool); a narrow one, a wrong
bundle.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import stat
import sys
import tomllib
from pathlib import Path

from pkgfactory import __version__
from pkgfactory.digest import sha256_file
from pkgfactory.digestcache import DigestCache
from pkgfactory.project.select import source_date_epoch

# Bump when what the key covers, or what a cache entry holds, changes.
SCHEMA = "pkgfactory-bundle/1"
_DATA = Path(__file__).resolve().parent.parent / "data" / "bundle_inputs.toml"
_PACKAGE = Path(__file__).resolve().parent.parent
# The public half of a GnuPG home and its settings; random_seed, sockets and the trust
# database change as gpg runs and say nothing about the key.
_KEYRING_FILES = ("pubring.kbx", "pubring.gpg", "gpg.conf", "common.conf")
# How a compile went, not what it made: a cache hit and a fresh compile of the same binary differ here.
_HOW_COMPILED = ("cache", "seconds", "log")


def bundle_key(project, matrix, *, prebuilt: dict, builder, signer, options: dict) -> tuple[str, dict]:
    """(the key, what a bundle made from these inputs says of itself). ``matrix``: (profile, arch)
    pairs; ``prebuilt``: {(target, arch): package file}; ``options``: the run's settings that change
    output (sources_root, trust_templates, source_date_epoch).

    The second is checked against the signed manifest and build report of a bundle before it is
    reused (pkgfactory.bundle.reuse): a bundle of this key signed by this key, but made from other
    inputs (an entry put there, or a bug in the key), is not taken."""
    described = describe(project, matrix, prebuilt=prebuilt, builder=builder, signer=signer, options=options)
    text = json.dumps(described, sort_keys=True, default=str)
    p = project.package
    inputs = {d for f, d in described["files"].items() if Path(f) != project.templates}
    claims = {"package": {"name": p.name, "version": p.version, "release": p.release, "epoch": p.epoch},
              "targets": sorted({t.id for t, _a in matrix}), "arches": sorted({a for _t, a in matrix}),
              "fingerprint": signer.fingerprint, "pkgfactory": __version__, "builder": builder.describe(),
              "source_date_epoch": source_date_epoch(project, options.get("source_date_epoch")),
              "pairs": sorted([t.id, a] for t, a in matrix),
              "inputs": sorted(inputs | {d for _f, d in described["prebuilt"].values()})}
    return hashlib.sha256(text.encode()).hexdigest(), claims


def describe(project, matrix, *, prebuilt: dict, builder, signer, options: dict) -> dict:
    """What :func:`bundle_key` hashes (a test can see what differs between two runs)."""
    data = tomllib.loads(_DATA.read_text())
    digests = DigestCache()
    files = {str(p): _content(p, digests) for p in _project_files(project)}
    digests.save()
    return {
        "schema": SCHEMA,
        "pkgfactory": code_identity(),
        "python": sys.version,
        "libraries": _distributions(),
        "host_tools": {t: _tool(t) for t in data["host_tools"]},
        "host_files": {f: _content(os.path.expanduser(f)) for f in data["host_files"]},
        "project": canonical(dataclasses.replace(project, compile_report=None)),
        "compiled": _compiled(project.compile_report),
        "files": files,
        "pairs": [[p.id, a] for p, a in matrix],
        "targets": {p.id: [canonical(p), _content(p.path)] for p, _a in matrix},  # each profile once
        "prebuilt": {f"{t}/{a}": [str(f), _content(f)] for (t, a), f in sorted(prebuilt.items())},
        "builder": builder.describe(),
        "key": {"fingerprint": signer.fingerprint, "info": canonical(signer.key),
                "keyring": {n: _content(Path(signer.keys_dir) / n) for n in _KEYRING_FILES}},
        "options": {**options, **{v: os.environ.get(v) for v in data["environment"]}},
    }


def canonical(value):
    """``value`` as JSON data that is the same in every process: a repr is not (a frozenset's
    order follows string hashing, which differs per process)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # Path, datetime


def code_identity() -> str:
    """sha256 over every file of the installed pkgfactory (code, data, built-in templates)."""
    return tree_digest(_PACKAGE)


def tree_digest(root: Path) -> str:
    """sha256 over the entries below ``root``: names, kinds, and contents of regular files. A
    symlink counts as what it leads to, as jinja2 and the packagers read it (a file's content, a
    directory's entries), a dangling one by its target text; a FIFO, socket or device by its kind,
    never opened. A directory reached twice (a loop) is entered once; __pycache__ is left out."""
    h = hashlib.sha256()
    for rel, kind, data in _entries(root):
        h.update(b"%s\0%s\0%s\n" % (os.fsencode(rel), kind.encode(), data))
    return h.hexdigest()


def _entries(root: Path):
    seen = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            try:
                st = path.stat()  # through a symlink: what is read is what it leads to
            except OSError:
                yield rel, "dangling link", os.fsencode(os.readlink(path)) if path.is_symlink() else b""
                continue
            if stat.S_ISREG(st.st_mode):
                yield rel, f"file {st.st_mode & 0o111:o}", sha256_file(path).encode()
            else:
                yield rel, f"other {stat.S_IFMT(st.st_mode):o}", b""


def project_sources(project):
    """(key as the project file names it, source path) for every file a package is made from."""
    for i, b in enumerate(project.binaries, 1):
        for arch, src in b.sources.items():
            yield f"binary[{i}].source.{arch}", src
    for kind, items in (("file", project.files), ("config", project.configs), ("systemd", project.units)):
        for i, item in enumerate(items, 1):
            # A directory or glob source is many entries of one table: name that table.
            yield f"{getattr(item, 'origin', '') or f'{kind}[{i}]'}.source", item.source
    for name in ("preinstall", "postinstall", "preremove", "postremove"):
        script = getattr(project.scripts, name)
        if script is not None:
            yield f"scripts.{name}", script.source


def _project_files(project):
    yield project.path  # its sha256 is in the delivered report, so a comment changes the bundle
    yield from (src for _key, src in project_sources(project))
    if project.templates is not None:
        yield project.templates


def _content(path, digests: DigestCache | None = None) -> str | None:
    """sha256 of a file; of a directory, :func:`tree_digest`; None when absent."""
    path = Path(path)
    try:
        if path.is_dir():
            return "dir:" + tree_digest(path)
        return digests.sha256(path) if digests is not None else sha256_file(path)
    except FileNotFoundError:
        return None


def _compiled(report: dict | None):
    if not report:
        return None
    binaries = [{k: v for k, v in b.items() if k not in _HOW_COMPILED} for b in report.get("binaries", [])]
    return {**report, "binaries": binaries}


def _tool(name: str):
    found = shutil.which(name)
    if found is None:
        return None
    real = os.path.realpath(found)
    st = os.stat(real)
    return [real, st.st_size, st.st_mtime_ns]


def _distributions() -> list[str]:
    """Every installed Python distribution as its dist-info directory names it (name-version):
    the libraries that write into a bundle, and the ones those use (cyclonedx's serializers)."""
    found = set()
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as it:
                found.update(e.name for e in it if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return sorted(found)
