"""[[file]] and [[config]] sources that name many files: a directory tree or a glob.

The loader's expansion is checked on its own (sorted, same path rules for
every file, directories owned as documented); then the example with a web
tree, a config directory and a glob is built as rpm and deb and read back
with rpm -qp and dpkg-deb.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hello_example import build_hello, copy_example, edit
from pkgfactory import targets
from pkgfactory.errors import InputError
from pkgfactory.package import build_native, packager_for
from pkgfactory.project import load
from signing_helpers import kill_agent, make_key
from test_project import base, write_project


def sh(*argv) -> str:
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True).stdout


def tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith("/"):
            p.mkdir(exist_ok=True)
        else:
            p.write_text(text)


WEB = {"web/dist/index.html": "<p>hi</p>\n", "web/dist/assets/app.js": "x\n", "web/dist/assets/app.css": "y\n",
       "web/dist/.well-known/security.txt": "z\n", "web/dist/empty/": ""}


def project_with(tmp_path, *entries, key="file", **extra) -> Path:
    data = base()
    data[key] = list(entries) + data.get(key, [])
    data.update(extra)
    return write_project(tmp_path, data)


# --- expansion in the loader --------------------------------------------------------------

def test_directory_source_installs_the_tree_and_owns_its_directories(tmp_path):
    tree(tmp_path, WEB)
    p = load(project_with(tmp_path, {"source": "web/dist/", "dest": "/usr/share/demo/web", "mode": "0640",
                                     "dir_mode": "0750", "group": "demo"}))
    web = [f for f in p.files if f.origin == "file[1]"]
    assert [f.dest for f in web] == ["/usr/share/demo/web/.well-known/security.txt",
                                     "/usr/share/demo/web/assets/app.css", "/usr/share/demo/web/assets/app.js",
                                     "/usr/share/demo/web/index.html"]
    assert {(f.mode, f.owner, f.group) for f in web} == {(0o640, "root", "demo")}
    assert web[1].source == tmp_path / "web/dist/assets/app.css"
    dirs = {d.path: d for d in p.directories if d.origin == "file[1]"}
    assert sorted(dirs) == ["/usr/share/demo/web", "/usr/share/demo/web/.well-known",
                            "/usr/share/demo/web/assets", "/usr/share/demo/web/empty"]
    assert {(d.mode, d.owner, d.group) for d in dirs.values()} == {(0o750, "root", "demo")}
    # Without a trailing slash a directory is a directory too.
    q = load(project_with(tmp_path, {"source": "web/dist", "dest": "/usr/share/demo/web"}))
    assert [f.dest for f in q.files if f.origin == "file[1]"] == [f.dest for f in web]
    assert {d.mode for d in q.directories if d.origin == "file[1]"} == {0o755}


def test_expansion_is_sorted_whatever_the_creation_order(tmp_path):
    names = ["b", "a/z", "a/b", "c/d/e", "B", "_x"]
    for order, sub in ((names, "one"), (list(reversed(names)), "two")):
        for n in order:
            tree(tmp_path / sub, {f"t/{n}": n})
    one = load(project_with(tmp_path, {"source": "one/t/", "dest": "/opt/demo/t"}))
    two = load(project_with(tmp_path, {"source": "two/t/", "dest": "/opt/demo/t"}))
    assert [f.dest for f in one.files][:6] == [f.dest for f in two.files][:6] == sorted(
        f"/opt/demo/t/{n}" for n in names)


def test_glob_source(tmp_path):
    tree(tmp_path, {"packaging/a.tmpl": "a", "packaging/b.tmpl": "b", "packaging/c.txt": "c",
                    "packaging/.hidden.tmpl": "h", "packaging/sub/d.tmpl": "d", "packaging/sub/deeper/e.tmpl": "e"})
    p = load(project_with(tmp_path, {"source": "packaging/*.tmpl", "dest": "/usr/share/demo/templates"}))
    assert [f.dest for f in p.files if f.origin == "file[1]"] == ["/usr/share/demo/templates/a.tmpl",
                                                                  "/usr/share/demo/templates/b.tmpl"]
    assert not [d for d in p.directories if d.origin == "file[1]"]  # a glob's dest is not owned
    p = load(project_with(tmp_path, {"source": "packaging/**/*.tmpl", "dest": "/usr/share/demo/t", "dir_mode": "0700"}))
    assert [f.dest for f in p.files if f.origin == "file[1]"] == [
        "/usr/share/demo/t/a.tmpl", "/usr/share/demo/t/b.tmpl", "/usr/share/demo/t/sub/d.tmpl",
        "/usr/share/demo/t/sub/deeper/e.tmpl"]
    assert {(d.path, d.mode) for d in p.directories if d.origin == "file[1]"} == {
        ("/usr/share/demo/t/sub", 0o700), ("/usr/share/demo/t/sub/deeper", 0o700)}
    # A matched directory is installed as a tree.
    p = load(project_with(tmp_path, {"source": "packaging/s*", "dest": "/usr/share/demo/x"}))
    assert [f.dest for f in p.files if f.origin == "file[1]"] == ["/usr/share/demo/x/sub/d.tmpl",
                                                                  "/usr/share/demo/x/sub/deeper/e.tmpl"]


def test_config_directory_is_all_conffiles(tmp_path):
    tree(tmp_path, {"conf.d/a.conf": "a", "conf.d/b.conf": "b"})
    p = load(project_with(tmp_path, {"source": "conf.d/", "dest": "/etc/demo/conf.d", "noreplace": False},
                          key="config"))
    confs = [c for c in p.configs if c.origin == "config[1]"]
    assert [(c.dest, c.noreplace) for c in confs] == [("/etc/demo/conf.d/a.conf", False),
                                                      ("/etc/demo/conf.d/b.conf", False)]
    assert "/etc/demo/conf.d" in {d.path for d in p.directories}


def test_a_declared_directory_wins_over_the_trees(tmp_path):
    tree(tmp_path, WEB)
    p = load(project_with(tmp_path, {"source": "web/dist/", "dest": "/usr/share/demo/web", "dir_mode": "0700"},
                          directory=[{"path": "/usr/share/demo/web/assets", "mode": "0755"}]))
    modes = {d.path: d.mode for d in p.directories}
    assert modes["/usr/share/demo/web/assets"] == 0o755 and modes["/usr/share/demo/web"] == 0o700


@pytest.mark.parametrize("entry,files,match", [
    ({"source": "web/dist/", "dest": "/usr/share/demo/web"}, {"web/dist/a b.js": "x"},
     r"key 'file\[1\]\.source': '/usr/share/demo/web/a b\.js': component 'a b\.js' has characters"),
    ({"source": "nothing/*.tmpl", "dest": "/usr/share/demo"}, {},
     r"key 'file\[1\]\.source': the pattern 'nothing/\*\.tmpl' matches no file"),
    ({"source": "hollow/", "dest": "/usr/share/demo/h"}, {"hollow/sub/": ""},
     r"key 'file\[1\]\.source': .*hollow holds no files"),
    ({"source": "data.txt/", "dest": "/usr/share/demo/d"}, {},
     r"key 'file\[1\]\.source': .*data\.txt is not a directory"),
    ({"source": "data.txt", "dest": "/usr/share/demo/d.txt", "dir_mode": "0755"}, {},
     r"key 'file\[1\]\.dir_mode': only for a source that is a directory or a glob"),
    ({"source": "web/", "dest": "/usr/share"}, {"web/x": "x"},
     r"key 'file\[1\]\.dest': /usr/share would become the tree's root.*system directory"),
    ({"source": "web/", "dest": "/usr/share/demo/w", "dir_mode": "0644"}, {"web/x": "x"},
     r"key 'file\[1\]\.dir_mode': 0644: a directory needs rwx for its owner"),
    ({"source": "web/", "dest": "/usr/share/demo/w", "owner": "nobody"}, {"web/x": "x"},
     r"key 'file\[1\]\.owner': user 'nobody' is not declared"),
    ({"source": "web/", "dest": "/usr/share/demo"}, {"web/data.txt": "x"},  # file[2]: the base project's data.txt
     r"key 'file\[2\]\.dest': /usr/share/demo/data\.txt is also installed by file\[1\]\.dest"),
])
def test_every_expanded_file_meets_the_path_rules(tmp_path, entry, files, match):
    tree(tmp_path, files)
    path = project_with(tmp_path, entry)
    with pytest.raises(InputError, match=match) as e:
        load(path)
    assert "\n" not in str(e.value)


def test_tree_symlinks_are_followed_confined_and_loops_refused(tmp_path):
    proj = tmp_path / "proj"
    tree(proj, {"web/real/a.txt": "a", "shared/b.txt": "b"})
    os.symlink("../../shared", proj / "web" / "real" / "linked")  # inside the project: followed
    p = load(project_with(proj, {"source": "web/real/", "dest": "/usr/share/demo/w"}))
    assert [f.dest for f in p.files if f.origin == "file[1]"] == ["/usr/share/demo/w/a.txt",
                                                                  "/usr/share/demo/w/linked/b.txt"]
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("s")
    os.symlink(tmp_path / "outside" / "secret", proj / "web" / "real" / "leak")
    with pytest.raises(InputError, match=r"key 'file\[1\]\.source': .*leak \(a symlink to .*outside/secret\) is outside"):
        load(project_with(proj, {"source": "web/real/", "dest": "/usr/share/demo/w"}))
    os.remove(proj / "web" / "real" / "leak")
    os.symlink(tmp_path / "outside", proj / "web" / "real" / "leakdir")
    with pytest.raises(InputError, match=r"key 'file\[1\]\.source': .*leakdir \(a symlink to .*outside\) is outside"):
        load(project_with(proj, {"source": "web/real/", "dest": "/usr/share/demo/w"}))
    os.remove(proj / "web" / "real" / "leakdir")
    os.symlink("..", proj / "web" / "real" / "loop")
    with pytest.raises(InputError, match=r"key 'file\[1\]\.source': .*/loop/real: symlink loop"):
        load(project_with(proj, {"source": "web/real/", "dest": "/usr/share/demo/w"}))
    os.remove(proj / "web" / "real" / "loop")
    os.mkfifo(proj / "web" / "real" / "pipe")
    with pytest.raises(InputError, match=r"key 'file\[1\]\.source': .*pipe is not a regular file"):
        load(project_with(proj, {"source": "web/real/", "dest": "/usr/share/demo/w"}))


def test_two_trees_must_agree_on_a_shared_directory(tmp_path):
    tree(tmp_path, {"a/x/1": "1", "b/x/2": "2"})
    ok = load(project_with(tmp_path, {"source": "a/", "dest": "/opt/demo"}, {"source": "b/", "dest": "/opt/demo"}))
    assert [d.path for d in ok.directories].count("/opt/demo/x") == 1
    with pytest.raises(InputError, match=r"key 'file\[2\]\.dir_mode': directory /opt/demo is also in the tree of file\[1\]"):
        load(project_with(tmp_path, {"source": "a/", "dest": "/opt/demo"},
                          {"source": "b/", "dest": "/opt/demo", "dir_mode": "0700"}))


def test_metadata_only_load_does_not_read_the_tree(tmp_path):
    p = load(project_with(tmp_path, {"source": "not-built-yet/", "dest": "/usr/share/demo/w"}), check_sources=False)
    assert p.files[0].source == tmp_path / "not-built-yet"


def test_bundle_refuses_a_tree_holding_the_passphrase_file(tmp_path):
    key = make_key(tmp_path / "keys")
    pfile = tmp_path / "proj" / "passphrase"
    tree(tmp_path / "proj", {"web/a.txt": "a", "passphrase": "secret\n"})
    os.symlink(pfile, tmp_path / "proj" / "web" / "notes.txt")
    path = project_with(tmp_path / "proj", {"source": "web/", "dest": "/usr/share/demo/web"})
    p = subprocess.run([sys.executable, "-m", "pkgfactory", "bundle", "--builder", "native", "-c", str(path),
                        "-o", str(tmp_path / "out"), "--keys-dir", str(key.home), "--passphrase-file", str(pfile)],
                       capture_output=True, text=True, timeout=120)
    kill_agent(key.home)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "key 'file[1].source'" in p.stderr and "notes.txt is the passphrase file" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


# --- both packagers install them ------------------------------------------------------------

@pytest.fixture(scope="module")
def bulk_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("bulk")
    f = copy_example(root / "p", build_hello(tmp_path_factory.mktemp("go")))
    proj = f.parent
    tree(proj, {**WEB, "conf.d/10-a.conf": "a\n", "conf.d/20-b.conf": "b\n",
                "tmpl/one.tmpl": "1\n", "tmpl/two.tmpl": "2\n", "tmpl/skip.txt": "s\n"})
    edit(f, ("# Kept on upgrade:", '''[[file]]
source = "web/dist/"
dest = "/usr/share/hello-service/web"
mode = "0640"
dir_mode = "0750"
group = "hello"

[[file]]
source = "tmpl/*.tmpl"
dest = "/usr/share/hello-service/templates"

[[config]]
source = "conf.d/"
dest = "/etc/hello-service/conf.d"

[[directory]]
path = "/usr/share/hello-service"

# Kept on upgrade:'''))
    return f


def _build(project: Path, target: str, work: Path) -> Path:
    profile = targets.get(target)
    plan = packager_for(profile).prepare(load(project), profile, "x86_64", work / "w")
    return build_native(plan, log=work / "log", dest_dir=work / "out")


WEB_FILES = ["/usr/share/hello-service/web/.well-known/security.txt", "/usr/share/hello-service/web/assets/app.css",
             "/usr/share/hello-service/web/assets/app.js", "/usr/share/hello-service/web/index.html"]
WEB_DIRS = ["/usr/share/hello-service/web", "/usr/share/hello-service/web/.well-known",
            "/usr/share/hello-service/web/assets", "/usr/share/hello-service/web/empty"]


def test_rpm_installs_trees_and_globs(bulk_project, tmp_path):
    rpm = _build(bulk_project, "centos-7", tmp_path)
    rows = sh("rpm", "-qp", "--nosignature", "--qf",
              "[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]", rpm)
    files = {ln.split()[-1]: ln.split()[:-1] for ln in rows.splitlines()}
    for d in WEB_DIRS:
        assert files[d] == ["drwxr-x---", "root", "hello"], d  # %dir: removed with the package
    for f in WEB_FILES:
        assert files[f] == ["-rw-r-----", "root", "hello"], f
    assert files["/usr/share/hello-service"] == ["drwxr-xr-x", "root", "root"]
    assert files["/usr/share/hello-service/templates/one.tmpl"] == ["-rw-r--r--", "root", "root"]
    assert "/usr/share/hello-service/templates/skip.txt" not in files
    assert "/usr/share/hello-service/templates" not in files  # a glob's dest is not owned
    assert files["/etc/hello-service/conf.d"] == ["drwxr-xr-x", "root", "root"]
    assert files["/etc/hello-service/conf.d/10-a.conf"] == ["-rw-r--r--", "root", "root", "cn"]
    assert sh("rpm", "-qp", "--nosignature", "--configfiles", rpm).split() == [
        "/etc/hello-service/conf.d/10-a.conf", "/etc/hello-service/conf.d/20-b.conf", "/etc/hello-service/hello.conf"]


def test_deb_installs_trees_and_globs(bulk_project, tmp_path):
    deb = _build(bulk_project, "debian-12", tmp_path)
    contents = {ln.split()[-1].rstrip("/"): ln.split()[:2] for ln in sh("dpkg-deb", "-c", deb).splitlines()
                if "->" not in ln}
    for d in WEB_DIRS:
        assert contents["." + d] == ["drwxr-x---", "root/root"], d  # postinst applies root:hello
    for f in WEB_FILES:
        assert contents["." + f] == ["-rw-r-----", "root/root"], f
    assert contents["./usr/share/hello-service/templates/two.tmpl"] == ["-rw-r--r--", "root/root"]
    assert "./usr/share/hello-service/templates/skip.txt" not in contents
    assert sh("dpkg-deb", "-I", deb, "conffiles").split() == [
        "/etc/hello-service/conf.d/10-a.conf", "/etc/hello-service/conf.d/20-b.conf", "/etc/hello-service/hello.conf"]
    postinst = sh("dpkg-deb", "-I", deb, "postinst")
    for path in WEB_DIRS + WEB_FILES:
        assert f"chown root:hello {path}\n" in postinst, path
