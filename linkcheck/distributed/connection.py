"""Connect to Redis, and turn "Redis is not there" into one line for the user.

Every Redis problem a run can meet at the network level (refused, reset, timed out, still
loading its data after a restart) is retried a few times with back-off, so a blip does not
end a run; when it persists it becomes a :class:`DistributedError` naming the server (never
its password) and, mid-run, how to continue. Retried commands are safe: every write of a
run is idempotent (see :mod:`linkcheck.distributed.queue`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import (
    AskError,
    AuthenticationError,
    BusyLoadingError,
    ClusterError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from yarl import URL

from linkcheck.config import ConfigError

CONNECT_TIMEOUT = 5.0  # seconds to open a connection
# seconds for Redis's first answer: TLS spoken to a plain Redis gets no answer at all (it waits
# for the end of a line), so without this bound the mismatch would take CONNECT_TIMEOUT per try
START_TIMEOUT = 2.0
PROBE_TIMEOUT = 1.0  # seconds for the probe that says why the first answer did not come
DEFAULT_PORT = 6379
RETRIES = 4  # ~2.4 s of back-off in all: rides out a blip, not an outage
SCHEMES = ("redis", "rediss", "unix")


class DistributedError(ConfigError):
    """A run cannot go on (Redis unreachable or lost, a run of another schema, ...).

    A :class:`~linkcheck.config.ConfigError`, so the CLI prints the one line and exits 2.
    """


def display_url(url: str) -> str:
    """The URL without its password: error messages end up in CI logs."""
    try:
        parsed = URL(url)
    except ValueError:
        return "<invalid Redis URL>"
    if parsed.password is not None:
        parsed = parsed.with_password("***")
    return str(parsed)


def check_url(url: str) -> None:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise DistributedError(
            f"--redis {display_url(url)}: not a Redis URL (use redis://host:6379/0, "
            "rediss:// for TLS, or unix:///path/to/socket)"
        )


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[aioredis.Redis]:
    """A client for ``url`` that has answered PING; closed on exit."""
    check_url(url)
    try:
        client = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
            retry=Retry(NoBackoff(), 1),  # at start: say at once that Redis is not there
            retry_on_error=[RedisConnectionError, RedisTimeoutError, BusyLoadingError],
            health_check_interval=30,
        )
    except ValueError as exc:
        raise DistributedError(f"--redis {display_url(url)}: {exc}") from None
    try:
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await client.ping()
        except (RedisError, TimeoutError) as exc:
            why = await tls_mismatch(url) or describe(exc)
            raise DistributedError(f"cannot reach Redis at {display_url(url)}: {why}") from None
        client.set_retry(Retry(ExponentialBackoff(cap=1.0, base=0.1), RETRIES))
        yield client
    finally:
        await client.aclose()


# Answers that say the server cannot serve this run (as opposed to a bug in a script).
_OPERATIONAL = (ReadOnlyError, NoPermissionError, OutOfMemoryError, ClusterError, AskError)


def redis_failure(exc: BaseException) -> RedisError | None:
    """The Redis error behind ``exc``, looking inside exception groups (task groups).

    Network trouble and answers such as "read only", "out of memory", "no permission" or a
    vanished consumer group (the run's keys expired or were flushed) count; any other
    error answer is a bug in linkcheck and is left to surface as one.
    """
    if isinstance(exc, _OPERATIONAL):
        return exc
    if isinstance(exc, ResponseError):
        return exc if str(exc).startswith("NOGROUP") else None
    if isinstance(exc, RedisError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = redis_failure(inner)
            if found is not None:
                return found
    return None


def describe(exc: BaseException) -> str:
    """One short line: redis-py's messages can span lines and repeat the address."""
    if isinstance(exc, AuthenticationError):
        return "authentication failed (check the password in the URL)"
    if type(exc) is TimeoutError:  # asyncio's: START_TIMEOUT ran out
        return f"no answer within {START_TIMEOUT:g} s"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


async def tls_mismatch(url: str) -> str | None:
    """Why the first answer did not come when the URL's scheme and the server disagree on
    TLS: ``rediss://`` to a Redis that answers in plain text, or ``redis://`` to one that
    completes a TLS handshake; None otherwise. Asked only after a failure: one short probe,
    which carries no password."""
    try:
        parsed = URL(url)
    except ValueError:
        return None
    scheme, host = parsed.scheme.lower(), parsed.host
    if scheme not in ("redis", "rediss") or not host:
        return None
    port = parsed.port or DEFAULT_PORT
    if scheme == "rediss" and await _answers_plain(host, port):
        return "it answers without TLS: use redis:// (or turn TLS on in Redis)"
    if scheme == "redis" and await _speaks_tls(host, port):
        return "it expects TLS: use rediss://"
    return None


async def _answers_plain(host: str, port: int) -> bool:
    """Whether a plain-text PING gets a Redis reply (``+PONG``, or an error such as NOAUTH)."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(b"PING\r\n")
                await writer.drain()
                first = await reader.read(1)
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return False
    return first in (b"+", b"-")


async def _speaks_tls(host: str, port: int) -> bool:
    """Whether a TLS handshake (certificate not checked: this only asks) succeeds."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            _, writer = await asyncio.open_connection(host, port, ssl=context)
            writer.close()
    except (OSError, TimeoutError):
        return False
    return True
