"""What the server and its clients share: error codes and texts, and the wire format."""

from aimeeting.protocol.errors import ErrorCode, Language

__all__ = ["ErrorCode", "Language"]
