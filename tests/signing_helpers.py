"""Keys, RPMs and .debs for the keys/sign/repo tests, made with the real tools.

RSA 4096 keys take seconds to generate, so each kind is generated once per
test process into a template GnuPG home and copied for every test that
wants one (a copy has its own gpg-agent, started on first use).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import textwrap
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pkgfactory.keys import generate_key

PASSPHRASE = "correct horse battery staple 7%"

_templates: dict[tuple, tuple[Path, str]] = {}
_template_root: Path | None = None


@dataclass(frozen=True)
class KeyCopy:
    home: Path
    fingerprint: str
    passphrase: str | None

    def public(self, out: Path, *, armor: bool = True) -> Path:
        args = ["--armor"] if armor else []
        data = subprocess.run(["gpg", "--homedir", str(self.home), "--batch", "--export", "--export-options",
                               "export-minimal", *args, self.fingerprint],
                              check=True, capture_output=True).stdout
        out.write_bytes(data)
        return out


def kill_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)


def _root() -> Path:
    global _template_root
    if _template_root is None:
        # Short: without /run/user/<uid> the agent's sockets live in the home.
        _template_root = Path(tempfile.mkdtemp(prefix="pkgf-tk-", dir="/tmp"))
        atexit.register(_cleanup)
    return _template_root


def _cleanup() -> None:
    for home, _ in _templates.values():
        kill_agent(home)
    if _template_root is not None:
        shutil.rmtree(_template_root, ignore_errors=True)


def make_key(dest: Path, *, passphrase: str | None = None, algorithm: str = "rsa4096",
             name: str = "pkgfactory test", email: str = "test@example.com") -> KeyCopy:
    """A copy in ``dest`` (which must not exist) of a key made once per process."""
    spec = (passphrase, algorithm, name, email)
    if spec not in _templates:
        home = _root() / f"t{len(_templates)}"
        key = generate_key(home, name, email, passphrase, algorithm=algorithm)
        kill_agent(home)
        _templates[spec] = (home, key.fingerprint)
    home, fpr = _templates[spec]
    shutil.copytree(home, dest, ignore=shutil.ignore_patterns("S.*", "*.lock", ".#*"))
    os.chmod(dest, 0o700)
    return KeyCopy(dest, fpr, passphrase)


def bundle_inputs(root: Path, bins: Path) -> tuple[Path, KeyCopy, dict]:
    """What `pkgfactory bundle` needs, in ``root``: the example project (binaries cached in ``bins``),
    a passphrase-protected key, and an environment naming the passphrase file."""
    from hello_example import build_hello, copy_example

    project = copy_example(root / "project", build_hello(bins))
    key = make_key(root / "keys", passphrase=PASSPHRASE)
    pfile = root / "passphrase"
    pfile.write_text(PASSPHRASE + "\n")
    return project, key, dict(os.environ, PKGF_GPG_PASSPHRASE_FILE=str(pfile))


def build_rpm(workdir: Path, name: str = "pkgf-tiny", version: str = "1.0") -> Path:
    """A noarch RPM with one data file and no dependencies but rpmlib()'s."""
    top = workdir / f"rpmbuild-{name}"
    spec = workdir / f"{name}.spec"
    spec.write_text(textwrap.dedent(f"""\
        Name: {name}
        Version: {version}
        Release: 1
        Summary: pkgfactory test package
        License: MIT
        BuildArch: noarch
        %description
        Test package.
        %install
        mkdir -p %{{buildroot}}/usr/share/{name}
        echo hello > %{{buildroot}}/usr/share/{name}/hello.txt
        %files
        /usr/share/{name}/hello.txt
        """))
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_binary_payload w9.gzdio",
                    str(spec)], check=True, capture_output=True)
    (rpm,) = (top / "RPMS" / "noarch").glob("*.rpm")
    return rpm


def host_deb_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True,
                          text=True).stdout.strip()


def build_deb(workdir: Path, name: str = "pkgf-hello", version: str = "1.0-1", arch: str | None = None) -> Path:
    """A .deb (xz members, readable by Debian 11's dpkg) with one script that prints a marker."""
    arch = arch or host_deb_arch()
    root = workdir / f"deb-{name}-{arch}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(textwrap.dedent(f"""\
        Package: {name}
        Version: {version}
        Architecture: {arch}
        Maintainer: pkgfactory tests <test@example.com>
        Description: pkgfactory test package
         Prints a marker.
        """))
    script = root / "usr" / "bin" / name
    script.write_text(f"#!/bin/sh\necho {name}-works\n")
    script.chmod(0o755)
    out = workdir / f"{name}_{version}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(out)],
                   check=True, capture_output=True)
    return out


@contextmanager
def watch_processes(secret: bytes, *, related: bytes | None = None):
    """Polls the command line and environment of our descendants while the block runs.

    Only our own process tree (and, with ``related``, processes whose command
    line contains it, such as a daemonised gpg-agent of our keys dir): other
    jobs on the machine are none of this test's business. Yields ``(leaks,
    seen)``: where ``secret`` showed up, and the program names seen (so a
    test can prove the poller saw the children at all).
    """
    leaks: list[tuple[str, str, bytes]] = []
    seen: set[bytes] = set()
    stop = threading.Event()
    me = os.getpid()

    def ours() -> list[Path]:
        parent = {}
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    stat = (proc / "stat").read_text()
                    parent[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
        found = []
        for pid in parent:
            p, hops = pid, 0
            while p in parent and p != me and p > 1 and hops < 64:
                p, hops = parent[p], hops + 1
            if p == me and pid != me:
                found.append(Path(f"/proc/{pid}"))
            elif related is not None:
                try:
                    if related in Path(f"/proc/{pid}/cmdline").read_bytes():
                        found.append(Path(f"/proc/{pid}"))
                except OSError:
                    pass
        return found

    def poll():
        while not stop.is_set():
            for proc in ours():
                for part in ("cmdline", "environ"):
                    try:
                        blob = (proc / part).read_bytes()
                    except OSError:
                        continue
                    if secret in blob:
                        leaks.append((proc.name, part, blob[:300]))
                    if part == "cmdline" and blob:
                        seen.add(blob.split(b"\0")[0].rsplit(b"/", 1)[-1])

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        yield leaks, seen
    finally:
        stop.set()
        watcher.join()
