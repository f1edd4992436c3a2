"""SIGINT/SIGTERM cancel one task (not the process), so a coordinator still writes its report
and a worker still says it left."""

from __future__ import annotations

import asyncio
import functools
import signal
from collections.abc import Callable
from typing import Any


def cancel_on_signals(
    task: asyncio.Task[Any], received: list[signal.Signals]
) -> list[Callable[[], None]]:
    """Install the handlers; returns the functions that remove them again."""
    loop = asyncio.get_running_loop()
    removers: list[Callable[[], None]] = []

    def stop(signum: signal.Signals) -> None:
        received.append(signum)
        task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop, signum)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals
            continue
        removers.append(functools.partial(_remove, loop, signum))
    return removers


def _remove(loop: asyncio.AbstractEventLoop, signum: signal.Signals) -> None:
    loop.remove_signal_handler(signum)
