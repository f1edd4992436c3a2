"""The finishing stage's pure steps, table by table: limits, start failures, orphans,
#fragments, and the RunResult of a run that did not finish."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from linkcheck.baseline import Baseline
from linkcheck.crawl_state import CrawlLimits, CrawlState
from linkcheck.digest import pack_ids
from linkcheck.finish import (
    RunFacts,
    check_fragments,
    limits_hit,
    run_result,
    sitemap_orphans,
    start_failures,
)
from linkcheck.lifecycle import Ending
from linkcheck.models import CheckResult, Link, Occurrence, Verdict, run_tables
from tests.conftest import make_config

SITE = "http://site.test/"


@pytest.fixture(autouse=True)
def tables() -> Any:
    with run_tables() as tables:  # each test's occurrences in tables of its own
        yield tables


def _link(url: str, verdict: Verdict | None = Verdict.OK, *pages: str, **extra: Any) -> Link:
    link = Link(url, internal=url.startswith(SITE))
    if verdict is not None:
        link.result = CheckResult(url, verdict, status=200, **extra)
    for page in pages:
        fragment = url.partition("#")[2]
        link.occurrences.append(Occurrence(page, url, "text", "a", "href", 1, fragment))
    return link


def _state(*links: Link, **fields: Any) -> CrawlState:
    state = CrawlState(lambda url: url, **fields)
    state.links = {link.url: link for link in links}
    return state


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (CrawlLimits(), []),
        (
            CrawlLimits(pages_not_crawled_max_pages=3),
            [
                "crawl stopped at max pages (7): 3 more of the site's links were checked, not crawled"
            ],
        ),
        (
            CrawlLimits(pages_not_crawled_max_depth=2),
            [
                "crawl stopped at max depth (4): 2 deeper links of the site were checked, not crawled"
            ],
        ),
        (
            CrawlLimits(pages_over_max_links=1),
            ["1 page(s) had more than 9 links; only the first were followed"],
        ),
        (
            CrawlLimits(traps=5),
            [
                "5 URL(s) with repeating path segments were not followed (they look like a "
                "crawl trap)"
            ],
        ),
        (
            CrawlLimits(truncated_pages=["a", "b"]),
            ["2 page(s) were larger than 4096 bytes; only the start of each was read"],
        ),
    ],
)
def test_limits_hit(limits: CrawlLimits, expected: list[str]) -> None:
    config = make_config(
        SITE,
        crawl={"max_pages": 7, "max_depth": 4, "max_links_per_page": 9},
        http={"max_body_bytes": 4096},
    )
    assert limits_hit(_state(limits=limits), config) == expected


@pytest.mark.parametrize(
    ("result", "non_html", "expected"),
    [
        (None, {}, []),
        (CheckResult(SITE, Verdict.OK, status=200), {}, []),
        (
            CheckResult(SITE, Verdict.ERROR, message="refused"),
            {},
            [f"start URL {SITE} could not be fetched: refused"],
        ),
        (
            CheckResult(SITE, Verdict.BROKEN, status=404),
            {},
            [f"start URL {SITE} answered HTTP 404"],
        ),
        (
            CheckResult(SITE, Verdict.OK, status=200),
            {SITE: "application/pdf"},
            [f"start URL {SITE} is not an HTML page (Content-Type: application/pdf)"],
        ),
    ],
)
def test_start_failures(
    result: CheckResult | None, non_html: dict[str, str], expected: list[str]
) -> None:
    start = Link(SITE, internal=True, result=result)
    assert start_failures(_state(start, non_html_pages=non_html), [SITE]) == expected


def test_sitemap_orphans_are_pages_only_a_sitemap_names() -> None:
    sitemap = SITE + "sitemap.xml"
    state = _state(
        _link(SITE, Verdict.OK, sitemap),  # a start URL: never an orphan
        _link(SITE + "orphan", Verdict.OK, sitemap),
        _link(SITE + "linked", Verdict.OK, sitemap, SITE),
        _link("http://elsewhere.test/", Verdict.OK, sitemap),  # not in the site
    )
    assert sitemap_orphans(state, [SITE]) == []  # no sitemap was read
    state.sitemap_files = {sitemap}
    assert sitemap_orphans(state, [SITE]) == [SITE + "orphan"]


def test_a_fragment_no_element_has_is_split_off_as_a_broken_link() -> None:
    target = SITE + "guide"
    link = _link(target, Verdict.OK)
    for fragment in ("intro", "missing", "top", ""):
        link.occurrences.append(
            Occurrence(SITE, f"guide#{fragment}", "t", "a", "href", 3, fragment)
        )
    state = _state(link)
    state.page_ids[target] = pack_ids(frozenset({"intro"}))
    assert check_fragments(state, lambda url: True) == 1
    broken = state.links[target + "#missing"]
    assert broken.result is not None and broken.result.verdict is Verdict.BROKEN
    assert [o.fragment for o in broken.occurrences] == ["missing"]
    assert sorted(o.fragment for o in state.links[target].occurrences) == ["", "intro", "top"]


def test_fragments_are_left_alone_where_the_check_is_off() -> None:
    target = SITE + "guide"
    link = _link(target, Verdict.OK)
    link.occurrences.append(Occurrence(SITE, "guide#missing", "t", "a", "href", 3, "missing"))
    state = _state(link)
    state.page_ids[target] = pack_ids(frozenset({"intro"}))
    assert check_fragments(state, lambda url: False) == 0
    assert list(state.links) == [target]


@pytest.mark.parametrize(
    ("ending", "why", "interrupted_by"),
    [
        (Ending(out_of_time=True), "the run reached max_duration", ""),
        (Ending(interrupted=True), "the run was interrupted", "cancelled"),
    ],
)
def test_a_run_that_did_not_finish_says_why_each_link_was_not_checked(
    ending: Ending, why: str, interrupted_by: str
) -> None:
    config = make_config(SITE, crawl={"max_duration": 30})
    state = _state(_link(SITE, Verdict.OK), _link(SITE + "later", None, SITE))
    started = datetime(2026, 1, 2, tzinfo=UTC)
    facts = RunFacts(config, started, None, Baseline())
    run = run_result(state, facts, ending, notes=["a note of the caller's"])
    later = run.links[SITE + "later"].result
    assert later is not None and later.verdict is Verdict.EXCLUDED
    assert later.message == f"not checked: {why}"
    assert run.interrupted is ending.interrupted
    assert run.interrupted_by == interrupted_by
    assert run.started_at == started
    assert run.notes == ["a note of the caller's"]
    assert run.start_urls == [SITE]
    stopped = "run stopped at max duration (30 s) before it finished"
    assert (run.limits_hit[:1] == [stopped]) is ending.out_of_time
