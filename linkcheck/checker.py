"""Check one URL: request it, follow redirects by hand, retry what is transient, give a verdict.

Redirects are followed here rather than by the HTTP client so that every hop is recorded
(the report offers the final URL as a replacement), loops are named as loops, and each hop
gets its own host rules: remap, credentials (which therefore never cross to another origin),
timeouts, politeness and the private-address guard.

Links to other sites that are only checked are asked with GET, reading the first slice of
the body (``check_body_bytes``): HEAD answers are often not what GET says, and the slice
shows a "not found" page that answers 200 (a soft 404, judged by ``linkcheck.soft404``), and
a page that sends its readers on at once with ``<meta http-equiv=refresh>``: a redirect, as a
crawled page's is (decide.refreshed), its target followed as a hop.
The crawled site's own links, and hosts whose [hosts] profile says ``method = "head"``, are
asked with HEAD first and with GET when a server refuses HEAD, because many do.

All the attempts for one URL, its redirects included, share its time budget (see
``linkcheck.retry``): a server that does not answer is an error, "no answer within N s",
after one timeout, or two while other links are still being checked.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from linkcheck.config import HttpSettings
from linkcheck.decide import answer_verdict, refreshed
from linkcheck.digest import page_refresh
from linkcheck.extract import decode, is_html
from linkcheck.hosts import HostLimiter, HostRules, RequestRules
from linkcheck.http import Failure, Outcome, Response, Transport
from linkcheck.models import REDIRECT_STATUSES, CheckResult, ErrorKind, RedirectHop, Verdict
from linkcheck.retry import (
    Spent,
    head_refused,
    host_pause,
    timed_out,
    url_budget,
    with_retries,
)
from linkcheck.soft404 import SoftNotFoundDetector, read_sample
from linkcheck.urls import InvalidURL, join

# An answer's slice is parsed for a refresh pragma only when the word is in it: most pages
# have none, and pay one scan of the bytes.
_MAY_REFRESH = re.compile(rb"refresh", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Checked:
    """A verdict, and the final response when a page body was asked for (to be parsed), or
    a sample (its first slice, see Checker.sample)."""

    result: CheckResult
    response: Response | None = None
    # Seconds of the URL's time budget used (see retry.Spent): a recheck gets what is left.
    spent: float = 0.0


class Checker:
    def __init__(
        self,
        client: Transport,
        settings: HttpSettings,
        rules: HostRules,
        *,
        remap: Callable[[str], str | None] = lambda url: None,
        is_file: Callable[[str], bool] = lambda url: False,
        soft_404: Callable[[str], bool] = lambda url: False,
        answer_now: Callable[[str], Response | None] | None = None,
    ) -> None:
        """``is_file``: the URLs the client answers from a built folder's files, which take
        no connection slot and no politeness (there is no server to spare); ``answer_now``:
        the client's answer to such a URL when no request is needed (see answer_now).
        ``soft_404``: the links whose GET answer is judged for a soft 404 (see check)."""
        self._client = client
        self._settings = settings
        self._rules = rules
        self._remap = remap
        self._is_file = is_file
        self._judges_soft_404 = soft_404
        self._answer_now = answer_now
        # Made at the first page worth judging; its per-host probes belong to this run.
        self._soft404: SoftNotFoundDetector | None = None
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts = HostLimiter()
        # Checks under way, and how many of them have timed out: a timeout is tried again
        # only while some other check is still running (see retry.next_try).
        self._in_flight = 0
        self._timed_out = 0

    async def check(self, url: str, *, as_page: bool = False, spent: float = 0.0) -> Checked:
        """Check ``url``; with ``as_page``, GET it and keep the final body for parsing.
        ``spent``: the seconds of its time budget an earlier check of it used (a recheck).

        A link that is only checked and answered GET with a page (its first slice) is
        judged for a soft 404 when ``soft_404`` says so: broken, the page's title or heading
        as evidence in the message. Such a page that refreshes to another within
        MAX_REFRESH_DELAY seconds is a redirect there (decide.refreshed): the target is
        followed as a hop, and its answer decides (a refresh to a 404 is broken).
        """
        checked, answer = await self._follow(url, as_page=as_page, spent=spent, refresh=not as_page)
        if as_page or answer is None or not answer.body or not checked.result.verdict.works:
            return checked
        if not self._judges_soft_404(url):
            return checked
        return await self._judged(url, checked.result, answer)

    def answer_now(self, url: str) -> Checked | None:
        """``url``'s result, and the answer without a body, when the client has it without
        a request and there is nothing in it to parse (a built folder's file that is no
        page, or no file: LocalTransport.answer_now); None when it must be checked. The
        result is the one check would give: the same verdict, status and message."""
        if self._answer_now is None or self._remap(url) is not None:
            return None
        answer = self._answer_now(url)
        if answer is None:
            return None
        result = self._answered(url, time.monotonic(), answer, self._rules.for_url(url), [], url)
        return Checked(result, answer)

    async def sample(self, url: str) -> Checked:
        """Check ``url`` with GET and keep its final answer with the first slice of its body
        (what a checked link is judged by), not judged itself: a host's not-found page."""
        checked, answer = await self._follow(url, as_page=False, method="GET")
        return Checked(checked.result, answer)

    async def _judged(self, url: str, result: CheckResult, answer: Response) -> Checked:
        page = read_sample(answer)
        if page is None:
            return Checked(result)
        if self._soft404 is None:
            self._soft404 = SoftNotFoundDetector(self, sample=True)
        reason = await self._soft404.judge_sample(result.final_url or url, page)
        if not reason:
            return Checked(result)
        return Checked(replace(result, verdict=Verdict.BROKEN, message=f"soft 404: {reason}"))

    async def _follow(
        self,
        url: str,
        *,
        as_page: bool,
        method: str | None = None,
        spent: float = 0.0,
        refresh: bool = False,
    ) -> tuple[Checked, Response | None]:
        """Request ``url`` and follow its redirects: the result, and the final answer (None
        when there was no usable one). With ``refresh``, a GET answer whose slice refreshes
        to another page at once is a redirect there too (see _refreshed)."""
        cost = Spent(spent)  # the URL's budget counts from its first check
        self._in_flight += 1
        try:
            checked, answer = await self._follow_hops(
                url, as_page=as_page, method=method, cost=cost, refresh=refresh
            )
        finally:
            self._in_flight -= 1
        return replace(checked, spent=cost.seconds), answer

    async def _follow_hops(
        self, url: str, *, as_page: bool, method: str | None, cost: Spent, refresh: bool
    ) -> tuple[Checked, Response | None]:
        started = time.monotonic()
        first_rules = self._rules.for_url(self._remap(url) or url)
        if method is None:
            method = "GET" if as_page or first_rules.method == "get" else "HEAD"
        hops: list[RedirectHop] = []
        seen = {url}
        current = url
        moved = ""  # the last refresh's message (see decide.refreshed)
        while True:
            rules = (
                first_rules
                if current == url
                else self._rules.for_url(self._remap(current) or current)
            )
            outcome, tries = await self._attempt(
                method, current, rules, read_body=as_page, spent=cost
            )
            if method == "HEAD" and head_refused(outcome):
                method = "GET"
                outcome, tries = await self._attempt(
                    method, current, rules, read_body=False, spent=cost
                )
            if isinstance(outcome, Failure):
                message = outcome.message
                if timed_out(outcome):  # the verdict names the timeout the user set
                    message = f"no answer within {rules.timeout:g} s" + (
                        f" ({tries} tries)" if tries > 1 else ""
                    )
                return self._done(
                    url,
                    started,
                    Verdict.ERROR,
                    hops,
                    error=outcome.kind,
                    message=message,
                    final_url=current,
                ), None
            location = outcome.location
            if outcome.status in REDIRECT_STATUSES and location:
                hops.append(RedirectHop(current, outcome.status))
                try:
                    target = join(current, location)
                except InvalidURL as exc:
                    return self._done(
                        url,
                        started,
                        Verdict.ERROR,
                        hops,
                        error=ErrorKind.INVALID_URL,
                        message=f"redirect to an unusable URL {location!r}: {exc}",
                        final_url=current,
                    ), None
            else:
                result = self._answered(url, started, outcome, rules, hops, current, moved)
                after = self._refreshed(result, outcome) if refresh and method == "GET" else result
                if after is result:
                    return Checked(result, outcome if as_page else None), outcome
                hops, moved, target = list(after.redirects), after.message, after.final_url or ""
            if target in seen:
                return self._done(
                    url,
                    started,
                    Verdict.ERROR,
                    hops,
                    error=ErrorKind.REDIRECT_LOOP,
                    message=f"redirect loop: {target} was already visited",
                    final_url=target,
                ), None
            if len(hops) > self._settings.max_redirects:
                return self._done(
                    url,
                    started,
                    Verdict.ERROR,
                    hops,
                    error=ErrorKind.TOO_MANY_REDIRECTS,
                    message=f"more than {self._settings.max_redirects} redirects",
                    final_url=target,
                ), None
            seen.add(target)
            current = target
            if outcome.status == 303 and method != "HEAD":
                method = "GET"

    def _answered(
        self,
        url: str,
        started: float,
        answer: Response,
        rules: RequestRules,
        hops: list[RedirectHop],
        final_url: str,
        moved: str = "",
    ) -> CheckResult:
        """The result of a final answer (not a redirect) at ``final_url``."""
        verdict, message = answer_verdict(
            answer.status,
            answer.headers,
            answer.body,
            accept=rules.accept,
            retry_max_wait=self._settings.retry_max_wait,
            redirected=bool(hops),
        )
        # after a refresh, the message says so (beside what failed, if it did)
        message = "; ".join(part for part in (message, moved) if part)
        return self._done(
            url, started, verdict, hops, status=answer.status, message=message, final_url=final_url
        ).result

    @staticmethod
    def _refreshed(result: CheckResult, answer: Response) -> CheckResult:
        """``result`` (of the answer at its final_url) as decide.refreshed has it once the
        answer's first slice is read for a refresh pragma (parsed as a crawled page's is,
        digest.page_refresh): REDIRECTED to the pragma's target with the page as a hop, or
        ``result`` itself when there is none worth following."""
        page, body = result.final_url or result.url, answer.body
        if not result.verdict.works or not body or _MAY_REFRESH.search(body) is None:
            return result
        if not is_html(answer.content_type, body):
            return result
        target, delay = page_refresh(page, decode(body, answer.charset))
        return refreshed(result, page, delay, target)

    async def _attempt(
        self, method: str, url: str, rules: RequestRules, *, read_body: bool, spent: Spent
    ) -> tuple[Outcome, int]:
        """Ask ``url``, again while retry.next_try says so: the last outcome and the tries.
        ``spent``: what the URL has cost so far; each request's time is added to it."""
        target = self._remap(url) or url

        def request(timeout: float | None) -> Awaitable[Outcome]:
            return self._client.request(
                method,
                target,
                read_body=read_body,
                headers=rules.headers,
                timeout=timeout or rules.timeout,
                verify_tls=rules.verify_tls,
            )

        async def timed(timeout: float | None) -> Outcome:
            began = time.monotonic()
            try:
                return await request(timeout)
            finally:
                spent.seconds += time.monotonic() - began

        async def send(timeout: float | None) -> Outcome:
            if self._is_file(target):
                return await timed(timeout)
            async with self._global, self._hosts.slot(rules):
                outcome = await timed(timeout)
            pause = host_pause(outcome, self._settings.retry_max_wait)
            if pause is not None:  # slow down every request to this host, not just ours
                self._hosts.pause(rules, pause)
            return outcome

        counted = False

        def others_running() -> bool:
            nonlocal counted
            if not counted:  # this check waits on a timeout now, it is not "other work"
                counted = True
                self._timed_out += 1
            return self._in_flight > self._timed_out

        try:
            return await with_retries(
                send,
                retries=self._settings.retries,
                max_wait=self._settings.retry_max_wait,
                settle=head_refused if method == "HEAD" else lambda outcome: False,
                timeout=rules.timeout,
                budget=url_budget(rules.timeout, self._settings.url_budget),
                spent=spent,
                others_running=others_running,
            )
        finally:
            if counted:
                self._timed_out -= 1

    def _done(
        self,
        url: str,
        started: float,
        verdict: Verdict,
        hops: list[RedirectHop],
        *,
        status: int | None = None,
        error: ErrorKind | None = None,
        message: str = "",
        final_url: str | None = None,
    ) -> Checked:
        return Checked(
            CheckResult(
                url=url,
                verdict=verdict,
                status=status,
                final_url=final_url or url,
                redirects=tuple(hops),
                error=error,
                message=message,
                checked_url=self._remap(url),
                elapsed=time.monotonic() - started,
            )
        )
