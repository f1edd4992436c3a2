"""Run a whole check: build the pipeline from a Config, crawl, and return a RunResult.

This is the library's entry point (``linkcheck.run_check``). It never prints; progress goes
to an optional callback, and an interruption (SIGINT/SIGTERM, or cancellation) still
returns everything found so far, marked as interrupted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack

from linkcheck.baseline import Baseline, load_baseline
from linkcheck.checkpoint import checkpoint_key, decode, new_parts, stream_sizes
from linkcheck.config import Config, ConfigError
from linkcheck.crawl_state import CrawlState, CrawlStats
from linkcheck.crawler import Crawler
from linkcheck.finish import RunFacts, crawl_and_finish, run_result
from linkcheck.http import HttpClient, Transport
from linkcheck.lifecycle import ProgressCallback, open_store, run_until_done, start_urls, ticking
from linkcheck.local import LocalSite, LocalTransport, local_site
from linkcheck.memory import cache_context
from linkcheck.models import CheckResult, Page, RunResult, current_tables, run_tables
from linkcheck.store import Store, StoreError
from linkcheck.wiring import address_policy, host_rules, make_checker, make_robots

__all__ = ["CheckOptions", "ProgressCallback", "RunOptions", "run_check", "run_check_async"]

log = logging.getLogger(__name__)


class CheckOptions(TypedDict, total=False):
    """:func:`run_check_async`'s keyword options, named once for :func:`run_check` (their
    defaults and meaning are run_check_async's)."""

    progress: ProgressCallback | None
    handle_signals: bool
    use_cache: bool
    resume: bool


def run_check(config: Config, **options: Unpack[CheckOptions]) -> RunResult:
    """:func:`run_check_async`, for callers without an event loop (the CLI)."""
    return asyncio.run(run_check_async(config, **options))


async def run_check_async(
    config: Config,
    *,
    progress: ProgressCallback | None = None,
    handle_signals: bool = False,
    use_cache: bool = True,
    resume: bool = False,
) -> RunResult:
    """Crawl and check. ``handle_signals`` turns SIGINT/SIGTERM into a partial result;
    ``use_cache=False`` (``--no-cache``) checks every link afresh (history is still kept);
    ``resume`` continues from the newest checkpoint of the same run, if there is one."""
    site = local_site(config) if config.local.root else None
    if site is not None:
        config = _local_config(config, site)
    config = _with_start_urls(config, start_urls(config))
    baseline = load_baseline(config.cache.baseline)
    store = open_store(config)
    try:
        # this run's occurrence tables: none of an earlier run's (models)
        with run_tables(config.crawl.occurrences_in_memory):
            options = RunOptions(use_cache, resume, handle_signals)
            return await _run(config, site, store, baseline, options, progress)
    finally:
        if store is not None:
            store.close()


async def _run(
    config: Config,
    site: LocalSite | None,
    store: Store | None,
    baseline: Baseline,
    options: RunOptions,
    progress: ProgressCallback | None,
) -> RunResult:
    if options.resume and store is None:
        raise ConfigError("--resume needs the result store: set [cache] enabled = true")
    started_at = datetime.now(UTC)
    async with HttpClient(config.http, policy=address_policy(config)) as client:
        transport: Transport = client
        local = None
        if site is not None:
            transport = local = LocalTransport(site, client, config.http.max_body_bytes)
        checker = make_checker(
            config,
            transport,
            host_rules(config),
            is_file=site.contains if site is not None else lambda url: False,
            answer_now=local.answer_now if local is not None else None,
        )
        robots = make_robots(config, checker) if site is None else None
        crawler = Crawler(
            config,
            checker,
            robots,
            document_of=site.relative_file if site else lambda url: url,  # a file, by its name
            cached=_cache_lookup(config, store)
            if store is not None and options.use_cache
            else None,
        )
        key = checkpoint_key(config)
        resumed = False
        if options.resume and store is not None:
            state = _load_checkpoint(store, key)
            if state is not None and not _restored(crawler.state, state):
                state = None
            if state is not None:
                started_at = datetime.fromisoformat(state["started_at"])
                resumed = True
                crawler.notes.append(
                    f"resumed an interrupted run: {crawler.stats.links_checked} links were "
                    "already checked"
                )
            else:
                crawler.notes.append("--resume: no interrupted run to resume, started afresh")
        unlinked = functools.partial(_unlinked_files, site) if site is not None else None
        crawl = asyncio.create_task(crawl_and_finish(crawler, resumed=resumed, unlinked=unlinked))
        points = ResumePoints(store, key, crawler.state, started_at) if store is not None else None
        saver = (
            asyncio.create_task(points.every(config.cache.checkpoint_interval))
            if points is not None
            else None
        )

        async def stats() -> CrawlStats:
            return crawler.stats

        try:
            async with ticking(progress, stats):
                ending = await run_until_done(
                    crawl,
                    deadline=config.crawl.max_duration or None,
                    handle_signals=options.handle_signals,
                )
        finally:
            if saver is not None:
                saver.cancel()
            if progress is not None:
                progress(crawler.stats)
    if points is not None:
        points.finish(done=ending.finished)
    return run_result(crawler.state, RunFacts(config, started_at, store, baseline, site), ending)


