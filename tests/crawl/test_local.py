"""Checking a built site in a folder: same pipeline, files instead of a web server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from linkcheck.config import ConfigError, config_from_mapping
from linkcheck.hosts import HostLimiter, RequestRules
from linkcheck.http import Outcome, Response
from linkcheck.local import STAND_IN_BASE, LocalSite, LocalTransport, read_capped
from linkcheck.models import RunResult, Verdict
from linkcheck.runner import run_check
from tests.server import Reply, TestServer

REPO = Path(__file__).parents[2]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return root


def check_folder(root: Path, **local: Any) -> RunResult:
    sections: dict[str, Any] = {"local": {"root": str(root), **local}}
    sections["http"] = {"timeout": 2, "retries": 0, "recheck": False}
    sections.update(local.pop("extra", {}))
    sections["local"] = {"root": str(root), **local}
    return run_check(config_from_mapping(sections, source="test"))


def verdict(run: RunResult, key: str) -> Verdict:
    result = run.links[key].result
    assert result is not None, key
    return result.verdict


SITE = {
    "index.html": (
        "<html><head><title>Home</title></head><body>\n"
        '<a href="/about">About</a>\n'  # pretty URL -> about.html
        '<a href="/team">Team</a>\n'  # pretty URL -> team/index.html
        '<a href="docs/">Docs</a>\n'  # folder -> docs/index.html
        '<a href="docs/guide.html#install">Install</a>\n'
        '<a href="docs/guide.html#missing-section">Gone section</a>\n'
        '<a href="/missing.html">Missing</a>\n'
        "</body></html>"
    ),
    "about.html": '<html><body><a href="./">Home</a></body></html>',
    "team/index.html": '<html><body><a href="../about">About</a></body></html>',
    "docs/index.html": '<html><body><a href="guide.html">Guide</a></body></html>',
    "docs/guide.html": '<html><body><h2 id="install">Install</h2><a href="../index.html">Home</a></body></html>',
    "lost.html": '<html><body><a href="/about">About</a></body></html>',
}


def test_folder_links_resolve_like_a_web_server(tmp_path: Path) -> None:
    root = write(tmp_path / "public", SITE)
    run = check_folder(root)
    shown = str(root)
    for name in ("about.html", "team/index.html", "docs/index.html", "docs/guide.html"):
        assert verdict(run, f"{shown}/{name}") is Verdict.OK, name
    missing = run.links[f"{shown}/missing.html"].result
    assert missing is not None and missing.verdict is Verdict.BROKEN
    assert missing.message.startswith(f"no such file: {shown}/missing.html")
    assert f"{shown}/missing.html/index.html" in missing.message  # what else it looked for


def test_report_names_files_and_lines(tmp_path: Path) -> None:
    root = write(tmp_path / "public", SITE)
    run = check_folder(root)
    (occurrence,) = run.links[f"{root}/missing.html"].occurrences
    assert (occurrence.page, occurrence.line, occurrence.text) == (
        f"{root}/index.html",
        7,
        "Missing",
    )
    assert {page.url for page in run.pages} >= {f"{root}/index.html", f"{root}/docs/guide.html"}


def test_fragments_are_checked_from_the_files(tmp_path: Path) -> None:
    root = write(tmp_path / "public", SITE)
    run = check_folder(root)
    gone = run.links[f"{root}/docs/guide.html#missing-section"]
    assert gone.result is not None and gone.result.verdict is Verdict.BROKEN
    assert "missing-section" in gone.result.message
    assert [o.text for o in gone.occurrences] == ["Gone section"]
    fine = run.links[f"{root}/docs/guide.html"]
    assert "install" in {o.fragment for o in fine.occurrences}


def test_orphan_files_are_listed_and_still_checked(tmp_path: Path) -> None:
    root = write(tmp_path / "public", SITE)
    run = check_folder(root)
    assert run.orphans == [f"{root}/lost.html"]
    assert f"{root}/lost.html" in {page.url for page in run.pages}


def test_only_the_pages_links_are_read_back_for_orphans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a link occurs on other pages than its own is asked only of links to the
    folder's pages: an image, a stylesheet or a missing file is never an orphan page."""
    from linkcheck.models import Occurrences

    files = {**SITE, "logo.png": "png", "index.html": SITE["index.html"] + '<img src="logo.png">'}
    root = write(tmp_path / "public", files)
    asked: list[str] = []
    ask = Occurrences.on_pages_other_than

    def recorded(occurrences: Occurrences, url: str) -> bool:
        asked.append(url)
        return ask(occurrences, url)

    monkeypatch.setattr(Occurrences, "on_pages_other_than", recorded)
    run = check_folder(root)
    assert run.orphans == [f"{root}/lost.html"]
    assert f"{root}/about.html" in asked
    assert f"{root}/logo.png" not in asked and f"{root}/missing.html" not in asked


