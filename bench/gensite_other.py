#!/usr/bin/env python3
"""Generate a second, independent benchmark site (a deep "handbook") and measure a run on it.

Why a second generator: ``gensite.py`` is the shape the project grew up with (one flat
folder, a shared nav, ~10 content links a page), and a run tuned on it can hide costs that
grow with another shape (issue #23). This one differs on purpose:

- a deep tree: ``/docs/aNN/tNN/sNN/<slug>-N.html`` (area, topic, leaf folder of 20 pages);
- ~77 links a page: a top nav of the areas, a breadcrumb, the leaf folder's sidebar, a
  table of contents of in-page ``#h-K`` links, prev/next, ~30 content links to random
  pages (a third of them with a ``#h-K`` fragment) written as ``../../`` paths,
  root-relative paths or absolute URLs, and ~6 external links;
- planted problems: content links to missing pages (from a shared pool, so some are
  linked from many pages), ``#h-K`` fragments that the target page does not have (in a
  content link and in a page's own table of contents);
- 300 external URLs on four other loopback ports served by the same nginx: a quick host
  (some 404), a slow one (nginx ``limit_req`` queues its requests: ~25 answers a second
  for the whole host), a flaky one that closes the connection without an answer
  (``return 444``) for a few paths, and a carrier that never answers a few paths within
  any client's timeout (``limit_req`` at one request a minute).

Stdlib only, deterministic for a seed. ``ground_truth.json`` lists the broken URLs (absolute,
no fragment) and the missing fragments (``URL#id``).

    python bench/gensite_other.py gen --pages 10000 --out /tmp/other10k
    python bench/gensite_other.py bench --site /tmp/other10k --runs 3 \
        --tools linkcheck,linkcheck-folder,lychee --exclude '/hang/wait/'
    python bench/gensite_other.py serve --site /tmp/other10k    # to try a run by hand

``bench`` interleaves the tools' runs, one JSON line each (wall, CPU, peak RSS of the whole
process tree; every run scored against the answer key): linkcheck crawls the served site,
linkcheck-folder and lychee read the built folder (external links over HTTP). ``lychee``
checks links only, as lychee does by default: it finds none of the missing fragments.
``lychee-fragments`` adds ``--include-fragments``, the same work linkcheck does by default
(as ``peers.py --shapes`` asks of every peer that can do it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve  # (bench/serve.py: the same nginx harness as the main benchmark)

SEED_DEFAULT = 230023
LEAF = 20  # pages in a leaf folder (the sidebar lists them all)
TOPICS = 6  # topic folders per area
SUBS = 5  # leaf folders per topic
CONTENT_LINKS = 30
FRAGMENT_SHARE = 0.33  # content links that carry a #h-K
MISSING_FRAGMENT_SHARE = 0.02  # of those: an id the target does not have
TOC_MISSING_SHARE = 0.05  # pages whose own table of contents names a missing id
BROKEN_SHARE = 0.0017  # content links to missing pages
EXTERNAL_LINKS = 6
# (name, URLs, share of dead ones): quick, slow (queued), flaky (closes), hanging (never answers)
EXT_HOSTS = (("quick", 150, 0.08), ("slow", 80, 0.05), ("flaky", 50, 0.0), ("hang", 20, 0.0))
FLAKY_CLOSED = 5  # flaky-host paths answered by closing the connection
HANG_PATHS = 1  # hang-host paths that never answer in time

WORDS = (  # noqa: SIM905
    "install configure deploy upgrade backup restore network storage policy account billing "
    "region cluster volume snapshot quota alert metric token secret gateway bucket queue "
    "replica shard index schema migration rollout"
).split()


def slug(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]}-{WORDS[(i // 7) % len(WORDS)]}-{letters(i)}"


def letters(i: int) -> str:
    """i in letters: a page named "...-404" would read as a not-found page to soft-404 checks."""
    out = ""
    while True:
        i, r = divmod(i, 26)
        out = chr(97 + r) + out
        if not i:
            return out


def page_dir(i: int) -> str:
    if i == 0:
        return "/docs/"
    leaf = i // LEAF
    return (
        f"/docs/a{leaf // (TOPICS * SUBS):02d}/t{(leaf // SUBS) % TOPICS:02d}/s{leaf % SUBS:02d}/"
    )


def page_path(i: int) -> str:
    if i == 0:  # the start page: its folder is the crawl's scope
        return "/docs/index.html"
    return page_dir(i) + slug(i) + ".html"


def headings(i: int) -> int:
    """How many ``<h2 id="h-K">`` page i has (3..8)."""
    return 3 + (i * 2654435761 >> 7) % 6


def relative(from_dir: str, to_path: str) -> str:
    a = from_dir.strip("/").split("/")
    b = to_path.strip("/").split("/")
    common = 0
    while common < min(len(a), len(b) - 1) and a[common] == b[common]:
        common += 1
    return "../" * (len(a) - common) + "/".join(b[common:])


class Builder:
    def __init__(self, pages: int, port: int, seed: int) -> None:
        self.pages, self.port, self.seed = pages, port, seed
        self.origin = f"http://127.0.0.1:{port}"
        self.rng = random.Random(seed)
        self.missing = [
            f"/docs/a{k % 7:02d}/t00/s00/retired-{k}.html" for k in range(max(20, pages // 25))
        ]
        self.ext: list[tuple[str, bool]] = []  # (URL, broken)
        self.ext_files: dict[int, list[str]] = {}
        self.snippets: dict[str, list[str]] = {"main": []}
        for k, (name, count, dead) in enumerate(EXT_HOSTS, start=1):
            base = f"http://127.0.0.1:{port + k}"
            files: list[str] = []
            rules: list[str] = []
            for j in range(count):
                path = f"/{name}/r{j:03d}/item-{j}.html"
                broken = self.rng.random() < dead
                if name == "flaky" and j < FLAKY_CLOSED:
                    rules.append(f"location = {path} {{ return 444; }}")
                    broken = True
                elif name == "hang" and j < HANG_PATHS:
                    path = f"/hang/wait/item-{j}.html"
                    broken = True  # queued for minutes: every client times out
                elif not broken:
                    files.append(path)
                self.ext.append((base + path, broken))
            if name == "slow":
                rules.append("limit_req zone=slowhost burst=100000;")
            if name == "hang":
                rules.append("location /hang/wait/ { limit_req zone=hanghost burst=100000; }")
            self.ext_files[k] = files
            self.snippets[f"ext{k}"] = rules
        self.broken: set[str] = {u for u, b in self.ext if b}
        self.missing_fragments: set[str] = set()
        self.occurrences = 0
        self.unique: set[str] = set()

    def href(self, i: int, target: str, fragment: str = "") -> str:
        form = self.rng.random()
        if form < 0.5:
            h = relative(page_dir(i), target)
        elif form < 0.85:
            h = target
        else:
            h = self.origin + target
        return h + ("#" + fragment if fragment else "")

    def render(self, i: int) -> str:
        rng = self.rng
        links: list[str] = []

        def a(href: str, text: str) -> None:
            links.append(f'<a href="{href}">{text}</a>')

        n = self.pages
        leaf = i // LEAF
        areas = (n - 1) // (LEAF * TOPICS * SUBS) + 1
        for k in range(min(areas, 10)):
            a(self.href(i, page_path(k * LEAF * TOPICS * SUBS)), f"Area {k}")
        first_of_topic = (leaf // SUBS) * SUBS * LEAF
        a(self.href(i, page_path(first_of_topic)), "Topic")
        a(self.href(i, page_path(leaf * LEAF)), "Section")
        for j in range(leaf * LEAF, min(n, leaf * LEAF + LEAF)):
            a(relative(page_dir(i), page_path(j)), slug(j).replace("-", " "))
        own = headings(i)
        for k in range(1, own + 1):
            a(f"#h-{k}", f"Part {k}")
        if rng.random() < TOC_MISSING_SHARE:
            a(f"#h-{own + 3}", "Appendix")
            self.missing_fragments.add(f"{self.origin}{page_path(i)}#h-{own + 3}")
        if i > 0:
            a(self.href(i, page_path(i - 1)), "Previous")
        if i + 1 < n:
            a(self.href(i, page_path(i + 1)), "Next")
        for _ in range(CONTENT_LINKS):
            if rng.random() < BROKEN_SHARE:
                target = rng.choice(self.missing)
                self.broken.add(self.origin + target)
                a(self.href(i, target), "Older page")
                continue
            j = rng.randrange(n)
            fragment = ""
            if rng.random() < FRAGMENT_SHARE:
                k = rng.randint(1, headings(j))
                if rng.random() < MISSING_FRAGMENT_SHARE:
                    k = headings(j) + rng.randint(1, 4)
                    self.missing_fragments.add(f"{self.origin}{page_path(j)}#h-{k}")
                fragment = f"h-{k}"
            a(self.href(i, page_path(j), fragment), slug(j).replace("-", " "))
        for _ in range(EXTERNAL_LINKS):
            # skewed popularity: a few external URLs are on many pages
            url = self.ext[min(len(self.ext) - 1, int(len(self.ext) * rng.random() ** 2))][0]
            links.append(f'<a href="{url}">reference</a>')
        self.occurrences += len(links)
        body = "\n".join(
            f'<h2 id="h-{k}">Part {k}</h2>\n<p>{" ".join(rng.choices(WORDS, k=30))}</p>'
            for k in range(1, own + 1)
        )
        nav = "\n".join(links)
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{slug(i)}</title></head>\n<body>\n<nav>\n{nav}\n</nav>\n"
            f"<main>\n<h1>{slug(i)}</h1>\n{body}\n</main>\n</body></html>\n"
        )

    def write(self, out: Path) -> dict[str, Any]:
        www = out / "www"
        for i in range(self.pages):
            f = www / "main" / page_path(i).lstrip("/")
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(self.render(i), encoding="utf-8")
        for k, files in self.ext_files.items():
            root = www / f"ext{k}"
            root.mkdir(parents=True, exist_ok=True)
            for p in files:
                f = root / p.lstrip("/")
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_text(f"<!DOCTYPE html><title>{p}</title><p>ok</p>\n", encoding="utf-8")
        (out / "nginx").mkdir(exist_ok=True)
        for name, rules in self.snippets.items():
            (out / "nginx" / f"{name}.conf").write_text("\n".join(rules) + "\n", encoding="utf-8")
        names = ["main"] + [f"ext{k}" for k in range(1, len(EXT_HOSTS) + 1)]
        meta = {
            "generator": "bench/gensite_other.py",
            "seed": self.seed,
            "pages": self.pages,
            "host": "127.0.0.1",
            "port": self.port,
            "start_url": self.origin + page_path(0),
            "servers": [
                {"name": nm, "port": self.port + k, "root": str((www / nm).resolve())}
                for k, nm in enumerate(names)
            ],
        }
        (out / "site.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        truth = {
            "pages": self.pages,
            "link_occurrences": self.occurrences,
            "broken": sorted(self.broken),
            "missing_fragments": sorted(self.missing_fragments),
            "external_urls": len(self.ext),
        }
        (out / "ground_truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
        return truth


def generate(out: Path, pages: int, port: int = 0, seed: int = SEED_DEFAULT) -> dict[str, Any]:
    """Write the site into ``out`` (a folder this generator made, or a new one)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not (out / "site.json").exists():
            raise SystemExit(f"{out} holds no generated site; refusing to overwrite")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    port = port or serve.find_free_port_block(1 + len(EXT_HOSTS))
    return Builder(pages, port, seed).write(out)


