"""Hostile and broken pkgfactory.toml files, generated, each with what pkgfactory must make of it.

Two sources:

- tests/test_project.py's BAD table (one key of a small valid project set to
  a bad value): reused as it is, loaded in-process; each must be refused.
- NEW below, built on the example project (x86_64 only, centos-7 and
  debian-12, with a small static Go binary) and run through the real CLI,
  `pkgfactory build --builder native`: invalid TOML, wrong types, unknown
  keys, names and versions rpm or deb would reject, install paths that leave
  the package, symlinked and special sources, huge values, and injection
  strings in every text field and source path.

A case is "refused" (exit 2, one line on stderr, no traceback, naming the key;
invalid TOML names the file and line instead) or "inert" (it builds, the text
reads back unchanged from the rpm and the deb, and installing them with rpm
--root / dpkg --root runs their scriptlets without creating any marker).
Injection strings try to `touch /tmp/pkgf-pwned-<n>`: no such file may ever
appear, on the host or in the scratch roots.

A case with ``defect`` set is a known defect outside this corpus's files (the
reason says where): the test expects it to fail until it is fixed.

``run_case`` judges one case and returns None or what went wrong; the tests
and bench/reliability.py both use it.
"""

from __future__ import annotations

import copy
import datetime
import glob
import gzip
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hello_example import EXAMPLE, calls, scratch_root, toml
from test_project import BAD, _DELETE, _set, base, write_project

MARKER = "/tmp/pkgf-pwned-"
TARGETS = ("centos-7", "debian-12")
BIN = "dist/hello-service-x86_64"
BUILD_TIMEOUT = 300  # an inert case builds two packages
REFUSE_TIMEOUT = 10  # a refusal takes under a second: this bounds the cases that hang
CLI_MEMORY = 1 << 30  # address space of a CLI run: a /dev/zero project file must not take the host

@dataclass(frozen=True)
class Case:
    id: str
    expect: str  # "refused" or "inert"
    key: str | None  # the key a refusal names; None: the file (and line) instead
    make: Callable[[Path, Path], Path]  # (case directory, Go binary) -> the project file
    via: str = "cli"  # "load": pkgfactory.project.load in-process; "cli": pkgfactory build --builder native
    defect: str | None = None
    # inert only: {field: value} to read back, and whether a user comment reaches the scriptlets
    expect_text: dict | None = None
    args: tuple[str, ...] = ()  # more `pkgfactory build` options


# --- the example as a base --------------------------------------------------------------------

def example_data() -> dict:
    d = tomllib.loads((EXAMPLE / "pkgfactory.toml").read_text())
    d["build"]["targets"] = list(TARGETS)
    d["build"]["arches"] = ["x86_64"]
    # The corpus builds a prebuilt binary: the example's [go] compile is another test's subject.
    del d["go"]
    del d["binary"][0]["go"]
    d["binary"][0]["source"] = {"x86_64": BIN}
    return d


