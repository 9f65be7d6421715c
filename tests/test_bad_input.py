"""Bad input to inspect/check: one line on stderr, exit 2, never a traceback."""

import os

import pytest

from fixtures_go import run_cli


def _garbage_section_headers(src, dst):
    data = bytearray(src.read_bytes())
    shoff = int.from_bytes(data[0x28:0x30], "little")
    data[shoff:shoff + 64 * 8] = os.urandom(64 * 8) if False else bytes((i * 37 + 11) % 256 for i in range(512))
    dst.write_bytes(bytes(data))


def _huge_shnum(src, dst):
    data = bytearray(src.read_bytes())
    data[0x3C:0x3E] = (0xFFFF).to_bytes(2, "little")
    dst.write_bytes(bytes(data))


@pytest.fixture
def bad_inputs(tmp_path, go_binaries):
    static = go_binaries["static"]
    cases = {}
    (tmp_path / "empty").write_bytes(b"")
    cases["empty"] = tmp_path / "empty"
    (tmp_path / "text").write_text("#!/bin/sh\necho hi\n")
    cases["text"] = tmp_path / "text"
    (tmp_path / "trunc").write_bytes(static.read_bytes()[:300])
    cases["truncated"] = tmp_path / "trunc"
    (tmp_path / "trunc-half").write_bytes(static.read_bytes()[: static.stat().st_size // 2])
    cases["truncated-half"] = tmp_path / "trunc-half"
    (tmp_path / "elfmagic").write_bytes(b"\x7fELF")
    cases["magic-only"] = tmp_path / "elfmagic"
    _garbage_section_headers(static, tmp_path / "garbage-sh")
    cases["garbage-section-headers"] = tmp_path / "garbage-sh"
    _huge_shnum(static, tmp_path / "huge-shnum")
    cases["huge-shnum"] = tmp_path / "huge-shnum"
    (tmp_path / "dir").mkdir()
    cases["directory"] = tmp_path / "dir"
    cases["missing"] = tmp_path / "does-not-exist"
    os.mkfifo(tmp_path / "fifo")
    cases["fifo"] = tmp_path / "fifo"
    return cases


@pytest.mark.parametrize("command", [["inspect"], ["inspect", "--json"], ["check", "--target", "centos-7"]])
def test_each_bad_input_is_one_line_exit_2(bad_inputs, command):
    for name, path in bad_inputs.items():
        r = run_cli(*command, path)
        assert r.code == 2, (name, r)
        assert "Traceback" not in r.err, name
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pkgfactory: error: "), (name, r.err)
        assert str(path) in lines[0], name
        assert r.out == "", name  # nothing that looks like a report


def test_bad_file_among_good_ones_prints_no_partial_report(bad_inputs, go_binaries):
    r = run_cli("check", "--json", "--target", "centos-7", go_binaries["static"], bad_inputs["text"])
    assert r.code == 2 and r.out == ""


def test_unknown_target_and_bad_arch(go_binaries):
    r = run_cli("check", go_binaries["static"], "--target", "windows-95")
    assert r.code == 2 and "unknown target 'windows-95'" in r.err and len(r.err.strip().splitlines()) == 1
    r = run_cli("check", go_binaries["static"], "--target", "centos-7", "--arch", "sparc")
    assert r.code == 2 and "Traceback" not in r.err


def test_names_are_text_not_markup(go_binaries, tmp_path):
    """A binary named like rich markup is printed as it is named, and does not crash the report."""
    for name in ("[/]x", "[green]OK[/]", "a:thumbs_up:b"):
        path = tmp_path / name  # "[/]x" is the file "]x" in the directory "["
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(go_binaries["static"].read_bytes())
        r = run_cli("check", path, "--target", "centos-7")
        assert r.code in (0, 1) and "Traceback" not in r.err, r
        assert f"{path} (x86_64)" in r.out.replace("\n", ""), r.out


@pytest.mark.parametrize("option", ["--binary", "--from-nfpm"])
def test_init_refuses_each_bad_input_in_one_line(bad_inputs, option, tmp_path):
    out = tmp_path / "out" / "pkgfactory.toml"
    out.parent.mkdir()
    for name, path in bad_inputs.items():
        r = run_cli("init", option, path, "-o", out)
        assert r.code == 2, (name, r)
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pkgfactory: error: "), (name, r.err)
        assert str(path) in lines[0], name
        assert r.out == "" and not out.exists(), name
