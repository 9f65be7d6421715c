"""Target profiles: every built-in loads and is self-consistent, the CLI shows them,
and each realistic /etc/os-release identifies exactly one profile."""

import json
import os
import shutil

import pytest

from fixtures_go import run_cli
from pkgfactory import targets as tg
from pkgfactory.versions import parse_version

REQUIRED = {
    "centos-7", "kylin-v10-sp1", "kylin-v10-sp2", "kylin-v10-sp3", "uos-v20-server", "uos-v20-desktop",
    "deepin-20", "openeuler-20.03", "openeuler-22.03", "openeuler-24.03", "anolis-8", "debian-11", "debian-12",
}
# rpm 4.11's rpmlibProvides table (lib/rpmds.c): every rpm target has at least these.
RPMLIB_411 = {
    "VersionedDependencies", "CompressedFileNames", "PayloadIsBzip2", "PayloadIsXz", "PayloadIsLzma",
    "PayloadFilesHavePrefix", "ExplicitPackageProvide", "HeaderLoadSortsTags", "ScriptletInterpreterArgs",
    "PartialHardlinkSets", "ConcurrentAccess", "BuiltinLuaScripts", "FileDigests", "FileCaps",
    "ScriptletExpansion", "TildeInVersions",
}
# Later additions and the first rpm that can have them (CaretInVersions: RHEL 8's 4.14 backport).
RPMLIB_SINCE = {"LargeFiles": (4, 12), "RichDependencies": (4, 13), "PayloadIsZstd": (4, 14),
                "CaretInVersions": (4, 14), "DynamicBuildRequires": (4, 15)}
PROFILES = tg.load_all()


def test_every_builtin_profile_file_loads():
    files = sorted(tg.BUILTIN_DIR.glob("*.toml"))
    assert {f.stem for f in files} == set(PROFILES)
    for f in files:
        assert tg.load_file(f).id == f.stem


def test_required_targets_are_present():
    assert REQUIRED <= set(PROFILES)


@pytest.mark.parametrize("pid", sorted(PROFILES))
def test_profile_is_complete_and_consistent(pid):
    p = PROFILES[pid]
    assert p.sources, "every figure needs a source"
    assert {"glibc", "kernel", "systemd", "libstdcxx", "cxxabi"} <= set(p.versions)
    for a in p.arches.values():
        assert a.interpreters, a.name
        if a.name == "x86_64":
            assert a.cpu_baseline in ("v1", "v2", "v3", "v4")
        if a.name == "aarch64":
            assert a.cpu_baseline == "v8.0"
        if a.name == "loongarch64":
            expected = {"old": "/lib64/ld.so.1", "new": "/lib64/ld-linux-loongarch-lp64d.so.1"}
            assert a.interpreters == (expected[a.loongarch_world],)
    if p.family == "rpm":
        _check_rpm(p)
    else:
        _check_deb(p)


def _check_rpm(p):
    pk = p.packaging
    assert {"rpm_payloads", "rpmlib", "rpm_signature", "gpg_key_algorithms", "repo_metadata_compression"} <= set(pk)
    assert "dnf" in p.versions or "yum" in p.versions
    rpm = parse_version(p.versions["rpm"])
    features = set(pk["rpmlib"])
    assert RPMLIB_411 <= features
    assert features <= RPMLIB_411 | set(RPMLIB_SINCE), "unknown rpmlib() feature (typo?)"
    for feature, since in RPMLIB_SINCE.items():
        assert feature not in features or rpm >= since, f"rpm {p.versions['rpm']} cannot have {feature}"
    assert ("zstd" in pk["rpm_payloads"]) == ("PayloadIsZstd" in features)
    # Below 4.14 a v4 header signature does not cover the payload (floors.md).
    assert pk["rpm_signature"] == ("v3" if rpm < (4, 14) else "v4")
    assert "zstd" not in pk["repo_metadata_compression"] or rpm >= (4, 14)


def _check_deb(p):
    assert {"dpkg", "apt"} <= set(p.versions)
    comp = p.packaging["deb_compressors"]
    assert "xz" in comp and "gzip" in comp
    if "zstd" in comp:
        assert parse_version(p.versions["dpkg"]) >= (1, 21, 18)


