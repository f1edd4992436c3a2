"""Cluster-wide per-host politeness: waiting for a host blocks instead of polling Redis.

The worker-process test starts 20 ``linkcheck worker`` processes against one slow host
(``per_host_concurrency`` 1) and measures the Redis commands per second the whole cluster
sends while 19 of them wait (``INFO commandstats`` deltas). The in-process tests drive
:class:`ClusterLimiter` directly: several limiters in one process stand for several
processes (each has its own taker per origin and its own blocking connections).
"""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
import redis.asyncio as aioredis

from linkcheck.distributed import run_distributed
from linkcheck.distributed.keys import RunKeys
from linkcheck.distributed.politeness import (
    WAKE_BLOCK_MAX,
    WAKE_BLOCK_MIN,
    ClusterLimiter,
    wait_after,
)
from tests.conftest import make_config
from tests.distributed.harness import (
    Background,
    RedisServer,
    finish,
    fresh_run_id,
    needs_redis,
    start_worker,
)
from tests.server import Reply, Seen, TestServer, page

pytestmark = needs_redis

WORKERS = 20
SLOW = 0.3  # seconds each page of the slow host takes to answer
# Every worker holds one task (--concurrency 1) and 25 more wait in the stream, so all 20
# stay busy, 19 of them waiting for the host, over the measured stretch.
PAGES = WORKERS + 25
# Commands per second for the whole cluster while it waits (INFO commandstats: the commands
# run inside scripts count too). Polling for a slot, 19 waiters alone kept Redis several
# times above this; blocking, what is left is mostly the workers' own bookkeeping
# (heartbeats, status, commits), which the bound leaves room for.
MAX_COMMANDS_PER_SECOND = 800
# The limiter's own tries (each runs the acquire script's ZCARD once, a command no other
# script uses): about one per answer of the host, one per wake-up that found the slot taken
# again, and one per taker every WAKE_BLOCK_MAX; polling made one per waiter every few ms.
MAX_TRIES_PER_SECOND = 100


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (0, (0.0, False)),  # granted
        (250, (0.25, False)),  # spacing or a pause: sleep exactly that long
        (-1, (WAKE_BLOCK_MIN, True)),  # all taken, a lease ends at once: block a little
        (-400, (0.4, True)),  # all taken: block until the earliest lease ends...
        (-600_000, (WAKE_BLOCK_MAX, True)),  # ... but never longer than the cap
    ],
)
def test_wait_after_reads_the_acquire_scripts_answer(
    answer: int, expected: tuple[float, bool]
) -> None:
    assert wait_after(answer) == pytest.approx(expected)


def test_twenty_waiting_workers_keep_redis_load_flat_on_a_slow_host(
    redis_server: RedisServer,
) -> None:
    busy: list[tuple[float, float]] = []  # when the server worked on each answer
    routes: dict[str, Any] = {
        "/s/p0.html": page("".join(f'<a href="/s/p{n}.html">{n}</a>' for n in range(1, PAGES)))
    }
    for n in range(1, PAGES):
        routes[f"/s/p{n}.html"] = _slow(n, busy)
    client = redis_server.client()
    with TestServer(routes) as site:
        config = make_config(
            site.url("/s/p0.html"),
            http={"per_host_concurrency": 1},
            checks={"soft_404": False, "sitemaps": False},
            crawl={"respect_robots": False},
        )
        run_id = fresh_run_id("slow-host")
        before = _clients(client)
        workers = [
            start_worker(redis_server.url, "--run", run_id, "--wait", "120", "--concurrency", "1")
            for _ in range(WORKERS)
        ]
        try:
            _wait_for(lambda: _clients(client) >= before + WORKERS, 120, "workers to connect")
            coordinator = Background(
                lambda: run_distributed(config, redis_server.url, run_id=run_id, work=False)
            )
            coordinator.start()
            # From the third answer (every worker has its task) until the stream runs dry.
            _wait_for(lambda: len(site.requests) >= 3, 60, "the crawl to start")
            start, began = _commands(client), time.monotonic()
            _wait_for(lambda: len(site.requests) >= PAGES - 5, 60, "the crawl to go on")
            end, ended = _commands(client), time.monotonic()
            run = coordinator.value(timeout=60)
        finally:
            outcomes = [finish(worker, timeout=60) for worker in workers]

    seconds = ended - began
    delta = {name: end.get(name, 0) - start.get(name, 0) for name in end}
    rate = sum(delta.values()) / seconds
    tries, pops = delta["cmdstat_zcard"] / seconds, delta.get("cmdstat_blpop", 0) / seconds
    busiest = sorted(delta.items(), key=lambda item: -item[1])[:8]
    print(
        f"\n{WORKERS} workers, one host answering in {SLOW} s, concurrency 1: "
        f"{rate:.0f} Redis commands/s over {seconds:.1f} s, of which the limiter's tries "
        f"{tries:.0f}/s and blocking pops {pops:.0f}/s "
        f"({', '.join(f'{name} {calls / seconds:.0f}/s' for name, calls in busiest)})"
    )
    assert all(code == 0 for code, _, _ in outcomes), [err[-800:] for _, _, err in outcomes]
    assert len(run.pages) == PAGES
    assert len(busy) == PAGES - 1
    assert _most_at_once(busy) == 1, "the host worked on more than its limit at once"
    assert rate < MAX_COMMANDS_PER_SECOND
    assert tries < MAX_TRIES_PER_SECOND