def test_unlinked_xhtml_files_are_orphans_too(tmp_path: Path) -> None:
    # issue #19: an XHTML page is a page; not linked from anywhere, it is an orphan
    files = {**SITE, "old/notes.xhtml": '<html><body><a href="/gone">Gone</a></body></html>'}
    root = write(tmp_path / "public", files)
    run = check_folder(root)
    assert run.orphans == [f"{root}/lost.html", f"{root}/old/notes.xhtml"]
    assert f"{root}/old/notes.xhtml" in {page.url for page in run.pages}  # read, as .html is
    assert verdict(run, f"{root}/gone") is Verdict.BROKEN


def test_an_address_without_mailto_gets_the_advice_in_a_folder(tmp_path: Path) -> None:
    root = write(tmp_path / "public", {"index.html": '<a href="help@shop.example">Mail</a>'})
    run = check_folder(root)
    missing = run.links[f"{root}/help@shop.example"].result
    assert missing is not None and missing.verdict is Verdict.BROKEN
    assert missing.message.startswith(f"no such file: {root}/help@shop.example")
    assert 'href="mailto:help@shop.example"' in missing.message


def test_base_url_makes_production_links_internal(tmp_path: Path) -> None:
    # "production" is a loopback server that records every request: links to its /guide/
    # must be answered from the folder, and nothing outside it may be asked for either (no
    # /sitemap.xml of the live site, no soft-404 probe): its request log must stay empty.
    with TestServer({}) as production, TestServer({"/ok": Reply(200, "fine")}) as external:
        base = production.url("/guide/")
        files = {
            "index.html": (
                f'<a href="{base}new-page.html">New, not deployed yet</a>'
                f'<a href="{base}gone.html">Gone</a>'
                f'<a href="{external.url("/ok")}">External</a>'
            ),
            "new-page.html": "<p>new</p>",
        }
        root = write(tmp_path / "public", files)
        run = check_folder(
            root,
            base_url=base,
            extra={"http": {"allow_private": True, "recheck": False, "timeout": 2, "retries": 0}},
        )
        assert verdict(run, f"{root}/new-page.html") is Verdict.OK
        assert verdict(run, f"{root}/gone.html") is Verdict.BROKEN
        assert verdict(run, external.url("/ok")) is Verdict.OK
        assert external.count("/ok") == 1
        assert production.requests == []
    assert run.base_url == base and run.root == str(root)


