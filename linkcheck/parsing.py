"""The page-parsing seam: a page's bytes in, its digest out, parsed in process or by workers.

Digester 0 runs in this process, 1..N are the worker processes of a
:class:`~linkcheck.parse_pool.ParsePool`. A digest names each link and each occurrence
variant the first time its digester meets it, and by number afterwards; this class keeps,
per digester, the links and variants those numbers stand for, so the crawler only asks for a
digest and reads its rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from array import array
from collections.abc import Callable

from linkcheck.config import AUTO_PARSE_WORKERS, Config
from linkcheck.digest import Digester, DigestSettings, PageDigest
from linkcheck.http import Response
from linkcheck.models import Link, current_tables
from linkcheck.parse_pool import ParsePool, auto_workers, cores
from linkcheck.urls import ResolvedLink

# With parse_workers = -1 ("auto"), pages are parsed in process until this many are done:
# a small site is over before a worker process would have started.
PARSE_POOL_AFTER_PAGES = 20
# Pages queued at the least busy worker past which the crawler's own process parses the next
# page itself (see parse_here), at least: the workers set the pace then.
PARSE_HERE_BACKLOG = 4


def parse_here(pool_ready: bool, backlog: int, in_flight: int, spare_core: bool) -> bool:
    """Whether the crawler's process parses a page itself rather than send it to a worker.

    Until a worker has started, always. After, only if the workers leave this process a
    core of its own (``spare_core``: a crawl; a built folder has a worker on every core, and
    parsing here too made its docs run 15-40% slower), and the least busy worker already has
    as many pages waiting as the crawl has requests in flight (``in_flight``, its
    concurrency; PARSE_HERE_BACKLOG at least): the fetching then waits on parsing, not on
    the network, as on long or link-heavy pages (a docs site), and this process's core has
    time to spare. A shorter queue is a burst that the worker catches up with while this
    core is busy fetching (a nav-heavy guide: parsing there made the crawl 6% slower).
    Self-limiting: pages parsed here slow the fetching, and the queue drains."""
    if not pool_ready:
        return True
    return spare_core and backlog >= max(PARSE_HERE_BACKLOG, in_flight)


# A link seen for the first time: (resolved, href as written, depth of its page, follow it?)
Discover = Callable[[ResolvedLink, str, int, bool], Link]


class PageParser:
    """Digests pages; ``discover`` is called for each link a digester meets first."""

    def __init__(self, config: Config, discover: Discover) -> None:
        self._discover = discover
        self._settings = DigestSettings(
            max_links_per_page=config.crawl.max_links_per_page,
            max_url_length=config.crawl.max_url_length,
            link_text=config.checks.link_text,
            generic_texts=frozenset(t.casefold() for t in config.checks.generic_link_texts),
        )
        self._digester = Digester(self._settings)
        # per digester, its link ids and variant ids as they were handed out; variants are
        # numbers in the run's variant table (models.current_tables; an array: there can be
        # millions), 4 bytes each as in an occurrence's row (models.Occurrences)
        self._links_by_id: dict[int, list[Link]] = {0: []}
        self._variants_by_id: dict[int, array[int]] = {0: array("I")}
        workers = config.crawl.parse_workers
        self._pool_after = 0
        if workers == AUTO_PARSE_WORKERS:
            self._pool_after = PARSE_POOL_AFTER_PAGES  # a worker would cost more than it gives
            # a folder's files take no HTTP: every core parses
            workers = auto_workers(fetching=not config.local.root)
        self._workers = workers
        self._in_flight = config.http.concurrency
        self._spare_core = workers < cores()  # this process has a core the workers leave
        self._pool: ParsePool | None = None
        self._pool_started: asyncio.Future[None] | None = None
        self.by_workers = 0  # pages digested by a worker process
        self.closed = False

    async def digest(
        self,
        page_url: str,
        response: Response,
        judge: tuple[bool, str | None],
        depth: int,
        *,
        parsed: int,
    ) -> tuple[int, PageDigest]:
        """Parse a page: in a worker process once one has started, else here. ``judge`` is
        Digester.digest's (judge, probe_title); ``parsed`` counts the documents parsed so far
        (the pool starts once they are enough). Returns the digester's number and the digest."""
        pool = await self._parse_pool(parsed)
        if pool is not None and not parse_here(
            pool.ready, pool.backlog, self._in_flight, self._spare_core
        ):
            answer = await pool.digest(page_url, response.body, response.content_type, judge, depth)
            if answer is not None:
                self.by_workers += 1
                return answer
        digest = self._digester.digest(
            page_url, response.body, response.content_type, judge=judge[0], probe_title=judge[1]
        )
        self._register(0, digest, depth)
        return 0, digest

    def tables(self, source: int) -> tuple[list[Link], array[int]]:
        """What digester ``source``'s link ids and variant ids stand for."""
        return self._links_by_id[source], self._variants_by_id[source]

    def _register(self, source: int, digest: PageDigest, depth: object) -> None:
        """Take a digest's new link and variant ids, in the order its digester gave them."""
        assert isinstance(depth, int)
        links = self._links_by_id[source]
        for new in digest.new_links:
            links.append(self._discover(new.resolved, new.href, depth, new.follow))
        numbers = current_tables().variants.add_all(
            digest.new_variants, digest.variant_ends, digest.variant_flags
        )
        self._variants_by_id[source].extend(numbers)

    async def _parse_pool(self, parsed: int) -> ParsePool | None:
        """The worker processes, started once enough pages were parsed to be worth it."""
        if self._workers <= 0 or parsed <= self._pool_after:
            return None
        if self._pool_started is None:
            for number in range(1, self._workers + 1):
                self._links_by_id.setdefault(number, [])
                self._variants_by_id.setdefault(number, array("I"))
            self._pool = ParsePool(self._settings, self._workers, self._register)
            self._pool_started = asyncio.ensure_future(self._pool.start())
        await asyncio.shield(self._pool_started)
        pool = self._pool
        if pool is None or not pool.alive:
            return None
        return pool

    async def close(self) -> None:
        """Stop the parse workers, if any were started (once; a page parsed later is parsed
        in process)."""
        if self.closed:
            return
        self.closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            if self._pool_started is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await self._pool_started
            await pool.close()
        # The workers' ids name nothing once they are gone: what they stood for (4 bytes
        # for each variant a worker sent, 10 MiB at 50,000 pages) goes back before the
        # finishing checks and the reports, the end of a large run's memory.
        for source in [source for source in self._variants_by_id if source]:
            del self._variants_by_id[source], self._links_by_id[source]
