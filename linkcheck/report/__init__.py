"""Write a RunResult in the formats asked for. Each format is one module; files are atomic."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from linkcheck.models import RunResult
from linkcheck.report.csv_report import render_csv
from linkcheck.report.github import render_github
from linkcheck.report.html_report import render_html
from linkcheck.report.json_report import render_json
from linkcheck.report.junit import render_junit
from linkcheck.report.load import ReportError, load_run
from linkcheck.report.markdown import render_markdown
from linkcheck.report.sarif import render_sarif

# A renderer gets this run and, when there is one, the previous run (for "new" and "fixed").
Renderer = Callable[[RunResult, RunResult | None], Iterable[str]]

RENDERERS: dict[str, tuple[str, Renderer]] = {
    "html": ("report.html", render_html),
    "json": ("report.json", render_json),
    "junit": ("report.junit.xml", render_junit),
    "sarif": ("report.sarif", render_sarif),
    "markdown": ("report.md", render_markdown),
    "csv": ("report.csv", render_csv),
    "github": ("report.github.txt", render_github),
}
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
    written = []
    for fmt in dict.fromkeys(formats):
        filename, render = RENDERERS[fmt]
        path = folder / filename
        write_atomic(path, render(run, previous))
        written.append(path)
    return written


def previous_run(folder: Path) -> RunResult | None:
    """The run recorded in ``folder``'s report.json, or None when absent or unreadable."""
    path = folder / PREVIOUS_RUN_FILE
    if not path.is_file():
        return None
    try:
        return load_run(path)
    except ReportError:
        return None


def write_atomic(path: Path, chunks: Iterable[str]) -> None:
    """Write via a temporary file and rename, so a reader never sees half a report."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(chunks)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
