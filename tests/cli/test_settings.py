"""Every setting is validated: a finite number in its range, a value of its type, a header a
header can be; a mistake is one line naming the setting and where it came from, exit 2.

The table tests pin the messages; the property tests (Hypothesis) feed random TOML values to
every setting of the reference config.toml and random arguments to ``linkcheck run``, and
assert that nothing but a configuration or a ConfigError (exit 0, 1 or 2) ever comes out:
never a traceback, never exit 3, never a hang.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from linkcheck.cli import main
from linkcheck.config import (
    HOST_RANGES,
    RANGES,
    Config,
    ConfigError,
    HostProfile,
    config_from_mapping,
    load_config,
    with_overrides,
)
from linkcheck.scope import Scope, site_origins
from linkcheck.wiring import address_policy, host_rules
from tests.server import TestServer, page

SECTIONS = ("crawl", "http", "report", "local", "checks", "cache")
# LINKCHECK_EXAMPLES=20 runs twenty times the examples: a deeper search than CI's few seconds
SCALE = int(os.environ.get("LINKCHECK_EXAMPLES", "1"))


def _numeric_keys() -> list[tuple[str, str]]:
    config = Config()
    return [
        (section, f.name)
        for section in SECTIONS
        for f in dataclasses.fields(getattr(config, section))
        if isinstance(getattr(getattr(config, section), f.name), int | float)
        and not isinstance(getattr(getattr(config, section), f.name), bool)
    ]


# --- the messages ----------------------------------------------------------------------------


def test_every_numeric_setting_has_a_range() -> None:
    """A new numeric setting gets its range written down (else: any finite number ≥ 0)."""
    assert set(_numeric_keys()) <= set(RANGES)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("http", "timeout", math.nan, "[http] timeout must be a finite number of seconds, got nan"),
        ("http", "timeout", math.inf, "[http] timeout must be a finite number of seconds, got inf"),
        ("http", "timeout", 0, "[http] timeout must be more than 0 seconds, got 0"),
        ("http", "timeout", -1.5, "[http] timeout must be more than 0 seconds, got -1.5"),
        ("http", "timeout", 1e9, "[http] timeout must be at most 3600 seconds, got 1e+09"),
        ("http", "timeout", 10**400, "[http] timeout must be a finite number, got one of more"),
        ("http", "concurrency", 0, "[http] concurrency must be at least 1, got 0"),
        ("http", "concurrency", 10**12, "[http] concurrency must be at most 10000, got"),
        ("http", "concurrency", 10**4000, "got a number of more than 18 digits"),
        ("http", "retries", -1, "[http] retries must be at least 0, got -1"),
        ("http", "recheck_delay", -math.inf, "[http] recheck_delay must be a finite number"),
        ("http", "max_body_bytes", 10, "[http] max_body_bytes must be at least 1024 bytes"),
        ("crawl", "max_duration", -1, "[crawl] max_duration must be at least 0 seconds (0: no"),
        ("crawl", "max_duration", math.inf, "max_duration must be a finite number of seconds"),
        ("crawl", "parse_workers", -2, "[crawl] parse_workers must be at least -1"),
        ("crawl", "max_pages", 0, "[crawl] max_pages must be at least 1, got 0"),
        ("cache", "max_age", math.nan, "[cache] max_age must be a finite number of seconds"),
        ("cache", "checkpoint_interval", 0, "[cache] checkpoint_interval must be more than 0"),
    ],
)
def test_numbers_out_of_range_are_one_line_errors(
    section: str, key: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({section: {key: value}}, source="site.toml")
    text = str(caught.value)
    assert text.startswith("site.toml: ") and "\n" not in text
    assert message in text


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({"timeout": math.nan}, '[hosts."a.test"] timeout must be a finite number of seconds'),
        ({"timeout": 0}, '[hosts."a.test"] timeout must be more than 0 seconds'),
        ({"interval": -1}, '[hosts."a.test"] interval must be at least 0 seconds'),
        ({"concurrency": 10**9}, '[hosts."a.test"] concurrency must be at most 10000'),
        ({"cache_max_age": math.inf}, '[hosts."a.test"] cache_max_age must be a finite'),
        ({"headers": {"X-A": "a\r\nX-B: b"}}, "the value for X-A has a control character"),
        ({"headers": {"X A": "a"}}, "'X A' is not a header name"),
        ({"user_agent": "bot\n"}, "user_agent: the value for User-Agent has a control"),
        ({"username": "a:b", "password": "p"}, "username must not contain ':'"),
    ],
)
def test_host_profiles_are_validated(profile: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=r"^site\.toml: ") as caught:
        config_from_mapping({"hosts": {"a.test": profile}}, source="site.toml")
    assert message in str(caught.value)


def test_every_numeric_host_key_has_a_range() -> None:
    numeric = {
        f.name
        for f in dataclasses.fields(HostProfile)
        if f.type in ("float | None", "int | None") and f.name != "port"
    }
    assert numeric == set(HOST_RANGES)


@pytest.mark.parametrize(
    ("replace", "message"),
    [("\\9", "invalid group reference 9"), ("\\q", "bad escape \\q"), ("\\g<nope>", "nope")],
)
def test_a_remap_replacement_is_tried_when_loaded(replace: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"\[\[remap\]\] #1 replace: ") as caught:
        config_from_mapping({"remap": [{"pattern": "^http://a/(x)", "replace": replace}]})
    assert message in str(caught.value)


def test_a_good_remap_replacement_passes() -> None:
    rule = {
        "pattern": "^https?://(?P<host>[^/]+)/(.*)",
        "replace": r"http://127.0.0.1:1/\g<host>/\2",
    }
    assert config_from_mapping({"remap": [rule]}).remapped("https://a.test/b") == (
        "http://127.0.0.1:1/a.test/b"
    )


def test_an_integer_too_long_for_python_is_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[http]\ntimeout = " + "9" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(path)


def test_command_line_numbers_name_the_option() -> None:
    with pytest.raises(ConfigError) as caught:
        with_overrides(Config(), timeout=math.nan)
    assert str(caught.value) == (
        "command line: --timeout must be a finite number of seconds, got nan"
    )
    with pytest.raises(ConfigError, match=r"^command line: --max-pages must be at least 1, got 0$"):
        with_overrides(Config(), max_pages=0)


def test_the_cli_says_which_option_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    cases = [
        (["--timeout", "nan"], "--timeout must be a finite number of seconds, got nan"),
        (["--timeout", "inf"], "--timeout must be a finite number of seconds, got inf"),
        (["--concurrency", "1" + "0" * 30], "--concurrency must be at most 10000"),
        (["--max-depth", "-1"], "--max-depth must be at least 0, got -1"),
    ]
    for args, message in cases:
        outcome = runner.invoke(main, ["run", "http://127.0.0.1:1/", *args])
        assert outcome.exit_code == 2, outcome.output
        lines = outcome.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: command line: {message}")


def test_the_config_file_says_which_key_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("config.toml").write_text("[http]\ntimeout = nan\n", encoding="utf-8")
    outcome = CliRunner().invoke(main, ["run", "http://127.0.0.1:1/"])
    assert outcome.exit_code == 2
    assert outcome.output.strip() == (
        "error: config.toml: [http] timeout must be a finite number of seconds, got nan"
    )


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("./no-such-dir", "./no-such-dir: no such folder"),
        ("public/site", "public/site: no such folder"),
        ("a-file.txt", "a-file.txt: not a folder"),
        ("not a url", "'not a url' is not an http:// or https:// URL"),
        ("example.com", "'example.com' is not an http:// or https:// URL"),
    ],
)
def test_a_missing_folder_is_called_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argument: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a-file.txt").write_text("text", encoding="utf-8")
    outcome = CliRunner().invoke(main, ["run", argument])
    assert outcome.exit_code == 2
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], outcome.output


def test_a_missing_local_root_is_called_one() -> None:
    with pytest.raises(ConfigError, match=r"\[local\] root: ./nowhere: no such folder$"):
        config_from_mapping({"local": {"root": "./nowhere"}})


# --- random TOML values -------------------------------------------------------------------

_SPECIAL_NUMBERS = [0, -1, 1, 2, 63, 64, 1023, 1024, 2**31, 2**63, 10**19, 10**400, -(10**400)]
_SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-300, 1e300, 0.5, 3600.0]
_SPECIAL_TEXTS = [
    "",
    "nan",
    "inf",
    "200-299",
    "200-299,403",
    "999-100",
    "head",
    "get",
    "html",
    "broken",
    "http://127.0.0.1:1/",
    "https://a.test/x",
    "ftp://a.test/",
    "(",
    "a{99999999999}",
    "\\9",
    "./nowhere",
    "a\x00b",
    "a\r\nb",
    "²",
]

numbers = st.one_of(
    st.integers(),
    st.sampled_from(_SPECIAL_NUMBERS),
    st.floats(),
    st.sampled_from(_SPECIAL_FLOATS),
)
scalars = st.one_of(numbers, st.booleans(), st.text(max_size=12), st.sampled_from(_SPECIAL_TEXTS))
toml_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=5,
)


def _section_keys(section: str) -> list[str]:
    return [f.name for f in dataclasses.fields(getattr(Config(), section))]


def _host_keys() -> list[str]:
    names = [f.name for f in dataclasses.fields(HostProfile)]
    return [n for n in names if n not in ("key", "host", "scheme", "port")] + ["password_env"]


host_names = st.one_of(
    st.sampled_from(
        ["a.test", "a.test:8080", "https://a.test", "http://127.0.0.1:1", "[::1]:80", "a.test:0"]
    ),
    st.text(max_size=16),
)


@st.composite
def toml_documents(draw: st.DrawFn, values: st.SearchStrategy[Any] = toml_values) -> dict[str, Any]:
    """A document with some keys of every section, each with a random value; now and then a
    key of the wrong shape (a section that is not a table, an unknown key)."""
    document: dict[str, Any] = {}
    for section in SECTIONS:
        keys = draw(st.lists(st.sampled_from(_section_keys(section)), max_size=4, unique=True))
        document[section] = {key: draw(values) for key in keys}
    if draw(st.booleans()):
        document["start_urls"] = draw(st.lists(scalars, max_size=2) | scalars)
    if draw(st.booleans()):
        document["hosts"] = draw(
            st.dictionaries(
                host_names,
                st.dictionaries(st.sampled_from(_host_keys()), values, max_size=3),
                max_size=2,
            )
        )
    if draw(st.booleans()):
        document["remap"] = draw(
            st.lists(
                st.dictionaries(
                    st.sampled_from(["pattern", "replace", "other"]), values, max_size=2
                ),
                max_size=2,
            )
        )
    if draw(st.integers(0, 9)) == 0:
        document[draw(st.sampled_from([*SECTIONS, "strat_urls"]))] = draw(values)
    return document


@st.composite
def numeric_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Numbers only, for numeric settings only: every range check is reached, none is
    hidden behind an earlier type error."""
    document: dict[str, Any] = {section: {} for section in SECTIONS}
    for section, key in draw(st.lists(st.sampled_from(sorted(RANGES)), max_size=6, unique=True)):
        document[section][key] = draw(numbers)
    if draw(st.booleans()):
        keys = st.sampled_from(sorted(HOST_RANGES))
        document["hosts"] = {"a.test": draw(st.dictionaries(keys, numbers, max_size=3))}
    return document


