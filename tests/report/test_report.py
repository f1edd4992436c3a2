"""Reports: the JSON contract, and an HTML report that stays inert whatever the pages contain."""

from __future__ import annotations

import json
import re
from pathlib import Path

from linkcheck.report import write_reports
from linkcheck.report.html_report import render_html
from linkcheck.report.json_report import SCHEMA_VERSION, to_document
from tests.conftest import crawl
from tests.server import Reply, TestServer, page, redirect

LINK_KEYS = {
    "url",
    "internal",
    "verdict",
    "status",
    "final_url",
    "redirect_kind",
    "redirects",
    "error",
    "message",
    "checked_url",
    "elapsed_seconds",
    "from_cache",
    "history",
    "occurrences",
}
OCCURRENCE_KEYS = {"page", "href", "text", "tag", "attr", "line", "fragment"}


def test_json_report_follows_the_documented_schema(tmp_path: Path) -> None:
    routes = {
        "/": page('<a href="/moved">Moved</a><a href="/gone">Gone</a><a href="mailto:x@y.z">m</a>'),
        "/moved": redirect("/new"),
        "/new": page(""),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    write_reports(run, ["json", "html"], tmp_path)
    document = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert document["schema_version"] == SCHEMA_VERSION
    assert set(document) == {
        "schema_version",
        "tool",
        "run",
        "counts",
        "findings",
        "links",
        "pages",
    }
    assert {
        "start_urls",
        "started_at",
        "finished_at",
        "duration_seconds",
        "complete",
        "interrupted",
        "limits_hit",
        "pages_crawled",
        "config",
    } <= set(document["run"])
    assert document["counts"]["total"] == len(document["links"]) == 5
    for link in document["links"]:
        assert set(link) == LINK_KEYS
        for occurrence in link["occurrences"]:
            assert set(occurrence) == OCCURRENCE_KEYS
    by_url = {link["url"]: link for link in document["links"]}
    moved = by_url[site.url("/moved")]
    assert moved["verdict"] == "redirected" and moved["redirect_kind"] == "permanent"
    assert moved["final_url"] == site.url("/new")
    assert moved["redirects"] == [{"url": site.url("/moved"), "status": 301}]
    gone = by_url[site.url("/gone")]
    assert (gone["verdict"], gone["status"], gone["error"]) == ("broken", 404, None)
    assert gone["occurrences"] == [
        {
            "page": site.url("/"),
            "href": "/gone",
            "text": "Gone",
            "tag": "a",
            "attr": "href",
            "line": 1,
            "fragment": None,
        }
    ]
    assert document["links"][0]["verdict"] == "broken"  # problems first
    assert to_document(run)["links"] == document["links"]  # deterministic
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_each_links_occurrences_are_listed_by_page_then_line_however_many() -> None:
    """A link on one page, on 16 and on 17 (a report joins a few occurrences in one step and
    more in columns: json_report._FEW): each lists every place it is written, by page URL
    then line, as the run's own Occurrence records say, fragments included."""
    pages = [f"/p{n:02d}" for n in range(17)]
    routes = {"/": page("".join(f'<a href="{p}">{p}</a>' for p in pages) + '<a href="/once">o</a>')}
    for n, path in enumerate(reversed(pages)):  # pages found in another order than their URLs
        body = f'<a href="/sixteen#s{n}">{n}</a>\n' if n < 16 else ""
        routes[path] = page(body + '\n<a href="/seventeen">17</a>' + "\n" * (n % 3))
    routes.update({"/once": page(""), "/sixteen": page(""), "/seventeen": page("")})
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    links = {link["url"]: link for link in to_document(run)["links"]}
    counts = {}
    for name in ("once", "sixteen", "seventeen"):
        url = site.url(f"/{name}")
        expected = [
            {**o._asdict(), "fragment": o.fragment or None}
            for o in sorted(run.links[url].occurrences, key=lambda o: (o.page, o.line))
        ]
        assert links[url]["occurrences"] == expected
        counts[name] = len(expected)
    assert counts == {"once": 1, "sixteen": 16, "seventeen": 17}


HOSTILE_TEXT = '<script>alert("text")</script>\u202eevil\u0007'


def test_hostile_pages_stay_inert_in_the_html_report() -> None:
    hostile = (
        '<a href="javascript:alert(1)">js</a>'
        '<a href="/x?q=&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;">'
        "&lt;script&gt;alert(&quot;text&quot;)&lt;/script&gt;\u202eevil\u0007</a>"
        '<a href="/gone" onclick="alert(3)"><img src="/gone.png" alt="&quot; onerror=&quot;alert(4)"></a>'
    )
    routes = {
        "/": Reply(
            200,
            f"<html><head><title>&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;</title></head><body>{hostile}</body></html>",
        )
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    html = "".join(render_html(run))
    # the report's own script is the only one, and only it may run (by hash)
    assert html.lower().count("<script") == 1
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    assert script is not None and "alert(" not in script.group(1)
    assert 'href="javascript:' not in html
    assert "onerror=" not in html.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    assert "\u202e" not in html and "\u0007" not in html
    assert "U+202E" in html  # shown, not obeyed
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None and "default-src 'none'" in csp.group(1)
    script_src = re.search(r"script-src ([^;]+)", csp.group(1))
    assert script_src is not None and script_src.group(1).startswith("'sha256-")
    assert "unsafe" not in script_src.group(1)
    # every clickable link in the report is http(s), or a jump within the report itself
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith(("http://", "https://")) or re.fullmatch(r"#[a-z-]+", href), href


def test_saved_json_loads_back_into_the_same_run(tmp_path: Path) -> None:
    from linkcheck.report.load import load_run

    routes = {
        "/": page('<a href="/moved">Moved</a><a href="/gone">Gone</a>'),
        "/moved": redirect("/new"),
        "/new": page(""),
    }
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    write_reports(run, ["json"], tmp_path)
    loaded = load_run(tmp_path / "report.json")
    assert to_document(loaded) == to_document(run)
    # to compare runs, only results are read: the same verdicts, no occurrences
    light = load_run(tmp_path / "report.json", occurrences=False)
    assert {url: link.result for url, link in light.links.items()} == {
        url: link.result for url, link in loaded.links.items()
    }
    assert all(len(link.occurrences) == 0 for link in light.links.values())
    assert any(len(link.occurrences) > 0 for link in loaded.links.values())


def test_loading_something_else_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from linkcheck.report.load import ReportError, load_run

    (tmp_path / "x.json").write_text('{"schema_version": 99}', encoding="utf-8")
    with pytest.raises(ReportError, match="schema_version 99"):
        load_run(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("not json", encoding="utf-8")
    with pytest.raises(ReportError, match="not a JSON report"):
        load_run(tmp_path / "y.json")
    (tmp_path / "z.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ReportError, match="not a linkcheck report"):
        load_run(tmp_path / "z.json")


def test_reading_results_only_cuts_occurrences_out_of_any_text(tmp_path: Path) -> None:
    """Without occurrences, a report is read by cutting each link's occurrences out of its
    line: texts with quotes, backslashes, newlines and the key's own spelling in them must
    not fool the cut, and a file laid out otherwise (re-indented) is read whole."""
    import orjson

    from linkcheck.report.load import load_run, run_from_document, without_occurrences

    tricky = [
        'say "hi"',
        "back\\slash\\",
        'cut ,"occurrences":[ here',
        "two\nlines",
        "ünïcødé ‮",
        '"}],\n  "pages": [',
    ]
    anchors = "".join(
        f'<a href="/p{n}?q={n}">{text.replace("<", "&lt;")}</a>' for n, text in enumerate(tricky)
    )
    routes = {"/": page(anchors + '<a href="/gone">Gone</a>')}
    routes.update({f"/p{n}": page("") for n in range(len(tricky))})
    with TestServer(routes) as site:
        run = crawl(site.url("/"))
    write_reports(run, ["json"], tmp_path)
    path = tmp_path / "report.json"
    data = path.read_bytes()
    assert len(without_occurrences(data)) < len(data)  # the cut was made
    whole = run_from_document(orjson.loads(data), occurrences=False)
    assert load_run(path, occurrences=False) == whole
    reindented = tmp_path / "reindented.json"
    reindented.write_text(json.dumps(json.loads(data), indent=4), encoding="utf-8")
    assert without_occurrences(reindented.read_bytes()) == reindented.read_bytes()
    assert load_run(reindented, occurrences=False) == whole


def test_a_report_with_no_links_reads_back(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from linkcheck.models import RunResult
    from linkcheck.report.load import load_run, without_occurrences

    now = datetime.now(UTC)
    write_reports(RunResult(["https://site.test/"], now, now, {}, []), ["json"], tmp_path)
    data = (tmp_path / "report.json").read_bytes()
    assert b'"links": [\n  ],' in data  # the layout this test is about
    assert without_occurrences(data) == data
    assert load_run(tmp_path / "report.json", occurrences=False).links == {}
