"""What the chat retry-key lookup costs in SQLite, by query shape: ``python -m bench.retrykeys``.

``ChatService._originals`` looks a batch's (sender, client_msg_id) pairs up with two IN lists;
SQLite probes the unique index once per pair of the *lists* (b² for a batch of b). This times
that shape against an OR of pairs and a row-value IN, on 200,000 rows with the same index.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable

ROWS, SENDERS = 200_000, 1_000
SHAPES: dict[str, Callable[[int], str]] = {
    "IN × IN (today)": lambda b: (
        f"sender_id IN ({','.join('?' * b)}) AND client_msg_id IN ({','.join('?' * b)})"
    ),
    "OR of pairs": lambda b: " OR ".join(["(sender_id = ? AND client_msg_id = ?)"] * b),
    "row-value IN": lambda b: f"(sender_id, client_msg_id) IN (VALUES {','.join(['(?,?)'] * b)})",
}


def _table() -> tuple[sqlite3.Connection, list[str]]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE m (id TEXT PRIMARY KEY, sender_id TEXT, client_msg_id TEXT, c TEXT)")
    db.execute("CREATE UNIQUE INDEX uq ON m (sender_id, client_msg_id)")
    senders = [f"user_{i:016x}" for i in range(SENDERS)]
    rows = ((secrets.token_hex(8), senders[i % SENDERS], f"{i}", "x" * 64) for i in range(ROWS))
    db.executemany("INSERT INTO m VALUES (?, ?, ?, ?)", rows)
    return db, senders


def main() -> None:
    db, senders = _table()
    for batch in (10, 100, 500):
        pairs = [(senders[i], f"new-{i}") for i in range(batch)]  # new keys, as in a chat
        for name, where in SHAPES.items():
            if name.startswith("IN"):
                params = [s for s, _ in pairs] + [k for _, k in pairs]
            else:
                params = [x for pair in pairs for x in pair]
            started = time.perf_counter()
            db.execute(f"SELECT * FROM m WHERE {where(batch)}", params).fetchall()
            print(f"batch {batch:3}: {name:16} {(time.perf_counter() - started) * 1000:7.2f} ms")


if __name__ == "__main__":
    main()
