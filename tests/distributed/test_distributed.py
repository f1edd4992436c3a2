"""A run shared by a coordinator and worker processes through a real Redis on loopback.

The tests start their own ``redis-server`` (ephemeral port, no persistence, or an AOF in a
temporary folder for the restart test) and worker processes
(``python -m linkcheck.distributed worker``), and compare the distributed report with the
one a single-machine ``run_check`` writes for the same site.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from click.testing import CliRunner

from linkcheck.cli.status import status as status_command
from linkcheck.config import Config
from linkcheck.distributed import DistributedError, run_distributed
from linkcheck.distributed.keys import GROUP, SCHEMA_VERSION, RunKeys
from linkcheck.distributed.queue import Commit, TaskQueue
from linkcheck.distributed.settings import config_from_json, config_to_json
from linkcheck.models import OccurrenceTables, RunResult, Verdict, current_tables
from linkcheck.runner import run_check
from tests.conftest import gallery_chain, make_config
from tests.distributed.harness import (
    LEASE,
    ROOT,
    Background,
    RedisServer,
    comparable,
    external_routes,
    finish,
    free_port,
    fresh_run_id,
    gets,
    guide,
    needs_redis,
    start_redis,
    start_worker,
    with_sitemap,
)
from tests.server import Reply, Route, Seen, TestServer, page

pytestmark = needs_redis


# --- tests ---------------------------------------------------------------------------------


def test_coordinator_and_three_workers_write_the_single_machine_report(
    redis_server: RedisServer,
) -> None:
    with TestServer(external_routes()) as ext, TestServer() as site:
        site.routes.update(with_sitemap(guide(24, delay=0.02, external=ext.url("")), site))
        config = make_config(site.url("/g/p0.html"), http={"per_host_concurrency": 3})
        single = run_check(config)
        single_requests = gets(site)
        site.requests.clear()
        site.max_in_flight = 0
        # This coordinator only coordinates (the other tests' coordinators work too).
        run_id = fresh_run_id("equal")
        workers = [
            start_worker(redis_server.url, "--run", run_id, "--wait", "30") for _ in range(3)
        ]
        time.sleep(0.3)
        distributed = run_distributed(
            config, redis_server.url, run_id=run_id, lease=LEASE, work=False
        )
        outcomes = [finish(worker) for worker in workers]

    assert comparable(distributed) == comparable(single)
    assert len(distributed.pages) == 26  # 24 pages, the orphan, the redirect target
    for code, out, err in outcomes:
        assert code == 0, err
        assert f"run {run_id}" in out and "left because" in out
    # The cluster asked the site exactly what one run asks: each URL once (p3.html twice,
    # as a page and as the end of /g/old's redirect), no URL twice by two workers.
    assert gets(site) == single_requests
    assert site.max_in_flight <= 3  # the host's concurrency, cluster-wide
    client = redis_server.client()
    records = [json.loads(v) for v in client.hvals(RunKeys(run_id).workers)]
    assert sum(r["done"] for r in records) >= 26  # the workers did it all
    assert 0 < client.ttl(RunKeys(run_id).meta) <= 7 * 86_400  # expires some days after
    status = CliRunner().invoke(status_command, ["--redis", redis_server.url, "--run", run_id])
    assert status.exit_code == 0
    assert f"run {run_id}: done" in status.output and "worker-" in status.output
    as_json = CliRunner().invoke(status_command, ["--redis", redis_server.url, "--json"])
    document = json.loads(as_json.output)
    assert document["run_id"] == run_id and document["waiting"] == 0
    assert len(document["workers"]) == 3 and document["pages_crawled"] == 26


def test_a_worker_killed_mid_task_changes_nothing_in_the_report(
    redis_server: RedisServer,
) -> None:
    with TestServer() as site:
        site.routes.update(guide(16, delay=0.3))
        config = make_config(site.url("/g/p0.html"), http={"per_host_concurrency": 4})
        single = run_check(config)
        run_id = fresh_run_id("kill")
        # Two tasks at a time each, and a coordinator that does none: the work is spread,
        # so the doomed worker is sure to hold some when it is killed.
        doomed, survivor = (
            start_worker(redis_server.url, "--run", run_id, "--wait", "30", "--concurrency", "2")
            for _ in range(2)
        )
        coordinator = Background(
            lambda: run_distributed(
                config, redis_server.url, run_id=run_id, lease=LEASE, work=False
            )
        )
        coordinator.start()
        client = redis_server.client()
        held = _wait_until_holding(client, run_id, doomed.pid)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        distributed = coordinator.value()
        code, _, err = finish(survivor)

    assert held, "the worker had tasks in hand when it was killed"
    assert comparable(distributed) == comparable(single)
    assert code == 0, err
    assert client.xpending(RunKeys(run_id).tasks, "workers")["pending"] == 0


def _wait_until_holding(client: Any, run_id: str, pid: int) -> int:
    """Wait until the worker with ``pid`` holds at least one task; how many it holds."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            summary = client.xpending(RunKeys(run_id).tasks, "workers")
            for consumer in summary.get("consumers") or []:
                if consumer["name"].endswith(f"-{pid}") and int(consumer["pending"]) > 0:
                    return int(consumer["pending"])
        time.sleep(0.02)
    return 0