def example_dir(dest: Path, binary: Path) -> Path:
    """The example's files in ``dest`` with ``binary`` as its x86_64 build; returns the project file path."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "README.md", dest)
    shutil.copytree(EXAMPLE / "packaging", dest / "packaging", dirs_exist_ok=True)
    (dest / "dist").mkdir(exist_ok=True)
    try:
        os.link(binary, dest / BIN)
    except OSError:
        shutil.copy(binary, dest / BIN)
    return dest / "pkgfactory.toml"


def with_data(change: Callable[[dict, Path], None]):
    def make(dest: Path, binary: Path) -> Path:
        f = example_dir(dest, binary)
        data = example_data()
        change(data, dest)
        f.write_text(toml(data))
        return f
    return make


def setting(where: str, value):
    """Set (or with _DELETE remove) a dotted key of the example; list items by index."""
    return with_data(lambda d, _dest: _set(d, where, value))


def settings(*pairs):
    def change(d, _dest):
        for where, value in pairs:
            _set(d, where, value)
    return with_data(change)


def raw(text: bytes):
    def make(dest: Path, binary: Path) -> Path:
        f = example_dir(dest, binary)
        f.write_bytes(text)
        return f
    return make


def appended(text: str):
    """The example file with ``text`` added at the end (TOML-level mistakes)."""
    def make(dest: Path, binary: Path) -> Path:
        f = example_dir(dest, binary)
        f.write_text(toml(example_data()) + text)
        return f
    return make


def text_edit(old: str, new: str):
    """The example file with one snippet replaced: for values the small TOML writer has no syntax for."""
    def make(dest: Path, binary: Path) -> Path:
        f = example_dir(dest, binary)
        text = toml(example_data())
        assert old in text, old
        f.write_text(text.replace(old, new, 1))
        return f
    return make


def special_project_file(kind: str):
    def make(dest: Path, binary: Path) -> Path:
        example_dir(dest, binary)
        f = dest / "pkgfactory.toml"
        if kind == "fifo":
            os.mkfifo(f)
        elif kind == "dev-zero":
            f.symlink_to("/dev/zero")
        elif kind == "loop":
            f.symlink_to(dest / "loop.toml")
            (dest / "loop.toml").symlink_to(f)
        return f
    return make


def source_is(where: str, kind: str):
    """A source that is a symlink to something that is no regular file (or to nothing)."""
    def change(d, dest: Path) -> None:
        link = dest / "special" / "src"
        link.parent.mkdir()
        if kind == "fifo":
            os.mkfifo(dest / "special" / "fifo")
            link.symlink_to(dest / "special" / "fifo")
        elif kind == "dev-zero":
            link.symlink_to("/dev/zero")
        elif kind == "host-secret":
            link.symlink_to("/etc/shadow")
        elif kind == "dangling":
            link.symlink_to(dest / "special" / "nothing")
        elif kind == "loop":
            link.symlink_to(dest / "special" / "src2")
            (dest / "special" / "src2").symlink_to(link)
        elif kind == "directory":
            link.symlink_to("/etc")
        _set(d, where, "special/src")
    return with_data(change)


# --- injection strings ---------------------------------------------------------------------------

def families(n: str) -> dict[str, list[str]]:
    """Per family, strings that would run `touch /tmp/pkgf-pwned-<n>...` if anything evaluated them."""
    m = f"{MARKER}{n}"
    return {
        "rpm-macros": [f"%(touch {m}a)", f'%{{lua: os.execute("touch {m}b")}}', f"%{{expand:%%(touch {m}c)}}",
                       f"%{{?_x:%(touch {m}d)}}", f"%{{shrink:%(touch {m}e)}}"],
        "shell": [f"$(touch {m}a)", f"`touch {m}b`", f"'; touch {m}c; '", f'"; touch {m}d; "', f"; touch {m}e #",
                  f"| touch {m}f", f"&& touch {m}g"],
        "make-substvars": [f"$(shell touch {m}a)", f"$$(touch {m}b)", "${shlibs:Depends}", "${Newline}",
                           "$(MAKE) $(DEST)", "${misc:Depends}"],
        "templates": ["{{ 7*7 }} {% raw %}x{% endraw %}",
                      f"{{{{ cycler.__init__.__globals__.os.system('touch {m}a') }}}}",
                      "{# comment #}", "${{ x }}", "{{ pkg.name|sh }}"],
    }


TEXT_FIELDS = ("package.summary", "package.license", "package.vendor", "package.copyright", "package.maintainer",
               "changelog.0.changes.0", "user.0.comment")


def _value_for(field: str, s: str) -> str:
    if field in ("package.maintainer",):
        return f"Mal {s} <mal@example.com>"
    if field == "user.0.comment":
        return s.replace(":", ";")  # ':' is refused in comments (the passwd separator)
    return s


def injected(family: str, n: str):
    """Every text field gets this family's strings, the description gets all of them, one per line."""
    strings = families(n)[family]

    def change(d, _dest):
        for i, field in enumerate(TEXT_FIELDS):
            value = _value_for(field, " ".join(strings) if field != "package.summary" else strings[i % len(strings)])
            _set(d, field, value)
        d["changelog"][0]["author"] = f"Mal {strings[0]} <mal@example.com>"
        d["package"]["description"] = "Injection test.\n" + "\n".join(strings)
    return with_data(change)


