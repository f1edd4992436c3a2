"""The embedded demo: what a new user sees first must show every verdict, offline."""

from __future__ import annotations

import re
from pathlib import Path

from linkcheck.models import ErrorKind, RedirectKind, RunResult, Verdict
from linkcheck.report.html_report import render_html

REPO = Path(__file__).parents[2]
DEMO_PORT = "8735"


def verdict_of(run: RunResult, url: str) -> tuple[Verdict, int | None]:
    result = run.links[url].result
    assert result is not None
    return result.verdict, result.status


def test_demo_crawls_the_whole_guide(demo_run: RunResult, demo_port: int) -> None:
    guide = f"http://127.0.0.1:{demo_port}/guide/"
    crawled = {page.url for page in demo_run.pages}
    assert len(crawled) >= 32
    for topic in (
        "shipping-dhl.html",
        "exchanges-returns.html",
        "privacy-policy.html",
        "terms-of-use.html",
    ):
        assert guide + topic in crawled
    titles = {page.title for page in demo_run.pages}
    assert "Exchanges and Returns | Guide | Akiba Hobby Store" in titles
    assert demo_run.complete


def test_demo_shows_every_verdict(demo_run: RunResult, demo_port: int) -> None:
    guide = f"http://127.0.0.1:{demo_port}/guide/"
    # a dead internal page linked from the side nav on every page
    assert verdict_of(demo_run, guide + "message-cards.html") == (Verdict.BROKEN, 404)
    assert len({o.page for o in demo_run.links[guide + "message-cards.html"].occurrences}) >= 32
    assert verdict_of(demo_run, guide + "old-returns-policy.html") == (Verdict.BROKEN, 404)
    assert verdict_of(demo_run, guide + "assets/order-steps.png") == (Verdict.BROKEN, 404)
    # a dead carrier page
    tenso = "http://faq.tenso.com/articles/en_US/FAQ/q13en/?q=insurance&l=en_US&fs=Search&pn=1"
    assert verdict_of(demo_run, tenso) == (Verdict.BROKEN, 404)
    # a permanently moved carrier page, over a redirect chain, with its replacement
    dhl = (
        "http://www.dhl.com/en/logistics/customs_security_and_insurance/road_freight_insurance.html"
    )
    moved = demo_run.links[dhl].result
    assert moved is not None and moved.verdict is Verdict.REDIRECTED
    assert moved.redirect_kind is RedirectKind.PERMANENT
    assert moved.final_url == "https://www.dhl.com/en/global-forwarding/freight-insurance.html"
    assert len(moved.redirects) == 2
    assert moved.checked_url is not None and str(demo_port) in moved.checked_url
    # a temporary redirect
    tracking = demo_run.links["https://www.dhl.com/en/express/tracking.html"].result
    assert tracking is not None and tracking.redirect_kind is RedirectKind.TEMPORARY
    # FedEx refuses HEAD; the GET fallback shows it is fine
    assert verdict_of(demo_run, "https://www.fedex.com/en-us/customer-support.html") == (
        Verdict.OK,
        200,
    )
    # a host that cannot be reached
    japan_post = demo_run.links["https://trackings.post.japanpost.jp/services/srv/search/"].result
    assert japan_post is not None and japan_post.error is ErrorKind.CONNECT
    # mailto/tel are recorded, never fetched
    assert verdict_of(demo_run, "mailto:support@akiba-hobby.example")[0] is Verdict.SKIPPED
    # the fragment link into the security page keeps its fragment
    security = demo_run.links[guide + "security.html"]
    assert "ssl" in {o.fragment for o in security.occurrences}


def test_demo_html_report_lists_the_problems_for_editors(demo_run: RunResult) -> None:
    html = "".join(render_html(demo_run))
    assert 'id="by-page"' in html and "Moved permanently" in html
    assert (  # the ready "replace A with B" line for the moved carrier page
        "http://www.dhl.com/en/logistics/customs_security_and_insurance/road_freight_insurance.html"
        " -> https://www.dhl.com/en/global-forwarding/freight-insurance.html"
    ) in html
    assert "Message Cards" in html  # the anchor text an editor recognises
    assert "TENSO: about insurance" in html
    assert re.search(r"in the site navigation, on (all 3\d|3\d of 3\d) pages", html)


def test_demo_checks_media_tracks_and_objects(demo_run: RunResult, demo_port: int) -> None:
    guide = f"http://127.0.0.1:{demo_port}/guide/"
    assert guide + "order-video.html" in {page.url for page in demo_run.pages}
    # <track src>: the English captions are there, the Japanese ones are missing
    assert verdict_of(demo_run, guide + "assets/order-guide.en.vtt") == (Verdict.OK, 200)
    missing = guide + "assets/order-guide.ja.vtt"
    assert verdict_of(demo_run, missing) == (Verdict.BROKEN, 404)
    assert [(o.page, o.tag, o.attr) for o in demo_run.links[missing].occurrences] == [
        (guide + "order-video.html", "track", "src")
    ]
    # <object data>
    chart = demo_run.links[guide + "assets/size-chart.svg"]
    assert verdict_of(demo_run, chart.url) == (Verdict.OK, 200)
    assert [(o.tag, o.attr) for o in chart.occurrences] == [("object", "data")]
