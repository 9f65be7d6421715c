"""The target probe: a POSIX sh script, kept as a data file so it ships as is.

``pkgfactory probe`` prints it; run on a target machine, it prints a profile
TOML for that machine (see the header of probe.sh).
"""

from importlib.resources import files


def script() -> str:
    return files(__name__).joinpath("probe.sh").read_text(encoding="utf-8")
