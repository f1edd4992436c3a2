"""Content quality beyond "does it resolve", each check with its negative case."""

from __future__ import annotations

import gzip
import ssl
from pathlib import Path

import pytest
import trustme

from linkcheck.digest import Digester, DigestSettings
from linkcheck.extract import parse_page
from linkcheck.models import ErrorKind, Finding, RunResult, Verdict
from linkcheck.quality import (
    check_mailto,
    check_tel,
    looks_not_found,
    page_link_text_findings,
    redirect_dead_end,
)
from linkcheck.urls import CachedResolver
from tests.conftest import crawl, result
from tests.server import Reply, Seen, TestServer, page, redirect


def findings(run: RunResult, kind: str) -> list[str]:
    return [f"{f.page}|{f.href}|{f.message}" for f in run.findings if f.kind == kind]


# --- soft 404s -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "heading", "soft"),
    [
        ("Page not found | Shop", "", True),
        ("Shop", "404", True),
        ("Guide page 404", "", False),  # a page numbered 404 is not a 404 page
        ("Guide page 404", "Guide page 404: scheme guide verdict port", False),
        ("Guide page 404 - Shop", "", False),
        ("404 | Shop", "", True),
        ("Shop \u2013 404", "", True),
        ("HTTP 404", "", True),
        ("404 Not Found", "", True),
        ("Error 404 - Shop", "", True),
        ("ページが見つかりません", "", True),
        ("Seite nicht gefunden", "", True),
        ("Error messages | Guide", "What “Item not found” means", False),  # a help topic
        ("Shipping by DHL", "Shipping by DHL", False),
    ],
)
def test_not_found_titles(title: str, heading: str, soft: bool) -> None:
    assert bool(looks_not_found(title, heading)) is soft


@pytest.mark.parametrize(
    ("url", "final", "dead_end"),
    [
        ("https://a.example/help/page", "https://a.example/", True),
        ("https://a.example/help/page", "https://a.example/login?next=/help", True),
        ("https://a.example/", "https://a.example/", False),
        ("http://a.example/", "https://a.example/", False),  # the home page moving to https
        ("https://a.example/old", "https://a.example/new", False),
    ],
)
def test_redirect_dead_ends(url: str, final: str, dead_end: bool) -> None:
    assert bool(redirect_dead_end(url, final)) is dead_end


