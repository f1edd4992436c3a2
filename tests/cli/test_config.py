"""Configuration: defaults, overrides, and one clear line for every kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkcheck.config import (
    DEFAULT_CONCURRENCY,
    Config,
    ConfigError,
    config_from_mapping,
    load_config,
    with_overrides,
)

REPO = Path(__file__).parents[2]


def test_shipped_config_toml_is_valid_and_documents_every_key() -> None:
    config = load_config(REPO / "config.toml")
    assert config.start_urls == ("http://127.0.0.1:8735/guide/",)
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    for section in (config.crawl, config.http, config.report):
        for key in type(section).__dataclass_fields__:
            assert f"\n{key} = " in text, f"config.toml does not document {key}"
    from linkcheck.config import _HOST_KEYS

    for key in _HOST_KEYS:
        assert key in text, f"config.toml does not document [hosts] {key}"


def test_missing_default_file_means_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config() == Config()
    assert Config().http.concurrency == DEFAULT_CONCURRENCY


def test_missing_named_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[http]\nconcurency = 4\n",
            r"\[http\]: unknown key 'concurency' \(did you mean 'concurrency'\?\)",
        ),
        (
            "strat_urls = []\n",
            r"top level: unknown key 'strat_urls' \(did you mean 'start_urls'\?\)",
        ),
        (
            "[crawl]\nmax_pages = 'ten'\n",
            r"\[crawl\] max_pages must be a whole number, got a string 'ten'",
        ),
        ("[http]\ntimeout = true\n", r"\[http\] timeout must be a number"),
        ("[crawl]\ncheck_external = 'yes'\n", r"check_external must be true or false"),
        ("[crawl]\nexclude = 'x'\n", r'exclude must be a list of strings, e\.g\. \["x"\]'),
        (
            "[crawl]\nexclude = ['ok', '(unclosed']\n",
            r"\[crawl\] exclude\[1\] is not a valid regular expression",
        ),
        ("[http]\nconcurrency = 0\n", r"concurrency must be at least 1, got 0"),
        ("[report]\nformats = ['htm']\n", r"unknown value 'htm' \(did you mean 'html'\?"),
        ("[report]\nfail_on = ['borken']\n", r"did you mean 'broken'"),
        (
            "start_urls = ['ftp://example.com/']\n",
            r"start_urls\[0\]: 'ftp://example.com/' is not an http",
        ),
        ("http = 3\n", r"\[http\] must be a table"),
        (
            "[[remap]]\npattern = '('\nreplace = 'x'\n",
            r"\[\[remap\]\] #1 pattern is not a valid regular expression",
        ),
        ("[[remap]]\npattern = 'x'\n", r"\[\[remap\]\] #1 needs a string 'replace'"),
        ("[[remap]]\npattern = 'x'\nreplace = 'y'\nwith = 'z'\n", r"unknown key 'with'"),
        ("[http\n", r"invalid TOML"),
    ],
)
def test_mistakes_give_one_clear_line(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(str(path))


def test_overrides_replace_file_values() -> None:
    config = config_from_mapping(
        {"start_urls": ["http://a.example/"], "crawl": {"exclude": ["x"], "max_pages": 5}}
    )
    changed = with_overrides(
        config, start_urls=["http://b.example/"], exclude=["y", "z"], max_pages=None, timeout=3
    )
    assert changed.start_urls == ("http://b.example/",)
    assert changed.crawl.exclude == ("y", "z")
    assert changed.crawl.max_pages == 5  # None means "flag not given"
    assert changed.http.timeout == 3


def test_overrides_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"command line: \[crawl\] include\[0\] is not a valid"):
        with_overrides(Config(), include=["[z-a]"])


def test_remap_first_matching_rule_wins() -> None:
    config = config_from_mapping(
        {
            "remap": [
                {
                    "pattern": r"^https://www\.dhl\.com/(.*)",
                    "replace": r"http://127.0.0.1:9/dhl/\1",
                },
                {"pattern": r"^https://", "replace": "http://never/"},
            ]
        }
    )
    assert config.remapped("https://www.dhl.com/a?b=1") == "http://127.0.0.1:9/dhl/a?b=1"
    assert config.remapped("http://other.example/") is None
