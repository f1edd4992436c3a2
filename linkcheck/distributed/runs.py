"""A run's record in Redis: its settings, schema version, status and who works on it.

Statuses: ``running`` (seeded; workers welcome), ``stopped`` (max_duration ran out; can be
resumed), ``finishing`` (the queue is empty; the coordinator assembles the report) and
``done``. Keys of a run expire :data:`KEEP_DAYS` after it ends; while it runs, the
coordinator keeps pushing the expiry forward, so an abandoned run cleans itself up too.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.typing import EncodableT

from linkcheck._version import __version__
from linkcheck.distributed.connection import DistributedError
from linkcheck.distributed.identity import TOKEN_FIELD, new_token
from linkcheck.distributed.keys import (
    CURRENT_KEY,
    DEFAULT_GRACE,
    GROUP,
    RUNS_KEY,
    SCHEMA_VERSION,
    RunKeys,
)

KEEP_DAYS = 7
KEEP_SECONDS = KEEP_DAYS * 86_400
RUNNING = "running"
STOPPED = "stopped"
FINISHING = "finishing"
DONE = "done"
JOINABLE = frozenset({RUNNING})
OVER = frozenset({FINISHING, DONE})

# The run's record and its task queue in one step: a run is never seen without its queue
# (linkcheck.distributed.identity checks both).
_CREATE_LUA = f"""
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
redis.pcall('XGROUP', 'CREATE', KEYS[2], '{GROUP}', '0', 'MKSTREAM')
return 1
"""


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    status: str
    schema: int
    version: str  # the linkcheck version that created it
    config: str  # JSON (see linkcheck.distributed.settings)
    config_key: str  # linkcheck.checkpoint.checkpoint_key of that config
    started_at: datetime
    lease: float  # seconds before a silent worker's tasks go to others
    seeded: bool
    coordinator: str
    grace: float = DEFAULT_GRACE  # seconds without a heartbeat before a worker is dead
    token: str = ""  # the run's identity in Redis (linkcheck.distributed.identity)

    @property
    def keys(self) -> RunKeys:
        return RunKeys(self.run_id)


def check_schema(info: RunInfo) -> None:
    """A run written by another layout version cannot be read safely: refuse, say why."""
    if info.schema != SCHEMA_VERSION:
        raise DistributedError(
            f"run {info.run_id} uses schema version {info.schema} (linkcheck {info.version}); "
            f"this linkcheck ({__version__}) reads version {SCHEMA_VERSION}: run the same "
            "linkcheck version on every machine"
        )


async def load_run(redis: aioredis.Redis, run_id: str) -> RunInfo | None:
    meta = await redis.hgetall(RunKeys(run_id).meta)
    if not meta:
        return None
    values = {_text(k): _text(v) for k, v in meta.items()}
    try:
        schema = int(values.get("schema", "0"))
    except ValueError:
        schema = 0
    return RunInfo(
        run_id=run_id,
        status=values.get("status", ""),
        schema=schema,
        version=values.get("version", "?"),
        config=values.get("config", ""),
        config_key=values.get("config_key", ""),
        started_at=_when(values.get("started_at")),
        lease=float(values.get("lease") or 60),
        seeded=values.get("seeded") == "1",
        coordinator=values.get("coordinator", ""),
        grace=float(values.get("grace") or DEFAULT_GRACE),
        token=values.get(TOKEN_FIELD, ""),
    )


async def run_status(redis: aioredis.Redis, keys: RunKeys) -> str | None:
    """Just the status (cheap: the loops of every worker ask it often)."""
    value = await redis.hget(keys.meta, "status")
    return _text(value) if value is not None else None


async def create_run(
    redis: aioredis.Redis,
    run_id: str,
    *,
    config_json: str,
    config_key: str,
    lease: float,
    coordinator: str,
    started_at: datetime,
    grace: float = DEFAULT_GRACE,
) -> bool:
    """Record a new run (status running, not seeded yet); False when the id is taken."""
    fields: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "version": __version__,
        "config": config_json,
        "config_key": config_key,
        "status": RUNNING,
        "started_at": started_at.isoformat(),
        "lease": lease,
        "grace": grace,
        "coordinator": coordinator,
        TOKEN_FIELD: new_token(),
    }
    args = [str(item) for pair in fields.items() for item in pair]
    keys = RunKeys(run_id)
    created = await redis.eval(_CREATE_LUA, 2, keys.meta, keys.tasks, *args)
    if created:
        moment = started_at.timestamp()
        await redis.zadd(RUNS_KEY, {run_id: moment})
        await redis.zremrangebyscore(RUNS_KEY, "-inf", moment - KEEP_SECONDS)
    return bool(created)


async def set_status(redis: aioredis.Redis, keys: RunKeys, status: str, **extra: str) -> None:
    fields: dict[EncodableT, EncodableT] = {"status": status}
    fields.update(extra)
    await redis.hset(keys.meta, mapping=fields)


async def make_current(redis: aioredis.Redis, run_id: str) -> None:
    """Workers started without ``--run`` join this run."""
    await redis.set(CURRENT_KEY, run_id, ex=KEEP_SECONDS)


async def current_run_id(redis: aioredis.Redis) -> str | None:
    value = await redis.get(CURRENT_KEY)
    return _text(value) if value else None


async def expire_run(redis: aioredis.Redis, keys: RunKeys, seconds: int = KEEP_SECONDS) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys.all_fixed():
            pipe.expire(key, seconds)
        await pipe.execute()


async def server_time(redis: aioredis.Redis) -> float:
    """The Redis server's clock: one clock for every machine's heartbeats."""
    seconds, micros = await redis.time()
    return int(seconds) + int(micros) / 1e6


def process_name(role: str) -> str:
    """``worker-host-1234``: unique per process, and says where to look."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}"


def _when(value: str | None) -> datetime:
    if value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return datetime.now(UTC)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
