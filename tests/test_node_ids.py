"""Node ids an operator can read: ``AIMEETING_NODE_ID`` (default: host name and port) plus a
random suffix per start, logged when the node starts. When a node dies, the log line that says
so (``cluster node lost``) names the machine; a node restarted under the same name is a new id,
so that it is never taken for its dead predecessor, whose members still get their grace.

Needs AIMEETING_TEST_DATABASE_URL and AIMEETING_TEST_REDIS_URL, as tests/test_cluster.py.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from harness.server import ServerProcess
from tests.utils.cluster import JWT_SECRET


def log_lines(node: ServerProcess, message: str) -> list[dict[str, Any]]:
    """The node's JSON log records with this message, oldest first."""
    records = []
    for line in node.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and (record := json.loads(line))["message"] == message:
            records.append(record)
    return records


def started_as(node: ServerProcess) -> str:
    """The id the node's latest start logged."""
    return str(log_lines(node, "cluster node started")[-1]["node"])


def test_nodes_are_named_for_the_operator_and_anew_at_each_start(
    start_server: Callable[..., ServerProcess],
    postgres_url: Callable[[], str],
    redis_db: Callable[[], str],
) -> None:
    shared = {
        "database_url": postgres_url(),
        "redis_url": redis_db(),
        "jwt_secret": JWT_SECRET,
        "node_timeout": 1,
    }
    left = start_server("sqlite", **shared, node_id="web-1.example:3001")
    right = start_server("sqlite", **shared)  # no AIMEETING_NODE_ID: host name and port
    first = started_as(right)
    assert re.fullmatch(r"web-1\.example:3001#[0-9a-f]{6}", started_as(left))
    assert re.fullmatch(rf"{re.escape(socket.gethostname())}:{right.port}#[0-9a-f]{{6}}", first)

    right.stop(signal.SIGKILL)
    deadline = time.monotonic() + 15
    while not (lost := log_lines(left, "cluster node lost")):
        assert time.monotonic() < deadline, left.logs()
        time.sleep(0.1)
    assert [record["node"] for record in lost] == [first]  # the operator's name for it

    right.launch()  # the same port, at once: well within the dead one's timeout
    right.wait_ready()
    again = started_as(right)
    assert again != first
    assert again.split("#")[0] == first.split("#")[0]
    time.sleep(2.5)  # more than node_timeout: the new one is alive, the old one stays lost
    assert [record["node"] for record in log_lines(left, "cluster node lost")] == [first]
