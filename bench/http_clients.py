#!/usr/bin/env python3
"""Micro-benchmark of async HTTP clients against the benchmark's nginx.

Why: the checker's throughput on a 2-core machine is bounded by the HTTP
client's per-request CPU cost, so the choice of client is measured here on the
same server and pages as the end-to-end benchmark rather than guessed.

For every installed client: ``--requests`` GETs (default 3000) of generated
guide pages (~7.5 KB each), ``--concurrency`` in flight (default 32, one
connection each), bodies read in full; median of ``--runs`` (default 3).
Runs are interleaved across clients (round-robin) so drift on a shared
machine does not favour whichever client went first. Each timed run is
preceded by a warm-up batch on the same client, so connection setup is not
timed: this measures steady-state keep-alive throughput.

Clients (skipped with a note when not importable):
  httpx           httpx.AsyncClient (httpcore transport)
  httpx2          httpx2.AsyncClient (fork with the same API)
  httpx+aiohttp   httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport())
  httpx2+aiohttp  httpx2.AsyncClient(transport=httpx_aiohttp.httpx2.AiohttpTransport())
  aiohttp         aiohttp.ClientSession, raw

Usage::

    python bench/http_clients.py [--requests 3000] [--concurrency 32] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import importlib.metadata
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import gensite  # noqa: E402
from serve import NginxServer, find_free_port_block  # noqa: E402


async def _drive(urls: list[str], concurrency: int, fetch: Callable[[str], Awaitable[bool]]) -> int:
    """Run ``fetch`` over ``urls`` with exactly ``concurrency`` workers; count failures."""
    it = iter(urls)
    errors = 0

    async def worker() -> None:
        nonlocal errors
        for url in it:  # shared iterator: each URL is taken by exactly one worker
            if not await fetch(url):
                errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors


def _load(path: str) -> Any:
    """Import ``pkg.mod.Attr`` lazily, so missing clients only fail when used."""
    mod, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(mod), attr)


# (urls, concurrency, warmup) -> (wall s, CPU s, errors) of the timed batch
RunFn = Callable[[list[str], int, int], Coroutine[Any, Any, tuple[float, float, int]]]


@dataclass
class Client:
    name: str
    modules: tuple[str, ...]  # must all import; also used for version display
    run: RunFn


def httpx_runner(module_name: str, transport_path: str | None = None) -> RunFn:
    """Runner for an httpx-API client, optionally on the aiohttp transport."""

    async def run(urls: list[str], concurrency: int, warmup: int) -> tuple[float, float, int]:
        mod = importlib.import_module(module_name)
        limits = mod.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        kwargs: dict[str, Any] = {"limits": limits, "timeout": 30.0, "trust_env": False}
        if transport_path:
            kwargs["transport"] = _load(transport_path)(limits=limits)
        async with mod.AsyncClient(**kwargs) as client:

            async def fetch(url: str) -> bool:
                r = await client.get(url)  # non-streaming: body is read in full
                return bool(r.status_code == 200 and r.content)

            return await _timed(urls, concurrency, warmup, fetch)

    return run


async def aiohttp_run(urls: list[str], concurrency: int, warmup: int) -> tuple[float, float, int]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def fetch(url: str) -> bool:
            async with session.get(url) as r:
                body = await r.read()
                return r.status == 200 and bool(body)

        return await _timed(urls, concurrency, warmup, fetch)


async def _timed(
    urls: list[str], concurrency: int, warmup: int, fetch: Callable[[str], Awaitable[bool]]
) -> tuple[float, float, int]:
    """Warm up (connections open), then time the real batch: (wall s, CPU s, errors)."""
    await _drive(urls[:warmup], concurrency, fetch)
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    errors = await _drive(urls, concurrency, fetch)
    return time.perf_counter() - w0, time.process_time() - c0, errors


CLIENTS = [
    Client("httpx", ("httpx",), httpx_runner("httpx")),
    Client("httpx2", ("httpx2",), httpx_runner("httpx2")),
    Client(
        "httpx+aiohttp",
        ("httpx", "httpx_aiohttp", "aiohttp"),
        httpx_runner("httpx", "httpx_aiohttp.AiohttpTransport"),
    ),
    Client(
        "httpx2+aiohttp",
        ("httpx2", "httpx_aiohttp.httpx2", "aiohttp"),
        httpx_runner("httpx2", "httpx_aiohttp.httpx2.AiohttpTransport"),
    ),
    Client("aiohttp", ("aiohttp",), aiohttp_run),
]

DIST_NAMES = {"httpx_aiohttp": "httpx-aiohttp", "httpx_aiohttp.httpx2": "httpx-aiohttp"}


def available(client: Client) -> str | None:
    """None if usable, else the reason it is skipped."""
    for mod in client.modules:
        try:
            importlib.import_module(mod)
        except ImportError as exc:
            return f"not installed ({exc.name or mod})"
    return None


def versions(client: Client) -> str:
    out = []
    for dist in dict.fromkeys(DIST_NAMES.get(m, m) for m in client.modules):
        try:
            out.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(dist)
    return ", ".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", type=int, default=500, help="distinct pages to cycle through")
    ap.add_argument(
        "--clients",
        default="",
        help="comma-separated subset of: " + ", ".join(c.name for c in CLIENTS),
    )
    ap.add_argument("--json", type=Path, help="also write results here")
    args = ap.parse_args(argv)

    wanted = {c.strip() for c in args.clients.split(",") if c.strip()}
    clients: list[Client] = []
    for c in CLIENTS:
        if wanted and c.name not in wanted:
            continue
        reason = available(c)
        if reason:
            print(f"skipping {c.name}: {reason}", file=sys.stderr)
        else:
            clients.append(c)
    if not clients:
        print(
            "no client available; install e.g. httpx httpx2 httpx-aiohttp aiohttp", file=sys.stderr
        )
        return 2

    results: dict[str, list[tuple[float, float, int]]] = {c.name: [] for c in clients}
    with tempfile.TemporaryDirectory(prefix="linkcheck-httpbench-") as tmp:
        site_dir = Path(tmp) / "site"
        gensite.generate(site_dir, args.pages, find_free_port_block(4))
        pages = gensite.page_urls(site_dir, args.pages)
        urls = [pages[i % len(pages)] for i in range(args.requests)]
        warmup = min(len(urls), max(args.concurrency * 4, 128))
        with NginxServer(site_dir):
            for rnd in range(1, args.runs + 1):
                for c in clients:
                    wall, cpu, errors = asyncio.run(c.run(urls, args.concurrency, warmup))
                    results[c.name].append((wall, cpu, errors))
                    print(
                        f"run {rnd}/{args.runs} {c.name:15s} {args.requests / wall:8.0f} req/s  "
                        f"CPU {cpu / args.requests * 1e6:6.0f} us/req  errors {errors}",
                        file=sys.stderr,
                    )

    rows = []
    for c in clients:
        rs = results[c.name]
        rates = [args.requests / w for w, _, _ in rs]
        rows.append(
            {
                "client": c.name,
                "versions": versions(c),
                "req_per_s_median": statistics.median(rates),
                "req_per_s_min": min(rates),
                "req_per_s_max": max(rates),
                "cpu_us_per_req_median": statistics.median(
                    cpu / args.requests * 1e6 for _, cpu, _ in rs
                ),
                "errors": sum(e for _, _, e in rs),
            }
        )
    rows.sort(key=lambda r: -r["req_per_s_median"])
    best = rows[0]["req_per_s_median"]
    print(
        f"\n{args.requests} GETs x {args.runs} runs, {args.concurrency} in flight, "
        f"Python {sys.version.split()[0]}\n"
    )
    print("| client | versions | req/s (median) | min-max | CPU us/req | vs best | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['client']} | {r['versions']} | {r['req_per_s_median']:,.0f} "
            f"| {r['req_per_s_min']:,.0f}-{r['req_per_s_max']:,.0f} "
            f"| {r['cpu_us_per_req_median']:,.0f} "
            f"| {r['req_per_s_median'] / best:.2f}x | {r['errors']} |"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"config": vars(args) | {"json": str(args.json)}, "rows": rows}, indent=2)
        )
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
