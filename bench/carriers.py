#!/usr/bin/env python3
"""Carriers benchmark: linkcheck, lychee and LinkChecker against slow and lying servers.

A generated replica of the shop guide's shape (a few dozen pages sharing a side nav, each
linking to "carrier" sites) is served on loopback by this script's own aiohttp server: the
guide on one port and four carriers (DHL-, FedEx-, TENSO- and PayPal-like) on the next four.
The carriers show the faults real carrier sites show, each on a few links: answers after
3-8 s, never answers, 429 with ``Retry-After: 2`` then 200, HEAD 200 but GET 404, 200 with a
"page not found" body in seven languages, redirect chains of 2-4 hops ending on 200 or 404,
a meta refresh to a new page, and plain 404 / 410 / 500. Every link has a ground truth: a
problem the editors must be told about (``flag``) or a working link (``pass``).

Every tool gets the same timeout (``--timeout``, default 5 s), 10 requests in flight where
that can be set, and its own default retries. Rounds are interleaved (each round runs every
tool once), the server is restarted before every run (so the 429 state and held connections
start afresh), and the table gives each tool's median wall time and, per fault kind, how
many problems it found, missed and how many working links it called broken.

The server runs in a child process (``carriers.py serve --port P``) so that it never shares
an event loop or a GIL with the harness. The peers come from ``bench/setup_peers.sh``
(``bench/.peers/venv``); a missing one is skipped with a note. Usage (project venv, from the
repository root)::

    bash bench/setup_peers.sh                     # once
    python bench/carriers.py                      # 3 rounds of every tool (`make bench-carriers`)
    python bench/carriers.py --runs 1 --tools linkcheck
    python bench/carriers.py serve --port 28000   # serve the site until Ctrl-C (curl it)
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import os
import random
import shlex
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from peers import (  # noqa: E402
    byte_compile_linkcheck,
    first_line,
    linkcheck_source,
    run_tool,
)
from run_bench import have_gnu_time, machine_info  # noqa: E402
from serve import find_free_port_block  # noqa: E402

HOST = "127.0.0.1"
TIMEOUT_DEFAULT = 5.0  # seconds, given to every tool
CONCURRENCY = 10  # requests in flight, where a tool lets it be set
RETRY_AFTER = 2  # seconds, the rate-limited carrier's Retry-After
NEVER = 3600.0  # seconds a "never answers" request is held (the server is killed first)
# A slow link whose delay is this close to the timeout has no right answer: a tool's
# timer starts at connect or at send, and loopback scheduling adds a few milliseconds.
SLOW_MARGIN = 0.75
SEED = 20
GUIDE_PAGES = 30
# Every response carries this header: LinkChecker spaces requests to one host 0.1-0.6 s
# apart unless the server sends it (its documented opt-in, as in bench/peers.py).
LINKCHECKER_HEADER = ("LinkChecker", "bench")


# -- the site and its ground truth --------------------------------------------------


@dataclass(frozen=True)
class Resp:
    """How one URL answers.

    kind: page (200 HTML), slow (page after ``delay``), never (holds the connection),
    rate (429 + Retry-After until RETRY_AFTER s after its first request, then the page),
    headlie (HEAD 200, GET 404), soft404 (200 with a not-found page), redirect (``status``
    to ``location``), meta (200 with a meta refresh to ``location`` after ``delay`` s),
    status (a plain ``status`` with a short body).
    """

    kind: str
    title: str = ""
    status: int = 200
    delay: float = 0.0
    location: str = ""
    lang: str = "en"
    heading_only: bool = False  # soft404: the title is the brand, the h1 says not found


# Fault kinds in table order: key -> (what the carrier does, expected verdict).
KINDS: dict[str, tuple[str, str]] = {
    "ok": ("carrier page, 200", "pass"),
    "guide": ("guide page (the crawled site), 200", "pass"),
    "slow-in": ("slow, answers within the timeout", "pass"),
    "slow-late": ("slow, answers after the timeout", "flag"),
    "never": ("never answers (connection held)", "flag"),
    "rate": (f"429 + Retry-After: {RETRY_AFTER}, then 200", "pass"),
    "headlie": ("HEAD 200, GET 404", "flag"),
    "soft404": ("200 with a 'page not found' page (7 languages)", "flag"),
    "chain-ok": ("redirect chain (2-4 hops) ending 200", "pass"),
    "chain-404": ("redirect chain (2-4 hops) ending 404", "flag"),
    "meta": ("meta refresh to a new page", "pass"),
    "gone": ("plain 404 / 410 / 500", "flag"),
}


@dataclass(frozen=True)
class Link:
    url: str  # absolute, as the guide links to it
    kind: str
    expect: str  # "flag": the editors must hear of it; "pass": it works
    final_url: str | None = None  # where a redirect or meta refresh lands
    note: str = ""


@dataclass
class Site:
    port: int  # the guide; carriers on port+1 .. port+4
    routes: dict[tuple[int, str], Resp]
    fallback: dict[int, Resp]  # per port, how an unknown path answers (default: 404)
    guide: dict[tuple[int, str], str]  # the guide pages' HTML
    links: list[Link]  # every URL the guide links to, with its truth
    start_url: str
    page_urls: list[str]

    def truth(self, timeout: float) -> list[Link]:
        """The links with a right answer under ``timeout``: a slow link is a problem only
        when it answers after the timeout, and one within SLOW_MARGIN of it is left out."""
        out = []
        for link in self.links:
            if link.kind in ("slow-in", "slow-late"):
                delay = self.routes[port_path(link.url)].delay
                if abs(delay - timeout) < SLOW_MARGIN:
                    continue
                kind = "slow-late" if delay > timeout else "slow-in"
                link = Link(link.url, kind, KINDS[kind][1], note=link.note)
            out.append(link)
        return out


def port_path(url: str) -> tuple[int, str]:
    parts = urlsplit(url)
    return parts.port or 80, parts.path + (f"?{parts.query}" if parts.query else "")


NOT_FOUND_TITLES = {
    "en": "Page Not Found",
    "ja": "ページが見つかりません",
    "ja2": "お探しのページは見つかりませんでした",
    "zh": "页面未找到",
    "ko": "페이지를 찾을 수 없습니다",
    "de": "Seite nicht gefunden",
    "fr": "Page introuvable",
    "es": "Página no encontrada",
}

GUIDE_TOPICS = [
    "index", "shipping", "shipping-rates", "delivery-times", "tracking", "customs",
    "duties-and-taxes", "prohibited-items", "packaging", "returns", "exchanges",
    "payment", "paypal", "credit-cards", "bank-transfer", "forwarding", "tenso",
    "japan-post", "dhl-express", "fedex", "insurance", "lost-parcels", "damaged-parcels",
    "address-format", "gift-wrapping", "pre-orders", "faq", "contact", "privacy", "terms",
]  # fmt: skip


def build(port: int, seed: int = SEED) -> Site:
    """The guide and its carriers, deterministic for a port and seed."""
    assert len(GUIDE_TOPICS) == GUIDE_PAGES
    rng = random.Random(seed)
    main = f"http://{HOST}:{port}"
    dhl, fedex, tenso, paypal = (f"http://{HOST}:{port + i}" for i in range(1, 5))
    routes: dict[tuple[int, str], Resp] = {}
    links: list[Link] = []

    def add(url: str, resp: Resp, kind: str, final: str | None = None, note: str = "") -> None:
        routes[port_path(url)] = resp
        links.append(Link(url, kind, KINDS[kind][1], final, note))

    def page(url: str, title: str, lang: str = "en") -> None:
        routes[port_path(url)] = Resp("page", title, lang=lang)

    def chain(first: str, hops: list[tuple[int, str]], end: str, end_resp: Resp, kind: str) -> None:
        """first -> ... -> end: each hop is (its status, the address it points to)."""
        at = first
        for status, nxt in hops:
            routes[port_path(at)] = Resp("redirect", status=status, location=nxt)
            at = nxt
        assert at == end, (first, end)
        routes[port_path(end)] = end_resp
        links.append(Link(first, kind, KINDS[kind][1], end, f"{len(hops)} hops"))

    # DHL-like
    for path, title in [
        ("/en/express/tracking.html", "Track a shipment | DHL Express"),
        ("/en/express/shipping.html", "Ship now | DHL Express"),
        ("/en/express/customs.html", "Customs clearance | DHL Express"),
        ("/ja/express/tracking.html", "追跡 | DHL Express"),
    ]:
        page(dhl + path, title, "ja" if path.startswith("/ja") else "en")
        links.append(Link(dhl + path, "ok", "pass"))
    add(dhl + "/en/express/surcharges.html", Resp("slow", "Surcharges", delay=3.0), "slow-in")
    add(dhl + "/en/express/zones.html", Resp("slow", "Zones", delay=7.0), "slow-late")
    add(dhl + "/en/express/track?AWB=1234567890", Resp("never"), "never")
    add(dhl + "/en/express/contact.html", Resp("rate", "Contact | DHL Express"), "rate")
    add(dhl + "/en/express/holidays.html", Resp("headlie"), "headlie")
    add(
        dhl + "/ja/express/campaign-2023.html",
        Resp("soft404", NOT_FOUND_TITLES["ja"], lang="ja"),
        "soft404",
        note="ja title",
    )
    chain(
        dhl + "/go/express-rates",
        [(301, dhl + "/en/express/rates"), (301, dhl + "/en/express/rates.html")],
        dhl + "/en/express/rates.html",
        Resp("page", "Rates | DHL Express"),
        "chain-ok",
    )
    chain(
        dhl + "/go/ecommerce",
        [(302, dhl + "/ecommerce"), (301, dhl + "/ecommerce/"), (301, dhl + "/ecommerce/jp/")],
        dhl + "/ecommerce/jp/",
        Resp("status", status=404),
        "chain-404",
    )
    add(dhl + "/en/express/tariff-2022.pdf", Resp("status", status=404), "gone", note="404")

    # FedEx-like
    for path, title in [
        ("/en-us/shipping.html", "Shipping | FedEx"),
        ("/en-us/tracking.html", "Tracking | FedEx"),
        ("/ja-jp/shipping.html", "配送 | FedEx"),
        ("/en-us/customs-tools.html", "Customs tools | FedEx"),
    ]:
        page(fedex + path, title)
        links.append(Link(fedex + path, "ok", "pass"))
    add(fedex + "/en-us/rates.html", Resp("slow", "Rates | FedEx", delay=4.0), "slow-in")
    add(fedex + "/en-us/transit-time.html", Resp("slow", "Transit", delay=6.0), "slow-late")
    add(fedex + "/fedextrack/?trknbr=771234567890", Resp("never"), "never")
    add(fedex + "/en-us/service-guide.html", Resp("rate", "Service guide | FedEx"), "rate")
    add(fedex + "/en-us/shipping/international.html", Resp("headlie"), "headlie")
    for path, lang, heading_only in [
        ("/de-de/versand.html", "de", False),
        ("/fr-fr/expedition.html", "fr", True),
        ("/es-es/envios.html", "es", False),
    ]:
        add(
            fedex + path,
            Resp("soft404", NOT_FOUND_TITLES[lang], lang=lang, heading_only=heading_only),
            "soft404",
            note=lang + (" h1 only" if heading_only else " title"),
        )
    chain(
        fedex + "/go/ship",
        [
            (301, fedex + "/ship"),
            (302, fedex + "/en-us/ship"),
            (307, fedex + "/en-us/shipping/"),
            (308, fedex + "/en-us/shipping/start.html"),
        ],
        fedex + "/en-us/shipping/start.html",
        Resp("page", "Start shipping | FedEx"),
        "chain-ok",
    )
    chain(
        fedex + "/go/rate-tools",
        [(301, fedex + "/rate-tools"), (302, fedex + "/en-us/rate-tools-2021.html")],
        fedex + "/en-us/rate-tools-2021.html",
        Resp("status", status=404),
        "chain-404",
    )
    add(fedex + "/en-us/holiday-2024.html", Resp("status", status=410), "gone", note="410")

    # TENSO-like (a Japanese forwarder): an unknown path answers 200 with its not-found page,
    # as many such sites do, so the host's own not-found page can be compared with.
    for path, title, lang in [
        ("/ja/guide/", "ご利用ガイド | 転送コム", "ja"),
        ("/en/guide/", "User guide | TENSO", "en"),
        ("/zh/guide/", "使用指南 | TENSO", "zh"),
        ("/ko/guide/", "이용 가이드 | TENSO", "ko"),
    ]:
        page(tenso + path, title, lang)
        links.append(Link(tenso + path, "ok", "pass"))
    add(tenso + "/ja/fee.html", Resp("slow", "料金 | 転送コム", delay=3.5, lang="ja"), "slow-in")
    add(tenso + "/en/fee.html", Resp("slow", "Fees | TENSO", delay=8.0), "slow-late")
    add(tenso + "/ja/faq.html", Resp("rate", "よくある質問 | 転送コム", lang="ja"), "rate")
    add(tenso + "/en/faq/prohibited.html", Resp("headlie"), "headlie")
    for path, lang, heading_only in [
        ("/ja/campaign/2024.html", "ja2", False),
        ("/zh/faq.html", "zh", False),
        ("/ko/faq.html", "ko", True),
        ("/en/old-guide.html", "en", False),
    ]:
        add(
            tenso + path,
            Resp("soft404", NOT_FOUND_TITLES[lang], lang=lang[:2], heading_only=heading_only),
            "soft404",
            note=lang[:2] + (" h1 only" if heading_only else " title"),
        )
    page(tenso + "/ja/service/", "サービス | 転送コム", "ja")
    page(tenso + "/en/service/", "Services | TENSO")
    add(
        tenso + "/ja/service.html",
        Resp("meta", location="/ja/service/", delay=0),
        "meta",
        final=tenso + "/ja/service/",
        note="refresh 0 s",
    )
    add(
        tenso + "/en/service.html",
        Resp("meta", location=tenso + "/en/service/", delay=3),
        "meta",
        final=tenso + "/en/service/",
        note="refresh 3 s",
    )
    chain(
        tenso + "/r/ja",
        [(302, tenso + "/ja"), (301, tenso + "/ja/"), (301, tenso + "/ja/top/")],
        tenso + "/ja/top/",
        Resp("page", "転送コム", lang="ja"),
        "chain-ok",
    )
    add(tenso + "/ja/shipping/old.html", Resp("status", status=404), "gone", note="404")

    # PayPal-like
    for path, title in [
        ("/us/home", "PayPal: Pay, Send and Save Money"),
        ("/jp/home", "PayPal: ペイパル"),
        ("/us/business", "PayPal for Business"),
        ("/us/legalhub/useragreement-full", "User Agreement"),
    ]:
        page(paypal + path, title)
        links.append(Link(paypal + path, "ok", "pass"))
    add(paypal + "/checkoutnow?token=EC-5Y0123456789", Resp("never"), "never")
    add(paypal + "/us/smarthelp/home", Resp("rate", "Help Center | PayPal"), "rate")
    chain(
        paypal + "/go/jp",
        [(301, paypal + "/jp"), (302, paypal + "/jp/webapps/mpp/home")],
        paypal + "/jp/webapps/mpp/home",
        Resp("page", "PayPal Japan"),
        "chain-ok",
    )
    chain(
        paypal + "/go/fees",
        [
            (301, paypal + "/us/webapps/mpp/paypal-fees"),
            (302, paypal + "/us/fees"),
            (301, paypal + "/us/fees/2022"),
        ],
        paypal + "/us/fees/2022",
        Resp("status", status=404),
        "chain-404",
    )
    page(paypal + "/jp/webapps/mpp/merchant", "PayPal 加盟店")
    add(
        paypal + "/jp/cgi-bin/webscr?cmd=_merchant",
        Resp("meta", location=paypal + "/jp/webapps/mpp/merchant", delay=1),
        "meta",
        final=paypal + "/jp/webapps/mpp/merchant",
        note="refresh 1 s",
    )
    add(paypal + "/us/webapps/mpp/merchant", Resp("status", status=500), "gone", note="500")
    add(paypal + "/jp/webapps/mpp/old-campaign", Resp("status", status=404), "gone", note="404")

    # The guide: every page has the side nav (every page) and a few carrier links. Each
    # carrier link is on 1-3 pages, every page has at least 3.
    page_urls = [
        main + "/guide/" if t == "index" else f"{main}/guide/{t}.html" for t in GUIDE_TOPICS
    ]
    for url in page_urls:
        links.append(Link(url, "guide", "pass"))
    placed: dict[int, list[str]] = {i: [] for i in range(GUIDE_PAGES)}
    carrier_links = [link.url for link in links if link.kind != "guide"]
    for url in carrier_links:
        for i in rng.sample(range(GUIDE_PAGES), rng.randint(1, 3)):
            placed[i].append(url)
    for i in placed:
        while len(placed[i]) < 3:
            url = rng.choice(carrier_links)
            if url not in placed[i]:
                placed[i].append(url)
    guide = {port_path(url): guide_page(i, placed[i]) for i, url in enumerate(page_urls)}
    fallback = {port + 3: Resp("soft404", NOT_FOUND_TITLES["ja"], lang="ja")}
    return Site(port, routes, fallback, guide, links, page_urls[0], page_urls)


LOREM = (
    "Orders ship from our warehouse in Osaka within two business days. Parcels abroad go "
    "with the carrier you choose at checkout; duties are paid by the recipient unless the "
    "order says otherwise. "
) * 6


def label(topic: str) -> str:
    return topic.replace("-", " ").title()


def guide_page(i: int, carrier_links: list[str]) -> str:
    topic = GUIDE_TOPICS[i]
    nav = "\n".join(
        f'      <li><a href="{"./" if t == "index" else t + ".html"}">{label(t)}</a></li>'
        for t in GUIDE_TOPICS
    )
    body = "\n".join(
        f'    <p>{LOREM[: 120 + 40 * (n % 3)]} See <a href="{url}">the carrier page</a>.</p>'
        for n, url in enumerate(carrier_links)
    )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{label(topic)} | Shop guide</title></head>
<body>
  <nav class="side">
    <ul>
{nav}
    </ul>
  </nav>
  <main>
    <h1>{label(topic)}</h1>
{body}
  </main>
</body>
</html>
"""


