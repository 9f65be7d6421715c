"""The one way pkgfactory runs external tools.

Everything goes through :func:`run` so that every tool call gets the same
treatment: an argv list (never a shell), output shown live only when asked,
a full transcript appended to the stage's log with secrets masked, and a
one-line :class:`PkgfError` instead of a traceback when the tool is missing
or fails.

Built on ``subprocess_tee.run`` (0.4.x), which has gaps we work around here:

* it has no ``input`` and leaves stdin inherited: we always hand it a stdin
  of our own (``/dev/null`` or a pipe fed by a thread), so a tool that
  prompts can never block on the user's terminal;
* it has no ``timeout``: we wrap the command in coreutils ``timeout``, which
  kills the command's whole process group, children included (they would
  otherwise hold the output pipes open and keep us waiting); since that group
  no longer gets the terminal's Ctrl-C, we pass it on ourselves;
* a Ctrl-C that asyncio turns into a cancellation while the child is being
  connected makes asyncio SIGKILL ``timeout`` and then wait for the pipes
  that ``timeout``'s orphaned tool still holds: a hang for as long as the
  tool runs. So during a run (in the main thread) SIGINT only sets a flag and
  is passed on to our children (a second one SIGKILLs their groups); the run
  then ends normally and we raise KeyboardInterrupt;
* a missing executable or cwd surfaces as the same bare FileNotFoundError:
  we check both first;
* it decodes every line as strict UTF-8; a line that is not makes its reader
  task die and the rest of that stream is silently dropped. We catch that
  task's error (asyncio reports it through its logger) and fail loudly
  instead of returning truncated output;
* it prints through whatever ``stdout``/``stderr`` objects it is given, which
  is the hook we use to mask secrets, echo live and write the log as lines
  arrive (a hung build still leaves a log to read).

Captured lines lose trailing whitespace (subprocess_tee strips them).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterable

import subprocess_tee

from pkgfactory.errors import PkgfError
from pkgfactory.hints import install_hint
from pkgfactory.published import open_log

# Grace period between the TERM and the KILL that ``timeout`` sends.
_KILL_AFTER_S = 10
_MASK = "***"


def run(
    argv: list[str],
    *,
    log: Path | None = None,
    verbose: bool = False,
    check: bool = True,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
    redact: Iterable[str] = (),
) -> subprocess.CompletedProcess:
    """Run ``argv`` and return its CompletedProcess (text stdout/stderr).

    ``env`` replaces the environment, as in :mod:`subprocess`; pass
    ``{**os.environ, ...}`` to extend it. Strings in ``redact`` are masked in
    the log, in live output and in error messages, never in the returned
    output, which belongs to the caller.

    Raises PkgfError when the tool is missing, times out, exits non-zero
    (with ``check``) or writes output that is not UTF-8 text.
    """
    if isinstance(argv, (str, bytes)) or not argv:
        raise TypeError("runner.run needs a non-empty argv list")
    argv = [os.fspath(a) for a in argv]
    tool = os.path.basename(argv[0])
    secrets = [s for s in redact if s]
    mask = _masker(secrets)

    if cwd is not None and not Path(cwd).is_dir():
        raise PkgfError(f"cannot run {tool}: working directory {cwd} does not exist")
    path_var = (env if env is not None else os.environ).get("PATH", os.defpath)
    if not _findable(argv[0], path_var, cwd):
        raise _missing(tool)

    full_argv = argv
    if timeout is not None:
        if shutil.which("timeout", path=path_var) is None:
            raise _missing("timeout")
        full_argv = ["timeout", f"--kill-after={_KILL_AFTER_S}", f"{timeout:g}", *argv]

    logf = _open_log(log)
    try:
        if logf:
            in_dir = f" (in {cwd})" if cwd is not None else ""
            logf.write(f"$ {mask(shlex.join(argv))}{in_dir}\n")
            logf.flush()
        started = time.monotonic()
        try:
            with _ctrl_c_passed_on() as interrupted:
                proc = _tee(full_argv, tool, cwd=cwd, env=env, input=input,
                            out=_Sink(sys.stdout if verbose else None, logf, mask),
                            err=_Sink(sys.stderr if verbose else None, logf, mask))
        except KeyboardInterrupt:
            # asyncio's own Ctrl-C handling (outside the main thread, or under someone else's handler).
            if full_argv is not argv:
                _interrupt_child(full_argv)
            raise
        if interrupted():
            raise KeyboardInterrupt
        elapsed = time.monotonic() - started
        proc.args = argv
        timed_out = (timeout is not None and proc.returncode in (124, 128 + 9, -9)
                     and elapsed >= timeout)
        if logf:
            status = "timed out" if timed_out else f"exit {proc.returncode}"
            logf.write(f"[{status} after {elapsed:.1f}s]\n\n")
    finally:
        if logf:
            logf.close()

    where = f" (log: {log})" if log else ""
    if timed_out:
        raise PkgfError(f"{tool} timed out after {timeout:g}s{where}")
    if check and proc.returncode != 0:
        reason = _last_line(proc.stderr) or _last_line(proc.stdout)
        how = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"failed with exit {proc.returncode}")
        raise PkgfError(f"{tool} {how}" + (f": {mask(reason)}" if reason else "") + where)
    return proc


@contextmanager
def _ctrl_c_passed_on():
    """SIGINT during a run: remember it and pass it on to our children; yields "was there one?"."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield lambda: False  # not ours to change; asyncio's own handling applies
        return
    count = [0]
    done = threading.Event()
    before = set(_children())
    me = _cmdline(os.getpid())

    def pass_on(sig: int) -> None:
        # The child may not exist yet, or not have exec'd (a signal to a forked copy of
        # us is lost at exec): keep trying until it is the tool.
        while not done.is_set():
            new = [pid for pid in _children() if pid not in before and _cmdline(pid) not in (me, None)]
            for pid in new:
                _signal_tool(pid, sig)
            if new:
                return
            done.wait(0.05)

    def on_sigint(_signum, _frame):
        count[0] += 1
        sig = signal.SIGINT if count[0] == 1 else signal.SIGKILL
        threading.Thread(target=pass_on, args=(sig,), name="runner-ctrl-c", daemon=True).start()

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: count[0] > 0
    finally:
        done.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)


