"""What `build` and `bundle` show while packages build.

On a terminal: a live rich Progress, one row per package (its step and elapsed
time) under an overall bar, since several packages build at once. Without one
(CI logs, pipes, --json): plain lines, printed in the matrix's order whatever
order the builds finish in, so two runs' logs compare line by line.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from pkgfactory.commands._common import text
from pkgfactory.printable import printable

_STEP_TEXT = {"cache": "looking in the package cache", "build": "building", "check": "checking the package"}


def _label(r) -> str:
    # The live rows' descriptions are format strings rich reads as markup: the data is escaped.
    return escape(printable(f"{r.target} {r.arch} ({r.format})"))


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape  # only live rows need it: --json runs never load rich

    return rich_escape(text)


class BuildDisplay:
    """Callbacks for pkgfactory.build (on_plan, on_start, on_step, on_done) and a context for the run."""

    def __init__(self, out, *, quiet: bool, out_dir, title: str, lines: str = "build"):
        self.out, self.quiet, self.out_dir, self.title, self.lines = out, quiet, Path(out_dir), title, lines
        self.live = not quiet and out.is_terminal
        self._progress = None
        self._rows: dict[tuple[str, str], int] = {}
        self._started: dict[tuple[str, str], float] = {}
        self._order: list[tuple[str, str]] = []
        self._done: dict[tuple[str, str], object] = {}
        self._printed = 0
        self._lock = threading.Lock()

    def options(self) -> dict:
        return {"on_plan": self.on_plan, "on_start": self.on_start, "on_step": self.on_step, "on_done": self.on_done}

    # --- the run --------------------------------------------------------------------------

    def __enter__(self):
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(bar_width=None),
                                      MofNCompleteColumn(), TextColumn("{task.fields[step]}"),
                                      TimeElapsedColumn(), console=self.out, transient=False)
            self._overall = self._progress.add_task(f"[bold]{self.title}", total=None, step="")
            self._progress.start()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()
        return False

    # --- callbacks from the build (any thread) ---------------------------------------------

    def on_plan(self, results) -> None:
        self._order = [(r.target, r.arch) for r in results]
        if self._progress is not None:
            self._progress.update(self._overall, total=len(results))
            for r in results:
                self._rows[(r.target, r.arch)] = self._progress.add_task(
                    f"  {_label(r)}", total=1, step="[dim]waiting", start=False)

    def on_start(self, r) -> None:
        key = (r.target, r.arch)
        self._started[key] = time.monotonic()
        if self._progress is not None and key in self._rows:
            self._progress.start_task(self._rows[key])
            self._progress.update(self._rows[key], step="starting")

    def on_step(self, r, step: str) -> None:
        if self._progress is not None and (r.target, r.arch) in self._rows:
            self._progress.update(self._rows[(r.target, r.arch)], step=_STEP_TEXT.get(step, step))

    def on_done(self, r) -> None:
        key = (r.target, r.arch)
        if self._progress is not None and key in self._rows:
            how = " (cached)" if r.from_cache else (f" (copy of {escape(printable(r.copy_of))})" if r.copy_of else "")
            step = f"[green]built{how}" if r.ok else f"[red]{escape(r.status)}"
            self._progress.update(self._rows[key], completed=1, step=step)
            self._progress.stop_task(self._rows[key])
            self._progress.advance(self._overall)
        with self._lock:
            self._done[key] = r
            self._flush()

    # --- plain lines ------------------------------------------------------------------------

    def _flush(self) -> None:
        """Print finished packages in plan order: a later one waits for the ones before it."""
        order = self._order or list(self._done)
        while self._printed < len(order) and order[self._printed] in self._done:
            r = self._done[order[self._printed]]
            self._printed += 1
            if not self.quiet and not self.live:
                for line in self._lines(r):
                    self.out.print(line)

    def _lines(self, r):
        # Text, never markup: errors, artifacts and waivers carry file names and project text.
        how = " from the package cache" if r.from_cache else (f", copy of {r.copy_of}'s build" if r.copy_of else "")
        if self.lines == "bundle":
            if not r.ok:
                yield text(f"  {r.target} {r.arch}: ", (r.status, "red"), ": ", r.error)
            elif r.prebuilt:
                yield text(f"  {r.target} {r.arch}: ", ("prebuilt, taken as supplied", "green"))
            else:
                yield text(f"  {r.target} {r.arch}: ", ("built", "green"), how)
            return
        yield text((r.target, "bold"), f" {r.arch} ({r.format}) …")
        if r.ok:
            yield text("  ", ("built", "green"), " ", r.artifact, f" ({r.seconds:.1f}s{how})")
        else:
            yield text("  ", (r.status, "red"), ": ", r.error, " (log: ", self.out_dir / r.log, ")")
        for w in r.waivers:
            yield text("  ", ("waived", "yellow"), " ", w["binary"], f" {w['code']}: ", w["reason"])
