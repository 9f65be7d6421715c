"""Real dynamically linked Go binaries from Debian 12 packages, for the inspect benchmark.

The packages named in bench/debian-go-packages.txt are fetched with `apt-get download`
(the machine's own apt sources) and unpacked with `dpkg-deb -x` once, into
<cache dir>/bench/debian-go/; every ELF file there with a PT_INTERP (readelf -l) that
`go version` recognises counts; the debs and everything else are deleted once unpacked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from pkgfactory.cachedir import cache_dir
from pkgfactory.toolpath import find_tool

LIST = Path(__file__).with_name("debian-go-packages.txt")
# The dozen: the binaries the issue first measured (container tools, the go command).
DOZEN = ["usr/sbin/dockerd", "usr/bin/docker", "usr/bin/containerd", "usr/bin/ctr",
         "usr/bin/containerd-shim-runc-v2", "usr/sbin/runc", "usr/bin/podman", "usr/bin/buildah",
         "usr/bin/skopeo", "usr/lib/go-1.19/bin/go", "usr/lib/podman/rootlessport", "usr/lib/cni/bridge"]


def packages() -> list[str]:
    return [ln.strip() for ln in LIST.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def root() -> Path:
    return cache_dir("bench", "debian-go")


def fetch(log=print) -> tuple[Path, list[Path]]:
    """The unpacked tree and its dynamic Go binaries (sorted by path), made on first use.

    Everything else the packages held is deleted: only the binaries are measured.
    """
    tree, done = root() / "tree", root() / "binaries.txt"
    if done.exists():
        lines = done.read_text().splitlines()
        if lines and lines[0] == "packages: " + " ".join(packages()):
            return tree, [tree / ln for ln in lines[1:]]
    if not (root() / "unpacked").exists() or (root() / "unpacked").read_text() != " ".join(packages()):
        debs = root() / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        log(f"fetching {len(packages())} Debian packages into {root()} (once)")
        p = subprocess.run(["apt-get", "download", *packages()], cwd=debs, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"apt-get download failed (apt-get update first?):\n{p.stderr[-2000:]}")
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        for deb in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
        shutil.rmtree(debs)
        (root() / "unpacked").write_text(" ".join(packages()))
    binaries = _dynamic_go_binaries(tree)
    keep = set(binaries)
    for path in sorted(tree.rglob("*"), reverse=True):
        if path.is_symlink() or (path.is_file() and path not in keep):
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    done.write_text("\n".join(["packages: " + " ".join(packages()), *(str(b.relative_to(tree)) for b in binaries)])
                    + "\n")
    return tree, binaries


def _dynamic_go_binaries(tree: Path) -> list[Path]:
    """Every dynamically linked Go executable under ``tree``, sorted by path."""
    go = find_tool("go")
    found = []
    for path in sorted(p for p in tree.rglob("*") if p.is_file() and not p.is_symlink()):
        with open(path, "rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        phdrs = subprocess.run(["readelf", "-l", "-W", str(path)], capture_output=True, text=True).stdout
        if "Requesting program interpreter" not in phdrs:
            continue
        if ": go" in subprocess.run([go, "version", str(path)], capture_output=True, text=True).stdout:
            found.append(path)
    return found
