"""Target security policies ([policy] in profiles): the data, install.sh's preflight, the refusal explained.

The machines are prepared PKGF_ROOTs holding stand-ins of UOS's deepin-elf-verify
hook files and of Kylin's getstatus / kysec.conf; the package managers are the
stand-ins of test_installer. A Debian 11 container then runs the real dpkg with
a stand-in deepin-elf-verify package that refuses packages the way UOS does
(tests/standins/deepin-elf-verify, hooked in as a dpkg pre-invoke command).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from fixtures_go import run_cli
from fixtures_images import STANDINS
from pkgfactory import targets as tg
from pkgfactory.bundle.installer import render_installer, target_meta
from pkgfactory.errors import InputError
from pkgfactory.targets import policies
from test_installer import (APT_STATE, SHELLS, fake, keys, make_bundle, make_root, meta_for, need,  # noqa: F401
                            out, real_bundle, run, snapshot)

UOS_OS_RELEASE = """PRETTY_NAME="UnionTech OS Desktop 20 Pro"
NAME="uos"
VERSION_ID="20"
VERSION="20"
VERSION_CODENAME=eagle
ID=uos
HOME_URL="https://www.chinauos.com/"
"""
KYLIN_DESKTOP_OS_RELEASE = """NAME="Kylin"
VERSION="银河麒麟桌面操作系统V10 (SP1)"
VERSION_US="Kylin Linux Desktop V10 (SP1)"
ID=kylin
ID_LIKE=debian
PRETTY_NAME="Kylin V10 SP1"
VERSION_ID="v10"
"""
KYLIN_SERVER_OS_RELEASE = """NAME="Kylin Linux Advanced Server"
VERSION="V10 (Lance)"
ID="kylin"
VERSION_ID="V10"
PRETTY_NAME="Kylin Linux Advanced Server V10 (Lance)"
"""
HOOK = "usr/share/deepin-elf-verify/pkg-hook/10deb-verifysign"
HOOK_BIN = "usr/sbin/deepin-pkg-install-hook"
DEVMODE = "var/lib/deepin/developer-mode/enabled"
STANDIN = STANDINS / "deepin-elf-verify"
REFUSAL = ("You cannot install '{}' that failed the verification, please go to Security Center - "
           "Security Tools - Application Security to adjust")
POLICY_TARGETS = {"uos-v20-desktop": ["x86_64"], "kylin-desktop-v10": ["x86_64"], "kylin-v10-sp3": ["x86_64"]}


def policy_meta(key, prebuilt=()) -> dict:
    return meta_for(key, targets=[target_meta(tg.get(t), arches, prebuilt=prebuilt if t == "uos-v20-desktop" else ())
                                  for t, arches in POLICY_TARGETS.items()])


@pytest.fixture(scope="module")
def pbundle(keys, tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("pbundle") / "hello-service-1.2.3", keys["good"],
                       policy_meta(keys["good"]))


def uos_root(where: Path, *, hook=True, hook_bin=True, devmode: str | None = None) -> Path:
    root = make_root(where, None, text=UOS_OS_RELEASE)
    if hook:
        (root / HOOK).parent.mkdir(parents=True)
        shutil.copy(STANDIN / HOOK, root / HOOK)
    if hook_bin:
        (root / HOOK_BIN).parent.mkdir(parents=True)
        shutil.copy(STANDIN / HOOK_BIN, root / HOOK_BIN)
    if devmode is not None:
        (root / DEVMODE).parent.mkdir(parents=True)
        (root / DEVMODE).write_text(devmode)
    return root


# --- the data ---------------------------------------------------------------------

def test_known_policies_are_data_and_profiles_use_them():
    with open(policies.DATA, "rb") as f:
        data = tomllib.load(f)
    assert {(k, v) for k, vs in data.items() for v in vs} == set(policies.known())
    assert tg.get("uos-v20-desktop").policy == {"deb_signature": "uos-verifysign"}
    for t in ("kylin-desktop-v10", "kylin-v10-sp1", "kylin-v10-sp2", "kylin-v10-sp3"):
        assert tg.get(t).policy == {"exec_control": "kysec"}, t
        assert "kysec" in tg.get(t).sources["policy"]
    # Said why not, in the profile that has it.
    assert "uos-v20-server" in tg.get("uos-v20-desktop").sources["policy"]
    for t in ("uos-v20-server", "deepin-20", "deepin-23", "debian-11", "centos-7"):
        assert tg.get(t).policy == {}, t


@pytest.mark.parametrize("table,match", [
    ('[policy]\ndeb_signatur = "uos-verifysign"\n', r"\[policy\]: unknown policy key 'deb_signatur' \(known: "),
    ('[policy]\ndeb_signature = "uos"\n', r"deb_signature = 'uos' is not a known policy \(known: uos-verifysign\)"),
    ('[policy]\ndeb_signature = 1\n', r"deb_signature = 1 is not a known policy"),
    # The profile reader's own type check (data/profile_schema.toml), worded like every other key's.
    ('policy = "kysec"\n', r"key 'policy': must be a table, not a string"),
])
def test_bad_policy_in_a_profile_is_one_line(tmp_path, table, match):
    profile = tg.get("debian-11").path.read_text()
    text = profile + "\n" + table if table.startswith("[") else table + profile
    (tmp_path / "debian-11.toml").write_text(text)
    with pytest.raises(InputError, match=match) as e:
        tg.load_file(tmp_path / "debian-11.toml")
    assert "\n" not in str(e.value)
    r = run_cli("targets", "show", "debian-11", "--targets-dir", tmp_path)
    assert r.code == 2 and "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err


def test_deb_signature_policy_on_an_rpm_target_is_refused(tmp_path):
    text = tg.get("centos-7").path.read_text() + '\n[policy]\ndeb_signature = "uos-verifysign"\n'
    (tmp_path / "centos-7.toml").write_text(text)
    with pytest.raises(InputError, match="exists on deb targets only, this one is rpm"):
        tg.load_file(tmp_path / "centos-7.toml")


def test_targets_show_prints_the_policy():
    r = run_cli("targets", "show", "uos-v20-desktop")
    assert r.code == 0 and "deb_signature = uos-verifysign" in r.out and "UnionTech" in r.out
    r = run_cli("targets", "show", "kylin-v10-sp1", "--json")
    assert r.code == 0 and '"exec_control": "kysec"' in r.out


# --- rendering ----------------------------------------------------------------------

def test_every_known_policy_has_a_preflight_check(keys):
    text = render_installer(policy_meta(keys["good"]))
    for p in policies.known().values():
        assert re.search(rf"^\s+{re.escape(p.word)}\) policy_\w+ ;;$", text, re.M), p.word
    assert "T_POLICY=deb_signature=uos-verifysign" in text and "T_POLICY=exec_control=kysec" in text


@pytest.mark.parametrize("edit,match", [
    (lambda t: t.update(policy={"deb_signature": "nope"}), r"targets\[0\]\.policy: deb_signature = 'nope'"),
    (lambda t: t.update(policy={"bogus": "x"}), r"unknown policy key 'bogus'"),
    (lambda t: t.update(policy=["kysec"]), r"targets\[0\]\.policy: must be a mapping"),
    (lambda t: t["arches"][0].update(prebuilt="yes"), r"arches\[0\]\.prebuilt: must be true or false"),
])
def test_bad_policy_in_bundle_meta_is_refused(keys, edit, match):
    t = target_meta(tg.get("uos-v20-desktop"), ["x86_64"])
    edit(t)
    with pytest.raises(InputError, match=match):
        render_installer(meta_for(keys["good"], targets=[t]))
    t = target_meta(tg.get("centos-7"), ["x86_64"])
    t["policy"] = {"deb_signature": "uos-verifysign"}
    with pytest.raises(InputError, match="deb targets only"):
        render_installer(meta_for(keys["good"], targets=[t]))


def test_shellcheck_clean_with_policies(keys, tmp_path):
    script = tmp_path / "install.sh"
    script.write_text(render_installer(policy_meta(keys["good"], prebuilt=["x86_64"])))
    p = subprocess.run([need("shellcheck"), "-s", "sh", str(script)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_help_names_the_consent_option_and_exit_code(shell, pbundle):
    for lang, words in (("en", ("--uos-any-apps-allowed", "Allow any apps", "the target's security policy")),
                        ("zh", ("--uos-any-apps-allowed", "允许任意应用", "目标系统的安全策略"))):
        p = run(shell, pbundle, "--help", "--lang", lang)
        assert p.returncode == 0 and all(w in p.stdout for w in words), p.stdout
        # The exit code list is a column: code, then its meaning (data/install_exit_codes.toml).
        assert re.search(rf"^  10 +{re.escape(words[2])}", p.stdout, re.M), p.stdout


# --- UOS: the preflight ---------------------------------------------------------------

@pytest.mark.parametrize("shell", SHELLS)
def test_check_only_refuses_where_the_uos_check_is_active(shell, pbundle, tmp_path):
    root = uos_root(tmp_path / "root")
    before = snapshot(root / "etc")
    p = run(shell, pbundle, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 10, out(p)
    text = out(p)
    for words in ("Target: uos-v20-desktop", "UOS package signature check: active",
                  f"dpkg runs /{HOOK_BIN} before it installs a package", "Developer mode: off",
                  "Allow any apps", "--uos-any-apps-allowed", "bundle --prebuilt DIR",
                  "would refuse these packages (above); nothing was changed"):
        assert words in text, (words, text)
    assert snapshot(root / "etc") == before
    p = run(shell, pbundle, "--check-only", "--lang", "zh", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 10
    for words in ("UOS 软件包签名检查：已启用", "开发者模式：off", "安全中心 → 安全工具 → 应用安全 → 允许任意应用",
                  "控制中心 → 通用 → 开发者模式", "系统未做任何改动"):
        assert words in out(p), (words, out(p))
    log = (root / "var/log/pkgfactory-install-hello-service.log").read_text()
    assert "(exit 10)" in log


@pytest.mark.parametrize("shell", SHELLS)
def test_install_is_refused_before_the_package_manager_runs(shell, pbundle, tmp_path, fake):
    root = uos_root(tmp_path / "root")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    before = snapshot(root / "etc")
    p = run(shell, pbundle, "--yes", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 10, out(p)
    assert not [c for c in fake.calls() if not c.startswith("dpkg-query")], fake.calls()
    assert fake.installed("hello-service") is None
    assert snapshot(root / "etc") == before
    assert not list((root.parent / "tmpdir").iterdir())


@pytest.mark.parametrize("shell", SHELLS)
def test_consent_goes_on_and_says_so(shell, pbundle, tmp_path, fake):
    root = uos_root(tmp_path / "root", devmode="1")
    p = run(shell, pbundle, "--check-only", "--uos-any-apps-allowed", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)
    assert "Developer mode: on" in p.stdout and "--uos-any-apps-allowed: going on" in p.stderr
    assert "some overridden by options" in p.stdout and "looks off" not in p.stderr
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    p = run(shell, pbundle, "--yes", "--uos-any-apps-allowed", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 0, out(p)
    assert fake.installed("hello-service") == "installed"
    # Developer mode off: Allow any apps cannot be on, so the warning says what will most likely happen.
    (root / DEVMODE).write_text("0")
    p = run(shell, pbundle, "--check-only", "--uos-any-apps-allowed", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0 and "developer mode looks off" in p.stderr, out(p)


@pytest.mark.parametrize("shell", SHELLS)
def test_prebuilt_packages_go_to_the_check_itself(shell, keys, tmp_path):
    b = make_bundle(tmp_path / "b", keys["good"], policy_meta(keys["good"], prebuilt=["x86_64"]))
    root = uos_root(tmp_path / "root")
    p = run(shell, b, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)
    assert "supplied already built (pkgfactory bundle --prebuilt)" in p.stdout
    assert "All checks passed" in p.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_uos_machines_without_an_active_check(shell, pbundle, tmp_path, fake):
    # No deepin-elf-verify at all.
    root = uos_root(tmp_path / "r1", hook=False, hook_bin=False)
    p = run(shell, pbundle, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0 and "(deepin-elf-verify): not on this machine" in p.stdout, out(p)
    # The hook line runs the program only if it is executable.
    root = uos_root(tmp_path / "r2", hook_bin=False)
    p = run(shell, pbundle, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0 and "so the hook does nothing" in p.stdout, out(p)
    # The package without the hook file where 1.3.50 has it: counted as active.
    root = uos_root(tmp_path / "r3", hook=False, hook_bin=False)
    fake.with_pms("dpkg-query")
    (fake.state / "pkg.deepin-elf-verify").write_text("installed\n")
    p = run(shell, pbundle, "--check-only", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 10, out(p)
    assert "is installed but not its hook" in p.stderr and "counts as active" in p.stderr


FAILING_APT = r"""#!/bin/sh
# apt-get whose dpkg was refused by the UOS check: the real message, then apt's own line.
. "${0%/*}/fake.env"
for a in "$@"; do
    case $a in
    update) exit 0 ;;
    install)
        printf "%s\n" "$REFUSAL" >&2
        echo "dpkg: error: error executing hook 'if test -x /usr/sbin/deepin-pkg-install-hook;then ...;fi', exit code 256" >&2
        echo "E: Sub-process /usr/bin/dpkg returned an error code (2)"
        exit 100 ;;
    esac