def test_a_hosts_interval_holds_across_all_workers(redis_server: RedisServer) -> None:
    interval = 0.2
    with TestServer() as site:
        site.routes.update(guide(6))
        host = f"127.0.0.1:{site.port}"
        config = make_config(
            site.url("/g/p0.html"), hosts={host: {"interval": interval, "concurrency": 4}}
        )
        run_id = fresh_run_id("interval")
        workers = [start_worker(redis_server.url, "--run", run_id) for _ in range(3)]
        time.sleep(0.3)
        run = run_distributed(config, redis_server.url, run_id=run_id, lease=LEASE)
        outcomes = [finish(worker) for worker in workers]
        starts = sorted(seen.at for seen in site.requests)

    assert all(code == 0 for code, _, _ in outcomes), [
        (code, err[-1500:]) for code, _, err in outcomes
    ]
    assert len(run.pages) == 7 and len(starts) >= 12  # 6 pages and the redirect target
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # The server stamps a request when its thread reads it, late by however long a busy
    # machine keeps that thread waiting: one late stamp shortens the gap after the one
    # before it. So the spacing is checked over the whole run, where such delays only move
    # its two ends, and each gap only for two requests let through at once (a gap of ~0).
    assert starts[-1] - starts[0] >= interval * (len(starts) - 1) * 0.95, gaps
    assert min(gaps) >= interval * 0.5, gaps


def test_retry_after_pauses_the_host_for_every_worker(redis_server: RedisServer) -> None:
    asked: list[float] = []

    def busy(seen: Seen) -> Reply:
        if not asked:
            asked.append(seen.at)
            return Reply(429, "slow down", {"Retry-After": "1"})
        return page("fine now")

    with TestServer() as site:
        routes = guide(8)
        routes["/g/p0.html"] = page(
            '<a href="/g/busy">busy</a>'
            + "".join(f'<a href="/g/p{n}.html">p{n}</a>' for n in range(1, 8))
        )
        routes["/g/busy"] = busy
        site.routes.update(routes)
        host = f"127.0.0.1:{site.port}"
        config = make_config(
            site.url("/g/p0.html"),
            http={"retry_max_wait": 3.0},
            hosts={host: {"concurrency": 1}},
            checks={"soft_404": False, "sitemaps": False},
            crawl={"respect_robots": False},
        )
        run_id = fresh_run_id("retry-after")
        workers = [start_worker(redis_server.url, "--run", run_id) for _ in range(2)]
        time.sleep(0.3)
        run = run_distributed(config, redis_server.url, run_id=run_id, lease=LEASE)
        for worker in workers:
            finish(worker)
        starts = sorted(seen.at for seen in site.requests)

    assert asked and run.links[site.url("/g/busy")].result is not None
    after = [at for at in starts if at > asked[0]]
    assert after and after[0] - asked[0] >= 0.95, "someone asked again during the pause"


