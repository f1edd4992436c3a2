"""robots.txt of the crawled site, fetched once per origin and read with protego.

Only pages linkcheck would crawl are subject to it (a link that is merely checked is one
request, like a reader's click), and start URLs are exempt: the user asked for them. A
missing robots.txt (4xx) allows everything; one that cannot be fetched (5xx, network error)
allows everything too and says so in the log, so a broken robots.txt never silences a
site's report. It is fetched through the checker, so remap rules, redirects, retries and
politeness apply to it like to any other request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from protego import Protego

from linkcheck.models import Verdict
from linkcheck.urls import origin

if TYPE_CHECKING:
    from linkcheck.checker import Checker

log = logging.getLogger(__name__)

MAX_ROBOTS_BYTES = 512 * 1024  # what Google reads; the rest is ignored


class RobotsRules:
    def __init__(self, checker: Checker, user_agent: str) -> None:
        self._checker = checker
        self._agent = user_agent
        self._parsed: dict[str, asyncio.Task[Protego | None]] = {}

    async def allows(self, url: str) -> bool:
        key = origin(url)
        task = self._parsed.get(key)
        if task is None:  # one fetch per origin, shared by every page waiting for it
            task = self._parsed[key] = asyncio.ensure_future(self._fetch(robots_url(url)))
        rules = await task
        return rules is None or bool(rules.can_fetch(url, self._agent))

    async def sitemaps(self, url: str) -> list[str]:
        """The ``Sitemap:`` lines of the robots.txt of ``url``'s origin."""
        await self.allows(url)
        rules = await self._parsed[origin(url)]
        return list(rules.sitemaps) if rules is not None else []

    async def _fetch(self, url: str) -> Protego | None:
        checked = await self._checker.check(url, as_page=True)
        result, response = checked.result, checked.response
        if not result.verdict.works or response is None:
            if result.verdict is not Verdict.BROKEN or (result.status or 0) >= 500:
                log.info(
                    "%s could not be fetched (%s); crawling as if it allowed all",
                    url,
                    result.message or result.verdict.value,
                )
            return None
        return Protego.parse(response.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace"))


def robots_url(url: str) -> str:
    scheme_end = url.find("://") + 3
    path_start = url.find("/", scheme_end)
    return (url if path_start < 0 else url[:path_start]) + "/robots.txt"
