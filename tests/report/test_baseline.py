"""The baseline file: reading it strictly, accepting until expiry, updating it from a run."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from linkcheck.baseline import Accepted, Baseline, load_baseline, update_baseline
from linkcheck.cli.baseline import baseline
from linkcheck.config import ConfigError
from linkcheck.models import CheckResult, ErrorKind, Link, RunResult, Verdict
from linkcheck.report import write_atomic
from linkcheck.report.json_report import render_json

FEDEX = "https://www.fedex.com/old-page"
DHL = "https://www.dhl.com/gone"
TODAY = date(2026, 11, 27)


def make_run(
    *results: CheckResult, interrupted: bool = False, fail_on: list[str] | None = None
) -> RunResult:
    links = {}
    for result in results:
        link = Link(result.url, internal=False)
        link.result = result
        links[result.url] = link
    moment = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    return RunResult(
        start_urls=["https://shop.example/guide/"],
        started_at=moment,
        finished_at=moment,
        links=links,
        pages=[],
        interrupted=interrupted,
        interrupted_by="SIGINT" if interrupted else "",
        config_summary={"report": {"fail_on": fail_on}} if fail_on else {},
    )


def broken(url: str) -> CheckResult:
    return CheckResult(url, Verdict.BROKEN, status=404)


def ok(url: str) -> CheckResult:
    return CheckResult(url, Verdict.OK, status=200)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- reading ----------------------------------------------------------------------------------


def test_a_missing_file_is_an_empty_baseline(tmp_path: Path) -> None:
    loaded = load_baseline(tmp_path / "linkcheck-baseline.toml")
    assert len(loaded) == 0
    assert loaded.accepts(FEDEX, TODAY) is None
    assert loaded.expired(TODAY) == []


def test_accepted_until_and_including_the_expiry_date(tmp_path: Path) -> None:
    file = write(
        tmp_path / "b.toml",
        f"""
        [[accepted]]
        url = "{FEDEX}"
        reason = "FedEx is moving its help pages; recheck in January"
        expires = 2027-01-31      # optional TOML date

        [[accepted]]
        url = "{DHL}"
        reason = "DHL knows"
        """,
    )
    loaded = load_baseline(file)
    fedex = Accepted(FEDEX, "FedEx is moving its help pages; recheck in January", date(2027, 1, 31))
    assert list(loaded) == [fedex, Accepted(DHL, "DHL knows")]
    assert loaded.accepts(FEDEX, date(2027, 1, 31)) == fedex
    assert loaded.accepts(FEDEX, date(2027, 2, 1)) is None
    assert loaded.expired(date(2027, 2, 1)) == [fedex]
    assert loaded.accepts(DHL, date(2099, 1, 1)) == Accepted(DHL, "DHL knows")
    assert loaded.accepts("https://www.dhl.com/other", TODAY) is None


def test_urls_match_as_reports_write_them(tmp_path: Path) -> None:
    file = write(
        tmp_path / "b.toml",
        '[[accepted]]\nurl = "HTTPS://WWW.Example.COM:443"\nreason = "r"\n'
        '[[accepted]]\nurl = "not a url"\nreason = "r"\n',
    )
    loaded = load_baseline(file)
    assert loaded.accepts("https://www.example.com/", TODAY) is not None
    assert loaded.accepts("not a url", TODAY) is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[accepted]]\nurl = "https://a.example/"\nreason = "r"\n'
            '[[accepted]]\nurl = "https://b.example/"\nreasn = "r"\n',
            "[[accepted]] #2 (https://b.example/): unknown key 'reasn' (did you mean 'reason'?)",
        ),
        (
            '[[acepted]]\nurl = "u"\nreason = "r"\n',
            "unknown key 'acepted' (did you mean 'accepted'?)",
        ),
        ('[[accepted]]\nreason = "r"\n', "[[accepted]] #1: missing 'url'"),
        ('[[accepted]]\nurl = "https://a.example/"\n', "#1 (https://a.example/): missing 'reason'"),
        ('[[accepted]]\nurl = "https://a.example/"\nreason = "  "\n', "missing 'reason'"),
        (
            '[[accepted]]\nurl = "https://a.example/"\nreason = "r"\nexpires = "2027-01-31"\n',
            "#1 (https://a.example/): expires must be a TOML date such as 2027-01-31 (no quotes",
        ),
        (
            '[[accepted]]\nurl = "https://a.example/"\nreason = "r"\nexpires = 2027-01-31T10:00:00\n',
            "expires must be a TOML date",
        ),
        (
            '[[accepted]]\nurl = "https://a.example/"\nreason = "r"\nexpires = 2027-02-30\n',
            "not valid TOML: ",
        ),
        ('accepted = "everything"\n', "'accepted' must be a list of [[accepted]] tables"),
        ('accepted = ["https://a.example/"]\n', "[[accepted]] #1: must be a table"),
        (
            '[[accepted]]\nurl = "https://a.example"\nreason = "r"\n'
            '[[accepted]]\nurl = "https://a.example/"\nreason = "again"\n',
            "#2 (https://a.example/): this URL is already accepted by entry #1",
        ),
    ],
)
def test_a_malformed_file_is_one_line_naming_the_file_and_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    file = write(tmp_path / "linkcheck-baseline.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_baseline(file)
    assert str(caught.value).startswith(f"{file}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_text_is_a_config_error(tmp_path: Path) -> None:
    file = tmp_path / "b.toml"
    file.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_baseline(file)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_baseline(tmp_path)  # a folder


# -- updating ---------------------------------------------------------------------------------


def test_update_creates_the_file_with_the_run_s_problems(tmp_path: Path) -> None:
    file = tmp_path / "linkcheck-baseline.toml"
    run = make_run(
        broken(FEDEX),
        CheckResult(DHL, Verdict.ERROR, error=ErrorKind.DNS),
        ok("https://ok.example/"),
        CheckResult("https://blocked.example/", Verdict.BLOCKED, status=999),
    )
    assert update_baseline(file, run, reason="carriers are slow") == (2, 0)
    text = file.read_text(encoding="utf-8")
    assert text.startswith("# linkcheck baseline")
    assert text.endswith(f'\n\n[[accepted]]\nurl = "{FEDEX}"\nreason = "carriers are slow"\n')
    assert tomllib.loads(text) == {
        "accepted": [  # sorted by URL
            {"url": DHL, "reason": "carriers are slow"},
            {"url": FEDEX, "reason": "carriers are slow"},
        ]
    }
    assert [p.name for p in tmp_path.iterdir()] == [file.name]  # no temporary file left


def test_update_keeps_reasons_and_expiry_and_drops_only_proven_fixes(tmp_path: Path) -> None:
    file = write(
        tmp_path / "b.toml",
        f"""
        [[accepted]]
        url = "{FEDEX}"
        reason = "FedEx is moving"
        expires = 2027-01-31

        [[accepted]]
        url = "https://fixed.example/"
        reason = "was down"

        [[accepted]]
        url = "https://elsewhere.example/"
        reason = "another site's problem"
        """,
    )
    run = make_run(broken(FEDEX), ok("https://fixed.example/"), broken(DHL))
    assert update_baseline(file, run, reason="new") == (1, 2)
    assert tomllib.loads(file.read_text(encoding="utf-8"))["accepted"] == [
        {"url": "https://elsewhere.example/", "reason": "another site's problem"},
        {"url": DHL, "reason": "new"},
        {"url": FEDEX, "reason": "FedEx is moving", "expires": date(2027, 1, 31)},
    ]
    assert update_baseline(file, run, reason="again") == (0, 3)  # idempotent


def test_update_with_other_failing_verdicts(tmp_path: Path) -> None:
    file = tmp_path / "b.toml"
    run = make_run(broken(FEDEX), CheckResult(DHL, Verdict.BLOCKED, status=999))
    assert update_baseline(file, run, reason="r", failing=["blocked"]) == (1, 0)
    assert [entry.url for entry in load_baseline(file)] == [DHL]


def test_update_writes_any_text_as_valid_toml(tmp_path: Path) -> None:
    file = tmp_path / "b.toml"
    url = 'https://a.example/"quoted"\\path'
    reason = 'says "no"\nand then ] [[accepted]] = ü'
    update_baseline(file, make_run(broken(url)), reason=reason)
    assert list(load_baseline(file)) == [Accepted(url, reason.strip())]


def test_update_refuses_a_malformed_file_and_leaves_it_alone(tmp_path: Path) -> None:
    file = write(tmp_path / "b.toml", '[[accepted]]\nurl = "https://a.example/"\nreasn = "r"\n')
    before = file.read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'reason'"):
        update_baseline(file, make_run(broken(FEDEX)), reason="r")
    assert file.read_text(encoding="utf-8") == before


def test_update_needs_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reason"):
        update_baseline(tmp_path / "b.toml", make_run(broken(FEDEX)), reason="  ")


def test_baseline_object_without_a_file() -> None:
    entries = [Accepted(FEDEX, "r", date(2026, 1, 1)), Accepted(DHL, "r")]
    accepted = Baseline(entries)
    assert accepted.find(FEDEX) == entries[0]
    assert accepted.accepts(FEDEX, TODAY) is None
    assert accepted.expired(TODAY) == [entries[0]]


# -- the command ------------------------------------------------------------------------------


def save_report(run: RunResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, render_json(run))
    return path


def test_baseline_update_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    save_report(
        make_run(broken(FEDEX), broken(DHL), ok("https://ok.example/")), Path("reports/report.json")
    )
    write(
        Path("linkcheck-baseline.toml"),
        f'[[accepted]]\nurl = "{FEDEX}"\nreason = "known"\nexpires = 2020-01-01\n',
    )
    result = CliRunner().invoke(baseline, ["update"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "linkcheck-baseline.toml: 1 new problem accepted, 1 kept, 0 removed (working again)"
        " — verdicts broken, error."
    )
    assert lines[1] == f"expired 2020-01-01: {FEDEX} (known) accepts nothing now"
    entries = {entry.url: entry for entry in load_baseline("linkcheck-baseline.toml")}
    assert entries[DHL].reason == f"accepted on {date.today().isoformat()}"
    assert entries[FEDEX].reason == "known"


def test_baseline_update_command_options(tmp_path: Path) -> None:
    report = save_report(
        make_run(
            broken(FEDEX),
            CheckResult(DHL, Verdict.BLOCKED, status=999),
            interrupted=True,
            fail_on=["blocked"],
        ),
        tmp_path / "out" / "report.json",
    )
    file = tmp_path / "accepted.toml"
    args = ["update", "--file", str(file), "--from", str(report), "--reason", "waiting on DHL"]
    result = CliRunner().invoke(baseline, args)
    assert result.exit_code == 0, result.output
    assert "verdicts blocked." in result.output  # the run's own fail_on
    assert "partial run" in result.output
    assert list(load_baseline(file)) == [Accepted(DHL, "waiting on DHL")]
    result = CliRunner().invoke(baseline, [*args, "--fail-on", "broken"])
    assert result.exit_code == 0, result.output
    assert [entry.url for entry in load_baseline(file)] == [DHL, FEDEX]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no-report", "error: reports/report.json: cannot be read"),
        ("bad-report", "error: reports/report.json: not a JSON report"),
        ("bad-baseline", "error: linkcheck-baseline.toml: [[accepted]] #1: missing 'url'"),
        ("no-folder", "error: cannot write no/such/folder/b.toml: No such file or directory"),
        ("no-reason", "error: a baseline entry needs a reason"),
    ],
)
def test_baseline_update_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if setup != "no-report":
        save_report(make_run(broken(FEDEX)), Path("reports/report.json"))
    if setup == "bad-report":
        write(Path("reports/report.json"), "{")
    if setup == "bad-baseline":
        write(Path("linkcheck-baseline.toml"), '[[accepted]]\nreason = "r"\n')
    args = {
        "no-folder": ["--file", "no/such/folder/b.toml"],
        "no-reason": ["--reason", " "],
    }.get(setup, [])
    result = CliRunner().invoke(baseline, ["update", *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message)
    assert len(result.output.splitlines()) == 1
