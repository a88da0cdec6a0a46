"""The history checker (harness/history.py): each kind of fault is counted, for the member
who saw it, and a whole history passes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from aimeeting.sdk.models import ChatMessage, User
from harness.history import TOTALS, History, merge

ROOM = "meeting_0123456789abcdef"


@pytest.fixture(autouse=True)
def session_totals_untouched() -> Iterator[None]:
    """These histories are made up, faults on purpose: they are not the session's figures."""
    saved = dataclasses.replace(TOTALS)
    yield
    for name, value in dataclasses.asdict(saved).items():
        setattr(TOTALS, name, value)


def message(n: int, sender: str = "alice", text: str | None = None, **extra: Any) -> dict:
    """The ``chat_message`` data the server sends for message ``n`` (client_msg_id ``c<n>``)."""
    data = {
        "message_id": f"msg_{n:04d}",
        "room_id": ROOM,
        "sender": {"id": sender, "nickname": sender, "avatar": None},
        "content": text if text is not None else f"hello {n}",
        "created_at": "2026-12-03T12:00:00.000Z",
        "client_msg_id": f"c{n}",
    }
    return data | extra


def room(count: int = 4) -> History:
    """Alice sent ``count`` messages; nobody has seen anything yet."""
    history = History(ROOM)
    for n in range(count):
        history.sent("alice", f"hello {n}", f"c{n}")
    return history


def everything(count: int = 4) -> list[dict]:
    return [message(n) for n in range(count)]


def test_a_whole_history_has_no_faults() -> None:
    history = room()
    for n in range(4):
        history.seen_live("alice", message(n))
        history.seen_live("bob", {"type": "chat_message", "seq": n + 5, "data": message(n)})
    history.seen_in_history("bob", everything()[::-1])
    report = history.assert_whole()
    assert report.sent == 4 and report.faults == 0
    assert report.members["bob"].seen_live == 4 and report.members["bob"].in_history == 4


def test_a_message_nobody_got_is_lost_for_every_member() -> None:
    history = room()
    for n in (0, 1, 3):
        history.seen_live("alice", message(n))
    history.member("carol")  # in the room, saw nothing at all
    report = history.report()
    assert report.members["alice"].lost == 1
    assert report.members["carol"].lost == 4
    with pytest.raises(AssertionError, match=r"(?s)5 lost.*alice: 1 lost.*'c2'"):
        report.assert_whole()


def test_a_message_missed_live_but_found_in_history_is_caught_up_not_lost() -> None:
    history = room()
    for n in (0, 3):
        history.seen_live("bob", message(n))
    history.seen_in_history("bob", everything()[::-1])
    counts = history.assert_whole().members["bob"]
    assert counts.missed_live == 2 and counts.lost == 0


def test_a_message_seen_live_but_not_in_history_was_not_stored() -> None:
    history = room()
    history.sent("alice", "unsure", "c9", must_arrive=False)  # its fate unknown...
    for data in [*everything(), message(9, text="unsure")]:
        history.seen_live("bob", data)
    history.seen_in_history("bob", everything()[::-1])  # ...but bob saw it: it must be stored
    assert history.report().members["bob"].lost == 1


def test_a_message_whose_fate_is_unknown_may_be_missing() -> None:
    history = room()
    history.sent("alice", "in flight", "c9", must_arrive=False)
    for data in everything():
        history.seen_live("bob", data)
    history.assert_whole()


def test_the_same_message_delivered_twice_is_duplicated() -> None:
    history = room()
    for n in (0, 1, 1, 2, 3):
        history.seen_live("bob", message(n))
    counts = history.report().members["bob"]
    assert (counts.duplicated, counts.lost, counts.reordered) == (1, 0, 0)


def test_one_message_stored_twice_is_duplicated() -> None:
    history = room()
    stored = [*everything(), message(4, text="hello 2", client_msg_id="c2")]  # a resend stored
    history.seen_in_history("bob", stored[::-1])
    counts = history.report().members["bob"]
    assert counts.duplicated == 1 and counts.lost == 0