def carrier_html(title: str, lang: str, heading: str | None = None, head_extra: str = "") -> str:
    return f"""<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8">{head_extra}<title>{title}</title></head>
<body>
  <main><h1>{heading or title}</h1>
  <p>{LOREM}</p><p>{LOREM}</p></main>
</body>
</html>
"""


# -- the server ---------------------------------------------------------------------


def serve(port: int, seed: int) -> None:
    """Serve the guide and the four carriers until killed; print "ready" once listening."""
    import asyncio

    from aiohttp import web

    site = build(port, seed)
    first_seen: dict[tuple[int, str], float] = {}

    async def handle(request: web.Request) -> web.StreamResponse:
        key = (request.app["port"], request.path_qs)
        if key[1] == "/robots.txt":
            return web.Response(status=404, text="no robots.txt")
        if key in site.guide:
            return web.Response(text=site.guide[key], content_type="text/html")
        resp = site.routes.get(key) or site.fallback.get(key[0])
        if resp is None:
            return web.Response(status=404, text="404 Not Found", content_type="text/html")
        kind = resp.kind
        if kind == "never":
            await asyncio.sleep(NEVER)
        if kind == "slow":
            await asyncio.sleep(resp.delay)
        if kind == "rate":
            started = first_seen.setdefault(key, time.monotonic())
            if time.monotonic() - started < RETRY_AFTER:
                return web.Response(
                    status=429, text="Too Many Requests", headers={"Retry-After": str(RETRY_AFTER)}
                )
        if kind == "headlie":
            if request.method == "HEAD":
                return web.Response(status=200, content_type="text/html")
            return web.Response(
                status=404, text=carrier_html("404", "en"), content_type="text/html"
            )
        if kind == "redirect":
            return web.Response(status=resp.status, headers={"Location": resp.location})
        if kind == "status":
            return web.Response(
                status=resp.status,
                text=carrier_html(str(resp.status), "en"),
                content_type="text/html",
            )
        if kind == "meta":
            refresh = f'<meta http-equiv="refresh" content="{resp.delay:g}; url={resp.location}">'
            html = carrier_html("Moved", "en", "This page has moved", head_extra=refresh)
            return web.Response(text=html, content_type="text/html")
        if kind == "soft404":
            brand = "TENSO" if key[0] == port + 3 else "FedEx" if key[0] == port + 2 else "DHL"
            title = brand if resp.heading_only else f"{resp.title} | {brand}"
            html = carrier_html(title, resp.lang, heading=resp.title)
            return web.Response(text=html, content_type="text/html")
        return web.Response(text=carrier_html(resp.title, resp.lang), content_type="text/html")

    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        response.headers[LINKCHECKER_HEADER[0]] = LINKCHECKER_HEADER[1]

    async def main() -> None:
        for p in range(port, port + 5):
            app = web.Application()
            app["port"] = p
            app.router.add_route("*", "/{tail:.*}", handle)
            app.on_response_prepare.append(stamp)
            # handler_cancellation: a "never" handler ends when its client hangs up
            runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
            await runner.setup()
            await web.TCPSite(runner, HOST, p).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