def description_sections(n: str):
    m = f"{MARKER}{n}"
    text = (f"Sections.\n%post\ntouch {m}a\n%prep\ntouch {m}b\n%files\n/etc/shadow\n%changelog\n"
            f"%pre -p <lua>\nos.execute('touch {m}c')\nDepends: evil\nPre-Depends: evil\n %install\n"
            f"%%{{lua: os.execute('touch {m}d')}}\n")
    return setting("package.description", text)


def injected_source_paths(n: str):
    """Sources whose file names would run commands if ever put through a shell, make or rpm macros."""
    m = f"{MARKER}{n}"
    names = {
        "binary.0.source.x86_64": f"inj/$(touch {m}a)/hello",
        "file.0.source": f"inj/%(touch {m}b)/README.md",
        "config.0.source": f"inj/`touch {m}c`/hello.conf",
        "systemd.0.source": f"inj/'; touch {m}d; '/hello-service.service",
        "scripts.postinstall": f"inj/$(shell touch {m}e)/post $x.sh",
    }
    origin = {"binary.0.source.x86_64": BIN, "file.0.source": "README.md", "config.0.source": "packaging/hello.conf",
              "systemd.0.source": "packaging/hello-service.service",
              "scripts.postinstall": "packaging/postinstall.sh"}

    def change(d, dest: Path):
        for key, name in names.items():
            p = dest / name
            p.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(dest / origin[key], p)
            _set(d, key, name)
        d["systemd"][0]["name"] = "hello-service.service"
    return with_data(change)


def unicode_text():
    return settings(("package.summary", "服务 \u202eevil\u202c zero\u200bwidth 🙂 " + "界" * 50),
                    ("package.description", "Ünïcödé\n\u202e right-to-left\n  indented ✓ \u00a0nbsp"),
                    ("package.vendor", "Ḽơᶉëᶆ ȋṕšᶙṁ"), ("user.0.comment", "用户 ☃"))


def huge_text():
    return settings(("package.license", "MIT " * 25_000), ("package.vendor", "v" * 100_000),
                    ("user.0.comment", "c" * 10_000), ("changelog.0.changes", [f"change {i}" for i in range(5_000)]))


def url_metacharacters():
    return setting("package.url", "https://example.com/a;b|c&d(e)!f*g?h=1#frag")


def template_override(name: str, text: str):
    """A project templates dir with one override: template code from the project's author."""
    def change(d, dest: Path) -> None:
        t = dest / "packaging" / "tpl" / name
        t.parent.mkdir(parents=True, exist_ok=True)
        t.write_text(text)
        d["build"]["templates"] = "packaging/tpl"
    return with_data(change)


SSTI = {
    "spec-globals": ("spec/package.spec.j2", "{{{{ cycler.__init__.__globals__.os.system('touch {m}a') }}}}\n"),
    "control-lipsum": ("debian/control.j2", "{{{{ lipsum.__globals__['os'].popen('touch {m}b').read() }}}}\n"),
    "copyright-subclasses": ("debian/copyright.j2",
                             "{{% for c in ''.__class__.__mro__[1].__subclasses__() %}}"
                             "{{% if c.__name__ == 'Popen' %}}{{{{ c(['touch', '{m}c']) }}}}{{% endif %}}"
                             "{{% endfor %}}\n"),
    "postinst-self": ("debian/postinst.j2", "{{{{ self._TemplateReference__context.cycler.__init__"
                                           ".__globals__.os.system('touch {m}d') }}}}\n"),
}


# --- path and name cases -----------------------------------------------------------------------

def with_symlink_then_file_through_it(d, _dest):
    d["symlink"].append({"path": "/usr/share/hello-service/link", "target": "/etc"})
    d["file"].append({"source": "README.md", "dest": "/usr/share/hello-service/link/shadow"})


def dest_through_a_file(d, _dest):
    d["file"].append({"source": "README.md", "dest": "/usr/bin/hello-service/escape"})


def two_entries_same_dest(d, _dest):
    d["file"].append({"source": "README.md", "dest": "/usr/bin/hello-service"})


def name300(d, _dest):
    d["package"]["name"] = "a" * 300


