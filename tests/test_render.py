"""Templates: escaping per format, enforced escaping, overrides, and the rendered trees."""

from __future__ import annotations

import subprocess

import pytest

from hello_example import copy_example, edit
from pkgfactory import targets
from pkgfactory.errors import InputError
from pkgfactory.package import DebPackager, RpmPackager
from pkgfactory.project import load
from pkgfactory.render import builtin_dir, environment, render
from pkgfactory.render import escape


# --- filters ------------------------------------------------------------------------

def test_spec_filter_escapes_macros():
    assert escape.spec("100% %{lua: x} %(id)") == "100%% %%{lua: x} %%(id)"
    assert escape.spec("x").fmt == "spec"
    with pytest.raises(Exception, match="one line"):
        escape.spec("a\n%post")


def test_spec_text_neutralises_section_lines():
    out = escape.spec_text("first\n%post\ntouch /tmp/z\n  %%files\n\nlast %{x}")
    assert out.split("\n") == ["first", " %%post", "touch /tmp/z", "  %%%%files", "", "last %%{x}"]


def test_control_filters_disable_substvars():
    assert escape.control("a $(id) ${Newline} `x`") == "a ${}(id) ${}{Newline} `x`"
    assert escape.control_text("one\n\n  two $x") == " one\n .\n   two ${}x"


def test_sh_and_make_filters():
    assert escape.sh("it's $(x)") == "'it'\"'\"'s $(x)'"
    assert escape.sh("plain-name") == "plain-name"
    assert escape.make("a$b") == "a$$b"
    for bad in ("a b", "a#b", "a\nb"):
        with pytest.raises(Exception):
            escape.make(bad)


def test_unescaped_value_is_refused(tmp_path):
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "package.spec.j2").write_text("Name: {{ pkg.name }}\n")
    env = environment(tmp_path)
    with pytest.raises(InputError, match="without an escaping filter"):
        render(env, "spec/package.spec.j2", {"pkg": {"name": "x"}})


def test_value_escaped_for_another_format_is_refused(tmp_path):
    (tmp_path / "debian").mkdir()
    (tmp_path / "debian" / "control.j2").write_text("Package: {{ name|spec }}\n")
    with pytest.raises(InputError, match="escaped for 'spec'"):
        render(environment(tmp_path), "debian/control.j2", {"name": "x"})
    (tmp_path / "debian" / "control.j2").write_text("Package: {{ 'literal' }}\n")
    with pytest.raises(InputError, match="without an escaping filter"):
        render(environment(tmp_path), "debian/control.j2", {})


def test_undefined_variable_is_an_error(tmp_path):
    (tmp_path / "debian").mkdir()
    (tmp_path / "debian" / "control.j2").write_text("Package: {{ nope|control }}\n")
    with pytest.raises(InputError, match="nope"):
        render(environment(tmp_path), "debian/control.j2", {})


def test_builtin_templates_found_through_the_package():
    d = builtin_dir()
    assert d.name == "templates" and (d / "spec" / "package.spec.j2").is_file()
    for name in ("control", "changelog", "rules", "copyright", "conffiles", "preinst", "postinst", "prerm",
                 "postrm", "source/format"):
        assert (d / "debian" / f"{name}.j2").is_file(), name


# --- whole trees ----------------------------------------------------------------------

@pytest.fixture
def project_file(tmp_path):
    """The example project with stand-in binaries (rendering never looks inside them)."""
    bins = {}
    for arch in ("x86_64", "aarch64"):
        bins[arch] = tmp_path / f"fake-{arch}"
        bins[arch].write_bytes(b"\x7fELF fake\n")
    return copy_example(tmp_path / "proj", bins)


def _prepare(project_file, target, arch="x86_64", tmp=None):
    project = load(project_file)
    profile = targets.get(target)
    packager = RpmPackager() if profile.family == "rpm" else DebPackager()
    return packager.prepare(project, profile, arch, project_file.parent.parent / f"work-{target}-{arch}")