def test_soft_404_pages_are_broken_and_real_pages_are_not() -> None:
    routes = {
        "/g/": page(
            '<a href="gone.html">gone</a><a href="jp.html">jp</a><a href="help.html">help</a>'
            '<a href="/g/old-deep/page">deep</a>'
        ),
        "/g/gone.html": Reply(
            200, "<html><head><title>Page Not Found</title></head><body>Sorry</body></html>"
        ),
        "/g/jp.html": Reply(
            200, "<html><head><title>ページが見つかりません</title></head><body></body></html>"
        ),
        "/g/help.html": Reply(
            200,
            "<html><head><title>Error messages</title></head><body><h1>Error messages</h1>"
            "<p>If you see “Item not found”, the item was sold out.</p></body></html>",
        ),
        "/g/old-deep/page": redirect("/", 301),
        "/": page("home"),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/g/"))
    gone = result(run, site.url("/g/gone.html"))
    assert (gone.verdict, gone.status) == (Verdict.BROKEN, 200)
    assert gone.message.startswith("soft 404") and "Page Not Found" in gone.message
    assert result(run, site.url("/g/jp.html")).verdict is Verdict.BROKEN
    assert result(run, site.url("/g/help.html")).verdict is Verdict.OK
    deep = result(run, site.url("/g/old-deep/page"))
    assert deep.verdict is Verdict.BROKEN and "home page" in deep.message


def test_page_like_the_hosts_not_found_page_is_a_soft_404() -> None:
    shell = (  # the shop's own shell: its nav, and a line that says nothing of "not found"
        "<html><head><title>Akiba Hobby</title></head><body>"
        '<nav><a href="/shop/">Shop</a> <a href="/shop/about.html">About us</a></nav>'
        "<p>We could not show this item. Try the search box above or browse the categories.</p>"
        "</body></html>"
    )

    def catch_all(seen: Seen) -> Reply:
        return Reply(200, shell)

    routes = {
        "/shop/": page(
            '<a href="item-1.html">1</a><a href="item-2.html">2</a><a href="about.html">about</a>'
        ),
        "/shop/item-1.html": Reply(
            200,
            "<html><head><title>Figure 1</title></head><body><p>A fine figure.</p></body></html>",
        ),
        "/shop/about.html": Reply(
            200, "<html><head><title>About</title></head><body><p>About us.</p></body></html>"
        ),
    }
    with TestServer(routes) as site:
        original = site.routes.get
        site.routes = _CatchAll(routes, catch_all)  # any other path: the same "not found" shell
        run = crawl(site.url("/shop/"))
        assert original is not None
    assert result(run, site.url("/shop/item-2.html")).verdict is Verdict.BROKEN
    assert "does not exist" in result(run, site.url("/shop/item-2.html")).message
    assert result(run, site.url("/shop/item-1.html")).verdict is Verdict.OK
    assert sum(1 for r in site.requests if "linkcheck-probe" in r.path) == 1  # probed once


class _CatchAll(dict):  # type: ignore[type-arg]
    """A route table where every unknown path gets the same handler."""

    def __init__(self, routes: dict[str, Reply], fallback: object) -> None:
        super().__init__(routes)
        self.fallback = fallback

    def get(self, key: str, default: object = None) -> object:
        return super().get(key) or self.fallback


def test_single_page_app_is_not_all_soft_404() -> None:
    shell = "<html><head><title>App</title></head><body><div id=app>Loading the application, please wait.</div></body></html>"
    links = "".join(f'<a href="/app/r{n}">r{n}</a>' for n in range(6))
    with TestServer({}) as site:
        site.routes = _CatchAll({"/app/": page(links)}, lambda seen: Reply(200, shell))
        run = crawl(site.url("/app/"))
    assert all(result(run, site.url(f"/app/r{n}")).verdict is Verdict.OK for n in range(6))
    assert any("single-page app" in note for note in run.notes)


def test_soft_404_can_be_turned_off_per_host() -> None:
    routes = {
        "/": page('<a href="/x">x</a>'),
        "/x": Reply(200, "<html><head><title>Not Found</title></head></html>"),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/"), hosts={f"127.0.0.1:{site.port}": {"soft_404": False}})
    assert result(run, site.url("/x")).verdict is Verdict.OK


# --- https -------------------------------------------------------------------------------


def test_insecure_links_and_mixed_content_on_https_pages(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with (
        TestServer(
            {"/doc": Reply(200, "ok"), "/pic.png": Reply(200, b"png", content_type="image/png")}
        ) as plain,
        TestServer({"/doc": Reply(200, "secure ok")}, tls=context) as secure_twin,
    ):
        html = (
            f'<a href="http://localhost:{plain.port}/doc">Doc</a>'
            f'<img src="http://localhost:{plain.port}/pic.png" alt="pic">'
        )
        with TestServer({"/": page(html)}, tls=context) as site:
            run = crawl(
                site.url("/"),
                http={"ca_bundle": str(bundle), "allow_private": True},
                # the https:// form of the plain server's address is answered by its twin
                remap=[
                    {
                        "pattern": f"^https://localhost:{plain.port}/",
                        "replace": f"https://127.0.0.1:{secure_twin.port}/",
                    }
                ],
            )
    (insecure,) = findings(run, "insecure-link")
    assert f"use https://localhost:{plain.port}/doc instead" in insecure
    (mixed,) = [f for f in run.findings if f.kind == "mixed-content"]
    assert mixed.severity == "error" and mixed.href.endswith("/pic.png")


def test_http_pages_get_no_https_findings() -> None:
    with TestServer(
        {"/": page('<a href="http://localhost:1/x">x</a><img src="/a.png" alt="a">')}
    ) as site:
        run = crawl(site.url("/"), crawl={"check_external": False})
    assert not findings(run, "insecure-link") and not findings(run, "mixed-content")


# --- link text ---------------------------------------------------------------------------


def test_link_text_findings() -> None:
    html = (
        '<a href="/a"></a>'  # empty
        '<a href="/b"><img src="/b.png"></a>'  # image without alt
        '<a href="/c"><img src="/c.png" alt="Our catalogue"></a>'  # fine
        '<a href="/d">Click here</a><a href="/e">こちら</a><a href="/f">read more…</a>'
        '<a href="/g">Shipping</a><a href="/h">Shipping</a>'  # one text, two targets
        '<a href="/i">Returns</a><a href="/i">Returns</a>'  # one text, one target: fine
    )
    with TestServer({"/": page(html)}) as site:
        run = crawl(site.url("/"), crawl={"check_external": False})
    assert len(findings(run, "empty-link-text")) == 1
    assert len(findings(run, "image-without-alt")) == 1
    generic = findings(run, "generic-link-text")
    assert {g.split("|")[1] for g in generic} == {"/d", "/e"}
    (same,) = findings(run, "same-text-different-targets")
    assert "“Shipping” links to 2 different addresses" in same
    (finding,) = [f for f in run.findings if f.kind == "same-text-different-targets"]
    assert finding.targets == (site.url("/g"), site.url("/h"))  # sorted, as linked
    assert finding.message == (
        f"“Shipping” links to 2 different addresses on this page ({site.url('/g')}, "
        f"{site.url('/h')}); readers expect the same text to lead to the same place."
    )
    assert Finding.from_dict(finding.to_dict()) == finding  # the JSON report's round trip
    assert all(f.severity == "warning" for f in run.findings)


@pytest.mark.parametrize(
    "links",
    [
        '<a href="/a"></a>',
        '<a href="/b"><img src="/b.png"></a>',
        '<a href="/d">Click here!</a>',
        '<a href="/g">Shipping</a><a href="g">shipping</a>',  # relative: the same? no: /g, /x/g
        '<a href="/g">Shipping</a><a href="/h">SHIPPING</a>',
        '<a href="/i">Returns</a><a href="/i#top">Returns</a>',  # one target: nothing to say
        '<a href="javascript:void(0)"></a><a href="/j">Fine</a>',  # javascript: not checked
        '<a href="/k">Fine</a><a href="/l">Also fine</a>',
    ],
)
def test_digested_link_text_findings_are_the_full_checks(links: str) -> None:
    """The digester tells from each way of writing a link whether a page can have a link
    text finding at all, and runs the full check only then: what it reports must be what
    the full check reports, with each problem alone on a page and on clean pages."""
    generic = frozenset({"click here"})
    settings = DigestSettings(
        max_links_per_page=100, max_url_length=2048, link_text=True, generic_texts=generic
    )
    digester = Digester(settings)
    for page_url in ("https://shop.example/x/one.html", "https://shop.example/x/two.html"):
        html = f"<title>t</title><p>{links}</p><a href='/z'>Contact</a>"
        resolve = CachedResolver().for_page(page_url)
        expected = page_link_text_findings(
            page_url,
            [
                (raw, resolve(raw.href).url or raw.href.strip())
                for raw in parse_page(html).links
                if raw.tag == "a"
            ],
            generic,
        )
        assert digester.digest(page_url, html.encode(), "utf-8").findings == expected
        assert bool(expected) == ("Fine" not in links and "Returns" not in links)


# --- mailto / tel --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("mailto:support@akiba-hobby.example", True),
        ("mailto:a@x.example,b@y.example?subject=Hi", True),
        ("mailto:?to=a@x.example", True),
        ("mailto:support", False),
        ("mailto:support@localhost", False),
        ("mailto:", False),
        ("mailto:two@@x.example", False),
    ],
)
def test_mailto_syntax(url: str, ok: bool) -> None:
    assert (check_mailto(url) == "") is ok


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("tel:+81-3-1234-5678", True),
        ("tel:+1 (555) 010-9999", True),
        # issue #19: a local number needs ;phone-context= (RFC 3966 §5.1.5)
        ("tel:03.1234.5678", False),
        ("tel:03.1234.5678;phone-context=+81", True),
        ("tel:call-us", False),
        ("tel:12", False),
        ("tel:", False),
    ],
)
def test_tel_syntax(url: str, ok: bool) -> None:
    assert (check_tel(url) == "") is ok


