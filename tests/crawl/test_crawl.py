"""Crawling: scope, de-duplication, limits, resolution and decoding, against loopback sites."""

from __future__ import annotations

from linkcheck.models import Verdict
from tests.conftest import crawl, gallery_chain, late_redirect_site, result
from tests.server import Reply, TestServer, page, redirect

NAV_PAGES = 50


def nav_site(external_url: str) -> dict[str, Reply]:
    """A guide of 50 pages that all carry the same nav (to every page) and one external link."""
    nav = "".join(f'<li><a href="p{n}.html">Topic {n}</a></li>' for n in range(NAV_PAGES))
    body = f'<nav><ul>{nav}</ul></nav><a href="{external_url}">Carrier</a><a href="/guide/gone.html">Gone</a>'
    routes = {f"/guide/p{n}.html": page(body) for n in range(NAV_PAGES)}
    routes["/guide/"] = page(body)
    return routes


def test_each_unique_url_is_requested_once() -> None:
    with TestServer({"/carrier": Reply(200, "ok")}) as ext:
        with TestServer(nav_site(ext.url("/carrier"))) as site:
            run = crawl(site.url("/guide/"))
            assert len(run.pages) == NAV_PAGES + 1
            for n in range(NAV_PAGES):
                assert site.count(f"/guide/p{n}.html") == 1
            assert site.count("/guide/gone.html") == 1
        assert ext.count("/carrier") == 1
    carrier = run.links[ext.url("/carrier")]
    assert len(carrier.occurrences) == NAV_PAGES + 1  # recorded everywhere, requested once
    gone = result(run, site.url("/guide/gone.html"))
    assert gone.verdict is Verdict.BROKEN
    assert (
        len({o.page for o in run.links[site.url("/guide/gone.html")].occurrences}) == NAV_PAGES + 1
    )