# nginx's limit_req queues a request until its turn instead of refusing it (no "nodelay"):
# the slow host answers ~25 requests a second in all, the hanging paths one a minute.
HTTP_EXTRA = (
    "    limit_req_zone $server_port zone=slowhost:1m rate=25r/s;\n"
    "    limit_req_zone $server_port zone=hanghost:1m rate=1r/m;\n"
)


def _ports_free(host: str, ports: list[int]) -> bool:
    """serve.ports_free as nginx binds (SO_REUSEADDR): the closed connections of the run
    before, in TIME_WAIT for a minute, do not keep a port from being listened on."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


class Server(serve.NginxServer):
    """bench/serve.py's nginx, with the two request queues the external hosts use."""

    def start(self) -> None:
        real_render, real_free = serve.render_config, serve.ports_free
        serve.render_config = lambda *a, **k: real_render(*a, **k).replace(  # type: ignore[assignment]
            "http {\n", "http {\n" + HTTP_EXTRA, 1
        )
        serve.ports_free = _ports_free
        try:
            super().start()
        finally:
            serve.render_config, serve.ports_free = real_render, real_free


def peak_rss_tree(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, float]:
    """Run ``cmd``: its wall time, the CPU of it and every process it waited for, and the
    peak summed RSS of its process tree (sampled from /proc every 50 ms: the parse worker
    and the report's forked copies are children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "rss_mib": round(peak / 2**20, 1),
            "rc": proc.returncode}  # fmt: skip


def tree_rss(pid: int) -> int:
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def score(site: Path, report: Path, origin: str = "") -> dict[str, Any]:
    """Compare linkcheck's report.json with the answer key; ``origin``: a folder run's, whose
    report names the folder's files by path."""
    truth = json.loads((site / "ground_truth.json").read_text())
    data = json.loads(report.read_text())
    # a missing fragment is reported as its own link, "URL#id", with the verdict broken
    bad = {x["url"] for x in data["links"] if x["verdict"] in ("broken", "error")}
    if origin:
        folder = str((site / "www/main").resolve())
        bad = {origin + u[len(folder) :] if u.startswith(folder + "/") else u for u in bad}
    broken = {u for u in bad if "#" not in u}
    missing = {u for u in bad if "#" in u}
    return {"pages": data["run"]["pages_crawled"], **against_key(truth, broken, missing)}


