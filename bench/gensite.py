#!/usr/bin/env python3
"""Generate a deterministic synthetic "guide" site for benchmarking linkcheck.

Why synthetic: a real site is neither reproducible nor allowed (no network),
and a generated one comes with an exact answer key (``ground_truth.json``), so
the benchmark measures speed *and* correctness of the same run.

Layout written to ``--out DIR``::

    site.json                  metadata (ports, start URL, counts) used by serve/run_bench
    ground_truth.json          exact broken / redirected URL sets (absolute, normalised)
    www/main/guide/pNNNNN.html the N crawled pages (served on 127.0.0.1:PORT)
    www/extK/docs/...          3 "external" hosts (served on PORT+1..PORT+3)
    nginx/main.conf            ``location = /x { return 301 /y; }`` redirect snippets,
    nginx/extK.conf            one per server block

Every page has a shared side nav (links to the first 50 pages), prev/next links
(so every page is reachable from p00001), ~10 content links (about 2% to
missing pages, about 1% to redirecting old paths, a few with #fragments) and
~5 links to the external hosts (of which ~8% are dead and ~8% redirect).

Stdlib only. ``--verify`` starts nginx (via ``serve.py``), crawls the site with a
tiny sequential reference crawler and checks that what nginx serves matches
the ground truth exactly.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

SEED_DEFAULT = 20241127
NAV_SIZE = 50
CONTENT_LINKS = 10
EXTERNAL_LINKS = 5
EXT_HOSTS = 3
EXT_PATHS_PER_HOST = 100
BROKEN_SHARE = 0.02  # share of content links pointing at missing pages
REDIRECT_SHARE = 0.01  # share of content links pointing at redirected old paths
FRAGMENT_SHARE = 0.05  # share of (good) content links carrying a #fragment
EXT_DEAD_SHARE = 0.08
EXT_REDIRECT_SHARE = 0.08
SECTIONS = 3  # <h2 id="sec-K"> anchors per page, targets for #fragments

WORDS = (  # noqa: SIM905 - a word list reads better as prose
    "link check crawl page guide anchor redirect status header server client request "
    "response socket queue worker timeout retry cache robots sitemap parser token stream "
    "buffer async event loop budget report summary verdict origin scope prefix fragment "
    "query host port scheme path index archive"
).split()

TOPICS = ("api", "howto", "reference", "blog", "faq", "release", "tutorial", "spec")


@dataclass
class GroundTruth:
    """Answer key: normalised absolute URL -> expectation."""

    broken: dict[str, int] = field(default_factory=dict)  # url -> expected status
    redirected: dict[str, str] = field(default_factory=dict)  # url -> final url
    linked: set[str] = field(default_factory=set)  # every unique linked URL
    link_occurrences: int = 0  # total <a href> count over all pages


def page_path(i: int) -> str:
    """Root-relative path of page number ``i`` (1-based)."""
    return f"/guide/p{i:05d}.html"


def page_urls(site_dir: Path, pages: int) -> list[str]:
    """The absolute URLs of a generated site's first ``pages`` pages, as served."""
    meta = json.loads((Path(site_dir) / "site.json").read_text())
    origin = meta["start_url"].rsplit("/guide/", 1)[0]
    return [origin + page_path(i) for i in range(1, pages + 1)]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


