"""Table tests of linkcheck.decide: facts in, the decision docs/configuration.md describes out."""

from __future__ import annotations

from typing import Any

import pytest

from linkcheck.config import Config
from linkcheck.decide import (
    MAX_REFRESH_DELAY,
    Fate,
    answer_verdict,
    claimed_target,
    discovery,
    fragments_enabled,
    page_aliases,
    page_taken,
    recorded,
    refreshed,
    robots_disallowed,
    soft_404_enabled,
    unfetchable,
)
from linkcheck.models import CheckResult, ErrorKind, RedirectHop, Verdict
from linkcheck.scope import Scope
from linkcheck.urls import ResolvedLink
from tests.conftest import make_config

START = "http://site.test/guide/"


def config(**sections: dict[str, Any]) -> Config:
    return make_config(START, **sections)


# --- a URL met for the first time ---------------------------------------------------------

# (url, crawl settings, depth of the page it is on, follow, pages taken on) -> fate, counter
DISCOVERIES = [
    ("http://site.test/guide/a", {}, 0, True, 0, Fate.CRAWL, ""),
    ("http://site.test/guide/a", {}, -1, True, 0, Fate.CRAWL, ""),  # a sitemap entry
    ("http://site.test/guide/a", {}, 0, False, 0, Fate.NOFOLLOW, ""),
    ("http://site.test/guide/a", {"max_depth": 0}, 0, True, 0, Fate.TOO_DEEP, "pages_not_crawled_max_depth"),
    ("http://site.test/guide/a", {"max_depth": 0}, -1, True, 0, Fate.CRAWL, ""),
    ("http://site.test/guide/a", {"max_depth": 2}, 1, True, 0, Fate.CRAWL, ""),
    ("http://site.test/guide/a", {"max_depth": 2}, 2, True, 0, Fate.TOO_DEEP, "pages_not_crawled_max_depth"),
    ("http://site.test/guide/a", {"max_pages": 3}, 0, True, 2, Fate.CRAWL, ""),
    ("http://site.test/guide/a", {"max_pages": 3}, 0, True, 3, Fate.TOO_MANY, "pages_not_crawled_max_pages"),
    # nofollow is decided before the limits: it is not a page the limits kept out
    ("http://site.test/guide/a", {"max_depth": 0}, 0, False, 0, Fate.NOFOLLOW, ""),
    ("http://site.test/guide/a/b/a/b/a/b/", {}, 0, True, 0, Fate.TRAP, "traps"),
    ("http://site.test/guide/private/x", {"exclude": ["/private/"]}, 0, True, 0, Fate.EXCLUDED, ""),
    ("http://other.test/private/x", {"exclude": ["/private/"]}, 0, True, 0, Fate.EXCLUDED, ""),
    ("http://other.test/", {}, 0, True, 0, Fate.CHECK, ""),
    ("http://other.test/", {}, 0, False, 0, Fate.CHECK, ""),  # nofollow: still checked
    ("http://other.test/a/b/a/b/a/b/", {}, 0, True, 0, Fate.CHECK, ""),  # a trap only in scope
    ("http://other.test/", {"check_external": False}, 0, True, 0, Fate.NOT_CHECKED, ""),
    ("http://site.test/other/", {}, 0, True, 0, Fate.CHECK, ""),  # outside the start's folder
    ("http://site.test/other/", {"allowed_prefixes": ["http://site.test/other/"]}, 0, True, 0, Fate.CRAWL, ""),
    ("http://docs.test/x", {"allowed_hosts": ["docs.test"]}, 0, True, 0, Fate.CRAWL, ""),
    ("http://site.test/api/x", {"include": ["/api/"]}, 0, True, 0, Fate.CRAWL, ""),
]  # fmt: skip


# (max_pages, pages taken on already) -> whether a page about to be parsed is taken on
PAGES_TAKEN = [(1, 0, True), (3, 2, True), (3, 3, False), (3, 4, False)]


@pytest.mark.parametrize(("max_pages", "taken", "expected"), PAGES_TAKEN)
def test_a_page_is_taken_on_within_max_pages(max_pages: int, taken: int, expected: bool) -> None:
    assert page_taken(taken, config(crawl={"max_pages": max_pages}).crawl) is expected