def version300(d, _dest):
    d["package"]["version"] = "1." + "1" * 300
    d["changelog"][0]["version"] = d["package"]["version"] + "-1"


def epoch_huge(d, _dest):
    d["package"]["epoch"] = 2**40
    d["changelog"][0]["version"] = f"{2**40}:1.2.0-1"


def version_newline(d, _dest):
    d["package"]["version"] = "1.2.0\n"


NEW: list[Case] = [
    # invalid TOML: the file and line are named, there is no key yet
    Case("toml-unclosed-table", "refused", None, raw(b"[package\nname = 1\n")),
    Case("toml-duplicate-key", "refused", None, appended('\n[kernel.x]\n[kernel.x]\n')),
    Case("toml-duplicate-table", "refused", None, appended("\n[package]\nname = \"x\"\n")),
    Case("toml-nul-byte", "refused", None, raw(b"[package]\x00\nname = \"x\"\n")),
    Case("toml-unterminated-string", "refused", None, raw(b'[package]\nname = "hello\n')),
    Case("toml-bad-escape", "refused", None, raw(b'[package]\nsummary = "\\q"\n')),
    Case("toml-bom", "refused", None, raw(b"\xef\xbb\xbf[package]\nname = \"x\"\n")),
    Case("toml-not-utf8", "refused", None, raw(b'[package]\nname = "\xff\xfe"\n')),
    Case("toml-deeply-nested", "refused", None, raw(b"a = " + b"[" * 50_000 + b"]" * 50_000 + b"\n")),
    Case("toml-empty-file", "refused", "package", raw(b"")),
    Case("project-file-symlink-loop", "refused", None, special_project_file("loop")),
    Case("project-file-fifo", "refused", None, special_project_file("fifo")),
    Case("project-file-dev-zero", "refused", None, special_project_file("dev-zero")),
    # wrong types
    Case("type-package-is-a-string", "refused", "package", setting("package", "hello")),
    Case("type-name-is-an-int", "refused", "package.name", setting("package.name", 5)),
    Case("type-epoch-is-a-float", "refused", "package.epoch", text_edit("epoch = 0", "epoch = 1.5")),
    Case("type-targets-is-a-string", "refused", "build.targets", setting("build.targets", "centos-7")),
    Case("type-binary-source-is-a-string", "refused", "binary[1].source", setting("binary.0.source", BIN)),
    Case("type-changes-is-a-string", "refused", "changelog[1].changes", setting("changelog.0.changes", "x")),
    Case("type-enable-is-a-string", "refused", "systemd[1].enable", setting("systemd.0.enable", "yes")),
    Case("type-uid-is-a-string", "refused", "user[1].uid", setting("user.0.uid", "1000")),
    Case("type-modules-is-a-string", "refused", "kernel.modules", setting("kernel.modules", "overlay")),
    Case("type-depends-holds-ints", "refused", "relations.depends[1]", setting("relations.depends", [1, 2])),
    Case("type-scripts-is-a-list", "refused", "scripts", setting("scripts", ["post.sh"])),
    Case("type-mode-is-an-int", "refused", "config[1].mode", setting("config.0.mode", 416)),
    Case("type-summary-is-a-list", "refused", "package.summary", setting("package.summary", ["a"])),
    Case("type-date-is-an-int", "refused", "changelog[1].date", setting("changelog.0.date", 12345)),
    # unknown keys: a typo, or a hook that does not exist, is never ignored
    Case("unknown-top-level", "refused", "hooks", setting("hooks", {"prebuild": "touch /tmp/x"})),
    Case("unknown-build-hook", "refused", "build.prebuild", setting("build.prebuild", "sh -c id")),
    Case("unknown-scriptlet", "refused", "scripts.pretrans", setting("scripts.pretrans", "README.md")),
    Case("unknown-binary-key", "refused", "binary[1].strip", setting("binary.0.strip", True)),
    Case("unknown-systemd-key", "refused", "systemd[1].exec", setting("systemd.0.exec", "/bin/sh")),
    Case("unknown-rpm-relation", "refused", "relations.rpm.requires", setting("relations.rpm",
                                                                               {"requires": ["x"]})),
    Case("unknown-package-subtable", "refused", "package.spec", setting("package.spec", {"raw": "%post"})),
    # names and versions one of rpm/deb rejects, or that become options
    Case("name-starts-with-dash", "refused", "package.name", setting("package.name", "-rf")),
    Case("name-with-space", "refused", "package.name", setting("package.name", "hello service")),
    Case("name-non-ascii", "refused", "package.name", setting("package.name", "héllo")),
    Case("name-with-slash", "refused", "package.name", setting("package.name", "../hello")),
    Case("name-with-macro", "refused", "package.name", setting("package.name", "hello%{x}")),
    Case("name-trailing-newline", "refused", "package.name", setting("package.name", "hello-service\n")),
    Case("name-300-characters", "refused", "package.name", with_data(name300)),
    Case("version-shell", "refused", "package.version", setting("package.version", "$(id)")),
    Case("version-macro", "refused", "package.version", setting("package.version", "%{version}")),
    Case("version-trailing-space", "refused", "package.version", setting("package.version", "1.2.0 ")),
    Case("version-trailing-newline", "refused", "package.version", with_data(version_newline)),
    Case("version-300-characters", "refused", "package.version", with_data(version300)),
    Case("release-with-dash", "refused", "package.release", setting("package.release", "1-2")),
    Case("epoch-2-to-the-40", "refused", "package.epoch", with_data(epoch_huge)),
    Case("section-trailing-newline", "refused", "package.section", setting("package.section", "net\n")),
    Case("account-with-colon", "refused", "user[1].name", setting("user.0.name", "root:x")),
    Case("target-traversal", "refused", "build.targets[1]", setting("build.targets", ["../../etc/passwd"])),
    # install paths that leave the package or the file system tree
    Case("dest-dotdot", "refused", "binary[1].dest", setting("binary.0.dest", "/usr/bin/../../etc/shadow")),
    Case("dest-relative-escape", "refused", "binary[1].dest", setting("binary.0.dest", "../../etc/shadow")),
    Case("dest-double-slash", "refused", "binary[1].dest", setting("binary.0.dest", "//etc/shadow")),
    Case("dest-proc", "refused", "binary[1].dest", setting("binary.0.dest", "/proc/self/exe")),
    Case("dest-dev", "refused", "file[1].dest", setting("file.0.dest", "/dev/sda")),
    Case("dest-macro", "refused", "file[1].dest", setting("file.0.dest", "/usr/share/%(id)")),
    Case("dest-glob", "refused", "file[1].dest", setting("file.0.dest", "/usr/share/doc/*")),
    Case("dest-newline-second-path", "refused", "binary[1].dest",
         setting("binary.0.dest", "/usr/share/x\n/etc/shadow")),
    Case("dest-component-300", "refused", "binary[1].dest", setting("binary.0.dest", "/usr/bin/" + "a" * 300)),
    Case("dest-5000-characters", "refused", "binary[1].dest",
         setting("binary.0.dest", "/usr/lib/" + "/".join(["d" * 200] * 25) + "/x")),
    Case("config-outside-etc-via-dotdot", "refused", "config[1].dest",
         setting("config.0.dest", "/etc/../usr/bin/hello-service")),
    Case("file-through-declared-symlink", "refused", "file[2].dest", with_data(with_symlink_then_file_through_it)),
    Case("file-inside-a-file", "refused", "file[2].dest", with_data(dest_through_a_file)),
    Case("same-dest-twice", "refused", "file[2].dest", with_data(two_entries_same_dest)),
    Case("symlink-path-dotdot", "refused", "symlink[1].path", setting("symlink.0.path", "/usr/sbin/../../etc/x")),
    Case("user-shell-relative", "refused", "user[1].shell", setting("user.0.shell", "../../bin/sh")),
    Case("user-home-dotdot", "refused", "user[1].home", setting("user.0.home", "/var/lib/../../root")),
    Case("templates-dir-missing", "refused", "build.templates", setting("build.templates", "../../nowhere")),
    # sources that are symlinks to what is no regular file
    Case("source-symlink-to-dev-zero", "refused", "binary[1].source.x86_64",
         source_is("binary.0.source.x86_64", "dev-zero")),
    Case("source-symlink-to-fifo", "refused", "file[1].source", source_is("file.0.source", "fifo")),
    Case("source-dangling-symlink", "refused", "config[1].source", source_is("config.0.source", "dangling")),
    Case("source-symlink-loop", "refused", "systemd[1].source", source_is("systemd.0.source", "loop")),
    Case("script-symlink-to-directory", "refused", "scripts.postinstall",
         source_is("scripts.postinstall", "directory")),
    # sources from outside the project directory: the build host's files must not be packaged and signed
    Case("source-absolute-host-file", "refused", "file[1].source", setting("file.0.source", "/etc/passwd")),
    Case("source-dotdot-escape", "refused", "config[1].source",
         setting("config.0.source", "../" * 12 + "etc/passwd")),
    Case("source-symlink-to-etc-shadow", "refused", "binary[1].source.x86_64",
         source_is("binary.0.source.x86_64", "host-secret")),
    Case("script-absolute-host-file", "refused", "scripts.postinstall",
         setting("scripts.postinstall", "/etc/profile")),
    Case("templates-dir-outside", "refused", "build.templates", setting("build.templates", "/etc")),
    # template overrides are code: never used unless whoever runs pkgfactory says so ...
    Case("template-override-untrusted", "refused", "build.templates",
         template_override("spec/package.spec.j2", f"Name: x\n%build\ntouch {MARKER}t\n")),
    # ... and even then they cannot reach Python on the host (jinja2 server-side template injection)
    *[Case(f"template-{k}", "refused", "build.templates", template_override(name, text.format(m=MARKER + f"t{i}")),
           args=("--trust-templates",))
      for i, (k, (name, text)) in enumerate(SSTI.items())],
    # huge values that have a limit
    Case("summary-10k", "refused", "package.summary", setting("package.summary", "s" * 10_000)),
    Case("uid-2-to-the-31", "refused", "user[1].uid", setting("user.0.uid", 2**31)),
    Case("source-date-epoch-2-to-the-62", "refused", "build.source_date_epoch",
         setting("build.source_date_epoch", 2**62)),
    # legitimate text that must stay text
    *[Case(f"inert-{fam}", "inert", None, injected(fam, str(i))) for i, fam in enumerate(families("x"))],
    Case("inert-description-sections", "inert", None, description_sections("s")),
    Case("inert-source-paths", "inert", None, injected_source_paths("p")),
    Case("inert-unicode", "inert", None, unicode_text()),
    Case("inert-huge-text", "inert", None, huge_text()),
    Case("inert-url-metacharacters", "inert", None, url_metacharacters()),
]