done
"""


@pytest.mark.parametrize("shell", SHELLS)
def test_refusal_by_the_check_is_explained(shell, pbundle, tmp_path, fake):
    root = uos_root(tmp_path / "root")
    fake.with_pms("apt-get", "dpkg", "dpkg-query")
    apt = Path(fake.path.split(":")[0]) / "apt-get"
    apt.write_text(FAILING_APT)
    deb = f"{pbundle}/repos/deb/uos-v20-desktop/pool/hello-service_1.2.3_amd64.deb"
    before = snapshot(root / "etc")
    p = run(shell, pbundle, "--yes", "--uos-any-apps-allowed", root=root, path=fake.path,
            env=fake.env(REFUSAL=REFUSAL.format(deb)))
    assert p.returncode == 10, out(p)
    assert ("the UOS signature check (deepin-elf-verify) refused hello-service_1.2.3_amd64.deb: "
            "UnionTech has not signed it") in p.stderr
    assert snapshot(root / "etc") == before
    p = run(shell, pbundle, "--yes", "--uos-any-apps-allowed", "--lang", "zh", root=root, path=fake.path,
            env=fake.env(REFUSAL=REFUSAL.format(deb)))
    assert p.returncode == 10 and "UOS 签名检查（deepin-elf-verify）拒绝了 hello-service_1.2.3_amd64.deb" in p.stderr
    # Any other apt failure stays what it was.
    apt.write_text(FAILING_APT.replace('"$REFUSAL"', '"E: Unable to locate package"'))
    p = run(shell, pbundle, "--yes", "--uos-any-apps-allowed", root=root, path=fake.path, env=fake.env())
    assert p.returncode == 7 and "apt-get install failed" in p.stderr, out(p)


# --- KySec ----------------------------------------------------------------------------

GETSTATUS = """#!/bin/sh
# Stand-in for Kylin's getstatus.
cat <<'EOF'
KySec status: normal

