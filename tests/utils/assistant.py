"""The meeting assistant from a test's side: its account, invitations, captions, transcripts
and summaries over the real API (docs/assistant.md)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.utils.api import User, client, create_meeting, ok, register
from tests.utils.ws import Connections, WsClient, enter_room, settle

ASSISTANT_EMAIL = "assistant@aimeeting.local"  # the server's default
# Given to the test servers as AIMEETING_ASSISTANT_PASSWORD: how a test logs in as it.
ASSISTANT_PASSWORD = "Assistant-pass1"


def log_in_assistant(base_url: str) -> User:
    http = client(base_url)
    response = http.post(
        "/auth/login", json={"email": ASSISTANT_EMAIL, "password": ASSISTANT_PASSWORD}
    )
    data = ok(response)
    return User(
        id=data["user"]["id"],
        email=ASSISTANT_EMAIL,
        password=ASSISTANT_PASSWORD,
        nickname=data["user"]["nickname"],
        access_token=data["tokens"]["access_token"],
        refresh_token=data["tokens"]["refresh_token"],
        http=http,
    )


def invite(user: User, meeting_id: str, **body: Any) -> httpx.Response:
    return user.post(f"/meetings/{meeting_id}/assistant", json=body or None)


def dismiss(user: User, meeting_id: str) -> httpx.Response:
    return user.http.delete(f"/meetings/{meeting_id}/assistant", headers=user.auth)


def assistant_state(user: User, meeting_id: str) -> httpx.Response:
    return user.get(f"/meetings/{meeting_id}/assistant")


def invited_meetings(assistant: User) -> list[str]:
    """The meeting ids of the assistant's invitations now."""
    return [item["meeting_id"] for item in ok(assistant.get("/assistant/invitations"))["items"]]


def transcript(user: User, meeting_id: str, **params: Any) -> httpx.Response:
    return user.get(f"/meetings/{meeting_id}/transcript", params=params)


def summary(user: User, meeting_id: str) -> dict[str, Any]:
    data: dict[str, Any] = ok(user.get(f"/meetings/{meeting_id}/summary"))
    return data


def wait_summary(user: User, meeting_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """The summary once it is no longer pending."""
    deadline = time.monotonic() + timeout
    while True:
        data = summary(user, meeting_id)
        if data["status"] != "pending" or time.monotonic() > deadline:
            return data
        time.sleep(0.1)


async def caption(
    ws: WsClient,
    room_id: str,
    user_id: str,
    text: str,
    *,
    final: bool = True,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> int:
    """Send a ``caption``; its seq. Times default to the last second."""
    now = int(time.time() * 1000)
    data = {
        "room_id": room_id,
        "user_id": user_id,
        "text": text,
        "start_ms": now - 1000 if start_ms is None else start_ms,
        "end_ms": now if end_ms is None else end_ms,
        "final": final,
    }
    return await ws.send("caption", data)


@dataclass
class CaptionedMeeting:
    """A meeting whose members are seated and in the room, with the assistant invited (by the
    creator, ``people[0]``) and in the room too; every event of the entering read."""

    meeting: dict[str, Any]
    people: list[User]
    clients: list[WsClient]
    assistant: WsClient

    @property
    def id(self) -> str:
        return str(self.meeting["id"])


class Meetings(Connections):
    """Opens captioned meetings for one test; closes their connections afterwards."""

    async def captioned(
        self, base_url: str, assistant: User, nicknames: tuple[str, ...] = ("Alice", "Bob")
    ) -> CaptionedMeeting:
        people = [register(base_url, nickname=nickname) for nickname in nicknames]
        meeting = create_meeting(people[0])
        clients = [await self.track(enter_room(base_url, user, meeting)) for user in people]
        ok(invite(people[0], meeting["id"]))
        ws = await self.track(WsClient.connected(base_url, assistant))
        await ws.send("join_room", {"room_id": meeting["id"]})
        await ws.wait_for("room_state", room_id=meeting["id"])
        await asyncio.gather(*(settle(c) for c in [*clients, ws]))
        return CaptionedMeeting(meeting, people, clients, ws)