def test_offline_makes_no_request(tmp_path: Path) -> None:
    with TestServer({"/ok": Reply(200, "fine")}) as external:
        root = write(
            tmp_path / "public",
            {
                "index.html": f'<a href="{external.url("/ok")}">x</a><a href="a.html">a</a>',
                "a.html": "",
            },
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "linkcheck",
                "run",
                str(root),
                "--offline",
                "-o",
                str(tmp_path / "out"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        assert external.requests == []
    assert "Checking folder" in proc.stderr and str(root) in proc.stderr


def test_symlinks_never_escape_the_folder(tmp_path: Path) -> None:
    secret = write(tmp_path / "outside", {"secret.html": "<p>secret</p>"})
    root = write(tmp_path / "public", {"index.html": '<a href="leak.html">leak</a>'})
    (root / "leak.html").symlink_to(secret / "secret.html")
    run = check_folder(root)
    assert verdict(run, f"{root}/leak.html") is Verdict.BROKEN


def test_file_lookups_stay_in_the_folder_and_agree_with_realpath(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder without symlinks is answered from one walk (no realpath per link), and the
    answers are the careful ones: pretty URLs, index files, encoded dots and slashes."""
    write(tmp_path / "outside", {"secret.html": "<p>secret</p>"})
    root = write(tmp_path / "public", {**SITE, "a b/c.html": "<p>c</p>", "docs.html": "x"})
    (root / "empty").mkdir()
    site = LocalSite(root=root.resolve(), base_url="https://ex.com/")
    urls = {
        "https://ex.com/": "index.html",
        "https://ex.com/about": "about.html",
        "https://ex.com/team": "team/index.html",
        "https://ex.com/docs/": "docs/index.html",
        "https://ex.com/docs": "docs.html",  # the file before the folder's index, as nginx
        "https://ex.com/a%20b/c.html": "a b/c.html",
        "https://ex.com/docs/./guide.html": "docs/./guide.html",
        "https://ex.com/%2e%2e/outside/secret.html": None,
        "https://ex.com/..%2foutside/secret.html": None,
        "https://ex.com/%2Fetc%2Fpasswd": None,
        "https://ex.com/empty": None,
        "https://ex.com/empty/": None,
        "https://ex.com/missing.html": None,
    }
    careful = LocalSite(root=root.resolve(), base_url="https://ex.com/")
    careful._folder_index().complete = False  # as if the folder had a symlink somewhere
    resolved_paths: list[Path] = []
    resolve = Path.resolve

    def recording_resolve(self: Path, strict: bool = False) -> Path:
        resolved_paths.append(self)
        return resolve(self, strict)

    monkeypatch.setattr(Path, "resolve", recording_resolve)
    for url, expected in urls.items():
        found = site.file_for(url)
        assert found == (None if expected is None else site.root / expected), url
        assert careful.file_for(url) == found, url
    assert resolved_paths  # the careful way was taken, and agreed
    fresh = LocalSite(root=root.resolve(), base_url="https://ex.com/")
    resolved_paths.clear()
    for url in urls:
        fresh.file_for(url)
    assert resolved_paths == []  # no symlinks anywhere: the walk answered every look-up


def test_base_url_must_name_a_folder(tmp_path: Path) -> None:
    root = write(tmp_path / "public", SITE)
    with pytest.raises(ConfigError, match=r"ending in '/' \(did you mean 'https://ex.com/guide/'"):
        check_folder(root, base_url="https://ex.com/guide/index.html")


def test_base_url_one_segment_short_is_diagnosed(tmp_path: Path) -> None:
    """Served at /docs/, folder is the docs folder, base_url says the site root."""
    pages = {
        f"p{n}.html": "".join(f'<a href="/docs/p{m}.html">{m}</a>' for m in range(4))
        for n in range(4)
    }
    pages["index.html"] = "".join(f'<a href="/docs/p{m}.html">{m}</a>' for m in range(4))
    root = write(tmp_path / "public", pages)
    run = check_folder(root, base_url="https://ex.com/")
    assert run.setup_errors and 'set base_url = "https://ex.com/docs/"' in run.setup_errors[0]
    right = check_folder(root, base_url="https://ex.com/docs/")
    assert right.setup_errors == []
    assert all(link.result and link.result.verdict is Verdict.OK for link in right.links.values())


def test_base_url_one_segment_too_many_is_diagnosed(tmp_path: Path) -> None:
    pages = {
        f"p{n}.html": "".join(f'<a href="/p{m}.html">{m}</a>' for m in range(4)) for n in range(4)
    }
    pages["index.html"] = "".join(f'<a href="/p{m}.html">{m}</a>' for m in range(4))
    root = write(tmp_path / "public", pages)
    run = check_folder(
        root, base_url="https://ex.com/docs/", extra={"crawl": {"check_external": False}}
    )
    assert run.setup_errors and 'set base_url = "https://ex.com/"' in run.setup_errors[0]


def test_cli_folder_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    def linkcheck(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "linkcheck", "run", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )

    no_html = linkcheck(str(empty))
    assert no_html.returncode == 2 and "no HTML files" in no_html.stderr
    assert "Traceback" not in no_html.stderr
    mixed = linkcheck(str(empty), "https://example.com/")
    assert mixed.returncode == 2 and "either one FOLDER or start URLs" in mixed.stderr
    root = write(
        tmp_path / "public",
        {
            "index.html": "".join(f'<a href="/docs/p{m}.html">x</a>' for m in range(4)),
            **{f"p{m}.html": "" for m in range(4)},
        },
    )
    wrong = linkcheck(str(root), "--base-url", "https://ex.com/", "--offline")
    assert wrong.returncode == 2 and "looks wrong" in wrong.stderr


def test_a_file_over_the_body_cap_is_read_only_up_to_it(tmp_path: Path) -> None:
    """The cap bounds files as it bounds downloads: a link past it is never seen."""
    filler = "<p>" + "x" * 4000 + "</p>\n"
    write(
        tmp_path,
        {
            "index.html": '<a href="/near.html">Near</a>\n'
            + filler
            + '<a href="/gone.html">Far</a>',
            "near.html": "<p>near</p>",
        },
    )
    run = check_folder(tmp_path, extra={"http": {"max_body_bytes": 1024}})
    assert any("only the start of each was read" in note for note in run.limits_hit)
    assert verdict(run, f"{tmp_path}/near.html") is Verdict.OK
    assert f"{tmp_path}/gone.html" not in run.links
    whole = check_folder(tmp_path)
    assert verdict(whole, f"{tmp_path}/gone.html") is Verdict.BROKEN


def test_files_are_read_no_further_than_the_cap(tmp_path: Path) -> None:
    big, small = tmp_path / "big.html", tmp_path / "small.html"
    big.write_bytes(b"x" * 50_000)
    small.write_bytes(b"<p>small</p>")
    assert read_capped(big, 1024) == b"x" * 1025  # one byte more tells it was cut
    assert read_capped(small, 1024) == b"<p>small</p>"
    assert read_capped(small, 12) == b"<p>small</p>"  # exactly the cap: whole, not cut


def test_root_relative_links_missing_everywhere_question_base_url(tmp_path: Path) -> None:
    """Most root-relative links miss and no other base path finds them: the run says so,
    with the counts."""
    pages = {f"p{n}.html": '<a href="/p0.html">home</a>' for n in range(3)}
    pages["index.html"] = "".join(f'<a href="/gone/x{m}.html">{m}</a>' for m in range(4))
    root = write(tmp_path / "public", pages)
    run = check_folder(root, base_url="https://ex.com/")
    assert run.setup_errors == [
        f"4 of 5 root-relative links point to files missing from {root}: is base_url "
        "(https://ex.com/) the address this folder is served at?"
    ]


def test_files_take_no_connection_slot_and_no_politeness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Limits and spacing are for servers: the folder's files are read at once, while a
    link to a real server still waits for its host's slot."""
    slots: list[tuple[str, str, int]] = []
    real_slot = HostLimiter.slot

    def recorded(self: HostLimiter, rules: RequestRules) -> Any:
        slots.append(rules.origin)
        return real_slot(self, rules)

    monkeypatch.setattr(HostLimiter, "slot", recorded)
    with TestServer({"/ok": Reply(200, "fine")}) as external:
        pages = {
            f"p{n}.html": "".join(f'<a href="p{m}.html">{m}</a>' for m in range(5))
            for n in range(5)
        }
        pages["index.html"] = f'<a href="p0.html">first</a><a href="{external.url("/ok")}">out</a>'
        root = write(tmp_path / "public", pages)
        run = check_folder(
            root,
            base_url="https://ex.com/",
            extra={"http": {"allow_private": True, "per_host_interval": 0.5}},
        )
    assert verdict(run, f"{root}/p4.html") is Verdict.OK
    assert verdict(run, external.url("/ok")) is Verdict.OK
    assert slots  # the positive control: the server's links did take slots
    assert {host for _, host, _ in slots} == {"127.0.0.1"}  # the files (ex.com) never did


# What a web server sends for a file is its type by name (nginx's mime.types, Python's
# mimetypes): only HTML (HTML §13.1) and CSS (CSS Syntax §3.2) are read for links. Every
# other file is answered by looking it up, with no request task, as lychee looks files up.
ANSWERED_AT_ONCE = {
    "img/photo.png": ("image/png", 200),
    "img/PHOTO.JPG": ("image/jpeg", 200),
    "fonts/a.woff2": ("font/woff2", 200),
    "docs/manual.pdf": ("application/pdf", 200),
    "notes.txt": ("text/plain", 200),
    "archive.tar.gz": ("application/x-tar", 200),  # an encoding's suffix: the inner type
    "LICENSE": ("application/octet-stream", 200),  # no extension: no type, not sniffed
    "img/gone.png": ("text/plain", 404),  # no such file
}
VISITED = ("index.html", "page.htm", "page.xhtml", "css/site.css", "docs/")


def test_answer_now_is_the_answer_a_request_gives(tmp_path: Path) -> None:
    """LocalTransport.answer_now: for a file that is no page, or no file, the response its
    request gives (without the body); None for pages, stylesheets and URLs elsewhere."""
    files = {name: "x" for name in ANSWERED_AT_ONCE if name != "img/gone.png"}
    files.update({name: "<p>x</p>" for name in VISITED if not name.endswith("/")})
    files["docs/index.html"] = "<p>docs</p>"
    root = write(tmp_path / "public", files)
    site = LocalSite(root=root.resolve(), base_url="https://ex.com/")
    transport = LocalTransport(site, network=_NoNetwork(), max_body_bytes=1000)
    for name, (content_type, status) in ANSWERED_AT_ONCE.items():
        url = "https://ex.com/" + name
        answer = transport.answer_now(url)
        requested = asyncio.run(transport.request("GET", url))
        assert isinstance(requested, Response)
        assert answer is not None, name
        assert (answer.status, answer.content_type) == (status, content_type), name
        assert (requested.status, requested.content_type) == (status, content_type), name
        assert answer.body == b""
    for name in VISITED:
        assert transport.answer_now("https://ex.com/" + name) is None, name
    assert transport.answer_now("https://elsewhere.example/img/photo.png") is None


class _NoNetwork:
    async def request(self, method: str, url: str, **options: Any) -> Outcome:
        raise AssertionError(f"no request leaves the folder: {url}")


def test_files_that_are_no_page_are_answered_without_a_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Images, fonts and missing files get the verdicts a request would give (a missing one
    names the file looked for), and only pages and stylesheets are read."""
    requested: list[str] = []
    real_request = LocalTransport.request

    async def recording(self: LocalTransport, method: str, url: str, **options: Any) -> Outcome:
        requested.append(url)
        return await real_request(self, method, url, **options)

    monkeypatch.setattr(LocalTransport, "request", recording)
    root = write(
        tmp_path / "public",
        {
            "index.html": (
                '<link rel="stylesheet" href="css/site.css">\n'
                '<img src="img/a.png" srcset="img/a-2x.png 2x">\n'
                '<a href="docs/manual.pdf">Manual</a>\n'
                '<a href="page.html">Page</a>\n'
            ),
            "page.html": '<img src="img/a.png"><a href="/">Home</a>',
            "css/site.css": "@font-face { src: url(../fonts/a.woff2) }\n"
            "body { background: url(../img/bg.jpg) }",
            "img/a.png": "png",
            "fonts/a.woff2": "font",
            "docs/manual.pdf": "pdf",
        },
    )
    run = check_folder(root)
    assert verdict(run, f"{root}/img/a.png") is Verdict.OK
    assert verdict(run, f"{root}/fonts/a.woff2") is Verdict.OK
    assert verdict(run, f"{root}/docs/manual.pdf") is Verdict.OK
    for missing in ("img/a-2x.png", "img/bg.jpg"):
        result = run.links[f"{root}/{missing}"].result
        assert result is not None
        assert (result.verdict, result.status) == (Verdict.BROKEN, 404)
        assert result.message.startswith(f"no such file: {root}/{missing}")
    # (the soft-404 probe asks for a page that does not exist: a page, read too)
    read = {url.removeprefix(STAND_IN_BASE) for url in requested if "-probe-" not in url}
    assert read == {"", "css/site.css", "page.html"}  # the positive control: pages were read


def test_files_that_are_no_page_do_not_count_as_pages(tmp_path: Path) -> None:
    """max_pages counts pages crawled: a folder's images and missing files, answered by a
    look-up, take none of it (found first, they used to crawl the limit away)."""
    images = "".join(f'<img src="img/{n}.png">' for n in range(10))
    root = write(
        tmp_path / "public",
        {
            "index.html": images + '<a href="a.html">a</a>',
            "a.html": images + '<a href="b.html">b</a>',
            "b.html": images + '<a href="/">home</a>',
            **{f"img/{n}.png": "png" for n in range(9)},  # img/9.png is missing
        },
    )
    run = check_folder(root, extra={"crawl": {"max_pages": 3}})
    assert sorted(page.url for page in run.pages) == sorted(
        f"{root}/{name}" for name in ("index.html", "a.html", "b.html")
    )
    assert verdict(run, f"{root}/img/0.png") is Verdict.OK
    assert verdict(run, f"{root}/img/9.png") is Verdict.BROKEN


def test_renamed_results_and_findings_keep_every_other_field() -> None:
    """as_files renames a folder's results and findings field by field (CheckResult.renamed,
    Finding.renamed): every field not renamed must come through, so one added to either
    class and not copied fails here."""
    import dataclasses

    from linkcheck.models import (
        CheckResult,
        ErrorKind,
        Finding,
        FindingKind,
        RedirectHop,
        Verdict,
    )

    result = CheckResult(
        "http://local.invalid/a",
        Verdict.REDIRECTED,
        status=301,
        final_url="http://local.invalid/b",
        redirects=(RedirectHop("http://local.invalid/a", 301),),
        error=ErrorKind.TIMEOUT,
        message="old",
        checked_url="http://remapped.test/a",
        elapsed=1.5,
        from_cache=True,
    )
    defaults = CheckResult("u", Verdict.OK)
    for field in dataclasses.fields(CheckResult):  # every field differs from its default
        assert getattr(result, field.name) != getattr(defaults, field.name), field.name
    renamed = result.renamed(str.upper, "new")
    assert renamed == dataclasses.replace(
        result,
        url="HTTP://LOCAL.INVALID/A",
        final_url="HTTP://LOCAL.INVALID/B",
        redirects=(RedirectHop("HTTP://LOCAL.INVALID/A", 301),),
        message="new",
    )
    assert CheckResult("u", Verdict.BROKEN, status=404).renamed(str.upper, "m") == CheckResult(
        "U", Verdict.BROKEN, status=404, message="m"
    )  # no final URL stays none
    finding = Finding(FindingKind.EMPTY_LINK_TEXT, "warning", "u", "p", "h", "t", 3, "m")
    assert finding.renamed(str.upper) == dataclasses.replace(finding, url="U", page="P")
