"""What a distributed run costs Redis, and depth as in a single run (issue #22 items 4, 5).

Commits are written in groups and decide every link of a page inside one script call, so
the Redis commands per page stay a small number whatever a page's links; and pages are
crawled breadth first (a page waits until every page less deep is done), so a page's depth
is the length of its shortest path from the start, in a cluster as in a single run.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from linkcheck.distributed import run_distributed
from linkcheck.distributed.queue import Task, page_depth, runnable
from linkcheck.runner import run_check
from tests.conftest import late_redirect_site, make_config
from tests.distributed.harness import (
    LEASE,
    comparable,
    finish,
    fresh_run_id,
    needs_redis,
    run_cluster,
    start_redis,
    start_worker,
)
from tests.server import Route, TestServer, page

pytestmark = needs_redis

# Links a page: a nav to every page and a leaf of its own. Deciding links one command (or
# one round trip) each would cost 30 or more a page between the two; the commits decide a
# page's links in the one script call that writes the page, so the cost is about the same.
FEW_LINKS, MANY_LINKS = 10, 40
MAX_GROWTH = 12.0  # commands a page, many links less few: generous (about 0 measured)
MAX_COMMANDS_PER_PAGE = 45.0  # generous too: about 23 measured, most of it per request


def _commands(info: dict[str, Any]) -> dict[str, int]:
    return {
        name.removeprefix("cmdstat_"): int(row["calls"])
        for name, row in info.items()
        if name.startswith("cmdstat_")
    }


def _nav_site(links: int) -> dict[str, Route]:
    routes: dict[str, Route] = {}
    nav = "".join(f'<a href="/n/p{n}.html">Page {n}</a>' for n in range(links))
    for n in range(links):
        own = f'<a href="/n/leaf{n}.html">own</a>'
        routes[f"/n/p{n}.html"] = page(f"<nav>{nav}</nav><p>{own}</p>")
        routes[f"/n/leaf{n}.html"] = page("a leaf")
    return routes


def _commands_per_page(links: int) -> tuple[float, list[tuple[str, int]]]:
    """A coordinator and two workers on the site: Redis commands per page crawled (every
    command, a script's own included), and the most frequent ones."""
    server = start_redis("--appendonly", "no")
    try:
        with TestServer(_nav_site(links)) as site:
            config = make_config(site.url("/n/p0.html"))
            single = run_check(config)
            run_id = fresh_run_id("overhead")
            workers = [start_worker(server.url, "--run", run_id, "--wait", "30") for _ in range(2)]
            time.sleep(0.5)  # joined (imports done) before the count starts
            client = server.client()
            before = _commands(client.info("commandstats"))
            distributed = run_distributed(
                config, server.url, run_id=run_id, lease=LEASE, work=False
            )
            after = _commands(client.info("commandstats"))
            outcomes = [finish(worker) for worker in workers]
    finally:
        server.stop()
    for code, _, err in outcomes:
        assert code == 0, err
    assert comparable(distributed) == comparable(single)
    assert len(distributed.pages) == 2 * links
    calls = {name: after[name] - before.get(name, 0) for name in after if name != "info"}
    top = sorted(calls.items(), key=lambda item: -item[1])[:6]
    return sum(calls.values()) / len(distributed.pages), top


def test_redis_commands_per_page_do_not_grow_with_the_links_of_a_page() -> None:
    few, _ = _commands_per_page(FEW_LINKS)
    many, top = _commands_per_page(MANY_LINKS)
    print(f"\nRedis commands per page: {few:.1f} ({FEW_LINKS + 1} links a page), "
          f"{many:.1f} ({MANY_LINKS + 1} links a page: {top})")  # fmt: skip
    assert many - few <= MAX_GROWTH, top
    assert many <= MAX_COMMANDS_PER_PAGE, top


def _chain_and_shortcut(delay: float) -> dict[str, Route]:
    """/ links /slow and /a. /slow answers late and links /target (depth 2); /a -> /b ->
    /target is a longer way (depth 3), found first when pages are taken as they finish.
    /target -> /deep -> /deeper: with max_depth 3, /deeper is checked, not crawled."""
    return {
        "/d/": page('<a href="slow.html">slow</a> <a href="a.html">a</a>'),
        "/d/slow.html": page('<a href="target.html">target</a>', delay=delay),
        "/d/a.html": page('<a href="b.html">b</a>'),
        "/d/b.html": page('<a href="target.html">target, the long way</a>'),
        "/d/target.html": page('<a href="deep.html">deep</a>'),
        "/d/deep.html": page('<a href="deeper.html">deeper</a>'),
        "/d/deeper.html": page('<a href="deepest.html">deepest</a>'),
        "/d/deepest.html": page("the end"),
    }


def test_a_page_has_the_depth_of_its_shortest_path_in_a_cluster_as_in_a_single_run(
    redis_server: Any,
) -> None:
    expected = {
        "/d/": 0,
        "/d/slow.html": 1,
        "/d/a.html": 1,
        "/d/b.html": 2,
        "/d/target.html": 2,
        "/d/deep.html": 3,
    }
    with TestServer(_chain_and_shortcut(delay=0.6)) as site:
        config = make_config(site.url("/d/"), crawl={"max_depth": 3})
        single = run_check(config)
        distributed, _ = run_cluster(config, redis_server.url, "depth")
        for run in (single, distributed):
            depths = {page.url: page.depth for page in run.pages}
            assert depths == {site.url(path): depth for path, depth in expected.items()}
            # max_depth 3: /deeper (depth 4) is checked only, and what it links is not seen
            assert site.url("/d/deeper.html") in run.links
            assert site.url("/d/deepest.html") not in run.links
        assert comparable(distributed) == comparable(single)


def test_depths_through_a_late_redirect_are_the_shortest_in_a_cluster_as_in_a_single_run(
    redis_server: Any,
) -> None:
    """Issue #22 item 5, the race docs/distributed.md named: a page found deeper first and
    still waiting keeps the depth of a shallower redirect to it (CLAIM_LUA), and passes it on
    to the pages it links (COMMIT_LUA's shorten), in a cluster as in a single run, so no
    depth depends on which answer came first (see late_redirect_site)."""
    routes, expected = late_redirect_site()
    with TestServer(routes) as site:
        config = make_config(site.url("/d/"))
        single = run_check(config)
        distributed, _ = run_cluster(config, redis_server.url, "late-redirect")
    for run in (single, distributed):
        depths = {page.url: page.depth for page in run.pages}
        assert depths == {site.url(path): depth for path, depth in expected.items()}
    assert comparable(distributed) == comparable(single)


@pytest.mark.parametrize(
    ("kind", "depth", "level", "starts", "counted"),
    [
        ("page", 2, 2, True, 2),  # a page of the level
        ("page", 3, 2, False, 3),  # deeper: waits for the level
        ("page", 0, 3, True, 0),  # less deep (a sitemap entry read late): at once
        ("check", 0, 0, True, -1),  # links and sitemaps never wait, nor count
        ("sitemaps", 0, 0, True, -1),
    ],
)
def test_which_tasks_wait_for_their_level(
    kind: str, depth: int, level: int, starts: bool, counted: int
) -> None:
    task = Task("1-0", kind, "http://example.com/", depth)
    assert runnable(task, level) is starts
    assert page_depth(task) == counted
