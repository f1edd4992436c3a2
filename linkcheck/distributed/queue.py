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

A worker writes the commits of the tasks that finish together in one script call
(:class:`CommitWriter`), each batch all or nothing as one task's was. The same script keeps
the run's *level*, the lowest depth whose page tasks are not all done, and a page task
deeper than it waits in its worker: pages are crawled breadth first, as a single run's
frontier does, so a page's depth is its shortest path's.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from base64 import b64decode, b64encode
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ResponseError
from redis.typing import EncodableT

from linkcheck.checkpoint import page_to_state
from linkcheck.config import DEFAULT_MAX_QUERIES_PER_PATH
from linkcheck.distributed.keys import GROUP, RunKeys
from linkcheck.models import CheckResult, Finding, Page

MAX_BATCH_TASKS = 64  # tasks one commit call writes at most (see CommitWriter) ...
MAX_BATCH_BYTES = 4 * 2**20  # ... and payload bytes: one long script call blocks Redis
STUCK_AFTER = 1.0  # seconds a worker with only held tasks waits before it reads on

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
    "shortest",
    "taken",
    "digests",
    "digesters",
)
_INDEX = {name: index + 1 for index, name in enumerate(_COMMIT_KEYS)}

COMMIT_LUA = """
-- ARGV: [1] a JSON list of commits, [2] the group, [3] a JSON list of acks [entry id, depth
-- of a page task or -1], [4] max_pages, [5] max_queries_per_path. Several tasks' commits are
-- written in one call: hash fields and set members are gathered per key and written with
-- one command each, counters are added once, the seen-set is asked once (SMISMEMBER).
-- [6] the run's identity token (linkcheck.distributed.identity): into a Redis that lost the
-- run (restarted empty, or another run's state) nothing is written.
-- [7...] the commits' hash values, each commit's ``n`` of them in turn: a hash entry names
-- its value by its place among its commit's (the records, a page's occurrences above all,
-- are written as they came, never decoded here)
if ARGV[6] ~= '' and redis.call('HGET', KEYS[15], 'token') ~= ARGV[6] then
  return redis.error_reply('LINKCHECK_RUN_LOST')
end
local commits = cjson.decode(ARGV[1])
local acks = cjson.decode(ARGV[3])
local C = KEYS[11]
local added = 0
local hashes, sets, incr, order = {}, {}, {}, {}
local function hset(k, f, v)
  local h = hashes[k]
  if not h then h = {}; hashes[k] = h; order[#order + 1] = k end
  h[#h + 1] = f; h[#h + 1] = v
end
local function sadd(k, m)
  local s = sets[k]
  if not s then s = {}; sets[k] = s end
  s[#s + 1] = m
end
local function count(f, n) incr[f] = (incr[f] or 0) + n end
local function xadd(kind, url, depth)
  redis.call('XADD', KEYS[1], '*', 'k', kind, 'u', url, 'd', tostring(depth))
  added = added + 1
  -- pages waiting per depth: a depth's pages all done is a level done (breadth first);
  -- page tasks ever made: while within max_pages, a page is parsed without TAKE_LUA
  if kind == 'page' then count('pages_at:' .. tostring(depth), 1); count('page_tasks', 1) end
end
-- a command over a long list goes in parts: unpack() has a limit (LUAI_MAXCSTACK)
local function each_part(list, call)
  for i = 1, #list, 4000 do call(unpack(list, i, math.min(i + 3999, #list))) end
end
local problem = {}
local problem_order = {}
local function mark(url, failed)
  if problem[url] == nil then problem_order[#problem_order + 1] = url end
  problem[url] = failed
end
-- which URLs the seen-set has: asked once for the whole batch
local names = {}
for _, p in ipairs(commits) do
  for _, d in ipairs(p.discover) do names[#names + 1] = d[1] end
end
local known = {}
for i = 1, #names, 4000 do
  local have = redis.call('SMISMEMBER', KEYS[2], unpack(names, i, math.min(i + 3999, #names)))
  for j, yes in ipairs(have) do if yes == 1 then known[names[i + j - 1]] = true end end
end
-- the run's counters, read once; written back once at the end (see below)
local state = redis.call('HMGET', C, 'links_found', 'pages_taken', 'level', 'deepest', 'page_tasks')
local seq = tonumber(state[1] or '0')
-- pages taken on (parsed, or being parsed: TAKE_LUA): past max_pages a new page is a check
local pages_taken = tonumber(state[2] or '0')
local known_value = {links_found = seq, pages_taken = pages_taken}
known_value.page_tasks = tonumber(state[5] or '0')
local taken = {}
local fresh = {}
local deepest = -1
local values_from = 6  -- the ARGV index before the next commit's first hash value
for _, p in ipairs(commits) do
  local base = values_from
  values_from = values_from + (p.n or 0)
  -- a page parsed without TAKE_LUA (the run's page tasks were within max_pages) counts
  -- here, once (one TAKE_LUA answered, or a task done twice, counts already), before the
  -- links it found are decided, as a single run counts it while it is parsed
  for _, url in ipairs(p.parsed or {}) do
    if redis.call('HSETNX', KEYS[21], url, 1) == 1 then
      pages_taken = pages_taken + 1
      count('pages_taken', 1)
    end
  end
  for _, r in ipairs(p.results) do
    hset(4, r[1], r[2])
    mark(r[1], r[3] == 1)
  end
  -- d = {key, internal, kind, depth, result, problem, counter, query path, trap result, trap
  -- problem}: a URL with a query path is decided against its path's cluster-wide budget
  -- (ARGV[5], max_queries_per_path) first, as decide.discovery does: past it, the trap result
  for _, d in ipairs(p.discover) do
    if not known[d[1]] then
      known[d[1]] = true
      fresh[#fresh + 1] = d[1]
      seq = seq + 1
      count('links_found', 1)
      local kind = d[3]
      local result, problem_, counter = d[5], d[6], d[7]
      local qpath = d[8] or ''
      if qpath ~= '' then
        if taken[qpath] == nil then
          taken[qpath] = tonumber(redis.call('HGET', KEYS[16], qpath) or '0')
        end
        if taken[qpath] >= tonumber(ARGV[5]) then
          count('qcapped:' .. qpath, 1)
          kind, result, problem_, counter = 'result', d[9], d[10], 'query_traps'
        end
      end
      if counter ~= '' then count(counter, 1) end
      local depth = ''
      if kind == 'page' or kind == 'seed' then
        if kind == 'page' and pages_taken >= tonumber(ARGV[4]) then
          count('pages_not_crawled_max_pages', 1)
          kind = 'check'
        else
          if qpath ~= '' then taken[qpath] = taken[qpath] + 1; count('queries:' .. qpath, 1) end
          kind = 'page'
          depth = tostring(d[4])
          if d[4] > deepest then deepest = d[4] end
        end
      end
      hset(3, d[1], d[2] .. ':' .. depth .. ':' .. seq)
      if kind == 'result' then
        hset(4, d[1], result)
        if problem_ == 1 then mark(d[1], true) end
      else
        xadd(kind, d[1], d[4])
      end
    end
  end
  for _, t in ipairs(p.tasks) do xadd(t[1], t[2], t[3]) end
  for _, h in ipairs(p.hashes) do hset(h[1], h[2], ARGV[base + h[3]]) end
  for _, s in ipairs(p.sets) do sadd(s[1], s[2]) end
  -- a page that ran at a shorter depth than it was queued at passes it on, as a single run
  -- does (Crawler._shorten): a link it names that is a page still waiting (no result), known
  -- deeper, gets that depth, in the links hash and in the shortest hash its task reads
  for _, e in ipairs(p.shorten or {}) do
    if redis.call('HEXISTS', KEYS[4], e[1]) == 0 then
      local link = redis.call('HGET', KEYS[3], e[1])
      local internal, depth, s = string.match(link or '', '^([^:]*):([^:]*):(.*)$')
      if depth and depth ~= '' and e[2] < tonumber(depth) then
        hset(3, e[1], internal .. ':' .. tostring(e[2]) .. ':' .. s)
        redis.call('HSET', KEYS[20], e[1], tostring(e[2]))
      end
    end
  end
end
local function sadd_all(key, members)
  each_part(members, function(...) redis.call('SADD', key, ...) end)
end
sadd_all(KEYS[2], fresh)
for _, k in ipairs(order) do
  each_part(hashes[k], function(...) redis.call('HSET', KEYS[k], ...) end)
end
for k, members in pairs(sets) do sadd_all(KEYS[k], members) end
local failed, fine = {}, {}
for _, url in ipairs(problem_order) do
  if problem[url] then failed[#failed + 1] = url else fine[#fine + 1] = url end
end
sadd_all(KEYS[5], failed)
each_part(fine, function(...) redis.call('SREM', KEYS[5], ...) end)
local gone = {}
for _, a in ipairs(acks) do
  if redis.call('XACK', KEYS[1], ARGV[2], a[1]) == 1 then
    gone[#gone + 1] = a[1]
    added = added - 1
    if a[2] >= 0 then count('pages_at:' .. tostring(a[2]), -1) end
  end
end
each_part(gone, function(...) redis.call('XDEL', KEYS[1], ...) end)
if added ~= 0 then count('outstanding', added) end
-- counters: those the batch changed are read in one command and written in another
local fields, names_ = {}, {}
for f, n in pairs(incr) do
  if f:sub(1, 8) == 'qcapped:' then
    redis.call('HINCRBY', KEYS[17], f:sub(9), n)
  elseif f:sub(1, 8) == 'queries:' then
    redis.call('HINCRBY', KEYS[16], f:sub(9), n)
  elseif n ~= 0 then
    names_[#names_ + 1] = f
  end
end
local value, unread = {}, {}
for _, f in ipairs(names_) do
  if known_value[f] ~= nil then value[f] = known_value[f] + incr[f] else unread[#unread + 1] = f end
end
if #unread > 0 then
  local now = redis.call('HMGET', C, unpack(unread))
  for i, f in ipairs(unread) do value[f] = tonumber(now[i] or '0') + incr[f] end
end
for _, f in ipairs(names_) do
  fields[#fields + 1] = f
  fields[#fields + 1] = value[f]
end
-- the level: the lowest depth whose pages are not all done; a page deeper than it waits
local level = tonumber(state[3] or '0')
local deep = tonumber(state[4] or '-1')
if deepest > deep then
  deep = deepest
  fields[#fields + 1] = 'deepest'
  fields[#fields + 1] = deep
end
local was = level
while level < deep do
  local left = value['pages_at:' .. level]
  if left == nil then left = tonumber(redis.call('HGET', C, 'pages_at:' .. level) or '0') end
  if left > 0 then break end
  level = level + 1
end
if level ~= was then fields[#fields + 1] = 'level'; fields[#fields + 1] = level end
if #fields > 0 then redis.call('HSET', C, unpack(fields)) end
return {added, level, value['page_tasks'] or known_value.page_tasks}
"""

