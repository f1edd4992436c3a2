"""The CSV report: one row per place a link is written, for spreadsheets and ad-hoc scripts.

Cells that came from pages are data, never formulas: one starting with a character a
spreadsheet reads as a formula gets a leading apostrophe (OWASP's advice on CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from linkcheck.models import CheckResult, Link, Occurrence, RunResult
from linkcheck.report.advice import explain
from linkcheck.report.json_report import sorted_links

COLUMNS = (
    "page",
    "href",
    "text",
    "tag",
    "attr",
    "line",
    "url",
    "verdict",
    "status",
    "error",
    "final_url",
    "redirect_kind",
    "message",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """``value`` with a leading apostrophe when a spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def render_csv(run: RunResult, previous: RunResult | None = None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes only where needed
    writer.writerow(COLUMNS)
    for link in sorted_links(run):
        for row in _rows(link):
            writer.writerow([safe_cell(cell) if isinstance(cell, str) else cell for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _rows(link: Link) -> Iterator[list[str | int]]:
    """One row per occurrence; a link on no crawled page (a start URL) still gets one row."""
    result = link.result
    assert result is not None  # the runner gives every link a result
    outcome = _outcome(link, result)
    occurrences = link.occurrences.in_page_order()
    if not occurrences:
        yield ["", "", "", "", "", "", *outcome]
    for o in occurrences:
        yield [*_place(o), *outcome]


def _place(o: Occurrence) -> list[str | int]:
    return [o.page, o.href, o.text, o.tag, o.attr, o.line]


def _outcome(link: Link, result: CheckResult) -> list[str | int]:
    kind = result.redirect_kind
    return [
        link.url,
        result.verdict.value,
        "" if result.status is None else result.status,
        result.error.value if result.error else "",
        result.final_url or "",
        kind.value if kind else "",
        explain(result),
    ]
