"""What a legal value is, for rpm and deb at once.

Each checker takes a value and returns it (maybe normalised) or raises
ValueError with a short reason; the loader adds the file and key. Rules are
the intersection of both formats, so one project file builds everywhere.
"""

from __future__ import annotations

import posixpath
import re
import textwrap
import unicodedata

# deb policy 5.6.1 (lowercase, starts alnum, >= 2 chars); rpm accepts all of it.
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9.+-]+$")
# Both formats: starts with a digit (deb), no '-' (rpm release separator,
# deb revision separator), no '_' or ':' (deb), no '^' (deb). '~' sorts before
# the empty string in both (needs rpmlib(TildeInVersions), rpm >= 4.10).
VERSION = re.compile(r"^[0-9][A-Za-z0-9.+~]*$")
RELEASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+~]*$")
# "[epoch:]version[-release]", as written in changelogs and dependency versions.
FULL_VERSION = re.compile(r"^(?:(\d+):)?([0-9][A-Za-z0-9.+~]*)(?:-([A-Za-z0-9][A-Za-z0-9.+~]*))?$")
DEP_VERSION = re.compile(r"^(?:\d+:)?[0-9][A-Za-z0-9.+~_]*(?:-[A-Za-z0-9][A-Za-z0-9.+~_]*)?$")
# shadow's useradd default NAME_REGEX, minus the trailing '$' (Samba machine accounts).
ACCOUNT = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# Path components: no whitespace, quotes, '%' (rpm macros), '*?[]{}' (rpm %files
# globs), '\\' or '$' (shell, make), '#' (comments in spec/conffiles).
PATH_COMPONENT = re.compile(r"^[A-Za-z0-9._+@,=:~-]+$")
# No backslash escapes (foo\x2dbar.service): the name becomes a path in rpm %files.
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.-]+(@[A-Za-z0-9:_.-]*)?"
                       r"\.(service|socket|timer|path|target|mount|automount|slice)$")
MODULE = re.compile(r"^[A-Za-z0-9_-]+$")
TARGET_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
PERSON = re.compile(r"^[^<>]*[^<>\s] <[^<>@\s]+@[^<>\s]+>$")
URL = re.compile(r"^https?://[^\s\"'<>\\`$%{}]+$")
MODE = re.compile(r"^0?[0-7]{3}$|^[0-7]{4}$")

# Where a package must not put anything: kernel and tmpfs mounts are not
# package content, and their contents vanish or are not files at all.
FORBIDDEN_PREFIXES = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/var/run", "/var/lock")

# Directories the base system owns: a tree installed there would make the
# package own them too (and apply its dir_mode to them).
SHARED_DIRS = frozenset((
    "/bin", "/boot", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt", "/opt", "/root",
    "/sbin", "/srv", "/usr", "/usr/bin", "/usr/games", "/usr/include", "/usr/lib", "/usr/lib32", "/usr/lib64",
    "/usr/libexec", "/usr/local", "/usr/local/bin", "/usr/local/lib", "/usr/local/sbin", "/usr/local/share",
    "/usr/sbin", "/usr/share", "/usr/share/doc", "/usr/share/man", "/usr/share/info", "/usr/share/locale",
    "/usr/src", "/var", "/var/cache", "/var/lib", "/var/log", "/var/opt", "/var/spool", "/var/mail",
    "/etc/default", "/etc/init.d", "/etc/systemd", "/etc/systemd/system", "/etc/sysconfig", "/etc/profile.d",
    "/etc/cron.d", "/etc/logrotate.d", "/etc/security", "/etc/sudoers.d",
))

# Line separators other than \n that some tools split on.
_LINE_BREAKS = {"\u0085", "\u2028", "\u2029"}
WRAP = 79  # lintian warns over 80, rpmlint over 79


def _bad_char(text: str, allow_newline: bool) -> str | None:
    for ch in text:
        if ch == "\n" and allow_newline:
            continue
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in _LINE_BREAKS:
            return f"control character U+{ord(ch):04X} not allowed" if ch != "\n" else "must be one line"
    return None


def one_line(text: str, *, empty: bool = False, max_len: int | None = None) -> str:
    problem = _bad_char(text, allow_newline=False)
    if problem:
        raise ValueError(problem)
    text = text.strip()
    if not text and not empty:
        raise ValueError("must not be empty")
    if max_len and len(text) > max_len:
        raise ValueError(f"is {len(text)} characters long, at most {max_len} allowed")
    return text


def description(text: str) -> str:
    """Multi-line text, normalised: trailing blanks dropped, long lines wrapped.

    A line whose first non-blank character is '#' is refused: rpmbuild drops
    it as a comment and no escape survives (checked with rpm 4.18). A line that
    is a lone '.' is refused: it is the paragraph separator in deb control.
    Everything else (%, $, backticks, lines that look like spec sections) is
    kept and escaped by the renderer.
    """
    problem = _bad_char(text, allow_newline=True)
    if problem:
        raise ValueError(problem)
    lines = [ln.rstrip() for ln in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ValueError("must not be empty")
    out = []
    for n, line in enumerate(lines, 1):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            raise ValueError(f"line {n} starts with '#', which rpmbuild drops as a comment")
        if stripped == ".":
            raise ValueError(f"line {n} is a lone '.', the paragraph separator of deb control files")
        if len(line) <= WRAP or line[:1].isspace():
            out.append(line)  # indented lines are shown verbatim by both tools: keep them
        else:
            out.extend(textwrap.wrap(line, WRAP, break_long_words=False, break_on_hyphens=False))
    return "\n".join(out)


MAX_NAME, MAX_VERSION, MAX_PATH, MAX_COMPONENT = 128, 128, 1024, 255


def _max(text: str, limit: int, what: str) -> None:
    # Past these, rpmbuild/dpkg die late on ENAMETOOLONG instead of naming the key.
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text)} characters long (at most {limit})")