# A page about to be parsed is taken on while fewer than max_pages (ARGV[2]) are, as
# linkcheck.decide.page_taken says; past it, it is a checked link, counted as not crawled.
# A page's answer is kept (KEYS[1]): a task done again (its worker was presumed dead) gets
# the same one and counts nothing twice. ARGV[3]: the run's identity token (see COMMIT_LUA).
TAKE_LUA = """
if ARGV[3] ~= '' and redis.call('HGET', KEYS[3], 'token') ~= ARGV[3] then
  return redis.error_reply('LINKCHECK_RUN_LOST')
end
local was = redis.call('HGET', KEYS[1], ARGV[1])
if was then return tonumber(was) end
local taken = tonumber(redis.call('HGET', KEYS[2], 'pages_taken') or '0')
if taken < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], 1)
  redis.call('HINCRBY', KEYS[2], 'pages_taken', 1)
  return 1
end
redis.call('HSET', KEYS[1], ARGV[1], 0)
redis.call('HINCRBY', KEYS[2], 'pages_not_crawled_max_pages', 1)
return 0
"""

# A page that redirects inside the scope is parsed as its target, once: the first task to
# claim the target owns it (and keeps owning it if it is done again). A target found deeper
# first and not done yet keeps the redirect's depth (ARGV[4]), its shortest path's, as in a
# single run (Crawler._claim_redirect_target): the links hash says so for a resume, and the
# shortest hash for the worker that starts its page task (Queue.shortest).
CLAIM_LUA = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  local seq = redis.call('HINCRBY', KEYS[5], 'links_found', 1)
  redis.call('HSET', KEYS[2], ARGV[1], '1::' .. seq)
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
  return 1
