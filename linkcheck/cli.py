"""The command line: parse options, call the library, map the outcome to an exit code.

Exit codes (a contract for CI scripts, documented in README.md):
  0  no link with a failing verdict
  1  links with a failing verdict found (see --fail-on / [report] fail_on)
  2  usage or configuration error, or nothing could be checked (start URL unusable)
  3  internal error (a bug in linkcheck)
  130 / 143  interrupted by SIGINT / SIGTERM (the partial report is still written)
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
from pathlib import Path

import click

from linkcheck._version import __version__
from linkcheck.allocator import return_large_blocks
from linkcheck.cli_common import fail as _fail
from linkcheck.cli_common import setup_logging as _setup_logging
from linkcheck.commands import register as register_memory_commands
from linkcheck.config import (
    DEFAULT_CONFIG_FILE,
    DEFAULT_FAIL_ON,
    FAIL_ON_CHOICES,
    REPORT_FORMATS,
    VERDICT_NAMES,
    Config,
    ConfigError,
    load_config,
    with_overrides,
)
from linkcheck.distributed.commands import register as register_distributed_commands
from linkcheck.local import describe, local_site
from linkcheck.models import RunResult, Verdict
from linkcheck.progress import ProgressLine
from linkcheck.report import write_reports
from linkcheck.report.load import ReportError, load_run
from linkcheck.report.terminal import summary_lines
from linkcheck.runner import run_check

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = {"SIGINT": 130, "SIGTERM": 143}

log = logging.getLogger("linkcheck")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="linkcheck")
def main() -> None:
    """linkcheck: crawl a site, check every link, and report dead and redirected links.

    Run `linkcheck run --help` for the main command.
    """
    return_large_blocks()  # a process of its own: the allocator is ours to tune
    # What the imports made lives as long as the process: collections need not walk it again.
    gc.freeze()


def entry() -> None:
    """What the ``linkcheck`` script and ``python -m linkcheck`` run (through
    :mod:`linkcheck.__main__`, which starts parse workers first): :func:`main`, then exit
    without taking the heap apart.

    A run leaves a large heap (every link, occurrence and result), and an interpreter
    exiting frees it object by object: ~50 ms after a 2,000-page crawl. Nothing is left
    to do by then: reports are renamed into place, the result store is closed, parse
    workers have exited; what is buffered in logging and the output streams is flushed
    here. A library caller of :func:`main` is not affected.
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what the interpreter does with sys.exit("message")
        code = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to flush to
            stream.flush()
    os._exit(code or 0)


