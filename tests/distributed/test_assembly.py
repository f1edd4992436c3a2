"""The coordinator reads the run back from Redis in bounded batches (linkcheck.distributed.
assemble): the report is the single run's, and no reply holds more than a batch."""

from __future__ import annotations

import asyncio
import contextvars
import json
from array import array
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.asyncio.client as aioclient

import linkcheck.distributed.coordinator as coordinator_module
from linkcheck.checkpoint import page_to_state
from linkcheck.crawl_state import CrawlState
from linkcheck.distributed import run_distributed
from linkcheck.distributed.assemble import assemble
from linkcheck.distributed.keys import RunKeys
from linkcheck.distributed.pipeline import TaskPipeline
from linkcheck.distributed.queue import Commit, Task, TaskQueue, Variants
from linkcheck.http import HttpClient
from linkcheck.models import CheckResult, Page, Verdict, pack_variant, run_tables, variant_flags
from linkcheck.runner import run_check
from linkcheck.wiring import address_policy, host_rules, make_checker
from tests.conftest import make_config
from tests.distributed.harness import (
    LEASE,
    RedisServer,
    comparable,
    external_routes,
    fresh_run_id,
    guide,
    needs_redis,
    with_sitemap,
)
from tests.server import TestServer, page

pytestmark = needs_redis

TINY = 3  # records per reply: the 26 pages and ~40 links take many batches

_assembling: contextvars.ContextVar[bool] = contextvars.ContextVar("assembling", default=False)


