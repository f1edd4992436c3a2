"""Per-host politeness for the whole cluster: every request takes a Redis-held slot first.

Each process already spaces and caps its own requests (:class:`linkcheck.hosts.HostLimiter`
inside the :class:`~linkcheck.checker.Checker`), but N workers doing that independently
would hit a host N times harder. :class:`PoliteTransport` wraps the HTTP transport so that
each request also needs a cluster slot for its origin, granted by one atomic Lua script:

- at most ``concurrency`` requests in flight per origin: a sorted set of slot leases, each
  expiring after the request's timeout plus a margin, so a worker killed mid-request
  cannot hold a slot forever;
- request starts at least ``interval`` apart: a "next allowed start" timestamp (with a
  small margin, see :func:`linkcheck.hosts.spacing`);
- ``Retry-After`` (429/503) pauses the origin for everyone, up to ``retry_max_wait``.

Waiting costs Redis next to nothing, however many workers wait. In each process one task
per origin (a *taker*) asks Redis for slots on behalf of all the requests of that process
waiting for the origin, one after the other. When every slot is taken it blocks on the
origin's *wake list* (``BLPOP``, on a connection of its own: the shared connections keep
serving the run) until a release pushes a token there, or until the earliest slot's lease
runs out (a dead worker's slot is free then), but never longer than :data:`WAKE_BLOCK_MAX`
(a wake-up lost with a dying process costs that much at most). A token wakes one taker, so
a release sets off one try, not one per waiting worker. Spacing and pauses need no wake-up:
the script says how long to wait, and the taker sleeps exactly that long.

Times come from the Redis server's clock (``TIME``), so workers on machines whose clocks
disagree still share one schedule. The origin's keys expire by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Unpack

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from redis.typing import EncodableT

from linkcheck.distributed.keys import RunKeys
from linkcheck.hosts import HostRules, spacing
from linkcheck.http import Outcome, RequestOptions, Transport
from linkcheck.retry import host_pause
from linkcheck.urls import origin

LEASE_MARGIN = 2.0  # seconds a slot may outlive its request's deadline (then it is free)
KEY_TTL_MS = 60_000  # politeness keys outlive their last use by this much
HANDOVER_MAX = 8  # requests in a row one slot may serve in a process before Redis sees it
# Seconds a slot given back, when no request of this process waits for it, stays with the
# process for its next request to that origin before it goes back to Redis (see
# ClusterLimiter): the process's own per-host limit lets that request in only once this one
# has returned, a few turns of the event loop later.
PARK_FOR = 0.02
WAKE_BLOCK_MAX = 2.0  # seconds a taker blocks for a wake-up before it looks again itself
WAKE_BLOCK_MIN = 0.01  # ... and at least (BLPOP's 0 would mean "for ever")
# Connections a process may hold blocked on wake lists at once (one per origin waited for);
# the taker of one more origin waits for one of them (a wake-up or a timeout frees it).
BLOCKING_CONNECTIONS = 16
SOCKET_MARGIN = 5.0  # seconds a blocked connection may stay silent past its BLPOP timeout

# KEYS: slots, next, pause, wake. ARGV: token, concurrency, spacing ms, lease ms, key TTL ms.
# 0: granted; > 0: wait this many ms (spacing or a pause); < 0: every slot is taken, the
# earliest lease runs out in -n ms.
ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ready = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'),
                       tonumber(redis.call('GET', KEYS[3]) or '0'))
if ready > now then return ready - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return -math.max(1, tonumber(first[2]) - now)
end
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

# A token on the wake list for each slot given back (at most ``concurrency`` of them wait
# there: a token nobody was waiting for costs one try later, no more).
# KEYS: slots, wake. ARGV: token ('' to wake only), concurrency, key TTL ms.
RELEASE_LUA = """
if ARGV[1] == '' or redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], '1')
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 0
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


def wait_after(answer: int) -> tuple[float, bool]:
    """What the acquire script's answer means for a taker: (seconds to wait, whether to wait
    for a wake-up rather than sleep). 0 is a grant: (0.0, False)."""
    if answer >= 0:
        return answer / 1000, False
    return min(max(-answer / 1000, WAKE_BLOCK_MIN), WAKE_BLOCK_MAX), True


