"""Visit one in-scope page: robots.txt, soft-404 probe, GET, claim a redirect target, digest.

An in-scope stylesheet (text/css) is read as a page is: its url()s and @imports become its
links, followed under the same scope rules (an external stylesheet is only checked).

The crawler (one process) and the distributed worker visit pages through this one stage.
What differs between them is passed in: how a redirect target is claimed (a dict of the
crawl's links, or Redis for a cluster) and how a page is digested (a parse pool, or in
process). The stage records nothing of the crawl's: it returns a :class:`PageVisit` for the
caller to record, in one step with no wait between (so a checkpoint never sees half a page).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from linkcheck.checker import Checker
from linkcheck.config import Config
from linkcheck.css import is_stylesheet
from linkcheck.decide import claimed_target, refreshed, robots_disallowed, soft_404_enabled
from linkcheck.digest import PageDigest
from linkcheck.extract import is_html
from linkcheck.http import Response
from linkcheck.models import CheckResult, Verdict
from linkcheck.parse_gate import ByteGate, Ticket
from linkcheck.robots import RobotsRules
from linkcheck.scope import Scope
from linkcheck.soft404 import SoftNotFound, SoftNotFoundDetector

S = TypeVar("S")  # what the caller's digest step says about where a page was parsed

# (target, the page redirected to it, the target's result) -> whether this page owns it
Claim = Callable[[str, str, CheckResult], Awaitable[bool]]
# (page URL, its response, judge for soft 404s, the host's not-found page's title) ->
# the digest and where it was made, or None when the document was parsed already
Digest = Callable[[str, Response, bool, str | None], Awaitable[tuple[S, PageDigest] | None]]


@dataclass(frozen=True, slots=True)
class PageVisit(Generic[S]):
    """What visiting a page came to, for the caller to record.

    ``result`` is the page's own check (record it as any link's), unless ``disallowed``:
    then it is the robots.txt exclusion and nothing was fetched.
    """

    result: CheckResult
    disallowed: bool = False
    response: Response | None = None
    page_url: str = ""  # where the page was read: its URL, or the redirect target it claimed
    claimed: CheckResult | None = None  # the claimed redirect target's result
    content_type: str | None = None  # set when the page is not HTML
    digested: tuple[S, PageDigest] | None = None
    judged: bool = False  # judged for a soft 404 (``soft_404`` says if it is one)
    soft_404: SoftNotFound | None = None


@dataclass(slots=True)
class PageStage:
    """The page stage of one run (with no state of its own: the robots rules and the
    soft-404 detector keep their per-host caches)."""

    config: Config
    checker: Checker
    robots: RobotsRules | None
    soft404: SoftNotFoundDetector | None
    scope: Scope
    # The user asked for the start URLs: robots.txt and soft-404 judging spare them.
    start_urls: frozenset[str] = field(init=False)
    # Back-pressure: a page's body is held from its request until it is digested, within
    # [crawl] parse_queue_bytes over all pages (parse_gate)
    gate: ByteGate = field(init=False)

    def __post_init__(self) -> None:
        self.start_urls = frozenset(self.config.start_urls)
        self.gate = ByteGate(self.config.crawl.parse_queue_bytes, self.config.http.max_body_bytes)

    async def visit(self, url: str, claim: Claim, digest: Digest[S]) -> PageVisit[S]:
        """Fetch the page at ``url`` and, if it is HTML or CSS it owns, digest it (see
        PageVisit). A page whose refresh pragma sends its readers on at once is a redirect
        to where it sends them (decide.refreshed): its result says so, and so does the
        result of a redirect target it claimed (claimed as plain OK)."""
        visit = await self._visit(url, claim, digest)
        if visit.digested is None or not visit.digested[1].refresh_to:
            return visit
        page = visit.digested[1]
        delay, target = page.refresh_delay, page.refresh_to
        claimed = visit.claimed
        return replace(
            visit,
            result=refreshed(visit.result, visit.page_url, delay, target),
            claimed=refreshed(claimed, visit.page_url, delay, target) if claimed else None,
        )

    async def _visit(self, url: str, claim: Claim, digest: Digest[S]) -> PageVisit[S]:
        robots = self.robots
        exempt = url in self.start_urls
        if robots is not None and not exempt and not await robots.allows(url):
            return PageVisit(robots_disallowed(url), disallowed=True)
        soft404 = self.soft404
        if soft404 is not None and (exempt or not soft_404_enabled(self.config, url)):
            soft404 = None
        if soft404 is not None:
            await soft404.prepare(url)  # the host's probe first, so judging never waits
        async with self.gate.admit() as ticket:
            return await self._fetch(url, claim, digest, soft404, ticket)

    async def _fetch(
        self,
        url: str,
        claim: Claim,
        digest: Digest[S],
        soft404: SoftNotFoundDetector | None,
        ticket: Ticket,
    ) -> PageVisit[S]:
        """Request the page and digest it, its body held at the gate until this returns."""
        checked = await self.checker.check(url, as_page=True)
        result, response = checked.result, checked.response
        if response is not None:
            self.gate.hold(ticket, len(response.body))
        if response is None or not result.verdict.works:
            return PageVisit(result)
        page_url, claimed = url, None
        if result.verdict is Verdict.REDIRECTED and result.final_url:
            # A page that redirects inside the scope is parsed as its target, once: the
            # first page to claim the target owns it.
            target = result.final_url
            claimed = claimed_target(target, response.status)
            if not self.scope.is_internal(target) or not await claim(target, url, claimed):
                return PageVisit(result, response=response)
            page_url = target
        visit: PageVisit[S] = PageVisit(
            result, response=response, page_url=page_url, claimed=claimed
        )
        if is_stylesheet(response.content_type):
            return replace(visit, digested=await digest(page_url, response, False, None))
        if not is_html(response.content_type, response.body):
            return replace(visit, content_type=response.content_type or "unknown")
        if result.verdict is not Verdict.OK:
            soft404 = None  # a redirect is judged by where it lands (decide.recorded)
        probe_title = soft404.probe_title(url) if soft404 is not None else None
        digested = await digest(page_url, response, soft404 is not None, probe_title)
        if digested is None or soft404 is None:
            return replace(visit, digested=digested)
        page = digested[1]
        found = soft404.record(url, page.not_found_said, page.text)
        return replace(visit, digested=digested, judged=True, soft_404=found)
