"""The only module that talks HTTP: one request in, one :class:`Response` or :class:`Failure` out.

The client is aiohttp. httpx 0.28, its fork httpx2 and httpx over an aiohttp transport were
measured on the same server (``bench/http_clients.py``; figures in ``bench/README.md``):
aiohttp was far faster at the concurrency a crawl needs, so it is used directly here, and
nothing else in linkcheck sends requests with it (``safety`` wraps its resolver; both import
it through ``linkcheck._aiohttp``, which spares start-up the trust store aiohttp loads for
contexts linkcheck never uses).

What this layer guarantees, whatever the server does:
- a total deadline per request, the body included (a slow trickle cannot stall a run);
- a body cap counted on decompressed bytes, and only encodings aiohttp bounds are offered;
- no redirect is followed here: the checker follows them itself and records every hop;
- no cookies are kept, so one check never changes the outcome of another;
- every transport problem becomes an :class:`ErrorKind`, never an exception.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TypedDict

from yarl import URL

from linkcheck._aiohttp import aiohttp
from linkcheck._version import __version__
from linkcheck.config import HttpSettings
from linkcheck.models import ErrorKind
from linkcheck.safety import AddressPolicy, GuardedResolver, PrivateAddressError, parse_ip

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"linkcheck/{__version__} (link checker)"
ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
# Only encodings whose decoders aiohttp runs incrementally, so the body cap bounds them too.
ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 64 * 1024
ERROR_BODY_PEEK = 16 * 1024  # enough of an error page to recognise a bot challenge


@dataclass(frozen=True, slots=True)
class Response:
    """What the server answered: ``body`` is the page (``read_body``), a GET's first slice,
    or empty (HEAD)."""

    url: str
    status: int
    headers: Mapping[str, str]  # lower-cased names, first value of each
    body: bytes = b""
    truncated: bool = False  # the body was cut at the size cap (or the slice's)

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
    # the host's network said no at once (nothing listens on the port, no route to it): a
    # definite answer, looked at again later (the recheck), not tried again straight away
    refused: bool = False


# connect() errors that are an answer, not a loss on the way (RFC 9293 §3.10.7.3: a RST to a
# SYN; ICMP unreachable)
REFUSED_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH})


Outcome = Response | Failure


class RequestOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`Transport.request`, for wrappers that pass them on."""

    read_body: bool
    headers: Sequence[tuple[str, str]]
    timeout: float | None
    verify_tls: bool