def _bad_case(i: int, where: str, value, key: str) -> Case:
    def make(dest: Path, _binary: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        data = copy.deepcopy(base())
        _set(data, where, value)
        return write_project(dest, data)
    return Case(f"project-table-{i:03d}-{where}", "refused", key, make, via="load")


def corpus() -> list[Case]:
    return [_bad_case(i, w, v, k) for i, (w, v, k) in enumerate(BAD, 1)] + NEW


# --- judging ---------------------------------------------------------------------------------------

def markers() -> list[str]:
    return sorted(glob.glob(MARKER + "*"))


def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY, CLI_MEMORY))


def cli_build(project: Path, out: Path, timeout: float, args=()) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pkgfactory", "build", "--builder", "native", "-c", str(project), "-o", str(out),
            "--arch", "x86_64", *args]
    for t in TARGETS:
        argv += ["--target", t]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, preexec_fn=_limits,
                              errors="replace")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, -1, "", f"still running after {timeout}s (killed)")


def _refusal_problem(case: Case, project: Path, message: str, code: int) -> str | None:
    if code != 2:
        return f"exit {code}, not 2: {message.strip()[-300:]}"
    lines = message.strip().splitlines()
    if len(lines) != 1 or "Traceback" in message or "internal error" in message:
        return f"not one line: {message.strip()[-300:]}"
    if case.key is None:
        if str(project) not in lines[0]:
            return f"the project file is not named: {lines[0]}"
    elif f"key '{case.key}'" not in lines[0]:
        return f"key '{case.key}' not named: {lines[0]}"
    return None


