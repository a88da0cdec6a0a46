"""Ours needs real users: register over REST, create meetings, take seats; the peers need none."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp

from bench.wsload import Member, Room

PASSWORD = "Password123"
PARALLEL = 48


async def _json(response: aiohttp.ClientResponse, status: int) -> dict[str, Any]:
    body: dict[str, Any] = await response.json(content_type=None)
    if response.status != status:
        raise RuntimeError(f"{response.method} {response.url.path}: {response.status} {body}")
    return body["data"]  # type: ignore[no-any-return]


async def _make_rooms(api: str, count: int, first: int, seat: bool) -> list[Room]:
    semaphore = asyncio.Semaphore(PARALLEL)
    connector = aiohttp.TCPConnector(limit=PARALLEL)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def register() -> str:
            body = {"email": f"b-{uuid.uuid4().hex[:16]}@example.com", "password": PASSWORD}
            body["nickname"] = "bench"
            async with semaphore, session.post(f"{api}/auth/register", json=body) as response:
                return str((await _json(response, 201))["tokens"]["access_token"])

        async def take_seat(number: str, token: str) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            url = f"{api}/meetings/{number}/join"
            async with semaphore, session.post(url, headers=headers) as response:
                await _json(response, 200)

        async def room(index: int) -> Room:
            tokens = list(await asyncio.gather(*(register() for _ in range(4))))
            headers = {"Authorization": f"Bearer {tokens[0]}"}
            async with (
                semaphore,
                session.post(
                    f"{api}/meetings", json={"title": "bench"}, headers=headers
                ) as response,
            ):
                meeting = await _json(response, 201)
            number = str(meeting["meeting_number"])
            if seat:
                await asyncio.gather(*(take_seat(number, token) for token in tokens))
            return [
                Member((first + index) * 4 + i, meeting["id"], token, number)
                for i, token in enumerate(tokens)
            ]

        return await asyncio.gather(*(room(i) for i in range(count)))


def ours_rooms(base_url: str, count: int, *, first: int = 0, seat: bool = True) -> list[Room]:
    """``count`` meetings of 4 fresh users each; with ``seat``, all four hold a seat (REST join)."""
    return asyncio.run(_make_rooms(f"{base_url}/v1", count, first, seat))


def peer_rooms(count: int, *, first: int = 0) -> list[Room]:
    return [
        [Member((first + r) * 4 + i, f"room-{first + r}") for i in range(4)] for r in range(count)
    ]


def rooms_for(target: str, base_url: str, count: int, *, first: int = 0) -> list[Room]:
    if target == "ours":
        return ours_rooms(base_url, count, first=first)
    return peer_rooms(count, first=first)
