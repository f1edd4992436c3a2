"""Shared helpers: a config tuned for fast tests, and one-call runs against loopback servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from linkcheck.config import Config, config_from_mapping
from linkcheck.models import CheckResult, RunResult
from linkcheck.runner import run_check
from tests.server import Reply, Route, TestServer, page

FAST_HTTP = {"timeout": 2.0, "retries": 1, "retry_max_wait": 0.05, "recheck": False}


def make_config(*start_urls: str, **sections: dict[str, Any]) -> Config:
    """A config for tests: short timeouts and retry waits unless a test asks otherwise."""
    data: dict[str, Any] = {"start_urls": list(start_urls)}
    data["http"] = {**FAST_HTTP, **sections.pop("http", {})}
    data["cache"] = {"enabled": False, **sections.pop("cache", {})}  # no state between tests
    data.update(sections)
    return config_from_mapping(data, source="test")


def crawl(*start_urls: str, **sections: dict[str, Any]) -> RunResult:
    return run_check(make_config(*start_urls, **sections))


def result(run: RunResult, url: str) -> CheckResult:
    link = run.links[url]
    assert link.result is not None
    return link.result


@pytest.fixture
def server() -> Iterator[TestServer]:
    with TestServer() as srv:
        yield srv


def serve(routes: dict[str, Route]) -> TestServer:
    return TestServer(routes)


@pytest.fixture(scope="session")
def demo_port() -> Iterator[int]:
    """The embedded demo server on an ephemeral loopback port, in a thread of its own."""
    import asyncio
    import threading

    from linkcheck.demo.server import start

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(start("127.0.0.1", 0))
        holder["port"] = runner.addresses[0][1]
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield int(holder["port"])
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture(scope="session")
def demo_run(demo_port: int) -> RunResult:
    """The shipped config.toml, pointed at the test's port instead of 8735."""
    import tomllib
    from pathlib import Path

    text = (Path(__file__).parent.parent / "config.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text.replace("8735", str(demo_port)))
    data.setdefault("http", {})["recheck_delay"] = 0.1  # keep the test fast; same behaviour
    data["cache"] = {"enabled": False}
    return run_check(config_from_mapping(data, source="config.toml"))


def gallery_chain(pages: int, images: int) -> dict[str, Route]:
    """A chain of pages (/g/c0.html links /g/c1.html, and so on), each with ``images``
    images of its own in the crawl's folder: in-scope URLs that are no pages, found before
    the next page is. Which pages a max_pages lets in is the same in any crawl order."""
    routes: dict[str, Route] = {}
    for n in range(pages):
        gallery = "".join(f'<img src="img/{n}-{k}.png" alt="">' for k in range(images))
        routes[f"/g/c{n}.html"] = page(gallery + f'<a href="c{n + 1}.html">next</a>')
        for k in range(images):
            routes[f"/g/img/{n}-{k}.png"] = Reply(200, b"png", content_type="image/png")
    return routes


def late_redirect_site() -> tuple[dict[str, Route], dict[str, int]]:
    """A site whose depths depend on a redirect that answers late, and each page's depth by
    its shortest path. /legacy.html (depth 2) redirects to /target.html after 0.6 s; /c.html,
    of the same level, links the target first (depth 3): the target keeps 2. It answers
    after 0.4 s, so /e.html (depth 3) finds /deep.html first at depth 4: through the target
    it is 3, and the shorter depth is passed on."""
    routes: dict[str, Route] = {
        "/d/": page('<a href="a.html">a</a> <a href="b.html">b</a>'),
        "/d/a.html": page('<a href="legacy.html">the old address</a>'),
        "/d/b.html": page('<a href="c.html">c</a>'),
        "/d/legacy.html": Reply(301, b"", {"Location": "target.html"}, None, delay=0.6),
        "/d/c.html": page('<a href="target.html">target</a> <a href="e.html">e</a>'),
        "/d/e.html": page('<a href="deep.html">deep, the long way</a>'),
        "/d/target.html": page('<a href="deep.html">deep</a>', delay=0.4),
        "/d/deep.html": page("the end"),
    }
    depths = {"/d/": 0, "/d/a.html": 1, "/d/b.html": 1, "/d/c.html": 2, "/d/e.html": 3}
    return routes, depths | {"/d/target.html": 2, "/d/deep.html": 3}
