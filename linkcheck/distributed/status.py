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
from linkcheck.distributed.keys import GROUP, RunKeys, valid_run_id
from linkcheck.distributed.runs import current_run_id, load_run, server_time

SILENT_AFTER = 3  # leases without a heartbeat: the worker is presumably gone


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    name: str
    role: str  # "worker" or "coordinator"
    host: str
    pid: int
    state: str  # "working" or "left"
    tasks_done: int
    in_flight: int  # tasks it holds now (pending entries of its consumer)
    last_seen: float  # seconds since its last heartbeat


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
        now = await server_time(redis)
        workers = []
        for name, raw in sorted((await redis.hgetall(keys.workers)).items()):
            record = json.loads(raw)
            workers.append(
                WorkerStatus(
                    name=str(name),
                    role=str(record.get("role", "worker")),
                    host=str(record.get("host", "")),
                    pid=int(record.get("pid", 0)),
                    state=str(record.get("state", "")),
                    tasks_done=int(record.get("done", 0)),
                    in_flight=pending.get(str(name), 0),
                    last_seen=max(0.0, now - float(record.get("seen", now))),
                )
            )
        in_flight = sum(pending.values())
        try:
            start_urls = [str(url) for url in json.loads(info.config).get("start_urls", [])]
        except (ValueError, AttributeError):
            start_urls = []
        return RunStatus(
            run_id=info.run_id,
            status=info.status,
            schema=info.schema,
            version=info.version,
            started_at=info.started_at,
            finished_at=str(finished or ""),
            start_urls=start_urls,
            pages_crawled=stats.pages_crawled,
            links_found=stats.links_found,
            links_checked=stats.links_checked,
            problems=stats.problems,
            waiting=max(0, outstanding - in_flight),
            in_flight=in_flight,
            lease=info.lease,
            workers=workers,
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
        f"tasks: {status.waiting} waiting, {status.in_flight} in flight",
    ]
    if not status.workers:
        lines.append("workers: none yet")
        return lines
    lines.append("workers:")
    for worker in status.workers:
        state = worker.state
        if state == "working" and worker.last_seen > SILENT_AFTER * status.lease:
            state = "silent (gone?)"
        lines.append(
            f"  {worker.name:<32} {worker.role:<11} {state:<15} done {worker.tasks_done:>6}  "
            f"in flight {worker.in_flight:>3}  seen {worker.last_seen:.1f} s ago"
        )
    return lines


async def _pending(redis: aioredis.Redis, keys: RunKeys) -> dict[str, int]:
    """Tasks held per consumer (XPENDING's summary)."""
    try:
        summary = await redis.xpending(keys.tasks, GROUP)
    except ResponseError:  # no stream or group yet: nothing is held
        return {}
    consumers = summary.get("consumers") if isinstance(summary, dict) else None
    return {str(item["name"]): int(item["pending"]) for item in consumers or []}