def _accept_or_one_line(document: dict[str, Any]) -> Config | None:
    try:
        config = config_from_mapping(document, source="random.toml")
    except ConfigError as exc:
        text = str(exc)
        assert text.startswith("random.toml: ") or text.startswith("command line"), text
        assert "\n" not in text and "Traceback" not in text
        return None
    return config


def _is_sane(config: Config) -> None:
    """An accepted config only holds finite numbers in range, and the run's parts build."""
    for section in SECTIONS:
        settings_ = getattr(config, section)
        for f in dataclasses.fields(settings_):
            value = getattr(settings_, f.name)
            if isinstance(value, float):
                assert math.isfinite(value), (section, f.name, value)
            if (section, f.name) in RANGES and not isinstance(value, bool | str | tuple):
                assert RANGES[section, f.name].problem(value) is None
    Scope.from_config(config)
    site_origins(config)
    address_policy(config)
    rules = host_rules(config)
    for url in ("http://a.test/", "https://a.test:8080/x", "http://127.0.0.1:1/"):
        rules.for_url(url)
        config.remapped(url)
    config.summary()


@settings(max_examples=150 * SCALE, deadline=2000)
@given(toml_documents())
def test_random_toml_values_are_accepted_or_one_line_errors(document: dict[str, Any]) -> None:
    config = _accept_or_one_line(document)
    if config is not None:
        _is_sane(config)


