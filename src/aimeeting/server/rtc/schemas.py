"""What ``GET /v1/rtc/ice-servers`` answers (DECISIONS.md §9, extension)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from aimeeting.server.schemas import Timestamp


def _absent(value: object) -> bool:
    return value is None


def _optional_key(schema: dict[str, Any]) -> None:
    """In the document, a key that may be missing: no ``default: null`` beside ``string``."""
    schema.pop("default", None)


class IceServer(BaseModel):
    """One ``RTCIceServer``. STUN entries carry no credentials, and the keys are left out rather
    than sent as null: a browser would turn a null ``username`` into the string "null"."""

    urls: list[str] = Field(description="stun:/stuns: or turn:/turns: URLs")
    # Absent, never null, so the document says string (None only leaves the key out).
    username: str | SkipJsonSchema[None] = Field(
        None,
        description="TURN only: `<expiry, Unix seconds>:<user_id>`",
        exclude_if=_absent,
        json_schema_extra=_optional_key,
    )
    credential: str | SkipJsonSchema[None] = Field(
        None,
        description="TURN only: base64(HMAC-SHA1(secret, username))",
        exclude_if=_absent,
        json_schema_extra=_optional_key,
    )


class IceServers(BaseModel):
    ice_servers: list[IceServer] = Field(description="STUN first, then TURN; empty when none")
    expires_at: Timestamp | None = Field(
        description="when the TURN credentials stop working; null without TURN"
    )
