"""pkgfactory.toml: loading, and strict one-line validation errors that name the key."""

from __future__ import annotations

import copy
import datetime
import os

import pytest

from hello_example import EXAMPLE, toml
from pkgfactory.errors import InputError
from pkgfactory.project import build_matrix, load, resolve_targets


def base() -> dict:
    return {
        "package": {
            "name": "demo", "version": "1.0.0", "summary": "Demo service", "description": "A demo.",
            "license": "MIT", "maintainer": "Dee Veloper <dee@example.com>",
        },
        "build": {"targets": ["centos-7", "debian-11"]},
        "binary": [{"dest": "/usr/bin/demo", "source": {"x86_64": "bin/demo-x86_64"}}],
        "file": [{"source": "data.txt", "dest": "/usr/share/demo/data.txt"}],
        "config": [{"source": "demo.conf", "dest": "/etc/demo/demo.conf", "group": "demo", "mode": "0640"}],
        "directory": [{"path": "/var/lib/demo", "owner": "demo", "group": "demo", "mode": "0750"}],
        "symlink": [{"path": "/usr/sbin/demo", "target": "/usr/bin/demo"}],
        "systemd": [{"source": "demo.service"}],
        "user": [{"name": "demo", "comment": "demo daemon"}],
        "scripts": {"postinstall": "post.sh"},
        "relations": {"depends": ["ca-certificates (>= 2020)"],
                      "rpm": {"depends": ["/usr/bin/curl", "perl(Foo::Bar) (>= 1.0)", "libc.so.6()(64bit)"]},
                      "deb": {"depends": ["curl | wget"]}, "targets": {"centos-7": {"depends": ["libselinux"]}}},
        "kernel": {"modules": ["overlay"], "min": "3.10", "max": "6.6"},
        "waiver": [{"target": "centos-7", "code": "cpu-level", "reason": "fleet is x86-64-v2"}],
        "changelog": [
            {"version": "1.0.0-1", "date": datetime.date(2024, 5, 2), "changes": ["Second."]},
            {"version": "0.9.0-1", "date": datetime.date(2024, 1, 2), "changes": ["First."]},
        ],
    }


def write_project(tmp_path, data: dict):
    (tmp_path / "bin").mkdir(exist_ok=True)
    for name in ("bin/demo-x86_64", "bin/demo-aarch64", "data.txt", "demo.conf", "demo.service", "post.sh"):
        (tmp_path / name).write_text("#!/bin/sh\n" if name == "post.sh" else "x\n")
    path = tmp_path / "pkgfactory.toml"
    path.write_text(toml(data))
    return path


def test_example_loads():
    p = load(EXAMPLE / "pkgfactory.toml", check_sources=False)
    assert p.package.name == "hello-service" and p.package.evr == "1.2.0-1"
    assert p.targets == ("centos-7", "kylin-v10-sp3", "uos-v20-desktop", "debian-11", "debian-12")
    assert p.arches == ("x86_64", "aarch64")
    assert p.source_date_epoch == 1732060800  # 2024-11-20T00:00:00Z, the newest changelog entry
    assert [u.name for u in p.users] == ["hello"] and p.all_groups() == ("hello",)
    assert p.configs[0].mode == 0o640 and p.configs[0].noreplace
    profiles = resolve_targets(p)
    matrix = {(prof.id, a) for prof, a in build_matrix(p, profiles)}
    assert matrix >= {("centos-7", "x86_64"), ("debian-12", "aarch64")}


