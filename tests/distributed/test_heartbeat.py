"""Heartbeats (issue #22): a dead worker is noticed within seconds and its tasks go back in
the queue; a slow task is not a dead worker; ``linkcheck status`` tells alive, dead and
finished workers apart; a worker started before its run says what it waits for."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import threading
import time
from typing import Any

import pytest
from click.testing import CliRunner

from linkcheck.cli.status import status as status_command
from linkcheck.distributed import run_distributed
from linkcheck.distributed.heartbeat import (
    ALIVE,
    DEAD,
    FINISHED,
    LEFT,
    WORKING,
    Heartbeats,
    beat_every,
    eta_seconds,
    task_rate,
    worker_state,
)
from linkcheck.distributed.keys import DEFAULT_GRACE, GROUP, HEARTBEAT_EVERY, RunKeys
from linkcheck.distributed.queue import _tasks
from linkcheck.runner import run_check
from tests.conftest import make_config
from tests.distributed.harness import (
    Background,
    RedisServer,
    comparable,
    finish,
    fresh_run_id,
    guide,
    needs_redis,
    start_redis,
    start_worker,
)
from tests.server import TestServer, page

pytestmark = needs_redis


# --- the pure decisions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded", "silent_for", "grace", "shown"),
    [
        (WORKING, 0.5, 10.0, ALIVE),
        (WORKING, 10.0, 10.0, ALIVE),  # exactly the grace: not yet
        (WORKING, 10.1, 10.0, DEAD),  # silent too long, even before anyone swept it
        (DEAD, 0.0, 10.0, DEAD),  # declared dead by a sweep
        (LEFT, 500.0, 10.0, FINISHED),  # a worker that left is not dead, however long ago
        (LEFT, 0.0, 10.0, FINISHED),
    ],
)
def test_worker_state(recorded: str, silent_for: float, grace: float, shown: str) -> None:
    assert worker_state(recorded, silent_for, grace) == shown


@pytest.mark.parametrize(
    ("remaining", "rate", "running", "eta"),
    [
        (100, 10.0, True, 10.0),
        (100, 0.0, True, None),  # no rate yet
        (0, 10.0, True, None),  # nothing known left
        (100, 10.0, False, None),  # stopped, finishing or done
    ],
)
def test_eta_seconds(remaining: int, rate: float, running: bool, eta: float | None) -> None:
    assert eta_seconds(remaining, rate, running) == eta


@pytest.mark.parametrize(
    ("done", "seen", "joined", "rate"),
    [(10, 105.0, 100.0, 2.0), (0, 105.0, 100.0, 0.0), (10, 100.0, 100.0, 0.0)],
)
def test_task_rate(done: int, seen: float, joined: float, rate: float) -> None:
    assert task_rate(done, seen, joined) == rate


@pytest.mark.parametrize(
    ("grace", "lease", "every"),
    [
        (DEFAULT_GRACE, 60.0, HEARTBEAT_EVERY),
        (2.0, 60.0, 0.5),  # several beats per grace
        (10.0, 1.0, 1 / 3),  # several lease renewals per lease
        (0.01, 60.0, 0.05),  # never a busy loop
    ],
)
def test_beat_every(grace: float, lease: float, every: float) -> None:
    assert beat_every(grace, lease) == pytest.approx(every)


# --- the sweep, on a real Redis ---------------------------------------------------------------


def test_a_silent_worker_whose_connection_stays_open_is_swept(redis_server: RedisServer) -> None:
    """No closed connection is needed: silence alone. Its tasks come back as new entries
    with their hand-outs counted (for the poison-task limit); the outstanding count and a
    live worker's tasks are untouched."""
    keys = RunKeys(fresh_run_id("sweep"))
    client = redis_server.client()
    client.xgroup_create(keys.tasks, GROUP, id="0", mkstream=True)
    for url in ("http://a/1", "http://a/2", "http://a/3"):
        client.xadd(keys.tasks, {"k": "check", "u": url, "d": "0"})
    client.hset(keys.counters, "outstanding", 3)
    client.xreadgroup(GROUP, "ghost", {keys.tasks: ">"}, count=2)  # held, never acknowledged
    client.xreadgroup(GROUP, "live", {keys.tasks: ">"}, count=1)

    async def sweep() -> tuple[Any, Any]:
        import redis.asyncio as aioredis

        redis = aioredis.Redis.from_url(redis_server.url)
        try:
            beats = Heartbeats(redis, keys, grace=0.5)
            await beats.beat("ghost", WORKING, {"role": "worker", "done": 0})
            await beats.beat("live", WORKING, {"role": "worker", "done": 0})
            early = await beats.reap()
            await asyncio.sleep(0.8)
            await beats.beat("live", WORKING, {"role": "worker", "done": 0})
            late = await beats.reap()
            again = await beats.reap()
            return early, (late, again)
        finally:
            await redis.aclose()

    early, (late, again) = asyncio.run(sweep())
    assert early.workers == [] and early.tasks == 0  # within the grace: alive
    assert late.workers == ["ghost"] and late.tasks == 2
    assert again.workers == []  # once only
    pending = client.xpending(keys.tasks, GROUP)
    assert {c["name"]: int(c["pending"]) for c in pending["consumers"]} == {"live": 1}
    back = _tasks(client.xreadgroup(GROUP, "other", {keys.tasks: ">"}, count=10)[0][1])
    assert sorted(task.url for task in back) == ["http://a/1", "http://a/2"]
    assert all(task.tries == 1 for task in back)
    assert client.hget(keys.counters, "outstanding") == "3"
    assert json.loads(client.hget(keys.workers, "ghost"))["state"] == DEAD
    assert json.loads(client.hget(keys.workers, "live"))["state"] == WORKING


