"""A run's lifecycle: its start URLs and store, its deadline, SIGINT/SIGTERM, progress ticks.

Both ways to run a check (linkcheck.runner, linkcheck.distributed.coordinator) begin and wait
for their work here: a deadline or a signal stops the work, never the report, which then says
how the run ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from linkcheck.config import Config, ConfigError
from linkcheck.crawl_state import CrawlStats
from linkcheck.store import Store, StoreError
from linkcheck.urls import InvalidURL, normalize_url

log = logging.getLogger(__name__)

ProgressCallback = Callable[[CrawlStats], None]
PROGRESS_INTERVAL = 0.2  # seconds between progress callbacks


def start_urls(config: Config) -> list[str]:
    """The run's start URLs, normalised, each once; a ConfigError when there is none or one
    is not a URL."""
    if not config.start_urls:
        raise ConfigError(
            "no start URL: give one on the command line or set start_urls in config.toml"
        )
    try:
        return list(dict.fromkeys(normalize_url(url) for url in config.start_urls))
    except InvalidURL as exc:
        raise ConfigError(f"start URL: {exc}") from None


def open_store(config: Config) -> Store | None:
    """The run's memory, or None (disabled, or unusable: a warning, never a failed run)."""
    if not config.cache.enabled:
        return None
    try:
        return Store(config.cache.path)
    except (StoreError, OSError) as exc:
        log.warning("working without the result cache and history (%s): %s", config.cache.path, exc)
        return None


@dataclass(slots=True)
class Ending:
    """How the run's work ended, for the RunResult."""

    interrupted: bool = False  # a signal, or the run's task was cancelled
    out_of_time: bool = False  # the run reached max_duration
    received: list[signal.Signals] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return not (self.interrupted or self.out_of_time)

    @property
    def interrupted_by(self) -> str:
        """The signal's name, "cancelled", or "" for a run that was not interrupted."""
        if self.received:
            return self.received[0].name
        return "cancelled" if self.interrupted else ""


async def run_until_done(
    work: asyncio.Task[None], *, deadline: float | None, handle_signals: bool
) -> Ending:
    """Wait for ``work`` until it is done, the deadline passes (seconds; None: no deadline),
    or (``handle_signals``) SIGINT/SIGTERM cancel it. Only a cancellation of the caller
    itself propagates: everything else ends the work and says how."""
    ending = Ending()
    removers = cancel_on_signals(work, ending.received) if handle_signals else []
    try:
        done, _ = await asyncio.wait({work}, timeout=deadline)
        if not done:  # the whole-run deadline: stop, and report what was found
            ending.out_of_time = True
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
        else:
            await work
    except asyncio.CancelledError:
        ending.interrupted = True
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we ourselves were cancelled, not the work: do not swallow it
    finally:
        for remove in removers:
            remove()
    return ending


def cancel_on_signals(
    task: asyncio.Task[Any], received: list[signal.Signals]
) -> list[Callable[[], None]]:
    """Make SIGINT/SIGTERM cancel ``task`` (not the process), so a report is still written
    and a worker still says it left. Returns the functions that remove the handlers."""
    loop = asyncio.get_running_loop()
    removers: list[Callable[[], None]] = []

    def stop(signum: signal.Signals) -> None:
        received.append(signum)
        task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop, signum)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            continue
        removers.append(functools.partial(_remove, loop, signum))
    return removers


def _remove(loop: asyncio.AbstractEventLoop, signum: signal.Signals) -> None:
    loop.remove_signal_handler(signum)


class StoppedWritingReports(KeyboardInterrupt):
    """A second SIGINT or SIGTERM while the reports were written (see :func:`reports_first`)."""

    def __init__(self, signum: signal.Signals) -> None:
        super().__init__(signum.name)
        self.signum = signum


@contextlib.contextmanager
def reports_first(
    say: Callable[[str], None] = lambda line: None,
) -> Iterator[list[signal.Signals]]:
    """SIGINT or SIGTERM while the reports are written: they are finished first (they hold
    what the run found, and take seconds at most), and the signal is only recorded in the
    list yielded, for the exit code; ``say`` tells the user so. A second one stops the
    writing at once (:class:`StoppedWritingReports`). Outside the main thread, nothing
    changes (signals reach only the main thread)."""
    received: list[signal.Signals] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def defer(signum: int, frame: object) -> None:
        if received:
            raise StoppedWritingReports(signal.Signals(signum))
        received.append(signal.Signals(signum))
        say(f"{signal.Signals(signum).name}: finishing the reports first (once more to stop now)")

    before = {signum: signal.signal(signum, defer) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


@contextlib.asynccontextmanager
async def ticking(
    progress: ProgressCallback | None, read: Callable[[], Awaitable[CrawlStats]]
) -> AsyncIterator[None]:
    """Call ``progress`` with the counters ``read`` gives, now and every PROGRESS_INTERVAL,
    while the block runs (nothing, without a callback)."""
    if progress is None:
        yield
        return
    ticker = asyncio.create_task(_tick(progress, read))
    try:
        yield
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


async def _tick(progress: ProgressCallback, read: Callable[[], Awaitable[CrawlStats]]) -> None:
    while True:
        progress(await read())
        await asyncio.sleep(PROGRESS_INTERVAL)