def _rpmq(rpm: Path, qf: str) -> str:
    return subprocess.run(["rpm", "-qp", "--nosignature", "--qf", qf, str(rpm)], capture_output=True, text=True,
                          check=True).stdout


def _deb_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True,
                          check=True).stdout.rstrip("\n")


def _rpm_description(text: str) -> str:
    # Lines starting with '%' get one leading space in the spec (docs/project-file.md).
    return "\n".join(" " + ln if ln.startswith("%") else ln for ln in text.split("\n"))


def _read_back(project_file: Path, out: Path) -> list[str]:
    """What the packages say must be what the project file said, byte for byte."""
    from debian.debfile import DebFile
    from pkgfactory.project import load

    p = load(project_file)
    pkg = p.package
    (rpm,) = (out / "centos-7" / "x86_64").glob("*.rpm")
    (deb,) = (out / "debian-12" / "x86_64").glob("*.deb")
    problems = []
    rpm_fields = {"SUMMARY": pkg.summary, "LICENSE": pkg.license, "VENDOR": pkg.vendor or "(none)",
                  "PACKAGER": pkg.maintainer, "DESCRIPTION": _rpm_description(pkg.description),
                  "URL": pkg.url or "(none)"}
    for tag, want in rpm_fields.items():
        got = _rpmq(rpm, f"%{{{tag}}}")
        if got != want:
            problems.append(f"rpm {tag}: {got[:120]!r} != {want[:120]!r}")
    flat = lambda s: " ".join(s.split())  # noqa: E731 -- changelog items are wrapped
    changelog = flat(subprocess.run(["rpm", "-qp", "--changelog", str(rpm)], capture_output=True,
                                    text=True).stdout)
    for change in p.changelog[0].changes[:50]:
        if flat(change) not in changelog:
            problems.append(f"rpm changelog lacks {change[:80]!r}")
    if _deb_field(deb, "Maintainer") != pkg.maintainer:
        problems.append(f"deb Maintainer: {_deb_field(deb, 'Maintainer')!r}")
    desc = _deb_field(deb, "Description").split("\n")
    if desc[0] != pkg.summary or [ln[1:] if ln != " ." else "" for ln in desc[1:]] != pkg.description.split("\n"):
        problems.append(f"deb Description differs: {desc[:3]!r}")
    if pkg.url and _deb_field(deb, "Homepage") != pkg.url:
        problems.append("deb Homepage differs")
    with DebFile(str(deb)) as d:
        copyright_file = d.data.get_content("/usr/share/doc/hello-service/copyright").decode()
        deb_changelog = flat(gzip.decompress(d.data.get_content(
            "/usr/share/doc/hello-service/changelog.Debian.gz")).decode())
    if pkg.license not in copyright_file:
        problems.append("deb copyright lacks the license text")
    for change in p.changelog[0].changes[:50]:
        if flat(change) not in deb_changelog:
            problems.append(f"deb changelog lacks {change[:80]!r}")
    scripts = subprocess.run(["rpm", "-qp", "--scripts", str(rpm)], capture_output=True, text=True).stdout
    if p.users and _useradd_comment(scripts) != p.users[0].comment:
        problems.append(f"the rpm %pre does not pass the user comment as one literal argument: "
                        f"{_useradd_comment(scripts)!r}")
    return problems


