"""Click commands of a distributed run: ``worker`` and ``status`` (and ``coordinator``).

Register ``worker`` and ``status`` on the main group with :func:`register`; the coordinator
is ``linkcheck run --redis URL``, wired in linkcheck.cli. ``coordinator`` here is a stand-in
with the main options of ``run``, used by ``python -m linkcheck.distributed`` (tests, the
benchmark). Like the rest of the CLI they only translate: a problem is one line on stderr
and exit code 2, never a traceback (``-v`` shows it for internal errors, exit code 3).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from linkcheck.cli_common import fail as _fail
from linkcheck.cli_common import setup_logging as _setup_logging
from linkcheck.config import REPORT_FORMATS, ConfigError, load_config, with_overrides
from linkcheck.distributed.keys import DEFAULT_LEASE, DEFAULT_WAIT, new_run_id

# The coordinator, worker and status modules (and Redis's client) are imported by the
# commands that use them: `linkcheck run` should not pay for loading them.

EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = {"SIGINT": 130, "SIGTERM": 143}

redis_option = click.option(
    "--redis",
    "redis_url",
    required=True,
    metavar="URL",
    envvar="LINKCHECK_REDIS",
    help="The Redis that holds the run: redis://host:6379/0, or rediss://:PASSWORD@host:6380/0 "
    "for TLS (env: LINKCHECK_REDIS).",
)
run_option = click.option(
    "--run",
    "run_id",
    metavar="ID",
    help="The run to use (default: the run most recently started on this Redis).",
)


def register(group: click.Group) -> None:
    """Add ``worker`` and ``status`` to the main command group."""
    group.add_command(worker_command)
    group.add_command(status_command)


@click.command("worker")
@redis_option
@run_option
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
@click.option("-v", "--verbose", count=True, help="Log each check (-vv: and each request).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def worker_command(
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
    (its unfinished tasks go to the other workers after the run's lease).
    """
    from linkcheck.distributed.worker import run_worker

    _setup_logging(verbose, quiet)
    try:
        summary = asyncio.run(
            run_worker(
                redis_url,
                run_id=run_id,
                concurrency=concurrency,
                wait=wait,
                handle_signals=True,
            )
        )
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE)
    except Exception as exc:
        _internal(exc, verbose)
    if summary.interrupted_by:
        sys.exit(EXIT_INTERRUPTED.get(summary.interrupted_by, 130))
    if not quiet:
        click.echo(
            f"worker {summary.name}: {summary.tasks_done} task(s) done for run "
            f"{summary.run_id}; left because {summary.reason}"
        )


@click.command("status")
@redis_option
@run_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status_command(redis_url: str, run_id: str | None, as_json: bool) -> None:
    """Show a distributed run's progress: pages, links, tasks in flight, per worker."""
    from linkcheck.distributed.status import read_status, status_lines

    try:
        status = asyncio.run(read_status(redis_url, run_id))
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE)
    except Exception as exc:
        _internal(exc, 0)
    if as_json:
        click.echo(json.dumps(status.document(), ensure_ascii=False))
        return
    for line in status_lines(status):
        click.echo(line)


@click.command("coordinator")
@click.argument("start_urls", nargs=-1, metavar="[START_URL]...")
@redis_option
@run_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file.")
@click.option("-o", "--output", type=click.Path(file_okay=False), help="Report folder.")
@click.option("--format", "formats", multiple=True, type=click.Choice(REPORT_FORMATS))
@click.option("--concurrency", type=click.IntRange(min=1))
@click.option("--max-pages", type=click.IntRange(min=1))
@click.option("--allow-private", is_flag=True, default=None)
@click.option(
    "--lease",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_LEASE,
    show_default=True,
    metavar="SECONDS",
    help="How long a silent worker keeps its tasks before others take them over.",
)
@click.option("--no-work", is_flag=True, help="Only coordinate: leave every task to workers.")
@click.option("--timings", type=click.Path(dir_okay=False), hidden=True)
@click.option("-v", "--verbose", count=True)
@click.option("-q", "--quiet", is_flag=True)
def coordinator_command(
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
    no_work: bool,
    timings: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Start (or with --run, resume) a distributed run and write its reports.

    A stand-in for `linkcheck run --redis URL` until the main CLI has it.
    """
    from linkcheck.distributed.coordinator import run_distributed
    from linkcheck.report import write_reports

    _setup_logging(verbose, quiet)
    phases: dict[str, float] = {}
    try:
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
            timings=phases,
        )
        written = write_reports(result, config.report.formats, config.report.output)
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE)
    except Exception as exc:
        _internal(exc, verbose)
    if timings:
        Path(timings).write_text(json.dumps(phases), encoding="utf-8")
    if not quiet:
        click.echo("Reports: " + ", ".join(str(path) for path in written))
    if result.interrupted:
        sys.exit(EXIT_INTERRUPTED.get(result.interrupted_by, 130))


def _internal(exc: Exception, verbose: int) -> NoReturn:
    if verbose:
        raise exc
    _fail(f"internal error: {type(exc).__name__}: {exc} (run with -v for details)", EXIT_INTERNAL)