def against_key(truth: dict[str, Any], broken: set[str], missing: set[str]) -> dict[str, Any]:
    """A tool's broken URLs and missing ``URL#id`` fragments against the answer key."""
    want_b, want_f = set(truth["broken"]), set(truth["missing_fragments"])
    return {
        "broken_found": f"{len(want_b & broken)}/{len(want_b)}",
        "false_broken": len(broken - want_b),
        "fragments_found": f"{len(want_f & missing)}/{len(want_f)}",
        "false_fragments": len(missing - want_f),
    }


def score_lychee(site: Path, out: Path) -> dict[str, Any]:
    """lychee's ``lychee.json`` in ``out`` against the answer key, read by peers.py's parser
    (its files named by the URLs they are served at)."""
    # imported here: peers imports shapes, which imports this module
    import peers

    meta = json.loads((site / "site.json").read_text())
    truth = json.loads((site / "ground_truth.json").read_text())
    known = peers.Site(
        dir=site,
        pages=meta["pages"],
        origin=f"http://{meta['host']}:{meta['port']}",
        start_url=meta["start_url"],
        folder=(site / "www/main").resolve(),
        truth_broken=frozenset(truth["broken"]),
        truth_redirected={},
        unique_urls=0,
        link_occurrences=truth["link_occurrences"],
        page_urls=frozenset(),
    )
    parsed = peers.parse_lychee(known, out, out / "lychee.stdout")  # (reads only the JSON)
    return against_key(truth, parsed.broken, parsed.fragments or set())


