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
     '[arches.x86_64]\ninterpreters = ["/lib64/ld-linux-x86-64.so.2"]\n[identify]\nid = ["x"]\n', "missing key 'glibc'"),
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