@settings(max_examples=150 * SCALE, deadline=2000)
@given(numeric_documents())
def test_random_numbers_for_every_setting(document: dict[str, Any]) -> None:
    config = _accept_or_one_line(document)
    if config is not None:
        _is_sane(config)


@settings(
    max_examples=60 * SCALE,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(toml_documents())
def test_random_toml_files_load_or_fail_in_one_line(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    try:
        text = tomli_w.dumps(document)
    except (TypeError, ValueError):
        assume(False)  # not expressible in TOML (tomli-w refuses it): nothing to test
    path = tmp_path / "random.toml"
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:
        _is_sane(config)


@settings(max_examples=80 * SCALE, deadline=2000)
@given(st.text(max_size=60))
def test_random_text_is_loaded_or_refused_in_one_line(text: str) -> None:
    try:
        config = config_from_mapping(_parse(text), source="random.toml")
    except ConfigError as exc:
        assert "\n" not in str(exc)
    except _NotToml:
        pass
    else:
        _is_sane(config)


class _NotToml(Exception):
    pass


def _parse(text: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(text)
    except ValueError:
        raise _NotToml from None


# --- random command lines -----------------------------------------------------------------

number_texts = st.one_of(
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "0", "-1", "1" + "0" * 40, "x", "", "0.001"]),
)
small_workers = st.sampled_from(["-2", "-1", "0", "1", "nan", "65", "99999999999", "two"])
words = st.one_of(st.text(max_size=10), st.sampled_from(_SPECIAL_TEXTS))
flags = st.tuples(
    st.sampled_from(
        ["--no-external", "--offline", "--allow-private", "--no-cache", "--resume", "-q", "-v"]
    )
)
# Values a user would write: most examples then run a crawl rather than stop at the first
# refused option, so the run itself meets the odd-but-valid settings (1 ms timeouts...).
plausible = st.one_of(
    st.tuples(
        st.sampled_from(["--concurrency", "--max-pages", "--max-depth"]),
        st.integers(0, 40).map(str),
    ),
    st.tuples(
        st.sampled_from(["--timeout", "--max-duration"]),
        st.floats(0, 5, exclude_min=True).map(repr),
    ),
    st.tuples(st.just("--parse-workers"), st.sampled_from(["-1", "0", "1"])),
    st.tuples(
        st.sampled_from(["--include", "--exclude"]), st.sampled_from(["/a", "missing$", "x"])
    ),
    st.tuples(st.just("--format"), st.sampled_from(["html", "json", "csv", "junit", "markdown"])),
    st.tuples(st.just("--fail-on"), st.sampled_from(["broken", "error", "warning", "redirected"])),
    st.tuples(st.just("-o"), st.sampled_from(["out", "reports/nested", "."])),
    flags,
)
anything = st.one_of(
    st.tuples(
        st.sampled_from(
            ["--concurrency", "--max-pages", "--max-depth", "--max-duration", "--timeout"]
        ),
        number_texts,
    ),
    st.tuples(st.just("--parse-workers"), small_workers),
    st.tuples(st.sampled_from(["--include", "--exclude", "--base-url", "--run"]), words),
    st.tuples(
        st.sampled_from(["--format", "--fail-on"]),
        st.sampled_from(["html", "json", "csv", "junit", "broken", "warning", "nope", ""]),
    ),
    st.tuples(st.sampled_from(["-o", "--config", "--compare"]), words),
    st.tuples(st.sampled_from(["--bogus", "-x"])),
)
options = st.lists(st.one_of(plausible, plausible, plausible, anything), max_size=5)
extra_arguments = st.one_of(
    st.just([]),
    st.just([]),
    st.just([]),
    st.sampled_from(["./no-such-dir", ".", "ftp://a/"]).map(lambda a: [a]),
)

# Fast and quiet for every example: no recheck pass, no retry waits, no cache between them.
_BASE_CONFIG = """
[http]
retries = 0
recheck = false
retry_max_wait = 0.05
"""


@pytest.fixture(scope="module")
def quick_site() -> Any:
    routes = {
        "/": page('<a href="/a">a</a> <a href="/missing">gone</a>'),
        "/a": page('<a href="/">home</a>'),
    }
    with TestServer(routes) as site:
        yield site


@settings(
    max_examples=25 * SCALE,
    deadline=None,  # a run takes a few hundred ms; the bound below is what matters
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(options=options, extra=extra_arguments)
def test_random_command_lines_exit_0_1_or_2(
    quick_site: TestServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: list[tuple[str, ...]],
    extra: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("config.toml").write_text(_BASE_CONFIG, encoding="utf-8")
    args = ["run", quick_site.url("/"), *extra, *(part for option in options for part in option)]
    started = time.monotonic()
    outcome = CliRunner().invoke(main, args)
    elapsed = time.monotonic() - started
    shown = f"{args!r}: exit {outcome.exit_code}\n{outcome.output}"
    event(f"exit {outcome.exit_code}")
    assert outcome.exit_code in (0, 1, 2), shown
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), shown
    assert "Traceback" not in outcome.output, shown
    assert elapsed < 15, shown
