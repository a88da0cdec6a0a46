"""The meeting assistant's API (docs/assistant.md, DECISIONS §10): who may invite and dismiss
it, its invitations, ``caption`` over the WebSocket, the stored transcript, and the summary
written when a meeting ends (extractive, or by a chat-completions model: a fake one here).

Real server processes on SQLite and PostgreSQL, real HTTP and WebSocket clients. The servers get
``AIMEETING_ASSISTANT_PASSWORD``, so that a test can log in as the assistant and do what its
process does.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from aimeeting.server.summaries import extractive
from harness.server import ServerProcess
from tests.utils.api import (
    User,
    assert_error,
    client,
    create_meeting,
    detail,
    join,
    ok,
    register,
)
from tests.utils.assistant import (
    ASSISTANT_EMAIL,
    ASSISTANT_PASSWORD,
    CaptionedMeeting,
    Meetings,
    assistant_state,
    caption,
    dismiss,
    invite,
    invited_meetings,
    log_in_assistant,
    summary,
    transcript,
    wait_summary,
)
from tests.utils.chat_completions import Answer, FakeChatCompletions
from tests.utils.ws import WsClient, enter_room, settle

API_KEY = "sk-test-do-not-log-0123456789"
SUMMARY_TIMEOUT = 2.0  # seconds, for the servers with a model
ORPHAN_TIMEOUT = 3.0  # for the one whose node dies: it restarts within twice that

# A scripted meeting: (speaker index, what they said). People: Alice (creator), Bob.
SCRIPT = (
    (0, "Today we review the release plan for the mobile app."),
    (1, "The mobile app release is blocked by the login bug."),
    (0, "We decided to delay the release by one week."),
    (1, "I'll fix the login bug by Wednesday."),
    (0, "Bob, please send the crash reports to the support team."),
)


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def url(backend: str, start_server: Callable[..., ServerProcess]) -> str:
    """A server that summarizes with the extractive rules."""
    return start_server(backend, assistant_password=ASSISTANT_PASSWORD).url


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeChatCompletions]:
    server = FakeChatCompletions().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def model_server(
    backend: str, start_server: Callable[..., ServerProcess], fake: FakeChatCompletions
) -> ServerProcess:
    """A server that asks the fake model for its summaries."""
    return start_server(
        backend,
        assistant_password=ASSISTANT_PASSWORD,
        summary_url=fake.url,
        summary_model="test-model",
        summary_api_key=API_KEY,
        summary_timeout=SUMMARY_TIMEOUT,
    )


@pytest.fixture
def slow_model_server(
    backend: str, start_server: Callable[..., ServerProcess], fake: FakeChatCompletions
) -> ServerProcess:
    """A server of its own (the test kills it), with a model and a longer timeout."""
    return start_server(
        backend,
        assistant_password=ASSISTANT_PASSWORD,
        summary_url=fake.url,
        summary_api_key=API_KEY,
        summary_timeout=ORPHAN_TIMEOUT,
    )


@pytest.fixture
async def meetings() -> AsyncIterator[Meetings]:
    tracker = Meetings()
    yield tracker
    await tracker.close_all()


def end(user: User, meeting_id: str) -> None:
    response = user.post(f"/meetings/{meeting_id}/end")
    assert response.status_code == 200, response.text


def rfc3339(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seats(user: User, meeting_id: str) -> dict[str, dict[str, Any]]:
    return {seat["user_id"]: seat for seat in detail(user, meeting_id)["participants"]}


async def say_script(room: CaptionedMeeting) -> None:
    """The assistant captions ``SCRIPT``, finals only, each stored before the next."""
    for speaker, text in SCRIPT:
        await caption(room.assistant, room.id, room.people[speaker].id, text)
        await room.clients[0].wait_for("caption", text=text)


def expected_summary(room: CaptionedMeeting) -> dict[str, Any]:
    utterances = [extractive.Utterance(room.people[i].id, text) for i, text in SCRIPT]
    members = {person.id: person.nickname for person in room.people}
    return extractive.summarize(utterances, members).model_dump()


# -- the account --------------------------------------------------------------------------


def test_the_assistant_account_exists_and_nobody_can_register_its_email(url: str) -> None:
    assistant = log_in_assistant(url)
    assert assistant.nickname == "Assistant"
    response = client(url).post(
        "/auth/register",
        json={"email": ASSISTANT_EMAIL, "password": "Password123", "nickname": "Mallory"},
    )
    assert_error(response, 40901)


# -- invite and dismiss ---------------------------------------------------------------------


def test_the_creator_invites_without_a_seat_and_the_assistant_takes_one_muted(url: str) -> None:
    creator = register(url)
    meeting = create_meeting(creator)
    state = ok(invite(creator, meeting["id"]))
    assistant = log_in_assistant(url)
    assert state["active"] is True and state["user_id"] == assistant.id
    assert state["language"] == "en" and state["invited_by"] == creator.id
    assert state["invited_at"].endswith("Z")
    seat = seats(creator, meeting["id"])[assistant.id]
    assert seat["nickname"] == "Assistant"
    assert (seat["audio_muted"], seat["video_muted"]) == (True, True)
    assert ok(assistant_state(creator, meeting["id"])) == state


def test_a_seated_member_invites_and_dismisses(url: str) -> None:
    creator, member = register(url), register(url)
    meeting = create_meeting(creator)
    assert join(member, meeting["meeting_number"]).status_code == 200
    assert ok(invite(member, meeting["id"]))["invited_by"] == member.id
    state = ok(dismiss(member, meeting["id"]))
    assert state["active"] is False and state["invited_by"] == member.id
    assert ok(dismiss(member, meeting["id"])) == state  # idempotent
    assert ok(assistant_state(creator, meeting["id"]))["active"] is False


async def test_a_member_who_gave_up_their_seat_may_see_but_not_invite(url: str) -> None:
    creator, member = register(url), register(url)
    meeting = create_meeting(creator)
    ws = await enter_room(url, member, meeting)
    try:
        await ws.send("leave_room", {"room_id": meeting["id"]})
        await settle(ws)
    finally:
        await ws.close()
    assert member.id not in seats(creator, meeting["id"])
    assert_error(invite(member, meeting["id"]), 40301)
    assert_error(dismiss(member, meeting["id"]), 40301)
    assert ok(assistant_state(member, meeting["id"]))["active"] is False


def test_a_stranger_finds_no_meeting(url: str) -> None:
    creator, stranger = register(url), register(url)
    meeting = create_meeting(creator)
    ok(invite(creator, meeting["id"]))
    assert_error(invite(stranger, meeting["id"]), 40402)
    assert_error(dismiss(stranger, meeting["id"]), 40402)
    assert_error(assistant_state(stranger, meeting["id"]), 40402)
    assert_error(transcript(stranger, meeting["id"]), 40402)
    assert_error(stranger.get(f"/meetings/{meeting['id']}/summary"), 40402)
    assert_error(invite(stranger, "meeting_0000000000000000"), 40402)
    assert_error(invite(stranger, "not-an-id"), 40402)


def test_inviting_into_an_ended_meeting_is_40005(url: str) -> None:
    creator = register(url)
    meeting = create_meeting(creator)
    assert join(creator, meeting["meeting_number"]).status_code == 200
    end(creator, meeting["id"])
    assert_error(invite(creator, meeting["id"]), 40005)


def test_a_full_meeting_has_no_seat_for_the_assistant_40006(url: str) -> None:
    people = [register(url) for _ in range(4)]
    meeting = create_meeting(people[0])
    for person in people:
        assert join(person, meeting["meeting_number"]).status_code == 200
    assert_error(invite(people[0], meeting["id"]), 40006)
    assert ok(assistant_state(people[0], meeting["id"]))["active"] is False


def test_inviting_again_keeps_the_invitation_and_may_change_the_language(url: str) -> None:
    creator = register(url)
    meeting = create_meeting(creator)
    first = ok(invite(creator, meeting["id"], language="zh"))
    assert first["language"] == "zh"
    assert ok(invite(creator, meeting["id"])) == first  # no language: unchanged
    second = ok(invite(creator, meeting["id"], language="auto"))
    assert second == {**first, "language": "auto"}
    assert len(seats(creator, meeting["id"])) == 1  # one seat for the assistant, still
    ok(dismiss(creator, meeting["id"]))
    again = ok(invite(creator, meeting["id"]))  # a new invitation: the default language
    assert again["active"] is True and again["language"] == "en"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"language": "fr"}, 40004),
        ({"language": 1}, 40004),
        ({"language": "EN"}, 40004),
        ([1], 40003),
    ],
)
def test_the_language_is_en_zh_or_auto(url: str, body: Any, code: int) -> None:
    creator = register(url)
    meeting = create_meeting(creator)
    assert_error(creator.post(f"/meetings/{meeting['id']}/assistant", json=body), code)
    assert ok(assistant_state(creator, meeting["id"]))["active"] is False


def test_invitations_are_the_assistants_own_and_list_active_meetings_not_ended(url: str) -> None:
    assistant = log_in_assistant(url)
    creator = register(url)
    kept, dismissed, ended = (create_meeting(creator) for _ in range(3))
    for meeting in (kept, dismissed, ended):
        ok(invite(creator, meeting["id"], language="zh"))
    listed = ok(assistant.get("/assistant/invitations"))["items"]
    mine = {item["meeting_id"]: item for item in listed}
    assert mine[kept["id"]]["meeting_number"] == kept["meeting_number"]
    assert mine[kept["id"]]["language"] == "zh"
    ok(dismiss(creator, dismissed["id"]))
    end(creator, ended["id"])
    now = invited_meetings(assistant)
    assert kept["id"] in now and dismissed["id"] not in now and ended["id"] not in now
    assert_error(creator.get("/assistant/invitations"), 40301)


# -- captions -------------------------------------------------------------------------------


async def test_a_caption_reaches_every_other_member_but_not_its_sender(
    url: str, meetings: Meetings
) -> None:
    room = await meetings.captioned(url, log_in_assistant(url))
    bob = room.people[1]
    seq = await caption(room.assistant, room.id, bob.id, "  hello there  ", final=False)
    for ws in room.clients:
        message = await ws.expect("caption")
        data = message["data"]
        assert data == {
            "room_id": room.id,
            "user_id": bob.id,
            "text": "hello there",
            "start_ms": data["start_ms"],
            "end_ms": data["end_ms"],
            "final": False,
        }
        assert data["end_ms"] - data["start_ms"] == 1000
    # Its messages are handled in order: the pong comes next, with no caption before it.
    pong = await room.assistant.send("ping")
    assert (await room.assistant.expect("pong"))["data"]["request_seq"] == pong
    assert seq < pong


async def test_captions_from_a_member_are_40301(url: str, meetings: Meetings) -> None:
    room = await meetings.captioned(url, log_in_assistant(url))
    alice = room.people[0]
    seq = await caption(room.clients[0], room.id, alice.id, "I am not the assistant")
    await room.clients[0].error(40301, seq)
    await room.clients[1].silent()


async def test_captions_after_the_dismissal_are_40301(url: str, meetings: Meetings) -> None:
    room = await meetings.captioned(url, log_in_assistant(url))
    ok(dismiss(room.people[0], room.id))
    seq = await caption(room.assistant, room.id, room.people[1].id, "too late")
    await room.assistant.error(40301, seq)
    await room.clients[0].silent()


async def test_a_caption_needs_the_room_joined_on_its_connection(
    url: str, meetings: Meetings
) -> None:
    assistant = log_in_assistant(url)
    room = await meetings.captioned(url, assistant)
    other = await meetings.track(WsClient.connected(url, assistant))
    seq = await caption(other, room.id, room.people[0].id, "from outside the room")
    await other.error(40301, seq)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"user_id": "user_0000000000000000"}, 40004),  # the speaker holds no seat
        ({"text": "   "}, 40004),
        ({"text": "x" * 1001}, 40004),
        ({"text": "a\x00b"}, 40004),
        ({"start_ms": 2000, "end_ms": 1000}, 40004),
        ({"start_ms": -1}, 40004),
        ({"start_ms": 1.5}, 40004),
        ({"final": "yes"}, 40004),
        ({"final": None}, 40003),
    ],
)
async def test_a_bad_caption_is_refused(
    url: str, meetings: Meetings, change: dict[str, Any], code: int
) -> None:
    room = await meetings.captioned(url, log_in_assistant(url))
    data = {
        "room_id": room.id,
        "user_id": room.people[0].id,
        "text": "hello",
        "start_ms": 1000,
        "end_ms": 2000,
        "final": True,
    }
    seq = await room.assistant.send("caption", data | change)
    await room.assistant.error(code, seq)
    await room.clients[0].silent()
    assert ok(transcript(room.people[0], room.id))["items"] == []


async def test_a_final_caption_is_stored_before_anyone_sees_it_and_a_partial_one_never(
    url: str, meetings: Meetings
) -> None:
    room = await meetings.captioned(url, log_in_assistant(url))
    alice, bob = room.people
    start = int(time.time() * 1000) - 3000
    await caption(room.assistant, room.id, bob.id, "we ship", final=False, start_ms=start)
    await room.clients[0].wait_for("caption", final=False)
    await caption(
        room.assistant, room.id, bob.id, "We ship on Friday.", start_ms=start, end_ms=start + 2500
    )
    await room.clients[0].wait_for("caption", final=True)
    items = ok(transcript(alice, room.id))["items"]  # read at once: already there
    assert len(items) == 1
    segment = items[0]
    assert segment["id"].startswith("seg_")
    assert {k: segment[k] for k in ("user_id", "nickname", "text")} == {
        "user_id": bob.id,
        "nickname": "Bob",
        "text": "We ship on Friday.",
    }
    assert (segment["start"], segment["end"]) == (rfc3339(start), rfc3339(start + 2500))


async def test_the_transcript_pages_oldest_first(url: str, meetings: Meetings) -> None:
    room = await meetings.captioned(url, log_in_assistant(url))
    alice = room.people[0]
    texts = [f"sentence number {i}" for i in range(5)]
    for text in texts:
        await caption(room.assistant, room.id, alice.id, text)
    await settle(room.assistant)  # handled in order: all stored by the pong
    first = ok(transcript(alice, room.id, limit=2))
    assert [s["text"] for s in first["items"]] == texts[:2] and first["has_more"] is True
    second = ok(transcript(alice, room.id, limit=2, after=first["items"][-1]["id"]))
    assert [s["text"] for s in second["items"]] == texts[2:4] and second["has_more"] is True
    third = ok(transcript(alice, room.id, limit=2, after=second["items"][-1]["id"]))
    assert [s["text"] for s in third["items"]] == texts[4:] and third["has_more"] is False
    whole = ok(transcript(alice, room.id))
    assert [s["text"] for s in whole["items"]] == texts and whole["has_more"] is False
    assert_error(transcript(alice, room.id, after="seg_0000000000000000"), 40004)
    assert_error(transcript(alice, room.id, after="nonsense"), 40004)
    assert_error(transcript(alice, room.id, limit=0), 40004)
    assert_error(transcript(alice, room.id, limit=101), 40004)
    other = await meetings.captioned(url, log_in_assistant(url))
    await caption(other.assistant, other.id, other.people[0].id, "elsewhere")
    await settle(other.assistant)
    foreign = ok(transcript(other.people[0], other.id))["items"][0]["id"]
    assert_error(transcript(alice, room.id, after=foreign), 40004)
    assert_error(transcript(register(url), room.id), 40402)


# -- summaries ------------------------------------------------------------------------------


async def test_no_transcript_means_no_summary(url: str, meetings: Meetings) -> None:
    room = await meetings.captioned(url, log_in_assistant(url))
    alice = room.people[0]
    assert summary(alice, room.id) == {"status": "none", "summary": None}
    end(alice, room.id)
    assert wait_summary(alice, room.id) == {"status": "none", "summary": None}


async def test_the_extractive_summary_is_stored_and_posted_to_the_chat(
    url: str, meetings: Meetings
) -> None:
    room = await meetings.captioned(url, log_in_assistant(url))
    alice, bob = room.people
    await say_script(room)
    assert summary(alice, room.id)["status"] == "none"  # not before the end
    end(alice, room.id)
    written = wait_summary(bob, room.id)
    assert written == {"status": "ready", "summary": expected_summary(room)}
    items = written["summary"]["action_items"]
    assert items == [
        {"text": "I'll fix the login bug by Wednesday.", "owner_user_id": bob.id},
        {
            "text": "Bob, please send the crash reports to the support team.",
            "owner_user_id": bob.id,
        },
    ]
    assert written["summary"]["decisions"] == ["We decided to delay the release by one week."]
    posted = ok(alice.get(f"/meetings/{room.id}/messages"))["messages"]
    assert len(posted) == 1
    assert posted[0]["sender"]["nickname"] == "Assistant"
    content = posted[0]["content"]
    assert content.startswith("Meeting summary\n") and len(content) <= 2000
    assert "• I'll fix the login bug by Wednesday. (Bob)" in content
    assert "Decisions:\n• We decided to delay the release by one week." in content


async def test_two_meetings_at_once_keep_their_captions_transcripts_and_summaries_apart(
    url: str, meetings: Meetings
) -> None:
    assistant = log_in_assistant(url)
    one = await meetings.captioned(url, assistant, ("Ann", "Ben"))
    two = await meetings.captioned(url, assistant, ("Cat", "Dan"))
    for room, word in ((one, "apples"), (two, "pears")):
        speaker = room.people[1]
        await caption(room.assistant, room.id, speaker.id, f"I will buy {word}. We need {word}.")
    for room, word in ((one, "apples"), (two, "pears")):
        message = await room.clients[0].expect("caption")
        assert word in message["data"]["text"]
        await room.clients[0].silent()
    assert_error(transcript(one.people[0], two.id), 40402)
    for room in (one, two):
        end(room.people[0], room.id)
    for room, word in ((one, "apples"), (two, "pears")):
        written = wait_summary(room.people[0], room.id)["summary"]
        assert written["action_items"] == [
            {"text": f"I will buy {word}.", "owner_user_id": room.people[1].id}
        ]
        assert written["keywords"] == [word]


async def test_a_model_writes_the_summary_while_it_reads_pending(
    model_server: ServerProcess, fake: FakeChatCompletions, meetings: Meetings
) -> None:
    url = model_server.url
    room = await meetings.captioned(url, log_in_assistant(url))
    alice, bob = room.people
    await say_script(room)
    answer = {
        "key_points": ["The release waits for the login fix."],
        "decisions": ["Delay the release by a week."],
        "action_items": [
            {"text": "Fix the login bug", "owner_user_id": bob.id},
            {"text": "Tell support", "owner_user_id": "user_made_up"},
        ],
        "keywords": ["release", "login"],
    }
    fake.answer, fake.requests[:] = Answer(answer, delay=1.0), []
    end(alice, room.id)
    assert summary(alice, room.id) == {"status": "pending", "summary": None}
    written = wait_summary(alice, room.id)
    assert written["status"] == "ready"
    assert written["summary"] == {
        **answer,
        "action_items": [
            {"text": "Fix the login bug", "owner_user_id": bob.id},
            {"text": "Tell support", "owner_user_id": None},  # nobody of that id was there
        ],
    }
    (request,) = fake.requests
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "test-model"
    assert request.body["response_format"] == {"type": "json_object"}
    said = request.body["messages"][-1]["content"]
    assert f"[{bob.id}] Bob: I'll fix the login bug by Wednesday." in said
    posted = ok(alice.get(f"/meetings/{room.id}/messages"))["messages"]
    assert "• Fix the login bug (Bob)" in posted[0]["content"]


@pytest.mark.parametrize(
    "answer",
    [
        Answer({"error": "overloaded"}, status=500),
        Answer("this is not JSON"),
        Answer({"key_points": "not a list", "decisions": [], "action_items": [], "keywords": []}),
        Answer({"key_points": [], "decisions": []}),  # keys missing
        Answer({}, delay=SUMMARY_TIMEOUT + 2),  # too slow
    ],
    ids=["http-500", "not-json", "wrong-type", "keys-missing", "timeout"],
)
async def test_when_the_model_fails_the_extractive_summary_is_stored(
    model_server: ServerProcess, fake: FakeChatCompletions, meetings: Meetings, answer: Answer
) -> None:
    url = model_server.url
    room = await meetings.captioned(url, log_in_assistant(url))
    await say_script(room)
    fake.answer = answer
    end(room.people[0], room.id)
    written = wait_summary(room.people[0], room.id)
    assert written == {"status": "ready", "summary": expected_summary(room)}
    logs = model_server.logs()
    assert "summary provider failed, extractive summary used" in logs
    assert API_KEY not in logs


async def test_a_summary_orphaned_by_a_dead_node_is_written_by_a_later_get(
    slow_model_server: ServerProcess, fake: FakeChatCompletions, meetings: Meetings
) -> None:
    """The node that ended the meeting dies while the model thinks: the summary stays pending
    until twice the timeout has passed, then the next GET writes it."""
    server, timeout = slow_model_server, ORPHAN_TIMEOUT
    room = await meetings.captioned(server.url, log_in_assistant(server.url))
    await say_script(room)
    await meetings.close_all()
    fake.answer = Answer({}, delay=30)  # answers too late, if ever
    end(room.people[0], room.id)
    ended = time.monotonic()
    server.stop(signal.SIGKILL)
    server.start()
    alice = room.people[0]
    if time.monotonic() - ended < 2 * timeout - 0.5:  # (a slow restart may be past it)
        assert summary(alice, room.id)["status"] == "pending"
    await asyncio.sleep(max(0.0, ended + 2 * timeout + 0.3 - time.monotonic()))
    written = summary(alice, room.id)  # this GET writes it (the model fails: extractive)
    assert written == {"status": "ready", "summary": expected_summary(room)}
    posted = ok(alice.get(f"/meetings/{room.id}/messages"))["messages"]
    assert [m["sender"]["nickname"] for m in posted] == ["Assistant"]


# -- several nodes ----------------------------------------------------------------------------


@pytest.fixture
def two_nodes(
    start_nodes: Callable[..., list[ServerProcess]], redis_db: Callable[[], str]
) -> list[ServerProcess]:
    """Two nodes on one PostgreSQL and one Redis (skipped without them)."""
    return start_nodes(2, redis_db(), assistant_password=ASSISTANT_PASSWORD)


async def test_captions_reach_members_on_every_node_and_the_summary_any_node(
    two_nodes: list[ServerProcess], meetings: Meetings
) -> None:
    """The assistant and Alice on one node, Bob on the other: both hear the caption, the
    assistant does not; the node that ends the meeting writes the summary, the other reads it."""
    here, there = (node.url for node in two_nodes)
    alice, bob = register(here, nickname="Alice"), register(there, nickname="Bob")
    meeting = create_meeting(alice)
    alice_ws = await meetings.track(enter_room(here, alice, meeting))
    bob_ws = await meetings.track(enter_room(there, bob, meeting))
    ok(invite(bob, meeting["id"]))
    assistant = await meetings.track(WsClient.connected(here, log_in_assistant(here)))
    await assistant.send("join_room", {"room_id": meeting["id"]})
    await assistant.wait_for("room_state", room_id=meeting["id"])
    await asyncio.gather(*(settle(ws) for ws in (alice_ws, bob_ws, assistant)))
    await caption(assistant, meeting["id"], bob.id, "I will write the plan.")
    for ws in (alice_ws, bob_ws):
        message = await ws.wait_for("caption", user_id=bob.id)
        assert message["data"]["text"] == "I will write the plan."
    pong = await assistant.send("ping")
    assert (await assistant.expect("pong"))["data"]["request_seq"] == pong
    end(alice, meeting["id"])
    written = wait_summary(bob, meeting["id"])  # read on the other node
    assert written["summary"]["action_items"] == [
        {"text": "I will write the plan.", "owner_user_id": bob.id}
    ]
