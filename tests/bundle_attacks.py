"""The bundle attacks of issue 9 (a hostile stick, a hostile environment, a careless auditor), one
row each, with the tests that try them. bench/reliability.py runs those tests and counts an attack
caught when every one of its tests passed; docs/reliability.md lists them from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

SHELLS = ("dash", "bash")
_INST = "tests/test_installer_attacks.py"
_VERIFY = "tests/test_verify_faults.py"
_CONTENTS = "tests/test_bundle_contents.py"
_POLICY = "tests/test_policy.py"


@dataclass(frozen=True)
class Attack:
    id: str
    against: str  # install.sh, verify, or the bundle's contents
    what: str
    tests: tuple[str, ...]  # pytest node ids


def _shells(func: str, param: str | None = None) -> tuple[str, ...]:
    return tuple(f"{_INST}::{func}[{param + '-' if param else ''}{s}]" for s in SHELLS)


def _fault(fault_id: str) -> tuple[str, ...]:
    return (f"{_VERIFY}::test_fault_is_refused_naming_the_file[{fault_id}]",)


# What test_installer_attacks.py's KINDS and NAMES tables do (checked against them there).
KINDS = {
    "symlink-same-bytes": "README.txt a symlink to an outside copy with the same bytes (every hash matches)",
    "symlink-dev-zero": "README.txt a symlink to /dev/zero",
    "fifo": "README.txt a FIFO",
    "char-device-zero": "README.txt a character device (1,5: /dev/zero)",
    "fifo-as-SHA256SUMS": "SHA256SUMS a FIFO",
    "dev-zero-as-KEY.gpg": "KEY.gpg a symlink to /dev/zero",
    "symlinked-repo-dir": "repos/deb a symlink to the repository moved outside",
}
NAMES = {
    "newline": "a file named install.sh<LF>KEY.asc",
    "newline-between-two-listed-names": "a file named README.txt<LF>KEY.gpg",
    "tab": "a file name with a TAB",
    "escape": "a file named ESC[2J",
    "carriage-return": "a file named KEY.asc<CR>",
}

ATTACKS: list[Attack] = [
    Attack("stick-swapped-after-the-check", "install.sh",
           "the stick's owner (nobody) rewrites KEY.gpg, KEY.asc and every repository file when the package "
           "manager starts (stand-in apt and dnf)",
           _shells("test_attack_stick_swapped_after_the_check", "deb-debian-11-pms0")
           + _shells("test_attack_stick_swapped_after_the_check", "rpm-kylin-v10-sp3-pms1")),
    Attack("stick-swapped-during-confirmation", "install.sh",
           "the stick's owner puts its own signed repository and key in place while install.sh waits for 'y' "
           "(a real apt in Debian 11)",
           _shells("test_attack_stick_swapped_during_confirmation_in_debian_11")),
    Attack("tmpdir-someone-else-can-write", "install.sh",
           "TMPDIR owned by nobody (who swaps any work directory that appears), below a directory nobody owns, "
           "or world-writable",
           _shells("test_attack_tmpdir_someone_else_can_write")),
    Attack("empty-path-element", "install.sh",
           "gpgv, gpgconf, sha256sum, find and awk planted in the bundle, run with a trailing ':', a leading ':' "
           "or '.' in PATH",
           _shells("test_attack_empty_path_element_runs_nothing_from_the_bundle")),
    Attack("fake-sha256sum-earlier-in-path", "install.sh",
           "a sha256sum that says OK to everything, first in PATH, with a tampered .deb",
           _shells("test_attack_fake_tools_earlier_in_path")),
    Attack("tool-hook-untrusted-directory", "install.sh",
           "PKGF_PATH naming a directory nobody owns, an empty element or a relative one",
           _shells("test_attack_tool_hook_refuses_directories_others_can_fill")),
    Attack("perl-environment", "install.sh",
           "PERL5OPT='-Mstrict;system(...)' and PERL5LIB with a planted strict.pm, reaching apt's "
           "dpkg-preconfigure (Perl, as root; a real apt in Debian 11)",
           _shells("test_attack_perl_environment_reaches_no_tool_in_debian_11")),
    Attack("python-path", "install.sh",
           "PYTHONPATH with a planted sitecustomize.py, reaching dnf and the rpm version comparison (a real dnf)",
           _shells("test_attack_python_path_reaches_no_tool_with_a_real_dnf")),
    Attack("shell-state-that-cannot-be-removed", "install.sh",
           "SHELLOPTS (readonly in bash) and an exported bash function BASH_FUNC_mktemp%% in the environment",
           _shells("test_attack_shell_state_that_cannot_be_removed_is_refused")),
    Attack("caller-locale-hides-the-refusal", "install.sh",
           "LANG and LC_ALL zh_CN.UTF-8, the UOS check (stand-in, real dpkg in Debian 11) refusing in Chinese",
           tuple(f"{_POLICY}::test_refusal_is_recognised_in_the_callers_locale[{s}]" for s in SHELLS)),
    *[Attack(f"listed-name-{kind}", "install.sh", what, _shells("test_attack_listed_name_is_not_a_regular_file", kind))
      for kind, what in KINDS.items()],
    Attack("listed-name-is-a-directory", "install.sh", "README.txt a directory",
           _shells("test_attack_listed_name_is_a_directory")),
    *[Attack(f"name-{case}", "install.sh", what, _shells("test_attack_names_with_control_characters", case))
      for case, what in NAMES.items()],
    Attack("text-mode-copy", "install.sh",
           "every text file converted to CR LF (a Windows copy in text mode); SHA256SUMS and KEY.asc alone",
           _shells("test_attack_text_mode_copy")),
    Attack("older-bundle", "install.sh",
           "a bundle older than what is installed, run with --yes and --check-only (stand-in apt)",
           _shells("test_attack_older_bundle_is_refused_and_reports_no_false_success")),
    Attack("older-bundle-real-managers", "install.sh",
           "upgrade, refused downgrade, --allow-downgrade, same version, upgrade again: a real apt (Debian 11) "
           "and a real dnf (installroot)",
           _shells("test_versions_with_a_real_apt_in_debian_11")
           + (f"{_INST}::test_real_dnf_downgrades_only_when_allowed",)),
    Attack("package-manager-says-yes", "install.sh",
           "apt-get or yum reports success but leaves the old version installed",
           _shells("test_attack_package_manager_says_yes_but_leaves_another_version", "pms0-debian-11")
           + _shells("test_attack_package_manager_says_yes_but_leaves_another_version", "pms1-centos-7")),
    Attack("empty-or-malformed-fingerprint", "verify",
           "--fingerprint '' (an unset variable), blanks, 39, 41 or 40 non-hex digits, 0x prefix",
           (f"{_VERIFY}::test_empty_or_malformed_fingerprint_is_bad_input",)),
    Attack("no-fingerprint-read-as-pass", "verify",
           "no --fingerprint: a consistent bundle signed by whatever key it carries",
           (f"{_VERIFY}::test_without_fingerprint_the_origin_is_not_established",)),
    Attack("name-closing-markup", "verify", "a file named [/]", _fault("name-closing-markup")),
    Attack("name-that-is-markup", "verify", "a file named [green]OK[/]", _fault("name-that-is-markup")),
    Attack("name-that-is-an-emoji-code", "verify", "a file named :thumbs_up:", _fault("name-that-is-an-emoji-code")),
    Attack("name-with-terminal-escape", "verify", "a file named ESC[31mred", _fault("name-with-terminal-escape")),
    Attack("tree-1100-levels-deep", "verify", "a directory tree 1100 levels deep", _fault("tree-1100-levels-deep")),
    Attack("sparse-64-gib-listed-file", "verify", "README.txt a 64 GiB sparse file",
           _fault("sparse-64-gib-listed-file")),
    Attack("sparse-64-gib-deb", "verify", "the .deb a 64 GiB sparse file", _fault("sparse-64-gib-deb")),
    Attack("packages-gz-bomb-signed", "verify",
           "a signed 254 KiB Packages.gz that expands to 256 MiB", _fault("packages-gz-bomb-signed")),
    Attack("packages-xz-bomb-nothing-stated", "verify",
           "a signed Packages.xz bomb, the uncompressed Packages left out of Release",
           _fault("packages-xz-bomb-nothing-stated")),
    Attack("primary-gz-bomb-signed", "verify", "a signed primary.xml.gz that expands to 256 MiB",
           _fault("primary-gz-bomb-signed")),
    Attack("inrelease-unsigned-text-before", "verify", "unsigned Release fields before the clearsigned block",
           _fault("inrelease-unsigned-text-before")),
    Attack("inrelease-unsigned-text-after", "verify", "unsigned fields after the signature",
           _fault("inrelease-unsigned-text-after")),
    Attack("inrelease-empty-line-after", "verify", "an empty line after the signature",
           _fault("inrelease-empty-line-after")),
    Attack("umask-000-build", "bundle contents", "a bundle made under umask 000 (modes of files, directories, tar members)",
           (f"{_CONTENTS}::test_modes_are_normalised_whatever_the_umask",)),
    Attack("build-host-paths", "bundle contents",
           "absolute build-machine paths in manifest.json and reports/*.json",
           (f"{_CONTENTS}::test_no_build_host_paths_in_what_is_delivered",)),
]
