"""Part of a large run's JSON report, written by a process of its own on the other core.

A large run's JSON report is most of its finishing time (~12 s of ~20 at 50,000 pages), on
one core while the other is idle. A smaller run's is split with a forked copy
(:mod:`linkcheck.report.forking`); a large run's is not: its occurrences are spilled to
files to bound its memory, and a forked copy counts every page of its parent's memory
(the 50,000-page run's process tree went from 288 to 457 MiB, bench/README.md). So this
process is started fresh (``python -m linkcheck.report.json_part``), given only what it
needs: the run's spill files through descriptors it inherits (nothing is copied), the page
URLs and the variants' ends (:meth:`OccurrenceTables.reading_copy`), the page ranks, and
for each of its links the line's start and end and where its occurrences are. It writes
those links' lines with the report's own writer (:func:`json_report.write_part`), into a
file that the process which started it copies into the report after its own part (and,
meanwhile, the run's other formats: see report.write_reports).

Arguments: the descriptors of the request file, of the output file, and of the spill's two
streams. It exits 0 once every line is written; any other end leaves the part to the
process that started it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from typing import IO

log = logging.getLogger(__name__)

# The process inherits the spill's descriptors (pass_fds): POSIX only.
AVAILABLE = os.name == "posix"

# Of the occurrences, those past the cut that this process writes: the one that started it
# also writes the findings and the pages, and copies this part into the report.
SHARE = 0.5
# ... and when the process that started it writes the other reports meanwhile (at
# json_report.PAUSE: the default html's took ~5.5 s at 50,000 pages, the JSON's links ~11 s
# in one process).
SHARE_BESIDE_OTHERS = 0.75
# A run with fewer occurrences than this writes its report in less time than a process
# takes to start and read its request (~0.2 s).
AT_LEAST_OCCURRENCES = 200_000
# Seconds waited for the part, past the time the starting process took for its own work
# (the shares are set so that the two take about as long): a part that is not written by
# then is written there.
GRACE = 30.0


class Part:
    """A started process writing part of the report into ``output``."""

    def __init__(self, process: subprocess.Popen[bytes], output: IO[bytes]) -> None:
        self._process = process
        self._output = output
        self._started = time.monotonic()

    def written(self) -> bool:
        """Wait for the part; whether it was written whole (then it is in ``output``, which
        is left at its start). Waits at most as long again as the caller's own part took,
        plus :data:`GRACE`; a process still writing then is stopped."""
        waited = time.monotonic() - self._started + GRACE
        try:
            code = self._process.wait(timeout=waited)
        except subprocess.TimeoutExpired:
            log.info("the JSON report's second part took over %.0f s: written here", waited)
            self.stop()
            return False
        if code != 0:
            log.info("the JSON report's second part ended with %s: written here", code)
            return False
        self._output.seek(0)
        return True

    def stop(self) -> None:
        """End the process (the caller stops writing the report)."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


def start(request: IO[bytes], descriptors: tuple[int, int], output: IO[bytes]) -> Part | None:
    """Start the process on a written ``request`` (read from its start) with the spill's
    ``descriptors``; None when it cannot be started (the caller writes every line)."""
    request.flush()
    request.seek(0)
    passed = (request.fileno(), output.fileno(), *descriptors)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "linkcheck.report.json_part", *map(str, passed)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=passed,
        )
    except OSError as exc:
        log.info("the JSON report's second part is written here (%s)", exc)
        return None
    return Part(process, output)


def main(arguments: list[str]) -> int:
    """The process's work: the arguments are the descriptors :func:`start` passes."""
    # Ctrl-C in a terminal reaches the whole process group: the process that started this
    # one decides (it finishes the reports first, or stops this one); also during imports.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from linkcheck.report.json_report import write_part  # (it imports this module)

    request, output, rows, text = map(int, arguments)
    with os.fdopen(request, "rb") as requested, os.fdopen(output, "wb") as written:
        write_part(requested, (rows, text), written)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
