#!/usr/bin/env python3
"""Site shapes for the side-by-side benchmark (issue #21): each one generated with its answer key.

``gensite.py``'s guide is one shape: a flat folder, a shared nav of 50 links, ~10 content links
a page. A checker tuned on it can lose on another, so ``peers.py --shapes`` runs every tool on
each of these:

- ``guide``: ``gensite.py`` as it is (2,000 pages);
- ``docs``: long pages (50-200 KB), a tree 8+ folders deep, ~120 ``id``s a page and many
  ``#fragment`` links, to headings and paragraphs of other pages and of the page itself; some
  name an id the target lacks (planted), a few pages are missing or moved;
- ``blog``: little shared nav (3 links), ~6 external links a post, ~1.5 new external URLs per
  post over 330 hosts (``127.0.0.2`` ...), each host answering after its own latency (20-200
  ms; four take 1-3 s), some paths 404 or redirect, eight hosts refuse every connection;
- ``assets``: ~14 images a page (``srcset`` on a third, ``<picture><source srcset>``), an inline
  ``style`` background, and three stylesheets (site, section, page) whose ``url()``s load
  backgrounds, icons and fonts; missing images, srcset candidates, stylesheets and assets named
  only by a stylesheet are planted;
- ``large``: ``gensite.py``'s guide at 20,000 pages (and 50,000 for the memory run).

Every shape writes what ``peers.py``'s ``Site.load`` reads: ``site.json`` (ports, start URL,
scope, nginx servers) and ``ground_truth.json`` (every unique linked URL counted, the broken
ones, the redirected ones with their final URL, the missing fragments as ``URL#id``, the page
paths). nginx (``serve.py``) serves the site; the blog's external hosts are one asyncio process
of this file (``serve-hosts``) listening on every host's loopback address, one port, never on
0.0.0.0. Stdlib only, deterministic for a seed.

    python bench/shapes.py gen --shape docs --pages 200 --out /tmp/docs
    python bench/shapes.py verify --site /tmp/docs     # serve it, crawl it, compare with the key
    python bench/shapes.py serve --site /tmp/docs      # serve until Ctrl-C
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import gensite  # noqa: E402
from gensite_other import letters, relative  # noqa: E402
from serve import NginxServer, find_free_port_block  # noqa: E402

SHAPES = ("guide", "docs", "blog", "assets", "large")
DEFAULT_PAGES = 2000  # every shape but large; --pages scales them
LARGE_PAGES = 20_000
MEMORY_PAGES = 50_000  # the large shape again, for peak memory only

WORDS = (  # noqa: SIM905 - a word list reads better as prose; no word a soft-404 check reads
    "archive build cache channel column config daemon deploy digest driver engine export field "
    "filter format graph handler index kernel layer ledger matrix module network option packet "
    "pipeline policy portal record region release replica router schema script sector server "
    "signal socket source stream switch table tenant thread token update vector volume widget"
).split()

# -- docs ---------------------------------------------------------------------------------
DOCS_LEAF = 8  # pages in a leaf folder
DOCS_MIN_DEPTH = 8  # folders below /docs/
DOCS_LEVELS = ("guide", "part", "book", "unit", "topic", "area", "block", "leaf", "cell", "nook")
DOCS_MIN_BYTES, DOCS_MAX_BYTES = 50_000, 200_000
DOCS_BYTES_PER_LINK = 2_500  # content links: one per this many bytes of the page
DOCS_FRAGMENT_SHARE = 0.7  # content links that carry a #fragment
DOCS_MISSING_FRAGMENT_SHARE = 0.03  # of those: an id the target does not have
DOCS_TOC_MISSING_SHARE = 0.05  # pages whose table of contents names an id they lack
DOCS_BROKEN_SHARE = 0.004  # content links to missing pages
DOCS_MOVED_SHARE = 0.004  # content links to old paths that redirect

# -- blog ---------------------------------------------------------------------------------
BLOG_TAGS = 12
BLOG_PER_ARCHIVE = 25  # posts listed on an archive page
BLOG_HOSTS = 330  # external hosts that answer
BLOG_DEAD_HOSTS = 8  # external hosts that refuse every connection
BLOG_SLOW_HOSTS = (1.0, 1.5, 2.0, 3.0)  # seconds: a few slow hosts, under every tool's timeout
BLOG_LATENCY_MS = (20, 200)
BLOG_NEW_EXTERNAL = 1.5  # new external URLs a post brings, on average
BLOG_EXTERNAL_LINKS = 6  # external links a post
BLOG_EXT_404_SHARE = 0.06
BLOG_EXT_REDIRECT_SHARE = 0.04
BLOG_BROKEN_SHARE = 0.01  # internal links to missing posts

# -- assets -------------------------------------------------------------------------------
ASSETS_FOLDER = 50  # pages a section folder
ASSETS_IMAGES = 10  # <img> a page
ASSETS_SRCSET_SHARE = 0.35  # images with a srcset
ASSETS_PICTURES = 2  # <picture> with <source srcset> a page
ASSETS_RELATED = 4  # links to random pages of the gallery
ASSETS_PAGE_CSS_URLS = (4, 8)  # url()s in a page's own stylesheet
ASSETS_MISSING_IMAGE = 0.01
ASSETS_MISSING_CANDIDATE = 0.01  # a srcset candidate that is missing
ASSETS_MISSING_CSS = 0.02  # pages whose own stylesheet is missing
ASSETS_MISSING_CSS_URL = 0.03  # url()s in a stylesheet naming a missing asset
ASSETS_MOVED_IMAGE = 0.005  # images at an old path that redirects
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

LINKCHECKER_HEADER = b"LinkChecker: bench\r\n"  # see peers.LINKCHECKER_HEADER: lifts its spacing


# -- the answer key and the files ---------------------------------------------------------


class Site:
    """One site being written: its files, nginx rules and answer key, as links are emitted.

    A link is recorded with what it must be (working, broken, redirected to a final URL); the
    generator knows because it decides which files exist. ``verify`` checks that nginx and the
    host server answer as recorded.
    """

    def __init__(self, out: Path, shape: str, seed: int, port: int, scope: str) -> None:
        self.out, self.shape, self.seed, self.port, self.scope = out, shape, seed, port, scope
        self.origin = f"http://127.0.0.1:{port}"
        self.rng = random.Random(seed)
        self.root = out / "www" / "main"
        self.rules: dict[str, str] = {}  # main host: old path -> new path (301)
        self.linked: set[str] = set()
        self.broken: set[str] = set()
        self.redirected: dict[str, str] = {}
        self.missing_fragments: set[str] = set()
        self.in_html: set[str] = set()  # URLs an HTML page links to (the rest: stylesheets only)
        self.occurrences = 0
        self.page_paths: list[str] = []
        self.extra: dict[str, Any] = {}  # more of site.json

    def write(self, path: str, data: str | bytes) -> None:
        f = self.root / path.lstrip("/")
        f.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            f.write_text(data, encoding="utf-8")
        else:
            f.write_bytes(data)

    def page(self, path: str, html: str) -> None:
        self.page_paths.append(path)
        self.write(path, html)

    def link(
        self, url: str, broken: bool = False, final: str | None = None, html: bool = True
    ) -> None:
        """Record one occurrence of the absolute, fragment-less ``url``."""
        self.occurrences += 1
        self.linked.add(url)
        if html:
            self.in_html.add(url)
        if broken:
            self.broken.add(url)
        elif final is not None:
            self.redirected[url] = final

    def href(self, from_dir: str, path: str, fragment: str = "") -> str:
        """A link to the main host's ``path`` written relative, root-relative or absolute."""
        r = self.rng.random()
        h = relative(from_dir, path) if r < 0.5 else path if r < 0.85 else self.origin + path
        return h + ("#" + fragment if fragment else "")

    def finish(self, pages_asked: int, start_path: str) -> dict[str, Any]:
        conf = self.out / "nginx"
        conf.mkdir(parents=True, exist_ok=True)
        rules = [f"location = {a} {{ return 301 {b}; }}" for a, b in sorted(self.rules.items())]
        (conf / "main.conf").write_text(
            f"# generated by bench/shapes.py ({self.shape}, seed {self.seed})\n"
            + "\n".join(rules)
            + "\n",
            encoding="utf-8",
        )
        meta = {
            "generator": f"bench/shapes.py {self.shape}",
            "shape": self.shape,
            "seed": self.seed,
            "pages": len(self.page_paths),
            "pages_asked": pages_asked,
            "host": "127.0.0.1",
            "port": self.port,
            "start_url": self.origin + start_path,
            "scope_prefix": self.origin + self.scope,
            "servers": [{"name": "main", "port": self.port, "root": str(self.root.resolve())}],
            **self.extra,
        }
        (self.out / "site.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        truth = {
            "seed": self.seed,
            "shape": self.shape,
            "pages": len(self.page_paths),
            "start_url": self.origin + start_path,
            "unique_urls": len(self.linked),
            "link_occurrences": self.occurrences,
            "broken": sorted(self.broken),
            "redirected": dict(sorted(self.redirected.items())),
            "missing_fragments": sorted(self.missing_fragments),
            "broken_only_in_stylesheets": sorted(self.broken - self.in_html),
            "page_paths": self.page_paths,
        }
        (self.out / "ground_truth.json").write_text(
            json.dumps(truth, indent=1) + "\n", encoding="utf-8"
        )
        return truth