class SiteBuilder:
    """Builds one site; all randomness comes from a single seeded ``Random``."""

    def __init__(self, pages: int, port: int, seed: int, host: str = "127.0.0.1") -> None:
        if pages < 2:
            raise ValueError("need at least 2 pages")
        if pages > 99_999:
            raise ValueError("page numbers are 5 digits: at most 99999 pages")
        self.pages = pages
        self.port = port
        self.host = host
        self.seed = seed
        self.rng = random.Random(seed)
        self.origin = f"http://{host}:{port}"
        self.ext_origins = [f"http://{host}:{port + k}" for k in range(1, EXT_HOSTS + 1)]
        self.truth = GroundTruth()
        # Redirect rules per server block: path -> target path.
        self.redirect_rules: dict[str, dict[str, str]] = {"main": {}}
        self._plan_internal()
        self._plan_external()

    # -- planning -----------------------------------------------------------------

    def _plan_internal(self) -> None:
        """Pools of missing pages and redirecting old paths inside /guide/."""
        n_broken = max(5, self.pages // 10)
        # Missing targets look like plausible typos/removed pages; reused by several
        # pages so that dedup and occurrence counting are exercised.
        self.broken_pool = [
            f"/guide/removed/p{self.rng.randint(1, self.pages):05d}-{k}.html"
            if k % 2
            else f"/guide/p{self.pages + 1 + k:05d}.html"
            for k in range(n_broken)
        ]
        n_redir = max(5, self.pages // 50)
        targets = self.rng.sample(range(1, self.pages + 1), n_redir)
        self.redirect_pool: list[str] = []
        rules = self.redirect_rules["main"]
        for k, t in enumerate(targets):
            old = f"/guide/old/p{t:05d}.html"
            if k % 5 == 4:
                # A two-hop chain: /guide/legacy/... -> /guide/old/... -> page.
                legacy = f"/guide/legacy/p{t:05d}.html"
                rules[legacy] = old
                self.redirect_pool.append(legacy)
            else:
                self.redirect_pool.append(old)
            rules[old] = page_path(t)

    def _plan_external(self) -> None:
        """~300 external URLs over 3 hosts, some dead (404), some 301."""
        self.ext_pool: list[str] = []
        self.ext_files: dict[str, list[str]] = {}  # server name -> paths to write
        for k, origin in enumerate(self.ext_origins, start=1):
            name = f"ext{k}"
            files: list[str] = []
            rules: dict[str, str] = {}
            for j in range(EXT_PATHS_PER_HOST):
                path = f"/docs/{self.rng.choice(TOPICS)}/{name}-{j:03d}.html"
                r = self.rng.random()
                if r < EXT_DEAD_SHARE:
                    pass  # not written -> nginx 404
                elif r < EXT_DEAD_SHARE + EXT_REDIRECT_SHARE:
                    new = path.replace(".html", "-v2.html")
                    rules[path] = new
                    files.append(new)
                else:
                    files.append(path)
                self.ext_pool.append(origin + path)
            self.ext_files[name] = files
            self.redirect_rules[name] = rules
        # Popularity is skewed (a few URLs are linked from many pages), like real docs.
        self.ext_weights = [1.0 / (1 + (i % 50)) ** 0.5 for i in range(len(self.ext_pool))]

    # -- classification -----------------------------------------------------------

    def _classify(self, url: str) -> None:
        """Record an emitted link (absolute, fragment-less) in the ground truth."""
        self.truth.linked.add(url)
        self.truth.link_occurrences += 1
        origin, path = url[: url.index("/", len("http://"))], url[url.index("/", len("http://")) :]
        server = "main" if origin == self.origin else f"ext{self.ext_origins.index(origin) + 1}"
        rules = self.redirect_rules[server]
        if path in rules:
            final = path
            while final in rules:
                final = rules[final]
            self.truth.redirected[url] = origin + final
        elif server == "main":
            if not self._main_exists(path):
                self.truth.broken[url] = 404
        elif path not in self._ext_file_set[server]:
            self.truth.broken[url] = 404

    def _main_exists(self, path: str) -> bool:
        if not (path.startswith("/guide/p") and path.endswith(".html")):
            return False
        num = path[len("/guide/p") : -len(".html")]
        return num.isdigit() and len(num) == 5 and 1 <= int(num) <= self.pages

    # -- rendering ----------------------------------------------------------------

    def _href(self, page_url: str, target_path: str, fragment: str = "") -> str:
        """Render an in-site link in one of several equivalent forms.

        Mixing relative, root-relative and absolute forms exercises the checker's
        URL resolution; the assert guarantees the ground truth stays exact.
        """
        style = self.rng.random()
        if style < 0.45 and target_path.startswith("/guide/"):
            href = target_path[len("/guide/") :]  # relative to /guide/pX.html
            if style < 0.1:
                href = "./" + href
        elif style < 0.9:
            href = target_path
        else:
            href = self.origin + target_path
        href += fragment
        assert urldefrag(urljoin(page_url, href))[0] == self.origin + target_path, href
        return href

    def _link(self, page_url: str, path: str, text: str, fragment: str = "") -> str:
        self._classify(self.origin + path)
        return f'<a href="{self._href(page_url, path, fragment)}">{text}</a>'

    def render_page(self, i: int) -> str:
        rng = self.rng
        url = self.origin + page_path(i)
        nav = [
            f"<li>{self._link(url, page_path(n), f'Chapter {n}')}</li>"
            for n in range(1, min(NAV_SIZE, self.pages) + 1)
        ]
        pager = []
        if i > 1:
            pager.append(self._link(url, page_path(i - 1), "&larr; Previous"))
        if i < self.pages:
            pager.append(self._link(url, page_path(i + 1), "Next &rarr;"))

        content: list[str] = []
        for _ in range(CONTENT_LINKS):
            r = rng.random()
            if r < BROKEN_SHARE:
                content.append(self._link(url, rng.choice(self.broken_pool), words(rng, 3)))
            elif r < BROKEN_SHARE + REDIRECT_SHARE:
                content.append(self._link(url, rng.choice(self.redirect_pool), words(rng, 3)))
            else:
                t = rng.randint(1, self.pages - 1)
                t = t + 1 if t >= i else t  # never link to self
                frag = f"#sec-{rng.randint(1, SECTIONS)}" if rng.random() < FRAGMENT_SHARE else ""
                content.append(self._link(url, page_path(t), words(rng, 3), frag))

        external: list[str] = []
        for ext in rng.choices(self.ext_pool, weights=self.ext_weights, k=EXTERNAL_LINKS):
            self._classify(ext)
            external.append(f'<li><a href="{ext}" rel="nofollow">{ext.rsplit("/", 1)[1]}</a></li>')

        # Spread the content links over the sections, as prose would.
        sections = []
        per = -(-len(content) // SECTIONS)
        for s in range(SECTIONS):
            chunk = content[s * per : (s + 1) * per]
            body = " ".join(f"{words(rng, rng.randint(15, 40))} {a}." for a in chunk)
            sections.append(
                f'<h2 id="sec-{s + 1}">{words(rng, 3).title()}</h2>\n'
                f"<p>{body} {words(rng, rng.randint(30, 80))}.</p>"
            )
        nl = "\n"
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Guide page {i}</title>
</head>
<body>
<nav class="sidebar"><ul>
{nl.join(nav)}
</ul></nav>
<main>
<h1>Guide page {i}: {words(rng, 4)}</h1>
{nl.join(sections)}
<h2>See also</h2>
<ul>
{nl.join(external)}
</ul>
<p class="pager">{" | ".join(pager)}</p>
</main>
</body>
</html>
"""

    # -- output -------------------------------------------------------------------

    def write(self, out: Path) -> None:
        """Write pages, external hosts, nginx snippets, site.json and ground truth."""
        self._ext_file_set = {k: set(v) for k, v in self.ext_files.items()}
        www = out / "www"
        guide = www / "main" / "guide"
        guide.mkdir(parents=True)
        for i in range(1, self.pages + 1):
            (guide / f"p{i:05d}.html").write_text(self.render_page(i), encoding="utf-8")
        for name, paths in self.ext_files.items():
            for p in paths:
                f = www / name / p.lstrip("/")
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_text(
                    f"<!DOCTYPE html><html><head><title>{p}</title></head>"
                    f"<body><p>{words(self.rng, 60)}</p></body></html>\n",
                    encoding="utf-8",
                )
        conf_dir = out / "nginx"
        conf_dir.mkdir()
        for name, rules in self.redirect_rules.items():
            lines = [f"# generated by gensite.py (seed {self.seed}); {len(rules)} redirects"]
            lines += [
                f"location = {src} {{ return 301 {dst}; }}" for src, dst in sorted(rules.items())
            ]
            (conf_dir / f"{name}.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")

        servers = [{"name": "main", "port": self.port, "root": str((www / "main").resolve())}]
        servers += [
            {"name": f"ext{k}", "port": self.port + k, "root": str((www / f"ext{k}").resolve())}
            for k in range(1, EXT_HOSTS + 1)
        ]
        meta = {
            "generator": "bench/gensite.py",
            "seed": self.seed,
            "pages": self.pages,
            "host": self.host,
            "port": self.port,
            "start_url": self.origin + page_path(1),
            "scope_prefix": self.origin + "/guide/",
            "servers": servers,
        }
        (out / "site.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        t = self.truth
        truth = {
            "seed": self.seed,
            "pages": self.pages,
            "start_url": self.origin + page_path(1),
            "unique_urls": len(t.linked),
            "link_occurrences": t.link_occurrences,
            "broken": sorted(t.broken),
            "redirected": dict(sorted(t.redirected.items())),
        }
        (out / "ground_truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")


def generate(
    out: Path, pages: int = 2000, port: int = 8080, seed: int = SEED_DEFAULT
) -> dict[str, Any]:
    """Generate the site into ``out`` (replacing a previous generated site there)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not (out / "site.json").exists():
            raise SystemExit(
                f"{out} is not empty and holds no generated site; refusing to overwrite"
            )
        for sub in ("www", "nginx"):
            shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    builder = SiteBuilder(pages, port, seed)
    builder.write(out)
    truth: dict[str, Any] = json.loads((out / "ground_truth.json").read_text())
    return truth


# -- verification -------------------------------------------------------------------


def reference_crawl(
    start_url: str, scope_prefix: str
) -> tuple[dict[str, int], dict[str, tuple[str, int]], int]:
    """Sequential, obviously-correct crawl used to check the site against its answer key.

    Returns (status per linked URL without following redirects, (final URL,
    final status) per redirecting URL, number of in-scope pages fetched with 200).
    """
    import http.client
    from html.parser import HTMLParser
    from urllib.parse import urlsplit

    class Hrefs(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.hrefs: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                self.hrefs += [v for k, v in attrs if k == "href" and v]

    conns: dict[str, http.client.HTTPConnection] = {}

    def get(url: str) -> tuple[int, str | None, bytes]:
        parts = urlsplit(url)
        conn = conns.get(parts.netloc)
        if conn is None:
            conn = conns[parts.netloc] = http.client.HTTPConnection(parts.netloc, timeout=10)
        conn.request("GET", parts.path or "/")
        resp = conn.getresponse()
        return resp.status, resp.getheader("Location"), resp.read()

    status: dict[str, int] = {}
    finals: dict[str, tuple[str, int]] = {}
    pages_ok = 0
    queue = [start_url]
    seen = {start_url}
    try:
        while queue:
            url = queue.pop()
            code, location, body = get(url)
            status[url] = code
            hops, final = 0, url
            while code in (301, 302, 303, 307, 308) and location and hops < 10:
                final = urldefrag(urljoin(final, location))[0]
                code, location, body = get(final)
                hops += 1
            if hops:
                finals[url] = (final, code)
            if code == 200 and final.startswith(scope_prefix):
                if final == url:
                    pages_ok += 1
                parser = Hrefs()
                parser.feed(body.decode("utf-8"))
                for href in parser.hrefs:
                    link = urldefrag(urljoin(final, href))[0]
                    if link not in seen:
                        seen.add(link)
                        queue.append(link)
    finally:
        for c in conns.values():
            c.close()
    return status, finals, pages_ok


def verify(out: Path) -> list[str]:
    """Crawl the served site and return a list of mismatches with ground_truth.json."""
    meta = json.loads((out / "site.json").read_text())
    truth = json.loads((out / "ground_truth.json").read_text())
    status, finals, pages_ok = reference_crawl(meta["start_url"], meta["scope_prefix"])
    problems: list[str] = []
    broken = {u for u, s in status.items() if s >= 400}
    redirected = {u: finals[u][0] for u, s in status.items() if 300 <= s < 400}
    if pages_ok != meta["pages"]:
        problems.append(f"reached {pages_ok} pages with 200, expected {meta['pages']}")
    if len(status) != truth["unique_urls"]:
        problems.append(f"saw {len(status)} unique URLs, ground truth says {truth['unique_urls']}")
    if broken != set(truth["broken"]):
        problems.append(
            f"broken mismatch: missing {sorted(set(truth['broken']) - broken)[:5]}, "
            f"extra {sorted(broken - set(truth['broken']))[:5]}"
        )
    if redirected != truth["redirected"]:
        diff = set(redirected.items()) ^ set(truth["redirected"].items())
        problems.append(f"redirect mismatch: {sorted(diff)[:5]}")
    for url, (final, code) in finals.items():
        if code != 200:
            problems.append(f"redirect target not OK: {url} -> {final} ({code})")
    print(
        f"verify: {pages_ok} pages, {len(status)} unique URLs, {len(broken)} broken, "
        f"{len(redirected)} redirected -> {'OK' if not problems else 'MISMATCH'}",
        file=sys.stderr,
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=2000, help="number of guide pages (default 2000)")
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument(
        "--port", type=int, default=8080, help="main port; externals use PORT+1..PORT+3"
    )
    ap.add_argument("--seed", type=int, default=SEED_DEFAULT)
    ap.add_argument(
        "--verify",
        action="store_true",
        help="after generating (or, with --no-generate, on an existing site) serve it "
        "with nginx and check it against ground_truth.json",
    )
    ap.add_argument(
        "--no-generate", action="store_true", help="with --verify: reuse the site in --out"
    )
    args = ap.parse_args(argv)

    if not args.no_generate:
        truth = generate(args.out, args.pages, args.port, args.seed)
        print(
            f"generated {truth['pages']} pages in {args.out}: {truth['unique_urls']} unique URLs, "
            f"{truth['link_occurrences']} links, {len(truth['broken'])} broken, "
            f"{len(truth['redirected'])} redirected"
        )
    if args.verify:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from serve import NginxServer

        with NginxServer(args.out):
            problems = verify(args.out)
        for p in problems:
            print("  -", p)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
