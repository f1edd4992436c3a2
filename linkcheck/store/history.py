"""The run history: each run's verdict per link, and where each link stands over its runs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from linkcheck.models import CheckResult, ErrorKind, RunResult, Verdict
from linkcheck.store.database import Database

# The verdicts as sets, for the SQL below (the predicates are models.Verdict's).
CACHEABLE = frozenset(verdict for verdict in Verdict if verdict.works)
FAILING = frozenset(verdict for verdict in Verdict if verdict.failed)  # a failing streak's


def _sql_list(verdicts: frozenset[Verdict]) -> str:
    return "(" + ", ".join(f"'{verdict.value}'" for verdict in sorted(verdicts)) + ")"


# Per URL, through the (url_id, run_id) key only: the latest run in which it worked (`stop`,
# 0 if never), then the failing runs after that one (the streak; its first run gives
# failing_since), and its latest verdict. Inconclusive verdicts are neither counted nor stop
# the streak. Correlated subqueries, not a join on the latest run: a join lets SQLite choose
# to scan every row of the history.
_STREAKS = f"""
SELECT url, failing_runs,
    (SELECT r.started_at FROM run_links f JOIN runs r ON r.id = f.run_id
     WHERE f.url_id = s.url_id AND f.run_id > s.stop AND f.verdict IN {_sql_list(FAILING)}
     ORDER BY f.run_id LIMIT 1) AS failing_since,
    (SELECT verdict FROM run_links WHERE url_id = s.url_id ORDER BY run_id DESC LIMIT 1),
    (SELECT r.started_at FROM run_links l JOIN runs r ON r.id = l.run_id
     WHERE l.url_id = s.url_id ORDER BY l.run_id DESC LIMIT 1) AS last_seen
FROM (
    SELECT url_id, url, stop,
        (SELECT count(*) FROM run_links
         WHERE url_id = w.url_id AND run_id > w.stop AND verdict IN {_sql_list(FAILING)})
         AS failing_runs
    FROM (
        SELECT u.id AS url_id, u.url AS url,
            coalesce((SELECT run_id FROM run_links
                      WHERE url_id = u.id AND verdict IN {_sql_list(CACHEABLE)}
                      ORDER BY run_id DESC LIMIT 1), 0) AS stop
        FROM urls u {{where}}
    ) w
) s
"""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A link's outcome in one recorded run."""

    run_id: int
    started_at: datetime
    verdict: Verdict
    status: int | None
    error: ErrorKind | None
    complete: bool  # the run was neither interrupted nor stopped by a limit


@dataclass(frozen=True, slots=True)
class Streak:
    """Where a link stands over its latest recorded runs.

    ``failing_runs`` counts the most recent runs in a row in which the link was broken or
    error; runs that did not settle it (skipped, excluded, blocked, rate-limited) are passed
    over, neither breaking nor extending the streak. ``last_verdict`` is the verdict of the
    latest run that recorded the link at all, whatever it was.
    """

    url: str
    failing_runs: int  # 0 when the latest conclusive verdict is ok or redirected
    failing_since: datetime | None  # started_at of the first run of the streak
    last_verdict: Verdict
    last_seen: datetime  # started_at of the latest run that recorded the link