exec control: {exec}
file protect: on
kmod protect: on
EOF
"""


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("osr", [KYLIN_DESKTOP_OS_RELEASE, KYLIN_SERVER_OS_RELEASE])
def test_kysec_state_is_reported(shell, pbundle, tmp_path, osr):
    root = make_root(tmp_path / "root", None, text=osr)
    bin_dir = tmp_path / "kysec-bin"
    bin_dir.mkdir()
    (bin_dir / "getstatus").write_text(GETSTATUS.format(exec="on"))
    (bin_dir / "getstatus").chmod(0o755)
    # PKGF_PATH takes directories only root could fill, and no symlink (/sbin is one on Debian 12).
    path = f"{bin_dir}:/usr/sbin:/usr/bin"
    p = run(shell, pbundle, "--check-only", root=root, path=path, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0, out(p)
    assert "KySec execution control: on (getstatus)" in p.stdout
    assert "installed by the package manager, so KySec labels their files verified" in p.stdout
    assert "kysec_set -n exectl -v verified FILE" in p.stdout
    assert "exec control: on" in (root / "var/log/pkgfactory-install-hello-service.log").read_text()
    p = run(shell, pbundle, "--check-only", "--lang", "zh", root=root, path=path, env={"PKGF_UNAME_M": "x86_64"})
    assert "KySec 执行控制：on（getstatus）" in p.stdout and "标记为 verified" in p.stdout
    # No getstatus: the configuration file says it.
    (root / "etc/kysec").mkdir()
    (root / "etc/kysec/kysec.conf").write_text("kysec_status = 1\nkysec_exectl = 0\n")
    p = run(shell, pbundle, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0 and "KySec execution control: off (/etc/kysec/kysec.conf)" in p.stdout, out(p)
    assert "kysec_set" not in p.stdout
    (root / "etc/kysec/kysec.conf").unlink()
    p = run(shell, pbundle, "--check-only", root=root, env={"PKGF_UNAME_M": "x86_64"})
    assert p.returncode == 0 and "KySec execution control: not on this machine" in p.stdout, out(p)


# --- a real dpkg with a stand-in deepin-elf-verify (Debian 11) ------------------------

def in_uos_container(engine, image, bundle: Path, standin: Path, osr: Path, script: str):
    return subprocess.run([engine.path, "run", "--rm", "--network=none", "-v", f"{bundle}:/bundle:ro",
                           "-v", f"{standin}:/standin.deb:ro", "-v", f"{osr}:/etc/os-release:ro", image,
                           "sh", "-c", "dpkg -i /standin.deb >/dev/null 2>&1 || echo standin-failed\n" + script],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.container
def test_real_dpkg_with_the_standin_check(keys, tmp_path, container_engine, debian_image, standin_deb):
    """Refused before apt runs; with consent apt runs and the refusal is explained; Allow any apps installs."""
    b = real_bundle(tmp_path, keys, target="uos-v20-desktop")
    osr = tmp_path / "os-release"
    osr.write_text(UOS_OS_RELEASE)
    log = "/var/log/pkgfactory-install-hello-service.log"
    script = f"""
