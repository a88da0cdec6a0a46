"""Schemathesis (pinned in the dev extras) as its CLI runs, in a subprocess with a deadline.

A subprocess, not the Python API: the CLI is what a developer re-runs with the printed seed, and
its Hypothesis settings and threads stay out of pytest's process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def toml_value(value: Any) -> str:
    """A TOML value for a string or a list of strings (JSON's escapes are TOML's, written as
    UTF-8: TOML has no surrogate escapes for ``\\ud83c``-style pairs)."""
    return json.dumps(value, ensure_ascii=False)


REPOSITORY = Path(__file__).resolve().parents[2]

# The options of every run, after ``run <spec>``: a fixed seed, so that a failure reproduces
# (`st run ... --seed`); one worker: with several threads, CPython 3.11's ast.parse (used by
# Hypothesis to describe filters) now and then fails with "SystemError: AST constructor recursion
# depth mismatch", a false error of the tool; every check run on every operation, whatever fails;
# no example database, so that a run does not depend on the ones before it.
SEED = 20260214
COMMON_OPTIONS = [
    "--seed",
    str(SEED),
    "--workers",
    "1",
    "--request-timeout",
    "10",
    "--continue-on-failure",
    "--generation-database",
    "none",
    "--no-color",
]


def run_cli(
    arguments: list[str], *, cwd: Path, timeout: float, hooks: str | None = None, **env: str
) -> tuple[int, str]:
    """``python -m schemathesis.cli <arguments>``: its exit status and output (stdout, then
    stderr), without the odd very long line (source listings in internal tracebacks). Over
    ``timeout`` seconds the test fails, with what it printed so far.

    ``hooks``: a module of this repository for schemathesis to import (``SCHEMATHESIS_HOOKS``);
    ``env``: more environment variables (the hooks' input)."""
    environment = {**os.environ, "NO_COLOR": "1", **env}
    if hooks is not None:
        path = os.pathsep.join(filter(None, [str(REPOSITORY), environment.get("PYTHONPATH")]))
        environment |= {"SCHEMATHESIS_HOOKS": hooks, "PYTHONPATH": path}
    try:
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", *arguments],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"schemathesis ran over {timeout}s:\n{exc.stdout!r}\n{exc.stderr!r}")
    lines = f"{run.stdout}\n{run.stderr}".splitlines()
    output = "\n".join(line if len(line) < 1000 else line[:1000] + " …" for line in lines)
    return run.returncode, output


@dataclass(frozen=True)
class Step:
    """One request of a stateful scenario, from the NDJSON report (``--report ndjson``)."""

    scenario: int
    operation: str  # "POST /v1/auth/login"
    status: int | None  # None: no response (a network error)
    link: str | None  # the link that led here ("login"), None for a scenario's first calls
    source: str | None  # the operation whose answer the link read
    inferred: bool  # a link schemathesis guessed, not one of the document
    applied: bool  # the link's values were used (schemathesis now and then draws its own)


def stateful_steps(ndjson: Path) -> Iterator[Step]:
    """Every request the stateful phase sent, with the link that produced it."""
    scenario = 0
    for line in ndjson.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished or finished.get("phase") != "stateful":
            continue
        scenario += 1
        recorder = finished["recorder"]
        cases, interactions = recorder["cases"], recorder["interactions"]
        for case_id, node in cases.items():
            case = node["value"]
            interaction = interactions.get(case_id) or {}
            response = interaction.get("response")
            transition = node.get("transition")
            source = None
            if transition is not None:
                parent = cases.get(transition["parent_id"], {}).get("value")
                source = f"{parent['method']} {parent['path']}" if parent else None
            yield Step(
                scenario=scenario,
                operation=f"{case['method']} {case['path']}",
                status=response["status_code"] if response else None,
                # "POST /v1/meetings -> [201] join -> POST /v1/meetings/{meeting_number}/join"
                link=transition["id"].split(" -> ")[1].partition("] ")[2] if transition else None,
                source=source,
                inferred=bool(transition and transition.get("is_inferred")),
                applied=bool(node.get("is_transition_applied")),
            )
