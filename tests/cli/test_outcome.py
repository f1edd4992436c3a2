"""The exit code of a finished run (linkcheck.outcome), and help texts that quote the defaults."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from linkcheck.cli import main
from linkcheck.config import (
    DEFAULT_BASELINE_FILE,
    DEFAULT_CACHE_PATH,
    DEFAULT_CONCURRENCY,
    DEFAULT_DEMO_PORT,
    DEFAULT_FAIL_ON,
    DEFAULT_OUTPUT,
)
from linkcheck.models import (
    CheckResult,
    Finding,
    FindingKind,
    Link,
    LinkMemory,
    RunResult,
    Verdict,
)
from linkcheck.outcome import ExitCode, judge, run_fail_on

START = "https://shop.example/guide/"
PAGE = "https://shop.example/guide/a.html"
GONE = "https://shop.example/gone"
MOMENT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def make_run(*verdicts: Verdict, **facts: object) -> RunResult:
    """The start page, one page it links to, and a link per verdict."""
    links = {}
    for number, verdict in enumerate((Verdict.OK, Verdict.OK, *verdicts)):
        url = [START, PAGE][number] if number < 2 else f"{GONE}/{number}"
        links[url] = Link(url, internal=True)
        links[url].result = CheckResult(url, verdict)
    run = RunResult(
        start_urls=[START], started_at=MOMENT, finished_at=MOMENT, links=links, pages=[]
    )
    for name, value in facts.items():
        setattr(run, name, value)
    return run


def finding(severity: str) -> Finding:
    kind = FindingKind.MIXED_CONTENT if severity == "error" else FindingKind.INSECURE_LINK
    return Finding(kind, severity, "http://x.example/", PAGE, "http://x.example/", "x", 1, "")


def only_start() -> dict[str, Link]:
    link = Link(START, internal=True)
    link.result = CheckResult(START, Verdict.OK)
    return {START: link}


def accepted() -> dict[str, LinkMemory]:
    return {f"{GONE}/2": LinkMemory(1, MOMENT, True, accepted_reason="known")}


def tolerated() -> dict[str, LinkMemory]:
    return {f"{GONE}/2": LinkMemory(1, MOMENT, True, tolerated=True)}


def failing_long() -> dict[str, LinkMemory]:
    return {f"{GONE}/2": LinkMemory(3, MOMENT, False)}


@pytest.mark.parametrize(
    ("verdicts", "facts", "fail_on", "code"),
    [
        ((), {}, DEFAULT_FAIL_ON, ExitCode.OK),
        ((Verdict.REDIRECTED, Verdict.BLOCKED), {}, DEFAULT_FAIL_ON, ExitCode.OK),
        ((Verdict.BROKEN,), {}, DEFAULT_FAIL_ON, ExitCode.PROBLEMS),
        ((Verdict.ERROR,), {}, DEFAULT_FAIL_ON, ExitCode.PROBLEMS),
        ((Verdict.REDIRECTED,), {}, ("redirected",), ExitCode.PROBLEMS),
        ((Verdict.BROKEN,), {}, ("excluded",), ExitCode.OK),
        ((Verdict.BROKEN,), {"memory": accepted()}, DEFAULT_FAIL_ON, ExitCode.OK),
        ((Verdict.BROKEN,), {"memory": tolerated()}, DEFAULT_FAIL_ON, ExitCode.OK),
        ((Verdict.BROKEN,), {"memory": failing_long()}, DEFAULT_FAIL_ON, ExitCode.PROBLEMS),
        ((), {"findings": [finding("error")]}, DEFAULT_FAIL_ON, ExitCode.PROBLEMS),
        ((), {"findings": [finding("error")]}, ("broken",), ExitCode.OK),
        ((), {"findings": [finding("warning")]}, DEFAULT_FAIL_ON, ExitCode.OK),
        ((), {"findings": [finding("warning")]}, ("warning",), ExitCode.PROBLEMS),
        ((), {"findings": [finding("error")]}, ("warning",), ExitCode.PROBLEMS),
        ((Verdict.BROKEN,), {"interrupted": True, "interrupted_by": "SIGINT"}, (), 130),
        ((Verdict.BROKEN,), {"interrupted": True, "interrupted_by": "SIGTERM"}, (), 143),
        ((), {"interrupted": True, "interrupted_by": "cancelled"}, (), ExitCode.SIGINT),
        ((Verdict.BROKEN,), {"setup_errors": ["bad base_url"]}, DEFAULT_FAIL_ON, 2),
        ((), {"start_failures": [f"start URL {START} could not be fetched"]}, (), 2),
        ((), {"links": only_start()}, DEFAULT_FAIL_ON, ExitCode.USAGE),
    ],
)
def test_the_exit_code_of_a_run(
    verdicts: tuple[Verdict, ...], facts: dict[str, object], fail_on: tuple[str, ...], code: int
) -> None:
    assert judge(make_run(*verdicts, **facts), fail_on).code == code


def test_the_lines_that_explain_it() -> None:
    two_starts = make_run(Verdict.BROKEN, start_failures=["start URL b failed"])
    two_starts.start_urls.append("https://shop.example/b/")
    outcome = judge(two_starts)
    assert outcome == judge(two_starts, DEFAULT_FAIL_ON)
    assert (outcome.code, outcome.warnings, outcome.errors) == (
        ExitCode.PROBLEMS,
        ("start URL b failed",),
        (),
    )
    nothing = judge(make_run(links=only_start()))
    assert nothing.errors and "no links found" in nothing.errors[0]
    assert judge(make_run(setup_errors=["x"])).errors == ("x",)


def test_the_table_has_one_meaning_per_code() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 130, 143]
    assert all(code.meaning for code in ExitCode)
    assert ExitCode.interrupted("SIGTERM") == 143 and ExitCode.interrupted("SIGINT") == 130


def test_a_saved_run_is_judged_by_its_own_fail_on() -> None:
    assert run_fail_on(make_run(config_summary={"report": {"fail_on": ["blocked"]}})) == (
        "blocked",
    )
    assert run_fail_on(make_run()) == DEFAULT_FAIL_ON
    assert run_fail_on(make_run(config_summary={"report": {"fail_on": ["nonsense"]}})) == (
        DEFAULT_FAIL_ON
    )


def test_no_exit_code_is_defined_outside_the_table() -> None:
    package = Path(__file__).parents[2] / "linkcheck"
    for path in package.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*EXIT_[A-Z_]+\s*=", source, re.MULTILINE), path
        assert "sys.exit(1)" not in source and "sys.exit(2)" not in source, path


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        (["run"], f"Default: {DEFAULT_CONCURRENCY}."),
        (["run"], f"Default: {', '.join(DEFAULT_FAIL_ON)}."),
        (["run"], f"Default: {DEFAULT_OUTPUT} "),
        (["run"], f"{ExitCode.SIGTERM.value}  {ExitCode.SIGTERM.meaning}"),
        (["report"], f"[default: {DEFAULT_OUTPUT}]"),
        (["serve-demo"], f"[default: {DEFAULT_DEMO_PORT};"),
        (["cache", "stats"], f"[default: {DEFAULT_CACHE_PATH}]"),
        (["baseline", "update"], f"[default: {DEFAULT_BASELINE_FILE}]"),
    ],
)
def test_help_texts_quote_the_default_constants(command: list[str], fragment: str) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert " ".join(fragment.split()) in " ".join(result.output.split())  # however it wraps
