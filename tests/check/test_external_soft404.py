"""Soft 404s on other sites, judged from the first slice of a checked link's body (#20 item 3).

Table tests for the pure decisions (the phrases in each language, what is merely suspicious,
what matches a host's own not-found page), then real loopback servers: a page that says
"not found" with 200 in Japanese, a normal page that mentions "not found" in its text, a
page that is its host's catch-all not-found page, and the evidence in the HTML report.
"""

# Titles are written as the sites write them, full-width punctuation and dashes included.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from linkcheck.extract import ParsedPage
from linkcheck.models import RunResult, Verdict
from linkcheck.quality import NOT_FOUND_PHRASES, looks_not_found, mentions_not_found
from linkcheck.report import renderer
from linkcheck.soft404 import (
    SUSPICIOUS_WORDS,
    looks_suspicious,
    same_as_not_found_page,
    says_not_found,
)
from tests.conftest import crawl, make_config, result
from tests.server import Reply, Route, Seen, TestServer, page, redirect


def parsed(title: str = "", heading: str = "", text: str = "") -> ParsedPage:
    return ParsedPage(title=title, base_href=None, links=[], heading=heading, text=text)


# --- the phrases, one language per row ---------------------------------------------------


@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("English", "Page Not Found | Carrier"),
        ("English", "Sorry, this page can't be found"),
        ("English", "The page you requested does not exist"),
        ("404", "404 Not Found"),
        ("404", "404"),
        ("404", "404 | FedEx"),
        ("404", "Error 404 - Shop"),
        ("Japanese", "ページが見つかりません"),
        ("Japanese", "お探しのページは見つかりませんでした"),
        ("Japanese", "404 Not Found｜日本郵便"),
        ("Japanese", "404エラー｜ヤマト運輸"),
        ("Japanese", "エラー404：指定されたページは存在しません"),
        ("Chinese", "页面未找到"),
        ("Chinese", "抱歉，找不到您要的页面"),
        ("Chinese", "頁面不存在"),
        ("Korean", "페이지를 찾을 수 없습니다"),
        ("German", "Seite nicht gefunden"),
        ("German", "Fehler 404 – DHL"),
        ("French", "Page introuvable"),
        ("French", "Cette page n’existe pas"),
        ("Spanish", "Página no encontrada"),
        ("Spanish", "La página que buscas no existe"),
    ],
)
def test_not_found_titles_in_each_language(language: str, title: str) -> None:
    assert looks_not_found(title, "") == title, language
    assert looks_not_found("Shop", title) == title, language  # the main heading counts too
    assert language == "404" or language in {name for name, _ in NOT_FOUND_PHRASES}


@pytest.mark.parametrize(
    "title",
    [
        "Peugeot 404 parts | Classic Cars",  # a product named 404
        "404 Camera Review",
        "Levi's 404 Jeans - Shop",
        "Guide page 404 - Shop",  # page number 404 of a guide
        "Route 404: tracking a parcel",
        "DHL Express – Tracking",
        "お問い合わせ｜TENSO",
        "配送料金のご案内",
        "Error messages | Help",  # a help topic about errors: suspicious, not a verdict
        "What “Item not found” means",  # talked about, not said
        "",
    ],
)
def test_real_titles_are_not_soft_404s(title: str) -> None:
    assert looks_not_found(title, "") == ""
    assert says_not_found(parsed(title)) == ""


def test_the_evidence_is_the_title() -> None:
    assert says_not_found(parsed("ページが見つかりません｜TENSO")) == (
        "the page says “ページが見つかりません｜TENSO”"
    )


@pytest.mark.parametrize(
    ("title", "heading", "text", "suspicious"),
    [
        ("Error | Shop", "", "", True),
        ("Oops!", "", "", True),
        ("Peugeot 404 parts", "", "", True),  # probed and compared, not judged by its title
        ("Shop", "エラーが発生しました", "", True),
        ("申し訳ございません", "", "", True),
        ("Fehler", "", "", True),
        ("Erreur", "", "", True),
        ("Lo sentimos", "", "", True),
        ("错误", "", "", True),
        ("오류", "", "", True),
        ("Shop", "", "Sorry, the page you asked for could not be found.", True),
        ("Shop", "", "ご指定のページが見つかりませんでした。", True),
        ("Shop", "", "Track your parcel. Rates and transit times.", False),
        ("Tracking | DHL", "Track your shipment", "Enter a tracking number.", False),
        ("", "", "", False),  # no title is common on real pages: not a reason to probe
        ("Help", "", "What “Item not found” means: the item sold out.", False),
    ],
)
def test_what_makes_a_page_worth_comparing(
    title: str, heading: str, text: str, suspicious: bool
) -> None:
    assert looks_suspicious(parsed(title, heading, text)) is suspicious


