"""Read a run's records back from Redis into one crawl state, a bounded batch at a time.

The coordinator fills its :class:`~linkcheck.crawl_state.CrawlState` with what the workers
committed, as :meth:`~linkcheck.crawl_state.CrawlState.restore` does from a resume point, and
finishes the run with the single-machine stage (linkcheck.finish): re-checks, soft 404s,
fragments, site-wide findings, orphans, limits.

Nothing is read whole. A script first indexes the link table by discovery order (a sorted
set scored by each link's sequence number, built server-side one ``HSCAN`` step per call and
dropped at the end); then the links are read in that order, ``batch`` at a time (``ZRANGE``
by rank, and ``HMGET`` of their entries and results); then each worker's digester's
definitions, in order (what the link ids and variant ids of its page records stand for:
linkcheck.distributed.pipeline), kept as the crawler keeps a parse worker's; and the pages
the same way as the links: for each batch of in-scope links, their page records,
occurrences, facts, findings, soft-404 judgments and content types, pipelined. Every reply
holds at most ``batch`` records, so the memory assembly needs beyond the state it fills is a
batch's worth and the digesters' id tables (4 bytes a variant, a reference a link; the
state's occurrences spill to disk past ``[crawl] occurrences_in_memory``, see
linkcheck.store.spill).

Links come in discovery order, pages too, and each link's occurrences in the order their
pages were discovered, as close to a single run's order as a cluster can be (the reports
sort everything they show anyway).
"""

from __future__ import annotations

import itertools
import logging
from array import array
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis

from linkcheck.checkpoint import page_from_state
from linkcheck.crawl_state import CrawlState, CrawlStats
from linkcheck.distributed.keys import RunKeys
from linkcheck.distributed.queue import Variants
from linkcheck.models import CheckResult, Link, Occurrences, current_tables

log = logging.getLogger(__name__)

BATCH = 1_000  # records per reply: links or pages per batch, fields per HMGET
INDEX_TTL_MS = 3_600_000  # the order index outlives an assembly that died by this much

# KEYS: the link table, the order index. ARGV: HSCAN cursor, count, TTL ms. Adds one scan
# step's links to the index (score: the link's sequence number, the last field of its
# entry); returns the next cursor. Only the cursor travels back.
INDEX_LUA = """
local reply = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local items, args = reply[2], {}
for i = 1, #items, 2 do
  args[#args + 1] = tonumber(string.match(items[i + 1], ':(%d+)$')) or 0
  args[#args + 1] = items[i]
end
for i = 1, #args, 4000 do
  redis.call('ZADD', KEYS[2], unpack(args, i, math.min(i + 3999, #args)))
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return reply[1]
"""

_COUNTERS = (
    "pages_not_crawled_max_pages",
    "pages_not_crawled_max_depth",
    "traps",
    "query_traps",
)


async def assemble(
    redis: aioredis.Redis,
    keys: RunKeys,
    state: CrawlState,
    *,
    soft_404: bool,
    batch: int | None = None,
) -> None:
    """Everything the workers committed, into ``state`` (its links and pages replaced),
    reading at most ``batch`` records (default :data:`BATCH`) per reply."""
    reader = _Reader(redis, keys, max(1, batch or BATCH), soft_404)
    small = await reader.small_facts()
    await reader.index()
    try:
        await reader.links(state)
    finally:
        await redis.delete(reader.order)
    await reader.definitions(state)
    await reader.pages(state)
    await reader.stragglers(state)
    state.restore_facts(reader.facts(small))
    state.recount()


