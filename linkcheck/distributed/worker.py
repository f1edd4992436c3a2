"""A worker: join a run, take tasks from its stream, do them, commit them, leave when done.

``linkcheck worker --redis URL [--run ID]`` runs one; the coordinator runs one in-process
too. A worker keeps up to ``concurrency`` tasks in flight (the Checker still bounds the
requests), renews their leases while it works, and takes over tasks whose lease ran out
(their worker died). A task waiting for its recheck (``recheck_delay``, see
linkcheck.distributed.pipeline) keeps its lease but not its slot: the worker takes
another task meanwhile. It leaves when the run's queue is empty, or when the coordinator says
the run is over (max_duration), abandoning nothing that is not reclaimed by others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from linkcheck._version import __version__
from linkcheck.config import ConfigError
from linkcheck.distributed.connection import (
    DistributedError,
    connect,
    describe,
    display_url,
    redis_failure,
)
from linkcheck.distributed.heartbeat import LEFT, WORKING, Heartbeats, beat_every
from linkcheck.distributed.identity import RunGuard, lost_state
from linkcheck.distributed.keys import DEFAULT_WAIT, valid_run_id
from linkcheck.distributed.pipeline import TaskPipeline
from linkcheck.distributed.politeness import ClusterLimiter, PoliteTransport
from linkcheck.distributed.queue import CommitWriter, Task, TaskQueue
from linkcheck.distributed.runs import (
    JOINABLE,
    OVER,
    RunInfo,
    check_schema,
    current_run_id,
    load_run,
    process_name,
)
from linkcheck.distributed.settings import config_from_json
from linkcheck.http import HttpClient
from linkcheck.lifecycle import cancel_on_signals
from linkcheck.retry import delivered_too_often
from linkcheck.wiring import address_policy, host_rules, make_checker

log = logging.getLogger(__name__)

# Seconds between looks for the run a worker waits for: a run's first pages wait for its
# workers this long at most (two reads each time; Redis serves a waiting fleet's easily).
JOIN_POLL = 0.05

IDLE_BLOCK_MS = 200  # how long one read waits for new work when there is none in hand
BUSY_BLOCK_MS = 20  # ... and while tasks are in flight (to notice them finish soon)
STATE_EVERY = 1.0  # seconds between looks at the run's status while busy
STOP_GRACE = 10.0  # seconds to let tasks in hand wind down when the worker leaves


@dataclass(frozen=True, slots=True)
class WorkerSummary:
    run_id: str
    name: str
    tasks_done: int
    reason: str  # why it left, for the one line the command prints
    interrupted_by: str = ""  # "SIGINT"/"SIGTERM" when a signal stopped it


class Worker:
    """The task loop of one process (a ``linkcheck worker``, or the coordinator's own)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        info: RunInfo,
        queue: TaskQueue,
        pipeline: TaskPipeline,
        name: str,
        *,
        capacity: int,
        role: str = "worker",
    ) -> None:
        self._redis = redis
        self._info = info
        self._queue = queue
        self._pipeline = pipeline
        self.name = name
        self._capacity = max(1, capacity)
        self._role = role
        self._lease_ms = max(1, round(info.lease * 1000))
        self._inflight: dict[str, asyncio.Task[None]] = {}
        # commits written in groups; page tasks deeper than the run's level held (leased)
        self._commits = CommitWriter(queue)
        self._pausing = 0  # tasks in hand waiting for their recheck (holding no slot)
        self._freed = asyncio.Event()  # set when a task starts such a wait
        self._stopping = asyncio.Event()
        self.tasks_done = 0
        self.pages_done = 0  # page tasks (crawled) and check tasks (links) among them
        self.links_done = 0
        self.reason = ""
        self._beats = Heartbeats(redis, info.keys, info.grace)
        self._guard = RunGuard(redis, info.keys, info.token)
        self._joined = 0.0  # server time of the first heartbeat

    async def run(self) -> int:
        """Work until the run is over; returns the number of tasks this worker did."""
        await self._record(WORKING)
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._loop()
        finally:
            # Cancelling is not enough on its own: a cancellation that arrives inside the
            # Redis client can be swallowed there, so the heartbeat also watches a flag,
            # and nothing here waits for the tasks without a bound.
            self._stopping.set()
            pending = [heartbeat, *self._inflight.values(), *self._commits.writing()]
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=STOP_GRACE)
            for task in pending:  # failures beside the one that ends the worker: not logged
                if task.done() and not task.cancelled():
                    task.exception()
        await self._beats.reap(self.name, LEFT)  # what it still holds goes back at once
        await self._record(LEFT)
        return self.tasks_done

    async def _loop(self) -> None:
        last_claim = last_state = 0.0
        claim_every = max(0.2, self._info.lease / 4)
        while True:
            self._reap()
            held = self._commits.holding(idle=not self._inflight)
            free = self._capacity - self._busy
            tasks: list[Task] = []
            now = time.monotonic()
            if free > 0 and now - last_claim >= claim_every:
                last_claim = now
                tasks = await self._reclaimed(free)
            if free - held - len(tasks) > 0:
                idle = not self._inflight and not self._commits.held
                block = None if tasks else (IDLE_BLOCK_MS if idle else BUSY_BLOCK_MS)
                read = await self._queue.read(self.name, free - held - len(tasks), block)
                tasks += await self._not_poison(read, {})
            tasks = self._commits.runnable(tasks)  # breadth first: deeper pages wait
            tasks = await self._queue.shortest(tasks)
            for task in tasks:
                self._inflight[task.id] = asyncio.create_task(self._do(task))
            if not tasks and not self._inflight and not self._commits.held:
                if await self._over():
                    return
                last_state = time.monotonic()
            elif time.monotonic() - last_state >= STATE_EVERY:
                last_state = time.monotonic()
                if await self._over(stopping_only=True):
                    return
            if not tasks and not self._inflight and self._commits.held:
                await self._commits.refresh(BUSY_BLOCK_MS / 1000)  # the level's pages: elsewhere
            elif self._busy >= self._capacity or (free - held <= 0 and self._inflight):
                self._freed.clear()
                freed = asyncio.ensure_future(self._freed.wait())
                try:
                    await asyncio.wait(
                        [*self._inflight.values(), freed],
                        return_when=asyncio.FIRST_COMPLETED,
                        timeout=1.0,
                    )
                finally:
                    freed.cancel()

    @property
    def _busy(self) -> int:
        """The tasks in hand that hold a concurrency slot (not waiting for a recheck)."""
        return len(self._inflight) - self._pausing

    def _reap(self) -> None:
        """Drop finished tasks; a failed one (a bug, or Redis gone) ends the worker."""
        for task_id, task in list(self._inflight.items()):
            if task.done():
                del self._inflight[task_id]
                task.result()

    async def _do(self, task: Task) -> None:
        commit = await self._pipeline.run(task, self._pause)
        self._pipeline.define(commit)  # just before it is queued: see TaskPipeline.define
        await self._commits.commit(commit, task)
        self._pipeline.committed(commit)
        self.tasks_done += 1
        if task.kind == "page":
            self.pages_done += 1
        elif task.kind == "check":
            self.links_done += 1

    async def _pause(self, seconds: float) -> None:
        """A task's wait for its recheck: its slot is free meanwhile (its lease is still
        renewed). Once it is over the task may run above ``capacity`` for a moment; the
        Checker's own limit still bounds the requests."""
        self._pausing += 1
        self._freed.set()
        try:
            await asyncio.sleep(seconds)
        finally:
            self._pausing -= 1

    async def _reclaimed(self, count: int) -> list[Task]:
        known = self._inflight.keys() | self._commits.held.keys()
        tasks = await self._lost(count, known)
        taken = await self._queue.reclaim(self.name, self._lease_ms, max(1, count - len(tasks)))
        if taken:
            log.info("%s took over %d task(s) whose lease ran out", self.name, len(taken))
        known |= {task.id for task in tasks}
        tasks += [task for task in taken if task.id not in known]  # never one task twice
        if not tasks:
            return []
        return await self._not_poison(
            tasks, await self._queue.deliveries([task.id for task in tasks])
        )

    async def _lost(self, count: int, known: set[str]) -> list[Task]:
        """Tasks handed to this worker that it never received: Redis wrote the hand-out
        (and kept it, restarted from its append-only file) but the reply was lost with the
        connection. Nobody else would take them before their lease ran out (this worker
        beats, and renews the leases of what it holds), so the run would stall that long.
        ``known``: the ids of the tasks it holds."""
        handed = await self._queue.handed(self.name, count + len(known))
        lost = await self._queue.take(self.name, [i for i in handed if i not in known][:count])
        if lost:
            log.warning(
                "%s: %d task(s) handed to it were never received (Redis restarted?): "
                "taking them now",
                self.name,
                len(lost),
            )
        return lost

    async def _not_poison(self, tasks: list[Task], deliveries: dict[str, int]) -> list[Task]:
        """The tasks to do; one handed out too often (counting the hand-outs before a dead
        worker's task was put back, ``tries``) is recorded as given up instead."""
        kept = []
        for task in tasks:
            times = deliveries.get(task.id, 1) + task.tries
            if delivered_too_often(times):
                log.warning("giving up on %s %s after %d tries", task.kind, task.url, times)
                await self._queue.commit(self._pipeline.gave_up(task, times), ack=task)
            else:
                kept.append(task)
        return kept

    async def _over(self, *, stopping_only: bool = False) -> bool:
        """Whether to leave: the coordinator ended the run, or (idle) no work is left."""
        status = await self._guard.check()  # raises StateLost when Redis lost the run
        if status not in JOINABLE:
            self.reason = f"the run is {status}"
            return True
        if not stopping_only and await self._queue.outstanding() <= 0:
            self.reason = "the run has no work left"
            return True
        return False

    async def _heartbeat(self) -> None:
        """Say that this worker is alive, renew the leases of the tasks in hand, and put
        back the tasks of workers silent for longer than the grace (linkcheck.distributed
        .heartbeat). A task of its own: however slow a task is, the beats go on."""
        every = beat_every(self._info.grace, self._info.lease)
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), every)
                return
            await self._record(WORKING)
            await self._queue.renew(self.name, [*self._inflight, *self._commits.held])
            reaped = await self._beats.reap()
            if reaped.workers:
                log.warning(
                    "%s: %s silent for over %g s, declared dead: %d task(s) back in the queue",
                    self.name,
                    ", ".join(reaped.workers),
                    self._info.grace,
                    reaped.tasks,
                )

    async def _record(self, state: str) -> None:
        now = await self._beats.beat(
            self.name,
            state,
            {
                "role": self._role,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "version": __version__,
                "joined": self._joined,
                "done": self.tasks_done,
                "pages": self.pages_done,
                "links": self.links_done,
                "in_flight": len(self._inflight) + len(self._commits.held),
            },
        )
        self._joined = self._joined or now