def test_every_suspicious_row_names_its_language() -> None:
    assert all(language and pattern for language, pattern in SUSPICIOUS_WORDS)
    assert all(language and phrases for language, phrases in NOT_FOUND_PHRASES)


def test_matching_the_hosts_not_found_page() -> None:
    shell = "ACME Shop Home Track Rates Help " * 5 + "We could not find that."
    probe = parsed("ACME Shop", text=shell)
    assert same_as_not_found_page(parsed("ACME Shop", text=shell), probe)
    # the same navigation, another page: the title tells them apart
    assert not same_as_not_found_page(parsed("Rates | ACME Shop", text=shell), probe)
    assert not same_as_not_found_page(parsed("ACME Shop", text="Rates for 2026 " * 40), probe)


def test_mentions_not_found_in_text() -> None:
    assert mentions_not_found("Sorry — the page was not found on this server.")
    assert mentions_not_found("お探しのページは見つかりませんでした")
    assert not mentions_not_found("Track your parcel anywhere in the world.")


# --- over real sockets -------------------------------------------------------------------

NOT_FOUND_JA = (
    '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
    "<title>ページが見つかりません｜TENSO</title></head><body>"
    "<h1>お探しのページは見つかりませんでした</h1><p>トップページへ</p></body></html>"
)
REAL_PAGE = (
    "<!DOCTYPE html><html><head><title>Error messages | Help</title></head><body>"
    "<h1>Error messages</h1><p>If a tracking number is not found, check its digits.</p>"
    "<p>“Page not found” means the address is wrong.</p></body></html>"
)


def run_with(
    routes: dict[str, Route], paths: list[str], **sections: dict[str, object]
) -> tuple[RunResult, TestServer]:
    """Crawl a one-page site that links to ``paths`` on an external server with ``routes``."""
    ext = TestServer(routes)
    with ext:
        html = "".join(f'<a href="{ext.url(path)}">{path}</a>' for path in paths)
        with TestServer({"/": page(html)}) as site:
            run = crawl(site.url("/"), **sections)
    return run, ext


def test_a_japanese_not_found_page_that_answers_200_is_broken() -> None:
    run, ext = run_with({"/en/faq/insurance": Reply(200, NOT_FOUND_JA)}, ["/en/faq/insurance"])
    found = result(run, ext.url("/en/faq/insurance"))
    assert (found.verdict, found.status) == (Verdict.BROKEN, 200)
    assert found.message == "soft 404: the page says “ページが見つかりません｜TENSO”"
    assert ext.methods("/en/faq/insurance") == ["GET"]
    html = "".join(renderer("html")(run, None))
    assert "ページが見つかりません｜TENSO" in html  # the evidence, where editors read it


def test_a_page_that_mentions_not_found_in_its_text_is_fine() -> None:
    run, ext = run_with({"/help/errors": Reply(200, REAL_PAGE)}, ["/help/errors"])
    assert result(run, ext.url("/help/errors")).verdict is Verdict.OK
    # suspicious (an error word, "not found" in its text): its host was probed, once, and
    # answers a made-up address with a real 404, so the page is not its not-found page
    probes = [r.path for r in ext.requests if "linkcheck-probe" in r.path]
    assert len(probes) == 1 and probes[0].startswith("/help/")


def test_a_product_named_404_is_fine() -> None:
    body = "<html><head><title>Peugeot 404 parts | Classic</title></head><body>Parts</body>"
    run, ext = run_with({"/cars/404": Reply(200, body)}, ["/cars/404"])
    assert result(run, ext.url("/cars/404")).verdict is Verdict.OK


def test_an_ordinary_page_costs_no_probe() -> None:
    body = "<html><head><title>Rates | Carrier</title></head><body>Rates</body></html>"
    run, ext = run_with({"/rates": Reply(200, body)}, ["/rates"])
    assert result(run, ext.url("/rates")).verdict is Verdict.OK
    assert [r.path for r in ext.requests] == ["/rates"]


class CatchAll(dict[str, Route]):
    """Routes of a shop that answers every unknown address with its home page shell, 200."""

    def get(self, key: str, default: Route | None = None) -> Route | None:  # type: ignore[override]
        return super().get(key, SHELL)


SHELL = Reply(
    200,
    "<html><head><title>ACME Shop</title></head><body>Home Track Rates Help. "
    "Sorry, the page you asked for could not be found. Try the search.</body></html>",
)


