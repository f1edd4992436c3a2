"""What a crawl has found so far, as one typed object, and its resume point (snapshot/restore).

The crawler writes it, the checkpoint saver encodes it, the finishing stage reads it, and the
distributed coordinator restores what the workers committed into it: one shape for all four
(each piece is converted by its model's to_dict/from_dict and linkcheck.checkpoint).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from linkcheck.checkpoint import (
    LIST_CHUNK,
    READABLE_VERSIONS,
    STATE_VERSION,
    Tables,
    encode,
    occurrences_from_state,
    occurrences_to_state,
    page_from_state,
    page_to_state,
    tables_to_state,
)
from linkcheck.digest import pack_ids, unpack_ids
from linkcheck.models import CheckResult, Finding, Link, Page
from linkcheck.soft404 import SoftNotFoundDetector

DocumentOf = Callable[[str], object]


@dataclass(slots=True)
class CrawlStats:
    """Live counters for the progress line."""

    pages_crawled: int = 0
    links_checked: int = 0
    links_found: int = 0
    problems: int = 0


@dataclass(slots=True)
class CrawlLimits:
    """How often a limit of the configuration stopped the crawl (for the report's notes)."""

    pages_not_crawled_max_pages: int = 0
    pages_not_crawled_max_depth: int = 0
    truncated_pages: list[str] = field(default_factory=list)
    pages_over_max_links: int = 0
    traps: int = 0


@dataclass(slots=True)
class CrawlState:
    """Everything one run's crawl has found; nothing in it outlives the run.

    ``document_of`` says which URLs are one document (in a folder, ``docs/`` and
    ``docs/index.html`` are one file): each document is parsed once, and its ids (for
    #fragments) are kept once.
    """

    document_of: DocumentOf
    soft404: SoftNotFoundDetector | None = None
    links: dict[str, Link] = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)
    non_html_pages: dict[str, str] = field(default_factory=dict)  # URL -> content type
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # facts of the run (sitemaps, checks)
    limits: CrawlLimits = field(default_factory=CrawlLimits)
    page_depth: dict[str, int] = field(default_factory=dict)
    # by document, for #fragments: the ids joined by NULs (one string, not a set, per page)
    page_ids: dict[object, str] = field(default_factory=dict)
    parsed_documents: set[object] = field(default_factory=set)
    sitemap_files: set[str] = field(default_factory=set)
    sitemaps_read: bool = False
    pages_scheduled: int = 0
    cache_hits: int = 0
    rechecked: int = 0
    stats: CrawlStats = field(default_factory=CrawlStats)

    def snapshot(self, **extra: Any) -> Iterator[bytes]:
        """The state, encoded for a resume point a piece at a time (see linkcheck.checkpoint);
        ``extra`` facts of the run (its start time) travel in the header."""
        tables, variant_lines = tables_to_state()
        links = (
            # occurrences as numbers into the state's tables: a big crawl's millions of them
            # written as lists of strings made saving a resume point slow
            [
                link.url,
                link.internal,
                link.result.to_dict() if link.result is not None else None,
                occurrences_to_state(link.occurrences),
            ]
            for link in self.links.values()
        )
        header = {**self._header(), "tables": tables, **extra}
        return encode(header, itertools.chain(variant_lines, self._list_lines(), links))

    def _list_lines(self) -> Iterator[dict[str, list[Any]]]:
        """The pages and findings, a chunk per line (see linkcheck.checkpoint.LISTED): in the
        header they were a dict per page made all at once, which raised a large crawl's
        memory by a good part of its size at every resume point."""
        ids, document_of = self.page_ids, self.document_of
        for start in range(0, len(self.pages), LIST_CHUNK):
            yield {
                "pages": [
                    page_to_state(page, unpack_ids(ids.get(document_of(page.url), "")))
                    for page in self.pages[start : start + LIST_CHUNK]
                ]
            }
        for start in range(0, len(self.findings), LIST_CHUNK):
            chunk = self.findings[start : start + LIST_CHUNK]
            yield {"findings": [finding.to_dict() for finding in chunk]}

    def _header(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "pages": [],  # in lines of their own (_list_lines)
            "page_depth": self.page_depth,
            "non_html_pages": self.non_html_pages,
            "findings": [],  # in lines of their own (_list_lines)
            "notes": self.notes,
            "sitemap_files": sorted(self.sitemap_files),
            "sitemaps_read": self.sitemaps_read,
            "limits": dataclasses.asdict(self.limits),
            "pages_scheduled": self.pages_scheduled,
            "cache_hits": self.cache_hits,
            "soft404": self.soft404.snapshot() if self.soft404 is not None else None,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take over a checkpointed crawl (or the one a distributed run's workers committed):
        what it had done stays done."""
        if state.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"checkpoint version {state.get('version')!r}")
        tables = Tables(state.get("tables"))
        self.links = {}
        for url, internal, result, occurrences in state["links"]:
            link = Link(
                url,
                internal=bool(internal),
                result=CheckResult.from_dict(result) if result else None,
            )
            link.occurrences = occurrences_from_state(occurrences, tables)
            self.links[url] = link
        self.pages = []
        for item in state["pages"]:
            page, ids = page_from_state(item)
            self.pages.append(page)
            self.parsed_documents.add(self.document_of(page.url))
            if ids:
                self.page_ids[self.document_of(page.url)] = pack_ids(ids)
        self.page_depth = {url: int(depth) for url, depth in state["page_depth"].items()}
        self.non_html_pages = dict(state["non_html_pages"])
        self.findings = [Finding.from_dict(item) for item in state["findings"]]
        self.notes = list(state["notes"])
        self.sitemap_files = set(state["sitemap_files"])
        self.sitemaps_read = bool(state["sitemaps_read"])
        self.limits = CrawlLimits(**state["limits"])
        self.pages_scheduled = int(state["pages_scheduled"])
        self.cache_hits = int(state["cache_hits"])
        if self.soft404 is not None and state.get("soft404"):
            self.soft404.restore(state["soft404"])
        results = [link.result for link in self.links.values() if link.result is not None]
        self.stats = CrawlStats(
            pages_crawled=len(self.pages),
            links_checked=len(results),
            links_found=len(self.links),
            problems=sum(1 for result in results if result.verdict.failed),
        )
