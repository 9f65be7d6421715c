"""Rendering of spec files, debian/ trees and scriptlets from jinja2 templates.

``environment(project_templates)`` loads a project's templates before the
built-in ones; ``render(env, name, context)`` renders one; every printed
value must pass through the escaping filter of its output format
(see :mod:`pkgfactory.render.escape`).
"""

from pkgfactory.render.context import build_context
from pkgfactory.render.env import builtin_dir, environment, render

__all__ = ["build_context", "builtin_dir", "environment", "render"]
