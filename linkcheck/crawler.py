"""The orchestrator: fetch in-scope pages breadth-first, extract their links, check each once.

Every URL is decided exactly once, when it is first seen (all bookkeeping happens on the
event loop, so there are no races): skipped, excluded, crawled as a page (GET and parse),
or only checked (HEAD, falling back to GET). A page's own fetch is its check, so the nav
link that appears on every page costs one request per run.

A link that failed in a way that is often temporary is looked at again ``recheck_delay``
seconds after its failure is recorded, while the crawl goes on (see linkcheck.recheck),
so the recheck is not a second phase that the run waits for after its crawl.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from linkcheck.checker import Checker
from linkcheck.config import Config
from linkcheck.crawl_state import CrawlLimits, CrawlState, CrawlStats
from linkcheck.decide import Fate, discovery, page_taken, recorded, unfetchable
from linkcheck.digest import PageDigest
from linkcheck.frontier import Frontier, max_running
from linkcheck.http import Response
from linkcheck.models import (
    CheckResult,
    Finding,
    Link,
    Occurrence,
    Page,
    current_tables,
)
from linkcheck.page_stage import PageStage, PageVisit
from linkcheck.parsing import PageParser
from linkcheck.recheck import Rechecks
from linkcheck.robots import RobotsRules
from linkcheck.scope import Scope
from linkcheck.sitemaps import SEED_DEPTH, read_run_sitemaps, seeds
from linkcheck.soft404 import SoftNotFoundDetector
from linkcheck.urls import CachedResolver, ResolvedLink

__all__ = ["CrawlStats", "Crawler"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class _InState(Generic[T]):
    """A field of the crawl state, reachable on the crawler under the name its code uses."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __get__(self, crawler: Crawler, owner: object) -> T:
        value: T = getattr(crawler.state, self._name)
        return value

    def __set__(self, crawler: Crawler, value: T) -> None:
        setattr(crawler.state, self._name, value)