TOOLS = ("linkcheck", "linkcheck-folder", "lychee", "lychee-fragments")


def run_tool(
    tool: str,
    site: Path,
    meta: dict[str, Any],
    extra: str,
    tree: Path | None = None,
    exclude: str = "",
) -> dict[str, Any]:
    """One timed run in a fresh folder (linkcheck's cache and output start empty);
    ``exclude``: a regular expression of URLs neither tool requests."""
    skip = ["--exclude", exclude] if exclude else []
    with tempfile.TemporaryDirectory(prefix="other-run-") as tmp:
        work = Path(tmp)
        if tool in ("linkcheck", "linkcheck-folder"):
            # the folder: the same files as lychee's --root-dir, named as the server does
            origin = meta["start_url"].split("/docs/")[0]
            start = (
                [str((site / "www/main").resolve()), "--base-url", origin + "/"]
                if tool == "linkcheck-folder"
                else [meta["start_url"]]
            )
            cmd = [sys.executable, "-m", "linkcheck", "run", *start, "--output",
                   str(work / "out"), "--format", "json", "-q", "--concurrency", "10",
                   "--max-pages", "1000000", "--allow-private", *skip, *extra.split()]  # fmt: skip
            env = {**os.environ, "PYTHONPATH": str(tree.resolve())} if tree else None
            res: dict[str, Any] = dict(peak_rss_tree(cmd, cwd=work, env=env))
            folder_origin = origin if tool == "linkcheck-folder" else ""
            res.update(score(site, work / "out" / "report.json", folder_origin))
            return res
        lychee = Path(__file__).resolve().parent / ".peers/venv/bin/lychee"
        # linkcheck's defaults for a request that gets no answer (20 s, 2 retries); lychee
        # still sat for minutes, one connection open, on the carrier's path that never
        # answers (nginx queues its requests at one a minute): --exclude '/hang/wait/'
        # spares both tools that path
        cmd = [str(lychee), "--root-dir", str(site / "www/main"), "--max-concurrency", "10",
               "--host-concurrency", "10", "--host-request-interval", "0s", "--no-progress",
               "--timeout", "20", "--max-retries", "2", *skip,
               *(["--include-fragments"] if tool == "lychee-fragments" else []),
               "--format", "json", "-o", str(work / "lychee.json"),
               str(site / "www/main/docs")]  # fmt: skip
        answer = dict(peak_rss_tree(cmd, cwd=work))
        answer.update(score_lychee(site, work))
        return answer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--pages", type=int, default=10_000)
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--port", type=int, default=0)
    g.add_argument("--seed", type=int, default=SEED_DEFAULT)
    s = sub.add_parser("serve")
    s.add_argument("--site", type=Path, required=True)
    r = sub.add_parser("bench", help="interleaved runs of linkcheck and lychee, one line each")
    r.add_argument("--site", type=Path, required=True)
    r.add_argument("--runs", type=int, default=1)
    r.add_argument(
        "--tools",
        default="linkcheck,lychee",
        help=f"of {', '.join(TOOLS)} (lychee-fragments: lychee with --include-fragments, "
        "the same work as linkcheck)",
    )
    r.add_argument("--extra", default="", help="more options for `linkcheck run`")
    r.add_argument("--tree", type=Path, help="run the linkcheck of this source tree (PYTHONPATH)")
    r.add_argument(
        "--exclude",
        default="",
        help="a regex of URLs neither tool requests (e.g. '/hang/wait/': lychee, timeout or "
        "not, waits for minutes on the path that never answers)",
    )
    args = ap.parse_args(argv)
    if args.cmd == "bench" and (unknown := set(args.tools.split(",")) - set(TOOLS)):
        ap.error(f"unknown tool(s) {', '.join(sorted(unknown))}: --tools takes {', '.join(TOOLS)}")
    if args.cmd == "gen":
        truth = generate(args.out, args.pages, args.port, args.seed)
        print(json.dumps({k: v if isinstance(v, int) else len(v) for k, v in truth.items()}))
        return 0
    meta = json.loads((args.site / "site.json").read_text())
    with Server(args.site):
        if args.cmd == "serve":
            print("serving", meta["start_url"], "- Ctrl-C to stop")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                return 0
        for n in range(args.runs):
            for tool in args.tools.split(","):
                res = run_tool(tool, args.site, meta, args.extra, args.tree, args.exclude)
                print(json.dumps({"tool": tool, "run": n + 1, **res}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
