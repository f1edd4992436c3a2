"""Resume points: the crawl's state as JSON, saved while crawling and read by ``--resume``.

A checkpoint is taken between two event-loop steps, so it sees every page either untouched
or completely done (fetched, recorded, parsed), never half-way. What was done is kept;
everything else — links without a result, pages not parsed yet — is done again on resume,
so the final report is the same as that of a run that was never interrupted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from linkcheck.config import Config
from linkcheck.models import (
    CheckResult,
    ErrorKind,
    Finding,
    Occurrence,
    Occurrences,
    Page,
    RedirectHop,
    Verdict,
    page_numbers,
    variant_numbers,
)

STATE_VERSION = 2  # 2: occurrences as numbers into the state's page and variant tables
READABLE_VERSIONS = (1, 2)  # 1: occurrences as lists (also what the distributed run writes)


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


_CHUNK = 3 * 256 * 1024  # bytes of the variant table per line (a multiple of 3: base64)


def tables_to_state() -> tuple[dict[str, Any], Iterator[dict[str, str]]]:
    """The page and variant tables that occurrences are numbers into (see models): a part
    for the header, and the variants as lines of their own, a chunk at a time (the table
    of a 50,000-page crawl is tens of MB: no whole copy of it is ever made)."""
    ends = variant_numbers.ends()
    if sys.byteorder == "big":
        ends.byteswap()
    header = {"pages": page_numbers.urls, "variant_ends": base64.b64encode(ends).decode("ascii")}
    chunks = (
        {"variants": base64.b64encode(chunk).decode("ascii")}
        for chunk in variant_numbers.chunks(_CHUNK)
    )
    return header, chunks


class Tables:
    """A state's tables, taken into this process's: how to read its occurrence numbers."""

    def __init__(self, state: dict[str, Any] | None) -> None:
        self.pages: list[int] = []
        self.variant_offset = 0
        if not state:
            return
        self.pages = [page_numbers.number(url) for url in state["pages"]]
        ends = array("Q")
        ends.frombytes(base64.b64decode(state["variant_ends"]))
        if sys.byteorder == "big":
            ends.byteswap()
        taken = variant_numbers.add_all(state.get("variants", b""), ends)
        self.variant_offset = taken.start


def occurrences_to_state(occurrences: Occurrences) -> str:
    return base64.b64encode(occurrences.to_bytes()).decode("ascii")


def occurrences_from_state(item: str | list[list[Any]], tables: Tables) -> Occurrences:
    if isinstance(item, str):
        return Occurrences.from_bytes(base64.b64decode(item), tables.pages, tables.variant_offset)
    return Occurrences(Occurrence(*occurrence) for occurrence in item)  # version 1


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


_LINE = orjson.OPT_APPEND_NEWLINE


def encode(header: dict[str, Any], links: Iterable[Any]) -> Iterator[bytes]:
    """The state as zlib-compressed JSON lines: the header, then one line per link, handed
    out a compressed piece at a time.

    Written link by link into the compressor, and the pieces go straight to the store's
    spool file: saving the state of a 50,000-page crawl never holds its JSON, nor its ~30 MB
    compressed, in memory (the whole compressed state in one buffer added ~30 MiB to the
    crawl's peak whenever a resume point was saved near its end).
    """
    compressor = zlib.compressobj(1)
    # OPT_APPEND_NEWLINE, not `+ b"\n"`: the header of a 50,000-page crawl is ~20 MB of JSON,
    # and a nav link's occurrences ~1 MB; a concatenation would copy each once more
    yield compressor.compress(orjson.dumps(header, option=_LINE))
    for link in links:
        yield compressor.compress(orjson.dumps(link, default=list, option=_LINE))
    yield compressor.flush()


def decode(blob: bytes) -> dict[str, Any]:
    """The state :func:`encode` wrote; ValueError when it is not one."""
    links: list[Any] = []
    variants = bytearray()
    try:
        lines = zlib.decompress(blob).splitlines()
        header = orjson.loads(lines[0])
        for line in lines[1:]:
            item = orjson.loads(line)
            if isinstance(item, dict):  # a chunk of the variant table (see tables_to_state)
                variants += base64.b64decode(item["variants"])
            else:
                links.append(item)
    except (zlib.error, orjson.JSONDecodeError, IndexError, KeyError, ValueError) as exc:
        raise ValueError(f"unreadable checkpoint: {exc}") from None
    if not isinstance(header, dict):
        raise ValueError("unreadable checkpoint: no header")
    header["links"] = links
    if isinstance(header.get("tables"), dict):
        header["tables"]["variants"] = bytes(variants)
    return header