def _useradd_comment(script: str) -> str | None:
    """The -c argument of the useradd line, as sh would parse it."""
    for line in script.splitlines():
        if line.strip().startswith("useradd "):
            argv = shlex.split(line)
            return argv[argv.index("-c") + 1] if "-c" in argv else None
    return None


def _install_and_remove(out: Path, work: Path, comment: str | None) -> list[str]:
    """Run the scriptlets for real (rpm --root, dpkg --root chroot into scratch roots); nothing may fire,
    and the user comment reaches useradd as text (the stub logs its arguments)."""
    if os.geteuid() != 0:
        return []  # rpm/dpkg --root chroot: the build-time checks above still ran
    problems = []
    (rpm,) = (out / "centos-7" / "x86_64").glob("*.rpm")
    (deb,) = (out / "debian-12" / "x86_64").glob("*.deb")
    for kind, pkg in (("rpm", rpm), ("deb", deb)):
        root = scratch_root(work / f"root-{kind}")
        (root / "tmp").mkdir(exist_ok=True)
        if kind == "rpm":
            steps = [["rpm", "--root", str(root), "--nodeps", "-i", str(pkg)],
                     ["rpm", "--root", str(root), "--nodeps", "-e", "hello-service"]]
        else:
            steps = [["dpkg", "--root", str(root), "--force-depends", "-i", str(pkg)],
                     ["dpkg", "--root", str(root), "--force-depends", "-P", "hello-service"]]
        for argv in steps:
            p = subprocess.run(argv, capture_output=True, text=True)
            if p.returncode != 0:
                problems.append(f"{' '.join(argv[:1] + argv[-2:])}: {p.stderr.strip()[-200:]}")
        logged = calls(root)
        if comment is not None and not any(f" -c {comment} hello" in ln for ln in logged if ln.startswith("useradd")):
            problems.append(f"{kind}: useradd did not get the comment as one argument: "
                            f"{[ln for ln in logged if ln.startswith('useradd')]}")
        inside = [str(f) for f in (root / "tmp").glob("pkgf-pwned-*")]
        if inside:
            problems.append(f"{kind} scriptlets ran injected commands: {inside}")
    return problems


