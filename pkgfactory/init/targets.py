"""Which targets a drafted project gets: those where `pkgfactory check` passes every binary."""

from __future__ import annotations

from dataclasses import dataclass, field

from pkgfactory.check import check_binary


@dataclass
class TargetChoice:
    passing: list[str] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (id, the findings that fail it)
    warnings: dict[str, list[str]] = field(default_factory=dict)  # id -> warning codes on a passing target


def choose_targets(infos: dict[str, list], profiles, families=("rpm", "deb")) -> TargetChoice:
    """``infos``: arch -> the inspected binaries of that arch (every [[binary]] of the draft).

    A target passes when it has at least one of the arches and every binary of
    each arch it has passes the check there (warnings allowed, and named).
    """
    out = TargetChoice()
    for profile in sorted(profiles, key=lambda p: (p.family, p.id)):
        if profile.family not in families:
            continue
        arches = [a for a in infos if a in profile.arches]
        if not arches:
            out.excluded.append((profile.id, f"no {'/'.join(infos)} edition"))
            continue
        errors, warnings = [], []
        for arch in arches:
            for info in infos[arch]:
                for f in check_binary(info, profile, arch).findings:
                    (errors if f.severity == "error" else warnings).append(f.code)
        if errors:
            out.excluded.append((profile.id, ", ".join(dict.fromkeys(errors))))
        else:
            out.passing.append(profile.id)
            if warnings:
                out.warnings[profile.id] = list(dict.fromkeys(warnings))
    return out
