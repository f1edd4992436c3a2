"""The GitHub Action and the CI examples: valid YAML, and their commands really work."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from linkcheck.cli import main
from tests.server import TestServer, page

REPO = Path(__file__).parents[2]


def load(path: str) -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load((REPO / path).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def check_step() -> dict:  # type: ignore[type-arg]
    action = load("action.yml")
    return next(step for step in action["runs"]["steps"] if step.get("id") == "check")


def test_action_is_a_valid_composite_action() -> None:
    action = load("action.yml")
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {"config", "formats", "fail-on", "targets", "args"}
    for step in action["runs"]["steps"]:
        assert "uses" in step or ("run" in step and step["shell"] == "bash")
    assert "${{ github.action_path }}" in action["runs"]["steps"][1]["run"]


def test_action_step_runs_linkcheck_and_fills_the_job_summary(tmp_path: Path) -> None:
    """Run the action's own script, as the runner would, against a loopback site."""
    script = check_step()["run"]
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    bin_dir = Path(sys.executable).parent
    assert shutil.which("linkcheck", path=str(bin_dir)), "linkcheck is not installed in the venv"
    with TestServer(
        {"/": page('<a href="/gone">Gone</a><a href="/ok">Ok</a>'), "/ok": page("")}
    ) as site:
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(outputs),
            "LINKCHECK_CONFIG": "config.toml",  # absent here: the action must not pass it
            "LINKCHECK_TARGETS": site.url("/"),
            "LINKCHECK_FORMATS": "json github",
            "LINKCHECK_FAIL_ON": "broken error",
            "LINKCHECK_OUTPUT": "out",
            "LINKCHECK_ARGS": "--timeout 2",
        }
        proc = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1, proc.stderr  # a dead link fails the step
    assert "exit-code=1" in outputs.read_text(encoding="utf-8")
    assert "dead link" in summary.read_text(encoding="utf-8")
    assert "::error" in proc.stdout  # annotations printed from report.github.txt
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"report.json", "report.md"}


def options_used(command: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", command))


def test_examples_use_real_options() -> None:
    help_text = CliRunner().invoke(main, ["run", "--help"]).output
    gitlab = load("examples/gitlab-ci.yml")["links"]
    commands = [line for line in gitlab["script"] if line.startswith("linkcheck")]
    assert commands and gitlab["artifacts"]["reports"]["junit"] == "reports/report.junit.xml"
    workflow = load("examples/github-workflow.yml")
    steps = workflow["jobs"]["links"]["steps"]
    action_inputs = set(load("action.yml")["inputs"])
    uses_action = next(step for step in steps if step.get("uses") == "./")
    assert set(uses_action["with"]) <= action_inputs
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)
    assert any(step.get("uses", "").startswith("actions/cache") for step in steps)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for command in commands + [
        line for line in readme.splitlines() if line.strip().startswith("linkcheck run")
    ]:
        for option in options_used(command):
            assert option in help_text, f"{option} in {command!r} is not a linkcheck run option"