# --- whole runs -----------------------------------------------------------------------------


def test_a_killed_worker_is_dead_within_the_grace_and_its_tasks_are_taken_over(
    redis_server: RedisServer,
) -> None:
    """The default grace and lease (60 s: the lease alone would take a minute)."""
    with TestServer() as site:
        site.routes.update(guide(16, delay=0.4))
        config = make_config(site.url("/g/p0.html"), http={"per_host_concurrency": 4})
        single = run_check(config)
        run_id = fresh_run_id("hb-kill")
        doomed, survivor = (
            start_worker(redis_server.url, "--run", run_id, "--wait", "30", "--concurrency", "2")
            for _ in range(2)
        )
        coordinator = Background(
            lambda: run_distributed(config, redis_server.url, run_id=run_id, work=False)
        )
        coordinator.start()
        client = redis_server.client()
        doomed_name = _wait_until_holding(client, run_id, doomed.pid)
        seen_alive = _status(redis_server, run_id)["workers"]
        killed = time.monotonic()
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        shown_dead = taken_over = None
        paced = False
        while time.monotonic() - killed < 20 and (shown_dead is None or taken_over is None):
            document = _status(redis_server, run_id)
            states = {w["name"]: w["state"] for w in document["workers"]}
            if shown_dead is None and states.get(doomed_name) == DEAD:
                shown_dead = time.monotonic() - killed
            if taken_over is None and _held(client, run_id, doomed_name) == 0:
                taken_over = time.monotonic() - killed
            paced = paced or (document["rate"] > 0 and (document["eta_seconds"] or 0) > 0)
            time.sleep(0.25)
        distributed = coordinator.value(timeout=40)
        code, _, err = finish(survivor)
        final = _status(redis_server, run_id)

    assert {w["name"]: w["state"] for w in seen_alive}[doomed_name] == ALIVE
    assert shown_dead is not None and shown_dead <= DEFAULT_GRACE + 3
    assert taken_over is not None and taken_over <= 15
    assert paced, f"no rate and ETA while the run was going: {document}"
    assert comparable(distributed) == comparable(single)
    assert code == 0, err
    states = {w["name"]: w["state"] for w in final["workers"]}
    assert states.pop(doomed_name) == DEAD
    assert list(states.values()) == [FINISHED]  # the survivor left when the run was done
    assert final["eta_seconds"] is None and final["status"] == "done"


def test_a_task_handed_to_a_worker_that_never_received_it_is_taken_at_once(
    redis_server: RedisServer,
) -> None:
    """Redis restarted between handing a task out and the reply reaching the worker (kept
    in its append-only file, lost on the wire): the task sits in the worker's own pending
    list, unknown to it. The worker takes it at its next look (a quarter of the lease),
    not once the lease runs out (nobody else would: it is alive and beats)."""
    lease = 12.0
    with TestServer() as site:
        site.routes.update(guide(4))
        config = make_config(site.url("/g/p0.html"))
        single = run_check(config)
        run_id = fresh_run_id("hb-lost")
        coordinator = Background(
            lambda: run_distributed(
                config, redis_server.url, run_id=run_id, work=False, lease=lease
            )
        )
        coordinator.start()
        client = redis_server.client()
        keys = RunKeys(run_id)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not client.xlen(keys.tasks):
            time.sleep(0.02)  # the start page seeded, and no worker yet to take it
        worker = start_worker(redis_server.url, "--run", run_id, "--wait", "30")
        started = time.monotonic()
        name = f"worker-{socket.gethostname()}-{worker.pid}"
        # handed to the worker before it has even started: it will never see this reply
        handed = client.xreadgroup(GROUP, name, {keys.tasks: ">"}, count=1)
        distributed = coordinator.value(timeout=30)
        took = time.monotonic() - started
        code, _, err = finish(worker)

    assert handed, "the seed task was not there to hand out"
    assert took < lease * 0.75, f"the run waited {took:.1f} s: the lost task's lease"
    assert code == 0, err
    assert "never received" in err
    assert comparable(distributed) == comparable(single)


