"""URL resolution and normalisation: one destination, one string."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from linkcheck import urls as urls_module
from linkcheck.urls import (
    CachedResolver,
    InvalidURL,
    directory_prefix,
    normalize_url,
    origin_parts,
    page_base,
    resolve,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM:80/a/./b/../c?q=1#frag", "http://example.com/a/c?q=1"),
        ("https://EXAMPLE.com:443", "https://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        ("http://ex.com/%7euser/%e3%81%82", "http://ex.com/~user/%E3%81%82"),
        ("http://bücher.de/straße", "http://xn--bcher-kva.de/stra%C3%9Fe"),
        ("http://ex.com/a b", "http://ex.com/a%20b"),
        ("  http://ex.com/  ", "http://ex.com/"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ftp://ex.com/",
        "ex.com/page",
        "http://exa mple.com/",
        "http://ex.com:99999/",
        "http:///x",
    ],
)
def test_normalize_rejects(raw: str) -> None:
    with pytest.raises(InvalidURL):
        normalize_url(raw)


BASE = URL("http://ex.com/guide/topics/page.html")


@pytest.mark.parametrize(
    ("href", "url", "fragment"),
    [
        ("other.html", "http://ex.com/guide/topics/other.html", ""),
        ("../index.html#top", "http://ex.com/guide/index.html", "top"),
        ("/guide/a.html", "http://ex.com/guide/a.html", ""),
        ("//cdn.example.org/x.js", "http://cdn.example.org/x.js", ""),
        ("#section", "http://ex.com/guide/topics/page.html", "section"),
        ("", "http://ex.com/guide/topics/page.html", ""),
        ("?page=2", "http://ex.com/guide/topics/page.html?page=2", ""),
        ("  spaced.html \n", "http://ex.com/guide/topics/spaced.html", ""),
        ("HTTPS://Other.ORG", "https://other.org/", ""),
    ],
)
def test_resolve(href: str, url: str, fragment: str) -> None:
    resolved = resolve(BASE, href)
    assert (resolved.url, resolved.fragment) == (url, fragment)


@pytest.mark.parametrize(
    ("href", "reason"),
    [
        ("mailto:someone@example.com", "mailto: link"),
        ("tel:+81-3-1234-5678", "tel: link"),
        ("javascript:void(0)", "javascript: link"),
        ("data:image/png;base64,AAAA", "data: link"),
        ("file:///etc/passwd", "unsupported scheme 'file:'"),
        ("http://exa mple.com/", "invalid URL"),
    ],
)
def test_resolve_not_fetched(href: str, reason: str) -> None:
    resolved = resolve(BASE, href)
    assert resolved.url is None
    assert reason in resolved.reason


def test_page_base_honours_base_href() -> None:
    assert str(page_base("http://ex.com/a/b.html", "/docs/")) == "http://ex.com/docs/"
    assert (
        str(page_base("http://ex.com/a/b.html", "javascript:alert(1)")) == "http://ex.com/a/b.html"
    )
    assert str(page_base("http://ex.com/a/b.html", None)) == "http://ex.com/a/b.html"


@pytest.mark.parametrize(
    ("url", "prefix"),
    [
        ("http://h/guide/", "http://h/guide/"),
        ("http://h/guide/index.html", "http://h/guide/"),
        ("http://h/guide", "http://h/"),
        ("http://h", "http://h/"),
        ("http://h/a/b?x=/c/d", "http://h/a/"),
    ],
)
def test_directory_prefix(url: str, prefix: str) -> None:
    assert directory_prefix(url) == prefix


def test_cached_resolver_agrees_with_resolve() -> None:
    """The cache keys on part of the base; results must equal resolving against the whole."""
    bases = [
        "http://ex.com/guide/topics/page.html",
        "http://ex.com/guide/topics/other.html?x=1",
        "http://ex.com/guide/",
        "http://ex.com/",
        "https://ex.com:8443/a/b/c",
        "http://ex.com",
        "HTTP://EX.com/Guide/",
    ]
    hrefs = [
        # plain paths (joined without yarl) next to look-alikes that need it
        "a/./b.html",
        "a/../b.html",
        "a/.",
        "a/..",
        ".",
        "..",
        "./",
        "/",
        "a//b",
        "~user/x",
        "P-1_2.HTML",
        "./a/b/",
        "...",
        "a/...",
        "/a/./b",
        "/..",
        "x y",
        "%41.html",
        "/guide/p.html#frag",
        "p.html?x",
        "é.html",
        "./../x",
        "p.html",
        "./p.html",
        "../up.html",
        "/root.html",
        "//cdn.org/x",
        "?q=2",
        "#f",
        "",
        "sub/dir/",
        "https://other.org/a",
        "mailto:a@b.c",
        " p.html ",
        # dot segments and plain fragments (joined without yarl, RFC 3986 §5.2.3-5.2.4)
        "../../a/b.html#h-3",
        "../x/./y/../z.html",
        "a/b/..",
        "a/b/.",
        "../../../../../x",
        "/../x",
        "/a/../../b/",
        "./#top",
        "#h-1",
        "#bad frag",
        "#é",
        "../p.html#é",
        "p.html#",
        "..#x",
        "a.b/c..d/.e",
        "x./y",
        "#",
    ]
    resolver = CachedResolver()
    for _ in range(2):  # the second round is answered from the cache
        for base in bases:
            for href in hrefs:
                assert resolver.resolve(base, href) == resolve(URL(base), href), (base, href)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:30668/guide/p.html",
        "HTTPS://Example.COM/x",
        "http://user:pw@host:8080/p?q#f",
        "http://[::1]:9/x",
        "http://h?x",
        "http://h#f",
        "http://h",
        "https://bücher.de/",
        "http://h:/x",
        "http://h x/y",
        "ftp://h/x",
        "mailto:a@b",
        "//h/x",
    ],
)
def test_origin_parts_are_what_yarl_reads_however_the_url_is_written(url: str) -> None:
    expected = URL(url)
    for _ in range(2):  # parsed, then remembered
        assert origin_parts(url) == (expected.scheme, expected.raw_host, expected.port)


@pytest.mark.parametrize("url", ["http://host\\evil/x", "http://h:99999/x"])
def test_origin_parts_of_an_unusable_url_fail_as_yarl_does(url: str) -> None:
    with pytest.raises(ValueError) as expected:
        URL(url)
    for _ in range(2):
        with pytest.raises(ValueError, match=str(expected.value)[:20]):
            origin_parts(url)


def test_remembered_origins_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urls_module, "MAX_ORIGIN_PARTS", 3)
    for n in range(10):
        assert origin_parts(f"http://h{n}.example/p") == ("http", f"h{n}.example", 80)
        assert len(urls_module._ORIGIN_PARTS) <= 3


_BASES = st.sampled_from(
    [
        "http://ex.com/",
        "http://ex.com/a/b/c.html",
        "https://ex.com:8443/a/b/",
        "http://ex.com/a/b?q=1",
        "http://ex.com/a%20b/c.html",
        "http://EX.com/A/./b.html",
    ]
)
_HREFS = st.one_of(
    st.text(alphabet="a./#-~?%é ", max_size=14),
    st.builds(
        str.__add__,
        st.sampled_from(
            [
                "http://ex.com",
                "https://ex.com",
                "HTTP://ex.com",
                "http://Ex.com",
                "https://ex.com:443",
                "http://ex.com:8080",
                "http://ex.com.",
                "http://ex..com",
                "http://user@ex.com",
                "http://[::1]",
                "http://1.2.3.4",
                "http://0x7f.1",
                "http://xn--bcher-kva.de",
                "http://bücher.de",
                "http:/ex.com",
                "http://",
                "ftp://ex.com",
            ]
        ),
        st.text(alphabet="a./#-~?%é ", max_size=10),
    ),
)


@settings(max_examples=400, deadline=None)
@given(base=_BASES, href=_HREFS)
def test_cached_resolver_agrees_with_resolve_on_any_plain_looking_href(
    base: str, href: str
) -> None:
    """Dot segments, fragments and look-alikes in any order: the string joins used for plain
    paths give what RFC 3986 resolution (yarl, then canonical form) gives."""
    assert CachedResolver().resolve(base, href) == resolve(URL(base), href)


@pytest.mark.parametrize(
    ("base", "href", "expected"),
    [
        # RFC 3986 §5.2.3: the reference replaces the base's last segment; the other segments
        # keep their escapes (yarl 1.25 decoded them: aio-libs/yarl#1774)
        ("http://ex.com/a%2Fb/c.html", "d", "http://ex.com/a%2Fb/d"),
        ("http://ex.com/a%3Fb/c.html", "d", "http://ex.com/a%3Fb/d"),
        ("http://ex.com/a%20b/c.html", "./d#x", "http://ex.com/a%20b/d"),
        (
            "http://ex.com/%E3%82%AC%E3%82%A4%E3%83%89/p.html",
            "q.html",
            "http://ex.com/%E3%82%AC%E3%82%A4%E3%83%89/q.html",
        ),
        ("http://ex.com/a%2Fb/c/d.html", "../e", "http://ex.com/a%2Fb/e"),
        ("http://ex.com/a%20b/c.html", "?q", "http://ex.com/a%20b/c.html?q"),
    ],
)
def test_a_relative_link_keeps_the_escapes_of_its_pages_folder(
    base: str, href: str, expected: str
) -> None:
    assert resolve(URL(base), href).url == expected
    assert CachedResolver().resolve(base, href).url == expected


def test_a_base_href_keeps_the_escapes_of_the_pages_folder() -> None:
    assert str(page_base("http://ex.com/a%2Fb/c.html", "sub/")) == "http://ex.com/a%2Fb/sub/"
