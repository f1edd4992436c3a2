#!/usr/bin/env python3
"""End-to-end benchmark: crawl a generated site with ``linkcheck run`` and time it.

Steps: pick free ports, generate the synthetic site (``gensite.py``), serve it
with a private nginx (``serve.py``), check the site against its ground truth
with a sequential reference crawl, then run the checker ``--runs`` times and
report median wall time, pages/s, unique URLs/s, CPU time and peak RSS, plus
whether the checker found exactly the planted broken links.

Resource usage is taken per child: user/sys CPU with ``os.wait4`` (exact, for
that one child and anything it waited for), peak RSS from GNU ``/usr/bin/time``
when present (else wait4's ru_maxrss, which has this process's RSS as a floor).
No psutil polling is needed and earlier runs cannot leak into later numbers.

Stdlib only. Usage (project venv active)::

    python bench/run_bench.py                      # 2000 pages, 3 runs
    python bench/run_bench.py --pages 200 --runs 1
    python bench/run_bench.py --extra-args "--allow-private"
    python bench/run_bench.py --check-site-only    # generator + nginx self-check
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import gensite  # noqa: E402
from serve import NginxServer, find_free_port_block, find_nginx  # noqa: E402

BROKEN_VERDICTS = ("broken", "error")
OK_EXIT_CODES = (0, 1)  # 1 = "broken links found", expected on this site


@dataclass
class Correctness:
    """How the checker's verdicts compare with ground_truth.json."""

    planted_broken: int = 0
    found_broken: int = 0
    false_alarms: int = 0
    missed_sample: list[str] = field(default_factory=list)
    false_alarm_sample: list[str] = field(default_factory=list)
    planted_redirects: int = 0
    found_redirects: int = 0
    redirect_final_url_ok: int = 0
    unexpected_redirects: int = 0
    pages_expected: int = 0
    pages_ok: int = 0
    unique_urls_expected: int = 0
    unique_urls_reported: int = 0
    occurrences_expected: int = 0
    occurrences_reported: int | None = None
    verdicts: dict[str, int] = field(default_factory=dict)

    @property
    def perfect(self) -> bool:
        return (
            self.found_broken == self.planted_broken
            and self.false_alarms == 0
            and self.found_redirects == self.planted_redirects
            and self.pages_ok == self.pages_expected
        )


@dataclass
class RunResult:
    """One timed checker run."""

    run: int
    exit_code: int
    ok: bool
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    peak_rss_mib: float
    rss_method: str = ""
    nginx_cpu_s: float | None = None
    pages: int = 0
    unique_urls: int = 0
    occurrences: int | None = None
    pages_per_s: float = 0.0
    urls_per_s: float = 0.0
    error: str | None = None
    correctness: Correctness | None = None

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s


# -- running the checker ------------------------------------------------------------


GNU_TIME = "/usr/bin/time"


def have_gnu_time() -> bool:
    try:
        p = subprocess.run([GNU_TIME, "--version"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "GNU" in p.stdout + p.stderr


@dataclass
class ChildUsage:
    exit_code: int
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_kib: int
    rss_method: str
    timed_out: bool


def run_child(
    cmd: list[str], cwd: Path, log_path: Path, timeout: float, use_gnu_time: bool
) -> ChildUsage:
    """Run ``cmd``; return exit code, wall time, CPU and peak RSS of that child.

    The child gets its own session so a timeout or Ctrl-C can stop it and all
    of its helpers by process group. CPU comes from wait4 on the child. Peak
    RSS comes from GNU time when present, because a child forked from this
    (larger) Python process inherits our RSS high-water mark into its
    ``ru_maxrss`` across exec; GNU time's own child is forked from a tiny
    process, so its %M is the checker's real peak.
    """
    rss_file = log_path.with_suffix(".rss")
    if use_gnu_time:
        cmd = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *cmd]
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    timed_out = threading.Event()
    reaped = threading.Event()

    def kill_group(sig: int) -> None:
        if reaped.is_set():  # its pid/pgid may already belong to someone else
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)

    def on_timeout() -> None:
        timed_out.set()
        kill_group(signal.SIGTERM)
        if not reaped.wait(3):
            kill_group(signal.SIGKILL)

    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
        reaped.set()
    except BaseException:  # Ctrl-C / SIGTERM: never leave the checker running
        kill_group(signal.SIGKILL)
        proc.wait()
        reaped.set()
        raise
    finally:
        timer.cancel()
    wall = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)  # keep Popen from re-waiting
    rss, method = usage.ru_maxrss, "wait4 ru_maxrss (floor: this process's RSS)"
    if use_gnu_time:
        with contextlib.suppress(OSError, ValueError, IndexError):
            rss, method = int(rss_file.read_text().split()[-1]), "GNU time %M"
    return ChildUsage(code, wall, usage.ru_utime, usage.ru_stime, rss, method, timed_out.is_set())


