"""The command line as users and CI scripts meet it: exit codes, messages, files, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from linkcheck import __version__
from linkcheck.cli import main
from tests.server import Reply, TestServer, page, redirect

FAST = ["--timeout", "2"]


def linkcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkcheck", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_clean_site_exits_0_and_writes_both_reports(tmp_path: Path) -> None:
    with TestServer({"/": page('<a href="/a">a</a>'), "/a": page("")}) as site:
        proc = linkcheck("run", site.url("/"), "-o", "out", *FAST, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ok 2" in proc.stdout
    document = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert document["counts"]["ok"] == 2
    assert (
        (tmp_path / "out" / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    )


def test_broken_links_exit_1_and_fail_on_is_configurable(tmp_path: Path) -> None:
    routes = {
        "/": page('<a href="/gone">gone</a><a href="/moved">moved</a>'),
        "/moved": redirect("/a"),
        "/a": page(""),
    }
    with TestServer(routes) as site:
        broken = linkcheck("run", site.url("/"), *FAST, cwd=tmp_path)
        assert broken.returncode == 1
        assert "Worst offenders" in broken.stdout and site.url("/gone") in broken.stdout
        only_redirects = linkcheck(
            "run", site.url("/"), "--fail-on", "redirected", "--format", "json", *FAST, cwd=tmp_path
        )
        assert only_redirects.returncode == 1
        nothing = linkcheck("run", site.url("/"), "--fail-on", "excluded", *FAST, cwd=tmp_path)
        assert nothing.returncode == 0


def test_format_flag_limits_the_files(tmp_path: Path) -> None:
    with TestServer({"/": page('<a href="/a">a</a>'), "/a": page("")}) as site:
        proc = linkcheck("run", site.url("/"), "--format", "json", "-q", *FAST, cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == ""
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["report.json"]


def test_config_file_and_flags(tmp_path: Path) -> None:
    with TestServer(
        {"/": page('<a href="/private/x">x</a><a href="/a">a</a>'), "/a": page("")}
    ) as site:
        (tmp_path / "config.toml").write_text(
            f'start_urls = ["{site.url("/")}"]\n[crawl]\nexclude = ["/private/"]\n'
            '[report]\nformats = ["json"]\n',
            encoding="utf-8",
        )
        proc = linkcheck("run", *FAST, cwd=tmp_path)  # picks up ./config.toml
        assert proc.returncode == 0, proc.stderr
        assert site.count("/private/x") == 0
        flagged = linkcheck("run", "--exclude", "nothing-matches", *FAST, cwd=tmp_path)
        assert flagged.returncode == 1  # the flag replaced the file's exclude list
        assert site.count("/private/x") == 1


@pytest.mark.parametrize(
    ("config", "args", "fragments"),
    [
        (
            "[http]\nconcurency = 3\n",
            [],
            ["unknown key 'concurency'", "did you mean 'concurrency'"],
        ),
        ("[crawl]\nmax_depth = 'deep'\n", [], ["max_depth must be a whole number"]),
        ("", ["--exclude", "(oops"], ["is not a valid regular expression"]),
        ("", ["not a url"], ["'not a url' is not an http"]),
        ("", [], ["no start URL"]),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, config: str, args: list[str], fragments: list[str]
) -> None:
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    proc = linkcheck("run", *args, cwd=tmp_path)
    assert_one_line_error(proc, *fragments)
    if "concurency" in config:
        assert "config.toml" in proc.stderr


def test_missing_config_file_and_bad_option_values(tmp_path: Path) -> None:
    assert_one_line_error(
        linkcheck("run", "--config", "nope.toml", "http://x.example/", cwd=tmp_path),
        "nope.toml",
        "not found",
    )
    proc = linkcheck("run", "--concurrency", "0", "http://x.example/", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_unreachable_start_url_exits_2_but_writes_the_report(tmp_path: Path) -> None:
    proc = linkcheck("run", "http://127.0.0.1:1/", "--timeout", "1", cwd=tmp_path)
    assert_one_line_error(proc, "start URL http://127.0.0.1:1/ could not be fetched")
    assert (tmp_path / "reports" / "report.json").exists()


def test_start_url_that_is_not_html_exits_2(tmp_path: Path) -> None:
    with TestServer({"/doc.pdf": Reply(200, b"%PDF", content_type="application/pdf")}) as site:
        proc = linkcheck("run", site.url("/doc.pdf"), *FAST, cwd=tmp_path)
    assert_one_line_error(proc, "is not an HTML page", "application/pdf")


def test_empty_site_exits_2(tmp_path: Path) -> None:
    with TestServer({"/": page("<p>No links at all.</p>")}) as site:
        proc = linkcheck("run", site.url("/"), *FAST, cwd=tmp_path)
    assert_one_line_error(proc, "no links found")


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file, not a folder", encoding="utf-8")
    with TestServer({"/": page('<a href="/a">a</a>'), "/a": page("")}) as site:
        proc = linkcheck("run", site.url("/"), "-o", "blocker/reports", *FAST, cwd=tmp_path)
    assert_one_line_error(proc, "cannot write reports to blocker/reports")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_writes_a_partial_report(tmp_path: Path, signum: int, code: int) -> None:
    chain = {
        f"/s/{n}.html": page(f'<a href="{n + 1}.html">next</a><a href="/x{n}">x</a>', delay=0.2)
        for n in range(100)
    }
    with TestServer(chain) as site:
        process = subprocess.Popen(
            [sys.executable, "-m", "linkcheck", "run", site.url("/s/0.html"), *FAST],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        )
        deadline = time.monotonic() + 20
        while site.count("/s/3.html") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    assert "partial" in stdout
    document = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))
    assert document["run"]["interrupted"] is True
    assert document["run"]["complete"] is False
    assert 3 <= document["run"]["pages_crawled"] < 100
    assert "Partial report" in (tmp_path / "reports" / "report.html").read_text(encoding="utf-8")


SIGNALLED_WHILE_WRITING = """
import os, signal, sys
from linkcheck.cli import entry, report

