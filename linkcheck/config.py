"""Read ``config.toml``, apply command-line overrides, validate, and freeze the result.

Every default lives here as a named constant; the CLI help and docs/configuration.md quote
the same values. Validation errors are :class:`ConfigError` with a one-line message naming the file,
the section and the key, so the CLI can print it and exit 2 without a traceback.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkcheck.models import Verdict
from linkcheck.quality import DEFAULT_GENERIC_TEXTS
from linkcheck.urls import InvalidURL, OriginPattern, normalize_url, origin_key

DEFAULT_CONFIG_FILE = "config.toml"

DEFAULT_MAX_PAGES = 10_000
AUTO_PARSE_WORKERS = -1  # one worker process per spare CPU core (linkcheck.parse_pool)
DEFAULT_PARSE_WORKERS = AUTO_PARSE_WORKERS
DEFAULT_MAX_DEPTH = 50
DEFAULT_MAX_LINKS_PER_PAGE = 10_000
# Distinct query strings crawled under one path (an endless ?month= calendar, ?page= or
# filter combinations): past it, more of them are noted as a possible crawl trap, not followed.
DEFAULT_MAX_QUERIES_PER_PATH = 50
DEFAULT_MAX_URL_LENGTH = 2_048
DEFAULT_PARSE_QUEUE_BYTES = 64 * 1024 * 1024  # fetched page bodies waiting to be parsed
# Link occurrences kept in memory; past it they go to the run's spill file (models)
DEFAULT_OCCURRENCES_IN_MEMORY = 1_000_000
MAX_OCCURRENCES_IN_MEMORY = 1 << 31  # an occurrence is three 32-bit numbers in an array
DEFAULT_MAX_DURATION = 3_600.0  # seconds for the whole run; 0 means no limit
DEFAULT_RESPECT_ROBOTS = True
DEFAULT_CONCURRENCY = 32
DEFAULT_PER_HOST_CONCURRENCY = 8  # hosts being crawled: usually your own servers
DEFAULT_EXTERNAL_PER_HOST_CONCURRENCY = 2  # other sites: be a modest guest
DEFAULT_PER_HOST_INTERVAL = 0.0
DEFAULT_EXTERNAL_PER_HOST_INTERVAL = 0.0
DEFAULT_ACCEPT = "200-299"
DEFAULT_RECHECK = True
DEFAULT_RECHECK_DELAY = 5.0
# Seconds one URL may cost across all its attempts, the recheck included; 0: twice the
# timeout (one timeout, and one more try of it while other work is still running).
DEFAULT_URL_BUDGET = 0.0
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_REDIRECTS = 10
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_RETRIES = 2
DEFAULT_RETRY_MAX_WAIT = 30.0
# Links to other sites are asked with GET: HEAD answers are often not what GET says (a CDN
# or shop platform answers HEAD 200 for a page that is gone), and a body is needed to
# recognise a "not found" page that answers 200. A [hosts] profile can ask for "head".
DEFAULT_EXTERNAL_METHOD = "get"
# Bytes of a checked (not crawled) link's body read with GET: enough for the <title> and
# first <h1> of most pages; then the connection is closed rather than drained.
DEFAULT_CHECK_BODY_BYTES = 16 * 1024
DEFAULT_INDEX_FILES = ("index.html",)
DEFAULT_EXTENSIONS = (".html", ".htm")
DEFAULT_OUTPUT = "reports"
DEFAULT_CACHE_PATH = ".linkcheck/cache.sqlite"
DEFAULT_CACHE_MAX_AGE = 86_400.0  # one day
DEFAULT_BASELINE_FILE = "linkcheck-baseline.toml"
DEFAULT_CHECKPOINT_INTERVAL = 30.0  # a save costs the fetching process ~0.9 s at 10k pages
DEFAULT_FORMATS = ("html", "json")
DEFAULT_REPORT_COMMAND_FORMATS = ("html",)  # `linkcheck report`: the editors' page of a saved run
DEFAULT_DEMO_HOST = "127.0.0.1"  # `linkcheck serve-demo`: loopback, the demo is for this machine
DEFAULT_DEMO_PORT = 8735  # the port ./config.toml and the Makefile point at
DEFAULT_FAIL_ON = ("broken", "error")  # blocked and rate-limited do not fail a run by default
# "error" also covers error-level findings (mixed content); "warning" all other findings.
FAIL_ON_CHOICES = (*(verdict.value for verdict in Verdict), "warning")

REPORT_FORMATS = ("html", "json", "junit", "sarif", "markdown", "csv", "github")
EXTERNAL_METHODS = ("head", "get")
VERDICT_NAMES = tuple(verdict.value for verdict in Verdict)

# The largest values a setting may take. Past these a value is a typo or a wish for "no limit"
# (inf), and the asyncio timers, semaphores and socket pools the values reach do not take
# them (a timeout of inf, or a semaphore of 10**12, ends the run with a traceback).
MAX_SECONDS_PER_REQUEST = 3_600.0  # timeout: a server silent for an hour is not answering
MAX_WAIT = 86_400.0  # a pause, interval or delay: a day
MAX_RUN_SECONDS = 31_536_000.0  # max_duration: a year (0 is the way to say "no limit")
MAX_CACHE_AGE = 10 * 31_536_000.0  # cache max_age: ten years
MAX_CONCURRENCY = 10_000  # requests in flight: each is a socket, and a process has ~1024 by default
MAX_COUNT = 1_000_000_000  # pages, links per page, URL length: far beyond any real site
MAX_DEPTH = 100_000
MAX_REDIRECTS = 1_000
MAX_RETRIES = 100
MAX_BODY_BYTES = 1024**4  # a terabyte: never reached, but a finite cap
MAX_PARSE_WORKERS = 64  # processes; linkcheck.parse_pool starts at most 4 by itself


@dataclass(frozen=True, slots=True)
class Range:
    """The values a numeric setting may take: a finite number from ``low`` to ``high``."""

    low: float
    high: float
    low_open: bool = False  # "more than low", not "at least low"
    unit: str = ""  # "seconds": said in the message
    note: str = ""  # what a special value means, e.g. "0: no limit"

    def problem(self, value: float) -> str | None:
        """Why ``value`` is not allowed (the end of a one-line message), or None."""
        unit = f" {self.unit}" if self.unit else ""
        note = f" ({self.note})" if self.note else ""
        if value != value or value in (float("inf"), float("-inf")):  # nan is not equal to nan
            return f"must be a finite number{' of' + unit if unit else ''}{note}, got {value}"
        if self.low_open and value <= self.low:
            return f"must be more than {_number(self.low)}{unit}{note}, got {_number(value)}"
        if value < self.low:
            return f"must be at least {_number(self.low)}{unit}{note}, got {_number(value)}"
        if value > self.high:
            return f"must be at most {_number(self.high)}{unit}{note}, got {_number(value)}"
        return None


def _number(value: float) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    # str() of an int of thousands of digits raises ValueError (CPython's digit limit)
    return str(value) if value.bit_length() < 64 else "a number of more than 18 digits"


_SECONDS = Range(0, MAX_WAIT, unit="seconds")
_TIMEOUT = Range(0, MAX_SECONDS_PER_REQUEST, low_open=True, unit="seconds")
_CONCURRENCY = Range(1, MAX_CONCURRENCY)
# Every numeric setting of every section, by (section, key). A numeric field missing here is
# still checked as a finite, non-negative number of at most MAX_COUNT (see _range_of).
RANGES: dict[tuple[str, str], Range] = {
    ("crawl", "max_pages"): Range(1, MAX_COUNT),
    ("crawl", "max_depth"): Range(0, MAX_DEPTH),
    ("crawl", "max_links_per_page"): Range(1, MAX_COUNT),
    ("crawl", "max_queries_per_path"): Range(1, MAX_COUNT),
    ("crawl", "max_url_length"): Range(64, MAX_COUNT),
    ("crawl", "max_duration"): Range(0, MAX_RUN_SECONDS, unit="seconds", note="0: no limit"),
    ("crawl", "parse_workers"): Range(
        AUTO_PARSE_WORKERS, MAX_PARSE_WORKERS, note=f"{AUTO_PARSE_WORKERS}: one per spare core"
    ),
    ("crawl", "parse_queue_bytes"): Range(0, MAX_BODY_BYTES, unit="bytes", note="0: no limit"),
    ("crawl", "occurrences_in_memory"): Range(0, MAX_OCCURRENCES_IN_MEMORY, note="0: no limit"),
    ("http", "concurrency"): _CONCURRENCY,
    ("http", "per_host_concurrency"): _CONCURRENCY,
    ("http", "external_per_host_concurrency"): _CONCURRENCY,
    ("http", "per_host_interval"): _SECONDS,
    ("http", "external_per_host_interval"): _SECONDS,
    ("http", "timeout"): _TIMEOUT,
    ("http", "max_redirects"): Range(0, MAX_REDIRECTS),
    ("http", "max_body_bytes"): Range(1024, MAX_BODY_BYTES, unit="bytes"),
    ("http", "check_body_bytes"): Range(0, MAX_BODY_BYTES, unit="bytes"),
    ("http", "retries"): Range(0, MAX_RETRIES),
    ("http", "retry_max_wait"): _SECONDS,
    ("http", "recheck_delay"): _SECONDS,
    ("http", "url_budget"): Range(0, MAX_WAIT, unit="seconds", note="0: twice the timeout"),
    ("cache", "max_age"): Range(0, MAX_CACHE_AGE, unit="seconds"),
    ("cache", "failures_before_broken"): Range(1, MAX_COUNT),
    ("cache", "checkpoint_interval"): Range(0, MAX_WAIT, low_open=True, unit="seconds"),
}
# [hosts."name"] keys: as in [http] (concurrency and interval are per_host_*)
HOST_RANGES: dict[str, Range] = {
    "timeout": _TIMEOUT,
    "concurrency": _CONCURRENCY,
    "interval": _SECONDS,
    "cache_max_age": RANGES["cache", "max_age"],
}
_UNLISTED = Range(0, MAX_COUNT)


class ConfigError(Exception):
    """A configuration or usage problem, described in one line for the user.

    The message quotes what the user wrote (a key, a value, a path), which may hold a line
    break or another control character: those are shown escaped, so the message stays one
    line whatever was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message.translate(_ESCAPED))