def load_report(out_dir: Path) -> list[dict[str, Any]]:
    """Return the ``links`` list of OUTDIR/report.json (the JSON report contract)."""
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    links = report["links"]
    if not isinstance(links, list):
        raise ValueError("report.json: 'links' is not a list")
    return links


def check_correctness(
    links: list[dict[str, Any]], truth: dict[str, Any], site: dict[str, Any]
) -> Correctness:
    """Compare reported verdicts with the planted broken links and redirects."""
    by_url = {link["url"]: link for link in links}
    broken = {u for u, link in by_url.items() if link.get("verdict") in BROKEN_VERDICTS}
    redirected = {u for u, link in by_url.items() if link.get("verdict") == "redirected"}
    gt_broken = set(truth["broken"])
    gt_redirect: dict[str, str] = truth["redirected"]
    origin = site["start_url"].rsplit("/guide/", 1)[0]
    page_urls = {origin + gensite.page_path(i) for i in range(1, site["pages"] + 1)}
    return Correctness(
        planted_broken=len(gt_broken),
        found_broken=len(broken & gt_broken),
        false_alarms=len(broken - gt_broken),
        missed_sample=sorted(gt_broken - broken)[:10],
        false_alarm_sample=sorted(broken - gt_broken)[:10],
        planted_redirects=len(gt_redirect),
        found_redirects=len(redirected & gt_redirect.keys()),
        redirect_final_url_ok=sum(
            1
            for u in redirected & gt_redirect.keys()
            if by_url[u].get("final_url") == gt_redirect[u]
        ),
        unexpected_redirects=len(redirected - gt_redirect.keys()),
        pages_expected=site["pages"],
        pages_ok=sum(1 for u in page_urls if by_url.get(u, {}).get("verdict") == "ok"),
        unique_urls_expected=truth["unique_urls"],
        unique_urls_reported=len(by_url),
        occurrences_expected=truth["link_occurrences"],
        occurrences_reported=count_occurrences(links),
        verdicts=dict(Counter(str(link.get("verdict")) for link in links)),
    )


def count_occurrences(links: list[dict[str, Any]]) -> int | None:
    """Total link occurrences, whether the report gives a list or a count per URL."""
    total = 0
    for link in links:
        occ = link.get("occurrences")
        if isinstance(occ, list):
            total += len(occ)
        elif isinstance(occ, int):
            total += occ
        else:
            return None
    return total


def one_run(
    n: int,
    base_cmd: list[str],
    start_url: str,
    args: argparse.Namespace,
    work: Path,
    server: NginxServer,
    truth: dict[str, Any],
    site: dict[str, Any],
) -> RunResult:
    out_dir = work / f"out-{n}"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    cmd = [
        *base_cmd,
        "run",
        start_url,
        "--output",
        str(out_dir),
        "--format",
        "json",
        "--concurrency",
        str(args.concurrency),
        "--max-pages",
        "1000000",
        "-q",
        *shlex.split(args.extra_args),
    ]
    if n == 1:
        print("$", shlex.join(cmd), file=sys.stderr)
    nginx_cpu0 = server.cpu_seconds()
    u = run_child(cmd, REPO_ROOT, work / f"run-{n}.log", args.timeout, args.gnu_time)
    nginx_cpu1 = server.cpu_seconds()
    code, wall = u.exit_code, u.wall_s
    res = RunResult(
        run=n,
        exit_code=code,
        ok=code in OK_EXIT_CODES and not u.timed_out,
        wall_s=wall,
        cpu_user_s=u.user_s,
        cpu_sys_s=u.sys_s,
        peak_rss_mib=u.peak_rss_kib / 1024,  # Linux: KiB
        rss_method=u.rss_method,
        nginx_cpu_s=(nginx_cpu1 - nginx_cpu0)
        if nginx_cpu0 is not None and nginx_cpu1 is not None
        else None,
    )
    if u.timed_out:
        res.error = f"timed out after {args.timeout:.0f}s"
    elif not res.ok:
        res.error = f"exit code {code}"
    if res.error:
        log = (work / f"run-{n}.log").read_text(errors="replace")
        res.error += "; output tail:\n" + "\n".join(log.splitlines()[-20:])
        return res
    try:
        links = load_report(out_dir)
        res.correctness = check_correctness(links, truth, site)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        res.ok = False
        res.error = f"cannot read {out_dir / 'report.json'}: {exc!r}"
        return res
    res.unique_urls = len(links)
    res.pages = res.correctness.pages_ok
    res.occurrences = count_occurrences(links)
    res.pages_per_s = res.pages / wall
    res.urls_per_s = res.unique_urls / wall
    if code == 0 and truth["broken"]:
        print(f"warning: run {n} exited 0 although the site has broken links", file=sys.stderr)
    return res


