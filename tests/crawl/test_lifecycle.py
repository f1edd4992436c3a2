"""A run's lifecycle: its start URLs, its deadline, SIGINT/SIGTERM and progress ticks."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal

import pytest

from linkcheck.config import ConfigError
from linkcheck.crawl_state import CrawlStats
from linkcheck.lifecycle import Ending, run_until_done, start_urls, ticking
from linkcheck.runner import run_check
from tests.conftest import make_config
from tests.server import TestServer, page


async def _forever() -> None:
    await asyncio.sleep(3600)


async def _done() -> None:
    await asyncio.sleep(0)


def test_work_that_ends_ends_the_run_finished() -> None:
    async def main() -> Ending:
        return await run_until_done(asyncio.create_task(_done()), deadline=5, handle_signals=False)

    ending = asyncio.run(main())
    assert ending.finished
    assert not ending.interrupted and not ending.out_of_time
    assert ending.interrupted_by == ""


def test_the_deadline_stops_the_work_not_the_caller() -> None:
    async def main() -> tuple[Ending, asyncio.Task[None]]:
        work = asyncio.create_task(_forever())
        return await run_until_done(work, deadline=0.05, handle_signals=False), work

    ending, work = asyncio.run(main())
    assert ending.out_of_time and not ending.interrupted
    assert not ending.finished
    assert work.cancelled()


def test_work_cancelled_from_elsewhere_is_an_interrupted_run() -> None:
    async def main() -> Ending:
        work = asyncio.create_task(_forever())
        asyncio.get_running_loop().call_later(0.02, work.cancel)
        return await run_until_done(work, deadline=None, handle_signals=False)

    ending = asyncio.run(main())
    assert ending.interrupted and not ending.out_of_time
    assert ending.interrupted_by == "cancelled"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_cancels_the_work_and_is_named(signum: signal.Signals) -> None:
    async def main() -> Ending:
        work = asyncio.create_task(_forever())
        asyncio.get_running_loop().call_later(0.02, os.kill, os.getpid(), signum)
        return await run_until_done(work, deadline=None, handle_signals=True)

    before = signal.getsignal(signum)
    ending = asyncio.run(main())
    assert ending.interrupted
    assert ending.received == [signum]
    assert ending.interrupted_by == signum.name
    assert signal.getsignal(signum) == before  # the handlers are gone with the run


def test_the_callers_own_cancellation_is_not_swallowed() -> None:
    async def main() -> None:
        work = asyncio.create_task(_forever())
        waiting = asyncio.create_task(run_until_done(work, deadline=None, handle_signals=False))
        await asyncio.sleep(0.02)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert not work.done()  # the work is its owner's to end
        work.cancel()

    asyncio.run(main())


def test_progress_ticks_while_the_block_runs_and_not_after() -> None:
    seen: list[int] = []
    stats = CrawlStats()

    async def read() -> CrawlStats:
        stats.pages_crawled += 1
        return stats

    async def main() -> int:
        async with ticking(lambda s: seen.append(s.pages_crawled), read):
            await asyncio.sleep(0.3)
        ticks = len(seen)
        await asyncio.sleep(0.3)
        return ticks

    ticks = asyncio.run(main())
    assert ticks >= 2  # at once, then every interval
    assert len(seen) == ticks
    assert seen == list(range(1, ticks + 1))


def test_no_progress_callback_no_ticks() -> None:
    async def read() -> CrawlStats:
        raise AssertionError("read without a callback")

    async def main() -> None:
        async with ticking(None, read):
            await asyncio.sleep(0.01)

    asyncio.run(main())


def test_start_urls_are_normalised_each_once() -> None:
    config = make_config("HTTP://Example.com", "http://example.com/", "http://example.com/a")
    assert start_urls(config) == ["http://example.com/", "http://example.com/a"]


def test_no_start_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no start URL"):
        start_urls(make_config())


def test_a_start_url_that_is_not_one_is_a_config_error() -> None:
    # (a config file's are validated on loading; a library caller's Config may hold any)
    config = dataclasses.replace(make_config(), start_urls=("http://[::1",))
    with pytest.raises(ConfigError, match="start URL: 'http://"):
        start_urls(config)


def test_a_run_reports_progress_and_its_last_report_is_the_final_count(
    server: TestServer,
) -> None:
    server.routes.update({"/": page('<a href="/a">a</a><a href="/b">b</a>'), "/a": page("a")})
    seen: list[CrawlStats] = []
    run = run_check(
        make_config(server.url("/")),
        progress=lambda stats: seen.append(dataclasses.replace(stats)),
    )
    assert seen, "no progress was reported"
    last = seen[-1]
    assert last.pages_crawled == len(run.pages) == 2
    assert last.links_found == len(run.links) == 3
    assert last.links_checked == 3 and last.problems == 1  # /b: 404
