"""Bad input: one line on stderr, exit 2, never a traceback; with --json, the error as JSON on stdout."""

import json
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
        # Nothing that looks like a report: with --json, only the error, as JSON.
        if "--json" in command:
            assert json.loads(r.out)["error"]["message"] == lines[0].removeprefix("pkgfactory: error: "), name
        else:
            assert r.out == "", name


def test_bad_file_among_good_ones_prints_no_partial_report(bad_inputs, go_binaries):
    r = run_cli("check", "--json", "--target", "centos-7", go_binaries["static"], bad_inputs["text"])
    assert r.code == 2
    # With --json the error itself is the whole of stdout: no partial report before it.
    assert json.loads(r.out) == {"error": {"code": "bad-input", "exit_code": 2,
                                           "message": f"{bad_inputs['text']}: not an ELF binary"}}


def test_unknown_target_and_bad_arch(go_binaries):
    r = run_cli("check", go_binaries["static"], "--target", "windows-95")
    assert r.code == 2 and "unknown target 'windows-95'" in r.err and len(r.err.strip().splitlines()) == 1
    r = run_cli("check", go_binaries["static"], "--target", "centos-7", "--arch", "sparc")
    assert r.code == 2 and "Traceback" not in r.err


# --- every command that has --json reports its errors as JSON ---------------------------

def _all_commands(group=None, path=()):
    """(command words, click command) of every sub-command."""
    from pkgfactory.cli import _register, cli

    if group is None:
        _register()
        group = cli
    for name in group.list_commands(None):
        cmd = group.get_command(None, name)
        if hasattr(cmd, "commands"):
            yield from _all_commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


def _json_commands():
    for words, cmd in _all_commands():
        if any("--json" in getattr(p, "opts", ()) for p in cmd.params):
            yield " ".join(words)


def _failing_args(tmp_path) -> dict[str, list]:
    """One invocation per --json command that fails on bad input (exit 2)."""
    missing = tmp_path / "missing"
    return {
        "inspect": ["inspect", missing],
        "check": ["check", "-t", "centos-7", missing],
        "targets list": ["targets", "list", "--targets-dir", missing],
        "targets show": ["targets", "show", "no-such-os"],
        "keys generate": ["keys", "generate", "--name", "n", "--email", "e@x", "--no-passphrase",
                          "--passphrase-file", missing, "--keys-dir", tmp_path / "k"],
        "keys import": ["keys", "import", missing, "--keys-dir", tmp_path / "k"],
        "keys list": ["keys", "list", "--keys-dir", missing],
        "build": ["build", "-c", missing / "pkgfactory.toml", "-o", tmp_path / "out"],
        "bundle": ["bundle", "-c", missing / "pkgfactory.toml", "-o", tmp_path / "out", "--keys-dir", missing],
        "verify": ["verify", missing],
        "init": ["init", "--binary", missing, "-o", tmp_path / "new" / "pkgfactory.toml"],
        "compile": ["compile", "-c", missing / "pkgfactory.toml", "-o", tmp_path / "dist"],
    }


def test_every_json_command_reports_errors_as_json_with_the_same_exit_code(tmp_path):
    cases = _failing_args(tmp_path)
    assert set(_json_commands()) == set(cases), "a new --json command needs a case here"
    for name, args in cases.items():
        plain = run_cli(*args)
        r = run_cli(*args, "--json")
        assert r.code == plain.code == 2, (name, r)
        doc = json.loads(r.out)
        assert set(doc) == {"error"} and set(doc["error"]) == {"code", "message", "exit_code"}, name
        assert doc["error"]["exit_code"] == 2 and doc["error"]["code"] == "bad-input", (name, doc)
        # The same one line still goes to stderr for whoever reads the log.
        assert plain.err.strip() == f"pkgfactory: error: {doc['error']['message']}", name
        assert r.err == plain.err and plain.out == "", name


@pytest.mark.parametrize("args", [["check", "-t", "centos-7", "--arch", "vax", "/bin/true"], ["check"],
                                  ["targets", "list", "--bogus"], ["keys", "list", "--keys-dir"]])
