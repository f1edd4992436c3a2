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
