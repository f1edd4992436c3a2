"""Check one URL: request it, follow redirects by hand, retry what is transient, give a verdict.

Redirects are followed here rather than by the HTTP client so that every hop is recorded
(the report offers the final URL as a replacement), loops are named as loops, and remap
rules apply to each hop. External links are asked with HEAD first and with GET when a
server refuses HEAD, because many do (405, 403, 501, or a broken answer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from linkcheck.config import HttpSettings
from linkcheck.hosts import HostLimiter
from linkcheck.http import Failure, HttpClient, Outcome, Response
from linkcheck.models import REDIRECT_STATUSES, CheckResult, ErrorKind, RedirectHop, Verdict
from linkcheck.retry import with_retries
from linkcheck.urls import InvalidURL, join

HEAD_REFUSED_STATUSES = frozenset({400, 403, 405, 501})


@dataclass(frozen=True, slots=True)
class Checked:
    """A verdict, and the final response when a page body was asked for (to be parsed)."""

    result: CheckResult
    response: Response | None = None


class Checker:
    def __init__(
        self,
        client: HttpClient,
        settings: HttpSettings,
        *,
        remap: Callable[[str], str | None] = lambda url: None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._remap = remap
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts = HostLimiter(settings.per_host_concurrency)

    async def check(self, url: str, *, as_page: bool = False) -> Checked:
        """Check ``url``; with ``as_page``, GET it and keep the final body for parsing."""
        started = time.monotonic()
        method = "GET" if as_page or self._settings.external_method == "get" else "HEAD"
        hops: list[RedirectHop] = []
        seen = {url}
        current = url
        while True:
            outcome = await self._attempt(method, current, read_body=as_page)
            if method == "HEAD" and _head_refused(outcome):
                method = "GET"
                outcome = await self._attempt(method, current, read_body=False)
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
        status = outcome.status
        if 200 <= status < 300:
            verdict = Verdict.REDIRECTED if hops else Verdict.OK
            message = ""
        else:
            verdict = Verdict.BROKEN
            message = f"HTTP {status}"
        result = self._done(
            url, started, verdict, hops, status=status, message=message, final_url=current
        )
        return Checked(result.result, outcome if as_page else None)

    async def _attempt(self, method: str, url: str, *, read_body: bool) -> Outcome:
        target = self._remap(url) or url

        async def send() -> Outcome:
            async with self._global, self._hosts.slot(target):
                outcome = await self._client.request(method, target, read_body=read_body)
            return outcome

        outcome, _attempts = await with_retries(
            send, retries=self._settings.retries, max_wait=self._settings.retry_max_wait
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


def _head_refused(outcome: Outcome) -> bool:
    if isinstance(outcome, Failure):
        return outcome.kind is ErrorKind.PROTOCOL
    return outcome.status in HEAD_REFUSED_STATUSES
