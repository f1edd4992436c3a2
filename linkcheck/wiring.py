"""Build a run's HTTP side from its Config: address policy, host rules, Checker, robots rules.

The single-process runner and the distributed workers build these the same way (one place,
so the private-address rule and the site's politeness cannot drift between them); each
brings its own transport (a folder's files, a cluster-wide politeness layer).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from linkcheck.checker import Checker
from linkcheck.config import Config
from linkcheck.decide import soft_404_enabled
from linkcheck.hosts import HostRules
from linkcheck.http import Response, Transport, user_agent
from linkcheck.robots import RobotsRules
from linkcheck.safety import AddressPolicy
from linkcheck.scope import site_origins

# The host of a remap target: "scheme://host" or "scheme://[v6 address]", before any
# port, path, query or fragment.
_REMAP_HOST = re.compile(r"^[a-z]+://(\[[^\]]+\]|[^/:?#]+)", re.IGNORECASE)


def site_hosts(config: Config) -> frozenset[str]:
    """The host names being crawled, for the private-address guard: it decides by the
    address a name resolves to, which all ports of a host share."""
    return frozenset(pattern.host for pattern in site_origins(config))


def configured_hosts(config: Config) -> frozenset[str]:
    """Hosts the configuration names: remap targets and [hosts] sections may be private."""
    hosts = {profile.host for profile in config.hosts}
    for rule in config.remap:
        match = _REMAP_HOST.match(rule.replace)
        if match:
            hosts.add(match.group(1).strip("[]").lower())
    return frozenset(hosts)


def address_policy(config: Config) -> AddressPolicy:
    """The private-address guard: only the site's hosts and the configured hosts may be
    private (unless ``allow_private``), so a public page cannot make us probe a LAN."""
    return AddressPolicy(
        allowed_hosts=site_hosts(config) | configured_hosts(config),
        allow_all=config.http.allow_private,
    )


def host_rules(config: Config) -> HostRules:
    """The site's origins get the site's politeness settings; every other origin, another
    port of the site's host included, is a guest's."""
    return HostRules(config, site_origins(config))


def make_checker(
    config: Config,
    transport: Transport,
    rules: HostRules,
    *,
    is_file: Callable[[str], bool] = lambda url: False,
    answer_now: Callable[[str], Response | None] | None = None,
) -> Checker:
    """``is_file``: the URLs ``transport`` answers from a built folder's files;
    ``answer_now``: its answer to one of them that needs no request (Checker.answer_now)."""

    def judges_soft_404(url: str) -> bool:
        # as decide.recorded: [checks] soft_404 = false turns it off for every host
        return config.checks.soft_404 and soft_404_enabled(config, url)

    return Checker(
        transport,
        config.http,
        rules,
        remap=config.remapped,
        is_file=is_file,
        soft_404=judges_soft_404,
        answer_now=answer_now,
    )


def make_robots(config: Config, checker: Checker) -> RobotsRules | None:
    """robots.txt rules when the run respects them (a folder's run never does)."""
    if not config.crawl.respect_robots:
        return None
    return RobotsRules(checker, user_agent(config.http))