def test_a_page_that_is_its_hosts_not_found_page_is_broken() -> None:
    real = "<html><head><title>Rates | ACME Shop</title></head><body>Home Rates</body></html>"
    ext = TestServer()
    ext.routes = CatchAll({"/rates": Reply(200, real)})
    with ext:
        html = f'<a href="{ext.url("/old/product")}">old</a><a href="{ext.url("/rates")}">r</a>'
        with TestServer({"/": page(html)}) as site:
            run = crawl(site.url("/"))
    gone = result(run, ext.url("/old/product"))
    assert (gone.verdict, gone.status) == (Verdict.BROKEN, 200)
    assert gone.message == (
        "soft 404: the page is the same as what this site shows for an address that does "
        "not exist (its title: “ACME Shop”)"
    )
    assert result(run, ext.url("/rates")).verdict is Verdict.OK
    assert sum("linkcheck-probe" in r.path for r in ext.requests) == 1


def test_a_redirect_to_a_not_found_page_is_broken() -> None:
    routes: dict[str, Route] = {
        "/track/old": redirect("/error/notfound", 302),
        "/error/notfound": Reply(200, "<html><head><title>Page not found</title></head></html>"),
    }
    run, ext = run_with(routes, ["/track/old"])
    found = result(run, ext.url("/track/old"))
    assert found.verdict is Verdict.BROKEN
    assert found.final_url == ext.url("/error/notfound")  # where it landed, for the editor
    assert found.message == "soft 404: the page says “Page not found”"


def test_soft_404_can_be_turned_off_for_all_or_for_one_host() -> None:
    routes: dict[str, Route] = {"/gone": Reply(200, NOT_FOUND_JA)}
    off, ext = run_with(routes, ["/gone"], checks={"soft_404": False})
    assert result(off, ext.url("/gone")).verdict is Verdict.OK
    ext = TestServer(routes)
    with ext, TestServer({"/": page(f'<a href="{ext.url("/gone")}">g</a>')}) as site:
        one = crawl(site.url("/"), hosts={f"127.0.0.1:{ext.port}": {"soft_404": False}})
    assert result(one, ext.url("/gone")).verdict is Verdict.OK


def test_a_head_only_host_is_not_judged() -> None:
    """HEAD has no body to judge: the cost of asking a host for HEAD (its profile's choice)."""

    def lying(seen: Seen) -> Reply:
        return Reply(200, "" if seen.method == "HEAD" else NOT_FOUND_JA)

    ext = TestServer({"/gone": lying})
    with ext, TestServer({"/": page(f'<a href="{ext.url("/gone")}">g</a>')}) as site:
        run = crawl(site.url("/"), hosts={f"127.0.0.1:{ext.port}": {"method": "head"}})
    assert result(run, ext.url("/gone")).verdict is Verdict.OK


def test_a_shift_jis_not_found_page_is_read_in_its_own_charset() -> None:
    body = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
        "<title>ページが見つかりません</title></head><body>トップへ</body></html>"
    ).encode("shift_jis")
    run, ext = run_with({"/old": Reply(200, body, content_type="text/html")}, ["/old"])
    found = result(run, ext.url("/old"))
    assert found.verdict is Verdict.BROKEN
    assert found.message == "soft 404: the page says “ページが見つかりません”"


def test_a_distributed_run_judges_as_one_machine_does() -> None:
    """The workers check with the same Checker (wiring.make_checker): the lying HEAD and the
    page that says "not found" are broken there too."""
    pytest.importorskip("redis", reason="the redis client is not installed")
    from linkcheck.distributed import run_distributed
    from tests.distributed import harness as cluster

    if cluster.REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    redis_server = cluster.start_redis("--appendonly", "no")

    def lying(seen: Seen) -> Reply:
        return Reply(200, "") if seen.method == "HEAD" else Reply(404, "gone")

    try:
        with TestServer({"/gone": lying, "/faq": Reply(200, NOT_FOUND_JA)}) as ext:
            html = f'<a href="{ext.url("/gone")}">g</a><a href="{ext.url("/faq")}">f</a>'
            with TestServer({"/": page(html)}) as site:
                config = make_config(site.url("/"))
                run = run_distributed(
                    config,
                    redis_server.url,
                    run_id=cluster.fresh_run_id("soft404"),
                    lease=cluster.LEASE,
                )
    finally:
        redis_server.stop()
    gone, faq = result(run, ext.url("/gone")), result(run, ext.url("/faq"))
    assert (gone.verdict, gone.status) == (Verdict.BROKEN, 404)
    assert (faq.verdict, faq.message) == (
        Verdict.BROKEN,
        "soft 404: the page says “ページが見つかりません｜TENSO”",
    )
