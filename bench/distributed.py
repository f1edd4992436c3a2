#!/usr/bin/env python3
"""Benchmark a distributed run: the generated bench site checked by 1, 2 and 4 workers.

Why: to know what Redis costs and what more processes buy on one machine. Each setting
runs a coordinator that only coordinates (``--no-work``) and N worker processes, all
``python -m linkcheck.distributed`` on this machine, against the site of ``gensite.py``
served by ``serve.py``'s nginx and a private ``redis-server`` on loopback. A single-machine
``linkcheck run`` of the same site is the baseline, and every distributed report is
compared with its report (same links, verdicts, occurrences, pages) and with the site's
ground truth.

Measured per setting: wall time (coordinator start to exit), pages/s and URLs/s, CPU of
the workers, of the coordinator and of Redis, the coordinator's own phases (setup, crawl:
the workers' time, assemble: reading every record back from Redis into a crawl, finish: the
crawler's site-wide steps), and what Redis did per crawled page: the commands it ran
(``INFO commandstats``, those a script calls included, and the script calls alone) and the
bytes it read and wrote (``INFO stats`` total_net_input_bytes + total_net_output_bytes).
Commands and bytes are the same on a busy machine; wall times are not, so ``--runs N``
runs N rounds, each setting once a round (the single run first), and reports medians.

Usage (project venv active, nginx and redis-server installed)::

    python bench/distributed.py                      # 10,000 pages; 1, 2 and 4 workers
    python bench/distributed.py --pages 500 --workers 1 2
    python bench/distributed.py --pages 2000 --workers 2 4 --runs 3   # bench/README's table
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import gensite  # noqa: E402
from run_bench import check_correctness, count_occurrences, machine_info  # noqa: E402
from serve import NginxServer, find_free_port_block  # noqa: E402

CONFIG = "[cache]\nenabled = false\n"  # every run starts cold; otherwise the defaults
TIMEOUT = 900.0  # seconds for one setting


@dataclass
class Setting:
    """One measured configuration: the baseline (workers=0) or N workers."""

    workers: int
    wall_s: float = 0.0
    pages: int = 0
    urls: int = 0
    pages_per_s: float = 0.0
    urls_per_s: float = 0.0
    worker_cpu_s: float = 0.0
    coordinator_cpu_s: float = 0.0
    redis_cpu_s: float = 0.0
    redis_peak_mib: float = 0.0
    redis_commands: int = 0  # every command Redis ran, a script's own included
    redis_script_calls: int = 0  # EVAL/EVALSHA: one per commit, claim or slot step
    redis_bytes: int = 0  # read and written by Redis
    top_commands: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    same_as_single: bool | None = None
    same_runs: str = ""  # of several runs, how many wrote the single run's report: "2/3"
    # wall time over the same round's single run, one a round: a drifting machine moves
    # both runs of a round together, so these vary less than the medians' ratio
    round_ratios: list[float] = field(default_factory=list)
    correct: bool = False
    false_alarms: int = 0
    error: str = ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=gensite.SEED_DEFAULT)
    parser.add_argument("--runs", type=int, default=1, help="runs per setting (medians)")
    parser.add_argument("--workdir", type=Path, help="keep the site, reports and logs here")
    parser.add_argument("--results", type=Path, help="write the figures as JSON here")
    parser.add_argument(
        "--extra-config", default="", help='more TOML, e.g. "[http]\nper_host_concurrency = 64"'
    )
    args = parser.parse_args(argv)
    redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(redis_server, os.X_OK):
        print("redis-server is not installed (scripts/install-redis.sh)", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        if args.workdir:
            work = args.workdir.resolve()
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lc-dist-")))
        port = find_free_port_block(4)
        truth = gensite.generate(work / "site", args.pages, port, args.seed)
        site = json.loads((work / "site" / "site.json").read_text())
        (work / "config.toml").write_text(CONFIG + args.extra_config + "\n", encoding="utf-8")
        print(
            f"site: {truth['pages']} pages, {truth['unique_urls']} URLs, "
            f"{truth['link_occurrences']} links",
            file=sys.stderr,
        )
        stack.enter_context(NginxServer(work / "site"))
        # Rounds, each setting once a round: on a machine whose speed drifts (a shared
        # host), a setting's runs are spread over the same minutes as the single runs'.
        singles: list[Setting] = []
        tries: dict[int, list[Setting]] = {count: [] for count in args.workers}
        reference: dict[str, Any] = {}
        for _ in range(max(1, args.runs)):
            singles.append(single_run(work, site, truth, args))
            print(_line(singles[-1]), file=sys.stderr)
            reference = reference or _comparable(work / "out-single" / "report.json")
            for count in args.workers:
                tries[count].append(
                    distributed_run(work, site, truth, args, count, redis_server, reference)
                )
                print(_line(tries[count][-1]), file=sys.stderr)
        settings = [median(singles)]
        for count in args.workers:
            merged = median(tries[count])
            rounds = zip(tries[count], singles, strict=True)
            merged.round_ratios = [run.wall_s / single.wall_s for run, single in rounds]
            settings.append(merged)
    print(table(settings, args))
    if args.results:
        args.results.write_text(
            json.dumps(
                {
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "machine": machine_info(),
                    "pages": args.pages,
                    "concurrency": args.concurrency,
                    "runs": max(1, args.runs),
                    "settings": [asdict(s) for s in settings],
                },
                indent=1,
            ),
            encoding="utf-8",
        )
    return 0 if all(s.correct and s.same_as_single is not False for s in settings) else 1


def single_run(
    work: Path, site: dict[str, Any], truth: dict[str, Any], args: argparse.Namespace
) -> Setting:
    out = work / "out-single"
    shutil.rmtree(out, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "linkcheck",
        "run",
        site["start_url"],
        "--config",
        str(work / "config.toml"),
        *_common(out, args),
    ]
    setting = Setting(workers=0)
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=work, stdout=subprocess.DEVNULL)
    code, cpu = _reap(process)
    setting.wall_s = time.perf_counter() - began
    setting.coordinator_cpu_s = cpu
    _score(setting, out, truth, site, ok=code in (0, 1), code=code)
    return setting


def distributed_run(
    work: Path,
    site: dict[str, Any],
    truth: dict[str, Any],
    args: argparse.Namespace,
    count: int,
    redis_server: str,
    reference: dict[str, Any],
) -> Setting:
    out = work / f"out-{count}"
    shutil.rmtree(out, ignore_errors=True)
    port = _free_port()
    redis = subprocess.Popen(
        [
            redis_server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    setting = Setting(workers=count)
    stack = contextlib.ExitStack()
    try:
        _wait_for_port(port)
        run_id = f"bench-{count}"
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "linkcheck.distributed",
                    "worker",
                    "--redis",
                    url,
                    "--run",
                    run_id,
                    "--wait",
                    "60",
                    "-q",
                ],
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=stack.enter_context((work / f"worker-{count}-{n}.log").open("wb")),
            )
            for n in range(count)
        ]
        time.sleep(1.0)  # let them start (imports), so the crawl measures work, not startup
        redis_cpu = _cpu_of(redis.pid)
        before = _redis_info(port)
        timings = work / f"timings-{count}.json"
        began = time.perf_counter()
        coordinator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "linkcheck.distributed",
                "coordinator",
                site["start_url"],
                "--redis",
                url,
                "--run",
                run_id,
                "--no-work",
                "--config",
                str(work / "config.toml"),
                "--timings",
                str(timings),
                *_common(out, args),
            ],
            cwd=work,
            stdout=subprocess.DEVNULL,
        )
        code, setting.coordinator_cpu_s = _reap(process=coordinator)
        setting.wall_s = time.perf_counter() - began
        setting.redis_cpu_s = _cpu_of(redis.pid) - redis_cpu
        after = _redis_info(port)
        setting.redis_peak_mib = int(after.get("used_memory_peak", 0)) / 2**20
        _redis_work(setting, before, after)
        for n, worker in enumerate(workers):
            worker_code, cpu = _reap(worker)
            setting.worker_cpu_s += cpu
            if worker_code != 0:
                setting.error = f"a worker exited with {worker_code}"
                tail = (work / f"worker-{count}-{n}.log").read_text(errors="replace")[-2000:]
                print(f"worker {n} of {count}: {tail}", file=sys.stderr)
        if timings.exists():
            setting.phases = {k: round(v, 3) for k, v in json.loads(timings.read_text()).items()}
        _score(setting, out, truth, site, ok=code == 0 and not setting.error, code=code)
        if (out / "report.json").exists():
            setting.same_as_single = _comparable(out / "report.json") == reference
    finally:
        stack.close()
        redis.terminate()
        redis.wait(10)
    return setting


def _common(out: Path, args: argparse.Namespace) -> list[str]:
    return [
        "--output", str(out), "--format", "json", "--concurrency", str(args.concurrency),
        "--max-pages", "1000000", "-q",
    ]  # fmt: skip


def _score(
    setting: Setting,
    out: Path,
    truth: dict[str, Any],
    site: dict[str, Any],
    *,
    ok: bool,
    code: int,
) -> None:
    if not ok:
        setting.error = setting.error or f"exit code {code}"
        return
    links = json.loads((out / "report.json").read_text(encoding="utf-8"))["links"]
    correctness = check_correctness(links, truth, site)
    setting.pages = correctness.pages_ok
    setting.urls = len(links)
    setting.pages_per_s = setting.pages / setting.wall_s
    setting.urls_per_s = setting.urls / setting.wall_s
    # Every planted problem found, every link and occurrence reported. False alarms are
    # counted, not failed: single runs have them too (a page titled "Guide page 404" reads
    # as a soft 404), and the distributed report is compared with the single one anyway.
    setting.false_alarms = correctness.false_alarms
    setting.correct = (
        correctness.found_broken == correctness.planted_broken
        and correctness.redirect_final_url_ok == correctness.planted_redirects
        and correctness.pages_ok == correctness.pages_expected
        and count_occurrences(links) == truth["link_occurrences"]
    )


def _comparable(path: Path) -> dict[str, Any]:
    """A report without what differs between any two runs (times, durations, folder)."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for key in ("started_at", "finished_at", "duration_seconds"):
        document["run"].pop(key, None)
    document["run"]["config"]["report"].pop("output", None)  # each run writes elsewhere
    for link in document["links"]:
        link.pop("elapsed_seconds", None)
    document["findings"].sort(key=lambda f: json.dumps(f, sort_keys=True))
    return document


