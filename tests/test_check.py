"""`pkgfactory check`: verdicts and findings on real binaries against target profiles."""

import json
import shutil
import textwrap

import pytest

from fixtures_go import run_cli


def check_json(*args):
    r = run_cli("check", "--json", *map(str, args))
    assert r.code in (0, 1), r.err
    doc = json.loads(r.out)
    return r.code, doc


def codes(cell):
    return {f["code"] for f in cell["findings"]}


def test_cgo_host_fails_on_old_glibc_and_names_symbols(go_binaries):
    code, doc = check_json(go_binaries["cgo-host"], "--target", "debian-11")
    assert code == 1
    (b,) = doc["cells"]
    assert [t["id"] for t in doc["targets"]] == ["debian-11"] and b["target"] == "debian-11"
    assert b["ok"] is False and b["arch"] == "x86_64" and b["status"] == "fail"
    (f,) = [f for f in b["findings"] if f["code"] == "glibc-too-new"]
    assert f["severity"] == "error"
    assert "GLIBC_2.34" in f["message"] and "pthread_create@GLIBC_2.34" in f["message"]
    assert "CGO_ENABLED=0" in f["message"] and "zig cc -target x86_64-linux-gnu.2.31" in f["message"]


@pytest.mark.parametrize("target", ["centos-7", "kylin-v10-sp3", "uos-v20-server", "debian-11"])
def test_zig_pinned_cgo_passes_everywhere(go_binaries, target):
    code, doc = check_json(go_binaries["cgo-zig217"], "--target", target)
    assert code == 0, doc
    assert doc["cells"][0]["findings"] == []


@pytest.mark.parametrize("variant", ["static", "stripped", "pie"])
def test_static_and_pie_pass_centos7(go_binaries, variant):
    code, doc = check_json(go_binaries[variant], "--target", "centos-7")
    assert code == 0 and doc["cells"][0]["ok"]


def test_arch_unsupported_and_mismatch(go_binaries):
    code, doc = check_json(go_binaries["mips64le"], "--target", "centos-7")
    assert code == 1 and "arch-unsupported" in codes(doc["cells"][0])
    code, doc = check_json(go_binaries["static"], "--target", "debian-12", "--arch", "aarch64")
    assert code == 1 and codes(doc["cells"][0]) == {"arch-mismatch"}
    code, doc = check_json(go_binaries["arm64"], "--target", "debian-12", "--arch", "aarch64")
    assert code == 0


def test_loongarch_new_world_on_old_world_targets(go_binaries):
    for target in ("kylin-v10-sp3", "uos-v20-desktop"):
        code, doc = check_json(go_binaries["loong64"], "--target", target)
        assert code == 1
        (f,) = [f for f in doc["cells"][0]["findings"] if f["code"] == "loongarch-world"]
        assert "5.19" in f["message"] and "old world" in f["message"]


def test_cpu_level_is_a_warning_naming_zhaoxin(go_binaries):
    code, doc = check_json(go_binaries["goamd64-v3"], "--target", "kylin-v10-sp3")
    assert code == 0  # a warning does not fail the check
    (f,) = doc["cells"][0]["findings"]
    assert (f["code"], f["severity"]) == ("cpu-level", "warning")
    assert "GOAMD64=v3" in f["message"] and "Zhaoxin" in f["message"] and "GOAMD64=v1" in f["message"]


def test_library_missing_on_real_system_binary():
    """gpg on debian-12: what minbase has (libgcrypt, libz, libbz2 ...) is no alarm; the rest is."""
    gpg = shutil.which("gpg")
    code, doc = check_json(gpg, "--target", "debian-12")
    assert code == 1
    (f,) = [f for f in doc["cells"][0]["findings"] if f["code"] == "library-missing"]
    assert "libassuan.so.0" in f["message"]
    for present in ("libgcrypt.so.20", "libgpg-error.so.0", "libz.so.1", "libbz2.so.1.0", "libc.so.6"):
        assert present not in f["message"]


def test_library_missing_names_the_package_where_known():
    from types import SimpleNamespace

    from pkgfactory import targets
    from pkgfactory.check.rules import libraries

    info = SimpleNamespace(elf=SimpleNamespace(needed=["libc.so.6", "libwebp.so.7", "libnotreal.so.9"]))
    (f,) = libraries(info, targets.get("debian-12"), "x86_64")
    assert f.message.startswith("needs libwebp.so.7, libnotreal.so.9, not in the debian-12 base system "
                                "(libwebp.so.7 is in package libwebp7 on debian-12); declare")


def test_library_packages_data_matches_the_profiles():
    """Every table names a real target, and no soname it lists is one that target's base already has."""
    from pkgfactory import targets
    from pkgfactory.check.rules import library_packages

    profiles = targets.load_all()
    for tid, sonames in library_packages().items():
        assert tid in profiles, tid
        assert not set(sonames) & profiles[tid].libraries, tid


