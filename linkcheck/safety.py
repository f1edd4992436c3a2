"""Keep external links from reaching into private networks (server-side request forgery).

A public page may link to ``http://10.0.0.5/admin`` or to a name that resolves to
``127.0.0.1``; a checker running inside a company network must not fetch those on a page
author's say-so. The rule is applied to the address actually used for the connection — the
resolver's answer, after any DNS trickery — and to every redirect hop, because each hop is a
new request. Hosts the configuration names (the crawled site, ``allowed_hosts``, remap
targets, ``[hosts]`` sections) may be private: staging servers are.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from linkcheck._aiohttp import aiohttp

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class PrivateAddressError(OSError):
    """Raised inside the resolver so that no connection is ever attempted."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to the private address {address}; not fetched")
        self.host = host
        self.address = address


def is_private_address(address: IPAddress) -> bool:
    """Loopback, private, link-local, unique-local, unspecified and other non-public ranges.

    IPv4-mapped IPv6 (``::ffff:10.0.0.1``) and NAT64/6to4 forms are judged by the IPv4
    address they carry.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_private_address(embedded)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
        or address.is_multicast
        or not address.is_global
    )


def parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which hosts may be private; ``allow_all`` is ``--allow-private``."""

    allowed_hosts: frozenset[str] = frozenset()
    allow_all: bool = False

    def may_be_private(self, host: str) -> bool:
        return self.allow_all or host.lower().strip("[]") in self.allowed_hosts

    def refusal(self, host: str, address: str) -> str | None:
        """Why connecting to ``address`` for ``host`` is refused, or None when it is fine."""
        ip = parse_ip(address)
        if ip is None or self.may_be_private(host) or not is_private_address(ip):
            return None
        return str(PrivateAddressError(host, address))


class GuardedResolver(aiohttp.abc.AbstractResolver):
    """Resolves names, then refuses the answer if it points into a private network."""

    def __init__(self, policy: AddressPolicy, inner: aiohttp.abc.AbstractResolver | None = None):
        self._policy = policy
        self._inner = inner or aiohttp.resolver.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[Any]:
        answers = await self._inner.resolve(host, port, family)
        for answer in answers:
            if self._policy.refusal(host, answer["host"]) is not None:
                raise PrivateAddressError(host, answer["host"])
        return answers

    async def close(self) -> None:
        await self._inner.close()
