"""DEB: a debian/ tree and dpkg-buildpackage, held to the target dpkg's floors.

debian/rules uses plain dpkg tools (dpkg-gencontrol, dpkg-deb), present on
every Debian-family builder, and passes -Z with a compressor the target's
dpkg can unpack. :meth:`DebPackager.artifact_check` reads the finished .deb with
python-debian (in place; relations and versions compared as dpkg compares them).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from debian import arfile, deb822, debfile
from debian.debian_support import Version

from pkgfactory import runner
from pkgfactory.package import common
from pkgfactory.package.plan import WORKDIR, BuildPlan
from pkgfactory.package.stage import stage
from pkgfactory.project import Project
from pkgfactory.render import build_context, render

# xz: smaller, dpkg >= 1.15.6 reads data.tar.xz and >= 1.17.6 control.tar.xz.
# zstd is never chosen: dpkg < 1.21.18 (Debian 11, Kylin/UOS desktops) cannot read it.
COMPRESSORS = ("xz", "gzip")
_EXT = {"": "none", ".gz": "gzip", ".xz": "xz", ".zst": "zstd", ".bz2": "bzip2", ".lzma": "lzma"}
MAINTSCRIPTS = ("preinst", "postinst", "prerm", "postrm")
# Debian's /usr/share/common-licenses: DEP-5 copyright files point there.
COMMON_LICENSES = ("Apache-2.0", "GPL-2", "GPL-3", "LGPL-2", "LGPL-2.1", "LGPL-3", "MPL-1.1", "MPL-2.0",
                   "CC0-1.0", "Artistic", "GFDL-1.2", "GFDL-1.3")


def artifact_name(project: Project, debarch: str) -> str:
    p = project.package
    return f"{p.name}_{p.version}-{p.release}_{debarch}.deb"  # dpkg-deb leaves the epoch out


class DebPackager:
    format = "deb"
    tools = ("dpkg-buildpackage", "dpkg-gencontrol", "dpkg-deb", "make", "md5sum", "gzip")

    def prepare(self, project: Project, profile, arch: str, workdir: Path, *,
                source_date_epoch: int | None = None, log: Path | None = None,
                rpmbuild: str | None = None, blobs=None) -> BuildPlan:
        """``rpmbuild`` is for the rpm packager's sake (one interface); dpkg-deb threads xz itself."""
        common.need_profile_family(profile, "deb")
        common.need_arch(profile, arch)
        sde = common.source_date_epoch(project, source_date_epoch)
        workdir = Path(workdir).absolute()
        if workdir.exists():
            shutil.rmtree(workdir)
        src = workdir / "src"
        (src / "debian" / "source").mkdir(parents=True)
        (workdir / "home").mkdir()

        debarch = profile.dpkg_arch(arch)
        ctx = build_context(project, profile, arch, "deb", sde)
        compressor = profile.first_allowed("deb_compressors", COMPRESSORS, ["gzip"], "compressors")
        # dpkg-deb compresses xz with liblzma's multi-threaded encoder whatever --threads-max says
        # (multi-block streams, which every xz-reading dpkg unpacks); only the preset is ours.
        ctx.update(deb_arch=debarch, compressor=compressor,
                   compress_level=common.xz_level(project) if compressor == "xz" else None,
                   common_license=(f"/usr/share/common-licenses/{project.package.license}"
                                   if project.package.license in COMMON_LICENSES else None))
        env = common.template_env(project)
        d = src / "debian"
        for name in ("control", "changelog", "copyright", "source/format"):
            common.write(d / name, render(env, f"debian/{name}.j2", ctx))
        common.write(d / "rules", render(env, "debian/rules.j2", ctx), 0o755)
        if ctx["configs"]:
            common.write(d / "conffiles", render(env, "debian/conffiles.j2", ctx))
        for name in MAINTSCRIPTS:
            text = common.render_script(env, f"debian/{name}.j2", ctx, log)
            if text is not None:
                common.write(d / name, text, 0o755)
        stage(ctx["entries"], src / "root", sde, blobs)

        return BuildPlan(
            format="deb", target=profile.id, arch=arch, workdir=workdir,
            # -b: binary only; -d: no build-dependency check (the rules need only
            # dpkg-dev, and a cross -a would ask for a cross toolchain we never use).
            argv=("dpkg-buildpackage", "-b", "-us", "-uc", "-d", f"--host-arch={debarch}"),
            cwd="src",
            env={**common.BASE_ENV, "SOURCE_DATE_EPOCH": str(sde), "HOME": f"{WORKDIR}/home"},
            artifact=artifact_name(project, debarch),
            tools=self.tools,
            profile=profile,
        )

    def artifact_check(self, path: Path, profile, arch: str | None = None, log: Path | None = None) -> list[str]:
        """Problems that stop this .deb from installing on the target (empty: none).

        python-debian reads the archive in place (member by member, never the
        whole file) and parses the control file and relations as dpkg does.
        """
        try:
            deb = debfile.DebFile(str(path))
        except (debfile.DebError, arfile.ArError, OSError, ValueError) as e:
            return [f"is not a deb 2.0 archive ({' '.join(str(e).split())})"]
        with deb:
            names = deb.getnames()
            if names[:1] != ["debian-binary"] or deb.version != b"2.0":
                return [f"is not a deb 2.0 archive (members: {', '.join(names) or 'none'})"]
            problems = self._compression_problems(names, profile)
            ctrl = next(n for n in names if n.startswith("control.tar"))
            control = None
            if any(p.startswith(f"{ctrl} ") for p in problems):
                return problems  # the target's dpkg cannot even read the control part
            if _member_compression(ctrl) != "zstd":
                try:
                    control = deb.debcontrol()
                except (debfile.DebError, OSError, EOFError, ValueError) as e:
                    return problems + [f"{ctrl} cannot be read ({' '.join(str(e).split())})"]
        if control is None:
            # Python's tarfile has no zstd (before 3.14), and python-debian would run unzstd
            # itself: dpkg-deb reads it, through the runner like every tool.
            control = deb822.Deb822(runner.run(["dpkg-deb", "-f", str(path)], log=log).stdout)
        want = profile.dpkg_arch(arch) if arch else None
        if want and control.get("Architecture") not in (want, "all"):
            problems.append(f"is built for {control.get('Architecture')}, not {want}")
        return problems + _dpkg_relation_problems(control, profile)

    @staticmethod
    def _compression_problems(names: list[str], profile) -> list[str]:
        allowed = profile.packaging.get("deb_compressors", ["gzip"])
        problems = []
        for name in names[1:]:
            comp = _member_compression(name)
            if comp is not None and comp not in allowed:
                problems.append(f"{name} is {comp}-compressed; {profile.id}'s dpkg reads {', '.join(allowed)}")
        return problems


