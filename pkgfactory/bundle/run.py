"""The bundle pipeline: select → claim the output → open the key → compile → the bundle
key → reuse (pkgfactory.bundle.reuse) or make (pkgfactory.bundle.assemble) → publish.

What a reused bundle needs is imported here; what making one needs (the packagers,
repository tools, templates, SBOM library) is imported only when one is made: a run
that reuses a bundle costs little more than its start-up.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pkgfactory import output_guard, schedule
from pkgfactory.buildreport import REPORT_NAME, BuildReport
from pkgfactory.bundle.hostpaths import delivered_paths
from pkgfactory.bundle.inputs import bundle_key, project_sources
from pkgfactory.bundle.reuse import BundleCache
from pkgfactory.errors import InputError
from pkgfactory.keys.passphrase import ENV_VAR as PASSPHRASE_ENV
from pkgfactory.leftovers import clean_leftovers, clean_stale
from pkgfactory.keys.policy import refuse_unverifiable
from pkgfactory.output_lock import output_lock
from pkgfactory.project.select import select_build
from pkgfactory.published import make_dir, open_log, write_atomic
from pkgfactory.sign import Signer
from pkgfactory.sign.cache import signature_cache
from pkgfactory.verify.layout import MANIFEST


@dataclass
class BundleResult:
    directory: Path
    archive: Path
    fingerprint: str
    build: BuildReport
    files: int
    # {"made": n, "reused": m}: signatures made in this run, and taken verified from the signature cache
    signatures: dict | None = None
    # The bundle cache entry taken instead of making the bundle (pkgfactory.bundle.reuse): {"key", "created"}
    reused: dict | None = None


def _refuse_secret_sources(project, keys_dir, passphrase_file) -> None:
    """The project file comes from developers the key holder need not trust: a source that is
    (or is a symlink to) a file of the signing keys directory or the passphrase file would be
    packaged, signed and carried out on the USB stick."""
    keys = os.path.realpath(keys_dir)
    secrets = {os.path.realpath(f) for f in (passphrase_file, os.environ.get(PASSPHRASE_ENV)) if f}
    for key, src in project_sources(project):
        real = os.path.realpath(src)
        if real in secrets or real == keys or real.startswith(keys + os.sep):
            what = "the passphrase file" if real in secrets else f"in the signing keys directory {keys}"
            raise InputError(f"{project.path}: key '{key}': {src} is {what}; a package may never carry it")


def _log_line(log: Path, line: str, say) -> None:
    say(line)
    with open_log(log) as f:
        f.write(line + "\n")


def _reused(staged, project, matrix, out_dir: Path, say, build_options) -> BundleResult:
    """Publish a bundle taken from the bundle cache (pkgfactory.bundle.reuse.Staged) with this run's
    report and logs: its packages are the ones that bundle was made from, none built or signed in
    this run. The report and logs come first, as in a run that makes the bundle."""
    entry, results = staged.entry, staged.results
    stored = entry["report"]
    report = BuildReport(project=project, out_dir=out_dir, source_date_epoch=stored["source_date_epoch"],
                         builder=stored["builder"], tool_versions=stored["tool_versions"], inputs=stored["inputs"],
                         profiles={p.id: p for p, _a in matrix}, results=results,
                         jobs=build_options.get("jobs") or schedule.default_jobs())
    why = (f"taken from the bundle cache (bundle key {entry['key']}): the bundle made {entry['created']} "
           "from the same inputs, checked against the key; no package was built or signed in this run")
    if build_options.get("on_plan"):
        build_options["on_plan"](results)
    for r in results:
        (out_dir / r.log).unlink(missing_ok=True)
        with open_log(out_dir / r.log) as f:
            f.write(f"pkgfactory: {r.artifact}: {why}\n")
        if build_options.get("on_done"):
            build_options["on_done"](r)
    write_atomic(out_dir / REPORT_NAME, json.dumps(report.to_dict(), indent=2) + "\n")
    staged.publish()
    _log_line(out_dir / "logs" / "bundle.log", f"bundle {why}", say)
    name = entry["name"]
    manifest = json.loads((out_dir / name / MANIFEST).read_text())
    return BundleResult(directory=out_dir / name, archive=out_dir / f"{name}.tar", fingerprint=entry["fingerprint"],
                        build=report, files=len(manifest["files"]), signatures={"made": 0, "reused": 0},
                        reused={"key": entry["key"], "created": entry["created"]})


def run_bundle(project_path, *, out_dir: Path, keys_dir, builder, target_ids=(), arches=(), targets_dirs=(),
               sources_root=None, trust_templates: bool = False, fingerprint: str | None = None,
               passphrase_file=None, source_date_epoch: int | None = None, on_stage=None, prebuilt=None,
               compile_options: dict | None = None, force: bool = False,
               **build_options) -> BundleResult:
    """``prebuilt``: a directory of packages built elsewhere, ``<target>/<arch>/<package>`` (pkgfactory.prebuilt).
    ``build_options``: pkgfactory.build.Options (verbose, jobs, cache, progress callbacks)."""
    verbose = build_options.get("verbose", False)
    out_dir = Path(out_dir).absolute()
    make_dir(out_dir, "output directory")
    say = on_stage or (lambda msg: None)
    with output_lock(out_dir):
        # Refusals that need only the project, and the output directory's earlier
        # runs, before anything (even a log line) is written into it.
        project, matrix = select_build(project_path, target_ids=target_ids, arches=arches,
                                       targets_dirs=targets_dirs, sources_root=sources_root,
                                       trust_templates=trust_templates)
        skipped: list[str] = []
        supplied = {}
        if prebuilt is not None:
            from pkgfactory.prebuilt import find_prebuilt

            supplied = find_prebuilt(prebuilt, project, matrix,
                                     on_skip=lambda d, why: skipped.append(f"prebuilt {d} left out: {why}"))
        output_guard.claim(out_dir, project, matrix, force=force,
                           bundle_name=f"{project.package.name}-{project.package.version}")
        logs = out_dir / "logs"
        make_dir(logs, "log directory")
        # A killed bundle run's staging directories and tar parts, whichever way this run goes.
        clean_stale(out_dir, f"{project.package.name}-{project.package.version}")
        log = logs / "bundle.log"
        for line in skipped:
            say(line)
            with open(log, "a") as f:
                f.write(line + "\n")
        # Open the key first: a missing key or passphrase must fail before minutes of building.
        # Signatures made before by this key over the same bytes are reused once verified
        # (pkgfactory.sign.cache); --no-cache signs everything afresh.
        sig_cache = signature_cache() if build_options.get("cache", True) else None
        bundles = BundleCache() if build_options.get("cache", True) else None
        with Signer.open(keys_dir, fingerprint, passphrase_file=passphrase_file, log=log,
                         cache=sig_cache) as signer:
            # Refusals that need the project and the key, before minutes of building; a project
            # with [go] is compiled first (stage 0), for the pairs not supplied prebuilt only: a
            # floor no Go binary can meet (old-world loongarch64) is met by a prebuilt package.
            if project.go is not None:
                from pkgfactory.build import compile_defaults
                from pkgfactory.compile import compiled_project

                project = compiled_project(project, [(p, a) for p, a in matrix if (p.id, a) not in supplied],
                                           sources_root=sources_root,
                                           **compile_defaults(out_dir, source_date_epoch, verbose, compile_options))
            _refuse_secret_sources(project, keys_dir, passphrase_file)
            refuse_unverifiable(signer.key, list({p.id: p for p, _a in matrix}.values()))
            key = None
            if bundles is not None:
                key, claims = bundle_key(project, matrix, prebuilt=supplied, builder=builder, signer=signer,
                                         options={"sources_root": sources_root, "trust_templates": trust_templates,
                                                  "source_date_epoch": source_date_epoch})
                name = f"{project.package.name}-{project.package.version}"
                if bundles.holds(key):  # a run that builds clears the same itself
                    clean_leftovers(out_dir, matrix, out_dir / ".work", None)
                delivered = delivered_paths(project, sources_root=sources_root, targets_dirs=targets_dirs,
                                            prebuilt=prebuilt)
                staged = bundles.stage(key, claims=claims, delivered=delivered, name=name, out_dir=out_dir,
                                       note=lambda msg: _log_line(log, msg, say))
                if staged is not None:
                    with staged:
                        return _reused(staged, project, matrix, out_dir, say, build_options)
            from pkgfactory.bundle import assemble

            stage, report, manifest, signatures = assemble.make_stage(
                project, matrix, out_dir=out_dir, builder=builder, signer=signer, log=log, say=say,
                supplied=supplied, source_date_epoch=source_date_epoch, sources_root=sources_root,
                targets_dirs=targets_dirs, prebuilt=prebuilt, build_options=build_options)
            fpr = signer.fingerprint
        name = f"{report.project.package.name}-{report.project.package.version}"
        final, archive = assemble.publish(stage, out_dir=out_dir, name=name, fingerprint=fpr,
                                          sde=report.source_date_epoch, log=log, say=say)
        if key is not None:
            bundles.store(key, tree=final, archive=archive, out_dir=out_dir, report=report.to_dict(),
                          fingerprint=fpr, name=name, created=manifest["created"])
        return BundleResult(directory=final, archive=archive, fingerprint=fpr, build=report,
                            files=len(manifest["files"]), signatures=signatures)


__all__ = ["BundleResult", "run_bundle"]