# --- one process, several limiters -----------------------------------------------------------


class Limiters:
    """Limiters of one run, each standing for a process, on one client; closed at the end."""

    def __init__(self, url: str) -> None:
        self.keys = RunKeys(fresh_run_id("limiter"))
        self._url = url
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Limiters:
        self.redis = aioredis.Redis.from_url(self._url, decode_responses=True)
        self._stack.push_async_callback(self.redis.aclose)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    def __call__(self, owner: str) -> ClusterLimiter:
        limiter = ClusterLimiter(self.redis, self.keys, owner)
        self._stack.push_async_callback(limiter.aclose)
        return limiter


URL = "http://127.0.0.1:9/x"
TRIPS = ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_blpop")  # round trips of the limiter
HOST = "http://127.0.0.1:9"


def test_a_release_wakes_a_blocked_waiter_of_another_process_at_once(
    redis_server: RedisServer,
) -> None:
    took: list[float] = []

    async def hold(limiter: ClusterLimiter, seconds: float) -> None:
        async with limiter.slot(URL, concurrency=1, interval=0, lease=30):
            took.append(time.monotonic())
            await asyncio.sleep(seconds)

    async def main() -> float:
        async with Limiters(redis_server.url) as limiters:
            first, second = limiters("a"), limiters("b")
            holder = asyncio.create_task(hold(first, 0.3))
            await asyncio.sleep(0.05)
            began = time.monotonic()
            await hold(second, 0)  # blocks on the wake list until the first gives it back
            await holder
            return took[1] - began

    waited = asyncio.run(main())
    # Woken by the release (~0.25 s), not by its lease (30 s) or the safety cap (2 s).
    assert 0.15 <= waited < 1.0, waited


def test_a_slot_kept_by_a_dead_process_is_taken_when_its_lease_ends(
    redis_server: RedisServer,
) -> None:
    async def main() -> float:
        async with Limiters(redis_server.url) as limiters:
            limiter = limiters("alive")
            # A process took the only slot with a 0.6 s lease and died: no release comes.
            dead = await limiter._acquire(  # the script, as the dead one ran it
                keys=[limiters.keys.host(HOST, part) for part in ("slots", "next", "pause")]
                + [limiters.keys.host(HOST, "wake")],
                args=["dead:0", 1, 0, 600, 60_000],
            )
            assert dead == 0
            began = time.monotonic()
            async with limiter.slot(URL, concurrency=1, interval=0, lease=30):
                return time.monotonic() - began

    waited = asyncio.run(main())
    # Blocked until the lease ran out, not polling, and not the whole safety cap either.
    assert 0.5 <= waited < WAKE_BLOCK_MAX, waited


def test_many_waiters_in_many_processes_never_exceed_the_hosts_limit(
    redis_server: RedisServer,
) -> None:
    in_flight, most, done = 0, 0, 0

    async def request(limiter: ClusterLimiter) -> None:
        nonlocal in_flight, most, done
        async with limiter.slot(URL, concurrency=2, interval=0, lease=30):
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.02)
            in_flight -= 1
            done += 1

    async def main() -> None:
        async with Limiters(redis_server.url) as limiters:
            processes = [limiters(f"p{n}") for n in range(6)]
            async with asyncio.timeout(30):
                await asyncio.gather(*(request(p) for p in processes for _ in range(10)))

    client = redis_server.client()
    start = _commands(client)
    asyncio.run(main())
    end = _commands(client)
    calls = sum(end.get(name, 0) - start.get(name, 0) for name in TRIPS)

    assert done == 60 and most == 2
    # A take and a release per request (fewer with hand-overs in a process), a wake-up and
    # a failed try now and then; polling made a script call per try, several times this bound.
    print(f"\n60 requests, 6 processes, 2 slots: {calls} script calls and blocking pops")
    assert calls < 60 * 3, calls


