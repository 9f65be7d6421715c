"""Stage 0: compile the project's Go module, per arch, against the lowest floor of the chosen targets.

``compile_project(project, matrix)`` returns a :class:`CompileReport`;
``compiled_project`` is the hook build and bundle call first: the project with
its ``go`` binaries compiled. Modules, one job each: ``floors`` (what the
profiles demand), ``toolchain`` (go and zig), ``module`` (go.mod and commit),
``command`` (the go invocation), ``cache`` (content-keyed results),
``stage`` (the order of it all).
"""

from pkgfactory.compile.stage import CompileReport, Compiled, compile_project, compiled_project

__all__ = ["CompileReport", "Compiled", "compile_project", "compiled_project"]