LIVE_SERVERS: set[Server] = set()  # killed by bench() whatever happens (Ctrl-C in a thread)


class Server:
    """``carriers.py serve`` as a child in its own session; killed (the group) on exit."""

    def __init__(self, port: int, seed: int) -> None:
        self.port, self.seed = port, seed
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Server:
        cmd = [
            sys.executable,
            __file__,
            "serve",
            "--port",
            str(self.port),
            "--seed",
            str(self.seed),
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True
        )
        assert self.proc.stdout is not None
        LIVE_SERVERS.add(self)
        line = self.proc.stdout.readline()  # blocks until "ready" or the child died
        if line.strip() != "ready":
            self.__exit__(None, None, None)
            raise SystemExit(f"the carriers server did not start (exit {self.proc.wait()})")
        return self

    def __exit__(self, *exc: object) -> None:
        LIVE_SERVERS.discard(self)
        if self.proc is not None and self.proc.poll() is None:
            # It holds nothing worth a clean shutdown (the "never" handlers would hold it up).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


# -- what each tool reported --------------------------------------------------------


def normalise(url: str) -> str:
    url = urldefrag(url.strip())[0]
    parts = urlsplit(url)
    netloc = (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


@dataclass
class Answer:
    """A tool's answer: the URLs it calls broken, and where it says a redirect lands."""

    flagged: set[str]
    checked: set[str] | None  # every URL it reports; None when its output lists only problems
    landed: dict[str, str] = field(default_factory=dict)  # link -> new address it names


def parse_linkcheck(out: Path, stdout: Path) -> Answer:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    flagged, checked, landed = set(), set(), {}
    for link in report["links"]:
        url = normalise(link["url"])
        checked.add(url)
        # broken and error are what fail a run by default (--fail-on)
        if link["verdict"] in ("broken", "error"):
            flagged.add(url)
        if link["verdict"] == "redirected" and link.get("final_url"):
            landed[url] = normalise(link["final_url"])
    return Answer(flagged, checked, landed)


def parse_lychee(out: Path, stdout: Path) -> Answer:
    """Its ``-v`` JSON: every link under the page it is on, by outcome; a redirect chain
    (``redirect_map``) lists each hop, the last one the new address."""
    report = json.loads((out / "lychee.json").read_text(encoding="utf-8"))
    flagged: set[str] = set()
    checked: set[str] = set()
    landed: dict[str, str] = {}
    for key in ("success_map", "error_map", "excluded_map", "timeout_map"):
        for entries in (report.get(key) or {}).values():
            for e in entries:
                url = normalise(e.get("url") or "")
                checked.add(url)
                if key in ("error_map", "timeout_map"):
                    flagged.add(url)
    for entries in (report.get("redirect_map") or {}).values():
        for e in entries:
            hops = e.get("redirects") or []
            if e.get("origin") and hops:
                landed[normalise(e["origin"])] = normalise(hops[-1]["url"])
    return Answer(flagged, checked, landed)


def parse_linkchecker(out: Path, stdout: Path) -> Answer:
    """CSV rows, one per URL checked; ``url`` is where a redirect ended, so the link as
    written is rebuilt from ``urlname`` and its page (as in bench/peers.py)."""
    text = stdout.read_text(encoding="utf-8", errors="replace")
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    rows = list(csv.DictReader(io.StringIO(body), delimiter=";"))
    if not rows or "valid" not in rows[0]:
        raise ValueError("no CSV rows with a 'valid' column in LinkChecker's output")
    flagged, checked, landed = set(), set(), {}
    for r in rows:
        link = normalise(urljoin(r.get("base") or r.get("parentname") or "", r["urlname"]))
        checked.add(link)
        if r["valid"] != "True":
            flagged.add(link)
        elif normalise(r["url"]) != link:
            landed[link] = normalise(r["url"])
    return Answer(flagged, checked, landed)


# -- the tools ----------------------------------------------------------------------


@dataclass
class Ctx:
    site: Site
    timeout: float
    peers: Path
    linkcheck: list[str]
    work: Path


@dataclass
class Tool:
    key: str
    name: str
    given: str
    command: Callable[[Ctx, Path], list[str]]
    parse: Callable[[Path, Path], Answer]
    ok_codes: tuple[int, ...]
    binary: Callable[[Ctx], Path | None]  # None: always there
    version: Callable[[Ctx], str]


def fmt_s(x: float) -> str:
    return f"{x:g}"


def cmd_linkcheck(ctx: Ctx, out: Path) -> list[str]:
    return [
        *ctx.linkcheck, "run", ctx.site.start_url, "--format", "json", "-o", str(out), "-q",
        "--concurrency", str(CONCURRENCY), "--timeout", fmt_s(ctx.timeout), "--allow-private",
        "--no-cache",
    ]  # fmt: skip


def cmd_lychee(ctx: Ctx, out: Path) -> list[str]:
    # lychee does not crawl: it is given every guide page's URL, fetches each and checks
    # its links (the same set a crawl from the first page finds).
    return [
        str(ctx.peers / "venv/bin/lychee"), "--timeout", fmt_s(ctx.timeout),
        "--max-concurrency", str(CONCURRENCY), "--host-request-interval", "0s",
        "--no-progress", "-v", "--format", "json", "-o", str(out / "lychee.json"),
        *ctx.site.page_urls,
    ]  # fmt: skip


def cmd_linkchecker(ctx: Ctx, out: Path) -> list[str]:
    return [
        str(ctx.peers / "venv/bin/linkchecker"), "-f", str(ctx.work / "linkcheckerrc"),
        "--threads", str(CONCURRENCY), "--timeout", fmt_s(ctx.timeout), "--check-extern",
        "--no-status", "-v", "-o", "csv/utf-8", ctx.site.start_url,
    ]  # fmt: skip


def write_linkcheckerrc(work: Path) -> None:
    rc = work / "linkcheckerrc"
    rc.write_text(
        "# generated by bench/carriers.py (as bench/peers.py)\n"
        "[checking]\n"
        f"threads={CONCURRENCY}\n"
        "maxrequestspersecond=1000000\n"
        "allowedschemes=http,https\n"
        "[output]\n"
        "status=0\n",
        encoding="utf-8",
    )
    rc.chmod(0o644)  # LinkChecker drops root privileges to 'nobody'


def tools() -> list[Tool]:
    return [
        Tool(
            "linkcheck",
            "linkcheck",
            "`run URL --concurrency 10 --timeout T --allow-private --no-cache --format json`",
            cmd_linkcheck,
            parse_linkcheck,
            (0, 1),
            lambda ctx: None,
            lambda ctx: first_line([*ctx.linkcheck, "--version"]),
        ),
        Tool(
            "lychee",
            "lychee",
            "every guide page's URL, `--timeout T --max-concurrency 10 "
            "--host-request-interval 0s -v --format json` (retries: its default 3)",
            cmd_lychee,
            parse_lychee,
            (0, 2),
            lambda ctx: ctx.peers / "venv/bin/lychee",
            lambda ctx: first_line([str(ctx.peers / "venv/bin/lychee"), "--version"]),
        ),
        Tool(
            "linkchecker",
            "LinkChecker",
            "`--threads 10 --timeout T --check-extern -v -o csv URL`, per-host spacing lifted "
            "as in bench/peers.py (no retry setting)",
            cmd_linkchecker,
            parse_linkchecker,
            (0, 1),
            lambda ctx: ctx.peers / "venv/bin/linkchecker",
            lambda ctx: first_line([str(ctx.peers / "venv/bin/linkchecker"), "--version"]),
        ),
    ]


# -- judging and tables -------------------------------------------------------------


@dataclass
class Score:
    """One run against the truth, per fault kind."""

    found: dict[str, int]  # flag kinds: problems reported
    missed: dict[str, list[str]]  # flag kinds: problems not reported
    false: dict[str, list[str]]  # pass kinds: working links called broken
    landed_right: int  # redirects and meta refreshes whose new address the tool names
    unreported: list[str]  # links the tool lists no result for (when it lists every link)


def judge(answer: Answer, truth: list[Link]) -> Score:
    found: dict[str, int] = {}
    missed: dict[str, list[str]] = {}
    false: dict[str, list[str]] = {}
    landed_right = 0
    unreported = []
    for link in truth:
        url = normalise(link.url)
        flagged = url in answer.flagged
        if link.expect == "flag":
            found[link.kind] = found.get(link.kind, 0) + flagged
            if not flagged:
                missed.setdefault(link.kind, []).append(link.url)
        elif flagged:
            false.setdefault(link.kind, []).append(link.url)
        if link.final_url and not flagged and answer.landed.get(url) == normalise(link.final_url):
            landed_right += 1
        if answer.checked is not None and url not in answer.checked:
            unreported.append(link.url)
    return Score(found, missed, false, landed_right, unreported)


@dataclass
class Run:
    tool: str
    round: int
    ok: bool
    wall_s: float
    cpu_s: float
    exit_code: int
    score: Score | None = None
    error: str = ""


def tail(path: Path, lines: int = 10) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_once(tool: Tool, ctx: Ctx, n: int, truth: list[Link], args: argparse.Namespace) -> Run:
    out = ctx.work / "runs" / f"{tool.key}-{n}"
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o777)  # LinkChecker runs as 'nobody' when started as root
    cmd = tool.command(ctx, out)
    if n == 1:
        log("$ " + shlex.join(cmd[:14]) + (" ..." if len(cmd) > 14 else ""))
    stdout, stderr = out / "stdout.txt", out / "stderr.txt"
    with Server(ctx.site.port, args.seed):
        u = run_tool(cmd, out, stdout, stderr, args.tool_timeout, args.gnu_time)
    ok = u.exit_code in tool.ok_codes and not u.timed_out
    run = Run(tool.key, n, ok, u.wall_s, u.cpu_s, u.exit_code)
    if not run.ok:
        why = "timed out" if u.timed_out else f"exit code {u.exit_code}"
        run.error = f"{why}; stderr tail:\n{tail(stderr)}"
        return run
    try:
        run.score = judge(tool.parse(out, stdout), truth)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        run.ok = False
        run.error = f"cannot read its output: {exc!r}; stderr tail:\n{tail(stderr)}"
    return run


