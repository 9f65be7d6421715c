"""pkgfactory.runner against real commands: the contract every stage relies on."""

import os
import signal
import subprocess
import sys
import time

import pytest

from pkgfactory.errors import PkgfError
from pkgfactory.runner import run


def test_captures_stdout_and_stderr_quietly(capfd):
    proc = run(["sh", "-c", "echo out; echo err >&2"])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "out\n", "err\n")
    assert proc.args == ["sh", "-c", "echo out; echo err >&2"]
    assert capfd.readouterr() == ("", "")


def test_verbose_shows_output_live(capfd):
    run(["sh", "-c", "echo out; echo err >&2"], verbose=True)
    seen = capfd.readouterr()
    assert seen.out == "out\n" and seen.err == "err\n"


def test_argv_items_are_not_shell_parsed():
    proc = run(["printf", "%s|", "a b", "$HOME", ";", "*"])
    assert proc.stdout == "a b|$HOME|;|*|\n"


def test_string_argv_is_refused():
    with pytest.raises(TypeError):
        run("echo hi")


def test_failure_raises_with_last_stderr_line(tmp_path):
    with pytest.raises(PkgfError) as e:
        run(["sh", "-c", "echo first >&2; echo 'the reason' >&2; echo >&2; exit 3"])
    assert str(e.value) == "sh failed with exit 3: the reason"


def test_failure_names_the_log(tmp_path):
    log = tmp_path / "stage.log"
    with pytest.raises(PkgfError, match=rf"^false failed with exit 1 \(log: {log}\)$"):
        run(["false"], log=log)


def test_check_false_returns_the_status():
    assert run(["false"], check=False).returncode == 1
    assert run(["true"]).returncode == 0


def test_missing_tool_is_one_line_with_a_hint():
    with pytest.raises(PkgfError, match=r"^no-such-tool-pkgf not found: install no-such-tool-pkgf with the "
                                        r"system's package manager; in this clone, bash \S+/scripts/setup.sh "):
        run(["no-such-tool-pkgf", "--version"])
    # A known tool is named by the Debian package that provides it.
    with pytest.raises(PkgfError, match=r"^createrepo_c not found: install the Debian package createrepo-c "
                                        r"\(apt-get install createrepo-c\)"):
        run(["createrepo_c", "--version"], env={"PATH": "/nonexistent"})


def test_missing_tool_is_looked_up_on_the_given_path(tmp_path):
    with pytest.raises(PkgfError, match="^sh not found"):
        run(["sh", "-c", "true"], env={"PATH": str(tmp_path)})


def test_log_gets_command_and_output_appended(tmp_path):
    log = tmp_path / "sub" / "build.log"
    run(["sh", "-c", "echo one; echo two >&2"], log=log)
    run(["sh", "-c", "exit 4"], log=log, check=False)
    text = log.read_text()
    assert text.startswith("$ sh -c 'echo one; echo two >&2'\none\ntwo\n[exit 0 after ")
    assert "$ sh -c 'exit 4'\n[exit 4 after " in text


def test_secrets_never_reach_log_error_or_screen(tmp_path, capfd):
    log = tmp_path / "sign.log"
    secret = "hunter2-passphrase"
    with pytest.raises(PkgfError) as e:
        run(["sh", "-c", f"echo using {secret}; echo bad {secret} >&2; exit 2", "x", secret],
            log=log, redact=[secret], verbose=True)
    assert secret not in log.read_text()
    assert "***" in log.read_text()
    assert secret not in str(e.value) and "bad ***" in str(e.value)
    assert secret not in "".join(capfd.readouterr())


def test_redacted_output_is_still_returned_to_the_caller():
    assert run(["echo", "s3cret"], redact=["s3cret"]).stdout == "s3cret\n"


def test_input_is_fed_to_stdin():
    assert run(["cat"], input="line1\nline2\n").stdout == "line1\nline2\n"


def test_large_input_is_not_limited_by_the_pipe_buffer():
    assert run(["wc", "-c"], input="x" * 1_000_000).stdout.strip() == "1000000"


def test_input_ignored_by_the_tool_does_not_hang():
    assert run(["true"], input="y" * 1_000_000).returncode == 0


def test_stdin_is_never_the_terminal():
    # No input: a tool that reads stdin sees EOF at once instead of waiting.
    assert run(["cat"]).stdout == ""


