"""The work queue of a distributed run: a Redis stream with leases, and atomic commits.

Tasks (``page``, ``check``, ``sitemaps``) are stream entries read through one consumer
group, so each is leased to one worker (``XREADGROUP``) until it is acknowledged; a worker
that dies leaves its entries pending, and another takes them over once they have been idle
longer than the lease (``XAUTOCLAIM``). Live workers renew their leases (``XCLAIM``).

Everything a task learned — its result, the page, the occurrences, the new URLs — is
written by one Lua script together with the ``XACK``: a task is either wholly done or not
at all. Each record is keyed (a result by URL, occurrences by page), and a URL is enqueued
only by the commit whose ``SADD`` added it to the seen-set, so a task done twice (its
worker was presumed dead) writes the same keys again and enqueues nothing new. The
``outstanding`` counter (entries added minus entries acknowledged) reaches 0 exactly when
the crawl is done: only a commit can add work, and it acknowledges its own task at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from linkcheck.checkpoint import page_to_state
from linkcheck.config import DEFAULT_MAX_QUERIES_PER_PATH
from linkcheck.distributed.keys import GROUP, RunKeys
from linkcheck.models import CheckResult, Finding, Page

# KEYS of the commit script, in order; hash and set writes name their key by this index.
_COMMIT_KEYS = (
    "tasks",
    "seen",
    "links",
    "results",
    "problems",
    "pages",
    "occurrences",
    "findings",
    "non_html",
    "soft404",
    "counters",
    "truncated",
    "over_links",
    "sitemap_files",
    "meta",
    "queries",
    "query_capped",
    "page_facts",
    "rechecked",
)
_INDEX = {name: index + 1 for index, name in enumerate(_COMMIT_KEYS)}

COMMIT_LUA = """
local p = cjson.decode(ARGV[1])
local added = 0
local function xadd(kind, url, depth)
  redis.call('XADD', KEYS[1], '*', 'k', kind, 'u', url, 'd', tostring(depth))
  added = added + 1
end
for _, r in ipairs(p.results) do
  redis.call('HSET', KEYS[4], r[1], r[2])
  if r[3] == 1 then redis.call('SADD', KEYS[5], r[1]) else redis.call('SREM', KEYS[5], r[1]) end
end
-- d = {key, internal, kind, depth, result, problem, counter, query path, trap result, trap
-- problem}: a URL with a query path is decided against its path's cluster-wide budget
-- (ARGV[5], max_queries_per_path) first, as decide.discovery does: past it, the trap result
for _, d in ipairs(p.discover) do
  if redis.call('SADD', KEYS[2], d[1]) == 1 then
    local seq = redis.call('HINCRBY', KEYS[11], 'links_found', 1)
    local kind = d[3]
    local result, problem, counter = d[5], d[6], d[7]
    local qpath = d[8] or ''
    if qpath ~= '' then
      local taken = tonumber(redis.call('HGET', KEYS[16], qpath) or '0')
      if taken >= tonumber(ARGV[5]) then
        redis.call('HINCRBY', KEYS[17], qpath, 1)
        kind, result, problem, counter = 'result', d[9], d[10], 'query_traps'
      end
    end
    if counter ~= '' then redis.call('HINCRBY', KEYS[11], counter, 1) end
    local depth = ''
    if kind == 'page' or kind == 'seed' then
      local scheduled = tonumber(redis.call('HGET', KEYS[11], 'pages_scheduled') or '0')
      if kind == 'page' and scheduled >= tonumber(ARGV[4]) then
        redis.call('HINCRBY', KEYS[11], 'pages_not_crawled_max_pages', 1)
        kind = 'check'
      else
        redis.call('HINCRBY', KEYS[11], 'pages_scheduled', 1)
        if qpath ~= '' then redis.call('HINCRBY', KEYS[16], qpath, 1) end
        kind = 'page'
        depth = tostring(d[4])
      end
    end
    redis.call('HSET', KEYS[3], d[1], d[2] .. ':' .. depth .. ':' .. seq)
    if kind == 'result' then
      redis.call('HSET', KEYS[4], d[1], result)
      if problem == 1 then redis.call('SADD', KEYS[5], d[1]) end
    else
      xadd(kind, d[1], d[4])
    end
  end
end
for _, t in ipairs(p.tasks) do xadd(t[1], t[2], t[3]) end
for _, h in ipairs(p.hashes) do redis.call('HSET', KEYS[h[1]], h[2], h[3]) end
for _, s in ipairs(p.sets) do redis.call('SADD', KEYS[s[1]], s[2]) end
if ARGV[3] ~= '' then
  if redis.call('XACK', KEYS[1], ARGV[2], ARGV[3]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[3])
    added = added - 1
  end