@pytest.mark.parametrize(
    ("url", "crawl", "depth", "follow", "taken", "fate", "counter"), DISCOVERIES
)
def test_a_new_url_gets_its_fate(
    url: str,
    crawl: dict[str, Any],
    depth: int,
    follow: bool,
    taken: int,
    fate: Fate,
    counter: str,
) -> None:
    run = config(crawl=crawl)
    scope = Scope.from_config(run)
    decided = discovery(
        url,
        scope,
        run.crawl,
        internal=scope.is_internal(url),
        depth=depth,
        follow=follow,
        pages_taken=taken,
    )
    assert (decided.fate, decided.counter) == (fate, counter)
    assert decided.fate.crawled == (fate is Fate.CRAWL)
    assert decided.fate.checked_only == (
        fate in (Fate.CHECK, Fate.NOFOLLOW, Fate.TOO_DEEP, Fate.TOO_MANY)
    )
    if decided.fate.crawled or decided.fate.checked_only:
        assert decided.result is None  # a request will say
    else:
        assert decided.result is not None
        assert (decided.result.url, decided.result.verdict) == (url, Verdict.EXCLUDED)


@pytest.mark.parametrize(
    ("fate", "message"),
    [
        (Fate.EXCLUDED, "matches exclude pattern '/private/'"),
        (Fate.TRAP, "repeating path segments: looks like a crawl trap, not followed"),
        (Fate.NOT_CHECKED, "external links are not checked (--no-external)"),
    ],
)
def test_a_url_decided_without_a_request_says_why(fate: Fate, message: str) -> None:
    url = {
        Fate.EXCLUDED: "http://site.test/guide/private/x",
        Fate.TRAP: "http://site.test/guide/a/b/a/b/a/b/",
        Fate.NOT_CHECKED: "http://other.test/",
    }[fate]
    run = config(crawl={"exclude": ["/private/"], "check_external": False})
    scope = Scope.from_config(run)
    decided = discovery(
        url, scope, run.crawl, internal=scope.is_internal(url), depth=0, follow=True
    )
    assert decided.fate is fate
    assert decided.result == CheckResult(url, Verdict.EXCLUDED, message=message)


# (url, max_queries_per_path, query strings its path has had crawled, follow) -> fate
QUERY_BUDGETS = [
    ("http://site.test/guide/cal?month=3", 50, 0, True, Fate.CRAWL),
    ("http://site.test/guide/cal?month=3", 50, 49, True, Fate.CRAWL),
    ("http://site.test/guide/cal?month=3", 50, 50, True, Fate.QUERY_TRAP),
    ("http://site.test/guide/cal?month=3", 5, 7, True, Fate.QUERY_TRAP),
    ("http://site.test/guide/cal?month=3", 5, 7, False, Fate.QUERY_TRAP),  # not even checked
    ("http://site.test/guide/cal", 5, None, True, Fate.CRAWL),  # no query: no budget
    ("http://other.test/cal?month=3", 5, 7, True, Fate.CHECK),  # a trap only in scope
]  # fmt: skip


@pytest.mark.parametrize(("url", "budget", "queries", "follow", "fate"), QUERY_BUDGETS)
def test_a_paths_query_strings_have_a_budget(
    url: str, budget: int, queries: int | None, follow: bool, fate: Fate
) -> None:
    run = config(crawl={"max_queries_per_path": budget})
    scope = Scope.from_config(run)
    decided = discovery(
        url,
        scope,
        run.crawl,
        internal=scope.is_internal(url),
        depth=0,
        follow=follow,
        queries_on_path=queries,
    )
    assert decided.fate is fate
    if fate is Fate.QUERY_TRAP:
        assert not decided.fate.crawled and not decided.fate.checked_only
        assert decided.counter == "query_traps"
        assert decided.result == CheckResult(
            url,
            Verdict.EXCLUDED,
            message=f"possible crawl trap: {budget} query strings of its path were crawled "
            "already (max_queries_per_path), not followed",
        )


# url -> (the URL it is known by, in scope): a page in the scope by its crawl key, whatever
# it is else by the URL itself (the same for a single and a distributed run)
KNOWN_AS = [
    ("http://site.test/guide/a", ("http://site.test/guide/a", True)),
    ("http://site.test/guide/a?utm_source=mail", ("http://site.test/guide/a", True)),
    ("http://site.test/guide/a?x=1&sid=42", ("http://site.test/guide/a?x=1", True)),
    ("http://site.test/guide/a;jsessionid=7", ("http://site.test/guide/a", True)),
    ("http://other.test/a?utm_source=mail", ("http://other.test/a?utm_source=mail", False)),
    ("http://site.test/else?sid=1", ("http://site.test/else?sid=1", False)),
]  # fmt: skip


