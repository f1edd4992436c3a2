"""Query-space traps (issue #20): a per-path budget of query strings, and session ids and
tracking parameters left out of a page's address, against loopback sites."""

from __future__ import annotations

import pytest

from linkcheck.checkpoint import decode
from linkcheck.config import ConfigError
from linkcheck.crawl_state import CrawlState
from linkcheck.models import Verdict, run_tables
from linkcheck.scope import Scope
from linkcheck.urls import crawl_key, dropped_parameter
from tests.conftest import crawl, make_config, result
from tests.server import Reply, Route, Seen, TestServer, page

# (a normalised URL) -> its crawl key
CRAWL_KEYS = [
    ("http://h/p", "http://h/p"),
    ("http://h/p?a=1", "http://h/p?a=1"),
    ("http://h/p?utm_source=mail", "http://h/p"),
    ("http://h/p?utm_source=mail&utm_medium=email&utm_campaign=x", "http://h/p"),
    ("http://h/p?a=1&utm_source=x&PHPSESSID=3&b=2", "http://h/p?a=1&b=2"),
    ("http://h/p?b=2&a=1&gclid=x", "http://h/p?b=2&a=1"),  # the order left as written
    ("http://h/p?fbclid=1&sid=2&jsessionid=3&SessionID=4&_ga=5", "http://h/p"),
    ("http://h/p;jsessionid=0A1B?x=1", "http://h/p?x=1"),
    ("http://h/p;JSESSIONID=0A1B", "http://h/p"),
    ("http://h/p;v=2", "http://h/p;v=2"),  # a path parameter that is no session
    ("http://h/p?%75tm_source=1", "http://h/p"),  # the name as the server reads it
    ("http://h/p?sid", "http://h/p"),  # a name without a value
    ("http://h/p?a=1&&b=2", "http://h/p?a=1&&b=2"),  # nothing dropped: as it was
    ("http://h/p?side=1&utmost=2", "http://h/p?side=1&utmost=2"),  # names, not prefixes of
    ("http://h/p?q=utm_source", "http://h/p?q=utm_source"),  # a value is not a name
]


@pytest.mark.parametrize(("url", "key"), CRAWL_KEYS)
def test_a_page_is_crawled_under_its_address_without_sessions_and_tracking(
    url: str, key: str
) -> None:
    assert crawl_key(url) == key
    assert crawl_key(key) == key


@pytest.mark.parametrize(
    ("name", "dropped"),
    [("utm_term", True), ("UTM_Content", True), ("PHPSESSID", True), ("msclkid", True),
     ("page", False), ("month", False), ("id", False), ("s", False), ("q", False)],
)  # fmt: skip
def test_which_parameters_are_dropped(name: str, dropped: bool) -> None:
    assert dropped_parameter(name) is dropped


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("http://h/cal?month=3", "http://h/cal"),
        ("http://h/cal", None),
        ("http://h/cal?", None),
        ("http://h/a/?page=2&sort=x", "http://h/a/"),
    ],
)
def test_a_query_string_counts_against_its_path(url: str, path: str | None) -> None:
    assert Scope.query_path(url) == path


def test_the_budget_is_a_validated_setting() -> None:
    assert make_config("http://h/").crawl.max_queries_per_path == 50
    for bad in (0, -1, float("nan"), "many"):
        with pytest.raises(ConfigError, match="max_queries_per_path"):
            make_config("http://h/", crawl={"max_queries_per_path": bad})


def calendar(seen: Seen) -> Reply:
    """An endless calendar: every month links to the next and the previous one."""
    month = int(seen.path.rsplit("=", 1)[1])
    return page(
        f'<a href="/guide/cal?month={month + 1}">next month</a>'
        f'<a href="/guide/cal?month={month - 1}">previous month</a>'
        '<a href="/guide/gone.html">gone</a>'
    )