def test_scope_is_the_start_urls_folder() -> None:
    routes = {
        "/guide/": page('<a href="a.html">in</a><a href="/blog/post.html">out</a>'),
        "/guide/a.html": page('<a href="deeper/b.html">deeper</a>'),
        "/guide/deeper/b.html": page("<p>end</p>"),
        "/blog/post.html": page('<a href="/blog/never-fetched.html">x</a>'),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"))
        assert {p.url for p in run.pages} == {
            site.url("/guide/"),
            site.url("/guide/a.html"),
            site.url("/guide/deeper/b.html"),
        }
        assert result(run, site.url("/blog/post.html")).verdict is Verdict.OK  # checked...
        assert site.methods("/blog/post.html") == ["HEAD"]  # ...but not fetched for parsing
        assert site.count("/blog/never-fetched.html") == 0
        assert run.links[site.url("/guide/a.html")].internal
        assert not run.links[site.url("/blog/post.html")].internal


def test_include_widens_and_exclude_removes() -> None:
    routes = {
        "/guide/": page('<a href="/blog/post.html">blog</a><a href="/guide/private/x.html">p</a>'),
        "/blog/post.html": page('<a href="/blog/other.html">other</a>'),
        "/blog/other.html": page(""),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/guide/"), crawl={"include": ["/blog/"], "exclude": ["/private/"]})
        assert site.url("/blog/post.html") in {p.url for p in run.pages}
        excluded = result(run, site.url("/guide/private/x.html"))
        assert excluded.verdict is Verdict.EXCLUDED
        assert "/private/" in excluded.message
        assert site.count("/guide/private/x.html") == 0


def test_no_external_checks_nothing_outside() -> None:
    with TestServer({"/x": Reply(200)}) as ext:
        with TestServer({"/": page(f'<a href="{ext.url("/x")}">x</a>')}) as site:
            run = crawl(site.url("/"), crawl={"check_external": False})
        assert ext.count("/x") == 0
    assert result(run, ext.url("/x")).verdict is Verdict.EXCLUDED


def test_max_pages_and_max_depth_stop_the_crawl_and_say_so() -> None:
    chain = {f"/c/{n}.html": page(f'<a href="{n + 1}.html">next</a>') for n in range(20)}
    with TestServer(chain) as site:
        by_depth = crawl(site.url("/c/0.html"), crawl={"max_depth": 3})
        assert len(by_depth.pages) == 4  # depths 0..3 crawled
        assert result(by_depth, site.url("/c/4.html")).verdict is Verdict.OK  # checked, not parsed
        assert site.url("/c/5.html") not in by_depth.links
        assert any("max depth (3)" in note for note in by_depth.limits_hit)
        assert not by_depth.complete

    with TestServer(nav_site("http://127.0.0.1:1/")) as site:
        by_pages = crawl(site.url("/guide/"), crawl={"max_pages": 10, "check_external": False})
        assert len(by_pages.pages) == 10
        assert any("max pages (10)" in note for note in by_pages.limits_hit)


def test_max_pages_counts_pages_not_the_images_found_before_them() -> None:
    """max_pages counts pages crawled, not the in-scope URLs found: an image is known to be
    no page only once it answers. Counted as found, the first page's eight images used up a
    limit of 4 and no other page was crawled."""
    with TestServer(gallery_chain(pages=6, images=8)) as site:
        run = crawl(site.url("/g/c0.html"), crawl={"max_pages": 4, "check_external": False})
    assert sorted(page.url for page in run.pages) == [site.url(f"/g/c{n}.html") for n in range(4)]
    assert result(run, site.url("/g/c4.html")).verdict is Verdict.OK  # checked, not crawled
    assert site.url("/g/c5.html") not in run.links
    assert all(result(run, site.url(f"/g/img/{n}-7.png")).verdict is Verdict.OK for n in range(4))
    # c4 and the 8 images of c3, found past the limit: each link of the site is counted
    assert any("max pages (4): 9 more of the site's links" in note for note in run.limits_hit)


def test_relative_links_and_base_href() -> None:
    routes = {
        "/docs/guide/start.html": page(
            '<a href="../intro.html">up</a><a href="./same.html">same</a>'
            '<a href="/root.html">root</a><a href="?q=1">query</a><a href="#frag">frag</a>'
        ),
        "/docs/based.html": Reply(
            200,
            '<html><head><base href="/assets/v2/"></head><body><a href="logo.png">logo</a>'
            '<a href="../v1/old.png">old</a></body></html>',
        ),
    }
    with TestServer(routes) as site:
        run = crawl(
            site.url("/docs/guide/start.html"), crawl={"allowed_prefixes": [site.url("/docs/")]}
        )
        crawl(site.url("/docs/based.html"))
        paths = [r.path for r in site.requests]
    for url in (
        "/docs/intro.html",
        "/docs/guide/same.html",
        "/root.html",
        "/docs/guide/start.html?q=1",
    ):
        assert site.url(url) in run.links
    frag = run.links[site.url("/docs/guide/start.html")]
    assert [o.fragment for o in frag.occurrences] == ["frag"]
    assert "/assets/v2/logo.png" in paths
    assert "/assets/v1/old.png" in paths
    assert "/docs/logo.png" not in paths


def test_redirect_inside_scope_is_parsed_as_its_target_once() -> None:
    routes = {
        "/g/": page('<a href="old.html">old</a><a href="new.html">new</a>'),
        "/g/old.html": redirect("/g/moved.html"),
        "/g/moved.html": page('<a href="child.html">child</a>'),
        "/g/child.html": page(""),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/g/"))
        old = result(run, site.url("/g/old.html"))
        assert old.verdict is Verdict.REDIRECTED
        assert old.final_url == site.url("/g/moved.html")
        assert site.url("/g/child.html") in run.links
        assert site.count("/g/moved.html") == 1


def test_shift_jis_pages_give_readable_japanese_text() -> None:
    text = "ページが見つかりません"
    by_header = f'<html><body><a href="/a">{text}</a></body></html>'.encode("cp932")
    by_meta = f'<html><head><meta charset="Shift_JIS"></head><body><a href="/b">{text}</a></body></html>'.encode(
        "cp932"
    )
    routes = {
        "/": page('<a href="/h.html">h</a><a href="/m.html">m</a>'),
        "/h.html": Reply(200, by_header, content_type="text/html; charset=Shift_JIS"),
        "/m.html": Reply(200, by_meta, content_type="text/html"),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    assert run.links[site.url("/a")].occurrences[0].text == text
    assert run.links[site.url("/b")].occurrences[0].text == text


def test_occurrences_keep_href_text_tag_and_line() -> None:
    html = '<html>\n<body>\n<p>See <a href="Target.html#Part">the  target\n page</a></p>\n<img src="pic.png" alt="A picture">\n</body></html>'
    with TestServer(
        {
            "/x/": Reply(200, html),
            "/x/Target.html": page(""),
            "/x/pic.png": Reply(200, b"png", content_type="image/png"),
        }
    ) as site:
        run = crawl(site.url("/x/"))
    (link,) = run.links[site.url("/x/Target.html")].occurrences
    assert (link.href, link.text, link.tag, link.attr, link.line, link.fragment) == (
        "Target.html#Part",
        "the target page",
        "a",
        "href",
        3,
        "Part",
    )
    (image,) = run.links[site.url("/x/pic.png")].occurrences
    assert (image.text, image.tag, image.attr, image.line) == ("A picture", "img", "src", 5)


def test_non_html_pages_in_scope_are_checked_not_parsed() -> None:
    routes = {
        "/d/": page('<a href="file.pdf">pdf</a>'),
        "/d/file.pdf": Reply(
            200, b"%PDF-1.7 <a href='/d/hidden.html'>", content_type="application/pdf"
        ),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/d/"))
    assert result(run, site.url("/d/file.pdf")).verdict is Verdict.OK
    assert site.url("/d/hidden.html") not in run.links


def test_oversized_page_is_cut_at_the_cap_and_reported() -> None:
    filler = "<p>" + "x" * 4000 + "</p>"
    body = (
        '<html><body><a href="/early">e</a>' + filler * 10 + '<a href="/late">l</a></body></html>'
    )
    with TestServer({"/": Reply(200, body), "/early": page("")}) as site:
        run = crawl(site.url("/"), http={"max_body_bytes": 8192})
    assert site.url("/early") in run.links
    assert site.url("/late") not in run.links
    assert any("only the start of each was read" in note for note in run.limits_hit)


def test_meta_refresh_and_srcset_are_followed() -> None:
    html = (
        '<html><head><meta http-equiv="refresh" content="0; url=/next.html"></head>'
        '<body><img srcset="/a.png 1x, /b.png 2x" alt="pic"></body></html>'
    )
    with TestServer({"/": Reply(200, html)}) as site:
        run = crawl(site.url("/"))
    for path in ("/next.html", "/a.png", "/b.png"):
        assert result(run, site.url(path)).verdict is Verdict.BROKEN


def test_fragments_are_checked_against_the_crawled_page_once() -> None:
    target = '<h2 id="shipping">Shipping</h2><a name="old-style">old</a><a href="/g/">home</a>'
    routes = {
        "/g/": page(
            '<a href="t.html#shipping">ok</a><a href="t.html#old-style">name=</a>'
            '<a href="t.html#nowhere">bad</a><a href="t.html#nowhere">bad again</a>'
            '<a href="t.html#top">top</a><a href="t.html#!/app/route">app</a>'
        ),
        "/g/t.html": page(target),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/g/"))
        assert site.count("/g/t.html") == 1  # fetched and parsed once for all its fragments
    bad = run.links[site.url("/g/t.html") + "#nowhere"]
    assert bad.result is not None and bad.result.verdict is Verdict.BROKEN
    assert [o.text for o in bad.occurrences] == ["bad", "bad again"]
    fine = run.links[site.url("/g/t.html")]
    assert {o.fragment for o in fine.occurrences} == {"shipping", "old-style", "top", "!/app/route"}
    assert result(run, site.url("/g/t.html")).verdict is Verdict.OK


def test_a_shorter_depth_found_through_a_late_redirect_is_passed_on() -> None:
    """The target of a redirect that answers late keeps the redirect's depth, the shortest
    (Crawler._claim_redirect_target), and runs with it one level after it was queued; a page
    it links that was found first one level deeper gets the shorter depth (Crawler._shorten).
    See late_redirect_site."""
    routes, expected = late_redirect_site()
    with TestServer(routes) as site:
        run = crawl(site.url("/d/"))
    depths = {page.url: page.depth for page in run.pages}
    assert depths == {site.url(path): depth for path, depth in expected.items()}
