"""``linkcheck run``: crawl a site (or check a built folder), check every link, write reports."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from linkcheck.cli.common import (
    REDIS_ENV,
    SafePath,
    check_seconds,
    exit_codes_help,
    explain,
    fail,
    internal_error,
    setup_logging,
    verbose_option,
)
from linkcheck.cli.report import load_saved_run, write
from linkcheck.config import (
    AUTO_PARSE_WORKERS,
    DEFAULT_CONCURRENCY,
    DEFAULT_CONFIG_FILE,
    DEFAULT_FAIL_ON,
    DEFAULT_FORMATS,
    DEFAULT_MAX_DURATION,
    DEFAULT_MAX_PAGES,
    DEFAULT_OUTPUT,
    DEFAULT_TIMEOUT,
    FAIL_ON_CHOICES,
    REPORT_FORMATS,
    Config,
    ConfigError,
    load_config,
    with_overrides,
)
from linkcheck.distributed.keys import DEFAULT_GRACE, DEFAULT_LEASE
from linkcheck.lifecycle import StoppedWritingReports, reports_first
from linkcheck.local import describe, folder_argument_problem, local_site
from linkcheck.models import RunResult
from linkcheck.outcome import ExitCode, judge
from linkcheck.progress import ProgressLine
from linkcheck.report import PREVIOUS_RUN_FILE
from linkcheck.report.terminal import summary_lines
from linkcheck.runner import run_check


# Numbers are checked by linkcheck.config (ranges, finite) as the same keys in config.toml
# are, so an option and its config key take the same values and say so in the same words.
@click.command(epilog=exit_codes_help())
@click.argument("start_urls", nargs=-1, metavar="[START_URL|FOLDER]...")
@click.option(
    "--config",
    "config_path",
    type=SafePath(dir_okay=False),
    help=f"Configuration file. Default: ./{DEFAULT_CONFIG_FILE} if it exists.",
)
@click.option(
    "-o",
    "--output",
    type=SafePath(file_okay=False),
    help=f"Folder for the reports. Default: {DEFAULT_OUTPUT} (or [report] output).",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(REPORT_FORMATS),
    help=f"Report format; repeat for several. Default: {' and '.join(DEFAULT_FORMATS)}.",
)
@click.option(
    "--concurrency",
    type=int,
    help=f"Requests in flight at once, over all hosts. Default: {DEFAULT_CONCURRENCY}.",
)
@click.option(
    "--max-pages",
    type=int,
    help="Crawl at most this many pages (links beyond are checked, not crawled). "
    f"Default: {DEFAULT_MAX_PAGES}.",
)
@click.option(
    "--max-depth",
    type=int,
    help="Crawl at most this many clicks from a start URL (0: start pages only).",
)
@click.option(
    "--parse-workers",
    type=int,
    metavar="N",
    help="Processes that parse pages beside the one that fetches (0: none; "
    f"{AUTO_PARSE_WORKERS}, the default: one per spare CPU core, or per core for a built "
    "folder).",
)
@click.option(
    "--timeout",
    type=float,
    metavar="SECONDS",
    help=f"Total time allowed for one request, body included. Default: {DEFAULT_TIMEOUT:g}.",
)
@click.option(
    "--include",
    multiple=True,
    metavar="REGEX",
    help="Also crawl URLs matching REGEX (repeatable; replaces [crawl] include).",
)
@click.option(
    "--exclude",
    multiple=True,
    metavar="REGEX",
    help="Neither crawl nor check URLs matching REGEX (repeatable; replaces [crawl] exclude).",
)
@click.option(
    "--no-external",
    is_flag=True,
    default=None,
    help="Do not check links that leave the crawl scope.",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="With a FOLDER: the address it is served at, e.g. https://example.com/guide/ "
    "(links written with it are checked against the files).",
)
@click.option(
    "--offline",
    is_flag=True,
    default=None,
    help="Make no network request: links outside the site or folder are not checked.",
)
@click.option(
    "--max-duration",
    type=float,
    metavar="SECONDS",
    help="Stop the whole run after this long and report what was found (0: no limit). "
    f"Default: {DEFAULT_MAX_DURATION:g}.",
)
@click.option(
    "--allow-private",
    is_flag=True,
    default=None,
    help="Let external links reach private and loopback addresses (off by default: only "
    "the crawled site and hosts named in the config may be private).",
)
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    type=click.Choice(FAIL_ON_CHOICES),
    help="Verdicts that make the exit code 1 (repeatable; 'warning': any content finding). "
    f"Default: {', '.join(DEFAULT_FAIL_ON)}.",
)
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    envvar=REDIS_ENV,
    help="Share the run with workers through Redis (redis://host:6379/0); this process "
    "coordinates and writes the reports. Start workers with `linkcheck worker --redis URL`.",
)
@click.option(
    "--run",
    "run_id",
    metavar="ID",
    help="With --redis: continue the run ID (after an outage, Ctrl-C, max_duration). A run "
    "Redis no longer holds is an error, not a new start.",
)
@click.option(
    "--lease",
    type=float,
    metavar="SECONDS",
    help="With --redis, a new run: how long a task stays with a worker that stopped renewing "
    f"it before another takes it over. Default: {DEFAULT_LEASE:g}.",
)
@click.option(
    "--grace",
    type=float,
    metavar="SECONDS",
    help="With --redis, a new run: how long a worker may miss its heartbeats before it is "
    f"declared dead and its tasks go back in the queue. Default: {DEFAULT_GRACE:g}.",
)
@click.option(
    "--no-work",
    is_flag=True,
    help="With --redis: only coordinate and write the reports; the workers do every task.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the interrupted run with the same settings (after Ctrl-C, a CI timeout, a "
    "crash) from its newest resume point, without fetching again what was done.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Check every link afresh: reuse no result from earlier runs (history is still kept).",
)
@click.option(
    "--compare",
    type=SafePath(dir_okay=False, exists=True),
    help="A report.json of an earlier run, for 'new' and 'fixed' in the reports "
    f"(default: the {PREVIOUS_RUN_FILE} already in the output folder).",
)
@verbose_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors; no progress line.")
def run(
    start_urls: tuple[str, ...],
    config_path: str | None,
    output: str | None,
    formats: tuple[str, ...],
    concurrency: int | None,
    max_pages: int | None,
    max_depth: int | None,
    parse_workers: int | None,
    timeout: float | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    no_external: bool | None,
    base_url: str | None,
    offline: bool | None,
    max_duration: float | None,
    allow_private: bool | None,
    fail_on: tuple[str, ...],
    redis_url: str | None,
    run_id: str | None,
    lease: float | None,
    grace: float | None,
    no_work: bool,
    resume: bool,
    no_cache: bool,
    compare: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Crawl from START_URL(s) (or start_urls in the config), check every link, write reports.

    Pages under a start URL's folder are crawled; every other link is checked once.
    """
    setup_logging(verbose, quiet)
    try:
        for arg in start_urls:
            problem = folder_argument_problem(arg)
            if problem is not None:
                raise ConfigError(problem)
        folders = [arg for arg in start_urls if "://" not in arg and Path(arg).is_dir()]
        if folders and (len(folders) > 1 or len(folders) != len(start_urls)):
            raise ConfigError("give either one FOLDER or start URLs, not both")
        config = with_overrides(
            load_config(config_path),
            start_urls=None if folders else (list(start_urls) or None),
            root=folders[0] if folders else None,
            base_url=base_url,
            output=output,
            formats=list(formats) or None,
            concurrency=concurrency,
            max_pages=max_pages,
            max_depth=max_depth,
            parse_workers=parse_workers,
            timeout=timeout,
            include=list(include) or None,
            exclude=list(exclude) or None,
            check_external=False if (no_external or offline) else None,
            max_duration=max_duration,
            allow_private=True if allow_private else None,
            fail_on=list(fail_on) or None,
        )
        if config.local.root and not quiet:
            click.echo(describe(local_site(config)), err=True)
        previous = load_saved_run(compare, occurrences=False) if compare else None
        progress = None if quiet else ProgressLine()
        distributed = Distributed(run_id, lease, grace, no_work)
        if not redis_url and distributed.named():
            raise ConfigError(f"{distributed.named()} needs --redis")
        if redis_url:
            result = _run_distributed(config, redis_url, distributed, resume, quiet, progress)
        else:
            result = run_check(
                config,
                progress=progress,
                handle_signals=True,
                use_cache=not no_cache,
                resume=resume,
            )
        if progress is not None:
            progress.clear()
        with reports_first(lambda line: click.echo(f"linkcheck: {line}", err=True)) as stopped:
            written = write(result, config.report.formats, config.report.output, previous)
    except StoppedWritingReports as exc:
        click.echo(f"linkcheck: {exc.signum.name} again: stopped, no report written", err=True)
        sys.exit(ExitCode.interrupted(exc.signum.name))
    except ConfigError as exc:
        fail(str(exc))
    except Exception as exc:
        internal_error(exc, verbose)
    if not quiet:
        for line in summary_lines(result, written):
            click.echo(line)
    if stopped:  # the run was whole; it was asked to stop while the reports were written
        sys.exit(ExitCode.interrupted(stopped[0].name))
    sys.exit(explain(judge(result, config.report.fail_on)))


