#!/usr/bin/env python3
"""Copies of linkcheck with one performance mechanism turned off, for on/off measurements.

Issue #21: a special mechanism stays only if the whole benchmark, on every site shape, is at
least 3% faster (or leaner) with it than without it. This module writes, for each mechanism,
a copy of the ``linkcheck`` package with that one mechanism switched off by a small textual
change (each change must match exactly once, so a copy can never silently be the unchanged
program), and ``bench/peers.py --mechanisms`` runs every copy as one more tool beside the
real one, interleaved, on every shape. A mechanism switched off by a setting instead of a
change of code (the parse process: ``--parse-workers 0``) is a flag list.

    python bench/mechanisms.py --out /tmp/variants          # write every copy, list them
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mechanism:
    name: str
    what: str  # one line for the table: what the mechanism is
    # (file under linkcheck/, exact text, replacement): each must match exactly once
    changes: tuple[tuple[str, str, str], ...] = ()
    flags: tuple[str, ...] = ()  # or: `linkcheck run` flags that turn it off
    folder: bool = False  # a mechanism of folder mode only: measured on the built folder
    extra: dict[str, str] = field(default_factory=dict)


MECHANISMS = (
    Mechanism(
        "allocator",
        "glibc mallopt: fixed mmap threshold, 4 MiB kept at the heap's top (allocator.py)",
        changes=(
            (
                "allocator.py",
                '    if not sys.platform.startswith("linux"):\n        return False\n',
                "    return False  # bench/mechanisms.py: turned off\n",
            ),
        ),
    ),
    Mechanism(
        "gc-freeze",
        "gc.freeze() after start-up: collections skip what the imports made, in the crawler "
        "and each parse worker (allocator.collect_rarely)",
        changes=(("allocator.py", "    gc.freeze()\n", "    pass  # bench: gc.freeze() off\n"),),
    ),
    Mechanism(
        "gc-full-threshold",
        "a full collection after 100 middle ones, not 10, in the crawler and each parse "
        "worker (allocator.collect_rarely)",
        changes=(
            (
                "allocator.py",
                "    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)\n",
                "    pass  # bench: gc threshold off\n",
            ),
        ),
    ),
    Mechanism(
        "fast-exit",
        "os._exit at the end: the heap is not taken apart object by object (cli/group.py)",
        changes=(("cli/group.py", "    os._exit(code or 0)\n", "    sys.exit(code or 0)\n"),),
    ),
    Mechanism(
        "forked-writers",
        "reports written by forked copies on the other core (report/forking.py)",
        changes=(
            (
                "report/forking.py",
                'FORKING = sys.platform == "linux" and hasattr(os, "fork")\n',
                "FORKING = False  # bench/mechanisms.py: turned off\n",
            ),
        ),
    ),
    Mechanism(
        "report-process",
        "a large run's JSON report written half by a process of its own, started fresh "
        "(report/json_part.py)",
        changes=(
            (
                "report/json_part.py",
                'AVAILABLE = os.name == "posix"\n',
                "AVAILABLE = False  # bench/mechanisms.py: turned off\n",
            ),
        ),
    ),
    Mechanism(
        "parse-process",
        "pages parsed in a worker process on the other core (parse_pool.py)",
        flags=("--parse-workers", "0"),
    ),
    Mechanism(
        "resolve-cache",
        "resolved links cached by (folder or origin, href) across pages (urls.CachedResolver)",
        changes=(
            ("urls.py", "            found = cache.get(key)\n", "            found = None\n"),
        ),
    ),
    Mechanism(
        "seen-memo",
        "a page's links looked up by (folder, href, text, tag) before any work (digest.py)",
        changes=(
            (
                "digest.py",
                "            known = seen.get((context, href, text, tag, attr))\n",
                "            known = None\n",
            ),
        ),
    ),
    Mechanism(
        "level-order",
        "pages start level by level, each once the less deep are done (frontier.py): not a "
        "speed trick but a cost to know (depth = the shortest path, as in a distributed run)",
        changes=(
            (
                "frontier.py",
                "            if depth is not None and depth > self._level:\n",
                "            if False:  # bench/mechanisms.py: turned off\n",
            ),
        ),
    ),
    Mechanism(
        "plain-joins",
        "plain paths resolved by string work instead of yarl (urls._plain_join)",
        changes=(
            (
                "urls.py",
                '    if not context.endswith("/"):\n        return None\n    hash_at',
                "    return None\n    hash_at",
            ),
        ),
    ),
    Mechanism(
        "parse-here",
        "the crawler's process parses a page when a worker has as many waiting as requests "
        "in flight (parsing.parse_here)",
        changes=(
            (
                "parsing.py",
                "    return spare_core and backlog >= max(PARSE_HERE_BACKLOG, in_flight)\n",
                "    return False  # bench/mechanisms.py: turned off\n",
            ),
        ),
    ),
    Mechanism(
        "answer-now",
        "a built folder's files that are no page (images, fonts), and missing ones, answered "
        "when found, by a look-up: no request task (local.LocalTransport.answer_now)",
        changes=(
            (
                "crawler.py",
                "        if self._robots is not None:\n            return False\n        answered",
                "        if True:  # bench/mechanisms.py: turned off\n            return False\n"
                "        answered",
            ),
        ),
        folder=True,
    ),
)
BY_NAME = {m.name: m for m in MECHANISMS}


def build(mechanism: Mechanism, dest: Path, source: Path = REPO_ROOT / "linkcheck") -> Path:
    """Write ``dest/linkcheck``: the package with ``mechanism`` off; ``dest`` goes first on
    PYTHONPATH. A mechanism turned off by flags needs no copy: the source tree's parent."""
    if not mechanism.changes:
        return source.parent
    target = dest / "linkcheck"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    for relative, old, new in mechanism.changes:
        path = target / relative
        text = path.read_text(encoding="utf-8")
        count = text.count(old)
        if count != 1:
            raise SystemExit(f"{mechanism.name}: {relative} has the text {count} times, not once")
        path.write_text(text.replace(old, new), encoding="utf-8")
    # byte-compiled as the real tree is (peers.py compiles it; with PYTHONDONTWRITEBYTECODE
    # set, an uncompiled copy would compile every module in every process of every run: a
    # start-up penalty of its own that made every variant look ~0.1 s slower)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(target)], check=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--only", default="", help="comma-separated names (default: all)")
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(BY_NAME)
    for name in names:
        mechanism = BY_NAME[name]
        where = build(mechanism, args.out / name)
        how = " ".join(mechanism.flags) if mechanism.flags else f"PYTHONPATH={where}"
        print(f"{name:15} {how}   # {mechanism.what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
