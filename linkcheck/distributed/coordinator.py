"""The coordinator: seed a distributed run, work on it too, and write the run's result.

``linkcheck run --redis URL`` calls :func:`run_distributed`. The coordinator records the run
(its settings as JSON, the schema version), seeds the start URLs and the sitemap task,
works like any worker, and watches the queue. When no task is left it assembles everything
the workers committed into a crawl state (:mod:`linkcheck.distributed.assemble`) and finishes
the run with the single-machine stages: :mod:`linkcheck.finish` (re-checks, soft 404s,
fragments, findings, orphans, limits, history and baseline) and :mod:`linkcheck.lifecycle`
(the deadline, signals, progress). The RunResult is the one ``run_check`` returns for the
same site.

A run is resumable: started again with the same ``run_id`` (after Ctrl-C, a crash, or Redis
coming back), a coordinator takes the run over from Redis — done tasks stay done, the
tasks its predecessor held go to the workers when their lease runs out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from datetime import UTC, datetime
from typing import TypedDict, Unpack

import redis.asyncio as aioredis

from linkcheck.baseline import Baseline, load_baseline
from linkcheck.checker import Checker
from linkcheck.checkpoint import checkpoint_key
from linkcheck.config import Config, ConfigError
from linkcheck.crawl_state import CrawlStats
from linkcheck.crawler import Crawler
from linkcheck.distributed.assemble import assemble, crawl_stats
from linkcheck.distributed.connection import (
    DistributedError,
    connect,
    describe,
    display_url,
    redis_failure,
)
from linkcheck.distributed.heartbeat import REAP_EVERY, Heartbeats
from linkcheck.distributed.identity import RunGuard, lost_state
from linkcheck.distributed.keys import DEFAULT_GRACE, DEFAULT_LEASE, new_run_id, valid_run_id
from linkcheck.distributed.pipeline import TaskPipeline
from linkcheck.distributed.politeness import ClusterLimiter, PoliteTransport
from linkcheck.distributed.queue import Commit, TaskQueue
from linkcheck.distributed.runs import (
    DONE,
    FINISHING,
    KEEP_DAYS,
    RUNNING,
    STOPPED,
    RunInfo,
    check_schema,
    create_run,
    expire_run,
    load_run,
    make_current,
    process_name,
    set_status,
)
from linkcheck.distributed.settings import config_to_json
from linkcheck.distributed.worker import Worker
from linkcheck.finish import RunFacts, crawl_and_finish, run_result
from linkcheck.http import HttpClient
from linkcheck.lifecycle import ProgressCallback, open_store, run_until_done, start_urls, ticking
from linkcheck.models import RunResult, run_tables
from linkcheck.store import Store
from linkcheck.wiring import address_policy, host_rules, make_checker, make_robots

log = logging.getLogger(__name__)

MONITOR_EVERY = 0.1  # seconds between looks at the queue
REFRESH_EVERY = 600.0  # seconds between pushes of the run's expiry while it runs
CHECK_EVERY = 1.0  # seconds between checks that Redis still holds the run


class CoordinatorOptions(TypedDict, total=False):
    """:func:`run_coordinator`'s keyword options, named once for :func:`run_distributed`
    (their defaults and meaning are run_coordinator's)."""

    run_id: str | None
    progress: ProgressCallback | None
    handle_signals: bool
    work: bool
    lease: float
    grace: float
    timings: dict[str, float] | None
    resume: bool


def run_distributed(
    config: Config, redis_url: str, **options: Unpack[CoordinatorOptions]
) -> RunResult:
    """:func:`run_coordinator`, for callers without an event loop (the CLI)."""
    return asyncio.run(run_coordinator(config, redis_url, **options))


async def run_coordinator(
    config: Config,
    redis_url: str,
    *,
    run_id: str | None = None,
    progress: ProgressCallback | None = None,
    handle_signals: bool = False,
    work: bool = True,
    lease: float = DEFAULT_LEASE,
    grace: float = DEFAULT_GRACE,
    timings: dict[str, float] | None = None,
    resume: bool = False,
) -> RunResult:
    """Run (or resume, given the ``run_id`` of an unfinished run) a check shared by workers.

    ``work=False`` only coordinates (the workers do every task). ``lease`` is how long a
    worker may stay silent before its tasks go to others (a new run's setting; a resumed
    run keeps its own). ``grace``: how long a worker may miss its heartbeats before it is
    declared dead and its tasks are put back in the queue (a new run's setting too;
    linkcheck.distributed.heartbeat). ``timings``, when given, is filled with the seconds
    spent per phase.
    ``resume=True`` only continues: a ``run_id`` that Redis does not hold is an error, not a
    new run (``linkcheck run --run ID``); otherwise a ``run_id`` names a new run, or
    continues the one Redis holds.
    Raises :class:`DistributedError` (a ConfigError: one line, exit code 2) when Redis is
    unreachable or lost (the run can then be resumed with its id), or when Redis no longer
    holds the run's state (linkcheck.distributed.identity: it cannot be).
    """
    if config.local.root:
        raise ConfigError(
            "a folder cannot be checked by several machines (the workers would need the "
            "same files): check it with a single run, without --redis"
        )
    urls = start_urls(config)
    if run_id is not None and not valid_run_id(run_id):
        raise DistributedError(
            f"--run {run_id!r}: a run id is 1-64 letters, digits, '.', '_' or '-'"
        )
    if lease <= 0:
        raise ConfigError(f"the lease must be more than 0 seconds, got {lease:g}")
    if grace <= 0:
        raise ConfigError(f"the grace must be more than 0 seconds, got {grace:g}")
    config = dataclasses.replace(config, start_urls=tuple(urls))
    baseline = load_baseline(config.cache.baseline)
    store = open_store(config)
    try:
        # this run's occurrence tables (and its in-process worker's): none of an earlier
        # run's, as in runner.run_check_async (models.run_tables)
        with run_tables(config.crawl.occurrences_in_memory):
            async with connect(redis_url) as redis:
                coordinator = _Coordinator(redis, config, baseline, store, timings, resume)
                try:
                    return await coordinator.run(
                        run_id,
                        lease=lease,
                        grace=grace,
                        work=work,
                        progress=progress,
                        handle_signals=handle_signals,
                    )
                except Exception as exc:
                    gone = lost_state(exc, coordinator.run_id)
                    if gone is not None:
                        raise DistributedError(str(gone)) from None
                    lost = redis_failure(exc)
                    if lost is None:
                        raise
                    raise DistributedError(
                        f"lost Redis at {display_url(redis_url)} mid-run ({describe(lost)}): "
                        f"when it is back, start the coordinator again with --run "
                        f"{coordinator.run_id} to continue"
                    ) from None
    finally:
        if store is not None:
            store.close()


class _Coordinator:
    def __init__(
        self,
        redis: aioredis.Redis,
        config: Config,
        baseline: Baseline,
        store: Store | None,
        timings: dict[str, float] | None,
        resume: bool = False,
    ) -> None:
        self._redis = redis
        self._resume = resume  # only continue a run Redis holds
        self._guard: RunGuard | None = None  # set once the run is open
        self._config = config
        self._baseline = baseline
        self._store = store
        self._timings = timings if timings is not None else {}
        self._name = process_name("coordinator")
        self.run_id = ""

    async def run(
        self,
        run_id: str | None,
        *,
        lease: float,
        grace: float,
        work: bool,
        progress: ProgressCallback | None,
        handle_signals: bool,
    ) -> RunResult:
        began = time.monotonic()
        info = await self._open(run_id, lease, grace)
        config = self._config
        keys = info.keys
        async with (
            HttpClient(config.http, policy=address_policy(config)) as client,
            ClusterLimiter(self._redis, keys, self._name) as limiter,
        ):
            rules = host_rules(config)
            transport = PoliteTransport(
                client, limiter, rules, retry_max_wait=config.http.retry_max_wait
            )
            checker = make_checker(config, transport, rules)
            queue = TaskQueue(
                self._redis,
                keys,
                max_pages=config.crawl.max_pages,
                max_queries_per_path=config.crawl.max_queries_per_path,
                token=info.token,
            )
            if not info.seeded:
                await self._seed(queue)
            if info.status != RUNNING:
                await set_status(self._redis, keys, RUNNING)
            await make_current(self._redis, info.run_id)
            self._timings["setup"] = time.monotonic() - began
            crawler = Crawler(config, checker, make_robots(config, checker))
            restored: list[bool] = []
            task = asyncio.create_task(
                self._everything(info, queue, checker, crawler, restored, work, progress)
            )
            ending = await run_until_done(
                task, deadline=config.crawl.max_duration or None, handle_signals=handle_signals
            )
            if ending.out_of_time:
                await set_status(self._redis, keys, STOPPED)
            if not restored:  # stopped before the crawl was complete: report what was done
                await self._check()
                await assemble(self._redis, keys, crawler.state, soft_404=config.checks.soft_404)
        if progress is not None:
            progress(crawler.stats)
        unfinished = (
            f"distributed run {info.run_id} did not finish: continue it with --run {info.run_id}"
        )
        run = run_result(
            crawler.state,
            RunFacts(config, info.started_at, self._store, self._baseline),
            ending,
            notes=None if ending.finished else [unfinished],
        )
        if ending.finished:
            await set_status(self._redis, keys, DONE, finished_at=run.finished_at.isoformat())
            await expire_run(self._redis, keys)
        self._timings["total"] = time.monotonic() - began
        return run

    async def _open(self, run_id: str | None, lease: float, grace: float) -> RunInfo:
        """Create the run, or take over the one with this id (same settings only)."""
        config = self._config
        key = checkpoint_key(config)
        self.run_id = run_id or new_run_id()
        info = await load_run(self._redis, self.run_id)
        if info is None and self._resume:
            raise DistributedError(
                f"no run {self.run_id} in Redis: it was lost (Redis restarted without "
                "persistence, or failed over to a replica that was behind), its keys expired "
                f"{KEEP_DAYS} days after it ended, or the id is wrong; a lost run cannot be "
                "continued: start a new run without --run"
            )
        if info is None:
            started = datetime.now(UTC)
            created = await create_run(
                self._redis,
                self.run_id,
                config_json=config_to_json(config),
                config_key=key,
                lease=lease,
                coordinator=self._name,
                started_at=started,
                grace=grace,
            )
            info = await load_run(self._redis, self.run_id)
            if info is None or (not created and info.coordinator != self._name):
                raise DistributedError(f"run {self.run_id} was just started by someone else")
            log.info("run %s created", self.run_id)
            await TaskQueue(self._redis, info.keys, max_pages=1).create_group()
            self._guard = RunGuard(self._redis, info.keys, info.token)
            return info
        check_schema(info)
        self._guard = RunGuard(self._redis, info.keys, info.token)
        await self._guard.check()  # still the run it was (not one Redis lost and half-rebuilt)
        if info.config_key != key:
            raise DistributedError(
                f"run {self.run_id} was started with other settings (start URLs, [crawl], "
                "[http], [checks], [hosts] or remap): resume it with the same ones, or start "
                "a new run without --run"
            )
        log.info("run %s resumed (it was %s)", self.run_id, info.status)
        return info

    async def _seed(self, queue: TaskQueue) -> None:
        """The start pages and the sitemap task, once: the same commit marks the run seeded."""
        commit = Commit()
        for url in self._config.start_urls:
            commit.discovered(url, internal=True, kind="seed", depth=0)
        checks = self._config.checks
        if checks.sitemaps or checks.sitemap_urls:
            commit.task("sitemaps", "", 0)
        commit.meta("seeded", "1")
        await queue.create_group()
        await queue.commit(commit)

    async def _everything(
        self,
        info: RunInfo,
        queue: TaskQueue,
        checker: Checker,
        crawler: Crawler,
        restored: list[bool],
        work: bool,
        progress: ProgressCallback | None,
    ) -> None:
        """The cluster's crawl, then the finishing stage (cancellable as one)."""
        began = time.monotonic()
        async with asyncio.TaskGroup() as group:
            if work:
                worker = Worker(
                    self._redis,
                    info,
                    queue,
                    TaskPipeline(self._config, checker, queue),
                    self._name,
                    capacity=self._config.http.concurrency,
                    role="coordinator",
                )
                group.create_task(worker.run())
            async with ticking(progress, functools.partial(crawl_stats, self._redis, info.keys)):
                await self._monitor(queue, info)
        crawled = time.monotonic()
        self._timings["crawl"] = crawled - began
        await self._check()
        await set_status(self._redis, info.keys, FINISHING)
        await assemble(self._redis, info.keys, crawler.state, soft_404=self._config.checks.soft_404)
        await self._check()  # what was read is the run's, whole
        restored.append(True)
        assembled = time.monotonic()
        self._timings["assemble"] = assembled - crawled

        async def crawler_stats() -> CrawlStats:
            return crawler.stats

        async with ticking(progress, crawler_stats):
            await crawl_and_finish(crawler, resumed=True)
        self._timings["finish"] = time.monotonic() - assembled

    async def _monitor(self, queue: TaskQueue, info: RunInfo) -> None:
        """Until no task is left anywhere, the run's expiry pushed forward and the tasks of
        dead workers put back in the queue (linkcheck.distributed.heartbeat)."""
        beats = Heartbeats(self._redis, info.keys, info.grace)
        last_refresh = last_reap = last_check = 0.0
        while True:
            now = time.monotonic()
            if now - last_refresh >= REFRESH_EVERY:
                last_refresh = now
                await expire_run(self._redis, info.keys)
            if now - last_reap >= REAP_EVERY:
                last_reap = now
                reaped = await beats.reap()
                if reaped.workers:
                    log.warning(
                        "%s silent for over %g s, declared dead: %d task(s) back in the queue",
                        ", ".join(reaped.workers),
                        info.grace,
                        reaped.tasks,
                    )
            if now - last_check >= CHECK_EVERY:
                last_check = now
                await self._check()
            if await queue.outstanding() <= 0:
                await self._check()  # an empty Redis has no work left either
                return
            await asyncio.sleep(MONITOR_EVERY)

    async def _check(self) -> None:
        """Raise StateLost when Redis no longer holds the run (linkcheck.distributed.identity)."""
        if self._guard is not None:
            await self._guard.check()