def test_a_coordinator_started_again_after_redis_restarts_finishes_the_run(
    tmp_path: Path,
) -> None:
    store = tmp_path / "redis"
    store.mkdir()
    server = start_redis("--appendonly", "yes", "--dir", str(store))
    try:
        with TestServer() as site:
            site.routes.update(guide(20, delay=0.15))
            config_file = tmp_path / "config.toml"
            config_file.write_text(
                f'start_urls = ["{site.url("/g/p0.html")}"]\n'
                "[http]\ntimeout = 2.0\nretries = 1\nretry_max_wait = 0.05\nrecheck = false\n"
                "per_host_concurrency = 2\n[cache]\nenabled = false\n",
                encoding="utf-8",
            )
            config = make_config(site.url("/g/p0.html"), http={"per_host_concurrency": 2})
            single = run_check(config)
            site.requests.clear()
            run_id = fresh_run_id("restart")
            first = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "linkcheck.distributed",
                    "coordinator",
                    "--redis",
                    server.url,
                    "--run",
                    run_id,
                    "--config",
                    str(config_file),
                    "--lease",
                    str(LEASE),
                    "-o",
                    str(tmp_path / "reports"),
                    "-q",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            client = server.client()
            deadline = time.monotonic() + 20
            while client.hlen(RunKeys(run_id).pages) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            server.stop()  # Redis goes away mid-run...
            code, _, err = finish(first, timeout=30)
            assert code == 2, err
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in err, err
            assert f"--run {run_id}" in lines[0] and "lost Redis" in lines[0]
            server.start()  # ... and comes back with its data.
            assert 4 <= server.client().hlen(RunKeys(run_id).pages) < 22
            resumed = run_distributed(config, server.url, run_id=run_id, lease=LEASE)
            fetched = gets(site)
    finally:
        server.stop()

    assert comparable(resumed) == comparable(single)
    # Pages done before the outage were not fetched again; only those in hand then were:
    # fetched, their commits not written, and (a slot given back is parked for the next
    # request, politeness.PARK_FOR) a request on each of the two slots the process held.
    assert all(count <= 2 for count in fetched.values())
    assert sum(1 for count in fetched.values() if count == 2) <= 6


def _tables(run: RunResult) -> OccurrenceTables:
    tables = {link.occurrences.tables for link in run.links.values()}
    assert len(tables) == 1  # every link of a run numbers its occurrences in the same tables
    return tables.pop()


def test_two_distributed_runs_in_one_process_have_tables_of_their_own(
    redis_server: RedisServer,
) -> None:
    outside = current_tables()
    runs = []
    # both servers up at once: one after the other, the second could get the first's port
    with TestServer(guide(3)) as one, TestServer(guide(3)) as other:
        for name, site in (("first", one), ("second", other)):
            config = make_config(site.url("/g/p0.html"))
            runs.append(
                run_distributed(config, redis_server.url, run_id=fresh_run_id(name), lease=LEASE)
            )
    first, second = (_tables(run) for run in runs)
    assert first is not second
    assert outside is current_tables()  # a run leaves the caller's tables as they were
    assert first is not outside and second is not outside
    # the second run's tables hold none of the first run's pages (another server, another port)
    first_pages, second_pages = set(first.pages.urls), set(second.pages.urls)
    assert second_pages and not first_pages & second_pages