def test_base_project_loads(tmp_path):
    p = load(write_project(tmp_path, base()))
    assert p.binaries[0].sources["x86_64"] == tmp_path / "bin" / "demo-x86_64"  # relative to the file
    assert p.binaries[0].mode == 0o755 and p.files[0].mode == 0o644
    assert p.directories[0].mode == 0o750
    assert p.users[0].group == "demo" and p.users[0].home == "/"
    assert p.scripts.postinstall.text == "#!/bin/sh\n"
    rel = p.relations_for("centos-7", "rpm")
    assert [d.alternatives[0].name for d in rel.depends] == [
        "ca-certificates", "/usr/bin/curl", "perl(Foo::Bar)", "libc.so.6()(64bit)", "libselinux"]
    assert (rel.depends[2].alternatives[0].op, rel.depends[2].alternatives[0].version) == (">=", "1.0")
    deb = p.relations_for("debian-11", "deb")
    assert [a.name for a in deb.depends[1].alternatives] == ["curl", "wget"]
    assert p.kernel.allows("5.10.0-60") and p.kernel.allows("6.6.30") and not p.kernel.allows("6.7")
    assert not p.kernel.allows("3.9")
    assert p.waived("centos-7", "aarch64", "cpu-level") and not p.waived("debian-11", "x86_64", "cpu-level")
    assert p.source_date_epoch == int(datetime.datetime(2024, 5, 2, tzinfo=datetime.timezone.utc).timestamp())


def test_directory_argument_and_overrides(tmp_path):
    data = base()
    data["build"]["source_date_epoch"] = 1234
    utc8 = datetime.timezone(datetime.timedelta(hours=8))
    data["changelog"][0]["date"] = datetime.datetime(2024, 5, 2, 12, 0, tzinfo=utc8)
    write_project(tmp_path, data)
    p = load(tmp_path)  # a directory means its pkgfactory.toml
    assert p.source_date_epoch == 1234
    assert p.changelog[0].date.hour == 4 and p.changelog[0].date.tzinfo == datetime.timezone.utc


def test_description_normalised(tmp_path):
    data = base()
    long = "word " * 30
    data["package"]["description"] = f"\n\n  indented {long}\n{long}\n\n%post  \nend\n\n"
    p = load(write_project(tmp_path, data))
    lines = p.package.description.split("\n")
    assert lines[0].startswith("  indented") and len(lines[0]) > 79  # indented lines are verbatim
    assert all(len(ln) <= 79 for ln in lines[1:])
    assert "%post" in lines and lines[-1] == "end"


def test_symlinked_source_is_followed(tmp_path):
    data = base()
    path = write_project(tmp_path, data)
    real = tmp_path / "elsewhere" / "demo"
    real.parent.mkdir()
    real.write_text("real\n")
    os.remove(tmp_path / "bin" / "demo-x86_64")
    os.symlink(real, tmp_path / "bin" / "demo-x86_64")
    assert load(path).binaries[0].sources["x86_64"] == tmp_path / "bin" / "demo-x86_64"


def test_sources_must_be_under_the_sources_root(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    data = base()
    data["binary"][0]["source"]["x86_64"] = "../dist/demo"
    path = write_project(proj, data)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "demo").write_text("x\n")
    with pytest.raises(InputError, match=r"key 'binary\[1\]\.source\.x86_64'.*is outside .*proj.*--sources-root"):
        load(path)
    # Also when nothing is read yet: the metadata-only load refuses it too.
    with pytest.raises(InputError, match="is outside"):
        load(path, check_sources=False)
    assert load(path, sources_root=tmp_path).binaries[0].sources["x86_64"] == tmp_path / "dist" / "demo"
    # A symlink inside the project to a file outside it is outside.
    data["binary"][0]["source"]["x86_64"] = "bin/demo-x86_64"
    path = write_project(proj, data)
    os.remove(proj / "bin" / "demo-x86_64")
    os.symlink(tmp_path / "dist" / "demo", proj / "bin" / "demo-x86_64")
    with pytest.raises(InputError, match="a symlink to .*dist/demo\\) is outside"):
        load(path)
    with pytest.raises(InputError, match="sources root .*nowhere: not a directory"):
        load(path, sources_root=tmp_path / "nowhere")


def test_check_sources_off(tmp_path):
    path = write_project(tmp_path, base())
    os.remove(tmp_path / "bin" / "demo-x86_64")
    with pytest.raises(InputError):
        load(path)
    assert load(path, check_sources=False).binaries[0].dest == "/usr/bin/demo"


def _set(data, dotted, value):
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[parts[-1]]
    elif isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


_DELETE = object()