# Every character str.splitlines() breaks at, and the other C0 controls but tab: as escapes
_ESCAPED = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F, 0x85, 0x2028, 0x2029)
} | {0x0A: "\\n", 0x0D: "\\r"}


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    """What is crawled (fetched and parsed) and what is only checked."""

    max_pages: int = DEFAULT_MAX_PAGES
    max_depth: int = DEFAULT_MAX_DEPTH
    allowed_hosts: tuple[str, ...] = ()
    allowed_prefixes: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    check_external: bool = True
    respect_robots: bool = DEFAULT_RESPECT_ROBOTS
    max_links_per_page: int = DEFAULT_MAX_LINKS_PER_PAGE
    max_queries_per_path: int = DEFAULT_MAX_QUERIES_PER_PATH
    max_url_length: int = DEFAULT_MAX_URL_LENGTH
    max_duration: float = DEFAULT_MAX_DURATION
    parse_workers: int = DEFAULT_PARSE_WORKERS
    parse_queue_bytes: int = DEFAULT_PARSE_QUEUE_BYTES
    occurrences_in_memory: int = DEFAULT_OCCURRENCES_IN_MEMORY


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """How requests are made: concurrency, time and size bounds, retries."""

    concurrency: int = DEFAULT_CONCURRENCY
    per_host_concurrency: int = DEFAULT_PER_HOST_CONCURRENCY
    external_per_host_concurrency: int = DEFAULT_EXTERNAL_PER_HOST_CONCURRENCY
    per_host_interval: float = DEFAULT_PER_HOST_INTERVAL
    external_per_host_interval: float = DEFAULT_EXTERNAL_PER_HOST_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    retries: int = DEFAULT_RETRIES
    retry_max_wait: float = DEFAULT_RETRY_MAX_WAIT
    external_method: str = DEFAULT_EXTERNAL_METHOD
    check_body_bytes: int = DEFAULT_CHECK_BODY_BYTES
    user_agent: str = ""
    accept: str = DEFAULT_ACCEPT
    recheck: bool = DEFAULT_RECHECK
    recheck_delay: float = DEFAULT_RECHECK_DELAY
    url_budget: float = DEFAULT_URL_BUDGET
    allow_private: bool = False
    verify_tls: bool = True
    ca_bundle: str = ""


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """The content-quality checks; each is on unless marked opt-in."""

    fragments: bool = True  # page#section must name an element on the (crawled) page
    external_fragments: bool = False  # opt-in: GET external pages once to check #sections
    soft_404: bool = True  # "not found" pages that answer 200; deep links sent to home/login
    https: bool = True  # http:// links and mixed content on https:// pages
    link_text: bool = True  # empty, image-without-alt, generic, same text/different targets
    generic_link_texts: tuple[str, ...] = DEFAULT_GENERIC_TEXTS
    mailto_tel: bool = True  # address and number syntax (nothing is sent or dialled)
    sitemaps: bool = True  # sitemap.xml and robots.txt Sitemap: lines as seeds; orphan pages
    sitemap_urls: tuple[str, ...] = ()  # more sitemaps to read (.xml or .xml.gz)
    duplicates: bool = True  # one destination written in several forms