def test_a_worker_refuses_a_run_of_another_schema_version(redis_server: RedisServer) -> None:
    run_id = fresh_run_id("schema")
    config = make_config("http://127.0.0.1:9/")
    redis_server.client().hset(
        RunKeys(run_id).meta,
        mapping={
            "schema": SCHEMA_VERSION + 1,
            "version": "9.9",
            "status": "running",
            "config": config_to_json(config),
        },
    )
    code, out, err = finish(start_worker(redis_server.url, "--run", run_id, "--wait", "0"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"schema version {SCHEMA_VERSION + 1}" in err


def test_a_worker_without_run_joins_the_current_run(redis_server: RedisServer) -> None:
    run_id = fresh_run_id("current")
    client = redis_server.client()
    client.hset(
        RunKeys(run_id).meta,
        mapping={
            "schema": SCHEMA_VERSION,
            "status": "running",
            "lease": LEASE,
            "token": "t",  # the run's identity (linkcheck.distributed.identity)
            "config": config_to_json(make_config("http://127.0.0.1:9/")),
        },
    )
    client.xgroup_create(RunKeys(run_id).tasks, "workers", id="0", mkstream=True)
    client.set("linkcheck:current", run_id)
    code, out, err = finish(start_worker(redis_server.url, "--wait", "5"))
    assert code == 0, err
    assert f"for run {run_id}; left because the run has no work left" in out


def test_max_pages_counts_pages_as_a_single_run_does(redis_server: RedisServer) -> None:
    """Pages count toward max_pages when they are parsed (TAKE_LUA), as in a single run: the
    images found before the next page take none of the limit."""
    with TestServer(gallery_chain(pages=6, images=8)) as site:
        config = make_config(site.url("/g/c0.html"), crawl={"max_pages": 4})
        single = run_check(config)
        run_id = fresh_run_id("max-pages")
        workers = [start_worker(redis_server.url, "--run", run_id, "--wait", "30") for _ in "ab"]
        distributed = run_distributed(config, redis_server.url, run_id=run_id, lease=LEASE)
        outcomes = [finish(worker) for worker in workers]
    assert [code for code, _, _ in outcomes] == [0, 0]
    assert len(single.pages) == 4
    assert comparable(distributed) == comparable(single)


def test_a_page_taken_again_gets_the_same_answer(redis_server: RedisServer) -> None:
    """A task done twice (its worker was presumed dead) asks for its page again: the same
    answer, and nothing counted twice."""

    async def takes() -> tuple[list[bool], list[str | None]]:
        client = aioredis.from_url(redis_server.url, decode_responses=True)
        keys = RunKeys(fresh_run_id("take"))
        try:
            queue = TaskQueue(client, keys, max_pages=2)
            answers = [await queue.take_page(url) for url in ("a", "b", "c", "a", "c", "b")]
            counts = await client.hmget(
                keys.counters, ["pages_taken", "pages_not_crawled_max_pages"]
            )
            return answers, counts
        finally:
            await client.aclose()

    answers, counts = asyncio.run(takes())
    assert answers == [True, True, False, True, False, True]
    assert counts == ["2", "1"]


def test_commits_written_together_keep_their_own_records(redis_server: RedisServer) -> None:
    """Commits written in one call pass their hash values beside the JSON, each commit's in
    turn (COMMIT_LUA): every value lands in its own field, whatever the batch."""

    async def write() -> tuple[list[Any], list[Any], list[Any]]:
        client = aioredis.from_url(redis_server.url, decode_responses=True)
        keys = RunKeys(fresh_run_id("values"))
        try:
            queue = TaskQueue(client, keys, max_pages=10)
            await queue.create_group()
            first, second, third = Commit(), Commit(), Commit()
            first.occurrences("a", "a", [["x", "1"]])
            first.non_html("a", "image/png")
            second.member("truncated", "b")  # no hash value at all
            third.occurrences("c", "c", [["y", "2"], ["z", "3"]])
            third.meta("seeded", "1")
            third.soft404("c", ["says not found", False])
            await queue.commit_many([(c.encoded(), None) for c in (first, second, third)])
            return (
                await client.hmget(keys.occurrences, ["a", "c"]),
                await client.hmget(keys.non_html, ["a"]) + await client.hmget(keys.soft404, ["c"]),
                await client.hmget(keys.meta, ["seeded"]),
            )
        finally:
            await client.aclose()

    occurrences, others, meta = asyncio.run(write())
    assert [json.loads(record) for record in occurrences] == [
        ["a", [["x", "1"]]],
        ["c", [["y", "2"], ["z", "3"]]],
    ]
    assert others == ["image/png", '["says not found",false]']
    assert meta == ["1"]


def test_unreachable_redis_is_one_line_and_exit_code_2() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    code, out, err = finish(start_worker(url, "--wait", "0"))
    assert code == 2 and out == ""
    assert err.startswith("error: cannot reach Redis at redis://127.0.0.1:")
    assert err.count("\n") == 1 and "Traceback" not in err
    with pytest.raises(DistributedError, match="cannot reach Redis"):
        run_distributed(make_config("http://127.0.0.1:9/"), url)


def test_the_stored_configuration_reads_back_equal() -> None:
    config: Config = make_config(
        "https://www.example.com/guide/",
        crawl={"include": ["/docs/"], "exclude": [r"\.pdf$"], "max_pages": 7},
        remap=[{"pattern": "^https://carrier\\.example/", "replace": "http://127.0.0.1:1/"}],
        hosts={
            "https://intranet.example:8443": {
                "username": "u",
                "password": "p",
                "headers": {"X-Token": "t"},
                "interval": 0.5,
                "soft_404": False,
            }
        },
    )
    again = config_from_json(config_to_json(config), source=config.source)
    assert again == config


# --- issue #20: meta refresh, query-space traps, one page one entry ----------------------------


def _calendar(seen: Seen) -> Reply:
    """An endless calendar: every month links to the next and the previous one, from month
    0 on (one way only, so which months a budget lets in does not depend on which of two
    workers commits first: a cluster's order is not strictly breadth first)."""
    month = int(seen.path.rsplit("=", 1)[1])
    return page(
        f'<a href="/guide/cal?month={month + 1}">next month</a>'
        f'<a href="/guide/cal?month={max(month - 1, 0)}">previous month</a>'
    )


def issue20_site() -> dict[str, Route]:
    """A refresh page, a ?sid= link, an endless ?month= calendar, /guide/ and
    /guide/index.html answering the same bytes, and a page whose canonical is another."""
    home = page(
        '<a href="moved.html">moved</a><a href="later.html">later</a>'
        '<a href="a.html?sid=0f3a">a, with a session</a><a href="a.html">a</a>'
        '<a href="a.html?utm_source=guide&amp;lang=ja">a in Japanese</a>'
        '<a href="cal?month=0">calendar</a><a href="index.html">home again</a>'
        '<a href="print.html">print</a><a href="gone.html">gone</a>'
    )
    return {
        "/guide/": home,
        "/guide/index.html": home,
        "/guide/moved.html": page(
            '<meta http-equiv="refresh" content="0; url=new.html"><a href="gone.html">gone</a>'
        ),
        "/guide/later.html": page('<meta http-equiv="refresh" content="30; url=new.html">'),
        "/guide/new.html": page('<a href="a.html">a</a>'),
        "/guide/a.html": page('<a href="./">home</a>'),
        "/guide/print.html": page(
            '<link rel="canonical" href="a.html"><a href="./">home</a><a href="gone.html">x</a>'
        ),
        "/guide/cal": _calendar,
    }


def test_refresh_traps_and_aliases_give_the_single_machine_report(
    redis_server: RedisServer,
) -> None:
    budget = 5
    with TestServer(issue20_site()) as site:
        config = make_config(site.url("/guide/"), crawl={"max_queries_per_path": budget})
        single = run_check(config)
        single_requests = gets(site, "/guide/")
        site.requests.clear()
        run_id = fresh_run_id("issue20")
        workers = [start_worker(redis_server.url, "--run", run_id, "--wait", "30") for _ in "ab"]
        distributed = run_distributed(config, redis_server.url, run_id=run_id, lease=LEASE)
        outcomes = [finish(worker) for worker in workers]
        distributed_requests = gets(site, "/guide/")

    for code, _, err in outcomes:
        assert code == 0, err
    assert comparable(distributed) == comparable(single)
    assert distributed_requests == single_requests  # the same URLs asked, each as often
    url = site.url
    # (4) the refresh within 5 s is a redirect to its target, which is crawled; a later one not
    moved = distributed.links[url("/guide/moved.html")].result
    assert moved is not None and moved.verdict is Verdict.REDIRECTED
    assert moved.final_url == url("/guide/new.html")
    later = distributed.links[url("/guide/later.html")].result
    assert later is not None and later.verdict is Verdict.OK
    assert url("/guide/new.html") in {p.url for p in distributed.pages}
    # (5) no page for a session id or a tracking parameter; the calendar capped, with a note
    assert url("/guide/a.html?sid=0f3a") not in distributed.links
    assert "GET /guide/a.html?sid=0f3a" not in distributed_requests
    assert url("/guide/a.html?lang=ja") in distributed.links
    calendar = [p.url for p in distributed.pages if "/cal?" in p.url]
    assert len(calendar) == budget
    assert distributed.complete and not distributed.limits_hit
    (note,) = [note for note in distributed.notes if "crawl trap" in note]
    assert f"{budget} were crawled and 1 more were not followed" in note
    # (6) one page, one entry: /guide/ with index.html; a.html with print.html (its canonical)
    # and ?lang=ja (this server answers it with a.html's bytes)
    aliases = {p.url: p.aliases for p in distributed.pages if p.aliases}
    assert aliases == {
        url("/guide/"): (url("/guide/index.html"),),
        url("/guide/a.html"): (url("/guide/a.html?lang=ja"), url("/guide/print.html")),
    }


def test_the_query_budget_of_a_path_is_one_count_for_the_whole_cluster(
    redis_server: RedisServer,
) -> None:
    """Six pages, read by three workers at once, each link five query strings of one path:
    whichever commits first, exactly the budget's worth are crawled and the rest noted."""
    budget, lists, per_list = 10, 6, 5
    routes: dict[str, Route] = {
        "/q/": page("".join(f'<a href="list{n}.html">list {n}</a>' for n in range(lists)))
    }
    for n in range(lists):
        links = "".join(f'<a href="item?id={n}-{k}">item</a>' for k in range(per_list))
        routes[f"/q/list{n}.html"] = page(links, delay=0.1)
    routes["/q/item"] = lambda seen: page(f"item {seen.path}")  # pages of their own
    with TestServer(routes) as site:
        config = make_config(site.url("/q/"), crawl={"max_queries_per_path": budget})
        run_id = fresh_run_id("budget")
        workers = [start_worker(redis_server.url, "--run", run_id, "--wait", "30") for _ in "abc"]
        run = run_distributed(config, redis_server.url, run_id=run_id, lease=LEASE, work=False)
        outcomes = [finish(worker) for worker in workers]
        asked = sum(1 for seen in site.requests if seen.path.startswith("/q/item?"))

    for code, _, err in outcomes:
        assert code == 0, err
    assert asked == budget
    assert len([p for p in run.pages if "/item?" in p.url]) == budget
    left = [
        link.result
        for link in run.links.values()
        if "/item?" in link.url and link.result is not None and not link.result.verdict.checked
    ]
    assert len(left) == lists * per_list - budget
    assert all(r.message.startswith("possible crawl trap:") for r in left)
    assert run.complete and not run.limits_hit
    (note,) = [note for note in run.notes if "crawl trap" in note]
    assert f"{budget} were crawled and {lists * per_list - budget} more were not followed" in note


# --- the recheck, per URL during the crawl (issue #20 item 1) ---------------------------------


def _flaky(times: int) -> Route:
    """A route that answers 503 its first ``times`` requests, then a page."""
    asked: list[float] = []

    def answer(seen: Seen) -> Reply:
        asked.append(seen.at)
        if len(asked) <= times:
            return Reply(503, "deploying")
        return page('<a href="/after.html">after</a>')

    return answer


def _rechecks_site(site: TestServer, ext: TestServer, flaky: int) -> Config:
    """A start page with a flaky page of the site and a flaky external link (a check)."""
    site.routes.update(
        {
            "/": page(f'<a href="/flaky.html">page</a> <a href="{ext.url("/flaky")}">link</a>'),
            "/flaky.html": _flaky(flaky),
            "/after.html": page("found only on the flaky page"),
        }
    )
    ext.routes["/flaky"] = _flaky(flaky)
    return make_config(
        site.url("/"),
        http={"retries": 0, "recheck": True, "recheck_delay": 0.3, "external_method": "get"},
        checks={"soft_404": False, "sitemaps": False},
        crawl={"respect_robots": False},
    )


def _distributed_with_two_workers(
    redis_server: RedisServer, config: Config, name: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[RunResult, list[str], str]:
    """The run, the URLs the coordinator's finishing stage checked again, the run id."""
    from linkcheck.crawler import Crawler

    again: list[str] = []
    check_again = Crawler.check_again

    async def counted(self: Crawler, urls: list[str]) -> None:
        again.extend(urls)
        await check_again(self, urls)

    monkeypatch.setattr(Crawler, "check_again", counted)
    run_id = fresh_run_id(name)
    workers = [start_worker(redis_server.url, "--run", run_id) for _ in range(2)]
    time.sleep(0.3)
    run = run_distributed(config, redis_server.url, run_id=run_id, lease=LEASE, work=False)
    for worker in workers:
        code, _, err = finish(worker)
        assert code == 0, err
    return run, again, run_id


def test_a_worker_rechecks_a_passing_failure_during_the_crawl(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestServer() as ext, TestServer() as site:
        config = _rechecks_site(site, ext, flaky=1)
        run, again, run_id = _distributed_with_two_workers(
            redis_server, config, "recheck", monkeypatch
        )
        asked = {
            "page": [seen.at for seen in site.requests if seen.path == "/flaky.html"],
            "link": [seen.at for seen in ext.requests if seen.path == "/flaky"],
        }
        after = site.count("/after.html")

    for url in (site.url("/flaky.html"), ext.url("/flaky")):
        result = run.links[url].result
        assert result is not None and result.verdict is Verdict.OK, url
    for what, times in asked.items():
        assert len(times) == 2, what  # the first look (503) and the worker's second (200)
        assert times[1] - times[0] >= 0.3 * 0.9, what  # recheck_delay later
    assert after == 1  # the page's second visit was crawled: its links were followed
    assert again == []  # the coordinator's finishing stage rechecked nothing itself
    members = redis_server.client().smembers(RunKeys(run_id).rechecked)
    assert members == {site.url("/flaky.html"), ext.url("/flaky")}


def test_a_worker_rechecks_a_url_once_only(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestServer() as ext, TestServer() as site:
        config = _rechecks_site(site, ext, flaky=10)  # still down after the recheck
        run, again, _ = _distributed_with_two_workers(
            redis_server, config, "recheck-once", monkeypatch
        )
        counts = (site.count("/flaky.html"), ext.count("/flaky"))

    for url in (site.url("/flaky.html"), ext.url("/flaky")):
        result = run.links[url].result
        assert result is not None and result.status == 503, url
    assert counts == (2, 2)  # one first look and one recheck each, by a worker
    assert again == []


def test_a_workers_own_pending_list_is_read_without_handing_anything_out_again(
    redis_server: RedisServer,
) -> None:
    """TaskQueue.handed lists what a consumer holds without counting a hand-out (a task in
    hand for several looks must not look like a poison task); take hands out the lost ones."""

    async def look() -> tuple[list[str], list[str], list[int], list[str]]:
        client = aioredis.from_url(redis_server.url, decode_responses=True)
        keys = RunKeys(fresh_run_id("handed"))
        try:
            queue = TaskQueue(client, keys, max_pages=2)
            await queue.create_group()
            ids = [await client.xadd(keys.tasks, {"k": "check", "u": u}) for u in ("a", "b")]
            read = await queue.read("w1", 10, None)
            first = await queue.handed("w1", 10)
            again = await queue.handed("w1", 10)
            rows = await client.xpending_range(keys.tasks, GROUP, "-", "+", 10)
            taken = await queue.take("w1", [ids[1]])
            return (
                [task.id for task in read],
                first + again,
                [int(row["times_delivered"]) for row in rows],
                [task.url for task in taken],
            )
        finally:
            await client.aclose()

    read, handed, delivered, taken = asyncio.run(look())
    assert handed == read + read  # the same two, oldest first, each time
    assert delivered == [1, 1]  # looking did not count as handing out
    assert taken == ["b"]