end
if redis.call('HGET', KEYS[4], ARGV[1]) == ARGV[2] then return 1 end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then
  local link = redis.call('HGET', KEYS[2], ARGV[1])
  if link then
    local internal, depth, seq = string.match(link, '^([^:]*):([^:]*):(.*)$')
    local d = tonumber(ARGV[4])
    if depth and depth ~= '' and d < tonumber(depth) then
      redis.call('HSET', KEYS[2], ARGV[1], internal .. ':' .. ARGV[4] .. ':' .. seq)
      redis.call('HSET', KEYS[6], ARGV[1], ARGV[4])
    end
  end
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Task:
    id: str  # the stream entry id: what is acknowledged
    kind: str  # "page", "check" or "sitemaps"
    url: str
    depth: int
    tries: int = 0  # hand-outs before this entry (a dead worker's task put back: heartbeat)
    shortest: int | None = None  # a shorter depth a redirect found for the page (CLAIM_LUA)

    @property
    def shortest_depth(self) -> int:
        """The depth the page is recorded at and its links found at: the shortest known
        (``depth`` stays what the level counts were kept by)."""
        return self.depth if self.shortest is None else min(self.depth, self.shortest)


def dumps(value: Any) -> str:
    """Compact JSON text (orjson: json.dumps took a tenth of a worker's time) for what goes
    inside a commit's JSON: results, acks, notes. The page's records, the largest, are
    written as bytes by the Commit's methods and travel beside it (Commit._hash)."""
    return orjson.dumps(value).decode()


