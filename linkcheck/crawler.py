"""The orchestrator: fetch in-scope pages breadth-first, extract their links, check each once.

Every URL is decided exactly once, when it is first seen (all bookkeeping happens on the
event loop, so there are no races): skipped, excluded, crawled as a page (GET and parse),
or only checked (HEAD, falling back to GET). A page's own fetch is its check, so the nav
link that appears on every page costs one request per run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from linkcheck import prestart
from linkcheck.checker import Checker, is_transient_result
from linkcheck.checkpoint import (
    READABLE_VERSIONS,
    STATE_VERSION,
    Tables,
    encode,
    finding_from_state,
    finding_to_state,
    occurrences_from_state,
    occurrences_to_state,
    page_from_state,
    page_to_state,
    result_from_state,
    result_to_state,
    tables_to_state,
)
from linkcheck.config import AUTO_PARSE_WORKERS, CheckSettings, Config
from linkcheck.decide import discovery, fragments_enabled, recorded, soft_404_enabled, unfetchable
from linkcheck.page_stage import PageStage, PageVisit
from linkcheck.digest import Digester, DigestSettings, PageDigest, pack_ids, unpack_ids
from linkcheck.extract import decode, is_html, parse_page
from linkcheck.http import Response
from linkcheck.models import (
    CheckResult,
    Finding,
    Link,
    Occurrence,
    Occurrences,
    Page,
    Verdict,
    page_numbers,
    variant_numbers,
)
from linkcheck.parse_pool import ParsePool, auto_workers
from linkcheck.quality import (
    inconsistent_links,
    insecure_links,
)
from linkcheck.robots import RobotsRules
from linkcheck.scope import Scope
from linkcheck.sitemaps import SEED_DEPTH, read_run_sitemaps, seeds
from linkcheck.soft404 import SoftNotFoundDetector
from linkcheck.urls import CachedResolver, ResolvedLink

log = logging.getLogger(__name__)

MIN_RUNNING_TASKS = 64  # pages and checks under way at once (4x concurrency, at least this)
# With parse_workers = -1 ("auto"), pages are parsed in process until this many are done:
# a small site is over before a worker process would have started (unless one was started
# with the program: see linkcheck.prestart).
PARSE_POOL_AFTER_PAGES = 20


@dataclass(slots=True)
class CrawlStats:
    """Live counters for the progress line."""

    pages_crawled: int = 0
    links_checked: int = 0
    links_found: int = 0
    problems: int = 0


@dataclass(slots=True)
class _Limits:
    pages_not_crawled_max_pages: int = 0
    pages_not_crawled_max_depth: int = 0
    truncated_pages: list[str] = field(default_factory=list)
    pages_over_max_links: int = 0
    traps: int = 0


class Crawler:
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
        self.cache_hits = 0
        self._parsed_documents: set[object] = set()
        self.findings: list[Finding] = []
        self.notes: list[str] = []  # facts of the run for the report (sitemaps, checks)
        self._soft404 = SoftNotFoundDetector(checker) if config.checks.soft_404 else None
        self._generic_texts = frozenset(t.casefold() for t in config.checks.generic_link_texts)
        self._sitemap_files: set[str] = set()
        self._start_urls = frozenset(config.start_urls)
        self._page_depth: dict[str, int] = {}
        # by document, for #fragments: the ids joined by NULs (one string, not a set, per page)
        self._page_ids: dict[object, str] = {}
        self.rechecked = 0
        self._scope = Scope.from_config(config)
        self._pages = PageStage(config, checker, robots, self._soft404, self._scope)
        self.links: dict[str, Link] = {}
        self.pages: list[Page] = []
        self.non_html_pages: dict[str, str] = {}  # in-scope URL -> content type, for start checks
        self.stats = CrawlStats()
        self._limits = _Limits()
        self._pages_scheduled = 0
        self._group: asyncio.TaskGroup | None = None
        self._resolver = CachedResolver(max_url_length=config.crawl.max_url_length)
        self._sitemaps_read = False
        self._waiting: deque[tuple[str, int | None]] = deque()  # (url, depth; None: a check)
        self._running = 0
        self._max_running = max(MIN_RUNNING_TASKS, 4 * config.http.concurrency)
        # Parsing: digester 0 runs in this process, 1..N are worker processes (parse_pool).
        # Per digester, its link ids and variant ids as they were handed out.
        self._digest_settings = DigestSettings(
            max_links_per_page=config.crawl.max_links_per_page,
            max_url_length=config.crawl.max_url_length,
            link_text=config.checks.link_text,
            generic_texts=self._generic_texts,
        )
        self._digester = Digester(self._digest_settings)
        self._links_by_id: dict[int, list[Link]] = {0: []}
        # -> number in variant_numbers (an array: there can be a million)
        self._variants_by_id: dict[int, array[int]] = {0: array("Q")}
        workers = config.crawl.parse_workers
        self._pool_after = 0
        if workers == AUTO_PARSE_WORKERS and not prestart.waiting():
            self._pool_after = PARSE_POOL_AFTER_PAGES  # a worker would cost more than it gives
        if workers == AUTO_PARSE_WORKERS:  # a folder's files take no HTTP: every core parses
            workers = auto_workers(fetching=not config.local.root)
        self._parse_workers = workers
        if workers <= 0:
            prestart.discard()  # started with the program, but this run parses in process
        self._pool: ParsePool | None = None
        self._pool_started: asyncio.Future[None] | None = None
        self.pages_parsed_by_workers = 0
        self._closed = False

    # --- resume points ----------------------------------------------------------------

    def snapshot(self, **extra: Any) -> Iterator[bytes]:
        """The crawl's state, encoded for a resume point a piece at a time (see
        linkcheck.checkpoint); ``extra`` facts of the run (its start time) travel in the
        header."""
        tables, variant_lines = tables_to_state()
        links = (
            # occurrences as numbers into the state's tables: a 50,000-page crawl's 3 million
            # are 40 MB of numbers, where as lists of strings they took seconds to write
            [
                link.url,
                link.internal,
                result_to_state(link.result),
                occurrences_to_state(link.occurrences),
            ]
            for link in self.links.values()
        )
        header = {**self._snapshot_header(), "tables": tables, **extra}
        return encode(header, itertools.chain(variant_lines, links))

    def _snapshot_header(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "pages": [
                page_to_state(page, unpack_ids(self._page_ids.get(self._document_of(page.url), "")))
                for page in self.pages
            ],
            "page_depth": self._page_depth,
            "non_html_pages": self.non_html_pages,
            "findings": [finding_to_state(finding) for finding in self.findings],
            "notes": self.notes,
            "sitemap_files": sorted(self._sitemap_files),
            "sitemaps_read": self._sitemaps_read,
            "limits": dataclasses.asdict(self._limits),
            "pages_scheduled": self._pages_scheduled,
            "cache_hits": self.cache_hits,
            "soft404": self._soft404.snapshot() if self._soft404 is not None else None,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take over a checkpointed crawl: what it had done stays done."""
        if state.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"checkpoint version {state.get('version')!r}")
        tables = Tables(state.get("tables"))
        self.links = {}
        for url, internal, result, occurrences in state["links"]:
            link = Link(url, internal=bool(internal), result=result_from_state(result))
            link.occurrences = occurrences_from_state(occurrences, tables)
            self.links[url] = link
        self.pages = []
        for item in state["pages"]:
            page, ids = page_from_state(item)
            self.pages.append(page)
            self._parsed_documents.add(self._document_of(page.url))
            if ids:
                self._page_ids[self._document_of(page.url)] = pack_ids(ids)
        self._page_depth = {url: int(depth) for url, depth in state["page_depth"].items()}
        self.non_html_pages = dict(state["non_html_pages"])
        self.findings = [finding_from_state(item) for item in state["findings"]]
        self.notes = list(state["notes"])
        self._sitemap_files = set(state["sitemap_files"])
        self._sitemaps_read = bool(state["sitemaps_read"])
        self._limits = _Limits(**state["limits"])
        self._pages_scheduled = int(state["pages_scheduled"])
        self.cache_hits = int(state["cache_hits"])
        if self._soft404 is not None and state.get("soft404"):
            self._soft404.restore(state["soft404"])
        self.stats = CrawlStats(
            pages_crawled=len(self.pages),
            links_checked=sum(1 for link in self.links.values() if link.result is not None),
            links_found=len(self.links),
            problems=sum(
                1
                for link in self.links.values()
                if link.result is not None
                and link.result.verdict in (Verdict.BROKEN, Verdict.ERROR)
            ),
        )

    async def resume(self) -> None:
        """Finish a restored crawl: the pages and links that had no result yet."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for url, link in self.links.items():
                if link.result is not None:
                    continue
                self._waiting.append((url, self._page_depth.get(url)))
            self._start_waiting()
            if not self._sitemaps_read and (
                self._config.checks.sitemaps or self._config.checks.sitemap_urls
            ):
                group.create_task(self._load_sitemaps())

    async def run(self) -> None:
        """Crawl from the start URLs until nothing is left to fetch or check."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for url in self._config.start_urls:  # already normalised by the runner
                if url in self.links:
                    continue
                self.links[url] = Link(url, internal=True)
                self.stats.links_found += 1
                self._schedule_page(url, depth=0)
            if self._config.checks.sitemaps or self._config.checks.sitemap_urls:
                group.create_task(self._load_sitemaps())

    async def _load_sitemaps(self) -> None:
        """Sitemap entries are seeds; each is an occurrence on its sitemap (for the report)."""
        read = await read_run_sitemaps(self._config, self._checker, self._robots)
        self.notes.extend(read.problems)
        self._sitemaps_read = True
        for entry, resolved in seeds(read, self._resolver):
            self._sitemap_files.add(entry.sitemap)
            link = self._discover(resolved, entry.loc, SEED_DEPTH, True)
            link.occurrences.append(Occurrence(entry.sitemap, *entry.written, entry.line))

    def _fragments_enabled(self, url: str) -> bool:
        return fragments_enabled(self._config, url)

    def _soft_404_enabled(self, url: str) -> bool:
        return soft_404_enabled(self._config, url)

    def sitemap_orphans(self) -> list[str]:
        """Pages a sitemap lists that no crawled page links to."""
        if not self._sitemap_files:
            return []  # (not a look at each link's occurrences: 50 ms on a 2,000-page site)
        return sorted(
            link.url
            for link in self.links.values()
            if link.internal
            and link.occurrences
            and link.url not in self._start_urls
            and all(o.page in self._sitemap_files for o in link.occurrences)
        )

    def apply_soft_404(self) -> None:
        """Turn the pages judged "not found" (status 200 all the same) into broken links."""
        if self._soft404 is None:
            return
        found, probe_dropped = self._soft404.results()
        if probe_dropped:
            self.notes.append(
                "the site answers made-up addresses with the same page as real ones (a "
                "single-page app?): soft 404s were only judged by what pages say"
            )
        for item in found:
            link = self.links.get(item.url)
            if link is None or link.result is None or link.result.verdict is not Verdict.OK:
                continue
            link.result = dataclasses.replace(
                link.result, verdict=Verdict.BROKEN, message=f"soft 404: {item.reason}"
            )
            self.stats.problems += 1

    def quality_findings(self) -> None:
        """Site-wide checks over everything found: insecure links, inconsistent forms."""
        checks = self._config.checks
        if checks.https:
            secure_pages = {page.url for page in self.pages if page.url.startswith("https://")}
            self.findings.extend(insecure_links(self.links.values(), secure_pages))
        if checks.duplicates:
            self.findings.extend(inconsistent_links(self.links.values()))

    async def offer_https_replacements(self) -> None:
        """For http:// links on https:// pages, say when the https:// form works."""
        insecure = sorted({f.url for f in self.findings if f.kind == "insecure-link"})
        if not insecure:
            return
        works: dict[str, bool] = {}

        async def try_https(url: str) -> None:
            secure = "https://" + url.removeprefix("http://")
            checked = await self._checker.check(secure)
            works[url] = checked.result.verdict in (Verdict.OK, Verdict.REDIRECTED)

        async with asyncio.TaskGroup() as group:
            for url in insecure:
                group.create_task(try_https(url))
        self.findings = [
            dataclasses.replace(
                f,
                message=f"{f.message} It works over https: use "
                f"https://{f.url.removeprefix('http://')} instead.",
            )
            if f.kind == "insecure-link" and works.get(f.url)
            else f
            for f in self.findings
        ]

    async def check_external_fragments(self) -> None:
        """Opt-in: GET each external page that links point into with a #fragment, once."""
        wanted = [
            link.url
            for link in self.links.values()
            if not link.internal
            and link.result is not None
            and link.result.verdict in (Verdict.OK, Verdict.REDIRECTED)
            and any(_is_anchor(o.fragment) for o in link.occurrences)
        ]

        async def read_ids(url: str) -> None:
            checked = await self._checker.check(url, as_page=True)
            response = checked.response
            if response is not None and is_html(response.content_type, response.body):
                parsed = parse_page(decode(response.body, response.charset))
                self._page_ids[self._document_of(checked.result.final_url or url)] = pack_ids(
                    parsed.ids
                )

        async with asyncio.TaskGroup() as group:
            for url in wanted:
                group.create_task(read_ids(url))

    async def seed(self, urls: list[str]) -> None:
        """Crawl more start pages after the main crawl (a folder's unlinked files)."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            for url in urls:
                if url not in self.links:
                    self.links[url] = Link(url, internal=True)
                    self.stats.links_found += 1
                    self._schedule_page(url, depth=0)

    def check_fragments(self) -> int:
        """Split off links whose #fragment names no element on the crawled target page.

        The page itself works, so the problem is recorded as its own link ``page#fragment``
        (verdict broken), carrying the occurrences that use that fragment. Each target was
        parsed once during the crawl, however many fragments point into it.
        """
        missing: dict[str, Link] = {}
        for link in list(self.links.values()):
            result = link.result
            if result is None or not link.occurrences or not self._fragments_enabled(link.url):
                continue
            if result.verdict not in (Verdict.OK, Verdict.REDIRECTED):
                continue
            fragments = link.occurrences.fragments
            if not fragments:
                continue  # the common case: no link to this page names a section
            packed = self._page_ids.get(self._document_of(result.final_url or link.url))
            if packed is None:
                continue  # not an HTML page we parsed
            ids = unpack_ids(packed)
            if all(
                not _is_anchor(fragment) or fragment in ids or unquote(fragment) in ids
                for fragment in fragments
            ):
                continue
            kept = []
            for occurrence in link.occurrences:
                fragment = occurrence.fragment
                if not _is_anchor(fragment) or fragment in ids or unquote(fragment) in ids:
                    kept.append(occurrence)
                    continue
                key = f"{link.url}#{fragment}"
                broken = missing.get(key)
                if broken is None:
                    broken = missing[key] = Link(key, internal=True)
                    broken.result = CheckResult(  # no status: the page is fine, the anchor not
                        key,
                        Verdict.BROKEN,
                        final_url=result.final_url,
                        message=f"The page has no element with id or name {fragment!r}: the "
                        "link opens at the top of the page, not at that section",
                    )
                broken.occurrences.append(occurrence)
            link.occurrences = Occurrences(kept)
        self.links.update(missing)
        return len(missing)

    @property
    def checks(self) -> CheckSettings:
        return self._config.checks

    @property
    def recheck_enabled(self) -> bool:
        return self._config.http.recheck

    async def recheck(self) -> None:
        """Look again, after a pause, at links that failed in a way that is often temporary.

        A carrier's server that hiccupped once should not page anyone; one that is still
        down after the pause is reported, with the second answer.
        """
        again = [
            link.url
            for link in self.links.values()
            if link.result is not None and is_transient_result(link.result)
        ]
        if not again:
            return
        log.info("re-checking %d link(s) in %g s", len(again), self._config.http.recheck_delay)
        await asyncio.sleep(self._config.http.recheck_delay)
        self.rechecked = len(again)
        async with asyncio.TaskGroup() as group:
            self._group = group
            for url in again:
                self.stats.problems -= 1
                self._waiting.append((url, self._page_depth.get(url)))
            self._start_waiting()

    def limits_hit(self) -> list[str]:
        notes = []
        crawl = self._config.crawl
        if self._limits.pages_not_crawled_max_pages:
            notes.append(
                f"crawl stopped at max pages ({crawl.max_pages}): "
                f"{self._limits.pages_not_crawled_max_pages} more pages were checked, not crawled"
            )
        if self._limits.pages_not_crawled_max_depth:
            notes.append(
                f"crawl stopped at max depth ({crawl.max_depth}): "
                f"{self._limits.pages_not_crawled_max_depth} deeper pages were checked, not crawled"
            )
        if self._limits.pages_over_max_links:
            notes.append(
                f"{self._limits.pages_over_max_links} page(s) had more than "
                f"{crawl.max_links_per_page} links; only the first were followed"
            )
        if self._limits.traps:
            notes.append(
                f"{self._limits.traps} URL(s) with repeating path segments were not followed "
                "(they look like a crawl trap)"
            )
        if self._limits.truncated_pages:
            notes.append(
                f"{len(self._limits.truncated_pages)} page(s) were larger than "
                f"{self._config.http.max_body_bytes} bytes; only the start of each was read"
            )
        return notes

    # --- scheduling -------------------------------------------------------------------

    def _schedule_page(self, url: str, depth: int) -> None:
        self._pages_scheduled += 1
        self._page_depth[url] = depth
        self._waiting.append((url, depth))
        self._start_waiting()

    def _schedule_check(self, url: str) -> None:
        self._waiting.append((url, None))
        self._start_waiting()

    def _start_waiting(self) -> None:
        """Start waiting work, in discovery order (breadth first), a bounded number at once.

        A task per URL discovered would be simplest, but a 50,000-page site discovers tens of
        thousands at once, and each waiting task holds a coroutine frame; a queue of (URL,
        depth) pairs costs a fraction of that.
        """
        assert self._group is not None
        while self._waiting and self._running < self._max_running:
            url, depth = self._waiting.popleft()
            work = self._check_link(url) if depth is None else self._crawl_page(url, depth)
            try:
                task = self._group.create_task(work)
            except RuntimeError:  # the crawl is being cut short: it stays to do (resume)
                work.close()
                self._waiting.appendleft((url, depth))
                return
            self._running += 1
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running -= 1
        if task.cancelled():  # the whole crawl is being cut short: start nothing new
            return
        if self._waiting and self._group is not None:
            self._start_waiting()

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
        internal = self._scope.is_internal(url)
        link = self.links[url] = Link(url, internal=internal)
        self.stats.links_found += 1
        decided = discovery(
            url,
            self._scope,
            self._config.crawl,
            internal=internal,
            depth=depth,
            follow=follow,
            pages_scheduled=self._pages_scheduled,
        )
        if decided.counter:
            limits = self._limits
            setattr(limits, decided.counter, getattr(limits, decided.counter) + 1)
        if decided.fate.crawled:
            self._schedule_page(url, depth + 1)
        elif decided.fate.checked:
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
        checked = await self._checker.check(url)
        self._record(url, checked.result)

    async def _crawl_page(self, url: str, depth: int) -> None:
        async def claim(target: str, owner: str, result: CheckResult) -> bool:
            return self._claim_redirect_target(target, depth)

        async def digest(
            page_url: str, response: Response, judge: bool, probe_title: str | None
        ) -> tuple[int, PageDigest] | None:
            document = self._document_of(page_url)
            if document in self._parsed_documents:
                return None  # parsed once already, under another of its URLs
            self._parsed_documents.add(document)
            return await self._digest(page_url, response, (judge, probe_title), depth)

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

    def _claim_redirect_target(self, target: str, depth: int) -> bool:
        """A page that redirects inside the scope is parsed as its target, once.

        The target is claimed at once (so no other page crawls it meanwhile) and gets its
        result once parsed; until then a checkpoint holds it as a page still to crawl.
        """
        if target in self.links:
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
        """Parse a page: in a worker process once one has started, else here."""
        pool = await self._parse_pool()
        if pool is not None and pool.ready:
            body, charset = response.body, response.charset
            answer = await pool.digest(page_url, body, charset, judge, depth)
            if answer is not None:
                return answer
        digest = self._digester.digest(
            page_url, response.body, response.charset, judge=judge[0], probe_title=judge[1]
        )
        self._register(0, digest, depth)
        return 0, digest

    def _register(self, source: int, digest: PageDigest, depth: object) -> None:
        """Take a digest's new link and variant ids, in the order its digester gave them."""
        assert isinstance(depth, int)
        links = self._links_by_id[source]
        for new in digest.new_links:
            links.append(self._discover(new.resolved, new.href, depth, new.follow))
        numbers = variant_numbers.add_all(digest.new_variants, digest.variant_ends)
        self._variants_by_id[source].extend(numbers)

    async def _parse_pool(self) -> ParsePool | None:
        """The worker processes, started once enough pages were parsed to be worth it."""
        if self._parse_workers <= 0 or len(self._parsed_documents) <= self._pool_after:
            return None
        if self._pool_started is None:
            for number in range(1, self._parse_workers + 1):
                self._links_by_id.setdefault(number, [])
                self._variants_by_id.setdefault(number, array("Q"))
            self._pool = ParsePool(self._digest_settings, self._parse_workers, self._register)
            self._pool_started = asyncio.ensure_future(self._pool.start())
        await asyncio.shield(self._pool_started)
        pool = self._pool
        if pool is None or not pool.alive:
            return None
        return pool

    async def close(self) -> None:
        """Stop the parse workers, if any were started (once; a page parsed later is parsed
        in process)."""
        if self._closed:
            return
        self._closed = True
        prestart.discard()  # the workers started with the program that this crawl did not take
        pool, self._pool = self._pool, None
        log.debug(
            "%d of %d pages parsed in worker processes",
            self.pages_parsed_by_workers,
            len(self.pages),
        )
        if pool is not None:
            if self._pool_started is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await self._pool_started
            await pool.close()

    def _apply(
        self, page_url: str, depth: int, response: Response, source: int, digest: PageDigest
    ) -> None:
        """Record a parsed page and every occurrence on it (its new links are registered)."""
        if response.truncated:
            self._limits.truncated_pages.append(page_url)
        if digest.cut_short:
            self._limits.pages_over_max_links += 1
        links, variants = self._links_by_id[source], self._variants_by_id[source]
        page_number = page_numbers.number(page_url)
        # The hot loop: once per link per page, three numbers each.
        rows = iter(digest.rows)
        for link_id, line, variant_id in zip(rows, rows, rows, strict=True):
            links[link_id].occurrences.add(page_number, line, variants[variant_id])
        if digest.ids:
            self._page_ids[self._document_of(page_url)] = digest.ids
        self.pages.append(
            Page(page_url, depth, digest.title, response.status, links_found=digest.links_found)
        )
        self.stats.pages_crawled += 1
        self.findings.extend(digest.findings)
        if source:
            self.pages_parsed_by_workers += 1

    def _record(self, url: str, result: CheckResult) -> None:
        result = recorded(self._config, url, result)
        self.links[url].result = result
        log.info("%-10s %s %s", result.verdict.value, result.status or result.error or "", url)
        self.stats.links_checked += 1
        if result.verdict.failed:
            self.stats.problems += 1



def _is_anchor(fragment: str) -> bool:
    """Fragments that name an element; not empty, "top" (always valid), or "#!/app/routes"."""
    return bool(fragment) and fragment != "top" and not fragment.startswith(("!", "/", ":~:"))
