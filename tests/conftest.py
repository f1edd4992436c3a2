"""Shared helpers: a config tuned for fast tests, and one-call runs against loopback servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from linkcheck.config import Config, config_from_mapping
from linkcheck.models import CheckResult, RunResult
from linkcheck.runner import run_check
from tests.server import Route, TestServer

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
