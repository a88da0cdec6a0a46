"""What a node does when a Redis call fails: one of two things, each written once here.

``needs_redis``: the work cannot be done right without Redis (a room's lock, whether a user is
in a room on another node): the caller gets ``Unavailable`` (503 / 50301) and may try again.

``tolerate_outage``: the work goes on without Redis, on this node alone (a rate limit counted
here, an event for this node's members only): the failure is logged with what it costs and
ends the block. Where there is a fallback, the block returns on success and the fallback
follows it. The node's listener reports the outage itself and repairs what it can once Redis
is back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError

from aimeeting.server.errors import Unavailable

log = logging.getLogger(__name__)


@contextmanager
def needs_redis() -> Iterator[None]:
    """Redis errors in the block become ``Unavailable``."""
    try:
        yield
    except RedisError as exc:
        raise Unavailable({"redis": "unreachable"}) from exc


@contextmanager
def tolerate_outage(consequence: str) -> Iterator[None]:
    """Redis errors in the block are logged (``consequence``: what the node does without
    Redis) and end the block; the code after it runs."""
    try:
        yield
    except RedisError as exc:
        log.warning("redis unreachable: %s", consequence, extra={"error": str(exc)})
