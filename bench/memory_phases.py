#!/usr/bin/env python3
"""Where a run's memory goes: the process tree's RSS over time and the crawler's at each phase.

Serves a ``gensite_other.py`` site, runs ``linkcheck run START --format json -q
--concurrency 10 --max-pages 100000 --allow-private [EXTRA]`` (as ``gensite_other.py bench``
does) in a fresh folder, samples the summed RSS of the process tree every 50 ms, and has the
crawler write a line at the start and end of each finishing step and report (its RSS and
VmHWM, the exact peak of that one process, which 50 ms samples can miss):

    python bench/memory_phases.py --site /tmp/other10k [--tree SRC] [--trace N] [-- EXTRA...]

``--trace N`` also starts tracemalloc (N frames) and prints the top allocations at each mark
(slow: for the breakdown, not for timings). ``--no-fork`` turns the forked report writers off
(``linkcheck.report.forking.FORKING = False``). Results: bench/README.md, "Memory: where it
went and what bounds it".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _status() -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":")
            values[key] = int(value.split()[0]) // 1024
    return values


def child(argv: list[str]) -> None:
    """In the crawler's process: wrap the phases, then run the command line."""
    import functools
    import inspect

    marks = open(os.environ["MEMORY_MARKS"], "a")  # noqa: SIM115 (open for the whole run)
    start = time.monotonic()
    frames = int(os.environ.get("MEMORY_TRACE") or 0)
    if frames:
        import tracemalloc

        tracemalloc.start(frames)

    def mark(name: str) -> None:
        rss = _status()
        marks.write(f"{time.monotonic() - start:8.2f} {name:28s} rss={rss['VmRSS']} "
                    f"hwm={rss['VmHWM']}\n")  # fmt: skip
        if frames:
            current, peak = tracemalloc.get_traced_memory()
            marks.write(f"   traced {current >> 20} MiB, peak since last {peak >> 20} MiB\n")
            for stat in tracemalloc.take_snapshot().statistics("lineno")[:15]:
                where = stat.traceback[0]
                marks.write(f"     {stat.size >> 10:8d} KiB {stat.count:9d} "
                            f"{where.filename}:{where.lineno}\n")  # fmt: skip
            tracemalloc.reset_peak()
        marks.flush()

    def wrap(module: Any, name: str) -> None:
        function = getattr(module, name)
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def waited(*args: Any, **kwargs: Any) -> Any:
                mark(f"begin {name}")
                try:
                    return await function(*args, **kwargs)
                finally:
                    mark(f"end {name}")

            setattr(module, name, waited)
            return

        @functools.wraps(function)
        def called(*args: Any, **kwargs: Any) -> Any:
            mark(f"begin {name}")
            try:
                return function(*args, **kwargs)
            finally:
                mark(f"end {name}")

        setattr(module, name, called)

    import linkcheck.cli.run as cli_run
    import linkcheck.finish as finish
    import linkcheck.memory as memory
    import linkcheck.report as report
    import linkcheck.report.forking as forking
    import linkcheck.runner as runner

    for name in ("finish_crawl", "check_fragments", "quality_findings", "run_result"):
        wrap(finish, name)
    runner.run_result = finish.run_result  # type: ignore[attr-defined]
    wrap(memory, "remember_run")
    finish.remember_run = memory.remember_run  # type: ignore[attr-defined]
    wrap(report, "_write")
    wrap(cli_run, "write")
    if os.environ.get("MEMORY_NO_FORK"):
        forking.FORKING = False
    from linkcheck.cli import entry

    mark("start")
    sys.argv = ["linkcheck", *argv]
    try:
        entry()
    finally:
        mark("exit")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return 0
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--site", type=Path, required=True)
    ap.add_argument("--tree", type=Path, help="the linkcheck of this source tree (PYTHONPATH)")
    ap.add_argument("--trace", type=int, default=0, help="tracemalloc frames (0: off)")
    ap.add_argument("--no-fork", action="store_true", help="no forked report writers")
    ap.add_argument("extra", nargs="*", help="more options for `linkcheck run` (after --)")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import gensite_other

    meta = json.loads((args.site / "site.json").read_text())
    with gensite_other.Server(args.site), tempfile.TemporaryDirectory(prefix="mem-") as tmp:
        work = Path(tmp)
        marks = work / "marks.log"
        env = {**os.environ, "MEMORY_MARKS": str(marks), "MEMORY_TRACE": str(args.trace)}
        env["PYTHONPATH"] = str((args.tree or HERE.parent).resolve())
        if args.no_fork:
            env["MEMORY_NO_FORK"] = "1"
        cmd = [sys.executable, __file__, "--child", "run", meta["start_url"], "--output",
               str(work / "out"), "--format", "json", "-q", "--concurrency", "10",
               "--max-pages", "100000", "--allow-private", *args.extra]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL)
        series: list[tuple[float, int]] = []
        while proc.poll() is None:
            series.append((time.perf_counter() - began, gensite_other.tree_rss(proc.pid)))
            time.sleep(0.05)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        peak = max(series, key=lambda sample: sample[1], default=(0.0, 0))
        result: dict[str, Any] = {
            "wall_s": round(time.perf_counter() - began, 1),
            "cpu_s": round(cpu, 1),
            "peak_tree_mib": peak[1] >> 20,
            "peak_at_s": round(peak[0], 1),
            "rc": proc.returncode,
        }
        if (work / "out" / "report.json").exists():
            result.update(gensite_other.score(args.site, work / "out" / "report.json"))
        print(json.dumps(result))
        print(marks.read_text() if marks.exists() else "(no marks)", end="")
        by_second: dict[int, int] = {}
        for at, rss in series:
            by_second[int(at)] = max(by_second.get(int(at), 0), rss >> 20)
        print("tree MiB by second:", " ".join(f"{s}:{m}" for s, m in sorted(by_second.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
