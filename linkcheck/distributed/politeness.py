"""Per-host politeness for the whole cluster: every request takes a Redis-held slot first.

Each process already spaces and caps its own requests (:class:`linkcheck.hosts.HostLimiter`
inside the :class:`~linkcheck.checker.Checker`), but N workers doing that independently
would hit a host N times harder. :class:`PoliteTransport` wraps the HTTP transport so that
each request also needs a cluster slot for its origin, granted by one atomic Lua script:

- at most ``concurrency`` requests in flight per origin: a sorted set of slot leases, each
  expiring after the request's timeout plus a margin, so a worker killed mid-request
  cannot hold a slot forever;
- request starts at least ``interval`` apart: a "next allowed start" timestamp (with a
  small margin, see :data:`PACE_MARGIN`);
- ``Retry-After`` (429/503) pauses the origin for everyone, up to ``retry_max_wait``.

Times come from the Redis server's clock (``TIME``), so workers on machines whose clocks
disagree still share one schedule. The origin's keys expire by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import random
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Unpack

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from redis.typing import EncodableT

from linkcheck.distributed.keys import RunKeys
from linkcheck.hosts import HostRules
from linkcheck.http import Outcome, RequestOptions, Transport
from linkcheck.retry import host_pause
from linkcheck.urls import origin

LEASE_MARGIN = 2.0  # seconds a slot may outlive its request's deadline (then it is free)
KEY_TTL_MS = 60_000  # politeness keys outlive their last use by this much
# Starts are spaced by a little more than the interval: the time between a grant and the
# request reaching the server varies (a busy event loop, a new connection), and two grants
# exactly ``interval`` apart could otherwise arrive closer than that.
PACE_MARGIN = 0.1  # share of the interval...
PACE_MARGIN_MAX = 0.05  # ... but at most this many seconds
HANDOVER_MAX = 8  # requests in a row one slot may serve in a process before Redis sees it
POLL_MIN = 0.002  # seconds between tries while every slot is taken: starts small...
POLL_MAX = 0.05  # ... and backs off to this

ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ready = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'),
                       tonumber(redis.call('GET', KEYS[3]) or '0'))
if ready > now then return ready - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
local lease = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], string.format('%d', now + lease), ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease + tonumber(ARGV[5]))
local interval = tonumber(ARGV[3])
if interval > 0 then
  local keep = interval + tonumber(ARGV[5])
  redis.call('SET', KEYS[2], string.format('%d', now + interval), 'PX', keep)
end
return 0
"""

RELEASE_LUA = """
return redis.call('ZREM', KEYS[1], ARGV[1])
"""

PAUSE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilms = now + tonumber(ARGV[1])
if untilms > tonumber(redis.call('GET', KEYS[1]) or '0') then
  local keep = tonumber(ARGV[1]) + tonumber(ARGV[2])
  redis.call('SET', KEYS[1], string.format('%d', untilms), 'PX', keep)
