"""A history checker: did every member end up with every chat message exactly once, in one
order? Fed what was sent and what each member saw (live, and from the history endpoint after
catching up), it counts per member what went wrong:

- **lost**: a message that had to arrive and is not in what the member has; once the member
  has fetched history, history must hold everything (what was sent and what it saw live);
- **duplicated**: a message the member got more than once (the same ``message_id`` twice, or
  one sent message stored under two ids);
- **reordered**: a message out of the room's one order (the history endpoint's; without any
  history, the longest live sequence), or out of its sender's sending order;
- **unexpected**: a message nobody sent here (an unknown ``client_msg_id`` or text, another
  room, another sender).

All four must be zero. Messages are matched by (sender id, ``client_msg_id``) when ``sent`` was
told the id, else by (sender id, text) (an SDK that picks its ids itself). One ``History`` is
one room; ``Report`` adds up across rooms. Pure logic, no I/O: usable from tests and from
``bench/`` alike. Every ``report()`` also adds to ``TOTALS``, the session's figures (printed at
the end of a pytest run by tests/conftest.py): call it once per ``History``.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]  # (sender id, client_msg_id or text)


@dataclass
class Totals:
    """What every report of this process checked: distinct messages sent, and the deliveries
    (live or from history) matched against them."""

    messages: int = 0
    deliveries: int = 0
    faults: int = 0  # lost + duplicated + reordered + unexpected, over all reports


TOTALS = Totals()


@dataclass
class MemberCounts:
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    unexpected: int = 0
    seen_live: int = 0
    in_history: int = 0
    missed_live: int = 0  # not seen live but found in history: caught up, not a fault
    examples: list[str] = field(default_factory=list)

    @property
    def faults(self) -> int:
        return self.lost + self.duplicated + self.reordered + self.unexpected

    def note(self, kind: str, what: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples) < 5:
            self.examples.append(f"{kind}: {what}")


@dataclass
class Report:
    """Per member counts; ``+`` merges reports of several rooms (member names should differ,
    e.g. ``"room 3/alice"``)."""

    sent: int = 0
    members: dict[str, MemberCounts] = field(default_factory=dict)

    @property
    def faults(self) -> int:
        return sum(counts.faults for counts in self.members.values())

    def total(self, kind: str) -> int:
        return sum(getattr(counts, kind) for counts in self.members.values())

    def __add__(self, other: Report) -> Report:
        return Report(self.sent + other.sent, {**self.members, **other.members})

    def summary(self) -> str:
        kinds = ("lost", "duplicated", "reordered", "unexpected")
        head = ", ".join(f"{self.total(kind)} {kind}" for kind in kinds)
        lines = [f"{self.sent} messages sent, {len(self.members)} members: {head}"]
        for name, counts in self.members.items():
            if counts.faults:
                detail = ", ".join(f"{getattr(counts, k)} {k}" for k in kinds if getattr(counts, k))
                lines.append(f"  {name}: {detail}; e.g. " + "; ".join(counts.examples))
        return "\n".join(lines)

    def assert_whole(self) -> None:
        if self.faults:
            raise AssertionError("chat history is not whole:\n" + self.summary())


@dataclass(frozen=True)
class _Sent:
    index: int  # the sender's own order
    must_arrive: bool


@dataclass(frozen=True)
class _Seen:
    key: Key
    message_id: str
    room_id: str | None


def _fields(message: Any) -> dict[str, Any]:
    """A chat message as a dict: wire ``data``, a whole envelope, or an SDK ``ChatMessage``."""
    if dataclasses.is_dataclass(message) and not isinstance(message, type):
        data = {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}
        sender = data["sender"]
        data["sender"] = {"id": sender.id} if not isinstance(sender, dict) else sender
        return data
    if isinstance(message, dict) and "data" in message and "type" in message:
        assert message["type"] == "chat_message", message
        return dict(message["data"])
    assert isinstance(message, dict), message
    return message


class History:
    """One room's chat: what was sent, and what each member saw."""

    def __init__(self, room_id: str | None = None, *, sender_order: bool = True) -> None:
        self.room_id = room_id
        self.sender_order = sender_order  # each sender's messages in the order they sent them
        self._sent: dict[Key, _Sent] = {}
        self._sent_by: Counter[str] = Counter()
        self._live: dict[str, list[_Seen]] = {}
        self._history: dict[str, list[_Seen]] = {}

    # --- what happened -------------------------------------------------------------------

    def sent(
        self,
        sender_id: str,
        text: str,
        client_msg_id: str | None = None,
        *,
        must_arrive: bool = True,
    ) -> None:
        """``sender_id`` sent this, after everything it sent before. ``must_arrive=False``: its
        fate is unknown (sent as the connection died, not resent); it may be missing, but if it
        is there it counts like any other."""
        key = (sender_id, client_msg_id if client_msg_id is not None else text)
        assert key not in self._sent, f"sent twice (use distinct texts or ids): {key}"
        self._sent[key] = _Sent(self._sent_by[sender_id], must_arrive)
        self._sent_by[sender_id] += 1

    def member(self, name: str) -> None:
        """``name`` is in the room and must get everything (even if it saw nothing at all)."""
        self._live.setdefault(name, [])

    def seen_live(self, member: str, message: Any) -> None:
        """``member`` got this ``chat_message`` live (in the order of these calls)."""
        self._live.setdefault(member, []).append(self._seen(message))

    def seen_in_history(
        self, member: str, messages: Iterable[Any], *, newest_first: bool = True
    ) -> None:
        """``member`` read the room's whole history (as the endpoint pages it: newest first)."""
        seen = [self._seen(message) for message in messages]
        self._history[member] = seen[::-1] if newest_first else seen
        self._live.setdefault(member, [])

    def _seen(self, message: Any) -> _Seen:
        data = _fields(message)
        sender, ident = str(data["sender"]["id"]), data.get("client_msg_id")
        # By id when it was sent with one (an SDK picks its own: then by text).
        key = (sender, ident) if (sender, ident) in self._sent else (sender, str(data["content"]))
        return _Seen(key, str(data["message_id"]), data.get("room_id"))

    # --- the verdict ---------------------------------------------------------------------

    def report(self) -> Report:
        canonical = self._canonical()
        report = Report(sent=len(self._sent))
        for member, live in self._live.items():
            report.members[member] = self._check(live, self._history.get(member), canonical)
        TOTALS.messages += report.sent
        TOTALS.deliveries += sum(c.seen_live + c.in_history for c in report.members.values())
        TOTALS.faults += report.faults
        return report

    def assert_whole(self) -> Report:
        report = self.report()
        report.assert_whole()
        return report

    def _canonical(self) -> list[str]:
        """The room's one order, as message ids: the longest history, else the longest live
        sequence (every other member's view is compared with it)."""
        views = list(self._history.values()) or list(self._live.values())
        longest = max(views, key=len, default=[])
        return [seen.message_id for seen in longest]

    def _check(
        self, live: list[_Seen], history: list[_Seen] | None, canonical: list[str]
    ) -> MemberCounts:
        counts = MemberCounts(seen_live=len(live), in_history=len(history or []))
        for seen in {s.message_id: s for s in [*live, *(history or [])]}.values():
            if seen.key not in self._sent:
                counts.note("unexpected", f"{seen.key} ({seen.message_id}) was never sent")
            elif self.room_id is not None and seen.room_id not in (None, self.room_id):
                counts.note("unexpected", f"{seen.key} came from room {seen.room_id}")
        self._count_duplicates(counts, live, history)
        view = history if history is not None else live
        have = {seen.key for seen in view}
        wanted = {key for key, sent in self._sent.items() if sent.must_arrive}
        if history is not None:
            wanted |= {seen.key for seen in live if seen.key in self._sent}
            counts.missed_live = len(have - {seen.key for seen in live})
        for key in sorted(wanted - have):
            counts.note("lost", f"{key}")
        self._count_reordered(counts, live, history, canonical)
        return counts

    def _count_duplicates(
        self, counts: MemberCounts, live: list[_Seen], history: list[_Seen] | None
    ) -> None:
        for view in (live, history or []):
            ids = Counter(seen.message_id for seen in view)
            keys = Counter(seen.key for seen in {seen.message_id: seen for seen in view}.values())
            for message_id, n in ids.items():
                for _ in range(n - 1):
                    counts.note("duplicated", f"{message_id} delivered {n} times")
            for key, n in keys.items():
                for _ in range(n - 1):
                    counts.note("duplicated", f"{key} stored under {n} message ids")

    def _count_reordered(
        self,
        counts: MemberCounts,
        live: list[_Seen],
        history: list[_Seen] | None,
        canonical: list[str],
    ) -> None:
        bad: set[str] = set()
        where: dict[str, str] = {}  # what each out-of-order message's example says
        position = {message_id: i for i, message_id in enumerate(canonical)}
        for name, view in (("live", live), ("history", history or [])):
            first = list({seen.message_id: None for seen in view})  # repeats are duplicates
            out = _out_of_order(first, [position.get(m, -1) for m in first])
            for message_id in out - bad:
                at = first.index(message_id)
                around = [position.get(m, -1) for m in first[max(0, at - 2) : at + 3]]
                where[message_id] = (
                    f"{name} #{at} of the room's #{position.get(message_id, -1)};"
                    f" room's order around it: {around}"
                )
            bad |= out
        if self.sender_order:
            view = history if history is not None else live
            unique = list({seen.message_id: seen for seen in view}.values())
            for sender in {seen.key[0] for seen in unique}:
                own = [s for s in unique if s.key[0] == sender and s.key in self._sent]
                ranks = [self._sent[s.key].index for s in own]
                out = _out_of_order([s.message_id for s in own], ranks)
                where.update((m, where.get(m, f"out of {sender}'s sending order")) for m in out)
                bad |= out
        for message_id in sorted(bad):
            counts.note("reordered", f"{message_id} ({where[message_id]})")


def _out_of_order(ids: list[str], ranks: list[int]) -> set[str]:
    """The ids not on a longest increasing run of ``ranks`` (unknown ids, rank -1, are left
    out: they are counted as unexpected)."""
    known = [(m, r) for m, r in zip(ids, ranks, strict=True) if r >= 0]
    tails: list[int] = []  # patience sorting: tails[k] = least last rank of a run of k + 1
    tail_at: list[int] = []  # index into known of that tail
    parent: list[int] = [-1] * len(known)
    for i, (_, rank) in enumerate(known):
        k = bisect.bisect_left(tails, rank)
        if k == len(tails):
            tails.append(rank)
            tail_at.append(i)
        else:
            tails[k] = rank
            tail_at[k] = i
        parent[i] = tail_at[k - 1] if k else -1
    keep: set[int] = set()
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        keep.add(i)
        i = parent[i]
    return {m for i, (m, _) in enumerate(known) if i not in keep}


def merge(reports: Iterable[Report]) -> Report:
    """One report for several rooms."""
    total = Report()
    for report in reports:
        total = total + report
    return total