class _Reader:
    """One assembly: the batched reads, and what they gather beside the state's links and
    pages (the facts :meth:`CrawlState.restore_facts` takes)."""

    def __init__(self, redis: aioredis.Redis, keys: RunKeys, batch: int, soft_404: bool) -> None:
        self._redis = redis
        self._keys = keys
        self._batch = batch
        self._soft_404 = soft_404
        self._index = redis.register_script(INDEX_LUA)
        self.order = keys.assembly
        self._depths: dict[str, int] = {}
        self._rechecked: list[str] = []
        self._sitemaps: list[str] = []
        self._sitemaps_read: set[str] = set()
        self._findings: list[tuple[str, list[Any]]] = []
        self._judged: list[list[Any]] = []
        self._judged_count = 0
        self._non_html: dict[str, str] = {}
        self._truncated: list[str] = []
        self._first_print: dict[str, str] = {}
        self._same_body: dict[str, list[str]] = {}
        self._canonicals: dict[str, str] = {}
        # the run's tables, which the links made here number their occurrences in
        self._tables = current_tables()
        # per digester (a worker's, see TaskPipeline.define): the Link each link id stands
        # for and each variant id's number in the tables, as PageParser.tables keeps them
        self._digesters: dict[str, tuple[list[Link], array[int]]] = {}
        self.counts = dict.fromkeys(
            ("pages", "occ", "facts", "findings", "soft404", "nonhtml", "truncated", "rechecked"),
            0,
        )

    # --- the small parts -------------------------------------------------------------------

    async def small_facts(self) -> dict[str, Any]:
        """The run's counters and notes, and the sets and hashes that are not per URL."""
        keys = self._keys
        notes, read = await self._hmget(keys.meta, ["sitemap_notes", "sitemaps_read"])
        counters = dict(zip(_COUNTERS, await self._hmget(keys.counters, _COUNTERS), strict=True))
        self._sitemaps = sorted(await self._members(keys.sitemap_files))
        number = {name: int(value or 0) for name, value in counters.items()}
        return {
            "notes": orjson.loads(notes or "[]"),
            "sitemap_files": self._sitemaps,
            "sitemaps_read": read == "1",
            "cache_hits": 0,
            "limits": {
                **number,
                "pages_over_max_links": int(await self._redis.scard(keys.over_links)),
            },
            "path_queries": {p: int(n) for p, n in (await self._hash(keys.queries)).items()},
            "query_capped": {p: int(n) for p, n in (await self._hash(keys.query_capped)).items()},
        }

    async def _hmget(self, key: str, fields: Sequence[str]) -> list[Any]:
        values: list[Any] = []
        for part in _batched(fields, self._batch):
            values.extend(await self._redis.hmget(key, part))
        return values

    async def _members(self, key: str) -> list[str]:
        if await self._redis.scard(key) <= self._batch:
            return [_text(member) for member in await self._redis.smembers(key)]
        return [_text(m) async for m in self._redis.sscan_iter(key, count=self._batch)]

    async def _hash(self, key: str) -> dict[str, str]:
        if await self._redis.hlen(key) <= self._batch:
            return {_text(k): _text(v) for k, v in (await self._redis.hgetall(key)).items()}
        scan = self._redis.hscan_iter(key, count=self._batch)
        return {_text(k): _text(v) async for k, v in scan}

    # --- links, in discovery order ---------------------------------------------------------

    async def index(self) -> None:
        """The order index: every link by its sequence number (built server-side)."""
        await self._redis.delete(self.order)  # one left by an assembly that died
        cursor = "0"
        while True:
            cursor = str(
                await self._index(
                    keys=[self._keys.links, self.order],
                    args=[cursor, self._batch, INDEX_TTL_MS],
                )
            )
            if cursor == "0":
                return

    async def links(self, state: CrawlState) -> None:
        keys, redis = self._keys, self._redis
        state.links = {}
        start = 0
        while urls := [
            _text(url) for url in await redis.zrange(self.order, start, start + self._batch - 1)
        ]:
            start += len(urls)
            async with redis.pipeline(transaction=False) as pipe:
                pipe.hmget(keys.links, urls)
                pipe.hmget(keys.results, urls)
                pipe.smismember(keys.rechecked, urls)
                entries, results, again = await pipe.execute()
            for url, entry, result, rechecked in zip(urls, entries, results, again, strict=True):
                flag, depth, _ = [*(entry or "").split(":"), "", ""][:3]
                state.links[url] = Link(
                    url,
                    internal=flag == "1",
                    result=CheckResult.from_dict(orjson.loads(result)) if result else None,
                )
                if depth.lstrip("-").isdigit():
                    self._depths[url] = int(depth)
                if rechecked:
                    self._rechecked.append(url)
        self.counts["rechecked"] = len(self._rechecked)

    # --- what the digesters' ids stand for -------------------------------------------------

    async def definitions(self, state: CrawlState) -> None:
        """Each digester's definitions (its link ids' keys, its variants), in id order,
        ``batch`` records at a time; a link id whose key is no link of the run (none is,
        unless Redis lost records) stands for a Link of its own, so its occurrences are
        left out, as a written-out occurrence of an unknown link is (``_occurrences``)."""
        links = state.links
        add = self._tables.variants.add_all
        for source in sorted(await self._members(self._keys.digesters)):
            by_id: list[Link] = []
            numbers: array[int] = array("I")
            async for record in self._defined(source):
                new_keys, *variants = orjson.loads(record)
                by_id += [links.get(key) or Link(key, internal=False) for key in new_keys]
                numbers.extend(add(*Variants.read(*variants)))
            self._digesters[source] = (by_id, numbers)

    async def _defined(self, source: str) -> AsyncIterator[str]:
        """Digester ``source``'s definition records in order (numbered from 0), to the
        first one missing."""
        for start in itertools.count(0, self._batch):
            names = [f"{source} {n}" for n in range(start, start + self._batch)]
            for record in await self._redis.hmget(self._keys.digests, names):
                if record is None:
                    return
                yield _text(record)

    # --- pages, in discovery order ---------------------------------------------------------

    async def pages(self, state: CrawlState) -> None:
        """The in-scope links' page records, occurrences and the rest, a batch at a time."""
        keys, redis = self._keys, self._redis
        in_scope = (url for url, link in state.links.items() if link.internal)
        for urls in _batched(in_scope, self._batch):
            async with redis.pipeline(transaction=False) as pipe:
                for key in (keys.pages, keys.occurrences, keys.page_facts, keys.findings):
                    pipe.hmget(key, urls)
                for key in (keys.soft404, keys.non_html):
                    pipe.hmget(key, urls)
                pipe.smismember(keys.truncated, urls)
                replies = await pipe.execute()
            for url, *records in zip(urls, *replies, strict=True):
                await self._page(state, url, *records)
        for sitemap in self._sitemaps:  # those that are no in-scope link, after the pages
            if sitemap not in self._sitemaps_read:
                await self._sitemap(state, sitemap)

    async def _page(
        self,
        state: CrawlState,
        url: str,
        page: str | None,
        occurrences: str | None,
        facts: str | None,
        findings: str | None,
        judged: str | None,
        content_type: str | None,
        truncated: int,
    ) -> None:
        if page is not None:
            state.add_page(*page_from_state(orjson.loads(page)))
            self.counts["pages"] += 1
            if facts is not None:
                self._page_facts(url, facts)
        if facts is not None:
            self.counts["facts"] += 1
        if occurrences is not None:
            self._occurrences(state, occurrences)
        if url in self._sitemaps:  # a sitemap that is also a link: its entries in its place
            await self._sitemap(state, url)
        if findings is not None:
            self._findings.append((url, orjson.loads(findings)))
            self.counts["findings"] += 1
        if judged is not None:
            self._judged_one(url, judged)
        if content_type is not None:
            self._non_html[url] = content_type
            self.counts["nonhtml"] += 1
        if truncated:
            self._truncated.append(url)
            self.counts["truncated"] += 1

    async def _sitemap(self, state: CrawlState, sitemap: str) -> None:
        self._sitemaps_read.add(sitemap)
        record = await self._redis.hget(self._keys.occurrences, f"sitemap {sitemap}")
        if record is not None:
            self._occurrences(state, _text(record))

    def _occurrences(self, state: CrawlState, record: str) -> None:
        """A page's (or a sitemap's) occurrences, added to the links they name: numbered in
        the run's tables and added a page at a time, as the crawl adds them. A parsed page's
        come as its digest numbered them, mapped by its digester's tables
        (:meth:`~linkcheck.models.OccurrenceTables.add_rows`); a sitemap's are written out."""
        self.counts["occ"] += 1
        page, *rest = orjson.loads(record)
        if len(rest) == 2:  # a parsed page's, as its digest numbered them
            source, rows = rest
            by_id, numbers = self._digesters.get(source, ([], array("I")))
            if rows and (max(rows[0::3]) >= len(by_id) or max(rows[2::3]) >= len(numbers)):
                log.warning("occurrences on %s name undefined ids: left out", page)
                return
            self._tables.add_rows(page, by_id, numbers, rows)
            return
        items = rest[0]  # written out (a sitemap's)
        links = state.links
        tables = self._tables
        number = tables.variants.number
        owners: list[Occurrences] = []
        lines: list[int] = []
        variants: list[int] = []
        for key, href, text, tag, attr, line, fragment in items:
            link = links.get(key)
            if link is None:
                continue
            owners.append(link.occurrences)
            lines.append(line)
            variants.append(number((href, text, tag, attr, fragment)))
        if owners:
            tables.add_page(tables.pages.number(page), owners, lines, variants)

    def _page_facts(self, url: str, facts: str) -> None:
        """As CrawlState.page_facts keeps them: the pages after the first (in page order)
        with each fingerprint, by the first; and each canonical that names another page."""
        fingerprint, canonical = orjson.loads(facts)
        if fingerprint:
            owner = self._first_print.setdefault(fingerprint, url)
            if owner != url:
                self._same_body.setdefault(owner, []).append(url)
        if canonical and canonical != url:
            self._canonicals[url] = canonical

    def _judged_one(self, url: str, judged: str) -> None:
        self.counts["soft404"] += 1
        judgment = orjson.loads(judged)
        if judgment:
            self._judged.append([url, judgment[0], judgment[1]])

    # --- records no in-scope link names (none, unless a record outlived its link) ----------

    async def stragglers(self, state: CrawlState) -> None:
        """Read, with a bounded scan, the records of any hash holding more than the
        ordered passes found: keyed by a URL that is not an in-scope link."""
        keys, redis = self._keys, self._redis
        async with redis.pipeline(transaction=False) as pipe:
            for key in (keys.pages, keys.occurrences, keys.page_facts, keys.findings):
                pipe.hlen(key)
            for key in (keys.soft404, keys.non_html):
                pipe.hlen(key)
            pipe.scard(keys.truncated)
            pipe.scard(keys.rechecked)
            sizes = dict(zip(self.counts, await pipe.execute(), strict=True))
        if sizes == self.counts:
            return

        def ours(key: str) -> bool:
            link = state.links.get(key)
            return link is not None and link.internal

        if sizes["rechecked"] != self.counts["rechecked"]:
            async for url in redis.sscan_iter(keys.rechecked, count=self._batch):
                if url not in state.links:
                    self._rechecked.append(url)
        if sizes["truncated"] != self.counts["truncated"]:
            async for url in redis.sscan_iter(keys.truncated, count=self._batch):
                if not ours(url):
                    self._truncated.append(url)
        fields = ("pages", "occ", "facts", "findings", "soft404", "nonhtml")
        hashes = (keys.pages, keys.occurrences, keys.page_facts, keys.findings)
        for name, key in zip(fields, (*hashes, keys.soft404, keys.non_html), strict=True):
            if sizes[name] == self.counts[name]:
                continue
            async for url, value in redis.hscan_iter(key, count=self._batch):
                if name == "occ":
                    sitemap = url.removeprefix("sitemap ")
                    if url != sitemap and sitemap in self._sitemaps_read:
                        continue
                elif ours(url):
                    continue
                records: list[Any] = [None] * 6 + [0]
                records[fields.index(name)] = value
                await self._page(state, url, *records)

    def facts(self, small: dict[str, Any]) -> dict[str, Any]:
        """What was gathered, with the ``small`` facts, in the shape of a snapshot's facts
        (see CrawlState.restore)."""
        findings: list[Any] = []
        for _, items in sorted(self._findings, key=lambda pair: pair[0]):
            findings.extend(items)
        return {
            **small,
            "limits": {**small["limits"], "truncated_pages": sorted(self._truncated)},
            "page_depth": self._depths,
            "non_html_pages": self._non_html,
            "findings": findings,
            "rechecked": sorted(self._rechecked),
            "soft404": {"found": self._judged, "pages_judged": self.counts["soft404"]}
            if self._soft_404
            else None,
            "same_body": self._same_body,
            "canonicals": self._canonicals,
        }


async def crawl_stats(redis: aioredis.Redis, keys: RunKeys) -> CrawlStats:
    """The progress line's counters, cluster-wide."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hlen(keys.pages)
        pipe.hlen(keys.results)
        pipe.scard(keys.seen)
        pipe.scard(keys.problems)
        pages, checked, found, problems = await pipe.execute()
    return CrawlStats(
        pages_crawled=int(pages),
        links_checked=int(checked),
        links_found=int(found),
        problems=int(problems),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while part := list(itertools.islice(iterator, size)):
        yield part