def _member_compression(name: str) -> str | None:
    """The compressor of a control.tar* / data.tar* member ('none' for a plain tar); None for others."""
    m = re.match(r"^(control|data)\.tar(\.[a-z0-9]+)?$", name)
    return _EXT.get(m.group(2) or "", (m.group(2) or "")[1:]) if m else None


def _satisfied(have: Version, op: str, want: str) -> bool:
    """Whether version ``have`` meets ``op want``, compared as dpkg compares (epochs, '~')."""
    cmp = (have > Version(want)) - (have < Version(want))
    return {"<<": cmp < 0, "<=": cmp <= 0, "=": cmp == 0, ">=": cmp >= 0, ">>": cmp > 0}[op]


def _dpkg_relation_problems(control, profile) -> list[str]:
    """Pre-Depends/Depends on dpkg that the target's dpkg cannot meet, judged as dpkg judges them."""
    have = profile.versions.get("dpkg")
    if not have:
        return []
    problems = []
    for field in ("Pre-Depends", "Depends"):
        if not control.get(field, "").strip():
            continue  # python-debian logs a warning for an empty field
        for group in deb822.PkgRelation.parse_relations(control[field]):
            on_dpkg = [alt for alt in group if alt["name"] == "dpkg" and alt.get("version")]
            # An alternative other than dpkg may still be met: only all-dpkg groups are judged.
            if not on_dpkg or len(on_dpkg) != len(group):
                continue
            if not any(_satisfied(Version(have), *alt["version"]) for alt in on_dpkg):
                wanted = " | ".join(f"dpkg ({alt['version'][0]} {alt['version'][1]})" for alt in on_dpkg)
                problems.append(f"{field} {wanted}, {profile.id} has dpkg {have}")
    return problems
