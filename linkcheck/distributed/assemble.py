"""Read a run's records back from Redis as one crawl, in the shape of a checkpoint.

The result is exactly what :meth:`linkcheck.crawl_state.CrawlState.snapshot` produces, so
the coordinator hands it to :meth:`~linkcheck.crawl_state.CrawlState.restore` and finishes
the run with the single-machine stage (linkcheck.finish): re-checks, soft 404s, fragments,
site-wide findings, orphans, limits. Links come in discovery order and each link's
occurrences in the order their pages were discovered, as close to a single run's order as
a cluster can be (the reports sort everything they show anyway).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis

from linkcheck.checkpoint import STATE_VERSION
from linkcheck.crawl_state import CrawlStats
from linkcheck.distributed.keys import RunKeys

SCAN_COUNT = 2_000  # hash fields per HSCAN round trip


async def crawl_state(redis: aioredis.Redis, keys: RunKeys, *, soft_404: bool) -> dict[str, Any]:
    """Everything the workers committed, as a crawler snapshot (see linkcheck.checkpoint)."""
    meta = {_text(k): _text(v) for k, v in (await redis.hgetall(keys.meta)).items()}
    counters = {_text(k): int(v) for k, v in (await redis.hgetall(keys.counters)).items()}
    links = await _hash(redis, keys.links)
    results = await _hash(redis, keys.results)
    order: dict[str, int] = {}
    depths: dict[str, int] = {}
    internal: dict[str, bool] = {}
    for url, value in links.items():
        flag, depth, seq = [*value.split(":"), "", ""][:3]
        internal[url] = flag == "1"
        order[url] = int(seq) if seq.isdigit() else 0
        if depth.lstrip("-").isdigit():
            depths[url] = int(depth)
    occurrences: dict[str, list[list[Any]]] = {url: [] for url in links}
    records = [json.loads(value) for value in (await _hash(redis, keys.occurrences)).values()]
    records.sort(key=lambda record: order.get(record[0], 1 << 62))
    for page, items in records:
        for key, href, text, tag, attr, line, fragment in items:
            occurrences.setdefault(key, []).append([page, href, text, tag, attr, line, fragment])
    pages = [json.loads(value) for value in (await _hash(redis, keys.pages)).values()]
    pages.sort(key=lambda page: order.get(page["url"], 1 << 62))
    findings: list[Any] = []
    for _, value in sorted((await _hash(redis, keys.findings)).items()):
        findings.extend(json.loads(value))
    judged = await _hash(redis, keys.soft404)
    same_body, canonicals = _page_facts(await _hash(redis, keys.page_facts), pages)
    return {
        "version": STATE_VERSION,
        "links": [
            [
                url,
                internal.get(url, False),
                json.loads(results[url]) if url in results else None,
                occurrences.get(url, []),
            ]
            for url in sorted(links, key=lambda url: order[url])
        ],
        "pages": pages,
        "page_depth": depths,
        "non_html_pages": await _hash(redis, keys.non_html),
        "findings": findings,
        "notes": json.loads(meta.get("sitemap_notes") or "[]"),
        "sitemap_files": sorted(await _members(redis, keys.sitemap_files)),
        "sitemaps_read": meta.get("sitemaps_read") == "1",
        "rechecked": sorted(await _members(redis, keys.rechecked)),
        "limits": {
            "pages_not_crawled_max_pages": counters.get("pages_not_crawled_max_pages", 0),
            "pages_not_crawled_max_depth": counters.get("pages_not_crawled_max_depth", 0),
            "truncated_pages": sorted(await _members(redis, keys.truncated)),
            "pages_over_max_links": len(await _members(redis, keys.over_links)),
            "traps": counters.get("traps", 0),
            "query_traps": counters.get("query_traps", 0),
        },
        "pages_scheduled": counters.get("pages_scheduled", 0),
        "cache_hits": 0,
        "soft404": {
            "found": [
                [url, judgment[0], judgment[1]]
                for url, judgment in ((url, json.loads(v)) for url, v in judged.items())
                if judgment
            ],
            "pages_judged": len(judged),
        }
        if soft_404
        else None,
        "path_queries": {path: int(n) for path, n in (await _hash(redis, keys.queries)).items()},
        "query_capped": {
            path: int(n) for path, n in (await _hash(redis, keys.query_capped)).items()
        },
        "same_body": same_body,
        "canonicals": canonicals,
    }


def _page_facts(
    facts: dict[str, str], pages: list[dict[str, Any]]
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The pages' fingerprints and canonicals as CrawlState.page_facts keeps them: the
    pages after the first (in page order) with each fingerprint, by the first; and each
    canonical that names another page."""
    first: dict[str, str] = {}
    same_body: dict[str, list[str]] = {}
    canonicals: dict[str, str] = {}
    for page in pages:
        url = page["url"]
        if url not in facts:
            continue
        fingerprint, canonical = json.loads(facts[url])
        if fingerprint:
            owner = first.setdefault(fingerprint, url)
            if owner != url:
                same_body.setdefault(owner, []).append(url)
        if canonical and canonical != url:
            canonicals[url] = canonical
    return same_body, canonicals


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


async def _hash(redis: aioredis.Redis, key: str) -> dict[str, str]:
    return {_text(k): _text(v) async for k, v in _hscan(redis, key)}


async def _hscan(redis: aioredis.Redis, key: str) -> AsyncIterator[tuple[Any, Any]]:
    async for item in redis.hscan_iter(key, count=SCAN_COUNT):
        yield item[0], item[1]


async def _members(redis: aioredis.Redis, key: str) -> set[str]:
    return {_text(member) async for member in redis.sscan_iter(key, count=SCAN_COUNT)}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
