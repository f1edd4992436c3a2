"""Parse workers started on the program's first line, for the crawl to take over later.

A parse worker (``python -m linkcheck.parse_worker``) needs ~0.1 s to start and import the
parser; the crawler itself needs ~0.2 s of imports before it sends its first request. Started
at the end of those imports, a worker was ready only after the crawler had parsed ~90 pages
itself, on the one busy core. Started first, it imports on the idle core while the crawler
does: `linkcheck run` saved ~60 ms on the 2,000-page benchmark (bench/README.md).

This module imports nothing heavy, so that the workers start before anything else. The
crawl takes them over with :func:`take` (see :meth:`linkcheck.parse_pool.ParsePool.start`);
those it does not want are stopped with :func:`discard`. One left behind by a run that ended
early (a configuration error) reads the end of its input when this process exits, and exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

MAX_WORKERS = 4  # parsing is a part of a crawl: past this, the event loop is the limit

_started: list[subprocess.Popen[bytes]] = []
# The pool joins a started worker's pipes to the event loop, which takes POSIX pipes only
# (elsewhere the pool starts its workers itself, as it always did).
_POSIX = os.name == "posix"


def auto_workers(*, fetching: bool = True) -> int:
    """One worker per spare core, up to :data:`MAX_WORKERS`. ``fetching``: the event loop
    keeps a core busy with HTTP; reading a built folder's files leaves it mostly idle, so
    then every core parses (measured: 2,000 files on 2 cores in 2.14 s instead of 2.38)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(0, min(MAX_WORKERS, cores - 1 if fetching else cores))


# The options of `linkcheck run` that take a value (a test holds this to the Click command):
# what follows one of them is its value, not a start URL or a folder.
RUN_OPTIONS_WITH_VALUES = frozenset(
    {
        "--base-url",
        "--compare",
        "--concurrency",
        "--config",
        "--exclude",
        "--fail-on",
        "--format",
        "--include",
        "--max-depth",
        "--max-duration",
        "--max-pages",
        "--output",
        "-o",
        "--parse-workers",
        "--redis",
        "--run",
        "--timeout",
    }
)


def wanted(args: Sequence[str]) -> int:
    """How many workers to start for this command line, read before Click reads it: for
    `run`, the number its crawl will want (one per spare core, one per core for a folder,
    or --parse-workers); for anything else, none."""
    if not args or args[0] != "run" or "--help" in args or "-h" in args or not _POSIX:
        return 0
    folder = False
    asked: int | None = AUTO
    position, only_arguments = 1, False
    while position < len(args):
        arg = args[position]
        position += 1
        if only_arguments or not arg.startswith("-") or arg == "-":
            folder = folder or os.path.isdir(arg)
        elif arg == "--":
            only_arguments = True
        elif arg.startswith("--parse-workers="):
            asked = _number(arg.partition("=")[2])
        elif arg == "--redis" or arg.startswith("--redis="):
            return 0  # this process coordinates: `linkcheck worker` processes parse
        elif arg in RUN_OPTIONS_WITH_VALUES:
            if arg == "--parse-workers" and position < len(args):
                asked = _number(args[position])
            position += 1  # its value
    if asked is None:
        return 0  # the run stops at its options
    return auto_workers(fetching=not folder) if asked == AUTO else min(MAX_WORKERS, asked)


AUTO = -1  # --parse-workers -1, and the default


def _number(value: str) -> int | None:
    """--parse-workers' value, or None for one the option will refuse."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number >= AUTO else None


def start(count: int) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` workers; one that cannot start is simply not there to take."""
    started = []
    for _ in range(count):
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "linkcheck.parse_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            break
        started.append(process)
    _started.extend(started)
    return started


def take() -> subprocess.Popen[bytes] | None:
    """A started worker still alive, for the crawl to use (None when there is none)."""
    while _started:
        process = _started.pop(0)
        if process.poll() is None:
            return process
        _close(process)
    return None


def waiting() -> int:
    """How many started workers are waiting to be taken."""
    return len(_started)


def discard() -> None:
    """Let the workers nobody took go (the end of their input ends them)."""
    while _started:
        _close(_started.pop())


def _close(process: subprocess.Popen[bytes]) -> None:
    """A worker no one took holds nothing: stopped at once, and reaped."""
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    if process.poll() is None:
        process.kill()
        process.wait()
