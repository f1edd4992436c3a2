"""Read ``config.toml``, apply command-line overrides, validate, and freeze the result.

Every default lives here as a named constant; the CLI help and the README quote the same
values. Validation errors are :class:`ConfigError` with a one-line message naming the file,
the section and the key, so the CLI can print it and exit 2 without a traceback.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkcheck.models import Verdict
from linkcheck.urls import InvalidURL, normalize_url

DEFAULT_CONFIG_FILE = "config.toml"

DEFAULT_MAX_PAGES = 10_000
DEFAULT_MAX_DEPTH = 50
DEFAULT_CONCURRENCY = 32
DEFAULT_PER_HOST_CONCURRENCY = 8
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_REDIRECTS = 10
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_RETRIES = 2
DEFAULT_RETRY_MAX_WAIT = 30.0
DEFAULT_EXTERNAL_METHOD = "head"
DEFAULT_OUTPUT = "reports"
DEFAULT_FORMATS = ("html", "json")
DEFAULT_FAIL_ON = ("broken", "error")

REPORT_FORMATS = ("html", "json")
EXTERNAL_METHODS = ("head", "get")
VERDICT_NAMES = tuple(verdict.value for verdict in Verdict)


class ConfigError(Exception):
    """A configuration or usage problem, described in one line for the user."""


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


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """How requests are made: concurrency, time and size bounds, retries."""

    concurrency: int = DEFAULT_CONCURRENCY
    per_host_concurrency: int = DEFAULT_PER_HOST_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    retries: int = DEFAULT_RETRIES
    retry_max_wait: float = DEFAULT_RETRY_MAX_WAIT
    external_method: str = DEFAULT_EXTERNAL_METHOD
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class ReportSettings:
    output: str = DEFAULT_OUTPUT
    formats: tuple[str, ...] = DEFAULT_FORMATS
    fail_on: tuple[str, ...] = DEFAULT_FAIL_ON


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
    remap: tuple[RemapRule, ...] = ()
    source: str = "built-in defaults"

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
            "remap": [{"pattern": r.pattern.pattern, "replace": r.replace} for r in self.remap],
        }


def _plain(values: dict[str, Any]) -> dict[str, object]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


_SECTIONS: dict[str, type[Any]] = {
    "crawl": CrawlSettings,
    "http": HttpSettings,
    "report": ReportSettings,
}
_TOP_LEVEL_KEYS = ("start_urls", "remap", *_SECTIONS)


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
    except tomllib.TOMLDecodeError as exc:
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
    config = Config(
        start_urls=tuple(start_urls),
        crawl=sections["crawl"],
        http=sections["http"],
        report=sections["report"],
        remap=remap,
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
        changes[section_of[key]][key] = tuple(value) if isinstance(value, list) else value
    config = dataclasses.replace(
        config,
        start_urls=start_urls,
        crawl=dataclasses.replace(config.crawl, **changes["crawl"]),
        http=dataclasses.replace(config.http, **changes["http"]),
        report=dataclasses.replace(config.report, **changes["report"]),
    )
    return validate(config, source="command line")


def validate(config: Config, *, source: str | None = None) -> Config:
    """Check values that a type alone cannot: ranges, choices, regexes, URLs."""
    where = source or config.source
    crawl, http, report = config.crawl, config.http, config.report
    _at_least(crawl.max_pages, 1, where, "crawl", "max_pages")
    _at_least(crawl.max_depth, 0, where, "crawl", "max_depth")
    _at_least(http.concurrency, 1, where, "http", "concurrency")
    _at_least(http.per_host_concurrency, 1, where, "http", "per_host_concurrency")
    _at_least(http.max_redirects, 0, where, "http", "max_redirects")
    _at_least(http.max_body_bytes, 1024, where, "http", "max_body_bytes")
    _at_least(http.retries, 0, where, "http", "retries")
    if http.timeout <= 0:
        raise ConfigError(f"{where}: [http] timeout must be more than 0 seconds")
    if http.retry_max_wait < 0:
        raise ConfigError(f"{where}: [http] retry_max_wait must not be negative")
    _one_of(http.external_method, EXTERNAL_METHODS, where, "http", "external_method")
    for fmt in report.formats:
        _one_of(fmt, REPORT_FORMATS, where, "report", "formats")
    for verdict in report.fail_on:
        _one_of(verdict, VERDICT_NAMES, where, "report", "fail_on")
    for key in ("include", "exclude"):
        for index, pattern in enumerate(getattr(crawl, key)):
            _compile(pattern, where, f"[crawl] {key}[{index}]")
    for index, url in enumerate(config.start_urls):
        _check_http_url(url, where, f"start_urls[{index}]")
    for index, prefix in enumerate(crawl.allowed_prefixes):
        _check_http_url(prefix, where, f"[crawl] allowed_prefixes[{index}]")
    return config


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
            return float(value)
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
        rules.append(RemapRule(pattern=pattern, replace=entry["replace"]))
    return tuple(rules)


def _reject_unknown(keys: Any, valid: Any, source: str, where: str) -> None:
    valid = list(valid)
    for key in keys:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (valid: {', '.join(valid)})"
            raise ConfigError(f"{source}: {where}: unknown key '{key}'{hint}")


def _compile(pattern: str, source: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"{source}: {where} is not a valid regular expression ({exc}): {pattern!r}"
        ) from None


def _check_http_url(url: str, source: str, where: str) -> None:
    try:
        normalize_url(url)
    except InvalidURL as exc:
        raise ConfigError(f"{source}: {where}: {exc}") from None


def _at_least(value: int, minimum: int, source: str, section: str, key: str) -> None:
    if value < minimum:
        raise ConfigError(f"{source}: [{section}] {key} must be at least {minimum}, got {value}")


def _one_of(value: str, choices: tuple[str, ...], source: str, section: str, key: str) -> None:
    if value not in choices:
        close = difflib.get_close_matches(value, choices, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(
            f"{source}: [{section}] {key}: unknown value '{value}' ({hint}choose from "
            f"{', '.join(choices)})"
        )


def _type_name(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{_type_name(value)} {text if len(text) <= 40 else text[:37] + '...'}"
