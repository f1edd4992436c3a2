"""The store on real SQLite files: cache, history, checkpoints, damage, concurrency, kill -9."""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from linkcheck.cli.cache import cache
from linkcheck.cli.history import history
from linkcheck.models import CheckResult, ErrorKind, Link, RedirectHop, RunResult, Verdict
from linkcheck.store import (
    DEFAULT_CACHE_PATH,
    SCHEMA_VERSION,
    HistoryEntry,
    Store,
    StoreError,
)
from linkcheck.store import database as store_module

ROOT = Path(__file__).parents[2]
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
A = "https://example.com/a"
B = "https://example.com/b"


def ok(url: str) -> CheckResult:
    return CheckResult(url, Verdict.OK, status=200)


def moved(url: str) -> CheckResult:
    return CheckResult(
        url,
        Verdict.REDIRECTED,
        status=200,
        final_url=url + "/new",
        redirects=(RedirectHop(url, 301), RedirectHop(url + "/mid", 308)),
        message="moved twice",
        checked_url="http://127.0.0.1:1/remapped",
        elapsed=0.25,
    )


def broken(url: str) -> CheckResult:
    return CheckResult(url, Verdict.BROKEN, status=404)


def failed(url: str) -> CheckResult:
    return CheckResult(url, Verdict.ERROR, error=ErrorKind.TIMEOUT, message="timed out")