def _interp_patched(src, dst, new: bytes):
    data = bytearray(src.read_bytes())
    old = b"/lib64/ld-linux-x86-64.so.2\0"
    i = data.index(old)
    assert len(new) < len(old)
    data[i:i + len(old)] = new.ljust(len(old), b"\0")
    dst.write_bytes(bytes(data))
    return dst


def test_interpreter_missing(go_binaries, tmp_path):
    musl = _interp_patched(go_binaries["pie"], tmp_path / "musl-pie", b"/lib/ld-musl-x86_64.so.1")
    code, doc = check_json(musl, "--target", "debian-12")
    assert code == 1
    (f,) = [f for f in doc["cells"][0]["findings"] if f["code"] == "interpreter-missing"]
    assert "/lib/ld-musl-x86_64.so.1" in f["message"] and "CGO_ENABLED=0" in f["message"]


def _profile_dir(tmp_path, kernel: str, arch_table: str = ""):
    d = tmp_path / "targets"
    d.mkdir()
    (d / "oldbox.toml").write_text(textwrap.dedent(f"""
        id = "oldbox"
        name = "Old box"
        family = "rpm"
        [versions]
        glibc = "2.17"
        kernel = "{kernel}"
        rpm = "4.11.3"
        [identify]
        id = ["oldbox"]
        [arches.x86_64]
        interpreters = ["/lib64/ld-linux-x86-64.so.2"]
        {arch_table}
        [packaging]
        rpmlib = ["CompressedFileNames"]
    """))
    return d


def test_kernel_too_old_from_go_release(go_binaries, tmp_path):
    d = _profile_dir(tmp_path, "2.6.32-754.el6", '[arches.mips64el]\ninterpreters = ["/lib64/ld.so.1"]')
    code, doc = check_json(go_binaries["static"], "--target", "oldbox", "--targets-dir", d)
    assert code == 1
    (f,) = [f for f in doc["cells"][0]["findings"] if f["code"] == "kernel-too-old"]
    assert "Go 1.27" in f["message"] and "3.2" in f["message"] and "2.6.32" in f["message"]
    code, doc = check_json(go_binaries["mips64le"], "--target", "oldbox", "--targets-dir", d)
    assert any("4.8" in f["message"] for f in doc["cells"][0]["findings"] if f["code"] == "kernel-too-old")


def test_several_binaries_one_report(go_binaries):
    code, doc = check_json(go_binaries["static"], go_binaries["cgo-host"], "--target", "debian-11")
    assert code == 1
    assert [b["ok"] for b in doc["binaries"]] == [True, False]
    assert [c["ok"] for c in doc["cells"]] == [True, False]


def test_human_output_names_fix(go_binaries):
    r = run_cli("check", go_binaries["cgo-host"], "--target", "centos-7")
    assert r.code == 1
    assert "glibc-too-new" in r.out and "FAIL" in r.out


# --- several targets: every pair judged, one matrix ---------------------------------

def test_every_pair_is_judged_and_the_first_failing_target_counts(go_binaries):
    """The bug: only the last --target was checked, so a failure on the first exited 0."""
    code, doc = check_json(go_binaries["cgo-host"], "-t", "centos-7", "-t", "debian-12")
    assert code == 1 and doc["ok"] is False
    cells = {c["target"]: c for c in doc["cells"]}
    assert cells["centos-7"]["status"] == "fail" and cells["centos-7"]["codes"][0] == "glibc-too-new"
    assert cells["debian-12"]["status"] == "pass" and cells["debian-12"]["codes"] == []
    code, doc = check_json(go_binaries["cgo-host"], "-t", "debian-12", "-t", "centos-7")
    assert code == 1


def test_matrix_text_shows_every_cell_then_the_findings(go_binaries):
    r = run_cli("check", go_binaries["static"], go_binaries["cgo-host"], go_binaries["goamd64-v3"],
                "-t", "centos-7", "-t", "kylin-v10-sp3", "-t", "debian-12")
    assert r.code == 1, r.err
    table, _, below = r.out.partition("fail\n")
    lines = {ln.split("│")[1].strip(): [c.strip() for c in ln.split("│")[2:-1]]
             for ln in table.splitlines() if ln.count("│") == 5 and "target" not in ln and ln.split("│")[1].strip()}
    assert lines["centos-7"] == ["✔", "✘ glibc-too-new", "⚠ cpu-level"]
    assert lines["kylin-v10-sp3"] == ["✔", "✘ glibc-too-new", "⚠ cpu-level"]
    assert lines["debian-12"] == ["✔", "✔", "⚠ cpu-level"]
    assert table.endswith("4 pass, 3 with warnings, 2 ")
    # Below the table, each cell with findings and the findings' messages (the fix included).
    assert below.startswith(f"\n✘ centos-7: {go_binaries['cgo-host']} (x86_64)"), "each cell after a blank line"
    assert "\\x0a" not in r.out, "the blank line is ours, not data to escape"
    assert "error glibc-too-new: requires GLIBC_2.34 but centos-7 has glibc 2.17" in " ".join(below.split())
    assert f"⚠ kylin-v10-sp3: {go_binaries['goamd64-v3']} (x86_64)" in below
    assert "static" not in below.replace(str(go_binaries["cgo-host"]), "").replace(str(go_binaries["goamd64-v3"]), "")


