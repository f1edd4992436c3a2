"""Origins are scheme, host and port (RFC 6454): scope, [hosts] profiles, credentials and the
site's politeness are decided per origin, so another port of the site's host is another site.
"""

from __future__ import annotations

import pytest

from linkcheck.config import ConfigError, config_from_mapping
from linkcheck.hosts import HostRules
from linkcheck.scope import Scope, site_origins
from linkcheck.urls import InvalidURL, OriginPattern, origin_key
from tests.conftest import crawl, make_config, result
from tests.server import TestServer, page, redirect

# --- the pure parts -------------------------------------------------------------------------

# url -> (scheme, host, port): the default port is filled in, so equal keys are one origin
KEYS = [
    ("http://a.test/x", ("http", "a.test", 80)),
    ("http://a.test:80/x", ("http", "a.test", 80)),
    ("https://a.test/x", ("https", "a.test", 443)),
    ("https://A.Test:443/", ("https", "a.test", 443)),
    ("http://a.test:8080/", ("http", "a.test", 8080)),
    ("http://[::1]:8080/", ("http", "::1", 8080)),
]


@pytest.mark.parametrize(("url", "key"), KEYS)
def test_origin_key(url: str, key: tuple[str, str, int]) -> None:
    assert origin_key(url) == key


# pattern as written -> (host, scheme, port)
PATTERNS = [
    ("a.test", ("a.test", None, None)),
    ("A.TEST", ("a.test", None, None)),
    ("a.test:8443", ("a.test", None, 8443)),
    ("https://a.test", ("a.test", "https", None)),
    ("https://a.test:8443/", ("a.test", "https", 8443)),
    ("http://127.0.0.1:8000", ("127.0.0.1", "http", 8000)),
    ("[::1]:8080", ("::1", None, 8080)),
    ("[::1]", ("::1", None, None)),
    ("bücher.test", ("xn--bcher-kva.test", None, None)),
]


@pytest.mark.parametrize(("text", "parts"), PATTERNS)
def test_origin_patterns_are_read(text: str, parts: tuple[str, str | None, int | None]) -> None:
    pattern = OriginPattern.parse(text)
    assert (pattern.host, pattern.scheme, pattern.port) == parts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ftp://a.test", "only http:// or https://"),
        ("a.test/path", "name a host"),
        ("user@a.test", "name a host"),
        ("", "name a host"),
        ("a.test:http", "not a port number"),
        ("a.test:0", "not a port number"),
        ("a.test:65536", "not a port number"),
        ("a.test:²", "not a port number"),  # str.isdigit() says yes, int() says no
        ("[::1]x", "IPv6"),
    ],
)
def test_origin_pattern_mistakes(text: str, message: str) -> None:
    with pytest.raises(InvalidURL, match=message):
        OriginPattern.parse(text)


# pattern, url -> the url's origin is the pattern's (a missing port is the default one)
MATCHES = [
    ("a.test", "http://a.test/", True),
    ("a.test", "https://a.test/", True),
    ("a.test", "http://a.test:8080/", False),  # another port: another origin
    ("a.test", "https://a.test:8443/", False),
    ("a.test", "http://b.test/", False),
    ("a.test", "http://sub.a.test/", False),
    ("a.test:8080", "http://a.test:8080/", True),
    ("a.test:8080", "https://a.test:8080/", True),  # no scheme named: either
    ("a.test:8080", "http://a.test/", False),
    ("a.test:80", "http://a.test/", True),
    ("https://a.test", "https://a.test/", True),
    ("https://a.test", "http://a.test/", False),  # another scheme: another origin
    ("https://a.test", "https://a.test:8443/", False),
    ("https://a.test:443", "https://a.test/", True),
    ("http://a.test:443", "https://a.test/", False),
]


@pytest.mark.parametrize(("text", "url", "matches"), MATCHES)
def test_a_pattern_matches_one_origin(text: str, url: str, matches: bool) -> None:
    assert OriginPattern.parse(text).matches_url(url) is matches


# [hosts] keys -> the key of the profile a URL gets (None: no profile)
PROFILES = [
    (["a.test"], "http://a.test/x", "a.test"),
    (["a.test"], "http://a.test:8080/x", None),  # the credentials of a.test stay on a.test:80
    (["a.test", "a.test:8080"], "http://a.test:8080/x", "a.test:8080"),
    (["a.test", "https://a.test"], "https://a.test/", "https://a.test"),  # the most specific
    (["a.test", "https://a.test"], "http://a.test/", "a.test"),
    (["https://a.test:8443"], "https://a.test:8443/", "https://a.test:8443"),
    (["https://a.test:8443"], "https://a.test/", None),
]


