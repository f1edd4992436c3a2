"""Soft 404s: pages that answer "200 OK" but are really "not found" pages.

Two signals, both cheap. A page whose title or main heading says "not found" (in several
languages, "ページが見つかりません" included); and a page that is near-identical to what its
host returns for a path that cannot exist — each host is probed once, lazily. The probe
signal is dropped when it would flag most of the site: a host that answers every URL with
the same shell (a single-page app) says nothing by resembling itself.

Pages of other sites are judged from the first slice of their body that the checker reads
(:meth:`SoftNotFoundDetector.judge_sample`), at once, by the same two signals; their host is
probed only for a page that looks suspicious (an error word in its title, "not found" in
its text), so most hosts are never probed.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from linkcheck.extract import ParsedPage, decode, is_html, summarize_page
from linkcheck.models import Verdict
from linkcheck.quality import looks_not_found, mentions_not_found, similar
from linkcheck.urls import origin

if TYPE_CHECKING:
    from linkcheck.checker import Checker
    from linkcheck.http import Response

SIMILAR_ENOUGH = 0.9
SINGLE_PAGE_APP_SHARE = 0.5  # more than this share of pages alike: stop trusting the probe

# Words in a title or main heading that do not make a page "not found" (the phrases that do
# are quality.NOT_FOUND_PHRASES) but make another site's page worth comparing with that
# host's own not-found page. One row per language; searched in lowercased text.
SUSPICIOUS_WORDS: tuple[tuple[str, str], ...] = (
    ("status", r"\b(404|410)\b"),
    ("English", r"\b(error|oops|sorry|missing|unavailable)\b"),
    ("Japanese", r"エラー|申し訳|ございません|お探し"),
    ("German", r"\b(fehler|leider)\b"),
    ("French", r"\berreur\b|désolé"),
    ("Spanish", r"lo sentimos|\bvaya\b"),
    ("Chinese", r"错误|錯誤|抱歉"),
    ("Korean", r"오류|죄송"),
)
_SUSPICIOUS = re.compile("|".join(f"(?:{pattern})" for _, pattern in SUSPICIOUS_WORDS))


@dataclass(frozen=True, slots=True)
class SoftNotFound:
    url: str
    reason: str
    by_probe: bool  # true: "looks like the host's not-found page", false: says so itself


def read_sample(response: Response) -> ParsedPage | None:
    """The page in an answer's body (a checked link's first slice), or None if not HTML."""
    if not is_html(response.content_type, response.body):
        return None
    return summarize_page(decode(response.body, response.charset))


def says_not_found(page: ParsedPage) -> str:
    """Why the page is a "not found" page by its own title or main heading, or ""."""
    said = looks_not_found(page.title, page.heading)
    return f"the page says “{said}”" if said else ""


def looks_suspicious(page: ParsedPage) -> bool:
    """Whether another site's page (that does not say "not found" in its title) is worth
    comparing with its host's not-found page: an error word in its title or heading, or
    "not found" in its text. Neither a missing title nor a redirect is a hint: both are
    common on real pages, and each would cost a probe of most hosts."""
    said = f"{page.title}\n{page.heading}".lower()
    return _SUSPICIOUS.search(said) is not None or mentions_not_found(page.text)


def same_as_not_found_page(page: ParsedPage, probe: ParsedPage) -> bool:
    """Whether ``page`` is the host's not-found page (``probe``): the same title and
    near-identical text. The title as well, since the first slice of two real pages of one
    site can be mostly the same navigation."""
    return page.title == probe.title and alike(page.text, probe.text)


def alike(text: str, probe_text: str) -> bool:
    """Whether a page's text is near-identical to the host's not-found page's."""
    return similar(text, probe_text) >= SIMILAR_ENOUGH


PROBE_REASON = "the page is the same as what this site shows for an address that does not exist"


class SoftNotFoundDetector:
    def __init__(self, checker: Checker, *, sample: bool = False) -> None:
        """``sample``: probe hosts as the checker checks a link (the first slice of the
        body, to compare with pages of other sites, see judge_sample) rather than as it
        fetches a page to crawl."""
        self._checker = checker
        self._sample = sample
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
            if probe is not None and text is not None and alike(text, probe.text):
                found = SoftNotFound(url, PROBE_REASON, by_probe=True)
        if found is not None:
            self.found.append(found)
        return found

    async def judge_sample(self, final_url: str, page: ParsedPage) -> str:
        """Why another site's page (the first slice of the answer a link ended at, at
        ``final_url``) is a soft 404, with its title as evidence; "" for a real page.

        Judged at once, for the link's own result: no record is kept. The host is probed
        (once) only when the page looks suspicious.
        """
        said = says_not_found(page)
        if said or not looks_suspicious(page):
            return said
        probe = await self._probe(final_url)
        if probe is None or not same_as_not_found_page(page, probe):
            return ""
        return f"{PROBE_REASON} (its title: “{page.title}”)" if page.title else PROBE_REASON

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
        if self._sample:  # compared slice with slice: the same bytes of each page
            checked = await self._checker.sample(probe_url)
        else:
            checked = await self._checker.check(probe_url, as_page=True)
        response = checked.response
        if checked.result.verdict is not Verdict.OK or response is None:
            return None
        return read_sample(response)
