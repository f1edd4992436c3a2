"""What a distributed run is doing: counts, queue, and each worker (``linkcheck status``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from linkcheck.distributed.assemble import crawl_stats
from linkcheck.distributed.connection import DistributedError, connect, display_url
from linkcheck.distributed.heartbeat import ALIVE, eta_seconds, task_rate, worker_state
from linkcheck.distributed.keys import GROUP, RunKeys, valid_run_id
from linkcheck.distributed.runs import RUNNING, current_run_id, load_run, server_time


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    name: str
    role: str  # "worker" or "coordinator"
    host: str
    pid: int
    state: str  # "alive", "dead" or "finished" (heartbeat.worker_state)
    last_heartbeat: float  # seconds since its last heartbeat (the Redis server's clock)
    tasks_held: int  # tasks it holds now (pending entries of its consumer)
    tasks_done: int
    pages_done: int  # page tasks among them (pages crawled) ...
    links_done: int  # ... and check tasks (links checked)
    rate: float  # tasks per second since it joined


@dataclass(frozen=True, slots=True)
class RunStatus:
    run_id: str
    status: str
    schema: int
    version: str
    started_at: datetime
    finished_at: str
    start_urls: list[str]
    pages_crawled: int
    links_found: int
    links_checked: int
    problems: int
    waiting: int  # tasks nobody has taken yet
    in_flight: int  # tasks taken and not finished
    lease: float
    grace: float  # seconds without a heartbeat before a worker is dead
    rate: float  # tasks per second: the sum of the live workers' rates
    eta_seconds: float | None  # heartbeat.eta_seconds; None when unknown
    workers: list[WorkerStatus]

    def document(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        return data


async def read_status(redis_url: str, run_id: str | None = None) -> RunStatus:
    """The given run, or the current one; DistributedError when there is none."""
    if run_id is not None and not valid_run_id(run_id):
        raise DistributedError(f"--run {run_id!r}: not a run id")
    async with connect(redis_url) as redis:
        wanted = run_id or await current_run_id(redis)
        info = await load_run(redis, wanted) if wanted else None
        if info is None:
            where = display_url(redis_url)
            raise DistributedError(
                f"no run {run_id} on {where}" if run_id else f"no distributed run on {where}"
            )
        keys = info.keys
        stats = await crawl_stats(redis, keys)
        outstanding = int(await redis.hget(keys.counters, "outstanding") or 0)
        pending = await _pending(redis, keys)
        finished = await redis.hget(keys.meta, "finished_at")
        alive: list[Any] = await redis.zrange(keys.alive, 0, -1, withscores=True)
        beats = {_text(name): float(score) for name, score in alive}
        now = await server_time(redis)
        workers = [
            _worker(_text(name), json.loads(raw), pending, beats, now, info.grace)
            for name, raw in sorted((await redis.hgetall(keys.workers)).items())
        ]
        in_flight = sum(pending.values())
        try:
            start_urls = [str(url) for url in json.loads(info.config).get("start_urls", [])]
        except (ValueError, AttributeError):
            start_urls = []
        rate = sum(worker.rate for worker in workers if worker.state == ALIVE)
        return RunStatus(
            run_id=info.run_id,
            status=info.status,
            schema=info.schema,
            version=info.version,
            started_at=info.started_at,
            finished_at=_text(finished or ""),
            start_urls=start_urls,
            pages_crawled=stats.pages_crawled,
            links_found=stats.links_found,
            links_checked=stats.links_checked,
            problems=stats.problems,
            waiting=max(0, outstanding - in_flight),
            in_flight=in_flight,
            lease=info.lease,
            grace=info.grace,
            rate=rate,
            eta_seconds=eta_seconds(outstanding, rate, info.status == RUNNING),
            workers=workers,
        )


def _worker(
    name: str,
    record: dict[str, Any],
    pending: dict[str, int],
    beats: dict[str, float],
    now: float,
    grace: float,
) -> WorkerStatus:
    """One worker's line: its state from its heartbeat (the alive set while it is in it,
    else the time of its last record)."""
    seen = beats.get(name, float(record.get("seen", now)))
    silent = max(0.0, now - seen)
    done = int(record.get("done", 0))
    return WorkerStatus(
        name=name,
        role=str(record.get("role", "worker")),
        host=str(record.get("host", "")),
        pid=int(record.get("pid", 0)),
        state=worker_state(str(record.get("state", "")), silent, grace),
        last_heartbeat=silent,
        tasks_held=pending.get(name, 0),
        tasks_done=done,
        pages_done=int(record.get("pages", 0)),
        links_done=int(record.get("links", 0)),
        rate=task_rate(done, seen, float(record.get("joined") or seen)),
    )


def status_lines(status: RunStatus) -> list[str]:
    """A few lines for a terminal."""
    lines = [
        f"run {status.run_id}: {status.status}, started {status.started_at:%Y-%m-%d %H:%M:%S %Z}"
        + (f", finished {status.finished_at}" if status.finished_at else "")
        + f" (linkcheck {status.version}, schema {status.schema})",
        "start URLs: " + (", ".join(status.start_urls) or "-"),
        f"pages crawled {status.pages_crawled} · links checked "
        f"{status.links_checked}/{status.links_found} · problems {status.problems}",
        f"tasks: {status.waiting} waiting, {status.in_flight} in flight · "
        + _pace(status.rate, status.eta_seconds),
    ]
    if not status.workers:
        lines.append("workers: none yet")
        return lines
    lines.append(f"workers (dead after {status.grace:g} s without a heartbeat):")
    for worker in status.workers:
        lines.append(
            f"  {worker.name:<32} {worker.role:<11} {worker.state:<8} "
            f"heartbeat {worker.last_heartbeat:5.1f} s ago  holds {worker.tasks_held:>3}  "
            f"done {worker.tasks_done:>6} (pages {worker.pages_done}, links {worker.links_done})"
        )
    return lines


def _pace(rate: float, eta: float | None) -> str:
    """The rate, and the ETA of the tasks known now at that rate (a lower bound: the crawl
    finds more as it goes)."""
    if rate <= 0:
        return "rate unknown, ETA unknown"
    return f"{rate:.1f} tasks/s, " + (
        "ETA unknown" if eta is None else f"ETA ≥ {_duration(eta)} (the tasks known now)"
    )


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


async def _pending(redis: aioredis.Redis, keys: RunKeys) -> dict[str, int]:
    """Tasks held per consumer (XPENDING's summary)."""
    try:
        summary = await redis.xpending(keys.tasks, GROUP)
    except ResponseError:  # no stream or group yet: nothing is held
        return {}
    consumers = summary.get("consumers") if isinstance(summary, dict) else None
    return {str(item["name"]): int(item["pending"]) for item in consumers or []}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