@main.command()
@click.argument("start_urls", nargs=-1, metavar="[START_URL|FOLDER]...")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"Configuration file. Default: ./{DEFAULT_CONFIG_FILE} if it exists.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False),
    help="Folder for the reports. Default: reports (or [report] output).",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(REPORT_FORMATS),
    help="Report format; repeat for several. Default: html and json.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    help="Requests in flight at once, over all hosts. Default: 32.",
)
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    help="Crawl at most this many pages (links beyond are checked, not crawled).",
)
@click.option(
    "--max-depth",
    type=click.IntRange(min=0),
    help="Crawl at most this many clicks from a start URL (0: start pages only).",
)
@click.option(
    "--parse-workers",
    type=click.IntRange(min=-1),
    metavar="N",
    help="Processes that parse pages beside the one that fetches (0: none; -1, the default: "
    "one per spare CPU core, or per core for a built folder).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Total time allowed for one request, body included. Default: 20.",
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
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Stop the whole run after this long and report what was found (0: no limit). "
    "Default: 3600.",
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
    "Default: broken, error.",
)
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    envvar="LINKCHECK_REDIS",
    help="Share the run with workers through Redis (redis://host:6379/0); this process "
    "coordinates and writes the reports. Start workers with `linkcheck worker --redis URL`.",
)
@click.option(
    "--run",
    "run_id",
    metavar="ID",
    help="With --redis: the run's id; the id of an unfinished run continues it.",
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
    type=click.Path(dir_okay=False, exists=True),
    help="A report.json of an earlier run, for 'new' and 'fixed' in the reports "
    "(default: the report.json already in the output folder).",
)
@click.option("-v", "--verbose", count=True, help="Log each check (-vv: and each request).")
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
    resume: bool,
    no_cache: bool,
    compare: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Crawl from START_URL(s) (or start_urls in the config), check every link, write reports.

    Pages under a start URL's folder are crawled; every other link is checked once.
    Exit code: 0 no failing links, 1 failing links found, 2 usage/config error or nothing
    could be checked, 3 internal error, 130/143 interrupted (partial report written).
    """
    _setup_logging(verbose, quiet)
    try:
        folders = [arg for arg in start_urls if "://" not in arg and Path(arg).is_dir()]
        if folders and (len(folders) > 1 or len(folders) != len(start_urls)):
            raise ConfigError("give either one FOLDER or start URLs, not both")
        config = load_config(config_path)
        config = with_overrides(
            config,
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
        previous = _load_report(compare, occurrences=False) if compare else None
        progress = None if quiet else ProgressLine()
        if run_id and not redis_url:
            raise ConfigError("--run needs --redis")
        if redis_url:
            result = _run_distributed(config, redis_url, run_id, resume, quiet, progress)
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
        written = _write(result, config.report.formats, config.report.output, previous)
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE)
    except Exception as exc:  # a bug: one line for the user, the traceback with -v
        if verbose:
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc} (run with -v for details)", EXIT_INTERNAL
        )
    if not quiet:
        for line in summary_lines(result, written):
            click.echo(line)
    sys.exit(_exit_code(result, config.report.fail_on))


register_memory_commands(main)
register_distributed_commands(main)


@main.command()
@click.argument("report_json", metavar="REPORT.json", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(REPORT_FORMATS),
    help="Format to write; repeat for several. Default: html.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False),
    default="reports",
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
    help="Exit with 1 when the saved run has these verdicts (repeatable). Default: broken, error.",
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
        result = _load_report(report_json)
        previous = _load_report(compare, occurrences=False) if compare else None
        written = _write(result, formats or ("html",), output, previous)
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE)
    click.echo("Reports: " + ", ".join(str(path) for path in written))
    sys.exit(_exit_code(result, fail_on or DEFAULT_FAIL_ON))


@main.command("serve-demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8735,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
def serve_demo(host: str, port: int) -> None:
    """Serve the embedded demo guide and its carrier simulators (until Ctrl-C).

    The default config.toml checks this server: run `linkcheck run` in another terminal,
    or simply `make run`.
    """
    from linkcheck.demo.server import serve_forever

    click.echo(f"Serving the demo guide on http://{host}:{port}/guide/ (Ctrl-C to stop)")
    try:
        serve_forever(host, port)
    except OSError as exc:
        _fail(f"cannot serve the demo on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        pass


def _run_distributed(
    config: Config,
    redis_url: str,
    run_id: str | None,
    resume: bool,
    quiet: bool,
    progress: ProgressLine | None,
) -> RunResult:
    """Coordinate a run shared with workers through Redis (see docs in README: Distributed)."""
    if resume:
        raise ConfigError("--resume is for single runs; with --redis, continue a run with --run ID")
    from linkcheck.distributed import display_url, new_run_id, run_distributed

    run_id = run_id or new_run_id()
    if not quiet:
        click.echo(
            f"distributed run {run_id}: start workers with "
            f"`linkcheck worker --redis {display_url(redis_url)} --run {run_id}`",
            err=True,
        )
    return run_distributed(config, redis_url, run_id=run_id, progress=progress, handle_signals=True)


def _exit_code(result: RunResult, fail_on: tuple[str, ...]) -> int:
    if result.interrupted:
        return EXIT_INTERRUPTED.get(result.interrupted_by, 130)
    if result.setup_errors:
        for problem in result.setup_errors:
            click.echo(f"error: {problem}", err=True)
        return EXIT_USAGE
    if result.start_failures and len(result.start_failures) == len(result.start_urls):
        for failure in result.start_failures:
            click.echo(f"error: {failure}", err=True)
        return EXIT_USAGE
    for failure in result.start_failures:
        click.echo(f"warning: {failure}", err=True)
    if len(result.links) <= len(result.start_urls):
        click.echo(
            "error: no links found on the start page(s): nothing to check "
            "(is the content built by JavaScript, or the wrong URL?)",
            err=True,
        )
        return EXIT_USAGE
    failing = {Verdict(name) for name in fail_on if name in VERDICT_NAMES}
    for link in result.links.values():
        if link.result is None or link.result.verdict not in failing:
            continue
        memory = result.memory.get(link.url)
        if memory is None or memory.counts:  # accepted in the baseline, or not failing long
            return EXIT_PROBLEMS
    # "warning" fails on every finding (warnings, and the errors above them)
    severities = {"warning", "error"} if "warning" in fail_on else {"error"} & set(fail_on)
    if any(finding.severity in severities for finding in result.findings):
        return EXIT_PROBLEMS
    return EXIT_OK


def _load_report(path: str, *, occurrences: bool = True) -> RunResult:
    try:
        return load_run(path, occurrences=occurrences)
    except ReportError as exc:
        raise ConfigError(str(exc)) from None


def _write(
    result: RunResult, formats: tuple[str, ...], output: str, previous: RunResult | None = None
) -> list[Path]:
    try:
        return write_reports(result, formats, output, previous=previous)
    except OSError as exc:
        raise ConfigError(f"cannot write reports to {output}: {exc.strerror or exc}") from None