def test_malformed_mailto_is_an_error_and_valid_is_skipped() -> None:
    with TestServer(
        {"/": page('<a href="mailto:help">m</a><a href="mailto:help@shop.example">ok</a>')}
    ) as site:
        run = crawl(site.url("/"))
    bad = result(run, "mailto:help")
    assert (bad.verdict, bad.error) == (Verdict.ERROR, ErrorKind.INVALID_URL)
    assert result(run, "mailto:help@shop.example").verdict is Verdict.SKIPPED


# --- sitemaps ----------------------------------------------------------------------------


def urlset(*locs: str) -> str:
    entries = "\n".join(f"  <url><loc>{loc}</loc></url>" for loc in locs)
    return f'<?xml version="1.0"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}\n</urlset>\n'


def test_sitemap_seeds_orphans_and_broken_entries() -> None:
    with TestServer({}) as site:
        base = site.url("")
        site.routes.update(
            {
                "/g/": page('<a href="a.html">a</a>'),
                "/g/a.html": page(""),
                "/g/orphan.html": page('<a href="deeper.html">deeper</a>'),
                "/g/deeper.html": page(""),
                "/g/moved.html": redirect("/g/a.html"),
                "/sitemap.xml": Reply(
                    200,
                    urlset(
                        f"{base}/g/a.html",
                        f"{base}/g/orphan.html",
                        f"{base}/g/missing.html",
                        f"{base}/g/moved.html",
                    ),
                    content_type="application/xml",
                ),
            }
        )
        run = crawl(site.url("/g/"))
    assert site.url("/g/orphan.html") in {p.url for p in run.pages}
    assert site.url("/g/deeper.html") in run.links  # the orphan was crawled on from
    assert run.orphans == [
        site.url("/g/missing.html"),
        site.url("/g/moved.html"),
        site.url("/g/orphan.html"),
    ]
    missing = run.links[site.url("/g/missing.html")]
    assert missing.result is not None and missing.result.verdict is Verdict.BROKEN
    (entry,) = missing.occurrences
    assert (entry.page, entry.tag, entry.line) == (site.url("/sitemap.xml"), "sitemap", 5)
    assert result(run, site.url("/g/moved.html")).verdict is Verdict.REDIRECTED