@pytest.mark.parametrize(("keys", "url", "chosen"), PROFILES)
def test_a_profile_is_for_its_origin(keys: list[str], url: str, chosen: str | None) -> None:
    config = config_from_mapping({"hosts": {key: {"timeout": 1} for key in keys}})
    profile = config.profile_for(url)
    assert (profile.key if profile else None) == chosen


# start URL, allowed_hosts, url -> crawled (internal)
SCOPES = [
    ("http://a.test/", [], "http://a.test/page", True),
    ("http://a.test/", [], "http://a.test:8080/page", False),  # another port of the site's host
    ("http://a.test/", [], "https://a.test/page", False),  # another scheme
    ("http://a.test:8000/", [], "http://a.test:8001/", False),
    ("http://a.test/", ["b.test"], "http://b.test/any", True),
    ("http://a.test/", ["b.test"], "https://b.test/any", True),
    ("http://a.test/", ["b.test"], "http://b.test:8080/any", False),
    ("http://a.test/", ["b.test:8080"], "http://b.test:8080/any", True),
    ("http://a.test/", ["https://b.test"], "http://b.test/any", False),
    ("http://a.test/", ["a.test"], "http://a.test:9000/", False),
]


@pytest.mark.parametrize(("start", "allowed", "url", "internal"), SCOPES)
def test_scope_is_per_origin(start: str, allowed: list[str], url: str, internal: bool) -> None:
    scope = Scope.from_config(make_config(start, crawl={"allowed_hosts": allowed}))
    assert scope.is_internal(url) is internal


def test_allowed_hosts_are_checked_as_origins() -> None:
    with pytest.raises(ConfigError, match=r"\[crawl\] allowed_hosts\[1\]: .*not a port number"):
        make_config("http://a.test/", crawl={"allowed_hosts": ["b.test", "b.test:99999"]})


def test_the_sites_politeness_is_for_its_origins_only() -> None:
    config = make_config(
        "http://a.test:8000/guide/",
        crawl={"allowed_hosts": ["b.test"], "allowed_prefixes": ["https://c.test/docs/"]},
        http={"per_host_concurrency": 7, "external_per_host_concurrency": 1},
    )
    rules = HostRules(config, site_origins(config))
    site = {
        "http://a.test:8000/x": True,
        "http://a.test:8001/x": False,
        "http://a.test/x": False,
        "http://b.test/x": True,
        "https://b.test/x": True,
        "http://b.test:81/x": False,
        "https://c.test/other": True,  # a prefix's origin is the site's, its whole origin
        "http://c.test/docs/": False,
    }
    for url, expected in site.items():
        assert rules.for_url(url).site is expected, url
        assert rules.for_url(url).concurrency == (7 if expected else 1), url


# --- two servers on two ports of 127.0.0.1 --------------------------------------------------


def test_another_port_is_another_site_and_gets_no_credentials() -> None:
    """A links to B on another port of the same address, and redirects there: B is checked,
    never crawled, and sees neither A's password nor its headers."""
    with TestServer({"/": page('<a href="/b-child">child</a>'), "/b-child": page("")}) as b:
        routes = {
            "/": page(f'<a href="{b.url("/")}">b</a><a href="/moved">moved</a>'),
            "/moved": redirect(b.url("/"), 301),
        }
        with TestServer(routes) as a:
            assert a.host == b.host == "127.0.0.1"
            run = crawl(
                a.url("/"),
                crawl={"allowed_hosts": ["127.0.0.1"]},  # the address, on its default port only
                hosts={
                    f"http://127.0.0.1:{a.port}": {
                        "username": "editor",
                        "password": "s3cret",
                        "headers": {"X-Api-Key": "k-123"},
                    },
                    # no port: http://127.0.0.1:80 only, neither A nor B
                    "http://127.0.0.1": {"headers": {"X-Default-Port": "1"}},
                },
            )
            seen_by_a = [r for r in a.requests if r.path != "/robots.txt"]
            assert seen_by_a and all("authorization" in r.headers for r in seen_by_a)
            assert all(r.headers.get("x-api-key") == "k-123" for r in seen_by_a)
    assert b.requests, "B was checked"
    assert b.count("/b-child") == 0, "B's page was crawled: it is another origin"
    for seen in b.requests:
        assert "authorization" not in seen.headers
        assert "x-api-key" not in seen.headers
        assert "x-default-port" not in seen.headers
    assert not any("x-default-port" in r.headers for r in a.requests)
    assert result(run, b.url("/")).verdict.value == "ok"
    assert b.url("/") not in {p.url for p in run.pages}