# -- reporting ----------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nginx_v = subprocess.run(
            [find_nginx(), "-v"], capture_output=True, text=True
        ).stderr.strip()
    except (OSError, SystemExit):
        nginx_v = ""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "nginx": nginx_v,
    }


def tool_version(base_cmd: list[str]) -> str | None:
    try:
        p = subprocess.run(
            [*base_cmd, "--version"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (
        (p.stdout or p.stderr).strip().splitlines()[-1]
        if p.returncode == 0 and (p.stdout or p.stderr)
        else None
    )


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def markdown_table(runs: list[RunResult], median: dict[str, float] | None) -> str:
    head = (
        "| run | wall s | pages/s | unique URLs/s | CPU s (user+sys) | CPU % of 1 core "
        "| peak RSS MiB | nginx CPU s | exit |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = []
    for r in runs:
        rows.append(
            f"| {r.run} | {fmt(r.wall_s)} | {fmt(r.pages_per_s, 1)} | {fmt(r.urls_per_s, 1)} "
            f"| {fmt(r.cpu_s)} | {fmt(100 * r.cpu_s / r.wall_s if r.wall_s else None, 0)} "
            f"| {fmt(r.peak_rss_mib, 1)} | {fmt(r.nginx_cpu_s)} "
            f"| {r.exit_code}{'' if r.ok else ' FAIL'} |"
        )
    if median:
        rows.append(
            f"| **median** | **{fmt(median['wall_s'])}** | **{fmt(median['pages_per_s'], 1)}** "
            f"| **{fmt(median['urls_per_s'], 1)}** | {fmt(median['cpu_s'])} "
            f"| {fmt(median['cpu_pct'], 0)} | {fmt(median['peak_rss_mib'], 1)} "
            f"| {fmt(median.get('nginx_cpu_s'))} | |"
        )
    return "\n".join([head, *rows])


def correctness_text(c: Correctness) -> str:
    lines = [
        f"- broken links: found {c.found_broken}/{c.planted_broken} planted, "
        f"{c.false_alarms} false alarms",
        f"- redirects: found {c.found_redirects}/{c.planted_redirects} planted "
        f"({c.redirect_final_url_ok} with the right final_url), "
        f"{c.unexpected_redirects} unexpected",
        f"- pages crawled OK: {c.pages_ok}/{c.pages_expected}; unique URLs reported "
        f"{c.unique_urls_reported} (site has {c.unique_urls_expected}); link occurrences "
        f"{'-' if c.occurrences_reported is None else c.occurrences_reported} "
        f"(site has {c.occurrences_expected})",
        f"- verdicts: {', '.join(f'{k}={v}' for k, v in sorted(c.verdicts.items()))}",
    ]
    if c.missed_sample:
        lines.append(f"- missed (sample): {', '.join(c.missed_sample[:5])}")
    if c.false_alarm_sample:
        lines.append(f"- false alarms (sample): {', '.join(c.false_alarm_sample[:5])}")
    return "\n".join(lines)


def summarise(runs: list[RunResult]) -> dict[str, float] | None:
    good = [r for r in runs if r.ok]
    if not good:
        return None
    med = statistics.median
    out = {
        "wall_s": med(r.wall_s for r in good),
        "pages_per_s": med(r.pages_per_s for r in good),
        "urls_per_s": med(r.urls_per_s for r in good),
        "cpu_s": med(r.cpu_s for r in good),
        "cpu_pct": med(100 * r.cpu_s / r.wall_s for r in good),
        "peak_rss_mib": med(r.peak_rss_mib for r in good),
    }
    nginx = [r.nginx_cpu_s for r in good if r.nginx_cpu_s is not None]
    if nginx:
        out["nginx_cpu_s"] = med(nginx)
    return out


# -- main ---------------------------------------------------------------------------


def _glue_option_values(argv: list[str], options: tuple[str, ...]) -> list[str]:
    """Turn ``--extra-args --foo`` into ``--extra-args=--foo``.

    argparse would otherwise take ``--foo`` for one of our own options.
    """
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in options:
            out.append(f"{arg}={next(it, '')}")
        else:
            out.append(arg)
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    argv = _glue_option_values(
        sys.argv[1:] if argv is None else argv, ("--extra-args", "--linkcheck")
    )
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument("--pages", type=int, default=2000, help="pages in the generated site")
    ap.add_argument("--runs", type=int, default=3, help="timed checker runs (median is reported)")
    ap.add_argument(
        "--linkcheck",
        default=f"{shlex.quote(sys.executable)} -m linkcheck",
        help="command that runs the checker (shell-split); default is this interpreter",
    )
    ap.add_argument("--extra-args", default="", help='extra checker args, e.g. "--allow-private"')
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument(
        "--port", type=int, default=0, help="base port (needs PORT..PORT+3 free); 0 = pick"
    )
    ap.add_argument("--seed", type=int, default=gensite.SEED_DEFAULT)
    ap.add_argument("--nginx-workers", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=900, help="seconds allowed per checker run")
    ap.add_argument(
        "--workdir", type=Path, help="keep site and outputs here (default: temp dir, removed)"
    )
    ap.add_argument(
        "--results", type=Path, default=BENCH_DIR / "results.json", help="JSON results file"
    )
    ap.add_argument("--no-verify", action="store_true", help="skip the reference-crawl site check")
    ap.add_argument(
        "--check-site-only", action="store_true", help="generate, serve, verify; no checker runs"
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.gnu_time = have_gnu_time()
    base_cmd = shlex.split(args.linkcheck)
    port = args.port or find_free_port_block(4)
    tmp = None
    if args.workdir:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="linkcheck-bench-")
        work = Path(tmp.name)
    try:
        site_dir = work / "site"
        t0 = time.perf_counter()
        truth = gensite.generate(site_dir, args.pages, port, args.seed)
        site = json.loads((site_dir / "site.json").read_text())
        print(
            f"site: {truth['pages']} pages, {truth['unique_urls']} unique URLs, "
            f"{truth['link_occurrences']} links, {len(truth['broken'])} broken, "
            f"{len(truth['redirected'])} redirected (generated in {time.perf_counter() - t0:.1f}s, "
            f"ports {port}..{port + 3})",
            file=sys.stderr,
        )
        with NginxServer(site_dir, workers=args.nginx_workers) as server:
            if not args.no_verify or args.check_site_only:
                problems = gensite.verify(site_dir)
                for p in problems:
                    print("  -", p, file=sys.stderr)
                if problems:
                    return 2
            if args.check_site_only:
                return 0
            runs: list[RunResult] = []
            for n in range(1, args.runs + 1):
                r = one_run(n, base_cmd, site["start_url"], args, work, server, truth, site)
                runs.append(r)
                status = "ok" if r.ok else f"FAILED ({r.error})"
                print(
                    f"run {n}/{args.runs}: {r.wall_s:.2f}s wall, {r.cpu_s:.2f}s CPU, "
                    f"{r.peak_rss_mib:.0f} MiB, exit {r.exit_code}: {status}",
                    file=sys.stderr,
                )
        median = summarise(runs)
        last_ok = next((r for r in reversed(runs) if r.ok and r.correctness), None)
        print()
        print(
            f"## linkcheck benchmark: {args.pages} pages, "
            f"concurrency {args.concurrency}, {args.runs} runs"
        )
        print()
        print(markdown_table(runs, median))
        print()
        if last_ok and last_ok.correctness:
            print(f"Correctness (run {last_ok.run}):")
            print(correctness_text(last_ok.correctness))
        for r in runs:
            if not r.ok:
                print(f"\nRun {r.run} failed: {r.error}")

        results = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine_info(),
            "linkcheck_version": tool_version(base_cmd),
            "config": {
                "pages": args.pages,
                "runs": args.runs,
                "concurrency": args.concurrency,
                "seed": args.seed,
                "nginx_workers": args.nginx_workers,
                "command": base_cmd,
                "extra_args": shlex.split(args.extra_args),
            },
            "site": {k: truth[k] for k in ("pages", "unique_urls", "link_occurrences")}
            | {"broken": len(truth["broken"]), "redirected": len(truth["redirected"])},
            "median": median,
            "runs": [asdict(r) | {"cpu_s": r.cpu_s} for r in runs],
        }
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.results}", file=sys.stderr)
        if median is None or any(not r.ok for r in runs):
            return 2
        return 0 if all(r.correctness and r.correctness.perfect for r in runs) else 1
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