def test_target_all_checks_every_known_target(go_binaries, tmp_path):
    d = _profile_dir(tmp_path, "3.10.0")
    code, doc = check_json(go_binaries["static"], "--target", "all", "--targets-dir", d)
    from pkgfactory import targets
    known = sorted(targets.load_all([d]))
    assert [t["id"] for t in doc["targets"]] == known and "oldbox" in known
    assert len(doc["cells"]) == len(known)
    # A static x86_64 Go binary runs on every target with an x86_64 edition.
    assert {c["target"] for c in doc["cells"] if not c["ok"]} == {
        p.id for p in targets.load_all([d]).values() if "x86_64" not in p.arches}
    assert code == (0 if doc["ok"] else 1)
    # 'all' with a named target: each once, in the order given.
    code, doc = check_json(go_binaries["static"], "-t", "debian-12", "-t", "all", "-t", "centos-7")
    assert [t["id"] for t in doc["targets"]][:2] == ["debian-12", "anolis-8"]
    assert len(doc["targets"]) == len(set(t["id"] for t in doc["targets"]))


def test_warnings_alone_exit_0_across_targets(go_binaries):
    code, doc = check_json(go_binaries["goamd64-v3"], "-t", "kylin-v10-sp3", "-t", "uos-v20-server")
    assert code == 0 and doc["ok"] is True
    assert [c["status"] for c in doc["cells"]] == ["warn", "warn"]
    assert doc["counts"] == {"pass": 0, "warn": 2, "fail": 0}


def test_an_unknown_target_among_good_ones_is_bad_input(go_binaries):
    r = run_cli("check", go_binaries["static"], "-t", "centos-7", "-t", "centos-77")
    assert r.code == 2 and r.out == ""
    assert "unknown target 'centos-77'" in r.err and "or 'all'" in r.err


def test_matrix_from_build_checks_counts_waived_errors_as_warnings():
    from pkgfactory.check.matrix import from_checks

    finding = {"code": "library-missing", "severity": "error", "message": "needs libfoo.so.1"}
    results = [
        {"target": "centos-7", "arch": "x86_64", "checks": [{"binary": "/usr/bin/a", "findings": [finding]}],
         "waivers": [{"binary": "/usr/bin/a", "code": "library-missing", "reason": "ships libfoo"}]},
        {"target": "debian-12", "arch": "x86_64", "checks": [{"binary": "/usr/bin/a", "findings": [finding]}],
         "waivers": []},
        {"target": "debian-12", "arch": "aarch64", "checks": [{"binary": "/usr/bin/a", "findings": []}],
         "waivers": []},
    ]
    m = from_checks(results, {"debian-12": "Debian 12", "centos-7": "CentOS 7"})
    assert [c.target for c in m.columns] == ["debian-12", "centos-7"]
    assert [(r.binary, r.arch) for r in m.rows] == [("/usr/bin/a", "x86_64"), ("/usr/bin/a", "aarch64")]
    x86, arm = m.rows
    assert m.cell(x86, "centos-7").status == "warn" and m.cell(x86, "centos-7").symbol == "⚠"
    assert m.cell(x86, "debian-12").status == "fail" and m.cell(arm, "debian-12").status == "pass"
    assert m.cell(arm, "centos-7") is None  # not built there: no cell, not a pass
    assert m.ok is False
    doc = m.to_dict()
    assert doc["cells"][0]["waived"] == [] and doc["cells"][1]["waived"] == ["library-missing"]


def test_go_arch_names_are_accepted_and_answered_in_ours(go_binaries):
    code, doc = check_json(go_binaries["arm64"], "--target", "debian-12", "--arch", "arm64")
    assert code == 0 and doc["cells"][0]["arch"] == "aarch64"
    code, doc = check_json(go_binaries["static"], "--target", "debian-12", "--arch", "arm64")
    assert code == 1 and "pass the aarch64 build (GOARCH=arm64)" in doc["cells"][0]["findings"][0]["message"]
    r = run_cli("check", go_binaries["static"], "-t", "debian-12", "--arch", "x64")
    assert r.code == 2 and "unknown arch 'x64'" in r.err and "loong64=loongarch64" in r.err
