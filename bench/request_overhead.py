#!/usr/bin/env python3
"""What linkcheck's own layers add to each request, in CPU time, against the benchmark's nginx.

Why: in crawl mode the fetching process is as busy as the parse worker, and most of its time
is requests. This separates the HTTP client's own cost (aiohttp, raw) from linkcheck's two
layers above it: ``HttpClient.request`` (deadline, body cap, private-address guard, errors
as values) and ``Checker.check`` (host rules and politeness slots, retries, redirects by
hand, the verdict). Each run GETs ``--requests`` guide pages (~7.5 KB) with the crawl's shape
of concurrency (``--concurrency`` requests in flight; for the checker, as many tasks under way
as a crawl keeps, ``frontier.max_running``) and reports CPU microseconds per request; runs are
interleaved, medians of ``--runs``.

Usage (with the project venv)::

    python bench/request_overhead.py [--requests 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

import gensite  # noqa: E402
from serve import NginxServer, find_free_port_block  # noqa: E402

from linkcheck._aiohttp import aiohttp  # noqa: E402
from linkcheck.checker import Checker  # noqa: E402
from linkcheck.config import Config, config_from_mapping  # noqa: E402
from linkcheck.frontier import max_running  # noqa: E402
from linkcheck.hosts import HostRules  # noqa: E402
from linkcheck.http import HttpClient  # noqa: E402
from linkcheck.safety import AddressPolicy  # noqa: E402
from linkcheck.urls import OriginPattern, origin  # noqa: E402


async def _spread(urls: list[str], at_once: int, one: Callable[[str], Awaitable[None]]) -> float:
    """CPU seconds to run ``one`` over every URL, ``at_once`` at a time."""
    gate = asyncio.Semaphore(at_once)

    async def gated(url: str) -> None:
        async with gate:
            await one(url)

    started = time.process_time()
    await asyncio.gather(*(gated(url) for url in urls))
    return time.process_time() - started


async def raw_aiohttp(urls: list[str], config: Config) -> float:
    connector = aiohttp.TCPConnector(limit=config.http.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(url: str) -> None:
            async with session.get(url) as response:
                await response.read()

        return await _spread(urls, config.http.concurrency, one)


async def http_client(urls: list[str], config: Config) -> float:
    async with HttpClient(config.http, policy=AddressPolicy(allow_all=True)) as client:

        async def one(url: str) -> None:
            await client.request("GET", url, read_body=True)

        return await _spread(urls, config.http.concurrency, one)


async def checker(urls: list[str], config: Config) -> float:
    async with HttpClient(config.http, policy=AddressPolicy(allow_all=True)) as client:
        site = [OriginPattern.parse(origin(config.start_urls[0]))]
        check = Checker(client, config.http, HostRules(config, site))

        async def one(url: str) -> None:
            await check.check(url, as_page=True)

        # as many tasks under way as a crawl keeps (frontier.max_running)
        return await _spread(urls, max_running(config.http.concurrency), one)


LAYERS = {
    "aiohttp (raw)": raw_aiohttp,
    "HttpClient.request": http_client,
    "Checker.check": checker,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write results here")
    args = ap.parse_args(argv)
    cpu: dict[str, list[float]] = {name: [] for name in LAYERS}
    with tempfile.TemporaryDirectory(prefix="linkcheck-overhead-") as tmp:
        site_dir = Path(tmp) / "site"
        gensite.generate(site_dir, args.requests, find_free_port_block(4))
        urls = gensite.page_urls(site_dir, args.requests)
        config = config_from_mapping(
            {"start_urls": [urls[0]], "http": {"concurrency": args.concurrency}},
            source="bench",
        )
        with NginxServer(site_dir):
            for layer in LAYERS.values():  # warm-up: imports, first connections
                asyncio.run(layer(urls[:100], config))
            for run in range(1, args.runs + 1):
                for name, layer in LAYERS.items():
                    seconds = asyncio.run(layer(urls, config))
                    cpu[name].append(seconds / args.requests * 1e6)
                    print(
                        f"run {run}/{args.runs} {name:20s} {cpu[name][-1]:5.0f} us", file=sys.stderr
                    )
    medians = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"\n{args.requests} GETs, {args.concurrency} in flight, medians of {args.runs} runs\n")
    print("| layer | CPU us per request | added by the layer |")
    print("|---|---:|---:|")
    below = None
    for name, value in medians.items():
        added = "" if below is None else f"{value - below:+.0f}"
        print(f"| {name} | {value:.0f} | {added} |")
        below = value
    if args.json:
        args.json.write_text(json.dumps({"requests": args.requests, "cpu_us": medians}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
