"""Run a whole check: build the pipeline from a Config, crawl, and return a RunResult.

This is the library's entry point (``linkcheck.run_check``). It never prints; progress goes
to an optional callback, and an interruption (SIGINT/SIGTERM, or cancellation) still
returns everything found so far, marked as interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from linkcheck.baseline import Baseline, load_baseline
from linkcheck.checkpoint import checkpoint_key, decode
from linkcheck.config import Config, ConfigError
from linkcheck.crawler import Crawler, CrawlStats
from linkcheck.http import HttpClient, Transport
from linkcheck.local import LocalSite, LocalTransport, as_files, local_site
from linkcheck.memory import cache_context, remember_run
from linkcheck.models import CheckResult, RunResult, Verdict
from linkcheck.store import Store, StoreError
from linkcheck.urls import InvalidURL, normalize_url
from linkcheck.wiring import address_policy, host_rules, make_checker, make_robots

log = logging.getLogger(__name__)

ProgressCallback = Callable[[CrawlStats], None]
PROGRESS_INTERVAL = 0.2  # seconds between progress callbacks


def run_check(
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
    return asyncio.run(
        run_check_async(
            config,
            progress=progress,
            handle_signals=handle_signals,
            use_cache=use_cache,
            resume=resume,
        )
    )


async def run_check_async(
    config: Config,
    *,
    progress: ProgressCallback | None = None,
    handle_signals: bool = False,
    use_cache: bool = True,
    resume: bool = False,
) -> RunResult:
    site = local_site(config) if config.local.root else None
    if site is not None:
        config = _local_config(config, site)
    if not config.start_urls:
        raise ConfigError(
            "no start URL: give one on the command line or set start_urls in config.toml"
        )
    try:
        start_urls = list(dict.fromkeys(normalize_url(url) for url in config.start_urls))
    except InvalidURL as exc:
        raise ConfigError(f"start URL: {exc}") from None
    config = _with_start_urls(config, start_urls)
    baseline = load_baseline(config.cache.baseline)
    store = _open_store(config)
    try:
        return await _run(
            config,
            start_urls,
            site,
            store,
            baseline,
            RunOptions(use_cache, resume, handle_signals),
            progress,
        )
    finally:
        if store is not None:
            store.close()


async def _run(
    config: Config,
    start_urls: list[str],
    site: LocalSite | None,
    store: Store | None,
    baseline: Baseline,
    options: RunOptions,
    progress: ProgressCallback | None,
) -> RunResult:
    if options.resume and store is None:
        raise ConfigError("--resume needs the result store: set [cache] enabled = true")
    started_at = datetime.now(UTC)
    interrupted = False
    out_of_time = False
    async with HttpClient(config.http, policy=address_policy(config)) as client:
        transport: Transport = client
        if site is not None:
            transport = LocalTransport(site, client, config.http.max_body_bytes)
        checker = make_checker(
            config,
            transport,
            host_rules(config),
            is_file=site.contains if site is not None else lambda url: False,
        )
        robots = make_robots(config, checker) if site is None else None
        crawler = Crawler(
            config,
            checker,
            robots,
            document_of=site.file_for if site else lambda url: url,
            cached=_cache_lookup(config, store)
            if store is not None and options.use_cache
            else None,
        )
        key = checkpoint_key(config)
        resumed = False
        if options.resume and store is not None:
            state = _load_checkpoint(store, key)
            if state is not None:
                crawler.restore(state)
                started_at = datetime.fromisoformat(state["started_at"])
                resumed = True
                crawler.notes.append(
                    f"resumed an interrupted run: {crawler.stats.links_checked} links were "
                    "already checked"
                )
            else:
                crawler.notes.append("--resume: no interrupted run to resume, started afresh")
        crawl = asyncio.create_task(_crawl_all(crawler, site, resumed))
        saver = (
            asyncio.create_task(
                _save_checkpoints(store, key, crawler, started_at, config.cache.checkpoint_interval)
            )
            if store is not None
            else None
        )
        ticker = asyncio.create_task(_tick(crawler.stats, progress)) if progress else None
        received: list[signal.Signals] = []
        removers = _install_signal_handlers(crawl, received) if options.handle_signals else []
        try:
            deadline = config.crawl.max_duration or None
            done, _ = await asyncio.wait({crawl}, timeout=deadline)
            if not done:  # the whole-run deadline: stop, and report what was found
                out_of_time = True
                crawl.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await crawl
            else:
                await crawl
        except asyncio.CancelledError:
            interrupted = True
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we ourselves were cancelled, not the crawl: do not swallow it
        finally:
            if saver is not None:
                saver.cancel()
            for remove in removers:
                remove()
            if ticker is not None and progress is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
                progress(crawler.stats)
    if store is not None:  # a run that did not finish leaves a point to resume from
        _final_checkpoint(store, key, crawler, started_at, done=not (interrupted or out_of_time))
    why = "the run reached max_duration" if out_of_time else "the run was interrupted"
    for link in crawler.links.values():
        if link.result is None:
            link.result = CheckResult(link.url, Verdict.EXCLUDED, message=f"not checked: {why}")
    limits_hit = crawler.limits_hit()
    if out_of_time:
        limits_hit.insert(
            0, f"run stopped at max duration ({config.crawl.max_duration:g} s) before it finished"
        )
    run = RunResult(
        start_urls=start_urls,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        links=crawler.links,
        pages=crawler.pages,
        limits_hit=limits_hit,
        interrupted=interrupted,
        interrupted_by=received[0].name if received else ("cancelled" if interrupted else ""),
        config_summary=config.summary(),
        start_failures=[] if site is not None else _start_failures(crawler, start_urls),
        findings=crawler.findings,
        notes=crawler.notes,
        orphans=crawler.sitemap_orphans(),
    )
    if store is not None:
        fresh = [
            link.result
            for link in crawler.links.values()
            if not link.internal and link.result is not None and not link.result.from_cache
        ]
        try:
            store.remember(fresh, context=cache_context(config))
        except StoreError as exc:
            log.warning("result cache not updated: %s", exc)
    run.cache_hits = crawler.cache_hits
    if site is not None:
        run = as_files(run, site)
    remember_run(run, store, baseline, failures_before_broken=config.cache.failures_before_broken)
    return run


def _load_checkpoint(store: Store, key: str) -> dict[str, Any] | None:
    try:
        blob = store.load_checkpoint_blob(key)
        return decode(blob) if blob is not None else None
    except (StoreError, ValueError) as exc:
        log.warning("cannot read the checkpoint to resume from: %s", exc)
        return None


async def _save_checkpoints(
    store: Store, key: str, crawler: Crawler, started_at: datetime, interval: float
) -> None:
    """Save a resume point every ``interval`` seconds (more rarely if saving is slow)."""
    while True:
        await asyncio.sleep(interval)
        began = time.monotonic()
        _save(store, key, crawler, started_at)
        spent = time.monotonic() - began
        await asyncio.sleep(max(0.0, spent * 9 - interval))  # at most ~10% of the time


def _save(store: Store, key: str, crawler: Crawler, started_at: datetime) -> None:
    try:
        store.save_checkpoint_blob(key, crawler.snapshot(started_at=started_at.isoformat()))
    except StoreError as exc:
        log.warning("resume point not saved: %s", exc)


def _final_checkpoint(
    store: Store, key: str, crawler: Crawler, started_at: datetime, *, done: bool
) -> None:
    if not done:
        _save(store, key, crawler, started_at)
        return
    try:
        store.clear_checkpoint(key)
    except StoreError as exc:
        log.warning("old resume point not cleared: %s", exc)


def _open_store(config: Config) -> Store | None:
    """The run's memory, or None (disabled, or unusable: a warning, never a failed run)."""
    if not config.cache.enabled:
        return None
    try:
        return Store(config.cache.path)
    except (StoreError, OSError) as exc:
        log.warning("working without the result cache and history (%s): %s", config.cache.path, exc)
        return None


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