def sentences(rng: random.Random, count: int = 4000) -> list[str]:
    out = []
    for _ in range(count):
        s = " ".join(rng.choices(WORDS, k=rng.randint(8, 18)))
        out.append(s[0].upper() + s[1:] + ".")
    return out


def prose(rng: random.Random, pool: list[str], size: int) -> str:
    """About ``size`` characters of text."""
    return " ".join(rng.choices(pool, k=max(1, size // 95)))


def html_page(title: str, head: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n{head}</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def unit(i: int, salt: int) -> float:
    """A number in [0, 1) fixed by ``i`` (Knuth's multiplicative hash): what a page has is
    known before it is written, so links into it can name its ids."""
    return (((i * 2654435761 + salt * 40503) ^ (salt * 97)) & 0xFFFFFFFF) / 2**32


# -- docs ---------------------------------------------------------------------------------


class Docs:
    """Long pages in a deep tree, many ids, many fragment links."""

    def __init__(self, site: Site, pages: int) -> None:
        self.s, self.n = site, max(pages, DOCS_LEAF + 1)
        folders = -(-(self.n - 1) // DOCS_LEAF)
        self.depth = max(DOCS_MIN_DEPTH, (folders - 1).bit_length())
        self.pool = sentences(site.rng)
        self.missing = [self.dir(k * 7 % folders) + f"retired-{letters(k)}.html" for k in range(25)]
        self.moved = {
            self.dir(k * 5 % folders) + f"old-{letters(k)}.html": site.rng.randrange(1, self.n)
            for k in range(25)
        }
        for old, target in self.moved.items():
            site.rules[old] = self.path(target)

    def dir(self, folder: int) -> str:
        levels = [
            f"{DOCS_LEVELS[k % len(DOCS_LEVELS)]}-{(folder >> (self.depth - 1 - k)) & 1}"
            for k in range(self.depth)
        ]
        return "/docs/" + "/".join(levels) + "/"

    def path(self, i: int) -> str:
        if i == 0:
            return "/docs/index.html"
        return self.dir((i - 1) // DOCS_LEAF) + f"{WORDS[i % len(WORDS)]}-{letters(i)}.html"

    @staticmethod
    def sections(i: int) -> int:
        return 20 + int(unit(i, 1) * 41)  # 20..60 headings

    @staticmethod
    def paras(i: int, k: int) -> int:
        return 1 + int(unit(i * 131 + k, 2) * 3)  # 1..3 paragraphs a heading, each with an id

    def size(self, i: int) -> int:
        return DOCS_MIN_BYTES + int(unit(i, 3) * (DOCS_MAX_BYTES - DOCS_MIN_BYTES))

    def target(self, i: int, page_dir: str) -> str:
        """One content link from page ``i``, recorded."""
        s, rng = self.s, self.s.rng
        r = rng.random()
        if r < DOCS_BROKEN_SHARE:
            p = rng.choice(self.missing)
            s.link(s.origin + p, broken=True)
            return s.href(page_dir, p)
        if r < DOCS_BROKEN_SHARE + DOCS_MOVED_SHARE:
            old = rng.choice(sorted(self.moved))
            s.link(s.origin + old, final=s.origin + self.path(self.moved[old]))
            return s.href(page_dir, old)
        j = rng.randrange(self.n)
        while j == i:
            j = rng.randrange(self.n)
        url = s.origin + self.path(j)
        s.link(url)
        fragment = ""
        if rng.random() < DOCS_FRAGMENT_SHARE:
            k = rng.randint(1, self.sections(j))
            fragment = f"s{k}" if rng.random() < 0.5 else f"s{k}p{rng.randint(1, self.paras(j, k))}"
            if rng.random() < DOCS_MISSING_FRAGMENT_SHARE:
                fragment = f"s{self.sections(j) + rng.randint(1, 9)}"
                s.missing_fragments.add(f"{url}#{fragment}")
        return s.href(page_dir, self.path(j), fragment)

    def render(self, i: int) -> str:
        s, rng = self.s, self.s.rng
        path = self.path(i)
        here = path.rsplit("/", 1)[0] + "/"
        url = s.origin + path
        title = f"{WORDS[i % len(WORDS)].title()} {letters(i)}"
        top: list[str] = []

        def a(target: str, text: str, where: list[str]) -> None:
            where.append(f'<a href="{target}">{text}</a>')

        s.link(s.origin + "/docs/index.html")
        a(s.href(here, "/docs/index.html"), "Docs home", top)
        folder = (i - 1) // DOCS_LEAF if i else 0
        first = 1 + folder * DOCS_LEAF
        for j in range(first, min(self.n, first + DOCS_LEAF)):
            s.link(s.origin + self.path(j))
            a(relative(here, self.path(j)), f"{letters(j)}", top)
        for j in (i - 1, i + 1):
            if 0 <= j < self.n:
                s.link(s.origin + self.path(j))
                a(s.href(here, self.path(j)), "Previous" if j < i else "Next", top)
        n_sec = self.sections(i)
        toc: list[str] = []
        for k in range(1, n_sec + 1):
            s.link(url)
            a(f"#s{k}", f"Part {k}", toc)
        if rng.random() < DOCS_TOC_MISSING_SHARE:
            s.link(url)
            a(f"#s{n_sec + 5}", "Appendix", toc)
            s.missing_fragments.add(f"{url}#s{n_sec + 5}")
        n_para = sum(self.paras(i, k) for k in range(1, n_sec + 1))
        para_size = max(200, self.size(i) // n_para)
        n_links = max(1, self.size(i) // DOCS_BYTES_PER_LINK)
        per_para = [0] * n_para
        for _ in range(n_links):
            per_para[rng.randrange(n_para)] += 1
        body: list[str] = []
        p = 0
        for k in range(1, n_sec + 1):
            body.append(f'<h2 id="s{k}">Part {k}: {rng.choice(WORDS)}</h2>')
            for m in range(1, self.paras(i, k) + 1):
                links = [
                    f'<a href="{self.target(i, here)}">{rng.choice(WORDS)}</a>'
                    for _ in range(per_para[p])
                ]
                text = prose(rng, self.pool, para_size)
                body.append(f'<p id="s{k}p{m}">{text} {" ".join(links)}</p>')
                p += 1
        return html_page(
            title,
            "",
            f'<header>{" ".join(top)}</header>\n<nav class="toc">{" ".join(toc)}</nav>\n'
            f'<main>\n<h1 id="top">{title}</h1>\n' + "\n".join(body) + "\n</main>",
        )

    def build(self) -> str:
        for i in range(self.n):
            self.s.page(self.path(i), self.render(i))
        return self.path(0)


# -- blog ---------------------------------------------------------------------------------


def host_address(k: int) -> str:
    """The k-th external host's loopback address: 127.0.0.2, ..., 127.0.0.254, 127.0.1.1, ..."""
    third, last = divmod(k + 1, 254)  # .0 and .255 of each /24 left out, and 127.0.0.1
    return f"127.0.{third}.{last + 1}"


class Blog:
    """Posts with little shared nav and many external links over hundreds of slow-ish hosts."""

    def __init__(self, site: Site, pages: int, host_port: int) -> None:
        self.s, rng = site, site.rng
        self.pool_text = sentences(rng, 2000)
        self.tags = [f"/blog/tag/{w}.html" for w in WORDS[:BLOG_TAGS]]
        fixed = 2 + BLOG_TAGS  # index, about, tags
        self.posts = max(
            BLOG_PER_ARCHIVE, (pages - fixed) * BLOG_PER_ARCHIVE // (BLOG_PER_ARCHIVE + 1)
        )
        self.archives = -(-self.posts // BLOG_PER_ARCHIVE)
        self.host_port = host_port
        n_hosts = BLOG_HOSTS + BLOG_DEAD_HOSTS
        addrs = [host_address(k) for k in range(n_hosts)]
        self.dead = set(addrs[BLOG_HOSTS:])
        self.hosts: dict[str, dict[str, Any]] = {}
        for k, addr in enumerate(addrs[:BLOG_HOSTS]):
            lo, hi = BLOG_LATENCY_MS
            latency = math.exp(rng.uniform(math.log(lo), math.log(hi))) / 1000
            if k < len(BLOG_SLOW_HOSTS):
                latency = BLOG_SLOW_HOSTS[k]
            self.hosts[addr] = {"latency": round(latency, 3), "paths": {}}
        # Every external URL, in the order posts first link to them: (URL, broken, final).
        self.ext: list[tuple[str, bool, str | None]] = []
        for j in range(int(self.posts * BLOG_NEW_EXTERNAL) + 1):
            addr = addrs[rng.randrange(n_hosts)]
            path = f"/{rng.choice(WORDS)}/{2010 + j % 15}/{rng.choice(WORDS)}-{letters(j)}.html"
            url = f"http://{addr}:{host_port}{path}"
            if addr in self.dead:
                self.ext.append((url, True, None))
                continue
            paths = self.hosts[addr]["paths"]
            r = rng.random()
            if r < BLOG_EXT_404_SHARE:
                self.ext.append((url, True, None))  # not in its paths: 404
            elif r < BLOG_EXT_404_SHARE + BLOG_EXT_REDIRECT_SHARE:
                new = path.replace(".html", "-moved.html")
                paths[path] = f"http://{addr}:{host_port}{new}"
                paths[new] = 200
                self.ext.append((url, False, f"http://{addr}:{host_port}{new}"))
            else:
                paths[path] = 200
                self.ext.append((url, False, None))
        self.cursor = 0

    def post_path(self, p: int) -> str:
        year, month = 2015 + p * 10 // self.posts, 1 + (p * 120 // self.posts) % 12
        return f"/blog/{year}/{month:02d}/{WORDS[p % len(WORDS)]}-{letters(p)}.html"

    def archive_path(self, k: int) -> str:
        return f"/blog/archive/page-{letters(k)}.html"

    def nav(self, here: str) -> list[str]:
        s = self.s
        out = []
        for target, text in (
            ("/blog/index.html", "Home"),
            (self.archive_path(0), "Archive"),
            ("/blog/about.html", "About"),
        ):
            s.link(s.origin + target)
            out.append(f'<a href="{s.href(here, target)}">{text}</a>')
        return out

    def local(self, here: str, target: str, text: str, broken: bool = False) -> str:
        self.s.link(self.s.origin + target, broken=broken)
        return f'<a href="{self.s.href(here, target)}">{text}</a>'

    def external(self) -> str:
        rng = self.s.rng
        if self.cursor < len(self.ext) and rng.random() < BLOG_NEW_EXTERNAL / BLOG_EXTERNAL_LINKS:
            url, broken, final = self.ext[self.cursor]
            self.cursor += 1
        else:  # one seen before, popular ones more often
            seen = max(1, self.cursor)
            url, broken, final = self.ext[min(seen - 1, int(seen * rng.random() ** 2))]
        self.s.link(url, broken=broken, final=final)
        return f'<a href="{url}">{url.rsplit("/", 1)[1]}</a>'

    def listing(self, here: str, title: str, posts: range | list[int], extra: list[str]) -> str:
        items = [f"<li>{self.local(here, self.post_path(p), letters(p))}</li>" for p in posts]
        body = (
            f"<header>{' '.join(self.nav(here))}</header>\n<main><h1>{title}</h1>\n"
            f"<ul>{''.join(items)}</ul>\n<p>{' '.join(extra)}</p></main>"
        )
        return html_page(title, "", body)

    def build(self) -> str:
        s, rng = self.s, self.s.rng
        by_tag: dict[int, list[int]] = {t: [] for t in range(BLOG_TAGS)}
        post_tags = [rng.sample(range(BLOG_TAGS), 2) for _ in range(self.posts)]
        for p, tags in enumerate(post_tags):
            for t in tags:
                by_tag[t].append(p)
        for p in range(self.posts):
            path = self.post_path(p)
            here = path.rsplit("/", 1)[0] + "/"
            links = [self.local(here, self.tags[t], WORDS[t]) for t in post_tags[p]]
            for q in (p - 1, p + 1):
                if 0 <= q < self.posts:
                    links.append(self.local(here, self.post_path(q), "Older" if q < p else "Newer"))
            if p and rng.random() < 0.6:
                q = rng.randrange(p)
                links.append(self.local(here, self.post_path(q), "Related"))
            if rng.random() < BLOG_BROKEN_SHARE * 3:
                gone = f"/blog/drafts/{rng.choice(WORDS)}-{letters(rng.randrange(50))}.html"
                links.append(self.local(here, gone, "Draft", broken=True))
            paras = []
            for _ in range(BLOG_EXTERNAL_LINKS):
                paras.append(f"<p>{prose(rng, self.pool_text, 500)} {self.external()}</p>")
            body = (
                f"<header>{' '.join(self.nav(here))}</header>\n<article><h1>Post {letters(p)}"
                f"</h1>\n{''.join(paras)}\n<footer>{' '.join(links)}</footer></article>"
            )
            s.page(path, html_page(f"Post {letters(p)}", "", body))
        for k in range(self.archives):
            here = "/blog/archive/"
            # pagination: first, last, the next and previous, ten on either side
            pager = sorted({0, self.archives - 1, k - 10, k - 1, k + 1, k + 10} - {k})
            extra = [
                self.local(here, self.archive_path(m), f"Page {letters(m)}")
                for m in pager
                if 0 <= m < self.archives
            ]
            posts = range(k * BLOG_PER_ARCHIVE, min(self.posts, (k + 1) * BLOG_PER_ARCHIVE))
            s.page(self.archive_path(k), self.listing(here, f"Archive {letters(k)}", posts, extra))
        for t in range(BLOG_TAGS):
            s.page(self.tags[t], self.listing("/blog/tag/", WORDS[t], by_tag[t][-30:], []))
        tag_links = [self.local("/blog/", self.tags[t], WORDS[t]) for t in range(BLOG_TAGS)]
        s.page(
            "/blog/index.html",
            self.listing("/blog/", "Blog", range(max(0, self.posts - 10), self.posts), tag_links),
        )
        about = [self.external() for _ in range(3)]
        s.page("/blog/about.html", self.listing("/blog/", "About", [], about))
        spec = {"port": self.host_port, "hosts": self.hosts}
        (s.out / "hosts.json").write_text(json.dumps(spec) + "\n", encoding="utf-8")
        s.extra["hosts_server"] = {
            "spec": "hosts.json",
            "port": self.host_port,
            "hosts": len(self.hosts),
            "dead_hosts": sorted(self.dead),
        }
        return "/blog/index.html"


# -- assets -------------------------------------------------------------------------------


class Assets:
    """Pages heavy with images, srcset and stylesheets whose url()s load more files."""

    def __init__(self, site: Site, pages: int) -> None:
        self.s, self.n = site, max(pages, 2)
        rng = site.rng
        self.images = [
            f"/gallery/img/{k // 100:02d}/{rng.choice(WORDS)}-{letters(k)}"
            for k in range(3 * self.n)
        ]
        self.backgrounds = [
            f"/gallery/bg/{k // 100:02d}/{rng.choice(WORDS)}-{letters(k)}.jpg"
            for k in range(self.n)
        ]
        self.fonts = [f"/gallery/fonts/{w}.woff2" for w in WORDS[:8]]
        self.written: set[str] = set()
        self.sections = -(-self.n // ASSETS_FOLDER)
        self.section_css_written: set[int] = set()
        self.image_cursor = 0

    def path(self, i: int) -> str:
        if i == 0:
            return "/gallery/index.html"
        return f"/gallery/s{(i - 1) // ASSETS_FOLDER:02d}/{WORDS[i % len(WORDS)]}-{letters(i)}.html"

    def ensure(self, path: str) -> None:
        if path not in self.written:
            self.written.add(path)
            self.s.write(path, TINY_PNG)

    def asset(self, path: str, html: bool, from_dir: str) -> str:
        """A working asset (written once), recorded; the href to write."""
        self.ensure(path)
        self.s.link(self.s.origin + path, html=html)
        return relative(from_dir, path) if self.s.rng.random() < 0.5 else path

    def missing(self, path: str, html: bool, from_dir: str) -> str:
        self.s.link(self.s.origin + path, broken=True, html=html)
        return relative(from_dir, path) if self.s.rng.random() < 0.5 else path

    def image(self, here: str) -> tuple[str, str]:
        """One <img>: (src, srcset or "") recorded."""
        s, rng = self.s, self.s.rng
        if self.image_cursor < len(self.images) and rng.random() < 0.3:
            base = self.images[self.image_cursor]
            self.image_cursor += 1
        else:
            base = self.images[int(len(self.images) * rng.random() ** 2)]
        r = rng.random()
        if r < ASSETS_MISSING_IMAGE:
            src = self.missing(base.replace("/img/", "/img/lost/") + ".png", True, here)
        elif r < ASSETS_MISSING_IMAGE + ASSETS_MOVED_IMAGE:
            old = base.replace("/img/", "/img/old/") + ".png"
            s.rules[old] = base + ".png"
            self.ensure(base + ".png")
            s.link(s.origin + old, final=s.origin + base + ".png")
            src = old
        else:
            src = self.asset(base + ".png", True, here)
        if rng.random() >= ASSETS_SRCSET_SHARE:
            return src, ""
        candidates = []
        for width in (480, 960):
            p = f"{base}-{width}w.png"
            if rng.random() < ASSETS_MISSING_CANDIDATE:
                candidates.append(self.missing(p.replace("-", "-gone-", 1), True, here))
            else:
                candidates.append(self.asset(p, True, here))
            candidates[-1] += f" {width}w"
        return src, ", ".join(candidates)

    def stylesheet(self, path: str, urls: int, missing_share: float) -> None:
        """A stylesheet of ``urls`` url()s (backgrounds and fonts), some missing, recorded."""
        s, rng = self.s, self.s.rng
        here = path.rsplit("/", 1)[0] + "/"
        rules = []
        for k in range(urls):
            if k == 0:
                target = rng.choice(self.fonts)
            else:
                target = self.backgrounds[int(len(self.backgrounds) * rng.random() ** 1.5)]
            if rng.random() < missing_share:
                ref = self.missing(target.replace(".", "-gone.", 1), False, here)
            else:
                ref = self.asset(target, False, here)
            if k == 0:
                rules.append(
                    f'@font-face {{ font-family: f{k}; src: url("{ref}") format("woff2"); }}'
                )
            else:
                rules.append(f".b{k} {{ background: #fff url({ref}) no-repeat; }}")
        s.write(path, "\n".join(rules) + "\n")

    def render(self, i: int) -> str:
        s, rng = self.s, self.s.rng
        path = self.path(i)
        here = path.rsplit("/", 1)[0] + "/"
        section = (i - 1) // ASSETS_FOLDER if i else 0
        head = []
        site_css = "/gallery/css/site.css"
        s.link(s.origin + site_css)
        head.append(f'<link rel="stylesheet" href="{s.href(here, site_css)}">')
        sec_css = f"/gallery/css/section-{section:02d}.css"
        if section not in self.section_css_written:
            self.section_css_written.add(section)
            self.stylesheet(sec_css, 6, ASSETS_MISSING_CSS_URL)
        s.link(s.origin + sec_css)
        head.append(f'<link rel="stylesheet" href="{s.href(here, sec_css)}">')
        own_css = f"/gallery/css/page/{WORDS[i % len(WORDS)]}-{letters(i)}.css"
        if rng.random() < ASSETS_MISSING_CSS:
            s.link(s.origin + own_css, broken=True)
        else:
            self.stylesheet(own_css, rng.randint(*ASSETS_PAGE_CSS_URLS), ASSETS_MISSING_CSS_URL)
            s.link(s.origin + own_css)
        head.append(f'<link rel="stylesheet" href="{s.href(here, own_css)}">')
        nav = []
        for j in [
            0,
            *range(1 + section * ASSETS_FOLDER, min(self.n, 1 + (section + 1) * ASSETS_FOLDER)),
        ][:12]:
            s.link(s.origin + self.path(j))
            nav.append(f'<a href="{s.href(here, self.path(j))}">{letters(j)}</a>')
        # "more like this": without links across the site a page would be as many clicks
        # deep as its place in the prev/next chain, past every crawler's depth limit
        related = [(rng.randrange(self.n), "Related") for _ in range(ASSETS_RELATED)]
        for j, text in [(i - 1, "Previous"), (i + 1, "Next"), *related]:
            if 0 <= j < self.n and j != i:
                s.link(s.origin + self.path(j))
                nav.append(f'<a href="{s.href(here, self.path(j))}">{text}</a>')
        figures = []
        for _ in range(ASSETS_IMAGES):
            src, srcset = self.image(here)
            extra = f' srcset="{srcset}" sizes="50vw"' if srcset else ""
            figures.append(f'<figure><img src="{src}"{extra} alt="{rng.choice(WORDS)}"></figure>')
        for _ in range(ASSETS_PICTURES):
            base = self.images[rng.randrange(len(self.images))]
            one = self.asset(base + ".webp", True, here)
            two = self.asset(base + "@2x.webp", True, here)
            fallback = self.asset(base + ".png", True, here)
            figures.append(
                f'<picture><source type="image/webp" srcset="{one} 1x, {two} 2x">'
                f'<img src="{fallback}" alt="{rng.choice(WORDS)}"></picture>'
            )
        hero = self.asset(self.backgrounds[rng.randrange(len(self.backgrounds))], True, here)
        body = (
            f"<nav>{' '.join(nav)}</nav>\n"
            f'<main><div class="hero" style="background-image: url(\'{hero}\')"></div>\n'
            f"<h1>Gallery {letters(i)}</h1>\n" + "\n".join(figures) + "</main>"
        )
        return html_page(f"Gallery {letters(i)}", "\n".join(head) + "\n", body)

    def build(self) -> str:
        self.stylesheet("/gallery/css/site.css", 8, 0.0)
        for i in range(self.n):
            self.s.page(self.path(i), self.render(i))
        return self.path(0)


# -- generating ---------------------------------------------------------------------------


def generate(shape: str, out: Path, pages: int, seed: int) -> dict[str, Any]:
    """Write the shape's site into ``out`` (a folder this made, or a new one); its answer key."""
    if shape not in SHAPES:
        raise SystemExit(f"unknown shape {shape!r}; choose from {', '.join(SHAPES)}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not (out / "site.json").exists():
            raise SystemExit(f"{out} is not empty and holds no generated site; refusing")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    if shape in ("guide", "large"):
        truth: dict[str, Any] = gensite.generate(out, pages, find_free_port_block(4), seed)
        return truth
    ports = find_free_port_block(2)
    scope = {"docs": "/docs/", "blog": "/blog/", "assets": "/gallery/"}[shape]
    site = Site(out, shape, seed, ports, scope)
    if shape == "docs":
        start = Docs(site, pages).build()
    elif shape == "blog":
        start = Blog(site, pages, ports + 1).build()
    else:
        start = Assets(site, pages).build()
    return site.finish(pages, start)


def default_pages(shape: str, pages: int) -> int:
    return LARGE_PAGES if shape == "large" else pages


# -- the blog's external hosts: one asyncio process, every host's address -------------------

NOT_FOUND = b"<!DOCTYPE html><html><head><title>Gone</title></head><body><p>Gone.</p></body></html>"


def page_body(host: str, path: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>{path.rsplit('/', 1)[1]}</title></head>"
        f"<body><h1>{host}</h1><p>{' '.join(WORDS[:40])}</p></body></html>"
    ).encode()


async def serve_hosts(spec: dict[str, Any]) -> None:
    hosts: dict[str, dict[str, Any]] = spec["hosts"]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("sockname")[0]
        host = hosts[addr]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                method, target, version = line.split(" ", 2)
                lower = head.lower()
                keep = b"connection: close" not in lower and (
                    version.strip() != "HTTP/1.0" or b"connection: keep-alive" in lower
                )
                await asyncio.sleep(host["latency"])
                answer = host["paths"].get(urlsplit(target).path)
                if answer == 200:
                    status, extra, body = "200 OK", b"", page_body(addr, target)
                elif answer is None:
                    status, extra, body = "404 Not Found", b"", NOT_FOUND
                else:
                    status, extra, body = "301 Moved Permanently", b"", b""
                    extra = f"Location: {answer}\r\n".encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                    f"Content-Length: {len(body)}\r\n".encode()
                    + extra
                    + LINKCHECKER_HEADER
                    + (b"" if keep else b"Connection: close\r\n")
                    + b"\r\n"
                    + (b"" if method == "HEAD" else body)
                )
                await writer.drain()
                if not keep:
                    break
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(
        handle, host=sorted(hosts), port=spec["port"], reuse_address=True, backlog=1024
    )
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


class HostsServer:
    """``serve-hosts`` as a child in its own session, stopped on exit whatever happens."""

    def __init__(self, site_dir: Path) -> None:
        self.site_dir = site_dir
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> HostsServer:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve-hosts", str(self.site_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "ready", or EOF if it failed (its error on stderr)
        if line.strip() != "ready":
            self.__exit__(None, None, None)
            raise SystemExit(f"the external hosts' server did not start ({self.site_dir})")
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def serving(site_dir: Path, nginx_workers: int = 1) -> Iterator[None]:
    """nginx for the site, and the external hosts' server when the shape has one."""
    meta = json.loads((site_dir / "site.json").read_text())
    with contextlib.ExitStack() as stack:
        stack.enter_context(NginxServer(site_dir, workers=nginx_workers))
        if meta.get("hosts_server"):
            stack.enter_context(HostsServer(site_dir))
        yield


# -- verification: a plain crawl of what is served, against the answer key -----------------

HTML_URL = re.compile(r'\s(href|src|srcset|style)="([^"]*)"')
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
ID = re.compile(r'\sid="([^"]+)"')


def request(url: str, method: str = "GET") -> tuple[int, str | None, bytes]:
    """One request, no redirect followed: (status, Location, body); status 0: no answer."""
    import http.client

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        conn.request(method, parts.path or "/")
        resp = conn.getresponse()
        return resp.status, resp.getheader("Location"), resp.read()
    except OSError:
        return 0, None, b""
    finally:
        conn.close()


def links_of(base: str, text: str, css: bool) -> list[str]:
    """The URLs a page or stylesheet written by this file names (its markup is regular)."""
    if css:
        return [urljoin(base, u) for u in CSS_URL.findall(text)]
    out = []
    for attr, value in HTML_URL.findall(text):
        value = value.replace("&amp;", "&")
        if attr == "srcset":
            out += [urljoin(base, c.split()[0]) for c in value.split(",") if c.strip()]
        elif attr == "style":
            out += [urljoin(base, u) for u in CSS_URL.findall(value)]
        else:
            out.append(urljoin(base, value))
    return out


def verify(site_dir: Path) -> list[str]:
    """Crawl the served site (pages and stylesheets in scope), ask every other URL once, and
    compare with ground_truth.json: pages, unique URLs, broken, redirected, missing fragments."""
    meta = json.loads((site_dir / "site.json").read_text())
    truth = json.loads((site_dir / "ground_truth.json").read_text())
    scope = meta["scope_prefix"]
    seen: set[str] = {meta["start_url"]}
    fragments: set[str] = set()
    ids: dict[str, set[str]] = {}
    status: dict[str, int] = {}
    final: dict[str, str] = {}
    todo = [meta["start_url"]]
    pages = 0

    def resolve(url: str) -> tuple[str, int]:
        code, location, _ = request(url, "GET")
        hops, at = 0, url
        while 300 <= code < 400 and location and hops < 5:
            at = urljoin(at, location)
            code, location, _ = request(at, "GET")
            hops += 1
        return at, code

    with ThreadPoolExecutor(32) as pool:
        while todo:
            batch, todo = todo, []
            answers = list(pool.map(request, batch))
            for url, (code, _, body) in zip(batch, answers, strict=True):
                status[url] = code
                if 300 <= code < 400:
                    continue
                if code != 200 or not url.startswith(scope):
                    continue
                css = url.endswith(".css")
                if not css and not url.endswith(".html"):
                    continue
                text = body.decode("utf-8")
                pages += not css
                if not css:
                    ids[url] = set(ID.findall(text))
                for link in links_of(url, text, css):
                    plain, frag = urldefrag(link)
                    if frag:
                        fragments.add(f"{plain}#{frag}")
                    if plain not in seen:
                        seen.add(plain)
                        todo.append(plain)
        moved = [u for u, c in status.items() if 300 <= c < 400]
        for url, (at, code) in zip(moved, pool.map(resolve, moved), strict=True):
            final[url] = at if code == 200 else f"{at} ({code})"
    problems = []
    if pages != truth["pages"]:
        problems.append(f"reached {pages} pages, the key says {truth['pages']}")
    if len(status) != truth["unique_urls"]:
        problems.append(f"saw {len(status)} unique URLs, the key says {truth['unique_urls']}")
    broken = {u for u, c in status.items() if c >= 400 or c == 0}
    if broken != set(truth["broken"]):
        problems.append(
            f"broken: not planted {sorted(broken - set(truth['broken']))[:5]}, "
            f"planted but working {sorted(set(truth['broken']) - broken)[:5]}"
        )
    if final != truth["redirected"]:
        diff = set(final.items()) ^ set(truth["redirected"].items())
        problems.append(f"redirects differ: {sorted(diff)[:5]}")
    missing = {
        f
        for f in fragments
        if urldefrag(f)[0] in ids and urldefrag(f)[1] not in ids[urldefrag(f)[0]]
    }
    if missing != set(truth.get("missing_fragments", [])):
        want = set(truth.get("missing_fragments", []))
        problems.append(
            f"missing fragments: not planted {sorted(missing - want)[:5]}, "
            f"planted but present {sorted(want - missing)[:5]}"
        )
    print(
        f"verify: {pages} pages, {len(status)} unique URLs, {len(broken)} broken, "
        f"{len(final)} redirected, {len(missing)} missing fragments -> "
        + ("OK" if not problems else "MISMATCH"),
        file=sys.stderr,
    )
    return problems


def verify_site(site_dir: Path) -> list[str]:
    """The shape's own self-check (the guide's is gensite.verify)."""
    meta = json.loads((site_dir / "site.json").read_text())
    return verify(site_dir) if meta.get("shape") else gensite.verify(site_dir)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="generate a shape's site and its answer key")
    g.add_argument("--shape", choices=SHAPES, required=True)
    g.add_argument("--pages", type=int, help=f"default {DEFAULT_PAGES} (large: {LARGE_PAGES})")
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--seed", type=int, default=gensite.SEED_DEFAULT)
    for name, text in (("verify", "serve a site and check it"), ("serve", "serve until Ctrl-C")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--site", type=Path, required=True)
    h = sub.add_parser("serve-hosts", help="(internal) the blog's external hosts")
    h.add_argument("site", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "gen":
        pages = args.pages or default_pages(args.shape, DEFAULT_PAGES)
        t0 = time.perf_counter()
        truth = generate(args.shape, args.out, pages, args.seed)
        print(
            f"{args.shape}: {truth['pages']} pages, {truth['unique_urls']} unique URLs, "
            f"{truth['link_occurrences']} links, {len(truth['broken'])} broken, "
            f"{len(truth['redirected'])} redirected, "
            f"{len(truth.get('missing_fragments', []))} missing fragments "
            f"({time.perf_counter() - t0:.1f}s)"
        )
        return 0
    if args.cmd == "serve-hosts":
        spec = json.loads((args.site / "hosts.json").read_text())
        asyncio.run(serve_hosts(spec))
        return 0
    with serving(args.site.resolve()):
        if args.cmd == "verify":
            problems = verify_site(args.site.resolve())
            for problem in problems:
                print("  -", problem)
            return 1 if problems else 0
        print("serving", json.loads((args.site / "site.json").read_text())["start_url"])
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
