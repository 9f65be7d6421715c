"""The target probe: a POSIX sh script that, run on a real machine, prints a loadable profile.

Run for real with dash and bash on the host, and inside Debian containers as an
unprivileged user; its findings are checked against the machine and against our
built-in profiles of the same release.
"""

import os
import re
import shlex
import shutil
import subprocess

import pytest

from fixtures_go import run_cli
from pkgfactory import probe as probe_pkg
from pkgfactory import targets as tg
from pkgfactory.versions import parse_version

SCRIPT = probe_pkg.script()


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        # scripts/setup.sh installs these on CI: missing there is a broken set-up.
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed")
        pytest.skip(f"{tool} is not installed")
    return path


def parse_os_release(text: str) -> dict[str, str]:
    osr = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            words = shlex.split(value)
            osr[key.strip()] = words[0] if words else ""
    return osr


def load_probed(text: str, tmp_path) -> tg.Profile:
    """Save probe output the way a user would (ID.toml) and load it with the real loader."""
    pid = re.search(r'^id = "([^"]+)"$', text, re.M).group(1)
    path = tmp_path / f"{pid}.toml"
    path.write_text(text)
    return tg.load_file(path)


@pytest.fixture(scope="module")
def script_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("probe") / "probe.sh"
    path.write_text(SCRIPT)
    return path


def test_cli_prints_the_shipped_script():
    r = run_cli("probe")
    assert r.code == 0, r.err
    assert r.out == SCRIPT
    assert SCRIPT.startswith("#!/bin/sh\n")


