"""The JUnit XML report: one test case per unique link, for CI test-result views (GitLab, Jenkins).

A dead link is a failed test, a working one (redirected or not) passes, and one that was
not verified (skipped, excluded, ...) is a skipped test. The XML is built with ElementTree,
so page text is always escaped; control characters, which XML 1.0 forbids even as character
references, are shown as code points instead.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

from linkcheck._version import __version__
from linkcheck.models import CheckResult, Link, RunResult, Verdict
from linkcheck.report.advice import advise, explain
from linkcheck.report.html_report import neutralize
from linkcheck.report.json_report import sorted_links

# Any other verdict (skipped, excluded, or one that could not verify the link) is a skipped test.

# Everything outside XML 1.0's Char production: C0 controls except tab, LF and CR, lone
# surrogates, U+FFFE and U+FFFF. A parser rejects the whole file over one of them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """``value`` as XML 1.0 can carry it, with control characters shown rather than obeyed.

    Control and bidi-override characters become visible code points, as in the HTML report;
    what XML forbids even then (lone surrogates, U+FFFE, U+FFFF) is dropped.
    """
    visible: str = neutralize(value)
    return _NOT_XML.sub("", visible)


def render_junit(run: RunResult, previous: RunResult | None = None) -> Iterator[str]:
    links = sorted_links(run)
    verdicts = [link.result.verdict if link.result else None for link in links]
    suite = ET.Element(
        "testsuite",
        {
            "name": "linkcheck",
            "tests": str(len(links)),
            "failures": str(sum(verdict is not None and verdict.failed for verdict in verdicts)),
            "errors": "0",  # a link that cannot be reached is a failed check, not a test bug
            "skipped": str(sum(_skipped(verdict) for verdict in verdicts)),
            "time": f"{max(run.duration, 0.0):.3f}",
            "timestamp": _timestamp(run.started_at),
            "hostname": xml_text(socket.gethostname()) or "localhost",
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(run):
        ET.SubElement(properties, "property", name=name, value=xml_text(value))
    for link in links:
        suite.append(_testcase(link))
    ET.SubElement(suite, "system-out").text = xml_text(_summary(run))
    ET.SubElement(suite, "system-err").text = xml_text("\n".join(run.start_failures))
    ET.indent(suite)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield ET.tostring(suite, encoding="unicode")
    yield "\n"


def _skipped(verdict: Verdict | None) -> bool:
    return verdict is not None and not verdict.failed and not verdict.works


def _timestamp(moment: datetime) -> str:
    """UTC without an offset: the JUnit schema's timestamp takes no time zone."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _properties(run: RunResult) -> Iterator[tuple[str, str]]:
    yield "linkcheck.version", __version__
    yield "started_at", run.started_at.isoformat()
    for url in run.start_urls:
        yield "start_url", url
    yield "pages_crawled", str(len(run.pages))
    yield "complete", "true" if run.complete else "false"
    if run.interrupted_by:
        yield "interrupted_by", run.interrupted_by
    for note in run.limits_hit:
        yield "limit_hit", note


def _summary(run: RunResult) -> str:
    lines = [
        f"linkcheck {__version__} checked {len(run.links)} links on {len(run.pages)} pages "
        f"in {run.duration:.1f} s.",
        "The crawl was complete." if run.complete else "The crawl was NOT complete.",
    ]
    if run.interrupted:
        lines.append(f"Interrupted ({run.interrupted_by or 'cancelled'}).")
    lines.extend(run.limits_hit)
    return "\n".join(lines)


def group_name(link: Link) -> str:
    """The test class: "internal" for the site's own links, else the linked host (or scheme)."""
    if link.internal:
        return "internal"
    try:
        parts = urlsplit(link.url)
    except ValueError:  # e.g. a malformed IPv6 host in an invalid link
        return "invalid"
    return parts.hostname or parts.scheme or "invalid"


def _testcase(link: Link) -> ET.Element:
    result = link.result
    assert result is not None  # the runner gives every link a result
    case = ET.Element(
        "testcase",
        {
            "classname": xml_text(group_name(link)),
            "name": xml_text(link.url),
            "time": f"{max(result.elapsed, 0.0):.3f}",
        },
    )
    if result.verdict.failed:
        failure = ET.SubElement(
            case, "failure", message=xml_text(explain(result)), type=result.verdict.value
        )
        failure.text = xml_text(_details(result))
    elif _skipped(result.verdict):
        ET.SubElement(case, "skipped", message=xml_text(explain(result)))
    ET.SubElement(case, "system-out").text = xml_text(_where(link, result))
    return case


def _details(result: CheckResult) -> str:
    """The failure's body: what to do, and the facts behind the verdict."""
    lines = [explain(result), advise(result)]
    if result.status is not None:
        lines.append(f"HTTP status: {result.status}")
    if result.error is not None:
        lines.append(f"Error: {result.error.value}")
    if result.redirects:
        chain = " -> ".join(f"{hop.url} ({hop.status})" for hop in result.redirects)
        lines.append(f"Redirects: {chain} -> {result.final_url or '?'}")
    if result.checked_url:
        lines.append(f"Checked at: {result.checked_url}")
    return "\n".join(line for line in lines if line)


def _where(link: Link, result: CheckResult) -> str:
    """Where the link is written, so the test report alone tells an editor what to fix."""
    lines = []
    if result.verdict is Verdict.REDIRECTED and result.final_url:
        lines.append(f"{explain(result)} {advise(result)} New address: {result.final_url}")
    occurrences = link.occurrences.in_page_order()
    pages = len({o.page for o in occurrences})
    if occurrences:
        lines.append(f"Found {len(occurrences)} time(s) on {pages} page(s):")
    else:
        lines.append("Not written on any crawled page (a start URL or a redirect target).")
    for o in occurrences:
        text = " ".join(o.text.split())
        lines.append(f'{o.page} line {o.line}: "{text}" ({o.tag} {o.attr}="{o.href}")')
    return "\n".join(lines)
