"""Identifiers and the clock (aimeeting.server.ids, DECISIONS.md §4)."""

from __future__ import annotations

import itertools
import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from aimeeting.server.ids import Clock, is_well_formed, new_id, new_meeting_number


def test_a_new_id_is_its_prefix_and_sixteen_hex_digits_and_never_repeats() -> None:
    made = {new_id("meeting") for _ in range(2000)}
    assert len(made) == 2000
    assert all(re.fullmatch(r"meeting_[0-9a-f]{16}", value) for value in made)
    assert all(is_well_formed("meeting", value) for value in made)


@pytest.mark.parametrize(
    ("prefix", "value", "well_formed"),
    [
        ("user", "user_0123456789abcdef", True),
        ("user", "meeting_0123456789abcdef", False),  # another kind's id
        ("user", "user_0123456789ABCDEF", False),  # we issue lower case only
        ("user", "user_0123456789abcde", False),  # 15 digits
        ("user", "user_0123456789abcdef0", False),  # 17
        ("user", "user_0123456789abcdeg", False),
        ("user", "user_0123456789abcdef\n", False),
        ("user", "user_0123456789abc\x00ef", False),  # never reaches the database
        ("user", "user__0123456789abcdef", False),
        ("user", "", False),
        ("meeting", "123456789", False),  # a meeting number is not its id
    ],
)
def test_only_what_we_could_have_issued_is_well_formed(
    prefix: str, value: str, well_formed: bool
) -> None:
    assert is_well_formed(prefix, value) is well_formed


def test_a_meeting_number_is_nine_digits_not_starting_with_zero() -> None:
    numbers = [new_meeting_number() for _ in range(2000)]
    assert all(re.fullmatch(r"[1-9][0-9]{8}", number) for number in numbers)
    assert len(set(numbers)) > 1990  # random, among 900 million


def test_the_meeting_number_range_ends_are_reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "randbelow", lambda n: 0)
    assert new_meeting_number() == "100000000"
    monkeypatch.setattr(secrets, "randbelow", lambda n: n - 1)
    assert new_meeting_number() == "999999999"


def test_the_clock_gives_strictly_increasing_utc_times() -> None:
    clock = Clock()
    times = [clock.next() for _ in range(5000)]  # faster than the system clock ticks
    assert all(a < b for a, b in itertools.pairwise(times))
    assert all(t.tzinfo is UTC for t in times)
    assert abs(times[-1] - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_clock_goes_past_a_later_time_from_another_node() -> None:
    clock = Clock()
    ahead = datetime.now(UTC) + timedelta(hours=1)  # another node's clock runs fast
    after = clock.next(ahead)
    assert after == ahead + Clock.TICK
    assert clock.next() == ahead + 2 * Clock.TICK  # and stays past it
    behind = datetime.now(UTC) - timedelta(hours=1)
    assert clock.next(behind) == ahead + 3 * Clock.TICK  # an earlier time changes nothing