def interrupt_children(second: bool = False) -> None:
    """A Ctrl-C that reached us while tools run in worker threads (pkgfactory.schedule):
    SIGINT to each tool we started, or on a second Ctrl-C SIGKILL to their process groups,
    what :func:`run` does in the main thread for its one tool."""
    me = _cmdline(os.getpid())
    for pid in _children():
        if _cmdline(pid) in (me, None):
            continue  # a forked copy of us that has not exec'd the tool yet
        _signal_tool(pid, signal.SIGKILL if second else signal.SIGINT)


def _signal_tool(pid: int, sig: int) -> None:
    """``sig`` to a tool we started: to its whole process group when it leads one (``timeout``,
    its command and their children), as a terminal's Ctrl-C reaches a foreground job.
    Not to ``timeout`` alone: a SIGINT that reaches it after fork() but before it has stored its
    child's pid makes it exit at once and leave the command running, holding our pipes (a
    run then hung for as long as the tool: about 1 Ctrl-C in 20 on a loaded machine)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except OSError:
        pass  # already gone


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def _children() -> list[int]:
    """Our direct children in our session (not the passphrase janitor, which has its own)."""
    me = os.getsid(0)
    pids = []
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            for pid in map(int, children.read_text().split()):
                try:
                    if os.getsid(pid) == me:
                        pids.append(pid)
                except OSError:
                    pass
        except OSError:
            pass
    return pids


def _interrupt_child(argv: list[str]) -> None:
    # ``timeout`` puts the tool in a process group of its own, out of reach of
    # the terminal's Ctrl-C, and asyncio leaves it running when interrupted.
    want = b"".join(os.fsencode(a) + b"\0" for a in argv)
    for pid in _children():
        if _cmdline(pid) == want:
            _signal_tool(pid, signal.SIGINT)


def _findable(exe: str, path_var: str, cwd) -> bool:
    # A relative path with a slash is resolved by exec after the chdir to cwd.
    if "/" in exe and not os.path.isabs(exe) and cwd is not None:
        exe = os.path.join(cwd, exe)
    return shutil.which(exe, path=path_var) is not None


def _missing(tool: str) -> PkgfError:
    return PkgfError(f"{tool} not found: {install_hint(tool)}")


def _tee(argv, tool, *, cwd, env, input, out, err) -> subprocess.CompletedProcess:
    stdin, feeder = _stdin_for(input)
    catcher = _StreamErrorCatcher()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addFilter(catcher)
    try:
        kwargs = {"tee": True, "quiet": False, "stdin": stdin, "stdout": out, "stderr": err}
        if cwd is not None:
            kwargs["cwd"] = cwd
        if env is not None:
            kwargs["env"] = env
        try:
            proc = subprocess_tee.run(argv, **kwargs)
        except (FileNotFoundError, PermissionError) as e:
            # Raced with the which() check, or found but not executable.
            raise PkgfError(f"cannot run {tool}: {e.strerror}: {install_hint(tool)}") from e
    finally:
        asyncio_logger.removeFilter(catcher)
        if feeder:
            os.close(stdin)  # unblocks a feeder whose reader exited early
            feeder.join()
    if catcher.error is not None:
        raise PkgfError(f"{tool} output could not be captured ({catcher.error}): "
                        "tool output must be UTF-8 text lines; send binary output to a file")
    return proc


def _stdin_for(input: str | None):
    if input is None:
        return subprocess.DEVNULL, None
    rfd, wfd = os.pipe()
    data = input.encode()

    def feed():
        try:
            with os.fdopen(wfd, "wb") as w:
                w.write(data)
        except (BrokenPipeError, OSError):
            pass  # the tool stopped reading; its exit status tells the story

    feeder = threading.Thread(target=feed, name="runner-stdin", daemon=True)
    feeder.start()
    return rfd, feeder


class _StreamErrorCatcher(logging.Filter):
    """Swallows the 'Task exception was never retrieved' of a dead reader task."""

    def __init__(self):
        super().__init__()
        self.thread = threading.get_ident()
        self.error: BaseException | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.thread != self.thread or exc is None or "_read_stream" not in record.getMessage():
            return True
        self.error = self.error or exc
        return False


class _Sink:
    """What subprocess_tee prints each output line to: terminal and/or log."""

    def __init__(self, echo: IO[str] | None, logf: IO[str] | None, mask):
        self.echo, self.logf, self.mask = echo, logf, mask

    def write(self, text: str) -> int:
        text = self.mask(text)
        if self.echo is not None:
            self.echo.write(text)
            self.echo.flush()
        if self.logf is not None:
            self.logf.write(text)
            if text.endswith("\n"):
                self.logf.flush()
        return len(text)

    def flush(self) -> None:
        pass


def _masker(secrets: list[str]):
    # Longest first, so a secret containing another is masked whole.
    secrets = sorted(set(secrets), key=len, reverse=True)

    def mask(text: str) -> str:
        for s in secrets:
            text = text.replace(s, _MASK)
        return text

    return mask


def _open_log(log: Path | None) -> IO[str] | None:
    if log is None:
        return None
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    return open_log(log)


def _last_line(text: str | None) -> str:
    for line in reversed((text or "").splitlines()):
        if line.strip():
            return line.strip()
    return ""