def test_sitemap_index_gzip_and_robots_lines() -> None:
    with TestServer({}) as site:
        base = site.url("")
        part = gzip.compress(urlset(f"{base}/g/from-gzip.html").encode())
        index = (
            f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/maps/part.xml.gz</loc></sitemap></sitemapindex>"
        )
        site.routes.update(
            {
                "/robots.txt": Reply(
                    200, f"Sitemap: {base}/maps/index.xml\n", content_type="text/plain"
                ),
                "/maps/index.xml": Reply(200, index, content_type="application/xml"),
                "/maps/part.xml.gz": Reply(200, part, content_type="application/gzip"),
                "/g/": page(""),
                "/g/from-gzip.html": page(""),
            }
        )
        run = crawl(site.url("/g/"))
    assert result(run, site.url("/g/from-gzip.html")).verdict is Verdict.OK


def test_bad_sitemaps_are_noted_not_fatal() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        "<urlset><url><loc>&b;</loc></url></urlset>"
    )
    routes = {
        "/g/": page('<a href="a.html">a</a>'),
        "/g/a.html": page(""),
        "/sitemap.xml": Reply(200, bomb, content_type="application/xml"),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/g/"), checks={"sitemap_urls": [site.url("/nope.xml")]})
    assert any("not valid sitemap XML" in note for note in run.notes)
    assert any("nope.xml could not be read" in note for note in run.notes)
    assert result(run, site.url("/g/a.html")).verdict is Verdict.OK


# --- duplicates, external fragments ---------------------------------------------------


def test_inconsistent_forms_of_one_destination() -> None:
    with TestServer({"/x/": page(""), "/x": page("")}) as ext:
        html = (
            f'<a href="http://localhost:{ext.port}/x/">1</a>'
            f'<a href="http://LOCALHOST:{ext.port}/x/">2</a>'
            f'<a href="http://localhost:{ext.port}/x">3</a>'
        )
        with TestServer({"/": page(html)}) as site:
            run = crawl(site.url("/"), http={"allow_private": True})
    (tidy,) = findings(run, "inconsistent-link")
    assert "linked in 2 forms" in tidy


def test_one_url_written_in_two_http_forms() -> None:
    """One link (the forms resolve to the same URL), two ways of writing it in full: a
    finding. Written once in full and otherwise relative, or with #fragments: none."""
    with TestServer({"/y": page(""), "/z": page("")}) as site:
        html = (
            f'<a href="http://localhost:{site.port}/y">1</a>'
            f'<a href=" http://LOCALHOST:{site.port}/y">2</a>'
            f'<a href="http://localhost:{site.port}/z#a">3</a>'
            f'<a href="http://localhost:{site.port}/z#b">4</a>'
            '<a href="/z">5</a>'
        )
        site.routes["/"] = page(html)
        run = crawl(site.url("/"), http={"allow_private": True})
    (tidy,) = findings(run, "inconsistent-link")
    assert "linked in 2 forms" in tidy and "LOCALHOST" in tidy and "/z" not in tidy


def test_external_fragments_are_opt_in() -> None:
    with TestServer({"/doc": page('<h2 id="real">Real</h2>')}) as ext:
        html = (
            f'<a href="http://localhost:{ext.port}/doc#real">ok</a>'
            f'<a href="http://localhost:{ext.port}/doc#missing">bad</a>'
        )
        with TestServer({"/": page(html)}) as site:
            default = crawl(site.url("/"), http={"allow_private": True})
            assert ext.methods("/doc") == ["GET"]  # a check's GET (#20), not a page's fetch
            opted = crawl(
                site.url("/"), http={"allow_private": True}, checks={"external_fragments": True}
            )
    assert f"http://localhost:{ext.port}/doc#missing" not in default.links
    bad = opted.links[f"http://localhost:{ext.port}/doc#missing"]
    assert bad.result is not None and bad.result.verdict is Verdict.BROKEN