def test_rpm_tree(project_file):
    plan = _prepare(project_file, "centos-7")
    spec = (plan.workdir / "rpmbuild/SPECS/hello-service.spec").read_text()
    assert "%define _binary_payload w1.xzdio" in spec  # no rpmbuild version given: not threaded
    assert "%define _use_weak_usergroup_deps 1" in spec and "%define _buildhost pkgfactory" in spec
    assert "%config(noreplace) %attr(0640,root,hello) /etc/hello-service/hello.conf" in spec
    assert "%dir %attr(0750,hello,hello) /var/lib/hello-service" in spec
    assert "* Wed Nov 20 2024 Example Packager <packager@example.com> - 1.2.0-1" in spec
    scripts = sorted(p.name for p in (plan.workdir / "rpmbuild/SOURCES/scripts").iterdir())
    assert scripts == ["post.sh", "postun.sh", "pre.sh", "preun.sh"]
    root = plan.workdir / "rpmbuild/SOURCES/root"
    assert (root / "usr/lib/systemd/system/hello-service.service").is_file()
    assert (root / "usr/sbin/hello-service").readlink().as_posix() == "../bin/hello-service"
    assert (root / "var/lib/hello-service").stat().st_mode & 0o777 == 0o750
    assert plan.command("/build")[-1] == "/build/rpmbuild/SPECS/hello-service.spec"
    assert plan.environment("/build")["HOME"] == "/build/home"
    assert plan.env["SOURCE_DATE_EPOCH"] == "1732060800"


def test_deb_tree(project_file):
    plan = _prepare(project_file, "debian-11", "aarch64")
    d = plan.workdir / "src" / "debian"
    control = (d / "control").read_text()
    assert "Architecture: arm64" in control and "Recommends: ca-certificates" in control
    assert (d / "conffiles").read_text() == "/etc/hello-service/hello.conf\n"
    assert "-Zxz -z1 " in (d / "rules").read_text()
    assert sorted(p.name for p in d.iterdir() if p.name in ("preinst", "postinst", "prerm", "postrm")) == \
        ["postinst", "postrm", "prerm"]  # no preinst: nothing to do before unpacking
    assert (plan.workdir / "src/root/lib/systemd/system/hello-service.service").is_file()
    assert plan.artifact == "hello-service_1.2.0-1_arm64.deb" and plan.cwd == "src"


def test_compressor_follows_profile(project_file):
    project = load(project_file)
    prof = targets.get("debian-11")
    gz_only = targets.parse_profile({**prof.raw, "packaging": {"deb_compressors": ["gzip"]}}, prof.path)
    plan = DebPackager().prepare(project, gz_only, "x86_64", project_file.parent.parent / "w")
    assert "-Zgzip" in (plan.workdir / "src/debian/rules").read_text()
    zstd_only = targets.parse_profile({**prof.raw, "packaging": {"deb_compressors": ["zstd"]}}, prof.path)
    with pytest.raises(InputError, match="none of the compressors"):
        DebPackager().prepare(project, zstd_only, "x86_64", project_file.parent.parent / "w")
    rpmprof = targets.get("centos-7")
    gz = targets.parse_profile({**rpmprof.raw, "packaging": {**rpmprof.packaging, "rpm_payloads": ["gzip"]}},
                               rpmprof.path)
    plan = RpmPackager().prepare(project, gz, "x86_64", project_file.parent.parent / "w")
    assert "%define _binary_payload w9.gzdio" in (plan.workdir / "rpmbuild/SPECS/hello-service.spec").read_text()


def test_xz_level(project_file):
    """build.xz_level sets both formats' xz preset; the threads come only with an rpmbuild that reads them."""
    edit(project_file, ("[build]\n", "[build]\nxz_level = 6\n"))
    project = load(project_file)
    work = project_file.parent.parent
    plan = RpmPackager().prepare(project, targets.get("centos-7"), "x86_64", work / "w", rpmbuild="4.18.0")
    assert "%define _binary_payload w6T2.xzdio" in (plan.workdir / "rpmbuild/SPECS/hello-service.spec").read_text()
    plan = RpmPackager().prepare(project, targets.get("centos-7"), "x86_64", work / "w", rpmbuild="4.11.3")
    assert "%define _binary_payload w6.xzdio" in (plan.workdir / "rpmbuild/SPECS/hello-service.spec").read_text()
    plan = DebPackager().prepare(project, targets.get("debian-12"), "x86_64", work / "w")
    assert "-Zxz -z6 " in (plan.workdir / "src/debian/rules").read_text()
    for bad, why in (("10", "10 is not an xz preset"), ('"fast"', "must be an integer")):
        edit(project_file, ("xz_level = ", f"xz_level = {bad}\n# was "))
        with pytest.raises(InputError, match=f"key 'build.xz_level': {why}"):
            load(project_file)


def test_rich_dependencies_refused_for_old_rpm(project_file):
    edit(project_file, ('recommends = ["ca-certificates"]', 'recommends = ["ca-certificates | openssl"]'))
    project = load(project_file)
    with pytest.raises(InputError, match=r"key 'relations.recommends'.*centos-7"):
        RpmPackager().prepare(project, targets.get("centos-7"), "x86_64", project_file.parent.parent / "w")
    plan = RpmPackager().prepare(project, targets.get("rocky-9"), "x86_64", project_file.parent.parent / "w")
    spec = (plan.workdir / "rpmbuild/SPECS/hello-service.spec").read_text()
    assert "Recommends: (ca-certificates or openssl)" in spec


