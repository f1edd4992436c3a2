"""Parse pages on the machine's other cores: worker processes fed over pipes.

A crawl is CPU-bound in one Python process (a web server serves pages far faster than
Python parses them; see bench/README.md). So the crawler hands pages to :class:`ParsePool`,
which sends each page's bytes to a worker process (``python -m linkcheck.parse_worker``)
and gets back a :class:`~linkcheck.digest.PageDigest`; the event loop meanwhile keeps
requests going.

Frames on both pipes are a marked header with the length, and a pickle
(:func:`linkcheck.parse_worker.frame`). Only this package's own worker speaks to the pool,
on pipes it created: nothing from the network is unpickled (a page's bytes travel as
bytes). Each worker answers in order, so the pool matches answers to requests by position.
A worker that dies, fails, or answers with anything but a whole frame takes nothing with
it: the pool stops it and says so (``None``), and the crawler digests that page, and every
later one, itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from linkcheck.digest import DigestSettings, PageDigest
from linkcheck.parse_worker import HEADER, READY, frame, frame_size

__all__ = ["MAX_WORKERS", "OnAnswer", "ParsePool", "auto_workers", "cores"]

log = logging.getLogger(__name__)

MAX_WORKERS = 4  # parsing is a part of a crawl: past this, the event loop is the limit


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def auto_workers(*, fetching: bool = True) -> int:
    """One worker per spare core, up to :data:`MAX_WORKERS`. ``fetching``: the event loop
    keeps a core busy with HTTP; reading a built folder's files leaves it mostly idle, so
    then every core parses."""
    count = cores()
    return max(0, min(MAX_WORKERS, count - 1 if fetching else count))


@dataclass(slots=True)
class _Worker:
    number: int  # 1, 2, ...: the crawler keeps each worker's ids apart (0 is in process)
    process: asyncio.subprocess.Process
    # (answer, token) per page sent, in the order sent: a worker answers in that order
    pending: deque[tuple[asyncio.Future[PageDigest | None], object]] = field(default_factory=deque)
    reader: asyncio.Task[None] | None = None
    alive: bool = True
    ready: bool = False  # it said READY: started, imports done


OnAnswer = Callable[[int, PageDigest, object], None]


class ParsePool:
    """Worker processes that digest pages; ``digest`` returns None when none can.

    ``on_answer(worker number, digest, token)`` is called for every digest as it arrives,
    in each worker's order, even when the page's task no longer waits for it: a digest
    hands out ids that later digests of that worker refer to, so none may be skipped or
    taken out of order (a task's wake-up order is not a promise asyncio makes).
    """

    def __init__(self, settings: DigestSettings, processes: int, on_answer: OnAnswer) -> None:
        self._settings = settings
        self._processes = processes
        self._on_answer = on_answer
        self._workers: list[_Worker] = []

    async def start(self) -> None:
        """Start the workers; a worker that cannot start is simply not used."""
        settings = frame(self._settings)
        for number in range(1, self._processes + 1):
            try:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "linkcheck.parse_worker",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            except OSError as exc:
                log.info("parse worker not started (%s): parsing in process", exc)
                break
            assert process.stdin is not None
            process.stdin.write(settings)
            worker = _Worker(number, process)
            worker.reader = asyncio.create_task(self._read_answers(worker))
            self._workers.append(worker)

    @property
    def alive(self) -> bool:
        return any(worker.alive for worker in self._workers)

    @property
    def ready(self) -> bool:
        """A live worker has started. Until one has, a page sent would only wait for its
        imports, while the crawler's own process could parse it."""
        return any(worker.alive and worker.ready for worker in self._workers)

    @property
    def backlog(self) -> int:
        """Pages the least busy started worker was sent and has not answered yet."""
        loads = [len(worker.pending) for worker in self._workers if worker.alive and worker.ready]
        return min(loads, default=0)

    async def digest(
        self,
        page_url: str,
        body: bytes,
        content_type: str | None,
        judge: tuple[bool, str | None],
        token: object,
    ) -> tuple[int, PageDigest] | None:
        """The page digested by a worker, with the worker's number; None if none could.

        ``judge`` is Digester.digest's (judge, probe_title); ``token`` is handed to
        ``on_answer`` with the digest (the page's crawl depth)."""
        live = [worker for worker in self._workers if worker.alive]
        if not live:
            return None
        started = [worker for worker in live if worker.ready] or live
        worker = min(started, key=lambda w: len(w.pending))
        stdin = worker.process.stdin
        assert stdin is not None
        answer: asyncio.Future[PageDigest | None] = asyncio.get_running_loop().create_future()
        worker.pending.append((answer, token))
        try:
            stdin.write(frame((page_url, body, content_type, *judge)))
            await stdin.drain()
        except (ConnectionError, RuntimeError):
            self._lost(worker)
        digest = await answer
        return None if digest is None else (worker.number, digest)

    async def _read_answers(self, worker: _Worker) -> None:
        """Take each answer in order. Once the crawl can take no more (it is ending), keep
        reading and dropping them: a worker blocked on a full pipe would never see the end of
        its input, and never exit. Whatever ends the reading - the worker's exit, a stream
        that is not frames (bytes lost or added: seen with a profiler pausing the worker), a
        frame that does not unpickle - the worker is stopped and its pages are parsed here:
        no page ever waits for an answer that cannot come."""
        stdout = worker.process.stdout
        assert stdout is not None
        taking = True
        try:
            while True:
                size = frame_size(await stdout.readexactly(HEADER))
                answer = pickle.loads(await stdout.readexactly(size))
                if answer is READY and not worker.ready:
                    worker.ready = True
                    continue
                if not worker.pending:
                    continue  # after a failure: the worker's last answers, dropped
                future, token = worker.pending.popleft()
                if taking and not isinstance(answer, PageDigest):  # it failed on this page
                    log.info("parse worker %d: %s; parsing in process", worker.number, answer)
                    taking = False
                elif taking:
                    try:
                        self._on_answer(worker.number, answer, token)
                    except Exception:  # the crawl is ending: its ids can no longer be taken
                        log.debug("parse worker %d: answer not taken", worker.number)
                        taking = False
                if not taking:
                    if not future.done():
                        future.set_result(None)
                    self._lost(worker)
                elif not future.done():  # its page's task may have been cancelled
                    future.set_result(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # it exited
        except Exception as exc:  # not frames: nothing more it says can be trusted
            log.info(
                "parse worker %d: unreadable answer (%s); parsing in process", worker.number, exc
            )
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()
        finally:
            self._lost(worker)

    def _lost(self, worker: _Worker) -> None:
        """A worker that died or failed gets no more pages; what it had is parsed in process."""
        if worker.alive:
            log.debug("parse worker %d stopped", worker.number)
        worker.alive = False
        while worker.pending:
            future, _ = worker.pending.popleft()
            if not future.done():
                future.set_result(None)

    async def close(self) -> None:
        """End every worker's input; kill a worker that holds no page (it has nothing to
        finish, and tearing down its interpreter would delay the end of every run), and give
        the others a moment to finish before they are killed too."""
        for worker in self._workers:
            worker.alive = False
            stdin = worker.process.stdin
            if stdin is not None:
                with contextlib.suppress(Exception):
                    stdin.close()
        for worker in self._workers:
            if not worker.pending:  # every answer taken, or still importing: holds nothing
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
            for attempt in range(2):  # ask (end of input), then insist (SIGKILL)
                try:
                    await asyncio.wait_for(worker.process.wait(), timeout=2)
                    break
                except TimeoutError:
                    if attempt == 0:
                        with contextlib.suppress(ProcessLookupError):
                            worker.process.kill()
            if worker.reader is not None:
                worker.reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await worker.reader
            self._lost(worker)
        self._workers = []