def test_without_client_msg_id_messages_match_by_sender_and_text() -> None:
    history = History(ROOM)
    history.sent("alice", "same words")
    history.sent("bob", "same words")
    history.seen_live("carol", message(1, text="same words", client_msg_id=None))
    history.seen_live("carol", message(2, "bob", text="same words", client_msg_id=None))
    history.assert_whole()
    history.seen_live("dave", message(1, text="same words", client_msg_id=None))
    history.seen_live("dave", message(3, text="same words", client_msg_id=None))
    assert history.report().members["dave"].duplicated == 1


def test_messages_sent_without_an_id_match_by_text_whatever_id_the_sdk_gave() -> None:
    history = History(ROOM)
    history.sent("alice", "hello 0")
    history.seen_live("bob", message(0, client_msg_id="picked-by-the-sdk"))
    history.assert_whole()
    history.seen_live("carol", message(0, client_msg_id="picked-by-the-sdk"))
    history.seen_live("carol", message(1, text="hello 0", client_msg_id="a-resend-with-new-id"))
    assert history.report().members["carol"].duplicated == 1


def test_a_member_seeing_another_order_than_history_is_reordered() -> None:
    history = room()
    history.seen_in_history("alice", everything()[::-1])
    for n in (0, 2, 1, 3):  # live, bob saw 2 before 1
        history.seen_live("bob", message(n))
    report = history.report()
    assert report.members["bob"].reordered == 1 and report.members["bob"].lost == 0
    assert report.members["alice"].faults == 0


def test_live_orders_are_compared_with_each_other_without_history() -> None:
    history = room()
    for n in range(4):
        history.seen_live("alice", message(n))
    for n in (3, 0, 1, 2):
        history.seen_live("bob", message(n))
    assert history.report().members["bob"].reordered == 1


def test_a_sender_whose_messages_are_stored_out_of_its_order_is_reordered() -> None:
    # Everyone agrees on one order, but it is not the order alice sent them in.
    history = room()
    stored = [message(0), message(2), message(1), message(3)]
    for member in ("alice", "bob"):
        history.seen_in_history(member, stored[::-1])
    report = history.report()
    assert report.members["alice"].reordered == 1 and report.members["bob"].reordered == 1
    relaxed = room()
    relaxed.sender_order = False
    relaxed.seen_in_history("bob", stored[::-1])
    relaxed.assert_whole()


def test_messages_nobody_sent_or_from_another_room_are_unexpected() -> None:
    history = room()
    for data in everything():
        history.seen_live("bob", data)
    history.seen_live("bob", message(7, text="who said that", client_msg_id="zz"))
    history.seen_live("bob", message(8, "mallory", text="hello 0", client_msg_id="c0"))
    history.seen_live("bob", message(9, room_id="meeting_ffffffffffffffff") | {"message_id": "x"})
    counts = history.report().members["bob"]
    assert counts.unexpected == 3, counts.examples
    # The same wrong message live and in history is one unexpected message.
    again = room()
    ghost = message(7, client_msg_id="zz")
    again.seen_live("bob", ghost)
    again.seen_in_history("bob", [*everything(), ghost][::-1])
    assert again.report().members["bob"].unexpected == 1


def test_sdk_chat_messages_are_accepted_as_they_are() -> None:
    history = room(1)
    event = ChatMessage(
        message_id="msg_0000",
        room_id=ROOM,
        sender=User("alice", "alice"),
        content="hello 0",
        created_at=datetime.now(UTC),
        client_msg_id="c0",
    )
    history.seen_live("bob", event)
    history.seen_in_history("bob", [event])
    history.assert_whole()


def test_reports_of_rooms_add_up_and_count_into_the_session_totals() -> None:
    before = (TOTALS.messages, TOTALS.deliveries)
    first, second = room(3), room(5)
    for data in everything(3):
        first.seen_live("r1/bob", data)
    for data in everything(5)[:-1]:
        second.seen_live("r2/bob", data)
    total = merge([first.report(), second.report()])
    assert total.sent == 8 and total.total("lost") == 1
    assert set(total.members) == {"r1/bob", "r2/bob"}
    assert (TOTALS.messages, TOTALS.deliveries) == (before[0] + 8, before[1] + 7)