def _reap(process: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Wait for a child; its exit code and CPU seconds (user + system, from wait4)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            process.kill()
        time.sleep(0.05)


def _cpu_of(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _redis_info(port: int) -> dict[str, str]:
    """INFO stats, memory and commandstats as name -> value, read with a plain socket (no
    client needed); the commandstats rows keep their ``calls=`` field only."""
    with socket.create_connection(("127.0.0.1", port), 5) as conn:
        conn.sendall(b"INFO everything\r\n")
        data = b""
        header = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
            if not header and b"\r\n" in data:
                header = data[: data.index(b"\r\n")]  # $<length> of the bulk reply
            if header and len(data) >= len(header) + 2 + int(header[1:]) + 2:
                break
    info: dict[str, str] = {}
    for line in data.decode(errors="replace").splitlines():
        name, colon, value = line.partition(":")
        if not colon:
            continue
        if name.startswith("cmdstat_"):
            value = value.split(",", 1)[0].removeprefix("calls=")
        info[name] = value
    return info


def _redis_work(setting: Setting, before: dict[str, str], after: dict[str, str]) -> None:
    """What Redis did between two INFO readings (less the first reading itself)."""

    def delta(name: str) -> int:
        return int(after.get(name, 0)) - int(before.get(name, 0))

    calls = {
        name.removeprefix("cmdstat_"): delta(name)
        for name in after
        if name.startswith("cmdstat_") and name != "cmdstat_info"
    }
    setting.redis_commands = sum(calls.values())
    setting.redis_script_calls = calls.get("eval", 0) + calls.get("evalsha", 0)
    setting.redis_bytes = delta("total_net_input_bytes") + delta("total_net_output_bytes")
    top = sorted(calls.items(), key=lambda item: -item[1])[:8]
    setting.top_commands = {name: count for name, count in top if count}


def median(settings: list[Setting]) -> Setting:
    """One setting's runs as one: medians of the figures, the worst of the checks."""
    first = settings[0]
    if len(settings) == 1:
        return first
    merged = Setting(workers=first.workers)
    for name in (
        "wall_s", "pages", "urls", "pages_per_s", "urls_per_s", "worker_cpu_s",
        "coordinator_cpu_s", "redis_cpu_s", "redis_peak_mib", "redis_commands",
        "redis_script_calls", "redis_bytes",
    ):  # fmt: skip
        value = statistics.median(getattr(s, name) for s in settings)
        setattr(merged, name, type(getattr(first, name))(value))
    merged.phases = {
        phase: statistics.median(s.phases.get(phase, 0.0) for s in settings)
        for phase in first.phases
    }
    merged.top_commands = first.top_commands
    merged.correct = all(s.correct for s in settings)
    merged.false_alarms = max(s.false_alarms for s in settings)
    same = [s.same_as_single for s in settings]
    merged.same_as_single = None if None in same else all(same)
    merged.same_runs = f"{sum(1 for value in same if value)}/{len(same)}"
    merged.error = "; ".join(s.error for s in settings if s.error)
    return merged


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise SystemExit(f"redis-server did not listen on {port}")


def _line(setting: Setting) -> str:
    who = "single run" if not setting.workers else f"{setting.workers} worker(s)"
    state = "ok" if setting.correct else f"FAILED {setting.error}"
    return f"{who}: {setting.wall_s:.1f} s, {setting.pages_per_s:.0f} pages/s, {state}"


def table(settings: list[Setting], args: argparse.Namespace) -> str:
    rows = [
        f"## Distributed run: {args.pages} pages, concurrency {args.concurrency} per process",
        "",
        "| setting | wall s | x single | pages/s | worker CPU s | coordinator CPU s | "
        "Redis CPU s | Redis cmds/page | script calls/page | Redis KB/page | "
        "Redis peak MiB | crawl s | assemble s | finish s | same report | "
        "x single by round (median, range) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    base = settings[0].wall_s if settings and not settings[0].workers else 0.0
    for s in settings:
        name = (
            "single machine (`linkcheck run`)"
            if not s.workers
            else f"coordinator + {s.workers} worker(s)"
        )
        same = "-" if s.same_as_single is None else ("yes" if s.same_as_single else "NO")
        if s.same_runs and s.same_as_single is not None:
            same += f" ({s.same_runs})"
        if s.error:
            same = f"failed: {s.error}"
        per_page = max(1, s.pages)
        ratio = f"{s.wall_s / base:.2f}" if base else "-"
        by_round = (
            f"{statistics.median(s.round_ratios):.2f} "
            f"({min(s.round_ratios):.2f} to {max(s.round_ratios):.2f})"
            if s.round_ratios
            else "-"
        )
        redis = (
            f"{s.redis_commands / per_page:.1f} | {s.redis_script_calls / per_page:.2f} | "
            f"{s.redis_bytes / per_page / 1000:.1f}"
            if s.workers
            else "- | - | -"
        )
        rows.append(
            f"| {name} | {s.wall_s:.2f} | {ratio} | {s.pages_per_s:.0f} | "
            f"{s.worker_cpu_s:.1f} | {s.coordinator_cpu_s:.1f} | {s.redis_cpu_s:.1f} | "
            f"{redis} | {s.redis_peak_mib:.0f} | "
            f"{s.phases.get('crawl', 0):.2f} | {s.phases.get('assemble', 0):.2f} | "
            f"{s.phases.get('finish', 0):.2f} | {same} | {by_round} |"
        )
    for s in settings:
        if s.top_commands:
            per_page = max(1, s.pages)
            top = ", ".join(f"{k} {v / per_page:.1f}" for k, v in s.top_commands.items())
            rows.append(f"\n{s.workers} worker(s), commands per page: {top}")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
