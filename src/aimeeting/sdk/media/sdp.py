"""Reading (and the one rewrite of) session descriptions: pure text functions, no aiortc.

The mesh rules of DECISIONS §9 need a few facts from an SDP that no WebRTC API gives directly:
the session id of the ``o=`` line (a peer that started afresh), the ICE username fragments (a
peer that restarted ICE), and which m-lines the other side sends on (a track it removed).
"""

from __future__ import annotations

import re

_ORIGIN = re.compile(r"^o=(\S+) (\S+) (\S+) (.*)$", re.MULTILINE)
_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)
_CANDIDATE_UFRAG = re.compile(r"\bufrag (\S+)")
_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def session_of(sdp: str) -> str | None:
    """The ``o=`` line's session id: the same for the life of a peer connection, so a new one
    means the other side started afresh (a reloaded page, a replaced link)."""
    match = _ORIGIN.search(sdp)
    return match.group(2) if match else None


def with_session(sdp: str, session_id: str) -> str:
    """``sdp`` with ``session_id`` in its ``o=`` line.

    aiortc writes the current NTP second there, anew for each description, so a second offer
    of one connection would look like a new connection to a browser (which replaces its link
    then), and two links made in the same second would look alike. Each link keeps one id.
    """
    return _ORIGIN.sub(lambda m: f"o={m[1]} {session_id} {m[3]} {m[4]}", sdp, count=1)


def ice_ufrags(sdp: str) -> frozenset[str]:
    """Every ICE username fragment of the description (new ones mean an ICE restart)."""
    return frozenset(_UFRAG.findall(sdp))


def candidate_ufrag(candidate: str) -> str | None:
    """The ``ufrag`` extension of a trickled candidate line (browsers add it), if any."""
    match = _CANDIDATE_UFRAG.search(candidate)
    return match.group(1) if match else None


def sending_mids(sdp: str) -> frozenset[str]:
    """The mids of the m-lines on which the description's author sends media: direction
    ``sendrecv`` (the default) or ``sendonly``, and not rejected (port 0)."""
    found: set[str] = set()
    for section in re.split(r"^(?=m=)", sdp, flags=re.MULTILINE)[1:]:
        port = section.split(maxsplit=2)[1] if len(section.split()) > 1 else "0"
        mid = re.search(r"^a=mid:(\S+)", section, re.MULTILINE)
        directions = [d for d in _DIRECTIONS if re.search(rf"^a={d}\b", section, re.MULTILINE)]
        direction = directions[0] if directions else "sendrecv"
        if mid and port != "0" and direction in ("sendrecv", "sendonly"):
            found.add(mid.group(1))
    return frozenset(found)