def test_dpkg_arch_names_follow_the_target():
    d12, uos, deepin = tg.get("debian-12"), tg.get("uos-v20-desktop"), tg.get("deepin-23")
    assert [d12.dpkg_arch(a) for a in ("x86_64", "aarch64")] == ["amd64", "arm64"]
    assert uos.dpkg_arch("loongarch64") == "loongarch64"  # old world
    assert deepin.dpkg_arch("loongarch64") == "loong64"  # new world, Debian's name
    assert {tg.DPKG_ARCH[a] for a in ("mips64el", "ppc64le", "sw_64")} == {"mips64el", "ppc64el", "sw64"}
    assert set(tg.DPKG_ARCH) == set(tg.KNOWN_ARCHES)


def test_same_rpm_version_means_same_rpmlib_table():
    """PayloadIsZstd depends on the build; every other feature on the rpm version alone."""
    by_version: dict[tuple, list] = {}
    for p in PROFILES.values():
        # uos-v20-server is deliberately the intersection of a 4.14 and a 4.15 table.
        if p.family == "rpm" and p.id != "uos-v20-server":
            features = set(p.packaging["rpmlib"]) - {"PayloadIsZstd"}
            by_version.setdefault(parse_version(p.versions["rpm"])[:2], []).append((p.id, features))
    for version, [(first_id, first), *others] in by_version.items():
        for pid, features in others:
            assert features == first, f"{pid} vs {first_id} (rpm {version})"


# --- identification -----------------------------------------------------------