@pytest.mark.parametrize(("budget", "settings"), [(5, {"max_queries_per_path": 5}), (50, {})])
def test_an_endless_calendar_is_capped_by_the_budget_and_the_run_is_complete(
    budget: int, settings: dict[str, int]
) -> None:
    routes: dict[str, Route] = {
        "/guide/": page('<a href="cal?month=0">calendar</a><a href="about.html">about</a>'),
        "/guide/about.html": page("about"),
        "/guide/cal": calendar,
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"), crawl=settings)
        asked = sum(1 for seen in site.requests if seen.path.startswith("/guide/cal?"))
    assert asked == budget  # each crawled once; the rest never requested
    calendar_pages = [p.url for p in run.pages if "/cal?" in p.url]
    assert len(calendar_pages) == budget
    assert run.complete and not run.limits_hit  # a trap is a note, not a limit
    (note,) = [note for note in run.notes if "crawl trap" in note]
    assert note.startswith(f"possible crawl trap: {site.url('/guide/cal')} has more than")
    assert f"{budget} were crawled and 2 more were not followed (max_queries_per_path)" in note
    # the site itself is crawled, and its findings reported, as without the trap
    assert result(run, site.url("/guide/about.html")).verdict is Verdict.OK
    assert result(run, site.url("/guide/gone.html")).verdict is Verdict.BROKEN
    left = [
        link
        for link in run.links.values()
        if "/cal?" in link.url and link.result is not None and not link.result.verdict.checked
    ]
    assert len(left) == 2  # the next month on one side, the previous on the other
    for link in left:
        assert link.result is not None and link.result.verdict is Verdict.EXCLUDED
        assert link.result.message.startswith("possible crawl trap:")
        assert link.occurrences  # the page that links it is still named


def test_tracking_and_session_parameters_make_no_new_page() -> None:
    body = (
        '<a href="a.html">plain</a>'
        '<a href="a.html?utm_source=newsletter&utm_medium=email">from the newsletter</a>'
        '<a href="a.html?PHPSESSID=0f3a">with a session</a>'
        '<a href="a.html;jsessionid=0A1B">with a servlet session</a>'
        '<a href="a.html?lang=ja&gclid=x">Japanese</a>'
    )
    with TestServer({"/x": page("shop")}) as ext:
        external = ext.url("/x?utm_source=guide")
        routes: dict[str, Route] = {
            "/guide/": page(body + f'<a href="{external}">shop</a>'),
            "/guide/a.html": page("a"),
        }
        with TestServer(routes) as site:
            run = crawl(site.url("/guide/"), http={"allow_private": True})
            paths = sorted(seen.path for seen in site.requests if seen.path.startswith("/guide/a"))
        ext_paths = [seen.path for seen in ext.requests]
    assert paths == ["/guide/a.html", "/guide/a.html?lang=ja"]  # each address once
    page_a = run.links[site.url("/guide/a.html")]
    assert sorted(o.href for o in page_a.occurrences) == [  # the hrefs as written
        "a.html",
        "a.html;jsessionid=0A1B",
        "a.html?PHPSESSID=0f3a",
        "a.html?utm_source=newsletter&utm_medium=email",
    ]
    assert site.url("/guide/a.html?lang=ja") in run.links
    assert not any(
        "utm_" in url or "SESSID" in url for url in run.links if url.startswith(site.url())
    )
    # a link to another site is checked as written: nothing is crawled there
    assert ext_paths == ["/x?utm_source=guide"]
    assert external in run.links


def test_a_resume_point_keeps_the_budgets_and_what_pages_are_one() -> None:
    """A resumed crawl goes on counting where it stopped (and a resume point written before
    these were kept reads as none)."""
    with run_tables():
        state = CrawlState(lambda url: url)
        state.query_taken("http://h/cal")
        state.query_left("http://h/cal")
        state.page_facts("http://h/", b"print", "")
        state.page_facts("http://h/index.html", b"print", "")
        state.page_facts("http://h/print", b"other", "http://h/article")
        header = decode(b"".join(state.snapshot()))
    with run_tables():
        restored = CrawlState(state.document_of)
        restored.restore(header)
        assert restored.path_queries == {"http://h/cal": 1}
        assert restored.query_capped == {"http://h/cal": 1}
        assert restored.same_body == {"http://h/": ["http://h/index.html"]}
        assert restored.canonicals == {"http://h/print": "http://h/article"}
        older = {key: value for key, value in header.items() if key not in NEW_KEYS}
        before = CrawlState(state.document_of)
        before.restore(older)
        assert (before.path_queries, before.query_capped, before.same_body) == ({}, {}, {})


NEW_KEYS = ("path_queries", "query_capped", "same_body", "canonicals")
