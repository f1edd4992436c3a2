"""Remembering between runs, end to end: cache reuse, history, tolerance, the baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from linkcheck.models import RunResult, Verdict
from tests.conftest import crawl, result
from tests.server import Reply, Seen, TestServer, page

REPO = Path(__file__).parents[2]


def remembering(tmp_path: Path, **cache: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "path": str(tmp_path / "cache.sqlite"),
        "baseline": str(tmp_path / "baseline.toml"),
        **cache,
    }


def test_external_results_are_reused_but_failures_never(tmp_path: Path) -> None:
    with TestServer({"/ok": Reply(200, "ok"), "/gone": Reply(404, "no")}) as ext:
        html = f'<a href="http://localhost:{ext.port}/ok">ok</a><a href="http://localhost:{ext.port}/gone">gone</a><a href="/in">in</a>'
        with TestServer({"/": page(html), "/in": page("")}) as site:
            for _ in range(2):
                run = crawl(
                    site.url("/"), http={"allow_private": True}, cache=remembering(tmp_path)
                )
            assert site.count("/in") == 2  # internal links are always checked
        assert ext.count("/ok") == 1  # the second run reused the first run's answer
        assert ext.count("/gone") == 2  # a failure is always checked again
    ok = result(run, f"http://localhost:{ext.port}/ok")
    assert ok.verdict is Verdict.OK and ok.from_cache
    assert run.cache_hits == 1


def test_cache_respects_max_age_and_no_cache(tmp_path: Path) -> None:
    with TestServer({"/ok": Reply(200, "ok")}) as ext:
        html = f'<a href="http://localhost:{ext.port}/ok">ok</a>'
        with TestServer({"/": page(html)}) as site:
            crawl(site.url("/"), http={"allow_private": True}, cache=remembering(tmp_path))
            crawl(
                site.url("/"), http={"allow_private": True}, cache=remembering(tmp_path, max_age=0)
            )
            from linkcheck.config import config_from_mapping
            from linkcheck.runner import run_check

            config = config_from_mapping(
                {
                    "start_urls": [site.url("/")],
                    "http": {"allow_private": True, "recheck": False},
                    "cache": remembering(tmp_path),
                }
            )
            run_check(config, use_cache=False)
        assert ext.count("/ok") == 3


def flaky_site() -> tuple[TestServer, list[int]]:
    state = [200]

    def carrier(seen: Seen) -> Reply:
        return Reply(state[0], "page")

    return TestServer(
        {
            "/": page('<a href="/carrier">carrier</a><a href="/fine">fine</a>'),
            "/carrier": carrier,
            "/fine": page(""),
        }
    ), state


def test_history_says_since_when_and_what_is_new_or_fixed(tmp_path: Path) -> None:
    server, state = flaky_site()
    with server as site:

        def run_once() -> RunResult:
            return crawl(site.url("/"), cache=remembering(tmp_path))

        run_once()
        state[0] = 404
        first_failure = run_once()
        second_failure = run_once()
        state[0] = 200
        fixed = run_once()
    url = site.url("/carrier")
    assert first_failure.memory[url].new and first_failure.memory[url].failing_runs == 1
    memory = second_failure.memory[url]
    assert (memory.new, memory.failing_runs) == (False, 2)
    assert memory.failing_since is not None
    assert abs((memory.failing_since - first_failure.started_at).total_seconds()) < 1
    assert fixed.fixed == [url]


def run_cli(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkcheck", "run", url, "-q", "--timeout", "2", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_failures_before_broken_tolerates_a_flaky_link(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        "[cache]\nfailures_before_broken = 2\n[http]\nrecheck = false\n", encoding="utf-8"
    )
    server, state = flaky_site()
    state[0] = 500
    with server as site:
        first = run_cli(tmp_path, site.url("/"))
        second = run_cli(tmp_path, site.url("/"))
    assert first.returncode == 0, first.stderr  # failing once: reported, tolerated
    assert second.returncode == 1  # failing twice in a row: now it counts
    report = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))
    carrier = next(link for link in report["links"] if link["url"].endswith("/carrier"))
    assert carrier["history"]["failing_runs"] == 2 and not carrier["history"]["tolerated"]


def test_baseline_accepts_known_problems_until_they_expire(tmp_path: Path) -> None:
    server, state = flaky_site()
    state[0] = 404
    with server as site:
        url = site.url("/carrier")
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        yesterday = (date.today() - timedelta(days=1)).isoformat()
        baseline = tmp_path / "linkcheck-baseline.toml"
        baseline.write_text(
            f'[[accepted]]\nurl = "{url}"\nreason = "carrier moving pages"\nexpires = {tomorrow}\n',
            encoding="utf-8",
        )
        accepted = run_cli(tmp_path, site.url("/"))
        assert accepted.returncode == 0, accepted.stderr
        report = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))
        carrier = next(link for link in report["links"] if link["url"] == url)
        assert carrier["verdict"] == "broken"  # still reported...
        assert carrier["history"]["accepted"] == "carrier moving pages"  # ...as accepted
        baseline.write_text(
            baseline.read_text(encoding="utf-8").replace(tomorrow, yesterday), encoding="utf-8"
        )
        expired = run_cli(tmp_path, site.url("/"))
        assert expired.returncode == 1
        report = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))
        assert report["run"]["expired_acceptances"] == [url]


def test_baseline_update_writes_the_current_problems(tmp_path: Path) -> None:
    server, state = flaky_site()
    state[0] = 404
    with server as site:
        assert run_cli(tmp_path, site.url("/")).returncode == 1
        update = subprocess.run(
            [sys.executable, "-m", "linkcheck", "baseline", "update", "--reason", "known"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert update.returncode == 0, update.stderr
        assert run_cli(tmp_path, site.url("/")).returncode == 0
    assert site.url("/carrier") in (tmp_path / "linkcheck-baseline.toml").read_text(
        encoding="utf-8"
    )


def test_malformed_baseline_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "linkcheck-baseline.toml").write_text(
        '[[accepted]]\nurl = "x"\nreson = "typo"\n', encoding="utf-8"
    )
    proc = run_cli(tmp_path, "http://127.0.0.1:1/")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "linkcheck-baseline.toml" in proc.stderr


def test_reports_show_the_history(tmp_path: Path) -> None:
    from linkcheck.report.html_report import render_html
    from linkcheck.report.terminal import summary_lines

    server, state = flaky_site()
    state[0] = 404
    with server as site:
        for _ in range(3):
            run = crawl(site.url("/"), cache=remembering(tmp_path))
    html = "".join(render_html(run))
    assert "3 runs in a row" in html
    assert any("failing 3 runs in a row" in line for line in summary_lines(run, []))
