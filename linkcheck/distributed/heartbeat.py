"""Heartbeats: how a distributed run knows within seconds that a worker is gone.

Every worker (the coordinator's own included) writes the Redis server's time into the run's
``alive`` sorted set every few seconds (:func:`beat_every`), from an asyncio task of its
own: a URL that takes a minute does not stop it, so a slow task never looks like a dead
worker. A worker silent for longer than the run's grace (``keys.DEFAULT_GRACE``, the
coordinator's ``--grace``) is dead, whether it crashed, was killed or its machine vanished
without closing its connection: whoever notices first — the coordinator looks every second,
each worker at each of its heartbeats — runs :data:`REAP_LUA`, which puts the dead worker's
tasks back in the queue at once, atomically, so two noticers cannot both do it.

A task put back is a new stream entry with the same fields plus ``n``, the hand-outs it
has had so far, so a task that keeps killing its workers is still given up on after
``retry.MAX_DELIVERIES`` hand-outs. A worker wrongly declared dead (its event loop was
blocked longer than the grace) loses nothing either: its late commit writes the same keys
as the task's second run, and its acknowledgement of the old entry is a no-op.

The lease (``XAUTOCLAIM`` after ``lease`` seconds of idleness) stays as the backstop for a
consumer that never sent a heartbeat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from linkcheck.distributed.keys import GROUP, HEARTBEAT_EVERY, RunKeys

WORKING = "working"  # recorded states (the workers hash)
LEFT = "left"
DEAD = "dead"
ALIVE = "alive"  # shown states (linkcheck status)
FINISHED = "finished"
REAP_EVERY = 1.0  # seconds between the coordinator's looks for dead workers
MIN_BEAT = 0.05  # seconds: the shortest heartbeat interval, whatever the grace

# KEYS: alive, workers. ARGV: name, record JSON, state. Server time, so that every
# machine's heartbeat is on one clock.
BEAT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local record = cjson.decode(ARGV[2])
record['seen'] = now
record['state'] = ARGV[3]
if ARGV[3] == 'working' then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(record))
return tostring(now)
"""

# KEYS: alive, tasks, workers, counters. ARGV: grace, group, name ('' = every worker silent
# for longer than grace), the state to record. Each task the worker holds is acknowledged
# and added again with its hand-outs in 'n' (the outstanding count is unchanged: one out,
# one in). Returns {tasks put back, name, ...}.
REAP_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local names
if ARGV[3] == '' then
  names = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. tostring(now - tonumber(ARGV[1])))
else
  names = {ARGV[3]}
end
local moved = 0
for _, name in ipairs(names) do
  redis.call('ZREM', KEYS[1], name)
  local rows = redis.call('XPENDING', KEYS[2], ARGV[2], '-', '+', 1000, name)
  while #rows > 0 do
    for _, row in ipairs(rows) do
      local id = row[1]
      local tries = tonumber(row[4])
      local entry = redis.call('XRANGE', KEYS[2], id, id)
      redis.call('XACK', KEYS[2], ARGV[2], id)
      redis.call('XDEL', KEYS[2], id)
      if #entry > 0 then
        local old, fields = entry[1][2], {}
        for i = 1, #old, 2 do
          if old[i] == 'n' then
            tries = tries + tonumber(old[i + 1])
          else
            table.insert(fields, old[i])
            table.insert(fields, old[i + 1])
          end
        end
        table.insert(fields, 'n')
        table.insert(fields, tostring(tries))
        redis.call('XADD', KEYS[2], '*', unpack(fields))
        moved = moved + 1
      else
        redis.call('HINCRBY', KEYS[4], 'outstanding', -1)
      end
    end
    rows = redis.call('XPENDING', KEYS[2], ARGV[2], '-', '+', 1000, name)
  end
  local raw = redis.call('HGET', KEYS[3], name)
  if raw then
    local record = cjson.decode(raw)
    if record['state'] == 'working' then
      record['state'] = ARGV[4]
      redis.call('HSET', KEYS[3], name, cjson.encode(record))
    end
  end
end
return {moved, unpack(names)}
"""


def beat_every(grace: float, lease: float) -> float:
    """Seconds between heartbeats: several per grace (a late one or two is no death) and
    several per lease (the same loop renews the leases)."""
    return max(MIN_BEAT, min(HEARTBEAT_EVERY, grace / 4, lease / 3))


def worker_state(recorded: str, silent_for: float, grace: float) -> str:
    """What ``linkcheck status`` says of a worker: ``finished`` (it left), ``dead``
    (declared so, or silent for longer than the grace) or ``alive``."""
    if recorded == LEFT:
        return FINISHED
    if recorded == DEAD or silent_for > grace:
        return DEAD
    return ALIVE


def task_rate(done: int, seen: float, joined: float) -> float:
    """A worker's tasks per second since it joined (0 before it has a measure)."""
    span = seen - joined
    return done / span if done > 0 and span > 0 else 0.0


def eta_seconds(remaining: int, rate: float, running: bool) -> float | None:
    """Seconds until the tasks known now are done at ``rate`` (the live workers' tasks per
    second); None when that is unknown: the run is not running, nothing is left, or there
    is no rate yet. The crawl finds new tasks as it goes, so this is a lower bound."""
    if not running or remaining <= 0 or rate <= 0:
        return None
    return remaining / rate


@dataclass(frozen=True, slots=True)
class Reaped:
    tasks: int  # tasks put back in the queue
    workers: list[str]  # the workers declared dead (or released)


class Heartbeats:
    """One run's heartbeat writes and dead-worker sweeps."""

    def __init__(self, redis: aioredis.Redis, keys: RunKeys, grace: float) -> None:
        self._redis = redis
        self._keys = keys
        self.grace = grace
        self._beat = redis.register_script(BEAT_LUA)
        self._reap = redis.register_script(REAP_LUA)

    async def beat(self, name: str, state: str, record: dict[str, Any]) -> float:
        """Record ``name`` as ``state`` now (``working`` keeps it in the alive set); returns
        the server time of the beat."""
        keys = self._keys
        now = await self._beat(
            keys=[keys.alive, keys.workers], args=[name, json.dumps(record), state]
        )
        return float(now.decode() if isinstance(now, bytes) else now)

    async def reap(self, name: str = "", state: str = DEAD) -> Reaped:
        """Put back the tasks of every worker silent for longer than the grace (or, given
        ``name``, of that worker, recorded as ``state``)."""
        keys = self._keys
        reply = await self._reap(
            keys=[keys.alive, keys.tasks, keys.workers, keys.counters],
            args=[self.grace, GROUP, name, state],
        )
        names = [item.decode() if isinstance(item, bytes) else str(item) for item in reply[1:]]
        return Reaped(int(reply[0]), names)