end
if added ~= 0 then redis.call('HINCRBY', KEYS[11], 'outstanding', added) end
return added
"""

# A page that redirects inside the scope is parsed as its target, once: the first task to
# claim the target owns it (and keeps owning it if it is done again).
CLAIM_LUA = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  local seq = redis.call('HINCRBY', KEYS[5], 'links_found', 1)
  redis.call('HSET', KEYS[2], ARGV[1], '1::' .. seq)
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
  return 1
end
if redis.call('HGET', KEYS[4], ARGV[1]) == ARGV[2] then return 1 end
return 0
"""


@dataclass(frozen=True, slots=True)
class Task:
    id: str  # the stream entry id: what is acknowledged
    kind: str  # "page", "check" or "sitemaps"
    url: str
    depth: int
    tries: int = 0  # hand-outs before this entry (a dead worker's task put back: heartbeat)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def result_json(result: CheckResult) -> str:
    return dumps(result.to_dict())


@dataclass(slots=True)
class Commit:
    """Everything one task learned, written in one atomic step together with its ack."""

    results: list[list[Any]] = field(default_factory=list)  # [url, json, problem]
    discover: list[list[Any]] = field(default_factory=list)  # see COMMIT_LUA
    tasks: list[list[Any]] = field(default_factory=list)  # [kind, url, depth]
    hashes: list[list[Any]] = field(default_factory=list)  # [key index, field, value]
    sets: list[list[Any]] = field(default_factory=list)  # [key index, member]

    def result(self, url: str, result: CheckResult) -> None:
        self.results.append([url, result_json(result), int(result.verdict.failed)])

    def discovered(
        self,
        key: str,
        *,
        internal: bool,
        kind: str,
        depth: int = 0,
        result: CheckResult | None = None,
        counter: str = "",
        query_path: str | None = None,
        trap: CheckResult | None = None,
    ) -> None:
        """A URL seen on a page: enqueue ``kind`` (page, seed, check), or record ``result``.

        Only the first commit that names a URL decides it; ``counter`` (a limit that was
        hit) is counted only then too. ``query_path`` (Scope.query_path) and ``trap``: the
        URL's decision once its path's query strings are used up (decide.discovery's
        QUERY_TRAP), taken instead when the path's cluster-wide count has reached
        max_queries_per_path; a URL crawled as a page adds one to the count.
        """
        self.discover.append(
            [
                key,
                "1" if internal else "0",
                "result" if result is not None else kind,
                depth,
                result_json(result) if result is not None else "",
                int(result is not None and result.verdict.failed),
                counter,
                query_path if query_path is not None and trap is not None else "",
                result_json(trap) if trap is not None else "",
                int(trap is not None and trap.verdict.failed),
            ]
        )

    def task(self, kind: str, url: str, depth: int = 0) -> None:
        self.tasks.append([kind, url, depth])

    def page(self, page: Page, ids: frozenset[str]) -> None:
        self._hash("pages", page.url, dumps(page_to_state(page, ids)))

    def occurrences(self, key: str, page: str, items: list[list[Any]]) -> None:
        self._hash("occurrences", key, dumps([page, items]))

    def findings(self, page: str, findings: Sequence[Finding]) -> None:
        self._hash("findings", page, dumps([finding.to_dict() for finding in findings]))

    def non_html(self, url: str, content_type: str) -> None:
        self._hash("non_html", url, content_type)

    def soft404(self, url: str, judgment: list[Any]) -> None:
        self._hash("soft404", url, dumps(judgment))

    def page_facts(self, url: str, fingerprint: bytes, canonical: str) -> None:
        """A parsed page's fingerprint and canonical (see CrawlState.page_facts)."""
        self._hash("page_facts", url, dumps([fingerprint.hex(), canonical]))

    def meta(self, name: str, value: str) -> None:
        self._hash("meta", name, value)

    def member(self, key: str, value: str) -> None:
        """Add to one of the sets: ``truncated``, ``over_links``, ``sitemap_files``,
        ``rechecked``."""
        self.sets.append([_INDEX[key], value])

    def _hash(self, key: str, name: str, value: str) -> None:
        self.hashes.append([_INDEX[key], name, value])

    def payload(self) -> str:
        return dumps(
            {
                "results": self.results,
                "discover": self.discover,
                "tasks": self.tasks,
                "hashes": self.hashes,
                "sets": self.sets,
            }
        )


