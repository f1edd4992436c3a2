"""One task's work in a distributed run, done with the single-process crawl's own stages.

A task is what :class:`linkcheck.crawler.Crawler` does for one URL — check a link, or visit a
page (:mod:`linkcheck.page_stage`), digest it (:mod:`linkcheck.digest`) and decide each new
link (:mod:`linkcheck.decide`) — with the same stages and decisions. What is distributed is
only the bookkeeping: instead of the crawler's dictionaries, everything a task learned goes
into a :class:`~linkcheck.distributed.queue.Commit` that the worker writes to Redis
atomically, and max_pages and each path's max_queries_per_path are decided there, against
the cluster-wide counts. A failure worth a second look (retry.recheck_due) is looked at again
in the task, ``recheck_delay`` later and within what is left of the URL's budget, as the
crawl does it (linkcheck.recheck); the commit names it in the ``rechecked`` set, so the
coordinator's finishing stage does not look at it once more. The site-wide steps
(fragments, findings over all links, merging a page's aliases) run once, at the
coordinator, on the assembled crawl (see :mod:`linkcheck.distributed.assemble`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from linkcheck.checker import Checker
from linkcheck.config import Config
from linkcheck.decide import Fate, discovery, recorded, unfetchable
from linkcheck.digest import Digester, DigestSettings, PageDigest, unpack_ids
from linkcheck.distributed.queue import Commit, Task, TaskQueue, Variants, dumps
from linkcheck.http import Response
from linkcheck.models import CheckResult, Page, Verdict
from linkcheck.page_stage import PageStage
from linkcheck.recheck import HostFailures
from linkcheck.retry import recheck_due, url_budget
from linkcheck.scope import Scope
from linkcheck.sitemaps import SEED_DEPTH, read_run_sitemaps, seeds
from linkcheck.soft404 import SoftNotFoundDetector
from linkcheck.urls import CachedResolver, ResolvedLink
from linkcheck.wiring import make_robots

MAX_KNOWN = 500_000  # URLs remembered as already decided, per process (saves payload)

# How a task waits for its recheck: the worker's, which frees the task's concurrency slot
# while it waits (see Worker); a plain sleep otherwise.
Pause = Callable[[float], Awaitable[None]]


class TaskPipeline:
    """Turns a task into a Commit. One per process and run; it keeps per-host caches
    (robots.txt, soft-404 probes), its digester's numbering, and the URLs it knows are
    decided already."""

    def __init__(self, config: Config, checker: Checker, queue: TaskQueue) -> None:
        self._config = config
        self._checker = checker
        self._queue = queue
        self._scope = Scope.from_config(config)
        self._resolver = CachedResolver(max_url_length=config.crawl.max_url_length)
        self._robots = make_robots(config, checker)
        soft404 = SoftNotFoundDetector(checker) if config.checks.soft_404 else None
        self._pages = PageStage(config, checker, self._robots, soft404, self._scope)
        # Pages are digested in this process (a worker is a process of its own), with the
        # crawler's Digester, as the crawler does when it has no parse workers. A page's
        # occurrences are written as its digest numbered them, the ids this digester's
        # (``source``): what each id stands for is written once (see define), as a parse
        # worker sends it to the crawler once (linkcheck.parsing).
        self._digester = Digester(DigestSettings.from_config(config))
        self.source = secrets.token_hex(8)
        self._new_keys: list[str] = []  # what the digester's new ids stand for, not written
        self._new_variants = Variants()
        self._defined = 0  # definition records written (numbered from 0, see define)
        self._known: set[str] = set()  # keys a committed commit has put in the seen-set
        self._budget = url_budget(config.http.timeout, config.http.url_budget)
        self._hosts = HostFailures(config.http.recheck_delay)  # this worker's view of hosts

    async def run(self, task: Task, pause: Pause = asyncio.sleep) -> Commit:
        """The task's commit; ``pause`` waits for a recheck (see _check, _page)."""
        if task.kind == "page":
            depth = task.shortest_depth
            return await self._page(task.url, depth, pause, shorter=depth < task.depth)
        if task.kind == "sitemaps":
            return await self._sitemaps()
        return await self._check(task.url, pause)

    def define(self, commit: Commit) -> None:
        """Put into ``commit`` what the digester's ids met since the last call stand for.

        Call it just before the commit goes to the writer (linkcheck.distributed.queue
        .CommitWriter, which writes commits in that order, each batch in one step): every
        page record written then has its ids defined by its own commit or an earlier one,
        and a page record that is never written (its task stopped) leaves its ids to the
        next commit."""
        if self._new_keys or self._new_variants:
            commit.defined(self.source, self._defined, self._new_keys, self._new_variants)
            self._defined += 1
            self._new_keys, self._new_variants = [], Variants()

    def committed(self, commit: Commit) -> None:
        """After a successful commit every URL it named is in the seen-set for good."""
        if len(self._known) > MAX_KNOWN:
            self._known.clear()
        self._known.update(item[0] for item in commit.discover)

    def gave_up(self, task: Task, deliveries: int) -> Commit:
        """A task whose workers keep dying on it: record that, rather than loop forever."""
        commit = Commit()
        message = (
            f"not checked: {deliveries} workers stopped while working on it "
            "(a crash or out-of-memory kill?)"
        )
        if task.kind == "sitemaps":
            commit.meta("sitemaps_read", "1")
            commit.meta("sitemap_notes", dumps([f"sitemaps were not read: {message}"]))
        else:
            commit.result(task.url, CheckResult(task.url, Verdict.ERROR, message=message))
        return commit

    # --- the three kinds of task -------------------------------------------------------

    def _due(self, result: CheckResult, spent: float) -> bool:
        """Whether a failure is worth a second look (as linkcheck.recheck decides)."""
        http = self._config.http
        return http.recheck and result.verdict.failed and recheck_due(result, spent, self._budget)

    def _settled(self, url: str, result: CheckResult) -> bool:
        """Take what a result says of its host (HostFailures); True for a failure whose
        host's failure has had its second look already (it counts as rechecked)."""
        if result.verdict.failed:
            return self._hosts.settles(url, result)
        self._hosts.answered(url)
        return False

    async def _check(self, url: str, pause: Pause) -> Commit:
        """Check a link; a failure worth a second look is checked once more after
        ``recheck_delay``, with what is left of its budget, and that answer is recorded."""
        commit = Commit()
        checked = await self._checker.check(url)
        result = recorded(self._config, url, checked.result)
        settled = self._settled(url, result)
        if self._due(result, checked.spent):
            if not settled:
                await pause(self._config.http.recheck_delay)
                checked = await self._checker.check(url, spent=checked.spent)
                result = recorded(self._config, url, checked.result)
                self._settled(url, result)
            commit.member("rechecked", url)
        commit.result(url, result)
        return commit

    async def _page(self, url: str, depth: int, pause: Pause, *, shorter: bool) -> Commit:
        """Visit a page; a failed visit worth a second look is visited again after
        ``recheck_delay`` (a page's recheck is its crawl, with a budget of its own)."""
        commit, result = await self._visit(url, depth, shorter)
        settled = self._settled(url, result)
        if not self._due(result, 0.0):
            return commit
        if not settled:
            await pause(self._config.http.recheck_delay)
            commit, result = await self._visit(url, depth, shorter)
            self._settled(url, result)
        commit.member("rechecked", url)
        return commit

    async def _visit(
        self, url: str, depth: int, shorter: bool = False
    ) -> tuple[Commit, CheckResult]:
        """Visit a page (see PageStage), and its recorded result; a redirect target is
        claimed in Redis, where the claim also records the target's result."""
        commit = Commit()

        async def claim(target: str, owner: str, result: CheckResult) -> bool:
            return await self._queue.claim_redirect(target, owner, result, depth)

        async def digest(
            page_url: str, response: Response, judge: bool, probe_title: str | None
        ) -> tuple[None, PageDigest] | None:
            """A page is parsed if it is taken on (max_pages: as Crawler._crawl_page's)."""
            if self._queue.may_take:
                commit.parsed.append(page_url)  # counted as the commit is written
            elif not await self._queue.take_page(page_url):
                return None  # past max_pages: checked, not crawled
            return None, self._digest(page_url, response, judge, probe_title, depth, commit)

        visit = await self._pages.visit(url, claim, digest)
        if visit.disallowed:
            commit.result(url, visit.result)
            return commit, visit.result
        if visit.claimed is not None and visit.claimed.verdict is Verdict.REDIRECTED:
            # a refresh page (see PageStage.visit): the claim recorded it as plain OK
            commit.result(visit.page_url, visit.claimed)
        result = recorded(self._config, url, visit.result)
        commit.result(url, result)
        if visit.content_type is not None:
            commit.non_html(url, visit.content_type)
        if visit.digested is not None and visit.response is not None:
            self._page_digested(visit.page_url, depth, visit.response, visit.digested[1], commit)
            if shorter:  # it runs at a shorter depth than queued: pass it on (COMMIT_LUA)
                commit.shorten(visit.digested[1].rows, self._digester.link_key, depth + 1)
        if visit.judged:
            found = visit.soft_404
            commit.soft404(url, [found.reason, found.by_probe] if found is not None else [])
        return commit, result

    async def _sitemaps(self) -> Commit:
        """As the crawler's: sitemap entries are seeds, and occurrences on their sitemap."""
        commit = Commit()
        read = await read_run_sitemaps(self._config, self._checker, self._robots)
        by_file: dict[str, list[list[Any]]] = defaultdict(list)
        for entry, resolved in seeds(read, self._resolver):
            commit.member("sitemap_files", entry.sitemap)
            key = self._discover(resolved, entry.loc, SEED_DEPTH, True, commit)
            by_file[entry.sitemap].append([key, *entry.written, entry.line, ""])
        for sitemap, items in by_file.items():
            commit.occurrences(f"sitemap {sitemap}", sitemap, items)
        commit.meta("sitemap_notes", dumps(read.problems))
        commit.meta("sitemaps_read", "1")
        return commit

    # --- a digest into a commit ---------------------------------------------------------

    def _digest(
        self,
        page_url: str,
        response: Response,
        judge: bool,
        probe_title: str | None,
        depth: int,
        commit: Commit,
    ) -> PageDigest:
        """Digest a page; the links its digester met first are decided into ``commit``, and
        what its new ids stand for waits to be defined (see define), for every digest."""
        digest = self._digester.digest(
            page_url, response.body, response.content_type, judge=judge, probe_title=probe_title
        )
        keys = self._new_keys
        for new in digest.new_links:
            keys.append(self._discover(new.resolved, new.href, depth, new.follow, commit))
        self._new_variants.add(digest.new_variants, digest.variant_ends, digest.variant_flags)
        return digest

    def _page_digested(
        self, page_url: str, depth: int, response: Response, digest: PageDigest, commit: Commit
    ) -> None:
        """The page and its occurrences, as the commit's records."""
        if response.truncated:
            commit.member("truncated", page_url)
        if digest.cut_short:
            commit.member("over_links", page_url)
        commit.digested(page_url, self.source, digest.rows)
        commit.page_facts(page_url, digest.fingerprint, digest.canonical)
        page = Page(page_url, depth, digest.title, response.status, links_found=digest.links_found)
        commit.page(page, unpack_ids(digest.ids))
        if digest.findings:
            commit.findings(page_url, digest.findings)

    def _discover(
        self, resolved: ResolvedLink, href: str, depth: int, follow: bool, commit: Commit
    ) -> str:
        """Decide a new URL (see linkcheck.decide); the first commit naming it decides it."""
        url = resolved.url
        if url is None:
            key = href.strip()
            if key not in self._known:
                result = unfetchable(key, resolved, mailto_tel=self._config.checks.mailto_tel)
                commit.discovered(key, internal=False, kind="", result=result)
            return key
        url, internal = self._scope.known_as(url)
        if url in self._known:
            return url
        scope, crawl = self._scope, self._config.crawl
        decided = discovery(url, scope, crawl, internal=internal, depth=depth, follow=follow)
        fate = decided.fate
        # A URL with a query string is decided against its path's budget as it commits,
        # against the cluster-wide count (see COMMIT_LUA): here, what it is once that is used up.
        query_path = scope.query_path(url) if internal else None
        trap = None
        if query_path is not None:
            capped = discovery(
                url,
                scope,
                crawl,
                internal=internal,
                depth=depth,
                follow=follow,
                queries_on_path=crawl.max_queries_per_path,
            )
            trap = capped.result if capped.fate is Fate.QUERY_TRAP else None
        commit.discovered(
            url,
            internal=internal,
            kind="page" if fate.crawled else "check" if fate.checked_only else "",
            depth=depth + 1 if fate.crawled else 0,
            result=decided.result,
            counter=decided.counter,
            query_path=query_path,
            trap=trap,
        )
        return url