# (what to set, value, key the error must name)
BAD = [
    ("package.name", "Hello", "package.name"),
    ("package.name", "a", "package.name"),
    ("package.name", "hello_world", "package.name"),
    ("package.version", "1.2-3", "package.version"),
    ("package.version", "v1.2", "package.version"),
    ("package.version", "1.2_3", "package.version"),
    ("package.version", "1:1.2", "package.version"),
    ("package.version", "1.2^git1", "package.version"),
    ("package.version", "", "package.version"),
    ("package.version", 1, "package.version"),
    ("package.release", "1-2", "package.release"),
    ("package.epoch", -1, "package.epoch"),
    ("package.epoch", "1", "package.epoch"),
    ("package.epoch", True, "package.epoch"),
    ("package.summary", "two\nlines", "package.summary"),
    ("package.summary", "x" * 81, "package.summary"),
    ("package.summary", "esc\x1b[31m", "package.summary"),
    ("package.summary", "  ", "package.summary"),
    ("package.description", "ok\n# heading", "package.description"),
    ("package.description", "para\n.\nmore", "package.description"),
    ("package.description", "tab\there", "package.description"),
    ("package.license", _DELETE, "package.license"),
    ("package.maintainer", "nobody", "package.maintainer"),
    ("package.url", "javascript:alert(1)", "package.url"),
    ("package.url", "https://x/$(touch /tmp/u)", "package.url"),
    ("package.section", "Net Work", "package.section"),
    ("package.nmae", "typo", "package.nmae"),
    ("pacakge", {"name": "x"}, "pacakge"),
    ("binary.0.dest", "usr/bin/demo", "binary[1].dest"),
    ("binary.0.dest", "/usr/bin/../demo", "binary[1].dest"),
    ("binary.0.dest", "/usr//bin/demo", "binary[1].dest"),
    ("binary.0.dest", "/usr/bin/demo/", "binary[1].dest"),
    ("binary.0.dest", "/usr/bin/./demo", "binary[1].dest"),
    ("binary.0.dest", "/usr/bin/my demo", "binary[1].dest"),
    ("binary.0.dest", "/usr/bin/%{_bindir}", "binary[1].dest"),
    ("binary.0.dest", "/usr/bin/de*mo", "binary[1].dest"),
    ("binary.0.dest", "/usr/bin/$(id)", "binary[1].dest"),
    ("binary.0.dest", "/tmp/demo", "binary[1].dest"),
    ("binary.0.dest", "/", "binary[1].dest"),
    ("binary.0.source", {"x86_64": "bin/missing"}, "binary[1].source.x86_64"),
    ("binary.0.source", {"x86_64": "bin"}, "binary[1].source.x86_64"),
    ("binary.0.source", {"amd65": "bin/demo-x86_64"}, "binary[1].source.amd65"),
    ("binary.0.source", {"amd64": "bin/demo-x86_64", "x86_64": "bin/demo-x86_64"}, "binary[1].source.x86_64"),
    ("binary.0.source", {}, "binary[1].source"),
    ("binary.0.mode", "755x", "binary[1].mode"),
    ("binary.0.mode", 755, "binary[1].mode"),
    ("binary.0.extra", 1, "binary[1].extra"),
    ("binary", [], "binary"),
    ("file.0.dest", "/etc/demo/other", "file[1].dest"),
    ("file.0.mode", "0666", "file[1].mode"),
    ("file.0.owner", "nobody", "file[1].owner"),
    ("file.0.dest", "/usr/bin/demo", "file[1].dest"),
    ("file.0.dest", "/usr/bin/demo/inside", "file[1].dest"),
    ("config.0.dest", "/usr/share/demo.conf", "config[1].dest"),
    ("config.0.group", "staff", "config[1].group"),
    ("config.0.noreplace", "yes", "config[1].noreplace"),
    ("directory.0.mode", "0640", "directory[1].mode"),
    ("symlink.0.target", "../my bin", "symlink[1].target"),
    ("symlink.0.path", "/usr/bin/demo", "symlink[1].path"),
    ("systemd.0.source", "demo.conf", "systemd[1].source"),
    ("systemd.0.name", "demo", "systemd[1].name"),
    ("systemd.0.start", "no", "systemd[1].start"),
    ("systemd.0", {"source": "demo.service", "enable": False}, "systemd[1].start"),
    ("systemd.0", {"source": "demo.service", "name": "demo@.service"}, "systemd[1].enable"),
    ("user.0.name", "Demo", "user[1].name"),
    ("user.0.comment", "a:b", "user[1].comment"),
    ("user.0.uid", 0, "user[1].uid"),
    ("user.0.shell", "nologin", "user[1].shell"),
    ("scripts.postinstall", "missing.sh", "scripts.postinstall"),
    ("scripts.post_install", "post.sh", "scripts.post_install"),
    ("relations.depends", ["Foo"], "relations.depends[1]"),
    ("relations.depends", ["foo (>= 1.0"], "relations.depends[1]"),
    ("relations.depends", ["foo (~> 1.0)"], "relations.depends[1]"),
    ("relations.depends", "foo", "relations.depends"),
    ("relations.provides", ["foo (>= 1)"], "relations.provides[1]"),
    ("relations.conflicts", ["a | b"], "relations.conflicts[1]"),
    ("relations.deb.depends", ["perl(Foo::Bar)"], "relations.deb.depends[1]"),
    ("relations.rpm.requires", ["x"], "relations.rpm.requires"),
    ("relations.targets.centos-7.depends", ["bad name"], "relations.targets.centos-7.depends[1]"),
    ("kernel.min", "4.x", "kernel.min"),
    ("kernel.max", "3.2", "kernel.max"),
    ("kernel.modules", ["bad mod"], "kernel.modules[1]"),
    ("waiver.0.reason", _DELETE, "waiver[1].reason"),
    ("waiver.0.arch", "x86-64", "waiver[1].arch"),
    ("waiver.0.code", "no spaces", "waiver[1].code"),
    ("changelog", [], "changelog"),
    ("changelog.0.version", "0.9.0-1", "changelog[1].version"),
    ("changelog.0.version", "1.0.0", "changelog[1].version"),
    ("changelog.0.date", "2024-05-02", "changelog[1].date"),
    ("changelog.0.date", datetime.datetime(2024, 5, 2, 10, 0), "changelog[1].date"),
    ("changelog.1.date", datetime.date(2025, 1, 1), "changelog[2].date"),
    ("changelog.0.changes", [], "changelog[1].changes"),
    ("changelog.0.changes", ["two\nlines"], "changelog[1].changes[1]"),
    ("changelog.0.author", "anonymous", "changelog[1].author"),
    ("build.targets", [], "build.targets"),
    ("build.targets", ["CentOS 7"], "build.targets[1]"),
    ("build.arches", ["aarch64"], "build.arches"),
    ("build.arches", ["arm65"], "build.arches[1]"),
    ("build.arches", ["x86_64", "amd64"], "build.arches[2]"),
    ("build.templates", "no-such-dir", "build.templates"),
    ("build.source_date_epoch", -5, "build.source_date_epoch"),
    ("build", _DELETE, "build"),
]


