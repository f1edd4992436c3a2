"""``linkcheck worker``: join a distributed run through Redis and do its work until it is done."""

from __future__ import annotations

import asyncio
import sys

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
from linkcheck.config import ConfigError
from linkcheck.distributed.keys import DEFAULT_WAIT
from linkcheck.outcome import ExitCode


@click.command("worker")
@redis_option
@run_id_option
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    help="Tasks (and requests) in flight in this worker. Default: the run's [http] "
    "concurrency. Per-host limits stay cluster-wide.",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=DEFAULT_WAIT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for a run to join before giving up.",
)
@verbose_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def worker(
    redis_url: str,
    run_id: str | None,
    concurrency: int | None,
    wait: float,
    verbose: int,
    quiet: bool,
) -> None:
    """Join a distributed run, check links and crawl pages for it, leave when it is done.

    Start as many as you like, on any machine that can reach the Redis and the site. A
    worker takes the run's settings from Redis. Exit code: 0 after the run is done, 2 when
    Redis is unreachable or lost or the run cannot be joined, 130/143 on SIGINT/SIGTERM
    (its unfinished tasks go back in the queue once it has missed its heartbeats for the
    run's grace).
    """
    # Imported here: `linkcheck run` should not load Redis's client and the worker.
    from linkcheck.distributed.worker import run_worker

    setup_logging(verbose, quiet)
    try:
        check_seconds("--wait", wait, zero=True)
        summary = asyncio.run(
            run_worker(
                redis_url,
                run_id=run_id,
                concurrency=concurrency,
                wait=wait,
                handle_signals=True,
                waiting=None if quiet else click.echo,
            )
        )
    except ConfigError as exc:
        fail(str(exc))
    except Exception as exc:
        internal_error(exc, verbose)
    if summary.interrupted_by:
        sys.exit(ExitCode.interrupted(summary.interrupted_by))
    if not quiet:
        click.echo(
            f"worker {summary.name}: {summary.tasks_done} task(s) done for run "
            f"{summary.run_id}; left because {summary.reason}"
        )
