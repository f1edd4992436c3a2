"""Write a RunResult in the formats asked for. Each format is one module; files are atomic."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import cast

from linkcheck.models import RunResult
from linkcheck.report.load import ReportError, load_run

# A renderer gets this run and, when there is one, the previous run (for "new" and "fixed").
# Chunks are text, or UTF-8 bytes (the JSON report: orjson writes bytes, and a large run's
# report is tens of MB, decoded and encoded again for nothing).
Renderer = Callable[[RunResult, RunResult | None], Iterable[str] | Iterable[bytes]]

# format → (file name, module, function). A renderer's module (Jinja2 for html) is imported
# only when its format is written: a CI job asking for JSON does not load the others.
RENDERERS: dict[str, tuple[str, str, str]] = {
    "html": ("report.html", "html_report", "render_html"),
    "json": ("report.json", "json_report", "render_json"),
    "junit": ("report.junit.xml", "junit", "render_junit"),
    "sarif": ("report.sarif", "sarif", "render_sarif"),
    "markdown": ("report.md", "markdown", "render_markdown"),
    "csv": ("report.csv", "csv_report", "render_csv"),
    "github": ("report.github.txt", "github", "render_github"),
}


def renderer(fmt: str) -> Renderer:
    """The function that renders ``fmt``, importing its module on first use."""
    _, module, function = RENDERERS[fmt]
    return cast(Renderer, getattr(importlib.import_module(f"linkcheck.report.{module}"), function))


# Writing formats in forked processes: Linux only (fork is unsafe with macOS system
# libraries, absent on Windows), and up to a run of this many link occurrences (a 15,000-page
# guide), past which copy-on-write could add a large process's size again.
_FORK_WRITERS = sys.platform == "linux" and hasattr(os, "fork")
FORK_AT_MOST_OCCURRENCES = 1_000_000

PREVIOUS_RUN_FILE = "report.json"
# Formats that say what is new or fixed; reading a large previous run costs seconds, so
# it is read only when one of these is written.
COMPARING_FORMATS = frozenset({"html", "markdown"})


def write_reports(
    run: RunResult,
    formats: Sequence[str],
    output_dir: str | Path,
    *,
    previous: RunResult | None = None,
) -> list[Path]:
    """Render each format into ``output_dir`` under a fixed name (never one built from a URL).

    Without ``previous``, the JSON report a former run left in ``output_dir`` (if any, and
    readable) is the run to compare with; it is read before anything is overwritten.
    """
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if previous is None and COMPARING_FORMATS & set(formats):
        previous = previous_run(folder)
    jobs = [(fmt, folder / RENDERERS[fmt][0]) for fmt in dict.fromkeys(formats)]
    # Each format after the first is written by a forked copy of this process, on another
    # core: the html report of 2,000 pages takes ~0.35 s, the json ~0.2 s, one after the
    # other at the very end of a run. A copy that fails leaves its format to this process.
    children = _fork_writers(run, previous, jobs[1:]) if len(jobs) > 1 else {}
    try:
        first, first_path = jobs[0]
        write_atomic(first_path, renderer(first)(run, previous))
    finally:
        written = {fmt for fmt, pid in children.items() if _succeeded(pid)}
    for fmt, path in jobs[1:]:
        if fmt not in written:
            write_atomic(path, renderer(fmt)(run, previous))
    return [path for _, path in jobs]


def _fork_writers(
    run: RunResult, previous: RunResult | None, jobs: Sequence[tuple[str, Path]]
) -> dict[str, int]:
    """Fork a process per job that writes that report and exits; their pids by format.

    Only where fork is what it says (Linux), in a process with no other thread (one could
    hold a lock the copy would wait for forever: the command line has none by then), and
    for a run whose heap, copied on write, would not double a large process's memory."""
    if (
        not _FORK_WRITERS
        or threading.active_count() > 1
        or sum(len(link.occurrences) for link in run.links.values()) > FORK_AT_MOST_OCCURRENCES
    ):
        return {}
    children: dict[str, int] = {}
    for fmt, path in jobs:
        with contextlib.suppress(OSError):  # cannot fork: written here instead
            pid = os.fork()
            if pid == 0:  # the child: write, and leave without running the parent's code
                code = 1
                try:
                    write_atomic(path, renderer(fmt)(run, previous))
                    code = 0
                finally:
                    os._exit(code)
            children[fmt] = pid
    return children


def _succeeded(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return False
    return os.waitstatus_to_exitcode(status) == 0


def previous_run(folder: Path) -> RunResult | None:
    """The run recorded in ``folder``'s report.json, or None when absent or unreadable."""
    path = folder / PREVIOUS_RUN_FILE
    if not path.is_file():
        return None
    try:
        return load_run(path, occurrences=False)  # only to compare results
    except ReportError:
        return None


def write_atomic(path: Path, chunks: Iterable[str] | Iterable[bytes]) -> None:
    """Write via a temporary file and rename, so a reader never sees half a report.

    Text is written as UTF-8 with "\n" line ends; bytes as they are."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
