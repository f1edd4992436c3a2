"""The crawl state's resume point: what a snapshot holds, a restore gives back."""

from __future__ import annotations

from typing import Any

import pytest

from linkcheck.checkpoint import STATE_VERSION, decode
from linkcheck.crawl_state import CrawlLimits, CrawlState, CrawlStats
from linkcheck.digest import pack_ids, unpack_ids
from linkcheck.models import (
    CheckResult,
    Finding,
    FindingKind,
    Link,
    Occurrence,
    Page,
    Verdict,
    run_tables,
)

SITE = "http://site.test/"


def _crawled() -> CrawlState:
    state = CrawlState(lambda url: url.removesuffix("index.html"))
    page = Link(SITE, internal=True, result=CheckResult(SITE, Verdict.OK, status=200))
    gone = Link(SITE + "gone", internal=True, result=CheckResult(SITE + "gone", Verdict.BROKEN))
    waiting = Link(SITE + "next", internal=True)
    for link, line in ((page, 1), (gone, 2), (waiting, 3)):
        link.occurrences.append(Occurrence(SITE, link.url, "text", "a", "href", line, ""))
    state.links = {link.url: link for link in (page, gone, waiting)}
    state.pages = [Page(SITE, 0, "Home", 200, 3)]
    state.page_ids[SITE] = pack_ids(frozenset({"top-of-page", "intro"}))
    state.page_depth = {SITE: 0, SITE + "next": 1}
    state.non_html_pages = {SITE + "a.pdf": "application/pdf"}
    state.findings = [
        Finding(FindingKind.INSECURE_LINK, "warning", "http://x.test/", SITE, "h", "t", 4, "m")
    ]
    state.notes = ["a sitemap note"]
    state.limits = CrawlLimits(traps=2, truncated_pages=[SITE + "big"])
    state.sitemap_files = {SITE + "sitemap.xml"}
    state.sitemaps_read = True
    state.cache_hits = 5
    return state


def _restored(state: CrawlState, **extra: Any) -> tuple[CrawlState, dict[str, Any]]:
    header = decode(b"".join(state.snapshot(**extra)))
    with run_tables():  # read back as a later run would: into tables of its own
        restored = CrawlState(state.document_of)
        restored.restore(header)
    return restored, header


def test_what_a_snapshot_holds_a_restore_gives_back() -> None:
    with run_tables():
        state = _crawled()
        restored, header = _restored(state, started_at="2026-01-02T00:00:00+00:00")
    assert header["started_at"] == "2026-01-02T00:00:00+00:00"
    assert header["version"] == STATE_VERSION
    assert list(restored.links) == list(state.links)
    for url, link in state.links.items():
        again = restored.links[url]
        assert (again.internal, again.result) == (link.internal, link.result)
        assert list(again.occurrences) == list(link.occurrences)
    assert restored.pages == state.pages
    assert restored.parsed_documents == {SITE}
    assert unpack_ids(restored.page_ids[SITE]) == {"top-of-page", "intro"}
    for name in (
        "page_depth",
        "non_html_pages",
        "findings",
        "notes",
        "limits",
        "sitemap_files",
        "sitemaps_read",
        "rechecked_urls",
        "cache_hits",
    ):
        assert getattr(restored, name) == getattr(state, name), name
    # counters for the progress line, as the crawl had them
    assert restored.stats == CrawlStats(pages_crawled=1, links_checked=2, links_found=3, problems=1)


def test_a_state_of_another_version_is_refused() -> None:
    with pytest.raises(ValueError, match="checkpoint version"):
        CrawlState(lambda url: url).restore({"version": -1})


@pytest.mark.parametrize(
    "spoil",
    [
        lambda links: links[1].__setitem__(3, {"spilled": 2, "last": 7, "held": ""}),  # no spill
        lambda links: links[2].__setitem__(2, {"verdict": "no such verdict"}),
        lambda links: links[0].pop(),
    ],
    ids=["a spill it has not", "a result it cannot read", "a short link"],
)
def test_a_state_it_cannot_read_leaves_the_crawl_as_it_was(spoil: Any) -> None:
    """The runner then warns and starts afresh: nothing of the state was taken."""
    with run_tables():
        header = decode(b"".join(_crawled().snapshot()))
    spoil(header["links"])
    with run_tables():
        crawl = CrawlState(lambda url: url)
        with pytest.raises((ValueError, KeyError, IndexError, TypeError)):
            crawl.restore(header)
    assert (crawl.links, crawl.pages, crawl.findings, crawl.page_depth) == ({}, [], [], {})


def test_a_pages_same_text_findings_name_the_crawls_own_strings() -> None:
    """A parse worker's findings come as copies of the addresses the crawl holds already:
    add_findings keeps the crawl's strings (one copy per address, not one per finding)."""
    from linkcheck.models import Finding, FindingKind

    state = CrawlState(lambda url: url)
    for url in ("http://site.test/a", "http://site.test/b"):
        state.links[url] = Link(url, internal=True)

    def copy(text: str) -> str:  # an equal string, not the same one (as unpickled)
        return "".join(list(text))

    same = Finding(
        FindingKind.SAME_TEXT_DIFFERENT_TARGETS,
        "warning",
        copy("http://site.test/a"),
        "http://site.test/",
        "a",
        "Shipping",
        3,
        "",
        (copy("http://site.test/a"), copy("http://site.test/b"), "http://elsewhere.test/"),
    )
    other = Finding(
        FindingKind.EMPTY_LINK_TEXT, "warning", copy("http://site.test/a"), "p", "", "", 1, "m"
    )
    state.add_findings([same, other])
    kept, untouched = state.findings
    assert kept == same and untouched is other
    assert kept.url is state.links["http://site.test/a"].url
    a, b, elsewhere = kept.targets
    assert a is state.links["http://site.test/a"].url
    assert b is state.links["http://site.test/b"].url
    assert elsewhere is same.targets[2]  # not a link of the crawl: kept as it came
