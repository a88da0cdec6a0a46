"""Real audio and video for Python participants (DECISIONS §9), with ``aimeeting[media]``.

``sdp``, ``negotiation`` and ``quality`` are pure and import nothing beyond the SDK; ``tracks``,
``peer`` and ``mesh`` need aiortc and are imported only when ``available()`` says it is there,
so the base install joins, chats and signals, and receives nothing.
"""

from __future__ import annotations

import functools
import logging

log = logging.getLogger("aimeeting.sdk.media")


@functools.cache
def available() -> bool:
    """Whether aiortc is installed; logs once when it is not."""
    try:
        import aiortc  # noqa: F401
    except ImportError:
        log.warning(
            "aiortc is not installed (pip install 'aimeeting[media]'): meetings are joined "
            "without media, and nothing is received"
        )
        return False
    return True
