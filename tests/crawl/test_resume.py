"""Resume: a run killed midway (SIGTERM, SIGKILL, a deadline) continues where it stopped,
without fetching again what was done, and ends with the same report as an unbroken run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from linkcheck.config import config_from_mapping
from linkcheck.runner import run_check
from tests.server import Reply, TestServer, page

REPO = Path(__file__).parents[2]
PAGES = 40  # within the default max_depth


def chain_site(delay: float) -> dict[str, Reply]:
    """Pages in a chain (so the crawl takes a while), each with a nav and a dead link."""
    routes: dict[str, Reply] = {}
    for n in range(PAGES):
        body = (
            f'<a href="{n + 1}.html">next</a><a href="0.html">home</a>'
            f'<a href="/gone{n % 7}">dead {n % 7}</a><a href="{n}.html#top">top</a>'
        )
        routes[f"/s/{n}.html"] = page(body, delay=delay)
    return routes


def is_page(path: str) -> bool:
    """A request for one of the site's pages (not robots.txt, a sitemap or a soft-404 probe)."""
    return path.startswith("/s/") and "linkcheck-probe" not in path


def content(report: dict[str, Any]) -> dict[str, Any]:
    """What a report says, without the facts of the run (times, durations)."""
    links = {
        link["url"]: (
            link["verdict"],
            link["status"],
            link["final_url"],
            link["error"],
            sorted((o["page"], o["href"], o["line"], o["text"]) for o in link["occurrences"]),
        )
        for link in report["links"]
    }
    pages = sorted((p["url"], p["title"], p["depth"], p["links"]) for p in report["pages"])
    return {
        "links": links,
        "pages": pages,
        "counts": report["counts"],
        "complete": report["run"]["complete"],
        "findings": sorted(json.dumps(f, sort_keys=True) for f in report["findings"]),
    }


def linkcheck(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linkcheck",
            "run",
            *args,
            "--format",
            "json",
            "-q",
            "--timeout",
            "5",
        ],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def write_config(folder: Path, start: str, extra: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(
        f'start_urls = ["{start}"]\n[http]\nrecheck = false\nconcurrency = 4\n'
        "[cache]\ncheckpoint_interval = 0.2\n" + extra,
        encoding="utf-8",
    )


def reference_report(tmp_path: Path, start: str, extra: str = "") -> dict[str, Any]:
    folder = tmp_path / "reference"
    write_config(folder, start, extra)
    process = linkcheck(folder)
    process.communicate(timeout=120)
    assert process.returncode == 1
    return content(json.loads((folder / "reports" / "report.json").read_text(encoding="utf-8")))


def wait_for_pages(server: TestServer, count: int) -> None:
    deadline = time.monotonic() + 30
    while sum(1 for r in server.requests if is_page(r.path)) < count:
        assert time.monotonic() < deadline, "the crawl did not get going"
        time.sleep(0.02)


def interrupted_then_resumed(
    tmp_path: Path, how: signal.Signals, extra: str = ""
) -> tuple[dict[str, Any], Counter[str]]:
    with TestServer(chain_site(delay=0.05)) as site:
        start = site.url("/s/0.html")
        reference = reference_report(tmp_path, start, extra)
        site.requests.clear()
        folder = tmp_path / "interrupted"
        write_config(folder, start, extra)
        process = linkcheck(folder)
        wait_for_pages(site, 25)
        time.sleep(0.3)  # let a resume point or two be saved
        process.send_signal(how)
        process.communicate(timeout=60)
        assert process.returncode == (-9 if how == signal.SIGKILL else 143)
        first_run = Counter(r.path for r in site.requests if is_page(r.path))
        assert 0 < len(first_run) < PAGES, "the run was not interrupted midway"
        resumed = linkcheck(folder, "--resume")
        _, stderr = resumed.communicate(timeout=120)
        assert resumed.returncode == 1, stderr
        assert "Traceback" not in stderr
        fetched = Counter(r.path for r in site.requests if is_page(r.path))
    report = json.loads((folder / "reports" / "report.json").read_text(encoding="utf-8"))
    assert content(report) == reference
    return report, fetched


def test_resume_after_sigkill_gives_the_same_report(tmp_path: Path) -> None:
    _, fetched = interrupted_then_resumed(tmp_path, signal.SIGKILL)
    # pages done before the last resume point were not fetched again; only those after it
    # (or in flight when the process died) were: a handful, never the whole crawl
    assert set(fetched) == {f"/s/{n}.html" for n in range(PAGES + 1)}  # the last one is dead
    assert sum(fetched.values()) < PAGES + 15


def test_resume_of_a_spilling_run_gives_the_same_report(tmp_path: Path) -> None:
    """Past occurrences_in_memory the occurrences and the variants' text go to the run's
    spill files, and each resume point stores only the variant bytes added since the last
    (read from the spill file and from memory): resumed after kill -9, the report is the
    one an unbroken run writes."""
    _, fetched = interrupted_then_resumed(
        tmp_path, signal.SIGKILL, "[crawl]\noccurrences_in_memory = 20\n"
    )
    assert sum(fetched.values()) < PAGES + 15


def test_resume_after_sigterm_gives_the_same_report(tmp_path: Path) -> None:
    _, fetched = interrupted_then_resumed(tmp_path, signal.SIGTERM)
    # SIGTERM saves a final resume point: at most the pages in flight are fetched twice
    assert sum(fetched.values()) <= PAGES + 4


def test_resume_after_the_run_deadline_in_process(tmp_path: Path) -> None:
    with TestServer(chain_site(delay=0.02)) as site:

        def config(**crawl: Any) -> Any:
            return config_from_mapping(
                {
                    "start_urls": [site.url("/s/0.html")],
                    "http": {"recheck": False, "concurrency": 4, "timeout": 5},
                    "crawl": crawl,
                    "cache": {
                        "path": str(tmp_path / "cache.sqlite"),
                        "baseline": str(tmp_path / "none.toml"),
                    },
                }
            )

        partial = run_check(config(max_duration=0.5))
        assert not partial.complete and any("max duration" in n for n in partial.limits_hit)
        done_before = {p.url for p in partial.pages}
        site.requests.clear()
        finished = run_check(config(max_duration=0.5 * 60), resume=True)
        refetched = {site.url(r.path) for r in site.requests if is_page(r.path)}
    assert len(finished.pages) == PAGES and finished.complete
    assert not (refetched & done_before)  # what was done stayed done


def test_resume_without_a_checkpoint_starts_afresh(tmp_path: Path) -> None:
    with TestServer(chain_site(delay=0)) as site:
        folder = tmp_path / "fresh"
        write_config(folder, site.url("/s/0.html"))
        process = linkcheck(folder, "--resume")
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    report = json.loads((folder / "reports" / "report.json").read_text(encoding="utf-8"))
    assert any("no interrupted run to resume" in note for note in report["run"]["notes"])


def test_finished_run_leaves_no_resume_point(tmp_path: Path) -> None:
    from linkcheck.checkpoint import checkpoint_key
    from linkcheck.store import Store

    with TestServer(chain_site(delay=0)) as site:
        config = config_from_mapping(
            {
                "start_urls": [site.url("/s/0.html")],
                "http": {"recheck": False},
                "cache": {"path": str(tmp_path / "c.sqlite"), "baseline": str(tmp_path / "b.toml")},
            }
        )
        run_check(config)
    with Store(tmp_path / "c.sqlite") as store:
        from linkcheck.runner import _with_start_urls
        from linkcheck.urls import normalize_url

        key = checkpoint_key(_with_start_urls(config, [normalize_url(config.start_urls[0])]))
        assert store.load_checkpoint(key) is None