async def run_worker(
    redis_url: str,
    *,
    run_id: str | None = None,
    concurrency: int | None = None,
    wait: float = DEFAULT_WAIT,
    handle_signals: bool = False,
    waiting: Callable[[str], None] | None = None,
) -> WorkerSummary:
    """Join ``run_id`` (default: the current run, waiting up to ``wait`` s for one), work
    until it is done, and say why the worker left.

    Raises :class:`DistributedError` (one line) when Redis is unreachable or lost, the run
    does not exist, or it was written by another schema version. ``waiting`` is given one
    line when the run is not there yet and the worker waits for it.
    """
    if run_id is not None and not valid_run_id(run_id):
        raise DistributedError(f"--run {run_id!r}: not a run id")
    name = process_name("worker")
    main = asyncio.current_task()
    received: list[signal.Signals] = []
    removers = cancel_on_signals(main, received) if handle_signals and main is not None else []
    try:
        async with connect(redis_url) as redis:
            info = await _join(redis, redis_url, run_id, wait, _once(name, waiting))
            try:
                return await _work(redis, info, name, concurrency)
            except Exception as exc:
                gone = lost_state(exc, info.run_id)
                if gone is not None:
                    raise DistributedError(f"worker {name} stopped: {gone}") from None
                lost = redis_failure(exc)
                if lost is None:
                    raise
                raise DistributedError(
                    f"lost Redis at {display_url(redis_url)} ({describe(lost)}): worker {name} "
                    f"stopped; other workers take over its tasks after {info.grace:g} s"
                ) from None
    except asyncio.CancelledError:
        if not received:
            raise
        return WorkerSummary(
            run_id or "", name, 0, f"stopped by {received[0].name}", received[0].name
        )
    finally:
        for remove in removers:
            remove()


