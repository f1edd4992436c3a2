"""A run's identity in Redis, and what happens when Redis no longer holds the run it had.

A Redis that restarts without persistence, or a failover to a replica that was behind,
leaves a run's keys gone or older than what the workers did. Writing on as if nothing had
happened would start the run again from zero, or mix an old state with new commits (pages
with wrong depths, links never checked). So a run carries a random **token** in its meta
hash, written with the run and its task queue in one step
(:func:`linkcheck.distributed.runs.create_run`); every process remembers the token of the
run it joined and checks, at cheap moments, that Redis still holds that run: on joining and
resuming, on every commit (inside the commit script: nothing is written into a Redis that
lost the run), about once a second while it runs, and before the report is assembled. A
missing or different token, or a vanished task queue (:class:`RunGuard`), ends the process
with one line and exit code 2 (:class:`StateLost`, a DistributedError).

A state that went back in time but is whole (an AOF ``everysec`` Redis that crashed and lost
its last second) is not refused: every commit is atomic and a task whose commit was lost is
still pending in the stream, so it is done again once its lease runs out.
"""

from __future__ import annotations

import secrets
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from linkcheck.distributed.connection import DistributedError
from linkcheck.distributed.keys import RunKeys

TOKEN_FIELD = "token"  # the meta hash's field that holds the run's identity token
# The error the commit script answers with when the run's token is not the caller's.
LOST_REPLY = "LINKCHECK_RUN_LOST"

# One round trip: the token, the status, and whether the task stream exists.
_CHECK_LUA = """
local meta = redis.call('HMGET', KEYS[1], ARGV[1], 'status')
return {meta[1] or '', meta[2] or '', redis.call('EXISTS', KEYS[2])}
"""


def new_token() -> str:
    return secrets.token_hex(16)


class StateLost(DistributedError):
    """Redis no longer holds the run this process works on (see the module's text)."""

    def __init__(self, run_id: str, why: str) -> None:
        self.run_id = run_id
        self.why = why
        super().__init__(lost_message(run_id, why))


def lost_message(run_id: str, why: str) -> str:
    """The one line: which run, what was found, what it means, what to do."""
    return (
        f"run {run_id}: its state in Redis is gone or inconsistent ({why}); Redis lost data "
        "(a restart without persistence, or a failover to a replica that was behind), so "
        "the run can be neither finished nor continued: start a new run (without --run), "
        "and give Redis persistence (appendonly yes; see 'Running 20 machines' in "
        "docs/distributed.md)"
    )


def identity_problem(token: str, expected: str, stream_exists: bool) -> str | None:
    """Why the state read is not the run's, or None when it is (pure: table-tested)."""
    if not token:
        return "its identity marker is missing"
    if token != expected:
        return "its identity marker belongs to another run"
    if not stream_exists:
        return "its task queue is missing"
    return None


class RunGuard:
    """Checks, for one process, that Redis still holds the run it joined."""

    def __init__(self, redis: aioredis.Redis, keys: RunKeys, token: str) -> None:
        self._redis = redis
        self._keys = keys
        self.token = token
        self._script = redis.register_script(_CHECK_LUA)

    async def check(self) -> str:
        """The run's status; raises :class:`StateLost` when the run is not there as it was."""
        keys = self._keys
        reply: Any = await self._script(keys=[keys.meta, keys.tasks], args=[TOKEN_FIELD])
        token, status, exists = (_text(item) for item in reply)
        why = identity_problem(token, self.token, exists == "1")
        if why is not None:
            raise StateLost(keys.run_id, why)
        return status


def lost_state(exc: BaseException, run_id: str) -> StateLost | None:
    """The run's loss behind ``exc``, looking inside exception groups (task groups): a
    :class:`StateLost`, the commit script's refusal, or a vanished consumer group."""
    if isinstance(exc, StateLost):
        return exc
    if isinstance(exc, ResponseError):
        text = str(exc)
        if LOST_REPLY in text:
            return StateLost(run_id, "a commit found another run's identity marker, or none")
        if text.startswith("NOGROUP"):
            return StateLost(run_id, "its task queue is missing")
        return None
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = lost_state(inner, run_id)
            if found is not None:
                return found
    return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
