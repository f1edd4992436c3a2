"""The finishing stage: what a run does after its crawl, and the RunResult it assembles.

One stage for both ways to run a check: the single-process runner calls it after its crawl,
the distributed coordinator after restoring what its workers committed. In this order: the
recheck pass, soft 404s, external #fragments, #fragments, site-wide findings, https offers;
then (see :func:`run_result`) the links the run did not get to, limits, start failures,
orphans, the result cache and the run's history.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import unquote

from linkcheck.baseline import Baseline
from linkcheck.checker import Checker
from linkcheck.config import CheckSettings, Config
from linkcheck.crawl_state import CrawlState
from linkcheck.crawler import Crawler
from linkcheck.decide import fragments_enabled
from linkcheck.digest import pack_ids, unpack_ids
from linkcheck.extract import decode, is_html, parse_page
from linkcheck.lifecycle import Ending
from linkcheck.local import LocalSite, as_files
from linkcheck.memory import cache_context, remember_run
from linkcheck.models import (
    CheckResult,
    FindingKind,
    Link,
    Occurrences,
    Page,
    RunResult,
    Verdict,
)
from linkcheck.quality import inconsistent_links, insecure_links
from linkcheck.retry import recheck_due, url_budget
from linkcheck.store import Store, StoreError

log = logging.getLogger(__name__)


async def crawl_and_finish(
    crawler: Crawler,
    *,
    resumed: bool = False,
    unlinked: Callable[[list[Page]], list[str]] | None = None,
) -> None:
    """A run's whole work: the crawl (or the rest of a restored one), the pages ``unlinked``
    names that no page led to (a folder's other HTML files), then the finishing stage. The
    parse workers are stopped however it ends."""
    try:
        await (crawler.resume() if resumed else crawler.run())
        if unlinked is not None:
            await crawler.seed(unlinked(crawler.pages))
        await finish_crawl(crawler)
    finally:
        await crawler.close()  # the parse workers, also when the run is cut short


async def finish_crawl(crawler: Crawler) -> None:
    """The checks that need the whole crawl, in this order."""
    state, config, checker = crawler.state, crawler.config, crawler.checker
    if config.http.recheck:
        await recheck(crawler)
    # No page is parsed from here on: the workers' memory goes back before the checks that
    # follow, which would otherwise add to a large crawl's peak.
    await crawler.close()
    apply_soft_404(state)
    state.merge_aliases()  # one page, one entry: before the findings over all links
    checks = config.checks
    if checks.external_fragments:
        await check_external_fragments(state, checker)
    if checks.fragments or checks.external_fragments:
        check_fragments(state, functools.partial(fragments_enabled, config))
    quality_findings(state, checks)
    if checks.https:
        await offer_https_replacements(state, checker)


async def recheck(crawler: Crawler) -> None:
    """Look again, after a pause, at links that failed in a way that is often temporary.

    A carrier's server that hiccupped once should not page anyone; one that is still down
    after the pause is reported, with the second answer. The crawl rechecks each such
    failure it records, ``recheck_delay`` after it, while it goes on (see Crawler): what is
    left here are the failures a restored crawl left and did not recheck (the distributed
    workers recheck theirs, and their commits say so: CrawlState.rechecked_urls).
    """
    state, http = crawler.state, crawler.config.http
    budget = url_budget(http.timeout, http.url_budget)
    done = crawler.rechecked
    again = [
        link.url
        for link in state.links.values()
        if link.result is not None
        and link.url not in done
        and recheck_due(link.result, 0.0, budget)
    ]
    if not again:
        return
    log.info("re-checking %d link(s) in %g s", len(again), http.recheck_delay)
    await asyncio.sleep(http.recheck_delay)
    state.rechecked += len(again)
    await crawler.check_again(again)


def apply_soft_404(state: CrawlState) -> None:
    """Turn the pages judged "not found" (status 200 all the same) into broken links."""
    if state.soft404 is None:
        return
    found, probe_dropped = state.soft404.results()
    if probe_dropped:
        state.notes.append(
            "the site answers made-up addresses with the same page as real ones (a "
            "single-page app?): soft 404s were only judged by what pages say"
        )
    for item in found:
        link = state.links.get(item.url)
        if link is None or link.result is None or link.result.verdict is not Verdict.OK:
            continue
        link.result = dataclasses.replace(
            link.result, verdict=Verdict.BROKEN, message=f"soft 404: {item.reason}"
        )
        state.stats.problems += 1


async def check_external_fragments(state: CrawlState, checker: Checker) -> None:
    """Opt-in: GET each external page that links point into with a #fragment, once."""
    wanted = [
        link.url
        for link in state.links.values()
        if not link.internal
        and link.result is not None
        and link.result.verdict.works
        and any(_is_anchor(o.fragment) for o in link.occurrences)
    ]

    async def read_ids(url: str) -> None:
        checked = await checker.check(url, as_page=True)
        response = checked.response
        if response is not None and is_html(response.content_type, response.body):
            parsed = parse_page(decode(response.body, response.charset))
            document = state.document_of(checked.result.final_url or url)
            state.page_ids[document] = pack_ids(parsed.ids)

    async with asyncio.TaskGroup() as group:
        for url in wanted:
            group.create_task(read_ids(url))


def check_fragments(state: CrawlState, enabled: Callable[[str], bool]) -> int:
    """Split off links whose #fragment names no element on the crawled target page.

    The page itself works, so the problem is recorded as its own link ``page#fragment``
    (verdict broken), carrying the occurrences that use that fragment. Each target was
    parsed once during the crawl, however many fragments point into it. ``enabled`` says
    whether a URL's host has the check on.
    """
    missing: dict[str, Link] = {}
    for link in list(state.links.values()):
        result = link.result
        if result is None or not link.occurrences or not enabled(link.url):
            continue
        if not result.verdict.works:
            continue
        packed = state.page_ids.get(state.document_of(result.final_url or link.url))
        if packed is None:
            continue  # not an HTML page we parsed (an image, a file): its rows are not read
        # By variant number (a way of writing the link, its fragment included): each
        # variant's fragment read once, the occurrences split as numbers, none built.
        occurrences = link.occurrences
        variants = occurrences.tables.variants
        named = variants.with_fragment(occurrences.variants_in_order())
        if not named:
            continue  # the common case: no link to this page names a section
        ids = unpack_ids(packed)
        keys: dict[int, str] = {}  # variant -> the page#fragment it names
        for kind, fragment in zip(named, variants.fragments(named), strict=True):
            if not _is_anchor(fragment) or fragment in ids or unquote(fragment) in ids:
                continue
            key = keys[kind] = f"{link.url}#{fragment}"
            if key not in missing:
                broken = missing[key] = Link(
                    key, internal=True, occurrences=Occurrences(tables=occurrences.tables)
                )
                broken.result = CheckResult(  # no status: the page is fine, the anchor not
                    key,
                    Verdict.BROKEN,
                    final_url=result.final_url,
                    message=f"The page has no element with id or name {fragment!r}: the "
                    "link opens at the top of the page, not at that section",
                )
        if not keys:
            continue
        moved, link.occurrences = occurrences.split_by_variant(keys)
        for key, part in moved.items():
            missing[key].occurrences.extend(part)
    state.links.update(missing)
    return len(missing)


def _is_anchor(fragment: str) -> bool:
    """Fragments that name an element; not empty, "top" (always valid), or "#!/app/routes".

    The ids are looked for as written, then percent-decoded (HTML §7.4.6.4, "find a
    potential indicated element"); "top" in any letter case is the top of the page."""
    return (
        bool(fragment) and fragment.lower() != "top" and not fragment.startswith(("!", "/", ":~:"))
    )


def quality_findings(state: CrawlState, checks: CheckSettings) -> None:
    """Site-wide checks over everything found: insecure links, inconsistent forms."""
    if checks.https:
        secure_pages = {page.url for page in state.pages if page.url.startswith("https://")}
        state.findings.extend(insecure_links(state.links.values(), secure_pages))
    if checks.duplicates:
        state.findings.extend(inconsistent_links(state.links.values()))


async def offer_https_replacements(state: CrawlState, checker: Checker) -> None:
    """For http:// links on https:// pages, say when the https:// form works."""
    insecure = sorted({f.url for f in state.findings if f.kind == FindingKind.INSECURE_LINK})
    if not insecure:
        return
    works: dict[str, bool] = {}

    async def try_https(url: str) -> None:
        secure = "https://" + url.removeprefix("http://")
        checked = await checker.check(secure)
        works[url] = checked.result.verdict.works

    async with asyncio.TaskGroup() as group:
        for url in insecure:
            group.create_task(try_https(url))
    state.findings = [
        dataclasses.replace(
            f,
            note=f"{f.message} It works over https: use "
            f"https://{f.url.removeprefix('http://')} instead.",
        )
        if f.kind == FindingKind.INSECURE_LINK and works.get(f.url)
        else f
        for f in state.findings
    ]


# --- the RunResult ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class RunFacts:
    """What the run knows beyond its crawl state: where it keeps its memory, and when and
    from where it started."""

    config: Config
    started_at: datetime
    store: Store | None
    baseline: Baseline
    site: LocalSite | None = None  # a folder: URLs are reported as its files


def run_result(
    state: CrawlState, facts: RunFacts, ending: Ending, *, notes: list[str] | None = None
) -> RunResult:
    """The run's result, once its work has ended (however it ended): the links it did not
    get to say why, fresh results go to the result cache and the run to its history.
    ``notes`` are added to the crawl's own."""
    config, store = facts.config, facts.store
    start_urls = list(config.start_urls)
    why = "the run reached max_duration" if ending.out_of_time else "the run was interrupted"
    for link in state.links.values():
        if link.result is None:
            link.result = CheckResult(link.url, Verdict.EXCLUDED, message=f"not checked: {why}")
    limits = limits_hit(state, config)
    if ending.out_of_time:
        limits.insert(
            0, f"run stopped at max duration ({config.crawl.max_duration:g} s) before it finished"
        )
    run = RunResult(
        start_urls=start_urls,
        started_at=facts.started_at,
        finished_at=datetime.now(UTC),
        links=state.links,
        pages=state.pages,
        limits_hit=limits,
        interrupted=ending.interrupted,
        interrupted_by=ending.interrupted_by,
        config_summary=config.summary(),
        start_failures=[] if facts.site is not None else start_failures(state, start_urls),
        findings=state.findings,
        notes=[*state.notes, *state.trap_notes(config.crawl.max_queries_per_path), *(notes or [])],
        orphans=sitemap_orphans(state, start_urls),
    )
    if store is not None:
        fresh = [
            link.result
            for link in state.links.values()
            if not link.internal and link.result is not None and not link.result.from_cache
        ]
        try:
            store.remember(fresh, context=cache_context(config))
        except StoreError as exc:
            log.warning("result cache not updated: %s", exc)
    run.cache_hits = state.cache_hits
    if facts.site is not None:
        run = as_files(run, facts.site)
    remember_run(
        run, store, facts.baseline, failures_before_broken=config.cache.failures_before_broken
    )
    return run


def limits_hit(state: CrawlState, config: Config) -> list[str]:
    """One line per limit of the configuration that stopped part of the crawl."""
    notes = []
    crawl, limits = config.crawl, state.limits
    if limits.pages_not_crawled_max_pages:
        notes.append(
            f"crawl stopped at max pages ({crawl.max_pages}): "
            f"{limits.pages_not_crawled_max_pages} more of the site's links were checked, "
            "not crawled"
        )
    if limits.pages_not_crawled_max_depth:
        notes.append(
            f"crawl stopped at max depth ({crawl.max_depth}): "
            f"{limits.pages_not_crawled_max_depth} deeper links of the site were checked, "
            "not crawled"
        )
    if limits.pages_over_max_links:
        notes.append(
            f"{limits.pages_over_max_links} page(s) had more than "
            f"{crawl.max_links_per_page} links; only the first were followed"
        )
    if limits.traps:
        notes.append(
            f"{limits.traps} URL(s) with repeating path segments were not followed "
            "(they look like a crawl trap)"
        )
    if limits.truncated_pages:
        notes.append(
            f"{len(limits.truncated_pages)} page(s) were larger than "
            f"{config.http.max_body_bytes} bytes; only the start of each was read"
        )
    return notes


def start_failures(state: CrawlState, start_urls: list[str]) -> list[str]:
    """One line per start URL that gave the crawl nothing to work with."""
    failures = []
    for url in start_urls:
        result = state.links[url].result
        if result is None:
            continue
        if result.verdict is Verdict.ERROR:
            failures.append(f"start URL {url} could not be fetched: {result.message}")
        elif result.verdict is Verdict.BROKEN:
            failures.append(f"start URL {url} answered HTTP {result.status}")
        elif url in state.non_html_pages:
            failures.append(
                f"start URL {url} is not an HTML page (Content-Type: {state.non_html_pages[url]})"
            )
    return failures


def sitemap_orphans(state: CrawlState, start_urls: list[str]) -> list[str]:
    """Pages a sitemap lists that no crawled page links to."""
    if not state.sitemap_files:
        return []  # no sitemap: no need to look at every link's occurrences
    starts = frozenset(start_urls)
    return sorted(
        link.url
        for link in state.links.values()
        if link.internal
        and link.occurrences
        and link.url not in starts
        and all(o.page in state.sitemap_files for o in link.occurrences)
    )
