"""Golden files for the HTML report: fixed report.json inputs, rendered byte for byte.

Each ``golden/<name>.json`` is a report that ``linkcheck run`` wrote for a loopback site
(``golden/generate.py`` is the record of how; the files are frozen, the test never runs it):
a clean run, broken links only, redirects only, an interrupted run and a large run. The test
reads one back with ``load_run``, renders the HTML report and compares it byte for byte with
``golden/<name>.html``; on a difference it shows a short unified diff. Everything that varies
between runs (times, durations, URLs, the configuration's source and paths) comes from the
JSON, and the version the report names is the one the JSON records, so only a change to the
report itself changes the output.

After an intended change to the report, rewrite the golden files, then read their diff
before committing it::

    LINKCHECK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_html_golden.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from linkcheck.report import html_report
from linkcheck.report.json_report import to_document
from linkcheck.report.load import load_run
from tests.report.test_report import LINK_KEYS, OCCURRENCE_KEYS

GOLDEN = Path(__file__).parent / "golden"
CASES = ["clean", "broken", "redirects", "interrupted", "large"]
UPDATE = os.environ.get("LINKCHECK_UPDATE_GOLDEN") == "1"
DIFF_LINES = 40  # of the unified diff shown on a failure
DIFF_WIDTH = 160  # characters of each diff line shown: the inline style and script are long


def read_input(name: str) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads((GOLDEN / f"{name}.json").read_bytes())
    return document


def render(name: str, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The HTML report of the run ``<name>.json`` records, as the file a run writes."""
    version = read_input(name)["tool"]["version"]
    monkeypatch.setattr(html_report, "__version__", version)
    run = load_run(GOLDEN / f"{name}.json")
    return "".join(html_report.render_html(run)).encode("utf-8")


def short_diff(expected: bytes, actual: bytes, name: str) -> str:
    lines = difflib.unified_diff(
        expected.decode("utf-8").splitlines(keepends=True),
        actual.decode("utf-8").splitlines(keepends=True),
        f"golden/{name}.html",
        f"rendered from golden/{name}.json",
        n=2,
    )
    shown = []
    for index, line in enumerate(lines):
        if index == DIFF_LINES:
            shown.append("… (diff cut)\n")
            break
        text = line.rstrip("\n")
        shown.append((text[:DIFF_WIDTH] + " …" if len(text) > DIFF_WIDTH else text) + "\n")
    return "".join(shown)


@pytest.mark.parametrize("name", CASES)
def test_the_html_report_matches_its_golden_file(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    actual = render(name, monkeypatch)
    golden = GOLDEN / f"{name}.html"
    if UPDATE:
        golden.write_bytes(actual)
    expected = golden.read_bytes()
    if actual != expected:
        pytest.fail(
            f"the HTML report of golden/{name}.json differs from golden/{name}.html "
            "(LINKCHECK_UPDATE_GOLDEN=1 rewrites it, see this module's docstring):\n"
            + short_diff(expected, actual, name),
            pytrace=False,
        )


@pytest.mark.parametrize("name", CASES)
def test_each_input_is_a_report_a_run_writes(name: str) -> None:
    """The inputs keep to the JSON report's schema (the keys test_report checks), and the
    JSON report of the run loaded from one is that same document."""
    document = read_input(name)
    assert document["links"], name
    for link in document["links"]:
        assert set(link) == LINK_KEYS
        for occurrence in link["occurrences"]:
            assert set(occurrence) == OCCURRENCE_KEYS
    assert to_document(load_run(GOLDEN / f"{name}.json")) == document


def test_the_inputs_cover_each_kind_of_run() -> None:
    """What each golden file is for, so that a regenerated input still shows it."""
    runs = {name: read_input(name) for name in CASES}
    counts = {name: document["counts"] for name, document in runs.items()}
    assert counts["clean"]["broken"] + counts["clean"]["error"] + counts["clean"]["redirected"] == 0
    assert counts["broken"]["broken"] and counts["broken"]["error"]
    assert counts["broken"]["redirected"] == 0
    assert counts["redirects"]["redirected"]
    assert counts["redirects"]["broken"] + counts["redirects"]["error"] == 0
    assert runs["interrupted"]["run"]["interrupted"] and counts["interrupted"]["excluded"]
    large = runs["large"]
    assert large["run"]["pages_crawled"] >= 24 and counts["large"]["total"] >= 200