def _refused(path, key, **kw) -> None:
    with pytest.raises(InputError) as e:
        load(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: key '{key}': "), msg


@pytest.mark.parametrize("where,value,key", BAD, ids=[f"{w}={v!r}"[:60] for w, v, _ in BAD])
def test_bad_input_names_the_key(tmp_path, where, value, key):
    data = copy.deepcopy(base())
    _set(data, where, value)
    _refused(write_project(tmp_path, data), key)


def test_invalid_toml_and_missing_file(tmp_path):
    path = tmp_path / "pkgfactory.toml"
    path.write_text("[package\nname = 1\n")
    with pytest.raises(InputError, match=r"invalid TOML"):
        load(path)
    with pytest.raises(InputError, match=r"project file not found"):
        load(tmp_path / "nope.toml")


def test_unknown_target_refused_when_resolved(tmp_path):
    data = base()
    data["build"]["targets"] = ["centos-7", "windows-11"]
    p = load(write_project(tmp_path, data))
    with pytest.raises(InputError, match=r"key 'build.targets': unknown target 'windows-11'"):
        resolve_targets(p)


def test_unreadable_and_special_sources(tmp_path):
    path = write_project(tmp_path, base())
    os.remove(tmp_path / "data.txt")
    os.mkfifo(tmp_path / "data.txt")
    with pytest.raises(InputError, match=r"key 'file\[1\].source': .* not a regular file"):
        load(path)


def test_example_file_is_documented():
    """Every key the example uses appears in docs/project-file.md."""
    import tomllib

    doc = (EXAMPLE.parent.parent / "docs" / "project-file.md").read_text()
    data = tomllib.loads((EXAMPLE / "pkgfactory.toml").read_text())

    def keys(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from keys(v, f"{prefix}{k}.")
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                for item in v:
                    yield from keys(item, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}"

    for key in set(keys(data)):
        if key.startswith("binary.source."):
            key = "binary.source.<arch>"
        if key.startswith("go.x."):
            key = "go.x.<importpath.name>"
        assert f"`{key}`" in doc, f"{key} is not documented"


@pytest.mark.parametrize("where,value,message", [
    ("package.nmae", "typo", "key 'package.nmae': unknown key (did you mean 'name'?)"),
    ("package.sumary", "x", "key 'package.sumary': unknown key (did you mean 'summary'?)"),
    ("build.arch", ["x86_64"], "key 'build.arch': unknown key (did you mean 'arches'?)"),
    ("scripts.post_install", "post.sh", "key 'scripts.post_install': unknown key (did you mean 'postinstall'?)"),
    ("systemd.0.enabled", True, "key 'systemd[1].enabled': unknown key (did you mean 'enable'?)"),
    ("kernel.module", ["x"], "key 'kernel.module': unknown key (did you mean 'modules'?)"),
    ("relations.dependencies", ["x"], "key 'relations.dependencies': unknown key (did you mean 'depends'?)"),
    ("directorys", [{"path": "/var/lib/x"}], "key 'directorys': unknown key (did you mean 'directory'?)"),
    ("zzz", 1, "key 'zzz': unknown key; known here: binary, build, changelog, config, directory, file, "),
])
def test_unknown_keys_name_the_nearest_known_one(tmp_path, where, value, message):
    data = copy.deepcopy(base())
    _set(data, where, value)
    path = write_project(tmp_path, data)
    with pytest.raises(InputError) as e:
        load(path)
    assert str(e.value).startswith(f"{path}: {message}"), str(e.value)
    # Every key of that table is listed: no documentation file needed (an installed wheel has none).
    assert "docs/" not in str(e.value)
    if where == "zzz":
        assert " package, relations, " in str(e.value)


def test_a_missing_required_table_names_the_key_that_looks_like_it(tmp_path):
    data = copy.deepcopy(base())
    data["pacakge"] = data.pop("package")
    path = write_project(tmp_path, data)
    with pytest.raises(InputError, match=r"key 'package': missing \(required\); is 'pacakge' a typo of it\?"):
        load(path)


def test_go_arch_names_are_ours_everywhere_in_the_project_file(tmp_path):
    data = copy.deepcopy(base())
    data["binary"][0]["source"] = {"amd64": "bin/demo-x86_64", "arm64": "bin/demo-aarch64"}
    data["build"]["arches"] = ["arm64", "amd64"]
    data["waiver"][0]["arch"] = "amd64"
    p = load(write_project(tmp_path, data))
    assert set(p.binaries[0].sources) == {"x86_64", "aarch64"}
    assert p.arches == ("aarch64", "x86_64")
    assert p.waivers[0].arch == "x86_64" and p.waived("centos-7", "x86_64", "cpu-level")


# --- [go] and binary.go -------------------------------------------------------------------------

def go_base() -> dict:
    data = base()
    data["build"]["arches"] = ["x86_64"]
    data["go"] = {"module": ".", "ldflags": "-s -w", "x": {"main.version": "{version}-{release} {commit}"}}
    data["binary"] = [{"dest": "/usr/bin/demo", "go": "./cmd/demo"}]
    return data


def write_go_project(tmp_path, data: dict):
    path = write_project(tmp_path, data)
    (tmp_path / "go.mod").write_text("module example.com/demo\n\ngo 1.22\n")
    (tmp_path / "cmd" / "demo").mkdir(parents=True, exist_ok=True)
    (tmp_path / "nomod").mkdir(exist_ok=True)
    return path


def test_go_project_loads(tmp_path):
    p = load(write_go_project(tmp_path, go_base()))
    assert p.go.module == tmp_path and not p.go.cgo and p.go.toolchain == "go" and p.go.tags == ()
    assert p.go.x == (("main.version", "{version}-{release} {commit}"),)
    (b,) = p.binaries
    assert b.go == "./cmd/demo" and b.sources == {} and b.name == "demo"
    assert p.arches == ("x86_64",)
    # Prebuilt and compiled binaries side by side: the prebuilt ones must have every arch.
    data = go_base()
    data["binary"].append({"dest": "/usr/bin/tool", "source": {"x86_64": "bin/demo-x86_64"}})
    assert [b.go for b in load(write_go_project(tmp_path, data)).binaries] == ["./cmd/demo", None]


GO_BAD = [
    ("binary.0.source", {"x86_64": "bin/demo-x86_64"}, "binary[1].go"),  # both
    ("go", _DELETE, "binary[1].go"),  # go without [go]
    ("binary.0", {"dest": "/usr/bin/demo", "source": {"x86_64": "bin/demo-x86_64"}}, "go"),  # [go] unused
    ("binary.0.go", "cmd/demo", "binary[1].go"),
    ("binary.0.go", "./../demo", "binary[1].go"),
    ("binary.0.go", "./testdata/demo", "binary[1].go"),
    ("binary.0.go", "./.hidden", "binary[1].go"),
    ("binary.0.go", "./missing", "binary[1].go"),
    ("binary.0.go", "example.com/demo/cmd/demo", "binary[1].go"),
    ("build.arches", _DELETE, "build.arches"),
    ("go.module", "..", "go.module"),
    ("go.module", "nomod", "go.module"),
    ("go.module", "no-such-dir", "go.module"),
    ("go.cgo", "yes", "go.cgo"),
    ("go.tags", ["a,b"], "go.tags[1]"),
    ("go.tags", "netgo", "go.tags"),
    ("go.ldflags", "-s -extld=/tmp/evil", "go.ldflags"),
    ("go.ldflags", "--extldflags '-fuse-ld=/tmp/evil'", "go.ldflags"),
    ("go.ldflags", "-X 'main.a=b", "go.ldflags"),
    ("go.ldflags", "-s\n-w", "go.ldflags"),
    ("go.toolchain", "bin/go", "go.toolchain"),
    ("go.x", {"not a symbol": "x"}, "go.x.not a symbol"),
    ("go.x", {"main.version": "{nope}"}, "go.x.main.version"),
    ("go.x", {"main.version": "{version!r}"}, "go.x.main.version"),
    ("go.x", {"main.version": "it's \"quoted\" twice"}, "go.x.main.version"),
    ("go.x", {"main.version": 1}, "go.x.main.version"),
    ("go.compiler", "gccgo", "go.compiler"),
]


@pytest.mark.parametrize("where,value,key", GO_BAD, ids=[f"{w}={v!r}"[:60] for w, v, _ in GO_BAD])
def test_go_bad_input_names_the_key(tmp_path, where, value, key):
    data = copy.deepcopy(go_base())
    _set(data, where, value)
    _refused(write_go_project(tmp_path, data), key, check_sources=False)  # the module is read even then


def test_go_toolchain_and_module_inside_the_tree(tmp_path):
    data = go_base()
    data["go"]["toolchain"] = str(tmp_path / "tools" / "go")
    with pytest.raises(InputError, match=r"key 'go.toolchain': .* is inside the project tree"):
        load(write_go_project(tmp_path, data))
    data["go"]["toolchain"] = "/usr/lib/go-1.22/bin/go"  # elsewhere: the user's own Go
    assert load(write_go_project(tmp_path, data)).go.toolchain == "/usr/lib/go-1.22/bin/go"
    # A module directory that is a symlink out of the project is outside it.
    (tmp_path / "elsewhere").mkdir()
    outside = tmp_path / "elsewhere" / "mod"
    outside.mkdir()
    (outside / "go.mod").write_text("module x\n")
    proj = tmp_path / "proj"
    proj.mkdir()
    os.symlink(outside, proj / "mod")
    data = go_base()
    data["go"]["module"] = "mod"
    with pytest.raises(InputError, match=r"key 'go.module': .*a symlink to .*is outside"):
        load(write_go_project(proj, data))
