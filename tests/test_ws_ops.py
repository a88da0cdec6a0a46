"""The realtime API in operation: a graceful stop mid-chat, and its Prometheus metrics."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import httpx

from harness.server import ServerProcess
from tests.utils.api import client, create_meeting, register
from tests.utils.ws import WsClient, enter_room


async def test_sigterm_mid_burst_delivers_what_it_stored_and_stores_what_it_delivered(
    tmp_path: Path,
) -> None:
    """In-flight work finishes before the 1001 close: every message the sender saw echoed is in
    history and reached the other member; nothing is in history that nobody was shown."""
    env = {"AIMEETING_CHAT_RATE_LIMIT": "10000/second", "AIMEETING_WS_RATE_LIMIT": "10000/second"}
    first = ServerProcess(tmp_path, env).start()
    try:
        alice, bob = register(first.url, nickname="Alice"), register(first.url, nickname="Bob")
        meeting = create_meeting(alice)
        a = await enter_room(first.url, alice, meeting)
        b = await enter_room(first.url, bob, meeting)
        await a.wait_for("user_joined", user={"id": bob.id, "nickname": "Bob", "avatar": None})
        for i in range(200):
            await a.send("chat_message", {"room_id": meeting["id"], "content": f"m{i}"})
        await a.wait_for("chat_message")  # the server is busy with the burst now
        stopping = asyncio.create_task(asyncio.to_thread(first.stop))
        seen_by_alice = [m for m in await a.closed(1001, timeout=15) if m["type"] == "chat_message"]
        seen_by_bob = [m for m in await b.closed(1001, timeout=15) if m["type"] == "chat_message"]
        await stopping
    finally:
        first.stop()

    second = ServerProcess(tmp_path, env).start()
    try:
        http = client(second.url)
        response = http.get(
            f"/meetings/{meeting['id']}/messages",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {alice.access_token}"},
        )
        stored = [m["content"] for m in response.json()["data"]["messages"]]
        while response.json()["data"]["has_more"]:
            response = http.get(
                f"/meetings/{meeting['id']}/messages",
                params={
                    "limit": 100,
                    "before": response.json()["data"]["messages"][-1]["message_id"],
                },
                headers={"Authorization": f"Bearer {alice.access_token}"},
            )
            stored += [m["content"] for m in response.json()["data"]["messages"]]
    finally:
        second.stop()
    stored.reverse()
    echoed = ["m0"] + [m["data"]["content"] for m in seen_by_alice]
    assert stored == echoed, "history and the sender's echoes differ"
    # Bob read from the start, so his list holds m0 too.
    assert [m["data"]["content"] for m in seen_by_bob] == echoed[len(echoed) - len(seen_by_bob) :]
    assert stored == [f"m{i}" for i in range(len(stored))], "a message was skipped"
    assert len(stored) > 1, "the stop came before any message was in flight"


async def test_metrics_count_connections_messages_and_closes(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("sqlite")
    user = register(server.url)

    def metric(name: str) -> float:
        text = httpx.get(f"{server.url}/metrics").text
        match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        return float(match[1]) if match else 0.0

    ws = await WsClient.connected(server.url, user)
    await ws.send("ping")
    await ws.expect("pong")
    await ws.send("no_such_type")
    await ws.error(40004, 2)
    assert metric("aimeeting_ws_connections") == 1
    assert metric('aimeeting_ws_messages_received_total{type="ping"}') == 1
    assert metric('aimeeting_ws_messages_received_total{type="invalid"}') == 1
    await ws.close()
    for _ in range(100):
        if metric('aimeeting_ws_closes_total{code="1000"}') == 1:
            break
        await asyncio.sleep(0.05)
    assert metric('aimeeting_ws_closes_total{code="1000"}') == 1
    assert metric("aimeeting_ws_connections") == 0
