"""Per-host rules and politeness, shared by every request to the same origin.

:class:`HostRules` answers "how do we talk to this origin?" — the ``[http]`` defaults, the
modest ones for other people's sites, and any ``[hosts."name"]`` profile — once per origin.
:class:`HostLimiter` enforces, per origin, a cap on requests in flight, a minimum interval
between request starts, and a shared pause when the server sent ``Retry-After``: one 429
slows every request to that host, not just the one that got it.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from linkcheck.config import Config, HostProfile, parse_accept
from linkcheck.urls import OriginPattern, origin_key

T = TypeVar("T")

SITE_CHECK_METHOD = "head"  # the crawled site's links that are only checked (see _build)
# Starts are spaced by a little more than the interval: the time between a start and the
# request reaching the server varies (a busy event loop, a new connection), and two starts
# exactly ``interval`` apart could otherwise arrive closer than that.
PACE_MARGIN = 0.1  # share of the interval...
PACE_MARGIN_MAX = 0.05  # ... but at most this many seconds


def spacing(interval: float) -> float:
    """Seconds kept between two request starts to an origin whose interval is ``interval``
    (a little more: :data:`PACE_MARGIN`); a single run's and a cluster's alike."""
    return interval + min(interval * PACE_MARGIN, PACE_MARGIN_MAX) if interval else 0.0


@dataclass(frozen=True, slots=True)
class RequestRules:
    """Everything the checker needs to know to send a request to one origin."""

    site: bool  # one of the origins being crawled (start URLs, allowed_hosts)
    concurrency: int
    interval: float
    timeout: float
    accept: frozenset[int]
    method: str  # for links that are only checked: "head" (GET fallback) or "get"
    headers: tuple[tuple[str, str], ...]  # profile headers, credentials included when allowed
    verify_tls: bool
    # (scheme, host, port): the rules, and the limits and pauses they set, are per origin
    origin: tuple[str, str, int]


class HostRules:
    def __init__(self, config: Config, site: Iterable[OriginPattern]) -> None:
        self._config = config
        self._site = tuple(site)  # origins, not hosts: another port of the site's host is a guest
        self._http = config.http
        self._accept = parse_accept(config.http.accept)
        self._cache: dict[tuple[str, str, int], RequestRules] = {}

    def for_url(self, url: str) -> RequestRules:
        key = origin_key(url)
        rules = self._cache.get(key)
        if rules is None:
            rules = self._cache[key] = self._build(url, *key)
        return rules

    def _build(self, url: str, scheme: str, host: str, port: int) -> RequestRules:
        http = self._http
        site = any(pattern.matches(scheme, host, port) for pattern in self._site)
        profile = self._config.profile_for(url)
        headers: list[tuple[str, str]] = []
        if profile is not None and profile.may_receive_secrets(scheme):
            headers.extend(profile.headers)
            if profile.username is not None and profile.password is not None:
                token = f"{profile.username}:{profile.password}".encode()
                headers.append(("Authorization", "Basic " + base64.b64encode(token).decode()))
        if profile is not None and profile.user_agent:
            headers.append(("User-Agent", profile.user_agent))

        p = profile or _NO_PROFILE
        return RequestRules(
            site=site,
            concurrency=_first(
                p.concurrency,
                http.per_host_concurrency if site else http.external_per_host_concurrency,
            ),
            interval=_first(
                p.interval,
                http.per_host_interval if site else http.external_per_host_interval,
            ),
            timeout=_first(p.timeout, http.timeout),
            accept=parse_accept(p.accept) if p.accept else self._accept,
            # The site's own links that are only checked (too deep, nofollow) keep HEAD: its
            # pages are fetched anyway, and a GET cut short would cost a connection each.
            method=_first(p.method, SITE_CHECK_METHOD if site else http.external_method),
            headers=tuple(headers),
            verify_tls=_first(p.verify_tls, http.verify_tls),
            origin=(scheme, host, port),
        )


_NO_PROFILE = HostProfile(key="", host="")


def _first(value: T | None, default: T) -> T:
    """The profile's value when it sets one, else the default."""
    return default if value is None else value


@dataclass(slots=True)
class _HostState:
    semaphore: asyncio.Semaphore
    next_start: float = 0.0  # earliest monotonic time the next request may start
    paused_until: float = 0.0  # Retry-After: nobody talks to this host before then


class _Slot:
    """``async with`` a host's slot: a class, not a generator, as every request takes one."""

    __slots__ = ("_interval", "_state")

    def __init__(self, state: _HostState, interval: float) -> None:
        self._state = state
        self._interval = interval

    async def __aenter__(self) -> None:
        state = self._state
        await state.semaphore.acquire()
        try:
            while True:
                now = time.monotonic()
                start = max(now, state.next_start, state.paused_until)
                if start <= now:
                    break
                await asyncio.sleep(start - now)
        except BaseException:
            state.semaphore.release()
            raise
        state.next_start = time.monotonic() + self._interval

    async def __aexit__(self, *exc_info: object) -> None:
        self._state.semaphore.release()


class HostLimiter:
    def __init__(self) -> None:
        self._hosts: dict[tuple[str, str, int], _HostState] = {}

    def slot(self, rules: RequestRules) -> _Slot:
        """Hold one of the origin's request slots, started no sooner than its spacing allows."""
        return _Slot(self._state(rules), spacing(rules.interval))

    def pause(self, rules: RequestRules, seconds: float) -> None:
        """The server asked for a break: every request to this origin waits ``seconds``."""
        state = self._state(rules)
        state.paused_until = max(state.paused_until, time.monotonic() + seconds)

    def _state(self, rules: RequestRules) -> _HostState:
        key = rules.origin
        state = self._hosts.get(key)
        if state is None:
            state = self._hosts[key] = _HostState(asyncio.Semaphore(rules.concurrency))
        return state
