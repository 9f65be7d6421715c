"""CLI sub-commands, one module per command family."""

# module name (= the command's name) -> attribute holding the click command/group
COMMANDS = [
    ("init", "init"),
    ("targets", "targets"),
    ("probe", "probe"),
    ("inspect", "inspect"),
    ("check", "check"),
    ("keys", "keys"),
    ("builder", "builder"),
    ("compile", "compile_"),
    ("build", "build"),
    ("bundle", "bundle"),
    ("verify", "verify"),
]


def register(group):
    """Name every command to ``group``; each module is imported only when its command runs."""
    group.lazy = {**group.lazy, **{module: (f"{__name__}.{module}", attr) for module, attr in COMMANDS}}