def package_name(name: str) -> str:
    _max(name, MAX_NAME, "the name")
    if not PACKAGE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a package name legal for both rpm and deb "
                         "(lowercase letters, digits, '.', '+', '-'; at least 2 characters, starting alphanumeric)")
    return name


def version(text: str) -> str:
    _max(text, MAX_VERSION, "the version")
    if not VERSION.fullmatch(text):
        hint = ""
        if "-" in text:
            hint = " ('-' separates the release: use 'release' or '~' for pre-releases, e.g. 1.2.0~rc1)"
        elif "_" in text or ":" in text or "^" in text:
            hint = " ('_', ':' and '^' are not legal in deb versions)"
        raise ValueError(f"{text!r} is not a version legal for both rpm and deb: "
                         f"start with a digit, then letters, digits, '.', '+', '~'{hint}")
    return text


def release(text: str) -> str:
    if not RELEASE.fullmatch(text):
        raise ValueError(f"{text!r} is not a release legal for both rpm and deb "
                         "(letters, digits, '.', '+', '~', starting alphanumeric)")
    return text


def full_version(text: str) -> str:
    if not FULL_VERSION.fullmatch(text):
        raise ValueError(f"{text!r} is not '[epoch:]version-release'")
    return text


def dep_version(text: str) -> str:
    if not DEP_VERSION.fullmatch(text):
        raise ValueError(f"{text!r} is not a dependency version ('[epoch:]version[-release]')")
    return text


def account(name: str) -> str:
    if not ACCOUNT.fullmatch(name):
        raise ValueError(f"{name!r} is not a user or group name (lowercase, digits, '_', '-', "
                         "starting with a letter or '_', at most 32 characters)")
    return name


def install_path(path: str, *, anywhere: bool = False) -> str:
    """Absolute, normalised, inside the package, and safe in every format.

    ``anywhere`` allows the mount points no package may fill (for values
    that name a place on the target rather than package content).
    """
    _max(path, MAX_PATH, "the path")
    if any(len(c) > MAX_COMPONENT for c in path.split("/")):
        raise ValueError(f"a component of the path is longer than {MAX_COMPONENT} characters")
    if not path.startswith("/"):
        raise ValueError(f"{path!r} is not absolute")
    if path == "/":
        raise ValueError("'/' is not a file path")
    parts = path.split("/")[1:]
    if any(p in ("", ".", "..") for p in parts) or posixpath.normpath(path) != path:
        raise ValueError(f"{path!r} is not normalised (no '//', '.', '..' or trailing '/')")
    for p in parts:
        if not PATH_COMPONENT.fullmatch(p):
            raise ValueError(f"{path!r}: component {p!r} has characters outside A-Z a-z 0-9 . _ + @ , = : ~ - "
                             "(spaces, quotes, %, globs and shell characters are not portable to rpm %files)")
    for prefix in () if anywhere else FORBIDDEN_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            raise ValueError(f"{path!r} is under {prefix}, which holds no package files")
    return path


def symlink_target(target: str) -> str:
    if target.startswith("/"):
        return install_path(target)
    parts = target.split("/")
    if not target or any(p in ("", ".") for p in parts):
        raise ValueError(f"{target!r} is not a normalised relative path")
    for p in parts:
        if p != ".." and not PATH_COMPONENT.fullmatch(p):
            raise ValueError(f"{target!r}: component {p!r} has characters outside A-Z a-z 0-9 . _ + @ , = : ~ -")
    return target


def mode(text: str, *, directory: bool) -> int:
    if not MODE.fullmatch(text):
        raise ValueError(f"{text!r} is not an octal mode string like \"0644\"")
    value = int(text, 8)
    if value & 0o002 and not (directory and value & 0o1000):
        raise ValueError(f"{text} is world-writable")
    if directory and (value & 0o700) != 0o700:
        raise ValueError(f"{text}: a directory needs rwx for its owner")
    if not directory and not value & 0o400:
        raise ValueError(f"{text} is not readable by its owner")
    return value


def unit_name(name: str) -> str:
    if not UNIT_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a systemd unit file name (e.g. hello.service)")
    return name


def person(text: str) -> str:
    text = one_line(text)
    if not PERSON.fullmatch(text):
        raise ValueError(f"{text!r} is not 'Full Name <email@example.com>'")
    return text


def url(text: str) -> str:
    text = one_line(text)
    if not URL.fullmatch(text):
        raise ValueError(f"{text!r} is not an http(s) URL without spaces, quotes or % $ {{ }}")
    return text


def match(pattern: re.Pattern, what: str):
    def check(text: str) -> str:
        if not pattern.fullmatch(text):
            raise ValueError(f"{text!r} is not a valid {what}")
        return text
    return check
