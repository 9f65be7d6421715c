"""Read ``pkgfactory.toml`` into a validated :class:`Project`, or fail on one line.

Strict on purpose: unknown keys, wrong types, names or versions that one of
rpm/deb would reject, paths that leave the package, and sources that are not
regular files are refused here, before any tool runs.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from datetime import date, datetime, time, timezone
from pathlib import Path

from pkgfactory.errors import InputError, not_utf8
from pkgfactory.project import expand, rules
from pkgfactory.project.model import (
    RELATION_KINDS, Alternative, Binary, ChangelogEntry, Config, Dep, Directory, File, Go, Group, Kernel,
    Package, Project, Relations, Script, Scripts, Symlink, Unit, User, Waiver,
)
from pkgfactory.project.reader import Table
from pkgfactory.targets import canonical_arch
from pkgfactory.versions import parse_version

FILE_NAME = "pkgfactory.toml"
# rpmbuild reads scriptlet files in 8 KiB chunks and expands macros per chunk
# (rpm build/files.c): a '%%' split across chunks would break. Lines are far
# shorter than this in any real script.
_MAX_SCRIPT_LINE = 2000


MAX_PROJECT_FILE = 1024 * 1024


def load(path: str | os.PathLike, *, check_sources: bool = True,
         sources_root: str | os.PathLike | None = None) -> Project:
    """Load and validate a project file (or a directory holding ``pkgfactory.toml``).

    ``check_sources=False`` skips the existence checks of source files, for
    commands that only read metadata before the binaries are built; a
    directory or glob source is then one entry, not expanded.

    Every source (and the templates directory) must lie, after symlinks are
    followed, under ``sources_root``: the project file's directory unless
    given. A project file from someone else could otherwise package
    ``/etc/shadow`` or ``~/.ssh`` of the build host and have it signed.
    """
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    label = str(path)
    root = _sources_root(sources_root if sources_root is not None else path.absolute().parent)
    try:
        # O_NONBLOCK: a FIFO must not hang us; only a regular file of sane size is read.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise InputError(f"{label}: project file is not a regular file")
            if st.st_size > MAX_PROJECT_FILE:
                raise InputError(f"{label}: project file is larger than {MAX_PROJECT_FILE // 1024} KiB")
            raw = f.read(MAX_PROJECT_FILE + 1)
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{label}: project file not found") from None
    except OSError as e:
        raise InputError(f"{label}: cannot read project file: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise not_utf8(label, e) from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{label}: invalid TOML: {e}") from None
    except RecursionError:
        raise InputError(f"{label}: invalid TOML: nested too deeply") from None
    return _Loader(path.absolute(), label, check_sources, root).project(Table(data, "", label))


def _sources_root(root: str | os.PathLike) -> Path:
    real = Path(os.path.realpath(root))
    if not real.is_dir():
        raise InputError(f"sources root {root}: not a directory")
    return real


class _Loader:
    def __init__(self, path: Path, label: str, check_sources: bool, sources_root: Path):
        self.path, self.label, self.check_sources = path, label, check_sources
        self.root = path.parent
        self.sources_root = sources_root

    # --- top level -------------------------------------------------------

    def project(self, top: Table) -> Project:
        package = self.package(top.table("package", required=True))
        go = self.go(top.table("go")) if top.has("go") else None
        binaries = tuple(self.binary(t, go) for t in top.tables("binary"))
        if not binaries:
            raise top.error("binary", "at least one [[binary]] is required")
        if go is not None and not any(b.go for b in binaries):
            raise top.error("go", "[go] is set but no [[binary]] names a package with go = \"./cmd/...\" "
                            "(remove [go], or compile a binary from it)")
        build = top.table("build", required=True)
        targets = build.strings("targets", required=True, check=rules.match(rules.TARGET_ID, "target id"))
        arches = self.arches(build, binaries)
        templates = build.get("templates", str, default=None, check=self.directory_source)
        sde = build.get("source_date_epoch", int, default=None, check=_non_negative)
        xz_level = build.get("xz_level", int, default=None, check=_xz_level)
        build.done()

        users = tuple(self.user(t) for t in top.tables("user"))
        groups = tuple(self.group(t) for t in top.tables("group"))
        changelog = self.changelog(top, package)
        files, configs, tree_dirs = [], [], []
        for kind, cls, into in (("file", File, files), ("config", Config, configs)):
            for t in top.tables(kind):
                entries, dirs = self.file(t, cls)
                into.extend(entries)
                tree_dirs.extend(dirs)
        declared = [self.directory(t) for t in top.tables("directory")]
        project = Project(
            path=self.path,
            package=package,
            binaries=binaries,
            targets=targets,
            arches=arches,
            changelog=changelog,
            files=tuple(files),
            configs=tuple(configs),
            directories=_merge_directories(declared, tree_dirs, top),
            symlinks=tuple(self.symlink(t) for t in top.tables("symlink")),
            units=tuple(self.unit(t) for t in top.tables("systemd")),
            users=users,
            groups=groups,
            scripts=self.scripts(top.table("scripts")),
            relations=self.relations(top.table("relations")),
            kernel=self.kernel(top.table("kernel")),
            waivers=tuple(self.waiver(t) for t in top.tables("waiver")),
            templates=Path(templates) if templates else None,
            source_date_epoch=sde if sde is not None else int(changelog[0].date.timestamp()),
            xz_level=xz_level,
            go=go,
        )
        top.done()
        _check_accounts(project, top)
        _check_paths(project, top)
        return project

    def package(self, t: Table) -> Package:
        pkg = Package(
            name=t.get("name", str, check=rules.package_name),
            version=t.get("version", str, check=rules.version),
            release=t.get("release", str, default="1", check=rules.release),
            epoch=t.get("epoch", int, default=0, check=_non_negative),
            summary=t.get("summary", str, check=lambda s: rules.one_line(s, max_len=80)),
            description=t.get("description", str, check=rules.description),
            license=t.get("license", str, check=rules.one_line),
            maintainer=t.get("maintainer", str, check=rules.person),
            vendor=t.get("vendor", str, default=None, check=rules.one_line),
            url=t.get("url", str, default=None, check=rules.url),
            section=t.get("section", str, default="misc", check=rules.match(re.compile(r"^[a-z0-9/_-]+$"), "section")),
            copyright=t.get("copyright", str, default=None, check=rules.one_line),
        )
        t.done()
        return pkg

    def arches(self, build: Table, binaries: tuple[Binary, ...]) -> tuple[str, ...]:
        prebuilt = [b for b in binaries if b.go is None]
        have = tuple(prebuilt[0].sources) if prebuilt else ()
        # Go's names (amd64, arm64, ...) become ours here, as everywhere an arch is given.
        wanted = build.strings("arches", check=canonical_arch)
        for i, a in enumerate(wanted, 1):
            if a in wanted[:i - 1]:
                raise build.error(f"arches[{i}]", f"{a} is listed twice")
            if any(a not in b.sources for b in prebuilt):
                raise build.error("arches", f"{a} has no binary: every [[binary]] with a source table needs "
                                  f"source.{a}")
        if not wanted and not prebuilt:
            raise build.error("arches", "missing: required when every [[binary]] is compiled from go "
                              "(there is no source table to take the arches from)")
        return wanted or have

    # --- payload ---------------------------------------------------------

    def binary(self, t: Table, go: Go | None) -> Binary:
        if t.has("go"):
            return self.go_binary(t, go)
        src = t.table("source", required=True)
        sources = {}
        given = {}
        for key in src.data:
            try:
                arch = canonical_arch(key)
            except ValueError as e:
                raise src.error(key, str(e)) from None
            if arch in sources:
                raise src.error(key, f"{arch} is given twice (as '{given[arch]}' and '{key}')")
            given[arch] = key
            sources[arch] = Path(src.get(key, str, check=self.source))
        if not sources:
            raise t.error("source", "give at least one arch = path")
        b = Binary(dest=t.get("dest", str, check=rules.install_path),
                   mode=t.get("mode", str, default="0755", check=_mode(False)),
                   sources=sources)
        t.done()
        return b

    def go_binary(self, t: Table, go: Go | None) -> Binary:
        if t.has("source"):
            raise t.error("go", "a [[binary]] has either source (prebuilt files) or go (compiled from the "
                          "module), never both")
        if go is None:
            raise t.error("go", "compiling needs a [go] table naming the module (every key has a default: "
                          "[go] alone compiles the module in the project file's directory)")
        b = Binary(dest=t.get("dest", str, check=rules.install_path),
                   mode=t.get("mode", str, default="0755", check=_mode(False)),
                   sources={},
                   go=t.get("go", str, check=lambda v: self.go_package(v, go.module)))
        t.done()
        return b

    def go_package(self, value: str, module: Path) -> str:
        """``.`` or ``./dir/...``: a package directory of the module, as ``go build`` is given it."""
        rules.one_line(value)
        if not rules.GO_PACKAGE.fullmatch(value):
            raise ValueError(f"{value!r} is not a package directory of the module like \"./cmd/app\" or \".\" "
                             "(no '..'; no directory Go ignores: names starting with '.' or '_', testdata)")
        path = Path(os.path.normpath(module / value))
        self.confine(path)
        if not path.is_dir():  # the module is read even by metadata-only loads: compile runs before build
            raise ValueError(f"{path} is not a directory")
        return value

    # --- [go] ----------------------------------------------------------------

    def go(self, t: Table) -> Go:
        module = Path(t.get("module", str, default=".", check=self.directory_source))
        if not (module / "go.mod").is_file():
            raise t.error("module", f"{module} holds no go.mod (the module directory, relative to the project "
                          "file)")
        x = t.table("x")
        injections = []
        for name in x.data:
            try:
                rules.match(rules.GO_SYMBOL, "-X name: importpath.name, like main.version")(name)
            except ValueError as e:
                raise x.error(name, str(e)) from None
            injections.append((name, x.get(name, str, check=rules.go_x_value)))
        x.done()
        g = Go(module=module,
               cgo=t.get("cgo", bool, default=False),
               tags=t.strings("tags", check=rules.match(rules.GO_TAG, "build tag (letters, digits, '_', '.')")),
               ldflags=t.get("ldflags", str, default="", check=rules.go_ldflags),
               toolchain=t.get("toolchain", str, default="go", check=self.go_toolchain),
               x=tuple(injections))
        t.done()
        return g

    def go_toolchain(self, value: str) -> str:
        """A command name (found next to pkgfactory, then on PATH) or an absolute path outside the project.

        A toolchain inside the project tree would be a program from the project file's author
        that this host runs; the project file is data, never code.
        """
        rules.one_line(value)
        if "/" not in value:
            return value
        if not value.startswith("/"):
            raise ValueError(f"{value!r}: give a command name (go) or an absolute path")
        tree = Path(os.path.realpath(self.root))
        if Path(os.path.realpath(value)).is_relative_to(tree):
            raise ValueError(f"{value} is inside the project tree ({tree}): a toolchain there is a program "
                             "from the project's author; install it elsewhere and point at it")
        return value

    def file(self, t: Table, cls) -> tuple[list, list[Directory]]:
        """One [[file]]/[[config]] table: its files, and the directories a tree source makes the package own."""
        value = t.get("source", str, check=rules.one_line)
        kw = dict(
            dest=t.get("dest", str, check=rules.install_path),
            mode=t.get("mode", str, default="0644", check=_mode(False)),
            owner=t.get("owner", str, default="root", check=rules.account),
            group=t.get("group", str, default="root", check=rules.account),
            origin=t.key,
        )
        dir_mode = t.get("dir_mode", str, default=None, check=_mode(True))
        if cls is Config:
            kw["noreplace"] = t.get("noreplace", bool, default=True)
            if not kw["dest"].startswith("/etc/"):
                raise t.error("dest", "config files must be under /etc/ (Debian policy 10.7.2: conffiles live in /etc)")
        elif kw["dest"].startswith("/etc/"):
            raise t.error("dest", "files under /etc/ must be declared as [[config]] (kept on upgrade)")
        t.done()
        path = Path(os.path.normpath(self.root / value))
        if not expand.names_many(value, path):
            if dir_mode is not None:
                raise t.error("dir_mode", "only for a source that is a directory or a glob")
            return [cls(source=Path(self.checked(t, "source", self.source, value)), **kw)], []
        if not expand.is_glob(value) and kw["dest"] in rules.SHARED_DIRS:
            raise t.error("dest", f"{kw['dest']} would become the tree's root, owned by this package (with its "
                          "dir_mode), but it is a system directory: install the tree into a directory of its own")
        if not self.check_sources:
            if not expand.is_glob(value):
                self.checked(t, "source", self.confine, path)
            return [cls(source=path, **kw)], []  # metadata only: the tree is not read
        found = self.checked(t, "source", expand.expand, self.root, value, kw["dest"])
        for d in found.walked:
            self.checked(t, "source", self.confine, d)
        dirs = [Directory(path=self.checked(t, "source", rules.install_path, d), mode=dir_mode or 0o755,
                          owner=kw["owner"], group=kw["group"], origin=t.key) for d in found.sorted_dirs()]
        files = []
        for dest, src in found.sorted_files():
            self.checked(t, "source", rules.install_path, dest)
            files.append(cls(source=Path(self.checked(t, "source", self.source, str(src))), **{**kw, "dest": dest}))
        return files, dirs

    @staticmethod
    def checked(t: Table, key: str, check, *args):
        """``check(*args)``, its ValueError as the one-line error naming ``key``."""
        try:
            return check(*args)
        except ValueError as e:
            raise t.error(key, str(e)) from None

    def directory(self, t: Table) -> Directory:
        d = Directory(path=t.get("path", str, check=rules.install_path),
                      mode=t.get("mode", str, default="0755", check=_mode(True)),
                      owner=t.get("owner", str, default="root", check=rules.account),
                      group=t.get("group", str, default="root", check=rules.account),
                      origin=t.key)
        t.done()
        return d

    def symlink(self, t: Table) -> Symlink:
        s = Symlink(path=t.get("path", str, check=rules.install_path),
                    target=t.get("target", str, check=rules.symlink_target))
        t.done()
        return s

    def unit(self, t: Table) -> Unit:
        source = Path(t.get("source", str, check=self.source))
        name = t.get("name", str, default=None, check=rules.unit_name)
        if name is None:
            name = source.name
            try:
                rules.unit_name(name)
            except ValueError as e:
                raise t.error("source", f"{e}; set 'name' to install it under another name") from None
        u = Unit(source=source, name=name,
                 enable=t.get("enable", bool, default=True),
                 start=t.get("start", bool, default=True),
                 restart_on_upgrade=t.get("restart_on_upgrade", bool, default=True))
        if u.start and not u.enable:
            raise t.error("start", "start = true needs enable = true (deb-systemd-invoke never starts a disabled "
                          "unit, so rpm and deb would differ)")
        if "@." in name and (u.enable or u.start):
            raise t.error("enable", f"{name} is a template unit: it cannot be enabled or started without an "
                          "instance; set enable = false and start = false")
        t.done()
        return u

    # --- accounts and scripts ----------------------------------------------

    def user(self, t: Table) -> User:
        name = t.get("name", str, check=rules.account)
        u = User(name=name,
                 group=t.get("group", str, default=name, check=rules.account),
                 home=t.get("home", str, default="/", check=_home),
                 shell=t.get("shell", str, default="/usr/sbin/nologin", check=rules.install_path),
                 comment=t.get("comment", str, default="", check=_comment),
                 uid=t.get("uid", int, default=None, check=_system_id))
        t.done()
        return u

    def group(self, t: Table) -> Group:
        g = Group(name=t.get("name", str, check=rules.account),
                  gid=t.get("gid", int, default=None, check=_system_id))
        t.done()
        return g

    def scripts(self, t: Table) -> Scripts:
        found = {name: self.script(t, name) for name in ("preinstall", "postinstall", "preremove", "postremove")}
        t.done()
        return Scripts(**found)

    def script(self, t: Table, name: str) -> Script | None:
        path = t.get(name, str, default=None, check=self.source)
        if path is None:
            return None
        if not self.check_sources:
            return Script(Path(path), "")
        raw = Path(path).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise t.error(name, f"{path} is not UTF-8 text") from None
        if "\0" in text:
            raise t.error(name, f"{path} contains NUL bytes: not a shell script")
        for n, line in enumerate(text.splitlines(), 1):
            if len(line) > _MAX_SCRIPT_LINE:
                raise t.error(name, f"{path} line {n} is longer than {_MAX_SCRIPT_LINE} characters")
        return Script(Path(path), text if text.endswith("\n") or not text else text + "\n")

    # --- metadata ----------------------------------------------------------

    def relations(self, t: Table) -> dict[str, Relations]:
        out = {"all": self.relation_set(t, "all", skip=("rpm", "deb", "targets"))}
        for family in ("rpm", "deb"):
            out[family] = self.relation_set(t.table(family), family)
        targets = t.table("targets")
        for tid in targets.data:
            try:
                rules.match(rules.TARGET_ID, "target id")(tid)
            except ValueError as e:
                raise targets.error(tid, str(e)) from None
            out[tid] = self.relation_set(targets.table(tid), "target")
        targets.done()
        t.done()
        return out

    def relation_set(self, t: Table, scope: str, skip: tuple[str, ...] = ()) -> Relations:
        kinds = {}
        for kind in RELATION_KINDS:
            texts = t.strings(kind, check=lambda s, k=kind: _dep_text(s, scope, k))
            kinds[kind] = tuple(_parse_dep(s, scope, kind) for s in texts)
        if scope != "all":
            t.done()
        else:
            t.used.update(skip)
        return Relations(**kinds)

    def kernel(self, t: Table) -> Kernel:
        k = Kernel(modules=t.strings("modules", check=rules.match(rules.MODULE, "kernel module name")),
                   min=t.get("min", str, default=None, check=_kernel_version),
                   max=t.get("max", str, default=None, check=_kernel_version))
        if k.min and k.max and parse_version(k.min)[: len(parse_version(k.max))] > parse_version(k.max):
            raise t.error("max", f"{k.max} is below min {k.min}")
        t.done()
        return k

    def waiver(self, t: Table) -> Waiver:
        any_or = lambda check: (lambda v: v if v == "*" else check(v))  # noqa: E731
        w = Waiver(target=t.get("target", str, check=any_or(rules.match(rules.TARGET_ID, "target id"))),
                   arch=t.get("arch", str, default="*", check=any_or(canonical_arch)),
                   code=t.get("code", str, check=rules.match(rules.CODE, "finding code")),
                   reason=t.get("reason", str, check=rules.one_line))
        t.done()
        return w

    def changelog(self, top: Table, package: Package) -> tuple[ChangelogEntry, ...]:
        tables = top.tables("changelog")
        if not tables:
            raise top.error("changelog", "at least one [[changelog]] entry is required "
                            "(it dates the build: SOURCE_DATE_EPOCH defaults to the newest entry)")
        entries = []
        for t in tables:
            entries.append(ChangelogEntry(
                version=t.get("version", str, check=rules.full_version),
                date=_date(t),
                author=t.get("author", str, default=package.maintainer, check=rules.person),
                changes=t.strings("changes", required=True, check=rules.one_line),
            ))
            t.done()
        if entries[0].version != package.evr:
            raise tables[0].error("version", f"{entries[0].version!r}: the newest entry (the first) must be for "
                                  f"the version being built, {package.evr!r}")
        for i in range(1, len(entries)):
            if entries[i].date > entries[i - 1].date:
                raise tables[i].error("date", "entries must be newest first (rpm and dpkg both expect that order)")
        return tuple(entries)

    # --- sources -----------------------------------------------------------

    def source(self, value: str) -> str:
        """A file on the build machine; relative paths start at the project file's directory.

        Symlinks are followed and the file they reach is copied (like cp -L):
        Go build tools and CI caches often hand out symlinks. What is copied
        must be a regular, readable file.
        """
        rules.one_line(value)
        path = Path(os.path.normpath(self.root / value))
        self.confine(path)
        if not self.check_sources:
            return str(path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise ValueError(f"{path} does not exist") from None
        except OSError as e:
            raise ValueError(f"{path}: {e.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise ValueError(f"{path} is {kind}")
        if not os.access(path, os.R_OK):
            raise ValueError(f"{path} is not readable")
        return str(path)

    def confine(self, path: Path) -> None:
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(self.sources_root):
            via = f" (a symlink to {real})" if real != path else ""
            raise ValueError(f"{path}{via} is outside {self.sources_root}, the directory sources must come from "
                             "(--sources-root DIR allows another)")

    def directory_source(self, value: str) -> str:
        rules.one_line(value)
        path = Path(os.path.normpath(self.root / value))
        self.confine(path)
        if not path.is_dir():
            raise ValueError(f"{path} is not a directory")
        return str(path)


# --- value checks used above -----------------------------------------------

def _xz_level(n: int) -> int:
    if not 0 <= n <= 9:
        raise ValueError(f"{n} is not an xz preset (0-9)")
    return n


def _non_negative(n: int) -> int:
    # rpm stores epochs and timestamps as 32-bit integers; past that they fail late and unnamed.
    if n < 0:
        raise ValueError(f"{n} is negative")
    if n > 2**31 - 1:
        raise ValueError(f"{n} is above 2147483647")
    return n


def _system_id(n: int) -> int:
    if not 1 <= n < 65535:
        raise ValueError(f"{n} is not a uid/gid between 1 and 65534")
    return n


def _mode(directory: bool):
    return lambda text: rules.mode(text, directory=directory)


def _home(text: str) -> str:
    # A home may be a runtime directory (/run/x): only the form is checked.
    return "/" if text == "/" else rules.install_path(text, anywhere=True)


def _comment(text: str) -> str:
    text = rules.one_line(text, empty=True)
    if ":" in text:
        raise ValueError("':' is the /etc/passwd field separator")
    return text


def _kernel_version(text: str) -> str:
    if not re.match(r"^\d+(\.\d+){0,3}$", text):
        raise ValueError(f"{text!r} is not a kernel version like 4.19 or 5.10.0")
    return text


def _date(t: Table) -> datetime:
    t.used.add("date")
    if not t.has("date"):
        raise t.error("date", "missing (required)")
    value = t.data["date"]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise t.error("date", "a date-time needs a UTC offset (2024-11-20T10:00:00Z), or give a date")
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=timezone.utc)
    raise t.error("date", "must be a TOML date like 2024-11-20 (without quotes)")


# Lazy name: "perl(Foo::Bar) (>= 1.0)" keeps its parentheses, the version part needs an operator.
_DEP = re.compile(r"^\s*(\S+?)\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^\s()]+)\s*\))?\s*$")
_DEB_NAME = re.compile(r"^[a-z0-9][a-z0-9.+-]+(:(any|native|[a-z0-9-]+))?$")
# rpm names: package names, file paths, and virtual provides like perl(Foo::Bar)
# or libc.so.6()(64bit).
_RPM_NAME = re.compile(r"^[A-Za-z0-9_.+/-]+(\([A-Za-z0-9_.+:/-]*\))*$")
_OPS = {"<": "<<", ">": ">>"}


def _dep_text(text: str, scope: str, kind: str) -> str:
    _parse_dep(text, scope, kind)
    return text


def _parse_dep(text: str, scope: str, kind: str) -> Dep:
    """``name``, ``name (op version)``, alternatives ``a | b``; deb syntax for every family."""
    parts = text.split("|")
    if len(parts) > 1 and kind in ("provides", "conflicts", "replaces"):
        raise ValueError(f"{text!r}: alternatives ('|') only make sense in depends and recommends")
    alts = []
    for part in parts:
        m = _DEP.match(part)
        if not m:
            raise ValueError(f"{text!r} is not 'name' or 'name (>= version)'")
        name, op, ver = m.groups()
        checks = {"all": [_DEB_NAME], "deb": [_DEB_NAME], "rpm": [_RPM_NAME], "target": [_DEB_NAME, _RPM_NAME]}[scope]
        if not any(c.match(name) for c in checks):
            which = {"all": "legal in both rpm and deb (lowercase)", "deb": "a deb package name",
                     "rpm": "an rpm name", "target": "a package name"}[scope]
            raise ValueError(f"{name!r} is not {which}")
        if op:
            op = _OPS.get(op, op)
            rules.dep_version(ver)
            if kind == "provides" and op != "=":
                raise ValueError(f"{text!r}: a versioned provide must use '='")
        alts.append(Alternative(name, op, ver))
    return Dep(tuple(alts))


def _merge_directories(declared: list[Directory], trees: list[Directory], top: Table) -> tuple[Directory, ...]:
    """Declared [[directory]] entries win over the directories of trees; two trees may share a
    directory only with the same mode and owners (the package can own it one way)."""
    out = {d.path: d for d in declared}
    taken = set(out)
    for d in trees:
        if d.path in taken:
            continue
        have = out.get(d.path)
        if have is None:
            out[d.path] = d
        elif (have.mode, have.owner, have.group) != (d.mode, d.owner, d.group):
            raise top.error(f"{d.origin}.dir_mode", f"directory {d.path} is also in the tree of {have.origin}, "
                            "with another mode or owner; give both the same, or declare it in [[directory]]")
    return tuple(out.values())


def _check_accounts(project: Project, top: Table) -> None:
    users = {u.name for u in project.users}
    groups = set(project.all_groups())
    if len(users) != len(project.users):
        raise top.error("user", "a user is declared twice")
    if len({g.name for g in project.groups}) != len(project.groups):
        raise top.error("group", "a group is declared twice")
    for item in (*project.files, *project.configs, *project.directories):
        if item.owner != "root" and item.owner not in users:
            raise top.error(f"{item.origin}.owner", f"user {item.owner!r} is not declared in [[user]] "
                            "(declare it: existing accounts are left alone)")
        if item.group != "root" and item.group not in groups:
            raise top.error(f"{item.origin}.group", f"group {item.group!r} is not declared in [[group]] "
                            "or as a user's group (declare it: existing groups are left alone)")


def _check_paths(project: Project, top: Table) -> None:
    """Every path once, and no file or symlink where another entry needs a directory."""
    owners: dict[str, str] = {}
    leaves: set[str] = set()
    dirs: set[str] = set()

    def claim(path: str, key: str, leaf: bool):
        if path in owners:
            raise top.error(key, f"{path} is also installed by {owners[path]}")
        owners[path] = key
        (leaves if leaf else dirs).add(path)

    for i, b in enumerate(project.binaries, 1):
        claim(b.dest, f"binary[{i}].dest", True)
    for f in (*project.files, *project.configs):
        claim(f.dest, f"{f.origin}.dest", True)
    for d in project.directories:
        claim(d.path, f"{d.origin}.path" if d.origin.startswith("directory[") else f"{d.origin}.source", False)
    for i, s in enumerate(project.symlinks, 1):
        claim(s.path, f"symlink[{i}].path", True)
    names = set()
    for i, u in enumerate(project.units, 1):
        if u.name in names:
            raise top.error(f"systemd[{i}].name", f"unit {u.name} is declared twice")
        names.add(u.name)
    for path, key in owners.items():
        parent = path.rsplit("/", 1)[0]
        while parent:
            if parent in leaves:
                raise top.error(key, f"{path} is inside {parent}, which {owners[parent]} installs as a file or symlink")
            parent = parent.rsplit("/", 1)[0]