async def _work(
    redis: aioredis.Redis, info: RunInfo, name: str, concurrency: int | None
) -> WorkerSummary:
    if info.status in OVER:
        return WorkerSummary(info.run_id, name, 0, f"run {info.run_id} is {info.status}")
    try:
        config = config_from_json(info.config, source=f"run {info.run_id}")
    except ConfigError as exc:
        raise DistributedError(f"cannot join run {info.run_id}: {exc}") from None
    if concurrency:
        config = dataclasses.replace(
            config, http=dataclasses.replace(config.http, concurrency=concurrency)
        )
    async with (
        HttpClient(config.http, policy=address_policy(config)) as client,
        ClusterLimiter(redis, info.keys, name) as limiter,
    ):
        rules = host_rules(config)
        transport = PoliteTransport(
            client, limiter, rules, retry_max_wait=config.http.retry_max_wait
        )
        checker = make_checker(config, transport, rules)
        queue = TaskQueue(
            redis,
            info.keys,
            max_pages=config.crawl.max_pages,
            max_queries_per_path=config.crawl.max_queries_per_path,
            token=info.token,
        )
        worker = Worker(
            redis,
            info,
            queue,
            TaskPipeline(config, checker, queue),
            name,
            capacity=config.http.concurrency,
        )
        done = await worker.run()
    return WorkerSummary(info.run_id, name, done, worker.reason or "the run is over")


