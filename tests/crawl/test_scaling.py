"""Issue #23: a crawl's cost per page must not grow with the size of the run.

Two crawls of the same generated site shape (bench/gensite_other.py: a deep tree, ~75 links
a page, #fragments) at two sizes over a loopback server, resume points saved often, both past
the occurrences kept in memory: the CPU each extra page costs must stay close to what a page
of the small run cost. A cost that grows with the run (a queue scanned per page, a resume
point rebuilt whole and often, spill rounds or reads that grow with the links) makes the big
run's extra pages dearer; the bound is generous, so that a busy machine does not make the
test flaky.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.server import serving_with_closed_neighbours

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import gensite_other  # noqa: E402  (bench/ is not a package)

SMALL, LARGE = 500, 2000
MAX_RATIO = 2.0  # the large run's CPU per extra page against the small run's per page
# Both runs spill (~75 occurrences a page): the small one once, the large one 7 times, so a
# cost of the spill that grows with the run (rounds that write a batch for every link, reads
# that scan the spill for each link) is in what is compared.
IN_MEMORY = 20_000


class _Quiet(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real server

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[tuple[ThreadingHTTPServer, int]]:
    # the site's other hosts' ports held shut: refused at once in both crawls compared
    with serving_with_closed_neighbours(_Quiet, len(gensite_other.EXT_HOSTS)) as server:
        yield server, server.server_address[1]


def crawl_cpu(tmp: Path, pages: int, server: ThreadingHTTPServer, port: int) -> float:
    """CPU seconds (the crawl's process and its parse worker) to check a site of ``pages``."""
    site = tmp / f"site{pages}"
    gensite_other.generate(site, pages, port=port)
    server.RequestHandlerClass = partial(_Quiet, directory=str(site / "www" / "main"))  # type: ignore[assignment]
    work = tmp / f"run{pages}"
    work.mkdir()
    (work / "config.toml").write_text(
        "[http]\nrecheck = false\nretries = 0\ntimeout = 2\n[cache]\ncheckpoint_interval = 0.5\n"
        f"[crawl]\noccurrences_in_memory = {IN_MEMORY}\n",
        encoding="utf-8",
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "linkcheck",
            "run",
            f"http://127.0.0.1:{port}/docs/index.html",
            "--format",
            "json",
            "-q",
            "--max-pages",
            "100000",
            "--allow-private",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 1, done.stderr[-2000:]  # the site has broken links
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def test_cost_per_page_does_not_grow_with_the_run(
    tmp_path: Path, serve: tuple[ThreadingHTTPServer, int]
) -> None:
    server, port = serve
    small = crawl_cpu(tmp_path, SMALL, server, port)
    large = crawl_cpu(tmp_path, LARGE, server, port)
    per_page = small / SMALL  # start-up included: it only makes this bound looser
    per_extra_page = (large - small) / (LARGE - SMALL)
    print(f"CPU s: {small:.2f} for {SMALL} pages, {large:.2f} for {LARGE}")
    assert per_extra_page < MAX_RATIO * per_page, (small, large)
