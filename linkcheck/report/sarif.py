"""The SARIF 2.1.0 report: one result per place a dead or redirected link is written.

For code-scanning dashboards (GitHub code scanning, Azure DevOps, IDE SARIF viewers). A
result's location is the page the link is written on and the line in its source; its
partial fingerprint leaves the line out, so an alert survives edits above the link.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from linkcheck._version import __version__
from linkcheck.models import CheckResult, Link, RedirectKind, RunResult, Verdict
from linkcheck.report.advice import advise, explain
from linkcheck.report.html_report import neutralize
from linkcheck.report.json_report import sorted_links

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
# Versioned, so a future change of what is hashed can start a new key instead of
# silently re-identifying every alert.
FINGERPRINT_KEY = "linkcheck/v1"
MAX_TEXT = 100  # characters of anchor text quoted in a message


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    verdict: Verdict
    name: str
    short: str
    full: str
    help: str
    level: str  # the default; a temporary redirect's result lowers it to "note"

    def descriptor(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "shortDescription": {"text": self.short},
            "fullDescription": {"text": self.full},
            "help": {"text": self.help},
            "defaultConfiguration": {"level": self.level},
            "properties": {"tags": ["links", "content"]},
        }


RULES = (
    Rule(
        id="linkcheck/broken",
        verdict=Verdict.BROKEN,
        name="BrokenLink",
        short="Link to a page that answers with an error",
        full=(
            "The linked server answered with an HTTP error status (4xx or 5xx), after retries "
            "and after following any redirects. Readers who click the link see an error page "
            "instead of what the link promises."
        ),
        help=(
            "Open the link in a browser. If the page is gone (404, 410), remove the link or "
            "point it to the page's new address. If it needs a login (401, 403), check that "
            "readers can open it. If the server is failing (5xx), check again later and remove "
            "the link if it stays down."
        ),
        level="error",
    ),
    Rule(
        id="linkcheck/error",
        verdict=Verdict.ERROR,
        name="UnreachableLink",
        short="Link that gets no usable answer",
        full=(
            "Checking the link produced no usable HTTP answer: the site's name does not exist, "
            "the server cannot be reached or does not answer in time, its HTTPS certificate is "
            "broken, it redirects in a loop, or the link is not a valid web address."
        ),
        help=(
            "Check the address for typos. If the site is down, check again later; if it stays "
            "unreachable or has closed, remove the link."
        ),
        level="error",
    ),
    Rule(
        id="linkcheck/redirected",
        verdict=Verdict.REDIRECTED,
        name="RedirectedLink",
        short="Link that redirects to another address",
        full=(
            "The link works, but only through one or more redirects. A permanent redirect "
            "(301, 308) means the page has moved for good; a temporary one (302, 303, 307) "
            "means the address is meant to stay."
        ),
        help=(
            "For a permanent redirect, replace the link with the new address the result names. "
            "A temporary redirect is usually fine to keep; replace it only if the new address "
            "is the lasting one."
        ),
        level="warning",
    ),
)
RULE_INDEX = {rule.verdict: index for index, rule in enumerate(RULES)}


def render_sarif(run: RunResult, previous: RunResult | None = None) -> Iterator[str]:
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": _driver()},
                "invocations": [_invocation(run)],
                "results": list(_results(run)),
                "properties": {
                    "complete": run.complete,
                    "pagesCrawled": len(run.pages),
                    "counts": run.counts(),
                },
            }
        ],
    }
    yield json.dumps(log, ensure_ascii=False, indent=2)
    yield "\n"


def _driver() -> dict[str, Any]:
    driver: dict[str, Any] = {
        "name": "linkcheck",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": [rule.descriptor() for rule in RULES],
    }
    uri = information_uri()
    if uri:
        driver["informationUri"] = uri
    return driver


@functools.cache
def information_uri() -> str | None:
    """The project's home page from the installed package's metadata ([project.urls]).

    Read rather than written here, so the SARIF file never names a URL the project does not
    publish; SARIF makes the property optional.
    """
    try:
        info = metadata.metadata("linkcheck")
    except metadata.PackageNotFoundError:
        return None
    candidates = [entry.partition(",")[2].strip() for entry in info.get_all("Project-URL") or []]
    candidates += info.get_all("Home-page") or []
    return next((url for url in candidates if url.startswith(("https://", "http://"))), None)


def _invocation(run: RunResult) -> dict[str, Any]:
    notes = [*run.start_failures, *run.limits_hit]
    if run.interrupted:
        notes.insert(0, f"the run was interrupted ({run.interrupted_by or 'cancelled'})")
    invocation: dict[str, Any] = {
        "executionSuccessful": not run.interrupted,
        "startTimeUtc": _utc(run.started_at),
        "endTimeUtc": _utc(run.finished_at),
    }
    if notes:
        invocation["toolExecutionNotifications"] = [
            {"level": "warning", "message": {"text": message_text(note)}} for note in notes
        ]
    return invocation


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _results(run: RunResult) -> Iterator[dict[str, Any]]:
    for link in sorted_links(run):
        result = link.result
        if result is None or result.verdict not in RULE_INDEX:
            continue
        if not link.occurrences:  # a start URL or redirect target: located at itself
            yield _result(link, result, page=link.url, line=0, text="", href=link.url, nth=0)
            continue
        seen: Counter[tuple[str, str]] = Counter()
        for o in link.occurrences.in_page_order():
            nth = seen[o.page, o.href]
            seen[o.page, o.href] += 1
            yield _result(link, result, page=o.page, line=o.line, text=o.text, href=o.href, nth=nth)


def _result(
    link: Link, result: CheckResult, *, page: str, line: int, text: str, href: str, nth: int
) -> dict[str, Any]:
    index = RULE_INDEX[result.verdict]
    location: dict[str, Any] = {"artifactLocation": {"uri": page}}
    if line >= 1:
        location["region"] = {"startLine": line}
    kind = result.redirect_kind
    return {
        "ruleId": RULES[index].id,
        "ruleIndex": index,
        "level": "note" if kind is RedirectKind.TEMPORARY else RULES[index].level,
        "message": {"text": message_text(_message(link, result, text))},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(page, link.url, href, nth)},
        "properties": {
            key: value
            for key, value in (
                ("url", link.url),
                ("href", href),
                ("status", result.status),
                ("error", result.error.value if result.error else None),
                ("finalUrl", result.final_url),
                ("redirectKind", kind.value if kind else None),
            )
            if value is not None
        },
    }


def _message(link: Link, result: CheckResult, text: str) -> str:
    anchor = " ".join(text.split())
    if len(anchor) > MAX_TEXT:
        anchor = anchor[: MAX_TEXT - 1] + "…"
    named = f'Link "{anchor}" to {link.url}' if anchor else f"Link to {link.url}"
    kind = result.redirect_kind
    if kind is RedirectKind.PERMANENT and result.final_url:
        return f"{named}: {explain(result)} Use {result.final_url} instead."
    if kind is RedirectKind.TEMPORARY and result.final_url:
        return f"{named}: {explain(result)} It now leads to {result.final_url}."
    return f"{named}: {explain(result)} {advise(result)}"


def message_text(text: str) -> str:
    """Plain text for a SARIF message, safe to show as it stands.

    Brackets are escaped, as they would read as embedded links (SARIF 2.1.0, 3.11.6); control
    and bidi-override characters from a page are shown as code points, not obeyed.
    """
    visible: str = neutralize(text)
    return visible.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def fingerprint(page: str, url: str, href: str, nth: int = 0) -> str:
    """Stable across runs: what the link is and where, not the line (edits above move it).

    ``nth`` tells apart the same href written twice on one page; it is left out for the first,
    so most fingerprints are the plain hash of page, URL and href.
    """
    parts = [page, url, href] + ([str(nth)] if nth else [])
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