def span(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def tables(
    selected: list[Tool], runs: dict[str, list[Run]], truth: list[Link], timeout: float
) -> str:
    counts = {k: sum(1 for link in truth if link.kind == k) for k in KINDS}
    flag_total = sum(1 for link in truth if link.expect == "flag")
    pass_total = len(truth) - flag_total
    redirect_total = sum(1 for link in truth if link.final_url and link.expect == "pass")
    good = {t.key: [r for r in runs[t.key] if r.ok and r.score] for t in selected}
    lines = [
        f"Timeout {timeout:g} s for every tool; medians of {max(len(v) for v in runs.values())} "
        "rounds (min-max of the rounds where they differ).",
        "",
        "| tool | wall s (median) | min-max | CPU s | problems found | missed | false alarms "
        "| new address named |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in selected:
        g = good[t.key]
        if not g:
            lines.append(f"| {t.name} | failed | | | | | | |")
            continue
        walls = [r.wall_s for r in g]
        found = [sum(r.score.found.values()) for r in g if r.score]
        false = [sum(len(v) for v in r.score.false.values()) for r in g if r.score]
        named = [r.score.landed_right for r in g if r.score]
        lines.append(
            f"| {t.name} | {statistics.median(walls):.1f} | {min(walls):.1f}-{max(walls):.1f} "
            f"| {statistics.median(r.cpu_s for r in g):.1f} "
            f"| {span(found)}/{flag_total} | {span([flag_total - f for f in found])} "
            f"| {span(false)}/{pass_total} | {span(named)}/{redirect_total} |"
        )
    medians = {k: statistics.median(r.wall_s for r in g) for k, g in good.items() if g}
    if "linkcheck" in medians and "lychee" in medians:
        ratio = medians["linkcheck"] / medians["lychee"]
        lines += ["", f"linkcheck's wall time is {ratio:.2f}x lychee's (issue #20: at most 0.75x)."]
    lines += [
        "",
        "Per fault kind: for a problem, how many of its links each tool reported (found/links); "
        "for a working link, how many it called broken (false alarms/links).",
        "",
        "| fault kind | links | expected | " + " | ".join(t.name for t in selected) + " |",
        "|---|---:|---|" + "---:|" * len(selected),
    ]
    for kind, (label, expect) in KINDS.items():
        if not counts[kind]:
            continue
        cells = []
        for t in selected:
            g = good[t.key]
            if not g:
                cells.append("-")
            elif expect == "flag":
                cells.append(f"{span([r.score.found.get(kind, 0) for r in g if r.score])} found")
            else:
                n = [len(r.score.false.get(kind, [])) for r in g if r.score]
                cells.append("ok" if max(n) == 0 else f"**{span(n)} false**")
        what = "problem" if expect == "flag" else "works"
        lines.append(f"| {label} | {counts[kind]} | {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details(selected: list[Tool], runs: dict[str, list[Run]]) -> str:
    """What each tool missed and called broken in its first good round, by kind."""
    out = []
    for t in selected:
        for r in runs[t.key]:
            if not r.ok:
                out.append(f"\n{t.name} round {r.round} failed: {r.error}")
        g = [r for r in runs[t.key] if r.ok and r.score]
        if g and g[0].score:
            s = g[0].score
            for kind, urls in s.missed.items():
                out.append(f"{t.name} missed {kind}: {', '.join(urlsplit(u).path for u in urls)}")
            for kind, urls in s.false.items():
                out.append(
                    f"{t.name} false alarm {kind}: {', '.join(urlsplit(u).path for u in urls)}"
                )
            if s.unreported:
                out.append(f"{t.name} lists no result for {len(s.unreported)} links")
    return "\n".join(out)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def bench(args: argparse.Namespace) -> int:
    args.gnu_time = have_gnu_time()
    work_tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.workdir:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        work_tmp = tempfile.TemporaryDirectory(prefix="linkcheck-carriers-")
        work = Path(work_tmp.name)
    work.chmod(0o755)  # LinkChecker drops to 'nobody' and must read its config here
    try:
        return measure(args, work)
    finally:
        for server in list(LIVE_SERVERS):
            server.__exit__(None, None, None)
        if work_tmp is not None:
            work_tmp.cleanup()


def extract_tree(rev: str, work: Path) -> tuple[list[str], str]:
    """linkcheck's package as committed at ``rev``, in a folder of its own, and the command
    that runs it: other work in progress in the checkout is then not measured."""
    short = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", rev],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tar = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", rev, "linkcheck"],
        capture_output=True,
        check=True,
    ).stdout
    tree = work / f"linkcheck-{short}"
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(tree, filter="data")
    # byte-compiled as a wheel install is (see byte_compile_linkcheck in peers.py)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], check=False)
    # PYTHONPATH comes before the editable install's path entry on sys.path
    command = ["env", f"PYTHONPATH={tree}", sys.executable, "-m", "linkcheck"]
    return command, f"{short} (committed tree)"


def measure(args: argparse.Namespace, work: Path) -> int:
    write_linkcheckerrc(work)
    peers, linkcheck = args.peers_dir.resolve(), shlex.split(args.linkcheck)
    wanted = [k.strip() for k in args.tools.split(",") if k.strip()]
    selected, skipped = [], {}
    for t in tools():
        if t.key not in wanted:
            continue
        binary = t.binary(Ctx(build(0), args.timeout, peers, linkcheck, work))
        if binary is not None and not os.access(binary, os.X_OK):
            skipped[t.name] = f"not installed ({binary}): run bash bench/setup_peers.sh"
            log(f"skipping {t.name}: {skipped[t.name]}")
        else:
            selected.append(t)
    if args.linkcheck_tree:
        linkcheck, source = extract_tree(args.linkcheck_tree, work)
    else:
        source = linkcheck_source()
        byte_compile_linkcheck()
    # Every run gets its own server on its own five ports, so runs can overlap: the 429
    # state and the held connections of one run never meet another's.
    jobs = [(n, t) for n in range(1, args.runs + 1) for t in selected]
    base = args.port or find_free_port_block(5 * max(len(jobs), 1))
    ctxs = [
        Ctx(build(base + 5 * i, args.seed), args.timeout, peers, linkcheck, work)
        for i in range(len(jobs))
    ]
    truths = [ctx.site.truth(args.timeout) for ctx in ctxs]
    truth = truths[0] if truths else build(base).truth(args.timeout)
    (work / "truth.json").write_text(
        json.dumps([link.__dict__ for link in truth], indent=1, ensure_ascii=False) + "\n"
    )
    flags = sum(1 for link in truth if link.expect == "flag")
    log(
        f"site: {GUIDE_PAGES} guide pages and 4 carriers per run, ports {base}-"
        f"{base + 5 * len(jobs) - 1}; {len(truth)} links with a right answer ({flags} "
        f"problems); {len(jobs)} runs, {'one at a time' if args.serial else 'overlapped'}; "
        f"linkcheck at {source}"
    )

    def one(i: int) -> Run:
        n, t = jobs[i]
        r = run_once(t, ctxs[i], n, truths[i], args)
        sc = r.score
        status = (
            f"found {sum(sc.found.values())}/{flags}, "
            f"false alarms {sum(len(v) for v in sc.false.values())}"
            if sc
            else f"FAILED: {r.error}"
        )
        log(
            f"round {n}/{args.runs} {t.name:12s} {r.wall_s:6.1f}s wall, "
            f"{r.cpu_s:4.1f}s CPU: {status}"
        )
        return r

    pool = ThreadPoolExecutor(max_workers=1 if args.serial else max(len(jobs), 1))
    try:
        done = list(pool.map(one, range(len(jobs))))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    runs: dict[str, list[Run]] = {t.key: [] for t in selected}
    for (_, t), r in zip(jobs, done, strict=True):
        runs[t.key].append(r)
    ctx = ctxs[0] if ctxs else Ctx(build(base), args.timeout, peers, linkcheck, work)
    text = tables(selected, runs, truth, args.timeout)
    print(f"\n## Carriers: slow and lying servers\n\nlinkcheck at {source}\n")
    print(text)
    extra = details(selected, runs)
    if extra:
        print("\n" + extra)
    for name, why in skipped.items():
        print(f"\nskipped {name}: {why}")
    results = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "linkcheck_source": source,
        "timeout": args.timeout,
        "truth": [link.__dict__ for link in truth],
        "tools": {
            t.key: {
                "name": t.name,
                "version": t.version(ctx),
                "given": t.given,
                "runs": [
                    {
                        "round": r.round,
                        "ok": r.ok,
                        "wall_s": r.wall_s,
                        "cpu_s": r.cpu_s,
                        "exit_code": r.exit_code,
                        "error": r.error,
                        "score": r.score.__dict__ if r.score else None,
                    }
                    for r in runs[t.key]
                ],
            }
            for t in selected
        },
        "skipped": skipped,
        "table": text,
    }
    args.results.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log(f"\nresults written to {args.results}")
    return 0 if all(r.ok for rs in runs.values() for r in rs) else 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = ap.add_subparsers(dest="command")
    sp = sub.add_parser("serve", help="serve the guide and its carriers until killed")
    sp.add_argument("--port", type=int, required=True, help="the guide's port; carriers +1..+4")
    sp.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--runs", type=int, default=3, help="rounds of every tool (default 3)")
    ap.add_argument(
        "--timeout", type=float, default=TIMEOUT_DEFAULT, help="seconds, for every tool (5)"
    )
    ap.add_argument("--tools", default="linkcheck,lychee,linkchecker", help="comma-separated")
    ap.add_argument("--port", type=int, default=0, help="base port (default: a free block of 5)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument(
        "--linkcheck",
        default=f"{shlex.quote(sys.executable)} -m linkcheck",
        help="command that runs linkcheck (default: this Python -m linkcheck)",
    )
    ap.add_argument(
        "--linkcheck-tree",
        metavar="REV",
        help="measure linkcheck's package as committed at REV (e.g. HEAD), not the checkout",
    )
    ap.add_argument("--peers-dir", type=Path, default=BENCH_DIR / ".peers")
    ap.add_argument(
        "--serial",
        action="store_true",
        help="one run at a time (default: every run at once, each with its own server; "
        "the tools spend nearly all of a run waiting on the slow carriers)",
    )
    ap.add_argument("--tool-timeout", type=float, default=180, help="seconds allowed per tool run")
    ap.add_argument("--workdir", type=Path, help="keep the truth and every output here")
    ap.add_argument("--results", type=Path, default=BENCH_DIR / "carriers-results.json")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "serve":
        serve(args.port, args.seed)
        return 0

    def on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds: the tool and the server are killed

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return bench(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