async def _join(
    redis: aioredis.Redis,
    redis_url: str,
    run_id: str | None,
    wait: float,
    waiting: Callable[[str], None],
) -> RunInfo:
    """The run to work on: the given one, or the current one; waits for it to appear."""
    deadline = time.monotonic() + wait
    where = display_url(redis_url)
    while True:
        wanted = run_id or await current_run_id(redis)
        info = await load_run(redis, wanted) if wanted else None
        if info is not None:
            check_schema(info)
            # Without --run a finished current run is not ours: wait for the next one.
            if run_id is not None or info.status in JOINABLE:
                await RunGuard(redis, info.keys, info.token).check()  # still the run it was
                return info
        if time.monotonic() >= deadline:
            if run_id is not None:
                raise DistributedError(f"no run {run_id} on {where}")
            raise DistributedError(
                f"no run in progress on {where} (start one with: linkcheck run --redis {where})"
            )
        awaited = f"run {run_id}" if run_id is not None else "the next run"
        if info is not None:  # the current run is over
            awaited += f" (run {info.run_id} is {info.status})"
        waiting(f"waiting up to {wait:g} s for {awaited} on {where}")
        await asyncio.sleep(JOIN_POLL)


def _once(name: str, say: Callable[[str], None] | None) -> Callable[[str], None]:
    """``say``, called the first time only, with the worker's name in front."""
    said: list[str] = []

    def once(line: str) -> None:
        if say is not None and not said:
            said.append(line)
            say(f"worker {name}: {line}")

    return once