def _load_checkpoint(store: Store, key: str) -> dict[str, Any] | None:
    try:
        blob = store.load_checkpoint_blob(key)
        return (
            decode(blob, functools.partial(store.load_checkpoint_stream, key))
            if blob is not None
            else None
        )
    except (StoreError, ValueError) as exc:
        log.warning("cannot read the checkpoint to resume from: %s", exc)
        return None


def _restored(crawl: CrawlState, state: dict[str, Any]) -> bool:
    """Whether the crawl took the resume point's state (one it cannot read: a warning, and
    the run starts afresh)."""
    try:
        crawl.restore(state)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        log.warning("cannot resume from the checkpoint: %s", exc)
        return False
    return True


class ResumePoints:
    """One run's resume points in the store, under its checkpoint key.

    Each save replaces the state whole, but for the variant table's bytes and ends and the
    occurrences in the spill file: they only grow, and are most of a large crawl's state
    (~230 MB at 50,000 pages), so each save adds what was added since the last one it made
    (see checkpoint.new_parts), and a link's line names its spilled occurrences by their last
    batch. Encoded whole at every save, they made each save cost more as the run grew, and
    the saves, which hold the event loop, took ~10% of a 50,000-page crawl (bench/README.md,
    "Session 17").
    """

    def __init__(self, store: Store, key: str, state: CrawlState, started_at: datetime) -> None:
        self.store, self.key, self.state, self.started_at = store, key, state, started_at
        self.run = secrets.token_hex(8)  # this run's parts, apart from an earlier run's
        self.stored: dict[str, int] = {}  # bytes of each stream this run stored

    def save(self) -> None:
        tables = current_tables()
        sizes = stream_sizes(tables)
        try:
            self.store.save_checkpoint_blob(
                self.key,
                self.state.snapshot(
                    parts={"run": self.run, **sizes}, started_at=self.started_at.isoformat()
                ),
                new_parts(tables, self.stored),
                self.run,
            )
        except StoreError as exc:
            log.warning("resume point not saved: %s", exc)
            return
        self.stored = sizes

    async def every(self, interval: float) -> None:
        """Save every ``interval`` seconds (more rarely if saving is slow)."""
        while True:
            await asyncio.sleep(interval)
            began = time.monotonic()
            self.save()
            spent = time.monotonic() - began
            await asyncio.sleep(max(0.0, spent * 9 - interval))  # at most ~10% of the time

    def finish(self, *, done: bool) -> None:
        """A run that did not finish leaves a point to resume from; one that did, none."""
        if not done:
            self.save()
            return
        try:
            self.store.clear_checkpoint(self.key)
        except StoreError as exc:
            log.warning("old resume point not cleared: %s", exc)


def _cache_lookup(config: Config, store: Store) -> Callable[[str], CheckResult | None]:
    context = cache_context(config)

    def lookup(url: str) -> CheckResult | None:
        profile = config.profile_for(url) if config.hosts else None
        max_age = config.cache.max_age
        if profile is not None and profile.cache_max_age is not None:
            max_age = profile.cache_max_age
        try:
            return store.cached(url, max_age, context=context)
        except StoreError as exc:
            log.debug("cache lookup failed for %s: %s", url, exc)
            return None

    return lookup


@dataclass(frozen=True, slots=True)
class RunOptions:
    use_cache: bool = True
    resume: bool = False
    handle_signals: bool = False


def _unlinked_files(site: LocalSite, pages: list[Page]) -> list[str]:
    """A folder's HTML files that no crawled page led to: they are crawled too."""
    crawled = {site.relative_file(page.url) for page in pages}
    return [site.url_for(relative) for relative in site.page_files() if relative not in crawled]


def _local_config(config: Config, site: LocalSite) -> Config:
    """A folder is crawled from its index page, with the whole base URL in scope."""
    files = site.page_files()
    if not files:
        raise ConfigError(f"{site.shown_root}: no HTML files ({', '.join(site.extensions)}) in it")
    index = site.file_for(site.base_url)
    start = site.base_url if index is not None else site.url_for(files[0])
    # The folder's own sitemap, if it has one; never the production site's /sitemap.xml.
    sitemap = site.base_url + "sitemap.xml"
    own_sitemap = (sitemap,) if config.checks.sitemaps and site.file_for(sitemap) else ()
    return dataclasses.replace(
        config,
        start_urls=(start,),
        crawl=dataclasses.replace(
            config.crawl,
            allowed_prefixes=(*config.crawl.allowed_prefixes, site.base_url),
            respect_robots=False,
        ),
        checks=dataclasses.replace(
            config.checks,
            sitemaps=False,
            sitemap_urls=(*config.checks.sitemap_urls, *own_sitemap),
        ),
    )


def _with_start_urls(config: Config, start_urls: list[str]) -> Config:
    return dataclasses.replace(config, start_urls=tuple(start_urls))
