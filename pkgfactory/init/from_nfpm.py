"""Draft a project from an nfpm.yaml, or from one entry of a .goreleaser.yaml's ``nfpms:`` list.

Every key of the nfpm config ends up somewhere: carried over into the
draft, named in a note when its meaning changed on the way, or listed as
NOT CARRIED OVER when pkgfactory has no equivalent. Paths in nfpm's
``contents`` and ``scripts`` are taken relative to the config file's
directory (where nfpm is run from) and rewritten relative to the new file.
Where nfpm's placement of a directory or glob can be worked out from the
files on disk and pkgfactory's rules place them differently, the files are
written out one by one rather than guessed.
"""

from __future__ import annotations

import datetime
import glob as globmod
import os
import re
import stat
from collections import Counter
from pathlib import Path

import yaml

from pkgfactory import targets
from pkgfactory.check.rules import go_policy
from pkgfactory.errors import InputError, not_utf8
from pkgfactory.init.common import first_changelog, package_version, placeholders, relative_to, valid
from pkgfactory.init.draft import Draft
from pkgfactory.init.targets import choose_targets
from pkgfactory.inspect import inspect_file
from pkgfactory.project import expand, rules
from pkgfactory.project.load import _parse_dep as reader_dep  # the reader's own parser: what it accepts loads
from pkgfactory.targets import KNOWN_ARCHES

MAX_CONFIG = 1024 * 1024
BIN_DIRS = ("/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin", "/usr/local/sbin", "/usr/libexec")
UNIT_DIRS = ("/usr/lib/systemd/system", "/lib/systemd/system", "/etc/systemd/system")
RELATIONS = {"depends": "depends", "dependencies": "depends", "recommends": "recommends",
             "conflicts": "conflicts", "replaces": "replaces", "provides": "provides"}
SCRIPTS = ("preinstall", "postinstall", "preremove", "postremove")
OTHER_FORMATS = ("apk", "archlinux", "ipk", "msix")
_OPS = re.compile(r"^(\S+)\s*(<=|>=|==|=|<<|>>|<|>)\s*(\S+)$")  # rpm spelling: "baz >= 1.2.3-0"
_UNRESOLVED = re.compile(r"\$\{?[A-Za-z_]|\{\{")  # nfpm env vars, goreleaser templates


