"""Soft 404s: pages that answer "200 OK" but are really "not found" pages.

Two signals, both cheap. A page whose title or main heading says "not found" (in several
languages, "ページが見つかりません" included); and a page that is near-identical to what its
host returns for a path that cannot exist — each host is probed once, lazily. The probe
signal is dropped when it would flag most of the site: a host that answers every URL with
the same shell (a single-page app) says nothing by resembling itself.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from linkcheck.extract import ParsedPage, decode, is_html, parse_page
from linkcheck.models import Verdict
from linkcheck.quality import similar
from linkcheck.urls import origin

if TYPE_CHECKING:
    from linkcheck.checker import Checker

SIMILAR_ENOUGH = 0.9
SINGLE_PAGE_APP_SHARE = 0.5  # more than this share of pages alike: stop trusting the probe


@dataclass(frozen=True, slots=True)
class SoftNotFound:
    url: str
    reason: str
    by_probe: bool  # true: "looks like the host's not-found page", false: says so itself


class SoftNotFoundDetector:
    def __init__(self, checker: Checker) -> None:
        self._checker = checker
        self._probes: dict[str, asyncio.Task[ParsedPage | None]] = {}
        self.found: list[SoftNotFound] = []
        self.pages_judged = 0

    async def prepare(self, url: str) -> None:
        """Probe ``url``'s host (once) before its page is judged, so judging never waits."""
        await self._probe(url)

    def probe_title(self, url: str) -> str | None:
        """The title of the page ``url``'s host serves for an address that does not exist,
        or None when it serves none (a real 404, or not probed yet)."""
        probe = self._probed(url)
        return probe.title if probe is not None else None

    def _probed(self, url: str) -> ParsedPage | None:
        """The host's not-found page, once probed; None if it answered otherwise."""
        task = self._probes.get(origin(url))
        return task.result() if task is not None and task.done() else None

    def record(self, url: str, said: str, text: str | None) -> SoftNotFound | None:
        """A page judged where it was parsed (status 200): ``said`` is what its title or
        heading says (see looks_not_found), ``text`` its text if its title is the probe
        page's. Returns the judgement when the page is a soft 404."""
        self.pages_judged += 1
        found = None
        if said:
            found = SoftNotFound(url, f"the page says “{said}”", by_probe=False)
        else:
            probe = self._probed(url)
            if (
                probe is not None
                and text is not None
                and similar(text, probe.text) >= SIMILAR_ENOUGH
            ):
                found = SoftNotFound(
                    url,
                    "the page is the same as what this site shows for an address that does "
                    "not exist",
                    by_probe=True,
                )
        if found is not None:
            self.found.append(found)
        return found

    def snapshot(self) -> dict[str, Any]:
        return {
            "found": [[item.url, item.reason, item.by_probe] for item in self.found],
            "pages_judged": self.pages_judged,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.found = [
            SoftNotFound(url, reason, bool(by_probe)) for url, reason, by_probe in state["found"]
        ]
        self.pages_judged = int(state["pages_judged"])

    def results(self) -> tuple[list[SoftNotFound], bool]:
        """The soft 404s to report, and whether the probe signal was dropped (an app shell)."""
        by_probe = [item for item in self.found if item.by_probe]
        if len(by_probe) > 3 and len(by_probe) > SINGLE_PAGE_APP_SHARE * self.pages_judged:
            return [item for item in self.found if not item.by_probe], True
        return list(self.found), False

    async def _probe(self, url: str) -> ParsedPage | None:
        key = origin(url)
        task = self._probes.get(key)
        if task is None:
            task = self._probes[key] = asyncio.ensure_future(self._fetch_probe(url))
        return await task

    async def _fetch_probe(self, url: str) -> ParsedPage | None:
        """The host's answer for a path that cannot exist, if it answers 200 (else None)."""
        # In the page's own folder: the same host, and inside a checked folder's address
        folder = url.split("?", 1)[0]
        folder = folder[: folder.rfind("/") + 1]
        probe_url = f"{folder}linkcheck-probe-{secrets.token_hex(8)}-not-a-page"
        checked = await self._checker.check(probe_url, as_page=True)
        response = checked.response
        if checked.result.verdict is not Verdict.OK or response is None:
            return None
        if not is_html(response.content_type, response.body):
            return None
        return parse_page(decode(response.body, response.charset))
