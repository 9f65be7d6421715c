"""Run independent package builds side by side: ``--jobs N`` at a time.

Each unit of work is one distinct build (the packages that share its build key)
and runs in a worker thread; its tools run as child processes, so N builds use
N cores while Python only waits. With one job everything runs in the calling
thread, exactly as a serial run did.

A Ctrl-C reaches the main thread only. It stops new builds from starting and is
passed on to the running tools (a second one kills their process groups, as the
runner does for one tool); the running builds end, and KeyboardInterrupt is raised
once they have, so nothing is left writing behind the caller's back.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable, Sequence, TypeVar

from pkgfactory import runner

T = TypeVar("T")
_POLL_S = 0.2


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def run_all(units: Sequence[T], work: Callable[[T], None], jobs: int) -> None:
    """``work(unit)`` for every unit, at most ``jobs`` at once; exceptions from work propagate."""
    if jobs <= 1 or len(units) <= 1:
        for unit in units:
            work(unit)
        return
    stop = threading.Event()

    def guarded(unit: T) -> None:
        if not stop.is_set():
            work(unit)

    interrupts = 0
    with ThreadPoolExecutor(max_workers=min(jobs, len(units)), thread_name_prefix="pkgf-build") as pool:
        futures = [pool.submit(guarded, u) for u in units]
        pending = set(futures)
        while pending:
            try:
                _done, pending = wait(pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                interrupts += 1
                stop.set()
                runner.interrupt_children(second=interrupts > 1)
    if interrupts:
        raise KeyboardInterrupt
    for f in futures:
        f.result()  # a bug in a worker surfaces here, in the caller's thread