@dataclass(frozen=True, slots=True)
class Distributed:
    """The options that only a distributed run (--redis) takes."""

    run_id: str | None
    lease: float | None
    grace: float | None
    no_work: bool

    def named(self) -> str:
        """The first of these options given, for "needs --redis" ('' when none is)."""
        given = (
            ("--run", self.run_id is not None),
            ("--lease", self.lease is not None),
            ("--grace", self.grace is not None),
            ("--no-work", self.no_work),
        )
        return next((name for name, used in given if used), "")


def _run_distributed(
    config: Config,
    redis_url: str,
    options: Distributed,
    resume: bool,
    quiet: bool,
    progress: ProgressLine | None,
) -> RunResult:
    """Coordinate a run shared with workers through Redis (docs/distributed.md)."""
    if resume:
        raise ConfigError("--resume is for single runs; with --redis, continue a run with --run ID")
    check_seconds("--lease", options.lease)
    check_seconds("--grace", options.grace)
    # Imported here: a single run should not load Redis's client and the coordinator.
    from linkcheck.distributed import display_url, new_run_id, run_distributed

    run_id = options.run_id or new_run_id()
    if not quiet:
        click.echo(
            f"distributed run {run_id}: start workers with "
            f"`linkcheck worker --redis {display_url(redis_url)} --run {run_id}`",
            err=True,
        )
    return run_distributed(
        config,
        redis_url,
        run_id=run_id,
        resume=options.run_id is not None,  # --run continues: a lost run is no new start
        progress=progress,
        handle_signals=True,
        work=not options.no_work,
        lease=DEFAULT_LEASE if options.lease is None else options.lease,
        grace=DEFAULT_GRACE if options.grace is None else options.grace,
    )