class RunHistory:
    """The ``runs``, ``urls`` and ``run_links`` tables of one :class:`Database`."""

    def __init__(self, db: Database, *, keep_runs: int) -> None:
        self._db = db
        self.keep_runs = keep_runs

    def record_run(self, run: RunResult) -> int:
        """Add a finished (or partial) run to the history; returns its id.

        The run becomes the latest one (runs are ordered as recorded). Keeps the newest
        ``keep_runs`` runs and prunes the rest, so the file stays bounded however often
        linkcheck runs.
        """
        rows = [
            (link.result.verdict.value, link.result.status, _error_value(link.result), url)
            for url, link in run.links.items()
            if link.result is not None
        ]
        with self._db.errors("record the run"), self._db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (started_at, finished_at, start_urls, complete) "
                "VALUES (?, ?, ?, ?)",
                (
                    run.started_at.isoformat(),
                    run.finished_at.isoformat(),
                    json.dumps(run.start_urls, ensure_ascii=False),
                    int(run.complete),
                ),
            )
            run_id = cursor.lastrowid
            assert run_id is not None
            # The rows go to a scratch table unindexed, then into urls and run_links in two
            # set statements: a look-up of urls by text per row took twice as long for a
            # large site (bench/README.md)
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS recorded "
                "(verdict TEXT NOT NULL, status INTEGER, error TEXT, url TEXT NOT NULL)"
            )
            conn.execute("DELETE FROM recorded")
            conn.executemany("INSERT INTO recorded VALUES (?, ?, ?, ?)", rows)
            conn.execute("INSERT OR IGNORE INTO urls (url) SELECT url FROM recorded")
            conn.execute(
                "INSERT INTO run_links (run_id, url_id, verdict, status, error) "
                "SELECT ?, u.id, r.verdict, r.status, r.error "
                "FROM recorded r JOIN urls u ON u.url = r.url",
                (run_id,),
            )
            conn.execute("DELETE FROM recorded")
            pruned = conn.execute(
                "DELETE FROM runs WHERE id IN "
                "(SELECT id FROM runs ORDER BY id DESC LIMIT -1 OFFSET ?)",
                (self.keep_runs,),
            ).rowcount
            if pruned:
                conn.execute(
                    "DELETE FROM urls WHERE NOT EXISTS "
                    "(SELECT 1 FROM run_links WHERE url_id = urls.id)"
                )
        return run_id

    def link_history(self, url: str) -> list[HistoryEntry]:
        """Every recorded outcome of ``url``, newest run first (empty when never recorded)."""
        with self._db.errors("read the history"):
            rows = (
                self._db.connection()
                .execute(
                    "SELECT r.id, r.started_at, l.verdict, l.status, l.error, r.complete "
                    "FROM urls u JOIN run_links l ON l.url_id = u.id "
                    "JOIN runs r ON r.id = l.run_id "
                    "WHERE u.url = ? ORDER BY r.id DESC",
                    (url,),
                )
                .fetchall()
            )
        return [
            HistoryEntry(
                run_id=run_id,
                started_at=datetime.fromisoformat(started_at),
                verdict=Verdict(verdict),
                status=status,
                error=ErrorKind(error) if error else None,
                complete=bool(complete),
            )
            for run_id, started_at, verdict, status, error, complete in rows
        ]

    def streaks(self, urls: Iterable[str] | None = None) -> dict[str, Streak]:
        """A :class:`Streak` per recorded URL (only those in ``urls`` when given).

        Reads only each URL's newest row and its failing streak, through the primary key: its
        time does not grow with the length of the history.
        """
        with self._db.errors("read the history"), self._db.read() as conn:
            if urls is None:
                rows = conn.execute(_STREAKS.format(where="")).fetchall()
            else:
                # A temporary table, not `IN (?, ...)`: SQLite caps the number of parameters.
                conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (url TEXT PRIMARY KEY)")
                conn.execute("DELETE FROM temp.wanted")
                conn.executemany(
                    "INSERT OR IGNORE INTO temp.wanted (url) VALUES (?)", ((u,) for u in urls)
                )
                where = "WHERE u.url IN (SELECT url FROM temp.wanted)"
                rows = conn.execute(_STREAKS.format(where=where)).fetchall()
        return {
            url: Streak(
                url=url,
                failing_runs=failing_runs,
                failing_since=datetime.fromisoformat(since) if failing_runs else None,
                last_verdict=Verdict(last_verdict),
                last_seen=datetime.fromisoformat(last_seen),
            )
            for url, failing_runs, since, last_verdict, last_seen in rows
            if last_verdict is not None  # a URL whose runs were all pruned (not yet dropped)
        }

    def previous_run_verdicts(self) -> dict[str, Verdict]:
        """URL → verdict in the most recent recorded run, for "new" and "fixed since last run".

        Empty when no run is recorded. Call it before :meth:`record_run` for the current run.
        """
        with self._db.errors("read the history"), self._db.read() as conn:
            rows = conn.execute(
                "SELECT u.url, l.verdict FROM run_links l JOIN urls u ON u.id = l.url_id "
                "WHERE l.run_id = (SELECT max(id) FROM runs)"
            ).fetchall()
        return {url: Verdict(verdict) for url, verdict in rows}


def _error_value(result: CheckResult) -> str | None:
    return result.error.value if result.error else None
