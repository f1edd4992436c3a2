"""Write a RunResult in the formats asked for. Each format is one module; files are atomic."""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import cast

from linkcheck.models import RunResult
from linkcheck.report import forking
from linkcheck.report.load import ReportError, load_run

# A renderer gets this run and, when there is one, the previous run (for "new" and "fixed").
# Chunks are text, or UTF-8 bytes (the JSON report: orjson writes bytes, and a large run's
# report is big, decoded and encoded again for nothing).
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
    fork = len(jobs) > 1 and forking.can_fork(run)
    if len(jobs) > 1 and not fork and "json" in formats:
        _write_beside_json(run, previous, jobs)
        return [path for _, path in jobs]
    # Each format after the first is written by a forked copy of this process, on another
    # core: the html and json reports of a large run each take a noticeable time, one after
    # the other at the very end of a run. A copy that fails leaves its format to this process.
    copies: dict[str, int | None] = {}
    if fork:
        for fmt, path in jobs[1:]:
            copies[fmt] = forking.start(partial(_write, run, previous, fmt, path))
    try:
        _write(run, previous, *jobs[0])
    finally:
        written = {fmt for fmt, pid in copies.items() if forking.succeeded(pid)}
    for fmt, path in jobs[1:]:
        if fmt not in written:
            _write(run, previous, fmt, path)
    return [path for _, path in jobs]


def _write_beside_json(
    run: RunResult, previous: RunResult | None, jobs: list[tuple[str, Path]]
) -> None:
    """A run too large for forked copies: the JSON report's second part may be written by a
    process of its own (:mod:`linkcheck.report.json_part`); while it is, at the JSON
    renderer's PAUSE, this process writes the other formats, then the rest of the JSON."""
    from linkcheck.report.json_report import PAUSE, render_json

    others = [(fmt, path) for fmt, path in jobs if fmt != "json"]

    def meanwhile() -> None:
        while others:
            _write(run, previous, *others.pop(0))

    def pausing(chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if chunk is PAUSE:
                meanwhile()
            else:
                yield chunk

    path = dict(jobs)["json"]
    write_atomic(path, pausing(render_json(run, previous, beside_others=True)))
    meanwhile()  # (the JSON had no second process: the others now)


def _write(run: RunResult, previous: RunResult | None, fmt: str, path: Path) -> None:
    write_atomic(path, renderer(fmt)(run, previous))


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
