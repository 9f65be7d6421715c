"""Stage: built packages → signed repositories → one self-verifying bundle directory and tar.

Everything is written into a staging directory next to the final one; the
bundle is verified there with the same code auditors run, and only then
renamed to ``OUT/<name>-<version>`` (and the tar to ``<name>-<version>.tar``).
A run killed at any moment leaves, under the final names, either the previous
complete bundle or the new complete one — never a half. (The tar is renamed
into place first: for a moment the tar may be the new bundle and the directory
still the previous one, each complete and verifiable.)
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from pathlib import Path

from pkgfactory import __version__
from pkgfactory.build import build_planned
from pkgfactory.buildreport import BuildReport
from pkgfactory.bundle.archive import normalise_modes, write_tar
from pkgfactory.bundle.hostpaths import delivered_paths
from pkgfactory.bundle.installer import render_installer, target_meta
from pkgfactory.bundle.page import write_page
from pkgfactory.bundle.readme import render_readme
from pkgfactory.bundle.repos import make_repos
from pkgfactory.digest import sha256_file
from pkgfactory.errors import PkgfError
from pkgfactory.published import publish_dir, publish_mode
from pkgfactory.sbom import sbom_for_binary
from pkgfactory.verify import verify_bundle
from pkgfactory.verify.layout import FORMAT, KEY, KEY_FPR, MANIFEST, NOT_IN_MANIFEST, SUMS, SUMS_SIG, walk_files


def _staging(out_dir: Path, name: str) -> Path:
    stage = out_dir / f".{name}.staging-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    return stage


def _sboms(stage: Path, report: BuildReport, sde: int) -> None:
    project = report.project
    when = datetime.datetime.fromtimestamp(sde, datetime.timezone.utc)
    (stage / "sbom").mkdir()
    for binary in project.binaries:
        for arch in sorted({r.arch for r in report.results}):
            src = binary.sources.get(arch)
            if src is None:
                continue
            text = sbom_for_binary(report.infos[(binary.dest, arch)], package_name=project.package.name,
                                   package_version=project.package.version, timestamp=when)
            (stage / "sbom" / f"{Path(binary.dest).name}-{arch}.cdx.json").write_text(text)


def _reports(stage: Path, report: BuildReport, delivered) -> None:
    (stage / "reports").mkdir()
    (stage / "reports" / "build-report.json").write_text(json.dumps(delivered(report.to_dict()), indent=2) + "\n")
    checks = [{"target": r.target, "arch": r.arch, "checks": r.checks, "waivers": r.waivers}
              for r in report.results]
    (stage / "reports" / "check-report.json").write_text(json.dumps(delivered(checks), indent=2) + "\n")


def _bundle_meta(report: BuildReport, fingerprint: str) -> dict:
    """What install.sh is rendered from (schema in pkgfactory.bundle.installer)."""
    project = report.project
    # The glibc each bundled binary needs, so install.sh asks for that and not the floor.
    needs = {a: [(b.dest, report.infos[(b.dest, a)].elf.glibc_max) for b in project.binaries]
             for a in dict.fromkeys(r.arch for r in report.results)
             if all((b.dest, a) in report.infos for b in project.binaries)}
    tlist = []
    for target_id in dict.fromkeys(r.target for r in report.results):
        results = [r for r in report.results if r.target == target_id]
        # A prebuilt package's binaries are not the project's sources: held to the floor.
        built = {r.arch: needs[r.arch] for r in results if not r.prebuilt and r.arch in needs}
        tlist.append(target_meta(report.profiles[target_id], [r.arch for r in results],
                                 prebuilt=[r.arch for r in results if r.prebuilt], binaries=built))
    k = project.kernel
    return {
        "name": project.package.name,
        "version": f"{project.package.version}-{project.package.release}",
        "evr": project.package.evr,
        "packages": [project.package.name],
        "fingerprint": fingerprint,
        "kernel": {"min": k.min, "max": k.max},
        "kernel_modules": list(k.modules),
        "targets": tlist,
    }


def _readme_meta(report: BuildReport, meta: dict) -> dict:
    p = report.project.package

    def having(key, value):
        return [{"id": t["id"], "built": [a["name"] for a in t["arches"] if not a["prebuilt"]],
                 "prebuilt": [a["name"] for a in t["arches"] if a["prebuilt"]]}
                for t in meta["targets"] if t.get("policy", {}).get(key) == value]

    return {"name": p.name, "version": p.version, "release": p.release, "fingerprint": meta["fingerprint"],
            "targets": meta["targets"], "kernel": {"modules": meta["kernel_modules"]},
            "uos": having("deb_signature", "uos-verifysign"), "kysec": having("exec_control", "kysec")}


def _manifest(stage: Path, report: BuildReport, packages: list[dict], fingerprint: str, sde: int, delivered) -> dict:
    files, odd = walk_files(stage)
    if odd:
        raise PkgfError(f"bundle staging holds non-regular files: {', '.join(odd)}")
    for pkg in packages:
        pkg["sha256"] = sha256_file(stage / pkg["path"])
    p = report.project.package
    return {
        "format": FORMAT,
        "package": {"name": p.name, "version": p.version, "release": p.release, "epoch": p.epoch},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source_date_epoch": sde,
        "pkgfactory": __version__,
        "key": {"fingerprint": fingerprint, "file": KEY},
        "targets": sorted({r.target for r in report.results}),
        "arches": sorted({r.arch for r in report.results}),
        "packages": packages,
        "checks": delivered([{"target": r.target, "arch": r.arch, "checks": r.checks, "waivers": r.waivers}
                             for r in report.results]),
        "tool_versions": report.tool_versions,
        "builder": report.builder,
        "files": [{"path": f, "sha256": sha256_file(stage / f), "size": (stage / f).stat().st_size}
                  for f in files if f not in NOT_IN_MANIFEST],
    }


def _sums(stage: Path) -> None:
    files, _ = walk_files(stage)
    lines = [f"{sha256_file(stage / f)}  {f}" for f in files if f not in (SUMS, SUMS_SIG)]
    (stage / SUMS).write_text("\n".join(lines) + "\n")


def _tar(stage: Path, name: str, dest: Path, sde: int) -> None:
    """The deterministic tar (pkgfactory.bundle.archive), written whole before it takes its name."""
    tmp = dest.with_name(f".{name}.tar.part-{os.getpid()}")
    with open(tmp, "wb") as fh:
        write_tar(stage, name, fh, sde)
        fh.flush()
        os.fsync(fh.fileno())
    publish_mode(tmp)
    os.replace(tmp, dest)


def make_stage(project, matrix, *, out_dir: Path, builder, signer, log: Path, say, supplied: dict,
               source_date_epoch, sources_root, targets_dirs, prebuilt, build_options: dict):
    """Build the packages, then sign, index and describe them in a staging directory next to the
    final one. Returns (staging directory, build report, manifest, signatures made and reused)."""
    say("build")
    report = build_planned(project, matrix, out_dir=out_dir, builder=builder,
                           source_date_epoch=source_date_epoch, prebuilt=supplied, **build_options)
    if not report.ok:
        failed = [f"{r.target}/{r.arch}" for r in report.results if not r.ok]
        raise PkgfError(f"bundle not made: {len(failed)} package(s) failed ({', '.join(failed)}); "
                        f"see {out_dir / 'build-report.json'}", exit_code=1)
    project = report.project
    name = f"{project.package.name}-{project.package.version}"
    sde = report.source_date_epoch
    stage = _staging(out_dir, name)
    say("sign and index")
    packages, rpm_checks = make_repos(stage, report, signer, sde, log, jobs=report.jobs)
    (stage / KEY).write_bytes(signer.public_key(armor=True))
    (stage / "KEY.gpg").write_bytes(signer.public_key(armor=False))
    (stage / KEY_FPR).write_text(signer.fingerprint + "\n")
    say("sbom and reports")
    _sboms(stage, report, sde)
    delivered = delivered_paths(project, sources_root=sources_root, targets_dirs=targets_dirs, prebuilt=prebuilt)
    _reports(stage, report, delivered)
    meta = _bundle_meta(report, signer.fingerprint)
    (stage / "install.sh").write_text(render_installer(meta))
    (stage / "README.txt").write_text(render_readme(_readme_meta(report, meta)))
    write_page(stage, report, packages, signer.fingerprint, meta, log, rpm_checks=rpm_checks)
    manifest = _manifest(stage, report, packages, signer.fingerprint, sde, delivered)
    (stage / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    _sums(stage)
    # Never reused: SHA256SUMS lists manifest.json, whose "created" is this run's.
    signer.detach_sign(stage / SUMS, armor=True, out=stage / SUMS_SIG, reuse=False)
    normalise_modes(stage)
    return stage, report, manifest, {"made": signer.signed, "reused": signer.reused}


def publish(stage: Path, *, out_dir: Path, name: str, fingerprint: str, sde: int, log: Path, say) -> tuple[Path, Path]:
    """Verify the staged bundle with the code auditors run; only then the tar and the directory
    take their final names. Returns (directory, tar)."""
    say("self-verify")
    check = verify_bundle(stage, fingerprint, log=log)
    if not check.ok:
        shutil.rmtree(stage, ignore_errors=True)
        first = "; ".join(f"{f}: {w}" for f, w in check.problems[:3])
        raise PkgfError(f"bundle failed its own verification ({first}); nothing was published", exit_code=1)
    final = out_dir / name
    archive = out_dir / f"{name}.tar"
    say("publish")
    _tar(stage, name, archive, sde)
    publish_dir(stage, final)
    return final, archive


__all__ = ["make_stage", "publish"]
