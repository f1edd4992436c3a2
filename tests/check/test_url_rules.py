"""What an href is by the URL standards: invalid hosts and ports, IPv4 numbers, fragments."""

from __future__ import annotations

import pytest
from yarl import URL

from linkcheck.urls import CachedResolver, resolve

BASE = URL("http://site.test/dir/page.html")

# (href, piece of the reason it is invalid)
INVALID = [
    # RFC 9110 §4.2.1 / WHATWG URL "host-missing": an http(s) URL names a host
    ("http://", "no host name"),
    ("https://", "no host name"),
    ("http:///path", "no host name"),
    ("//", "no host name"),
    ("http://:8080/", "no host name"),
    ("http://user:pw@/x", "no host name"),
    ("http://?q=1", "no host name"),
    ("http://#top", "no host name"),
    # WHATWG URL §3.5: forbidden domain code points, even percent-encoded
    ("http://exa mple.com/", "' '"),
    ("http://exa%20mple.com/", "' '"),
    ("http://a<b.example/", "'<'"),
    ("http://a%3Cb.example/", "'<'"),
    ("http://a%25b.example/", "percent-escapes"),
    ("http://a%ZZ.example/", "percent-escapes"),
    ("http://a%FF.example/", "percent-escapes"),  # not UTF-8
    # RFC 3986 §3.2.3 / WHATWG port state: digits, at most 65535
    ("http://site.test:65536/", "out of range"),
    ("http://site.test:99999/", "out of range"),
    ("http://site.test:80a/", "port"),
    ("http://site.test:-1/", "out of range"),
    # RFC 3986 §3.2.2: IPv6 literals in brackets
    ("http://[::1/", "IPv6"),
    ("http://[zz::1]/", "IPv6"),
    ("http://[1:2:3:4:5:6:7:8:9]/", "IPv6"),
    # WHATWG URL §3.5 IPv4 parser: a host ending in a number is an IPv4 address
    ("http://1.2.3.256/", "out of range"),
    ("http://256.1.1.1/", "out of range"),
    ("http://1.2.3.4.5/", "more than 4 parts"),
    ("http://example.123/", "'example' is not one"),
    ("http://4294967296/", "out of range"),
]


@pytest.mark.parametrize(("href", "reason"), INVALID)
def test_invalid_urls_say_why(href: str, reason: str) -> None:
    resolved = resolve(BASE, href)
    assert resolved.url is None, resolved
    assert resolved.reason.startswith("invalid URL: ")
    assert reason in resolved.reason


# (href, the URL recorded): what a browser would request
VALID = [
    ("http://Site.TEST:80/a", "http://site.test/a"),  # RFC 3986 §6.2.2.1, §6.2.3
    ("http://ex%61mple.com/", "http://example.com/"),  # WHATWG: the host is decoded
    ("http://0x7f.0.0.1/", "http://127.0.0.1/"),  # WHATWG IPv4 parser: hexadecimal
    ("http://0177.0.0.1/", "http://127.0.0.1/"),  # octal
    ("http://2130706433/", "http://127.0.0.1/"),  # one 32-bit number
    ("http://127.1/", "http://127.0.0.1/"),  # the last part fills the rest
    ("http://192.0.2.1./", "http://192.0.2.1/"),  # one trailing dot dropped
    ("http://a.b1/", "http://a.b1/"),  # "b1" is not a number: a domain
    ("http://[2001:DB8::1]/", "http://[2001:db8::1]/"),
    ("http://bücher.example/", "http://xn--bcher-kva.example/"),  # UTS #46 / punycode
    ("http://BÜCHER.example/", "http://xn--bcher-kva.example/"),  # mapped to lower case
    ("http://site.test:/x", "http://site.test/x"),  # an empty port is the default
]


@pytest.mark.parametrize(("href", "url"), VALID)
def test_valid_urls_are_recorded_as_browsers_request_them(href: str, url: str) -> None:
    assert resolve(BASE, href).url == url


# (href, the fragment as the URL parser keeps it: escapes as written, the rest encoded)
FRAGMENTS = [
    ("#a%3Ab", "a%3Ab"),
    ("#a:b", "a:b"),
    ("#caf%c3%a9", "caf%c3%a9"),  # the escape's letter case is kept too
    ("#café", "caf%C3%A9"),
    ("#a b", "a%20b"),
    ('#a"b', "a%22b"),
    ("#a<b>", "a%3Cb%3E"),
    ("#a`b", "a%60b"),
    ("#a#b", "a#b"),  # a second # is part of the fragment
    ("#", ""),
    ("page.html", ""),
    ("other.html#sec-2.1", "sec-2.1"),
    ("#a\tb", "ab"),  # WHATWG: tabs and newlines are removed
]


@pytest.mark.parametrize(("href", "fragment"), FRAGMENTS)
def test_fragments_are_kept_as_the_url_parser_keeps_them(href: str, fragment: str) -> None:
    assert resolve(BASE, href).fragment == fragment
    assert CachedResolver().resolve(str(BASE), href).fragment == fragment


def test_file_links_carry_advice() -> None:
    resolved = resolve(BASE, "file:///C:/Users/me/site/index.html")
    assert resolved.url is None and resolved.scheme == "file"
    assert "link to the web address instead" in resolved.reason


@pytest.mark.parametrize("href", ["/./g", "/../g", "/./", "/.", "./../g", "..\\g", "\\\\h\\x"])
def test_the_cached_resolver_removes_dot_segments_as_resolve_does(href: str) -> None:
    # RFC 3986 §5.4.2: "/./g" is "http://a/g"; the plain-join shortcut must not keep the dot
    base = "http://a/b/c/d;p?q"
    assert CachedResolver().resolve(base, href) == resolve(URL(base), href)
    assert "/./" not in (resolve(URL(base), href).url or "")
