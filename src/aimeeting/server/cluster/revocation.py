"""Logouts across nodes: stored in the database as on one node, and announced to every node so
that each refuses the session's tokens at once, without a database read per request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aimeeting.server.auth.revocation import RevokedSessions
from aimeeting.server.cluster.node import Node
from aimeeting.server.cluster.outage import tolerate_outage
from aimeeting.server.db import Database


class ClusterRevokedSessions(RevokedSessions):
    def __init__(self, db: Database, node: Node) -> None:
        super().__init__(db)
        self.node = node
        node.handle("revoked", self._on_revoked)

    async def revoke(self, session_id: str, until: datetime, now: datetime) -> None:
        await super().revoke(session_id, until, now)
        message = {"op": "revoked", "session": session_id, "until": until.isoformat()}
        # Stored: the other nodes read it when they find Redis again.
        with tolerate_outage("other nodes learn of a logout later"):
            await self.node.broadcast(message)

    def _on_revoked(self, message: dict[str, Any]) -> None:
        self.remember(message["session"], datetime.fromisoformat(message["until"]))
