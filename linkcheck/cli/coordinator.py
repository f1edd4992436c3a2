"""``python -m linkcheck.distributed coordinator``: run a distributed check, write its reports.

``linkcheck run --redis URL`` is the command for users, with the same distributed options
(``--lease``, ``--grace``, ``--no-work``). This one is for the tests and bench/distributed.py:
``--timings`` besides, and ``--run ID`` names a new run as well as continuing one (workers can
then be started first, with the same ``--run``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from linkcheck.cli.common import (
    check_seconds,
    fail,
    internal_error,
    redis_option,
    run_id_option,
    setup_logging,
    verbose_option,
)
from linkcheck.cli.report import write
from linkcheck.config import REPORT_FORMATS, ConfigError, load_config, with_overrides
from linkcheck.distributed.keys import DEFAULT_GRACE, DEFAULT_LEASE, new_run_id
from linkcheck.outcome import ExitCode


@click.command("coordinator")
@click.argument("start_urls", nargs=-1, metavar="[START_URL]...")
@redis_option
@run_id_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file.")
@click.option("-o", "--output", type=click.Path(file_okay=False), help="Report folder.")
@click.option("--format", "formats", multiple=True, type=click.Choice(REPORT_FORMATS))
@click.option("--concurrency", type=click.IntRange(min=1))
@click.option("--max-pages", type=click.IntRange(min=1))
@click.option("--allow-private", is_flag=True, default=None)
@click.option(
    "--lease",
    type=float,
    default=DEFAULT_LEASE,
    show_default=True,
    metavar="SECONDS",
    help="How long a silent worker keeps its tasks before others take them over.",
)
@click.option(
    "--grace",
    type=float,
    default=DEFAULT_GRACE,
    show_default=True,
    metavar="SECONDS",
    help="How long a worker may miss its heartbeats before it is declared dead and its "
    "tasks go back in the queue.",
)
@click.option("--no-work", is_flag=True, help="Only coordinate: leave every task to workers.")
@click.option("--timings", type=click.Path(dir_okay=False), hidden=True)
@verbose_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def coordinator(
    start_urls: tuple[str, ...],
    redis_url: str,
    run_id: str | None,
    config_path: str | None,
    output: str | None,
    formats: tuple[str, ...],
    concurrency: int | None,
    max_pages: int | None,
    allow_private: bool | None,
    lease: float,
    grace: float,
    no_work: bool,
    timings: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Start (or with --run, resume) a distributed run and write its reports."""
    from linkcheck.distributed.coordinator import run_distributed

    setup_logging(verbose, quiet)
    phases: dict[str, float] = {}
    try:
        check_seconds("--lease", lease)
        check_seconds("--grace", grace)
        config = with_overrides(
            load_config(config_path),
            start_urls=list(start_urls) or None,
            output=output,
            formats=list(formats) or None,
            concurrency=concurrency,
            max_pages=max_pages,
            allow_private=True if allow_private else None,
        )
        run_id = run_id or new_run_id()
        if not quiet:
            click.echo(
                f"distributed run {run_id} (workers: linkcheck worker --redis URL)", err=True
            )
        result = run_distributed(
            config,
            redis_url,
            run_id=run_id,
            handle_signals=True,
            work=not no_work,
            lease=lease,
            grace=grace,
            timings=phases,
        )
        written = write(result, config.report.formats, config.report.output)
    except ConfigError as exc:
        fail(str(exc))
    except Exception as exc:
        internal_error(exc, verbose)
    if timings:
        Path(timings).write_text(json.dumps(phases), encoding="utf-8")
    if not quiet:
        click.echo("Reports: " + ", ".join(str(path) for path in written))
    if result.interrupted:
        sys.exit(ExitCode.interrupted(result.interrupted_by))
