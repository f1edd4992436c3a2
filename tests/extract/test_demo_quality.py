"""The demo shows the content-quality checks too: what a new user sees must cover them."""

from __future__ import annotations

from linkcheck.models import ErrorKind, RunResult, Verdict


def test_demo_shows_content_quality_findings(demo_run: RunResult, demo_port: int) -> None:
    guide = f"http://127.0.0.1:{demo_port}/guide/"
    soft = demo_run.links[guide + "summer-sale.html"].result
    assert soft is not None and soft.verdict is Verdict.BROKEN and "soft 404" in soft.message
    section = demo_run.links[guide + "shipping-times.html#holidays"].result
    assert section is not None and section.verdict is Verdict.BROKEN
    mail = demo_run.links["mailto:returns(at)akiba-hobby.example"].result
    assert mail is not None and mail.error is ErrorKind.INVALID_URL
    assert demo_run.orphans == [guide + "holiday-schedule.html"]  # in the sitemap only
    kinds = {finding.kind for finding in demo_run.findings}
    assert "generic-link-text" in kinds  # "click here" on the gift wrapping page


def test_demo_stylesheet_is_read(demo_run: RunResult, demo_port: int) -> None:
    guide = f"http://127.0.0.1:{demo_port}/guide/"
    banner = guide + "assets/images/autumn-campaign.png"  # resolved against the stylesheet
    result = demo_run.links[banner].result
    assert result is not None and result.verdict is Verdict.BROKEN and result.status == 404
    (where,) = demo_run.links[banner].occurrences
    assert (where.page, where.tag, where.attr, where.line, where.text) == (
        guide + "assets/campaign.css",
        "css",
        "url",
        8,
        "background",
    )
    logo = demo_run.links[guide + "assets/logo.svg"]
    assert guide + "assets/campaign.css" in {o.page for o in logo.occurrences}