@pytest.fixture
def replies(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """(command, records in its reply) of every reply the assembly reads, pipelines too."""
    seen: list[tuple[str, int]] = []
    parse = aioclient.Redis.parse_response

    async def recording(self: Any, connection: Any, command_name: Any, **options: Any) -> Any:
        response = await parse(self, connection, command_name, **options)
        if _assembling.get():
            seen.append((str(command_name).upper(), _records(response)))
        return response

    async def tiny_assembly(*args: Any, **kwargs: Any) -> None:
        token = _assembling.set(True)
        try:
            await assemble(*args, **{**kwargs, "batch": TINY})
        finally:
            _assembling.reset(token)

    monkeypatch.setattr(aioclient.Redis, "parse_response", recording)
    monkeypatch.setattr(coordinator_module, "assemble", tiny_assembly)
    yield seen


def _records(response: Any) -> int:
    if isinstance(response, list | tuple | set | dict):
        return len(response)
    return 1


def test_a_report_assembled_in_tiny_batches_is_the_single_runs(
    redis_server: RedisServer, replies: list[tuple[str, int]]
) -> None:
    with TestServer(external_routes()) as ext, TestServer() as site:
        site.routes.update(with_sitemap(guide(24, external=ext.url("")), site))
        config = make_config(site.url("/g/p0.html"), http={"per_host_concurrency": 3})
        single = run_check(config)
        run_id = fresh_run_id("assembly")
        distributed = run_distributed(config, redis_server.url, run_id=run_id, lease=LEASE)

    assert comparable(distributed) == comparable(single)
    assert len(distributed.pages) == 26 and len(distributed.links) > 10 * TINY
    sizes = [size for _, size in replies]
    assert max(sizes) == TINY, replies  # full batches, and never more
    commands = {command for command, _ in replies}
    assert {"ZRANGE", "HMGET", "SMISMEMBER"} <= commands
    assert not commands & {"HKEYS", "HVALS", "HSCAN", "SSCAN"}, commands
    # the order index is dropped once read
    assert not redis_server.client().exists(RunKeys(run_id).assembly)


def test_records_without_an_in_scope_link_are_read_too(redis_server: RedisServer) -> None:
    """The ordered passes read what the link table names; a record outside it (none is
    written so today) is still found, by the bounded scan that compares counts."""
    keys = RunKeys(fresh_run_id("stragglers"))
    client = redis_server.client()
    a, b, c = (f"http://site.test/{name}" for name in "abc")
    client.hset(keys.links, mapping={a: "1:0:1", b: "1:1:2", c: "0::3"})
    client.hset(keys.results, mapping={a: _ok(a), c: _ok(c)})
    moved = "http://site.test/moved"  # a page record whose URL the link table lacks
    client.hset(
        keys.pages,
        mapping={
            url: json.dumps(page_to_state(Page(url, 0, "t", 200, 2), None)) for url in (a, moved)
        },
    )
    rows = [[b, "b", "to b", "a", "href", 3, ""], [c, c, "to c", "a", "href", 4, ""]]
    client.hset(keys.occurrences, mapping={a: json.dumps([a, rows])})
    client.sadd(keys.rechecked, a)

    async def main() -> CrawlState:
        state = CrawlState(lambda url: url)
        async with aioclient.Redis.from_url(redis_server.url, decode_responses=True) as redis:
            await assemble(redis, keys, state, soft_404=False, batch=2)
        return state

    state = asyncio.run(main())
    assert list(state.links) == [a, b, c]  # by discovery order
    assert [p.url for p in state.pages] == [a, moved]
    assert [o.line for o in state.links[c].occurrences] == [4]
    assert state.page_depth == {a: 0, b: 1} and state.rechecked_urls == {a}
    assert state.stats.pages_crawled == 2 and state.stats.links_checked == 2


def _ok(url: str) -> str:
    return json.dumps(CheckResult(url, Verdict.OK, 200, url).to_dict())


def test_a_page_record_is_whole_when_its_ids_were_defined_by_an_unwritten_commit(
    redis_server: RedisServer,
) -> None:
    """A parsed page's occurrences are written as its digest numbered them, and what a new
    id stands for goes with the next commit that is queued (TaskPipeline.define). Page /a's
    commit is never written (its task stopped), so /b's, which names /x as /a did, by /a's
    ids, carries those ids' definitions: /b reads back whole, every occurrence as written.
    (/x itself is decided by /a's commit: here the link table gets it as /a's task, done
    again by another worker, would write it.)"""
    routes = {
        "/a.html": page('<a href="x.html">X</a>\n<a href="y.html">Y</a>'),
        "/b.html": page('<a href="z.html">Z</a>\n<a href="x.html">X</a>\n<a href="x.html#s">X</a>'),
    }

    async def main(site: TestServer) -> CrawlState:
        config = make_config(site.url("/a.html"))
        keys = RunKeys(fresh_run_id("defined"))
        async with (
            aioredis.from_url(redis_server.url, decode_responses=True) as redis,
            HttpClient(config.http, policy=address_policy(config)) as client,
        ):
            queue = TaskQueue(redis, keys, max_pages=10)
            await queue.create_group()
            pipeline = TaskPipeline(config, make_checker(config, client, host_rules(config)), queue)
            await pipeline.run(Task("1-0", "page", site.url("/a.html"), 0))  # never written
            second = await pipeline.run(Task("2-0", "page", site.url("/b.html"), 1))
            pipeline.define(second)
            await queue.commit(second)
            x = site.url("/x.html")
            await redis.hset(keys.links, x, "1::9")
            await redis.hset(keys.results, x, _ok(x))
            state = CrawlState(lambda url: url)
            await assemble(redis, keys, state, soft_404=False, batch=2)
            return state

    with TestServer(routes) as site, run_tables():
        state = asyncio.run(main(site))
        b, x, z = (site.url(f"/{name}.html") for name in "bxz")
        assert [
            (o.page, o.href, o.text, o.line, o.fragment) for o in state.links[x].occurrences
        ] == [
            (b, "x.html", "X", 2, ""),
            (b, "x.html#s", "X", 3, "s"),
        ]
        assert [(o.href, o.line) for o in state.links[z].occurrences] == [("z.html", 1)]


def test_occurrences_naming_undefined_ids_are_left_out(redis_server: RedisServer) -> None:
    """A page record whose ids its digester never defined (Redis lost records) does not end
    the assembly: its occurrences are left out, a page with none needs no definitions."""
    keys = RunKeys(fresh_run_id("undefined"))
    client = redis_server.client()
    a, b, c, x = (f"http://site.test/{name}" for name in "abcx")
    client.hset(keys.links, mapping={a: "1:0:1", b: "1:0:2", c: "1:0:3", x: "0::4"})
    client.hset(keys.results, mapping={url: _ok(url) for url in (a, b, c, x)})
    client.sadd(keys.digesters, "w1")
    definitions, variants = Commit(), Variants()
    packed = pack_variant(("x", "to x", "a", "href", ""))
    variants.add(packed, array("I", [len(packed)]), bytes([variant_flags(packed)]))
    definitions.defined("w1", 0, [x], variants)
    client.hset(keys.digests, "w1 0", definitions.values[0])
    client.hset(
        keys.occurrences,
        mapping={
            a: json.dumps([a, "w1", [0, 7, 0]]),
            b: json.dumps([b, "w1", [0, 8, 1]]),  # variant 1: never defined
            c: json.dumps([c, "w2", []]),  # a digester that defined nothing
        },
    )

    async def main() -> CrawlState:
        state = CrawlState(lambda url: url)
        async with aioclient.Redis.from_url(redis_server.url, decode_responses=True) as redis:
            await assemble(redis, keys, state, soft_404=False, batch=2)
        return state

    with run_tables():
        state = asyncio.run(main())
        assert [(o.page, o.href, o.line) for o in state.links[x].occurrences] == [(a, "x", 7)]