def test_script_passes_shellcheck_as_posix_sh(script_file):
    p = subprocess.run([_need("shellcheck"), "-s", "sh", str(script_file)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def _host_dpkg_version() -> str | None:
    if shutil.which("dpkg-query") is None:
        return None
    p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "dpkg"], capture_output=True, text=True)
    return p.stdout.split(":")[-1] if p.returncode == 0 and p.stdout else None


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_probe_on_host(shell, script_file, tmp_path):
    p = subprocess.run([_need(shell), str(script_file)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    prof = load_probed(p.stdout, tmp_path)

    glibc = subprocess.run(["getconf", "GNU_LIBC_VERSION"], capture_output=True, text=True).stdout.split()[1]
    assert prof.glibc == glibc
    assert prof.kernel == open("/proc/sys/kernel/osrelease").read().strip()
    osr = parse_os_release(open("/etc/os-release").read())
    assert prof.matches_os_release(osr)
    assert prof.id.startswith(osr["ID"].lower())
    assert prof.sources["probe"].startswith("probed on ")
    arch = next(iter(prof.arches.values()))
    assert arch.interpreters and all(os.path.exists(i) for i in arch.interpreters)
    assert "libc.so.6" in prof.libraries

    dpkg = _host_dpkg_version()
    if dpkg is None:
        pytest.skip("host is not a dpkg system")
    assert prof.family == "deb"
    assert parse_version(prof.versions["dpkg"]) == parse_version(dpkg)
    has_zstd = parse_version(dpkg) >= (1, 21, 18)
    assert ("zstd" in prof.packaging["deb_compressors"]) == has_zstd


def test_probe_rpm_part_with_the_hosts_rpm(script_file, tmp_path):
    """The rpm half needs an rpm distro; the host's rpm tool exercises its parsing for real."""
    rpm = _need("rpm")
    env = {**os.environ, "PKGF_PROBE_FAMILY": "rpm"}
    p = subprocess.run([_need("dash"), str(script_file)], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    prof = load_probed(p.stdout, tmp_path)
    assert prof.family == "rpm"

    version = re.search(r"[0-9][0-9.]*", subprocess.run([rpm, "--version"], capture_output=True, text=True).stdout)
    assert prof.versions["rpm"] == version.group(0)
    features = set(prof.packaging["rpmlib"])
    showrc = subprocess.run([rpm, "--showrc"], capture_output=True, text=True).stdout
    assert features == set(re.findall(r"^\s*rpmlib\((\w+)\)", showrc, re.M))
    assert {"CompressedFileNames", "FileDigests", "PayloadFilesHavePrefix"} <= features
    assert ("zstd" in prof.packaging["rpm_payloads"]) == ("PayloadIsZstd" in features)
    assert prof.packaging["rpm_signature"] == ("v3" if parse_version(prof.versions["rpm"]) < (4, 14) else "v4")


# --- in real Debian releases -------------------------------------------------

def _run_in(engine, image, script_file, *extra_mounts):
    mounts = [arg for src, dst in extra_mounts for arg in ("-v", f"{src}:{dst}:ro")]
    # As nobody: the probe must work for any user on the target.
    return subprocess.run(
        [engine.path, "run", "--rm", "--network=none", "--user", "65534:65534",
         "-v", f"{script_file}:/probe.sh:ro", *mounts, image, "dash", "/probe.sh"],
        capture_output=True, text=True, timeout=300)


@pytest.mark.container
@pytest.mark.parametrize("suite,glibc,dpkg_series,zstd", [
    ("11", "2.31", (1, 20), False),
    ("12", "2.36", (1, 21), True),
])
def test_probe_in_debian(container_engine, debian_image, script_file, tmp_path, suite, glibc, dpkg_series, zstd):
    image = debian_image(suite)
    p = _run_in(container_engine, image, script_file)
    assert p.returncode == 0, p.stderr
    prof = load_probed(p.stdout, tmp_path)

    assert prof.id == f"debian-{suite}"
    assert prof.family == "deb"
    assert prof.glibc == glibc
    assert parse_version(prof.versions["dpkg"])[:2] == dpkg_series
    assert ("zstd" in prof.packaging["deb_compressors"]) is zstd

    # What the probe saw must agree with our built-in profile of the release.
    builtin = tg.get(prof.id)
    for key in ("glibc", "libstdcxx", "cxxabi"):
        assert prof.versions[key] == builtin.versions[key], key
    # Point and security updates move dpkg/apt patch levels (apt 2.6.2 is in bookworm-security).
    for key in ("dpkg", "apt"):
        assert parse_version(prof.versions[key])[:2] == parse_version(builtin.versions[key])[:2], key
    assert set(prof.packaging["deb_compressors"]) == set(builtin.packaging["deb_compressors"])
    # The sonames the built-in profile promises beyond glibc are really in a minimal install. The
    # image is mmdebstrap --variant=apt (Essential + apt); the profile's base is minbase, which also
    # has the Priority: required e2fsprogs and its libraries (docs/checks.md).
    e2fsprogs = {"libe2p.so.2", "libext2fs.so.2", "libss.so.2", "libcom_err.so.2"}
    assert set(builtin.raw["libraries"]["extra"]) - prof.libraries <= e2fsprogs

    # And the image's own os-release identifies exactly that built-in profile.
    cat = subprocess.run([container_engine.path, "run", "--rm", "--network=none", image, "cat", "/etc/os-release"],
                         capture_output=True, text=True, timeout=120)
    osr = parse_os_release(cat.stdout)
    assert [t.id for t in tg.identify(osr)] == [prof.id]
    assert prof.matches_os_release(osr)


@pytest.mark.container
def test_probe_escapes_awkward_os_release(container_engine, debian_image, script_file, tmp_path):
    """Quotes, backslashes and glob characters in os-release still give a valid, matching profile."""
    osr_file = tmp_path / "os-release"
    osr_file.write_text(
        'NAME="Kylin Linux Advanced Server"\n'
        'VERSION="V10 (Lance) [beta*] \\"q\\" back\\\\slash?"\n'
        'ID="kylin"\n'
        'VERSION_ID="V10"\n'
        "PRETTY_NAME='Kylin V10 SP3'\n"
        'PLATFORM_ID="platform:ky10"\n')
    p = _run_in(container_engine, debian_image("11"), script_file, (osr_file, "/etc/os-release"))
    assert p.returncode == 0, p.stderr
    prof = load_probed(p.stdout, tmp_path)
    assert prof.id == "kylin-v10"
    assert prof.name == "Kylin V10 SP3"

    osr = parse_os_release(osr_file.read_text())
    assert osr["VERSION"] == 'V10 (Lance) [beta*] "q" back\\slash?'
    assert prof.identify["version"] == ('V10 (Lance) [[]beta[*][]] "q" back\\slash[?]',)
    assert prof.matches_os_release(osr)
    # The glob is literal: another codename of the same VERSION_ID must not match.
    assert not prof.matches_os_release({**osr, "VERSION": "V10 (Lance) xbeta* \"q\" back\\slash?"})
    assert not prof.matches_os_release({**osr, "VERSION": "V10 (Sword)"})


# --- security policies ([policy], pkgfactory/data/policies.toml) ------------------

def test_probe_looks_for_every_known_policy():
    from pkgfactory.targets import policies
    for p in policies.known().values():
        assert f"{p.key}={p.value}" in SCRIPT, p.word


GETSTATUS = "#!/bin/sh\nprintf 'KySec status: normal\\n\\nexec control: on\\nfile protect: on\\n'\n"


@pytest.mark.container
def test_probe_records_the_uos_check_and_kysec(container_engine, debian_image, script_file, standin_deb, tmp_path):
    """deepin-elf-verify's hook installed and a getstatus on PATH: both land in [policy], as any user sees them."""
    getstatus = tmp_path / "getstatus"
    getstatus.write_text(GETSTATUS)
    getstatus.chmod(0o755)
    p = subprocess.run(
        [container_engine.path, "run", "--rm", "--network=none", "-v", f"{script_file}:/probe.sh:ro",
         "-v", f"{standin_deb}:/standin.deb:ro", "-v", f"{getstatus}:/usr/local/bin/getstatus:ro",
         debian_image("11"), "sh", "-c",
         "dpkg -i /standin.deb >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups dash /probe.sh"],
        capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    prof = load_probed(p.stdout, tmp_path)
    assert prof.policy == {"deb_signature": "uos-verifysign", "exec_control": "kysec"}
    assert "deepin-elf-verify 1.3.50.4-1+standin" in prof.sources["policy"]
    assert "execution control on when probed" in prof.sources["policy"]


def test_probe_on_a_plain_host_records_no_policy(script_file, tmp_path):
    p = subprocess.run([_need("dash"), str(script_file)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "[policy]" not in p.stdout and load_probed(p.stdout, tmp_path).policy == {}