KYLIN_SERVER = {"NAME": "Kylin Linux Advanced Server", "ID": "kylin", "VERSION_ID": "V10", "ANSI_COLOR": "0;31"}
OS_RELEASES = {
    "kylin-v10-sp1": {**KYLIN_SERVER, "VERSION": "V10 (Tercel)", "PRETTY_NAME": "Kylin Linux Advanced Server V10 (Tercel)"},
    "kylin-v10-sp2": {**KYLIN_SERVER, "VERSION": "V10 (Sword)", "PRETTY_NAME": "Kylin Linux Advanced Server V10 (Sword)"},
    "kylin-v10-sp3": {**KYLIN_SERVER, "VERSION": "V10 (Lance)", "PRETTY_NAME": "Kylin Linux Advanced Server V10 (Lance)"},
    "kylin-v10-sp3/halberd": {**KYLIN_SERVER, "VERSION": "V10 (Halberd)",
                              "PRETTY_NAME": "Kylin Linux Advanced Server V10 (Halberd)"},
    "kylin-desktop-v10": {"NAME": "Kylin", "VERSION": "银河麒麟桌面操作系统V10 (SP1)", "VERSION_US": "Kylin Linux Desktop V10 (SP1)",
                          "ID": "kylin", "ID_LIKE": "debian", "PRETTY_NAME": "Kylin V10 SP1", "VERSION_ID": "v10",
                          "VERSION_CODENAME": "kylin", "UBUNTU_CODENAME": "kylin"},
    "uos-v20-server/uel20": {"PRETTY_NAME": "UOS Server 20", "NAME": "UOS Server 20", "VERSION_ID": "20", "VERSION": "20",
                             "ID": "uos", "VERSION_CODENAME": "fuyu", "PLATFORM_ID": "platform:uel20"},
    "uos-v20-server/uelc20": {"PRETTY_NAME": "UnionTech OS Server 20", "NAME": "UnionTech OS Server 20", "VERSION_ID": "20",
                              "VERSION": "20", "ID": "uos", "VERSION_CODENAME": "kongzi", "PLATFORM_ID": "platform:uelc20"},
    "uos-v20-server/upper-case-id": {"NAME": "UnionTech OS Server 20", "VERSION_ID": "20", "ID": "UOS",
                                     "PLATFORM_ID": "platform:uel20"},
    "uos-v20-desktop": {"PRETTY_NAME": "UnionTech OS Desktop 20 Pro", "NAME": "uos", "VERSION_ID": "20", "VERSION": "20",
                        "ID": "uos", "HOME_URL": "https://www.chinauos.com/", "VERSION_CODENAME": "eagle"},
    "deepin-20": {"PRETTY_NAME": "Deepin 20.4", "NAME": "Deepin", "VERSION_ID": "20.4", "VERSION": "20.4",
                  "VERSION_CODENAME": "apricot", "ID": "Deepin"},
    "deepin-23": {"PRETTY_NAME": "Deepin 23", "NAME": "Deepin", "VERSION_ID": "23", "VERSION": "23",
                  "VERSION_CODENAME": "beige", "ID": "deepin"},
    "openeuler-20.03": {"NAME": "openEuler", "VERSION": "20.03 (LTS-SP3)", "ID": "openEuler", "VERSION_ID": "20.03",
                        "PRETTY_NAME": "openEuler 20.03 (LTS-SP3)"},
    "openeuler-22.03": {"NAME": "openEuler", "VERSION": "22.03 (LTS-SP1)", "ID": "openEuler", "VERSION_ID": "22.03",
                        "PRETTY_NAME": "openEuler 22.03 (LTS-SP1)"},
    "openeuler-24.03": {"NAME": "openEuler", "VERSION": "24.03 (LTS)", "ID": "openEuler", "VERSION_ID": "24.03",
                        "PRETTY_NAME": "openEuler 24.03 (LTS)"},
    "anolis-8": {"NAME": "Anolis OS", "VERSION": "8.8", "ID": "anolis", "ID_LIKE": "rhel fedora centos",
                 "VERSION_ID": "8.8", "PLATFORM_ID": "platform:an8", "PRETTY_NAME": "Anolis OS 8.8"},
    "centos-7": {"NAME": "CentOS Linux", "VERSION": "7 (Core)", "ID": "centos", "ID_LIKE": "rhel fedora",
                 "VERSION_ID": "7", "PRETTY_NAME": "CentOS Linux 7 (Core)", "CPE_NAME": "cpe:/o:centos:centos:7"},
    "neokylin-7": {"NAME": "NeoKylin Linux Advanced Server", "VERSION": "V7Update6", "ID": "neokylin",
                   "VERSION_ID": "V7Update6", "PRETTY_NAME": "NeoKylin Linux Advanced Server V7Update6"},
    "rocky-8": {"NAME": "Rocky Linux", "VERSION": "8.10 (Green Obsidian)", "ID": "rocky", "ID_LIKE": "rhel centos fedora",
                "VERSION_ID": "8.10", "PLATFORM_ID": "platform:el8"},
    "rocky-9": {"NAME": "Rocky Linux", "VERSION": "9.4 (Blue Onyx)", "ID": "rocky", "ID_LIKE": "rhel centos fedora",
                "VERSION_ID": "9.4", "PLATFORM_ID": "platform:el9"},
    "debian-11": {"PRETTY_NAME": "Debian GNU/Linux 11 (bullseye)", "NAME": "Debian GNU/Linux", "VERSION_ID": "11",
                  "VERSION": "11 (bullseye)", "VERSION_CODENAME": "bullseye", "ID": "debian"},
    "debian-12": {"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "NAME": "Debian GNU/Linux", "VERSION_ID": "12",
                  "VERSION": "12 (bookworm)", "VERSION_CODENAME": "bookworm", "ID": "debian"},
}
UNSUPPORTED = {
    # Debian-based UOS Server 20 "fou": no PLATFORM_ID, not the eagle desktop either.
    "uos-server-fou": {"PRETTY_NAME": "UnionTech OS Server 20", "NAME": "UnionTech OS Server 20", "VERSION_ID": "20",
                       "VERSION": "20", "ID": "UOS", "VERSION_CODENAME": "fou"},
    "centos-stream-8": {"NAME": "CentOS Stream", "VERSION": "8", "ID": "centos", "VERSION_ID": "8"},
    "kylin-v11": {**KYLIN_SERVER, "VERSION_ID": "V11", "VERSION": "V11 (Swan25)"},
    "debian-13": {"NAME": "Debian GNU/Linux", "VERSION_ID": "13", "ID": "debian"},
}


@pytest.mark.parametrize("case", sorted(OS_RELEASES))
def test_os_release_identifies_exactly_one_target(case):
    matched = [p.id for p in tg.identify(OS_RELEASES[case])]
    assert matched == [case.split("/")[0]]


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_unsupported_os_release_matches_nothing(case):
    assert tg.identify(UNSUPPORTED[case]) == []


def test_uos_server_and_desktop_never_cross_match():
    server, desktop = PROFILES["uos-v20-server"], PROFILES["uos-v20-desktop"]
    assert not server.matches_os_release(OS_RELEASES["uos-v20-desktop"])
    for case in ("uos-v20-server/uel20", "uos-v20-server/uelc20", "uos-v20-server/upper-case-id"):
        assert not desktop.matches_os_release(OS_RELEASES[case])


# --- CLI --------------------------------------------------------------------

def _one_line_error(r):
    assert r.code == 2, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1, r.err
    return r.err


