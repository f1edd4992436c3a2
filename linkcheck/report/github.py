"""GitHub Actions workflow commands: an annotation per place a dead or moved link is written.

A workflow step runs ``cat reports/report.github.txt`` and the runner turns each line into an
error or warning annotation. Every value is escaped as GitHub's toolkit does, so text from a
page cannot end its line and start a command of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from linkcheck.models import CheckResult, Link, RedirectKind, RunResult
from linkcheck.report.advice import advise, explain
from linkcheck.report.html_report import neutralize
from linkcheck.report.json_report import sorted_links

MAX_TEXT = 80  # characters of anchor text quoted in a message


def escape_data(value: str) -> str:
    """A command's message: %, CR and LF encoded, as @actions/core's escapeData does."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A command's property value: like data, plus the ':' and ',' that delimit properties."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, properties: dict[str, str], message: str) -> str:
    """One workflow command line, every part escaped."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name} {props}::{escape_data(message)}\n"


def render_github(run: RunResult, previous: RunResult | None = None) -> Iterator[str]:
    for link in sorted_links(run):
        result = link.result
        if result is None:
            continue
        if result.verdict.failed:
            yield from _annotations(link, result, "error", "Dead link")
        elif result.redirect_kind is RedirectKind.PERMANENT:
            yield from _annotations(link, result, "warning", "Moved link")


def _annotations(link: Link, result: CheckResult, level: str, title: str) -> Iterator[str]:
    problem = _problem(result)
    occurrences = link.occurrences.in_page_order()
    if not occurrences:  # a start URL or redirect target: no page to point at
        yield command(level, {"title": title}, _visible(f"{link.url}: {problem}"))
    for o in occurrences:
        anchor = " ".join(o.text.split())
        if len(anchor) > MAX_TEXT:
            anchor = anchor[: MAX_TEXT - 1] + "…"
        named = f'link "{anchor}" to {link.url}' if anchor else f"link to {link.url}"
        path = local_path(o.page)
        if path is None:
            message = f"{o.page} line {o.line}: {named}: {problem}"
            yield command(level, {"title": title}, _visible(message))
        else:
            properties = {"file": path, "line": str(o.line), "title": title}
            yield command(level, properties, _visible(f"{named}: {problem}"))


def _problem(result: CheckResult) -> str:
    if result.redirect_kind is RedirectKind.PERMANENT and result.final_url:
        return f"{explain(result)} Use {result.final_url} instead."
    return f"{explain(result)} {advise(result)}"


def _visible(text: str) -> str:
    """Control and bidi-override characters shown as code points: a log is read by people."""
    visible: str = neutralize(text)
    return visible


def local_path(page: str) -> str | None:
    """The page as a file path GitHub can annotate, or None for a page on the web.

    A ``file:`` URL or a bare path is a file; it is given relative to the working directory
    (the checkout, in a workflow) when it lies inside it.
    """
    try:
        parts = urlsplit(page)
    except ValueError:
        return None
    if parts.scheme == "file":
        path = Path(url2pathname(parts.path))
    elif not parts.scheme and not parts.netloc and page:
        path = Path(page)
    else:
        return None
    if path.is_absolute():
        with contextlib.suppress(ValueError):  # outside the checkout: keep it absolute
            path = path.relative_to(Path.cwd())
    return path.as_posix()
