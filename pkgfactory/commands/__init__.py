"""CLI sub-commands, one module per command family."""

import importlib

# module name -> attribute holding the click command/group
COMMANDS = [
    ("init", "init"),
    ("targets", "targets"),
    ("probe", "probe"),
    ("inspect", "inspect"),
    ("check", "check"),
    ("keys", "keys"),
    ("builder", "builder"),
    ("build", "build"),
    ("bundle", "bundle"),
    ("verify", "verify"),
]


def register(group):
    for module, attr in COMMANDS:
        mod = importlib.import_module(f"pkgfactory.commands.{module}")
        group.add_command(getattr(mod, attr))
