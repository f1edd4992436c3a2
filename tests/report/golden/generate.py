"""Make the golden tests' report.json inputs by running ``linkcheck run`` on loopback sites.

The inputs are frozen: test_html_golden.py only reads them, and this script is the record of
how they were made, run once by hand (``.venv/bin/python -m tests.report.golden.generate``).
Each site is served by tests/server.py and crawled by the real command line into a fresh
folder (no config.toml, no cache, no earlier report), so each file is exactly what a first
run writes. Only the servers' ephemeral ports are then replaced by fixed ones, so that
running this again changes the timings, not every URL. The expected HTML is then rendered
from the frozen files by the golden test itself (``LINKCHECK_UPDATE_GOLDEN=1``, see
test_html_golden.py): the port change can reorder hosts in the report's lists, so the
report.html the run wrote is not kept.
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

from tests.server import Reply, TestServer, redirect

GOLDEN = Path(__file__).parent
LINKCHECK = Path(sys.executable).parent / "linkcheck"
# The ports written in the frozen files, in place of the ephemeral ones the servers had.
SITE_PORT, OTHER_PORT, CLOSED_PORT = 8000, 8001, 8009


def titled(title: str, body: str) -> Reply:
    """A page as sites write them: a title, a body over several lines."""
    return Reply(
        200,
        f"<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n<body>\n{body}\n</body></html>",
    )


def image() -> Reply:
    return Reply(200, b"\x89PNG\r\n\x1a\n", content_type="image/png")


def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sites:
    """The crawled site on 127.0.0.1, another site on localhost, and a refused port."""

    def __init__(self, stack: ExitStack) -> None:
        self.site = stack.enter_context(TestServer())
        self.other = stack.enter_context(TestServer(host="localhost"))
        self.closed = closed_port()

    def freeze(self, text: str) -> str:
        """The run's text with the fixed ports: every place a run writes a port."""
        for host, port, fixed in (
            ("127.0.0.1", self.site.port, SITE_PORT),
            ("localhost", self.other.port, OTHER_PORT),
            ("127.0.0.1", self.closed, CLOSED_PORT),
        ):
            text = text.replace(f"{host}:{port}", f"{host}:{fixed}")
            text = text.replace(f"'{host}', {port})", f"'{host}', {fixed})")  # in messages
        return text


def nav(*paths: str) -> str:
    items = "".join(f'<li><a href="{path}">{path.strip("/") or "Home"}</a></li>' for path in paths)
    return f'<nav><ul class="menu">{items}</ul></nav>'


def clean(sites: Sites) -> None:
    menu = nav("/", "/about/", "/docs/", "/contact/")
    other = sites.other.url("/")
    sites.site.routes.update(
        {
            "/": titled(
                "Example — Home",
                f'{menu}\n<h1>Welcome</h1>\n<p><img src="/logo.png" alt="Logo">\n'
                f'<a href="/docs/start">Get started</a> or read <a href="{other}">our partner</a>.'
                f'\n<a href="mailto:team@example.com">Write to us</a></p>',
            ),
            "/about/": titled("About us", f'{menu}\n<p>Since 2009. <a href="/#top">Top</a></p>'),
            "/docs/": titled(
                "Documentation",
                f'{menu}\n<ul>\n<li><a href="start">Getting started</a></li>\n'
                f'<li><a href="{other}guide">The partner\'s guide</a></li>\n</ul>',
            ),
            "/docs/start": titled("Getting started", f'{menu}\n<h2 id="install">Install</h2>'),
            "/contact/": titled("Contact", f'{menu}\n<p><a href="/docs/start#install">Install</a>'),
            "/logo.png": image(),
        }
    )
    sites.other.routes.update(
        {"/": titled("Partner", "hello"), "/guide": titled("Guide", "read me")}
    )


