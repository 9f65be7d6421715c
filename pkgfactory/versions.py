"""Dotted version numbers as tuples, for floor comparisons (glibc, kernel, rpm...)."""

import re

_NUM = re.compile(r"\d+")


def parse_version(text: str) -> tuple[int, ...]:
    """'4.19.90-52.v2207.ky10' -> (4, 19, 90); '2.28' -> (2, 28).

    Only the leading dotted numeric part counts: distro suffixes after '-'
    or letters do not order meaningfully across vendors.
    """
    m = re.match(r"\s*v?(\d+(?:\.\d+)*)", text or "")
    if not m:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(x) for x in m.group(1).split("."))


def version_key(text: str) -> tuple[int, ...]:
    try:
        return parse_version(text)
    except ValueError:
        return ()
