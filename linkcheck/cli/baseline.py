"""``linkcheck baseline update``: accept the problems of a saved run in the baseline file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from linkcheck.baseline import load_baseline, update_baseline
from linkcheck.cli.common import fail
from linkcheck.cli.text import plural
from linkcheck.config import (
    DEFAULT_BASELINE_FILE,
    DEFAULT_FAIL_ON,
    DEFAULT_OUTPUT,
    VERDICT_NAMES,
    ConfigError,
)
from linkcheck.outcome import run_fail_on
from linkcheck.report import PREVIOUS_RUN_FILE
from linkcheck.report.load import ReportError, load_run

DEFAULT_REPORT = str(Path(DEFAULT_OUTPUT) / PREVIOUS_RUN_FILE)  # what `linkcheck run` wrote
DEFAULT_REASON = "accepted on {today}"  # the ISO date of the update


@click.group(
    help=f"Manage the baseline: known problems accepted for now ({DEFAULT_BASELINE_FILE})."
)
def baseline() -> None:
    pass


@baseline.command("update")
@click.option(
    "--file",
    "baseline_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_BASELINE_FILE,
    show_default=True,
    help="The baseline file (created if missing).",
)
@click.option(
    "--reason",
    help="Why the new problems are accepted "
    f"(default: '{DEFAULT_REASON.format(today='<today>')}').",
)
@click.option(
    "--from",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_REPORT,
    show_default=True,
    help="The saved JSON report of the run whose problems to accept.",
)
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    type=click.Choice(VERDICT_NAMES),
    help="Verdicts to accept (repeatable). Default: the report's fail_on, else "
    f"{', '.join(DEFAULT_FAIL_ON)}.",
)
def baseline_update(
    baseline_path: Path, reason: str | None, report_path: Path, fail_on: tuple[str, ...]
) -> None:
    """Accept the problems of a saved run in the baseline file.

    Entries already there keep their reason and expiry; new problems are added with --reason;
    entries whose link works again in that run are removed. Add `expires = 2027-01-31` to an
    entry by hand to have it looked at again.
    """
    today = date.today()
    try:
        run = load_run(report_path)
        before = len(load_baseline(baseline_path))
        verdicts = fail_on or run_fail_on(run)
        added, kept = update_baseline(
            baseline_path,
            run,
            reason=reason or DEFAULT_REASON.format(today=today.isoformat()),
            failing=verdicts,
        )
        expired = load_baseline(baseline_path).expired(today)
    except (ReportError, ConfigError, ValueError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {baseline_path}: {exc.strerror or exc}")
    click.echo(
        f"{baseline_path}: {plural(added, 'new problem')} accepted, {kept} kept, "
        f"{before - kept} removed (working again) — verdicts {', '.join(verdicts)}."
    )
    if not run.complete:
        click.echo("The report is from a partial run: links it did not check keep their entries.")
    for entry in expired:
        click.echo(f"expired {entry.expires}: {entry.url} ({entry.reason}) accepts nothing now")
