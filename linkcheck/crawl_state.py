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
from linkcheck.decide import page_aliases
from linkcheck.digest import pack_ids, unpack_ids
from linkcheck.models import CheckResult, Finding, Link, Occurrences, Page, current_tables
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
    query_traps: int = 0  # URLs past max_queries_per_path: a note, not a limit (see trap_notes)


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
    cache_hits: int = 0
    rechecked: int = 0
    # the URLs looked at again (once each, see linkcheck.recheck), a worker's included
    rechecked_urls: set[str] = field(default_factory=set)
    stats: CrawlStats = field(default_factory=CrawlStats)
    # max_queries_per_path: query strings taken on per path, and those left per capped path
    path_queries: dict[str, int] = field(default_factory=dict)
    query_capped: dict[str, int] = field(default_factory=dict)
    # one page, one entry (see merge_aliases): the first page crawled with each fingerprint,
    # the pages that came later with the same one (by the first), and canonicals that name
    # another page. Fingerprints are not kept in a resume point (one per page): a resumed
    # crawl merges the pages it fetches after the resume.
    page_prints: dict[bytes, str] = field(default_factory=dict)
    same_body: dict[str, list[str]] = field(default_factory=dict)
    canonicals: dict[str, str] = field(default_factory=dict)

    def snapshot(self, parts: dict[str, Any] | None = None, **extra: Any) -> Iterator[bytes]:
        """The state, encoded for a resume point a piece at a time (see linkcheck.checkpoint);
        ``extra`` facts of the run (its start time) travel in the header. With ``parts``, the
        variant table and the spill file's rows are stored beside it (see
        checkpoint.new_parts): a link then names its spilled occurrences by their last batch."""
        tables, variant_lines = tables_to_state(parts=parts)
        rows_stored = current_tables() if parts is not None else None
        links = (
            # occurrences as numbers into the state's tables: a big crawl's millions of them
            # written as lists of strings made saving a resume point slow
            [
                link.url,
                link.internal,
                link.result.to_dict() if link.result is not None else None,
                occurrences_to_state(link.occurrences, rows_stored),
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
            "rechecked": sorted(self.rechecked_urls),
            "limits": dataclasses.asdict(self.limits),
            "cache_hits": self.cache_hits,
            "soft404": self.soft404.snapshot() if self.soft404 is not None else None,
            "path_queries": self.path_queries,
            "query_capped": self.query_capped,
            "same_body": self.same_body,
            "canonicals": self.canonicals,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take over a checkpointed crawl (or the one a distributed run's workers committed):
        what it had done stays done."""
        if state.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"checkpoint version {state.get('version')!r}")
        # All of it read before any is taken: a state that cannot be read (ValueError,
        # KeyError, IndexError, TypeError) leaves this one as it was
        tables = Tables(state.get("tables"))
        links = {}
        for url, internal, result, occurrences in state["links"]:
            link = Link(
                url,
                internal=bool(internal),
                result=CheckResult.from_dict(result) if result else None,
            )
            link.occurrences = occurrences_from_state(occurrences, tables)
            links[url] = link
        pages = [page_from_state(item) for item in state["pages"]]
        CrawlState(self.document_of).restore_facts(state)
        self.links = links
        self.pages = []
        for page, ids in pages:
            self.add_page(page, ids)
        self.restore_facts(state)
        self.recount()

    def add_findings(self, findings: list[Finding]) -> None:
        """A parsed page's findings, the addresses of same-text findings as this crawl's own
        strings: a parse worker's come as copies, and a large site has such a finding,
        naming several addresses, on nearly every page (linked already: a page's new links
        are registered before its findings)."""
        links = self.links
        for finding in findings:
            if finding.targets:
                finding = Finding(
                    finding.kind,
                    finding.severity,
                    _shared(links, finding.url),
                    finding.page,
                    finding.href,
                    finding.text,
                    finding.line,
                    finding.note,
                    tuple(_shared(links, target) for target in finding.targets),
                )
            self.findings.append(finding)

    def add_page(self, page: Page, ids: frozenset[str]) -> None:
        """A page crawled before (a resume point's, or a distributed run's workers'), with
        the ids of its elements."""
        self.pages.append(page)
        document = self.document_of(page.url)
        self.parsed_documents.add(document)
        if ids:
            self.page_ids[document] = pack_ids(ids)

    def restore_facts(self, state: dict[str, Any]) -> None:
        """Everything of a snapshot but its links and pages (see :meth:`restore`); the
        distributed assembly adds those a batch at a time."""
        self.page_depth = {url: int(depth) for url, depth in state["page_depth"].items()}
        self.non_html_pages = dict(state["non_html_pages"])
        self.findings = [Finding.from_dict(item) for item in state["findings"]]
        self.notes = list(state["notes"])
        self.sitemap_files = set(state["sitemap_files"])
        self.sitemaps_read = bool(state["sitemaps_read"])
        self.limits = CrawlLimits(**state["limits"])
        self.cache_hits = int(state["cache_hits"])
        if self.soft404 is not None and state.get("soft404"):
            self.soft404.restore(state["soft404"])
        # a resume point written before these were kept has none of them
        self.path_queries = {path: int(n) for path, n in state.get("path_queries", {}).items()}
        self.query_capped = {path: int(n) for path, n in state.get("query_capped", {}).items()}
        self.same_body = {url: list(others) for url, others in state.get("same_body", {}).items()}
        self.canonicals = dict(state.get("canonicals", {}))
        self.rechecked_urls = set(state.get("rechecked", []))
        self.rechecked = len(self.rechecked_urls)

    def recount(self) -> None:
        """The progress counters, from the links and pages held."""
        results = [link.result for link in self.links.values() if link.result is not None]
        self.stats = CrawlStats(
            pages_crawled=len(self.pages),
            links_checked=len(results),
            links_found=len(self.links),
            problems=sum(1 for result in results if result.verdict.failed),
        )

    # --- what the crawler records beside a page ----------------------------------------

    def page_facts(self, page_url: str, fingerprint: bytes, canonical: str) -> None:
        """Note a parsed page's fingerprint and its canonical, for merge_aliases."""
        if fingerprint:
            first = self.page_prints.setdefault(fingerprint, page_url)
            if first != page_url:
                self.same_body.setdefault(first, []).append(page_url)
        if canonical and canonical != page_url:
            self.canonicals[page_url] = canonical

    def query_taken(self, path: str) -> None:
        """One more query string of ``path`` crawled (see decide.discovery)."""
        self.path_queries[path] = self.path_queries.get(path, 0) + 1

    def query_left(self, path: str) -> None:
        """A query string of ``path`` not followed: the path's budget was used up."""
        self.query_capped[path] = self.query_capped.get(path, 0) + 1

    def trap_notes(self, budget: int) -> list[str]:
        """A note per path whose query strings were capped (max_queries_per_path ``budget``):
        a possible crawl trap, said with the path and how many were left. A note, not a
        limit hit: the site was crawled, only the trap was not."""
        notes = [
            f"possible crawl trap: {path} has more than {budget} distinct query strings; "
            f"{budget} were crawled and {left} more were not followed (max_queries_per_path)"
            for path, left in sorted(self.query_capped.items())[:MAX_TRAP_NOTES]
        ]
        if len(self.query_capped) > MAX_TRAP_NOTES:
            more = len(self.query_capped) - MAX_TRAP_NOTES
            notes.append(f"possible crawl traps under {more} more path(s) were capped too")
        return notes

    # --- one page, one entry ------------------------------------------------------------

    def merge_aliases(self) -> int:
        """List the pages that are one document once: each group (the same bytes under one
        document's address, a canonical naming a crawled page) becomes one entry
        of :attr:`pages`, its other addresses as the entry's ``aliases`` (decide.page_aliases
        says which entry). An alias's occurrences and findings that its entry has too (the
        same link written the same way) are dropped, so each finding is reported once; any
        it has alone stay, under the alias's address, where they are written. Returns the
        number of pages merged."""
        groups = [[first, *others] for first, others in self.same_body.items()]
        if not groups and not self.canonicals:
            return 0
        crawled = {page.url for page in self.pages}
        alias_of = page_aliases(groups, self.canonicals, crawled)
        if not alias_of:
            return 0
        listed: dict[str, list[str]] = {}
        for alias, entry in alias_of.items():
            listed.setdefault(entry, []).append(alias)
        self.pages = [
            dataclasses.replace(page, aliases=tuple(sorted(listed[page.url])))
            if page.url in listed
            else page
            for page in self.pages
            if page.url not in alias_of
        ]
        for link in self.links.values():
            if link.occurrences and not link.occurrences.page_urls().isdisjoint(alias_of):
                link.occurrences = _without_repeats(link.occurrences, alias_of)
        on_page = {
            (finding.page, finding.kind, finding.url, finding.href, finding.text)
            for finding in self.findings
            if finding.page not in alias_of
        }
        self.findings = [
            finding
            for finding in self.findings
            if finding.page not in alias_of
            or (alias_of[finding.page], finding.kind, finding.url, finding.href, finding.text)
            not in on_page
        ]
        return len(alias_of)


def _shared(links: dict[str, Link], url: str) -> str:
    """``url`` as the crawl's links dict holds it (the same string), if it holds it."""
    link = links.get(url)
    return url if link is None else link.url


# Possible crawl traps named one by one in the notes; past this, counted.
MAX_TRAP_NOTES = 10


def _without_repeats(occurrences: Occurrences, alias_of: dict[str, str]) -> Occurrences:
    """``occurrences`` less those on an alias page that its listed page has too (the same
    variant: href, text, element, fragment; the line may differ)."""
    rows = occurrences.numbers_in_page_order()
    on_listed = {(page, variant) for page, _, variant in rows if page not in alias_of}
    kept = Occurrences(tables=occurrences.tables)
    number = occurrences.tables.pages.number
    for page, line, variant in rows:
        if page in alias_of and (alias_of[page], variant) in on_listed:
            continue
        kept.add(number(page), line, variant)
    return kept