def test_cli_list_json_matches_profiles():
    r = run_cli("targets", "list", "--json")
    assert r.code == 0, r.err
    rows = {row["id"]: row for row in json.loads(r.out)}
    assert set(rows) == set(PROFILES)
    assert rows["debian-11"]["glibc"] == "2.31"
    assert rows["kylin-v10-sp3"]["family"] == "rpm"
    assert "loongarch64" in rows["kylin-v10-sp3"]["arches"]
    assert rows["centos-7"]["kernel"] == "3.10.0-1160"


def test_cli_list_table_names_every_target():
    r = run_cli("targets", "list")
    assert r.code == 0, r.err
    for pid in REQUIRED:
        assert pid in r.out


def test_cli_show_json_is_the_profile():
    r = run_cli("targets", "show", "kylin-v10-sp3", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["id"] == "kylin-v10-sp3"
    assert "V10 (Halberd)" in data["identify"]["version"]
    assert data["arches"]["loongarch64"]["loongarch_world"] == "old"
    assert data["source_file"] == str(tg.BUILTIN_DIR / "kylin-v10-sp3.toml")


def test_cli_show_table_is_readable():
    r = run_cli("targets", "show", "uos-v20-desktop")
    assert r.code == 0, r.err
    assert "uos-v20-desktop" in r.out and "eagle" in r.out and "loongarch64" in r.out


def test_cli_show_unknown_id_is_one_line_exit_2():
    r = run_cli("targets", "show", "no-such-os")
    err = _one_line_error(r)
    assert "unknown target 'no-such-os'" in err
    assert r.out == ""


def _site_dir(tmp_path):
    """A user dir with one new target and one override of a built-in."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(tg.BUILTIN_DIR / "centos-7.toml", site / "my-centos.toml")
    text = (site / "my-centos.toml").read_text().replace('id = "centos-7"', 'id = "my-centos"')
    (site / "my-centos.toml").write_text(text.replace('version_id = ["7", "7.*"]', 'version_id = ["7.9.2009"]'))
    override = (tg.BUILTIN_DIR / "debian-11.toml").read_text()
    (site / "debian-11.toml").write_text(override.replace('name = "Debian GNU/Linux 11 (bullseye)"',
                                                          'name = "Site Debian 11"'))
    return site


def test_targets_dir_adds_and_overrides(tmp_path):
    site = _site_dir(tmp_path)
    r = run_cli("targets", "list", "--json", "--targets-dir", site)
    assert r.code == 0, r.err
    rows = {row["id"]: row for row in json.loads(r.out)}
    assert rows["my-centos"]["source_file"] == str(site / "my-centos.toml")
    assert rows["debian-11"]["name"] == "Site Debian 11"
    assert rows["debian-11"]["source_file"] == str(site / "debian-11.toml")
    assert set(PROFILES) <= set(rows)

    shown = json.loads(run_cli("targets", "show", "debian-11", "--json", "--targets-dir", site).out)
    assert shown["name"] == "Site Debian 11"


def test_targets_dir_from_environment(tmp_path):
    site = _site_dir(tmp_path)
    r = run_cli("targets", "show", "my-centos", "--json", env={**os.environ, "PKGF_TARGETS_DIR": str(site)})
    assert r.code == 0, r.err
    assert json.loads(r.out)["id"] == "my-centos"


@pytest.mark.parametrize("content,message", [
    ('id = "broken"\nname = "x"\nfamily = "deb"\n[versions\nglibc = "2.31"\n', "invalid TOML"),
    ('id = "broken"\nname = "x"\nfamily = "deb"\n[versions]\nkernel = "5.10"\ndpkg = "1.20"\n'
     '[arches.x86_64]\ninterpreters = ["/lib64/ld-linux-x86-64.so.2"]\n[identify]\nid = ["x"]\n',
     "key 'versions.glibc': missing (required)"),
    ('id = "other-name"\nname = "x"\nfamily = "deb"\n', "does not match the file name"),
    ('id = "broken"\nname = "x"\nfamily = "deb"\n[versions]\nglibc = "2.31"\nkernel = "5.10"\ndpkg = "1.20"\n'
     '[arches.vax]\ninterpreters = ["/lib/ld.so"]\n[identify]\nid = ["x"]\n', "unknown arch"),
])
@pytest.mark.parametrize("command", [["targets", "list"], ["targets", "show", "debian-11", "--json"]])
def test_broken_user_profile_is_one_line_error(tmp_path, content, message, command):
    (tmp_path / "broken.toml").write_text(content)
    err = _one_line_error(run_cli(*command, "--targets-dir", tmp_path))
    assert message in err and "broken.toml" in err


def test_missing_targets_dir_is_one_line_error(tmp_path):
    err = _one_line_error(run_cli("targets", "list", "--targets-dir", tmp_path / "nope"))
    assert "does not exist" in err


# --- the strict reader ---------------------------------------------------------------

GOOD_DEB = '''id = "site-deb"
name = "Site Debian"
family = "deb"
[versions]
glibc = "2.31"
kernel = "5.10"
dpkg = "1.20.12"
[identify]
id = ["sitedeb"]
[arches.x86_64]
interpreters = ["/lib64/ld-linux-x86-64.so.2"]
cpu_baseline = "v1"
[packaging]
deb_compressors = ["xz", "gzip"]
[libraries]
extra = ["libz.so.1"]
'''


def _user_profile(tmp_path, text, name="site-deb"):
    d = tmp_path / "site"
    d.mkdir(exist_ok=True)
    (d / f"{name}.toml").write_text(text)
    return d


def test_a_good_user_profile_loads(tmp_path):
    p = tg.get("site-deb", [_user_profile(tmp_path, GOOD_DEB)])
    assert p.packaging["deb_compressors"] == ["xz", "gzip"] and "libz.so.1" in p.libraries


@pytest.mark.parametrize("edit,message", [
    # The two typos: both used to fall back to defaults without a word.
    (lambda t: t.replace("[libraries]", "[librarys]"),
     "key 'librarys': unknown key (did you mean 'libraries'?)"),
    (lambda t: t.replace("deb_compressors", "deb_compressor"),
     "key 'packaging.deb_compressor': unknown key (did you mean 'deb_compressors'?)"),
    (lambda t: t.replace("interpreters", "interpreter"),
     "key 'arches.x86_64.interpreters': missing (required); is 'interpreter' a typo of it?"),
    (lambda t: t.replace("cpu_baseline", "cpu_base"),
     "key 'arches.x86_64.cpu_base': unknown key (did you mean 'cpu_baseline'?)"),
    (lambda t: t.replace('dpkg = "1.20.12"', 'dpkg = "1.20.12"\nlibstdcx = "3.4.28"'),
     "key 'versions.libstdcx': unknown key (did you mean 'libstdcxx'?)"),
    (lambda t: t.replace('extra = ["libz.so.1"]', 'extra = ["libz.so.1"]\nmissing = ["libfoo.so"]'),
     "key 'libraries.missing': unknown key; known here: absent, extra"),
    (lambda t: t + 'rpmlib = ["CompressedFileNames"]\n',
     "key 'libraries.rpmlib': unknown key"),
    (lambda t: t.replace('[packaging]', '[packaging]\nrpmlib = ["CompressedFileNames"]'),
     "key 'packaging.rpmlib': applies to rpm targets only, and this one's family is deb"),
    (lambda t: t.replace('["xz", "gzip"]', '["xz", "gz"]'),
     "key 'packaging.deb_compressors[2]': 'gz' is not one of xz, gzip, zstd, bzip2, lzma, none"),
    (lambda t: t.replace('cpu_baseline = "v1"', 'cpu_baseline = "x86-64-v2"'),
     "key 'arches.x86_64.cpu_baseline': 'x86-64-v2' is not one of v1, v2, v3, v4"),
    (lambda t: t.replace('cpu_baseline = "v1"', 'loongarch_world = "old"'),
     "key 'arches.x86_64.loongarch_world': only loongarch64 has old and new worlds"),
    (lambda t: t.replace('id = ["sitedeb"]', 'id = "sitedeb"'),
     "key 'identify.id': must be a list, not a string"),
    (lambda t: t.replace('id = ["sitedeb"]', 'version_id = ["11"]'),
     "key 'identify.id': missing (required)"),
    (lambda t: t.replace('kernel = "5.10"', 'kernel = "five"'),
     "key 'versions.kernel': 'five' is not a version"),
    (lambda t: t.replace('kernel = "5.10"', 'kernel = 5.10'),
     "key 'versions.kernel': must be a string, not float"),
    (lambda t: t.replace("[arches.x86_64]", "[arches.amd65]"),
     "key 'arches.amd65': unknown arch 'amd65'"),
    (lambda t: t + '[arches.amd64]\ninterpreters = ["/lib64/ld-linux-x86-64.so.2"]\n',
     "key 'arches.amd64': x86_64 is given twice (as 'x86_64' and 'amd64')"),
    (lambda t: t.replace('family = "deb"', 'family = "debian"'),
     "key 'family': 'debian' is not one of rpm, deb"),
    (lambda t: t.replace('family = "deb"', 'family = "deb"\nnotez = "x"'),
     "key 'notez': unknown key (did you mean 'notes'?)"),
])
def test_a_user_profile_with_a_typo_is_refused_naming_file_and_key(tmp_path, edit, message):
    d = _user_profile(tmp_path, edit(GOOD_DEB))
    with pytest.raises(tg.InputError) as e:
        tg.load_all([d])
    assert str(e.value).startswith(f"{d / 'site-deb.toml'}: {message}"), str(e.value)
    # The CLI: one line, exit 2, whichever command reads the profiles.
    err = _one_line_error(run_cli("check", "/bin/true", "-t", "centos-7", "--targets-dir", d))
    assert "site-deb.toml" in err and message in err


def test_go_arch_names_in_a_profile_become_ours(tmp_path):
    d = _user_profile(tmp_path, GOOD_DEB.replace("[arches.x86_64]", "[arches.amd64]")
                      + '[arches.arm64]\ninterpreters = ["/lib/ld-linux-aarch64.so.1"]\n')
    p = tg.get("site-deb", [d])
    assert list(p.arches) == ["x86_64", "aarch64"] and p.dpkg_arch("aarch64") == "arm64"
    shown = json.loads(run_cli("targets", "show", "site-deb", "--json", "--targets-dir", d).out)
    assert set(shown["arches"]) == {"x86_64", "aarch64"}


def _profile_keys_read_by_code() -> dict[str, set[str]]:
    """Every literal profile key pkgfactory's code reads, by table."""
    import re

    found: dict[str, set[str]] = {"packaging": set(), "versions": set()}
    for py in (tg.BUILTIN_DIR.parent.parent).rglob("*.py"):
        text = py.read_text()
        found["packaging"] |= set(re.findall(r'packaging\.get\(\s*"(\w+)"', text))
        found["packaging"] |= set(re.findall(r'first_allowed\(\s*"(\w+)"', text))
        found["versions"] |= set(re.findall(r'versions\.get\(\s*"(\w+)"', text))
        found["versions"] |= set(re.findall(r'versions\[\s*"(\w+)"\s*\]', text))
    return found


def test_the_schema_covers_every_key_the_code_reads_and_every_builtin_key():
    from pkgfactory.targets.schema import schema

    s = schema()
    read = _profile_keys_read_by_code()
    assert read["packaging"] >= {"rpmlib", "rpm_payloads", "deb_compressors", "gpg_key_algorithms",
                                 "repo_metadata_compression", "rpm_signature", "systemd_unit_dir"}
    assert read["versions"] >= {"glibc", "kernel", "rpm", "dpkg"}
    for table, keys in read.items():
        assert keys <= set(s[table]["keys"]), (table, keys - set(s[table]["keys"]))
    # The libstdc++ rule reads these two by a variable name.
    assert {"libstdcxx", "cxxabi"} <= set(s["versions"]["keys"])
    # And every key a built-in profile holds is described (the reader refuses the rest).
    import tomllib

    for f in tg.BUILTIN_DIR.glob("*.toml"):
        data = tomllib.loads(f.read_text())
        assert set(data) <= set(s), f
        for table in ("versions", "packaging", "libraries"):
            assert set(data.get(table, {})) <= set(s[table]["keys"]), (f, table)
        for arch in data["arches"].values():
            assert set(arch) <= set(s["arches"]["each"]["keys"]), f


def test_a_fifo_or_device_in_a_targets_dir_is_one_line_not_a_hang(tmp_path):
    """Before, a FIFO named like a profile blocked every command that read the directory."""
    import subprocess
    import sys

    from pkgfactory.errors import InputError

    d = tmp_path / "targets"
    d.mkdir()
    os.mkfifo(d / "site.toml")
    (d / "zero.toml").symlink_to("/dev/zero")
    for name in ("site", "zero"):
        with pytest.raises(InputError, match="not a regular file"):
            tg.load_file(d / f"{name}.toml")
    p = subprocess.run([sys.executable, "-m", "pkgfactory", "targets", "list", "--targets-dir", str(d)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "not a regular file" in p.stderr and len(p.stderr.strip().splitlines()) == 1