def test_usage_errors_with_json_are_json_too(args):
    r = run_cli(*args[:2], "--json", *args[2:]) if args != ["check"] else run_cli("check", "--json")
    assert r.code == 2, r
    doc = json.loads(r.out)
    assert doc["error"]["code"] == "usage" and doc["error"]["exit_code"] == 2 and doc["error"]["message"]
    assert "Error:" in r.err  # click's own message stays on stderr
    # Without --json: nothing on stdout.
    assert run_cli(*args).out == ""


def test_json_after_a_double_dash_is_an_argument_not_the_flag(go_binaries):
    r = run_cli("inspect", "--", "--json")
    assert r.code == 2 and r.out == "" and "--json: no such file" in r.err


def test_names_are_text_not_markup(go_binaries, tmp_path):
    """A binary named like rich markup is printed as it is named, and does not crash the report."""
    for name in ("[/]x", "[green]OK[/]", "a:thumbs_up:b"):
        path = tmp_path / name  # "[/]x" is the file "]x" in the directory "["
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(go_binaries["static"].read_bytes())
        r = run_cli("check", path, "--target", "centos-7")
        assert r.code in (0, 1) and "Traceback" not in r.err, r
        assert f"{path} (x86_64)" in r.out.replace("\n", ""), r.out



def test_names_are_text_in_the_matrix_and_inspect(go_binaries, tmp_path):
    """The check matrix (several targets) and inspect print names as text too, control characters
    as \\xNN: a terminal must not obey an escape sequence in a file name."""
    path = tmp_path / "[/]" / "]x[green]OK[bold]\x1b[2J"  # the directories "[" and "]", then the file
    path.parent.mkdir(parents=True)
    path.write_bytes(go_binaries["static"].read_bytes())
    shown = str(path).replace("\x1b", "\\x1b")
    r = run_cli("check", path, "--target", "centos-7", "--target", "debian-12")
    assert r.code in (0, 1) and "Traceback" not in r.err, r
    assert "]x[green]OK[bold]\\x1b[2J" in r.out and "\x1b" not in r.out, r.out
    r = run_cli("inspect", path)
    assert r.code == 0 and shown in r.out.replace("\n", "") and "\x1b" not in r.out, r


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


# --- output and cache directories that cannot be made ------------------------------------

def _one_line(r) -> str:
    assert r.code == 2 and "Traceback" not in r.err and r.out == "", r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pkgfactory: error: "), r.err
    return lines[0]


@pytest.fixture
def example_source(tmp_path):
    from hello_example import copy_example_source

    return copy_example_source(tmp_path / "project")


@pytest.mark.parametrize("command", ["compile", "build", "bundle"])
@pytest.mark.parametrize("out", ["/etc/passwd/x", "/proc/x", "/proc", "/etc/passwd/x/y"])
def test_an_output_directory_that_cannot_be_made_is_bad_input(example_source, tmp_path, command, out):
    extra = ["--keys-dir", tmp_path / "keys"] if command == "bundle" else []
    r = run_cli(command, "-c", example_source, "-o", out, "-t", "debian-12", "--arch", "x86_64", *extra)
    line = _one_line(r)
    assert "output directory" in line and out in line, line


def test_a_cache_home_that_is_a_file_is_bad_input(example_source, tmp_path):
    r = run_cli("compile", "-c", example_source, "-o", tmp_path / "dist", "-t", "debian-12",
                env={**os.environ, "XDG_CACHE_HOME": "/etc/passwd"})
    assert "cache directory /etc/passwd/pkgfactory" in _one_line(r)
    assert not (tmp_path / "dist").exists()


def test_a_profile_that_is_not_utf8_is_bad_input(tmp_path, go_binaries):
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "y.toml").write_bytes(b"\xff\xfe")
    r = run_cli("check", go_binaries["static"], "-t", "y", "--targets-dir", d)
    assert _one_line(r) == f"pkgfactory: error: {d / 'y.toml'}: not UTF-8 text (byte 0)"


# --- an empty path is not the current directory ------------------------------------------

def _looks_like_a_path(param) -> bool:
    import click

    return (isinstance(param.type, click.Path) or (param.metavar or "").rstrip(".") in {"DIR", "FILE", "PATH"}
            or param.name.endswith(("_dir", "_dirs", "_file", "_root", "output", "config")))


def _path_params():
    for words, cmd in _all_commands():
        for p in cmd.params:
            if _looks_like_a_path(p):
                yield words, p


def test_every_path_option_and_argument_uses_the_shared_path_type():
    from pkgfactory.commands._common import PathType

    found = list(_path_params())
    names = {(" ".join(w), p.name) for w, p in found}
    # The walk finds the options the empty-path defect was reported on: it is not vacuous.
    assert {("keys generate", "keys_dir"), ("compile", "out_dir"), ("bundle", "prebuilt_dir"),
            ("bundle", "passphrase_file"), ("build", "sources_root"), ("targets list", "targets_dirs"),
            ("verify", "bundle"), ("inspect", "binaries"), ("keys import", "key_file")} <= names
    assert [(w, p.name) for w, p in found if not isinstance(p.type, PathType)] == []


def test_an_empty_path_is_refused_in_one_line_naming_the_option(tmp_path, monkeypatch):
    import click
    from click.testing import CliRunner

    from pkgfactory.cli import cli

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    # In this process: thirty-odd interpreter start-ups would cost more than the rest of the file.
    runner = CliRunner()
    for words, p in _path_params():
        given = [""] if isinstance(p, click.Argument) else [max(p.opts, key=len), ""]
        r = runner.invoke(cli, [*words, *given], prog_name="pkgfactory")
        name = p.human_readable_name if isinstance(p, click.Argument) else max(p.opts, key=len)
        assert r.exit_code == 2 and r.stdout == "", (words, p.name, r.output)
        assert r.stderr == f"pkgfactory: error: {name} is empty: give a path (. for the current directory)\n", \
            (words, p.name, r.stderr)
    # Nothing was made of the current directory (keys generate made it a GnuPG home).
    assert list(cwd.iterdir()) == []


def test_an_empty_path_with_json_is_a_json_error():
    r = run_cli("keys", "generate", "--keys-dir", "", "--name", "n", "--email", "e@x", "--no-passphrase", "--json")
    assert r.code == 2
    assert json.loads(r.out)["error"] == {"code": "bad-input", "exit_code": 2,
                                          "message": "--keys-dir is empty: give a path (. for the current directory)"}


# --- cache settings are checked when a command starts ------------------------------------

_CACHE_SETTINGS = [("compile", "PKGF_COMPILE_CACHE_MB", "abc"), ("build", "PKGF_COMPILE_CACHE_MB", "12x"),
                   ("build", "PKGF_PACKAGE_CACHE_MB", "x"), ("bundle", "PKGF_PACKAGE_CACHE_MB", "-1"),
                   ("bundle", "PKGF_SIGNATURE_CACHE_MB", "²"), ("build", "PKGF_PACKAGE_CACHE", "/etc/passwd"),
                   ("bundle", "PKGF_PACKAGE_CACHE", "/etc/passwd/cache"),
                   ("bundle", "PKGF_SIGNATURE_CACHE", "/etc/passwd"), ("bundle", "PKGF_BUNDLE_CACHE_MB", "1.5"),
                   ("bundle", "PKGF_BUNDLE_CACHE", "/etc/passwd")]


@pytest.mark.parametrize("command,var,value", _CACHE_SETTINGS)
def test_a_bad_cache_setting_is_refused_before_anything_is_done(example_source, tmp_path, command, var, value):
    """Not after minutes of compiling, not ignored on a cache hit, not quietly turning the cache off."""
    extra = {"compile": [], "build": ["--builder", "native"],
             "bundle": ["--builder", "native", "--keys-dir", tmp_path / "keys"]}[command]
    out = tmp_path / "out"
    r = run_cli(command, "-c", example_source, "-o", out, "-t", "debian-12", *extra, env={**os.environ, var: value})
    line = _one_line(r)
    assert var in line and value in line, line
    assert not out.exists()