def result_json(result: CheckResult) -> str:
    return dumps(result.to_dict())


@dataclass(slots=True)
class Commit:
    """Everything one task learned, written in one atomic step together with its ack."""

    results: list[list[Any]] = field(default_factory=list)  # [url, json, problem]
    discover: list[list[Any]] = field(default_factory=list)  # see COMMIT_LUA
    tasks: list[list[Any]] = field(default_factory=list)  # [kind, url, depth]
    hashes: list[list[Any]] = field(default_factory=list)  # [key index, field, value number]
    values: list[bytes | str] = field(default_factory=list)  # the hash values, by number - 1
    sets: list[list[Any]] = field(default_factory=list)  # [key index, member]
    shortened: list[list[Any]] = field(default_factory=list)  # [key, depth]: see shorten
    parsed: list[str] = field(default_factory=list)  # pages parsed without TAKE_LUA

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
        self._hash("pages", page.url, orjson.dumps(page_to_state(page, ids)))

    def occurrences(self, key: str, page: str, items: list[list[Any]]) -> None:
        """Occurrences written out, each ``[link key, href, text, tag, attr, line,
        fragment]`` (a sitemap's entries)."""
        self._hash("occurrences", key, orjson.dumps([page, items]))

    def digested(self, page: str, source: str, rows: array[int]) -> None:
        """A parsed page's occurrences as its digest numbered them: ``rows`` (link id, line,
        variant id) for each, the ids those of digester ``source`` (see :meth:`defined`)."""
        self._hash("occurrences", page, orjson.dumps([page, source, rows.tolist()]))

    def defined(self, source: str, number: int, keys: Sequence[str], variants: Variants) -> None:
        """What digester ``source``'s next link ids and variant ids stand for, in id order:
        the links' keys and the variants (its ``number``-th such record, from 0)."""
        packed = b64encode(variants.packed).decode()
        flags = b64encode(variants.flags).decode()
        record = orjson.dumps([keys, packed, variants.ends.tolist(), flags])
        self._hash("digests", f"{source} {number}", record)
        self.member("digesters", source)

    def findings(self, page: str, findings: Sequence[Finding]) -> None:
        self._hash("findings", page, orjson.dumps([finding.to_dict() for finding in findings]))

    def non_html(self, url: str, content_type: str) -> None:
        self._hash("non_html", url, content_type)

    def soft404(self, url: str, judgment: list[Any]) -> None:
        self._hash("soft404", url, orjson.dumps(judgment))

    def page_facts(self, url: str, fingerprint: bytes, canonical: str) -> None:
        """A parsed page's fingerprint and canonical (see CrawlState.page_facts)."""
        self._hash("page_facts", url, orjson.dumps([fingerprint.hex(), canonical]))

    def meta(self, name: str, value: str) -> None:
        self._hash("meta", name, value)

    def member(self, key: str, value: str) -> None:
        """Add to one of the sets: ``truncated``, ``over_links``, ``sitemap_files``,
        ``rechecked``, ``digesters``."""
        self.sets.append([_INDEX[key], value])

    def _hash(self, key: str, name: str, value: bytes | str) -> None:
        """A hash field: its value travels as an argument of its own (COMMIT_LUA), not inside
        the payload's JSON, where it would be escaped, and decoded again by the script."""
        self.values.append(value)
        self.hashes.append([_INDEX[key], name, len(self.values)])

    def shorten(self, rows: Sequence[int], link_key: Callable[[int], str], depth: int) -> None:
        """The links of a page that ran at a shorter ``depth`` - 1 than it was queued at: each
        that is a page still waiting, known deeper, gets ``depth`` (see COMMIT_LUA)."""
        keys = dict.fromkeys(link_key(link_id) for link_id in rows[0::3])
        self.shortened.extend([key, depth] for key in keys)

    def encoded(self) -> Encoded:
        """The commit as COMMIT_LUA takes it: its JSON, and its hash values beside it."""
        document: dict[str, Any] = {
            "results": self.results,
            "discover": self.discover,
            "tasks": self.tasks,
            "hashes": self.hashes,
            "sets": self.sets,
        }
        if self.values:
            document["n"] = len(self.values)
        if self.shortened:
            document["shorten"] = self.shortened
        if self.parsed:
            document["parsed"] = self.parsed
        payload = orjson.dumps(document)
        return Encoded(payload, self.values, len(payload) + sum(map(len, self.values)))