async def _crawl_all(crawler: Crawler, site: LocalSite | None, resumed: bool = False) -> None:
    """The crawl, then (for a folder) every HTML file no page led to, then #fragments."""
    try:
        await (crawler.resume() if resumed else crawler.run())
        if site is not None:
            crawled = {site.file_for(page.url) for page in crawler.pages}
            await crawler.seed(
                [site.url_for(path) for path in site.html_files() if path not in crawled]
            )
        if crawler.recheck_enabled:
            await crawler.recheck()
        # No page is parsed from here on: the workers' memory goes back before the checks
        # that follow, which have a 50,000-page crawl's peak otherwise.
        await crawler.close()
        crawler.apply_soft_404()
        checks = crawler.checks
        if checks.external_fragments:
            await crawler.check_external_fragments()
        if checks.fragments or checks.external_fragments:
            crawler.check_fragments()
        crawler.quality_findings()
        if checks.https:
            await crawler.offer_https_replacements()
    finally:
        await crawler.close()  # the parse workers, also when the run is cut short


def _start_failures(crawler: Crawler, start_urls: list[str]) -> list[str]:
    """One line per start URL that gave the crawl nothing to work with."""
    failures = []
    for url in start_urls:
        result = crawler.links[url].result
        if result is None:
            continue
        if result.verdict is Verdict.ERROR:
            failures.append(f"start URL {url} could not be fetched: {result.message}")
        elif result.verdict is Verdict.BROKEN:
            failures.append(f"start URL {url} answered HTTP {result.status}")
        elif url in crawler.non_html_pages:
            failures.append(
                f"start URL {url} is not an HTML page (Content-Type: {crawler.non_html_pages[url]})"
            )
    return failures


def _local_config(config: Config, site: LocalSite) -> Config:
    """A folder is crawled from its index page, with the whole base URL in scope."""
    files = site.html_files()
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


async def _tick(stats: CrawlStats, progress: ProgressCallback) -> None:
    while True:
        progress(stats)
        await asyncio.sleep(PROGRESS_INTERVAL)


def _install_signal_handlers(
    task: asyncio.Task[None], received: list[signal.Signals]
) -> list[Callable[[], None]]:
    """Make SIGINT/SIGTERM cancel the crawl (not the process) so the report is still written."""
    loop = asyncio.get_running_loop()
    removers: list[Callable[[], None]] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, _on_signal, task, signum, received)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            continue
        removers.append(functools.partial(_remove_handler, loop, signum))
    return removers


def _remove_handler(loop: asyncio.AbstractEventLoop, signum: signal.Signals) -> None:
    loop.remove_signal_handler(signum)


def _on_signal(
    task: asyncio.Task[None], signum: signal.Signals, received: list[signal.Signals]
) -> None:
    received.append(signum)
    task.cancel()
