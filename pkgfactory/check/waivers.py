"""What a project waives of a verdict: each error finding either has a waiver (with its reason) or blocks."""

from __future__ import annotations

from pkgfactory.check import Verdict
from pkgfactory.check.rules import ERROR


def apply_waivers(project, verdict: Verdict, binary: str, target: str, arch: str) -> tuple[list[dict], list[str]]:
    """(waivers used, one line per unwaived error) for ``binary``'s verdict on ``target`` ``arch``."""
    waived, blocking = [], []
    for f in verdict.findings:
        if f.severity != ERROR:
            continue
        waiver = project.waived(target, arch, f.code)
        if waiver:
            waived.append({"binary": binary, "code": f.code, "reason": waiver.reason, "message": f.message})
        else:
            blocking.append(f"{binary}: {f.code}: {f.message}")
    return waived, blocking
