"""Names of a distributed run's Redis keys, all under ``linkcheck:run:<id>:``.

One place decides the layout, so the coordinator, the workers and ``linkcheck status`` can
never disagree about where something lives. Bump :data:`SCHEMA_VERSION` on any change to
the keys, the task fields or the stored JSON: a worker refuses a run of another version
rather than misread it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_LEASE = 60.0  # seconds a task stays with a silent worker before others take it
DEFAULT_WAIT = 60.0  # seconds a worker waits for a run to join
# A worker silent this long (no heartbeat) is dead: whoever notices puts its tasks back in
# the queue at once. Heartbeats come from a task of their own, so a slow URL is no silence.
DEFAULT_GRACE = 10.0
HEARTBEAT_EVERY = 2.0  # seconds between a worker's heartbeats (at most grace / 4)

SCHEMA_VERSION = 4  # 2: query budgets per path, page facts (#20); 3: heartbeats (#22);
# 4: a page's occurrences as its digest numbered them, with the digests' definitions
PREFIX = "linkcheck"
CURRENT_KEY = f"{PREFIX}:current"  # the run a worker joins when it is not given --run
RUNS_KEY = f"{PREFIX}:runs"  # sorted set: run id -> start time (for status)
GROUP = "workers"  # the stream's one consumer group: every worker and the coordinator

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique enough: ``20250101-120000-3fa9``."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{moment}-{secrets.token_hex(2)}"


def valid_run_id(run_id: str) -> bool:
    """Letters, digits, '.', '_' and '-': a run id becomes part of every key name."""
    return bool(_RUN_ID.match(run_id))


@dataclass(frozen=True, slots=True)
class RunKeys:
    """Every key of one run. Hash tags are not used: one Redis (not Redis Cluster)."""

    run_id: str

    @property
    def prefix(self) -> str:
        return f"{PREFIX}:run:{self.run_id}:"

    def key(self, name: str) -> str:
        return self.prefix + name

    @property
    def meta(self) -> str:  # hash: schema, version, config, status, times, lease, flags
        return self.key("meta")

    @property
    def tasks(self) -> str:  # stream of work: k (page|check|sitemaps), u (url), d (depth)
        return self.key("tasks")

    @property
    def seen(self) -> str:  # set: every URL (or unusable href) decided once
        return self.key("seen")

    @property
    def links(self) -> str:  # hash: url -> "internal:depth:seq" (depth only for pages)
        return self.key("links")

    @property
    def results(self) -> str:  # hash: url -> CheckResult.to_dict() JSON
        return self.key("results")

    @property
    def problems(self) -> str:  # set: urls whose verdict is broken or error (progress)
        return self.key("problems")

    @property
    def pages(self) -> str:  # hash: page url -> Page.to_dict() JSON with the page's ids
        return self.key("pages")

    @property
    def occurrences(self) -> str:  # hash: page url -> [page, source, rows] (or [page, items])
        return self.key("occ")

    @property
    def digests(self) -> str:  # hash: "source n" -> [link keys, packed variants, ends, flags]
        return self.key("digests")

    @property
    def digesters(self) -> str:  # set: the sources of page records (one per worker process)
        return self.key("digesters")

    @property
    def findings(self) -> str:  # hash: page url -> [Finding.to_dict(), ...] (link text)
        return self.key("findings")

    @property
    def non_html(self) -> str:  # hash: in-scope url -> Content-Type (start URL checks)
        return self.key("nonhtml")

    @property
    def soft404(self) -> str:  # hash: page url -> [reason, by_probe] or [] (judged, fine)
        return self.key("soft404")

    @property
    def counters(self) -> str:  # hash: outstanding, links_found, pages_taken, limits
        return self.key("counters")

    @property
    def truncated(self) -> str:  # set: pages larger than max_body_bytes
        return self.key("truncated")

    @property
    def over_links(self) -> str:  # set: pages with more than max_links_per_page links
        return self.key("overlinks")

    @property
    def sitemap_files(self) -> str:  # set: sitemap URLs that listed entries
        return self.key("sitemapfiles")

    @property
    def rechecked(self) -> str:  # set: URLs a worker looked at again (linkcheck.recheck)
        return self.key("rechecked")

    @property
    def queries(self) -> str:  # hash: path -> query strings crawled (max_queries_per_path)
        return self.key("queries")

    @property
    def query_capped(self) -> str:  # hash: path -> query strings left, its budget used up
        return self.key("qcapped")

    @property
    def page_facts(self) -> str:  # hash: page url -> [fingerprint hex, canonical] (aliases)
        return self.key("facts")

    @property
    def claims(self) -> str:  # hash: redirect target -> the page task that parses it
        return self.key("claims")

    @property
    def taken(self) -> str:  # hash: page url -> 1 taken on, 0 past max_pages (TAKE_LUA)
        return self.key("taken")

    @property
    def shortest(self) -> str:  # hash: page url -> a shorter depth found by a redirect
        return self.key("shortest")

    @property
    def assembly(self) -> str:  # sorted set: url -> seq, while the coordinator reads back
        return self.key("assembly")

    @property
    def workers(self) -> str:  # hash: consumer name -> JSON (host, pid, state, done, seen)
        return self.key("workers")

    @property
    def alive(self) -> str:  # sorted set: consumer name -> server time of its last heartbeat
        return self.key("alive")

    def host(self, origin: str, part: str) -> str:
        """Politeness state of one origin (``slots``, ``next``, ``pause``, ``wake``); these
        expire."""
        return self.key(f"host:{origin}:{part}")

    def all_fixed(self) -> list[str]:
        """Every key except the per-origin ones (which carry their own short TTLs)."""
        return [
            self.meta,
            self.tasks,
            self.seen,
            self.links,
            self.results,
            self.problems,
            self.pages,
            self.occurrences,
            self.digests,
            self.digesters,
            self.findings,
            self.non_html,
            self.soft404,
            self.counters,
            self.truncated,
            self.over_links,
            self.sitemap_files,
            self.rechecked,
            self.queries,
            self.query_capped,
            self.page_facts,
            self.claims,
            self.taken,
            self.shortest,
            self.workers,
            self.alive,
        ]
