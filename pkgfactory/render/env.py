"""The jinja2 environment: where templates come from and how values are printed.

Built-in templates live in the repository's top-level ``templates/``;
``pkgfactory/render/templates`` is a symlink to it, so an editable install
(``pip install -e .``) reads them from the checkout and a wheel ships them as
package data (setuptools copies the symlinked tree; pyproject lists
``render/templates/**/*``). A project's own template directory comes first:
a file there overrides the built-in one with the same relative name.

Templates are code, and a project's templates come with a project file from
someone we may not trust: the environment is jinja2's immutable sandbox, so a
template can read the values it is given but cannot reach Python
(``cycler.__init__.__globals__.os``) or change the context.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
import jinja2.sandbox

from pkgfactory.errors import InputError
from pkgfactory.render import escape

BUILTIN = Path(__file__).resolve().parent / "templates"


def builtin_dir() -> Path:
    if not (BUILTIN / "spec" / "package.spec.j2").is_file():
        raise InputError(f"built-in templates not found in {BUILTIN}: reinstall pkgfactory")
    return BUILTIN


def environment(project_templates: Path | None = None, *, origin: str | None = None) -> jinja2.Environment:
    """``origin`` (for example "pkgfactory.toml: key 'build.templates'") starts every
    error raised by a template from ``project_templates``, so it names where that came from.

    Without project templates the environment is one per process: every package of a run
    renders the same built-in templates, and compiling them is most of rendering's cost."""
    if project_templates is None:
        return _builtin_environment()
    return _make(project_templates, origin)


@lru_cache(maxsize=1)
def _builtin_environment() -> jinja2.Environment:
    return _make(None, None)


def _make(project_templates: Path | None, origin: str | None) -> jinja2.Environment:
    loaders = []
    if project_templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(project_templates)))
    loaders.append(jinja2.FileSystemLoader(str(builtin_dir())))
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # formats are escaped per value by the filters below
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=escape.finalize,
    )
    env.filters.update(escape.FILTERS)
    env.pkgf_project_templates = Path(project_templates).absolute() if project_templates is not None else None
    env.pkgf_origin = origin
    return env


def render(env: jinja2.Environment, name: str, context: dict) -> str:
    """Render template ``name``; template mistakes become one-line errors naming the file."""
    template = None
    try:
        template = env.get_template(name)
        return template.render(context)
    except jinja2.TemplateNotFound as e:
        raise InputError(f"template {e.name} not found (needed for {name})") from None
    except jinja2.TemplateSyntaxError as e:
        raise InputError(f"{_where(env, e.filename, e.filename or e.name)}:{e.lineno}: {e.message}") from None
    except jinja2.sandbox.SecurityError as e:
        raise InputError(f"{_where(env, template and template.filename, name)}: refused by the sandbox: {e}") \
            from None
    except (jinja2.UndefinedError, jinja2.TemplateRuntimeError) as e:
        raise InputError(f"{_where(env, template and template.filename, name)}: {e}") from None


def _where(env: jinja2.Environment, filename: str | None, name: str) -> str:
    """"template NAME", or for a project's own template "ORIGIN: template /its/path"."""
    root, origin = getattr(env, "pkgf_project_templates", None), getattr(env, "pkgf_origin", None)
    if root is None or origin is None or filename is None or not Path(filename).is_relative_to(root):
        return f"template {name}"
    return f"{origin}: template {filename}"