@dataclass(slots=True)
class Variants:
    """Variants packed end to end as a digest sends them (:class:`~linkcheck.digest
    .PageDigest`'s ``new_variants``, ``variant_ends``, ``variant_flags``), several digests'
    in turn."""

    packed: bytearray = field(default_factory=bytearray)
    ends: array[int] = field(default_factory=lambda: array("I"))  # relative to packed
    flags: bytearray = field(default_factory=bytearray)

    def add(self, packed: bytes | bytearray, ends: array[int], flags: bytes | bytearray) -> None:
        """One digest's new variants after those held (``ends`` relative to ``packed``)."""
        offset = len(self.packed)
        self.packed += packed
        self.ends.extend(offset + end for end in ends)
        self.flags += flags

    @staticmethod
    def read(packed: str, ends: list[int], flags: str) -> tuple[bytes, array[int], bytes]:
        """What :meth:`Commit.defined` wrote, for :meth:`~linkcheck.models._VariantTable
        .add_all`."""
        return b64decode(packed), array("I", ends), b64decode(flags)

    def __bool__(self) -> bool:
        return bool(self.ends)


@dataclass(frozen=True, slots=True)
class Encoded:
    """A commit ready to be written: its JSON, its hash values, and their bytes in all."""

    payload: bytes
    values: list[bytes | str]
    size: int