@dataclass(frozen=True, slots=True)
class LocalSettings:
    """A built site in a folder, checked as if deployed at ``base_url``."""

    root: str = ""
    base_url: str = ""
    index_files: tuple[str, ...] = DEFAULT_INDEX_FILES
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """What linkcheck remembers between runs, in one SQLite file."""

    enabled: bool = True
    path: str = DEFAULT_CACHE_PATH
    max_age: float = DEFAULT_CACHE_MAX_AGE  # seconds an external link's good result is reused
    failures_before_broken: int = 1  # runs in a row a link must fail before it fails the run
    baseline: str = DEFAULT_BASELINE_FILE
    checkpoint_interval: float = DEFAULT_CHECKPOINT_INTERVAL  # seconds between resume points


@dataclass(frozen=True, slots=True)
class ReportSettings:
    output: str = DEFAULT_OUTPUT
    formats: tuple[str, ...] = DEFAULT_FORMATS
    fail_on: tuple[str, ...] = DEFAULT_FAIL_ON


@dataclass(frozen=True, slots=True)
class HostProfile:
    """``[hosts."name"]``: settings for one origin, overriding [http].

    The key is ``host``, ``host:port`` or ``scheme://host[:port]`` (a
    :class:`~linkcheck.urls.OriginPattern`): a profile applies to a request whose origin
    (RFC 6454: scheme, host and port) is the key's, a key without a port meaning the default
    port (80 or 443), never another port of the host. Credentials and extra headers go only
    to such requests, and over plain http only when the key says ``http://``.
    """

    key: str
    host: str
    scheme: str | None = None
    port: int | None = None
    accept: str | None = None
    method: str | None = None
    timeout: float | None = None
    user_agent: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    username: str | None = None
    password: str | None = None
    verify_tls: bool | None = None
    concurrency: int | None = None
    interval: float | None = None
    allow_private: bool | None = None
    soft_404: bool | None = None  # per-host switch for the soft-404 check
    cache_max_age: float | None = None  # per-host [cache] max_age
    fragments: bool | None = None  # per-host switch for #fragment checks

    def matches(self, scheme: str, host: str, port: int) -> bool:
        """(scheme, host, port) as :func:`~linkcheck.urls.origin_key` gives them."""
        return OriginPattern(self.host, self.scheme, self.port).matches(scheme, host, port)

    def may_receive_secrets(self, scheme: str) -> bool:
        """Secrets travel over https, or over http only when the key asked for it."""
        return scheme == "https" or self.scheme == "http"

    def summary(self) -> dict[str, object]:
        """JSON-ready and safe to publish: secrets are masked."""
        values = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("key", "host", "scheme", "port", "headers", "password")
        }
        values = {k: v for k, v in values.items() if v is not None}
        if self.password is not None:
            values["password"] = "***"
        if self.headers:
            values["headers"] = {name: "***" for name, _ in self.headers}
        return values