def test_cwd_and_env_are_passed(tmp_path):
    proc = run(["sh", "-c", 'pwd; echo "$PKGF_X"'], cwd=tmp_path,
               env={**os.environ, "PKGF_X": "42"})
    assert proc.stdout.splitlines() == [str(tmp_path), "42"]


def test_relative_tool_path_resolves_against_cwd(tmp_path):
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho hello\n")
    script.chmod(0o755)
    assert run(["./hello.sh"], cwd=tmp_path).stdout == "hello\n"


def test_missing_cwd_is_reported():
    with pytest.raises(PkgfError, match="working directory /no/such/dir does not exist"):
        run(["true"], cwd="/no/such/dir")


def test_timeout_kills_the_command_and_its_children(tmp_path):
    log = tmp_path / "t.log"
    started = time.monotonic()
    with pytest.raises(PkgfError, match=rf"^sh timed out after 0.5s \(log: {log}\)$"):
        # The background sleep keeps stdout open: unless it dies too, run() would wait for it.
        run(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5, log=log)
    assert time.monotonic() - started < 10
    assert "[timed out after" in log.read_text()


def test_timeout_not_reached_keeps_exit_status():
    assert run(["sh", "-c", "exit 124"], timeout=30, check=False).returncode == 124


def test_non_utf8_output_fails_loudly_instead_of_truncating():
    with pytest.raises(PkgfError, match="output could not be captured"):
        run(["printf", r"ok\n\377\n"])


def test_ctrl_c_reaches_a_tool_running_under_timeout(tmp_path):
    # timeout moves the tool out of the terminal's process group; a Ctrl-C
    # (SIGINT to our group) must still stop it rather than leave it running.
    # Sent the moment the tool is up, it also lands while asyncio is still
    # connecting the pipes: there, asyncio's own handling SIGKILLed timeout and
    # then waited for the pipes the orphaned tool kept open (a hang as long as
    # the tool; about 1 run in 20 under load).
    for i in range(5):
        _ctrl_c_once(tmp_path / f"pid{i}")


# asyncio made slow to connect the child's pipes, so that the Ctrl-C surely lands in that window.
_SLOW_CONNECT = """
import asyncio
import asyncio.base_subprocess as bs
_connect = bs.BaseSubprocessTransport._connect_pipes
async def slow(self, waiter):
    await asyncio.sleep(1.5)
    await _connect(self, waiter)
bs.BaseSubprocessTransport._connect_pipes = slow
"""


def test_ctrl_c_while_asyncio_connects_the_pipes(tmp_path):
    _ctrl_c_once(tmp_path / "pid", prelude=_SLOW_CONNECT)


# As when started from a terminal: a background job of a shell without job control
# (nohup ... &, CI runners) inherits SIGINT ignored, and so would our caller.
_AS_FROM_A_TERMINAL = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"


def _ctrl_c_once(pidfile, prelude=""):
    script = (_AS_FROM_A_TERMINAL + prelude + "from pkgfactory.runner import run\n"
              f"run(['sh', '-c', 'echo $$ > {pidfile}; exec sleep 60'], timeout=50)\n")
    caller = subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                              stderr=subprocess.DEVNULL)
    try:
        tool_pid = _tool_pid(pidfile)
        os.killpg(caller.pid, signal.SIGINT)
        try:
            assert caller.wait(timeout=10) != 0
        except subprocess.TimeoutExpired:
            pytest.fail("pkgfactory still running 10 s after Ctrl-C")
        deadline = time.monotonic() + 10
        while _alive(tool_pid):
            assert time.monotonic() < deadline, "tool still running after Ctrl-C"
            time.sleep(0.05)
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()


def test_a_second_ctrl_c_kills_a_tool_that_ignores_the_first(tmp_path):
    pidfile = tmp_path / "pid"
    script = (_AS_FROM_A_TERMINAL + "from pkgfactory.runner import run\n"
              f"run(['sh', '-c', 'trap \"\" INT; echo $$ > {pidfile}; sleep 60; echo survived'], timeout=50)\n")
    caller = subprocess.Popen([sys.executable, "-c", script], start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        tool_pid = _tool_pid(pidfile)
        os.killpg(caller.pid, signal.SIGINT)
        time.sleep(1)
        assert caller.poll() is None and _alive(tool_pid)  # the tool ignores it; we wait for it
        os.killpg(caller.pid, signal.SIGINT)
        assert caller.wait(timeout=10) != 0
        assert not _alive(tool_pid)
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()


def _tool_pid(pidfile) -> int:
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, "tool never started"
        time.sleep(0.002)
    return int(pidfile.read_text())


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False