set -u
{APT_STATE} >/tmp/before
sh /bundle/install.sh --yes --skip-kmod-check >/tmp/one 2>&1; echo "rc1=$?"
echo "commands-run=$(grep -c ' RUN ' {log})"
sh /bundle/install.sh --yes --skip-kmod-check --uos-any-apps-allowed >/tmp/two 2>&1; echo "rc2=$?"
dpkg -s hello-service >/dev/null 2>&1; echo "dpkg-s=$?"
{APT_STATE} >/tmp/after
diff /tmp/before /tmp/after >/dev/null && echo same-state
mkdir -p /var/lib/deepin/developer-mode /var/lib/deepin-elf-verify-standin
printf 1 >/var/lib/deepin/developer-mode/enabled; touch /var/lib/deepin-elf-verify-standin/allow-any-apps
sh /bundle/install.sh --yes --skip-kmod-check --uos-any-apps-allowed >/tmp/three 2>&1; echo "rc3=$?"
hello-service; echo "run=$?"
echo ==one; cat /tmp/one; echo ==two; cat /tmp/two; echo ==three; cat /tmp/three
"""
    p = in_uos_container(container_engine, debian_image("11"), b, standin_deb, osr, script)
    text = p.stdout + p.stderr
    assert "standin-failed" not in text, text
    one, two, three = (text.split(f"=={n}\n")[1].split("\n==")[0] for n in ("one", "two", "three"))
    assert "rc1=10" in p.stdout and "UOS package signature check: active (deepin-elf-verify 1.3.50.4-1+standin" in one
    assert "commands-run=0" in p.stdout, text  # refused before apt (or anything else) ran
    assert "rc2=10" in p.stdout, text
    assert "that failed the verification" in two  # the stand-in's message, through dpkg and apt
    assert "the UOS signature check (deepin-elf-verify) refused hello-service_1.2.3_" in two, two
    assert "dpkg-s=1" in p.stdout and "same-state" in p.stdout, text
    assert "rc3=0" in p.stdout and "Developer mode: on" in three, three
    assert "hello from the bundle" in p.stdout and "run=0" in p.stdout, text


@pytest.mark.container
@pytest.mark.parametrize("shell", SHELLS)
def test_refusal_is_recognised_in_the_callers_locale(shell, keys, tmp_path, container_engine, debian_image,
                                                     standin_deb):
    """Started under zh_CN (as on site), the stand-in check would refuse in Chinese: install.sh runs dpkg
    under LC_ALL=C, so the refusal is still the one it knows and is explained (exit 10), in Chinese."""
    b = real_bundle(tmp_path, keys, target="uos-v20-desktop")
    osr = tmp_path / "os-release"
    osr.write_text(UOS_OS_RELEASE)
    script = (f"LANG=zh_CN.UTF-8 LC_ALL=zh_CN.UTF-8 {shell} /bundle/install.sh --yes --skip-kmod-check "
              "--uos-any-apps-allowed; echo \"rc=$?\"")
    p = in_uos_container(container_engine, debian_image("11"), b, standin_deb, osr, script)
    text = p.stdout + p.stderr
    assert "standin-failed" not in text and "rc=10" in p.stdout, text
    assert "that failed the verification" in p.stdout, text  # dpkg spoke C
    assert "错误：UOS 签名检查（deepin-elf-verify）拒绝了 hello-service_1.2.3_" in p.stderr, text


@pytest.mark.container
def test_real_dpkg_decides_on_prebuilt_packages(keys, tmp_path, container_engine, debian_image, standin_deb):
    """Packages supplied already built get to the check without consent; its refusal is still explained."""
    b = real_bundle(tmp_path, keys, target="uos-v20-desktop", prebuilt=True)
    osr = tmp_path / "os-release"
    osr.write_text(UOS_OS_RELEASE)
    p = in_uos_container(container_engine, debian_image("11"), b, standin_deb, osr,
                         "sh /bundle/install.sh --yes --skip-kmod-check; echo \"rc=$?\"")
    text = p.stdout + p.stderr
    assert "supplied already built" in p.stdout and "rc=10" in p.stdout, text
    assert "refused hello-service_1.2.3_" in p.stderr, text


# --- the bundle's README.txt ----------------------------------------------------------

def _readme(targets) -> str:
    from types import SimpleNamespace

    from pkgfactory.bundle.assemble import _readme_meta
    from pkgfactory.bundle.readme import render_readme
    package = SimpleNamespace(name="hello-service", version="1.2.3", release="1")
    report = SimpleNamespace(project=SimpleNamespace(package=package))
    return render_readme(_readme_meta(report, {"fingerprint": "AB" * 20, "targets": targets, "kernel_modules": []}))


def test_readme_tells_the_site_about_uos_and_kylin():
    text = _readme([target_meta(tg.get("uos-v20-desktop"), ["x86_64", "aarch64"], prebuilt=["aarch64"]),
                    target_meta(tg.get("kylin-desktop-v10"), ["x86_64"]),
                    target_meta(tg.get("kylin-v10-sp3"), ["x86_64"]), target_meta(tg.get("debian-11"), ["x86_64"])])
    section = text.split("4. The targets' own security policies", 1)[1]
    for words in ("x86_64：软件包由 pkgfactory 构建", "sh install.sh --yes --uos-any-apps-allowed", "「允许任意应用」",
                  "Allow any apps", "exit 10", "aarch64：软件包为预先构建", "the signature check decides",
                  "failed the verification", "kylin-desktop-v10, kylin-v10-sp3（麒麟 KySec / Kylin KySec）",
                  "kysec_set -n exectl -v verified FILE"):
        assert words in section, (words, section)
    assert "debian-11" not in section
    plain = _readme([target_meta(tg.get("debian-11"), ["x86_64"])])
    assert "security policies" not in plain and plain.endswith("and changes nothing.\n")
