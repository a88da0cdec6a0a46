"""ICE servers for the peer-to-peer mesh (DECISIONS.md §9): STUN from the settings, TURN with
short-lived credentials in coturn's REST-API scheme (``use-auth-secret``).

The server never talks to coturn: both hold the same secret, so coturn can check a credential
by recomputing the HMAC, and the expiry inside the username is what limits its life.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from aimeeting.server.config import Settings
from aimeeting.server.rtc.schemas import IceServer, IceServers


def turn_credentials(secret: str, user_id: str, expires: int) -> tuple[str, str]:
    """(username, credential) valid until ``expires`` (Unix seconds), as coturn checks them."""
    username = f"{expires}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers(settings: Settings, user_id: str, now: datetime) -> IceServers:
    """The ICE servers for ``user_id``: STUN as configured, TURN with fresh credentials."""
    servers: list[IceServer] = []
    if settings.stun_urls:
        servers.append(IceServer(urls=settings.stun_urls))
    if not (settings.turn_urls and settings.turn_secret):
        return IceServers(ice_servers=servers, expires_at=None)
    # Whole seconds: the expiry is written into the username, and coturn reads an integer.
    expires_at = now.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=settings.turn_ttl)
    username, credential = turn_credentials(
        settings.turn_secret, user_id, int(expires_at.timestamp())
    )
    servers.append(IceServer(urls=settings.turn_urls, username=username, credential=credential))
    return IceServers(ice_servers=servers, expires_at=expires_at)
