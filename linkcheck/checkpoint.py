"""Resume points: the crawl's state as JSON, saved while crawling and read by ``--resume``.

A checkpoint is taken between two event-loop steps, so it sees every page either untouched
or completely done (fetched, recorded, parsed), never half-way. What was done is kept;
everything else — links without a result, pages not parsed yet — is done again on resume,
so the final report is the same as that of a run that was never interrupted.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable
from typing import Any

import orjson

from linkcheck.config import Config
from linkcheck.models import CheckResult, ErrorKind, Finding, Occurrence, Page, RedirectHop, Verdict

STATE_VERSION = 1


def checkpoint_key(config: Config) -> str:
    """Which run a checkpoint belongs to: same start URLs and settings. Reports, the store
    and the run's deadline may differ: a resumed CI job may well get more time."""
    summary = config.summary()
    for key in ("report", "source", "cache"):
        summary.pop(key, None)
    crawl = dict(summary.get("crawl", {}))  # type: ignore[call-overload]
    crawl.pop("max_duration", None)
    summary["crawl"] = crawl
    return hashlib.sha256(json.dumps(summary, sort_keys=True, default=str).encode()).hexdigest()[
        :24
    ]


def result_to_state(result: CheckResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "url": result.url,
        "verdict": result.verdict.value,
        "status": result.status,
        "final_url": result.final_url,
        "redirects": [[hop.url, hop.status] for hop in result.redirects],
        "error": result.error.value if result.error else None,
        "message": result.message,
        "checked_url": result.checked_url,
        "elapsed": result.elapsed,
        "from_cache": result.from_cache,
    }


def result_from_state(item: dict[str, Any] | None) -> CheckResult | None:
    if item is None:
        return None
    return CheckResult(
        url=item["url"],
        verdict=Verdict(item["verdict"]),
        status=item["status"],
        final_url=item["final_url"],
        redirects=tuple(RedirectHop(url, int(status)) for url, status in item["redirects"]),
        error=ErrorKind(item["error"]) if item["error"] else None,
        message=item["message"],
        checked_url=item["checked_url"],
        elapsed=float(item["elapsed"]),
        from_cache=bool(item["from_cache"]),
    )


def occurrences_from_state(items: list[list[Any]]) -> list[Occurrence]:
    return [Occurrence(*item) for item in items]


def page_to_state(page: Page, ids: frozenset[str] | None) -> list[Any]:
    return [page.url, page.depth, page.title, page.status, page.links_found, sorted(ids or ())]


def page_from_state(item: list[Any]) -> tuple[Page, frozenset[str]]:
    url, depth, title, status, links_found, ids = item
    return Page(url, int(depth), title, status, int(links_found)), frozenset(ids)


def finding_to_state(finding: Finding) -> list[Any]:
    return [
        finding.kind,
        finding.severity,
        finding.url,
        finding.page,
        finding.href,
        finding.text,
        finding.line,
        finding.message,
    ]


def finding_from_state(item: list[Any]) -> Finding:
    return Finding(*item)


def encode(header: dict[str, Any], links: Iterable[list[Any]]) -> bytes:
    """The state as zlib-compressed JSON lines: the header, then one line per link.

    Written link by link into the compressor, so saving the state of a 50,000-page crawl
    never holds its JSON in memory (the nav's repeated links compress very well, too).
    """
    compressor = zlib.compressobj(1)
    chunks = [compressor.compress(orjson.dumps(header) + b"\n")]
    for link in links:
        chunks.append(compressor.compress(orjson.dumps(link, default=list) + b"\n"))
    chunks.append(compressor.flush())
    return b"".join(chunks)


def decode(blob: bytes) -> dict[str, Any]:
    """The state :func:`encode` wrote; ValueError when it is not one."""
    try:
        lines = zlib.decompress(blob).splitlines()
        header = orjson.loads(lines[0])
        links = [orjson.loads(line) for line in lines[1:]]
    except (zlib.error, orjson.JSONDecodeError, IndexError) as exc:
        raise ValueError(f"unreadable checkpoint: {exc}") from None
    if not isinstance(header, dict):
        raise ValueError("unreadable checkpoint: no header")
    header["links"] = links
    return header
