"""#fragment links over a loopback crawl: matched as browsers match them (HTML §7.4.6.4)."""

from __future__ import annotations

from linkcheck.models import ErrorKind, RunResult, Verdict
from tests.conftest import crawl, result
from tests.server import TestServer, page

# The target page's ids: one written with a percent-escape, one with the character itself,
# one non-ASCII, one with a space (not a valid id, but browsers still find it).
TARGET = page(
    '<h2 id="a%3Ab">raw</h2><h2 id="c:d">plain</h2><h2 id="café">accent</h2>'
    '<h2 id="x y">space</h2><h2 name="n">not an anchor</h2><a name="old">old style</a>'
)

# (href on the source page, is there an element it names)
FRAGMENTS = [
    ("target.html#a%3Ab", True),  # the raw fragment equals the id as written
    ("target.html#a:b", False),  # no id "a:b": the id is the escape, not its decoding
    ("target.html#c%3Ad", True),  # raw "c%3Ad" is no id, decoded "c:d" is
    ("target.html#c:d", True),
    ("target.html#caf%C3%A9", True),  # decoded as UTF-8
    ("target.html#café", True),  # encoded by the URL parser, then decoded to match
    ("target.html#caf%E9", False),  # Latin-1 escape: decodes to U+FFFD, matches nothing
    ("target.html#x%20y", True),
    ("target.html#n", False),  # only <a name> counts, not name on other elements
    ("target.html#old", True),
    ("target.html#Top", True),  # "top" in any case is the top of the page
    ("target.html#TOP", True),
    ("target.html#missing", False),
]


def _run() -> tuple[RunResult, str]:
    links = "".join(f'<a href="{href}">{index}</a>\n' for index, (href, _) in enumerate(FRAGMENTS))
    with TestServer({"/": page(links), "/target.html": TARGET}) as site:
        return crawl(site.url("/")), site.url("/target.html")


def test_fragments_match_raw_then_decoded() -> None:
    run, target = _run()
    assert result(run, target).verdict is Verdict.OK
    kept = {occurrence.href for occurrence in run.links[target].occurrences}
    for href, exists in FRAGMENTS:
        assert (href in kept) is exists, href
        if not exists:
            fragment = href.partition("#")[2]
            broken = [
                link
                for key, link in run.links.items()
                if key.startswith(target + "#") and href in link.occurrences.hrefs()
            ]
            assert len(broken) == 1, (href, fragment)
            assert broken[0].result is not None
            assert broken[0].result.verdict is Verdict.BROKEN


def test_an_href_with_an_empty_host_is_invalid_not_the_page_itself() -> None:
    # RFC 9110 §4.2.1 and WHATWG URL: "http://" names no host; yarl alone read it as the page
    html = '<a href="http://">empty</a><a href="https://:443/x">port only</a><a href="/ok">ok</a>'
    with TestServer({"/": page(html), "/ok": page("fine")}) as site:
        run = crawl(site.url("/"))
        for href in ("http://", "https://:443/x"):
            invalid = result(run, href)
            assert (invalid.verdict, invalid.error) == (Verdict.ERROR, ErrorKind.INVALID_URL)
            assert "no host name" in invalid.message
        assert result(run, site.url("/ok")).verdict is Verdict.OK
        assert [o.href for o in run.links[site.url("/")].occurrences] == []  # no self-link


def test_an_address_written_without_mailto_gets_the_advice() -> None:
    html = '<a href="help@shop.example">Write to us</a><a href="gone.html">gone</a>'
    with TestServer({"/": page(html)}) as site:
        run = crawl(site.url("/"))
        mail = result(run, site.url("/help@shop.example"))
        assert mail.verdict is Verdict.BROKEN and mail.status == 404  # the check's verdict
        assert 'href="mailto:help@shop.example"' in mail.message
        assert "mailto" not in result(run, site.url("/gone.html")).message


def test_file_links_are_errors_with_advice() -> None:
    html = '<a href="file:///C:/Users/me/site/price-list.pdf">prices</a>'
    with TestServer({"/": page(html)}) as site:
        run = crawl(site.url("/"))
    link = result(run, "file:///C:/Users/me/site/price-list.pdf")
    assert (link.verdict, link.error) == (Verdict.ERROR, ErrorKind.UNSUPPORTED_SCHEME)
    assert "only on the author's machine" in link.message
