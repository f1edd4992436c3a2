"""``linkcheck report``: write reports from a saved report.json, without crawling again."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from linkcheck.cli.common import exit_codes_help, explain, fail
from linkcheck.config import (
    DEFAULT_FAIL_ON,
    DEFAULT_OUTPUT,
    DEFAULT_REPORT_COMMAND_FORMATS,
    FAIL_ON_CHOICES,
    REPORT_FORMATS,
    ConfigError,
)
from linkcheck.models import RunResult
from linkcheck.outcome import judge
from linkcheck.report import write_reports
from linkcheck.report.load import ReportError, load_run


@click.command(epilog=exit_codes_help())
@click.argument("report_json", metavar="REPORT.json", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(REPORT_FORMATS),
    help="Format to write; repeat for several. "
    f"Default: {' and '.join(DEFAULT_REPORT_COMMAND_FORMATS)}.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False),
    default=DEFAULT_OUTPUT,
    show_default=True,
    help="Folder for the reports.",
)
@click.option(
    "--compare",
    type=click.Path(dir_okay=False),
    help="An earlier report.json, for 'new' and 'fixed'.",
)
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    type=click.Choice(FAIL_ON_CHOICES),
    help="Exit with 1 when the saved run has these verdicts (repeatable). "
    f"Default: {', '.join(DEFAULT_FAIL_ON)}.",
)
def report(
    report_json: str,
    formats: tuple[str, ...],
    output: str,
    compare: str | None,
    fail_on: tuple[str, ...],
) -> None:
    """Write reports from a saved REPORT.json, without crawling again.

    For example `linkcheck report reports/report.json --format sarif --format markdown`.
    The exit code follows the saved run, as `linkcheck run` would have.
    """
    try:
        result = load_saved_run(report_json)
        previous = load_saved_run(compare, occurrences=False) if compare else None
        written = write(result, formats or DEFAULT_REPORT_COMMAND_FORMATS, output, previous)
    except ConfigError as exc:
        fail(str(exc))
    click.echo("Reports: " + ", ".join(str(path) for path in written))
    sys.exit(explain(judge(result, fail_on or DEFAULT_FAIL_ON)))


def load_saved_run(path: str, *, occurrences: bool = True) -> RunResult:
    """A saved report.json read back; a file that is not one is the user's one-line error."""
    try:
        return load_run(path, occurrences=occurrences)
    except ReportError as exc:
        raise ConfigError(str(exc)) from None


def write(
    result: RunResult, formats: tuple[str, ...], output: str, previous: RunResult | None = None
) -> list[Path]:
    """The reports written; a folder that cannot take them is the user's one-line error."""
    try:
        return write_reports(result, formats, output, previous=previous)
    except OSError as exc:
        raise ConfigError(f"cannot write reports to {output}: {exc.strerror or exc}") from None