class TaskQueue:
    """One run's stream, seen-set and records, as the workers and the coordinator use them."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: RunKeys,
        *,
        max_pages: int,
        max_queries_per_path: int = DEFAULT_MAX_QUERIES_PER_PATH,
    ) -> None:
        self._redis = redis
        self.keys = keys
        self._max_pages = max_pages
        self._max_queries = max_queries_per_path
        self._commit = redis.register_script(COMMIT_LUA)
        self._claim = redis.register_script(CLAIM_LUA)
        self._commit_keys = [getattr(keys, name) for name in _COMMIT_KEYS]
        self._cursor = "0-0"  # where XAUTOCLAIM goes on scanning the pending entries

    async def create_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.keys.tasks, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def commit(self, commit: Commit, ack: str = "") -> int:
        """Write ``commit`` and acknowledge task ``ack`` atomically; returns tasks added."""
        added = await self._commit(
            keys=self._commit_keys,
            args=[commit.payload(), GROUP, ack, self._max_pages, self._max_queries],
        )
        return int(added)

    async def claim_redirect(self, target: str, owner: str, result: CheckResult) -> bool:
        keys = self.keys
        claimed = await self._claim(
            keys=[keys.seen, keys.links, keys.results, keys.claims, keys.counters],
            args=[target, owner, result_json(result)],
        )
        return bool(claimed)

    async def read(self, consumer: str, count: int, block_ms: int | None) -> list[Task]:
        """New entries for ``consumer``, waiting up to ``block_ms`` (None: not at all)."""
        reply = await self._redis.xreadgroup(
            GROUP, consumer, {self.keys.tasks: ">"}, count=count, block=block_ms
        )
        return _tasks(_stream_entries(reply))

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Task]:
        """Entries whose lease ran out (their worker died or stalled), now ``consumer``'s."""
        reply = await self._redis.xautoclaim(
            self.keys.tasks, GROUP, consumer, min_idle_ms, start_id=self._cursor, count=count
        )
        self._cursor = _text(reply[0]) if reply else "0-0"
        entries = reply[1] if reply and len(reply) > 1 else []
        return _tasks([(_text(item[0]), item[1]) for item in entries if item and item[1]])

    async def renew(self, consumer: str, ids: Sequence[str]) -> None:
        """Reset the idle time of entries still being worked on: the lease heartbeat."""
        if ids:
            await self._redis.xclaim(self.keys.tasks, GROUP, consumer, 0, list(ids), justid=True)

    async def deliveries(self, ids: Sequence[str]) -> dict[str, int]:
        """How many times each pending entry has been handed out (to spot poison tasks)."""
        if not ids:
            return {}
        ordered = sorted(ids, key=_id_order)
        rows = await self._redis.xpending_range(
            self.keys.tasks, GROUP, min=ordered[0], max=ordered[-1], count=10 * len(ids) + 10
        )
        wanted = set(ids)
        counts: dict[str, int] = {}
        for row in rows:
            entry = _text(row["message_id"])
            if entry in wanted:
                counts[entry] = int(row["times_delivered"])
        return counts

    async def outstanding(self) -> int:
        value = await self._redis.hget(self.keys.counters, "outstanding")
        return int(value or 0)


def _stream_entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    """XREADGROUP's answer (RESP2 list or RESP3 map) as (id, fields) pairs."""
    if not reply:
        return []
    streams = reply.values() if isinstance(reply, dict) else [item[1] for item in reply]
    entries: list[tuple[str, dict[str, str]]] = []
    for stream in streams:
        if stream and isinstance(stream[0], list | tuple) and len(stream[0]) == 2:
            entries.extend((_text(entry_id), fields) for entry_id, fields in stream)
        else:  # RESP3 may nest one more level
            for inner in stream:
                entries.extend((_text(entry_id), fields) for entry_id, fields in inner)
    return entries


def _tasks(entries: list[tuple[str, Any]]) -> list[Task]:
    tasks = []
    for entry_id, fields in entries:
        if not fields:
            continue  # deleted while pending; nothing to do
        values = {_text(k): _text(v) for k, v in dict(fields).items()}
        depth = values.get("d", "0")
        tasks.append(
            Task(
                entry_id,
                values.get("k", "check"),
                values.get("u", ""),
                int(depth) if depth.lstrip("-").isdigit() else 0,
                int(tries) if (tries := values.get("n", "0")).isdigit() else 0,
            )
        )
    return tasks


def _id_order(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