def run_case(case: Case, work: Path, binary: Path) -> str | None:
    """None when the case came out as it must; else what happened instead."""
    work.mkdir(parents=True, exist_ok=True)
    before = set(markers())
    try:
        project = case.make(work / "project", binary)
    except Exception as e:  # noqa: BLE001 -- a broken generator is reported with the case, not for the run
        return f"the case could not be written: {type(e).__name__}: {e}"
    if case.via == "load":
        from pkgfactory.errors import InputError
        from pkgfactory.project import load
        try:
            load(project)
        except InputError as e:
            return _refusal_problem(case, project, str(e), 2)
        except Exception as e:  # noqa: BLE001 -- any other exception is what the corpus looks for
            return f"crashed: {type(e).__name__}: {e}"
        return "loaded, but must be refused"
    out = work / "out"
    p = cli_build(project, out, REFUSE_TIMEOUT if case.expect == "refused" else BUILD_TIMEOUT, case.args)
    fired = sorted(set(markers()) - before)
    if fired:
        return f"injected commands ran on the host: {fired}"
    if case.expect == "refused":
        return _refusal_problem(case, project, p.stderr, p.returncode)
    if p.returncode != 0:
        return f"did not build (exit {p.returncode}): {(p.stderr or p.stdout).strip()[-300:]}"
    from pkgfactory.project import load
    users = load(project).users
    problems = _read_back(project, out) + _install_and_remove(out, work, users[0].comment if users else None)
    fired = sorted(set(markers()) - before)
    if fired:
        problems.append(f"injected commands ran on the host: {fired}")
    return "; ".join(problems) or None


def figures(binary: Path, work: Path, processes: int = 2) -> dict:
    """Every case, two at a time; counts for docs/reliability.md."""
    from concurrent.futures import ThreadPoolExecutor

    cases = corpus()
    for stale in markers():
        os.unlink(stale)
    with ThreadPoolExecutor(processes) as ex:
        results = list(ex.map(lambda c: (c, run_case(c, work / c.id, binary)), cases))
    ok = [c for c, r in results if r is None]
    return {
        "project_files_tried": len(cases),
        "project_files_refused": sum(1 for c in ok if c.expect == "refused"),
        "project_files_inert": sum(1 for c in ok if c.expect == "inert"),
        "project_files_from_test_project": sum(1 for c in cases if c.via == "load"),
        "project_files_failed": {c.id: r for c, r in results if r is not None},
        "project_known_defects": {c.id: c.defect for c in cases if c.defect},
        "markers_found": markers(),
        "date": datetime.date.today().isoformat(),
    }


__all__ = ["Case", "NEW", "corpus", "example_dir", "figures", "markers", "run_case", "_DELETE"]