class TaskQueue:
    """One run's stream, seen-set and records, as the workers and the coordinator use them."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: RunKeys,
        *,
        max_pages: int,
        max_queries_per_path: int = DEFAULT_MAX_QUERIES_PER_PATH,
        token: str = "",
    ) -> None:
        self._redis = redis
        self.keys = keys
        self._token = token  # the run's identity: commits check it (linkcheck.distributed.identity)
        self._max_pages = max_pages
        self._max_queries = max_queries_per_path
        # The run's page tasks, as the last commit answered (None: none yet): while within
        # max_pages, no page can be refused, and pages are taken without asking (may_take).
        self._page_tasks: int | None = None
        self._commit = redis.register_script(COMMIT_LUA)
        self._claim = redis.register_script(CLAIM_LUA)
        self._take = redis.register_script(TAKE_LUA)
        self._commit_keys = [getattr(keys, name) for name in _COMMIT_KEYS]
        self._cursor = "0-0"  # where XAUTOCLAIM goes on scanning the pending entries

    async def create_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.keys.tasks, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def commit(self, commit: Commit, ack: Task | None = None) -> int:
        """Write ``commit`` and acknowledge task ``ack`` atomically; returns tasks added."""
        added, _ = await self.commit_many([(commit.encoded(), ack)])
        return added

    async def commit_many(self, batch: Sequence[tuple[Encoded, Task | None]]) -> tuple[int, int]:
        """Write several tasks' commits and acknowledge their tasks in one atomic step;
        returns the tasks added and the run's level (pages deeper wait)."""
        payload = b"[" + b",".join(commit.payload for commit, _ in batch) + b"]"
        acks = [[task.id, page_depth(task)] for _, task in batch if task is not None]
        values = [value for commit, _ in batch for value in commit.values]
        args: list[EncodableT] = [
            payload, GROUP, dumps(acks), self._max_pages, self._max_queries, self._token, *values
        ]  # fmt: skip
        added, level, page_tasks = await self._commit(keys=self._commit_keys, args=args)
        self._page_tasks = max(self._page_tasks or 0, int(page_tasks))
        return int(added), int(level)

    @property
    def may_take(self) -> bool:
        """Whether a page about to be parsed is taken on without asking (TAKE_LUA): the
        run has made no more page tasks than max_pages, so none can be refused; its commit
        counts it (Commit.parsed). Past that, or before this process's first commit, ask.
        Commits answer the count late: pages being parsed when the count passes max_pages
        elsewhere are still taken, so a cluster may crawl up to its pages in flight more."""
        return self._page_tasks is not None and self._page_tasks <= self._max_pages

    async def level(self) -> int:
        """The lowest depth whose pages are not all done (see COMMIT_LUA)."""
        return int(await self._redis.hget(self.keys.counters, "level") or 0)

    async def take_page(self, url: str) -> bool:
        """Whether the page at ``url``, about to be parsed, is taken on (see TAKE_LUA; and
        :attr:`may_take` for when it need not be asked)."""
        keys = self.keys
        taken = await self._take(
            keys=[keys.taken, keys.counters, keys.meta], args=[url, self._max_pages, self._token]
        )
        return bool(taken)

    async def claim_redirect(
        self, target: str, owner: str, result: CheckResult, depth: int
    ) -> bool:
        """Claim the target of a redirect from page ``owner`` (at ``depth``); see CLAIM_LUA."""
        keys = self.keys
        claimed = await self._claim(
            keys=[keys.seen, keys.links, keys.results, keys.claims, keys.counters, keys.shortest],
            args=[target, owner, result_json(result), depth],
        )
        return bool(claimed)

    async def shortest(self, tasks: list[Task]) -> list[Task]:
        """``tasks`` about to start, each page task with the shorter depth a redirect found
        for it meanwhile, if any (one round trip for them all; see CLAIM_LUA)."""
        urls = [task.url for task in tasks if task.kind == "page"]
        if not urls:
            return tasks
        found = dict(zip(urls, await self._redis.hmget(self.keys.shortest, urls), strict=True))
        return [
            replace(task, shortest=int(depth))
            if task.kind == "page" and (depth := found.get(task.url)) is not None
            else task
            for task in tasks
        ]

    async def read(self, consumer: str, count: int, block_ms: int | None) -> list[Task]:
        """New entries for ``consumer``, waiting up to ``block_ms`` (None: not at all)."""
        reply = await self._redis.xreadgroup(
            GROUP, consumer, {self.keys.tasks: ">"}, count=count, block=block_ms
        )
        return _tasks(_stream_entries(reply))

    async def handed(self, consumer: str, count: int) -> list[str]:
        """The ids of the entries handed to ``consumer`` and not acknowledged, oldest first
        (its own pending list: ``XPENDING``, which leaves their delivery counts as they are,
        where reading the list back with ``XREADGROUP … 0`` would count each one as handed
        out again). A worker compares them with the tasks it holds: one it never received
        is a hand-out whose reply was lost, Redis restarting between the two."""
        rows = await self._redis.xpending_range(
            self.keys.tasks, GROUP, min="-", max="+", count=count, consumername=consumer
        )
        return [_text(row["message_id"]) for row in rows]

    async def take(self, consumer: str, ids: Sequence[str]) -> list[Task]:
        """The entries ``ids`` as tasks of ``consumer`` (``XCLAIM``: each counts as handed
        out once more); an entry deleted meanwhile is left out."""
        if not ids:
            return []
        reply = await self._redis.xclaim(self.keys.tasks, GROUP, consumer, 0, list(ids))
        return _tasks([(_text(item[0]), item[1]) for item in reply or [] if item and item[1]])

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


