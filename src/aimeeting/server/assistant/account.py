"""Who the assistant is: its password, computed the same way by every node and by the
assistant process that ``aimeeting serve`` starts (which imports this module).

Only the standard library and the settings: the assistant process loads nothing else from here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from aimeeting.server.config import Settings

_LABEL = b"aimeeting assistant password v1"


def assistant_password(settings: Settings) -> str:
    """``AIMEETING_ASSISTANT_PASSWORD``, else one derived from the JWT secret: the HMAC-SHA256
    of a fixed label keyed by it, so nothing needs storing and every node agrees. Formatted for
    the password rules (8-32 characters, a letter and a digit): ``a1`` and 30 base64url
    characters of the digest."""
    if settings.assistant_password is not None:
        return settings.assistant_password.get_secret_value()
    secret = settings.resolved_jwt_secret().encode()
    digest = hmac.new(secret, _LABEL, hashlib.sha256).digest()
    return "a1" + base64.urlsafe_b64encode(digest).decode("ascii")[:30]