@dataclass(frozen=True, slots=True)
class RemapRule:
    """Rewrite a URL before it is requested (the report still shows the original)."""

    pattern: re.Pattern[str]
    replace: str

    def apply(self, url: str) -> str | None:
        new, count = self.pattern.subn(self.replace, url, count=1)
        return new if count else None


@dataclass(frozen=True, slots=True)
class Config:
    start_urls: tuple[str, ...] = ()
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    local: LocalSettings = field(default_factory=LocalSettings)
    checks: CheckSettings = field(default_factory=CheckSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    remap: tuple[RemapRule, ...] = ()
    hosts: tuple[HostProfile, ...] = ()
    source: str = "built-in defaults"

    def profile_for(self, url: str) -> HostProfile | None:
        """The most specific ``[hosts]`` profile for the URL's origin, if any."""
        scheme, host, port = origin_key(url)
        matching = [p for p in self.hosts if p.matches(scheme, host, port)]
        if not matching:
            return None
        return max(matching, key=lambda p: (p.scheme is not None) + (p.port is not None))

    def remapped(self, url: str) -> str | None:
        """The URL to request instead of ``url``, or None when no rule applies."""
        for rule in self.remap:
            new = rule.apply(url)
            if new is not None:
                return new
        return None

    def summary(self) -> dict[str, object]:
        """The effective settings, JSON-ready, for the report's record of the run."""
        return {
            "source": self.source,
            "start_urls": list(self.start_urls),
            "crawl": _plain(dataclasses.asdict(self.crawl)),
            "http": _plain(dataclasses.asdict(self.http)),
            "report": _plain(dataclasses.asdict(self.report)),
            "local": _plain(dataclasses.asdict(self.local)),
            "checks": _plain(dataclasses.asdict(self.checks)),
            "cache": _plain(dataclasses.asdict(self.cache)),
            "remap": [{"pattern": r.pattern.pattern, "replace": r.replace} for r in self.remap],
            "hosts": {profile.key: profile.summary() for profile in self.hosts},
        }


def _plain(values: dict[str, Any]) -> dict[str, object]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


_SECTIONS: dict[str, type[Any]] = {
    "crawl": CrawlSettings,
    "http": HttpSettings,
    "report": ReportSettings,
    "local": LocalSettings,
    "checks": CheckSettings,
    "cache": CacheSettings,
}
_TOP_LEVEL_KEYS = ("start_urls", "remap", "hosts", *_SECTIONS)
_HOST_KEYS = (
    *(
        f.name
        for f in dataclasses.fields(HostProfile)
        if f.name not in ("key", "host", "scheme", "port")
    ),
    "password_env",
)


def load_config(path: str | Path | None = None, *, required: bool = False) -> Config:
    """Load ``path`` (default ``./config.toml``); a missing default file means built-in defaults.

    ``required`` makes a missing file an error (the user named it with ``--config``).
    """
    file = Path(path) if path is not None else Path(DEFAULT_CONFIG_FILE)
    if not file.is_file():
        if required or path is not None:
            raise ConfigError(f"{file}: configuration file not found")
        return Config()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot be read: {exc}") from None
    return config_from_mapping(data, source=str(file))


def config_from_mapping(data: Mapping[str, Any], *, source: str = "<config>") -> Config:
    """Validate a parsed TOML document and build a frozen :class:`Config`."""
    _reject_unknown(data.keys(), _TOP_LEVEL_KEYS, source, "top level")
    start_urls = _check_str_list(data.get("start_urls", []), source, "start_urls")
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        raw = data.get(name, {})
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: [{name}] must be a table, got {_type_name(raw)}")
        sections[name] = _build_section(cls, raw, source, name)
    remap = _build_remap(data.get("remap", []), source)
    hosts = _build_hosts(data.get("hosts", {}), source)
    config = Config(
        start_urls=tuple(start_urls),
        crawl=sections["crawl"],
        http=sections["http"],
        report=sections["report"],
        local=sections["local"],
        checks=sections["checks"],
        cache=sections["cache"],
        remap=remap,
        hosts=hosts,
        source=source,
    )
    return validate(config)


def with_overrides(config: Config, **overrides: Any) -> Config:
    """Apply command-line values (None means "not given") and validate again."""
    section_of = {
        f.name: section for section, cls in _SECTIONS.items() for f in dataclasses.fields(cls)
    }
    changes: dict[str, dict[str, Any]] = {section: {} for section in _SECTIONS}
    start_urls = config.start_urls
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "start_urls":
            start_urls = tuple(value)
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            # named as the user wrote it: the option, not the [section] key
            option = "--" + key.replace("_", "-")
            _check_number(value, _range_of(section_of[key], key), "command line", option)
        changes[section_of[key]][key] = tuple(value) if isinstance(value, list) else value
    config = dataclasses.replace(
        config,
        start_urls=start_urls,
        crawl=dataclasses.replace(config.crawl, **changes["crawl"]),
        http=dataclasses.replace(config.http, **changes["http"]),
        report=dataclasses.replace(config.report, **changes["report"]),
        local=dataclasses.replace(config.local, **changes["local"]),
        checks=dataclasses.replace(config.checks, **changes["checks"]),
        cache=dataclasses.replace(config.cache, **changes["cache"]),
    )
    return validate(config, source="command line")


def validate(config: Config, *, source: str | None = None) -> Config:
    """Check values that a type alone cannot: ranges, choices, regexes, URLs."""
    where = source or config.source
    crawl, http, report = config.crawl, config.http, config.report
    for section in _SECTIONS:
        settings = getattr(config, section)
        for f in dataclasses.fields(settings):
            value = getattr(settings, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                _check_number(value, _range_of(section, f.name), where, f"[{section}] {f.name}")
    _one_of(http.external_method, EXTERNAL_METHODS, where, "http", "external_method")
    if http.user_agent:
        _check_header("User-Agent", http.user_agent, where, "[http] user_agent")
    _check_accept(http.accept, where, "[http] accept")
    if http.ca_bundle and not Path(http.ca_bundle).is_file():
        raise ConfigError(f"{where}: [http] ca_bundle: file not found: {http.ca_bundle}")
    for fmt in report.formats:
        _one_of(fmt, REPORT_FORMATS, where, "report", "formats")
    for verdict in report.fail_on:
        _one_of(verdict, FAIL_ON_CHOICES, where, "report", "fail_on")
    for index, sitemap in enumerate(config.checks.sitemap_urls):
        _check_http_url(sitemap, where, f"[checks] sitemap_urls[{index}]")
    for key in ("include", "exclude"):
        for index, pattern in enumerate(getattr(crawl, key)):
            _compile(pattern, where, f"[crawl] {key}[{index}]")
    local = config.local
    if local.root and not Path(local.root).is_dir():
        problem = "is not a folder" if Path(local.root).exists() else "no such folder"
        raise ConfigError(f"{where}: [local] root: {local.root}: {problem}")
    if local.base_url:
        _check_http_url(local.base_url, where, "[local] base_url")
        if not local.base_url.split("?", 1)[0].endswith("/"):
            folder = local.base_url.split("?", 1)[0].rsplit("/", 1)[0] + "/"
            raise ConfigError(
                f"{where}: [local] base_url must be the address the folder is served at, "
                f"ending in '/' (did you mean {folder!r} or {local.base_url + '/'!r}?)"
            )
    if not local.index_files:
        raise ConfigError(f"{where}: [local] index_files must name at least one file")
    for extension in local.extensions:
        if not extension.startswith("."):
            raise ConfigError(f"{where}: [local] extensions: {extension!r} must start with '.'")
    for index, url in enumerate(config.start_urls):
        _check_http_url(url, where, f"start_urls[{index}]")
    for index, host in enumerate(crawl.allowed_hosts):  # origins: host, host:port, scheme://…
        _parse_host_key(host, where, f"[crawl] allowed_hosts[{index}]")
    for index, prefix in enumerate(crawl.allowed_prefixes):
        _check_http_url(prefix, where, f"[crawl] allowed_prefixes[{index}]")
    return config


def parse_accept(spec: str) -> frozenset[int]:
    """``"200-299,403"`` → the set of accepted status codes; ValueError says what is wrong."""
    codes: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if not 100 <= first <= last <= 999:
            raise ValueError(f"'{part}' is not a status code or range between 100 and 999")
        codes.update(range(first, last + 1))
    if not codes:
        raise ValueError("no status codes given")
    return frozenset(codes)


def _check_accept(spec: str, source: str, where: str) -> None:
    try:
        parse_accept(spec)
    except ValueError as exc:
        raise ConfigError(
            f'{source}: {where} must look like "200-299,403": {exc}'.replace(
                "invalid literal for int() with base 10", "not a number"
            )
        ) from None


def _build_hosts(raw: Any, source: str) -> tuple[HostProfile, ...]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{source}: hosts must be written as [hosts."name"] tables')
    profiles = []
    for key, table in raw.items():
        where = f'[hosts."{key}"]'
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: {where} must be a table")
        _reject_unknown(table.keys(), _HOST_KEYS, source, where)
        scheme, host, port = _parse_host_key(key, source, where)
        values: dict[str, Any] = {}
        hints = typing.get_type_hints(HostProfile)
        for name, value in table.items():
            if name == "headers":
                if not isinstance(value, Mapping) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()
                ):
                    raise ConfigError(f"{source}: {where} headers must be a table of strings")
                for header, text in value.items():
                    _check_header(header, text, source, f"{where} headers")
                values["headers"] = tuple(value.items())
            elif name == "password_env":
                if not isinstance(value, str):
                    raise ConfigError(f"{source}: {where} password_env must be a string")
                if value not in os.environ:
                    raise ConfigError(
                        f"{source}: {where} password_env: environment variable {value} is not set"
                    )
                values["password"] = os.environ[value]
            else:
                values[name] = _coerce(value, hints[name], source, f"{where} {name}")
        profile = HostProfile(key=key, host=host, scheme=scheme, port=port, **values)
        if profile.accept is not None:
            _check_accept(profile.accept, source, f"{where} accept")
        if profile.method is not None:
            _one_of(profile.method, EXTERNAL_METHODS, source, f'hosts."{key}"', "method")
        if profile.user_agent is not None:
            _check_header("User-Agent", profile.user_agent, source, f"{where} user_agent")
        if profile.username is not None and (
            ":" in profile.username or _CONTROL.search(profile.username)
        ):
            # RFC 7617 §2: the user-id ends at the first colon
            raise ConfigError(
                f"{source}: {where} username must not contain ':' or control characters"
            )
        if (profile.password is None) != (profile.username is None):
            raise ConfigError(
                f"{source}: {where} needs both username and password (or password_env)"
            )
        for name, allowed in HOST_RANGES.items():
            if getattr(profile, name) is not None:
                _check_number(getattr(profile, name), allowed, source, f"{where} {name}")
        profiles.append(profile)
    return tuple(profiles)


def _parse_host_key(key: str, source: str, where: str) -> tuple[str | None, str, int | None]:
    try:
        pattern = OriginPattern.parse(key)
    except InvalidURL as exc:
        raise ConfigError(f"{source}: {where}: {exc}") from None
    return pattern.scheme, pattern.host, pattern.port


def _build_section(cls: type[Any], raw: Mapping[str, Any], source: str, section: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    _reject_unknown(raw.keys(), names, source, f"[{section}]")
    values = {
        key: _coerce(value, hints[key], source, f"[{section}] {key}") for key, value in raw.items()
    }
    return cls(**values)


def _coerce(value: Any, hint: Any, source: str, where: str) -> Any:
    """Check a TOML value against a settings field's type (ints are accepted as floats)."""
    args = typing.get_args(hint)
    if type(None) in args:  # "X | None": a value given in the file is never None
        hint = next(arg for arg in args if arg is not type(None))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: {where} must be true or false, got {_shown(value)}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: {where} must be a whole number, got {_shown(value)}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an integer beyond a float's range (about 1.8e308)
                raise ConfigError(
                    f"{source}: {where} must be a finite number, got one of more than 308 digits"
                ) from None
        raise ConfigError(f"{source}: {where} must be a number, got {_shown(value)}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{source}: {where} must be a string, got {_shown(value)}")
    if typing.get_origin(hint) is tuple or isinstance(hint, types.GenericAlias):
        return tuple(_check_str_list(value, source, where))
    raise TypeError(f"unsupported settings type {hint!r}")  # a bug in this module, not input


def _check_str_list(value: Any, source: str, where: str) -> list[str]:
    if isinstance(value, str):
        raise ConfigError(f'{source}: {where} must be a list of strings, e.g. ["{value}"]')
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{source}: {where} must be a list of strings, got {_shown(value)}")
    return list(value)


def _build_remap(raw: Any, source: str) -> tuple[RemapRule, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: remap must be written as [[remap]] tables")
    rules = []
    for index, entry in enumerate(raw):
        where = f"[[remap]] #{index + 1}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{source}: {where} must be a table with pattern and replace")
        _reject_unknown(entry.keys(), ("pattern", "replace"), source, where)
        for key in ("pattern", "replace"):
            if not isinstance(entry.get(key), str):
                raise ConfigError(f"{source}: {where} needs a string '{key}'")
        pattern = _compile(entry["pattern"], source, f"{where} pattern")
        _check_replacement(pattern, entry["replace"], source, f"{where} replace")
        rules.append(RemapRule(pattern=pattern, replace=entry["replace"]))
    return tuple(rules)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word`` (a likely typo), if one is close enough."""
    from difflib import get_close_matches  # only when there is a mistake to explain

    found = get_close_matches(word, list(choices), n=1)
    return found[0] if found else None


def _reject_unknown(keys: Any, valid: Any, source: str, where: str) -> None:
    valid = list(valid)
    for key in keys:
        if key not in valid:
            close = closest(key, valid)
            hint = f" (did you mean '{close}'?)" if close else f" (valid: {', '.join(valid)})"
            raise ConfigError(f"{source}: {where}: unknown key '{key}'{hint}")


def _compile(pattern: str, source: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:  # "a{99999999999}", deep nesting
        raise ConfigError(
            f"{source}: {where} is not a valid regular expression ({exc}): {pattern!r}"
        ) from None


# RFC 9110 §5.1: a field name is a token; §5.5: a value has no CR, LF or NUL (nor, here, any
# other control character but tab), or a header could end early and start another.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _check_header(name: str, value: str, source: str, where: str) -> None:
    if not _TOKEN.fullmatch(name):
        raise ConfigError(f"{source}: {where}: {name!r} is not a header name")
    if _CONTROL.search(value):
        raise ConfigError(f"{source}: {where}: the value for {name} has a control character")


def _check_replacement(pattern: re.Pattern[str], replace: str, source: str, where: str) -> None:
    """A replacement with a bad escape or a group the pattern lacks fails when a URL first
    matches, mid-run; try it now. ``(?:pattern)?`` matches the empty string with the same
    groups, so the replacement is expanded once, its groups empty."""
    try:
        probe = re.compile(f"(?:{pattern.pattern})?", pattern.flags)
    except (re.error, OverflowError, RecursionError):  # e.g. global flags must stay first
        return
    try:
        probe.sub(replace, "", count=1)
    except (re.error, IndexError, OverflowError) as exc:
        raise ConfigError(f"{source}: {where}: {exc} in {replace!r}") from None


def _check_http_url(url: str, source: str, where: str) -> None:
    try:
        normalize_url(url)
    except InvalidURL as exc:
        raise ConfigError(f"{source}: {where}: {exc}") from None


def _range_of(section: str, key: str) -> Range:
    return RANGES.get((section, key), _UNLISTED)


def _check_number(value: float, allowed: Range, source: str, where: str) -> None:
    problem = allowed.problem(value)
    if problem is not None:
        raise ConfigError(f"{source}: {where} {problem}")


def _one_of(value: str, choices: tuple[str, ...], source: str, section: str, key: str) -> None:
    if value not in choices:
        close = closest(value, choices)
        hint = f"did you mean '{close}'? " if close else ""
        raise ConfigError(
            f"{source}: [{section}] {key}: unknown value '{value}' ({hint}choose from "
            f"{', '.join(choices)})"
        )


def _type_name(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _shown(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() >= 64:
        return _number(value)
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int past CPython's digit limit, deep nesting
        text = "..."
    return f"{_type_name(value)} {text if len(text) <= 40 else text[:37] + '...'}"