end
return 0
"""


@dataclass(slots=True)
class _Slot:
    token: str
    expires: float  # monotonic time by which Redis frees it at the latest (an early guess)
    reusable: bool  # no spacing to keep: it may pass straight to a waiting request
    uses: int = 0


class ClusterLimiter:
    """Slots, spacing and pauses per origin, shared by every process of one run.

    When an origin has no interval, a slot that a request gives back goes straight to a
    request of this process that waits for one (at most :data:`HANDOVER_MAX` times in a
    row, and only early in its lease), saving two round trips to Redis; the number of
    requests in flight cluster-wide is the same.
    """

    def __init__(self, redis: aioredis.Redis, keys: RunKeys, owner: str) -> None:
        self._keys = keys
        self._owner = owner
        self._tokens = itertools.count()
        self._acquire = redis.register_script(ACQUIRE_LUA)
        self._release = redis.register_script(RELEASE_LUA)
        self._pause = redis.register_script(PAUSE_LUA)
        self._waiting: dict[str, deque[asyncio.Future[_Slot]]] = defaultdict(deque)
        self._paused_until: dict[str, float] = {}  # pauses this process asked for
        self._background: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def slot(
        self, url: str, *, concurrency: int, interval: float, lease: float
    ) -> AsyncIterator[None]:
        """Hold one of the origin's cluster-wide slots for the duration of a request."""
        host = origin(url)
        spacing = interval + min(interval * PACE_MARGIN, PACE_MARGIN_MAX) if interval else 0.0
        held = await self._take(host, concurrency, spacing, lease)
        try:
            yield
        finally:
            await self._give_back(host, held, lease)

    async def pause(self, url: str, seconds: float) -> None:
        """The host asked for a break (Retry-After): nobody in the cluster asks it sooner."""
        if seconds > 0:
            host = origin(url)
            self._paused_until[host] = time.monotonic() + seconds
            key = self._keys.host(host, "pause")
            await self._pause(keys=[key], args=[round(seconds * 1000), KEY_TTL_MS])

    async def _take(self, host: str, concurrency: int, spacing: float, lease: float) -> _Slot:
        keys = [self._keys.host(host, part) for part in ("slots", "next", "pause")]
        token = f"{self._owner}:{next(self._tokens)}"
        args: list[EncodableT] = [
            token,
            concurrency,
            round(spacing * 1000),
            round(lease * 1000),
            KEY_TTL_MS,
        ]
        poll = POLL_MIN
        while True:
            began = time.monotonic()
            wait = int(await self._acquire(keys=keys, args=args))
            if wait == 0:
                return _Slot(token, began + lease, reusable=not spacing)
            if wait > 0:  # spacing or a pause: sleep exactly until then
                await asyncio.sleep(wait / 1000)
                continue
            # Every slot is taken: wait for one of ours to be handed over, or poll again.
            delay = poll * random.uniform(0.5, 1.5)
            if spacing:
                await asyncio.sleep(delay)
            else:
                handed = await self._handed_over(host, delay)
                if handed is not None:
                    return handed
            poll = min(poll * 2, POLL_MAX)

    async def _handed_over(self, host: str, timeout: float) -> _Slot | None:
        future: asyncio.Future[_Slot] = asyncio.get_running_loop().create_future()
        queue = self._waiting[host]
        queue.append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # handed over as we were cancelled
                self._release_later(host, future.result())
            raise
        finally:
            with contextlib.suppress(ValueError):
                queue.remove(future)

    async def _give_back(self, host: str, held: _Slot, lease: float) -> None:
        held.uses += 1
        now = time.monotonic()
        if (
            held.reusable
            and held.uses < HANDOVER_MAX
            and held.expires - now >= lease - LEASE_MARGIN / 2  # a request fits in its lease
            and self._paused_until.get(host, 0.0) <= now
        ):
            queue = self._waiting.get(host)
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(held)
                    return
        # A lost release only keeps the slot until its lease runs out.
        with contextlib.suppress(RedisError):
            await self._release(keys=[self._keys.host(host, "slots")], args=[held.token])

    def _release_later(self, host: str, held: _Slot) -> None:
        task = asyncio.ensure_future(
            self._give_back(host, dataclasses.replace(held, reusable=False), 0)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class PoliteTransport:
    """A :class:`~linkcheck.http.Transport` that takes a cluster slot for every request."""

    def __init__(
        self,
        inner: Transport,
        limiter: ClusterLimiter,
        rules: HostRules,
        *,
        retry_max_wait: float,
    ) -> None:
        self._inner = inner
        self._limiter = limiter
        self._rules = rules
        self._retry_max_wait = retry_max_wait

    async def request(self, method: str, url: str, **options: Unpack[RequestOptions]) -> Outcome:
        # ``url`` is what is really requested (remapped): the rules the Checker used for it.
        rules = self._rules.for_url(url)
        async with self._limiter.slot(
            url,
            concurrency=rules.concurrency,
            interval=rules.interval,
            lease=(options.get("timeout") or rules.timeout) + LEASE_MARGIN,
        ):
            outcome = await self._inner.request(method, url, **options)
            pause = host_pause(outcome, self._retry_max_wait)
            if pause is not None:  # paused before the slot is free: nobody slips in
                await self._limiter.pause(url, pause)
        return outcome
