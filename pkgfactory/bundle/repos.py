"""Bundle stage: the built packages → signed RPMs → one signed yum repository per rpm target × arch
and one signed apt repository per deb target.

Every signature costs gpg-agent the passphrase derivation of the key (docs/signing.md), so
the work is laid out to spend them well: all RPMs of the bundle are signed first, in one
rpmsign run per signature kind (or one per job), then the repositories, which are
independent of each other, are indexed and signed ``jobs`` at a time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pkgfactory import schedule
from pkgfactory.repo import make_apt_repo, make_yum_repo


def make_repos(stage: Path, report, signer, sde: int, log: Path, jobs: int = 1) -> tuple[list[dict], dict]:
    """Write ``stage/repos``; returns the bundle's package list (target, arch, format, path), by target,
    and rpm's check of each RPM's signatures against the key, by its path in the bundle."""
    out = report.out_dir
    signing = stage / ".signing"
    by_target: dict[str, list] = {}
    for r in report.results:
        by_target.setdefault(r.target, []).append(r)

    signed: dict[tuple[str, str], Path] = {}
    kinds: dict[bool, list[Path]] = {}
    for target_id, results in by_target.items():
        profile = report.profiles[target_id]
        if profile.family != "rpm":
            continue
        v3 = profile.packaging.get("rpm_signature", "v3") == "v3"
        for r in results:
            rpm = signing / target_id / r.arch / Path(r.artifact).name
            rpm.parent.mkdir(parents=True)
            shutil.copyfile(out / r.artifact, rpm)
            signed[(target_id, r.arch)] = rpm
            kinds.setdefault(v3, []).append(rpm)
    checks = {}
    for v3, rpms in kinds.items():
        checks.update(zip(rpms, signer.sign_rpms(rpms, v3=v3, jobs=jobs)))

    def yum(item) -> None:
        (target_id, arch), rpm = item
        make_yum_repo(stage / "repos" / "rpm" / target_id / arch, [rpm], report.profiles[target_id], log,
                      signer=signer, epoch=sde, move=True)

    def apt(target_id) -> None:
        results = by_target[target_id]
        profile = report.profiles[target_id]
        make_apt_repo(stage / "repos" / "deb" / target_id, target_id, [out / r.artifact for r in results],
                      [profile.dpkg_arch(r.arch) for r in results], log, signer=signer, date=sde,
                      label=report.project.package.name)

    work = [(yum, item) for item in signed.items()]
    work += [(apt, t) for t in by_target if report.profiles[t].family != "rpm"]
    schedule.run_all(work, lambda w: w[0](w[1]), jobs)
    shutil.rmtree(signing, ignore_errors=True)

    packages, rpm_checks = [], {}
    for target_id, results in by_target.items():
        fmt = report.profiles[target_id].family
        for r in results:
            if fmt == "rpm":
                path = stage / "repos" / "rpm" / target_id / r.arch / "Packages" / Path(r.artifact).name
                rpm_checks[path.relative_to(stage).as_posix()] = checks[signed[(target_id, r.arch)]]
            else:
                path = next((stage / "repos" / "deb" / target_id).rglob(Path(r.artifact).name))
            packages.append({"target": target_id, "arch": r.arch, "format": fmt, "prebuilt": bool(r.prebuilt),
                             "path": path.relative_to(stage).as_posix()})
    return packages, rpm_checks
