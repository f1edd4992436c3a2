"""Shared parts of the distributed tests: a real ``redis-server`` on loopback, worker
processes, a coordinator in a thread, a small guide site and the report comparison."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from linkcheck.config import Config
from linkcheck.distributed import run_distributed
from linkcheck.models import RunResult
from linkcheck.report.json_report import to_document
from tests.server import Reply, Route, TestServer, page, redirect

redis = pytest.importorskip("redis", reason="the redis client is not installed")

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None
)
# every test module here: pytestmark = needs_redis
needs_redis = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="redis-server is not installed (scripts/install-redis.sh installs it)",
)
ROOT = Path(__file__).resolve().parents[2]
LEASE = 1.0  # seconds: short, so a killed worker's tasks are taken over quickly


# --- Redis and worker processes -------------------------------------------------------------


@dataclass
class RedisServer:
    port: int
    args: list[str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # a clean shutdown: an AOF is complete on disk
            self.process.wait(10)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_for_redis(self.port, self.process)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_redis(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, "redis-server exited at start"
        with contextlib.suppress(Exception):
            if redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping():
                return
        time.sleep(0.05)
    raise AssertionError("redis-server did not answer in time")


def start_redis(*extra: str) -> RedisServer:
    assert REDIS_SERVER is not None
    port = free_port()
    args = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *extra]
    server = RedisServer(port, args)
    server.start()
    return server


def start_worker(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "linkcheck.distributed", "worker", "--redis", url, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 20) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(
            f"{process.args} did not end in time: {out[-1000:]} {err[-3000:]}"
        ) from None
    return process.returncode, out, err


class Background(threading.Thread):
    """A coordinator in a thread, so the test can act while it runs."""

    def __init__(self, target: Callable[[], RunResult]) -> None:
        super().__init__(daemon=True)
        self._target_call = target
        self.result: RunResult | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._target_call()
        except BaseException as exc:
            self.error = exc

    def value(self, timeout: float = 30) -> RunResult:
        self.join(timeout)
        assert not self.is_alive(), "the coordinator did not finish in time"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


# --- the site and the comparison -------------------------------------------------------------


def guide(pages: int, *, delay: float = 0.0, external: str = "") -> dict[str, Route]:
    """A small guide: a nav on every page and every verdict the pipeline can give."""
    routes: dict[str, Route] = {}
    nav = "".join(f'<a href="/g/p{n}.html">Chapter {n}</a>' for n in range(min(pages, 8)))
    for n in range(pages):
        extra = f'<a href="/g/p{(n + 1) % pages}.html#s1">next</a><a href="p{n}.html#s2">here</a>'
        if n == 1:
            extra += (
                '<a href="/g/gone.html">gone</a><a href="/g/old">moved</a>'
                '<a href="/g/p2.html#nowhere">missing section</a>'
                '<a href="mailto:help@example.com">mail</a><a href="mailto:nobody">bad mail</a>'
                '<a href="/g/img.png">picture</a><a href="/g/x">click here</a>'
                '<a href="/g/private/a.html">private</a>'
                '<a href="/g/elsewhere.html" rel="nofollow">nofollow</a>'
            )
            if external:
                extra += (
                    f'<a href="{external}/ok">ext ok</a><a href="{external}/dead">ext dead</a>'
                    f'<a href="{external}/nohead">ext nohead</a>'
                )
        routes[f"/g/p{n}.html"] = page(
            f'<nav>{nav}</nav><h1 id="s1">Page {n}</h1><p id="s2">{extra}</p>', delay=delay
        )
    routes["/g/old"] = redirect("/g/p3.html", 301)
    routes["/g/img.png"] = Reply(200, b"\x89PNG", content_type="image/png")
    routes["/g/x"] = page("<title>Page not found</title><h1>Page not found</h1>")
    routes["/g/elsewhere.html"] = page("<p>only checked</p>")
    routes["/g/orphan.html"] = page("<p>listed in the sitemap only</p>")
    routes["/robots.txt"] = Reply(
        200, "User-agent: *\nDisallow: /g/private/\n", content_type="text/plain"
    )
    return routes


def with_sitemap(routes: dict[str, Route], server: TestServer) -> dict[str, Route]:
    routes["/sitemap.xml"] = Reply(
        200,
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{server.url('/g/p0.html')}</loc></url>"
        f"<url><loc>{server.url('/g/orphan.html')}</loc></url></urlset>",
        content_type="application/xml",
    )
    return routes


def external_routes() -> dict[str, Route]:
    return {
        "/ok": page("fine"),
        "/nohead": lambda seen: Reply(405) if seen.method == "HEAD" else page("GET only"),
    }


def comparable(run: RunResult) -> dict[str, Any]:
    """The JSON report without what differs between any two runs (times, durations)."""
    document = to_document(run)
    for key in ("started_at", "finished_at", "duration_seconds"):
        document["run"].pop(key)
    for link in document["links"]:
        link.pop("elapsed_seconds")
    document["findings"].sort(key=lambda f: json.dumps(f, sort_keys=True))
    return document


def gets(server: TestServer, prefix: str = "/g/") -> dict[str, int]:
    """Requests per method and path of the site's pages and links (each process probes a
    made-up URL for soft 404s once: those are left out)."""
    counts: dict[str, int] = {}
    for seen in server.requests:
        if seen.path.startswith(prefix) and "linkcheck-probe-" not in seen.path:
            key = f"{seen.method} {seen.path}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def fresh_run_id(name: str) -> str:
    return f"t-{name}-{os.getpid()}-{time.monotonic_ns() % 10**9}"


def run_cluster(
    config: Config, redis_url: str, name: str, workers: int = 2
) -> tuple[RunResult, list[tuple[int, str, str]]]:
    """A run of ``workers`` worker processes and a coordinator that only coordinates; the
    run, and each worker's exit code and output (every worker must end with 0)."""
    run_id = fresh_run_id(name)
    started = [start_worker(redis_url, "--run", run_id, "--wait", "30") for _ in range(workers)]
    time.sleep(0.3)
    run = run_distributed(config, redis_url, run_id=run_id, lease=LEASE, work=False)
    outcomes = [finish(worker) for worker in started]
    for code, _, err in outcomes:
        assert code == 0, err
    return run, outcomes