class Crawler:
    """The orchestrator: frontier -> fetch -> parse -> decide -> store, until nothing is left.

    What it finds goes into :attr:`state` (a :class:`~linkcheck.crawl_state.CrawlState`);
    pages are parsed by a :class:`~linkcheck.parsing.PageParser`; work waits in a
    :class:`~linkcheck.frontier.Frontier`. What follows the crawl is linkcheck.finish's.
    """

    # the crawl state's fields, under the names the crawler's code uses
    links = _InState[dict[str, Link]]("links")
    pages = _InState[list[Page]]("pages")
    findings = _InState[list[Finding]]("findings")
    notes = _InState[list[str]]("notes")
    stats = _InState[CrawlStats]("stats")
    non_html_pages = _InState[dict[str, str]]("non_html_pages")
    cache_hits = _InState[int]("cache_hits")
    _limits = _InState[CrawlLimits]("limits")
    _page_depth = _InState[dict[str, int]]("page_depth")
    _parsed_documents = _InState[set[object]]("parsed_documents")
    _sitemap_files = _InState[set[str]]("sitemap_files")
    _sitemaps_read = _InState[bool]("sitemaps_read")

    def __init__(
        self,
        config: Config,
        checker: Checker,
        robots: RobotsRules | None = None,
        *,
        document_of: Callable[[str], object] = lambda url: url,
        cached: Callable[[str], CheckResult | None] | None = None,
    ) -> None:
        """``document_of`` says which URLs are one document (in a folder, ``docs/`` and
        ``docs/index.html`` are one file): each document is parsed once."""
        self._config = config
        self._checker = checker
        self._robots = robots
        self._document_of = document_of
        self._cached = cached  # an earlier run's result for an external link, if fresh
        self._soft404 = SoftNotFoundDetector(checker) if config.checks.soft_404 else None
        self.state = CrawlState(document_of, self._soft404)
        self._start_urls = frozenset(config.start_urls)
        self._scope = Scope.from_config(config)
        self._resolver = CachedResolver(max_url_length=config.crawl.max_url_length)
        self._frontier = Frontier(
            self._crawl_page, self._check_link, max_running(config.http.concurrency)
        )
        self._parser = PageParser(config, self._discover)
        self._pages = PageStage(config, checker, robots, self._soft404, self._scope)
        self._rechecks = Rechecks(config.http, self._frontier, self.state)
        self._digesting = 0  # pages taken on and being parsed (see _taken)

    @property
    def config(self) -> Config:
        return self._config

    @property
    def checker(self) -> Checker:
        return self._checker

    @property
    def rechecked(self) -> frozenset[str]:
        """The URLs this crawler has looked at again (or is about to)."""
        return self._rechecks.done

    # --- rounds of work -----------------------------------------------------------------

    async def run(self) -> None:
        """Crawl from the start URLs until nothing is left to fetch or check."""
        async with self._frontier.open() as group:
            self._start_pages(self._config.start_urls)  # already normalised by the runner
            if self._reads_sitemaps:
                group.create_task(self._load_sitemaps())

    async def resume(self) -> None:
        """Finish a restored crawl: the pages and links that had no result yet."""
        async with self._frontier.open() as group:
            depth = self._page_depth
            self._frontier.add_all(
                [(url, depth.get(url)) for url, link in self.links.items() if link.result is None]
            )
            if self._reads_sitemaps and not self._sitemaps_read:
                group.create_task(self._load_sitemaps())

    async def seed(self, urls: list[str]) -> None:
        """Crawl more start pages after the main crawl (a folder's unlinked files)."""
        async with self._frontier.open():
            self._start_pages(urls)

    def _start_pages(self, urls: Iterable[str]) -> None:
        for url in urls:
            if url not in self.links:
                self.links[url] = Link(url, internal=True)
                self.stats.links_found += 1
                self._schedule_page(url, depth=0)

    @property
    def _reads_sitemaps(self) -> bool:
        return bool(self._config.checks.sitemaps or self._config.checks.sitemap_urls)

    async def check_again(self, urls: list[str]) -> None:
        """Check (or crawl, for a page) these failed links once more: those a restored
        crawl's workers recorded (the crawl itself rechecks what it records)."""
        async with self._frontier.open():
            self._rechecks.now(urls, self._frontier.add_all)

    async def close(self) -> None:
        """Stop the parse workers, if any were started (once; a page parsed later is parsed
        in process)."""
        if self._parser.closed:
            return
        log.debug(
            "%d of %d pages parsed in worker processes", self._parser.by_workers, len(self.pages)
        )
        await self._parser.close()

    async def _load_sitemaps(self) -> None:
        """Sitemap entries are seeds; each is an occurrence on its sitemap (for the report)."""
        read = await read_run_sitemaps(self._config, self._checker, self._robots)
        self.notes.extend(read.problems)
        self._sitemaps_read = True
        for entry, resolved in seeds(read, self._resolver):
            self._sitemap_files.add(entry.sitemap)
            link = self._discover(resolved, entry.loc, SEED_DEPTH, True)
            link.occurrences.append(Occurrence(entry.sitemap, *entry.written, entry.line))

    # --- scheduling -------------------------------------------------------------------

    def _schedule_page(self, url: str, depth: int) -> None:
        state = self.state
        state.page_depth[url] = depth
        if self._answered_now(url, page=True):
            return  # no page (an image, a missing file)
        self._frontier.add(url, depth)

    def _schedule_check(self, url: str) -> None:
        if not self._answered_now(url, page=False):
            self._frontier.add(url, None)

    def _answered_now(self, url: str, *, page: bool) -> bool:
        """Record ``url``'s result at once if the client has it without a request (a built
        folder's image, font or missing file: Checker.answer_now), as visiting or checking
        it would have recorded it. A folder's run has no robots.txt to ask first."""
        if self._robots is not None:
            return False
        answered = self._checker.answer_now(url)
        if answered is None:
            return False
        self._record(url, answered.result)
        if page and answered.result.verdict.works and answered.response is not None:
            self.non_html_pages[url] = answered.response.content_type or "unknown"
        return True

    def _discover(self, resolved: ResolvedLink, href: str, depth: int, follow: bool) -> Link:
        """Record a link seen for the first time, and do what linkcheck.decide says to it."""
        url = resolved.url
        if url is None:
            key = href.strip()
            link = self.links.get(key)
            if link is None:
                link = self.links[key] = Link(key, internal=False)
                self.stats.links_found += 1
                link.result = unfetchable(key, resolved, mailto_tel=self._config.checks.mailto_tel)
                if link.result.verdict.failed:
                    self.stats.problems += 1
            return link
        link = self.links.get(url)
        if link is not None:
            return link
        key, internal = self._scope.known_as(url)
        if key != url:
            link = self.links.get(key)
            if link is not None:
                return link
            url = key
        link = self.links[url] = Link(url, internal=internal)
        self.stats.links_found += 1
        query_path = self._scope.query_path(url) if internal else None
        queries = None if query_path is None else self.state.path_queries.get(query_path, 0)
        decided = discovery(
            url,
            self._scope,
            self._config.crawl,
            internal=internal,
            depth=depth,
            follow=follow,
            pages_taken=self._taken,
            queries_on_path=queries,
        )
        if decided.counter:
            limits = self._limits
            setattr(limits, decided.counter, getattr(limits, decided.counter) + 1)
        if query_path is not None:
            if decided.fate.crawled:
                self.state.query_taken(query_path)
            elif decided.fate is Fate.QUERY_TRAP:
                self.state.query_left(query_path)
        if decided.fate.crawled:
            self._schedule_page(url, depth + 1)
        elif decided.fate.checked_only:
            self._schedule_check(url)
        else:
            link.result = decided.result
        return link

    # --- work -------------------------------------------------------------------------

    async def _check_link(self, url: str) -> None:
        if self._cached is not None and not self.links[url].internal:
            remembered = self._cached(url)
            if remembered is not None:
                self.cache_hits += 1
                self._record(url, dataclasses.replace(remembered, from_cache=True))
                return
        checked = await self._checker.check(url, spent=self._rechecks.spent(url))
        if checked.result.verdict.failed:
            self._rechecks.cost(url, checked.spent)
        self._record(url, checked.result)

    async def _crawl_page(self, url: str, depth: int) -> None:
        # A redirect from a shallower page may have claimed this page meanwhile: the
        # minimum depth is kept (see _claim_redirect_target), and passed on (_shorten).
        queued = depth
        depth = min(depth, self._page_depth.get(url, depth))

        async def claim(target: str, owner: str, result: CheckResult) -> bool:
            return self._claim_redirect_target(target, depth)

        taken = False

        async def digest(
            page_url: str, response: Response, judge: bool, probe_title: str | None
        ) -> tuple[int, PageDigest] | None:
            nonlocal taken
            document = self._document_of(page_url)
            if document in self._parsed_documents:
                return None  # parsed once already, under another of its URLs
            if not page_taken(self._taken, self._config.crawl):
                self._limits.pages_not_crawled_max_pages += 1
                return None  # past max_pages: checked, not crawled
            self._parsed_documents.add(document)
            taken = True
            self._digesting += 1
            return await self._digest(page_url, response, (judge, probe_title), depth)

        try:
            visit = await self._pages.visit(url, claim, digest)
            # From here on nothing waits: a checkpoint sees the page (and a redirect target it
            # claimed) either without a result, so crawled again on resume, or done and parsed.
            if visit.disallowed:
                self.links[url].result = visit.result  # not a check: nothing was requested
                return
            self._record(url, visit.result)
            self._record_claimed(visit)
            if visit.content_type is not None:
                self.non_html_pages[url] = visit.content_type
            if visit.digested is not None and visit.response is not None:
                source, parsed = visit.digested
                self._apply(visit.page_url, depth, visit.response, source, parsed)
                if depth < queued:
                    self._shorten(source, parsed, depth + 1)
        finally:
            if taken:  # applied (now one of pages_crawled), or failed
                self._digesting -= 1

    @property
    def _taken(self) -> int:
        """Pages taken on (see linkcheck.decide.page_taken): parsed, or being parsed. Not
        saved: a resume point's pages being parsed are crawled again when it is resumed."""
        return self.stats.pages_crawled + self._digesting

    def _shorten(self, source: int, digest: PageDigest, depth: int) -> None:
        """A page that runs at a shorter depth than it was queued at (a redirect found it
        from higher up) gives the pages it links that still wait that depth, if shorter:
        they were found first, one level down, by pages that ran before it. Rare (a
        redirect inside the site found late), so not in _apply's loop."""
        links, _ = self._parser.tables(source)
        page_depth = self._page_depth
        rows = digest.rows
        for link_id in set(rows[0::3]):
            link = links[link_id]
            known = page_depth.get(link.url)
            if known is not None and depth < known and link.result is None:
                page_depth[link.url] = depth

    def _claim_redirect_target(self, target: str, depth: int) -> bool:
        """A page that redirects inside the scope is parsed as its target, once.

        The target is claimed at once (so no other page crawls it meanwhile) and gets its
        result once parsed; until then a checkpoint holds it as a page still to crawl. A
        target already found deeper and still waiting (breadth first, it cannot have been
        crawled yet) keeps the redirect's depth, the shortest path's, whichever came first.
        """
        if target in self.links:
            known = self._page_depth.get(target)
            if known is not None and depth < known:
                self._page_depth[target] = depth
            return False
        self.links[target] = Link(target, internal=True)
        self._page_depth[target] = depth
        return True

    def _record_claimed(self, visit: PageVisit[int]) -> None:
        if visit.claimed is not None:
            self.links[visit.page_url].result = visit.claimed

    async def _digest(
        self, page_url: str, response: Response, judge: tuple[bool, str | None], depth: int
    ) -> tuple[int, PageDigest]:
        """Parse a page (see PageParser.digest): the digester's number, and the digest."""
        parsed = len(self.state.parsed_documents)
        return await self._parser.digest(page_url, response, judge, depth, parsed=parsed)

    def _apply(
        self, page_url: str, depth: int, response: Response, source: int, digest: PageDigest
    ) -> None:
        """Record a parsed page and every occurrence on it (its new links are registered)."""
        state = self.state
        if response.truncated:
            state.limits.truncated_pages.append(page_url)
        if digest.cut_short:
            state.limits.pages_over_max_links += 1
        links, variants = self._parser.tables(source)
        current_tables().add_rows(page_url, links, variants, digest.rows)  # the run's tables
        if digest.ids:
            state.page_ids[self._document_of(page_url)] = digest.ids
        state.page_facts(page_url, digest.fingerprint, digest.canonical)
        state.pages.append(
            Page(page_url, depth, digest.title, response.status, links_found=digest.links_found)
        )
        state.stats.pages_crawled += 1
        if digest.findings:
            state.add_findings(digest.findings)

    def _record(self, url: str, result: CheckResult) -> None:
        result = recorded(self._config, url, result)
        self.links[url].result = result
        log.info("%-10s %s %s", result.verdict.value, result.status or result.error or "", url)
        self.stats.links_checked += 1
        if result.verdict.failed:
            self.stats.problems += 1
            self._rechecks.later(url, result)
        else:
            self._rechecks.answered(url)
