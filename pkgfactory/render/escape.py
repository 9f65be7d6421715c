"""Escaping filters, one per output format, and the check that every value used one.

A filter returns :class:`Escaped`, a ``str`` tagged with the format it is
safe for. The environment's ``finalize`` refuses to print anything else (and
anything escaped for another format), so a template — ours or a project's
override — cannot put raw project data into a spec, control file, makefile
or shell script by forgetting a filter.
"""

from __future__ import annotations

import shlex

import markupsafe
from jinja2 import pass_context
from jinja2.exceptions import TemplateRuntimeError

from pkgfactory.project import rules


class Escaped(str):
    fmt: str

    def __new__(cls, value: str, fmt: str):
        obj = super().__new__(cls, value)
        obj.fmt = fmt
        return obj


def _one_line(value, where: str) -> str:
    text = str(value)
    problem = rules._bad_char(text, allow_newline=False)
    if problem:
        raise TemplateRuntimeError(f"{where} filter: {problem}: {text[:40]!r}")
    return text


# --- rpm spec -----------------------------------------------------------------

def spec(value) -> Escaped:
    """A one-line spec value: rpmbuild expands macros everywhere, '%%' is a literal '%'."""
    return Escaped(_one_line(value, "spec").replace("%", "%%"), "spec")


def spec_text(value) -> Escaped:
    """Multi-line text for %description.

    rpmbuild expands macros in each line and then treats a line starting with
    '%' as a new section (a description line '%%post' becomes a %post
    scriptlet, checked with rpm 4.18): such lines get a leading space, which
    rpm keeps as text. '#' lines are refused at load time (rpmbuild drops them).
    """
    out = []
    for line in str(value).split("\n"):
        line = _one_line(line, "spec_text").replace("%", "%%")
        out.append(" " + line if line.startswith("%") else line)
    return Escaped("\n".join(out), "spec")


def spec_script(value) -> Escaped:
    """A whole scriptlet file read with ``%pre -f``: rpmbuild macro-expands it line by line."""
    return Escaped(str(value).replace("%", "%%"), "spec")


# --- deb control (dpkg-gencontrol input) ----------------------------------------

def _substvar_safe(text: str) -> str:
    # dpkg-gencontrol substitutes ${name} in every field and turns ${} into '$'
    # after substitution (deb-substvars(5)): '$' -> '${}' keeps text literal.
    return text.replace("$", "${}")


def control(value) -> Escaped:
    """A one-line field value in debian/control."""
    return Escaped(_substvar_safe(_one_line(value, "control")), "control")


def control_text(value) -> Escaped:
    """The extended description: each line indented by one space, blank lines as ' .'."""
    lines = []
    for line in str(value).split("\n"):
        line = _substvar_safe(_one_line(line, "control_text"))
        lines.append(" " + line if line.strip() else " .")
    return Escaped("\n".join(lines), "control")


# --- files read as plain lines (changelog, conffiles, copyright, source/format) --

def line(value) -> Escaped:
    return Escaped(_one_line(value, "line"), "line")


def deb822_text(value) -> Escaped:
    """A multi-line deb822 field continuation (copyright), without substvars."""
    lines = [_one_line(ln, "deb822_text") for ln in str(value).split("\n")]
    return Escaped("\n".join(" " + ln if ln.strip() else " ." for ln in lines), "line")


# --- shell (maintainer scripts, rpm scriptlets) ---------------------------------

def sh(value) -> Escaped:
    return Escaped(shlex.quote(_one_line(value, "sh")), "sh")


def sh_script(script) -> Escaped:
    """A project's own script, inserted as code: it is code by intent.

    It runs in a subshell function, so its 'exit' ends only itself; the
    loader made sure it is UTF-8 text without NUL bytes.
    """
    text = getattr(script, "text", script)
    if "\0" in text:
        raise TemplateRuntimeError("sh_script filter: NUL byte in script")
    return Escaped(text, "sh")


# --- make (debian/rules) -------------------------------------------------------

def make(value) -> Escaped:
    text = _one_line(value, "make")
    if any(c in text for c in "#\\ \t"):
        raise TemplateRuntimeError(f"make filter: {text!r} has characters make cannot take literally")
    return Escaped(text.replace("$", "$$"), "make")


# --- HTML (the bundle's report page) -------------------------------------------

def html(value) -> Escaped:
    """Text in an HTML element or a quoted attribute: & < > " ' become entities.

    Line breaks are kept (a description is several lines); other control
    characters are refused like everywhere else.
    """
    text = str(value)
    problem = rules._bad_char(text, allow_newline=True)
    if problem:
        raise TemplateRuntimeError(f"html filter: {problem}: {text[:40]!r}")
    return Escaped(str(markupsafe.escape(text)), "html")


FILTERS = {
    "spec": spec, "spec_text": spec_text,
    "control": control, "control_text": control_text,
    "line": line, "deb822_text": deb822_text,
    "sh": sh, "sh_script": sh_script,
    "make": make,
    "html": html,
}

# Which escapes each output file accepts; a name not listed falls back by the
# directory and suffix rules in :func:`formats_for`.
FORMATS = {
    "spec/package.spec.j2": {"spec"},
    "debian/control.j2": {"control"},
    "debian/rules.j2": {"make"},
}


def formats_for(name: str) -> set[str]:
    if name in FORMATS:
        return FORMATS[name]
    base = name.rsplit("/", 1)[-1]
    if name.endswith(".html.j2"):
        return {"html"}
    if name.endswith(".sh.j2") or base in ("preinst.j2", "postinst.j2", "prerm.j2", "postrm.j2"):
        return {"sh"}
    return {"line"}


@pass_context
def finalize(context, value):
    """Every ``{{ }}`` goes through here: refuse unescaped or wrongly escaped values."""
    if isinstance(value, bool):
        raise TemplateRuntimeError(f"{context.name}: printed a boolean; use it in {{% if %}}")
    if isinstance(value, int):
        return value  # numbers are inert in every format
    allowed = formats_for(context.name or "")
    if isinstance(value, Escaped):
        if value.fmt not in allowed:
            raise TemplateRuntimeError(f"{context.name}: value escaped for {value.fmt!r} printed in a "
                                       f"{'/'.join(sorted(allowed))} file: {str(value)[:40]!r}")
        return value
    if value is None:
        raise TemplateRuntimeError(f"{context.name}: printed None")
    raise TemplateRuntimeError(f"{context.name}: value printed without an escaping filter "
                               f"({'|'.join(sorted(allowed))}): {str(value)[:40]!r}")
