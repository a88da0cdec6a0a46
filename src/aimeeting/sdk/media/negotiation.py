"""What a link does with an offer: the mesh rules of DECISIONS §9 as one pure function.

The browser SDK follows "perfect negotiation" on one peer connection for its whole life. aiortc
can neither roll back a local offer nor restart ICE, so where a browser rolls back or restarts,
this SDK replaces the link: a new peer connection, with a new ``o=`` session id, which the other
side (browser or Python) recognises as a fresh connection and answers on a fresh link of its
own. That is the only adaptation; every other decision is the browser's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from aimeeting.sdk.media.sdp import ice_ufrags, session_of

STALE_OFFER_SECONDS = 2.0  # an offer of ours unanswered this long may have been lost


class OfferAction(Enum):
    ANSWER = "answer"  # apply it on this link and answer
    IGNORE = "ignore"  # offers crossed and we are impolite: ours wins
    RESEND = "resend"  # as IGNORE, and send our offer again: it may have been lost
    NEW_LINK_ANSWER = "new_link_answer"  # a new link answers it (this one is replaced)
    NEW_LINK_OFFER = "new_link_offer"  # a new link makes a fresh offer (this one is replaced)


@dataclass(frozen=True)
class LinkView:
    """What the decision needs to know of a link and of its peer."""

    polite: bool  # DECISIONS §9: the member whose user id sorts first
    offering: bool  # an offer of ours waits for its answer
    offer_age: float  # seconds since that offer was sent (0 when none)
    remote_session: str | None  # of the last description applied on this link
    remote_ufrags: frozenset[str]  # of the last description applied on this link
    known_session: str | None  # the peer's session we last heard of, on any of our links


def decide_offer(link: LinkView | None, sdp: str) -> OfferAction:
    """The action for an offer ``sdp`` arriving on ``link`` (None: no link to that peer)."""
    if link is None:
        return OfferAction.NEW_LINK_ANSWER
    session = session_of(sdp)
    if link.remote_session is not None and session != link.remote_session:
        return OfferAction.NEW_LINK_ANSWER  # the peer started a new connection
    if link.offering:
        return _collision(link, session)
    if link.remote_session is not None and ice_ufrags(sdp) != link.remote_ufrags:
        # An ICE restart (the peer came back from a reconnect, or its ICE failed). aiortc
        # cannot restart ICE on a connection: a fresh link of ours replaces the peer's too.
        return OfferAction.NEW_LINK_OFFER
    return OfferAction.ANSWER


def _collision(link: LinkView, session: str | None) -> OfferAction:
    if session is not None and session == link.known_session:
        # From the peer's connection that our pending offer replaces (it restarted ICE while
        # we replaced the link): our offer makes it start afresh, so this one is moot.
        return OfferAction.IGNORE
    if link.polite:
        return OfferAction.NEW_LINK_ANSWER  # we yield; aiortc cannot roll back, so: replace
    return OfferAction.RESEND if link.offer_age > STALE_OFFER_SECONDS else OfferAction.IGNORE
