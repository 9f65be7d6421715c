"""Stage 2: judge an inspected binary against a target profile."""

from __future__ import annotations

from dataclasses import dataclass, field

from pkgfactory.check import rules
from pkgfactory.check.rules import ERROR, Finding
from pkgfactory.inspect import BinaryInfo
from pkgfactory.targets import Profile


@dataclass
class Verdict:
    path: str
    arch: str
    target: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)

    def to_dict(self) -> dict:
        return {"path": self.path, "arch": self.arch, "ok": self.ok,
                "findings": [f.to_dict() for f in self.findings]}


def check_binary(info: BinaryInfo, profile: Profile, arch: str | None = None) -> Verdict:
    """Run every rule; arch-specific rules are moot once the arch itself is unsupported."""
    findings: list[Finding] = []
    for rule in rules.RULES:
        findings += rule(info, profile, arch)
        if rule is rules.arch_support and info.arch not in profile.arches:
            findings += rules.upx(info, profile, arch)
            break
    return Verdict(path=info.path, arch=info.arch, target=profile.id, findings=findings)


__all__ = ["Finding", "Verdict", "check_binary"]
