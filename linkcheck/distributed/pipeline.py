"""One task's work, done with the single-machine pipeline's own pieces.

This is the distributed counterpart of what :class:`linkcheck.crawler.Crawler` does for one
URL — check a link, or fetch a page, parse it and decide each link it names — with the same
Checker, extractor, resolver, scope, robots rules, soft-404 detector and quality checks, and
the same decisions in the same order. What differs is only where the bookkeeping goes:
instead of the crawler's dictionaries, everything is collected in a
:class:`~linkcheck.distributed.queue.Commit` that the worker writes to Redis atomically.
The site-wide steps (fragments, re-checks, findings over all links) run once, at the
coordinator, on the assembled crawl (see :mod:`linkcheck.distributed.assemble`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

from linkcheck.checker import Checker
from linkcheck.config import Config
from linkcheck.distributed.queue import Commit, Task, TaskQueue, dumps
from linkcheck.extract import ParsedPage, RawLink, decode, is_html, parse_page
from linkcheck.hosts import HostRules
from linkcheck.http import DEFAULT_USER_AGENT, Response, Transport
from linkcheck.models import CheckResult, ErrorKind, Page, Verdict
from linkcheck.quality import check_mailto, check_tel, page_link_text_findings, redirect_dead_end
from linkcheck.robots import RobotsRules, robots_url
from linkcheck.runner import _configured_hosts, _site_hosts
from linkcheck.safety import AddressPolicy
from linkcheck.scope import Scope
from linkcheck.sitemaps import read_sitemaps
from linkcheck.soft404 import SoftNotFoundDetector
from linkcheck.urls import CachedResolver, ResolvedLink, page_base

MAX_KNOWN = 500_000  # URLs remembered as already decided, per process (saves payload)


def address_policy(config: Config) -> AddressPolicy:
    """The private-address rule of a single run: the site's hosts and configured hosts only.

    The helpers are the runner's own (imported, not copied), so the rule cannot drift.
    """
    return AddressPolicy(
        allowed_hosts=_site_hosts(config) | _configured_hosts(config),
        allow_all=config.http.allow_private,
    )


def host_rules(config: Config) -> HostRules:
    return HostRules(config, _site_hosts(config))


def make_checker(config: Config, transport: Transport, rules: HostRules) -> Checker:
    return Checker(transport, config.http, rules, remap=config.remapped)


def make_robots(config: Config, checker: Checker) -> RobotsRules | None:
    if not config.crawl.respect_robots:
        return None
    return RobotsRules(checker, config.http.user_agent or DEFAULT_USER_AGENT)


class TaskPipeline:
    """Turns a task into a Commit. One per process; it keeps per-host caches (robots.txt,
    soft-404 probes) and the URLs it knows are decided already."""

    def __init__(self, config: Config, checker: Checker, queue: TaskQueue) -> None:
        self._config = config
        self._checker = checker
        self._queue = queue
        self._scope = Scope.from_config(config)
        self._resolver = CachedResolver(max_url_length=config.crawl.max_url_length)
        self._robots = make_robots(config, checker)
        self._soft404 = SoftNotFoundDetector(checker) if config.checks.soft_404 else None
        self._generic_texts = frozenset(t.casefold() for t in config.checks.generic_link_texts)
        self._start_urls = frozenset(config.start_urls)
        self._known: set[str] = set()  # keys a committed commit has put in the seen-set

    async def run(self, task: Task) -> Commit:
        if task.kind == "page":
            return await self._page(task.url, task.depth)
        if task.kind == "sitemaps":
            return await self._sitemaps()
        return await self._check(task.url)

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

    async def _check(self, url: str) -> Commit:
        commit = Commit()
        checked = await self._checker.check(url)
        commit.result(url, self._recorded(url, checked.result))
        return commit

    async def _page(self, url: str, depth: int) -> Commit:
        """As :meth:`Crawler._crawl_page`: robots, soft-404 probe, GET, claim a redirect
        target inside the scope, parse."""
        commit = Commit()
        if (
            self._robots is not None
            and url not in self._start_urls
            and not await self._robots.allows(url)
        ):
            commit.result(
                url,
                CheckResult(url, Verdict.EXCLUDED, message="disallowed by the site's robots.txt"),
            )
            return commit
        judge = (
            self._soft404 is not None
            and url not in self._start_urls
            and self._soft_404_enabled(url)
        )
        if judge and self._soft404 is not None:
            await self._soft404.prepare(url)
        checked = await self._checker.check(url, as_page=True)
        result = checked.result
        commit.result(url, self._recorded(url, result))
        response = checked.response
        if response is None or result.verdict not in (Verdict.OK, Verdict.REDIRECTED):
            return commit
        page_url = url
        if result.verdict is Verdict.REDIRECTED and result.final_url:
            target = result.final_url
            if not self._scope.is_internal(target):
                return commit
            claim = CheckResult(target, Verdict.OK, status=response.status, final_url=target)
            if not await self._queue.claim_redirect(target, url, claim):
                return commit
            page_url = target
        if not is_html(response.content_type, response.body):
            commit.non_html(url, response.content_type or "unknown")
            return commit
        parsed = self._parse(page_url, depth, response, commit)
        if judge and self._soft404 is not None and result.verdict is Verdict.OK:
            before = len(self._soft404.found)
            self._soft404.judge(url, parsed)
            found = self._soft404.found[before:]
            commit.soft404(url, [found[-1].reason, found[-1].by_probe] if found else [])
        return commit

    async def _sitemaps(self) -> Commit:
        """As :meth:`Crawler._load_sitemaps`: entries are seeds and occurrences."""
        commit = Commit()
        checks = self._config.checks
        urls = list(checks.sitemap_urls)
        if checks.sitemaps:
            for start in self._config.start_urls:
                urls.append(robots_url(start).removesuffix("robots.txt") + "sitemap.xml")
                if self._robots is not None:
                    urls.extend(await self._robots.sitemaps(start))
        read = await read_sitemaps(
            self._checker, list(dict.fromkeys(urls)), explicit=set(checks.sitemap_urls)
        )
        by_file: dict[str, list[list[Any]]] = defaultdict(list)
        for entry in read.entries:
            commit.member("sitemap_files", entry.sitemap)
            resolved = self._resolver.resolve(entry.sitemap, entry.loc)
            key = self._discover(resolved, entry.loc, -1, True, commit)
            by_file[entry.sitemap].append([key, entry.loc, "", "sitemap", "loc", entry.line, ""])
        for sitemap, items in by_file.items():
            commit.occurrences(f"sitemap {sitemap}", sitemap, items)
        commit.meta("sitemap_notes", dumps(read.problems))
        commit.meta("sitemaps_read", "1")
        return commit

    # --- as the crawler does it ----------------------------------------------------------

    def _parse(self, page_url: str, depth: int, response: Response, commit: Commit) -> ParsedPage:
        if response.truncated:
            commit.member("truncated", page_url)
        parsed = parse_page(decode(response.body, response.charset))
        base = str(page_base(page_url, parsed.base_href))
        raw_links = parsed.links
        if len(raw_links) > self._config.crawl.max_links_per_page:
            commit.member("over_links", page_url)
            raw_links = raw_links[: self._config.crawl.max_links_per_page]
        resolve_href = self._resolver.for_page(base)
        check_text = self._config.checks.link_text
        texts: list[tuple[RawLink, str]] = []
        items: list[list[Any]] = []
        for raw in raw_links:
            resolved = resolve_href(raw.href)
            follow = not (raw.nofollow or parsed.nofollow)
            key = self._discover(resolved, raw.href, depth, follow, commit)
            if check_text and raw.tag == "a":
                texts.append((raw, key))
            items.append([key, raw.href, raw.text, raw.tag, raw.attr, raw.line, resolved.fragment])
        commit.occurrences(page_url, page_url, items)
        page = Page(page_url, depth, parsed.title, response.status, links_found=len(parsed.links))
        commit.page(page, parsed.ids)
        if texts:
            findings = page_link_text_findings(page_url, texts, self._generic_texts)
            if findings:
                commit.findings(page_url, findings)
        return parsed

    def _discover(
        self, resolved: ResolvedLink, href: str, depth: int, follow: bool, commit: Commit
    ) -> str:
        """As :meth:`Crawler._discover`; the first commit naming a URL decides it."""
        if resolved.url is None:
            key = href.strip()
            if key not in self._known:
                commit.discovered(
                    key, internal=False, kind="", result=self._unfetched(key, resolved)
                )
            return key
        url = resolved.url
        if url in self._known:
            return url
        internal = self._scope.is_internal(url)
        pattern = self._scope.excluded_by(url)
        crawl = self._config.crawl
        if pattern is not None:
            commit.discovered(
                url,
                internal=internal,
                kind="",
                result=CheckResult(
                    url, Verdict.EXCLUDED, message=f"matches exclude pattern {pattern!r}"
                ),
            )
        elif internal and self._scope.looks_like_trap(url):
            commit.discovered(
                url,
                internal=True,
                kind="",
                counter="traps",
                result=CheckResult(
                    url,
                    Verdict.EXCLUDED,
                    message="repeating path segments: looks like a crawl trap, not followed",
                ),
            )
        elif internal:
            if not follow:
                commit.discovered(url, internal=True, kind="check")
            elif depth + 1 > crawl.max_depth:
                commit.discovered(
                    url, internal=True, kind="check", counter="pages_not_crawled_max_depth"
                )
            else:  # max_pages is decided in the commit, against the cluster-wide count
                commit.discovered(url, internal=True, kind="page", depth=depth + 1)
        elif not self._scope.check_external:
            commit.discovered(
                url,
                internal=False,
                kind="",
                result=CheckResult(
                    url, Verdict.EXCLUDED, message="external links are not checked (--no-external)"
                ),
            )
        else:
            commit.discovered(url, internal=False, kind="check")
        return url

    def _unfetched(self, key: str, resolved: ResolvedLink) -> CheckResult:
        invalid = resolved.reason.startswith("invalid URL")
        message = resolved.reason
        if not invalid and self._config.checks.mailto_tel and resolved.scheme in ("mailto", "tel"):
            problem = (check_mailto if resolved.scheme == "mailto" else check_tel)(key)
            invalid = bool(problem)
            message = (
                f"malformed {resolved.scheme}: link: {problem}"
                if problem
                else f"{resolved.scheme}: link, well formed (nothing is sent or dialled)"
            )
        return CheckResult(
            url=key,
            verdict=Verdict.ERROR if invalid else Verdict.SKIPPED,
            error=ErrorKind.INVALID_URL if invalid else None,
            message=message,
        )

    def _recorded(self, url: str, result: CheckResult) -> CheckResult:
        """As :meth:`Crawler._record`: a redirect to the home or login page is a soft 404."""
        if (
            result.verdict is Verdict.REDIRECTED
            and self._config.checks.soft_404
            and self._soft_404_enabled(url)
        ):
            dead_end = redirect_dead_end(url, result.final_url)
            if dead_end:
                return dataclasses.replace(
                    result, verdict=Verdict.BROKEN, message=f"soft 404: {dead_end}"
                )
        return result

    def _soft_404_enabled(self, url: str) -> bool:
        profile = self._config.profile_for(url) if self._config.hosts else None
        if profile is not None and profile.soft_404 is not None:
            return profile.soft_404
        return self._config.checks.soft_404
