"""RPM: a spec file and rpmbuild, held to the target rpm's floors.

The spec picks a payload compressor the target's rpm can unpack and avoids
rpmlib() features it lacks; :meth:`RpmPackager.artifact_check` then reads the
finished package, because only the artifact tells what rpmbuild really did.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pkgfactory import runner
from pkgfactory.errors import InputError
from pkgfactory.package import common
from pkgfactory.package.plan import WORKDIR, BuildPlan
from pkgfactory.package.stage import stage
from pkgfactory.project import Project
from pkgfactory.render import build_context, render
from pkgfactory.render.escape import spec_script
from pkgfactory.versions import parse_version

# Preference order: xz is small and unpacks on rpm >= 4.7; gzip everywhere.
# zstd is never chosen: rpm < 4.14 cannot read it and Go binaries gain little.
PAYLOAD_PREFERENCE = ("xz", "gzip")
GZIP_PAYLOAD = "w9.gzdio"
# xz in two threads ("w1T2.xzdio", liblzma's multi-threaded encoder): half the time for a
# big payload, a few bytes more. The result is an ordinary multi-block .xz stream. Readers:
# rpm 4.11.3 and 4.17.1 open a payload as "r." + PAYLOADCOMPRESSOR (lib/rpmte.c
# rpmtePayload, rpm2cpio.c) with liblzma's stream decoder, which reads any number of
# blocks, and never parse PAYLOADFLAGS (where "1T2" is recorded) back; tests/test_oracles.py
# installs a multi-block one (test_threaded_xz_payload_*) and the bundles' own under every
# target's rpm release. Writers: rpmbuild reads the T only from 4.14 on (rpmio.c
# lzopen_internal); 4.11 takes each digit as the level, so "w1T2" would silently mean
# level 2 there.
XZ_THREADS = 2
THREADED_XZ_READERS_FROM = (4, 11)
THREADED_XZ_WRITERS_FROM = (4, 14)
SCRIPTLETS = ("pre", "post", "preun", "postun")
_QF = "%{PAYLOADCOMPRESSOR}\\n%{ARCH}\\n[%{REQUIRENAME}\\n]"


def artifact_name(project: Project, arch: str) -> str:
    p = project.package
    return f"{p.name}-{p.version}-{p.release}.{arch}.rpm"


class RpmPackager:
    format = "rpm"
    tools = ("rpmbuild",)

    def prepare(self, project: Project, profile, arch: str, workdir: Path, *,
                source_date_epoch: int | None = None, log: Path | None = None,
                rpmbuild: str | None = None, blobs=None) -> BuildPlan:
        """``rpmbuild``: the version of the rpmbuild that will run the plan (None: unknown)."""
        common.need_profile_family(profile, "rpm")
        common.need_arch(profile, arch)
        sde = common.source_date_epoch(project, source_date_epoch)
        _check_floors(project, profile)
        workdir = Path(workdir).absolute()
        if workdir.exists():
            shutil.rmtree(workdir)
        top = workdir / "rpmbuild"
        for d in ("SPECS", "SOURCES/scripts", "BUILD", "RPMS", "SRPMS"):
            (top / d).mkdir(parents=True, exist_ok=True)
        (workdir / "home").mkdir()

        ctx = build_context(project, profile, arch, "rpm", sde)
        ctx["payload"] = payload_for(profile, rpmbuild, common.xz_level(project))
        # Weak dependencies came with rpm 4.12: older rpm ignores them, and an
        # older rpmbuild (a CentOS 7 builder) refuses the tag.
        ctx["weak_deps"] = parse_version(profile.versions.get("rpm", "0")) >= (4, 12)
        env = common.template_env(project)
        scriptlets = []
        for name in SCRIPTLETS:
            text = common.render_script(env, f"spec/{name}.sh.j2", ctx, log)
            if text is not None:
                # rpmbuild expands macros in "-f" scriptlet files too (rpm build/files.c).
                common.write(top / "SOURCES" / "scripts" / f"{name}.sh", spec_script(text))
                scriptlets.append(name)
        ctx["scriptlets"] = scriptlets
        spec = common.write(top / "SPECS" / f"{project.package.name}.spec", render(env, "spec/package.spec.j2", ctx))
        stage(ctx["entries"], top / "SOURCES" / "root", sde, blobs)

        return BuildPlan(
            format="rpm", target=profile.id, arch=arch, workdir=workdir,
            argv=("rpmbuild", "-bb", "--target", arch,
                  "--define", f"_topdir {WORKDIR}/rpmbuild",
                  f"{WORKDIR}/rpmbuild/SPECS/{spec.name}"),
            cwd=".",
            env={**common.BASE_ENV, "SOURCE_DATE_EPOCH": str(sde), "HOME": f"{WORKDIR}/home"},
            artifact=f"rpmbuild/RPMS/{arch}/{artifact_name(project, arch)}",
            tools=self.tools,
            profile=profile,
        )

    def artifact_check(self, path: Path, profile, arch: str | None = None, log: Path | None = None) -> list[str]:
        """Problems that stop this rpm from installing on the target (empty: none)."""
        proc = runner.run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", _QF, str(path)], log=log)
        lines = proc.stdout.splitlines()
        compressor, got_arch, requires = lines[0].strip(), lines[1].strip(), [ln.strip() for ln in lines[2:]]
        problems = []
        allowed = profile.packaging.get("rpm_payloads", ["gzip"])
        if compressor not in allowed:
            problems.append(f"payload is {compressor}-compressed; {profile.id}'s rpm reads {', '.join(allowed)}")
        have = set(profile.packaging.get("rpmlib", ()))
        for req in requires:
            if req.startswith("rpmlib(") and req.endswith(")") and req[7:-1] not in have:
                problems.append(f"requires {req}, which {profile.id}'s rpm {profile.versions.get('rpm', '?')} lacks")
            elif req.startswith(("user(", "group(")):
                problems.append(f"requires {req}: rpm >= 4.19 generated it and nothing on {profile.id} provides it")
        if arch and got_arch != arch:
            problems.append(f"is built for {got_arch}, not {arch}")
        return problems


def payload_for(profile, rpmbuild: str | None = None, level: int = common.DEFAULT_XZ_LEVEL) -> str:
    """The %_binary_payload for ``profile``: xz at ``level``, threaded where both rpms handle it."""
    if profile.first_allowed("rpm_payloads", PAYLOAD_PREFERENCE, ["gzip"], "payload compressors") == "gzip":
        return GZIP_PAYLOAD
    if (rpmbuild is not None
            and parse_version(profile.versions.get("rpm", "0")) >= THREADED_XZ_READERS_FROM
            and parse_version(rpmbuild) >= THREADED_XZ_WRITERS_FROM):
        return f"w{level}T{XZ_THREADS}.xzdio"
    return f"w{level}.xzdio"


def _check_floors(project: Project, profile) -> None:
    """Refuse early what would need an rpmlib() feature the target lacks."""
    have = set(profile.packaging.get("rpmlib", ()))
    rel = project.relations_for(profile.id, "rpm")
    for kind in ("depends", "recommends"):
        for dep in getattr(rel, kind):
            if len(dep.alternatives) > 1 and "RichDependencies" not in have:
                raise InputError(f"{project.path}: key 'relations.{kind}': alternatives ('|') become rpm rich "
                                 f"dependencies, which {profile.id}'s rpm cannot read; move them to "
                                 "[relations.deb] or a [relations.targets.<id>] table")
    if "~" in project.package.evr and "TildeInVersions" not in have:
        raise InputError(f"{project.path}: key 'package.version': '~' needs rpmlib(TildeInVersions), "
                         f"which {profile.id}'s rpm lacks")