@dataclass(slots=True)
class _Slot:
    token: str
    expires: float  # monotonic time by which Redis frees it at the latest (an early guess)
    reusable: bool  # no spacing to keep: it may pass straight to a waiting request
    concurrency: int  # the origin's: how many wake tokens its list may hold
    uses: int = 0


@dataclass(slots=True)
class _Want:
    """A request of this process waiting for a slot, and the origin's rules for it."""

    future: asyncio.Future[_Slot]
    concurrency: int
    spacing: float
    lease: float


class _WakeLists:
    """Blocking pops on the origins' wake lists, over connections of their own."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._client: aioredis.Redis | None = None

    def _blocking(self) -> aioredis.Redis:
        if self._client is None:
            shared = self._redis.connection_pool
            options = dict(shared.connection_kwargs)
            # a blocked pop is silent until its timeout: the socket may not time out first
            options["socket_timeout"] = options["orig_socket_timeout"] = (
                WAKE_BLOCK_MAX + SOCKET_MARGIN
            )
            pool = aioredis.BlockingConnectionPool(
                connection_class=shared.connection_class,
                max_connections=BLOCKING_CONNECTIONS,
                timeout=None,
                **options,
            )
            self._client = aioredis.Redis.from_pool(pool)
        return self._client

    async def wait(self, key: str, seconds: float) -> bool:
        """Block until a token is on ``key`` (taken: True) or ``seconds`` have passed."""
        return await self._blocking().blpop([key], timeout=seconds) is not None

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


class ClusterLimiter:
    """Slots, spacing and pauses per origin, shared by every process of one run.

    When an origin has no interval, a slot that a request gives back goes straight to a
    request of this process that waits for one (at most :data:`HANDOVER_MAX` times in a
    row, and only early in its lease), saving two round trips to Redis; the number of
    requests in flight cluster-wide is the same. When none waits yet, the slot is *parked*
    for :data:`PARK_FOR` seconds, still leased in Redis, for the process's next request to
    the origin: the Checker's own per-host limit admits that request only after this one
    returned, so without parking every request would take and give back a slot of its own.

    An async context manager: leaving it stops its takers and closes its blocking
    connections.
    """

    def __init__(self, redis: aioredis.Redis, keys: RunKeys, owner: str) -> None:
        self._keys = keys
        self._owner = owner
        self._tokens = itertools.count()
        self._acquire = redis.register_script(ACQUIRE_LUA)
        self._release = redis.register_script(RELEASE_LUA)
        self._pause = redis.register_script(PAUSE_LUA)
        self._wakes = _WakeLists(redis)
        self._waiting: dict[str, deque[_Want]] = defaultdict(deque)
        self._takers: dict[str, asyncio.Task[None]] = {}
        self._paused_until: dict[str, float] = {}  # pauses this process asked for
        self._background: set[asyncio.Task[None]] = set()
        self._parked: dict[str, list[_Slot]] = {}  # slots given back, kept a moment

    async def __aenter__(self) -> ClusterLimiter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        parked = [(host, held) for host, slots in self._parked.items() for held in slots]
        self._parked.clear()
        for host, held in parked:  # now, not when their leases run out
            await self._give_back(host, dataclasses.replace(held, reusable=False), 0)
        tasks = [*self._takers.values(), *self._background]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=WAKE_BLOCK_MAX)
        await self._wakes.aclose()

    @contextlib.asynccontextmanager
    async def slot(
        self, url: str, *, concurrency: int, interval: float, lease: float
    ) -> AsyncIterator[None]:
        """Hold one of the origin's cluster-wide slots for the duration of a request."""
        host = origin(url)
        spaced = spacing(interval)
        held = await self._take(host, _Want(_future(), concurrency, spaced, lease))
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

    async def _take(self, host: str, want: _Want) -> _Slot:
        parked = self._parked.get(host)
        while parked:
            held = parked.pop()
            if self._reusable(host, held, want.lease):
                return held
            self._release_later(host, held)
        queue = self._waiting[host]
        queue.append(want)
        if host not in self._takers:
            self._takers[host] = asyncio.create_task(self._taker(host))
        try:
            return await want.future
        except asyncio.CancelledError:
            future = want.future
            if future.done() and not future.cancelled():  # granted as we were cancelled
                self._release_later(host, future.result())
            raise
        finally:
            with contextlib.suppress(ValueError):
                queue.remove(want)

    def _next_want(self, host: str) -> _Want | None:
        """The request of this process that waits longest for ``host``, if any still does."""
        queue = self._waiting.get(host)
        while queue and queue[0].future.done():
            queue.popleft()
        return queue[0] if queue else None

    async def _taker(self, host: str) -> None:
        """Take slots of ``host`` from Redis for this process's waiting requests, one after
        the other, until none waits; block on the wake list while every slot is taken."""
        slots, wake = self._keys.host(host, "slots"), self._keys.host(host, "wake")
        keys = [slots, self._keys.host(host, "next"), self._keys.host(host, "pause"), wake]
        woken: _Want | None = None  # holds a wake-up it has not used: pass it on if it leaves
        try:
            while (want := self._next_want(host)) is not None:
                token = f"{self._owner}:{next(self._tokens)}"
                args: list[EncodableT] = [
                    token,
                    want.concurrency,
                    round(want.spacing * 1000),
                    round(want.lease * 1000),
                    KEY_TTL_MS,
                ]
                began = time.monotonic()
                answer = int(await self._acquire(keys=keys, args=args))
                seconds, blocking = wait_after(answer)
                if answer <= 0:
                    woken = None  # a grant uses the wake-up; "all taken": another used it
                if answer == 0:
                    granted = _Slot(token, began + want.lease, not want.spacing, want.concurrency)
                    self._grant(host, granted)
                elif not blocking:
                    await asyncio.sleep(seconds)
                elif await self._wakes.wait(wake, seconds):
                    woken = want
        except BaseException as exc:  # Redis failed (the requests fail with it), or closed
            for left in self._waiting.get(host, ()):
                if left.future.done():
                    continue
                if isinstance(exc, Exception):
                    left.future.set_exception(exc)
                else:
                    left.future.cancel()
            raise
        finally:
            if self._takers.get(host) is asyncio.current_task():
                del self._takers[host]
            if woken is not None:  # a slot is free and this process no longer wants it
                args = ["", woken.concurrency, KEY_TTL_MS]
                self._in_background(lambda: self._release(keys=[slots, wake], args=args))

    def _grant(self, host: str, held: _Slot) -> None:
        want = self._next_want(host)
        if want is not None:
            want.future.set_result(held)
        else:  # the request gave up meanwhile: the slot goes back
            self._release_later(host, held)

    def _reusable(self, host: str, held: _Slot, lease: float) -> bool:
        """Whether ``held`` may serve another request of ``lease`` seconds without Redis."""
        now = time.monotonic()
        return (
            held.reusable
            and held.uses < HANDOVER_MAX
            and held.expires - now >= lease - LEASE_MARGIN / 2  # a request fits in its lease
            and self._paused_until.get(host, 0.0) <= now
        )

    async def _give_back(self, host: str, held: _Slot, lease: float) -> None:
        held.uses += 1
        if self._reusable(host, held, lease):
            want = self._next_want(host)
            if want is not None:
                want.future.set_result(held)
            else:
                self._parked.setdefault(host, []).append(held)
                asyncio.get_running_loop().call_later(PARK_FOR, self._unpark, host, held)
            return
        keys = [self._keys.host(host, "slots"), self._keys.host(host, "wake")]
        # A lost release only keeps the slot until its lease runs out.
        with contextlib.suppress(RedisError):
            await self._release(keys=keys, args=[held.token, held.concurrency, KEY_TTL_MS])

    def _unpark(self, host: str, held: _Slot) -> None:
        """A parked slot's time is up: back to Redis, unless a request took it meanwhile."""
        parked = self._parked.get(host, [])
        for index, slot in enumerate(parked):
            if slot is held:
                del parked[index]
                self._release_later(host, held)
                return

    def _release_later(self, host: str, held: _Slot) -> None:
        self._in_background(
            lambda: self._give_back(host, dataclasses.replace(held, reusable=False), 0)
        )

    def _in_background(self, work: Callable[[], Awaitable[object]]) -> None:
        """Run ``work()`` in a task of its own, its Redis errors ignored. The awaitable is
        made in that task: one made before it, in a task cancelled before it started
        (aclose), would be left never awaited."""
        task = asyncio.ensure_future(_quietly(work))
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _future() -> asyncio.Future[_Slot]:
    return asyncio.get_running_loop().create_future()


async def _quietly(work: Callable[[], Awaitable[object]]) -> None:
    with contextlib.suppress(RedisError):
        await work()


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