def test_a_worker_busy_on_a_slow_url_longer_than_the_grace_stays_alive(
    redis_server: RedisServer,
) -> None:
    grace = 1.5
    with TestServer() as site:
        site.routes["/s/start.html"] = page('<a href="/s/slow.html">slow</a>')
        site.routes["/s/slow.html"] = page("<p>at last</p>", delay=4 * grace)
        config = make_config(site.url("/s/start.html"), http={"timeout": 15.0})
        run_id = fresh_run_id("hb-slow")
        worker = start_worker(redis_server.url, "--run", run_id, "--wait", "30")
        coordinator = Background(
            lambda: run_distributed(
                config, redis_server.url, run_id=run_id, work=False, grace=grace
            )
        )
        coordinator.start()
        states: set[str] = set()
        deadline = time.monotonic() + 30
        while coordinator.is_alive() and time.monotonic() < deadline:
            with_slow = site.count("/s/slow.html") > 0
            document = _status(redis_server, run_id)
            if with_slow and document.get("status") == "running":
                states.update(w["state"] for w in document["workers"])
            time.sleep(0.2)
        run = coordinator.value()
        code, _, err = finish(worker)
        gets = site.count("/s/slow.html", "GET")

    assert states == {ALIVE}  # read many times over 4 graces: never dead
    assert gets == 1  # never put back and fetched again
    assert run.links[site.url("/s/slow.html")].result.verdict.works  # type: ignore[union-attr]
    assert code == 0, err


def test_a_worker_started_before_its_run_says_what_it_waits_for() -> None:
    server = start_redis("--appendonly", "no")  # its own: no current run of other tests
    try:
        early = start_worker(server.url, "--wait", "20")
        first: list[str] = []
        stdout = early.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: first.append(stdout.readline()))
        reader.start()
        reader.join(10)
        with TestServer() as site:
            site.routes.update(guide(3))
            config = make_config(site.url("/g/p0.html"))
            run_id = fresh_run_id("hb-wait")
            run_distributed(config, server.url, run_id=run_id)
            code, out, err = finish(early)
        named = start_worker(server.url, "--run", "not-there", "--wait", "0.5")
        named_code, named_out, named_err = finish(named)
    finally:
        server.stop()

    assert first == [
        f"worker worker-{socket.gethostname()}-{early.pid}: waiting up to 20 s for the next "
        f"run on {server.url}\n"
    ]
    assert code == 0, err
    assert f"for run {run_id}; left because" in out
    assert named_code == 2
    assert f"waiting up to 0.5 s for run not-there on {server.url}" in named_out
    assert named_err.count("\n") == 1 and "no run not-there" in named_err


# --- helpers --------------------------------------------------------------------------------


def _status(redis_server: RedisServer, run_id: str) -> dict[str, Any]:
    """``linkcheck status --json`` of the run ({} before the coordinator created it)."""
    result = CliRunner().invoke(
        status_command, ["--redis", redis_server.url, "--run", run_id, "--json"]
    )
    if f"no run {run_id}" in result.output:
        return {}
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def _held(client: Any, run_id: str, name: str) -> int:
    summary = client.xpending(RunKeys(run_id).tasks, GROUP)
    return sum(int(c["pending"]) for c in summary.get("consumers") or [] if c["name"] == name)


def _wait_until_holding(client: Any, run_id: str, pid: int) -> str:
    """Wait until the worker with ``pid`` holds a task, some pages being done already (so
    that the run has a rate); its consumer name."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if client.hlen(RunKeys(run_id).pages) < 3:
            time.sleep(0.02)
            continue
        try:
            summary = client.xpending(RunKeys(run_id).tasks, GROUP)
        except Exception:  # no stream yet
            summary = {}
        for consumer in summary.get("consumers") or []:
            if consumer["name"].endswith(f"-{pid}") and int(consumer["pending"]) > 0:
                return str(consumer["name"])
        time.sleep(0.02)
    raise AssertionError("the worker never held a task")