times, signum = int(sys.argv[1]), int(sys.argv[2])
write_reports = report.write_reports

def signalled(*args, **kwargs):
    for _ in range(times):
        os.kill(os.getpid(), signum)  # (handled at once, between two of these lines)
    return write_reports(*args, **kwargs)

report.write_reports = signalled
sys.argv = ["linkcheck", *sys.argv[3:]]
entry()
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_the_reports_are_written_lets_them_finish(
    tmp_path: Path, signum: int, code: int
) -> None:
    """The run is over when its reports are written: a SIGINT or SIGTERM then lets them be
    finished (they hold everything the run found) and the exit code says it came; a second
    one stops at once, and no report is left half written."""
    site = {"/": page('<a href="/a">a</a><a href="/gone">gone</a>'), "/a": page("")}
    with TestServer(site) as server:
        for times in (1, 2):
            output = tmp_path / f"signalled-{times}"
            proc = subprocess.run(
                [sys.executable, "-c", SIGNALLED_WHILE_WRITING, str(times), str(signum),
                 "run", server.url("/"), "-o", str(output), *FAST],
                capture_output=True, text=True, timeout=60, cwd=tmp_path,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
            )  # fmt: skip
            name = signal.Signals(signum).name
            assert proc.returncode == code, proc.stderr
            assert "Traceback" not in proc.stderr
            if times == 1:
                assert f"{name}: finishing the reports first" in proc.stderr
                document = json.loads((output / "report.json").read_text(encoding="utf-8"))
                assert document["run"]["complete"] is True
                assert document["counts"]["broken"] == 1
                assert (output / "report.html").is_file()
            else:
                assert f"{name} again: stopped, no report written" in proc.stderr
                assert not output.exists() or not list(output.iterdir())


def test_version_and_help_are_complete() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.strip() == f"linkcheck, version {__version__}"
    help_text = runner.invoke(main, ["run", "--help"]).output
    for option in (
        "--output",
        "-o",
        "--format",
        "--concurrency",
        "--max-pages",
        "--max-depth",
        "--timeout",
        "--include",
        "--exclude",
        "--no-external",
        "--config",
        "--verbose",
        "-v",
        "--quiet",
        "-q",
        "--fail-on",
    ):
        assert option in help_text, option
    assert "serve-demo" in runner.invoke(main, ["--help"]).output


def test_progress_line_only_on_a_terminal() -> None:
    import io

    from linkcheck.crawler import CrawlStats
    from linkcheck.progress import ProgressLine

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped, terminal = io.StringIO(), Terminal()
    stats = CrawlStats(pages_crawled=3, links_checked=5, links_found=9, problems=1)
    ProgressLine(piped)(stats)
    ProgressLine(terminal)(stats)
    assert piped.getvalue() == ""
    assert "pages crawled 3" in terminal.getvalue() and "problems 1" in terminal.getvalue()


def test_the_command_line_makes_full_collections_rare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command: the collector's third threshold raised (a large run's state is
    millions of long-lived objects with next to no cycles), the first two left alone."""
    import gc

    from linkcheck.allocator import FULL_COLLECTION_THRESHOLD

    thresholds: list[tuple[int, ...]] = []
    monkeypatch.setattr(gc, "set_threshold", lambda *values: thresholds.append(values))
    monkeypatch.setattr(gc, "freeze", lambda: None)  # the pytest process's objects stay as they are
    young, middle, _ = gc.get_threshold()
    CliRunner().invoke(main, ["report", str(tmp_path / "missing.json")])
    assert thresholds == [(young, middle, FULL_COLLECTION_THRESHOLD)]
    assert FULL_COLLECTION_THRESHOLD > 10  # CPython's default: what it is raised from
