"""`pkgfactory inspect` on real Go binaries and system ELFs, checked against Go's and binutils' own readers."""

import hashlib
import json
import re
import shutil
import subprocess

import pytest

import gobuild
from fixtures_go import run_cli


def go_version_m(path) -> dict:
    """`go version -m -json`, mapped onto our key names."""
    raw = json.loads(subprocess.run([gobuild.go(), "version", "-m", "-json", str(path)], capture_output=True,
                                    text=True, check=True).stdout)

    def mod(m):
        if m is None:
            return None
        d = {"path": m.get("Path", ""), "version": m.get("Version", ""), "sum": m.get("Sum", "")}
        if m.get("Replace"):
            d["replace"] = mod(m["Replace"])
        return d

    return {
        "version": raw["GoVersion"],
        "path": raw.get("Path", ""),
        "main": mod(raw.get("Main")) if raw.get("Main", {}).get("Path") else None,
        "deps": [mod(d) for d in raw.get("Deps") or []],
        "settings": {s["Key"]: s.get("Value", "") for s in raw.get("Settings") or []},
    }


def inspect_json(*paths) -> list[dict]:
    r = run_cli("inspect", "--json", *paths)
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_go_fields_equal_go_version_m(go_binaries):
    docs = inspect_json(*go_binaries.values())
    assert len(docs) == len(go_binaries)
    for doc, path in zip(docs, go_binaries.values()):
        assert doc["go"] == go_version_m(path), path


def test_deps_replace_and_quoted_settings(go_binaries):
    (doc,) = inspect_json(go_binaries["stripped"])
    go = doc["go"]
    deps = {d["path"]: d for d in go["deps"]}
    assert deps["example.com/greet"]["version"] == "v1.2.3"
    assert deps["example.com/greet"]["sum"].startswith("h1:")
    assert deps["example.com/local/shout"]["replace"]["path"] == "./local/shout"
    # Go quotes this value in the binary; we must hand back the unquoted text.
    assert go["settings"]["-ldflags"] == "-s -w -X main.version=1.0"
    assert re.fullmatch(r"[0-9a-f]{40}", go["settings"]["vcs.revision"])
    assert doc["stripped"] is True


EXPECTED = {
    # variant: (arch, linkage, pie, interpreter)
    "static": ("x86_64", "static", False, None),
    "stripped": ("x86_64", "static", False, None),
    "pie": ("x86_64", "dynamic", True, "/lib64/ld-linux-x86-64.so.2"),
    "arm64": ("aarch64", "static", False, None),
    "loong64": ("loongarch64", "static", False, None),
    "mips64le": ("mips64el", "static", False, None),
    "cgo-host": ("x86_64", "dynamic", False, "/lib64/ld-linux-x86-64.so.2"),
    "cgo-zig217": ("x86_64", "dynamic", False, "/lib64/ld-linux-x86-64.so.2"),
}


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_elf_facts(go_binaries, variant):
    (doc,) = inspect_json(go_binaries[variant])
    arch, linkage, pie, interp = EXPECTED[variant]
    assert (doc["arch"], doc["linkage"], doc["pie"], doc["interpreter"]) == (arch, linkage, pie, interp)
    assert doc["upx"] is False
    data = go_binaries[variant].read_bytes()
    assert doc["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["size"] == len(data)


def test_cgo_glibc_floors(go_binaries):
    host, zig = inspect_json(go_binaries["cgo-host"], go_binaries["cgo-zig217"])
    assert "libc.so.6" in host["needed"]
    assert host["glibc_max"] == "2.34"  # pthread_* moved into libc in 2.34; the host has 2.36
    assert tuple(map(int, zig["glibc_max"].split("."))) <= (2, 17)
    assert zig["symbol_versions"]["GLIBC"] == sorted(zig["symbol_versions"]["GLIBC"],
                                                     key=lambda v: tuple(map(int, v.split("."))))


def test_loongarch_binary_is_new_world(go_binaries):
    (doc,) = inspect_json(go_binaries["loong64"])
    assert doc["e_flags"] & 0xC0 == 0x40  # EF_LOONGARCH_OBJABI_V1
    assert doc["go"]["settings"]["GOARCH"] == "loong64"


def readelf_version_needs(path) -> dict[str, set[str]]:
    out = subprocess.run(["readelf", "-V", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    needs: dict[str, set[str]] = {}
    section = out.split("Version needs section", 1)[1] if "Version needs section" in out else ""
    for name in re.findall(r"Name: (\S+)\s+Flags", section):
        fam, _, ver = name.rpartition("_")
        if ver and re.fullmatch(r"\d+(\.\d+)*", ver):
            needs.setdefault(fam, set()).add(ver)
        else:
            needs.setdefault(name, set())
    return needs


@pytest.mark.parametrize("system_binary", ["/bin/ls", "/usr/bin/gpg", "/usr/bin/rpm"])
def test_system_elf_matches_readelf(system_binary):
    path = shutil.which(system_binary) or system_binary
    (doc,) = inspect_json(path)
    assert doc["go"] is None
    assert doc["linkage"] == "dynamic"
    ours = {k: set(v) for k, v in doc["symbol_versions"].items()}
    assert ours == readelf_version_needs(path)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                        subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout)
    assert doc["needed"] == needed


def test_human_summary(go_binaries):
    r = run_cli("inspect", go_binaries["stripped"])
    assert r.code == 0
    assert "go1." in r.out and "example.com/greet" in r.out and "static" in r.out


def test_big_binary_is_streamed_not_loaded(go_binaries, tmp_path):
    """A 150 MB binary must not raise peak memory by more than ~50 MB."""
    import subprocess as sp
    import sys

    src = go_binaries["static"].read_bytes()
    big = tmp_path / "big"
    with open(big, "wb") as f:
        f.write(src)
        block = (src * (1 + (1 << 24) // len(src)))[: 1 << 24]
        while f.tell() < 150 << 20:
            f.write(block)
    probe = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],capture_output=True,check=True);"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")

    def peak(*args):
        return int(sp.run([sys.executable, "-c", probe, sys.executable, "-m", "pkgfactory", *args],
                          capture_output=True, text=True, check=True).stdout)

    grown_kib = peak("inspect", "--json", str(big)) - peak("--version")
    assert grown_kib < 50 * 1024, f"peak memory grew by {grown_kib} KiB"
