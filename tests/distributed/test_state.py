"""Issue #22 items 3 and 8: a run whose state Redis lost is an error, not a restart; the
distributed options of ``linkcheck run`` (``--no-work``, ``--lease``, ``--grace``); a TLS/plain
mismatch fails fast. Real ``redis-server`` processes on loopback (harness.py)."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linkcheck.cli.common import seconds_problem
from linkcheck.distributed import DistributedError
from linkcheck.distributed.connection import connect
from linkcheck.distributed.identity import identity_problem
from linkcheck.distributed.keys import SCHEMA_VERSION, RunKeys
from linkcheck.distributed.runs import current_run_id
from linkcheck.distributed.settings import config_to_json
from tests.conftest import make_config
from tests.distributed.harness import (
    REDIS_SERVER,
    ROOT,
    RedisServer,
    finish,
    free_port,
    fresh_run_id,
    guide,
    needs_redis,
    start_redis,
    start_worker,
)
from tests.server import TestServer

pytestmark = needs_redis

LOST = "its state in Redis is gone or inconsistent"


def _linkcheck(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "linkcheck", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _config_file(tmp_path: Path, start: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'start_urls = ["{start}"]\n'
        "[http]\ntimeout = 2.0\nretries = 1\nretry_max_wait = 0.05\nrecheck = false\n"
        "allow_private = true\n[cache]\nenabled = false\n",
        encoding="utf-8",
    )
    return path


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _wait_for(condition: object, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- state loss ----------------------------------------------------------------------------


def test_redis_restarted_without_persistence_stops_coordinator_and_worker(
    tmp_path: Path,
) -> None:
    server = start_redis("--appendonly", "no")
    try:
        with TestServer(guide(40, delay=0.1)) as site:
            config = _config_file(tmp_path, site.url("/g/p0.html"))
            worker = start_worker(server.url, "--wait", "30", "-q")
            coordinator = _linkcheck(
                "run",
                "--redis",
                server.url,
                "--config",
                str(config),
                "-o",
                str(tmp_path / "reports"),
                "-q",
            )
            client = server.client()
            run_id = ""

            def crawling() -> bool:
                nonlocal run_id
                run_id = run_id or asyncio.run(_current(server.url)) or ""
                # both processes joined (the coordinator works too): no one connects mid-restart
                keys = RunKeys(run_id)
                return (
                    bool(run_id) and client.hlen(keys.pages) >= 3 and client.hlen(keys.workers) >= 2
                )

            _wait_for(crawling, "a few pages crawled")
            server.stop()  # Redis restarts without its data, quickly enough for the retries
            server.start()
            coordinator_code, _, coordinator_err = finish(coordinator, timeout=30)
            worker_code, worker_out, worker_err = finish(worker, timeout=30)
            after = server.client()
            rebuilt = after.exists(RunKeys(run_id).pages)

            # --run of the lost run does not start it again from zero
            again = _linkcheck(
                "run", "--redis", server.url, "--config", str(config), "--run", run_id, "-q"
            )
            again_code, _, again_err = finish(again, timeout=30)
    finally:
        server.stop()

    assert coordinator_code == 2, coordinator_err
    line = _one_line(coordinator_err)
    assert line.startswith(f"error: run {run_id}: {LOST}") and "appendonly yes" in line
    assert worker_code == 2 and worker_out == "", worker_err
    line = _one_line(worker_err)
    assert f"run {run_id}: {LOST}" in line and "stopped" in line
    assert rebuilt == 0  # no commit wrote into the empty Redis
    assert again_code == 2
    assert _one_line(again_err).startswith(f"error: no run {run_id} in Redis: it was lost")


async def _current(url: str) -> str | None:
    async with connect(url) as redis:
        return await current_run_id(redis)


def test_a_worker_refuses_a_run_without_its_identity_marker(redis_server: RedisServer) -> None:
    """A meta hash rebuilt by a late write after Redis lost the run has no token."""
    run_id = fresh_run_id("marker")
    client = redis_server.client()
    client.hset(
        RunKeys(run_id).meta,
        mapping={
            "schema": SCHEMA_VERSION,
            "status": "running",
            "config": config_to_json(make_config("http://127.0.0.1:9/")),
        },
    )
    client.xgroup_create(RunKeys(run_id).tasks, "workers", id="0", mkstream=True)
    code, out, err = finish(start_worker(redis_server.url, "--run", run_id, "--wait", "0"))
    assert code == 2 and out == ""
    assert f"run {run_id}: {LOST} (its identity marker is missing)" in _one_line(err)


@pytest.mark.parametrize(
    ("token", "expected", "stream", "problem"),
    [
        ("abc", "abc", True, None),
        ("", "abc", True, "its identity marker is missing"),
        ("", "", True, "its identity marker is missing"),
        ("xyz", "abc", True, "its identity marker belongs to another run"),
        ("abc", "abc", False, "its task queue is missing"),
    ],
)
def test_identity_problem(token: str, expected: str, stream: bool, problem: str | None) -> None:
    assert identity_problem(token, expected, stream) == problem


def test_a_restart_with_aof_keeps_the_run_going(tmp_path: Path) -> None:
    """With persistence the identity survives the restart: nobody stops, the run ends."""
    store = tmp_path / "redis"
    store.mkdir()
    server = start_redis("--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(store))
    try:
        with TestServer(guide(30, delay=0.1)) as site:
            config = _config_file(tmp_path, site.url("/g/p0.html"))
            worker = start_worker(server.url, "--wait", "30", "-q")
            coordinator = _linkcheck(
                "run",
                "--redis",
                server.url,
                "--config",
                str(config),
                "-o",
                str(tmp_path / "reports"),
                "--format",
                "json",
                "-q",
            )
            client = server.client()
            run_id = ""

            def crawling() -> bool:
                nonlocal run_id
                run_id = run_id or asyncio.run(_current(server.url)) or ""
                # both processes joined (the coordinator works too): no one connects mid-restart
                keys = RunKeys(run_id)
                return (
                    bool(run_id) and client.hlen(keys.pages) >= 3 and client.hlen(keys.workers) >= 2
                )

            _wait_for(crawling, "a few pages crawled")
            server.stop()  # a clean shutdown: the AOF holds every write
            server.start()
            coordinator_code, _, coordinator_err = finish(coordinator, timeout=60)
            worker_code, _, worker_err = finish(worker, timeout=30)
            single = _linkcheck(
                "run", "--config", str(config), "-o", str(tmp_path / "single"), "-q"
            )
            finish(single, timeout=60)
    finally:
        server.stop()

    assert coordinator_code == 1, coordinator_err  # the guide has broken links
    assert worker_code == 0, worker_err
    report = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))
    alone = json.loads((tmp_path / "single" / "report.json").read_text(encoding="utf-8"))
    assert report["counts"] == alone["counts"]
    assert report["run"]["pages_crawled"] == alone["run"]["pages_crawled"]
    assert report["run"]["complete"]


# --- the distributed options of `linkcheck run` --------------------------------------------


def test_run_with_no_work_leaves_every_task_to_the_workers(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with TestServer(guide(6)) as site:
        config = _config_file(tmp_path, site.url("/g/p0.html"))
        # no worker: the coordinator does nothing itself, and max_duration ends the run
        alone = _linkcheck(
            "run",
            "--redis",
            redis_server.url,
            "--config",
            str(config),
            "--no-work",
            "--max-duration",
            "1.5",
            "-o",
            str(tmp_path / "alone"),
            "--format",
            "json",
            "-q",
        )
        alone_code, _, alone_err = finish(alone, timeout=60)
        alone_requests = len(site.requests)
        worker = start_worker(redis_server.url, "--wait", "30")
        helped = _linkcheck(
            "run",
            "--redis",
            redis_server.url,
            "--config",
            str(config),
            "--no-work",
            "--lease",
            "5",
            "-o",
            str(tmp_path / "helped"),
            "--format",
            "json",
            "-q",
        )
        helped_code, _, helped_err = finish(helped, timeout=90)
        worker_code, worker_out, _ = finish(worker, timeout=30)

    alone_report = json.loads((tmp_path / "alone" / "report.json").read_text(encoding="utf-8"))
    assert alone_code == 2, alone_err  # nothing crawled: "no links found on the start page"
    assert alone_report["run"]["pages_crawled"] == 0 and alone_requests == 0
    assert helped_code == 1, helped_err  # the guide's broken links
    helped_report = json.loads((tmp_path / "helped" / "report.json").read_text(encoding="utf-8"))
    assert helped_report["run"]["pages_crawled"] >= 6
    assert worker_code == 0 and "task(s) done" in worker_out


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
@pytest.mark.parametrize("option", ["--lease", "--grace"])
def test_bad_lease_or_grace_is_one_line_and_exit_2(option: str, value: str) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    for command in (
        [sys.executable, "-m", "linkcheck", "run", "http://127.0.0.1:9/", "--redis", url],
        [sys.executable, "-m", "linkcheck.distributed", "coordinator", "http://127.0.0.1:9/"],
    ):
        if "coordinator" in command:
            command += ["--redis", url]
        done = subprocess.run(
            [*command, option, value], cwd=ROOT, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 2, done.stderr
        assert _one_line(done.stderr).startswith(f"error: {option} ")


@pytest.mark.parametrize(
    ("value", "zero", "problem"),
    [
        (60.0, False, None),
        (0.5, False, None),
        (0.0, True, None),
        (0.0, False, "must be more than 0 seconds"),
        (-1.0, True, "must be 0 seconds or more"),
        (math.nan, True, "is not a finite number of seconds"),
        (math.inf, False, "is not a finite number of seconds"),
    ],
)
def test_seconds_problem(value: float, zero: bool, problem: str | None) -> None:
    assert seconds_problem(value, zero=zero) == problem


def test_distributed_options_without_redis_are_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "linkcheck", "run", "http://127.0.0.1:9/", "--no-work"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env=_without_redis_env(),
    )
    assert done.returncode == 2
    assert _one_line(done.stderr) == "error: --no-work needs --redis"


def _without_redis_env() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if key != "LINKCHECK_REDIS"}


def test_every_distributed_option_is_in_the_public_help() -> None:
    from click.testing import CliRunner

    from linkcheck.cli.coordinator import coordinator
    from linkcheck.cli.group import main

    public = CliRunner().invoke(main, ["run", "--help"]).output
    hidden = CliRunner().invoke(coordinator, ["--help"]).output
    for option in ("--redis", "--run", "--lease", "--grace", "--no-work"):
        assert option in hidden and option in public, option


# --- TLS and plain text ----------------------------------------------------------------------


def _reach(url: str) -> tuple[float, str]:
    async def attempt() -> None:
        async with connect(url):
            pass

    began = time.monotonic()
    with pytest.raises(DistributedError) as caught:
        asyncio.run(attempt())
    return time.monotonic() - began, str(caught.value)


def test_rediss_to_a_plain_redis_fails_fast_and_says_why(redis_server: RedisServer) -> None:
    elapsed, message = _reach(redis_server.url.replace("redis://", "rediss://"))
    assert elapsed < 3.5
    assert "it answers without TLS: use redis://" in message


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the certificate")
def test_redis_to_a_tls_redis_fails_fast_and_says_why(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    assert REDIS_SERVER is not None
    tls = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
            "--tls-ca-cert-file",
            str(cert),
            "--tls-auth-clients",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=none"
        _wait_for(lambda: _answers(url), "the TLS redis-server", timeout=10)
        elapsed, message = _reach(f"redis://127.0.0.1:{port}/0")
    finally:
        tls.terminate()
        tls.wait(10)
    assert elapsed < 3.5
    assert "it expects TLS: use rediss://" in message


def _answers(url: str) -> bool:
    async def attempt() -> bool:
        try:
            async with connect(url):
                return True
        except DistributedError:
            return False

    return asyncio.run(attempt())
