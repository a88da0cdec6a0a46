"""The typed overloads of ``Meeting.on`` and ``Meeting.events`` (aimeeting.sdk.events.EventSource):
each pairs a ``MeetingEvent`` with the event class whose ``type`` it is, and every event has
its pair, so mypy checks a handler against what it will really be called with."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, get_args, get_overloads, get_type_hints

import pytest

from aimeeting.sdk import Meeting, MeetingEvent, events
from aimeeting.sdk.events import EventSource, Subscription


def hints(function: Any) -> dict[str, Any]:
    return get_type_hints(function, vars(events))


def event_of(literal: Any) -> MeetingEvent | None:
    """The one ``MeetingEvent`` of a ``Literal[MeetingEvent.X]`` annotation, else None."""
    if typing.get_origin(literal) is typing.Literal:
        (event,) = get_args(literal)
        return MeetingEvent(event)
    return None


def kind_of(cls: type) -> MeetingEvent:
    """The ``type`` an event class's objects carry (its dataclass default)."""
    (field,) = [f for f in dataclasses.fields(cls) if f.name == "type"]
    return MeetingEvent(field.default)


def on_pairs() -> dict[MeetingEvent, type]:
    pairs: dict[MeetingEvent, type] = {}
    for overload in get_overloads(EventSource.on):
        types = hints(overload)
        if (event := event_of(types["event"])) is not None:
            arguments, _ = get_args(types["handler"])  # Callable[[Event], ...]
            (pairs[event],) = arguments
    return pairs


def events_pairs() -> dict[MeetingEvent, type]:
    pairs: dict[MeetingEvent, type] = {}
    for overload in get_overloads(EventSource.events):
        types = hints(overload)
        if "kind" in types and (event := event_of(types["kind"])) is not None:
            assert typing.get_origin(types["return"]) is Subscription
            (pairs[event],) = get_args(types["return"])
    return pairs


@pytest.mark.parametrize("pairs", [on_pairs, events_pairs], ids=["on", "events"])
def test_every_event_has_one_overload_with_its_own_class(pairs: Any) -> None:
    found = pairs()
    assert set(found) == set(MeetingEvent)
    for event, cls in found.items():
        assert kind_of(cls) is event, (event, cls)


def test_a_meeting_has_the_typed_methods() -> None:
    assert issubclass(Meeting, EventSource)
    assert Meeting.on is EventSource.on and Meeting.events is EventSource.events
