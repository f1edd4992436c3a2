"""The only module that talks HTTP: one request in, one :class:`Response` or :class:`Failure` out.

The client is aiohttp. httpx 0.28, its fork httpx2 and httpx over an aiohttp transport were
measured on the same server (``bench/http_clients.py``; figures in ``bench/README.md``):
aiohttp was 3-20x faster at the concurrency a crawl needs, so it is used directly here, and
nothing else in linkcheck imports it.

What this layer guarantees, whatever the server does:
- a total deadline per request, the body included (a slow trickle cannot stall a run);
- a body cap counted on decompressed bytes, and only encodings aiohttp bounds are offered;
- no redirect is followed here: the checker follows them itself and records every hop;
- no cookies are kept, so one check never changes the outcome of another;
- every transport problem becomes an :class:`ErrorKind`, never an exception.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import aiohttp
import aiohttp.abc
from yarl import URL

from linkcheck._version import __version__
from linkcheck.config import HttpSettings
from linkcheck.models import ErrorKind

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"linkcheck/{__version__} (link checker)"
ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
# Only encodings whose decoders aiohttp runs incrementally, so the body cap bounds them too.
ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Response:
    """What the server answered. ``body`` is empty unless it was asked for."""

    url: str
    status: int
    headers: Mapping[str, str]  # lower-cased names, first value of each
    body: bytes = b""
    truncated: bool = False  # the body was cut at the size cap

    @property
    def location(self) -> str | None:
        return self.headers.get("location")

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def charset(self) -> str | None:
        for part in (self.content_type or "").split(";")[1:]:
            name, _, value = part.partition("=")
            if name.strip().lower() == "charset":
                return value.strip().strip("\"'") or None
        return None


@dataclass(frozen=True, slots=True)
class Failure:
    """No usable HTTP answer; ``kind`` is for code, ``message`` for people."""

    url: str
    kind: ErrorKind
    message: str


Outcome = Response | Failure


class HttpClient:
    """A pooled client with linkcheck's bounds. Use as ``async with HttpClient(settings) as c``."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        resolver: aiohttp.abc.AbstractResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``resolver`` and ``ssl_context`` are seams for tests and special networks."""
        self._settings = settings
        self._resolver = resolver
        self._ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        connector = aiohttp.TCPConnector(
            limit=self._settings.concurrency,
            limit_per_host=0,  # per-host limits are linkcheck.hosts' job, shared by all requests
            ttl_dns_cache=300,
            ssl=self._ssl_context or ssl.create_default_context(),
            resolver=self._resolver,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={
                "User-Agent": self._settings.user_agent or DEFAULT_USER_AGENT,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=self._settings.timeout,
                sock_read=self._settings.timeout,
            ),
            auto_decompress=True,
            raise_for_status=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, url: str, *, read_body: bool = False) -> Outcome:
        """Send one request, without following redirects, within the total deadline."""
        if self._session is None:
            raise RuntimeError("HttpClient used outside 'async with'")
        try:
            async with asyncio.timeout(self._settings.timeout):
                return await self._send(method, url, read_body=read_body)
        except TimeoutError:
            return Failure(
                url, ErrorKind.TIMEOUT, f"no complete answer within {self._settings.timeout:g} s"
            )
        except aiohttp.ClientError as exc:
            return _failure_from(url, exc)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            return Failure(url, ErrorKind.TLS, _describe(exc))
        except (OSError, ValueError, UnicodeError) as exc:
            return Failure(
                url,
                ErrorKind.CONNECT if isinstance(exc, OSError) else ErrorKind.PROTOCOL,
                _describe(exc),
            )

    async def _send(self, method: str, url: str, *, read_body: bool) -> Response:
        assert self._session is not None
        log.debug("%s %s", method, url)
        async with self._session.request(
            method, URL(url, encoded=True), allow_redirects=False
        ) as response:
            headers: dict[str, str] = {}
            for name, value in response.headers.items():
                headers.setdefault(name.lower(), value)  # the first of repeated headers
            body, truncated = b"", False
            if read_body and method != "HEAD":
                body, truncated = await _read_capped(response, self._settings.max_body_bytes)
            return Response(url, response.status, headers, body, truncated)


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """Read at most ``limit`` decompressed bytes; the rest is never downloaded."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            response.close()  # drop the connection rather than drain an unbounded body
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _failure_from(url: str, exc: aiohttp.ClientError) -> Failure:
    """Map aiohttp's exception hierarchy onto ErrorKind; the most specific class wins."""
    kind = ErrorKind.PROTOCOL
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        kind = ErrorKind.DNS
    elif isinstance(exc, aiohttp.ClientSSLError | aiohttp.ClientConnectorCertificateError):
        kind = ErrorKind.TLS
    elif isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.SocketTimeoutError):
        kind = ErrorKind.TIMEOUT
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = ErrorKind.CONNECT
    elif isinstance(exc, aiohttp.InvalidURL):
        kind = ErrorKind.INVALID_URL
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        kind = ErrorKind.PROTOCOL
    elif isinstance(exc, aiohttp.ClientOSError):
        kind = ErrorKind.CONNECT
    return Failure(url, kind, _describe(exc))


def _describe(exc: BaseException) -> str:
    """One readable line: the most specific cause, without Python's class path."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"certificate rejected: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error
        text = os.strerror(cause.errno) if cause.errno else str(cause) or type(cause).__name__
        return f"cannot connect to {exc.host}:{exc.port}: {text}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without a complete answer"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__
