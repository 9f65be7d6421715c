"""Stage 0: compile the project's Go module, per arch, against the lowest floor of the chosen targets.

``compile_project(project, matrix)`` returns a :class:`CompileReport`;
``compiled_project`` is the hook build and bundle call first: the project with
its ``go`` binaries compiled. Modules, one job each: ``floors`` (what the
profiles demand), ``toolchain`` (go and zig), ``module`` (go.mod and commit),
``command`` (the go invocation), ``cache`` (content-keyed results),
``stage`` (the order of it all).

The stage loads on first use: the commands import ``pkgfactory.compile.cache`` for
its settings on every run, compiling or not.
"""

from __future__ import annotations

import importlib

__all__ = ["CompileReport", "Compiled", "compile_project", "compiled_project"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("pkgfactory.compile.stage"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
