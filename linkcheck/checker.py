"""Check one URL: request it, follow redirects by hand, retry what is transient, give a verdict.

Redirects are followed here rather than by the HTTP client so that every hop is recorded
(the report offers the final URL as a replacement), loops are named as loops, and each hop
gets its own host rules: remap, credentials (which therefore never cross to another origin),
timeouts, politeness and the private-address guard. Links that are only checked are asked
with HEAD first and with GET when a server refuses HEAD, because many do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from linkcheck.config import HttpSettings
from linkcheck.decide import answer_verdict
from linkcheck.hosts import HostLimiter, HostRules, RequestRules
from linkcheck.http import Failure, Outcome, Response, Transport
from linkcheck.models import REDIRECT_STATUSES, CheckResult, ErrorKind, RedirectHop, Verdict
from linkcheck.retry import head_refused, host_pause, with_retries
from linkcheck.urls import InvalidURL, join


@dataclass(frozen=True, slots=True)
class Checked:
    """A verdict, and the final response when a page body was asked for (to be parsed)."""

    result: CheckResult
    response: Response | None = None


class Checker:
    def __init__(
        self,
        client: Transport,
        settings: HttpSettings,
        rules: HostRules,
        *,
        remap: Callable[[str], str | None] = lambda url: None,
        is_file: Callable[[str], bool] = lambda url: False,
    ) -> None:
        """``is_file``: the URLs the client answers from a built folder's files, which take
        no connection slot and no politeness (there is no server to spare)."""
        self._client = client
        self._settings = settings
        self._rules = rules
        self._remap = remap
        self._is_file = is_file
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts = HostLimiter()

    async def check(self, url: str, *, as_page: bool = False) -> Checked:
        """Check ``url``; with ``as_page``, GET it and keep the final body for parsing."""
        started = time.monotonic()
        first_rules = self._rules.for_url(self._remap(url) or url)
        method = "GET" if as_page or first_rules.method == "get" else "HEAD"
        hops: list[RedirectHop] = []
        seen = {url}
        current = url
        while True:
            rules = (
                first_rules
                if current == url
                else self._rules.for_url(self._remap(current) or current)
            )
            outcome = await self._attempt(method, current, rules, read_body=as_page)
            if method == "HEAD" and head_refused(outcome):
                method = "GET"
                outcome = await self._attempt(method, current, rules, read_body=False)
            if isinstance(outcome, Failure):
                return self._done(
                    url,
                    started,
                    Verdict.ERROR,
                    hops,
                    error=outcome.kind,
                    message=outcome.message,
                    final_url=current,
                )
            location = outcome.location
            if outcome.status not in REDIRECT_STATUSES or not location:
                break
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
                )
            if target in seen:
                return self._done(
                    url,
                    started,
                    Verdict.ERROR,
                    hops,
                    error=ErrorKind.REDIRECT_LOOP,
                    message=f"redirect loop: {target} was already visited",
                    final_url=target,
                )
            if len(hops) > self._settings.max_redirects:
                return self._done(
                    url,
                    started,
                    Verdict.ERROR,
                    hops,
                    error=ErrorKind.TOO_MANY_REDIRECTS,
                    message=f"more than {self._settings.max_redirects} redirects",
                    final_url=target,
                )
            seen.add(target)
            current = target
            if outcome.status == 303 and method != "HEAD":
                method = "GET"
        verdict, message = answer_verdict(
            outcome.status,
            outcome.headers,
            outcome.body,
            accept=rules.accept,
            retry_max_wait=self._settings.retry_max_wait,
            redirected=bool(hops),
        )
        result = self._done(
            url, started, verdict, hops, status=outcome.status, message=message, final_url=current
        )
        return Checked(result.result, outcome if as_page else None)

    async def _attempt(
        self, method: str, url: str, rules: RequestRules, *, read_body: bool
    ) -> Outcome:
        target = self._remap(url) or url

        def request() -> Awaitable[Outcome]:
            return self._client.request(
                method,
                target,
                read_body=read_body,
                headers=rules.headers,
                timeout=rules.timeout,
                verify_tls=rules.verify_tls,
            )

        async def send() -> Outcome:
            if self._is_file(target):
                return await request()
            async with self._global, self._hosts.slot(rules):
                outcome = await request()
            pause = host_pause(outcome, self._settings.retry_max_wait)
            if pause is not None:  # slow down every request to this host, not just ours
                self._hosts.pause(rules, pause)
            return outcome

        outcome, _attempts = await with_retries(
            send,
            retries=self._settings.retries,
            max_wait=self._settings.retry_max_wait,
            settle=head_refused if method == "HEAD" else lambda outcome: False,
        )
        return outcome

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
