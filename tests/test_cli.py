"""The command line, the migrations, and what the package imports."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from harness.server import ServerProcess
from tests.utils.api import create_meeting, join, register
from tests.utils.cli import run_aimeeting

ROOT = Path(__file__).resolve().parents[1]
SERVER_MODULES = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "uvicorn",
    "pydantic",
    "pydantic_settings",
)


def test_importing_the_package_loads_no_server_dependency() -> None:
    code = (
        "import sys, aimeeting, aimeeting.protocol, aimeeting.terminal;"
        "from aimeeting import MeetingSDK, SDKConfig, Meeting, MeetingEvent, MeetingError;"
        f"print(sorted(m for m in {SERVER_MODULES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_help_lists_the_commands() -> None:
    result = run_aimeeting("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout and "db" in result.stdout


def _tables(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def test_db_upgrade_creates_the_schema_and_is_repeatable(tmp_path: Path) -> None:
    env = {"AIMEETING_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        result = run_aimeeting("db", "upgrade", env=env)
        assert result.returncode == 0, result.stderr
    tables = _tables(tmp_path / "aimeeting.db")
    assert {"users", "meetings", "participants", "messages", "alembic_version"} <= tables
    with sqlite3.connect(tmp_path / "aimeeting.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_nodes_starting_together_on_one_postgres_database_migrate_once(
    postgres_url: Callable[[], str], tmp_path: Path
) -> None:
    # A plain postgresql:// URL, as operators write it: the server picks its async driver.
    url = postgres_url().replace("postgresql+asyncpg://", "postgresql://")
    nodes = [
        ServerProcess(
            tmp_path / f"node{i}", {"AIMEETING_DATABASE_URL": url, "AIMEETING_JWT_SECRET": "s" * 40}
        )
        for i in range(3)
    ]
    try:
        for node in nodes:
            node.launch()
        for node in nodes:
            node.wait_ready()
        # One meeting seen from every node: they share the database and the secret.
        alice = register(nodes[0].url)
        meeting = create_meeting(alice)
        bob = register(nodes[1].url)
        bob.http = httpx.Client(base_url=f"{nodes[2].url}/v1", timeout=15)
        assert join(bob, meeting["meeting_number"]).json()["data"]["participant_count"] == 1
    finally:
        for node in nodes:
            node.stop()


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    marker = "TEST_COMMAND="
    line = next(line for line in ci.splitlines() if line.startswith(marker))
    command = line.removeprefix(marker).strip().strip("'")
    assert command in readme


def test_the_assistant_without_a_password_says_how_to_give_one() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMEETING_")}
    result = run_aimeeting("assistant", "--server", "http://127.0.0.1:9", env=env)
    assert result.returncode == 2
    assert "AIMEETING_ASSISTANT_PASSWORD" in result.stderr and "Traceback" not in result.stderr


def test_the_assistant_with_a_wrong_password_stops_with_one_line(server: ServerProcess) -> None:
    result = run_aimeeting("assistant", "--server", server.url, "--password", "wrong-Passw0rd")
    assert result.returncode == 2
    assert "sign-in refused" in result.stderr and "Traceback" not in result.stderr