def broken(sites: Sites) -> None:
    menu = nav("/", "/a", "/b", "/c", "/d", "/pricing")  # /pricing is gone: on every page
    other = sites.other.url("/")
    refused = f"http://127.0.0.1:{sites.closed}/status"
    sites.site.routes.update(
        {
            "/": titled("Shop — Home", f'{menu}\n<p><a href="/a">Our products</a></p>'),
            "/a": titled(
                "Products",
                f'{menu}\n<p>See <a href="/gone">the old catalogue</a>\n'
                f'and <a href="/b#no-such-part">the missing part</a>.</p>',
            ),
            "/b": titled(
                "Gallery",
                f'{menu}\n<p><img src="/missing.png" alt="">\n<img src="/shop.png" alt="Shop"></p>',
            ),
            "/c": titled(
                "Partners",
                f'{menu}\n<ul>\n<li><a href="{other}removed">A removed page</a></li>\n'
                f'<li><a href="{refused}">Status page</a></li>\n'
                f'<li><a href="{other}">Partner home</a></li>\n</ul>',
            ),
            "/d": titled("Support", f'{menu}\n<p><a href="/error">Open a ticket</a></p>'),
            "/shop.png": image(),
            "/error": Reply(500, "internal error"),
        }
    )
    sites.other.routes.update(
        {"/": titled("Partner", "hello"), "/removed": Reply(410, "gone for good")}
    )


def redirects(sites: Sites) -> None:
    menu = nav("/", "/blog/", "/team")
    other = sites.other.url("/")
    sites.site.routes.update(
        {
            "/": titled(
                "Journal — Home",
                f'{menu}\n<p><a href="/old-news">News</a>, <a href="/archive">the archive</a>,\n'
                f'<a href="/lang">in English</a> and <a href="/promo">this week</a>.</p>\n'
                f'<p><a href="{other}docs">The docs</a> (<a href="{other}docs#setup">setup</a>)</p>',
            ),
            "/blog/": titled(
                "Blog", f'{menu}\n<p><a href="/old-news">Latest</a>\n<a href="/v1">v1</a>'
            ),
            "/team": titled("Team", f'{menu}\n<p><a href="/archive">Archive</a></p>'),
            "/old-news": redirect("/news/", 301),
            "/news/": titled("News", "<p>news</p>"),
            "/archive": redirect("/archive/2026/", 308),
            "/archive/2026/": titled("Archive", "<p>2026</p>"),
            "/lang": redirect("/en/", 302),
            "/en/": titled("Journal in English", "<p>hello</p>"),
            "/promo": redirect("/promo/winter", 307),
            "/promo/winter": titled("Winter", "<p>sale</p>"),
            "/v1": redirect("/v2", 301),
            "/v2": redirect("/v3/", 301),
            "/v3/": titled("Version 3", "<p>v3</p>"),
        }
    )
    sites.other.routes.update(
        {
            "/docs": redirect(f"{other}documentation/", 301),
            "/documentation/": titled("Docs", '<h2 id="setup">Setup</h2>'),
        }
    )


def interrupted(sites: Sites) -> None:
    """A site slow enough to be stopped half way: each chapter takes a while to answer."""
    chapters = [f"/chapter/{n}" for n in range(1, 41)]
    slow = 0.4
    body = "\n".join(
        f'<li><a href="{path}">Chapter {path.rsplit("/", 1)[1]}</a></li>' for path in chapters
    )
    routes: dict[str, Reply] = {
        "/": titled(
            "Book — Contents", f'<ul>\n{body}\n<li><a href="/errata">Errata</a></li>\n</ul>'
        ),
    }
    for index, path in enumerate(chapters, 1):
        routes[path] = Reply(
            200,
            f"<!DOCTYPE html>\n<html><head><title>Chapter {index}</title></head>\n<body>\n"
            f'<a href="/">Contents</a>\n<a href="/figures/{index}.png">Figure {index}</a>\n'
            f'<a href="/notes/{index}">Notes</a>\n</body></html>',
            delay=slow,
        )
        routes[f"/figures/{index}.png"] = Reply(200, b"png", content_type="image/png", delay=slow)
    sites.site.routes.update(routes)