class CommitWriter:
    """A worker's commits, written in groups, and the breadth-first order they report.

    Group commit: the commits of tasks that finish while a write is on its way go together
    in the next one (one round trip and one script call for several tasks, up to
    MAX_BATCH_TASKS or MAX_BATCH_BYTES); a lone task is written at once, so nothing waits
    for a batch to fill. A task counts as done when its write has returned.

    Each write answers with the run's level (COMMIT_LUA): a page task deeper than it is
    held here, leased, until the level reaches it (see :func:`runnable`).
    """

    def __init__(self, queue: TaskQueue) -> None:
        self._queue = queue
        self._waiting: list[tuple[Encoded, Task | None, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.level = 0
        self.held: dict[str, Task] = {}  # page tasks deeper than the level, by entry id
        self._stuck_since = 0.0  # since when only held tasks are in hand (0: not so)

    async def commit(self, commit: Commit, task: Task | None) -> None:
        """Write ``commit`` (acknowledging ``task``) with whatever else is waiting."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((commit.encoded(), task, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await future

    def writing(self) -> list[asyncio.Task[None]]:
        """The write under way, if any (for a worker that stops)."""
        return [self._writer] if self._writer is not None and not self._writer.done() else []

    def runnable(self, tasks: list[Task]) -> list[Task]:
        """Of ``tasks`` and those held, the ones that may start now; the rest are held."""
        ready = [task for task in self.held.values() if runnable(task, self.level)]
        for task in ready:
            del self.held[task.id]
        for task in tasks:
            if runnable(task, self.level):
                ready.append(task)
            else:
                self.held[task.id] = task
        if ready:
            self._stuck_since = 0.0
        return ready

    def holding(self, idle: bool) -> int:
        """How many read slots the held tasks take. A worker with nothing else in hand
        (``idle``) for STUCK_AFTER seconds reads on regardless: the level's own pages may be
        behind them in the stream (a dead worker's task put back at its end)."""
        if not idle or not self.held:
            self._stuck_since = 0.0
            return len(self.held)
        now = time.monotonic()
        if not self._stuck_since:
            self._stuck_since = now
        return 0 if now - self._stuck_since >= STUCK_AFTER else len(self.held)

    async def refresh(self, wait: float) -> None:
        """Wait ``wait`` seconds, then read the level (a worker with only held tasks)."""
        await asyncio.sleep(wait)
        self.level = max(self.level, await self._queue.level())

    async def _write(self) -> None:
        while self._waiting:
            batch, size = 0, 0
            for encoded, _, _ in self._waiting:
                if batch and (batch >= MAX_BATCH_TASKS or size + encoded.size > MAX_BATCH_BYTES):
                    break
                batch += 1
                size += encoded.size
            taken, self._waiting = self._waiting[:batch], self._waiting[batch:]
            try:
                _, level = await self._queue.commit_many([(p, task) for p, task, _ in taken])
            except BaseException as exc:  # Redis lost, or the worker stops: say so to all
                cancelled = isinstance(exc, asyncio.CancelledError)
                for _, _, future in taken + self._waiting:
                    if future.done():
                        continue
                    if cancelled:
                        future.cancel()
                    else:
                        future.set_exception(exc)
                self._waiting = []
                if cancelled:
                    raise
                return
            self.level = max(self.level, level)
            for _, _, future in taken:
                if not future.done():  # its task was cancelled meanwhile: written anyway
                    future.set_result(None)


def page_depth(task: Task) -> int:
    """A page task's depth, -1 for other tasks: what its ack takes off the level counts."""
    return task.depth if task.kind == "page" else -1


def runnable(task: Task, level: int) -> bool:
    """Whether a task may start now: breadth first, a page waits until every page less
    deep is done (its depth at most the run's level), so it is found first by the page
    nearest to the start, as in a single run (linkcheck.frontier)."""
    return task.kind != "page" or task.depth <= level


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
