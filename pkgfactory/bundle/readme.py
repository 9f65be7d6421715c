"""README.txt for the delivery team, in Chinese and English."""

from __future__ import annotations

import jinja2

from pkgfactory.bundle.installer import exit_code_names, exit_codes
from pkgfactory.render.env import builtin_dir


def _text(value) -> str:
    # Values come from the project file: keep them on one line, without control characters.
    return "".join(c if c.isprintable() else " " for c in str(value))


def render_readme(meta: dict) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(builtin_dir() / "bundle")),
                             undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                             finalize=_text)
    # install.sh's exit codes, from the list the script itself is rendered from; ex names them
    # (ex.POLICY) for the text that mentions one.
    return env.get_template("README.txt.j2").render(**meta, exit_codes=exit_codes(), ex=exit_code_names())