class Transport(Protocol):
    """What the checker needs from a client: :class:`HttpClient`, or the local-folder one."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        read_body: bool = False,
        headers: Sequence[tuple[str, str]] = (),
        timeout: float | None = None,
        verify_tls: bool = True,
    ) -> Outcome: ...


class HttpClient:
    """A pooled client with linkcheck's bounds. Use as ``async with HttpClient(settings) as c``."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        policy: AddressPolicy | None = None,
        resolver: aiohttp.abc.AbstractResolver | None = None,
        socket_factory: Callable[[Any], socket.socket] | None = None,
    ) -> None:
        """``policy`` decides which hosts may resolve to private addresses (default: none).

        ``resolver`` and ``socket_factory`` are seams for tests and special networks: every
        name lookup goes through ``resolver`` (behind the private-address guard), and every
        connection attempt creates its socket with ``socket_factory``.
        """
        self._settings = settings
        self._policy = policy or AddressPolicy()
        self._resolver = GuardedResolver(self._policy, resolver)
        self._socket_factory = socket_factory
        # Loading the trust store is slow: done at the first https request, so a run that
        # makes none never pays for it.
        self._ssl_context: ssl.SSLContext | None = None
        self._literal_refusals: dict[str, str | None] = {}  # by host, see _refusal_for_literal
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        connector = aiohttp.TCPConnector(
            limit=self._settings.concurrency,
            limit_per_host=0,  # per-host limits are linkcheck.hosts' job, shared by all requests
            ttl_dns_cache=300,
            resolver=self._resolver,
            socket_factory=self._socket_factory,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={
                "User-Agent": user_agent(self._settings),
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

    async def request(
        self,
        method: str,
        url: str,
        *,
        read_body: bool = False,
        headers: Sequence[tuple[str, str]] = (),
        timeout: float | None = None,
        verify_tls: bool = True,
    ) -> Outcome:
        """Send one request, without following redirects, within the total deadline.

        ``read_body`` reads the body up to the size cap (a page to parse); otherwise a GET
        reads only the body's first ``check_body_bytes`` (at least ERROR_BODY_PEEK of an
        error answer, enough to recognise a bot-protection page) and, if there is more,
        closes the connection.
        """
        if self._session is None:
            raise RuntimeError("HttpClient used outside 'async with'")
        deadline = timeout or self._settings.timeout
        refusal = self._refusal_for_literal(url)
        if refusal is not None:
            return Failure(url, ErrorKind.PRIVATE_ADDRESS, refusal)
        try:
            async with asyncio.timeout(deadline):
                return await self._send(method, url, read_body, headers, verify_tls)
        except TimeoutError:
            return Failure(url, ErrorKind.TIMEOUT, f"no complete answer within {deadline:g} s")
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

    def _refusal_for_literal(self, url: str) -> str | None:
        """IP literals never reach the resolver, so the private-address rule is applied here."""
        authority = url.split("/", 3)[2] if url.count("/") >= 2 else url
        if authority in self._literal_refusals:
            return self._literal_refusals[authority]
        host = URL(url, encoded=True).raw_host or ""
        refusal = None if parse_ip(host) is None else self._policy.refusal(host, host)
        self._literal_refusals[authority] = refusal
        return refusal

    def _tls(self, url: str, verify_tls: bool) -> ssl.SSLContext | bool:
        """What aiohttp is given for ``ssl``: this client's trust store for https."""
        if not url.startswith("https:"):
            return True  # plain http: aiohttp's default, which it does not use
        if not verify_tls:
            return False
        if self._ssl_context is None:
            self._ssl_context = _ssl_context(self._settings.ca_bundle)
        return self._ssl_context

    async def _send(
        self,
        method: str,
        url: str,
        read_body: bool,
        extra_headers: Sequence[tuple[str, str]],
        verify_tls: bool,
    ) -> Response:
        assert self._session is not None
        log.debug("%s %s", method, url)
        async with self._session.request(
            method,
            URL(url, encoded=True),
            allow_redirects=False,
            headers=dict(extra_headers) if extra_headers else None,
            ssl=self._tls(url, verify_tls),
        ) as response:
            headers: dict[str, str] = {}
            for name, value in response.headers.items():
                headers.setdefault(name.lower(), value)  # the first of repeated headers
            body, truncated = b"", False
            if method != "HEAD":
                limit = self._settings.max_body_bytes if read_body else self._sample(response)
                body, truncated = await _read_capped(response, limit)
            return Response(url, response.status, headers, body, truncated)

    def _sample(self, response: aiohttp.ClientResponse) -> int:
        """Bytes of a checked link's body read: its first slice, for its title and heading
        (a "not found" page that answers 200), or an error page's bot-challenge markers."""
        limit = self._settings.check_body_bytes
        return max(limit, ERROR_BODY_PEEK) if response.status >= 400 else limit


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """Read at most ``limit`` decompressed bytes; the rest is never downloaded.

    A body cut short closes its connection: returned to the pool half-read, it would have to
    be drained (the rest of a large page, or a body that never ends) before its next use.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(min(_CHUNK, limit + 1)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            response.close()  # drop the connection rather than drain an unbounded body
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


# OpenSSL's verify messages, in words an editor (or a tired admin) understands.
_TLS_REASONS = {
    "self-signed": "the certificate is self-signed",
    "self signed": "the certificate is self-signed",
    "unable to get local issuer": "issued by a certificate authority that is not trusted",
    "expired": "the certificate has expired",
    "not yet valid": "the certificate is not valid yet",
    "hostname mismatch": "the certificate is for another host name",
    "ip address mismatch": "the certificate is for another address",
}


def user_agent(settings: HttpSettings) -> str:
    """The User-Agent linkcheck names itself with: the configured one, else ours (robots.txt
    is read for the same name that the requests send)."""
    return settings.user_agent or DEFAULT_USER_AGENT


def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    """The system's trust store (honouring SSL_CERT_FILE), plus an extra CA bundle if given."""
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def _failure_from(url: str, exc: aiohttp.ClientError) -> Failure:
    """Map aiohttp's exception hierarchy onto ErrorKind; the most specific class wins."""
    kind = ErrorKind.PROTOCOL
    cause = getattr(exc, "os_error", None)
    if isinstance(cause, PrivateAddressError):
        return Failure(url, ErrorKind.PRIVATE_ADDRESS, str(cause))
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        kind = ErrorKind.DNS
    elif isinstance(exc, aiohttp.ClientSSLError | aiohttp.ClientConnectorCertificateError):
        kind = ErrorKind.TLS
    elif isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.SocketTimeoutError):
        kind = ErrorKind.TIMEOUT
    elif isinstance(exc, aiohttp.ClientConnectorError):
        refused = exc.os_error.errno in REFUSED_ERRNOS
        return Failure(url, ErrorKind.CONNECT, _describe(exc), refused=refused)
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
        error = exc.certificate_error
        reason = getattr(error, "verify_message", None) or str(error)
        plain = next((text for key, text in _TLS_REASONS.items() if key in reason.lower()), "")
        return (
            f"certificate rejected: {plain} ({reason})"
            if plain
            else (f"certificate rejected: {reason}")
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error
        if isinstance(cause, socket.gaierror) and cause.strerror:
            text = cause.strerror  # "Name or service not known"
        elif cause.errno and cause.errno > 0:
            text = os.strerror(cause.errno)  # "Connection refused", not asyncio's wording
        else:
            text = str(cause) or type(cause).__name__
        return f"cannot connect to {exc.host}:{exc.port}: {text}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without a complete answer"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__
