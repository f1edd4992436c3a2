"""Write a RunResult in the formats asked for. Each format is one module; files are atomic."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from linkcheck.models import RunResult
from linkcheck.report.html_report import render_html
from linkcheck.report.json_report import render_json

RENDERERS: dict[str, tuple[str, Callable[[RunResult], Iterable[str]]]] = {
    "html": ("report.html", render_html),
    "json": ("report.json", render_json),
}


def write_reports(run: RunResult, formats: Sequence[str], output_dir: str | Path) -> list[Path]:
    """Render each format into ``output_dir`` under a fixed name (never one built from a URL)."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in dict.fromkeys(formats):
        filename, render = RENDERERS[fmt]
        path = folder / filename
        write_atomic(path, render(run))
        written.append(path)
    return written


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
