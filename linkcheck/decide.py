"""The crawl's decisions as pure functions: facts about a URL or an answer in, a decision out.

Nothing here does I/O, waits or keeps state: the crawler (one process) and the distributed
worker ask the same functions and only move the answers into their own bookkeeping, so the
two cannot decide differently (issue #18).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from linkcheck.config import Config, CrawlSettings
from linkcheck.contact import bare_address_advice, check_mailto, check_tel
from linkcheck.models import CheckResult, ErrorKind, RedirectHop, Verdict
from linkcheck.quality import redirect_dead_end
from linkcheck.retry import asked_too_long
from linkcheck.scope import Scope
from linkcheck.urls import ResolvedLink

# --- an answer's verdict --------------------------------------------------------------

# Bot walls answer instead of the page: LinkedIn's 999, Cloudflare's challenge header, and
# the tell-tale bodies of the common services. Such a link could not be verified; it is not
# known to be broken.
BOT_STATUSES = frozenset({999})
BOT_WALL_STATUSES = frozenset({403, 429, 503})
BOT_BODY_READ = 65536  # the challenge markers stand near the top of the page
_BOT_BODY = re.compile(
    rb"cf-chl|challenge-platform|Just a moment\.\.\.|Attention Required! \| Cloudflare"
    rb"|_Incapsula_Resource|captcha-delivery\.com|datadome|px-captcha|/_sec/cp_challenge"
    rb"|Pardon Our Interruption|verify you are (a )?human",
    re.IGNORECASE,
)


def answer_verdict(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    accept: frozenset[int],
    retry_max_wait: float,
    redirected: bool,
) -> tuple[Verdict, str]:
    """The verdict of a final answer (after redirects), and its message.

    ``accept``: the statuses that count as working for this host; ``redirected``: whether
    redirects led here (a working answer is then REDIRECTED, so the report can offer the
    final URL).
    """
    if status in accept:
        return (Verdict.REDIRECTED if redirected else Verdict.OK), ""
    if status in BOT_STATUSES or (
        status in BOT_WALL_STATUSES
        and ("cf-mitigated" in headers or _BOT_BODY.search(body[:BOT_BODY_READ]) is not None)
    ):
        return Verdict.BLOCKED, f"HTTP {status}: bot protection answered; check it by hand"
    if status == 429:
        return Verdict.RATE_LIMITED, "HTTP 429: the server limits automated requests"
    asked_wait = asked_too_long(headers, retry_max_wait) if status == 503 else None
    if asked_wait is not None:
        # RFC 9110 §10.2.3: the server says when to come back; later than we wait is not
        # "broken", it is "not now"
        return Verdict.RATE_LIMITED, (
            f"HTTP 503 asking to come back in {asked_wait:.0f} s "
            f"(more than retry_max_wait, {retry_max_wait:g} s)"
        )
    return Verdict.BROKEN, f"HTTP {status}"


# --- an href that is not fetched ------------------------------------------------------


def unfetchable(key: str, resolved: ResolvedLink, *, mailto_tel: bool) -> CheckResult:
    """The result of an href with no URL to fetch (``resolved.url`` is None): an invalid URL
    is an error; a file: link is an error (it opens a file on the author's computer, so it
    works for no reader); mailto: and tel: are skipped, or errors when malformed by their
    RFCs (with ``mailto_tel``); any other scheme (data:, javascript:, ...) is skipped."""
    message = resolved.reason
    error: ErrorKind | None = None
    if message.startswith("invalid URL"):
        error = ErrorKind.INVALID_URL
    elif resolved.scheme == "file":
        error = ErrorKind.UNSUPPORTED_SCHEME
    elif mailto_tel and resolved.scheme in ("mailto", "tel"):
        problem = (check_mailto if resolved.scheme == "mailto" else check_tel)(key)
        if problem:
            error = ErrorKind.INVALID_URL
            message = f"malformed {resolved.scheme}: link: {problem}"
        else:
            message = f"{resolved.scheme}: link, well formed (nothing is sent or dialled)"
    return CheckResult(
        url=key,
        verdict=Verdict.SKIPPED if error is None else Verdict.ERROR,
        error=error,
        message=message,
    )


# --- a URL met for the first time -----------------------------------------------------


class Fate(Enum):
    """What happens to a URL the crawl meets for the first time."""

    CRAWL = "crawl"  # an in-scope page: fetched with GET and parsed for more links
    CHECK = "check"  # an external link: checked (HEAD, falling back to GET)
    NOFOLLOW = "nofollow"  # in scope, but linked with rel=nofollow: checked, not crawled
    TOO_DEEP = "too deep"  # in scope, beyond max_depth: checked, not crawled
    TOO_MANY = "too many"  # in scope, beyond max_pages: checked, not crawled
    EXCLUDED = "excluded"  # matches an exclude pattern: neither crawled nor checked
    TRAP = "trap"  # in scope, but its path repeats itself: not followed
    QUERY_TRAP = "query trap"  # in scope, but its path's query strings are used up: not followed
    NOT_CHECKED = "not checked"  # external, and external links are not checked

    @property
    def crawled(self) -> bool:
        return self is Fate.CRAWL

    @property
    def checked_only(self) -> bool:
        """Checked with a request of its own (not crawled)."""
        return self in _CHECKED


_CHECKED = frozenset({Fate.CHECK, Fate.NOFOLLOW, Fate.TOO_DEEP, Fate.TOO_MANY})


@dataclass(frozen=True, slots=True)
class Discovery:
    """The decision for a new URL: its fate, its result when no request is made for it,
    and the limit it counts against (a field of the crawl's limits, a Redis counter)."""

    fate: Fate
    result: CheckResult | None = None
    counter: str = ""


# The fates that carry no result are the same value each time (no allocation per URL).
_CRAWL = Discovery(Fate.CRAWL)
_CHECK = Discovery(Fate.CHECK)
_NOFOLLOW = Discovery(Fate.NOFOLLOW)
_TOO_DEEP = Discovery(Fate.TOO_DEEP, counter="pages_not_crawled_max_depth")
_TOO_MANY = Discovery(Fate.TOO_MANY, counter="pages_not_crawled_max_pages")


def page_taken(pages_taken: int, crawl: CrawlSettings) -> bool:
    """Whether a page about to be parsed (its answer says it is a page: HTML, or a stylesheet)
    is taken on, ``pages_taken`` pages being taken on already: its links followed, counted
    toward max_pages. Past the limit it stays a checked link.

    A page counts when it is known to be one, not when it is found: an in-scope URL may be an
    image, a download or a missing page, which only its answer tells. Counted as they were
    found, an asset-heavy site's images used up max_pages before its pages were reached. The
    URLs found before the limit is reached are all fetched as pages, and the limit holds
    here; past it, :func:`discovery` makes new ones checks.
    """
    return pages_taken < crawl.max_pages


def discovery(
    url: str,
    scope: Scope,
    crawl: CrawlSettings,
    *,
    internal: bool,
    depth: int,
    follow: bool,
    pages_taken: int | None = None,
    queries_on_path: int | None = None,
) -> Discovery:
    """Decide a URL met on a page at ``depth`` (a sitemap entry: -1, so it is crawled as a
    start page's link is); ``internal``: in the scope; ``follow``: not under rel=nofollow.

    ``queries_on_path``: for a URL with a query string, how many distinct query strings
    the crawl has taken on under its path (see Scope.query_path); None when it has no query,
    or the count is not kept here. At max_queries_per_path a path is a possible crawl trap
    (a calendar's endless ?month=): its further query strings are neither crawled nor
    requested, and the run notes it rather than stopping at max_depth or max_pages.

    ``pages_taken``: pages the crawl has taken on so far (see :func:`page_taken`), for
    max_pages; None when the count is not known here (a distributed run decides max_pages as
    it commits, against the cluster-wide count), and a page is then CRAWL.
    """
    pattern = scope.excluded_by(url)
    if pattern is not None:
        return Discovery(
            Fate.EXCLUDED,
            CheckResult(url, Verdict.EXCLUDED, message=f"matches exclude pattern {pattern!r}"),
        )
    if internal:
        if scope.looks_like_trap(url):
            return Discovery(
                Fate.TRAP,
                CheckResult(
                    url,
                    Verdict.EXCLUDED,
                    message="repeating path segments: looks like a crawl trap, not followed",
                ),
                counter="traps",
            )
        if queries_on_path is not None and queries_on_path >= crawl.max_queries_per_path:
            return Discovery(
                Fate.QUERY_TRAP,
                CheckResult(
                    url,
                    Verdict.EXCLUDED,
                    message=f"possible crawl trap: {crawl.max_queries_per_path} query strings "
                    "of its path were crawled already (max_queries_per_path), not followed",
                ),
                counter="query_traps",
            )
        if not follow:
            return _NOFOLLOW
        if depth + 1 > crawl.max_depth:
            return _TOO_DEEP
        if pages_taken is not None and not page_taken(pages_taken, crawl):
            return _TOO_MANY
        return _CRAWL
    if not scope.check_external:
        return Discovery(
            Fate.NOT_CHECKED,
            CheckResult(
                url, Verdict.EXCLUDED, message="external links are not checked (--no-external)"
            ),
        )
    return _CHECK


# --- per-host switches ----------------------------------------------------------------


def fragments_enabled(config: Config, url: str) -> bool:
    """Whether ``page#section`` links into ``url`` are checked: its host's [hosts] profile
    says so, else [checks] fragments."""
    profile = config.profile_for(url) if config.hosts else None
    if profile is not None and profile.fragments is not None:
        return profile.fragments
    return config.checks.fragments


def soft_404_enabled(config: Config, url: str) -> bool:
    """Whether ``url`` is judged for soft 404s: its host's [hosts] profile says so, else
    [checks] soft_404."""
    profile = config.profile_for(url) if config.hosts else None
    if profile is not None and profile.soft_404 is not None:
        return profile.soft_404
    return config.checks.soft_404


# --- results decided without a request of their own ------------------------------------


def recorded(config: Config, url: str, result: CheckResult) -> CheckResult:
    """A check's result as the run records it: a deep link redirected to the site's home
    or a login page is a soft 404 (the target is gone), when soft 404s are judged; a
    failing ``…/name@example.com`` (an address written without mailto:) says so."""
    if result.verdict.failed and ("@" in url or "%40" in url):
        advice = bare_address_advice(url)
        if advice:
            result = dataclasses.replace(result, message=result.message + advice)
    if (
        result.verdict is Verdict.REDIRECTED
        and config.checks.soft_404
        and soft_404_enabled(config, url)
    ):
        dead_end = redirect_dead_end(url, result.final_url)
        if dead_end:
            return dataclasses.replace(
                result, verdict=Verdict.BROKEN, message=f"soft 404: {dead_end}"
            )
    return result


def robots_disallowed(url: str) -> CheckResult:
    """A page the site's robots.txt keeps us from crawling: not fetched, not a problem."""
    return CheckResult(url, Verdict.EXCLUDED, message="disallowed by the site's robots.txt")


def claimed_target(target: str, status: int) -> CheckResult:
    """The result of a redirect target inside the scope that a page's fetch reached (and
    claimed, to parse it once): it answered with ``status``."""
    return CheckResult(target, Verdict.OK, status=status, final_url=target)


# --- a page that refreshes to another address --------------------------------------------

# A page whose <meta http-equiv=refresh> sends the reader on within this many seconds is a
# redirect to them: HTML §4.2.5.3 lets the page name any delay, and a longer one is a page
# that is read first (a "this page has moved" notice with a countdown is a few seconds).
MAX_REFRESH_DELAY = 5.0


def refreshed(result: CheckResult, page_url: str, delay: float | None, target: str) -> CheckResult:
    """A crawled page's result once its refresh pragma is known: REDIRECTED to ``target``
    when the page sends its reader there within MAX_REFRESH_DELAY seconds, with the page as
    a hop (its status: the page answered, and only the refresh moves on), so the report
    offers the target as the new address as it does for an HTTP redirect. A page that
    refreshes to itself, or later, or that did not work, keeps its result."""
    if (
        not target
        or delay is None
        or delay > MAX_REFRESH_DELAY
        or target in (page_url, result.url)
        or not result.verdict.works
    ):
        return result
    hop = RedirectHop(page_url, result.status or 200)
    return dataclasses.replace(
        result,
        verdict=Verdict.REDIRECTED,
        final_url=target,
        redirects=(*result.redirects, hop),
        message=f"the page sends its readers on to {target} after {delay:g} s "
        "(<meta http-equiv=refresh>)",
    )


# --- pages that are one document ----------------------------------------------------------


def page_aliases(
    same_body: Iterable[Collection[str]],
    canonical: Mapping[str, str],
    crawled: Collection[str],
) -> dict[str, str]:
    """Which crawled pages are another's aliases: each alias, and the page it is listed as.

    ``same_body``: groups of pages that answered with the same bytes under one document's
    address (urls.document_key: ``dir/`` and ``dir/index.html``, ``p`` and ``p?x=1``);
    ``canonical``: a page's ``<link rel=canonical>``, when it names another page. A canonical
    counts when both pages were crawled. In each group of pages so joined, the page listed
    is a crawled one, the one the others name as canonical most often, then the shortest
    address (``dir/`` before ``dir/index.html``), then the first in order.
    """
    parent: dict[str, str] = {}

    def root(url: str) -> str:
        while (up := parent.get(url, url)) != url:
            parent[url] = parent.get(up, up)  # halve the path: chains stay short
            url = up
        return url

    def join(a: str, b: str) -> None:
        a, b = root(a), root(b)
        if a != b:
            parent[b] = a

    for group in same_body:
        first, *others = group
        for other in others:
            join(first, other)
    named: dict[str, int] = {}
    for page, target in canonical.items():
        if target != page and page in crawled and target in crawled:
            join(target, page)
            named[target] = named.get(target, 0) + 1
    members: dict[str, list[str]] = {}
    for url in list(parent):
        members.setdefault(root(url), []).append(url)
    aliases: dict[str, str] = {}
    for group_root, urls in members.items():
        if group_root not in urls:
            urls.append(group_root)
        listed = min(urls, key=lambda url: (url not in crawled, -named.get(url, 0), len(url), url))
        aliases.update({url: listed for url in urls if url != listed})
    return aliases