def test_a_process_behind_its_own_per_host_limit_reuses_its_slots(
    redis_server: RedisServer,
) -> None:
    """A process's Checker admits a request to a host only once an earlier one returned
    (its own per_host_concurrency), so no request of its own waits when a slot is given
    back. The slot is parked for the next one (PARK_FOR) rather than given back to Redis
    and taken again; two such processes still never exceed the host's limit together."""
    in_flight, most, done = 0, 0, 0

    async def request(limiter: ClusterLimiter, admitted: asyncio.Semaphore) -> None:
        nonlocal in_flight, most, done
        async with admitted, limiter.slot(URL, concurrency=2, interval=0, lease=30):
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.002)
            in_flight -= 1
            done += 1

    async def main(processes: int) -> None:
        async with Limiters(redis_server.url) as limiters:
            each = [(limiters(f"p{n}"), asyncio.Semaphore(2)) for n in range(processes)]
            async with asyncio.timeout(30):
                await asyncio.gather(*(request(*p) for p in each for _ in range(40)))

    client = redis_server.client()
    counts = []
    for processes in (1, 2):
        start = _commands(client)
        asyncio.run(main(processes))
        end = _commands(client)
        counts.append(sum(end.get(name, 0) - start.get(name, 0) for name in TRIPS))
    assert done == 120 and most == 2
    alone, two = counts
    print(f"\n40 requests, 1 process: {alone} round trips; 80 in 2 processes: {two}")
    # A slot serves HANDOVER_MAX requests in a row (a take and a release: 40 requests, about
    # 10 trips); a take and a release for each request would be 80.
    assert alone <= 20, alone
    assert two < 80 * 2, two


def test_a_release_left_to_a_cancelled_task_leaves_nothing_unawaited(
    redis_server: RedisServer,
) -> None:
    """A limiter closed while a release it left to a task of its own has not started yet
    cancels that task: the release's awaitable is made in the task, so no coroutine is left
    never awaited (CI saw one, made before its task and dropped with it)."""

    async def main() -> None:
        async with Limiters(redis_server.url) as limiters:
            limiter = limiters("p")
            keys = [limiters.keys.host(HOST, "slots"), limiters.keys.host(HOST, "wake")]
            limiter._in_background(lambda: limiter._release(keys=keys, args=["", 1, 1000]))
            await limiter.aclose()  # before the task's first step

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)], caught


def test_a_waiter_that_gives_up_passes_its_wake_up_on(redis_server: RedisServer) -> None:
    async def main() -> float:
        async with Limiters(redis_server.url) as limiters:
            holder, quitter, patient = limiters("h"), limiters("q"), limiters("p")
            release, taken = asyncio.Event(), asyncio.Event()

            async def hold() -> None:
                async with holder.slot(URL, concurrency=1, interval=0, lease=30):
                    taken.set()
                    await release.wait()

            holding = asyncio.create_task(hold())
            await taken.wait()
            quitting = asyncio.create_task(_take(quitter))
            await asyncio.sleep(0.1)  # the quitter's taker blocks first: the wake-up is its
            waiting = asyncio.create_task(_take(patient))
            await asyncio.sleep(0.1)
            quitting.cancel()  # its request gives up; its taker is still blocked
            release.set()
            await holding
            began = time.monotonic()
            await asyncio.wait_for(waiting, 5)
            return time.monotonic() - began

    # The quitter's taker got the wake-up, found nobody waiting, and pushed it back.
    assert asyncio.run(main()) < WAKE_BLOCK_MAX / 2


async def _take(limiter: ClusterLimiter) -> None:
    async with limiter.slot(URL, concurrency=1, interval=0, lease=30):
        pass


# --- helpers ---------------------------------------------------------------------------------


def _slow(n: int, busy: list[tuple[float, float]]) -> Callable[[Seen], Reply]:
    """A page answered after SLOW seconds, noting when the server worked on it: from reading
    the request to the end of the wait, before the answer is written. (The server's own
    in-flight count also covers writing the answer and the thread's bookkeeping after it,
    which can still be going on when the client already has the answer and the next
    request arrives.)"""

    def answer(seen: Seen) -> Reply:
        time.sleep(SLOW)
        busy.append((seen.at, time.monotonic()))
        return page(f"<p>page {n}</p>")

    return answer


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most spans (start, end) that overlap at one moment."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = now = 0
    for _, step in events:  # at a tie an end (-1) sorts first: touching spans do not overlap
        now += step
        most = max(most, now)
    return most


def _commands(client: Any) -> dict[str, int]:
    """Calls per command so far, without INFO (this test's own probes)."""
    stats = client.info("commandstats")
    return {
        name: int(value["calls"])
        for name, value in stats.items()
        if name not in ("cmdstat_info", "cmdstat_client|list")
    }


def _clients(client: Any) -> int:
    return int(client.info("clients")["connected_clients"])


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
