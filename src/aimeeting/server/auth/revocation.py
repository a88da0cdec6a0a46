"""Sessions ended by logout. Kept in the database; looked up in memory on every request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from aimeeting.server.db import Database
from aimeeting.server.db.models import RevokedSession


class RevokedSessions:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._until: dict[str, datetime] = {}

    async def load(self, now: datetime) -> None:
        """Read the revocations still in force, and drop the expired ones (at start-up)."""
        async with self.db.write() as session:
            await session.execute(delete(RevokedSession).where(RevokedSession.expires_at <= now))
            rows = await session.execute(
                select(RevokedSession.session_id, RevokedSession.expires_at)
            )
            self._until = {session_id: expires for session_id, expires in rows}

    def is_revoked(self, session_id: str) -> bool:
        return session_id in self._until

    async def revoke(self, session_id: str, until: datetime, now: datetime) -> None:
        async with self.db.write() as session:
            await session.execute(
                self.db.insert_or_ignore(RevokedSession, session_id=session_id, expires_at=until)
            )
        self.remember(session_id, until)
        self._until = {sid: expiry for sid, expiry in self._until.items() if expiry > now}

    def remember(self, session_id: str, until: datetime) -> None:
        """A revocation stored already (by another node, say)."""
        self._until[session_id] = until