@pytest.mark.parametrize(("url", "expected"), KNOWN_AS)
def test_a_link_is_known_by_its_crawl_key_in_the_scope(
    url: str, expected: tuple[str, bool]
) -> None:
    assert Scope.from_config(config()).known_as(url) == expected


def test_without_a_page_count_max_pages_is_left_to_the_caller() -> None:
    """A distributed run decides max_pages as it commits, against the cluster-wide count."""
    run = config(crawl={"max_pages": 1})
    scope = Scope.from_config(run)
    url = "http://site.test/guide/a"
    decided = discovery(url, scope, run.crawl, internal=True, depth=0, follow=True)
    assert decided.fate is Fate.CRAWL


# --- an href that is not fetched ----------------------------------------------------------

# (href, resolved, [checks] mailto_tel) -> verdict, error kind, message (its start)
UNFETCHABLE = [
    ("mailto:team@example.com", "mailto", "mailto link", True,
     Verdict.SKIPPED, None, "mailto: link, well formed"),
    ("mailto:team@", "mailto", "mailto link", True,
     Verdict.ERROR, ErrorKind.INVALID_URL, "malformed mailto: link:"),
    ("mailto:team@", "mailto", "mailto link", False, Verdict.SKIPPED, None, "mailto link"),
    ("tel:+81-3-1234-5678", "tel", "tel link", True,
     Verdict.SKIPPED, None, "tel: link, well formed"),
    ("tel:call-us", "tel", "tel link", True,
     Verdict.ERROR, ErrorKind.INVALID_URL, "malformed tel: link:"),
    ("javascript:void(0)", "javascript", "javascript link", True,
     Verdict.SKIPPED, None, "javascript link"),
    ("http://[bad", "http", "invalid URL: bad host", True,
     Verdict.ERROR, ErrorKind.INVALID_URL, "invalid URL: bad host"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("href", "scheme", "reason", "mailto_tel", "verdict", "error", "message"), UNFETCHABLE
)
def test_an_href_with_nothing_to_fetch_gets_a_result(
    href: str,
    scheme: str,
    reason: str,
    mailto_tel: bool,
    verdict: Verdict,
    error: ErrorKind | None,
    message: str,
) -> None:
    resolved = ResolvedLink(None, "", scheme, reason)
    result = unfetchable(href, resolved, mailto_tel=mailto_tel)
    assert (result.url, result.verdict, result.error) == (href, verdict, error)
    assert result.message.startswith(message)


# --- a redirect that lands on the home or a login page ---------------------------------------

# (url, where it redirected, [checks] soft_404, [hosts] profile's soft_404) -> verdict, message
REDIRECTS = [
    ("http://site.test/guide/old", "http://site.test/", True, None,
     Verdict.BROKEN, "soft 404: it redirects to the site's home page"),
    ("http://site.test/guide/old", "http://site.test/login?next=/guide/old", True, None,
     Verdict.BROKEN, "soft 404: it redirects to a login page"),
    ("http://site.test/guide/old", "http://site.test/guide/new", True, None,
     Verdict.REDIRECTED, ""),
    ("http://site.test/", "http://site.test/index.html", True, None, Verdict.REDIRECTED, ""),
    ("http://site.test/guide/old", "http://site.test/", False, None, Verdict.REDIRECTED, ""),
    ("http://site.test/guide/old", "http://site.test/", True, False, Verdict.REDIRECTED, ""),
]  # fmt: skip


@pytest.mark.parametrize(("url", "final", "checks", "profile", "verdict", "message"), REDIRECTS)
def test_a_redirect_to_the_home_or_login_page_is_a_soft_404(
    url: str, final: str, checks: bool, profile: bool | None, verdict: Verdict, message: str
) -> None:
    hosts = {} if profile is None else {"site.test": {"soft_404": profile}}
    run = config(checks={"soft_404": checks}, hosts=hosts)
    result = CheckResult(
        url, Verdict.REDIRECTED, status=200, final_url=final, redirects=(RedirectHop(url, 301),)
    )
    decided = recorded(run, url, result)
    assert (decided.verdict, decided.message) == (verdict, message)


@pytest.mark.parametrize("verdict", [Verdict.OK, Verdict.BROKEN, Verdict.ERROR])
def test_only_a_redirect_is_looked_at(verdict: Verdict) -> None:
    url = "http://site.test/guide/old"
    result = CheckResult(url, verdict, final_url="http://site.test/")
    assert recorded(config(), url, result) is result


# --- per-host switches --------------------------------------------------------------------

# ([checks] value, [hosts] profile's value, the URL's host) -> on for that URL
SWITCHES = [
    (True, None, "site.test", True),
    (False, None, "site.test", False),
    (True, False, "site.test", False),
    (False, True, "site.test", True),
    (True, False, "other.test", True),  # the profile is another host's
]


@pytest.mark.parametrize(("checks", "profile", "host", "enabled"), SWITCHES)
@pytest.mark.parametrize("name", ["fragments", "soft_404"])
def test_a_hosts_profile_switches_a_check_for_its_host(
    name: str, checks: bool, profile: bool | None, host: str, enabled: bool
) -> None:
    hosts = {} if profile is None else {"site.test": {name: profile}}
    run = config(checks={name: checks}, hosts=hosts)
    switch = fragments_enabled if name == "fragments" else soft_404_enabled
    assert switch(run, f"http://{host}/guide/page") is enabled


# --- results decided without a request of their own ------------------------------------------


def test_a_page_robots_txt_disallows_is_excluded() -> None:
    result = robots_disallowed("http://site.test/guide/private")
    assert (result.verdict, result.message) == (
        Verdict.EXCLUDED,
        "disallowed by the site's robots.txt",
    )
    assert not result.verdict.failed


def test_a_claimed_redirect_target_works_with_the_answers_status() -> None:
    target = "http://site.test/guide/new"
    assert claimed_target(target, 200) == CheckResult(
        target, Verdict.OK, status=200, final_url=target
    )


# --- an answer's verdict --------------------------------------------------------------------

ACCEPT = frozenset(range(200, 300))

# (status, headers, body, accept, redirected) -> verdict, message (its start)
ANSWERS = [
    (200, {}, b"", ACCEPT, False, Verdict.OK, ""),
    (200, {}, b"", ACCEPT, True, Verdict.REDIRECTED, ""),
    (204, {}, b"", ACCEPT, False, Verdict.OK, ""),
    (403, {}, b"", ACCEPT | {403}, False, Verdict.OK, ""),  # accept = "200-299,403"
    (404, {}, b"", ACCEPT, False, Verdict.BROKEN, "HTTP 404"),
    (404, {}, b"", ACCEPT, True, Verdict.BROKEN, "HTTP 404"),
    (500, {}, b"", ACCEPT, False, Verdict.BROKEN, "HTTP 500"),
    (403, {}, b"Forbidden", ACCEPT, False, Verdict.BROKEN, "HTTP 403"),
    (999, {}, b"", ACCEPT, False, Verdict.BLOCKED, "HTTP 999: bot protection"),
    (403, {"cf-mitigated": "challenge"}, b"", ACCEPT, False, Verdict.BLOCKED, "HTTP 403: bot"),
    (503, {}, b"<title>Just a moment...</title>", ACCEPT, False, Verdict.BLOCKED, "HTTP 503: bot"),
    (404, {"cf-mitigated": "challenge"}, b"", ACCEPT, False, Verdict.BROKEN, "HTTP 404"),
    (429, {}, b"", ACCEPT, False, Verdict.RATE_LIMITED, "HTTP 429"),
    (503, {"retry-after": "120"}, b"", ACCEPT, False, Verdict.RATE_LIMITED,
     "HTTP 503 asking to come back in 120 s (more than retry_max_wait, 30 s)"),
    (503, {"retry-after": "10"}, b"", ACCEPT, False, Verdict.BROKEN, "HTTP 503"),
    (503, {}, b"", ACCEPT, False, Verdict.BROKEN, "HTTP 503"),
    (500, {"retry-after": "120"}, b"", ACCEPT, False, Verdict.BROKEN, "HTTP 500"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "headers", "body", "accept", "redirected", "verdict", "message"), ANSWERS
)
def test_an_answer_gets_its_verdict(
    status: int,
    headers: dict[str, str],
    body: bytes,
    accept: frozenset[int],
    redirected: bool,
    verdict: Verdict,
    message: str,
) -> None:
    decided = answer_verdict(
        status, headers, body, accept=accept, retry_max_wait=30.0, redirected=redirected
    )
    assert decided[0] is verdict
    assert decided[1].startswith(message)


# --- a page that refreshes to another address ------------------------------------------------

PAGE = "http://site.test/guide/old.html"
NEW = "http://site.test/guide/new.html"
OK_PAGE = CheckResult(PAGE, Verdict.OK, status=200, final_url=PAGE)
VIA = CheckResult(  # /guide/a redirected (301) to the page, which was read as its target
    "http://site.test/guide/a",
    Verdict.REDIRECTED,
    status=200,
    final_url=PAGE,
    redirects=(RedirectHop("http://site.test/guide/a", 301),),
)

SHOP = "http://shop.test/item/42"
SHOP_NEW = "http://shop.test/item/42/v2"
SHOP_OK = CheckResult(SHOP, Verdict.OK, status=200, final_url=SHOP)
SHOP_VIA = CheckResult(  # ?id=7 redirected (302) to the item's page
    "http://shop.test/p?id=7",
    Verdict.REDIRECTED,
    status=200,
    final_url=SHOP,
    redirects=(RedirectHop("http://shop.test/p?id=7", 302),),
)
SHOP_REFRESHED = CheckResult(  # its page refreshed to v2 already: v2 refreshes on
    SHOP, Verdict.REDIRECTED, status=200, final_url=SHOP_NEW, redirects=(RedirectHop(SHOP, 200),)
)

# (the page's result, its refresh delay, the refresh's target) -> redirected to where, hops;
# the page is where the result ended (its final_url)
REFRESHES = [
    (OK_PAGE, 0.0, NEW, NEW, ((PAGE, 200),)),
    (OK_PAGE, MAX_REFRESH_DELAY, NEW, NEW, ((PAGE, 200),)),
    (OK_PAGE, MAX_REFRESH_DELAY + 1, NEW, None, ()),  # read first: a page, not a redirect
    (OK_PAGE, None, NEW, None, ()),  # a delay that is no number: browsers ignore it
    (OK_PAGE, 0.0, PAGE, None, ()),  # refreshes itself
    (OK_PAGE, 0.0, "", None, ()),
    (VIA, 0.0, NEW, NEW, (("http://site.test/guide/a", 301), (PAGE, 200))),
    (VIA, 0.0, "http://site.test/guide/a", None, ()),  # back where it came from: a loop
    (CheckResult(PAGE, Verdict.BROKEN, status=404), 0.0, NEW, None, ()),
    # a link to another site, only checked: its GET answer's first slice read the same way
    (SHOP_OK, 0.0, SHOP_NEW, SHOP_NEW, ((SHOP, 200),)),
    (SHOP_OK, 3.0, NEW, NEW, ((SHOP, 200),)),  # to yet another site
    (SHOP_VIA, 1.0, SHOP_NEW, SHOP_NEW, (("http://shop.test/p?id=7", 302), (SHOP, 200))),
    (SHOP_REFRESHED, 0.0, SHOP + "/v3", SHOP + "/v3", ((SHOP, 200), (SHOP_NEW, 200))),  # again
    (SHOP_REFRESHED, 0.0, SHOP, None, ()),  # back to the link itself
    (CheckResult(SHOP, Verdict.BLOCKED, status=403), 0.0, SHOP_NEW, None, ()),  # a bot wall
    (SHOP_OK, 30.0, SHOP_NEW, None, ()),
]  # fmt: skip


@pytest.mark.parametrize(("before", "delay", "target", "final", "hops"), REFRESHES)
def test_a_page_that_refreshes_at_once_is_a_redirect(
    before: CheckResult,
    delay: float | None,
    target: str,
    final: str | None,
    hops: tuple[tuple[str, int], ...],
) -> None:
    after = refreshed(before, before.final_url or before.url, delay, target)
    if final is None:
        assert after is before
        return
    assert (after.verdict, after.final_url, after.status) == (Verdict.REDIRECTED, final, 200)
    assert tuple((hop.url, hop.status) for hop in after.redirects) == hops
    assert after.message == (
        f"the page sends its readers on to {final} after {delay:g} s (<meta http-equiv=refresh>)"
    )


# (a link, where its page refreshes at once) -> what the run records (decide.recorded): a
# refresh to the site's home or a login page is a soft 404, as an HTTP redirect there is
REFRESHES_RECORDED = [
    (SHOP, "http://shop.test/", Verdict.BROKEN, "soft 404: it redirects to the site's home page"),
    (SHOP, "http://shop.test/account/login?next=/item/42", Verdict.BROKEN,
     "soft 404: it redirects to a login page"),
    (SHOP, SHOP_NEW, Verdict.REDIRECTED,
     f"the page sends its readers on to {SHOP_NEW} after 0 s (<meta http-equiv=refresh>)"),
    ("http://shop.test/", "http://shop.test/home", Verdict.REDIRECTED,
     "the page sends its readers on to http://shop.test/home after 0 s "
     "(<meta http-equiv=refresh>)"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "target", "verdict", "message"), REFRESHES_RECORDED)
def test_a_refresh_to_the_home_or_login_page_is_a_soft_404(
    url: str, target: str, verdict: Verdict, message: str
) -> None:
    answered = CheckResult(url, Verdict.OK, status=200, final_url=url)
    decided = recorded(config(), url, refreshed(answered, url, 0.0, target))
    assert (decided.verdict, decided.message) == (verdict, message)


# --- pages that are one document -------------------------------------------------------------

DIR = "http://site.test/guide/"
INDEX = DIR + "index.html"
# (groups with the same bytes, canonicals, crawled pages) -> alias: the page it is listed as
ALIASES = [
    ([], {}, {DIR, INDEX}, {}),
    ([[INDEX, DIR]], {}, {DIR, INDEX}, {INDEX: DIR}),  # the shorter listed, whichever came first
    ([[DIR, INDEX]], {}, {DIR, INDEX}, {INDEX: DIR}),
    ([], {INDEX: DIR}, {DIR, INDEX}, {INDEX: DIR}),  # index.html names dir/ as canonical
    ([], {DIR: INDEX}, {DIR, INDEX}, {DIR: INDEX}),  # ... or the other way: the canonical wins
    ([[DIR, INDEX]], {DIR: INDEX}, {DIR, INDEX}, {DIR: INDEX}),
    ([], {INDEX: "https://www.site.test/guide/"}, {DIR, INDEX}, {}),  # not crawled: no alias
    ([], {INDEX: DIR}, {INDEX}, {}),
    ([], {DIR: DIR}, {DIR}, {}),  # names itself
    # a chain and a group: one entry, the page most named as canonical
    ([[DIR + "a?x=1", DIR + "a"]], {DIR + "b": DIR + "a?x=1", DIR + "c": DIR + "a?x=1"},
     {DIR + "a", DIR + "a?x=1", DIR + "b", DIR + "c"},
     {DIR + "a": DIR + "a?x=1", DIR + "b": DIR + "a?x=1", DIR + "c": DIR + "a?x=1"}),
    ([[DIR + "p", DIR + "p?print=1"], [DIR + "q", DIR + "q?print=1"]], {},
     {DIR + "p", DIR + "p?print=1", DIR + "q", DIR + "q?print=1"},
     {DIR + "p?print=1": DIR + "p", DIR + "q?print=1": DIR + "q"}),
]  # fmt: skip


@pytest.mark.parametrize(("same_body", "canonical", "crawled", "aliases"), ALIASES)
def test_pages_that_are_one_document_are_listed_once(
    same_body: list[list[str]],
    canonical: dict[str, str],
    crawled: set[str],
    aliases: dict[str, str],
) -> None:
    assert page_aliases(same_body, canonical, crawled) == aliases


# A path that repeats one segment 3 times is a generated loop (Scope.looks_like_trap)
TRAPS = [
    ("http://site.test/a/b/a/b/a/b/", True),
    ("http://site.test/x/x/x", True),
    ("http://site.test/x/y/x/z/x", True),  # three times, not in a row
    ("http://site.test/x/x/y", False),  # twice
    ("http://site.test/a/b/c/d/e/f", False),
    ("http://site.test/a/b", False),
    ("http://site.test/", False),
    ("http://site.test/a//a//a", True),  # empty segments are not segments
    ("http://site.test/a/b/?q=/a/a/a", False),  # the query is no path
    ("http://site.test/img/a/img/b/img/c/img", True),
]


@pytest.mark.parametrize(("url", "trap"), TRAPS)
def test_looks_like_trap(url: str, trap: bool) -> None:
    assert Scope.looks_like_trap(url) is trap
