"""DEB: a debian/ tree and dpkg-buildpackage, held to the target dpkg's floors.

debian/rules uses plain dpkg tools (dpkg-gencontrol, dpkg-deb), present on
every Debian-family builder, and passes -Z with a compressor the target's
dpkg can unpack. :meth:`DebPackager.artifact_check` reads the finished .deb.
"""

from __future__ import annotations

import io
import re
import shutil
import tarfile
from pathlib import Path

from pkgfactory import runner
from pkgfactory.package import common
from pkgfactory.package.plan import WORKDIR, BuildPlan
from pkgfactory.package.stage import stage
from pkgfactory.project import Project
from pkgfactory.render import build_context, render
from pkgfactory.versions import parse_version

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
                rpmbuild: str | None = None) -> BuildPlan:
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
        stage(ctx["entries"], src / "root", sde)

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
        """Problems that stop this .deb from installing on the target (empty: none)."""
        members = read_ar(Path(path))
        names = [n for n, _ in members]
        problems = []
        if not names or names[0] != "debian-binary" or members[0][1] != b"2.0\n":
            return [f"is not a deb 2.0 archive (members: {', '.join(names) or 'none'})"]
        allowed = profile.packaging.get("deb_compressors", ["gzip"])
        control = None
        for name, data in members[1:]:
            m = re.match(r"^(control|data)\.tar(\.[a-z0-9]+)?$", name)
            if not m:
                continue
            comp = _EXT.get(m.group(2) or "", m.group(2))
            if comp not in allowed:
                problems.append(f"{name} is {comp}-compressed; {profile.id}'s dpkg reads {', '.join(allowed)}")
            elif m.group(1) == "control":
                control = _control_file(data)
        if control is None and not problems:
            # Python's tarfile has no zstd (before 3.14): let dpkg-deb read it.
            control = runner.run(["dpkg-deb", "-f", str(path)], log=log).stdout
        if control is None:
            return problems
        fields = _parse_control(control)
        if arch and fields.get("Architecture") not in (profile.dpkg_arch(arch), "all"):
            problems.append(f"is built for {fields.get('Architecture')}, not {profile.dpkg_arch(arch)}")
        dpkg = profile.versions.get("dpkg")
        for field in ("Pre-Depends", "Depends"):
            for m in re.finditer(r"\bdpkg\s*\(\s*(>=|>>|=)\s*([^)\s]+)\s*\)", fields.get(field, "")):
                if dpkg and parse_version(m.group(2)) > parse_version(dpkg):
                    problems.append(f"{field} dpkg ({m.group(1)} {m.group(2)}), {profile.id} has dpkg {dpkg}")
        return problems


def read_ar(path: Path) -> list[tuple[str, bytes]]:
    """Members of an ar archive (the .deb container), in order."""
    data = path.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        return []
    out, pos = [], 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip() or 0)
        out.append((name, data[pos + 60:pos + 60 + size]))
        pos += 60 + size + (size % 2)
    return out


def _control_file(member: bytes) -> str | None:
    try:
        with tarfile.open(fileobj=io.BytesIO(member), mode="r:*") as tar:
            for info in tar.getmembers():
                if info.name in ("./control", "control"):
                    return tar.extractfile(info).read().decode("utf-8", "replace")
    except (tarfile.TarError, OSError, EOFError):
        return None
    return None


def _parse_control(text: str) -> dict[str, str]:
    fields, key = {}, None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line
        elif ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields
