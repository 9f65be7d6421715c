"""Live progress on a terminal (a real pty), plain ordered lines without one."""

from __future__ import annotations

import os
import re

import pytest

from fixtures_go import run_cli
from hello_example import build_hello, copy_example
from terminal import run_in_pty

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("progress")
    return copy_example(root / "p", build_hello(root / "bins"))


def argv(project, out):
    # Native builds: the display is under test, not the builder. --no-cache: real builds.
    return ["build", "-c", str(project), "-o", str(out), "--builder", "native", "--arch", "x86_64",
            "--target", "centos-7", "--target", "debian-12", "--no-cache", "--jobs", "2"]


def test_a_terminal_gets_a_live_row_per_package_and_an_overall_bar(project, tmp_path):
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "140", "LINES": "40"}
    env.pop("NO_COLOR", None)
    code, text = run_in_pty(argv(project, tmp_path / "out"), env)
    assert code == 0, text[-2000:]
    assert "\x1b[" in text  # cursor moves: a live display, redrawn in place
    plain = ANSI.sub("", text)
    assert re.search(r"build\s.*2/2", plain), plain[-3000:]  # the overall bar, complete
    for row in ("centos-7 x86_64 (rpm)", "debian-12 x86_64 (deb)"):
        assert re.search(re.escape(row) + r".*1/1\s+built\s+\d+:\d\d:\d\d", plain), (row, plain[-3000:])
    assert "building" in plain  # a step seen while it ran
    assert "pkgfactory build" in plain  # the summary table after the display


def test_without_a_terminal_plain_lines_in_the_matrix_order(project, tmp_path):
    r = run_cli(*argv(project, tmp_path / "out"))
    assert r.code == 0, r.err
    assert "\x1b[" not in r.out and "1/1" not in r.out and "building" not in r.out  # no live display
    lines = r.out.splitlines()
    assert lines[0] == "centos-7 x86_64 (rpm) …"
    assert re.fullmatch(r"  built centos-7/x86_64/hello-service-1\.2\.0-1\.x86_64\.rpm \(\d+\.\ds\)", lines[1])
    assert lines[2] == "debian-12 x86_64 (deb) …"
    assert re.fullmatch(r"  built debian-12/x86_64/hello-service_1\.2\.0-1_amd64\.deb \(\d+\.\ds\)", lines[3])


@pytest.mark.parametrize("lines", ["build", "bundle"])
def test_names_in_the_plain_lines_are_text_not_markup(tmp_path, lines):
    """Errors, logs and waivers carry file names and project text: printed as they are, never as
    markup, and without the terminal controls they may hold."""
    from io import StringIO
    from types import SimpleNamespace

    from rich.console import Console

    from pkgfactory.commands.progress import BuildDisplay

    buf = StringIO()
    out = Console(file=buf, width=400, force_terminal=False, emoji=False, highlight=False)
    failed = SimpleNamespace(target="centos-7", arch="x86_64", format="rpm", ok=False, status="build-failed",
                             error="dist/[/]x: [green]OK[/] \x1b[2J", log="logs/[red]x.log", artifact=None,
                             waivers=[{"binary": "/usr/bin/[b]", "code": "glibc-too-new", "reason": "[/] :thumbs_up:"}],
                             from_cache=False, copy_of=None, prebuilt=False, seconds=1.0)
    built = SimpleNamespace(**{**vars(failed), "target": "debian-12", "ok": True, "status": "built", "error": None,
                               "artifact": "debian-12/x86_64/[/]_1.deb", "waivers": []})
    display = BuildDisplay(out, quiet=False, out_dir=tmp_path / "[o]", title="build", lines=lines)
    with display:
        display.on_plan([failed, built])
        for r in (failed, built):
            display.on_start(r)
            display.on_done(r)
    text = buf.getvalue()
    assert "dist/[/]x: [green]OK[/] \\x1b[2J" in text and "\x1b" not in text, text
    if lines == "build":
        assert "[o]/logs/[red]x.log" in text and "/usr/bin/[b] glibc-too-new: [/] :thumbs_up:" in text, text
        assert "built debian-12/x86_64/[/]_1.deb" in text, text