def large(sites: Sites) -> None:
    """Dozens of pages in sections, a shared menu, and a few hundred links of every kind."""
    chooser = random.Random(18)  # a fixed seed: the same site every time this runs
    sections = ["guide", "api", "blog", "help"]
    pages = [f"/{section}/{n}" for section in sections for n in range(1, 13)]
    menu = nav("/", *(f"/{section}/1" for section in sections), "/shop")  # /shop is gone
    other = sites.other.url("/")
    routes: dict[str, Reply] = {}
    external: dict[str, Reply] = {}
    for index, path in enumerate(pages):
        section = path.split("/")[1]
        lines = [menu, f"<h1>{section.title()} page {index + 1}</h1>"]
        for _ in range(8):  # pages of the site, some of them moved or gone
            target = chooser.choice(pages)
            lines.append(f'<p>See <a href="{target}">{target.strip("/")}</a>.</p>')
        for n in range(chooser.randint(3, 7)):  # the page's own resources and asides
            kind = chooser.random()
            slug = f"{section}-{index}-{n}"
            if kind < 0.08:
                lines.append(f'<a href="/old/{slug}">Older version</a>')
                routes[f"/old/{slug}"] = redirect(f"/{section}/1", 301)
            elif kind < 0.12:
                lines.append(f'<a href="/tmp/{slug}">Today only</a>')
                routes[f"/tmp/{slug}"] = redirect(f"/{section}/2", 302)
            elif kind < 0.2:
                lines.append(f'<a href="/removed/{slug}">Removed page</a>')
            elif kind < 0.45:
                lines.append(f'<img src="/img/{slug}.png" alt="Figure {n}">')
                routes[f"/img/{slug}.png"] = image()
            elif kind < 0.5:
                lines.append(f'<a href="{other}moved/{slug}">Partner article</a>')
                external[f"/moved/{slug}"] = redirect(f"{other}articles/{slug}", 301)
                external[f"/articles/{slug}"] = titled("Article", "text")
            elif kind < 0.55:
                lines.append(f'<a href="{other}deleted/{slug}">Partner note</a>')
            else:
                lines.append(f'<a href="{other}ref/{slug}">Reference {n}</a>')
                external[f"/ref/{slug}"] = titled("Reference", "text")
        routes[path] = titled(f"{section.title()} {index + 1}", "\n".join(lines))
    routes["/"] = titled("Handbook", menu + "\n" + nav(*pages))
    sites.site.routes.update(routes)
    sites.other.routes.update(external)


Scenario = Callable[[Sites], None]
SCENARIOS: dict[str, tuple[Scenario, list[str]]] = {
    "clean": (clean, []),
    "broken": (broken, []),
    "redirects": (redirects, []),
    "interrupted": (interrupted, ["--concurrency", "4"]),
    "large": (large, []),
}


def run(name: str, scenario: Scenario, options: list[str]) -> None:
    with ExitStack() as stack:
        sites = Sites(stack)
        scenario(sites)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        command = [str(LINKCHECK), "run", sites.site.url("/"), "-o", "reports", "-q"]
        command += ["--allow-private", "--format", "json", "--format", "html", *options]
        process = subprocess.Popen(command, cwd=folder)
        if name == "interrupted":
            time.sleep(2.5)
            process.send_signal(signal.SIGINT)
        code = process.wait(timeout=120)
        print(f"{name}: exit {code}")
        text = (folder / "reports" / "report.json").read_text(encoding="utf-8")
        (GOLDEN / f"{name}.json").write_text(sites.freeze(text), encoding="utf-8")


def main(names: Iterator[str]) -> None:
    for name in names:
        scenario, options = SCENARIOS[name]
        run(name, scenario, options)


if __name__ == "__main__":
    main(iter(sys.argv[1:] or SCENARIOS))