def test_wrong_family_or_arch(project_file):
    project = load(project_file)
    with pytest.raises(InputError, match="is a deb target"):
        RpmPackager().prepare(project, targets.get("debian-12"), "x86_64", project_file.parent / "w")
    with pytest.raises(InputError, match="has no riscv64 edition"):
        RpmPackager().prepare(project, targets.get("centos-7"), "riscv64", project_file.parent / "w")


def test_project_template_overrides_by_name(project_file):
    tdir = project_file.parent / "packaging" / "templates" / "debian"
    tdir.mkdir(parents=True)
    (tdir / "copyright.j2").write_text("Custom copyright for {{ pkg.name|line }}\n")
    edit(project_file, ('# templates = "packaging/templates"', 'templates = "packaging/templates"'))
    plan = _prepare(project_file, "debian-12")
    d = plan.workdir / "src" / "debian"
    assert (d / "copyright").read_text() == "Custom copyright for hello-service\n"
    assert "Package: hello-service" in (d / "control").read_text()  # the others stay built-in


@pytest.mark.parametrize("payload", [
    "{{ cycler.__init__.__globals__.os.system('touch MARK') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__['os'].popen('touch MARK').read() }}",
    "{{ pkg.__class__.__init__.__globals__ }}",
    "{% set x = [1] %}{{ x.append(2) }}",
])
def test_a_project_template_cannot_reach_python(project_file, tmp_path, payload):
    mark = tmp_path / "pwned"
    tdir = project_file.parent / "packaging" / "templates" / "debian"
    tdir.mkdir(parents=True)
    (tdir / "copyright.j2").write_text(payload.replace("MARK", str(mark)) + "\n")
    edit(project_file, ('# templates = "packaging/templates"', 'templates = "packaging/templates"'))
    with pytest.raises(InputError) as e:
        _prepare(project_file, "debian-12")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"{project_file}: key 'build.templates': "), msg
    assert str(tdir / "copyright.j2") in msg, msg
    assert not mark.exists()


def test_broken_project_script_fails_at_prepare(project_file):
    (project_file.parent / "packaging" / "postinstall.sh").write_text("if true; then\n  echo unterminated\n")
    with pytest.raises(Exception, match="not valid sh"):
        _prepare(project_file, "centos-7")


def test_minimal_project_has_no_scriptlets(tmp_path):
    (tmp_path / "b").write_bytes(b"x")
    (tmp_path / "pkgfactory.toml").write_text(
        '[package]\nname = "tiny"\nversion = "1"\nsummary = "s"\ndescription = "d"\nlicense = "MIT"\n'
        'maintainer = "A B <a@b.c>"\n[build]\ntargets = ["centos-7"]\n'
        '[[binary]]\ndest = "/usr/bin/tiny"\nsource.x86_64 = "b"\n'
        '[[changelog]]\nversion = "1-1"\ndate = 2024-01-01\nchanges = ["x"]\n')
    project = load(tmp_path / "pkgfactory.toml")
    rplan = RpmPackager().prepare(project, targets.get("centos-7"), "x86_64", tmp_path / "r")
    spec = (rplan.workdir / "rpmbuild/SPECS/tiny.spec").read_text()
    assert " -f " not in spec and "Requires(pre)" not in spec
    dplan = DebPackager().prepare(project, targets.get("debian-12"), "x86_64", tmp_path / "d")
    assert not any((dplan.workdir / "src/debian" / n).exists()
                   for n in ("preinst", "postinst", "prerm", "postrm", "conffiles"))


def test_rendered_scripts_pass_shellcheck(project_file):
    for s in ("preinstall", "preremove", "postremove"):
        (project_file.parent / f"{s}.sh").write_text(f'echo "{s} $PKGF_ACTION"\n')
    edit(project_file, ('postinstall = "packaging/postinstall.sh"',
                        'postinstall = "packaging/postinstall.sh"\npreinstall = "preinstall.sh"\n'
                        'preremove = "preremove.sh"\npostremove = "postremove.sh"'))
    files = []
    plan = _prepare(project_file, "centos-7")
    files += sorted((plan.workdir / "rpmbuild/SOURCES/scripts").glob("*.sh"))
    plan = _prepare(project_file, "debian-12")
    files += [plan.workdir / "src/debian" / n for n in ("preinst", "postinst", "prerm", "postrm")]
    # SC2317: pkgf_project_script looks unreachable to shellcheck (it is called below its definition).
    proc = subprocess.run(["shellcheck", "-s", "sh", "-e", "SC2317", *map(str, files)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout

