"""Parse workers started with the program: taken over by the crawl, or stopped."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from linkcheck import parse_pool, prestart
from linkcheck.prestart import MAX_WORKERS, auto_workers
from tests.conftest import crawl
from tests.server import TestServer
from tests.crawl.test_parse_pool import PAGES, guide, summary, workers_used


@pytest.fixture(autouse=True)
def none_left() -> Iterator[None]:
    yield
    prestart.discard()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "https://example.com/"], auto_workers()),
        (["run"], auto_workers()),  # start URLs from config.toml
        (["run", "FOLDER"], auto_workers(fetching=False)),  # a built folder: every core
        (["run", "--", "FOLDER"], auto_workers(fetching=False)),
        (["run", "-o", "FOLDER", "https://example.com/"], auto_workers()),  # a value, not a site
        (["run", "--output", "FOLDER", "https://example.com/"], auto_workers()),
        (["run", "--output=FOLDER", "https://example.com/"], auto_workers()),
        (["run", "--parse-workers", "0", "https://example.com/"], 0),
        (["run", "--parse-workers=3", "FOLDER"], 3),
        (["run", "--parse-workers", "9"], MAX_WORKERS),
        (["run", "--parse-workers", "-1", "FOLDER"], auto_workers(fetching=False)),
        (["run", "--parse-workers", "many"], 0),  # the run stops at its options
        (["run", "--parse-workers", "-2"], 0),
        (["run", "--redis", "redis://127.0.0.1:6379/0", "https://example.com/"], 0),
        (["run", "--help"], 0),
        (["report", "results.json"], 0),
        (["--version"], 0),
        ([], 0),
    ],
)
def test_workers_are_started_for_a_run_only(args: list[str], expected: int, tmp_path: Path) -> None:
    assert prestart.wanted([arg.replace("FOLDER", str(tmp_path)) for arg in args]) == expected


def test_the_options_that_take_a_value_are_those_of_the_run_command() -> None:
    """prestart reads the command line before Click: its list must be Click's."""
    from linkcheck.cli import main

    run = main.commands["run"]
    assert isinstance(run, click.Command)
    taking_values = {
        name
        for param in run.params
        if isinstance(param, click.Option) and not param.is_flag and not param.count
        for name in param.opts
    }
    assert taking_values == prestart.RUN_OPTIONS_WITH_VALUES


def test_a_crawl_takes_over_the_workers_started_with_the_program(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same run as in process, parsed by the started worker from the first page on, and no
    process started by the pool itself."""
    spawned: list[Any] = []

    async def no_spawn(*args: Any, **kwargs: Any) -> Any:
        spawned.append(args)
        raise OSError("the pool was to take the started worker, not start one")

    monkeypatch.setattr(parse_pool.asyncio, "create_subprocess_exec", no_spawn)
    monkeypatch.setattr(parse_pool.ParsePool, "ready", property(lambda pool: pool.alive))
    caplog.set_level(logging.DEBUG, logger="linkcheck.crawler")
    with TestServer(guide()) as site:
        start = site.url("/guide/p0.html")
        alone = crawl(start, crawl={"parse_workers": 0, "max_links_per_page": 41})
        caplog.clear()
        (worker,) = prestart.start(1)
        taken = crawl(start, crawl={"parse_workers": 1, "max_links_per_page": 41})
    assert spawned == []
    assert workers_used(caplog) >= PAGES  # every page, the first included
    assert prestart.waiting() == 0
    assert worker.wait(timeout=5) == -signal.SIGKILL  # stopped by the pool, every page answered
    assert summary(taken) == summary(alone)


def test_the_pool_starts_at_the_first_page_when_a_worker_is_waiting(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With parse_workers on auto, a site too small for starting a worker still uses one
    that was started with the program."""
    monkeypatch.setattr(parse_pool.ParsePool, "ready", property(lambda pool: pool.alive))
    caplog.set_level(logging.DEBUG, logger="linkcheck.crawler")
    with TestServer(guide()) as site:
        prestart.start(1)
        crawl(site.url("/guide/p0.html"), crawl={"parse_workers": -1})
    assert workers_used(caplog) >= PAGES


def test_workers_the_crawl_does_not_take_are_stopped() -> None:
    with TestServer(guide()) as site:
        started = prestart.start(2)
        crawl(site.url("/guide/p0.html"), crawl={"parse_workers": 1})
    assert prestart.waiting() == 0
    assert [process.wait(timeout=5) for process in started] == [-signal.SIGKILL] * 2


def test_a_run_that_parses_in_process_stops_the_started_workers_at_once() -> None:
    with TestServer(guide()) as site:
        (started,) = prestart.start(1)
        crawl(site.url("/guide/p0.html"), crawl={"parse_workers": 0})
    assert prestart.waiting() == 0
    assert started.wait(timeout=5) == -signal.SIGKILL