def read_config(path: Path) -> dict:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise InputError(f"{path}: not a regular file")
            raw = f.read(MAX_CONFIG + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    if len(raw) > MAX_CONFIG:
        raise InputError(f"{path}: larger than {MAX_CONFIG // 1024} KiB")
    try:
        doc = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise not_utf8(path, e) from None
    except yaml.YAMLError as e:
        raise InputError(f"{path}: invalid YAML: {' '.join(str(e).split())}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not an nfpm or goreleaser config (the top level is not a mapping)")
    return doc


def draft_from_nfpm(path: Path, out_dir: Path, *, nfpm_id: str | None = None, targets_dirs=()) -> Draft:
    path = Path(path)
    doc = read_config(path)
    made_from = f"pkgfactory init --from-nfpm {path}" + (f" --nfpm-id {nfpm_id}" if nfpm_id else "")
    if "nfpms" in doc:
        entry = _pick(doc["nfpms"], nfpm_id, path)
        return _Converter(Draft(made_from), entry, path, out_dir, goreleaser=doc).run(targets_dirs)
    if nfpm_id is not None:
        raise InputError(f"--nfpm-id: {path} is an nfpm config, not a .goreleaser.yaml with nfpms:")
    return _Converter(Draft(made_from), doc, path, out_dir).run(targets_dirs)


def _pick(entries, nfpm_id, path) -> dict:
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{path}: nfpms: must be a non-empty list of nfpm configs")
    ids = [str(e.get("id", "default")) for e in entries]
    if nfpm_id is None:
        if len(entries) > 1:
            raise InputError(f"{path}: nfpms: has {len(entries)} configs ({', '.join(ids)}): choose one with --nfpm-id")
        return entries[0]
    if nfpm_id not in ids:
        raise InputError(f"--nfpm-id {nfpm_id}: {path} has nfpms ids {', '.join(ids)}")
    return entries[ids.index(nfpm_id)]


def _mode_text(value) -> str | None:
    """nfpm modes: YAML 0644 (an octal int), 0o644 or '0644'."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return f"{value:04o}"
    text = str(value).strip().lower().removeprefix("0o")
    return f"{int(text, 8):04o}" if re.fullmatch(r"[0-7]{3,4}", text) else None


class _Converter:
    def __init__(self, draft: Draft, entry: dict, config: Path, out_dir: Path, goreleaser: dict | None = None):
        self.d, self.entry, self.config, self.out_dir, self.gr = draft, entry, config, Path(out_dir), goreleaser
        self.base = config.absolute().parent
        self.used: set[str] = set()
        self.kind = "goreleaser nfpms" if goreleaser is not None else "nfpm"
        self.umask = 0o002
        self.accounts: dict[str, set[str]] = {"user": set(), "group": set()}
        self.binaries: list[dict] = []  # {"dest", "mode", "src": Path or {arch: Path}, "where"}
        self.arches: list[str] = []
        self.families: tuple[str, ...] = ("rpm", "deb")
        self.when: datetime.date | None = None  # nfpm's mtime, as the first changelog date

    # --- helpers ---------------------------------------------------------------------------

    def get(self, key, default=None):
        self.used.add(key)
        return self.entry.get(key, default)

    def lost(self, what: str) -> None:
        self.d.not_carried.append(what)

    def text(self, key, value) -> str | None:
        """A string value, or None (named as lost) when nfpm would fill it in from the environment."""
        if value is None:
            return None
        value = str(value).strip()
        if _UNRESOLVED.search(value):
            self.lost(f"{key}: {value!r} is filled in by {self.kind} from the environment or a template")
            return None
        return value

    def src(self, value) -> Path:
        return Path(os.path.normpath(self.base / str(value)))

    def rel(self, path: Path) -> str:
        return relative_to(path, self.out_dir)

    def source_mode(self, path: Path, default: str) -> str:
        """What nfpm gives a file without file_info.mode: the source's mode minus the umask."""
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode) & ~self.umask
        except OSError:
            return default
        if mode & 0o002:
            mode &= ~0o002  # pkgfactory refuses world-writable files
        return f"{mode:04o}"

    def owners(self, info: dict, key: str) -> dict:
        out = {}
        for what in ("owner", "group"):
            name = info.get(what)
            if name and name != "root":
                if valid(rules.account, name) is None:
                    self.lost(f"{key}.file_info.{what}: {name!r} is not a user or group name pkgfactory allows")
                    continue
                out[what] = name
                self.accounts["user" if what == "owner" else "group"].add(name)
        return out

    # --- the whole config -------------------------------------------------------------------

    def run(self, targets_dirs) -> Draft:
        if self.gr is not None:
            self.used.update(("id",))
        self.umask = int(_mode_text(self.get("umask", "0002")) or "0002", 8)
        platform = self.text("platform", self.get("platform", "linux"))
        if platform and platform != "linux":
            self.lost(f"platform: {platform}: pkgfactory builds packages for Linux only")
        self.package()
        self.arch()
        self.contents()
        if self.gr is not None:
            self.goreleaser_binaries()
        self.write_binaries()
        self.scripts()
        self.relations()
        self.format_sections()
        self.accounts_tables()
        self.choose(targets_dirs)
        first_changelog(self.d, self.d.data["package"], self.when)
        for key in self.entry:
            if key not in self.used:
                self.lost(f"{key}: not a key pkgfactory init knows")
        return self.d

    def package(self) -> None:
        d, p = self.d, {}
        name = self.get("package_name") if self.gr is not None else self.get("name")
        if name is None and self.gr is not None:
            name = self.gr.get("project_name")
        name = self.text("name", name)
        p["name"] = valid(rules.package_name, name) or valid(rules.package_name, (name or "").lower()) or "fill-in-name"
        if p["name"] == "fill-in-name":
            d.need("package.name", f"{name!r} is not a name legal for both rpm and deb" if name else "the package name")
        version = self.text("version", self.get("version"))
        schema = self.get("version_schema", "semver")
        pre, meta = self.text("prerelease", self.get("prerelease")), self.text("version_metadata", self.get("version_metadata"))
        if schema == "none":
            p["version"] = valid(rules.version, version)
        else:
            p["version"] = package_version(version, pre, meta)
        if not p["version"]:
            p["version"] = "0.1.0"
            d.need("package.version", f"{version!r} is not a version pkgfactory can use" if version
                   else f"the version ({self.kind} takes it from the environment or the git tag)")
        release = self.get("release")
        p["release"] = valid(rules.release, self.text("release", release)) if release is not None else "1"
        if p["release"] is None:
            p["release"] = "1"
            d.need("package.release", "the packaging revision")
        elif release is None:
            d.notes.append("release: nfpm wrote no deb revision without one; pkgfactory always has one (1)")
        epoch = str(self.get("epoch") or "0").strip()
        if epoch.isdigit() and int(epoch) < 2**31:
            if int(epoch):
                p["epoch"] = int(epoch)
        else:
            self.lost(f"epoch: {epoch!r} is not a number")
        description = self.text("description", self.get("description"))
        rpm = self.entry.get("rpm") if isinstance(self.entry.get("rpm"), dict) else {}
        summary = self.text("rpm.summary", rpm.get("summary")) or (description or "").strip().split("\n")[0]
        if summary:
            p["summary"] = valid(lambda s: rules.one_line(s, max_len=80), summary)
            if p["summary"] is None:
                d.notes.append(f"summary: {summary[:40]!r}... is longer than 80 characters or not one line")
        if description:
            # nfpm's first line is the deb synopsis (the summary); the rest is the long description.
            lines = description.strip().split("\n")
            rest = "\n".join(lines[1:]).strip() if lines[0].strip() == summary else ""
            p["description"] = valid(rules.description, rest or description)
            if p["description"] is None:
                d.notes.append("description: a line starts with '#' or is a lone '.', which rpm or deb would drop")
        for key, ours, check in (("license", "license", rules.one_line), ("maintainer", "maintainer", rules.person),
                                 ("vendor", "vendor", rules.one_line), ("homepage", "url", rules.url),
                                 ("section", "section", rules.match(re.compile(r"^[a-z0-9/_-]+$"), "section"))):
            value = self.text(key, self.get(key))
            if value is None:
                continue
            p[ours] = valid(check, value)
            if p[ours] is None:
                del p[ours]
                if ours == "maintainer":
                    d.notes.append(f"maintainer: {value!r} is not 'Full Name <email>'")
                else:
                    self.lost(f"{key}: {value!r} is not a value pkgfactory accepts for package.{ours}")
        placeholders(d, p)
        priority = self.get("priority")
        if priority and priority != "optional":
            self.lost(f"priority: {priority} (pkgfactory writes Priority: optional)")
        when = self.get("mtime")
        if when:
            try:
                self.when = datetime.datetime.fromisoformat(str(when).replace("Z", "+00:00")).date()
                d.notes.append(f"mtime: {when} became the first changelog date, which is SOURCE_DATE_EPOCH")
            except ValueError:
                self.lost(f"mtime: {when!r} is not a date")
        changelog = self.get("changelog")
        if changelog:
            self.lost(f"changelog: {changelog} (chglog format); one [[changelog]] entry was written: add the history")
        if self.get("disable_globbing"):
            d.notes.append("disable_globbing: pkgfactory always expands *, ? and [ in sources")
        d.data["package"] = p

    def arch(self) -> None:
        goarch = {str(k): v for k, v in go_policy()["goarch"].items()}
        fixed = []
        for fmt in ("rpm", "deb"):
            section = self.entry.get(fmt)
            if isinstance(section, dict) and section.get("arch"):
                fixed.append(f"{fmt}.arch = {section['arch']}")
        if self.gr is not None:
            return  # goreleaser packages one binary per build arch
        raw = self.text("arch", self.get("arch"))
        arch = goarch.get(raw, raw if raw in KNOWN_ARCHES else None) if raw else None
        if arch is None:
            arch = "x86_64"
            self.d.notes.append(f"arch: {raw!r} is not an arch pkgfactory builds; x86_64 was assumed")
            self.d.need("build.arches", "the arch of the binary")
        self.arches = [arch]
        if fixed:
            self.d.notes.append(f"{', '.join(fixed)}: pkgfactory names each target's arch itself")

    # --- contents ---------------------------------------------------------------------------

    def contents(self) -> None:
        items = self.get("contents") or []
        if not isinstance(items, list):
            self.lost("contents: not a list")
            return
        for i, c in enumerate(items, 1):
            key = f"contents[{i}]"
            if not isinstance(c, dict):
                self.lost(f"{key}: not a mapping")
                continue
            self.content(c, key)

    def content(self, c: dict, key: str) -> None:
        known = {"src", "dst", "type", "file_info", "packager", "expand", "disown_subtree"}
        for extra in sorted(set(c) - known):
            self.lost(f"{key}.{extra}: not a contents key pkgfactory init knows")
        typ = str(c.get("type") or "file")
        dst_raw = str(c.get("dst") or "")
        src_raw = c.get("src")
        where = f"{key} ({src_raw} -> {dst_raw})" if src_raw else f"{key} ({dst_raw})"
        if c.get("packager"):
            self.lost(f"{where}: only for {c['packager']} packages; pkgfactory puts the same files in every format")
            return
        if c.get("expand") or _UNRESOLVED.search(f"{src_raw or ''}{dst_raw}"):
            self.lost(f"{where}: environment variables in src/dst are expanded by nfpm at build time")
            return
        info = c.get("file_info") if isinstance(c.get("file_info"), dict) else {}
        for extra in sorted(set(info) - {"mode", "owner", "group", "mtime", "lang", "size"}):
            self.lost(f"{key}.file_info.{extra}: not a file_info key pkgfactory init knows")
        if info.get("mtime"):
            self.d.notes.append(f"{key}.file_info.mtime: every file time is SOURCE_DATE_EPOCH in pkgfactory packages")
        if info.get("lang"):
            self.lost(f"{key}.file_info.lang: rpm %lang() tags")
        mode = _mode_text(info.get("mode"))
        if info.get("mode") is not None and mode is None:
            self.lost(f"{key}.file_info.mode: {info['mode']!r} is not an octal mode")
        dst = dst_raw.rstrip("/") or "/"
        if typ == "ghost":
            self.lost(f"{where}: type ghost (rpm %ghost: owned, not shipped)")
        elif typ == "dir":
            self.directory(dst, mode, info, where, key)
        elif typ == "symlink":
            self.symlink(dst, str(src_raw or ""), where)
        elif typ in ("tree", "config|tree", "config|noreplace|tree", "config|missingok|tree"):
            self.tree(typ, self.src(src_raw), dst, mode, info, where, key, c.get("disown_subtree"))
        elif typ in ("file", "config", "config|noreplace", "config|missingok", "doc", "license", "licence", "readme"):
            if typ in ("doc", "license", "licence", "readme"):
                self.d.notes.append(f"{where}: type {typ} was in the rpm only; it is now a file in every format "
                                    "(files under /usr/share/doc/ are %doc in the rpm anyway)")
            if typ == "config|missingok":
                self.d.notes.append(f"{where}: %config(missingok) has no equivalent: a plain config file")
            self.files(typ, str(src_raw or ""), dst_raw, mode, info, where, key)
        else:
            self.lost(f"{where}: type {typ!r} is not an nfpm type pkgfactory init knows")

    def directory(self, dst, mode, info, where, key) -> None:
        if valid(rules.install_path, dst) is None:
            self.lost(f"{where}: {dst!r} is not an install path pkgfactory allows")
            return
        entry = {"path": dst, "mode": mode or "0755", **self.owners(info, key)}
        if valid(lambda m: rules.mode(m, directory=True), entry["mode"]) is None:
            self.d.notes.append(f"{where}: mode {entry['mode']} is not a usable directory mode; 0755 is used")
            entry["mode"] = "0755"
        self.d.add("directory", entry)

    def symlink(self, dst, target, where) -> None:
        if valid(rules.install_path, dst) is None or valid(rules.symlink_target, target) is None:
            self.lost(f"{where}: not a symlink pkgfactory can express (path or target)")
            return
        self.d.add("symlink", {"path": dst, "target": target})
        if target.startswith("/") and target.split("/")[1] == dst.split("/")[1]:
            self.d.notes.append(f"{where}: the link is written relative in the package (Debian policy 10.5)")

    def tree(self, typ, src: Path, dst, mode, info, where, key, disown) -> None:
        section = "config" if typ.startswith("config") else "file"
        entry = {"source": self.rel(src) + "/", "dest": dst}
        if not src.is_dir():
            self.d.notes.append(f"{where}: {src} is not there yet: check the tree's modes once it is")
        files_modes, dir_modes, links = self.tree_modes(src)
        if mode:
            entry["mode"] = mode
            entry["dir_mode"] = mode if valid(lambda m: rules.mode(m, directory=True), mode) else "0755"
            if entry["dir_mode"] != mode:
                self.d.notes.append(f"{where}: nfpm gave the directories mode {mode} too; pkgfactory gives them 0755")
        else:
            common = files_modes.most_common()
            entry["mode"] = common[0][0] if common else "0644"
            if len(common) > 1:
                others = ", ".join(m for m, _ in common[1:])
                self.d.notes.append(f"{where}: nfpm kept each file's mode ({others} too); pkgfactory gives the "
                                    f"whole tree mode {entry['mode']}: give executables an entry of their own")
            dirs = dir_modes.most_common(1)
            entry["dir_mode"] = dirs[0][0] if dirs and valid(lambda m: rules.mode(m, directory=True), dirs[0][0]) \
                else "0755"
        if links:
            self.d.notes.append(f"{where}: nfpm kept the symlinks in the tree ({', '.join(links[:3])}); pkgfactory "
                                "copies what they point to (declare [[symlink]] entries for links)")
        if disown:
            self.d.notes.append(f"{where}: disown_subtree {disown}: pkgfactory owns every directory of the tree")
        if section == "config":
            entry["noreplace"] = typ == "config|noreplace|tree"
        if dst in rules.SHARED_DIRS:
            # nfpm leaves file-system directories unowned; a glob's dest is not owned either.
            entry["source"] = self.rel(src) + "/*"
        entry.update(self.owners(info, key))
        self.place(section, dst, entry)

    def tree_modes(self, src: Path):
        files, dirs, links = Counter(), Counter(), []
        if not src.is_dir():
            return files, dirs, links
        for dirpath, dirnames, filenames in os.walk(src):
            for names, counter, default in ((dirnames, dirs, "0755"), (filenames, files, "0644")):
                for n in names:
                    p = Path(dirpath) / n
                    if p.is_symlink():
                        links.append(p.relative_to(src).as_posix())
                    else:
                        counter[self.source_mode(p, default)] += 1
        return files, dirs, links

    def files(self, typ, src_raw: str, dst_raw: str, mode, info, where, key) -> None:
        src = self.src(src_raw)
        many = expand.is_glob(src_raw) or src.is_dir()
        dst = dst_raw.rstrip("/") or "/"
        if not many:
            if dst_raw.endswith("/"):
                dst = f"{dst}/{src.name}"
            self.one_file(typ, src, dst, mode, info, where, key)
            return
        nfpm = self.nfpm_placement(src_raw, dst_raw)
        if expand.is_glob(src_raw):
            source = self.rel(src)
        else:
            source = self.rel(src) + ("/**" if dst in rules.SHARED_DIRS else "/")
        entry = {"source": source, "dest": dst}
        ours = self.our_placement(source, dst)
        if nfpm and ours != nfpm:
            # Written out file by file: nfpm's placement (dst, the matches' common directory, a
            # trailing '/' that flattens) is not what pkgfactory's rules would give.
            self.d.notes.append(f"{where}: written out file by file (nfpm places the {len(nfpm)} files it "
                                "matches differently from a pkgfactory directory/glob source)")
            for d, s in sorted(nfpm.items()):
                self.one_file(typ, s, d, mode, info, where, key)
            return
        if not nfpm:
            self.d.notes.append(f"{where}: nothing matches yet, so the placement could not be compared with nfpm's")
        elif src.is_dir() and not expand.is_glob(src_raw):
            self.d.notes.append(f"{where}: the directories below {dst} now belong to the package (nfpm left "
                                "them unowned)")
        modes = Counter(self.source_mode(s, "0644") for s in nfpm.values())
        entry["mode"] = mode or (modes.most_common(1)[0][0] if modes else "0644")
        if not mode and len(modes) > 1:
            self.d.notes.append(f"{where}: the files have different modes; pkgfactory gives them all {entry['mode']}")
        entry.update(self.owners(info, key))
        self.place(self.section_for(typ, dst, where), dst, entry)

    def nfpm_placement(self, src_raw: str, dst_raw: str) -> dict[str, Path]:
        """Where nfpm would put what the directory or glob names now (nfpm's internal/glob rules)."""
        pattern = str(self.src(src_raw))
        if not expand.is_glob(src_raw) and Path(pattern).is_dir():
            pattern = pattern.rstrip("/") + "/**"
        matches = sorted(p for p in globmod.glob(pattern, recursive=True, include_hidden=True) if not Path(p).is_dir())
        if not matches:
            return {}
        prefix = str(self.src(src_raw))
        if expand.is_glob(src_raw) or not Path(prefix).exists():
            prefix = os.path.dirname(os.path.commonprefix(matches))
        out = {}
        for m in matches:
            if dst_raw.endswith("/"):
                out[f"{dst_raw.rstrip('/')}/{os.path.basename(m)}"] = Path(m)
            else:
                out[f"{dst_raw.rstrip('/')}/{os.path.relpath(m, prefix)}"] = Path(m)
        return out

    def our_placement(self, source: str, dst: str) -> dict[str, Path]:
        try:
            found = expand.expand(self.out_dir.absolute(), source, dst)
        except ValueError:
            return {}
        return {d: Path(os.path.normpath(s)) for d, s in found.files.items()}

    def section_for(self, typ: str, dst: str, where: str) -> str:
        under_etc = dst.startswith("/etc/")
        if typ.startswith("config") and not under_etc:
            self.d.notes.append(f"{where}: nfpm marked it config outside /etc; pkgfactory keeps config files under "
                                "/etc only, so it is a plain file (replaced on upgrade)")
            return "file"
        if not typ.startswith("config") and under_etc:
            self.d.notes.append(f"{where}: a plain file under /etc in nfpm; pkgfactory makes every /etc file a "
                                "config file (kept when changed locally)")
            return "config"
        return "config" if typ.startswith("config") else "file"

    def one_file(self, typ, src: Path, dst: str, mode, info, where, key) -> None:
        if valid(rules.install_path, dst) is None:
            self.lost(f"{where}: {dst!r} is not an install path pkgfactory allows")
            return
        if not typ.startswith("config") and self.is_binary(src, dst):
            self.binaries.append({"dest": dst, "mode": mode or self.source_mode(src, "0755"), "src": src,
                                  "where": where})
            if self.owners(info, key):
                self.d.notes.append(f"{where}: binaries are owned by root in pkgfactory")
            return
        if dst.startswith(UNIT_DIRS) and valid(rules.unit_name, os.path.basename(dst)) and not typ.startswith("config"):
            unit = {"source": self.rel(src), "enable": False, "start": False, "restart_on_upgrade": False}
            if os.path.basename(dst) != src.name:
                unit["name"] = os.path.basename(dst)
            i = self.d.add("systemd", unit)
            self.d.comments[f"systemd[{i}].enable"] = ("nfpm only shipped the file: set enable/start/restart_on_upgrade "
                                                       "to let pkgfactory run systemctl (and drop it from your scripts)")
            self.d.notes.append(f"{where}: a systemd unit: installed in each target's unit directory "
                                "(/usr/lib/systemd/system on rpm, /lib/systemd/system on deb)")
            return
        entry = {"source": self.rel(src), "dest": dst, "mode": mode or self.source_mode(src, "0644"),
                 **self.owners(info, key)}
        section = self.section_for(typ, dst, where)
        if section == "config":
            entry["noreplace"] = typ != "config"
        self.place(section, dst, entry)

    def place(self, section: str, dst: str, entry: dict) -> None:
        if section == "config" and "noreplace" not in entry:
            entry["noreplace"] = True
        if valid(lambda m: rules.mode(m, directory=False), entry.get("mode", "0644")) is None:
            self.d.notes.append(f"{entry['source']}: mode {entry['mode']} is refused by pkgfactory (world-writable or "
                                "unreadable); 0644 is used")
            entry["mode"] = "0644"
        self.d.add(section, entry)

    def is_binary(self, src: Path, dst: str) -> bool:
        try:
            with open(src, "rb") as f:
                return f.read(4) == b"\x7fELF"
        except OSError:
            return os.path.dirname(dst) in BIN_DIRS

    # --- binaries ----------------------------------------------------------------------------

    def goreleaser_binaries(self) -> None:
        doc = self.gr
        self.used.update(("ids", "builds", "bindir", "formats", "file_name_template"))
        project = doc.get("project_name") or self.d.data["package"]["name"]
        builds = doc.get("builds") or [{}]
        wanted = self.entry.get("ids") or self.entry.get("builds")
        bindir = str(self.entry.get("bindir") or "/usr/bin")
        dist = str(doc.get("dist") or "dist")
        goarch = {str(k): v for k, v in go_policy()["goarch"].items()}
        variants = {"amd64": ("goamd64", "v1"), "arm64": ("goarm64", "v8.0"), "386": ("go386", "sse2"),
                    "mips64le": ("gomips", "hardfloat")}
        for b in builds if isinstance(builds, list) else []:
            bid = str(b.get("id") or project)
            if wanted and bid not in wanted:
                continue
            if "linux" not in (b.get("goos") or ["linux", "darwin", "windows"]):
                continue
            name = str(b.get("binary") or project)
            if _UNRESOLVED.search(name):
                self.d.need("binary.dest", f"the binary name ({name!r} is a goreleaser template)")
                name = self.d.data["package"]["name"]
            srcs = {}
            for ga in b.get("goarch") or ["386", "amd64", "arm64"]:
                ours = goarch.get(str(ga))
                if ours not in KNOWN_ARCHES:
                    self.lost(f"builds.{bid}.goarch {ga}: not an arch pkgfactory builds")
                    continue
                key, default = variants.get(str(ga), (None, None))
                variant = f"_{(b.get(key) or [default])[0]}" if key else ""
                srcs[ours] = self.base / dist / f"{bid}_linux_{ga}{variant}" / name
            if srcs:
                self.binaries.append({"dest": f"{bindir.rstrip('/')}/{name}", "mode": "0755", "src": srcs,
                                      "where": f"builds.{bid}"})
        formats = self.entry.get("formats") or []
        self.families = tuple(f for f in ("rpm", "deb") if f in formats) or ("rpm", "deb")
        for f in formats:
            if f not in ("rpm", "deb"):
                self.lost(f"formats: {f} (pkgfactory builds rpm and deb)")
        guessed = f"{dist}/<build id>_linux_<goarch>_<variant>/<binary>"
        if all(p.is_file() for b in self.binaries for p in b["src"].values()):
            self.d.notes.append(f"binary.source: found at goreleaser's dist paths ({guessed})")
        else:
            self.d.need("binary.source", f"goreleaser's dist paths were guessed ({guessed}): point them at your "
                                         "built binaries")
        if self.entry.get("file_name_template"):
            self.d.notes.append("file_name_template: pkgfactory names packages as rpm and dpkg expect")

    def write_binaries(self) -> None:
        d = self.d
        if not self.binaries:
            name = d.data["package"]["name"]
            self.binaries.append({"dest": f"/usr/bin/{name}", "mode": "0755",
                                  "src": self.base / "dist" / name, "where": "(none found)"})
            d.need("binary.source", f"no ELF binary in {self.kind} contents: the Go binary for each arch")
        if self.gr is not None:
            self.arches = sorted({a for b in self.binaries for a in b["src"]})
        for b in self.binaries:
            srcs = b["src"] if isinstance(b["src"], dict) else {a: b["src"] for a in self.arches}
            entry = {"dest": b["dest"], "source": {a: self.rel(p) for a, p in sorted(srcs.items())}}
            if b["mode"] != "0755":
                entry["mode"] = b["mode"]
            d.add("binary", entry)
            b["src"] = srcs
        d.data["build"] = {"targets": [], "arches": self.arches}

    def choose(self, targets_dirs) -> None:
        d = self.d
        profiles = targets.load_all(targets_dirs).values()
        families = getattr(self, "families", ("rpm", "deb"))
        infos, missing = {}, []
        for b in self.binaries:
            for arch, path in b["src"].items():
                try:
                    infos.setdefault(arch, []).append(inspect_file(path))
                except InputError:
                    missing.append(str(path))
        if not missing and infos:
            choice = choose_targets(infos, profiles, families)
            d.excluded_targets = [(t, why) for t, why in choice.excluded if not why.startswith("no ")]
            d.data["build"]["targets"] = choice.passing
            d.comments["build.targets"] = "every target where `pkgfactory check` passes the binaries"
            for tid, codes in choice.warnings.items():
                d.notes.append(f"{tid}: `pkgfactory check` warns: {', '.join(codes)}")
        if missing or not d.data["build"]["targets"]:
            d.data["build"]["targets"] = sorted(p.id for p in profiles if p.family in families
                                                and any(a in p.arches for a in self.arches))
            d.need("build.targets", "every target with the arch: the binaries were not there to check "
                   "(run `pkgfactory check BINARY -t ID`, keep those that pass)" if missing else
                   "no target passes `pkgfactory check` for these binaries: see the left-out targets")

    # --- scripts and relations ---------------------------------------------------------------

    def scripts(self) -> None:
        given = self.get("scripts") or {}
        if not isinstance(given, dict):
            self.lost("scripts: not a mapping")
            return
        out = {}
        for name, path in given.items():
            if name not in SCRIPTS:
                self.lost(f"scripts.{name}: not one of {', '.join(SCRIPTS)}")
                continue
            src = self.src(path)
            out[name] = self.rel(src)
            try:
                text = src.read_text(errors="replace")
            except OSError:
                text = ""
            if re.search(r"\b(useradd|adduser|groupadd|addgroup)\b", text) and any(self.accounts.values()):
                self.d.notes.append(f"scripts.{name}: creates accounts; pkgfactory now creates "
                                    f"{', '.join(sorted(set().union(*self.accounts.values())))} before your "
                                    "scripts run: drop that part, or guard it with getent")
        if out:
            self.d.data["scripts"] = out
            self.d.notes.append("scripts: nfpm used each as the whole maintainer script; pkgfactory runs it "
                                "in a subshell under set -e with PKGF_ACTION=install|upgrade|remove|purge and the "
                                "package manager's arguments (deb: not for the abort-* calls)")

    def dep(self, text, scope: str, kind: str, where: str) -> str | None:
        text = str(text).strip()
        if _UNRESOLVED.search(text):
            self.lost(f"{where}: {text!r} is filled in by {self.kind} from the environment")
            return None
        m = _OPS.match(text)
        if m and "(" not in text:
            op = {"==": "="}.get(m.group(2), m.group(2))
            text = f"{m.group(1)} ({op} {m.group(3)})"
        try:
            reader_dep(text, scope, kind)
        except ValueError as e:
            self.lost(f"{where}: {text!r}: {e}")
            return None
        return text

    def relations(self) -> None:
        """nfpm's overrides.<format>.<kind> replaces the top-level <kind> for that format (it does not add
        to it): a kind one format overrides is written per format, the rest once for both."""
        top: dict[str, list] = {}
        for key in [k for k in self.entry if k in RELATIONS]:
            self.used.add(key)
            top.setdefault(RELATIONS[key], []).extend(self.entry[key] or [])
        suggests = self.get("suggests")
        if suggests:
            self.lost(f"suggests: {', '.join(map(str, suggests))} (pkgfactory writes no Suggests)")
        overrides = self.get("overrides") or {}
        per_format: dict[str, dict[str, list]] = {"rpm": {}, "deb": {}}
        for fmt, section in overrides.items() if isinstance(overrides, dict) else ():
            if fmt not in per_format:
                self.lost(f"overrides.{fmt}: not a format pkgfactory builds")
                continue
            for key, values in (section or {}).items():
                if key in RELATIONS:
                    per_format[fmt].setdefault(RELATIONS[key], []).extend(
                        (f"overrides.{fmt}.{key}[{i}]", v) for i, v in enumerate(values or [], 1))
                elif key == "suggests":
                    self.lost(f"overrides.{fmt}.suggests (pkgfactory writes no Suggests)")
                else:
                    self.lost(f"overrides.{fmt}.{key}: per-format {key} (pkgfactory has one set for every format)")
        rel: dict = {}
        for kind in dict.fromkeys(RELATIONS.values()):
            given = [(f"{kind}[{i}]", v) for i, v in enumerate(top.get(kind, []), 1)]
            if not any(kind in per_format[f] for f in per_format):
                deps = [self.dep(v, "all", kind, where) for where, v in given]
                if any(deps):
                    rel[kind] = [x for x in deps if x]
                continue
            if given:
                self.d.notes.append(f"{kind}: an override replaces it for one format, so it is written per format")
            for fmt in per_format:
                deps = [self.dep(v, fmt, kind, where) for where, v in per_format[fmt].get(kind, given)]
                if any(deps):
                    rel.setdefault(fmt, {})[kind] = [x for x in deps if x]
        if "replaces" in rel or any("replaces" in v for v in rel.values() if isinstance(v, dict)):
            self.d.notes.append("replaces: deb gets Conflicts as well as Replaces (so dpkg removes the old package, "
                                "as rpm's Obsoletes does)")
        if rel:
            self.d.data["relations"] = rel

    def format_sections(self) -> None:
        said = {
            "rpm": {"group": "note:pkgfactory writes Group: Applications/System", "summary": "used",
                    "compression": "note:the payload compressor is the best the target's rpm reads",
                    "signature": "note:packages are signed by `pkgfactory bundle` with the key in --keys-dir",
                    "packager": "note:rpm Packager is package.maintainer", "arch": "used",
                    "buildhost": "lost:pkgfactory writes buildhost pkgfactory (reproducible builds)",
                    "prefixes": "lost:relocatable packages (rpm prefixes)",
                    "requires": "lost:qualified Requires(pre/post/...)"},
            "deb": {"compression": "note:the compressor is the best the target's dpkg reads",
                    "signature": "note:debs are proven by the signed apt repository `pkgfactory bundle` makes",
                    "arch": "used", "arch_variant": "lost:deb arch variants", "breaks": "lost:Breaks",
                    "predepends": "lost:Pre-Depends", "triggers": "lost:dpkg triggers",
                    "fields": "lost:extra control fields", "lintian_overrides": "lost:lintian overrides"},
        }
        for fmt in ("rpm", "deb"):
            section = self.get(fmt)
            if not isinstance(section, dict):
                continue
            for key, value in section.items():
                if key == "scripts":
                    for s in value or {}:
                        self.lost(f"{fmt}.scripts.{s}: {fmt}-only {s} script")
                    continue
                how = said[fmt].get(key, "lost:not a key pkgfactory init knows")
                verb, _, text = how.partition(":")
                if verb == "note":
                    self.d.notes.append(f"{fmt}.{key}: {text}")
                elif verb == "lost":
                    shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                    self.lost(f"{fmt}.{key}: {text}" + (f" ({shown})" if isinstance(shown, str) else ""))
        for fmt in OTHER_FORMATS:
            if self.get(fmt):
                self.lost(f"{fmt}: a format pkgfactory does not build")
        if self.gr is not None:
            for key in ("meta", "libdirs", "if", "templated_contents", "templated_scripts", "package_name"):
                value = self.get(key)
                if value and key != "package_name":
                    self.lost(f"{key}: goreleaser-only ({value})")

    def accounts_tables(self) -> None:
        users, groups = self.accounts["user"], self.accounts["group"]
        for u in sorted(users):
            i = self.d.add("user", {"name": u})
            self.d.comments[f"user[{i}].name"] = "nfpm did not create it; pkgfactory creates it (never removes it)"
        for g in sorted(groups - users):
            i = self.d.add("group", {"name": g})
            self.d.comments[f"group[{i}].name"] = "nfpm did not create it; pkgfactory creates it (never removes it)"
