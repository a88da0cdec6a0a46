"""The ``aimeeting`` command run for real, as a child process with a timeout."""

from __future__ import annotations

import subprocess
import sys


def run_aimeeting(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m aimeeting *args`` to its end (at most a minute), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "aimeeting", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def assert_refuses_to_serve(env: dict[str, str], line: str) -> None:
    """``aimeeting serve`` with only these settings (and a PATH) stops at once with exit code 2
    and ``line`` on stderr, no traceback: a bad setting is named, not dumped."""
    result = run_aimeeting("serve", env={**env, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2, result.stderr
    assert line in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