def make_run(
    *results: CheckResult, day: int = 0, interrupted: bool = False, start: datetime = T0
) -> RunResult:
    links = {}
    for result in results:
        link = Link(result.url, internal=False)
        link.result = result
        links[result.url] = link
    started = start + timedelta(days=day)
    return RunResult(
        start_urls=["https://example.com/"],
        started_at=started,
        finished_at=started + timedelta(minutes=2),
        links=links,
        pages=[],
        interrupted=interrupted,
        interrupted_by="SIGTERM" if interrupted else "",
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "cache.sqlite"


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    with Store(db) as opened:
        yield opened


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Show times in UTC, so the CLI's local-time output is predictable."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# -- result cache -----------------------------------------------------------------------------


def test_cache_round_trip_keeps_every_field_but_the_time_spent(store: Store, db: Path) -> None:
    assert db.is_file()  # parent folders created
    results = [ok(A), moved(B)]
    assert store.remember(results, now=1000.0) == 2
    assert store.cached(A, max_age=60, now=1010.0) == ok(A)
    hit = store.cached(B, max_age=60, now=1010.0)
    assert hit is not None
    assert hit == dataclasses.replace(moved(B), elapsed=0.0)
    assert hit.redirect_kind is not None and hit.redirect_kind.value == "permanent"
    assert store.cached("https://example.com/never", max_age=60, now=1010.0) is None


def test_cache_is_json_never_pickle(store: Store, db: Path) -> None:
    store.remember([moved(B)], now=1000.0)
    row = sqlite3.connect(db).execute("SELECT result FROM cache WHERE url = ?", (B,)).fetchone()
    assert json.loads(row[0]) == {
        "verdict": "redirected",
        "status": 200,
        "final_url": B + "/new",
        "redirects": [{"url": B, "status": 301}, {"url": B + "/mid", "status": 308}],
        "error": None,
        "message": "moved twice",
        "checked_url": "http://127.0.0.1:1/remapped",
    }


def test_cache_expires_after_max_age_and_distrusts_the_future(store: Store) -> None:
    store.remember([ok(A)], now=1000.0)
    assert store.cached(A, max_age=60, now=1059.9) is not None
    assert store.cached(A, max_age=60, now=1060.0) is None
    assert store.cached(A, max_age=0, now=1000.0) is None
    assert store.cached(A, max_age=60, now=999.0) is None  # stored "later": the clock moved


def test_failures_are_never_cached_and_drop_a_cached_success(store: Store) -> None:
    bad = [
        broken(A),
        failed(B),
        CheckResult("https://example.com/c", Verdict.BLOCKED, status=999),
        CheckResult("https://example.com/d", Verdict.RATE_LIMITED, status=429),
    ]
    store.remember([ok(r.url) for r in bad], now=1000.0)
    assert store.remember(bad, now=1001.0) == 0
    for result in bad:
        assert store.cached(result.url, max_age=3600, now=1002.0) is None
    assert store.cache_stats()["entries"] == 0


def test_skipped_and_excluded_neither_store_nor_evict(store: Store) -> None:
    store.remember([ok(A)], now=1000.0)
    store.remember([CheckResult(A, Verdict.EXCLUDED), CheckResult(B, Verdict.SKIPPED)], now=1001.0)
    assert store.cached(A, max_age=60, now=1002.0) == ok(A)
    assert store.cached(B, max_age=60, now=1002.0) is None


def test_a_different_context_is_a_miss(store: Store) -> None:
    store.remember([ok(A)], now=1000.0, context="accept=200-299")
    assert store.cached(A, max_age=60, now=1001.0, context="accept=200-299") == ok(A)
    assert store.cached(A, max_age=60, now=1001.0, context="accept=200-299,403") is None
    assert store.cached(A, max_age=60, now=1001.0) is None


def test_an_unreadable_entry_is_a_miss(store: Store, db: Path) -> None:
    store.remember([ok(A), ok(B)], now=1000.0)
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE cache SET result = '{not json' WHERE url = ?", (A,))
        raw.execute("""UPDATE cache SET result = '{"verdict": "fine"}' WHERE url = ?""", (B,))
        tampered = json.dumps(
            {"verdict": "broken", "status": 404, "final_url": None, "redirects": [], "error": None}
        )
        raw.execute(
            "INSERT INTO cache VALUES (?, '', 1000, ?)", ("https://example.com/c", tampered)
        )
    assert store.cached(A, max_age=60, now=1001.0) is None
    assert store.cached(B, max_age=60, now=1001.0) is None
    assert store.cached("https://example.com/c", max_age=60, now=1001.0) is None


def test_clear_cache_and_stats(store: Store, db: Path) -> None:
    store.remember([ok(A)], now=1000.0)
    store.remember([ok(B)], now=1500.0)
    store.record_run(make_run(ok(A)))
    store.save_checkpoint("k", {"pending": []})
    stats = store.cache_stats(now=2000.0)
    assert stats["entries"] == 2
    assert stats["oldest_age"] == 1000.0 and stats["newest_age"] == 500.0
    assert stats["runs"] == 1 and stats["latest_run"] == T0 and stats["checkpoints"] == 1
    assert stats["path"] == str(db) and stats["file_size"] > 0
    assert store.clear_cache() == 2
    stats = store.cache_stats(now=2000.0)
    assert stats["entries"] == 0 and stats["oldest_age"] is None and stats["runs"] == 1


def test_default_path_is_under_dot_linkcheck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with Store() as store:
        store.remember([ok(A)])
    assert (tmp_path / DEFAULT_CACHE_PATH).is_file()
    assert str(DEFAULT_CACHE_PATH) == os.path.join(".linkcheck", "cache.sqlite")


def test_a_closed_store_says_so(db: Path) -> None:
    store = Store(db)
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.cached(A, max_age=60)


# -- history ----------------------------------------------------------------------------------


def test_streak_counts_the_latest_failing_runs(store: Store) -> None:
    verdicts = [ok(A), ok(A), broken(A), failed(A), broken(A)]  # oldest first
    for day, result in enumerate(verdicts):
        store.record_run(make_run(result, ok(B), day=day))
    streak = store.streaks()[A]
    assert streak.failing_runs == 3
    assert streak.failing_since == T0 + timedelta(days=2)  # the third-newest run
    assert streak.last_verdict is Verdict.BROKEN
    assert streak.last_seen == T0 + timedelta(days=4)
    fine = store.streaks()[B]
    assert (fine.failing_runs, fine.failing_since, fine.last_verdict) == (0, None, Verdict.OK)


def test_streak_of_a_link_that_never_worked_and_of_a_fixed_one(store: Store) -> None:
    for day in range(3):
        store.record_run(make_run(broken(A), broken(B) if day < 2 else ok(B), day=day))
    streaks = store.streaks()
    assert (streaks[A].failing_runs, streaks[A].failing_since) == (3, T0)
    assert (streaks[B].failing_runs, streaks[B].failing_since) == (0, None)


def test_inconclusive_runs_neither_break_nor_extend_a_streak(store: Store) -> None:
    store.record_run(make_run(ok(A), day=0))
    store.record_run(make_run(broken(A), day=1))
    store.record_run(make_run(CheckResult(A, Verdict.RATE_LIMITED, status=429), day=2))
    store.record_run(make_run(broken(A), day=3))
    store.record_run(make_run(CheckResult(A, Verdict.EXCLUDED), day=4, interrupted=True))
    streak = store.streaks()[A]
    assert streak.failing_runs == 2
    assert streak.failing_since == T0 + timedelta(days=1)
    assert streak.last_verdict is Verdict.EXCLUDED  # what the latest run said, whatever it was


def test_streaks_for_some_urls_only(store: Store) -> None:
    store.record_run(make_run(broken(A), ok(B)))
    assert set(store.streaks([A, "https://example.com/unknown"])) == {A}
    assert set(store.streaks([])) == set()
    many = [f"https://example.com/{n}" for n in range(40_000)]  # more than SQLite's ? limit
    assert set(store.streaks([*many, B])) == {B}


def test_link_history_newest_first(store: Store) -> None:
    store.record_run(make_run(ok(A), day=0))
    store.record_run(make_run(failed(A), day=1, interrupted=True))
    second = store.record_run(make_run(broken(A), day=2))
    assert store.link_history(A) == [
        HistoryEntry(second, T0 + timedelta(days=2), Verdict.BROKEN, 404, None, True),
        HistoryEntry(
            second - 1, T0 + timedelta(days=1), Verdict.ERROR, None, ErrorKind.TIMEOUT, False
        ),
        HistoryEntry(second - 2, T0, Verdict.OK, 200, None, True),
    ]
    assert store.link_history(B) == []


def test_previous_run_verdicts_are_the_latest_recorded_run(store: Store) -> None:
    assert store.previous_run_verdicts() == {}
    store.record_run(make_run(broken(A), ok(B), day=0))
    store.record_run(make_run(ok(A), day=1))
    assert store.previous_run_verdicts() == {A: Verdict.OK}


def test_history_is_pruned_to_keep_runs(db: Path) -> None:
    with Store(db, keep_runs=3) as store:
        store.record_run(make_run(broken(B), day=0))
        for day in range(1, 5):
            store.record_run(make_run(broken(A), day=day))
        assert [e.started_at.day for e in store.link_history(A)] == [24, 23, 22]
        assert store.link_history(B) == []
        assert B not in store.streaks()
        assert store.cache_stats()["runs"] == 3
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM urls WHERE url = ?", (B,)).fetchone() == (0,)
        assert raw.execute("SELECT count(*) FROM run_links").fetchone() == (3,)


# -- checkpoints ------------------------------------------------------------------------------


def test_checkpoint_round_trip_replace_and_clear(store: Store) -> None:
    assert store.load_checkpoint("run-1") is None
    state = {"pending": [A, B], "results": {A: {"verdict": "ok"}}, "pages": 3, "note": "ü"}
    store.save_checkpoint("run-1", state)
    store.save_checkpoint("run-2", {"pending": []})
    assert store.load_checkpoint("run-1") == state
    store.save_checkpoint("run-1", {"pending": [B]})
    assert store.load_checkpoint("run-1") == {"pending": [B]}
    store.clear_checkpoint("run-1")
    assert store.load_checkpoint("run-1") is None
    assert store.load_checkpoint("run-2") == {"pending": []}


def test_a_checkpoint_that_cannot_be_serialised_leaves_the_old_one(store: Store) -> None:
    store.save_checkpoint("k", {"pending": [A]})
    with pytest.raises(TypeError):
        store.save_checkpoint("k", {"pending": {A, B}})  # a set is not JSON
    with pytest.raises(ValueError):
        store.save_checkpoint("k", {"elapsed": float("nan")})
    assert store.load_checkpoint("k") == {"pending": [A]}


def test_a_checkpoint_given_in_pieces_is_saved_whole_and_replaced_whole(store: Store) -> None:
    """A crawl's state arrives a piece at a time (several MB at 50,000 pages) and goes into
    its row by incremental blob I/O: every byte, in order, however it was cut."""
    pieces = [os.urandom(n) for n in (0, 1, 3 * 1024 * 1024 + 7, 12, 2 * 1024 * 1024)]
    store.save_checkpoint_blob("big", iter(pieces))
    store.save_checkpoint_blob("other", [b"x"])
    assert store.load_checkpoint_blob("big") == b"".join(pieces)
    store.save_checkpoint_blob("big", [b"smaller", b" now"])
    assert store.load_checkpoint_blob("big") == b"smaller now"
    assert store.load_checkpoint_blob("other") == b"x"


def test_a_checkpoint_whose_pieces_fail_leaves_the_old_one(store: Store) -> None:
    store.save_checkpoint_blob("k", [b"old state"])

    def failing() -> Iterator[bytes]:
        yield b"new"
        raise ValueError("the state could not be encoded")

    with pytest.raises(ValueError):
        store.save_checkpoint_blob("k", failing())
    assert store.load_checkpoint_blob("k") == b"old state"


# -- damage -----------------------------------------------------------------------------------


def _filled(db: Path) -> None:
    with Store(db) as store:
        store.remember([ok(f"https://example.com/{n}") for n in range(2000)], now=1000.0)
        for day in range(5):
            store.record_run(
                make_run(*(ok(f"https://example.com/{n}") for n in range(500)), day=day)
            )


def _assert_rebuilt(db: Path, caplog: pytest.LogCaptureFixture, suffix: str) -> None:
    aside = [
        p
        for p in db.parent.iterdir()
        if p.name.startswith(f"cache.sqlite.{suffix}") and not p.name.endswith(("-wal", "-shm"))
    ]
    assert len(aside) == 1, list(db.parent.iterdir())
    warnings = [r for r in caplog.records if r.name == "linkcheck.store"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert aside[0].name in warnings[0].getMessage()
    with Store(db) as store:  # works, empty, and stays healthy on the next open
        assert store.cache_stats()["entries"] == 0
        store.remember([ok(A)], now=1000.0)
        assert store.cached(A, max_age=60, now=1001.0) == ok(A)


def test_a_file_of_garbage_is_moved_aside_and_rebuilt(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(os.urandom(10_000))
    garbage = db.read_bytes()
    with caplog.at_level(logging.WARNING, logger="linkcheck.store"):
        Store(db).close()
    _assert_rebuilt(db, caplog, "corrupt-")
    assert next(db.parent.glob("cache.sqlite.corrupt-*")).read_bytes() == garbage


def test_a_truncated_database_is_moved_aside_and_rebuilt(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _filled(db)
    os.truncate(db, db.stat().st_size // 2)
    with caplog.at_level(logging.WARNING, logger="linkcheck.store"):
        Store(db).close()
    _assert_rebuilt(db, caplog, "corrupt-")


def test_damaged_pages_that_fail_quick_check_are_moved_aside(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _filled(db)
    _damage(db)
    with caplog.at_level(logging.WARNING, logger="linkcheck.store"):
        Store(db).close()
    _assert_rebuilt(db, caplog, "corrupt-")


def _damage(db: Path) -> None:
    with db.open("r+b") as handle:  # keep the header, wreck pages in the middle
        handle.seek(4096 * 4)
        handle.write(os.urandom(4096 * 8))


def test_a_large_file_is_checked_once_a_day_and_after_a_query_finds_damage(
    db: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The integrity check reads the whole file: a large one is not checked on every open,
    but a damaged one is still never used twice: the query that finds the damage makes the
    next open check it (and set it aside); a day after the last check, an open checks."""
    monkeypatch.setattr(store_module, "CHECK_ALWAYS_BELOW", 0)  # every file counts as large
    _filled(db)
    checked = db.with_name(db.name + ".checked")
    assert checked.exists()  # the first open checked the new file
    _damage(db)
    with caplog.at_level(logging.WARNING, logger="linkcheck.store"), Store(db) as store:
        assert db.exists() and not list(db.parent.glob("*.corrupt-*"))  # not checked today
        with pytest.raises(StoreError, match="malformed"):
            store.cache_stats()  # reads every page of the cache, which the damage hit
    assert not checked.exists()
    with caplog.at_level(logging.WARNING, logger="linkcheck.store"):
        Store(db).close()
    _assert_rebuilt(db, caplog, "corrupt-")

    caplog.clear()
    for path in db.parent.glob("cache.sqlite*"):
        path.unlink()
    _filled(db)
    _damage(db)
    a_day_ago = time.time() - store_module.CHECK_EVERY - 1
    os.utime(checked, (a_day_ago, a_day_ago))
    with caplog.at_level(logging.WARNING, logger="linkcheck.store"):
        Store(db).close()
    _assert_rebuilt(db, caplog, "corrupt-")


def test_an_unknown_schema_version_is_moved_aside(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _filled(db)
    with sqlite3.connect(db) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 98}")
    with caplog.at_level(logging.WARNING, logger="linkcheck.store"):
        Store(db).close()
    _assert_rebuilt(db, caplog, f"old-{SCHEMA_VERSION + 98}")
    assert f"schema version {SCHEMA_VERSION + 98}" in caplog.records[0].getMessage()
    with sqlite3.connect(db.parent / f"cache.sqlite.old-{SCHEMA_VERSION + 98}") as old:
        assert old.execute("SELECT count(*) FROM cache").fetchone() == (2000,)  # kept intact


def test_a_version_1_file_gains_the_checkpoint_parts_and_keeps_its_data(db: Path) -> None:
    """Schema 2 added the table of resume points' parts: a file of schema 1 (the same tables
    without it) is migrated where it is, not moved aside."""
    _filled(db)
    with sqlite3.connect(db) as raw:
        raw.execute("DROP TABLE checkpoint_parts")
        raw.execute("PRAGMA user_version = 1")
    with Store(db) as store:
        store.save_checkpoint_blob("k", [b"state"], [("variants", 0, b"abc")], "run")
        assert store.load_checkpoint_stream("k", "run", "variants") == b"abc"
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert raw.execute("SELECT count(*) FROM cache").fetchone() == (2000,)
    assert [p.name for p in db.parent.iterdir() if ".old" in p.name] == []


def test_someone_elses_database_is_moved_aside(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as raw:
        raw.execute("CREATE TABLE notes (text TEXT)")
    with caplog.at_level(logging.WARNING, logger="linkcheck.store"):
        Store(db).close()
    _assert_rebuilt(db, caplog, "old-0")


def test_a_stale_wal_goes_aside_with_its_database(db: Path, tmp_path: Path) -> None:
    """Left behind, the old WAL would be replayed into the new, empty file."""
    Store(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA wal_autocheckpoint = 0")  # keep the changes in the WAL
    holder.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    holder.execute("INSERT INTO checkpoints VALUES ('k', 0, '{}')")
    copy = tmp_path / "copy" / "cache.sqlite"  # as left by a process killed at this moment
    copy.parent.mkdir()
    for suffix in ("", "-wal"):
        Path(f"{copy}{suffix}").write_bytes(Path(f"{db}{suffix}").read_bytes())
    holder.close()
    assert Path(f"{copy}-wal").stat().st_size > 0
    with Store(copy) as store:
        assert store.load_checkpoint("k") is None
    aside = copy.parent / f"cache.sqlite.old-{SCHEMA_VERSION + 1}"
    with sqlite3.connect(aside) as old:  # the WAL went along: the old data is whole
        assert old.execute("SELECT key FROM checkpoints").fetchall() == [("k",)]


def test_a_locked_database_is_an_error_not_corruption(db: Path) -> None:
    Store(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Store(db, timeout=0.1) as store, pytest.raises(StoreError, match="locked"):
            store.remember([ok(A)])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [p.name for p in db.parent.iterdir() if ".corrupt" in p.name or ".old" in p.name] == []


def test_an_unusable_folder_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot create the folder"):
        Store(tmp_path / "file" / "cache.sqlite")


# -- processes --------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from datetime import datetime, timezone
    from linkcheck.models import CheckResult, Link, RunResult, Verdict
    from linkcheck.store import Store

    db, name, rounds, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    with Store(db, timeout=30) as store:
        for n in range(rounds):
            urls = [f"https://{name}.example/{n}/{k}" for k in range(50)]
            links = {}
            for url in urls:
                links[url] = Link(url, False, result=CheckResult(url, Verdict.OK, 200))
            now = datetime.now(timezone.utc)
            store.record_run(RunResult([f"https://{name}.example/"], now, now, links, []))
            store.remember([CheckResult(u, Verdict.OK, 200) for u in urls])
            store.save_checkpoint(name, {"round": n, "pending": urls})
            print("committed", n, flush=True)
    """
)


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_two_processes_writing_at_once(db: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    Store(db).close()
    procs = [_spawn(str(db), name, "40", str(go)) for name in ("one", "two")]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    go.touch()
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        assert out.count("committed") == 40
    with Store(db) as store:
        assert store.cache_stats()["runs"] == 80
        assert store.cache_stats()["entries"] == 2 * 40 * 50
        for name in ("one", "two"):
            assert store.load_checkpoint(name) == {
                "round": 39,
                "pending": [f"https://{name}.example/39/{k}" for k in range(50)],
            }
            assert store.link_history(f"https://{name}.example/7/3")[0].verdict is Verdict.OK
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        counts = raw.execute("SELECT count(*) FROM run_links GROUP BY run_id").fetchall()
        assert counts == [(50,)] * 80  # every run whole


def test_kill_9_in_the_middle_of_writes(db: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    go.touch()
    proc = _spawn(str(db), "victim", "100000", str(go))
    assert proc.stdout is not None
    committed = -1
    for line in proc.stdout:
        if line.startswith("committed"):
            committed = int(line.split()[1])
            if committed >= 15:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with Store(db) as store:  # no error, no repair
        assert store.cache_stats()["runs"] >= committed + 1
        for n in range(committed + 1):
            entries = store.link_history(f"https://victim.example/{n}/49")
            assert [e.verdict for e in entries] == [Verdict.OK]
            assert store.cached(f"https://victim.example/{n}/0", max_age=3600) is not None
        checkpoint = store.load_checkpoint("victim")
        assert checkpoint is not None and checkpoint["round"] >= committed
    assert not list(db.parent.glob("*.corrupt-*"))
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)


CHECKPOINTER = textwrap.dedent(
    """
    import sys
    from linkcheck.store import Store

    with Store(sys.argv[1]) as store:
        for generation in range(100000):
            # Large enough (about 2 MB) that a kill often lands in the middle of a save.
            state = {"generation": generation, "pending": [f"{generation}-{k}" for k in range(150_000)]}
            store.save_checkpoint("run", state)
            print(generation, flush=True)
    """
)


def test_a_kill_while_saving_a_checkpoint_keeps_the_previous_one(db: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHECKPOINTER, str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    saved = int(proc.stdout.readline())
    if saved < 2:
        saved = int(proc.stdout.readline())
    time.sleep(0.05)  # somewhere inside a later save
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with Store(db) as store:
        state = store.load_checkpoint("run")
    assert state is not None
    generation = state["generation"]
    assert generation >= saved
    assert state["pending"] == [f"{generation}-{k}" for k in range(150_000)]


def _remember_in_child(store: Store, queue: multiprocessing.Queue[str]) -> None:
    store.remember([ok(B)], now=1000.0)
    queue.put("done")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_opens_its_own_connection(store: Store) -> None:
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = context.Queue()
    store.remember([ok(A)], now=1000.0)
    child = context.Process(target=_remember_in_child, args=(store, queue))
    child.start()
    assert queue.get(timeout=10) == "done"
    child.join(timeout=10)
    assert child.exitcode == 0
    assert store.cached(B, max_age=60, now=1001.0) == ok(B)
    assert store.cached(A, max_age=60, now=1001.0) == ok(A)


# -- commands ---------------------------------------------------------------------------------


def test_cache_stats_and_clear_commands(db: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cache, ["stats", "--cache", str(db)])
    assert result.exit_code == 0 and "No cache at" in result.output
    assert not db.exists()  # looking does not create it
    with Store(db) as store:
        store.remember([ok(A), ok(B)], now=time.time() - 7200)
        store.record_run(make_run(ok(A)))
    result = runner.invoke(cache, ["stats", "--cache", str(db)])
    assert result.exit_code == 0, result.output
    assert f"Cache file: {db} (" in result.output
    assert "Cached results: 2, checked 2 hours ago" in result.output
    assert "Runs recorded: 1, the latest started" in result.output
    result = runner.invoke(cache, ["clear", "--cache", str(db)])
    assert result.exit_code == 0
    assert "Cleared 2 cached results" in result.output
    assert "Cached results: none" in runner.invoke(cache, ["stats", "--cache", str(db)]).output


def test_history_command(db: Path, utc: None) -> None:
    with Store(db) as store:
        for day, result in enumerate([ok(A), ok(A), broken(A), failed(A), broken(A)]):
            store.record_run(make_run(result, ok(B), day=day, interrupted=day == 3))
    result = CliRunner().invoke(history, [A, "--cache", str(db)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "broken since 2026-11-22 (3 runs in a row)",
        "2026-11-24 03:00  broken       404",
        "2026-11-23 03:00  error        timeout  (partial run)",
        "2026-11-22 03:00  broken       404",
        "2026-11-21 03:00  ok           200",
        "2026-11-20 03:00  ok           200",
    ]
    fine = CliRunner().invoke(history, ["https://EXAMPLE.com/b", "--cache", str(db)])
    assert fine.output.splitlines()[0] == "ok in the latest run (2026-11-24 03:00)"
    with Store(db) as store:
        store.record_run(make_run(CheckResult(A, Verdict.BLOCKED, status=999), broken(B), day=5))
    lines = CliRunner().invoke(history, [A, "--cache", str(db)]).output.splitlines()
    assert lines[:2] == [
        "failing since 2026-11-22 (3 runs in a row; blocked in the latest run)",
        "2026-11-25 03:00  blocked      999",
    ]
    lines = CliRunner().invoke(history, [B, "--cache", str(db)]).output.splitlines()
    assert lines[0] == "broken since 2026-11-25 (1 run)"
    unknown = CliRunner().invoke(history, ["https://example.com/zzz", "--cache", str(db)])
    assert unknown.exit_code == 0
    assert "in none of the 6 recorded runs" in unknown.output


def test_history_without_a_cache_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(history, [A, "--cache", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2
    assert result.output.startswith("error: no cache at ")
    assert len(result.output.splitlines()) == 1


def test_a_cache_that_cannot_be_opened_is_a_one_line_error(db: Path) -> None:
    Store(db).close()
    Path(f"{db}.lock").unlink()
    Path(f"{db}.lock").mkdir()  # not even root can open a folder for writing
    result = CliRunner().invoke(cache, ["clear", "--cache", str(db)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {db}: cannot create the lock file")
    assert len(result.output.splitlines()) == 1
