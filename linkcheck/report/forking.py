"""Report work done by forked copies of the process, on the other cores.

Reports are written at the very end of a run, one core busy and the other idle, and the
html and json reports of a large run each take a noticeable while. A forked copy has the
whole run without copying it (pages are shared until written), writes its part and leaves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable

from linkcheck.models import RunResult

# Linux only: fork is unsafe with macOS system libraries and absent on Windows.
FORKING = sys.platform == "linux" and hasattr(os, "fork")
# Up to a run of this many link occurrences: past it, the pages a
# copy writes to (reference counts on every link it reads) could add a large run's memory
# again, and memory, not time, is what a large run runs short of.
FORK_AT_MOST_OCCURRENCES = 1_000_000
_in_copy = False  # true in a forked copy: it forks no copies of its own


def can_fork(run: RunResult) -> bool:
    """Whether work for this run's reports may go to forked copies: also never in a process
    with another thread (one could hold a lock the copy would wait for forever; the command
    line has none left by then)."""
    return (
        FORKING
        and not _in_copy
        and threading.active_count() == 1
        and sum(len(link.occurrences) for link in run.links.values()) <= FORK_AT_MOST_OCCURRENCES
        and not _spilled(run)
    )


def _spilled(run: RunResult) -> bool:
    """Whether the run's occurrences went to its spill files: its memory was bounded on
    purpose, and a copy's pages (written as it reads the spilled rows back) would add to it."""
    return any(link.occurrences.tables.spill is not None for link in run.links.values())


def start(work: Callable[[], None]) -> int | None:
    """Run ``work`` in a forked copy; its pid, or None when no copy could be made (then do
    the work here). The copy never returns into the caller's code."""
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid:
        return pid
    global _in_copy
    _in_copy = True
    code = 1
    try:
        work()
        code = 0
    finally:
        os._exit(code)


def succeeded(pid: int | None) -> bool:
    """Wait for a copy; whether it did its work (if not, the caller does it)."""
    if pid is None:
        return False
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return False
    return os.waitstatus_to_exitcode(status) == 0


def stop(pid: int) -> None:
    """End a copy whose work is no longer wanted (the caller stopped writing)."""
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    succeeded(pid)
