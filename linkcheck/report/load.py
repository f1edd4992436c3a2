"""Read a saved ``report.json`` back into a RunResult, to re-render it or compare runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from linkcheck.models import (
    CheckResult,
    Finding,
    Link,
    LinkMemory,
    Occurrence,
    Occurrences,
    OccurrenceTables,
    Page,
    RunResult,
)
from linkcheck.report.json_report import SCHEMA_VERSION


class ReportError(ValueError):
    """The file is not a linkcheck JSON report this version can read; says why in one line."""


def load_run(path: str | Path, *, occurrences: bool = True) -> RunResult:
    """The run a report.json records. Without ``occurrences`` the links keep only their
    results: enough to say what is new and what was fixed, and a large report's occurrences
    are most of the reading time."""
    file = Path(path)
    try:
        data = file.read_bytes()
        document = orjson.loads(data if occurrences else without_occurrences(data))
    except OSError as exc:
        raise ReportError(f"{file}: cannot be read: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise ReportError(f"{file}: not a JSON report: {exc}") from None
    try:
        return run_from_document(document, occurrences=occurrences)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportError(f"{file}: not a linkcheck report ({type(exc).__name__}: {exc})") from None


# How json_report lays a report out: one link per line, each link's occurrences its last key.
_LINKS_START = b'\n  "links": [\n'
_LINKS_END = b'\n  ],\n  "pages": ['
_OCCURRENCES = b',"occurrences":['


def without_occurrences(data: bytes) -> bytes:
    """The report with every link's occurrences cut out, as bytes to parse.

    Comparing with the previous run needs the links' results, not the occurrences, and
    parsing them only to drop them was most of a read's time. The cut relies on this
    package's own layout (json_report): a raw newline ends each link's line (JSON escapes
    one inside a string), and ``,"occurrences":[`` cannot be inside a string either (its
    quotes would be escaped). A file laid out any other way is returned as it is, to be
    parsed whole.
    """
    start = data.find(_LINKS_START)
    end = data.find(_LINKS_END, start + 1)
    if start < 0 or end < 0:
        return data
    position = start + len(_LINKS_START)
    pieces = [data[:position]]
    while position < end:
        line_end = data.find(b"\n", position, end)
        if line_end < 0:
            line_end = end
        key = data.find(_OCCURRENCES, position, line_end)
        if key < 0:
            return data
        pieces.append(data[position:key])
        pieces.append(
            b',"occurrences":[]},\n' if data[line_end - 1] == ord(",") else b',"occurrences":[]}\n'
        )
        position = line_end + 1
    pieces.append(data[end + 1 :])
    return b"".join(pieces)


def run_from_document(document: dict[str, Any], *, occurrences: bool = True) -> RunResult:
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"schema_version {version!r}, this linkcheck reads {SCHEMA_VERSION}")
    run = document["run"]
    links = {}
    memories: dict[str, LinkMemory] = {}
    tables = OccurrenceTables()  # the loaded run's own, like a run's (see models)
    for item in document["links"]:
        link = Link(
            item["url"], internal=bool(item["internal"]), occurrences=Occurrences(tables=tables)
        )
        if occurrences:
            link.occurrences = Occurrences(map(Occurrence.from_dict, item["occurrences"]), tables)
        link.result = CheckResult.from_dict(item)
        if item.get("history"):
            memories[link.url] = LinkMemory.from_dict(item["history"])
        links[link.url] = link
    pages = [Page.from_dict(page) for page in document.get("pages", [])]
    return RunResult(
        start_urls=list(run["start_urls"]),
        started_at=datetime.fromisoformat(run["started_at"]),
        finished_at=datetime.fromisoformat(run["finished_at"]),
        links=links,
        pages=pages,
        limits_hit=list(run.get("limits_hit", [])),
        interrupted=bool(run.get("interrupted")),
        interrupted_by=run.get("interrupted_by") or "",
        config_summary=dict(run.get("config", {})),
        start_failures=list(run.get("start_failures", [])),
        root=run.get("root") or "",
        base_url=run.get("base_url") or "",
        orphans=list(run.get("orphans", [])),
        setup_errors=list(run.get("setup_errors", [])),
        memory=memories,
        fixed=list(run.get("fixed", [])),
        expired_acceptances=list(run.get("expired_acceptances", [])),
        cache_hits=int(run.get("cache_hits") or 0),
        notes=list(run.get("notes", [])),
        findings=[Finding.from_dict(finding) for finding in document.get("findings", [])],
    )
